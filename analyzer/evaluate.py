"""The rule engine: rules + Evidence -> Findings (docs/rule-format.md).

`load_rules` lives in rules_load.py and is re-exported here (docs/architecture.md). The log
matchers of all rules run first, in one vectorised pass (evaluate_logs.py); the condition trees
are then walked per rule and per node, reading the precomputed log hits, the facts through
CEL, the member list and the manifest. Last, `explains:` links root causes to the findings
they explain on the same node.

Severity follows meaning, not counts: a rule whose log matchers saw the line, but fewer times
than their `min_count`/`window` ask, still reports it, as info flagged `below_threshold`
(a bundle taken right after one failed start holds the fatal line once). A `preflight: true`
rule reports info on a node that is no Kubernetes node (node_kind.py). `caveats:` attach the
facts that contradict the obvious reading of a finding.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import orjson
from celpy import celtypes

from k8s_bundle.analyzer.cel_env import CEL_CAPS, CelExpr, CelFailure, CelLimit, activation, from_cel, to_cel
from k8s_bundle.analyzer.cel_eval import Budget
from k8s_bundle.analyzer.coverage import CoverageRecorder
from k8s_bundle.analyzer.evaluate_logs import (CLUSTER_GROUP, LogHit, add_context, context_order, glob_to_regex,
                                             merge_hits, run_log_pass)
from k8s_bundle.analyzer.model import NOT_A_KUBERNETES_NODE, SEVERITY_RANK, Evidence, Finding
from k8s_bundle.bundle.problems import Problem
from k8s_bundle.analyzer.node_kind import kubernetes_presence
from k8s_bundle.analyzer.rules_load import (
    AllCond,
    AnyCond,
    CommandCond,
    Condition,
    FactCond,
    FileCond,
    LogCond,
    NotCond,
    ProblemCond,
    Rule,
    RuleError,
    default_rules_dir,
    lint_rules,
    load_rules,
    walk,
)

__all__ = ["evaluate", "load_rules", "lint_rules", "default_rules_dir", "Rule", "RuleError", "format_message"]

LANGS = ("en", "zh")
_HEADLINE = (NOT_A_KUBERNETES_NODE,)
_PREFLIGHT_NOTE = {
    "en": "This node shows no kubelet, kubeconfig or container runtime (not a Kubernetes node): "
          "a node-setup check, reported as info instead of {severity}; it matters once the node joins a cluster.",
    "zh": "该节点上没有 kubelet、kubeconfig 或容器运行时（不是 Kubernetes 节点）：这是节点准备检查，"
          "以提示级别报告（原为 {severity}），节点加入集群后才需处理。",
}


@dataclass
class _Collected:
    """Evidence gathered while a condition tree is found true."""

    hits: list[LogHit] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    below: list[tuple[LogCond, LogHit]] = field(default_factory=list)   # matchers short of their threshold

    def merge(self, other: "_Collected") -> None:
        self.hits += other.hits
        self.below += other.below
        self.items += [i for i in other.items if i not in self.items]
        self.lines += [x for x in other.lines if x not in self.lines]
        for k, v in other.values.items():
            self.values.setdefault(k, v)


class _Context:
    """Per-bundle state shared by all rules: CEL views of the facts, members, hits."""

    def __init__(self, evidence: Evidence, hits: dict[int, dict[str, LogHit]]) -> None:
        self.evidence = evidence
        self.hits = hits
        self._cel_nodes: dict[str, Any] = {}
        self._cel_cluster: Any = None
        self._cel_bundle: Any = None
        self._memo: dict[bytes, tuple[bool, Any]] = {}
        self._digests: dict[tuple[str, str | None, str], bytes | None] = {}
        self.limits: list[Problem] = []     # CEL evaluations stopped at their budget
        self._limited: set[tuple[str, str, str | None]] = set()
        self._node_left: dict[str | None, int] = {}
        self._bundle_left = CEL_CAPS.max_steps_per_bundle
        self.rule_id = ""                   # the rule being evaluated (for limit messages)
        # digests of the vars computed so far for the rule and node being evaluated
        self.var_digests: dict[str, bytes | None] = {}
        self.members = list(evidence.members or [])
        self._globs: dict[str, re.Pattern[str]] = {}
        self._activations: dict[str | None, dict[str, Any]] = {}
        self._orders: dict[int, list[Condition]] = {}     # by id() of conditions of the rules evaluated
        self._node_members: dict[str, list[str]] | None = None
        self._node_items: dict[str, list[dict[str, Any]]] | None = None
        items = (evidence.manifest or {}).get("items") or []
        self.items = [i for i in items if isinstance(i, dict)]
        self.coverage: CoverageRecorder | None = None     # what was checked (analyzer/coverage.py)
        self._quiet_left = CEL_CAPS.max_steps_per_bundle // 4   # coverage's own CEL allowance
        self._quiet_memo: dict[bytes, tuple[bool, Any]] = {}     # its own memo: the rules' stays theirs
        self._items_by_id: dict[tuple[str, str | None], list[dict[str, Any]]] | None = None

    def cel(self, expr: CelExpr, node: str | None, act: dict[str, Any]) -> Any:
        """Evaluate with a memo: nodes of one cluster mostly share their facts, and celpy
        costs milliseconds per run, so the same expression over the same facts runs once.

        An evaluation that stops at its step budget (cel_eval.py) is false for the rule and
        recorded as a `limit` problem naming the rule and the node."""
        if not expr.guards_hold(act):     # a fact it needs is absent: no memo key to compute
            raise CelFailure("a fact the expression needs is absent")
        key = self._memo_key(expr, node, self.var_digests)
        if key is not None and key in self._memo:
            ok, value = self._memo[key]
        else:
            budget, cap = self._budget(node)
            try:
                ok, value = True, expr.evaluate(act, budget)
            except CelLimit:
                ok, value = False, f"stopped at {cap}"
                self._limit(expr, node, cap)
            except CelFailure as exc:
                ok, value = False, str(exc)
            finally:
                self._spend(node, budget.used)
            if key is not None and cap == "max_steps_per_expression":
                self._memo[key] = (ok, value)
        if not ok:
            raise CelFailure(value)
        return value

    def _budget(self, node: str | None) -> tuple[Budget, str]:
        """The steps this evaluation may take and the name of the cap that sets them."""
        caps = [(CEL_CAPS.max_steps_per_expression, "max_steps_per_expression"),
                (self._node_left.get(node, CEL_CAPS.max_steps_per_node), "max_steps_per_node"),
                (self._bundle_left, "max_steps_per_bundle")]
        steps, name = min(caps, key=lambda c: c[0])
        return Budget(max(steps, 0)), name

    def _spend(self, node: str | None, used: int) -> None:
        self._node_left[node] = self._node_left.get(node, CEL_CAPS.max_steps_per_node) - used
        self._bundle_left -= used

    def _limit(self, expr: CelExpr, node: str | None, cap: str) -> None:
        """One problem per rule and node at most, and one per node once its budget is spent."""
        where = f" on node {node}" if node else ""
        steps = getattr(CEL_CAPS, cap)
        if cap == "max_steps_per_expression":
            text = (f"rule {self.rule_id}: a fact expression went past {steps:,} evaluation steps "
                    f"({cap}){where} and was read as false: the facts it walks are too large "
                    f"({expr.text[:100]})")
        else:
            text = (f"fact expressions{where} went past {steps:,} evaluation steps in all ({cap}); "
                    f"rule {self.rule_id} and the rules after it were read as false there")
        seen = (cap, self.rule_id if cap == "max_steps_per_expression" else "",
                node if cap != "max_steps_per_bundle" else None)
        if seen in self._limited:
            return
        self._limited.add(seen)
        self.limits.append(Problem("limit", text, None, node))

    def quiet_truth(self, expr: CelExpr, node: str | None, act: dict[str, Any]) -> bool | None:
        """truth() for the coverage walk (analyzer/coverage.py): the memo first, else an
        evaluation within coverage's own allowance, never the rules' budgets (so coverage
        cannot change a finding) and never a `limit` problem. None: past that allowance."""
        if not expr.guards_hold(act):
            return False
        key = self._memo_key(expr, node, self.var_digests)
        if key is not None and (key in self._memo or key in self._quiet_memo):
            ok, value = self._memo[key] if key in self._memo else self._quiet_memo[key]
        else:
            if self._quiet_left <= 0:
                return None
            budget = Budget(min(CEL_CAPS.max_steps_per_expression, self._quiet_left))
            try:
                ok, value = True, expr.evaluate(act, budget)
            except CelLimit:
                return None
            except CelFailure as exc:
                ok, value = False, str(exc)
            finally:
                self._quiet_left -= budget.used
            if key is not None:
                self._quiet_memo[key] = (ok, value)
        return ok and isinstance(value, (bool, celtypes.BoolType)) and bool(value)

    def truth(self, expr: CelExpr, node: str | None, act: dict[str, Any]) -> bool:
        try:
            value = self.cel(expr, node, act)
        except CelFailure:
            return False
        return isinstance(value, (bool, celtypes.BoolType)) and bool(value)

    def _memo_key(self, expr: CelExpr, node: str | None, var_digests: dict[str, bytes | None]) -> bytes | None:
        """The expression and a digest of each first-level fact it reads. The digests are
        computed once per node and fact (not per rule): a fact of 10,000 records is
        serialized once, however many rules read it."""
        if expr.refs is None:
            return None
        parts = [expr.text.encode()]
        for root, keys in expr.refs.items():
            for k in keys:
                digest = var_digests.get(k, b"-") if root == "vars" else self._digest(root, node, k)
                if digest is None:
                    return None
                parts.append(f"\0{root}.{k}=".encode() + digest)
        return b"".join(parts)

    def _digest(self, root: str, node: str | None, key: str) -> bytes | None:
        cache_key = (root, node if root == "node" else None, key)
        if cache_key not in self._digests:
            if root == "node":
                src: Any = (self.evidence.nodes.get(node) or {"name": node}) if node is not None else {}
            else:
                src = (self.evidence.cluster if root == "cluster" else self.evidence.bundle) or {}
            self._digests[cache_key] = digest_of(src[key]) if isinstance(src, dict) and key in src else b"-"
        return self._digests[cache_key]

    def glob(self, glob: str) -> re.Pattern[str]:
        if glob not in self._globs:
            self._globs[glob] = glob_to_regex(glob)
        return self._globs[glob]

    def members_of(self, node: str | None) -> list[str]:
        """Member paths of `node` relative to its directory (all members for None)."""
        if node is None:
            return self.members
        if self._node_members is None:
            self._node_members = {}
            for m in self.members:
                if m.startswith("nodes/"):
                    parts = m.split("/", 2)
                    if len(parts) == 3:
                        self._node_members.setdefault(parts[1], []).append(parts[2])
        return self._node_members.get(node, [])

    def items_with_id(self, item_id: str, node: str | None) -> list[dict[str, Any]]:
        """Manifest items with this id, of `node` (of any node for None), in manifest order.

        Indexed once: a `command:` condition scanned every item of the manifest per rule and
        node (thousands of nodes x a manifest of 100,000 items)."""
        if self._items_by_id is None:
            self._items_by_id = {}
            for item in self.items:
                if isinstance(item.get("id"), str):
                    self._items_by_id.setdefault((item["id"], None), []).append(item)
                    if isinstance(item.get("node"), str):
                        self._items_by_id.setdefault((item["id"], item["node"]), []).append(item)
        return self._items_by_id.get((item_id, node), [])

    def items_of(self, node: str | None) -> list[dict[str, Any]]:
        """Manifest items whose path lies in the node's directory (every item for None)."""
        if node is None:
            return self.items
        if self._node_items is None:
            self._node_items = {}
            for item in self.items:
                p = item.get("path")
                if isinstance(p, str) and p.startswith("nodes/"):
                    self._node_items.setdefault(p.split("/", 2)[1], []).append(item)
        return self._node_items.get(node, [])

    def activation(self, node: str | None) -> dict[str, Any]:
        """The CEL names of a rule without vars on `node`, built once per node."""
        if node not in self._activations:
            self._activations[node] = activation(self.cel_node(node), self.cel_cluster(), self.cel_bundle())
        return self._activations[node]

    def cheap_first(self, cond: AllCond | AnyCond) -> list[Condition]:
        """The parts of an all/any, precomputed ones (logs, members, manifest) before CEL."""
        key = id(cond)
        if key not in self._orders:
            self._orders[key] = sorted(cond.parts, key=_needs_cel)
        return self._orders[key]

    def cel_node(self, node: str | None) -> Any:
        if node is None:
            return to_cel({})
        if node not in self._cel_nodes:
            self._cel_nodes[node] = to_cel(self.evidence.nodes.get(node) or {"name": node})
        return self._cel_nodes[node]

    def cel_cluster(self) -> Any:
        if self._cel_cluster is None:
            self._cel_cluster = to_cel(self.evidence.cluster or {})
        return self._cel_cluster

    def cel_bundle(self) -> Any:
        if self._cel_bundle is None:
            self._cel_bundle = to_cel(self.evidence.bundle or {})
        return self._cel_bundle


