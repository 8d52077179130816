"""Linux host facts: node.json, kernel, memory, swap, disks, mounts, modules, processes."""
from __future__ import annotations

import re
from typing import Any

from k8s_bundle.analyzer.parsers import FinalizeContext, Partial, finalizer, parser, registry
from k8s_bundle.bundle.specs import S
from k8s_bundle.analyzer.parsers._util import load_json, to_int

# node.json's fields (docs/facts.md) and their JSON types; a field of another type is dropped.
_NODE_JSON = {
    "name": str, "hostname": str, "os": str, "distro": str, "kernel": str, "arch": str, "runtime": str,
    "init": str, "boot_time": str, "timezone": str, "transport": str, "roles": list, "versions": dict,
    "cpus": int, "memory_bytes": int, "utc_offset_seconds": int, "uptime_seconds": (int, float),
}
# facts the engine sets itself: node.json may not set them
_NODE_JSON_RESERVED = ("items", "kubernetes")


@parser(S.node_json, fact="")
def parse_node_json(text: str) -> dict[str, Any] | Partial:
    """node.json fields become top-level node facts (node.os, node.versions.kubelet, ...).

    Every other key is kept as written unless another parser fills a fact of that name (its
    own member is the source of that fact, e.g. certs.json for node.certs)."""
    doc = load_json(text)
    if not isinstance(doc, dict):
        raise ValueError("node.json is not a JSON object")
    reg = registry()
    others = {f.split(".", 1)[0] for s in reg.parsers if s.scope == "node" for f in s.facts if f}
    others |= {f.builds.split(".", 1)[0] for f in reg.finalizers if f.builds and f.scope == "node"}
    out: dict[str, Any] = {}
    dropped: list[str] = []
    for key, value in doc.items():
        want = _NODE_JSON.get(key)
        # null is "not known" (the collector writes it when a value could not be read)
        ok = (want is None and key not in others and key not in _NODE_JSON_RESERVED) or (
            want is not None and (value is None or isinstance(value, want) and not isinstance(value, bool)))
        if ok and key == "roles" and value is not None:
            ok = all(isinstance(r, str) for r in value)
        if ok and key == "versions" and value is not None:
            ok = all(isinstance(v, (str, type(None))) for v in value.values())
        if ok:
            out[key] = value
        else:
            dropped.append(key)
    if dropped:
        return Partial(out, [f"fields of the wrong type or reserved for other facts ignored: {', '.join(dropped[:20])}"])
    return out


@parser(S.uname, fact="uname")
def parse_uname(text: str) -> str:
    return text.strip()


@parser(S.os_release, S.os_release_usr_lib, fact="os_release")
def parse_os_release(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, val = line.split("=", 1)
            out[key.strip()] = val.strip().strip("\"'")
    return out


@parser(S.sysctl, fact="sysctl")
def parse_sysctl(text: str) -> dict[str, str]:
    """`sysctl -a`: `key = value` (`sysctl: permission denied ...` lines are skipped)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, val = line.partition(" = ")
        if not sep:
            key, sep, val = line.partition("=")
        if sep and key and " " not in key.strip() and not line.startswith("sysctl:"):
            out[key.strip()] = val.strip()
    return out


@parser(S.swaps, fact="swaps")
def parse_swaps(text: str) -> list[dict[str, Any]]:
    """/proc/swaps; the file name may contain escaped spaces, so split from the right."""
    out = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("Filename"):
            continue
        parts = line.rsplit(None, 4)
        if len(parts) != 5:
            raise ValueError(f"unexpected /proc/swaps line: {line[:80]!r}")
        name, kind, size, used, prio = parts
        out.append({"filename": name.replace("\\040", " "), "type": kind, "size_kb": int(size),
                    "used_kb": int(used), "priority": int(prio)})
    return out


@parser(S.meminfo, fact="meminfo")
def parse_meminfo(text: str) -> dict[str, int]:
    """/proc/meminfo: values in kB (HugePages_* are counts)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, sep, rest = line.partition(":")
        fields = rest.split()
        if sep and fields and fields[0].isdigit():
            out[key.strip()] = int(fields[0])
    return out


_DF_UNITS = {"1b-blocks": 1, "1024-blocks": 1024, "1k-blocks": 1024, "512-blocks": 512}


def _df_rows(text: str) -> tuple[list[str], list[list[str]]]:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines or not lines[0].startswith("Filesystem"):
        raise ValueError("df output without its header line")
    header = lines[0].split()
    ncols = len(header) - 1   # "Mounted on" is two words
    rows = []
    pending = ""
    for line in lines[1:]:
        if pending:               # df -P never wraps, plain df wraps long device names
            line = pending + " " + line
            pending = ""
        parts = line.split(None, ncols - 1)
        if len(parts) < ncols:
            pending = line
            continue
        rows.append(parts)
    return header, rows


@parser(S.df, fact="df")
def parse_df(text: str) -> list[dict[str, Any]]:
    """`df -PT -B1` (also -P with 1024-blocks, with or without the Type column)."""
    header, rows = _df_rows(text)
    has_type = len(header) > 1 and header[1] == "Type"
    unit = _DF_UNITS.get(header[2 if has_type else 1].lower(), 1)
    out = []
    for parts in rows:
        fs = parts.pop(0)
        fstype = parts.pop(0) if has_type else None
        size, used, avail, pct, mount = parts[0], parts[1], parts[2], parts[3], parts[4]
        out.append({"filesystem": fs, "type": fstype, "size_bytes": _num(size) * unit,
                    "used_bytes": _num(used) * unit, "avail_bytes": _num(avail) * unit,
                    "use_pct": _pct(pct), "mount": mount})
    return out


@parser(S.df_inodes, fact="df_inodes")
def parse_df_inodes(text: str) -> list[dict[str, Any]]:
    """`df -PTi`; filesystems without inodes (vfat, btrfs) print `-`."""
    header, rows = _df_rows(text)
    has_type = len(header) > 1 and header[1] == "Type"
    out = []
    for parts in rows:
        fs = parts.pop(0)
        fstype = parts.pop(0) if has_type else None
        inodes, iused, ifree, pct, mount = parts[0], parts[1], parts[2], parts[3], parts[4]
        out.append({"filesystem": fs, "type": fstype, "inodes": _num(inodes), "iused": _num(iused),
                    "ifree": _num(ifree), "iuse_pct": _pct(pct), "mount": mount})
    return out


def _num(text: str) -> int:
    return int(text) if text.isdigit() else 0


def _pct(text: str) -> int | None:
    text = text.rstrip("%")
    return int(text) if text.isdigit() else None


_MOUNT_CMD = re.compile(r"^(?P<dev>.+?) on (?P<mnt>.+?) type (?P<fs>\S+) \((?P<opts>[^)]*)\)$")
_OCTAL = re.compile(r"\\([0-7]{3})")


def _unescape(text: str) -> str:
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), text)


