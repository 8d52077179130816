"""One report across many bundles: `k8s-bundle analyze A.tgz B.tgz ...` and `analyze DIR/`.

Bundles are analysed one at a time (analysis.analyze_bundle) and each one's evidence is
dropped before the next is read: what stays is the bundle's rendered page (HTML) or report
document (JSON) or summary (text), its findings' triage in a compact form, and each node's
profile (analyzer/profile.py). Memory therefore grows with the reports, never with the logs.

Across bundles the report shows which nodes share which root cause (problems merged by their
triage key), every problem with its nodes, and the drift table: one row per node, the profile
fields as columns, values that differ from most nodes marked.

A node name that appears in two bundles (two clusters each with a `cp-1`) is labelled with
its bundle's name; node labels are unique within a report.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from k8s_bundle.analyzer.model import SEVERITIES, SEVERITY_RANK, Finding
from k8s_bundle.analyzer.profile import PROFILE_KEYS, node_profile
from k8s_bundle.errors import EXIT_BAD_INPUT, EXIT_CRITICAL, EXIT_OK, EXIT_WARNINGS, UserError, shown

BUNDLE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
MULTI_REPORT_STEM = "multi-report"

# Drift marks (the HTML legend explains each): a value other than the one most nodes have; no
# value held by most nodes (every value marked); the certificate that expires first / already
# expired; a clock further than CLOCK_OFFSET_LIMIT from its time source.
ODD, SPLIT, SOONEST, EXPIRED, CLOCK = "odd", "split", "soonest", "expired", "clock"
CLOCK_OFFSET_LIMIT = 1.0
# Fields that naturally differ per node: compared by their own test, not by majority.
NOT_BY_MAJORITY = ("primary_interface", "cert_expiry", "cert_expiry_days", "cert_expiry_path", "clock_offset_seconds")


# -- which inputs ------------------------------------------------------------------------------
def is_bundle_dir(path: Path) -> bool:
    """An extracted bundle (manifest.json at its top or one level down, as the reader opens
    it) or another tool's output folder the reader knows (collectlogs.ps1)."""
    from k8s_bundle.analyzer.foreign import collectlogs
    from k8s_bundle.bundle.reader import find_bundle_dir

    try:
        if find_bundle_dir(path) is not None:
            return True
    except UserError:      # a directory that cannot be listed is no bundle here
        return False
    return collectlogs.looks_like(path)


def bundles_in(directory: Path) -> list[Path]:
    """The bundles of a directory of bundles, by name: *.tgz, *.tar.gz, *.tar files and
    extracted bundle directories; anything else (our own report, notes) is not a bundle."""
    try:
        entries = sorted(directory.iterdir(), key=lambda p: p.name)
    except OSError as exc:
        raise UserError(f"{shown(directory)}: cannot list directory ({exc.strerror})", EXIT_BAD_INPUT) from None
    found = []
    for entry in entries:
        if entry.name.startswith("."):
            continue   # hidden files, our own .part files
        if entry.name.endswith(BUNDLE_SUFFIXES) and entry.is_file():
            found.append(entry)
        elif entry.is_dir() and not entry.is_symlink() and is_bundle_dir(entry):
            found.append(entry)
    return found


def expand_inputs(inputs: list[str]) -> list[str] | None:
    """The bundles of a multi-bundle run, or None when `inputs` is one bundle (today's
    single report: one file, or one directory that is itself a bundle)."""
    if len(inputs) == 1:
        p = Path(inputs[0])
        if not p.is_dir() or is_bundle_dir(p):
            return None
    out: list[str] = []
    seen: set[str] = set()
    for raw in inputs:
        p = Path(raw)
        # A missing input among several is analysed like any other and found unusable (a
        # line on stderr, a row in the report), as a corrupt one is.
        if p.is_dir() and not is_bundle_dir(p):
            inner = bundles_in(p)
            if not inner:
                raise UserError(f"{shown(raw)}: neither an extracted bundle (no manifest.json at its top or one "
                                f"level down) nor a directory of bundles (*.tgz, *.tar.gz, *.tar or extracted bundle "
                                f"directories)", EXIT_BAD_INPUT)
            candidates = [str(q) for q in inner]
        else:
            candidates = [raw]
        for c in candidates:
            key = os.path.realpath(c)
            if key not in seen:       # one bundle named twice (A.tgz and DIR/ holding it) once
                seen.add(key)
                out.append(c)
    return out


