"""The Redactor that the redaction options ask for, shared by `redact` and `collect`.

The options themselves (--redact-rules, --obfuscate, --obfuscation-map) are declared in
redact/cli.py; this module turns their values into a Redactor and writes its map, so that the
command modules (redact/command.py, collector/cli.py) need not import a CLI module.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from k8s_bundle.errors import EXIT_BAD_INPUT, EXIT_USAGE, UserError

if TYPE_CHECKING:  # the redactor's modules load its rules; imported when a redactor is built
    from k8s_bundle.redact.redactor import Redactor


def build_redactor(args: argparse.Namespace) -> "Redactor":
    """The Redactor the options of add_redaction_arguments ask for. A bad rules file, map or
    category list is a one-line UserError (exit 4 for files, 2 for the list), raised before
    anything is read or written."""
    from k8s_bundle.redact.obfuscate import load_map, parse_categories
    from k8s_bundle.redact.redactor import Redactor
    from k8s_bundle.redact.rules import RuleFileError

    try:
        categories = parse_categories(args.obfuscate or "")
    except ValueError as exc:
        raise UserError(f"--obfuscate: {exc}", EXIT_USAGE) from None
    previous = None
    if args.obfuscation_map:
        try:
            previous = load_map(args.obfuscation_map)
        except ValueError as exc:
            raise UserError(str(exc), EXIT_BAD_INPUT) from None
    try:
        return Redactor(custom_rules=args.redact_rules, obfuscate=categories, obfuscation_map=previous)
    except RuleFileError as exc:
        raise UserError(str(exc), EXIT_BAD_INPUT) from None


def write_obfuscation_map(redactor: "Redactor", output: Path | str) -> Path | None:
    """The map beside `output` (mode 0600) when obfuscating; its path, or None."""
    from k8s_bundle.redact.obfuscate import write_map

    if not redactor.obfuscator:
        return None
    return write_map(output, redactor.obfuscation_map())
