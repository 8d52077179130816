"""Rule loading and the engine, on Evidence built in the test (a real polars log index)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from k8s_bundle.analyzer.evaluate import evaluate, format_message, load_rules
from k8s_bundle.analyzer.evaluate_logs import glob_to_regex, strip_group_names
from k8s_bundle.analyzer.model import Evidence
from k8s_bundle.bundle.problems import Problem
from k8s_bundle.analyzer.rules_load import RuleError, load_rule_file

T0 = dt.datetime(2026, 11, 22, 10, 0, 0, tzinfo=dt.timezone.utc)


def log_index(rows: list[tuple[str, str, int, dt.datetime | None, str | None, str]]) -> pl.DataFrame:
    """rows: (node, source, line, timestamp, level, message)."""
    return pl.DataFrame(
        {
            "node": [r[0] for r in rows],
            "source": [r[1] for r in rows],
            "file": [f"nodes/{r[0]}/logs/{r[1]}" for r in rows],
            "line": [r[2] for r in rows],
            "timestamp": [r[3] for r in rows],
            "level": [r[4] for r in rows],
            "ident": [None for _ in rows],
            "message": [r[5] for r in rows],
        },
        schema={   # the real index's columns (analyzer/logindex.py SCHEMA)
            "node": pl.Categorical, "source": pl.Categorical, "file": pl.Categorical,
            "line": pl.UInt32, "timestamp": pl.Datetime("us", "UTC"), "level": pl.Categorical,
            "ident": pl.Categorical, "message": pl.String,
        },
    )


def evidence(rows: list[Any] | None = None, nodes: dict[str, dict] | None = None, **kw: Any) -> Evidence:
    nodes = nodes if nodes is not None else {"node1": {"name": "node1", "os": "linux"}}
    return Evidence(
        source="test",
        manifest=kw.get("manifest", {"items": [], "nodes": [{"name": n} for n in nodes]}),
        bundle=kw.get("bundle", {"format_version": "1.0"}),
        nodes=nodes,
        cluster=kw.get("cluster", {}),
        log_index=log_index(rows or []),
        problems=kw.get("problems", []),
        members=kw.get("members", []),
    )


BASE = {
    "severity": "warning",
    "platforms": ["linux"],
    "title": {"en": "T", "zh": "T"},
    "cause": {"en": "C", "zh": "C"},
    "fix": {"en": "F", "zh": "F"},
}


def write_rule(tmp_path: Path, rule_id: str, match: dict, **extra: Any) -> Path:
    doc = {"id": rule_id, **BASE, "match": match, **extra}
    path = tmp_path / f"{rule_id}.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def rules_from(tmp_path: Path, *specs: tuple[str, dict] | tuple[str, dict, dict]) -> list:
    for spec in specs:
        write_rule(tmp_path, spec[0], spec[1], **(spec[2] if len(spec) > 2 else {}))
    return load_rules([tmp_path])


# -- loading ---------------------------------------------------------------------------------
def test_bad_rules_are_rejected_with_file_and_reason(tmp_path: Path) -> None:
    bad_regex = write_rule(tmp_path, "bad-regex", {"log": {"sources": ["x"], "regex": "(?<=a)b"}})
    with pytest.raises(RuleError, match=r"bad-regex\.yaml.*Rust regex"):
        load_rule_file(bad_regex)
    bad_cel = write_rule(tmp_path, "bad-cel", {"fact": "node.x >"})
    with pytest.raises(RuleError, match=r"bad-cel\.yaml.*CEL syntax"):
        load_rule_file(bad_cel)
    bad_sev = tmp_path / "sev.yaml"
    bad_sev.write_text(yaml.safe_dump({"id": "sev", **BASE, "severity": "huge", "match": {"fact": "true"}}))
    with pytest.raises(RuleError, match=r"sev\.yaml: severity: 'huge' is not one of"):
        load_rule_file(bad_sev)
    not_yaml = tmp_path / "broken.yaml"
    not_yaml.write_text("id: [unclosed\n")
    with pytest.raises(RuleError, match=r"broken\.yaml: not valid YAML"):
        load_rule_file(not_yaml)


def test_duplicate_ids_rejected(tmp_path: Path) -> None:
    write_rule(tmp_path, "dup", {"fact": "true"})
    (tmp_path / "sub").mkdir()
    write_rule(tmp_path / "sub", "dup", {"fact": "true"})
    with pytest.raises(RuleError, match="duplicate rule id 'dup'"):
        load_rules([tmp_path])


def test_shipped_rules_load() -> None:
    rules = load_rules()
    assert {"bundle-truncated", "parse-error"} <= {r.id for r in rules}


# -- log matching ----------------------------------------------------------------------------
def test_log_match_with_named_groups_and_message(tmp_path: Path) -> None:
    rules = rules_from(
        tmp_path,
        (
            "pleg",
            {"log": {"sources": ["journal/kubelet.log"], "regex": r"PLEG is not healthy: pleg was last seen active (?P<ago>\S+) ago"}},
            {"message": {"en": "PLEG stalled {ago} on {node}; {unknown} {{x}}", "zh": "PLEG {ago}"}},
        ),
    )
    rows = [
        ("node1", "journal/kubelet.log", 1, T0, "E", "PLEG is not healthy: pleg was last seen active 3m0s ago"),
        ("node1", "journal/kubelet.log", 2, T0 + dt.timedelta(minutes=1), "E", "PLEG is not healthy: pleg was last seen active 4m1s ago"),
        ("node1", "journal/containerd.log", 3, T0, "E", "PLEG is not healthy: pleg was last seen active 9m ago"),
    ]
    (f,) = evaluate(rules, evidence(rows))
    assert f.message["en"] == "PLEG stalled 3m0s on node1; {unknown} {x}"
    assert f.log_count == 2  # the containerd line is outside the sources
    assert [(l.line, l.timestamp) for l in f.log_lines] == [(1, "2026-11-22T10:00:00Z"), (2, "2026-11-22T10:01:00Z")]
    assert f.first_seen == "2026-11-22T10:00:00Z" and f.last_seen == "2026-11-22T10:01:00Z"


def test_window_and_min_count(tmp_path: Path) -> None:
    rules = rules_from(
        tmp_path,
        ("burst", {"log": {"sources": ["**"], "regex": "PLEG is not healthy", "min_count": 3, "window": "20m"}}),
    )
    spread = [("node1", "journal/kubelet.log", i, T0 + dt.timedelta(minutes=15 * i), "E", "PLEG is not healthy") for i in range(5)]
    # never 3 within 20m: reported, but as info below the threshold (severity by meaning)
    (low,) = evaluate(rules, evidence(spread))
    assert (low.severity, low.below_threshold, low.log_count) == ("info", True, 5)
    assert low.thresholds == [{"count": 5, "min_count": 3, "window": "20m"}]
    assert low.message["en"] == "T (seen 5 times; the rule warns at 3 within 20m)"
    burst = spread + [
        ("node1", "journal/kubelet.log", 10 + i, T0 + dt.timedelta(hours=3, minutes=5 * i), "E", "PLEG is not healthy")
        for i in range(3)
    ]
    (f,) = evaluate(rules, evidence(burst))
    assert f.log_count == 8
    # every matching line is kept (under the cap), in time order: the spread ones, then the burst
    assert [l.line for l in f.log_lines] == [0, 1, 2, 3, 4, 10, 11, 12]


def test_window_met_on_one_node_below_on_another(tmp_path: Path) -> None:
    rules = rules_from(
        tmp_path,
        ("burst", {"log": {"sources": ["**"], "regex": "PLEG is not healthy", "min_count": 3, "window": "20m"}}),
    )
    nodes = {"a": {"os": "linux"}, "b": {"os": "linux"}}
    rows = [("a", "journal/kubelet.log", 1 + i, T0 + dt.timedelta(minutes=i), "E", "PLEG is not healthy") for i in range(4)]
    rows += [("b", "journal/kubelet.log", 7, T0 + dt.timedelta(minutes=2), "E", "PLEG is not healthy")]
    found = {f.node: f for f in evaluate(rules, evidence(rows, nodes=nodes))}
    assert (found["a"].severity, found["a"].below_threshold, found["a"].log_count) == ("warning", False, 4)
    assert [l.line for l in found["a"].log_lines] == [1, 2, 3, 4]
    assert (found["b"].severity, found["b"].below_threshold, found["b"].log_count) == ("info", True, 1)
    assert [l.line for l in found["b"].log_lines] == [7]


def test_level_filter_and_nodes_are_separate(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, ("lvl", {"log": {"sources": ["journal/*.log"], "regex": "boom", "level": ["E"]}}))
    nodes = {"a": {"os": "linux"}, "b": {"os": "linux"}}
    rows = [("a", "journal/kubelet.log", 1, T0, "I", "boom"), ("b", "journal/kubelet.log", 1, T0, "E", "boom")]
    (f,) = evaluate(rules, evidence(rows, nodes=nodes))
    assert f.node == "b"


def test_regex_with_same_group_names_in_several_rules(tmp_path: Path) -> None:
    rules = rules_from(
        tmp_path,
        ("one", {"log": {"sources": ["**"], "regex": r"disk (?P<dev>\w+) full"}}),
        ("two", {"log": {"sources": ["**"], "regex": r"(?P<dev>\w+): I/O error"}}),
    )
    rows = [("node1", "kernel.log", 1, None, None, "sda: I/O error"), ("node1", "kernel.log", 2, None, None, "disk sdb full")]
    found = {f.rule_id: f for f in evaluate(rules, evidence(rows))}
    assert set(found) == {"one", "two"}
    assert found["one"].log_lines[0].line == 2 and found["one"].log_lines[0].timestamp is None


def test_cluster_scope_log_counts_across_nodes(tmp_path: Path) -> None:
    rules = rules_from(
        tmp_path,
        ("cl", {"log": {"sources": ["**"], "regex": "etcd timeout", "min_count": 2}}, {"scope": "cluster"}),
    )
    nodes = {"a": {}, "b": {}}
    rows = [("a", "x.log", 1, T0, None, "etcd timeout"), ("b", "x.log", 1, T0, None, "etcd timeout")]
    (f,) = evaluate(rules, evidence(rows, nodes=nodes))
    assert f.node is None and f.nodes == ["a", "b"] and f.log_count == 2


# -- facts, files, commands, problems, combinations -------------------------------------------
def test_fact_conditions_missing_keys_are_false(tmp_path: Path) -> None:
    rules = rules_from(
        tmp_path,
        (
            "swap",
            {"all": [{"fact": "size(node.swaps) > 0"}, {"not": {"fact": "node.kubelet_config.failSwapOn == false"}}]},
            {"vars": {"swap_kb": "node.swaps.map(s, s.size_kb).sum()"},
             "message": {"en": "Swap is on: {swap_kb} kB", "zh": "swap {swap_kb}"},
             "evidence": ['node.swaps.map(s, s.filename).join(", ")']},
        ),
    )
    nodes = {
        "on": {"os": "linux", "swaps": [{"filename": "/dev/dm-1", "size_kb": 2097148}, {"filename": "/swapfile", "size_kb": 2}]},
        "allowed": {"os": "linux", "swaps": [{"filename": "/dev/dm-1", "size_kb": 1}], "kubelet_config": {"failSwapOn": False}},
        "nofacts": {"os": "linux"},
    }
    (f,) = evaluate(rules, evidence(nodes=nodes))
    assert f.node == "on"
    assert f.message["en"] == "Swap is on: 2097150 kB"
    assert f.fact_lines == ["/dev/dm-1, /swapfile"]


def test_platform_filter(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, ("lin", {"fact": "true"}))
    (f,) = evaluate(rules, evidence(nodes={"w": {"os": "windows"}, "l": {"os": "linux"}}))
    assert f.node == "l"


def test_file_absent_and_command_status(tmp_path: Path) -> None:
    rules = rules_from(
        tmp_path,
        ("noadmin", {"file": {"path": "files/etc/kubernetes/admin.conf", "present": False}}),
        ("hung", {"command": {"id": "docker-info", "status": ["timeout"]}}),
    )
    items = [
        {"node": "a", "id": "docker-info", "status": "timeout", "error": "timed out after 10s", "path": None},
        {"node": "b", "id": "docker-info", "status": "ok", "path": "nodes/b/commands/docker-info.json"},
    ]
    ev = evidence(
        nodes={"a": {}, "b": {}},
        manifest={"items": items},
        members=["nodes/a/files/etc/kubernetes/admin.conf", "nodes/b/node.json"],
    )
    found = {(f.rule_id, f.node): f for f in evaluate(rules, ev)}
    assert set(found) == {("noadmin", "b"), ("hung", "a")}
    assert found[("hung", "a")].items[0]["error"] == "timed out after 10s"
    assert "not in the bundle: nodes/b/files/etc/kubernetes/admin.conf" in found[("noadmin", "b")].fact_lines[0]


def test_problem_condition_and_any(tmp_path: Path) -> None:
    rules = rules_from(
        tmp_path,
        ("trunc", {"any": [{"problem": {"kind": ["truncated"]}}, {"fact": "bundle.truncated == true"}]},
         {"scope": "cluster", "platforms": ["any"], "message": {"en": "{problem}", "zh": "{problem}"}}),
    )
    assert evaluate(rules, evidence()) == []
    (f,) = evaluate(rules, evidence(problems=[Problem("truncated", "gzip stream ended early", None, None)]))
    assert f.message["en"] == "gzip stream ended early" and f.node is None
    (f,) = evaluate(rules, evidence(bundle={"truncated": True}))
    assert f.rule_id == "trunc"


def test_explains_marks_root_cause_on_same_node(tmp_path: Path) -> None:
    rules = rules_from(
        tmp_path,
        ("swap-on", {"fact": "node.swap == true"}, {"explains": ["kubelet-down"], "severity": "critical"}),
        ("kubelet-down", {"fact": "node.kubelet_up == false"}),
    )
    nodes = {"a": {"swap": True, "kubelet_up": False}, "b": {"swap": False, "kubelet_up": False}}
    found = {(f.rule_id, f.node): f for f in evaluate(rules, evidence(nodes=nodes))}
    assert found[("swap-on", "a")].root_cause and found[("swap-on", "a")].explains == ["kubelet-down"]
    assert found[("kubelet-down", "a")].explained_by == ["swap-on"]
    assert found[("kubelet-down", "b")].explained_by == []


def test_findings_sorted_by_severity_then_node(tmp_path: Path) -> None:
    rules = rules_from(
        tmp_path,
        ("w", {"fact": "true"}),
        ("c", {"fact": "true"}, {"severity": "critical"}),
        ("i", {"fact": "true"}, {"severity": "info"}),
    )
    got = [(f.severity, f.node) for f in evaluate(rules, evidence(nodes={"b": {}, "a": {}}))]
    assert got == [("critical", "a"), ("critical", "b"), ("warning", "a"), ("warning", "b"), ("info", "a"), ("info", "b")]


# -- helpers ---------------------------------------------------------------------------------
def test_format_message_is_safe() -> None:
    assert format_message("{a.__class__} {a[0]} {a!r} {a}", {"a": "x"}) == "{a.__class__} {a[0]} {a!r} x"


def test_glob_and_group_stripping() -> None:
    assert glob_to_regex("journal/*.log").match("journal/kubelet.log")
    assert not glob_to_regex("journal/*.log").match("journal/sub/kubelet.log")
    assert glob_to_regex("var/log/pods/**/0.log").match("var/log/pods/ns_p_u/ctr/0.log")
    assert glob_to_regex("**/kubelet.log").match("kubelet.log")
    assert strip_group_names(r"(?P<a>x)\(?P<b>y)(?<c>z)") == r"(?:x)\(?P<b>y)(?:z)"


@pytest.mark.parametrize(
    "text",
    [
        "has(node.a.b) && node.a.b > 1",
        "node.a.b > 1 && node.name == 'node.c'",
        "node.c == 1 || node.name == 'x'",
        "!has(node.c) && node.name == 'x'",
        "node.l.all(i, node.c == i)",
        "size(node.l) == 0 && vars.v == 2",
        "(node.c == 1 && true) || true",
        "node.name != 'y' ? true : node.c == 1",
    ],
)
def test_guards_never_change_the_answer(text: str) -> None:
    """The Python pre-checks are an optimisation: CEL alone must give the same truth."""
    from k8s_bundle.analyzer.cel_env import CelFailure, activation, compile_cel, to_cel

    expr = compile_cel(text)
    for facts in ({"name": "x", "a": {"b": 2}, "l": []}, {"name": "x"}, {"name": "y", "a": {}, "l": [1], "c": 1}, {}):
        for variables in ([], [("v", to_cel(2))]):
            act = activation(to_cel(facts), to_cel({}), to_cel({}), variables)
            try:
                raw = expr.program.evaluate(act)
                plain = not isinstance(raw, Exception) and raw is not None and bool(raw) is True and type(raw).__name__ == "BoolType"
            except Exception:  # noqa: BLE001 - celpy's errors mean false
                plain = False
            assert expr.truth(act) == plain, (text, facts, variables)


def test_memo_keys_on_the_facts_an_expression_reads(tmp_path: Path) -> None:
    rules = rules_from(
        tmp_path,
        ("by-name", {"fact": "node.name == 'a' && node.swap == true"}),
        ("whole-node", {"fact": "size(node) == 3"}),
        ("by-var", {"fact": "vars.n > 1"}, {"vars": {"n": "size(node.l)"}}),
    )
    same = {"swap": True, "os": "linux", "l": [1, 2]}
    nodes = {"a": {"name": "a", **same}, "b": {"name": "b", **same}, "c": {"name": "c", "l": [1], "os": "linux"}}
    got = sorted((f.rule_id, f.node) for f in evaluate(rules, evidence(nodes=nodes)))
    assert got == [("by-name", "a"), ("by-var", "a"), ("by-var", "b"), ("whole-node", "c")]


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(
    minutes=st.lists(st.integers(min_value=0, max_value=300), min_size=0, max_size=25),
    k=st.integers(min_value=1, max_value=5),
    window=st.integers(min_value=1, max_value=60),
)
def test_window_matches_a_naive_count(minutes: list[int], k: int, window: int) -> None:
    """The vectorised `k lines within W` equals the obvious check over sorted times."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        rules = rules_from(Path(tmp), ("w", {"log": {"sources": ["**"], "regex": "tick", "min_count": k, "window": f"{window}m"}}))
    rows = [("node1", "a.log", i + 1, T0 + dt.timedelta(minutes=m), None, "tick") for i, m in enumerate(minutes)]
    times = sorted(minutes)
    expected = any(times[i + k - 1] - times[i] <= window for i in range(len(times) - k + 1))
    found = [f for f in evaluate(rules, evidence(rows)) if not f.below_threshold]
    assert bool(found) == expected
    low = [f for f in evaluate(rules, evidence(rows)) if f.below_threshold]
    # short of the window, the lines are still reported (info), never dropped
    assert bool(low) == (bool(minutes) and not expected)
    assert all(f.severity == "info" and f.log_count == len(minutes) for f in low)
    if found:
        # every matching line is kept (25 at most here, under the cap), in time order
        kept = [dt.datetime.fromisoformat(l.timestamp.replace("Z", "+00:00")) for l in found[0].log_lines]
        assert kept == sorted(T0 + dt.timedelta(minutes=m) for m in minutes)
        assert found[0].log_count == len(minutes)
