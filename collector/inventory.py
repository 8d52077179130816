"""`collect --hosts FILE`: the hosts of a plain host list or an Ansible inventory (INI or YAML).

Formats, as Ansible documents them ("How to build your inventory",
https://docs.ansible.com/ansible/latest/inventory_guide/intro_inventory.html):

- INI: `[group]` sections of host lines `name [key=value ...]`, `[group:vars]` sections of
  `key=value`, `[group:children]` sections naming child groups; host lines before any section
  are ungrouped; ranges `node[01:20].example` (leading zeros kept), `[a:f]`, `[0:10:2]`;
  `name:port`; comments `#` and `;`.
- YAML: `all:` (or any top-level group) with `hosts:` (a mapping of names to their variables),
  `vars:` and `children:` (groups of the same shape), ranges in host names as in INI.
- A plain list (one `[user@]host[:port]` a line, `#` comments) is read as INI without sections;
  `user@` is our extension for that case.

Variables used: ansible_host, ansible_port, ansible_user, ansible_connection (ssh, smart,
paramiko: SSH; winrm, psrp: Windows over WinRM); a host's own variables win over its groups',
a child group's over its parent's. Every problem with the file is one UserError line naming the
file and line, exit 4 (bad input); an unknown --hosts-group is exit 4 too (it names a group
the file does not have).
"""
from __future__ import annotations

import re
import shlex
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from k8s_bundle.errors import EXIT_BAD_INPUT, UserError

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_HOSTS = 100_000              # after range expansion: a typo like [1:99999999] is refused
SSH_CONNECTIONS = {"ssh", "smart", "paramiko", "paramiko_ssh"}
WINRM_CONNECTIONS = {"winrm", "psrp"}
_RANGE = re.compile(r"\[([^\]:]*):([^\]:]*)(?::([^\]]*))?\]")
# A bracketed IPv6 address ([::1]:2200) is a host, not a section header or a range.
_IPV6 = re.compile(r"\[[0-9a-fA-F.]*:[0-9a-fA-F.:]*\](?::\d+)?(?:\s|$)")
_HOSTPORT = re.compile(r"^(?:(?P<user>[^@\s]+)@)?(?P<host>\[[^\]]+\]|[^:\s]+)(?::(?P<port>\d+))?$")


@dataclass(frozen=True)
class InventoryHost:
    name: str                     # the inventory name (labels, failed_hosts)
    address: str                  # ansible_host, else the name
    user: str | None = None
    port: int | None = None
    connection: str = "ssh"       # "ssh" or "winrm"

    @property
    def label(self) -> str:
        """[user@]name[:port] as a user would type it for --ssh/--winrm."""
        return (f"{self.user}@" if self.user and self.connection == "ssh" else "") + self.name + (
            f":{self.port}" if self.port and self.name == self.address else "")


class _Inventory:
    def __init__(self, source: str) -> None:
        self.source = source
        self.hosts: dict[str, dict[str, Any]] = {}          # name -> host vars
        self.order: list[str] = []
        self.groups: dict[str, list[str]] = {"all": [], "ungrouped": []}   # direct hosts
        self.children: dict[str, list[str]] = {"all": [], "ungrouped": []}
        self.group_vars: dict[str, dict[str, Any]] = {}

    def error(self, where: str, why: str) -> UserError:
        return UserError(f"--hosts {self.source}{where}: {why}", EXIT_BAD_INPUT)

    def group(self, name: str) -> None:
        self.groups.setdefault(name, [])
        self.children.setdefault(name, [])

    def add_host(self, group: str, name: str, hostvars: dict[str, Any]) -> None:
        self.group(group)
        if name not in self.hosts:
            self.hosts[name] = {}
            self.order.append(name)
        self.hosts[name].update(hostvars)
        if name not in self.groups[group]:
            self.groups[group].append(name)

    def members(self, group: str, seen: set[str] | None = None) -> list[str]:
        """Hosts of a group and of its children, recursively, in inventory order."""
        seen = seen if seen is not None else set()
        if group in seen:
            return []
        seen.add(group)
        if group == "all":
            return list(self.order)
        names = list(self.groups.get(group, []))
        for child in self.children.get(group, []):
            names += self.members(child, seen)
        return [n for n in self.order if n in set(names)]

    def ancestors(self, group: str) -> list[str]:
        """Parents of a group, farthest first ("all" at the very front)."""
        out: list[str] = []
        for parent, kids in self.children.items():
            if group in kids and parent != group:
                for a in self.ancestors(parent) + [parent]:
                    if a not in out:
                        out.append(a)
        return out

    def variables(self, name: str) -> dict[str, Any]:
        merged: dict[str, Any] = dict(self.group_vars.get("all", {}))
        direct = [g for g, hosts in self.groups.items() if name in hosts and g != "all"]
        chain: list[str] = []
        for g in direct:
            for a in self.ancestors(g) + [g]:
                if a not in chain and a != "all":
                    chain.append(a)
        for g in chain:
            merged.update(self.group_vars.get(g, {}))
        merged.update(self.hosts[name])
        return merged


