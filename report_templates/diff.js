(function () {
  "use strict";
  // The diff page's only behaviour: the language switch (English / 中文), kept in the URL hash
  // (#lang=zh) so a link opens the same view. No globals; nothing from the bundle is read here.
  var body = document.body;
  var buttons = document.querySelectorAll("[data-set-lang]");
  function setLang(lang) {
    if (lang !== "en" && lang !== "zh") { return; }
    body.setAttribute("data-lang", lang);
    document.documentElement.setAttribute("lang", lang === "zh" ? "zh-CN" : "en");
    Array.prototype.forEach.call(buttons, function (b) {
      b.setAttribute("aria-pressed", b.getAttribute("data-set-lang") === lang ? "true" : "false");
    });
  }
  Array.prototype.forEach.call(buttons, function (b) {
    b.addEventListener("click", function () {
      var lang = b.getAttribute("data-set-lang");
      setLang(lang);
      history.replaceState(null, "", "#lang=" + lang);
    });
  });
  var m = /(?:^#|&)lang=(en|zh)(?:&|$)/.exec(location.hash);
  if (m) { setLang(m[1]); }
}());
