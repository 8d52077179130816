"""The bundle reader against hostile and damaged input, built as real tarballs in the test."""
from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from k8s_bundle.bundle.reader import ReaderLimits, open_bundle
from k8s_bundle.bundle.writer import BundleWriter
from k8s_bundle.errors import EXIT_BAD_INPUT, UserError

TOP = "k8s-bundle-cp1-20261122T113000Z"
SYSCTL = b"net.ipv4.ip_forward = 1\nvm.swappiness = 60\n"


def read_all(path: Path, limits: ReaderLimits | None = None):
    reader = open_bundle(path, limits)
    got = {m.path: m.read() for m in reader}
    return got, reader


def special(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


def test_reads_members_with_top_directory_stripped(make_tar) -> None:
    path = make_tar([(f"{TOP}/nodes/cp1/commands/sysctl.txt", SYSCTL), (f"{TOP}/manifest.json", b"{}")])
    got, reader = read_all(path)
    assert got == {"nodes/cp1/commands/sysctl.txt": SYSCTL, "manifest.json": b"{}"}
    assert reader.problems == [] and not reader.truncated and reader.kind == "tar.gz"


def test_reads_a_bundle_written_by_the_bundle_writer(tmp_path: Path) -> None:
    out = tmp_path / "b.tgz"
    with BundleWriter(out, TOP) as w:
        w.add_bytes("nodes/cp1/commands/sysctl.txt", SYSCTL)
        w.add_stream("nodes/cp1/logs/journal/kubelet.log", [b"x" * 100_000, b"y" * 50])
        w.finish({"format_version": "1.0"})
    got, reader = read_all(out)
    assert got["nodes/cp1/logs/journal/kubelet.log"] == b"x" * 100_000 + b"y" * 50
    assert list(got)[-1] == "manifest.json"
    assert reader.problems == []


def test_plain_uncompressed_tar_is_accepted(make_tar) -> None:
    path = make_tar([(f"{TOP}/manifest.json", b"{}")], name="b.tar", gz=False)
    got, reader = read_all(path)
    assert got == {"manifest.json": b"{}"} and reader.kind == "tar"


@pytest.mark.parametrize(
    "entry, expect",
    [
        ((f"/etc/passwd", b"root:x:0:0"), "absolute"),
        ((f"{TOP}/../../etc/cron.d/x", b"* * * * * root id"), "escaping"),
        ((f"{TOP}/nodes/cp1/../../../x", b"x"), "escaping"),
        ((f"C:\\Windows\\x", b"x"), "absolute"),
        (special(f"{TOP}/nodes/cp1/files/etc/shadow", tarfile.SYMTYPE, "/etc/shadow"), "symlink"),
        (special(f"{TOP}/nodes/cp1/files/x", tarfile.SYMTYPE, "sysctl.txt"), "symlink"),
        (special(f"{TOP}/nodes/cp1/files/y", tarfile.LNKTYPE, f"{TOP}/manifest.json"), "hardlink"),
        (special(f"{TOP}/nodes/cp1/dev/sda", tarfile.BLKTYPE), "special"),
        (special(f"{TOP}/nodes/cp1/dev/null", tarfile.CHRTYPE), "special"),
        (special(f"{TOP}/nodes/cp1/fifo", tarfile.FIFOTYPE), "special"),
        ((f"other-top/manifest.json", b"{}"), "outside the top directory"),
    ],
)
def test_hostile_members_are_refused_and_recorded(make_tar, entry, expect: str) -> None:
    good = (f"{TOP}/nodes/cp1/commands/sysctl.txt", SYSCTL)
    path = make_tar([good, entry, (f"{TOP}/manifest.json", b"{}")])
    got, reader = read_all(path)
    assert set(got) == {"nodes/cp1/commands/sysctl.txt", "manifest.json"}
    assert [p.kind for p in reader.problems] == ["rejected"]
    assert expect in reader.problems[0].message


def test_duplicate_member_keeps_the_first(make_tar) -> None:
    path = make_tar([(f"{TOP}/manifest.json", b'{"a": 1}'), (f"{TOP}/manifest.json", b'{"evil": 1}')])
    got, reader = read_all(path)
    assert got == {"manifest.json": b'{"a": 1}'}
    assert "duplicate" in reader.problems[0].message


def test_member_count_cap(make_tar) -> None:
    path = make_tar([(f"{TOP}/f{i}.txt", b"x") for i in range(20)])
    got, reader = read_all(path, ReaderLimits(max_members=5))
    assert len(got) == 5
    assert [p.kind for p in reader.problems] == ["limit"] and reader.limit_reached


def test_total_bytes_cap_declared(make_tar) -> None:
    path = make_tar([(f"{TOP}/f{i}.txt", b"x" * 1000) for i in range(10)])
    got, reader = read_all(path, ReaderLimits(max_total_bytes=3500))
    assert len(got) == 3
    assert reader.problems[-1].kind == "limit"


def test_decompression_bomb_stops_at_the_stream_cap(tmp_path: Path) -> None:
    # 50 MB of zeros in one member compress to ~50 KB; the cap stops decompression early.
    path = tmp_path / "bomb.tgz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(f"{TOP}/nodes/n/logs/big.log")
        info.size = 50_000_000
        tar.addfile(info, io.BytesIO(bytes(info.size)))
    assert path.stat().st_size < 200_000
    reader = open_bundle(path, ReaderLimits(max_total_bytes=60_000_000, max_member_bytes=1_000_000))
    sizes = {m.path: sum(len(c) for c in m.chunks(1 << 20)) for m in reader}
    assert sizes == {"nodes/n/logs/big.log": 1_000_000}
    assert any(p.kind == "limit" and "max_member_bytes" in p.message for p in reader.problems)


def test_per_member_cap_reads_the_start(make_tar) -> None:
    path = make_tar([(f"{TOP}/nodes/n/logs/a.log", b"0123456789" * 10)])
    got, reader = read_all(path, ReaderLimits(max_member_bytes=25))
    assert got == {"nodes/n/logs/a.log": b"0123456789012345678901234"}
    assert reader.problems[0].kind == "limit" and reader.problems[0].node == "n"


def test_path_length_and_depth_caps(make_tar) -> None:
    deep = f"{TOP}/" + "/".join(["d"] * 40) + "/x.txt"
    long = f"{TOP}/" + "a" * 2000 + ".txt"
    path = make_tar([(deep, b"x"), (long, b"y"), (f"{TOP}/ok.txt", b"z")])
    got, reader = read_all(path)
    assert got == {"ok.txt": b"z"}
    assert sorted(p.message.split(": ")[1].split()[1] for p in reader.problems) == ["deeper", "longer"]


def test_huge_pax_header_ends_reading_with_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "pax.tgz"
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_reg(f"{TOP}/a.txt", b"a"), io.BytesIO(b"a"))
        info = _reg(f"{TOP}/b.txt", b"b")
        info.pax_headers = {"comment": "x" * 2_000_000}
        tar.addfile(info, io.BytesIO(b"b"))
    got, reader = read_all(path, ReaderLimits(max_meta_bytes=1_000_000))
    assert got == {"a.txt": b"a"}
    assert reader.truncated and "max_meta_bytes" in reader.problems[0].message


