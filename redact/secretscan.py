"""verify's own secret detector: a second method, independent of the redactor's rules.

The redactor (redactor.py, text.py, structured.py) decides what to replace; this module only
decides whether anything secret-looking is left, by other means, so that a blind spot of the
one is not a blind spot of the other:

- known token formats, a table in verify_patterns.yaml (AWS key ids, GitHub/GitLab/Slack/npm/
  PyPI/Vault/Stripe/Google tokens, webhooks, JWTs, bootstrap tokens, Azure keys, basic-auth
  URLs, password flags of common tools);
- values next to secret-like names (pass, secret, token, key, auth, credential, ...) in every
  shape: `k=v`, `k: v`, `"k":"v"`, `--k v`, `--k=v`, a flag alone on a line followed by its
  value (argv split one per line), judged by how random they look (length, classes, entropy);
- PEM and PuTTY private keys, an AWS secret key near an access key id, a user name beside a
  flagged password, files that are nothing but a token;
- base64 blobs decoded and scanned again (a kubeconfig base64-encoded into an env var), to a
  depth of 3, and CRI partial lines (`<ts> stdout P <text>`) joined before scanning;
- the redactor's placeholders (`<redacted:...>`) are recognised and never reported.

Input is streamed in blocks of whole lines: memory is bounded by the block size, whatever the
member size. Compressed members (gzip, bzip2, xz) are scanned decompressed (bounded like the
member), UTF-16 text is decoded, and runs of NUL bytes are skipped without being scanned.
"""
from __future__ import annotations

import base64
import binascii
import codecs
import lzma
import math
import re
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from k8s_bundle.redact.compressed import compression, inflate

PATTERNS_FILE = Path(__file__).with_name("verify_patterns.yaml")

BLOCK = 1 << 20          # text is scanned in blocks of whole lines of about this size
MAX_LINE = 1 << 20       # a longer line is scanned in pieces that overlap by OVERLAP bytes
OVERLAP = 4096
MAX_JOIN = 1 << 20       # CRI partial lines joined up to this size
B64_MIN = 24             # shortest base64 run decoded and scanned again
B64_MAX_DEPTH = 3
B64_BUDGET = 64 << 20    # decoded bytes per member (bounds the cost of hostile input)
WHOLE_FILE_MAX = 4096    # a file this small holding one random token is a secret file
# Candidates looked at per block (a block of ordinary logs has a few hundred): past these the
# rest of the block is not checked and verify says so, so hostile text costs bounded time.
MAX_CANDIDATES = 20_000
# Candidates in all (one scanner, one verify run): about 20 s of work per million; the 20-node
# bench bundle (1 GB of logs) holds 1.5 million. Past it nothing more is checked (reported).
RUN_BUDGET = 10_000_000

_PLACEHOLDER = re.compile(rb"<redacted(?::[^>\n]*)?>")
# Lowercase names that make the value beside them a secret; `strong` ones need less evidence.
# `pw` covers pwd and the short names (nslcd/slapd `bindpw`, `rootpw`), `psk` a Wi-Fi or IPsec
# pre-shared key (wpa_supplicant, NetworkManager `psk=`, ipsec.secrets `: PSK`).
_KEYWORD = re.compile(rb"pass|pw|secret|token|key|auth|credential|cookie|signature|private|psk")
_STRONG = re.compile(rb"pass|pw(?:d|$|[-_.])|secret|credential|private|authtok|psk")
_PASSWORD_KEY = re.compile(rb"pass|pw(?:d|$|[-_.])")
_KEYWORDS = frozenset(_KEYWORD.pattern.split(b"|"))
_KEYWORD_ENDS = tuple(_KEYWORDS)
_PRINTABLE = re.compile(rb"[!-~]+")
# A Debian/RPM version (`1:4.13+dfsg1-1+deb12u1` after `passwd` in `dpkg -l`), not a password.
_VERSION = re.compile(rb"^(?:\d+:)?\d+(?:\.\d+)+(?:[-+~.][\w.+~]*)*$")
_WORD_DOT_DASH = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_KEY_AFTER = re.compile(rb"[A-Za-z0-9_.-]{0,64}")
# Names that look secret but hold metadata (a hash, a file, a setting), not a secret.
_NOT_SECRET_KEY = re.compile(
    rb"(?:hash|digest|fingerprint|checksum|sha\d*|thumbprint|file|path|dir|ttl|name|ref|mode|type|usage"
    rb"|length|size|count|policy|algorithm|method|format|expir\w*|enabled|required|version|header|hint"
    # an identifier (`application-credential-id`, audit's `credential-id`; Vault's secret_id is
    # a secret), a public key (WireGuard `PublicKey`), a list of variable names (systemd
    # `PassEnvironment=HTTP_PROXY`)
    rb"|(?<!secret)(?<!secret[-_.])ids?|environment|encryption|hashes)$|pub(?:lic)?[-_.]?keys?|"
    rb"^(?:keys?|tokens?|auth|secrets?)$")
# Bare names (no `=`/`:`) whose next word is their value: `requirepass X`, `aws configure set
# aws_secret_access_key X`.
_BARE_NAMES = frozenset({b"requirepass", b"masterauth", b"aws_secret_access_key", b"aws_session_token",
                         b"client_secret", b"password", b"passwd"})
