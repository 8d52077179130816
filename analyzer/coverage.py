"""What was checked: the outcome of every rule on every node the engine visits.

A quiet report reads as "nothing wrong" only when the rules could look. For each rule and node
(cluster rules once) the engine records one outcome:

- fired: the rule made a finding;
- passed: it was evaluated and found nothing, on the inputs it reads;
- not applicable: a rule for another platform, or a kubelet/runtime log rule on a host that
  shows no sign of Kubernetes (the `not-a-kubernetes-node` finding says so);
- could not evaluate: it found nothing, but only because an input it reads is missing.

"Because an input is missing" is decided with three-valued logic over the rule's condition
tree: a leaf whose input is missing is unknown, `all` is false as soon as one part is false
(whatever the unknowns), `any` true as soon as one is true, `not` keeps unknown. So a rule
`all: [kubelet log says X, swap is on]` on a node without a kubelet log but with swap off
passed (it could not have fired); with swap on it could not evaluate. The unknown leaves, and
the reason each gives, as an engineer reads them:

- a log condition reading the kubelet, the container runtime or the kernel, on a node whose
  bundle holds no line of that component (analyzer/blindspots.py coverage): "no kubelet log
  on this node"; likewise etcd, kube-apiserver, kube-controller-manager and kube-scheduler on
  a node that runs them as static pods (kubeadm) when no log file of theirs is in the bundle,
  for the rules about that component (`components:`) whose sources name its places;
- a fact condition reading a node fact that is absent, when the manifest item producing it
  (the parser registry maps facts to members, members to items) failed, timed out, was
  truncated, was not collected or was dropped: "no docker info: docker-info timed out"; a
  fact whose member was collected but could not be parsed: "could not parse ...";
- a fact condition reading `cluster.*` when the bundle holds no cluster/ objects: "no
  cluster data";
- a file condition asking for a file whose item failed in one of those ways.

Cost: rules whose leaves all have their inputs (the usual case) pass without any extra work;
only rules with an unknown leaf are walked again, and the fact conditions the engine skipped
are evaluated within an allowance of their own (engine `_Context.quiet_truth`), never the
rules' CEL budgets, so coverage cannot change a finding.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from k8s_bundle.analyzer.model import Evidence
from k8s_bundle.analyzer.rules_load import (AllCond, AnyCond, CommandCond, Condition, FactCond, FileCond, LogCond,
                                            NotCond, ProblemCond, Rule)

OUTCOMES = ("fired", "passed", "not_applicable", "could_not")
# Manifest statuses after which the item's fact may be missing for want of collection (not
# `not_found`: the command or file does not exist on the node, and the fact is rightly absent).
MISSING_STATUSES = ("failed", "timeout", "truncated", "skipped", "permission_denied", "redaction_failed")
_STATUS = {
    "failed": {"en": "failed", "zh": "失败"},
    "timeout": {"en": "timed out", "zh": "超时"},
    "truncated": {"en": "was truncated", "zh": "被截断"},
    "skipped": {"en": "was not collected", "zh": "未采集"},
    "permission_denied": {"en": "needed root", "zh": "需要 root 权限"},
    "redaction_failed": {"en": "was dropped (could not be redacted)", "zh": "因无法脱敏被丢弃"},
}
_LOG_COMPONENTS = ("kubelet", "containerd", "docker", "crio", "runtime", "kernel")
_COMPONENT_NAME = {"crio": "CRI-O", "runtime": "container runtime", "apiserver": "kube-apiserver",
                   "controller-manager": "kube-controller-manager", "scheduler": "kube-scheduler"}
_COMPONENT_NAME_ZH = {**_COMPONENT_NAME, "runtime": "容器运行时", "kernel": "内核"}
# Not-applicable reasons (counted, not listed as gaps).
NOT_APPLICABLE = {
    "platform": {"en": "for another platform", "zh": "适用于其他平台"},
    "not-kubernetes": {"en": "kubelet/runtime log checks on a host that is not a Kubernetes node",
                       "zh": "在不是 Kubernetes 节点的主机上读取 kubelet/运行时日志的检查"},
}
_NODE_REF = re.compile(r"(?<![\w.])node\.([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*))?")
_ROOT_REF = re.compile(r"(?<![\w.])(cluster|vars)\.([A-Za-z_]\w*)")
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'" + r'|"(?:[^"\\]|\\.)*"')


@dataclass
class Reason:
    """Why a leaf could not be evaluated: a stable key (JSON, grouping) and the words."""

    key: str                    # no-log:kubelet | item:docker-info:timeout | parse-error:certs | no-cluster-data | too-large | not-kubernetes
    label: dict[str, str]       # en, zh
    not_applicable: bool = False


@dataclass
class CoverageGroup:
    """The rule x node pairs that could not evaluate for one reason."""

    reason: str
    label: dict[str, str]
    count: int = 0
    rules: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)      # empty for cluster rules only


@dataclass
class Coverage:
    """The outcome counts of one bundle's evaluation; `Evidence.coverage`, read by the renderers."""

    rules: int = 0              # rules loaded
    node_rules: int = 0
    cluster_rules: int = 0
    nodes: int = 0
    fired: int = 0
    passed: int = 0
    not_applicable: int = 0
    could_not: int = 0
    not_applicable_by: dict[str, int] = field(default_factory=dict)
    groups: list[CoverageGroup] = field(default_factory=list)   # most pairs first
    reference_time: str | None = None
    reference_time_source: str = "today"                # manifest | today
    reference_time_why: str | None = None               # no-manifest | no-created-at (source today)

    @property
    def total(self) -> int:
        """rules x nodes for node rules, plus the cluster rules: every outcome recorded."""
        return self.fired + self.passed + self.not_applicable + self.could_not

    def document(self) -> dict[str, Any]:
        """The JSON report's `coverage` (docs/report-schema.md)."""
        return {
            "rules": self.rules, "node_rules": self.node_rules, "cluster_rules": self.cluster_rules,
            "nodes": self.nodes, "evaluated": self.total,
            "fired": self.fired, "passed": self.passed, "not_applicable": self.not_applicable,
            "could_not_evaluate": self.could_not,
            "not_applicable_by": dict(self.not_applicable_by),
            "could_not_evaluate_by": [
                {"reason": g.reason, "label": g.label, "count": g.count, "rules": g.rules, "nodes": g.nodes}
                for g in self.groups
            ],
            "reference_time": self.reference_time,
            "reference_time_source": self.reference_time_source,
            "reference_time_why": self.reference_time_why,
        }


