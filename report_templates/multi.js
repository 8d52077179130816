// The multi-bundle report: one page shown at a time. The hash names the view: #page=N (0: the
// overview) or the id of any element (a finding #p3-f-2), whose page is then shown and the
// element scrolled to; `lang=zh` in the hash keeps the language. No globals.
(function () {
  "use strict";
  var body = document.body;
  body.classList.add("js");
  var pages = Array.prototype.slice.call(document.querySelectorAll(".mpage"));
  var current = "0";

  function params() {
    var out = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
      var i = kv.indexOf("=");
      if (i > 0) {
        try { out[decodeURIComponent(kv.slice(0, i))] = decodeURIComponent(kv.slice(i + 1)); } catch (e) { /* a bad escape: ignored */ }
      }
    });
    return out;
  }
  function show(page) {
    if (!document.getElementById("page-" + page)) { page = "0"; }
    current = page;
    pages.forEach(function (p) { p.classList.toggle("current", p.getAttribute("data-page") === page); });
    document.querySelectorAll("[data-page-link]").forEach(function (a) {
      if (a.getAttribute("data-page-link") === page) { a.setAttribute("aria-current", "page"); } else { a.removeAttribute("aria-current"); }
    });
  }
  function setLang(lang) {
    if (lang !== "en" && lang !== "zh") { return; }
    body.setAttribute("data-lang", lang);
    document.documentElement.setAttribute("lang", lang === "zh" ? "zh-CN" : "en");
    document.querySelectorAll("[data-set-lang]").forEach(function (b) {
      b.setAttribute("aria-pressed", b.getAttribute("data-set-lang") === lang ? "true" : "false");
    });
  }
  function route() {
    var raw = location.hash.replace(/^#/, "");
    var p = params();
    if (p.lang) { setLang(p.lang); }
    if (p.page !== undefined && /^[0-9]+$/.test(p.page)) {
      show(p.page);
      window.scrollTo(0, 0);
      return;
    }
    var id = "";
    try { id = decodeURIComponent(raw); } catch (e) { id = raw; }
    var el = id ? document.getElementById(id) : null;
    var holder = el ? el.closest(".mpage") : null;
    if (holder) {
      show(holder.getAttribute("data-page"));
      el.scrollIntoView({ block: "start" });
      return;
    }
    show(current);
  }
  document.querySelectorAll("[data-set-lang]").forEach(function (b) {
    b.addEventListener("click", function () {
      var lang = b.getAttribute("data-set-lang");
      setLang(lang);
      // replaceState: no hashchange, so the view stays where it is
      history.replaceState(null, "", "#page=" + current + "&lang=" + lang);
    });
  });
  var only = document.getElementById("drift-only");
  if (only) {
    only.addEventListener("change", function () { body.classList.toggle("drift-only", only.checked); });
  }
  window.addEventListener("hashchange", route);
  route();
})();
