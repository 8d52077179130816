#!/usr/bin/env python3
"""Record the goldens of tests/analyzer/test_findings_unchanged.py: the digest (report_digest.py)
of `analyze`'s JSON report on every samples/*.tgz and on the small bench bundle.

    python3 tests/analyzer/golden/record.py [--k8s-bundle CMD] [--from LABEL]

CMD is the analyzer to record from (default: this interpreter's `-m k8s_bundle.cli`). The
goldens of issue 13 came from the code at commit 9cadd92, before the log reading was rewritten:

    git worktree add /tmp/golden-base 9cadd92
    python3 -m venv /tmp/golden-venv && /tmp/golden-venv/bin/pip install -q -e /tmp/golden-base
    python3 tests/analyzer/golden/record.py --k8s-bundle /tmp/golden-venv/bin/k8s-bundle --from 9cadd92
    git worktree remove /tmp/golden-base

Re-record only on purpose (a deliberate change of findings), and say why in the commit.
"""
from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report_digest as rd  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--k8s-bundle", default=f"{shlex.quote(sys.executable)} -m k8s_bundle.cli", metavar="CMD",
                    help="the analyzer to record from (a command line)")
    ap.add_argument("--from", dest="source", default="working tree", metavar="LABEL",
                    help="what CMD runs (a commit), written into each golden")
    args = ap.parse_args()
    command = shlex.split(args.k8s_bundle)
    with tempfile.TemporaryDirectory(prefix="golden-") as tmp:
        bench = Path(tmp) / f"{rd.BENCH_NAME}.tgz"
        todo = [(name, path, None) for name, path in rd.inputs()]
        todo.append((rd.BENCH_NAME, bench, rd.make_bench_bundle(bench)))
        for name, bundle, sha in todo:
            digest = rd.report_digest(rd.analyze_json(command, bundle, Path(tmp) / f"{name}.json"))
            golden = {"recorded_from": args.source, **({"input_sha256": sha} if sha else {}), **digest}
            path = rd.golden_path(name)
            path.write_text(rd.golden_text(golden), encoding="utf-8")
            print(f"{path.relative_to(rd.ROOT)}: {len(digest['findings'])} findings, "
                  f"{path.stat().st_size / 1e3:.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
