"""Runtime area: docker, containerd and cri-o state and configuration (a hung daemon costs one
timeout per command, not the run)."""
from __future__ import annotations

from k8s_bundle.bundle.specs import S
from k8s_bundle.collector.context import Context
from k8s_bundle.collector.items import FileItem, GlobItem, Item, command

AREA = "runtime"

UNIT_DIRS = ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system",
             "/run/systemd/system")


def unit_files(unit: str) -> tuple[str, ...]:
    """A unit's files and drop-ins wherever systemd looks for them."""
    return tuple(p for d in UNIT_DIRS for p in (f"{d}/{unit}.service", f"{d}/{unit}.service.d/*.conf"))


def items(ctx: Context) -> list[Item]:
    c = command
    return [
        c(S.docker_info, AREA, argv=("docker", "info", "--format", "{{json .}}"),
          needs_root=True),
        c(S.docker_version, AREA, argv=("docker", "version"), needs_root=True),
        c(S.docker_ps, AREA, argv=("docker", "ps", "-a", "--no-trunc"), needs_root=True),
        c(S.docker_images, AREA, argv=("docker", "images", "--digests"), needs_root=True),
        c(S.docker_system_df, AREA, argv=("docker", "system", "df"), needs_root=True),
        c(S.crictl_info, AREA, argv=("crictl", "info", "-o", "json"), needs_root=True),
        c(S.crictl_version, AREA, argv=("crictl", "version", "-o", "json"),
          needs_root=True),
        c(S.crictl_ps, AREA, argv=("crictl", "ps", "-a", "-o", "json"), needs_root=True),
        c(S.crictl_pods, AREA, argv=("crictl", "pods", "-o", "json"), needs_root=True),
        c(S.crictl_images, AREA, argv=("crictl", "images", "-o", "json"),
          needs_root=True),
        c(S.crictl_stats, AREA, argv=("crictl", "stats", "-a", "-o", "json"),
          needs_root=True),
        c(S.containerd_config_dump, AREA, argv=("containerd", "config", "dump"), needs_root=True),
        c(S.ctr_plugins, AREA, argv=("ctr", "plugins", "ls"), needs_root=True),
        c(S.crio_config, AREA, argv=("crio", "config"), needs_root=True),
        c(S.crio_status, AREA, argv=("crio", "status", "info"), needs_root=True),
        c(S.runc_list, AREA, argv=("runc", "list"), needs_root=True),
        FileItem("docker-daemon-json", AREA, spec=S.docker_daemon_json, path="/etc/docker/daemon.json"),
        FileItem("crictl-yaml", AREA, spec=S.runtime_files, path="/etc/crictl.yaml"),
        FileItem("containerd-config", AREA, spec=S.containerd_config, path="/etc/containerd/config.toml"),
        GlobItem("containerd-conf-d", AREA, spec=S.runtime_files, patterns=("/etc/containerd/conf.d/*.toml",
                                                      "/etc/containerd/certs.d/*/hosts.toml")),
        FileItem("k3s-containerd-config", AREA, spec=S.runtime_files,
                 path="/var/lib/rancher/k3s/agent/etc/containerd/config.toml"),
        FileItem("rke2-containerd-config", AREA, spec=S.runtime_files,
                 path="/var/lib/rancher/rke2/agent/etc/containerd/config.toml"),
        FileItem("crio-conf", AREA, spec=S.crio_conf, path="/etc/crio/crio.conf"),
        GlobItem("crio-conf-d", AREA, spec=S.runtime_files, patterns=("/etc/crio/crio.conf.d/*",)),
        GlobItem("containers-conf", AREA, spec=S.runtime_files, patterns=("/etc/containers/registries.conf",
                                                    "/etc/containers/storage.conf",
                                                    "/etc/containers/policy.json")),
        GlobItem("docker-service", AREA,
                 spec=(S.docker_unit_vendor, S.docker_unit_local, S.docker_dropins, S.docker_unit_other),
                 patterns=unit_files("docker") + tuple(f"{d}/docker.socket" for d in UNIT_DIRS)
                 + ("/etc/sysconfig/docker", "/etc/default/docker")),
        GlobItem("containerd-service", AREA, spec=S.runtime_units, patterns=unit_files("containerd")),
        GlobItem("crio-service", AREA, spec=S.runtime_units, patterns=unit_files("crio") + ("/etc/sysconfig/crio",)),
        GlobItem("cri-docker-service", AREA, spec=S.runtime_units, patterns=unit_files("cri-docker")),
    ]
