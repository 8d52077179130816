"""Output files created safely: the one way `collect`, `redact` and `analyze` create files.

Why each rule:
- Nothing is written under its final name. Bytes go to a fresh hidden sibling,
  `.<name>.k8s-bundle-<pid>-<random>.part`, created with O_CREAT|O_EXCL|O_NOFOLLOW: a name that
  already exists (a link planted there included) is never opened, so nobody can redirect what
  we write. When complete it is renamed over the final name: os.replace replaces a link found
  there instead of writing through it.
- A writer holds an exclusive flock on its part while it lives. The kernel drops the lock when
  the process dies, SIGKILL included, so the next run writing into that directory removes the
  parts no live process holds (`remove_stale_parts`). The pid in the name says whose it was.
- Every OSError becomes a one-line UserError: exit 6 when the filesystem is full, 4 otherwise
  (missing directory, read-only filesystem, a directory at the file's name, no permission).
  Cleaning up after a failure never raises, so the first error is the one reported.
- `check_output` refuses, before any work, places no run could use: a missing directory (it is
  not created), a directory or a device/FIFO at a file's name, an unwritable directory, and
  /dev, /proc, /sys (renaming over /dev/stdout, a link, would replace it for the whole system).
- A directory output (`redact -o DIR`) is built the same way, as a hidden part directory that
  is renamed (or, into an existing directory, moved entry by entry) into place at the end, so a
  failure on the way leaves nothing of it behind.
"""
from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import stat
from pathlib import Path
from typing import Any, Iterable

from k8s_bundle.errors import EXIT_BAD_INPUT, EXIT_NO_SPACE, UserError, shown

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | getattr(os, "O_BINARY", 0)
# `.<name>.k8s-bundle-<pid>-<8 hex>.part`; the tag keeps other programs' `.part` files safe
# from our clean-up.
_PART_RE = re.compile(r"^\..*\.k8s-bundle-(\d+)-[0-9a-f]{8}\.part$", re.S)
# Bytes of the final name kept in a part's name: the part must stay under NAME_MAX (255).
_NAME_KEEP = 200
_NO_SPACE = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


def output_error(exc: OSError, target: Any) -> UserError:
    """The one-line error for a failed write of `target` (exit 6 when the disk is full)."""
    if exc.errno in _NO_SPACE:
        return UserError(f"no space left while writing {shown(target)}; the partial output was removed",
                         EXIT_NO_SPACE)
    return UserError(f"cannot write {shown(target)}: {exc.strerror or exc}", EXIT_BAD_INPUT)