def _reg(name: str, data: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info


def _bundle_bytes(tmp_path: Path) -> tuple[bytes, bytes]:
    log = b"".join(b"Nov 22 11:%02d:00 cp1 kubelet[812]: line %06d\n" % (i % 60, i) for i in range(20000))
    path = tmp_path / "whole.tgz"
    with BundleWriter(path, TOP) as w:
        w.add_bytes("nodes/cp1/commands/sysctl.txt", SYSCTL)
        w.add_bytes("nodes/cp1/logs/journal/kubelet.log", log)
        w.finish({"format_version": "1.0"})
    return path.read_bytes(), log


@pytest.mark.parametrize("fraction", [0.02, 0.3, 0.5, 0.9, 0.999])
def test_truncated_gzip_keeps_what_was_read(tmp_path: Path, fraction: float) -> None:
    data, log = _bundle_bytes(tmp_path)
    cut = tmp_path / "cut.tgz"
    cut.write_bytes(data[: int(len(data) * fraction)])
    got, reader = read_all(cut)
    assert reader.truncated
    assert any(p.kind == "truncated" and "gzip stream ends early" in p.message for p in reader.problems)
    assert got.get("nodes/cp1/commands/sysctl.txt") == SYSCTL
    kept = got.get("nodes/cp1/logs/journal/kubelet.log", b"")
    assert log.startswith(kept)                  # a true prefix, no padding leaked in
    if fraction >= 0.5:
        assert len(kept) > len(log) * 0.3
    assert "manifest.json" not in got or fraction > 0.99


def test_truncated_plain_tar_is_reported(tmp_path: Path) -> None:
    data, log = _bundle_bytes(tmp_path)
    tar_bytes = gzip.decompress(data)
    for cut_at in (len(tar_bytes) // 2, 512 * 4):
        cut = tmp_path / "cut.tar"
        cut.write_bytes(tar_bytes[:cut_at])
        got, reader = read_all(cut)
        assert reader.truncated, cut_at
        assert log.startswith(got.get("nodes/cp1/logs/journal/kubelet.log", b""))


def test_tar_cut_at_a_member_boundary_is_reported(make_tar, tmp_path: Path) -> None:
    path = make_tar([(f"{TOP}/a.txt", b"a" * 512), (f"{TOP}/b.txt", b"b" * 512)], gz=False, name="b.tar",
                    fmt=tarfile.USTAR_FORMAT)
    cut = tmp_path / "cut.tar"
    cut.write_bytes(path.read_bytes()[: 512 * 2])   # header + data of a.txt, nothing else
    got, reader = read_all(cut)
    assert got == {"a.txt": b"a" * 512}
    assert reader.truncated


def test_corrupt_gzip_in_the_middle(tmp_path: Path) -> None:
    data, _ = _bundle_bytes(tmp_path)
    bad = bytearray(data)
    for i in range(len(bad) // 2, len(bad) // 2 + 64):
        bad[i] ^= 0x5A
    path = tmp_path / "bad.tgz"
    path.write_bytes(bytes(bad))
    got, reader = read_all(path)
    assert reader.truncated
    assert got["nodes/cp1/commands/sysctl.txt"] == SYSCTL


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty file"),
        (b"this is not a bundle\n" * 100, "not a bundle"),
        (gzip.compress(b"just some text, not a tar archive\n" * 100), "does not hold a tar"),
        (b"\x1f\x8b\x08\x00garbage", "not a readable bundle"),
    ],
)
def test_not_a_bundle_is_a_one_line_user_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "x.tgz"
    path.write_bytes(content)
    with pytest.raises(UserError) as err:
        list(open_bundle(path))
    assert message in str(err.value) and "\n" not in str(err.value)
    assert err.value.exit_code == EXIT_BAD_INPUT


def test_missing_path_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file"):
        open_bundle(tmp_path / "nope.tgz")


def test_directory_bundle_and_child_directory(tmp_path: Path) -> None:
    root = tmp_path / "extracted" / TOP
    (root / "nodes/cp1/commands").mkdir(parents=True)
    (root / "nodes/cp1/commands/sysctl.txt").write_bytes(SYSCTL)
    (root / "manifest.json").write_bytes(b"{}")
    outside = tmp_path / "secret.txt"
    outside.write_text("outside the tree")
    os.symlink(outside, root / "nodes/cp1/commands/evil.txt")
    os.symlink(tmp_path, root / "nodes/cp1/loop")
    os.mkfifo(root / "nodes/cp1/fifo")
    for given in (root, tmp_path / "extracted"):
        got, reader = read_all(given)
        assert got == {"manifest.json": b"{}", "nodes/cp1/commands/sysctl.txt": SYSCTL}
        assert list(got)[0] == "manifest.json"
        kinds = sorted((p.path, p.kind) for p in reader.problems)
        assert kinds == [("nodes/cp1/commands/evil.txt", "rejected"), ("nodes/cp1/fifo", "rejected"),
                         ("nodes/cp1/loop", "rejected")]


def test_directory_without_manifest_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with pytest.raises(UserError, match="without manifest.json"):
        open_bundle(tmp_path)


def test_chunks_match_read(make_tar) -> None:
    data = os.urandom(300_000)
    path = make_tar([(f"{TOP}/nodes/n/logs/x.log", data)])
    reader = open_bundle(path)
    for member in reader:
        assert b"".join(member.chunks(7777)) == data


_WHOLE: list[bytes] = []


def _whole(tmp_path_factory) -> bytes:
    if not _WHOLE:
        _WHOLE.append(_bundle_bytes(tmp_path_factory.mktemp("whole"))[0])
    return _WHOLE[0]



@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(0.0, 1.0), flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(1, 255)), max_size=3))
def test_damaged_bundles_never_raise_anything_but_user_error(tmp_path_factory, cut: float, flips) -> None:
    data = bytearray(_whole(tmp_path_factory))
    for where, xor in flips:
        data[min(int(where * len(data)), len(data) - 1)] ^= xor
    data = data[: int(cut * len(data))]
    path = tmp_path_factory.mktemp("dmg") / "d.tgz"
    path.write_bytes(bytes(data))
    try:
        reader = open_bundle(path)
        for member in reader:
            member.read()
    except UserError as err:
        assert "\n" not in str(err)


