"""End to end: collect the simulated node (--root with its PATH of fake tools) and check the
bundle against docs/bundle-format.md and the seed scenarios the node carries."""
from __future__ import annotations

import json
import re

import pytest

from k8s_bundle.bundle.layout import FORMAT_VERSION

STATUSES = {"ok", "failed", "timeout", "skipped", "truncated", "not_found", "redaction_failed",
            "permission_denied"}
KINDS = {"file", "command", "journal", "powershell", "api", "glob", "derived"}


def test_manifest_shape(sim_bundle):
    _, b, _ = sim_bundle
    m = b.manifest
    assert b.top.startswith("k8s-bundle-cp1-") and re.fullmatch(r"k8s-bundle-cp1-\d{8}T\d{6}Z", b.top)
    assert m["format_version"] == FORMAT_VERSION
    assert m["partial"] is False and m["partial_reason"] is None
    assert m["nodes"] == [{"name": "cp1", "os": "linux", "transport": "local",
                           "timezone": "Asia/Shanghai", "utc_offset_seconds": 28800}]
    assert m["collection"]["since"] == "72h" and m["collection"]["is_root"] is True
    for r in m["items"]:
        assert r["status"] in STATUSES, r
        assert r["kind"] in KINDS, r
        if r["path"] is not None:
            data = b.members[r["path"]]
            assert len(data) == r["bytes"]
            import hashlib
            assert hashlib.sha256(data).hexdigest() == r["sha256"]
    # Every stored member but manifest/redaction.json is accounted for by an item.
    stored = {r["path"] for r in m["items"] if r["path"]}
    assert set(b.members) - stored == {"manifest.json", "redaction.json"}


def test_every_catalogue_item_is_recorded(sim_bundle):
    from k8s_bundle.collector.context import Context
    from k8s_bundle.collector.linux import catalogue
    from k8s_bundle.collector.transports.local import LocalTransport

    node, b, _ = sim_bundle
    ctx = Context(transport=LocalTransport(str(node.root), live=True), node="cp1", since="72h",
                  is_root=True, timeout=1, cap=1)
    declared = {i.id for i in catalogue(ctx)}
    recorded = {r["id"] for r in b.manifest["items"] if ":" not in r["id"]}
    assert declared == recorded


def test_hung_docker_costs_its_timeout_not_the_run(sim_bundle):
    _, b, proc = sim_bundle
    rec = b.item("docker-info")
    assert rec["status"] == "timeout" and rec["path"] is None
    assert 1900 <= rec["duration_ms"] < 10000
    # The run went on: crictl answered, the journals were read.
    assert b.item("crictl-ps")["status"] == "ok"
    assert json.loads(b.members["nodes/cp1/commands/crictl-ps.json"])["containers"][0]["metadata"]["name"] == "kube-apiserver"
    finish = [json.loads(l) for l in proc.stderr.splitlines() if '"finish"' in l][0]
    assert "docker-info" in finish["problems"]


def test_missing_binaries_are_recorded(sim_bundle):
    _, b, _ = sim_bundle
    binaries = b.json("nodes/cp1/commands/binaries.json")
    # The simulated PATH puts the fakes first; ebtables and conntrack exist nowhere here.
    assert binaries["ebtables"]["path"] is None and binaries["ebtables"]["version"] is None
    assert binaries["kubelet"]["version"] == "v1.29.3"
    assert binaries["kubelet"]["path"].endswith("/bin/kubelet")
    assert b.item("conntrack-stats")["status"] == "not_found"


def test_files_mirrored_and_symlinks_resolved_inside_root(sim_bundle):
    _, b, _ = sim_bundle
    # /etc/resolv.conf is an absolute link to /run/systemd/resolve/stub-resolv.conf: the
    # collector must read the simulated node's file, not this machine's.
    assert "nameserver 127.0.0.53" in b.text("nodes/cp1/files/etc/resolv.conf")
    assert "nameserver 192.168.1.1" in b.text("nodes/cp1/files/run/systemd/resolve/resolv.conf")
    assert "MountFlags=slave" in b.text("nodes/cp1/files/etc/systemd/system/docker.service.d/mountflags.conf")
    assert "cgroupDriver: systemd" in b.text("nodes/cp1/files/var/lib/kubelet/config.yaml")
    assert "native.cgroupdriver=cgroupfs" in b.text("nodes/cp1/files/etc/docker/daemon.json")
    assert "kube-apiserver" in b.text("nodes/cp1/files/etc/kubernetes/manifests/kube-apiserver.yaml")
    assert b.text("nodes/cp1/commands/cni-bin.txt").split() == ["bridge", "flannel", "host-local", "loopback"]


def test_logs(sim_bundle):
    _, b, _ = sim_bundle
    kubelet = b.text("nodes/cp1/logs/journal/kubelet.log")
    assert "running with swap on is not supported" in kubelet
    assert "节点状态更新" in kubelet  # UTF-8 survives (journalctl runs with a UTF-8 locale)
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00 cp1 ", kubelet)
    assert "Out of memory: Killed process" in b.text("nodes/cp1/logs/kernel.log")
    assert "table full" in b.text("nodes/cp1/logs/var/log/syslog")
    dns = [p for p in b.members if p.startswith("nodes/cp1/logs/var/log/pods/kube-system_coredns")]
    assert len(dns) == 1 and "plugin/loop: Loop" in b.text(dns[0])
    api = b.items(id="static-pod-logs")[0]
    assert api["status"] == "ok" and api["files"] == 1
    links = b.text("nodes/cp1/commands/var-log-containers.txt")
    assert "coredns-5d78c9869d-k7xqz_kube-system_coredns" in links
    # A unit with no journal entries is recorded as ok with nothing stored.
    rke2 = b.item("journal-rke2-server")
    assert rke2["status"] == "ok" and rke2["path"] is None


