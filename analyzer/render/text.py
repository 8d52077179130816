"""The short terminal summary `analyze` prints: counts, one line per finding, the failed
collection items, the report path, and what the exit code means."""
from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

from k8s_bundle.analyzer.analysis import exit_code_for
from k8s_bundle.analyzer.model import Evidence, Finding
from k8s_bundle.analyzer.render.common import (collection_problems, collection_problems_left_out, counts, failed_hosts,
                                               incomplete_nodes)
from k8s_bundle.analyzer.render.coverage_view import coverage_line

if TYPE_CHECKING:
    from k8s_bundle.analyzer.unexplained import Template

TOP_UNEXPLAINED = 5
_UNEXPLAINED_LABEL = {
    "en": {"unexplained": "Errors no rule explains (top {n} of {total} templates):",
           "common": "common on healthy nodes", "lines": "lines"},
    "zh": {"unexplained": "没有规则解释的错误（{total} 个模板中的前 {n} 个）：",
           "common": "健康节点上也常见", "lines": "行"},
}

_COLORS = {"critical": "\033[1;31m", "warning": "\033[33m", "info": "\033[36m"}
_RESET = "\033[0m"
_LABEL = {
    "en": {"critical": "critical", "warning": "warning", "info": "info", "none": "No problem found.",
           "report": "Report", "items": "collection item(s) failed, timed out or were truncated:",
           "hosts": "{failed} host(s) not collected whole, {partial} node(s) collected in part:",
           "root": "root cause", "whole": "(bundle)", "note": "note",
           "checked": "logs checked (nodes with lines)", "kubelet": "kubelet", "runtime": "runtime",
           "kernel": "kernel"},
    "zh": {"critical": "严重", "warning": "警告", "info": "提示", "none": "未发现问题。",
           "report": "报告", "items": "个采集项失败、超时或被截断：",
           "hosts": "{failed} 台主机未采集完整，{partial} 个节点只采集了一部分：", "root": "根因", "whole": "(诊断包)", "note": "注意",
           "checked": "已检查的日志（有日志行的节点）", "kubelet": "kubelet", "runtime": "容器运行时",
           "kernel": "内核"},
}


# The severity word of a finding line, padded to one column width (CJK characters are two wide).
_SEVERITY_WORD = {
    "en": {"critical": "CRITICAL", "warning": "WARNING", "info": "INFO"},
    "zh": {"critical": "严重", "warning": "警告", "info": "提示"},
}
# The last line: what the exit code of the run means, so a reader of a CI log need not look it up.
EXIT_MEANING = {
    "en": {0: "exit 0: nothing worse than info", 1: "exit 1: warnings, no critical finding",
           3: "exit 3: critical findings"},
    "zh": {0: "退出码 0：没有比提示更严重的问题", 1: "退出码 1：有警告，没有严重问题", 3: "退出码 3：有严重问题"},
}
# Failed collection items named in the summary; the rest are counted ("and N more").
ITEMS_NAMED = 5
_ITEMS_MORE = {"en": "and {n} more (see the report)", "zh": "另有 {n} 项（见报告）"}


def severity_word(severity: str, lang: str) -> str:
    """The severity of a finding as the summary prints it, padded to 8 columns."""
    word = _SEVERITY_WORD.get(lang, _SEVERITY_WORD["en"]).get(severity, severity.upper())
    width = sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in word)
    return word + " " * max(8 - width, 0)


