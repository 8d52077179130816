"""rules/components.yaml: every glob names a place the collector (or a foreign tree) really
holds, and a rule written with `@kubelet` reads the kubelet of k3s, rke2 and Windows nodes."""
from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

from k8s_bundle.analyzer.evaluate_logs import glob_to_regex
from k8s_bundle.analyzer.fixtures import run_fixture
from k8s_bundle.analyzer.rules_load import component_sources, expand_sources, load_rules
from k8s_bundle.collector.items import FileItem, GlobItem, JournalItem, PowerShellItem
from k8s_bundle.collector.linux import logs as linux_logs

ROOT = Path(__file__).resolve().parents[2]

# Real file names each component writes on the distributions the map covers (path under
# nodes/<node>/logs/). Each one must be collected (a collector item produces it) or be a
# foreign-tree path (FOREIGN); each component glob must match at least one of them.
REAL_PATHS = [
    "journal/kubelet.log", "journal/containerd.log", "journal/docker.log", "journal/cri-docker.log",
    "journal/crio.log", "journal/kube-proxy.log", "journal/kube-apiserver.log", "journal/etcd.log",
    "journal/kube-controller-manager.log", "journal/kube-scheduler.log", "journal/flanneld.log",
    "journal/k3s.log", "journal/k3s-agent.log", "journal/rke2-server.log", "journal/rke2-agent.log",
    "journal/snap.microk8s.daemon-kubelite.log", "journal/snap.microk8s.daemon-containerd.log",
    "journal/snap.microk8s.daemon-k8s-dqlite.log",
    # microk8s before 1.21 (collected where the snap is installed)
    "journal/snap.microk8s.daemon-kubelet.log", "journal/snap.microk8s.daemon-proxy.log",
    "journal/snap.microk8s.daemon-apiserver.log", "journal/snap.microk8s.daemon-etcd.log",
    "journal/snap.microk8s.daemon-controller-manager.log",
    "journal/snap.microk8s.daemon-scheduler.log", "journal/snap.microk8s.daemon-flanneld.log",
    "kernel.log", "var/log/messages", "var/log/syslog", "var/log/kern.log", "var/log/dmesg",
    "var/log/dmesg.0", "var/log/syslog.1", "var/log/messages-20261122",
    "var/log/k3s.log", "var/log/k3s-agent.log", "var/log/rke2.log", "var/log/kubelet.log",
    "var/log/kube-proxy.log", "var/log/kube-apiserver.log", "var/log/kube-controller-manager.log",
    "var/log/kube-scheduler.log", "var/log/etcd.log", "var/log/flanneld.log", "var/log/containerd.log",
    "var/log/docker.log", "var/log/crio.log", "var/log/calico/cni/current",
    "var/log/kubernetes/kubelet.log", "var/log/kubernetes/kube-apiserver.log",
    "var/log/kubernetes/kube-proxy.log", "var/log/kubernetes/etcd.log",
    "var/log/kubernetes/kube-controller-manager.log", "var/log/kubernetes/kube-scheduler.log",
    "var/lib/rancher/k3s/agent/containerd/containerd.log",
    "var/lib/rancher/rke2/agent/containerd/containerd.log",
    "var/lib/rancher/rke2/agent/logs/kubelet.log",
    *(f"var/log/pods/kube-system_{p}_0c1d/{c}/0.log" for p, c in (
        ("kube-apiserver-cp1", "kube-apiserver"), ("etcd-cp1", "etcd"),
        ("kube-controller-manager-cp1", "kube-controller-manager"),
        ("kube-scheduler-cp1", "kube-scheduler"), ("kube-proxy-x7k2p", "kube-proxy"),
        ("coredns-5d78c9869d-k7xqz", "coredns"), ("kube-dns-6c4b7f6d9-abcde", "kubedns"),
        ("kube-flannel-ds-4xz8q", "kube-flannel"), ("calico-node-9xk2d", "calico-node"),
        ("cilium-6gtzp", "cilium-agent"), ("weave-net-7hx2k", "weave"), ("canal-5nq8w", "calico-node"),
        ("antrea-agent-2m9x4", "antrea-agent"), ("kube-router-6k2p9", "kube-router"),
        ("kube-multus-ds-9z8x7", "kube-multus"))),
    "var/log/pods/tigera-operator_tigera-operator-7d8f6c9b5-abcde_0c1d/tigera-operator/0.log",
    # Windows (collector/windows)
    "C/k/kubelet.log", "C/k/kubelet.err.log", "C/k/kube-proxy.log", "C/k/kubeproxy.log",
    "C/k/kubeproxy.err.log", "C/k/containerd.log", "C/k/containerd.err.log", "C/k/docker.log",
    "C/k/flanneld.log", "C/k/logs/kubelet.log", "C/k/logs/kube-proxy.log", "C/k/logs/kubeproxy.log",
    "C/k/logs/containerd.log", "C/k/logs/flanneld.log", "C/k/logs/calico.log",
    "C/k/logs/kubelet/kubelet.log",
    "C/var/log/kubelet/kubelet.exe.WIN1.SYSTEM.log.INFO.20261122-105800.4212",
    "C/var/log/kube-proxy/kube-proxy.exe.WIN1.SYSTEM.log.INFO.20261122-105800.4212",
    "C/var/log/flanneld/flanneld.exe.WIN1.SYSTEM.log.INFO.20261122-105800.4212",
    "C/var/log/containerd/containerd.log", "C/ProgramData/containerd/containerd.log",
    "C/ProgramData/containerd/root/panic.log", "C/etc/kubernetes/logs/kubelet.log",
    "C/var/lib/rancher/rke2/agent/logs/kubelet.log",
    "C/var/log/pods/kube-system_kube-proxy-windows-x2k9p_0c1d/kube-proxy/0.log",
    "C/var/log/pods/kube-system_kube-flannel-ds-windows-amd64-4k2x9_0c1d/kube-flannel/0.log",
    "C/var/log/pods/calico-system_calico-node-windows-7x2k9_0c1d/felix/0.log",
    "C/CalicoWindows/logs/calico-felix.log",
    "eventlog/Application.jsonl", "eventlog/System.jsonl",
]
# Written by trees the collector did not make (sosreport, must-gather, hand-made tarballs):
# read when present, never produced by `collect`.
FOREIGN = {
    "var/log/daemon.log", "var/log/k3s-agent.log",
    # read by collect's journal fallback (collector/runner.py), not by an item of their own
    "var/log/syslog.1", "var/log/messages-20261122",
    "var/log/kubernetes/kubelet.log", "var/log/kubernetes/kube-apiserver.log",
    "var/log/kubernetes/kube-proxy.log", "var/log/kubernetes/etcd.log",
    "var/log/kubernetes/kube-controller-manager.log", "var/log/kubernetes/kube-scheduler.log",
    "var/log/containers/kube-proxy-x7k2p_kube-system_kube-proxy-0c1d.log",
}
# /var/log/containers/<pod>_<ns>_<ctr>-<id>.log: links the collector records as a listing
# (commands/var-log-containers.txt); other tools copy them as files.
CONTAINER_LINKS = [f"var/log/containers/{n}_kube-system_{n.split('-')[0]}-0c1d.log" for n in (
    "kube-apiserver-cp1", "etcd-cp1", "kube-controller-manager-cp1", "kube-scheduler-cp1",
    "kube-proxy-x7k2p", "coredns-5d78c9869d-k7xqz", "kube-dns-6c4b7f6d9-abcde",
    "kube-flannel-ds-4xz8q", "calico-node-9xk2d", "cilium-6gtzp", "weave-net-7hx2k", "canal-5nq8w",
    "antrea-agent-2m9x4", "kube-router-6k2p9", "kube-multus-ds-9z8x7")]


