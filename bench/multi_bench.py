#!/usr/bin/env python3
"""Benchmark the multi-bundle report: `k8s-bundle analyze DIR/` against analysing the same
bundles one by one (one `k8s-bundle analyze BUNDLE` process each: what a user would do).

Generates (once; kept in bench/out/, never committed) N single-node bundles with a few MB of
log text each, in the formats and line mix of bench/analyze_bench.py (its LineMaker and line
templates), node.json and sysctls that differ now and then (an older kubelet on every 10th
node, forwarding off on every 17th) so that the drift table has something to mark. Then it
times, in one run,

  one by one: N x `k8s-bundle analyze BUNDLE_i -o OUT_i.html --quiet`, in sequence
  multi:      `k8s-bundle analyze DIR/ -o multi-report.html --quiet`

and prints both (wall and CPU seconds), the ratio (target: multi <= 1.5x the one-by-one
total), each side's peak RSS (wait4() per child: the largest single process) and the report
sizes.

    python3 bench/multi_bench.py [--bundles 50] [--mb-per-node 2] [--regenerate]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from analyze_bench import CONTAINERD, CREATED_AT, HITS, KERNEL, KUBELET, LineMaker  # noqa: E402

OUT = HERE / "out"


def generate(folder: Path, count: int, mb_per_node: float) -> None:
    from k8s_bundle.bundle.manifest import ItemRecord, Manifest, NodeEntry, tool_entry
    from k8s_bundle.bundle.writer import BundleWriter

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    target = int(mb_per_node * 1e6)
    for i in range(1, count + 1):
        node = f"node{i:02d}"
        mk = LineMaker(node, seed=i)
        base = f"nodes/{node}"
        with BundleWriter(folder / f"{node}.tgz", f"k8s-bundle-{node}-20261122T113000Z", overwrite=True) as w:
            w.add_json(f"{base}/node.json", {
                "name": node, "hostname": node, "os": "linux", "distro": "Ubuntu 22.04.4 LTS",
                "kernel": "5.15.0-105-generic", "arch": "x86_64", "timezone": "UTC", "utc_offset_seconds": 0,
                "cpus": 8, "memory_bytes": 33554432000, "roles": ["worker"], "runtime": "containerd", "init": "systemd",
                "versions": {"kubelet": "v1.28.7" if i % 10 == 0 else "v1.29.3", "containerd": "1.7.13"},
            })
            w.add_text(f"{base}/commands/sysctl.txt",
                       f"net.ipv4.ip_forward = {0 if i % 17 == 0 else 1}\nnet.bridge.bridge-nf-call-iptables = 1\n"
                       "vm.swappiness = 60\nfs.inotify.max_user_instances = 8192\n")
            items = []
            for rel, chunks in (
                (f"{base}/logs/journal/kubelet.log", mk.journal("kubelet", 812, KUBELET, HITS["kubelet"], int(target * 0.6))),
                (f"{base}/logs/journal/containerd.log", mk.journal("containerd", 700, CONTAINERD, HITS["containerd"], int(target * 0.3))),
                (f"{base}/logs/kernel.log", mk.journal("kernel", 0, KERNEL, HITS["kernel"], int(target * 0.1))),
            ):
                stored = w.add_stream(rel, chunks)
                items.append(ItemRecord(node, "logs", rel.split("/logs/")[1], path=rel,
                                         kind="journal" if "/journal/" in rel else "file", source=rel,
                                         duration_ms=100, bytes=stored.bytes, sha256=stored.sha256,
                                         needs_root=True))
            w.finish(Manifest(CREATED_AT, CREATED_AT, {"argv": ["bench"]}, tool=tool_entry("bench"), items=items,
                              nodes=[NodeEntry(node, os="linux", transport="local", timezone="UTC",
                                               utc_offset_seconds=0)]))


def run(argv: list[str]) -> tuple[float, float, int, int]:
    """(wall s, CPU s, exit code, peak RSS bytes) of one child, from wait4()."""
    t = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t
    if proc.returncode not in (0, 1, 3):
        sys.stderr.write(err.decode(errors="replace")[-2000:])
    return wall, usage.ru_utime + usage.ru_stime, proc.returncode, usage.ru_maxrss * 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundles", type=int, default=50)
    ap.add_argument("--mb-per-node", type=float, default=2.0)
    ap.add_argument("--regenerate", action="store_true")
    args = ap.parse_args()
    folder = OUT / f"multi-{args.bundles}x{args.mb_per_node:g}mb"
    if args.regenerate or not folder.is_dir() or len(list(folder.glob("*.tgz"))) != args.bundles:
        print(f"generating {args.bundles} bundles in {folder} ...", flush=True)
        generate(folder, args.bundles, args.mb_per_node)
    bundles = sorted(folder.glob("*.tgz"))
    singles = OUT / "multi-singles"
    singles.mkdir(exist_ok=True)
    exe = [shutil.which("k8s-bundle")] if shutil.which("k8s-bundle") else [sys.executable, "-m", "k8s_bundle.cli"]
    size = sum(b.stat().st_size for b in bundles)
    print(f"{len(bundles)} bundles, {size / 1e6:.1f} MB compressed in all")

    wall1 = cpu1 = 0.0
    peak1 = 0
    codes: set[int] = set()
    for b in bundles:
        w, c, rc, peak = run([*exe, "analyze", str(b), "-o", str(singles / (b.stem + ".html")), "--quiet"])
        wall1 += w
        cpu1 += c
        peak1 = max(peak1, peak)
        codes.add(rc)
    report = folder / "multi-report.html"
    wall2, cpu2, rc2, peak2 = run([*exe, "analyze", str(folder), "-o", str(report), "--quiet"])
    single_html = sum((singles / (b.stem + ".html")).stat().st_size for b in bundles)
    print(f"one by one  {len(bundles)} processes: {wall1:.1f} s wall, {cpu1:.1f} s CPU, exit codes {sorted(codes)}, "
          f"peak RSS {peak1 / 2**20:.0f} MiB, reports {single_html / 1e6:.1f} MB in all")
    print(f"multi       one process: {wall2:.1f} s wall, {cpu2:.1f} s CPU, exit {rc2}, peak RSS {peak2 / 2**20:.0f} MiB, "
          f"report {report.stat().st_size / 1e6:.1f} MB")
    print(f"ratio       multi / one by one = {wall2 / wall1:.2f} wall, {cpu2 / cpu1:.2f} CPU (target <= 1.5); "
          f"peak RSS multi / single = {peak2 / peak1:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
