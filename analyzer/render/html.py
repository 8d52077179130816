"""The HTML report: one self-contained file (inline CSS and JS, no external URL of any kind).

Everything that comes from the bundle is escaped by jinja2's autoescape; the only markup we
produce ourselves is the small Markdown subset of the rules' cause/fix text (paragraphs,
lists, inline code, fenced code blocks), which is escaped first and marked up afterwards.
A strict Content-Security-Policy (no network, only our own script by hash) backs this up.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import html
import importlib.resources
import os
import re
from typing import Any

import jinja2
from markupsafe import Markup

from k8s_bundle import __version__
from k8s_bundle.analyzer.model import Evidence, Finding
from k8s_bundle.analyzer.render.coverage_view import coverage_view
from k8s_bundle.analyzer.render.evidence_view import evidence_view
from k8s_bundle.analyzer.triage import Problem, triage
from k8s_bundle.analyzer.render.common import (MAX_PROBLEMS_SHOWN_PER_NODE, bundle_info, collection_problems,
                                               collection_problems_left_out, counts, failed_hosts,
                                               incomplete_nodes, node_overview, now_utc)

UI: dict[str, dict[str, str]] = {
    "title": {"en": "Support bundle report", "zh": "诊断包分析报告"},
    "created": {"en": "collected", "zh": "采集时间"},
    "format": {"en": "format", "zh": "格式"},
    "generated": {"en": "analyzed", "zh": "分析时间"},
    "critical": {"en": "critical", "zh": "严重"},
    "warning": {"en": "warnings", "zh": "警告"},
    "info": {"en": "info", "zh": "提示"},
    "severity": {"en": "Severity", "zh": "级别"},
    "node": {"en": "Node", "zh": "节点"},
    "findings": {"en": "Findings", "zh": "发现的问题"},
    "no_findings": {"en": "No rule found a problem in this bundle.", "zh": "规则没有在该诊断包中发现问题。"},
    "no_match": {"en": "No finding matches the filter.", "zh": "没有符合筛选条件的问题。"},
    "root_cause": {"en": "likely root cause", "zh": "可能的根因"},
    "whole_bundle": {"en": "whole bundle", "zh": "整个诊断包"},
    "seen": {"en": "seen", "zh": "出现于"},
    "explained_by": {"en": "Likely caused by", "zh": "可能由以下问题引起"},
    "explains": {"en": "Likely explains", "zh": "可能导致了"},
    "below_threshold": {"en": "below threshold", "zh": "未达阈值"},
    "caveat": {"en": "Note", "zh": "注意"},
    "evidence": {"en": "Evidence", "zh": "证据"},
    "matching_lines": {"en": "matching lines", "zh": "条匹配日志"},
    "location": {"en": "File:line", "zh": "文件:行"},
    "time": {"en": "Time (UTC)", "zh": "时间 (UTC)"},
    "line": {"en": "Log line", "zh": "日志"},
    # Log evidence (evidence.html.j2); {placeholders} are filled with escaped values
    "ev_more": {"en": "{n} more matching lines", "zh": "另外 {n} 条匹配日志"},
    "ev_not_kept": {"en": "{n} more matching lines not kept in this report: see {file} lines {a}–{b}",
                    "zh": "另有 {n} 条匹配日志未保留在报告中：见 {file} 第 {a}–{b} 行"},
    "ev_file": {"en": "File", "zh": "文件"},
    "ev_range": {"en": "Lines (first–last)", "zh": "行号（首–末）"},
    "ev_zone": {"en": "node time: UTC{zone}", "zh": "节点时间：UTC{zone}"},
    "ev_no_context": {"en": "{n} of these lines are shown without context: a report shows the context of {max} lines "
                            "at most (the first 5 of every finding first)",
                      "zh": "其中 {n} 行未显示上下文：一份报告最多显示 {max} 行的上下文（优先每个问题的前 5 行）"},
    "item": {"en": "Item", "zh": "采集项"},
    "status": {"en": "Status", "zh": "状态"},
    "source": {"en": "Command / source", "zh": "命令 / 来源"},
    "error": {"en": "Error", "zh": "错误"},
    "cause": {"en": "Why it matters", "zh": "原因"},
    "fix": {"en": "Fix", "zh": "解决方法"},
    "references": {"en": "References", "zh": "参考"},
    "nodes": {"en": "Nodes", "zh": "节点概览"},
    "distro": {"en": "Distribution", "zh": "发行版"},
    "kernel": {"en": "Kernel", "zh": "内核"},
    "arch": {"en": "Arch", "zh": "架构"},
    "roles": {"en": "Roles", "zh": "角色"},
    "runtime": {"en": "Runtime", "zh": "运行时"},
    "versions": {"en": "Versions", "zh": "版本"},
    "logs_checked": {"en": "Logs checked", "zh": "已检查的日志"},
    "logs_help": {"en": "Where each node's kubelet, container runtime and kernel lines were found; "
                        "a component without lines is a blind spot (finding log-blind-spot).",
                  "zh": "各节点 kubelet、容器运行时和内核日志所在的文件；没有日志行的组件是盲区（问题 log-blind-spot）。"},
    "component": {"en": "Component", "zh": "组件"},
    "files": {"en": "Files", "zh": "文件"},
    "no_log": {"en": "no lines in the bundle", "zh": "诊断包中没有日志行"},
    "no_nodes": {"en": "The bundle names no node.", "zh": "诊断包中没有节点信息。"},
    "collection": {"en": "Collection problems", "zh": "采集问题"},
    "no_collection_problems": {"en": "Every item was collected.", "zh": "所有项目均已采集。"},
    "failed_hosts": {"en": "Hosts not collected whole", "zh": "未采集完整的主机"},
    "failed_hosts_help": {"en": "Remote hosts that failed, passed their deadline, were interrupted or never "
                                "started (manifest failed_hosts): nothing in this report covers what they lack.",
                          "zh": "失败、超过期限、被中断或未开始的远程主机（manifest 中的 failed_hosts）：报告不覆盖它们缺失的部分。"},
    "host": {"en": "Host", "zh": "主机"},
    "transport": {"en": "Transport", "zh": "连接方式"},
    "state": {"en": "State", "zh": "状态"},
    "stored": {"en": "Stored", "zh": "已保存"},
    "stored_some": {"en": "part", "zh": "部分"},
    "stored_none": {"en": "nothing", "zh": "无"},
    "hosts_left_out": {"en": "… and {n} more hosts, not listed (the report lists the first {shown}; the JSON "
                             "report lists all)",
                       "zh": "…… 另有 {n} 台主机未列出（报告只列出前 {shown} 台；JSON 报告列出全部）"},
    "incomplete_nodes": {"en": "Nodes collected in part", "zh": "只采集了一部分的节点"},
    "reason": {"en": "Reason", "zh": "原因"},
    "left_out": {"en": "… and {n} more items with problems on this node, not listed (the report lists the first {shown})",
                 "zh": "…… 该节点另有 {n} 个有问题的采集项未列出（报告只列出前 {shown} 个）"},
    "unexplained": {"en": "Errors no rule explains", "zh": "没有规则解释的错误"},
    "unexplained_help": {
        "en": "Warning and error lines that no rule matched, grouped by what stays the same between occurrences "
              "(numbers, ids, addresses, paths and pod names are masked), most telling first. "
              "Lines that healthy nodes print too are ranked down and marked.",
        "zh": "没有任何规则匹配的警告和错误日志，按不变的部分归组（数字、ID、地址、路径和 Pod 名称已被替换），"
              "最能说明问题的排在前面。健康节点上也会出现的日志排在后面并加以标注。"},
    "no_unexplained": {"en": "Every warning and error line is explained by a rule.", "zh": "所有警告和错误日志都已有规则解释。"},
    "template": {"en": "Template", "zh": "模板"},
    "level": {"en": "Level", "zh": "级别"},
    "lines": {"en": "Lines", "zh": "行数"},
    "example": {"en": "example", "zh": "示例"},
    "common": {"en": "common on healthy nodes", "zh": "健康节点上也常见"},
    # What was checked (coverage.html.j2)
    "coverage": {"en": "What was checked", "zh": "检查了什么"},
    "reference_time": {"en": "reference time", "zh": "参考时间"},
    "cov_passed": {"en": "passed", "zh": "通过"},
    "cov_fired": {"en": "found a problem", "zh": "发现问题"},
    "cov_could_not": {"en": "could not evaluate", "zh": "无法评估"},
    "cov_not_applicable": {"en": "not applicable", "zh": "不适用"},
    "cov_could_not_title": {"en": "Checks that could not evaluate", "zh": "无法评估的检查"},
    "cov_could_not_help": {
        "en": "These rules found nothing only because an input they read is missing on the node: they are not "
              "counted as passed. Collect the missing input again to check them.",
        "zh": "这些规则没有发现问题，只是因为它们读取的输入在该节点上缺失：不计为通过。重新采集缺失的输入后才能检查。"},
    "cov_reason": {"en": "Reason", "zh": "原因"},
    "cov_checks": {"en": "Checks", "zh": "检查数"},
    "cov_rules": {"en": "Rules", "zh": "规则"},
    "cov_nodes": {"en": "Nodes", "zh": "节点"},
    "cov_all_evaluated": {"en": "Every check had the inputs it reads.", "zh": "每项检查都有其所需的输入。"},
    "contents": {"en": "Contents", "zh": "目录"},
    "fix_first": {"en": "What to fix first", "zh": "优先处理"},
    "triage_help": {"en": "{roots} root causes to look at, for {problems} problems ({findings} findings). Each lists the "
                          "problems it likely causes (folded); fix it first and they may go away.",
                    "zh": "共 {problems} 个问题（{findings} 条发现），需先查看 {roots} 个根因。每个根因下折叠列出它可能导致的问题；"
                          "先修复根因，这些问题可能随之消失。"},
    "explains_n": {"en": "likely explains {n} more problem(s)", "zh": "可能导致了另外 {n} 个问题"},
    "nodes_more": {"en": "and {n} more", "zh": "另有 {n} 个"},
    "also_under": {"en": "also caused by", "zh": "也可能由以下问题引起："},
    "cluster_view": {"en": "cluster view", "zh": "集群视角"},
    "search": {"en": "Search", "zh": "搜索"},
    "copy": {"en": "Copy", "zh": "复制"},
    "copied": {"en": "Copied", "zh": "已复制"},
    "same_text": {"en": "Why it matters, the fix and references: as for", "zh": "原因、解决方法和参考：同"},
    "sev_critical": {"en": "critical", "zh": "严重"},
    "sev_warning": {"en": "warning", "zh": "警告"},
    "sev_info": {"en": "info", "zh": "提示"},
}
# The HTML report lists at most this many hosts of failed_hosts (the JSON report all of them):
# a run of hundreds of unreachable hosts must not bury the rest of the page.
MAX_HOSTS_SHOWN = 200
PROMINENT_TEMPLATES = 10   # the top templates that decide whether the table goes above the findings

_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_BULLET = re.compile(r"^\s*[-*] ")


def markdown(text: str | None) -> Markup:
    """The Markdown subset rules use, rendered safely: escape first, then add our own tags."""
    if not text:
        return Markup("")
    out: list[str] = []
    pos = 0
    for m in _FENCE.finditer(text):
        out.append(_blocks(text[pos:m.start()]))
        # A copy button per code block (copy.js); both languages, as everything on the page.
        out.append('<div class="code"><button type="button" class="copy" title="Copy / 复制">'
                   '<span class="l-en">Copy</span><span class="l-zh">复制</span></button>'
                   f"<pre><code>{html.escape(m.group(1).rstrip(chr(10)))}</code></pre></div>")
        pos = m.end()
    out.append(_blocks(text[pos:]))
    return Markup("".join(out))


def _blocks(text: str) -> str:
    parts = []
    for block in re.split(r"\n\s*\n", text.strip("\n")):
        lines = [ln for ln in block.splitlines() if ln.strip()]
        if not lines:
            continue
        if all(_BULLET.match(ln) for ln in lines):
            items = "".join("<li>" + _inline(_BULLET.sub("", ln)) + "</li>" for ln in lines)
            parts.append(f"<ul>{items}</ul>")
        else:
            parts.append("<p>" + "<br>".join(_inline(ln) for ln in lines) + "</p>")
    return "".join(parts)


def _inline(line: str) -> str:
    escaped = html.escape(line.strip())
    return _INLINE_CODE.sub(lambda m: f"<code>{m.group(1)}</code>", escaped)


# The troubleshooting guides rules cite as `seed: "NNN section"` (rules/seed-catalogue.yaml):
# a reader of the report has no seeds folder, so name the guide itself.
SEED_GUIDES = {
    "000": "Troubleshooting kubeadm (kubernetes.io)",
    "001": "Kubernetes handbook: cluster troubleshooting (集群排错)",
    "002": "Kubernetes common errors (Kubernetes常见报错)",
    "003": "K8S FAQ (K8S 常见问题)",
    "004": "Troubleshooting Kubernetes on Windows (Microsoft Learn)",
}


def seed_reference_text(seed: str) -> str:
    number, _, section = seed.partition(" ")
    guide = SEED_GUIDES.get(number)
    if guide is None:
        return f"guide {seed}"
    return f"{guide} § {section}" if section else guide


def reference_link(ref: dict[str, str]) -> dict[str, str | None]:
    """Text and (only for http/https) a plain link the reader may click; nothing loads on open."""
    if "url" in ref and re.match(r"^https?://", str(ref["url"])):
        return {"text": ref.get("title") or ref["url"], "href": ref["url"]}
    if "issue" in ref:
        m = re.match(r"^([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)#([0-9]+)$", str(ref["issue"]))
        if m:
            return {"text": ref["issue"], "href": f"https://github.com/{m.group(1)}/issues/{m.group(2)}"}
        return {"text": str(ref["issue"]), "href": None}
    if "seed" in ref:
        return {"text": seed_reference_text(str(ref["seed"])), "href": None}
    return {"text": ", ".join(f"{k}: {v}" for k, v in ref.items()), "href": None}


# The page's style and script, inlined in this order (each file one concern). The script is
# allowed by its hash in the CSP, so the files are joined before hashing.
CSS_FILES = ("report.css", "timeline.css", "evidence.css", "coverage.css")
JS_FILES = ("report.js", "navigate.js", "search.js", "copy.js", "timeline.js")


class _PackageLoader(jinja2.BaseLoader):
    """Templates from the installed k8s_bundle.report_templates (also inside the static binary)."""

    def get_source(self, environment: jinja2.Environment, name: str) -> tuple[str, None, Any]:
        node = importlib.resources.files("k8s_bundle.report_templates").joinpath(name)
        if "/" in name or not node.is_file():
            raise jinja2.TemplateNotFound(name)
        return node.read_text(encoding="utf-8"), None, lambda: True


@functools.lru_cache(maxsize=1)
def template_environment() -> jinja2.Environment:
    """The report templates' environment (autoescape on); the multi-bundle page uses it too."""
    env = jinja2.Environment(loader=_PackageLoader(), autoescape=True, undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=False)
    env.filters["markdown"] = markdown
    return env


