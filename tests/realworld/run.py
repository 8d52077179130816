"""The public-case corpus runner (tests/realworld/README.md).

Each case is rebuilt as the node its thread shows and goes through the real pipeline:

- Linux: the base's file tree plus the case's files and rendered logs under a root directory,
  the base's and the case's recorded tool outputs behind fake tools on PATH (fake.py), then the
  real `k8s-bundle collect --root DIR --live` writes the bundle;
- Windows: a Windows bundle written with the project's BundleWriter (no Windows collector can
  run here) from the base's members, the case's members and rendered logs;

then the analyzer reads the bundle (load_evidence -> evaluate, the same calls `analyze` makes)
and the case is diagnosed when one of its `expect` rules fires. Every case runs in two forms:
`recurring` (the failure repeats at its cadence for 40 minutes) and `once` (a few lines).

    python -m tests.realworld.run [CLASS ...] [--case ID] [--healthy] [--show] [--jobs N] [--json OUT]
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "simnode"))
from simnode import link_host_tools  # noqa: E402  (links this machine's tools minus the node's)
CASES = HERE / "cases"
HEALTHY = HERE / "healthy"
BASES = HERE / "bases"
FORMS = ("recurring", "once")
RECURRING_SPAN = dt.timedelta(minutes=40)
BASELINE_SPAN = dt.timedelta(hours=2)
SEVERE = ("critical", "warning")

# Tools every Linux node has (recorded or not); any other tool the collector calls exists on the
# simulated node only when the base or the case records an output or a version for it.
OS_TOOLS = ("cat", "journalctl", "systemctl", "uname", "hostname", "date", "stat", "free", "df",
            "findmnt", "lsmod", "sysctl", "ip", "ss", "bridge", "swapon", "timedatectl",
            "update-alternatives", "mount", "modprobe", "nsenter")


# -- loading -----------------------------------------------------------------------------------
def load_yaml(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise SystemExit(f"corpus: {path.relative_to(HERE)}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(doc, dict):
        raise SystemExit(f"corpus: {path.relative_to(HERE)}: a case is a mapping")
    doc.setdefault("id", path.stem)
    doc["_path"] = str(path.relative_to(HERE))
    return doc


def load_cases(classes: list[str] | None = None) -> list[dict[str, Any]]:
    out = []
    for path in sorted(CASES.glob("*/*.yaml")):
        if classes and path.parent.name not in classes:
            continue
        out.append(load_yaml(path))
    return out


def load_healthy() -> list[dict[str, Any]]:
    return [load_yaml(p) for p in sorted(HEALTHY.glob("*.yaml"))]


def load_base(name: str) -> dict[str, Any]:
    path = BASES / name / "base.yaml"
    if not path.exists():
        raise ValueError(f"no base {name!r} (bases: {', '.join(sorted(p.name for p in BASES.iterdir()))})")
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    doc["_dir"] = path.parent
    return doc


# -- log rendering -----------------------------------------------------------------------------
def fill(line: str, ts: dt.datetime, host: str) -> str:
    """Placeholders -> the occurrence's time in each format (README: "Placeholders in lines")."""
    subs = {
        "{klog}": ts.strftime("%m%d %H:%M:%S.%f"),
        "{isons}": ts.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z",
        "{isolocal}": ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}+0000",
        "{iso}": ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "{date}": ts.strftime("%Y/%m/%d"),
        "{time}": ts.strftime("%H:%M:%S"),
        "{syslog}": ts.strftime("%b ") + f"{ts.day:2d}" + ts.strftime(" %H:%M:%S"),
        "{epoch}": f"{ts.timestamp():.3f}",
        "{host}": host,
    }
    for k, v in subs.items():
        if k in line:
            line = line.replace(k, v)
    return line


