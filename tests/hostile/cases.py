"""The hostile bundles of issue 11, generated at run time (each file a few MB at most).

Each `Case` builds one bundle, names the command to run on it and says what must come out:
the exit codes allowed (never 5: that is our own bug) and, for an attack that hits a cap, the
finding that must name it. `tests/hostile/test_hostile.py` runs every case in a subprocess under
a memory bound; `bench/hostile_bench.py` prints each case's time, peak memory and exit code.
"""
from __future__ import annotations

import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import orjson

from tests.hostile.tarstream import TOP, UNIT, TarStream, bare_header, manifest, node_json

REPORT = (0, 1, 3)          # analyze wrote a report
REPORT_OR_REFUSED = (0, 1, 3, 4)
KUBELET_LOG = "nodes/n1/logs/journal/kubelet.log"
KLOG = b"E1201 00:00:01.000000    1201 kubelet.go:1500] \"Failed to start ContainerManager\" err=\"failed to run Kubelet: running with swap on is not supported\"\n"
GiB = 1024**3
MiB = 1024**2


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], Path]          # directory to work in -> the bundle
    command: str = "analyze"               # analyze | verify | redact
    codes: tuple[int, ...] = REPORT
    finding: str | None = None             # a finding id the JSON report must hold
    mentions: tuple[str, ...] = ()         # ...whose text names these (the file, the cap)
    max_mb: int = 1024                     # peak resident memory of the run
    timeout: int = 300                     # hard stop: the run is killed and the case fails
    notes: str = ""
    extra: dict = field(default_factory=dict)


def _base(t: TarStream, nodes: list | None = None, items: list | None = None, node: bool = True, **extra) -> None:
    """The members every bundle holds; the manifest goes last, as the writer puts it."""
    if node:
        t.json("nodes/n1/node.json", node_json())
    t.json("manifest.json", manifest(nodes, items, **extra))


def _tgz(build: Callable[[TarStream], None], manifest_kw: dict | None = None) -> Callable[[Path], Path]:
    def make(work: Path) -> Path:
        with TarStream(work / "bundle.tgz") as t:
            build(t)
            _base(t, **(manifest_kw or {}))
        return work / "bundle.tgz"
    return make


