"""Remote nodes, one bundle: every `--ssh`, `--winrm` and `--hosts` host of a `collect` run.

Hosts run in parallel, at most `--parallel` at once; each gets one Engine run over its own
transport (its own catalogue: Linux over SSH, Windows over WinRM, both in one run), and every
engine writes its members straight into ONE BundleWriter under `nodes/<node>/` as they are
redacted: no part archives, no second gzip pass. BundleWriter.add_stream spools each member
(at most SPOOL_BYTES in memory, then an anonymous temporary file) and only the writer's lock
holder touches the tar, so memory is bounded by hosts x --workers x SPOOL_BYTES.

One Redactor serves every host (its counters and the obfuscation maps are locked), so the
same secret gets the same placeholder on every node.

Fail forward: a host that cannot be reached, fails mid-way or passes its deadline
(`--host-timeout`) is reported on stderr in one line and listed in the manifest's
`failed_hosts` (with whether part of it was collected); the others go on. At the deadline the
host's engine is told to stop (items in flight are killed, the rest are recorded as not run)
and its session is closed, which kills its ssh clients (or its PSRP runspace pool); a host
whose threads still do not return is left behind and recorded as such.

SIGINT/SIGTERM: no new host starts, the running ones stop, and the bundle is finished with
what was stored (`partial: true`); exit 130.
"""
from __future__ import annotations

import datetime as dt
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from k8s_bundle.collector.runner import (CollectOptions, CollectResult, Engine, Progress, lower_priority,
                                         detect_hostname, install_stop_signals,
                                         restore_signals, utc_stamp, _check_unique)
from k8s_bundle.bundle.layout import node_name
from k8s_bundle.bundle.manifest import FailedHost
from k8s_bundle.collector.items import Item
from k8s_bundle.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, UserError, shown

DEFAULT_PARALLEL = 16
MAX_PARALLEL = 256
DEFAULT_HOST_TIMEOUT = 15 * 60
# In-memory spool per member while hosts run in parallel (BundleWriter spills past it to an
# anonymous temporary file): 16 hosts x 4 workers x 1 MiB = 64 MiB at most.
SPOOL_BYTES = 1 << 20
# After a host was told to stop (deadline, interrupt): how long its items get to notice before
# its session is closed under them, and how long after that before it is left behind.
CLOSE_AFTER = 2.0
ABANDON_AFTER = 15.0
POLL = 0.1
FDS_PER_HOST = 32     # open files one running host can hold (ssh master, helpers, sessions)


@dataclass
class HostSpec:
    """One host to collect: how to make its (not yet connected) transport and its catalogue."""
    label: str                                   # as the user wrote it (messages, failed_hosts)
    transport_name: str                          # "ssh" or "winrm"
    make: Callable[[], Any]                      # -> transport with connect() and close()
    catalogue: Callable[[Any], list[Item]]       # Context -> items


class FanoutDisplay:
    """Per-host progress (collector/progress.py has the terminal and JSON-lines ones)."""

    def host(self, run: "HostRun") -> None: ...
    def tick(self) -> None: ...       # every poll of the coordinator (held-back lines)
    def finish(self, summary: dict[str, Any]) -> None: ...


@dataclass
class HostRun:
    spec: HostSpec
    index: int
    state: str = "pending"          # connecting, collecting, done, failed, timed_out, interrupted
    node: str | None = None
    error: str | None = None
    transport: Any = None
    engine: Engine | None = None
    items: list[Item] = field(default_factory=list)
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)   # item id -> records
    result: list[dict[str, Any]] | None = None   # collect_into's records once it returned
    done: int = 0
    total: int = 0
    bytes: int = 0
    exc: UserError | None = None    # its one-line error (one host alone: the run's error)
    started: float = 0.0
    ended: float | None = None
    deadline: float = 0.0
    stop_reason: str | None = None  # why it was told to stop (deadline, interrupted, sigterm)
    stop_kind: str | None = None    # the state that gives: timed_out or interrupted
    stopped_at: float | None = None
    closed: bool = False
    told: bool = False              # its one stderr line was printed
    thread: threading.Thread | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def stored_any(self) -> bool:
        return any(r.get("path") for recs in self.records.values() for r in recs)


