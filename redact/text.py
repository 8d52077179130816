"""Pattern-based redaction of text, line by line, for streams of any size.

Speed: a block of complete lines is lower-cased once and searched for the prefilter words of
all rules (plain `bytes.find`, no regex); only the lines holding one of them run the real
regexes. On ordinary logs ~99% of the bytes therefore cost a handful of substring scans.

State that crosses line boundaries (a PEM private key block spread over lines, a secret flag
whose value is on the next line of a NUL-separated command line, a CRI `P` line whose text goes
on in the next line of its stream) makes the scanner process the following lines one by one
until the state ends.

A base64 value on a candidate line that decodes to a text document is redacted as a document of
its own and encoded again (`redact_base64_document`, also used for structured values).
"""
from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING, Any, Callable


from k8s_bundle.redact.rules import CONFIG_KEY_WORDS

if TYPE_CHECKING:
    from k8s_bundle.redact.redactor import Job
    from k8s_bundle.redact.rules import Rule

# A run of base64 long enough to hold a document, and the caps on decoding one (a document in a
# document in a document is as deep as it goes; a larger value is left to the other rules).
_B64_RUN = re.compile(rb"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/]{40,}={0,2}(?![A-Za-z0-9+/=_-])")
B64_DOC_MAX = 4 * 1024 * 1024
B64_DOC_DEPTH = 3
# Per item, documents are redacted one by one up to these; past them a base64 value that decodes
# to text is replaced whole (decoding costs little, a nested redaction ~0.1 ms): cost stays linear.
B64_DOCS_PER_ITEM = 1000
B64_DOC_BYTES_PER_ITEM = 16 * 1024 * 1024
_B64_PEM = b"LS0tLS1CRUdJT"   # "-----BEGIN": left to base64-pem-private-key (one placeholder)


def redact_base64_document(job: "Job", value: bytes, line_no: int) -> bytes | None:
    """`value` (base64) with the text document it encodes redacted and encoded again, or None when
    it encodes no UTF-8 text or nothing in it changed."""
    rule = job.ruleset.b64doc_rule
    if rule is None or len(value) > B64_DOC_MAX or job.depth >= B64_DOC_DEPTH or value.startswith(_B64_PEM):
        return None
    body = value.rstrip(b"=")
    try:
        raw = base64.b64decode(body + b"=" * (-len(body) % 4), validate=True)
        text = raw.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    # text, not bytes that happen to decode: printable but for line breaks and tabs
    if len(raw) < 24 or not text.replace("\n", "").replace("\r", "").replace("\t", "").isprintable():
        return None
    job.b64_docs += 1
    job.b64_bytes += len(raw)
    if job.b64_docs > B64_DOCS_PER_ITEM or job.b64_bytes > B64_DOC_BYTES_PER_ITEM:
        return job.replace(rule, value, line_no)
    new = job.redact_document(raw, line_no)
    if new == raw:
        return None
    job.count(rule)
    encoded = base64.b64encode(new)
    return encoded if value.endswith(b"=") else encoded.rstrip(b"=")


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
SHORT_WORD = 7
# CRI log lines (`<time> <stream> <P|F> <text>`, kubernetes/design-proposals: kubelet-cri-logging):
# a P line's text goes on in the stream's next line, so a secret may be cut in two. A P line that
# is a candidate starts a run; the run's texts are joined, redacted as one line and cut back at
# the same places. A run is closed early past these caps (containerd cuts at 16 KiB a line).
_CRI = re.compile(rb"(?P<head>\S+ (?P<stream>stdout|stderr) (?P<tag>[PF])(?: |$))")
CRI_RUN_MAX_LINES = 256
CRI_RUN_MAX_BYTES = 4 * 1024 * 1024

# key=value, "key": "value", key: value (the value alone is replaced; quotes are kept).
# An unquoted value ends at a blank, at a quote or bracket that closes the surrounding
# structure (one followed by a blank, punctuation or the end), and at ",", ";" or "&" only when
# a blank, the end or the next `key=` (or JSON's `"key":`) follows: `password=a,b` is one value,
# `a=1,password=x,b=2`, `Password=x;Database=y` and `"Authorization":null,"Name":"n"` are lists. `stop_sep` is the separator that marks a next key.
# Runs of ordinary characters are matched possessively (`++`): `(?:a|b)+` one character at a
# time keeps a backtracking entry per character in Python's re (a 1 MB value cost 300 MB).
def _value(stop_sep: bytes) -> bytes:
    plain = rb"[^\s\"'\\,;&})\]<>]"
    return (
        rb"(?:\\\"(?P<v1>(?:[^\\\n]++|\\(?!\"))*)\\\""
        rb"|\"(?P<v2>(?:[^\"\\\n]++|\\.)*)\""
        rb"|'(?P<v3>[^'\n]*)'"
        rb"|(?P<v4>(?![{\[])(?:" + plain + rb"++"
        + rb"|[,;&](?![\s,;&]|$|[\"']?[A-Za-z_][\w.-]{0,80}[\"']?[ \t]*" + stop_sep
        + rb"|\"[^\"\n]{0,80}\"[ \t]*" + stop_sep + rb")"   # any quoted JSON key, "" too
        + rb"|[)\]}\"'](?=" + plain + rb"))+))"
    )