def parse_every(text: str | int | None, default: int = 30) -> dt.timedelta:
    if text is None:
        return dt.timedelta(seconds=default)
    if isinstance(text, (int, float)):
        return dt.timedelta(seconds=float(text))
    unit = {"s": 1, "m": 60, "h": 3600}[text[-1]]
    return dt.timedelta(seconds=float(text[:-1]) * unit)


def occurrences(entry: dict[str, Any], form: str, now: dt.datetime) -> list[dt.datetime]:
    """Start times of one `logs` entry's occurrences in a form ("baseline": the base's own)."""
    every = parse_every(entry.get("every"))
    if form == "baseline":
        start, end = now - BASELINE_SPAN, now - dt.timedelta(seconds=30)
    elif form == "recurring":
        start, end = now - RECURRING_SPAN, now - dt.timedelta(minutes=1)
    else:
        n = int(entry.get("once", 1))
        last = now - dt.timedelta(minutes=2)
        return [last - every * (n - 1 - i) for i in range(n)]
    out, t = [], start
    while t <= end:
        out.append(t)
        t += every
    return out


def render(entries: list[dict[str, Any]], form: str, now: dt.datetime, host: str) -> dict[str, list[tuple[dt.datetime, str]]]:
    """`at` -> [(time, line with placeholders filled)], each occurrence's lines 0.1 s apart."""
    out: dict[str, list[tuple[dt.datetime, str]]] = {}
    for entry in entries or []:
        lines = entry.get("lines") or []
        for start in occurrences(entry, form, now):
            for i, line in enumerate(lines):
                ts = start + dt.timedelta(milliseconds=100 * i)
                out.setdefault(entry["at"], []).append((ts, fill(str(line), ts, host)))
    for v in out.values():
        v.sort(key=lambda x: x[0])
    return out


