"""All log matchers of all rules in one vectorised pass over the log index.

The log index can hold tens of millions of lines, so nothing here loops over lines in Python:

1. one prefilter: the matchers' regexes (named groups turned into plain groups, since names may
   repeat across rules), joined into alternations of a few regexes each, run once over the
   message column and OR-ed; only the surviving rows (normally a tiny fraction) go on. One
   alternation of all ~200 regexes overflows the regex engine's lazy DFA cache and falls back
   to a slow engine: measured 33 s CPU per 5,000 lines, against 0.09 s per 20,000 lines in
   chunks of 8 (the chunks are evaluated in parallel by polars, too);
2. per matcher, on the survivors only: source globs (matched once per distinct source value),
   the matcher's own regex, the level filter;
3. per node (or for the whole bundle, for cluster rules): count, first and last line, the
   `min_count within window` test as a shifted difference over the sorted timestamps, and the
   named groups extracted from the first line only. Groups below the threshold still get a
   hit (`satisfied` false): the engine reports them as info, never drops them. Each hit keeps
   its first KEPT_HEAD and last KEPT_TAIL matching lines and, per file, the count and line
   range of all of them (and of those not kept), so every matching line can be found;
4. once the findings are known, `add_context` reads up to CONTEXT_LINES lines around every
   kept line of every finding from the index in one filter and one join (never a query per
   line).

Sizes, measured: the 20-node bench bundle (bench/analyze_bench.py) keeps 60 lines in 51
findings (report 0.4 MB). The same bundle shape with a rule hit every 100 lines instead of
every 40,000 (`analyze_bench.py --size-gb 0.2 --hit-every 100`: 1.2M lines) keeps 5,611 lines
in 140 findings: 2.6 MB of HTML without any context, 4.3 MB with
the 1,000-line context budget, 12.5 MB if every kept line had its context; each line with
context costs ~1.7 KB of HTML and ~1.6 KB of JSON. The pass costs no measurable CPU over
first/last only (run_log_pass 3.1 s CPU on that bundle's 1.2M lines either way) and
add_context 0.05 s CPU for 1,000 lines on the 5M-line bench index.
"""
from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

import polars as pl

from k8s_bundle.analyzer.model import ContextLine, LogEvidence, LogFileCount, MatchedLine
from k8s_bundle.analyzer.rules_load import LogCond
from k8s_bundle import pathglob

MAX_MESSAGE_CHARS = 2000       # a hostile or minified line is cut for the report, not the match
# Matching lines a finding keeps: the first ones in time (the onset) and the last ones (whether
# it still goes on); the rest are counted per file with their line range (LogFileCount).
MAX_KEPT_LINES = 100
KEPT_TAIL = 20
KEPT_HEAD = MAX_KEPT_LINES - KEPT_TAIL
CONTEXT_LINES = 3              # indexed lines of the same file before and after a kept line
# Kept lines given context in one report: the first SHOWN_FIRST lines of every finding (in
# report order), then the others in order, until this many. Context is up to 6 lines a line,
# ~1.7 KB of HTML: all 5,611 kept lines of the dense 20-node bundle with context made a
# 12.5 MB page, this budget 4.3 MB (module docstring).
MAX_CONTEXT_ANCHORS = 1000
SHOWN_FIRST = 5                # lines the page shows before its "N more" toggle
MAX_CONTEXT_CHARS = 500        # a context line is cut shorter than a matching one
CLUSTER_GROUP = "*"            # the group key of matchers in cluster-scope rules

_COLUMNS = ["node", "source", "file", "line", "timestamp", "level", "message"]


@dataclass
class LogHit:
    """What one matcher found on one node (or in the whole bundle for cluster rules)."""

    satisfied: bool
    count: int
    first: LogEvidence
    last: LogEvidence
    groups: dict[str, str] = field(default_factory=dict)
    nodes: list[str] = field(default_factory=list)
    first_seen: str | None = None
    last_seen: str | None = None
    lines: list[MatchedLine] = field(default_factory=list)      # kept: KEPT_HEAD first, KEPT_TAIL last
    files: list[LogFileCount] = field(default_factory=list)     # every matching line, per file


