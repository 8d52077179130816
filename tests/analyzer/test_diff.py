"""`k8s-bundle diff BEFORE AFTER`: real bundles (the samples, and pairs written with
BundleWriter), real subprocess runs, every format, JSON reports as inputs, bad inputs, and the
HTML page in a real Chromium."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from browserkit import BROWSER_MARKS, Watched, browser  # noqa: F401 (browser: a fixture)
from k8s_bundle.bundle.writer import BundleWriter

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
BROKEN, HEALTHY = SAMPLES / "broken-kubeadm.tgz", SAMPLES / "healthy-node.tgz"
TOP = "k8s-bundle-n1-20261122T113000Z"
INJECT = '<script>window.__pwned = 1</script>"><img src=x onerror="window.__pwned=2">'
EVIL_NODE = 'evil"><img src=x onerror=alert(3)>'


def diff(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "diff", *args], capture_output=True,
                          timeout=300, cwd=cwd)


def diff_json(before: Path, after: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    proc = diff(str(before), str(after), "--format", "json", "-o", "-", *extra)
    assert proc.returncode in (0, 1, 3), proc.stderr
    return proc.returncode, orjson.loads(proc.stdout)


def one_line_error(proc: subprocess.CompletedProcess[bytes]) -> str:
    err = proc.stderr.decode()
    assert proc.returncode == 4, err
    assert err.startswith("k8s-bundle: error: ") and err.count("\n") == 1, err
    return err


def keys(entries: list[dict[str, Any]]) -> set[tuple[str, str | None]]:
    return {(e["rule_id"], e["node"]) for e in entries}


# -- bundles written here -----------------------------------------------------------------
CONTAINERD = ('2026-11-22T09:00:00.000001+00:00 {node} containerd[702]: time="2026-11-22T09:00:00.000001000Z" '
              'level=info msg="containerd successfully booted in 0.041510s"\n')
KERNEL = "2026-11-22T09:00:00.000001+00:00 {node} kernel: Linux version 5.15.0-105-generic\n"
SWAP = ('2026-11-22T09:58:01.123456+00:00 {node} kubelet[1234]: E1122 09:58:01.123401    1234 run.go:74] '
        '"command failed" err="failed to run Kubelet: running with swap on is not supported, please disable swap!"\n')


def pleg(node: str, n: int) -> str:
    return "".join(
        f"2026-11-22T09:{10 + i:02d}:00.100000+00:00 {node} kubelet[812]: E1122 09:{10 + i:02d}:00.100000     812 "
        f'kubelet.go:2373] "Skipping pod synchronization" err="PLEG is not healthy: pleg was last seen active {i}m0s ago"\n'
        for i in range(n)
    )


def write_bundle(path: Path, kubelet: str = "v1.29.3", pleg_lines: int = 6, swap: bool = False,
                 node: str = "n1") -> Path:
    """One Linux node; a PLEG warning (`pleg_lines` lines), optionally the swap failure (critical)."""
    facts = {"name": node, "hostname": node, "os": "linux", "distro": "Ubuntu 22.04.4 LTS",
             "kernel": "5.15.0-105-generic", "arch": "x86_64", "timezone": "UTC", "utc_offset_seconds": 0,
             "roles": ["worker"], "versions": {"kubelet": kubelet, "containerd": "1.7.13"}, "runtime": "containerd"}
    with BundleWriter(path, TOP, overwrite=True) as w:
        w.add_json(f"nodes/{node}/node.json", facts)
        w.add_text(f"nodes/{node}/logs/journal/kubelet.log", pleg(node, pleg_lines) + (SWAP.format(node=node) if swap else ""))
        w.add_text(f"nodes/{node}/logs/journal/containerd.log", CONTAINERD.format(node=node))
        w.add_text(f"nodes/{node}/logs/kernel.log", KERNEL.format(node=node))
        w.finish({
            "format_version": "1.0", "tool": {"name": "k8s-bundle", "version": "0.1.0"},
            "created_at": "2026-11-22T11:30:00Z", "finished_at": "2026-11-22T11:30:05Z", "partial": False,
            "partial_reason": None, "collection": {"argv": ["collect"]},
            "nodes": [{"name": node, "os": "linux", "transport": "local", "timezone": "UTC", "utc_offset_seconds": 0}],
            "items": [],
        })
    return path


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """before: kubelet v1.29.3, PLEG warning; after: kubelet v1.29.4, PLEG warning + swap (critical);
    worse: as before with more PLEG lines."""
    tmp = tmp_path_factory.mktemp("diff")
    return {
        "before": write_bundle(tmp / "before.tgz"),
        "after": write_bundle(tmp / "after.tgz", kubelet="v1.29.4", swap=True),
        "worse": write_bundle(tmp / "worse.tgz", pleg_lines=9),
        "dir": tmp,
    }


# -- the samples ------------------------------------------------------------------------------
def test_broken_to_healthy_sample_is_all_fixed_and_exit_0() -> None:
    code, doc = diff_json(BROKEN, HEALTHY)
    assert code == 0 and doc["summary"]["exit_code"] == 0
    assert doc["kind"] == "diff" and doc["diff_schema_version"] == "1.0"
    assert doc["summary"]["new"] == 0 and doc["summary"]["fixed"] == len(doc["findings"]["fixed"]) >= 20
    assert ("kubelet-swap-on", "k8s-master-1") in keys(doc["findings"]["fixed"])
    assert doc["before"]["input"] == doc["after"]["input"] == "bundle"
    # one node on each side, named differently: compared with each other, and said so
    assert doc["nodes"]["paired"] == {"before": "k8s-master-1", "after": "cp-1"}
    assert doc["nodes"]["only_before"] == doc["nodes"]["only_after"] == []
    (node,) = doc["nodes"]["changed"]
    profile = {c["key"]: c for c in node["profile"]}
    assert profile["kubelet"] == {"key": "kubelet", "change": "changed", "before": "v1.28.7", "after": "v1.29.3"}
    assert profile["runtime_cgroup_driver"]["after"] == "systemd" and profile["swap_kb"]["after"] == 0
    assert "cert_expiry_days" not in profile                 # moves with the collection date alone
    settings = {c["key"] for c in node["settings"]}
    assert "kubelet_config.resolvConf" in settings and "sysctl.kernel.hostname" not in settings


def test_healthy_to_broken_sample_is_new_critical_and_exit_3(tmp_path: Path) -> None:
    proc = diff(str(HEALTHY), str(BROKEN), "--format", "text", "-o", "-")
    out = proc.stdout.decode()
    assert proc.returncode == 3, proc.stderr
    lines = out.splitlines()
    assert lines[0] == f"{HEALTHY} -> {BROKEN}" and lines[1].startswith("22 new, 0 worse, 0 fixed")
    assert "  CRITICAL k8s-master-1  kubelet-swap-on: Swap is on (4194300 kB)" in out
    assert "    kubelet: v1.29.3 -> v1.28.7" in out
    assert lines[-1] == "exit 3: a new or worse critical finding"


# -- bundles differing in one finding and one version ---------------------------------------
def test_one_new_critical_finding_and_a_new_kubelet(pair: dict[str, Path]) -> None:
    code, doc = diff_json(pair["before"], pair["after"])
    assert code == 3
    assert keys(doc["findings"]["new"]) == {("kubelet-swap-on", "n1")}
    assert doc["findings"]["new"][0]["severity"] == "critical" and doc["findings"]["new"][0]["before"] is None
    assert doc["findings"]["fixed"] == []
    assert ("kubelet-pleg-not-healthy", "n1") in keys(doc["findings"]["still"])
    assert all(e["trend"] == "same" for e in doc["findings"]["still"])
    assert doc["nodes"]["paired"] is None and doc["nodes"]["compared"] == ["n1"]
    (node,) = doc["nodes"]["changed"]
    assert node["node"] == "n1"
    assert node["profile"] == [{"key": "kubelet", "change": "changed", "before": "v1.29.3", "after": "v1.29.4"}]
    assert node["settings"] == []


def test_the_other_way_round_is_fixed_and_exit_0(pair: dict[str, Path]) -> None:
    code, doc = diff_json(pair["after"], pair["before"])
    assert code == 0
    assert keys(doc["findings"]["fixed"]) == {("kubelet-swap-on", "n1")} and doc["findings"]["new"] == []
    assert doc["nodes"]["changed"][0]["profile"][0]["after"] == "v1.29.3"


def test_more_matching_lines_is_worse_and_exit_1(pair: dict[str, Path]) -> None:
    code, doc = diff_json(pair["before"], pair["worse"])
    assert code == 1 and doc["summary"]["worse"] == 1 and doc["summary"]["new"] == 0
    (e,) = [e for e in doc["findings"]["still"] if e["trend"] == "worse"]
    assert e["rule_id"] == "kubelet-pleg-not-healthy" and e["reasons"] == ["count"]
    assert e["before"] == {"severity": "warning", "log_count": 6} and e["after"] == {"severity": "warning", "log_count": 9}
    # fewer lines is not "better" (a shorter collection window says as much): same, exit 0
    code, doc = diff_json(pair["worse"], pair["before"])
    assert code == 0 and {e["trend"] for e in doc["findings"]["still"]} == {"same"}


def test_a_bundle_against_itself_is_exit_0_with_nothing_changed(pair: dict[str, Path]) -> None:
    code, doc = diff_json(pair["before"], pair["before"])
    assert code == 0 and doc["findings"]["new"] == doc["findings"]["fixed"] == [] and doc["nodes"]["changed"] == []
    assert doc["summary"]["still"] == len(doc["findings"]["still"]) >= 1


def test_nodes_on_one_side_only_are_listed(tmp_path: Path, pair: dict[str, Path]) -> None:
    # two nodes named apart, but AFTER has two nodes: no pairing, each side's node listed
    other = tmp_path / "two.tgz"
    with BundleWriter(other, TOP, overwrite=True) as w:
        for n in ("n2", "n3"):
            w.add_json(f"nodes/{n}/node.json", {"name": n, "os": "linux", "versions": {"kubelet": "v1.29.3"}})
        w.finish({"format_version": "1.0", "created_at": "2026-11-22T11:30:00Z", "partial": False,
                  "nodes": [{"name": n, "os": "linux"} for n in ("n2", "n3")], "items": []})
    _, doc = diff_json(pair["before"], other)
    assert doc["nodes"]["only_before"] == ["n1"] and doc["nodes"]["only_after"] == ["n2", "n3"]
    assert doc["nodes"]["paired"] is None and doc["nodes"]["changed"] == []
    text = diff(str(pair["before"]), str(other), "--format", "text", "-o", "-").stdout.decode()
    assert "  only in BEFORE: n1" in text and "  only in AFTER: n2, n3" in text


# -- formats, outputs ---------------------------------------------------------------------
def test_default_output_is_html_beside_after_with_a_summary(pair: dict[str, Path]) -> None:
    proc = diff(str(pair["before"]), str(pair["after"]))
    assert proc.returncode == 3, proc.stderr
    page = pair["dir"] / "after.diff.html"
    html = page.read_text("utf-8")
    assert html.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in html and "kubelet-swap-on" in html
    out = proc.stdout.decode().splitlines()
    assert out[-2:] == [f"Diff: {page}", "exit 3: a new or worse critical finding"]
    assert "  CRITICAL n1  kubelet-swap-on: Swap is on" in out[3]
    page.unlink()


@pytest.mark.parametrize("name, kind", [("d.json", "json"), ("d.htm", "html"), ("d.txt", "text")])
def test_the_format_follows_the_extension(pair: dict[str, Path], tmp_path: Path, name: str, kind: str) -> None:
    proc = diff(str(pair["before"]), str(pair["after"]), "-o", str(tmp_path / name), "-q")
    assert proc.returncode == 3 and proc.stdout == b""
    data = (tmp_path / name).read_bytes()
    if kind == "json":
        assert orjson.loads(data)["summary"]["new"] == 1
    elif kind == "html":
        assert data.startswith(b"<!DOCTYPE html>")
    else:
        assert data.decode().splitlines()[2] == "New (only in AFTER):"


def test_a_contradicting_format_is_exit_4_before_any_work(pair: dict[str, Path], tmp_path: Path) -> None:
    proc = diff(str(pair["before"]), str(pair["after"]), "-o", str(tmp_path / "d.json"), "--format", "html")
    assert "--format html contradicts the output name" in one_line_error(proc)
    assert list(tmp_path.iterdir()) == []


def test_chinese_text(pair: dict[str, Path]) -> None:
    out = diff(str(pair["before"]), str(pair["after"]), "--format", "text", "--lang", "zh", "-o", "-").stdout.decode()
    assert "新增（仅在 AFTER 中）：" in out and "  严重     n1  kubelet-swap-on" in out
    assert out.rstrip().splitlines()[-1] == "退出码 3：有新增或加重的严重问题"


# -- JSON reports as inputs ---------------------------------------------------------------
def analyze_json(bundle: Path, out: Path) -> Path:
    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(bundle), "-o", str(out), "-q"],
                          capture_output=True, timeout=300)
    assert proc.returncode in (0, 1, 3), proc.stderr
    return out


def test_json_reports_compare_like_their_bundles(pair: dict[str, Path], tmp_path: Path) -> None:
    before = analyze_json(pair["before"], tmp_path / "before.json")
    after = analyze_json(pair["after"], tmp_path / "after.json")
    _, from_bundles = diff_json(pair["before"], pair["after"])
    code, from_reports = diff_json(before, after)
    assert code == 3 and from_reports["before"]["input"] == from_reports["after"]["input"] == "report"
    assert from_reports["findings"] == from_bundles["findings"] and from_reports["nodes"] == from_bundles["nodes"]
    code, mixed = diff_json(before, pair["after"])        # one of each
    assert code == 3 and mixed["before"]["input"] == "report" and mixed["after"]["input"] == "bundle"
    assert mixed["findings"] == from_bundles["findings"]


def test_a_report_without_profile_is_compared_on_findings_only(pair: dict[str, Path], tmp_path: Path) -> None:
    report = orjson.loads(analyze_json(pair["before"], tmp_path / "b.json").read_bytes())
    for node in report["nodes"]:
        node.pop("profile"), node.pop("settings")      # as a report written before they existed
    (tmp_path / "old.json").write_bytes(orjson.dumps(report))
    code, doc = diff_json(tmp_path / "old.json", pair["after"])
    assert code == 3 and doc["nodes"]["changed"] == [{"node": "n1", "profile": None, "settings": None}]
    text = diff(str(tmp_path / "old.json"), str(pair["after"]), "--format", "text", "-o", "-").stdout.decode()
    assert "  n1: profile not compared (a JSON report without it)" in text


# -- bad inputs: one line, exit 4 ---------------------------------------------------------
@pytest.mark.parametrize("content, message", [
    (b"this is not a bundle\n", ""),
    (b'{"schema_version": "1.2", "findings": [{"rule_id": "x", "sever', "broken or truncated JSON"),
    (b'{"schema_version": "9.0", "findings": [], "nodes": []}', "a JSON report of schema 9.0"),
    (b'{"hello": "world"}', "not a k8s-bundle JSON report"),
    (b'{"schema_version": "1.1", "findings": [{"rule_id": 3}], "nodes": []}', "findings[0] is not a finding"),
    (b'  \n{"schema_version": "1.1", "kind": "multi", "bundles": [], "problems": []}', "a report across several bundles"),
])
def test_unusable_input_is_one_line_exit_4(pair: dict[str, Path], tmp_path: Path, content: bytes, message: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    for args in ((str(bad), str(pair["after"])), (str(pair["before"]), str(bad))):
        proc = diff(*args, "-o", str(tmp_path / "d.html"))
        assert message in one_line_error(proc)
        assert not (tmp_path / "d.html").exists()


def test_a_real_multi_bundle_report_is_refused(pair: dict[str, Path], tmp_path: Path) -> None:
    multi = tmp_path / "multi.json"
    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(pair["before"]), str(pair["after"]),
                           "-o", str(multi), "-q"], capture_output=True, timeout=300)
    assert proc.returncode == 3, proc.stderr
    assert "a report across several bundles" in one_line_error(diff(str(multi), str(pair["after"]), "-o", "-"))


def test_missing_input_and_rule_options(pair: dict[str, Path], tmp_path: Path) -> None:
    assert "no such file or directory" in one_line_error(diff(str(tmp_path / "nope.tgz"), str(pair["after"])))
    proc = diff(str(pair["before"]), str(pair["after"]), "--no-builtin-rules", "-o", "-")
    assert "--no-builtin-rules needs at least one --rules DIR" in one_line_error(proc)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "site.yaml").write_text(yaml.safe_dump({
        "id": "site-swap", "severity": "info", "platforms": ["any"], "title": {"en": "swap seen", "zh": "swap"},
        "cause": {"en": "c", "zh": "c"}, "fix": {"en": "f", "zh": "f"},
        "match": {"log": {"sources": ["journal/*.log"], "regex": "running with swap on"}},
    }))
    code, doc = diff_json(pair["before"], pair["after"], "--rules", str(rules))       # added to the pack
    assert code == 3 and keys(doc["findings"]["new"]) == {("kubelet-swap-on", "n1"), ("site-swap", "n1")}
    code, doc = diff_json(pair["before"], pair["after"], "--rules", str(rules), "--no-builtin-rules")
    assert code == 1 and keys(doc["findings"]["new"]) == {("site-swap", "n1")} and doc["findings"]["still"] == []


def test_the_output_may_not_be_an_input(pair: dict[str, Path]) -> None:
    proc = diff(str(pair["before"]), str(pair["after"]), "-o", str(pair["after"]), "--format", "html")
    assert "it is the input" in one_line_error(proc)


# -- the HTML page in Chromium ------------------------------------------------------------
@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory, pair: dict[str, Path]) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("diff-html")
    evil = write_bundle(tmp / "evil.tgz", kubelet=INJECT, swap=True, node=EVIL_NODE)
    evil_before = write_bundle(tmp / "evil-before.tgz", node=EVIL_NODE)
    for name, (b, a, lang) in {"normal": (pair["before"], pair["after"], "en"),
                               "evil": (evil_before, evil, "zh")}.items():
        proc = diff(str(b), str(a), "-o", str(tmp / f"{name}.html"), "--lang", lang, "-q")
        assert proc.returncode == 3, proc.stderr
    return {"normal": tmp / "normal.html", "evil": tmp / "evil.html"}


@pytest.mark.browser
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="/usr/bin/chromium not installed")
def test_html_diff_renders_and_switches_language(browser: Any, pages: dict[str, Path]) -> None:
    w = Watched(browser)
    page = w.open(pages["normal"])
    assert page.locator("#verdict .l-en").inner_text() == "A new or worse critical finding (exit 3)."
    assert page.locator("#new-table tr.d-finding").count() == 1
    assert page.locator("#new-table .rule-id").inner_text() == "kubelet-swap-on"
    assert page.locator("#new-table .badge .l-en").inner_text().lower() == "critical"
    assert page.locator("#still-table tr.d-finding[data-trend=same]").count() >= 1
    assert page.locator("table.facts tr.d-fact").count() == 1
    assert "v1.29.4" in page.locator("table.facts tr.d-fact").inner_text()
    page.click("[data-set-lang=zh]")
    assert page.locator("body").get_attribute("data-lang") == "zh" and page.evaluate("location.href").endswith("#lang=zh")
    assert page.locator("#new-table .badge .l-zh").inner_text() == "严重"
    assert page.locator("#verdict .l-zh").is_visible() and not page.locator("#verdict .l-en").is_visible()
    page.reload()
    assert page.locator("body").get_attribute("data-lang") == "zh"       # the hash keeps the choice
    w.assert_clean()


@pytest.mark.browser
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="/usr/bin/chromium not installed")
def test_html_diff_of_an_injection_bundle_runs_no_script(browser: Any, pages: dict[str, Path]) -> None:
    w = Watched(browser)
    page = w.open(pages["evil"])
    page.wait_for_timeout(200)      # give an injected handler (onerror) the chance to run
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("img").count() == 0
    assert page.locator("body").get_attribute("data-lang") == "zh"        # --lang zh
    text = page.locator("main").inner_text()
    assert INJECT in text and EVIL_NODE in text                           # shown as text
    csp = page.locator('meta[http-equiv="Content-Security-Policy"]').get_attribute("content")
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp
    w.assert_clean()


def test_stdout_closed_is_one_line_exit_4(pair: dict[str, Path]) -> None:
    proc = subprocess.run(["sh", "-c", f'"{sys.executable}" -m k8s_bundle.cli diff "$0" "$1" -o - >&-',
                           str(pair["before"]), str(pair["after"])], capture_output=True, timeout=300)
    assert "standard output: it is closed" in one_line_error(proc)
