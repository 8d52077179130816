// The multi-bundle report: one page shown at a time. The hash names the view: page=N (0: the
// overview) among the page state report.js keeps (lang, each page's time=...), or the id of
// any element (a finding #p3-f-2), whose page is then shown and the element scrolled to.
// Runs after report.js (window.K8SB: the shared state) and defines no global of its own.
(function () {
  "use strict";
  var K = window.K8SB;
  var body = document.body;
  body.classList.add("js");
  var pages = Array.prototype.slice.call(document.querySelectorAll(".mpage"));

  function show(page) {
    if (!document.getElementById("page-" + page)) { page = "0"; }
    pages.forEach(function (p) { p.classList.toggle("current", p.getAttribute("data-page") === page); });
    document.querySelectorAll("[data-page-link]").forEach(function (a) {
      if (a.getAttribute("data-page-link") === page) { a.setAttribute("aria-current", "page"); } else { a.removeAttribute("aria-current"); }
    });
    if (K) {
      K.state.page = page === "0" ? "" : page;
      K.saveState();   // replaceState: no hashchange, the view stays
    }
  }
  function pageParam() {
    var m = /(?:^#|&)page=([0-9]+)(?:&|$)/.exec(location.hash);
    return m ? m[1] : null;
  }
  function route() {
    var page = pageParam();
    if (page !== null) {
      show(page);
      window.scrollTo(0, 0);
      return;
    }
    var id = location.hash.replace(/^#/, "");
    try { id = decodeURIComponent(id); } catch (e) { /* a bad escape: used as it is */ }
    var el = id && id.indexOf("=") < 0 ? document.getElementById(id) : null;
    var holder = el ? el.closest(".mpage") : null;
    if (holder) {
      show(holder.getAttribute("data-page"));
      for (var p = el; p && p !== body; p = p.parentNode) {
        if (p.tagName === "DETAILS") { p.open = true; }   // a symptom folded under its root cause
      }
      el.scrollIntoView({ block: "start" });
      return;
    }
    show("0");   // no page named (#lang=zh, or nothing): the overview
  }
  var only = document.getElementById("drift-only");
  if (only) {
    only.addEventListener("change", function () { body.classList.toggle("drift-only", only.checked); });
  }
  window.addEventListener("hashchange", route);
  route();
})();
