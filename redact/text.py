"""Pattern-based redaction of text, line by line, for streams of any size.

Speed: a block of complete lines is lower-cased once and searched for the prefilter words of
all rules (plain `bytes.find`, no regex); only the lines holding one of them run the real
regexes. On ordinary logs ~99% of the bytes therefore cost a handful of substring scans.

State that crosses line boundaries (a PEM private key block spread over lines, a secret flag
whose value is on the next line of a NUL-separated command line) makes the scanner process the
following lines one by one until the state ends.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable

from k8s_bundle.redact.rules import is_file_reference

if TYPE_CHECKING:
    from k8s_bundle.redact.engine import Job
    from k8s_bundle.redact.rules import Rule

# PEM private keys of every kind: RSA, EC, DSA, PKCS#8 (plain and ENCRYPTED), OPENSSH, PGP.
_PEM_BEGIN = re.compile(rb"-----BEGIN ([A-Z0-9 ]{0,40}?)PRIVATE KEY( BLOCK)?-----")
_PEM_WHOLE = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]{0,40}?)PRIVATE KEY( BLOCK)?-----.*?-----END [A-Z0-9 ]{0,40}?PRIVATE KEY(?: BLOCK)?-----"
)
_PEM_END = re.compile(rb"-----END [A-Z0-9 ]{0,40}?PRIVATE KEY(?: BLOCK)?-----")
_PEM_BODY_NOISE = re.compile(rb"\\[nr]|\s|-----[A-Z0-9 ]+-----")
_PEM_HEADER = re.compile(rb"^\s*(Proc-Type|DEK-Info|Comment|Version|Hash)\s*:", re.I)
_B64_TOKEN = re.compile(rb"^[A-Za-z0-9+/=]+$")
PEM_MAX_LINES = 4096

# key=value, "key": "value", key: value (the value alone is replaced; quotes are kept).
_VALUE = (
    rb"(?:\\\"(?P<v1>(?:(?!\\\")[^\n])*)\\\""
    rb"|\"(?P<v2>(?:[^\"\\\n]|\\.)*)\""
    rb"|'(?P<v3>[^'\n]*)'"
    rb"|(?P<v4>(?![{\[])[^\s\"'\\,;&})\]<>]+))"
)
_KV = re.compile(
    rb"(?<![\w.-])(?P<key>[A-Za-z_][\w.-]{0,80}?)(?P<kq>\\?[\"'])?[ \t]*(?P<sep>[:=])[ \t]*" + _VALUE
)
_FLAG = re.compile(rb"(?<![\w-])--(?P<key>[A-Za-z][\w-]{0,80})(?:=|[ \t]+(?!-))" + _VALUE)
_LINE_KV = re.compile(
    rb"^[ \t]*(?:- )?(?P<key>[A-Za-z_][\w.-]{0,80})[ \t]*[:=][ \t]*(?P<value>[^\s\"'{\[<][^\r\n]*?)[ \t]*(?:\r)?$"
)
_LONE_FLAG = re.compile(rb"^[ \t]*--(?P<key>[A-Za-z][\w-]{0,80})[ \t\r]*$")
_LINE_KEYS = re.compile(rb"(?<![\w.-])([A-Za-z_][\w.-]{0,80}?)\\?[\"']?[ \t]*[:=]")
_SKIP_VALUES = {
    b"", b"true", b"false", b"yes", b"no", b"on", b"off", b"null", b"none", b"nil", b"<nil>",
    b"[]", b"{}", b"bearer", b"basic", b"token", b"digest", b"negotiate", b"redacted", b"<redacted>", b"-", b"required", b"optional",
    b"string", b"str", b"bool", b"int", b"|", b">", b"|-", b">-", b"|+", b">+",
}
_MASK_ONLY = re.compile(rb"^(?:\*+|x+|X+|\.+|#+|<[\w -]+>|\{\{.*\}\}|\$.*|%[\w(].*)$")


def skip_value(value: bytes) -> bool:
    """Values that carry no secret: empty, booleans, placeholders, masks, variable references."""
    v = value.strip()
    if v.lower() in _SKIP_VALUES or v.startswith(b"<redacted"):
        return True
    return bool(_MASK_ONLY.match(v))


def _looks_random(value: bytes) -> bool:
    # Used for `key: value` in prose ("failed to get token: unauthorized" is not a secret).
    if len(value) >= 24:
        return True
    has_digit = any(48 <= c <= 57 for c in value)
    has_alpha = any(65 <= c <= 90 or 97 <= c <= 122 for c in value)
    return len(value) >= 8 and has_digit and has_alpha




class LineRedactor:
    """Redacts one item's text. Feed blocks of complete lines; call finish() at the end."""

    def __init__(self, job: "Job") -> None:
        self.job = job
        rs = job.ruleset
        self.rules = rs.text_rules
        words: set[bytes] = set(rs.key_words) | {b"private key"}
        always = False
        for r in self.rules:
            if r.prefilter:
                words.update(r.prefilter)
            elif r.prefilter_regex is None:
                always = True  # a custom regex with no prefilter: every line is a candidate
        if b"" in words:
            always = True
        words.discard(b"")
        # A word containing another one is redundant for finding candidate lines (each word is
        # one full scan of the block, the main cost on clean logs).
        self.words = sorted(w for w in words if not any(o != w and o in w for o in words))
        self.prefilter_regexes = [r.prefilter_regex for r in self.rules if r.prefilter_regex is not None]
        self.always = always
        self.key_words = tuple(w for w in rs.key_words if w)
        # cross-line state
        self.in_pem = False
        self.pem_lines = 0
        self.pem_hmac: Any = None
        self.pending_flag: "Rule | None" = None
        self.block: tuple[int, "Rule"] | None = None  # `password: |` seen: (indent, rule)
        self.line_no = 0  # 1-based number of the last line handled (for verify hits)

    @property
    def sticky(self) -> bool:
        return self.in_pem or self.pending_flag is not None or self.block is not None

    # -- block level -------------------------------------------------------------------------
    def feed(self, block: bytes) -> bytes:
        """Redact a block of complete lines (the last line may lack its newline only at EOF)."""
        if not block:
            return block
        starts = self._candidate_starts(block)
        if not starts and not self.sticky:
            if self.job.detect:
                self.line_no += block.count(b"\n")
            return block
        out: list[bytes] = []
        cursor = 0
        n = len(block)
        idx = 0
        while cursor < n:
            if not self.sticky:
                while idx < len(starts) and starts[idx] < cursor:
                    idx += 1
                if idx >= len(starts):
                    out.append(block[cursor:])
                    if self.job.detect:
                        self.line_no += block.count(b"\n", cursor)
                    break
                start = starts[idx]
                idx += 1
                if start > cursor:
                    out.append(block[cursor:start])
                    if self.job.detect:
                        self.line_no += block.count(b"\n", cursor, start)
            else:
                start = cursor
            end = block.find(b"\n", start)
            end = n if end == -1 else end + 1
            line = block[start:end]
            self.line_no += 1
            body = line.rstrip(b"\n")
            new = self.redact_line(body)
            if new is not None:
                out.append(new + line[len(body):])
            cursor = end
        return b"".join(out)

    def finish(self) -> bytes:
        """End of the item: a private key block left open is still replaced (never emitted)."""
        if self.in_pem:
            return self._close_pem() + b"\n"
        self.pending_flag = None
        self.block = None
        return b""

    def _candidate_starts(self, block: bytes) -> list[int]:
        if self.always:
            starts = [0]
            pos = block.find(b"\n")
            while pos != -1 and pos + 1 < len(block):
                starts.append(pos + 1)
                pos = block.find(b"\n", pos + 1)
            return starts
        low = block.lower()
        found: set[int] = set()
        for word in self.words:
            pos = low.find(word)
            while pos != -1:
                ls = low.rfind(b"\n", 0, pos) + 1
                found.add(ls)
                le = low.find(b"\n", pos)
                if le == -1:
                    break
                pos = low.find(word, le + 1)
        for rx in self.prefilter_regexes:
            for m in rx.finditer(block):
                found.add(block.rfind(b"\n", 0, m.start()) + 1)
        return sorted(found)

    # -- line level ---------------------------------------------------------------------------
    def redact_line(self, line: bytes) -> bytes | None:
        """Redact one line (no newline). None drops the line (inside a private key block)."""
        if self.in_pem:
            return self._pem_continue(line)
        if self.block is not None:
            indent, rule = self.block
            content = line.strip()
            if not content:
                return line
            lead = len(line) - len(line.lstrip())
            if lead > indent:
                return line[:lead] + self.job.replace(rule, content, self.line_no) + line[len(line.rstrip()):]
            self.block = None
        if self.pending_flag is not None:
            rule = self.pending_flag
            self.pending_flag = None
            value = line.strip()
            if value and not value.startswith(b"-") and not skip_value(value):
                lead = line[: len(line) - len(line.lstrip())]
                trail = line[len(line.rstrip()):]
                return lead + self.job.replace(rule, value, self.line_no) + trail
        low = line.lower()
        if b"private key" in low and _PEM_BEGIN.search(line):
            new = self._pem_line(line)
            if self.in_pem or new is None:
                return new
            line = new
            low = line.lower()
        for rule in self.rules:
            if rule.prefilter and not any(w in low for w in rule.prefilter):
                continue
            if rule.prefilter_regex is not None and not rule.prefilter_regex.search(line):
                continue
            line = rule.regex.sub(self._regex_callback(rule), line)  # type: ignore[union-attr]
        if any(w in low for w in self.key_words):
            line = self._key_values(line)
        return line

    def _regex_callback(self, rule: "Rule") -> Callable[[re.Match[bytes]], bytes]:
        has_group = "secret" in rule.regex.groupindex  # type: ignore[union-attr]

        def callback(m: re.Match[bytes]) -> bytes:
            secret = m.group("secret") if has_group else m.group(0)
            if secret is None or skip_value(secret):
                return m.group(0)
            if rule.validate is not None and not rule.validate(secret):
                return m.group(0)
            s, e = (m.span("secret") if has_group else m.span())
            base = m.start()
            whole = m.group(0)
            return whole[: s - base] + self.job.replace(rule, secret, self.line_no) + whole[e - base:]

        return callback

    def _key_values(self, line: bytes) -> bytes:
        job = self.job
        rs = job.ruleset
        line_keys: list[str] | None = None

        def sibling(pattern: re.Pattern[str]) -> bool:
            nonlocal line_keys
            if line_keys is None:
                line_keys = [k.decode("latin-1") for k in _LINE_KEYS.findall(line)]
            return any(pattern.fullmatch(k) for k in line_keys)

        def value_span(m: re.Match[bytes]) -> tuple[int, int, bytes] | None:
            for g in ("v1", "v2", "v3", "v4"):
                v = m.group(g)
                if v is not None:
                    s, e = m.span(g)
                    return s, e, v
            return None

        def flag_cb(m: re.Match[bytes]) -> bytes:
            key = m.group("key").decode("latin-1")
            rule = rs.classify_key(key, flag=True, structured=False, sibling=sibling)
            span = value_span(m)
            if rule is None or span is None:
                return m.group(0)
            s, e, v = span
            if skip_value(v) or (rule.keep_paths and is_file_reference(v)):
                return m.group(0)
            base = m.start()
            whole = m.group(0)
            return whole[: s - base] + job.replace(rule, v, self.line_no) + whole[e - base:]

        def inner(m: re.Match[bytes], span: tuple[int, int, bytes] | None) -> bytes:
            # The value of an ordinary key may itself hold key=value pairs ({"log":
            # "DB_PASSWORD=..."}, conn="Server=db;Password=...", https://h/p?access_token=...).
            if span is None:
                return m.group(0)
            s, e, v = span
            if m.group("v4") is not None and b"=" not in v:
                return m.group(0)  # an unquoted value holds further pairs only as in a URL query
            new = _KV.sub(kv_cb, v)
            if new == v:
                return m.group(0)
            base = m.start()
            whole = m.group(0)
            return whole[: s - base] + new + whole[e - base:]

        def kv_cb(m: re.Match[bytes]) -> bytes:
            key = m.group("key").decode("latin-1")
            rule = rs.classify_key(key, structured=False, sibling=sibling)
            span = value_span(m)
            if rule is None or span is None:
                return inner(m, span)
            s, e, v = span
            if skip_value(v) or (rule.keep_paths and is_file_reference(v)):
                return m.group(0)
            before = line[: m.start()].strip(b" \t-{[,\"'")
            if m.group("sep") == b":" and not m.group("kq"):
                if before and not _looks_random(v):
                    return m.group(0)  # prose such as "failed to get token: unauthorized"
            if rule.action == "cert-metadata":
                return m.group(0)
            base = m.start()
            whole = m.group(0)
            return whole[: s - base] + job.replace(rule, v, self.line_no) + whole[e - base:]

        whole_line = _LINE_KV.match(line)
        if whole_line is not None:
            # `password: two words` / `secret = a b` at the start of a line (YAML, INI, env,
            # Format-List): the value runs to the end of the line, not to the first blank.
            key = whole_line.group("key").decode("latin-1")
            value = whole_line.group("value")
            rule = rs.classify_key(key, structured=False, sibling=sibling)
            if rule is not None and rule.action != "cert-metadata":
                if value.startswith((b"|", b">")) and len(value) <= 3:
                    # a YAML block scalar: the secret is on the following, deeper lines
                    self.block = (len(line) - len(line.lstrip()), rule)
                    return line
                if not skip_value(value) and not value.startswith((b"&", b"*", b"!")) \
                        and not (rule.keep_paths and is_file_reference(value)):
                    s, e = whole_line.span("value")
                    return line[:s] + job.replace(rule, value, self.line_no) + line[e:]
        if b"--" in line:
            line = _FLAG.sub(flag_cb, line)
            lone = _LONE_FLAG.match(line)
            if lone is not None:
                rule = rs.classify_key(lone.group("key").decode("latin-1"), flag=True, structured=False)
                if rule is not None:
                    self.pending_flag = rule
        return _KV.sub(kv_cb, line)

    # -- PEM private key blocks -----------------------------------------------------------------
    def _pem_line(self, line: bytes) -> bytes | None:
        rule = self.job.ruleset.pem_rule
        if rule is None:
            return line

        def whole_cb(m: re.Match[bytes]) -> bytes:
            body = _PEM_BODY_NOISE.sub(b"", m.group(0))
            return self.job.replace(rule, body, self.line_no)

        line = _PEM_WHOLE.sub(whole_cb, line)
        m = _PEM_BEGIN.search(line)
        if m is None:
            return line
        # A block that continues on the next lines: keep what precedes it on this line.
        self.in_pem = True
        self.pem_lines = 0
        self.pem_hmac = self.job.hasher()
        self.pem_hmac.update(_PEM_BODY_NOISE.sub(b"", line[m.end():]))
        prefix = line[: m.start()]
        return prefix if prefix.strip() else None

    def _pem_continue(self, line: bytes) -> bytes | None:
        self.pem_lines += 1
        end = _PEM_END.search(line)
        if end is not None:
            self.pem_hmac.update(_PEM_BODY_NOISE.sub(b"", line[: end.start()]))
            rest = line[end.end():]
            out = self._close_pem()
            return out + (self.redact_line(rest) or b"") if rest.strip() else out
        stripped = line.strip()
        token = stripped.rsplit(None, 1)[-1] if stripped else b""
        if not stripped or _PEM_HEADER.match(stripped) or _B64_TOKEN.match(token):
            if self.pem_lines <= PEM_MAX_LINES:
                self.pem_hmac.update(token)
                prefix = stripped[: len(stripped) - len(token)].rstrip()
                return None if not prefix or _PEM_HEADER.match(stripped) else line[: line.find(prefix) + len(prefix)]
        # Not key material any more (a truncated key): close the block, handle the line normally.
        placeholder = self._close_pem()
        rest = self.redact_line(line)
        return placeholder + b"\n" + (rest if rest is not None else b"")

    def _close_pem(self) -> bytes:
        rule = self.job.ruleset.pem_rule
        assert rule is not None
        self.in_pem = False
        digest = self.pem_hmac.hexdigest() if self.pem_hmac is not None else "000000"
        self.pem_hmac = None
        return self.job.replace_digest(rule, digest, self.line_no)
