"""Every attack of issue 11 ends in a report or a one-line exit 4, within its memory bound.

The bundles are generated at test time (tests/hostile/cases.py); each run is a real
`k8s-bundle` subprocess. Time is bounded by a hard timeout per case (a hung run fails), not
asserted: figures are for bench/hostile_bench.py.
"""
from __future__ import annotations

import gzip
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.hostile.cases import CASES, PASSWORD, Case  # noqa: E402
from tests.hostile.harness import run  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_case(case: Case, tmp_path: Path) -> None:
    got = run(case, tmp_path)
    assert got.code is not None, f"{case.name}: killed ({got.killed}: {case.timeout} s, {2 * case.max_mb} MB)"
    assert got.code in case.codes, f"{case.name}: exit {got.code}\n{got.stderr[-2000:]}"
    assert "Traceback" not in got.stderr
    if got.code == 4:
        assert len(got.stderr.strip().splitlines()) == 1, got.stderr
    assert got.peak_mb <= case.max_mb, f"{case.name}: peak {got.peak_mb:.0f} MB > {case.max_mb} MB"
    for stream in (got.stdout, got.stderr):
        assert "\x1b" not in stream and "\x07" not in stream, "raw control characters reached the terminal"
    if case.finding:
        named = [f for f in got.findings if f.get("rule_id", f.get("id")) == case.finding]
        assert named, f"{case.name}: no {case.finding} finding; ids: {[f.get('rule_id') for f in got.findings]}"
        text = str(named)
        for word in case.mentions:
            assert word in text, f"{case.name}: {case.finding} does not name {word!r}"
    elif case.mentions:
        text = got.stdout + got.stderr
        for word in case.mentions:
            assert word in text, f"{case.name}: output does not name {word!r}"
    if case.command == "verify":
        assert PASSWORD not in got.stdout + got.stderr, "verify printed the secret it found"
    if case.command == "redact":
        assert not _holds(tmp_path / "redacted.tgz", PASSWORD.encode()), "the secret survived redaction"


def _holds(tgz: Path, needle: bytes) -> bool:
    """Whether the decompressed stream holds `needle` (read in blocks, never whole)."""
    tail = b""
    with gzip.open(tgz, "rb") as fh:
        while block := fh.read(1 << 22):
            if needle in tail + block[: len(needle)] or needle in block:
                return True
            tail = block[-len(needle):]
    return False


def test_planted_report_links_are_not_followed(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "report-part-symlink")
    got = run(case, tmp_path)
    assert got.code in case.codes, got.stderr
    assert (tmp_path / "victim.txt").read_text() == "precious\n"
