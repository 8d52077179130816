"""`k8s-bundle collect --winrm HOST [--winrm HOST ...]`: Windows nodes over WinRM/PSRP.

One engine run per host (same catalogue, caps, timeouts and redaction as a local run); with
several hosts each run writes a part bundle beside the output, and the parts are merged into
one bundle with one `nodes/<node>/` per host and one manifest (docs/bundle-format.md: a
multi-node collection is one bundle). The parts hold only redacted bytes, written by the same
BundleWriter, and are removed afterwards. One Redactor serves every host, so the same secret
gets the same placeholder on every node.

The password comes from K8S_BUNDLE_WINRM_PASSWORD or a no-echo prompt, never from argv.
"""
from __future__ import annotations

import datetime as dt
import getpass
import os
import sys
import tarfile
from pathlib import Path
from typing import Any, Callable

from k8s_bundle.errors import EXIT_USAGE, UserError

PASSWORD_ENV = "K8S_BUNDLE_WINRM_PASSWORD"


def winrm_password(auth: str, user: str | None) -> str | None:
    if auth == "certificate":
        return None
    password = os.environ.get(PASSWORD_ENV)
    if password is not None:
        return password
    if auth == "kerberos" and not user:
        return None  # a ticket from kinit / the logon session
    if not sys.stdin.isatty():
        raise UserError(f"--winrm: set {PASSWORD_ENV} or run on a terminal to be prompted for the password", EXIT_USAGE)
    return getpass.getpass(f"WinRM password for {user or 'the current user'}: ")


def check_args(args: Any) -> None:
    """Usage errors first, before any prompt or connection."""
    if args.winrm_insecure and args.winrm_ca_cert:
        raise UserError("--winrm-insecure and --winrm-ca-cert exclude each other", EXIT_USAGE)
    if args.winrm_ca_cert and not os.path.isfile(args.winrm_ca_cert):
        raise UserError(f"--winrm-ca-cert {args.winrm_ca_cert}: no such file", EXIT_USAGE)
    if args.winrm_auth in ("ntlm", "negotiate") and not args.winrm_user:
        raise UserError(f"--winrm-auth {args.winrm_auth} needs --winrm-user (DOMAIN\\user or user@domain)", EXIT_USAGE)
    if args.winrm_auth == "certificate" and not (args.winrm_cert and args.winrm_key):
        raise UserError("--winrm-auth certificate needs --winrm-cert and --winrm-key", EXIT_USAGE)


def transport_for(host: str, args: Any, password: str | None) -> Any:
    from k8s_bundle.collector.transports.psrp import PsrpTransport

    port = args.winrm_port
    if host.count(":") == 1:  # HOST:PORT (an IPv6 address has several colons)
        host, _, port_text = host.partition(":")
        if not port_text.isdigit():
            raise UserError(f"--winrm {host}:{port_text}: the port must be a number", EXIT_USAGE)
        port = int(port_text)
    return PsrpTransport(host, port=port, auth=args.winrm_auth, username=args.winrm_user,
                         password=password, ca_cert=args.winrm_ca_cert, insecure=args.winrm_insecure,
                         cert_pem=args.winrm_cert, key_pem=args.winrm_key).connect()


