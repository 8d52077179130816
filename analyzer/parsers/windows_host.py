"""Windows host facts: OS build, hotfixes, services and the Kubernetes processes' arguments,
flannel files (subnet.env, SourceVip.json), CNI config (ExceptionList, portMappings), addresses.

Inputs are the collector's PowerShell JSON (docs/bundle-format.md "Windows") and files copied
from C:\\ (stored under files/C/...).
"""
from __future__ import annotations

import json
import re
from typing import Any

from k8s_bundle.analyzer.parsers.windows_common import (
    as_list, get_ci, json_items, network_of, parse_flags, ps_date,
)

# Windows Server / client releases by build: the pause image's tag names the release it was
# built for, and process-isolated containers must match the host's build.
RELEASE_BUILDS = {
    "1809": 17763, "ltsc2019": 17763, "1903": 18362, "1909": 18363, "2004": 19041,
    "20h2": 19042, "ltsc2022": 20348, "2022": 20348, "23h2": 25398, "ltsc2025": 26100,
}
_BUILD_IN_TAG = re.compile(r"10\.0\.(\d{5})")

KUBE_SERVICES = ("kubelet", "kubeproxy", "kube-proxy", "flanneld", "containerd", "docker",
                 "hns", "vfpext", "csi-proxy")


def parse_os(text: str) -> dict[str, Any]:
    """os.json: Win32_OperatingSystem plus the registry's CurrentVersion (UBR, DisplayVersion)."""
    items = json_items(text)
    if not items:
        raise ValueError("empty os.json")
    o = items[0]
    version = str(get_ci(o, "Version", default="") or "")
    build = get_ci(o, "BuildNumber", "CurrentBuild", "CurrentBuildNumber")
    try:
        build_num = int(build) if build is not None else int(version.split(".")[2])
    except (ValueError, IndexError):
        build_num = None
    ubr = get_ci(o, "UBR")
    ubr_num = int(ubr) if ubr not in (None, "") else None
    full = f"10.0.{build_num}.{ubr_num}" if build_num and ubr_num is not None else (version or None)
    return {
        "caption": get_ci(o, "Caption", "ProductName"),
        "edition": get_ci(o, "EditionID", "OperatingSystemSKU"),
        "release": get_ci(o, "DisplayVersion", "ReleaseId"),
        "build": build_num,
        "ubr": ubr_num,
        "version_full": full,
        "installation_type": get_ci(o, "InstallationType"),
        "last_boot": ps_date(get_ci(o, "LastBootUpTime")),
        # Win32_ComputerSystem: the hypervisor shows here (VMware's VXLAN port clash)
        "manufacturer": get_ci(o, "Manufacturer"),
        "model": get_ci(o, "Model"),
    }


def parse_hotfixes(text: str) -> list[str]:
    """Get-HotFix as JSON -> sorted KB ids ("KB4571748")."""
    kbs = set()
    for h in json_items(text):
        hid = str(get_ci(h, "HotFixID", default="") or "").strip().upper()
        if re.fullmatch(r"KB\d+", hid):
            kbs.add(hid)
    return sorted(kbs)


def parse_hotfixes_text(text: str) -> list[str]:
    """collectlogs' winver.txt (Get-HotFix as a table): the KB ids anywhere in it."""
    return sorted(set(m.upper() for m in re.findall(r"\bKB\d{6,7}\b", text, re.IGNORECASE)))


def parse_services(text: str) -> list[dict[str, Any]]:
    """services.json -> [{name, state, start_mode, wrapper, path, command_line, args}].

    `command_line` is what actually runs: the process' command line when it is running, the
    nssm Application + AppParameters for nssm-wrapped services, else the service's PathName.
    """
    out = []
    for s in json_items(text):
        name = str(get_ci(s, "Name", default="") or "")
        path = get_ci(s, "PathName", "BinaryPathName") or ""
        app = get_ci(s, "Application")
        app_params = get_ci(s, "AppParameters") or ""
        process_cmd = get_ci(s, "CommandLine")
        wrapper = get_ci(s, "Wrapper") or ("nssm" if "nssm" in str(path).lower() else "native")
        if process_cmd:
            command_line = str(process_cmd)
        elif app:
            command_line = f"{app} {app_params}".strip()
        else:
            command_line = str(path)
        if wrapper == "nssm" and app and "nssm" in command_line.lower():
            command_line = f"{app} {app_params}".strip()
        out.append({
            "name": name,
            "display_name": get_ci(s, "DisplayName"),
            "state": get_ci(s, "State", "Status"),
            "start_mode": get_ci(s, "StartMode", "StartType"),
            "wrapper": wrapper,
            "path": path,
            "command_line": command_line,
            "args": parse_flags(command_line),
        })
    return out