def test_private_keys_never_stored(sim_bundle):
    node, b, _ = sim_bundle
    everything = b"\n".join(b.members.values()).decode("utf-8", "replace")
    for secret in node.secrets:
        assert secret not in everything
    assert "PRIVATE KEY-----" not in everything
    assert not [p for p in b.members if p.endswith(".key") or "/pki/" in p]


def test_certs_json(sim_bundle):
    _, b, _ = sim_bundle
    certs = b.json("nodes/cp1/certs.json")["certificates"]
    by_path = {(c["path"], c["kubeconfig"]): c for c in certs}
    api = by_path[("/etc/kubernetes/pki/apiserver.crt", None)]
    assert api["subject"] == "CN=kube-apiserver" and "IP:192.168.1.10" in api["sans"]
    assert api["not_after"] < b.manifest["created_at"]          # the expired certificate
    # The kubelet client PEM holds cert + key: metadata of the cert, nothing of the key.
    kl = by_path[("/var/lib/kubelet/pki/kubelet-client-2026-10-23-10-00-00.pem", None)]
    assert kl["subject"] == "CN=system:node:cp1"
    admin = by_path[("/etc/kubernetes/admin.conf", "/etc/kubernetes/admin.conf#users[0].client-certificate-data")]
    assert admin["subject"] == "CN=kubernetes-admin" and admin["source"] == "kubeconfig"


def test_node_json(sim_bundle):
    _, b, _ = sim_bundle
    node = b.json("nodes/cp1/node.json")
    assert node["name"] == "cp1" and node["distro"] == "Ubuntu 22.04.4 LTS"
    assert node["kernel"] == "5.15.0-105-generic"
    assert node["roles"] == ["control-plane", "etcd"]
    assert node["runtime"] == "cri-dockerd"
    assert node["timezone"] == "Asia/Shanghai" and node["utc_offset_seconds"] == 28800
    assert node["versions"]["kubelet"] == "v1.29.3" and node["versions"]["docker"] == "24.0.7"


def test_cluster_unreachable_is_recorded_not_fatal(sim_bundle):
    _, b, _ = sim_bundle
    probe = b.json("nodes/cp1/commands/kubeconfig-probe.json")
    assert probe["using"] is None and probe["tried"][0]["path"] == "/etc/kubernetes/admin.conf"
    nodes = b.item("nodes")
    assert nodes["status"] == "skipped" and "admin.conf" in nodes["error"]
    assert not [p for p in b.members if p.startswith("cluster/")]


def test_kubeconfig_redacted(sim_bundle):
    _, b, _ = sim_bundle
    admin = b.text("nodes/cp1/files/etc/kubernetes/admin.conf")
    assert "server: https://192.168.1.10:6443" in admin
    assert "client-key-data" in admin and "<redacted:" in admin
    assert b.item("etc-kubernetes:/etc/kubernetes/admin.conf")["redactions"] >= 1


def test_progress_json_lines(sim_bundle):
    _, b, proc = sim_bundle
    events = [json.loads(l) for l in proc.stderr.splitlines() if l.startswith("{")]
    assert events[0]["event"] == "start" and events[0]["node"] == "cp1"
    items = [e for e in events if e["event"] == "item"]
    assert len(items) == events[0]["items"] and items[-1]["done"] == events[0]["items"]
    assert events[-1]["event"] == "finish" and events[-1]["partial"] is False


@pytest.mark.parametrize("flag,areas", [
    ("--only", "certificates,network"),
    ("--skip", "system,binaries,logs,runtime,kubernetes,cluster"),
])
def test_only_and_skip_record_the_rest_as_skipped(sim, tmp_path, flag, areas):
    from collect_helpers import read_bundle, run_collect

    out = tmp_path / "b.tgz"
    proc = run_collect(["--root", str(sim.root), "--live", "-o", str(out), flag, areas],
                       env=sim.env())
    assert proc.returncode == 0, proc.stderr
    b = read_bundle(out)
    uname = b.item("uname")
    assert uname["status"] == "skipped" and flag in uname["error"]
    assert b.item("certs")["status"] == "ok" and b.item("ip-addr")["status"] == "ok"


def test_analyzer_finds_the_seed_scenarios_in_the_collected_bundle(sim_bundle):
    """Collect -> analyze: the problems built into the simulated node come out as findings,
    from the facts the analyzer's parsers read in what the collector wrote."""
    from k8s_bundle.analyzer.evaluate import evaluate
    from k8s_bundle.analyzer.evidence import load_evidence
    from k8s_bundle.analyzer.rules_load import load_rules

    _, b, _ = sim_bundle
    evidence = load_evidence(str(b.path))
    assert [p for p in evidence.problems if p.kind == "parse-error"] == []
    node = evidence.nodes["cp1"]
    assert node["timezone"] == "Asia/Shanghai"
    assert node["binaries"]["ebtables"]["path"] is None
    assert node["resolv"]["nameservers"] == ["127.0.0.53"]
    assert node["items"]["docker-info"]["status"] == "timeout"
    fired = {f.rule_id for f in evaluate(load_rules(), evidence) if f.node == "cp1"}
    expected = {
        "kubelet-swap-on",                     # kubelet journal + syslog
        "container-runtime-unresponsive",      # the hung docker info
        "cert-expired",                        # apiserver.crt in certs.json
        "coredns-loop-detected",               # the coredns pod log
        "kubeadm-preflight-binaries-missing",  # ebtables/conntrack absent
        "kubelet-resolv-conf-loopback",        # resolv.conf -> systemd-resolved stub
        "docker-mountflags-slave",             # docker.service drop-in
        "disk-full",                           # df: / at 97%
    }
    assert expected <= fired, expected - fired
