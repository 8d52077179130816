"""Read a bundle safely: one streaming pass, nothing extracted to disk, hostile input expected.

`open_bundle(path)` accepts a `.tar.gz`/`.tgz`, a plain `.tar`, or a directory (an extracted
bundle, or a directory holding exactly one extracted bundle). Iterating the reader yields
`Member`s in archive order (manifest.json comes last in a tarball); a member's bytes can be
read only while it is the current one, because the tarball is read in one forward pass.

Everything that is not a plain file inside the bundle's top directory is refused and recorded
as a `Problem` (problems.py) instead of being read: absolute paths, `..` escapes,
symlinks and hardlinks (whatever their target), devices and FIFOs, duplicates. Input past the
caps of `ReaderLimits` is read up to the cap and recorded as a `Problem(kind="limit")`. A gzip
or tar stream that ends early keeps every byte that was read and records
`Problem(kind="truncated")`. Input that is not a bundle at all raises `UserError` (exit 4).

`open_tree(path)` reads any archive or folder (`redact`'s and `verify`'s inputs need not be
bundles) with the same caps and refusals: every member keeps its full name, there is no top
directory to strip and no node directory to count.
"""
from __future__ import annotations

import copy
import os
import stat
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from k8s_bundle.bundle.layout import MANIFEST_NAME, ROOT_ENTRIES, clean_member_name, node_of
from k8s_bundle.bundle.problems import Problem
from k8s_bundle.errors import UserError

try:  # ISA-L inflates about twice as fast as zlib; inflating is a large share of `analyze`
    from isal import isal_zlib as _inflate
except ImportError:  # pragma: no cover - isal is a dependency; zlib keeps a bare install working
    _inflate = zlib  # type: ignore[assignment]
_INFLATE_ERRORS = (zlib.error, _inflate.error)

_GZIP_MAGIC = b"\x1f\x8b"
_BLOCK = 512
# tarfile's own buffer; small on purpose: it copies the rest of its buffer on every header read.
_TAR_BUFSIZE = 64 * 1024
_RAW_CHUNK = 256 * 1024

_META_TYPES = frozenset(
    {tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK}
)
_GiB = 1024**3
_MiB = 1024**2
# The message of a refused duplicate: `redact` names it as a name its output already holds.
DUPLICATE_MESSAGE = "refused duplicate member (the first copy was read)"


@dataclass(frozen=True)
class ReaderLimits:
    """Caps on hostile input (also listed in the README, "Caps on hostile input").

    - ``max_members`` (200,000): members read; the rest of the bundle is ignored.
    - ``max_total_bytes`` (32 GiB): uncompressed bytes, counted on the decompressed stream
      itself so that tar metadata cannot hide a decompression bomb; reading stops there. It
      bounds time only (the analysis streams in flat memory): about 15 s per GiB of logs.
    - ``max_member_bytes`` (2 GiB): bytes read from any one member (logs are streamed in
      chunks, so this bounds time, not memory); the rest of the member is skipped.
    - ``max_parsed_bytes`` (64 MiB): bytes of a member handed whole to a fact parser
      (`Member.read()`); parsers' inputs (configs, command outputs) are far smaller.
    - ``max_path_length`` (1,024 characters) and ``max_path_depth`` (32 components) of a
      member path below the top directory; longer or deeper members are refused.
    - ``max_meta_bytes`` (1 MiB): a PAX or GNU long-name header; a larger one ends reading
      (tarfile would hold it in memory).
    - ``max_nodes`` (2,000): node directories (`nodes/<name>/`, empty ones included), taken in
      archive order (name order in a directory); the members of further nodes are skipped.
      Every node costs a fixed share of the analysis, and a real bundle holds a few dozen.
    - ``max_sparse_segments`` (65,536): data segments in the map of a sparse member; a larger
      map is refused. Only the data segments of a sparse member are read: holes are not data.
    """

    max_members: int = 200_000
    max_total_bytes: int = 32 * _GiB
    max_member_bytes: int = 2 * _GiB
    max_parsed_bytes: int = 64 * _MiB
    max_path_length: int = 1024
    max_path_depth: int = 32
    max_meta_bytes: int = 1 * _MiB
    max_nodes: int = 2_000
    max_sparse_segments: int = 65_536


