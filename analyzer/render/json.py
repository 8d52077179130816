"""The JSON report (docs/report-schema.md) for automation; orjson, UTF-8, stable key order."""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import orjson

from k8s_bundle import __version__
from k8s_bundle.analyzer.model import Evidence, Finding
from k8s_bundle.analyzer.triage import triage, triage_document
from k8s_bundle.analyzer.render.common import (bundle_info, collection_problems, collection_problems_left_out, counts,
                                               failed_hosts, incomplete_nodes,
                                               node_overview, now_utc)

if TYPE_CHECKING:   # the renderers stay importable without polars
    from k8s_bundle.analyzer.unexplained import Template

REPORT_SCHEMA_VERSION = "1.3"   # 1.1: `unexplained`; 1.2: triage, timeline, coverage, nodes[].profile/settings, evidence context and log_files; 1.3: failed_hosts, incomplete_nodes


def finding_document(f: Finding) -> dict[str, Any]:
    return {
        "rule_id": f.rule_id,
        "severity": f.severity,
        "node": f.node,
        "nodes": f.nodes,
        "title": f.title,
        "message": f.message,
        "cause": f.cause,
        "fix": f.fix,
        "references": f.references,
        "components": f.components,
        "evidence": {
            # the kept lines (evaluate_logs.MAX_KEPT_LINES at most) with their context
            "log_lines": [dataclasses.asdict(line) for line in f.log_lines],
            "log_count": f.log_count,
            # every matching line per file: count, first/last line, and those not kept
            "log_files": [dataclasses.asdict(c) for c in f.log_files],
            "fact_lines": f.fact_lines,
            "items": f.items,
        },
        "first_seen": f.first_seen,
        "last_seen": f.last_seen,
        "root_cause": f.root_cause,
        "explains": f.explains,
        "explained_by": f.explained_by,
        "below_threshold": f.below_threshold,
        "thresholds": f.thresholds,
        "caveats": f.caveats,
        "rule_severity": f.rule_severity,
    }


def report_document(evidence: Evidence, findings: list[Finding],
                    unexplained: "list[Template] | None" = None) -> dict[str, Any]:
    from k8s_bundle.analyzer.analysis import exit_code_for

    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "tool": {"name": "k8s-bundle", "version": __version__},
        "generated_at": now_utc(),
        "bundle": bundle_info(evidence),
        "summary": {**counts(findings), "total": len(findings), "exit_code": exit_code_for(findings)},
        "nodes": [
            {**{k: (dict(v) if k == "versions" else v) for k, v in row.items()}, **_node_drift(evidence, row["name"])}
            for row in node_overview(evidence, findings)
        ],
        "collection_problems": collection_problems(evidence),
        # node -> problem items beyond the first MAX_PROBLEMS_SHOWN_PER_NODE, not listed above
        "collection_problems_left_out": collection_problems_left_out(evidence),
        # remote hosts a fan-out run did not collect whole, and the nodes it cut short (manifest
        # failed_hosts, nodes[].complete false)
        "failed_hosts": failed_hosts(evidence),
        "incomplete_nodes": incomplete_nodes(evidence),
        "input_problems": [dataclasses.asdict(p) for p in evidence.problems],
        "findings": [finding_document(f) for f in findings],
        # what to fix first: one entry per problem, roots first (analyzer/triage.py)
        "triage": triage_document(triage(findings)),
        # error lines no rule explains, grouped into templates, best first (analyzer/unexplained.py)
        "unexplained": [dataclasses.asdict(t) for t in unexplained or []],
        # what was checked: rule outcomes, could-not-evaluate reasons, the reference time (analyzer/coverage.py)
        "coverage": evidence.coverage.document() if evidence.coverage is not None else None,
        # warning/error counts over time per node and component, finding marks, boots (analyzer/timeline.py)
        "timeline": _timeline(evidence, findings),
    }


def _timeline(evidence: Evidence, findings: list[Finding]) -> dict[str, Any]:
    from k8s_bundle.analyzer.timeline import build_timeline   # polars: imported when a report is built

    return build_timeline(evidence, findings)


def _node_drift(evidence: Evidence, name: str) -> dict[str, Any]:
    """`profile` (drift fields) and `settings` (flattened configs) of a node (analyzer/profile.py)."""
    from k8s_bundle.analyzer.profile import node_profile, node_settings

    facts = (evidence.nodes or {}).get(name) or {}
    return {"profile": node_profile(facts), "settings": node_settings(facts)}


def render_json(evidence: Evidence, findings: list[Finding], unexplained: "list[Template] | None" = None) -> bytes:
    return orjson.dumps(
        report_document(evidence, findings, unexplained),
        option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS,
        default=str,
    )