class _HostProgress(Progress):
    """The engine's progress for one host: keeps each finished item's records (a host left
    behind still has its finished items in the manifest), counts, and tells the display."""

    def __init__(self, run: HostRun, display: FanoutDisplay, inner: Progress | None) -> None:
        self.run = run
        self.display = display
        self.inner = inner

    def item_started(self, item: Item) -> None:
        if self.inner is not None:
            self.inner.item_started(item)

    def item_done(self, item: Item, records: list[dict[str, Any]]) -> None:
        with self.run.lock:
            self.run.records[item.id] = records
            self.run.done += 1
            self.run.bytes += sum(r.get("bytes") or 0 for r in records)
        if self.inner is not None:
            self.inner.item_done(item, records)
        self.display.host(self.run)


class Fanout:
    def __init__(self, specs: list[HostSpec], opts: CollectOptions, redactor: Any, *,
                 parallel: int = DEFAULT_PARALLEL, host_timeout: float = DEFAULT_HOST_TIMEOUT,
                 display: FanoutDisplay | None = None, single_progress: Progress | None = None) -> None:
        self.runs = [HostRun(spec, i) for i, spec in enumerate(specs)]
        self.opts = opts
        self.redactor = redactor
        self.parallel = max(1, parallel)
        self.host_timeout = host_timeout
        self.display = display or FanoutDisplay()
        self.single = len(specs) == 1
        self.single_progress = single_progress   # one host: the display a local run has
        self.started = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        self.stamp = utc_stamp(self.started)
        self.writer: Any = None
        self.output: Path | None = None
        self.interrupted: str | None = None
        self.fatal: BaseException | None = None
        self._lock = threading.Lock()
        self._names: dict[str, int] = {}
        self._wake = threading.Event()

    # -- the run ----------------------------------------------------------------------------
    def run(self) -> list[CollectResult]:
        from k8s_bundle.safe_output import check_output

        t0 = time.monotonic()
        if not self.single:
            self.output = check_output(self.opts.output or f"k8s-bundle-multi-{self.stamp}.tgz",
                                       force=self.opts.force)
        old = self._install_signal_handlers()
        try:
            self._loop()
            return self._finish(t0)
        except BaseException:
            if self.writer is not None:
                self.writer.abort()
            raise
        finally:
            restore_signals(old)
            for r in self.runs:        # nothing of ours outlives the run
                self._close(r, wait=10)

    def _loop(self) -> None:
        pending = deque(self.runs)
        running: list[HostRun] = []
        while pending or running:
            if self.interrupted or self.fatal:
                for r in running:
                    self._tell_stop(r, self.interrupted or "the bundle could not be written",
                                    "interrupted")
                for r in pending:
                    r.state = "not_started"
                    r.error = f"not started: {self.interrupted or 'the bundle could not be written'}"
                    self.display.host(r)
                pending.clear()
            while pending and len(running) < self.parallel:
                r = pending.popleft()
                r.started = time.monotonic()
                r.deadline = r.started + self.host_timeout
                r.thread = threading.Thread(target=self._host_main, args=(r,),
                                            name=f"host-{r.index}", daemon=True)
                running.append(r)
                r.thread.start()
            self._wake.wait(POLL)
            self._wake.clear()
            self.display.tick()
            now = time.monotonic()
            for r in list(running):
                if r.thread is not None and not r.thread.is_alive():
                    running.remove(r)
                    self._say_ended(r)
                    continue
                lost = self._connection_lost(r)
                if lost is not None:
                    # fails mid-way: what it stored stays, the rest is recorded as not run
                    self._tell_stop(r, lost, "failed")
                    self.display.host(r)
                if r.stop_reason is None and now > r.deadline:
                    self._tell_stop(r, f"host deadline passed (--host-timeout {_human(self.host_timeout)})",
                                    "timed_out")
                    self.display.host(r)
                if r.stopped_at is not None:
                    if now > r.stopped_at + CLOSE_AFTER and not r.closed:
                        self._close(r, wait=0)
                    if now > r.stopped_at + CLOSE_AFTER + ABANDON_AFTER:
                        # Its threads did not return even with the session closed: left behind
                        # (daemon threads); what it finished is kept.
                        r.error = (r.error or r.stop_reason or "") + "; left behind: it did not stop"
                        running.remove(r)
                        self._say_ended(r, left_behind=True)

    @staticmethod
    def _connection_lost(r: HostRun) -> str | None:
        if r.stop_reason is not None or r.engine is None or r.state != "collecting":
            return None
        check = getattr(r.transport, "connection_lost", None)
        return check() if check is not None else None

    def _tell_stop(self, r: HostRun, reason: str, kind: str) -> None:
        with r.lock:
            if r.stop_reason is not None or r.state in ("done", "failed"):
                return      # already told, or already ended (its thread is only closing up)
            r.stop_reason, r.state = reason, kind
            r.stop_kind = kind
            r.stopped_at = time.monotonic()
            r.stop.set()
            if r.engine is not None:
                if r.engine.partial_reason is None:
                    r.engine.partial_reason = reason
                r.engine.stop.set()

    def _close(self, r: HostRun, wait: float | None = None) -> None:
        """Close a host's session. From the coordinator (wait=0) in a thread of its own: a
        PSRP close waits for the operation in flight, and the coordinator must keep watching
        the other hosts' deadlines and the signals."""
        with r.lock:
            transport = None if r.closed else r.transport
            r.closed = r.closed or transport is not None
        if transport is None:
            return

        def close() -> None:
            try:
                transport.close()
            except Exception:  # noqa: BLE001 - a broken session: nothing more to close
                pass
        if wait is None:
            close()
            return
        t = threading.Thread(target=close, name=f"close-{r.index}", daemon=True)
        t.start()
        t.join(wait)

    # -- one host (its own thread) ----------------------------------------------------------------
    def _host_main(self, r: HostRun) -> None:
        try:
            self._collect_host(r)
        except UserError as exc:
            r.exc = exc
            self._host_failed(r, str(exc))
        except Exception as exc:  # noqa: BLE001 - one host's bug must not stop the others
            self._host_failed(r, f"{type(exc).__name__}: {exc}")
        finally:
            r.ended = time.monotonic()
            self._close(r)
            self._wake.set()

    def _collect_host(self, r: HostRun) -> None:
        self._set_state(r, "connecting")
        transport = r.spec.make()
        with r.lock:
            if r.stop.is_set():
                raise UserError(r.stop_reason or "stopped")
            r.transport = transport
        transport.connect()
        if r.stop.is_set():
            raise UserError(r.stop_reason or "stopped")
        # Read outside the run's lock: with --root the name is a remote file read, and a host
        # that hangs there would hold every other host at this point until META_TIMEOUT.
        hostname = detect_hostname(transport) or r.spec.label
        with self._lock:
            # Two hosts reporting one name would collide in the bundle: the second gets -2.
            base = node_name(hostname)
            count = self._names.get(base, 0) + 1
            self._names[base] = count
            if count > 1:
                hostname = f"{hostname}-{count}"
                self._names[node_name(hostname)] = 1
            transport.hostname = hostname
        inner = self.single_progress if self.single else None
        engine = Engine(self.opts, transport, _HostProgress(r, self.display, inner), self.redactor)
        items = list(r.spec.catalogue(engine.ctx))
        _check_unique(items)
        with r.lock:
            r.items, r.total, r.node = items, len(items), engine.node
            r.engine = engine
            if r.stop.is_set():            # told to stop while the engine was being built
                engine.partial_reason = r.stop_reason
                engine.stop.set()
        writer = self._writer_for(engine)
        if self.single and self.single_progress is not None:
            self.single_progress.start(engine.node, len(items), writer.output)
        self._set_state(r, "collecting")
        try:
            r.result = engine.collect_into(writer, items)
        except UserError as exc:        # the writer failed (disk full): the whole run stops
            with self._lock:
                self.fatal = self.fatal or exc
            self._wake.set()
            raise
        lost = self._connection_lost(r)
        if lost is not None:      # it went while the last items ran: they say what they got
            self._tell_stop(r, lost, "failed")
        with r.lock:
            r.state = r.stop_kind or "done"
        self.display.host(r)

    def _set_state(self, r: HostRun, state: str) -> None:
        with r.lock:
            if r.stop_kind is None:      # a deadline or an interrupt already decided it
                r.state = state
        self.display.host(r)

    def _host_failed(self, r: HostRun, error: str) -> None:
        with r.lock:
            r.state = r.stop_kind or "failed"
            r.error = r.stop_reason if r.stop_reason and r.engine is None else error
        self.display.host(r)

    def _say_ended(self, r: HostRun, left_behind: bool = False) -> None:
        """The one stderr line of a host that failed or timed out in a run of several (one host
        alone: its error is the run's). Said by the coordinator when the host's thread ended or
        was left behind, whatever the transport: a WinRM host hung in its TLS handshake does
        not return from connect() when its session is closed, so a line printed by the host's
        own thread never came."""
        if self.single or r.told or r.state not in ("failed", "timed_out"):
            return
        r.told = True
        label = shown(r.spec.label)
        if r.engine is not None:        # it got as far as collecting: say what it kept
            line = f"{label}: {shown(r.stop_reason or r.error or r.state)}; {r.done} of {r.total} items finished and kept"
            if left_behind:
                line += "; left behind: it did not stop"
        else:
            error = shown(r.error or r.stop_reason or r.state)
            line = error if label in error else f"{label}: {error}"
        print(f"k8s-bundle: {line} (the other hosts are still collected)", file=sys.stderr)

    def _writer_for(self, engine: Engine) -> Any:
        from k8s_bundle.bundle.writer import BundleWriter

        with self._lock:
            if self.writer is None:
                if self.single:
                    top = f"k8s-bundle-{engine.node}-{self.stamp}"
                    output: Any = self.opts.output or f"{top}.tgz"
                    spool = 2 * 1024 * 1024     # as a local run
                else:
                    top, output, spool = f"k8s-bundle-multi-{self.stamp}", self.output, SPOOL_BYTES
                self.writer = BundleWriter(output, top_dir=top, overwrite=self.opts.force,
                                           spool_bytes=spool)
                self.output = self.writer.output
            return self.writer

    # -- the manifest -------------------------------------------------------------------------
    def _host_records(self, r: HostRun) -> list[dict[str, Any]]:
        if r.result is not None:
            return r.result
        # Left behind mid-way: its finished items, and the others recorded as not run.
        assert r.engine is not None
        with r.lock:
            done = dict(r.records)
        out: list[dict[str, Any]] = []
        for item in r.items:
            recs = done.get(item.id)
            if recs is None:
                recs = [r.engine._record(item, status="skipped",
                                         error=f"not run: {r.stop_reason or 'host left behind'}")]
            out += recs
        return out

    def _finish(self, t0: float) -> list[CollectResult]:
        collected = [r for r in self.runs if r.engine is not None and self.writer is not None]
        if self.fatal is not None:
            raise self.fatal
        if not collected:
            if self.writer is not None:
                self.writer.abort()
            if self.interrupted:
                raise UserError(f"{self.interrupted} before any host was collected: no bundle written",
                                EXIT_INTERRUPTED)
            if self.single:
                r = self.runs[0]
                if r.exc is not None and r.stop_reason is None:
                    raise r.exc           # its own exit code (4; 6 for a full disk at the output)
                raise UserError(r.error or "the host could not be collected", EXIT_BAD_INPUT)
            raise UserError("no host could be collected: " + "; ".join(r.error or r.state for r in self.runs),
                            EXIT_BAD_INPUT)
        finished = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        by_node = sorted(collected, key=lambda r: r.node or "")
        records = {r.index: self._host_records(r) for r in by_node}
        first = collected[0].engine
        assert first is not None
        partial_reason = self.interrupted
        first.partial_reason = partial_reason
        manifest = first._manifest(self.started, finished, [x for r in by_node for x in records[r.index]])
        nodes = []
        for r in by_node:
            assert r.engine is not None
            entry = r.engine.node_entry()
            if r.state != "done":
                entry.complete = False
                entry.incomplete_reason = self.redactor.redact_text(r.stop_reason or r.error or r.state)
            nodes.append(entry)
        manifest.nodes = nodes
        # One host interrupted is a partial bundle as a local run's; with several the hosts cut
        # short or never started are named (written only when there is one).
        manifest.failed_hosts = [self._failed_entry(r) for r in self.runs
                                 if r.state != "done" and not (self.single and r.state == "interrupted")]
        assert self.writer is not None
        self.writer.finish(manifest, self.redactor.report())
        output = self.writer.output
        duration = time.monotonic() - t0
        results = [CollectResult(output=output, node=r.node or "", partial=partial_reason is not None,
                                 partial_reason=partial_reason, items=records[r.index],
                                 duration_s=(r.ended or time.monotonic()) - r.started)
                   for r in by_node]
        self.display.finish({"output": str(output), "partial": partial_reason is not None,
                             "partial_reason": partial_reason, "seconds": round(duration, 2),
                             "hosts": {s: sum(1 for r in self.runs if r.state == s)
                                       for s in sorted({r.state for r in self.runs})}})
        if self.single and self.single_progress is not None:
            self.single_progress.finish(results[0])
        return results

    def _failed_entry(self, r: HostRun) -> FailedHost:
        return FailedHost(host=self.redactor.redact_text(r.spec.label), transport=r.spec.transport_name,
                          state=r.state, node=r.node,
                          error=self.redactor.redact_text(r.error or r.stop_reason or r.state),
                          partial=r.stored_any)

    # -- signals ------------------------------------------------------------------------------
    def _install_signal_handlers(self) -> dict[int, Any]:
        def on_stop(reason: str) -> None:
            if self.interrupted is None:
                self.interrupted = reason
            self._wake.set()
        return install_stop_signals(on_stop)


