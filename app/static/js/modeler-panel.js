/* The modeler's side panel: edits what the engine reads — a lane's role, a step's form, due time and return
   targets, a flow's condition, the process's key and executable flag — through bpmn-js's own commands. */
(function () {
  "use strict";

  var STEP_TYPES = ["bpmn:UserTask", "bpmn:ManualTask", "bpmn:Task"];
  var DECISIONS = ["bpmn:ExclusiveGateway", "bpmn:InclusiveGateway"];
  var DURATION = /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/;

  function make(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  window.ModelerPanel = function (modeler, host, config) {
    var L = config.labels;
    var modeling = modeler.get("modeling");
    var moddle = modeler.get("moddle");
    var registry = modeler.get("elementRegistry");
    var canvas = modeler.get("canvas");
    var roleByName = {};
    config.roles.forEach(function (r) {
      roleByName[r.code] = r.code; roleByName[r.zh] = r.code; roleByName[r.en.toLowerCase()] = r.code;
    });
    var current = null;
    var fieldCount = 0;

    function resolveRole(name) {
      if (!name) { return null; }
      var trimmed = String(name).trim();
      return roleByName[trimmed] || roleByName[trimmed.toLowerCase()] || null;
    }

    function roleLabel(code) {
      var found = config.roles.filter(function (r) { return r.code === code; })[0];
      if (!found) { return code; }
      return (config.locale === "en" ? found.en : found.zh) + " · " + found.code;
    }

    function field(label, control, name, hint) {
      var id = "panel-field-" + (++fieldCount);
      var wrap = make("div", { "class": "panel-field", "data-field": name });
      wrap.appendChild(make("label", { "for": id }, label));
      control.id = id;
      wrap.appendChild(control);
      if (hint) { wrap.appendChild(make("p", { "class": "panel-hint" }, hint)); }
      return wrap;
    }

    function note(text, css) { return make("p", { "class": "panel-note " + (css || "") }, text); }

    // -- spiffworkflow:properties -------------------------------------------------------------------------------
    function propertiesOf(bo) {
      var ext = bo.extensionElements;
      if (!ext || !ext.values) { return null; }
      return ext.values.filter(function (v) { return v.$type === "spiffworkflow:Properties"; })[0] || null;
    }

    function getProperty(bo, name) {
      var props = propertiesOf(bo);
      var found = props && (props.properties || []).filter(function (p) { return p.name === name; })[0];
      return found ? found.value || "" : "";
    }

    function setProperty(element, name, value) {
      var bo = element.businessObject;
      var ext = bo.extensionElements;
      if (!ext) {
        if (!value) { return; }
        ext = moddle.create("bpmn:ExtensionElements", { values: [] });
        ext.$parent = bo;
        modeling.updateProperties(element, { extensionElements: ext });
      }
      var props = propertiesOf(bo);
      if (!props) {
        if (!value) { return; }
        props = moddle.create("spiffworkflow:Properties", { properties: [] });
        props.$parent = ext;
        modeling.updateModdleProperties(element, ext, { values: (ext.values || []).concat([props]) });
      }
      var list = props.properties || [];
      var existing = list.filter(function (p) { return p.name === name; })[0];
      if (!value) {
        if (existing) {
          modeling.updateModdleProperties(element, props, { properties: list.filter(function (p) { return p !== existing; }) });
        }
      } else if (existing) {
        modeling.updateModdleProperties(element, existing, { value: value });
      } else {
        var created = moddle.create("spiffworkflow:Property", { name: name, value: value });
        created.$parent = props;
        modeling.updateModdleProperties(element, props, { properties: list.concat([created]) });
      }
    }

    // -- lanes and steps ----------------------------------------------------------------------------------------
    function steps() {
      return registry.filter(function (e) { return STEP_TYPES.indexOf(e.type) >= 0 && !e.labelTarget; });
    }

    function nameField(element) {
      var input = make("input", { type: "text", value: element.businessObject.name || "" });
      input.addEventListener("change", function () {
        modeling.updateProperties(element, { name: input.value.trim() || undefined });
      });
      return field(L.name, input, "name");
    }

    function roleSelect(selected) {
      var select = make("select");
      select.appendChild(make("option", { value: "" }, L.noRole));
      config.roles.forEach(function (r) {
        var option = make("option", { value: r.code }, roleLabel(r.code));
        if (r.code === selected) { option.selected = true; }
        select.appendChild(option);
      });
      return select;
    }

    function renderLane(element) {
      var bo = element.businessObject;
      var role = resolveRole(bo.name);
      var select = roleSelect(role);
      select.addEventListener("change", function () {
        var chosen = config.roles.filter(function (r) { return r.code === select.value; })[0];
        if (chosen) { modeling.updateProperties(element, { name: chosen.zh }); }
      });
      host.appendChild(field(L.role, select, "role"));
      if (!role) { host.appendChild(note(L.unknownRole, "panel-warn")); }
    }

    function renderStep(element) {
      var bo = element.businessObject;
      var lane = window.ModelerLanes.laneOf(modeler, element);
      var role = lane ? resolveRole(lane.businessObject.name) : null;
      var roleText = make("p", { "class": "panel-value", "data-testid": "step-role" },
                          lane ? (role ? roleLabel(role) : (lane.businessObject.name || lane.id)) : L.noLane);
      var roleWrap = make("div", { "class": "panel-field", "data-field": "step-role" });
      roleWrap.appendChild(make("span", { "class": "panel-label" }, L.stepRole));
      roleWrap.appendChild(roleText);
      if (lane && !role) { roleWrap.appendChild(note(L.unknownRole, "panel-warn")); }
      if (lane) {
        var pick = make("button", { type: "button", "class": "small", "data-action": "select-lane" }, L.lane);
        pick.addEventListener("click", function () { modeler.get("selection").select(lane); });
        roleWrap.appendChild(pick);
      } else {
        roleText.classList.add("panel-warn");
      }
      host.appendChild(roleWrap);
      if (element.type === "bpmn:Task") {
        var convert = make("button", { type: "button", "class": "small", "data-action": "make-user-task" }, L.makeUserTask);
        convert.addEventListener("click", function () {
          var replaced = modeler.get("bpmnReplace").replaceElement(element, { type: "bpmn:UserTask" });
          modeler.get("selection").select(replaced);
        });
        host.appendChild(convert);
      }
      var form = make("select");
      form.appendChild(make("option", { value: "" }, L.noForm));
      var currentForm = getProperty(bo, "form");
      var known = false;
      config.forms.forEach(function (f) {
        var option = make("option", { value: f.key }, f.title + " · " + f.key);
        if (f.key === currentForm) { option.selected = true; known = true; }
        form.appendChild(option);
      });
      if (currentForm && !known) {
        var odd = make("option", { value: currentForm }, currentForm + " ?");
        odd.selected = true;
        form.appendChild(odd);
      }
      form.addEventListener("change", function () { setProperty(element, "form", form.value); });
      host.appendChild(field(L.form, form, "form"));

      var due = make("input", { type: "text", value: getProperty(bo, "due"), placeholder: "P3D", spellcheck: "false" });
      var dueField = field(L.due, due, "due");
      var dueHint = make("p", { "class": "panel-hint panel-warn", hidden: "" }, L.dueInvalid);
      dueField.appendChild(dueHint);
      function checkDue() {
        var value = due.value.trim().toUpperCase();
        dueHint.hidden = !value || DURATION.test(value);
        due.setAttribute("aria-invalid", dueHint.hidden ? "false" : "true");
      }
      due.addEventListener("input", checkDue);
      due.addEventListener("change", function () { setProperty(element, "due", due.value.trim().toUpperCase()); });
      checkDue();
      host.appendChild(dueField);

      var chosen = getProperty(bo, "returnTargets").split(",").map(function (s) { return s.trim(); })
        .filter(Boolean);
      var box = make("fieldset", { "class": "panel-field panel-targets", "data-field": "return-targets" });
      box.appendChild(make("legend", {}, L.returnTargets));
      var others = steps().filter(function (s) { return s.id !== element.id; });
      if (!others.length) { box.appendChild(note(L.noSteps)); }
      others.forEach(function (s) {
        var id = "panel-target-" + s.id;
        var row = make("div", { "class": "panel-check" });
        var check = make("input", { type: "checkbox", id: id, value: s.id });
        check.checked = chosen.indexOf(s.id) >= 0;
        check.addEventListener("change", function () {
          var values = Array.prototype.slice.call(box.querySelectorAll("input:checked"))
            .map(function (c) { return c.value; });
          setProperty(element, "returnTargets", values.join(","));
        });
        row.appendChild(check);
        row.appendChild(make("label", { "for": id }, (s.businessObject.name || s.id) + " (" + s.id + ")"));
        box.appendChild(row);
      });
      host.appendChild(box);
    }

    function renderFlow(element) {
      var bo = element.businessObject;
      var text = make("textarea", { rows: "3", spellcheck: "false" });
      text.value = bo.conditionExpression ? bo.conditionExpression.body || "" : "";
      text.addEventListener("change", function () {
        var body = text.value.trim();
        var expression;
        if (body) {
          expression = moddle.create("bpmn:FormalExpression", { body: body });
          expression.$parent = bo;
        }
        modeling.updateProperties(element, { conditionExpression: expression });
      });
      host.appendChild(field(L.condition, text, "condition"));
      var source = element.source;
      if (source && DECISIONS.indexOf(source.type) >= 0) {
        var check = make("input", { type: "checkbox" });
        check.checked = source.businessObject["default"] === bo;
        check.addEventListener("change", function () {
          modeling.updateProperties(source, { "default": check.checked ? bo : undefined });
        });
        host.appendChild(field(L["default"], check, "default"));
      }
    }

    function processOf(element) {
      var bo = element.businessObject;
      if (bo.$type === "bpmn:Participant") { return bo.processRef || null; }
      if (bo.$type === "bpmn:Process") { return bo; }
      return null;
    }

    function renderProcess(element, process) {
      var key = make("input", { type: "text", value: process.id || "", spellcheck: "false" });
      key.addEventListener("change", function () {
        var value = key.value.trim();
        if (value) { modeling.updateModdleProperties(element, process, { id: value }); }
      });
      host.appendChild(field(L.key, key, "key"));
      var name = make("input", { type: "text", value: process.name || "" });
      name.addEventListener("change", function () {
        modeling.updateModdleProperties(element, process, { name: name.value.trim() || undefined });
      });
      host.appendChild(field(L.process, name, "process-name"));
      var executable = make("input", { type: "checkbox" });
      executable.checked = !!process.isExecutable;
      executable.addEventListener("change", function () {
        modeling.updateModdleProperties(element, process, { isExecutable: executable.checked });
      });
      host.appendChild(field(L.executable, executable, "executable"));
    }

    function render(element) {
      current = element || null;
      host.textContent = "";
      var target = element || canvas.getRootElement();
      if (!target || !target.businessObject) { host.appendChild(note(L.select)); return; }
      if (target.type === "bpmn:Collaboration") {
        var pool = registry.filter(function (e) { return e.type === "bpmn:Participant"; })[0];
        host.appendChild(note(L.select));
        if (pool && processOf(pool)) { host.appendChild(make("h3", {}, L.process)); renderProcess(pool, processOf(pool)); }
        return;
      }
      var bo = target.businessObject;
      host.setAttribute("data-element", target.id);
      var head = make("h3", {}, bo.name || target.id);
      head.appendChild(make("small", {}, " " + bo.$type.replace("bpmn:", "") + " · " + target.id));
      host.appendChild(head);
      if (target.type !== "bpmn:Process") { host.appendChild(nameField(target)); }
      if (target.type === "bpmn:Lane") { renderLane(target); }
      else if (STEP_TYPES.indexOf(target.type) >= 0) { renderStep(target); }
      else if (target.type === "bpmn:SequenceFlow") { renderFlow(target); }
      else if (processOf(target)) { renderProcess(target, processOf(target)); }
      else { host.appendChild(note(L.other)); }
    }

    modeler.on("selection.changed", function (event) {
      var selected = event.newSelection || [];
      render(selected.length === 1 ? selected[0] : null);
    });
    modeler.on("elements.changed", function (event) {
      if (!current) { return; }
      var touched = (event.elements || []).some(function (e) { return e === current || e.id === current.id; });
      var active = document.activeElement;
      if (touched && !(active && host.contains(active) && active.tagName === "TEXTAREA")) {
        render(registry.get(current.id) || null);
      }
    });

    return { render: render };
  };
})();
