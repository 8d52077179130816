#!/usr/bin/env python3
"""Benchmark `k8s-bundle analyze` against the pipeline a user would type instead.

Generates (once; kept in bench/out/, never committed) a bundle with N nodes and about SIZE GB
of log text in the formats real bundles hold (journal short-iso-precise for kubelet,
containerd and the kernel; CRI pod logs), with a sprinkling of lines the rules match. Then,
in the same run, it times

  baseline: igzip -dc BUNDLE | rg -c -a -f PATTERNS   (<alternation of every loaded rule's log regex>)
            (gzip -dc | grep -E -c -a -f PATTERNS where igzip or rg is missing: it says so)
  analyze:  k8s-bundle analyze BUNDLE -o bench/out/report.html --quiet

and prints both times, their ratio (target: analyze at most 1.5x the baseline) and the
analyzer's peak memory (target: at most 600 MB): the largest process's own peak from wait4()
on the analyzer itself, and the summed RSS of its process tree sampled every 50 ms (workers).

    python3 bench/analyze_bench.py [--nodes 20] [--size-gb 1.0] [--runs 3] [--regenerate] [--phases] [--hit-every N]
    python3 bench/analyze_bench.py --sizes 0.25,1,2,8 [--runs 1]     # the growth, one table
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
CREATED_AT = "2026-11-22T11:30:00Z"
GENERATOR = "g3"     # in the bundle's file name: a cached bundle of an older generator is not reused
BUNDLE_MTIME = 1795347000   # CREATED_AT as a Unix time: fixed gzip and tar mtimes, byte-identical rebuilds

# Lines the shipped rules look for, dropped in rarely (about one in 40,000 lines).
HITS = {
    "kubelet": [
        'E1122 {hms}.{us}     812 kubelet.go:2373] "Skipping pod synchronization" err="PLEG is not healthy: pleg was last seen active 3m{s}.5s ago; threshold is 3m0s"',
        'E1122 {hms}.{us}     812 kubelet.go:2855] "Container runtime not ready" runtimeReady="RuntimeReady=false reason:DockerDaemonNotReady message:docker: failed to get docker version: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"',
        'E1122 {hms}.{us}     812 kubelet_node_status.go:96] "Unable to register node with API server" err="Post \\"https://10.0.0.10:6443/api/v1/nodes\\": x509: certificate signed by unknown authority" node="{node}"',
        'E1122 {hms}.{us}     812 run.go:74] "command failed" err="failed to run Kubelet: running with swap on is not supported, please disable swap! or set --fail-swap-on flag to false"',
        'E1122 {hms}.{us}     812 kubelet_node_status.go:96] "Unable to register node with API server" err="Post \\"https://10.0.0.10:6443/api/v1/nodes\\": dial tcp 10.0.0.10:6443: connect: connection refused" node="{node}"',
        'E1122 {hms}.{us}     812 pod_workers.go:1300] "Error syncing pod, skipping" err="failed to \\"StartContainer\\" for \\"kube-apiserver\\" with CrashLoopBackOff: \\"back-off 5m0s restarting failed container=kube-apiserver pod=kube-apiserver-{node}_kube-system({uid})\\"" pod="kube-system/kube-apiserver-{node}" podUID="{uid}"',
        'E1122 {hms}.{us}     812 pod_workers.go:1300] "Error syncing pod, skipping" err="failed to \\"StartContainer\\" for \\"app\\" with ImagePullBackOff: \\"Back-off pulling image \\\\\\"registry.local/app:1.{s}\\\\\\"\\"" pod="{ns}/{pod}" podUID="{uid}"',
        'I1122 {hms}.{us}     812 eviction_manager.go:366] "Eviction manager: attempting to reclaim" resourceName="ephemeral-storage"',
        'E1122 {hms}.{us}     812 kubelet.go:1400] "Image garbage collection failed multiple times in a row" err="failed to garbage collect required amount of images. Attempted to free 8281598771 bytes, but only found 1073741824 bytes eligible to free."',
        'E1122 {hms}.{us}     812 bootstrap.go:266] part of the existing bootstrap client certificate in /etc/kubernetes/kubelet.conf is expired: 2026-11-20 09:14:00 +0000 UTC',
        'E1122 {hms}.{us}     812 kubelet_volumes.go:263] "There were many similar errors. Turn up verbosity to see them." err="orphaned pod \\"{uid}\\" found, but error occurred when trying to remove the volumes dir: not a directory" numErrs={s}',
    ],
    "kernel": [
        "nf_conntrack: nf_conntrack: table full, dropping packet",
        "TCP: out of memory -- consider tuning tcp_mem",
        "INFO: task kworker/u16:{s}:{s}12 blocked for more than 120 seconds.",
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


def fields_at(r: random.Random, hms: str, node: str) -> dict[str, str]:
    """The variable parts of one line (ids, names, numbers), drawn from `r`."""
    return {
        "hms": hms,
        "us": f"{r.randrange(1_000_000):06d}",
        "s": str(r.randrange(60)),
        "ns": r.choice(("default", "kube-system", "shop", "monitoring")),
        "pod": f"web-{r.randrange(300)}-{r.randrange(16**5):05x}",
        "uid": f"{r.randrange(16**8):08x}-{r.randrange(16**4):04x}-4{r.randrange(16**3):03x}-a{r.randrange(16**3):03x}-{r.randrange(16**12):012x}",
        "rnd": f"{r.randrange(16**8):08x}",
        "ip": f"10.244.{r.randrange(256)}.{r.randrange(256)}",
        "node": node,
    }


class LineMaker:
    """Line by line, one random draw per field (multi_bench.py's small bundles use it)."""

    def __init__(self, node: str, seed: int, hit_every: int = 40000) -> None:
        self.rng = random.Random(seed)
        self.node = node
        self.hit_every = hit_every   # about one line in this many is one the rules match
        self.t = 8 * 3600  # seconds since midnight; advances a little per line

    def fields(self) -> dict[str, str]:
        self.t += self.rng.random() * 0.004
        t = int(self.t) % 86400
        return fields_at(self.rng, f"{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}", self.node)

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


# -- the fast generator ------------------------------------------------------------------------
# Formatting every line with fresh random fields runs at ~7 MB/s, so 8 GB took ~20 minutes.
# Instead a few dozen distinct 10-second "slots" of log text are formatted once (every line
# with fresh ids, its time inside the slot, sorted: a Poisson cadence), with markers where the
# slot's HH:MM:S (tens of seconds) and the node's name go. Each node's files are then those
# slots one after another, markers replaced (bytes.replace, GB/s): the lines keep the real
# formats and a kubelet's cadence of ~500 lines a second; each node starts at a different slot.
SLOT_SECONDS = 10
NODE_BYTES_PER_SLOT = 3_000_000     # ~300 kB/s of log text per node, as LineMaker's cadence
DISTINCT_SLOTS = 24
SLOT_MARK = "@@:@@:@"               # stands for the slot's "HH:MM:S"
NODE_MARK = "@NODE@"
# (member under logs/, share of the node's bytes, journal unit and pid or None for CRI, lines, hits)
LOG_FILES = [
    ("journal/kubelet.log", 0.42, ("kubelet", 812), KUBELET, HITS["kubelet"]),
    ("journal/containerd.log", 0.22, ("containerd", 700), CONTAINERD, HITS["containerd"]),
    ("kernel.log", 0.08, ("kernel", 0), KERNEL, HITS["kernel"]),
] + [
    (f"var/log/pods/shop_web-{p}_{{node_no:04d}}{p:04d}-0000-4000-a000-000000000000/app/0.log", 0.07, None,
     POD, HITS["pod"])
    for p in range(4)
]


def slot_text(r: random.Random, journal: tuple[str, int] | None, templates: list[str], hits: list[str],
              target: int, hit_every: int) -> bytes:
    """About `target` bytes of one file's lines over one slot, times and node as markers."""
    picked = []
    size = 0
    while size < target:
        f = fields_at(r, SLOT_MARK + "0", NODE_MARK)
        tpl = r.choice(hits) if hits and r.random() < 1 / hit_every else r.choice(templates)
        picked.append((tpl, f))
        size += len(tpl) + 60        # the formatted line's length, near enough to stop at
    times = sorted(r.random() * SLOT_SECONDS for _ in picked)
    lines = []
    for (tpl, f), t in zip(picked, times):
        f["hms"] = f"{SLOT_MARK}{int(t) % 10}"
        f["us"] = f"{int(t % 1 * 1_000_000):06d}"
        msg = tpl.format(**f)
        if journal:
            lines.append(f"2026-11-22T{f['hms']}.{f['us']}+00:00 {NODE_MARK} {journal[0]}[{journal[1]}]: {msg}\n")
        else:
            stream = "stderr" if r.random() < 0.1 else "stdout"
            lines.append(f"2026-11-22T{f['hms']}.{f['us']}123Z {stream} F {msg}\n")
    return "".join(lines).encode()


def slot_stamp(slot: int) -> bytes:
    t = 8 * 3600 + slot * SLOT_SECONDS
    if t >= 86400:
        raise SystemExit("analyze_bench: too many log bytes per node for one day of slots")
    return f"{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60 // 10}".encode()


def generate(path: Path, nodes: int, size_gb: float, hit_every: int = 40000, compresslevel: int = 1) -> dict:
    """Write the bundle; returns what the sidecar records (bytes of log text, seconds taken)."""
    sys.path.insert(0, str(HERE.parent))
    from k8s_bundle.bundle.manifest import ItemRecord, Manifest, NodeEntry, tool_entry
    from k8s_bundle.bundle.writer import BundleWriter

    t0 = time.time()
    per_node = int(size_gb * 1e9 / nodes) + 1
    slots = max(1, round(per_node / NODE_BYTES_PER_SLOT))
    distinct = min(DISTINCT_SLOTS, nodes * slots)
    blocks = []
    for k in range(distinct):
        r = random.Random(k)
        blocks.append([slot_text(r, journal, tpls, hits, int(per_node * share / slots), hit_every)
                       for _, share, journal, tpls, hits in LOG_FILES])
    t_blocks = time.time() - t0
    print(f"  {distinct} distinct slots of {sum(map(len, blocks[0])) / 1e6:.1f} MB formatted in {t_blocks:.1f} s; "
          f"{slots} slot(s) per node", flush=True)
    items = []
    names = [f"node{i:02d}" for i in range(1, nodes + 1)]
    raw = 0
    # Spooling a member in memory (up to 256 MB) spares a temporary file per member.
    with BundleWriter(path, "k8s-bundle-multi-20261122T113000Z", overwrite=True, compresslevel=compresslevel,
                      mtime=BUNDLE_MTIME, spool_bytes=256 << 20) as w:
        for i, node in enumerate(names):
            base = f"nodes/{node}"
            w.add_json(f"{base}/node.json", {
                "name": node, "hostname": node, "os": "linux", "distro": "Ubuntu 22.04.4 LTS",
                "kernel": "5.15.0-105-generic", "arch": "x86_64", "timezone": "UTC", "utc_offset_seconds": 0,
                "cpus": 8, "memory_bytes": 33554432000, "roles": ["control-plane"] if i < 3 else ["worker"],
                "versions": {"kubelet": "v1.29.3", "containerd": "1.7.13"}, "runtime": "containerd", "init": "systemd",
            })
            node_b = node.encode()
            for f_no, (member, *_rest) in enumerate(LOG_FILES):
                rel = f"{base}/logs/{member.format(node_no=i)}"
                # 7 is prime to DISTINCT_SLOTS' factors for 20 nodes: node i starts at its own slot
                chunks = (blocks[(i * 7 + j) % distinct][f_no].replace(SLOT_MARK.encode(), slot_stamp(j))
                          .replace(NODE_MARK.encode(), node_b) for j in range(slots))
                stored = w.add_stream(rel, chunks)
                raw += stored.bytes
                items.append(ItemRecord(node, "logs", rel.split("/logs/")[1], path=rel,
                                         kind="journal" if "/journal/" in rel else "file", source=rel,
                                         duration_ms=100, bytes=stored.bytes, sha256=stored.sha256,
                                         needs_root=True))
            if (i + 1) % 5 == 0 or i + 1 == nodes:
                print(f"  generated {i + 1}/{nodes} nodes ({time.time() - t0:.0f}s)", flush=True)
        w.finish(Manifest(CREATED_AT, CREATED_AT, {"argv": ["bench"]}, tool=tool_entry("bench"), items=items,
                          nodes=[NodeEntry(n, os="linux", transport="ssh", timezone="UTC", utc_offset_seconds=0)
                                 for n in names]))
    return {"log_bytes": raw, "generate_s": round(time.time() - t0, 1), "format_s": round(t_blocks, 1),
            "compresslevel": compresslevel, "nodes": nodes, "hit_every": hit_every}


def bundle_path(nodes: int, size_gb: float, hit_every: int = 40000) -> Path:
    dense = f"-hits{hit_every}" if hit_every != 40000 else ""
    return OUT / f"bench-{nodes}n-{size_gb:g}gb{dense}-{GENERATOR}.tgz"


def cached_bundle(nodes: int, size_gb: float, hit_every: int = 40000, regenerate: bool = False) -> tuple[Path, dict]:
    """The bundle, generated unless cached, and its sidecar (bench/out/<bundle>.json)."""
    OUT.mkdir(exist_ok=True)
    bundle = bundle_path(nodes, size_gb, hit_every)
    sidecar = bundle.with_suffix(".json")
    if regenerate or not bundle.exists() or not sidecar.exists():
        print(f"generating {bundle} ...", flush=True)
        info = generate(bundle, nodes, size_gb, hit_every)
        sidecar.write_text(json.dumps(info) + "\n")
        print(f"  {info['log_bytes'] / 1e9:.2f} GB of log text in {info['generate_s']} s "
              f"({info['log_bytes'] / 1e6 / info['generate_s']:.0f} MB/s), "
              f"{bundle.stat().st_size / 1e6:.0f} MB compressed (gzip level {info['compresslevel']})", flush=True)
    return bundle, json.loads(sidecar.read_text())


# -- the baseline ---------------------------------------------------------------------------------
def rule_log_regexes() -> list[str]:
    """Every loaded rule's log regex, named groups made plain, each once (Python syntax)."""
    sys.path.insert(0, str(HERE.parent))
    from k8s_bundle.analyzer.evaluate import load_rules
    from k8s_bundle.analyzer.evaluate_logs import strip_group_names

    return list(dict.fromkeys(strip_group_names(c.regex) for r in load_rules() for c in r.log_conditions()))


def baseline_pattern() -> str:
    """The alternation of every rule's log regex, in Python (and PCRE, Rust regex) syntax."""
    return "|".join(f"(?:{r})" for r in rule_log_regexes())


_ERE_CLASSES = {"d": "0-9", "s": "[:space:]", "w": "[:alnum:]_"}
_ERE_NEGATED = {"D": "[^0-9]", "S": "[^[:space:]]", "W": "[^[:alnum:]_]"}


def _ere_bracket(regex: str, i: int, fold: bool) -> tuple[str | None, int]:
    """The bracket expression starting at regex[i] == '[' in ERE, and the index after it.
    POSIX brackets have no escapes: a ']' member goes first, '[' and '-' last."""
    i += 1
    neg = regex.startswith("^", i)
    i += neg
    body, rbracket, lbracket, dash = [], False, False, False
    if regex.startswith("]", i):
        rbracket, i = True, i + 1
    while i < len(regex) and regex[i] != "]":
        c = regex[i]
        if c == "\\" and i + 1 < len(regex):
            e = regex[i + 1]
            i += 2
            if e in _ERE_CLASSES:
                body.append(_ERE_CLASSES[e])
            elif e == "n":
                pass                    # a newline is never inside the line grep searches
            elif e == "]":
                rbracket = True
            elif e == "-":
                dash = True
            elif e == "[":
                lbracket = True         # last: '[' before ':', '.' or '=' would open a [:class:]
            elif e.isalnum():
                return None, i
            else:
                body.append(e)          # \\ \[ \" ...: the plain character
            continue
        if fold and c.isalpha():
            return None, i              # case folding inside ranges: not worth translating
        if c == "[":
            lbracket = True
        else:
            body.append(c)
        i += 1
    text = "".join(body) + ("[" if lbracket else "")
    if not (text or rbracket or dash):
        return ("." if neg else None), i + 1
    return "[" + ("^" if neg else "") + ("]" if rbracket else "") + text + ("-" if dash else "") + "]", i + 1


def to_ere(regex: str) -> str | None:
    """Python regex -> POSIX ERE (GNU grep -E), or None where ERE has no equivalent
    (look-around, back-references, scoped flags, anchors of the whole text). A leading (?i)
    becomes [aA] pairs; lazy quantifiers become greedy (the same lines match)."""
    out = []
    fold = regex.startswith("(?i)")
    i, n = (4 if fold else 0), len(regex)
    while i < n:
        c = regex[i]
        if c == "\\" and i + 1 < n:
            e = regex[i + 1]
            i += 2
            if e in _ERE_CLASSES:
                out.append(f"[{_ERE_CLASSES[e]}]")
            elif e in _ERE_NEGATED:
                out.append(_ERE_NEGATED[e])
            elif e == "b":
                out.append(r"\b")
            elif e.isalnum():       # \A \Z \1 \x.. \u.. \n ...: no ERE spelling worth the risk
                return None
            elif e in ".[]{}()*+?|^$\\":
                out.append("\\" + e)
            else:                   # \- \/ \" \< ...: a plain character (GNU reads \< as a word edge)
                out.append(e)
            continue
        if c == "[":
            bracket, i = _ere_bracket(regex, i, fold)
            if bracket is None:
                return None
            out.append(bracket)
            continue
        if regex.startswith("(?:", i):
            out.append("(")
            i += 3
            continue
        if regex.startswith("(?", i):   # look-around, scoped flags, named back-references
            return None
        if c in "*+?}" and i + 1 < n and regex[i + 1] == "?":
            out.append(c)
            i += 2
            continue
        out.append(f"[{c.lower()}{c.upper()}]" if fold and c.isalpha() and c.lower() != c.upper() else c)
        i += 1
    return "".join(out)


@dataclass
class Baseline:
    name: str          # what ran, as a user would type it
    command: str       # shell pipeline, {bundle} to fill in
    kept: int
    dropped: int
    fallback: str | None   # why the preferred pipeline did not run


def _accepted(argv: list[str]) -> bool:
    """Does the tool compile this pattern? (exit 2 is a syntax error for rg and grep)"""
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True).returncode != 2