class CoverageRecorder:
    """Built once per evaluate(): the tables the unknown-leaf tests need, and the counts."""

    def __init__(self, rules: list[Rule], evidence: Evidence, nodes: list[str],
                 presence: dict[str, Any]) -> None:
        self.evidence = evidence
        self.presence = presence
        self.cov = Coverage(rules=len(rules), node_rules=sum(r.scope != "cluster" for r in rules),
                            cluster_rules=sum(r.scope == "cluster" for r in rules), nodes=len(nodes))
        bundle = evidence.bundle or {}
        self.cov.reference_time = bundle.get("reference_time")
        self.cov.reference_time_source = str(bundle.get("reference_time_source") or "today")
        if self.cov.reference_time_source != "manifest":
            self.cov.reference_time_why = "no-manifest" if not evidence.manifest else "no-created-at"
        self._groups: dict[str, CoverageGroup] = {}
        self._group_rules: dict[str, set[str]] = {}
        self._group_nodes: dict[str, set[str]] = {}
        self._blind: dict[str, dict[str, Reason]] | None = None       # node -> component -> reason
        self._reads: dict[tuple[int, str], bool] = {}
        self._rule_inputs: dict[int, tuple[Condition, ...]] = {}
        self._fact_refs: dict[int, tuple[tuple[str, str], ...]] = {}
        self._missing: dict[tuple[str | None, str, str], Reason | None] = {}
        self._failed: dict[str | None, _FailedItems] | None = None
        self._cluster_data = bool((evidence.cluster or {}).get("available"))

    # -- recording ------------------------------------------------------------------------
    def fired(self, rule: Rule, node: str | None) -> None:
        self.cov.fired += 1

    def not_applicable(self, rule: Rule, node: str | None, why: str = "platform") -> None:
        self.cov.not_applicable += 1
        self.cov.not_applicable_by[why] = self.cov.not_applicable_by.get(why, 0) + 1

    def quiet(self, rule: Rule, node: str | None, leaf_truth: Callable[[Condition], bool | None]) -> None:
        """The rule found nothing on `node`: passed, or could not evaluate (and why).

        leaf_truth(cond): the strict truth of a leaf as the engine sees it (None: a fact
        expression that could not be evaluated within coverage's allowance)."""
        unknown = self._unknown_leaves(rule, node)
        if not unknown:
            self.cov.passed += 1
            return
        value, reason = _kleene(rule.match, unknown, leaf_truth)
        if value is not None or reason is None:
            self.cov.passed += 1      # false (or true on a budget edge) whatever the unknown inputs hold
        elif reason.not_applicable:
            self.not_applicable(rule, node, reason.key)
        else:
            self._could_not(rule, node, reason)

    def _could_not(self, rule: Rule, node: str | None, reason: Reason) -> None:
        self.cov.could_not += 1
        g = self._groups.get(reason.key)
        if g is None:
            g = self._groups[reason.key] = CoverageGroup(reason.key, reason.label)
            self._group_rules[reason.key], self._group_nodes[reason.key] = set(), set()
        g.count += 1
        if rule.id not in self._group_rules[reason.key]:
            self._group_rules[reason.key].add(rule.id)
            g.rules.append(rule.id)
        if node is not None and node not in self._group_nodes[reason.key]:
            self._group_nodes[reason.key].add(node)
            g.nodes.append(node)

    def finish(self) -> Coverage:
        self.cov.groups = sorted(self._groups.values(), key=lambda g: (-g.count, g.reason))
        for g in self.cov.groups:
            g.rules.sort()
        return self.cov

    # -- unknown leaves -------------------------------------------------------------------
    def _unknown_leaves(self, rule: Rule, node: str | None) -> dict[int, Reason]:
        """id(leaf) -> the reason its input is missing, for the leaves of rule.match."""
        out: dict[int, Reason] = {}
        blind = self._blind_components().get(node) if node is not None else None
        for cond in self._inputs(rule):
            reason: Reason | None = None
            if isinstance(cond, LogCond):
                if blind:
                    reason = self._log_reason(rule, cond, blind)
            elif isinstance(cond, FactCond):
                for root, key in self._refs(rule, cond):
                    reason = self._missing_fact(node, root, key)
                    if reason is not None:
                        break
            elif node is not None:     # a file the rule needs present
                reason = self._file_reason(cond, node)
            if reason is not None:
                out[id(cond)] = reason
        return out

    def _inputs(self, rule: Rule) -> tuple[Condition, ...]:
        """The leaves of rule.match whose input may be missing (logs, facts, files asked to be
        present), found once per rule."""
        key = id(rule)
        if key not in self._rule_inputs:
            self._rule_inputs[key] = tuple(c for c in _leaves(rule.match) if isinstance(c, (LogCond, FactCond))
                                           or (isinstance(c, FileCond) and c.present))
        return self._rule_inputs[key]

    def _log_reason(self, rule: Rule, cond: LogCond, blind: dict[str, Reason]) -> Reason | None:
        from k8s_bundle.analyzer.blindspots import log_reads

        for comp, reason in blind.items():
            key = (id(cond), comp)
            reads = self._reads.get(key)
            if reads is None:
                if comp in _static_pod_components():
                    # one of its own places, in a rule about it (a sweep of @control-plane for an
                    # apiserver message does not need the etcd log)
                    own = _static_pod_components()[comp][2]
                    about = {c.lower() for c in rule.components} & {comp, _STATIC_PODS[comp]}
                    reads = bool(about) and bool(set(cond.sources) & own)
                else:
                    reads = log_reads(rule, cond, comp)
                self._reads[key] = reads
            if reads:
                return reason
        return None

    def _blind_components(self) -> dict[str, dict[str, Reason]]:
        """node -> {component: reason} for the kubelet, runtime and kernel logs the bundle
        holds no line of (computed once; the renderers read the same cached table)."""
        if self._blind is None:
            from k8s_bundle.analyzer.blindspots import coverage

            self._blind = {}
            for node, comps in coverage(self.evidence).items():
                is_k8s = (self.presence.get(node) or {}).get("node")
                for name, c in comps.items():
                    if c.get("files"):
                        continue
                    comp = str(c.get("component") or name)
                    if name in ("kubelet", "runtime") and is_k8s is False:
                        reason = Reason("not-kubernetes", NOT_APPLICABLE["not-kubernetes"], not_applicable=True)
                    else:
                        reason = _log_reason(comp)
                    self._blind.setdefault(node, {})[comp] = reason
            for node, comps in self._static_pod_blind().items():
                self._blind.setdefault(node, {}).update(comps)
        return self._blind

    def _static_pod_blind(self) -> dict[str, dict[str, Reason]]:
        """node -> {component: reason} for the control-plane components the node runs as static
        pods (kubeadm: etcd, kube-apiserver, ...) whose logs the bundle holds no file of."""
        sources: dict[str, list[str]] = {}
        for m in self.evidence.members or []:
            parts = m.split("/", 3)
            if len(parts) == 4 and parts[0] == "nodes" and parts[2] == "logs":
                sources.setdefault(parts[1], []).append(parts[3])
        out: dict[str, dict[str, Reason]] = {}
        for node, facts in (self.evidence.nodes or {}).items():
            pods = facts.get("static_pods") if isinstance(facts, dict) else None
            names = [str(p.get("name") or "") for p in pods if isinstance(p, dict)] if isinstance(pods, list) else []
            for comp, (prefix, globs, _) in _static_pod_components().items():
                if not any(n.startswith(prefix) for n in names):
                    continue
                if not any(rx.match(src) for src in sources.get(node, ()) for rx in globs):
                    out.setdefault(node, {})[comp] = _log_reason(comp)
        return out

    def _refs(self, rule: Rule, cond: FactCond) -> tuple[tuple[str, str], ...]:
        """(root, fact) pairs the expression reads, through the rule's vars: node facts one or
        two levels deep (`windows.hns`), cluster facts one level."""
        key = id(cond)
        if key not in self._fact_refs:
            var_exprs = {name: expr.text for name, expr in rule.vars}
            self._fact_refs[key] = tuple(_expr_refs(cond.expr.text, var_exprs))
        return self._fact_refs[key]

    def _missing_fact(self, node: str | None, root: str, fact: str) -> Reason | None:
        key = (node if root == "node" else None, root, fact)
        if key in self._missing:
            return self._missing[key]
        reason: Reason | None = None
        if root == "cluster":
            if not self._cluster_data:
                reason = Reason("no-cluster-data", {
                    "en": "no cluster data (the bundle holds no cluster/ objects)",
                    "zh": "没有集群数据（诊断包中没有 cluster/ 对象）"})
            elif fact not in (self.evidence.cluster or {}):
                reason = self._item_reason(None, fact, _cluster_members(fact))
        elif root == "node" and node is not None:
            facts = (self.evidence.nodes or {}).get(node) or {}
            if _get(facts, fact) is None:
                reason = self._item_reason(node, fact, _node_producers().get(fact, ()))
        self._missing[key] = reason
        return reason

    def _item_reason(self, node: str | None, fact: str, patterns: Iterable[tuple[re.Pattern[str], str]]) -> Reason | None:
        """Why a fact is absent: the item that should have produced it failed (or its member
        could not be parsed); None when nothing says it was missed (the fact is rightly absent)."""
        patterns = list(patterns)
        if not patterns:
            return None
        index = self._index(node)
        bad: dict[str, Any] | None = None
        for rx, stem in patterns:
            bad = index.by_stem.get(stem) if stem else None
            bad = bad or next((item for rel, item in index.bad if rx.match(rel)), None)
            if bad is not None:
                break
        name = fact.replace("_", " ").replace(".", " ")
        if bad is not None:
            return _item_failed(name, bad)
        for rel in index.parse_errors:
            if any(rx.match(rel) for rx, _ in patterns):
                member = _clip(rel)
                return Reason(f"parse-error:{fact}", {
                    "en": f"no {name}: {member} could not be parsed", "zh": f"没有 {name}：无法解析 {member}"})
        return None

    def _file_reason(self, cond: FileCond, node: str) -> Reason | None:
        """A file a rule asks for is not in the bundle: unknown when its item failed."""
        glob = cond.glob.lstrip("/")
        key = (node, "file", glob)
        if key not in self._missing:
            from k8s_bundle.analyzer.evaluate_logs import glob_to_regex

            rx = glob_to_regex(glob)
            bad = next((item for rel, item in self._index(node).bad if rx.match(rel)), None)
            self._missing[key] = _item_failed(glob, bad) if bad is not None else None
        return self._missing[key]

    def _index(self, node: str | None) -> "_FailedItems":
        """The node's items that failed in a way that loses their content (MISSING_STATUSES), by
        member path and by id, and the members that could not be parsed; built once per node
        (every item and problem is looked at once, whatever the number of rules)."""
        if self._failed is None:
            self._failed = {}
            for item in (self.evidence.manifest or {}).get("items") or []:
                if not isinstance(item, dict) or item.get("status") not in MISSING_STATUSES:
                    continue
                n = item.get("node") if isinstance(item.get("node"), str) else None
                for where in {n, None}:          # cluster facts look at every item
                    idx = self._failed.setdefault(where, _FailedItems())
                    rel = _item_member(item, f"nodes/{where}/" if where is not None else "")
                    if rel is not None:
                        idx.bad.append((rel, item))
                    elif isinstance(item.get("id"), str):
                        idx.by_stem.setdefault(item["id"], item)
            for p in self.evidence.problems:
                if p.kind == "parse-error" and p.path:
                    prefix = f"nodes/{p.node}/" if p.node is not None else ""
                    if p.path.startswith(prefix):
                        self._failed.setdefault(p.node, _FailedItems()).parse_errors.append(p.path[len(prefix):])
        return self._failed.get(node) or _FailedItems()