def test_tar_without_top_directory(make_tar) -> None:
    path = make_tar([("./nodes/cp1/commands/sysctl.txt", SYSCTL), ("./manifest.json", b"{}")])
    got, reader = read_all(path)
    assert got == {"nodes/cp1/commands/sysctl.txt": SYSCTL, "manifest.json": b"{}"} and reader.problems == []


def test_concatenated_gzip_members_are_one_stream(make_tar, tmp_path: Path) -> None:
    plain = make_tar([(f"{TOP}/a.txt", b"a" * 3000), (f"{TOP}/manifest.json", b"{}")], name="b.tar", gz=False)
    raw = plain.read_bytes()
    path = tmp_path / "multi.tgz"
    path.write_bytes(gzip.compress(raw[:1536]) + gzip.compress(raw[1536:]))   # as pigz/cat produce
    got, reader = read_all(path)
    assert got == {"a.txt": b"a" * 3000, "manifest.json": b"{}"} and reader.problems == []


# -- issue 11: absurd header values, sparse members, names that are not UTF-8, the node cap ----
def _tar_bytes(blocks: list[bytes]) -> bytes:
    return b"".join(blocks) + b"\0" * 1024


def _header(name: str, size: int, pax: dict[str, str] | None = None, typ: bytes = tarfile.REGTYPE) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.type = size, typ
    if pax:
        info.pax_headers = pax
    return info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="surrogateescape")


