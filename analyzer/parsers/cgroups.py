"""cgroups: the version the node runs and its controllers (docs/facts.md:
node.cgroup_version, node.cgroup_controllers).

`cgroup_version` comes from `stat -fc %T /sys/fs/cgroup`; when that was not collected, the
combiner below tells it from the mounts (a cgroup2 mount at /sys/fs/cgroup, or v1 mounts).
"""
from __future__ import annotations

from typing import Any

from k8s_bundle.analyzer.parsers import FinalizeContext, finalizer, parser
from k8s_bundle.bundle.specs import S


@parser(S.cgroup, fact="cgroup_version")
def parse_cgroup(text: str) -> int | None:
    """`stat -fc %T /sys/fs/cgroup`: `cgroup2fs` is v2, `tmpfs` (v1 hierarchy) is v1."""
    value = text.strip().split()[0] if text.strip() else ""
    if value == "cgroup2fs":
        return 2
    if value in ("tmpfs", "cgroupfs"):
        return 1
    raise ValueError(f"unknown cgroup filesystem type {value!r}")


@parser(S.cgroup_controllers, fact="cgroup_controllers")
def parse_proc_cgroups(text: str) -> dict[str, dict[str, int]]:
    """/proc/cgroups: `{memory: {hierarchy, num_cgroups, enabled}}` (enabled 0 means the
    controller is off, e.g. `cgroup_enable=memory` missing on Raspberry Pi kernels)."""
    out = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) == 4 and not line.startswith("#") and all(x.isdigit() for x in f[1:]):
            out[f[0]] = {"hierarchy": int(f[1]), "num_cgroups": int(f[2]), "enabled": int(f[3])}
    return out


@finalizer(order=0, builds="cgroup_version", reads=("mounts",))
def cgroup_version(node: dict[str, Any], ctx: FinalizeContext) -> None:
    """node.cgroup_version from the mounts when `stat -fc %T` was not collected."""
    if "cgroup_version" not in node and isinstance(node.get("mounts"), list):
        fs_at = {m.get("mount"): m.get("fstype") for m in node["mounts"] if isinstance(m, dict)}
        if fs_at.get("/sys/fs/cgroup") == "cgroup2":
            node["cgroup_version"] = 2
        elif any(m.get("fstype") == "cgroup" for m in node["mounts"] if isinstance(m, dict)):
            node["cgroup_version"] = 1
