"""The log index: every log line of every node in one polars DataFrame (docs/facts.md).

Speed is a requirement (the benchmark is >= 1 GB of logs), so no Python loop ever runs per
line. Each file's format is sniffed once from its first lines (journal short-iso, syslog,
klog, CRI, docker json-file, journal JSON, Windows event JSONL, `dmesg -T`, RFC 5424, ...);
then whole slices of the file (`chunk_bytes` at a time, so a 200 MB log never exists as a
Python list of lines) are split and parsed with vectorised polars string expressions.

Timestamps that lack a year (syslog, klog) or a zone (syslog, klog, `dmesg -T`) cannot be
finished while reading, because manifest.json (which holds the collection time and the nodes'
UTC offsets) is the last member of a bundle. Such rows carry a `kind` marker and are fixed up,
vectorised, by `finish()`: the year is the one of `created_at` (the year before when that
would put the line after the collection), the zone the node's.
"""
from __future__ import annotations

import codecs
import datetime as dt
import os
import re
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import polars as pl

from k8s_bundle.analyzer.decode import sniff_encoding
from k8s_bundle.analyzer.logdedupe import is_syslog, line_key
from k8s_bundle.analyzer.logkeep import (KeepPolicy, LogSummary, block_counts, block_levels, journal_keys,
                                        level_rows, own_strings, tidy_counts, tidy_minutes)
from k8s_bundle.bundle.problems import Problem

CHUNK_BYTES = 16 * 1024 * 1024
SNIFF_LINES = 40
# A line dated up to this much after created_at is clock skew, not last year's line.
_YEAR_SLACK = dt.timedelta(days=2)
_PLACEHOLDER_YEAR = 2000          # a leap year, so that "Feb 29" parses before the fix-up
# Timestamps the index keeps: a day inside Python's datetime range on either side, so that a
# line stamped 9999-12-31T23:59:59-12:00 (year 10000 in UTC) or 0001-01-01T00:00:00+14:00
# (year 0) reads back as a datetime instead of failing in polars' conversion (exit 5);
# a stamp outside it is no time at all (null).
_TS_MIN = dt.datetime(1, 1, 2)
_TS_MAX = dt.datetime(9999, 12, 30)

# kind: how complete the parsed timestamp is (dropped from the final table)
ABSOLUTE, LOCAL, LOCAL_NO_YEAR = 0, 1, 2

SCHEMA: dict[str, pl.DataType] = {
    "node": pl.Categorical(),
    "source": pl.Categorical(),
    "file": pl.Categorical(),
    "line": pl.UInt32(),
    "timestamp": pl.Datetime("us", "UTC"),
    "level": pl.Categorical(),
    "ident": pl.Categorical(),
    "message": pl.String(),
}

_LEVEL_WORDS = {
    "fatal": "F", "panic": "F", "crit": "F", "critical": "F", "alert": "F", "emerg": "F", "emergency": "F",
    "error": "E", "err": "E", "eror": "E",
    "warning": "W", "warn": "W", "wrn": "W",
    "info": "I", "notice": "I", "inf": "I", "information": "I", "informational": "I",
    "debug": "D", "trace": "D", "dbg": "D", "verbose": "D",
}
# journald PRIORITY / syslog severity 0..7
_PRIORITY = {"0": "F", "1": "F", "2": "F", "3": "E", "4": "W", "5": "I", "6": "I", "7": "D"}
# Windows event Level: 1 Critical, 2 Error, 3 Warning, 4 Information, 5 Verbose (0: LogAlways)
_WIN_LEVEL = {"1": "F", "2": "E", "3": "W", "4": "I", "5": "D", "0": "I"}

_TS_ISO = r"([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?)(Z|[+-][0-9]{2}:?[0-9]{2})?"
_IDENT_PREFIX = r"(\S+) ([^\s:\[\]]+)(?:\[[0-9]+\])?: ?"


# -- formats ------------------------------------------------------------------------------------
_Field = Callable[[str], pl.Expr]


@dataclass(frozen=True)
class _Format:
    name: str
    sniff: re.Pattern[str]                      # Python regex tried on sample lines
    parse: Callable[[pl.Expr, _Field], list]    # (raw, group) -> ts, kind, level, ident, message
    prefix: str | None = None                   # regex of the line's wrapper, computed once per slice


