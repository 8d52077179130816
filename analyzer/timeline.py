"""The report's timeline: warning and error lines over time per node and component, each
finding's first and last occurrence, node boots and the collection time (issue 12).

`build_timeline(evidence, findings, unexplained)` returns a plain JSON-like dict (the `timeline`
key of the JSON report, docs/report-schema.md); the HTML report draws it as an inline SVG
(analyzer/render/timeline_svg.py, report_templates/timeline.html.j2).

Everything is bounded, whatever the bundle holds: the counts come from polars aggregations over
the log index (the bench bundle has millions of lines; no Python loop over lines), the span is
cut into at most MAX_BUCKETS buckets, at most MAX_ROWS rows are drawn (the rest counted), and
marks and boots are capped. Stray lines far from the rest (a clock that was wrong once, a log
kept from years ago) do not stretch the span: it covers the bulk of the lines plus a margin,
and the lines that fall outside are counted and said.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from k8s_bundle import pathglob
from k8s_bundle.analyzer.blindspots import claim_places, claims
from k8s_bundle.analyzer.evaluate import node_names
# the one helper that turns the log index (a frame, a lazy frame or batches) into frames
from k8s_bundle.analyzer.evaluate_logs import _frames as log_frames
from k8s_bundle.analyzer.logkeep import level_events, summary_of
from k8s_bundle.analyzer.model import SEVERITY_RANK, Evidence, Finding
from k8s_bundle.analyzer.reference_time import parse_rfc3339

# Rows of one node, in this order; a line belongs to the first component that claims it
# (rules/components.yaml through blindspots.claims: own files, or syslog lines under the
# component's program name). The all-in-one k3s/rke2/microk8s units land on the kubelet row.
COMPONENTS = ("kubelet", "runtime", "kernel", "control-plane", "cni", "kube-proxy", "coredns", "pods", "windows")
OTHER = "other"

MAX_BUCKETS = 150
MAX_ROWS = 60            # drawn rows (component rows and finding lanes), the rest counted
MAX_MARKS = 400          # finding marks drawn
MAX_MARK_NODES = 8       # a finding on more nodes is drawn once, on the whole-bundle lane
MAX_BOOTS_PER_NODE = 20
MAX_BOOT_MARKERS = 2_000  # journal "-- Boot --" lines looked at
# The span covers the lines between these quantiles plus a margin of the same width (at least
# MIN_MARGIN): a bundle's own lines all fit, a line from years ago does not.
LOW_Q, HIGH_Q = 0.01, 0.99
MIN_MARGIN = dt.timedelta(hours=1)
MIN_SPAN = dt.timedelta(minutes=10)
BOOT_SAME = dt.timedelta(minutes=10)   # journal boot markers this close are one boot
# Bucket sizes a reader takes in at a glance (seconds); the smallest giving <= MAX_BUCKETS.
NICE_BUCKETS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
                86400, 172800, 604800, 2592000)


# Times the timeline takes: a bundle may say year 1 or 9999 (a dead RTC, a hostile manifest);
# outside this window a time is treated as unknown (and a log line as outside the span).
TIME_MIN = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
TIME_MAX = dt.datetime(2100, 1, 1, tzinfo=dt.timezone.utc)


def iso(t: dt.datetime) -> str:
    """RFC 3339 UTC to the second, the form every time of the report takes."""
    t = t.astimezone(dt.timezone.utc)
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}Z"


def parse_time(value: Any) -> dt.datetime | None:
    """An RFC 3339 / ISO 8601 string (a time without zone is read as UTC) within
    [TIME_MIN, TIME_MAX), or None."""
    t = parse_rfc3339(value.strip()) if isinstance(value, str) else None
    if t is None:
        return None
    try:
        t = t.astimezone(dt.timezone.utc)
    except (OverflowError, ValueError):
        return None
    return t if TIME_MIN <= t < TIME_MAX else None


def _lazy(evidence: Evidence) -> pl.LazyFrame | None:
    frames = [f.lazy() if isinstance(f, pl.DataFrame) else f for f in log_frames(evidence.log_index)]
    if not frames:
        return None
    return frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical")


def _epoch_us(t: dt.datetime) -> int:
    return int((t - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) / dt.timedelta(microseconds=1))


def _from_us(us: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=int(us))


def choose_span(stats: dict[str, Any], collected: dt.datetime | None,
                fallback: list[dt.datetime] | None = None) -> tuple[dt.datetime, dt.datetime] | None:
    """[start, end) of the timeline from the line statistics (min, max, low/high quantile, in
    microseconds since the epoch) and the collection time, which is always inside; `fallback`
    (the findings' times) only when there is neither."""
    points: list[dt.datetime] = []
    if stats.get("n"):
        lo, hi = _from_us(stats["q_lo"]), _from_us(stats["q_hi"])
        margin = max(hi - lo, MIN_MARGIN)
        points += [max(_from_us(stats["min"]), lo - min(margin, lo - TIME_MIN)),
                   min(_from_us(stats["max"]), hi + min(margin, TIME_MAX - hi))]
    if collected is not None:
        points.append(collected)
    if not points:
        points = list(fallback or [])
    if not points:
        return None
    points = [min(max(p, TIME_MIN), TIME_MAX) for p in points]
    start, end = min(points), max(points)
    if end - start < MIN_SPAN:
        # a short span is centred on what there is, ending no earlier than the collection
        pad = (MIN_SPAN - (end - start)) / 2
        start, end = start - pad, end + pad
    return start, end


def choose_buckets(start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, int, int]:
    """(aligned start, bucket seconds, bucket count): the smallest nice bucket giving at most
    MAX_BUCKETS buckets, the start rounded down to a bucket boundary."""
    span = (end - start).total_seconds()
    size = next((s for s in NICE_BUCKETS if span / s <= MAX_BUCKETS - 1), None)
    if size is None:   # decades: plain division
        size = int(span // (MAX_BUCKETS - 1)) + 1
    base = _epoch_us(start) // 1_000_000
    aligned = _from_us((base - base % size) * 1_000_000)
    count = int(((end - aligned).total_seconds()) // size) + 1
    return aligned, size, min(count, MAX_BUCKETS)


def _line_stats(evidence: Evidence) -> dict[str, Any]:
    """Timed lines: count, first, last and the LOW_Q/HIGH_Q quantiles (us since the epoch),
    read off the log summary's per-minute histogram (every indexed line is in it, whatever rows
    the index kept); to the minute is plenty for a span padded by an hour at least."""
    minutes = summary_of(evidence).minutes
    hist = (minutes.filter(pl.col("lo").is_between(TIME_MIN, TIME_MAX, closed="left"))
            .group_by("minute").agg(pl.col("n").sum().alias("n"),
                                    pl.col("lo").min().dt.epoch("us").alias("lo"),
                                    pl.col("hi").max().dt.epoch("us").alias("hi"))
            .sort("minute"))
    if not hist.height:
        return {"n": 0}
    n = int(hist["n"].sum())
    cum = hist["n"].cum_sum()

    def at(q: float, col: str) -> int:
        rank = round(q * (n - 1))          # 0-based, as polars' "nearest" quantile
        i = int((cum <= rank).sum())
        return int(hist[col][min(i, hist.height - 1)])

    return {"n": n, "min": int(hist["lo"].min()), "max": int(hist["hi"].max()),
            "q_lo": at(LOW_Q, "lo"), "q_hi": at(HIGH_Q, "hi")}


def component_of(source: str, ident: str | None) -> str:
    """The row of one line (blindspots.claims, first component in COMPONENTS order)."""
    for comp in COMPONENTS:
        if claims(comp, source, ident):
            return comp
    return OTHER


def _whole(globs: list[str]) -> str:
    # pathglob's regexes are plain enough for polars' (Rust) engine; (?s) as Python's DOTALL
    return r"(?s)^(?:" + "|".join(pathglob.glob_to_regex(g) for g in globs) + r")\z" if globs else r"a\A"


def component_expr() -> pl.Expr:
    """component_of over the columns `source` and `ident` (strings, "" for none): the same test
    from the same globs (blindspots.claim_places), vectorised, since a bundle may hold 100,000
    log files (50 us each in Python)."""
    prog = pl.col("ident").str.split("/").list.first().str.to_lowercase()
    expr: Any = pl
    for comp in COMPONENTS:
        own, shared, idents = claim_places(comp)
        test = pl.col("source").str.contains(_whole(own))
        if idents:
            test = test | (prog.is_in(list(idents)) & pl.col("source").str.contains(_whole(shared)))
        expr = expr.when(test).then(pl.lit(comp))
    return expr.otherwise(pl.lit(OTHER))


def _counts(evidence: Evidence, start: dt.datetime, size: int, buckets: int) -> tuple[pl.DataFrame, dict[str, int]]:
    """(node, component, bucket, warnings, errors) for the buckets of the span, and how many
    warning/error lines fell before, after, or had no time. Counted per second (the log
    summary's level events): buckets are whole seconds, aligned on whole seconds."""
    t0 = _epoch_us(start) // 1_000_000
    raw = (level_events(evidence)
           .select(pl.col("node"), pl.col("source"), pl.col("ident"),
                   ((pl.col("second") - t0) // size).clip(-1, buckets).alias("bucket"), pl.col("error"), pl.col("n"))
           .group_by("node", "source", "ident", "bucket", "error").agg(pl.col("n").sum())
           .with_columns(pl.col("ident").fill_null("")))
    outside = {
        "before": int(raw.filter(pl.col("bucket") < 0)["n"].sum()),
        "after": int(raw.filter(pl.col("bucket") >= buckets)["n"].sum()),
        "untimed": int(raw.filter(pl.col("bucket").is_null())["n"].sum()),
    }
    raw = raw.filter(pl.col("bucket").is_between(0, buckets - 1))
    keys = raw.select("source", "ident").unique()
    mapping = keys.with_columns(component_expr().alias("component"))
    counts = (raw.join(mapping, on=["source", "ident"], how="left")
              .group_by("node", "component", "bucket")
              .agg(pl.col("n").filter(~pl.col("error")).sum().alias("warnings"),
                   pl.col("n").filter(pl.col("error")).sum().alias("errors")))
    return counts, outside


def _boots(evidence: Evidence, lazy: pl.LazyFrame | None, nodes: list[str]) -> list[dict[str, str]]:
    """Node boots: node.json boot_time (Linux), windows.os.last_boot, and the journal's
    "-- Boot <id> --" / "-- Reboot --" lines that follow other lines of their file (the one
    opening a file only says where the journal window starts), at the time of the next line."""
    out: dict[str, list[tuple[dt.datetime, str]]] = {}
    wanted = set(nodes)
    for node in nodes:
        facts = (evidence.nodes or {}).get(node) or {}
        win = facts.get("windows") if isinstance(facts.get("windows"), dict) else {}
        win_os = win.get("os") if isinstance(win.get("os"), dict) else {}
        for value, origin in ((facts.get("boot_time"), "node"), (win_os.get("last_boot"), "node")):
            t = parse_time(value)
            if t is not None:
                out.setdefault(node, []).append((t, origin))
    if lazy is not None:
        msg = pl.col("message")
        # the journal's separators carry no time: test the text of untimed lines only
        markers = (lazy.filter(pl.col("timestamp").is_null())
                   .filter(msg.str.starts_with("-- Boot ") | (msg == "-- Reboot --"))
                   .select(pl.col("node").cast(pl.String), pl.col("file").cast(pl.String), "line")
                   .head(MAX_BOOT_MARKERS).collect())
        markers = markers.filter(pl.col("node").is_in(list(wanted)))
        if markers.height:
            files = markers["file"].unique().to_list()
            timed = (lazy.filter(pl.col("file").is_in(files) & pl.col("timestamp").is_not_null())
                     .select(pl.col("file").cast(pl.String), "line", "timestamp"))
            first = timed.group_by("file").agg(pl.col("line").min().alias("first_line")).collect()
            nxt = (timed.filter(pl.col("line").is_in((markers["line"] + 1).unique().to_list()))
                   .collect())
            nxt_time = {(f, ln - 1): t for f, ln, t in nxt.iter_rows()}
            first_line = dict(first.iter_rows())
            for node, file, line in markers.iter_rows():
                t = nxt_time.get((file, line))
                if t is None or line < (first_line.get(file) or line + 1):
                    continue
                t = parse_time(t.isoformat()) if isinstance(t, dt.datetime) else None
                if t is not None:
                    out.setdefault(node, []).append((t, "journal"))
    boots: list[dict[str, str]] = []
    for node in sorted(out):
        kept: list[tuple[dt.datetime, str]] = []
        # node facts first: a journal marker near the recorded boot is the same boot
        for t, origin in sorted(out[node], key=lambda p: (p[1] != "node", p[0])):
            if all(abs(t - k) > BOOT_SAME for k, _ in kept):
                kept.append((t, origin))
        for t, origin in sorted(kept)[-MAX_BOOTS_PER_NODE:]:
            boots.append({"node": node, "time": iso(t), "from": origin})
    return boots


def _marks(findings: list[Finding]) -> list[dict[str, Any]]:
    """One mark per finding with a time: first to last occurrence, on its node's lane (a
    finding of a few nodes on each of them, of many or none on the whole-bundle lane)."""
    out = []
    for index, f in enumerate(findings):
        first, last = parse_time(f.first_seen), parse_time(f.last_seen)
        if first is None and last is None:
            continue
        first = first or last
        last = last or first
        nodes = [f.node] if f.node else list(f.nodes)
        out.append({"finding": index, "rule_id": f.rule_id, "severity": f.severity, "title": f.title,
                    "nodes": nodes if 0 < len(nodes) <= MAX_MARK_NODES else [],
                    "first": iso(first), "last": iso(max(first, last))})
    out.sort(key=lambda m: (SEVERITY_RANK.get(m["severity"], 9), m["finding"]))
    return out


def build_timeline(evidence: Evidence, findings: list[Finding], unexplained: list[Any] | None = None) -> dict[str, Any]:
    """The timeline document (docs/report-schema.md `timeline`). Cached on the evidence: the
    HTML and JSON renderers of one run draw the same timeline. `unexplained` is accepted for
    symmetry with the renderers; its rows carry their own first/last times."""
    cached = evidence.__dict__.get("_timeline")
    if cached is not None and cached[0] is findings:
        return cached[1]
    doc = _build(evidence, findings)
    evidence.__dict__["_timeline"] = (findings, doc)
    return doc


def _build(evidence: Evidence, findings: list[Finding]) -> dict[str, Any]:
    lazy = _lazy(evidence)
    collected = parse_time((evidence.manifest or {}).get("created_at"))
    stats = _line_stats(evidence)
    marks = _marks(findings)
    span = choose_span(stats, collected, [t for m in marks for t in (parse_time(m["first"]), parse_time(m["last"])) if t])
    all_boots = _boots(evidence, lazy, list(node_names(evidence)))
    if span is not None:
        # a boot shortly before the lines (kubelet logs start after the node is up) is drawn:
        # the span grows to it, by at most its own width
        reach = span[0] - (span[1] - span[0])
        near = [t for b in all_boots if (t := parse_time(b["time"])) is not None and reach <= t < span[0]]
        if near:
            span = (min(near), span[1])
    if span is None:
        return {"start": None, "end": None, "bucket_seconds": None, "buckets": 0,
                "collected_at": None, "lines": {"timed": 0, "counted": 0, "before": 0, "after": 0, "untimed": 0},
                "rows": [], "rows_left_out": 0, "nodes_left_out": 0, "marks": [], "marks_left_out": 0,
                "boots": [], "boots_outside": 0}
    start, size, buckets = choose_buckets(*span)
    end = start + dt.timedelta(seconds=size * buckets)
    counts, outside = _counts(evidence, start, size, buckets)

    totals = (counts.group_by("node", "component")
              .agg(pl.col("warnings").sum(), pl.col("errors").sum()))
    per_node: dict[str, list[tuple[str, int, int]]] = {}
    for node, comp, w, e in totals.iter_rows():
        per_node.setdefault(node, []).append((comp, int(w), int(e)))
    order = {c: i for i, c in enumerate(COMPONENTS + (OTHER,))}

    # Which nodes are drawn: the worst first (a critical finding, then the most error lines),
    # each with its finding lane and component rows, until MAX_ROWS; drawn in name order.
    worst: dict[str, int] = {}
    lane_nodes: set[str] = set()
    for m in marks:
        for n in m["nodes"]:
            lane_nodes.add(n)
    for f in findings:
        for n in ([f.node] if f.node else f.nodes):
            worst[n] = min(worst.get(n, 9), SEVERITY_RANK.get(f.severity, 9))
    known = list(dict.fromkeys(list(node_names(evidence)) + sorted(per_node) + sorted(lane_nodes)))
    candidates = [n for n in known if n in per_node or n in lane_nodes]

    def rank(n: str) -> tuple[int, int, str]:
        return (worst.get(n, 9), -sum(e for _, _, e in per_node.get(n, [])), n)

    bundle_lane = any(not m["nodes"] for m in marks)
    budget = MAX_ROWS - (1 if bundle_lane else 0)
    drawn: list[str] = []
    for n in sorted(candidates, key=rank):
        need = len(per_node.get(n, [])) + (1 if n in lane_nodes else 0)
        if need <= budget:
            drawn.append(n)
            budget -= need
    drawn_set = set(drawn)
    rows_left_out = sum(len(per_node.get(n, [])) + (1 if n in lane_nodes else 0) for n in candidates if n not in drawn_set)

    cells: dict[tuple[str, str], list[list[int]]] = {}
    for node, comp, bucket, w, e in counts.filter(pl.col("node").is_in(drawn)).sort("bucket").iter_rows():
        cells.setdefault((node, comp), []).append([int(bucket), int(w), int(e)])
    rows = []
    for n in sorted(drawn):
        for comp, w, e in sorted(per_node.get(n, []), key=lambda r: order.get(r[0], 99)):
            rows.append({"node": n, "component": comp, "warnings": w, "errors": e, "counts": cells.get((n, comp), [])})

    shown_marks = [m for m in marks if not m["nodes"] or any(n in drawn_set for n in m["nodes"])]
    for m in shown_marks:
        m["nodes"] = [n for n in m["nodes"] if n in drawn_set]
    left_marks = len(marks) - len(shown_marks[:MAX_MARKS])
    boots = [b for b in all_boots if b["node"] in drawn_set]
    inside = [b for b in boots if start <= (parse_time(b["time"]) or TIME_MIN) <= end]
    timed = int(stats.get("n") or 0)
    counted = int(counts["warnings"].sum() or 0) + int(counts["errors"].sum() or 0) if counts.height else 0
    return {
        "start": iso(start), "end": iso(end), "bucket_seconds": size, "buckets": buckets,
        "collected_at": iso(collected) if collected else None,
        "lines": {"timed": timed, "counted": counted, **outside},
        "nodes": sorted(drawn),
        "rows": rows, "rows_left_out": rows_left_out,
        "nodes_left_out": len(candidates) - len(drawn),
        "marks": shown_marks[:MAX_MARKS], "marks_left_out": left_marks,
        "boots": inside, "boots_outside": len(boots) - len(inside),
    }
