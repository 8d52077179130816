"""System area: OS, kernel, memory, disks, mounts, sysctl, security modules, time, systemd
units, kernel config flags, the process table and node.json."""
from __future__ import annotations

import datetime as dt
import gzip
import re
from typing import Any

from k8s_bundle.bundle.specs import S
from k8s_bundle.collector.context import Context
from k8s_bundle.collector.items import CommandItem, DerivedItem, FileItem, GlobItem, Item, command

AREA = "system"

# The units whose status the analyzer reads (systemctl-status-<unit>, systemctl-show-<unit>).
K8S_UNITS = ("kubelet", "containerd", "docker", "cri-docker", "crio", "kube-proxy", "etcd",
             "kube-apiserver", "kube-controller-manager", "kube-scheduler", "flanneld", "k3s",
             "k3s-agent", "rke2-server", "rke2-agent", "snap.microk8s.daemon-kubelite",
             "snap.microk8s.daemon-containerd", "chronyd", "chrony",
             "systemd-timesyncd", "ntp", "systemd-resolved", "firewalld", "ufw", "apparmor")

# Kernel options Kubernetes, container runtimes and CNI plugins rely on (docker's and
# kubeadm's system verification lists, plus ipvs/conntrack for kube-proxy).
KERNEL_FLAGS = (
    "NAMESPACES NET_NS PID_NS IPC_NS UTS_NS USER_NS CGROUPS CGROUP_CPUACCT CGROUP_DEVICE "
    "CGROUP_FREEZER CGROUP_PIDS CGROUP_SCHED CGROUP_HUGETLB CGROUP_PERF CGROUP_BPF CGROUP_NET_PRIO "
    "CPUSETS MEMCG MEMCG_SWAP BLK_CGROUP BLK_DEV_THROTTLING CFS_BANDWIDTH FAIR_GROUP_SCHED "
    "RT_GROUP_SCHED KEYS VETH BRIDGE BRIDGE_NETFILTER NETFILTER NETFILTER_ADVANCED "
    "NF_NAT NF_CONNTRACK NF_NAT_IPV4 NF_NAT_NEEDED IP_NF_IPTABLES IP_NF_FILTER IP_NF_NAT "
    "IP_NF_TARGET_MASQUERADE IP_NF_TARGET_REDIRECT IP6_NF_IPTABLES NETFILTER_XT_MATCH_ADDRTYPE "
    "NETFILTER_XT_MATCH_CONNTRACK NETFILTER_XT_MATCH_IPVS NETFILTER_XT_MATCH_COMMENT "
    "NETFILTER_XT_MATCH_MULTIPORT NETFILTER_XT_MATCH_RECENT NETFILTER_XT_MARK NETFILTER_XT_SET "
    "NETFILTER_XT_TARGET_REDIRECT NETFILTER_XT_MATCH_STATISTIC IP_SET IP_SET_HASH_IP "
    "IP_SET_HASH_NET IP_VS IP_VS_NFCT IP_VS_PROTO_TCP IP_VS_PROTO_UDP IP_VS_RR IP_VS_WRR "
    "IP_VS_SH NF_TABLES NFT_COMPAT NFT_NAT NFT_MASQ NFT_CT VXLAN IPVLAN MACVLAN DUMMY "
    "POSIX_MQUEUE OVERLAY_FS EXT4_FS XFS_FS BTRFS_FS SECCOMP SECCOMP_FILTER BPF BPF_SYSCALL "
    "BPF_JIT NET_CLS_BPF NET_SCH_INGRESS CRYPTO_SEHIV SECURITY_APPARMOR SECURITY_SELINUX "
    "INET IPV6 NET_SCHED NET_CLS_CGROUP CGROUP_NET_CLASSID IP_NF_TARGET_REJECT "
    "NETFILTER_XT_TARGET_MASQUERADE NF_CONNTRACK_NETLINK NETFILTER_NETLINK"
).split()


