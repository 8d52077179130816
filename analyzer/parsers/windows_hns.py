"""HNS objects (Host Networking Service) as `ConvertTo-Json` wrote them, V1 or V2 schema.

V1 objects come from the HNS V1 API (`Get-HnsNetwork`/`Get-HnsEndpoint`/`Get-HnsPolicyList`
of hns.psm1 or the built-in module on Windows Server 2016/2019); load balancers are ELB
policies inside policy lists and DSR is `IsDSR` (or `DSR`). V2 objects (HCN, Windows
Server 2019 1809+ with the V2 module) carry `SchemaVersion.Major == 2`; load balancers are
their own objects and DSR is bit 1 of `Flags`. Every parser returns normalised dicts with the
same keys for both schemas plus `schema`, so rules need not care which one a node used.
"""
from __future__ import annotations

from typing import Any

from k8s_bundle.analyzer.parsers.windows_common import as_list, first_json_value, get_ci, json_items

LB_FLAG_DSR = 0x1  # HCN LoadBalancerFlags.EnableDirectServerReturn
PROTOCOLS = {6: "TCP", 17: "UDP"}


def schema_of(obj: Any) -> str:
    version = get_ci(obj, "SchemaVersion")
    if isinstance(version, dict) and int(get_ci(version, "Major", default=1) or 1) >= 2:
        return "V2"
    return "V1"


def load_objects(text: str) -> list[dict[str, Any]]:
    """JSON as ConvertTo-Json wrote it (one object or an array), or collectlogs' table-then-JSON."""
    try:
        items = json_items(text)
    except ValueError:
        items = as_list(first_json_value(text))
    return [i for i in items if isinstance(i, dict)]


def parse_schema(text: str) -> str:
    word = text.strip().upper()
    if word.startswith("V2") or word == "2":
        return "V2"
    if word.startswith("V1") or word == "1":
        return "V1"
    raise ValueError(f"unknown HNS schema {text.strip()[:20]!r}")


def normalise_network(obj: dict[str, Any]) -> dict[str, Any]:
    schema = schema_of(obj)
    prefixes: list[str] = []
    if schema == "V2":
        for ipam in as_list(get_ci(obj, "Ipams")):
            for subnet in as_list(get_ci(ipam, "Subnets")):
                p = get_ci(subnet, "IpAddressPrefix")
                if p:
                    prefixes.append(str(p))
    else:
        for subnet in as_list(get_ci(obj, "Subnets")):
            p = get_ci(subnet, "AddressPrefix")
            if p:
                prefixes.append(str(p))
        if not prefixes and get_ci(obj, "AddressPrefix"):
            prefixes.append(str(get_ci(obj, "AddressPrefix")))
    policies = as_list(get_ci(obj, "Policies"))
    vxlan_port = None
    for pol in policies:
        if str(get_ci(pol, "Type", default="")).lower() == "vxlanport":
            settings = get_ci(pol, "Settings", default=pol)
            vxlan_port = get_ci(settings, "Port")
    return {
        "id": str(get_ci(obj, "ID", "Id", default="")),
        "name": str(get_ci(obj, "Name", default="")),
        "type": str(get_ci(obj, "Type", default="")),
        "address_prefixes": prefixes,
        "management_ip": get_ci(obj, "ManagementIP"),
        "state": get_ci(obj, "State"),
        "vxlan_port": int(vxlan_port) if vxlan_port is not None else None,
        "schema": schema,
    }


def normalise_endpoint(obj: dict[str, Any]) -> dict[str, Any]:
    schema = schema_of(obj)
    if schema == "V2":
        configs = as_list(get_ci(obj, "IpConfigurations"))
        ip = get_ci(configs[0], "IpAddress") if configs else None
        network = get_ci(obj, "HostComputeNetwork")
        flags = int(get_ci(obj, "Flags", default=0) or 0)
        is_remote = bool(flags & 0x1)  # HCN EndpointFlags.RemoteEndpoint
        network_name = None
    else:
        ip = get_ci(obj, "IPAddress")
        network = get_ci(obj, "VirtualNetwork")
        network_name = get_ci(obj, "VirtualNetworkName")
        is_remote = bool(get_ci(obj, "IsRemoteEndpoint", default=False))
    return {
        "id": str(get_ci(obj, "ID", "Id", default="")),
        "name": str(get_ci(obj, "Name", default="")),
        "ip": ip,
        "mac": get_ci(obj, "MacAddress"),
        "network_id": network,
        "network_name": network_name,
        "is_remote": is_remote,
        "state": get_ci(obj, "State"),
        "schema": schema,
    }


