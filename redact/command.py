"""The `redact` command (imported only when it runs); `verify` lives in redact/verify.py."""
from __future__ import annotations

import argparse
import contextlib
import errno
import itertools
import os
import stat
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import orjson

from k8s_bundle.bundle.layout import MANIFEST_NAME, REDACTION_NAME, node_of
from k8s_bundle.bundle.manifest import ItemRecord, Manifest
from k8s_bundle.bundle.reader import (DUPLICATE_MESSAGE, BundleReader, Member, find_bundle_dir, open_bundle,
                                      open_tree)
from k8s_bundle import __version__
from k8s_bundle.bundle.writer import BundleWriter
from k8s_bundle.errors import EXIT_BAD_INPUT, EXIT_OK, EXIT_USAGE, UserError, shown
from k8s_bundle.redact.options import build_redactor
from k8s_bundle.redact.redactor import RedactionError, Redactor
from k8s_bundle.redact.obfuscate import map_path_for, write_map
from k8s_bundle.safe_output import PartDir, check_output, create_new, output_error

CHUNK = 1 << 20
_TAR_SUFFIXES = (".tgz", ".tar.gz", ".tar")


@dataclass
class Source:
    rel: str                                # member path inside the output bundle
    origin: str                             # where it came from (manifest `source`)
    chunks: Callable[[], Iterator[bytes]]   # opens and reads the content lazily
    # Why the content read is incomplete (a reader cap, a damaged archive), or None.
    cut_short: Callable[[], str | None] = lambda: None


def _is_archive(path: str) -> bool:
    return path.lower().endswith(_TAR_SUFFIXES)


def _read_file(path: Path) -> Callable[[], Iterator[bytes]]:
    def gen() -> Iterator[bytes]:
        with open(path, "rb") as fh:
            while True:
                chunk = fh.read(CHUNK)
                if not chunk:
                    return
                yield chunk
    return gen


def _open(path: Path, *, bundle: bool) -> BundleReader:
    """The bundle reader on an input archive or directory: the caps and refusals of `analyze`
    and `verify` (k8s_bundle/bundle/reader.py). bundle=True strips the bundle's top directory."""
    if bundle and not path.is_dir():
        return open_bundle(path)
    return open_tree(path, plain=not bundle)


def _listing(path: Path, *, bundle: bool) -> list[str]:
    """Member paths of an input, known before anything is redacted (node names to obfuscate,
    whether an archive is a bundle). A damaged archive stops the run here, before any output."""
    reader = _open(path, bundle=bundle)
    names = [m.path for m in reader]
    _check_whole(reader, path)
    return names


def _check_whole(reader: BundleReader, path: Path) -> None:
    """A damaged archive (gzip or tar cut short, a corrupt header) is unusable input: exit 4."""
    for p in reader.problems:
        if p.kind == "truncated" and p.path is None:
            raise UserError(f"{shown(path)}: corrupt or truncated archive ({shown(p.message)})", EXIT_BAD_INPUT)


