"""Linux network facts: routes, addresses, iptables, listening sockets, DNS."""
from __future__ import annotations

import re
from typing import Any

from k8s_bundle.analyzer.parsers import RULESET_MAX_LINES, parser
from k8s_bundle.analyzer.parsers._util import to_int

_ROUTE_TYPES = {"unicast", "local", "broadcast", "multicast", "throw", "unreachable", "prohibit",
                "blackhole", "nat", "anycast"}
_ROUTE_KEYS = {"via": "gateway", "dev": "dev", "table": "table", "proto": "proto", "scope": "scope",
               "src": "src", "metric": "metric", "mtu": "mtu", "pref": "pref", "weight": "weight"}


@parser("commands/ip-route.txt", "commands/ip6-route.txt", fact="routes", merge="list")
def parse_ip_route(text: str) -> list[dict[str, Any]]:
    """`ip route show table all` (and `ip -6 route`); multipath `nexthop` lines attach to the
    route above them as `nexthops`."""
    out: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        words = line.split()
        if line[0].isspace() and words[0] == "nexthop" and out:
            hop = _route_words(words[1:], {})
            out[-1].setdefault("nexthops", []).append(hop)
            continue
        route: dict[str, Any] = {"type": "unicast"}
        if words[0] in _ROUTE_TYPES:
            route["type"] = words.pop(0)
        if not words:
            continue
        route["dst"] = words.pop(0)
        _route_words(words, route)
        route.setdefault("table", "main")
        for key in ("gateway", "dev", "proto", "scope", "src", "metric"):
            route.setdefault(key, None)
        out.append(route)
    return out


def _route_words(words: list[str], route: dict[str, Any]) -> dict[str, Any]:
    flags = []
    i = 0
    while i < len(words):
        word = words[i]
        key = _ROUTE_KEYS.get(word)
        if key and i + 1 < len(words):
            value: Any = words[i + 1]
            if key in ("metric", "mtu", "weight"):
                value = to_int(value) if value.isdigit() else value
            route[key] = value
            i += 2
            continue
        flags.append(word)
        i += 1
    if flags:
        route["flags"] = flags
    return route


_LINK = re.compile(r"^(?P<idx>\d+):\s+(?P<name>[^:@\s]+)(?:@(?P<peer>\S+?))?:\s+<(?P<flags>[^>]*)>(?P<rest>.*)$")


@parser("commands/ip-addr.txt", fact="addresses")
def parse_ip_addr(text: str) -> list[dict[str, Any]]:
    """`ip -d addr` (or `ip addr`): one record per address."""
    return _ip_addr(text)[1]


@parser("commands/ip-addr.txt", fact="interfaces")
def parse_interfaces(text: str) -> list[dict[str, Any]]:
    """`ip -d addr`: one record per link `{ifname, flags, mtu, state, kind, mac, master, vxlan}`."""
    return _ip_addr(text)[0]


