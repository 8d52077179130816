"""The multi-bundle HTML report: one self-contained file, the single report's rules (inline
CSS, our one script allowed by its hash, everything from bundles autoescaped by jinja2).

The page holds an overview (shared root causes, problems by rule, the drift table, the
bundles) and one page per bundle, built from the single report's partials with ids prefixed
`p<N>-` so that they stay unique. multi.js shows one page at a time (#page=N) and opens the
page of any anchor the hash names (#p3-f-2).
"""
from __future__ import annotations

import base64
import functools
import hashlib
import importlib.resources
from typing import Any

from markupsafe import Markup

from k8s_bundle import __version__
from k8s_bundle.analyzer.multi import (CLOCK, EXPIRED, ODD, SOONEST, SPLIT, BundleResult, drift_table,
                                       exit_code_of, label_of, merged_problems, node_labels, page_prefix, totals)
from k8s_bundle.analyzer.profile import PROFILE_FIELDS
from k8s_bundle.analyzer.render.common import now_utc
from k8s_bundle.analyzer.render.html import CSS_FILES, UI, report_context, template_environment

MULTI_CSS_FILES = (*CSS_FILES, "multi.css")
# report.js (language, the shared hash state), the copy buttons, the search box (it filters
# the findings of every page) and the timelines' range selection work per page as they are;
# navigate.js assumes one bundle's page (every link scrolls within one document), so multi.js
# routes links between pages instead.
MULTI_JS_FILES = ("report.js", "copy.js", "search.js", "timeline.js", "multi.js")

MULTI_UI: dict[str, dict[str, str]] = {
    "multi_title": {"en": "Report across bundles", "zh": "多诊断包分析报告"},
    "bundles_nodes": {"en": "{b} bundles, {n} nodes", "zh": "{b} 个诊断包，{n} 个节点"},
    "overview": {"en": "Overview", "zh": "总览"},
    "back": {"en": "Back to the overview", "zh": "返回总览"},
    "shared_causes": {"en": "What to fix first, across nodes", "zh": "跨节点的优先处理事项"},
    "shared_help": {"en": "Each problem that no other problem explains, once, with every node it was found on (a link "
                          "opens the finding on that node) and the problems it likely causes there; likely root causes "
                          "are marked.",
                    "zh": "每个不由其他问题引起的问题只列一次，附上发现它的所有节点（链接打开该节点上的问题）以及它在这些节点上"
                          "可能导致的问题；可能的根因已加标注。"},
    "no_causes": {"en": "No rule found a problem in any bundle.", "zh": "规则没有在任何诊断包中发现问题。"},
    "problems": {"en": "Every problem by rule", "zh": "按规则列出的所有问题"},
    "no_problems": {"en": "No rule found a problem in any bundle.", "zh": "规则没有在任何诊断包中发现问题。"},
    "rule": {"en": "Rule", "zh": "规则"},
    "title_col": {"en": "Problem", "zh": "问题"},
    "count": {"en": "node(s)", "zh": "个节点"},
    "explains_short": {"en": "likely explains", "zh": "可能导致"},
    "drift": {"en": "Drift between nodes", "zh": "节点间的差异"},
    "drift_help": {"en": "One row per node; a dash means the bundle does not say (Windows nodes have no sysctls or "
                         "cgroups).",
                   "zh": "每个节点一行；短横线表示诊断包中没有该信息（Windows 节点没有 sysctl 和 cgroup）。"},
    "majority": {"en": "most nodes", "zh": "多数节点"},
    "only_differing": {"en": "only columns that differ", "zh": "只显示有差异的列"},
    "legend": {"en": "Marks", "zh": "标记"},
    ODD: {"en": "differs from the value most nodes have (the row “most nodes”)",
          "zh": "与多数节点的值不同（见“多数节点”一行）"},
    SPLIT: {"en": "no value is shared by most nodes", "zh": "没有多数节点共有的值"},
    SOONEST: {"en": "the certificate that expires first", "zh": "最先到期的证书"},
    EXPIRED: {"en": "already expired when the bundle was collected", "zh": "采集时已过期"},
    CLOCK: {"en": "clock more than 1 s away from its time source", "zh": "时钟与时间源相差超过 1 秒"},
    "bundles": {"en": "Bundles", "zh": "诊断包"},
    "bundle": {"en": "Bundle", "zh": "诊断包"},
    "exit": {"en": "Exit code", "zh": "退出码"},
    "unusable": {"en": "unusable", "zh": "无法使用"},
    "unusable_title": {"en": "Inputs that are not usable bundles", "zh": "无法使用的输入"},
    "unusable_help": {"en": "These inputs could not be read as bundles; the report covers the others.",
                      "zh": "以下输入无法作为诊断包读取；报告只包含其余的诊断包。"},
    "page_of": {"en": "Bundle {n} of {total}", "zh": "第 {n} 个诊断包，共 {total} 个"},
}


