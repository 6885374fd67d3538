// Forms that change something for good ask first: a form with data-confirm is sent only when the question is
// answered yes (without script it is sent at once, as the server's own checks still apply).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) { event.preventDefault(); }
  });
})();