@functools.lru_cache(maxsize=1)
def _assets() -> tuple[jinja2.Template, Markup, Markup, str]:
    folder = importlib.resources.files("k8s_bundle.report_templates")
    template = template_environment().get_template("report.html.j2")
    css = "\n".join(folder.joinpath(n).read_text(encoding="utf-8") for n in CSS_FILES)
    js = "\n".join(folder.joinpath(n).read_text(encoding="utf-8") for n in JS_FILES)
    digest = base64.b64encode(hashlib.sha256(js.encode("utf-8")).digest()).decode("ascii")
    # Our own static files: safe to inline verbatim (no bundle data in them).
    return template, Markup(css), Markup(js), f"sha256-{digest}"


def unexplained_first(findings: list[Finding], unexplained: list[Any]) -> bool:
    """The table of unexplained errors goes above the findings when a node among the top
    templates (those healthy nodes do not print) has no critical finding to explain it."""
    explained: set[str] = set()
    for f in findings:
        if f.severity != "critical":
            continue
        if f.node is None and not f.nodes:
            return False   # a critical bundle/cluster finding explains every node
        explained.update(([f.node] if f.node else []) + list(f.nodes))
    for t in unexplained[:PROMINENT_TEMPLATES]:
        if not t.common and any(n not in explained for n in t.nodes):
            return True
    return False


