"""The Redactor: one per collection (or `redact` run); redact_stream() for every item."""
from __future__ import annotations

import codecs
import hashlib
import hmac
import os
import posixpath
import re
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from k8s_bundle.redact.compressed import compression, inflate
from k8s_bundle.redact.obfuscate import Obfuscator, parse_categories
from k8s_bundle.redact.rules import Rule, RuleSet, build_ruleset, load_custom
from k8s_bundle.redact.structured import StructuredRedactor
from k8s_bundle.redact.text import LineRedactor


class RedactionError(Exception):
    """The content cannot be redacted safely; the caller must drop it (fail closed)."""


# Structured files are buffered whole (they are small); past this they stream as text.
STRUCTURED_MAX = 16 * 1024 * 1024
# A "line" longer than this is processed in pieces rather than held without bound.
MAX_LINE = 8 * 1024 * 1024
# Text is scanned in blocks of whole lines of at least this size.
BLOCK = 256 * 1024
SNIFF_BYTES = 4096

_STRUCT_EXT = {
    ".json": "json", ".yaml": "yaml", ".yml": "yaml", ".kubeconfig": "yaml",
    ".toml": "ini", ".ini": "ini", ".cfg": "ini", ".properties": "ini", ".env": "ini",
    ".conf": "auto", ".config": "auto",
}
_YAML_NAMES = {"config", "kubeconfig", "kubelet.conf", "admin.conf", "k3s.yaml", "rke2.yaml"}
_YAML_SNIFF = re.compile(rb"^(apiVersion|kind|clusters|users|contexts|current-context):", re.M)
_INI_SNIFF = re.compile(rb"^[ \t]*\[[^\]\n]+\][ \t]*\r?$", re.M)
_ONLY_PLACEHOLDERS = re.compile(rb"^\s*(?:<redacted:[^>\n]*>\s*)*$")
_FIRST_LINE_YAML = re.compile(rb"^(---|[\w\"'.-][\w\"' ./-]*:([ \t]|\r?$)|- )")


@dataclass(frozen=True)
class Hit:
    """A secret-looking value found by verify: never the value, only where and what."""

    path: str
    line: int
    kind: str
    rule: str
    fragment: str


def _mask(value: bytes | None) -> str:
    if not value:
        return "***"
    # Only the length: verify's output lands in terminals and CI logs, so not one character
    # of the value is shown.
    return f"***({len(value.decode('utf-8', 'replace'))} chars)"


class Job:
    """Per-item state: counts per rule, and in verify mode the hits."""

    def __init__(self, redactor: "Redactor", path: str, detect: bool = False) -> None:
        self.redactor = redactor
        self.ruleset: RuleSet = redactor.ruleset
        self.path = path
        self.detect = detect
        self.counts: Counter[str] = Counter()
        self.hits: list[tuple[int, Rule, bytes | None]] = []
        self.line = 0
        # (value, placeholder) of each replacement while set (a CRI run maps them back to its lines)
        self.capture: list[tuple[bytes, bytes]] | None = None
        self.depth = 0   # documents decoded from base64 inside this item, one in another
        self.b64_docs = 0   # documents decoded from base64 in this item, and their bytes
        self.b64_bytes = 0

    def hasher(self) -> Any:
        return hmac.new(self.redactor._key, digestmod=hashlib.sha256)

    def replace(self, rule: Rule, value: bytes, line_no: int) -> bytes:
        norm = value.strip().strip(b"\"'")
        digest = hmac.new(self.redactor._key, norm, hashlib.sha256).hexdigest()
        placeholder = self.replace_digest(rule, digest, line_no, norm)
        if self.capture is not None:
            self.capture.append((value, placeholder))
        return placeholder

    def replace_digest(self, rule: Rule, digest: str, line_no: int, value: bytes | None = None) -> bytes:
        self.counts[rule.id] += 1
        if self.detect:
            self.hits.append((line_no, rule, value))
        return f"<redacted:{rule.kind}:{digest[:6]}>".encode()

    def count(self, rule: Rule) -> None:
        self.counts[rule.id] += 1

    def redact_document(self, data: bytes, line_no: int) -> bytes:
        """A document found inside a value (base64-decoded): redacted as a file of its own would
        be (structure by content, then the text rules); its hits count on the outer line."""
        first = len(self.hits)
        self.depth += 1
        try:
            out = self.redactor._structured(self, "auto", data)
        finally:
            self.depth -= 1
        if self.detect and len(self.hits) > first:
            self.hits[first:] = [(line_no, rule, value) for _, rule, value in self.hits[first:]]
        return out

    def redact_text(self, text: str) -> str:
        lr = LineRedactor(self)
        data = text.encode("utf-8", "surrogatepass")
        out = lr.feed(data) + lr.finish()
        return out.decode("utf-8", "surrogatepass") if out != data else text


