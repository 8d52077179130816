"""The resource types the server knows: one table drives discovery, routing and loading.

Every type is served even when the bundles hold none of it, so that `kubectl get deployments`
answers "No resources found" (the bundle had none) rather than "doesn't have a resource type".
Types the collector never stores (Secrets) are not served at all: kubectl then says the server
does not have them, which is the truth about a bundle.
"""
from __future__ import annotations

from dataclasses import dataclass

OUR_GROUP = "k8s-bundle.io"
# Pseudo namespaces: node-level logs as pod logs, and the findings.
NODE_NAMESPACE = "k8s-bundle-node"
FINDINGS_NAMESPACE = "k8s-bundle-findings"
# Marks every object the server made up (from node data or findings) rather than read from cluster/.
SYNTH_ANNOTATION = "k8s-bundle.io/synthesized"
BUNDLE_ANNOTATION = "k8s-bundle.io/bundle"

READ_VERBS = ["get", "list"]


@dataclass(frozen=True)
class ResourceType:
    plural: str
    kind: str
    group: str            # "" for the core group
    version: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    bundle_ids: tuple[str, ...] = ()   # cluster/<id>.json files that hold it
    categories: tuple[str, ...] = ()

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()


TYPES: tuple[ResourceType, ...] = (
    ResourceType("pods", "Pod", "", "v1", True, ("po",), ("pods",), ("all",)),
    ResourceType("nodes", "Node", "", "v1", False, ("no",), ("nodes",)),
    ResourceType("events", "Event", "", "v1", True, ("ev",), ("events",)),
    ResourceType("namespaces", "Namespace", "", "v1", False, ("ns",), ("namespaces",)),
    ResourceType("services", "Service", "", "v1", True, ("svc",), ("services",), ("all",)),
    ResourceType("endpoints", "Endpoints", "", "v1", True, ("ep",), ("endpoints",)),
    ResourceType("configmaps", "ConfigMap", "", "v1", True, ("cm",), ("configmaps",)),
    ResourceType("persistentvolumeclaims", "PersistentVolumeClaim", "", "v1", True, ("pvc",), ("pvcs",)),
    ResourceType("persistentvolumes", "PersistentVolume", "", "v1", False, ("pv",), ("pvs",)),
    ResourceType("daemonsets", "DaemonSet", "apps", "v1", True, ("ds",), ("daemonsets",), ("all",)),
    ResourceType("deployments", "Deployment", "apps", "v1", True, ("deploy",), ("deployments",), ("all",)),
    ResourceType("statefulsets", "StatefulSet", "apps", "v1", True, ("sts",), ("statefulsets",), ("all",)),
    ResourceType("apiservices", "APIService", "apiregistration.k8s.io", "v1", False, (), ("apiservices",)),
    ResourceType("storageclasses", "StorageClass", "storage.k8s.io", "v1", False, ("sc",), ("storageclasses",)),
    ResourceType("horizontalpodautoscalers", "HorizontalPodAutoscaler", "autoscaling", "v2", True, ("hpa",),
                 ("hpas",), ("all",)),
    ResourceType("leases", "Lease", "coordination.k8s.io", "v1", True, (), ("leases",)),
    ResourceType("certificatesigningrequests", "CertificateSigningRequest", "certificates.k8s.io", "v1", False,
                 ("csr",), ("csrs",)),
    ResourceType("priorityclasses", "PriorityClass", "scheduling.k8s.io", "v1", False, ("pc",),
                 ("priorityclasses",)),
    ResourceType("runtimeclasses", "RuntimeClass", "node.k8s.io", "v1", False, (), ("runtimeclasses",)),
    ResourceType("findings", "Finding", OUR_GROUP, "v1", True, ("finding",), ()),
)

BY_BUNDLE_ID = {bid: t for t in TYPES for bid in t.bundle_ids}
BY_PATH = {(t.group, t.version, t.plural): t for t in TYPES}


def groups() -> dict[str, list[str]]:
    """API group -> its versions ("" is the core group)."""
    out: dict[str, list[str]] = {}
    for t in TYPES:
        versions = out.setdefault(t.group, [])
        if t.version not in versions:
            versions.append(t.version)
    return out


def resource_list(group: str, version: str) -> dict | None:
    """The APIResourceList of /api/v1 or /apis/<group>/<version>; None when there is none."""
    types = [t for t in TYPES if t.group == group and t.version == version]
    if not types:
        return None
    resources = []
    for t in types:
        entry = {"name": t.plural, "singularName": t.singular, "namespaced": t.namespaced, "kind": t.kind,
                 "verbs": READ_VERBS}
        if t.short_names:
            entry["shortNames"] = list(t.short_names)
        if t.categories:
            entry["categories"] = list(t.categories)
        resources.append(entry)
        if t.plural == "pods":
            resources.append({"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod",
                              "verbs": ["get"]})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": types[0].group_version,
            "resources": resources}