@dataclass
class _FailedItems:
    bad: list[tuple[str, dict[str, Any]]] = field(default_factory=list)    # (member path, item)
    by_stem: dict[str, dict[str, Any]] = field(default_factory=dict)       # id -> item that stored nothing
    parse_errors: list[str] = field(default_factory=list)                  # member paths


def _item_failed(name: str, item: dict[str, Any]) -> Reason:
    status = str(item.get("status"))
    words = _STATUS.get(status, {"en": status, "zh": status})
    item_id = _clip(str(item.get("id")))
    return Reason(f"item:{item_id}:{status}", {"en": f"no {name}: {item_id} {words['en']}",
                                                "zh": f"没有 {name}：{item_id} {words['zh']}"})


def _clip(text: str, limit: int = 80) -> str:
    """Item ids and member paths come from the bundle (hostile): a label stays short."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _log_reason(comp: str) -> Reason:
    en = _COMPONENT_NAME.get(comp, comp)
    zh = _COMPONENT_NAME_ZH.get(comp, comp)
    return Reason(f"no-log:{comp}", {"en": f"no {en} log on this node", "zh": f"该节点没有 {zh} 日志"})


# Control-plane components kubeadm runs as static pods: the pod name's prefix and the
# component's name in rules/components.yaml.
_STATIC_PODS = {"etcd": "etcd", "apiserver": "kube-apiserver", "controller-manager": "kube-controller-manager",
                "scheduler": "kube-scheduler"}


@functools.lru_cache(maxsize=1)
def _static_pod_components() -> dict[str, tuple[str, tuple[re.Pattern[str], ...], frozenset[str]]]:
    """component -> (static pod name prefix, matchers of its own log places, those globs): its
    places in rules/components.yaml without the shared ones (syslog, the k3s/rke2 units)."""
    from k8s_bundle.analyzer.evaluate_logs import glob_to_regex
    from k8s_bundle.analyzer.rules_load import expand_sources

    shared = set(expand_sources(["@embedded", "@syslog"]))
    out = {}
    for comp, prefix in _STATIC_PODS.items():
        own = [g for g in expand_sources([f"@{comp}"]) if g not in shared]
        out[comp] = (prefix, tuple(glob_to_regex(g) for g in own), frozenset(own))
    return out


def _leaves(cond: Condition) -> Iterable[Condition]:
    if isinstance(cond, (AllCond, AnyCond)):
        for part in cond.parts:
            yield from _leaves(part)
    elif isinstance(cond, NotCond):
        yield from _leaves(cond.part)
    else:
        yield cond


def _kleene(cond: Condition, unknown: dict[int, Reason],
            leaf: Callable[[Condition], bool | None]) -> tuple[bool | None, Reason | None]:
    """(true/false/None for unknown, the reason of the first unknown that decided it).

    Known leaves are asked lazily: `all` stops at its first false part, `any` at its first
    true one, so fact expressions run only where the outcome depends on them."""
    if isinstance(cond, (AllCond, AnyCond)):
        stop = not isinstance(cond, AllCond)   # all: a false part decides; any: a true one
        first: Reason | None = None
        undecided = False
        # parts with an unknown input last: a known part may decide without them
        for part in sorted(cond.parts, key=lambda p: any(id(x) in unknown for x in _leaves(p))):
            value, reason = _kleene(part, unknown, leaf)
            if value is stop:
                return stop, None
            if value is None:
                undecided = True
                first = first or reason
        return (None, first) if undecided else (not stop, None)
    if isinstance(cond, NotCond):
        value, reason = _kleene(cond.part, unknown, leaf)
        return (None, reason) if value is None else (not value, None)
    if id(cond) in unknown:
        return None, unknown[id(cond)]
    value = leaf(cond)
    if value is None:
        return None, Reason("too-large", {"en": "facts too large to evaluate within the coverage allowance",
                                          "zh": "事实数据过大，无法在覆盖检查的限额内求值"})
    return value, None


def _expr_refs(text: str, var_exprs: dict[str, str], seen: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    bare = _STRING.sub('""', text)
    out: list[tuple[str, str]] = []
    producers = _node_producers()
    for a, b in _NODE_REF.findall(bare):
        two = f"{a}.{b}" if b else ""
        ref = ("node", two if two in producers else a)
        if ref not in out:
            out.append(ref)
    for root, key in _ROOT_REF.findall(bare):
        if root == "cluster":
            if ("cluster", key) not in out:
                out.append(("cluster", key))
        elif key in var_exprs and key not in seen:
            out += [r for r in _expr_refs(var_exprs[key], var_exprs, seen | {key}) if r not in out]
    return out


@functools.lru_cache(maxsize=1)
def _node_producers() -> dict[str, tuple[tuple[re.Pattern[str], str], ...]]:
    """Node fact (first level, or two levels: `windows.hns`) -> (member regex, member stem) of
    every member a parser fills it from (the parser registry, docs/facts.md)."""
    from k8s_bundle.analyzer.evaluate_logs import glob_to_regex
    from k8s_bundle.analyzer.parsers import registry

    out: dict[str, list[tuple[re.Pattern[str], str]]] = {}
    for spec in registry().parsers:
        if spec.scope != "node":
            continue
        keys: set[str] = set()
        for fact in spec.facts:
            parts = fact.split(".") if fact else []
            keys |= set(parts[:1]) | ({".".join(parts[:2])} if len(parts) > 1 else set())
        if not keys:
            continue
        for pattern in spec.patterns:
            entry = (glob_to_regex(pattern), _stem(pattern))
            for k in keys:
                if entry not in out.setdefault(k, []):
                    out[k].append(entry)
    # a combiner's fact comes from the artifacts of the facts it reads
    for fin in registry().finalizers:
        if fin.scope == "node" and fin.builds:
            entries = out.setdefault(fin.builds, [])
            for source in fin.reads:
                entries += [e for e in out.get(source, []) if e not in entries]
    return {k: tuple(v) for k, v in out.items()}


def _cluster_members(fact: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    from k8s_bundle.analyzer.evaluate_logs import glob_to_regex

    return ((glob_to_regex(f"cluster/{fact}.json"), fact),)


def _stem(pattern: str) -> str:
    """`commands/docker-info.json` -> `docker-info`: the id of the item that writes it (ids of
    command and derived items are their file names); '' for a pattern with wildcards."""
    name = pattern.rsplit("/", 1)[-1]
    return "" if any(c in name for c in "*?[") else name.split(".", 1)[0]


def _item_member(item: dict[str, Any], prefix: str) -> str | None:
    """The member an item wrote, relative to its node's directory; for an item that stored
    nothing (path null), the file it reads (`source`) under files/ for file items, else None
    (command items are then known by their id)."""
    path = item.get("path")
    if isinstance(path, str) and path.startswith(prefix):
        return path[len(prefix):]
    source = item.get("source")
    if item.get("kind") in ("file", "glob") and isinstance(source, str) and source.startswith("/"):
        return "files" + source
    return None


def _get(facts: dict[str, Any], dotted: str) -> Any:
    value: Any = facts
    for k in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(k)
    return value
