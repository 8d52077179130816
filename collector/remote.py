"""Remote nodes from the command line: `collect --ssh`, `--winrm` and `--hosts`.

Everything that turns options into hosts is here: the --ssh targets and -o options, the WinRM
options and password, the hosts of an inventory (collector/inventory.py). Each host becomes a
HostSpec (collector/fanout.py) holding a factory for its transport, not yet connected; the
fan-out collects them in parallel into one bundle. The transports themselves
(collector/transports/ssh.py, psrp.py) only move bytes and never read argparse options.

The WinRM password comes from K8S_BUNDLE_WINRM_PASSWORD or a no-echo prompt, never from argv.
"""
from __future__ import annotations

import getpass
import os
import shutil
import sys
from typing import Any, Callable

from k8s_bundle.collector.transports.ssh import SAFE_OPTIONS, SshTarget, SshTransport
from k8s_bundle.errors import EXIT_BAD_INPUT, EXIT_USAGE, UserError

PASSWORD_ENV = "K8S_BUNDLE_WINRM_PASSWORD"


# -- --ssh ------------------------------------------------------------------------------------
def parse_target(text: str) -> SshTarget:
    """[USER@]HOST[:PORT]; an IPv6 address in brackets when it has a port ([::1]:2222)."""
    user, _, hostport = text.rpartition("@")
    host, port = hostport, None
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise UserError(f"--ssh {text}: expected [USER@]HOST[:PORT]", EXIT_USAGE)
            port = rest[1:]
    elif hostport.count(":") == 1:
        host, _, port = hostport.partition(":")
    if not host or host.startswith("-") or any(c.isspace() for c in host) or (user and user.startswith("-")):
        raise UserError(f"--ssh {text}: expected [USER@]HOST[:PORT]", EXIT_USAGE)
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        raise UserError(f"--ssh {text}: the port must be a number between 1 and 65535", EXIT_USAGE)
    return SshTarget(text, host, user or None, int(port) if port else None)


def parse_ssh_options(pairs: list[str]) -> list[tuple[str, str]]:
    """--ssh-option KEY=VALUE pairs, each checked against the transport's safe list."""
    out = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        name = SAFE_OPTIONS.get(key.strip().lower())
        if not sep or name is None:
            raise UserError(f"--ssh-option {pair}: not allowed; use KEY=VALUE with one of "
                            f"{', '.join(sorted(SAFE_OPTIONS.values()))}", EXIT_USAGE)
        if "\n" in value or "\r" in value:
            raise UserError(f"--ssh-option {key}: the value must be one line", EXIT_USAGE)
        out.append((name, value.strip()))
    return out


def check_ssh_args(args: Any) -> None:
    """Usage errors before any connection (exit 2)."""
    if shutil.which("ssh") is None:
        raise UserError("--ssh needs the OpenSSH client (`ssh`) on this machine's PATH", EXIT_USAGE)
    for text in args.ssh:
        parse_target(text)
    parse_ssh_options(args.ssh_option)
    if args.ssh_identity and not os.path.isfile(args.ssh_identity):
        raise UserError(f"--ssh-identity {args.ssh_identity}: no such file", EXIT_USAGE)


def ssh_specs(targets: list[SshTarget], args: Any, opts: Any, redactor: Any) -> list[Any]:
    """HostSpecs for Linux hosts over SSH, not yet connected."""
    from k8s_bundle.collector.fanout import HostSpec
    from k8s_bundle.collector.linux import catalogue

    options = parse_ssh_options(args.ssh_option)
    redactor.add_hostnames(t.host for t in targets)
    redactor.add_usernames(t.user for t in targets if t.user)

    def make(target: SshTarget) -> Callable[[], Any]:
        return lambda: SshTransport(target, root=opts.root, live=bool(opts.live),
                                    identity=args.ssh_identity,
                                    accept_new_host_key=args.ssh_accept_new_host_key,
                                    options=options, sudo=args.ssh_sudo)

    return [HostSpec(t.label, "ssh", make(t), catalogue) for t in targets]


