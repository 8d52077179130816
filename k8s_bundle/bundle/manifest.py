"""manifest.json as typed records: one way to build it, one way to write it, one way to read it.

docs/bundle-format.md ("manifest.json") describes the fields. Producers (the collector's
runner and fan-out, `redact`, the analyzer's fixtures and foreign readers, samples/) build a
`Manifest` of `NodeEntry`s and `ItemRecord`s and hand it to `BundleWriter.finish`, which writes
`Manifest.to_dict()`. The key order of that dict is the order of the JSON file, fixed here
once (the samples are rebuilt byte-identical from it).

Reading: a bundle is hostile input. `check_manifest(doc)` brings a parsed manifest.json to the
types the document gives (a field of the wrong JSON type dropped, an entry that cannot be used
left out), with one note per kind of correction and one per cap reached; the analyzer keeps
that dict as `Evidence.manifest` and turns the notes into problems. `Manifest.from_dict(doc)`
runs the same check and returns typed records, for readers that want them.

Fields this module does not know (a newer minor version, `redacted_again`, an item's
`fallback`) are kept in each record's `extra` and written back after the known ones, so a
manifest read and written again keeps them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from k8s_bundle.bundle.layout import FORMAT_VERSION

TOOL_NAME = "k8s-bundle"


@dataclass
class ItemRecord:
    """One record of `items`: what happened to one declared item (or one file of a glob)."""

    node: str | None
    area: str
    id: str
    path: str | None = None           # the member written, None when nothing was stored
    kind: str = "file"                # file | command | journal | powershell | api | glob | derived
    source: str | None = None         # the command line or file path read
    status: str = "ok"                # ok | failed | timeout | skipped | truncated | not_found | ...
    exit_code: int | None = None
    duration_ms: int | None = None
    bytes: int | None = 0             # of the content as stored (after redaction)
    sha256: str | None = None
    redactions: int = 0
    error: str | None = None
    needs_root: bool = False
    extra: dict[str, Any] = field(default_factory=dict)   # `fallback`, and fields of newer tools

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node, "area": self.area, "id": self.id, "path": self.path, "kind": self.kind,
                "source": self.source, "status": self.status, "exit_code": self.exit_code,
                "duration_ms": self.duration_ms, "bytes": self.bytes, "sha256": self.sha256,
                "redactions": self.redactions, "error": self.error, "needs_root": self.needs_root,
                **self.extra}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "ItemRecord":
        """A record from an item already brought to its types by check_manifest (or written by
        us); a missing field takes its default."""
        known = {"node": None, "area": "", "id": "", **_known(cls, doc)}   # hostile input may lack them
        return cls(**known, extra=_unknown(cls, doc))


@dataclass
class NodeEntry:
    """One entry of `nodes`: a node directory of the bundle and what is known of the node."""

    name: str
    os: str | None = None
    transport: str | None = None
    timezone: str | None = None
    utc_offset_seconds: int | None = None
    # A remote host cut short (collector/fanout.py). Written only when False: absent means complete.
    complete: bool = True
    incomplete_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "os": self.os, "transport": self.transport,
                               "timezone": self.timezone, "utc_offset_seconds": self.utc_offset_seconds}
        if not self.complete:
            out["complete"] = False
            out["incomplete_reason"] = self.incomplete_reason
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "NodeEntry":
        known = _known(cls, doc)
        if known.get("complete") is None:
            known.pop("complete", None)
        return cls(**known, extra=_unknown(cls, doc))


@dataclass
class FailedHost:
    """One entry of `failed_hosts`: a remote host that was not collected whole."""

    host: str
    transport: str | None = None
    state: str | None = None          # failed | timed_out | interrupted | not_started
    node: str | None = None           # its node directory when it got that far
    error: str | None = None
    partial: bool = False             # whether any of its members were stored

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "transport": self.transport, "state": self.state, "node": self.node,
                "error": self.error, "partial": self.partial}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "FailedHost":
        return cls(**_known(cls, doc))


@dataclass
class Manifest:
    """The whole manifest.json.

    `tool` is `{"name", "version"}` (a foreign reader adds `read_by`). `collection` says how the
    bundle was made; its keys depend on the producer (docs/bundle-format.md): `argv`, `since`,
    `root`, `user`, `is_root` always from k8s-bundle, plus `live`, `timeout_s`,
    `max_file_size`, `only`, `skip` from `collect`. `failed_hosts` is written only when set
    (remote runs that lost a host)."""

    created_at: str | None
    finished_at: str | None
    collection: dict[str, Any]
    nodes: list[NodeEntry] = field(default_factory=list)
    items: list[ItemRecord] = field(default_factory=list)
    partial_reason: str | None = None
    partial: bool | None = None       # None: derived from partial_reason
    tool: dict[str, Any] = field(default_factory=lambda: tool_entry())
    failed_hosts: list[FailedHost] | None = None
    format_version: str = FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format_version": self.format_version,
            "tool": self.tool,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "partial": self.partial if self.partial is not None else self.partial_reason is not None,
            "partial_reason": self.partial_reason,
            "collection": self.collection,
            "nodes": [n.to_dict() for n in self.nodes],
            "items": [i.to_dict() for i in self.items],
        }
        if self.failed_hosts:
            out["failed_hosts"] = [h.to_dict() for h in self.failed_hosts]
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> tuple["Manifest", list[str], list[str]]:
        """(the manifest, notes on wrong types dropped, notes on caps reached) from a parsed
        manifest.json, tolerant of hostile and old input as check_manifest is."""
        clean, notes, limits = check_manifest(doc)
        version = clean.get("format_version")
        hosts = clean.get("failed_hosts")
        manifest = cls(
            created_at=clean.get("created_at"), finished_at=clean.get("finished_at"),
            collection=clean.get("collection", {}),
            nodes=[NodeEntry.from_dict(n) for n in clean.get("nodes", [])],
            items=[ItemRecord.from_dict(i) for i in clean.get("items", [])],
            partial_reason=clean.get("partial_reason"), partial=clean.get("partial", False),
            tool=clean.get("tool", {}),
            failed_hosts=[FailedHost.from_dict(h) for h in hosts] if hosts is not None else None,
            format_version=str(version) if version is not None else FORMAT_VERSION,
            extra={k: v for k, v in clean.items() if k not in _TOP},
        )
        return manifest, notes, limits


def tool_entry(version: str | None = None) -> dict[str, Any]:
    """`tool` of a manifest k8s-bundle writes: its name and version."""
    if version is None:
        from k8s_bundle import __version__

        version = __version__
    return {"name": TOOL_NAME, "version": version}


def _known(cls: type, doc: dict[str, Any]) -> dict[str, Any]:
    names = cls.__dataclass_fields__.keys() - {"extra"}   # type: ignore[attr-defined]
    return {k: v for k, v in doc.items() if k in names}


def _unknown(cls: type, doc: dict[str, Any]) -> dict[str, Any]:
    names = cls.__dataclass_fields__.keys()   # type: ignore[attr-defined]
    return {k: v for k, v in doc.items() if k not in names}


# -- reading hostile input ---------------------------------------------------------------------
# The engine, the blind spots, the renderers and the evidence loader read the manifest with
# `.get()` chains (`manifest["tool"]["name"]`, `for n in manifest["nodes"]`). Instead of
# guarding every reader, the manifest is checked once as it is loaded: each correction is one
# note naming manifest.json, the field and how many entries it touched. Readers then see only
# the types docs/bundle-format.md gives.

_TEXT = (str, type(None))
_SCALAR = (str, int, float, bool, type(None))
# top-level fields: the JSON types they may have
_TOP = {
    "format_version": (str, int, float), "created_at": (str,), "finished_at": (str,), "partial": (bool,),
    "partial_reason": _TEXT, "tool": (dict,), "collection": (dict,), "nodes": (list,), "items": (list,),
    "failed_hosts": (list,),
}
# null is "not known" (the collector and the collectlogs reader write it), never a wrong type
_NODE = {"os": (str, type(None)), "timezone": (str, type(None)), "utc_offset_seconds": (int, type(None)),
         "transport": (str, type(None)), "complete": (bool,), "incomplete_reason": (str, type(None))}
# failed_hosts entries (collector/fanout.py): text fields, and whether it stored anything
_HOST_TEXT = ("host", "transport", "state", "node", "error")
# One entry per remote host of the run; a collection of 10,000 hosts is far past any real one.
MAX_FAILED_HOSTS = 10_000
MAX_HOST_TEXT = 1_000     # an error line is about 100-300 characters
# Item fields readers show or compare as text, and those that are numbers.
_ITEM_TEXT = ("id", "node", "status", "path", "kind", "source", "area", "error", "sha256")
_ITEM_NUMBER = ("exit_code", "bytes", "duration_ms", "redactions")
# The collector writes about 60-150 items per node (one per command, file and log).
MAX_ITEMS_PER_NODE = 2_000


def check_manifest(doc: dict[str, Any]) -> tuple[dict[str, Any], list[str], list[str]]:
    """(the manifest with wrong-typed fields dropped, one message per kind of correction,
    one message per cap reached)."""
    notes: list[str] = []
    limits: list[str] = []
    out: dict[str, Any] = {}
    for key, value in doc.items():
        want = _TOP.get(key)
        if want is not None and not _is(value, want):
            notes.append(f"manifest.json: {key} is {_kind(value)}, not {' or '.join(_kind_name(t) for t in want)}; ignored")
            continue
        out[key] = value
    if "tool" in out:
        out["tool"] = {k: v for k, v in out["tool"].items() if isinstance(v, _SCALAR)}
    if "nodes" in out:
        out["nodes"] = _nodes(out["nodes"], notes)
    if "items" in out:
        out["items"] = _items(out["items"], notes, limits)
    if "failed_hosts" in out:
        out["failed_hosts"] = _failed_hosts(out["failed_hosts"], notes, limits)
    return out, notes, limits


def _nodes(nodes: list[Any], notes: list[str]) -> list[dict[str, Any]]:
    kept: list[dict[str, Any]] = []
    dropped = fixed = 0
    for n in nodes:
        if not isinstance(n, dict) or not isinstance(n.get("name"), str) or not n["name"]:
            dropped += 1
            continue
        clean = {k: v for k, v in n.items() if k not in _NODE or _is(v, _NODE[k])}
        fixed += len(clean) != len(n)
        kept.append(clean)
    if dropped:
        notes.append(f"manifest.json: {dropped} of {len(nodes)} nodes entries are not an object with a "
                     f"text name; left out")
    if fixed:
        notes.append(f"manifest.json: {fixed} nodes entries have fields of the wrong type (os, timezone, "
                     f"utc_offset_seconds, transport, complete, incomplete_reason); those fields ignored")
    return kept


def _failed_hosts(hosts: list[Any], notes: list[str], limits: list[str]) -> list[dict[str, Any]]:
    """Each entry as {host, transport, state, node, partial, error}: a text field of another
    JSON type becomes its JSON text (the report still shows what the bundle said), `partial`
    that is no true/false is dropped; an entry that is no object, or has no text host, is left
    out. At most MAX_FAILED_HOSTS are kept."""
    kept: list[dict[str, Any]] = []
    dropped = fixed = 0
    for h in hosts[:MAX_FAILED_HOSTS]:
        if not isinstance(h, dict) or not isinstance(h.get("host"), str) or not h["host"]:
            dropped += 1
            continue
        clean: dict[str, Any] = {}
        for k in _HOST_TEXT:
            v = h.get(k)
            clean[k] = v[:MAX_HOST_TEXT] if isinstance(v, str) else v if v is None else _text(v)
        if isinstance(h.get("partial"), bool):
            clean["partial"] = h["partial"]
        fixed += any(k in h and not isinstance(h[k], _TEXT) for k in _HOST_TEXT) or \
            ("partial" in h and not isinstance(h["partial"], bool))
        kept.append(clean)
    if dropped:
        notes.append(f"manifest.json: {dropped} of {len(hosts)} failed_hosts entries are not an object with a "
                     f"text host; left out")
    if fixed:
        notes.append(f"manifest.json: {fixed} failed_hosts entries have fields of the wrong type (host, "
                     f"transport, state, node, error: shown as text; partial: ignored)")
    if len(hosts) > MAX_FAILED_HOSTS:
        limits.append(f"manifest.json: {len(hosts) - MAX_FAILED_HOSTS:,} failed_hosts entries left out past "
                      f"{MAX_FAILED_HOSTS:,} (max_failed_hosts)")
    return kept


def _items(items: list[Any], notes: list[str], limits: list[str]) -> list[dict[str, Any]]:
    """Items keep their place; a field that should be text and is not becomes its JSON text,
    so that the report still shows what the bundle said; a number field that is no number is
    dropped (None). At most
    MAX_ITEMS_PER_NODE items per node are kept (node facts and rules read them all)."""
    kept: list[dict[str, Any]] = []
    dropped = fixed = 0
    per_node: dict[str, int] = {}
    over: dict[str, int] = {}
    for item in items:
        if not isinstance(item, dict):
            dropped += 1
            continue
        node = str(item.get("node"))
        per_node[node] = per_node.get(node, 0) + 1
        if per_node[node] > MAX_ITEMS_PER_NODE:
            over[node] = over.get(node, 0) + 1
            continue
        clean: dict[str, Any] = {}
        changed = False
        for k, v in item.items():
            if k in _ITEM_TEXT and not isinstance(v, _TEXT):
                clean[k] = _text(v)
            elif k in _ITEM_NUMBER and (isinstance(v, bool) or not isinstance(v, (int, float, type(None)))):
                clean[k] = None
            else:
                clean[k] = v      # other fields (fallback: {from, ...}) as written
                continue
            changed = True
        fixed += changed
        kept.append(clean)
    if dropped:
        notes.append(f"manifest.json: {dropped} of {len(items)} items are not objects; left out")
    if over:
        worst = max(over, key=lambda n: over[n])
        limits.append(f"manifest.json: {sum(over.values()):,} items left out on {len(over)} node(s) past "
                      f"{MAX_ITEMS_PER_NODE:,} per node (max_items_per_node; node {worst}: "
                      f"{per_node[worst]:,} items)")
    if fixed:
        notes.append(f"manifest.json: {fixed} items have text or number fields of another JSON type; "
                     f"shown as text (numbers: ignored)")
    return kept


def _text(value: Any) -> str:
    import orjson

    try:
        return orjson.dumps(value).decode()[:1000]
    except TypeError:
        return str(value)[:1000]


def _is(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in types:
        return False          # JSON true is no number here
    return isinstance(value, types)


def _kind(value: Any) -> str:
    return _kind_name(type(value))


def _kind_name(t: type) -> str:
    return {str: "text", int: "a number", float: "a number", bool: "true/false", dict: "an object",
            list: "a list", type(None): "null"}.get(t, t.__name__)