@parser(S.mountinfo, fact="mounts", priority=1)   # richest: propagation flags
@parser(S.mounts, S.mount, fact="mounts", priority=0)
def parse_mounts(text: str) -> list[dict[str, Any]]:
    """/proc/self/mountinfo, /proc/mounts or `mount` output (sniffed per line).

    mountinfo adds `propagation` (`shared:1`, `master:2`; empty means private), which matters
    for docker's `MountFlags=slave` and mount propagation into pods.
    """
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        m = _MOUNT_CMD.match(line)
        if m:
            out.append({"device": m["dev"], "mount": m["mnt"], "fstype": m["fs"],
                        "options": m["opts"].split(",") if m["opts"] else []})
            continue
        fields = line.split()
        if " - " in line and len(fields) >= 10 and fields[0].isdigit():
            left, right = line.split(" - ", 1)
            lf, rf = left.split(), right.split()
            out.append({"device": _unescape(rf[1]) if len(rf) > 1 else "", "mount": _unescape(lf[4]),
                        "fstype": rf[0], "options": lf[5].split(","),
                        "super_options": rf[2].split(",") if len(rf) > 2 else [],
                        "root": _unescape(lf[3]), "propagation": lf[6:]})
        elif len(fields) >= 4:
            out.append({"device": _unescape(fields[0]), "mount": _unescape(fields[1]), "fstype": fields[2],
                        "options": fields[3].split(",")})
        else:
            raise ValueError(f"unrecognised mount line: {line[:80]!r}")
    return out


@parser(S.cmdline, fact="cmdline")
def parse_cmdline(text: str) -> dict[str, Any]:
    """/proc/cmdline: `args` maps each parameter to its value ("" for bare flags)."""
    raw = text.strip()
    args: dict[str, str] = {}
    for word in raw.split():
        key, _, val = word.partition("=")
        args[key] = val
    return {"raw": raw, "args": args}