def _ts(date: pl.Expr, date_format: str, time: pl.Expr) -> pl.Expr:
    """A naive Datetime(us) from a date string and an `HH:MM:SS[.fraction]` string.

    The date is parsed with a cache (a log holds few distinct days) and the time of day on its
    own: several times cheaper than parsing each full timestamp, and this is the hottest
    expression of the index. Unparseable parts give null, never an exception."""
    day = date.str.to_date(date_format, strict=False, cache=True).cast(pl.Datetime("us"))
    clock = time.str.to_time("%H:%M:%S%.f", strict=False, cache=False)
    return day + (clock.cast(pl.Int64) // 1000).cast(pl.Duration("us"))


def _int(text: pl.Expr) -> pl.Expr:
    return text.cast(pl.Int32, strict=False)


def _zone_seconds(zone: pl.Expr) -> pl.Expr:
    """`Z`, `+0800`, `+08:00`, `-0530` -> seconds east of UTC (null zone -> 0)."""
    digits = zone.str.replace(":", "", literal=True)
    magnitude = _int(digits.str.slice(1, 2)) * 3600 + _int(digits.str.slice(3, 2)) * 60
    signed = pl.when(digits.str.starts_with("-")).then(-magnitude).otherwise(magnitude)
    return pl.when(zone.is_null() | (zone == "Z")).then(0).otherwise(signed.fill_null(0))


def _iso_ts(date: pl.Expr, time: pl.Expr, zone: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(naive timestamp, kind) from ISO `YYYY-MM-DD`, time and zone groups; with a zone the
    timestamp is UTC (ABSOLUTE), without one it is the node's local time (LOCAL)."""
    ts = _ts(date, "%Y-%m-%d", time) - pl.duration(seconds=_zone_seconds(zone))
    kind = pl.when(zone.is_null()).then(pl.lit(LOCAL, pl.UInt8)).otherwise(pl.lit(ABSOLUTE, pl.UInt8))
    return ts, kind


def _after(raw: pl.Expr, wrapper: pl.Expr) -> pl.Expr:
    """The message: what follows the matched wrapper (group 1 of every prefix pattern).

    Patterns match only the line's prefix, never a trailing `(.*)$`: capture groups that run
    over the whole line make the regex engine an order of magnitude slower."""
    return pl.when(wrapper.is_null()).then(raw).otherwise(raw.str.slice(wrapper.str.len_chars()))


_P_ISO_SYSLOG = "^(" + _TS_ISO + " " + _IDENT_PREFIX + ")"


def _parse_iso_syslog(raw: pl.Expr, f: _Field) -> list[pl.Expr]:
    ts, kind = _iso_ts(f("2"), f("3"), f("4"))
    return [ts, kind, pl.lit(None, pl.String), f("6"), _after(raw, f("1"))]


_P_SYSLOG = r"^(([A-Z][a-z]{2}) {1,2}([0-9]{1,2}) ([0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?) " + _IDENT_PREFIX + ")"


def _parse_syslog(raw: pl.Expr, f: _Field) -> list[pl.Expr]:
    ts = _ts(pl.concat_str([pl.lit(f"{_PLACEHOLDER_YEAR} "), f("2"), pl.lit(" "), f("3")]), "%Y %b %d", f("4"))
    return [ts, pl.lit(LOCAL_NO_YEAR, pl.UInt8), pl.lit(None, pl.String), f("6"), _after(raw, f("1"))]


# A klog header: level letter, MMDD, time, thread id; `file.go:123] ` and the text follow.
_KLOG = r"^(([IWEF])([0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?) +[0-9]+ )"


def _parse_klog(raw: pl.Expr, f: _Field) -> list[pl.Expr]:
    # The header's time and level live on in their columns; the message keeps `file.go:123] ...`.
    md = f("3")
    ts = _ts(pl.lit(str(_PLACEHOLDER_YEAR)) + md.str.slice(0, 4), "%Y%m%d", md.str.slice(5))
    return [ts, pl.lit(LOCAL_NO_YEAR, pl.UInt8), f("2"), pl.lit(None, pl.String), _after(raw, f("1"))]


_P_CRI = r"^(([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9:.]+)(Z|[+-][0-9]{2}:[0-9]{2}) (?:stdout|stderr) [FP] ?)"


def _parse_cri(raw: pl.Expr, f: _Field) -> list[pl.Expr]:
    ts, kind = _iso_ts(f("2"), f("3"), f("4"))
    return [ts, kind, None, pl.lit(None, pl.String), _after(raw, f("1"))]


_DOCKER_JSON = r'^\{"log":"((?:[^"\\]|\\.)*)","stream":"(?:stdout|stderr)","time":"([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9:.]+)(Z|[+-][0-9]{2}:[0-9]{2})"'


def _json_unescape(text: pl.Expr) -> pl.Expr:
    # The escapes docker's encoder writes; the rare \uXXXX beyond these stays as written.
    return (
        text.str.replace_all(r"\\", "\x00", literal=True)
        .str.replace_all(r"\n", "\n", literal=True)
        .str.replace_all(r"\t", "\t", literal=True)
        .str.replace_all(r"\r", "\r", literal=True)
        .str.replace_all(r'\"', '"', literal=True)
        .str.replace_all(r"\/", "/", literal=True)
        .str.replace_all(r"\u003c", "<", literal=True)
        .str.replace_all(r"\u003e", ">", literal=True)
        .str.replace_all(r"\u0026", "&", literal=True)
        .str.replace_all("\x00", "\\", literal=True)
        .str.strip_chars_end("\n")
    )


def _parse_docker_json(raw: pl.Expr, f: _Field) -> list[pl.Expr]:
    ts, kind = _iso_ts(f("2"), f("3"), f("4"))
    # Lines the fast pattern misses (other key order, attrs) go through a real JSON parser.
    slow_msg = raw.str.json_path_match("$.log").str.strip_chars_end("\n")
    slow_ts = raw.str.json_path_match("$.time").str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%.f%#z", strict=False, time_unit="us", time_zone="UTC", cache=False).dt.replace_time_zone(None)
    fast = f("1").is_not_null()
    message = pl.when(fast).then(_json_unescape(f("1"))).otherwise(slow_msg.fill_null(raw))
    ts = pl.when(fast).then(ts).otherwise(slow_ts)
    return [ts, pl.lit(ABSOLUTE, pl.UInt8), None, pl.lit(None, pl.String), message]


def _parse_journal_json(raw: pl.Expr, f: _Field) -> list[pl.Expr]:
    usec = raw.str.json_path_match("$.__REALTIME_TIMESTAMP").cast(pl.Int64, strict=False)
    ts = pl.from_epoch(usec, time_unit="us")
    level = raw.str.json_path_match("$.PRIORITY").replace_strict(_PRIORITY, default=None, return_dtype=pl.String)
    ident = raw.str.json_path_match("$.SYSLOG_IDENTIFIER")
    message = raw.str.json_path_match("$.MESSAGE").fill_null(raw)
    return [ts, pl.lit(ABSOLUTE, pl.UInt8), level, ident, message]


def _parse_eventlog_json(raw: pl.Expr, f: _Field) -> list[pl.Expr]:
    created = raw.str.json_path_match("$.TimeCreated")
    epoch_ms = created.str.extract(r"/Date\((-?[0-9]+)", 1).cast(pl.Int64, strict=False)
    g = created.str.extract_groups("^" + _TS_ISO)
    iso, kind = _iso_ts(g.struct.field("1"), g.struct.field("2"), g.struct.field("3"))
    ts = pl.when(epoch_ms.is_not_null()).then(pl.from_epoch(epoch_ms, time_unit="ms").cast(pl.Datetime("us"))).otherwise(iso)
    kind = pl.when(epoch_ms.is_not_null()).then(pl.lit(ABSOLUTE, pl.UInt8)).otherwise(kind)
    level_num = raw.str.json_path_match("$.Level").replace_strict(_WIN_LEVEL, default=None, return_dtype=pl.String)
    level_word = (raw.str.json_path_match("$.LevelDisplayName").str.to_lowercase()
                  .replace_strict(_LEVEL_WORDS, default=None, return_dtype=pl.String))
    provider = raw.str.json_path_match("$.ProviderName")
    event_id = raw.str.json_path_match("$.Id")
    ident = pl.concat_str([provider, pl.lit("/"), event_id], ignore_nulls=True)
    message = raw.str.json_path_match("$.Message").fill_null(raw)
    return [ts, kind, pl.coalesce(level_num, level_word), ident, message]


_P_DMESG_T = r"^(\[[A-Z][a-z]{2} ([A-Z][a-z]{2}) {1,2}([0-9]{1,2}) ([0-9:]{8}) ([0-9]{4})\] ?)"


def _parse_dmesg_t(raw: pl.Expr, f: _Field) -> list[pl.Expr]:
    ts = _ts(pl.concat_str([f("5"), pl.lit(" "), f("2"), pl.lit(" "), f("3")]), "%Y %b %d", f("4"))
    return [ts, pl.lit(LOCAL, pl.UInt8), None, pl.lit("kernel"), _after(raw, f("1"))]


_P_RFC5424 = r"^(<([0-9]{1,3})>1 " + _TS_ISO + r" (\S+) (\S+) (\S+) (\S+) (?:- ?|\[[^\]]*\] ?))"


def _parse_rfc5424(raw: pl.Expr, f: _Field) -> list[pl.Expr]:
    ts, kind = _iso_ts(f("3"), f("4"), f("5"))
    severity = (f("2").cast(pl.Int32, strict=False) % 8).cast(pl.String)
    level = severity.replace_strict(_PRIORITY, default=None, return_dtype=pl.String)
    return [ts, kind, level, f("7"), _after(raw, f("1"))]


_P_ISO = "^(" + _TS_ISO + " ?)"


def _parse_iso_prefixed(raw: pl.Expr, f: _Field) -> list[pl.Expr]:
    """`2026-11-22 11:30:00.123456 I | etcdserver: ...` and other ISO-stamped lines."""
    ts, kind = _iso_ts(f("2"), f("3"), f("4"))
    return [ts, kind, None, pl.lit(None, pl.String), _after(raw, f("1"))]


_P_LOGFMT = r'^time="?' + _TS_ISO


def _parse_logfmt(raw: pl.Expr, f: _Field) -> list[pl.Expr]:
    """logrus text: `time="2026-11-22T11:30:00.1+08:00" level=error msg="..."` (the line stays whole)."""
    ts, kind = _iso_ts(f("1"), f("2"), f("3"))
    return [ts, kind, None, pl.lit(None, pl.String), raw]


def _parse_plain(raw: pl.Expr, f: _Field) -> list[pl.Expr]:
    return [pl.lit(None, pl.Datetime("us")), pl.lit(ABSOLUTE, pl.UInt8), None, pl.lit(None, pl.String), raw]


FORMATS: tuple[_Format, ...] = (
    _Format("journal-json", re.compile(r'^\{.*"__REALTIME_TIMESTAMP"'), _parse_journal_json),
    _Format("eventlog-json", re.compile(r'^\{.*"TimeCreated"'), _parse_eventlog_json),
    _Format("docker-json", re.compile(r'^\{"log":'), _parse_docker_json, _DOCKER_JSON),
    _Format("cri", re.compile(_P_CRI), _parse_cri, _P_CRI),
    _Format("iso-syslog", re.compile(_P_ISO_SYSLOG), _parse_iso_syslog, _P_ISO_SYSLOG),
    _Format("syslog", re.compile(_P_SYSLOG), _parse_syslog, _P_SYSLOG),
    _Format("klog", re.compile(_KLOG), _parse_klog, _KLOG),
    _Format("dmesg-T", re.compile(_P_DMESG_T), _parse_dmesg_t, _P_DMESG_T),
    _Format("rfc5424", re.compile(_P_RFC5424), _parse_rfc5424, _P_RFC5424),
    _Format("logfmt", re.compile(_P_LOGFMT), _parse_logfmt, _P_LOGFMT),
    _Format("iso", re.compile(_P_ISO + r"\S"), _parse_iso_prefixed, _P_ISO),
)
PLAIN = _Format("plain", re.compile(r"(?!)"), _parse_plain)

# Levels inside a message (klog in the journal or in a CRI log, logrus, JSON loggers).
_INNER_LEVELS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("klog", re.compile(_KLOG), _KLOG),
    ("logfmt", re.compile(r'\blevel="?[A-Za-z]+'), r'\blevel="?([A-Za-z]+)'),
    ("json", re.compile(r'"(?:level|severity)":\s*"[A-Za-z]+"'), r'"(?:level|severity)":\s*"([A-Za-z]+)"'),
    ("etcd", re.compile(r"^[IWENDC] \| "), r"^([IWENDC]) \| "),
    ("bracket", re.compile(r"^\[(?:INFO|ERROR|WARNING|WARN|DEBUG|FATAL|PANIC)\] "), r"^\[([A-Z]+)\] "),  # CoreDNS
)
# logrus text repeats the wrapper's time: `time="2026-11-22T11:30:00.1+08:00" level=...`
_LOGFMT_TIME = r'^(time="?[0-9][^" ]*"? )'
_ETCD_LEVELS = {"I": "I", "W": "W", "E": "E", "N": "I", "D": "D", "C": "F"}


def sniff_format(lines: list[str]) -> _Format:
    """The format most of the sample lines match (PLAIN when none matches)."""
    sample = [ln for ln in lines if ln.strip()][:SNIFF_LINES]
    best, best_hits = PLAIN, 0
    for fmt in FORMATS:
        hits = sum(1 for ln in sample if fmt.sniff.search(ln))
        if hits > best_hits:
            best, best_hits = fmt, hits
    return best


def _sniff_inner_level(messages: list[str]) -> tuple[str, str] | None:
    best: tuple[str, str] | None = None
    best_hits = 0
    for name, sniff, pattern in _INNER_LEVELS:
        hits = sum(1 for m in messages if sniff.search(m))
        if hits > best_hits:
            best, best_hits = (name, pattern), hits
    return best


def _apply_inner(frame: pl.DataFrame, style: tuple[str, str]) -> pl.DataFrame:
    """Level from the message's own header (when the wrapper gave none); a klog header's time
    and thread id and a logrus `time="..."` are dropped from the message: they repeat the
    timestamp and level columns, and the message column is most of the index's memory."""
    name, pattern = style
    message, level = pl.col("message"), pl.col("level")
    if name == "klog":
        frame = frame.with_columns(message.str.extract_groups(pattern).alias("_k"))
        head = pl.col("_k").struct.field
        return frame.with_columns(pl.coalesce(level, head("2")).alias("level"),
                                  _after(message, head("1")).alias("message")).drop("_k")
    found = message.str.extract(pattern, 1)
    if name == "etcd":
        found = found.replace_strict(_ETCD_LEVELS, default=None, return_dtype=pl.String)
    else:
        found = found.str.to_lowercase().replace_strict(_LEVEL_WORDS, default=None, return_dtype=pl.String)
    exprs = [pl.coalesce(level, found).alias("level")]
    if name == "logfmt":
        exprs.append(_after(message, message.str.extract(_LOGFMT_TIME, 1)).alias("message"))
    return frame.with_columns(exprs)


def _parse_frame(frame: pl.DataFrame, fmt: _Format) -> pl.DataFrame:
    """raw (+ line) -> line, ts (naive), kind, level, ident, message. The wrapper regex runs
    once per slice; its groups are then read as struct fields."""
    if fmt.prefix is not None:
        frame = frame.with_columns(pl.col("raw").str.extract_groups(fmt.prefix).alias("_g"))

    def field(name: str) -> pl.Expr:
        return pl.col("_g").struct.field(name)

    ts, kind, level, ident, message = fmt.parse(pl.col("raw"), field)
    keep = [pl.col(c) for c in ("line", "fid") if c in frame.columns]
    return frame.select(
        *keep,
        ts.cast(pl.Datetime("us")).alias("ts"),
        kind.alias("kind"),
        (level if level is not None else pl.lit(None, pl.String)).alias("level"),
        ident.alias("ident"),
        message.fill_null(pl.col("raw")).alias("message"),
    )


# -- caps -----------------------------------------------------------------------------------------
_KiB, _MiB, _GiB = 1024, 1024**2, 1024**3


@dataclass(frozen=True)
class IndexLimits:
    """What the index keeps at most (README, "Caps on hostile input"); the index's memory is
    about the bytes kept plus ~50 bytes a line, so these caps bound it whatever the input.

    Past a cap the rest of the file is still read (a tarball must be inflated to reach the next
    member) but only counted, and one `Problem(kind="limit")` per file names the cap, what was
    indexed and what was left out. Files left out whole because a node or bundle cap was reached
    earlier are summed up in one problem per node and cap. The defaults sit far above real
    bundles: the collector keeps 16 MiB per log by default (a busy node gives ~5M lines).

    The per-file caps count every line read. The node and bundle caps count the rows the index
    keeps: with a keep policy (analyzer/logkeep.py, what `analyze` uses) that is the lines a
    rule or a view reads, a few in ten thousand of a real bundle's (the 1 GB bench bundle: 5M
    lines read, under 2,000 kept), so they bind only a bundle built to match the rules on every
    line; without one (tests, tools) every line is a row, about 300 bytes of memory each.
    """

    max_line_bytes: int = 64 * _KiB          # a longer line keeps its first 65,536 characters
    max_file_lines: int = 2_000_000           # lines per log file
    max_file_bytes: int = 512 * _MiB          # bytes of text per log file
    max_node_lines: int = 8_000_000           # lines per node, over all its logs
    max_total_lines: int = 10_000_000         # lines in the whole index (~3 GB of memory for klog)
    max_total_bytes: int = 2 * _GiB           # bytes of text in the whole index


def human_bytes(n: int) -> str:
    """`1.9 GiB`, `512 KiB`, `17 bytes`: sizes in the messages of caps."""
    for unit, size in (("GiB", _GiB), ("MiB", _MiB), ("KiB", _KiB)):
        if n >= size:
            value = n / size
            return f"{value:.1f} {unit}" if value < 10 else f"{value:,.0f} {unit}"
    return f"{n:,} bytes"


def _lines(n: int) -> str:
    return f"{n:,} line" if n == 1 else f"{n:,} lines"


@dataclass
class _FileCount:
    """What happened to one log file on its way into the index."""

    node: str
    file: str
    lines: int = 0                # lines indexed (blank ones included: they keep their numbers)
    bytes: int = 0                # bytes of text indexed
    cap: str | None = None        # the cap that stopped the file, once one did
    left_lines: int = 0           # lines and bytes read past it and left out
    left_bytes: int = 0
    cut_lines: int = 0            # lines longer than max_line_bytes, cut
    cut_bytes: int = 0
    nul_bytes: int = 0            # NUL bytes skipped
    binary: bool = False


# -- reducing one block (on a worker thread: no state of the builder) -------------------------
# Blocks are parsed on this many threads (polars releases the GIL), with at most IN_FLIGHT
# waiting or running: each holds a 16 MB block and its parsed columns while it runs.
WORKERS = max(1, min(4, os.cpu_count() or 1))
IN_FLIGHT = WORKERS + 1


@dataclass
class _Reduced:
    """A parsed block reduced to what the index keeps (analyzer/logkeep.py)."""

    frame: pl.DataFrame                       # the rows kept (every row without a keep policy)
    latest: dt.datetime | None = None         # the latest time, when every line had a full one
    cut_lines: int = 0
    cut_bytes: int = 0
    counts: pl.DataFrame | None = None        # partial summaries
    minutes: pl.DataFrame | None = None
    levels: pl.DataFrame | None = None
    candidates: pl.DataFrame | None = None
    journal_keys: pl.Series | pl.DataFrame | None = None


def _reduce_block(block: bytes, first_line: int, fmt: "_Format", inner: tuple[str, str] | None, node: str,
                  source: str, file: str, max_line: int, keep: KeepPolicy | None) -> _Reduced:
    return _reduce_lines(_read_lines(block, first_line), fmt, inner, node, source, file, max_line, keep)


def _reduce_lines(frame: pl.DataFrame, fmt: "_Format", inner: tuple[str, str] | None, node: str, source: str,
                  file: str, max_line: int, keep: KeepPolicy | None) -> _Reduced:
    frame, cut_lines, cut_bytes = _cut_long_lines(frame, max_line)
    frame = frame.filter(pl.col("raw").str.len_bytes() > 0)
    frame = _parse_frame(frame, fmt)
    if inner is not None:
        frame = _apply_inner(frame, inner)
    frame = frame.with_columns(
        pl.lit(node).cast(pl.Categorical).alias("node"),
        pl.lit(source).cast(pl.Categorical).alias("source"),
        pl.lit(file).cast(pl.Categorical).alias("file"),
        pl.col("level").cast(pl.Categorical),
        pl.col("ident").cast(pl.Categorical),
    )
    latest = None
    if frame.height and int(frame["kind"].max() or 0) == ABSOLUTE:
        value = frame["ts"].max()
        latest = value if isinstance(value, dt.datetime) else None
    r = _reduce(frame, keep)
    r.latest, r.cut_lines, r.cut_bytes = latest, cut_lines, cut_bytes
    return r


def _reduce(frame: pl.DataFrame, keep: KeepPolicy | None) -> _Reduced:
    """Count every line of a parsed block into partial summaries, then keep the policy's rows.

    Warnings are counted here, not kept as rows, except those of syslog files: the journal's
    copies of them are dropped at the end (analyzer/logdedupe.py)."""
    if frame.height == 0:
        return _Reduced(frame)
    counts, minutes = block_counts(frame)
    if keep is None:
        return _Reduced(frame, counts=counts, minutes=minutes)
    from k8s_bundle.analyzer.unexplained import block_candidates

    rule = keep.rule_candidates(frame)
    syslog = frame.select(is_syslog(pl.col("source").cast(pl.String)).alias("s"))["s"]
    own = ~syslog
    mixed = bool(syslog.any())
    counted = frame.filter(own) if mixed else frame
    leveled, worded = level_rows(frame, keep.error_words)
    cand = block_candidates(counted, rule.filter(own) if mixed else rule, worded.filter(own) if mixed else worded)
    warned = leveled | worded
    mask = keep.mask(frame, rule, syslog, warned)
    return _Reduced(
        own_strings(frame.filter(mask)).with_columns(own.filter(mask).alias("counted")),
        counts=counts, minutes=minutes, levels=block_levels(counted),
        candidates=own_strings(cand) if cand.height else None,
        journal_keys=journal_keys(frame, warned & own))


# -- building -----------------------------------------------------------------------------------
@dataclass
class _Part:
    node: str | None              # None: a batch of small files of several nodes
    frame: pl.DataFrame           # ts (naive), kind, level, ident, message, line + constants
    max_kind: int


# Files up to this size are parsed in batches: each polars pass costs a fixed ~1 ms (regex
# compilation, planning), so a bundle of 100,000 one-line pod logs took ~4 ms per file.
SMALL_FILE_BYTES = 1024 * 1024
_BATCH_BYTES = 16 * 1024 * 1024
_BATCH_FILES = 20_000
_MERGE_PARTS = 64                # partial summaries merged when this many pile up
_NO_INNER = ("klog", "journal-json", "eventlog-json", "rfc5424")   # the level is part of the format


@dataclass
class _Small:
    """A whole small file waiting for its batch; its lines are already counted against the caps."""

    node: str
    source: str
    file: str
    data: bytes                   # whole lines, the last one ending with a newline too
    lines: int
    fmt: _Format


class LogIndexBuilder:
    """Feed log members in any order with `add_file`; `finish()` returns the DataFrame."""

    def __init__(self, chunk_bytes: int = CHUNK_BYTES, limits: IndexLimits | None = None,
                 keep: KeepPolicy | None = None) -> None:
        self.chunk_bytes = chunk_bytes
        self.limits = limits or IndexLimits()
        # None: every line stays a row (tests, tools); else only the rows the policy keeps,
        # and every line is counted in the summary (analyzer/logkeep.py)
        self.keep = keep
        self._counts: list[pl.DataFrame] = []
        self._minutes: list[pl.DataFrame] = []
        self._executor: ThreadPoolExecutor | None = None
        self._queue: deque = deque()                  # (job or None, merge callback), in order
        self._levels: list[pl.DataFrame] = []        # with a policy: the warnings rows do not hold
        self._candidates: list[pl.DataFrame] = []
        self._journal_keys: list[pl.Series | pl.DataFrame] = []
        self._syslog_seen = False                     # a syslog file's rows were kept
        self._latest: dt.datetime | None = None   # the latest timestamp of fully dated blocks
        self.summary: LogSummary | None = None   # set by finish()
        self.problems: list[Problem] = []
        self.formats: dict[str, str] = {}       # file -> format name (for tests and --debug)
        self._parts: list[_Part] = []
        self.bytes_read = 0
        self.lines = 0                           # lines and bytes of text indexed, in all
        self.text_bytes = 0
        self._node_lines: dict[str, int] = {}
        # (node or None, cap) -> [files, lines, bytes] of files left out whole
        self._skipped: dict[tuple[str | None, str], list[int]] = {}
        self._pending: list[_Small] = []
        self._pending_bytes = 0

    def add_file(self, node: str, source: str, file: str, chunks: Iterable[bytes]) -> None:
        """Index one log file; `chunks` are its raw bytes (gzip members are inflated)."""
        if file.endswith(".gz"):
            chunks = _gunzip(chunks, self, file, node)
        count = _FileCount(node, file)
        style: dict[str, object] = {}            # the file's format and inner level style, once sniffed
        line_no = 1
        whole = self._tight(count, 1, 0)[0] <= 0   # a node or bundle cap bit before this file
        if whole:
            count.cap = self._room(count)[1]
        held: list[bytes] | None = []            # the blocks of what may still be a small file
        size = 0
        for block in _text_blocks(chunks, self, count):
            if count.cap is not None:
                # Past a cap: only count what is left out (cheap byte scans, no parsing).
                count.left_lines += block.count(b"\n") + (not block.endswith(b"\n"))
                count.left_bytes += len(block)
                continue
            if held is not None:
                held.append(block)
                size += len(block)
                if size <= SMALL_FILE_BYTES:
                    continue
                blocks, held = held, None
            else:
                blocks = [block]
            for one in blocks:
                line_no = self._index_block(count, source, style, one, line_no)
        if count.binary:
            self.problems.append(Problem("parse-error", "not a text log (binary content); not indexed", file, node))
            return
        if held:
            self._add_small(count, source, style, b"".join(held))
        # after the file's blocks are merged (their cut lines are counted then)
        self._queue.append((None, lambda: self._report(count, whole)))
        self._merge_ready()

    def _index_block(self, count: _FileCount, source: str, style: dict[str, object], block: bytes,
                     line_no: int) -> int:
        """Parse one block now (the file's first block sniffs its format)."""
        if count.cap is not None:
            count.left_lines += block.count(b"\n") + (not block.endswith(b"\n"))
            count.left_bytes += len(block)
            return line_no
        if "fmt" not in style:
            sample = _sample(block)
            style["fmt"] = fmt = sniff_format(sample)
            self.formats[count.file] = fmt.name
            style["inner"] = self._sniff_inner(fmt, sample)
        self._flush_small()        # the index keeps the files' order
        return self._add_block(count, source, style["fmt"], style["inner"], block, line_no)  # type: ignore[arg-type]

    def _add_small(self, count: _FileCount, source: str, style: dict[str, object], data: bytes) -> None:
        """A whole file of at most SMALL_FILE_BYTES: counted now, parsed with its batch. One that
        a cap would cut, or that holds a line past max_line_bytes, takes the ordinary path."""
        if not data.endswith(b"\n"):
            data += b"\n"
        lines = data.count(b"\n")
        room_lines, _, room_bytes, _ = self._tight(count, lines, len(data))
        cap = self.limits.max_line_bytes
        if lines > room_lines or len(data) > room_bytes or (len(data) > cap and max(map(len, data.split(b"\n"))) > cap):
            self._index_block(count, source, style, data, 1)
            return
        fmt = sniff_format(_sample(data))
        self.formats[count.file] = fmt.name
        count.lines += lines
        count.bytes += len(data)
        self.lines += lines
        self.text_bytes += len(data)
        self._node_lines[count.node] = self._node_lines.get(count.node, 0) + lines
        self._pending.append(_Small(count.node, source, count.file, data, lines, fmt))
        self._pending_bytes += len(data)
        if self._pending_bytes > _BATCH_BYTES or len(self._pending) >= _BATCH_FILES:
            self._flush_small()

    def _flush_small(self) -> None:
        """Parse the pending small files: one pass per format over all of them, the inner level
        style sniffed per file on its first lines as for any file, rows in the files' order."""
        if not self._pending:
            return
        self._drain()
        pending, self._pending, self._pending_bytes = self._pending, [], 0
        by_format: dict[str, list[int]] = {}
        for i, small in enumerate(pending):
            by_format.setdefault(small.fmt.name, []).append(i)
        frames = []
        for ids in by_format.values():
            fmt = pending[ids[0]].fmt
            raw = _read_lines(b"".join(pending[i].data for i in ids), 0)
            starts, at = [], 0
            for i in ids:
                starts.append(at)
                at += pending[i].lines
            start = pl.Series(starts, dtype=pl.Int64)
            local = start.search_sorted(raw["line"].cast(pl.Int64), side="right").cast(pl.Int64) - 1
            frame = raw.with_columns(
                pl.Series("fid", ids, dtype=pl.Int64).gather(local).alias("fid"),
                (raw["line"].cast(pl.Int64) - start.gather(local) + 1).cast(pl.UInt32).alias("line"),
            ).filter(pl.col("raw").str.len_bytes() > 0)
            frames.append(self._batch_inner(_parse_frame(frame, fmt), fmt))
        batch = pl.concat(frames, how="vertical").sort(["fid", "line"])
        fid = batch["fid"]
        batch = batch.with_columns(
            pl.Series("node", [p.node for p in pending]).gather(fid).cast(pl.Categorical),
            pl.Series("source", [p.source for p in pending]).gather(fid).cast(pl.Categorical),
            pl.Series("file", [p.file for p in pending]).gather(fid).cast(pl.Categorical),
            pl.col("level").cast(pl.Categorical),
            pl.col("ident").cast(pl.Categorical),
        ).drop("fid")
        if batch.height:
            files = batch.group_by("file").agg(pl.col("kind").max(), pl.col("ts").max())
            self._note_latest(files.filter(pl.col("kind") == ABSOLUTE)["ts"].max())
            reduced = _reduce(batch, self.keep)
            self._absorb(reduced, None, batch.group_by("node").len().rows(), int(sum(len(p.data) for p in pending)))

    @staticmethod
    def _batch_inner(parsed: pl.DataFrame, fmt: _Format) -> pl.DataFrame:
        """`_sniff_inner` for every file of a batch at once: per file, the style whose sniff
        pattern the most of its first sample lines match (the first one on a tie)."""
        if fmt.name in _NO_INNER or parsed.height == 0:
            return parsed
        head = parsed.filter(pl.col("line") <= SNIFF_LINES * 2)
        hits = head.group_by("fid").agg([pl.col("message").str.contains(sniff.pattern).sum().alias(name)
                                         for name, sniff, _ in _INNER_LEVELS])
        styled: dict[str, list[int]] = {}
        for row in hits.iter_rows(named=True):
            best, best_hits = None, 0
            for name, _, _ in _INNER_LEVELS:
                if row[name] > best_hits:
                    best, best_hits = name, row[name]
            if best is not None:
                styled.setdefault(best, []).append(row["fid"])
        if not styled:
            return parsed
        done = [i for ids in styled.values() for i in ids]
        frames = [parsed.filter(~pl.col("fid").is_in(done))]
        for name, _, pattern in _INNER_LEVELS:
            if name in styled:
                frames.append(_apply_inner(parsed.filter(pl.col("fid").is_in(styled[name])), (name, pattern)))
        return pl.concat(frames, how="vertical")

    def _room(self, count: _FileCount) -> tuple[int, str, int, str]:
        """(lines, the cap that sets it, bytes, the cap that sets it) the file may still add."""
        lim = self.limits
        lines = min((lim.max_file_lines - count.lines, "lines per log"),
                    (lim.max_node_lines - self._node_lines.get(count.node, 0), "lines per node"),
                    (lim.max_total_lines - self.lines, "lines per bundle"), key=lambda r: r[0])
        size = min((lim.max_file_bytes - count.bytes, "bytes per log"),
                   (lim.max_total_bytes - self.text_bytes, "bytes per bundle"), key=lambda r: r[0])
        return lines[0], lines[1], size[0], size[1]

    def _sniff_inner(self, fmt: _Format, sample: list[str]) -> tuple[str, str] | None:
        if fmt.name in _NO_INNER:
            return None
        frame = pl.DataFrame({"raw": [s for s in sample if s]}, schema={"raw": pl.String})
        if frame.height == 0:
            return None
        messages = _parse_frame(frame, fmt)["message"].drop_nulls().to_list()
        return _sniff_inner_level(messages)

    def _add_block(self, count: _FileCount, source: str, fmt: _Format, inner: tuple[str, str] | None,
                   block: bytes, first_line: int) -> int:
        """Count the block's lines against the caps now and parse it on a worker thread; its
        rows and counts are merged in the order blocks were given (`_merge_ready`)."""
        lines = block.count(b"\n") + (not block.endswith(b"\n"))
        room_lines, _, room_bytes, _ = self._tight(count, lines, len(block))
        if lines > room_lines or len(block) > room_bytes:
            return self._add_capped(count, source, fmt, inner, block, first_line)
        self._reserve(count, lines, len(block))
        job = self._pool().submit(_reduce_block, block, first_line, fmt, inner, count.node, source, count.file,
                                  self.limits.max_line_bytes, self.keep)
        self._queue.append((job, lambda r: self._absorb(r, count, [(count.node, lines)], len(block))))
        self._merge_ready()
        return first_line + lines

    def _add_capped(self, count: _FileCount, source: str, fmt: _Format, inner: tuple[str, str] | None,
                    block: bytes, first_line: int) -> int:
        """A block a cap cuts (rare: hostile input), parsed here once the earlier blocks are in."""
        self._drain()
        room_lines, line_cap, room_bytes, byte_cap = self._room(count)
        if len(block) > room_bytes:
            # Keep the whole lines that fit; the rest of the file is left out.
            keep = block.rfind(b"\n", 0, max(room_bytes, 0)) + 1
            self._leave(count, byte_cap, block[keep:])
            block = block[:keep]
        frame = _read_lines(block, first_line)
        if frame.height > room_lines:
            kept = frame.head(max(room_lines, 0))
            kept_bytes = int(kept["raw"].str.len_bytes().sum() or 0) + kept.height
            count.cap = count.cap or line_cap
            count.left_lines += frame.height - kept.height
            count.left_bytes += max(len(block) - kept_bytes, 0)
            block_bytes, frame = kept_bytes, kept
        else:
            block_bytes = len(block)
        lines = frame.height
        self._reserve(count, lines, block_bytes)
        self._absorb(_reduce_lines(frame, fmt, inner, count.node, source, count.file, self.limits.max_line_bytes,
                                   self.keep), count, [(count.node, lines)], block_bytes)
        return first_line + lines

    def _reserve(self, count: _FileCount, lines: int, size: int) -> None:
        """Count lines and bytes against the caps before they are parsed. With a keep policy the
        node and bundle caps bound the rows kept, and `_absorb` gives back what was not kept."""
        count.lines += lines
        count.bytes += size
        self.lines += lines
        self.text_bytes += size
        self._node_lines[count.node] = self._node_lines.get(count.node, 0) + lines

    def _tight(self, count: _FileCount, lines: int, size: int) -> tuple[int, str, int, str]:
        """`_room`, exact when it matters: while blocks are in flight their lines are all counted
        (an upper bound of the rows they keep); when that would not leave room for `lines` and
        `size`, the blocks in flight are merged first, so a cap bites as in a run without
        threads, whatever their timing."""
        room = self._room(count)
        if (lines > room[0] or size > room[2]) and self._queue:
            self._drain()
            room = self._room(count)
        return room

    def _absorb(self, r: "_Reduced", count: _FileCount | None, node_lines: list[tuple[str, int]], size: int) -> None:
        """Merge one reduced block (or batch of small files): its counts, partial summaries and
        kept rows; with a keep policy, the lines it did not keep stop counting against the
        node and bundle caps."""
        if count is not None:
            count.cut_lines += r.cut_lines
            count.cut_bytes += r.cut_bytes
        self._note_latest(r.latest)
        if self.keep is not None:
            kept = dict(r.frame.group_by("node").len().select(pl.col("node").cast(pl.String), "len").rows()) if r.frame.height else {}
            for node, lines in node_lines:
                node = str(node)
                back = lines - kept.get(node, 0)
                self._node_lines[node] = self._node_lines.get(node, 0) - back
                self.lines -= back
            self.text_bytes -= size - int(r.frame["message"].str.len_bytes().sum() or 0) if r.frame.height else size
        if r.counts is not None:
            self._counts.append(r.counts)
            self._minutes.append(r.minutes)
        if r.levels is not None:
            self._levels.append(r.levels)
            self._journal_keys.append(r.journal_keys)
            if r.candidates is not None and r.candidates.height:
                self._candidates.append(r.candidates)
        if len(self._counts) >= _MERGE_PARTS:
            # many small files: merge the partial counts, so that they stay a few rows per key
            self._counts = [pl.concat(self._counts, how="vertical_relaxed")
                            .group_by("node", "source", "ident").agg(pl.col("lines").sum(), pl.col("real").sum())]
            self._minutes = [pl.concat(self._minutes, how="vertical_relaxed")
                             .group_by("node", "kind", "minute")
                             .agg(pl.col("n").sum(), pl.col("lo").min(), pl.col("hi").max())]
        if len(self._levels) >= _MERGE_PARTS:
            self._merge_levels()
        if r.frame.height and "counted" in r.frame.columns and not r.frame["counted"].all():
            self._syslog_seen = True
        if r.frame.height:
            node = count.node if count is not None else None
            self._parts.append(_Part(node, r.frame, int(r.frame["kind"].max() or 0)))

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="log-index")
        return self._executor

    def _merge_ready(self) -> None:
        """Merge finished work from the head of the queue; wait while too many are in flight."""
        while self._queue:
            job, then = self._queue[0]
            if job is not None and not job.done() and len(self._queue) <= IN_FLIGHT:
                return
            self._queue.popleft()
            then(job.result()) if job is not None else then()

    def _drain(self) -> None:
        while self._queue:
            job, then = self._queue.popleft()
            then(job.result()) if job is not None else then()

    def _merge_levels(self) -> None:
        from k8s_bundle.analyzer.unexplained import merge_keys_partial

        self._levels = [pl.concat(self._levels, how="vertical_relaxed")
                        .group_by("node", "source", "ident", "kind", "ts", "error").agg(pl.col("n").sum())]
        if self._candidates:
            self._candidates = [merge_keys_partial(self._candidates)]
        # the journal keys stay one small frame per block: concatenating and deduplicating a
        # million of them cost 250 MB for a moment (measured), and most bundles need none

    def close(self) -> None:
        """Stop the worker threads (finish() does; a run that fails calls it too)."""
        if self._executor is not None:
            for job, _ in self._queue:
                if job is not None:
                    job.cancel()
            self._queue.clear()
            self._executor.shutdown(wait=True)
            self._executor = None

    def _note_latest(self, value: object) -> None:
        if isinstance(value, dt.datetime) and (self._latest is None or value > self._latest):
            self._latest = value

    @staticmethod
    def _leave(count: _FileCount, cap: str, rest: bytes) -> None:
        count.cap = count.cap or cap
        if rest:
            count.left_lines += rest.count(b"\n") + (not rest.endswith(b"\n"))
            count.left_bytes += len(rest)

    def _report(self, count: _FileCount, whole: bool) -> None:
        """The file's problems: the cap that stopped it, cut lines, skipped NULs."""
        def add(message: str) -> None:
            self.problems.append(Problem("limit", message, count.file, count.node))

        if count.cap is not None and count.left_lines:
            if whole or count.lines == 0:
                key = (None if count.cap.endswith("bundle") else count.node, count.cap)
                total = self._skipped.setdefault(key, [0, 0, 0])
                total[0] += 1
                total[1] += count.left_lines
                total[2] += count.left_bytes
            else:
                add(f"indexed the first {_lines(count.lines)}; {_lines(count.left_lines)} "
                    f"({human_bytes(count.left_bytes)}) left out (cap: {count.cap})")
        if count.cut_lines:
            add(f"{count.cut_lines:,} line(s) longer than {human_bytes(self.limits.max_line_bytes)} cut to their "
                f"first {self.limits.max_line_bytes:,} characters; {human_bytes(count.cut_bytes)} left out "
                "(cap: line length)")
        if count.nul_bytes:
            add(f"skipped {human_bytes(count.nul_bytes)} of NUL bytes (blocks a power loss or a preallocating "
                "writer leaves); the text around them was indexed (cap: NUL bytes are not text)")

    def finish(self, created_at: dt.datetime | None = None, utc_offsets: dict[str, int] | None = None) -> pl.DataFrame:
        """Apply the year and zone fix-ups and return the index (columns of SCHEMA)."""
        self._flush_small()
        self._drain()
        self.close()
        skipped = sorted(self._skipped.items(), key=lambda kv: (kv[0][0] or "", kv[0][1]))
        for (node, cap), (files, lines, size) in skipped:
            whose = "this node's" if node is not None else "the bundle's"
            self.problems.append(Problem("limit", f"{files:,} more of {whose} log files not indexed: {_lines(lines)} "
                                         f"({human_bytes(size)}) left out (cap: {cap})", None, node))
        self._skipped = {}
        utc_offsets = utc_offsets or {}
        if created_at is None:
            created_at = self._latest_absolute() or dt.datetime.now(dt.timezone.utc)
        if created_at.tzinfo is not None:
            created_at = created_at.astimezone(dt.timezone.utc).replace(tzinfo=None)
        # a manifest dated 9999-12-31 must not overflow created_at + _YEAR_SLACK
        created_at = min(max(created_at, _TS_MIN), _TS_MAX - _YEAR_SLACK)
        self.summary = self._finish_summary(created_at, utc_offsets)
        frames = []
        for part in self._parts:
            frame = part.frame
            if part.max_kind:
                offset: int | pl.Expr = utc_offsets.get(part.node, 0) if part.node is not None else (
                    pl.col("node").cast(pl.String).replace_strict(utc_offsets, default=0, return_dtype=pl.Int64)
                    if utc_offsets else 0)
                frame = frame.with_columns(_fixed_ts(created_at, offset).alias("ts"))
            frames.append(frame.select(
                "node", "source", "file", "line",
                pl.when(pl.col("ts").is_between(_TS_MIN, _TS_MAX)).then(pl.col("ts"))
                .dt.replace_time_zone("UTC").alias("timestamp"),
                "level", "ident", "message", *(["counted"] if "counted" in frame.columns else []),
            ))
        self._parts = []
        if not frames:
            return empty_log_index()
        return pl.concat(frames, how="vertical", rechunk=False)

    def _latest_absolute(self) -> dt.datetime | None:
        """The latest time of the blocks (a batch of small files: of the files) whose every line
        has a full timestamp: the collection time when the manifest does not give it."""
        return self._latest

    def _finish_summary(self, created_at: dt.datetime, utc_offsets: dict[str, int]) -> LogSummary:
        """The counts, and the minute histogram with its times fixed as the rows' are."""
        fixed = []
        for part in self._minutes:
            if not part.height:
                continue
            offset: int | pl.Expr = (pl.col("node").cast(pl.String).replace_strict(utc_offsets, default=0, return_dtype=pl.Int64)
                                     if utc_offsets else 0)
            ends = [part.select("node", "n", "kind", pl.col(end).alias("ts"))
                    .with_columns(_fixed_ts(created_at, offset).alias("ts"))["ts"].alias(end) for end in ("lo", "hi")]
            frame = part.select("node", "n").with_columns(*ends)
            fixed.append(frame.filter(pl.col("lo").is_between(_TS_MIN, _TS_MAX) & pl.col("hi").is_between(_TS_MIN, _TS_MAX)))
        self._minutes = []
        summary = LogSummary(tidy_counts(self._counts), tidy_minutes(fixed))
        self._counts = []
        if self.keep is None:
            return summary
        from k8s_bundle.analyzer.unexplained import merge_keys

        if self._levels:
            self._merge_levels()
            levels = _fix_times(self._levels[0], ("ts",), created_at, utc_offsets)
            summary.levels = (levels.with_columns(pl.col("ts").dt.epoch("s").alias("second"))
                              .group_by("node", "source", "ident", "second", "error").agg(pl.col("n").sum())
                              .select(pl.col("node").cast(pl.String), pl.col("source").cast(pl.String),
                                      pl.col("ident").cast(pl.String), "second", "error", pl.col("n").cast(pl.UInt32)))
            summary.candidates = merge_keys([_fix_times(c, ("ts_min", "ts_max", "ex_timestamp"), created_at, utc_offsets)
                                             .drop("kind", "node") for c in self._candidates])
            if self._syslog_seen and self._journal_keys:   # else no row can repeat a journal line
                summary.journal_keys = pl.concat([
                    keys if isinstance(keys, pl.Series) else
                    _fix_times(keys, ("ts",), created_at, utc_offsets).drop_nulls("ts")
                    .select(line_key(pl.col("node"), pl.col("_h"), pl.col("ts").dt.epoch("s")).alias("k"))["k"]
                    for keys in self._journal_keys])
        self._levels, self._candidates, self._journal_keys = [], [], []
        return summary