def _clean(text: str, limit: int = 160) -> str:
    """One terminal line: no control characters from the bundle (no escape-sequence injection)."""
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_text(evidence: Evidence, findings: list[Finding], lang: str = "en",
                report_path: str | None = None, color: bool = False,
                unexplained: list[Template] | None = None) -> str:
    lab = _LABEL.get(lang, _LABEL["en"])
    c = counts(findings)
    lines = [
        f"{_clean(str(evidence.source))}: "
        + ", ".join(f"{c[s]} {lab[s]}" for s in ("critical", "warning", "info"))
    ]
    if not findings:
        lines.append(lab["none"])
    for f, folded in triage_order(findings):
        sev = severity_word(f.severity, lang)
        if color:
            sev = f"{_COLORS.get(f.severity, '')}{sev}{_RESET}"
        title = f.message.get(lang) or f.message.get("en") or f.title.get(lang) or f.title.get("en", "")
        root = f" [{lab['root']}]" if f.root_cause and not folded else ""
        where = f.node or lab["whole"]
        # a symptom is printed under the root cause that explains it, indented
        line = f"{'  └ ' if folded else ''}{sev} {_clean(where, 40)}  {f.rule_id}{root}: {_clean(title)}"
        lines.append(line)
        if f.log_lines:
            first = f.log_lines[0]
            lines.append(f"           {_clean(first.file, 80)}:{first.line}  {_clean(first.message, 120)}")
        elif f.items:
            i = f.items[0]
            lines.append(f"           {_clean(str(i.get('id')), 60)}: {i.get('status')} {_clean(str(i.get('error') or ''), 100)}")
        elif f.fact_lines:
            lines.append(f"           {_clean(f.fact_lines[0], 140)}")
        for c in f.caveats:
            lines.append(f"           {lab['note']}: {_clean(c.get(lang) or c.get('en', ''), 140)}")
    if unexplained:
        lines += _unexplained_lines(unexplained, _UNEXPLAINED_LABEL.get(lang, _UNEXPLAINED_LABEL["en"]))
    checked = _logs_checked(evidence, lab)
    if checked:
        lines.append(checked)
    covered = coverage_line(evidence, lang)   # rules passed / could not evaluate, the reference time
    if covered:
        lines.append(_clean(covered, 400))
    lines += _host_lines(evidence, lab, lang)
    listed = collection_problems(evidence)
    problems = len(listed) + sum(collection_problems_left_out(evidence).values())
    if problems:
        lines.append(f"{problems} {lab['items']}")
        for i in listed[:ITEMS_NAMED]:
            where = f"{i.get('node')}/{i.get('id')}" if i.get("node") else str(i.get("id"))
            error = f"  {_clean(str(i.get('error')), 100)}" if i.get("error") else ""
            lines.append(f"  {_clean(where, 80)}: {_clean(str(i.get('status')), 20)}{error}")
        if problems > ITEMS_NAMED:
            lines.append("  " + _ITEMS_MORE.get(lang, _ITEMS_MORE["en"]).format(n=problems - ITEMS_NAMED))
    if report_path:
        lines.append(f"{lab['report']}: {report_path}")
    lines.append(EXIT_MEANING.get(lang, EXIT_MEANING["en"])[exit_code_for(findings)])
    return "\n".join(lines) + "\n"


def _host_lines(evidence: Evidence, lab: dict[str, str], lang: str) -> list[str]:
    """The collection line for a fan-out run: hosts not collected whole (failed_hosts) and
    nodes cut short, counted, the first ITEMS_NAMED named."""
    hosts = failed_hosts(evidence)
    partial = incomplete_nodes(evidence)
    if not hosts and not partial:
        return []
    lines = [lab["hosts"].format(failed=len(hosts), partial=len(partial))]
    for h in hosts[:ITEMS_NAMED]:
        error = f"  {_clean(str(h.get('error')), 100)}" if h.get("error") else ""
        lines.append(f"  {_clean(str(h.get('host')), 60)} ({_clean(str(h.get('transport')), 10)}): "
                     f"{_clean(str(h.get('state')), 20)}{error}")
    if len(hosts) > ITEMS_NAMED:
        lines.append("  " + _ITEMS_MORE.get(lang, _ITEMS_MORE["en"]).format(n=len(hosts) - ITEMS_NAMED))
    return lines


def triage_order(findings: list[Finding]) -> list[tuple[Finding, bool]]:
    """Each finding once, root causes first (analyzer/triage.py), each followed by the
    findings it explains (True: folded under a root shown above)."""
    from k8s_bundle.analyzer.triage import triage

    out: list[tuple[Finding, bool]] = []
    placed: set[int] = set()
    for p in triage(findings):
        for f in p.findings:
            if id(f) not in placed:
                placed.add(id(f))
                out.append((f, not p.root))
        for q in p.explains:
            for f in q.findings:
                if id(f) not in placed:
                    placed.add(id(f))
                    out.append((f, True))
    out += [(f, False) for f in findings if id(f) not in placed]
    return out


def _unexplained_lines(templates: list[Template], lab: dict[str, str]) -> list[str]:
    top = templates[:TOP_UNEXPLAINED]
    out = [lab["unexplained"].format(n=len(top), total=len(templates))]
    for t in top:
        nodes = ",".join(t.nodes[:3]) + ("…" if len(t.nodes) > 3 else "")
        common = f" ({lab['common']})" if t.common else ""
        out.append(f"  {t.level} {t.count:>6} {lab['lines']}  {_clean(nodes, 40)}{common}: {_clean(t.template, 140)}")
        out.append(f"           {_clean(t.example.file, 80)}:{t.example.line}  {_clean(t.example.message, 120)}")
    return out


def _logs_checked(evidence: Evidence, lab: dict[str, str]) -> str:
    """One line: for the kubelet, the runtime and the kernel, on how many nodes the bundle holds
    their lines (analyzer/blindspots.py); each missing one is also a log-blind-spot finding."""
    from k8s_bundle.analyzer.blindspots import COMPONENTS, coverage

    table = coverage(evidence)
    parts = []
    for name in COMPONENTS:
        rows = [c for c in table.values() if name in c]
        if rows:
            parts.append(f"{lab[name]} {sum(1 for c in rows if c[name]['files'])}/{len(rows)}")
    return f"{lab['checked']}: " + ", ".join(parts) if parts else ""
