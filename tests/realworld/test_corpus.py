"""The public-case corpus as the test suite runs it (tests/realworld/README.md): every case in
both forms through the real collector (Linux) or a Windows bundle, then the analyzer.

Behaviour, not timing: the hit rates per form and per class, the healthy variants' false
alarms, and the shape of the corpus itself (sources cited, classes and rule ids that exist).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.realworld import run as corpus  # noqa: E402

# The targets ("done when"): each form >= 95 %, each class >= 85 %, no false alarm.
MIN_FORM_RATE = 0.95
MIN_CLASS_RATE = 0.85
MIN_CASES = {"linux": 150, "windows": 50}
MIN_CLASSES = 12
MIN_PER_CLASS = 8
MIN_HEALTHY = 8
SOURCE = re.compile(r"^[\w.-]+/[\w.-]+#\d+$|^https?://\S+$")

CASES = corpus.load_cases()
HEALTHY = corpus.load_healthy()


@pytest.fixture(scope="module")
def results() -> list[corpus.Result]:
    return corpus.run(CASES + HEALTHY, jobs=2)


def test_corpus_shape() -> None:
    from k8s_bundle.analyzer.evaluate import default_rules_dir, load_rules

    import yaml

    classes = yaml.safe_load((corpus.HERE / "classes.yaml").read_text())
    rule_ids = {r.id for r in load_rules([default_rules_dir()])}
    problems = []
    for c in CASES:
        where = c["_path"]
        if c.get("class") not in classes or Path(where).parent.name != c.get("class"):
            problems.append(f"{where}: class {c.get('class')!r} is not its folder or not in classes.yaml")
        if not SOURCE.match(str(c.get("source", ""))):
            problems.append(f"{where}: source {c.get('source')!r} is not owner/repo#N or a URL")
        if not str(c.get("diagnosis", "")).strip():
            problems.append(f"{where}: no diagnosis")
        if not c.get("logs") and not c.get("files") and not c.get("commands"):
            problems.append(f"{where}: no evidence (logs, files or commands)")
        unknown = [r for r in c.get("expect") or [] if r not in rule_ids]
        if not c.get("expect") or unknown:
            problems.append(f"{where}: expect {c.get('expect')} names unknown rules {unknown}")
        if c.get("id") != Path(where).stem:
            problems.append(f"{where}: id {c.get('id')!r} is not the file name")
    assert not problems, "\n".join(problems)
    per_platform = {p: sum(c.get("platform", "linux") == p for c in CASES) for p in MIN_CASES}
    assert all(per_platform[p] >= n for p, n in MIN_CASES.items()), per_platform
    per_class: dict[str, int] = {}
    for c in CASES:
        per_class[c["class"]] = per_class.get(c["class"], 0) + 1
    assert sum(n >= MIN_PER_CLASS for n in per_class.values()) >= MIN_CLASSES, per_class
    assert len(HEALTHY) >= MIN_HEALTHY


def test_every_case_runs(results: list[corpus.Result]) -> None:
    errors = [f"{r.id} [{r.form}]: {r.error}" for r in results if r.error]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("form", corpus.FORMS)
def test_hit_rate_per_form(results: list[corpus.Result], form: str) -> None:
    rs = [r for r in results if not r.healthy and r.form == form]
    rate = sum(r.diagnosed for r in rs) / len(rs)
    assert rate >= MIN_FORM_RATE, f"{form}: {rate:.0%}\n{corpus.tables(results)}\n{corpus.misses(results)}"


def test_hit_rate_per_class(results: list[corpus.Result]) -> None:
    low = {}
    for cls in sorted({r.cls for r in results if not r.healthy}):
        rs = [r for r in results if r.cls == cls and not r.healthy]
        rate = sum(r.diagnosed for r in rs) / len(rs)
        if rate < MIN_CLASS_RATE:
            low[cls] = f"{rate:.0%}"
    assert not low, f"{low}\n{corpus.misses(results)}"


def test_healthy_variants_raise_no_alarm(results: list[corpus.Result]) -> None:
    alarms = [f"{r.id} [{r.form}]: {', '.join(r.severe)}" for r in results if r.healthy and (r.severe or r.error)]
    assert not alarms, "\n".join(alarms)


def test_undiagnosed_lines_surface_as_templates(results: list[corpus.Result]) -> None:
    """Where the case is not diagnosed, its error line is among the first 10 templates of the
    errors no rule explains, so the engineer still sees it near the top."""
    missed = [r for r in results if not r.healthy and not r.diagnosed and r.line_in_templates is not None]
    hidden = [f"{r.id} [{r.form}]" for r in missed if not r.line_in_templates]
    assert not hidden, "case lines not among the first 10 templates: " + ", ".join(hidden)
