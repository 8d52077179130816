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
import re
import zlib
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import polars as pl

from k8s_bundle.analyzer.decode import sniff_encoding
from k8s_bundle.analyzer.model import Problem

CHUNK_BYTES = 16 * 1024 * 1024
SNIFF_LINES = 40
# A line dated up to this much after created_at is clock skew, not last year's line.
_YEAR_SLACK = dt.timedelta(days=2)
_PLACEHOLDER_YEAR = 2000          # a leap year, so that "Feb 29" parses before the fix-up

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
    keep = [pl.col("line")] if "line" in frame.columns else []
    return frame.select(
        *keep,
        ts.cast(pl.Datetime("us")).alias("ts"),
        kind.alias("kind"),
        (level if level is not None else pl.lit(None, pl.String)).alias("level"),
        ident.alias("ident"),
        message.fill_null(pl.col("raw")).alias("message"),
    )


# -- building -----------------------------------------------------------------------------------
@dataclass
class _Part:
    node: str
    frame: pl.DataFrame           # ts (naive), kind, level, ident, message, line + constants
    max_kind: int


class LogIndexBuilder:
    """Feed log members in any order with `add_file`; `finish()` returns the DataFrame."""

    def __init__(self, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.chunk_bytes = chunk_bytes
        self.problems: list[Problem] = []
        self.formats: dict[str, str] = {}       # file -> format name (for tests and --debug)
        self._parts: list[_Part] = []
        self.bytes_read = 0

    def add_file(self, node: str, source: str, file: str, chunks: Iterable[bytes]) -> None:
        """Index one log file; `chunks` are its raw bytes (gzip members are inflated)."""
        if file.endswith(".gz"):
            chunks = _gunzip(chunks, self, file, node)
        fmt: _Format | None = None
        inner: tuple[str, str] | None = None
        line_no = 1
        for block in _utf8_blocks(chunks, self, self.chunk_bytes * 4):
            if fmt is None:
                if _looks_binary(block[:65536]):
                    self.problems.append(Problem("parse-error", "not a text log (binary content); not indexed",
                                                 file, node))
                    for _ in chunks:   # drain what is left of the member
                        pass
                    return
                sample = block[:65536].decode("utf-8", "replace").split("\n", SNIFF_LINES * 2)[: SNIFF_LINES * 2]
                fmt = sniff_format(sample)
                self.formats[file] = fmt.name
                inner = self._sniff_inner(fmt, sample)
            line_no = self._add_block(node, source, file, fmt, inner, block, line_no)

    def _sniff_inner(self, fmt: _Format, sample: list[str]) -> tuple[str, str] | None:
        if fmt.name in ("klog", "journal-json", "eventlog-json", "rfc5424"):
            return None   # the level is part of the format
        frame = pl.DataFrame({"raw": [s for s in sample if s]}, schema={"raw": pl.String})
        if frame.height == 0:
            return None
        messages = _parse_frame(frame, fmt)["message"].drop_nulls().to_list()
        return _sniff_inner_level(messages)

    def _add_block(self, node: str, source: str, file: str, fmt: _Format, inner: tuple[str, str] | None,
                   block: bytes, first_line: int) -> int:
        frame = _read_lines(block, first_line)
        count = frame.height
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
        max_kind = int(frame["kind"].max() or 0) if frame.height else 0
        self._parts.append(_Part(node, frame, max_kind))
        return first_line + count

    def finish(self, created_at: dt.datetime | None = None, utc_offsets: dict[str, int] | None = None) -> pl.DataFrame:
        """Apply the year and zone fix-ups and return the index (columns of SCHEMA)."""
        utc_offsets = utc_offsets or {}
        if created_at is None:
            created_at = self._latest_absolute() or dt.datetime.now(dt.timezone.utc)
        if created_at.tzinfo is not None:
            created_at = created_at.astimezone(dt.timezone.utc).replace(tzinfo=None)
        frames = []
        for part in self._parts:
            frame = part.frame
            if part.max_kind:
                frame = frame.with_columns(_fixed_ts(created_at, utc_offsets.get(part.node, 0)).alias("ts"))
            frames.append(frame.select(
                "node", "source", "file", "line",
                pl.col("ts").dt.replace_time_zone("UTC").alias("timestamp"),
                "level", "ident", "message",
            ))
        self._parts = []
        if not frames:
            return empty_log_index()
        return pl.concat(frames, how="vertical", rechunk=False)

    def _latest_absolute(self) -> dt.datetime | None:
        best = None
        for part in self._parts:
            if part.max_kind == ABSOLUTE:
                value = part.frame["ts"].max()
                if isinstance(value, dt.datetime) and (best is None or value > best):
                    best = value
        return best


def _fixed_ts(created_at: dt.datetime, offset_seconds: int) -> pl.Expr:
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


def _utf8_blocks(chunks: Iterable[bytes], builder: LogIndexBuilder, max_line: int) -> Iterator[bytes]:
    """UTF-8 blocks of whole lines (the last block may lack its final newline).

    The encoding is sniffed from the start (BOM, UTF-16 NUL pattern); anything but UTF-8 is
    transcoded with an incremental decoder (invalid bytes become U+FFFD). A line longer than
    `max_line` bytes is cut rather than held in memory whole."""
    decoder = None
    first = True
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
        data = carry + chunk if carry else chunk
        cut = data.rfind(b"\n")
        if cut == -1:
            carry = data
            if len(carry) > max_line:
                yield carry + b"\n"
                carry = b""
            continue
        yield data[: cut + 1]
        carry = data[cut + 1 :]
    if decoder is not None:
        carry += decoder.decode(b"", final=True).encode("utf-8", "replace")
    if carry:
        yield carry


def _looks_binary(head: bytes) -> bool:
    """A journal file, core dump or image among the logs: NULs are rare in text (UTF-16 text
    was transcoded before this check)."""
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
                    utc_offsets: dict[str, int] | None = None, chunk_bytes: int = CHUNK_BYTES) -> pl.DataFrame:
    """Index (node, source, data) triples in one call (tests, tools); file = nodes/<node>/logs/<source>."""
    builder = LogIndexBuilder(chunk_bytes)
    for node, source, data in files:
        pieces = [data[i : i + chunk_bytes] for i in range(0, len(data), chunk_bytes)] or [b""]
        builder.add_file(node, source, f"nodes/{node}/logs/{source}", pieces)
    return builder.finish(created_at, utc_offsets)
