/* alertsite webhook channel form, progressive enhancement only (without it every field shows and works):
 * - "Webhook Status: Enabled/Disabled" follows its checkbox;
 * - only the chosen authentication's fields show (Basic: username and password; Bearer: token);
 * - "Protect sensitive data in the URL": empty rows stay hidden until "+ Add value" (at most the
 *   rendered 10), "Remove" clears a row (the server drops rows without a name), "Show" reveals what
 *   is being typed. A saved value is never in the page: its input holds the mask.
 */
(function () {
  "use strict";

  var form = document.getElementById("channel-form");
  if (!form) return;

  var enabled = document.getElementById("id_enabled");
  var state = document.getElementById("enabled-state");
  if (enabled && state) {
    var syncState = function () {
      state.textContent = enabled.checked ? state.getAttribute("data-on") : state.getAttribute("data-off");
    };
    enabled.addEventListener("change", syncState);
    syncState();
  }

  var authType = document.getElementById("id_auth_type");
  if (authType) {
    var syncAuth = function () {
      form.querySelectorAll("[data-auth]").forEach(function (node) {
        node.hidden = node.getAttribute("data-auth") !== authType.value;
      });
    };
    authType.addEventListener("change", syncAuth);
    syncAuth();
  }

  var box = document.getElementById("url-secrets");
  var add = document.getElementById("url-secret-add");
  if (!box || !add) return;
  var rows = Array.prototype.slice.call(box.querySelectorAll("[data-url-secret-row]"));
  var mask = box.getAttribute("data-mask");

  function inputs(row) {
    return Array.prototype.slice.call(row.querySelectorAll("input"));
  }

  function empty(row) {
    return inputs(row).every(function (input) { return input.value === ""; });
  }

  function syncAdd() {
    var free = rows.some(function (row) { return row.hidden; });
    add.disabled = !free;
    add.title = free ? "" : "At most " + rows.length + " values";
  }

  rows.forEach(function (row) {
    if (empty(row) && !row.hasAttribute("data-error")) row.hidden = true;
    var value = row.querySelector("input[type=password]");
    var reveal = row.querySelector("[data-reveal]");
    var remove = row.querySelector("[data-remove]");
    if (reveal && value) {
      // A saved value is only the mask here: nothing to reveal until a new one is typed.
      var syncReveal = function () { reveal.hidden = value.value === mask; };
      value.addEventListener("input", syncReveal);
      syncReveal();
      reveal.addEventListener("click", function () {
        var shown = value.type === "password";
        value.type = shown ? "text" : "password";
        reveal.setAttribute("aria-pressed", shown ? "true" : "false");
        reveal.firstChild.textContent = shown ? "Hide" : "Show";
      });
    }
    if (remove) {
      remove.hidden = false;
      remove.addEventListener("click", function () {
        inputs(row).forEach(function (input) { input.value = ""; });
        if (value) value.type = "password";
        if (reveal) {
          reveal.setAttribute("aria-pressed", "false");
          reveal.firstChild.textContent = "Show";
        }
        row.querySelectorAll(".field-error").forEach(function (node) { node.remove(); });
        row.hidden = true;
        syncAdd();
        add.focus();
      });
    }
  });

  add.hidden = false;
  add.addEventListener("click", function () {
    var next = rows.filter(function (row) { return row.hidden; })[0];
    if (!next) return;
    add.parentNode.parentNode.insertBefore(next, add.parentNode);  // new rows go last, whatever their number
    next.hidden = false;
    next.querySelector("input").focus();
    syncAdd();
  });
  syncAdd();
})();
