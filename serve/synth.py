"""Kubernetes objects made up from node data and findings, each marked by SYNTH_ANNOTATION.

- A Node for every bundle node that cluster/nodes.json does not hold: node.json's versions,
  capacity and addresses, conditions inferred from the node's findings.
- Pods for a node when the bundle holds no cluster/pods.json: its static pods (the manifests in
  /etc/kubernetes/manifests), the containers crictl or docker listed grouped by pod, and the
  pods that have log directories under /var/log/pods.
- One pod per node in NODE_NAMESPACE whose containers are the node's own logs (journal units,
  kernel, copied log files), so `kubectl logs -n k8s-bundle-node NODE -c kubelet` works.
- A Finding per finding (FINDINGS_NAMESPACE) and an Event per finding, about its Node (or the
  Finding itself for cluster findings), so `kubectl describe node` lists what is wrong.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Any

import yaml

from k8s_bundle.serve.loader import LogSource, NodeData, Store, stable_uid
from k8s_bundle.serve.resources import (FINDINGS_NAMESPACE, NODE_NAMESPACE, SYNTH_ANNOTATION, TYPES,
                                        ResourceType)
from k8s_bundle.serve.tables import field

_T = {t.plural: t for t in TYPES}
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "64-bit": "amd64", "amd64": "amd64", "arm64": "arm64"}
_BAD = ("critical", "warning")
# Containers of a node's log pod: a real node has dozens of logs; a hostile bundle may name 200,000.
MAX_NODE_LOGS = 2000
# Node conditions a finding sets, by words in its rule id or components.
_PRESSURE = (("MemoryPressure", ("memory", "oom"), _BAD), ("DiskPressure", ("disk", "inode", "filesystem",
             "imagefs", "nodefs"), _BAD), ("PIDPressure", ("pid",), _BAD),
             ("NetworkUnavailable", ("cni", "network"), ("critical",)))


def synthesize(store: Store, findings: list[tuple[str, Any]]) -> None:
    """Add the made-up objects to `store`; `findings` is (bundle path, analyzer Finding) pairs."""
    by_node: dict[str, list[Any]] = {}
    for _, f in findings:
        for n in (f.nodes or ([f.node] if f.node else [])):
            by_node.setdefault(n, []).append(f)
    cluster_pods = {n for o in store.objects["pods"].values() if isinstance(n := field(o, "spec", "nodeName"), str)}
    for nd in store.nodes:
        _node(store, nd, by_node.get(nd.name, []))
        if nd.name not in cluster_pods:
            _runtime_pods(store, nd)
        _node_log_pod(store, nd)
    _log_only_pods(store)
    for bundle, f in findings:
        _finding(store, bundle, f)
    _namespaces(store)


def _mark(obj: dict, what: str, bundle: str) -> dict:
    meta = obj.setdefault("metadata", {})
    meta.setdefault("annotations", {})[SYNTH_ANNOTATION] = what
    meta["annotations"]["k8s-bundle.io/bundle"] = bundle
    return obj


def _list(value: Any) -> list:
    """`value` when it is a list, else empty: node files are input, not trusted to have a shape."""
    return value if isinstance(value, list) else []


def label_value(text: str) -> str:
    """`text` as a valid label value (63 characters of [A-Za-z0-9._-], alphanumeric ends)."""
    v = re.sub(r"[^A-Za-z0-9._-]", "_", text)[:63]
    return v.strip("._-")


def dns_name(text: str) -> str:
    """`text` as an object name kubectl accepts on its command line (lower case, no '/')."""
    v = re.sub(r"[^a-z0-9.-]+", "-", text.lower()).strip(".-")
    return v[:253] or "unnamed"


# -- nodes -------------------------------------------------------------------------------------
def _node(store: Store, nd: NodeData, findings: list[Any]) -> None:
    if ("", nd.name) in store.objects["nodes"]:
        return
    info = nd.files.get("node_json") if isinstance(nd.files.get("node_json"), dict) else {}
    versions = info.get("versions") if isinstance(info.get("versions"), dict) else {}
    os_name = str(info.get("os") or "linux")
    arch = _ARCH.get(str(info.get("arch") or ""), str(info.get("arch") or ""))
    labels = {"kubernetes.io/hostname": label_value(nd.name), "kubernetes.io/os": label_value(os_name)}
    if arch:
        labels["kubernetes.io/arch"] = label_value(arch)
    for role in _list(info.get("roles")):
        if isinstance(role, str) and role:
            labels[f"node-role.kubernetes.io/{label_value(role)}"] = ""
    capacity: dict[str, str] = {}
    if isinstance(info.get("cpus"), int):
        capacity["cpu"] = str(info["cpus"])
    if isinstance(info.get("memory_bytes"), int):
        capacity["memory"] = f"{info['memory_bytes'] // 1024}Ki"
    ips = _ips(nd.files.get("hostname_i")) or _windows_ips(nd.files.get("win_ips"))
    addresses = [{"type": "InternalIP", "address": ip} for ip in ips[:1]]
    if info.get("hostname"):
        addresses.append({"type": "Hostname", "address": str(info["hostname"])})
    runtime = str(info.get("runtime") or "")
    runtime_version = versions.get(runtime) if runtime else None
    when = nd.created_at
    obj = {
        "metadata": {"name": nd.name, "labels": labels,
                     "creationTimestamp": info["boot_time"] if isinstance(info.get("boot_time"), str) else when},
        "spec": {},
        "status": {
            "capacity": capacity, "allocatable": dict(capacity), "addresses": addresses,
            "conditions": _conditions(findings, when),
            "nodeInfo": {
                "kubeletVersion": str(versions.get("kubelet") or ""),
                "kubeProxyVersion": str(versions.get("kube-proxy") or ""),
                "osImage": str(info.get("distro") or ""), "kernelVersion": str(info.get("kernel") or ""),
                "containerRuntimeVersion": f"{runtime}://{str(runtime_version).lstrip('v')}" if runtime_version
                else runtime,
                "operatingSystem": os_name, "architecture": arch,
                "machineID": "", "systemUUID": "", "bootID": "",
            },
        },
    }
    _mark(obj, f"from {nd.name}'s node.json and findings (no Node object in cluster/)", nd.bundle)
    store.add(_T["nodes"], obj, nd.bundle)


def _ips(text: Any) -> list[str]:
    if not isinstance(text, str):
        return []
    return [w for w in text.split() if re.fullmatch(r"[0-9.]+|[0-9a-fA-F:]+:[0-9a-fA-F:.]*", w)
            and not w.startswith(("127.", "::1"))]


def _windows_ips(doc: Any) -> list[str]:
    """IPv4 addresses of Get-NetIPAddress (an object for one, a list for several), host adapters first."""
    items = doc if isinstance(doc, list) else [doc] if isinstance(doc, dict) else []
    found = [(("vEthernet (nat)" in str(i.get("InterfaceAlias")) or "Loopback" in str(i.get("InterfaceAlias"))),
              str(i.get("IPAddress"))) for i in items
             if isinstance(i, dict) and i.get("AddressFamily") in (2, "IPv4") and i.get("IPAddress")]
    return [ip for _, ip in sorted(found, key=lambda f: f[0]) if not ip.startswith(("127.", "169.254."))]


def _conditions(findings: list[Any], when: str | None) -> list[dict]:
    """Ready and the pressure conditions as the node's findings suggest (never seen live)."""
    out = []
    for ctype, words, severities in _PRESSURE:
        hits = sorted({f.rule_id for f in findings if f.severity in severities and _about(f, words)})
        out.append(_condition(ctype, "True" if hits else "False",
                              "FindingsSuggest" if hits else "NoFindings",
                              f"findings: {', '.join(hits)}" if hits else "no finding suggests it", when))
    critical = sorted({f.rule_id for f in findings if f.severity == "critical"})
    out.append(_condition("Ready", "False" if critical else "True",
                          "CriticalFindings" if critical else "NoCriticalFindings",
                          f"critical findings: {', '.join(critical)}" if critical
                          else "no critical finding on this node (inferred from the bundle, not seen live)", when))
    return out