def _fix_times(frame: pl.DataFrame, cols: tuple[str, ...], created_at: dt.datetime,
               utc_offsets: dict[str, int]) -> pl.DataFrame:
    """The naive times `cols` of a summary frame (with `node` and `kind`) made UTC as the rows'
    are (null outside the kept range)."""
    offset: int | pl.Expr = (pl.col("node").cast(pl.String).replace_strict(utc_offsets, default=0, return_dtype=pl.Int64)
                             if utc_offsets else 0)
    for col in cols:
        fixed = frame.select("node", "kind", pl.col(col).alias("ts")).select(_fixed_ts(created_at, offset).alias("t"))["t"]
        frame = frame.with_columns(fixed.alias(col)).with_columns(
            pl.when(pl.col(col).is_between(_TS_MIN, _TS_MAX)).then(pl.col(col)).dt.replace_time_zone("UTC").alias(col))
    return frame


def _fixed_ts(created_at: dt.datetime, offset_seconds: int | pl.Expr) -> pl.Expr:
    ts, kind = pl.col("ts"), pl.col("kind")
    off = pl.duration(seconds=offset_seconds)
    year = created_at.year
    this_year = ts.dt.offset_by(f"{year - _PLACEHOLDER_YEAR}y") - off
    last_year = ts.dt.offset_by(f"{year - 1 - _PLACEHOLDER_YEAR}y") - off
    no_year = pl.when(this_year > pl.lit(created_at + _YEAR_SLACK)).then(last_year).otherwise(this_year)
    return (pl.when(kind == ABSOLUTE).then(ts)
            .when(kind == LOCAL).then(ts - off)
            .otherwise(no_year))