class Member:
    """One regular file of the bundle. Read it only while it is the reader's current member."""

    __slots__ = ("path", "size", "_open_chunks", "_cap", "_parse_cap")

    def __init__(self, path: str, size: int, open_chunks, cap: int,  # noqa: ANN001
                 parse_cap: int = ReaderLimits.max_parsed_bytes) -> None:
        self.path = path              # relative to the top directory, '/'-separated
        self.size = size              # size as the archive declares it
        self._open_chunks = open_chunks
        self._cap = cap
        self._parse_cap = parse_cap

    def chunks(self, chunk_size: int = 8 * _MiB) -> Iterator[bytes]:
        """Yield the member's bytes in chunks, at most ``max_member_bytes`` in all."""
        return self._open_chunks(chunk_size, self._cap)

    def read(self, limit: int | None = None) -> bytes:
        """The member's bytes, at most ``limit`` (default ``max_parsed_bytes``)."""
        cap = min(self._parse_cap if limit is None else limit, self._cap)
        out = bytearray()
        for chunk in self._open_chunks(min(cap, 8 * _MiB) or 1, cap):
            out += chunk
        return bytes(out)

    def __repr__(self) -> str:
        return f"Member({self.path!r}, size={self.size})"


class BundleReader:
    """A single-pass iterable of `Member`s; `problems` fills in while iterating."""

    def __init__(self, path: Path, kind: str, limits: ReaderLimits, *, plain: bool = False) -> None:
        self.path = path
        self.kind = kind              # "tar.gz" | "tar" | "dir"
        self.limits = limits
        # Not a bundle (open_tree): members keep their full names, node directories are not counted.
        self.plain = plain
        self.problems: list[Problem] = []
        self.truncated = False        # the archive ended early (a finding, not an error)
        self.limit_reached = False
        # Node directories read, in the order first seen (empty ones included: a node the
        # collector reached but could not read is still a node); at most `max_nodes`.
        self.node_names: list[str] = []
        self._nodes: set[str] = set()
        self._nodes_left_out: set[str] = set()
        self._node_members_left_out = 0
        self._used = False
        # `verify` sets this to read the bytes of a tar member refused for its name alone (an
        # escaping, too long or duplicate path; never links or devices): called with a Member
        # named by its raw (cleaned) name, read at once, capped like any member. The name is
        # never used as a path. The analyzer leaves it None and skips such members' data.
        self.on_refused_data: Callable[[Member], None] | None = None

    def __iter__(self) -> Iterator[Member]:
        if self._used:
            raise RuntimeError("a BundleReader can be iterated once")
        self._used = True
        if self.kind == "dir":
            return self._iter_dir()
        return self._iter_tar()

    def __enter__(self) -> "BundleReader":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    # -- shared checks ------------------------------------------------------------------------
    def _problem(self, kind: str, message: str, path: str | None = None) -> None:
        self.problems.append(Problem(kind=kind, message=message, path=path, node=node_of(path)))
        if kind == "truncated":
            self.truncated = True
        elif kind == "limit":
            self.limit_reached = True

    def _admit_node(self, rel: str, is_member: bool) -> bool:
        """False when `rel` lies in a node directory past `max_nodes` (then it is skipped)."""
        if self.plain or not rel.startswith("nodes/"):
            return True
        parts = rel.split("/", 2)
        name = parts[1]
        if not name or name in self._nodes or (is_member and len(parts) < 3):
            return True     # `nodes/<file>` is no node directory
        if len(self._nodes) < self.limits.max_nodes:
            self._nodes.add(name)
            self.node_names.append(name)
            return True
        if len(self._nodes_left_out) < 10 * self.limits.max_members:   # a count, kept bounded
            self._nodes_left_out.add(name)
        self._node_members_left_out += is_member
        return False

    def _report_nodes_left_out(self) -> None:
        if not self._nodes_left_out:
            return
        members = f" ({self._node_members_left_out:,} members)" if self._node_members_left_out else ""
        self._problem("limit", f"read the first {self.limits.max_nodes:,} node directories; "
                      f"{len(self._nodes_left_out):,} more{members} left out (cap: nodes per bundle)")

    def _check_path(self, rel: str) -> str | None:
        """Why `rel` (already top-dir-stripped) is refused, or None when it is fine."""
        if len(rel) > self.limits.max_path_length:
            return f"path longer than {self.limits.max_path_length} characters"
        if rel.count("/") + 1 > self.limits.max_path_depth:
            return f"path deeper than {self.limits.max_path_depth} levels"
        if "\0" in rel:
            return "NUL in path"
        return None

    # -- tarballs -----------------------------------------------------------------------------
    def _iter_tar(self) -> Iterator[Member]:
        limits = self.limits
        raw = open(self.path, "rb")
        src = _Source(raw, gzip=self.kind == "tar.gz", max_out=limits.max_total_bytes + 64 * _MiB)
        damage: str | None = None
        try:
            try:
                info_cls = type("_LimitedTarInfo", (_SafeTarInfo,), {"k8s_max_meta": limits.max_meta_bytes,
                                                                     "k8s_max_segments": limits.max_sparse_segments})
                tar = tarfile.open(fileobj=src, mode="r|", bufsize=_TAR_BUFSIZE, tarinfo=info_cls)
            except tarfile.ReadError as exc:
                raise UserError(f"{self.path}: not a readable bundle ({_stream_damage(src) or exc})") from None
            if not hasattr(tar, "k8s_header_error"):
                tar.k8s_header_error = None
            try:
                yield from self._walk_tar(tar, src)
            except (tarfile.ReadError, tarfile.StreamError) as exc:
                damage = f"the archive is damaged after {src.real_out} bytes ({exc})"
            self._report_nodes_left_out()
            if tar.k8s_header_error is not None:
                damage = f"the tar archive is damaged after {src.real_out} bytes ({tar.k8s_header_error})"
            elif src.ended and not src.capped and src.real_out < tar.offset + _BLOCK:
                # tarfile stopped at a zero block that was our padding: no real end marker.
                damage = f"the tar archive ends early after {src.real_out} bytes"
        finally:
            raw.close()
        damage = _stream_damage(src) or damage
        if damage:
            if not src.started:
                raise UserError(f"{self.path}: not a readable bundle ({damage})")
            self._problem("truncated", damage + "; members after that point are missing")
        if src.capped:
            self._problem("limit", f"stopped after {limits.max_total_bytes} uncompressed bytes (max_total_bytes)")

    def _walk_tar(self, tar: tarfile.TarFile, src: "_Source") -> Iterator[Member]:
        limits = self.limits
        top: str | None = None
        seen: set[str] = set()
        count = 0
        declared = 0
        while tar.k8s_header_error is None:   # past a damaged header, tarfile would read on from anywhere
            info = tar.next()
            tar.members.clear()  # tarfile keeps every TarInfo in stream mode; we do not need them
            if info is None:
                break
            src.started = True
            name = clean_member_name(info.name)
            if name is None:
                shown = escape_name(info.name)
                self._problem("rejected", f"refused member with an absolute or escaping path {shown!r}", shown[:200])
                self._offer_refused(tar, info, src, shown)
                continue
            name = escape_name(name)
            if top is None and self.plain:
                top = ""
            if top is None:
                first = name.split("/", 1)[0]
                # A tar made from inside a bundle (`tar czf b.tgz -C bundle .`) has no top directory.
                top = first if ("/" in name or info.isdir()) and first not in ROOT_ENTRIES else ""
            if top:
                if name == top:
                    continue
                if not name.startswith(top + "/"):
                    self._problem("rejected", f"refused member outside the top directory {top!r}", name[:200])
                    self._offer_refused(tar, info, src, name)
                    continue
                rel = name[len(top) + 1 :]
            else:
                rel = name
            if not self._admit_node(rel, not info.isdir()):
                continue
            if info.isdir():
                continue
            if info.issym() or info.islnk():
                self._problem("rejected", f"refused {'symlink' if info.issym() else 'hardlink'} "
                              f"(target {escape_name(info.linkname[:200])!r})", rel[:200])
                continue
            if not info.isreg():
                self._problem("rejected", f"refused special member (tar type {info.type!r})", rel[:200])
                continue
            stored = info.size          # bytes of data in the archive (a sparse member: its segments)
            if info.sparse is not None:
                why = _sparse_error(info, tar.offset - info.offset_data, limits.max_sparse_segments)
                if why:
                    self._problem("rejected", f"refused sparse member: {why}", rel[:200])
                    continue
                stored = sum(size for _, size in info.sparse)
            why = self._check_path(rel)
            if why:
                self._problem("rejected", f"refused member: {why}", rel[:200])
                self._offer_refused(tar, info, src, rel)
                continue
            if rel in seen:
                self._problem("rejected", DUPLICATE_MESSAGE, rel)
                self._offer_refused(tar, info, src, rel)
                continue
            count += 1
            if count > limits.max_members:
                self._problem("limit", f"stopped after {limits.max_members} members (max_members)")
                return
            declared += stored
            if declared > limits.max_total_bytes:
                self._problem("limit", f"stopped at {rel}: members declare more than {limits.max_total_bytes} "
                              "bytes in all (max_total_bytes)", rel)
                return
            seen.add(rel)
            data_info = info
            if info.sparse is not None:
                # Holes are not data: the stored segments are read one after the other, as text.
                data_info = copy.copy(info)
                data_info.sparse, data_info.size = None, stored
                segments = sum(1 for _, size in info.sparse if size)
                self._problem("limit", f"sparse member: read its {segments:,} data segment(s), {stored:,} bytes;"
                              f" {info.size - stored:,} bytes of holes left out "
                              "(cap: sparse members are read as their data only)", rel)
            cap = stored
            if stored > limits.max_member_bytes:
                self._problem("limit", f"read only the first {limits.max_member_bytes} of {stored} bytes "
                              "(max_member_bytes)", rel)
                cap = limits.max_member_bytes
            src.pad_until = info.offset_data + stored + 2 * _BLOCK
            yield Member(rel, info.size, _TarChunks(self, tar, data_info, src, rel), cap, limits.max_parsed_bytes)

    def _offer_refused(self, tar: tarfile.TarFile, info: tarfile.TarInfo, src: "_Source", name: str) -> None:
        """Hand a name-refused regular member's bytes to `on_refused_data` (verify) while it is
        the current member of the stream; links, devices and sparse members have none to give."""
        if self.on_refused_data is None or not info.isreg() or info.sparse is not None:
            return
        if info.size < 0:
            return
        src.pad_until = info.offset_data + info.size + 2 * _BLOCK
        cap = min(info.size, self.limits.max_member_bytes)
        self.on_refused_data(Member(name, info.size, _TarChunks(self, tar, info, src, name[:200]), cap,
                                    self.limits.max_parsed_bytes))

    # -- directories --------------------------------------------------------------------------
    def _iter_dir(self) -> Iterator[Member]:
        root = self.path
        count = 0
        total = 0
        paths: list[tuple[str, os.stat_result, str]] = []
        self._walk_dir(root, "", paths, 0)
        self._report_nodes_left_out()
        # manifest.json first: it is available up front in a directory, unlike in a tarball.
        paths.sort(key=lambda p: (p[0] != MANIFEST_NAME or self.plain, p[0]))
        for rel, st, real in paths:
            count += 1
            if count > self.limits.max_members:
                self._problem("limit", f"stopped after {self.limits.max_members} members (max_members)")
                return
            total += st.st_size
            if total > self.limits.max_total_bytes:
                self._problem("limit", f"stopped at {rel}: more than {self.limits.max_total_bytes} bytes in all "
                              "(max_total_bytes)", rel)
                return
            cap = st.st_size
            if cap > self.limits.max_member_bytes:
                self._problem("limit", f"read only the first {self.limits.max_member_bytes} of {st.st_size} "
                              "bytes (max_member_bytes)", rel)
                cap = self.limits.max_member_bytes
            yield Member(rel, st.st_size, _DirChunks(self, Path(real), rel), cap, self.limits.max_parsed_bytes)

    def _walk_dir(self, folder: Path, prefix: str, out: list, depth: int) -> None:  # noqa: ANN001
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            self._problem("rejected", f"cannot list directory: {exc.strerror}", prefix or ".")
            return
        for entry in entries:
            rel = f"{prefix}{escape_name(entry.name)}"   # entry.path stays the real one
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                self._problem("rejected", f"cannot stat: {exc.strerror}", rel)
                continue
            if stat.S_ISLNK(st.st_mode):
                self._problem("rejected", f"refused symlink (target {_readlink(entry.path)!r})", rel)
            elif stat.S_ISDIR(st.st_mode):
                if not self._admit_node(rel, False):
                    continue
                if depth + 1 >= self.limits.max_path_depth:
                    self._problem("rejected", f"refused directory deeper than {self.limits.max_path_depth} levels",
                                  rel[:200])
                    continue
                self._walk_dir(Path(entry.path), rel + "/", out, depth + 1)
            elif stat.S_ISREG(st.st_mode):
                why = self._check_path(rel)
                if why:
                    self._problem("rejected", f"refused member: {why}", rel[:200])
                else:
                    out.append((rel, st, entry.path))
            else:
                self._problem("rejected", "refused special file (device, FIFO or socket)", rel)