def check_output(target: str | os.PathLike[str], *, force: bool, directory: bool = False,
                 exists_code: int = EXIT_BAD_INPUT, inputs: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """Refuse at once an output the run could never write (before minutes of collection).

    The directory the output goes into must exist (it is not created: a typo in -o should not
    grow a tree); a file output must not be a directory; an existing output needs `force`
    (`directory`: an existing directory is fine when empty)."""
    raw = os.fspath(target)
    if raw == "-":
        # `-o -` means standard output to most tools; only `analyze -o -` writes there (it
        # handles "-" before calling us). Anything else wrote a file named "-".
        raise UserError("cannot write to standard output (-o -) with this command; name a file "
                        "(./- for a file named -)", EXIT_BAD_INPUT)
    if not directory and raw.endswith(("/", os.sep)):
        # Path() drops a trailing slash: `-o out/` (meant as a directory) used to write a file
        # named `out`. A file output never ends in a separator.
        raise UserError(f"cannot write {shown(raw)}: a file name is needed, not a directory "
                        f"(a name ending in {os.sep})", EXIT_BAD_INPUT)
    try:
        for source in inputs:
            # `analyze b.tgz -o b.tgz` replaced the bundle with its own report (analyze
            # overwrites reports without --force, so the check cannot be left to `force`).
            if os.path.exists(target) and os.path.exists(source) and os.path.samefile(target, source):
                raise UserError(f"cannot write {shown(raw)}: it is the input {shown(source)}; choose "
                                f"another name with -o", EXIT_BAD_INPUT)
        return _check_output(Path(target), force=force, directory=directory, exists_code=exists_code)
    except OSError as exc:          # EACCES on a parent (not root), ELOOP, ...: still one line
        raise output_error(exc, target) from None


def _check_output(path: Path, *, force: bool, directory: bool, exists_code: int) -> Path:
    parent = path.parent
    named = parent if str(parent) != "." else Path.cwd()   # "directory ." says little
    if not parent.is_dir():
        why = "is not a directory" if os.path.lexists(parent) else "does not exist"
        raise UserError(f"cannot write {shown(path)}: directory {shown(named)} {why}", EXIT_BAD_INPUT)
    name_max = _name_max(parent)
    if len(os.fsencode(path.name)) > name_max:
        # found here, not after the work: the rename into place (or a map beside the output)
        # failed with ENAMETOOLONG once the bundle was already written
        raise UserError(f"cannot write {shown(path)}: its name is longer than the {name_max} bytes "
                        f"a file name may have here", EXIT_BAD_INPUT)
    if _system_directory(parent):
        # /dev/stdout is a link: renaming our file over it would replace the system's
        # /dev/stdout for every process (as root), whatever stdout is redirected to.
        raise UserError(f"cannot write {shown(path)}: not a place for an output file (standard "
                        f"output: analyze -o -)", EXIT_BAD_INPUT)
    if directory:
        if path.is_symlink():
            raise UserError(f"cannot write {shown(path)}: it is a link (not followed)", EXIT_BAD_INPUT)
        if os.path.lexists(path) and not path.is_dir():
            raise UserError(f"cannot write {shown(path)}: it exists and is not a directory", EXIT_BAD_INPUT)
        if path.is_dir() and not force:
            with os.scandir(path) as entries:
                if any(entries):
                    raise UserError(f"{shown(path)} exists; pass --force to overwrite it", exists_code)
    else:
        if path.is_dir() and not path.is_symlink():
            raise UserError(f"cannot write {shown(path)}: it is a directory", EXIT_BAD_INPUT)
        if path.exists() and not path.is_file():
            # A device, FIFO or socket (say /dev/stdout, a link): renaming our file over it
            # would replace the device node itself; writing into it is what links could abuse.
            raise UserError(f"cannot write {shown(path)}: not a regular file (a device, FIFO or "
                            f"socket); analyze writes to standard output with -o -", EXIT_BAD_INPUT)
        if os.path.lexists(path) and not force:
            raise UserError(f"{shown(path)} exists; pass --force to overwrite it", exists_code)
    if not os.access(parent, os.W_OK | os.X_OK):
        # access() reports a read-only mount (EROFS) even to root; a root write to a 0555
        # directory passes here and simply succeeds.
        raise UserError(f"cannot write {shown(path)}: directory {shown(named)} is not writable "
                        f"(read-only file system or no permission); choose another place with -o", EXIT_BAD_INPUT)
    return path


def _name_max(directory: Path) -> int:
    try:
        return int(os.pathconf(directory, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):    # Windows has no pathconf
        return 255


def _system_directory(parent: Path) -> bool:
    """/dev itself (not /dev/shm), /proc and /sys: device nodes and kernel views, not files."""
    try:
        real = parent.resolve()
    except OSError:
        return False
    return real == Path("/dev") or real.parts[:2] in (("/", "proc"), ("/", "sys"))


def create_new(path: str | os.PathLike[str], mode: int = 0o666) -> Any:
    """Open a file that must not exist yet (O_EXCL|O_NOFOLLOW) for binary writing."""
    return os.fdopen(os.open(path, _CREATE, mode), "wb")


class PartFile:
    """A file written under a fresh hidden name beside `target`; commit() renames it into place.

    Leaving a `with` block without commit() removes the part."""

    def __init__(self, target: str | os.PathLike[str], *, mode: int = 0o666) -> None:
        self.target = Path(target)
        self.file: Any = None
        self.path: Path | None = None
        remove_stale_parts(self.target.parent)
        try:
            self.path, fd = _new_part(self.target, lambda p: os.open(p, _CREATE, mode))
            self.file = os.fdopen(fd, "wb")
            _lock(self.file.fileno())
        except OSError as exc:
            self.discard()
            raise output_error(exc, self.target) from None
        except BaseException:       # Ctrl-C here: not even the empty part is left
            self.discard()
            raise

    def write(self, data: bytes) -> None:
        try:
            self.file.write(data)
        except OSError as exc:
            self.discard()
            raise output_error(exc, self.target) from None

    def commit(self) -> Path:
        """Flush to disk and rename over the target (a link there is replaced, not followed)."""
        assert self.path is not None and self.file is not None
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            if os.name == "nt":          # Windows renames no open file
                self.file.close()
            os.replace(self.path, self.target)
            self.file.close()            # POSIX: after the rename, so our lock covers the part to the end
        except OSError as exc:
            self.discard()
            raise output_error(exc, self.target) from None
        self.path = None
        _sync_dir(self.target.parent)
        return self.target

    def discard(self) -> None:
        """Close and remove the part; never raises (we are failing already)."""
        if self.file is not None:
            try:
                self.file.close()
            except OSError:
                pass
        if self.path is not None:
            try:
                os.unlink(self.path)
            except OSError:
                pass
            self.path = None

    def __enter__(self) -> "PartFile":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.discard()


def write_file(target: str | os.PathLike[str], data: bytes | Iterable[bytes], *, mode: int = 0o666) -> Path:
    """Write a whole file safely (part, fsync, rename)."""
    with PartFile(target, mode=mode) as part:
        for chunk in ([data] if isinstance(data, bytes) else data):
            part.write(chunk)
        return part.commit()


class PartDir:
    """A directory output built under a fresh hidden name beside `target`.

    commit() renames it to `target`, or moves its entries into `target` when that directory
    exists already (empty, or --force); the moves never follow a link found in `target`.
    Leaving a `with` block without commit() removes the part directory and all it holds."""

    def __init__(self, target: str | os.PathLike[str]) -> None:
        self.target = Path(target)
        self._fd: int | None = None
        self.path: Path | None = None
        remove_stale_parts(self.target.parent)
        try:
            self.path, _ = _new_part(self.target, lambda p: os.mkdir(p, 0o700))
            if os.name != "nt":
                self._fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW | _CLOEXEC)
                _lock(self._fd)
        except OSError as exc:
            self.discard()
            raise output_error(exc, self.target) from None
        except BaseException:
            self.discard()
            raise

    def commit(self) -> Path:
        assert self.path is not None
        try:
            # The part directory was private (0700) while it was written; the output gets the
            # mode an ordinary mkdir would give it.
            umask = os.umask(0o022)
            os.umask(umask)
            os.chmod(self.path, 0o777 & ~umask)
            if not os.path.lexists(self.target):
                os.rename(self.path, self.target)
            else:
                _move_into(self.path, self.target)
                shutil.rmtree(self.path)
        except OSError as exc:
            self.discard()
            raise output_error(exc, self.target) from None
        self.path = None
        self._release()
        _sync_dir(self.target.parent)
        return self.target

    def _release(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None

    def discard(self) -> None:
        """Remove the part directory; never raises."""
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            self.path = None
        self._release()

    def __enter__(self) -> "PartDir":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.discard()


def remove_stale_parts(directory: str | os.PathLike[str]) -> list[str]:
    """Remove the parts of dead runs in `directory` (ours only: the name tag, our uid); never
    raises. A part is stale when no process holds its lock and its pid is not running here
    (or is our own pid reused: a container often gives a rerun the same pid). Without flock
    (Windows) an open file cannot be deleted, which is the same test."""
    removed: list[str] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        m = _PART_RE.match(entry.name)
        if not m:
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
                continue
            pid = int(m.group(1))
            if pid == os.getpid() and os.name == "nt":
                continue       # our own live parts: without flock there is nothing to tell them by
            if pid != os.getpid() and _pid_alive(pid):
                continue
            if stat.S_ISREG(st.st_mode):
                if _remove_unlocked_file(entry.path, st):
                    removed.append(entry.name)
            elif stat.S_ISDIR(st.st_mode):
                if _remove_unlocked_dir(entry.path, st):
                    removed.append(entry.name)
        except (OSError, ValueError):
            continue
    return removed


# -- internals ----------------------------------------------------------------------------------
def _new_part(target: Path, make: Any) -> tuple[Path, Any]:
    """Create a fresh part name beside target with `make(path)`; retry on a name collision."""
    name = target.name.encode("utf-8", "surrogateescape")[:_NAME_KEEP].decode("utf-8", "ignore")
    for _ in range(16):
        path = target.parent / f".{name}.k8s-bundle-{os.getpid()}-{secrets.token_hex(4)}.part"
        try:
            return path, make(path)
        except FileExistsError:
            continue
    raise OSError(errno.EEXIST, "cannot find a free temporary name", str(target))


def _lock(fd: int) -> None:
    """Hold an exclusive lock for the life of the fd (released by the kernel when we die)."""
    try:
        import fcntl
    except ImportError:        # Windows: an open file cannot be deleted, which is enough
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        pass                   # a filesystem without flock: the pid test alone decides


def _unlocked(fd: int) -> bool:
    """True when nobody holds the lock (we take it); False when held or unknowable."""
    try:
        import fcntl
    except ImportError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        return True            # no flock here: the pid was dead, that decides
    return True


def _remove_unlocked_file(path: str, st: os.stat_result) -> bool:
    if os.name == "nt":
        os.unlink(path)        # refused while any process holds the file open
        return True
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | getattr(os, "O_NONBLOCK", 0))
    try:
        now = os.fstat(fd)
        if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) or not _unlocked(fd):
            return False
        os.unlink(path)
        return True
    finally:
        os.close(fd)


