"""Errors no rule explains: warning/error lines grouped into templates and ranked.

A failure no rule was written for still leaves its lines in the logs. This module takes every
warning, error and fatal line of the log index (`level` W/E/F, docs/facts.md) plus the lines
without a level that carry an error word (`Error:`, `failed`, `panic:`, a `level=error` or
`E1206 ...` header the file's sniffed format did not parse), drops those a rule's log regex
matches (the same alternation the engine's prefilter runs), masks what varies between
occurrences (numbers, ids, IPs, paths with ids, pod names, durations, quoted values with
digits, node names) and groups the lines by the masked text: a template.

Templates are ranked by severity, failure words, count, how many of the bundle's nodes print
them, when they started and stopped, and whether healthy nodes print them too
(rules/common-templates.yaml: ranked down, never hidden).

Speed: the log index can hold tens of millions of lines. Only cheap column filters touch all
of them (the level column; the error-word regex runs only on lines without a level); the rule
alternation and the masking regexes run on the surviving lines, vectorised with polars string
expressions, on at most MASK_CHARS characters of each. Python loops only over templates.
"""
from __future__ import annotations

import functools
import importlib.resources
import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

import polars as pl
import yaml

from k8s_bundle.analyzer.evaluate_logs import iso_utc
from k8s_bundle.analyzer.logkeep import WARNING_LEVELS, summary_of
from k8s_bundle.analyzer.model import Evidence, LogEvidence

MAX_MESSAGE_CHARS = 2000      # the example line, as in findings (evaluate_logs)
MASK_CHARS = 1000             # masking looks at the start of a line only (bounded cost)...
TEMPLATE_CHARS = 400          # ...and the template is the start of the masked text: cutting after
                              # masking keeps one template when the masked values vary in length
LEVELS = WARNING_LEVELS
LEVEL_RANK = {"W": 1, "E": 2, "F": 3}
_RANK_LEVEL = {v: k for k, v in LEVEL_RANK.items()}

# Lines without a level: these words (lower case, Capitalised or UPPER: spelled out rather than
# `(?i)`, which keeps the regex engine on its fast literal search over hundreds of MB of kernel
# and pod logs) or an explicit warning/error header make them candidates.
_ERROR_WORDS = ("error", "failed", "failure", "fatal", "panic", "panicked", "exception", "traceback",
                "refused", "denied", "unable to", "cannot", "can't", "could not", "timed out", "segfault",
                "call trace", "out of memory")


def _spellings(words: Iterable[str]) -> str:
    out: dict[str, None] = {}
    for w in words:
        for v in (w, w[:1].upper() + w[1:], w.upper()):
            out[re.escape(v)] = None
    return "|".join(out)


ERROR_WORDS = (
    r"\b(?:" + _spellings(_ERROR_WORDS) + r"|OOM|oom-kill)\b"
    r'|^[WEF][0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}'                                  # klog header
    r'|\blevel="?(?:warn|warning|error|fatal|panic|WARN|WARNING|ERROR|FATAL|PANIC)\b'
    r'|"(?:level|severity)":\s*"(?:warn|warning|error|fatal|panic|WARN|WARNING|ERROR|FATAL|PANIC)"'
    r"|^\[(?:WARN|WARNING|ERROR|FATAL|PANIC)\]"
)
# An explicit level inside a line whose file was sniffed as another format (mixed files).
_INNER_LEVEL = (
    r'^([IWEF])[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}'            # klog header
    r'|\blevel="?([A-Za-z]+)'                                     # logrus / logfmt
    r'|"(?:level|severity)":\s*"([A-Za-z]+)"'                    # JSON loggers
    r'|^\[([A-Z]+)\]'                                             # CoreDNS [ERROR]
)
_LEVEL_WORDS = {
    "fatal": "F", "panic": "F", "crit": "F", "critical": "F", "alert": "F", "emerg": "F",
    "error": "E", "err": "E", "eror": "E",
    "warning": "W", "warn": "W", "wrn": "W",
    "info": "I", "notice": "I", "inf": "I", "information": "I",
    "debug": "D", "trace": "D", "dbg": "D", "verbose": "D",
    "i": "I", "w": "W", "e": "E", "f": "F",
}
_FATAL_WORDS = r"(?i)\b(?:panic|panicked|fatal)\b"

