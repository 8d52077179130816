"""Which log lines the index keeps, and what it counts of the others (issue 13: flat memory).

A busy node writes millions of lines a day and nearly all of them are ordinary. Keeping every
line in the index made the analyzer's memory grow with the bundle (1.2 GB per GB of logs) and
made every view scan every line again. Instead, each parsed block of a log is reduced as it is
read to:

- the rows something downstream reads (`KeepPolicy.mask`):
  - lines a rule's regex can match, found by the literals every match must contain
    (`required_literals`: "PLEG is not healthy" out of `PLEG is not healthy: pleg was last seen
    active (?P<ago>\\S+)`), one Aho-Corasick pass per block instead of ~25 regex passes;
  - warning, error and fatal lines, and level-less lines with an error word (the errors no rule
    explains, the timeline's counts);
  - up to CONTEXT_ROWS lines around a line a rule can match (the evidence's context), and the
    first and last CONTEXT_ROWS lines of the block, so that context across two blocks is there;
  - the journal's boot markers, the line after each, and the block's first timed line (boots
    on the timeline);
- counts of all lines (`LogSummary`): per node, source and identifier (which component logs
  where: blind spots, node kind) and a per-minute histogram of timestamps per node (the
  timeline's span, each node's first and last line).

Rows a rule may match are a superset of what the rules match, so the engine's own prefilter and
matching run unchanged on the kept rows, and every count stays exact.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Iterable

import polars as pl

try:  # the standard library's regex parser: the tree of a pattern, to find its literals
    import re._constants as _sc
    import re._parser as _sp
except ImportError:  # Python < 3.11
    import sre_constants as _sc  # type: ignore[no-redef]
    import sre_parse as _sp  # type: ignore[no-redef]

CONTEXT_ROWS = 3          # evaluate_logs.CONTEXT_LINES: context the evidence shows around a line
WARNING_LEVELS = ("W", "E", "F")   # lines the timeline counts and the unexplained view reads
ERROR_LEVELS = ("E", "F")          # of those, the timeline's errors
_MAX_SET = 64             # strings an option set may grow to (cross products of small groups)
_REPEATS = {_sc.MAX_REPEAT, _sc.MIN_REPEAT} | ({_sc.POSSESSIVE_REPEAT} if hasattr(_sc, "POSSESSIVE_REPEAT") else set())
_ZERO_WIDTH = {_sc.AT, _sc.ASSERT, _sc.ASSERT_NOT}
# Rust syntax that Python's parser reads differently (or not at all): no literal is trusted
_FOREIGN = re.compile(r"\\[pPzx]\{|\[\[:|\{,")


def required_literals(regex: str) -> tuple[list[str], bool] | None:
    """(literals, ignore case): every string the regex matches contains one of the literals;
    None when nothing can be shown to be required (or Python's parser does not read the pattern
    as the rules' Rust engine does). The best set is the one whose shortest string is longest.

    Runs of literal text grow across small groups: `server(?:_others|_linux)?\\.go:` requires
    one of `server.go:`, `server_others.go:`, `server_linux.go:`."""
    sets = literal_sets(regex)
    if not sets:
        return None
    options, ignore_case = sets
    return sorted(options[0]), ignore_case


def literal_sets(regex: str) -> tuple[list[set[str]], bool] | None:
    """Every option set the regex requires (best first), and whether it ignores case."""
    if _FOREIGN.search(regex):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            parsed = _sp.parse(regex)
    except (re.error, RecursionError, OverflowError, ValueError, Warning):
        return None
    ignore_case = bool(parsed.state.flags & _sc.SRE_FLAG_IGNORECASE) or _has_scoped_ignorecase(list(parsed))
    _, options = _sequence(list(parsed), ignore_case)
    options = [o for o in options if o and min(len(x) for x in o) >= 3]
    if not options:
        return None
    options.sort(key=lambda o: (-min(len(x) for x in o), len(o)))
    return options, ignore_case


def _has_scoped_ignorecase(items: list) -> bool:
    for op, av in items:
        if op is _sc.SUBPATTERN:
            if av[1] & _sc.SRE_FLAG_IGNORECASE or _has_scoped_ignorecase(list(av[-1])):
                return True
        elif op is _sc.BRANCH:
            if any(_has_scoped_ignorecase(list(b)) for b in av[1]):
                return True
        elif op in _REPEATS:
            if _has_scoped_ignorecase(list(av[2])):
                return True
    return False


def _item(op: object, av: object, nocase: bool) -> tuple[set[str] | None, list[set[str]]]:
    """(exact, options) of one parsed item: `exact` the finite set of strings it matches (None
    when unbounded or too many), `options` the sets of strings one of which it requires."""
    if op is _sc.LITERAL:
        ch = chr(av)  # type: ignore[arg-type]
        # ASCII only: the search folds ASCII case, and a non-ASCII letter's case is not ASCII's
        return ({ch}, []) if ch.isascii() else (None, [])
    if op in _ZERO_WIDTH:
        return {""}, []
    if op is _sc.IN:
        chars = [chr(v) for o, v in av if o is _sc.LITERAL] if all(o is _sc.LITERAL for o, _ in av) else []  # type: ignore[union-attr]
        return (set(chars), []) if 0 < len(chars) <= 4 and all(c.isascii() for c in chars) else (None, [])
    if op is _sc.SUBPATTERN:
        return _sequence(list(av[-1]), nocase)  # type: ignore[index]
    if op is _sc.BRANCH:
        branches = [_sequence(list(b), nocase) for b in av[1]]  # type: ignore[index]
        exact: set[str] | None = set()
        for e, _ in branches:
            exact = None if e is None or exact is None else exact | e
        if exact is not None and len(exact) > _MAX_SET:
            exact = None
        picks = [_best(([e] if e is not None and "" not in e else []) + o) for e, o in branches]
        option = set().union(*picks) if picks and all(picks) else None  # type: ignore[arg-type]
        return exact, [option] if option else []
    if op in _REPEATS:
        low, high, sub = av  # type: ignore[misc]
        e, o = _sequence(list(sub), nocase)
        if high == 1 and e is not None:
            return (e | {""}) if low == 0 else e, []
        if low >= 1:
            return None, ([e] if e is not None and "" not in e else []) + o
        return None, []
    return None, []


def _sequence(items: list, nocase: bool) -> tuple[set[str] | None, list[set[str]]]:
    """(exact, options) of a concatenation: runs of finite items are multiplied out."""
    options: list[set[str]] = []
    run: set[str] = {""}
    broken = False

    def close() -> None:
        if run and "" not in run:
            options.append(set(run))

    for op, av in items:
        exact, inner = _item(op, av, nocase)
        options.extend(inner)
        if exact is None:
            close()
            run, broken = {""}, True
            continue
        grown = {a + b for a in run for b in exact}
        if len(grown) > _MAX_SET:
            close()
            run, broken = set(exact), True
        else:
            run = grown
    close()
    return (None if broken else run), options


def _best(options: list[set[str]]) -> set[str] | None:
    options = [o for o in options if o and "" not in o]
    return max(options, key=lambda o: (min(len(x) for x in o), -len(o))) if options else None


@dataclass
class KeepPolicy:
    """The rows of a parsed block the index keeps (module docstring)."""

    search: list[str] = field(default_factory=list)            # lower-cased literals; every match
                                                               # of a `verify` regex holds one
    verify: list[str] = field(default_factory=list)            # the regexes those literals stand for
    owners: pl.DataFrame | None = None                         # lit (lower case), rid (in verify)
    regexes: list[str] = field(default_factory=list)           # regexes without a literal
    error_words: str = ""                                      # unexplained.ERROR_WORDS

    @classmethod
    def for_regexes(cls, regexes: Iterable[str]) -> "KeepPolicy":
        from k8s_bundle.analyzer.evaluate_logs import prefilter_chunks, strip_group_names
        from k8s_bundle.analyzer.unexplained import ERROR_WORDS

        policy = cls(error_words=ERROR_WORDS)
        plain: list[str] = []
        owners: list[tuple[str, int]] = []
        for regex in dict.fromkeys(strip_group_names(r) for r in regexes):
            found = required_literals(regex)
            if found is None:
                plain.append(regex)
                continue
            literals, nocase = found
            rid = len(policy.verify)
            policy.verify.append(regex)
            owners += [(lit.lower(), rid) for lit in literals]
        policy.search = sorted({lit for lit, _ in owners})
        policy.owners = pl.DataFrame(owners, schema={"lit": pl.String, "rid": pl.UInt32}, orient="row").unique()
        policy.regexes = prefilter_chunks(plain)
        return policy

    @classmethod
    def for_rules(cls, rules: Iterable[object]) -> "KeepPolicy":
        return cls.for_regexes(c.regex for r in rules for c in r.log_conditions())  # type: ignore[attr-defined]

    def rule_candidates(self, frame: pl.DataFrame) -> pl.Series:
        """True where a rule's regex matches the message: every literal in one case-insensitive
        Aho-Corasick pass (a superset of the case-sensitive search, and half the cost of two),
        then, on the few lines that hold one, the regexes of the literals each line holds (a
        literal such as `server.go:` is in many lines that `server(?:_others|_linux)?\\.go:\\d+\\] `
        does not match)."""
        msg = pl.col("message")
        exprs = [msg.str.contains(r) for r in self.regexes]
        if self.search:
            exprs.insert(0, msg.str.contains_any(self.search, ascii_case_insensitive=True))
        if not exprs:
            return pl.Series([False] * frame.height)
        flags = frame.select(*[e.fill_null(False).alias(f"c{i}") for i, e in enumerate(exprs)])
        found = pl.Series([False] * frame.height) if not self.regexes else flags.select(
            pl.any_horizontal(flags.columns[1 if self.search else 0:]))[:, 0]
        if not self.search:
            return found
        at = flags["c0"].arg_true()
        if not at.len() or self.owners is None:
            return found
        sub = frame.select("message")[at].with_row_index("row")
        pairs = (sub.select("row", msg.str.extract_many(self.search, overlapping=True, ascii_case_insensitive=True)
                            .list.eval(pl.element().str.to_lowercase()).alias("lit"))
                 .explode("lit").drop_nulls("lit")
                 .join(self.owners, on="lit").select("row", "rid").unique())
        hit_rows: list[pl.Series] = []
        for (rid,), rows in pairs.partition_by("rid", as_dict=True).items():
            rows_s = rows["row"]
            test = sub["message"].gather(rows_s).str.contains(self.verify[rid]).fill_null(False)
            hit_rows.append(rows_s.filter(test))
        hits = pl.concat(hit_rows).unique() if hit_rows else pl.Series([], dtype=pl.UInt32)
        if hits.len():
            found = found.scatter(at.gather(hits), True)
        return found

    def mask(self, frame: pl.DataFrame, rule: pl.Series, syslog: pl.Series, warned: pl.Series) -> pl.Series:
        """The rows of one parsed block (node, source, file, line, ts, kind, level, ident,
        message; rows in file and line order) to keep. `rule`: rule_candidates(frame);
        `syslog`: rows of syslog files, whose warnings (`warned`: level_rows) stay rows until
        the journal's copies are dropped (analyzer/logdedupe.py)."""
        n = frame.height
        near = rule
        for k in range(1, CONTEXT_ROWS + 1):
            near = near | rule.shift(k, fill_value=False) | rule.shift(-k, fill_value=False)
        msg = pl.col("message")
        untimed = pl.col("ts").is_null()
        boot = untimed & (msg.str.starts_with("-- Boot ") | (msg == "-- Reboot --"))
        flags = frame.select(boot.fill_null(False).alias("boot"), (~untimed).alias("timed"))
        boot_s, timed = flags["boot"], flags["timed"]
        first_timed = timed & (timed.cum_sum() == 1)
        index = pl.Series(range(n), dtype=pl.Int64)
        edge = (index < CONTEXT_ROWS) | (index >= n - CONTEXT_ROWS)
        keep = near | boot_s | boot_s.shift(1, fill_value=False) | first_timed | edge
        return keep | (syslog & warned) if syslog.any() else keep


def own_strings(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with a new copy of each string: polars strings are views into the buffers they
    were cut from, so a kept row or a group's example would hold its whole 16 MB block alive."""
    cols = [c for c, t in frame.schema.items() if t == pl.String]
    return frame.with_columns([pl.col(c) + pl.lit("") for c in cols]) if cols else frame


def level_rows(frame: pl.DataFrame, error_words: str) -> tuple[pl.Series, pl.Series]:
    """(warning, error and fatal rows; level-less rows with an error word). The error words'
    regex runs on the level-less rows only (a kubelet or containerd log has none)."""
    level = frame["level"].cast(pl.String)
    leveled = level.is_in(WARNING_LEVELS).fill_null(False)
    bare = level.is_null().arg_true()
    worded = pl.Series([False] * frame.height, dtype=pl.Boolean)
    if bare.len():
        hit = frame["message"].gather(bare).str.contains(error_words).fill_null(False)
        if hit.any():
            worded = worded.scatter(bare.filter(hit), True)
    return leveled, worded


# -- counts of every line ---------------------------------------------------------------------
_EMPTY_JOURNAL = r"^-- (?:No entries|Logs begin|Journal begins|Boot )"   # node_kind's placeholders
_MINUTE_US = 60_000_000


def block_counts(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(counts, minutes) of one parsed block, before its rows are reduced:
    counts: node, source, ident, lines (not `-- ` journal notes), real (not an empty-journal
    placeholder); minutes: node, kind, minute, n, lo, hi over the naive (not yet fixed) times."""
    msg = pl.col("message")
    dash = msg.str.starts_with("-- ")
    counts = (frame.lazy()
              .group_by("node", "source", "ident")
              .agg((~dash).sum().alias("lines"),
                   (~(dash & msg.str.contains(_EMPTY_JOURNAL))).sum().alias("real"))
              .collect())
    minutes = (frame.lazy().filter(pl.col("ts").is_not_null())
               .group_by("node", "kind", (pl.col("ts").dt.epoch("us") // _MINUTE_US).alias("minute"))
               .agg(pl.len().alias("n"), pl.col("ts").min().alias("lo"), pl.col("ts").max().alias("hi"))
               .collect())
    return counts, minutes


def block_levels(frame: pl.DataFrame) -> pl.DataFrame:
    """Warning and error lines of one block per node, source, identifier and second (naive
    time, with its kind, fixed at the end as the rows' are): the timeline's counts."""
    return (frame.lazy().filter(pl.col("level").cast(pl.String).is_in(WARNING_LEVELS))
            .group_by("node", "source", "ident", "kind", pl.col("ts").dt.truncate("1s").alias("ts"),
                      pl.col("level").cast(pl.String).is_in(ERROR_LEVELS).alias("error"))
            .agg(pl.len().alias("n"))
            .collect())


def journal_keys(frame: pl.DataFrame, rows: pl.Series) -> pl.Series | pl.DataFrame:
    """The journal's warning rows, which are counted and dropped: a syslog row repeating one of
    them is dropped at the end (logdedupe). Lines with a full timestamp (journalctl's
    short-iso-precise) become one 64-bit `line_key` each; others (node, message hash, naive
    second, kind), whose time is fixed at the end."""
    from k8s_bundle.analyzer.logdedupe import line_key

    lines = frame.filter(rows & pl.col("source").cast(pl.String).str.starts_with("journal/") & pl.col("ts").is_not_null())
    if lines.height and int(lines["kind"].max() or 0) == 0:   # ABSOLUTE: the time is UTC already
        return lines.select(line_key(pl.col("node"), pl.col("message").hash(),
                                     pl.col("ts").dt.truncate("1s").dt.epoch("s")).alias("k"))["k"].unique()
    return (lines.select("node", pl.col("message").hash().alias("_h"), pl.col("ts").dt.truncate("1s"), "kind")
            .unique())


@dataclass
class LogSummary:
    """Counts over every indexed line, whatever rows were kept (module docstring).

    counts: node, source, ident (strings), lines (not journal `-- ` notes), real (lines that are
    not an empty-journal placeholder); minutes: node, minute (UTC epoch minutes), n, lo, hi
    (Datetime us UTC) of the timed lines. With a keep policy also: levels (node, source, ident,
    second (UTC epoch seconds, null: no time), error, n) of the warning and error lines the rows
    do not hold (rows with `counted` false are not in it), candidates (the errors no rule
    explains, grouped as analyzer.unexplained groups them) and journal_keys (logdedupe.line_key of
    the journal's warnings, when a syslog file was read)."""

    counts: pl.DataFrame
    minutes: pl.DataFrame
    levels: pl.DataFrame | None = None
    candidates: pl.DataFrame | None = None
    journal_keys: pl.Series | None = None

    @classmethod
    def of_index(cls, index: pl.DataFrame) -> "LogSummary":
        """The summary of a full index (one built without a KeepPolicy, or by hand in tests)."""
        frame = index.select(
            pl.col("node"), pl.col("source"), pl.col("ident"), pl.col("message"),
            pl.col("timestamp").dt.replace_time_zone(None).alias("ts"), pl.lit(0, pl.UInt8).alias("kind"))
        counts, minutes = block_counts(frame)
        return cls(tidy_counts([counts]), tidy_minutes([minutes.drop("kind")]))

    def node_spans(self) -> dict[str, tuple[object, object]]:
        """node -> (first, last) timestamp of its lines; (None, None) for a node whose lines
        carry no time. Keys: the nodes with lines at all."""
        spans: dict[str, tuple[object, object]] = {n: (None, None) for n in self.counts["node"].unique().to_list() if n is not None}
        agg = self.minutes.group_by("node").agg(pl.col("lo").min(), pl.col("hi").max())
        for node, lo, hi in agg.iter_rows():
            if node is not None:
                spans[node] = (lo, hi)
        return spans


LEVEL_EVENTS_SCHEMA = {"node": pl.String, "source": pl.String, "ident": pl.String, "second": pl.Int64,
                       "error": pl.Boolean, "n": pl.UInt32}


def level_events(evidence: object) -> pl.DataFrame:
    """Warning and error lines per node, source, identifier and second (LEVEL_EVENTS_SCHEMA):
    the summary's counts plus the index rows not counted in it."""
    summary = summary_of(evidence)
    parts = [summary.levels] if summary.levels is not None and summary.levels.height else []
    index = getattr(evidence, "log_index", None)
    for frame in _frames(index):
        lazy = frame.lazy() if isinstance(frame, pl.DataFrame) else frame
        cols = lazy.collect_schema().names()
        if "counted" in cols:
            lazy = lazy.filter(~pl.col("counted"))
        parts.append(
            lazy.filter(pl.col("level").cast(pl.String).is_in(WARNING_LEVELS))
            .select(pl.col("node").cast(pl.String), pl.col("source").cast(pl.String),
                    (pl.col("ident").cast(pl.String) if "ident" in cols else pl.lit(None, pl.String)).alias("ident"),
                    pl.col("timestamp").dt.epoch("s").alias("second"),
                    pl.col("level").cast(pl.String).is_in(ERROR_LEVELS).alias("error"))
            .group_by("node", "source", "ident", "second", "error").agg(pl.len().cast(pl.UInt32).alias("n"))
            .collect())
    if not parts:
        return pl.DataFrame(schema=LEVEL_EVENTS_SCHEMA)
    return pl.concat([p.select([pl.col(c).cast(t) for c, t in LEVEL_EVENTS_SCHEMA.items()]) for p in parts])


def tidy_counts(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """Partial counts merged into one row per (node, source, ident), as strings."""
    schema = {"node": pl.String, "source": pl.String, "ident": pl.String, "lines": pl.UInt32, "real": pl.UInt32}
    parts = [p for p in parts if p.height]
    if not parts:
        return pl.DataFrame(schema=schema)
    return (pl.concat([p.select(pl.col("node").cast(pl.String), pl.col("source").cast(pl.String),
                                pl.col("ident").cast(pl.String), pl.col("lines").cast(pl.UInt32),
                                pl.col("real").cast(pl.UInt32)) for p in parts])
            .group_by("node", "source", "ident", maintain_order=True)
            .agg(pl.col("lines").sum(), pl.col("real").sum()))


def tidy_minutes(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """Partial histograms (node, minute, n, lo, hi; times UTC) merged per node and minute."""
    schema = {"node": pl.String, "minute": pl.Int64, "n": pl.UInt32,
              "lo": pl.Datetime("us", "UTC"), "hi": pl.Datetime("us", "UTC")}
    parts = [p for p in parts if p.height]
    if not parts:
        return pl.DataFrame(schema=schema)
    frame = pl.concat([p.select(pl.col("node").cast(pl.String), pl.col("lo"), pl.col("hi"), pl.col("n").cast(pl.UInt32))
                       .with_columns(pl.col("lo").dt.replace_time_zone(None).dt.replace_time_zone("UTC"),
                                     pl.col("hi").dt.replace_time_zone(None).dt.replace_time_zone("UTC"))
                       for p in parts])
    return (frame.with_columns((pl.col("lo").dt.epoch("us") // _MINUTE_US).alias("minute"))
            .group_by("node", "minute").agg(pl.col("n").sum(), pl.col("lo").min(), pl.col("hi").max())
            .sort("node", "minute"))


def _frames(log_index: object) -> list:
    # the engine's one reading of `log_index` (a frame, a lazy frame or several); imported
    # here, not at the top: evaluate_logs reaches the rules' loader, which the index need not
    from k8s_bundle.analyzer.evaluate_logs import _frames as frames_of

    return list(frames_of(log_index))


def summary_of(evidence: object) -> LogSummary:
    """The evidence's log summary; computed once from the index when the evidence was built
    without one (Evidence made by hand in tests, a full index)."""
    summary = getattr(evidence, "log_summary", None)
    if summary is None:
        index = getattr(evidence, "log_index", None)
        frames = [f.collect() if isinstance(f, pl.LazyFrame) else f for f in _frames(index)]
        frames = [f if "ident" in f.columns else f.with_columns(pl.lit(None, pl.String).alias("ident")) for f in frames]
        full = pl.concat(frames, how="vertical_relaxed") if frames else None
        summary = LogSummary.of_index(full) if full is not None and full.height else LogSummary(tidy_counts([]), tidy_minutes([]))
        try:
            evidence.log_summary = summary  # type: ignore[attr-defined]
        except AttributeError:
            pass
    return summary
