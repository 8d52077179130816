"""Redaction: every byte the collector stores passes through here first.

PLACEHOLDER until the redaction issue lands: only the interface of docs/architecture.md and
PEM private-key removal. The redaction helper replaces this module's body.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Iterator


class RedactionError(Exception):
    """The content cannot be redacted safely; the caller must drop it (fail closed)."""


_PEM_KEY = re.compile(rb"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.S)


class Redactor:
    def __init__(self, custom_rules: Any = None, obfuscate: frozenset[str] = frozenset()) -> None:
        self._counts: dict[str, int] = {}

    def redact_stream(self, path: str, chunks: Iterable[bytes]) -> Iterator[bytes]:
        data = b"".join(chunks)
        data, n = _PEM_KEY.subn(b"<redacted:private-key>", data)
        self._counts[path] = self._counts.get(path, 0) + n
        yield data

    def count_for(self, path: str) -> int:
        return self._counts.get(path, 0)

    def report(self) -> dict[str, Any]:
        return {"version": 1, "total": sum(self._counts.values()), "by_rule": {}, "by_file": {}}

    def obfuscation_map(self) -> dict[str, Any]:
        return {}