def _service(services: list[dict[str, Any]], *names: str) -> dict[str, Any] | None:
    for want in names:
        for s in services:
            if s["name"].lower() == want:
                return s
    return None


def truthy(value: str | None) -> bool:
    return str(value).lower() in ("true", "1", "yes")


def kube_proxy_facts(services: list[dict[str, Any]]) -> dict[str, Any]:
    """kube-proxy's arguments as they matter on Windows: DSR and --hostname-override."""
    s = _service(services, "kubeproxy", "kube-proxy")
    if s is None:
        return {"present": False}
    args = s["args"]
    gates = feature_gates(args.get("feature-gates", ""))
    dsr = truthy(args.get("enable-dsr")) and gates.get("WinDSR", False)
    return {
        "present": True,
        "state": s["state"],
        "args": args,
        "dsr": dsr,
        "enable_dsr_flag": truthy(args.get("enable-dsr")),
        "feature_gates": gates,
        "hostname_override": args.get("hostname-override"),
        "proxy_mode": args.get("proxy-mode"),
        "cluster_cidr": args.get("cluster-cidr"),
        "source_vip": args.get("source-vip"),
        "network_name": args.get("network-name"),
    }


def kubelet_facts(services: list[dict[str, Any]]) -> dict[str, Any]:
    s = _service(services, "kubelet")
    if s is None:
        return {"present": False}
    args = s["args"]
    pause = args.get("pod-infra-container-image")
    return {
        "present": True,
        "state": s["state"],
        "args": args,
        "pause_image": pause,
        "pause_image_build": image_build(pause) if pause else None,
        "hostname_override": args.get("hostname-override"),
        "kubeconfig": args.get("kubeconfig"),
    }


def feature_gates(text: str) -> dict[str, bool]:
    gates = {}
    for part in text.split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            gates[k.strip()] = truthy(v.strip())
    return gates


def image_build(image: str) -> int | None:
    """The Windows build a (pause) image tag names: `...:1809`, `...-ltsc2022`, `10.0.17763.x`."""
    tag = image.rsplit("/", 1)[-1].lower()
    m = _BUILD_IN_TAG.search(tag)
    if m:
        return int(m.group(1))
    tag_part = tag.split(":", 1)[1] if ":" in tag else ""
    for release, build in RELEASE_BUILDS.items():
        if re.search(rf"(^|[-_.]){re.escape(release)}($|[-_.])", tag_part):
            return build
    return None


def parse_kube_services(text: str) -> dict[str, Any]:
    """services.json -> {kube_proxy, kubelet, flanneld, services: [...]} (the windows facts
    derived from the service table)."""
    services = parse_services(text)
    flannel = _service(services, "flanneld")
    return {
        "services": services,
        "kube_proxy": kube_proxy_facts(services),
        "kubelet": kubelet_facts(services),
        "flanneld": {"present": flannel is not None, "state": flannel["state"] if flannel else None,
                     "args": flannel["args"] if flannel else {}},
    }


def parse_pause_images(text: str) -> list[dict[str, Any]]:
    """windows/pause-images.json: [{tags, os_version, build}] from `crictl inspecti`."""
    out = []
    for img in json_items(text):
        version = get_ci(img, "OSVersion")
        m = _BUILD_IN_TAG.search(str(version or ""))
        tags = [str(t) for t in as_list(get_ci(img, "RepoTags"))]
        out.append({"tags": tags, "os": get_ci(img, "OS"), "os_version": version,
                    "build": int(m.group(1)) if m else (image_build(tags[0]) if tags else None)})
    return out


def parse_env_file(text: str) -> dict[str, Any]:
    """subnet.env (KEY=VALUE lines) plus `subnet_network` computed from FLANNEL_SUBNET."""
    values: dict[str, Any] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            values[k.strip()] = v.strip().strip('"')
    if not values:
        raise ValueError("no KEY=VALUE lines")
    if "FLANNEL_SUBNET" in values:
        values["subnet_network"] = network_of(values["FLANNEL_SUBNET"])
    return values


