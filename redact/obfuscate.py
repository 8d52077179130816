"""Optional identity obfuscation (`--obfuscate hostnames,ips,macs,usernames`), off by default.

In the spirit of `sos clean`, but keeping what the analyzer needs:
- IPv4: octet-wise keyed permutations that depend on the preceding octets, so two addresses
  share a /8, /16 or /24 after obfuscation exactly when they did before (pod CIDR vs node IP
  checks still work for octet-aligned prefixes). Private ranges keep their network part
  (10.x, 172.16-31.x, 192.168.x, 169.254.x, 100.64-127.x), loopback, 0.0.0.0, broadcast,
  multicast and netmasks are kept, 0 and 255 octets stay 0 and 255.
- IPv6: link-local keeps fe80::/64, others their first group; later groups are keyed hashes
  of the groups before them (shared prefixes stay shared); loopback and multicast stay.
- MAC: the vendor prefix (OUI) is kept, the device part replaced.
- hostnames and usernames: the names known to the run (the node's own hostname and FQDN,
  names added by the caller, local login users) become host-HASH6 / domain-HASH6.example /
  user-HASH6, whole words only.

The mapping and the key live in the obfuscation map written beside the bundle (mode 0600),
never inside it. Passing a previous map reuses its key and names, so several nodes collected
separately are obfuscated consistently.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import random
import re
import threading
from pathlib import Path
from typing import Any, Iterable

CATEGORIES = ("hostnames", "ips", "macs", "usernames")

_IP_TAIL = re.compile(rb"\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\w]|\.\d)")
_MAC_TAILS = [re.compile(sep + (rb"[0-9A-Fa-f]{2}" + sep) * 4 + rb"[0-9A-Fa-f]{2}(?![\w:-])") for sep in (b":", b"-")]
_V6_DOUBLE = re.compile(rb"::")
_V6_FULL = re.compile(rb":[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:")
_V6_CHARS = frozenset(b"0123456789abcdefABCDEF:")
_V6_BEFORE = frozenset(b"ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ_.")
_V6_AFTER = frozenset(b"ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ_.")
_HEX2 = re.compile(rb"[0-9A-Fa-f]{2}")
_WORD_OR_DOT = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_.")
_MAC_NEIGHBOUR = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:-")
# "-" and "_" are boundaries: static pod names embed the hostname (etcd-cp1), and pod log
# directories join namespace, pod and uid with "_" (kube-system_kube-apiserver-cp1_<uid>).
_NAME_NEIGHBOUR = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyz")
_PUBLIC_FIRST = [o for o in range(1, 224) if o not in (10, 127)]
# Names too generic to replace as whole words without wrecking ordinary log text.
_STOP_NAMES = {
    "localhost", "node", "master", "worker", "server", "host", "kubernetes", "default", "control",
    "plane", "root", "admin", "daemon", "nobody", "system", "kube", "user", "users", "bin", "sys",
    "sync", "games", "man", "mail", "news", "proxy", "backup", "list", "irc", "systemd", "docker",
    "containerd", "ubuntu", "debian", "centos", "admin.conf", "test", "local", "none",
}


def parse_categories(text: str | Iterable[str]) -> frozenset[str]:
    items = [t.strip().lower() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
    bad = [t for t in items if t not in CATEGORIES]
    if bad:
        raise ValueError(f"unknown obfuscation categories: {', '.join(bad)} (known: {', '.join(CATEGORIES)})")
    return frozenset(items)


class Obfuscator:
    def __init__(self, categories: frozenset[str], previous: dict[str, Any] | None = None) -> None:
        self.categories = frozenset(categories)
        self._lock = threading.Lock()
        key_hex = (previous or {}).get("key")
        self.key = bytes.fromhex(key_hex) if isinstance(key_hex, str) else os.urandom(32)
        self.maps: dict[str, dict[str, str]] = {c: {} for c in CATEGORIES}
        self._perms: dict[tuple[int, ...], list[int]] = {}
        self._ip_cache: dict[bytes, bytes] = {}
        self._hostnames: set[str] = set()
        self._usernames: set[str] = set()
        self._name_re: re.Pattern[bytes] | None = None
        self._name_map: dict[bytes, bytes] = {}
        if previous:
            self.add_hostnames((previous.get("hostnames") or {}).keys())
            self.add_usernames((previous.get("usernames") or {}).keys())

    # -- names ----------------------------------------------------------------------------------
    def add_hostnames(self, names: Iterable[str]) -> None:
        with self._lock:
            for n in names:
                n = n.strip().strip(".").lower()
                if len(n) >= 3 and n not in _STOP_NAMES and not re.fullmatch(r"[\d.]+", n):
                    self._hostnames.add(n)
            self._name_re = None

    def add_usernames(self, names: Iterable[str]) -> None:
        with self._lock:
            for n in names:
                n = n.strip()
                if len(n) >= 3 and n.lower() not in _STOP_NAMES:
                    self._usernames.add(n)
            self._name_re = None

    def add_local_identity(self) -> None:
        """The running machine's hostname/FQDN and its human login users (uid >= 1000)."""
        import socket

        names = {socket.gethostname()}
        try:
            names.add(socket.getfqdn())
        except OSError:
            pass
        if "hostnames" in self.categories:
            self.add_hostnames(names)
        if "usernames" in self.categories:
            try:
                import pwd

                self.add_usernames(p.pw_name for p in pwd.getpwall() if 1000 <= p.pw_uid < 65534)
            except ImportError:  # Windows
                user = os.environ.get("USERNAME")
                if user:
                    self.add_usernames([user])

    def _hash6(self, kind: bytes, value: bytes) -> str:
        return hmac.new(self.key, kind + b"\0" + value, hashlib.sha256).hexdigest()[:6]

    def _host(self, name: str) -> str:
        short, _, domain = name.partition(".")
        out = f"host-{self._hash6(b'host', short.encode())}"
        if domain:
            out += f".{self._domain(domain)}"
        return out

    def _domain(self, domain: str) -> str:
        return f"domain-{self._hash6(b'domain', domain.encode())}.example"

    def _compile_names(self) -> re.Pattern[bytes] | None:
        with self._lock:
            if self._name_re is not None or not (self._hostnames or self._usernames):
                return self._name_re
            mapping: dict[bytes, bytes] = {}
            if "hostnames" in self.categories:
                for name in self._hostnames:
                    mapping[name.encode()] = self._host(name).encode()
                    short, _, domain = name.partition(".")
                    if len(short) >= 3 and short not in _STOP_NAMES:
                        mapping.setdefault(short.encode(), self._host(short).encode())
                    if domain and "." in domain:
                        mapping.setdefault(domain.encode(), self._domain(domain).encode())
            if "usernames" in self.categories:
                for name in self._usernames:
                    mapping.setdefault(name.lower().encode(), f"user-{self._hash6(b'user', name.encode())}".encode())
            if not mapping:
                return None
            self._name_map = mapping
            alternation = b"|".join(re.escape(n) for n in sorted(mapping, key=len, reverse=True))
            self._name_re = re.compile(rb"(?<![A-Za-z0-9_-])(?:" + alternation + rb")(?![A-Za-z0-9_-])", re.I)
            return self._name_re

    # -- addresses ------------------------------------------------------------------------------
    def _perm(self, prefix: tuple[int, ...]) -> list[int]:
        perm = self._perms.get(prefix)
        if perm is None:
            rng = random.Random(hmac.new(self.key, b"ip" + bytes(prefix), hashlib.sha256).digest())
            if not prefix:
                shuffled = _PUBLIC_FIRST[:]
                rng.shuffle(shuffled)
                perm = list(range(256))
                for a, b in zip(_PUBLIC_FIRST, shuffled):
                    perm[a] = b
            else:
                middle = list(range(1, 255))
                rng.shuffle(middle)
                perm = [0] + middle + [255]
            self._perms[prefix] = perm
        return perm

    def map_ipv4(self, octets: list[int]) -> list[int]:
        a, b = octets[0], octets[1]
        if a == 127 or a >= 224 or octets in ([0, 0, 0, 0], [255, 255, 255, 255]):
            return octets
        if a == 10:
            keep = 1
        elif (a == 172 and 16 <= b <= 31) or (a == 192 and b == 168) or (a == 169 and b == 254) or (a == 100 and 64 <= b <= 127):
            keep = 2
        else:
            keep = 0
        out = octets[:keep]
        for i in range(keep, 4):
            out.append(self._perm(tuple(octets[:i]))[octets[i]])
        return out

    def _map_ip_text(self, text: bytes) -> bytes:
        octets = [int(g) for g in text.split(b".")]
        if any(o > 255 for o in octets):
            return text
        mapped = self.map_ipv4(octets)
        if mapped == octets:
            return text
        new = ".".join(map(str, mapped))
        self.maps["ips"][text.decode()] = new
        return new.encode()

    def _mac(self, text: bytes) -> bytes:
        low = text.lower()
        if low in (b"00:00:00:00:00:00", b"ff:ff:ff:ff:ff:ff", b"00-00-00-00-00-00", b"ff-ff-ff-ff-ff-ff"):
            return text
        sep = text[2:3]
        h = hmac.new(self.key, b"mac" + low.replace(b"-", b":"), hashlib.sha256).digest()[:3]
        new = text[:9] + sep.join(b"%02x" % x for x in h)
        if text.isupper():
            new = new.upper()
        self.maps["macs"][text.decode()] = new.decode()
        return new

    # -- applying -------------------------------------------------------------------------------
    # Each detector searches for a literal-led pattern ("." or ":" first), which Python's re
    # scans for quickly, then checks the part before the match by hand; the replacements are
    # spliced in one pass. A regex starting with \d or a class would be ~20x slower.
    def apply(self, data: bytes) -> bytes:
        if not self.categories or not data:
            return data
        spans: list[tuple[int, int, bytes]] = []
        if "ips" in self.categories:
            self._find_ips(data, spans)
            if b":" in data:
                self._find_ipv6(data, spans)
        if "macs" in self.categories:
            self._find_macs(data, spans)
        if self._compile_names() is not None:
            self._find_names(data, spans)
        if not spans:
            return data
        spans.sort(key=lambda s: (s[0], -s[1]))  # at one position the longest match wins
        out = []
        cursor = 0
        for start, end, new in spans:
            if start < cursor:
                continue
            out.append(data[cursor:start])
            out.append(new)
            cursor = end
        out.append(data[cursor:])
        return b"".join(out)

    def _find_ips(self, data: bytes, spans: list[tuple[int, int, bytes]]) -> None:
        for m in _IP_TAIL.finditer(data):
            s = m.start()
            j = s
            while j > 0 and s - j < 3 and 48 <= data[j - 1] <= 57:
                j -= 1
            if j == s or (j > 0 and data[j - 1] in _WORD_OR_DOT):
                continue
            text = data[j:m.end()]
            new = self._ip_cache.get(text)
            if new is None:
                new = self._map_ip_text(text)
                if len(self._ip_cache) < 1_000_000:
                    self._ip_cache[text] = new
            if new != text:
                spans.append((j, m.end(), new))

    def _find_ipv6(self, data: bytes, spans: list[tuple[int, int, bytes]]) -> None:
        # Candidates hold "::" or seven colons between hex groups (times and MACs have fewer);
        # each is widened to the whole run of hex digits and colons and validated by ipaddress.
        seen: set[int] = set()
        for rx in (_V6_DOUBLE, _V6_FULL):
            for m in rx.finditer(data):
                s, e = m.start(), m.end()
                while s > 0 and data[s - 1] in _V6_CHARS:
                    s -= 1
                while e < len(data) and data[e] in _V6_CHARS:
                    e += 1
                if s in seen or (s > 0 and data[s - 1] in _V6_BEFORE) or (e < len(data) and data[e] in _V6_AFTER):
                    continue
                seen.add(s)
                text = data[s:e]
                if text.count(b":") < 3 and not text.lower().startswith(b"fe80:"):
                    continue  # "a::b" is more likely C++ or Rust in a log line than an address
                new = self._ip_cache.get(text)
                if new is None:
                    new = self._map_ipv6_text(text)
                    if len(self._ip_cache) < 1_000_000:
                        self._ip_cache[text] = new
                if new != text:
                    spans.append((s, e, new))

    def _map_ipv6_text(self, text: bytes) -> bytes:
        import ipaddress

        try:
            addr = ipaddress.IPv6Address(text.decode("ascii"))
        except ValueError:
            return text
        if addr.is_loopback or addr.is_unspecified or addr.is_multicast or addr.ipv4_mapped is not None:
            return text
        groups = list(addr.packed[i:i + 2] for i in range(0, 16, 2))
        # Link-local keeps fe80::/64 (only the interface id, often MAC-derived, is private);
        # anything else keeps its first group (a registry region or fdxx for ULA).
        keep = 4 if addr.is_link_local else 1
        out = groups[:keep]
        for i in range(keep, 8):
            h = hmac.new(self.key, b"ip6" + b"".join(groups[: i + 1]), hashlib.sha256).digest()[:2]
            out.append(h)
        new = ipaddress.IPv6Address(b"".join(out)).compressed
        self.maps["ips"][text.decode()] = new
        return new.encode()

    def _find_macs(self, data: bytes, spans: list[tuple[int, int, bytes]]) -> None:
        for rx in _MAC_TAILS:
            for m in rx.finditer(data):
                s = m.start() - 2
                if s < 0 or not _HEX2.fullmatch(data[s:s + 2]) or (s > 0 and data[s - 1] in _MAC_NEIGHBOUR):
                    continue
                text = data[s:m.end()]
                new = self._mac(text)
                if new != text:
                    spans.append((s, m.end(), new))

    def _find_names(self, data: bytes, spans: list[tuple[int, int, bytes]]) -> None:
        low = data.lower()
        for name, new in self._name_map.items():
            pos = low.find(name)
            while pos != -1:
                end = pos + len(name)
                if (pos == 0 or low[pos - 1] not in _NAME_NEIGHBOUR) and (end >= len(low) or low[end] not in _NAME_NEIGHBOUR):
                    orig = data[pos:end]
                    category = "usernames" if new.startswith(b"user-") else "hostnames"
                    self.maps[category][orig.decode("utf-8", "replace")] = new.decode()
                    spans.append((pos, end, new))
                pos = low.find(name, end)

    def apply_text(self, text: str) -> str:
        return self.apply(text.encode("utf-8")).decode("utf-8")

    def mapping(self) -> dict[str, Any]:
        with self._lock:
            return {
                "version": 1,
                "note": "Keep this file private: it maps obfuscated values back to the real ones. "
                        "Pass it to the next collection (--obfuscation-map) for consistent names.",
                "categories": sorted(self.categories),
                "key": self.key.hex(),
                **{c: dict(sorted(self.maps[c].items())) for c in CATEGORIES},
            }