def _members(reader: BundleReader, path: Path, prefix: str, skipped: list[dict[str, str]],
             leave_out: tuple[str, ...] = (), top: str = "") -> Iterator[Source]:
    """The reader's members as sources named `prefix + member path`, each read while it is the
    current member. What the reader refused (links, devices, escaping, duplicate or too long
    names) or stopped at (a cap) goes to `skipped`; a member it cut short is marked on its item."""
    attached: set[int] = set()        # problems told on an item (cut_short), not in `skipped`
    it = iter(reader)
    while True:
        mark = len(reader.problems)
        member = next(it, None)
        if member is None:
            break
        if member.path in leave_out:
            continue

        def cut_short(mark: int = mark, rel: str = member.path) -> str | None:
            for i in range(mark, len(reader.problems)):
                p = reader.problems[i]
                if p.path == rel and p.kind in ("limit", "truncated"):
                    attached.add(i)
                    return p.message
            return None

        def chunks(member: Member = member, start: int = len(reader.problems)) -> Iterator[bytes]:
            yield from member.chunks(CHUNK)
            # A file the reader could not open (permissions, swapped for a link since the walk)
            # fails its item (the redactor drops it, fail closed) instead of being stored empty.
            for i in range(start, len(reader.problems)):
                p = reader.problems[i]
                if p.path == member.path and p.kind == "rejected":
                    attached.add(i)
                    raise OSError(errno.EIO, p.message)

        # where it came from, as the archive names it (with the bundle's top directory)
        origin = str(path / member.path) if reader.kind == "dir" else f"{path}:{top}{member.path}"
        yield Source(prefix + member.path, origin, chunks, cut_short)
    _check_whole(reader, path)
    for i, p in enumerate(reader.problems):
        if i in attached:
            continue
        reason = _NAME_TAKEN if p.message == DUPLICATE_MESSAGE else p.message
        skipped.append({"path": prefix + p.path if p.path else str(path), "reason": reason})


def _readable_kind(path: str) -> bool:
    """A regular file, a directory or a pipe (`redact <(kubectl logs ...)` names a pipe, which
    ends when its writer does). A device never ends (/dev/zero, a disk) and a socket is no file."""
    mode = os.stat(path).st_mode
    return stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISFIFO(mode)


def _stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# -- redact ------------------------------------------------------------------------------------
def run_redact(args: argparse.Namespace) -> int:
    out = Path(args.output)
    for p in args.paths:
        if not os.path.exists(p):
            raise UserError(f"{shown(p)}: no such file or directory", EXIT_BAD_INPUT)
        if not _readable_kind(p):
            raise UserError(f"{shown(p)}: a device or socket, not a file, directory or pipe", EXIT_BAD_INPUT)
        if Path(p).resolve() == out.resolve():
            raise UserError(f"{p}: the output cannot also be an input", EXIT_USAGE)
    to_tar = _is_archive(str(out))
    if args.output.endswith(("/", os.sep)) and _is_archive(args.output.rstrip("/" + os.sep)):
        # `-o out.tgz/` wrote a directory named out.tgz: ambiguous, refused like collect does
        raise UserError(f"cannot write {shown(args.output)}: an archive name ending in {os.sep} "
                        f"(drop the {os.sep} for a bundle, or choose a directory name)", EXIT_BAD_INPUT)
    # A missing directory, a read-only place, a file where a directory goes (or the reverse),
    # an existing output without --force: one line before any work.
    check_output(out, force=args.force, directory=not to_tar, exists_code=EXIT_BAD_INPUT if to_tar else EXIT_USAGE)
    redactor = build_redactor(args)
    categories = redactor.obfuscator.categories if redactor.obfuscator else frozenset()
    if categories:
        # the map's place too (a name too long, a directory there): the output and its map are
        # written together or not at all
        check_output(map_path_for(out), force=True)
    redactor.add_hostnames(args.hostname)
    redactor.add_usernames(args.username)

    skipped: list[dict[str, str]] = []
    inputs = _gather(args.paths, skipped)
    if categories:
        redactor.add_hostnames(_node_names(inputs.names))
    items: list[dict[str, Any]] = []
    started = _now()
    if to_tar:
        with BundleWriter(out, top_dir=redactor.obfuscate_path(inputs.top_dir), overwrite=args.force) as writer:
            for src in inputs.sources:
                items.append(_redact_one(redactor, src, lambda rel, chunks: _add_once(writer, rel, chunks)))
            manifest = _manifest(args, inputs.manifest, items, skipped, started, redactor)
            with _map_first(redactor, out, categories):
                writer.finish(manifest, redactor.report())
    else:
        # Built in a hidden part directory beside `out` and moved into place at the end: a
        # failure (full disk, interrupt) leaves nothing of it; a killed run's part is removed
        # by the next run (k8s_bundle/safe_output.py).
        with PartDir(out) as staging:
            root = staging.path
            assert root is not None
            for src in inputs.sources:
                items.append(_redact_one(redactor, src, lambda rel, chunks: _write_file(root, rel, chunks, out)))
            manifest = _manifest(args, inputs.manifest, items, skipped, started, redactor)
            _write_file(root, REDACTION_NAME, [orjson.dumps(redactor.report(), option=orjson.OPT_INDENT_2)], out)
            _write_file(root, MANIFEST_NAME, [orjson.dumps(manifest, option=orjson.OPT_INDENT_2)], out)
            with _map_first(redactor, out, categories):
                staging.commit()
    _tell_skipped(skipped)
    map_note = f"; obfuscation map (keep it private) at {shown(map_path_for(out))}" if categories else ""
    report = redactor.report()
    dropped = len(report["dropped"])
    print(f"redacted {len(items)} files into {shown(out)}: {report['total']} values replaced"
          f"{f', {dropped} dropped (could not be redacted safely)' if dropped else ''}"
          f"{f', {len(skipped)} skipped' if skipped else ''}{map_note}", file=sys.stderr)
    return EXIT_OK