def _padded(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 512)


def _sparse10(name: str, data: bytes, real_size: int, sparse_map: bytes | None = None) -> bytes:
    """A GNU sparse 1.0 member as GNU tar writes it: `data` at offset 0, holes to `real_size`."""
    body = _padded(sparse_map if sparse_map is not None else b"1\n0\n%d\n" % len(data)) + _padded(data)
    folder, _, base = name.rpartition("/")
    return _header(f"{folder}/GNUSparseFile.0/{base}", len(body), {
        "GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": name,
        "GNU.sparse.realsize": str(real_size)}) + body


def _write_tgz(tmp_path: Path, blocks: list[bytes]) -> Path:
    path = tmp_path / "b.tgz"
    path.write_bytes(gzip.compress(_tar_bytes(blocks), compresslevel=1))
    return path


LOG_LINE = b"2026-11-22T11:00:00Z cp1 kubelet[1]: hello\n"
MANIFEST_BLOCKS = [_header(f"{TOP}/manifest.json", 2) + _padded(b"{}")]


def test_sparse_member_is_read_as_its_data_segments(tmp_path: Path) -> None:
    path = _write_tgz(tmp_path, [_sparse10(f"{TOP}/nodes/cp1/logs/k.log", LOG_LINE, 2 * 1024**3), *MANIFEST_BLOCKS])
    got, reader = read_all(path)
    assert got["nodes/cp1/logs/k.log"] == LOG_LINE            # not 2 GiB of NULs
    assert [p.kind for p in reader.problems] == ["limit"]
    assert "holes left out" in reader.problems[0].message and "2,147,483,6" in reader.problems[0].message


