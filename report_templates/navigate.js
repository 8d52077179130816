(function () {
  "use strict";
  // In-page navigation: a clicked link lands its target fully visible below the sticky
  // header (scroll-margin-top follows the header's real height), opens the folded parts
  // around it, and clears the filters that hide it. Every h2 section folds.
  var header = document.querySelector("header");
  function setHeaderHeight() {
    var h = header ? header.getBoundingClientRect().height : 0;
    document.documentElement.style.setProperty("--header-h", Math.ceil(h) + "px");
  }
  setHeaderHeight();
  window.addEventListener("resize", setHeaderHeight);

  // Fold each h2 section: the siblings up to the next h2 move into one body element.
  document.querySelectorAll("main h2[id]").forEach(function (h2) {
    var body = document.createElement("div");
    body.className = "section-body";
    var next = h2.nextSibling;
    // ...and not into a sibling that holds its own h2 (the timeline's <section>): folding
    // "What to fix first" hid the timeline below it
    while (next && !(next.nodeType === 1 && (next.tagName === "H2" || next.querySelector("h2")))) {
      var move = next;
      next = next.nextSibling;
      body.appendChild(move);
    }
    h2.parentNode.insertBefore(body, next);
    var btn = document.createElement("button");
    btn.type = "button";
    btn.className = "fold";
    btn.setAttribute("aria-expanded", "true");
    btn.setAttribute("aria-label", "fold / 折叠");
    btn.textContent = "\u25BE";
    btn.addEventListener("click", function () {
      var open = btn.getAttribute("aria-expanded") !== "true";
      btn.setAttribute("aria-expanded", open ? "true" : "false");
      btn.textContent = open ? "\u25BE" : "\u25B8";
      body.classList.toggle("folded", !open);
    });
    h2.insertBefore(btn, h2.firstChild);
  });

  function reveal(el) {
    // open every folded section and <details> around the target
    for (var p = el; p && p !== document.body; p = p.parentNode) {
      if (p.tagName === "DETAILS") { p.open = true; }
      if (p.classList && p.classList.contains("folded")) {
        p.classList.remove("folded");
        var btn = p.previousSibling && p.previousSibling.querySelector && p.previousSibling.querySelector("button.fold");
        if (btn) { btn.setAttribute("aria-expanded", "true"); btn.textContent = "\u25BE"; }
      }
    }
    if (/(^|\s)hide-/.test(el.className) && window.K8SB && window.K8SB.resetFilters) {
      window.K8SB.resetFilters();
    }
  }
  function go(id) {
    var el = document.getElementById(id);
    if (!el) { return false; }
    reveal(el);
    setHeaderHeight();
    el.scrollIntoView({ block: "start" });
    el.classList.remove("flash");
    void el.offsetWidth;   // restart the highlight animation
    el.classList.add("flash");
    return true;
  }
  // Links to an element id (#f-3), as opposed to the state hash (#lang=zh&node=n1): the
  // state hash is kept, the page scrolls.
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest ? ev.target.closest("a[href^='#']") : null;
    if (!a) { return; }
    var id = decodeURIComponent(a.getAttribute("href").slice(1));
    if (!id || id.indexOf("=") >= 0) { return; }
    if (go(id)) { ev.preventDefault(); }
  });
  window.K8SB = window.K8SB || {};
  window.K8SB.go = go;
})();
