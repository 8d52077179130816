"""Linux host parsers on recorded-style command outputs."""
from __future__ import annotations

import pytest

from k8s_bundle.analyzer.parsers import cgroups, system, time

SYSCTL = """\
abi.vsyscall32 = 1
fs.inotify.max_user_instances = 128
fs.inotify.max_user_watches = 8192
kernel.hostname = cp1
net.bridge.bridge-nf-call-iptables = 1
net.ipv4.ip_forward = 0
net.ipv4.ip_local_port_range = 32768\t60999
net.ipv4.conf.all.rp_filter = 2
sysctl: permission denied on key 'fs.protected_regular'
vm.swappiness = 60
kernel.domainname = (none)
dev.cdrom.info = CD-ROM information, Id: cdrom.c 3.20 2003/12/17
user.max_inotify_instances =
"""


def test_sysctl() -> None:
    out = system.parse_sysctl(SYSCTL)
    assert out["net.ipv4.ip_forward"] == "0"
    assert out["net.ipv4.ip_local_port_range"] == "32768\t60999"
    assert out["fs.inotify.max_user_instances"] == "128"
    assert out["user.max_inotify_instances"] == ""
    assert not any(k.startswith("sysctl") for k in out)


def test_swaps_on_and_off() -> None:
    on = ("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
          "/swap.img                               file\t\t4194300\t\t0\t\t-2\n"
          "/dev/dm-1                               partition\t2097148\t\t1024\t\t-3\n"
          "/var/my\\040swap                         file\t\t1024\t\t0\t\t-4\n")
    assert system.parse_swaps(on) == [
        {"filename": "/swap.img", "type": "file", "size_kb": 4194300, "used_kb": 0, "priority": -2},
        {"filename": "/dev/dm-1", "type": "partition", "size_kb": 2097148, "used_kb": 1024, "priority": -3},
        {"filename": "/var/my swap", "type": "file", "size_kb": 1024, "used_kb": 0, "priority": -4},
    ]
    assert system.parse_swaps("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n") == []


def test_meminfo() -> None:
    out = system.parse_meminfo("MemTotal:        8052308 kB\nMemFree:          212304 kB\n"
                               "MemAvailable:    5123456 kB\nHugePages_Total:       0\nHugepagesize:       2048 kB\n")
    assert out == {"MemTotal": 8052308, "MemFree": 212304, "MemAvailable": 5123456, "HugePages_Total": 0,
                   "Hugepagesize": 2048}


DF_B1 = """\
Filesystem     Type      1B-blocks        Used   Available Capacity Mounted on
udev           devtmpfs 4085436416           0  4085436416       0% /dev
/dev/sda1      ext4    103079215104 98137461504  4941753600      96% /
tmpfs          tmpfs     819200000     2048000   817152000       1% /run
overlay        overlay 103079215104 98137461504  4941753600      96% /var/lib/docker/overlay2/abc/merged
/dev/sdb1      xfs      53660876800  1234567890 52426308910       3% /mnt/my data
"""


def test_df_bytes_and_mount_with_space() -> None:
    out = system.parse_df(DF_B1)
    root = next(r for r in out if r["mount"] == "/")
    assert root == {"filesystem": "/dev/sda1", "type": "ext4", "size_bytes": 103079215104, "used_bytes": 98137461504,
                    "avail_bytes": 4941753600, "use_pct": 96, "mount": "/"}
    assert out[-1]["mount"] == "/mnt/my data"


def test_df_1024_blocks_without_type_column() -> None:
    out = system.parse_df("Filesystem     1024-blocks    Used Available Capacity Mounted on\n"
                          "/dev/vda1         41152736 39000000   2152736      95% /\n")
    assert out[0]["size_bytes"] == 41152736 * 1024 and out[0]["type"] is None and out[0]["use_pct"] == 95


def test_df_inodes() -> None:
    out = system.parse_df_inodes("Filesystem     Type      Inodes   IUsed   IFree IUse% Mounted on\n"
                                 "/dev/sda1      ext4     6553600 6553590      10  100% /\n"
                                 "/dev/sda15     vfat           0       0       0     - /boot/efi\n")
    assert out[0] == {"filesystem": "/dev/sda1", "type": "ext4", "inodes": 6553600, "iused": 6553590, "ifree": 10,
                      "iuse_pct": 100, "mount": "/"}
    assert out[1]["iuse_pct"] is None


def test_df_without_header_is_a_parse_error() -> None:
    with pytest.raises(ValueError):
        system.parse_df("df: /run/user/1000/doc: Operation not permitted\n")


MOUNTINFO = """\
22 28 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
26 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
28 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
512 28 0:52 / /var/lib/kubelet/pods/x/volumes/kubernetes.io~secret/token rw,relatime - tmpfs tmpfs rw,size=170Mi
600 28 8:17 /data /mnt/with\\040space rw master:3 - xfs /dev/sdb1 rw
"""


def test_mountinfo_with_propagation_and_escapes() -> None:
    out = system.parse_mounts(MOUNTINFO)
    assert out[1]["mount"] == "/sys/fs/cgroup" and out[1]["fstype"] == "cgroup2"
    assert out[2] == {"device": "/dev/sda1", "mount": "/", "fstype": "ext4", "options": ["rw", "relatime"],
                      "super_options": ["rw", "errors=remount-ro"], "root": "/", "propagation": ["shared:1"]}
    assert out[3]["propagation"] == []
    assert out[4]["mount"] == "/mnt/with space" and out[4]["propagation"] == ["master:3"]


