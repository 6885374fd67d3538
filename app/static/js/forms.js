/* Step forms: rows of record tables (persons, buildings …) added and removed in the page.
   Without script the form still works: every table carries one blank row to fill in. */
(function () {
  "use strict";

  function tableOf(path) {
    return document.querySelector('table[data-records="' + path + '"]');
  }

  function renumber(table) {
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row, index) {
      var cell = row.querySelector(".rowno");
      if (cell) { cell.textContent = String(index + 1); }
    });
  }

  function nextIndex(table, path) {
    // names are path.N.field; a new row takes the next N even after rows were removed
    var highest = -1;
    var prefix = path + ".";
    table.querySelectorAll("[name^='" + prefix + "']").forEach(function (input) {
      var rest = input.name.slice(prefix.length);
      var number = parseInt(rest.split(".")[0], 10);
      if (!isNaN(number) && number > highest) { highest = number; }
    });
    return highest + 1;
  }

  function wireRemove(row) {
    var button = row.querySelector("[data-remove-row]");
    if (!button) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var table = row.closest("table");
      row.parentNode.removeChild(row);
      if (table) { renumber(table); }
    });
  }

  function addRow(path) {
    var table = tableOf(path);
    var template = document.querySelector('template[data-row-template="' + path + '"]');
    if (!table || !template) { return; }
    var max = parseInt(table.getAttribute("data-max") || "", 10);
    if (!isNaN(max) && table.tBodies[0].rows.length >= max) { return; }
    var index = String(nextIndex(table, path));
    var holder = document.createElement("tbody");
    holder.innerHTML = template.innerHTML.split("__i__").join(index);
    var row = holder.querySelector("tr");
    if (!row) { return; }
    table.tBodies[0].appendChild(row);
    wireRemove(row);
    renumber(table);
    var first = row.querySelector("input:not([type=hidden]), select, textarea");
    if (first) { first.focus(); }
  }

  document.querySelectorAll("[data-add-row]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { addRow(button.getAttribute("data-add-row")); });
  });
  document.querySelectorAll("table[data-records] tr[data-row]").forEach(wireRemove);
})();
