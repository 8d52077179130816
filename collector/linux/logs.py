"""Logs area: the systemd journal per unit, the kernel log, plain log files, and the tail of
every pod and container log (static control-plane pods first, so the total cap never drops
them)."""
from __future__ import annotations

from k8s_bundle.bundle.specs import S
from k8s_bundle.collector.context import Context
from k8s_bundle.collector.items import DerivedItem, FileItem, GlobItem, Item, JournalItem

AREA = "logs"

JOURNAL_UNITS = ("kubelet", "containerd", "docker", "cri-docker", "crio", "kube-proxy",
                 "kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd",
                 "flanneld", "k3s", "k3s-agent", "rke2-server", "rke2-agent",
                 # microk8s: kubelite runs the kubelet, kube-proxy and the control plane in one
                 # process; containerd and k8s-dqlite (its etcd) are units of their own
                 "snap.microk8s.daemon-kubelite", "snap.microk8s.daemon-containerd",
                 "snap.microk8s.daemon-k8s-dqlite")

# microk8s before 1.21 ran one snap unit per daemon; asked for only where the snap is installed
MICROK8S_LEGACY_UNITS = tuple(f"snap.microk8s.daemon-{d}" for d in (
    "kubelet", "apiserver", "proxy", "controller-manager", "scheduler", "etcd", "flanneld"))

CONTROL_PLANE_PODS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd")
POD_LOG_PER_FILE = 2 * 1024 * 1024
POD_LOG_TOTAL = 256 * 1024 * 1024
POD_LOG_MAX_FILES = 5000


def items(ctx: Context) -> list[Item]:
    units = JOURNAL_UNITS + (MICROK8S_LEGACY_UNITS if _has_microk8s(ctx) else ())
    out: list[Item] = [JournalItem(f"journal-{u}", AREA, spec=(S.journal, S.rotated_syslog), unit=u)
                       for u in units]
    out.append(JournalItem("journal-kernel", AREA, spec=S.kernel_log, kernel=True))
    # /var/log/dmesg.0: the previous boot's kernel ring buffer (a node that panicked and rebooted)
    for path in ("/var/log/messages", "/var/log/syslog", "/var/log/kern.log", "/var/log/dmesg",
                 "/var/log/dmesg.0",
                 "/var/log/boot.log", "/var/log/cloud-init.log", "/var/log/cloud-init-output.log"):
        out.append(FileItem(f"log{path.replace('/', '-')}", AREA, spec=S.system_logs, path=path, dest="logs",
                            tail=True))
    out += [
        GlobItem("kube-logs", AREA, spec=S.kube_logs, dest="logs", tail=True,
                 patterns=("/var/log/kube-*.log", "/var/log/kubelet*.log", "/var/log/etcd*.log",
                           "/var/log/k3s*.log", "/var/log/rke2*.log", "/var/log/flanneld*.log",
                           "/var/log/calico/*/current", "/var/log/containerd*.log",
                           "/var/log/docker*.log", "/var/log/crio*.log",
                           "/var/log/kubernetes/*.log",
                           # k3s/rke2 keep their containerd (and rke2 its kubelet) log in files
                           "/var/lib/rancher/k3s/agent/containerd/containerd.log",
                           "/var/lib/rancher/rke2/agent/containerd/containerd.log",
                           "/var/lib/rancher/rke2/agent/logs/kubelet.log")),
        GlobItem("static-pod-logs", AREA, spec=S.pod_logs, dest="logs", tail=True, per_file_cap=POD_LOG_PER_FILE,
                 patterns=tuple(f"/var/log/pods/kube-system_{p}-*/*/*.log"
                                for p in CONTROL_PLANE_PODS)),
        GlobItem("pod-logs", AREA, spec=S.pod_logs, dest="logs", tail=True, per_file_cap=POD_LOG_PER_FILE,
                 total_cap=POD_LOG_TOTAL, max_files=POD_LOG_MAX_FILES,
                 patterns=("/var/log/pods/*/*/*.log",),
                 exclude=tuple(f"/var/log/pods/kube-system_{p}-*" for p in CONTROL_PLANE_PODS)),
        DerivedItem("var-log-containers", AREA, spec=S.var_log_containers,
                    func=container_links, source="ls -l /var/log/containers"),
        # Docker's json logs: what /var/log/containers points at on dockershim nodes.
        GlobItem("docker-container-logs", AREA, spec=S.docker_container_logs, dest="logs", tail=True,
                 per_file_cap=POD_LOG_PER_FILE, total_cap=POD_LOG_TOTAL // 2,
                 max_files=POD_LOG_MAX_FILES,
                 patterns=("/var/lib/docker/containers/*/*-json.log",)),
    ]
    return out


def _has_microk8s(ctx: Context | None) -> bool:
    if ctx is None:
        return False
    return any(ctx.transport.stat(p) is not None for p in ("/var/snap/microk8s", "/snap/microk8s"))


def container_links(ctx: Context) -> str | None:
    """/var/log/containers holds symlinks into /var/log/pods (or docker's json logs); their
    content is collected there, so only the links are recorded here."""
    names = ctx.transport.listdir("/var/log/containers")
    if not names:
        return None
    lines = []
    for name in names:
        target = ctx.transport.readlink(f"/var/log/containers/{name}")
        lines.append(f"{name} -> {target}" if target else name)
    return "\n".join(lines) + "\n"
