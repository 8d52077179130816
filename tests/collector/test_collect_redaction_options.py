"""`collect --redact-rules FILE` and `collect --obfuscate ...` on the simulated node, through the
real CLI, read back from the real tarball."""
from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from collect_helpers import read_bundle, run_collect, simnode

LITERAL = "acme-lab-7731"
TICKET = "TCK-482913"          # only the custom regex knows this shape
CUSTOM_RULES = """\
version: 1
rules:
  - id: customer-lab
    kind: customer
    literals: ["acme-lab-7731"]
  - id: ticket-ids
    kind: ticket
    regex: 'TCK-(?P<secret>[0-9]{6})'
    prefilter: ["tck-"]
"""
NODE_IPS = ("192.168.1.10", "192.168.1.1")   # the simnode's address and its gateway


def _with_canaries(node: simnode.SimNode) -> None:
    hosts = node.root / "etc/hosts"
    hosts.write_text(hosts.read_text() + f"# lab {LITERAL}, opened by ticket {TICKET}\n")


def test_custom_rules_remove_values_the_builtin_rules_do_not_know(tmp_path: Path) -> None:
    node = simnode.build(tmp_path / "sim")
    _with_canaries(node)
    rules = tmp_path / "rules.yaml"
    rules.write_text(CUSTOM_RULES)
    out = tmp_path / "b.tgz"
    proc = run_collect(["--root", str(node.root), "--live", "-o", str(out), "--timeout", "2",
                        "--only", "network,system", "--redact-rules", str(rules)], env=node.env())
    assert proc.returncode == 0, proc.stderr
    bundle = read_bundle(out)
    hosts = bundle.text("nodes/cp1/files/etc/hosts")
    assert "<redacted:customer:" in hosts and "<redacted:ticket:" in hosts
    for member, data in bundle.members.items():
        assert LITERAL.encode() not in data, member
        assert b"482913" not in data, member
    counts = bundle.json("redaction.json")
    assert counts["by_rule"]["customer-lab"] >= 1 and counts["by_rule"]["ticket-ids"] >= 1
    assert counts["by_file"]["nodes/cp1/files/etc/hosts"] == {"customer-lab": 1, "ticket-ids": 1}
    assert bundle.item("hosts")["redactions"] == 2


def test_bad_rules_file_is_one_line_exit_4_and_no_output(tmp_path: Path) -> None:
    node = simnode.build(tmp_path / "sim")
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nrules:\n  - id: x\n    kind: y\n    regex: '(unclosed'\n")
    out = tmp_path / "b.tgz"
    proc = run_collect(["--root", str(node.root), "--live", "-o", str(out),
                        "--redact-rules", str(rules)], env=node.env())
    assert proc.returncode == 4
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "rules.yaml" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(tmp_path.glob("b.tgz*")) == []


@pytest.fixture(scope="module")
def obfuscated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("obf")
    node = simnode.build(base / "sim")
    out = base / "out" / "b.tgz"
    out.parent.mkdir()   # collect creates no directory (a missing one is a one-line exit 4)
    proc = run_collect(["--root", str(node.root), "--live", "-o", str(out), "--timeout", "2",
                        "--obfuscate", "hostnames,ips"], env=node.env())
    assert proc.returncode == 0, proc.stderr
    assert "obfuscation map" in proc.stderr
    return out, out.with_name(out.name + ".obfuscation-map.json")


def test_obfuscate_hides_the_hostname_and_ips_everywhere(obfuscated: tuple[Path, Path]) -> None:
    out, _ = obfuscated
    bundle = read_bundle(out)
    ip_res = [re.compile(rb"(?<![\d.])" + re.escape(ip.encode()) + rb"(?![\d])") for ip in NODE_IPS]
    assert "cp1" not in bundle.top
    assert bundle.members, "empty bundle"
    for member, data in bundle.members.items():
        assert "cp1" not in member.lower(), member
        assert b"cp1" not in data.lower(), member
        for r in ip_res:
            assert not r.search(data), (member, r.pattern)
    nodes = [n["name"] for n in bundle.manifest["nodes"]]
    assert len(nodes) == 1 and nodes[0].startswith("host-")
    assert any(m.startswith(f"nodes/{nodes[0]}/files/etc/") for m in bundle.members)
    assert bundle.json("redaction.json")["obfuscation"] == ["hostnames", "ips"]


def test_obfuscation_map_beside_the_bundle_private_and_complete(obfuscated: tuple[Path, Path]) -> None:
    out, map_path = obfuscated
    assert map_path.parent == out.parent and map_path.is_file()
    assert stat.S_IMODE(map_path.stat().st_mode) == 0o600
    mapping = json.loads(map_path.read_text())
    assert "cp1" in mapping["hostnames"]
    assert all(ip in mapping["ips"] for ip in NODE_IPS)
    node = read_bundle(out).manifest["nodes"][0]["name"]
    assert mapping["hostnames"]["cp1"] == node
    # nothing of the map inside the bundle
    assert mapping["key"].encode() not in b"".join(read_bundle(out).members.values())


def test_analyze_reads_the_obfuscated_bundle(obfuscated: tuple[Path, Path]) -> None:
    from k8s_bundle.analyzer.evidence import load_evidence

    out, _ = obfuscated
    node = read_bundle(out).manifest["nodes"][0]["name"]
    assert list(load_evidence(str(out)).nodes) == [node]
    report = out.with_name("report.json")
    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(out), "--format",
                           "json", "-o", str(report), "-q"], capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1, 3), proc.stderr
    findings = json.loads(report.read_text())["findings"]
    # the simulated node's problems are still found through the obfuscation (swap on)
    assert any("swap" in f["rule_id"] for f in findings), [f["rule_id"] for f in findings]
