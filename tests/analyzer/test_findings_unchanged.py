"""The findings must stay identical while the analyzer's log reading is rewritten (issue 13).

Each golden under tests/analyzer/golden/ is the digest (golden/report_digest.py) of the JSON
report the code at commit 9cadd92 wrote for one input: every samples/*.tgz, and a small bench
bundle from bench/analyze_bench.py's generator (20 nodes, dense hits: 15 rules, 228 findings), which this
test generates again into tmp. The current code's report (a subprocess of the CLI, as a user
runs it) must give the same digest: findings with their counts, windows, per-file counts and
kept evidence lines, the errors-no-rule-explains templates, the timeline's counts, coverage.
A deliberate change re-records the goldens with golden/record.py.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "golden"))
import report_digest as rd  # noqa: E402

CLI = [sys.executable, "-m", "k8s_bundle.cli"]
CASES = [name for name, _ in rd.inputs()] + [rd.BENCH_NAME]


@pytest.fixture(scope="module")
def bench_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("bench") / f"{rd.BENCH_NAME}.tgz"
    return path, rd.make_bench_bundle(path)


def test_every_sample_has_a_golden() -> None:
    missing = [name for name in CASES if not rd.golden_path(name).exists()]
    assert not missing, f"no golden for {missing}: record them with tests/analyzer/golden/record.py"


@pytest.mark.parametrize("name", CASES)
def test_findings_unchanged(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    golden = json.loads(rd.golden_path(name).read_text(encoding="utf-8"))
    if name == rd.BENCH_NAME:
        bundle, sha = request.getfixturevalue("bench_bundle")
        assert sha == golden["input_sha256"], (
            "the bench bundle's content changed (bench/analyze_bench.py's generator was edited?): "
            "the goldens no longer describe it; re-record them from 9cadd92 with golden/record.py")
    else:
        bundle = dict(rd.inputs())[name]
    now = rd.report_digest(rd.analyze_json(CLI, bundle, tmp_path / "report.json"))
    diffs = rd.compare(golden, now)
    shown = "\n".join(diffs[:60]) + (f"\n... and {len(diffs) - 60} more" if len(diffs) > 60 else "")
    assert not diffs, f"{name}: the report differs from the golden recorded from {golden['recorded_from']}:\n{shown}"


def test_compare_names_what_differs() -> None:
    """The comparison reports a changed count, a lost finding and a moved evidence line by name."""
    golden = json.loads(rd.golden_path("broken-kubeadm").read_text(encoding="utf-8"))
    now = json.loads(json.dumps(golden))
    with_lines = next(f for f in now["findings"] if f["kept_lines"])
    with_lines["log_count"] += 1
    with_lines["kept_lines"][0] = with_lines["kept_lines"][0].replace("@", ":1@", 1)
    lost = now["findings"].pop()
    now["unexplained"][0]["count"] += 1
    diffs = "\n".join(rd.compare(golden, now))
    key = f"{with_lines['rule_id']}@{with_lines['node'] or '(bundle)'}"
    assert f"finding {key}: log_count: golden {with_lines['log_count'] - 1}, now {with_lines['log_count']}" in diffs
    assert f"finding {key}: kept evidence lines differ" in diffs
    assert f"finding {lost['rule_id']}@{lost['node'] or '(bundle)'}: in the golden, missing now" in diffs
    assert "unexplained: 1 entries golden, 1 now" in diffs
    assert rd.compare(golden, json.loads(json.dumps(golden))) == []