def _collected_patterns() -> list[str]:
    """What `collect` writes under logs/, as fnmatch patterns (Linux and Windows catalogues)."""
    from k8s_bundle.collector.windows import _eventlogs, _logs

    class _Ctx:
        shared: dict[str, object] = {}

    pats: list[str] = [f"journal/{u}.log" for u in linux_logs.MICROK8S_LEGACY_UNITS]
    items = [*linux_logs.items(None), *_logs(None), *_eventlogs(_Ctx())]  # type: ignore[arg-type]
    for item in items:
        if isinstance(item, PowerShellItem) and item.path.startswith("logs/"):
            pats.append(item.path.removeprefix("logs/"))
        elif isinstance(item, JournalItem):
            pats.append("kernel.log" if item.kernel else f"journal/{item.unit}.log")
        elif isinstance(item, FileItem) and item.dest == "logs":
            pats.append(item.path.lstrip("/"))
        elif isinstance(item, GlobItem) and item.dest == "logs":
            pats += [p.lstrip("/") for p in item.patterns]
    return pats


def test_real_paths_are_collected_or_foreign() -> None:
    pats = _collected_patterns()
    stray = [p for p in REAL_PATHS if p not in FOREIGN and not any(fnmatch.fnmatch(p, g) for g in pats)]
    assert stray == [], f"listed as collected but no collector item writes them: {stray}"