def _about(f: Any, words: tuple[str, ...]) -> bool:
    text = " ".join([f.rule_id, *f.components]).lower()
    return any(w in text for w in words)


def _condition(ctype: str, status: str, reason: str, message: str, when: str | None) -> dict:
    return {"type": ctype, "status": status, "reason": reason, "message": message,
            "lastHeartbeatTime": when, "lastTransitionTime": when}


# -- pods from node data -----------------------------------------------------------------------
class _Pod:
    def __init__(self, ns: str, name: str, uid: str | None = None) -> None:
        self.ns, self.name, self.uid = ns, name, uid
        self.spec: dict = {}
        self.labels: dict = {}
        self.containers: dict[str, dict] = {}     # name -> {image, state, attempt, started}
        self.sources: list[str] = []
        self.spec_names: set[str] = set()         # a static pod's container names


def _runtime_pods(store: Store, nd: NodeData) -> None:
    pods: dict[tuple[str, str], _Pod] = {}
    static = _static_pods(nd)
    for p in static:
        pods[(p.ns, p.name)] = p
    sandboxes = _sandboxes(nd.files.get("crictl_pods"))
    log_pods = _log_pods_by_container(store, (nd.bundle, nd.name))
    for ctr in _crictl_containers(nd.files.get("crictl_ps")) + _docker_containers(nd.files.get("docker_ps")):
        key = ctr.pop("pod", None) or sandboxes.get(ctr.get("sandbox", ""))
        if key is None:
            key = next(((p.ns, p.name) for p in static if ctr["name"] in p.spec_names), None)
        if key is None and len(log_pods.get(ctr["name"], ())) == 1:
            key = next(iter(log_pods[ctr["name"]]))
        if key is None:     # nothing names its pod: one pod per sandbox, named for what we know
            key = ("k8s-bundle-runtime", dns_name(f"{ctr['name']}-{ctr.get('sandbox', '')[:12]}"))
        pod = pods.setdefault(key, _Pod(*key))
        pod.sources.append(ctr.pop("source"))
        old = pod.containers.get(ctr["name"])
        if old is None or ctr["attempt"] >= old["attempt"]:
            pod.containers[ctr["name"]] = ctr
    for pod in pods.values():
        store.add(_T["pods"], _pod_object(store, nd, pod), nd.bundle)


