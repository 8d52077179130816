"""load_evidence end to end on bundles written with the project's BundleWriter."""
from __future__ import annotations

import datetime as dt
import io
import os
import sys
import tarfile
from pathlib import Path

import pytest

from k8s_bundle.analyzer import parsers
from k8s_bundle.analyzer.evidence import load_evidence
from k8s_bundle.bundle.writer import BundleWriter
from k8s_bundle.errors import EXIT_BAD_INPUT, UserError

TOP = "k8s-bundle-multi-20261122T113000Z"
MANIFEST = {
    "format_version": "1.0", "tool": {"name": "k8s-bundle", "version": "0.1.0"},
    "created_at": "2026-11-22T03:30:00Z", "finished_at": "2026-11-22T03:30:21Z", "partial": False,
    "nodes": [{"name": "cp1", "os": "linux", "timezone": "Asia/Shanghai", "utc_offset_seconds": 28800},
              {"name": "w1", "os": "windows", "utc_offset_seconds": 0}],
    "items": [
        {"node": "cp1", "area": "runtime", "id": "docker-info", "path": None, "kind": "command",
         "source": "docker info --format '{{json .}}'", "status": "timeout", "exit_code": None,
         "duration_ms": 10003, "bytes": 0, "error": "timed out after 10s"},
        {"node": "cp1", "area": "system", "id": "swaps", "path": "nodes/cp1/commands/swaps.txt", "kind": "command",
         "source": "cat /proc/swaps", "status": "ok", "exit_code": 0, "duration_ms": 3, "bytes": 120, "error": None},
    ],
}


def write_bundle(path: Path, manifest: dict | None = MANIFEST, extra: dict[str, bytes] | None = None) -> Path:
    with BundleWriter(path, TOP) as w:
        w.add_json("nodes/cp1/node.json", {"name": "cp1", "os": "linux", "kernel": "5.15.0-105-generic",
                                            "versions": {"kubelet": "v1.29.3"}, "roles": ["control-plane"]})
        w.add_bytes("nodes/cp1/commands/swaps.txt", b"Filename\tType\tSize\tUsed\tPriority\n/swap.img file 4194300 0 -2\n")
        w.add_bytes("nodes/cp1/commands/sysctl.txt", b"net.ipv4.ip_forward = 0\n")
        w.add_bytes("nodes/cp1/commands/df.txt", b"df: cannot read table of mounted file systems\n")
        w.add_bytes("nodes/cp1/files/var/lib/kubelet/kubeadm-flags.env",
                    b'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///run/containerd/containerd.sock"\n')
        w.add_bytes("nodes/cp1/commands/kubelet-cmdline.txt",
                    b"/usr/bin/kubelet\n--container-runtime-endpoint=unix:///var/run/dockershim.sock\n")
        w.add_json("nodes/cp1/certs.json", {"certificates": [
            {"path": "/etc/kubernetes/pki/apiserver.crt", "not_after": "2026-12-02T03:30:00Z"}]})
        w.add_bytes("nodes/cp1/logs/journal/kubelet.log",
                    b"Nov 22 11:29:00 cp1 kubelet[812]: E1122 11:29:00.000000 812 server.go:302] "
                    b'"command failed" err="failed to run Kubelet: running with swap on is not supported"\n')
        w.add_bytes("nodes/w1/logs/C/k/kubelet.log",
                    "E1122 03:00:00.000000    4 kubelet.go:1] boom\r\n".encode("utf-16"))
        w.add_json("cluster/nodes.json", {"kind": "NodeList", "items": [{"metadata": {"name": "cp1"}}]})
        for name, data in (extra or {}).items():
            w.add_bytes(name, data)
        w.finish(manifest or {}, {"version": 1, "total": 3, "by_rule": {"kubeconfig-token": 3}})
    if manifest is None:
        _drop_member(path, f"{TOP}/manifest.json")  # a bundle cut before its manifest, as a crash leaves it
    return path


def _drop_member(path: Path, name: str) -> None:
    with tarfile.open(path, "r:gz") as src:
        kept = [(info, src.extractfile(info).read() if info.isfile() else None)  # type: ignore[union-attr]
                for info in src.getmembers() if info.name != name]
    with tarfile.open(path, "w:gz") as dst:
        for info, data in kept:
            dst.addfile(info, io.BytesIO(data) if data is not None else None)