def _raise_fd_limit(wanted: int) -> None:
    """Each running SSH host holds its master and up to 9 session clients, 2-3 pipes each: at
    --parallel 256 that is past the usual soft limit of 1024 open files (EMFILE would fail
    items). Raise the soft limit toward the hard one; never fatal (POSIX only)."""
    try:
        import resource
    except ImportError:        # Windows: no such limit to raise
        return
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and soft < wanted:
            target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (OSError, ValueError):
        pass


def _human(seconds: float) -> str:
    s = int(seconds)
    for unit, size in (("h", 3600), ("m", 60)):
        if s >= size and s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"


def collect_remote(specs: list[HostSpec], opts: CollectOptions, redactor: Any, *,
                   parallel: int = DEFAULT_PARALLEL, host_timeout: float = DEFAULT_HOST_TIMEOUT,
                   display: FanoutDisplay | None = None,
                   single_progress: Progress | None = None) -> list[CollectResult]:
    """Collect every host into one bundle; returns one CollectResult per collected host (each
    names the bundle; `partial` when the run was interrupted)."""
    lower_priority()   # the local side (ssh clients, redaction, gzip) yields too
    _raise_fd_limit(min(parallel, len(specs)) * FDS_PER_HOST + 256)
    seen: set[tuple[str, str]] = set()
    unique = []
    for s in specs:
        if (s.transport_name, s.label) not in seen:
            seen.add((s.transport_name, s.label))
            unique.append(s)
    return Fanout(unique, opts, redactor, parallel=parallel, host_timeout=host_timeout,
                  display=display, single_progress=single_progress).run()