def empty_log_index() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)


def _text_blocks(chunks: Iterable[bytes], builder: LogIndexBuilder, count: _FileCount) -> Iterator[bytes]:
    """UTF-8 blocks of whole lines (the last block may lack its final newline).

    The encoding is sniffed from the start (BOM, UTF-16 NUL pattern); anything but UTF-8 is
    transcoded with an incremental decoder (invalid bytes become U+FFFD). NUL bytes are not
    text: they are dropped and counted (a byte scan, so a gigabyte of them costs about as much
    as inflating it); line numbers stay those of the file, NULs hold no newline. A line longer
    than `max_line_bytes` is cut there, and the rest of it skipped as it streams by, so no
    line is ever held whole. A file whose first text is dense with NULs is binary: `count.binary`
    is set and nothing is yielded. A file whose first 64 KiB of text end lines with CR alone
    (classic Mac) has its CRs read as line ends."""
    max_line = builder.limits.max_line_bytes
    decoder = None
    first = True
    cr_only = False           # old Mac line ends: a file whose first text has CRs and no LF
    checked = False
    skipping = False          # inside a line already cut at max_line: drop up to its newline
    carry = b""
    for chunk in chunks:
        if not chunk:
            continue
        builder.bytes_read += len(chunk)
        if first:
            first = False
            codec, skip = sniff_encoding(chunk)
            chunk = chunk[skip:]
            if codec != "utf-8":
                decoder = codecs.getincrementaldecoder(codec)(errors="replace")
        if decoder is not None:
            chunk = decoder.decode(chunk).encode("utf-8", "replace")
        # translate() deletes NULs at memory speed; replace() crawls through long runs of them.
        text = chunk.translate(None, b"\0") if b"\0" in chunk else chunk
        if not checked and text:
            checked = True
            if len(text) < len(chunk) and _looks_binary(chunk[:65536]):
                count.binary = True
                return
            head = text[:65536]
            cr_only = b"\n" not in head and b"\r" in head
        count.nul_bytes += len(chunk) - len(text)
        chunk = text.translate(_CR_TO_LF) if cr_only else text
        if skipping and chunk:
            end = chunk.find(b"\n")
            count.cut_bytes += len(chunk) if end == -1 else end
            if end == -1:
                continue
            chunk = chunk[end + 1 :]
            skipping = False
        if not chunk:
            continue
        data = carry + chunk if carry else chunk
        cut = data.rfind(b"\n")
        if cut == -1:
            carry = data
        else:
            yield data[: cut + 1]
            carry = data[cut + 1 :]
        if len(carry) > max_line:
            yield _utf8_prefix(carry, max_line) + b"\n"
            count.cut_lines += 1
            count.cut_bytes += len(carry) - max_line
            carry = b""
            skipping = True
    if decoder is not None:
        carry += decoder.decode(b"", final=True).encode("utf-8", "replace").translate(None, b"\0")
    if carry and not skipping:
        yield carry