def default_multi_output(inputs: list[str], fmt: str) -> Path:
    """multi-report.<ext> inside DIR (`analyze DIR/`), else beside the first input."""
    ext = {"html": ".html", "json": ".json", "text": ".txt"}[fmt]
    first = Path(inputs[0].rstrip("/") or "/")
    folder = first if len(inputs) == 1 and first.is_dir() else first.parent
    return folder / (MULTI_REPORT_STEM + ext)


def bundle_name(path: str) -> str:
    name = Path(path.rstrip("/")).name or path
    for suffix in BUNDLE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


# -- one bundle at a time ----------------------------------------------------------------------
@dataclass
class BundleResult:
    page: int                   # 1-based: the bundle's page in the HTML report (#page=N)
    path: str
    name: str
    error: str | None = None    # unusable: the one-line reason; nothing else is set
    exit_code: int = EXIT_OK
    counts: dict[str, int] = field(default_factory=dict)
    nodes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)   # (node name, profile)
    problems: list[dict[str, Any]] = field(default_factory=list)            # compact triage entries
    html: str | None = None       # the bundle's page (analyzer/render/multi_html.py)
    document: dict[str, Any] | None = None   # its JSON report_document
    text: str | None = None       # its text report


def anchor(page: int, index: int) -> str:
    """The id of the index-th (0-based) finding of a bundle page (render/html.report_context)."""
    return f"{page_prefix(page)}f-{index + 1}"


def page_prefix(page: int) -> str:
    return f"p{page}-"


def analyze_one(page: int, path: str, rules: list[Any], fmt: str, lang: str) -> BundleResult:
    """Analyse one bundle and keep only what the multi report shows of it; raises UserError
    for an unusable bundle."""
    from k8s_bundle.analyzer.analysis import analyze_bundle, exit_code_for
    from k8s_bundle.analyzer.evaluate import node_names
    from k8s_bundle.analyzer.render.common import counts

    result = analyze_bundle(path, rules)
    evidence, findings = result.evidence, result.findings
    out = BundleResult(page=page, path=path, name=bundle_name(path), exit_code=exit_code_for(findings),
                       counts=counts(findings))
    out.nodes = [(n, node_profile((evidence.nodes or {}).get(n) or {})) for n in node_names(evidence)]
    out.problems = bundle_problems(findings, page)
    if fmt == "html":
        from k8s_bundle.analyzer.render.multi_html import render_bundle_page

        out.html = render_bundle_page(result, page, out.name, lang)
    elif fmt == "json":
        from k8s_bundle.analyzer.render.json import report_document

        out.document = report_document(evidence, findings, result.unexplained)
    else:
        from k8s_bundle.analyzer.render.text import render_text

        out.text = render_text(evidence, findings, lang=lang, report_path=None, color=False,
                               unexplained=result.unexplained)
    return out


def bundle_problems(findings: list[Finding], page: int) -> list[dict[str, Any]]:
    """The bundle's problems (analyzer/triage.py), each as a small dict with the anchor of its
    finding on each node: what the cross-bundle tables need, without the evidence."""
    from k8s_bundle.analyzer.triage import triage

    index = {id(f): i for i, f in enumerate(findings)}
    entries = []
    for p in triage(findings):
        entry = _entry(p.key, p.root, p.severity, p.lead.title, p.findings, [q.key for q in p.explains], index, page)
        entry["effective_severity"] = p.effective_severity   # the worst of it and what it explains
        entries.append(entry)
    return entries


def _entry(key: str, root: bool, severity: str, title: dict[str, str], findings: list[Finding],
           explains: list[str], index: dict[int, int], page: int) -> dict[str, Any]:
    nodes: dict[str, str] = {}     # node name ("" for the bundle itself) -> anchor of its finding
    for f in findings:
        for n in ([f.node] if f.node else []) + list(f.nodes) or [""]:
            nodes.setdefault(n, anchor(page, index[id(f)]))
    return {"key": key, "root": root, "severity": severity, "title": title, "nodes": nodes, "explains": explains}


