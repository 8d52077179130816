"""Redaction rules as data: the built-in file and custom `--redact-rules` files share one loader.

The schema is documented at the top of builtin_rules.yaml and in docs/redaction.md.
"""
from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable
from k8s_bundle.pathglob import glob_to_regex

BUILTIN_RULES = Path(__file__).with_name("builtin_rules.yaml")

_RULE_FIELDS = {
    "id", "kind", "description", "action", "regex", "prefilter", "prefilter_regex", "validate",
    "literals", "keys", "unless", "with_sibling", "text", "flags_only", "paths", "where", "pair",
    "files", "detector", "keep_paths", "context_lines", "sibling_lines", "config_only",
}
_SHAPES = ("regex", "literals", "keys", "paths", "pair", "files", "detector")
_KIND_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
_DETECTORS = {"pem-block", "ppk-block", "base64-document"}
_ACTIONS = {"redact", "cert-metadata"}


# A value that is a file reference, not a secret: `client-key: /var/lib/kubelet/pki/x.pem`,
# `--kubelet-client-key=/etc/kubernetes/pki/x.key`. Anchored on well-known roots so that a
# base64 secret starting with "/" is not mistaken for one.
_FILE_REF = re.compile(rb"^(?:/(?:etc|var|run|home|root|opt|usr|tmp|srv|data|mnt|lib|snap|proc|sys)/[^\s\"']*"
                       rb"|[A-Za-z]:[\\/][^\s\"']*|\./[^\s\"']*"
                       # a relative path to a key or certificate file (`pki/sa.key`): key material
                       # (base64, hex) never holds a "." followed by one of these extensions
                       rb"|[\w.-]*/[\w./-]*\.(?:key|pem|crt|cert|p12|pfx|der|pub|json|conf|kubeconfig))$")


def is_file_reference(value: bytes) -> bool:
    return bool(_FILE_REF.match(value.strip()))


class RuleFileError(ValueError):
    """A rule file is unusable; the message names the file and the reason."""


# -- validators: named checks a regex rule may ask for (they return True to redact) ----------
def _b64decode_loose(value: bytes) -> bytes | None:
    value = value.strip()
    value = value + b"=" * (-len(value) % 4)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def _base64_not_certificate(value: bytes) -> bool:
    # Base64 of a PEM document: keep certificates (public), redact keys and anything unclear.
    decoded = _b64decode_loose(value)
    if decoded is None:
        return True
    if b"PRIVATE KEY" in decoded:
        return True
    return b"CERTIFICATE" not in decoded and b"PUBLIC KEY" not in decoded


def _has_digit(value: bytes) -> bool:
    return any(48 <= c <= 57 for c in value)


def _has_digit_or_symbol(value: bytes) -> bool:
    return any(not (65 <= c <= 90 or 97 <= c <= 122) for c in value)


def _base64_user_password(value: bytes) -> bool:
    decoded = _b64decode_loose(value)
    return decoded is not None and b":" in decoded and all(32 <= c < 127 for c in decoded)


def _not_port_path(value: bytes) -> bool:
    # https://host:4873/@scope/pkg is a port and a path, not user:password@ (a port is 1..65535
    # without leading zeros; the path before "@" ends with "/"); image digests are left out by
    # the regex (registry:5000/img@sha256:...), so "10000/x9" before "@" is a password
    m = re.match(rb"^([1-9]\d{0,4})(/|$)", value)
    return m is None or int(m.group(1)) > 65535 or not (value.endswith(b"/") or m.end() == len(value))


# Words of a sentence: a value made of several of them is prose ("auth: fix token refresh"),
# not a credential (a weak key such as `auth` or `key` names a topic as often as a secret).
_PROSE_WORD = re.compile(rb"[a-z]{3,}[,.:;)]?")
_SCHEMES = {b"basic", b"bearer", b"digest", b"token", b"negotiate", b"apikey"}


def _not_prose(value: bytes) -> bool:
    words = value.split()
    if len(words) < 2:
        return True
    return not any(_PROSE_WORD.fullmatch(w) and w.rstrip(b",.:;)") not in _SCHEMES for w in words)


