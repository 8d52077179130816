"""Runtime area: docker, containerd and cri-o state and configuration (a hung daemon costs one
timeout per command, not the run)."""
from __future__ import annotations

from k8s_bundle.collector.context import Context
from k8s_bundle.collector.items import CommandItem, FileItem, GlobItem, Item

AREA = "runtime"

UNIT_DIRS = ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system",
             "/run/systemd/system")


def unit_files(unit: str) -> tuple[str, ...]:
    """A unit's files and drop-ins wherever systemd looks for them."""
    return tuple(p for d in UNIT_DIRS for p in (f"{d}/{unit}.service", f"{d}/{unit}.service.d/*.conf"))


def items(ctx: Context) -> list[Item]:
    c = CommandItem
    return [
        c("docker-info", AREA, argv=("docker", "info", "--format", "{{json .}}"), ext="json",
          needs_root=True),
        c("docker-version", AREA, argv=("docker", "version"), needs_root=True),
        c("docker-ps", AREA, argv=("docker", "ps", "-a", "--no-trunc"), needs_root=True),
        c("docker-images", AREA, argv=("docker", "images", "--digests"), needs_root=True),
        c("docker-system-df", AREA, argv=("docker", "system", "df"), needs_root=True),
        c("crictl-info", AREA, argv=("crictl", "info", "-o", "json"), ext="json", needs_root=True),
        c("crictl-version", AREA, argv=("crictl", "version", "-o", "json"), ext="json",
          needs_root=True),
        c("crictl-ps", AREA, argv=("crictl", "ps", "-a", "-o", "json"), ext="json", needs_root=True),
        c("crictl-pods", AREA, argv=("crictl", "pods", "-o", "json"), ext="json", needs_root=True),
        c("crictl-images", AREA, argv=("crictl", "images", "-o", "json"), ext="json",
          needs_root=True),
        c("crictl-stats", AREA, argv=("crictl", "stats", "-a", "-o", "json"), ext="json",
          needs_root=True),
        c("containerd-config-dump", AREA, argv=("containerd", "config", "dump"), needs_root=True),
        c("ctr-plugins", AREA, argv=("ctr", "plugins", "ls"), needs_root=True),
        c("crio-config", AREA, argv=("crio", "config"), needs_root=True),
        c("crio-status", AREA, argv=("crio", "status", "info"), needs_root=True),
        c("runc-list", AREA, argv=("runc", "list"), needs_root=True),
        FileItem("docker-daemon-json", AREA, path="/etc/docker/daemon.json"),
        FileItem("crictl-yaml", AREA, path="/etc/crictl.yaml"),
        FileItem("containerd-config", AREA, path="/etc/containerd/config.toml"),
        GlobItem("containerd-conf-d", AREA, patterns=("/etc/containerd/conf.d/*.toml",
                                                      "/etc/containerd/certs.d/*/hosts.toml")),
        FileItem("k3s-containerd-config", AREA,
                 path="/var/lib/rancher/k3s/agent/etc/containerd/config.toml"),
        FileItem("rke2-containerd-config", AREA,
                 path="/var/lib/rancher/rke2/agent/etc/containerd/config.toml"),
        FileItem("crio-conf", AREA, path="/etc/crio/crio.conf"),
        GlobItem("crio-conf-d", AREA, patterns=("/etc/crio/crio.conf.d/*",)),
        GlobItem("containers-conf", AREA, patterns=("/etc/containers/registries.conf",
                                                    "/etc/containers/storage.conf",
                                                    "/etc/containers/policy.json")),
        GlobItem("docker-service", AREA, patterns=unit_files("docker") + tuple(f"{d}/docker.socket" for d in UNIT_DIRS)
                 + ("/etc/sysconfig/docker", "/etc/default/docker")),
        GlobItem("containerd-service", AREA, patterns=unit_files("containerd")),
        GlobItem("crio-service", AREA, patterns=unit_files("crio") + ("/etc/sysconfig/crio",)),
        GlobItem("cri-docker-service", AREA, patterns=unit_files("cri-docker")),
    ]