def test_full_bundle(tmp_path: Path) -> None:
    ev = load_evidence(str(write_bundle(tmp_path / "b.tgz")))
    cp1 = ev.nodes["cp1"]
    assert ev.bundle["format_version"] == "1.0" and ev.bundle["node_names"] == ["cp1", "w1"]
    assert ev.bundle["truncated"] is False and ev.bundle["redaction"]["total"] == 3
    assert cp1["os"] == "linux" and cp1["versions"]["kubelet"] == "v1.29.3" and cp1["kernel_version"]["minor"] == 15
    assert cp1["swaps"][0]["size_kb"] == 4194300 and cp1["sysctl"]["net.ipv4.ip_forward"] == "0"
    assert cp1["items"]["docker-info"]["status"] == "timeout"
    # the running command line overrides kubeadm-flags.env
    assert cp1["kubelet_flags"]["container-runtime-endpoint"] == "unix:///var/run/dockershim.sock"
    assert cp1["certs"][0]["days_left"] == 10.0
    assert ev.nodes["w1"]["os"] == "windows"
    assert ev.cluster["nodes"][0]["metadata"]["name"] == "cp1" and ev.cluster["available"] is True
    # a parser failure is a problem, the rest of the node still loads
    assert [(p.kind, p.path, p.node) for p in ev.problems] == [("parse-error", "nodes/cp1/commands/df.txt", "cp1")]
    assert "could not parse nodes/cp1/commands/df.txt" in ev.problems[0].message
    assert "df" not in cp1
    logs = {r["node"]: r for r in ev.log_index.to_dicts()}
    assert logs["cp1"]["timestamp"] == dt.datetime(2026, 11, 22, 3, 29, tzinfo=dt.timezone.utc)
    assert logs["cp1"]["level"] == "E" and logs["cp1"]["source"] == "journal/kubelet.log"
    assert logs["w1"]["timestamp"] == dt.datetime(2026, 11, 22, 3, 0, tzinfo=dt.timezone.utc)
    assert "manifest.json" in ev.members and "nodes/cp1/logs/journal/kubelet.log" in ev.members


def test_bundle_without_manifest_still_loads(tmp_path: Path) -> None:
    ev = load_evidence(str(write_bundle(tmp_path / "b.tgz", manifest=None)))
    assert ev.manifest == {} and ev.bundle["node_names"] == ["cp1", "w1"]
    assert any(p.kind == "format" and "no manifest.json" in p.message for p in ev.problems)
    assert ev.nodes["cp1"]["swaps"] and ev.log_index.height == 2


def test_truncated_bundle_loads_what_was_read(tmp_path: Path) -> None:
    path = write_bundle(tmp_path / "b.tgz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    ev = load_evidence(str(path))
    assert ev.bundle["truncated"] is True and ev.manifest == {}
    assert any(p.kind == "truncated" for p in ev.problems)
    assert "node.json" in "".join(ev.members)


def test_other_major_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError) as err:
        load_evidence(str(write_bundle(tmp_path / "b.tgz", {**MANIFEST, "format_version": "2.0"})))
    assert err.value.exit_code == EXIT_BAD_INPUT and "2.0" in str(err.value)


def test_newer_minor_and_older_minor(tmp_path: Path) -> None:
    ev = load_evidence(str(write_bundle(tmp_path / "b.tgz", {**MANIFEST, "format_version": "1.7"})))
    assert any(p.kind == "format" and "newer" in p.message for p in ev.problems)
    ev = load_evidence(str(write_bundle(tmp_path / "c.tgz", {"format_version": "1.0", "nodes": [], "items": []})))
    assert not any(p.kind == "format" for p in ev.problems) and ev.nodes["cp1"]["swaps"]


def test_directory_bundle(tmp_path: Path) -> None:
    path = write_bundle(tmp_path / "b.tgz")
    with tarfile.open(path) as tar:
        tar.extractall(tmp_path / "x", filter="data")
    ev = load_evidence(str(tmp_path / "x"))
    assert ev.bundle["kind"] == "dir" and ev.nodes["cp1"]["items"]["docker-info"]["status"] == "timeout"
    assert ev.log_index.height == 2


