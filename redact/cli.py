"""`k8s-bundle redact` and `k8s-bundle verify` (stdlib only at module level)."""
from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "redact", help="redact files, directories or bundles gathered by other means",
        description="Redact files, directories or .tgz archives into a new bundle (OUT ending in "
                    ".tgz/.tar.gz) or a directory. Secrets are replaced by <redacted:KIND:HASH6> "
                    "placeholders (same secret, same placeholder). See docs/redaction.md.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, directories or .tgz archives")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="new bundle (.tgz / .tar.gz) or directory")
    add_redaction_arguments(p)
    p.add_argument("--hostname", action="append", default=[], metavar="NAME",
                   help="a host name to obfuscate (repeatable; with --obfuscate hostnames)")
    p.add_argument("--username", action="append", default=[], metavar="NAME",
                   help="a user name to obfuscate (repeatable; with --obfuscate usernames)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output")
    p.set_defaults(func=_run_redact)

    v = subparsers.add_parser(
        "verify", help="second opinion: scan a bundle for anything secret-looking (exit 1 if found)",
        description="Scan a bundle (.tgz, .tar or directory) with the analyzer's hardened reader and "
                    "verify's own detectors (independent of redact's rules) and print each hit as "
                    "PATH:LINE:KIND (RULE) ***(N chars), never the value. A member the reader refuses "
                    "(links, devices, escaping or duplicate names) or cannot read whole (a cap reached) "
                    "is a finding too. Exit 0 when clean, 1 when something secret-looking or a refused "
                    "member is found, 4 when the input is unusable. See docs/redaction.md.")
    v.add_argument("bundle", metavar="BUNDLE")
    v.add_argument("--redact-rules", metavar="FILE",
                   help="custom rules YAML: its regex and literal rules are detected as well")
    v.add_argument("--quiet", action="store_true", help="print only the summary line")
    v.set_defaults(func=_run_verify)


def add_redaction_arguments(p: argparse.ArgumentParser | Any) -> None:
    """--redact-rules, --obfuscate and --obfuscation-map: shared by `redact` and `collect`."""
    p.add_argument("--redact-rules", metavar="FILE", help="custom rules YAML (same schema as the built-in rules)")
    p.add_argument("--obfuscate", metavar="LIST", default="",
                   help="also obfuscate identities: any of hostnames,ips,macs,usernames (off by "
                        "default); the map is written beside the output, mode 0600")
    p.add_argument("--obfuscation-map", metavar="FILE",
                   help="reuse a previous obfuscation map (consistent names across nodes)")


def _run_redact(args: argparse.Namespace) -> int:
    from k8s_bundle.redact.command import run_redact

    return run_redact(args)


def _run_verify(args: argparse.Namespace) -> int:
    from k8s_bundle.redact.verify import run_verify

    return run_verify(args)
