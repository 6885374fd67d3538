// The household's files: preview in a dialog, confirm before removing, upload in place from a file picker.
(function () {
  "use strict";
  if (window.filesReady) { return; }
  window.filesReady = true;

  function csrfToken() {
    var input = document.querySelector('input[name="csrf_token"]');
    return input ? input.value : "";
  }

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-preview]");
    if (opener) {
      var dialog = opener.closest("[data-testid=files]").querySelector("dialog.preview");
      var body = dialog.querySelector(".previewbody");
      body.textContent = "";
      var view = document.createElement(opener.dataset.kind === "pdf" ? "iframe" : "img");
      view.src = opener.dataset.preview;
      if (opener.dataset.kind === "pdf") { view.title = opener.dataset.title; } else { view.alt = opener.dataset.title; }
      body.appendChild(view);
      dialog.querySelector(".previewtitle").textContent = opener.dataset.title;
      dialog.showModal();
      return;
    }
    var closer = event.target.closest("dialog.preview [data-close]");
    if (closer) { closer.closest("dialog").close(); }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) { event.preventDefault(); }
  });

  // On a step page, the files card's forms are sent in the background and the card redrawn, so that what
  // was typed into the step form (not saved yet) stays; the file pickers get the new list of files.
  // An empty picker whose category was just uploaded gets the new file chosen.
  function redraw(html, category) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    var card = document.querySelector("[data-testid=files]");
    var next = fresh.querySelector("[data-testid=files]");
    if (!card || !next) { return; }
    var messages = Array.prototype.map.call(fresh.querySelectorAll(".flash:not([data-testid])"),
                                            function (flash) { return flash.textContent.trim(); });
    card.replaceWith(next);
    var status = next.querySelector("[data-testid=files-status]");
    status.textContent = messages.join(" ");
    status.hidden = !messages.length;
    document.querySelectorAll("select[data-file-picker]").forEach(function (select) {
      var source = fresh.getElementById(select.id);
      if (!source) { return; }
      var chosen = select.value;
      var known = Array.prototype.map.call(select.options, function (option) { return option.value; });
      select.innerHTML = source.innerHTML;
      if (!chosen && category && select.dataset.filePicker === category) {
        var added = Array.prototype.filter.call(select.options, function (option) {
          return known.indexOf(option.value) < 0;
        });
        if (added.length) { chosen = added[added.length - 1].value; }
      }
      select.value = chosen;
      if (select.value !== chosen) { select.value = ""; }
    });
    // the archive's checklist ticks an item that a file now documents
    document.querySelectorAll("form.stepform input[type=checkbox][name^='checklist.']").forEach(function (box) {
      var source = fresh.getElementById(box.id);
      if (source && source.checked) { box.checked = true; }
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || !form.closest("[data-testid=files]") || !document.querySelector("form.stepform")) {
      return;
    }
    event.preventDefault();
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (button) { button.disabled = true; });
    fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin"})
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var category = form.querySelector("[name=category]");
        redraw(html, category ? category.value : "");
      })
      .catch(function () { form.submit(); });
  });

  // the names of the files chosen for upload, beside the button that chose them
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches("input[type=file][data-chosen]")) { return; }
    var names = Array.prototype.map.call(input.files, function (file) { return file.name; });
    document.getElementById(input.dataset.chosen).textContent = names.length ? names.join("、") : input.dataset.none;
  });

  // a file picker's "upload a new file": the file goes to this household's step module, then is chosen
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches("input[type=file][data-pick-upload]")) { return; }
    var select = document.getElementById(input.dataset.pickUpload);
    var status = input.closest(".filepick").querySelector(".pickstatus");
    if (!input.files.length || !select) { return; }
    var data = new FormData();
    data.append("files", input.files[0]);
    data.append("module", input.dataset.module);
    data.append("category", input.dataset.category);
    data.append("csrf_token", csrfToken());
    status.textContent = input.dataset.busy;
    fetch(input.dataset.url, {method: "POST", body: data, credentials: "same-origin",
                              headers: {"Accept": "application/json", "X-CSRFToken": csrfToken()}})
      .then(function (response) { return response.json(); })
      .then(function (body) {
        if (body.items && body.items.length) {
          var item = body.items[0];
          var option = new Option(item.label, String(item.id), true, true);
          select.appendChild(option);
          select.value = String(item.id);
          status.textContent = input.dataset.done;
        } else {
          status.textContent = (body.errors || []).join(" ");
        }
      })
      .catch(function () { status.textContent = input.dataset.failed; })
      .finally(function () { input.value = ""; });
  });
}());
