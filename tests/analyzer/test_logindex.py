"""The log index: each format's timestamp, level, message and line numbers, and the fix-ups."""
from __future__ import annotations

import datetime as dt
import gzip

import pytest

from k8s_bundle.analyzer.logindex import SCHEMA, LogIndexBuilder, build_log_index, empty_log_index

UTC = dt.timezone.utc
CREATED = dt.datetime(2026, 11, 22, 3, 31, tzinfo=UTC)   # 11:31 in the nodes' +08:00
OFFSETS = {"cp1": 28800, "w1": 28800}


def t(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def index(source: str, data: bytes, node: str = "cp1", **kw) -> list[dict]:
    df = build_log_index([(node, source, data)], kw.pop("created", CREATED), kw.pop("offsets", OFFSETS), **kw)
    assert dict(df.schema) == SCHEMA
    return df.select("line", "timestamp", "level", "ident", "message").to_dicts()


def test_journal_short_iso_precise_with_klog_inside() -> None:
    rows = index("journal/kubelet.log", (
        b"2026-11-22T11:29:59.123456+0800 cp1 kubelet[812]: E1122 11:29:59.123000     812 kubelet.go:2855] "
        b"\"Container runtime network not ready\"\n"
        b"-- Boot 0f3c --\n"
        b"2026-11-22T11:30:00+08:00 cp1 kubelet[812]: I1122 11:30:00.000000     812 server.go:1] ok\n"))
    assert rows[0]["timestamp"] == t(2026, 11, 22, 3, 29, 59, 123456)
    assert rows[0]["level"] == "E" and rows[0]["ident"] == "kubelet"
    # the klog header's time and thread id repeat the timestamp and level columns: dropped
    assert rows[0]["message"] == 'kubelet.go:2855] "Container runtime network not ready"'
    assert rows[1] == {"line": 2, "timestamp": None, "level": None, "ident": None, "message": "-- Boot 0f3c --"}
    assert rows[2]["line"] == 3 and rows[2]["level"] == "I" and rows[2]["timestamp"] == t(2026, 11, 22, 3, 30)


def test_journal_short_and_syslog_take_year_and_zone_from_the_manifest() -> None:
    rows = index("var/log/messages", (
        b"Nov 22 11:30:00 cp1 kubelet[812]: E1122 11:30:00.100000 812 x.go:1] boom\n"
        b"Dec 31 23:59:59 cp1 systemd[1]: Started Session 1.\n"
        b"Nov  2 01:02:03.456 cp1 kernel: oom-kill:constraint=CONSTRAINT_NONE\n"
        b"Feb 29 10:00:00 cp1 kernel: leap\n"))
    assert rows[0]["timestamp"] == t(2026, 11, 22, 3, 30) and rows[0]["level"] == "E"
    # Dec 31 is after the collection (Nov 22 2026): it belongs to 2025.
    assert rows[1]["timestamp"] == t(2025, 12, 31, 15, 59, 59) and rows[1]["ident"] == "systemd"
    assert rows[1]["message"] == "Started Session 1."
    assert rows[2]["timestamp"] == t(2026, 11, 1, 17, 2, 3, 456000)
    assert rows[3]["timestamp"] is not None          # no Feb 29 in 2026: clamped, not dropped


def test_zone_offset_applies_per_node() -> None:
    data = b"Nov 22 11:30:00 h kubelet[1]: x\n"
    assert index("x.log", data, node="cp1")[0]["timestamp"] == t(2026, 11, 22, 3, 30)
    assert index("x.log", data, node="other")[0]["timestamp"] == t(2026, 11, 22, 11, 30)   # unknown: UTC


def test_klog_file_utf16_with_crlf() -> None:
    data = "E0122 06:56:04.774977    1 file.go:199] msg\r\nW1122 11:00:00.000001    1 f.go:2] later\r\n".encode("utf-16")
    rows = index("C/k/kubelet.log", data, node="w1")
    assert [r["level"] for r in rows] == ["E", "W"]
    assert rows[0]["timestamp"] == t(2026, 1, 21, 22, 56, 4, 774977)
    assert rows[1]["timestamp"] == t(2026, 11, 22, 3, 0, 0, 1)
    assert rows[0]["message"] == "file.go:199] msg"


def test_cri_log_with_json_and_partial_lines() -> None:
    rows = index("var/log/pods/kube-system_etcd-cp1_1/etcd/0.log", (
        b'2026-11-22T02:56:04.774977123Z stderr F {"level":"warn","ts":"2026-11-22T02:56:04.774Z","msg":"slow"}\n'
        b"2026-11-22T10:56:05.5+08:00 stdout P partial\n"))
    assert rows[0]["timestamp"] == t(2026, 11, 22, 2, 56, 4, 774977) and rows[0]["level"] == "W"
    assert rows[0]["message"].startswith('{"level":"warn"')
    assert rows[1]["timestamp"] == t(2026, 11, 22, 2, 56, 5, 500000) and rows[1]["message"] == "partial"


def test_docker_json_file_is_unwrapped_and_klog_level_found() -> None:
    rows = index("var/lib/docker/containers/abc/abc-json.log", (
        b'{"log":"E0122 06:56:04.774977       1 reflector.go:199] Failed \\"x\\" \\u003cy\\u003e\\n",'
        b'"stream":"stderr","time":"2026-01-22T06:56:04.774977Z"}\n'
        b'{"stream":"stdout","log":"other key order\\n","time":"2026-01-22T06:56:05Z"}\n'))
    assert rows[0]["message"] == 'reflector.go:199] Failed "x" <y>'
    assert rows[0]["level"] == "E" and rows[0]["timestamp"] == t(2026, 1, 22, 6, 56, 4, 774977)
    assert rows[1]["message"] == "other key order" and rows[1]["timestamp"] == t(2026, 1, 22, 6, 56, 5)


def test_windows_event_log_jsonl() -> None:
    rows = index("eventlog/System.jsonl", (
        b'{"TimeCreated":"/Date(1763782200000)/","Level":2,"LevelDisplayName":"Error","Id":7031,'
        b'"ProviderName":"Service Control Manager","Message":"The kubelet service terminated unexpectedly."}\n'
        b'{"TimeCreated":"2026-11-22T11:00:00.5+08:00","Level":4,"LevelDisplayName":"Informationen","Id":1,'
        b'"ProviderName":"P","Message":"two\\nlines"}\n'), node="w1")
    assert rows[0]["timestamp"] == t(2025, 11, 22, 3, 30) and rows[0]["level"] == "E"
    assert rows[0]["ident"] == "Service Control Manager/7031"
    assert rows[0]["message"] == "The kubelet service terminated unexpectedly."
    assert rows[1]["level"] == "I" and rows[1]["message"] == "two\nlines"
    assert rows[1]["timestamp"] == t(2026, 11, 22, 3, 0, 0, 500000)


def test_journal_json_priority_maps_to_level() -> None:
    rows = index("journal/kubelet.json", b'{"__REALTIME_TIMESTAMP":"1763782200000000","PRIORITY":"3",'
                 b'"SYSLOG_IDENTIFIER":"kubelet","_PID":"812","MESSAGE":"hello"}\n')
    assert rows[0] == {"line": 1, "timestamp": t(2025, 11, 22, 3, 30), "level": "E", "ident": "kubelet",
                       "message": "hello"}


@pytest.mark.parametrize("data, expect_ts, expect_level, expect_msg", [
    (b"[Sun Nov 22 11:30:00 2026] Out of memory: Killed process 4242 (java)\n", t(2026, 11, 22, 3, 30), None,
     "Out of memory: Killed process 4242 (java)"),
    (b"2026-11-22 11:30:00.123456 W | etcdserver: read-only range request took too long\n",
     t(2026, 11, 22, 3, 30, 0, 123456), "W", "W | etcdserver: read-only range request took too long"),
    (b"<11>1 2026-11-22T03:30:00.003Z cp1 app 1234 ID47 - something failed\n", t(2026, 11, 22, 3, 30, 0, 3000), "E",
     "something failed"),
    (b'time="2026-11-22T11:29:59.1+08:00" level=error msg="failed to pull"\n', t(2026, 11, 22, 3, 29, 59, 100000),
     "E", 'level=error msg="failed to pull"'),
    (b"2026-11-22T11:30:00.000001+08:00 cp1 containerd[700]: time=\"x\" level=warning msg=\"y\"\n",
     t(2026, 11, 22, 3, 30, 0, 1), "W", 'time="x" level=warning msg="y"'),
])
def test_other_formats(data: bytes, expect_ts, expect_level, expect_msg) -> None:
    row = index("x.log", data)[0]
    assert (row["timestamp"], row["level"], row["message"]) == (expect_ts, expect_level, expect_msg)


def test_plain_text_blank_lines_and_line_numbers_across_slices() -> None:
    lines = [f"line {i} " + "x" * (i % 50) for i in range(1, 3001)]
    lines[9] = ""       # a blank line keeps its number but is not indexed
    data = ("\n".join(lines) + "\n").encode()
    df = build_log_index([("cp1", "plain.txt", data)], CREATED, OFFSETS, chunk_bytes=4096)
    assert df.height == 2999
    got = dict(zip(df["line"].to_list(), df["message"].to_list()))
    assert got[1] == "line 1 x" and got[11] == lines[10] and got[3000] == lines[2999] and 10 not in got


def test_invalid_utf8_and_missing_final_newline() -> None:
    rows = index("x.log", b"Nov 22 11:30:00 h kubelet[1]: bad \xff\xfe bytes\nNov 22 11:30:01 h kubelet[1]: last")
    assert "\ufffd" in rows[0]["message"] and rows[1]["message"] == "last" and rows[1]["line"] == 2


def test_impossible_timestamps_give_null_not_an_error() -> None:
    rows = index("x.log", b"Nov 22 11:30:00 h a: ok\nNov 22 25:61:00 h a: bad hour\nNov 99 11:30:00 h a: bad day\n")
    assert rows[0]["timestamp"] is not None and rows[1]["timestamp"] is None and rows[2]["timestamp"] is None


def test_gzipped_rotated_log() -> None:
    builder = LogIndexBuilder()
    data = gzip.compress(b"Nov 22 11:30:00 h kubelet[1]: from the rotated file\n")
    builder.add_file("cp1", "var/log/messages.1.gz", "nodes/cp1/logs/var/log/messages.1.gz", [data[:10], data[10:]])
    df = builder.finish(CREATED, OFFSETS)
    assert df["message"].to_list() == ["from the rotated file"]


def test_several_files_and_nodes_in_one_table() -> None:
    df = build_log_index([("cp1", "a.log", b"x\ny\n"), ("w1", "b.log", b"z\n")], CREATED, OFFSETS)
    assert df.select("node", "source", "file", "line").rows() == [
        ("cp1", "a.log", "nodes/cp1/logs/a.log", 1), ("cp1", "a.log", "nodes/cp1/logs/a.log", 2),
        ("w1", "b.log", "nodes/w1/logs/b.log", 1)]


def test_without_created_at_the_latest_absolute_time_sets_the_year() -> None:
    df = build_log_index([("cp1", "a.log", b"2024-03-01T00:00:00Z stdout F x\n"),
                          ("cp1", "b.log", b"Feb 10 00:00:00 h a: y\n")], None, {})
    assert df["timestamp"].to_list()[1] == t(2024, 2, 10)


def test_empty_index_has_the_schema() -> None:
    assert dict(empty_log_index().schema) == SCHEMA
    assert dict(build_log_index([], CREATED).schema) == SCHEMA


def test_binary_file_among_the_logs_is_skipped_with_a_problem() -> None:
    builder = LogIndexBuilder()
    binary = b"LPKSHHRH" + bytes(200) + bytes(range(256)) * 50   # how a journald .journal file starts
    builder.add_file("cp1", "journal/system.journal", "nodes/cp1/logs/journal/system.journal", [binary, binary])
    builder.add_file("cp1", "a.log", "nodes/cp1/logs/a.log", [b"text line\n"])
    df = builder.finish(CREATED, OFFSETS)
    assert df["source"].to_list() == ["a.log"]
    assert [(p.kind, p.path) for p in builder.problems] == [("parse-error", "nodes/cp1/logs/journal/system.journal")]


def test_line_split_fallback_for_polars_without_read_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    import polars as pl

    from k8s_bundle.analyzer.logindex import _read_lines

    block = b"a\r\nb\n\nc \xff\n"
    fast = _read_lines(block, 5)
    monkeypatch.delattr(pl, "read_lines")
    assert _read_lines(block, 5).to_dicts() == fast.to_dicts() == [
        {"line": 5, "raw": "a"}, {"line": 6, "raw": "b"}, {"line": 7, "raw": ""}, {"line": 8, "raw": "c \ufffd"}]


def test_coredns_bracket_levels_in_a_cri_log() -> None:
    rows = index("var/log/pods/kube-system_coredns-x_1/coredns/0.log", (
        b"2026-11-22T03:00:00.1Z stdout F [INFO] plugin/reload: Running configuration SHA512 = 1234\n"
        b"2026-11-22T03:00:01.1Z stdout F [ERROR] plugin/errors: 2 example.com. A: read udp 10.244.0.5:4353->8.8.8.8:53: i/o timeout\n"))
    assert [r["level"] for r in rows] == ["I", "E"]
    assert rows[1]["message"].startswith("[ERROR] plugin/errors")


# -- issue 11: the caps on what the index keeps ---------------------------------------------------
from k8s_bundle.analyzer.logindex import IndexLimits, human_bytes  # noqa: E402


def build(files: list, **limits: int) -> tuple[LogIndexBuilder, "pl.DataFrame"]:
    builder = LogIndexBuilder(limits=IndexLimits(**limits))
    for node, source, chunks in files:
        builder.add_file(node, source, f"nodes/{node}/logs/{source}", iter(chunks))
    return builder, builder.finish(CREATED, OFFSETS)


def messages(builder: LogIndexBuilder) -> list[tuple[str | None, str]]:
    return [(p.path, p.message) for p in builder.problems if p.kind == "limit"]


def test_lines_per_log_default_cap_with_a_stream_of_short_lines() -> None:
    # 2,100,000 lines of `a` streamed in 1 MiB pieces: nothing this size is held or stored.
    piece = b"a\n" * (512 * 1024)
    builder, df = build([("cp1", "kubelet.log", [piece] * 4 + [b"a\n" * 2_404])])
    assert df.height == 2_000_000 and df["line"].max() == 2_000_000
    assert messages(builder) == [("nodes/cp1/logs/kubelet.log", "indexed the first 2,000,000 lines; 99,556 lines "
                                  "(194 KiB) left out (cap: lines per log)")]


def test_lines_per_node_and_per_bundle_caps_sum_up_files_left_out_whole() -> None:
    lines = b"".join(b"Nov 22 11:30:%02d h kubelet[1]: line %d\n" % (i % 60, i) for i in range(1000))
    files = [("cp1", f"f{i}.log", [lines]) for i in range(4)] + [("w1", "g.log", [lines]), ("w2", "h.log", [lines])]
    builder, df = build(files, max_node_lines=2500, max_total_lines=4000)
    per_file = df.group_by("file").len().sort("file").rows()
    assert per_file == [("nodes/cp1/logs/f0.log", 1000), ("nodes/cp1/logs/f1.log", 1000),
                        ("nodes/cp1/logs/f2.log", 500), ("nodes/w1/logs/g.log", 1000), ("nodes/w2/logs/h.log", 500)]
    got = messages(builder)
    half = "indexed the first 500 lines; 500 lines (19 KiB) left out"
    assert ("nodes/cp1/logs/f2.log", f"{half} (cap: lines per node)") in got
    assert ("nodes/w2/logs/h.log", f"{half} (cap: lines per bundle)") in got
    assert (None, "1 more of this node's log files not indexed: 1,000 lines (38 KiB) left out "
                  "(cap: lines per node)") in got
    assert [p.node for p in builder.problems if p.path is None] == ["cp1"]


def test_bytes_per_log_cap_keeps_whole_lines() -> None:
    line = b"x" * 99 + b"\n"
    builder, df = build([("cp1", "a.log", [line * 50, line * 50])], max_file_bytes=1234)
    assert df.height == 12 and set(df["message"].to_list()) == {"x" * 99}
    assert messages(builder) == [("nodes/cp1/logs/a.log", "indexed the first 12 lines; 88 lines (8.6 KiB) left out "
                                  "(cap: bytes per log)")]


def test_long_lines_are_cut_in_a_block_and_across_chunks() -> None:
    head = b"short one\n" + b"y" * 5000 + b"\nafter\n"
    streamed = [b"z" * 3000] * 10 + [b"zz\nlast line\n"]          # one 30,002-byte line across 11 chunks
    builder, df = build([("cp1", "a.log", [head] + streamed)], max_line_bytes=1000)
    rows = df.select("line", "message").rows()
    assert rows == [(1, "short one"), (2, "y" * 1000), (3, "after"), (4, "z" * 1000), (5, "last line")]
    assert messages(builder) == [("nodes/cp1/logs/a.log", "2 line(s) longer than 1,000 bytes cut to their first "
                                  "1,000 characters; 32 KiB left out (cap: line length)")]


def test_nul_runs_are_skipped_and_the_text_around_them_kept() -> None:
    before = b"Nov 22 11:29:59 h kubelet[1]: before the power loss\n"
    after = b"Nov 22 11:31:00 h kubelet[1]: after the reboot\n"
    # a file that starts with NUL blocks, text, 3 MiB of NULs in pieces, text
    chunks = [bytes(4096), before, bytes(1024**2), bytes(1024**2), bytes(1024**2) + after]
    builder, df = build([("cp1", "messages", chunks)])
    assert df.select("line", "message").rows() == [(1, "before the power loss"), (2, "after the reboot")]
    assert df["timestamp"].null_count() == 0
    assert messages(builder) == [("nodes/cp1/logs/messages", "skipped 3.0 MiB of NUL bytes (blocks a power loss or a "
                                  "preallocating writer leaves); the text around them was indexed "
                                  "(cap: NUL bytes are not text)")]


def test_a_gigabyte_of_nuls_streams_through_without_being_held() -> None:
    zeros = bytes(8 * 1024**2)
    builder, df = build([("cp1", "k.log", (b"one line\n" if i == 0 else zeros for i in range(129)))])
    assert df["message"].to_list() == ["one line"] and "1.0 GiB of NUL" in messages(builder)[0][1]


def test_human_bytes() -> None:
    assert [human_bytes(n) for n in (17, 2048, 1536 * 1024, 5 * 1024**3, 40 * 1024**3)] == [
        "17 bytes", "2.0 KiB", "1.5 MiB", "5.0 GiB", "40 GiB"]


def test_cr_only_line_ends_are_line_ends() -> None:
    builder, df = build([("cp1", "mac.log", [b"Nov 22 11:30:00 h app[1]: one\rNov 22 11:30:01 h app[1]: two\r"])])
    assert df.select("line", "message").rows() == [(1, "one"), (2, "two")] and builder.problems == []


def test_bytes_per_bundle_cap() -> None:
    line = b"x" * 99 + b"\n"
    builder, df = build([("cp1", "a.log", [line * 30]), ("w1", "b.log", [line * 30]), ("w2", "c.log", [line])],
                        max_total_bytes=4500)
    assert df.group_by("file").len().sort("file").rows() == [("nodes/cp1/logs/a.log", 30), ("nodes/w1/logs/b.log", 15)]
    assert messages(builder) == [
        ("nodes/w1/logs/b.log", "indexed the first 15 lines; 15 lines (1.5 KiB) left out (cap: bytes per bundle)"),
        (None, "1 more of the bundle's log files not indexed: 1 line (100 bytes) left out (cap: bytes per bundle)")]


SMALL_LOGS = [
    ("cp1", "journal/kubelet.log", b"2026-11-22T11:29:59.1+0800 cp1 kubelet[812]: E1122 11:29:59.123000     812 k.go:1] "
                                   b"boom\n-- Boot 0f3c --\n"),
    ("w1", "var/log/pods/ns_p_1/c/0.log", b"2026-11-22T03:00:00.1Z stdout F I1122 03:00:00.100000 1 a.go:2] cri+klog\n"
                                          b"2026-11-22T03:00:01.1Z stderr F plain text\n"),
    ("cp1", "var/log/messages", b"Nov 22 11:30:00 cp1 containerd[9]: time=\"2026-11-22T11:30:00Z\" level=error "
                                b"msg=\"x\"\nDec 31 23:59:59 cp1 systemd[1]: last year\n"),
    ("w1", "var/log/syslog", b"Nov 22 11:30:00 w1 kernel: no year, node zone\n"),
    ("cp1", "plain.txt", b"no timestamp at all\n\nline three, no final newline"),
    ("w2", "coredns.log", b"2026-11-22T03:00:00.1Z stdout F [ERROR] plugin/errors: 2 x. A: i/o timeout\n"),
]


def test_small_files_are_parsed_in_one_batch_with_the_same_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    import polars as pl

    import k8s_bundle.analyzer.logindex as logindex

    def rows(batched: bool) -> tuple[pl.DataFrame, int]:
        monkeypatch.setattr(logindex, "SMALL_FILE_BYTES", 1024**2 if batched else 0)
        builder = LogIndexBuilder()
        for node, source, data in SMALL_LOGS * 3:
            builder.add_file(node, source, f"nodes/{node}/logs/{source}", [data])
        parts = len(builder._parts) + bool(builder._pending)      # noqa: SLF001 - what the batch saves
        return builder.finish(CREATED, {"cp1": 28800, "w1": 3600}), parts

    (batched, one), (single, many) = rows(True), rows(False)
    assert one == 1 and many >= 18
    assert batched.equals(single) and batched.height == 30
    assert batched.filter(pl.col("source") == "var/log/syslog")["timestamp"].to_list()[0] == t(2026, 11, 22, 10, 30)


def test_a_small_file_a_cap_would_cut_takes_the_ordinary_path() -> None:
    builder, df = build([("cp1", "a.log", [b"x\n" * 10]), ("cp1", "b.log", [b"y\n" * 10])], max_node_lines=15)
    assert df.height == 15
    assert messages(builder) == [("nodes/cp1/logs/b.log", "indexed the first 5 lines; 5 lines (10 bytes) left out "
                                  "(cap: lines per node)")]
