"""The analyzer's data model: what parsers produce (Evidence) and what rules produce (Finding).

Facts are plain JSON-like values so that CEL, the JSON report and tests see the same thing
(docs/facts.md). The log index is a polars DataFrame; it is typed loosely here so that this
module stays importable without polars.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from k8s_bundle.bundle.problems import Problem

SEVERITIES = ("critical", "warning", "info")
SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}
NOT_A_KUBERNETES_NODE = "not-a-kubernetes-node"   # the built-in finding shown before all others


@dataclass
class Evidence:
    """Everything the rules may look at, built in one streaming pass over the bundle."""

    source: str                                   # the path given to `analyze`
    manifest: dict[str, Any]
    bundle: dict[str, Any]                        # bundle facts (docs/facts.md)
    nodes: dict[str, dict[str, Any]]              # node name -> node facts
    cluster: dict[str, Any]
    log_index: Any                                # polars.DataFrame (docs/facts.md columns)
    problems: list[Problem] = field(default_factory=list)
    members: list[str] = field(default_factory=list)   # every member path read (relative)
    # What was checked: each rule's outcome per node, set by engine.evaluate()
    # (analyzer.coverage.Coverage; None until the rules ran)
    coverage: Any = None
    # Counts over every indexed line (analyzer.logkeep.LogSummary): with a keep policy the
    # index holds only the rows a rule or view reads; None: computed from the index when asked
    log_summary: Any = None


@dataclass
class LogEvidence:
    node: str
    file: str
    line: int
    timestamp: str | None       # RFC 3339 UTC
    message: str


@dataclass
class ContextLine:
    """A line of the same file near a matching line, as the log index holds it (blank lines
    are not indexed: their numbers are skipped, never filled in)."""

    line: int
    message: str


@dataclass
class MatchedLine(LogEvidence):
    """A matching line a finding keeps, with up to CONTEXT_LINES indexed lines of the same file
    before and after it (evaluate_logs.add_context; has_context false: beyond the report's
    context budget, not looked up)."""

    before: list[ContextLine] = field(default_factory=list)
    after: list[ContextLine] = field(default_factory=list)
    has_context: bool = False


@dataclass
class LogFileCount:
    """Per file of a finding's matching lines: how many, where, and which of them the finding
    did not keep (beyond its cap), so that those can be found in the bundle."""

    node: str
    file: str
    count: int
    first_line: int
    last_line: int
    left_out: int = 0                   # matching lines of this file not kept
    left_out_first: int | None = None   # their first and last line numbers
    left_out_last: int | None = None


@dataclass
class Finding:
    rule_id: str
    severity: str
    node: str | None            # None: a cluster or bundle finding
    title: dict[str, str]       # lang -> text
    cause: dict[str, str]
    fix: dict[str, str]
    message: dict[str, str] = field(default_factory=dict)
    references: list[dict[str, str]] = field(default_factory=list)
    components: list[str] = field(default_factory=list)
    # The matching lines kept (at most evaluate_logs.MAX_KEPT_LINES: the first ones in time and
    # the last KEPT_TAIL), each with its context; log_files counts every matching line per file.
    log_lines: list[MatchedLine] = field(default_factory=list)
    log_count: int = 0                                           # total matching lines, exact
    log_files: list[LogFileCount] = field(default_factory=list)
    fact_lines: list[str] = field(default_factory=list)          # evidence built from facts
    items: list[dict[str, Any]] = field(default_factory=list)    # manifest items involved
    first_seen: str | None = None
    last_seen: str | None = None
    explained_by: list[str] = field(default_factory=list)        # rule ids (same node)
    explains: list[str] = field(default_factory=list)
    root_cause: bool = False
    nodes: list[str] = field(default_factory=list)               # every node with evidence
    # Seen, but below the rule's min_count/window: reported as info, never dropped. One entry
    # per log matcher short of its threshold: {count, min_count, window (or None)}.
    below_threshold: bool = False
    thresholds: list[dict[str, Any]] = field(default_factory=list)
    # The rule's `caveats:` whose `when` held on this node: facts that contradict the obvious
    # reading of the evidence, each {en, zh}.
    caveats: list[dict[str, str]] = field(default_factory=list)
    # The rule's own severity when the engine lowered it (a `preflight: true` rule on a node
    # that is not a Kubernetes node); None when the severity is the rule's.
    rule_severity: str | None = None
    # A cluster finding's node-level twins (the rule's `same_as:`): the report shows one problem.
    same_as: list[str] = field(default_factory=list)

    @property
    def demoted(self) -> bool:
        """Reported below the rule's severity: such a finding is never a likely root cause."""
        return self.below_threshold or self.rule_severity is not None
