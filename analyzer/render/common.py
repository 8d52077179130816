"""What every renderer shows besides the findings: node overview, collection problems, counts."""
from __future__ import annotations

import datetime as dt
from typing import Any

from k8s_bundle.analyzer.model import SEVERITIES, Evidence, Finding

# Manifest statuses that mean the collector did not get (all of) an item.
PROBLEM_STATUSES = ("failed", "timeout", "truncated", "redaction_failed", "permission_denied")


def counts(findings: list[Finding]) -> dict[str, int]:
    out = {s: 0 for s in SEVERITIES}
    for f in findings:
        out[f.severity] = out.get(f.severity, 0) + 1
    return out


def node_overview(evidence: Evidence, findings: list[Finding]) -> list[dict[str, Any]]:
    from k8s_bundle.analyzer.blindspots import coverage

    logs = coverage(evidence)      # what was checked: where each node's kubelet/runtime/kernel lines are
    from k8s_bundle.analyzer.evaluate import node_names

    names = node_names(evidence)   # the capped node set (a manifest may name 50,000 nodes)
    by_node: dict[str | None, list[Finding]] = {}
    for f in findings:
        by_node.setdefault(f.node, []).append(f)
    rows = []
    for name in names:
        facts = (evidence.nodes or {}).get(name) or {}
        versions = facts.get("versions") if isinstance(facts.get("versions"), dict) else {}
        roles = facts.get("roles") if isinstance(facts.get("roles"), list) else []
        rows.append({
            "name": name,
            "os": _s(facts.get("os")),
            "distro": _s(facts.get("distro")),
            "kernel": _s(facts.get("kernel")),
            "arch": _s(facts.get("arch")),
            "roles": [str(r) for r in roles],
            "runtime": _s(facts.get("runtime")),
            "versions": [(str(k), str(v)) for k, v in versions.items() if v],
            "counts": counts(by_node.get(name, [])),
            "logs": logs.get(name, {}),
        })
    return rows


# The report lists at most this many collection problems per node and counts the rest: a
# manifest of 120,000 failed items made a 40 MB HTML report.
MAX_PROBLEMS_SHOWN_PER_NODE = 50


def collection_problems(evidence: Evidence) -> list[dict[str, Any]]:
    """The items the collector did not get, the first MAX_PROBLEMS_SHOWN_PER_NODE per node."""
    return _collection(evidence)[0]


def collection_problems_left_out(evidence: Evidence) -> dict[str, int]:
    """node ("" for items of no node) -> problem items not listed in the report."""
    return _collection(evidence)[1]


def _collection(evidence: Evidence) -> tuple[list[dict[str, Any]], dict[str, int]]:
    items = (evidence.manifest or {}).get("items") or []
    keep = ("node", "id", "path", "kind", "source", "status", "exit_code", "error")
    shown: list[dict[str, Any]] = []
    per_node: dict[str, int] = {}
    left_out: dict[str, int] = {}
    for i in items:
        if not isinstance(i, dict) or i.get("status") not in PROBLEM_STATUSES:
            continue
        node = str(i.get("node") or "")
        per_node[node] = per_node.get(node, 0) + 1
        if per_node[node] > MAX_PROBLEMS_SHOWN_PER_NODE:
            left_out[node] = left_out.get(node, 0) + 1
        else:
            shown.append({k: i.get(k) for k in keep})
    return shown, left_out


def failed_hosts(evidence: Evidence) -> list[dict[str, Any]]:
    """The remote hosts a fan-out run did not collect whole (manifest `failed_hosts`, as the
    bundle fact analyzer/parsers/collection_hosts.py makes of it): {host, transport, state,
    node, partial, error}."""
    hosts = (evidence.bundle or {}).get("failed_hosts")
    return [dict(h) for h in hosts if isinstance(h, dict)] if isinstance(hosts, list) else []


def incomplete_nodes(evidence: Evidence) -> list[dict[str, Any]]:
    """The nodes whose collection was cut short (manifest `nodes[].complete: false`):
    {node, reason}, in node order."""
    out = []
    for name, facts in (evidence.nodes or {}).items():
        if isinstance(facts, dict) and facts.get("complete") is False:
            out.append({"node": name, "reason": _s(facts.get("incomplete_reason"))})
    return out


def bundle_info(evidence: Evidence) -> dict[str, Any]:
    manifest = evidence.manifest or {}
    bundle = evidence.bundle or {}
    return {
        "source": evidence.source,
        "format_version": bundle.get("format_version") or manifest.get("format_version"),
        "tool_version": bundle.get("tool_version") or (manifest.get("tool") or {}).get("version"),
        "created_at": bundle.get("created_at") or manifest.get("created_at"),
        "partial": bool(bundle.get("partial", manifest.get("partial", False))),
        "truncated": bool(bundle.get("truncated", False)),
        "node_names": list(evidence.nodes or {}),
    }


def now_utc() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _s(v: Any) -> str:
    return "" if v is None else str(v)