_NAMED_GROUP = re.compile(r"(?<!\\)((?:\\\\)*)\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>")


def strip_group_names(regex: str) -> str:
    """`(?P<x>...)` / `(?<x>...)` -> `(?:...)`, keeping escaped parentheses as they are."""
    return _NAMED_GROUP.sub(lambda m: m.group(1) + "(?:", regex)


def has_named_groups(regex: str) -> bool:
    return _NAMED_GROUP.search(regex) is not None


@functools.lru_cache(maxsize=4096)
def glob_to_regex(glob: str) -> re.Pattern[str]:
    """A compiled whole-path matcher for a source or file glob (k8s_bundle.pathglob).

    Cached: the engine, blindspots and node_kind ask for the same few hundred rule globs once
    per node and rule; translating them anew each time was most of a node's fixed cost."""
    return re.compile(pathglob.glob_to_regex(glob) + r"\Z", re.DOTALL)


def _frames(log_index: Any) -> Iterable[Any]:
    if log_index is None:
        return []
    if isinstance(log_index, (pl.DataFrame, pl.LazyFrame)):
        return [log_index]
    return log_index  # an iterable of frames (batches)


_CHUNK_REGEXES = 8          # regexes per alternation in the prefilter
_CHUNK_CHARS = 2000         # and at most this many characters


def prefilter_chunks(regexes: list[str]) -> list[str]:
    """Alternations small enough for the regex engine's fast (lazy DFA) path."""
    chunks: list[str] = []
    cur: list[str] = []
    size = 0
    for r in regexes:
        part = f"(?:{r})"
        if cur and (len(cur) >= _CHUNK_REGEXES or size + len(part) > _CHUNK_CHARS):
            chunks.append("|".join(cur))
            cur, size = [], 0
        cur.append(part)
        size += len(part) + 1
    if cur:
        chunks.append("|".join(cur))
    return chunks


def _survivors(log_index: Any, chunks: list[str]) -> pl.DataFrame:
    keep = pl.any_horizontal([pl.col("message").str.contains(c) for c in chunks])
    parts: list[pl.DataFrame] = []
    for frame in _frames(log_index):
        if isinstance(frame, pl.LazyFrame):
            frame = frame.filter(keep).collect()
        elif frame.height:
            frame = frame.filter(keep)
        if frame.height:
            parts.append(
                frame.select(
                    pl.col("node").cast(pl.String),
                    pl.col("source").cast(pl.String),
                    pl.col("file").cast(pl.String),
                    pl.col("line").cast(pl.UInt32),
                    pl.col("timestamp").cast(pl.Datetime("us", "UTC")),
                    pl.col("level").cast(pl.String),
                    pl.col("message").cast(pl.String),
                )
            )
    if not parts:
        return pl.DataFrame(
            schema={
                "node": pl.String, "source": pl.String, "file": pl.String, "line": pl.UInt32,
                "timestamp": pl.Datetime("us", "UTC"), "level": pl.String, "message": pl.String,
            }
        )
    return pl.concat(parts, how="vertical")


def run_log_pass(conds: list[LogCond], cluster_keys: set[int], log_index: Any) -> dict[int, dict[str, LogHit]]:
    """Match every log condition; returns key -> group (node name or CLUSTER_GROUP) -> hit."""
    results: dict[int, dict[str, LogHit]] = {c.key: {} for c in conds}
    if not conds:
        return results
    unique = list(dict.fromkeys(strip_group_names(c.regex) for c in conds))
    surv = _survivors(log_index, prefilter_chunks(unique))
    if surv.height == 0:
        return results
    sources = surv.get_column("source").unique().to_list()
    for cond in conds:
        results[cond.key] = _match_one(cond, cond.key in cluster_keys, surv, sources)
    return results


