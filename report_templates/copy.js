(function () {
  "use strict";
  // A copy button on every code block (fix commands): the block's text exactly as shown.
  function fallback(text) {
    // file:// pages may lack navigator.clipboard: copy through a selected textarea
    var ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.style.position = "fixed";
    ta.style.opacity = "0";
    document.body.appendChild(ta);
    ta.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(ta);
    return ok;
  }
  function done(btn, ok) {
    btn.classList.toggle("copied", ok);
    btn.classList.toggle("copy-failed", !ok);
    setTimeout(function () { btn.classList.remove("copied", "copy-failed"); }, 1500);
  }
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest ? ev.target.closest("button.copy") : null;
    if (!btn) { return; }
    var pre = btn.parentNode.querySelector("pre");
    if (!pre) { return; }
    var text = pre.textContent;
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () { done(btn, true); },
                                               function () { done(btn, fallback(text)); });
    } else {
      done(btn, fallback(text));
    }
  });
})();
