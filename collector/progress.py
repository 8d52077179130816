"""Progress displays for `collect`: a live rich display on a terminal, JSON lines on request,
nothing otherwise; and the final summary (what failed, what needed root, where the bundle is)."""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

import orjson

from k8s_bundle.collector.runner import CollectResult, Progress
from k8s_bundle.collector.items import Item
from k8s_bundle.errors import shown

PROBLEM_STATUSES = ("failed", "timeout", "redaction_failed", "permission_denied")


class JsonLinesProgress(Progress):
    """One JSON object a line on stderr: for wrappers and CI logs."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self._out = stream
        self._lock = threading.Lock()
        self._done = 0
        self._total = 0

    def _emit(self, obj: dict[str, Any]) -> None:
        with self._lock:
            self._out.write(orjson.dumps(obj).decode() + "\n")
            self._out.flush()

    def start(self, node: str, total: int, output: Path) -> None:
        self._total = total
        self._emit({"event": "start", "node": node, "items": total, "output": str(output),
                    "time": time.time()})

    def item_done(self, item: Item, records: list[dict[str, Any]]) -> None:
        with self._lock:
            self._done += 1
            done = self._done
        head = records[0]
        self._emit({"event": "item", "area": item.area, "id": item.id, "status": head["status"],
                    "files": len(records) - 1 if len(records) > 1 else None,
                    "done": done, "total": self._total})

    def finish(self, result: CollectResult) -> None:
        self._emit({"event": "finish", "output": str(result.output), "partial": result.partial,
                    "partial_reason": result.partial_reason, "counts": status_counts(result),
                    "problems": [r["id"] for r in result.problems],
                    "needs_root": [r["id"] for r in result.needs_root],
                    "seconds": round(result.duration_s, 2)})


class RichProgress(Progress):
    """A live line on a terminal: current area and item, items done, failures."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichBar,
                                   TextColumn, TimeElapsedColumn)

        self._console = Console(stderr=True)
        self._bar = RichBar(TextColumn("[bold]{task.fields[node]}[/]"), BarColumn(),
                            MofNCompleteColumn(), TextColumn("failures: {task.fields[failures]}"),
                            TextColumn("{task.fields[current]}"), TimeElapsedColumn(),
                            console=self._console, transient=True)
        self._task: Any = None
        self._failures = 0
        self._lock = threading.Lock()

    def start(self, node: str, total: int, output: Path) -> None:
        self._bar.start()
        self._task = self._bar.add_task("collect", total=total, node=node, failures=0, current="")

    def item_started(self, item: Item) -> None:
        self._bar.update(self._task, current=f"{item.area}: {item.id}")

    def item_done(self, item: Item, records: list[dict[str, Any]]) -> None:
        with self._lock:
            if any(r["status"] in PROBLEM_STATUSES for r in records):
                self._failures += 1
            failures = self._failures
        self._bar.update(self._task, advance=1, failures=failures)

    def finish(self, result: CollectResult) -> None:
        self._bar.stop()


def stop_display(progress: Progress) -> None:
    """Tear a live display down when the run ends in an error."""
    bar = getattr(progress, "_bar", None)
    if bar is not None:
        try:
            bar.stop()
        except Exception:  # noqa: BLE001
            pass


def status_counts(result: CollectResult) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in result.items:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return counts


def summary_text(result: CollectResult, limit: int = 25) -> str:
    counts = status_counts(result)
    lines = [
        f"k8s-bundle: {'PARTIAL bundle (' + (result.partial_reason or '') + ')' if result.partial else 'bundle'}"
        f" written: {shown(result.output)}",   # escaped: -o may hold an ESC sequence
        f"  node {result.node}: {len(result.items)} items in {result.duration_s:.1f}s ("
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + ")",
    ]
    problems = result.problems
    if problems:
        lines.append(f"  {len(problems)} items failed:")
        for r in problems[:limit]:
            err = (r.get("error") or "").splitlines()[0][:120] if r.get("error") else ""
            # escaped too: an error text quotes a command's stderr or a file name of the node
            lines.append(f"    {r['area']}/{shown(r['id'])}: {r['status']}" + (f" ({shown(err)})" if err else ""))
        if len(problems) > limit:
            lines.append(f"    ... and {len(problems) - limit} more (see manifest.json)")
    roots = result.needs_root
    if roots:
        lines.append(f"  {len(roots)} items need root (run again with sudo to get them): "
                     + ", ".join(r["id"] for r in roots[:limit])
                     + (" ..." if len(roots) > limit else ""))
    return "\n".join(lines)


