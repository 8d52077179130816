"""Quality checks on the Linux and cluster rule pack that the schema alone cannot express.

Each rule's fixtures are run through the real pipeline by tests/analyzer/test_rules_cli.py
(every shipped rule); here: both fixture kinds exist, both languages are filled, the fix gives
commands, references name a seed section or an upstream source, and correlation targets exist.
"""
from __future__ import annotations

import re

import pytest

from k8s_bundle.rules.catalogue import load_rule_docs

ALL = load_rule_docs()
IDS = {r["id"] for r in ALL}
PACK = [r for r in ALL if r["_area"] in ("linux", "cluster")]


def test_pack_size() -> None:
    # issue 6 expects well over 80 rules for Linux nodes and cluster objects
    assert len(PACK) > 80


@pytest.mark.parametrize("rule", PACK, ids=[r["id"] for r in PACK])
def test_rule_is_complete(rule: dict) -> None:
    kinds = [t["expect"] for t in rule["tests"]]
    assert "fire" in kinds and "quiet" in kinds
    for key in ("title", "cause", "fix"):
        assert rule[key]["en"].strip() and rule[key]["zh"].strip()
        if key != "fix":  # a fix may be commands only
            assert re.search(r"[\u4e00-\u9fff]", rule[key]["zh"]), f"{key}.zh has no Chinese"
    assert "```" in rule["fix"]["en"] and "```" in rule["fix"]["zh"], "the fix must give the commands"
    refs = rule["references"]
    assert any("url" in r or "issue" in r for r in refs) or any("seed" in r for r in refs)
    for target in rule.get("explains", []):
        assert target in IDS and target != rule["id"]
    scope = rule.get("scope", "node")
    assert (rule["_area"] == "cluster") == (scope == "cluster")


def test_explains_across_scopes_goes_through_the_nodes() -> None:
    """Correlation links findings of the same node, or a cluster finding with the findings of
    every node. A node rule may explain a cluster rule only when the cluster rule names the
    nodes its evidence points at (`nodes:`), so that the link stays on the node concerned;
    a cluster rule's `same_as` names node rules."""
    by_id = {r["id"]: r for r in ALL}
    scope = {r["id"]: r.get("scope", "node") for r in ALL}
    unanchored = [(r["id"], t) for r in PACK for t in r.get("explains", [])
                  if scope[r["id"]] == "node" and scope.get(t) == "cluster" and not by_id[t].get("nodes")]
    assert unanchored == []
    twins = [(r["id"], t) for r in PACK for t in r.get("same_as", []) if scope.get(t) != "node"]
    assert twins == []
    assert any(scope.get(t) == "cluster" for r in PACK if scope[r["id"]] == "node" for t in r.get("explains", []))


def test_regexes_have_no_lookaround_or_backreferences() -> None:
    """The Rust regex dialect the engine uses has neither."""
    def regexes(cond):
        if "log" in cond:
            yield cond["log"]["regex"]
        for k in ("all", "any"):
            for c in cond.get(k, []):
                yield from regexes(c)
        if "not" in cond:
            yield from regexes(cond["not"])
    for r in PACK:
        for rx in regexes(r["match"]):
            assert not re.search(r"\(\?<?[=!]|\\[1-9]", rx), f"{r['id']}: {rx}"
