"""The collection engine: runs catalogue items through a transport, redacts every byte, writes
the bundle, and records one manifest item per declared item whatever happened to it.

Items run in a small bounded thread pool (they mostly wait on subprocesses and disks). Each
item is bounded by a timeout and a cap; a failing item is recorded and the run goes on.
SIGINT/SIGTERM stop the run early and still finish a valid bundle marked partial.
"""
from __future__ import annotations

import datetime as dt
import getpass
import itertools
import os
import re
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import orjson

from k8s_bundle.bundle.layout import MANIFEST_NAME, node_name
from k8s_bundle.bundle.manifest import ItemRecord, Manifest, NodeEntry
from k8s_bundle.bundle.writer import BundleWriter
from k8s_bundle.collector.context import Context
from k8s_bundle.collector.items import (ApiItem, CommandItem, DerivedItem, FileItem, GlobItem,
                                        Item, JournalItem, PowerShellItem, ROTATED_SYSLOG)
from k8s_bundle.collector.transports.base import Interrupted, NotSupported, Stream
from k8s_bundle.collector.transports.base import PrivateKeyFound
from k8s_bundle.errors import UserError
from k8s_bundle.redact import RedactionError, Redactor

DEFAULT_TIMEOUT = 10.0
DEFAULT_CAP = 16 * 1024 * 1024
DEFAULT_WORKERS = 4
# journalctl -n: enough lines to fill the cap with typical ~100-byte lines; the byte cap
# (newest part kept) still applies.
JOURNAL_BYTES_PER_LINE = 100
# Where a unit's or the kernel's lines are when the journal has none (the journal fallback).
SYSLOG_FILES = ("/var/log/messages", "/var/log/syslog", "/var/log/daemon.log")
KERNEL_FILES = ("/var/log/kern.log", "/var/log/dmesg", "/var/log/dmesg.0", *SYSLOG_FILES)
# Units whose silence costs the analysis most: the kubelet and the runtimes, alone or embedded.
FALLBACK_UNITS = ("kubelet", "containerd", "docker", "crio", "k3s", "k3s-agent", "rke2-server",
                  "rke2-agent", "snap.microk8s.daemon-kubelite", "snap.microk8s.daemon-containerd",
                  "snap.microk8s.daemon-kubelet")
UNIT_DIRS = ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system",
             "/run/systemd/system")
_NEEDS_ROOT_HINT = re.compile(r"permission denied|operation not permitted|must be root|"
                              r"you must be root|are you root|requires root", re.I)


@dataclass
class CollectOptions:
    output: str | None = None
    since: str = "72h"
    since_seconds: int = 72 * 3600
    root: str = "/"
    live: bool | None = None            # None: live when root is "/"
    only: frozenset[str] | None = None
    skip: frozenset[str] = frozenset()
    timeout: float = DEFAULT_TIMEOUT
    max_file_size: int = DEFAULT_CAP
    workers: int = DEFAULT_WORKERS
    force: bool = False
    argv: list[str] = field(default_factory=list)


@dataclass
class CollectResult:
    output: Path
    node: str
    partial: bool
    partial_reason: str | None
    items: list[dict[str, Any]]
    duration_s: float

    @property
    def problems(self) -> list[dict[str, Any]]:
        return [r for r in self.items if r["status"] in
                ("failed", "timeout", "redaction_failed", "permission_denied")]

    @property
    def needs_root(self) -> list[dict[str, Any]]:
        return [r for r in self.items if r.get("needs_root")]


class Progress:
    """Progress callbacks (collector/progress.py has the displays); this one says nothing."""

    def start(self, node: str, total: int, output: Path) -> None: ...
    def item_started(self, item: Item) -> None: ...
    def item_done(self, item: Item, records: list[dict[str, Any]]) -> None: ...
    def finish(self, result: CollectResult) -> None: ...


def utc_stamp(when: dt.datetime) -> str:
    return when.strftime("%Y%m%dT%H%M%SZ")


