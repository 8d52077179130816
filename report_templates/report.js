(function () {
  "use strict";
  // The page's shared state: the language and every filter live in the URL hash
  // (#lang=zh&severity=critical&node=n1&...), so a link reproduces the view. Other scripts of
  // the page (timeline.js, triage.js, ...) read and write it through window.K8SB.
  var body = document.body;
  function readHash() {
    var out = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
      var i = kv.indexOf("=");
      if (i > 0) {
        try { out[decodeURIComponent(kv.slice(0, i))] = decodeURIComponent(kv.slice(i + 1)); } catch (e) { /* a bad escape: ignored */ }
      }
    });
    return out;
  }
  var state = readHash();
  function saveState() {
    var parts = [];
    Object.keys(state).forEach(function (k) {
      if (state[k]) { parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(state[k])); }
    });
    history.replaceState(null, "", "#" + parts.join("&"));
  }
  // Filters compose: each toggles its own class (hide-sev, hide-node, hide-time, hide-search)
  // on `.filterable` elements and then announces it, so counters can update.
  function announce() { document.dispatchEvent(new Event("k8sb:filtered")); }
  function nodesOf(el) { return (el.getAttribute("data-nodes") || "").split("\n"); }
  // A node name may itself hold a newline (a directory name is bundle text): every part of
  // it must be among the element's names, or filtering by that node hid its own findings.
  function hasNode(el, node) {
    var names = nodesOf(el);
    return node.split("\n").every(function (part) { return names.indexOf(part) >= 0; });
  }
  // resetters: one function per filter that clears it (search.js, timeline.js push theirs);
  // resetFilters runs them all, e.g. when a link points at a hidden finding.
  var resetters = [];
  function resetFilters() {
    if (sevSelect) { sevSelect.value = ""; }
    if (nodeSelect) { nodeSelect.value = ""; }
    applyFilter();
    resetters.forEach(function (r) { r(); });
    saveState();
  }
  window.K8SB = { state: state, saveState: saveState, announce: announce, nodesOf: nodesOf,
                  resetters: resetters, resetFilters: resetFilters };

  function setLang(lang) {
    if (lang !== "en" && lang !== "zh") { return; }
    body.setAttribute("data-lang", lang);
    document.documentElement.setAttribute("lang", lang === "zh" ? "zh-CN" : "en");
    document.querySelectorAll("[data-set-lang]").forEach(function (b) {
      b.setAttribute("aria-pressed", b.getAttribute("data-set-lang") === lang ? "true" : "false");
    });
    state.lang = lang;
  }
  var sevSelect = document.getElementById("filter-severity");
  var nodeSelect = document.getElementById("filter-node");
  function applyFilter() {
    var sev = sevSelect ? sevSelect.value : "";
    var node = nodeSelect ? nodeSelect.value : "";
    document.querySelectorAll(".filterable").forEach(function (el) {
      var s = el.getAttribute("data-severity");
      el.classList.toggle("hide-sev", !!sev && !!s && s !== sev);
      el.classList.toggle("hide-node", !!node && !hasNode(el, node));
    });
    state.severity = sev;
    state.node = node;
    announce();
  }
  function updateNoMatch() {
    var noMatch = document.querySelector(".no-match");
    if (!noMatch) { return; }
    var all = document.querySelectorAll(".finding.filterable");
    var shown = 0;
    all.forEach(function (f) { if (!/(^|\s)hide-/.test(f.className)) { shown += 1; } });
    noMatch.classList.toggle("hidden", all.length === 0 || shown > 0);
  }
  document.addEventListener("k8sb:filtered", updateNoMatch);
  document.querySelectorAll("[data-set-lang]").forEach(function (b) {
    b.addEventListener("click", function () { setLang(b.getAttribute("data-set-lang")); saveState(); });
  });
  [sevSelect, nodeSelect].forEach(function (sel) {
    if (sel) { sel.addEventListener("change", function () { applyFilter(); saveState(); }); }
  });
  setLang(state.lang || body.getAttribute("data-lang"));
  if (state.severity && sevSelect) { sevSelect.value = state.severity; }
  if (state.node && nodeSelect) {
    for (var i = 0; i < nodeSelect.options.length; i++) {
      if (nodeSelect.options[i].value === state.node) { nodeSelect.value = state.node; }
    }
  }
  applyFilter();
  window.addEventListener("hashchange", function () {
    var s = readHash();
    if (s.lang) { setLang(s.lang); }
  });
})();
