"""Windows facts computed from several parsed facts (finalizers, run once per node).

- `windows.load_balancers`: {total, dsr, non_dsr, source}: V2 load balancers when the node
  has any, else the ELB policy lists of V1 (never both: V2 hosts also answer the V1 API).
- `windows.port_pool`: the TCP ephemeral pool arithmetic the port exhaustion rule shows.
- `windows.os_build`, `windows.updates`, `windows.pause`, `windows.source_vip_stale`,
  `windows.cni_exceptions`, `windows.hns.cluster_network`, `windows.vethernet_present`.
"""
from __future__ import annotations

from typing import Any

from k8s_bundle.analyzer.parsers import FinalizeContext, finalizer, get_fact, set_fact
from k8s_bundle.analyzer.parsers.windows_common import cidr_contains, network_of
from k8s_bundle.analyzer.parsers.windows_hns import summarize_load_balancers
from k8s_bundle.analyzer.parsers.windows_ports import excluded_in_range

BLOCK = 64  # HNS reserves ephemeral ports in blocks of 64 (the reservation test's range size)
# The first Windows Server 2019 (build 17763) cumulative update that carries each fix; later
# cumulative updates include it, so an update revision (UBR) at or past it counts as installed.
UPDATE_UBR_17763 = {"KB4551853": 1217, "KB4571748": 1432}
CLUSTER_NETWORK_NAMES = ("cbr0", "vxlan0")


@finalizer(order=10)
def windows_facts(node: dict[str, Any], ctx: FinalizeContext) -> None:
    win = node.get("windows")
    if not isinstance(win, dict):
        return
    # Each step stands alone: odd input in one part (a hostile bundle) must not cost the others.
    # The first failure is raised at the end so the analyzer reports it as a parse problem.
    failure: Exception | None = None
    steps = (_load_balancers, _port_pool, _os, _pause, _flannel, _cni_exceptions, _networks)
    for step in steps:
        try:
            step(win)
        except Exception as exc:  # noqa: BLE001 - see above
            failure = failure or exc
    try:
        _service_ip_kubeconfigs(win, node)
    except Exception as exc:  # noqa: BLE001
        failure = failure or exc
    if failure is not None:
        raise failure


def _load_balancers(win: dict[str, Any]) -> None:
    lbs = get_fact(win, "hns.load_balancers")
    pls = get_fact(win, "hns.policy_lists")
    if lbs:
        win["load_balancers"] = {**summarize_load_balancers(lbs), "source": "hns-loadbalancers (V2)"}
    elif pls is not None:
        win["load_balancers"] = {**summarize_load_balancers(pls), "source": "hns-policylists (V1)"}
    elif lbs is not None:
        win["load_balancers"] = {"total": 0, "dsr": 0, "non_dsr": 0, "source": "hns-loadbalancers (V2)"}


def _port_pool(win: dict[str, Any]) -> None:
    dyn = get_fact(win, "dynamic_ports.tcp")
    if not isinstance(dyn, dict):
        return
    excluded = get_fact(win, "excluded_ports.tcp") or []
    taken = excluded_in_range(excluded, dyn)
    free = dyn["count"] - taken
    reservation = win.get("reservation") or {}
    kube_proxy = win.get("kube_proxy") or {}
    win["port_pool"] = {
        "start": dyn["start"],
        "end": dyn["end"],
        "count": dyn["count"],
        "excluded_ranges": sum(1 for r in excluded if r["start"] <= dyn["end"] and r["end"] >= dyn["start"]),
        "excluded_in_range": taken,
        "free_ports": free,
        "free_blocks": free // BLOCK,
        "blocks_total": dyn["count"] // BLOCK,
        "non_dsr_load_balancers": (win.get("load_balancers") or {}).get("non_dsr"),
        "dsr": bool(kube_proxy.get("dsr")) if kube_proxy.get("present") else None,
        "ranges_reserved": reservation.get("ranges_reserved"),
        "ranges_requested": reservation.get("ranges_requested"),
    }


def _os(win: dict[str, Any]) -> None:
    os_ = win.get("os")
    if not isinstance(os_, dict):
        return
    if os_.get("version_full"):
        win["os_build"] = os_["version_full"]
    hotfixes = set(win.get("hotfixes") or [])
    updates: dict[str, bool | None] = {}
    for kb, ubr in UPDATE_UBR_17763.items():
        if kb in hotfixes:
            updates[kb] = True
        elif os_.get("build") == 17763 and os_.get("ubr") is not None:
            updates[kb] = os_["ubr"] >= ubr
        elif isinstance(os_.get("build"), int) and os_["build"] > 17763:
            updates[kb] = True  # later releases shipped with these fixes
        else:
            updates[kb] = None
    win["updates"] = updates