def _remove_unlocked_dir(path: str, st: os.stat_result) -> bool:
    if os.name == "nt":
        shutil.rmtree(path)
        return True
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW | _CLOEXEC)
    try:
        now = os.fstat(fd)
        if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) or not _unlocked(fd):
            return False
        shutil.rmtree(path)    # fd-based on Linux: links inside are removed, never followed
        return True
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":
        import psutil          # os.kill on Windows would terminate the process

        return psutil.pid_exists(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _move_into(src: Path, dst: Path) -> None:
    """Move the entries of our part directory into an existing output directory.

    Directory file descriptors opened with O_NOFOLLOW: a link planted in the output (say
    `nodes -> /etc`) stops the move with an error instead of sending files through it."""
    if os.name == "nt":
        _move_into_by_path(src, dst)
        return
    flags = os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW | _CLOEXEC
    src_fd = os.open(src, flags)
    try:
        dst_fd = os.open(dst, flags)
        try:
            _move_fds(src_fd, dst_fd)
        finally:
            os.close(dst_fd)
    finally:
        os.close(src_fd)


def _move_fds(src_fd: int, dst_fd: int) -> None:
    flags = os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW | _CLOEXEC
    for name in sorted(os.listdir(src_fd)):
        ours = os.stat(name, dir_fd=src_fd, follow_symlinks=False)
        try:
            theirs = os.stat(name, dir_fd=dst_fd, follow_symlinks=False)
        except FileNotFoundError:
            os.rename(name, name, src_dir_fd=src_fd, dst_dir_fd=dst_fd)   # a whole subtree at once
            continue
        if stat.S_ISDIR(ours.st_mode):
            if not stat.S_ISDIR(theirs.st_mode):
                raise OSError(errno.ENOTDIR, "exists in the output and is not a directory (links are not followed)", name)
            sub_src = os.open(name, flags, dir_fd=src_fd)
            try:
                sub_dst = os.open(name, flags, dir_fd=dst_fd)
                try:
                    _move_fds(sub_src, sub_dst)
                finally:
                    os.close(sub_dst)
            finally:
                os.close(sub_src)
        elif stat.S_ISDIR(theirs.st_mode):
            raise OSError(errno.EISDIR, "is a directory in the output", name)
        else:
            os.replace(name, name, src_dir_fd=src_fd, dst_dir_fd=dst_fd)   # replaces a link, never follows it


def _move_into_by_path(src: Path, dst: Path) -> None:
    for child in sorted(src.iterdir()):
        there = dst / child.name
        if not os.path.lexists(there):
            os.rename(child, there)
        elif child.is_dir() and there.is_dir() and not there.is_symlink():
            _move_into_by_path(child, there)
        elif child.is_dir() or there.is_dir():
            raise OSError(errno.EEXIST, "exists in the output with another type", str(there))
        else:
            os.replace(child, there)


def _sync_dir(directory: Path) -> None:
    """Make the rename durable (best effort: not every filesystem or OS allows it)."""
    if os.name == "nt":
        return
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


