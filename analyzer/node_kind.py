"""Is a node of the bundle a Kubernetes node at all? (`node.kubernetes`, docs/facts.md)

A bundle collected on a plain Linux or Windows host (a machine being prepared, a jump host,
the wrong server) holds no kubelet, no kubeconfig and no container runtime. Node-setup checks
(`preflight: true` rules: ip_forward, bridge-nf-call-iptables, swap, kernel modules, binaries
on PATH, ...) are then advice for a future node, not the cause of a failure, and the engine
reports them as info under the built-in finding `not-a-kubernetes-node`.

The facts answer for almost every node, so the log index is read only for a node with no fact
signal at all, and then only the node's rows: normal bundles pay nothing.
"""
from __future__ import annotations

from typing import Any, Iterable

import polars as pl

from k8s_bundle.analyzer.evaluate_logs import glob_to_regex
from k8s_bundle.analyzer.logkeep import summary_of
from k8s_bundle.analyzer.rules_load import component_sources, expand_sources

# Programs whose own log lines prove a kubelet or a runtime ran on the node (syslog/journal
# ident): the all-in-one distributions log the kubelet under their own name.
_IDENTS = ("kubelet", "k3s", "k3s-agent", "k3s-server", "rke2", "kubelite", "containerd", "dockerd",
           "crio", "cri-dockerd")
_UNITS = ("kubelet", "k3s", "k3s-agent", "rke2-server", "rke2-agent", "snap.microk8s.daemon-kubelite",
          "containerd", "docker", "crio", "cri-docker")
_BINARIES = ("kubelet", "kubeadm", "k3s", "rke2", "containerd", "dockerd", "docker", "crio", "crictl")
_RUNTIME_FACTS = ("containerd_config", "docker_info", "crio_config", "crictl_info", "crictl_version",
                  "crictl_ps", "crictl_pods")
# journalctl's placeholders in an otherwise empty unit log are not lines of the program.


def fact_signals(facts: dict[str, Any]) -> list[str]:
    """What in the node's facts shows a kubelet, kubeadm, a kubeconfig or a container runtime."""
    found: list[str] = []
    versions = facts.get("versions") if isinstance(facts.get("versions"), dict) else {}
    for name in ("kubelet", "kubeadm", "containerd", "docker", "crictl", "cri-o", "crio"):
        if versions.get(name):
            found.append(f"{name} version {versions[name]}")
    binaries = facts.get("binaries") if isinstance(facts.get("binaries"), dict) else {}
    for name in _BINARIES:
        b = binaries.get(name)
        if isinstance(b, dict) and (b.get("path") or b.get("version")):
            found.append(f"{name} binary {b.get('path') or ''}".rstrip())
    if facts.get("runtime"):
        found.append(f"runtime {facts['runtime']}")
    if facts.get("roles"):
        found.append("roles " + ", ".join(str(r) for r in facts["roles"]))
    for key in ("kubelet_config", "kubelet_flags", "kubeconfigs", "static_pods", *_RUNTIME_FACTS):
        if facts.get(key):
            found.append(key)
    units = ((facts.get("systemd") or {}).get("units") or {}) if isinstance(facts.get("systemd"), dict) else {}
    for name in _UNITS:
        u = units.get(name)
        if isinstance(u, dict) and (u.get("load") == "loaded" or u.get("active") in ("active", "activating", "failed", "deactivating")):
            found.append(f"unit {name} {u.get('active') or u.get('load')}")
    win = facts.get("windows") if isinstance(facts.get("windows"), dict) else {}
    for key in ("kubelet", "kube_proxy"):
        if win.get(key):
            found.append(f"windows {key}")
    services = win.get("services")
    if isinstance(services, (list, dict)):
        names = services if isinstance(services, dict) else {
            str(s.get("name") or s.get("Name") or ""): s for s in services if isinstance(s, dict)}
        for name in ("kubelet", "containerd", "docker"):
            if name in names:
                found.append(f"windows service {name}")
    return found


def _dedicated_sources() -> list[str]:
    """Log globs that only the kubelet or a runtime write to (shared syslog files excluded)."""
    table = component_sources()
    shared = set(expand_sources(["@syslog"])) | {"eventlog/Application.jsonl"}
    globs = expand_sources(["@kubelet", "@runtime"]) if "runtime" in table else expand_sources(["@kubelet"])
    return [g for g in globs if g not in shared]


def log_signals(evidence: Any, nodes: Iterable[str]) -> dict[str, list[str]]:
    """For the given nodes only: the log sources that show a kubelet or runtime at work (over
    every indexed line: the log summary's counts, empty-journal placeholders left out)."""
    wanted = list(nodes)
    out: dict[str, list[str]] = {n: [] for n in wanted}
    if not wanted:
        return out
    globs = [glob_to_regex(g) for g in _dedicated_sources()]
    pairs = (summary_of(evidence).counts
             .filter(pl.col("node").is_in(wanted) & (pl.col("real") > 0))
             .select("node", "source", "ident").unique(maintain_order=True))
    for node, source, ident in pairs.iter_rows():
        if node not in out:
            continue
        why = None
        if ident and ident.split("/")[0].lower() in _IDENTS:
            why = f"{ident} lines in logs/{source}"
        elif source and any(g.match(source) for g in globs):
            why = f"lines in logs/{source}"
        if why and why not in out[node]:
            out[node].append(why)
    return out


def kubernetes_presence(evidence: Any, nodes: list[str]) -> dict[str, dict[str, Any]]:
    """node -> {node: true/false/null, signals: [str]} (`node.kubernetes`).

    `node` is null (unknown) when the node has neither node.json versions nor binaries.json:
    absence of proof is no proof of absence when the collection itself failed.
    """
    result: dict[str, dict[str, Any]] = {}
    unknown: list[str] = []
    for name in nodes:
        facts = (evidence.nodes or {}).get(name) or {}
        signals = fact_signals(facts)
        result[name] = {"node": bool(signals), "signals": signals[:10]}
        if not signals:
            if "versions" not in facts and "binaries" not in facts:
                result[name]["node"] = None
            else:
                unknown.append(name)
    if unknown:
        for name, found in log_signals(evidence, unknown).items():
            result[name] = {"node": bool(found), "signals": found[:10]}
    return result