# A secret-looking value for a key that is secret only by a weak word (`key`, `X-Registry-Key`,
# `userKey`, a Ceph keyring's `key = AQB...==`): one word of 12+ characters that is neither a
# path, a dotted name (kubernetes.io/hostname, a file name), a URL nor a bare word or number.
_SHAPED = re.compile(rb"[A-Za-z0-9+/=_~-]{12,}")
# an identifier, not key material: words in one case joined by "_" or "-" (K8S_NODE_NAME,
# kube-api-access-x7k2p, a CRI env `{"key": "SLACK_WEBHOOK_URL"}`); a UUID is not one of them
_IDENTIFIER = re.compile(rb"(?:[A-Z0-9]+|[a-z0-9]+)(?:[_-](?:[A-Z0-9]+|[a-z0-9]+))+")
# a path (etcd's "key":"/registry/leases/kube-node-lease/cp1"); base64 may start with "/" too,
# but its pieces are not all lower case
_LOWER_PATH = re.compile(rb"(?:/[a-z0-9._-]*)+/?")
_UUID = re.compile(rb"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _secret_shaped(value: bytes) -> bool:
    v = value.strip().strip(b"\"'")
    if not _SHAPED.fullmatch(v) or _LOWER_PATH.fullmatch(v):
        return False
    if _IDENTIFIER.fullmatch(v) and not _UUID.fullmatch(v):
        return False
    has_digit = any(48 <= c <= 57 for c in v)
    has_upper = any(65 <= c <= 90 for c in v)
    has_lower = any(97 <= c <= 122 for c in v)
    return ((has_digit and (has_upper or has_lower)) or v.endswith(b"=")
            or (has_upper and has_lower and len(v) >= 20 and v.isalnum()))


# etcd's --auth-token / "auth-token" names a mode, not a token: `simple`, or `jwt` with its
# options (pub-key=FILE,priv-key=FILE,sign-method=RS256,ttl=10m), etcd.io/docs/v3.5/op-guide/configuration/
_ETCD_AUTH_MODE = re.compile(rb"(?:simple|jwt(?:,[\w-]+=[^,\s]*)*)")


def _not_count_or_test_name(value: bytes) -> bool:
    v = value.strip().strip(b"\"'")
    if v.isdigit() and len(v) <= 5:
        return False  # a count
    # go test's `--- PASS: TestName (0.00s)` / `PASS: TestName/sub`: a test name, not a password
    return not re.fullmatch(rb"Test[A-Z_0-9][\w/.-]*", v)


def _not_etcd_auth_mode(value: bytes) -> bool:
    return not _ETCD_AUTH_MODE.fullmatch(value.strip().strip(b"\"'"))


def _bootstrap_not_event_name(value: bytes) -> bool:
    # A Kubernetes event is named <object>.<UnixNano in hex>: 16 hex digits starting with "1"
    # for any date from 2005 to 2262 (node01.17a8f3c2b1d4e5f6). A bootstrap token's secret is
    # 16 random [a-z0-9]: all hex with that lead in about one of 10^7 tokens.
    if not _has_digit(value):
        return False
    secret = value.rsplit(b".", 1)[-1]
    return not re.fullmatch(rb"1[0-9a-f]{15}", secret)


def _mixed_case_digit(value: bytes) -> bool:
    # random base62 (Vault's legacy s./b. tokens): upper and lower case letters and a digit
    return (any(65 <= c <= 90 for c in value) and any(97 <= c <= 122 for c in value)
            and any(48 <= c <= 57 for c in value))


def _aws_secret_shape(value: bytes) -> bool:
    # A secret access key is 40 random base64 characters: upper and lower case letters and a
    # digit or "+"/"/". Hex-only strings (git SHAs, digests) and words never qualify.
    has_upper = any(65 <= c <= 90 for c in value)
    has_lower = any(97 <= c <= 122 for c in value)
    has_other = any(48 <= c <= 57 or c in (43, 47) for c in value)
    return has_upper and has_lower and has_other


# /etc/nsswitch.conf maps a database to its sources (`passwd: files systemd`, `passwd: sss
# files [NOTFOUND=return] ldap`), nsswitch.conf(5): source names and actions, not a password
_NSSWITCH_SOURCES = re.compile(
    rb"(?:(?:files|db|dns|nis|nisplus|compat|hesiod|systemd|sss|ldap|winbind|wins|altfiles|extrausers|usrfiles"
    rb"|cache|mymachines|resolve|myhostname|mdns[46]?(?:_minimal)?|libvirt(?:_guest)?|nss_\w+"
    rb"|\[!?[A-Za-z]+=[A-Za-z]+(?:[ \t]+!?[A-Za-z]+=[A-Za-z]+)*\])[ \t]*)+")


def _not_nsswitch_sources(value: bytes) -> bool:
    return not _NSSWITCH_SOURCES.fullmatch(value.strip().strip(b"\"'"))


# A Kubernetes object name (DNS-1123, lower case) or namespace/name, as a key naming a Secret
# holds it (Helm `backupTargetCredentialSecret: longhorn-backup-credentials`, `secret:
# longhorn.local-tls`, klog `secret="kube-system/bootstrap-token-q7x2mf"`). Taken as a name only
# when it reads as one: two or more pieces joined by "-" or ".", one of them a word of 3+ letters,
# no piece with a digit longer than 10 characters (a generated suffix, not a random secret) and
# not a UUID (Consul tokens are UUIDs).
_DNS_NAME = re.compile(rb"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?")
_NAME_PIECE = re.compile(rb"[-.]")


def _is_object_name(name: bytes, namespaced: bool = False) -> bool:
    if not _DNS_NAME.fullmatch(name) or _UUID.fullmatch(name) or b".." in name or b"--" in name:
        return False
    pieces = _NAME_PIECE.split(name)
    # after `namespace/` a name may be one piece (`kube-system/regcred`): the form says reference
    if not namespaced and (len(pieces) < 2 or not any(len(p) >= 3 and p.isalpha() for p in pieces)):
        return False
    return all(p.isalpha() or len(p) <= 10 for p in pieces)


def _not_object_name(value: bytes) -> bool:
    v = value.strip().strip(b"\"'")
    ns, sep, name = v.partition(b"/")
    if sep:
        return not (_DNS_NAME.fullmatch(ns) is not None and len(ns) <= 63 and b"." not in ns and _is_object_name(name, True))
    return not _is_object_name(v)


VALIDATORS: dict[str, Callable[[bytes], bool]] = {
    "not-nsswitch-sources": _not_nsswitch_sources,
    "not-object-name": _not_object_name,
    "aws-secret-shape": _aws_secret_shape,
    "not-port-path": _not_port_path,
    "base64-not-certificate": _base64_not_certificate,
    "has-digit": _has_digit,
    "has-digit-or-symbol": _has_digit_or_symbol,
    "base64-user-password": _base64_user_password,
    "not-prose": _not_prose,
    "secret-shaped": _secret_shaped,
    "not-etcd-auth-mode": _not_etcd_auth_mode,
    "not-count-or-test-name": _not_count_or_test_name,
    "bootstrap-not-event-name": _bootstrap_not_event_name,
    "mixed-case-digit": _mixed_case_digit,
}


@dataclass(frozen=True)
class PairSpec:
    name_key: str
    value_key: str
    names: re.Pattern[str]
    unless: re.Pattern[str] | None


@dataclass
class Rule:
    id: str
    kind: str
    action: str = "redact"
    regex: re.Pattern[bytes] | None = None
    prefilter: tuple[bytes, ...] = ()
    prefilter_regex: re.Pattern[bytes] | None = None
    validate: Callable[[bytes], bool] | None = None
    keys: re.Pattern[str] | None = None
    unless: re.Pattern[str] | None = None
    with_sibling: re.Pattern[str] | None = None
    text: bool = True
    flags_only: bool = False
    keep_paths: bool = False
    paths: tuple[tuple[str, ...], ...] = ()
    where: dict[str, str] = field(default_factory=dict)
    pair: PairSpec | None = None
    files: re.Pattern[str] | None = None
    detector: str | None = None
    custom: bool = False
    context_lines: int = 0          # regex rules: also run on this many lines after a prefilter hit
    sibling_lines: int = 0          # with_sibling in text: the sibling may be this many lines away
    config_only: bool = False       # regex rules: items that are not logs only (text.is_log_path)

    def accepts(self, value: bytes) -> bool:
        """Whether a value this key rule selected is to be replaced: not a file reference
        (keep_paths), and passing the rule's `validate` check (a key rule may name one too)."""
        if self.keep_paths and is_file_reference(value):
            return False
        return self.validate is None or self.validate(value)

    def key_matches(self, name: str) -> bool:
        if self.keys is None or not self.keys.fullmatch(name):
            return False
        return not (self.unless is not None and self.unless.fullmatch(name))


@dataclass
class RuleSet:
    rules: list[Rule]
    text_rules: list[Rule]          # regex/literal rules run on text lines
    key_rules: list[Rule]           # key-name rules (structured and text)
    path_rules: list[Rule]
    pair_rules: list[Rule]
    file_rules: list[Rule]
    pem_rule: Rule | None
    ppk_rule: Rule | None
    b64doc_rule: Rule | None
    key_words: tuple[bytes, ...]    # lower-case words a secret key name contains (prefilter)
    scan_plan: Any = None           # text.py's words and regexes for this rule set, made once
    _key_cache: dict[tuple[str, bool, bool], tuple[Rule, ...]] = field(default_factory=dict)

    def classify_key(self, name: str, *, flag: bool = False, structured: bool = True,
                     sibling: Callable[[re.Pattern[str]], bool] | None = None) -> Rule | None:
        """The first key rule matching the key `name`, or None."""
        cache_key = (name, flag, structured)
        candidates = self._key_cache.get(cache_key)
        if candidates is None:
            # Key names repeat endlessly (name, value, image...): match each one once.
            candidates = tuple(
                r for r in self.key_rules
                if not (r.flags_only and not flag) and not (not structured and not r.text) and r.key_matches(name)
            )
            if len(self._key_cache) < 200_000:
                self._key_cache[cache_key] = candidates
        for rule in candidates:
            if rule.with_sibling is not None and (sibling is None or not sibling(rule.with_sibling)):
                continue
            return rule
        return None

    def file_rule(self, path: str) -> Rule | None:
        norm = path.replace("\\", "/").lstrip("/")
        for rule in self.file_rules:
            assert rule.files is not None
            if rule.files.fullmatch(norm):
                return rule
        return None


def _glob_to_regex(glob: str) -> str:
    # Item paths carry prefixes (nodes/<n>/files/...), so every glob may match at any depth.
    return "(?:.*/)?" + glob_to_regex(glob.replace("\\", "/").lstrip("/"))


def _as_list(value: Any, what: str, where: str) -> list[Any]:
    if isinstance(value, (str, int, float)):
        return [value]
    if isinstance(value, list):
        return value
    raise RuleFileError(f"{where}: {what} must be a string or a list")


def _compile(pattern: str, where: str, what: str, flags: int = 0) -> re.Pattern[Any]:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise RuleFileError(f"{where}: bad {what} regex {pattern!r}: {exc}") from None


def _compile_bytes(pattern: str, where: str, what: str) -> re.Pattern[bytes]:
    try:
        return re.compile(pattern.encode("utf-8"))
    except re.error as exc:
        raise RuleFileError(f"{where}: bad {what} regex {pattern!r}: {exc}") from None


def _validator(name: Any, where: str) -> Callable[[bytes], bool]:
    if name not in VALIDATORS:
        raise RuleFileError(f"{where}: unknown validate {name!r} (known: {', '.join(VALIDATORS)})")
    return VALIDATORS[name]


def _parse_rule(raw: Any, where: str, custom: bool) -> Rule:
    if not isinstance(raw, dict):
        raise RuleFileError(f"{where}: a rule must be a mapping")
    unknown = set(raw) - _RULE_FIELDS
    if unknown:
        raise RuleFileError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    rid = raw.get("id")
    if not isinstance(rid, str) or not rid.strip():
        raise RuleFileError(f"{where}: every rule needs an id")
    where = f"{where} (rule {rid})"
    kind = str(raw.get("kind", "custom" if custom else "secret"))
    if not _KIND_RE.match(kind):
        raise RuleFileError(f"{where}: kind must be lower-case letters, digits and '-'")
    shapes = [s for s in _SHAPES if s in raw]
    if len(shapes) != 1:
        raise RuleFileError(f"{where}: a rule needs exactly one of {', '.join(_SHAPES)}")
    action = raw.get("action", "redact")
    if action not in _ACTIONS:
        raise RuleFileError(f"{where}: action must be one of {', '.join(sorted(_ACTIONS))}")
    rule = Rule(id=rid, kind=kind, action=action, custom=custom,
                text=bool(raw.get("text", True)), flags_only=bool(raw.get("flags_only", False)),
                keep_paths=bool(raw.get("keep_paths", False)), config_only=bool(raw.get("config_only", False)))
    for name in ("context_lines", "sibling_lines"):
        if name in raw:
            value = raw[name]
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 20:
                raise RuleFileError(f"{where}: {name} must be a whole number from 0 to 20")
            setattr(rule, name, value)
    shape = shapes[0]
    if shape == "regex":
        # Text is scanned as bytes (no decoding on the hot path), so rule regexes are bytes too.
        rule.regex = _compile_bytes(str(raw["regex"]), where, "regex")
        rule.prefilter = tuple(str(w).lower().encode() for w in _as_list(raw.get("prefilter", []), "prefilter", where))
        if "prefilter_regex" in raw:
            rule.prefilter_regex = _compile_bytes(str(raw["prefilter_regex"]), where, "prefilter_regex")
        if "validate" in raw:
            rule.validate = _validator(raw["validate"], where)
    elif shape == "literals":
        values = [str(v) for v in _as_list(raw["literals"], "literals", where) if str(v)]
        if not values:
            raise RuleFileError(f"{where}: literals is empty")
        # Longest first so that a literal containing another is replaced whole.
        values.sort(key=len, reverse=True)
        rule.regex = re.compile(b"|".join(re.escape(v.encode("utf-8")) for v in values))
        rule.prefilter = tuple(v.lower().encode("utf-8") for v in values)
    elif shape == "keys":
        keys = raw["keys"]
        if isinstance(keys, list):  # a list of plain names is a convenience form
            keys = "|".join(re.escape(str(k)) for k in keys)
        rule.keys = _compile(str(keys), where, "keys", re.I)
        if "unless" in raw:
            rule.unless = _compile(str(raw["unless"]), where, "unless", re.I)
        if "with_sibling" in raw:
            rule.with_sibling = _compile(str(raw["with_sibling"]), where, "with_sibling", re.I)
        if "validate" in raw:
            rule.validate = _validator(raw["validate"], where)
    elif shape == "paths":
        paths = _as_list(raw["paths"], "paths", where)
        rule.paths = tuple(tuple(str(p).split(".")) for p in paths if str(p))
        if not rule.paths:
            raise RuleFileError(f"{where}: paths is empty")
        cond = raw.get("where", {})
        if not isinstance(cond, dict):
            raise RuleFileError(f"{where}: where must be a mapping of key: value")
        rule.where = {str(k): str(v) for k, v in cond.items()}
    elif shape == "pair":
        spec = raw["pair"]
        if not isinstance(spec, dict) or "names" not in spec:
            raise RuleFileError(f"{where}: pair needs names (and optional name_key, value_key, unless)")
        rule.pair = PairSpec(
            name_key=str(spec.get("name_key", "name")),
            value_key=str(spec.get("value_key", "value")),
            names=_compile(str(spec["names"]), where, "pair names", re.I),
            unless=_compile(str(spec["unless"]), where, "pair unless", re.I) if "unless" in spec else None,
        )
    elif shape == "files":
        globs = [str(g) for g in _as_list(raw["files"], "files", where)]
        rule.files = re.compile("|".join(f"(?:{_glob_to_regex(g)})" for g in globs), re.I)
    elif shape == "detector":
        if custom:
            raise RuleFileError(f"{where}: detector is for built-in rules only")
        if raw["detector"] not in _DETECTORS:
            raise RuleFileError(f"{where}: unknown detector {raw['detector']!r}")
        rule.detector = str(raw["detector"])
        # lines holding one of these words are scanned by the detector (and every other candidate)
        rule.prefilter = tuple(str(w).lower().encode() for w in _as_list(raw.get("prefilter", []), "prefilter", where))
    return rule


def parse_rules(doc: Any, source: str, custom: bool) -> list[Rule]:
    if isinstance(doc, list):
        doc = {"rules": doc}
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list):
        raise RuleFileError(f"{source}: expected a mapping with a `rules:` list")
    if doc.get("version", 1) != 1:
        raise RuleFileError(f"{source}: unsupported version {doc.get('version')!r} (expected 1)")
    rules = [_parse_rule(r, f"{source}: rules[{i}]", custom) for i, r in enumerate(doc["rules"])]
    seen: set[str] = set()
    for r in rules:
        if r.id in seen:
            raise RuleFileError(f"{source}: duplicate rule id {r.id!r}")
        seen.add(r.id)
    return rules


