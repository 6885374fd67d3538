/* The case page's process diagram: bpmn-js viewer with the case's steps marked and zoomed to the open ones. */
(function () {
  "use strict";
  var host = document.getElementById("diagram");
  if (!host) { return; }
  if (typeof window.BpmnJS !== "function") {
    host.textContent = host.getAttribute("data-missing") || "diagram viewer not installed";
    host.classList.add("diagram-message");
    return;
  }

  var MIN_SCALE = 0.55;   // below this the step names are no longer readable
  var MAX_SCALE = 0.9;
  var CONTEXT = 240;      // room around the open steps, in diagram units, so their neighbours show too

  function ids(name) {
    var value = host.getAttribute("data-" + name) || "";
    return value.split(",").filter(function (s) { return s.length > 0; });
  }

  var viewer = new window.BpmnJS({ container: host });
  var canvas = null;
  var registry = null;

  function bounds(elements) {
    var box = { minX: Infinity, minY: Infinity, maxX: -Infinity, maxY: -Infinity };
    elements.forEach(function (e) {
      box.minX = Math.min(box.minX, e.x);
      box.minY = Math.min(box.minY, e.y);
      box.maxX = Math.max(box.maxX, e.x + e.width);
      box.maxY = Math.max(box.maxY, e.y + e.height);
    });
    return box;
  }

  function showWhole() {
    canvas.zoom("fit-viewport", "auto");
  }

  function focusOpenSteps() {
    var open = ids("current").map(function (id) { return registry.get(id); }).filter(Boolean);
    showWhole();
    var fitted = canvas.viewbox();
    if (!open.length || fitted.scale >= MIN_SCALE + 0.15) {
      return;  // nothing open, or the whole process is readable as it is
    }
    var box = bounds(open);
    var width = box.maxX - box.minX + 2 * CONTEXT;
    var height = box.maxY - box.minY + 2 * CONTEXT;
    var scale = Math.min(fitted.outer.width / width, fitted.outer.height / height);
    scale = Math.max(MIN_SCALE, Math.min(MAX_SCALE, scale));
    var viewWidth = fitted.outer.width / scale;
    var viewHeight = fitted.outer.height / scale;
    canvas.viewbox({
      x: (box.minX + box.maxX) / 2 - viewWidth / 2,
      y: (box.minY + box.maxY) / 2 - viewHeight / 2,
      width: viewWidth,
      height: viewHeight
    });
  }

  function zoomBy(factor) {
    var current = canvas.zoom();
    canvas.zoom(Math.max(0.2, Math.min(3, current * factor)), "auto");
  }

  function wireToolbar() {
    var toolbar = document.querySelector(".diagram-tools");
    if (!toolbar) { return; }
    toolbar.hidden = false;
    toolbar.addEventListener("click", function (event) {
      var button = event.target.closest("[data-diagram]");
      if (!button) { return; }
      var action = button.getAttribute("data-diagram");
      if (action === "focus") { focusOpenSteps(); }
      else if (action === "fit") { showWhole(); }
      else if (action === "in") { zoomBy(1.25); }
      else if (action === "out") { zoomBy(0.8); }
    });
  }

  fetch(host.getAttribute("data-url"), { credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.text();
    })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      canvas = viewer.get("canvas");
      registry = viewer.get("elementRegistry");
      function mark(list, css) {
        list.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, css); } });
      }
      mark(ids("done"), "step-done");
      mark(ids("current"), "step-current");
      mark(ids("returned"), "step-returned");
      focusOpenSteps();
      wireToolbar();
      host.setAttribute("data-rendered", "true");
    })
    .catch(function (error) {
      host.setAttribute("data-error", String(error));
      host.classList.add("diagram-message");
      host.textContent = (host.getAttribute("data-failed") || "") + " " + String(error);
    });
})();