@parser(S.kernel_config, fact="kernel_config")
def parse_kernel_config(text: str) -> dict[str, str]:
    """`CONFIG_X=y|m|"str"|123`; `# CONFIG_X is not set` becomes `n`."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("CONFIG_") and "=" in line:
            key, val = line.split("=", 1)
            out[key] = val.strip('"')
        elif line.startswith("# CONFIG_") and line.endswith(" is not set"):
            out[line[2:].split()[0]] = "n"
    return out


@parser(S.binaries, fact="binaries")
def parse_binaries(text: str) -> dict[str, Any]:
    doc = load_json(text)
    if not isinstance(doc, dict):
        raise ValueError("binaries.json is not a JSON object")
    return doc


@parser(S.lsmod, fact="lsmod")
def parse_lsmod(text: str) -> list[str]:
    return [ln.split()[0] for ln in text.splitlines() if ln.strip() and not ln.startswith("Module ")]


@parser(S.processes, fact="processes", max_records=20_000)
def parse_processes(text: str) -> list[Any]:
    doc = load_json(text)
    if isinstance(doc, dict):   # {"processes": [...]} is accepted too
        doc = doc.get("processes", [])
    if not isinstance(doc, list):
        raise ValueError("processes.json is not a JSON list")
    return doc


@parser(S.conntrack_count, fact="conntrack")
def parse_conntrack_count(text: str) -> dict[str, int | None]:
    """`nf_conntrack_count 1234` / `net.netfilter.nf_conntrack_max = 262144` lines, or two bare
    numbers (count, then max)."""
    out: dict[str, int | None] = {"count": None, "max": None}
    bare: list[int] = []
    for line in text.splitlines():
        nums = re.findall(r"\d+", line.split("=")[-1] if "=" in line else line.split(":")[-1])
        if not nums:
            continue
        low = line.lower()
        if "max" in low:
            out["max"] = int(nums[-1])
        elif "count" in low:
            out["count"] = int(nums[-1])
        elif line.strip().isdigit():
            bare.append(int(line.strip()))
    if out["count"] is None and bare:
        out["count"] = bare[0]
    if out["max"] is None and len(bare) > 1:
        out["max"] = bare[1]
    if out["count"] is None and out["max"] is None:
        raise ValueError("no conntrack count found")
    return out


@parser(S.getenforce, fact="selinux")
def parse_getenforce(text: str) -> str:
    """`getenforce`: `enforcing`, `permissive` or `disabled` (lower-cased)."""
    value = text.strip().lower()
    if value not in ("enforcing", "permissive", "disabled"):
        raise ValueError(f"unexpected getenforce output {value[:40]!r}")
    return value


@parser(S.loadavg, fact="loadavg")
def parse_loadavg(text: str) -> dict[str, Any]:
    """/proc/loadavg: `0.52 0.58 0.59 2/1234 5678`."""
    f = text.split()
    running, _, total = f[3].partition("/")
    return {"load1": float(f[0]), "load5": float(f[1]), "load15": float(f[2]),
            "running": to_int(running), "total": to_int(total)}


@parser(S.process_summary, fact="process_summary")
def parse_process_summary(text: str) -> dict[str, Any]:
    doc = load_json(text)
    if not isinstance(doc, dict):
        raise ValueError("process-summary.json is not a JSON object")
    return doc


_KVER = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


@finalizer(order=0)
def kernel_version(node: dict[str, Any], ctx: FinalizeContext) -> None:
    """node.kernel_version from node.json (or uname -r)."""
    kernel = node.get("kernel")
    if not kernel and isinstance(node.get("uname"), str):
        parts = node["uname"].split()
        kernel = parts[2] if len(parts) > 2 else None
    if isinstance(kernel, str):
        m = _KVER.search(kernel)
        if m:
            node["kernel_version"] = {"major": int(m[1]), "minor": int(m[2]), "patch": to_int(m[3]) or 0}


# `some avg10=0.00 avg60=0.00 avg300=0.00 total=0` (avgN: percent of wall time stalled over
# the last N seconds; total: microseconds stalled since boot).
_PSI = re.compile(r"^(some|full)\s+avg10=([\d.]+)\s+avg60=([\d.]+)\s+avg300=([\d.]+)\s+total=(\d+)")


# The collector runs `cat /proc/pressure/cpu /proc/pressure/memory /proc/pressure/io`: three
# files without headers, so the resource is told by position: each file starts with `some`.
_RESOURCES = ("cpu", "memory", "io")


@parser(S.pressure, fact="pressure")
def parse_pressure(text: str) -> dict[str, Any]:
    """`{cpu|memory|io: {some: {avg10, avg60, avg300, total}, full: {...}}}` (percentages as
    floats; cpu has no `full` line before Linux 5.13)."""
    out: dict[str, Any] = {}
    index = -1
    for line in text.splitlines():
        m = _PSI.match(line.strip())
        if not m:
            continue
        if m[1] == "some":
            index += 1
            if index >= len(_RESOURCES):
                raise ValueError("more than three `some` lines (expected cpu, memory and io)")
            out[_RESOURCES[index]] = {}
        elif index < 0:
            raise ValueError("a `full` line before any `some` line")
        out[_RESOURCES[index]][m[1]] = {"avg10": float(m[2]), "avg60": float(m[3]),
                                        "avg300": float(m[4]), "total": int(m[5])}
    if not out:
        raise ValueError("no `some avg10=...` lines (expected /proc/pressure/* contents)")
    return out


@parser(S.file_nr, fact="file_nr")
def parse_file_nr(text: str) -> dict[str, Any]:
    """/proc/sys/fs/file-nr then /proc/sys/fs/inode-nr: `{allocated, unused, max, used_pct,
    inodes, free_inodes}`. `allocated` is the system-wide count of open file handles and `max`
    is fs.file-max (9223372036854775807 on kernels that no longer limit it)."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if not lines or len(lines[0]) != 3 or not all(w.isdigit() for w in lines[0]):
        raise ValueError("first line is not `allocated unused max` (expected /proc/sys/fs/file-nr)")
    allocated, unused, maximum = (int(w) for w in lines[0])
    out: dict[str, Any] = {"allocated": allocated, "unused": unused, "max": maximum,
                           "used_pct": round(100.0 * allocated / maximum, 2) if maximum else None,
                           "inodes": None, "free_inodes": None}
    if len(lines) > 1 and len(lines[1]) >= 2 and all(w.isdigit() for w in lines[1][:2]):
        out["inodes"], out["free_inodes"] = int(lines[1][0]), int(lines[1][1])
    return out