def open_bundle(path: str | os.PathLike[str], limits: ReaderLimits | None = None) -> BundleReader:
    """Check that `path` looks like a bundle and return a reader; raise UserError if not."""
    limits = limits or ReaderLimits()
    p = Path(path)
    st = _stat(p)
    if stat.S_ISDIR(st.st_mode):
        foreign = _foreign_reader(p, limits)
        if foreign is not None:
            return foreign
        return BundleReader(_bundle_dir(p), "dir", limits)
    if not stat.S_ISREG(st.st_mode):
        raise UserError(f"{p}: not a regular file or directory")
    return BundleReader(p, _archive_kind(p, st), limits)


def open_tree(path: str | os.PathLike[str], limits: ReaderLimits | None = None, *,
              plain: bool = True) -> BundleReader:
    """Any archive (.tar.gz, .tar) or directory, read with a bundle's caps and refusals.

    plain=True: members keep their full names (no top directory is stripped, node directories
    are not counted), for inputs that are not bundles. plain=False: a bundle directory read as
    one (`find_bundle_dir`), other tools' folders not synthesized (`verify` reads their files).
    UserError when `path` is missing or neither a directory nor a readable archive."""
    limits = limits or ReaderLimits()
    p = Path(path)
    st = _stat(p)
    if stat.S_ISDIR(st.st_mode):
        return BundleReader(p if plain else find_bundle_dir(p) or p, "dir", limits, plain=plain)
    if not stat.S_ISREG(st.st_mode):
        raise UserError(f"{p}: not a regular file or directory")
    return BundleReader(p, _archive_kind(p, st), limits, plain=plain)