_CR_TO_LF = bytes.maketrans(b"\r", b"\n")


def _sample(block: bytes) -> list[str]:
    """The first lines of a block, as text, for sniffing its format."""
    return block[:65536].decode("utf-8", "replace").split("\n", SNIFF_LINES * 2)[: SNIFF_LINES * 2]


def _utf8_prefix(data: bytes, size: int) -> bytes:
    """The first `size` bytes of `data`, less a UTF-8 character cut in two at the end."""
    end = size
    while end > size - 4 and end > 0 and 0x80 <= data[end] < 0xC0:
        end -= 1
    return data[:end]


def _cut_long_lines(frame: pl.DataFrame, max_line: int) -> tuple[pl.DataFrame, int, int]:
    """Lines of a block longer than `max_line` keep their first `max_line` characters; also
    returns how many lines were cut and the bytes left out."""
    if frame.height == 0:
        return frame, 0, 0
    size = frame["raw"].str.len_bytes()
    if (size.max() or 0) <= max_line:
        return frame, 0, 0
    long = size > max_line
    cut = frame.with_columns(pl.when(long).then(pl.col("raw").str.slice(0, max_line))
                             .otherwise(pl.col("raw")).alias("raw"))
    return cut, int(long.sum()), int(size.sum()) - int(cut["raw"].str.len_bytes().sum())


