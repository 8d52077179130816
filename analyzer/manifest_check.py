"""manifest.json brought to the shape every reader of `Evidence.manifest` expects.

The engine, the blind spots, the renderers and the evidence loader read the manifest with
`.get()` chains (`manifest["tool"]["name"]`, `for n in manifest["nodes"]`). A bundle is
hostile input, so instead of guarding every reader, the manifest is checked once as it is
loaded: a field of the wrong JSON type is dropped (or, for an item's text fields, turned into
text), an entry that cannot be used is left out, and each correction is one problem naming
manifest.json, the field and how many entries it touched. Readers then see only the types
docs/bundle-format.md gives.
"""
from __future__ import annotations

from typing import Any

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