def _pod_uid(ns: str, pod: str) -> str:
    h = hashlib.sha1(f"{ns}/{pod}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def journal_stamp(ts: dt.datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


# -- Linux: a simulated node collected by the real collector ---------------------------------------
def _catalogue_argv() -> dict[str, tuple[str, ...]]:
    from k8s_bundle.collector.context import Context
    from k8s_bundle.collector.items import CommandItem
    from k8s_bundle.collector.linux import catalogue
    from k8s_bundle.collector.transports.local import LocalTransport

    ctx = Context(transport=LocalTransport("/nonexistent", live=True), node="n", since="72h",
                  is_root=True, timeout=1, cap=1)
    return {i.id: tuple(i.argv) for i in catalogue(ctx) if isinstance(i, CommandItem)}


def _shadowed_tools(argvs: dict[str, tuple[str, ...]]) -> set[str]:
    from k8s_bundle.collector.linux.binaries import VERSION_ARGS

    return {a[0] for a in argvs.values()} | set(VERSION_ARGS) | set(OS_TOOLS) | {
        "kubectl", "dmesg", "k3s", "rke2", "microk8s", "cri-dockerd", "dockerd", "ethtool"}


def build_linux(case: dict[str, Any], base: dict[str, Any], form: str, work: Path, now: dt.datetime) -> Path:
    root = work / "root"
    shutil.copytree(base["_dir"] / "root", root, symlinks=True)
    host = str(base.get("hostname", "node1"))
    pids = base.get("pids") or {}
    pki = base.get("pki")
    if pki:
        from tests.realworld import pki as pkimod

        pkimod.generate(root, host, str(base.get("ip", "192.168.1.10")), now, case.get("certs"),
                        control_plane=pki == "control-plane")
    for rel in case.get("absent") or []:
        p = root / rel.lstrip("/")
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()
    for rel, text in (case.get("files") or {}).items():
        p = root / rel.lstrip("/")
        p.parent.mkdir(parents=True, exist_ok=True)
        if p.is_symlink():
            p.unlink()
        p.write_text(str(text), encoding="utf-8")
    # logs: the base's ordinary lines over two hours, the case's in the form asked for
    logs = render(base.get("logs") or [], "baseline", now, host)
    for at, lines in render(case.get("logs") or [], form, now, host).items():
        logs.setdefault(at, []).extend(lines)
    journal_dir = work / "journal"
    journal_dir.mkdir()
    journals: dict[str, str] = {}
    kernel = None
    for at, lines in logs.items():
        lines.sort(key=lambda x: x[0])
        if at.startswith("journal/"):
            unit = at.split("/", 1)[1]
            # snap services log as "microk8s.daemon-kubelite[pid]" (the snap's app name)
            ident = unit.split(".", 1)[1] if unit.startswith("snap.") else unit
            ident = {"k3s-agent": "k3s", "rke2-agent": "rke2", "rke2-server": "rke2"}.get(ident, ident)
            pid = pids.get(unit, 1000 + int(hashlib.sha1(unit.encode()).hexdigest()[:3], 16))
            path = journal_dir / f"{unit}.log"
            path.write_text("".join(f"{journal_stamp(t)} {host} {ident}[{pid}]: {m}\n" for t, m in lines), "utf-8")
            journals[unit] = str(path)
        elif at == "kernel":
            path = journal_dir / "kernel.log"
            path.write_text("".join(f"{journal_stamp(t)} {host} kernel: {m}\n" for t, m in lines), "utf-8")
            kernel = str(path)
        elif at.startswith("pod:"):
            ns, pod, ctr = at[4:].split("/")
            d = root / "var/log/pods" / f"{ns}_{pod}_{_pod_uid(ns, pod)}" / ctr
            d.mkdir(parents=True, exist_ok=True)
            stamp = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"  # noqa: E731
            with open(d / "0.log", "a", encoding="utf-8") as f:
                f.write("".join(f"{stamp(t)} stderr F {m}\n" for t, m in lines))
        elif at.startswith("file:"):
            p = root / at[5:].lstrip("/")
            p.parent.mkdir(parents=True, exist_ok=True)
            with open(p, "a", encoding="utf-8") as f:
                f.write("".join(f"{m}\n" for _, m in lines))
        else:
            raise ValueError(f"{case['id']}: unknown log place {at!r}")
    # recorded outputs: base commands/, then the case's
    argvs = _CATALOGUE or _catalogue_argv()
    outputs = work / "outputs"
    outputs.mkdir()
    recorded: dict[str, Any] = {}
    sources = {p.name.rsplit(".", 1)[0]: p for p in (base["_dir"] / "commands").iterdir()}
    for cid, text in (case.get("commands") or {}).items():
        p = outputs / f"case-{cid}.txt"
        p.write_text(str(text), encoding="utf-8")
        sources[cid] = p
    for cid in case.get("commands_absent") or []:
        sources.pop(cid, None)
    for cid, path in sources.items():
        if cid not in argvs:
            raise ValueError(f"{case['id']}: no collector command {cid!r}")
        recorded[" ".join(argvs[cid])] = [str(path), 0]
    versions = dict(base.get("versions") or {})
    versions.update(case.get("versions") or {})
    for tool in case.get("tools_absent") or []:
        versions.pop(tool, None)
    present = set(OS_TOOLS) | set(versions) | {k.split(" ", 1)[0] for k in recorded}
    present -= set(case.get("tools_absent") or [])
    timedatectl = (base["_dir"] / "commands" / "timedatectl.txt")
    tz = "Etc/UTC"
    if timedatectl.exists():
        for line in timedatectl.read_text().splitlines():
            if line.startswith("Timezone="):
                tz = line.split("=", 1)[1]
    write_tools(work / "bin", present, recorded, journals, kernel, versions, tz)
    host_tools = link_host_tools(work / "host-tools", _shadowed_tools(argvs))
    env = dict(os.environ)
    env["PATH"] = f"{work / 'bin'}:{host_tools}"
    out = work / "bundle.tgz"
    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "collect", "--root", str(root), "--live",
                           "-o", str(out), "--timeout", "5", "--progress", "json"],
                          env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(f"collect exited {proc.returncode}: {proc.stderr.strip()[-400:]}")
    return out


