/* Sampling rounds' pages.
   - The new-round form: the "all", "none" and per-compound buttons tick
     buildings here, without sending the form (without script they send it,
     and the server answers with the same form, ticks changed, input kept);
     the count of ticked buildings follows; a refused form brings its error
     summary into view.
   - The round's page follows the coverage stream (server-sent events)
     without being reloaded. The stream's address is the [data-stream] of
     #totals. */
(function () {
  var fmt = function (n) { return Number(n).toLocaleString("en-US"); };
  var pct = function (done, of) { return (of > 0 ? Math.floor((done * 100) / of) : 0) + "%"; };

  var scope = document.querySelector("[data-scope]");
  if (scope) {
    var boxes = function (compound) {
      var root = compound ? scope.querySelector('[data-compound="' + compound + '"].compound') : scope;
      return root ? root.querySelectorAll('input[type="checkbox"][name="building"]') : [];
    };
    var count = function () {
      var out = scope.querySelector("[data-selected]");
      if (!out) return;
      var n = scope.querySelectorAll('input[type="checkbox"][name="building"]:checked').length;
      out.textContent = out.dataset.pattern.replace("{n}", fmt(n));
    };
    scope.addEventListener("click", function (e) {
      var b = e.target.closest ? e.target.closest("button[data-select]") : null;
      if (!b) return;
      e.preventDefault();
      var how = b.dataset.select;
      var on = how === "all" || how === "compound";
      var list = boxes(how === "compound" || how === "uncompound" ? b.dataset.compound : null);
      for (var i = 0; i < list.length; i++) list[i].checked = on;
      count();
    });
    scope.addEventListener("change", count);
  }
  var summary = document.getElementById("error-summary");
  if (summary) { summary.scrollIntoView(); summary.focus(); }

  var totals = document.getElementById("totals");
  if (!window.EventSource || !totals || !totals.dataset.stream) return;
  var es = new EventSource(totals.dataset.stream);
  es.addEventListener("coverage", function (e) {
    var c = JSON.parse(e.data);
    var set = function (root, k, v) { var el = root.querySelector('[data-k="' + k + '"]'); if (el) el.textContent = v; };
    var row = function (root, x) {
      set(root, "expected", fmt(x.expected)); set(root, "sampled", fmt(x.sampled));
      set(root, "missed", fmt(x.expected - x.sampled)); set(root, "done", pct(x.sampled, x.expected));
    };
    row(totals, c);
    (c.compounds || []).forEach(function (x) {
      var r = document.querySelector('#compounds tr[data-c="' + x.compound + '"]');
      if (r) row(r, x);
    });
    c.buildings.forEach(function (b) {
      var r = document.querySelector('#coverage tr[data-b="' + b.building + '"]');
      if (r) row(r, b);
    });
  });
})();
