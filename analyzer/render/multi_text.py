"""The multi-bundle run in text: the terminal summary (root causes with their nodes, drift, the
unusable inputs, the report path, what the exit code means) and the `--format text` report
(that summary, then each bundle's own text report)."""
from __future__ import annotations

from k8s_bundle.analyzer.multi import BundleResult, drift_table, exit_code_of, merged_problems, node_labels, totals
from k8s_bundle.analyzer.render.text import EXIT_MEANING, severity_word
from k8s_bundle.errors import shown

# Lines listed per section; the rest are counted.
SHOWN = 10

_LABEL = {
    "en": {"head": "{b} bundles, {n} nodes: {c} critical, {w} warnings, {i} info",
           "roots": "Root causes and their nodes:", "none": "No problem found in any bundle.",
           "drift": "Drift: values that differ from most nodes:", "most": "most nodes",
           "unusable": "Unusable inputs (not in the report):", "more": "... and {n} more (see the report)",
           "report": "Report", "nodes": "node(s)", "bundle": "Bundle {n} of {total}: {name}",
           "bundles": "Bundles (exit code; nodes):"},
    "zh": {"head": "{b} 个诊断包，{n} 个节点：{c} 个严重，{w} 个警告，{i} 个提示",
           "roots": "根因及其所在节点：", "none": "所有诊断包中均未发现问题。",
           "drift": "差异：与多数节点不同的值：", "most": "多数节点",
           "unusable": "无法使用的输入（未包含在报告中）：", "more": "…… 另有 {n} 项（见报告）",
           "report": "报告", "nodes": "个节点", "bundle": "第 {n} 个诊断包，共 {total} 个：{name}",
           "bundles": "诊断包（退出码；节点）："},
}


def render_multi_summary(results: list[BundleResult], lang: str = "en", report_path: str | None = None) -> str:
    lab = _LABEL.get(lang, _LABEL["en"])
    labels = node_labels(results)
    usable = [r for r in results if r.error is None]
    t = totals(results)
    lines = [lab["head"].format(b=len(results), n=sum(len(r.nodes) for r in usable), c=t["critical"],
                                w=t["warning"], i=t["info"])]
    problems = merged_problems(results, labels)
    roots = [p for p in problems if p["root"]]
    if not problems:
        lines.append(lab["none"])
    elif roots:
        lines.append(lab["roots"])
        for p in roots[:SHOWN]:
            nodes = ", ".join(n["node"] for n in p["nodes"])
            title = p["title"].get(lang) or p["title"].get("en") or ""
            lines.append(f"  {severity_word(p['severity'], lang)}  {shown(p['key'])}  {shown(title)}  "
                         f"({len(p['nodes'])} {lab['nodes']}: {shown(nodes)})")
        if len(roots) > SHOWN:
            lines.append("  " + lab["more"].format(n=len(roots) - SHOWN))
    drift = drift_table(results, labels)
    odd = [(row["node"], k, row["profile"][k], drift["majority"][str(row["profile"].get("os") or "")][k])
           for row in drift["rows"] for k, m in row["marks"].items() if m == "odd"]
    if odd:
        lines.append(lab["drift"])
        for node, key, value, most in odd[:SHOWN]:
            lines.append(f"  {shown(node)}  {shown(key)} = {_value(value)} ({lab['most']}: {_value(most)})")
        if len(odd) > SHOWN:
            lines.append("  " + lab["more"].format(n=len(odd) - SHOWN))
    bad = [r for r in results if r.error is not None]
    if bad:
        lines.append(lab["unusable"])
        lines += [f"  {shown(r.error)}" for r in bad]
    if report_path:
        lines.append(f"{lab['report']}: {report_path}")
    code = exit_code_of(results)
    lines.append(EXIT_MEANING.get(lang, EXIT_MEANING["en"]).get(code, f"exit {code}"))
    return "\n".join(lines) + "\n"


def render_multi_text(results: list[BundleResult], lang: str = "en") -> str:
    lab = _LABEL.get(lang, _LABEL["en"])
    labels = node_labels(results)
    parts = [render_multi_summary(results, lang), lab["bundles"] + "\n"]
    for r in results:
        nodes = ", ".join(labels.get((r.page, n), n) for n, _ in r.nodes)
        state = shown(r.error) if r.error else f"exit {r.exit_code}; {shown(nodes)}"
        parts.append(f"  {r.page}. {shown(r.name)}: {state}\n")
    for r in results:
        if r.error is None:
            head = lab["bundle"].format(n=r.page, total=len(results), name=r.name)
            parts.append(f"\n{'=' * 8} {shown(head)} {'=' * 8}\n{r.text or ''}")
    return "".join(parts)


def _value(v: object) -> str:
    """A profile value as the report shows it: JSON's true/false, not Python's."""
    return ("true" if v else "false") if isinstance(v, bool) else shown(v)
