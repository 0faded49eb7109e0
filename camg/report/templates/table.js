(function () {
  "use strict";
  var table = document.getElementById("participants");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var text = document.getElementById("filter-text");
  var risk = document.getElementById("filter-risk");
  var flag = document.getElementById("filter-flag");
  var count = document.getElementById("row-count");

  function key(row, index, numeric) {
    var cell = row.cells[index];
    var value = cell.getAttribute("data-sort");
    if (value === null) { value = cell.textContent; }
    if (numeric) { return value === "" ? -Infinity : parseFloat(value); }
    return value.toLowerCase();
  }

  function sortBy(th) {
    var index = th.cellIndex;
    var numeric = th.getAttribute("data-type") === "number";
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var keyed = rows.map(function (row, i) { return [key(row, index, numeric), i, row]; });
    keyed.sort(function (a, b) {
      if (a[0] < b[0]) { return ascending ? -1 : 1; }
      if (a[0] > b[0]) { return ascending ? 1 : -1; }
      return a[1] - b[1];
    });
    rows = keyed.map(function (k) { return k[2]; });
    var fragment = document.createDocumentFragment();
    rows.forEach(function (row) { fragment.appendChild(row); });
    body.appendChild(fragment);
  }

  function filter() {
    var needle = text.value.trim().toLowerCase();
    var level = risk.value;
    var wanted = flag.value;
    var shown = 0;
    rows.forEach(function (row) {
      var keep = (!needle || row.getAttribute("data-search").indexOf(needle) !== -1) &&
        (!level || row.getAttribute("data-risk") === level) &&
        (!wanted || row.getAttribute("data-flags").split("|").indexOf(wanted) !== -1);
      row.hidden = !keep;
      if (keep) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " participants shown";
  }

  headers.forEach(function (th) {
    var button = th.querySelector("button");
    if (button) { button.addEventListener("click", function () { sortBy(th); }); }
  });
  text.addEventListener("input", filter);
  risk.addEventListener("change", filter);
  flag.addEventListener("change", filter);
  filter();
}());
