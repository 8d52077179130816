"""The timeline's drawing: coordinates of an inline SVG computed from the timeline document
(analyzer/timeline.py), so that report_templates/timeline.html.j2 only places elements and
every number on the page is formatted here. No text from the bundle is put into markup here:
node names, rule ids and titles go to the template, which escapes them.

The SVG is drawn in a fixed coordinate system (viewBox WIDTH wide) and scales with the page.
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Any

from k8s_bundle.analyzer.timeline import COMPONENTS, MAX_ROWS, OTHER, parse_time

WIDTH = 1000
LABEL_W = 200            # the label column (node and component names)
PLOT_X = LABEL_W + 6
PLOT_W = WIDTH - PLOT_X - 14
AXIS_H = 34              # tick labels above the rows
ROW_H = 16               # a component row
SUB_H = 6                # one sub-lane of finding marks
MAX_SUB = 4              # sub-lanes per finding lane (more overlapping marks share the last)
GROUP_GAP = 6
MAX_TICKS = 8
NODE_LABEL_CHARS = 26    # longer node names are cut in the drawing (whole in the tooltip)
TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
              86400, 172800, 604800, 2592000, 7776000, 31536000)

# Labels of the timeline (en/zh); the page's other strings are html.UI.
TIMELINE_UI: dict[str, dict[str, str]] = {
    "timeline": {"en": "Timeline", "zh": "时间线"},
    "timeline_help": {
        "en": "Warning and error log lines per node and component over time (bar height: log scale; red: "
              "errors, amber: warnings), each finding from its first to its last occurrence, node boots and "
              "the collection time. Drag across the chart, or set the two times below, to show only the "
              "findings and unexplained errors seen in that range. Times are UTC.",
        "zh": "各节点、各组件的警告和错误日志随时间的分布（柱高为对数刻度；红色：错误，橙色：警告），"
              "每个问题从首次到最后一次出现的时间段、节点启动时间和采集时间。在图上拖动，或在下方设置"
              "两个时间，即可只显示该时间段内出现的问题和未解释的错误。时间均为 UTC。"},
    "from": {"en": "From (UTC)", "zh": "开始 (UTC)"},
    "to": {"en": "To (UTC)", "zh": "结束 (UTC)"},
    "show_all": {"en": "Show all times", "zh": "显示全部时间"},
    "in_range": {"en": "findings in the range", "zh": "个问题在该时间段内"},
    "no_time_note": {
        "en": "Findings and rows without a time (read from facts, not log lines) stay listed while a range "
              "is selected, dimmed.",
        "zh": "没有时间的问题和行（来自事实而非日志行）在选择时间段时仍然显示，但颜色变淡。"},
    "errors": {"en": "errors (E, F)", "zh": "错误 (E, F)"},
    "warnings": {"en": "warnings (W)", "zh": "警告 (W)"},
    "finding_mark": {"en": "finding: first to last occurrence", "zh": "问题：首次到最后一次出现"},
    "boot": {"en": "node boot", "zh": "节点启动"},
    "collected": {"en": "collected", "zh": "采集"},
    "findings_lane": {"en": "findings", "zh": "问题"},
    "bundle_lane": {"en": "whole bundle", "zh": "整个诊断包"},
    "bucket": {"en": "one bar: {size}", "zh": "每个柱：{size}"},
    "outside": {"en": "{n} warning/error lines outside the span shown ({before} before, {after} after): "
                      "stray times far from the rest",
                "zh": "{n} 条警告/错误日志的时间不在显示范围内（之前 {before} 条，之后 {after} 条）：与其余日志相距很远"},
    "untimed": {"en": "{n} warning/error lines without a time are not drawn",
                "zh": "{n} 条没有时间的警告/错误日志未绘出"},
    "left_out": {"en": "{rows} more rows of {nodes} nodes not drawn (the chart draws at most {max} rows, the "
                       "nodes with the worst findings first)",
                 "zh": "另有 {nodes} 个节点的 {rows} 行未绘出（最多绘出 {max} 行，问题最严重的节点优先）"},
    "marks_left_out": {"en": "{n} more finding marks not drawn", "zh": "另有 {n} 个问题标记未绘出"},
    "boots_outside": {"en": "{n} boots before the span shown", "zh": "{n} 次启动在显示范围之前"},
    "empty": {"en": "No time in this bundle: no log line has a timestamp and the manifest has no collection time.",
              "zh": "该诊断包中没有时间信息：日志行都没有时间戳，清单中也没有采集时间。"},
    "no_we": {"en": "No warning or error line with a time: nothing to draw per component.",
              "zh": "没有带时间的警告或错误日志：各组件没有可绘制的内容。"},
    "c_kubelet": {"en": "kubelet", "zh": "kubelet"},
    "c_runtime": {"en": "container runtime", "zh": "容器运行时"},
    "c_kernel": {"en": "kernel", "zh": "内核"},
    "c_control-plane": {"en": "control plane", "zh": "控制平面"},
    "c_cni": {"en": "network add-on", "zh": "网络插件"},
    "c_kube-proxy": {"en": "kube-proxy", "zh": "kube-proxy"},
    "c_coredns": {"en": "CoreDNS", "zh": "CoreDNS"},
    "c_pods": {"en": "other pods", "zh": "其他 Pod"},
    "c_windows": {"en": "Windows", "zh": "Windows"},
    "c_other": {"en": "other logs", "zh": "其他日志"},
}
assert all(f"c_{c}" in TIMELINE_UI for c in COMPONENTS + (OTHER,))


def _n(v: float) -> str:
    """A coordinate: one decimal, no trailing zeros (the SVG stays small)."""
    text = f"{v:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _ms(t: dt.datetime) -> int:
    return int(t.timestamp() * 1000)


def _duration(seconds: int) -> dict[str, str]:
    for unit, en, zh in ((86400, "day", "天"), (3600, "hour", "小时"), (60, "minute", "分钟"), (1, "second", "秒")):
        if seconds % unit == 0:
            n = seconds // unit
            return {"en": f"{n} {en}{'s' if n != 1 else ''}", "zh": f"{n} {zh}"}
    return {"en": f"{seconds} seconds", "zh": f"{seconds} 秒"}


def _fmt(key: str, **values: Any) -> dict[str, str]:
    return {lang: text.format(**values) for lang, text in TIMELINE_UI[key].items()}


def _ticks(start: dt.datetime, end: dt.datetime, x_of: Any) -> list[dict[str, str]]:
    span = (end - start).total_seconds()
    step = next((s for s in TICK_STEPS if span / s <= MAX_TICKS), None) or math.ceil(span / MAX_TICKS)
    base = int(start.timestamp())
    first = base - base % step + (step if base % step else 0)
    out = []
    last_date = None
    t = first
    while t <= end.timestamp():
        when = dt.datetime.fromtimestamp(t, dt.timezone.utc)
        date = when.strftime("%Y-%m-%d")
        if step >= 86400:
            label = when.strftime("%m-%d")
        else:
            label = when.strftime("%H:%M:%S" if step < 60 else "%H:%M")
        out.append({"x": _n(x_of(when)), "label": label, "date": date if date != last_date else ""})
        last_date = date
        t += step
    return out


def _pack(marks: list[tuple[float, float, dict[str, Any]]]) -> list[tuple[int, float, float, dict[str, Any]]]:
    """Greedy interval packing into at most MAX_SUB sub-lanes, so overlapping marks stay apart."""
    ends: list[float] = []
    out = []
    for x1, x2, m in sorted(marks, key=lambda p: (p[0], p[1])):
        lane = next((i for i, e in enumerate(ends) if x1 > e + 3), None)
        if lane is None:
            if len(ends) < MAX_SUB:
                ends.append(x2)
                lane = len(ends) - 1
            else:
                lane = min(range(len(ends)), key=lambda i: ends[i])
        ends[lane] = max(ends[lane], x2)
        out.append((lane, x1, x2, m))
    return out


def timeline_view(doc: dict[str, Any], anchors: list[str], titles: list[dict[str, str]],
                  id_prefix: str = "") -> dict[str, Any]:
    """What timeline.html.j2 draws. `anchors[i]` / `titles[i]`: the page anchor and title of the
    finding a mark's `finding` index points at (the list build_timeline was given)."""
    view: dict[str, Any] = {"ui": TIMELINE_UI, "id": f"{id_prefix}timeline", "hash_key": f"{id_prefix}time",
                            "empty": doc.get("start") is None}
    if view["empty"]:
        return view
    start, end = parse_time(doc["start"]), parse_time(doc["end"])
    assert start is not None and end is not None
    total = (end - start).total_seconds() or 1.0

    def x_of(t: dt.datetime) -> float:
        frac = min(max((t - start).total_seconds() / total, 0.0), 1.0)
        return PLOT_X + frac * PLOT_W

    buckets = int(doc["buckets"])
    bw = PLOT_W / max(buckets, 1)
    gap = bw * 0.15 if bw > 3 else 0.0
    peak = max([w + e for r in doc["rows"] for _, w, e in r["counts"]] or [1])
    scale = (ROW_H - 3) / math.log1p(peak)

    marks_by_lane: dict[str | None, list[tuple[float, float, dict[str, Any]]]] = {}
    for m in doc["marks"]:
        first, last = parse_time(m["first"]), parse_time(m["last"])
        assert first is not None and last is not None
        x1, x2 = x_of(first), x_of(last)
        for lane in (m["nodes"] or [None]):
            marks_by_lane.setdefault(lane, []).append((x1, x2, m))

    y = AXIS_H
    groups: list[dict[str, Any]] = []
    marks_out: list[dict[str, Any]] = []
    node_y: dict[str, tuple[float, float]] = {}

    def lane(key: str | None, label: dict[str, str]) -> dict[str, Any]:
        nonlocal y
        packed = _pack(marks_by_lane.get(key, []))
        subs = max([p[0] for p in packed] or [0]) + 1
        h = subs * SUB_H + 4
        for sub, x1, x2, m in packed:
            i = m["finding"]
            marks_out.append({
                "x1": _n(x1), "x2": _n(max(x2, x1 + 0.01)), "y": _n(y + 2 + sub * SUB_H + SUB_H / 2),
                "severity": m["severity"], "rule_id": m["rule_id"], "node": key,
                "first": m["first"], "last": m["last"],
                "anchor": anchors[i] if i < len(anchors) else "", "title": titles[i] if i < len(titles) else m["title"],
            })
        row = {"kind": "lane", "y": _n(y), "h": _n(h), "label": label, "text_y": _n(y + h / 2 + 4)}
        y += h
        return row

    if any(not m["nodes"] for m in doc["marks"]):
        groups.append({"node": None, "label": "", "y": _n(y), "rows": [lane(None, TIMELINE_UI["bundle_lane"])]})
        y += GROUP_GAP
    rows_by_node: dict[str, list[dict[str, Any]]] = {}
    for r in doc["rows"]:
        rows_by_node.setdefault(r["node"], []).append(r)
    for node in doc["nodes"]:
        top = y
        rows = []
        if node in marks_by_lane:
            rows.append(lane(node, TIMELINE_UI["findings_lane"]))
        for r in rows_by_node.get(node, []):
            base = y + ROW_H - 1
            err, warn = [], []
            for b, w, e in r["counts"]:
                x = PLOT_X + b * bw
                width = _n(max(bw - gap, 0.6))
                h_all = math.log1p(w + e) * scale
                h_err = h_all * e / (w + e) if w + e else 0.0
                if e:
                    err.append(f"M{_n(x)} {_n(base)}h{width}v{_n(-max(h_err, 1.0))}h-{width}z")
                if w:
                    top_err = base - (max(h_err, 1.0) if e else 0.0)
                    warn.append(f"M{_n(x)} {_n(top_err)}h{width}v{_n(-max(h_all - h_err, 1.0))}h-{width}z")
            rows.append({"kind": "counts", "y": _n(y), "h": _n(ROW_H), "text_y": _n(y + ROW_H - 4),
                         "label": TIMELINE_UI[f"c_{r['component']}"], "component": r["component"],
                         "warnings": r["warnings"], "errors": r["errors"],
                         "err_path": "".join(err), "warn_path": "".join(warn)})
            y += ROW_H
        node_y[node] = (top, y)
        short = node if len(node) <= NODE_LABEL_CHARS else node[:NODE_LABEL_CHARS - 1] + "…"
        groups.append({"node": node, "label": short, "y": _n(top), "rows": rows})
        y += GROUP_GAP
    height = max(y, AXIS_H + ROW_H) + 4

    boots = []
    for b in doc["boots"]:
        t = parse_time(b["time"])
        if t is None or b["node"] not in node_y:
            continue
        y1, y2 = node_y[b["node"]]
        boots.append({"x": _n(x_of(t)), "y1": _n(y1), "y2": _n(y2), "node": b["node"], "time": b["time"],
                      "from": b["from"]})
    collected = parse_time(doc.get("collected_at"))
    lines = doc["lines"]
    notes = []
    if lines["before"] or lines["after"]:
        notes.append(_fmt("outside", n=f"{lines['before'] + lines['after']:,}", before=f"{lines['before']:,}",
                          after=f"{lines['after']:,}"))
    if lines["untimed"]:
        notes.append(_fmt("untimed", n=f"{lines['untimed']:,}"))
    if doc["rows_left_out"]:
        notes.append(_fmt("left_out", rows=f"{doc['rows_left_out']:,}", nodes=f"{doc['nodes_left_out']:,}",
                          max=f"{MAX_ROWS:,}"))
    if doc["marks_left_out"]:
        notes.append(_fmt("marks_left_out", n=f"{doc['marks_left_out']:,}"))
    if doc["boots_outside"]:
        notes.append(_fmt("boots_outside", n=f"{doc['boots_outside']:,}"))
    if not doc["rows"]:
        notes.append(TIMELINE_UI["no_we"])
    view.update({
        "width": WIDTH, "height": _n(height), "plot_x": _n(PLOT_X), "plot_w": _n(PLOT_W), "plot_end": _n(PLOT_X + PLOT_W),
        "axis_y": _n(AXIS_H), "label_x": _n(LABEL_W), "start": doc["start"], "end": doc["end"],
        "start_ms": _ms(start), "end_ms": _ms(end), "bucket_ms": int(doc["bucket_seconds"]) * 1000,
        "bucket": {k: v.format(size=_duration(int(doc["bucket_seconds"]))[k]) for k, v in TIMELINE_UI["bucket"].items()},
        "ticks": _ticks(start, end, x_of), "groups": groups, "marks": marks_out, "boots": boots,
        "collected": {"x": _n(x_of(collected)), "time": doc["collected_at"]} if collected else None,
        "notes": notes,
        # the datetime-local inputs take minutes (UTC)
        "min_input": start.strftime("%Y-%m-%dT%H:%M"), "max_input": end.strftime("%Y-%m-%dT%H:%M"),
    })
    return view


def page_timeline(evidence: Any, findings: list[Any], anchor_of: dict[int, str], id_prefix: str = "") -> dict[str, Any]:
    """The timeline of one bundle's page: `findings` in page order, `anchor_of` id(finding) ->
    its anchor (html.report_context)."""
    from k8s_bundle.analyzer.timeline import build_timeline

    doc = build_timeline(evidence, findings)
    return timeline_view(doc, [anchor_of.get(id(f), "") for f in findings], [f.title for f in findings], id_prefix)
