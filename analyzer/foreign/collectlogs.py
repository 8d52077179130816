"""A Microsoft collectlogs.ps1 output folder read as a one-node Windows bundle.

collectlogs.ps1 (microsoft/SDN, Kubernetes/windows/debug) writes a folder with a random name
holding, among others:

| collectlogs file | becomes (below nodes/<node>/) |
|---|---|
| network.txt (Format-Table listing, then ConvertTo-Json) | windows/hns-networks.json |
| endpoint.txt (same shape) | windows/hns-endpoints.json |
| policy.txt (V1 policy lists, or V2-shaped objects) | windows/hns-policylists.json |
| dynamicportrange.txt (TCP then UDP) | windows/dynamicportrange-tcp.txt / -udp.txt |
| excludedportrange.txt (TCP then UDP) | windows/excludedportrange-tcp.txt / -udp.txt |
| reservedports.txt (old: the test's sentence; current: an estimate line first) | windows/reservedports.txt |
| winver.txt (OS version, then Get-HotFix as a table) | windows/hotfixes.json, windows/os.json |
| ip.txt, routes.txt, hnsdiag.txt | windows/ipconfig.txt, windows/route-print.txt, windows/hnsdiag.txt |

The folder's files are read as hostile input like any bundle (size caps, no symlinks); the
JSON is re-emitted as plain JSON so the ordinary Windows parsers (analyzer/parsers/windows_*)
read it. The node is named after the folder. A synthesized manifest says where it came from.
"""
from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any, Iterator

from k8s_bundle.bundle.layout import node_name
from k8s_bundle.bundle.manifest import ItemRecord, Manifest, NodeEntry
from k8s_bundle import __version__

MARKER_FILES = ("network.txt", "endpoint.txt", "policy.txt", "dynamicportrange.txt",
                "excludedportrange.txt", "reservedports.txt")
MAX_FILE = 64 * 1024 * 1024


def looks_like(folder: Path) -> bool:
    """At least three of the files collectlogs.ps1 always writes, and no manifest.json."""
    try:
        names = {n.lower() for n in os.listdir(folder)}
    except OSError:
        return False
    return "manifest.json" not in names and sum(1 for m in MARKER_FILES if m in names) >= 3


def folder_node_name(folder: Path) -> str:
    """The node's folder name in the bundle: the collected folder's name (layout.node_name)."""
    name = folder.resolve().name
    return node_name(name) if name.strip().strip(".") else "windows-node"


def _read(folder: Path, name: str, problems: list[tuple[str, str]]) -> bytes | None:
    """A regular file of the folder (case-insensitive name), capped; symlinks refused."""
    try:
        entries = {e.name.lower(): e for e in os.scandir(folder)}
    except OSError:
        return None
    entry = entries.get(name.lower())
    if entry is None:
        return None
    st = entry.stat(follow_symlinks=False)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
        problems.append((entry.name, "refused: not a regular file"))
        return None
    with open(entry.path, "rb") as f:
        data = f.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        problems.append((entry.name, f"read only the first {MAX_FILE} bytes"))
        data = data[:MAX_FILE]
    return data


def _json_part(text: str) -> str:
    """The JSON that follows collectlogs' Format-Table listing, re-emitted as plain JSON."""
    from k8s_bundle.analyzer.parsers.windows_common import first_json_value

    if not text.strip():
        return "[]"
    return json.dumps(first_json_value(text), indent=1)


def _section(text: str, proto: str) -> str:
    from k8s_bundle.analyzer.parsers.windows_ports import split_by_protocol

    sections = split_by_protocol(text)
    lines = sections.get(proto)
    if lines is None:
        return text if proto == "tcp" and not any(k for k in sections if k) else ""
    header = f"Protocol {proto}"
    return header + "\n" + "\n".join(lines) + "\n"


