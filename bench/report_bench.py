#!/usr/bin/env python3
"""Benchmark the HTML report of a large bundle: its size and how fast Chromium opens it.

Uses the 20-node bench bundle of bench/analyze_bench.py (generated once into bench/out/ if
missing), writes its HTML report with `k8s-bundle analyze`, then, in the same run, opens in
headless Chromium (Debian's chromium, driven by playwright), medians of --runs:

  baseline: the same page with its script removed (what the bytes and the layout cost alone)
  report:   the page as shipped (script: folding, filters, search, timeline)

and prints the report's size (target: under 10 MB), the time to the load event of each
(target: the report under 2 s) and their ratio, plus the time the search box takes to filter
the page for one query.

    python3 bench/report_bench.py [--bundle PATH] [--runs 3]
"""
from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
CHROMIUM = "/usr/bin/chromium"
SIZE_TARGET = 10_000_000
LOAD_TARGET_S = 2.0


def load_times(page_paths: list[Path], runs: int) -> list[list[float]]:
    from playwright.sync_api import sync_playwright

    out: list[list[float]] = [[] for _ in page_paths]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless", "--disable-gpu"])
        for _ in range(runs):
            for i, path in enumerate(page_paths):
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(path.as_uri(), wait_until="load")
                # navigation timing: start of the navigation to the end of the load event
                ms = page.evaluate("(() => { const t = performance.getEntriesByType('navigation')[0];"
                                   " return t.loadEventEnd - t.startTime; })()")
                out[i].append(ms / 1000.0)
                page.close()
        browser.close()
    return out


def search_time(path: Path, query: str) -> float:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless", "--disable-gpu"])
        page = browser.new_page()
        page.goto(path.as_uri(), wait_until="load")
        t0 = time.perf_counter()
        page.fill("#search", query)
        while "q=" not in page.evaluate("location.hash"):   # (wait_for_function needs eval: the CSP forbids it)
            time.sleep(0.01)
        elapsed = time.perf_counter() - t0 - 0.12    # search.js waits 120 ms after the last key
        browser.close()
    return max(elapsed, 0.0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", type=Path, default=OUT / "bench-20n-1gb.tgz")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing (apt-get install chromium)", file=sys.stderr)
        return 2
    if not args.bundle.exists():
        sys.path.insert(0, str(HERE))
        from analyze_bench import generate   # the 20-node, 1 GB bundle

        print(f"generating {args.bundle} ...", flush=True)
        generate(args.bundle, 20, 1.0)
    report = OUT / "report-bench.html"
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(args.bundle), "-o", str(report), "-q"],
                          capture_output=True, text=True)
    analyze_s = time.perf_counter() - t0
    if proc.returncode not in (0, 1, 3):
        print(proc.stderr, file=sys.stderr)
        return 1
    html = report.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        static = Path(tmp) / "static.html"
        static.write_text(re.sub(r"<script>.*?</script>", "", html, flags=re.S), encoding="utf-8")
        base, full = load_times([static, report], args.runs)
        search_s = search_time(report, "kubelet")
    size = len(html.encode("utf-8"))
    b, r = statistics.median(base), statistics.median(full)
    print(f"bundle:   {args.bundle} ({args.bundle.stat().st_size / 1e6:.0f} MB), analyze to HTML {analyze_s:.1f} s")
    print(f"report:   {size / 1e6:.2f} MB  (target < {SIZE_TARGET / 1e6:.1f} MB: {'ok' if size < SIZE_TARGET else 'OVER'})")
    print(f"load:     baseline (no script) {b:.2f} s   report {r:.2f} s   ratio {r / b:.2f}x   "
          f"(target < {LOAD_TARGET_S:.0f} s: {'ok' if r < LOAD_TARGET_S else 'OVER'}; medians of {args.runs})")
    print(f"search:   one query filters the page in {search_s:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
