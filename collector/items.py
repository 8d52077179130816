"""Item declarations: what to gather, never how (the engine and transports do that).

Catalogue modules build lists of these; they are frozen so a catalogue cannot be changed by a
run. See docs/collector.md for the table of item types and where each is stored.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar

from k8s_bundle.bundle.specs import Spec

if TYPE_CHECKING:
    from k8s_bundle.collector.context import Context

# The rotated syslog a silent unit's journal fallback reads (Debian's syslog.1, RHEL's dated
# messages-YYYYMMDD: the newest not compressed), stored under logs/ like the other log files.
ROTATED_SYSLOG = ("/var/log/syslog.1", "/var/log/messages-*")


@dataclass(frozen=True)
class Item:
    id: str
    area: str
    cap: int | None = field(default=None, kw_only=True)        # bytes; None: the run's default
    timeout: float | None = field(default=None, kw_only=True)  # seconds; None: the run's default
    # The artifact(s) it stores (k8s_bundle/bundle/specs.py): one spec, or a tuple for a glob
    # whose files are several artifacts (kubelet-service: the unit, its drop-ins, the
    # defaults file). A member outside them fails here, when the catalogue is built.
    spec: Spec | tuple[Spec, ...] | None = field(default=None, kw_only=True, compare=False, repr=False)
    kind: ClassVar[str] = "item"

    def __post_init__(self) -> None:
        if self.specs:
            stray = [m for m in self.members() if not any(s.covers(m) for s in self.specs)]
            if stray:
                names = ", ".join(s.name for s in self.specs)
                raise ValueError(f"item {self.id} stores {stray}, outside its spec(s) {names}")

    @property
    def specs(self) -> tuple[Spec, ...]:
        if self.spec is None:
            return ()
        return (self.spec,) if isinstance(self.spec, Spec) else tuple(self.spec)

    def members(self) -> tuple[str, ...]:
        """The member paths (globs where the name varies) this item stores, relative to
        nodes/<node>/ (cluster items: to the top directory). The runner stores exactly these;
        tests/bundle/test_specs.py checks each against the table of specs."""
        return ()


@dataclass(frozen=True)
class FileItem(Item):
    path: str = ""                 # absolute path on the node
    dest: str = "files"            # "files" (configs) or "logs" (log files)
    tail: bool = False             # keep the newest part when capping (logs)
    kind: ClassVar[str] = "file"

    @property
    def member(self) -> str:
        return f"{self.dest}{self.path}"      # files/etc/hosts, logs/var/log/syslog

    def members(self) -> tuple[str, ...]:
        return (self.member,)


@dataclass(frozen=True)
class GlobItem(Item):
    patterns: tuple[str, ...] = ()
    dest: str = "files"
    tail: bool = False
    per_file_cap: int | None = None   # cap for each file (the run's cap still applies)
    total_cap: int | None = None      # stop adding files past this many bytes (newest first)
    max_files: int = 500
    exclude: tuple[str, ...] = ()     # fnmatch patterns on the absolute path
    kind: ClassVar[str] = "glob"

    def members(self) -> tuple[str, ...]:
        return tuple(f"{self.dest}{p}" for p in self.patterns)


@dataclass(frozen=True)
class CommandItem(Item):
    argv: tuple[str, ...] = ()        # "{root}" is replaced by the collection root
    ext: str = "txt"
    live: bool = True                 # only meaningful on the running node
    needs_root: bool = False          # a failure while not root is reported as needing root
    fallbacks: tuple[tuple[str, ...], ...] = ()  # tried in order when the binary is missing
    transform: Callable[[bytes], bytes] | None = None  # applied to the capped output (before redaction)
    tail: bool = False
    ok_exit_codes: tuple[int, ...] = (0,)
    kind: ClassVar[str] = "command"

    @property
    def source(self) -> str:
        return " ".join(self.argv)

    @property
    def member(self) -> str:
        return f"commands/{self.id}.{self.ext}"

    def members(self) -> tuple[str, ...]:
        return (self.member,)


def command(spec: Spec, area: str, **kw: Any) -> CommandItem:
    """The command item that writes `spec`: its id and extension are the spec's
    (commands/<id>.<ext>), so the stored path is the table's."""
    return CommandItem(spec.command_id, area, ext=spec.ext, spec=spec, **kw)


@dataclass(frozen=True)
class JournalItem(Item):
    unit: str | None = None           # systemd unit without ".service"; None with kernel=True
    kernel: bool = False
    kind: ClassVar[str] = "journal"

    @property
    def member(self) -> str:
        return "logs/kernel.log" if self.kernel else f"logs/journal/{self.unit}.log"

    def members(self) -> tuple[str, ...]:
        # A silent unit's fallback may also store the newest rotated syslog under its id.
        return (self.member,) if self.kernel else (self.member, *(f"logs{p}" for p in ROTATED_SYSLOG))


class _OnePath:
    """An item stored at one `path` below nodes/<node>/: its spec's path unless given."""

    path: str
    spec: Any

    def __post_init__(self) -> None:
        if isinstance(self.spec, Spec) and not self.path:
            object.__setattr__(self, "path", self.spec.path)   # the table's path
        super().__post_init__()

    def members(self) -> tuple[str, ...]:
        return (self.path,)


@dataclass(frozen=True)
class PowerShellItem(_OnePath, Item):
    script: str = ""
    path: str = ""                    # below nodes/<node>/, e.g. "windows/hns-networks.json"
    kind: ClassVar[str] = "powershell"


@dataclass(frozen=True)
class DerivedItem(_OnePath, Item):
    path: str = ""                    # below nodes/<node>/
    func: Callable[["Context"], Any] | None = None   # -> bytes, str, or a JSON value
    live: bool = False
    late: bool = False                # runs after every other item (may read ctx.shared)
    source: str = ""                  # what it is computed from, for the manifest
    kind: ClassVar[str] = "derived"


@dataclass(frozen=True)
class ApiItem(Item):
    resource: str = ""                # kubectl resource name ("nodes", "pods", ...)
    namespace: str | None = None      # None: all namespaces where the resource is namespaced
    name: str | None = None           # one object (e.g. the kubeadm-config configmap)
    transform: Callable[[bytes], bytes] | None = None
    kind: ClassVar[str] = "api"

    @property
    def member(self) -> str:
        return f"cluster/{self.id}.json"      # below the top directory: one per bundle

    def members(self) -> tuple[str, ...]:
        return (self.member,)