def items(ctx: Context) -> list[Item]:
    c = command
    out: list[Item] = [
        FileItem("os-release", AREA, spec=S.os_release, path="/etc/os-release"),
        FileItem("lsb-release", AREA, spec=S.system_files, path="/etc/lsb-release"),
        FileItem("redhat-release", AREA, spec=S.system_files, path="/etc/redhat-release"),
        FileItem("fstab", AREA, spec=S.system_files, path="/etc/fstab"),
        FileItem("etc-timezone", AREA, spec=S.system_files, path="/etc/timezone"),
        FileItem("etc-hostname", AREA, spec=S.system_files, path="/etc/hostname"),
        FileItem("sysctl-conf", AREA, spec=S.system_files, path="/etc/sysctl.conf"),
        GlobItem("sysctl-d", AREA, spec=S.sysctl_d, patterns=("/etc/sysctl.d/*.conf", "/usr/lib/sysctl.d/*.conf",
                                             "/run/sysctl.d/*.conf")),
        GlobItem("modules-load", AREA, spec=S.modules_load, patterns=("/etc/modules-load.d/*.conf", "/etc/modules")),
        FileItem("selinux-config", AREA, spec=S.system_files, path="/etc/selinux/config"),
        FileItem("limits-conf", AREA, spec=S.system_files, path="/etc/security/limits.conf"),
        c(S.uname, AREA, argv=("uname", "-a")),
        c(S.uptime, AREA, argv=("cat", "/proc/uptime")),
        c(S.cmdline, AREA, argv=("cat", "/proc/cmdline")),
        c(S.swaps, AREA, argv=("cat", "/proc/swaps")),
        c(S.swapon, AREA, argv=("swapon", "--show", "--bytes")),
        c(S.meminfo, AREA, argv=("cat", "/proc/meminfo")),
        c(S.free, AREA, argv=("free", "-b")),
        c(S.loadavg, AREA, argv=("cat", "/proc/loadavg")),
        c(S.pressure, AREA, argv=("cat", "/proc/pressure/cpu", "/proc/pressure/memory",
                                  "/proc/pressure/io")),
        c(S.df, AREA, argv=("df", "-PT", "-B1"), ok_exit_codes=(0, 1)),
        c(S.df_inodes, AREA, argv=("df", "-PTi"), ok_exit_codes=(0, 1)),
        c(S.mounts, AREA, argv=("cat", "/proc/self/mountinfo"), fallbacks=(("mount",),)),
        c(S.findmnt, AREA, argv=("findmnt", "-J")),
        c(S.cgroup, AREA, argv=("stat", "-fc", "%T", "/sys/fs/cgroup")),
        c(S.cgroup_controllers, AREA, argv=("cat", "/proc/cgroups")),
        c(S.lsmod, AREA, argv=("lsmod",)),
        c(S.sysctl, AREA, argv=("sysctl", "-a"), ok_exit_codes=(0, 255)),
        c(S.getenforce, AREA, argv=("getenforce",)),
        c(S.sestatus, AREA, argv=("sestatus",)),
        c(S.apparmor, AREA, argv=("aa-status",), needs_root=True),
        FileItem("apparmor-enabled", AREA, spec=S.system_files, path="/sys/module/apparmor/parameters/enabled"),
        c(S.timedatectl, AREA, argv=("timedatectl", "show")),
        c(S.timesync, AREA, argv=("chronyc", "tracking"),
          fallbacks=(("timedatectl", "timesync-status"), ("ntpq", "-pn"))),
        c(S.date, AREA, argv=("date", "-u", "+%Y-%m-%dT%H:%M:%SZ")),
        c(S.systemctl_failed, AREA, argv=("systemctl", "list-units", "--failed", "--no-legend",
                                          "--no-pager", "--plain")),
        c(S.systemctl_units, AREA, argv=("systemctl", "list-units", "--all", "--no-legend",
                                         "--no-pager", "--plain", "--type=service")),
        c(S.file_nr, AREA, argv=("cat", "/proc/sys/fs/file-nr", "/proc/sys/fs/inode-nr")),
        DerivedItem("kernel-config", AREA, spec=S.kernel_config, func=kernel_config,
                    source="/proc/config.gz or /boot/config-*"),
        DerivedItem("processes", AREA, spec=S.processes, func=processes,
                    live=True, source="psutil"),
        DerivedItem("process-summary", AREA, spec=S.process_summary,
                    func=process_summary, live=True, source="psutil"),
        DerivedItem("node", AREA, spec=S.node_json, func=node_json, late=True,
                    source="os-release, uname, binaries, static pod manifests"),
    ]
    for unit in K8S_UNITS:
        out.append(CommandItem(f"systemctl-status-{unit}", AREA, spec=S.systemctl_status,
                     argv=("systemctl", "status", unit, "--no-pager", "-l", "-n", "30"),
                     ok_exit_codes=(0, 1, 2, 3, 4), timeout=5))
        out.append(CommandItem(f"systemctl-show-{unit}", AREA, spec=S.systemctl_show, argv=("systemctl", "show", unit),
                     ok_exit_codes=(0, 1), timeout=5))
    return out