@functools.lru_cache(maxsize=1)
def _assets() -> tuple[Markup, Markup, str]:
    folder = importlib.resources.files("k8s_bundle.report_templates")
    css = "\n".join(folder.joinpath(n).read_text(encoding="utf-8") for n in MULTI_CSS_FILES)
    js = "\n".join(folder.joinpath(n).read_text(encoding="utf-8") for n in MULTI_JS_FILES)
    digest = base64.b64encode(hashlib.sha256(js.encode("utf-8")).digest()).decode("ascii")
    return Markup(css), Markup(js), f"sha256-{digest}"   # our own static files, no bundle data


def render_bundle_page(analysis: Any, page: int, name: str, lang: str) -> str:
    """One bundle's page (analysis.Analysis) with the single report's partials; ids prefixed."""
    ctx = report_context(analysis.evidence, analysis.findings, lang, analysis.unexplained,
                         id_prefix=page_prefix(page))
    ctx["ui"] = {**ctx["ui"], **MULTI_UI}
    return template_environment().get_template("multi_page.html.j2").render(page=page, page_name=name, **ctx)


def render_multi_html(results: list[BundleResult], lang: str = "en") -> str:
    css, js, script_hash = _assets()
    labels = node_labels(results)
    problems = merged_problems(results, labels)
    titles = {p["key"]: p["title"] for p in problems}
    drift = drift_table(results, labels)
    field_labels = {f.key: f.label for f in PROFILE_FIELDS}
    marked = {k for row in drift["rows"] for k in row["marks"]}
    usable = [r for r in results if r.error is None]
    node_count = sum(len(r.nodes) for r in usable)
    bundles_nodes = {lg: text.format(b=len(results), n=node_count) for lg, text in MULTI_UI["bundles_nodes"].items()}
    pages = [{
        "page": r.page, "name": r.name, "path": r.path, "error": r.error, "exit_code": r.exit_code, "counts": r.counts,
        "nodes": [label_of(labels, r.page, n) for n, _ in r.nodes],
        "html": Markup(r.html or ""),   # rendered by our autoescaping templates (render_bundle_page)
        "of": {lg: text.format(n=r.page, total=len(results)) for lg, text in MULTI_UI["page_of"].items()},
    } for r in results]
    return template_environment().get_template("multi.html.j2").render(
        lang=lang if lang in ("en", "zh") else "en",
        ui={**UI, **MULTI_UI},
        css=css, js=js, script_hash=script_hash, version=__version__, generated_at=now_utc(),
        counts=totals(results), exit_code=exit_code_of(results), bundles_nodes=bundles_nodes,
        roots=[p for p in problems if p["root"]], problems=problems, titles=titles,
        drift=drift, field_labels=field_labels, marked=marked, marks=(ODD, SPLIT, SOONEST, EXPIRED, CLOCK),
        pages=pages, unusable=[p for p in pages if p["error"]],
    )