def render_html(evidence: Evidence, findings: list[Finding], lang: str = "en",
                unexplained: list[Any] | None = None) -> str:
    """The report page; `unexplained`: analyzer.unexplained templates (None: no such section)."""
    template, css, js, script_hash = _assets()
    return template.render(css=css, js=js, script_hash=script_hash,
                           **report_context(evidence, findings, lang, unexplained))


def report_context(evidence: Evidence, findings: list[Finding], lang: str = "en",
                   unexplained: list[Any] | None = None, id_prefix: str = "") -> dict[str, Any]:
    """Everything report.html.j2 and its partials show of one bundle, but the page's own assets.

    id_prefix goes before every element id (finding anchors `f-N`, section ids): the
    multi-bundle report shows many bundles in one page (analyzer/render/multi_html.py)."""
    # Root cause first (analyzer/triage.py): the finding sections follow the triage order,
    # each root's own findings, then its symptoms, each finding once.
    problems = triage(findings)
    ordered: list[Finding] = []
    placed: set[int] = set()
    for p in problems:
        for f in p.findings + [g for q in p.explains for g in q.findings]:
            if id(f) not in placed:
                placed.add(id(f))
                ordered.append(f)
    ordered += [f for f in findings if id(f) not in placed]
    findings = ordered
    anchor_of = {id(f): f"{id_prefix}f-{i}" for i, f in enumerate(findings, 1)}
    from k8s_bundle.analyzer.render.timeline_svg import page_timeline   # polars: only when a page is drawn
    rows = []
    # A rule's cause, fix and references are the same on every node: the page shows them on
    # the rule's first finding and links there from the others (at 2,000 nodes the repeated
    # text made most of a 35 MB page).
    first_of_rule: dict[str, str] = {}
    for i, f in enumerate(findings, 1):
        text_ref = first_of_rule.setdefault(f.rule_id, anchor_of[id(f)])
        rows.append({
            "text_ref": None if text_ref == anchor_of[id(f)] else "#" + text_ref,
            "crossrefs": {"explained_by": _crossrefs(f, f.explained_by, findings, anchor_of),
                          "explains": _crossrefs(f, f.explains, findings, anchor_of)},
            "anchor": f"{id_prefix}f-{i}",
            "rule_id": f.rule_id, "severity": f.severity, "node": f.node, "nodes": f.nodes,
            "filter_nodes": f.nodes or ([f.node] if f.node else []),
            "title": f.title, "message": f.message, "cause": f.cause, "fix": f.fix,
            "references": [reference_link(r) for r in f.references],
            "log_lines": f.log_lines, "log_count": f.log_count, "fact_lines": f.fact_lines,
            "log_view": evidence_view(f, evidence),   # evidence.html.j2
            "items": f.items, "first_seen": f.first_seen, "last_seen": f.last_seen,
            "root_cause": f.root_cause, "explains": f.explains, "explained_by": f.explained_by,
            "below_threshold": f.below_threshold, "caveats": f.caveats,
        })
    nodes = node_overview(evidence, findings)
    hosts = failed_hosts(evidence)
    node_filter = sorted({n["name"] for n in nodes} | {n for r in rows for n in r["filter_nodes"]})
    return dict(
        id_prefix=id_prefix,
        lang=lang if lang in ("en", "zh") else "en",
        ui=UI,
        version=__version__,
        generated_at=now_utc(),
        bundle=bundle_info(evidence),
        bundle_name=os.path.basename(str(evidence.source).rstrip("/")),
        counts=counts(findings),
        findings=rows,
        nodes=nodes,
        node_filter=node_filter,
        collection_problems=collection_problems(evidence),
        failed_hosts=hosts[:MAX_HOSTS_SHOWN],
        hosts_left_out=({lang: text.format(n=f"{len(hosts) - MAX_HOSTS_SHOWN:,}", shown=MAX_HOSTS_SHOWN)
                         for lang, text in UI["hosts_left_out"].items()} if len(hosts) > MAX_HOSTS_SHOWN else None),
        incomplete_nodes=incomplete_nodes(evidence),
        collection_left_out=[
            (node, {lang: text.format(n=n, shown=MAX_PROBLEMS_SHOWN_PER_NODE) for lang, text in UI["left_out"].items()})
            for node, n in collection_problems_left_out(evidence).items()
        ],
        unexplained=unexplained,
        unexplained_first=bool(unexplained) and unexplained_first(findings, unexplained),
        problems=[_problem_row(p, anchor_of) for p in problems],
        timeline=page_timeline(evidence, findings, anchor_of, id_prefix),   # analyzer/timeline.py
        coverage=coverage_view(evidence),   # what was checked, the reference time (analyzer/coverage.py)
    )


