"""The bounded CEL evaluator (analyzer/cel_eval.py): same values as celpy's own evaluator,
short-circuits, a step budget, and the engine's caps reported as findings."""
from __future__ import annotations

import time

import celpy
import pytest

from k8s_bundle.analyzer.cel_env import CEL_CAPS, EXTRA_FUNCTIONS, CelLimit, activation, compile_cel, to_cel
from k8s_bundle.analyzer.cel_eval import Budget
from k8s_bundle.analyzer.evaluate import evaluate, load_rules
from k8s_bundle.analyzer.model import Evidence

from test_engine_rules import evidence

FACTS = {
    "certs": [{"path": "/a", "days": 3.0, "sans": ["DNS:x"]}, {"path": "/b", "days": -1.0}, {"path": 7}],
    "n": 3, "s": "abc", "m": {"k": "v", "nested": {"x": [1, 2, 3]}}, "empty": [], "none": None,
}

# Each expression is evaluated by celpy's stock interpreter and by ours: same value, or both errors.
EXPRESSIONS = [
    'node.n > 1 && node.s == "abc"', 'node.n > 5 && node.missing == 1', 'node.missing == 1 && node.n > 5',
    'node.missing == 1 && node.n < 5', 'node.n < 5 || node.missing', 'node.missing || node.n < 5',
    'node.missing || node.n > 5', 'node.n > 5 || node.s == "x"', '!(node.n > 5) && true',
    'node.certs.exists(c, c.path == "/b")', 'node.certs.exists(c, c.path.startsWith("/z"))',
    'node.certs.exists(c, c.path.startsWith("/b"))', 'node.certs.all(c, has(c.days))',
    'node.certs.all(c, c.path.startsWith("/"))', 'node.certs.all(c, c.days > -5.0)',
    'node.certs.filter(c, has(c.days) && c.days < 0.0).map(c, c.path)', 'node.empty.all(c, false)',
    'node.empty.exists(c, true)', 'node.m.exists(k, k == "k")', 'node.m.nested.x.exists(v, v == 2)',
    'node.m.k + node.s', 'has(node.m.nested.x) ? size(node.m.nested.x) : -1', 'node.none == null',
    'node.certs.exists_one(c, c.path == "/a")', '[1, 2, 3].map(x, x * 2)', '{"a": 1}.a', 'node.m["k"]',
    'node.n.foo', 'node.certs[0].sans.join(", ")', 'type(node.n) == int', 'node.certs[5]',
    '1 / 0 == 1 || true', 'true && 1 / 0 == 1', "'a\\tb' + \"c\\u00e9\"", 'b"ab" == b"ab"', '3u + 1u', '1.5e1 > 2.0',
]


def _stock(text: str, act: dict) -> tuple[bool, object]:
    env = celpy.Environment()
    prog = env.program(env.compile(text), functions=EXTRA_FUNCTIONS)
    try:
        value = prog.evaluate(act)
    except Exception as exc:  # noqa: BLE001
        return False, type(exc).__name__
    return (False, "error") if isinstance(value, Exception) else (True, value)


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_same_value_as_celpy(text: str) -> None:
    act = activation(to_cel(FACTS), to_cel({}), to_cel({}))
    ok, want = _stock(text, act)
    try:   # the runner itself (CelExpr.evaluate also answers some failures early from has() guards)
        got = compile_cel(text).program.evaluate_within(act, Budget(10**6))
    except Exception:  # noqa: BLE001
        got = None
    if ok:
        assert got == want and type(got) is type(want), f"{text}: celpy gives {want!r}, ours {got!r}"
    else:
        assert got is None or isinstance(got, Exception), f"{text}: celpy fails, ours gives {got!r}"


def _certs(n: int) -> dict:
    return {"certs": [{"path": "/etc/kubernetes/pki/ca.crt", "fp": "A", "kc": f"x#{i}.certificate-authority-data"}
                      for i in range(n)]}


NESTED = 'node.certs.exists(k, k.kc.endsWith("authority-data") && node.certs.exists(c, c.fp != k.fp))'


def test_and_does_not_walk_the_inner_list_when_the_left_side_is_false() -> None:
    expr = compile_cel('node.certs.exists(k, k.kc.endsWith("nothing") && node.certs.exists(c, c.fp != k.fp))')
    act = activation(to_cel(_certs(3000)), to_cel({}), to_cel({}))
    budget = Budget(10**9)
    assert expr.evaluate(act, budget) is not None
    assert budget.used < 3000 * 20    # linear: a few steps per record, not 3000 x 3000


