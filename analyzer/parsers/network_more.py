"""Network outputs the collector stores that no other parser reads: `nft list ruleset`,
`ipvsadm -Ln`, `ip neigh`, `resolvectl status` and `ipset list -t` (docs/facts.md: node.nft,
node.ipvs, node.neighbours, node.resolvectl, node.ipsets).

Not parsed: `bridge link` and `bridge fdb show`. Without `-d`, `bridge link` does not print the
hairpin flag (the one bridge-port fact a rule would want), and the fdb is mostly VXLAN
entries that `node.neighbours` and the routes already describe.

Each parser keeps what a rule can diagnose from and drops the bulk: a node with thousands
of Services prints megabytes of ipvsadm and nft text, so lists of entries become counts
where a rule only needs counts.
"""
from __future__ import annotations

import re
from typing import Any

from k8s_bundle.analyzer.parsers import RULESET_MAX_LINES, parser

# -- nft list ruleset ----------------------------------------------------------------------------

_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_IPTABLES_WARNING = re.compile(r"^#\s*Warning: table (\S+) (\S+) is managed by iptables-nft")
# The chains iptables-nft creates for its tables; native nft rulesets name their own chains.
_IPTABLES_BUILTIN = {"INPUT", "FORWARD", "OUTPUT", "PREROUTING", "POSTROUTING"}
_IPTABLES_TABLES = {"filter", "nat", "mangle", "raw", "security"}


def _balance(line: str) -> int:
    """Net `{` minus `}` outside quoted strings (comments may hold braces)."""
    bare = _QUOTED.sub('""', line)
    return bare.count("{") - bare.count("}")


def _chain_header(stmt: str, chain: dict[str, Any]) -> bool:
    """`type filter hook forward priority filter; policy drop;` fills the base-chain keys."""
    if not stmt.startswith(("type ", "policy ")):
        return False
    for part in stmt.split(";"):
        words = part.split()
        if not words:
            continue
        if words[0] == "type" and len(words) >= 2:
            chain["type"] = words[1]
            if "hook" in words:
                chain["hook"] = words[words.index("hook") + 1] if words.index("hook") + 1 < len(words) else None
            if "priority" in words:
                chain["priority"] = " ".join(words[words.index("priority") + 1:]) or None
            if "device" in words and words.index("device") + 1 < len(words):
                chain["device"] = words[words.index("device") + 1].strip('"')
        elif words[0] == "policy" and len(words) >= 2:
            chain["policy"] = words[1]
    return True