class JsonFanoutProgress:
    """Remote hosts collected in parallel (collector/fanout.py): one JSON line per host state
    change, and while a host collects at most one line a second for it (docs/collector.md)."""

    def __init__(self, stream: TextIO = sys.stderr, interval: float = 1.0) -> None:
        self._out = stream
        self._lock = threading.Lock()
        self._interval = interval
        self._last: dict[int, tuple[str, float]] = {}
        self._pending: dict[int, Any] = {}     # held back by the interval: sent by tick()

    def host(self, run: Any) -> None:
        now = time.monotonic()
        with self._lock:
            state, when = self._last.get(run.index, ("", 0.0))
            if run.state == state and now - when < self._interval:
                self._pending[run.index] = run
                return
            self._emit(run, now)

    def tick(self) -> None:
        """Called by the fan-out every ~0.1 s: a host's last change is sent once the interval
        has passed, even when nothing else happens to it (an item that hangs)."""
        now = time.monotonic()
        with self._lock:
            for index, run in list(self._pending.items()):
                if now - self._last.get(index, ("", 0.0))[1] >= self._interval:
                    self._emit(run, now)

    def _emit(self, run: Any, now: float) -> None:
        """One line for a host (the caller holds the lock)."""
        self._pending.pop(run.index, None)
        self._last[run.index] = (run.state, now)
        line = {"event": "host", "host": run.spec.label, "transport": run.spec.transport_name,
                "node": run.node, "state": run.state, "done": run.done, "total": run.total,
                "bytes": run.bytes, "time": time.time()}
        if run.state in ("failed", "timed_out", "interrupted") and (run.error or run.stop_reason):
            line["error"] = run.error or run.stop_reason
        self._out.write(orjson.dumps(line).decode() + "\n")
        self._out.flush()

    def finish(self, summary: dict[str, Any]) -> None:
        with self._lock:
            for run in list(self._pending.values()):
                self._emit(run, time.monotonic())
            self._out.write(orjson.dumps({"event": "finish", **summary}).decode() + "\n")
            self._out.flush()


class RichFanoutProgress:
    """On a terminal: one live line per running host (items done/total, bytes, state); a host
    that ends leaves one printed line (done, failed, timed out)."""

    ENDED = ("done", "failed", "timed_out", "interrupted", "not_started")

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn,
                                   Progress as RichBar, TextColumn, TimeElapsedColumn)

        self._console = Console(stderr=True)
        self._bar = RichBar(TextColumn("[bold]{task.fields[host]}[/]"), TextColumn("{task.fields[state]}"),
                            BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[size]}"),
                            TimeElapsedColumn(), console=self._console, transient=True)
        self._tasks: dict[int, Any] = {}
        self._lock = threading.Lock()
        self._started = False

    def host(self, run: Any) -> None:
        with self._lock:
            if not self._started:
                self._bar.start()
                self._started = True
            task = self._tasks.get(run.index)
            from rich.markup import escape

            plain = shown(run.spec.label) + (f" ({shown(run.node)})" if run.node else "")
            label = escape(plain)          # the live line's column reads rich markup
            if run.state in self.ENDED:
                if task is not None:
                    self._bar.remove_task(task)
                    del self._tasks[run.index]
                why = f": {shown(run.error or run.stop_reason or '')}" if run.state != "done" else ""
                self._bar.console.print(f"{plain}: {run.state.replace('_', ' ')}, {run.done}/{run.total} "
                                        f"items, {_mib(run.bytes)}{why}", markup=False, highlight=False)
                return
            if task is None:
                self._tasks[run.index] = self._bar.add_task(run.spec.label, total=run.total or None,
                                                            host=label, state=run.state,
                                                            size=_mib(run.bytes))
            else:
                self._bar.update(task, total=run.total or None, completed=run.done, host=label,
                                 state=run.state, size=_mib(run.bytes))

    def tick(self) -> None:
        """(rich refreshes the live lines itself)"""

    def finish(self, summary: dict[str, Any]) -> None:
        with self._lock:
            if self._started:
                self._bar.stop()


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


def hosts_summary_text(results: list[CollectResult], limit: int = 25) -> str:
    """The end of a run over several remote hosts: the bundle once, then one line per node
    (failed hosts were named on stderr as they failed, and are in the manifest)."""
    head = results[-1]
    lines = [f"k8s-bundle: {'PARTIAL bundle (' + (head.partial_reason or '') + ')' if head.partial else 'bundle'}"
             f" written: {shown(head.output)} ({len(results)} nodes)"]
    for r in results[:limit]:
        counts = status_counts(r)
        lines.append(f"  node {shown(r.node)}: {len(r.items)} items in {r.duration_s:.1f}s ("
                     + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + ")")
    if len(results) > limit:
        lines.append(f"  ... and {len(results) - limit} more nodes (see manifest.json)")
    problems = sum(len(r.problems) for r in results)
    if problems:
        lines.append(f"  {problems} items failed on {sum(1 for r in results if r.problems)} nodes "
                     "(status, error and node of each in manifest.json)")
    return "\n".join(lines)
