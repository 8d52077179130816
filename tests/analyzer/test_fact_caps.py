"""Caps on fact files and wrong JSON types (issue 11): bundles generated here, each run through
the whole analysis (evidence, rules, blind spots, unexplained lines, the three renderers)."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from k8s_bundle.analyzer import render
from k8s_bundle.analyzer.blindspots import with_blind_spots
from k8s_bundle.analyzer.evaluate import evaluate, load_rules
from k8s_bundle.analyzer.evidence import load_evidence
from k8s_bundle.analyzer.model import Evidence, Finding
from k8s_bundle.analyzer.parsers import DEFAULT_MAX_LINES, DEFAULT_MAX_RECORDS, MAX_DEPTH, registry
from k8s_bundle.analyzer.parsers._util import MAX_CONFIG_CHARS, load_yaml
from k8s_bundle.analyzer.unexplained import unexplained_templates

CREATED = "2026-11-22T11:30:00Z"


@pytest.fixture(scope="module")
def rules() -> list:
    return load_rules()


def node_json(name: str = "n1") -> dict[str, Any]:
    return {"name": name, "hostname": name, "os": "linux", "kernel": "5.15.0-105-generic", "runtime": "containerd"}


def bundle(root: Path, files: dict[str, Any], manifest: Any = None) -> Path:
    if manifest is None:
        manifest = {"format_version": "1.0", "created_at": CREATED, "nodes": [{"name": "n1", "os": "linux"}], "items": []}
    files = {"manifest.json": manifest, "nodes/n1/node.json": node_json(), **files}
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            path.write_text(data)
        elif isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(json.dumps(data))
    return root


def analyze(path: Path, rules: list) -> tuple[Evidence, list[Finding]]:
    evidence = load_evidence(str(path))
    findings = with_blind_spots(evaluate(rules, evidence), rules, evidence)
    unexplained = unexplained_templates(evidence, rules)
    render.render_html(evidence, findings, lang="en", unexplained=unexplained)
    render.render_json(evidence, findings, unexplained=unexplained)
    render.render_text(evidence, findings, lang="en", report_path=None, color=False, unexplained=unexplained)
    return evidence, findings


def limit_messages(evidence: Evidence) -> list[str]:
    return [p.message for p in evidence.problems if p.kind == "limit"]


def finding_text(findings: list[Finding], rule_id: str) -> str:
    return "\n".join(f.message.get("en", "") + "\n" + "\n".join(f.fact_lines) for f in findings if f.rule_id == rule_id)


# -- records and lines -----------------------------------------------------------------------
def test_mounts_past_the_record_cap_keep_the_first_and_say_how_many_were_left_out(tmp_path: Path, rules: list) -> None:
    n = DEFAULT_MAX_RECORDS + 1234
    text = "".join(f"tmpfs /var/lib/kubelet/pods/{i}/volumes tmpfs rw,nosuid 0 0\n" for i in range(n))
    evidence, findings = analyze(bundle(tmp_path, {"nodes/n1/commands/mounts.txt": text}), rules)
    mounts = evidence.nodes["n1"]["mounts"]
    assert len(mounts) == DEFAULT_MAX_RECORDS and mounts[0]["mount"] == "/var/lib/kubelet/pods/0/volumes"
    [msg] = limit_messages(evidence)
    assert "nodes/n1/commands/mounts.txt" in msg and "max_records" in msg and "1,234" in msg
    assert "1,234" in finding_text(findings, "bundle-limit-reached")


def test_a_line_parser_reads_at_most_max_lines(tmp_path: Path, rules: list) -> None:
    n = DEFAULT_MAX_LINES + 500
    text = "Module Size Used by\n" + "".join(f"m{i} 16384 0\n" for i in range(n - 1))
    evidence, _ = analyze(bundle(tmp_path, {"nodes/n1/commands/lsmod.txt": text}), rules)
    msgs = limit_messages(evidence)
    assert any("lsmod.txt" in m and "max_lines" in m and f"{DEFAULT_MAX_LINES:,} of {n:,} lines" in m for m in msgs)
    assert len(evidence.nodes["n1"]["lsmod"]) <= DEFAULT_MAX_RECORDS


def test_certificates_past_their_cap(tmp_path: Path, rules: list) -> None:
    certs = [{"path": f"/etc/kubernetes/pki/c{i}.crt", "subject": f"CN=c{i}", "issuer": "CN=kubernetes",
              "not_after": "2027-01-01T00:00:00Z", "not_before": "2025-01-01T00:00:00Z"} for i in range(1500)]
    evidence, _ = analyze(bundle(tmp_path, {"nodes/n1/certs.json": {"certificates": certs}}), rules)
    assert len(evidence.nodes["n1"]["certs"]) == 1000
    assert any("certs.json" in m and "leaving out 500" in m for m in limit_messages(evidence))


def test_nested_lists_in_a_dict_fact_are_capped_too() -> None:
    spec = next(s for s in registry().parsers if s.fact == "crictl_ps")
    doc = {"containers": [{"id": str(i)} for i in range(spec.max_records + 7)]}
    value, notes = spec.run_capped(json.dumps(doc), "commands/crictl-ps.json")
    assert len(value["containers"]) == spec.max_records and notes == [("limit", notes[0][1])] and "leaving out 7" in notes[0][1]


def test_processes_keep_their_larger_cap() -> None:
    spec = next(s for s in registry().parsers if s.fact == "processes")
    procs = [{"pid": i, "name": "x"} for i in range(spec.max_records + 1)]
    value, notes = spec.run_capped(json.dumps(procs), "commands/processes.json")
    assert spec.max_records >= 20_000 and len(value) == spec.max_records and notes   # a busy node: a few thousand


def test_hostile_certificates_cost_linear_time(tmp_path: Path, rules: list) -> None:
    """1,000 records that make the nested certificate rules walk certs x certs (was > 200 s)."""
    cert = {"path": "/etc/kubernetes/pki/ca.crt", "fingerprint_sha256": "AA", "not_after": "2020-01-01T00:00:00Z",
            "subject": "CN=x", "issuer": "CN=x", "sans": ["DNS:a"]}
    certs = [dict(cert, kubeconfig=f"/etc/kubernetes/kubelet.conf#c{i}.certificate-authority-data") for i in range(1000)]
    path = bundle(tmp_path, {"nodes/n1/certs.json": {"certificates": certs}})
    t0 = time.monotonic()
    evidence, findings = analyze(path, rules)
    assert time.monotonic() - t0 < 60
    assert "cert-expired" in {f.rule_id for f in findings}


# -- depth and YAML -----------------------------------------------------------------------
def test_facts_nested_too_deep_are_pruned(tmp_path: Path, rules: list) -> None:
    deep = '{"kubelet": ' + '{"a": [' * 450 + '"leaf"' + ']}' * 450 + '}'     # 900 levels: orjson reads 1,024
    evidence, _ = analyze(bundle(tmp_path, {"nodes/n1/commands/binaries.json": deep}), rules)
    assert any(f"deeper than {MAX_DEPTH} levels (max_depth)" in m and "binaries.json" in m for m in limit_messages(evidence))
    assert "kubelet" in evidence.nodes["n1"]["binaries"]


def test_yaml_aliases_refused_and_size_capped() -> None:
    laughs = "a: &a [x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 8)}]\n" for i in range(9))
    for text in (laughs, "a: &a [*a]\n"):
        with pytest.raises(ValueError, match="aliases"):
            load_yaml(text)
    with pytest.raises(ValueError, match="larger than"):
        load_yaml("{a: [" + "1," * (MAX_CONFIG_CHARS // 2) + "1]}")


def test_flow_style_kubelet_config_at_the_cap_parses_in_seconds(tmp_path: Path, rules: list) -> None:
    body = "{a: [" + ",".join(str(i) for i in range(150_000)) + "]}"
    assert len(body) < MAX_CONFIG_CHARS
    path = bundle(tmp_path, {"nodes/n1/files/var/lib/kubelet/config.yaml": body})
    t0 = time.monotonic()
    evidence, _ = analyze(path, rules)
    assert time.monotonic() - t0 < 30
    assert "kubelet_config" in evidence.nodes["n1"]


# -- wrong JSON types ---------------------------------------------------------------------
WRONG = [None, "x", 7, True, [], {}, ["x"], {"a": [1]}]


@pytest.mark.parametrize("field", ["nodes", "items", "tool", "created_at", "partial", "collection"])
@pytest.mark.parametrize("value", WRONG, ids=repr)
def test_manifest_fields_of_any_type_give_a_report(tmp_path: Path, rules: list, field: str, value: Any) -> None:
    manifest = {"format_version": "1.0", "created_at": CREATED, "nodes": [{"name": "n1"}], "items": [], field: value}
    evidence, _ = analyze(bundle(tmp_path, {}, manifest), rules)
    assert "n1" in evidence.nodes


@pytest.mark.parametrize("entry", [{"name": ["x"]}, {"name": {"a": 1}}, {"name": 7}, {"name": None}, ["x"], "n1", 5,
                                   {"name": "n1", "os": ["linux"], "utc_offset_seconds": "3600", "timezone": {}}])
def test_manifest_node_entries_of_any_type(tmp_path: Path, rules: list, entry: Any) -> None:
    manifest = {"format_version": "1.0", "created_at": CREATED, "nodes": [entry], "items": []}
    evidence, _ = analyze(bundle(tmp_path, {}, manifest), rules)
    assert any(p.path == "manifest.json" and p.kind == "parse-error" for p in evidence.problems)


@pytest.mark.parametrize("item", [["x"], "x", {"id": ["a"], "node": {"b": 1}, "status": ["failed"], "path": 5, "error": {"e": 1}},
                                  {"id": "certs", "node": "n1", "status": "failed", "error": ["boom"], "exit_code": "1"}])
def test_manifest_items_of_any_type(tmp_path: Path, rules: list, item: Any) -> None:
    manifest = {"format_version": "1.0", "created_at": CREATED, "nodes": [{"name": "n1"}], "items": [item]}
    evidence, _ = analyze(bundle(tmp_path, {}, manifest), rules)
    assert all(isinstance(i, dict) for i in evidence.manifest["items"])


@pytest.mark.parametrize("file", ["nodes/n1/node.json", "nodes/n1/certs.json", "nodes/n1/commands/processes.json",
                                  "nodes/n1/commands/binaries.json", "nodes/n1/commands/crictl-ps.json",
                                  "nodes/n1/commands/kubeconfig-probe.json", "cluster/pods.json", "cluster/nodes.json"])
@pytest.mark.parametrize("value", WRONG + [[None], [7], [{"path": 7, "not_after": [], "name": {}, "metadata": 5}]], ids=repr)
def test_fact_files_of_any_type_give_a_report(tmp_path: Path, rules: list, file: str, value: Any) -> None:
    evidence, _ = analyze(bundle(tmp_path, {file: value}), rules)
    assert "n1" in evidence.nodes


@pytest.mark.parametrize("key", ["os", "name", "kernel", "roles", "versions", "certs", "mounts", "kubernetes", "windows",
                                 "items", "processes", "kubelet_config", "hostname", "utc_offset_seconds", "timezone"])
@pytest.mark.parametrize("value", WRONG, ids=repr)
def test_node_json_keys_of_any_type(tmp_path: Path, rules: list, key: str, value: Any) -> None:
    """node.json merges into the top of the node's facts: every fact name it sets may clash."""
    evidence, _ = analyze(bundle(tmp_path, {"nodes/n1/node.json": {**node_json(), key: value}}), rules)
    assert evidence.nodes["n1"]["name"] == "n1"