@parser("commands/nft-ruleset.txt", fact="nft", max_lines=RULESET_MAX_LINES)
def parse_nft_ruleset(text: str) -> dict[str, Any]:
    """`nft list ruleset`: `{tables: [{family, name, iptables_managed, chain_count}],
    chains: [{family, table, name, type, hook, priority, policy, device, rules: [str]}],
    regular_chain_count, rule_count}` (`device` for netdev/ingress chains, else null).

    `chains` holds the base chains only (those attached to a hook: where policies and the
    packet's fate are decided). Regular chains are counted, not kept: kube-proxy's nftables
    mode creates a few per Service, tens of thousands on a large cluster, and every fact is
    converted for CEL once per node. A table is `iptables_managed` when nft prints its
    "managed by iptables-nft" warning, or (older nft) when it is an ip/ip6 table of iptables'
    names holding iptables' upper-case built-in chains.
    """
    tables: list[dict[str, Any]] = []
    chains: list[dict[str, Any]] = []
    warned: set[tuple[str, str]] = set()
    # stack of open blocks: ("table", table dict) / ("chain", chain dict) / ("other", None)
    stack: list[tuple[str, dict[str, Any] | None]] = []
    pending = ""
    pending_balance = 0
    rule_count = 0
    seen_any = False

    def add_rule(chain: dict[str, Any], stmt: str) -> None:
        nonlocal rule_count
        stmt = re.sub(r"\s+# handle \d+$", "", stmt)
        if stmt.startswith("comment ") or _chain_header(stmt, chain):
            return
        chain["rules"].append(stmt)
        rule_count += 1

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            warning = _IPTABLES_WARNING.match(line)
            if warning:
                warned.add((warning[1], warning[2]))
            continue
        if pending:
            pending += " " + line
            pending_balance += _balance(line)
            if pending_balance <= 0:
                add_rule(stack[-1][1], pending)   # type: ignore[arg-type]
                pending = ""
            continue
        top = stack[-1][0] if stack else None
        balance = _balance(line)
        if top == "chain" and not line.startswith("}"):
            if balance > 0:       # a rule whose anonymous set or map spans lines
                pending, pending_balance = line, balance
            else:
                add_rule(stack[-1][1], line)    # type: ignore[arg-type]
            continue
        if balance > 0:
            words = line.rstrip("{").split()
            if top is None and words[:1] == ["table"] and len(words) >= 2:
                family, name = (words[1], words[2]) if len(words) >= 3 else ("ip", words[1])
                table = {"family": family, "name": name, "iptables_managed": False, "_chains": []}
                tables.append(table)
                stack.append(("table", table))
                seen_any = True
            elif top == "table" and words[:1] == ["chain"] and len(words) >= 2:
                table = stack[-1][1]
                chain = {"family": table["family"], "table": table["name"], "name": words[1],   # type: ignore[index]
                         "type": None, "hook": None, "priority": None, "policy": None, "device": None,
                         "rules": []}
                chains.append(chain)
                table["_chains"].append(chain)   # type: ignore[index]
                stack.append(("chain", chain))
            else:
                stack.append(("other", None))
            stack.extend(("other", None) for _ in range(balance - 1))
        elif balance < 0:
            del stack[len(stack) + balance:]
    if not seen_any and text.strip():
        raise ValueError("no `table` block (expected `nft list ruleset` output)")
    for table in tables:
        own = table.pop("_chains")
        builtin = any(c["name"] in _IPTABLES_BUILTIN and c["hook"] for c in own)
        table["iptables_managed"] = (table["family"], table["name"]) in warned or (
            table["family"] in ("ip", "ip6") and table["name"] in _IPTABLES_TABLES and builtin)
        table["chain_count"] = len(own)
    base = [c for c in chains if c["hook"]]
    return {"tables": tables, "chains": base, "regular_chain_count": len(chains) - len(base),
            "rule_count": rule_count}


# -- ipvsadm -Ln ---------------------------------------------------------------------------------

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


@parser("commands/ipvsadm.txt", fact="ipvs")
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


# -- ip neigh ------------------------------------------------------------------------------------

_NEIGH_STATES = ("PERMANENT", "NOARP", "REACHABLE", "STALE", "NONE", "INCOMPLETE", "DELAY",
                 "PROBE", "FAILED")
_SAMPLE = 20


@parser("commands/ip-neigh.txt", fact="neighbours")
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


# -- resolvectl status ---------------------------------------------------------------------------

_LINK = re.compile(r"^Link (\d+) \(([^)]*)\)")
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


@parser("commands/resolvectl.txt", fact="resolvectl")
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
        link = _LINK.match(line)
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


# -- ipset list -t -------------------------------------------------------------------------------

_IPSET_INTS = {"revision": "revision", "size in memory": "memory_bytes", "references": "references",
               "number of entries": "entries"}


@parser("commands/ipset.txt", fact="ipsets", max_lines=RULESET_MAX_LINES)
def parse_ipset_terse(text: str) -> list[dict[str, Any]]:
    """`ipset list -t` (headers only): `[{name, type, revision, family, hashsize, maxelem,
    memory_bytes, references, entries}]`. `entries` is null before ipset 6.38, which did not
    print it; `maxelem`/`hashsize`/`family` are null for list:set and bitmap types."""
    sets: list[dict[str, Any]] = []
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip().lower(), value.strip()
        if key == "name":
            sets.append({"name": value, "type": None, "revision": None, "family": None, "hashsize": None,
                         "maxelem": None, "memory_bytes": None, "references": None, "entries": None})
        elif not sets:
            continue
        elif key == "type":
            sets[-1]["type"] = value
        elif key == "header":
            words = value.split()
            for field_name in ("family", "hashsize", "maxelem"):
                if field_name in words and words.index(field_name) + 1 < len(words):
                    raw = words[words.index(field_name) + 1]
                    sets[-1][field_name] = raw if field_name == "family" else (int(raw) if raw.isdigit() else None)
        elif key in _IPSET_INTS and value.isdigit():
            sets[-1][_IPSET_INTS[key]] = int(value)
    if not sets and text.strip():
        raise ValueError("no `Name:` line (expected `ipset list -t` output)")
    return sets
