"""`redact` reads its inputs through the bundle reader: the refusals and caps of `analyze` and
`verify` apply to it too (k8s_bundle/bundle/reader.py). Real archives, real `redact` runs."""
from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from redact_helpers import run_cli, tar_members

SECRET = b"password=Zx9kQ2mV7pL4sT8w\n"
DEEP = "/".join(f"d{i}" for i in range(40)) + "/deep.log"      # past max_path_depth (32)
LONG = "x/" + "n" * 1100 + ".log"                              # past max_path_length (1,024)


def _archive(path: Path, entries: list[tarfile.TarInfo | tuple[str, bytes]]) -> Path:
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tf:
        for entry in entries:
            if isinstance(entry, tarfile.TarInfo):
                tf.addfile(entry)
            else:
                info = tarfile.TarInfo(entry[0])
                info.size = len(entry[1])
                tf.addfile(info, io.BytesIO(entry[1]))
    return path


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def _skipped(manifest: dict) -> dict[str, str]:
    return {i["id"]: i["error"] for i in manifest["items"] if i["status"] == "skipped"}


@pytest.mark.parametrize("out_name", ["out.tgz", "out"])
def test_refused_members_of_an_archive_are_skipped_named_and_never_written(tmp_path: Path, out_name: str) -> None:
    src = _archive(tmp_path / "in.tgz", [
        ("logs/app.log", SECRET),
        ("logs/../../escape.log", SECRET),
        _link("logs/passwd", "/etc/passwd"),
        _link("logs/hard", "logs/app.log", tarfile.LNKTYPE),
        (DEEP, SECRET),
        (LONG, SECRET),
    ])
    out = tmp_path / out_name
    proc = run_cli("redact", str(src), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    if out_name.endswith(".tgz"):
        members = tar_members(out)
        stored = set(members)
        manifest = json.loads(members["manifest.json"])
    else:
        stored = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
        manifest = json.loads((out / "manifest.json").read_bytes())
    assert stored == {"input/in.tgz/logs/app.log", "manifest.json", "redaction.json"}
    skipped = _skipped(manifest)
    assert skipped["input/in.tgz/logs/../../escape.log"] == \
        "refused member with an absolute or escaping path 'logs/../../escape.log'"
    assert skipped["input/in.tgz/logs/passwd"].startswith("refused symlink (target '/etc/passwd')")
    assert skipped["input/in.tgz/logs/hard"].startswith("refused hardlink")
    assert "path deeper than 32 levels" in skipped["input/in.tgz/" + DEEP]
    assert any("path longer than 1024 characters" in why for why in skipped.values())
    assert len(skipped) == 5
    # one line per refusal on stderr, then the summary
    lines = proc.stderr.splitlines()
    assert len(lines) == 6 and all(line.startswith("redact: skipped ") for line in lines[:5])
    assert lines[-1].startswith("redacted ") and lines[-1].endswith("1 values replaced, 5 skipped")


def test_a_bundle_archive_keeps_its_layout_and_its_links_are_refused(tmp_path: Path) -> None:
    top = "k8s-bundle-n1-20261122T113000Z"
    manifest = {"format_version": "1.0", "nodes": [{"name": "n1", "os": "linux"}], "items": []}
    src = _archive(tmp_path / "b.tgz", [
        (f"{top}/nodes/n1/files/etc/app.env", SECRET),
        _link(f"{top}/nodes/n1/files/etc/shadow", "/etc/shadow"),
        (f"{top}/manifest.json", json.dumps(manifest).encode()),
    ])
    out = tmp_path / "r.tgz"
    proc = run_cli("redact", str(src), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    members = tar_members(out)
    assert set(members) == {"nodes/n1/files/etc/app.env", "manifest.json", "redaction.json"}
    assert b"Zx9kQ2mV7pL4sT8w" not in members["nodes/n1/files/etc/app.env"]
    written = json.loads(members["manifest.json"])
    assert "redacted_again" in written
    assert _skipped(written)["nodes/n1/files/etc/shadow"].startswith("refused symlink")
    assert "redact: skipped nodes/n1/files/etc/shadow: refused symlink" in proc.stderr


def test_links_and_fifos_in_an_input_directory_are_refused(tmp_path: Path) -> None:
    src = tmp_path / "gathered"
    (src / "etc").mkdir(parents=True)
    (src / "etc" / "app.env").write_bytes(SECRET)
    (src / "etc" / "hosts").symlink_to("/etc/hosts")
    os.mkfifo(src / "etc" / "pipe")
    out = tmp_path / "r.tgz"
    proc = run_cli("redact", str(src), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    members = tar_members(out)
    assert set(members) == {"input/gathered/etc/app.env", "manifest.json", "redaction.json"}
    skipped = _skipped(json.loads(members["manifest.json"]))
    assert skipped["input/gathered/etc/hosts"] == "refused symlink (target '/etc/hosts')"
    assert skipped["input/gathered/etc/pipe"].startswith("refused special file")


def test_a_truncated_archive_is_one_line_exit_4_and_writes_nothing(tmp_path: Path) -> None:
    whole = _archive(tmp_path / "whole.tgz", [("logs/app.log", os.urandom(300_000))])
    cut = tmp_path / "cut.tgz"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    proc = run_cli("redact", str(cut), "-o", str(tmp_path / "r.tgz"))
    assert proc.returncode == 4, proc.stderr
    assert proc.stderr.count("\n") == 1 and "corrupt or truncated archive" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "r.tgz").exists()


def _pax_member(name: str, body: bytes, pax: dict[str, str]) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.pax_headers = len(body), pax
    return info.tobuf(format=tarfile.PAX_FORMAT) + body + b"\0" * (-len(body) % 512)


def test_a_member_the_reader_caps_is_stored_as_read_and_marked_truncated(tmp_path: Path) -> None:
    # A GNU sparse 1.0 member declaring 2 GiB, 44 bytes of them data: the reader reads the data
    # segment only (cap: sparse members are read as their data); the item says so.
    line = b"2026-11-22T11:00:00Z n1 app[1]: password=Zx9kQ2mV7pL4sT8w\n"
    sparse_map = b"1\n0\n%d\n" % len(line)
    body = sparse_map + b"\0" * (-len(sparse_map) % 512) + line
    member = _pax_member("logs/GNUSparseFile.0/big.log", body, {
        "GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": "logs/big.log",
        "GNU.sparse.realsize": str(2 * 1024**3)})
    src = tmp_path / "in.tar"
    src.write_bytes(member + b"\0" * 1024)
    out = tmp_path / "r.tgz"
    proc = run_cli("redact", str(src), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    members = tar_members(out)
    assert members["input/in.tar/logs/big.log"].startswith(b"2026-11-22T11:00:00Z n1 app[1]: password=")
    assert b"Zx9kQ2mV7pL4sT8w" not in members["input/in.tar/logs/big.log"]
    item = next(i for i in json.loads(members["manifest.json"])["items"] if i["id"] == "input/in.tar/logs/big.log")
    assert item["status"] == "truncated" and "holes left out" in item["error"]
    assert _skipped(json.loads(members["manifest.json"])) == {}


def test_a_file_swapped_for_a_link_after_the_walk_is_not_followed_and_its_item_fails(tmp_path: Path) -> None:
    # The reader opens a directory's files with O_NOFOLLOW when it reads them: a file replaced
    # by a link between the walk and the read is not followed, and its item fails (no empty file).
    from k8s_bundle.redact.command import _gather, _redact_one, _write_file
    from k8s_bundle.redact.redactor import Redactor

    src = tmp_path / "gathered"
    src.mkdir()
    (src / "a.log").write_bytes(SECRET)
    (src / "b.log").write_bytes(SECRET)
    (tmp_path / "elsewhere").write_bytes(b"not to be read\n")
    skipped: list[dict[str, str]] = []
    sources = _gather([str(src)], skipped).sources
    out = tmp_path / "out"
    out.mkdir()
    redactor = Redactor()
    store = lambda rel, chunks: _write_file(out, rel, chunks, out)   # noqa: E731
    first = _redact_one(redactor, next(sources), store)               # the walk is done by now
    (src / "b.log").unlink()
    (src / "b.log").symlink_to(tmp_path / "elsewhere")
    second = _redact_one(redactor, next(sources), store)
    assert next(sources, None) is None
    assert first["status"] == "ok" and first["path"] == "input/gathered/a.log"
    # read errors inside the redactor fail closed (redactor.py), as for a file given by name
    assert second["status"] == "redaction_failed" and second["path"] is None
    assert second["error"] == "dropped: input/gathered/b.log: cannot be redacted safely (OSError)"
    assert not (out / "input/gathered/b.log").exists()
    assert skipped == []      # told once, on its item
