"""A hostile bundle served safely: odd names, a huge log, a line without end, traversal members,
links, broken JSON. Built here with tarfile; read with the real kubectl."""
from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from servekit import Server, require_kubectl, write_tar

TOP = "k8s-bundle-evil-20261122T113000Z"
ODD_POD = "we ird\x1b[31m-p\u00f6d"
HUGE_LINES = 500_000


def _huge_log() -> bytes:
    return b"".join(b"2026-11-22T10:%02d:%02d.000000+00:00 evil kubelet[7]: line %07d of the huge log\n"
                    % (i // 60000 % 60, i // 1000 % 60, i) for i in range(HUGE_LINES))


def _link(name: str, target: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


@pytest.fixture(scope="module")
def evil(tmp_path_factory: pytest.TempPathFactory) -> tuple[Server, Path, int]:
    require_kubectl()
    tmp = tmp_path_factory.mktemp("hostile")
    huge = _huge_log()
    node = f"{TOP}/nodes/evil"
    bundle = write_tar(tmp / "evil.tgz", [
        (f"{node}/node.json", json.dumps({"name": "evil", "os": "linux", "hostname": "evil", "roles": 7,
                                          "boot_time": 12, "versions": "not a dict", "cpus": "many"}).encode()),
        (f"{node}/files/etc/kubernetes/manifests/bomb.yaml", b"kind: Pod\nmetadata: {name: bomb}\nspec:\n"
         b"  a: &a [x, x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
         b"  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n  d: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"),
        (f"{node}/files/etc/kubernetes/manifests/odd.yaml",
         b"kind: Pod\nmetadata: {name: odd, labels: [1, 2]}\nspec: {containers: [{name: {x: 1}}, 5, {name: ok}]}\n"),
        (f"{node}/commands/crictl-ps.json", b'{"containers": [1, "x", {"metadata": "nope"}, {"labels": []}]}'),
        (f"{node}/logs/journal/kubelet.log", huge),
        (f"{node}/logs/journal/containerd.log", b"x" * (3 * 1024 * 1024) + b"\nafter the long line\n"),
        (f"{node}/logs/var/log/pods/odd_{ODD_POD}_uid-1/c/0.log",
         b"2026-11-22T11:00:00.000000000Z stdout F hello from an odd pod\n"),
        (f"{TOP}/cluster/hpas.json", b"{not json"),
        (f"{TOP}/cluster/events.json", b'{"items": [{"metadata": {"name": "e1", "namespace": "odd"}, '
         b'"involvedObject": {"kind": ["Node"], "name": {"a": 1}}}, {"metadata": {"name": "e2"}, '
         b'"involvedObject": {"kind": "Pod", "name": ["x"], "namespace": 5}}]}'),
        (f"{TOP}/cluster/pods.json", b'{"items": [{"metadata": {"name": null}}, 7, {"metadata": []}, '
         b'{"metadata": {"name": "shapeless", "namespace": "odd", "labels": [1]}, "spec": {"containers": "x"}, '
         b'"status": {"containerStatuses": 5, "phase": {"a": 1}}}, {"metadata": {"name": "p2", "namespace": "odd"}, '
         b'"spec": {"nodeName": ["x"]}, "status": "gone"}]}'),
        (f"{TOP}/cluster/nodes.json", b'{"items": "not a list"}'),
        (f"{TOP}/../../escape.txt", b"escaped\n"),
        ("/tmp/k8s-bundle-serve-absolute.log", b"absolute\n"),
        (f"{node}/logs/../../../../up.log", b"up\n"),
        _link(f"{node}/logs/journal/link.log", "/etc/passwd", tarfile.SYMTYPE),
        _link(f"{node}/logs/journal/hard.log", "/etc/shadow", tarfile.LNKTYPE),
        (f"{TOP}/manifest.json", json.dumps({"format_version": "1.0", "created_at": "2026-11-22T11:30:00Z",
                                             "items": [], "nodes": [{"name": "evil"}]}).encode()),
    ])
    server = Server([bundle], tmp / "kubeconfig")
    yield server, tmp, len(huge)
    code, err = server.stop()
    assert code == 0, err
    # what the reader refused and what is not served is said at start, one note each
    assert "cluster/hpas.json is not a JSON list of objects; not served" in err
    assert "symlink" in err and "hardlink" in err and "escaping path" in err


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field}")


def _reset_peak(pid: int) -> int:
    """Reset the process's peak resident size (VmHWM) to its current one; return that, KiB.
    The analyzer's run at start-up peaks far higher than serving a log should."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return _status_kib(pid, "VmRSS")


def test_served_and_nothing_escapes(evil: tuple[Server, Path, int]) -> None:
    srv, tmp, _ = evil
    nodes = srv.kubectl("get", "nodes", "-o", "name").stdout.split()
    assert nodes == ["node/evil"]
    containers = srv.kubectl("get", "pod", "-n", "k8s-bundle-node", "evil", "-o",
                             "jsonpath={.spec.containers[*].name}").stdout.split()
    assert sorted(containers) == ["containerd", "kubelet"]        # the links are not served
    for path in (tmp.parent / "escape.txt", tmp / "escape.txt", Path("/tmp/k8s-bundle-serve-absolute.log"),
                 tmp.parent.parent / "up.log"):
        assert not path.exists()
    every = json.loads(srv.kubectl("get", "pods", "-A", "-o", "json").stdout)["items"]
    assert all(p["metadata"]["name"] for p in every)
    names = {p["metadata"]["name"] for p in every}
    assert "odd-evil" in names and "bomb-evil" not in names      # aliases refused, odd shapes tolerated
    events = json.loads(srv.kubectl("get", "events", "-A", "-o", "json").stdout)["items"]
    assert {"e1", "e2"} <= {e["metadata"]["name"] for e in events}     # involvedObject of odd shapes



def test_odd_names(evil: tuple[Server, Path, int]) -> None:
    srv, _, _ = evil
    pods = json.loads(srv.kubectl("get", "pods", "-n", "odd", "-o", "json").stdout)["items"]
    assert sorted(p["metadata"]["name"] for p in pods) == ["p2", "shapeless", ODD_POD]
    table = srv.kubectl("get", "pods", "-n", "odd", "-l", "!x").stdout       # fields of the wrong shape
    assert "shapeless" in table and "<invalid>" in table
    assert srv.kubectl("logs", "-n", "odd", ODD_POD).stdout == "hello from an odd pod\n"


def test_huge_log_streamed_and_tailed_in_flat_memory(evil: tuple[Server, Path, int]) -> None:
    srv, _, size = evil
    before = _reset_peak(srv.proc.pid)
    tail = srv.kubectl("logs", "-n", "k8s-bundle-node", "evil", "-c", "kubelet", "--tail", "2").stdout
    assert tail.splitlines() == [
        f"2026-11-22T10:08:19.000000+00:00 evil kubelet[7]: line {HUGE_LINES - 2:07d} of the huge log",
        f"2026-11-22T10:08:19.000000+00:00 evil kubelet[7]: line {HUGE_LINES - 1:07d} of the huge log"]
    whole = srv.kubectl("logs", "-n", "k8s-bundle-node", "evil", "-c", "kubelet").stdout
    assert whole.count("\n") == HUGE_LINES and len(whole) == size
    since = srv.kubectl("logs", "-n", "k8s-bundle-node", "evil", "-c", "kubelet", "--since-time",
                        "2026-11-22T10:08:19Z", "--timestamps").stdout.splitlines()
    assert len(since) == 1000 and since[0].startswith("2026-11-22T10:08:19.000000000Z 2026-11-22T10:08:19")
    grown = _status_kib(srv.proc.pid, "VmHWM") - before
    assert grown * 1024 < size // 2, f"peak memory grew by {grown} KiB serving a {size} byte log"


def test_line_without_end_is_cut(evil: tuple[Server, Path, int]) -> None:
    srv, _, _ = evil
    assert srv.kubectl("logs", "-n", "k8s-bundle-node", "evil", "-c", "containerd", "--tail", "1").stdout == \
        "after the long line\n"
    first = srv.kubectl("logs", "-n", "k8s-bundle-node", "evil", "-c", "containerd").stdout.splitlines()[0]
    assert len(first) == 1024 * 1024
