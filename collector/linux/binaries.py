"""Binaries area: presence, path and version of the tools Kubernetes relies on, and the
iptables mode (legacy or nf_tables)."""
from __future__ import annotations

import re
from typing import Any

from k8s_bundle.bundle.specs import S
from k8s_bundle.collector.context import Context
from k8s_bundle.collector.items import DerivedItem, Item, command

AREA = "binaries"

# name -> argv that prints its version (never anything that changes state).
VERSION_ARGS: dict[str, tuple[str, ...]] = {
    "kubelet": ("--version",), "kubeadm": ("version", "-o", "short"),
    "kubectl": ("version", "--client", "-o", "yaml"), "crictl": ("--version",),
    "ctr": ("--version",), "containerd": ("--version",), "dockerd": ("--version",),
    "docker": ("--version",), "runc": ("--version",), "crio": ("--version",),
    "conntrack": ("--version",), "ebtables": ("--version",), "ethtool": ("--version",),
    "socat": ("-V",), "ipset": ("--version",), "iptables": ("--version",),
    "ip6tables": ("--version",), "iptables-legacy": ("--version",), "iptables-nft": ("--version",),
    "nft": ("--version",), "ip": ("-V",), "nsenter": ("--version",), "mount": ("--version",),
    "tc": ("-V",), "ipvsadm": ("--version",), "k3s": ("--version",), "rke2": ("--version",),
    "cri-dockerd": ("--version",), "systemctl": ("--version",), "journalctl": ("--version",),
    "modprobe": ("--version",),
}

_VERSION = re.compile(r"v?\d+\.\d+(?:\.\d+)?(?:[-+.~][0-9A-Za-z.+~-]*)?")


def items(ctx: Context) -> list[Item]:
    return [
        DerivedItem("binaries", AREA, spec=S.binaries, func=binaries,
                    source="PATH lookup and <tool> --version"),
        command(S.iptables_version, AREA, argv=("iptables", "--version")),
        command(S.ip6tables_version, AREA, argv=("ip6tables", "--version")),
        command(S.update_alternatives_iptables, AREA, argv=("update-alternatives", "--query", "iptables")),
    ]


def parse_version(name: str, text: str) -> str | None:
    """The first version-looking token of a tool's --version output (kubelet prints
    'Kubernetes v1.29.3', runc 'runc version 1.1.12', ...)."""
    for line in text.splitlines():
        if name == "kubectl" and "gitVersion" in line:
            return line.split(":", 1)[1].strip().strip('"')
        m = _VERSION.search(line)
        if m:
            return m.group(0)
    return None


def binaries(ctx: Context) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, args in VERSION_ARGS.items():
        if ctx.stop.is_set():
            break
        path = ctx.transport.which(name)
        version = None
        raw = None
        if path and ctx.live:
            code, out = ctx.run_text([path, *args], timeout=min(5.0, ctx.timeout), cap=64 * 1024)
            if code is not None:
                raw = out.strip()[:300]
                version = parse_version(name, out)
        found[name] = {"path": path, "version": version, "output": raw}
    ctx.shared["binaries"] = found
    return found
