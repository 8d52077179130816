"""The table of specs: every artifact a bundle stores, by name (docs/bundle-format.md,
"Artifacts", is generated from it).

A spec says where an artifact lives (globs below `nodes/<node>/`, or below the top directory
for scope "cluster"), its format, which collector items write it (Linux and Windows catalogue
item ids; `fnmatch` patterns where one item per unit or log exists) and who reads it: the
parsers registered with `@parser(S.<name>, ...)`, the log index (everything under `logs/`), or
nobody but the human reader (`raw=True`). `elsewhere` names a producer outside the catalogues
(the collectlogs.ps1 conversion, a bundle put together by hand).

Specs are attributes of `Specs` (alias `S`), so a misspelt or renamed spec fails at import, in
the collector and the analyzer alike: the two sides share names, not path strings.
tests/bundle/test_specs.py holds the table to the catalogues and the parser registry.

This module imports nothing from collector/, redact/ or analyzer/.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterator

from k8s_bundle.pathglob import glob_to_regex

# Formats, as a reader would name them.
TEXT = "text"
JSON = "json"
JSONL = "json lines"
YAML = "yaml"
TOML = "toml"
KEY_VALUE = "key=value"
ENV = "shell env"
UNIT = "systemd unit"
KUBECONFIG = "kubeconfig (yaml)"
JOURNAL = "journal log"
LOG = "log file"
AS_ON_NODE = "as on the node"

SCOPES = ("node", "cluster")
LOGS_PREFIX = "logs/"
COMMANDS_PREFIX = "commands/"

# Where systemd keeps unit files and drop-ins (collector/linux/runtime.py asks for these).
UNIT_DIRS = ("etc/systemd/system", "lib/systemd/system", "usr/lib/systemd/system", "run/systemd/system")

COLLECTLOGS = "analyzer/foreign/collectlogs.py (a collectlogs.ps1 folder read as a bundle)"
BY_HAND = "a bundle put together by hand (no collector item writes this name)"


def _tuple(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


@dataclass(frozen=True)
class Spec:
    paths: tuple[str, ...]
    format: str
    linux: tuple[str, ...] = ()       # Linux catalogue item ids (fnmatch patterns allowed)
    windows: tuple[str, ...] = ()     # Windows catalogue item ids
    about: str = ""                   # the command or what the file holds
    scope: str = "node"
    raw: bool = False                 # kept for the human reader only: no parser reads it
    elsewhere: str = ""               # a producer outside the catalogues
    name: str = field(default="", compare=False)   # the attribute name in Specs

    def __post_init__(self) -> None:
        for attr in ("paths", "linux", "windows"):
            object.__setattr__(self, attr, _tuple(getattr(self, attr)))
        if not self.paths:
            raise ValueError("a spec needs at least one path")
        if self.scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}")

    def __set_name__(self, owner: type, name: str) -> None:
        object.__setattr__(self, "name", name)

    @property
    def path(self) -> str:
        """The one path of a single-file spec (the collector stores its artifact there)."""
        if len(self.paths) != 1 or any(c in self.paths[0] for c in "*?["):
            raise ValueError(f"spec {self.name} has no single path: {self.paths}")
        return self.paths[0]

    @property
    def command_id(self) -> str:
        """commands/<id>.<ext>: the id of the command item that writes it."""
        stem, _, _ = self.path.removeprefix(COMMANDS_PREFIX).rpartition(".")
        if not self.path.startswith(COMMANDS_PREFIX) or not stem:
            raise ValueError(f"spec {self.name} is not a command output: {self.path}")
        return stem

    @property
    def ext(self) -> str:
        return self.path.rpartition(".")[2]

    @property
    def logs(self) -> bool:
        """Read by the log index, not by parsers (every member under nodes/<node>/logs/)."""
        return self.scope == "node" and all(p.startswith(LOGS_PREFIX) for p in self.paths)

    @cached_property
    def regex(self) -> re.Pattern[str]:
        return re.compile("(?:" + "|".join(glob_to_regex(p) for p in self.paths) + r")\Z")

    def covers(self, path: str) -> bool:
        """Whether `path` (relative to the scope root; may itself be a glob pattern, its `*`
        taken literally) is one of this spec's members."""
        return bool(self.regex.match(path))