def rfc3339(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def detect_hostname(transport: Any) -> str:
    remote = getattr(transport, "hostname", None)  # Windows transports know the node's name
    if remote:
        return remote
    if transport.root != "/":
        try:
            text = transport.read_small("/etc/hostname", 4096).decode("utf-8", "replace")
            first = text.strip().splitlines()[0].strip() if text.strip() else ""
            if first:
                return first
        except OSError:
            pass
        if not transport.live:
            return "node"
    return socket.gethostname()


def lower_priority() -> None:
    """Never harm the node: the collector yields CPU and disk to everything else (nice and
    idle I/O on POSIX; psutil's below-normal priority class on Windows, which has no nice)."""
    if not hasattr(os, "nice"):
        try:
            import psutil

            psutil.Process().nice(psutil.BELOW_NORMAL_PRIORITY_CLASS)  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - priority is best effort
            pass
        return
    try:
        os.nice(10)
    except OSError:
        pass
    try:
        import psutil

        proc = psutil.Process()
        try:
            proc.ionice(psutil.IOPRIO_CLASS_IDLE)
        except (OSError, psutil.Error):
            proc.ionice(psutil.IOPRIO_CLASS_BE, value=7)
    except Exception:  # noqa: BLE001 - priority is best effort (containers may forbid it)
        pass



def install_stop_signals(on_stop: Callable[[str], None]) -> dict[int, Any]:
    """SIGINT and SIGTERM call on_stop("interrupted" / "sigterm") instead of raising, so that a
    run stops cleanly and writes what it has (main thread only; elsewhere nothing is
    installed). Returns the old handlers for `restore_signals`."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    old = {}
    for sig, reason in ((signal.SIGINT, "interrupted"), (signal.SIGTERM, "sigterm")):
        def handler(signum: int, frame: Any, reason: str = reason) -> None:
            on_stop(reason)
        old[sig] = signal.signal(sig, handler)
    return old


def restore_signals(old: dict[int, Any]) -> None:
    for sig, handler in old.items():
        signal.signal(sig, handler)


class Engine:
    def __init__(self, opts: CollectOptions, transport: Any, progress: Progress | None = None,
                 redactor: Redactor | None = None) -> None:
        self.opts = opts
        self.transport = transport
        self.progress = progress or Progress()
        self.redactor = redactor or Redactor()
        # Windows transports say whether they run as an administrator; os.geteuid is POSIX only.
        is_admin = getattr(transport, "is_admin", None)
        self.is_root = bool(is_admin) if is_admin is not None else os.geteuid() == 0
        self.stop = threading.Event()
        self.partial_reason: str | None = None
        self.fatal: BaseException | None = None
        hostname = detect_hostname(transport)
        # --obfuscate hostnames: the node's own name is a name to hide; the node directory and
        # the bundle's top directory use the obfuscated form (a no-op when not obfuscating).
        self.redactor.add_hostnames([hostname])
        self.node = node_name(self.redactor.obfuscate_path(hostname))
        self.ctx = Context(transport=transport, node=self.node, since=opts.since,
                           is_root=self.is_root, timeout=opts.timeout, cap=opts.max_file_size,
                           stop=self.stop)
        self.ctx.shared["since_seconds"] = opts.since_seconds
        self.writer: BundleWriter | None = None

    # -- public -------------------------------------------------------------------------------
    def run(self, catalogue: Iterable[Item]) -> CollectResult:
        """A bundle of this one node: the engine owns the writer and the manifest."""
        started = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        t0 = time.monotonic()
        stamp = utc_stamp(started)
        top = f"k8s-bundle-{self.node}-{stamp}"
        output = Path(self.opts.output or f"{top}.tgz")
        items = list(catalogue)
        _check_unique(items)
        # A small in-memory spool per member: several items are in flight at once.
        writer = BundleWriter(output, top_dir=top, overwrite=self.opts.force,
                              spool_bytes=2 * 1024 * 1024)
        self.progress.start(self.node, len(items), output)
        old_handlers = self._install_signal_handlers()
        try:
            flat = self.collect_into(writer, items)
            finished = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
            manifest = self._manifest(started, finished, flat)
            writer.finish(manifest, self.redactor.report())
        except BaseException:
            writer.abort()
            raise
        finally:
            self._restore_signal_handlers(old_handlers)
        result = CollectResult(output=output, node=self.node, partial=self.partial_reason is not None,
                               partial_reason=self.partial_reason, items=flat,
                               duration_s=time.monotonic() - t0)
        self.progress.finish(result)
        return result

    def collect_into(self, writer: BundleWriter, items: list[Item]) -> list[dict[str, Any]]:
        """Run the items into a writer the caller owns (the fan-out shares one among hosts) and
        return the manifest records in catalogue order. Does not finish the writer, install
        signal handlers or call progress.start/finish; raises the writer's UserError (disk
        full) after the pool has drained."""
        self.writer = writer
        records: dict[int, list[dict[str, Any]]] = {}
        early = [(i, it) for i, it in enumerate(items) if not _is_late(it)]
        late = [(i, it) for i, it in enumerate(items) if _is_late(it)]
        # Long items first so the pool is not left waiting on one journal at the end.
        early.sort(key=lambda p: 0 if isinstance(p[1], (JournalItem, GlobItem)) else 1)
        for batch in (early, late):
            with ThreadPoolExecutor(max_workers=max(1, self.opts.workers),
                                    thread_name_prefix="collect") as pool:
                futures = {i: pool.submit(self._guarded, it) for i, it in batch}
                for i, fut in futures.items():
                    records[i] = fut.result()
        if self.fatal is not None:
            raise self.fatal
        return [r for i in sorted(records) for r in records[i]]

    def node_entry(self) -> NodeEntry:
        """This node's entry in the manifest's `nodes`."""
        tz = self.ctx.shared.get("timezone") or {}
        return NodeEntry(name=self.node, os=self.transport.os, transport=self.transport.name,
                         timezone=tz.get("timezone"), utc_offset_seconds=tz.get("utc_offset_seconds"))

    # -- signals ------------------------------------------------------------------------------
    def _install_signal_handlers(self) -> dict[int, Any]:
        def on_stop(reason: str) -> None:
            if self.partial_reason is None:
                self.partial_reason = reason
            self.stop.set()
        return install_stop_signals(on_stop)

    def _restore_signal_handlers(self, old: dict[int, Any]) -> None:
        restore_signals(old)

    # -- items --------------------------------------------------------------------------------
    def _guarded(self, item: Item) -> list[dict[str, Any]]:
        # After an interrupt the late items (node.json) still run, from what is already known
        # (their commands are refused at once): a partial bundle keeps its node facts.
        if self.stop.is_set() and not (_is_late(item) and self.fatal is None):
            return [self._record(item, status="skipped", error=self._stop_reason())]
        t0 = time.monotonic()
        try:
            if not self._area_excluded(item):
                self.progress.item_started(item)
            records = self._run_item(item)
        except Interrupted:
            records = [self._record(item, status="skipped", error=self._stop_reason())]
        except UserError as exc:     # the writer failed (disk full): stop everything
            self.fatal = exc
            self.stop.set()
            records = [self._record(item, status="failed", error=str(exc))]
        except Exception as exc:  # noqa: BLE001 - one broken item must not stop the run
            if self.fatal is not None:
                records = [self._record(item, status="skipped", error=self._stop_reason())]
            else:
                records = [self._record(item, status="failed", error=f"{type(exc).__name__}: {exc}")]
        ms = int((time.monotonic() - t0) * 1000)
        for r in records:
            r.pop("_lines", None)     # engine-internal (journal truncation detection)
            if r.get("duration_ms") is None:
                r["duration_ms"] = ms
        self.progress.item_done(item, records)
        return records

    def _stop_reason(self) -> str:
        if self.fatal is not None:
            return "not run: the bundle could not be written"
        return f"not run: {self.partial_reason or 'interrupted'}"

    def _area_excluded(self, item: Item) -> str | None:
        if self.opts.only is not None and item.area not in self.opts.only:
            return f"area {item.area} not in --only"
        if item.area in self.opts.skip:
            return f"area {item.area} in --skip"
        return None

    def _run_item(self, item: Item) -> list[dict[str, Any]]:
        reason = self._area_excluded(item)
        if reason:
            return [self._record(item, status="skipped", error=reason)]
        if isinstance(item, GlobItem):
            return self._run_glob(item)
        if isinstance(item, FileItem):
            return [self._run_file(item, item.path, item.id, item.dest, item.tail,
                                   self._cap(item), kind="file")]
        if isinstance(item, JournalItem):
            return self._run_journal(item)
        if isinstance(item, CommandItem):
            return [self._run_command(item)]
        if isinstance(item, ApiItem):
            return [self._run_api(item)]
        if isinstance(item, DerivedItem):
            return [self._run_derived(item)]
        if isinstance(item, PowerShellItem):
            return [self._run_powershell(item)]
        return [self._record(item, status="skipped", error=f"unknown item type {type(item).__name__}")]

    def _cap(self, item: Item, override: int | None = None) -> int:
        caps = [self.opts.max_file_size]
        if item.cap is not None:
            caps.append(item.cap)
        if override is not None:
            caps.append(override)
        return max(1, min(caps))

    def _timeout(self, item: Item) -> float:
        return item.timeout if item.timeout is not None else self.opts.timeout

    # files ------------------------------------------------------------------------------------
    def _run_file(self, item: Item, path: str, rec_id: str, dest: str, tail: bool, cap: int,
                  kind: str) -> dict[str, Any]:
        rel = f"{dest}{path}"
        if dest == "files" and _looks_like_key_file(path):
            return self._record(item, rec_id=rec_id, kind=kind, source=path, status="skipped",
                                error="private key file: never collected")
        refuse_keys = dest == "files"
        stream = self.transport.read_file(path, cap=cap, tail=tail, stop=self.stop,
                                          refuse_private_keys=refuse_keys)
        if refuse_keys:
            # Configuration files are small (capped): read them whole first, so a private key
            # block is found before a single byte reaches the redactor or the writer.
            try:
                chunks = list(stream)
            except PrivateKeyFound:
                return self._record(item, rec_id=rec_id, kind=kind, source=path,
                                    status="skipped", error=stream.skipped_reason)
            return self._store_chunks(item, stream, iter(chunks), rel, source=path,
                                      rec_id=rec_id, kind=kind)
        return self._store_stream(item, stream, rel, rec_id=rec_id, kind=kind, source=path)

    def _run_glob(self, item: GlobItem) -> list[dict[str, Any]]:
        import fnmatch

        found: dict[str, float] = {}
        sizes: dict[str, int] = {}
        for pattern in item.patterns:
            for path in self.transport.glob(pattern):
                if any(fnmatch.fnmatch(path, ex) for ex in item.exclude):
                    continue
                st = self.transport.stat(path)
                if st is None or not _is_regular(st.st_mode):
                    continue
                found[path] = st.st_mtime
                sizes[path] = st.st_size
        source = " ".join(item.patterns)
        if not found:
            return [self._record(item, status="not_found", source=source, error="no file matched")]
        # Newest first: when the total cap bites, the files that changed last are kept.
        ordered = sorted(found, key=lambda p: (-found[p], p))
        per_file = self._cap(item, item.per_file_cap)
        budget = item.total_cap
        records: list[dict[str, Any]] = []
        used = 0
        left_out = 0
        for n, path in enumerate(ordered):
            if self.stop.is_set():
                raise Interrupted()
            # Past the total cap a file is left out whole rather than read as a sliver.
            wanted = min(per_file, sizes[path]) if sizes[path] else per_file
            if n - left_out >= item.max_files or (budget is not None and used + wanted > budget):
                left_out += 1
                continue
            cap = per_file
            rec = self._run_file(item, path, f"{item.id}:{path}", item.dest, item.tail, cap,
                                 kind="file")
            used += rec["bytes"]
            records.append(rec)
        glob_rec = self._record(item, status="truncated" if left_out else "ok", source=source,
                                bytes_=used,
                                error=(f"{left_out} of {len(ordered)} files left out "
                                       f"(max {item.max_files} files / total cap)") if left_out else None)
        glob_rec["files"] = len(records)
        return [glob_rec, *records]

    # commands ---------------------------------------------------------------------------------
    def _argv(self, argv: Iterable[str]) -> list[str]:
        root = self.transport.root.rstrip("/")
        return [a.replace("{root}", root) for a in argv]

    def _run_command(self, item: CommandItem) -> dict[str, Any]:
        rel = item.member
        candidates = [self._argv(item.argv), *(self._argv(f) for f in item.fallbacks)]
        source = " ".join(candidates[0])
        if item.live and not self.transport.live:
            return self._record(item, status="skipped", source=source,
                                error="--root: not the running node")
        argv = next((c for c in candidates if self.transport.which(c[0])), None)
        if argv is None:
            names = ", ".join(sorted({c[0] for c in candidates}))
            return self._record(item, status="not_found", source=source,
                                error=f"not installed: {names}")
        return self._command_stream(item, argv, rel, tail=item.tail, transform=item.transform,
                                    needs_root=item.needs_root, ok_codes=item.ok_exit_codes)

    def _command_stream(self, item: Item, argv: list[str], rel: str | None, *, tail: bool,
                        transform: Callable[[bytes], bytes] | None, needs_root: bool,
                        ok_codes: tuple[int, ...] = (0,), allow_dead_root: bool = False,
                        kind: str | None = None) -> dict[str, Any]:
        source = " ".join(argv)
        try:
            stream = self.transport.run(argv, timeout=self._timeout(item), cap=self._cap(item),
                                        tail=tail, stop=self.stop,
                                        **({"allow_dead_root": True} if allow_dead_root else {}))
        except NotSupported as exc:
            return self._record(item, status="skipped", source=source, error=str(exc), kind=kind)
        return self._store_stream(item, stream, rel, source=source, transform=transform,
                                  needs_root=needs_root, ok_codes=ok_codes, kind=kind)

    def _run_journal(self, item: JournalItem) -> list[dict[str, Any]]:
        rel = item.member
        cap = self._cap(item)
        lines = max(1000, cap // JOURNAL_BYTES_PER_LINE)
        since_epoch = int(time.time()) - int(self.opts.since_seconds)
        select = ["_TRANSPORT=kernel"] if item.kernel else ["-u", f"{item.unit}.service"]
        tail_args = ["--since", f"@{since_epoch}", "-o", "short-iso-precise", "--no-pager", "-q",
                     "-n", str(lines)]
        argv = ["journalctl"]
        allow_dead = False
        if not self.transport.live:
            journal_dir = f"{self.transport.root.rstrip('/')}/var/log/journal"
            if not os.path.isdir(journal_dir):
                rec = self._record(item, status="skipped", source="journalctl",
                                   error="--root: no persistent journal in /var/log/journal")
                return self._journal_fallback(item, rec, rel, [], [])
            argv += ["-D", journal_dir]
            allow_dead = True
        argv += select + tail_args
        if not self.transport.which("journalctl") and not allow_dead:
            rec = self._record(item, status="not_found", source=" ".join(argv),
                               error="journalctl not found (no systemd journal)")
            return self._journal_fallback(item, rec, rel, [], [])
        rec = self._command_stream(item, argv, rel, tail=True, transform=None, needs_root=False,
                                   allow_dead_root=allow_dead)
        if rec["status"] == "ok" and rec.get("_lines", 0) >= lines:
            rec["status"] = "truncated"
            rec["error"] = f"newest {lines} lines kept (journalctl -n)"
        if rec.get("path") is None:
            return self._journal_fallback(item, rec, rel, select, tail_args)
        return [rec]

    # -- when the journal has nothing -----------------------------------------------------------
    def _journal_fallback(self, item: JournalItem, rec: dict[str, Any], rel: str,
                          select: list[str], tail_args: list[str]) -> list[dict[str, Any]]:
        """The journal gave nothing for this unit or the kernel (no journal, a volatile journal
        lost at reboot, journald not running, the collector in a container reading its own
        journal, a machine-id that changed): read what else the node keeps, and say so in the
        record's `fallback` ({from, to}: what returned nothing, what was read instead)."""
        why = f"{rec['source']}: " + ("no entries" if rec["status"] == "ok" else
                                        (rec.get("error") or rec["status"]))
        # 1. Journal files the first read did not cover (another machine-id, the node's root).
        if select and (item.kernel or self._unit_installed(item.unit or "")) \
                and self.transport.which("journalctl"):
            for jdir in self._other_journal_dirs():
                argv = ["journalctl", "-D", jdir, *select, *tail_args]
                alt = self._command_stream(item, argv, rel, tail=True, transform=None,
                                           needs_root=False, allow_dead_root=True)
                if alt.get("path") is not None:
                    alt["fallback"] = {"from": why, "to": [alt["source"]]}
                    return [alt]
        # 2. The kernel ring buffer of the running node.
        if item.kernel and self.transport.live and self.transport.which("dmesg"):
            alt = self._command_stream(item, ["dmesg", "-T"], rel, tail=True, transform=None,
                                       needs_root=True)
            if alt.get("path") is not None:
                alt["fallback"] = {"from": why, "to": ["dmesg -T"]}
                return [alt]
        # 3. Plain log files: collected by their own items (kern.log, dmesg, syslog, messages);
        # for a unit that is installed, also the newest rotated syslog file.
        # (A unit that is not installed has nothing to fall back to: no note.)
        # `to` may be empty: the journal had nothing and neither has the node (said, not hidden).
        extra: list[dict[str, Any]] = []
        if item.kernel:
            rec["fallback"] = {"from": why, "to": [p for p in KERNEL_FILES if self.transport.stat(p) is not None]}
        elif item.unit in FALLBACK_UNITS and self._unit_installed(item.unit or ""):
            to = [p for p in SYSLOG_FILES if self.transport.stat(p) is not None]
            rotated, extra = self._rotated_syslog(item)
            rec["fallback"] = {"from": why, "to": to + rotated}
        return [rec, *extra]

    def _other_journal_dirs(self) -> list[str]:
        """Journal directories (host paths) the default `journalctl` does not read: those of
        the collected root when it is not / (the collector in a container), and on / the
        persistent journal when it holds another machine-id's files (a cloned or rebuilt
        system). Computed once per run."""
        with self.ctx.lock:
            if "other_journal_dirs" in self.ctx.shared:
                return self.ctx.shared["other_journal_dirs"]
            root = self.transport.root.rstrip("/")
            dirs: list[str] = []
            if self.transport.live:
                for d in ("/var/log/journal", "/run/log/journal"):
                    ids = [n for n in self.transport.listdir(d) if re.fullmatch(r"[0-9a-f]{32}", n)]
                    if not ids:
                        continue
                    if root:
                        dirs.append(f"{root}{d}")
                        continue
                    mid = (self.ctx.read_text("/etc/machine-id", 64) or "").strip()
                    if any(i != mid for i in ids):
                        dirs.append(d)
            self.ctx.shared["other_journal_dirs"] = dirs
            return dirs

    def _unit_installed(self, unit: str) -> bool:
        """A unit file or a drop-in directory (kubeadm's 10-kubeadm.conf) for the unit."""
        return any(self.transport.stat(f"{d}/{unit}.service{suffix}") is not None
                   for d in UNIT_DIRS for suffix in ("", ".d"))

    def _rotated_syslog(self, item: JournalItem) -> tuple[list[str], list[dict[str, Any]]]:
        """The newest rotated syslog file (Debian syslog.1, RHEL messages-YYYYMMDD): the lines of
        the last days when the journal kept none. Read once per run, by the first silent unit
        (its records); every other silent unit names it in its `fallback` too."""
        with self.ctx.lock:
            guard = self.ctx.shared.setdefault("rotated_syslog_lock", threading.Lock())
        with guard:
            if "rotated_syslog" in self.ctx.shared:
                return self.ctx.shared["rotated_syslog"], []
            paths = [p for p in ROTATED_SYSLOG[:1] if self.transport.stat(p) is not None]
            dated = sorted(self.transport.glob(ROTATED_SYSLOG[1]))
            paths += [p for p in dated if not p.endswith(".gz")][-1:]
            records = [self._run_file(item, p, f"{item.id}:{p}", "logs", True, self._cap(item),
                                      kind="file") for p in paths]
            taken = [r["source"] for r in records if r.get("path")]
            self.ctx.shared["rotated_syslog"] = taken
            return taken, records

    def _run_powershell(self, item: PowerShellItem) -> dict[str, Any]:
        try:
            stream = self.transport.run_powershell(item.script, timeout=self._timeout(item),
                                                   cap=self._cap(item), stop=self.stop)
        except NotSupported as exc:
            return self._record(item, status="skipped", source=item.script[:200], error=str(exc))
        return self._store_stream(item, stream, item.path, source=item.script[:200])

    def _run_api(self, item: ApiItem) -> dict[str, Any]:
        from k8s_bundle.collector.linux.cluster import working_kubeconfig

        if not self.transport.live:
            return self._record(item, status="skipped", error="--root: not the running node")
        kubeconfig, why = working_kubeconfig(self.ctx)
        if kubeconfig is None:
            return self._record(item, status="skipped", error=why)
        skipped = self._claimed_elsewhere(item, self.redactor.obfuscate_path(item.member))
        if skipped is not None:
            return skipped
        argv = ["kubectl", "--kubeconfig", kubeconfig, "--request-timeout=5s", "get", item.resource]
        if item.name:
            argv.append(item.name)
        argv += ["-n", item.namespace] if item.namespace else ["--all-namespaces"]
        argv += ["-o", "json"]
        return self._command_stream(item, argv, f"/{item.member}", tail=False,
                                    transform=item.transform, needs_root=False)

    def _run_derived(self, item: DerivedItem) -> dict[str, Any]:
        if item.live and not self.transport.live:
            return self._record(item, status="skipped", source=item.source,
                                error="--root: not the running node")
        if item.live and getattr(self.transport, "remote", False):
            # Live derived items read this machine's process table (psutil), not the node's.
            return self._record(item, status="skipped", source=item.source,
                                error="reads the collecting machine's processes: not collected "
                                      f"over {self.transport.name}")
        assert item.func is not None
        value = item.func(self.ctx)
        if value is None:
            return self._record(item, status="not_found", source=item.source)
        if isinstance(value, str):
            data = value.encode("utf-8")
        elif isinstance(value, bytes):
            data = value
        else:
            data = orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        cap = self._cap(item)
        stream = Stream()
        stream.truncated = len(data) > cap
        stream.exit_code = 0
        chunks = iter([data[:cap]])
        return self._store_chunks(item, stream, chunks, item.path, source=item.source)

    # storing ---------------------------------------------------------------------------------
    def _store_stream(self, item: Item, stream: Stream, rel: str | None, *, source: str,
                      rec_id: str | None = None, kind: str | None = None,
                      transform: Callable[[bytes], bytes] | None = None, needs_root: bool = False,
                      ok_codes: tuple[int, ...] = (0,)) -> dict[str, Any]:
        chunks: Iterator[bytes] = iter(stream)
        if transform is not None:
            raw = b"".join(chunks)
            chunks = iter([transform(raw)] if raw and stream.exit_code in ok_codes else [raw])
        return self._store_chunks(item, stream, chunks, rel, source=source, rec_id=rec_id,
                                  kind=kind, needs_root=needs_root, ok_codes=ok_codes)

    def _store_chunks(self, item: Item, stream: Stream, chunks: Iterator[bytes], rel: str | None,
                      *, source: str, rec_id: str | None = None, kind: str | None = None,
                      needs_root: bool = False, ok_codes: tuple[int, ...] = (0,)) -> dict[str, Any]:
        assert self.writer is not None
        full = None
        member = None
        redactions = 0
        lines = 0
        if rel is not None:
            full = rel.lstrip("/") if rel.startswith("/") else f"nodes/{self.node}/{rel}"
            full = self.redactor.obfuscate_path(full)  # pod log dirs embed host names
        if full is not None and not full.startswith("nodes/"):
            skipped = self._claimed_elsewhere(item, full, source=source, rec_id=rec_id, kind=kind)
            if skipped is not None:
                return skipped
        try:
            counted = _LineCounter(_stop_passes_through(chunks))
            redacted = self.redactor.redact_stream(full or "", counted)
            first = next((c for c in redacted if c), None)
            if first is not None and full is not None:
                member = self.writer.add_stream(full, itertools.chain([first], redacted))
            else:
                for _ in redacted:
                    pass
            lines = counted.lines
        except _StopReading:
            raise Interrupted() from None     # recorded as not run, nothing stored
        except RedactionError as exc:
            return self._record(item, rec_id=rec_id, kind=kind, source=source,
                                status="redaction_failed", error=f"dropped: {exc}")
        if full is not None:
            redactions = self.redactor.count_for(full)
        status, error = _status(stream, ok_codes)
        root_needed = (not self.is_root) and (
            stream.permission_denied
            or (needs_root and status in ("failed", "permission_denied"))
            or (status == "failed" and bool(_NEEDS_ROOT_HINT.search(error or "")))
        )
        rec = self._record(item, rec_id=rec_id, kind=kind, source=source, status=status,
                           error=error, exit_code=stream.exit_code,
                           path=member.path if member else None,
                           bytes_=member.bytes if member else 0,
                           sha256=member.sha256 if member else None, redactions=redactions,
                           needs_root=root_needed)
        if isinstance(item, JournalItem):
            rec["_lines"] = lines
        return rec

    def _claimed_elsewhere(self, item: Item, member: str, **rec: Any) -> dict[str, Any] | None:
        """A bundle-level member (cluster/...) another host of a fan-out stores: the cluster is
        one, its objects are kept once (asked before running the command, so the other nodes
        do not query the API server for nothing). None when this node has it."""
        assert self.writer is not None
        holder = self.writer.claim(member, self.node)
        if holder == self.node:
            return None
        return self._record(item, status="skipped", **rec,
                            error=f"{member}: already in the bundle"
                                  + (f" (collected from node {holder})" if holder else ""))

    def _record(self, item: Item, *, status: str, error: str | None = None,
                rec_id: str | None = None, kind: str | None = None, source: str | None = None,
                exit_code: int | None = None, path: str | None = None, bytes_: int = 0,
                sha256: str | None = None, redactions: int = 0,
                needs_root: bool = False) -> dict[str, Any]:
        if error:
            error = self._redact_text(error)    # stderr may echo a secret
        source = source if source is not None else _source(item)
        if source:
            source = self._redact_text(source)  # declared argv, but a catalogue may slip
        # A dict from here on: the runner adds `fallback` (and its own `_lines`) to it later.
        return ItemRecord(
            node=self.node, area=item.area, id=self.redactor.obfuscate_path(rec_id or item.id), path=path,
            kind=kind or item.kind, source=source, status=status, exit_code=exit_code, duration_ms=None,
            bytes=bytes_, sha256=sha256, redactions=redactions, error=error, needs_root=needs_root,
        ).to_dict()

    def _redact_text(self, text: str) -> str:
        """Manifest text (stderr excerpts) goes through the redactor like every stored byte."""
        try:
            out = b"".join(self.redactor.redact_stream(MANIFEST_NAME, [text.encode("utf-8")]))
            return out.decode("utf-8", "replace")
        except RedactionError:
            return "(error text dropped: it could not be redacted safely)"

    # manifest ---------------------------------------------------------------------------------
    def _manifest(self, started: dt.datetime, finished: dt.datetime,
                  records: list[dict[str, Any]]) -> Manifest:
        try:
            user = getpass.getuser()
        except Exception:  # noqa: BLE001 - no passwd entry in a container
            user = str(os.geteuid())
        return Manifest(
            created_at=rfc3339(started),
            finished_at=rfc3339(finished),
            partial_reason=self.partial_reason,
            collection={"argv": [self._redact_text(a) for a in self.opts.argv], "since": self.opts.since,
                        "root": self.transport.root, "live": self.transport.live,
                        "user": user, "is_root": self.is_root,
                        "timeout_s": self.opts.timeout, "max_file_size": self.opts.max_file_size,
                        "only": sorted(self.opts.only) if self.opts.only is not None else None,
                        "skip": sorted(self.opts.skip)},
            nodes=[self.node_entry()],
            items=[ItemRecord.from_dict(r) for r in records],
        )


