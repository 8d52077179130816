"""Blind spots: a node whose kubelet, container runtime or kernel log is missing or empty.

A rule that reads the kubelet's log stays quiet when the bundle holds no kubelet line at all,
and a quiet report then reads as "nothing wrong". This module says, per node, which of these
components left no line in any file of the bundle (over every place the component logs,
rules/components.yaml), how many rules could therefore not check it, and which collector items
failed or came back empty (manifest `status`, `error`, `fallback`).

Not reported: a component the node does not run (no docker log on a containerd node), and the
kubelet/runtime of a host that shows no sign of Kubernetes at all (the engine's
`not-a-kubernetes-node` finding covers that host); the kernel log is not looked for on Windows.

The finding (`log-blind-spot`) is a warning for the kubelet or the runtime of a Kubernetes node,
info otherwise: for the kernel, for bundles another tool made (collectlogs.ps1 gathers no
component log), and for the runtime of a Windows node (containerd registered as a Windows
service logs to ETW unless started with --log-file, so a healthy node may have no text log). `coverage()` is the "logs checked" table of the reports.
"""
from __future__ import annotations

import functools
import re
from typing import Any, Iterable

import polars as pl

from k8s_bundle.analyzer.evaluate import node_names
from k8s_bundle.analyzer.evaluate_logs import glob_to_regex
from k8s_bundle.analyzer.logkeep import summary_of
from k8s_bundle.analyzer.model import Evidence, Finding
from k8s_bundle.analyzer.node_kind import kubernetes_presence
from k8s_bundle.analyzer.rules_load import LogCond, Rule, expand_sources

RULE_ID = "log-blind-spot"
COMPONENTS = ("kubelet", "runtime", "kernel")

# Shared files (syslog, the Windows Application event log) hold a component's lines only under
# its own program name (the syslog ident, the event provider).
_SHARED = ("@syslog",)
_SHARED_FILES = ("eventlog/Application.jsonl",)
_IDENTS = {
    "kubelet": ("kubelet", "k3s", "k3s-agent", "k3s-server", "rke2", "rke2-server", "rke2-agent",
                "kubelite", "microk8s.daemon-kubelite", "microk8s.daemon-kubelet"),
    "containerd": ("containerd", "microk8s.daemon-containerd"),
    "docker": ("dockerd", "docker", "cri-dockerd"),
    "crio": ("crio", "cri-o"),
    "kernel": ("kernel",),
}
# The runtime a node reports (node.runtime) -> its component in rules/components.yaml.
_RUNTIME_COMPONENT = {"containerd": "containerd", "docker": "docker", "cri-dockerd": "docker",
                      "dockershim": "docker", "crio": "crio", "cri-o": "crio"}
# A rule "reads" a component when one of its log globs matches one of these paths.
_PROBES = {
    "kubelet": ("journal/kubelet.log", "C/k/kubelet.log"),
    "containerd": ("journal/containerd.log", "C/k/containerd.log"),
    "docker": ("journal/docker.log", "C/k/docker.log"),
    "crio": ("journal/crio.log",),
    "runtime": ("journal/containerd.log", "journal/docker.log", "journal/crio.log", "C/k/containerd.log"),
    "kernel": ("kernel.log", "var/log/kern.log"),
}
_UNRELATED = ("journal/unrelated-unit.log", "var/log/unrelated.log", "C/k/unrelated.log")
# Collector items that should have held the component's lines (by id): named in the finding
# whatever their status; other items only when they failed or fell back.
_ITEMS = {
    "kubelet": ("journal-kubelet", "journal-k3s", "journal-k3s-agent", "journal-rke2-server",
                "journal-rke2-agent", "journal-snap.microk8s.daemon-kubelite", "kube-logs", "c-k-logs", "var-log"),
    "containerd": ("journal-containerd", "journal-snap.microk8s.daemon-containerd", "kube-logs", "c-k-logs",
                   "var-log", "eventlog-Application"),
    "docker": ("journal-docker", "journal-cri-docker", "kube-logs", "c-k-logs", "eventlog-Application"),
    "crio": ("journal-crio", "kube-logs"),
    "kernel": ("journal-kernel", "log-var-log-kern.log", "log-var-log-dmesg", "log-var-log-dmesg.0"),
}
_SYSLOG_ITEMS = ("log-var-log-messages", "log-var-log-syslog")