# Words that make a line say something failed (a boost over a mere warning).
_FAILURE_WORDS = re.compile(
    r"(?i)\b(?:fail(?:ed|ure|s)?|error|errors|refused|denied|unable|cannot|can't|could not|invalid|"
    r"no such|not found|x509|panic|fatal|timeout|timed out|deadline exceeded|exit (?:status|code)|"
    r"crash|oom|killed|unreachable|unavailable|forbidden|unauthorized|corrupt|read-only)\b")

# Pod-name hashes: Kubernetes' rand.SafeEncodeString alphabet (no vowels, no 0/1/3).
_SAFE = "[bcdfghjklmnpqrstvwxz2456789]"
_HEX = "[0-9a-fA-F]"

# (regex, replacement), applied in order. Later patterns see the earlier masks (`<id>`, ...).
MASKS: tuple[tuple[str, str], ...] = (
    (r'\\"', '"'),                                                          # klog's escaped quotes
    (r"(?i)\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b", "<mac>"),
    (r"\b[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:[.,][0-9]+)?"
     r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?(?: [+-][0-9]{4} [A-Z]{2,5})?(?: m=[+-][0-9.]+)?", "<time>"),
    (r"\b[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?\b", "<time>"),
    (r"\b([IWEF])[0-9]{4} <time> +[0-9]+ ", "${1} "),                      # a nested klog header
    (f"{_HEX}{{8}}[-_]{_HEX}{{4}}[-_]{_HEX}{{4}}[-_]{_HEX}{{4}}[-_]{_HEX}{{12}}\\b", "<id>"),   # UUID (also pod cgroup form)
    (r"\b[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?:/[0-9]{1,2})?(?::[0-9]{1,5})?\b", "<ip>"),
    (r"\[::\](?::[0-9]{1,5}\b)?", "<ip>"),                                  # [::]:port, the unspecified address
    (r"\[?(?:\b(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}\b"
     r"|\b(?:[0-9a-fA-F]{1,4}:){1,7}:(?:[0-9a-fA-F]{1,4}\b(?::[0-9a-fA-F]{1,4}\b)*)?"
     r"|::[0-9a-fA-F]{1,4}\b(?::[0-9a-fA-F]{1,4}\b)*)(?:%[0-9A-Za-z]+)?\]?(?::[0-9]{1,5}\b)?", "<ip>"),
    (r"\b0x[0-9a-fA-F]+\b", "<hex>"),
    (r"\b(?:sha256:)?[0-9a-f]{12,}\b", "<id>"),                             # container/image ids
    # pod names: deployment (name-<rs hash>-<5>) and daemonset/job (name-<5>); docker's
    # k8s_<container>_<pod>_<ns>_... names continue with `_`, kept
    (f"\\b[a-z0-9](?:[-a-z0-9]*[a-z0-9])?-{_SAFE}{{6,10}}-{_SAFE}{{5}}(\\b|_)", "<pod>${1}"),
    (f"\\b[a-z0-9](?:[-a-z0-9]*[a-z0-9])?-{_SAFE}{{5}}(\\b|_)", "<pod>${1}"),
    (r'"[^"\s]*[0-9][^"\s]*"', '"<val>"'),                                  # quoted values with digits
    (r"'[^'\s]*[0-9][^'\s]*'", "'<val>'"),
    (r"\b[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h)(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h))*\b", "<dur>"),
    (r"\b[0-9]+(?:\.[0-9]+)*(?:[a-zA-Z%]{1,3})?\b", "<num>"),
    # an absolute path holding an id or number (not `ns/<pod>`, not the path of a URL)
    (r"(^|[\s\"'(=\[,])/(?:[\w.@+~:=,-]*/)*[\w.@+~:=,-]*<[a-z]+>(?:[\w.@+~:=,<>/-]*[\w@+~=<>/-])?", "${1}<path>"),
    (r"\s+", " "),
)


@dataclass
class Template:
    """One group of unexplained lines that differ only in what MASKS replaces."""

    template: str
    level: str                      # the worst level among its lines: F, E or W
    count: int
    first_seen: str | None
    last_seen: str | None
    nodes: list[str]
    example: LogEvidence
    score: float
    common: bool


@dataclass
class CommonTemplate:
    id: str
    pattern: re.Pattern[str]
    component: str = ""
    why: str = ""
    reference: str = ""
    example: str = ""


@dataclass
class _Weights:
    severity: dict[str, float] = field(default_factory=lambda: {"F": 4.0, "E": 2.5, "W": 1.0})
    failure_word: float = 1.5       # the text says something failed / was refused / not found
    volume: float = 0.35            # per decade of lines: a repeating error counts, but not linearly
    few_nodes: float = 0.3          # + for a template on one node of many, - on every node
    late_start: float = 1.3         # began well after the node's log did (something changed)
    recent: float = 1.15            # still printed at the end of the node's log
    common: float = 0.15            # printed by healthy nodes too


WEIGHTS = _Weights()


# -- data file ----------------------------------------------------------------------------------
def load_common_templates(path: str | None = None) -> list[CommonTemplate]:
    """rules/common-templates.yaml (or `path`): the templates healthy nodes print."""
    if path is None:
        text = importlib.resources.files("k8s_bundle.rules").joinpath("common-templates.yaml").read_text("utf-8")
    else:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    doc = yaml.safe_load(text) or {}
    out = []
    for entry in doc.get("templates") or []:
        out.append(CommonTemplate(
            id=str(entry["id"]), pattern=re.compile(str(entry["pattern"])),
            component=str(entry.get("component") or ""), why=str(entry.get("why") or ""),
            reference=str(entry.get("reference") or ""), example=str(entry.get("example") or ""),
        ))
    return out


@functools.lru_cache(maxsize=1)
def _shipped_common() -> tuple[CommonTemplate, ...]:
    return tuple(load_common_templates())


# -- the rules' log regexes ---------------------------------------------------------------------
_NAMED_GROUP = re.compile(r"(?<!\\)((?:\\\\)*)\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>")


ALTERNATION_CHUNK = 16   # regexes per alternation (see rule_alternations)


def rule_alternations(rules: Iterable[Any], chunk: int = ALTERNATION_CHUNK) -> list[str]:
    """The rules' log regexes as a few alternations of `chunk` regexes each. One alternation of
    all ~240 shipped regexes outgrows the regex engine's lazy-DFA cache and falls back to its
    slow engine (measured: 35 s for 3,000 lines, against 0.09 s for 13 alternations of 16)."""
    regexes = list(dict.fromkeys(_NAMED_GROUP.sub(lambda m: m.group(1) + "(?:", c.regex)
                                 for rule in rules for c in rule.log_conditions()))
    return ["|".join(f"(?:{r})" for r in regexes[i:i + chunk]) for i in range(0, len(regexes), chunk)]


def rule_alternation(rules: Iterable[Any]) -> str | None:
    """The alternation of every log regex of `rules` (named groups made plain, as the engine's
    prefilter does: names may repeat across rules); None when no rule reads logs."""
    seen: dict[str, None] = {}
    for rule in rules:
        for cond in rule.log_conditions():
            seen[_NAMED_GROUP.sub(lambda m: m.group(1) + "(?:", cond.regex)] = None
    if not seen:
        return None
    return "|".join(f"(?:{r})" for r in seen)


# -- selecting the lines ------------------------------------------------------------------------
def _frames(log_index: Any) -> Iterable[pl.DataFrame]:
    if log_index is None:
        return []
    if isinstance(log_index, pl.LazyFrame):
        return [log_index.collect()]
    if isinstance(log_index, pl.DataFrame):
        return [log_index]
    return [f.collect() if isinstance(f, pl.LazyFrame) else f for f in log_index]


_CAND_SCHEMA = {
    "node": pl.String, "file": pl.String, "line": pl.UInt32,
    "timestamp": pl.Datetime("us", "UTC"), "level": pl.String, "message": pl.String,
}


def _plain(frame: pl.DataFrame, level: pl.Expr) -> pl.DataFrame:
    return frame.select(
        pl.col("node").cast(pl.String), pl.col("file").cast(pl.String), pl.col("line").cast(pl.UInt32),
        pl.col("timestamp").cast(pl.Datetime("us", "UTC")), level.alias("level"), pl.col("message").cast(pl.String),
    )


def candidate_lines(log_index: Any, combined: str | list[str] | None) -> pl.DataFrame:
    """W/E/F lines and level-less lines with an error word, minus what a rule regex matches."""
    parts: list[pl.DataFrame] = []
    for frame in _frames(log_index):
        if frame.height == 0:
            continue
        level = pl.col("level")
        leveled = frame.filter(level.is_in(LEVELS))
        if leveled.height:
            parts.append(_plain(leveled, level.cast(pl.String)))
        bare = frame.filter(level.is_null())
        if bare.height:
            bare = bare.filter(pl.col("message").str.contains(ERROR_WORDS))
        if bare.height:
            parts.append(_infer_levels(_plain(bare, pl.lit(None, pl.String))))
    if not parts:
        return pl.DataFrame(schema=_CAND_SCHEMA)
    cand = pl.concat(parts, how="vertical")
    for pattern in [combined] if isinstance(combined, str) else combined or []:
        if cand.height:
            cand = cand.filter(~pl.col("message").str.contains(pattern))
    return cand


def _infer_levels(frame: pl.DataFrame) -> pl.DataFrame:
    """Level-less lines: an explicit header wins (an info line with `failed` in it is dropped);
    otherwise `panic`/`fatal` make it F and any other error word E."""
    g = pl.col("message").str.extract_groups(_INNER_LEVEL)
    frame = frame.with_columns(g.alias("_g"))
    f = pl.col("_g").struct.field
    word = pl.coalesce(f("2"), f("3"), f("4")).str.to_lowercase().replace_strict(
        _LEVEL_WORDS, default=None, return_dtype=pl.String)
    explicit = pl.coalesce(f("1"), word)
    guessed = pl.when(pl.col("message").str.contains(_FATAL_WORDS)).then(pl.lit("F")).otherwise(pl.lit("E"))
    frame = frame.with_columns(pl.coalesce(explicit, guessed).alias("level")).drop("_g")
    return frame.filter(pl.col("level").is_in(LEVELS))


# -- masking ------------------------------------------------------------------------------------
def node_name_pattern(names: Iterable[str]) -> str | None:
    """A regex of the bundle's node and host names (longest first), so that the same line on
    node1 and node12 is one template. Names shorter than 3 characters are left alone."""
    uniq = sorted({n for n in names if isinstance(n, str) and len(n) >= 3}, key=len, reverse=True)
    if not uniq:
        return None
    return r"\b(?:" + "|".join(re.escape(n) for n in uniq) + r")\b"


def mask_expr(message: pl.Expr, node_pattern: str | None = None) -> pl.Expr:
    """The template of each message: MASKS applied to its first MASK_CHARS characters, cut to
    TEMPLATE_CHARS."""
    out = message.str.slice(0, MASK_CHARS)
    if node_pattern:
        out = out.str.replace_all(node_pattern, "<node>")
    for pattern, repl in MASKS:
        out = out.str.replace_all(pattern, repl)
    return out.str.strip_chars().str.slice(0, TEMPLATE_CHARS)


def mask(text: str, node_names: Iterable[str] = ()) -> str:
    """One message's template (tests, tools); the same expressions as the vectorised path."""
    frame = pl.DataFrame({"m": [text]}, schema={"m": pl.String})
    return frame.select(mask_expr(pl.col("m"), node_name_pattern(node_names)))["m"][0]


# -- grouping and ranking -----------------------------------------------------------------------
def unexplained_templates(evidence: Evidence, rules: list[Any], limit: int = 50,
                          common: Iterable[CommonTemplate] | None = None) -> list[Template]:
    """The templates of lines no rule explains, best first (at most `limit`)."""
    by_key = candidate_groups(evidence, rules)
    if by_key.height == 0:
        return []
    names = _node_names(evidence)
    groups = _templates(by_key, node_name_pattern(names))
    spans = summary_of(evidence).node_spans()
    n_nodes = max(len(spans), 1)
    commons = tuple(_shipped_common() if common is None else common)
    templates = [_template(row, spans, n_nodes, commons) for row in groups.iter_rows(named=True)]
    templates.sort(key=lambda t: (-t.score, -LEVEL_RANK.get(t.level, 0), -t.count, t.template))
    return templates[: max(limit, 0)]


# Lines that differ only in digits and hex runs are grouped before masking, and only the first
# line of each such group is masked: one cheap regex pass over every candidate line instead of
# the whole MASKS chain (several times cheaper on a node's worth of warnings). Groups whose
# masked texts agree are merged afterwards. A group could hide a line whose template differs
# only where the key drops characters (`v1` and `v2`): the example line shows the real text.
PREKEY = r"[0-9a-fA-F]{4,}|[0-9]+"
_EXAMPLE = ("node", "file", "line", "timestamp", "message")


def _example(col: str) -> pl.Expr:
    # the example: the first line of the worst level (row order is kept within a group)
    return pl.col(col).sort_by("rank", descending=True, maintain_order=True).first().alias(f"ex_{col}")


def by_key(cand: pl.DataFrame, by: tuple[str, ...] = ()) -> pl.DataFrame:
    """Candidate lines (node, file, line, timestamp, level, message, and the `by` columns)
    grouped by their digit-less key: count, worst level, first and last time, nodes, example."""
    cand = cand.with_columns(
        pl.col("message").str.slice(0, MASK_CHARS).str.replace_all(PREKEY, "").alias("key"),
        pl.col("level").replace_strict(LEVEL_RANK, default=0, return_dtype=pl.Int8).alias("rank"),
    )
    return cand.group_by("key", *by, maintain_order=True).agg(
        pl.len().alias("count"),
        pl.col("rank").max().alias("rank"),
        pl.col("timestamp").min().alias("ts_min"),
        pl.col("timestamp").max().alias("ts_max"),
        pl.col("node").unique().alias("nodes"),
        *[_example(c) for c in _EXAMPLE],
    )


def merge_keys(groups: list[pl.DataFrame]) -> pl.DataFrame:
    """Partial groups of `by_key` (of blocks, in the index's order) merged into one per key."""
    groups = [g for g in groups if g.height]
    if not groups:
        return pl.DataFrame(schema=_BY_KEY_SCHEMA)
    frame = pl.concat([g.select([pl.col(c).cast(t) for c, t in _BY_KEY_SCHEMA.items()]) for g in groups])
    return _merge(frame, ())


def merge_keys_partial(groups: list[pl.DataFrame]) -> pl.DataFrame:
    """Blocks' partial groups (by key, node and kind; naive times) merged, to stay small."""
    return _merge(pl.concat(groups, how="vertical_relaxed"), ("node", "kind"))


def _merge(frame: pl.DataFrame, by: tuple[str, ...]) -> pl.DataFrame:
    return frame.group_by("key", *by, maintain_order=True).agg(
        pl.col("count").sum(),
        pl.col("rank").max(),
        pl.col("ts_min").min(),
        pl.col("ts_max").max(),
        pl.col("nodes").explode().unique().drop_nulls().alias("nodes"),
        *[pl.col(f"ex_{c}").sort_by("rank", descending=True, maintain_order=True).first() for c in _EXAMPLE],
    )


_BY_KEY_SCHEMA = {
    "key": pl.String, "count": pl.UInt32, "rank": pl.Int8, "ts_min": pl.Datetime("us", "UTC"),
    "ts_max": pl.Datetime("us", "UTC"), "nodes": pl.List(pl.String), "ex_node": pl.String, "ex_file": pl.String,
    "ex_line": pl.UInt32, "ex_timestamp": pl.Datetime("us", "UTC"), "ex_message": pl.String,
}


def block_candidates(frame: pl.DataFrame, rule: pl.Series, worded: pl.Series) -> pl.DataFrame:
    """One parsed block's candidate lines (`rule`: the rows a rule's regex matches; `worded`:
    level-less rows with an error word), grouped by key, node and kind; the times are the
    block's naive ones, fixed at the end."""
    rest = frame.with_columns(worded.alias("_worded")).filter(~rule)
    level = pl.col("level").cast(pl.String)

    def plain(part: pl.DataFrame, lvl: pl.Expr) -> pl.DataFrame:
        return part.select(pl.col("node").cast(pl.String), pl.col("file").cast(pl.String), pl.col("line").cast(pl.UInt32),
                           pl.col("ts").alias("timestamp"), lvl.alias("level"), pl.col("message").cast(pl.String), "kind")

    parts = [plain(rest.filter(level.is_in(LEVELS)), level)]
    bare = rest.filter(level.is_null() & pl.col("_worded"))
    if bare.height:
        parts.append(_infer_levels(plain(bare, pl.lit(None, pl.String))))
    cand = pl.concat(parts, how="vertical")
    return by_key(cand, ("node", "kind")) if cand.height else pl.DataFrame()


def candidate_groups(evidence: Evidence, rules: list[Any]) -> pl.DataFrame:
    """The candidate lines grouped by key: those the log summary grouped while the index was
    built, and those of the index rows it did not count."""
    index = evidence.log_index
    frames = [f.filter(~pl.col("counted")) if "counted" in f.columns else f for f in _frames(index)]
    cand = candidate_lines(frames, rule_alternations(rules))
    summary = summary_of(evidence)
    partial = [summary.candidates] if summary.candidates is not None else []
    if not partial:
        return by_key(cand)
    return merge_keys(partial + [by_key(cand)])


def _templates(by_key: pl.DataFrame, node_pattern: str | None) -> pl.DataFrame:
    by_key = by_key.with_columns(mask_expr(pl.col("ex_message"), node_pattern).alias("template"))
    by_key = by_key.sort(["rank", "ex_file", "ex_line"], descending=[True, False, False], nulls_last=True)
    return by_key.group_by("template", maintain_order=True).agg(
        pl.col("count").sum(),
        pl.col("rank").max(),
        pl.col("ts_min").min(),
        pl.col("ts_max").max(),
        pl.col("nodes").explode().drop_nulls().unique().sort(),
        *[pl.col(f"ex_{c}").first() for c in _EXAMPLE],
    )


def _node_names(evidence: Evidence) -> list[str]:
    names: list[str] = list(evidence.nodes or {})
    for facts in (evidence.nodes or {}).values():
        if isinstance(facts, dict):
            for key in ("hostname", "name"):
                if isinstance(facts.get(key), str):
                    names.append(facts[key])
    for n in (evidence.manifest or {}).get("nodes") or []:
        if isinstance(n, dict) and isinstance(n.get("name"), str):
            names.append(n["name"])
    return names


def _template(row: dict[str, Any], spans: dict[str, tuple[Any, Any]], n_nodes: int,
              commons: tuple[CommonTemplate, ...]) -> Template:
    level = _RANK_LEVEL.get(int(row["rank"] or 0), "W")
    message = row["ex_message"] or ""
    is_common = any(c.pattern.search(message) for c in commons)
    nodes = [n for n in row["nodes"] if n is not None]
    score = _score(row["template"], level, int(row["count"]), nodes, row["ts_min"], row["ts_max"],
                   spans, n_nodes, is_common)
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + " …"
    example = LogEvidence(node=row["ex_node"] or "", file=row["ex_file"] or "", line=int(row["ex_line"] or 0),
                          timestamp=iso_utc(row["ex_timestamp"]), message=message)
    return Template(template=row["template"], level=level, count=int(row["count"]),
                    first_seen=iso_utc(row["ts_min"]), last_seen=iso_utc(row["ts_max"]), nodes=nodes,
                    example=example, score=round(score, 4), common=is_common)


def _score(template: str, level: str, count: int, nodes: list[str], first: Any, last: Any,
           spans: dict[str, tuple[Any, Any]], n_nodes: int, is_common: bool) -> float:
    """Severity x failure words x volume x node spread x timing x commonness (all > 0)."""
    w = WEIGHTS
    score = w.severity.get(level, 1.0)
    if _FAILURE_WORDS.search(template):
        score *= w.failure_word
    score *= 1.0 + w.volume * math.log10(max(count, 1))
    if n_nodes > 1:
        # 1 + few_nodes on one node of many, 1 - few_nodes on every node
        spread = (len(nodes) - 1) / (n_nodes - 1)
        score *= 1.0 + w.few_nodes * (1.0 - 2.0 * min(max(spread, 0.0), 1.0))
    score *= _timing(nodes, first, last, spans)
    if is_common:
        score *= w.common
    return score


def _timing(nodes: list[str], first: Any, last: Any, spans: dict[str, tuple[Any, Any]]) -> float:
    """Late start: the template began after the first quarter of its nodes' logs (healthy noise
    runs from boot). Recent: it was still printed in the last tenth (or 30 minutes)."""
    if first is None or last is None:
        return 1.0
    lows = [spans[n][0] for n in nodes if n in spans and spans[n][0] is not None]
    highs = [spans[n][1] for n in nodes if n in spans and spans[n][1] is not None]
    if not lows or not highs:
        return 1.0
    lo, hi = min(lows), max(highs)
    span = (hi - lo).total_seconds()
    if span <= 0:
        return 1.0
    factor = 1.0
    if (first - lo).total_seconds() > 0.25 * span:
        factor *= WEIGHTS.late_start
    if (hi - last).total_seconds() <= max(0.1 * span, 1800.0):
        factor *= WEIGHTS.recent
    return factor


