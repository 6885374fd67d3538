/* The supervisor's live diagram: the deployed pipeline with open/overdue counts on each step. */
(function () {
  "use strict";
  var host = document.getElementById("live-diagram");
  if (!host || typeof window.BpmnJS !== "function") { return; }
  var counts = JSON.parse(host.getAttribute("data-counts") || "{}");
  var casesUrl = host.getAttribute("data-cases-url");
  var viewer = new window.BpmnJS({ container: host });
  fetch(host.getAttribute("data-url"), { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.text(); })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var overlays = viewer.get("overlays");
      var registry = viewer.get("elementRegistry");
      Object.keys(counts).forEach(function (id) {
        if (!registry.get(id)) { return; }
        var c = counts[id];
        var link = document.createElement("a");
        link.className = "count-badge" + (c.overdue ? " has-late" : "");
        link.setAttribute("data-step", id);
        link.href = casesUrl + (casesUrl.indexOf("?") < 0 ? "?" : "&") + "step=" + encodeURIComponent(id);
        link.title = c.open + " " + host.getAttribute("data-label-open") + ", " + c.overdue + " " + host.getAttribute("data-label-overdue");
        link.textContent = String(c.open);
        if (c.overdue) {
          var late = document.createElement("span");
          late.className = "late";
          late.textContent = String(c.overdue);
          link.appendChild(late);
        }
        overlays.add(id, { position: { top: -12, right: 12 }, html: link });
      });
      viewer.get("canvas").zoom("fit-viewport");
      host.setAttribute("data-rendered", "true");
    })
    .catch(function (error) { host.setAttribute("data-error", String(error)); host.textContent = String(error); });
})();