def find_bundle_dir(p: Path) -> Path | None:
    """The directory holding manifest.json: `p` itself or its only subdirectory (not a link)."""
    if (p / MANIFEST_NAME).is_file():
        return p
    try:
        children = [c for c in p.iterdir() if c.is_dir() and not c.is_symlink()]
    except OSError as exc:
        raise UserError(f"{p}: cannot list directory ({exc.strerror})") from None
    if len(children) == 1 and (children[0] / MANIFEST_NAME).is_file():
        return children[0]
    return None


def _stat(p: Path) -> os.stat_result:
    try:
        return p.stat()
    except FileNotFoundError:
        raise UserError(f"{p}: no such file or directory") from None
    except OSError as exc:
        raise UserError(f"{p}: cannot read ({exc.strerror})") from None


def _archive_kind(p: Path, st: os.stat_result) -> str:
    """"tar.gz" or "tar" from the file's first bytes; UserError for anything else."""
    if st.st_size == 0:
        raise UserError(f"{p}: empty file, not a bundle")
    try:
        with open(p, "rb") as fh:
            head = fh.read(64 * 1024)
    except OSError as exc:
        raise UserError(f"{p}: cannot read ({exc.strerror})") from None
    if head.startswith(_GZIP_MAGIC):
        try:
            inner = zlib.decompressobj(31).decompress(head, _BLOCK)
        except zlib.error as exc:
            raise UserError(f"{p}: corrupt gzip data ({exc})") from None
        if len(inner) >= _BLOCK and not _looks_tar(inner):
            raise UserError(f"{p}: gzip file that does not hold a tar archive, not a bundle")
        return "tar.gz"
    if _looks_tar(head):
        return "tar"
    raise UserError(f"{p}: not a bundle (expected a .tar.gz, a .tar or a directory)")


