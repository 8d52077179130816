"""Run one hostile case in a subprocess and measure it: exit code, wall time, peak memory.

Peak memory is the child's own high-water mark (VmHWM in /proc/PID/status, polled every 20 ms;
it only grows, so the last reading is the peak up to then). Not `ru_maxrss`: Linux carries a
process's maximum resident size across fork and exec, so the child of a 300 MB pytest would
report at least 300 MB whatever it did. A run past the case's timeout, or whose resident memory passes
twice its bound (read from /proc while it runs, so that a runaway case cannot take the machine
down with it), is killed and marked as such.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from tests.hostile.cases import Case


@dataclass
class Outcome:
    code: int | None          # None: killed (see `killed`)
    seconds: float
    peak_mb: float
    stdout: str
    stderr: str
    report: dict | None       # analyze's JSON report, when one was written
    bundle_bytes: int
    killed: str = ""          # "timeout" | "memory" when the run was stopped

    @property
    def findings(self) -> list[dict]:
        return list((self.report or {}).get("findings") or [])


def command_for(case: Case, bundle: Path, work: Path) -> list[str]:
    base = [sys.executable, "-m", "k8s_bundle.cli"]
    if case.command == "verify":
        return base + ["verify", str(bundle)]
    if case.command == "redact":
        return base + ["redact", str(bundle), "-o", str(work / "redacted.tgz")]
    if case.extra.get("default_output"):
        return base + ["analyze", "-q", str(bundle)]
    fmt = "html" if case.extra.get("html") else "json"
    return base + ["analyze", "-q", "--format", fmt, "-o", str(work / f"report.{fmt}"), str(bundle)]


def run(case: Case, work: Path) -> Outcome:
    bundle = case.build(work)
    size = bundle.stat().st_size if bundle.is_file() else 0
    argv = command_for(case, bundle, work)
    out, err = work / "stdout", work / "stderr"
    start = time.monotonic()
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen(argv, stdout=o, stderr=e, cwd=work, start_new_session=True)
        code: int | None = None
        killed = ""
        peak = 0.0
        while True:
            peak = max(peak, _status_mb(proc.pid, "VmHWM"))
            pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                code = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() - start > case.timeout:
                killed = "timeout"
            elif _status_mb(proc.pid, "VmRSS") > 2 * case.max_mb:
                killed = "memory"
            if killed:
                os.killpg(proc.pid, signal.SIGKILL)
                os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        proc.returncode = code if code is not None else -9
    seconds = time.monotonic() - start
    report = None
    if case.command == "analyze" and not case.extra.get("html") and (work / "report.json").exists():
        try:
            report = orjson.loads((work / "report.json").read_bytes())
        except orjson.JSONDecodeError:
            report = None
    return Outcome(code, seconds, peak, out.read_text(errors="replace"),
                   err.read_text(errors="replace"), report, size, killed)


def _status_mb(pid: int, field: str) -> float:
    """A `kB` field of /proc/PID/status in MB; 0 once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0
