"""Linux network facts: routes, addresses, iptables, listening sockets, DNS."""
from __future__ import annotations

import re
from typing import Any

from k8s_bundle.analyzer.parsers import parser
from k8s_bundle.bundle.specs import S
from k8s_bundle.analyzer.parsers._util import to_int

_ROUTE_TYPES = {"unicast", "local", "broadcast", "multicast", "throw", "unreachable", "prohibit",
                "blackhole", "nat", "anycast"}
_ROUTE_KEYS = {"via": "gateway", "dev": "dev", "table": "table", "proto": "proto", "scope": "scope",
               "src": "src", "metric": "metric", "mtu": "mtu", "pref": "pref", "weight": "weight"}


@parser(S.ip_route, S.ip6_route, fact="routes", merge="list")
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


@parser(S.ip_addr, fact=("interfaces", "addresses"))
def parse_ip_addr_output(text: str) -> dict[str, Any]:
    """`ip -d addr` (or `ip addr`): node.interfaces (links) and node.addresses."""
    links, addresses = _ip_addr(text)
    return {"interfaces": links, "addresses": addresses}


def parse_ip_addr(text: str) -> list[dict[str, Any]]:
    """`ip -d addr` (or `ip addr`): one record per address."""
    return _ip_addr(text)[1]


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


_SS_USERS = re.compile(r'\("(?P<name>[^"]*)",pid=(?P<pid>\d+)')


@parser(S.ss_listen, fact="listening", merge="list")
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


@parser(S.ss_listen_udp, fact="listening", merge="list")
def parse_ss_listen_udp(text: str) -> list[dict[str, Any]]:
    """`ss -ulnpH`: UDP sockets (state `UNCONN`) join `node.listening` with proto `udp`."""
    return parse_ss_listen(text, default_proto="udp")


@parser(S.hostname_i, fact="hostname_ips")
def parse_hostname_i(text: str) -> list[str]:
    return text.split()


@parser(S.resolv_conf, fact="resolv")
def parse_resolv_conf(text: str) -> dict[str, list[str]]:
    return _resolv(text)


@parser(S.resolv_upstream, fact="resolv_upstream")
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


# -- ipvsadm -Ln --

_IPVS_HEADER = re.compile(r"IP Virtual Server version (\S+) \(size=(\d+)\)")


_IPVS_SERVICE = re.compile(r"^(TCP|UDP|SCTP|FWM)\s+(\S+)\s+(\S+)(.*)$")


_IPVS_KEEP = 500


_IPVS_REAL = re.compile(r"^\s*->\s+(\S+)\s+(\S+)\s+(-?\d+)\s+(\d+)\s+(\d+)")


