"""systemd facts: `node.systemd = {failed: [unit], units: {name: {...}}}`.

Units are keyed by the id in the file name (`systemctl-status-kubelet.txt` -> `kubelet`), so
rules write `node.systemd.units.kubelet.active`; `unit` holds the full unit name.
"""
from __future__ import annotations

import re
from typing import Any

from k8s_bundle.analyzer.parsers import parser
from k8s_bundle.bundle.specs import S

_SHOW_KEYS = {"ActiveState": "active", "SubState": "sub", "LoadState": "load", "UnitFileState": "enabled",
              "Result": "result", "NRestarts": "restarts", "ExecMainStatus": "exit_status",
              "ExecMainCode": "exit_code", "MainPID": "main_pid", "Id": "unit",
              "ActiveEnterTimestamp": "active_since", "FragmentPath": "fragment", "DropInPaths": "drop_ins"}
_LOADED = re.compile(r"^\s*Loaded:\s+(\S+)(?:\s+\(([^)]*)\))?")
_ACTIVE = re.compile(r"^\s*Active:\s+(\S+)(?:\s+\(([^)]*)\))?(?:\s+\(Result:\s*([^)]*)\))?(?:\s+since\s+(.*?);)?")
_MAIN = re.compile(r"^\s*Main PID:\s+(\d+)(?:.*?status=(\d+))?")


@parser(S.systemctl_failed, fact="systemd", merge="dict")
def parse_systemctl_failed(text: str) -> dict[str, Any]:
    """`systemctl list-units --failed --no-legend` (a leading `●` is tolerated)."""
    failed = []
    for line in text.splitlines():
        words = line.replace("\u25cf", " ").replace("*", " ").split()
        if words and "." in words[0] and not words[0].startswith(("UNIT", "LOAD")):
            failed.append(words[0])
    return {"failed": failed}


@parser(S.systemctl_status, fact="systemd", merge="dict")
def parse_systemctl_status(text: str, path: str) -> dict[str, Any]:
    """`systemctl status <unit> --no-pager`: load/enabled, active/sub, result, since, main PID."""
    unit_id = _unit_id(path, "systemctl-status-")
    info: dict[str, Any] = {}
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    m = re.match(r"^\W*\s*(\S+\.\w+)", first)
    if m:
        info["unit"] = m[1]
    for line in text.splitlines():
        if (m := _LOADED.match(line)):
            info["load"] = m[1]
            extra = [p.strip() for p in (m[2] or "").split(";")]
            if len(extra) > 1:
                info["enabled"] = extra[1]
        elif (m := _ACTIVE.match(line)):
            info["active"], info["sub"] = m[1], m[2]
            if m[3]:
                info["result"] = m[3]
            if m[4]:
                info["active_since"] = m[4]
        elif (m := _MAIN.match(line)):
            info["main_pid"] = int(m[1])
            if m[2]:
                info["exit_status"] = int(m[2])
    if "active" not in info and "could not be found" in text:
        info["load"] = "not-found"
    if not info:
        raise ValueError("no Loaded:/Active: lines in systemctl status output")
    return {"units": {unit_id: info}}


@parser(S.systemctl_show, fact="systemd", merge="dict")
def parse_systemctl_show(text: str, path: str) -> dict[str, Any]:
    """`systemctl show <unit>`: key=value; the useful keys under friendly names, all under `show`."""
    unit_id = _unit_id(path, "systemctl-show-")
    show: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            show[key] = value
    info: dict[str, Any] = {}
    for key, name in _SHOW_KEYS.items():
        if key in show:
            value: Any = show[key]
            if name in ("restarts", "exit_status", "main_pid", "exit_code") and value.isdigit():
                value = int(value)
            info[name] = value
    info["show"] = show
    return {"units": {unit_id: info}}


def _unit_id(path: str, prefix: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name.removeprefix(prefix).rsplit(".", 1)[0]