_KV = re.compile(
    rb"(?<![\w.-])(?P<key>[A-Za-z_][\w.-]{0,80}?)(?P<kq>\\?[\"'])?[ \t]*(?P<sep>=|(?P<colon>:))[ \t]*"
    + _value(rb"(?(colon)[=:]|=)")
)
_FLAG = re.compile(rb"(?<![\w-])--(?P<key>[A-Za-z][\w-]{0,80})(?:=|[ \t]+(?!-))" + _value(rb"="))
_FLAG1 = re.compile(rb"(?<![\w-])-(?P<key>[A-Za-z][\w.-]{0,80})=" + _value(rb"="))
_LINE_KV = re.compile(
    rb"^[ \t]*(?:- )?(?P<key>[A-Za-z_][\w.-]{0,80})[ \t]*[:=][ \t]*(?P<value>[^\s\"'{\[<][^\r\n]*?)[ \t]*(?:\r)?$"
)
# `key = ["a", "b"]` (TOML, YAML flow): a secret key's quoted items, one by one
_LINE_KV_LIST = re.compile(rb"^[ \t]*(?:- )?(?P<key>[A-Za-z_][\w.-]{0,80})[ \t]*[:=][ \t]*\[(?P<items>[^\[\]\n]*)\][ \t\r]*$")
_LIST_ITEM = re.compile(rb"\"(?P<v2>(?:[^\"\\\n]|\\.)*)\"|'(?P<v3>[^'\n]*)'")
_LONE_FLAG = re.compile(rb"^[ \t]*--(?P<key>[A-Za-z][\w-]{0,80})[ \t\r]*$")
# The key (or --flag) that leads a line, and its value on that line if any: the lines a
# `sibling_lines` rule looks at (`username: x` above `password: y`, argv one word a line).
_LEAD_KEY = re.compile(
    rb"^[ \t]*(?:--?(?P<flag>[A-Za-z][\w-]{0,80})(?:=|[ \t]+|[ \t\r]*$)"
    rb"|(?:- )?[\"']?(?P<key>[A-Za-z_][\w.-]{0,80}?)[\"']?[ \t]*[:=][ \t]*)"
    rb"[\"']?(?P<value>[^\s\"',;\\]*)"
)
_PLACEHOLDER = re.compile(rb"<redacted:[^>\n]*>")
_LINE_FLAGS = re.compile(rb"(?<![\w-])--([A-Za-z][\w-]{0,80})")
# PuTTY .ppk: the private part is "Private-Lines: N" and the N lines after it, then a MAC.
_PPK_BEGIN = re.compile(rb"PuTTY-User-Key-File-\d+:", re.I)
_PPK_PRIVATE = re.compile(rb"Private-Lines:[ \t]*(\d{1,4})", re.I)
_PPK_MAC = re.compile(rb"(?i)(Private-(?:MAC|Hash):[ \t]*)([0-9a-f]{16,})")
_PPK_HEADER = re.compile(rb"^[^:]{0,200}?[A-Za-z0-9-]+:[ \t]*\S|^[ \t]*[A-Za-z0-9+/=]+[ \t\r]*$")
_LINE_KEYS = re.compile(rb"(?<![\w.-])([A-Za-z_][\w.-]{0,80}?)\\?[\"']?[ \t]*[:=]")
_SKIP_VALUES = {
    b"", b"true", b"false", b"yes", b"no", b"on", b"off", b"null", b"none", b"nil", b"<nil>",
    b"[]", b"{}", b"bearer", b"basic", b"token", b"digest", b"negotiate", b"redacted", b"<redacted>", b"-", b"required", b"optional",
    b"string", b"str", b"bool", b"int", b"|", b">", b"|-", b">-", b"|+", b">+",
}
# `$VAR`, `${VAR}`, `$(cmd)` refer to a value elsewhere; a crypt(3) hash ($6$salt$..., $y$..., $2b$...)
# starts with "$" too and is a secret
# `kubectl describe secret` prints each key's size (`token:  912 bytes`), and documentation a
# scheme before a placeholder (`Authorization: Bearer <token>`)
_MASK_ONLY = re.compile(rb"^(?:\*+|x+|X+|\.+|#+|<[\w -]+>|\{\{.*\}\}|\$(?![0-9a-z]{1,12}\$).*|%[\w(].*"
                        rb"|\d+ bytes|(?i:bearer|basic|token|digest)[ \t]+<[\w -]+>)$")