RULE_FILE_CAP = 4 << 20   # bytes of a rules file (the built-in one is ~40 KB)


def load_rule_file(path: str | os.PathLike[str], custom: bool = True) -> list[Rule]:
    import yaml

    from k8s_bundle.small_file import SmallFileError, read_small_file

    try:
        # a regular file, at most RULE_FILE_CAP: /dev/zero or a FIFO here must not eat memory or hang
        text = read_small_file(path, RULE_FILE_CAP).decode("utf-8")
    except (OSError, UnicodeDecodeError, SmallFileError) as exc:
        raise RuleFileError(f"cannot read rule file {path}: {exc}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise RuleFileError(f"{path}: not valid YAML: {first}") from None
    return parse_rules(doc, str(path), custom)


_BUILTIN_CACHE: list[Rule] | None = None


def builtin_rules() -> list[Rule]:
    global _BUILTIN_CACHE
    if _BUILTIN_CACHE is None:
        _BUILTIN_CACHE = load_rule_file(BUILTIN_RULES, custom=False)
    return list(_BUILTIN_CACHE)


# Words that every secret-looking key name of the built-in key rules contains; they make the
# line prefilter for key=value scanning. Custom key rules add their literal names.
# "pw" (not "pwd"): nslcd/pam_ldap `bindpw`, slapd `rootpw` as well, at no extra scan.
_BUILTIN_KEY_WORDS = (b"pass", b"pw", b"secret", b"token", b"credential", b"key", b"auth")
# Words of secret key names that only configuration files hold (NetworkManager/wpa_supplicant
# `psk`, Consul `encrypt` and its ACL `initial_management`/`agent_recovery` tokens): scanned for
# in items that are not logs only, where one more scan of every block costs little.
CONFIG_KEY_WORDS = (b"psk", b"encrypt", b"_management", b"_recovery")


def build_ruleset(custom: Iterable[Rule] = ()) -> RuleSet:
    custom = list(custom)
    # Custom rules come first: a user's more specific rule wins over a generic built-in one.
    rules = custom + builtin_rules()
    key_words = set(_BUILTIN_KEY_WORDS)
    for r in custom:
        # A line must be a candidate for its key to be seen; with sibling_lines, so must the line
        # that holds only the sibling key.
        patterns = [r.keys] if r.keys is not None else []
        if r.keys is not None and r.sibling_lines and r.with_sibling is not None:
            patterns.append(r.with_sibling)
        for pattern in patterns:
            literal = re.sub(r"[^a-z0-9_-]", " ", pattern.pattern.lower()).split()
            # A custom key regex cannot be reduced to words safely: scan every key=value then.
            if pattern.pattern.lower().replace("|", "").replace("-", "").replace("_", "").isalnum():
                key_words.update(w.encode() for w in literal)
            else:
                key_words.add(b"")
    return RuleSet(
        rules=rules,
        text_rules=[r for r in rules if r.regex is not None],
        key_rules=[r for r in rules if r.keys is not None],
        path_rules=[r for r in rules if r.paths],
        pair_rules=[r for r in rules if r.pair is not None],
        file_rules=[r for r in rules if r.files is not None],
        pem_rule=next((r for r in rules if r.detector == "pem-block"), None),
        ppk_rule=next((r for r in rules if r.detector == "ppk-block"), None),
        b64doc_rule=next((r for r in rules if r.detector == "base64-document"), None),
        key_words=tuple(sorted(key_words)),
    )


def load_custom(custom_rules: Any) -> list[Rule]:
    """Accept None, a path to a rule file, a parsed document or a list of Rule objects."""
    if custom_rules is None:
        return []
    if isinstance(custom_rules, (str, os.PathLike)):
        return load_rule_file(custom_rules, custom=True)
    if isinstance(custom_rules, list) and all(isinstance(r, Rule) for r in custom_rules):
        return list(custom_rules)
    return parse_rules(custom_rules, "custom rules", custom=True)