_NAME = {
    "kubelet": {"en": "kubelet", "zh": "kubelet"},
    "containerd": {"en": "containerd", "zh": "containerd"},
    "docker": {"en": "docker", "zh": "docker"},
    "crio": {"en": "CRI-O", "zh": "CRI-O"},
    "runtime": {"en": "container runtime", "zh": "容器运行时"},
    "kernel": {"en": "kernel", "zh": "内核"},
}
_TITLE = {"en": "No {name} log in this bundle", "zh": "诊断包中没有 {name} 日志"}
_MESSAGE = {
    "en": "no {name} log in this bundle; {rules} rules could not check it",
    "zh": "诊断包中没有 {name} 日志；{rules} 条规则无法检查它",
}
_CAUSE = {
    "en": ("No file of the bundle holds a line of the {name} for this node (every place it logs on "
           "kubeadm, k3s, rke2, microk8s, syslog-only and Windows nodes was looked at). The rules "
           "that read its log could not run, so a quiet report says nothing about it. Usual reasons: "
           "the journal is volatile and was lost at reboot, journald is not running, the collector "
           "ran without root or inside a container, or the component logs to a file the collector "
           "does not know. The collector items involved are listed under Evidence."),
    "zh": ("诊断包中没有任何文件包含该节点 {name} 的日志行（已查找 kubeadm、k3s、rke2、microk8s、"
           "仅 syslog 及 Windows 节点上它会写日志的所有位置）。读取其日志的规则无法运行，因此报告"
           "安静并不代表它没有问题。常见原因：journal 为易失存储、重启后丢失，journald 未运行，采集器"
           "没有以 root 运行或运行在容器内，或组件写日志到采集器不知道的文件。相关采集项见“证据”。"),
}
_FIX = {
    "kubelet": {
        "en": ("Read the kubelet's log on the node and collect again as root:\n\n"
               "```\njournalctl -u kubelet --since -24h | tail -n 200    # k3s: -u k3s / k3s-agent; rke2: -u rke2-server / rke2-agent\n"
               "ls -l /var/lib/rancher/rke2/agent/logs/kubelet.log /var/log/kubelet*.log 2>/dev/null\n"
               "sudo mkdir -p /var/log/journal && sudo systemctl restart systemd-journald   # keep the journal across reboots\n"
               "sudo k8s-bundle collect\n```\n\nOn Windows: `Get-Content C:\\k\\kubelet.log -Tail 200`."),
        "zh": ("在节点上查看 kubelet 日志，并以 root 重新采集：\n\n"
               "```\njournalctl -u kubelet --since -24h | tail -n 200    # k3s: -u k3s / k3s-agent；rke2: -u rke2-server / rke2-agent\n"
               "ls -l /var/lib/rancher/rke2/agent/logs/kubelet.log /var/log/kubelet*.log 2>/dev/null\n"
               "sudo mkdir -p /var/log/journal && sudo systemctl restart systemd-journald   # 让 journal 在重启后保留\n"
               "sudo k8s-bundle collect\n```\n\nWindows 上：`Get-Content C:\\k\\kubelet.log -Tail 200`。"),
    },
    "runtime": {
        "en": ("Read the runtime's log on the node and collect again as root:\n\n"
               "```\njournalctl -u containerd --since -24h | tail -n 200   # or -u docker / -u crio\n"
               "ls -l /var/lib/rancher/*/agent/containerd/containerd.log 2>/dev/null   # k3s, rke2\n"
               "sudo mkdir -p /var/log/journal && sudo systemctl restart systemd-journald\n"
               "sudo k8s-bundle collect\n```\n\nOn Windows: `Get-WinEvent -LogName Application -MaxEvents 200 | "
               "Where-Object ProviderName -match 'containerd|docker'`."),
        "zh": ("在节点上查看容器运行时日志，并以 root 重新采集：\n\n"
               "```\njournalctl -u containerd --since -24h | tail -n 200   # 或 -u docker / -u crio\n"
               "ls -l /var/lib/rancher/*/agent/containerd/containerd.log 2>/dev/null   # k3s、rke2\n"
               "sudo mkdir -p /var/log/journal && sudo systemctl restart systemd-journald\n"
               "sudo k8s-bundle collect\n```\n\nWindows 上：`Get-WinEvent -LogName Application -MaxEvents 200 | "
               "Where-Object ProviderName -match 'containerd|docker'`。"),
    },
    "kernel": {
        "en": ("Read the kernel log on the node and collect again as root (dmesg needs root where "
               "kernel.dmesg_restrict is 1):\n\n```\nsudo dmesg -T | tail -n 200\nsudo journalctl -k -b -1 | tail -n 200   # the previous boot\n"
               "sudo k8s-bundle collect\n```"),
        "zh": ("在节点上查看内核日志，并以 root 重新采集（kernel.dmesg_restrict 为 1 时 dmesg 需要 root）：\n\n"
               "```\nsudo dmesg -T | tail -n 200\nsudo journalctl -k -b -1 | tail -n 200   # 上一次启动\n"
               "sudo k8s-bundle collect\n```"),
    },
}


