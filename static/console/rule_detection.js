/* alertsite rule form, the Detection part (Advanced section; api.md section 12).
 *
 * Every event / New value / Sequence: shows the chosen kind's fields; offers the keys the selected
 * events carry as checkboxes beside the typed keys (the text inputs stay what the form sends, so
 * the form works without this script); lists a sequence's steps as the selected events in order.
 * It follows the conditions editor through the hidden `conditions` input and `rule-changed`.
 */
(function () {
  "use strict";

  var form = document.getElementById("rule-form");
  var dataNode = document.getElementById("rule-editor-data");
  var part = document.getElementById("detection");
  if (!form || !dataNode || !part) return;
  var DATA = JSON.parse(dataNode.textContent);
  var hidden = document.getElementById("id_conditions");
  var stepsInput = document.getElementById("id_detection_steps");
  var stepsList = part.querySelector(".detection-steps");

  var keysOfEntry = {};
  DATA.catalog.forEach(function (entry) {
    keysOfEntry[entry.id] = DATA.key_sets[entry.keys] || [];
  });
  var commonKeys = DATA.key_sets[DATA.common_keys] || [];

  function conditions() {
    try {
      var parsed = JSON.parse(hidden.value || "[]");
      return Array.isArray(parsed) ? parsed.filter(function (c) { return c && typeof c === "object"; }) : [];
    } catch (e) {
      return [];
    }
  }

  function entryIdOf(condition) {
    return condition.action ? condition.event_type + ":" + condition.action : condition.event_type;
  }

  function titleOf(condition) {
    return condition.action || condition.event_type || "?";
  }

  function typed(input) {
    return input.value.split(",").map(function (key) { return key.trim(); }).filter(Boolean);
  }

  // -- kinds ------------------------------------------------------------------------------------------
  var radios = Array.prototype.slice.call(part.querySelectorAll("input[name=detection_type]"));
  var parts = { new_value: document.getElementById("detection-new-value"), sequence: document.getElementById("detection-sequence") };

  function showKind() {
    var chosen = radios.filter(function (radio) { return radio.checked; })[0];
    var kind = chosen ? chosen.value : "";
    Object.keys(parts).forEach(function (name) { parts[name].hidden = name !== kind; });
  }
  radios.forEach(function (radio) { radio.addEventListener("change", showKind); });

  // -- key pickers ----------------------------------------------------------------------------------
  var pickers = Array.prototype.slice.call(part.querySelectorAll("input[data-key-picker]")).map(function (input) {
    var box = document.getElementById(input.getAttribute("data-key-picker"));
    return { input: input, box: box, list: box.querySelector(".key-boxes") };
  });

  function offeredKeys(selected) {
    var seen = {}, keys = [];
    selected.forEach(function (condition) {
      (keysOfEntry[entryIdOf(condition)] || commonKeys).forEach(function (key) {
        if (!seen[key]) { seen[key] = true; keys.push(key); }
      });
    });
    return keys;
  }

  function renderPicker(picker, keys) {
    picker.list.textContent = "";
    picker.box.hidden = keys.length === 0;
    var chosen = typed(picker.input);
    keys.forEach(function (key, index) {
      var id = picker.input.id + "-key-" + index;
      var box = document.createElement("input");
      box.type = "checkbox";
      box.id = id;
      box.value = key;
      box.checked = chosen.indexOf(key) !== -1;
      box.addEventListener("change", function () {
        var now = typed(picker.input).filter(function (item) { return item !== key; });
        if (box.checked) now.push(key);
        picker.input.value = now.join(", ");
        picker.input.dispatchEvent(new Event("input", { bubbles: true }));
      });
      var label = document.createElement("label");
      label.className = "checkbox";
      label.htmlFor = id;
      var code = document.createElement("code");
      code.textContent = key;
      label.appendChild(box);
      label.appendChild(code);
      picker.list.appendChild(label);
    });
  }

  function syncBoxes(picker) {
    var chosen = typed(picker.input);
    picker.list.querySelectorAll("input[type=checkbox]").forEach(function (box) {
      box.checked = chosen.indexOf(box.value) !== -1;
    });
  }
  pickers.forEach(function (picker) {
    picker.input.addEventListener("input", function () { syncBoxes(picker); });
  });

  // -- sequence steps ---------------------------------------------------------------------------------
  function renderSteps(selected) {
    var order = typed(stepsInput).map(Number);
    var wanted = selected.map(function (_, index) { return index; });
    var same = order.length === wanted.length && order.slice().sort(function (a, b) { return a - b; }).every(function (n, i) { return n === i; });
    if (!same) order = wanted;
    stepsInput.value = order.join(", ");
    stepsList.textContent = "";
    if (selected.length < 2) {
      var hint = document.createElement("li");
      hint.className = "muted";
      hint.textContent = "Select at least two events above.";
      stepsList.appendChild(hint);
      return;
    }
    order.forEach(function (index) {
      var item = document.createElement("li");
      item.textContent = titleOf(selected[index]);
      stepsList.appendChild(item);
    });
  }

  // -- follow the conditions editor -------------------------------------------------------------------
  var last = null;
  function refresh() {
    if (hidden.value === last) return;
    last = hidden.value;
    var selected = conditions();
    var keys = offeredKeys(selected);
    pickers.forEach(function (picker) { renderPicker(picker, keys); });
    renderSteps(selected);
  }
  form.addEventListener("rule-changed", refresh);

  showKind();
  refresh();
})();