# -- helpers ----------------------------------------------------------------------------------
# Openers of other tools' output folders (a Microsoft collectlogs.ps1 folder), registered by
# their owner (analyzer/foreign/ converts with the analyzer's parsers, so this package cannot
# import it): an opener returns a reader for a folder it recognises, else None.
ForeignOpener = Callable[[Path, ReaderLimits], "BundleReader | None"]
_FOREIGN_OPENERS: list[ForeignOpener] = []


def register_foreign(opener: ForeignOpener) -> None:
    """Let `open_bundle` read another tool's folders through `opener` (once per opener)."""
    if opener not in _FOREIGN_OPENERS:
        _FOREIGN_OPENERS.append(opener)


def _foreign_reader(p: Path, limits: ReaderLimits) -> BundleReader | None:
    for opener in _FOREIGN_OPENERS:
        reader = opener(p, limits)
        if reader is not None:
            return reader
    return None


def _looks_tar(block: bytes) -> bool:
    if len(block) < _BLOCK:
        return False
    try:
        tarfile.TarInfo.frombuf(block[:_BLOCK], "utf-8", "surrogateescape")
    except tarfile.HeaderError:
        return False
    return True


def _bundle_dir(p: Path) -> Path:
    found = find_bundle_dir(p)
    if found is None:
        raise UserError(f"{p}: directory without {MANIFEST_NAME}, not an extracted bundle")
    return found