class _StopReading(BaseException):
    """The transport's Interrupted on its way through the redactor, which turns every
    Exception into a RedactionError (fail closed) and would record a stop as a dropped item."""


def _stop_passes_through(chunks: Iterator[bytes]) -> Iterator[bytes]:
    try:
        yield from chunks
    except Interrupted:
        raise _StopReading() from None


class _LineCounter:
    """Passes chunks through and counts newlines (journal -n truncation detection)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self.lines = 0

    def __iter__(self) -> Iterator[bytes]:
        for c in self._chunks:
            self.lines += c.count(b"\n")
            yield c


def _status(stream: Stream, ok_codes: tuple[int, ...]) -> tuple[str, str | None]:
    stderr = stream.stderr.decode("utf-8", "replace").strip()
    if stream.skipped_reason:
        return "skipped", stream.skipped_reason
    if stream.not_found:
        return "not_found", stderr or None
    if stream.permission_denied:
        return "permission_denied", "permission denied"
    if stream.timed_out:
        return "timeout", "timed out" + (f"; stderr: {stderr[:500]}" if stderr else "")
    if stream.exit_code is not None and stream.exit_code not in ok_codes:
        return "failed", (f"exit {stream.exit_code}: {stderr[:1000]}" if stderr
                          else f"exit {stream.exit_code}")
    if stream.truncated:
        return "truncated", stream.note or "cut at the size cap"
    return "ok", stderr[:1000] or None


def _source(item: Item) -> str:
    if isinstance(item, FileItem):
        return item.path
    if isinstance(item, CommandItem):
        return item.source
    if isinstance(item, JournalItem):
        return "journalctl -k" if item.kernel else f"journalctl -u {item.unit}"
    if isinstance(item, DerivedItem):
        return item.source
    if isinstance(item, ApiItem):
        return f"kubectl get {item.resource}"
    if isinstance(item, GlobItem):
        return " ".join(item.patterns)
    return ""


def _is_late(item: Item) -> bool:
    return isinstance(item, DerivedItem) and item.late


def _is_regular(mode: int) -> bool:
    import stat

    return stat.S_ISREG(mode)


def _looks_like_key_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1].lower()
    return name.endswith((".key", "-key.pem", "_key.pem", ".key.pem")) or name in ("key.pem",)


def _check_unique(items: list[Item]) -> None:
    seen: set[str] = set()
    for it in items:
        if it.id in seen:
            raise ValueError(f"duplicate item id {it.id!r} in the catalogue")
        seen.add(it.id)


def collect(opts: CollectOptions, progress: Progress | None = None,
            transport: Any = None, redactor: Redactor | None = None) -> CollectResult:
    """Run one local collection (the `collect` command)."""
    from k8s_bundle.collector.linux import catalogue
    from k8s_bundle.collector.transports.local import LocalTransport

    lower_priority()
    if transport is None:
        live = opts.live if opts.live is not None else os.path.abspath(opts.root) == "/"
        transport = LocalTransport(opts.root, live=live)
    engine = Engine(opts, transport, progress, redactor)
    return engine.run(catalogue(engine.ctx))