SKIPPED_SHOWN = 10   # lines on stderr; every skipped input is listed in the output's manifest


def _tell_skipped(skipped: list[dict[str, str]]) -> None:
    """One line per input left out (a link, a device, a name the reader refuses, a cap)."""
    for s in skipped[:SKIPPED_SHOWN]:
        print(f"redact: skipped {shown(s['path'])}: {shown(s['reason'])}", file=sys.stderr)
    if len(skipped) > SKIPPED_SHOWN:
        print(f"redact: {len(skipped) - SKIPPED_SHOWN} more skipped (listed in the output's manifest)",
              file=sys.stderr)


@contextlib.contextmanager
def _map_first(redactor: Redactor, out: Path, categories: frozenset[str]) -> Iterator[None]:
    """Write the obfuscation map, then let the output be moved into place; remove the map when
    that fails. All or nothing: an output without its map cannot be read back, and a map without
    its output would be a stray copy of the real names."""
    if not categories:
        yield
        return
    map_path = write_map(out, redactor.obfuscation_map())
    try:
        yield
    except BaseException:
        try:
            os.unlink(map_path)
        except OSError:
            pass
        raise


@dataclass
class _Stored:
    path: str
    bytes: int
    sha256: str


def _write_file(root: Path, rel: str, chunks: Any, output: Path) -> _Stored:
    """One redacted file into the part directory `root` (errors name the user's `output`).

    A failed write (full disk, I/O error) ends the run: the caller's PartDir removes all of it.
    A failed read of the source fails this item only (OSError to _redact_one), a name already
    taken in the output skips it (_NameTaken); the incomplete file is removed either way."""
    import hashlib

    target = root / rel
    digest = hashlib.sha256()
    size = 0
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fh = create_new(target)          # O_EXCL|O_NOFOLLOW: never an existing name or a link
    except (FileExistsError, NotADirectoryError, IsADirectoryError):
        raise _NameTaken(rel) from None  # a duplicate member, or `a` and `a/b` both in the input
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise output_error(exc, output) from None
        raise
    try:
        with fh:
            for chunk in chunks:         # a read error of the source propagates as OSError
                try:
                    fh.write(chunk)
                except OSError as exc:
                    raise output_error(exc, output) from None
                digest.update(chunk)
                size += len(chunk)
            try:
                fh.flush()
            except OSError as exc:
                raise output_error(exc, output) from None
    except BaseException:
        try:
            target.unlink()              # an incomplete file is never left behind
        except OSError:
            pass
        raise
    return _Stored(rel, size, digest.hexdigest())


class _NameTaken(Exception):
    """The output already holds this path: an archive may repeat a member name (tar allows it)."""