# Items that are logs (by path): a line there is an event, not a setting. Elsewhere (configuration
# files, command outputs, shell history) a line of two words `KEY VALUE` is a setting
# (keepalived `auth_pass X`, nslcd `bindpw X`, fluent-bit `HTTP_Passwd X`), and the words of
# secret key names only configuration files hold (rules.CONFIG_KEY_WORDS) are scanned for too.
_LOG_PATH = re.compile(r"(?:^|/)(?:logs?|journal)/|\.(?:log|jsonl|ndjson)(?:[.-][\w.-]*)?$"
                       r"|(?:^|/)(?:messages|syslog|kern\.log|daemon\.log|auth\.log|secure)(?:[.-][\w.-]*)?$", re.I)
_LINE_SPACED = re.compile(
    rb"^[ \t]*(?P<key>[A-Za-z_][\w.-]{0,80})[ \t]+(?:\"(?P<v2>[^\"\n]*)\"|'(?P<v3>[^'\n]*)'|(?P<v4>[^\s\"'=:][^\s]*))[ \t]*\r?$")
_PROSE_VALUE = re.compile(rb"[a-z]{1,20}[.!]?")
# <password>SECRET</password> (Maven settings.xml, Windows unattend.xml, Tomcat users): the
# element's name is the key
_XML_ELEM = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,40}:)?(?P<key>[A-Za-z_][\w.-]{0,80})(?:[ \t][^<>\n]*)?>"
                       rb"(?P<value>[^<>\n]{1,4096})</(?:[A-Za-z_][\w.-]{0,40}:)?(?P=key)[ \t]*>")


def is_log_path(path: str) -> bool:
    """Whether a bundle item is a log (by its path), where `KEY VALUE` lines are prose."""
    return bool(_LOG_PATH.search(path.replace("\\", "/")))


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




class _ScanPlan:
    """The words and regexes whose hits make a line a candidate, for one rule set."""

    def __init__(self, rs: Any, config: bool = False) -> None:
        # configuration items: the words of config-only key names and the config_only rules too
        words: set[bytes] = set(rs.key_words) | {b"private key"} | set(CONFIG_KEY_WORDS if config else ())
        if rs.b64doc_rule is not None:
            words.update(rs.b64doc_rule.prefilter)
        always = False
        self.rules = [r for r in rs.text_rules if config or not r.config_only]
        for r in self.rules:
            if r.prefilter:
                words.update(r.prefilter)
            elif r.prefilter_regex is None:
                always = True  # a custom regex with no prefilter: every line is a candidate
        if b"" in words:
            always = True
        words.discard(b"")
        self.always = always
        # A word containing another one is redundant for finding candidate lines (each word is
        # one full scan of the block, the main cost on clean logs).
        self.words = sorted(w for w in words if not any(o != w and o in w for o in words))
        # Measured on node logs: for short words re's literal search (which skips ahead on the
        # first byte) beats bytes.find by up to 2x; for long ones bytes.find is as fast or faster.
        self.long_words = [w for w in self.words if len(w) >= SHORT_WORD]
        # re's literal search stops at every occurrence of a word's first character: "e", the most
        # frequent letter in logs, is left off a short word's front when 2+ characters remain
        # ("eyj" is searched as "yj": 29 ms against 55 ms per 100 MB; a line with "yj" but no
        # "eyj" is a candidate no rule takes)
        self.short_word_searches = [re.compile(re.escape(w[1:] if w[:1] == b"e" and len(w) >= 3 else w)).search
                                    for w in self.words if len(w) < SHORT_WORD]
        # Rules may share a prefilter regex (YAML anchors): each distinct one scans a block once.
        unique = {r.prefilter_regex.pattern: r.prefilter_regex for r in self.rules if r.prefilter_regex is not None}
        self.prefilter_regexes = list(unique.values())
        # Rules that keep running on a few lines after their prefilter matched (context_lines),
        # and key rules whose sibling may sit on a nearby line (sibling_lines).
        self.sibling_rules = [r for r in rs.key_rules if r.sibling_lines and r.with_sibling is not None and r.text]
        self.sibling_window = max((r.sibling_lines for r in self.sibling_rules), default=0)
        # The built-in username rule names users and logins; a custom one may name anything, so
        # the last lines of every block are held back then.
        self.hold_always = any(r.custom for r in self.sibling_rules)


