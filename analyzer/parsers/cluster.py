"""Cluster facts from cluster/<kind>.json (API Lists): `cluster.<stem>` = the list's items."""
from __future__ import annotations

from typing import Any

from k8s_bundle.analyzer.parsers import FinalizeContext, finalizer, parser
from k8s_bundle.bundle.specs import S
from k8s_bundle.analyzer.parsers._util import load_json


@parser(S.cluster_objects, fact="{stem}", max_records=50_000)   # pods of a big cluster
def parse_cluster_list(text: str) -> list[Any]:
    """`{"kind": "PodList", "items": [...]}` -> the items (a bare JSON list is accepted)."""
    doc = load_json(text)
    if isinstance(doc, dict) and isinstance(doc.get("items"), list):
        return doc["items"]
    if isinstance(doc, list):
        return doc
    raise ValueError("not a Kubernetes List (no items)")


@finalizer(scope="cluster")
def cluster_available(cluster: dict[str, Any], ctx: FinalizeContext) -> None:
    cluster["available"] = any(isinstance(v, list) for k, v in cluster.items() if k != "available")