def _stream_damage(src: "_Source") -> str | None:
    if src.corrupt:
        return f"the gzip stream is corrupt after {src.real_out} uncompressed bytes ({src.corrupt})"
    if src.gzip_incomplete:
        return f"the gzip stream ends early after {src.real_out} uncompressed bytes"
    return None


def escape_name(name: str) -> str:
    """A member name as valid text: bytes that are not UTF-8 (tarfile and os.scandir keep them
    as surrogate escapes, which JSON, polars and the terminal refuse) become `\\xNN`, so that
    `n\\xff1` names the directory `n<0xff>1` in the report. Valid names come back unchanged."""
    if name.isascii():
        return name
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        pass
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:      # a surrogate that no byte stands for
        return name.encode("utf-8", "backslashreplace").decode("ascii")
    return raw.decode("utf-8", "backslashreplace")


def _sparse_error(info: tarfile.TarInfo, room: int, max_segments: int) -> str | None:
    """Why a sparse member's map cannot be trusted, or None. `room` is the data the archive
    holds for it; the segments must be in order, inside the file and fit in that room."""
    segments = info.sparse or []
    if len(segments) > max_segments:
        return f"{len(segments):,} data segments (max_sparse_segments {max_segments:,})"
    end = total = 0
    for offset, size in segments:
        if size == 0 and offset >= 0:
            continue            # empty entries: unused slots of old GNU headers, 1.0's end marker
        if offset < end or size < 0:
            return "segments out of order or overlapping"
        end = offset + size
        total += size
    if end > info.size:
        return f"a segment ends at {end:,}, past the file's size {info.size:,}"
    if total > room:
        return f"the map names {total:,} bytes of data but the member holds {room:,}"
    return None


def _readlink(path: str) -> str:
    try:
        return os.readlink(path)[:200]
    except OSError:
        return "?"