def analyze_many(paths: list[str], rules: list[Any], fmt: str, lang: str,
                 on_unusable: Callable[[str, str], None]) -> list[BundleResult]:
    """Every bundle in turn; an unusable one (UserError) is recorded and reported through
    on_unusable(path, reason), and the run goes on."""
    results = []
    for page, path in enumerate(paths, 1):
        try:
            results.append(analyze_one(page, path, rules, fmt, lang))
        except UserError as exc:
            reason = str(exc)
            on_unusable(path, reason)
            results.append(BundleResult(page=page, path=path, name=bundle_name(path), error=reason))
    return results


def exit_code_of(results: list[BundleResult]) -> int:
    """The worst exit code among usable bundles (3 > 1 > 0); every bundle unusable: 4."""
    usable = [r for r in results if r.error is None]
    if not usable:
        return EXIT_BAD_INPUT
    codes = {r.exit_code for r in usable}
    for code in (EXIT_CRITICAL, EXIT_WARNINGS):
        if code in codes:
            return code
    return EXIT_OK


# -- across bundles ----------------------------------------------------------------------------
def node_labels(results: list[BundleResult]) -> dict[tuple[int, str], str]:
    """(page, node name) -> a label unique in the report: the name, or `name (bundle)` when
    another bundle has a node of that name, with ` #page` when even that repeats."""
    where: dict[str, list[int]] = {}
    for r in results:
        for name, _ in r.nodes:
            where.setdefault(name, []).append(r.page)
    names = {r.page: r.name for r in results}
    labels: dict[tuple[int, str], str] = {}
    for name, pages in where.items():
        for page in pages:
            if len(pages) == 1:
                labels[(page, name)] = name
            else:
                same_bundle_name = sum(names[p] == names[page] for p in pages) > 1
                labels[(page, name)] = f"{name} ({names[page]}" + (f" #{page})" if same_bundle_name else ")")
    for r in results:
        labels.setdefault((r.page, ""), r.name)   # a bundle-level finding: the bundle's name
    return labels


def label_of(labels: dict[tuple[int, str], str], page: int, node: str) -> str:
    """A node's label; a node a cluster finding names but the bundle has no directory for gets
    its bundle's name, as a repeated name does."""
    return labels.get((page, node)) or f"{node} ({labels.get((page, ''), page)})"


def merged_problems(results: list[BundleResult], labels: dict[tuple[int, str], str]) -> list[dict[str, Any]]:
    """Problems merged across bundles by key: each with every node it is on (label, page,
    anchor), whether it is a root cause anywhere, and (for roots) the symptoms it explains on
    those nodes. Ordered as triage orders one bundle's: roots first, by the worst severity they
    account for (their own or a symptom's), then by how many nodes share them, by how many
    problems they explain, by their own severity."""
    merged: dict[str, dict[str, Any]] = {}
    for r in results:
        for p in r.problems:
            m = merged.setdefault(p["key"], {"key": p["key"], "title": p["title"], "severity": p["severity"],
                                             "effective_severity": p["effective_severity"],
                                             "root": False, "nodes": [], "explains": []})
            for key in ("severity", "effective_severity"):
                if _rank(p[key]) < _rank(m[key]):
                    m[key] = p[key]
            m["root"] = m["root"] or p["root"]
            for node, link in p["nodes"].items():
                m["nodes"].append({"node": label_of(labels, r.page, node), "page": r.page, "anchor": link})
            for k in p["explains"]:
                if k not in m["explains"]:
                    m["explains"].append(k)
    for m in merged.values():
        m["explains"] = [k for k in m["explains"] if k in merged and k != m["key"]]
    return sorted(merged.values(), key=lambda m: (not m["root"], _rank(m["effective_severity"]), -len(m["nodes"]),
                                                  -len(m["explains"]), _rank(m["severity"]), m["key"]))


def _rank(severity: str) -> int:
    return SEVERITY_RANK.get(severity, 9)


