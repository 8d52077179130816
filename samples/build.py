"""Build the sample bundles in samples/ reproducibly: `python3 samples/build.py [OUTDIR]`.

Every bundle is written by the project's BundleWriter with a fixed mtime (members sorted, gzip
header without a time or a file name), so a rebuild is byte-identical to the committed file.

- healthy-node.tgz: a kubeadm v1.29 control-plane node (Ubuntu 22.04, containerd, flannel) and
  its cluster objects, as `k8s-bundle collect` writes them. No warning or critical finding.
- broken-kubeadm.tgz: a kubeadm v1.28 control-plane node with several seed scenarios at once:
  kubelet (systemd) vs containerd (SystemdCgroup = false) cgroup drivers, swap turned back on,
  an expired kubelet client certificate and an apiserver certificate about to expire, CoreDNS
  crash-looping on a forwarding loop (resolv.conf -> 127.0.0.53), a full root filesystem with
  DiskPressure, evictions and images garbage-collected into ImagePullBackOff, and a full
  conntrack table.
- broken-windows-worker.tgz: the Windows engineer's scenario (samples/windows_scenario.py).
- multi-node.tgz: one bundle with the healthy control plane, a worker whose FORWARD chain drops
  pod traffic with IP forwarding off, and the broken Windows worker.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any, Callable

from k8s_bundle.bundle.manifest import ItemRecord, Manifest, NodeEntry
from k8s_bundle.bundle.writer import BundleWriter

HERE = Path(__file__).resolve().parent
CREATED_AT = "2026-11-22T11:30:00Z"
STAMP = "20261122T113000Z"
MTIME = int(dt.datetime(2026, 11, 22, 11, 30, tzinfo=dt.timezone.utc).timestamp())

Members = dict[str, str]  # path below nodes/<node>/ (or the bundle root for cluster/) -> text

# -- small helpers ---------------------------------------------------------------------------


def _ts(minute_offset: float, base: str = "2026-11-22T11:00:00") -> dt.datetime:
    return dt.datetime.fromisoformat(base) + dt.timedelta(minutes=minute_offset)


def journal(node: str, unit: str, pid: int, lines: list[tuple[float, str]]) -> str:
    """journalctl -o short-iso-precise lines; `lines` are (minutes after 11:00, message)."""
    out = []
    for minute, msg in lines:
        t = _ts(minute)
        out.append(f"{t.strftime('%Y-%m-%dT%H:%M:%S.%f')}+00:00 {node} {unit}[{pid}]: {msg}")
    return "\n".join(out) + "\n"


def klog(level: str, minute: float, pid: int, where: str, msg: str) -> str:
    t = _ts(minute)
    return f"{level}{t.strftime('%m%d %H:%M:%S.%f')} {pid:>8} {where}] {msg}"


def cri(lines: list[tuple[float, str]], stream: str = "stderr") -> str:
    return "\n".join(f"{_ts(m).strftime('%Y-%m-%dT%H:%M:%S.%f')}000Z {stream} F {msg}" for m, msg in lines) + "\n"


def j(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def cert(path: str, subject: str, not_after: str, *, issuer: str = "CN=kubernetes", sans: list[str] | None = None,
         is_ca: bool = False, kubeconfig: str | None = None, fp: str | None = None) -> dict[str, Any]:
    digest = fp or hashlib.sha256((path + subject + not_after).encode()).hexdigest()
    return {"path": path, "source": "kubeconfig" if kubeconfig else "file", "kubeconfig": kubeconfig,
            "subject": subject, "issuer": issuer, "sans": sans or [],
            "not_before": "2025-12-01T08:00:00Z", "not_after": not_after,
            "is_ca": is_ca, "serial": digest[:16], "key_algorithm": "RSA-2048",
            "fingerprint_sha256": ":".join(digest[i:i + 2].upper() for i in range(0, 64, 2)), "error": None}


def kubeconfig(server: str, user: str, client: str) -> str:
    ca = '<redacted:cert subject="CN=kubernetes" issuer="CN=kubernetes" not_after="2035-11-29T08:00:00Z" sha256="6f1d2c">'
    return f"""apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: {ca}
    server: {server}
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: {user}
  name: {user}@kubernetes
