(function () {
  "use strict";
  // The timeline's time-range selection (timeline.html.j2). Dragging across the chart, or the
  // two datetime-local inputs (UTC; the keyboard way), select a range; every `.filterable`
  // element of the same page (the document, or its `.mpage` section in the multi-bundle report)
  // whose [data-first, data-last] does not overlap it gets `hide-time`. Elements without a time
  // stay, with `time-unknown` (dimmed, as the note under the chart says). The range lives in the
  // URL hash under the section's data-hash-key ("time", value "FROM/TO", RFC 3339 UTC), through
  // window.K8SB (report.js). No global of its own.
  var K = window.K8SB;
  if (!K) { return; }

  function isoOf(ms) { return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z"); }
  function inputOf(ms) { return new Date(ms).toISOString().slice(0, 16); }   // yyyy-mm-ddThh:mm, UTC
  function parseIso(text) {
    if (!text) { return NaN; }
    var t = Date.parse(text);
    return isNaN(t) ? NaN : t;
  }

  function setUp(section) {
    var svg = section.querySelector("svg.tl-chart");
    if (!svg) { return; }
    var key = section.getAttribute("data-hash-key") || "time";
    var t0 = Number(section.getAttribute("data-start-ms"));
    var t1 = Number(section.getAttribute("data-end-ms"));
    var step = Number(section.getAttribute("data-bucket-ms")) || 60000;
    var px = Number(section.getAttribute("data-plot-x"));
    var pw = Number(section.getAttribute("data-plot-w"));
    var sel = svg.querySelector(".tl-sel");
    var from = section.querySelector(".tl-from");
    var to = section.querySelector(".tl-to");
    var clear = section.querySelector(".tl-clear");
    var count = section.querySelector(".tl-count");
    var countLabel = section.querySelector(".tl-count-label");
    var note = section.querySelector(".tl-note");
    var hover = section.querySelector(".tl-hover");
    var scope = section.closest(".mpage") || document;
    var range = null;   // [fromMs, toMs] or null

    function xOf(ms) { return px + Math.min(Math.max((ms - t0) / (t1 - t0), 0), 1) * pw; }
    function msOf(x) { return t0 + Math.min(Math.max((x - px) / pw, 0), 1) * (t1 - t0); }
    function svgX(ev) {
      var m = svg.getScreenCTM();
      if (!m) { return px; }
      var p = svg.createSVGPoint();
      p.x = ev.clientX;
      p.y = ev.clientY;
      return p.matrixTransform(m.inverse()).x;
    }
    function drawSel(a, b) {
      if (a === null) { sel.setAttribute("visibility", "hidden"); return; }
      var xa = xOf(Math.min(a, b)), xb = xOf(Math.max(a, b));
      sel.setAttribute("x", String(xa));
      sel.setAttribute("width", String(Math.max(xb - xa, 1)));
      sel.setAttribute("visibility", "visible");
    }

    function apply() {
      var shown = 0, all = 0;
      scope.querySelectorAll(".filterable").forEach(function (el) {
        var f = parseIso(el.getAttribute("data-first"));
        var l = parseIso(el.getAttribute("data-last"));
        if (isNaN(f)) { f = l; }
        if (isNaN(l)) { l = f; }
        var unknown = isNaN(f);
        var out = !!range && !unknown && (l < range[0] || f > range[1]);
        el.classList.toggle("hide-time", out);
        el.classList.toggle("time-unknown", !!range && unknown);
        if (el.classList.contains("finding")) {
          all += 1;
          if (!out && !unknown) { shown += 1; }
        }
      });
      svg.querySelectorAll(".tl-mark").forEach(function (m) {
        var f = parseIso(m.getAttribute("data-first")), l = parseIso(m.getAttribute("data-last"));
        m.classList.toggle("tl-out", !!range && (l < range[0] || f > range[1]));
      });
      drawSel(range ? range[0] : null, range ? range[1] : null);
      from.value = range ? inputOf(range[0]) : "";
      to.value = range ? inputOf(range[1]) : "";
      clear.disabled = !range;
      count.textContent = range ? shown + " / " + all : "";
      countLabel.classList.toggle("hidden", !range);
      note.classList.toggle("hidden", !range);
      K.state[key] = range ? isoOf(range[0]) + "/" + isoOf(range[1]) : "";
      K.announce();
    }
    function setRange(a, b, save) {
      if (isNaN(a) || isNaN(b)) { range = null; } else { range = [Math.min(a, b), Math.max(a, b)]; }
      apply();
      if (save) { K.saveState(); }
    }

    function snapDown(ms) { return Math.max(t0, t0 + Math.floor((ms - t0) / step) * step); }
    function snapUp(ms) { return Math.min(t1, t0 + Math.ceil((ms - t0) / step) * step); }
    // Dragging: snapped to buckets; a click without a drag selects the bucket under it.
    var dragFrom = null;
    svg.addEventListener("pointerdown", function (ev) {
      if (ev.button !== 0 || (ev.target.closest && ev.target.closest(".tl-mark"))) { return; }
      var x = svgX(ev);
      if (x < px || x > px + pw) { return; }
      dragFrom = msOf(x);
      svg.setPointerCapture(ev.pointerId);
      drawSel(dragFrom, dragFrom);
      ev.preventDefault();
    });
    // While the pointer is over the chart, the bucket under it (UTC) is shown beside the inputs.
    svg.addEventListener("pointermove", function (ev) {
      var x = svgX(ev);
      if (dragFrom !== null) { drawSel(dragFrom, msOf(x)); }
      if (hover) {
        var b = snapDown(msOf(x));
        hover.textContent = x < px || x > px + pw ? "" : isoOf(b).slice(0, 19).replace("T", " ") + " – " + isoOf(Math.min(b + step, t1)).slice(11, 19) + " UTC";
      }
    });
    svg.addEventListener("pointerleave", function () { if (hover) { hover.textContent = ""; } });
    svg.addEventListener("pointerup", function (ev) {
      if (dragFrom === null) { return; }
      var end = msOf(svgX(ev));
      var a = Math.min(dragFrom, end), b = Math.max(dragFrom, end);
      dragFrom = null;
      if (b === a) { b = a + 1; }
      setRange(snapDown(a), Math.max(snapUp(b), snapDown(a) + step), true);
    });
    svg.addEventListener("pointercancel", function () { dragFrom = null; apply(); });
    // A finding mark leads to its finding.
    svg.querySelectorAll(".tl-mark").forEach(function (m) {
      m.addEventListener("click", function () {
        var target = document.getElementById(m.getAttribute("data-anchor") || "");
        if (!target) { return; }
        if (/(^|\s)hide-/.test(target.className) && K.resetFilters) { K.resetFilters(); }
        target.scrollIntoView({ block: "start" });
      });
    });
    function fromInputs() {
      // datetime-local values read as UTC (the labels say so)
      var a = parseIso(from.value ? from.value + ":00Z" : "");
      var b = parseIso(to.value ? to.value + ":59Z" : "");
      if (isNaN(a) && !isNaN(b)) { a = t0; }
      if (isNaN(b) && !isNaN(a)) { b = t1; }
      setRange(a, b, true);
    }
    from.addEventListener("change", fromInputs);
    to.addEventListener("change", fromInputs);
    clear.addEventListener("click", function () { setRange(NaN, NaN, true); });
    (K.resetters || []).push(function () { range = null; apply(); });

    var saved = (K.state[key] || "").split("/");
    if (saved.length === 2) {
      setRange(parseIso(saved[0]), parseIso(saved[1]), false);
    } else {
      apply();
    }
  }
  document.querySelectorAll("section.timeline").forEach(setUp);
})();