def _static_pods(nd: NodeData) -> list[_Pod]:
    out = []
    for fname, raw in sorted(nd.manifests.items()):
        try:
            # no anchors and aliases: a few lines of them expand to gigabytes once served as JSON
            if any(isinstance(ev, yaml.AliasEvent) for ev in yaml.parse(raw, Loader=yaml.SafeLoader)):
                continue
            doc = yaml.safe_load(raw)
        except (yaml.YAMLError, RecursionError):
            continue
        if not isinstance(doc, dict) or doc.get("kind") != "Pod" or not isinstance(doc.get("spec"), dict):
            continue
        meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
        name = str(meta.get("name") or fname.rsplit(".", 1)[0])
        p = _Pod(str(meta.get("namespace") or "kube-system"), dns_name(f"{name}-{nd.name}"))
        p.spec = doc["spec"]
        labels = meta.get("labels")
        p.labels = {str(k): v for k, v in labels.items() if isinstance(v, str)} if isinstance(labels, dict) else {}
        p.spec_names = {c["name"] for c in _list(p.spec.get("containers")) if isinstance(c, dict)
                        and isinstance(c.get("name"), str)}
        p.sources.append(f"files/etc/kubernetes/manifests/{fname}")
        out.append(p)
    return out


def _sandboxes(doc: Any) -> dict[str, tuple[str, str]]:
    items = doc.get("items") if isinstance(doc, dict) else None
    out = {}
    for s in items or []:
        meta = s.get("metadata") if isinstance(s, dict) else None
        if isinstance(meta, dict) and meta.get("name") and s.get("id"):
            out[str(s["id"])] = (str(meta.get("namespace") or "default"), str(meta["name"]))
    return out


def _crictl_containers(doc: Any) -> list[dict]:
    items = doc.get("containers") if isinstance(doc, dict) else None
    out = []
    for c in items or []:
        if not isinstance(c, dict):
            continue
        meta = c.get("metadata") if isinstance(c.get("metadata"), dict) else {}
        labels = c.get("labels") if isinstance(c.get("labels"), dict) else {}
        name = meta.get("name") or labels.get("io.kubernetes.container.name")
        if not name:
            continue
        pod = None
        if labels.get("io.kubernetes.pod.name"):
            pod = (str(labels.get("io.kubernetes.pod.namespace") or "default"), str(labels["io.kubernetes.pod.name"]))
        image = c.get("image", {}).get("image") if isinstance(c.get("image"), dict) else None
        state = {"CONTAINER_RUNNING": "running", "CONTAINER_EXITED": "exited",
                 "CONTAINER_CREATED": "created"}.get(str(c.get("state")), "unknown")
        out.append({"name": str(name), "pod": pod, "sandbox": str(c.get("podSandboxId") or ""),
                    "image": str(image or c.get("imageRef") or ""), "state": state,
                    "attempt": int(meta.get("attempt") or 0) if str(meta.get("attempt", 0)).isdigit() else 0,
                    "id": str(c.get("id") or ""), "source": "commands/crictl-ps.json"})
    return out