def cmd(id_: str, about: str, fmt: str = TEXT, *, ext: str | None = None, linux: bool = True,
        windows: bool = False, **kw: object) -> Spec:
    """A command output, commands/<id>.<ext>, written by the catalogue item of the same id."""
    ext = ext or ("json" if fmt == JSON else "txt")
    return Spec(f"commands/{id_}.{ext}", fmt, linux=(id_,) if linux else (),
                windows=(id_,) if windows else (), about=about, **kw)  # type: ignore[arg-type]


def win(name: str, about: str, fmt: str = JSON, *, item: str | None = None, **kw: object) -> Spec:
    """A Windows artifact, windows/<name>.<json|txt>, written by a PowerShell item."""
    ext = "json" if fmt == JSON else "txt"
    return Spec(f"windows/{name}.{ext}", fmt, windows=(item or name,), about=about, **kw)  # type: ignore[arg-type]


def unit_paths(unit: str, *, dirs: tuple[str, ...] = UNIT_DIRS, files: bool = True,
               dropins: bool = True) -> tuple[str, ...]:
    """files/<dir>/<unit>.service and its drop-ins, in the given unit directories."""
    out: list[str] = []
    for d in dirs:
        if files:
            out.append(f"files/{d}/{unit}.service")
        if dropins:
            out.append(f"files/{d}/{unit}.service.d/*.conf")
    return tuple(out)


_SYSTEMD_UNITS = "the units of collector/linux/system.py K8S_UNITS"


