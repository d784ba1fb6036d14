/* alertsite rule form: the conditions editor, channel search and the Alert Actions dependencies.
 *
 * The conditions live in the hidden input `conditions` as JSON in the contract's shape; this
 * editor rebuilds it after every change and fires `rule-changed` on the form, which refreshes
 * the preview (htmx). Without this script the JSON textarea `conditions_json` is the editor.
 * Validation stays on the server: errors come back by path (conditions[0].filters[2].operator)
 * and are shown at that event, filter row or expression.
 */
(function () {
  "use strict";

  var form = document.getElementById("rule-form");
  var dataNode = document.getElementById("rule-editor-data");
  if (!form || !dataNode) return;
  var DATA = JSON.parse(dataNode.textContent);

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.slice(0, 2) === "on") node.addEventListener(name.slice(2), value);
      else if (name === "checked" || name === "value" || name === "disabled" || name === "hidden") node[name] = value;
      else node.setAttribute(name, value === true ? "" : value);
    });
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function append(node) {
    for (var i = 1; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) { child.forEach(function (c) { append(node, c); }); continue; }
      node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }

  function debounce(fn, wait) {
    var timer = null;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, wait);
    };
  }

  function changed() { form.dispatchEvent(new CustomEvent("rule-changed", { bubbles: true })); }

  var csrfToken = (function () {
    try {
      var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
      if (headers["X-CSRFToken"]) return headers["X-CSRFToken"];
    } catch (e) { /* fall through */ }
    var input = form.querySelector("[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  })();

  function postJSON(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        return { ok: response.ok, status: response.status, json: json };
      });
    });
  }

  function firstMessage(json) {
    var keys = Object.keys(json || {});
    if (!keys.length) return "The server did not answer.";
    var value = json[keys[0]];
    return Array.isArray(value) ? String(value[0]) : String(value);
  }

  // -- Error summary: bring it to the keyboard and screen reader first --------------------------
  var summary = $("error-summary");
  if (summary) summary.focus();

  // -- Alert Actions -----------------------------------------------------------------------------
  (function alertActions() {
    var generate = $("id_generate_alerts"), send = $("id_send_notifications");
    var picker = $("channel-picker"), extra = $("additional-notifications");
    if (!generate || !send) return;
    function update() {
      picker.hidden = !send.checked;
      var both = generate.checked && send.checked;
      extra.hidden = !both;
      // Hidden choices are not sent, so they cannot fail "only when both are on".
      extra.querySelectorAll("input").forEach(function (input) { input.disabled = !both; });
    }
    generate.addEventListener("change", update);
    send.addEventListener("change", update);
    update();
  })();

  // -- Channel search and select ------------------------------------------------------------------
  (function channels() {
    var search = $("channel-search"), status = $("channel-status");
    if (!search) return;
    var options = Array.prototype.slice.call(document.querySelectorAll(".channel-option"));
    function update() {
      var q = search.value.trim().toLowerCase(), shown = 0;
      options.forEach(function (li) {
        var input = li.querySelector("input");
        var hit = !q || li.getAttribute("data-name").indexOf(q) !== -1 || input.checked;
        li.hidden = !hit;
        if (hit) shown++;
      });
      var names = options.filter(function (li) { return li.querySelector("input").checked; })
        .map(function (li) { return li.getAttribute("data-label") || ""; });
      status.textContent = (q ? shown + " of " + options.length + " channels shown. " : "") +
        (names.length ? "Selected: " + names.join(", ") + "." : "No channel selected.");
    }
    options.forEach(function (li) {
      var label = li.querySelector("label");
      var text = label ? label.childNodes : [];
      var name = "";
      for (var i = 0; i < text.length; i++) {
        if (text[i].nodeType === 3 && text[i].textContent.trim()) { name = text[i].textContent.trim(); break; }
      }
      li.setAttribute("data-label", name);
      li.querySelector("input").addEventListener("change", update);
    });
    search.addEventListener("input", update);
    search.addEventListener("keydown", function (event) { if (event.key === "Enter") event.preventDefault(); });
    update();
  })();

  // -- Preview: advanced fields refresh it too ------------------------------------------------------
  form.addEventListener("input", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-preview")) changed();
  });

  // -- Conditions editor ----------------------------------------------------------------------------
  var hidden = $("id_conditions"), editor = $("conditions-editor"), fallback = $("conditions-fallback");
  var initial;
  try {
    initial = JSON.parse(hidden.value || "[]");
    if (!Array.isArray(initial)) throw new Error("not a list");
    initial.forEach(function (item) { if (!item || typeof item !== "object" || Array.isArray(item)) throw new Error("not an object"); });
  } catch (e) {
    return; // the JSON textarea stays: the editor cannot show what it cannot read
  }
  fallback.parentNode.removeChild(fallback);
  editor.hidden = false;

  var OPERATORS = {};
  DATA.operators.forEach(function (op) { OPERATORS[op.key] = op; });
  var BOOLEAN_KEYS = {}, NUMBER_KEYS = {}, IP_KEYS = {};
  DATA.boolean_keys.forEach(function (k) { BOOLEAN_KEYS[k] = true; });
  DATA.number_keys.forEach(function (k) { NUMBER_KEYS[k] = true; });
  DATA.ip_keys.forEach(function (k) { IP_KEYS[k] = true; });
  // Operator keys offered per kind of key (rules/key_types.py): no "greater than" for an address.
  var KIND_OPERATORS = {};
  Object.keys(DATA.kind_operators).forEach(function (kind) {
    KIND_OPERATORS[kind] = {};
    DATA.kind_operators[kind].forEach(function (key) { KIND_OPERATORS[kind][key] = true; });
  });
  var ORDERING = { gt: true, gte: true, lt: true, lte: true };
  // Keys with known values get a dropdown (one value) or checkboxes (a list) for these operators.
  var ENUMS = DATA.enum_values || {};
  var ENUM_SCALAR = { eq: true, neq: true }, ENUM_LIST = { in: true, not_in: true };
  var OTHER_KEY = "__other__", OTHER_VALUE = "__other__";
  var POSITION_RE = /^line (\d+), column (\d+): ([\s\S]*)$/;
  var PATH_RE = /^conditions\[(\d+)\](?:\.filters\[(\d+)\])?(?:\.(\w+))?$/;

  function lastSegment(key) { var parts = String(key || "").split("."); return parts[parts.length - 1]; }

  var catalog = DATA.catalog.map(function (entry, index) {
    return {
      id: entry.id, index: index, event_type: entry.event_type, action: entry.action,
      label: entry.label, description: entry.description, keys: DATA.key_sets[entry.keys],
      haystack: (entry.label + " " + entry.description + " " + entry.event_type).toLowerCase(),
    };
  });
  var byId = {};
  catalog.forEach(function (entry) { byId[entry.id] = entry; });

  function entryIdOf(condition) {
    return condition.action ? condition.event_type + ":" + condition.action : condition.event_type;
  }

  var counter = 0;
  function uid(prefix) { counter += 1; return prefix + counter; }

  function filterFrom(raw) {
    raw = raw && typeof raw === "object" ? raw : {};
    var filter = {
      uid: uid("f"),
      key: typeof raw.key === "string" ? raw.key : "",
      operator: typeof raw.operator === "string" && raw.operator ? raw.operator : "eq",
      errors: {},
      custom: false,
    };
    if ("value" in raw) filter.value = raw.value;
    function has(type) {
      return typeof raw.value === type ||
        (Array.isArray(raw.value) && raw.value.some(function (item) { return typeof item === type; }));
    }
    filter.numeric = has("number");
    filter.boolish = has("boolean"); // a saved true/false stays a JSON boolean when edited as text
    return filter;
  }

  function conditionFrom(raw) {
    var condition = {
      uid: uid("c"),
      event_type: typeof raw.event_type === "string" ? raw.event_type : "",
      action: typeof raw.action === "string" && raw.action ? raw.action : null,
      match: raw.match === "any" ? "any" : "all",
      filters: [],
      mode: "filters",
      expression: "",
      errors: {},
      open: false,
    };
    if (typeof raw.expression === "string" && raw.expression !== "") {
      condition.mode = "expression";
      condition.expression = raw.expression;
    } else if (Array.isArray(raw.filters)) {
      condition.filters = raw.filters.map(filterFrom);
    }
    condition.open = condition.mode === "expression" || condition.filters.length > 0;
    return condition;
  }

  var conditions = initial.map(conditionFrom);
  var removed = {}; // entry id -> conditions unselected in this visit, restored when selected again

  // Conditions whose event is not in the catalog still show (and can be removed).
  conditions.forEach(function (condition) {
    var id = entryIdOf(condition);
    if (!byId[id]) {
      var entry = {
        id: id, index: -1, event_type: condition.event_type, action: condition.action,
        label: condition.action ? condition.event_type + " (" + condition.action + ")" : condition.event_type || "(no event type)",
        description: "Not in the event catalog", keys: DATA.key_sets[DATA.common_keys],
      };
      entry.haystack = (entry.label + " " + entry.description).toLowerCase();
      catalog.unshift(entry);
      byId[id] = entry;
    }
  });

  function conditionsOf(entry) {
    return conditions.filter(function (condition) { return entryIdOf(condition) === entry.id; });
  }

  // -- value widgets --------------------------------------------------------------------------------

  function enumOf(filter) {
    return Object.prototype.hasOwnProperty.call(ENUMS, filter.key) ? ENUMS[filter.key] : null;
  }

  // The kind of value a key holds, by its last segment; a custom key ("Other key...") may be anything.
  function kindOf(filter) {
    if (filter.custom) return "any";
    var name = lastSegment(filter.key);
    if (BOOLEAN_KEYS[name]) return "boolean";
    if (NUMBER_KEYS[name]) return "number";
    if (IP_KEYS[name]) return "ip";
    return "text";
  }

  // The operators that make sense for the filter's key: true/false keys get equality and
  // presence, number keys the comparisons, IP addresses equality, lists and networks, and
  // "changed ..." only on events that carry changes[].
  function operatorsFor(filter, entry) {
    var fitting = KIND_OPERATORS[kindOf(filter)];
    var hasChanges = (entry.keys || []).indexOf("changes.field") !== -1;
    return DATA.operators.filter(function (op) {
      if (op.on_changes) return hasChanges;
      return !!fitting[op.key];
    });
  }

  function widgetOf(filter) {
    var op = OPERATORS[filter.operator];
    if (!op) return "text";
    if (op.input === "none") return "none";
    if (op.input === "list") return ENUM_LIST[op.key] && enumOf(filter) ? "enum-list" : "list";
    if (op.boolean && (BOOLEAN_KEYS[lastSegment(filter.key)] || typeof filter.value === "boolean")) return "boolean";
    if (ENUM_SCALAR[op.key] && enumOf(filter)) return "enum";
    return "text";
  }

  // The widget's family: a dropdown holds one value as a text box does, checkboxes a list.
  function familyOf(widget) { return widget === "enum" ? "text" : widget === "enum-list" ? "list" : widget; }

  function sameText(a, b) { return String(a).toLowerCase() === String(b).toLowerCase(); } // filters ignore case

  function numberWanted(filter, op) {
    return op.number && (!op.string || ORDERING[op.key] || NUMBER_KEYS[lastSegment(filter.key)] || filter.numeric);
  }

  function scalarFrom(text, filter, op) {
    var trimmed = text.trim();
    if (/^-?\d+(\.\d+)?$/.test(trimmed) && numberWanted(filter, op)) return Number(trimmed);
    if (/^(true|false)$/i.test(trimmed) && (op.boolean || op.input === "list") && (filter.boolish || BOOLEAN_KEYS[lastSegment(filter.key)])) {
      return trimmed.toLowerCase() === "true";
    }
    return text;
  }

  function listFrom(text) {
    var parts = text.indexOf("\n") !== -1 ? text.split("\n") : text.split(",");
    return parts.map(function (part) { return part.trim(); }).filter(function (part) { return part !== ""; });
  }

  function valueText(filter) {
    if (filter.raw !== undefined) return filter.raw;
    var value = filter.value;
    if (value === undefined || value === null) return "";
    if (Array.isArray(value)) {
      var strings = value.map(String);
      var separator = strings.some(function (item) { return item.indexOf(",") !== -1; }) ? "\n" : ", ";
      return strings.join(separator);
    }
    return String(value);
  }

  function setValueFromText(filter, text) {
    var op = OPERATORS[filter.operator] || { number: false, string: true };
    filter.raw = text;
    if (widgetOf(filter) === "list") {
      var items = listFrom(text).map(function (item) { return scalarFrom(item, filter, op); });
      if (!items.length) delete filter.value;
      else if (op.string && items.length === 1) filter.value = items[0]; // in_cidr: one network
      else filter.value = items;
    } else if (text.trim() === "") {
      delete filter.value;
    } else {
      filter.value = scalarFrom(text, filter, op);
    }
  }

  // After the key or operator changed: keep the value where it still fits.
  function adaptValue(filter) {
    var widget = familyOf(widgetOf(filter));
    delete filter.raw;
    filter.customValue = false;
    if (widget === "none") { delete filter.value; return; }
    if (widget === "boolean") { if (typeof filter.value !== "boolean") filter.value = filter.value === "true"; return; }
    if (widget === "list") {
      if (filter.value !== undefined && !Array.isArray(filter.value) && !OPERATORS[filter.operator].string) filter.value = [filter.value];
      return;
    }
    if (Array.isArray(filter.value)) filter.value = filter.value.length ? filter.value[0] : undefined;
    if (typeof filter.value === "boolean") filter.value = String(filter.value);
    if (filter.value === undefined) delete filter.value;
  }

  // -- state -> hidden input ------------------------------------------------------------------------

  function contractOf(condition) {
    var out = { event_type: condition.event_type };
    if (condition.action) out.action = condition.action;
    if (condition.mode === "expression") {
      out.expression = condition.expression;
    } else {
      out.match = condition.match;
      out.filters = condition.filters.map(function (filter) {
        var item = { key: filter.key, operator: filter.operator };
        if (widgetOf(filter) !== "none" && filter.value !== undefined) item.value = filter.value;
        return item;
      });
    }
    return out;
  }

  function sync() {
    hidden.value = JSON.stringify(conditions.map(contractOf));
    changed();
  }

  // -- errors from the server -----------------------------------------------------------------------

  Object.keys(DATA.errors || {}).forEach(function (path) {
    var message = DATA.errors[path];
    var match = PATH_RE.exec(path);
    if (!match) return;
    var condition = conditions[Number(match[1])];
    if (!condition) return;
    condition.open = true;
    if (match[2] !== undefined) {
      var filter = condition.filters[Number(match[2])];
      if (filter) filter.errors[match[3] || "row"] = message;
      else condition.errors.filters = message;
    } else {
      condition.errors[match[3] || "condition"] = message;
    }
  });

  // -- the event picker -----------------------------------------------------------------------------

  var list = $("event-list"), selectedList = $("selected-events"), selectedEmpty = $("selected-empty");
  var catalogTitle = $("catalog-title");
  var search = $("event-search"), showSelected = $("show-selected"), status = $("event-status");

  function isSelected(entry) { return conditions.some(function (c) { return entryIdOf(c) === entry.id; }); }

  function buildEntry(entry, position) {
    var base = "ev" + position;
    entry.dom = base;
    var checkbox = el("input", {
      type: "checkbox", id: base, class: "event-check", "aria-describedby": entry.description ? base + "-desc" : null,
    });
    checkbox.addEventListener("change", function () {
      if (checkbox.checked) selectEntry(entry); else unselectEntry(entry);
    });
    // The label is the event's own name (exactly), the description says what it is.
    var label = el("div", { class: "event-text" },
      el("label", { for: base, id: base + "-label", class: "event-label", text: entry.label }),
      entry.description ? el("span", { class: "event-desc", id: base + "-desc", text: entry.description }) : null);
    var tools = el("span", { class: "event-tools" });
    var line = el("div", { class: "event-line" }, checkbox, label, tools);
    var area = el("div", { class: "event-area" });
    var li = el("li", { class: "event-entry", "data-entry": entry.id }, line, area);
    entry.li = li; entry.checkbox = checkbox; entry.tools = tools; entry.area = area;
    renderEntry(entry);
    return li;
  }

  // Selected events sit above the catalog (in the order they were picked), so their filter
  // panels never hide inside the scrolling list; unselected ones keep the catalog's order.
  function placeEntry(entry, selected) {
    if (selected) {
      if (entry.li.parentNode !== selectedList) selectedList.appendChild(entry.li);
      return;
    }
    if (entry.li.parentNode === list) return;
    var next = null;
    for (var i = catalog.indexOf(entry) + 1; i < catalog.length; i++) {
      if (catalog[i].li && catalog[i].li.parentNode === list) { next = catalog[i].li; break; }
    }
    list.insertBefore(entry.li, next);
  }

  function renderEntry(entry, focusId) {
    var mine = conditionsOf(entry);
    var selected = mine.length > 0;
    var hadFocus = document.activeElement === entry.checkbox;
    placeEntry(entry, selected);
    if (hadFocus && document.activeElement !== entry.checkbox) entry.checkbox.focus();
    selectedEmpty.hidden = selectedList.children.length > 0;
    entry.checkbox.checked = selected;
    entry.li.classList.toggle("selected", selected);
    entry.tools.textContent = "";
    entry.area.textContent = "";
    if (selected) {
      // Spec 4: each selected event shows a summary chip ("3 filters, All" / "Expression") and
      // Edit / Remove; an event without filters keeps the vendor's "+ Add".
      var text = summaryText(mine);
      var hasError = mine.some(hasErrors);
      append(entry.tools, el("span", { class: "event-filters chip" + (hasError ? " has-error" : ""), id: entry.dom + "-summary" },
        hasError ? "Needs attention: " + text : text));
      var first = mine[0];
      var blank = mine.every(function (condition) { return condition.mode === "filters" && !condition.filters.length; });
      append(entry.tools, el("button", {
        type: "button", class: "add-filters", id: entry.dom + "-add",
        "aria-expanded": first.open ? "true" : "false", "aria-controls": first.uid + "-panel",
        "aria-describedby": entry.dom + "-label",
        onclick: function () { openPanel(entry, first); },
      }, blank ? "+ Add" : "Edit"));
      append(entry.tools, el("button", {
        type: "button", class: "remove-event", id: entry.dom + "-remove",
        "aria-describedby": entry.dom + "-label",
        onclick: function () { unselectEntry(entry); entry.checkbox.focus(); },
      }, "Remove"));
      mine.forEach(function (condition, n) {
        if (condition.open) append(entry.area, buildPanel(entry, condition, n, mine.length));
      });
    }
    if (focusId) {
      var target = $(focusId);
      if (target) target.focus();
    }
  }

  function hasErrors(condition) {
    return Object.keys(condition.errors).length > 0 ||
      condition.filters.some(function (filter) { return Object.keys(filter.errors).length > 0; });
  }

  function selectEntry(entry) {
    var restored = removed[entry.id];
    delete removed[entry.id];
    if (restored && restored.length) {
      restored.forEach(function (condition) { conditions.push(condition); });
    } else {
      conditions.push(conditionFrom({ event_type: entry.event_type, action: entry.action, match: "all", filters: [] }));
    }
    renderEntry(entry);
    applySearch();
    sync();
  }

  function unselectEntry(entry) {
    removed[entry.id] = conditionsOf(entry);
    conditions = conditions.filter(function (condition) { return entryIdOf(condition) !== entry.id; });
    renderEntry(entry);
    applySearch();
    sync();
  }

  function openPanel(entry, condition) {
    condition.open = true;
    var focusId = condition.mode === "expression" ? condition.uid + "-expression"
      : condition.filters.length ? condition.filters[0].uid + "-key" : condition.uid + "-add-row";
    renderEntry(entry, focusId);
  }

  function applySearch() {
    var q = search.value.trim().toLowerCase();
    var only = showSelected.checked;
    var shown = 0;
    // Selected events always show (above); the search narrows the catalog below them.
    catalog.forEach(function (entry) {
      var hit = isSelected(entry) || !q || entry.haystack.indexOf(q) !== -1;
      entry.li.hidden = !hit;
      if (hit && !isSelected(entry)) shown += 1;
    });
    list.hidden = only;
    catalogTitle.hidden = only;
    updateStatus(shown);
  }

  function updateStatus(shown) {
    var selectedCount = catalog.filter(isSelected).length;
    if (shown === undefined) {
      shown = catalog.filter(function (entry) { return !entry.li.hidden && !isSelected(entry); }).length;
    }
    var q = search.value.trim();
    status.textContent = selectedCount + " selected. " + (showSelected.checked ? "Showing the selected events only."
      : q ? shown + " more event" + (shown === 1 ? "" : "s") + " match \u201c" + q + "\u201d."
        : (catalog.length - selectedCount) + " more events below.");
  }

  // -- the "Add filters" panel --------------------------------------------------------------------

  function buildPanel(entry, condition, n, count) {
    var titleId = condition.uid + "-title";
    var panel = el("div", { class: "filters-panel", id: condition.uid + "-panel", role: "group", "aria-labelledby": titleId });
    append(panel, el("h3", { id: titleId }, "Add filters: " + entry.label + (count > 1 ? " (alternative " + (n + 1) + ")" : "")));
    ["condition", "event_type", "action", "match", "filters"].forEach(function (part) {
      if (condition.errors[part]) append(panel, el("p", { class: "field-error", role: "alert", text: condition.errors[part] }));
    });
    if (condition.mode === "expression") buildExpression(panel, entry, condition);
    else buildFilters(panel, entry, condition);
    append(panel, el("div", { class: "panel-row" },
      el("button", {
        type: "button", id: condition.uid + "-done",
        onclick: function () { condition.open = false; renderEntry(entry, entry.dom + "-add"); },
      }, "Done")));
    return panel;
  }

  function buildFilters(panel, entry, condition) {
    var matchId = condition.uid + "-match";
    var match = el("select", { id: matchId },
      el("option", { value: "all", text: "All" }), el("option", { value: "any", text: "Any" }));
    match.value = condition.match;
    match.addEventListener("change", function () { condition.match = match.value; sync(); refreshSummary(entry); });
    append(panel, el("div", { class: "panel-row" },
      el("label", { for: matchId }, "Matching logic"), match,
      el("span", { class: "muted small", text: "of the filters must match" })));

    var rows = el("div", { class: "filter-rows" });  // a div of groups: an <ol> may hold only list items
    condition.filters.forEach(function (filter, index) { append(rows, buildRow(entry, condition, filter, index)); });
    append(panel, rows);
    if (!condition.filters.length) {
      append(panel, el("p", { class: "muted small", text: "No filters: every " + entry.label + " event matches." }));
    }

    var full = condition.filters.length >= DATA.max_filters;
    var countId = condition.uid + "-count";
    append(panel, el("div", { class: "panel-row" },
      el("button", {
        type: "button", id: condition.uid + "-add-row", "aria-describedby": countId, disabled: full,
        onclick: function () {
          var filter = filterFrom({ key: "", operator: "eq" });
          condition.filters.push(filter);
          renderEntry(entry, filter.uid + "-key");
          sync();
        },
      }, "+Add"),
      el("span", { class: "muted small", id: countId, text: condition.filters.length + " of " + DATA.max_filters + " filters" + (full ? " (the most an event can have)" : "") }),
      el("button", {
        type: "button", id: condition.uid + "-to-expression",
        onclick: function () { askSwitch(entry, condition, this); },
      }, "Switch to Expression Language")));
  }

  function describedBy(ids) { return ids.filter(Boolean).join(" ") || null; }

  function buildRow(entry, condition, filter, index) {
    var base = filter.uid;
    var errors = filter.errors;
    var hasError = Object.keys(errors).length > 0;
    var row = el("div", { class: "filter-row" + (hasError ? " has-error" : ""), role: "group", "aria-label": "Filter " + (index + 1) });
    function touched() {
      if (Object.keys(filter.errors).length) { filter.errors = {}; row.classList.remove("has-error"); clearRowErrors(row); refreshSummary(entry); }
      sync();
    }

    // Select Key
    var keys = entry.keys.slice();
    var known = keys.indexOf(filter.key) !== -1;
    var keySelect = el("select", {
      id: base + "-key",
      "aria-invalid": errors.key ? "true" : null,
      "aria-describedby": describedBy([errors.key ? base + "-key-error" : null]),
    }, el("option", { value: "", text: "Select Key" }));
    keys.forEach(function (key) { append(keySelect, el("option", { value: key, text: key })); });
    if (filter.key && !known && !filter.custom) append(keySelect, el("option", { value: filter.key, text: filter.key }));
    append(keySelect, el("option", { value: OTHER_KEY, text: "Other key\u2026" }));
    keySelect.value = filter.custom ? OTHER_KEY : filter.key;
    var keyField = el("div", { class: "fr-field" }, el("label", { for: base + "-key", text: "Select Key" }), keySelect);
    if (filter.custom) {
      var custom = el("input", {
        type: "text", id: base + "-custom", value: filter.key, autocomplete: "off", spellcheck: "false",
        placeholder: "e.g. resource.name",
      });
      custom.addEventListener("input", function () { filter.key = custom.value.trim(); touched(); });
      append(keyField, el("label", { for: base + "-custom", class: "small", text: "Custom key" }), custom);
    }
    if (errors.key) append(keyField, el("p", { class: "field-error", id: base + "-key-error", text: errors.key }));
    keySelect.addEventListener("change", function () {
      if (keySelect.value === OTHER_KEY) {
        filter.custom = true; filter.key = "";
        adaptValue(filter); touched();
        renderEntry(entry, base + "-custom");
        return;
      }
      filter.custom = false;
      filter.customValue = false;
      var before = widgetOf(filter);
      filter.key = keySelect.value;
      filter.errors = {};
      if (operatorsFor(filter, entry).indexOf(OPERATORS[filter.operator]) === -1) filter.operator = "eq";
      if (widgetOf(filter) !== before) adaptValue(filter);
      sync();
      renderEntry(entry, base + "-key");
    });

    // Operator
    var opSelect = el("select", {
      id: base + "-operator",
      "aria-invalid": errors.operator ? "true" : null,
      "aria-describedby": describedBy([errors.operator ? base + "-operator-error" : null]),
    });
    var offered = operatorsFor(filter, entry);
    offered.forEach(function (op) { append(opSelect, el("option", { value: op.key, text: op.label })); });
    if (offered.indexOf(OPERATORS[filter.operator]) === -1) {
      // A saved rule keeps its operator even where the key's type would not offer it.
      append(opSelect, el("option", { value: filter.operator, text: OPERATORS[filter.operator] ? OPERATORS[filter.operator].label : filter.operator }));
    }
    opSelect.value = filter.operator;
    var opField = el("div", { class: "fr-field" }, el("label", { for: base + "-operator", text: "Operator" }), opSelect);
    if (OPERATORS[filter.operator] && OPERATORS[filter.operator].on_changes) {
      append(opField, el("span", { class: "muted small", text: "The key names the changed field, e.g. suspended." }));
    }
    if (errors.operator) append(opField, el("p", { class: "field-error", id: base + "-operator-error", text: errors.operator }));
    opSelect.addEventListener("change", function () {
      filter.operator = opSelect.value;
      filter.errors = {};
      adaptValue(filter);
      sync();
      renderEntry(entry, base + "-operator");
    });

    // Value
    var valueField = el("div", { class: "fr-field" });
    var widget = widgetOf(filter);
    var valueId = base + "-value";
    var valueDescribed = describedBy([errors.value ? valueId + "-error" : null, widget === "list" ? valueId + "-hint" : null]);
    if (widget === "none") {
      append(valueField, el("span", { class: "fr-label small muted", text: "Value" }),
        el("span", { class: "none-value", text: "No value needed" }));
    } else if (widget === "boolean") {
      buildBooleanValue(valueField, filter, valueId, errors, touched);
    } else if (widget === "enum") {
      buildEnumValue(valueField, entry, filter, valueId, errors, touched);
    } else if (widget === "enum-list") {
      buildEnumList(valueField, filter, valueId, errors, touched);
    } else if (widget === "list") {
      var area = el("textarea", {
        id: valueId, rows: "3", spellcheck: "false",
        "aria-invalid": errors.value ? "true" : null, "aria-describedby": valueDescribed,
      });
      area.value = valueText(filter);
      area.addEventListener("input", function () { setValueFromText(filter, area.value); touched(); });
      append(valueField, el("label", { for: valueId, text: "Value" }), area,
        el("span", { class: "muted small", id: valueId + "-hint", text: "Separate values with commas or new lines." }));
    } else {
      var input = el("input", {
        type: "text", id: valueId, autocomplete: "off", spellcheck: "false",
        "aria-invalid": errors.value ? "true" : null, "aria-describedby": valueDescribed,
      });
      input.value = valueText(filter);
      input.addEventListener("input", function () { setValueFromText(filter, input.value); touched(); });
      append(valueField, el("label", { for: valueId, text: "Value" }), input);
    }
    if (errors.value) append(valueField, el("p", { class: "field-error", id: valueId + "-error", text: errors.value }));
    if (errors.row) append(valueField, el("p", { class: "field-error", text: errors.row }));

    var remove = el("button", {
      type: "button", class: "remove-filter", "aria-label": "Remove filter " + (index + 1),
      onclick: function () {
        var at = condition.filters.indexOf(filter);
        condition.filters.splice(at, 1);
        var next = condition.filters[Math.min(at, condition.filters.length - 1)];
        renderEntry(entry, next ? next.uid + "-key" : condition.uid + "-add-row");
        sync();
      },
    }, "Remove");

    append(row, keyField, opField, valueField, remove);
    return row;
  }

  // A true/false value: two named choices, True and False, each a JSON boolean.
  function buildBooleanValue(valueField, filter, valueId, errors, touched) {
    var legendId = valueId + "-legend";
    var group = el("fieldset", {
      class: "boolean-value", id: valueId, role: "radiogroup", "aria-labelledby": legendId,
      "aria-invalid": errors.value ? "true" : null,
      "aria-describedby": describedBy([errors.value ? valueId + "-error" : null]),
    }, el("legend", { id: legendId, class: "fr-label", text: "Value" }));
    var choices = el("div", { class: "boolean-choices" });
    [true, false].forEach(function (choice) {
      var id = valueId + (choice ? "-true" : "-false");
      var radio = el("input", { type: "radio", id: id, name: valueId, value: String(choice), checked: filter.value === choice });
      radio.addEventListener("change", function () { if (radio.checked) { filter.value = choice; touched(); } });
      append(choices, el("label", { class: "checkbox", for: id }, radio, choice ? " True" : " False"));
    });
    append(group, choices);
    append(valueField, group);
  }

  // One known value from a dropdown, or "Other value..." and a text box for anything else.
  function buildEnumValue(valueField, entry, filter, valueId, errors, touched) {
    var values = enumOf(filter);
    var current = filter.value === undefined || filter.value === null ? "" : String(filter.value);
    var match = values.filter(function (value) { return sameText(value, current); })[0];
    var other = filter.customValue || (current !== "" && match === undefined);
    var select = el("select", {
      id: valueId,
      "aria-invalid": errors.value && !other ? "true" : null,
      "aria-describedby": describedBy([errors.value ? valueId + "-error" : null]),
    }, el("option", { value: "", text: "Select value" }));
    values.forEach(function (value) { append(select, el("option", { value: value, text: value })); });
    append(select, el("option", { value: OTHER_VALUE, text: "Other value\u2026" }));
    select.value = other ? OTHER_VALUE : (match === undefined ? "" : match);
    append(valueField, el("label", { for: valueId, text: "Value" }), select);
    select.addEventListener("change", function () {
      if (select.value === OTHER_VALUE) {
        filter.customValue = true;
        renderEntry(entry, valueId + "-custom");
        return;
      }
      filter.customValue = false;
      setValueFromText(filter, select.value);
      touched();
      if (other) renderEntry(entry, valueId); // drop the text box
    });
    if (other) {
      var custom = el("input", {
        type: "text", id: valueId + "-custom", autocomplete: "off", spellcheck: "false",
        "aria-invalid": errors.value ? "true" : null,
        "aria-describedby": describedBy([errors.value ? valueId + "-error" : null]),
      });
      custom.value = valueText(filter);
      custom.addEventListener("input", function () { setValueFromText(filter, custom.value); touched(); });
      append(valueField, el("label", { for: valueId + "-custom", class: "small", text: "Other value" }), custom);
    }
  }

  // Several known values as checkboxes, plus a text box for values the list does not know.
  function buildEnumList(valueField, filter, valueId, errors, touched) {
    var values = enumOf(filter);
    var chosen = Array.isArray(filter.value) ? filter.value : filter.value === undefined ? [] : [filter.value];
    var extra = chosen.filter(function (item) { return !values.some(function (value) { return sameText(value, item); }); });
    var legendId = valueId + "-legend";
    var group = el("fieldset", {
      class: "enum-values", id: valueId, "aria-labelledby": legendId,
      "aria-invalid": errors.value ? "true" : null,
      "aria-describedby": describedBy([errors.value ? valueId + "-error" : null]),
    }, el("legend", { id: legendId, class: "fr-label", text: "Value" }));
    var list = el("div", { class: "enum-boxes" });
    append(group, list);
    var boxes = values.map(function (value, i) {
      var box = el("input", {
        type: "checkbox", id: valueId + "-" + i, value: value,
        checked: chosen.some(function (item) { return sameText(value, item); }),
      });
      append(list, el("label", { class: "checkbox small", for: valueId + "-" + i }, box, " " + value));
      return box;
    });
    var more = el("input", { type: "text", id: valueId + "-other", autocomplete: "off", spellcheck: "false", placeholder: "Comma-separated" });
    more.value = extra.map(String).join(", ");
    append(group, el("label", { class: "small", for: valueId + "-other", text: "Other values" }), more);
    function update() {
      var picked = boxes.filter(function (box) { return box.checked; }).map(function (box) { return box.value; });
      picked = picked.concat(listFrom(more.value));
      delete filter.raw;
      if (picked.length) filter.value = picked; else delete filter.value;
      touched();
    }
    boxes.forEach(function (box) { box.addEventListener("change", update); });
    more.addEventListener("input", update);
    append(valueField, group);
  }

  function clearRowErrors(row) {
    row.querySelectorAll(".field-error").forEach(function (node) { node.parentNode.removeChild(node); });
    row.querySelectorAll("[aria-invalid]").forEach(function (node) { node.removeAttribute("aria-invalid"); });
  }

  function refreshSummary(entry) {
    var node = $(entry.dom + "-summary");
    if (!node) return;
    var mine = conditionsOf(entry);
    node.textContent = summaryText(mine);
    node.classList.toggle("has-error", mine.some(hasErrors));
  }

  function summaryText(mine) {
    return mine.map(function (condition) {
      if (condition.mode === "expression") return "Expression";
      var n = condition.filters.length;
      return n ? n + " filter" + (n === 1 ? "" : "s") + ", " + (condition.match === "any" ? "Any" : "All") : "No filters";
    }).join(" / ");
  }

  // -- expression mode ------------------------------------------------------------------------------

  function buildExpression(panel, entry, condition) {
    var id = condition.uid + "-expression";
    var errorId = id + "-error", helpId = id + "-help", noteId = condition.uid + "-convert-note";
    var textarea = el("textarea", {
      id: id, rows: "5", spellcheck: "false", "aria-describedby": helpId + " " + errorId,
      "aria-invalid": condition.errors.expression ? "true" : null,
    });
    textarea.value = condition.expression;
    var errorBox = el("div", { class: "expression-error", id: errorId, role: "alert" });
    var back = el("button", { type: "button", id: condition.uid + "-to-filters", "aria-describedby": noteId }, "Switch to Filters");
    var note = el("span", { class: "muted convert-note", id: noteId });
    append(panel,
      el("div", { class: "expression-box" },
        el("label", { for: id, text: "Expression" }),
        textarea,
        el("p", { class: "help muted small", id: helpId },
          "Expr syntax, e.g. ", el("code", { text: "success == false && initiated_by.email endsWith '@example.com'" }),
          ". Comparisons are case-sensitive; ieq(a, b) ignores case as filters do.")),
      errorBox,
      el("div", { class: "panel-row" }, back, note));

    function showError(message) {
      errorBox.textContent = "";
      if (!message) { textarea.removeAttribute("aria-invalid"); return; }
      textarea.setAttribute("aria-invalid", "true");
      var match = POSITION_RE.exec(message);
      if (!match) { append(errorBox, el("p", { class: "field-error", text: message })); return; }
      var line = Number(match[1]), column = Number(match[2]);
      var source = textarea.value.split("\n")[line - 1];
      append(errorBox, el("p", { class: "field-error" },
        el("button", {
          type: "button", class: "linklike", title: "Put the cursor there",
          onclick: function () { goTo(textarea, line, column); },
        }, "Line " + line + ", column " + column), ": " + match[3]));
      if (source !== undefined) {
        append(errorBox, el("pre", { "aria-hidden": "true" }, source + "\n" + " ".repeat(Math.max(0, column - 1)) + "^"));
      }
    }

    var checking = 0;
    function check() {
      var ticket = ++checking;
      var source = textarea.value;
      if (!source.trim()) {
        showError(""); setBack(false, "Write an expression, or switch back to filters.");
        back.removeAttribute("aria-disabled");
        return;
      }
      postJSON(DATA.convert_url, { expression: source }).then(function (answer) {
        if (ticket !== checking) return;
        if (answer.ok) { showError(""); setBack(true, ""); return; }
        var message = firstMessage(answer.json);
        if (message.indexOf("cannot show this as fields") !== -1) {
          showError("");
          setBack(false, "Can't switch back to filters: " + message.replace(POSITION_RE, "$3"));
        } else {
          showError(message);
          setBack(false, "Fix the expression to switch back to filters.");
        }
      }).catch(function () { /* offline: the save shows any error */ });
    }
    function setBack(enabled, text) {
      if (enabled) back.removeAttribute("aria-disabled"); else back.setAttribute("aria-disabled", "true");
      note.textContent = text;
    }
    var checkSoon = debounce(check, 450);

    textarea.addEventListener("input", function () {
      condition.expression = textarea.value;
      delete condition.errors.expression;
      sync();
      checkSoon();
    });
    back.addEventListener("click", function () {
      if (back.getAttribute("aria-disabled") === "true" && textarea.value.trim()) { textarea.focus(); return; }
      if (!textarea.value.trim()) { toFilters(entry, condition, "all", []); return; }
      postJSON(DATA.convert_url, { expression: textarea.value }).then(function (answer) {
        if (answer.ok) toFilters(entry, condition, answer.json.match, answer.json.filters || []);
        else setBack(false, "Can't switch back to filters: " + firstMessage(answer.json));
      });
    });

    if (condition.errors.expression) { showError(condition.errors.expression); setBack(false, ""); }
    else if (condition.expression) setTimeout(check, 0);
  }

  function goTo(textarea, line, column) {
    var lines = textarea.value.split("\n");
    var offset = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
    offset += Math.max(0, column - 1);
    textarea.focus();
    textarea.setSelectionRange(offset, Math.min(offset + 1, textarea.value.length));
  }

  function toFilters(entry, condition, match, filters) {
    condition.mode = "filters";
    condition.match = match === "any" ? "any" : "all";
    condition.filters = filters.map(filterFrom);
    condition.expression = "";
    condition.errors = {};
    renderEntry(entry, condition.filters.length ? condition.filters[0].uid + "-key" : condition.uid + "-add-row");
    sync();
  }

  // -- "Switch to Expression Language" confirmation ---------------------------------------------------

  var dialog = $("switch-dialog"), confirmButton = $("switch-confirm"), cancelButton = $("switch-cancel");
  var dialogError = $("switch-dialog-error");
  var pending = null;

  function askSwitch(entry, condition, opener) {
    pending = { entry: entry, condition: condition, opener: opener };
    dialogError.hidden = true;
    dialogError.textContent = "";
    if (dialog && typeof dialog.showModal === "function") {
      dialog.showModal();
      confirmButton.focus();
    } else if (window.confirm("Switch to Expression Language?")) {
      doSwitch();
    }
  }

  function closeDialog() {
    if (dialog && dialog.open) dialog.close();
  }

  function doSwitch() {
    var entry = pending.entry, condition = pending.condition;
    var filters = condition.filters.map(function (filter) {
      var item = { key: filter.key, operator: filter.operator };
      if (widgetOf(filter) !== "none" && filter.value !== undefined) item.value = filter.value;
      return item;
    });
    confirmButton.disabled = true;
    postJSON(DATA.convert_url, { match: condition.match, filters: filters }).then(function (answer) {
      confirmButton.disabled = false;
      if (answer.ok) {
        condition.mode = "expression";
        condition.expression = answer.json.expression || "";
        condition.filters = [];
        condition.errors = {};
        pending = null;
        closeDialog();
        renderEntry(entry, condition.uid + "-expression");
        sync();
        return;
      }
      // Show each problem at its filter row; the dialog says why nothing happened.
      Object.keys(answer.json || {}).forEach(function (path) {
        var match = /^filters\[(\d+)\](?:\.(\w+))?$/.exec(path);
        var message = Array.isArray(answer.json[path]) ? answer.json[path][0] : String(answer.json[path]);
        if (match && condition.filters[Number(match[1])]) condition.filters[Number(match[1])].errors[match[2] || "row"] = message;
        else condition.errors.filters = message;
      });
      dialogError.textContent = "Fix the filters first: " + firstMessage(answer.json);
      dialogError.hidden = false;
      renderEntry(entry);
    }).catch(function () {
      confirmButton.disabled = false;
      dialogError.textContent = "Could not reach the server. Try again.";
      dialogError.hidden = false;
    });
  }

  if (dialog) {
    confirmButton.addEventListener("click", function () { if (pending) doSwitch(); });
    cancelButton.addEventListener("click", closeDialog);
    dialog.addEventListener("close", function () {
      if (pending && pending.opener && document.body.contains(pending.opener)) pending.opener.focus();
      else if (pending) { var b = $(pending.condition.uid + "-to-expression"); if (b) b.focus(); }
      pending = null;
    });
  }

  // -- search -------------------------------------------------------------------------------------

  search.addEventListener("input", applySearch);
  search.addEventListener("keydown", function (event) { if (event.key === "Enter") event.preventDefault(); });
  showSelected.addEventListener("change", applySearch);

  // Each entry places itself (selected ones above the catalog); then the selected ones take
  // the conditions' order, which is the order the server's error paths count in.
  catalog.forEach(function (entry, position) { buildEntry(entry, position); });
  conditions.forEach(function (condition) { selectedList.appendChild(byId[entryIdOf(condition)].li); });
  selectedEmpty.hidden = selectedList.children.length > 0;
  applySearch();
  hidden.value = JSON.stringify(conditions.map(contractOf));
})();
