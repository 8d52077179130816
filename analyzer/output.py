"""Where a report goes and in which format: what `analyze` (one bundle or many) and `diff`
share. Only the standard library at module level, like the CLI modules that call it.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

from k8s_bundle.errors import EXIT_BAD_INPUT, UserError, shown

# The extension of -o names the format; an explicit --format must agree with it.
EXTENSION_FORMATS = {".html": "html", ".htm": "html", ".json": "json", ".txt": "text"}


def output_format(output: str | None, explicit: str | None) -> str:
    """The format to write: from --format, else from the extension of -o, else html.

    `-o -` (standard output) has no extension: --format alone decides. An extension we do not
    know (`-o report.out`) leaves the choice to --format (html without it)."""
    if output is None or output == "-":
        return explicit or "html"
    inferred = EXTENSION_FORMATS.get(Path(output).suffix.lower())
    if explicit and inferred and explicit != inferred:
        raise UserError(f"--format {explicit} contradicts the output name {shown(output)} (a {inferred} "
                        f"extension); drop --format or rename the output", EXIT_BAD_INPUT)
    return explicit or inferred or "html"


def report_destination(args: argparse.Namespace, default: Callable[[str], Path], inputs: tuple[str, ...],
                       what: str = "report") -> tuple[str, Path | None]:
    """(format, output path or None for standard output) of a command with analyze's output
    options (-o, --format). An unusable place fails here, before the work and its imports."""
    from k8s_bundle.safe_output import check_output

    fmt = output_format(args.output, args.format)
    if args.output == "-":
        if sys.stdout is None:
            # started with standard output closed (`>&-`): Python leaves sys.stdout None
            raise UserError(f"cannot write the {what} to standard output: it is closed", EXIT_BAD_INPUT)
        return fmt, None
    out = Path(args.output) if args.output else default(fmt)
    check_output(args.output or out, force=True, inputs=inputs)   # the raw -o: `-o dir/` is refused
    return fmt, out


def emit(out: Path | None, data: bytes) -> None:
    """Write the output: to standard output, or through safe_output (hidden part, O_EXCL|
    O_NOFOLLOW, rename: no planted link is followed)."""
    from k8s_bundle.safe_output import write_file

    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        write_file(out, data)



def default_output(bundle: str, fmt: str) -> Path:
    p = Path(bundle.rstrip("/"))
    name = p.name
    for suffix in (".tar.gz", ".tgz", ".tar"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    ext = {"html": ".html", "json": ".json", "text": ".txt"}[fmt]
    return p.with_name(name + ext)