def parse_source_vip(text: str) -> dict[str, Any]:
    """C:\\k\\SourceVip.json (host-local IPAM result) -> {ip, network}."""
    doc = json.loads(text)
    ip4 = get_ci(doc, "ip4")
    ip = get_ci(ip4, "ip") if isinstance(ip4, dict) else None
    if ip is None:
        for entry in as_list(get_ci(doc, "ips")):
            ip = get_ci(entry, "address")
            if ip:
                break
    if ip is None:
        raise ValueError("no ip4.ip / ips[].address in SourceVip.json")
    return {"ip": str(ip).split("/")[0], "cidr": str(ip), "network": network_of(str(ip))}


def parse_source_vip_request(text: str) -> dict[str, Any]:
    doc = json.loads(text)
    ipam = get_ci(doc, "ipam", default={}) or {}
    subnet = get_ci(ipam, "subnet")
    if subnet is None:
        for rng in as_list(get_ci(ipam, "ranges")):
            for r in as_list(rng):
                subnet = get_ci(r, "subnet")
                if subnet:
                    break
    return {"subnet": subnet, "network": network_of(subnet) if subnet else None,
            "name": get_ci(doc, "name")}


def parse_cni_conf(text: str, path: str = "") -> dict[str, Any]:
    """A Windows CNI config (flannel delegating to win-bridge/win-overlay, or sdnbridge):
    name, types, whether portMappings is a capability, the OutBoundNAT ExceptionList."""
    doc = json.loads(text)
    plugins = as_list(get_ci(doc, "plugins")) or [doc]
    types: list[str] = []
    port_mappings = False
    exceptions: list[str] = []
    routes: list[str] = []
    outbound_nat = False

    def visit(conf: dict[str, Any]) -> None:
        nonlocal port_mappings, outbound_nat
        t = get_ci(conf, "type")
        if t:
            types.append(str(t))
        caps = get_ci(conf, "capabilities", default={}) or {}
        if get_ci(caps, "portMappings") is True:
            port_mappings = True
        for pol in as_list(get_ci(conf, "policies", "AdditionalArgs")):
            value = get_ci(pol, "Value", default=pol) or {}
            ptype = str(get_ci(value, "Type", default="")).lower()
            settings = get_ci(value, "Settings", default=value) or {}
            if ptype == "outboundnat":
                outbound_nat = True
                exceptions.extend(str(e) for e in as_list(get_ci(settings, "ExceptionList", "Exceptions")))
            elif ptype in ("route", "sdnroute"):
                dest = get_ci(settings, "DestinationPrefix")
                if dest:
                    routes.append(str(dest))
        delegate = get_ci(conf, "delegate")
        if isinstance(delegate, dict):
            visit(delegate)

    for p in plugins:
        if isinstance(p, dict):
            visit(p)
    return {
        "path": path,
        "name": get_ci(doc, "name"),
        "cni_version": get_ci(doc, "cniVersion"),
        "types": types,
        "port_mappings": port_mappings,
        "outbound_nat": outbound_nat,
        "exception_list": exceptions,
        "routes": routes,
    }


def parse_ip_addresses(text: str) -> list[dict[str, Any]]:
    """Get-NetIPAddress as JSON -> [{interface, address, prefix_length, network, family}]."""
    out = []
    for a in json_items(text):
        addr = get_ci(a, "IPAddress")
        plen = get_ci(a, "PrefixLength")
        if not addr:
            continue
        family = get_ci(a, "AddressFamily")
        out.append({
            "interface": get_ci(a, "InterfaceAlias"),
            "address": addr,
            "prefix_length": plen,
            "network": network_of(str(addr), int(plen)) if plen is not None else None,
            "family": "ipv6" if (family in (23, "IPv6") or ":" in str(addr)) else "ipv4",
        })
    return out


def parse_net_adapters(text: str) -> list[dict[str, Any]]:
    """Get-NetAdapter -IncludeHidden as JSON -> [{name, description, status, mac, vethernet}]."""
    out = []
    for a in json_items(text):
        name = str(get_ci(a, "Name", default="") or "")
        out.append({
            "name": name,
            "description": get_ci(a, "InterfaceDescription"),
            "status": get_ci(a, "Status"),
            "mac": get_ci(a, "MacAddress"),
            "if_index": get_ci(a, "ifIndex", "InterfaceIndex"),
            "vethernet": name.lower().startswith("vethernet"),
        })
    return out


