"""Renderers on findings from the real engine over an Evidence built in the test."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from pathlib import Path

import orjson
import pytest

from k8s_bundle.analyzer.evaluate import evaluate, load_rules
from k8s_bundle.bundle.problems import Problem
from k8s_bundle.analyzer.render import render_html, render_json, render_text
from k8s_bundle.analyzer.render.html import markdown
from test_engine_rules import T0, evidence, write_rule

EVIL = '<script>window.__pwned = 1</script>"><img src=x onerror="window.__pwned=2">'
EVIL_NODE = 'n"><svg onload=alert(1)>'


@pytest.fixture()
def hostile(tmp_path: Path):
    write_rule(
        tmp_path, "evil-log",
        {"log": {"sources": ["**"], "regex": r"oops (?P<what>.*)"}},
        severity="critical",
        message={"en": "got {what}", "zh": "得到 {what}"},
        fix={"en": "Run:\n```sh\necho '<b>' && rm -rf /tmp/x\n```\nthen `check` <i>it</i>", "zh": "运行"},
        references=[{"url": "https://kubernetes.io/docs/"}, {"issue": "kubernetes/kubernetes#53533"}, {"seed": "002 <b>x</b>"}],
    )
    write_rule(tmp_path, "some-info", {"fact": "true"}, severity="info", platforms=["any"])
    rules = load_rules([tmp_path])
    rows = [(EVIL_NODE, "journal/kubelet.log", 7, T0, "E", "oops " + EVIL),
            ("node1", "journal/kubelet.log", 3, T0 + dt.timedelta(seconds=1), "E", "oops fine")]
    ev = evidence(
        rows,
        nodes={"node1": {"os": "linux", "distro": EVIL}, EVIL_NODE: {"os": "linux"}},
        manifest={"items": [{"node": "node1", "id": "docker-info", "status": "timeout", "error": EVIL, "source": "docker info"}]},
        problems=[Problem("parse-error", EVIL, "nodes/node1/x", "node1")],
    )
    return ev, evaluate(rules, ev)


def test_html_escapes_all_bundle_text(hostile) -> None:
    ev, findings = hostile
    page = render_html(ev, findings)
    assert "window.__pwned" in page  # the text is shown...
    assert "<script>window.__pwned" not in page and "<img src=x" not in page and "<svg onload" not in page
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page  # ...as text
    assert page.count("<script>") == 1  # our own script only


def test_html_has_no_external_resources_and_a_strict_csp(hostile) -> None:
    ev, findings = hostile
    page = render_html(ev, findings)
    assert not re.search(r"<(link|iframe|object|embed|img|audio|video|source|base)\b", page)
    assert not re.search(r"<[^>]*\s(src|srcset|action|formaction|poster)\s*=", page)
    assert "@import" not in page and "url(" not in page
    hrefs = [h for h in re.findall(r'href="([^"]*)"', page) if not h.startswith("#")]  # in-page anchors
    assert set(hrefs) == {"https://kubernetes.io/docs/", "https://github.com/kubernetes/kubernetes/issues/53533"}
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert "default-src 'none'" in csp and "img-src data:" in csp
    script = re.search(r"<script>(.*)</script>", page, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp


def test_html_content_order_and_sections(hostile) -> None:
    ev, findings = hostile
    page = render_html(ev, findings, lang="zh")
    assert '<body data-lang="zh">' in page
    assert page.index("evil-log") < page.index("some-info")  # critical before info
    assert "<pre><code>echo &#x27;&lt;b&gt;&#x27; &amp;&amp; rm -rf /tmp/x</code></pre>" in page
    assert "<code>check</code> &lt;i&gt;it&lt;/i&gt;" in page
    # the evidence block: the whole path, the matching line's number and its time in UTC
    assert '<span class="ev-file">nodes/node1/logs/journal/kubelet.log</span>' in page
    assert '<tr class="hit"><td class="ln">3</td><td class="tm"><span class="ev-time">2026-11-22 10:00:01 UTC</span>' in page
    assert "docker-info" in page.split('id="collection"')[1]  # collection problems section
    assert "Kubernetes common errors (Kubernetes常见报错) § &lt;b&gt;x&lt;/b&gt;" in page


def test_markdown_subset() -> None:
    out = str(markdown("Para one\nline two\n\n- a `x`\n- b\n\n```\n<x>\n```"))
    assert out == ("<p>Para one<br>line two</p><ul><li>a <code>x</code></li><li>b</li></ul>"
                   '<div class="code"><button type="button" class="copy" title="Copy / 复制"><span class="l-en">Copy</span>'
                   '<span class="l-zh">复制</span></button><pre><code>&lt;x&gt;</code></pre></div>')


def test_json_report(hostile) -> None:
    ev, findings = hostile
    doc = orjson.loads(render_json(ev, findings))
    assert doc["schema_version"] == "1.3"
    assert doc["summary"] == {"critical": 2, "warning": 0, "info": 2, "total": 4, "exit_code": 3}
    assert [f["rule_id"] for f in doc["findings"]] == ["evil-log", "evil-log", "some-info", "some-info"]
    assert [f["node"] for f in doc["findings"][:2]] == [EVIL_NODE, "node1"]  # severity, then node
    first = doc["findings"][1]
    assert first["message"]["en"] == "got fine"
    line = first["evidence"]["log_lines"][0]
    assert {k: line[k] for k in ("node", "file", "line", "timestamp", "message")} == {
        "node": "node1", "file": "nodes/node1/logs/journal/kubelet.log", "line": 3,
        "timestamp": "2026-11-22T10:00:01Z", "message": "oops fine",
    }
    # its context (tests/analyzer/test_evidence_context.py checks the neighbours themselves)
    assert line["has_context"] is True and all(set(c) == {"line", "message"} for c in line["before"] + line["after"])
    assert [c["count"] for c in first["evidence"]["log_files"]] == [first["evidence"]["log_count"]]
    assert doc["collection_problems"][0]["status"] == "timeout"
    assert doc["input_problems"][0]["kind"] == "parse-error"
    assert {n["name"] for n in doc["nodes"]} == {"node1", EVIL_NODE}


def test_text_summary(hostile) -> None:
    ev, findings = hostile
    ev.source = "bundle\x1b[31m.tgz"
    out = render_text(ev, findings, report_path="/tmp/r.html")
    assert "\x1b" not in out  # no terminal escape injection from bundle text
    assert out.splitlines()[0].endswith("2 critical, 0 warning, 2 info")
    assert "CRITICAL node1  evil-log: got fine" in out
    assert "nodes/node1/logs/journal/kubelet.log:3  oops fine" in out
    assert "1 collection item(s) failed" in out
    assert out.rstrip().splitlines()[-2:] == ["Report: /tmp/r.html", "exit 3: critical findings"]
    zh = render_text(ev, findings, lang="zh")
    assert "2 严重" in zh and "得到 fine" in zh


def test_a_rule_text_is_shown_once_and_linked_from_its_other_nodes(hostile) -> None:
    ev, findings = hostile
    page = render_html(ev, findings)
    sections = re.findall(r'<section class="finding[^"]*"[^>]*id="(f-\d+)">(.*?)</section>', page, re.S)
    evil = [(anchor, body) for anchor, body in sections if "evil-log" in body]
    assert len(evil) == 2                         # the rule fired on two nodes
    (first, first_body), (_, second_body) = evil
    assert "echo &#x27;&lt;b&gt;&#x27;" in first_body            # the fix, once
    assert "echo &#x27;&lt;b&gt;&#x27;" not in second_body
    assert f'href="#{first}" class="xref"' in second_body      # linked from the other node's finding