def _q(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def write_tools(bin_dir: Path, present: set[str], recorded: dict[str, Any], journals: dict[str, str],
                kernel: str | None, versions: dict[str, str], tz: str) -> None:
    """One /bin/sh script per tool the node has: `case "$*"` over its recorded invocations
    (a shell starts in a millisecond; the collector runs about 150 of them per node).

    An unrecorded invocation of a tool the node has exits 1 with a message (recorded as failed);
    `cat` of an unrecorded path runs the real cat on the root's files; `systemctl status|show`
    of a unit the node lacks answers as systemctl does (exit 4)."""
    bin_dir.mkdir()
    vdir = bin_dir.parent / "versions"
    vdir.mkdir()
    by_tool: dict[str, list[tuple[str, str]]] = {}
    for key, (path, _code) in recorded.items():
        tool, _, args = key.partition(" ")
        by_tool.setdefault(tool, []).append((args, f"exec cat {_q(path)}"))
    for tool, text in versions.items():
        vf = vdir / tool
        vf.write_text(text.rstrip("\n") + "\n", "utf-8")
        for args in ("--version", "-V", "version", "version -o short", "version --client -o yaml"):
            by_tool.setdefault(tool, []).append((args, f"exec cat {_q(str(vf))}"))
    by_tool.setdefault("timedatectl", []).append(("show -p Timezone --value", f"echo {_q(tz)}"))
    by_tool.setdefault("uname", []).append(("-m", "echo x86_64"))
    for tool in sorted(present):
        if tool == "journalctl":
            body = ['unit=""; kernel=""',
                    'while [ $# -gt 0 ]; do',
                    '  case "$1" in',
                    '    -u) unit="${2%.service}"; shift ;;',
                    '    --unit=*) unit="${1#--unit=}"; unit="${unit%.service}" ;;',
                    '    -k|--dmesg|_TRANSPORT=kernel) kernel=1 ;;',
                    f'    --version) exec cat {_q(str(vdir / "journalctl"))} ;;',
                    '  esac',
                    '  shift',
                    'done',
                    f'[ -n "$kernel" ] && {{ {"exec cat " + _q(kernel) if kernel else "exit 0"}; }}',
                    'case "$unit" in']
            body += [f"  {_q(u)}) exec cat {_q(p)} ;;" for u, p in sorted(journals.items())]
            body += ["esac", "exit 0"]
        else:
            body = ['case "$*" in']
            seen = set()
            for args, action in by_tool.get(tool, []):
                if args not in seen:
                    seen.add(args)
                    body.append(f"  {_q(args)}) {action} ;;")
            if tool == "cat":
                fallback = 'exec /bin/cat "$@"'
            elif tool == "systemctl":
                fallback = ('case "$1" in status|show) echo "Unit ${2%.service}.service could not be found." >&2; exit 4 ;; esac; '
                            f'echo "{tool}: invocation not recorded for this node: $*" >&2; exit 1')
            else:
                fallback = f'echo "{tool}: invocation not recorded for this node: $*" >&2; exit 1'
            body += [f"  *) {fallback} ;;", "esac"]
        w = bin_dir / tool
        w.write_text("#!/bin/sh\n" + "\n".join(body) + "\n", "utf-8")
        w.chmod(0o755)


# -- Windows: a bundle as the Windows collector writes it -----------------------------------------
EVENT_LEVEL = {"Critical": 1, "Error": 2, "Warning": 3, "Information": 4}


def build_windows(case: dict[str, Any], base: dict[str, Any], form: str, work: Path, now: dt.datetime) -> Path:
    from k8s_bundle.analyzer.fixtures import FIXTURE_NODE, build_fixture_bundle

    node = FIXTURE_NODE
    host = str(base.get("hostname", "win-worker-1"))
    members: dict[str, str] = {}
    bdir = base["_dir"] / "bundle"
    for p in sorted(bdir.rglob("*")):
        if p.is_file():
            members[p.relative_to(bdir).as_posix()] = p.read_text(encoding="utf-8")
    for rel in case.get("absent") or []:
        members.pop(rel.lstrip("/"), None)
    for rel, text in (case.get("files") or {}).items():
        members[rel.lstrip("/")] = str(text)
    logs = render(base.get("logs") or [], "baseline", now, host)
    for at, lines in render(case.get("logs") or [], form, now, host).items():
        logs.setdefault(at, []).extend(lines)
    for at, lines in logs.items():
        lines.sort(key=lambda x: x[0])
        if at.startswith("file:"):
            path = at[5:].replace("\\", "/")
            if len(path) > 1 and path[1] == ":":
                path = path[0].upper() + path[2:]
            rel = "logs/" + path.lstrip("/")
            members[rel] = members.get(rel, "") + "".join(f"{m}\n" for _, m in lines)
        elif at.startswith("event:"):
            log = at[6:]
            rel = f"logs/eventlog/{log}.jsonl"
            rows = []
            for t, m in reversed(lines):        # Get-WinEvent: newest first
                provider, eid, level, message = m.split("|", 3)
                rows.append(json.dumps({
                    "TimeCreated": t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z", "Id": int(eid),
                    "Level": EVENT_LEVEL.get(level, 4), "LevelDisplayName": level, "ProviderName": provider,
                    "LogName": log, "Message": message}, ensure_ascii=False, separators=(",", ":")))
            members[rel] = "".join(r + "\n" for r in rows) + members.get(rel, "")
        else:
            raise ValueError(f"{case['id']}: unknown Windows log place {at!r}")
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    fixture = {"os": "windows", "files": {f"nodes/{node}/{k}": v for k, v in members.items()},
               "manifest": {"created_at": stamp, "finished_at": stamp,
                            "collection": {"argv": ["collect", "--winrm", host], "since": "72h", "root": "/",
                                           "user": "Administrator", "is_root": True}}}
    return build_fixture_bundle(fixture, work / "bundle.tgz")


# -- running -----------------------------------------------------------------------------------------
@dataclass
class Result:
    id: str
    cls: str
    platform: str
    form: str
    healthy: bool
    expect: list[str]
    fired: list[tuple[str, str]] = field(default_factory=list)    # (rule id, severity)
    error: str | None = None
    templates: list[str] = field(default_factory=list)            # top unexplained templates
    line_in_templates: bool | None = None
    roots: list[str] = field(default_factory=list)                # triage roots, in the report's order

    @property
    def cause_rank(self) -> int | None:
        """1-based place of the first expected rule among the report's root causes (None: the
        expected rule is no root, or did not fire): what "what to fix first" puts on top."""
        for i, key in enumerate(self.roots, 1):
            if key in self.expect:
                return i
        return None

    @property
    def diagnosed(self) -> bool:
        return self.error is None and any(r in self.expect for r, _ in self.fired)

    @property
    def severe(self) -> list[str]:
        return [f"{r} ({s})" for r, s in self.fired if s in SEVERE]

    @property
    def ok(self) -> bool:
        return (not self.severe and self.error is None) if self.healthy else self.diagnosed


_RULES: Any = None
_CATALOGUE: dict[str, tuple[str, ...]] | None = None


def _init_worker() -> None:
    global _RULES, _CATALOGUE
    from k8s_bundle.analyzer.evaluate import default_rules_dir, load_rules

    _RULES = load_rules([default_rules_dir()])
    _CATALOGUE = _catalogue_argv()


def run_one(job: tuple[dict[str, Any], str, bool]) -> Result:
    """One case in one form. `ablate`: the case's expected rules are left out of the pack, as
    if no rule knew the failure, to see where its line ranks among the unexplained errors."""
    case, form, ablate = job
    healthy = "expect" not in case
    res = Result(case["id"], case.get("class", "healthy"), case.get("platform", "linux"), form, healthy,
                 list(case.get("expect") or []))
    if _RULES is None:
        _init_worker()
    try:
        base = load_base(case.get("base") or ("windows-containerd" if res.platform == "windows" else "kubeadm-containerd"))
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        with tempfile.TemporaryDirectory(prefix="rw-") as tmp:
            build = build_windows if res.platform == "windows" else build_linux
            bundle = build(case, base, form, Path(tmp), now)
            from k8s_bundle.analyzer.evaluate import evaluate
            from k8s_bundle.analyzer.evidence import load_evidence

            from k8s_bundle.analyzer.logkeep import KeepPolicy

            rules = [r for r in _RULES if r.id not in res.expect] if ablate else _RULES
            evidence = load_evidence(str(bundle), keep=KeepPolicy.for_rules(rules))   # as `analyze` reads
            findings = evaluate(rules, evidence)
            res.fired = [(f.rule_id, f.severity) for f in findings]
            from k8s_bundle.analyzer.triage import triage

            res.roots = [p.key for p in triage(findings) if p.root]
            res.templates, res.line_in_templates = _templates(evidence, case, rules)
    except Exception as exc:  # noqa: BLE001 - one broken case must not stop the corpus
        res.error = f"{type(exc).__name__}: {exc}"
    return res


def _norm(text: str) -> str:
    return "".join(ch for ch in text if ch.isalpha())


def _templates(evidence: Any, case: dict[str, Any], rules: list[Any]) -> tuple[list[str], bool | None]:
    """The first 10 unexplained-error templates, and whether the case's own line is among them."""
    try:
        from k8s_bundle.analyzer.unexplained import unexplained_templates
    except ImportError:
        return [], None
    temps = unexplained_templates(evidence, rules, limit=10)
    wanted = [_norm(str(line))[:200] for e in case.get("logs") or [] for line in e.get("lines") or []]
    found = False
    for t in temps:
        ex = _norm(t.example.message)[:200]
        if any(w and (w[:60] in ex or ex[:60] in w) for w in wanted):
            found = True
    return [f"{t.count}x [{t.level}] {t.template[:160]}" for t in temps], found


def run(cases: list[dict[str, Any]], jobs: int = 2, forms: tuple[str, ...] = FORMS,
        ablate: bool = False) -> list[Result]:
    """Every case in both forms, on `jobs` worker processes (spawned, not forked: polars'
    thread pool does not survive a fork). A worker that dies fails its job, not the run."""
    work = [(c, f, ablate) for c in cases for f in forms]
    if jobs <= 1 or len(work) < 2:
        _init_worker()
        return [run_one(w) for w in work]
    results: list[Result | None] = [None] * len(work)
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn"), initializer=_init_worker) as pool:
        futures = {pool.submit(run_one, w): i for i, w in enumerate(work)}
        for fut in as_completed(futures):
            i = futures[fut]
            try:
                results[i] = fut.result()
            except Exception as exc:  # noqa: BLE001 - a dead worker (BrokenProcessPool)
                case, form, _ = work[i]
                results[i] = Result(case["id"], case.get("class", "healthy"), case.get("platform", "linux"), form,
                                    "expect" not in case, list(case.get("expect") or []),
                                    error=f"worker failed: {type(exc).__name__}: {exc}")
    return [r for r in results if r is not None]


# -- reporting ---------------------------------------------------------------------------------------
def tables(results: list[Result]) -> str:
    out = []
    cases = [r for r in results if not r.healthy]
    if cases:
        out.append(f"{'class':<16}{'cases':>6}{'recurring':>12}{'once':>12}{'both':>8}{'root #1':>9}{'top 3':>7}")
        by_cls: dict[str, list[Result]] = {}
        for r in cases:
            by_cls.setdefault(r.cls, []).append(r)
        for cls in sorted(by_cls) + ["ALL"]:
            rs = cases if cls == "ALL" else by_cls[cls]
            ids = sorted({r.id for r in rs})
            rate = {f: sum(r.diagnosed for r in rs if r.form == f) for f in FORMS}
            both = sum(all(r.diagnosed for r in rs if r.id == i) for i in ids)
            n = len(ids)
            # where the report's "what to fix first" puts the thread's diagnosis (recurring form)
            ranks = [r.cause_rank for r in rs if r.form == FORMS[0]]
            first = sum(1 for k in ranks if k == 1)
            top3 = sum(1 for k in ranks if k is not None and k <= 3)
            out.append(f"{cls:<16}{n:>6}" + "".join(f"{rate[f]:>5}/{n:<3}{100 * rate[f] / n:3.0f}%" for f in FORMS)
                       + f"{100 * both / n:>7.0f}%" + f"{100 * first / n:>8.0f}%{100 * top3 / n:>7.0f}%")
    healthy = [r for r in results if r.healthy]
    if healthy:
        out.append("")
        out.append("healthy variant                     form       warnings/critical")
        for r in healthy:
            out.append(f"{r.id:<36}{r.form:<11}{len(r.severe):>3}  {', '.join(r.severe)[:120]}{'  ERROR ' + r.error if r.error else ''}")
    return "\n".join(out)


def misses(results: list[Result]) -> str:
    out = []
    for r in results:
        if r.ok:
            continue
        if r.healthy:
            continue
        fired = ", ".join(f"{i}({s[0]})" for i, s in r.fired) or "nothing"
        out.append(f"MISS {r.cls}/{r.id} [{r.form}] expect {', '.join(r.expect)}; fired: {fired}"
                   + (f"\n     error: {r.error}" if r.error else ""))
        if r.templates:
            out.append(f"     case line in top-10 unexplained templates: {r.line_in_templates}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.realworld.run", description=__doc__.split("\n\n")[0])
    ap.add_argument("classes", nargs="*", help="classes to run (default: all)")
    ap.add_argument("--case", action="append", help="run only this case id (repeatable)")
    ap.add_argument("--healthy", action="store_true", help="run only the healthy variants")
    ap.add_argument("--show", action="store_true", help="print every finding of each case")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--json", help="write the results as JSON to this file")
    ap.add_argument("--form", choices=FORMS, help="run one form only")
    ap.add_argument("--ablate", action="store_true",
                    help="leave each case's expected rules out and report whether its line is among the "
                         "first 10 unexplained-error templates")
    args = ap.parse_args(argv)
    if args.healthy:
        selected = load_healthy()
    else:
        selected = load_cases(args.classes or None)
        if args.case:
            selected = [c for c in selected + load_healthy() if c["id"] in args.case]
        elif not args.classes:
            selected += load_healthy()
    if not selected:
        print("no cases selected", file=sys.stderr)
        return 2
    results = run(selected, args.jobs, (args.form,) if args.form else FORMS, args.ablate)
    if args.ablate:
        rs = [r for r in results if not r.healthy]
        top = sum(bool(r.line_in_templates) for r in rs)
        print(f"ablation: the case's line is among the first 10 unexplained templates in {top}/{len(rs)} runs")
        for r in rs:
            if not r.line_in_templates:
                print(f"  NOT IN TOP 10 {r.cls}/{r.id} [{r.form}]" + (f" error: {r.error}" if r.error else ""))
        return 0
    if args.show:
        for r in results:
            print(f"{r.id} [{r.form}] {'ok' if r.ok else 'MISS'}: " + ", ".join(f"{i}({s})" for i, s in r.fired))
            if r.error:
                print(f"   error: {r.error}")
            for t in r.templates:
                print(f"   template: {t}")
    print(tables(results))
    text = misses(results)
    if text:
        print("\n" + text)
    if args.json:
        Path(args.json).write_text(json.dumps([r.__dict__ for r in results], indent=1, default=str), "utf-8")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
