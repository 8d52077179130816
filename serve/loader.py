"""Read the bundles once: the API objects under cluster/, each node's data, where its logs are.

Only what is served stays in memory: the objects (cluster/ lists, small node files turned into
objects) and, for each log, its bundle and member name. Log bytes are read again on request
(podlogs.py); nothing is extracted or written, and the bundles are never modified.
"""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import k8s_bundle.analyzer.foreign  # noqa: F401  (other tools' folders read as bundles, as analyze does)
from k8s_bundle.bundle.reader import open_bundle
from k8s_bundle.errors import UserError, shown
from k8s_bundle.serve.resources import BUNDLE_ANNOTATION, BY_BUNDLE_ID, TYPES, ResourceType

# Node files turned into objects; each is small (the reader caps a parse at 64 MiB anyway).
_NODE_FILES = {
    "node.json": "node_json",
    "commands/crictl-ps.json": "crictl_ps",
    "commands/crictl-pods.json": "crictl_pods",
    "commands/docker-ps.txt": "docker_ps",
    "commands/hostname-i.txt": "hostname_i",
    "windows/netipaddress.json": "win_ips",
}
_MANIFESTS = "files/etc/kubernetes/manifests/"
_MANIFEST_CAP = 1024 * 1024
# Single ConfigMaps the collector takes whole (values redacted): served in place of the
# names-and-sizes entry of cluster/configmaps.json.
_FULL_CONFIGMAPS = ("cluster/kubeadm-config.json", "cluster/kubelet-config-cm.json", "cluster/kube-proxy-cm.json")
_CLUSTER_CAP = 2 * 1024**3
_POD_LOG = re.compile(r"(?:^|/)var/log/pods/([^/]+)/([^/]+)/(\d+)\.log(\.[^/]*)?$")
_UUID_NS = uuid.UUID("6f1c3d2e-6b1a-4c55-9d0e-6b2d1c0f5a77")


@dataclass(frozen=True)
class LogSource:
    bundle: str        # the bundle path as given
    member: str        # member path below the top directory
    size: int
    fmt: str           # "pod" (CRI or docker json-file lines) | "text" (journal, files)


@dataclass
class NodeData:
    """One node's files the synthesiser reads; logs by member name."""
    name: str
    bundle: str
    created_at: str | None
    files: dict[str, Any] = field(default_factory=dict)        # key of _NODE_FILES -> parsed
    manifests: dict[str, bytes] = field(default_factory=dict)  # static pod file name -> YAML
    logs: list[LogSource] = field(default_factory=list)        # node-level logs (not pod logs)


@dataclass
class Store:
    """Everything served. `objects[plural][(namespace, name)]` is a full API object."""
    objects: dict[str, dict[tuple[str, str], dict]] = field(default_factory=lambda: {t.plural: {} for t in TYPES})
    # (namespace, pod) -> container -> attempt -> files of that attempt, oldest first
    pod_logs: dict[tuple[str, str], dict[str, dict[int, list[LogSource]]]] = field(default_factory=dict)
    pod_uids: dict[tuple[str, str], str] = field(default_factory=dict)   # from the log directory names
    pod_log_owner: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # (bundle, node)
    # (node, container) -> the node-level log served as `kubectl logs -n k8s-bundle-node NODE -c C`
    node_logs: dict[tuple[str, str], LogSource] = field(default_factory=dict)
    nodes: list[NodeData] = field(default_factory=list)
    created_at: list[str] = field(default_factory=list)       # each bundle's collection time
    problems: list[str] = field(default_factory=list)         # what the readers refused, shown at start

    def add(self, rtype: ResourceType, obj: dict, bundle: str) -> bool:
        """Add one object; the first of a name wins (several bundles of one cluster repeat it)."""
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
            return False
        ns = meta.get("namespace") if rtype.namespaced else ""
        if rtype.namespaced and not (isinstance(ns, str) and ns):
            ns = meta["namespace"] = "default"
        key = (ns or "", meta["name"])
        bucket = self.objects[rtype.plural]
        if key in bucket:
            return False
        obj["apiVersion"] = rtype.group_version
        obj["kind"] = rtype.kind
        if not meta.get("uid"):
            meta["uid"] = stable_uid(rtype.kind, key[0], key[1])
        annotations = meta.get("annotations")
        if not isinstance(annotations, dict):
            annotations = meta["annotations"] = {}
        annotations.setdefault(BUNDLE_ANNOTATION, bundle)
        bucket[key] = obj
        return True

    def now(self) -> datetime:
        """The time ages and --since count from: the latest collection among the bundles (a
        bundle is a record of that moment, not of the wall clock's now)."""
        times = [t for t in (parse_time(c) for c in self.created_at) if t is not None]
        return max(times) if times else datetime.now(timezone.utc)


def stable_uid(*parts: str) -> str:
    """The same uid for the same object at every start (kubectl describe matches events on it)."""
    return str(uuid.uuid5(_UUID_NS, "/".join(parts)))