def _match_one(cond: LogCond, cluster: bool, surv: pl.DataFrame, sources: list[str]) -> dict[str, LogHit]:
    globs = [glob_to_regex(g) for g in cond.sources]
    allowed = [s for s in sources if s is not None and any(g.match(s) for g in globs)]
    if not allowed:
        return {}
    pred = pl.col("source").is_in(allowed) & pl.col("message").str.contains(cond.regex)
    if cond.levels:
        pred = pred & pl.col("level").is_in(cond.levels)
    grp = pl.lit(CLUSTER_GROUP) if cluster else pl.col("node")
    sub = surv.filter(pred).with_columns(grp.alias("grp"))
    if sub.height == 0:
        return {}
    sub = sub.sort(["grp", "timestamp", "file", "line"], nulls_last=True)
    rank = pl.int_range(pl.len()).over("grp")
    sub = sub.with_columns(((rank < KEPT_HEAD) | (rank >= pl.len().over("grp") - KEPT_TAIL)).alias("kept"))
    stats = sub.group_by("grp", maintain_order=True).agg(
        pl.len().alias("count"),
        pl.col("timestamp").min().alias("ts_min"),
        pl.col("timestamp").max().alias("ts_max"),
        pl.col("node").unique(maintain_order=True).alias("nodes"),
    )
    # Every group with a matching line gets a hit (no evidence silently dropped); `satisfied`
    # says whether the count/window threshold was met. The engine turns an unmet threshold
    # into an info finding flagged below_threshold (docs/rule-format.md).
    first = sub.group_by("grp", maintain_order=True).first()
    last = sub.group_by("grp", maintain_order=True).last()
    if cond.window_us is not None and cond.min_count > 1:
        w_first, w_last = _first_window(sub, cond.min_count, cond.window_us)
        satisfied = set(w_first.get_column("grp").to_list())
        if satisfied:
            # a met window shows its own first and last line, as before
            first = pl.concat([w_first, first.select(w_first.columns).filter(~pl.col("grp").is_in(list(satisfied)))])
            last = pl.concat([w_last.select(w_first.columns), last.select(w_first.columns).filter(~pl.col("grp").is_in(list(satisfied)))])
    else:
        satisfied = set(stats.filter(pl.col("count") >= cond.min_count).get_column("grp").to_list())
    groups = _groups(first, cond.regex)
    lasts = {row["grp"]: row for row in last.iter_rows(named=True)}
    kept: dict[str, list[MatchedLine]] = {}
    for row in sub.filter(pl.col("kept")).iter_rows(named=True):
        kept.setdefault(row["grp"], []).append(_evidence(row, MatchedLine))
    files = _file_counts(sub)
    hits: dict[str, LogHit] = {}
    stat_rows = {row["grp"]: row for row in stats.iter_rows(named=True)}
    for row, grp_values in zip(first.iter_rows(named=True), groups):
        key = row["grp"]
        st = stat_rows[key]
        hits[key] = LogHit(
            satisfied=key in satisfied,
            count=int(st["count"]),
            first=_evidence(row),
            last=_evidence(lasts[key]),
            groups=grp_values,
            nodes=[n for n in st["nodes"] if n is not None],
            first_seen=iso_utc(st["ts_min"]),
            last_seen=iso_utc(st["ts_max"]),
            lines=kept.get(key, []),
            files=files.get(key, []),
        )
    return hits


def _file_counts(sub: pl.DataFrame) -> dict[str, list[LogFileCount]]:
    """Per group and file: all matching lines (count, first/last line) and those not kept."""
    left = ~pl.col("kept")
    stats = sub.group_by("grp", "node", "file").agg(
        pl.len().alias("count"),
        pl.col("line").min().alias("first_line"),
        pl.col("line").max().alias("last_line"),
        left.sum().alias("left_out"),
        pl.col("line").filter(left).min().alias("left_out_first"),
        pl.col("line").filter(left).max().alias("left_out_last"),
    ).sort("grp", "node", "file")
    out: dict[str, list[LogFileCount]] = {}
    for row in stats.iter_rows(named=True):
        grp = row.pop("grp")
        row["node"] = row["node"] or ""
        row["file"] = row["file"] or ""
        out.setdefault(grp, []).append(LogFileCount(**row))
    return out


