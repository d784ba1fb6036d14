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

/* alertsite e-mail channel form, "Email Recipients" (progressive enhancement: without it the rendered
 * Name + Email rows all show, and an empty row is simply dropped by the server):
 * - empty rows stay hidden until "+ Recipients", which shows the next one (last, whatever its number)
 *   and, once every rendered row is in use, adds a new one up to the channel's limit (data-max);
 * - "Remove" clears its row and hides it (the server drops rows without a name and an address).
 */
(function () {
  "use strict";

  var box = document.getElementById("recipients");
  var add = document.getElementById("recipient-add");
  var count = box && box.querySelector("[data-recipient-count]");
  if (!box || !add || !count) return;
  var max = parseInt(box.getAttribute("data-max"), 10) || 50;
  var rows = Array.prototype.slice.call(box.querySelectorAll("[data-recipient-row]"));
  var template = rows.length ? rows[0].cloneNode(true) : null;

  function inputs(row) {
    return Array.prototype.slice.call(row.querySelectorAll("input"));
  }

  function clear(row) {
    inputs(row).forEach(function (input) {
      input.value = "";
      input.removeAttribute("aria-invalid");
    });
    row.querySelectorAll(".field-error").forEach(function (node) { node.remove(); });
    row.removeAttribute("data-error");
  }

  function syncAdd() {
    var free = rows.some(function (row) { return row.hidden; }) || (template && rows.length < max);
    add.disabled = !free;
    add.title = free ? "" : "At most " + max + " recipients";
  }

  function wire(row) {
    var remove = row.querySelector("[data-remove]");
    if (!remove) return;
    remove.hidden = false;
    remove.addEventListener("click", function () {
      clear(row);
      row.hidden = true;
      syncAdd();
      add.focus();
    });
  }

  function fresh() {
    // A new row numbered after every rendered one; recipient_rows tells the server how many to read.
    var index = parseInt(count.value, 10) || rows.length;
    var row = template.cloneNode(true);
    clear(row);
    inputs(row).forEach(function (input) {
      input.name = input.name.replace(/_\d+$/, "_" + index);
    });
    row.querySelectorAll(".sr-only").forEach(function (node) {
      node.textContent = node.textContent.replace(/\d+$/, String(rows.length + 1));
    });
    count.value = String(index + 1);
    rows.push(row);
    wire(row);
    return row;
  }

  rows.forEach(function (row) {
    var empty = inputs(row).every(function (input) { return input.value === ""; });
    if (empty && !row.hasAttribute("data-error")) row.hidden = true;
    wire(row);
  });

  add.hidden = false;
  add.addEventListener("click", function () {
    var next = rows.filter(function (row) { return row.hidden; })[0];
    if (!next && template && rows.length < max) next = fresh();
    if (!next) return;
    add.parentNode.parentNode.insertBefore(next, add.parentNode);  // new rows go last
    next.hidden = false;
    next.querySelector("input").focus();
    syncAdd();
  });
  syncAdd();
  box.setAttribute("data-ready", "");
})();

/* alertsite webhook channel form, "Headers" (progressive enhancement: without it every rendered row
 * shows, and a row without a name is dropped by the server), like the other lists of the form:
 * - empty rows stay hidden until "+ Add header" shows the next one (at most the rendered rows);
 * - "Remove" clears its row (name, value, Sensitive Value) and hides it.
 */
(function () {
  "use strict";

  var box = document.getElementById("headers");
  var add = document.getElementById("header-add");
  if (!box || !add) return;
  var rows = Array.prototype.slice.call(box.querySelectorAll("[data-header-row]"));

  function fields(row) {
    return Array.prototype.slice.call(row.querySelectorAll("input[type=text], input[type=password]"));
  }

  function syncAdd() {
    var free = rows.some(function (row) { return row.hidden; });
    add.disabled = !free;
    add.title = free ? "" : "At most " + rows.length + " headers here; save, then edit to add more";
  }

  rows.forEach(function (row) {
    var empty = fields(row).every(function (input) { return input.value === ""; });
    if (empty && !row.hasAttribute("data-error")) row.hidden = true;
    var remove = row.querySelector("[data-remove]");
    if (!remove) return;
    remove.hidden = false;
    remove.addEventListener("click", function () {
      fields(row).forEach(function (input) { input.value = ""; input.removeAttribute("aria-invalid"); });
      row.querySelectorAll("input[type=checkbox]").forEach(function (box) { box.checked = false; });
      row.querySelectorAll(".field-error").forEach(function (node) { node.remove(); });
      row.removeAttribute("data-error");
      row.hidden = true;
      syncAdd();
      add.focus();
    });
  });

  add.hidden = false;
  add.addEventListener("click", function () {
    var next = rows.filter(function (row) { return row.hidden; })[0];
    if (!next) return;
    add.parentNode.parentNode.insertBefore(next, add.parentNode);  // new rows go last
    next.hidden = false;
    next.querySelector("input").focus();
    syncAdd();
  });
  syncAdd();
  box.setAttribute("data-ready", "");
})();