def parse_volumes(text: str) -> list[dict[str, Any]]:
    """volumes.json (Win32_LogicalDisk, local disks) -> [{drive, filesystem, size_bytes,
    free_bytes, free_pct}]: a full C: stops image pulls and container layers."""
    out = []
    for v in json_items(text):
        size = get_ci(v, "Size")
        free = get_ci(v, "FreeSpace")
        try:
            size_i = int(size) if size is not None else None
            free_i = int(free) if free is not None else None
        except (TypeError, ValueError):
            size_i = free_i = None
        pct = round(100.0 * free_i / size_i, 2) if size_i and free_i is not None else None
        out.append({"drive": str(get_ci(v, "DeviceID", default="") or ""), "filesystem": get_ci(v, "FileSystem"),
                    "size_bytes": size_i, "free_bytes": free_i, "free_pct": pct})
    return out


def parse_versions(text: str) -> dict[str, Any]:
    """windows/versions.json: {component: version string or null} as the collector found them."""
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise ValueError("versions.json is not an object")
    return {str(k): (str(v) if v is not None else None) for k, v in doc.items()}


def version_tuple(text: str | None) -> list[int]:
    """'v0.11.0' -> [0, 11, 0]; unknown -> []."""
    if not text:
        return []
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not m:
        return []
    return [int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)]


# -- registration (analyzer/parsers/__init__.py) -------------------------------------------
from k8s_bundle.analyzer.parsers import parser  # noqa: E402
from k8s_bundle.bundle.specs import S  # noqa: E402


@parser(S.win_os, fact="windows.os")
def _os(text: str) -> dict[str, Any]:
    return parse_os(text)


@parser(S.win_hotfixes, fact="windows.hotfixes")
def _hotfixes(text: str) -> list[str]:
    return parse_hotfixes(text)


@parser(S.win_services, fact=("windows.services", "windows.kube_proxy", "windows.kubelet", "windows.flanneld"))
def _services(text: str) -> dict[str, Any]:
    """The service list and the three Kubernetes services looked up in it."""
    kube = parse_kube_services(text)
    return {"windows.services": kube["services"], "windows.kube_proxy": kube["kube_proxy"],
            "windows.kubelet": kube["kubelet"], "windows.flanneld": kube["flanneld"]}


@parser(S.win_flannel_subnet, fact="windows.flannel_subnet")
def _subnet_env(text: str) -> dict[str, Any]:
    return parse_env_file(text)


@parser(S.source_vip, fact="windows.source_vip")
def _source_vip(text: str) -> dict[str, Any]:
    return parse_source_vip(text)


@parser(S.source_vip_request, fact="windows.source_vip_request")
def _source_vip_request(text: str) -> dict[str, Any]:
    return parse_source_vip_request(text)


@parser(S.win_cni, S.win_cni_other_places, fact="windows.cni", merge="list")
def _cni(text: str, path: str) -> dict[str, Any]:
    return parse_cni_conf(text, path)


@parser(S.win_netipaddress, fact="windows.ip_addresses")
def _ip_addresses(text: str) -> list[dict[str, Any]]:
    return parse_ip_addresses(text)


@parser(S.win_netadapters, fact="windows.adapters")
def _adapters(text: str) -> list[dict[str, Any]]:
    return parse_net_adapters(text)


@parser(S.win_volumes, fact="windows.volumes")
def _volumes(text: str) -> list[dict[str, Any]]:
    return parse_volumes(text)


@parser(S.win_versions, fact="windows.versions")
def _versions(text: str) -> dict[str, Any]:
    return parse_versions(text)


@parser(S.pause_images, fact="windows.pause_images")
def _pause_images(text: str) -> list[dict[str, Any]]:
    return parse_pause_images(text)


@parser(S.win_containerd_config, fact="windows.containerd_sandbox_image")
def _sandbox_image(text: str) -> dict[str, Any]:
    import tomllib

    doc = tomllib.loads(text)
    cri = doc.get("plugins", {}).get("io.containerd.grpc.v1.cri", {})
    image = cri.get("sandbox_image") or cri.get("sandbox", {}).get("sandbox_image")
    if not image:
        # containerd 2.x: [plugins."io.containerd.cri.v1.images".pinned_images] sandbox = ...
        image = doc.get("plugins", {}).get("io.containerd.cri.v1.images", {}).get("pinned_images", {}).get("sandbox")
    return {"image": image, "build": image_build(image) if image else None}
