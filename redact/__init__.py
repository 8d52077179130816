"""Redaction: every byte the collector stores passes through here first.

Interface (docs/architecture.md, docs/redaction.md):

    redactor = Redactor(custom_rules=None, obfuscate=frozenset())   # key: random per instance
    chunks_out = redactor.redact_stream(path, chunks_in)            # raises RedactionError
    redactor.count_for(path); redactor.report(); redactor.obfuscation_map()

Rules are data (builtin_rules.yaml; custom files use the same schema). Structured files
(YAML/JSON/TOML/INI) are redacted by key and path, everything else by patterns, line by line.
"""
from __future__ import annotations

from k8s_bundle.redact.redactor import Hit, RedactionError, Redactor
from k8s_bundle.redact.rules import RuleFileError

__all__ = ["Hit", "RedactionError", "Redactor", "RuleFileError"]
