"""`diff` as text: the terminal summary and `--format text`. Reads the diff document only."""
from __future__ import annotations

from typing import Any

from k8s_bundle.analyzer.render.text import _clean, severity_word

# Facts listed per node (profile first, then settings); the rest are counted.
FACTS_SHOWN_PER_NODE = 30

LABELS = {
    "en": {
        "head": "{before} -> {after}", "counts": "{new} new, {worse} worse, {fixed} fixed, {still} still there",
        "new": "New (only in AFTER):", "worse": "Worse (severity raised or more matching lines):",
        "fixed": "Fixed (only in BEFORE):", "still": "Still there:", "none": "  (none)",
        "whole": "(bundle)", "lines": "lines", "better": "better",
        "nodes": "Nodes:", "only_before": "  only in BEFORE: {names}", "only_after": "  only in AFTER: {names}",
        "paired": "  one node on each side: {before} (BEFORE) compared with {after} (AFTER)",
        "facts": "  {node}: {n} fact(s) changed", "no_facts": "  no fact changed on {names}",
        "not_compared": "  {node}: {what} not compared (a JSON report without it)",
        "added": "added", "removed": "removed", "more": "    and {n} more (see the JSON or HTML diff)",
        "report": "Diff", "profile": "profile", "settings": "settings",
        "exit": {0: "exit 0: nothing new or worse", 1: "exit 1: something new or worse, no critical one",
                 3: "exit 3: a new or worse critical finding"},
    },
    "zh": {
        "head": "{before} -> {after}", "counts": "新增 {new}，加重 {worse}，已修复 {fixed}，仍存在 {still}",
        "new": "新增（仅在 AFTER 中）：", "worse": "加重（级别升高或匹配行增多）：",
        "fixed": "已修复（仅在 BEFORE 中）：", "still": "仍存在：", "none": "  （无）",
        "whole": "(诊断包)", "lines": "行", "better": "减轻",
        "nodes": "节点：", "only_before": "  仅在 BEFORE 中：{names}", "only_after": "  仅在 AFTER 中：{names}",
        "paired": "  两侧各有一个节点：比较 {before}（BEFORE）与 {after}（AFTER）",
        "facts": "  {node}：{n} 项事实有变化", "no_facts": "  {names} 上没有事实变化",
        "not_compared": "  {node}：未比较 {what}（JSON 报告中没有）",
        "added": "新增", "removed": "删除", "more": "    另有 {n} 项（见 JSON 或 HTML 差异报告）",
        "report": "差异报告", "profile": "概况", "settings": "配置",
        "exit": {0: "退出码 0：没有新增或加重的问题", 1: "退出码 1：有新增或加重的问题，但没有严重问题",
                 3: "退出码 3：有新增或加重的严重问题"},
    },
}


def _finding_line(e: dict[str, Any], lang: str, lab: dict[str, Any]) -> str:
    title = e["message"].get(lang) or e["message"].get("en") or e["title"].get(lang) or e["title"].get("en", "")
    line = f"  {severity_word(e['severity'], lang)} {_clean(e['node'] or lab['whole'], 40)}  {_clean(e['rule_id'], 60)}: {_clean(title)}"
    b, a = e.get("before"), e.get("after")
    if b and a and (e["trend"] != "same" or b["log_count"] != a["log_count"]):
        parts = []
        if b["severity"] != a["severity"]:
            parts.append(f"{b['severity']} -> {a['severity']}")
        if b["log_count"] != a["log_count"]:
            parts.append(f"{b['log_count']} -> {a['log_count']} {lab['lines']}")
        if e["trend"] == "better":
            parts.append(lab["better"])
        line += f" ({'; '.join(parts)})"
    return line


def fact_text(v: Any) -> str:
    """A fact value as JSON writes it (true, 1450), a string as it is; None (not known) as -."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _value(v: Any) -> str:
    return _clean(fact_text(v), 60)


def _key(key: str, limit: int = 80) -> str:
    """A setting's key, cut from the left when long: its last parts name it."""
    key = _clean(key, 10_000)
    if len(key) <= limit:
        return key
    tail = key[-(limit - 1):]
    dot = tail.find(".")
    # start at a part's boundary ("…io.containerd.grpc...", not "…lugins.io.containerd...")
    return "…" + (tail[dot + 1:] if 0 <= dot < len(tail) - 1 else tail)


def render_diff_text(doc: dict[str, Any], lang: str = "en", diff_path: str | None = None) -> str:
    lab = LABELS.get(lang, LABELS["en"])
    s, f, nodes = doc["summary"], doc["findings"], doc["nodes"]
    lines = [lab["head"].format(before=_clean(doc["before"]["source"]), after=_clean(doc["after"]["source"])),
             lab["counts"].format(**s)]
    worse = [e for e in f["still"] if e["trend"] == "worse"]
    for title, entries in (("new", f["new"]), ("worse", worse), ("fixed", f["fixed"]),
                           ("still", [e for e in f["still"] if e["trend"] != "worse"])):
        lines.append(lab[title])
        lines += [_finding_line(e, lang, lab) for e in entries] or [lab["none"]]
    lines.append(lab["nodes"])
    if nodes["paired"]:
        lines.append(lab["paired"].format(before=_clean(nodes["paired"]["before"], 60),
                                          after=_clean(nodes["paired"]["after"], 60)))
    for side in ("only_before", "only_after"):
        if nodes[side]:
            lines.append(lab[side].format(names=_clean(", ".join(nodes[side]), 200)))
    changed_names = set()
    for c in nodes["changed"]:
        changed_names.add(c["node"])
        facts = [("profile", x) for x in c["profile"] or []] + [("settings", x) for x in c["settings"] or []]
        for what in ("profile", "settings"):
            if c[what] is None:
                lines.append(lab["not_compared"].format(node=_clean(c["node"], 60), what=lab[what]))
        if facts:
            lines.append(lab["facts"].format(node=_clean(c["node"], 60), n=len(facts)))
        for _, x in facts[:FACTS_SHOWN_PER_NODE]:
            if x["change"] == "changed":
                lines.append(f"    {_key(x['key'])}: {_value(x['before'])} -> {_value(x['after'])}")
            else:
                lines.append(f"    {_key(x['key'])}: {lab[x['change']]} "
                             f"{_value(x['after'] if x['change'] == 'added' else x['before'])}")
        if len(facts) > FACTS_SHOWN_PER_NODE:
            lines.append(lab["more"].format(n=len(facts) - FACTS_SHOWN_PER_NODE))
    same = [n for n in nodes["compared"] if n not in changed_names]
    if same:
        lines.append(lab["no_facts"].format(names=_clean(", ".join(same), 200)))
    if diff_path:
        lines.append(f"{lab['report']}: {diff_path}")
    lines.append(lab["exit"][s["exit_code"]])
    return "\n".join(lines) + "\n"