def digest_of(value: Any) -> bytes | None:
    """A short digest of a JSON-like fact; None when it is not JSON-like (no memo then)."""
    try:
        data = orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return None
    return hashlib.blake2b(data, digest_size=16).digest()


def node_names(evidence: Evidence) -> list[str]:
    capped = (evidence.bundle or {}).get("node_names")
    if isinstance(capped, list):
        return list(capped)   # load_evidence's node set: directories and manifest nodes, within max_nodes
    names = list(evidence.nodes or {})
    seen = set(names)
    for n in (evidence.manifest or {}).get("nodes") or []:
        name = n.get("name") if isinstance(n, dict) else None
        if isinstance(name, str) and name not in seen:
            names.append(name)
            seen.add(name)
    return names


def evaluate(rules: list[Rule], evidence: Evidence) -> list[Finding]:
    """Run every rule on every node it applies to; findings sorted by severity, then node."""
    log_conds: list[LogCond] = []
    cluster_keys: set[int] = set()
    for rule in rules:
        for cond in rule.log_conditions():
            cond.key = len(log_conds)
            log_conds.append(cond)
            if rule.scope == "cluster":
                cluster_keys.add(cond.key)
    hits = run_log_pass(log_conds, cluster_keys, evidence.log_index)
    nodes = node_names(evidence)
    # `node.kubernetes` before the CEL views are built: rules and the preflight downgrade read it.
    presence = kubernetes_presence(evidence, nodes)
    for name, facts in (evidence.nodes or {}).items():
        if isinstance(facts, dict) and (presence.get(name) or {}).get("node") is not None:
            facts["kubernetes"] = presence[name]   # absent when unknown (no node.json/binaries)
    ctx = _Context(evidence, hits)
    ctx.coverage = recorder = CoverageRecorder(rules, evidence, nodes, presence)
    findings: list[Finding] = []
    # Rules that report problems run last: a CEL evaluation stopped at its budget while the
    # other rules ran is then among the problems they report (bundle-limit-reached).
    ordered = sorted(rules, key=lambda r: any(isinstance(c, ProblemCond) for c in walk(r.match)))
    problem_rules = False
    for rule in ordered:
        ctx.rule_id = rule.id
        if not problem_rules and any(isinstance(c, ProblemCond) for c in walk(rule.match)):
            problem_rules = True
            evidence.problems.extend(ctx.limits)
            ctx.limits = []
        if rule.scope == "cluster":
            f = _evaluate_rule(rule, None, ctx)
            if f is not None:
                recorder.fired(rule, None)
                findings.append(f)
            continue
        for node in nodes:
            if not _applies(rule, evidence.nodes.get(node) or {}):
                recorder.not_applicable(rule, node)
                continue
            f = _evaluate_rule(rule, node, ctx)
            if f is not None:
                recorder.fired(rule, node)
                if rule.preflight and (presence.get(node) or {}).get("node") is False:
                    _downgrade(f)
                findings.append(f)
    evidence.problems.extend(ctx.limits)
    evidence.coverage = recorder.finish()
    # the kept lines' neighbours, for all findings at once (one filter and join on the index)
    add_context(context_order([f.log_lines for f in sorted(findings, key=sort_key)]), evidence.log_index)
    correlate(findings, {r.id: r.explains for r in rules if r.explains})
    findings.sort(key=sort_key)
    return findings