def parse_time(text: Any) -> datetime | None:
    """An RFC 3339 time (with Z, an offset, or fractions up to nanoseconds) as aware UTC."""
    if not isinstance(text, str) or len(text) < 19:
        return None
    t = text.strip()
    if t.endswith(("Z", "z")):
        t = t[:-1] + "+00:00"
    m = re.match(r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)(\.\d+)?([+-]\d\d:?\d\d)?$", t)
    if not m:
        return None
    frac = (m.group(2) or "")[:7]
    off = m.group(3) or "+00:00"
    if ":" not in off:
        off = off[:3] + ":" + off[3:]
    try:
        value = datetime.fromisoformat(m.group(1).replace(" ", "T") + frac + off)
    except ValueError:
        return None
    return value.astimezone(timezone.utc)


def load(bundles: list[str]) -> Store:
    store = Store()
    for path in bundles:
        _load_one(store, path)
    return store


def _load_one(store: Store, path: str) -> None:
    reader = open_bundle(path)         # UserError (exit 4) when it is no bundle at all
    nodes: dict[str, NodeData] = {}
    cluster: list[tuple[ResourceType, Any]] = []
    created_at: str | None = None
    seen_any = False
    full_configmaps: list[dict] = []

    def node(name: str) -> NodeData:
        if name not in nodes:
            nodes[name] = NodeData(name, path, None)
        return nodes[name]

    for member in reader:
        rel = member.path
        seen_any = True
        if rel == "manifest.json":
            doc = _json(member.read())
            if isinstance(doc, dict) and isinstance(doc.get("created_at"), str):
                created_at = doc["created_at"]
            continue
        if rel in _FULL_CONFIGMAPS:
            doc = _json(member.read())
            if isinstance(doc, dict) and doc.get("kind") == "ConfigMap":
                full_configmaps.append(doc)
            continue
        if rel.startswith("cluster/") and rel.endswith(".json") and rel.count("/") == 1:
            rtype = BY_BUNDLE_ID.get(rel[len("cluster/"):-len(".json")])
            if rtype is not None:
                # the objects are what is served, so the whole list is read (a big cluster's
                # pods.json passes the 64 MiB a parser gets); the reader's per-member cap holds
                doc = _json(member.read(_CLUSTER_CAP))
                if isinstance(doc, dict) and isinstance(doc.get("items"), list):
                    cluster.append((rtype, doc))
                else:
                    store.problems.append(f"{shown(path)}: {rel} is not a JSON list of objects; not served")
            continue
        if not rel.startswith("nodes/") or rel.count("/") < 2:
            continue
        _, name, sub = rel.split("/", 2)
        nd = node(name)
        if sub in _NODE_FILES:
            raw = member.read()
            nd.files[_NODE_FILES[sub]] = _json(raw) if sub.endswith(".json") else raw.decode("utf-8", "replace")
        elif sub.startswith(_MANIFESTS) and sub.endswith((".yaml", ".yml", ".json")) and sub.count("/") == 4:
            nd.manifests[sub[len(_MANIFESTS):]] = member.read(_MANIFEST_CAP)
        elif sub.startswith("logs/"):
            _log_member(store, nd, sub[len("logs/"):], LogSource(path, rel, member.size, "text"))
    store.problems += [f"{shown(path)}: {p.message}" + (f" ({shown(p.path)})" if p.path else "")
                       for p in reader.problems]
    if not seen_any or (not nodes and not cluster):
        raise UserError(f"{path}: no nodes/ or cluster/ members: not a k8s-bundle bundle")
    for nd in nodes.values():
        nd.created_at = created_at
    if created_at:
        store.created_at.append(created_at)
    for rtype, doc in cluster:
        for item in doc["items"]:
            if isinstance(item, dict):
                store.add(rtype, item, path)
    cms = store.objects["configmaps"]
    for cm in full_configmaps:
        meta = cm.get("metadata") if isinstance(cm.get("metadata"), dict) else {}
        key = (meta.get("namespace"), meta.get("name"))
        if all(isinstance(k, str) for k in key) and key in cms and "data" not in cms[key]:
            del cms[key]            # the size-only entry gives way to the whole (redacted) object
        store.add(BY_BUNDLE_ID["configmaps"], cm, path)
    store.nodes += nodes.values()


def _log_member(store: Store, nd: NodeData, sub: str, src: LogSource) -> None:
    m = _POD_LOG.search(sub)
    if m:
        parts = m.group(1).split("_")
        if len(parts) >= 3:             # <namespace>_<pod>_<uid>; names hold no "_"
            key = (parts[0], "_".join(parts[1:-1]))
            owner = (src.bundle, nd.name)
            if store.pod_log_owner.setdefault(key, owner) != owner:
                return     # the same pod name in another bundle or node: the first one is served
            store.pod_uids.setdefault(key, parts[-1])
            attempts = store.pod_logs.setdefault(key, {}).setdefault(m.group(2), {})
            files = attempts.setdefault(int(m.group(3)), [])
            files.append(LogSource(src.bundle, src.member, src.size, "pod"))
            # rotated parts (0.log.20261122-103000) come before the live 0.log, in name order
            files.sort(key=lambda s: (s.member.endswith(".log"), s.member))
            return
    if sub.endswith(".gz"):
        return                          # compressed rotations are not served (no streaming gunzip here)
    nd.logs.append(src)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None

