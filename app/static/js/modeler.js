/* The process modeler page: bpmn-js with the spiffworkflow extension, save as a new draft, validate with
   canvas markers, import a .bpmn file and export the current diagram. */
(function () {
  "use strict";
  var host = document.getElementById("modeler");
  var configNode = document.getElementById("modeler-config");
  if (!host || !configNode) { return; }
  if (typeof window.BpmnJS !== "function") {
    host.textContent = host.getAttribute("data-missing");
    return;
  }
  var config = JSON.parse(configNode.textContent);
  var L = config.labels;
  var modeler = new window.BpmnJS({
    container: host,
    moddleExtensions: { spiffworkflow: window.SpiffModdle }
  });
  window.processModeler = modeler;  // the page's one modeler, for scripted checks
  var panel = window.ModelerPanel(modeler, document.getElementById("modeler-panel"), config);
  var statusNode = document.querySelector('[data-testid="modeler-status"]');
  var problemsBox = document.querySelector('[data-testid="problems"]');
  var deployForm = document.getElementById("deploy-form");
  var commentInput = document.getElementById("save-comment");
  var marked = [];
  var dirty = false;
  var importing = false;

  function say(text, css) {
    statusNode.textContent = text;
    statusNode.className = "modeler-status" + (css ? " " + css : "");
  }

  function setDirty(value) {
    dirty = value;
    host.setAttribute("data-dirty", value ? "true" : "false");
    if (value) { say(L.unsaved, "is-dirty"); }
    if (deployForm) {
      var button = deployForm.querySelector("button");
      button.disabled = value;
      button.title = value ? L.deployUnsaved : "";
    }
  }

  function elementFor(id) {
    var registry = modeler.get("elementRegistry");
    if (!id) { return null; }
    return registry.get(id) || registry.filter(function (e) {
      return e.type === "bpmn:Participant" && e.businessObject.processRef && e.businessObject.processRef.id === id;
    })[0] || null;
  }

  function clearMarkers() {
    var canvas = modeler.get("canvas");
    marked.forEach(function (id) { if (modeler.get("elementRegistry").get(id)) { canvas.removeMarker(id, "validation-error"); } });
    marked = [];
    modeler.get("overlays").remove({ type: "validation" });
  }

  function showProblems(problems) {
    clearMarkers();
    var canvas = modeler.get("canvas");
    var overlays = modeler.get("overlays");
    var list = problemsBox.querySelector("ul");
    list.textContent = "";
    problemsBox.hidden = false;
    problemsBox.classList.toggle("is-valid", problems.length === 0);
    problemsBox.querySelector("h2").textContent = problems.length ? L.problems.replace("{n}", problems.length) : L.valid;
    problems.forEach(function (problem) {
      var item = document.createElement("li");
      var element = elementFor(problem.element_id);
      item.setAttribute("data-element-id", problem.element_id || "");
      if (element) {
        var link = document.createElement("button");
        link.type = "button";
        link.className = "linklike";
        link.textContent = problem.element_id;
        link.addEventListener("click", function () {
          modeler.get("selection").select(element);
          if (canvas.zoom() < 0.8 && element.x !== undefined) {
            canvas.zoom(0.8, { x: element.x + element.width / 2, y: element.y + element.height / 2 });
          }
          if (canvas.scrollToElement) { canvas.scrollToElement(element); }
        });
        item.appendChild(link);
        item.appendChild(document.createTextNode(" "));
        if (marked.indexOf(element.id) < 0) {
          canvas.addMarker(element.id, "validation-error");
          marked.push(element.id);
          var badge = document.createElement("span");
          badge.className = "validation-badge";
          badge.textContent = "!";
          badge.title = problem.message;
          overlays.add(element.id, "validation", { position: { top: -8, right: 8 }, html: badge });
        }
      }
      item.appendChild(document.createTextNode(problem.message));
      list.appendChild(item);
    });
    host.setAttribute("data-validated", problems.length ? "invalid" : "valid");
  }

  function post(url, body, extraHeaders) {
    var headers = { "Content-Type": "application/xml", "X-CSRFToken": host.getAttribute("data-csrf"),
                    "Accept": "application/json" };
    Object.keys(extraHeaders || {}).forEach(function (k) { headers[k] = extraHeaders[k]; });
    return fetch(url, { method: "POST", credentials: "same-origin", headers: headers, body: body })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          return { status: response.status, data: data };
        });
      });
  }

  function currentXml() {
    window.ModelerLanes.sync(modeler);
    return modeler.saveXML({ format: true }).then(function (r) { return r.xml; });
  }

  function errorProblems(data) {
    var error = (data && data.error) || {};
    var fields = error.fields || {};
    var problems = [];
    Object.keys(fields).forEach(function (name) {
      fields[name].forEach(function (message) {
        var match = /^([A-Za-z_][\w.-]*): (.*)$/.exec(message);
        problems.push(match ? { element_id: match[1], message: match[2] } : { element_id: null, message: message });
      });
    });
    return { message: error.message || "", problems: problems };
  }

  function open(xml, markDirty) {
    importing = true;
    return modeler.importXML(xml).then(function (result) {
      importing = false;
      modeler.get("canvas").zoom("fit-viewport", "auto");
      clearMarkers();
      problemsBox.hidden = true;
      panel.render(null);
      setDirty(!!markDirty);
      var warnings = (result && result.warnings) || [];
      if (warnings.length) { say(L.warnings.replace("{n}", warnings.length), "is-warn"); }
      host.setAttribute("data-rendered", "true");
    }, function (error) {
      importing = false;
      say(L.importFailed + " " + String(error && error.message || error), "is-error");
      throw error;
    });
  }

  function validate() {
    say(L.validating);
    return currentXml().then(function (xml) { return post(config.validateUrl, xml); }).then(function (result) {
      if (result.status !== 200) {
        var failed = errorProblems(result.data);
        say(L.failed + " " + failed.message, "is-error");
        showProblems(failed.problems);
        return;
      }
      say("");
      showProblems(result.data.errors || []);
    }).catch(function (error) { say(L.failed + " " + String(error), "is-error"); });
  }

  function save() {
    say(L.saving);
    var comment = commentInput.value.trim();
    var url = config.saveUrl + (comment ? "?comment=" + encodeURIComponent(comment) : "");
    return currentXml().then(function (xml) { return post(url, xml); }).then(function (result) {
      if (result.status === 201) {
        setDirty(false);
        say(L.saved, "is-ok");
        window.location.assign(result.data.edit_url);
        return;
      }
      var failed = errorProblems(result.data);
      say(L.failed + " " + failed.message, "is-error");
      if (failed.problems.length) { showProblems(failed.problems); }
    }).catch(function (error) { say(L.failed + " " + String(error), "is-error"); });
  }

  function exportXml() {
    return currentXml().then(function (xml) {
      var link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([xml], { type: "application/xml" }));
      link.download = config.fileName;
      document.body.appendChild(link);
      link.click();
      setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
    });
  }

  document.querySelector(".modeler-toolbar").addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    if (!button) { return; }
    var action = button.getAttribute("data-action");
    if (action === "save") { save(); }
    else if (action === "validate") { validate(); }
    else if (action === "export") { exportXml(); }
  });
  document.getElementById("import-file").addEventListener("change", function (event) {
    var file = event.target.files && event.target.files[0];
    if (!file) { return; }
    file.text().then(function (text) { return open(text, true); }).then(function () {
      say(L.imported.replace("{name}", file.name), "is-ok");
    }).catch(function () { /* reported by open() */ });
    event.target.value = "";
  });
  if (deployForm) {
    deployForm.addEventListener("submit", function (event) {
      if (dirty) { event.preventDefault(); say(L.deployUnsaved, "is-error"); }
    });
  }
  modeler.on("commandStack.changed", function () { if (!importing) { setDirty(true); } });

  fetch(config.xmlUrl, { credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.text();
    })
    .then(function (xml) { return open(xml, false); })
    .catch(function (error) { host.setAttribute("data-error", String(error)); });
})();