def sort_key(f: Finding) -> tuple[Any, ...]:
    return (f.rule_id not in _HEADLINE, SEVERITY_RANK.get(f.severity, 9), f.node or "", not f.root_cause,
            f.below_threshold, f.rule_id)


def _downgrade(f: Finding) -> None:
    """A node-setup check on a node that is no Kubernetes node: info, with the reason."""
    if f.severity == "info":
        return
    f.rule_severity, f.severity = f.severity, "info"
    f.caveats.insert(0, {lang: _PREFLIGHT_NOTE[lang].format(severity=f.rule_severity) for lang in LANGS})


def _applies(rule: Rule, facts: dict[str, Any]) -> bool:
    if "any" in rule.platforms:
        return True
    os_name = facts.get("os")
    return os_name is None or os_name in rule.platforms


def _needs_cel(cond: Condition) -> bool:
    return any(isinstance(c, FactCond) for c in walk(cond))


def _bears_evidence(cond: Condition) -> bool:
    return any(isinstance(c, (LogCond, FileCond, CommandCond, ProblemCond)) for c in walk(cond))


def _evaluate_rule(rule: Rule, node: str | None, ctx: _Context) -> Finding | None:
    variables: list[tuple[str, Any]] = []
    digests: dict[str, bytes | None] = {}     # vars' digests, for the memo keys of what reads them
    ctx.var_digests = digests
    act = ctx.activation(node)    # rebuilt below only when the rule computes vars

    def compute_vars() -> dict[str, Any]:
        nonlocal act
        for name, expr in rule.vars:
            try:
                value = ctx.cel(expr, node, act)
            except CelFailure:
                continue  # absent: `has(vars.x)` is false, `{x}` stays as written
            variables.append((name, value))
            digests[name] = digest_of(from_cel(value))
            act = activation(act["node"], act["cluster"], act["bundle"], variables)
        return act

    # vars cost a CEL run each: compute them first only when the conditions read them.
    vars_first = bool(rule.vars) and any(isinstance(c, FactCond) and "vars" in c.expr.text for c in walk(rule.match))
    if vars_first:
        compute_vars()
    ok, got = _check(rule.match, node, rule, ctx, act)
    if not ok:
        # Below threshold: would the rule hold if every counted matcher that saw its line
        # at least once were met? Only then is the relaxed walk worth running.
        group = CLUSTER_GROUP if node is None else node
        if not any((h := ctx.hits.get(c.key, {}).get(group)) is not None and not h.satisfied
                   for c in rule.thresholded):
            _record_quiet(rule, node, ctx, act)
            return None
        ok, got = _check(rule.match, node, rule, ctx, act, relaxed=True)
        if not ok or not got.below:
            _record_quiet(rule, node, ctx, act)
            return None
    if rule.vars and not vars_first:
        compute_vars()
    for expr in rule.evidence:
        try:
            value = from_cel(ctx.cel(expr, node, act))
        except CelFailure:
            continue
        if value not in (None, "", []):
            got.lines.append(_clip(str(value)))
    values: dict[str, Any] = {name: from_cel(v) for name, v in variables}
    for k, v in got.values.items():
        values.setdefault(k, v)
    values.setdefault("node", node or "")
    count = sum(h.count for h in got.hits)
    values.setdefault("count", count)
    log_lines, log_files = merge_hits(got.hits) if got.hits else ([], [])
    seen = [h.first_seen for h in got.hits if h.first_seen]
    last = [h.last_seen for h in got.hits if h.last_seen]
    nodes: list[str] = [node] if node else []
    for h in got.hits:
        nodes += [n for n in h.nodes if n not in nodes]
    for item in got.items:
        n = item.get("node")
        if isinstance(n, str) and n not in nodes:
            nodes.append(n)
    if node is None and rule.nodes_expr is not None:
        # A cluster finding names the nodes its evidence points at (the rule's `nodes:`),
        # when they are nodes of this bundle or Kubernetes node names.
        try:
            named = from_cel(ctx.cel(rule.nodes_expr, None, act))
        except CelFailure:
            named = None
        for n in named if isinstance(named, list) else []:
            if isinstance(n, str) and n and n not in nodes and len(nodes) < MAX_NAMED_NODES:
                nodes.append(n)
    message = {lang: format_message(rule.message[lang], values) for lang in LANGS if lang in rule.message}
    thresholds: list[dict[str, Any]] = []
    if got.below:
        for cond, hit in got.below:
            entry = {"count": hit.count, "min_count": cond.min_count, "window": cond.window}
            if entry not in thresholds:
                thresholds.append(entry)
        for lang in LANGS:
            note = "; ".join(_threshold_note(t, lang) for t in thresholds)
            base = message.get(lang) or rule.title.get(lang) or ""
            message[lang] = f"{base} ({note})" if base else note
    caveats = []
    for cav in rule.caveats:
        if _check(cav.when, node, rule, ctx, act)[0]:
            caveats.append({lang: format_message(text, values) for lang, text in cav.note.items()})
    return Finding(
        rule_id=rule.id,
        severity="info" if got.below else rule.severity,
        node=node,
        title=dict(rule.title),
        cause=dict(rule.cause),
        fix=dict(rule.fix),
        message=message,
        references=list(rule.references),
        components=list(rule.components),
        log_lines=log_lines,
        log_count=count,
        log_files=log_files,
        fact_lines=got.lines,
        items=got.items,
        first_seen=min(seen) if seen else None,
        last_seen=max(last) if last else None,
        nodes=nodes,
        below_threshold=bool(got.below),
        thresholds=thresholds,
        caveats=caveats,
        same_as=list(rule.same_as),
    )


