/* A process version's diagram, read-only, fitted to the page. */
(function () {
  "use strict";
  var host = document.getElementById("process-viewer");
  if (!host) { return; }
  if (typeof window.BpmnJS !== "function") {
    host.textContent = host.getAttribute("data-missing");
    host.classList.add("diagram-message");
    return;
  }
  var viewer = new window.BpmnJS({ container: host });
  fetch(host.getAttribute("data-url"), { credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.text();
    })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      viewer.get("canvas").zoom("fit-viewport", "auto");
      host.setAttribute("data-rendered", "true");
    })
    .catch(function (error) {
      host.setAttribute("data-error", String(error));
      host.classList.add("diagram-message");
      host.textContent = String(error);
    });
})();
