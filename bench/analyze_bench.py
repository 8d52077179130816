#!/usr/bin/env python3
"""Benchmark `k8s-bundle analyze` against the floor: decompress and scan once.

Generates (once; kept in bench/out/, never committed) a bundle with N nodes and about SIZE GB
of log text in the formats real bundles hold (journal short-iso-precise for kubelet,
containerd and the kernel; CRI pod logs), with a sprinkling of lines the rules match. Then,
in the same run, it times

  baseline: gzip -dc BUNDLE | grep -P -c '<alternation of all loaded rules' log regexes>'
  analyze:  k8s-bundle analyze BUNDLE -o bench/out/report.html --quiet

and prints both times, their ratio (target: analyze within 2x of the baseline) and the
analyzer's peak RSS (target: under 1.5 GB), measured with wait4() on the child.

    python3 bench/analyze_bench.py [--nodes 20] [--size-gb 1.0] [--regenerate] [--phases] [--hit-every N]
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
CREATED_AT = "2026-11-22T11:30:00Z"

# Lines the shipped rules look for, dropped in rarely (about one in 40,000 lines).
HITS = {
    "kubelet": [
        'E1122 {hms}.{us}     812 kubelet.go:2373] "Skipping pod synchronization" err="PLEG is not healthy: pleg was last seen active 3m{s}.5s ago; threshold is 3m0s"',
        'E1122 {hms}.{us}     812 kubelet.go:2855] "Container runtime not ready" runtimeReady="RuntimeReady=false reason:DockerDaemonNotReady message:docker: failed to get docker version: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"',
        'E1122 {hms}.{us}     812 kubelet_node_status.go:96] "Unable to register node with API server" err="Post \\"https://10.0.0.10:6443/api/v1/nodes\\": x509: certificate signed by unknown authority" node="{node}"',
        'E1122 {hms}.{us}     812 run.go:74] "command failed" err="failed to run Kubelet: running with swap on is not supported, please disable swap! or set --fail-swap-on flag to false"',
    ],
    "kernel": [
        "nf_conntrack: nf_conntrack: table full, dropping packet",
        "Memory cgroup out of memory: Killed process {s}88 (java) total-vm:8123456kB, anon-rss:4012345kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:9000kB oom_score_adj:985",
    ],
    "containerd": [
        'time="2026-11-22T{hms}.{us}000Z" level=error msg="failed to pull and unpack image \\"registry.k8s.io/pause:3.9\\"" error="failed to resolve reference: dial tcp: lookup registry.k8s.io: i/o timeout"',
    ],
    "pod": [
        "Another app is currently holding the xtables lock. Stopped waiting after 5s.",
    ],
}

KUBELET = [
    'I1122 {hms}.{us}     812 kubelet.go:2430] "SyncLoop (probe)" probe="readiness" status="ready" pod="{ns}/{pod}"',
    'I1122 {hms}.{us}     812 kubelet_pods.go:1082] "Clean up pod workers for terminated pods"',
    'I1122 {hms}.{us}     812 reconciler_common.go:258] "operationExecutor.VerifyControllerAttachedVolume started for volume \\"kube-api-access-{rnd}\\" (UniqueName: \\"kubernetes.io/projected/{uid}-kube-api-access-{rnd}\\") pod \\"{pod}\\" (UID: \\"{uid}\\") " pod="{ns}/{pod}"',
    'I1122 {hms}.{us}     812 kuberuntime_manager.go:1052] "Creating container in pod" containerType="APP_CONTAINER" container="&Container{{Name:app,Image:registry.local/app:1.{s},Ports:[]ContainerPort{{}},}}" pod="{ns}/{pod}"',
    'W1122 {hms}.{us}     812 watcher.go:93] Error while processing event ("/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{uid}.slice": 0x40000100 == IN_CREATE|IN_ISDIR): inotify_add_watch: no such file or directory',
    'I1122 {hms}.{us}     812 pod_startup_latency_tracker.go:102] "Observed pod startup duration" pod="{ns}/{pod}" podStartSLOduration={s}.{us} observedRunningTime="2026-11-22 {hms}.{us} +0000 UTC"',
]
CONTAINERD = [
    'time="2026-11-22T{hms}.{us}000Z" level=info msg="StartContainer for \\"{rnd}{rnd}\\" returns successfully"',
    'time="2026-11-22T{hms}.{us}000Z" level=info msg="RunPodSandbox for &PodSandboxMetadata{{Name:{pod},Uid:{uid},Namespace:{ns},Attempt:0,}} returns sandbox id \\"{rnd}{rnd}\\""',
    'time="2026-11-22T{hms}.{us}000Z" level=info msg="ImageCreate event name:\\"registry.local/app:1.{s}\\" labels:{{key:\\"io.cri-containerd.image\\" value:\\"managed\\"}}"',
    'time="2026-11-22T{hms}.{us}000Z" level=warning msg="cleanup warnings time=\\"2026-11-22T{hms}Z\\" level=info msg=\\"starting signal loop\\" namespace=k8s.io pid={s}{us} runtime=io.containerd.runc.v2\\n"',
]
KERNEL = [
    "IPVS: rr: TCP 10.96.0.{s}:443 - no destination available",
    "cni0: port {s}(veth{rnd}) entered forwarding state",
    "EXT4-fs (sda1): re-mounted. Opts: errors=remount-ro. Quota mode: none.",
    "audit: type=1400 audit({s}.{us}:{s}): apparmor=\"STATUS\" operation=\"profile_replace\" profile=\"unconfined\" name=\"cri-containerd.apparmor.d\" pid={us} comm=\"apparmor_parser\"",
]
POD = [
    '{{"level":"info","ts":"2026-11-22T{hms}.{us}Z","caller":"http/server.go:{s}","msg":"request served","method":"GET","path":"/api/v1/items/{rnd}","status":200,"duration_ms":{s}}}',
    "{ip} - - [22/Nov/2026:{hms} +0000] \"GET /healthz HTTP/1.1\" 200 2 \"-\" \"kube-probe/1.29\"",
    "I1122 {hms}.{us}       1 controller.go:{s}] Reconciled {ns}/{pod} in {s}ms",
]


class LineMaker:
    def __init__(self, node: str, seed: int, hit_every: int = 40000) -> None:
        self.rng = random.Random(seed)
        self.node = node
        self.hit_every = hit_every   # about one line in this many is one the rules match
        self.t = 8 * 3600  # seconds since midnight; advances a little per line

    def fields(self) -> dict[str, str]:
        r = self.rng
        self.t += r.random() * 0.004
        t = int(self.t) % 86400
        return {
            "hms": f"{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}",
            "us": f"{r.randrange(1_000_000):06d}",
            "s": str(r.randrange(60)),
            "ns": r.choice(("default", "kube-system", "shop", "monitoring")),
            "pod": f"web-{r.randrange(300)}-{r.randrange(16**5):05x}",
            "uid": f"{r.randrange(16**8):08x}-{r.randrange(16**4):04x}-4{r.randrange(16**3):03x}-a{r.randrange(16**3):03x}-{r.randrange(16**12):012x}",
            "rnd": f"{r.randrange(16**8):08x}",
            "ip": f"10.244.{r.randrange(256)}.{r.randrange(256)}",
            "node": self.node,
        }

    def journal(self, unit: str, pid: int, templates: list[str], hits: list[str], target: int):
        """Yield ~1 MB chunks of `journalctl -o short-iso-precise` lines until target bytes."""
        written = 0
        r = self.rng
        while written < target:
            lines = []
            for _ in range(6000):
                f = self.fields()
                tpl = r.choice(hits) if hits and r.random() < 1 / self.hit_every else r.choice(templates)
                msg = tpl.format(**f)
                lines.append(f"2026-11-22T{f['hms']}.{f['us']}+00:00 {self.node} {unit}[{pid}]: {msg}\n")
            chunk = "".join(lines).encode()
            written += len(chunk)
            yield chunk

    def cri(self, templates: list[str], hits: list[str], target: int):
        written = 0
        r = self.rng
        while written < target:
            lines = []
            for _ in range(6000):
                f = self.fields()
                tpl = r.choice(hits) if hits and r.random() < 1 / self.hit_every else r.choice(templates)
                stream = "stderr" if r.random() < 0.1 else "stdout"
                lines.append(f"2026-11-22T{f['hms']}.{f['us']}123Z {stream} F {tpl.format(**f)}\n")
            chunk = "".join(lines).encode()
            written += len(chunk)
            yield chunk


def generate(path: Path, nodes: int, size_gb: float, hit_every: int = 40000) -> None:
    sys.path.insert(0, str(HERE.parent))
    from k8s_bundle.bundle_writer import BundleWriter

    per_node = int(size_gb * 1e9 / nodes) + 1
    shares = {"kubelet": 0.42, "containerd": 0.22, "kernel": 0.08, "pods": 0.28}
    items = []
    names = [f"node{i:02d}" for i in range(1, nodes + 1)]
    t0 = time.time()
    with BundleWriter(path, "k8s-bundle-multi-20261122T113000Z", overwrite=True) as w:
        for i, node in enumerate(names):
            mk = LineMaker(node, seed=i, hit_every=hit_every)
            base = f"nodes/{node}"
            w.add_json(f"{base}/node.json", {
                "name": node, "hostname": node, "os": "linux", "distro": "Ubuntu 22.04.4 LTS",
                "kernel": "5.15.0-105-generic", "arch": "x86_64", "timezone": "UTC", "utc_offset_seconds": 0,
                "cpus": 8, "memory_bytes": 33554432000, "roles": ["control-plane"] if i < 3 else ["worker"],
                "versions": {"kubelet": "v1.29.3", "containerd": "1.7.13"}, "runtime": "containerd", "init": "systemd",
            })
            files = [
                (f"{base}/logs/journal/kubelet.log", mk.journal("kubelet", 812, KUBELET, HITS["kubelet"], int(per_node * shares["kubelet"]))),
                (f"{base}/logs/journal/containerd.log", mk.journal("containerd", 700, CONTAINERD, HITS["containerd"], int(per_node * shares["containerd"]))),
                (f"{base}/logs/kernel.log", mk.journal("kernel", 0, KERNEL, HITS["kernel"], int(per_node * shares["kernel"]))),
            ]
            for p in range(4):
                pod = f"var/log/pods/shop_web-{p}_{i:04d}{p:04d}-0000-4000-a000-000000000000/app/0.log"
                files.append((f"{base}/logs/{pod}", mk.cri(POD, HITS["pod"], int(per_node * shares["pods"] / 4))))
            for rel, chunks in files:
                stored = w.add_stream(rel, chunks)
                items.append({"node": node, "area": "logs", "id": rel.split("/logs/")[1], "path": rel,
                              "kind": "journal" if "/journal/" in rel else "file", "source": rel, "status": "ok",
                              "exit_code": None, "duration_ms": 100, "bytes": stored.bytes, "sha256": stored.sha256,
                              "redactions": 0, "error": None, "needs_root": True})
            print(f"  generated {node} ({time.time() - t0:.0f}s)", flush=True)
        w.finish({
            "format_version": "1.0", "tool": {"name": "k8s-bundle", "version": "bench"},
            "created_at": CREATED_AT, "finished_at": CREATED_AT, "partial": False, "partial_reason": None,
            "collection": {"argv": ["bench"]},
            "nodes": [{"name": n, "os": "linux", "transport": "ssh", "timezone": "UTC", "utc_offset_seconds": 0} for n in names],
            "items": items,
        })


def baseline_pattern() -> str:
    sys.path.insert(0, str(HERE.parent))
    from k8s_bundle.analyzer.engine import load_rules
    from k8s_bundle.analyzer.engine_logs import strip_group_names

    regexes = dict.fromkeys(strip_group_names(c.regex) for r in load_rules() for c in r.log_conditions())
    return "|".join(f"(?:{r})" for r in regexes)


def timed(cmd: str) -> tuple[float, float, int, int, bytes]:
    """(wall seconds, CPU seconds of the child and its children, exit code, peak RSS of the
    largest process so far, stdout). CPU time is shown because the wall clock on a shared
    machine also measures the other load."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    elapsed = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1, 3):
        sys.stderr.write(err.decode(errors="replace")[-2000:])
    return elapsed, cpu, proc.returncode, after.ru_maxrss * 1024, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=20)
    ap.add_argument("--size-gb", type=float, default=1.0)
    ap.add_argument("--regenerate", action="store_true")
    ap.add_argument("--phases", action="store_true", help="also time each phase in-process")
    ap.add_argument("--hit-every", type=int, default=40000, metavar="N",
                    help="about one line in N is one the rules match (default 40000; 100 makes every finding "
                         "keep its full evidence: the report-size worst case of docs/report-schema.md)")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    dense = f"-hits{args.hit_every}" if args.hit_every != 40000 else ""
    bundle = OUT / f"bench-{args.nodes}n-{args.size_gb:g}gb{dense}.tgz"
    if args.regenerate or not bundle.exists():
        print(f"generating {bundle} ...", flush=True)
        generate(bundle, args.nodes, args.size_gb, args.hit_every)
    raw = int(subprocess.run(f"gzip -dc '{bundle}' | wc -c", shell=True, capture_output=True, text=True).stdout)
    # (that run also warms the page cache for all three measurements below)
    print(f"bundle: {bundle.stat().st_size / 1e6:.0f} MB compressed, {raw / 1e9:.2f} GB uncompressed, {args.nodes} nodes")

    pattern = baseline_pattern()
    pat_file = OUT / "baseline.pattern"
    pat_file.write_text(pattern + "\n")
    exe = shutil.which("k8s-bundle") or f"{sys.executable} -m k8s_bundle.cli"
    # The analyzer runs first so that RUSAGE_CHILDREN's peak is its own (gzip/grep are small).
    a_time, a_cpu, a_rc, a_peak, _ = timed(f"{exe} analyze '{bundle}' -o '{OUT / 'report.html'}' --quiet")
    b_time, b_cpu, _, _, b_out = timed(f"gzip -dc '{bundle}' | grep -P -c -f '{pat_file}'")
    d_time, d_cpu, _, _, _ = timed(f"gzip -dc '{bundle}' > /dev/null")
    print(f"baseline  gzip -dc | grep -P -c (alternation of {pattern.count('|(?:') + 1} regexes): "
          f"{b_time:.1f} s wall, {b_cpu:.1f} s CPU, {b_out.decode().strip()} matching lines")
    print(f"analyze   k8s-bundle analyze: {a_time:.1f} s wall, {a_cpu:.1f} s CPU (exit {a_rc}), "
          f"peak RSS {a_peak / 2**30:.2f} GiB")
    report = OUT / "report.html"
    if report.exists():
        print(f"report    {report}: {report.stat().st_size / 1e6:.2f} MB (target < 10 MB)")
    print(f"floor     gzip -dc > /dev/null (decompression alone): {d_time:.1f} s wall, {d_cpu:.1f} s CPU")
    ratio = a_time / b_time if b_time else float("inf")
    cpu_ratio = a_cpu / b_cpu if b_cpu else float("inf")
    print(f"ratio     analyze / baseline = {ratio:.2f} wall, {cpu_ratio:.2f} CPU (target <= 2.0); "
          f"analyze / decompression = {a_time / d_time if d_time else float('inf'):.1f}; "
          f"peak {a_peak / 2**30:.2f} GiB (target < 1.5)")
    if args.phases:
        phases(bundle)
    return 0


def phases(bundle: Path) -> None:
    """Where the analyzer's time goes: the same pipeline in-process, phase by phase."""
    sys.path.insert(0, str(HERE.parent))
    from k8s_bundle.analyzer.engine import evaluate, load_rules
    from k8s_bundle.analyzer.evidence import load_evidence
    from k8s_bundle.analyzer.render import render_html

    t = time.perf_counter()
    rules = load_rules()
    t1 = time.perf_counter()
    evidence = load_evidence(str(bundle))
    t2 = time.perf_counter()
    findings = evaluate(rules, evidence)
    t3 = time.perf_counter()
    render_html(evidence, findings)
    t4 = time.perf_counter()
    print(f"phases    load rules {t1 - t:.1f} s, load_evidence (read+parse+log index of "
          f"{evidence.log_index.height:,} lines) {t2 - t1:.1f} s, evaluate {t3 - t2:.1f} s, render {t4 - t3:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