# -- derived ------------------------------------------------------------------------------------
def kernel_config(ctx: Context) -> str | None:
    data: bytes | None = None
    source = None
    if ctx.live:
        try:
            data = gzip.decompress(ctx.transport.read_small("/proc/config.gz", 8 << 20))
            source = "/proc/config.gz"
        except (OSError, EOFError, gzip.BadGzipFile):
            data = None
    if data is None:
        release = _kernel_release(ctx)
        candidates = [f"/boot/config-{release}"] if release else []
        candidates += sorted(ctx.transport.glob("/boot/config-*"), reverse=True)
        for path in candidates:
            try:
                data = ctx.transport.read_small(path, 8 << 20)
                source = path
                break
            except OSError:
                continue
    if data is None:
        return None
    wanted = set(KERNEL_FLAGS)
    keep = [f"# source: {source}"]
    for line in data.decode("utf-8", "replace").splitlines():
        m = re.match(r"(?:# )?CONFIG_([A-Z0-9_]+)(?:=| is not set)", line)
        if m and (m.group(1) in wanted or m.group(1).startswith(("NFT_", "IP_VS", "CGROUP"))):
            keep.append(line)
    return "\n".join(keep) + "\n"


def _kernel_release(ctx: Context) -> str | None:
    if ctx.live:
        code, out = ctx.run_text(["uname", "-r"], timeout=5)
        if code == 0 and out.strip():
            return out.strip()
    modules = ctx.transport.listdir("/lib/modules") or ctx.transport.listdir("/usr/lib/modules")
    return sorted(modules)[-1] if modules else None


def _inotify_count(proc: Any) -> int | None:
    import os

    try:
        fd_dir = f"/proc/{proc.pid}/fd"
        n = 0
        for fd in os.listdir(fd_dir):
            try:
                if os.readlink(f"{fd_dir}/{fd}") == "anon_inode:inotify":
                    n += 1
            except OSError:
                continue
        return n
    except OSError:
        return None


def _process_rows(ctx: Context) -> list[dict[str, Any]]:
    import time

    import psutil

    # process_iter() without attrs: its `info` dicts live on psutil's shared Process cache and
    # another thread iterating at the same time (kubelet-cmdline) would overwrite them.
    procs = list(psutil.process_iter())
    for p in procs:
        try:
            p.cpu_percent(None)
        except psutil.Error:
            pass
    time.sleep(0.5)  # cpu_percent needs two samples
    rows = []
    skipped: dict[str, int] = {}
    for p in procs:
        try:
            rows.append(_process_row(p))
        except Exception as exc:  # noqa: BLE001 - a process that vanished or changed mid-read
            key = f"{type(exc).__name__}: {exc}"[:200]
            skipped[key] = skipped.get(key, 0) + 1
    ctx.shared["process_rows_skipped"] = skipped
    return rows


PROCESS_ATTRS = ["pid", "ppid", "name", "username", "cmdline", "memory_info", "num_threads",
                 "create_time", "status"]


