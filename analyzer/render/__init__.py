"""Report renderers: one self-contained HTML file, JSON for automation, a terminal summary."""
from __future__ import annotations

from k8s_bundle.analyzer.render.html import render_html
from k8s_bundle.analyzer.render.json import REPORT_SCHEMA_VERSION, report_document, render_json
from k8s_bundle.analyzer.render.text import render_text

__all__ = ["render_html", "render_json", "render_text", "report_document", "REPORT_SCHEMA_VERSION"]
