"""Cluster area: API objects as JSON when a kubeconfig on the node works (admin.conf first,
then the distribution's and the user's). Short timeouts; never Secrets; configmaps reduced to
names and sizes."""
from __future__ import annotations

import os
import stat
from typing import Any

import orjson

from k8s_bundle.bundle.specs import S
from k8s_bundle.collector.context import Context
from k8s_bundle.collector.items import ApiItem, DerivedItem, Item

AREA = "cluster"

KUBECONFIG_CANDIDATES = ("/etc/kubernetes/admin.conf", "/etc/kubernetes/super-admin.conf",
                         "/etc/rancher/k3s/k3s.yaml", "/etc/rancher/rke2/rke2.yaml",
                         "/root/.kube/config")
PROBE_TIMEOUT = 6.0

# (bundle id, kubectl resource): ids are the cluster/<id>.json names docs/facts.md lists.
RESOURCES = (("nodes", "nodes"), ("pods", "pods"), ("events", "events"),
             ("daemonsets", "daemonsets"), ("deployments", "deployments"),
             ("statefulsets", "statefulsets"), ("services", "services"),
             ("endpoints", "endpoints"), ("namespaces", "namespaces"),
             ("apiservices", "apiservices"), ("pvcs", "persistentvolumeclaims"),
             ("pvs", "persistentvolumes"), ("storageclasses", "storageclasses"),
             ("hpas", "horizontalpodautoscalers"), ("leases", "leases"),
             ("csrs", "certificatesigningrequests"), ("priorityclasses", "priorityclasses"),
             ("runtimeclasses", "runtimeclasses"))


def items(ctx: Context) -> list[Item]:
    out: list[Item] = [DerivedItem("kubeconfig-probe", AREA, spec=S.kubeconfig_probe,
                                   func=probe_record, live=True,
                                   source="kubectl get --raw /version with each kubeconfig")]
    out += [ApiItem(i, AREA, spec=S.cluster_objects, resource=r, timeout=20) for i, r in RESOURCES]
    out += [
        ApiItem("configmaps", AREA, spec=S.cluster_objects, resource="configmaps", transform=configmap_sizes,
                timeout=20),
        ApiItem("kubeadm-config", AREA, spec=S.cluster_objects, resource="configmaps", namespace="kube-system",
                name="kubeadm-config"),
        ApiItem("kubelet-config-cm", AREA, spec=S.cluster_objects, resource="configmaps", namespace="kube-system",
                name="kubelet-config"),
        ApiItem("kube-proxy-cm", AREA, spec=S.cluster_objects, resource="configmaps", namespace="kube-system",
                name="kube-proxy"),
    ]
    return out


def _candidates(ctx: Context) -> list[str]:
    """Node paths of kubeconfigs to try, in order, plus $KUBECONFIG (a path on this machine)."""
    paths = list(KUBECONFIG_CANDIDATES)
    paths += ctx.transport.glob("/home/*/.kube/config")
    return paths


def _probe(ctx: Context) -> dict[str, Any]:
    tried = []
    env = os.environ.get("KUBECONFIG")
    host_paths: list[tuple[str, str]] = []
    remote = getattr(ctx.transport, "remote", False)   # ssh: the files are on the node, not here
    for p in _candidates(ctx):
        host = ctx.transport.host_path(p) if hasattr(ctx.transport, "host_path") else p
        if host and (_is_remote_file(ctx, p) if remote else os.path.isfile(host)):
            host_paths.append((p, host))
    if env and ctx.root == "/" and not remote:
        host_paths += [(p, p) for p in env.split(":") if p and os.path.isfile(p)]
    using = None
    for node_path, host in host_paths:
        code, out = ctx.run_text(["kubectl", "--kubeconfig", host, "--request-timeout=5s",
                                  "get", "--raw", "/version"], timeout=PROBE_TIMEOUT, cap=64 * 1024)
        ok = code == 0
        tried.append({"path": node_path, "ok": ok,
                      "result": "answered" if ok else ("no kubectl or timed out" if code is None
                                                       else f"exit {code}")})
        if ok:
            using = {"path": node_path, "host_path": host}
            try:
                using["version"] = orjson.loads(out).get("gitVersion")
            except orjson.JSONDecodeError:
                pass
            break
    return {"tried": tried, "using": using}


def _is_remote_file(ctx: Context, path: str) -> bool:
    st = ctx.transport.stat(path)
    return st is not None and stat.S_ISREG(st.st_mode)


def probe(ctx: Context) -> dict[str, Any]:
    return ctx.memo("kubeconfig_probe", lambda: _probe(ctx))


def probe_record(ctx: Context) -> dict[str, Any]:
    result = probe(ctx)
    return {"tried": result["tried"],
            "using": {k: v for k, v in (result["using"] or {}).items() if k != "host_path"} or None}


def working_kubeconfig(ctx: Context) -> tuple[str | None, str]:
    """(path on this machine of the first kubeconfig the API answers to, why none)."""
    result = probe(ctx)
    if result["using"]:
        return result["using"]["host_path"], ""
    if not result["tried"]:
        return None, "no kubeconfig found on the node"
    return None, "no kubeconfig worked: " + ", ".join(f"{t['path']} ({t['result']})"
                                                      for t in result["tried"])


def configmap_sizes(raw: bytes) -> bytes:
    """A ConfigMapList reduced to names and sizes: values never leave the node."""
    doc = orjson.loads(raw)
    items = []
    for cm in doc.get("items") or []:
        meta = cm.get("metadata") or {}
        data = cm.get("data") or {}
        binary = cm.get("binaryData") or {}
        items.append({
            "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace"),
                         "creationTimestamp": meta.get("creationTimestamp")},
            "keys": sorted([*data, *binary]),
            "size_bytes": sum(len(str(v).encode()) for v in data.values())
            + sum(len(str(v)) * 3 // 4 for v in binary.values()),
        })
    return orjson.dumps({"apiVersion": "v1", "kind": "ConfigMapList", "items": items},
                        option=orjson.OPT_INDENT_2)
