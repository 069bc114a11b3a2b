/* Behaviour every page shares, kept out of the markup so that the
   Content-Security-Policy can refuse inline script:
   - [data-print] prints the page;
   - a select with [data-autosubmit] sends its form when the choice changes;
   - a form shown again after a validation error brings its error summary
     into view and gives it the focus, so the person sees what to correct. */
(function () {
  document.addEventListener("click", function (e) {
    var el = e.target.closest ? e.target.closest("[data-print]") : null;
    if (!el) return;
    e.preventDefault();
    window.print();
  });
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (el.matches && el.matches("select[data-autosubmit]") && el.form) el.form.submit();
  });
  var summary = document.querySelector(".error-summary");
  if (summary) {
    summary.scrollIntoView({ block: "start" });
    summary.focus({ preventScroll: true });
  }
})();
