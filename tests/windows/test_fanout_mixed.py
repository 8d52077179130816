"""Linux and Windows nodes in ONE `collect` run from one Ansible inventory (collector/fanout.py):
a real sshd on loopback serving the simulated Linux node, and two recorded WinRM/PSRP servers
(psrp_server.py) on their own loopback ports; each host gets its own catalogue, one bundle."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import tarfile
from pathlib import Path

from psrp_server import FakeWinRM

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "collector"))
import sshd_helpers  # noqa: E402
from collect_helpers import simnode  # noqa: E402

sshd_helpers.require_sshd()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_linux_and_windows_hosts_of_one_inventory_make_one_bundle(tmp_path: Path, recorded_node) -> None:
    rec, drive = recorded_node
    node = simnode.build(tmp_path / "sim")
    for name in ("hostkey", "client"):
        sshd_helpers.keygen(tmp_path / name)
    (tmp_path / "authorized_keys").write_text(sshd_helpers.authorized_key(tmp_path / "client.pub",
                                                                          {"PATH": node.path}))
    port = _free_port()
    (tmp_path / "sshd_config").write_text(sshd_helpers.config(
        port=port, listen="127.0.0.1", host_key=tmp_path / "hostkey",
        authorized_keys=tmp_path / "authorized_keys", pid_file=tmp_path / "sshd.pid"))
    log = tmp_path / "sshd.log"
    sshd = subprocess.Popen([sshd_helpers.SSHD, "-D", "-e", "-f", str(tmp_path / "sshd_config")],
                            stdout=subprocess.DEVNULL, stderr=open(log, "wb"))
    try:
        sshd_helpers.wait_listening("127.0.0.1", port, sshd, log)
        known = tmp_path / "known_hosts"
        known.write_text(sshd_helpers.known_hosts_line("127.0.0.1", port, tmp_path / "hostkey.pub"))
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        with FakeWinRM(tmp_path / "a", str(rec), str(drive), require_client_cert=True, hostname="WIN-A") as a, \
                FakeWinRM(tmp_path / "b", str(rec), str(drive), hostname="WIN-B") as b:
            cas = tmp_path / "cas.pem"
            cas.write_text(Path(a.ca_file).read_text() + Path(b.ca_file).read_text())
            inventory = tmp_path / "inventory.ini"
            inventory.write_text(
                "[k8s:children]\nlinux\nwindows\n\n"
                f"[linux]\nlnx1 ansible_host=127.0.0.1 ansible_port={port} ansible_user=root\n\n"
                f"[windows]\nwin-a ansible_host=127.0.0.1 ansible_port={a.port}\n"
                f"win-b ansible_host=localhost ansible_port={b.port} ansible_connection=psrp\n\n"
                "[windows:vars]\nansible_connection=winrm\n\n"
                "[other]\nnever.example\n")
            out = tmp_path / "mixed.tgz"
            proc = subprocess.run(
                [sys.executable, "-m", "k8s_bundle.cli", "collect", "--hosts", str(inventory),
                 "--hosts-group", "k8s", "--ssh-identity", str(tmp_path / "client"),
                 "--ssh-option", f"UserKnownHostsFile={known}", "--ssh-option", "GlobalKnownHostsFile=/dev/null",
                 "--root", str(node.root), "--live",
                 "--winrm-auth", "certificate", "--winrm-cert", a.client_cert, "--winrm-key", a.client_key,
                 "--winrm-ca-cert", str(cas), "--only", "network,ports,os", "--parallel", "3",
                 "--progress", "json", "-o", str(out)],
                capture_output=True, text=True, timeout=300)
    finally:
        sshd.terminate()
        sshd.wait(timeout=10)
    assert proc.returncode == 0, proc.stderr
    with tarfile.open(out) as tf:
        names = [m.name.split("/", 1)[1] for m in tf.getmembers()]
        manifest = json.load(tf.extractfile([m for m in tf.getmembers() if m.name.endswith("/manifest.json")][0]))
    nodes = {n["name"]: n for n in manifest["nodes"]}
    assert set(nodes) == {"cp1", "win-a", "win-b"} and "failed_hosts" not in manifest
    assert nodes["cp1"]["os"] == "linux" and nodes["cp1"]["transport"] == "ssh"
    assert nodes["win-a"]["os"] == "windows" and nodes["win-b"]["transport"] == nodes["win-a"]["transport"]
    # each host got its own catalogue
    assert "nodes/cp1/files/etc/hosts" in names
    assert "nodes/win-a/windows/reservedports.txt" in names and "nodes/win-b/windows/reservedports.txt" in names
    assert not any(n.startswith("nodes/cp1/windows/") for n in names)
    hosts = {json.loads(ln)["host"] for ln in proc.stderr.splitlines()
             if ln.startswith("{") and json.loads(ln)["event"] == "host"}
    assert hosts == {"root@lnx1", "win-a", "win-b"}      # the group `other` was left out