def expand_ranges(pattern: str) -> list[str]:
    """node[01:03].x -> node01.x, node02.x, node03.x; [a:c] letters; [0:10:5] with a stride."""
    m = _RANGE.search(pattern)
    if m is None:
        return [pattern]
    start, end, stride_text = m.group(1), m.group(2), m.group(3)
    stride = int(stride_text) if stride_text and stride_text.isdigit() else 1
    if stride_text is not None and (not stride_text.isdigit() or stride < 1):
        raise ValueError(f"bad range stride in {pattern!r}")
    if start.isdigit() and end.isdigit():
        width = len(start) if start.startswith("0") and len(start) > 1 else 0
        a, b = int(start), int(end)
        if b < a:
            raise ValueError(f"range {pattern!r} ends before it starts")
        if (b - a) // stride + 1 > MAX_HOSTS:
            raise ValueError(f"range {pattern!r} expands to more than {MAX_HOSTS} hosts")
        values = [str(i).zfill(width) for i in range(a, b + 1, stride)]
    elif (len(start) == 1 and len(end) == 1 and start in string.ascii_letters
          and end in string.ascii_letters and start <= end):
        values = [chr(c) for c in range(ord(start), ord(end) + 1, stride)]
    else:
        raise ValueError(f"bad range in {pattern!r} (use [01:20] or [a:f])")
    head, tail = pattern[:m.start()], pattern[m.end():]
    out: list[str] = []
    for v in values:
        out += expand_ranges(head + v + tail)
        if len(out) > MAX_HOSTS:
            raise ValueError(f"{pattern!r} expands to more than {MAX_HOSTS} hosts")
    return out


def _split_hostport(token: str) -> tuple[str | None, str, int | None]:
    m = _HOSTPORT.match(token)
    if m is None:
        raise ValueError(f"expected [user@]host[:port], got {token!r}")
    host = m.group("host")
    if host.startswith("["):
        host = host[1:-1]
    port = int(m.group("port")) if m.group("port") else None
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"port {port} out of range")
    return m.group("user"), host, port


def _parse_ini(inv: _Inventory, text: str) -> None:
    section, kind = "ungrouped", "hosts"
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        where = f":{n}"
        if line.startswith("[") and not _IPV6.match(line):
            m = re.fullmatch(r"\[([^\]\s:]+)(?::(vars|children))?\]", line)
            if m is None:
                raise inv.error(where, f"bad section header {line!r}")
            section, kind = m.group(1), m.group(2) or "hosts"
            inv.group(section)
            if section not in ("all", "ungrouped") and section not in inv.children["all"]:
                inv.children["all"].append(section)
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError as exc:
            raise inv.error(where, f"cannot split the line ({exc})") from None
        if not words:
            continue
        if kind == "children":
            inv.group(words[0])
            if words[0] not in inv.children[section]:
                inv.children[section].append(words[0])
            continue
        pairs = words if kind == "vars" else words[1:]
        hostvars: dict[str, Any] = {}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep or not key:
                raise inv.error(where, f"expected key=value, got {pair!r}")
            hostvars[key.strip()] = value
        if kind == "vars":
            inv.group_vars.setdefault(section, {}).update(hostvars)
            continue
        try:
            names = [words[0]] if _IPV6.match(words[0]) else expand_ranges(words[0])
            for name in names:
                user, host, port = _split_hostport(name)
                own = dict(hostvars)
                if user:
                    own.setdefault("ansible_user", user)
                if port:
                    own.setdefault("ansible_port", port)
                inv.add_host(section, host, own)
        except ValueError as exc:
            raise inv.error(where, str(exc)) from None