_NAME_TAKEN = "the output already holds this name (repeated or clashing input names; the first is kept)"


def _add_once(writer: BundleWriter, rel: str, chunks: Any) -> Any:
    if writer.has(rel):
        raise _NameTaken(rel)
    return writer.add_stream(rel, chunks)


def _redact_one(redactor: Redactor, src: Source, store: Callable[[str, Any], Any]) -> dict[str, Any]:
    rel = redactor.obfuscate_path(src.rel)
    item = ItemRecord(node=None, area="redact", id=rel, path=rel, kind="file",
                      source=redactor.obfuscate_path(src.origin), duration_ms=0)
    t0 = time.monotonic()
    try:
        stored = store(rel, redactor.redact_stream(rel, src.chunks()))
    except RedactionError as exc:
        item.status, item.path, item.error = "redaction_failed", None, f"dropped: {exc}"
        return item.to_dict()
    except _NameTaken:
        item.status, item.path, item.error = "skipped", None, _NAME_TAKEN
        return item.to_dict()
    except OSError as exc:
        redactor.record_dropped(rel, f"unreadable: {exc.strerror}")
        item.status, item.path, item.error = "failed", None, f"unreadable: {exc.strerror}"
        return item.to_dict()
    item.bytes, item.sha256, item.redactions = stored.bytes, stored.sha256, redactor.count_for(rel)
    item.duration_ms = int((time.monotonic() - t0) * 1000)
    cut = src.cut_short()
    if cut is not None:
        item.status, item.error = "truncated", cut
    return item.to_dict()


@dataclass
class _Inputs:
    sources: Iterator[Source]          # lazy: archive members stream while the archive is open
    top_dir: str
    names: list[str]                   # member paths known up front (node names to obfuscate)
    manifest: dict[str, Any] | None = None   # an input bundle's manifest, set once it was read


def _gather(paths: list[str], skipped: list[dict[str, str]]) -> _Inputs:
    """Inputs as sources; one k8s bundle keeps its layout, anything else goes under input/."""
    if len(paths) == 1:
        p = Path(paths[0])
        bundle_dir = find_bundle_dir(p) if p.is_dir() else None
        names: list[str] = []
        if bundle_dir is None and _is_archive(str(p)):
            # An archive is a bundle when all of it sits in one top directory holding manifest.json.
            names = _listing(p, bundle=False)
            tops = {n.split("/", 1)[0] for n in names}
            top = tops.pop() if len(tops) == 1 else None
            if top is not None and f"{top}/{MANIFEST_NAME}" in names:
                return _bundle_inputs(p, top, [n.split("/", 1)[1] for n in names if "/" in n], skipped)
        elif bundle_dir is not None:
            return _bundle_inputs(bundle_dir, bundle_dir.name, _listing(bundle_dir, bundle=True), skipped)
    parts: list[Iterator[Source]] = []
    names = []
    used: set[str] = set()
    for raw in paths:
        p = Path(raw)
        name = p.name or "input"
        base = name
        n = 1
        while base in used:
            n += 1
            base = f"{name}-{n}"
        used.add(base)
        prefix = f"input/{base}/"
        if p.is_dir() or _is_archive(raw):
            names += [prefix + rel for rel in _listing(p, bundle=False)]
            parts.append(_lazy(lambda p=p, prefix=prefix: _members(_open(p, bundle=False), p, prefix, skipped)))
        else:
            names.append(f"input/{base}")
            parts.append(iter([Source(f"input/{base}", str(p), _read_file(p))]))
    return _Inputs(itertools.chain.from_iterable(parts), f"k8s-bundle-redacted-{_stamp()}", names)