def test_proc_mounts_and_mount_command() -> None:
    proc = system.parse_mounts("/dev/sda1 / ext4 rw,relatime 0 0\ncgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n")
    assert proc[1] == {"device": "cgroup", "mount": "/sys/fs/cgroup/memory", "fstype": "cgroup", "options": ["rw", "memory"]}
    cmd = system.parse_mounts("/dev/sda1 on / type ext4 (rw,relatime)\ntmpfs on /run/user/0 type tmpfs (rw,nosuid,mode=700)\n")
    assert cmd[1]["mount"] == "/run/user/0" and cmd[1]["options"] == ["rw", "nosuid", "mode=700"]


def test_cmdline() -> None:
    out = system.parse_cmdline("BOOT_IMAGE=/vmlinuz-5.15.0-105-generic root=UUID=1234 ro quiet splash "
                               "cgroup_enable=memory swapaccount=1 systemd.unified_cgroup_hierarchy=0\n")
    assert out["args"]["systemd.unified_cgroup_hierarchy"] == "0" and out["args"]["ro"] == ""
    assert out["raw"].startswith("BOOT_IMAGE=")


@pytest.mark.parametrize("text, version", [("cgroup2fs\n", 2), ("tmpfs\n", 1)])
def test_cgroup(text: str, version: int) -> None:
    assert cgroups.parse_cgroup(text) == version


def test_kernel_config() -> None:
    out = system.parse_kernel_config("CONFIG_BRIDGE_NETFILTER=m\nCONFIG_CGROUP_PIDS=y\n# CONFIG_CFS_BANDWIDTH is not set\n"
                                     'CONFIG_LOCALVERSION=""\nCONFIG_NR_CPUS=8192\n')
    assert out == {"CONFIG_BRIDGE_NETFILTER": "m", "CONFIG_CGROUP_PIDS": "y", "CONFIG_CFS_BANDWIDTH": "n",
                   "CONFIG_LOCALVERSION": "", "CONFIG_NR_CPUS": "8192"}


def test_lsmod() -> None:
    out = system.parse_lsmod("Module                  Size  Used by\nbr_netfilter           32768  0\n"
                             "bridge                307200  1 br_netfilter\noverlay               151552  12\n")
    assert out == ["br_netfilter", "bridge", "overlay"]


@pytest.mark.parametrize("text, expect", [
    ("nf_conntrack_count 262100\nnf_conntrack_max 262144\n", {"count": 262100, "max": 262144}),
    ("net.netfilter.nf_conntrack_count = 10\nnet.netfilter.nf_conntrack_max = 65536\n", {"count": 10, "max": 65536}),
    ("1234\n65536\n", {"count": 1234, "max": 65536}),
])
def test_conntrack_count(text: str, expect: dict) -> None:
    assert system.parse_conntrack_count(text) == expect


def test_node_json_and_kernel_version_finalizer() -> None:
    from k8s_bundle.analyzer.parsers import FinalizeContext

    node = system.parse_node_json('{"name": "cp1", "os": "linux", "kernel": "3.10.0-1160.el7.x86_64"}')
    node["mounts"] = system.parse_mounts("cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n")
    system.kernel_version(node, FinalizeContext("cp1", {}, {}, []))
    cgroups.cgroup_version(node, FinalizeContext("cp1", {}, {}, []))
    assert node["kernel_version"] == {"major": 3, "minor": 10, "patch": 0}
    assert node["cgroup_version"] == 1


def test_os_release_and_binaries_and_processes() -> None:
    assert system.parse_os_release('NAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\n')["VERSION_ID"] == "22.04"
    assert system.parse_binaries('{"kubelet": {"path": "/usr/bin/kubelet", "version": "v1.29.3"}, '
                                 '"conntrack": {"path": null, "version": null}}')["conntrack"]["path"] is None
    assert system.parse_processes('[{"pid": 1, "name": "systemd"}]') == [{"pid": 1, "name": "systemd"}]


def test_timedatectl_selinux_loadavg_proc_cgroups() -> None:
    t = time.parse_timedatectl("Timezone=Asia/Shanghai\nLocalRTC=no\nCanNTP=yes\nNTP=yes\nNTPSynchronized=no\n"
                                 "TimeUSec=Sun 2026-11-22 19:30:00 CST\n")
    assert t["NTPSynchronized"] == "no" and t["Timezone"] == "Asia/Shanghai"
    assert system.parse_getenforce("Enforcing\n") == "enforcing"
    with pytest.raises(ValueError):
        system.parse_getenforce("getenforce: command not found\n")
    assert system.parse_loadavg("12.50 8.01 4.20 9/1834 42311\n") == {
        "load1": 12.5, "load5": 8.01, "load15": 4.2, "running": 9, "total": 1834}
    cg = cgroups.parse_proc_cgroups("#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t0\t80\t1\n"
                                   "memory\t0\t80\t0\npids\t0\t80\t1\n")
    assert cg["memory"] == {"hierarchy": 0, "num_cgroups": 80, "enabled": 0} and cg["pids"]["enabled"] == 1