class Redactor:
    """Redacts every item of one collection; see docs/redaction.md.

    custom_rules: None, a path to a rule YAML file, or its parsed content.
    obfuscate: categories among hostnames, ips, macs, usernames (off by default).
    obfuscation_map: a previous map (dict) whose key and names are reused for consistency.
    """

    def __init__(self, custom_rules: Any = None, obfuscate: frozenset[str] | Iterable[str] = frozenset(),
                 obfuscation_map: dict[str, Any] | None = None) -> None:
        self.ruleset = build_ruleset(load_custom(custom_rules))
        # The placeholder key is random per Redactor and never stored anywhere.
        self._key = os.urandom(32)
        self._lock = threading.Lock()
        self._by_file: dict[str, Counter[str]] = {}
        self._dropped: list[dict[str, str]] = []
        categories = parse_categories(obfuscate) if obfuscate else frozenset()
        self.obfuscator: Obfuscator | None = None
        if categories:
            self.obfuscator = Obfuscator(categories, previous=obfuscation_map)
            self.obfuscator.add_local_identity()

    # -- public interface (docs/architecture.md) ------------------------------------------------
    def redact_stream(self, path: str, chunks: Iterable[bytes]) -> Iterator[bytes]:
        job = Job(self, path)
        try:
            for out in self._run(job, chunks):
                if out:
                    yield out
        except RedactionError as exc:
            self._drop(path, str(exc))
            raise
        except Exception as exc:  # noqa: BLE001 - fail closed: any bug drops the item
            self._drop(path, f"redaction error: {type(exc).__name__}")
            # The message names the exception type only: its text could quote the content.
            raise RedactionError(f"{path}: cannot be redacted safely ({type(exc).__name__})") from exc
        with self._lock:
            self._by_file.setdefault(path, Counter()).update(job.counts)

    def redact_bytes(self, path: str, data: bytes) -> bytes:
        """Convenience for small items: the whole redacted content."""
        return b"".join(self.redact_stream(path, [data]))

    def redact_text(self, text: str, path: str = "manifest.json") -> str:
        """Short text stored outside a member's content (a command's stderr in the manifest's
        `error`, a `source` string): the same rules, counted under `path`. Never raises: text
        that cannot be redacted is replaced whole."""
        try:
            return self.redact_bytes(f"{path}#text", text.encode("utf-8", "surrogatepass")).decode("utf-8", "replace")
        except RedactionError:
            return "<redacted:unredactable-text>"

    def count_for(self, path: str) -> int:
        with self._lock:
            return sum(self._by_file.get(path, Counter()).values())

    def report(self) -> dict[str, Any]:
        with self._lock:
            by_rule: Counter[str] = Counter()
            for counts in self._by_file.values():
                by_rule.update(counts)
            return {
                "version": 1,
                "placeholders": "keyed-hash",
                "obfuscation": sorted(self.obfuscator.categories) if self.obfuscator else [],
                "total": sum(by_rule.values()),
                "by_rule": dict(sorted(by_rule.items())),
                "by_file": {p: dict(sorted(c.items())) for p, c in sorted(self._by_file.items()) if c},
                "dropped": list(self._dropped),
            }

    def obfuscation_map(self) -> dict[str, Any]:
        return self.obfuscator.mapping() if self.obfuscator else {}

    def obfuscate_path(self, path: str) -> str:
        """A bundle member path with host and user names obfuscated (node directories)."""
        return self.obfuscator.apply_text(path) if self.obfuscator else path

    def add_hostnames(self, names: Iterable[str]) -> None:
        if self.obfuscator and "hostnames" in self.obfuscator.categories:
            self.obfuscator.add_hostnames(names)

    def add_usernames(self, names: Iterable[str]) -> None:
        if self.obfuscator and "usernames" in self.obfuscator.categories:
            self.obfuscator.add_usernames(names)

    def record_dropped(self, path: str, reason: str) -> None:
        self._drop(path, reason)

    def scan(self, path: str, chunks: Iterable[bytes]) -> list[Hit]:
        """verify: the secret-looking values the detectors still find (output discarded)."""
        job = Job(self, path, detect=True)
        raw: list[bytes] = []
        for _ in self._run(job, chunks, keep_input=raw):
            pass
        data = b"".join(raw)
        hits = []
        for line, rule, value in job.hits:
            if line <= 0 and value:
                pos = data.find(value)
                line = data.count(b"\n", 0, pos) + 1 if pos >= 0 else 0
            hits.append(Hit(path, line, rule.kind, rule.id, _mask(value)))
        return hits

    # -- internals ------------------------------------------------------------------------------
    def _drop(self, path: str, reason: str) -> None:
        with self._lock:
            self._dropped.append({"path": path, "reason": reason})
            self._by_file.pop(path, None)

    def _obf(self, data: bytes) -> bytes:
        return self.obfuscator.apply(data) if self.obfuscator else data

    def _run(self, job: Job, chunks: Iterable[bytes], keep_input: list[bytes] | None = None) -> Iterator[bytes]:
        path = job.path
        it = iter(chunks)
        file_rule = self.ruleset.file_rule(path)
        if file_rule is not None:
            h = job.hasher()
            size = 0
            head = b""
            for c in it:
                h.update(c)
                size += len(c)
                if len(head) < SNIFF_BYTES:
                    head += c[:SNIFF_BYTES]
                if keep_input is not None:
                    keep_input.append(c)
            if size and not (job.detect and size <= SNIFF_BYTES and _ONLY_PLACEHOLDERS.match(head)):
                yield job.replace_digest(file_rule, h.hexdigest(), 1) + b"\n"
            return
        head = b""
        for c in it:
            head += c
            if len(head) >= SNIFF_BYTES:
                break
        codec = compression(head)
        if codec is not None:
            yield from self._compressed(job, codec, _chain([head], it), keep_input)
            return
        stream = _decoded(head, it)
        if keep_input is not None:
            stream = _tee(stream, keep_input)
        first = next(stream, b"")
        kind = _structured_kind(path, first)
        if kind is not None:
            buf = [first]
            size = len(first)
            complete = True
            for c in stream:
                buf.append(c)
                size += len(c)
                if size > STRUCTURED_MAX:
                    complete = False
                    break
            data = b"".join(buf)
            if complete:
                yield self._obf(self._structured(job, kind, data))
                return
            stream = _chain([data], stream)
        else:
            stream = _chain([first], stream)
        yield from self._stream_text(job, stream)

    def _compressed(self, job: Job, codec: str, stream: Iterator[bytes],
                    keep_input: list[bytes] | None) -> Iterator[bytes]:
        """A rotated log (gzip, bzip2, xz): decompress, redact as text, compress again.

        Compressed bytes are never passed through: they would carry the secrets unseen.
        Formats without a stdlib decoder (zip, zstd) raise RedactionError (the item is dropped).
        """
        if codec in ("zip", "zstd"):
            raise RedactionError(f"{job.path}: {codec} content cannot be redacted; dropped")
        plain: Iterator[bytes] = _decompress(codec, stream)
        if keep_input is not None:
            plain = _tee(plain, keep_input)
        compressor = _compressor(codec)
        for out in self._stream_text(job, plain):
            data = compressor.compress(out)
            if data:
                yield data
        yield compressor.flush()

    def _stream_text(self, job: Job, stream: Iterator[bytes]) -> Iterator[bytes]:
        """Feed the scanner blocks of whole lines of at least BLOCK bytes: the prefilter costs
        a few scans per block, so tiny chunks from a pipe are gathered first (in a list, so a
        long line arriving in small pieces is not copied over and over)."""
        lr = LineRedactor(job)
        pending: list[bytes] = []
        size = 0
        for chunk in stream:
            if not chunk:
                continue
            pending.append(chunk)
            size += len(chunk)
            if size < BLOCK or (b"\n" not in chunk and size <= MAX_LINE):
                continue  # too little yet, or the last line goes on: nothing new to cut
            data = b"".join(pending)
            cut = data.rfind(b"\n")
            cut = len(data) - 1 if cut == -1 else cut  # one enormous line: processed in pieces
            rest = data[cut + 1:]
            pending, size = ([rest], len(rest)) if rest else ([], 0)
            yield self._obf(lr.feed(data[: cut + 1]))
        if pending:
            yield self._obf(lr.feed(b"".join(pending)))
        yield self._obf(lr.finish())

    def _structured(self, job: Job, kind: str, data: bytes) -> bytes:
        sr = StructuredRedactor(job)
        body = data[3:] if data.startswith(codecs.BOM_UTF8) else data
        stripped = body.lstrip()
        out: bytes | None = None
        if kind == "json" or stripped[:1] in (b"{", b"["):
            out = sr.redact_json(body)
        if out is None and kind in ("yaml", "auto", "json"):
            first = _first_significant_line(body)
            if kind == "yaml" or _FIRST_LINE_YAML.match(first) or _YAML_SNIFF.search(body):
                try:
                    text = body.decode("utf-8")
                except UnicodeDecodeError:
                    text = None
                if text is not None:
                    result = sr.redact_yaml(text)
                    if result is not None:
                        out = result.encode("utf-8")
        if out is None and (kind in ("ini", "auto") or _INI_SNIFF.search(body)):
            text = body.decode("utf-8", "surrogateescape")
            out = sr.redact_sections(text).encode("utf-8", "surrogateescape")
        if out is None:
            out = body  # not parseable as declared: patterns only (fail-safe fallback)
        lr = LineRedactor(job)
        return lr.feed(out) + lr.finish()


