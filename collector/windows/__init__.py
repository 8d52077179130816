"""The Windows catalogue: what a Windows node gives the bundle (docs/windows.md).

Same engine, same item types as Linux. Node paths are written POSIX-style with the drive as the
first segment (`/C/k/config` is `C:\\k\\config`) so that files land under `files/C/k/config` and
`logs/C/k/kubelet.log` as docs/bundle-format.md says; the Windows transports translate them.
PowerShell items run the scripts in collector/windows/scripts/ (package data), each with
collector/windows/scripts/prelude.ps1 in front and its parameters set as variables.
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

from k8s_bundle.bundle.specs import S, Spec
from k8s_bundle.collector.context import Context
from k8s_bundle.collector.items import DerivedItem, FileItem, GlobItem, Item, PowerShellItem, command

AREAS = ("hns", "ports", "network", "services", "os", "files", "logs", "runtime", "eventlog")

# Event logs gathered as JSON lines (logs/eventlog/<name>.jsonl).
EVENT_LOGS = (
    "System", "Application",
    "Microsoft-Windows-Host-Network-Service-Admin", "Microsoft-Windows-Host-Network-Service-Operational",
    "Microsoft-Windows-Hyper-V-Compute-Admin", "Microsoft-Windows-Hyper-V-Compute-Operational",
)
EVENT_LOG_CAP = 256 * 1024 * 1024   # a busy System log is large; the newest part is kept
LOG_CAP = 64 * 1024 * 1024


@lru_cache(maxsize=None)
def script_text(name: str) -> str:
    return resources.files("k8s_bundle.collector.windows").joinpath("scripts", f"{name}.ps1").read_text("utf-8")


def ps_literal(value: Any) -> str:
    """A PowerShell literal: single-quoted string (quotes doubled), number or $true/$false."""
    if isinstance(value, bool):
        return "$true" if value else "$false"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def script(name: str, **params: Any) -> str:
    """The prelude, the parameters as variables, then the script body."""
    lines = [script_text("prelude")]
    lines += [f"${key} = {ps_literal(val)}" for key, val in params.items()]
    lines.append(script_text(name))
    return "\n".join(lines)


def ps(id_: str, area: str, spec: Spec, name: str, *, path: str = "", cap: int | None = None,
       timeout: float | None = None, **params: Any) -> PowerShellItem:
    """The item running script `name` into `spec` (its one path, or `path` inside its glob)."""
    return PowerShellItem(id_, area, script=script(name, **params), spec=spec, path=path, cap=cap, timeout=timeout)


def _hns(ctx: Context) -> list[Item]:
    area = "hns"
    items: list[Item] = [ps("hns-schema", area, S.hns_schema, "hcn", Kind="schema", timeout=60)]
    for kind, spec in (("networks", S.hns_networks), ("endpoints", S.hns_endpoints),
                       ("loadbalancers", S.hns_loadbalancers), ("namespaces", S.hns_namespaces)):
        items.append(ps(spec.windows[0], area, spec, "hcn", Kind=kind, timeout=60))
    items.append(ps("hns-policylists", area, S.hns_policylists, "policylists", timeout=60))
    items.append(ps("hnsdiag", area, S.hnsdiag, "hnsdiag", timeout=60))
    return items


def _ports(ctx: Context) -> list[Item]:
    area = "ports"
    items: list[Item] = []
    for what, proto, spec in (("dynamicportrange", "tcp", S.dynamic_ports_tcp),
                              ("dynamicportrange", "udp", S.dynamic_ports_udp),
                              ("excludedportrange", "tcp", S.excluded_ports_tcp),
                              ("excludedportrange", "udp", S.excluded_ports_udp)):
        items.append(ps(f"{what}-{proto}", area, spec, "netsh", What=what, Protocol=proto))
    items.append(ps("reservedports", area, S.reserved_ports, "reservation", timeout=60))
    items.append(ps("tcp-connections", area, S.tcp_connections, "tcpconnections", timeout=60))
    return items


def _network(ctx: Context) -> list[Item]:
    area = "network"
    table = ((S.win_netadapters, "adapters"), (S.win_netipaddress, "ipaddress"), (S.win_netroute, "route"),
             (S.win_firewall, "firewall"), (S.win_ipconfig, "ipconfig"), (S.win_route_print, "routeprint"))
    return [ps(spec.windows[0], area, spec, "network", What=what) for spec, what in table]


def _services_os(ctx: Context) -> list[Item]:
    return [
        ps("win-services", "services", S.win_services, "services", timeout=60),
        ps("win-versions", "services", S.win_versions, "versions", timeout=60),
        ps("win-os", "os", S.win_os, "os"),
        ps("win-hotfixes", "os", S.win_hotfixes, "hotfixes", timeout=60),
        ps("win-volumes", "os", S.win_volumes, "network", What="volumes"),
        DerivedItem("node", "os", spec=S.node_json, func=node_json, late=True,
                    source="os.ps1 + versions.ps1"),
    ]


def _files(ctx: Context) -> list[Item]:
    area = "files"
    return [
        FileItem("kubeconfig-c-k-config", area, spec=S.kubeconfigs, path="/C/k/config"),
        GlobItem("kubeconfigs", area, spec=S.kubeconfigs, patterns=("/C/k/*.conf", "/C/k/*kubeconfig*", "/C/etc/kubernetes/*.conf",
                                                "/C/var/lib/kubelet/*kubeconfig*", "/C/Users/*/.kube/config")),
        GlobItem("cni-config", area, spec=S.win_cni, patterns=("/C/k/cni/config/*", "/C/etc/cni/net.d/*",
                                               "/C/ProgramData/containerd/cni/conf/*",
                                               "/C/Program Files/containerd/cni/conf/*")),
        FileItem("flannel-subnet-env", area, spec=S.win_flannel_subnet, path="/C/run/flannel/subnet.env"),
        FileItem("source-vip", area, spec=S.source_vip, path="/C/k/SourceVip.json"),
        FileItem("source-vip-request", area, spec=S.source_vip_request, path="/C/k/SourceVipRequest.json"),
        GlobItem("flannel-net-conf", area, spec=S.win_files, patterns=("/C/etc/kube-flannel/net-conf.json", "/C/k/flannel/net-conf.json")),
        FileItem("containerd-config", area, spec=S.win_containerd_config, path="/C/Program Files/containerd/config.toml"),
        FileItem("containerd-config-pd", area, spec=S.win_containerd_config, path="/C/ProgramData/containerd/config.toml"),
        GlobItem("kubelet-config", area, spec=(S.kubelet_config, S.win_files), patterns=("/C/var/lib/kubelet/config.yaml", "/C/var/lib/kubelet/kubeadm-flags.env",
                                                   "/C/etc/kubernetes/kubelet-config.yaml")),
        # The start scripts hold the kubelet / kube-proxy / flanneld arguments.
        GlobItem("start-scripts", area, spec=S.win_files, patterns=("/C/k/*.ps1", "/C/k/*.cmd", "/C/k/*.bat", "/C/flannel/*.ps1")),
    ]


def _logs(ctx: Context) -> list[Item]:
    area = "logs"
    return [
        GlobItem("c-k-logs", area, spec=S.windows_logs, patterns=("/C/k/*.log", "/C/k/logs/*.log", "/C/k/logs/*/*.log"),
                 dest="logs", tail=True, per_file_cap=LOG_CAP, total_cap=4 * LOG_CAP),
        # klog's --log_dir files have no .log suffix (kubelet.exe.HOST.USER.log.INFO.20261122-105800.4212)
        GlobItem("var-log", area, spec=S.windows_logs, patterns=("/C/var/log/kubelet/*", "/C/var/log/kube-proxy/*",
                                            "/C/var/log/flanneld/*", "/C/var/log/containerd/*",
                                            "/C/ProgramData/containerd/*.log", "/C/etc/kubernetes/logs/*",
                                            # containerd's panic log; rke2's kubelet log on Windows
                                            "/C/ProgramData/containerd/root/panic.log",
                                            "/C/var/lib/rancher/rke2/agent/logs/*.log",
                                            "/C/CalicoWindows/logs/*.log"),
                 dest="logs", tail=True, per_file_cap=LOG_CAP, total_cap=4 * LOG_CAP),
        GlobItem("pod-logs", area, spec=S.pod_logs, patterns=("/C/var/log/pods/*/*/*.log",), dest="logs", tail=True,
                 per_file_cap=1024 * 1024, total_cap=LOG_CAP, max_files=300),
    ]


def _runtime(ctx: Context) -> list[Item]:
    c = command
    area = "runtime"
    return [
        c(S.crictl_ps, area, argv=("crictl", "ps", "-a", "-o", "json")),
        c(S.crictl_pods, area, argv=("crictl", "pods", "-o", "json")),
        c(S.crictl_images, area, argv=("crictl", "images", "-o", "json")),
        c(S.crictl_info, area, argv=("crictl", "info", "-o", "json")),
        c(S.crictl_version, area, argv=("crictl", "version", "-o", "json")),
        c(S.containerd_version, area, argv=("containerd", "--version")),
        c(S.docker_version, area, argv=("docker", "version")),
        c(S.docker_info, area, argv=("docker", "info", "--format", "{{json .}}")),
        c(S.docker_ps, area, argv=("docker", "ps", "-a", "--no-trunc")),
        ps("pause-images", area, S.pause_images, "pauseimages", timeout=60),
    ]


def _eventlogs(ctx: Context) -> list[Item]:
    seconds = int(ctx.shared.get("since_seconds") or 72 * 3600)
    return [ps(f"eventlog-{name}", "eventlog", S.eventlog, "eventlog", path=f"logs/eventlog/{name}.jsonl",
               cap=EVENT_LOG_CAP, timeout=600, LogName=name, Seconds=seconds)
            for name in EVENT_LOGS]


def catalogue(ctx: Context) -> list[Item]:
    out: list[Item] = []
    for part in (_hns, _ports, _network, _services_os, _files, _logs, _runtime, _eventlogs):
        out.extend(part(ctx))
    return out


# -- node.json --------------------------------------------------------------------------------
def _ps_json(ctx: Context, name: str) -> Any:
    import json

    from k8s_bundle.collector.transports.base import NotSupported

    try:
        stream = ctx.transport.run_powershell(script(name), timeout=ctx.timeout * 6, cap=1 << 20, stop=ctx.stop)
        text = b"".join(stream).decode("utf-8", "replace").strip().lstrip("\ufeff")
        return json.loads(text) if text else None
    except (NotSupported, ValueError, OSError):
        return None


def node_json(ctx: Context) -> dict[str, Any]:
    """node.json for a Windows node (docs/bundle-format.md: os windows, distro the edition,
    versions.os_build the full build)."""
    os_info = _ps_json(ctx, "os") or {}
    versions = _ps_json(ctx, "versions") or {}
    build = os_info.get("BuildNumber")
    ubr = os_info.get("UBR")
    os_build = f"10.0.{build}.{ubr}" if build and ubr is not None else os_info.get("Version")
    hostname = os_info.get("CsName") or ctx.node
    ctx.shared["timezone"] = {"timezone": os_info.get("TimeZone"), "utc_offset_seconds": os_info.get("UtcOffsetSeconds")}
    runtime = "containerd" if versions.get("containerd") else ("docker" if versions.get("docker") else None)
    return {
        "name": ctx.node, "hostname": hostname, "os": "windows", "distro": os_info.get("Caption"),
        "kernel": os_build, "arch": os_info.get("OSArchitecture"),
        "uptime_seconds": os_info.get("UptimeSeconds"), "boot_time": os_info.get("LastBootUpTime"),
        "timezone": os_info.get("TimeZone"), "utc_offset_seconds": os_info.get("UtcOffsetSeconds"),
        "cpus": os_info.get("NumberOfLogicalProcessors"), "memory_bytes": os_info.get("TotalPhysicalMemory"),
        "versions": {"kubelet": versions.get("kubelet"), "kube-proxy": versions.get("kube-proxy"),
                     "containerd": versions.get("containerd"), "docker": versions.get("docker"),
                     "flanneld": versions.get("flanneld"), "os_build": os_build},
        "roles": ["worker"], "runtime": runtime, "init": "windows-service",
        "powershell": os_info.get("PowerShellVersion"),
    }