def _pause(win: dict[str, Any]) -> None:
    host_build = get_fact(win, "os.build")
    candidates = [
        ("kubelet --pod-infra-container-image", get_fact(win, "kubelet.pause_image"), get_fact(win, "kubelet.pause_image_build")),
        ("containerd sandbox_image", get_fact(win, "containerd_sandbox_image.image"), get_fact(win, "containerd_sandbox_image.build")),
    ]
    # What the runtime really holds beats what a tag name suggests: `crictl inspecti` os.version.
    held = {t: img.get("build") for img in win.get("pause_images") or [] for t in img.get("tags") or []}
    for source, image, build in candidates:
        if image and held.get(image):
            build, source = held[image], f"{source} (crictl inspecti os.version)"
        if image:
            win["pause"] = {
                "image": image, "source": source, "build": build, "host_build": host_build,
                "mismatch": bool(build and host_build and build != host_build),
            }
            return
    for img in win.get("pause_images") or []:   # no configured image found: the runtime's own
        if img.get("build"):
            win["pause"] = {"image": (img.get("tags") or ["?"])[0], "source": "crictl images",
                            "build": img["build"], "host_build": host_build,
                            "mismatch": bool(host_build and img["build"] != host_build)}
            return


def _flannel(win: dict[str, Any]) -> None:
    subnet = get_fact(win, "flannel_subnet.subnet_network")
    vip = win.get("source_vip")
    req = win.get("source_vip_request")
    if subnet and (vip or req):
        stale = []
        if vip and vip.get("ip") and not cidr_contains(subnet, vip["ip"]):
            stale.append(f"SourceVip.json {vip['cidr']}")
        if req and req.get("network") and req["network"] != subnet:
            stale.append(f"SourceVipRequest.json {req['network']}")
        win["source_vip_stale"] = {"stale": bool(stale), "files": stale, "flannel_subnet": subnet}


def _management_subnet(win: dict[str, Any]) -> str | None:
    iface = get_fact(win, "flanneld.args.iface")
    mgmt_ips = [iface] if iface else []
    mgmt_ips += [n.get("management_ip") for n in get_fact(win, "hns.networks") or [] if n.get("management_ip")]
    for addr in win.get("ip_addresses") or []:
        if addr.get("address") in mgmt_ips and addr.get("network"):
            return addr["network"]
    return None


def _cni_exceptions(win: dict[str, Any]) -> None:
    confs = [c for c in win.get("cni") or [] if c.get("outbound_nat")]
    if not confs:
        return
    cluster = get_fact(win, "flannel_subnet.FLANNEL_NETWORK") or get_fact(win, "kube_proxy.cluster_cidr")
    service = next((r for c in confs for r in c.get("routes", [])), None)
    management = _management_subnet(win)
    required = {"cluster": cluster, "service": service, "management": management}
    exceptions = [e for c in confs for e in c.get("exception_list", [])]
    normalised = {network_of(e) or e for e in exceptions}
    missing = [f"{kind} {cidr}" for kind, cidr in required.items() if cidr and (network_of(cidr) or cidr) not in normalised]
    win["cni_exceptions"] = {"exception_list": exceptions, "required": required, "missing": missing,
                             "empty": not exceptions}


def _networks(win: dict[str, Any]) -> None:
    nets = get_fact(win, "hns.networks")
    if nets is not None:
        wanted = {get_fact(win, "kube_proxy.network_name") or "", *CLUSTER_NETWORK_NAMES} - {""}
        names = [n["name"] for n in nets if n.get("name", "").lower() in {w.lower() for w in wanted}]
        win["hns"]["cluster_network"] = names[0] if names else None
        endpoints = get_fact(win, "hns.endpoints") or []
        win["hns"]["local_endpoints"] = sum(1 for e in endpoints if not e.get("is_remote"))
        win["hns"]["remote_endpoints"] = sum(1 for e in endpoints if e.get("is_remote"))
    adapters = win.get("adapters")
    if adapters is not None:
        win["vethernet_present"] = any(a.get("vethernet") for a in adapters)


def _service_ip_kubeconfigs(win: dict[str, Any], node: dict[str, Any]) -> None:
    """Kubeconfigs on the node whose server is inside the service CIDR (the ROUTE policy of the
    CNI config names it): the Windows node itself cannot reach service IPs."""
    service = next((r for c in win.get("cni") or [] for r in c.get("routes", [])), None)
    if not service:
        return
    hits = []
    for kc in node.get("kubeconfigs") or []:
        host = kc.get("server_host") if isinstance(kc, dict) else None
        if host and cidr_contains(service, host):
            hits.append(f"{kc.get('path')}: server {kc.get('server')} is inside the service CIDR {service}")
    win["service_cidr"] = service
    win["service_ip_kubeconfigs"] = hits


__all__ = ["windows_facts", "set_fact"]