def drift_table(results: list[BundleResult], labels: dict[tuple[int, str], str]) -> dict[str, Any]:
    """One row per node of the usable bundles: the profile and its marks; `fields`: the
    profile keys any node has a value for; `majority`: per OS, the value most of its nodes
    share, per field. Nodes are compared with nodes of their own OS: a Windows kernel
    beside a Linux one is not drift."""
    rows = [{"node": label_of(labels, r.page, name), "name": name, "bundle": r.name, "page": r.page,
             "profile": profile, "marks": {}}
            for r in results if r.error is None for name, profile in r.nodes]
    fields = [k for k in PROFILE_KEYS if any(row["profile"].get(k) is not None for row in rows)]
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(str(row["profile"].get("os") or ""), []).append(row)
    majority: dict[str, dict[str, Any]] = {}
    for os_name, members in groups.items():
        majority[os_name] = _mark_by_majority(members, fields)
    expiries = [row["profile"]["cert_expiry"] for row in rows if row["profile"].get("cert_expiry")]
    soonest = min(expiries) if expiries else None
    for row in rows:
        p = row["profile"]
        if p.get("cert_expiry_days") is not None and p["cert_expiry_days"] < 0:
            row["marks"]["cert_expiry"] = EXPIRED
        elif soonest is not None and p.get("cert_expiry") == soonest:
            row["marks"]["cert_expiry"] = SOONEST
        offset = p.get("clock_offset_seconds")
        if offset is not None and abs(offset) > CLOCK_OFFSET_LIMIT:
            row["marks"]["clock_offset_seconds"] = CLOCK
    return {"fields": fields, "majority": majority, "rows": rows}


def _mark_by_majority(rows: list[dict[str, Any]], fields: list[str]) -> dict[str, Any]:
    """Mark, in rows of one OS, values other than the one held by more than half of the nodes
    with a value (ODD), or every value when none is (SPLIT); return the majority values."""
    majority: dict[str, Any] = {}
    for key in fields:
        if key in NOT_BY_MAJORITY:
            continue
        values = [row["profile"][key] for row in rows if row["profile"].get(key) is not None]
        tally: dict[str, int] = {}
        for v in values:
            tally[repr(v)] = tally.get(repr(v), 0) + 1
        if not tally:
            continue
        top, n = max(tally.items(), key=lambda kv: kv[1])
        if len(tally) == 1 or n * 2 > len(values):
            majority[key] = next(v for v in values if repr(v) == top)
        if len(tally) == 1:
            continue
        for row in rows:
            v = row["profile"].get(key)
            if v is None:
                continue
            if key in majority and repr(v) != top:
                row["marks"][key] = ODD
            elif key not in majority:
                row["marks"][key] = SPLIT
    return majority


def totals(results: list[BundleResult]) -> dict[str, int]:
    out = {s: 0 for s in SEVERITIES}
    for r in results:
        for s in SEVERITIES:
            out[s] += r.counts.get(s, 0)
    return out


def multi_document(results: list[BundleResult]) -> dict[str, Any]:
    """The JSON report of a multi-bundle run (docs/report-schema.md "Many bundles")."""
    from k8s_bundle import __version__
    from k8s_bundle.analyzer.render.common import now_utc
    from k8s_bundle.analyzer.render.json import REPORT_SCHEMA_VERSION

    labels = node_labels(results)
    problems = merged_problems(results, labels)
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "kind": "multi",
        "tool": {"name": "k8s-bundle", "version": __version__},
        "generated_at": now_utc(),
        "summary": {**totals(results), "total": sum(totals(results).values()), "exit_code": exit_code_of(results),
                    "bundles": len(results), "unusable": sum(r.error is not None for r in results)},
        "shared_root_causes": [p for p in problems if p["root"]],
        "problems": problems,
        "drift": drift_table(results, labels),
        "bundles": [
            {"page": r.page, "source": r.path, "name": r.name, "error": r.error,
             "exit_code": None if r.error else r.exit_code,
             "nodes": [label_of(labels, r.page, n) for n, _ in r.nodes], "report": r.document}
            for r in results
        ],
    }