def test_old_gnu_sparse_member_is_read_as_its_data(tmp_path: Path) -> None:
    head = bytearray(tarfile.TarInfo(f"{TOP}/nodes/cp1/logs/old.log").tobuf(format=tarfile.GNU_FORMAT))
    head[156:157] = tarfile.GNUTYPE_SPARSE
    head[124:136] = b"%011o\0" % 512                               # stored: one block
    head[386:398], head[398:410] = b"%011o\0" % 0, b"%011o\0" % len(LOG_LINE)
    head[483:495] = b"%011o\0" % (1024**3)                         # real size: 1 GiB
    head[148:156] = b" " * 8
    head[148:156] = b"%06o\0 " % sum(head)
    path = _write_tgz(tmp_path, [bytes(head) + _padded(LOG_LINE), *MANIFEST_BLOCKS])
    got, reader = read_all(path)
    assert got["nodes/cp1/logs/old.log"] == LOG_LINE
    assert "holes left out" in reader.problems[0].message


@pytest.mark.parametrize("sparse_map, why", [
    (b"2\n100\n10\n0\n10\n", "out of order"),
    (b"1\n0\n99999\n", "the map names 99,999 bytes"),
    (b"1\n4000000000\n10\n", "past the file's size"),
])
def test_sparse_member_with_a_bad_map_is_refused(tmp_path: Path, sparse_map: bytes, why: str) -> None:
    path = _write_tgz(tmp_path, [_sparse10(f"{TOP}/nodes/cp1/logs/k.log", LOG_LINE, 1024**3, sparse_map),
                                 *MANIFEST_BLOCKS])
    got, reader = read_all(path)
    assert set(got) == {"manifest.json"}
    assert [p.kind for p in reader.problems] == ["rejected"] and why in reader.problems[0].message


@pytest.mark.parametrize("sparse_map", [b"99999999999\n0\n1\n", b"1\nzero\n10\n", b"1\n0\n" + b"7" * 5000 + b"\n"])
def test_absurd_sparse_maps_end_reading_as_damage(tmp_path: Path, sparse_map: bytes) -> None:
    good = _header(f"{TOP}/nodes/cp1/a.txt", 2) + _padded(b"ok")
    path = _write_tgz(tmp_path, [good, _sparse10(f"{TOP}/nodes/cp1/logs/k.log", LOG_LINE, 1024**3, sparse_map),
                                 *MANIFEST_BLOCKS])
    got, reader = read_all(path)
    assert got == {"nodes/cp1/a.txt": b"ok"} and reader.truncated
    assert "sparse map" in reader.problems[0].message


@pytest.mark.parametrize("pax", [{"size": "-99999999999"}, {"GNU.sparse.realsize": "lots"}, {"size": "1e9"}])
def test_absurd_pax_values_are_damage_not_a_crash(tmp_path: Path, pax: dict[str, str]) -> None:
    good = _header(f"{TOP}/nodes/cp1/a.txt", 2) + _padded(b"ok")
    path = _write_tgz(tmp_path, [good, _header(f"{TOP}/nodes/cp1/logs/k.log", len(LOG_LINE), pax) + _padded(LOG_LINE),
                                 *MANIFEST_BLOCKS])
    got, reader = read_all(path)
    assert "nodes/cp1/a.txt" in got and "manifest.json" not in got
    assert reader.truncated and "damaged" in reader.problems[0].message


def test_negative_size_in_the_first_header_is_a_user_error(tmp_path: Path) -> None:
    path = _write_tgz(tmp_path, [_header(f"{TOP}/nodes/cp1/k.log", 0, {"size": "-5"}) + _padded(b"x"),
                                 *MANIFEST_BLOCKS])
    with pytest.raises(UserError, match="negative member size"):
        read_all(path)


