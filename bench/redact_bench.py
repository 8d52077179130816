"""Benchmark: `k8s-bundle redact` against `sos clean` on the same realistic log corpus.

    python3 bench/redact_bench.py                 # 500 MB corpus, sos clean on a 20 MB slice
    python3 bench/redact_bench.py --mb 50 --sos-mb 5 --sos-timeout 300

Everything is generated under bench/out/redact/ (git-ignored). Printed figures:
  engine      Redactor.redact_stream in this process, one core: MB/s
  cli-dir     `k8s-bundle redact CORPUS -o DIR` (subprocess, redaction + writing files)
  cli-tgz     `k8s-bundle redact CORPUS -o OUT.tgz` (adds gzip, which costs more than redaction)
  obfuscate   the engine with --obfuscate ips,macs,hostnames (what sos clean does by default)
  sos clean   on an sos-shaped directory holding a slice of the same corpus (sos clean is far
              slower, so it gets a time budget; its MB/s is measured on the slice and the
              ratio is computed from MB/s, which the output says)
Ratios are against sos clean measured in the same run. Not a test: run on demand.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out" / "redact"
LINE_POOL = 50_000


def _lines(rng: random.Random) -> list[str]:
    """A pool of realistic node log lines; about 0.5% carry something secret."""
    pods = [f"{n}-{rng.getrandbits(40):010x}"[:24] for n in ("coredns", "web", "api", "worker", "etcd-cp1", "kube-proxy")]
    out = []
    for i in range(LINE_POOL):
        ts = f"2026-11-22T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999999):06d}Z"
        ip = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        node_ip = f"192.168.{rng.randint(0, 3)}.{rng.randint(1, 254)}"
        uid = f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-a{rng.getrandbits(12):03x}-{rng.getrandbits(48):012x}"
        pod = rng.choice(pods)
        digest = f"sha256:{rng.getrandbits(256):064x}"
        k = rng.random()
        if k < 0.25:
            line = (f"Nov 22 11:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} cp1 kubelet[900]: I1122 11:30:00.{rng.randint(0, 999999):06d}     900 "
                    f"kubelet.go:{rng.randint(100, 2999)}] \"SyncLoop (PLEG): event for pod\" pod=\"default/{pod}\" "
                    f"event={{ID:{uid} Type:ContainerStarted Data:{rng.getrandbits(256):064x}}}")
        elif k < 0.45:
            line = (f"Nov 22 11:30:00 cp1 containerd[812]: time=\"{ts}\" level=info msg=\"PullImage "
                    f"\\\"registry.k8s.io/pause:3.9\\\" returns image reference \\\"{digest}\\\"\"")
        elif k < 0.55:
            line = (f"Nov 22 11:30:00 cp1 kernel: IPVS: rr: TCP {ip}:443 - no destination available "
                    f"src={node_ip} dst=10.96.0.1 mac=52:54:00:{rng.randint(0, 255):02x}:{rng.randint(0, 255):02x}:{rng.randint(0, 255):02x}")
        elif k < 0.65:
            line = (f"{ts} stdout F {node_ip} - - [22/Nov/2026:11:30:00 +0000] \"GET /api/v1/items/{uid} HTTP/1.1\" "
                    f"200 {rng.randint(100, 99999)} \"-\" \"kube-probe/1.29\"")
        elif k < 0.75:
            line = (f"Nov 22 11:30:00 cp1 kubelet[900]: E1122 11:30:00.{rng.randint(0, 999999):06d}     900 "
                    f"pod_workers.go:1298] \"Error syncing pod, skipping\" err=\"failed to \\\"StartContainer\\\" for "
                    f"\\\"app\\\" with CrashLoopBackOff: \\\"back-off 5m0s restarting failed container=app pod={pod}_default({uid})\\\"\" "
                    f"pod=\"default/{pod}\" podUID=\"{uid}\"")
        elif k < 0.85:
            line = (f"Nov 22 11:30:00 cp1 kube-proxy[1001]: I1122 11:30:00.1 1001 proxier.go:{rng.randint(100, 999)}] "
                    f"\"Syncing iptables rules\" ipFamily=\"IPv4\" serviceCIDR=\"10.96.0.0/12\" endpoint=\"{ip}:8080\"")
        elif k < 0.995:
            line = (f"Nov 22 11:30:00 cp1 etcd[700]: {{\"level\":\"info\",\"ts\":\"{ts}\",\"caller\":\"traceutil/trace.go:171\","
                    f"\"msg\":\"trace[{rng.randint(1, 10**9)}] range\",\"detail\":\"{{range_begin:/registry/pods/default/{pod}; "
                    f"range_end:; response_count:1; response_revision:{rng.randint(1, 10**7)}; }}\",\"duration\":\"{rng.randint(100, 999)}ms\"}}")
        else:
            tok = "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(32))
            line = rng.choice([
                f"Nov 22 11:30:00 cp1 app[411]: GET /api Authorization: Bearer {tok}",
                f"Nov 22 11:30:00 cp1 app[411]: starting with password={tok} debug=true",
                f"Nov 22 11:30:00 cp1 app[411]: connecting to postgres://app:{tok}@db:5432/app",
                f"Nov 22 11:30:00 cp1 kubeadm[77]: kubeadm join {node_ip}:6443 --token abcdef.{tok[:16].lower()}",
            ])
        out.append(line + "\n")
    return out


def generate(root: Path, megabytes: int, seed: int = 4) -> Path:
    """Log files under root/var/log totalling `megabytes` MB (reused when already there)."""
    stamp = root / f".done-{megabytes}"
    if stamp.exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    rng = random.Random(seed)
    pool = _lines(rng)
    target = megabytes * 1_000_000
    files = [root / "var/log/syslog", root / "var/log/pods/default_web/app/0.log",
             root / "var/log/containerd.log", root / "var/log/kubelet.log"]
    for f in files:
        f.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    handles = [open(f, "w") for f in files]
    try:
        while written < target:
            block = "".join(rng.sample(pool, 5000))
            handles[rng.randrange(len(handles))].write(block)
            written += len(block)
    finally:
        for h in handles:
            h.close()
    stamp.touch()
    return root


def _corpus_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def bench_engine(root: Path, obfuscate: frozenset[str] = frozenset()) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of this process, values replaced)."""
    from k8s_bundle.redact import Redactor

    redactor = Redactor(obfuscate=obfuscate)
    total = 0
    t0 = time.perf_counter()
    c0 = time.process_time()
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        with open(path, "rb") as fh:
            chunks = iter(lambda: fh.read(1 << 20), b"")
            for out in redactor.redact_stream(f"nodes/n1/logs/{path.relative_to(root)}", chunks):
                total += len(out)
    return time.perf_counter() - t0, time.process_time() - c0, redactor.report()["total"]


