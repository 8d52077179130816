"""Server-side Tables (`Accept: ...;as=Table;g=meta.k8s.io;v=v1`): what `kubectl get` prints.

Columns follow the API server's own printers for the kinds the bundles hold (priority 1 columns
appear with `-o wide`); ages count from the collection time (Store.now), not the wall clock.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from k8s_bundle.serve.loader import parse_time

Column = tuple[str, str, int]        # (name, type, priority)
Row = Callable[[dict, datetime], list[Any]]


def human_duration(seconds: float) -> str:
    """kubectl's short durations: 45s, 3m20s, 5h, 3d4h, 2y10d."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = m // 60
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    if h < 24 * 8:
        return f"{h // 24}d{h % 24}h" if h % 24 else f"{h // 24}d"
    if h < 24 * 365 * 2:
        return f"{h // 24}d"
    if h < 24 * 365 * 8:
        return f"{h // 24 // 365}y{h // 24 % 365}d"
    return f"{h // 24 // 365}y"


def _age(value: Any, now: datetime) -> str:
    t = parse_time(value)
    return human_duration((now - t).total_seconds()) if t else "<unknown>"


def field(obj: Any, *path: str, default: Any = None) -> Any:
    """obj[path[0]][path[1]]..., or `default` where a step is missing or not a mapping."""
    for p in path:
        if not isinstance(obj, dict):
            return default
        obj = obj.get(p)
    return default if obj is None else obj


def _meta_age(o: dict, now: datetime) -> str:
    return _age(field(o, "metadata", "creationTimestamp"), now)


def pod_status(o: dict) -> str:
    """The STATUS column as kubectl's pod printer derives it."""
    reason = field(o, "status", "reason") or field(o, "status", "phase", default="Unknown")
    for cs in field(o, "status", "containerStatuses", default=[]) or []:
        if not isinstance(cs, dict):
            continue
        state = cs.get("state") or {}
        if field(state, "waiting", "reason"):
            reason = state["waiting"]["reason"]
        elif isinstance(state.get("terminated"), dict):
            t = state["terminated"]
            reason = t.get("reason") or (f"Signal:{t['signal']}" if t.get("signal") else
                                         f"ExitCode:{t.get('exitCode', 0)}")
    if field(o, "metadata", "deletionTimestamp"):
        reason = "Terminating"
    return str(reason)


def _pod_row(o: dict, now: datetime) -> list[Any]:
    statuses = [c for c in field(o, "status", "containerStatuses", default=[]) or [] if isinstance(c, dict)]
    total = len(field(o, "spec", "containers", default=[]) or []) or len(statuses)
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(int(c.get("restartCount") or 0) for c in statuses if str(c.get("restartCount", 0)).isdigit())
    return [field(o, "metadata", "name"), f"{ready}/{total}", pod_status(o), restarts, _meta_age(o, now),
            field(o, "status", "podIP", default="<none>") or "<none>", field(o, "spec", "nodeName", default="<none>"),
            field(o, "status", "nominatedNodeName", default="<none>"), "<none>"]