def test_names_that_are_not_utf8_are_escaped_in_a_tarball(tmp_path: Path) -> None:
    bad = f"{TOP}/nodes/n\udcff1/commands/x\udcfe.txt"
    head = tarfile.TarInfo(bad)
    head.size = 2
    block = head.tobuf(format=tarfile.GNU_FORMAT, encoding="utf-8", errors="surrogateescape")
    path = _write_tgz(tmp_path, [block + _padded(b"ok"), *MANIFEST_BLOCKS])
    got, reader = read_all(path)
    assert got == {"nodes/n\\xff1/commands/x\\xfe.txt": b"ok", "manifest.json": b"{}"}
    assert reader.node_names == ["n\\xff1"] and reader.problems == []
    "".join(got).encode("utf-8")     # valid text: JSON, polars and terminals take it


def test_names_that_are_not_utf8_are_escaped_in_a_directory(tmp_path: Path) -> None:
    root = os.fsencode(tmp_path / "b")
    os.makedirs(os.path.join(root, b"nodes", b"n\xff1"))
    with open(os.path.join(root, b"nodes", b"n\xff1", b"a\xfe.txt"), "wb") as fh:
        fh.write(b"ok")
    with open(os.path.join(root, b"manifest.json"), "wb") as fh:
        fh.write(b"{}")
    got, reader = read_all(tmp_path / "b")
    assert got == {"manifest.json": b"{}", "nodes/n\\xff1/a\\xfe.txt": b"ok"}
    assert reader.node_names == ["n\\xff1"]


def test_node_cap_in_a_tarball_counts_empty_node_directories(tmp_path: Path) -> None:
    blocks = [_header(f"{TOP}/nodes/e{i}/", 0, typ=tarfile.DIRTYPE) for i in range(3)]
    blocks += [_header(f"{TOP}/nodes/n{i}/a.txt", 2) + _padded(b"ok") for i in range(4)]
    path = _write_tgz(tmp_path, blocks + [_header(f"{TOP}/cluster/x.json", 2) + _padded(b"{}"), *MANIFEST_BLOCKS])
    got, reader = read_all(path, ReaderLimits(max_nodes=4))
    assert reader.node_names == ["e0", "e1", "e2", "n0"]
    assert set(got) == {"nodes/n0/a.txt", "cluster/x.json", "manifest.json"}
    assert [p.kind for p in reader.problems] == ["limit"]
    assert reader.problems[0].message == ("read the first 4 node directories; 3 more (3 members) left out "
                                          "(cap: nodes per bundle)")


def test_node_cap_in_a_directory(tmp_path: Path) -> None:
    root = tmp_path / "b"
    for i in range(5):
        (root / "nodes" / f"n{i}").mkdir(parents=True)
        (root / "nodes" / f"n{i}" / "a.txt").write_bytes(b"ok")
    (root / "manifest.json").write_bytes(b"{}")
    got, reader = read_all(root, ReaderLimits(max_nodes=2))
    assert reader.node_names == ["n0", "n1"] and set(got) == {"manifest.json", "nodes/n0/a.txt", "nodes/n1/a.txt"}
    assert "3 more left out (cap: nodes per bundle)" in reader.problems[0].message


@pytest.mark.parametrize("sparse_map, expect", [("0,5", "ok"), ("0,-5", "rejected"), ("x,y", "damaged")])
def test_gnu_sparse_01_maps(tmp_path: Path, sparse_map: str, expect: str) -> None:
    member = _header(f"{TOP}/nodes/cp1/logs/k.log", 512, {"GNU.sparse.map": sparse_map, "GNU.sparse.size": "4096"})
    good = _header(f"{TOP}/nodes/cp1/a.txt", 2) + _padded(b"ok")
    path = _write_tgz(tmp_path, [good, member + _padded(b"hello"), *MANIFEST_BLOCKS])
    got, reader = read_all(path)
    if expect == "ok":
        assert got["nodes/cp1/logs/k.log"] == b"hello" and "holes left out" in reader.problems[0].message
    elif expect == "rejected":
        assert "nodes/cp1/logs/k.log" not in got and reader.problems[0].kind == "rejected"
    else:
        assert reader.truncated and "manifest.json" not in got
