#!/usr/bin/env python3
"""Benchmark `k8s-bundle collect --hosts` fan-out over real namespace hosts (run on demand as
root, never in the test suite).

Builds 50 hosts with tests/collector/netns.py (one network namespace, veth and sshd each, the
simulated node behind every one; prefix kbb, 10.213.100.0/24 upwards) and collects 1, 10 and 50
of them with `--parallel 1` (sequential) and `--parallel 16`, printing for each: wall time, the
sequential/parallel ratio, the collecting process's peak RSS (the largest single process, kernel
accounting via RUSAGE_CHILDREN, and the summed RSS of its process tree with its ssh clients,
sampled: bench/collect_bench.run_measured) and CPU seconds on both sides: the collector's
(collect and its ssh clients) and the simulated nodes' (each namespace's sshd and its sessions;
on a real cluster that CPU is the nodes' own, here it shares this machine's cores).

Targets (issue 13): 50 hosts with --parallel 16 within 1.5x of (50 / 16) x one host's time,
and the collecting process's peak memory under 300 MB.

    python3 bench/collect_fanout_bench.py [--sizes 1,10,50] [--only kubernetes,network]
                                          [--link-rate 1mbit] [--parallel 16]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "collector"))
sys.path.insert(0, str(REPO / "bench"))

import netns  # noqa: E402
from collect_bench import run_measured  # noqa: E402

MEMORY_LIMIT_MB = 300
RATIO_LIMIT = 1.5


def node_side_cpu(fleet: netns.Fleet) -> float:
    """CPU seconds used so far by the fleet's sshds and their finished sessions."""
    total = 0.0
    for host in fleet.hosts:
        if host.proc is None:
            continue
        try:
            for p in [psutil.Process(host.proc.pid), *psutil.Process(host.proc.pid).children(recursive=True)]:
                if p.name() == "sshd":
                    t = p.cpu_times()
                    total += t.user + t.system + t.children_user + t.children_system
                    break   # the listener: its reaped sessions are in its children_* times
        except psutil.Error:
            pass
    return total


class UssSampler:
    """Peak summed USS (memory unique to each process: what ending them would free; RSS sums
    count the shared libraries of every ssh client again) of the collect process and its ssh
    clients, found by the hosts file on the collect command line; sampled every 0.25 s."""

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "UssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        root = None
        while not self._done.is_set():
            try:
                if root is None:
                    root = next((p for p in psutil.process_iter(["cmdline"])
                                 if self.marker in (p.info["cmdline"] or []) and "collect" in p.info["cmdline"]), None)
                if root is not None:
                    total = 0
                    for p in [root, *root.children(recursive=True)]:
                        try:
                            total += p.memory_full_info().uss
                        except psutil.Error:
                            pass
                    self.peak = max(self.peak, total)
            except psutil.Error:
                pass
            self._done.wait(0.25)