def _time_key(line: LogEvidence) -> tuple[bool, str, str, int]:
    """Lines in time order (untimed last); `...:00Z` sorts after `...:00.5Z` as text, so pad."""
    ts = line.timestamp or ""
    if ts and "." not in ts:
        ts = ts[:-1] + ".000000Z"
    return (not ts, ts, line.file, line.line)


def merge_hits(hits: list[LogHit]) -> tuple[list[MatchedLine], list[LogFileCount]]:
    """The kept lines and per-file counts of a finding from its matchers' hits.

    One hit (the common case) is taken as it is. Several are merged in time order, a line two
    matchers both matched kept once (its counts stay per matcher, as the finding's log_count),
    and the merged list capped again like one hit: the lines dropped here join their file's
    left-out count and range."""
    if len(hits) == 1:
        return list(hits[0].lines), [dataclasses.replace(c) for c in hits[0].files]
    files: dict[tuple[str, str], LogFileCount] = {}
    for h in hits:
        for c in h.files:
            got = files.get((c.node, c.file))
            if got is None:
                files[(c.node, c.file)] = dataclasses.replace(c)
                continue
            got.count += c.count
            got.first_line = min(got.first_line, c.first_line)
            got.last_line = max(got.last_line, c.last_line)
            _leave_out(got, c.left_out, c.left_out_first, c.left_out_last)
    seen: set[tuple[str, int]] = set()
    lines: list[MatchedLine] = []
    for h in hits:
        for line in h.lines:
            if (line.file, line.line) not in seen:
                seen.add((line.file, line.line))
                lines.append(line)
    lines.sort(key=_time_key)
    if len(lines) > MAX_KEPT_LINES:
        for line in lines[KEPT_HEAD:len(lines) - KEPT_TAIL]:
            c = files.get((line.node, line.file))
            if c is not None:
                _leave_out(c, 1, line.line, line.line)
        lines = lines[:KEPT_HEAD] + lines[len(lines) - KEPT_TAIL:]
    return lines, sorted(files.values(), key=lambda c: (c.node, c.file))


def _leave_out(c: LogFileCount, n: int, first: int | None, last: int | None) -> None:
    if not n or first is None or last is None:
        return
    c.left_out += n
    c.left_out_first = first if c.left_out_first is None else min(c.left_out_first, first)
    c.left_out_last = last if c.left_out_last is None else max(c.left_out_last, last)


def context_order(per_finding: list[list[MatchedLine]], budget: int | None = None) -> list[MatchedLine]:
    """The lines that get context, at most `budget`: the first SHOWN_FIRST of every finding
    (findings in report order), then each finding's others, so every finding's visible lines
    have context before any toggle's."""
    order = [ln for lines in per_finding for ln in lines[:SHOWN_FIRST]]
    order += [ln for lines in per_finding for ln in lines[SHOWN_FIRST:]]
    return order[:MAX_CONTEXT_ANCHORS if budget is None else budget]


