(function () {
  "use strict";
  // The dietitian table: rows come from the JSON island, one page is drawn at a time; sorting and
  // filtering work on arrays of row numbers, never on the DOM. Text reaches the page as textContent.
  var source = document.getElementById("participants-data");
  var table = document.getElementById("participants");
  if (!source || !table) { return; }
  var data = JSON.parse(source.textContent);
  var col = data.columns, codes = data.codes, n = data.n;
  var body = table.tBodies[0];
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var text = document.getElementById("filter-text");
  var risk = document.getElementById("filter-risk");
  var flag = document.getElementById("filter-flag");
  var count = document.getElementById("row-count");
  var pageSize = document.getElementById("page-size");
  var pageInfo = document.getElementById("page-info");
  var prev = document.getElementById("page-prev");
  var next = document.getElementById("page-next");
  var download = document.getElementById("download-csv");
  var order = new Uint32Array(n), keep = new Uint32Array(n), shown = order, page = 0, searchText = null;
  for (var i = 0; i < n; i += 1) { order[i] = i; }

  function thousands(v) { return Math.round(v).toLocaleString("en-US"); }
  function mg(v) { return v === null ? "\u2013" : thousands(v); }
  function ratio(v) { return v === null ? "\u2013" : v.toFixed(2); }
  function age(m) { return m === null ? "\u2013" : (m < 24 ? m + " months" : Math.floor(m / 12) + " years"); }
  function flagList(mask) {
    var out = [];
    for (var b = 0; b < codes.flags.length; b += 1) { if (mask & (1 << b)) { out.push(codes.flags[b]); } }
    return out;
  }
  // Column key -> [cell text, sort value] for row r.
  var cells = {
    id: function (r) { return col.id[r]; },
    sex: function (r) { return codes.sex[col.sex[r]]; },
    age: function (r) { return age(col.age[r]); },
    group: function (r) { return codes.group[col.group[r]]; },
    days: function (r) { return String(col.days[r]); },
    ca: function (r) { return mg(col.ca[r]); },
    cas: function (r) { return mg(col.cas[r]); },
    mg: function (r) { return mg(col.mg[r]); },
    ratio: function (r) { return ratio(col.ratio[r]); },
    band: function (r) { return codes.band[col.band[r]]; },
    flags: function (r) { return flagList(col.flags[r]).join(", ") || "none"; },
    risk: function (r) { return codes.risk[col.risk[r]]; }
  };
  var numeric = { age: 1, days: 1, ca: 1, cas: 1, mg: 1, ratio: 1, risk: 1 };
  var coded = { sex: 1, group: 1, band: 1 };

  var keyCache = {};
  // Sort keys of a column, made once: numbers as they are (missing first), coded text by the rank of
  // its text, ids by row number (the island's rows arrive sorted by id).
  function sortKeys(key) {
    if (keyCache[key]) { return keyCache[key]; }
    var values = col[key], keys = new Float64Array(n), r;
    if (key === "id") {
      for (r = 0; r < n; r += 1) { keys[r] = r; }
    } else if (numeric[key]) {
      for (r = 0; r < n; r += 1) { keys[r] = values[r] === null ? -Infinity : values[r]; }
    } else if (coded[key]) {
      var names = codes[key], rank = names.map(function (_, k) { return k; });
      rank.sort(function (a, b) { return names[a].toLowerCase() < names[b].toLowerCase() ? -1 : 1; });
      var place = new Float64Array(names.length);
      rank.forEach(function (k, p) { place[k] = p; });
      for (r = 0; r < n; r += 1) { keys[r] = place[values[r]]; }
    } else {
      var text = new Array(n), byText = new Uint32Array(n);
      for (r = 0; r < n; r += 1) { text[r] = cells[key](r).toLowerCase(); byText[r] = r; }
      byText.sort(function (a, b) { return text[a] < text[b] ? -1 : (text[a] > text[b] ? 1 : a - b); });
      for (r = 0; r < n; r += 1) { keys[byText[r]] = r; }
    }
    keyCache[key] = keys;
    return keys;
  }

  function sortBy(th) {
    var key = th.getAttribute("data-key");
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var keys = sortKeys(key), sign = ascending ? 1 : -1;
    order.sort(function (a, b) { return sign * (keys[a] - keys[b]) || a - b; });
    filter();
  }

  function searchable(r) {
    return (col.id[r] + " " + codes.group[col.group[r]] + " " + flagList(col.flags[r]).join(" ")).toLowerCase();
  }

  function filter() {
    var needle = text.value.trim().toLowerCase();
    var level = risk.value === "" ? -1 : codes.risk.indexOf(risk.value);
    var bit = flag.value === "" ? 0 : 1 << codes.flags.indexOf(flag.value);
    if (needle && searchText === null) { searchText = new Array(n); for (var s = 0; s < n; s += 1) { searchText[s] = searchable(s); } }
    if (!needle && level < 0 && !bit) { shown = order; } else {
      var k = 0;
      for (var i = 0; i < n; i += 1) {
        var r = order[i];
        if ((level < 0 || col.risk[r] === level) && (!bit || (col.flags[r] & bit)) &&
            (!needle || searchText[r].indexOf(needle) !== -1)) { keep[k] = r; k += 1; }
      }
      shown = keep.subarray(0, k);
    }
    count.textContent = shown.length === n ? n.toLocaleString("en-US") + " participants" :
      shown.length.toLocaleString("en-US") + " of " + n.toLocaleString("en-US") + " participants shown";
    page = 0;
    draw();
  }

  function row(r) {
    var tr = document.createElement("tr");
    var th = document.createElement("th");
    th.scope = "row";
    var a = document.createElement("a");
    a.href = "p/" + col.href[r] + ".html";
    a.textContent = col.id[r];
    th.appendChild(a);
    tr.appendChild(th);
    for (var h = 1; h < headers.length; h += 1) {
      var key = headers[h].getAttribute("data-key"), td = document.createElement("td");
      td.textContent = cells[key](r);
      if (numeric[key] && key !== "age" && key !== "risk") { td.className = "num"; }
      if (key === "risk") { td.className = "risk-" + codes.risk[col.risk[r]]; }
      tr.appendChild(td);
    }
    return tr;
  }

  function draw() {
    var size = parseInt(pageSize.value, 10), pages = Math.max(1, Math.ceil(shown.length / size));
    page = Math.min(Math.max(page, 0), pages - 1);
    var start = page * size, end = Math.min(start + size, shown.length);
    var fragment = document.createDocumentFragment();
    for (var i = start; i < end; i += 1) { fragment.appendChild(row(shown[i])); }
    body.replaceChildren(fragment);
    pageInfo.textContent = shown.length ? "Rows " + (start + 1).toLocaleString("en-US") + "\u2013" +
      end.toLocaleString("en-US") + " of " + shown.length.toLocaleString("en-US") +
      " (page " + (page + 1) + " of " + pages + ")" : "No participant matches.";
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  }

  function csvCell(value) {
    var s = value === null ? "" : String(value);
    if (/^[=+\-@\t\r]/.test(s) && typeof value === "string") { s = "'" + s; }
    return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }

  function csv() {
    var head = ["person_id", "sex", "age_months", "dri_age_group", "n_days", "calcium_mg",
      "calcium_supplement_mg", "magnesium_mg", "calcium_to_magnesium_mass_ratio", "ratio_band",
      "flags", "risk_level"];
    var lines = [head.join(",")];
    for (var i = 0; i < shown.length; i += 1) {
      var r = shown[i];
      lines.push([col.id[r], codes.sex[col.sex[r]], col.age[r], codes.group[col.group[r]], col.days[r],
        col.ca[r], col.cas[r], col.mg[r], col.ratio[r], codes.band[col.band[r]],
        flagList(col.flags[r]).join("; "), codes.risk[col.risk[r]]].map(csvCell).join(","));
    }
    return lines.join("\r\n") + "\r\n";
  }

  function save() {
    var url = URL.createObjectURL(new Blob([csv()], { type: "text/csv;charset=utf-8" }));
    var a = document.createElement("a");
    a.href = url;
    a.download = data.file_stem + "-participants.csv";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
  }

  headers.forEach(function (th) {
    var button = th.querySelector("button");
    if (button) { button.addEventListener("click", function () { sortBy(th); }); }
  });
  text.addEventListener("input", filter);
  risk.addEventListener("change", filter);
  flag.addEventListener("change", filter);
  pageSize.addEventListener("change", draw);
  prev.addEventListener("click", function () { page -= 1; draw(); });
  next.addEventListener("click", function () { page += 1; draw(); });
  download.addEventListener("click", save);
  filter();
  if (window.performance && performance.mark) { performance.mark("camg-table-ready"); }
}());