def _shared_globs() -> set[str]:
    return set(expand_sources(list(_SHARED))) | set(_SHARED_FILES)


def _dedicated(component: str) -> list[str]:
    """The component's own places (shared syslog files and, for the runtime, the all-in-one
    k3s/rke2 units that hold no runtime lines, left out)."""
    globs = expand_sources([f"@{component}"])
    drop = _shared_globs()
    if component in ("containerd", "docker", "crio", "runtime"):
        drop |= set(expand_sources(["@embedded"]))
    return [g for g in globs if g not in drop]


def _line_counts(evidence: Evidence) -> pl.DataFrame:
    """(node, source, ident) -> lines, over every indexed line (the log summary, not the kept
    rows; journal placeholders such as `-- No entries --` not counted)."""
    counts = summary_of(evidence).counts
    return counts.filter(pl.col("lines") > 0).select("node", "source", "ident", "lines")


def _component_for(name: str, facts: dict[str, Any]) -> str:
    if name != "runtime":
        return name
    return _RUNTIME_COMPONENT.get(str(facts.get("runtime") or "").lower(), "runtime")


def _idents(component: str) -> tuple[str, ...]:
    if component == "runtime":
        return _IDENTS["containerd"] + _IDENTS["docker"] + _IDENTS["crio"]
    return _IDENTS.get(component, ())


def coverage(evidence: Evidence) -> dict[str, dict[str, dict[str, Any]]]:
    """node -> kubelet|runtime|kernel -> {component, files: [source], lines}: where the bundle
    holds the component's lines for the node (files empty: a blind spot). Cached on the
    evidence: the three renderers and the findings read the same table."""
    cached = evidence.__dict__.get("_log_coverage")
    if cached is not None:
        return cached
    counts = _line_counts(evidence)
    by_node: dict[str, list[tuple[str, str | None, int]]] = {}
    for node, source, ident, lines in counts.iter_rows():
        if node is not None and source is not None:
            by_node.setdefault(node, []).append((source, ident, int(lines)))
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for node in node_names(evidence):
        facts = (evidence.nodes or {}).get(node) or {}
        rows = by_node.get(node, [])
        out[node] = {}
        for name in COMPONENTS:
            if name == "kernel" and _os(evidence, node) == "windows":
                continue
            comp = _component_for(name, facts)
            files: dict[str, int] = {}
            for source, ident, lines in rows:
                if claims(comp, source, ident):
                    files[source] = files.get(source, 0) + lines
            out[node][name] = {"component": comp, "files": sorted(files), "lines": sum(files.values())}
    evidence.__dict__["_log_coverage"] = out
    return out