def normalise_load_balancer(obj: dict[str, Any]) -> dict[str, Any]:
    """A V2 HCN load balancer."""
    flags = int(get_ci(obj, "Flags", default=0) or 0)
    mappings = []
    for pm in as_list(get_ci(obj, "PortMappings")):
        mappings.append({
            "protocol": PROTOCOLS.get(int(get_ci(pm, "Protocol", default=0) or 0), str(get_ci(pm, "Protocol"))),
            "internal_port": get_ci(pm, "InternalPort"),
            "external_port": get_ci(pm, "ExternalPort"),
        })
    return {
        "id": str(get_ci(obj, "ID", "Id", default="")),
        "dsr": bool(flags & LB_FLAG_DSR),
        "frontend_vips": [str(v) for v in as_list(get_ci(obj, "FrontendVIPs"))],
        "source_vip": get_ci(obj, "SourceVIP"),
        "port_mappings": mappings,
        "endpoints": len(as_list(get_ci(obj, "HostComputeEndpoints"))),
        "schema": "V2",
    }


def normalise_policy_list(obj: dict[str, Any]) -> dict[str, Any]:
    """A V1 policy list; an ELB policy inside makes it a load balancer."""
    elb = None
    for pol in as_list(get_ci(obj, "Policies")):
        if str(get_ci(pol, "Type", default="")).upper() == "ELB":
            elb = pol
            break
    dsr = bool(get_ci(obj, "IsDSR", "DSR", default=False)) or bool(
        elb is not None and get_ci(elb, "IsDSR", "DSR", default=False)
    )
    return {
        "id": str(get_ci(obj, "ID", "Id", default="")),
        "is_load_balancer": elb is not None,
        "dsr": dsr,
        "vips": [str(v) for v in as_list(get_ci(elb, "VIPs"))] if elb else [],
        "protocol": PROTOCOLS.get(int(get_ci(elb, "Protocol", default=0) or 0)) if elb else None,
        "internal_port": get_ci(elb, "InternalPort") if elb else None,
        "external_port": get_ci(elb, "ExternalPort") if elb else None,
        "endpoints": len(as_list(get_ci(obj, "References"))),
        "schema": "V1",
    }


def parse_networks(text: str) -> list[dict[str, Any]]:
    return [normalise_network(o) for o in load_objects(text)]


def parse_endpoints(text: str) -> list[dict[str, Any]]:
    return [normalise_endpoint(o) for o in load_objects(text)]


def parse_load_balancers(text: str) -> list[dict[str, Any]]:
    return [normalise_load_balancer(o) for o in load_objects(text)]


def parse_policy_lists(text: str) -> list[dict[str, Any]]:
    """V1 policy lists; a V2-shaped file (LoadBalancer objects) is read as such."""
    out = []
    for o in load_objects(text):
        if schema_of(o) == "V2" and get_ci(o, "PortMappings") is not None:
            lb = normalise_load_balancer(o)
            out.append({**lb, "is_load_balancer": True})
        else:
            out.append(normalise_policy_list(o))
    return out


def summarize_load_balancers(lbs: list[dict[str, Any]]) -> dict[str, int]:
    """{total, dsr, non_dsr} over normalised load balancers or V1 policy lists."""
    balancers = [lb for lb in lbs if lb.get("is_load_balancer", True)]
    dsr = sum(1 for lb in balancers if lb.get("dsr"))
    return {"total": len(balancers), "dsr": dsr, "non_dsr": len(balancers) - dsr}


# -- registration (analyzer/parsers/__init__.py) -------------------------------------------
from k8s_bundle.analyzer.parsers import parser  # noqa: E402
from k8s_bundle.bundle.specs import S  # noqa: E402


@parser(S.hns_schema, fact="windows.hns.schema")
def _schema(text: str) -> str:
    return parse_schema(text)


@parser(S.hns_networks, fact="windows.hns.networks")
def _networks(text: str) -> list[dict[str, Any]]:
    return parse_networks(text)


@parser(S.hns_endpoints, fact="windows.hns.endpoints")
def _endpoints(text: str) -> list[dict[str, Any]]:
    return parse_endpoints(text)


@parser(S.hns_loadbalancers, fact="windows.hns.load_balancers")
def _load_balancers(text: str) -> list[dict[str, Any]]:
    return parse_load_balancers(text)


@parser(S.hns_policylists, fact="windows.hns.policy_lists")
def _policy_lists(text: str) -> list[dict[str, Any]]:
    return parse_policy_lists(text)


@parser(S.hns_namespaces, fact="windows.hns.namespaces")
def _namespaces(text: str) -> int:
    return len(load_objects(text))
