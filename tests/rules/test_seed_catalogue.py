"""rules/seed-catalogue.yaml against the seed guides and the rule pack (issue 6).

Fails when a seed section (000-003) is missing from the catalogue, when the catalogue names a
rule that does not exist, or when a Linux/cluster rule is neither catalogued nor listed among
the rules beyond the seeds.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from k8s_bundle.rules.catalogue import (load_catalogue, load_rule_docs, normalize, render_markdown,
                                        seed_headings)

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
import ci_guard  # noqa: E402

SEEDS = Path(os.environ.get("K8S_BUNDLE_SEEDS", REPO.parent / "shared" / "seeds"))
CATALOGUE = load_catalogue()
RULES = load_rule_docs()
IDS = {r["id"] for r in RULES}


def _sections() -> dict[str, list[dict]]:
    return {s["file"]: s["sections"] for s in CATALOGUE["seeds"]}


def test_every_seed_section_is_catalogued() -> None:
    # the seed guides live beside the repository (../shared/seeds, or K8S_BUNDLE_SEEDS)
    ci_guard.require(None if SEEDS.is_dir() else f"seed guides not found at {SEEDS}")
    headings = seed_headings(SEEDS)
    assert set(headings) == {"000", "001", "002", "003"}
    catalogued = {f: {normalize(s["section"]) for s in secs} for f, secs in _sections().items()}
    missing = {f: [h for h in heads if h not in catalogued.get(f, set())] for f, heads in headings.items()}
    assert {f: m for f, m in missing.items() if m} == {}
    # and nothing catalogued that the guide does not have (a renamed heading shows up here)
    extra = {f: sorted(catalogued[f] - set(heads)) for f, heads in headings.items()}
    assert {f: e for f, e in extra.items() if e} == {}


def test_each_section_has_rules_or_a_reason() -> None:
    for file, sections in _sections().items():
        for s in sections:
            has_rules, has_reason = bool(s.get("rules")), bool(s.get("reason"))
            assert has_rules != has_reason, f"{file} {s['section']}: exactly one of rules/reason"
            if has_reason:
                assert s["reason"]["en"].strip() and s["reason"]["zh"].strip()
            for rid in s.get("rules", []):
                assert rid in IDS, f"{file} {s['section']}: unknown rule {rid}"


def test_pack_rules_are_catalogued_or_beyond_the_seeds() -> None:
    used = {rid for secs in _sections().values() for s in secs for rid in s.get("rules", [])}
    beyond = {rid for ids in CATALOGUE["beyond_seeds"].values() for rid in ids}
    assert beyond <= IDS
    pack = {r["id"] for r in RULES if r["_area"] in ("linux", "cluster")}
    assert sorted(pack - used - beyond) == []


def test_seed_references_name_catalogued_sections() -> None:
    """A rule's `seed:` reference is "NNN <section as in the catalogue>[ (gloss)]"."""
    sections = {f: [normalize(s["section"]) for s in secs] for f, secs in _sections().items()}
    for r in RULES:
        if r["_area"] not in ("linux", "cluster"):
            continue
        for ref in r.get("references", []):
            if "seed" not in ref:
                continue
            file, _, rest = ref["seed"].partition(" ")
            assert file in sections, f"{r['id']}: unknown seed file in {ref['seed']!r}"
            assert any(normalize(rest).startswith(s) for s in sections[file]), f"{r['id']}: {ref['seed']!r} names no catalogued section"


def test_catalogue_markdown_lists_every_rule_and_section() -> None:
    md = render_markdown(CATALOGUE, RULES)
    for r in RULES:
        assert f"| {r['id']} | {r['severity']} |" in md
    for secs in _sections().values():
        for s in secs:
            assert s["section"].replace("|", "\\|") in md