MAX_NAMED_NODES = 2000   # the reader's node cap: a cluster list cannot name more nodes than a bundle holds


def _record_quiet(rule: Rule, node: str | None, ctx: _Context, act: dict[str, Any]) -> None:
    """The rule found nothing: passed, or could not evaluate for want of an input."""
    if ctx.coverage is None:
        return

    def leaf(cond: Condition) -> bool | None:
        if isinstance(cond, FactCond):
            return ctx.quiet_truth(cond.expr, node, act)
        return _check(cond, node, rule, ctx, act)[0]

    ctx.coverage.quiet(rule, node, leaf)


def _threshold_note(t: dict[str, Any], lang: str) -> str:
    """"seen 1 time; the rule warns at 30 within 10m" (en and zh)."""
    n, m, w = t["count"], t["min_count"], t["window"]
    if lang == "zh":
        return f"出现 {n} 次；该规则在{f' {w} 内' if w else ''}出现 {m} 次时告警"
    times = "time" if n == 1 else "times"
    return f"seen {n} {times}; the rule warns at {m}{f' within {w}' if w else ''}"


def _check(cond: Condition, node: str | None, rule: Rule, ctx: _Context, act: dict[str, Any],
           relaxed: bool = False) -> tuple[bool, _Collected]:
    """Is `cond` true on `node`, and with which evidence.

    relaxed: a log matcher that saw its line but fewer times than min_count/window ask counts
    as met (recorded in `below`). Under `not` the walk is strict again, so relaxing can only
    make a rule hold where the strict walk did not, never the reverse.
    """
    got = _Collected()
    if isinstance(cond, LogCond):
        hit = ctx.hits.get(cond.key, {}).get(CLUSTER_GROUP if node is None else node)
        if hit is None:
            return False, got
        if not hit.satisfied:
            if not relaxed:
                return False, got
            got.below.append((cond, hit))
        got.hits.append(hit)
        got.values.update(hit.groups)
        return True, got
    if isinstance(cond, FactCond):
        return ctx.truth(cond.expr, node, act), got
    if isinstance(cond, FileCond):
        prefix = f"nodes/{node}/" if node is not None else ""
        # the node's own members against the glob compiled once (not every member of the
        # bundle against a regex compiled per node: that grew with nodes x members)
        pattern = ctx.glob(cond.glob.lstrip("/"))
        found = [prefix + m for m in ctx.members_of(node) if pattern.match(m)]
        if cond.present:
            got.lines += [f"present in the bundle: {m}" for m in found[:5]]
            return bool(found), got
        if found:
            return False, got
        item = _item_for_path(ctx, node, cond.glob.lstrip("/"))
        why = f" (collector: {item.get('status')}{': ' + str(item['error']) if item.get('error') else ''})" if item else ""
        got.lines.append(f"not in the bundle: {prefix}{cond.glob.lstrip('/')}{why}")
        return True, got
    if isinstance(cond, CommandCond):
        matched = [i for i in ctx.items_with_id(cond.id, node) if i.get("status") in cond.statuses]
        got.items += matched[:MAX_ITEMS_PER_FINDING]
        return bool(matched), got
    if isinstance(cond, ProblemCond):
        probs = [
            p for p in ctx.evidence.problems
            if p.kind in cond.kinds and (node is None or p.node == node)
        ]
        if not probs:
            return False, got
        shown = [f"{p.path}: {p.message}" if p.path and p.path not in p.message else p.message for p in probs[:50]]
        got.lines += shown
        if len(probs) > 50:
            got.lines.append(f"... and {len(probs) - 50} more")
        # the message names the file, and says when it is one of several (all are in the evidence)
        got.values.setdefault("problem", shown[0] + (f" (and {len(probs) - 1} more)" if len(probs) > 1 else ""))
        got.values.setdefault("path", probs[0].path or "")
        got.values.setdefault("problems", len(probs))
        return True, got
    if isinstance(cond, AllCond):
        # Cheap conditions (precomputed log hits, members, manifest) before CEL ones.
        for part in ctx.cheap_first(cond):
            ok, sub = _check(part, node, rule, ctx, act, relaxed)
            if not ok:
                return False, _Collected()
            got.merge(sub)
        return True, got
    if isinstance(cond, AnyCond):
        any_ok = False
        short: list[_Collected] = []   # relaxed: branches true only below their threshold
        for part in ctx.cheap_first(cond):
            if any_ok and not _bears_evidence(part):
                continue  # already true, and a pure fact branch adds no evidence
            ok, sub = _check(part, node, rule, ctx, act, relaxed)
            if ok and sub.below:
                short.append(sub)
            elif ok:
                any_ok = True
                got.merge(sub)
        if not any_ok and short:
            # no branch met its threshold: the below-threshold ones are the evidence
            any_ok = True
            for sub in short:
                got.merge(sub)
        return any_ok, (got if any_ok else _Collected())
    if isinstance(cond, NotCond):
        ok, _ = _check(cond.part, node, rule, ctx, act)
        return not ok, got
    raise TypeError(f"unknown condition {cond!r}")


