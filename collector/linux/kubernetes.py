"""Kubernetes area: kubeadm/k3s/rke2 configuration, static pod manifests, kubeconfigs
(secrets redacted by the redactor), kubelet configuration, flags, drop-ins and the running
kubelet's command line. Never the pki directory (certificates: see certificates.py)."""
from __future__ import annotations

from k8s_bundle.bundle.specs import S
from k8s_bundle.collector.context import Context
from k8s_bundle.collector.items import DerivedItem, FileItem, GlobItem, Item
from k8s_bundle.collector.linux.runtime import unit_files

AREA = "kubernetes"

KUBELET_NAMES = ("kubelet", "hyperkube")


def items(ctx: Context) -> list[Item]:
    return [
        GlobItem("etc-kubernetes", AREA, spec=(S.kubeconfigs, S.etc_kubernetes),
                 patterns=("/etc/kubernetes/*.conf", "/etc/kubernetes/*.yaml",
                           "/etc/kubernetes/*.yml", "/etc/kubernetes/*.json",
                           "/etc/kubernetes/*.env", "/etc/kubernetes/config",
                           "/etc/kubernetes/kubelet", "/etc/kubernetes/apiserver",
                           "/etc/kubernetes/proxy", "/etc/kubernetes/kubeconfig*")),
        GlobItem("static-pod-manifests", AREA, spec=(S.static_pods, S.static_pod_dir),
                 patterns=("/etc/kubernetes/manifests/*",)),
        FileItem("kubelet-config", AREA, spec=S.kubelet_config, path="/var/lib/kubelet/config.yaml"),
        FileItem("kubeadm-flags", AREA, spec=S.kubeadm_flags, path="/var/lib/kubelet/kubeadm-flags.env"),
        FileItem("kubelet-kubeconfig", AREA, spec=S.kubeconfigs, path="/var/lib/kubelet/kubeconfig"),
        FileItem("kubelet-cpu-manager-state", AREA, spec=S.kubelet_state, path="/var/lib/kubelet/cpu_manager_state"),
        FileItem("kubelet-memory-manager-state", AREA, spec=S.kubelet_state,
                 path="/var/lib/kubelet/memory_manager_state"),
        GlobItem("kubelet-service", AREA, spec=(S.kubelet_unit, S.kubelet_unit_run, S.kubelet_defaults),
                 patterns=unit_files("kubelet") + ("/etc/default/kubelet", "/etc/sysconfig/kubelet")),
        GlobItem("kube-proxy-config", AREA, spec=(S.kubeconfigs, S.kube_proxy_config),
                 patterns=("/var/lib/kube-proxy/*.conf", "/var/lib/kube-proxy/config*",
                           "/var/lib/kube-proxy/kubeconfig*")),
        GlobItem("k3s-config", AREA, spec=S.k3s_rke2_config,
                 patterns=("/etc/rancher/k3s/*.yaml", "/etc/rancher/k3s/config.yaml.d/*")
                 + unit_files("k3s") + unit_files("k3s-agent")
                 + tuple(f"/etc/systemd/system/{u}.service.env" for u in ("k3s", "k3s-agent"))),
        GlobItem("rke2-config", AREA, spec=S.k3s_rke2_config,
                 patterns=("/etc/rancher/rke2/*.yaml", "/etc/rancher/rke2/config.yaml.d/*")
                 + unit_files("rke2-server") + unit_files("rke2-agent")),
        GlobItem("rancher-agent-config", AREA, spec=(S.k3s_rke2_config, S.kubeconfigs),
                 patterns=("/var/lib/rancher/k3s/agent/etc/*.yaml",
                           "/var/lib/rancher/rke2/agent/etc/*.yaml",
                           "/var/lib/rancher/k3s/agent/*.kubeconfig",
                           "/var/lib/rancher/rke2/agent/*.kubeconfig"),
                 exclude=("*token*", "*password*")),
        GlobItem("user-kubeconfigs", AREA, spec=S.kubeconfigs, patterns=("/root/.kube/config",)),
        DerivedItem("kubelet-cmdline", AREA, spec=S.kubelet_cmdline,
                    func=kubelet_cmdline, live=True, source="/proc/<kubelet pid>/cmdline"),
        DerivedItem("kubernetes-paths", AREA, spec=S.kubernetes_paths,
                    func=kubernetes_paths, source="directory listings"),
    ]


def kubelet_cmdline(ctx: Context) -> str | None:
    """The running kubelet's argv, one argument a line (also the k3s/rke2 process that embeds
    the kubelet). Redaction removes any secret flag values before it is stored."""
    import psutil

    for proc in psutil.process_iter():
        # as_dict, not process_iter(attrs): `info` is shared with other threads' iterations.
        info = proc.as_dict(["name", "cmdline"], ad_value=None)
        cmd = info.get("cmdline") or []
        name = info.get("name") or ""
        first = cmd[0].rsplit("/", 1)[-1] if cmd else ""
        if name in KUBELET_NAMES or first in KUBELET_NAMES or (
                first in ("k3s", "rke2") and len(cmd) > 1 and cmd[1] in ("server", "agent")):
            if first == "hyperkube" and "kubelet" not in cmd[1:2]:
                continue
            return "\n".join(cmd) + "\n"
    return None


def kubernetes_paths(ctx: Context) -> str:
    """Which Kubernetes directories exist and what they hold (names only): tells kubeadm,
    k3s, rke2 and hand-made installs apart, and shows missing pieces."""
    lines = []
    for d in ("/etc/kubernetes", "/etc/kubernetes/manifests", "/etc/kubernetes/pki",
              "/etc/kubernetes/pki/etcd", "/var/lib/kubelet", "/var/lib/kubelet/pki",
              "/var/lib/etcd", "/etc/rancher/k3s", "/etc/rancher/rke2",
              "/var/lib/rancher/k3s/server/tls", "/var/lib/rancher/rke2/server/tls",
              "/var/lib/rancher/k3s/agent", "/var/lib/rancher/rke2/agent", "/opt/cni/bin",
              "/etc/cni/net.d", "/var/lib/cni", "/var/lib/containerd", "/var/lib/docker",
              "/run/containerd", "/var/run/docker.sock", "/run/crio"):
        st = ctx.transport.stat(d)
        if st is None:
            lines.append(f"{d}: absent")
            continue
        import stat as stat_mod

        if stat_mod.S_ISDIR(st.st_mode):
            names = ctx.transport.listdir(d)
            lines.append(f"{d}: {len(names)} entries: {' '.join(names[:200])}")
        else:
            lines.append(f"{d}: present ({stat_mod.filemode(st.st_mode)})")
    return "\n".join(lines) + "\n"
