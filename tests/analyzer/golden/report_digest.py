"""What of a JSON report must not change when the analyzer's log reading is rewritten (issue 13),
reduced to a small, readable JSON value, and a readable comparison of two such values.

Kept: the findings (rule, node, severity, count, first/last seen, per-file counts and line
ranges, the kept evidence lines: a short hash of each line's file, number, time, message and
context), the errors-no-rule-explains templates with their counts, the timeline's counts, the
coverage outcomes, the per-node log line counts, the summary and the triage. Left out: what
changes between runs of the same code (generation time, tool version, the input's path) and
the rules' static texts (titles, causes, fixes), which the rule files own.

Used by record.py (writes the goldens) and test_findings_unchanged.py (compares with them).
"""
from __future__ import annotations

import gzip
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).resolve().parent
ROOT = GOLDEN.parents[2]
SAMPLES = ROOT / "samples"
# The bench bundle of the goldens: analyze_bench.py's generator, small, with dense hits so that
# many log rules fire on every node (evidence budgets, windows, left-out lines all exercised).
BENCH = {"nodes": 20, "size_gb": 0.04, "hit_every": 200}
BENCH_NAME = "bench-20n-0.04gb-hits200"


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def short_hash(value: Any, n: int = 12) -> str:
    return hashlib.sha256(canonical(value).encode()).hexdigest()[:n]


def make_bench_bundle(path: Path) -> str:
    """Generate the goldens' bench bundle at `path`; returns the sha256 of its uncompressed tar
    stream, which the goldens record: a changed generator shows as such, not as findings."""
    sys.path.insert(0, str(ROOT / "bench"))
    from analyze_bench import generate  # noqa: E402  (bench/ is not a package)

    generate(path, BENCH["nodes"], BENCH["size_gb"], BENCH["hit_every"])
    digest = hashlib.sha256()
    with gzip.open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def inputs() -> list[tuple[str, Path]]:
    """(golden name, bundle) for every sample; the bench bundle is made separately."""
    return [(p.name.removesuffix(".tgz"), p) for p in sorted(SAMPLES.glob("*.tgz"))]


def _kept_line(line: dict[str, Any]) -> str:
    # "node|file:line@hash": readable enough to say which kept line moved or changed
    body = {k: line.get(k) for k in ("node", "file", "line", "timestamp", "message", "before", "after", "has_context")}
    return f"{line.get('node')}|{line.get('file')}:{line.get('line')}@{short_hash(body, 8)}"


def finding_digest(f: dict[str, Any]) -> dict[str, Any]:
    ev = f.get("evidence") or {}
    return {
        "rule_id": f["rule_id"],
        "node": f.get("node"),
        "nodes": f.get("nodes"),
        "severity": f.get("severity"),
        "rule_severity": f.get("rule_severity"),
        "message": (f.get("message") or {}).get("en"),
        "first_seen": f.get("first_seen"),
        "last_seen": f.get("last_seen"),
        "root_cause": f.get("root_cause"),
        "explains": f.get("explains"),
        "explained_by": f.get("explained_by"),
        "below_threshold": f.get("below_threshold"),
        "thresholds": f.get("thresholds"),
        "caveats": f.get("caveats"),
        "log_count": ev.get("log_count"),
        "log_files": ev.get("log_files"),
        "kept_lines": [_kept_line(x) for x in ev.get("log_lines") or []],
        "fact_lines": ev.get("fact_lines"),
        "items": short_hash(ev.get("items")),
    }


def timeline_digest(t: dict[str, Any] | None) -> dict[str, Any] | None:
    if not t:
        return t
    out = {k: t.get(k) for k in ("start", "end", "bucket_seconds", "buckets", "collected_at", "lines", "nodes",
                                 "rows_left_out", "nodes_left_out", "marks_left_out", "boots", "boots_outside")}
    out["rows"] = [{"node": r.get("node"), "component": r.get("component"), "warnings": r.get("warnings"),
                    "errors": r.get("errors"), "buckets": len(r.get("counts") or []),
                    "counts": short_hash(r.get("counts"))} for r in t.get("rows") or []]
    out["marks"] = [[m.get("finding"), m.get("rule_id"), m.get("severity"), m.get("nodes"), m.get("first"), m.get("last")]
                    for m in t.get("marks") or []]
    return out


def report_digest(report: dict[str, Any]) -> dict[str, Any]:
    bundle = {k: v for k, v in (report.get("bundle") or {}).items() if k != "source"}
    return {
        "summary": report.get("summary"),
        "bundle": bundle,
        "nodes": [{"name": n.get("name"), "counts": n.get("counts"), "logs": n.get("logs")} for n in report.get("nodes") or []],
        "collection_problems": report.get("collection_problems"),
        "input_problems": report.get("input_problems"),
        "findings": [finding_digest(f) for f in report.get("findings") or []],
        "triage": [{"key": t.get("key"), "root": t.get("root"), "severity": t.get("severity"),
                    "effective_severity": t.get("effective_severity"), "nodes": t.get("nodes"),
                    "findings": short_hash(t.get("findings")), "explains": t.get("explains"),
                    "explained_by": t.get("explained_by"), "first_seen": t.get("first_seen"),
                    "last_seen": t.get("last_seen")} for t in report.get("triage") or []],
        "unexplained": [{"template": u.get("template"), "level": u.get("level"), "count": u.get("count"),
                         "first_seen": u.get("first_seen"), "last_seen": u.get("last_seen"), "nodes": u.get("nodes"),
                         "example": _kept_line(u.get("example") or {}), "score": u.get("score"),
                         "common": u.get("common")} for u in report.get("unexplained") or []],
        "timeline": timeline_digest(report.get("timeline")),
        "coverage": report.get("coverage"),
    }