@functools.lru_cache(maxsize=None)
def _places(component: str) -> tuple[tuple[re.Pattern[str], ...], tuple[re.Pattern[str], ...]]:
    return (tuple(glob_to_regex(g) for g in _dedicated(component)),
            tuple(glob_to_regex(g) for g in _shared_globs()))


def claim_places(component: str) -> tuple[list[str], list[str], tuple[str, ...]]:
    """What claims() tests, as data: (the component's own globs, the shared files' globs, its
    program names in lower case), for a vectorised form of the same test (analyzer/timeline.py)."""
    return _dedicated(component), sorted(_shared_globs()), _idents(component)


def claims(component: str, source: str, ident: str | None) -> bool:
    """Whether a line of `source` (the path under nodes/<node>/logs/) from program `ident` is the
    component's (kubelet, runtime, containerd, docker, crio, kernel): in one of its own files, or
    in a shared file (syslog, the Application event log) under one of its program names.
    coverage() and the report's timeline (analyzer/timeline.py) sort lines with this one test."""
    own, shared = _places(component)
    if any(g.match(source) for g in own):
        return True
    return bool(ident) and str(ident).split("/")[0].lower() in _idents(component) and any(g.match(source) for g in shared)


def rules_reading(rules: Iterable[Rule], component: str, os_name: str | None) -> int:
    """How many rules (for this platform) have a log condition that reads the component: a
    glob naming one of its places, or a catch-all glob (`**`, `journal/*.log`, Windows' `C/**`)
    in a rule about that component (`components:`)."""
    n = 0
    for rule in rules:
        if os_name and "any" not in rule.platforms and os_name not in rule.platforms:
            continue
        if any(log_reads(rule, cond, component) for cond in rule.log_conditions()):
            n += 1
    return n


def log_reads(rule: Rule, cond: LogCond, component: str) -> bool:
    """Whether one log condition of `rule` reads the component's log (the test rules_reading
    counts with; the coverage of analyzer/coverage.py asks it per condition)."""
    probes = _PROBES.get(component, ())
    about = {component} | ({"containerd", "docker", "crio", "cri-o", "runtime"} if component == "runtime" else set())
    mine = bool(about & {c.lower() for c in rule.components})
    globs = [glob_to_regex(g) for g in cond.sources]
    return any(g.match(p) and (mine or not any(g.match(u) for u in _UNRELATED)) for g in globs for p in probes)


def blind_spots(rules: list[Rule], evidence: Evidence) -> list[Finding]:
    """One `log-blind-spot` finding per node and component whose lines no file holds."""
    table = coverage(evidence)
    nodes = list(table)
    presence: dict[str, Any] = {}
    unknown = [n for n in nodes if "kubernetes" not in ((evidence.nodes or {}).get(n) or {})]
    if unknown:
        presence.update(kubernetes_presence(evidence, unknown))
    foreign = _foreign_tool(evidence)
    findings: list[Finding] = []
    # Both depend on the rules and the platform only, or on the node's own items: computed once,
    # not per node (thousands of nodes, or a manifest of 100,000 items, made this quadratic).
    reading: dict[tuple[str, str | None], int] = {}
    items_of: dict[str, list[dict[str, Any]]] = {}
    for item in (evidence.manifest or {}).get("items") or []:
        if isinstance(item, dict) and isinstance(item.get("node"), str):
            items_of.setdefault(item["node"], []).append(item)
    for node in nodes:
        facts = (evidence.nodes or {}).get(node) or {}
        is_k8s = (facts.get("kubernetes") or presence.get(node) or {}).get("node")
        os_name = _os(evidence, node)
        for name, cov in table[node].items():
            if cov["files"]:
                continue
            if name in ("kubelet", "runtime") and is_k8s is False:
                continue   # a plain host: not-a-kubernetes-node says so
            comp = cov["component"]
            if (comp, os_name) not in reading:
                reading[comp, os_name] = rules_reading(rules, comp, os_name)
            n_rules = reading[comp, os_name]
            if n_rules == 0:
                continue   # nothing in this rule set would have read it
            severity = "warning" if name in ("kubelet", "runtime") and is_k8s and not foreign else "info"
            if name == "runtime" and os_name == "windows":
                severity = "info"   # containerd as a Windows service often logs to ETW only
            findings.append(_finding(node, name, comp, n_rules, severity, _items(items_of.get(node, []), comp),
                                     foreign))
    return findings


