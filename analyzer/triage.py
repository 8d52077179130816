"""What to fix first: findings grouped into problems, root causes on top.

The rules' `explains:` links (engine.correlate) form a graph between findings. Here it is made
one problem per entry and transitive:

- one problem, one entry: the same rule on several nodes is one entry naming the nodes, and a
  cluster finding joins the entry of its node-level twin (`same_as:`) when that fired;
- an entry A explains an entry B when a finding of A explains a finding of B (a demoted
  finding, below threshold or a preflight check on a non-Kubernetes node, explains nothing);
  the relation is closed transitively, and a cycle (A explains B explains A) is broken in
  favour of the entry ranked first, so every entry is either a root or folded under roots;
- an entry is a root when nothing explains it, or when one of its findings (on some node)
  is explained by nothing: it is then listed as a root and under the roots that explain
  its other nodes;
- roots are ordered by the worst severity they account for (a warning that explains a
  critical symptom is fixed first), then by how many entries they explain, then by their own
  severity, then by rule id. Symptoms keep the same order under their roots.

The result feeds the top of every report (HTML, JSON, text) and the multi-bundle view.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from k8s_bundle.analyzer.model import NOT_A_KUBERNETES_NODE, SEVERITY_RANK, Finding

# Findings that go first whatever they explain (a bundle that is no Kubernetes node).
HEADLINE_RULES = (NOT_A_KUBERNETES_NODE,)


@dataclass
class Problem:
    """One entry of the triage list: one problem, on one or more nodes."""

    key: str                                  # the leading rule id (unique among entries)
    findings: list[Finding]                   # the entry's own findings: node ones first, then cluster twins
    severity: str                             # the worst of its own findings
    effective_severity: str                   # the worst of its own and every symptom it explains
    nodes: list[str] = field(default_factory=list)
    explains: list["Problem"] = field(default_factory=list)     # transitive, in list order
    explained_by: list["Problem"] = field(default_factory=list)  # the roots (and others) above it
    root: bool = False

    @property
    def lead(self) -> Finding:
        return self.findings[0]

    @property
    def first_seen(self) -> str | None:
        seen = [f.first_seen for f in self.findings if f.first_seen]
        return min(seen) if seen else None

    @property
    def last_seen(self) -> str | None:
        seen = [f.last_seen or f.first_seen for f in self.findings if f.last_seen or f.first_seen]
        return max(seen) if seen else None  # type: ignore[type-var]


def _rank(severity: str) -> int:
    return SEVERITY_RANK.get(severity, 9)


def _worst(severities: list[str]) -> str:
    return min(severities, key=_rank) if severities else "info"


def triage(findings: list[Finding], same_as: dict[str, list[str]] | None = None) -> list[Problem]:
    """Every problem once: the roots in triage order, then the symptoms in the same order.

    same_as: cluster rule id -> node-level rule ids of the same problem (Rule.same_as); by
    default read from the findings (the engine copies it onto each cluster finding).
    """
    if same_as is None:
        same_as = {f.rule_id: f.same_as for f in findings if f.same_as}
    # 1. One entry per rule id.
    by_rule: dict[str, list[Finding]] = {}
    for f in findings:
        by_rule.setdefault(f.rule_id, []).append(f)
    # A cluster finding joins its node-level twin's entry when the twin fired.
    owner: dict[str, str] = {rid: rid for rid in by_rule}
    for rid, fs in by_rule.items():
        if all(f.node is None for f in fs):
            for twin in same_as.get(rid, []):
                if twin in by_rule and owner[twin] == twin:
                    owner[rid] = twin
                    break
    entries: dict[str, Problem] = {}
    for rid in by_rule:
        key = owner[rid]
        p = entries.get(key)
        if p is None:
            p = entries[key] = Problem(key=key, findings=[], severity="info", effective_severity="info")
    for rid, fs in by_rule.items():
        entries[owner[rid]].findings.extend(fs)
    for p in entries.values():
        # node findings first (they carry the log evidence), the worst first, then cluster twins
        p.findings.sort(key=lambda f: (f.node is None, f.rule_id != p.key, _rank(f.severity), f.node or ""))
        p.severity = _worst([f.severity for f in p.findings])
        nodes: list[str] = []
        for f in p.findings:
            for n in ([f.node] if f.node else []) + list(f.nodes):
                if n not in nodes:
                    nodes.append(n)
        p.nodes = nodes

    # 2. Direct edges between entries, from the findings' explained_by (same node, or a
    # cluster finding on either side, as engine.correlate linked them).
    direct: dict[str, set[str]] = {k: set() for k in entries}
    for g in findings:
        target = owner[g.rule_id]
        for rid in g.explained_by:
            if rid not in owner:
                continue
            source = owner[rid]
            if source == target:
                continue
            if any(not f.demoted and _links(f, g) for f in by_rule[rid]):
                direct[source].add(target)

    # A finding no other finding explains keeps its entry among the roots even when the
    # same rule is explained on another node (disk full on n1 explains evictions on n1, not
    # the evictions on n2). A cluster twin follows its entry's own findings.
    unexplained_finding = {
        id(g) for g in findings
        if not any(not f.demoted and _links(f, g) for rid in g.explained_by if rid in by_rule
                   for f in by_rule[rid] if owner[rid] != owner[g.rule_id])
    }

    # 3. Transitive closure (entries are few: at most the number of rules).
    reach: dict[str, set[str]] = {}
    for k in entries:
        seen: set[str] = set()
        stack = list(direct[k])
        while stack:
            n = stack.pop()
            if n in seen or n == k:
                continue
            seen.add(n)
            stack.extend(direct[n])
        reach[k] = seen

    def base_order(k: str) -> tuple[Any, ...]:
        p = entries[k]
        return (p.key not in HEADLINE_RULES, _rank(p.severity), -len(reach[k]), p.key)

    # 4. Acyclic: within a cycle, the entry ranked first stays above the others.
    above: dict[str, set[str]] = {k: set() for k in entries}
    for k in entries:
        for n in reach[k]:
            if k in reach[n] and base_order(n) < base_order(k):
                continue      # n and k explain each other: n ranks first, so k does not explain n
            above[n].add(k)
    for k, p in entries.items():
        p.root = not above[k] or any(id(f) in unexplained_finding for f in p.findings if f.rule_id == k)
        symptoms = [n for n in reach[k] if k in above[n]]
        p.effective_severity = _worst([p.severity] + [entries[n].severity for n in symptoms])

    def order(k: str) -> tuple[Any, ...]:
        p = entries[k]
        mine = [n for n in reach[k] if k in above[n]]
        return (p.key not in HEADLINE_RULES, _rank(p.effective_severity), -len(mine), _rank(p.severity), p.key)

    ranked = sorted(entries, key=order)
    position = {k: i for i, k in enumerate(ranked)}
    for k in ranked:
        p = entries[k]
        p.explains = [entries[n] for n in sorted((n for n in reach[k] if k in above[n]), key=position.__getitem__)]
        p.explained_by = [entries[a] for a in sorted(above[k], key=position.__getitem__)]
    roots = [entries[k] for k in ranked if entries[k].root]
    rest = [entries[k] for k in ranked if not entries[k].root]
    return roots + rest


def _links(f: Finding, g: Finding) -> bool:
    """Whether finding f may explain finding g (the node rule of engine.correlate)."""
    if f.node is None or g.node == f.node:
        return True
    return g.node is None and (f.node in g.nodes or not g.nodes)


def triage_document(problems: list[Problem]) -> list[dict[str, Any]]:
    """The JSON report's `triage`: roots first, each with the keys of what it explains."""
    return [
        {
            "key": p.key,
            "root": p.root,
            "severity": p.severity,
            "effective_severity": p.effective_severity,
            "title": p.lead.title,
            "nodes": p.nodes,
            "findings": [{"rule_id": f.rule_id, "node": f.node} for f in p.findings],
            "explains": [q.key for q in p.explains],
            "explained_by": [q.key for q in p.explained_by],
            "first_seen": p.first_seen,
            "last_seen": p.last_seen,
        }
        for p in problems
    ]
