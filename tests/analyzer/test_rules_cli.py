"""`k8s-bundle rules list|lint|test`, and every shipped rule's fixtures (one test per rule).

The shipped-rules test loads whatever is in the rules folder, so rules other engineers add are
tested here automatically through the real fixture harness (BundleWriter -> load_evidence ->
evaluate).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from k8s_bundle.analyzer.evaluate import load_rules
from k8s_bundle.analyzer.fixtures import run_rule_fixtures
from k8s_bundle.analyzer.rules_load import lint_rules

SHIPPED = load_rules()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "k8s_bundle.cli", *args], capture_output=True, text=True)


def test_shipped_rules_pass_lint() -> None:
    assert lint_rules(SHIPPED) == []


@pytest.mark.parametrize("rule", SHIPPED, ids=[r.id for r in SHIPPED])
def test_shipped_rule_fixtures(rule, tmp_path: Path) -> None:
    results = run_rule_fixtures(rule, tmp_path)
    assert {r.expect for r in results} - {"below"} == {"fire", "quiet"}   # `below` is optional
    failures = [r.describe() for r in results if not r.ok]
    assert failures == []


GOOD = {
    "id": "demo-rule",
    "severity": "warning",
    "platforms": ["linux"],
    "title": {"en": "Demo", "zh": "演示"},
    "cause": {"en": "c", "zh": "c"},
    "fix": {"en": "f", "zh": "f"},
    "match": {"log": {"sources": ["journal/kubelet.log"], "regex": "demo (?P<x>\\w+)"}},
    "tests": [
        {"name": "fires", "expect": "fire", "files": {
            "nodes/node1/logs/journal/kubelet.log": "2026-11-22T09:00:00.000001+00:00 node1 kubelet[1]: demo hello\n"}},
        {"name": "quiet", "expect": "quiet", "files": {
            "nodes/node1/logs/journal/kubelet.log": "2026-11-22T09:00:00.000001+00:00 node1 kubelet[1]: nothing\n"}},
    ],
}


def _write(d: Path, doc: dict, name: str | None = None) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    p = d / f"{name or doc['id']}.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return p


def test_rules_test_passes_and_fails_on_real_fixtures(tmp_path: Path) -> None:
    _write(tmp_path / "ok", GOOD)
    proc = cli("rules", "test", str(tmp_path / "ok"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 rules, 2 fixtures: 2 passed, 0 failed" in proc.stdout
    wrong = dict(GOOD, tests=[dict(GOOD["tests"][0], expect="quiet"), dict(GOOD["tests"][1], expect="fire")])
    _write(tmp_path / "bad", wrong)
    proc = cli("rules", "test", str(tmp_path / "bad"))
    assert proc.returncode == 1
    assert "FAIL demo-rule [quiet] fires: expected quiet, the rule fired" in proc.stdout
    assert "FAIL demo-rule [fire] quiet: expected the rule to fire, it stayed quiet" in proc.stdout


def test_rules_test_selects_rule_and_rejects_unknown(tmp_path: Path) -> None:
    _write(tmp_path, GOOD)
    _write(tmp_path, dict(GOOD, id="other-rule"))
    proc = cli("rules", "test", str(tmp_path), "--rule", "other-rule")
    assert proc.returncode == 0 and "1 rules, 2 fixtures" in proc.stdout
    proc = cli("rules", "test", str(tmp_path), "--rule", "nope")
    assert proc.returncode == 4 and proc.stderr.strip() == "k8s-bundle: error: no such rule: nope"


def test_lint_reports_every_bad_file_and_missing_fixtures(tmp_path: Path) -> None:
    _write(tmp_path, GOOD)
    _write(tmp_path, dict(GOOD, id="no-quiet", tests=GOOD["tests"][:1]))
    _write(tmp_path, dict(GOOD, id="bad-regex", match={"log": {"sources": ["x"], "regex": "a(?=b)"}}))
    _write(tmp_path, dict(GOOD, id="dup-one"), name="dup-a")
    _write(tmp_path, dict(GOOD, id="dup-one"), name="dup-b")
    _write(tmp_path, dict(GOOD, id="bad-message", message={"en": "{x} {nope}", "zh": "{x}"}))
    (tmp_path / "garbage.yaml").write_text("- just\n- a list\n")
    proc = cli("rules", "lint", str(tmp_path))
    assert proc.returncode == 4
    out = proc.stdout
    assert "bad-regex.yaml: log regex 'a(?=b)' does not compile (Rust regex dialect)" in out
    assert "no-quiet.yaml: rule no-quiet has no `quiet` fixture" in out
    assert "dup-b.yaml: duplicate rule id 'dup-one'" in out
    assert "garbage.yaml: a rule file holds one mapping" in out
    assert "bad-message.yaml: message.en uses {nope}" in out and "message.zh" not in out
    assert "Traceback" not in proc.stderr
    ok = tmp_path / "only-good"
    _write(ok, GOOD)
    proc = cli("rules", "lint", str(ok))
    assert proc.returncode == 0 and proc.stdout.strip() == "1 rules OK"


def test_rules_list_formats(tmp_path: Path) -> None:
    _write(tmp_path, GOOD)
    text = cli("rules", "list", str(tmp_path))
    assert text.returncode == 0 and text.stdout.splitlines()[0].split()[:3] == ["demo-rule", "warning", "linux"]
    md = cli("rules", "list", str(tmp_path), "--format", "markdown").stdout.splitlines()
    assert md[0].startswith("| id |") and md[2] == "| demo-rule | warning | linux |  | Demo | 演示 |"
    doc = json.loads(cli("rules", "list", str(tmp_path), "--format", "json").stdout)
    assert doc[0]["id"] == "demo-rule" and doc[0]["fixtures"] == 2
    shipped = json.loads(cli("rules", "list", "--format", "json").stdout)
    assert {r.id for r in SHIPPED} <= {r["id"] for r in shipped}  # (rules may be added meanwhile)


def test_bad_rules_dir_is_one_line_error(tmp_path: Path) -> None:
    proc = cli("rules", "list", str(tmp_path / "missing"))
    assert proc.returncode == 4 and proc.stderr.count("\n") == 1 and "no such rules directory" in proc.stderr