current-context: {user}@kubernetes
kind: Config
preferences: {{}}
users:
- name: {user}
  user:
{client}"""


# -- a kubeadm control-plane node, healthy -----------------------------------------------------

CA_FP = "6f1d2c" + "0" * 58


def control_plane(node: str, ip: str, version: str = "v1.29.3") -> tuple[dict[str, Any], Members]:
    minor = version.split(".")[1]
    node_json = {
        "name": node, "hostname": node, "os": "linux", "distro": "Ubuntu 22.04.4 LTS",
        "kernel": "5.15.0-105-generic", "arch": "x86_64", "uptime_seconds": 864000,
        "boot_time": "2026-11-12T11:30:00Z", "timezone": "UTC", "utc_offset_seconds": 0,
        "cpus": 4, "memory_bytes": 8254720000,
        "versions": {"kubelet": version, "kubeadm": version, "containerd": "1.7.13", "docker": None,
                     "kube-proxy": version, "runc": "1.1.12"},
        "roles": ["control-plane"], "runtime": "containerd", "init": "systemd",
    }
    server = f"https://{ip}:6443"
    m: Members = {}
    m["commands/uname.txt"] = f"Linux {node} 5.15.0-105-generic #115-Ubuntu SMP Mon Apr 15 09:52:04 UTC 2024 x86_64 x86_64 x86_64 GNU/Linux\n"
    m["commands/uptime.txt"] = "864000.12 3421000.55\n"
    m["files/etc/os-release"] = ('PRETTY_NAME="Ubuntu 22.04.4 LTS"\nNAME="Ubuntu"\nVERSION_ID="22.04"\n'
                                 'VERSION="22.04.4 LTS (Jammy Jellyfish)"\nID=ubuntu\nID_LIKE=debian\n')
    m["commands/swaps.txt"] = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
    m["commands/meminfo.txt"] = ("MemTotal:        8061248 kB\nMemFree:         2201232 kB\nMemAvailable:    5409600 kB\n"
                                 "Buffers:          212044 kB\nCached:          2988312 kB\nSwapTotal:             0 kB\n"
                                 "SwapFree:              0 kB\n")
    m["commands/free.txt"] = ("               total        used        free      shared  buff/cache   available\n"
                              "Mem:      8254717952  2716565504  2254061568     3211264  3284090880  5539430400\n"
                              "Swap:              0           0           0\n")
    m["commands/df.txt"] = (
        "Filesystem     Type     1B-blocks        Used   Available Capacity Mounted on\n"
        "tmpfs          tmpfs    825470976     2084864   823386112       1% /run\n"
        "/dev/sda2      ext4   105089261568 23671267328 76033818624      24% /\n"
        "tmpfs          tmpfs   4127354880           0  4127354880       0% /dev/shm\n"
        "/dev/sda1      vfat     1124999168     6369280  1118629888       1% /boot/efi\n")
    m["commands/df-inodes.txt"] = (
        "Filesystem     Type     Inodes  IUsed   IFree IUse% Mounted on\n"
        "tmpfs          tmpfs   1007655   1206 1006449    1% /run\n"
        "/dev/sda2      ext4    6553600 312811 6240789    5% /\n")
    m["commands/mounts.txt"] = (
        "/dev/sda2 / ext4 rw,relatime 0 0\n"
        "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\n"
        "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
        "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate,memory_recursiveprot 0 0\n"
        "tmpfs /run tmpfs rw,nosuid,nodev,noexec,relatime,size=806124k,mode=755,inode64 0 0\n"
        "/dev/sda1 /boot/efi vfat rw,relatime,fmask=0077,dmask=0077 0 0\n"
        "overlay /run/containerd/io.containerd.runtime.v2.task/k8s.io/4e1b/rootfs overlay rw,relatime,lowerdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/41/fs 0 0\n")
    m["commands/cmdline.txt"] = "BOOT_IMAGE=/vmlinuz-5.15.0-105-generic root=UUID=2b9c6c1e-2f2a-4c47-9a55-0c2f7e4d0b61 ro quiet splash\n"
    m["commands/cgroup.txt"] = "cgroup2fs\n"
    m["commands/lsmod.txt"] = ("Module                  Size  Used by\nvxlan                  90112  0\nbr_netfilter           32768  0\n"
                               "bridge                307200  1 br_netfilter\noverlay               151552  12\n"
                               "nf_conntrack          172032  5 xt_conntrack,nf_nat,xt_nat,nf_conntrack_netlink,xt_MASQUERADE\n")
    m["commands/sysctl.txt"] = "".join(f"{k} = {v}\n" for k, v in sorted({
        "fs.file-max": "9223372036854775807", "fs.inotify.max_user_instances": "8192",
        "fs.inotify.max_user_watches": "524288", "kernel.hostname": node, "kernel.osrelease": "5.15.0-105-generic",
        "kernel.panic": "10", "kernel.panic_on_oops": "1", "kernel.pid_max": "4194304",
        "net.bridge.bridge-nf-call-ip6tables": "1", "net.bridge.bridge-nf-call-iptables": "1",
        "net.core.somaxconn": "4096", "net.ipv4.conf.all.forwarding": "1", "net.ipv4.conf.all.rp_filter": "2",
        "net.ipv4.conf.default.forwarding": "1", "net.ipv4.ip_forward": "1",
        "net.ipv4.ip_local_port_range": "32768\t60999", "net.ipv4.tcp_keepalive_time": "7200",
        "net.ipv6.conf.all.forwarding": "0", "net.netfilter.nf_conntrack_count": "1873",
        "net.netfilter.nf_conntrack_max": "131072", "vm.max_map_count": "65530", "vm.overcommit_memory": "1",
        "vm.panic_on_oom": "0", "vm.swappiness": "60"}.items()))
    m["commands/conntrack-count.txt"] = "net.netfilter.nf_conntrack_count = 1873\nnet.netfilter.nf_conntrack_max = 131072\n"
    m["commands/timedatectl.txt"] = ("Timezone=UTC\nLocalRTC=no\nCanNTP=yes\nNTP=yes\nNTPSynchronized=yes\n"
                                     "TimeUSec=Sun 2026-11-22 11:30:02 UTC\nRTCTimeUSec=Sun 2026-11-22 11:30:02 UTC\n")
    m["commands/kernel-config.txt"] = "".join(f"{k}={v}\n" for k, v in (
        ("CONFIG_NAMESPACES", "y"), ("CONFIG_NET_NS", "y"), ("CONFIG_PID_NS", "y"), ("CONFIG_IPC_NS", "y"),
        ("CONFIG_UTS_NS", "y"), ("CONFIG_CGROUPS", "y"), ("CONFIG_CGROUP_CPUACCT", "y"), ("CONFIG_CGROUP_DEVICE", "y"),
        ("CONFIG_CGROUP_FREEZER", "y"), ("CONFIG_CGROUP_SCHED", "y"), ("CONFIG_CPUSETS", "y"), ("CONFIG_MEMCG", "y"),
        ("CONFIG_KEYS", "y"), ("CONFIG_VETH", "m"), ("CONFIG_BRIDGE", "m"), ("CONFIG_BRIDGE_NETFILTER", "m"),
        ("CONFIG_IP_NF_FILTER", "m"), ("CONFIG_IP_NF_TARGET_MASQUERADE", "m"),
        ("CONFIG_NETFILTER_XT_MATCH_ADDRTYPE", "m"), ("CONFIG_NETFILTER_XT_MATCH_CONNTRACK", "m"),
        ("CONFIG_NF_NAT", "m"), ("CONFIG_POSIX_MQUEUE", "y"), ("CONFIG_OVERLAY_FS", "m"), ("CONFIG_VXLAN", "m")))
    m["commands/binaries.json"] = j({b: {"path": p, "version": v} for b, p, v in (
        ("conntrack", "/usr/sbin/conntrack", "1.4.6"), ("crictl", "/usr/bin/crictl", "1.29.0"),
        ("ebtables", "/usr/sbin/ebtables", "1.8.7"), ("ethtool", "/usr/sbin/ethtool", "5.16"),
        ("ip", "/usr/sbin/ip", "5.15.0"), ("iptables", "/usr/sbin/iptables", "1.8.7"),
        ("mount", "/usr/bin/mount", "2.37.2"), ("nsenter", "/usr/bin/nsenter", "2.37.2"),
        ("socat", "/usr/bin/socat", "1.7.4.1"))})
    m["commands/hostname-i.txt"] = f"{ip}\n"
    m["commands/ip-addr.txt"] = (
        "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000\n"
        "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00 promiscuity 0 minmtu 0 maxmtu 0\n"
        "    inet 127.0.0.1/8 scope host lo\n       valid_lft forever preferred_lft forever\n"
        "2: ens3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000\n"
        "    link/ether 52:54:00:3a:1c:7e brd ff:ff:ff:ff:ff:ff promiscuity 0 minmtu 68 maxmtu 65535\n"
        f"    inet {ip}/24 brd {ip.rsplit('.', 1)[0]}.255 scope global ens3\n       valid_lft forever preferred_lft forever\n"
        "3: flannel.1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue state UNKNOWN group default\n"
        "    link/ether 7e:26:1d:4f:92:0a brd ff:ff:ff:ff:ff:ff promiscuity 0 minmtu 68 maxmtu 65535\n"
        "    vxlan id 1 local 192.168.10.11 dev ens3 srcport 0 0 dstport 8472 nolearning ttl auto ageing 300\n"
        "    inet 10.244.0.0/32 scope global flannel.1\n       valid_lft forever preferred_lft forever\n"
        "4: cni0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue state UP group default qlen 1000\n"
        "    link/ether 0a:58:0a:f4:00:01 brd ff:ff:ff:ff:ff:ff promiscuity 0 minmtu 68 maxmtu 65535\n"
        "    bridge forward_delay 1500 hello_time 200 max_age 2000 ageing_time 30000 stp_state 0 priority 32768\n"
        "    inet 10.244.0.1/24 brd 10.244.0.255 scope global cni0\n       valid_lft forever preferred_lft forever\n")
    gw = ip.rsplit(".", 1)[0] + ".1"
    m["commands/ip-route.txt"] = (
        f"default via {gw} dev ens3 proto static\n"
        "10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1\n"
        "10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink\n"
        f"{ip.rsplit('.', 1)[0]}.0/24 dev ens3 proto kernel scope link src {ip}\n"
        f"local {ip} dev ens3 table local proto kernel scope host src {ip}\n"
        "local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1\n")
    m["commands/iptables-version.txt"] = "iptables v1.8.7 (nf_tables)\n"
    m["commands/iptables-save.txt"] = (
        f"# Generated by iptables-save v1.8.7 (nf_tables) on Sun Nov 22 11:30:05 2026\n"
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        ":FLANNEL-FWD - [0:0]\n:KUBE-FIREWALL - [0:0]\n:KUBE-FORWARD - [0:0]\n:KUBE-SERVICES - [0:0]\n"
        "-A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL\n"
        "-A FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD\n"
        "-A FORWARD -m comment --comment \"flanneld forward\" -j FLANNEL-FWD\n"
        "-A FLANNEL-FWD -s 10.244.0.0/16 -m comment --comment \"flanneld forward\" -j ACCEPT\n"
        "-A FLANNEL-FWD -d 10.244.0.0/16 -m comment --comment \"flanneld forward\" -j ACCEPT\n"
        "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark 0x4000/0x4000 -j ACCEPT\n"
        "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
        "COMMIT\n"
        "*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-NPX46M4PTMTKRN6Y - [0:0]\n"
        "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
        "-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m comment --comment \"default/kubernetes:https cluster IP\" -m tcp --dport 443 -j KUBE-SVC-NPX46M4PTMTKRN6Y\n"
        "COMMIT\n")
    m["commands/ss-listen.txt"] = (
        f"LISTEN 0      4096               *:6443             *:*    users:((\"kube-apiserver\",pid=2101,fd=7))\n"
        "LISTEN 0      4096               *:10250            *:*    users:((\"kubelet\",pid=1234,fd=20))\n"
        "LISTEN 0      4096       127.0.0.1:10248      0.0.0.0:*    users:((\"kubelet\",pid=1234,fd=18))\n"
        "LISTEN 0      4096       127.0.0.1:10257      0.0.0.0:*    users:((\"kube-controller\",pid=2201,fd=3))\n"
        "LISTEN 0      4096       127.0.0.1:10259      0.0.0.0:*    users:((\"kube-scheduler\",pid=2251,fd=3))\n"
        f"LISTEN 0      4096    {ip}:2379         0.0.0.0:*    users:((\"etcd\",pid=2001,fd=9))\n"
        f"LISTEN 0      4096    {ip}:2380         0.0.0.0:*    users:((\"etcd\",pid=2001,fd=8))\n"
        "LISTEN 0      4096               *:10256            *:*    users:((\"kube-proxy\",pid=2610,fd=12))\n"
        "LISTEN 0      128          0.0.0.0:22         0.0.0.0:*    users:((\"sshd\",pid=811,fd=3))\n")
    m["commands/processes.json"] = j([
        {"pid": 1234, "name": "kubelet", "cmdline": "/usr/bin/kubelet --bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf --config=/var/lib/kubelet/config.yaml --container-runtime-endpoint=unix:///var/run/containerd/containerd.sock --pod-infra-container-image=registry.k8s.io/pause:3.9",
         "rss": 98566144, "cpu": 2.1, "fds": 61, "inotify": 41},
        {"pid": 2101, "name": "kube-apiserver", "cmdline": "kube-apiserver --advertise-address=" + ip, "rss": 412090368, "cpu": 4.4, "fds": 140, "inotify": 0},
        {"pid": 2001, "name": "etcd", "cmdline": "etcd --data-dir=/var/lib/etcd", "rss": 98304000, "cpu": 1.9, "fds": 80, "inotify": 0},
        {"pid": 812, "name": "containerd", "cmdline": "/usr/bin/containerd", "rss": 61865984, "cpu": 0.9, "fds": 120, "inotify": 2}])
    m["commands/crictl-info.json"] = j({"status": {"conditions": [
        {"type": "RuntimeReady", "status": True, "reason": "", "message": ""},
        {"type": "NetworkReady", "status": True, "reason": "", "message": ""}]},
        "config": {"containerd": {"snapshotter": "overlayfs", "defaultRuntimeName": "runc"}, "cni": {"binDir": "/opt/cni/bin", "confDir": "/etc/cni/net.d"}}})
    containers = [("etcd", "registry.k8s.io/etcd:3.5.12-0"), ("kube-apiserver", f"registry.k8s.io/kube-apiserver:{version}"),
                  ("kube-controller-manager", f"registry.k8s.io/kube-controller-manager:{version}"),
                  ("kube-scheduler", f"registry.k8s.io/kube-scheduler:{version}"), ("kube-proxy", f"registry.k8s.io/kube-proxy:{version}"),
                  ("kube-flannel", "docker.io/flannel/flannel:v0.24.2"), ("coredns", "registry.k8s.io/coredns/coredns:v1.11.1")]
    m["commands/crictl-ps.json"] = j({"containers": [
        {"id": hashlib.sha256(n.encode()).hexdigest(), "podSandboxId": hashlib.sha256(("sb" + n).encode()).hexdigest(),
         "metadata": {"name": n, "attempt": 0}, "image": {"image": img}, "imageRef": "sha256:" + hashlib.sha256(img.encode()).hexdigest(),
         "state": "CONTAINER_RUNNING", "createdAt": "1763805481000000000", "labels": {"io.kubernetes.container.name": n}, "annotations": {}}
        for n, img in containers]})
    m["commands/crictl-images.json"] = j({"images": [{"id": "sha256:" + hashlib.sha256(img.encode()).hexdigest(), "repoTags": [img], "size": "57236178"} for _, img in containers]})
    m["commands/systemctl-failed.txt"] = ""
    for unit, pid in (("kubelet", 1234), ("containerd", 812)):
        m[f"commands/systemctl-show-{unit}.txt"] = (f"Id={unit}.service\nLoadState=loaded\nActiveState=active\nSubState=running\n"
                                                    f"UnitFileState=enabled\nMainPID={pid}\nNRestarts=0\n")
    m["commands/cni-bin.txt"] = "bandwidth\nbridge\ndhcp\nfirewall\nflannel\nhost-device\nhost-local\nipvlan\nloopback\nmacvlan\nportmap\nptp\nsbr\nstatic\ntuning\nvlan\nvrf\n"
    m["files/etc/cni/net.d/10-flannel.conflist"] = j({"name": "cbr0", "cniVersion": "0.3.1", "plugins": [
        {"type": "flannel", "delegate": {"hairpinMode": True, "isDefaultGateway": True}},
        {"type": "portmap", "capabilities": {"portMappings": True}}]})
    m["files/run/flannel/subnet.env"] = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.0.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n"
    m["files/etc/containerd/config.toml"] = (
        "version = 2\n\n[plugins]\n  [plugins.\"io.containerd.grpc.v1.cri\"]\n"
        "    sandbox_image = \"registry.k8s.io/pause:3.9\"\n"
        "    [plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
        "      default_runtime_name = \"runc\"\n"
        "      [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\n"
        "        runtime_type = \"io.containerd.runc.v2\"\n"
        "        [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n"
        "          SystemdCgroup = true\n")
    m["files/var/lib/kubelet/config.yaml"] = (
        "apiVersion: kubelet.config.k8s.io/v1beta1\nauthentication:\n  anonymous:\n    enabled: false\n  webhook:\n"
        "    cacheTTL: 0s\n    enabled: true\n  x509:\n    clientCAFile: /etc/kubernetes/pki/ca.crt\nauthorization:\n"
        "  mode: Webhook\ncgroupDriver: systemd\nclusterDNS:\n- 10.96.0.10\nclusterDomain: cluster.local\n"
        "containerRuntimeEndpoint: \"\"\ncpuManagerReconcilePeriod: 0s\nevictionPressureTransitionPeriod: 0s\n"
        "fileCheckFrequency: 0s\nhealthzBindAddress: 127.0.0.1\nhealthzPort: 10248\nhttpCheckFrequency: 0s\n"
        "imageMinimumGCAge: 0s\nkind: KubeletConfiguration\nlogging:\n  flushFrequency: 0\n  options:\n    json:\n"
        "      infoBufferSize: \"0\"\n  verbosity: 0\nmemorySwap: {}\nnodeStatusReportFrequency: 0s\n"
        "nodeStatusUpdateFrequency: 0s\nresolvConf: /run/systemd/resolve/resolv.conf\nrotateCertificates: true\n"
        "runtimeRequestTimeout: 0s\nshutdownGracePeriod: 0s\nshutdownGracePeriodCriticalPods: 0s\n"
        "staticPodPath: /etc/kubernetes/manifests\nstreamingConnectionIdleTimeout: 0s\nsyncFrequency: 0s\n"
        "volumeStatsAggPeriod: 0s\n")
    m["files/var/lib/kubelet/kubeadm-flags.env"] = (
        'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock '
        '--pod-infra-container-image=registry.k8s.io/pause:3.9"\n')
    m["files/etc/resolv.conf"] = "# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch example.internal\n"
    m["files/run/systemd/resolve/resolv.conf"] = "nameserver 192.168.10.2\nsearch example.internal\n"
    client_file = ("    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem\n"
                   "    client-key: /var/lib/kubelet/pki/kubelet-client-current.pem\n")
    admin_data = ('    client-certificate-data: <redacted:cert subject="O=kubeadm:cluster-admins, CN=kubernetes-admin" '
                  'issuer="CN=kubernetes" not_after="2026-12-01T08:00:00Z" sha256="9a0b1c">\n'
                  "    client-key-data: <redacted:pem-private-key:4e5f6a>\n")
    m["files/etc/kubernetes/kubelet.conf"] = kubeconfig(server, f"system:node:{node}", client_file)
    m["files/etc/kubernetes/admin.conf"] = kubeconfig(server, "kubernetes-admin", admin_data)
    m["files/etc/kubernetes/controller-manager.conf"] = kubeconfig(server, "system:kube-controller-manager", admin_data.replace("kubeadm:cluster-admins, CN=kubernetes-admin", "CN=system:kube-controller-manager"))
    m["files/etc/kubernetes/scheduler.conf"] = kubeconfig(server, "system:kube-scheduler", admin_data.replace("kubeadm:cluster-admins, CN=kubernetes-admin", "CN=system:kube-scheduler"))
    for comp, extra in (("etcd", ["--data-dir=/var/lib/etcd", f"--listen-client-urls=https://127.0.0.1:2379,https://{ip}:2379"]),
                        ("kube-apiserver", [f"--advertise-address={ip}", "--secure-port=6443", "--service-cluster-ip-range=10.96.0.0/12", "--etcd-servers=https://127.0.0.1:2379"]),
                        ("kube-controller-manager", ["--kubeconfig=/etc/kubernetes/controller-manager.conf", "--cluster-cidr=10.244.0.0/16", "--allocate-node-cidrs=true"]),
                        ("kube-scheduler", ["--kubeconfig=/etc/kubernetes/scheduler.conf", "--leader-elect=true"])):
        img = "registry.k8s.io/etcd:3.5.12-0" if comp == "etcd" else f"registry.k8s.io/{comp}:{version}"
        cmd = "\n".join(f"    - {a}" for a in [comp] + extra)
        m[f"files/etc/kubernetes/manifests/{comp}.yaml"] = (
            f"apiVersion: v1\nkind: Pod\nmetadata:\n  labels:\n    component: {comp}\n    tier: control-plane\n"
            f"  name: {comp}\n  namespace: kube-system\nspec:\n  containers:\n  - command:\n{cmd}\n    image: {img}\n"
            f"    name: {comp}\n  hostNetwork: true\n  priorityClassName: system-node-critical\n")
    m["certs.json"] = j({"certificates": [
        cert("/etc/kubernetes/pki/ca.crt", "CN=kubernetes", "2035-11-29T08:00:00Z", is_ca=True, fp=CA_FP, sans=["DNS:kubernetes"]),
        cert("/etc/kubernetes/pki/apiserver.crt", "CN=kube-apiserver", "2027-06-01T08:00:00Z",
             sans=["DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local",
                   f"DNS:{node}", "IP:10.96.0.1", f"IP:{ip}"]),
        cert("/etc/kubernetes/pki/apiserver-kubelet-client.crt", "O=kubeadm:cluster-admins, CN=kube-apiserver-kubelet-client", "2027-06-01T08:00:00Z"),
        cert("/etc/kubernetes/pki/front-proxy-ca.crt", "CN=front-proxy-ca", "2035-11-29T08:00:00Z", is_ca=True, issuer="CN=front-proxy-ca"),
        cert("/etc/kubernetes/pki/etcd/ca.crt", "CN=etcd-ca", "2035-11-29T08:00:00Z", is_ca=True, issuer="CN=etcd-ca"),
        cert("/etc/kubernetes/pki/etcd/server.crt", f"CN={node}", "2027-06-01T08:00:00Z", issuer="CN=etcd-ca", sans=[f"DNS:{node}", "DNS:localhost", f"IP:{ip}", "IP:127.0.0.1"]),
        cert("/var/lib/kubelet/pki/kubelet-client-current.pem", f"O=system:nodes, CN=system:node:{node}", "2027-08-20T11:02:00Z"),
        cert("/var/lib/kubelet/pki/kubelet.crt", f"CN={node}@1763805480", "2027-06-01T08:00:00Z", issuer=f"CN={node}-ca@1763805480", sans=[f"DNS:{node}"]),
        cert("/etc/kubernetes/kubelet.conf", "CN=kubernetes", "2035-11-29T08:00:00Z", is_ca=True, fp=CA_FP,
             kubeconfig="/etc/kubernetes/kubelet.conf#clusters[0].certificate-authority-data"),
        cert("/etc/kubernetes/admin.conf", "CN=kubernetes", "2035-11-29T08:00:00Z", is_ca=True, fp=CA_FP,
             kubeconfig="/etc/kubernetes/admin.conf#clusters[0].certificate-authority-data"),
        cert("/etc/kubernetes/admin.conf", "O=kubeadm:cluster-admins, CN=kubernetes-admin", "2027-06-01T08:00:00Z",
             kubeconfig="/etc/kubernetes/admin.conf#users[0].client-certificate-data"),
    ]})
    # logs
    m["logs/journal/kubelet.log"] = journal(node, "kubelet", 1234, [
        (0.0, klog("I", 0.0, 1234, "server.go:487", f'"Kubelet version" kubeletVersion="{version}"')),
        (0.01, klog("I", 0.01, 1234, "server.go:489", '"Golang settings" GOGC="" GOMAXPROCS="" GOTRACEBACK=""')),
        (0.02, klog("I", 0.02, 1234, "container_manager_linux.go:270", '"Container manager verified user specified cgroup-root exists" cgroupRoot=[]')),
        (0.03, klog("I", 0.03, 1234, "kubelet_node_status.go:73", f'"Attempting to register node" node="{node}"')),
        (0.05, klog("I", 0.05, 1234, "kubelet_node_status.go:76", f'"Successfully registered node" node="{node}"')),
        (0.2, klog("I", 0.2, 1234, "kubelet.go:2431", '"SyncLoop (PLEG): event for pod" pod="kube-system/coredns-76f75df574-8xk2p" event={"Type":"ContainerStarted"}')),
        (12.0, klog("I", 12.0, 1234, "image_gc_manager.go:391", '"Image garbage collection succeeded"')),
        (29.5, klog("I", 29.5, 1234, "kubelet_getters.go:187", f'"Pod status is inconsistent with cached status for pod, a reconciliation should be triggered" pod="kube-system/kube-proxy-5k75n"')),
    ])
    m["logs/journal/containerd.log"] = journal(node, "containerd", 812, [
        (0.0, 'time="2026-11-22T11:00:00.000000000Z" level=info msg="starting containerd" revision=7c3aca7a610df76212171d200ca3811ff6096eb8 version=1.7.13'),
        (0.01, 'time="2026-11-22T11:00:00.600000000Z" level=info msg="serving..." address=/run/containerd/containerd.sock'),
        (0.02, 'time="2026-11-22T11:00:00.700000000Z" level=info msg="containerd successfully booted in 0.071240s"'),
    ])
    m["logs/kernel.log"] = journal(node, "kernel", 0, [
        (0.0, "Linux version 5.15.0-105-generic (buildd@lcy02-amd64-007) (gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0) #115-Ubuntu SMP"),
        (0.1, "bridge: filtering via arp/ip/ip6tables is no longer available by default. Update your scripts to load br_netfilter if you need this."),
        (0.2, "IPv6: ADDRCONF(NETDEV_CHANGE): cni0: link becomes ready"),
    ]).replace("kernel[0]:", "kernel:")
    m[f"logs/var/log/pods/kube-system_coredns-76f75df574-8xk2p_6c1d2e3f-aaaa-bbbb-cccc-ddddeeeeffff/coredns/0.log"] = cri([
        (0.3, ".:53"), (0.31, "[INFO] plugin/reload: Running configuration SHA512 = 591cf328cccc12bc490481273e738df59329c62c0b729d94e8b61db9961c2fa5"),
        (0.32, "CoreDNS-1.11.1"), (0.33, "linux/amd64, go1.20.7, ae2bbc2")], stream="stdout")
    m[f"logs/var/log/pods/kube-system_kube-apiserver-{node}_5e1c0a0d3b5b6f1e2d3c4b5a69788796/kube-apiserver/0.log"] = cri([
        (0.0, klog("I", 0.0, 1, "options.go:222", "external host was not specified, using " + ip)),
        (0.1, klog("I", 0.1, 1, "secure_serving.go:213", "Serving securely on [::]:6443")),
        (1.0, klog("I", 1.0, 1, "controller.go:624", "quota admission added evaluator for: leases.coordination.k8s.io"))])
    m[f"logs/var/log/pods/kube-flannel_kube-flannel-ds-7xk2p_0b1c2d3e-1111-2222-3333-444455556666/kube-flannel/0.log"] = cri([
        (0.1, klog("I", 0.1, 1, "main.go:434", f"Using interface with name ens3 and address {ip}")),
        (0.11, klog("I", 0.11, 1, "main.go:456", f"Defaulting external address to interface address ({ip})")),
        (0.2, klog("I", 0.2, 1, "vxlan_network.go:66", "watching for new subnet leases"))])
    m[f"logs/var/log/pods/kube-system_kube-proxy-5k75n_1a2b3c4d-1111-2222-3333-444455556666/kube-proxy/0.log"] = cri([
        (0.1, klog("I", 0.1, 1, "server.go:226", f'"Successfully retrieved node IP(s)" IPs=["{ip}"]')),
        (0.2, klog("I", 0.2, 1, "server_others.go:152", '"Using iptables Proxier"'))])
    return node_json, m


def cluster_objects(nodes: list[dict[str, Any]], pods: list[dict[str, Any]], events: list[dict[str, Any]],
                    extra: dict[str, list[dict[str, Any]]] | None = None) -> Members:
    def lst(kind: str, items: list[dict[str, Any]]) -> str:
        return j({"apiVersion": "v1", "kind": kind, "metadata": {"resourceVersion": "918273"}, "items": items})
    out = {
        "cluster/nodes.json": lst("NodeList", nodes),
        "cluster/pods.json": lst("PodList", pods),
        "cluster/events.json": lst("EventList", events),
        "cluster/namespaces.json": lst("NamespaceList", [
            {"metadata": {"name": n}, "status": {"phase": "Active"}} for n in ("default", "kube-flannel", "kube-node-lease", "kube-public", "kube-system", "apps")]),
        "cluster/services.json": lst("ServiceList", [
            {"metadata": {"name": "kubernetes", "namespace": "default"}, "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}},
            {"metadata": {"name": "kube-dns", "namespace": "kube-system"}, "spec": {"clusterIP": "10.96.0.10", "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}]}}]),
        "cluster/apiservices.json": lst("APIServiceList", [
            {"metadata": {"name": n}, "spec": {"group": n.split(".", 1)[1] if "." in n else "", "version": n.split(".")[0]},
             "status": {"conditions": [{"type": "Available", "status": "True", "reason": "Local", "message": "Local APIServices are always available"}]}}
            for n in ("v1.", "v1.apps", "v1.batch", "v1.coordination.k8s.io", "v1.networking.k8s.io")]),
        "cluster/pvcs.json": lst("PersistentVolumeClaimList", []),
        "cluster/hpas.json": lst("HorizontalPodAutoscalerList", []),
        "cluster/configmaps.json": lst("ConfigMapList", [
            {"metadata": {"name": "coredns", "namespace": "kube-system"}, "keys": ["Corefile"], "size_bytes": 362},
            {"metadata": {"name": "kubeadm-config", "namespace": "kube-system"}, "keys": ["ClusterConfiguration"], "size_bytes": 1108},
            {"metadata": {"name": "kube-proxy", "namespace": "kube-system"}, "keys": ["config.conf", "kubeconfig.conf"], "size_bytes": 2118}]),
    }
    for k, items in (extra or {}).items():
        out[f"cluster/{k}.json"] = lst(k, items)
    return out


def node_object(name: str, ip: str, version: str, roles: list[str], *, ready: str = "True", pressure: tuple[str, ...] = (),
                reason: str = "", arch: str = "amd64", os_image: str = "Ubuntu 22.04.4 LTS", runtime: str = "containerd://1.7.13",
                os_name: str = "linux") -> dict[str, Any]:
    ok_reason = {"MemoryPressure": "KubeletHasSufficientMemory", "DiskPressure": "KubeletHasNoDiskPressure", "PIDPressure": "KubeletHasSufficientPID"}
    conds = [{"type": t, "status": "True" if t in pressure else "False",
              "reason": f"KubeletHas{t}" if t in pressure else ok_reason[t],
              "message": f"kubelet has {t.lower()}" if t in pressure else ok_reason[t].replace("KubeletHas", "kubelet has "),
              "lastHeartbeatTime": "2026-11-22T11:29:10Z", "lastTransitionTime": "2026-11-22T10:40:00Z"}
             for t in ("MemoryPressure", "DiskPressure", "PIDPressure")]
    conds.append({"type": "Ready", "status": ready, "reason": "KubeletReady" if ready == "True" else "KubeletNotReady",
                  "message": "kubelet is posting ready status" if ready == "True" else reason,
                  "lastHeartbeatTime": "2026-11-22T11:29:10Z", "lastTransitionTime": "2026-11-20T08:00:00Z"})
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": os_name, "kubernetes.io/arch": arch}
    for r in roles:
        labels[f"node-role.kubernetes.io/{r}"] = ""
    spec: dict[str, Any] = {"podCIDR": "10.244.0.0/24"}
    taints = []
    if "control-plane" in roles:
        taints.append({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"})
    if "DiskPressure" in pressure:
        taints.append({"key": "node.kubernetes.io/disk-pressure", "effect": "NoSchedule", "timeAdded": "2026-11-22T10:40:00Z"})
    if taints:
        spec["taints"] = taints
    return {"metadata": {"name": name, "labels": labels}, "spec": spec,
            "status": {"conditions": conds, "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
                       "capacity": {"cpu": "4", "memory": "8061248Ki", "pods": "110", "ephemeral-storage": "102626232Ki"},
                       "allocatable": {"cpu": "4", "memory": "7958848Ki", "pods": "110", "ephemeral-storage": "94580335255"},
                       "nodeInfo": {"kubeletVersion": version, "kubeProxyVersion": version, "containerRuntimeVersion": runtime,
                                    "osImage": os_image, "architecture": arch, "operatingSystem": os_name}}}


def pod_object(ns: str, name: str, node: str, image: str, container: str, *, phase: str = "Running", waiting: str | None = None,
               restarts: int = 0, host_network: bool = False, reason: str | None = None, message: str | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {"running": {"startedAt": "2026-11-22T10:00:00Z"}} if not waiting else {"waiting": {"reason": waiting, "message": message or ""}}
    status: dict[str, Any] = {"phase": phase, "hostIP": "", "containerStatuses": [
        {"name": container, "image": image, "ready": waiting is None and phase == "Running", "restartCount": restarts,
         "started": waiting is None, "state": state}]}
    if reason:
        status.update({"reason": reason, "message": message or "", "containerStatuses": []})
    spec: dict[str, Any] = {"nodeName": node, "containers": [{"name": container, "image": image}]}
    if host_network:
        spec.update({"hostNetwork": True, "dnsPolicy": "ClusterFirst"})
    return {"metadata": {"name": name, "namespace": ns, "uid": hashlib.md5(name.encode()).hexdigest()}, "spec": spec, "status": status}


def system_pods(node: str, version: str) -> list[dict[str, Any]]:
    pods = [pod_object("kube-system", f"{c}-{node}", node, f"registry.k8s.io/{c}:{version}" if c != "etcd" else "registry.k8s.io/etcd:3.5.12-0",
                       c, host_network=True) for c in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")]
    pods.append(pod_object("kube-system", "kube-proxy-5k75n", node, f"registry.k8s.io/kube-proxy:{version}", "kube-proxy", host_network=True))
    pods.append(pod_object("kube-flannel", "kube-flannel-ds-7xk2p", node, "docker.io/flannel/flannel:v0.24.2", "kube-flannel", host_network=True))
    return pods


# -- the broken kubeadm control plane --------------------------------------------------------


def broken_control_plane(node: str, ip: str) -> tuple[dict[str, Any], Members]:
    version = "v1.28.7"
    node_json, m = control_plane(node, ip, version)
    node_json["uptime_seconds"] = 3300
    node_json["boot_time"] = "2026-11-22T10:35:00Z"
    # swap came back after the reboot: /etc/fstab still had it
    m["commands/swaps.txt"] = ("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
                               "/swap.img                               file\t\t4194300\t\t0\t\t-2\n")
    m["commands/meminfo.txt"] = m["commands/meminfo.txt"].replace("SwapTotal:             0 kB\nSwapFree:              0 kB",
                                                                  "SwapTotal:       4194300 kB\nSwapFree:        4194300 kB")
    # containerd left at its default cgroupfs while the kubelet uses systemd
    m["files/etc/containerd/config.toml"] = m["files/etc/containerd/config.toml"].replace("SystemdCgroup = true", "SystemdCgroup = false")
    # the kubelet hands pods the systemd-resolved stub: CoreDNS forwards to itself
    m["files/var/lib/kubelet/config.yaml"] = m["files/var/lib/kubelet/config.yaml"].replace(
        "resolvConf: /run/systemd/resolve/resolv.conf", "resolvConf: /etc/resolv.conf")
    # the root filesystem is full: images, logs and an etcd backup nobody removed
    m["commands/df.txt"] = (
        "Filesystem     Type     1B-blocks        Used   Available Capacity Mounted on\n"
        "tmpfs          tmpfs    825470976     2084864   823386112       1% /run\n"
        "/dev/sda2      ext4   105089261568 101172531200  3916730368      97% /\n"
        "tmpfs          tmpfs   4127354880           0  4127354880       0% /dev/shm\n"
        "/dev/sda1      vfat     1124999168     6369280  1118629888       1% /boot/efi\n")
    m["commands/conntrack-count.txt"] = "net.netfilter.nf_conntrack_count = 131072\nnet.netfilter.nf_conntrack_max = 131072\n"
    # offline site: chrony has no reachable server
    m["commands/timedatectl.txt"] = m["commands/timedatectl.txt"].replace("NTPSynchronized=yes", "NTPSynchronized=no")
    m["commands/sysctl.txt"] = m["commands/sysctl.txt"].replace("net.netfilter.nf_conntrack_count = 1873", "net.netfilter.nf_conntrack_count = 131072")
    # the kubelet's client certificate expired two days ago (rotation failed while the node was down)
    certs = json.loads(m["certs.json"])
    for c in certs["certificates"]:
        if c["path"] == "/var/lib/kubelet/pki/kubelet-client-current.pem":
            c["not_after"] = "2026-11-20T09:14:00Z"
        if c["path"] == "/etc/kubernetes/pki/apiserver.crt":
            c["not_after"] = "2026-12-04T08:00:00Z"
    m["certs.json"] = j(certs)
    ps = json.loads(m["commands/crictl-ps.json"])
    for c in ps["containers"]:
        if c["metadata"]["name"] in ("kube-apiserver", "coredns"):
            c["state"] = "CONTAINER_EXITED"
            c["metadata"]["attempt"] = 9 if c["metadata"]["name"] == "kube-apiserver" else 14
    m["commands/crictl-ps.json"] = j(ps)
    m["commands/systemctl-show-kubelet.txt"] = ("Id=kubelet.service\nLoadState=loaded\nActiveState=activating\nSubState=auto-restart\n"
                                                "UnitFileState=enabled\nMainPID=0\nNRestarts=37\n")
    m["commands/systemctl-failed.txt"] = ""
    K = 1234
    kub: list[tuple[float, str]] = [
        (-20.0, klog("I", -20.0, K, "server.go:487", f'"Kubelet version" kubeletVersion="{version}"')),
        (-19.9, klog("I", -19.9, K, "kubelet_node_status.go:76", f'"Successfully registered node" node="{node}"')),
    ]
    # cgroup driver mismatch: the apiserver's sandbox is killed and re-created again and again
    for i in range(6):
        t = -18.0 + i * 2.5
        kub.append((t, klog("I", t, K, "kuberuntime_manager.go:1007", f'"No sandbox for pod can be found. Need to start a new one" pod="kube-system/kube-apiserver-{node}"')))
        kub.append((t + 0.4, klog("E", t + 0.4, K, "pod_workers.go:1300",
            f'"Error syncing pod, skipping" err="failed to \\"StartContainer\\" for \\"kube-apiserver\\" with CrashLoopBackOff: \\"back-off {min(10 * 2 ** i, 300)}s restarting failed container=kube-apiserver pod=kube-apiserver-{node}_kube-system(5e1c0a0d3b5b6f1e2d3c4b5a69788796)\\"" pod="kube-system/kube-apiserver-{node}" podUID="5e1c0a0d3b5b6f1e2d3c4b5a69788796"')))
        kub.append((t + 0.5, klog("E", t + 0.5, K, "kubelet_node_status.go:96",
            f'"Unable to register node with API server" err="Post \\"https://{ip}:6443/api/v1/nodes\\": dial tcp {ip}:6443: connect: connection refused" node="{node}"')))
    # while the apiserver is down the kubelet cannot renew its lease (every 10 s for 8 minutes)
    for i in range(48):
        t = -17.0 + i / 6
        kub.append((t, klog("E", t, K, "controller.go:146",
            f'"Failed to ensure lease exists, will retry" err="Get \\"https://{ip}:6443/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{node}?timeout=10s\\": dial tcp {ip}:6443: connect: connection refused" interval="7s"')))
    # disk pressure: image GC cannot free enough, pods are evicted, images are gone
    for i, t in enumerate((-6.0, -5.0, -4.0)):
        kub.append((t, klog("E", t, K, "kubelet.go:1400", '"Image garbage collection failed multiple times in a row" err="failed to garbage collect required amount of images. Attempted to free 8281598771 bytes, but only found 1073741824 bytes eligible to free."')))
    kub += [
        (-3.5, klog("W", -3.5, K, "eviction_manager.go:366", '"Eviction manager: attempting to reclaim" resourceName="ephemeral-storage"')),
        (-3.4, klog("I", -3.4, K, "eviction_manager.go:377", '"Eviction manager: must evict pod(s) to reclaim" resourceName="ephemeral-storage"')),
        (-3.3, klog("I", -3.3, K, "eviction_manager.go:596", '"Eviction manager: pod is evicted successfully" pod="apps/report-generator-6c7b9d8f5-q4w2e"')),
        (-3.2, klog("I", -3.2, K, "eviction_manager.go:596", '"Eviction manager: pod is evicted successfully" pod="apps/web-7c9d8b6f5-h2k4m"')),
    ]
    for i in range(4):
        t = -2.8 + i * 0.4
        kub.append((t, klog("E", t, K, "pod_workers.go:1300",
            '"Error syncing pod, skipping" err="failed to \\"StartContainer\\" for \\"web\\" with ImagePullBackOff: \\"Back-off pulling image \\\\\\"harbor.example.internal/apps/web:2.4.1\\\\\\"\\"" pod="apps/web-7c9d8b6f5-x7p9z" podUID="3c4d5e6f-1111-2222-3333-444455556666"')))
    # coredns loops
    for i in range(3):
        t = -2.0 + i * 0.5
        kub.append((t, klog("E", t, K, "pod_workers.go:1300",
            '"Error syncing pod, skipping" err="failed to \\"StartContainer\\" for \\"coredns\\" with CrashLoopBackOff: \\"back-off 5m0s restarting failed container=coredns pod=coredns-5dd5756b68-7sdxm_kube-system(6c1d2e3f-aaaa-bbbb-cccc-ddddeeeeffff)\\"" pod="kube-system/coredns-5dd5756b68-7sdxm" podUID="6c1d2e3f-aaaa-bbbb-cccc-ddddeeeeffff"')))
    # then the node was rebooted: swap is back, the client certificate has expired, the kubelet loops
    for i in range(5):
        t = 20.0 + i * 2.0
        kub.append((t, klog("E", t, K + 10 + i, "bootstrap.go:266", "part of the existing bootstrap client certificate in /etc/kubernetes/kubelet.conf is expired: 2026-11-20 09:14:00 +0000 UTC")))
        kub.append((t + 0.01, klog("E", t + 0.01, K + 10 + i, "run.go:74",
            '"command failed" err="failed to run Kubelet: running with swap on is not supported, please disable swap! or set --fail-swap-on flag to false. /proc/swaps contained: [Filename\\t\\t\\t\\tType\\t\\tSize\\t\\tUsed\\t\\tPriority /swap.img                               file\\t\\t4194300\\t\\t0\\t\\t-2]"')))
    m["logs/journal/kubelet.log"] = journal(node, "kubelet", K, sorted(kub))
    systemd_lines = []
    for i in range(5):
        t = 20.02 + i * 2.0
        systemd_lines += [(t, "kubelet.service: Main process exited, code=exited, status=1/FAILURE"),
                          (t + 0.001, "kubelet.service: Failed with result 'exit-code'."),
                          (t + 0.17, f"kubelet.service: Scheduled restart job, restart counter is at {33 + i}.")]
    m["logs/journal/kubelet.log"] += journal(node, "systemd", 1, systemd_lines)
    m["logs/kernel.log"] = journal(node, "kernel", 0, [
        (-40.0, "Linux version 5.15.0-105-generic (buildd@lcy02-amd64-007) (gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0) #115-Ubuntu SMP"),
        (-12.0, "nf_conntrack: nf_conntrack: table full, dropping packet"),
        (-11.9, "nf_conntrack: nf_conntrack: table full, dropping packet"),
        (-11.5, "nf_conntrack: nf_conntrack: table full, dropping packet"),
        (-9.0, "nf_conntrack: nf_conntrack: table full, dropping packet"),
        (1.0, "Adding 4194300k swap on /swap.img.  Priority:-2 extents:9 across:4587516k FS"),
    ]).replace("kernel[0]:", "kernel:")
    del m["logs/var/log/pods/kube-system_coredns-76f75df574-8xk2p_6c1d2e3f-aaaa-bbbb-cccc-ddddeeeeffff/coredns/0.log"]
    m["logs/var/log/pods/kube-system_coredns-5dd5756b68-7sdxm_6c1d2e3f-aaaa-bbbb-cccc-ddddeeeeffff/coredns/14.log"] = cri([
        (-2.3, ".:53"), (-2.29, "[INFO] plugin/reload: Running configuration SHA512 = 591cf328cccc12bc490481273e738df59329c62c0b729d94e8b61db9961c2fa5"),
        (-2.28, "CoreDNS-1.10.1"), (-2.27, "linux/amd64, go1.20, 055b2c3"),
        (-2.2, '[FATAL] plugin/loop: Loop (127.0.0.1:46458 -> :53) detected for zone ".", see https://coredns.io/plugins/loop#troubleshooting. Query: "HINFO 4547991504243258144.3688648895315093531."')],
        stream="stdout")
    api_log = "logs/var/log/pods/kube-system_kube-apiserver-{n}_5e1c0a0d3b5b6f1e2d3c4b5a69788796/kube-apiserver/0.log".format(n=node)
    m[api_log] = cri([
        (-18.2, klog("I", -18.2, 1, "secure_serving.go:213", "Serving securely on [::]:6443")),
        (-17.0, klog("E", -17.0, 1, "authentication.go:73", '"Unable to authenticate the request" err="[x509: certificate has expired or is not yet valid: current time 2026-11-22T10:43:00Z is after 2026-11-20T09:14:00Z, verifying certificate SN=4210, SKID=, AKID=1B:2C failed: x509: certificate has expired or is not yet valid: current time 2026-11-22T10:43:00Z is after 2026-11-20T09:14:00Z]"')),
        (-16.9, klog("I", -16.9, 1, "controller.go:128", "Shutting down kubernetes service endpoint reconciler"))])
    m["logs/var/log/pods/kube-system_kube-proxy-5k75n_1a2b3c4d-1111-2222-3333-444455556666/kube-proxy/0.log"] = cri([
        (-30.0, klog("I", -30.0, 1, "server.go:226", f'"Successfully retrieved node IP(s)" IPs=["{ip}"]')),
        (-29.9, klog("I", -29.9, 1, "server_others.go:152", '"Using iptables Proxier"')),
        (-10.0, klog("I", -10.0, 1, "conntrack.go:100", '"Set sysctl" entry="net/netfilter/nf_conntrack_max" value=131072'))])
    return node_json, m


def broken_cluster(node: str, ip: str) -> Members:
    version = "v1.28.7"
    pods = system_pods(node, version)
    for p in pods:
        if p["metadata"]["name"].startswith("kube-apiserver"):
            p["status"]["containerStatuses"][0].update({"ready": False, "restartCount": 9,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container=kube-apiserver"}}})
    pods += [
        pod_object("kube-system", "coredns-5dd5756b68-7sdxm", node, "registry.k8s.io/coredns/coredns:v1.10.1", "coredns",
                   waiting="CrashLoopBackOff", restarts=14, message="back-off 5m0s restarting failed container=coredns pod=coredns-5dd5756b68-7sdxm_kube-system"),
        pod_object("kube-system", "coredns-5dd5756b68-q9vbn", node, "registry.k8s.io/coredns/coredns:v1.10.1", "coredns",
                   waiting="CrashLoopBackOff", restarts=14, message="back-off 5m0s restarting failed container=coredns"),
        pod_object("apps", "web-7c9d8b6f5-x7p9z", node, "harbor.example.internal/apps/web:2.4.1", "web", phase="Pending",
                   waiting="ImagePullBackOff", message='Back-off pulling image "harbor.example.internal/apps/web:2.4.1"'),
        pod_object("apps", "web-7c9d8b6f5-h2k4m", node, "harbor.example.internal/apps/web:2.4.1", "web", phase="Failed", reason="Evicted",
                   message="The node was low on resource: ephemeral-storage. Threshold quantity: 10508926156, available: 3824932Ki. "),
        pod_object("apps", "report-generator-6c7b9d8f5-q4w2e", node, "harbor.example.internal/apps/report:1.9.0", "report", phase="Failed", reason="Evicted",
                   message="The node was low on resource: ephemeral-storage. Container report was using 41943040Ki, request is 0, has larger consumption of ephemeral-storage. "),
    ]
    nodes = [node_object(node, ip, version, ["control-plane"], ready="False", pressure=("DiskPressure",),
                         reason="container runtime status check may not have completed yet")]
    events = [
        {"metadata": {"name": f"{node}.17a9b3c4d5e6f708", "namespace": "default"}, "involvedObject": {"kind": "Node", "name": node},
         "reason": "EvictionThresholdMet", "message": "Attempting to reclaim ephemeral-storage", "type": "Warning", "count": 14,
         "source": {"component": "kubelet", "host": node}, "firstTimestamp": "2026-11-22T10:54:00Z", "lastTimestamp": "2026-11-22T10:57:00Z"},
        {"metadata": {"name": "web-7c9d8b6f5-x7p9z.17a9b3c4d5e6f709", "namespace": "apps"}, "involvedObject": {"kind": "Pod", "namespace": "apps", "name": "web-7c9d8b6f5-x7p9z"},
         "reason": "Failed", "message": 'Failed to pull image "harbor.example.internal/apps/web:2.4.1": rpc error: code = Unknown desc = failed to pull and unpack image "harbor.example.internal/apps/web:2.4.1": failed to resolve reference "harbor.example.internal/apps/web:2.4.1": failed to do request: Head "https://harbor.example.internal/v2/apps/web/manifests/2.4.1": dial tcp: lookup harbor.example.internal on 127.0.0.53:53: server misbehaving',
         "type": "Warning", "count": 22, "source": {"component": "kubelet", "host": node}, "firstTimestamp": "2026-11-22T10:57:00Z", "lastTimestamp": "2026-11-22T10:59:00Z"},
    ]
    return cluster_objects(nodes, pods, events)


def healthy_cluster(node: str, ip: str, version: str = "v1.29.3") -> Members:
    pods = system_pods(node, version)
    pods += [pod_object("kube-system", "coredns-76f75df574-8xk2p", node, "registry.k8s.io/coredns/coredns:v1.11.1", "coredns"),
             pod_object("kube-system", "coredns-76f75df574-tq6wz", node, "registry.k8s.io/coredns/coredns:v1.11.1", "coredns"),
             pod_object("apps", "web-7c9d8b6f5-x7p9z", node, "harbor.example.internal/apps/web:2.4.1", "web")]
    nodes = [node_object(node, ip, version, ["control-plane"])]
    events = [{"metadata": {"name": "web.17a9b3c4d5e6f708", "namespace": "apps"}, "involvedObject": {"kind": "Deployment", "namespace": "apps", "name": "web"},
               "reason": "ScalingReplicaSet", "message": "Scaled up replica set web-7c9d8b6f5 to 1", "type": "Normal", "count": 1,
               "source": {"component": "deployment-controller"}, "firstTimestamp": "2026-11-22T10:00:00Z", "lastTimestamp": "2026-11-22T10:00:00Z"}]
    out = cluster_objects(nodes, pods, events)
    out["cluster/endpoints.json"] = j({"apiVersion": "v1", "kind": "EndpointsList", "items": [
        {"metadata": {"name": "kube-dns", "namespace": "kube-system"},
         "subsets": [{"addresses": [{"ip": "10.244.0.2"}, {"ip": "10.244.0.3"}], "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}]}]},
        {"metadata": {"name": "kubernetes", "namespace": "default"}, "subsets": [{"addresses": [{"ip": ip}], "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}]}]})
    return out


def forwarding_worker(node: str, ip: str) -> tuple[dict[str, Any], Members]:
    """A worker whose FORWARD chain drops pod traffic (Docker's default) with IP forwarding off."""
    node_json, m = control_plane(node, ip)
    node_json["roles"] = ["worker"]
    for k in [k for k in m if "manifests/" in k or "kube-apiserver" in k or k.startswith("files/etc/kubernetes/") and k.endswith(("admin.conf", "controller-manager.conf", "scheduler.conf"))]:
        del m[k]
    m["commands/ss-listen.txt"] = "\n".join(l for l in m["commands/ss-listen.txt"].splitlines() if "kubelet" in l or "kube-proxy" in l or "sshd" in l) + "\n"
    certs = json.loads(m["certs.json"])
    certs["certificates"] = [c for c in certs["certificates"] if "/pki/" not in c["path"] or c["path"] in ("/etc/kubernetes/pki/ca.crt",) or "kubelet" in c["path"]]
    certs["certificates"] = [c for c in certs["certificates"] if "admin.conf" not in c["path"]]
    m["certs.json"] = j(certs)
    m["commands/sysctl.txt"] = m["commands/sysctl.txt"].replace("net.ipv4.ip_forward = 1", "net.ipv4.ip_forward = 0").replace(
        "net.ipv4.conf.all.forwarding = 1", "net.ipv4.conf.all.forwarding = 0")
    m["commands/iptables-save.txt"] = (
        "# Generated by iptables-save v1.8.7 (nf_tables) on Sun Nov 22 11:30:05 2026\n"
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:DOCKER - [0:0]\n:DOCKER-USER - [0:0]\n"
        "-A FORWARD -j DOCKER-USER\n-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
        "-A FORWARD -o docker0 -j DOCKER\n-A FORWARD -i docker0 ! -o docker0 -j ACCEPT\n-A DOCKER-USER -j RETURN\nCOMMIT\n")
    for k in [k for k in m if k.startswith("logs/var/log/pods/") and ("kube-apiserver" in k or "coredns" in k)]:
        del m[k]
    m["logs/var/log/pods/kube-system_coredns-76f75df574-tq6wz_7d2e3f4a-aaaa-bbbb-cccc-ddddeeeeffff/coredns/0.log"] = cri(
        [(i * 0.5, f"[ERROR] plugin/errors: 2 harbor.example.internal. A: read udp 10.244.1.4:{40112 + i}->192.168.10.2:53: i/o timeout") for i in range(12)],
        stream="stdout")
    return node_json, m


# -- writing -----------------------------------------------------------------------------------

COMMAND_SOURCES = {
    "uname": "uname -a", "uptime": "cat /proc/uptime", "swaps": "cat /proc/swaps", "free": "free -b", "meminfo": "cat /proc/meminfo",
    "df": "df -PT -B1", "df-inodes": "df -PTi", "mounts": "cat /proc/mounts", "cmdline": "cat /proc/cmdline",
    "cgroup": "stat -fc %T /sys/fs/cgroup", "lsmod": "lsmod", "sysctl": "sysctl -a", "conntrack-count": "sysctl net.netfilter.nf_conntrack_count net.netfilter.nf_conntrack_max",
    "kernel-config": "grep CONFIG_ /boot/config-$(uname -r)", "binaries": "(derived) required tools on PATH",
    "hostname-i": "hostname -i", "ip-addr": "ip -d addr", "ip-route": "ip route show table all", "iptables-version": "iptables --version",
    "iptables-save": "iptables-save", "ss-listen": "ss -tlnpH", "processes": "(derived) top processes", "crictl-info": "crictl info -o json",
    "crictl-ps": "crictl ps -a -o json", "crictl-images": "crictl images -o json", "systemctl-failed": "systemctl list-units --failed --no-legend",
    "cni-bin": "ls /opt/cni/bin",
}


def _item(node: str, rel: str, stored: Any) -> ItemRecord:
    if rel.startswith("commands/"):
        cid = rel.split("/", 1)[1].rsplit(".", 1)[0]
        kind, source, area = "command", COMMAND_SOURCES.get(cid, cid.replace("-", " ", 1) if cid.startswith("systemctl-show") else cid), "system"
        if cid.startswith("systemctl-show-"):
            source = f"systemctl show {cid[len('systemctl-show-'):]}"
    elif rel.startswith("files/"):
        cid, kind, source, area = "file:" + rel[5:], "file", rel[5:], "files"
    elif rel.startswith("logs/journal/"):
        unit = rel[len("logs/journal/"):].rsplit(".", 1)[0]
        cid, kind, source, area = f"journal-{unit}", "journal", f"journalctl -u {unit} -o short-iso-precise --since -72h", "logs"
    elif rel == "logs/kernel.log":
        cid, kind, source, area = "journal-kernel", "journal", "journalctl -k -o short-iso-precise --since -72h", "logs"
    elif rel.startswith("logs/"):
        cid, kind, source, area = "log:" + rel[4:], "file", rel[4:], "logs"
    else:
        cid, kind, source, area = rel.rsplit(".", 1)[0], "derived", rel, "certificates"
    return ItemRecord(node=node, area=area, id=cid, path=stored.path, kind=kind, source=source,
                      exit_code=0 if kind == "command" else None, duration_ms=35, bytes=stored.bytes, sha256=stored.sha256,
                      redactions=2 if rel.endswith(".conf") else 0, needs_root=rel.startswith(("files/etc/kubernetes", "certs")))


def write_linux_node(w: BundleWriter, node_json: dict[str, Any], members: Members,
                     extra_items: list[ItemRecord] = ()) -> tuple[NodeEntry, list[ItemRecord]]:
    node = node_json["name"]
    items = []
    for rel, text in sorted({**members, "node.json": j(node_json)}.items()):
        stored = w.add_text(f"nodes/{node}/{rel}", text)
        if rel != "node.json":
            items.append(_item(node, rel, stored))
    items += extra_items
    entry = NodeEntry(name=node, os="linux", transport="local", timezone="UTC", utc_offset_seconds=0)
    return entry, items


def write_cluster(w: BundleWriter, members: Members, node: str) -> list[ItemRecord]:
    items = []
    for rel, text in sorted(members.items()):
        stored = w.add_text(rel, text)
        rid = rel.split("/", 1)[1].rsplit(".", 1)[0]
        items.append(ItemRecord(node=node, area="cluster", id=rid, path=stored.path, kind="api",
                                source=f"kubectl get {rid} -A -o json", exit_code=0, duration_ms=180,
                                bytes=stored.bytes, sha256=stored.sha256))
    return items


def write_bundle(path: Path, top_node: str, fill: Callable[[BundleWriter], tuple[list[NodeEntry], list[ItemRecord]]],
                 argv: list[str]) -> Path:
    with BundleWriter(path, top_dir=f"k8s-bundle-{top_node}-{STAMP}", overwrite=True, compresslevel=9, mtime=MTIME) as w:
        entries, items = fill(w)
        manifest = Manifest(created_at=CREATED_AT, finished_at="2026-11-22T11:30:24Z",
                            collection={"argv": argv, "since": "72h", "root": "/", "user": "root", "is_root": True},
                            nodes=entries, items=items)
        total = sum(i.redactions for i in items)
        by_file = {i.path: {"kubeconfig-client-key": i.redactions} for i in items if i.redactions}
        w.finish(manifest, {"version": 1, "placeholders": "keyed-hash", "obfuscation": [], "total": total,
                            "by_rule": {"kubeconfig-client-key": total} if total else {}, "by_file": by_file, "dropped": []})
    return path


def _windows_module() -> Any:
    """samples/windows_scenario.py belongs to the Windows engineer; used when present."""
    spec_path = HERE / "windows_scenario.py"
    if not spec_path.exists():
        return None
    spec = importlib.util.spec_from_file_location("k8s_bundle_samples_windows_scenario", spec_path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def build_healthy(out: Path) -> Path:
    def fill(w: BundleWriter) -> tuple[list, list]:
        nj, m = control_plane("cp-1", "192.168.10.11")
        entry, items = write_linux_node(w, nj, m)
        items += write_cluster(w, healthy_cluster("cp-1", "192.168.10.11"), "cp-1")
        return [entry], items
    return write_bundle(out / "healthy-node.tgz", "cp-1", fill, ["collect", "--since", "72h"])


def build_broken(out: Path) -> Path:
    def fill(w: BundleWriter) -> tuple[list, list]:
        nj, m = broken_control_plane("k8s-master-1", "192.168.10.21")
        del m["commands/crictl-images.json"]  # crictl images timed out on the full disk
        entry, items = write_linux_node(w, nj, m, extra_items=[
            ItemRecord(node="k8s-master-1", area="runtime", id="crictl-images", kind="command",
                       source="crictl images -o json", status="timeout", duration_ms=10004,
                       error="timed out after 10s", needs_root=True),
            ItemRecord(node="k8s-master-1", area="logs", id="journal-etcd", kind="journal",
                       source="journalctl -u etcd -o short-iso-precise --since -72h", status="not_found", exit_code=1,
                       duration_ms=12, error="-- No entries --")])
        items += write_cluster(w, broken_cluster("k8s-master-1", "192.168.10.21"), "k8s-master-1")
        return [entry], items
    return write_bundle(out / "broken-kubeadm.tgz", "k8s-master-1", fill, ["collect", "--since", "72h"])


def build_windows(out: Path) -> Path | None:
    win = _windows_module()
    if win is None:
        return None

    def fill(w: BundleWriter) -> tuple[list, list]:
        entry, items = win.write_windows_node(w)
        return [entry], items
    return write_bundle(out / "broken-windows-worker.tgz", win.NODE, fill,
                        ["collect", "--winrm", "win-worker-1.example", "--winrm-auth", "ntlm"])


def build_multi(out: Path) -> Path:
    win = _windows_module()

    def fill(w: BundleWriter) -> tuple[list, list]:
        entries, items = [], []
        nj, m = control_plane("cp-1", "192.168.10.11")
        e, i = write_linux_node(w, nj, m)
        entries.append(e); items += i
        nj, m = forwarding_worker("worker-1", "192.168.10.12")
        e, i = write_linux_node(w, nj, m)
        entries.append(e); items += i
        if win is not None:
            e, i = win.write_windows_node(w)
            entries.append(e); items += i
        cluster = healthy_cluster("cp-1", "192.168.10.11")
        nodes = json.loads(cluster["cluster/nodes.json"])
        nodes["items"].append(node_object("worker-1", "192.168.10.12", "v1.29.3", ["worker"]))
        if win is not None:
            nodes["items"].append(node_object(win.NODE, "192.168.10.31", "v1.29.3", ["worker"], os_image="Windows Server 2019 Datacenter",
                                              os_name="windows", runtime="containerd://1.7.13"))
        cluster["cluster/nodes.json"] = j(nodes)
        items += write_cluster(w, cluster, "cp-1")
        return entries, items
    return write_bundle(out / "multi-node.tgz", "multi", fill, ["collect", "--ssh", "worker-1", "--winrm", "win-worker-1.example"])


def build_all(out: Path = HERE) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    built = [build_healthy(out), build_broken(out), build_windows(out), build_multi(out)]
    return [p for p in built if p is not None]


if __name__ == "__main__":
    for p in build_all(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(f"{p} {p.stat().st_size} bytes")
