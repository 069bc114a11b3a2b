/* The round's page follows the coverage stream (server-sent events) without
   being reloaded. The stream's address is the [data-stream] of #totals. */
(function () {
  var totals = document.getElementById("totals");
  if (!window.EventSource || !totals || !totals.dataset.stream) return;
  var es = new EventSource(totals.dataset.stream);
  es.addEventListener("coverage", function (e) {
    var c = JSON.parse(e.data);
    // Counts keep their thousands separators (as the page's |num filter writes them).
    var num = function (v) { return typeof v === "number" ? String(v).replace(/\B(?=(\d{3})+(?!\d))/g, ",") : v; };
    var set = function (root, k, v) { var el = root.querySelector('[data-k="' + k + '"]'); if (el) el.textContent = num(v); };
    set(totals, "expected", c.expected); set(totals, "sampled", c.sampled); set(totals, "missed", c.missed);
    (c.compounds || []).forEach(function (x) {
      var row = document.querySelector('#compounds tr[data-c="' + x.compound + '"]');
      if (row) { set(row, "expected", x.expected); set(row, "sampled", x.sampled); set(row, "missed", x.expected - x.sampled); }
    });
    c.buildings.forEach(function (b) {
      var row = document.querySelector('#coverage tr[data-b="' + b.building + '"]');
      if (row) { set(row, "expected", b.expected); set(row, "sampled", b.sampled); set(row, "missed", b.expected - b.sampled); }
    });
  });
})();