def collect_remote(args: Any, opts: Any, progress_factory: Callable[[], Any]) -> list[Any]:
    """Collect every --winrm host; returns the CollectResults (the last one names the bundle)."""
    from k8s_bundle.collector.engine import Engine, lower_priority
    from k8s_bundle.collector.windows import catalogue
    from k8s_bundle.redact import Redactor

    hosts = list(dict.fromkeys(args.winrm))
    check_args(args)
    password = winrm_password(args.winrm_auth, args.winrm_user)
    _lower_priority(lower_priority)
    redactor = Redactor()
    if len(hosts) == 1:
        transport = transport_for(hosts[0], args, password)
        try:
            engine = Engine(opts, transport, progress_factory(), redactor)
            return [engine.run(catalogue(engine.ctx))]
        finally:
            transport.close()

    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    output = Path(opts.output or f"k8s-bundle-multi-{stamp}.tgz")
    if output.exists() and not opts.force:
        raise UserError(f"{output} exists; pass --force to overwrite it")
    results = []
    parts: list[Path] = []
    seen: set[str] = set()
    try:
        for n, host in enumerate(hosts):
            part = output.with_name(f"{output.name}.node{n}.part.tgz")
            transport = transport_for(host, args, password)
            # two hosts reporting the same name would collide in the bundle: keep both
            while (transport.hostname or host).lower() in seen:
                transport.hostname = f"{transport.hostname or host}-{n + 1}"
            seen.add((transport.hostname or host).lower())
            try:
                from dataclasses import replace

                engine = Engine(replace(opts, output=str(part), force=True), transport, progress_factory(), redactor)
                results.append(engine.run(catalogue(engine.ctx)))
                parts.append(part)
            finally:
                transport.close()
            if results[-1].partial:
                break  # interrupted: merge what we have
        merge_bundles(parts, output, stamp, redactor.report(), force=opts.force)
    finally:
        for part in parts:
            try:
                part.unlink()
            except FileNotFoundError:
                pass
    for r in results:
        r.output = output
    return results


def merge_bundles(parts: list[Path], output: Path, stamp: str, redaction: dict[str, Any], *, force: bool) -> Path:
    """One bundle from several single-node bundles: members copied as they are (already
    redacted), manifests combined (nodes and items concatenated, partial if any part was)."""
    import orjson

    from k8s_bundle.bundle_writer import MANIFEST_NAME, REDACTION_NAME, BundleWriter

    manifests: list[dict[str, Any]] = []
    with BundleWriter(output, top_dir=f"k8s-bundle-multi-{stamp}", overwrite=force) as writer:
        for part in parts:
            with tarfile.open(part, "r:gz") as tf:
                for member in tf:
                    if not member.isfile():
                        continue
                    rel = member.name.split("/", 1)[1]
                    f = tf.extractfile(member)
                    assert f is not None
                    if rel == MANIFEST_NAME:
                        manifests.append(orjson.loads(f.read()))
                    elif rel != REDACTION_NAME:
                        writer.add_stream(rel, iter(lambda: f.read(1 << 20), b""))
        first = manifests[0]
        manifest = {**first,
                    "created_at": min(m["created_at"] for m in manifests),
                    "finished_at": max(m["finished_at"] for m in manifests),
                    "partial": any(m.get("partial") for m in manifests),
                    "partial_reason": next((m["partial_reason"] for m in manifests if m.get("partial_reason")), None),
                    "nodes": [n for m in manifests for n in m["nodes"]],
                    "items": [i for m in manifests for i in m["items"]]}
        writer.finish(manifest, redaction)
    return output


def collect_windows(args: Any, opts: Any, progress: Any) -> list[Any]:
    """The `collect` command for Windows: remote hosts with --winrm, else this machine."""
    if getattr(args, "winrm", None):
        return collect_remote(args, opts, lambda: progress)
    from k8s_bundle.collector.engine import Engine, lower_priority
    from k8s_bundle.collector.transports.powershell import PowerShellTransport
    from k8s_bundle.collector.windows import catalogue

    _lower_priority(lower_priority)
    engine = Engine(opts, PowerShellTransport(), progress)
    return [engine.run(catalogue(engine.ctx))]


def _lower_priority(posix_lower: Callable[[], None]) -> None:
    """Never harm the node: below-normal priority (os.nice exists on POSIX only)."""
    if hasattr(os, "nice"):
        posix_lower()
        return
    try:
        import psutil

        psutil.Process().nice(psutil.BELOW_NORMAL_PRIORITY_CLASS)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - priority is best effort
        pass
