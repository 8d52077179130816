"""What a node *is*, in a few comparable values: the drift fields of the multi-bundle report
and `diff`, and the flattened settings `diff` compares key by key.

`node_profile(facts)` answers "is this node built like the others?": versions, runtime, kernel,
cgroup driver and version, MTU, a short list of key sysctls, clock offset and the earliest
certificate expiry. Every field is a scalar (str, int, float, bool) or None when the bundle
does not say (Windows nodes have no sysctls, cgroups or Linux interfaces: None there, never a
guess), so two profiles compare field by field.

`node_settings(facts)` flattens kubelet configuration and flags, the container runtime's
configuration and every collected sysctl into `source.path -> value` strings, bounded, for a
key-by-key difference between two bundles.

Both read facts only (docs/facts.md), never the bundle, and never raise on odd fact shapes:
facts come from hostile input.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ProfileField:
    key: str
    label: dict[str, str]   # {en, zh}: the drift table's column title


# The key sysctls of the profile: the ones Kubernetes nodes are set up with (kubeadm
# preflight, CNI requirements) or whose difference between nodes explains node-specific
# failures (inotify limits: "too many open files" in kubelet; conntrack table size; swap
# behaviour; rp_filter dropping asymmetric pod traffic).
KEY_SYSCTLS = (
    "net.ipv4.ip_forward",
    "net.bridge.bridge-nf-call-iptables",
    "net.bridge.bridge-nf-call-ip6tables",
    "net.ipv4.conf.all.rp_filter",
    "net.netfilter.nf_conntrack_max",
    "vm.swappiness",
    "vm.overcommit_memory",
    "vm.max_map_count",
    "fs.inotify.max_user_instances",
    "fs.inotify.max_user_watches",
    "kernel.pid_max",
)

# The profile's fields in display order (the drift table's columns). Sysctl fields are keyed
# by the sysctl name itself (they are unambiguous: no other field has a dot).
PROFILE_FIELDS: tuple[ProfileField, ...] = (
    ProfileField("os", {"en": "OS", "zh": "操作系统"}),
    ProfileField("distro", {"en": "Distribution", "zh": "发行版"}),
    ProfileField("kernel", {"en": "Kernel", "zh": "内核"}),
    ProfileField("kubelet", {"en": "kubelet", "zh": "kubelet"}),
    ProfileField("runtime", {"en": "Runtime", "zh": "运行时"}),
    ProfileField("runtime_version", {"en": "Runtime version", "zh": "运行时版本"}),
    ProfileField("cgroup_driver", {"en": "kubelet cgroup driver", "zh": "kubelet cgroup 驱动"}),
    ProfileField("runtime_cgroup_driver", {"en": "Runtime cgroup driver", "zh": "运行时 cgroup 驱动"}),
    ProfileField("cgroup_version", {"en": "cgroup version", "zh": "cgroup 版本"}),
    ProfileField("primary_interface", {"en": "Primary interface", "zh": "主网卡"}),
    ProfileField("mtu", {"en": "MTU", "zh": "MTU"}),
    ProfileField("cni_mtu", {"en": "CNI MTU", "zh": "CNI MTU"}),
    ProfileField("swap_kb", {"en": "Swap (kB)", "zh": "交换空间 (kB)"}),
    *(ProfileField(name, {"en": name, "zh": name}) for name in KEY_SYSCTLS),
    ProfileField("clock_synchronized", {"en": "Clock synchronised", "zh": "时钟已同步"}),
    ProfileField("clock_offset_seconds", {"en": "Clock offset (s)", "zh": "时钟偏差 (秒)"}),
    ProfileField("cert_expiry", {"en": "Earliest certificate expiry", "zh": "最早到期的证书"}),
    ProfileField("cert_expiry_days", {"en": "Days left", "zh": "剩余天数"}),
    ProfileField("cert_expiry_path", {"en": "Certificate", "zh": "证书"}),
)
PROFILE_KEYS = tuple(f.key for f in PROFILE_FIELDS)

# node_settings bounds: a hostile kubelet config of a million keys must not make a million
# rows in every report.
MAX_SETTINGS_PER_SOURCE = 2000
MAX_SETTING_VALUE_CHARS = 300
MAX_SETTING_DEPTH = 12


def node_profile(facts: dict[str, Any]) -> dict[str, Any]:
    """The drift fields of one node (PROFILE_KEYS, each a scalar or None)."""
    facts = facts if isinstance(facts, dict) else {}
    versions = _dict(facts.get("versions"))
    windows = _dict(facts.get("windows"))
    sysctl = _dict(facts.get("sysctl"))
    runtime = _str(facts.get("runtime"))
    profile: dict[str, Any] = {
        "os": _str(facts.get("os")),
        "distro": _str(facts.get("distro")) or _str(_dict(facts.get("os_release")).get("PRETTY_NAME")),
        "kernel": _str(facts.get("kernel")),
        "kubelet": _str(versions.get("kubelet")) or _str(_dict(_dict(facts.get("binaries")).get("kubelet")).get("version")),
        "runtime": runtime,
        "runtime_version": _runtime_version(facts, runtime, versions),
        "cgroup_driver": _kubelet_cgroup_driver(facts),
        "runtime_cgroup_driver": _runtime_cgroup_driver(facts, runtime),
        "cgroup_version": facts.get("cgroup_version") if facts.get("cgroup_version") in (1, 2) else None,
    }
    primary, mtu = _primary_interface(facts)
    profile["primary_interface"] = primary
    profile["mtu"] = mtu
    profile["cni_mtu"] = _cni_mtu(facts, windows)
    profile["swap_kb"] = _swap_kb(facts)
    for name in KEY_SYSCTLS:
        profile[name] = _str(sysctl.get(name))
    profile.update(_clock(facts))
    profile.update(_earliest_cert(facts))
    return profile


def node_settings(facts: dict[str, Any]) -> dict[str, str]:
    """`source.path -> value` of kubelet config and flags, runtime config and every sysctl,
    sorted, at most MAX_SETTINGS_PER_SOURCE per source, values cut at MAX_SETTING_VALUE_CHARS."""
    facts = facts if isinstance(facts, dict) else {}
    out: dict[str, str] = {}
    for source in ("kubelet_config", "kubelet_flags", "containerd_config", "docker_daemon_json",
                   "crio_config", "sysctl"):
        value = facts.get(source)
        if not isinstance(value, dict):
            continue
        flat: dict[str, str] = {}
        _flatten(value, source, flat, 0)
        for key in sorted(flat)[:MAX_SETTINGS_PER_SOURCE]:
            out[key] = flat[key]
    return out


def _flatten(value: Any, prefix: str, out: dict[str, str], depth: int) -> None:
    # Bounded walk: an honest source has far fewer keys than the cap and is kept whole (sorted,
    # then cut); a hostile one stops here, at 4x the cap, whatever its size.
    if len(out) >= 4 * MAX_SETTINGS_PER_SOURCE:
        return
    if isinstance(value, dict) and value and depth < MAX_SETTING_DEPTH:
        for k, v in value.items():
            _flatten(v, f"{prefix}.{k}", out, depth + 1)
        return
    out[prefix] = _setting_text(value)


def _setting_text(value: Any) -> str:
    if isinstance(value, str):
        text = value
    else:   # lists, booleans, numbers, empty maps: as JSON, so `true` and "true" stay apart
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    if len(text) > MAX_SETTING_VALUE_CHARS:
        text = text[:MAX_SETTING_VALUE_CHARS] + "…"
    return text


def _runtime_version(facts: dict[str, Any], runtime: str | None, versions: dict[str, Any]) -> str | None:
    candidates = []
    if runtime:
        candidates.append(versions.get(runtime))
        if runtime in ("cri-o", "crio"):
            candidates += [versions.get("cri-o"), versions.get("crio")]
    crictl = _dict(facts.get("crictl_version"))
    candidates.append(crictl.get("runtimeVersion") or crictl.get("RuntimeVersion"))
    if runtime == "docker":
        candidates.append(_dict(facts.get("docker_info")).get("ServerVersion"))
    for c in candidates:
        text = _str(c)
        if text:
            # Windows writes "v1.7.13", Linux "1.7.13": the same version must not look like drift.
            return text[1:] if text[:1] == "v" and text[1:2].isdigit() else text
    return None


def _kubelet_cgroup_driver(facts: dict[str, Any]) -> str | None:
    flag = _str(_dict(facts.get("kubelet_flags")).get("cgroup-driver"))
    if flag:
        return flag   # a command-line flag wins over the config file in the kubelet
    config = facts.get("kubelet_config")
    if isinstance(config, dict):
        # The kubelet's built-in default when the config file does not set it.
        return _str(config.get("cgroupDriver")) or "cgroupfs"
    return None


def _runtime_cgroup_driver(facts: dict[str, Any], runtime: str | None) -> str | None:
    if runtime == "docker" or (runtime is None and facts.get("docker_info")):
        driver = _str(_dict(facts.get("docker_info")).get("CgroupDriver")) or _str(
            _dict(facts.get("docker_service")).get("cgroup_driver"))
        if driver:
            return driver
    if runtime in ("cri-o", "crio"):
        crio = _dict(_dict(_dict(facts.get("crio_config")).get("crio")).get("runtime"))
        return _str(crio.get("cgroup_manager"))
    systemd = _dict(facts.get("containerd")).get("systemd_cgroup")
    if isinstance(systemd, bool):
        return "systemd" if systemd else "cgroupfs"
    return None


def _primary_interface(facts: dict[str, Any]) -> tuple[str | None, int | None]:
    """The device of the main table's IPv4 default route (else any default route), its MTU."""
    routes = [r for r in _list(facts.get("routes")) if isinstance(r, dict) and r.get("dst") == "default"]
    routes.sort(key=lambda r: (r.get("table") not in (None, "main"), ":" in str(r.get("gateway") or ""),
                               r.get("metric") if isinstance(r.get("metric"), int) else 0))
    dev = _str(routes[0].get("dev")) if routes else None
    if dev is None:
        return None, None
    for i in _list(facts.get("interfaces")):
        if isinstance(i, dict) and i.get("ifname") == dev and isinstance(i.get("mtu"), int):
            return dev, i["mtu"]
    return dev, None


