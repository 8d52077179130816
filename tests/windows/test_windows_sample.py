"""The broken Windows worker sample: port exhaustion and more, as the report shows them; and the
local Windows collection path (engine + catalogue + PowerShell transport through the fake
powershell) reproduces the same findings from the same recorded node."""
from __future__ import annotations

import json
import tarfile
from pathlib import Path

import windows_scenario

from win_samples import windows_rules
from k8s_bundle.analyzer.evaluate import evaluate
from k8s_bundle.analyzer.evidence import load_evidence

EXPECTED = {"win-ephemeral-port-exhaustion", "win-kube-proxy-no-hostname-override", "win-flannel-stale-sourcevip",
            "win-pause-image-os-mismatch", "win-nodeport-from-node-kb4571748", "win-cni-exception-list",
            # the class rules name the symptoms too; the two above explain them (`explains`)
            "win-kube-proxy-lb-policy-failed", "win-hcs-container-create-failed"}


def test_sample_bundle_shows_port_exhaustion_and_more(tmp_path):
    path = windows_scenario.build(str(tmp_path / "windows-worker.tgz"))
    assert Path(path).stat().st_size < 300 * 1024
    ev = load_evidence(path)
    findings = evaluate(windows_rules(), ev)
    windows_ids = {f.rule_id for f in findings if f.rule_id.startswith("win-")}
    assert windows_ids == EXPECTED
    port = next(f for f in findings if f.rule_id == "win-ephemeral-port-exhaustion")
    assert port.severity == "critical" and port.log_count == 3
    assert "free = 16384 - 16000 = 384 ports = 6 blocks of 64" in " ".join(port.fact_lines)
    # the event log lines reached the log index with their timestamps
    idx = ev.log_index
    ev_rows = idx.filter(idx["source"].cast(str).str.starts_with("eventlog/"))
    assert ev_rows.height == 2 and ev_rows["timestamp"].null_count() == 0


def test_local_windows_collection_through_fake_powershell(tmp_path, recorded_node, monkeypatch):
    from k8s_bundle.collector.runner import CollectOptions, Engine
    from k8s_bundle.collector.transports.powershell import PowerShellTransport
    from k8s_bundle.collector.windows import catalogue

    rec, drive = recorded_node
    monkeypatch.setenv("FAKE_WINDOWS_DIR", str(rec))
    fake = str(Path(__file__).with_name("fake_powershell.py"))
    out = tmp_path / "local.tgz"
    engine = Engine(CollectOptions(output=str(out), since="1h", since_seconds=3600, timeout=30, workers=4),
                    PowerShellTransport(powershell=fake, drives={"C": str(drive)}))
    result = engine.run(catalogue(engine.ctx))
    statuses = {r["id"]: r["status"] for r in result.items}
    assert statuses["reservedports"] == "ok" and statuses["eventlog-System"] == "ok"
    assert statuses["hnsdiag"] == "failed"        # no recorded hnsdiag: the failure is recorded
    with tarfile.open(out) as tf:
        manifest = json.load(tf.extractfile(next(m for m in tf.getmembers() if m.name.endswith("manifest.json"))))
        node_json = json.load(tf.extractfile(next(m for m in tf.getmembers() if m.name.endswith("/node.json"))))
    assert manifest["nodes"][0]["os"] == "windows" and node_json["versions"]["os_build"] == "10.0.17763.1397"
    fired = {f.rule_id for f in evaluate(windows_rules(), load_evidence(str(out)))}
    assert {"win-ephemeral-port-exhaustion", "win-flannel-stale-sourcevip", "win-pause-image-os-mismatch"} <= fired
