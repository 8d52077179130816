"""`k8s-bundle diff BEFORE AFTER`: what changed between two bundles of the same nodes.

Each side is a bundle (analysed here with analysis.analyze_bundle) or a JSON report written by
`analyze --format json` (told apart by content: a regular file whose first byte is `{`). Both
become the same report document (render/json.report_document), so a saved report and a bundle
compare alike, and the comparison below reads documents only.

Findings are keyed by (rule_id, node): fixed (BEFORE only), new (AFTER only), still there
(both; worse when the severity rose or more lines matched, better when the severity fell).
Node facts compared: `profile` (the drift fields) and `settings` (flattened kubelet, runtime
configs and sysctls) of analyzer/profile.py, per node present on both sides; nodes on one
side only are listed. When each side has exactly one node and their names differ (a broken
node against a healthy one), those two nodes are compared with each other, and the document
says so.

Exit code (README): 0 nothing new or worse; 1 something new or worse, at worst a warning;
3 a new or worse critical finding; 4 unusable input.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, Callable

from k8s_bundle.analyzer.model import SEVERITIES, SEVERITY_RANK
from k8s_bundle.errors import EXIT_BAD_INPUT, EXIT_CRITICAL, EXIT_OK, EXIT_WARNINGS, UserError, shown

DIFF_SCHEMA_VERSION = "1.0"
# A JSON report is read whole; the 20-node bench report is about 10 MB.
MAX_REPORT_BYTES = 512 << 20
# Profile fields that change with the collection time alone (days left before a certificate
# expires): the certificate's expiry date itself (`cert_expiry`) is compared instead.
TIME_RELATIVE_FIELDS = ("cert_expiry_days",)
# Settings that are counters or names, not configuration (every sysctl is collected): they
# differ between any two collections and would bury the real changes.
VOLATILE_SETTINGS = ("sysctl.kernel.hostname", "sysctl.kernel.random.", "sysctl.kernel.ns_last_pid",
                     "sysctl.kernel.pty.nr", "sysctl.fs.file-nr", "sysctl.fs.inode-nr", "sysctl.fs.inode-state",
                     "sysctl.fs.dentry-state", "sysctl.fs.quota.", "sysctl.net.netfilter.nf_conntrack_count")


# -- the two inputs --------------------------------------------------------------------------
def is_json_report(path: str) -> bool:
    """A regular file whose first non-blank byte is `{` (a bundle is gzip or tar, never that)."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            return False
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError:
        return False
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def read_report(path: str) -> dict[str, Any]:
    """A JSON report of this tool's schema major version, or UserError (exit 4) saying why not."""
    import orjson

    from k8s_bundle.analyzer.render.json import REPORT_SCHEMA_VERSION
    from k8s_bundle.small_file import SmallFileError, read_small_file

    try:
        raw = read_small_file(path, MAX_REPORT_BYTES)
    except (OSError, SmallFileError) as exc:
        raise UserError(f"{shown(path)}: cannot read: {getattr(exc, 'strerror', None) or exc}", EXIT_BAD_INPUT) from None
    try:
        doc = orjson.loads(raw.lstrip(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError as exc:
        raise UserError(f"{shown(path)}: not a JSON report (broken or truncated JSON: {exc})", EXIT_BAD_INPUT) from None
    version = doc.get("schema_version") if isinstance(doc, dict) else None
    if isinstance(version, str) and doc.get("kind") == "multi":
        raise UserError(f"{shown(path)}: a report across several bundles; diff compares the report of one bundle "
                        f"(or the bundles themselves)", EXIT_BAD_INPUT)
    if not isinstance(version, str) or not isinstance(doc.get("findings"), list) or not isinstance(doc.get("nodes"), list):
        raise UserError(f"{shown(path)}: not a k8s-bundle JSON report (written by `analyze --format json`)",
                        EXIT_BAD_INPUT)
    if version.split(".")[0] != REPORT_SCHEMA_VERSION.split(".")[0]:
        raise UserError(f"{shown(path)}: a JSON report of schema {shown(version)}; this version reads schema "
                        f"{REPORT_SCHEMA_VERSION.split('.')[0]}.x (analyze the bundle again, or diff the bundles)",
                        EXIT_BAD_INPUT)
    _check_findings(path, doc["findings"])
    return doc


def _check_findings(path: str, findings: list[Any]) -> None:
    for n, f in enumerate(findings):
        if not (isinstance(f, dict) and isinstance(f.get("rule_id"), str) and f.get("severity") in SEVERITIES
                and (f.get("node") is None or isinstance(f.get("node"), str))):
            raise UserError(f"{shown(path)}: findings[{n}] is not a finding (rule_id, severity, node)", EXIT_BAD_INPUT)


def load_side(path: str, rules: Callable[[], list[Any]]) -> tuple[str, dict[str, Any]]:
    """("bundle" | "report", report document) of one input; `rules` loads the pack when needed."""
    if not os.path.exists(path):
        raise UserError(f"{shown(path)}: no such file or directory", EXIT_BAD_INPUT)
    if is_json_report(path):
        return "report", read_report(path)
    from k8s_bundle.analyzer.analysis import analyze_bundle
    from k8s_bundle.analyzer.render.json import report_document

    result = analyze_bundle(path, rules())
    return "bundle", report_document(result.evidence, result.findings, result.unexplained)


# -- the comparison --------------------------------------------------------------------------
def _node_names(doc: dict[str, Any]) -> list[str]:
    return [n["name"] for n in doc.get("nodes") or [] if isinstance(n, dict) and isinstance(n.get("name"), str)]


def _findings_by_key(doc: dict[str, Any], rename: dict[str, str]) -> dict[tuple[str, str | None], dict[str, Any]]:
    """(rule_id, node) -> the finding; two findings of one key (not produced by this tool, but
    a report may be edited) merge into the worse severity and the larger line count."""
    out: dict[tuple[str, str | None], dict[str, Any]] = {}
    for f in doc.get("findings") or []:
        node = rename.get(f["node"], f["node"]) if f.get("node") is not None else None
        key = (f["rule_id"], node)
        count = _count(f)
        seen = out.get(key)
        if seen is None:
            out[key] = {"finding": f, "severity": f["severity"], "log_count": count, "node": f["node"]}
        else:
            if SEVERITY_RANK[f["severity"]] < SEVERITY_RANK[seen["severity"]]:
                seen["severity"], seen["finding"] = f["severity"], f
            seen["log_count"] = max(seen["log_count"], count)
    return out


def _count(f: dict[str, Any]) -> int:
    value = (f.get("evidence") or {}).get("log_count") if isinstance(f.get("evidence"), dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _text(value: Any) -> dict[str, str]:
    """A bilingual text of a finding ({en, zh}), whatever the report held."""
    if isinstance(value, dict):
        return {k: str(v) for k, v in value.items() if k in ("en", "zh") and v is not None}
    return {"en": str(value or "")}


def _entry(key: tuple[str, str | None], before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    shown_side = after or before
    assert shown_side is not None
    f = shown_side["finding"]
    entry: dict[str, Any] = {
        # each side's own node name (a fixed finding of a paired node keeps BEFORE's name)
        "rule_id": key[0], "node": shown_side["node"],
        "severity": shown_side["severity"],
        "title": _text(f.get("title")), "message": _text(f.get("message") or f.get("title")),
        "before": {"severity": before["severity"], "log_count": before["log_count"]} if before else None,
        "after": {"severity": after["severity"], "log_count": after["log_count"]} if after else None,
        "trend": "same", "reasons": [],
    }
    if before and after and before["node"] != after["node"]:
        entry["node_before"] = before["node"]
    if before and after:
        rise = SEVERITY_RANK[before["severity"]] - SEVERITY_RANK[after["severity"]]
        if rise > 0:
            entry["reasons"].append("severity")
        if after["log_count"] > before["log_count"]:
            entry["reasons"].append("count")
        if entry["reasons"]:
            entry["trend"] = "worse"
        elif rise < 0:
            entry["trend"] = "better"
    return entry


def _order(entry: dict[str, Any]) -> tuple[int, str, str]:
    return SEVERITY_RANK[entry["severity"]], entry["rule_id"], entry["node"] or ""


def _fact_changes(before: Any, after: Any, skip: tuple[str, ...] = ()) -> list[dict[str, Any]] | None:
    """Added/removed/changed keys of two flat maps; None when a side lacks the map (a report
    written before it existed): not compared, rather than every key reported as added."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return None
    changes = []
    for key in sorted(set(before) | set(after)):
        if key.startswith(skip):
            continue
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        change = "added" if old is None else "removed" if new is None else "changed"
        changes.append({"key": key, "change": change, "before": old, "after": new})
    return changes


def _nodes_by_name(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["name"]: n for n in doc.get("nodes") or [] if isinstance(n, dict) and isinstance(n.get("name"), str)}


def compare(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The difference of two report documents: findings and nodes sections of the diff JSON."""
    names_before, names_after = _node_names(before), _node_names(after)
    rename: dict[str, str] = {}
    paired = None
    if len(names_before) == 1 and len(names_after) == 1 and names_before != names_after:
        rename = {names_before[0]: names_after[0]}
        paired = {"before": names_before[0], "after": names_after[0]}
    old = _findings_by_key(before, rename)
    new = _findings_by_key(after, {})
    fixed = sorted((_entry(k, old[k], None) for k in old.keys() - new.keys()), key=_order)
    added = sorted((_entry(k, None, new[k]) for k in new.keys() - old.keys()), key=_order)
    still = sorted((_entry(k, old[k], new[k]) for k in old.keys() & new.keys()), key=_order)

    nodes_b, nodes_a = _nodes_by_name(before), _nodes_by_name(after)
    pairs = [(paired["before"], paired["after"])] if paired else [(n, n) for n in names_before if n in nodes_a]
    changed = []
    for name_b, name_a in pairs:
        nb, na = nodes_b[name_b], nodes_a[name_a]
        profile = _fact_changes(nb.get("profile"), na.get("profile"), TIME_RELATIVE_FIELDS)
        settings = _fact_changes(nb.get("settings"), na.get("settings"), VOLATILE_SETTINGS)
        if profile or settings or profile is None or settings is None:
            changed.append({"node": name_a, "profile": profile, "settings": settings})
    paired_names = set(paired.values()) if paired else set()
    return {
        "findings": {"new": added, "fixed": fixed, "still": still},   # still: each with its trend
        "nodes": {
            "only_before": [n for n in names_before if n not in nodes_a and n not in paired_names],
            "only_after": [n for n in names_after if n not in nodes_b and n not in paired_names],
            "compared": [a for _, a in pairs],
            "paired": paired,
            "changed": changed,
        },
    }


def worse(findings: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The findings still there that got worse (severity rose or more lines matched)."""
    return [e for e in findings["still"] if e["trend"] == "worse"]


def exit_code_of(findings: dict[str, list[dict[str, Any]]]) -> int:
    """3 a new or worse critical finding; 1 anything else new or worse; 0 nothing new or worse."""
    grown = findings["new"] + worse(findings)
    if any(e["severity"] == "critical" for e in grown):
        return EXIT_CRITICAL
    return EXIT_WARNINGS if grown else EXIT_OK


def _side_info(path: str, kind: str, doc: dict[str, Any]) -> dict[str, Any]:
    bundle = doc.get("bundle") if isinstance(doc.get("bundle"), dict) else {}
    summary = doc.get("summary") if isinstance(doc.get("summary"), dict) else {}
    return {
        "source": path, "input": kind, "report_schema_version": doc.get("schema_version"),
        "created_at": bundle.get("created_at"), "nodes": _node_names(doc),
        "summary": {s: summary.get(s) for s in (*SEVERITIES, "total")},
    }


def diff_document(before_path: str, before_kind: str, before: dict[str, Any],
                  after_path: str, after_kind: str, after: dict[str, Any]) -> dict[str, Any]:
    """The diff JSON (docs/report-schema.md, "Diff document")."""
    from k8s_bundle import __version__
    from k8s_bundle.analyzer.render.common import now_utc

    result = compare(before, after)
    f = result["findings"]
    return {
        "diff_schema_version": DIFF_SCHEMA_VERSION,
        "kind": "diff",
        "tool": {"name": "k8s-bundle", "version": __version__},
        "generated_at": now_utc(),
        "before": _side_info(before_path, before_kind, before),
        "after": _side_info(after_path, after_kind, after),
        "summary": {"new": len(f["new"]), "worse": len(worse(f)), "fixed": len(f["fixed"]),
                    "still": len(f["still"]), "nodes_changed": len(result["nodes"]["changed"]),
                    "exit_code": exit_code_of(f)},
        **result,
    }


def default_diff_output(after: str, fmt: str) -> Path:
    """`<AFTER name>.diff.html|json|txt` beside AFTER (never the name of AFTER's own report)."""
    p = Path(after.rstrip("/") or after)
    name = p.name
    for suffix in (".tar.gz", ".tgz", ".tar", ".json"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return p.with_name(name + ".diff." + {"html": "html", "json": "json", "text": "txt"}[fmt])