_NUL_BLOCKS = re.compile(rb"\0{512,}")


def _looks_binary(head: bytes) -> bool:
    """A journal file, core dump or image among the logs: NULs are rare in text (UTF-16 text
    was transcoded before this check). Runs of 512 NULs or more are not counted: a text log a
    power loss damaged holds whole disk blocks of them, and its text is still text."""
    head = _NUL_BLOCKS.sub(b"", head)
    return len(head) >= 64 and head.count(0) > len(head) // 100


def _read_lines(block: bytes, first_line: int) -> pl.DataFrame:
    """`line` (UInt32 from first_line) and `raw` for each line of a block; CRLF loses its CR.

    polars' own line reader does the splitting in Rust; it refuses invalid UTF-8, which is
    then replaced by U+FFFD in Python (only for such blocks)."""
    if not hasattr(pl, "read_lines"):   # polars before read_lines: split in one string expression
        text = block.decode("utf-8", "replace").replace("\r\n", "\n").removesuffix("\n")
        lines = pl.Series("raw", [text], dtype=pl.String).str.split("\n").explode() if text else pl.Series("raw", [], pl.String)
        return pl.DataFrame({"raw": lines}).with_row_index("line", offset=first_line)
    try:
        return pl.read_lines(block, name="raw", row_index_name="line", row_index_offset=first_line)
    except pl.exceptions.ComputeError:
        block = block.decode("utf-8", "replace").encode("utf-8")
        return pl.read_lines(block, name="raw", row_index_name="line", row_index_offset=first_line)


