"""When the journal has nothing (journald not running, a volatile journal lost at reboot, the
collector in a container reading its own journal, a dead node's disk without a persistent
journal), `collect` reads what else the node keeps and records it in the manifest
(`fallback: {from, to}`), with the real `collect --root DIR --live` on the simulated node."""
from __future__ import annotations

from pathlib import Path

from collect_helpers import read_bundle, run_collect

SYSLOG_1 = ("Nov 21 23:59:58 cp1 kubelet[2417]: E1121 15:59:58.000001    2417 kubelet.go:2855] "
            "\"Container runtime network not ready\" networkReady=\"NetworkReady=false "
            "reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized\"\n")


def _collect(sim, tmp_path: Path, *extra: str, **env: str):
    out = tmp_path / "b.tgz"
    proc = run_collect(["--root", str(sim.root), *extra, "--only", "logs", "-o", str(out)],
                       env=sim.env(**env))
    assert proc.returncode == 0, proc.stderr
    return read_bundle(out)


def test_empty_journal_falls_back_to_dmesg_and_syslog(sim, tmp_path):
    (sim.root / "var/log/syslog.1").write_text(SYSLOG_1)
    b = _collect(sim, tmp_path, "--live", SIMNODE_JOURNAL_EMPTY="1")
    kernel = b.item("journal-kernel")
    # the recorded `dmesg -T` output of the node (tests/simnode/outputs/dmesg.txt)
    assert kernel["status"] == "ok" and kernel["source"] == "dmesg -T"
    assert kernel["fallback"]["to"] == ["dmesg -T"]
    assert kernel["fallback"]["from"].startswith("journalctl _TRANSPORT=kernel") and "no entries" in kernel["fallback"]["from"]
    assert "Out of memory: Killed process 3121 (kube-apiserver)" in b.text("nodes/cp1/logs/kernel.log")
    kubelet = b.item("journal-kubelet")
    assert kubelet["status"] == "ok" and kubelet["path"] is None
    # installed (kubeadm's drop-in): the syslog files it falls back to, and the rotated one
    assert kubelet["fallback"]["to"] == ["/var/log/syslog", "/var/log/syslog.1"]
    rotated = [r for r in b.manifest["items"] if r["id"].endswith(":/var/log/syslog.1")][0]
    assert rotated["status"] == "ok" and rotated["kind"] == "file"
    assert "cni plugin not initialized" in b.text("nodes/cp1/logs/var/log/syslog.1")
    # a unit the node does not have: nothing to fall back to, no note
    assert "fallback" not in b.item("journal-rke2-server")
    # the rotated file is stored once, not once per silent unit (docker is installed too)
    assert b.item("journal-docker")["fallback"]["to"][-1] == "/var/log/syslog.1"
    assert len([r for r in b.manifest["items"] if r["id"].endswith(":/var/log/syslog.1")]) == 1


def test_journal_files_of_the_root_are_read_with_D(sim, tmp_path):
    """`--root /host --live` from a container: journalctl reads the container's (empty)
    journal; the node's files under <root>/var/log/journal are read with -D."""
    jdir = sim.root / "var/log/journal/0a1b2c3d4e5f60718293a4b5c6d7e8f9"
    jdir.mkdir(parents=True)
    (jdir / "system.journal").write_bytes(b"LPKSHHRH" + bytes(248))
    b = _collect(sim, tmp_path, "--live", SIMNODE_JOURNAL_EMPTY="1")
    kubelet = b.item("journal-kubelet")
    assert kubelet["status"] == "ok"
    assert kubelet["source"].startswith(f"journalctl -D {sim.root}/var/log/journal -u kubelet.service")
    assert kubelet["fallback"]["to"] == [kubelet["source"]]
    assert "running with swap on is not supported" in b.text("nodes/cp1/logs/journal/kubelet.log")
    kernel = b.item("journal-kernel")
    assert kernel["source"].startswith(f"journalctl -D {sim.root}/var/log/journal _TRANSPORT=kernel")
    # a healthy journal is read once: no fallback when the first read had lines
    (tmp_path / "again").mkdir()
    b2 = _collect(sim, tmp_path / "again", "--live")
    assert "fallback" not in b2.item("journal-kubelet") and "fallback" not in b2.item("journal-kernel")


def test_dead_disk_without_a_journal_names_the_kernel_files(sim, tmp_path):
    (sim.root / "var/log/kern.log").write_text(
        "Nov 22 10:10:00 cp1 kernel: [ 4200.123456] Out of memory: Killed process 3121 (kube-apiserver) "
        "total-vm:1514232kB, anon-rss:902144kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:2100kB oom_score_adj:-997\n")
    b = _collect(sim, tmp_path)          # --root without --live: the disk of a node that is down
    kernel = b.item("journal-kernel")
    assert kernel["status"] == "skipped" and "no persistent journal" in kernel["error"]
    assert kernel["fallback"]["to"] == ["/var/log/kern.log", "/var/log/syslog"]
    assert b.item("log-var-log-kern.log")["status"] == "ok"
    assert "Out of memory" in b.text("nodes/cp1/logs/var/log/kern.log")


def test_microk8s_before_1_21_units_where_the_snap_is_installed(sim, tmp_path):
    """microk8s 1.12-1.20 ran snap.microk8s.daemon-<name> per daemon (canonical/microk8s#119:
    kube-proxy in LXD cannot write the conntrack hashsize). Asked for where the snap is."""
    b = _collect(sim, tmp_path, "--live")
    assert not [r for r in b.manifest["items"] if r["id"] == "journal-snap.microk8s.daemon-proxy"]
    (sim.root / "var/snap/microk8s/current/args").mkdir(parents=True)
    (tmp_path / "snap").mkdir()
    b = _collect(sim, tmp_path / "snap", "--live")
    assert b.item("journal-snap.microk8s.daemon-proxy")["status"] == "ok"
    assert "hashsize: operation not supported" in b.text("nodes/cp1/logs/journal/snap.microk8s.daemon-proxy.log")
    from k8s_bundle.analyzer.evaluate import evaluate, load_rules
    from k8s_bundle.analyzer.evidence import load_evidence

    rules = [r for r in load_rules() if r.id == "kube-proxy-start-failed"]
    (f,) = evaluate(rules, load_evidence(str(tmp_path / "snap" / "b.tgz")))
    assert "hashsize: operation not supported" in f.message["en"]
