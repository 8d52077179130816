"""The seed catalogue (rules/seed-catalogue.yaml): which rules cover which seed section.

`python3 -m k8s_bundle.rules.catalogue` prints the Markdown that follows the rule table in
docs/rules.md: every rule with its severity and sources, the table from every seed section to
its rule ids (or the reason node data cannot show it), and the rules beyond the seeds.

The seed guides themselves live outside the package (../shared/seeds/); `seed_headings()` reads
their section headings the way each guide marks them, so tests can check none is missing.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

RULES_DIR = Path(__file__).resolve().parent
CATALOGUE = RULES_DIR / "seed-catalogue.yaml"


def normalize(heading: str) -> str:
    """A heading as the catalogue stores it: no Markdown backticks, {#anchors} or extra spaces."""
    text = re.sub(r"\{#[^}]*\}", "", heading).replace("`", "")
    return " ".join(text.split())


def load_catalogue(path: Path = CATALOGUE) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def load_rule_docs(rules_dir: Path = RULES_DIR) -> list[dict[str, Any]]:
    """Every rule document in the area folders (rules/<area>/*.yaml), sorted by id."""
    docs = []
    for p in sorted(rules_dir.glob("*/*.yaml")):
        with open(p, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        if isinstance(doc, dict) and "id" in doc:
            doc["_area"] = p.parent.name
            docs.append(doc)
    return sorted(docs, key=lambda d: d["id"])


def seed_headings(seeds_dir: Path) -> dict[str, list[str]]:
    """Section headings of the Linux/cluster seed guides 000-003, normalized, by file number."""
    out: dict[str, list[str]] = {}
    for path in sorted(seeds_dir.glob("00[0-3]_*.txt")):
        text = path.read_text(encoding="utf-8")
        number = path.name[:3]
        if number == "000":
            # the Chinese headings; the English originals sit in <!-- --> comments
            body = re.sub(r"<!--.*?-->", "", text, flags=re.S)
            heads = [line[3:] for line in body.splitlines() if line.startswith("## ")]
            title = re.search(r"^title:\s*(.+)$", text, re.M)
            if title:
                heads.insert(0, title.group(1))
        elif number == "001":
            # a rendered GitBook page: the "On this page" list holds the section titles
            lines = text.splitlines()
            start = lines.index("On this page") + 1
            heads = []
            for line in lines[start:]:
                if not line.startswith("  • "):
                    break
                heads.append(line[4:])
        elif number == "002":
            heads = [re.sub(r"^#{2,4} ", "", line) for line in text.splitlines() if re.match(r"^#{2,4} ", line)]
        else:
            heads, fenced = [], False
            for line in text.splitlines():
                if line.startswith("```"):
                    fenced = not fenced
                elif not fenced and line.startswith("## "):
                    heads.append(line[3:])
        out[number] = [normalize(h) for h in heads]
    return out


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(catalogue: dict[str, Any] | None = None, rules: list[dict[str, Any]] | None = None) -> str:
    catalogue = catalogue or load_catalogue()
    rules = rules if rules is not None else load_rule_docs()
    lines = ["## Rules and their sources", "",
             "| id | severity | area | seed sections | upstream |", "|---|---|---|---|---|"]
    for r in rules:
        refs = r.get("references") or []
        seeds = "; ".join(_md(x["seed"]) for x in refs if "seed" in x)
        upstream = "; ".join(_md(x.get("url") or x.get("issue") or "") for x in refs if "url" in x or "issue" in x)
        lines.append(f"| {r['id']} | {r['severity']} | {r['_area']} | {seeds} | {upstream} |")
    lines += ["", "## Seed catalogue", "",
              "Every section of the seed troubleshooting guides (../shared/seeds/) and the rules that detect it, "
              "or why node data cannot show it (rules/seed-catalogue.yaml).", ""]
    for seed in catalogue["seeds"]:
        lines += [f"### {seed['file']} {seed['title']}", "", "| section | rules / reason |", "|---|---|"]
        for sec in seed["sections"]:
            name = _md(sec["section"]) + (f" ({_md(sec['en'])})" if sec.get("en") and sec["en"] != sec["section"] else "")
            target = ", ".join(f"`{i}`" for i in sec["rules"]) if sec.get("rules") else "— " + _md(sec["reason"]["en"])
            lines.append(f"| {name} | {target} |")
        lines.append("")
    windows: dict[str, list[str]] = {}
    for r in rules:
        for ref in r.get("references") or []:
            if ref.get("seed", "").startswith("004 "):
                windows.setdefault(ref["seed"][4:], []).append(r["id"])
    if windows:
        lines += ["### 004 Windows (from the Windows rules' own references, rules/windows)", "",
                  "| section | rules |", "|---|---|"]
        lines += [f"| {_md(sec)} | {', '.join(f'`{i}`' for i in ids)} |" for sec, ids in sorted(windows.items())]
        lines.append("")
    lines += ["### Beyond the seeds", "", "| group | rules |", "|---|---|"]
    for group, ids in (catalogue.get("beyond_seeds") or {}).items():
        lines.append(f"| {_md(group)} | {', '.join(f'`{i}`' for i in ids)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render_markdown())