def _docker_containers(text: Any) -> list[dict]:
    """`docker ps -a --no-trunc` rows named the kubelet's way: k8s_<ctr>_<pod>_<ns>_<uid>_<attempt>."""
    if not isinstance(text, str):
        return []
    lines = text.splitlines()
    if not lines or "NAMES" not in lines[0] or "STATUS" not in lines[0]:
        return []
    head = lines[0]
    at = {col: head.index(col) for col in ("CONTAINER ID", "IMAGE", "STATUS", "PORTS", "NAMES") if col in head}
    out = []
    for line in lines[1:]:
        names = line[at["NAMES"]:].strip() if len(line) > at["NAMES"] else ""
        parts = names.split("_")
        if len(parts) < 6 or parts[0] != "k8s" or parts[1] == "POD":
            continue
        status = line[at["STATUS"]:at.get("PORTS", at["NAMES"])].strip()
        image = line[at["IMAGE"]:line.find(" ", at["IMAGE"])] if "IMAGE" in at else ""
        out.append({"name": parts[1], "pod": (parts[3], parts[2]), "sandbox": "", "image": image,
                    "state": "running" if status.startswith("Up") else "exited" if status.startswith("Exited")
                    else "created", "attempt": int(parts[5]) if parts[5].isdigit() else 0,
                    "id": line[:at["IMAGE"]].strip() if "IMAGE" in at else "", "source": "commands/docker-ps.txt"})
    return out


def _log_pods_by_container(store: Store, owner: tuple[str, str]) -> dict[str, set[tuple[str, str]]]:
    """container name -> the pods of this node (bundle, node) that have its log directory."""
    out: dict[str, set[tuple[str, str]]] = {}
    for key, ctrs in store.pod_logs.items():
        if store.pod_log_owner.get(key) != owner:
            continue
        for c in ctrs:
            out.setdefault(c, set()).add(key)
    return out


def _pod_object(store: Store, nd: NodeData, pod: _Pod) -> dict:
    spec = dict(pod.spec) if pod.spec else {}
    containers = [c for c in _list(spec.get("containers")) if isinstance(c, dict) and isinstance(c.get("name"), str)]
    have = {c["name"] for c in containers}
    for name, c in pod.containers.items():
        if name not in have:
            containers.append({"name": name, "image": c["image"]})
    for name in sorted(store.pod_logs.get((pod.ns, pod.name), {})):
        if name not in have and name not in pod.containers:
            containers.append({"name": name, "image": ""})
    spec["containers"] = containers
    spec["nodeName"] = nd.name
    statuses = []
    for c in containers:
        seen = pod.containers.get(c.get("name"))
        if seen is None:
            statuses.append({"name": c.get("name"), "image": c.get("image", ""), "ready": False,
                             "restartCount": 0, "state": {"waiting": {"reason": "NotListed",
                             "message": "the runtime listing in the bundle does not show this container"}}})
            continue
        state = ({"running": {"startedAt": nd.created_at}} if seen["state"] == "running" else
                 {"terminated": {"reason": "Exited", "exitCode": 0 if seen["state"] == "exited" else -1}}
                 if seen["state"] == "exited" else {"waiting": {"reason": "ContainerCreating"}})
        statuses.append({"name": c.get("name"), "image": seen["image"] or c.get("image", ""),
                         "containerID": f"cri://{seen['id']}" if seen["id"] else "",
                         "ready": seen["state"] == "running", "restartCount": seen["attempt"],
                         "started": seen["state"] == "running", "state": state})
    running = sum(1 for s in statuses if s.get("state", {}).get("running"))
    # A runtime listing shows containers, not the pod's phase: without a running container the
    # pod may be restarting (CrashLoopBackOff), done or failed; that is Unknown, not a guess.
    phase = "Running" if running else "Unknown"
    uid = pod.uid or store.pod_uids.get((pod.ns, pod.name)) or stable_uid("Pod", pod.ns, pod.name)
    obj = {"metadata": {"name": pod.name, "namespace": pod.ns, "uid": uid, "labels": pod.labels,
                        "creationTimestamp": nd.created_at},
           "spec": spec,
           "status": {"phase": phase, "containerStatuses": statuses, "hostIP": "",
                      "conditions": [{"type": "Ready", "status": "True" if running == len(containers) and containers
                                      else "False"}]}}
    sources = ", ".join(sorted(set(pod.sources))) or "log directories under /var/log/pods"
    return _mark(obj, f"from {nd.name}'s {sources}", nd.bundle)


