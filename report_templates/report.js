(function () {
  "use strict";
  var body = document.body;
  function readHash() {
    var out = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
      var i = kv.indexOf("=");
      if (i > 0) { out[decodeURIComponent(kv.slice(0, i))] = decodeURIComponent(kv.slice(i + 1)); }
    });
    return out;
  }
  function writeHash(state) {
    var parts = [];
    Object.keys(state).forEach(function (k) {
      if (state[k]) { parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(state[k])); }
    });
    history.replaceState(null, "", "#" + parts.join("&"));
  }
  var state = readHash();
  function setLang(lang) {
    if (lang !== "en" && lang !== "zh") { return; }
    body.setAttribute("data-lang", lang);
    document.documentElement.setAttribute("lang", lang === "zh" ? "zh-CN" : "en");
    document.querySelectorAll("[data-set-lang]").forEach(function (b) {
      b.setAttribute("aria-pressed", b.getAttribute("data-set-lang") === lang ? "true" : "false");
    });
    state.lang = lang;
  }
  function applyFilter() {
    var sev = document.getElementById("filter-severity").value;
    var node = document.getElementById("filter-node").value;
    var shown = 0;
    document.querySelectorAll(".finding, .finding-row").forEach(function (f) {
      var nodes = (f.getAttribute("data-nodes") || "").split("\n");
      var ok = (!sev || f.getAttribute("data-severity") === sev) && (!node || nodes.indexOf(node) >= 0);
      f.classList.toggle("hidden", !ok);
      if (ok && f.classList.contains("finding")) { shown += 1; }
    });
    document.querySelectorAll(".unexplained-row").forEach(function (r) {
      var nodes = (r.getAttribute("data-nodes") || "").split("\n");
      r.classList.toggle("hidden", !!node && nodes.indexOf(node) < 0);
    });
    document.getElementById("no-match").classList.toggle("hidden", shown > 0);
    state.severity = sev;
    state.node = node;
  }
  document.querySelectorAll("[data-set-lang]").forEach(function (b) {
    b.addEventListener("click", function () { setLang(b.getAttribute("data-set-lang")); writeHash(state); });
  });
  ["filter-severity", "filter-node"].forEach(function (id) {
    document.getElementById(id).addEventListener("change", function () { applyFilter(); writeHash(state); });
  });
  setLang(state.lang || body.getAttribute("data-lang"));
  if (state.severity) { document.getElementById("filter-severity").value = state.severity; }
  if (state.node) {
    var sel = document.getElementById("filter-node");
    for (var i = 0; i < sel.options.length; i++) {
      if (sel.options[i].value === state.node) { sel.value = state.node; }
    }
  }
  applyFilter();
  window.addEventListener("hashchange", function () {
    var s = readHash();
    if (s.lang) { setLang(s.lang); }
  });
})();
