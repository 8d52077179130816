""""What was checked" as the renderers show it: the HTML section (coverage.html.j2), the
header's reference time and the one line of the terminal summary, from `Evidence.coverage`
(analyzer/coverage.py). The JSON report carries `Coverage.document()` as it is.

Every sentence is built here in English and Chinese from numbers and our own words; node
names and rule ids stay separate values for the template to escape.
"""
from __future__ import annotations

from typing import Any

from k8s_bundle.analyzer.coverage import NOT_APPLICABLE, Coverage
from k8s_bundle.analyzer.model import Evidence

NODES_SHOWN = 10        # per reason in the HTML table; the rest counted ("+12 more")
REASONS_IN_TEXT = 3     # reasons named on the terminal line

_WHY = {
    "no-manifest": {"en": "the bundle has no manifest.json", "zh": "诊断包中没有 manifest.json"},
    "no-created-at": {"en": "its manifest has no usable created_at", "zh": "其 manifest 中没有可用的 created_at"},
}


def coverage_of(evidence: Evidence) -> Coverage | None:
    cov = getattr(evidence, "coverage", None)
    return cov if isinstance(cov, Coverage) else None


def reference_note(cov: Coverage) -> dict[str, str]:
    """The header's short form: `2026-11-22T11:30:00Z (collection time)` or `... (today: ...)`."""
    when = cov.reference_time or "?"
    if cov.reference_time_source == "manifest":
        return {"en": f"{when} (collection time)", "zh": f"{when}（采集时间）"}
    why = _WHY.get(cov.reference_time_why or "", _WHY["no-created-at"])
    return {"en": f"{when} (today's date: {why['en']})", "zh": f"{when}（今天的日期：{why['zh']}）"}


def reference_sentence(cov: Coverage) -> dict[str, str]:
    when = cov.reference_time or "?"
    if cov.reference_time_source == "manifest":
        return {
            "en": f"Certificate and clock checks judged the bundle as of {when}, the collection time "
                  "(the manifest's created_at), not as of today.",
            "zh": f"证书和时钟检查以 {when} 为准，即采集时间（manifest 的 created_at），而不是今天。",
        }
    why = _WHY.get(cov.reference_time_why or "", _WHY["no-created-at"])
    return {
        "en": f"Today's date was used as the reference time for certificate and clock checks ({when}, the time of "
              f"analysis) because {why['en']}: certificate expiry is judged as of today, not as of the collection.",
        "zh": f"由于{why['zh']}，证书和时钟检查使用今天的日期作为参考时间（{when}，即分析时间）："
              "证书是否过期按今天判断，而不是按采集时间。",
    }


def summary_sentence(cov: Coverage) -> dict[str, str]:
    nodes_en = "node" if cov.nodes == 1 else "nodes"
    return {
        "en": f"{cov.rules} rules ran on {cov.nodes} {nodes_en}: {cov.total} checks (each node rule on each node, "
              f"each cluster rule once).",
        "zh": f"{cov.rules} 条规则在 {cov.nodes} 个节点上运行：共 {cov.total} 项检查（节点规则在每个节点上各一次，"
              f"集群规则一次）。",
    }


def coverage_view(evidence: Evidence) -> dict[str, Any] | None:
    """What coverage.html.j2 shows; None when the rules did not run (no such section)."""
    cov = coverage_of(evidence)
    if cov is None:
        return None
    return {
        "summary": summary_sentence(cov),
        "fired": cov.fired, "passed": cov.passed, "could_not": cov.could_not, "not_applicable": cov.not_applicable,
        "total": cov.total,
        "groups": [{
            "reason": g.reason, "label": g.label, "count": g.count, "rules": g.rules,
            "nodes": g.nodes[:NODES_SHOWN], "nodes_more": max(0, len(g.nodes) - NODES_SHOWN),
        } for g in cov.groups],
        "not_applicable_by": [(NOT_APPLICABLE.get(k, {"en": k, "zh": k}), n)
                              for k, n in sorted(cov.not_applicable_by.items(), key=lambda kv: -kv[1])],
        "reference_time": cov.reference_time,
        "reference_today": cov.reference_time_source != "manifest",
        "reference_sentence": reference_sentence(cov),
        "reference_note": reference_note(cov),
    }


def coverage_line(evidence: Evidence, lang: str = "en") -> str:
    """The terminal summary's line: counts, the main reasons, and the reference time."""
    cov = coverage_of(evidence)
    if cov is None:
        return ""
    zh = lang == "zh"
    reasons = ("；" if zh else ", ").join(f"{g.label['zh' if zh else 'en']} {g.count}{' 项' if zh else ''}"
                                         for g in cov.groups[:REASONS_IN_TEXT])
    more = len(cov.groups) - REASONS_IN_TEXT
    if more > 0:
        reasons += f"，另有 {more} 类" if zh else f", {more} more reasons"
    ref = reference_note(cov)["zh" if zh else "en"]
    if zh:
        could = f"{cov.could_not} 项无法评估" + (f"（{reasons}）" if reasons else "")
        return (f"已检查：{cov.rules} 条规则 × {cov.nodes} 个节点，{cov.passed} 项通过，{cov.fired} 项发现问题，"
                f"{could}，{cov.not_applicable} 项不适用；参考时间 {ref}")
    could = f"{cov.could_not} could not evaluate" + (f" ({reasons})" if reasons else "")
    return (f"checked: {cov.rules} rules on {cov.nodes} node{'s' if cov.nodes != 1 else ''}: {cov.passed} passed, "
            f"{cov.fired} found a problem, {could}, {cov.not_applicable} not applicable; reference time {ref}")
