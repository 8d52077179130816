"""Which remote hosts a fan-out run (collector/fanout.py) did not collect whole.

The manifest lists every host that failed, timed out, was interrupted or never started in
`failed_hosts`, and marks the `nodes` entry of a host cut short with `complete: false` and
`incomplete_reason` (docs/bundle-format.md). These finalizers turn both into facts, so that
rules and the report can say that 3 of 50 hosts are missing and 1 is half-collected:

- `node.complete` (bool; true when the manifest says nothing) and `node.incomplete_reason`
- `bundle.failed_hosts`: the manifest's entries, already checked by k8s_bundle/bundle/manifest.py,
  as {host, transport, state, error: str ("" when not given), node: str or null, partial: bool}
  so that a rule can join them without a has() per field

The bundle facts are built in analyzer/evidence.py; the cluster finalizer adds the one bundle
fact it owns there (finalizers run before any rule reads the facts).
"""
from __future__ import annotations

from typing import Any

from k8s_bundle.analyzer.parsers import FinalizeContext, finalizer


def _manifest_node(ctx: FinalizeContext) -> dict[str, Any]:
    nodes = ctx.manifest.get("nodes")
    if not isinstance(nodes, list):
        return {}
    # One lookup per node over the manifest's nodes: indexed once per manifest (a run of 2,000
    # nodes would otherwise walk 4 million entries).
    index = _INDEX.get(id(ctx.manifest))
    if index is None or index[0] is not ctx.manifest:
        index = (ctx.manifest, {n["name"]: n for n in nodes if isinstance(n, dict) and isinstance(n.get("name"), str)})
        _INDEX.clear()              # only the bundle being loaded is kept
        _INDEX[id(ctx.manifest)] = index
    return index[1].get(ctx.node) or {}


_INDEX: dict[int, tuple[dict[str, Any], dict[str, dict[str, Any]]]] = {}


@finalizer(order=0)
def node_completeness(node: dict[str, Any], ctx: FinalizeContext) -> None:
    entry = _manifest_node(ctx)
    complete = entry.get("complete")
    node["complete"] = complete if isinstance(complete, bool) else True
    if node["complete"] is False:
        reason = entry.get("incomplete_reason")
        node["incomplete_reason"] = reason if isinstance(reason, str) and reason else "not given"


@finalizer(scope="cluster")
def failed_hosts(cluster: dict[str, Any], ctx: FinalizeContext) -> None:
    hosts = ctx.manifest.get("failed_hosts")
    ctx.bundle["failed_hosts"] = [
        {"host": _text(h.get("host")), "transport": _text(h.get("transport")), "state": _text(h.get("state")),
         "error": _text(h.get("error")), "node": h["node"] if isinstance(h.get("node"), str) and h["node"] else None,
         "partial": h.get("partial") is True}
        for h in (hosts if isinstance(hosts, list) else []) if isinstance(h, dict)
    ]
    _INDEX.clear()                  # the node finalizers ran: drop the manifest reference


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
