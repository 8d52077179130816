"""`diff` as one self-contained HTML page (report_templates/diff.html.j2).

The same chrome and safety as the report: the report's CSS, a strict CSP (no network; the one
script, diff.js, allowed by its hash), every value from the bundles autoescaped by jinja2, both
languages in the page with a switch. Reads the diff document only.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import importlib.resources
import os
from typing import Any

import jinja2
from markupsafe import Markup

from k8s_bundle.analyzer.profile import PROFILE_FIELDS
from k8s_bundle.analyzer.render.diff_text import fact_text
# the report's template environment (templates from the installed package, the static binary
# too) and its style files, so the diff looks like the report
from k8s_bundle.analyzer.render.html import CSS_FILES, UI, template_environment

DIFF_CSS = ("diff.css",)
DIFF_JS = ("diff.js",)

DIFF_UI: dict[str, dict[str, str]] = {
    "title": {"en": "What changed", "zh": "变化对比"},
    "generated": {"en": "compared", "zh": "对比时间"},
    "collected": {"en": "collected", "zh": "采集于"},
    "input_bundle": {"en": "bundle", "zh": "诊断包"},
    "input_report": {"en": "JSON report", "zh": "JSON 报告"},
    "new": {"en": "new", "zh": "新增"},
    "worse": {"en": "worse", "zh": "加重"},
    "fixed": {"en": "fixed", "zh": "已修复"},
    "still": {"en": "still there", "zh": "仍存在"},
    "new_head": {"en": "New problems (only in AFTER)", "zh": "新增的问题（仅在 AFTER 中）"},
    "worse_head": {"en": "Worse (severity raised or more matching lines)", "zh": "加重的问题（级别升高或匹配行增多）"},
    "fixed_head": {"en": "Fixed (only in BEFORE)", "zh": "已修复的问题（仅在 BEFORE 中）"},
    "still_head": {"en": "Still there", "zh": "仍存在的问题"},
    "nodes_head": {"en": "Nodes and facts that changed", "zh": "节点与变化的事实"},
    "rule": {"en": "Rule", "zh": "规则"},
    "problem": {"en": "Problem", "zh": "问题"},
    "before_after": {"en": "Before → after", "zh": "之前 → 之后"},
    "lines": {"en": "lines", "zh": "行"},
    "better": {"en": "better", "zh": "减轻"},
    "none": {"en": "None.", "zh": "无。"},
    "paired": {"en": "One node on each side, compared with each other",
               "zh": "两侧各有一个节点，相互比较"},
    "only_before": {"en": "Nodes only in BEFORE", "zh": "仅在 BEFORE 中的节点"},
    "only_after": {"en": "Nodes only in AFTER", "zh": "仅在 AFTER 中的节点"},
    "no_change": {"en": "No fact changed on", "zh": "没有事实变化的节点"},
    "profile": {"en": "Profile", "zh": "概况"},
    "settings": {"en": "Setting", "zh": "配置项"},
    "change": {"en": "Change", "zh": "变化"},
    "change_added": {"en": "added", "zh": "新增"},
    "change_removed": {"en": "removed", "zh": "删除"},
    "change_changed": {"en": "changed", "zh": "改变"},
    "not_compared": {"en": "not compared (a JSON report without it)", "zh": "未比较（JSON 报告中没有）"},
    "exit_0": {"en": "Nothing new or worse (exit 0).", "zh": "没有新增或加重的问题（退出码 0）。"},
    "exit_1": {"en": "Something new or worse, none of it critical (exit 1).",
               "zh": "有新增或加重的问题，但都不严重（退出码 1）。"},
    "exit_3": {"en": "A new or worse critical finding (exit 3).", "zh": "有新增或加重的严重问题（退出码 3）。"},
}


@functools.lru_cache(maxsize=1)
def _assets() -> tuple[jinja2.Template, Markup, Markup, str]:
    folder = importlib.resources.files("k8s_bundle.report_templates")
    env = template_environment()
    env.filters["fact"] = lambda v: "" if v is None else fact_text(v)
    css = "\n".join(folder.joinpath(n).read_text(encoding="utf-8") for n in (*CSS_FILES, *DIFF_CSS))
    js = "\n".join(folder.joinpath(n).read_text(encoding="utf-8") for n in DIFF_JS)
    digest = base64.b64encode(hashlib.sha256(js.encode("utf-8")).digest()).decode("ascii")
    return env.get_template("diff.html.j2"), Markup(css), Markup(js), f"sha256-{digest}"


def render_diff_html(doc: dict[str, Any], lang: str = "en") -> str:
    template, css, js, script_hash = _assets()
    still = doc["findings"]["still"]
    changed = {c["node"] for c in doc["nodes"]["changed"]}
    return template.render(
        lang=lang if lang in ("en", "zh") else "en",
        ui={**UI, **DIFF_UI},
        css=css, js=js, script_hash=script_hash,
        doc=doc,
        before_name=os.path.basename(str(doc["before"]["source"]).rstrip("/")),
        after_name=os.path.basename(str(doc["after"]["source"]).rstrip("/")),
        worse=[e for e in still if e["trend"] == "worse"],
        unchanged=[e for e in still if e["trend"] != "worse"],
        unchanged_nodes=[n for n in doc["nodes"]["compared"] if n not in changed],
        labels={f.key: f.label for f in PROFILE_FIELDS},
    )