def _cni_mtu(facts: dict[str, Any], windows: dict[str, Any]) -> int | None:
    for subnet in (_dict(facts.get("flannel_subnet")), _dict(windows.get("flannel_subnet"))):
        mtu = _int(subnet.get("FLANNEL_MTU"))
        if mtu is not None:
            return mtu
    for config in _list(_dict(facts.get("cni")).get("configs")):
        raw = _dict(_dict(config).get("raw"))
        for doc in [raw, *(_dict(p) for p in _list(raw.get("plugins")))]:
            mtu = _int(doc.get("mtu"))
            if mtu is not None:
                return mtu
    return None


def _swap_kb(facts: dict[str, Any]) -> int | None:
    if not isinstance(facts.get("swaps"), list):
        return None
    return sum(s["size_kb"] for s in facts["swaps"] if isinstance(s, dict) and isinstance(s.get("size_kb"), int))


def _clock(facts: dict[str, Any]) -> dict[str, Any]:
    clock = _dict(facts.get("time_sync"))    # the combiner's fact (parsers/time.py)
    synced = clock.get("synchronized")        # the time daemon's view, else timedatectl's
    if not isinstance(synced, bool):
        synced = clock.get("ntp_synchronized")
    offset = clock.get("offset_seconds")
    return {
        "clock_synchronized": synced if isinstance(synced, bool) else None,
        "clock_offset_seconds": float(offset) if isinstance(offset, (int, float)) and not isinstance(offset, bool) else None,
    }