def test_a_new_parser_module_registers_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "zz_extra.py").write_text(
        "from k8s_bundle.analyzer.parsers import parser\n\n"
        "@parser('commands/extra-*.txt', fact='extra.{stem}')\n"
        "def parse_extra(text):\n"
        "    if 'boom' in text:\n"
        "        raise ValueError('boom inside')\n"
        "    return text.strip()\n")
    monkeypatch.setattr(parsers, "__path__", [*parsers.__path__, str(tmp_path)])
    monkeypatch.setattr(parsers, "_PARSERS", list(parsers._PARSERS))
    monkeypatch.setattr(parsers, "_LOADED", False)
    monkeypatch.delitem(sys.modules, "k8s_bundle.analyzer.parsers.zz_extra", raising=False)
    ev = load_evidence(str(write_bundle(tmp_path / "b.tgz", extra={
        "nodes/cp1/commands/extra-one.txt": b"hello\n", "nodes/cp1/commands/extra-two.txt": b"boom\n"})))
    assert ev.nodes["cp1"]["extra"] == {"extra-one": "hello"}
    assert any(p.path == "nodes/cp1/commands/extra-two.txt" and "boom inside" in p.message for p in ev.problems)


@pytest.mark.parametrize("content", [b"\x1f\x8b\x08\x00\x00\x00\x00\x00garbage-after-a-gzip-header" * 3, b"plain text\n" * 50])
def test_corrupt_input_is_a_one_line_user_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.tgz"
    path.write_bytes(content)
    with pytest.raises(UserError) as err:
        load_evidence(str(path))
    assert err.value.exit_code == EXIT_BAD_INPUT and "\n" not in str(err.value)


def test_without_cluster_objects(tmp_path: Path) -> None:
    path = tmp_path / "b.tgz"
    with BundleWriter(path, TOP) as w:
        w.add_bytes("nodes/n1/commands/sysctl.txt", b"vm.swappiness = 1\n")
        w.finish({"format_version": "1.0", "created_at": "2026-11-22T03:30:00Z", "nodes": [{"name": "n1"}], "items": []})
    ev = load_evidence(str(path))
    assert ev.cluster == {"available": False} and ev.log_index.height == 0
    assert ev.nodes["n1"]["sysctl"] == {"vm.swappiness": "1"} and ev.problems == []


def test_members_in_any_encoding_parse(tmp_path: Path) -> None:
    import codecs

    path = tmp_path / "b.tgz"
    with BundleWriter(path, TOP) as w:
        w.add_bytes("nodes/n1/node.json", codecs.BOM_UTF8 + b'{"name": "n1", "os": "linux"}')
        w.add_bytes("nodes/n1/commands/sysctl.txt",
                    codecs.BOM_UTF16_LE + "net.ipv4.ip_forward = 1\r\nvm.swappiness = 0\r\n".encode("utf-16-le"))
        w.add_bytes("nodes/n1/commands/lsmod.txt",
                    codecs.BOM_UTF16_BE + "Module Size Used by\r\noverlay 151552 0\r\n".encode("utf-16-be"))
        w.add_bytes("nodes/n1/files/etc/resolv.conf", b"# caf\xe9 latin-1 comment\r\nnameserver 10.96.0.10\r\n")
        w.finish({"format_version": "1.0", "created_at": "2026-11-22T03:30:00Z", "nodes": [{"name": "n1"}], "items": []})
    ev = load_evidence(str(path))
    n1 = ev.nodes["n1"]
    assert n1["os"] == "linux" and n1["sysctl"] == {"net.ipv4.ip_forward": "1", "vm.swappiness": "0"}
    assert n1["lsmod"] == ["overlay"] and n1["resolv"]["nameservers"] == ["10.96.0.10"]
    assert ev.problems == []


# -- issue 11: the node set and hostile logs, end to end ----------------------------------------
def _limits(**kw: int):
    from k8s_bundle.bundle.reader import ReaderLimits

    return ReaderLimits(**kw)