def _node_row(o: dict, now: datetime) -> list[Any]:
    conds = {c.get("type"): c.get("status") for c in field(o, "status", "conditions", default=[]) or []
             if isinstance(c, dict)}
    status = {"True": "Ready", "False": "NotReady"}.get(conds.get("Ready"), "Unknown")
    if field(o, "spec", "unschedulable"):
        status += ",SchedulingDisabled"
    labels = field(o, "metadata", "labels", default={}) or {}
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/") and "/" in k)
    addrs = {a.get("type"): a.get("address") for a in field(o, "status", "addresses", default=[]) or []
             if isinstance(a, dict)}
    info = field(o, "status", "nodeInfo", default={}) or {}
    return [field(o, "metadata", "name"), status, ",".join(roles) or "<none>", _meta_age(o, now),
            info.get("kubeletVersion", ""), addrs.get("InternalIP") or "<none>", addrs.get("ExternalIP") or "<none>",
            info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>"]


def _event_row(o: dict, now: datetime) -> list[Any]:
    inv = o.get("involvedObject") or {}
    last = o.get("lastTimestamp") or o.get("eventTime") or field(o, "metadata", "creationTimestamp")
    first = o.get("firstTimestamp") or o.get("eventTime") or field(o, "metadata", "creationTimestamp")
    src = o.get("source") or {}
    return [_age(last, now), o.get("type", ""), o.get("reason", ""),
            f"{str(inv.get('kind', '')).lower()}/{inv.get('name', '')}", inv.get("fieldPath", ""),
            ", ".join(v for v in (src.get("component"), src.get("host")) if v),
            o.get("message", ""), _age(first, now), o.get("count", 1), field(o, "metadata", "name")]


def _service_row(o: dict, now: datetime) -> list[Any]:
    spec = o.get("spec") or {}
    ports = ",".join(f"{p.get('port')}{':' + str(p['nodePort']) if p.get('nodePort') else ''}/{p.get('protocol', 'TCP')}"
                     for p in spec.get("ports") or [] if isinstance(p, dict)) or "<none>"
    ext = ",".join(i.get("ip") or i.get("hostname") or "" for i in field(o, "status", "loadBalancer", "ingress",
                                                                      default=[]) or [] if isinstance(i, dict))
    ext = ext or ",".join(spec.get("externalIPs") or []) or ("<pending>" if spec.get("type") == "LoadBalancer"
                                                             else "<none>")
    sel = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items())) or "<none>"
    return [field(o, "metadata", "name"), spec.get("type", "ClusterIP"), spec.get("clusterIP") or "<none>", ext,
            ports, _meta_age(o, now), sel]


def _configmap_row(o: dict, now: datetime) -> list[Any]:
    data = o.get("data") if isinstance(o.get("data"), dict) else {}
    keys = o.get("keys") if isinstance(o.get("keys"), list) else list(data)
    size = o.get("size_bytes")
    if size is None and data:          # a ConfigMap collected whole (kubeadm-config): its values' bytes
        size = sum(len(str(v).encode()) for v in data.values())
    return [field(o, "metadata", "name"), len(keys), size if isinstance(size, int) else "<unknown>", _meta_age(o, now)]


def _endpoints_row(o: dict, now: datetime) -> list[Any]:
    eps = []
    for sub in o.get("subsets") or []:
        for a in sub.get("addresses") or [] if isinstance(sub, dict) else []:
            for p in sub.get("ports") or [{}]:
                eps.append(f"{a.get('ip')}:{p.get('port')}" if p.get("port") else str(a.get("ip")))
    shown = ",".join(eps[:3]) + (f" + {len(eps) - 3} more..." if len(eps) > 3 else "")
    return [field(o, "metadata", "name"), shown or "<none>", _meta_age(o, now)]


def _deployment_row(o: dict, now: datetime) -> list[Any]:
    st = o.get("status") or {}
    return [field(o, "metadata", "name"), f"{st.get('readyReplicas', 0)}/{field(o, 'spec', 'replicas', default=0)}",
            st.get("updatedReplicas", 0), st.get("availableReplicas", 0), _meta_age(o, now)]


def _daemonset_row(o: dict, now: datetime) -> list[Any]:
    st = o.get("status") or {}
    sel = field(o, "spec", "template", "spec", "nodeSelector", default={}) or {}
    return [field(o, "metadata", "name"), st.get("desiredNumberScheduled", 0), st.get("currentNumberScheduled", 0),
            st.get("numberReady", 0), st.get("updatedNumberScheduled", 0), st.get("numberAvailable", 0),
            ",".join(f"{k}={v}" for k, v in sorted(sel.items())) or "<none>", _meta_age(o, now)]


def _statefulset_row(o: dict, now: datetime) -> list[Any]:
    return [field(o, "metadata", "name"),
            f"{field(o, 'status', 'readyReplicas', default=0)}/{field(o, 'spec', 'replicas', default=0)}",
            _meta_age(o, now)]


def _namespace_row(o: dict, now: datetime) -> list[Any]:
    return [field(o, "metadata", "name"), field(o, "status", "phase", default="Active"), _meta_age(o, now)]