def bench_cli(root: Path, output: Path, extra: list[str] = []) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child)."""
    if output.exists():
        shutil.rmtree(output) if output.is_dir() else output.unlink()
    c0 = _children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "redact", str(root), "-o", str(output), *extra],
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"k8s-bundle redact failed: {proc.stderr}")
    return elapsed, _children_cpu() - c0


def sos_shaped(root: Path, slice_mb: int, dest: Path) -> Path:
    """An sos report directory (sos_commands/, sos_logs/, sos_reports/) holding a slice."""
    shutil.rmtree(dest, ignore_errors=True)
    sosdir = dest / "sosreport-cp1-2026-11-22-abcdef"
    for d in ("sos_commands/logs", "sos_logs", "sos_reports", "var/log", "etc"):
        (sosdir / d).mkdir(parents=True, exist_ok=True)
    (sosdir / "sos_logs/sos.log").write_text("")
    (sosdir / "sos_reports/manifest.json").write_text("{}")
    (sosdir / "etc/hostname").write_text("cp1\n")
    (sosdir / "sos_commands/host").mkdir(parents=True, exist_ok=True)
    (sosdir / "sos_commands/host/hostname").write_text("cp1\n")  # sos clean's hostname parser reads this
    (sosdir / "hostname").write_text("cp1\n")
    budget = slice_mb * 1_000_000
    src = root / "var/log/syslog"
    with open(src, "rb") as fin, open(sosdir / "var/log/syslog", "wb") as fout:
        fout.write(fin.read(budget).rsplit(b"\n", 1)[0] + b"\n")
    return sosdir


def bench_sos(sosdir: Path, timeout: int) -> tuple[float | None, float, int]:
    """(wall seconds or None past the budget, CPU seconds of sos clean, slice bytes)."""
    size = _corpus_bytes(sosdir)
    tmp = sosdir.parent / "sos-tmp"  # sos clean writes its result and map there, not in /tmp
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    c0 = _children_cpu()
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(["sos", "clean", "--batch", "--jobs", "1", "--threads", "1",
                               "--tmp-dir", str(tmp), str(sosdir)],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, 0.0, size
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        print(f"sos clean exited {proc.returncode}: {proc.stderr.strip()[-300:]}", file=sys.stderr)
    return elapsed, _children_cpu() - c0, size


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, default=500, help="corpus size in MB (default 500)")
    ap.add_argument("--sos-mb", type=int, default=20, help="slice given to sos clean (default 20 MB)")
    ap.add_argument("--sos-timeout", type=int, default=900, help="time budget for sos clean in seconds")
    ap.add_argument("--skip-sos", action="store_true")
    ap.add_argument("--skip-tgz", action="store_true", help="skip the gzip-bound .tgz run")
    args = ap.parse_args()

    corpus = generate(OUT / f"corpus-{args.mb}mb", args.mb)
    size = _corpus_bytes(corpus)
    mb = size / 1e6
    print(f"corpus: {mb:.0f} MB of node logs in {corpus} (cpu count {os.cpu_count()}; one core used)")

    print(f"load average before: {os.getloadavg()[0]:.1f} (MB/s by wall clock suffers from other load; "
          f"MB per CPU second does much less)")

    def show(name: str, wall: float, cpu: float, note: str) -> tuple[float, float]:
        print(f"{name:<10} {wall:7.1f} s wall {mb / wall:7.1f} MB/s | {cpu:7.1f} s cpu {mb / cpu:7.1f} MB/cpu-s  {note}")
        return mb / wall, mb / cpu

    wall, cpu, replaced = bench_engine(corpus)
    engine = show("engine", wall, cpu, f"(Redactor.redact_stream, {replaced} values replaced)")
    cli_dir = show("cli-dir", *bench_cli(corpus, OUT / "out-dir"), "(k8s-bundle redact -o DIR)")
    cli_tgz = None
    if not args.skip_tgz:
        cli_tgz = show("cli-tgz", *bench_cli(corpus, OUT / "out.tgz"), "(k8s-bundle redact -o OUT.tgz, gzip -6 included)")
    wall, cpu, _ = bench_engine(corpus, frozenset({"ips", "macs", "hostnames"}))
    obf = show("obfuscate", wall, cpu, "(engine + --obfuscate ips,macs,hostnames)")

    if args.skip_sos:
        return 0
    if shutil.which("sos") is None:
        print("sos clean: not installed (apt-get install -y sosreport); no ratio")
        return 0
    slice_mb = min(args.sos_mb, args.mb)
    sosdir = sos_shaped(corpus, slice_mb, OUT / "sos")
    secs, sos_cpu, sos_size = bench_sos(sosdir, args.sos_timeout)
    sos_mb = sos_size / 1e6
    if secs is None:
        bound = sos_mb / args.sos_timeout
        print(f"sos clean  > {args.sos_timeout} s on a {sos_mb:.1f} MB slice: under {bound:.3f} MB/s "
              f"(budget exhausted); k8s-bundle is more than {engine[0] / bound:.0f}x faster (engine), "
              f"{cli_dir[0] / bound:.0f}x (cli-dir)")
        return 0
    sos_rate = (sos_mb / secs, sos_mb / max(sos_cpu, 1e-9))
    print(f"{'sos clean':<10} {secs:7.1f} s wall {sos_rate[0]:7.2f} MB/s | {sos_cpu:7.1f} s cpu {sos_rate[1]:7.2f} MB/cpu-s  "
          f"(on a {sos_mb:.1f} MB slice of the same corpus, --jobs 1 --threads 1; extrapolated to {mb:.0f} MB: "
          f"{mb / sos_rate[0]:.0f} s wall)")
    for i, unit in enumerate(("wall", "cpu")):
        print(f"ratio ({unit}): engine {engine[i] / sos_rate[i]:.1f}x, cli-dir {cli_dir[i] / sos_rate[i]:.1f}x"
              + (f", cli-tgz {cli_tgz[i] / sos_rate[i]:.1f}x" if cli_tgz else "")
              + f", obfuscating engine {obf[i] / sos_rate[i]:.1f}x faster than sos clean (MB/s against MB/s)")
    met = engine[1] >= 50 and cli_dir[0] / sos_rate[0] >= 5
    print(f"target (>= 50 MB per CPU-second on one core, >= 5x sos clean): {'met' if met else 'NOT met'}; "
          f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
