"""Start-up cost of the static collector binary (run on demand, never in the test suite).

    python3 bench/binary_startup.py [--runs N] [--binary dist/k8s-bundle]

Times `k8s-bundle --version` for the binary and, as the baseline measured in the same run on
the same machine, for the installed package (`python3 -m k8s_bundle.cli --version`). Prints
median wall and CPU (user+sys) seconds and the ratios binary/baseline. CPU time is the steadier
figure on a shared machine; issue 7's target is under 1 s wall for the binary.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _time(argv: list[str], runs: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--binary", default=str(REPO / "dist" / "k8s-bundle"))
    args = parser.parse_args()
    binary = Path(args.binary)
    if not os.access(binary, os.X_OK):
        print(f"binary_startup: {binary} not found; build it with `make binary`", file=sys.stderr)
        return 4
    cases = {
        "binary": [str(binary), "--version"],
        "baseline (python3 -m k8s_bundle.cli)": [sys.executable, "-m", "k8s_bundle.cli", "--version"],
    }
    results = {name: _time(argv, args.runs) for name, argv in cases.items()}
    print(f"size of {binary}: {binary.stat().st_size / 1e6:.1f} MB; {args.runs} runs each, medians")
    for name, (wall, cpu) in results.items():
        print(f"  {name:40s} wall {wall:.3f} s   cpu {cpu:.3f} s")
    (bw, bc), (pw, pc) = results.values()
    print(f"  ratio binary/baseline: wall {bw / pw:.2f}x, cpu {bc / pc:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