def _log_only_pods(store: Store) -> None:
    """Pods that have logs in a bundle but no object yet (a node bundle without cluster/pods)."""
    pods = store.objects["pods"]
    for (ns, name), ctrs in store.pod_logs.items():
        if (ns, name) in pods:
            continue
        first = next(s for att in ctrs.values() for files in att.values() for s in files)
        node = first.member.split("/")[1]
        nd = next((n for n in store.nodes if n.name == node and n.bundle == first.bundle), None)
        if nd is not None:
            store.add(_T["pods"], _pod_object(store, nd, _Pod(ns, name)), nd.bundle)


# -- node logs as a pod ------------------------------------------------------------------------
def node_log_container(src: LogSource, full: bool = False) -> str:
    """The container name a node-level log is served under (docs/serve.md): the unit of a
    journal, `kernel`, `eventlog-<log>`, else the file's name without its extension; `full`
    names a copied file by its whole path instead (`var-log-messages`), for two files of one name."""
    sub = src.member.split("/", 3)[3] if src.member.count("/") >= 3 else src.member
    if sub.startswith("journal/"):
        name = sub[len("journal/"):]
    elif sub.startswith("eventlog/"):
        name = "eventlog-" + sub[len("eventlog/"):]
    else:
        name = sub if full else sub.rsplit("/", 1)[-1]
    for ext in (".log", ".jsonl", ".txt"):
        if name.endswith(ext):
            name = name[: -len(ext)]
    return dns_name(name.replace("/", "-").replace("_", "-"))


def _node_log_pod(store: Store, nd: NodeData) -> None:
    if not nd.logs:
        return
    if (NODE_NAMESPACE, nd.name) in store.objects["pods"]:
        store.problems.append(f"{nd.bundle}: node {nd.name} is in an earlier bundle too; the node logs of "
                              "the first one are served")
        return
    if len(nd.logs) > MAX_NODE_LOGS:
        store.problems.append(f"{nd.bundle}: node {nd.name} has {len(nd.logs):,} log files; the first "
                              f"{MAX_NODE_LOGS:,} by name are served (cap: node logs per node)")
    containers = []
    logs = sorted(nd.logs, key=lambda s: s.member)[:MAX_NODE_LOGS]
    short = Counter(node_log_container(src) for src in logs)
    for src in logs:
        name = node_log_container(src)
        if short[name] > 1:
            name = node_log_container(src, full=True)
        base, n = name, 2
        while (nd.name, name) in store.node_logs:
            name, n = f"{base}-{n}", n + 1
        store.node_logs[(nd.name, name)] = src
        containers.append({"name": name, "image": "k8s-bundle/node-log", "args": [src.member],
                           "_size": src.size})
    default = next((c["name"] for c in containers if c["name"] == "kubelet"), containers[0]["name"])
    statuses = [{"name": c["name"], "image": c["image"], "ready": True, "restartCount": 0,
                 "state": {"terminated": {"reason": "Collected", "exitCode": 0,
                                          "message": f"{c.pop('_size'):,} bytes in the bundle"}}}
                for c in containers]
    obj = {"metadata": {"name": nd.name, "namespace": NODE_NAMESPACE,
                        "labels": {"k8s-bundle.io/node": label_value(nd.name)},
                        "annotations": {"kubectl.kubernetes.io/default-container": default},
                        "creationTimestamp": nd.created_at},
           "spec": {"nodeName": nd.name, "containers": containers},
           "status": {"phase": "Succeeded", "containerStatuses": statuses}}
    _mark(obj, f"{nd.name}'s node-level logs, one container each", nd.bundle)
    store.add(_T["pods"], obj, nd.bundle)