def _finding_row(o: dict, now: datetime) -> list[Any]:
    s = o.get("spec") or {}
    return [field(o, "metadata", "name"), s.get("severity", ""), s.get("node") or "<cluster>", s.get("rule", ""),
            s.get("message", ""), "yes" if s.get("rootCause") else "", ",".join(s.get("components") or []),
            s.get("logCount", 0), s.get("firstSeen") or "<none>", s.get("lastSeen") or "<none>"]


def _default_row(o: dict, now: datetime) -> list[Any]:
    return [field(o, "metadata", "name"), _meta_age(o, now)]


_S, _I = "string", "integer"
TABLES: dict[str, tuple[list[Column], Row]] = {
    "pods": ([("Name", _S, 0), ("Ready", _S, 0), ("Status", _S, 0), ("Restarts", _I, 0), ("Age", _S, 0),
              ("IP", _S, 1), ("Node", _S, 1), ("Nominated Node", _S, 1), ("Readiness Gates", _S, 1)], _pod_row),
    "nodes": ([("Name", _S, 0), ("Status", _S, 0), ("Roles", _S, 0), ("Age", _S, 0), ("Version", _S, 0),
               ("Internal-IP", _S, 1), ("External-IP", _S, 1), ("OS-Image", _S, 1), ("Kernel-Version", _S, 1),
               ("Container-Runtime", _S, 1)], _node_row),
    "events": ([("Last Seen", _S, 0), ("Type", _S, 0), ("Reason", _S, 0), ("Object", _S, 0),
                ("Subobject", _S, 1), ("Source", _S, 1), ("Message", _S, 0), ("First Seen", _S, 1),
                ("Count", _I, 1), ("Name", _S, 1)], _event_row),
    "services": ([("Name", _S, 0), ("Type", _S, 0), ("Cluster-IP", _S, 0), ("External-IP", _S, 0),
                  ("Port(s)", _S, 0), ("Age", _S, 0), ("Selector", _S, 1)], _service_row),
    "configmaps": ([("Name", _S, 0), ("Data", _I, 0), ("Size", _S, 0), ("Age", _S, 0)], _configmap_row),
    "endpoints": ([("Name", _S, 0), ("Endpoints", _S, 0), ("Age", _S, 0)], _endpoints_row),
    "deployments": ([("Name", _S, 0), ("Ready", _S, 0), ("Up-to-date", _I, 0), ("Available", _I, 0),
                     ("Age", _S, 0)], _deployment_row),
    "daemonsets": ([("Name", _S, 0), ("Desired", _I, 0), ("Current", _I, 0), ("Ready", _I, 0),
                    ("Up-to-date", _I, 0), ("Available", _I, 0), ("Node Selector", _S, 0), ("Age", _S, 0)],
                   _daemonset_row),
    "statefulsets": ([("Name", _S, 0), ("Ready", _S, 0), ("Age", _S, 0)], _statefulset_row),
    "namespaces": ([("Name", _S, 0), ("Status", _S, 0), ("Age", _S, 0)], _namespace_row),
    "findings": ([("Name", _S, 0), ("Severity", _S, 0), ("Node", _S, 0), ("Rule", _S, 0), ("Message", _S, 0),
                  ("Root Cause", _S, 1), ("Components", _S, 1), ("Log Lines", _I, 1), ("First Seen", _S, 1),
                  ("Last Seen", _S, 1)], _finding_row),
}
_DEFAULT = ([("Name", _S, 0), ("Age", _S, 0)], _default_row)


def table(plural: str, objects: list[dict], now: datetime, include_object: str = "Metadata") -> dict:
    columns, row = TABLES.get(plural, _DEFAULT)
    defs = [{"name": n, "type": t, "format": "name" if n == "Name" else "", "description": n, "priority": p}
            for n, t, p in columns]
    rows = []
    for o in objects:
        if include_object == "Object":
            ref: dict | None = o
        elif include_object == "None":
            ref = None
        else:
            ref = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o.get("metadata", {})}
        try:
            cells = row(o, now)
        except (TypeError, AttributeError, ValueError, KeyError):
            # a field of the wrong shape (a bundle is input): the row is still listed
            cells = [field(o, "metadata", "name")] + ["<invalid>"] * (len(columns) - 1)
        rows.append({"cells": cells, "object": ref})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": "1"},
            "columnDefinitions": defs, "rows": rows}
