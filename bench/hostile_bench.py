"""Benchmark: every hostile bundle of issue 11, with its time, peak memory and exit code.

    python3 bench/hostile_bench.py                  # all cases (a few minutes)
    python3 bench/hostile_bench.py log-1gib-nul-tail certs-1000

The cases are tests/hostile/cases.py (the test suite runs the same ones under their memory
bound). Each is generated under bench/out/hostile/ (git-ignored), run as a `k8s-bundle`
subprocess, and printed with its ratio against a baseline measured in the same run: `analyze`,
`verify` and `redact` of a small honest bundle (one node, one kubelet log), so the table reads "this
attack costs N times what a normal small bundle costs". Not a test: run on demand.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.hostile.cases import CASES, KLOG, KUBELET_LOG, Case, _tgz  # noqa: E402
from tests.hostile.harness import Outcome, run  # noqa: E402

OUT = ROOT / "bench" / "out" / "hostile"


def _measure(case: Case) -> Outcome:
    work = OUT / case.name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        return run(case, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(names: list[str]) -> int:
    honest = _tgz(lambda t: t.file(KUBELET_LOG, KLOG * 1000))
    base = {cmd: _measure(Case(f"baseline-{cmd}", honest, command=cmd, codes=(0, 1, 3)))
            for cmd in ("analyze", "verify", "redact")}
    for cmd, b in base.items():
        print(f"baseline {cmd}: {b.seconds:.2f} s, {b.peak_mb:.0f} MB (an honest one-node bundle)")
    print(f"{'case':34} {'bundle':>9} {'exit':>6} {'wall s':>8} {'x base':>7} {'peak MB':>8} {'x base':>7}  verdict")
    failed = 0
    for case in CASES:
        if names and case.name not in names:
            continue
        got = _measure(case)
        b = base[case.command]
        ok = got.code in case.codes and got.peak_mb <= case.max_mb
        failed += not ok
        code = got.killed or str(got.code)
        print(f"{case.name:34} {got.bundle_bytes / 1e6:8.2f}M {code:>6} {got.seconds:8.1f} {got.seconds / b.seconds:7.1f} "
              f"{got.peak_mb:8.0f} {got.peak_mb / b.peak_mb:7.1f}  {'ok' if ok else 'FAIL'}"
              + ("" if ok else f" (allowed exits {case.codes}, bound {case.max_mb} MB)"), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