@pytest.mark.parametrize("name", sorted(component_sources()))
def test_every_glob_matches_a_real_place(name: str) -> None:
    known = REAL_PATHS + sorted(FOREIGN) + CONTAINER_LINKS
    for glob in component_sources()[name]:
        if glob.startswith("@"):
            continue
        rx = glob_to_regex(glob)
        assert any(rx.match(p) for p in known), f"@{name}: {glob} matches nothing the collector or a known tree writes"


@pytest.mark.parametrize("path,component", [
    ("journal/k3s.log", "kubelet"), ("journal/rke2-agent.log", "kubelet"),
    ("var/lib/rancher/rke2/agent/logs/kubelet.log", "kubelet"),
    ("journal/snap.microk8s.daemon-kubelite.log", "kubelet"), ("C/k/kubelet.log", "kubelet"),
    ("C/var/log/kubelet/kubelet.exe.WIN1.SYSTEM.log.INFO.20261122-105800.4212", "kubelet"),
    ("journal/snap.microk8s.daemon-containerd.log", "runtime"),
    ("var/lib/rancher/k3s/agent/containerd/containerd.log", "runtime"),
    ("C/ProgramData/containerd/root/panic.log", "runtime"), ("C/k/kubeproxy.log", "kube-proxy"),
    ("kernel.log", "kernel"), ("var/log/kern.log", "kernel"),
])
def test_component_reads_distribution_place(path: str, component: str) -> None:
    assert any(glob_to_regex(g).match(path) for g in expand_sources([f"@{component}"]))


def test_no_rule_lists_a_kubelet_journal_without_the_component() -> None:
    """A rule that reads the kubelet's own unit reads every other place the kubelet logs too."""
    kubelet = set(expand_sources(["@kubelet"]))
    for rule in load_rules():
        for cond in rule.log_conditions():
            if "journal/kubelet.log" in cond.sources:
                assert kubelet <= set(cond.sources), f"{rule.id}: names journal/kubelet.log, not @kubelet"


# Printed only by a kubelet whose runtime stalled (kubelet-pleg-not-healthy, linux and windows).
PLEG_LINE = ('E1122 09:10:00.100000    2211 kubelet.go:2373] "Skipping pod synchronization" '
             'err="PLEG is not healthy: pleg was last seen active 3m0.5s ago; threshold is 3m0s"')


@pytest.mark.parametrize("path,text,os_name", [
    # k3s: the kubelet runs inside the k3s process; its klog lines land in the k3s unit
    ("nodes/node1/logs/journal/k3s.log",
     f"2026-11-22T09:10:00.100100+00:00 node1 k3s[2211]: {PLEG_LINE}\n", "linux"),
    # rke2: the kubelet is a child process writing /var/lib/rancher/rke2/agent/logs/kubelet.log
    ("nodes/node1/logs/var/lib/rancher/rke2/agent/logs/kubelet.log", PLEG_LINE + "\n", "linux"),
    # Windows: kubelet.exe started by nssm/start-kubelet.ps1 logs to C:\k\kubelet.log
    ("nodes/node1/logs/C/k/kubelet.log", PLEG_LINE + "\n", "windows"),
])
def test_kubelet_rule_fires_on_distribution_logs(tmp_path: Path, path: str, text: str, os_name: str) -> None:
    rule = next(r for r in load_rules() if r.id == "kubelet-pleg-not-healthy")
    fixture = {"name": path, "expect": "fire", "os": os_name, "files": {path: text}}
    result = run_fixture(rule, fixture, tmp_path)
    assert result.ok, result.describe()
    quiet = {"name": path, "expect": "quiet", "os": os_name,
             "files": {path: text.replace("PLEG is not healthy: pleg was last seen active", "SyncLoop (PLEG): relisted")}}
    assert run_fixture(rule, quiet, tmp_path).ok
