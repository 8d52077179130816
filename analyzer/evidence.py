"""load_evidence: one streaming pass over a bundle -> facts, the log index and problems.

Every member is routed as it streams by: `nodes/<n>/logs/**` to the log index, members a
registered parser claims (analyzer/parsers) to their parsers, `cluster/*.json` to the cluster
parsers, manifest.json to the bundle facts. manifest.json is the last member of a tarball, so
everything that depends on it (node items, certificate days left, log years and zones) is
finished after the pass. A bundle with parts missing still loads; what is missing or broken is
recorded as a Problem, which the engine reports as a finding.
"""
from __future__ import annotations

import os
import queue
import threading
from collections import defaultdict
from typing import Any, Iterator

import orjson

from k8s_bundle.bundle.layout import FORMAT_VERSION, MANIFEST_NAME
from k8s_bundle.bundle.manifest import check_manifest
import k8s_bundle.analyzer.foreign  # noqa: F401  (registers other tools' folders with the reader)
from k8s_bundle.analyzer.decode import decode_text
from k8s_bundle.analyzer.logindex import LogIndexBuilder
from k8s_bundle.analyzer.model import Evidence
from k8s_bundle.bundle.problems import Problem
from k8s_bundle.analyzer.parsers import FinalizeContext, ParserSpec, combine, registry, set_fact
from k8s_bundle.bundle.reader import BundleReader, ReaderLimits, open_bundle
from k8s_bundle.analyzer.reference_time import format_utc, parse_rfc3339, reference_time
from k8s_bundle.errors import EXIT_BAD_INPUT, UserError

LOG_CHUNK_BYTES = 8 * 1024 * 1024
_ITEM_FIELDS = ("status", "exit_code", "error", "path", "kind", "source", "area", "duration_ms", "bytes")

# (priority, path, value) per fact, with the merge mode of the parsers feeding it
_Results = dict[str, tuple[str, list[tuple[int, str, Any]]]]


def load_evidence(path: str, limits: ReaderLimits | None = None, keep: Any = None) -> Evidence:
    """Read the bundle at `path` (tarball or directory) into Evidence; UserError if unusable.

    keep: an analyzer.logkeep.KeepPolicy (the rules' literals): the log index then holds only
    the rows a rule or a view reads, and `log_summary` counts every line; None keeps every row."""
    reader = open_bundle(path, limits)
    reg = registry()
    logs = LogIndexBuilder(keep=keep)
    problems: list[Problem] = []
    members: list[str] = []
    node_members: dict[str, list[str]] = defaultdict(list)
    node_results: dict[str, _Results] = defaultdict(dict)
    cluster_results: _Results = {}
    manifest_raw: bytes | None = None
    redaction_raw: bytes | None = None

    try:
        for kind, rel, payload in _stream(reader, reg):
            members.append(rel)
            if kind == "manifest":
                manifest_raw = payload
            elif kind == "redaction":
                redaction_raw = payload
            elif kind == "log":
                node, inner = _split_node(rel)
                node_members[node].append(inner)
                logs.add_file(node, inner[5:], rel, payload)
            elif kind == "node":
                node, inner = _split_node(rel)
                node_members[node].append(inner)
                if payload is not None:
                    _run_parsers(reg.match("node", inner), payload, inner, rel, node, node_results[node], problems)
            elif kind == "cluster" and payload is not None:
                _run_parsers(reg.match("cluster", rel), payload, rel, rel, None, cluster_results, problems)
    except BaseException:
        logs.close()   # its worker threads: a bad bundle must not leave them running
        raise

    manifest = _load_manifest(manifest_raw, problems)
    created_at = parse_rfc3339(manifest.get("created_at"))
    bundle = {
        "format_version": manifest.get("format_version"),
        "tool_version": (manifest.get("tool") or {}).get("version") if isinstance(manifest.get("tool"), dict) else None,
        "created_at": manifest.get("created_at"),
        "finished_at": manifest.get("finished_at"),
        "partial": bool(manifest.get("partial", False)),
        "partial_reason": manifest.get("partial_reason"),
        "truncated": reader.truncated,
        "limit_reached": reader.limit_reached,
        "kind": reader.kind,
        "redaction": _redaction_summary(redaction_raw),
    }
    # "now" for certificate and clock checks: the collection time, else the time of analysis
    # (analyzer/reference_time.py); read by finalizers (days_left) and rules alike
    ref, ref_source, _ = reference_time(manifest)
    bundle["reference_time"], bundle["reference_time_source"] = format_utc(ref), ref_source

    manifest_nodes = {n["name"]: n for n in manifest.get("nodes", [])
                      if isinstance(n, dict) and isinstance(n.get("name"), str) and n["name"]}
    names = _node_set(reader, node_members, manifest_nodes, problems)
    bundle["node_names"] = names
    items_by_node = _items_by_node(manifest)

    nodes: dict[str, dict[str, Any]] = {}
    offsets: dict[str, int] = {}
    for name in names:
        facts: dict[str, Any] = {"name": name}
        mnode = manifest_nodes.get(name, {})
        for key in ("os", "timezone", "utc_offset_seconds", "transport"):
            if key in mnode:
                facts[key] = mnode[key]
        for fact, (merge, results) in sorted(node_results.get(name, {}).items()):
            set_fact(facts, fact, combine(merge, results))
        facts["name"] = name
        facts["items"] = items_by_node.get(name, {})
        ctx = FinalizeContext(node=name, manifest=manifest, bundle=bundle, members=node_members.get(name, []))
        for fin in reg.finalizers_for("node"):
            try:
                fin.func(facts, ctx)
            except Exception as exc:  # noqa: BLE001 - one broken finalizer must not stop the run
                problems.append(Problem("parse-error", f"could not derive facts ({fin.func.__name__}): {_oneline(exc)}",
                                        None, name))
        offset = mnode.get("utc_offset_seconds", facts.get("utc_offset_seconds"))
        offsets[name] = offset if isinstance(offset, int) and not isinstance(offset, bool) else 0
        nodes[name] = facts

    cluster: dict[str, Any] = {}
    for fact, (merge, results) in sorted(cluster_results.items()):
        set_fact(cluster, fact, combine(merge, results))
    cctx = FinalizeContext(node="", manifest=manifest, bundle=bundle, members=[m for m in members if m.startswith("cluster/")])
    for fin in reg.finalizers_for("cluster"):
        try:
            fin.func(cluster, cctx)
        except Exception as exc:  # noqa: BLE001
            problems.append(Problem("parse-error", f"could not derive cluster facts: {_oneline(exc)}"))

    log_index = logs.finish(created_at, offsets)
    from k8s_bundle.analyzer.logdedupe import drop_forwarded_copies  # journal lines rsyslog repeated: counted once
    log_index = drop_forwarded_copies(log_index, logs.summary.journal_keys if logs.summary else None)
    all_problems = reader.problems + problems + logs.problems
    return Evidence(source=os.fspath(path), manifest=manifest, bundle=bundle, nodes=nodes, cluster=cluster,
                    log_index=log_index, problems=all_problems, members=members, log_summary=logs.summary)


