"""`analyze` options: --rules adds to the shipped pack, --no-builtin-rules replaces it, the
output format follows the extension of -o. Real sample bundle, real subprocess runs."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest
import yaml

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
BROKEN = SAMPLES / "broken-kubeadm.tgz"


def analyze(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", *args],
                          capture_output=True, timeout=180, cwd=cwd)


def one_line_error(proc: subprocess.CompletedProcess[bytes]) -> str:
    err = proc.stderr.decode()
    assert proc.returncode == 4, err
    assert err.startswith("k8s-bundle: error: ") and err.count("\n") == 1, err
    return err


def write_rule(folder: Path, rule_id: str, severity: str = "info", title: str = "hi",
               regex: str = "Kubelet version") -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"{rule_id}.yaml"
    path.write_text(yaml.safe_dump({
        "id": rule_id, "severity": severity, "platforms": ["any"],
        "title": {"en": title, "zh": title}, "cause": {"en": "c", "zh": "c"}, "fix": {"en": "f", "zh": "f"},
        "match": {"log": {"sources": ["journal/*.log"], "regex": regex}},
    }))
    return path


def findings(proc: subprocess.CompletedProcess[bytes]) -> dict[str, dict]:
    return {f["rule_id"]: f for f in orjson.loads(proc.stdout)["findings"]}


def test_rules_dir_adds_to_the_shipped_pack(tmp_path: Path) -> None:
    write_rule(tmp_path / "extra", "site-hello")
    proc = analyze(str(BROKEN), "--rules", str(tmp_path / "extra"), "--format", "json", "-o", "-")
    assert proc.returncode == 3, proc.stderr      # the shipped critical findings are still there
    found = findings(proc)
    assert "site-hello" in found and "kubelet-swap-on" in found and len(found) > 20
    assert proc.stderr == b""


def test_no_builtin_rules_runs_only_the_given_dirs(tmp_path: Path) -> None:
    write_rule(tmp_path / "extra", "site-hello")
    proc = analyze(str(BROKEN), "--rules", str(tmp_path / "extra"), "--no-builtin-rules", "--format", "json", "-o", "-")
    assert proc.returncode == 0, proc.stderr
    assert list(findings(proc)) == ["site-hello"]


def test_no_builtin_rules_without_rules_is_one_line_exit_4(tmp_path: Path) -> None:
    proc = analyze(str(BROKEN), "--no-builtin-rules", "-o", str(tmp_path / "r.html"))
    assert "--no-builtin-rules needs at least one --rules DIR" in one_line_error(proc)
    assert not (tmp_path / "r.html").exists()


def test_a_rules_rule_with_a_shipped_id_replaces_it_with_a_note(tmp_path: Path) -> None:
    write_rule(tmp_path / "extra", "kubelet-swap-on", severity="warning", title="site swap policy",
               regex="running with swap on is not supported")
    proc = analyze(str(BROKEN), "--rules", str(tmp_path / "extra"), "--format", "json", "-o", "-")
    err = proc.stderr.decode()
    assert "note: rule kubelet-swap-on from" in err and "replaces the shipped one" in err
    found = findings(proc)
    assert found["kubelet-swap-on"]["title"]["en"] == "site swap policy"
    assert found["kubelet-swap-on"]["severity"] == "warning"
    assert proc.returncode == 3                    # other shipped critical findings remain


def test_two_rules_dirs_with_one_id_are_exit_4(tmp_path: Path) -> None:
    write_rule(tmp_path / "a", "site-hello")
    write_rule(tmp_path / "b", "site-hello")
    proc = analyze(str(BROKEN), "--rules", str(tmp_path / "a"), "--rules", str(tmp_path / "b"),
                   "-o", str(tmp_path / "r.html"))
    assert "duplicate rule id 'site-hello'" in one_line_error(proc)


def test_missing_rules_dir_is_exit_4(tmp_path: Path) -> None:
    proc = analyze(str(BROKEN), "--rules", str(tmp_path / "nope"), "-o", str(tmp_path / "r.html"))
    assert "no such rules directory" in one_line_error(proc)


@pytest.mark.parametrize("name, kind", [("r.json", "json"), ("R.JSON", "json"), ("r.html", "html"),
                                        ("r.htm", "html"), ("r.txt", "text"), ("r.report", "html")])
def test_the_format_follows_the_extension(tmp_path: Path, name: str, kind: str) -> None:
    proc = analyze(str(BROKEN), "-o", str(tmp_path / name), "-q")
    assert proc.returncode == 3, proc.stderr
    data = (tmp_path / name).read_bytes()
    if kind == "json":
        assert orjson.loads(data)["summary"]["exit_code"] == 3
    elif kind == "html":
        assert data.startswith(b"<!DOCTYPE html>")
    else:
        assert data.startswith(str(BROKEN).encode()) and b"CRITICAL" in data and b"<html" not in data


@pytest.mark.parametrize("name, fmt", [("r.json", "html"), ("r.html", "json"), ("r.htm", "text"), ("r.txt", "json")])
def test_a_format_that_contradicts_the_extension_is_exit_4(tmp_path: Path, name: str, fmt: str) -> None:
    proc = analyze(str(BROKEN), "-o", str(tmp_path / name), "--format", fmt)
    assert f"--format {fmt} contradicts the output name" in one_line_error(proc)
    assert list(tmp_path.iterdir()) == []


def test_an_agreeing_format_and_an_unknown_extension_are_fine(tmp_path: Path) -> None:
    assert analyze(str(BROKEN), "-o", str(tmp_path / "r.json"), "--format", "json", "-q").returncode == 3
    assert orjson.loads((tmp_path / "r.json").read_bytes())["findings"]
    assert analyze(str(BROKEN), "-o", str(tmp_path / "r.out"), "--format", "json", "-q").returncode == 3
    assert orjson.loads((tmp_path / "r.out").read_bytes())["findings"]


def test_stdout_keeps_the_format_option(tmp_path: Path) -> None:
    default = analyze(str(BROKEN), "-o", "-")
    assert default.returncode == 3 and default.stdout.startswith(b"<!DOCTYPE html>")
    as_json = analyze(str(BROKEN), "-o", "-", "--format", "json")
    assert as_json.returncode == 3 and orjson.loads(as_json.stdout)["summary"]["critical"] > 0
    as_text = analyze(str(BROKEN), "-o", "-", "--format", "text")
    assert as_text.returncode == 3 and b"CRITICAL" in as_text.stdout


def test_default_output_name_follows_format(tmp_path: Path) -> None:
    bundle = tmp_path / "case.tgz"
    bundle.write_bytes(BROKEN.read_bytes())
    assert analyze(str(bundle), "--format", "json", "-q").returncode == 3
    assert orjson.loads((tmp_path / "case.json").read_bytes())["findings"]


# -- the terminal summary -------------------------------------------------------------------
def test_summary_names_the_failed_items_and_ends_with_the_exit_meaning(tmp_path: Path) -> None:
    proc = analyze(str(BROKEN), "-o", str(tmp_path / "r.json"))
    lines = proc.stdout.decode().rstrip().splitlines()
    assert proc.returncode == 3
    at = lines.index("1 collection item(s) failed, timed out or were truncated:")
    assert lines[at + 1] == "  k8s-master-1/crictl-images: timeout  timed out after 10s"
    assert lines[-2:] == [f"Report: {tmp_path / 'r.json'}", "exit 3: critical findings"]


def test_summary_in_chinese_uses_chinese_severity_words(tmp_path: Path) -> None:
    proc = analyze(str(BROKEN), "-o", str(tmp_path / "r.json"), "--lang", "zh")
    out = proc.stdout.decode()
    assert "严重     k8s-master-1  kubelet-swap-on" in out and "警告     " in out
    assert "CRITICAL" not in out and "WARNING" not in out
    assert out.rstrip().splitlines()[-1] == "退出码 3：有严重问题"


def test_summary_counts_the_failed_items_past_the_first_five(tmp_path: Path) -> None:
    from k8s_bundle.analyzer.fixtures import build_fixture_bundle

    items = [{"id": f"item-{n}", "status": "failed" if n % 2 else "timeout", "error": f"boom {n}"} for n in range(8)]
    bundle = build_fixture_bundle({"items": items}, tmp_path / "b.tgz")
    proc = analyze(str(bundle), "-o", str(tmp_path / "r.json"))
    lines = proc.stdout.decode().splitlines()
    at = lines.index("8 collection item(s) failed, timed out or were truncated:")
    assert lines[at + 1:at + 7] == [f"  node1/item-{n}: {'failed' if n % 2 else 'timeout'}  boom {n}" for n in range(5)] + [
        "  and 3 more (see the report)"]
    assert lines[-1] == f"exit {proc.returncode}: " + {0: "nothing worse than info", 1: "warnings, no critical finding",
                                                        3: "critical findings"}[proc.returncode]


def test_html_severity_badges_carry_both_languages_and_open_in_the_chosen_one(tmp_path: Path) -> None:
    proc = analyze(str(BROKEN), "-o", str(tmp_path / "r.html"), "--lang", "zh", "-q")
    assert proc.returncode == 3, proc.stderr
    html = (tmp_path / "r.html").read_text("utf-8")
    assert '<body data-lang="zh">' in html
    badge = '<span class="badge sev-critical"><span class="l-en">critical</span><span class="l-zh">严重</span></span>'
    assert badge in html
    assert '<span class="badge sev-critical">critical</span>' not in html