# -- comparing --------------------------------------------------------------------------------------
def _finding_keys(findings: list[dict[str, Any]]) -> list[str]:
    """rule@node#k: the k-th finding of that rule on that node, in report order."""
    seen: dict[str, int] = {}
    keys = []
    for f in findings:
        base = f"{f['rule_id']}@{f['node'] or '(bundle)'}"
        seen[base] = seen.get(base, 0) + 1
        keys.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
    return keys


def _short(value: Any, limit: int = 160) -> str:
    text = canonical(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _kept_diff(key: str, old: list[str], new: list[str]) -> list[str]:
    old_set, new_set = set(old), set(new)
    gone = [x for x in old if x not in new_set]
    added = [x for x in new if x not in old_set]
    out = [f"finding {key}: kept evidence lines differ ({len(old)} golden, {len(new)} now)"]
    for x in gone[:5]:
        out.append(f"    only in golden: {x}")
    for x in added[:5]:
        out.append(f"    only now:       {x}")
    if not gone and not added:
        out.append("    the same lines in another order")
    return out


def _finding_diffs(gf: list[dict[str, Any]], nf: list[dict[str, Any]]) -> list[str]:
    diffs: list[str] = []
    gk, nk = _finding_keys(gf), _finding_keys(nf)
    gmap, nmap = dict(zip(gk, gf)), dict(zip(nk, nf))

    def said(f: dict[str, Any]) -> str:
        return f" ({_short(f['message'], 100)})" if f.get("message") else ""

    for k in gk:
        if k not in nmap:
            diffs.append(f"finding {k}: in the golden, missing now{said(gmap[k])}")
    for k in nk:
        if k not in gmap:
            diffs.append(f"finding {k}: new, not in the golden{said(nmap[k])}")
    for k in gk:
        if k not in nmap or gmap[k] == nmap[k]:
            continue
        for field in gmap[k]:
            a, b = gmap[k].get(field), nmap[k].get(field)
            if a == b:
                continue
            if field == "kept_lines":
                diffs += _kept_diff(k, a or [], b or [])
            else:
                diffs.append(f"finding {k}: {field}: golden {_short(a)}, now {_short(b)}")
    common = [k for k in gk if k in nmap]
    if common != [k for k in nk if k in gmap]:
        diffs.append("findings: the same findings in another order (report order is what the user reads)")
    return diffs


SECTIONS = ["summary", "bundle", "nodes", "collection_problems", "input_problems", "triage", "unexplained",
            "timeline", "coverage"]


def compare(golden: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """Readable differences, the findings first, then section by section; empty when the
    reports agree."""
    diffs = _finding_diffs(golden.get("findings") or [], now.get("findings") or [])
    others = sorted((golden.keys() | now.keys()) - set(SECTIONS) - {"findings", "input_sha256", "recorded_from"})
    for section in SECTIONS + others:
        g, n = golden.get(section), now.get(section)
        if g == n:
            continue
        if isinstance(g, list) and isinstance(n, list):
            diffs.append(f"{section}: {len(g)} entries golden, {len(n)} now")
            first = next((i for i, (a, b) in enumerate(zip(g, n)) if a != b), min(len(g), len(n)))
            if first < len(g):
                diffs.append(f"    [{first}] golden {_short(g[first])}")
            if first < len(n):
                diffs.append(f"    [{first}] now    {_short(n[first])}")
        elif isinstance(g, dict) and isinstance(n, dict):
            for k in sorted(g.keys() | n.keys()):
                if g.get(k) != n.get(k):
                    diffs.append(f"{section}.{k}: golden {_short(g.get(k))}, now {_short(n.get(k))}")
        else:
            diffs.append(f"{section}: golden {_short(g)}, now {_short(n)}")
    return diffs


def analyze_json(command: list[str], bundle: Path, out: Path) -> dict[str, Any]:
    """Run `COMMAND analyze BUNDLE -o OUT.json --quiet` as a user would; the parsed report."""
    import subprocess

    proc = subprocess.run([*command, "analyze", str(bundle), "-o", str(out), "--quiet"],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode not in (0, 1, 3):
        raise RuntimeError(f"analyze {bundle.name} exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    return json.loads(out.read_text(encoding="utf-8"))


def golden_path(name: str) -> Path:
    return GOLDEN / f"{name}.json"


def golden_text(golden: dict[str, Any]) -> str:
    """JSON with one line per section, and one line per entry of a list section (a finding, a
    template): small on disk, and a re-recording's git diff names the findings that changed."""
    lines = []
    for key in sorted(golden):
        value = golden[key]
        if isinstance(value, list) and value:
            entries = ",\n".join("  " + canonical(v) for v in value)
            lines.append(f" {json.dumps(key)}: [\n{entries}\n ]")
        else:
            lines.append(f" {json.dumps(key)}: {canonical(value)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"