def make_baseline(pattern_file: Path) -> Baseline:
    regexes = rule_log_regexes()
    igzip, rg = shutil.which("igzip"), shutil.which("rg")
    if igzip and rg:
        # Rust regex takes Python's syntax except look-around and back-references: one rg per
        # regex only when the whole alternation is refused.
        kept = regexes
        if not _accepted([rg, "-c", "-e", "|".join(f"(?:{r})" for r in regexes), "/dev/null"]):
            kept = [r for r in regexes if _accepted([rg, "-c", "-e", r, "/dev/null"])]
        pattern_file.write_text("|".join(f"(?:{r})" for r in kept) + "\n")
        # -a: the tar stream has NUL bytes in its headers; search it all as text
        return Baseline("igzip -dc | rg -c -a -f PATTERNS", f"{igzip} -dc {{bundle}} | {rg} -c -a -f '{pattern_file}'",
                        len(kept), len(regexes) - len(kept), None)
    missing = " and ".join(t for t, p in (("igzip (Debian: isal)", igzip), ("rg (Debian: ripgrep)", rg)) if not p)
    translated = [to_ere(r) for r in regexes]
    kept = [e for e in translated if e is not None and _accepted(["grep", "-E", "-c", "-e", e, "/dev/null"])]
    pattern_file.write_text("|".join(f"({e})" for e in kept) + "\n")
    return Baseline("gzip -dc | grep -E -c -a -f PATTERNS", f"gzip -dc {{bundle}} | grep -E -c -a -f '{pattern_file}'",
                    len(kept), len(regexes) - len(kept), f"{missing} not found")