class LineRedactor:
    """Redacts one item's text. Feed blocks of complete lines; call finish() at the end."""

    def __init__(self, job: "Job") -> None:
        self.job = job
        rs = job.ruleset
        # What to scan for is the same for every item of a rule set: worked out once (an item
        # may start hundreds of nested redactors: documents decoded from base64)
        self.config = not is_log_path(job.path)
        plans = rs.scan_plan
        if plans is None:
            plans = rs.scan_plan = {}
        plan = plans.get(self.config)
        if plan is None:
            plan = plans[self.config] = _ScanPlan(rs, self.config)
        self.rules = plan.rules
        self.words = plan.words
        self.long_words = plan.long_words
        self.short_word_searches = plan.short_word_searches
        self.prefilter_regexes = plan.prefilter_regexes
        self.armed: dict[str, int] = {}
        self.sibling_rules = plan.sibling_rules
        self.sibling_window = plan.sibling_window
        self.hold_always = plan.hold_always
        always = plan.always
        self.user_after: tuple["Rule", int] | None = None   # a password line was seen: (rule, lines left)
        self.user_value_next: "Rule | None" = None         # a lone --username flag: its value is next
        self.sibling_hit: "Rule | None" = None              # set by redact_line for feed()
        self.carry = b""   # the last lines of the previous block, held while a sibling may follow
        self.ppk: int | None = None   # None: not in a .ppk; -1: header; n > 0: private lines left
        self.ppk_header = 0
        self.ppk_taken = 0
        self.ppk_hmac: Any = None
        self.always = always
        self.key_words = tuple(w for w in rs.key_words if w) + (CONFIG_KEY_WORDS if self.config else ())
        self.b64doc = rs.b64doc_rule is not None
        # cross-line state
        self.in_pem = False
        self.pem_lines = 0
        self.pem_hmac: Any = None
        self.pending_flag: "Rule | None" = None
        self.block: tuple[int, "Rule"] | None = None  # `password: |` seen: (indent, rule)
        self.line_no = 0  # 1-based number of the last line handled (for verify hits)
        # CRI partial runs: output slots in input order (None: held), the open run per stream
        # (slot numbers, heads, texts), bytes held, and the line ending of the last held line
        self.cri_slots: list[bytes | None] = []
        self.cri_runs: dict[bytes, tuple[list[int], list[bytes], list[bytes]]] = {}
        self.cri_bytes = 0
        self.cri_pending = 0
        self.eol = b"\n"

    @property
    def sticky(self) -> bool:
        return (self.in_pem or self.pending_flag is not None or self.block is not None or bool(self.armed)
                or self.user_after is not None or self.user_value_next is not None or self.ppk is not None
                or bool(self.cri_slots))

    # -- block level -------------------------------------------------------------------------
    def feed(self, block: bytes) -> bytes:
        """Redact a block of complete lines (the last line may lack its newline only at EOF)."""
        if not block:
            return block
        starts = self._candidate_starts(block)
        if not starts and not self.sticky:
            if self.job.detect:
                self.line_no += block.count(b"\n")
            if not self.sibling_window:
                return block
            out = [self.carry, block] if self.carry else [block]
            self.carry = b""
            return self._hold_tail(out)
        out: list[bytes] = [self.carry] if self.carry else []
        self.carry = b""
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
            self.eol = line[len(body):]
            new = self.redact_line(body)
            if self.sibling_hit is not None:
                self._siblings_above(out, self.sibling_hit)
                self.sibling_hit = None
            if new is not None:
                out.append(new + line[len(body):])
            if self.armed:
                self.armed = {k: v - 1 for k, v in self.armed.items() if v > 1}
            if self.user_after is not None:
                rule, left = self.user_after
                self.user_after = (rule, left - 1) if left > 1 else None
            cursor = end
        return self._hold_tail(out) if self.sibling_window else b"".join(out)

    def finish(self) -> bytes:
        """End of the item: a private key block left open is still replaced (never emitted)."""
        carry, self.carry = self.carry, b""
        if self.cri_slots:
            for stream in list(self.cri_runs):
                self._cri_close(stream)
            held = b"\n".join(x or b"" for x in self.cri_slots) + self.eol
            self.cri_slots = []
            self.cri_bytes = 0
            carry += held
        if self.in_pem:
            return carry + self._close_pem() + b"\n"
        if self.ppk is not None and self.ppk > 0:
            return carry + self._close_ppk() + b"\n"
        self.pending_flag = None
        self.block = None
        return carry

    # -- a username whose password is on a nearby line ----------------------------------------
    def _hold_tail(self, out: list[bytes]) -> bytes:
        """Join the block's output, holding back its last lines when they name a user: a
        password on the first lines of the next block must still reach them."""
        last = out[-1] if out else b""
        pos = len(last) - 1 if last.endswith(b"\n") else len(last)
        for _ in range(self.sibling_window):
            pos = last.rfind(b"\n", 0, pos)
            if pos == -1:
                break
        if pos != -1 and not self.hold_always:  # usually: look at the last lines without copying
            low = last[pos + 1:].lower()
            if b"user" not in low and b"login" not in low:
                return b"".join(out)
        tail = _pop_tail_lines(out, self.sibling_window)
        low = tail.lower()
        if self.hold_always or b"user" in low or b"login" in low:
            self.carry = tail
        else:
            out.append(tail)
        return b"".join(out)

    def _siblings_above(self, out: list[bytes], rule: "Rule") -> None:
        """A line led by a password key: replace the username on the lines just above it."""
        tail = _pop_tail_lines(out, rule.sibling_lines)
        if not tail:
            return
        lines = tail.split(b"\n")
        for i, line in enumerate(lines):
            if b"--" in line:  # `cmd --username x \` continued by `--password y`
                lines[i] = line = self._user_flags(rule, line)
            m = _LEAD_KEY.match(line)
            if m is None or not rule.key_matches((m.group("flag") or m.group("key")).decode("latin-1")):
                continue
            if m.group("value"):
                lines[i] = self._replace_span(rule, line, m.span("value"))
            elif line.lstrip().startswith(b"-") and i + 1 < len(lines) and lines[i + 1].strip():
                nxt = lines[i + 1]
                lead = len(nxt) - len(nxt.lstrip())
                lines[i + 1] = self._replace_span(rule, nxt, (lead, len(nxt.rstrip())))
        out.append(b"\n".join(lines))

    def _user_flags(self, rule: "Rule", line: bytes) -> bytes:
        def cb(m: re.Match[bytes]) -> bytes:
            if not rule.key_matches(m.group("key").decode("latin-1")):
                return m.group(0)
            for g in ("v1", "v2", "v3", "v4"):
                if m.group(g) is not None:
                    s, e = m.span(g)
                    base = m.start()
                    return m.group(0)[: s - base] + self._replace_span(rule, m.group(g), (0, e - s)) + m.group(0)[e - base:]
            return m.group(0)

        return _FLAG.sub(cb, line)

    def _replace_span(self, rule: "Rule", line: bytes, span: tuple[int, int]) -> bytes:
        s, e = span
        value = line[s:e]
        if skip_value(value) or value.startswith(b"-"):
            return line
        return line[:s] + self.job.replace(rule, value, self.line_no) + line[e:]

    def _sibling_line(self, line: bytes) -> bytes:
        """Track password lines for sibling_lines rules; redact a username after a password."""
        if self.user_after is not None and b"--" in line:
            line = self._user_flags(self.user_after[0], line)
        m = _LEAD_KEY.match(line)
        if m is None:
            return line
        key = (m.group("flag") or m.group("key")).decode("latin-1")
        if self.user_after is not None:
            rule = self.user_after[0]
            if rule.key_matches(key):
                if m.group("value"):
                    return self._replace_span(rule, line, m.span("value"))
                if line.lstrip().startswith(b"-"):
                    self.user_value_next = rule
                return line
        for rule in self.sibling_rules:
            assert rule.with_sibling is not None
            if rule.with_sibling.fullmatch(key):
                self.sibling_hit = rule
                self.user_after = (rule, rule.sibling_lines + 1)
                break
        return line

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
        for word in self.long_words:
            pos = low.find(word)
            while pos != -1:
                ls = low.rfind(b"\n", 0, pos) + 1
                found.add(ls)
                le = low.find(b"\n", pos)
                if le == -1:
                    break
                pos = low.find(word, le + 1)
        for search in self.short_word_searches:
            m = search(low)
            while m is not None:
                pos = m.start()
                found.add(low.rfind(b"\n", 0, pos) + 1)
                le = low.find(b"\n", pos)
                if le == -1:
                    break
                m = search(low, le + 1)
        for rx in self.prefilter_regexes:
            # one hit a line is enough: on to the next line (a long line holding thousands of hits
            # cost a look back to its start for each)
            m = rx.search(block)
            while m is not None:
                pos = m.start()
                found.add(block.rfind(b"\n", 0, pos) + 1)
                le = block.find(b"\n", pos)
                if le == -1:
                    break
                m = rx.search(block, le + 1)
        return sorted(found)

    # -- CRI partial lines ---------------------------------------------------------------------
    def _cri_line(self, line: bytes, m: "re.Match[bytes] | None") -> bytes | None:
        """A line while a CRI run is open (or the P line that opens one): held until every held
        line is complete, then all of them are returned (None while some are held)."""
        if m is None:  # not a CRI line: the open runs end here
            for stream in list(self.cri_runs):
                self._cri_close(stream)
            own = self._redact_line(line)
            held = [x or b"" for x in self.cri_slots]
            self.cri_slots = []
            self.cri_bytes = 0
            return b"\n".join(held + [own]) if own is not None else b"\n".join(held)
        stream, tag = m.group("stream"), m.group("tag")
        run = self.cri_runs.get(stream)
        self.cri_bytes += len(line)
        if run is None and tag == b"F":
            # a complete line of its own (the other stream's): the rules only if it is a candidate
            # (or a state from earlier lines wants every line)
            busy = (self.in_pem or self.pending_flag is not None or self.block is not None or bool(self.armed)
                    or self.user_after is not None or self.user_value_next is not None or self.ppk is not None)
            self.cri_slots.append((self._redact_line(line) or b"") if busy or self._candidate_starts(line) else line)
        else:
            if run is None:
                run = self.cri_runs[stream] = ([], [], [])
            run[0].append(len(self.cri_slots))
            run[1].append(line[: m.end()])
            run[2].append(line[m.end():])
            self.cri_slots.append(None)
            self.cri_pending += 1
            if tag == b"F":
                self._cri_close(stream)
        # the cap counts every line held, the other stream's too: a run left open while the
        # other stream writes on cannot hold the log
        if len(self.cri_slots) >= CRI_RUN_MAX_LINES or self.cri_bytes > CRI_RUN_MAX_BYTES:
            for open_stream in list(self.cri_runs):
                self._cri_close(open_stream)
        if self.cri_pending:
            return None
        out = b"\n".join(x for x in self.cri_slots if x is not None)
        self.cri_slots = []
        self.cri_bytes = 0
        return out

    def _cri_close(self, stream: bytes) -> None:
        slots, heads, texts = self.cri_runs.pop(stream)
        for slot, head, text in zip(slots, heads, self._cri_join(texts)):
            self.cri_slots[slot] = head + text
        self.cri_pending -= len(slots)

    def _cri_join(self, texts: list[bytes]) -> list[bytes]:
        """The texts of one run redacted as one line, cut back where they were cut. Every value
        replaced is found in the joined text and each piece loses its share of it (the first
        piece gets the placeholder); if that does not give the redacted line exactly, the whole
        redacted text goes to the first line and the others keep only their CRI prefix."""
        joined = b"".join(texts)
        captured: list[tuple[bytes, bytes]] = []
        self.job.capture = captured
        try:
            new = self._redact_line(joined)
        finally:
            self.job.capture = None
        new = new if new is not None else b""
        if new == joined:
            return texts
        spans: list[tuple[int, int, bytes]] = []
        for value, placeholder in dict(captured).items():   # a value repeated on the run: once
            pos = joined.find(value) if value else -1
            while pos != -1:
                spans.append((pos, pos + len(value), placeholder))
                pos = joined.find(value, pos + len(value))
        spans.sort()
        kept: list[tuple[int, int, bytes]] = []
        for span in spans:
            if not kept or span[0] >= kept[-1][1]:
                kept.append(span)
        rebuilt, cursor = [], 0
        for s, e, ph in kept:
            rebuilt += [joined[cursor:s], ph]
            cursor = e
        if b"".join(rebuilt) + joined[cursor:] != new:
            return [new] + [b""] * (len(texts) - 1)
        pieces, start = [], 0
        for text in texts:
            end = start + len(text)
            out, cursor = [], start
            for s, e, ph in kept:
                if e <= start or s >= end:
                    continue
                out.append(joined[cursor:max(s, start)])
                if s >= start:
                    out.append(ph)
                cursor = min(e, end)
            out.append(joined[cursor:end])
            pieces.append(b"".join(out))
            start = end
        return pieces

    # -- line level ---------------------------------------------------------------------------
    def redact_line(self, line: bytes) -> bytes | None:
        """Redact one line (no newline). None holds or drops the line (a CRI run, a private key)."""
        if self.cri_slots or (b" P " in line and not self.in_pem):
            m = _CRI.match(line)
            if self.cri_slots or (m is not None and m.group("tag") == b"P"):
                return self._cri_line(line, m)
        return self._redact_line(line)

    def _redact_line(self, line: bytes) -> bytes | None:
        if self.in_pem:
            return self._pem_continue(line)
        if self.ppk is not None:
            done = self._ppk_line(line)
            if done is not True:
                return done
        if self.user_value_next is not None:
            rule, self.user_value_next = self.user_value_next, None
            lead = len(line) - len(line.lstrip())
            if line.strip():
                return self._replace_span(rule, line, (lead, len(line.rstrip())))
        if self.block is not None:
            indent, rule = self.block
            content = line.strip()
            if not content:
                return line
            lead = len(line) - len(line.lstrip())
            if lead <= indent:
                self.block = None
            elif not skip_value(content) and rule.accepts(content):
                return line[:lead] + self.job.replace(rule, content, self.line_no) + line[len(line.rstrip()):]
            # else a line the rule keeps (a placeholder, a PEM header): the other rules decide
        if self.pending_flag is not None:
            rule = self.pending_flag
            self.pending_flag = None
            value = line.strip()
            if value and not value.startswith(b"-") and not skip_value(value) and rule.accepts(value):
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
        if self.b64doc and len(line) >= 40:
            line = _B64_RUN.sub(self._b64_callback, line)
        if b"putty-user-key-file-" in low and self.job.ruleset.ppk_rule is not None and _PPK_BEGIN.search(line):
            self.ppk = -1
            self.ppk_header = 0
        for rule in self.rules:
            if (rule.prefilter and not any(w in low for w in rule.prefilter)) or \
                    (rule.prefilter_regex is not None and not rule.prefilter_regex.search(line)):
                if not self.armed or rule.id not in self.armed:
                    continue
            elif rule.context_lines:
                self.armed[rule.id] = rule.context_lines + 1  # this line and the next N
            line = rule.regex.sub(self._regex_callback(rule), line)  # type: ignore[union-attr]
        if any(w in low for w in self.key_words):
            line = self._key_values(line)
        if self.sibling_rules:
            line = self._sibling_line(line)
        return line

    def _b64_callback(self, m: re.Match[bytes]) -> bytes:
        new = redact_base64_document(self.job, m.group(0), self.line_no)
        return m.group(0) if new is None else new

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
                # a placeholder names its kind (`<redacted:password:...>`), not a key on the line
                keyed = _PLACEHOLDER.sub(b"", line) if b"<redacted:" in line else line
                line_keys = [k.decode("latin-1") for k in _LINE_KEYS.findall(keyed)]
                if b"--" in line:  # `--username x --password y`
                    line_keys += [k.decode("latin-1") for k in _LINE_FLAGS.findall(line)]
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
            if skip_value(v) or not rule.accepts(v):
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
            if m.start() == lead_key:
                return m.group(0)  # the key leading the line, already decided on its whole value
            key = m.group("key").decode("latin-1")
            rule = rs.classify_key(key, structured=False, sibling=sibling)
            span = value_span(m)
            if rule is None or span is None:
                return inner(m, span)
            s, e, v = span
            if skip_value(v) or not rule.accepts(v):
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

        lead_key = -1
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
                if skip_value(value) or value.startswith((b"&", b"*", b"!")):
                    lead_key = whole_line.start("key")   # `token:  912 bytes`: not word by word either
                elif rule.accepts(value):
                    s, e = whole_line.span("value")
                    return line[:s] + job.replace(rule, value, self.line_no) + line[e:]
                elif rule.validate is not None:
                    # a value the rule's check keeps (prose after `auth:`, etcd's `auth-token:
                    # simple`): not taken word by word below either
                    lead_key = whole_line.start("key")
        listed = _LINE_KV_LIST.match(line) if whole_line is None and b"[" in line else None
        if listed is not None:
            rule = rs.classify_key(listed.group("key").decode("latin-1"), structured=False, sibling=sibling)
            if rule is not None and rule.action != "cert-metadata":
                def item_cb(m: re.Match[bytes]) -> bytes:
                    g = "v2" if m.group("v2") is not None else "v3"
                    v = m.group(g)
                    if skip_value(v) or not rule.accepts(v):
                        return m.group(0)
                    s, e = m.span(g)
                    return m.group(0)[: s - m.start()] + job.replace(rule, v, self.line_no) + m.group(0)[e - m.start():]

                s, e = listed.span("items")
                return line[:s] + _LIST_ITEM.sub(item_cb, line[s:e]) + line[e:]
        if whole_line is None and listed is None and self.config:
            spaced = _LINE_SPACED.match(line)
            if spaced is not None:
                rule = rs.classify_key(spaced.group("key").decode("latin-1"), structured=False, sibling=sibling)
                g = next(g for g in ("v2", "v3", "v4") if spaced.group(g) is not None)
                if rule is not None and rule.action != "cert-metadata":
                    (s, e), v = spaced.span(g), spaced.group(g)
                    # a lower-case word after the key is prose as often as a setting ("token
                    # expired", "Password protection"): kept; a generated value has more to it
                    if not skip_value(v) and not _PROSE_VALUE.fullmatch(v) and rule.accepts(v):
                        return line[:s] + job.replace(rule, v, self.line_no) + line[e:]
                    return line
        if b"</" in line:
            def xml_cb(m: re.Match[bytes]) -> bytes:
                rule = rs.classify_key(m.group("key").decode("latin-1"), structured=False, sibling=sibling)
                v = m.group("value").strip()
                if rule is None or rule.action == "cert-metadata" or skip_value(v) or not rule.accepts(v):
                    return m.group(0)
                s = m.start("value") + m.group("value").find(v) - m.start()
                whole = m.group(0)
                return whole[:s] + job.replace(rule, v, self.line_no) + whole[s + len(v):]

            line = _XML_ELEM.sub(xml_cb, line)
        if b"-" in line:
            # single-dash flags with "=": Go's flag package (flannel `-etcd-password=X`), Java's
            # system properties (`-Djavax.net.ssl.keyStorePassword=X`)
            line = _FLAG1.sub(flag_cb, line)
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
            return out + (self._redact_line(rest) or b"") if rest.strip() else out
        stripped = line.strip()
        token = stripped.rsplit(None, 1)[-1] if stripped else b""
        if not stripped or _PEM_HEADER.match(stripped) or _B64_TOKEN.match(token):
            if self.pem_lines <= PEM_MAX_LINES:
                self.pem_hmac.update(token)
                prefix = stripped[: len(stripped) - len(token)].rstrip()
                return None if not prefix or _PEM_HEADER.match(stripped) else line[: line.find(prefix) + len(prefix)]
        # Not key material any more (a truncated key): close the block, handle the line normally.
        placeholder = self._close_pem()
        rest = self._redact_line(line)
        return placeholder + b"\n" + (rest if rest is not None else b"")

    def _close_pem(self) -> bytes:
        rule = self.job.ruleset.pem_rule
        assert rule is not None
        self.in_pem = False
        digest = self.pem_hmac.hexdigest() if self.pem_hmac is not None else "000000"
        self.pem_hmac = None
        return self.job.replace_digest(rule, digest, self.line_no)

    # -- PuTTY .ppk private keys ----------------------------------------------------------------
    def _ppk_line(self, line: bytes) -> "bytes | None | bool":
        """A line inside a .ppk: True hands it to the normal rules (header lines, public part)."""
        rule = self.job.ruleset.ppk_rule
        assert rule is not None and self.ppk is not None
        if self.ppk > 0:
            stripped = line.strip()
            if not _B64_TOKEN.match(stripped):
                # Not key material (a placeholder when a redacted bundle is verified, or a key
                # cut short): close what was taken, then handle the line as a header line.
                swallowed = self.ppk_taken
                placeholder = self._close_ppk() if swallowed else b""
                self.ppk = -1
                rest = self._redact_line(line)  # the header check, then every other rule
                return placeholder + b"\n" + (rest or b"") if swallowed else rest
            self.ppk_hmac.update(stripped)
            self.ppk_taken += 1
            self.ppk -= 1
            return self._close_ppk() if self.ppk == 0 else None
        mac = _PPK_MAC.search(line)
        if mac is not None:
            self.ppk = None
            return line[: mac.start(2)] + self.job.replace(rule, mac.group(2), self.line_no) + line[mac.end(2):]
        private = _PPK_PRIVATE.search(line)
        if private is not None:
            count = int(private.group(1))
            if count:
                self.ppk = count
                self.ppk_taken = 0
                self.ppk_hmac = self.job.hasher()
            return line
        self.ppk_header += 1
        if self.ppk_header > 64 or not _PPK_HEADER.match(line):
            self.ppk = None  # not a .ppk after all (or one cut short): back to normal lines
        return True

    def _close_ppk(self) -> bytes:
        rule = self.job.ruleset.ppk_rule
        assert rule is not None
        self.ppk = -1  # the Private-MAC line follows
        digest = self.ppk_hmac.hexdigest() if self.ppk_hmac is not None else "000000"
        self.ppk_hmac = None
        return self.job.replace_digest(rule, digest, self.line_no)


def _pop_tail_lines(out: list[bytes], count: int) -> bytes:
    """Remove and return the last `count` complete lines held in `out` (pieces of output that
    end with a newline). Only the piece holding the cut is split, so a large block is not copied
    line by line."""
    taken: list[bytes] = []
    found = 0
    first = True
    while out and found <= count:
        piece = out.pop()
        pos = len(piece)
        if first and piece.endswith(b"\n"):
            pos -= 1  # the newline that ends the last line does not start one
            found = 1
        first = False
        while found <= count:
            pos = piece.rfind(b"\n", 0, pos)
            if pos == -1:
                break
            found += 1
        if pos != -1 and found > count:
            out.append(piece[: pos + 1])
            taken.append(piece[pos + 1:])
            break
        taken.append(piece)
    return b"".join(reversed(taken))
