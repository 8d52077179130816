#!/usr/bin/env python3
"""Benchmark `k8s-bundle collect` (run on demand, never in the test suite).

1. This machine, bare: a full `k8s-bundle collect` against `sos report --batch` (Debian's
   sosreport, `apt-get install -y sosreport`) with the plugins that load on Debian and overlap
   our scope, alternating runs in the same process so both see the same machine. Prints the
   wall-time ratio, peak memory (the process tree's summed RSS, sampled, and the largest
   single process) and how many items each gathered.
2. A simulated busy node (tests/simnode): a journal of 10 GB per unit (a fake journalctl that
   prints fast and honours -n, as the real one does) and thousands of pod logs. The run must
   stay bounded by the caps and finish in under a minute.

    python3 bench/collect_bench.py [--runs 3] [--pods 3000] [--pod-log-kb 150] [--no-sos]
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "simnode"))

SOS_PLUGINS = "kernel,networking,logs,systemd,process,filesys,boot,date,hardware,host,memory,devices"
MEMORY_LIMIT_MB = 200
BUSY_LIMIT_S = 60


def run_measured(argv: list[str], env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> dict[str, float]:
    """Wall time, peak summed RSS of the whole process tree (sampled every 20 ms) and the
    largest single process's peak RSS (kernel accounting, via a wrapper's RUSAGE_CHILDREN)."""
    wrapper = ("import resource, subprocess, sys\n"
               "rc = subprocess.call(sys.argv[1:])\n"
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
               "sys.exit(rc)\n")
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", wrapper, *argv], env=env, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
                total = 0
                for p in procs[1:]:              # the wrapper itself is not measured
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
                peak = max(peak, total)
            except psutil.Error:
                pass
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    wall = time.monotonic() - t0
    done.set()
    sampler.join()
    lines = err.strip().splitlines()
    single_kb = int(lines[-1]) if lines and lines[-1].isdigit() else 0
    return {"wall_s": wall, "tree_peak_mb": peak / 1e6, "max_proc_mb": single_kb / 1024,
            "rc": proc.returncode, "stderr": "\n".join(lines[:-1])}


def ours(out: Path, extra: list[str] | None = None, env: dict[str, str] | None = None) -> dict:
    r = run_measured([sys.executable, "-m", "k8s_bundle.cli", "collect", "-o", str(out),
                      "--force", *(extra or [])], env=env)
    if r["rc"] not in (0,):
        raise SystemExit(f"collect failed ({r['rc']}): {r['stderr']}")
    with tarfile.open(out) as tar:
        names = [m.name for m in tar if m.isfile()]
        manifest = json.load(tar.extractfile([m for m in tar.getmembers()
                                              if m.name.endswith("/manifest.json")][0]))
    r["items"] = len(manifest["items"])
    r["stored_files"] = len(names) - 2
    r["by_status"] = {}
    for it in manifest["items"]:
        r["by_status"][it["status"]] = r["by_status"].get(it["status"], 0) + 1
    r["bundle_mb"] = out.stat().st_size / 1e6
    r["manifest"] = manifest
    return r


def sos(tmp: Path) -> dict:
    if shutil.which("sos") is None:
        raise SystemExit("sos is not installed: apt-get install -y sosreport (or pass --no-sos)")
    d = tmp / "sos"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir()
    r = run_measured(["sos", "report", "--batch", "--quiet", "-o", SOS_PLUGINS,
                      "--tmp-dir", str(d)])
    archive = next(p for p in d.glob("sosreport-*.tar.*") if not p.name.endswith((".md5", ".sha256")))
    with tarfile.open(archive) as tar:
        files = [m.name for m in tar if m.isfile()]
    # What sos gathered: copied files and command outputs (its own logs and reports excluded).
    r["stored_files"] = len([f for f in files if "/sos_logs/" not in f and "/sos_reports/" not in f])
    r["commands"] = len([f for f in files if "/sos_commands/" in f])
    r["bundle_mb"] = archive.stat().st_size / 1e6
    return r


def bare_machine(runs: int, with_sos: bool, tmp: Path) -> None:
    print(f"== this machine: k8s-bundle collect vs sos report ({runs} runs each, alternating)")
    our_runs, sos_runs = [], []
    for _ in range(runs):
        our_runs.append(ours(tmp / "ours.tgz"))
        if with_sos:
            sos_runs.append(sos(tmp))
    o_wall = statistics.median(r["wall_s"] for r in our_runs)
    o_tree = max(r["tree_peak_mb"] for r in our_runs)
    o_proc = max(r["max_proc_mb"] for r in our_runs)
    last = our_runs[-1]
    print(f"k8s-bundle: median {o_wall:.2f}s, peak tree RSS {o_tree:.0f} MB, largest process "
          f"{o_proc:.0f} MB, {last['items']} manifest items ({last['stored_files']} files stored, "
          f"{last['by_status']}), bundle {last['bundle_mb']:.2f} MB")
    if with_sos:
        s_wall = statistics.median(r["wall_s"] for r in sos_runs)
        s_tree = max(r["tree_peak_mb"] for r in sos_runs)
        s_proc = max(r["max_proc_mb"] for r in sos_runs)
        sl = sos_runs[-1]
        print(f"sos report: median {s_wall:.2f}s, peak tree RSS {s_tree:.0f} MB, largest process "
              f"{s_proc:.0f} MB, {sl['stored_files']} files ({sl['commands']} command outputs), "
              f"archive {sl['bundle_mb']:.2f} MB  [plugins {SOS_PLUGINS}]")
        print(f"ratio wall time (ours/sos): {o_wall / s_wall:.2f}  "
              f"(target <= 1.0: {'PASS' if o_wall <= s_wall else 'FAIL'})")
        print(f"ratio peak memory (ours/sos): {o_tree / s_tree:.2f}")
    print(f"peak memory < {MEMORY_LIMIT_MB} MB: {'PASS' if o_tree < MEMORY_LIMIT_MB else 'FAIL'}")


def busy_node(pods: int, pod_log_kb: int, tmp: Path) -> None:
    import simnode

    print(f"== simulated busy node: 10 GB journal per unit, {pods} pod logs of {pod_log_kb} KB")
    node = simnode.build(tmp / "busy")
    line = b"2026-11-22T10:00:00.000000000Z stdout F " + b"x" * 100 + b"\n"
    body = line * (pod_log_kb * 1024 // len(line))
    pods_dir = node.root / "var/log/pods"
    t0 = time.monotonic()
    for i in range(pods):
        d = pods_dir / f"ns{i % 40}_app-{i:05d}_{i:08x}-0000-0000-0000-000000000000/app"
        d.mkdir(parents=True)
        (d / "0.log").write_bytes(body)
    total_mb = pods * len(body) / 1e6
    print(f"   (generated {total_mb:.0f} MB of pod logs in {time.monotonic() - t0:.1f}s)")
    env = node.env(SIMNODE_JOURNAL_BYTES=str(10 * 1024 ** 3))
    r = ours(tmp / "busy.tgz", ["--root", str(node.root), "--live", "--timeout", "10"], env=env)
    items = {it["id"]: it for it in r["manifest"]["items"]}
    pod = items["pod-logs"]
    journals = [it for it in r["manifest"]["items"] if it["kind"] == "journal" and it["bytes"]]
    stored_logs = sum(it["bytes"] for it in r["manifest"]["items"]
                      if it["id"].startswith("pod-logs:"))
    print(f"k8s-bundle: {r['wall_s']:.1f}s, peak tree RSS {r['tree_peak_mb']:.0f} MB, largest "
          f"process {r['max_proc_mb']:.0f} MB, bundle {r['bundle_mb']:.1f} MB, {r['items']} items")
    print(f"   pod logs: {pod['status']} ({pod['error'] or 'all kept'}); {stored_logs / 1e6:.0f} MB "
          f"stored of {total_mb:.0f} MB")
    print(f"   journals: {len(journals)} units, each "
          f"{max(j['bytes'] for j in journals) / 1e6:.1f} MB at most, statuses "
          f"{sorted({j['status'] for j in journals})}")
    print(f"under {BUSY_LIMIT_S}s: {'PASS' if r['wall_s'] < BUSY_LIMIT_S else 'FAIL'}; "
          f"peak memory < {MEMORY_LIMIT_MB} MB: {'PASS' if r['tree_peak_mb'] < MEMORY_LIMIT_MB else 'FAIL'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pods", type=int, default=3000)
    ap.add_argument("--pod-log-kb", type=int, default=150)
    ap.add_argument("--no-sos", action="store_true")
    ap.add_argument("--skip-busy", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="collect-bench-") as t:
        tmp = Path(t)
        bare_machine(args.runs, not args.no_sos, tmp)
        if not args.skip_busy:
            busy_node(args.pods, args.pod_log_kb, tmp)


if __name__ == "__main__":
    main()