def _process_row(p: Any) -> dict[str, Any]:
    import psutil

    info = p.as_dict(PROCESS_ATTRS, ad_value=None)
    try:
        cpu = p.cpu_percent(None)
    except psutil.Error:
        cpu = None
    try:
        fds = p.num_fds()
    except psutil.Error:
        fds = None
    mem = info.get("memory_info")
    return {
        "pid": info["pid"], "ppid": info.get("ppid"), "name": info.get("name"),
        "user": info.get("username"), "cmdline": " ".join(info.get("cmdline") or []),
        "rss": mem.rss if mem else None, "cpu_percent": cpu, "threads": info.get("num_threads"),
        "fds": fds, "inotify": _inotify_count(p), "status": info.get("status"),
        "started": dt.datetime.fromtimestamp(info["create_time"], dt.timezone.utc)
        .strftime("%Y-%m-%dT%H:%M:%SZ") if info.get("create_time") else None,
    }


def _rows(ctx: Context) -> list[dict[str, Any]]:
    return ctx.memo("process_rows", lambda: _process_rows(ctx))


def processes(ctx: Context) -> list[dict[str, Any]]:
    """Top 50 by CPU, by RSS, by open files and by inotify instances, plus PID 1 and the
    Kubernetes daemons whatever their rank."""
    rows = _rows(ctx)
    keep: dict[int, dict[str, Any]] = {}
    for key in ("cpu_percent", "rss", "fds", "inotify"):
        for r in sorted(rows, key=lambda r: r.get(key) or 0, reverse=True)[:50]:
            keep[r["pid"]] = r
    for r in rows:
        if r["pid"] == 1 or (r.get("name") or "") in ("kubelet", "containerd", "dockerd", "crio", "kube-proxy",
                                     "etcd", "kube-apiserver", "k3s", "k3s-server", "rke2",
                                     "flanneld", "calico-node", "cilium-agent"):
            keep[r["pid"]] = r
    return sorted(keep.values(), key=lambda r: r["pid"])


def process_summary(ctx: Context) -> dict[str, Any]:
    rows = _rows(ctx)
    by_user: dict[str, int] = {}
    for r in rows:
        by_user[r.get("user") or "?"] = by_user.get(r.get("user") or "?", 0) + (r.get("inotify") or 0)
    return {
        "processes": len(rows),
        "threads": sum(r.get("threads") or 0 for r in rows),
        "open_files": sum(r.get("fds") or 0 for r in rows),
        "inotify_instances": sum(r.get("inotify") or 0 for r in rows),
        "inotify_instances_by_user": by_user,
        "zombies": sum(1 for r in rows if r.get("status") == "zombie"),
        "unreadable": ctx.shared.get("process_rows_skipped") or {},
    }


def _os_release(ctx: Context) -> dict[str, str]:
    text = ctx.read_text("/etc/os-release") or ctx.read_text("/usr/lib/os-release") or ""
    out = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip().strip('"').strip("'")
    return out


def timezone_info(ctx: Context) -> dict[str, Any]:
    """The node's zone name (timedatectl, /etc/timezone or the /etc/localtime link) and its
    current UTC offset, so the analyzer can read zone-less log timestamps."""
    name = None
    if ctx.live:
        code, out = ctx.run_text(["timedatectl", "show", "-p", "Timezone", "--value"], timeout=5)
        if code == 0 and out.strip():
            name = out.strip()
    if not name:
        text = (ctx.read_text("/etc/timezone") or "").strip()
        name = text.splitlines()[0].strip() if text else None
    if not name:
        link = ctx.transport.readlink("/etc/localtime")
        if link and "zoneinfo/" in link:
            name = link.split("zoneinfo/", 1)[1]
    offset = None
    if name:
        try:
            from zoneinfo import ZoneInfo

            off = dt.datetime.now(ZoneInfo(name)).utcoffset()
            offset = int(off.total_seconds()) if off is not None else None
        except Exception:  # noqa: BLE001 - unknown zone names
            offset = None
    if offset is None and ctx.live and ctx.root == "/":
        import time

        offset = -time.altzone if time.daylight and time.localtime().tm_isdst else -time.timezone
        name = name or time.tzname[0]
    return {"timezone": name, "utc_offset_seconds": offset}