# -- measuring ------------------------------------------------------------------------------------
@dataclass
class Run:
    wall: float
    cpu: float
    rc: int
    peak_own: int      # bytes: the analyzer process's own peak RSS (or its largest child's), wait4()
    peak_tree: int     # bytes: the largest summed RSS of the analyzer's process tree, sampled
    stdout: bytes = b""


def _tree_rss(pid: int) -> int:
    """Summed RSS of pid and its descendants, walked through /proc/PID/task/TID/children
    (not a scan of every process: the sampler must not load the machine it measures)."""
    page = os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm", "rb") as f:
                total += int(f.read().split()[1]) * page
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children", "rb") as f:
                    todo += [int(c) for c in f.read().split()]
        except (OSError, ValueError, IndexError):
            continue        # the process ended between two reads
    return total


def run_analyzer(argv: list[str]) -> Run:
    """Run the analyzer itself (no shell between) and reap it with wait4(): its rusage is its
    own (ru_maxrss: the largest of it and its children), never gzip's or rg's."""
    peak_tree = 0
    done = threading.Event()
    with tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)

        def sample() -> None:
            nonlocal peak_tree
            while not done.wait(0.05):
                peak_tree = max(peak_tree, _tree_rss(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in (0, 1, 3):
            err.seek(0)
            sys.stderr.write(err.read().decode(errors="replace")[-2000:])
    return Run(wall, usage.ru_utime + usage.ru_stime, proc.returncode, usage.ru_maxrss * 1024, peak_tree)


def run_shell(cmd: str) -> Run:
    """A shell pipeline: wall and CPU time of all its processes (peak memory not kept)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, shell=True, capture_output=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1):
        sys.stderr.write(proc.stderr.decode(errors="replace")[-2000:])
    return Run(wall, cpu, proc.returncode, 0, 0, proc.stdout)


def median_run(runs: list[Run]) -> Run:
    """Median wall and CPU; the largest peaks (memory targets are about the worst run)."""
    return Run(statistics.median(r.wall for r in runs), statistics.median(r.cpu for r in runs), runs[-1].rc,
               max(r.peak_own for r in runs), max(r.peak_tree for r in runs), runs[-1].stdout)


WALL_TARGET = 1.5          # analyze wall time / baseline wall time
PEAK_TARGET = 600e6        # bytes


def analyzer_command(given: str | None) -> list[str]:
    if given:
        return shlex.split(given)
    exe = shutil.which("k8s-bundle")
    return [exe] if exe else [sys.executable, "-m", "k8s_bundle.cli"]


def measure(bundle: Path, baseline: Baseline, runs: int, analyzer: list[str]) -> tuple[Run, Run]:
    argv = [*analyzer, "analyze", str(bundle), "-o", str(OUT / "report.html"), "--quiet"]
    subprocess.run(f"cat '{bundle}' > /dev/null", shell=True)     # the page cache, warm for both sides
    a = median_run([run_analyzer(argv) for _ in range(runs)])
    b = median_run([run_shell(baseline.command.format(bundle=f"'{bundle}'")) for _ in range(runs)])
    return a, b


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} ({os.cpu_count()} CPUs)"


def sizes_mode(args: argparse.Namespace, baseline: Baseline) -> int:
    sizes = [float(x) for x in args.sizes.split(",")]
    runs = args.runs or 1
    rows = []
    for size in sizes:
        bundle, info = cached_bundle(args.nodes, size, args.hit_every, args.regenerate)
        a, b = measure(bundle, baseline, runs, analyzer_command(args.analyzer))
        peak = max(a.peak_own, a.peak_tree)
        ratio = a.wall / b.wall if b.wall else float("inf")
        verdict = "PASS" if ratio <= WALL_TARGET and peak <= PEAK_TARGET and a.rc in (0, 1, 3) else "FAIL"
        rows.append((size, info, bundle, a, b, ratio, peak, verdict))
        print(f"  {size:g} GB: analyze {a.wall:.1f} s, {peak / 1e6:.0f} MB; baseline {b.wall:.1f} s; "
              f"ratio {ratio:.2f}; {verdict}", flush=True)
    print(f"\n{shlex.join(analyzer_command(args.analyzer))} analyze vs {baseline.name}, {args.nodes} nodes, median of {runs} run(s); "
          f"targets: wall <= {WALL_TARGET}x baseline, peak <= {PEAK_TARGET / 1e6:.0f} MB")
    print("| size | log text | compressed | analyze wall | analyze CPU | peak own (wait4) | peak tree (sampled) "
          "| baseline wall | baseline CPU | matching lines | ratio | result |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for size, info, bundle, a, b, ratio, peak, verdict in rows:
        print(f"| {size:g} GB | {info['log_bytes'] / 1e9:.2f} GB | {bundle.stat().st_size / 1e6:.0f} MB "
              f"| {a.wall:.1f} s | {a.cpu:.1f} s | {a.peak_own / 1e6:.0f} MB | {a.peak_tree / 1e6:.0f} MB "
              f"| {b.wall:.1f} s | {b.cpu:.1f} s | {b.stdout.decode().strip()} | {ratio:.2f} | {verdict} |")
    return 0 if all(r[-1] == "PASS" for r in rows) else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=20)
    ap.add_argument("--size-gb", type=float, default=1.0)
    ap.add_argument("--sizes", metavar="GB,GB,...",
                    help="one bundle per size (GB of log text, generated once), all measured in one run")
    ap.add_argument("--runs", type=int, default=None, help="median of this many runs (default 3; 1 with --sizes)")
    ap.add_argument("--regenerate", action="store_true")
    ap.add_argument("--analyzer", metavar="CMD",
                    help="the k8s-bundle to measure (a command line; default: k8s-bundle on PATH), e.g. "
                         "an older commit's venv for a before/after table")
    ap.add_argument("--phases", action="store_true", help="also time each phase in-process")
    ap.add_argument("--hit-every", type=int, default=40000, metavar="N",
                    help="about one line in N is one the rules match (default 40000; 100 makes every finding "
                         "keep its full evidence: the report-size worst case of docs/report-schema.md)")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    print(f"start: {load_line()}", flush=True)
    baseline = make_baseline(OUT / "baseline.pattern")
    print(f"baseline: {baseline.name} over {baseline.kept} rule regexes"
          + (f" ({baseline.dropped} left out: no equivalent in its regex syntax)" if baseline.dropped else "")
          + (f"; FALLBACK: {baseline.fallback}" if baseline.fallback else ""), flush=True)
    if args.sizes:
        rc = sizes_mode(args, baseline)
        print(f"end: {load_line()}")
        return rc

    runs = args.runs or 3
    bundle, info = cached_bundle(args.nodes, args.size_gb, args.hit_every, args.regenerate)
    print(f"bundle: {bundle.stat().st_size / 1e6:.0f} MB compressed, {info['log_bytes'] / 1e9:.2f} GB of log text, "
          f"{args.nodes} nodes")
    a, b = measure(bundle, baseline, runs, analyzer_command(args.analyzer))
    d = median_run([run_shell(f"gzip -dc '{bundle}' > /dev/null") for _ in range(runs)])
    print(f"baseline  {baseline.name}: {b.wall:.1f} s wall, {b.cpu:.1f} s CPU, "
          f"{b.stdout.decode().strip()} matching lines (median of {runs})")
    print(f"analyze   k8s-bundle analyze: {a.wall:.1f} s wall, {a.cpu:.1f} s CPU (exit {a.rc}), "
          f"peak {a.peak_own / 1e6:.0f} MB own (wait4), {a.peak_tree / 1e6:.0f} MB process tree (sampled)")
    report = OUT / "report.html"
    if report.exists():
        print(f"report    {report}: {report.stat().st_size / 1e6:.2f} MB (target < 10 MB)")
    print(f"floor     gzip -dc > /dev/null (decompression alone): {d.wall:.1f} s wall, {d.cpu:.1f} s CPU")
    ratio = a.wall / b.wall if b.wall else float("inf")
    cpu_ratio = a.cpu / b.cpu if b.cpu else float("inf")
    peak = max(a.peak_own, a.peak_tree)
    print(f"ratio     analyze / baseline = {ratio:.2f} wall, {cpu_ratio:.2f} CPU (target <= {WALL_TARGET}); "
          f"analyze / decompression = {a.wall / d.wall if d.wall else float('inf'):.1f}; "
          f"peak {peak / 1e6:.0f} MB (target <= {PEAK_TARGET / 1e6:.0f} MB): "
          f"{'PASS' if ratio <= WALL_TARGET and peak <= PEAK_TARGET else 'FAIL'}")
    if args.phases:
        phases(bundle)
    print(f"end: {load_line()}")
    return 0


def phases(bundle: Path) -> None:
    """Where the analyzer's time goes: the same pipeline in-process, phase by phase."""
    sys.path.insert(0, str(HERE.parent))
    from k8s_bundle.analyzer.evaluate import evaluate, load_rules
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