def collect(fleet: netns.Fleet, hosts: list[netns.Host], parallel: int, only: str, out: Path) -> dict:
    hosts_file = out.with_suffix(".hosts")
    hosts_file.write_text("".join(f"{h.target}\n" for h in hosts))
    before_nodes = node_side_cpu(fleet)
    before_local = resource.getrusage(resource.RUSAGE_CHILDREN)
    with UssSampler(str(hosts_file)) as uss:
        r = run_measured([sys.executable, "-m", "k8s_bundle.cli", "collect", "--hosts", str(hosts_file),
                          "--parallel", str(parallel), "--only", only, "--progress", "none", "--force",
                          *fleet.ssh_args(), "-o", str(out)], cwd=REPO)
    r["tree_uss_mb"] = uss.peak / 1e6
    after_local = resource.getrusage(resource.RUSAGE_CHILDREN)
    r["local_cpu_s"] = (after_local.ru_utime + after_local.ru_stime
                        - before_local.ru_utime - before_local.ru_stime)
    r["node_cpu_s"] = node_side_cpu(fleet) - before_nodes
    if r["rc"] != 0:
        raise SystemExit(f"collect of {len(hosts)} hosts --parallel {parallel} failed ({r['rc']}): "
                         f"{r['stderr'][-2000:]}")
    with tarfile.open(out) as tar:
        manifest = json.load(tar.extractfile([m for m in tar.getmembers()
                                              if m.name.endswith("/manifest.json")][0]))
    r["nodes"] = len(manifest["nodes"])
    r["failed"] = len(manifest.get("failed_hosts", []))
    if r["nodes"] != len(hosts) or r["failed"]:
        raise SystemExit(f"{len(hosts)} hosts: {r['nodes']} nodes, {r['failed']} failed: {r['stderr'][-2000:]}")
    r["bundle_mb"] = out.stat().st_size / 1e6
    return r


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,10,50", help="host counts (default 1,10,50)")
    ap.add_argument("--parallel", type=int, default=16)
    ap.add_argument("--only", default="kubernetes,network",
                    help="areas collected on every host (default kubernetes,network: files, globs "
                         "and commands; a full catalogue costs ~14 CPU-s per simulated host)")
    ap.add_argument("--link-rate", help="shape every host's link with tc tbf (e.g. 1mbit): nodes "
                                        "behind a slow network instead of CPU-bound simulated ones")
    args = ap.parse_args()
    why = netns.unsupported()
    if why:
        print(f"collect_fanout_bench: {why}", file=sys.stderr)
        return 2
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.link_rate:
        netns.SLOW_RATE = args.link_rate
    print(f"# collect fan-out bench: sizes {sizes}, --only {args.only}, link "
          f"{args.link_rate or 'unshaped veth'}, {os.cpu_count()} cores, {load()} at start")
    results: dict[tuple[int, int], dict] = {}
    with tempfile.TemporaryDirectory(prefix="fanout-bench-") as t:
        tmp = Path(t)
        n = max(sizes)
        slow = set(range(n)) if args.link_rate else set()
        t0 = time.monotonic()
        with netns.Fleet(tmp / "fleet", n, prefix="kbb", subnet=100, slow=slow) as fleet:
            print(f"# {n} namespace hosts up in {time.monotonic() - t0:.1f} s")
            print(f"{'hosts':>5} {'parallel':>8} {'wall s':>7} {'collector CPU s':>15} {'nodes CPU s':>11} "
                  f"{'peak MB: collect RSS / tree RSS / tree USS':>42} {'bundle MB':>9}")
            for size in sizes:
                for par in (1, args.parallel):
                    r = collect(fleet, fleet.hosts[:size], par, args.only, tmp / f"b{size}-{par}.tgz")
                    results[(size, par)] = r
                    print(f"{size:>5} {par:>8} {r['wall_s']:>7.1f} {r['local_cpu_s']:>15.1f} {r['node_cpu_s']:>11.1f} "
                          f"{r['max_proc_mb']:>20.0f} / {r['tree_peak_mb']:>8.0f} / {r['tree_uss_mb']:>8.0f} {r['bundle_mb']:>9.2f}",
                          flush=True)
        print(f"# {load()} at end")
    one = results[(1, 1)]["wall_s"]
    ok = True
    for size in sizes:
        seq, par = results[(size, 1)]["wall_s"], results[(size, args.parallel)]["wall_s"]
        print(f"{size} hosts: sequential {seq:.1f} s, --parallel {args.parallel} {par:.1f} s, "
              f"ratio {seq / par:.2f}x")
    n = max(sizes)
    if n > 1:
        budget = RATIO_LIMIT * (n / args.parallel) * one
        got = results[(n, args.parallel)]["wall_s"]
        verdict = "PASS" if got <= budget else "FAIL"
        ok &= got <= budget
        print(f"target: {n} hosts within {RATIO_LIMIT}x of ({n}/{args.parallel}) x one host's "
              f"{one:.1f} s = {budget:.1f} s: {got:.1f} s {verdict}")
        # what the same run would take if the nodes' CPU were their own (a real cluster): the
        # collector's CPU spread on this machine's cores, or the one-host wall time per wave
        cores = os.cpu_count() or 1
        own = results[(n, args.parallel)]["local_cpu_s"] / cores
        print(f"  (the simulated nodes used {results[(n, args.parallel)]['node_cpu_s']:.0f} CPU-s of this "
              f"machine's {cores} cores; the collector itself {results[(n, args.parallel)]['local_cpu_s']:.0f} "
              f"CPU-s, {own:.1f} s of wall on {cores} cores)")
    peak = max(r["max_proc_mb"] for r in results.values())
    verdict = "PASS" if peak < MEMORY_LIMIT_MB else "FAIL"
    ok &= peak < MEMORY_LIMIT_MB
    print(f"target: collecting process's peak RSS under {MEMORY_LIMIT_MB} MB: {peak:.0f} MB {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