def map_path_for(bundle: str | os.PathLike[str]) -> Path:
    """Where the obfuscation map of a bundle goes: beside it, never inside."""
    p = Path(bundle)
    return p.with_name(p.name + ".obfuscation-map.json")


def write_map(bundle: str | os.PathLike[str], mapping: dict[str, Any]) -> Path:
    """Write the obfuscation map beside `bundle` with mode 0600 (it reveals the real names)."""
    import orjson

    from k8s_bundle.safe_output import write_file

    # Created 0600 under a fresh name and renamed into place: a link planted at the map's name
    # cannot send the real names elsewhere (k8s_bundle/safe_output.py).
    return write_file(map_path_for(bundle), orjson.dumps(mapping, option=orjson.OPT_INDENT_2), mode=0o600)


MAP_FILE_CAP = 64 << 20   # bytes of an obfuscation map (about a million mapped values)


def load_map(path: str | os.PathLike[str]) -> dict[str, Any]:
    import orjson

    from k8s_bundle.small_file import SmallFileError, read_small_file

    try:
        # a regular file, at most MAP_FILE_CAP: /dev/zero or a FIFO here must not eat memory or hang
        doc = orjson.loads(read_small_file(path, MAP_FILE_CAP))
    except (OSError, orjson.JSONDecodeError, SmallFileError) as exc:
        raise ValueError(f"cannot read obfuscation map {path}: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("key"), str):
        raise ValueError(f"{path} is not an obfuscation map")
    return doc