def add_context(lines: list[MatchedLine], log_index: Any) -> None:
    """Fill `before`/`after` of the given kept lines (context_order) from the index, in one pass.

    The wanted (file, line) pairs of all lines go into one frame; the index is filtered once on
    their files and line numbers and joined with it. The index holds no blank line (their
    numbers are skipped), so a neighbour is any indexed line within CONTEXT_LINES numbers.
    `has_context` marks the lines looked up (a line may have no indexed neighbour)."""
    todo = [ln for ln in lines if not ln.has_context]
    if not todo:
        return
    anchors = pl.DataFrame(
        {"file": [ln.file for ln in todo], "anchor": [ln.line for ln in todo]},
        schema={"file": pl.String, "anchor": pl.Int64},
    ).unique()
    offsets = pl.DataFrame({"off": [o for o in range(-CONTEXT_LINES, CONTEXT_LINES + 1) if o]},
                           schema={"off": pl.Int64})
    wanted = (anchors.join(offsets, how="cross")
              .with_columns((pl.col("anchor") + pl.col("off")).alias("line"))
              .filter(pl.col("line") >= 1))
    files = wanted.get_column("file").unique().to_list()
    numbers = wanted.get_column("line").unique()
    parts = []
    for frame in _frames(log_index):
        pred = pl.col("file").is_in(files) & pl.col("line").cast(pl.Int64).is_in(numbers.implode())
        got = frame.lazy().filter(pred) if isinstance(frame, pl.DataFrame) else frame.filter(pred)
        parts.append(got.select(pl.col("file").cast(pl.String), pl.col("line").cast(pl.Int64),
                                pl.col("message").cast(pl.String).str.slice(0, MAX_CONTEXT_CHARS + 1)).collect())
    if not parts:
        for ln in todo:
            ln.has_context = True
        return
    found = (pl.concat(parts, how="vertical").unique(["file", "line"], keep="first")
             .join(wanted, on=["file", "line"], how="inner")
             .sort("file", "anchor", "line"))
    near: dict[tuple[str, int], tuple[list[ContextLine], list[ContextLine]]] = {}
    for file, anchor, line, message in found.select("file", "anchor", "line", "message").iter_rows():
        before, after = near.setdefault((file, anchor), ([], []))
        (before if line < anchor else after).append(ContextLine(line=line, message=_cut(message or "", MAX_CONTEXT_CHARS)))
    for ln in todo:
        ln.has_context = True
        got = near.get((ln.file, ln.line))
        if got is not None:
            ln.before, ln.after = list(got[0]), list(got[1])


def _first_window(sub: pl.DataFrame, k: int, window_us: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per group, the first run of k lines whose first and last timestamps are <= window apart."""
    timed = sub.filter(pl.col("timestamp").is_not_null())
    shift = -(k - 1)
    ends = timed.with_columns(
        [pl.col(c).shift(shift).over("grp").alias(f"end_{c}") for c in ("node", "file", "line", "timestamp", "message")]
    ).filter(
        pl.col("end_timestamp").is_not_null()
        & ((pl.col("end_timestamp") - pl.col("timestamp")) <= pl.duration(microseconds=window_us))
    )
    first = ends.group_by("grp", maintain_order=True).first()
    last = first.select(
        "grp",
        *[pl.col(f"end_{c}").alias(c) for c in ("node", "file", "line", "timestamp", "message")],
    )
    return first.select("grp", "node", "file", "line", "timestamp", "message"), last


def _groups(first: pl.DataFrame, regex: str) -> list[dict[str, str]]:
    if first.height == 0 or not has_named_groups(regex):
        return [{} for _ in range(first.height)]
    extracted = first.select(pl.col("message").str.extract_groups(regex).alias("g")).unnest("g")
    return [{k: v for k, v in row.items() if v is not None} for row in extracted.iter_rows(named=True)]


def iso_utc(ts: Any) -> str | None:
    if ts is None:
        return None
    # not strftime("%Y"): glibc writes year 1 as "1", which is not RFC 3339
    text = f"{ts.year:04d}-{ts.month:02d}-{ts.day:02d}T{ts.hour:02d}:{ts.minute:02d}:{ts.second:02d}"
    if ts.microsecond:
        text += f".{ts.microsecond:06d}"
    return text + "Z"


def _cut(message: str, limit: int) -> str:
    return message[:limit] + " …" if len(message) > limit else message


def _evidence(row: dict[str, Any], kind: type[LogEvidence] = LogEvidence) -> Any:
    message = _cut(row["message"] or "", MAX_MESSAGE_CHARS)
    return kind(
        node=row["node"] or "",
        file=row["file"] or "",
        line=int(row["line"] or 0),
        timestamp=iso_utc(row["timestamp"]),
        message=message,
    )