# -- --winrm ----------------------------------------------------------------------------------
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


def check_winrm_args(args: Any) -> None:
    """Usage errors first, before any prompt or connection."""
    if args.winrm_insecure and args.winrm_ca_cert:
        raise UserError("--winrm-insecure and --winrm-ca-cert exclude each other", EXIT_USAGE)
    if args.winrm_ca_cert and not os.path.isfile(args.winrm_ca_cert):
        raise UserError(f"--winrm-ca-cert {args.winrm_ca_cert}: no such file", EXIT_USAGE)
    if args.winrm_auth in ("ntlm", "negotiate") and not args.winrm_user:
        raise UserError(f"--winrm-auth {args.winrm_auth} needs --winrm-user (DOMAIN\\user or user@domain)", EXIT_USAGE)
    if args.winrm_auth == "certificate" and not (args.winrm_cert and args.winrm_key):
        raise UserError("--winrm-auth certificate needs --winrm-cert and --winrm-key", EXIT_USAGE)


def winrm_transport(host: str, args: Any, password: str | None, *, port: int | None = None,
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
    """HostSpecs for Windows hosts: (label, host, port, user) each."""
    from k8s_bundle.collector.fanout import HostSpec
    from k8s_bundle.collector.windows import catalogue

    if not hosts:
        return []
    if args.winrm_auth in ("ntlm", "negotiate") and not args.winrm_user and all(h[3] for h in hosts):
        args.winrm_user = hosts[0][3]   # every host names its user (inventory): no --winrm-user needed
    check_winrm_args(args)
    password = winrm_password(args.winrm_auth, args.winrm_user)
    redactor.add_hostnames(h.rsplit(":", 1)[0] if h.count(":") == 1 else h for _, h, _, _ in hosts)
    redactor.add_usernames(u for *_, u in hosts if u)

    def make(host: str, port: int | None, user: str | None) -> Callable[[], Any]:
        return lambda: winrm_transport(host, args, password, port=port, user=user)

    return [HostSpec(label, "winrm", make(host, port, user), catalogue) for label, host, port, user in hosts]


# -- every remote host ------------------------------------------------------------------------
def specs_from_args(args: Any, opts: Any, redactor: Any, listed: list[Any]) -> list[Any]:
    """The HostSpecs of --ssh, --winrm and `listed` (collector/inventory.load_hosts of --hosts)."""
    ssh = [parse_target(t) for t in args.ssh]
    ssh += [SshTarget(h.label, h.address, h.user, h.port) for h in listed if h.connection == "ssh"]
    win: list[tuple[str, str, int | None, str | None]] = [(h, h, None, None) for h in args.winrm]
    win += [(h.label, h.address, h.port, h.user) for h in listed if h.connection == "winrm"]
    if args.hosts and not (ssh or win):
        raise UserError(f"--hosts {', '.join(args.hosts)}: no hosts"
                        + (f" in group {args.hosts_group}" if args.hosts_group else ""), EXIT_BAD_INPUT)
    redactor.add_hostnames(h.name for h in listed)
    return ssh_specs(ssh, args, opts, redactor) + winrm_specs(win, args, redactor)


def collect_hosts(args: Any, opts: Any, redactor: Any, listed: list[Any], *, host_timeout: float,
                  progress: Any, fanning: bool) -> list[Any]:
    """Collect every remote host of the command line into one bundle (collector/fanout.py);
    one CollectResult per collected host. `fanning` (several hosts): `progress` is the
    per-host display; otherwise it is the single host's item progress."""
    from k8s_bundle.collector.fanout import collect_remote

    specs = specs_from_args(args, opts, redactor, listed)
    return collect_remote(specs, opts, redactor, parallel=args.parallel, host_timeout=host_timeout,
                          display=progress if fanning else None,
                          single_progress=None if fanning else progress)