def test_exists_stops_at_the_first_true_element() -> None:
    act = activation(to_cel({"l": list(range(100_000))}), to_cel({}), to_cel({}))
    budget = Budget(10**9)
    assert bool(compile_cel("node.l.exists(x, x == 3)").evaluate(act, budget))
    assert budget.used < 100
    budget = Budget(10**9)
    assert not bool(compile_cel("node.l.all(x, x < 2)").evaluate(act, budget))
    assert budget.used < 100


def test_nested_walk_over_hostile_lists_stops_at_the_budget() -> None:
    act = activation(to_cel(_certs(2000)), to_cel({}), to_cel({}))
    t0 = time.monotonic()
    with pytest.raises(CelLimit):
        compile_cel(NESTED).evaluate(act, Budget(50_000))
    assert time.monotonic() - t0 < 10
    assert not compile_cel(NESTED).truth(activation(to_cel(_certs(20)), to_cel({}), to_cel({})))


def _rule(tmp_path, text: str) -> list:
    (tmp_path / "r.yaml").write_text(
        "id: nested-walk\nseverity: warning\nplatforms: [linux]\n"
        "title: {en: T, zh: T}\ncause: {en: C, zh: C}\nfix: {en: F, zh: F}\n"
        f"match: {{fact: '{text}'}}\n"
        "tests:\n  - {name: q, expect: quiet, files: {nodes/node1/commands/uname.txt: x}}\n")
    builtin = [r for r in load_rules() if r.id == "bundle-limit-reached"]
    return load_rules([str(tmp_path)]) + builtin


def test_engine_reports_the_expression_cap_as_a_finding(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("k8s_bundle.analyzer.evaluate.CEL_CAPS", type(CEL_CAPS)(20_000, 10**6, 10**7))
    rules = _rule(tmp_path, NESTED)
    ev: Evidence = evidence(nodes={"node1": {"name": "node1", "os": "linux", **_certs(1000)}})
    findings = evaluate(rules, ev)
    limit = [f for f in findings if f.rule_id == "bundle-limit-reached"]
    assert [f.rule_id for f in findings] == ["bundle-limit-reached"]
    assert "nested-walk" in limit[0].message["en"] and "max_steps_per_expression" in limit[0].message["en"]
    assert any(p.kind == "limit" and p.node == "node1" for p in ev.problems)


def test_engine_node_budget_is_shared_by_the_node_rules(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("k8s_bundle.analyzer.evaluate.CEL_CAPS", type(CEL_CAPS)(10**6, 30_000, 10**7))
    rules = _rule(tmp_path, NESTED)
    nodes = {f"n{i}": {"name": f"n{i}", "os": "linux", **_certs(400 + i)} for i in range(2)}
    ev = evidence(nodes=nodes)
    findings = evaluate(rules, ev)
    messages = [f.message["en"] for f in findings if f.rule_id == "bundle-limit-reached"]
    assert len(messages) == 1 and "max_steps_per_node" in messages[0]
    assert {p.node for p in ev.problems if p.kind == "limit"} == {"n0", "n1"}


def test_a_big_real_ruleset_stays_within_the_expression_cap() -> None:
    """50,000 filter-table rules (Calico with many policies) walked by the firewall rule: a
    real node's facts must not reach max_steps_per_expression."""
    from k8s_bundle.analyzer.parsers.firewall import parse_iptables_save

    rules = "".join(f"-A cali-pi-{i // 20:06d} -s 10.{i % 250}.0.0/16 -p tcp -m comment --comment \"cali:{i:016x}\" "
                    f"-m multiport --dports 8080,9090 -j MARK --set-xmark 0x10000/0x10000\n" for i in range(50_000))
    chains = "".join(f":cali-pi-{c:06d} - [0:0]\n" for c in range(2_500))
    facts = {"name": "node1", "os": "linux",
             "iptables": parse_iptables_save("*filter\n:INPUT ACCEPT [0:0]\n" + chains + rules + "COMMIT\n")}
    firewall = [r for r in load_rules() if r.id in ("node-firewall-blocking", "bundle-limit-reached")]
    assert len(firewall) == 2
    ev = evidence(nodes={"node1": facts})
    evaluate(firewall, ev)
    assert not [p for p in ev.problems if p.kind == "limit"]
