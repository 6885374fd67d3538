/* Step forms: warn at once, without blocking, where a typed figure exceeds its limit (the confirmed legal area
   of a building above its measured area). The limits come from the form's data-limits; the server warns too. */
(function () {
  "use strict";

  var form = document.querySelector("form[data-limits]");
  if (!form) { return; }
  var limits;
  try { limits = JSON.parse(form.getAttribute("data-limits")); } catch (e) { return; }
  var message = form.getAttribute("data-limit-message") || "";

  function check(input) {
    var parts = input.name.split(".");  // table.N.field
    var field = parts[parts.length - 1];
    var table = limits[field];
    if (!table || parts.length < 3) { return; }
    var key = form.querySelector("[name='" + parts.slice(0, -1).join(".") + ".building_id']");
    var limit = key ? table[key.value] : undefined;
    var cell = input.closest("td") || input.parentNode;
    var note = cell.querySelector("[data-live-warning]");
    var value = parseFloat(input.value);
    var over = limit !== undefined && !isNaN(value) && value > parseFloat(limit);
    cell.querySelectorAll("[data-testid=field-warning]").forEach(function (old) { old.remove(); });  // now stale
    cell.classList.toggle("has-warning", over);
    if (!over) { if (note) { note.remove(); } return; }
    if (!note) {
      note = document.createElement("div");
      note.className = "warning";
      note.setAttribute("role", "status");
      note.setAttribute("data-live-warning", "");
      cell.appendChild(note);
    }
    note.textContent = message.replace("{value}", value.toFixed(2)).replace("{limit}", limit);
  }

  Object.keys(limits).forEach(function (field) {
    form.querySelectorAll("input[name$='." + field + "']").forEach(function (input) {
      input.addEventListener("input", function () { check(input); });
    });
  });
})();
