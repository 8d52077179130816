(function () {
  "use strict";
  // The search box: findings, their evidence lines, the triage entries and the unexplained
  // errors are filtered by text (case-insensitive). Inside a finding that matches by its
  // evidence, only the matching evidence lines stay; a triage entry stays when it or one of
  // its findings matches. The query is kept in the URL hash (q=).
  var K = window.K8SB;
  var box = document.getElementById("search");
  var body = document.body;
  if (!box || !K) { return; }
  function has(el, q) { return (el.textContent || "").toLowerCase().indexOf(q) >= 0; }
  function apply() {
    var q = box.value.trim().toLowerCase();
    var matched = {};
    document.querySelectorAll(".finding.filterable").forEach(function (f) {
      var ok = !q || has(f, q);
      f.classList.toggle("hide-search", !ok);
      if (ok && f.id) { matched[f.id] = true; }
      // not f.querySelectorAll(".evidence tr"): Chromium resolves that from the document's
      // .evidence elements on every call (4.7 s for 8,400 findings); a finding's own rows are cheap
      var rows = Array.prototype.filter.call(f.getElementsByTagName("tr"), function (r) { return r.closest(".evidence") !== null; });
      var lineHits = 0;
      rows.forEach(function (r) { if (q && r.querySelector("td") && has(r, q)) { lineHits += 1; } });
      // filter the lines only when the match is in them (a title match keeps every line)
      var head = f.querySelector("h3");
      var byLines = q && lineHits > 0 && !(head && has(head, q));
      rows.forEach(function (r) {
        r.classList.toggle("hide-search", !!byLines && !!r.querySelector("td") && !has(r, q));
        if (byLines && has(r, q)) {
          for (var p = r.parentNode; p && p !== f; p = p.parentNode) { if (p.tagName === "DETAILS") { p.open = true; } }
        }
      });
    });
    document.querySelectorAll(".problem.filterable, .symptom.filterable").forEach(function (p) {
      var anchors = (p.getAttribute("data-anchors") || "").split(" ");
      var ok = !q || has(p, q) || anchors.some(function (a) { return matched[a]; });
      p.classList.toggle("hide-search", !ok);
    });
    document.querySelectorAll(".unexplained-row").forEach(function (r) {
      r.classList.toggle("hide-search", !!q && !has(r, q));
    });
    K.state.q = box.value;
    body.setAttribute("data-searched", box.value);   // the query now applied (tests wait on it)
    K.announce();
  }
  var timer = null;
  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { apply(); K.saveState(); }, 120);
  });
  var resets = K.resetters || (K.resetters = []);
  resets.push(function () { box.value = ""; apply(); });
  if (K.state.q) { box.value = K.state.q; apply(); }
})();