# -- findings ----------------------------------------------------------------------------------
def _finding(store: Store, bundle: str, f: Any) -> None:
    base = dns_name(f"{f.node or 'cluster'}.{f.rule_id}")
    name, n = base, 2
    while (FINDINGS_NAMESPACE, name) in store.objects["findings"]:
        name, n = f"{base}-{n}", n + 1
    when = next((nd.created_at for nd in store.nodes if nd.bundle == bundle), None)
    en = lambda d: (d or {}).get("en", "")   # noqa: E731 - the report's English texts
    spec = {
        "rule": f.rule_id, "severity": f.severity, "node": f.node or "", "nodes": list(f.nodes),
        "title": en(f.title), "message": en(f.message) or en(f.title), "cause": en(f.cause),
        "fix": en(f.fix), "components": list(f.components), "rootCause": bool(f.root_cause),
        "explainedBy": list(f.explained_by), "explains": list(f.explains),
        "firstSeen": f.first_seen, "lastSeen": f.last_seen, "logCount": f.log_count,
        "facts": list(f.fact_lines),
        "logLines": [f"{m.file}:{m.line}: {m.message}" for m in f.log_lines[:20]],
        "references": [r.get("url") for r in f.references if r.get("url")],
    }
    spec = {k: v for k, v in spec.items() if v not in (None, [], "")}
    labels = {"k8s-bundle.io/severity": f.severity, "k8s-bundle.io/rule": label_value(f.rule_id),
              "k8s-bundle.io/node": label_value(f.node or "")}
    obj = {"metadata": {"name": name, "namespace": FINDINGS_NAMESPACE, "labels": labels,
                        "creationTimestamp": when},
           "spec": spec}
    _mark(obj, "from `k8s-bundle analyze` of the bundle", bundle)
    store.add(_T["findings"], obj, bundle)
    node = store.objects["nodes"].get(("", f.node)) if f.node else None
    involved = ({"kind": "Node", "apiVersion": "v1", "name": f.node, "uid": f.node} if node
                else {"kind": "Finding", "apiVersion": "k8s-bundle.io/v1", "name": name,
                      "namespace": FINDINGS_NAMESPACE, "uid": obj["metadata"]["uid"]})
    event = {"metadata": {"name": f"{name}.finding", "namespace": "default" if node else FINDINGS_NAMESPACE,
                          "creationTimestamp": when},
             "involvedObject": involved, "reason": f.rule_id, "message": f"[{f.severity}] {spec['message']}",
             "type": "Warning" if f.severity in _BAD else "Normal",
             "source": {"component": "k8s-bundle", "host": f.node or ""},
             "firstTimestamp": f.first_seen or when, "lastTimestamp": f.last_seen or when,
             "count": max(1, f.log_count)}
    _mark(event, f"from the finding {name}", bundle)
    store.add(_T["events"], event, bundle)


def _namespaces(store: Store) -> None:
    used = {ns for t in TYPES if t.namespaced for ns, _ in store.objects[t.plural]}
    for ns in sorted(used | {"default"}):
        if ("", ns) in store.objects["namespaces"]:
            continue
        obj = {"metadata": {"name": ns}, "status": {"phase": "Active"}}
        _mark(obj, "named by objects in the bundle", "")
        store.add(_T["namespaces"], obj, "")
    fill_event_uids(store)


def fill_event_uids(store: Store) -> None:
    """Events in cluster/ may lack involvedObject.uid; kubectl describe selects on it, so the
    uid of the object they name is filled in when that object is served. For a Node that is
    its name, as the kubelet writes it (kubectl 1.20 asks only for that one; 1.32 asks for both)."""
    plural = {t.kind: t for t in TYPES}
    for ev in store.objects["events"].values():
        inv = ev.get("involvedObject")
        if not isinstance(inv, dict) or inv.get("uid") or not isinstance(inv.get("name"), str) \
                or not isinstance(inv.get("kind"), str) or inv["kind"] not in plural:
            continue
        if inv["kind"] == "Node" and inv.get("name"):
            inv["uid"] = inv["name"]
            continue
        t: ResourceType = plural[inv["kind"]]
        ns = inv.get("namespace") if t.namespaced and isinstance(inv.get("namespace"), str) else ""
        obj = store.objects[t.plural].get((ns, inv["name"]))
        if obj is not None:
            inv["uid"] = obj["metadata"]["uid"]