def _item_for_path(ctx: _Context, node: str | None, glob: str) -> dict[str, Any] | None:
    """The manifest item whose path matches `glob` (relative to the node's directory)."""
    pattern = ctx.glob(glob)
    prefix = f"nodes/{node}/" if node is not None else ""
    for item in ctx.items_of(node):
        p = item.get("path")
        if isinstance(p, str) and p.startswith(prefix) and pattern.match(p[len(prefix):]):
            return item
    return None


_FIELD = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
# What one finding may carry into the report: hostile facts (10,000 expired certificates)
# would otherwise make messages and evidence lines of megabytes.
MAX_LIST_IN_MESSAGE = 20
MAX_TEXT = 2_000
MAX_ITEMS_PER_FINDING = 50


def format_message(template: str, values: dict[str, Any]) -> str:
    """`{name}` from named groups and vars; nothing else (no attribute or index access).

    Unknown names stay as written, `{{` and `}}` are literal braces.
    """

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "{{":
            return "{"
        if m.group(0) == "}}":
            return "}"
        name = m.group(1)
        if name not in values:
            return m.group(0)
        value = values[name]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, list):
            shown = ", ".join(str(v) for v in value[:MAX_LIST_IN_MESSAGE])
            more = len(value) - MAX_LIST_IN_MESSAGE
            return shown + (f", … (+{more})" if more > 0 else "")
        return str(value)

    return _clip(_FIELD.sub(sub, template))


def _clip(text: str, limit: int = 0) -> str:
    """A message or evidence line cut to MAX_TEXT characters (hostile facts can be long)."""
    limit = limit or MAX_TEXT
    return text if len(text) <= limit else text[: limit - 1] + "…"


def correlate(findings: list[Finding], explains: dict[str, list[str]]) -> None:
    """`explains:` marks a finding as the likely root cause of those it explains, same node.

    A cluster/bundle finding (node None) explains matching findings on every node; a node
    finding explains a cluster finding that points at its node (or at no node in particular).
    """
    for f in findings:
        wanted = explains.get(f.rule_id)
        if not wanted:
            continue
        # A demoted finding (below threshold, or a preflight check on a non-Kubernetes node)
        # keeps its links but is never marked the likely root cause of what it explains.
        for g in findings:
            if g is f or g.rule_id not in wanted:
                continue
            if f.node is not None and g.node != f.node and not (g.node is None and (f.node in g.nodes or not g.nodes)):
                continue
            if f.rule_id not in g.explained_by:
                g.explained_by.append(f.rule_id)
            if g.rule_id not in f.explains:
                f.explains.append(g.rule_id)
            if not f.demoted:
                f.root_cause = True
