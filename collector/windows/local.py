"""`k8s-bundle collect --winrm HOST [--winrm HOST ...]`: Windows nodes over WinRM/PSRP.

The hosts' transports for collector/fanout.py (which runs them in parallel into one bundle,
shared with `--ssh`, one Redactor for every host), and the local Windows collection.

The password comes from K8S_BUNDLE_WINRM_PASSWORD or a no-echo prompt, never from argv.
"""
from __future__ import annotations

import getpass
import os
import sys
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


def transport_for(host: str, args: Any, password: str | None, *, port: int | None = None,
                  user: str | None = None) -> Any:
    """The PSRP transport of one host, not yet connected (the fan-out connects it under the
    host's deadline). HOST may be HOST:PORT; `port`/`user` (from an inventory) win over it and
    over --winrm-port/--winrm-user."""
    from k8s_bundle.collector.transports.psrp import PsrpTransport

    if host.count(":") == 1:  # HOST:PORT (an IPv6 address has several colons)
        host, _, port_text = host.partition(":")
        if not port_text.isdigit():
            raise UserError(f"--winrm {host}:{port_text}: the port must be a number", EXIT_USAGE)
        port = port or int(port_text)
    return PsrpTransport(host, port=port or args.winrm_port, auth=args.winrm_auth,
                         username=user or args.winrm_user, password=password,
                         ca_cert=args.winrm_ca_cert, insecure=args.winrm_insecure,
                         cert_pem=args.winrm_cert, key_pem=args.winrm_key)


def winrm_specs(hosts: list[tuple[str, str, int | None, str | None]], args: Any, redactor: Any) -> list[Any]:
    """HostSpecs (collector/fanout.py) for Windows hosts: (label, host, port, user) each."""
    from k8s_bundle.collector.fanout import HostSpec
    from k8s_bundle.collector.windows import catalogue

    if not hosts:
        return []
    if args.winrm_auth in ("ntlm", "negotiate") and not args.winrm_user and all(h[3] for h in hosts):
        args.winrm_user = hosts[0][3]   # every host names its user (inventory): no --winrm-user needed
    check_args(args)
    password = winrm_password(args.winrm_auth, args.winrm_user)
    redactor.add_hostnames(h.rsplit(":", 1)[0] if h.count(":") == 1 else h for _, h, _, _ in hosts)
    redactor.add_usernames(u for *_, u in hosts if u)

    def make(host: str, port: int | None, user: str | None) -> Callable[[], Any]:
        return lambda: transport_for(host, args, password, port=port, user=user)

    return [HostSpec(label, "winrm", make(host, port, user), catalogue) for label, host, port, user in hosts]


def collect_windows(args: Any, opts: Any, progress: Any, redactor: Any = None) -> list[Any]:
    """`collect` on this Windows machine (remote hosts: collector/fanout.py)."""
    if redactor is None:
        from k8s_bundle.redact import Redactor

        redactor = Redactor()
    from k8s_bundle.collector.runner import Engine, lower_priority
    from k8s_bundle.collector.transports.powershell import PowerShellTransport
    from k8s_bundle.collector.windows import catalogue

    _lower_priority(lower_priority)
    engine = Engine(opts, PowerShellTransport(), progress, redactor)
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