def _finding(node: str, name: str, comp: str, n_rules: int, severity: str,
             items: list[dict[str, Any]], tool: str | None) -> Finding:
    label = _NAME.get(comp, _NAME[name])
    if items:
        why = f"none of the {len(items)} collector item(s) below holds a line of it"
    elif tool:
        why = f"this bundle was made by {tool}, which does not gather it"
    else:
        why = "no collector item of this bundle was meant to hold it"
    return Finding(
        rule_id=RULE_ID, severity=severity, node=node,
        title={lang: _TITLE[lang].format(name=label[lang]) for lang in ("en", "zh")},
        message={lang: _MESSAGE[lang].format(name=label[lang], rules=n_rules) for lang in ("en", "zh")},
        cause={lang: _CAUSE[lang].format(name=label[lang]) for lang in ("en", "zh")},
        fix=_FIX["runtime" if name == "runtime" else name],
        components=[comp],
        items=items,
        fact_lines=[f"{n_rules} rules read the {label['en']} log; {why}"],
        nodes=[node],
    )


def _items(node_items: list[dict[str, Any]], comp: str) -> list[dict[str, Any]]:
    """The manifest records that should have held the component's lines: its own items
    whatever their status, the syslog files, and any other log item that failed."""
    ids = set(_ITEMS.get(comp, ())) | set(_SYSLOG_ITEMS)
    if comp == "runtime":
        ids |= set(_ITEMS["containerd"]) | set(_ITEMS["docker"]) | set(_ITEMS["crio"])
    keep = ("node", "id", "path", "kind", "source", "status", "exit_code", "error", "fallback")
    out = []
    for item in node_items:
        if str(item.get("id") or "").split(":", 1)[0] not in ids:
            continue
        empty = item.get("status") == "ok" and not item.get("path")
        if item.get("status") == "ok" and not empty:
            continue   # it held lines, just none of this component (a shared syslog file)
        rec = {k: item.get(k) for k in keep if k in item}
        if empty and not rec.get("error"):
            rec["error"] = "no lines"
        out.append(rec)
    return out


def _os(evidence: Evidence, node: str) -> str | None:
    facts = (evidence.nodes or {}).get(node) or {}
    if facts.get("os"):
        return str(facts["os"])
    by_name = evidence.__dict__.get("_manifest_os")   # built once: a manifest may name 50,000 nodes
    if by_name is None:
        by_name = {}
        for n in (evidence.manifest or {}).get("nodes") or []:
            if isinstance(n, dict) and isinstance(n.get("name"), str) and n.get("os"):
                by_name.setdefault(n["name"], str(n["os"]))
        evidence.__dict__["_manifest_os"] = by_name
    return by_name.get(node)


def _foreign_tool(evidence: Evidence) -> str | None:
    """The tool that made the bundle when it is not k8s-bundle (collectlogs.ps1 never gathers
    component logs)."""
    tool = ((evidence.manifest or {}).get("tool") or {}).get("name")
    return str(tool) if tool and tool != "k8s-bundle" else None


def with_blind_spots(findings: list[Finding], rules: list[Rule], evidence: Evidence) -> list[Finding]:
    """The engine's findings plus the blind spots, in the engine's order."""
    from k8s_bundle.analyzer.evaluate import sort_key

    return sorted([*findings, *blind_spots(rules, evidence)], key=sort_key)