def _earliest_cert(facts: dict[str, Any]) -> dict[str, Any]:
    """The certificate that expires first: node.certs and the kubeconfigs' embedded certs."""
    candidates: list[tuple[str, float | None, str | None]] = []
    for c in _list(facts.get("certs")):
        if isinstance(c, dict) and _str(c.get("not_after")):
            candidates.append((c["not_after"], c.get("days_left"), _str(c.get("path"))))
    for k in _list(facts.get("kubeconfigs")):
        if not isinstance(k, dict):
            continue
        for meta in (_dict(k.get("client_cert")), _dict(k.get("ca"))):
            if _str(meta.get("not_after")):
                candidates.append((meta["not_after"], meta.get("days_left"), _str(k.get("path"))))
    if not candidates:
        return {"cert_expiry": None, "cert_expiry_days": None, "cert_expiry_path": None}
    # RFC 3339 UTC strings (the collector writes ...Z) sort as times do.
    not_after, days, path = min(candidates, key=lambda c: c[0])
    return {
        "cert_expiry": not_after,
        "cert_expiry_days": float(days) if isinstance(days, (int, float)) and not isinstance(days, bool) else None,
        "cert_expiry_path": path,
    }


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _str(v: Any) -> str | None:
    if v is None or isinstance(v, (dict, list)):
        return None
    text = str(v).strip()
    return text or None


def _int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.strip().isdigit():
        return int(v.strip())
    return None