def _roles(ctx: Context) -> list[str]:
    roles = []
    manifests = " ".join(ctx.transport.listdir("/etc/kubernetes/manifests"))
    if ("kube-apiserver" in manifests or ctx.transport.stat("/var/lib/rancher/k3s/server") is not None
            or ctx.transport.stat("/var/lib/rancher/rke2/server") is not None):
        roles.append("control-plane")
    if "etcd" in manifests:
        roles.append("etcd")
    if not roles and (ctx.transport.stat("/var/lib/kubelet") is not None
                      or ctx.transport.stat("/var/lib/rancher") is not None):
        roles.append("worker")
    return roles


def _runtime(ctx: Context, versions: dict[str, Any]) -> str | None:
    text = (ctx.read_text("/var/lib/kubelet/kubeadm-flags.env") or "") + \
        (ctx.read_text("/var/lib/kubelet/config.yaml") or "")
    for needle, name in (("cri-dockerd", "cri-dockerd"), ("dockershim", "docker"),
                         ("crio", "cri-o"), ("containerd", "containerd")):
        if needle in text:
            return name
    if ctx.transport.stat("/var/lib/rancher") is not None:
        return "containerd"
    for tool, name in (("containerd", "containerd"), ("crio", "cri-o"), ("docker", "docker")):
        if versions.get(tool) or ctx.transport.which(tool):
            return name
    return None


def _init(ctx: Context) -> str:
    if ctx.live:
        # What runs as PID 1 on this machine (a pod collecting its host needs hostPID).
        try:
            with open("/proc/1/comm", encoding="utf-8") as f:
                return "systemd" if f.read().strip() == "systemd" else "other"
        except OSError:
            pass
    link = ctx.transport.readlink("/sbin/init") or ""
    if "systemd" in link or (not ctx.live and ctx.transport.stat("/lib/systemd/systemd") is not None):
        return "systemd"
    return "other"


def node_json(ctx: Context) -> dict[str, Any]:
    import os
    import socket

    osr = _os_release(ctx)
    binaries = ctx.shared.get("binaries") or {}
    versions = {k: (binaries.get(k) or {}).get("version") for k in
                ("kubelet", "kubeadm", "kubectl", "containerd", "docker", "crictl", "runc")}
    versions.update({"kube-proxy": None, "os_build": None})
    tz = timezone_info(ctx)
    ctx.shared["timezone"] = tz
    hostname = None
    if ctx.root != "/":
        hostname = ((ctx.read_text("/etc/hostname") or "").strip().splitlines() or [None])[0]
    # A remote transport (ssh): this machine's name, psutil and os.uname describe the wrong host.
    remote = getattr(ctx.transport, "remote", False)
    if remote:
        hostname = hostname or getattr(ctx.transport, "hostname", None)
    hostname = hostname or (socket.gethostname() if ctx.live and not remote else None)
    arch = uptime = boot = cpus = mem = None
    if ctx.live:
        code, out = ctx.run_text(["uname", "-m"], timeout=5)
        arch = out.strip() if code == 0 else (None if remote else os.uname().machine)
    if ctx.live and not remote:
        try:
            import psutil

            boot_ts = psutil.boot_time()
            boot = dt.datetime.fromtimestamp(boot_ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            uptime = int(dt.datetime.now(dt.timezone.utc).timestamp() - boot_ts)
            cpus = psutil.cpu_count()
            mem = psutil.virtual_memory().total
        except Exception:  # noqa: BLE001 - best effort facts
            pass
    return {
        "name": ctx.node, "hostname": hostname, "os": "linux",
        "distro": osr.get("PRETTY_NAME") or osr.get("NAME"),
        "distro_id": osr.get("ID"), "distro_version": osr.get("VERSION_ID"),
        "kernel": _kernel_release(ctx), "arch": arch, "uptime_seconds": uptime,
        "boot_time": boot, "timezone": tz["timezone"],
        "utc_offset_seconds": tz["utc_offset_seconds"], "cpus": cpus, "memory_bytes": mem,
        "versions": versions, "roles": _roles(ctx), "runtime": _runtime(ctx, versions),
        "init": _init(ctx), "collected_live": ctx.live,
    }