def test_manifest_only_nodes_fill_the_node_cap_and_the_rest_is_reported(tmp_path: Path) -> None:
    names = [{"name": f"node-{i:05d}", "os": "linux"} for i in range(50)]
    path = write_bundle(tmp_path / "b.tgz", manifest={**MANIFEST, "nodes": MANIFEST["nodes"] + names})
    ev = load_evidence(str(path), _limits(max_nodes=10))
    assert ev.bundle["node_names"] == ["cp1", *[f"node-{i:05d}" for i in range(8)], "w1"]
    assert set(ev.nodes) == set(ev.bundle["node_names"])
    limit = [p for p in ev.problems if p.kind == "limit"]
    assert [(p.path, p.message) for p in limit] == [("manifest.json", "manifest.json names 50 nodes the bundle holds "
                                                     "no directory for; 8 kept, 42 left out (cap: nodes per bundle)")]


def test_node_directories_past_the_cap_are_left_out(tmp_path: Path) -> None:
    extra = {f"nodes/n{i}/commands/uname.txt": b"Linux\n" for i in range(5)}
    ev = load_evidence(str(write_bundle(tmp_path / "b.tgz", extra=extra)), _limits(max_nodes=4))
    assert ev.bundle["node_names"] == ["cp1", "n0", "n1", "w1"]
    assert not any(m.startswith(("nodes/n2/", "nodes/n3/", "nodes/n4/")) for m in ev.members)
    assert any("3 more (3 members) left out (cap: nodes per bundle)" in p.message for p in ev.problems)


def test_empty_node_directory_is_a_node(tmp_path: Path) -> None:
    root = tmp_path / "b"
    (root / "nodes" / "lost").mkdir(parents=True)
    (root / "nodes" / "cp1" / "commands").mkdir(parents=True)
    (root / "nodes" / "cp1" / "commands" / "swaps.txt").write_bytes(b"Filename\tType\tSize\tUsed\tPriority\n")
    (root / "manifest.json").write_text('{"format_version": "1.0", "created_at": "2026-11-22T03:30:00Z"}')
    ev = load_evidence(str(root))
    assert ev.bundle["node_names"] == ["cp1", "lost"] and ev.nodes["lost"]["name"] == "lost"


def test_node_directory_name_that_is_not_utf8_is_shown_escaped(tmp_path: Path) -> None:
    import orjson

    root = tmp_path / "b"
    node = root / "nodes" / "n1"
    (node / "logs" / "journal").mkdir(parents=True)
    (node / "logs" / "journal" / "kubelet.log").write_bytes(b"Nov 22 11:29:00 n1 kubelet[1]: hello\n")
    bad = os.path.join(os.fsencode(root / "nodes"), b"n\xff\xfe2")
    os.makedirs(os.path.join(bad, b"logs", b"journal"))
    with open(os.path.join(bad, b"logs", b"journal", b"kubelet.log"), "wb") as fh:
        fh.write(b"Nov 22 11:29:00 n2 kubelet[1]: hello\n")
    (root / "manifest.json").write_text('{"format_version": "1.0", "created_at": "2026-11-22T03:30:00Z"}')
    ev = load_evidence(str(root))
    assert ev.bundle["node_names"] == ["n1", "n\\xff\\xfe2"]
    assert sorted(ev.log_index["node"].cast(str).unique().to_list()) == ["n1", "n\\xff\\xfe2"]
    orjson.dumps({"nodes": ev.nodes, "members": ev.members})     # no surrogate left to break JSON


def test_sparse_log_is_indexed_as_its_data(tmp_path: Path) -> None:
    line = b"Nov 22 11:29:00 cp1 kubelet[812]: one line before 2 GiB of holes\n"
    body = b"1\n0\n%d\n" % len(line)
    body = body + b"\0" * (-len(body) % 512) + line + b"\0" * (-len(line) % 512)
    info = tarfile.TarInfo(f"{TOP}/nodes/cp1/logs/journal/GNUSparseFile.0/kubelet.log")
    info.size = len(body)
    info.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.realsize": str(2 * 1024**3),
                        "GNU.sparse.name": f"{TOP}/nodes/cp1/logs/journal/kubelet.log"}
    path = tmp_path / "s.tgz"
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(body))
    ev = load_evidence(str(path))
    assert ev.log_index["message"].to_list() == ["one line before 2 GiB of holes"]
    assert any("bytes of holes left out" in p.message and p.path == "nodes/cp1/logs/journal/kubelet.log"
               for p in ev.problems)