def _bundle_inputs(path: Path, top: str, names: list[str], skipped: list[dict[str, str]]) -> _Inputs:
    """A k8s bundle (archive or directory) keeps its layout; its manifest is kept and refreshed."""
    inputs = _Inputs(iter(()), top, [n for n in names if n not in (MANIFEST_NAME, REDACTION_NAME)])

    def sources() -> Iterator[Source]:
        inner = "" if path.is_dir() else top + "/"
        for src in _members(_open(path, bundle=True), path, "", skipped, leave_out=(REDACTION_NAME,), top=inner):
            if src.rel == MANIFEST_NAME:
                inputs.manifest = _load_manifest(b"".join(src.chunks()))
            else:
                yield src

    inputs.sources = sources()
    return inputs


def _lazy(make: Callable[[], Iterator[Source]]) -> Iterator[Source]:
    """Open an input only when its turn comes: one archive is read at a time."""
    yield from make()


def _load_manifest(raw: bytes | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) else None


def _node_names(paths: list[str]) -> set[str]:
    """Node directory names among member paths, a bundle's own (`nodes/<n>/...`) or one found
    inside another input (`input/<name>/<top>/nodes/<n>/...`)."""
    found = set()
    for rel in paths:
        parts = rel.split("/")
        if "nodes" in parts:
            node = node_of("/".join(parts[parts.index("nodes"):]))
            if node:
                found.add(node)
    return found


def _manifest(args: argparse.Namespace, previous: dict[str, Any] | None, items: list[dict[str, Any]],
              skipped: list[dict[str, str]], started: str, redactor: Redactor) -> dict[str, Any]:
    """The output manifest, itself passed through the same redactor (secrets in an input
    manifest's `error` texts, host names when obfuscating; same placeholders as the files)."""
    manifest = _build_manifest(args, previous, items, skipped, started, redactor)
    try:
        doc = orjson.loads(redactor.redact_bytes(MANIFEST_NAME, orjson.dumps(manifest)))
    except (RedactionError, orjson.JSONDecodeError) as exc:
        raise UserError(f"the manifest could not be redacted ({exc}); nothing was written") from None
    return doc if isinstance(doc, dict) else manifest


def _build_manifest(args: argparse.Namespace, previous: dict[str, Any] | None, items: list[dict[str, Any]],
                    skipped: list[dict[str, str]], started: str, redactor: Redactor) -> dict[str, Any]:
    argv = ["redact", *[str(p) for p in args.paths], "-o", str(args.output)]
    if args.obfuscate:
        argv += ["--obfuscate", args.obfuscate]
    for s in skipped:
        items.append(ItemRecord(node=None, area="redact", id=s["path"], kind="file", source=s["path"],
                                status="skipped", duration_ms=0, error=s["reason"]).to_dict())
    if previous is not None:
        # A bundle redacted again: keep its records, refresh what this run changed. The old
        # manifest goes through the redactor first so that its paths match obfuscated ones.
        try:
            previous = orjson.loads(redactor.redact_bytes(MANIFEST_NAME, orjson.dumps(previous)))
        except (RedactionError, orjson.JSONDecodeError):
            previous = {}
        by_path = {i["path"]: i for i in items if i.get("path")}
        old_items = previous.get("items") if isinstance(previous.get("items"), list) else []
        merged = []
        for old in old_items:
            if isinstance(old, dict) and old.get("path") in by_path:
                new = by_path.pop(old["path"])
                old.update({k: new[k] for k in ("bytes", "sha256", "status", "error")})
                old["redactions"] = int(old.get("redactions") or 0) + new["redactions"]
                merged.append(old)
            elif isinstance(old, dict):
                merged.append(old)
        merged.extend(i for i in items if i.get("path") in by_path or i["status"] != "ok")
        previous["items"] = merged
        previous["redacted_again"] = {"at": _now(), "argv": argv, "tool_version": __version__}
        return previous
    return Manifest(created_at=started, finished_at=_now(),
                    collection={"argv": argv, "since": None, "root": None, "user": None, "is_root": None},
                    items=[ItemRecord.from_dict(i) for i in items]).to_dict()