def _node_set(reader: BundleReader, node_members: dict[str, list[str]], manifest_nodes: dict[str, Any],
              problems: list[Problem]) -> list[str]:
    """The bundle's nodes: its node directories (the reader keeps at most `max_nodes`, empty
    ones included) and the nodes the manifest names without a directory (a node the collector
    could not reach), within the same cap: every node costs a fixed share of the analysis."""
    held = set(reader.node_names) | set(node_members)
    cap = reader.limits.max_nodes
    extra = [n for n in manifest_nodes if n not in held]
    room = max(cap - len(held), 0)
    if len(extra) > room:
        problems.append(Problem("limit", f"manifest.json names {len(extra):,} nodes the bundle holds no directory "
                                f"for; {room:,} kept, {len(extra) - room:,} left out (cap: nodes per bundle)", MANIFEST_NAME))
        extra = extra[:room]
    return sorted(held | set(extra))


def _split_node(rel: str) -> tuple[str, str]:
    _, node, inner = rel.split("/", 2)
    return node, inner


_END = object()


def _classify(rel: str, reg: Any) -> tuple[str, bool]:
    """(kind, whether the member's bytes are needed) for a member path."""
    if rel == MANIFEST_NAME:
        return "manifest", True
    if rel == "redaction.json":
        return "redaction", True
    parts = rel.split("/", 2)
    if parts[0] == "nodes" and len(parts) == 3:
        if parts[2].startswith("logs/"):
            return "log", True
        return "node", bool(reg.match("node", parts[2]))
    if parts[0] == "cluster":
        return "cluster", bool(reg.match("cluster", rel))
    return "other", False