def _host_port(value: str) -> tuple[str, int | None]:
    """`10.96.0.1:443` / `[fd00::1]:443` -> (address, port)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        return value.strip("[]"), None
    return host.strip("[]"), int(port)


@parser(S.ipvsadm, fact="ipvs")
def parse_ipvsadm(text: str) -> dict[str, Any]:
    """`ipvsadm -Ln`: `{version, size, service_count, real_server_count,
    services_without_real_servers, services: [...], services_truncated, dns_services: [...]}`;
    a service is `{protocol, address, port, scheduler, flags: [str], real_servers: [{address,
    port, forward, weight, active, inactive}]}`. FWM services have the firewall mark as
    `address` and a null port.

    The counts cover every service; `services` keeps the first 500 (a large cluster has tens
    of thousands, and facts are converted for CEL once per node) and `dns_services` every
    service on port 53, the ones rules look at by name."""
    header = _IPVS_HEADER.search(text)
    if not header:
        raise ValueError("no `IP Virtual Server version` header (expected `ipvsadm -Ln` output)")
    services: list[dict[str, Any]] = []
    for line in text[header.end():].splitlines():
        service = _IPVS_SERVICE.match(line)
        if service:
            proto, where, scheduler, rest = service.groups()
            address, port = (where, None) if proto == "FWM" else _host_port(where)
            services.append({"protocol": proto, "address": address, "port": port,
                             "scheduler": scheduler, "flags": rest.split(), "real_servers": []})
            continue
        real = _IPVS_REAL.match(line)
        if real and services and real[1] != "RemoteAddress:Port":
            address, port = _host_port(real[1])
            services[-1]["real_servers"].append({
                "address": address, "port": port, "forward": real[2], "weight": int(real[3]),
                "active": int(real[4]), "inactive": int(real[5])})
    return {"version": header[1], "size": int(header[2]), "service_count": len(services),
            "real_server_count": sum(len(s["real_servers"]) for s in services),
            "services_without_real_servers": sum(1 for s in services if not s["real_servers"]),
            "services": services[:_IPVS_KEEP], "services_truncated": len(services) > _IPVS_KEEP,
            "dns_services": [s for s in services if s["port"] == 53]}


_NEIGH_STATES = ("PERMANENT", "NOARP", "REACHABLE", "STALE", "NONE", "INCOMPLETE", "DELAY",
                 "PROBE", "FAILED")


_SAMPLE = 20


@parser(S.ip_neigh, fact="neighbours")
def parse_ip_neigh(text: str) -> dict[str, Any]:
    """`ip neigh` (both families): `{total, ipv4, ipv6, by_state: {STATE: n}, by_dev: {dev: n},
    failed, incomplete, failed_sample: [address]}` (the first 20 FAILED/INCOMPLETE
    addresses). Compare `ipv4` with sysctl `net.ipv4.neigh.default.gc_thresh3`."""
    by_state: dict[str, int] = {}
    by_dev: dict[str, int] = {}
    total = ipv4 = ipv6 = 0
    sample: list[str] = []
    for line in text.splitlines():
        words = line.split()
        if len(words) < 2 or "dev" not in words:
            continue
        address = words[0]
        dev_at = words.index("dev") + 1
        dev = words[dev_at] if dev_at < len(words) else None
        state = next((w for w in reversed(words) if w in _NEIGH_STATES), "NONE")
        total += 1
        if ":" in address:
            ipv6 += 1
        else:
            ipv4 += 1
        by_state[state] = by_state.get(state, 0) + 1
        if dev:
            by_dev[dev] = by_dev.get(dev, 0) + 1
        if state in ("FAILED", "INCOMPLETE") and len(sample) < _SAMPLE:
            sample.append(address)
    return {"total": total, "ipv4": ipv4, "ipv6": ipv6, "by_state": by_state, "by_dev": by_dev,
            "failed": by_state.get("FAILED", 0), "incomplete": by_state.get("INCOMPLETE", 0),
            "failed_sample": sample}


_RESOLVED_LINK = re.compile(r"^Link (\d+) \(([^)]*)\)")


# The keys kept, lower-cased, as systemd 237-256 print them; "DefaultRoute setting:" is the
# pre-248 spelling of what later versions print as +DefaultRoute among the Protocols.
_KEYS = {"dns servers": "dns_servers", "fallback dns servers": "fallback_dns_servers",
         "current dns server": "current_dns_server", "dns domain": "domains",
         "current scopes": "scopes", "resolv.conf mode": "resolv_conf_mode",
         "protocols": "protocols", "defaultroute setting": "default_route"}


_LISTS = {"dns_servers", "fallback_dns_servers", "domains", "scopes", "protocols"}


def _resolved_section(name: str, index: int | None = None, ifname: str | None = None) -> dict[str, Any]:
    section: dict[str, Any] = {"dns_servers": [], "fallback_dns_servers": [], "current_dns_server": None,
                               "domains": [], "scopes": [], "default_route": None}
    if name == "link":
        section.update({"index": index, "ifname": ifname})
    else:
        section["resolv_conf_mode"] = None
    return section


_KEY_VALUE = re.compile(r"^([A-Za-z][A-Za-z0-9 ./+-]*?):(?:\s+(.*))?$")


@parser(S.resolvectl, fact="resolvectl")
def parse_resolvectl(text: str) -> dict[str, Any]:
    """`resolvectl status`: `{global: {dns_servers, fallback_dns_servers, current_dns_server,
    domains, scopes, default_route, resolv_conf_mode}, links: [{index, ifname, scopes,
    dns_servers, current_dns_server, domains, default_route}], upstream_servers: [str]}`.

    `upstream_servers` is every configured (not fallback) server of the global section and
    the links, in order, without duplicates: empty means systemd-resolved has nowhere to send
    queries but its compiled-in fallbacks. Values continued on the next lines (several
    servers, older systemd) are joined to their key."""
    glob = _resolved_section("global")
    links: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    key: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line == "Global":
            current, key = glob, None
            continue
        link = _RESOLVED_LINK.match(line)
        if link:
            current, key = _resolved_section("link", int(link[1]), link[2]), None
            links.append(current)
            continue
        if current is None:
            continue
        pair = _KEY_VALUE.match(line)
        if pair:
            key = _KEYS.get(pair[1].strip().lower())
            value = (pair[2] or "").strip()
        else:
            value = line        # continuation of the previous key (an IPv6 server, a domain)
        if key is None or not value:
            continue
        if key in _LISTS:
            current.setdefault(key, []).extend(value.split())
        elif key == "default_route":
            current[key] = {"yes": True, "no": False}.get(value.lower())
        else:
            current[key] = value
    if current is None:
        raise ValueError("no Global or Link section (expected `resolvectl status` output)")
    for section in [glob, *links]:
        for proto in section.pop("protocols", []):   # systemd >= 248: +DefaultRoute/-DefaultRoute
            if proto.lstrip("+-") == "DefaultRoute":
                section["default_route"] = proto.startswith("+")
    upstream: list[str] = []
    for section in [glob, *links]:
        for server in section["dns_servers"]:
            if server not in upstream:
                upstream.append(server)
    return {"global": glob, "links": links, "upstream_servers": upstream}