# -- what the report shows ------------------------------------------------------------------
def test_a_manifest_of_many_failed_items_gives_a_small_report(tmp_path: Path, rules: list) -> None:
    """120,000 failed items made a 40 MB HTML report in 116 s."""
    from k8s_bundle.bundle.manifest import MAX_ITEMS_PER_NODE
    from k8s_bundle.analyzer.render.common import MAX_PROBLEMS_SHOWN_PER_NODE

    items = [{"id": f"cmd{i}", "node": "n1", "status": "failed", "error": f"exit {i}", "kind": "command"}
             for i in range(MAX_ITEMS_PER_NODE + 3000)]
    manifest = {"format_version": "1.0", "created_at": CREATED, "nodes": [{"name": "n1"}], "items": items}
    evidence = load_evidence(str(bundle(tmp_path, {}, manifest)))
    findings = evaluate(rules, evidence)
    assert len(evidence.nodes["n1"]["items"]) == MAX_ITEMS_PER_NODE
    assert "3,000 items left out" in finding_text(findings, "bundle-limit-reached")
    html = render.render_html(evidence, findings, lang="en")
    assert len(html) < 500_000 and html.count("exit ") == MAX_PROBLEMS_SHOWN_PER_NODE
    assert f"{MAX_ITEMS_PER_NODE - MAX_PROBLEMS_SHOWN_PER_NODE} more items with problems on this node" in html
    doc = json.loads(render.render_json(evidence, findings))
    assert len(doc["collection_problems"]) == MAX_PROBLEMS_SHOWN_PER_NODE
    assert doc["collection_problems_left_out"] == {"n1": MAX_ITEMS_PER_NODE - MAX_PROBLEMS_SHOWN_PER_NODE}
    text = render.render_text(evidence, findings, lang="en", report_path=None, color=False)
    assert f"{MAX_ITEMS_PER_NODE} collection item(s) failed" in text


