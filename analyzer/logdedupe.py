"""Lines the journal holds and syslog repeats are counted once.

journald forwards every entry to rsyslog on most distributions (Ubuntu/Debian /var/log/syslog,
RHEL /var/log/messages), so a node's kubelet line is in the bundle twice: in
logs/journal/kubelet.log and in the syslog file. A rule reading `@kubelet` (which includes the
syslog files, for hosts without a journal) would count it twice and reach its `min_count` at
half the real occurrences. This pass drops a syslog row when the journal of the same node holds
the same message within the same or the next second (syslog stamps have whole seconds, the
journal microseconds; rsyslog stamps on reception). Syslog lines the journal does not hold
(another daemon, a rotated file from before the journal's horizon, a journal that was lost)
stay.
"""
from __future__ import annotations

import polars as pl

_SYSLOG_EXACT = ("var/log/messages", "var/log/syslog", "var/log/daemon.log", "var/log/syslog.1")
_SYSLOG_PREFIX = "var/log/messages-"


def is_syslog(source: pl.Expr) -> pl.Expr:
    """True for the syslog files journald forwards to (source names as strings)."""
    return source.is_in(_SYSLOG_EXACT) | source.str.starts_with(_SYSLOG_PREFIX)


def line_key(node: pl.Expr, message_hash: pl.Expr, second: pl.Expr) -> pl.Expr:
    """One 64-bit key per (node, message hash, UTC second): what a forwarded copy shares with
    its journal line. 8 bytes a journal warning is what the log summary keeps of them."""
    return pl.struct(node.cast(pl.String).alias("n"), message_hash.cast(pl.UInt64).alias("h"),
                     second.cast(pl.Int64).alias("s")).hash()


def drop_forwarded_copies(index: pl.DataFrame, journal_keys: pl.Series | None = None) -> pl.DataFrame:
    """The log index without the syslog rows that repeat a journal row of the same node.

    journal_keys: `line_key`s of journal lines that are not rows (the log summary's: warnings
    counted while the index was built, analyzer/logkeep.py)."""
    if not isinstance(index, pl.DataFrame) or index.height == 0:
        return index
    # decide on the few distinct source names, then filter on the categorical column as it is
    sources = [s for s in index.get_column("source").unique().cast(pl.String).to_list() if s]
    syslog_names = [s for s in sources if s in _SYSLOG_EXACT or s.startswith(_SYSLOG_PREFIX)]
    journal_names = [s for s in sources if s.startswith("journal/")]
    extra = journal_keys is not None and journal_keys.len() > 0
    if not syslog_names or not (journal_names or extra):
        return index
    is_syslog = pl.col("source").is_in(syslog_names)
    syslog = index.filter(is_syslog)
    journal = index.filter(pl.col("source").is_in(journal_names) & pl.col("timestamp").is_not_null())
    # keys of (node, hash of the message, second): integers, not millions of strings
    sec = pl.col("timestamp").dt.truncate("1s").dt.epoch("s")
    msg = pl.col("message").hash()
    keys = journal.select(line_key(pl.col("node"), msg, sec).alias("k"))["k"]
    if extra:
        keys = pl.concat([keys, journal_keys.cast(pl.UInt64)])
    keys = keys.unique()
    # the same second as the journal line, or the next one (the forward crossed a second boundary)
    copy = (line_key(pl.col("node"), msg, sec).is_in(keys.implode())
            | line_key(pl.col("node"), msg, sec - 1).is_in(keys.implode())).fill_null(False)
    kept = syslog.filter(~copy)
    if kept.height == syslog.height:
        return index
    return pl.concat([index.filter(~is_syslog), kept], how="vertical")
