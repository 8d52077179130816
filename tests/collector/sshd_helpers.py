"""A real OpenSSH server for the collector's tests: keys, the sshd_config, start and wait.

Shared by test_ssh_transport.py (one sshd on loopback) and netns.py (one sshd per network
namespace). The remote side of every test sshd is this machine: authorized_keys puts the
simulated node's fake tools first on the session's PATH (PermitUserEnvironment).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

SSHD = "/usr/sbin/sshd"


def missing() -> str | None:
    """Why a real sshd cannot be run here, or None."""
    if not (os.path.exists(SSHD) and shutil.which("ssh") and shutil.which("ssh-keygen")):
        return "openssh-server/openssh-client are missing (scripts/apt-test-packages.txt)"
    return None


def require_sshd() -> None:
    """At a test module's top: skip it without sshd, but fail in CI, which installs it."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import ci_guard

    ci_guard.require(missing(), "openssh-server is not installed")


def keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "k8s-bundle-test", "-f", str(path)],
                   check=True, capture_output=True)


def config(*, port: int, listen: str, host_key: Path, authorized_keys: Path, pid_file: Path) -> str:
    """An sshd_config for a test server: key login only, no PAM, the test's own files."""
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)   # sshd's privilege separation dir
    return (f"Port {port}\nListenAddress {listen}\nHostKey {host_key}\n"
            f"AuthorizedKeysFile {authorized_keys}\nPidFile {pid_file}\n"
            "UsePAM no\nStrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nPermitUserEnvironment yes\n"
            "MaxSessions 64\nMaxStartups 64\nLogLevel ERROR\n")


def authorized_key(pub: Path, env: dict[str, str], command: str | None = None) -> str:
    """One authorized_keys line: `pub` with the session environment (and a forced command).

    HOME defaults to the key's directory: bash sources ~/.bashrc even for the commands sshd
    runs, and a developer's root .bashrc (this machine's runs `pyenv init`, a rehash under a
    lock per session: hundreds of waiting shells and load 90 with a fleet, measured) is no
    part of a node."""
    env = {"HOME": str(pub.parent), **env}
    opts = [f'environment="{k}={v}"' for k, v in env.items()]
    if command:
        opts.append(f'command="{command}"')
    return f"{','.join(opts)} {pub.read_text().strip()}\n"


def wait_listening(host: str, port: int, proc: subprocess.Popen, log: Path, timeout: float = 10) -> None:
    """Return once host:port accepts; raise RuntimeError with sshd's log if it died or never did."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sshd on {host}:{port} did not start: "
                                   f"{log.read_text(errors='replace') if log.exists() else ''}")
            time.sleep(0.05)


def known_hosts_line(host: str, port: int, host_pub: Path) -> str:
    kind, key = host_pub.read_text().split()[:2]
    return f"{host if port == 22 else f'[{host}]:{port}'} {kind} {key}\n"
