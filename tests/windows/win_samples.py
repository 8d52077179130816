"""Recorded-style Windows outputs shared by the Windows tests (built from the documented
formats: netsh as it prints on English and German Windows, ConvertTo-Json of HNS objects in
the V1 and V2 schema, the port reservation test's sentences)."""
from __future__ import annotations

import json
from pathlib import Path

NETSH_DYNAMIC_TCP_EN = """
Protocol tcp Dynamic Port Range
---------------------------------
Start Port      : 49152
Number of Ports : 16384

"""

NETSH_DYNAMIC_TCP_DE = """
Protokoll tcp Dynamischer Portbereich
---------------------------------
Startport       : 49152
Anzahl der Ports: 16384

"""

# Chinese Windows uses a full-width colon in some builds.
NETSH_DYNAMIC_TCP_ZH = """
协议 tcp 动态端口范围
---------------------------------
启动端口        ：10000
端口数          ：5000
"""

NETSH_EXCLUDED_TCP_EN = """
Protocol tcp Port Exclusion Ranges

Start Port    End Port
----------    --------
      5357        5357
     49700       50211
     50212       50723
     50000       50059     *

* - Administered port exclusions.

"""

NETSH_EXCLUDED_TCP_DE_EMPTY = """
Protokoll tcp Portausschlussbereiche

Startport    Endport
----------    --------

* - Verwaltete Portausschlüsse.

"""

RESERVED_OLD_OK = "Successfully reserved 10 ranges of 64 ports\n"
RESERVED_OLD_FAIL = "Couldn't reserve more than 3 ranges of 64 ports\n"
RESERVED_CURRENT_FAIL = (
    "Rough estimation of the ephemeral port availability: up to 2 allocations of 64 contiguous "
    "TCP ports may be possible\nCouldn't reserve more than 2 ranges of 64 ports\n"
)
RESERVED_CURRENT_NONE = (
    "ERROR: Running out of ephemeral ports. The ephemeral ports range doesn't have enough "
    "resources to allow allocating 64 contiguous TCP ports.\n"
    "Couldn't reserve more than 0 ranges of 64 ports\n"
)


def utf16_bom(text: str) -> bytes:
    """What Windows PowerShell 5.1 writes for `>`: UTF-16LE with BOM and CRLF."""
    return b"\xff\xfe" + text.replace("\n", "\r\n").encode("utf-16-le")


def utf8_crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


def hns_network_v1(name: str = "cbr0", prefix: str = "10.244.4.0/24", type_: str = "L2Bridge") -> dict:
    return {"ActivityId": "B8A3D1A1-0000-4000-8000-000000000001", "CurrentEndpointCount": 3,
            "Extensions": [{"Id": "E7C3B2F0-F3C5-48DF-AF2B-10FED6D72E7A", "IsEnabled": False}],
            "ID": "3A5C1D9E-1111-4000-8000-00000000CB00", "LayeredOn": "A1B2", "ManagementIP": "10.127.130.5",
            "Name": name, "Policies": [], "State": 1,
            "Subnets": [{"AddressPrefix": prefix, "GatewayAddress": prefix.replace(".0/24", ".1")}],
            "TotalEndpoints": 3, "Type": type_, "Version": 38654705666}


def hns_network_v2(name: str = "vxlan0", prefix: str = "10.244.4.0/24", vxlan_port: int | None = 4789) -> dict:
    policies = []
    if vxlan_port is not None:
        policies.append({"Type": "VxlanPort", "Settings": {"Port": vxlan_port}})
    return {"ID": "9D1E7B2A-2222-4000-8000-00000000BB00", "Name": name, "Type": "Overlay", "Flags": 8,
            "Ipams": [{"Type": "Static", "Subnets": [{"IpAddressPrefix": prefix,
                                                       "Routes": [{"NextHop": "10.244.4.1", "DestinationPrefix": "0.0.0.0/0"}]}]}],
            "MacPool": {"Ranges": [{"StartMacAddress": "00-15-5D-52-C0-00", "EndMacAddress": "00-15-5D-52-CF-FF"}]},
            "Policies": policies, "SchemaVersion": {"Major": 2, "Minor": 0}, "State": 1}


def hns_lb_v2(i: int, dsr: bool = False) -> dict:
    return {"ID": f"5E3A{i:04X}-3333-4000-8000-000000000000", "HostComputeEndpoints": [f"EP{i}", f"EP{i+1}"],
            "SourceVIP": "10.244.4.2", "FrontendVIPs": [f"10.96.{i // 250}.{i % 250 + 1}"],
            "PortMappings": [{"Protocol": 6, "InternalPort": 8080, "ExternalPort": 80, "Flags": 0}],
            "Flags": 1 if dsr else 0, "SchemaVersion": {"Major": 2, "Minor": 0}}


def hns_policylist_v1(i: int, dsr: bool = False) -> dict:
    elb = {"Type": "ELB", "Protocol": 6, "InternalPort": 8080, "ExternalPort": 80,
           "VIPs": [f"10.96.{i // 250}.{i % 250 + 1}"], "ILB": False}
    doc = {"ID": f"7F2B{i:04X}-4444-4000-8000-000000000000", "Policies": [elb],
           "References": [f"/endpoints/EP{i}"]}
    if dsr:
        doc["IsDSR"] = True
    return doc


def hns_endpoint_v1(i: int, remote: bool = False) -> dict:
    return {"ID": f"AE00{i:04X}-5555-4000-8000-000000000000", "Name": f"Ethernet{i}",
            "IPAddress": f"10.244.4.{i + 10}", "MacAddress": f"00-15-5D-00-00-{i:02X}",
            "VirtualNetwork": "3A5C1D9E-1111-4000-8000-00000000CB00", "VirtualNetworkName": "cbr0",
            "IsRemoteEndpoint": remote, "State": 3, "SharedContainers": []}


def hns_endpoint_v2(i: int, remote: bool = False) -> dict:
    return {"ID": f"BE00{i:04X}-6666-4000-8000-000000000000", "Name": f"ep{i}",
            "HostComputeNetwork": "9D1E7B2A-2222-4000-8000-00000000BB00",
            "IpConfigurations": [{"IpAddress": f"10.244.4.{i + 10}", "PrefixLength": 24}],
            "MacAddress": f"00-15-5D-00-00-{i:02X}", "Flags": 1 if remote else 0,
            "SchemaVersion": {"Major": 2, "Minor": 0}, "State": 2}


def to_json(objs: list[dict]) -> str:
    """ConvertTo-Json's shapes: one object for one item, an array for several."""
    if len(objs) == 1:
        return json.dumps(objs[0], indent=4)
    return json.dumps(objs, indent=4)


def windows_rules():
    """The Windows rule pack (rules/windows), loaded and validated like any rules dir."""
    from k8s_bundle.analyzer.evaluate import load_rules
    from k8s_bundle.analyzer.rules_load import default_rules_dir

    return load_rules([Path(default_rules_dir()) / "windows"])