def test_messages_list_at_most_a_few_values() -> None:
    from k8s_bundle.analyzer.evaluate import MAX_LIST_IN_MESSAGE, MAX_TEXT, format_message

    msg = format_message("Expired: {certs}", {"certs": [f"c{i}.crt" for i in range(5000)]})
    assert msg.endswith(f", … (+{5000 - MAX_LIST_IN_MESSAGE})") and msg.count(".crt") == MAX_LIST_IN_MESSAGE
    assert len(format_message("{x}", {"x": "a" * 100_000})) == MAX_TEXT


def test_integers_past_int64_in_yaml_give_a_report(tmp_path: Path, rules: list) -> None:
    """YAML integers have no bound; celpy refuses ints past int64 (was exit 5 in the engine)."""
    config = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nmaxPods: 99999999999999999999999\n"
    evidence, _ = analyze(bundle(tmp_path, {"nodes/n1/files/var/lib/kubelet/config.yaml": config}), rules)
    assert evidence.nodes["n1"]["kubelet_config"]["maxPods"] == 99999999999999999999999


def test_a_config_past_the_size_cap_is_a_limit_finding(tmp_path: Path, rules: list) -> None:
    body = "{a: [" + ",".join(["1"] * (MAX_CONFIG_CHARS // 2)) + "]}"
    evidence, findings = analyze(bundle(tmp_path, {"nodes/n1/files/var/lib/kubelet/config.yaml": body}), rules)
    assert "kubelet_config" not in evidence.nodes["n1"]
    text = finding_text(findings, "bundle-limit-reached")
    assert "config.yaml" in text and "max config size" in text
