"""Exit codes and the error type every entry point turns into one line on stderr.

The codes are part of the user contract (README "Exit codes"); scripts gate on them.
"""
from __future__ import annotations

import os
import unicodedata
from typing import Any

EXIT_OK = 0            # success; for analyze: no warning or critical finding
EXIT_WARNINGS = 1      # analyze: the worst finding is a warning; verify: secrets were found
EXIT_USAGE = 2         # bad command line (argparse uses 2 as well)
EXIT_CRITICAL = 3      # analyze: at least one critical finding
EXIT_BAD_INPUT = 4     # input unusable: missing, corrupt, not a bundle, bad rule file, ...
EXIT_INTERNAL = 5      # a bug: the one-line message asks for --debug and a report
EXIT_NO_SPACE = 6      # collect/redact: the output filesystem is full; the partial file was removed
EXIT_INTERRUPTED = 130  # Ctrl-C / SIGTERM; collect leaves a valid bundle marked partial


class UserError(Exception):
    """An error the user can act on; printed as one line, never a traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def shown(text: Any) -> str:
    """`text` (or a path) safe for a one-line message on a terminal: no control, format or bidi
    characters (a member name may hold a newline or an ESC sequence), bytes that were not UTF-8
    (surrogate escapes) written as \\xNN like the reader writes them."""
    raw = os.fspath(text) if isinstance(text, os.PathLike) else str(text)
    if raw.isascii() and raw.isprintable():
        return raw
    out = []
    for ch in raw:
        o = ord(ch)
        if 0xDC80 <= o <= 0xDCFF:                      # surrogateescape: an undecodable byte
            out.append(f"\\x{o - 0xDC00:02x}")
        elif o < 0x20 or 0x7F <= o < 0xA0 or unicodedata.category(ch) in ("Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            out.append(f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}")
        else:
            out.append(ch)
    return "".join(out)