# after a name: an assignment (group 1), a list comma before a quoted value (`"--api-key",
# "X"`; group 2) or whitespace (group 3); the last two only count for flags and bare names.
_SEP = re.compile(rb"""\\?["']?[ \t]*(?:(:=|=>|[:=])[ \t]*(?:\[[ \t]*)?|(,[ \t]*(?=\\?["']))|([ \t]+))""")
_VALUE = re.compile(rb"""\\?"((?:[^"\\\n]|\\[^"\n]){1,1024})\\?"|'([^'\n]{1,1024})'|([^\s"'`;&<>\\]{1,1024})""")
_SKIP_WORDS = frozenset({
    b"true", b"false", b"yes", b"no", b"on", b"off", b"null", b"none", b"nil", b"<nil>", b"redacted",
    b"required", b"optional", b"string", b"bool", b"int", b"empty", b"unset", b"hidden", b"masked",
    b"bearer", b"basic", b"token", b"digest", b"negotiate", b"password", b"secret", b"simple", b"jwt",
    b"changeme", b"example", b"xxx", b"sha256", b"auto", b"default", b"disabled", b"enabled",
})
_REFERENCE = re.compile(rb"^(?:\$|%[\w(]|\{\{|<[\w -]*>|\*+$|x{3,}$|X{3,}$|\.{3,}|#+$|\[|\{|REDACTED)")
_PATHLIKE = re.compile(rb"^(?:/|\./|\.\./|~/|[A-Za-z]:[\\/]|file:)|\.(?:key|pem|crt|cer|csv|pub|json|ya?ml|conf|txt|token|p12|pfx|jks)$")
_DIGEST = re.compile(rb"^(?:sha\d+|md5|blake2\w*)[:=]", re.I)
_DIGIT = re.compile(rb"[0-9]")
_PLACEHOLDER_IN_VALUE = re.compile(rb"[:=]REDACTED")
_CRYPT = re.compile(rb"^\$(?:1|2[abxy]|5|6|y|gy|7|sha1|md5)\$[./A-Za-z0-9$=,]{8,}")
_SEGMENT_SEP = re.compile(rb"[-_./:]")
_BARE_TOKEN = re.compile(rb"[A-Za-z0-9._~+/-]{16,}={0,2}")
# Uppercase status words that hold a secret-like name (`--- PASS: TestX` in go test output).
_STATUS_WORDS = frozenset({b"PASS", b"PASSED", b"BYPASS"})
_CASE_CHANGE = re.compile(rb"[a-z][A-Z]|[A-Z][a-z]")
_CONSTANT = re.compile(rb"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
# Runs of base64 characters found from an uppercase letter: the regex engine skips the
# (mostly lowercase) text between candidates fast, where a run pattern with a lookbehind costs
# ten times more; the start of the run is found backwards afterwards.
_RUN = re.compile(rb"[A-Z][A-Za-z0-9+/]{15,}")
_B64_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_WORDS = re.compile(rb"^[a-z]+(?:[-_.][a-z]+)*$")
_UUID = re.compile(rb"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_HEX = re.compile(rb"^[0-9a-fA-F:]+$")
_B64_TAIL = re.compile(rb"[A-Za-z0-9+/_-]*={0,2}")
_AWS_SECRET = re.compile(rb"(?<![A-Za-z0-9/+])([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])")
# PEM private keys, and OpenVPN's static key (tls-auth/tls-crypt `ta.key`: 2048 bits in hex).
_PEM_BEGIN = re.compile(rb"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----|-----BEGIN OpenVPN Static key V1-----")
_PEM_BODY = re.compile(rb"[A-Za-z0-9+/=]{32,}")   # 64 per PEM line, 32 hex per OpenVPN key line
_PPK_LINES = re.compile(rb"Private-Lines:\s*(\d{1,3})")
_FLAG_ALONE = re.compile(rb"^\s*--?([\w.-]+)\s*$")
_USER_KEY = re.compile(rb"(?i)(?:^|[\s\"'{,-])(?:--?)?(user(?:_?name)?|login)\\?[\"']?[ \t]*(?:[:=][ \t]*|[ \t]*\n[ \t]*)\\?[\"']?([^\s\"',;]{3,128})")
_CRI_RUN = re.compile(rb"^(?:\S+ (?:stdout|stderr) P [^\n]*\n)+\S+ (?:stdout|stderr) [PF] [^\n]*", re.M)
_CRI_HEAD = re.compile(rb"^\S+ (?:stdout|stderr) [PF] ")
_NUL_RUN = re.compile(rb"\x00{8,}")
# An environment variable as Kubernetes writes it: `name: DB_PASSWORD` then `value: X` (YAML),
# or {"name": "DB_PASSWORD", "value": "X"} (JSON).
_ENV_PAIR = re.compile(rb"""\bname\\?["']?\s*[:=]\s*\\?["']?([\w.-]{2,128})\\?["']?\s*,?\s*(?:-\s*)?\\?["']?value\\?["']?"""
                       rb"""\s*[:=]\s*\\?["']?([^\s"'\\,}]{1,1024})""")
# In configuration files (YAML/JSON/TOML/INI): any `key: value` whose value looks generated
# is reported whatever the key is called (kubeconfig exec env values, custom settings).
_CONFIG_VALUE = re.compile(rb"""^[ \t]*(?:-[ \t]+)?["']?([\w.-]{1,128})["']?[ \t]*[:=][ \t]*["']?([A-Za-z0-9+/_=-]{20,512})["']?[ \t]*,?\r?$""",
                           re.M)
_CONFIG_PATH = re.compile(r"(?:\.(?:ya?ml|json|toml|ini|conf|cfg|env|properties|kubeconfig|hcl)|/config|/kubeconfig[^/]*)$", re.I)
# Keys whose generated-looking values are identifiers, not secrets.
_ID_KEY = re.compile(rb"(?:id|uid|uuid|hash|digest|sha\d*|checksum|version|image|name|etag|nonce|revision|pub(?:lic)?[-_.]?key|"
                     rb"serial|fingerprint|thumbprint|generation)$", re.I)

# Logs (the bulk of a bundle): configuration-file formats (`scope: files` patterns) are not
# looked for in them, which keeps the cost of each new format off the gigabytes of logs.
_LOG_PATH = re.compile(r"(?:^|/)(?:logs?|journal)/|\.log(?:\.\d+)?$", re.I)
# Formats found from a secret-like name already being looked at (no scan of their own):
# `htpasswd -b [-c] FILE USER PASSWORD` / `htpasswd -nb USER PASSWORD` (the password is the last
# argument), and `vault operator init`'s "Unseal Key 1: <base64>" / "Recovery Key 1: ...".
_HTPASSWD_BATCH = re.compile(rb"""htpasswd[ \t]+(?:-[A-Za-z]+[ \t]+)*?-[A-Za-z]*b[A-Za-z]*[ \t]+(?:-[A-Za-z]+[ \t]+)*"""
                             rb"""(?:[^\s-]\S*[ \t]+){1,2}?([^\s'"]+)[ \t]*(?:\r?\n|$|[;&|])""")
_UNSEAL_KEY = re.compile(rb"Key(?: \d+)?:[ \t]*([A-Za-z0-9+/=]{20,})")
_SECRETS_TABLE = re.compile(r"(?:^|/)(?:chap|pap)-secrets$")
_TOKEN_FILES = re.compile(r"(?:^|/)(?:token|[\w.-]*\.token|known_tokens\.csv|tokens\.csv|basic_auth\.csv|\.erlang\.cookie|"
                          r"[\w.-]*_accesskeys\.csv|credentials|\.git-credentials|\.pgpass|\.netrc)$", re.I)


@dataclass(frozen=True)
class Finding:
    """Where something secret-looking is, and what: never the value (only its length)."""

    path: str
    line: int
    end_line: int
    kind: str
    rule: str
    length: int


@dataclass(frozen=True)
class _Pattern:
    id: str
    kind: str
    hints: tuple[bytes, ...]
    regex: re.Pattern[bytes]
    check: str | None
    gate: str | None = None
    lower: bool = False
    files_only: bool = False   # `scope: files`: not run on logs (see verify_patterns.yaml)


def load_patterns(path: Path = PATTERNS_FILE) -> list[_Pattern]:
    import yaml

    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for p in doc["patterns"]:
        out.append(_Pattern(p["id"], p["kind"], tuple(h.encode() for h in p["hints"]),
                            re.compile(p["regex"].encode()), p.get("check"), p.get("gate"), bool(p.get("lower")),
                            p.get("scope") == "files"))
    return out


def custom_patterns(rules_file: str) -> list[_Pattern]:
    """The regex and literal rules of a `--redact-rules` file, detected as well (a bad file is a
    one-line UserError, exit 4). Key, path and file rules are the redactor's business."""
    from k8s_bundle.errors import EXIT_BAD_INPUT, UserError
    from k8s_bundle.redact.rules import RuleFileError, load_custom

    try:
        rules = load_custom(rules_file)
    except RuleFileError as exc:
        raise UserError(str(exc), EXIT_BAD_INPUT) from None
    return [_Pattern(r.id, r.kind, r.prefilter or (b"",), r.regex, None) for r in rules if r.regex is not None]


# -- judging a value ---------------------------------------------------------------------------
def _entropy(value: bytes) -> float:
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _classes(value: bytes) -> tuple[bool, bool, bool]:
    """(has an uppercase letter, has a lowercase letter, has a digit), in C, not per byte."""
    return value.lower() != value, value.upper() != value, _DIGIT.search(value) is not None


def _random(value: bytes) -> bool:
    """A value that looks generated: long enough, mixed classes, high entropy, no prose."""
    if len(value) < 12 or b" " in value:
        return False
    if b"/" in value and (b"." in value or b"-" in value):
        return False  # a path or URL (`k8s.io/47313/extract-47313-ctssv`); base64 has no `.`/`-`
    if _CONSTANT.match(value) and len(_DIGIT.findall(value)) * 4 <= len(value):
        return False  # an environment variable's name (`K8S_NODE_NAME_LABEL`)
    if _joined_words(value):
        return False  # words and numbers joined (`etcd-cluster-1`), the shape of a name
    upper, lower, digit = _classes(value)
    if len(value) >= 20 and upper + lower + digit >= 2 and _entropy(value) >= 3.5:
        return True
    return digit and (upper or lower) and _entropy(value) >= 3.0 and not value.isalpha()


def _joined_words(value: bytes) -> bool:
    """Words and numbers joined by -_./: (`etcd-cluster-1`, `TestReconcile/case_204`): each
    part all digits, or letters that change case at most three times (a random string of
    mixed case changes case every other letter or so)."""
    segments = _SEGMENT_SEP.split(value)
    if len(segments) < 2:
        return False
    for seg in segments:
        if seg and not seg.isdigit() and not (seg.isalpha() and len(_CASE_CHANGE.findall(seg)) <= 3):
            return False
    return True


def _generated(value: bytes) -> bool:
    """Stricter than _random, for values whose name says nothing: all three classes, and an
    entropy near that of random text of this length."""
    upper, lower, digit = _classes(value)
    if not (upper and lower and digit) or _HEX.match(value):
        return False
    return _entropy(value) >= min(4.0, 0.8 * math.log2(len(value)))


def _trivial(value: bytes) -> bool:
    """Values that carry nothing: empty, words of configuration, references, masks, paths."""
    v = value.strip().strip(b"\"'")
    if len(v) < 4 or v.lower() in _SKIP_WORDS or _REFERENCE.match(v) or _PATHLIKE.search(v):
        return True
    if _DIGEST.match(v) or v.isdigit() or len(set(v)) <= 2:
        return True
    # a placeholder after a prefix: openssl's `-pass pass:<redacted:...>`, `user:<redacted...>`
    return _PLACEHOLDER_IN_VALUE.search(v) is not None


def secret_value(key: bytes, value: bytes) -> bool:
    """Whether `value`, found beside the secret-like name `key`, looks like a real secret."""
    v = value.strip().strip(b"\"'").rstrip(b",)}]")
    if _CRYPT.match(v):
        return True   # a crypt(3) password hash (`passwd: $6$...`): crackable, so secret
    if _trivial(v):
        return False
    lkey = key.lower().lstrip(b"-")
    if _NOT_SECRET_KEY.search(lkey) and not (lkey in (b"key", b"keys", b"token", b"secret") and _random(v)):
        return False
    if _VERSION.match(v):
        return False
    if _UUID.match(v) and not (_STRONG.search(lkey) or lkey.endswith(b"token")):
        return False  # an id, unless named a token (Splunk HEC tokens, Consul ACL tokens are UUIDs)
    if len(v) >= 64 and _public_material(v):
        return False  # certificate-authority-data: a certificate is public
    upper, lower, digit = _classes(v)
    if _STRONG.search(lkey):
        if len(v) < 6:
            return False
        # `password: changeme`-like words and prose are not reported; anything with a digit, a
        # symbol or mixed case is
        if v.isalpha() and (v.islower() or v.isupper()) and len(v) < 16:
            return False
        if _WORDS.match(v) or (b"/" in v and _joined_words(v)):
            return False  # `value-that-must-not-leave-the-node`, `TestReconcile/case_204`: names
        return b" " not in v or len(v) <= 64
    if _HEX.match(v) and len(v) >= 32:
        return True  # a hex key (certificate-key, key ids, MACs) beside a key-like name
    return _random(v)


def _bootstrap(value: bytes) -> bool:
    # kubeadm tokens are random [a-z0-9]: the secret part holds a letter past f (an event name's
    # suffix is hex) and the token holds a digit somewhere (host names mostly do not).
    secret = value[7:]
    return bool(re.search(rb"[g-z]", secret)) and bool(re.search(rb"\d", value))


def _secrets_table(block: bytes, hits: list) -> None:
    """pppd's chap-secrets and pap-secrets: `client server secret [addresses]` per line, the
    secret in the third column (pppd(8), "AUTHENTICATION")."""
    pos = 0
    for line in block.split(b"\n"):
        fields = line.split()
        if len(fields) >= 3 and not fields[0].startswith(b"#"):
            secret = fields[2].strip(b"\"")
            if secret not in (b"*", b"-", b"") and not _trivial(secret):
                start = pos + line.find(fields[2])
                hits.append((start, start + len(fields[2]), "ppp-secrets-file", "password", len(secret)))
        pos += len(line) + 1


# -- the scanner --------------------------------------------------------------------------------
class SecretScanner:
    """Scans members; `scan(path, chunks)` yields Findings in line order (per detector)."""

    def __init__(self, patterns: list[_Pattern] | None = None, *, cap: int = 2 << 30) -> None:
        self.patterns = patterns if patterns is not None else load_patterns()
        self.cap = cap   # bytes of decompressed content scanned per member
        self._gated = [p for p in self.patterns if p.gate == "run"]
        self._hinted = [p for p in self.patterns if p.gate != "run"]
        self._kw_finders = [(w, re.compile(re.escape(w))) for w in sorted(_KEYWORDS)]
        self.notes: list[str] = []   # after scan(): what of the last member could not be scanned
        self.budget = RUN_BUDGET      # candidates left for this scanner

    # -- public -----------------------------------------------------------------------------
    def scan(self, path: str, chunks: Iterable[bytes]) -> Iterator[Finding]:
        state = _MemberState(self, path)
        # Duplicates come from the joined CRI pass and from the overlap of a long line's pieces,
        # so only this block's and the previous block's findings are remembered (bounded).
        seen: set[tuple[int, str]] = set()
        before: set[tuple[int, str]] = set()
        found = False
        for block, first_line in _blocks(_text_stream(chunks, self.cap, state)):
            before, seen = seen, set()
            for f in self._scan_block(path, block, first_line, state):
                if (f.line, f.rule) not in seen and (f.line, f.rule) not in before:
                    seen.add((f.line, f.rule))
                    found = True
                    yield f
        if state.whole is not None and not found:
            yield from self._whole_file(path, state)
        self.notes = state.notes

    def scan_bytes(self, path: str, data: bytes) -> list[Finding]:
        return list(self.scan(path, [data]))

    # -- blocks -----------------------------------------------------------------------------
    def _scan_block(self, path: str, block: bytes, first_line: int, state: "_MemberState") -> list[Finding]:
        if self.budget <= 0:
            state.note(f"verify's budget of {RUN_BUDGET} candidates is used up: not checked")
            return []
        if b"<redacted" in block:
            # Placeholders become a word that is never a secret (same line count).
            block = _PLACEHOLDER.sub(b"REDACTED", block)
        hits: list[tuple[int, int, str, str, int]] = []   # (pos, end, rule, kind, length)
        self._find(block, hits, 0, state)
        if state.secrets_table:
            _secrets_table(block, hits)
        if b" P " in block:
            for m in _CRI_RUN.finditer(block):
                joined = b"".join(_CRI_HEAD.sub(b"", l, count=1) for l in m.group(0).split(b"\n"))
                sub: list[tuple[int, int, str, str, int]] = []
                self._find(joined[:MAX_JOIN], sub, 0, state)
                start, end = m.start(), m.end()
                hits.extend((start, end, r + "(cri-joined)", k, n) for _, _, r, k, n in sub)
        hits.sort()
        out = []
        line, pos = first_line, 0
        for start, end, rule, kind, length in hits:
            line += block.count(b"\n", pos, start)
            pos = start
            end_line = line + block.count(b"\n", start, max(start, end - 1))
            out.append(Finding(path, line, end_line, kind, rule, length))
        return out

    def _find(self, block: bytes, hits: list, depth: int, state: "_MemberState") -> None:
        lower = block.lower()
        # 1. runs of base64 characters: decoded and scanned again, and they gate the token formats
        spans: list[tuple[int, int]] = []    # line ranges holding a random-looking run
        for count, m in enumerate(_RUN.finditer(block)):
            if count >= MAX_CANDIDATES:
                state.note(f"more than {MAX_CANDIDATES} base64 runs in a block: the rest of it not checked")
                break
            self.budget -= 1
            start = m.start()
            while start > 0 and block[start - 1] in _B64_CHARS and m.start() - start < 512:
                start -= 1   # rare: a run that starts lowercase (`ghp_`-less tokens, base64)
            run = block[start:m.end()]
            upper, low, digit = _classes(run)
            if digit or (low and len(run) >= 20):
                ls, le = _line_start(block, start), _line_end(block, m.end())
                if spans and ls <= spans[-1][1] + 1:
                    spans[-1] = (spans[-1][0], max(le, spans[-1][1]))
                else:
                    spans.append((ls, le))
            if low and depth < B64_MAX_DEPTH and len(run) >= B64_MIN:
                self._decode_and_scan(block, start, _b64_extend(block, start, m.end()), hits, depth, state)
        for ls, le in spans:
            for p in self._gated:
                self._apply(p, block, p.regex.finditer(block, ls, le), hits, depth, state)
        # 2. values beside secret-like names (and the rules whose hint is one of these names)
        present = {w for w in _KEYWORDS if w in lower}
        keywords = sorted((m.start(), m.end()) for w, rx in self._kw_finders if w in present for m in rx.finditer(lower))
        if len(keywords) > MAX_CANDIDATES:
            state.note(f"more than {MAX_CANDIDATES} secret-like names in a block: the rest of it not checked")
            keywords = keywords[:MAX_CANDIDATES]
        self.budget -= len(keywords)
        # each hint looked for once per block (a scan of the block each: they are the cost here)
        looked: dict[bytes, bool] = {}
        for p in self._hinted:
            if p.files_only and state.log:
                continue
            for h in p.hints:
                got = looked.get(h)
                if got is None:
                    got = looked[h] = (h in present) if h in _KEYWORDS else (h in lower)
                if got:
                    break
            if not p.hints or got:
                self._apply(p, block, p.regex.finditer(lower if p.lower else block), hits, depth, state)
        if keywords:
            self._key_values(block, keywords, hits)
            if b"value" in lower:
                for m in _ENV_PAIR.finditer(block):
                    name, val = m.group(1), m.group(2)
                    if _KEYWORD.search(name.lower()) and secret_value(name, val):
                        hits.append((m.start(2), m.end(2), "secret-env-value", "secret", len(val)))
        if state.config:
            for m in _CONFIG_VALUE.finditer(block):
                key, val = m.group(1), m.group(2)
                # base64 that decodes to text is judged by what it decodes to (see _decode_and_scan)
                if not _ID_KEY.search(key) and _generated(val) and not _public_material(val) \
                        and not _text_in_base64(val):
                    hits.append((m.start(2), m.end(2), "random-config-value", "secret", len(val)))
        # 3. private keys
        if b"private" in present or b"-----begin openvpn static key" in lower:
            self._pem(block, hits)   # `-----BEGIN ... PRIVATE KEY-----`, PuTTY's Private-Lines
            if b"private-lines:" in lower:
                self._ppk(block, hits)

    def _apply(self, p: _Pattern, block: bytes, matches: Iterable[re.Match[bytes]], hits: list, depth: int,
               state: "_MemberState") -> None:
        for m in matches:
            v = _group(m)
            if p.lower and v is not None:
                v = block[m.start("v"):m.end("v")]   # the value as written, not lowered
            if v is None or (_trivial(v) and p.id != "aws-access-key-id"):
                continue
            if p.check == "random" and not _random(v):
                continue
            start = m.start()
            if p.check == "bootstrap":
                start -= 6
                v = block[start:m.end()]
                if start > 0 and block[start - 1] in _WORD_DOT_DASH or not _bootstrap(v):
                    continue
            hits.append((start, m.end(), p.id, p.kind, len(v)))
            if p.id == "aws-access-key-id":
                self._aws_secret_near(block, m.end(), hits)
            if p.id == "authorization-basic":
                self._decode_and_scan(block, m.start("v"), v, hits, depth, state)

    # -- detectors with context -------------------------------------------------------------
    def _key_values(self, block: bytes, keywords: list[tuple[int, int]], hits: list) -> None:
        n = len(block)
        flagged_pw: list[int] = []
        last_key = -1
        for kw_start, kw_end in keywords:
            s = kw_start   # back to the start of the name (names are short: a loop beats a regex)
            while s > 0 and block[s - 1] in _WORD_DOT_DASH and kw_start - s < 64:
                s -= 1
            if s == last_key:
                continue   # a second keyword of the same name (`pw` and `pass` in `bindpw_pass`)
            last_key = s
            after = _KEY_AFTER.match(block, kw_end)
            e = after.end() if after else kw_end
            key = block[s:e]
            if not key.strip(b"-_.") or key in _STATUS_WORDS:
                continue
            if key == b"Key" and (block.endswith(b"Unseal ", 0, s) or block.endswith(b"Recovery ", 0, s)):
                self._local(_UNSEAL_KEY, block, s, hits, "vault-unseal-key", "secret")
                continue
            if key.lower() == b"htpasswd":
                self._local(_HTPASSWD_BATCH, block, s, hits, "htpasswd-batch-password", "password")
            if s > 0 and block[s - 1] == 0x3C and block[e:e + 1] == b">":
                self._xml_element(block, key, e + 1, hits, flagged_pw)
                continue
            sep = _SEP.match(block, e)
            vpos = sep.end() if sep else e
            spaced = False
            if sep is not None and sep.group(1) is None:
                # a list comma or whitespace: only a flag, a bare name, or a name and its value
                # alone on a line (`auth_pass X`, below) take their value so
                if sep.group(3) is not None and block[s - 1:s] == b"/":
                    continue  # a path (`/etc/pam.d/passwd <md5>` in dpkg's status), not a name
                if not (key.startswith(b"-") or (sep.group(3) is not None and key.lower() in _BARE_NAMES)):
                    if sep.group(3) is None or (s > 0 and block[s - 1] not in b" \t\n"):
                        continue
                    spaced = True
            vm = _VALUE.match(block, vpos) if sep is not None else None
            if vm is None or vpos >= n or block[vpos:vpos + 1] == b"\n":
                # `--token` alone on its line: argv split one per line; the value is the next line
                if key.startswith(b"-") and _FLAG_ALONE.match(block[_line_start(block, s):_line_end(block, e)]):
                    nxt = _line_end(block, e) + 1
                    if nxt < n:
                        val = block[nxt:_line_end(block, nxt)].strip()
                        if val and not val.startswith(b"-") and secret_value(key, val):
                            hits.append((nxt, nxt + len(val), "secret-flag-next-line", "secret", len(val)))
                            if _STRONG.search(key.lower()):
                                flagged_pw.append(nxt)
                continue
            val = next(g for g in vm.groups() if g is not None)
            val = _cut_at_next_key(val)
            if sep.group(1) is None and val.startswith(b"-"):
                continue  # `--password --verbose`: the next word is another flag
            if spaced:
                # Space-separated configuration (keepalived `auth_pass X`, nslcd `bindpw X`,
                # fluent-bit `HTTP_Passwd  X`, haproxy `insecure-password X`): the value ends
                # its line. A strong name first on its line is judged like `name = value`;
                # anywhere else (prose) the value must also look generated.
                # (`Certification Authority 2017` in prose or binary: a weak name must end the
                # name, `Splunk_Token`, and the value be printable)
                if block[vm.end():_line_end(block, vm.end())].strip() or not _PRINTABLE.fullmatch(val):
                    continue
                first = not block[_line_start(block, s):s].strip()
                strong = _STRONG.search(key.lower())
                if not (first and strong) and not (_random(val) and (strong or key.lower().endswith(_KEYWORD_ENDS))):
                    continue
            elif sep.group(3) is not None and not key.startswith(b"-") and not _random(val):
                continue  # a bare name in prose (`password policy: ...`) needs a generated value
            if secret_value(key, val):
                kind = "password" if _PASSWORD_KEY.search(key.lower()) else "secret"
                hits.append((vm.start(), vm.start() + len(val), "secret-value", kind, len(val)))
                if _STRONG.search(key.lower()):
                    flagged_pw.append(vm.start())
        for pos in flagged_pw:
            self._user_near(block, pos, hits)

    @staticmethod
    def _local(rx: re.Pattern[bytes], block: bytes, pos: int, hits: list, rule: str, kind: str) -> None:
        m = rx.match(block, pos)
        if m and not _trivial(m.group(1)):
            hits.append((m.start(1), m.end(1), rule, kind, len(m.group(1))))

    def _xml_element(self, block: bytes, key: bytes, start: int, hits: list, flagged_pw: list) -> None:
        """`<password>X</password>` (Maven settings.xml, Jenkins, Tomcat contexts)."""
        close = block.find(b"</", start, start + 1026)
        val = block[start:close].strip() if close > 0 else b""
        if val and not re.search(rb"\s", val) and secret_value(key, val):   # prose is not a secret
            kind = "password" if _PASSWORD_KEY.search(key.lower()) else "secret"
            hits.append((start, close, "secret-xml-element", kind, len(val)))
            if _STRONG.search(key.lower()):
                flagged_pw.append(start)

    def _user_near(self, block: bytes, pos: int, hits: list) -> None:
        """A user name within three lines of a flagged password is reported with it."""
        start, end = _lines_around(block, pos, 3, 3)
        for m in _USER_KEY.finditer(block, start, end):
            v = m.group(2)
            if not _trivial(v):
                hits.append((m.start(2), m.end(2), "username-beside-password", "username", len(v)))

    def _aws_secret_near(self, block: bytes, pos: int, hits: list) -> None:
        _, end = _lines_around(block, pos, 0, 3)
        for m in _AWS_SECRET.finditer(block, pos, end):
            v = m.group(1)
            upper, lower, digit = _classes(v)
            if upper and lower and digit:
                hits.append((m.start(), m.end(), "aws-secret-key-near-id", "aws-secret", 40))

    def _pem(self, block: bytes, hits: list) -> None:
        for m in _PEM_BEGIN.finditer(block):
            after = block[m.end():m.end() + 400]
            if _PEM_BODY.search(after) is None and len(after) == 400:
                continue  # a marker quoted in a message, no key material after it
            end_marker = block.find(b"-----END", m.end(), m.end() + (64 << 10))
            end = end_marker if end_marker >= 0 else m.end()
            hits.append((m.start(), end + 1, "pem-private-key", "private-key", end - m.start()))

    def _ppk(self, block: bytes, hits: list) -> None:
        for m in _PPK_LINES.finditer(block):
            count = int(m.group(1))
            pos = block.find(b"\n", m.end())
            if pos < 0:
                continue
            body_end = pos
            for _ in range(max(1, count)):
                nxt = block.find(b"\n", body_end + 1)
                body_end = len(block) if nxt < 0 else nxt
            body = block[pos + 1:body_end]
            if re.search(rb"[A-Za-z0-9+/=]{16,}", body):
                hits.append((pos + 1, body_end, "putty-private-key", "private-key", len(body)))

    def _decode_and_scan(self, block: bytes, pos: int, blob: bytes, hits: list, depth: int,
                         state: "_MemberState") -> None:
        if len(blob) < B64_MIN or _HEX.match(blob) or state.b64_budget <= 0:
            return
        upper, lower, digit = _classes(blob)
        if not (upper and lower):
            return
        decoded = _b64decode(blob)
        if decoded is None or len(decoded) < 12:
            return
        state.b64_budget -= len(decoded)
        if decoded.startswith(b"\xff\xfe") or decoded.startswith(b"\xfe\xff"):
            try:
                decoded = decoded.decode("utf-16").encode("utf-8")
            except UnicodeDecodeError:
                return
        if not _mostly_text(decoded):
            return
        text = decoded.strip()
        if b"<redacted" in text:
            text = _PLACEHOLDER.sub(b"REDACTED", text)   # redacted, then encoded again by redact
        sub: list = []
        self._find(text, sub, depth + 1, state)
        if sub:
            hits.append((pos, pos + len(blob), "base64(" + sub[0][2] + ")", sub[0][3], len(blob)))
            return
        # A decoded `user:password` or a decoded random token is a secret as well (not a line of
        # a certificate, whose 48 bytes may be text: a CRL URL in a CA bundle).
        if b"\n" not in text and b" " not in text and len(text) <= 512 and not _in_certificate(block, pos):
            user, colon, pw = text.partition(b":")
            # (`$` for Harbor robot accounts, `robot$deploy`, in a containerd `auth = "..."`)
            if colon and re.fullmatch(rb"[\w.@+$-]{1,128}", user) and not _trivial(pw) and len(pw) >= 6 \
                    and b"/" not in user and not _HEX.match(text):
                hits.append((pos, pos + len(blob), "base64-user-password", "password", len(blob)))
            elif not colon and len(text) >= 16 and _random(text):
                hits.append((pos, pos + len(blob), "base64-token", "secret", len(blob)))

    def _whole_file(self, path: str, state: "_MemberState") -> Iterator[Finding]:
        data = state.whole.strip() if state.whole is not None else b""
        if not data or _PLACEHOLDER.fullmatch(data) or data == b"REDACTED":
            return
        if _BARE_TOKEN.fullmatch(data) and ((_generated(data) and not _text_in_base64(data)) or _TOKEN_FILES.search(path)):
            if not _trivial(data):
                yield Finding(path, 1, 1, "secret", "secret-file", len(data))
                return
        if _TOKEN_FILES.search(path):
            for i, line in enumerate(data.split(b"\n"), 1):
                first = line.split(b",", 1)[0].strip()
                if first and not first.startswith(b"#") and _random(first) and not _PLACEHOLDER.search(line):
                    yield Finding(path, i, i, "secret", "secret-file", len(first))


class _MemberState:
    def __init__(self, scanner: SecretScanner, path: str) -> None:
        self.path = path
        self.b64_budget = B64_BUDGET
        self.whole: bytes | None = b""     # the text while it is small (whole-file rules)
        self.config = bool(_CONFIG_PATH.search(path))
        self.log = bool(_LOG_PATH.search(path))
        self.secrets_table = bool(_SECRETS_TABLE.search(path))
        self.notes: list[str] = []          # what could not be scanned (reported by verify)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def feed(self, text: bytes) -> None:
        if self.whole is not None:
            self.whole += text
            if len(self.whole) > WHOLE_FILE_MAX:
                self.whole = None


# -- streaming text -----------------------------------------------------------------------------
def _text_stream(chunks: Iterable[bytes], cap: int, state: _MemberState) -> Iterator[bytes]:
    """The member as text: decompressed, UTF-16 decoded, NUL runs cut to a line break."""
    it = iter(chunks)
    head = b""
    for c in it:
        head += c
        if len(head) >= 4096:
            break
    stream: Iterator[bytes] = _chain(head, it)
    codec = compression(head)
    if codec in ("zstd", "zip"):
        # no stdlib decoder: the content cannot be checked, which verify reports
        state.notes.append(f"{codec} content cannot be scanned")
        return
    if codec:
        stream = _decompressed(codec, stream, cap, state)
        head = b""
        for c in stream:
            head += c
            if len(head) >= 4096:
                break
        stream = _chain(head, stream)
    enc = _utf16(head)
    if enc:
        stream = _decode_utf16(enc, stream)
    for chunk in stream:
        if b"\0" in chunk:
            if not chunk.strip(b"\0"):
                state.whole = None
                yield b"\n"      # a run of zeros (a sparse or zero-filled file): nothing to scan
                continue
            chunk = _NUL_RUN.sub(b"\n", chunk).replace(b"\0", b"\n")
        state.feed(chunk)
        yield chunk


def _blocks(stream: Iterator[bytes]) -> Iterator[tuple[bytes, int]]:
    """Blocks of whole lines (about BLOCK bytes) with the number of their first line."""
    pending: list[bytes] = []
    size = 0
    line = 1
    for chunk in stream:
        if not chunk:
            continue
        pending.append(chunk)
        size += len(chunk)
        if size < BLOCK:
            continue
        data = b"".join(pending)
        cut = data.rfind(b"\n")
        if cut == -1:
            if len(data) <= MAX_LINE:
                pending, size = [data], len(data)
                continue
            # one enormous line: scan it in pieces that overlap, so a secret across a cut is seen
            yield data, line
            rest = data[-OVERLAP:]
            pending, size = [rest], len(rest)
            continue
        cut = _keep_cri_partial_run(data, cut)
        rest = data[cut + 1:]
        yield data[:cut + 1], line
        line += data.count(b"\n", 0, cut + 1)
        pending, size = ([rest], len(rest)) if rest else ([], 0)
    if pending:
        yield b"".join(pending), line


def _keep_cri_partial_run(data: bytes, cut: int) -> int:
    """Move a trailing run of CRI `P` lines to the next block so that it is joined whole."""
    pos = cut
    moved = 0
    while moved < MAX_JOIN:
        start = data.rfind(b"\n", 0, pos) + 1
        if start <= 0 or not re.match(rb"\S+ (?:stdout|stderr) P ", data[start:start + 64]):
            break
        moved += pos - start
        pos = start - 1
    return pos if pos != cut else cut


def _chain(head: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if head:
        yield head
    yield from rest


def _decompressed(codec: str, stream: Iterator[bytes], cap: int, state: _MemberState) -> Iterator[bytes]:
    total = 0
    try:
        for out in inflate(codec, stream):
            total += len(out)
            if total > cap:
                state.notes.append(f"{codec} content past {cap} decompressed bytes not scanned")
                return
            yield out
    except (zlib.error, OSError, EOFError, lzma.LZMAError) as exc:
        state.notes.append(f"{codec} content damaged after {total} bytes ({exc}); the rest not scanned")


def _utf16(head: bytes) -> str | None:
    if head.startswith(b"\xff\xfe") or head.startswith(b"\xfe\xff"):
        return "utf-16"
    sample = head[:512]
    if len(sample) >= 16 and sample[1::2].count(0) > len(sample) * 0.4 and sample[0::2].count(0) < len(sample) * 0.05:
        return "utf-16-le"
    return None


def _decode_utf16(enc: str, stream: Iterator[bytes]) -> Iterator[bytes]:
    dec = codecs.getincrementaldecoder(enc)("replace")
    for chunk in stream:
        yield dec.decode(chunk).encode("utf-8", "surrogatepass")
    yield dec.decode(b"", final=True).encode("utf-8", "surrogatepass")


# -- small helpers ------------------------------------------------------------------------------
def _group(m: re.Match[bytes]) -> bytes | None:
    d = m.groupdict()
    for name in ("v", "q", "d", "secret"):
        if d.get(name) is not None:
            return d[name]
    return m.group(0) if not d else None


def _cut_at_next_key(val: bytes) -> bytes:
    # `password=X,pool=5` / `host=db,password=X,pool=5`: the value ends before `,name=`
    m = re.search(rb",[\w.-]+[=:]", val)
    return (val[:m.start()] if m else val).rstrip(b",.;)]}")


def _lines_around(block: bytes, pos: int, before: int, after: int) -> tuple[int, int]:
    """(start, end) of the lines from `before` lines above `pos` to `after` lines below it."""
    start = block.rfind(b"\n", 0, pos) + 1
    for _ in range(before):
        if start == 0:
            break
        start = block.rfind(b"\n", 0, start - 1) + 1
    end = _line_end(block, pos)
    for _ in range(after):
        if end >= len(block):
            break
        end = _line_end(block, end + 1)
    return start, end


def _b64_extend(block: bytes, start: int, end: int) -> bytes:
    """The run with base64url characters and padding after it (`-`, `_`, `=`)."""
    m = _B64_TAIL.match(block, end)
    return block[start:m.end()] if m else block[start:end]


def _line_start(block: bytes, pos: int) -> int:
    return block.rfind(b"\n", 0, pos) + 1


def _line_end(block: bytes, pos: int) -> int:
    end = block.find(b"\n", pos)
    return len(block) if end < 0 else end


def _b64decode(blob: bytes) -> bytes | None:
    s = blob.rstrip(b"=")
    if len(s) % 4 == 1:
        s = s[:-1]
    s += b"=" * (-len(s) % 4)
    try:
        if b"-" in s or b"_" in s:
            return base64.urlsafe_b64decode(s)
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        return None


def _in_certificate(block: bytes, pos: int) -> bool:
    """Whether `pos` is inside a PEM certificate (asked only of a would-be hit: a search back)."""
    begin = block.rfind(b"-----BEGIN ", 0, pos)
    return begin >= 0 and block.startswith(b"CERTIFICATE", begin + 11) and block.find(b"-----END", begin, pos) < 0


def _public_material(value: bytes) -> bool:
    """A base64 certificate or public key (CA bundles under names holding `auth`)."""
    decoded = _b64decode(value[:200])
    return decoded is not None and (decoded.startswith((b"-----BEGIN CERTIFICATE", b"-----BEGIN PUBLIC KEY",
                                                        b"-----BEGIN X509")) or decoded[:2] == b"\x30\x82"
                                    and b"PRIVATE" not in decoded)


def _text_in_base64(value: bytes) -> bool:
    decoded = _b64decode(value) if len(value) >= B64_MIN else None
    return decoded is not None and len(decoded) >= 12 and _mostly_text(decoded)


def _mostly_text(data: bytes) -> bool:
    """Valid UTF-8 and nearly all printable: what decoded base64 of a document looks like
    (decoding a long camelCase word yields bytes, never this)."""
    sample = data[:2048]
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 3:     # not just a character cut at the sample's end
            return False
        text = sample[:exc.start].decode("utf-8")
    if not text:
        return False
    bad = sum(1 for ch in text if not (ch.isprintable() or ch in "\t\r\n"))
    return bad <= len(text) * 0.02