class Specs:
    """Every artifact of a bundle. Attribute names are the spec names."""

    # -- node.json, certs.json ----------------------------------------------------------------
    node_json = Spec("node.json", JSON, linux="node", windows="node",
                     about="node facts: os, distro, kernel, versions, roles, timezone")
    certs_json = Spec("certs.json", JSON, linux="certs",
                      about="certificate metadata from files and kubeconfigs; never keys")

    # -- system: commands ----------------------------------------------------------------------
    uname = cmd("uname", "`uname -a`")
    uptime = cmd("uptime", "`cat /proc/uptime`", raw=True)
    cmdline = cmd("cmdline", "`cat /proc/cmdline`")
    swaps = cmd("swaps", "`cat /proc/swaps`")
    swapon = cmd("swapon", "`swapon --show --bytes`", raw=True)
    meminfo = cmd("meminfo", "`cat /proc/meminfo`")
    free = cmd("free", "`free -b`", raw=True)
    loadavg = cmd("loadavg", "`cat /proc/loadavg`")
    pressure = cmd("pressure", "`cat /proc/pressure/{cpu,memory,io}`")
    df = cmd("df", "`df -PT -B1` (bytes)")
    df_inodes = cmd("df-inodes", "`df -PTi`")
    mounts = cmd("mounts", "`cat /proc/self/mountinfo` (or `mount`)")
    mount = Spec("commands/mount.txt", TEXT, elsewhere=BY_HAND, about="`mount` output under its own id")
    mountinfo = Spec("commands/mountinfo.txt", TEXT, elsewhere=BY_HAND,
                     about="/proc/self/mountinfo under its own id (preferred over mounts)")
    findmnt = cmd("findmnt", "`findmnt -J`", JSON, raw=True)
    cgroup = cmd("cgroup", "`stat -fc %T /sys/fs/cgroup` (`cgroup2fs` means v2)")
    cgroup_controllers = cmd("cgroup-controllers", "`cat /proc/cgroups`")
    lsmod = cmd("lsmod", "`lsmod`")
    sysctl = cmd("sysctl", "`sysctl -a`", KEY_VALUE)
    getenforce = cmd("getenforce", "`getenforce` (SELinux mode)")
    sestatus = cmd("sestatus", "`sestatus`", raw=True)
    apparmor = cmd("apparmor", "`aa-status`", raw=True)
    timedatectl = cmd("timedatectl", "`timedatectl show`", KEY_VALUE)
    timesync = cmd("timesync", "`chronyc tracking` (or `timedatectl timesync-status`, `ntpq -pn`)")
    date = cmd("date", "`date -u +%Y-%m-%dT%H:%M:%SZ`", raw=True)
    systemctl_failed = cmd("systemctl-failed", "`systemctl list-units --failed --no-legend --plain`")
    systemctl_units = cmd("systemctl-units", "`systemctl list-units --all --no-legend --plain --type=service`",
                          raw=True)
    systemctl_status = Spec("commands/systemctl-status-*.txt", TEXT, linux="systemctl-status-*",
                            about=f"`systemctl status <unit> --no-pager -l -n 30`, {_SYSTEMD_UNITS}")
    systemctl_show = Spec("commands/systemctl-show-*.txt", KEY_VALUE, linux="systemctl-show-*",
                          about=f"`systemctl show <unit>`, {_SYSTEMD_UNITS}")
    file_nr = cmd("file-nr", "`cat /proc/sys/fs/file-nr /proc/sys/fs/inode-nr`")
    kernel_config = cmd("kernel-config", "the Kubernetes-relevant `CONFIG_*` lines of /proc/config.gz or "
                                         "/boot/config-*")
    processes = cmd("processes", "processes (psutil): pid, name, cmdline (redacted), rss, cpu, fds, inotify",
                    JSON)
    process_summary = cmd("process-summary", "totals: processes, threads, open files, inotify instances, "
                                             "zombies", JSON)
    binaries = cmd("binaries", "`{name: {path, version, output}}` for the tools Kubernetes relies on", JSON)
    iptables_version = cmd("iptables-version", "`iptables --version` (`(legacy)` or `(nf_tables)`)")
    ip6tables_version = cmd("ip6tables-version", "`ip6tables --version`", raw=True)
    update_alternatives_iptables = cmd("update-alternatives-iptables", "`update-alternatives --query iptables`",
                                       raw=True)

    # -- system: files -------------------------------------------------------------------------
    os_release = Spec("files/etc/os-release", KEY_VALUE, linux="os-release", about="/etc/os-release")
    os_release_usr_lib = Spec("files/usr/lib/os-release", KEY_VALUE, elsewhere=BY_HAND,
                              about="/usr/lib/os-release (where /etc/os-release links to)")
    system_files = Spec(("files/etc/lsb-release", "files/etc/redhat-release", "files/etc/fstab",
                         "files/etc/timezone", "files/etc/hostname", "files/etc/sysctl.conf",
                         "files/etc/selinux/config", "files/etc/security/limits.conf",
                         "files/sys/module/apparmor/parameters/enabled"), AS_ON_NODE,
                        linux=("lsb-release", "redhat-release", "fstab", "etc-timezone", "etc-hostname",
                               "sysctl-conf", "selinux-config", "limits-conf", "apparmor-enabled"),
                        about="release, fstab, timezone, hostname, sysctl, SELinux, limits, AppArmor files",
                        raw=True)
    sysctl_d = Spec(("files/etc/sysctl.d/*.conf", "files/usr/lib/sysctl.d/*.conf", "files/run/sysctl.d/*.conf"),
                    KEY_VALUE, linux="sysctl-d", about="sysctl drop-ins", raw=True)
    modules_load = Spec(("files/etc/modules-load.d/*.conf", "files/etc/modules"), TEXT, linux="modules-load",
                        about="kernel modules loaded at boot", raw=True)

    # -- logs (read by the log index) ----------------------------------------------------------
    journal = Spec("logs/journal/*.log", JOURNAL, linux="journal-*",
                   about="`journalctl -u <unit> -o short-iso-precise` (units: collector/linux/logs.py), or "
                         "`journalctl -D <dir>` when the default read had nothing")
    kernel_log = Spec("logs/kernel.log", JOURNAL, linux="journal-kernel",
                      about="`journalctl _TRANSPORT=kernel`, or `dmesg -T`")
    system_logs = Spec(tuple(f"logs/var/log/{n}" for n in (
        "messages", "syslog", "kern.log", "dmesg", "dmesg.0", "boot.log", "cloud-init.log",
        "cloud-init-output.log")), LOG, linux="log-var-log-*", about="system log files, newest part")
    rotated_syslog = Spec(("logs/var/log/syslog.1", "logs/var/log/messages-*"), LOG, linux="journal-*",
                          about="the newest rotated syslog, read when a unit's journal was empty")
    kube_logs = Spec(tuple(f"logs/{p}" for p in (
        "var/log/kube-*.log", "var/log/kubelet*.log", "var/log/etcd*.log", "var/log/k3s*.log",
        "var/log/rke2*.log", "var/log/flanneld*.log", "var/log/calico/*/current", "var/log/containerd*.log",
        "var/log/docker*.log", "var/log/crio*.log", "var/log/kubernetes/*.log",
        "var/lib/rancher/k3s/agent/containerd/containerd.log",
        "var/lib/rancher/rke2/agent/containerd/containerd.log", "var/lib/rancher/rke2/agent/logs/kubelet.log")),
        LOG, linux="kube-logs", about="Kubernetes, runtime and CNI log files")
    pod_logs = Spec(("logs/var/log/pods/*/*/*.log", "logs/C/var/log/pods/*/*/*.log"), LOG,
                    linux=("static-pod-logs", "pod-logs"), windows="pod-logs",
                    about="pod and container logs, <ns>_<pod>_<uid>/<container>/<n>.log (control plane first)")
    docker_container_logs = Spec("logs/var/lib/docker/containers/*/*-json.log", LOG,
                                 linux="docker-container-logs", about="docker's json-file container logs")
    windows_logs = Spec(("logs/C/k/*.log", "logs/C/k/logs/*.log", "logs/C/k/logs/*/*.log",
                         "logs/C/var/log/kubelet/*", "logs/C/var/log/kube-proxy/*", "logs/C/var/log/flanneld/*",
                         "logs/C/var/log/containerd/*", "logs/C/ProgramData/containerd/*.log",
                         "logs/C/etc/kubernetes/logs/*", "logs/C/ProgramData/containerd/root/panic.log",
                         "logs/C/var/lib/rancher/rke2/agent/logs/*.log", "logs/C/CalicoWindows/logs/*.log"),
                        LOG, windows=("c-k-logs", "var-log"),
                        about="kubelet, kube-proxy, flanneld, containerd and CNI log files of a Windows node")
    eventlog = Spec("logs/eventlog/*.jsonl", JSONL, windows="eventlog-*",
                    about="Windows event logs (System, Application, HNS, Hyper-V Compute), one event a line")
    var_log_containers = cmd("var-log-containers", "`NAME -> TARGET` for each /var/log/containers link "
                                                   "(the content is under logs/var/log/pods/)", raw=True)

    # -- container runtimes --------------------------------------------------------------------
    docker_info = cmd("docker-info", "`docker info --format '{{json .}}'`", JSON, windows=True)
    docker_info_txt = Spec("commands/docker-info.txt", TEXT, elsewhere=BY_HAND,
                           about="`docker info` as text under the docker-info id")
    docker_info_text = Spec("commands/docker-info-text.txt", TEXT, elsewhere=BY_HAND,
                            about="`docker info` as text, read when no docker-info is there")
    docker_version = cmd("docker-version", "`docker version`", windows=True, raw=True)
    docker_ps = cmd("docker-ps", "`docker ps -a --no-trunc`", windows=True, raw=True)
    docker_images = cmd("docker-images", "`docker images --digests`", raw=True)
    docker_system_df = cmd("docker-system-df", "`docker system df`", raw=True)
    crictl_info = cmd("crictl-info", "`crictl info -o json`", JSON, windows=True)
    crictl_version = cmd("crictl-version", "`crictl version -o json`", JSON, windows=True)
    crictl_ps = cmd("crictl-ps", "`crictl ps -a -o json`", JSON, windows=True)
    crictl_pods = cmd("crictl-pods", "`crictl pods -o json`", JSON, windows=True)
    crictl_images = cmd("crictl-images", "`crictl images -o json`", JSON, windows=True)
    crictl_stats = cmd("crictl-stats", "`crictl stats -a -o json`", JSON)
    containerd_config_dump = cmd("containerd-config-dump", "`containerd config dump`", TOML)
    containerd_version = cmd("containerd-version", "`containerd --version`", linux=False, windows=True,
                             raw=True)
    ctr_plugins = cmd("ctr-plugins", "`ctr plugins ls`", raw=True)
    crio_config = cmd("crio-config", "`crio config`", TOML)
    crio_status = cmd("crio-status", "`crio status info`", raw=True)
    runc_list = cmd("runc-list", "`runc list`", raw=True)
    docker_daemon_json = Spec("files/etc/docker/daemon.json", JSON, linux="docker-daemon-json",
                              about="/etc/docker/daemon.json")
    containerd_config = Spec("files/etc/containerd/config.toml", TOML, linux="containerd-config",
                             about="/etc/containerd/config.toml")
    crio_conf = Spec("files/etc/crio/crio.conf", TOML, linux="crio-conf", about="/etc/crio/crio.conf")
    runtime_files = Spec(("files/etc/crictl.yaml", "files/etc/containerd/conf.d/*.toml",
                          "files/etc/containerd/certs.d/*/hosts.toml",
                          "files/var/lib/rancher/k3s/agent/etc/containerd/config.toml",
                          "files/var/lib/rancher/rke2/agent/etc/containerd/config.toml",
                          "files/etc/crio/crio.conf.d/*", "files/etc/containers/registries.conf",
                          "files/etc/containers/storage.conf", "files/etc/containers/policy.json"), AS_ON_NODE,
                         linux=("crictl-yaml", "containerd-conf-d", "k3s-containerd-config", "rke2-containerd-config",
                                "crio-conf-d", "containers-conf"),
                         about="crictl, containerd drop-ins and registry hosts, k3s/rke2 containerd, cri-o and "
                               "containers configuration", raw=True)
    docker_unit_vendor = Spec(("files/lib/systemd/system/docker.service", "files/usr/lib/systemd/system/docker.service"),
                              UNIT, linux="docker-service", about="docker.service as packaged")
    docker_unit_local = Spec("files/etc/systemd/system/docker.service", UNIT, linux="docker-service",
                             about="docker.service replaced by the administrator")
    docker_dropins = Spec(("files/etc/systemd/system/docker.service.d/*.conf",
                           "files/run/systemd/system/docker.service.d/*.conf"), UNIT, linux="docker-service",
                          about="docker.service drop-ins")
    docker_unit_other = Spec(("files/lib/systemd/system/docker.service.d/*.conf",
                              "files/usr/lib/systemd/system/docker.service.d/*.conf",
                              "files/run/systemd/system/docker.service",
                              *(f"files/{d}/docker.socket" for d in UNIT_DIRS),
                              "files/etc/sysconfig/docker", "files/etc/default/docker"), AS_ON_NODE,
                             linux="docker-service", about="docker's other unit files, socket and defaults",
                             raw=True)
    runtime_units = Spec((*unit_paths("containerd"), *unit_paths("crio"), "files/etc/sysconfig/crio",
                          *unit_paths("cri-docker")), UNIT,
                         linux=("containerd-service", "crio-service", "cri-docker-service"),
                         about="containerd, cri-o and cri-dockerd unit files and drop-ins", raw=True)

    # -- Kubernetes ----------------------------------------------------------------------------
    kubelet_config = Spec(("files/var/lib/kubelet/config.yaml", "files/C/var/lib/kubelet/config.yaml"), YAML,
                          linux="kubelet-config", windows="kubelet-config", about="the kubelet's config file")
    kubeadm_flags = Spec("files/var/lib/kubelet/kubeadm-flags.env", ENV, linux="kubeadm-flags",
                         about="KUBELET_KUBEADM_ARGS written by kubeadm")
    kubelet_defaults = Spec(("files/etc/default/kubelet", "files/etc/sysconfig/kubelet"), ENV,
                            linux="kubelet-service", about="KUBELET_EXTRA_ARGS")
    kubelet_unit = Spec(("files/etc/systemd/system/kubelet.service.d/*.conf",
                         "files/usr/lib/systemd/system/kubelet.service.d/*.conf",
                         "files/lib/systemd/system/kubelet.service.d/*.conf",
                         "files/etc/systemd/system/kubelet.service", "files/lib/systemd/system/kubelet.service",
                         "files/usr/lib/systemd/system/kubelet.service"), UNIT, linux="kubelet-service",
                        about="kubelet.service and its drop-ins (10-kubeadm.conf)")
    kubelet_unit_run = Spec(unit_paths("kubelet", dirs=("run/systemd/system",)), UNIT, linux="kubelet-service",
                            about="kubelet.service generated at run time", raw=True)
    kubelet_cmdline = cmd("kubelet-cmdline", "the running kubelet's argv, one argument a line, redacted")
    kubelet_state = Spec(("files/var/lib/kubelet/cpu_manager_state", "files/var/lib/kubelet/memory_manager_state"),
                         JSON, linux=("kubelet-cpu-manager-state", "kubelet-memory-manager-state"),
                         about="the kubelet's CPU and memory manager checkpoints", raw=True)
    kubeconfigs = Spec(("files/**/*.conf", "files/**/config", "files/**/*kubeconfig*"), KUBECONFIG,
                       linux=("etc-kubernetes", "kubelet-kubeconfig", "kube-proxy-config", "rancher-agent-config",
                              "user-kubeconfigs"),
                       windows=("kubeconfig-c-k-config", "kubeconfigs"),
                       about="kubeconfigs, redacted (the parser keeps the files that are kubeconfigs)")
    etc_kubernetes = Spec(tuple(f"files/etc/kubernetes/{n}" for n in (
        "*.yaml", "*.yml", "*.json", "*.env", "kubelet", "apiserver", "proxy")), AS_ON_NODE,
        linux="etc-kubernetes", about="/etc/kubernetes configuration (kubeadm, packaged installs)", raw=True)
    static_pods = Spec(("files/etc/kubernetes/manifests/*.yaml", "files/etc/kubernetes/manifests/*.yml",
                        "files/etc/kubernetes/manifests/*.json"), YAML, linux="static-pod-manifests",
                       about="static pod manifests")
    static_pod_dir = Spec("files/etc/kubernetes/manifests/*", AS_ON_NODE, linux="static-pod-manifests",
                          about="everything in the manifests directory (names other than .yaml/.yml/.json kept unparsed)",
                          raw=True)
    kube_proxy_config = Spec("files/var/lib/kube-proxy/config*", YAML, linux="kube-proxy-config",
                             about="kube-proxy's config file", raw=True)
    k3s_rke2_config = Spec(("files/etc/rancher/k3s/*.yaml", "files/etc/rancher/k3s/config.yaml.d/*",
                            *unit_paths("k3s"), *unit_paths("k3s-agent"),
                            "files/etc/systemd/system/k3s.service.env", "files/etc/systemd/system/k3s-agent.service.env",
                            "files/etc/rancher/rke2/*.yaml", "files/etc/rancher/rke2/config.yaml.d/*",
                            *unit_paths("rke2-server"), *unit_paths("rke2-agent"),
                            "files/var/lib/rancher/k3s/agent/etc/*.yaml", "files/var/lib/rancher/rke2/agent/etc/*.yaml"),
                           AS_ON_NODE, linux=("k3s-config", "rke2-config", "rancher-agent-config"),
                           about="k3s and rke2 configuration and units", raw=True)
    kubernetes_paths = cmd("kubernetes-paths", "which Kubernetes/k3s/rke2/CNI/runtime directories exist and their "
                                               "entry names", raw=True)
    kubeconfig_probe = cmd("kubeconfig-probe", "`{tried: [{path, ok, result}], using: {path, version} or null}`: "
                                               "which kubeconfig reached the API", JSON)

    # -- network -------------------------------------------------------------------------------
    ip_addr = cmd("ip-addr", "`ip -d addr`")
    ip_link = cmd("ip-link", "`ip -d -s link`", raw=True)
    ip_route = cmd("ip-route", "`ip route show table all`")
    ip6_route = cmd("ip6-route", "`ip -6 route show table all`")
    ip_rule = cmd("ip-rule", "`ip rule`", raw=True)
    ip_neigh = cmd("ip-neigh", "`ip neigh`")
    iptables_save = cmd("iptables-save", "`iptables-save`")
    ip6tables_save = cmd("ip6tables-save", "`ip6tables-save`")
    iptables_legacy_save = cmd("iptables-legacy-save", "`iptables-legacy-save`")
    nft_ruleset = cmd("nft-ruleset", "`nft list ruleset`")
    ipvsadm = cmd("ipvsadm", "`ipvsadm -Ln`")
    ipset = cmd("ipset", "`ipset list -t`")
    conntrack_stats = cmd("conntrack-stats", "`conntrack -S`", raw=True)
    conntrack_count = cmd("conntrack-count", "`sysctl net.netfilter.nf_conntrack_count "
                                             "net.netfilter.nf_conntrack_max`", KEY_VALUE)
    ss_listen = cmd("ss-listen", "`ss -tlnpH`")
    ss_listen_udp = cmd("ss-listen-udp", "`ss -ulnpH`")
    ss_summary = cmd("ss-summary", "`ss -s`", raw=True)
    hostname = cmd("hostname", "`hostname`", raw=True)
    hostname_i = cmd("hostname-i", "`hostname -i`")
    hostname_fqdn = cmd("hostname-fqdn", "`hostname -f`", raw=True)
    resolvectl = cmd("resolvectl", "`resolvectl status`")
    bridge_link = cmd("bridge-link", "`bridge link`", raw=True)
    bridge_fdb = cmd("bridge-fdb", "`bridge fdb show`", raw=True)
    resolv_conf = Spec("files/etc/resolv.conf", TEXT, linux="resolv-conf", about="/etc/resolv.conf")
    resolv_upstream = Spec("files/run/systemd/resolve/resolv.conf", TEXT, linux="resolved-resolv-conf",
                           about="systemd-resolved's upstream resolv.conf (what the kubelet should use)")
    network_files = Spec(("files/etc/systemd/resolved.conf", "files/etc/hosts", "files/etc/nsswitch.conf",
                          "files/etc/network/interfaces", "files/etc/netplan/*.yaml",
                          "files/etc/sysconfig/network-scripts/ifcfg-*", "files/etc/NetworkManager/conf.d/*.conf"),
                         AS_ON_NODE, linux=("resolved-conf", "hosts", "nsswitch", "network-config"),
                         about="resolver, hosts and interface configuration", raw=True)
    cni_configs = Spec(("files/etc/cni/net.d/*.conf", "files/etc/cni/net.d/*.conflist", "files/etc/cni/net.d/*.json"),
                       JSON, linux="cni-config", about="CNI network configurations")
    cni_dir = Spec("files/etc/cni/net.d/*", AS_ON_NODE, linux="cni-config",
                   about="everything in /etc/cni/net.d (calico-kubeconfig; names the CNI parser skips)", raw=True)
    cni_bin = cmd("cni-bin", "names in /opt/cni/bin, one a line")
    flannel_subnet = Spec("files/run/flannel/subnet.env", ENV, linux="flannel-subnet", about="flannel's subnet.env")
    cni_state = Spec(("files/etc/kube-flannel/*", "files/var/lib/calico/nodename", "files/var/lib/calico/mtu",
                      "files/etc/calico/*.cfg", "files/etc/calico/*.yaml", "files/var/run/cilium/state/globals/*.h",
                      "files/etc/cilium/*", "files/var/lib/cni/networks/*/last_reserved_ip.0",
                      "files/var/lib/cni/flannel/*"), AS_ON_NODE,
                     linux=("flannel-config", "calico-state", "cilium-state", "cni-ipam-state"),
                     about="flannel, Calico and Cilium configuration and state, IPAM reservations", raw=True)

    # -- cluster (below the top directory) -----------------------------------------------------
    cluster_objects = Spec("cluster/*.json", JSON, scope="cluster",
                           linux=("nodes", "pods", "events", "daemonsets", "deployments", "statefulsets",
                                  "services", "endpoints", "namespaces", "apiservices", "pvcs", "pvs",
                                  "storageclasses", "hpas", "leases", "csrs", "priorityclasses", "runtimeclasses",
                                  "configmaps", "kubeadm-config", "kubelet-config-cm", "kube-proxy-cm"),
                           about="API objects as the API returns a List (`kubectl get -o json`); never Secrets; "
                                 "configmaps reduced to names and sizes")

    # -- Windows -------------------------------------------------------------------------------
    hns_schema = win("hns-schema", "`V2` or `V1`: which HNS API the node speaks", TEXT)
    hns_networks = win("hns-networks", "HNS networks as the HCN API returns them", elsewhere=COLLECTLOGS)
    hns_endpoints = win("hns-endpoints", "HNS endpoints", elsewhere=COLLECTLOGS)
    hns_loadbalancers = win("hns-loadbalancers", "HNS load balancers")
    hns_namespaces = win("hns-namespaces", "HNS namespaces")
    hns_policylists = win("hns-policylists", "`Get-HnsPolicyList` (V1 ELB policies)", elsewhere=COLLECTLOGS)
    hnsdiag = win("hnsdiag", "`hnsdiag list all -d`", TEXT, raw=True, elsewhere=COLLECTLOGS)
    hns_networks_detailed = Spec("windows/hns-networks-detailed.txt", TEXT, elsewhere=COLLECTLOGS,
                                 about="collectlogs.ps1's networkdetailed.txt", raw=True)
    dynamic_ports_tcp = win("dynamicportrange-tcp", "`netsh int ipv4 show dynamicportrange protocol=tcp`", TEXT,
                            elsewhere=COLLECTLOGS)
    dynamic_ports_udp = win("dynamicportrange-udp", "`netsh int ipv4 show dynamicportrange protocol=udp`", TEXT,
                            elsewhere=COLLECTLOGS)
    excluded_ports_tcp = win("excludedportrange-tcp", "`netsh int ipv4 show excludedportrange protocol=tcp`", TEXT,
                             elsewhere=COLLECTLOGS)
    excluded_ports_udp = win("excludedportrange-udp", "`netsh int ipv4 show excludedportrange protocol=udp`", TEXT,
                             elsewhere=COLLECTLOGS)
    reserved_ports = win("reservedports", "the port reservation test's output", TEXT, elsewhere=COLLECTLOGS)
    tcp_connections = win("tcp-connections", "TCP connections by state and owning process, and how many use a "
                                            "port of the dynamic range")
    win_services = win("services", "services: name, state, start mode, binary path, command line (redacted), "
                                     "wrapper",
                       item="win-services")
    win_versions = win("versions", "component versions as their binaries report them (kubelet, kube-proxy, "
                                   "containerd, docker, flanneld)", item="win-versions")
    win_os = win("os", "`Win32_OperatingSystem`, `Win32_ComputerSystem`, the build and UBR, time zone",
                 item="win-os", elsewhere=COLLECTLOGS)
    win_hotfixes = win("hotfixes", "`Get-HotFix`", item="win-hotfixes", elsewhere=COLLECTLOGS)
    win_volumes = win("volumes", "fixed disks (`Win32_LogicalDisk`, DriveType 3): size and free space",
                      item="win-volumes")
    win_netadapters = win("netadapters", "`Get-NetAdapter -IncludeHidden`", item="win-netadapters")
    win_netipaddress = win("netipaddress", "`Get-NetIPAddress -IncludeAllCompartments`", item="win-netipaddress")
    win_netroute = win("netroute", "`Get-NetRoute -IncludeAllCompartments`", item="win-netroute", raw=True)
    win_firewall = win("firewall", "`Get-NetFirewallProfile`: enabled and default actions per profile",
                       item="win-firewall", raw=True)
    win_ipconfig = win("ipconfig", "`ipconfig /allcompartments /all`", TEXT, item="win-ipconfig", raw=True, elsewhere=COLLECTLOGS)
    win_route_print = win("route-print", "`route print`", TEXT, item="win-route-print", raw=True,
                          elsewhere=COLLECTLOGS)
    pause_images = win("pause-images", "the pause (sandbox) images the runtime holds and the OS build each was "
                                      "made for")
    win_flannel_subnet = Spec("files/C/run/flannel/subnet.env", ENV, windows="flannel-subnet-env",
                              about="flannel's subnet.env")
    source_vip = Spec("files/C/k/SourceVip.json", JSON, windows="source-vip",
                      about="the overlay source VIP flannel's start script reserved")
    source_vip_request = Spec("files/C/k/SourceVipRequest.json", JSON, windows="source-vip-request",
                              about="the source VIP request")
    win_cni = Spec(("files/C/k/cni/config/*", "files/C/etc/cni/net.d/*", "files/C/ProgramData/containerd/cni/conf/*",
                    "files/C/Program Files/containerd/cni/conf/*"), JSON, windows="cni-config",
                   about="CNI network configurations (flannel, Calico for Windows)")
    win_cni_other_places = Spec(("files/C/k/cni/*.conf", "files/C/opt/cni/conf/*"), JSON, elsewhere=BY_HAND,
                                about="CNI configurations in older install layouts")
    win_containerd_config = Spec(("files/C/Program Files/containerd/config.toml",
                                  "files/C/ProgramData/containerd/config.toml"), TOML,
                                 windows=("containerd-config", "containerd-config-pd"), about="containerd's config.toml")
    win_files = Spec(("files/C/etc/kube-flannel/net-conf.json", "files/C/k/flannel/net-conf.json",
                      "files/C/var/lib/kubelet/kubeadm-flags.env", "files/C/etc/kubernetes/kubelet-config.yaml",
                      "files/C/k/*.ps1", "files/C/k/*.cmd", "files/C/k/*.bat", "files/C/flannel/*.ps1"), AS_ON_NODE,
                     windows=("flannel-net-conf", "kubelet-config", "start-scripts"),
                     about="flannel net-conf, kubelet flags and the start scripts (kubelet, kube-proxy, flanneld "
                           "arguments)", raw=True)


S = Specs


def all_specs() -> Iterator[Spec]:
    """Every spec, in table order."""
    for value in vars(Specs).values():
        if isinstance(value, Spec):
            yield value


def by_name(name: str) -> Spec:
    spec = getattr(Specs, name, None)
    if not isinstance(spec, Spec):
        raise KeyError(name)
    return spec
