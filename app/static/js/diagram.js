/* The case page's process diagram: bpmn-js viewer with the case's steps marked. */
(function () {
  "use strict";
  var host = document.getElementById("diagram");
  if (!host || typeof window.BpmnJS !== "function") {
    if (host) { host.textContent = host.getAttribute("data-missing") || "diagram viewer not installed"; }
    return;
  }
  function ids(name) {
    var value = host.getAttribute("data-" + name) || "";
    return value.split(",").filter(function (s) { return s.length > 0; });
  }
  var viewer = new window.BpmnJS({ container: host });
  fetch(host.getAttribute("data-url"), { credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.text();
    })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      function mark(list, css) {
        list.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, css); } });
      }
      mark(ids("done"), "step-done");
      mark(ids("current"), "step-current");
      mark(ids("returned"), "step-returned");
      canvas.zoom("fit-viewport");
      var current = ids("current").map(function (id) { return registry.get(id); }).filter(Boolean);
      var fitted = canvas.viewbox();
      if (current.length && fitted.scale < 0.7) {
        // the whole pipeline is wide: show the open steps at a readable scale instead
        var minX = Math.min.apply(null, current.map(function (e) { return e.x; }));
        var maxX = Math.max.apply(null, current.map(function (e) { return e.x + e.width; }));
        var minY = Math.min.apply(null, current.map(function (e) { return e.y; }));
        var maxY = Math.max.apply(null, current.map(function (e) { return e.y + e.height; }));
        var scale = 0.85;
        var width = fitted.outer.width / scale, height = fitted.outer.height / scale;
        canvas.viewbox({ x: (minX + maxX) / 2 - width / 2, y: (minY + maxY) / 2 - height / 2, width: width, height: height });
      }
      host.setAttribute("data-rendered", "true");
    })
    .catch(function (error) {
      host.setAttribute("data-error", String(error));
      host.textContent = String(error);
    });
})();
