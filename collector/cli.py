"""`k8s-bundle collect` (stdlib only at module level: the collector binary stays small)."""
from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Any

from k8s_bundle.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UserError, shown

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$", re.I)
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?\s*$", re.I)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_UNIT_BYTES = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_duration(text: str) -> int:
    m = _DURATION.match(text)
    if not m or int(m.group(1)) <= 0:
        raise UserError(f"bad duration {text!r}: use a number with s, m, h, d or w (e.g. 72h)",
                        EXIT_USAGE)
    return int(m.group(1)) * _UNIT_SECONDS[m.group(2).lower()]


def parse_size(text: str) -> int:
    m = _SIZE.match(text)
    if not m or float(m.group(1)) <= 0:
        raise UserError(f"bad size {text!r}: use a number with K, M or G (e.g. 16M)", EXIT_USAGE)
    return int(float(m.group(1)) * _UNIT_BYTES[m.group(2).lower()])


def _areas(text: str | None, known: tuple[str, ...], flag: str) -> frozenset[str] | None:
    if text is None:
        return None
    areas = frozenset(a.strip() for a in text.split(",") if a.strip())
    unknown = sorted(areas - set(known))
    if unknown or not areas:
        raise UserError(f"{flag}: unknown area {', '.join(unknown) or '(empty)'}; "
                        f"areas are {', '.join(known)}", EXIT_USAGE)
    return areas


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "collect", help="gather this node into one redacted bundle",
        description="Gather this Linux node (or a mounted root) into one redacted bundle. "
                    "Reads only, at low priority; every command has a timeout and every file a "
                    "size cap. See docs/collector.md.")
    p.add_argument("-o", "--output", help="bundle path (default: ./k8s-bundle-<node>-<UTC stamp>.tgz)")
    p.add_argument("--since", default="72h", help="journal window (default 72h; s, m, h, d, w)")
    p.add_argument("--root", default="/", help="collect files from this mounted root (a dead "
                   "node's disk); commands are skipped unless --live")
    p.add_argument("--live", action="store_true", help="with --root: the root belongs to the "
                   "running node (e.g. the host's / mounted in a privileged pod); run commands too")
    p.add_argument("--only", metavar="AREA,...", help="collect only these areas")
    p.add_argument("--skip", metavar="AREA,...", help="leave these areas out")
    p.add_argument("--timeout", default="10", help="per-command timeout in seconds (default 10)")
    p.add_argument("--max-file-size", default="16M", help="per-item size cap (default 16M)")
    p.add_argument("--workers", type=int, default=4, help="parallel items (default 4)")
    p.add_argument("--progress", choices=("auto", "tty", "json", "none"), default="auto",
                   help="progress display (default: live on a terminal; otherwise none, or JSON "
                        "lines when several remote hosts are collected)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    from k8s_bundle.redact.cli import add_redaction_arguments

    add_redaction_arguments(p.add_argument_group("redaction (docs/redaction.md)"))
    _add_ssh_arguments(p)
    _add_winrm_arguments(p)
    _add_fanout_arguments(p)
    p.set_defaults(func=run_collect)


def _add_fanout_arguments(p: argparse.ArgumentParser) -> None:
    """Many remote hosts in one run (collector/fanout.py, docs/collector.md)."""
    g = p.add_argument_group("many remote hosts (--ssh, --winrm and --hosts together)")
    g.add_argument("--hosts", metavar="FILE", action="append", default=[],
                   help="collect the hosts of FILE: one [user@]host[:port] a line, or an Ansible "
                        "INI or YAML inventory (ansible_connection=winrm: Windows); repeatable")
    g.add_argument("--hosts-group", metavar="NAME", help="only the hosts of this inventory group "
                   "(and its children)")
    g.add_argument("--parallel", type=int, default=16,
                   help="hosts collected at once (default 16, 1..256)")
    g.add_argument("--host-timeout", default="15m", metavar="DURATION",
                   help="deadline per host (default 15m; s, m, h): a host past it is stopped, "
                        "what it finished is kept and it is listed in failed_hosts")


def _add_ssh_arguments(p: argparse.ArgumentParser) -> None:
    """Remote Linux nodes over the system's OpenSSH client (docs/collector.md)."""
    g = p.add_argument_group("remote Linux nodes (OpenSSH)")
    g.add_argument("--ssh", metavar="[USER@]HOST[:PORT]", action="append", default=[],
                   help="collect this Linux node over SSH (repeat for several nodes: one bundle)")
    g.add_argument("--ssh-identity", metavar="FILE", help="private key file for the SSH login")
    g.add_argument("--ssh-accept-new-host-key", action="store_true",
                   help="trust and record a host key seen for the first time (default: the host "
                        "must already be in known_hosts)")
    g.add_argument("--ssh-option", metavar="KEY=VALUE", action="append", default=[],
                   help="pass an ssh -o option (only connection-safe ones, e.g. "
                        "UserKnownHostsFile, ConnectTimeout, ProxyJump)")
    g.add_argument("--ssh-sudo", action="store_true",
                   help="run remote commands and reads with `sudo -n` (passwordless sudo)")


def _add_winrm_arguments(p: argparse.ArgumentParser) -> None:
    """Remote Windows nodes over WinRM/PSRP (docs/windows.md); the password is never an argument."""
    g = p.add_argument_group("remote Windows nodes (WinRM/PSRP over HTTPS)")
    g.add_argument("--winrm", metavar="HOST", action="append", default=[],
                   help="collect this Windows node over WinRM (repeat for several nodes: one bundle)")
    g.add_argument("--winrm-port", type=int, default=None, help="WinRM port (default 5986, HTTPS)")
    g.add_argument("--winrm-auth", choices=("negotiate", "ntlm", "kerberos", "certificate"), default="negotiate",
                   help="authentication (default negotiate)")
    g.add_argument("--winrm-user", help="DOMAIN\\user or user@domain; the password comes from "
                   "K8S_BUNDLE_WINRM_PASSWORD or a prompt")
    g.add_argument("--winrm-ca-cert", metavar="FILE", help="CA bundle that signed the node's WinRM certificate")
    g.add_argument("--winrm-insecure", action="store_true",
                   help="do not verify the node's TLS certificate (validation is on by default)")
    g.add_argument("--winrm-cert", metavar="FILE", help="client certificate (PEM) for --winrm-auth certificate")
    g.add_argument("--winrm-key", metavar="FILE", help="its private key (PEM)")


def _remove_quietly(path: Any) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def run_collect(args: argparse.Namespace) -> int:
    from k8s_bundle.collector.runner import CollectOptions, collect
    from k8s_bundle.collector.linux import AREAS
    if args.hosts_group and not args.hosts:
        raise UserError("--hosts-group needs --hosts FILE", EXIT_USAGE)
    if not 1 <= args.parallel <= 256:
        raise UserError("--parallel must be between 1 and 256", EXIT_USAGE)
    host_timeout = parse_duration(args.host_timeout)
    listed: list[Any] = []
    if args.hosts:
        from k8s_bundle.collector.inventory import load_hosts

        listed = load_hosts(args.hosts, args.hosts_group)   # a bad file: one line, exit 4
    ssh = bool(args.ssh) or any(h.connection == "ssh" for h in listed)
    winrm = bool(args.winrm) or any(h.connection == "winrm" for h in listed)
    remote = bool(args.ssh or args.winrm or args.hosts)
    windows = winrm or (not remote and sys.platform == "win32")
    if windows:
        # (imported only when needed: a local Linux run loads no Windows module)
        from k8s_bundle.collector.windows import AREAS as WINDOWS_AREAS

        # Linux and Windows hosts in one run: either catalogue's areas
        AREAS = tuple(dict.fromkeys(AREAS + WINDOWS_AREAS)) if ssh else WINDOWS_AREAS  # noqa: N806
    from k8s_bundle.collector.progress import (JsonLinesProgress, RichProgress, stop_display,
                                               summary_text)

    since_seconds = parse_duration(args.since)
    cap = parse_size(args.max_file_size)
    try:
        timeout = float(args.timeout)
    except ValueError:
        timeout = -1.0
    if not 0 < timeout <= 3600:
        raise UserError(f"bad --timeout {args.timeout!r}: seconds between 0 and 3600", EXIT_USAGE)
    if not 1 <= args.workers <= 32:
        raise UserError("--workers must be between 1 and 32", EXIT_USAGE)
    if args.output:
        from k8s_bundle.safe_output import check_output

        # A missing directory, a directory, a read-only place: one line before collecting.
        check_output(args.output, force=args.force)
        if getattr(args, "obfuscate", ""):
            from k8s_bundle.redact.obfuscate import map_path_for

            # the map's place as well (a name too long, a directory there): found after the
            # collection it left a bundle whose map was lost
            check_output(map_path_for(args.output), force=True)
    root = os.path.abspath(args.root)
    if not remote and not os.path.isdir(root):  # with --ssh the root is on the remote node
        raise UserError(f"--root {args.root}: not a directory", EXIT_USAGE)
    if args.live and root == "/":
        args.live = False  # "/" is live anyway
    opts = CollectOptions(
        output=args.output, since=args.since.strip(), since_seconds=since_seconds, root=root,
        live=True if (args.live or root == "/") else False,
        only=_areas(args.only, AREAS, "--only"),
        skip=_areas(args.skip, AREAS, "--skip") or frozenset(),
        timeout=timeout, max_file_size=cap, workers=args.workers, force=args.force,
        argv=sys.argv[sys.argv.index("collect"):] if "collect" in sys.argv else ["collect"],
    )
    host_count = len(set(args.ssh)) + len(set(args.winrm)) + len(listed)
    fanning = remote and host_count > 1
    mode = args.progress
    if mode == "auto":
        # several hosts and no terminal: JSON lines (a wrapper or CI log sees each host's state)
        mode = "tty" if sys.stderr.isatty() else "json" if fanning else "none"
    from k8s_bundle.redact.options import build_redactor, write_obfuscation_map

    # Built before anything is collected: a bad rules file or map stops the run here (exit 4).
    redactor = build_redactor(args)
    if ssh:
        from k8s_bundle.collector.remote import check_ssh_args

        check_ssh_args(args)
    progress: Any = None
    if fanning:
        from k8s_bundle.collector.progress import JsonFanoutProgress, RichFanoutProgress

        progress = RichFanoutProgress() if mode == "tty" else JsonFanoutProgress() if mode == "json" else None
    else:
        progress = RichProgress() if mode == "tty" else JsonLinesProgress() if mode == "json" else None
    try:
        if remote:
            from k8s_bundle.collector.remote import collect_hosts

            *earlier, result = collect_hosts(args, opts, redactor, listed, host_timeout=host_timeout,
                                             progress=progress, fanning=fanning)
        elif windows:
            from k8s_bundle.collector.windows.local import collect_windows

            *earlier, result = collect_windows(args, opts, progress, redactor)
        else:
            earlier, result = [], collect(opts, progress, redactor=redactor)
    except BaseException:
        if progress is not None:
            stop_display(progress)
        raise
    try:
        map_path = write_obfuscation_map(redactor, result.output)
    except UserError:
        # all or nothing: a bundle whose map was not written cannot be read back consistently
        # (the map is small: a full disk is the likely cause)
        _remove_quietly(result.output)
        raise
    if mode != "json" and fanning:
        from k8s_bundle.collector.progress import hosts_summary_text

        print(hosts_summary_text([*earlier, result]), file=sys.stderr)
    elif mode != "json":
        for r in earlier:
            print(summary_text(r), file=sys.stderr)
        print(summary_text(result), file=sys.stderr)
    if map_path is not None:
        print(f"obfuscation map (keep it private, never attach it) at {shown(map_path)}", file=sys.stderr)
    return EXIT_INTERRUPTED if result.partial else EXIT_OK