def _gunzip(chunks: Iterable[bytes], builder: LogIndexBuilder, file: str, node: str,
            limit: int = 2 * 1024**3) -> Iterator[bytes]:
    """Inflate a rotated `.gz` log, bounded by `limit` output bytes (a bomb stops there)."""
    d = zlib.decompressobj(47)
    out = 0
    try:
        for chunk in chunks:
            data = chunk
            while data:
                piece = d.decompress(data, 4 * 1024 * 1024)
                out += len(piece)
                if out > limit:
                    builder.problems.append(Problem("limit", f"stopped inflating after {limit} bytes", file, node))
                    return
                yield piece
                data = d.unconsumed_tail
                if d.eof:
                    return
    except zlib.error as exc:
        builder.problems.append(Problem("parse-error", f"could not inflate the compressed log: {exc}", file, node))


def build_log_index(files: Iterable[tuple[str, str, bytes]], created_at: dt.datetime | None = None,
                    utc_offsets: dict[str, int] | None = None, chunk_bytes: int = CHUNK_BYTES,
                    limits: IndexLimits | None = None) -> pl.DataFrame:
    """Index (node, source, data) triples in one call (tests, tools); file = nodes/<node>/logs/<source>."""
    builder = LogIndexBuilder(chunk_bytes, limits)
    for node, source, data in files:
        pieces = [data[i : i + chunk_bytes] for i in range(0, len(data), chunk_bytes)] or [b""]
        builder.add_file(node, source, f"nodes/{node}/logs/{source}", pieces)
    return builder.finish(created_at, utc_offsets)