class _SafeTarInfo(tarfile.TarInfo):
    """tarfile's header parsing, refusing huge metadata headers and absurd values, and
    remembering why a stream ended (tarfile otherwise ends silently at a damaged header).

    Values tarfile takes as they come are checked here: a negative size (a PAX `size=-9...`
    would send the stream backwards), numbers that do not parse (tarfile lets the ValueError
    out), and sparse maps, whose reading is bounded by `max_sparse_segments`."""

    k8s_max_meta = 1 * _MiB         # replaced per reader by ReaderLimits.max_meta_bytes
    k8s_max_segments = 65_536       # and by ReaderLimits.max_sparse_segments

    @classmethod
    def fromtarfile(cls, tf: tarfile.TarFile) -> tarfile.TarInfo:  # type: ignore[override]
        try:
            try:
                info = super().fromtarfile(tf)
            except (ValueError, IndexError, OverflowError) as exc:
                raise tarfile.InvalidHeaderError(f"unreadable header value ({exc})") from None
            if info.size < 0:
                raise tarfile.InvalidHeaderError(f"negative member size {info.size}")
            return info
        except tarfile.EOFHeaderError:
            raise
        except (tarfile.EmptyHeaderError, tarfile.TruncatedHeaderError, tarfile.InvalidHeaderError) as exc:
            if tf.offset and getattr(tf, "k8s_header_error", None) is None:   # the first damage is the cause
                tf.k8s_header_error = str(exc) or type(exc).__name__
            raise

    def _proc_member(self, tf: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in _META_TYPES and self.size > self.k8s_max_meta:
            raise tarfile.InvalidHeaderError(f"metadata header of {self.size} bytes (max_meta_bytes)")
        return super()._proc_member(tf)

    def _proc_gnusparse_10(self, next: tarfile.TarInfo, pax_headers: dict, tf: tarfile.TarFile) -> None:  # noqa: A002
        """GNU sparse 1.0: the map (a count, then offset and size per segment, one decimal
        number a line) opens the member's data. Read block by block, at most what a map of
        `k8s_max_segments` segments takes, so that a hostile count cannot make us read on."""
        budget = (2 * self.k8s_max_segments + 1) * 21 + _BLOCK
        buf = tf.fileobj.read(_BLOCK)
        got = len(buf)
        want: int | None = None
        numbers: list[int] = []
        while want is None or len(numbers) < want:
            cut = buf.find(b"\n")
            if cut == -1:
                more = tf.fileobj.read(_BLOCK) if got < budget else b""
                if not more:
                    raise tarfile.InvalidHeaderError("sparse map too long or cut short")
                buf += more
                got += len(more)
                continue
            field, buf = buf[:cut], buf[cut + 1 :]
            if not field.isdigit() or len(field) > 20:
                raise tarfile.InvalidHeaderError("sparse map holds something else than numbers")
            if want is None:
                if int(field) > self.k8s_max_segments:
                    raise tarfile.InvalidHeaderError(f"sparse map of {int(field)} segments (max_sparse_segments)")
                want = 2 * int(field)
            else:
                numbers.append(int(field))
        next.offset_data = tf.fileobj.tell()
        next.sparse = list(zip(numbers[::2], numbers[1::2]))

    def _proc_sparse(self, tf: tarfile.TarFile) -> tarfile.TarInfo:
        """Old GNU sparse ('S'): up to 4 segments in the header, 21 more per extension block
        while the block says more follow. Bounded like the 1.0 map; a short block is damage."""
        segments, extended, real_size = self._sparse_structs
        del self._sparse_structs
        while extended:
            if len(segments) > self.k8s_max_segments:
                raise tarfile.InvalidHeaderError(f"sparse map of more than {self.k8s_max_segments} segments "
                                                 "(max_sparse_segments)")
            block = tf.fileobj.read(_BLOCK)
            if len(block) < _BLOCK:
                raise tarfile.InvalidHeaderError("sparse header cut short")
            for pos in range(0, 21 * 24, 24):
                try:
                    offset, size = tarfile.nti(block[pos : pos + 12]), tarfile.nti(block[pos + 12 : pos + 24])
                except (ValueError, tarfile.HeaderError):
                    break
                if offset and size:
                    segments.append((offset, size))
            extended = bool(block[504])
        self.sparse = segments
        self.offset_data = tf.fileobj.tell()
        tf.offset = self.offset_data + self._block(self.size)   # the stored size, before the real one
        self.size = real_size
        return self


class _TarChunks:
    """Chunked, capped reading of the current tar member, keeping what a truncated stream had."""

    def __init__(self, reader: BundleReader, tar: tarfile.TarFile, info: tarfile.TarInfo,
                 src: "_Source", rel: str) -> None:
        self._reader, self._tar, self._info, self._src, self._rel = reader, tar, info, src, rel

    def __call__(self, chunk_size: int, cap: int) -> Iterator[bytes]:
        info, src = self._info, self._src
        fh = self._tar.extractfile(info)
        if fh is None:
            return
        pos = 0
        while pos < cap:
            try:
                chunk = fh.read(min(chunk_size, cap - pos))
            except (tarfile.ReadError, OSError, EOFError) as exc:  # damaged data
                self._reader._problem("truncated", f"member data unreadable after {pos} bytes ({exc})", self._rel)
                return
            if not chunk:
                return
            if src.ended:
                # Bytes past the real end of the stream are zero padding (see _Source).
                real = src.real_out - (info.offset_data + pos)
                if real < len(chunk):
                    if real > 0:
                        yield chunk[:real]
                    self._reader._problem("truncated", f"member cut short after {max(pos + real, pos)} "
                                          f"of {info.size} bytes", self._rel)
                    return
            pos += len(chunk)
            yield chunk


class _DirChunks:
    def __init__(self, reader: BundleReader, path: Path, rel: str) -> None:
        self._reader, self._path, self._rel = reader, path, rel

    def __call__(self, chunk_size: int, cap: int) -> Iterator[bytes]:
        try:
            # O_NOFOLLOW: the file may have been swapped for a symlink since the walk.
            fd = os.open(self._path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        except OSError as exc:
            self._reader._problem("rejected", f"cannot open: {exc.strerror}", self._rel)
            return
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                self._reader._problem("rejected", "refused special file", self._rel)
                return
            pos = 0
            while pos < cap:
                chunk = fh.read(min(chunk_size, cap - pos))
                if not chunk:
                    return
                pos += len(chunk)
                yield chunk


class _Source:
    """The raw file as the decompressed tar stream, for tarfile in stream mode.

    Counts the real bytes produced and stops at `max_out` (decompression bombs). When the data
    ends before tarfile has what it asks for (truncated gzip or tar), it serves zeros up to the
    end of the current member, so that tarfile hands over the member's real bytes instead of
    raising and dropping its buffer; `_TarChunks` trims the padding off again.
    """

    def __init__(self, raw: BinaryIO, *, gzip: bool, max_out: int) -> None:
        self._raw = raw
        self._gzip = gzip
        self._d = _inflate.decompressobj(31) if gzip else None
        self._pending = b""          # compressed input not yet consumed
        self._max_out = max_out
        self.real_out = 0
        self.started = False
        self.ended = False           # no more real bytes
        self.gzip_incomplete = False
        self.corrupt: str | None = None
        self.capped = False
        self.pad_until = 0
        self._served = 0             # real + padding bytes handed out

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = 1 << 20
        data = b"" if self.ended else self._read_real(n)
        if len(data) < n and self.ended:
            limit = max(self.pad_until, self.real_out + 2 * _BLOCK)
            data += bytes(min(n - len(data), max(0, limit - self._served - len(data))))
        self._served += len(data)
        return data

    def _read_real(self, n: int) -> bytes:
        out: list[bytes] = []
        got = 0
        while got < n:
            room = min(n - got, self._max_out - self.real_out)
            if room <= 0:
                self.capped = True
                self.ended = True
                break
            piece = self._next_piece(room)
            if piece is None:
                self.ended = True
                break
            if piece:
                out.append(piece)
                got += len(piece)
                self.real_out += len(piece)
        return b"".join(out)

    def _next_piece(self, room: int) -> bytes | None:
        """Up to `room` bytes; b"" when more input is needed; None at the end of the data."""
        if self._pending:
            piece, self._pending = self._pending[:room], self._pending[room:]
            return piece
        if self._d is None:
            piece = self._raw.read(min(room, _RAW_CHUNK))
            return piece or None
        d = self._d
        if d.unconsumed_tail:
            src = d.unconsumed_tail
        elif d.eof:
            src = d.unused_data or self._raw.read(_RAW_CHUNK)
            if not src.startswith(_GZIP_MAGIC):
                return None                        # clean end (trailing garbage is ignored)
            self._d = d = _inflate.decompressobj(31)   # concatenated gzip members are one stream
        else:
            src = self._raw.read(_RAW_CHUNK)
            if not src:
                # The file ended inside the gzip stream: keep whatever the decompressor holds.
                self.gzip_incomplete = True
                self._pending = d.flush()
                self._d = _Exhausted()
                return b""
        try:
            return d.decompress(src, room)
        except _INFLATE_ERRORS as exc:
            self.corrupt = str(exc)
            return None


class _Exhausted:
    """Stand-in decompressor after a truncated gzip stream was flushed."""

    unconsumed_tail = b""
    unused_data = b""
    eof = True