# Decompressed size limit for one compressed item: past it the item is dropped (a bomb).
DECOMPRESSED_MAX = 2 * 1024 * 1024 * 1024


def _compressor(codec: str) -> Any:
    import bz2
    import lzma
    import zlib

    if codec == "gzip":
        return zlib.compressobj(6, zlib.DEFLATED, 31)
    if codec == "bzip2":
        return bz2.BZ2Compressor()
    return lzma.LZMACompressor()


def _decompress(codec: str, stream: Iterator[bytes]) -> Iterator[bytes]:
    total = 0
    try:
        for out in inflate(codec, stream):
            total += len(out)
            if total > DECOMPRESSED_MAX:
                raise RedactionError("decompressed size past the limit; dropped")
            yield out
    except EOFError:
        raise RedactionError("compressed stream ends early; dropped") from None


def _first_significant_line(data: bytes) -> bytes:
    for line in data[:SNIFF_BYTES].splitlines():
        s = line.strip()
        if s and not s.startswith(b"#"):
            return line
    return b""


def _structured_kind(path: str, head: bytes) -> str | None:
    norm = path.replace("\\", "/").lower()
    name = posixpath.basename(norm)
    ext = posixpath.splitext(name)[1]
    if "/logs/" in f"/{norm}" or ext in (".log", ".jsonl", ".ndjson"):
        return None
    if ext in _STRUCT_EXT:
        return _STRUCT_EXT[ext]
    if name in _YAML_NAMES:
        return "yaml"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"{", b"["):
        return "json"
    if _YAML_SNIFF.search(head[:SNIFF_BYTES]):
        return "yaml"
    if _INI_SNIFF.search(head[:SNIFF_BYTES]):
        return "ini"
    return None


def _utf16_without_bom(head: bytes) -> str | None:
    sample = head[:512]
    if len(sample) < 8:
        return None
    odd_zero = sample[1::2].count(0) / (len(sample) // 2)
    even_zero = sample[0::2].count(0) / ((len(sample) + 1) // 2)
    if odd_zero > 0.9 and even_zero < 0.1:
        return "utf-16-le"
    if even_zero > 0.9 and odd_zero < 0.1:
        return "utf-16-be"
    return None


def _decoded(head: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    """UTF-16 (BOM or sniffed, as Windows PowerShell 5.1 writes) becomes UTF-8; else as is."""
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        encoding = "utf-16"  # the codec reads and drops the BOM
    else:
        encoding = _utf16_without_bom(head)
    if encoding is None:
        yield head
        yield from rest
        return
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    yield decoder.decode(head).encode("utf-8")
    for c in rest:
        yield decoder.decode(c).encode("utf-8")
    yield decoder.decode(b"", final=True).encode("utf-8")


def _tee(stream: Iterator[bytes], sink: list[bytes]) -> Iterator[bytes]:
    for c in stream:
        sink.append(c)
        yield c


def _chain(first: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    yield from first
    yield from rest