def _ip_addr(text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    links: list[dict[str, Any]] = []
    addrs: list[dict[str, Any]] = []
    link: dict[str, Any] | None = None
    details_next = False
    for line in text.splitlines():
        m = _LINK.match(line)
        if m:
            rest = m["rest"].split()
            link = {"ifname": m["name"], "index": int(m["idx"]), "flags": m["flags"].split(",") if m["flags"] else [],
                    "mtu": _after_int(rest, "mtu"), "state": _after(rest, "state"), "master": _after(rest, "master"),
                    "kind": None, "mac": None}
            links.append(link)
            details_next = False
            continue
        if link is None:
            continue
        words = line.split()
        if not words:
            continue
        head = words[0]
        if head.startswith("link/"):
            link["mac"] = words[1] if len(words) > 1 and head != "link/none" else None
            details_next = True
            continue
        if head in ("inet", "inet6") and len(words) > 1:
            address, _, prefix = words[1].partition("/")
            addrs.append({"ifname": link["ifname"], "family": head, "address": address,
                          "prefixlen": to_int(prefix), "scope": _after(words, "scope"),
                          "state": link["state"], "kind": link["kind"]})
            details_next = False
            continue
        if details_next and head not in ("valid_lft", "altname") and not head.startswith("link-netns"):
            # The first detail line of `ip -d` names the link kind: vxlan, bridge, veth, bond, ...
            link["kind"] = head if head not in ("bridge_slave", "bond_slave") else link["kind"]
            if head == "vxlan":
                link["vxlan"] = {"id": _after_int(words, "id"), "local": _after(words, "local"),
                                 "dev": _after(words, "dev"), "dstport": _after_int(words, "dstport")}
            details_next = False
    kinds: dict[Any, Any] = {}
    for lk in links:      # the first link of a name, as a scan would find it (one pass, not links x addrs)
        kinds.setdefault(lk["ifname"], lk["kind"])
    for addr in addrs:  # kind is known only after the link's detail line
        addr["kind"] = kinds.get(addr["ifname"])
    return links, addrs


def _after(words: list[str], key: str) -> str | None:
    try:
        return words[words.index(key) + 1]
    except (ValueError, IndexError):
        return None


def _after_int(words: list[str], key: str) -> int | None:
    return to_int(_after(words, key))


@parser("commands/iptables-save.txt", fact="iptables", max_lines=RULESET_MAX_LINES)
def parse_iptables_save(text: str) -> dict[str, Any]:
    """`iptables-save`: `{tables: {filter: {chains: {FORWARD: {policy, rules: [..]}}}}, rule_count}`.
    A rule is kept as its text after `-A CHAIN `."""
    return _iptables(text)


@parser("commands/ip6tables-save.txt", fact="ip6tables", max_lines=RULESET_MAX_LINES)
def parse_ip6tables_save(text: str) -> dict[str, Any]:
    return _iptables(text)


@parser("commands/iptables-legacy-save.txt", fact="iptables_legacy", max_lines=RULESET_MAX_LINES)
def parse_iptables_legacy_save(text: str) -> dict[str, Any]:
    """`iptables-legacy-save`: rules in the legacy back end (mixed back ends break kube-proxy)."""
    return _iptables(text)


def _iptables(text: str) -> dict[str, Any]:
    tables: dict[str, Any] = {}
    chains: dict[str, Any] | None = None
    count = 0
    for line in text.splitlines():
        if line.startswith("*"):
            chains = {}
            tables[line[1:].strip()] = {"chains": chains}
        elif chains is None or not line or line.startswith("#") or line == "COMMIT":
            continue
        elif line.startswith(":"):
            parts = line[1:].split()
            chains[parts[0]] = {"policy": parts[1] if len(parts) > 1 and parts[1] != "-" else None, "rules": []}
        elif line.startswith(("-A ", "-I ")):
            _, chain, *rest = line.split(" ", 2)
            chains.setdefault(chain, {"policy": None, "rules": []})["rules"].append(rest[0] if rest else "")
            count += 1
    return {"tables": tables, "rule_count": count}


@parser("commands/iptables-version.txt", fact="iptables_mode")
def parse_iptables_mode(text: str) -> str | None:
    """`iptables v1.8.7 (nf_tables)` / `(legacy)`; before 1.8 there was only legacy."""
    m = re.search(r"iptables v(\d+)\.(\d+)\S*(?:\s+\((\w+)\))?", text)
    if not m:
        raise ValueError("no `iptables vX.Y` in the output")
    if m[3]:
        return m[3]
    return "legacy" if (int(m[1]), int(m[2])) < (1, 8) else None


@parser("commands/iptables-version.txt", fact="iptables_version")
def parse_iptables_version(text: str) -> str | None:
    m = re.search(r"iptables v(\S+)", text)
    return m[1] if m else None


_SS_USERS = re.compile(r'\("(?P<name>[^"]*)",pid=(?P<pid>\d+)')


@parser("commands/ss-listen.txt", fact="listening", merge="list")
def parse_ss_listen(text: str, *, default_proto: str = "tcp") -> list[dict[str, Any]]:
    """`ss -tlnpH` (a header line and a leading Netid column are tolerated)."""
    out = []
    for line in text.splitlines():
        words = line.split()
        if not words or words[0] in ("State", "Netid"):
            continue
        proto = default_proto
        if words[0] in ("tcp", "udp", "tcp6", "udp6", "sctp"):
            proto = words.pop(0)
        if len(words) < 4:
            continue
        local = words[3]
        host, _, port = local.rpartition(":")
        host = host.strip("[]")
        host, _, _iface = host.partition("%")
        users = _SS_USERS.search(line)
        out.append({"proto": proto, "state": words[0], "local_address": host, "port": to_int(port),
                    "process": users["name"] if users else None,
                    "pid": int(users["pid"]) if users else None})
    return out


@parser("commands/ss-listen-udp.txt", fact="listening", merge="list")
def parse_ss_listen_udp(text: str) -> list[dict[str, Any]]:
    """`ss -ulnpH`: UDP sockets (state `UNCONN`) join `node.listening` with proto `udp`."""
    return parse_ss_listen(text, default_proto="udp")


@parser("commands/hostname-i.txt", fact="hostname_ips")
def parse_hostname_i(text: str) -> list[str]:
    return text.split()


@parser("files/etc/resolv.conf", fact="resolv")
def parse_resolv_conf(text: str) -> dict[str, list[str]]:
    return _resolv(text)


@parser("files/run/systemd/resolve/resolv.conf", fact="resolv_upstream")
def parse_resolv_upstream(text: str) -> dict[str, list[str]]:
    return _resolv(text)


def _resolv(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"nameservers": [], "search": [], "options": []}
    for line in text.splitlines():
        words = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(words) < 2:
            continue
        if words[0] == "nameserver":
            out["nameservers"].append(words[1])
        elif words[0] in ("search", "domain"):
            out["search"] = words[1:]      # the last search/domain line wins, as in the resolver
        elif words[0] == "options":
            out["options"].extend(words[1:])
    return out