# -- logs -------------------------------------------------------------------------------------
def _short_lines(total: int) -> Callable[[TarStream], None]:
    return lambda t: t.repeated(KUBELET_LOG, KLOG, b"a\n" * (UNIT // 2), total // UNIT)


def _nul_tail(t: TarStream) -> None:
    t.repeated(KUBELET_LOG, KLOG, b"\0" * UNIT, GiB // UNIT)


def _sparse(t: TarStream) -> None:
    for unit in ("kubelet", "containerd", "kernel"):
        name = "nodes/n1/logs/kernel.log" if unit == "kernel" else f"nodes/n1/logs/journal/{unit}.log"
        t.sparse(name, KLOG, 2 * GiB)


# -- nodes ------------------------------------------------------------------------------------
def _empty_nodes(count: int) -> Callable[[TarStream], None]:
    def build(t: TarStream) -> None:
        for i in range(count):  # a node is a directory with anything in it
            t.directory(f"nodes/n{i:06d}")
            t.file(f"nodes/n{i:06d}/node.json", b"{}")
    return build


def _manifest_nodes(count: int) -> dict:
    return {"nodes": [{"name": f"node-{i:05d}", "os": "linux", "transport": "ssh"} for i in range(count)]}


def _bad_utf8_tgz(work: Path) -> Path:
    with TarStream(work / "bundle.tgz") as t:
        t.file("nodes/n\udcff\udcfe1/node.json", orjson.dumps(node_json("n1")), fmt=tarfile.GNU_FORMAT)
        t.file("nodes/n\udcff\udcfe1/logs/journal/kubelet.log", KLOG, fmt=tarfile.GNU_FORMAT)
        _base(t)
    return work / "bundle.tgz"


def _bad_utf8_dir(work: Path) -> Path:
    root = work / "bundle"
    node = os.path.join(os.fsencode(root / "nodes"), b"n\xff\xfe1")
    os.makedirs(os.path.join(node, b"logs", b"journal"))
    with open(os.path.join(node, b"node.json"), "wb") as fh:
        fh.write(orjson.dumps(node_json("n1")))
    with open(os.path.join(node, b"logs", b"journal", b"kubelet.log"), "wb") as fh:
        fh.write(KLOG)
    (root / "manifest.json").write_bytes(orjson.dumps(manifest()))
    return root


# -- facts ------------------------------------------------------------------------------------
def _cert(i: int) -> dict:
    return {"path": f"/etc/kubernetes/pki/c{i}.crt", "source": "file", "kubeconfig": None,
            "subject": f"CN=c{i}", "issuer": "CN=kubernetes", "sans": [f"DNS:c{i}"],
            "not_before": "2026-01-01T00:00:00Z", "not_after": "2027-01-01T00:00:00Z",
            "is_ca": False, "serial": f"{i:x}", "key_algorithm": "RSA-2048",
            "fingerprint_sha256": "ab:cd", "error": None}


def _certs(count: int) -> Callable[[TarStream], None]:
    return lambda t: t.json("nodes/n1/certs.json", {"certificates": [_cert(i) for i in range(count)]})


def _certs_nested(t: TarStream) -> None:
    """Every record a CA that kubeconfigs embed: the shape that makes the rules' nested walks
    (for each certificate, every other one) do the most work."""
    recs = [{**_cert(i), "path": "/etc/kubernetes/pki/ca.crt", "source": "kubeconfig", "is_ca": True,
             "kubeconfig": f"/etc/kubernetes/kubelet{i}.conf#clusters[0].cluster.certificate-authority-data"}
            for i in range(1000)]
    t.json("nodes/n1/certs.json", {"certificates": recs})


def _huge_int_config(t: TarStream) -> None:
    t.file("nodes/n1/files/var/lib/kubelet/config.yaml",
           b"apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nmaxPods: 100000000000000000000\n"
           b"evictionHard:\n  memory.available: 100000000000000000000Gi\n")


def _nested_json(t: TarStream) -> None:
    t.file("nodes/n1/commands/crictl-ps.json", b'{"containers": ' + b"[" * 900 + b"]" * 900 + b"}")


def _iptables_50k(t: TarStream) -> None:
    rules = "".join(f"-A KUBE-SVC-{i:016X} -m comment --comment \"ns/svc-{i}:http\" -j KUBE-SEP-{i:016X}\n"
                    for i in range(50_000))
    t.file("nodes/n1/commands/iptables-save.txt",
           ("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n" + rules + "COMMIT\n").encode())


def _pods_json(t: TarStream) -> None:
    """cluster/pods.json of about 1.1 million pods (80 MB of JSON, past the 64 MiB parser cap)."""
    pod = (b'{"metadata":{"name":"web-0","namespace":"default"},"spec":{"nodeName":"n1"},'
           b'"status":{"phase":"Running"}},')
    t.repeated("cluster/pods.json", b'{"kind":"PodList","items":[', pod * (UNIT // len(pod)), 10,
               pod[:-1] + b"]}")


def _mounts(t: TarStream) -> None:
    unit = b"".join(b"%d 35 98:0 / /var/lib/kubelet/pods/%08d/volumes/kubernetes.io~projected/kube-api-access rw,relatime shared:1 - tmpfs tmpfs rw,size=1024k\n"
                    % (i + 100, i) for i in range(10_000))
    t.repeated("nodes/n1/commands/mounts.txt", b"", unit, 100)


def _flow_config(t: TarStream) -> None:
    body = ", ".join(f"k{i}: [{i}, {{a: b{i}}}]" for i in range(160_000))
    t.file("nodes/n1/files/var/lib/kubelet/config.yaml",
           ("{apiVersion: kubelet.config.k8s.io/v1beta1, kind: KubeletConfiguration, " + body + "}\n").encode())


def _failed_items(count: int) -> dict:
    return {"items": [{"node": "n1", "area": "system", "id": f"cmd-{i}", "path": None, "kind": "command",
                       "source": f"tool-{i} --flag", "status": "failed", "exit_code": 1, "duration_ms": 3,
                       "bytes": 0, "sha256": None, "redactions": 0, "error": f"tool-{i}: exit status 1",
                       "needs_root": False} for i in range(count)]}


def _wrong_types(t: TarStream) -> None:
    t.json("nodes/n1/certs.json", {"certificates": [1, "x", None, {"not_after": 5, "sans": "DNS:x", "path": ["p"]}]})
    t.json("nodes/n1/commands/processes.json", {"pid": "x"})
    t.json("nodes/n1/commands/binaries.json", ["kubelet"])
    t.json("nodes/n1/commands/crictl-ps.json", {"containers": {"id": 1}})


def _wrong_node_json(work: Path) -> Path:
    with TarStream(work / "bundle.tgz") as t:
        t.json("nodes/n1/node.json", {"name": 5, "os": ["linux"], "versions": "v1.29", "roles": "worker",
                                      "utc_offset_seconds": "x", "boot_time": 7, "memory_bytes": "lots"})
        _base(t, node=False, nodes=[{"name": "n1", "os": 3, "timezone": ["UTC"], "utc_offset_seconds": "z"}],
              created_at=12345, partial="yes")
    return work / "bundle.tgz"


# -- headers ----------------------------------------------------------------------------------
def _pax_negative(t: TarStream) -> None:
    t.header("nodes/n1/logs/journal/kubelet.log", 0, pax={"size": "-99999999999"})
    t.raw(KLOG + b"\0" * (-len(KLOG) % 512))


def _base256_negative(t: TarStream) -> None:
    t.raw(bare_header(f"{TOP}/nodes/n1/logs/journal/kubelet.log", b"\xff" * 12))


# -- verify -----------------------------------------------------------------------------------
AWS_ID, AWS_SECRET = "AKIAQ4LDZ7XW2P6RT5NB", "t7Yq1mV9dK3xZ0pW8sR2bN6cF4hJ5uE1gA7oL3iT"
PASSWORD = "Hq7!vR2#pZ9wK4mD"


def _traversal_secret(t: TarStream) -> None:
    body = f"DB_PASSWORD={PASSWORD}\naws_access_key_id = {AWS_ID}\naws_secret_access_key = {AWS_SECRET}\n"
    t.file("x/../nodes/n1/files/etc/app/app.env", body.encode())


def _escapes_in_names(t: TarStream) -> None:
    t.file("nodes/n1/files/etc/\x1b]0;pwned\x07\x1b[2J\x1b[31mred.conf", f"password: {PASSWORD}\n".encode())


def _zeros(t: TarStream) -> None:
    t.repeated("nodes/n1/logs/var/log/huge.log", b"", b"\0" * UNIT, 10 * GiB // UNIT)


def _zeros_3gib(t: TarStream) -> None:
    t.repeated("nodes/n1/logs/var/log/huge.log", b"", b"\0" * UNIT, 3 * GiB // UNIT)
    t.file("nodes/n1/files/etc/app/app.env", f"DB_PASSWORD={PASSWORD}\n".encode())


# -- redact ------------------------------------------------------------------------------------
POD_LOG = "nodes/n1/logs/var/log/pods/default_web-0_0b1c/web/0.log"


def _cri_partial_flood(t: TarStream) -> None:
    """A pod log of 4 million CRI partial lines that mention a token: runs the redactor must join."""
    line = b"2026-12-01T00:00:01.000000001Z stdout P Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123456789-\n"
    t.repeated(POD_LOG, b"", line * (UNIT // len(line)), 32)


def _base64_documents(t: TarStream) -> None:
    """20,000 base64-encoded kubeconfigs in environment lines (decoded, redacted, re-encoded)."""
    import base64
    doc = (b"apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: "
           b"Zk3vQ9pL2xR7mN4sT8wY1cB6dH0jF5gA\n")
    line = b"KUBECONFIG_B64=" + base64.b64encode(doc) + b"\n"
    t.file("nodes/n1/files/etc/default/app", line * 20_000)


def _one_long_line(t: TarStream) -> None:
    """One line of 512 MiB with a password at its end."""
    t.repeated(KUBELET_LOG, b"msg=", b"x" * UNIT, 64, f" password={PASSWORD}\n".encode())


def _dense_secret_words(t: TarStream) -> None:
    """64 MiB of 1 MiB lines packed with the words the secret rules start from (each was quadratic
    in a line's length once: htpasswd, $1$, -a-token=)."""
    words = b"password=x htpasswd -b f u $1$ Bearer --token redis-cli -a mysql -p curl -u eyJ auth: "
    line = words * ((1 << 20) // len(words)) + b"\n"
    t.repeated("nodes/n1/logs/var/log/app.log", b"", line * 8, 8)
    t.repeated("nodes/n1/files/etc/app/app.conf", b"", line * 8, 1)


def _gz_log_bomb(t: TarStream) -> None:
    """A rotated log, syslog.2.gz, of 1.5 MB that inflates to 1.5 GiB (redact decompresses it)."""
    import gzip
    member = gzip.compress(b"\0" * UNIT, mtime=0) * 192
    t.file("nodes/n1/logs/var/log/syslog.2.gz", member)


def _calendar_edges(t: TarStream) -> None:
    """Log stamps whose UTC time is past Python's datetime (year 10000, year 0) beside the
    kubelet's swap error, and a manifest dated 9999-12-31 (see CASES): each exited 5."""
    stamps = (b"9999-12-31T23:59:59-12:00", b"0001-01-01T00:00:00+14:00", b"9999-12-31T23:59:59.999999+00:00",
              b"0001-01-01T00:00:00Z", b"Dec 31 23:59:59")
    t.file(KUBELET_LOG, b"".join(s + b" n1 kubelet[1201]: " + KLOG for s in stamps))


def _report_link(work: Path) -> Path:
    bundle = _tgz(lambda t: t.file(KUBELET_LOG, KLOG))(work)
    victim = work / "victim.txt"
    victim.write_text("precious\n")
    (work / "bundle.html.part").symlink_to(victim)
    (work / "bundle.html").symlink_to(victim)
    return bundle


CASES: list[Case] = [
    Case("log-2gib-short-lines", _tgz(_short_lines(2 * GiB)), finding="bundle-limit-reached",
         mentions=("kubelet.log",), notes="one log of 2 GiB of 'a\\n' (a billion lines) in a 2 MB .tgz"),
    Case("log-256mib-short-lines", _tgz(_short_lines(256 * MiB)), finding="bundle-limit-reached",
         mentions=("kubelet.log",)),
    Case("log-sparse-2gib-x3", _tgz(_sparse), finding="bundle-limit-reached", mentions=("kubelet.log", "kernel.log"),
         notes="three PAX-sparse logs: one line, then 2 GiB of holes"),
    Case("log-1gib-nul-tail", _tgz(_nul_tail), notes="one text line, then 1 GiB of NULs"),
    Case("nodes-5000-empty", _tgz(_empty_nodes(5000))),
    Case("nodes-200000-empty", _tgz(_empty_nodes(200_000)), finding="bundle-limit-reached"),
    Case("manifest-50000-nodes", _tgz(lambda t: None, _manifest_nodes(50_000))),
    Case("certs-1000", _tgz(_certs(1000))),
    Case("certs-5000", _tgz(_certs(5000)), finding="bundle-limit-reached", mentions=("certs.json",)),
    Case("certs-1000-nested-worst", _tgz(_certs_nested)),
    Case("config-integer-past-int64", _tgz(_huge_int_config)),
    Case("json-nested-900-levels", _tgz(_nested_json), finding="bundle-limit-reached", mentions=("crictl-ps.json",)),
    Case("iptables-50000-rules", _tgz(_iptables_50k)),
    Case("cluster-pods-1m", _tgz(_pods_json), finding="bundle-limit-reached", mentions=("pods.json", "max_parsed_bytes")),
    Case("mounts-1m-lines", _tgz(_mounts), finding="bundle-limit-reached", mentions=("mounts.txt",)),
    Case("kubelet-config-4mb-flow", _tgz(_flow_config)),
    Case("manifest-120000-failed-items", _tgz(lambda t: None, _failed_items(120_000)), extra={"html": True}),
    Case("node-name-invalid-utf8-tgz", _bad_utf8_tgz, codes=REPORT_OR_REFUSED),
    Case("node-name-invalid-utf8-dir", _bad_utf8_dir, codes=REPORT_OR_REFUSED),
    Case("manifest-node-name-list", _tgz(lambda t: None, {"nodes": [{"name": ["x"]}]}), codes=REPORT_OR_REFUSED),
    Case("fact-files-wrong-types", _tgz(_wrong_types), codes=REPORT_OR_REFUSED),
    Case("node-json-wrong-types", _wrong_node_json, codes=REPORT_OR_REFUSED),
    Case("pax-size-negative", _tgz(_pax_negative), codes=REPORT_OR_REFUSED),
    Case("ustar-base256-negative-size", _tgz(_base256_negative), codes=REPORT_OR_REFUSED),
    Case("report-part-symlink", _report_link, extra={"html": True, "default_output": True}),
    Case("log-stamps-calendar-edges", _tgz(_calendar_edges, {"created_at": "9999-12-31T23:59:59Z"}), extra={"html": True}),
    Case("verify-10gib-zeros", _tgz(_zeros), command="verify", codes=(0, 1), max_mb=300),
    Case("verify-traversal-secret", _tgz(_traversal_secret), command="verify", codes=(1,),
         mentions=("app.env",)),
    Case("verify-escapes-in-names", _tgz(_escapes_in_names), command="verify", codes=(1,)),
    Case("redact-cri-partial-flood", _tgz(_cri_partial_flood), command="redact", codes=(0,), max_mb=300),
    Case("redact-20000-base64-documents", _tgz(_base64_documents), command="redact", codes=(0,), max_mb=300),
    Case("redact-512mib-line", _tgz(_one_long_line), command="redact", codes=(0,), max_mb=300),
    Case("redact-dense-secret-words", _tgz(_dense_secret_words), command="redact", codes=(0,), max_mb=300),
    Case("verify-dense-secret-words", _tgz(_dense_secret_words), command="verify", codes=(0, 1), max_mb=300),
    Case("redact-gz-log-bomb", _tgz(_gz_log_bomb), command="redact", codes=(0,), max_mb=300),
    Case("verify-gz-log-bomb", _tgz(_gz_log_bomb), command="verify", codes=(0, 1), max_mb=300),
    Case("verify-512mib-line", _tgz(_one_long_line), command="verify", codes=(1,), max_mb=300),
    Case("verify-3gib-zeros", _tgz(_zeros_3gib), command="verify", codes=(1,), max_mb=300,
         mentions=("max_member_bytes", "huge.log", "app.env"),
         notes="a member past max_member_bytes that is really read (10 GiB is refused from its header)"),
]
