"""Node variants: the API server answers (cluster objects), no systemd at all."""
from __future__ import annotations

import json

from collect_helpers import read_bundle, run_collect


def test_cluster_objects_when_the_api_answers(sim, tmp_path):
    log = tmp_path / "kubectl.log"
    out = tmp_path / "b.tgz"
    proc = run_collect(["--root", str(sim.root), "--live", "--only", "cluster", "-o", str(out)],
                       env=sim.env(SIMNODE_API_UP="1", SIMNODE_KUBECTL_LOG=str(log)))
    assert proc.returncode == 0, proc.stderr
    b = read_bundle(out)
    probe = b.json("nodes/cp1/commands/kubeconfig-probe.json")
    assert probe["using"] == {"path": "/etc/kubernetes/admin.conf", "version": "v1.29.3"}
    nodes = b.json("cluster/nodes.json")
    assert nodes["kind"] == "NodeList" and [n["metadata"]["name"] for n in nodes["items"]] == ["cp1", "w1"]
    assert b.item("nodes")["status"] == "ok" and b.item("nodes")["kind"] == "api"
    assert b.json("cluster/pvcs.json")["items"] == []
    # ConfigMaps: names, keys and sizes; never the values.
    cms = b.json("cluster/configmaps.json")["items"]
    app = [c for c in cms if c["metadata"]["name"] == "app-settings"][0]
    assert app["keys"] == ["DB_PASSWORD_HINT", "mode"] and app["size_bytes"] == 38
    assert b"value-that-must-not-leave-the-node" not in b.members["cluster/configmaps.json"]
    assert "podSubnet: 10.244.0.0/16" in b.json("cluster/kubeadm-config.json")["data"]["ClusterConfiguration"]
    assert b.item("kube-proxy-cm")["status"] == "failed"          # NotFound is recorded
    # Never Secrets; always a short request timeout; the admin kubeconfig of the node.
    calls = log.read_text().splitlines()
    assert calls and not [c for c in calls if "secret" in c.lower()]
    assert all("--request-timeout=5s" in c for c in calls)
    assert all(f"--kubeconfig {sim.root}/etc/kubernetes/admin.conf" in c for c in calls)


def test_no_systemd_falls_back_to_dmesg_and_plain_logs(sim, tmp_path):
    (sim.bin / "journalctl").unlink()
    (sim.bin / "systemctl").unlink()
    env = sim.env()
    env["PATH"] = str(sim.bin)          # nothing of this machine's systemd either
    out = tmp_path / "b.tgz"
    proc = run_collect(["--root", str(sim.root), "--live", "--only", "logs,system", "-o", str(out)],
                       env=env)
    assert proc.returncode == 0, proc.stderr
    b = read_bundle(out)
    kubelet = b.item("journal-kubelet")
    assert kubelet["status"] == "not_found" and "no systemd journal" in kubelet["error"]
    kernel = b.item("journal-kernel")
    assert kernel["status"] == "ok" and kernel["source"] == "dmesg -T"
    assert "Out of memory" in b.text("nodes/cp1/logs/kernel.log")
    assert "running with swap on" in b.text("nodes/cp1/logs/var/log/syslog")
    assert b.item("systemctl-failed")["status"] == "not_found"
    assert json.loads(b.members["nodes/cp1/node.json"])["name"] == "cp1"


def test_terminal_gets_a_live_display_and_a_summary(sim, tmp_path):
    """On a real pseudo-terminal: the rich display (node, items done, failures) and the
    final summary naming the failures and the bundle."""
    import os
    import pty
    import subprocess

    from collect_helpers import collect_cmd

    out = tmp_path / "b.tgz"
    master, slave = pty.openpty()
    proc = subprocess.Popen(collect_cmd("--root", str(sim.root), "--live", "--only", "runtime",
                                        "-o", str(out), "--timeout", "1"),
                            env=sim.env(SIMNODE_HANG="docker-info", COLUMNS="160"),
                            stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:          # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(timeout=60) == 0
    os.close(master)
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert "failures:" in screen and "cp1" in screen          # the live line
    assert "\x1b[" in screen                                   # drawn with terminal control codes
    assert f"bundle written: {out}" in screen
    assert "runtime/docker-info: timeout" in screen


def test_dead_root_reads_its_persistent_journal_with_journalctl_D(sim, tmp_path):
    (sim.root / "var/log/journal").mkdir(parents=True)
    out = tmp_path / "b.tgz"
    proc = run_collect(["--root", str(sim.root), "--only", "logs", "-o", str(out)], env=sim.env())
    assert proc.returncode == 0, proc.stderr
    b = read_bundle(out)
    rec = b.item("journal-kubelet")
    assert rec["status"] == "ok" and f"-D {sim.root}/var/log/journal" in rec["source"]
    assert "running with swap on is not supported" in b.text("nodes/cp1/logs/journal/kubelet.log")
    assert b.item("var-log-containers")["status"] == "ok"     # files still come from the root