def _crossrefs(f: Finding, rule_ids: list[str], findings: list[Finding],
               anchor_of: dict[int, str]) -> list[dict[str, Any]]:
    """The findings behind an explains/explained_by list, as links: the same node's first,
    then the cluster finding, then any node's (as engine.correlate linked them)."""
    out = []
    for rid in rule_ids:
        same = [g for g in findings if g.rule_id == rid]
        best = ([g for g in same if g.node == f.node] or [g for g in same if g.node is None] or same)[:1]
        for g in best:
            out.append({"href": "#" + anchor_of[id(g)], "title": g.title, "rule_id": rid, "node": g.node})
        if not best:
            out.append({"href": None, "title": {}, "rule_id": rid, "node": None})
    return out


def _each_title_first(findings: list[Finding]) -> list[Finding]:
    """A problem's findings with the first of each distinct title up front: one rule may report
    different things (log-blind-spot: no containerd log, no kernel log on each node), and the
    triage entry shows only its first links."""
    first_of: dict[str, Finding] = {}
    for f in findings:
        first_of.setdefault(str(f.title.get("en")), f)
    firsts = {id(f) for f in first_of.values()}
    return list(first_of.values()) + [f for f in findings if id(f) not in firsts]


def _problem_row(p: Problem, anchor_of: dict[int, str]) -> dict[str, Any]:
    """One entry of "What to fix first": the problem, links to its findings and symptoms."""
    def link(q: Problem) -> dict[str, Any]:
        return {"key": q.key, "title": q.lead.title, "severity": q.severity, "nodes": q.nodes,
                "href": "#" + anchor_of[id(q.lead)], "first_seen": q.first_seen or "",
                "last_seen": q.last_seen or q.first_seen or "",
                "anchors": [anchor_of[id(f)] for f in q.findings]}
    return {**link(p), "root": p.root, "effective_severity": p.effective_severity, "message": p.lead.message,
            "below_threshold": all(f.below_threshold for f in p.findings),
            "findings": [{"href": "#" + anchor_of[id(f)], "node": f.node, "rule_id": f.rule_id,
                          "title": f.title, "severity": f.severity} for f in _each_title_first(p.findings)],
            "explains": [link(q) for q in p.explains],
            "explained_by": [link(q) for q in p.explained_by]}