def _parse_yaml(inv: _Inventory, text: str) -> None:
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise inv.error(where, f"not valid YAML ({getattr(exc, 'problem', None) or 'syntax error'})") from None
    if doc is None:
        return
    if not isinstance(doc, dict):
        raise inv.error("", "a YAML inventory is a mapping of groups (all: hosts: / children:)")

    def group(name: str, body: Any, parent: str | None, depth: int) -> None:
        if depth > 64:
            raise inv.error("", f"group {name!r}: children nested too deep")
        inv.group(str(name))
        if parent is not None and name not in inv.children[parent]:
            inv.children[parent].append(str(name))
        if body is None:
            return
        if not isinstance(body, dict):
            raise inv.error("", f"group {name!r}: expected hosts:, vars: or children:")
        unknown = set(body) - {"hosts", "vars", "children"}
        if unknown:
            raise inv.error("", f"group {name!r}: unknown key {sorted(map(str, unknown))[0]!r} "
                                "(expected hosts:, vars: or children:)")
        hosts = body.get("hosts") or {}
        if not isinstance(hosts, dict):
            raise inv.error("", f"group {name!r}: hosts: must be a mapping of host names")
        for pattern, hostvars in hosts.items():
            if hostvars is not None and not isinstance(hostvars, dict):
                raise inv.error("", f"host {pattern!r}: its variables must be a mapping")
            try:
                for host_name in expand_ranges(str(pattern)):
                    user, host, port = _split_hostport(host_name)
                    own = dict(hostvars or {})
                    if port:
                        own.setdefault("ansible_port", port)
                    inv.add_host(str(name), host, own)
            except ValueError as exc:
                raise inv.error("", str(exc)) from None
        gvars = body.get("vars") or {}
        if not isinstance(gvars, dict):
            raise inv.error("", f"group {name!r}: vars: must be a mapping")
        inv.group_vars.setdefault(str(name), {}).update(gvars)
        children = body.get("children") or {}
        if not isinstance(children, dict):
            raise inv.error("", f"group {name!r}: children: must be a mapping of groups")
        for child, child_body in children.items():
            group(str(child), child_body, str(name), depth + 1)

    for name, body in doc.items():
        group(str(name), body, None if str(name) == "all" else "all", 0)


def _looks_like_yaml(path: str, text: str) -> bool:
    if path.lower().endswith((".yml", ".yaml")):
        return True
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        return line == "---" or bool(re.fullmatch(r"[\w.-]+:", line))
    return False


def parse_inventory(text: str, source: str = "FILE") -> _Inventory:
    inv = _Inventory(source)
    if _looks_like_yaml(source, text):
        _parse_yaml(inv, text)
    else:
        _parse_ini(inv, text)
    return inv


def _resolve(inv: _Inventory, name: str) -> InventoryHost:
    hv = inv.variables(name)
    conn = str(hv.get("ansible_connection", "ssh")).strip().lower()
    if conn in WINRM_CONNECTIONS:
        connection = "winrm"
    elif conn in SSH_CONNECTIONS:
        connection = "ssh"
    else:
        raise inv.error("", f"host {name}: ansible_connection={conn} is not collected "
                            "(ssh, smart, paramiko, winrm or psrp)")
    port: int | None = None
    if hv.get("ansible_port") not in (None, ""):
        try:
            port = int(str(hv["ansible_port"]))
        except ValueError:
            port = -1
        if not 0 < port < 65536:
            raise inv.error("", f"host {name}: ansible_port={hv['ansible_port']} is not a port")
    user = hv.get("ansible_user")
    address = str(hv.get("ansible_host") or name)
    if any(c.isspace() for c in address) or address.startswith("-") or not address:
        raise inv.error("", f"host {name}: bad ansible_host {address!r}")
    if user is not None and (not str(user) or str(user).startswith("-") or any(c.isspace() for c in str(user))):
        raise inv.error("", f"host {name}: bad ansible_user {user!r}")
    return InventoryHost(name=name, address=address, user=str(user) if user else None, port=port,
                         connection=connection)


def load_hosts(paths: Iterable[str], group: str | None = None) -> list[InventoryHost]:
    """Every host of the files (narrowed to `group` and its children), in file order, once."""
    out: list[InventoryHost] = []
    seen: set[tuple[str, str, str | None, int | None]] = set()
    found_group = group is None
    for path in paths:
        try:
            p = Path(path)
            if not p.is_file():
                raise UserError(f"--hosts {path}: no such file" if not p.exists()
                                else f"--hosts {path}: not a regular file", EXIT_BAD_INPUT)
            with open(p, "rb") as f:
                data = f.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise UserError(f"--hosts {path}: cannot read ({exc.strerror})", EXIT_BAD_INPUT) from None
        if len(data) > MAX_FILE_BYTES:
            raise UserError(f"--hosts {path}: larger than {MAX_FILE_BYTES >> 20} MiB", EXIT_BAD_INPUT)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise UserError(f"--hosts {path}: not UTF-8 text", EXIT_BAD_INPUT) from None
        inv = parse_inventory(text, path)
        if group is not None and group not in inv.groups:
            continue
        found_group = True
        names = inv.members(group) if group is not None else list(inv.order)
        for name in names:
            host = _resolve(inv, name)
            key = (host.connection, host.address, host.user, host.port)
            if key not in seen:
                seen.add(key)
                out.append(host)
        if len(out) > MAX_HOSTS:
            raise UserError(f"--hosts: more than {MAX_HOSTS} hosts", EXIT_BAD_INPUT)
    if not found_group:
        raise UserError(f"--hosts-group {group}: no such group in "
                        + ", ".join(str(p) for p in paths), EXIT_BAD_INPUT)
    return out