def members(folder: Path) -> tuple[dict[str, bytes], list[tuple[str, str]]]:
    """(bundle members relative to the bundle root, problems as (file, message))."""
    from k8s_bundle.analyzer.decode import decode_text
    from k8s_bundle.analyzer.parsers.windows_host import parse_hotfixes_text

    node = folder_node_name(folder)
    problems: list[tuple[str, str]] = []
    out: dict[str, bytes] = {}
    base = f"nodes/{node}/"

    def text_of(name: str) -> str | None:
        data = _read(folder, name, problems)
        return decode_text(data) if data is not None else None

    for src, dest in (("network.txt", "windows/hns-networks.json"), ("endpoint.txt", "windows/hns-endpoints.json"),
                      ("policy.txt", "windows/hns-policylists.json")):
        text = text_of(src)
        if text is None:
            continue
        try:
            out[base + dest] = _json_part(text).encode()
        except (ValueError, RecursionError) as exc:  # hostile input: nesting past the stack
            problems.append((src, f"no readable JSON after the table: {str(exc)[:120]}"))
    for src, stem in (("dynamicportrange.txt", "dynamicportrange"), ("excludedportrange.txt", "excludedportrange")):
        text = text_of(src)
        if text is None:
            continue
        for proto in ("tcp", "udp"):
            part = _section(text, proto)
            if part.strip():
                out[f"{base}windows/{stem}-{proto}.txt"] = part.encode()
    for src, dest in (("reservedports.txt", "windows/reservedports.txt"), ("ip.txt", "windows/ipconfig.txt"),
                      ("routes.txt", "windows/route-print.txt"), ("hnsdiag.txt", "windows/hnsdiag.txt"),
                      ("networkdetailed.txt", "windows/hns-networks-detailed.txt")):
        text = text_of(src)
        if text is not None:
            out[base + dest] = text.encode()
    winver = text_of("winver.txt")
    os_build = None
    if winver is not None:
        out[base + "windows/hotfixes.json"] = json.dumps(
            [{"HotFixID": kb} for kb in parse_hotfixes_text(winver)]).encode()
        m = re.search(r"Microsoft Windows NT (\d+)\.(\d+)\.(\d+)(?:\.(\d+))?", winver)
        if m:
            build, ubr = int(m.group(3)), int(m.group(4) or 0)
            os_build = f"10.0.{build}.{ubr}"
            out[base + "windows/os.json"] = json.dumps(
                {"Caption": "Windows (from collectlogs winver.txt)", "Version": f"{m.group(1)}.{m.group(2)}.{build}",
                 "BuildNumber": str(build), "UBR": ubr}).encode()
    out[base + "node.json"] = json.dumps({
        "name": node, "hostname": node, "os": "windows", "distro": None, "kernel": os_build,
        "versions": {"os_build": os_build}, "roles": ["worker"], "runtime": None,
        "source": "collectlogs.ps1 output folder"}).encode()
    return out, problems


def manifest(folder: Path, names: list[str]) -> dict[str, Any]:
    import datetime as dt

    node = folder_node_name(folder)
    try:
        mtime = max(os.stat(folder / n).st_mtime for n in os.listdir(folder))
    except (OSError, ValueError):
        mtime = os.stat(folder).st_mtime
    created = dt.datetime.fromtimestamp(mtime, tz=dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Manifest(
        tool={"name": "collectlogs.ps1", "version": None, "read_by": f"k8s-bundle {__version__}"},
        created_at=created, finished_at=created,
        collection={"argv": [], "source": "collectlogs.ps1 output folder"},
        nodes=[NodeEntry(name=node, os="windows", transport="collectlogs")],
        items=[ItemRecord(node=node, area="collectlogs", id=n.rsplit("/", 1)[-1].rsplit(".", 1)[0], path=n,
                          kind="file", source="collectlogs.ps1", bytes=None) for n in names],
    ).to_dict()


def iter_members(folder: Path) -> Iterator[tuple[str, bytes, list[tuple[str, str]]]]:
    """(relative path, bytes) of the synthesized bundle, manifest.json first."""
    files, problems = members(folder)
    yield "manifest.json", json.dumps(manifest(folder, sorted(files))).encode(), problems
    for name in sorted(files):
        yield name, files[name], []