def _stream(reader: Any, reg: Any) -> Iterator[tuple[str, str, Any]]:
    """(kind, path, payload) per member, read ahead by a producer thread.

    Decompression (zlib releases the GIL) then overlaps with parsing and the log index
    (polars releases it too), so both cores work. The queue is bounded: at most a few log
    chunks are in flight. A log's payload is an iterator over its chunks, which must be
    consumed before the next item is taken (the index does that)."""
    q: queue.Queue[Any] = queue.Queue(maxsize=3)
    stop = threading.Event()

    def put(item: Any) -> None:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def produce() -> None:
        try:
            for member in reader:
                if stop.is_set():
                    return
                kind, needed = _classify(member.path, reg)
                if kind == "log":
                    put((kind, member.path, None))
                    for chunk in member.chunks(LOG_CHUNK_BYTES):
                        put(chunk)
                    put(_END)
                else:
                    put((kind, member.path, member.read() if needed else None))
            put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            put(exc)

    thread = threading.Thread(target=produce, name="bundle-reader", daemon=True)
    thread.start()

    def get() -> Any:
        item = q.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def log_chunks() -> Iterator[bytes]:
        while (item := get()) is not _END:
            yield item

    try:
        while (item := get()) is not _END:
            kind, rel, payload = item
            if kind == "log":
                chunks = log_chunks()
                yield kind, rel, chunks
                for _ in chunks:   # whatever the consumer left unread
                    pass
            else:
                yield kind, rel, payload
    finally:
        stop.set()
        thread.join(timeout=5)


def _run_parsers(specs: list[ParserSpec], data: bytes, scope_path: str, member_path: str, node: str | None,
                 results: _Results, problems: list[Problem]) -> None:
    if len(data) >= ReaderLimits.max_parsed_bytes and specs:
        # Member.read() stopped at the cap: say so by name (a JSON document cut there also
        # fails to parse, and that error alone would not say why)
        problems.append(Problem("limit", f"{member_path}: only the first {len(data):,} bytes were handed to its "
                                "parser (max_parsed_bytes)", member_path, node))
    text = decode_text(data)
    stem = scope_path.rsplit("/", 1)[-1].split(".", 1)[0]
    for spec in specs:
        try:
            value, capped = spec.run_capped(text, scope_path)   # caps: parsers/__init__.py
        except Exception as exc:  # noqa: BLE001 - a parser failure is a finding, not a crash
            problems.append(Problem("parse-error", f"could not parse {member_path} ({spec.name}): {_oneline(exc)}",
                                    member_path, node))
            continue
        problems += [Problem(kind, f"{member_path}: {note}", member_path, node) for kind, note in capped]
        if value is None:
            continue     # "not mine" (e.g. a .conf that is no kubeconfig)
        try:
            pairs = spec.values(value, stem)
        except ValueError as exc:
            problems.append(Problem("parse-error", f"could not parse {member_path}: {exc}", member_path, node))
            continue
        for fact, part in pairs:
            entry = results.setdefault(fact, (spec.merge, []))
            entry[1].append((spec.priority, scope_path, part))


def _load_manifest(raw: bytes | None, problems: list[Problem]) -> dict[str, Any]:
    if raw is None:
        problems.append(Problem("format", "the bundle has no manifest.json: collection details, items and "
                                "time zones are unknown", MANIFEST_NAME))
        return {}
    try:
        doc = orjson.loads(decode_text(raw))
    except orjson.JSONDecodeError as exc:
        problems.append(Problem("parse-error", f"could not parse manifest.json: {_oneline(exc)}", MANIFEST_NAME))
        return {}
    if not isinstance(doc, dict):
        problems.append(Problem("parse-error", "manifest.json is not a JSON object", MANIFEST_NAME))
        return {}
    doc, notes, limits = check_manifest(doc)   # wrong JSON types dropped here, once, for every reader
    problems += [Problem("parse-error", note, MANIFEST_NAME) for note in notes]
    problems += [Problem("limit", note, MANIFEST_NAME) for note in limits]
    version = doc.get("format_version")
    if version is not None:
        major, _, minor = str(version).partition(".")
        ours_major, _, ours_minor = FORMAT_VERSION.partition(".")
        if major != ours_major:
            raise UserError(f"bundle format {version} is not supported: this analyzer reads "
                            f"{ours_major}.x bundles", EXIT_BAD_INPUT)
        if _int(minor) > _int(ours_minor):
            problems.append(Problem("format", f"bundle format {version} is newer than this analyzer's "
                                    f"{FORMAT_VERSION}: some evidence may be ignored", MANIFEST_NAME))
    return doc


def _items_by_node(manifest: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    items = manifest.get("items")
    if not isinstance(items, list):
        return {}
    for item in items:
        if isinstance(item, dict) and item.get("node") and item.get("id"):
            out[str(item["node"])][str(item["id"])] = {k: item.get(k) for k in _ITEM_FIELDS}
    return dict(out)


def _redaction_summary(raw: bytes | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        doc = orjson.loads(decode_text(raw))
    except orjson.JSONDecodeError:
        return None
    if not isinstance(doc, dict):
        return None
    return {"total": doc.get("total"), "by_rule": doc.get("by_rule"), "dropped": doc.get("dropped")}


def _int(text: str) -> int:
    return int(text) if text.isdigit() else 0


def _oneline(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
