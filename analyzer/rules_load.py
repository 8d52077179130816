"""Loading rules: YAML -> schema check -> compiled conditions (docs/rule-format.md).

Everything that can be checked before a bundle is seen is checked here, so that a bad rule
fails at load with its file and the reason instead of misbehaving during analysis: the JSON
schema (rules/schema.json), duplicate ids, every CEL expression compiled, every log regex
compiled by polars' regex engine (Rust `regex`, the dialect the engine runs).
"""
from __future__ import annotations

import functools
import importlib.resources
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Union

import yaml

from k8s_bundle.analyzer.cel_env import CelExpr, CelSyntaxError, compile_cel
from k8s_bundle.analyzer.fix_lint import lint_fix


# libyaml's safe loader when PyYAML was built with it (about 10x faster; same documents).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class RuleError(ValueError):
    """A rule file that cannot be used; the message names the file and the reason."""


# -- compiled conditions -------------------------------------------------------------------
@dataclass
class LogCond:
    sources: list[str]
    regex: str
    min_count: int = 1
    window_us: int | None = None        # microseconds; None: no window
    window: str | None = None           # as written (`10m`), for the below-threshold note
    levels: list[str] | None = None
    key: int = -1                       # index into the engine's list of log matchers


@dataclass
class FactCond:
    expr: CelExpr


@dataclass
class FileCond:
    glob: str
    present: bool = True


@dataclass
class CommandCond:
    id: str
    statuses: list[str]


@dataclass
class ProblemCond:
    kinds: list[str]


@dataclass
class AllCond:
    parts: list["Condition"]


@dataclass
class AnyCond:
    parts: list["Condition"]


@dataclass
class NotCond:
    part: "Condition"


Condition = Union[LogCond, FactCond, FileCond, CommandCond, ProblemCond, AllCond, AnyCond, NotCond]


@dataclass
class Caveat:
    """A fact that contradicts the obvious reading: when `when` holds, the finding carries `note`."""

    when: Condition
    note: dict[str, str]                # lang -> text; `{name}` as in `message`


@dataclass
class Rule:
    id: str
    severity: str
    platforms: list[str]
    components: list[str]
    scope: str
    title: dict[str, str]
    cause: dict[str, str]
    fix: dict[str, str]
    message: dict[str, str]
    references: list[dict[str, str]]
    explains: list[str]
    vars: list[tuple[str, CelExpr]]
    match: Condition
    evidence: list[CelExpr]
    tests: list[dict[str, Any]]
    path: str
    raw: dict[str, Any] = field(repr=False, default_factory=dict)
    caveats: list[Caveat] = field(default_factory=list)
    preflight: bool = False             # a node-setup check: info on nodes that are not Kubernetes nodes
    # A cluster rule's node-level twins: the same problem seen from a node (the report shows
    # them as one problem), and the CEL list of node names its evidence points at.
    same_as: list[str] = field(default_factory=list)
    nodes_expr: CelExpr | None = None

    def log_conditions(self) -> list[LogCond]:
        """The log matchers of `match` and of the caveats (all run in the one log pass)."""
        found = [c for c in walk(self.match) if isinstance(c, LogCond)]
        for cav in self.caveats:
            found += [c for c in walk(cav.when) if isinstance(c, LogCond)]
        return found

    @functools.cached_property
    def thresholded(self) -> list[LogCond]:
        """Log matchers of `match` that need more than one line (min_count > 1)."""
        return [c for c in walk(self.match) if isinstance(c, LogCond) and c.min_count > 1]


def walk(cond: Condition) -> Iterable[Condition]:
    yield cond
    if isinstance(cond, (AllCond, AnyCond)):
        for part in cond.parts:
            yield from walk(part)
    elif isinstance(cond, NotCond):
        yield from walk(cond.part)


# -- loading -------------------------------------------------------------------------------
def default_rules_dir() -> Path:
    """The rules shipped inside the installed package (k8s_bundle.rules)."""
    return Path(str(importlib.resources.files("k8s_bundle.rules")))


@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema

    schema = json.loads((default_rules_dir() / "schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def rule_files(dirs: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for d in dirs:
        p = Path(d)
        if p.is_file():
            files.append(p)
        elif p.is_dir():
            found = (f for f in p.rglob("*.yaml") if f.is_file())
            if (p / "schema.json").is_file():
                # a rules root like the shipped one: its top-level files (the seed catalogue)
                # are data, the rules live in its area folders
                found = (f for f in found if f.parent != p)
            files += sorted(found)
        else:
            raise RuleError(f"{p}: no such rules directory")
    return files


def shipped_rule_dirs() -> list[Path]:
    """The area folders of the shipped rules (rules/<area>/<id>.yaml).

    Files directly in the rules package folder (schema.json, seed-catalogue.yaml) are package
    data, not rules.
    """
    root = default_rules_dir()
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def load_rules(dirs: Iterable[str | Path] | None = None) -> list[Rule]:
    """Load every *.yaml below the given dirs (default: the shipped rules), all validated."""
    files = rule_files(shipped_rule_dirs() if dirs is None else dirs)
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for f in files:
        rule = load_rule_file(f)
        if rule.id in seen:
            raise RuleError(f"{f}: duplicate rule id {rule.id!r} (also in {seen[rule.id]})")
        seen[rule.id] = str(f)
        rules.append(rule)
    return rules


def load_rule_file(path: str | Path) -> Rule:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"{path}: cannot read: {exc}") from None
    try:
        doc = yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RuleError(f"{path}: not valid YAML{where}: {problem}") from None
    return build_rule(doc, str(path))


def build_rule(doc: Any, path: str) -> Rule:
    if not isinstance(doc, dict):
        raise RuleError(f"{path}: a rule file holds one mapping (id, severity, match, ...)")
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        err = _most_useful(errors)
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        raise RuleError(f"{path}: {where}: {_short(err.message)}")
    try:
        match = _compile_condition(doc["match"])
        variables = [(name, compile_cel(text)) for name, text in (doc.get("vars") or {}).items()]
        evidence = [compile_cel(text) for text in doc.get("evidence") or []]
        nodes_expr = compile_cel(doc["nodes"]) if doc.get("nodes") else None
        caveats = [
            Caveat(
                when=FactCond(compile_cel(c["when"])) if isinstance(c["when"], str) else _compile_condition(c["when"]),
                note={"en": c["en"], "zh": c["zh"]},
            )
            for c in doc.get("caveats") or []
        ]
    except (CelSyntaxError, RuleError) as exc:
        raise RuleError(f"{path}: {exc}") from None
    return Rule(
        id=doc["id"],
        severity=doc["severity"],
        platforms=list(doc["platforms"]),
        components=list(doc.get("components") or []),
        scope=doc.get("scope", "node"),
        title=doc["title"],
        cause=doc["cause"],
        fix=doc["fix"],
        message=doc.get("message") or {},
        references=list(doc.get("references") or []),
        explains=list(doc.get("explains") or []),
        vars=variables,
        match=match,
        evidence=evidence,
        tests=list(doc.get("tests") or []),
        path=path,
        raw=doc,
        caveats=caveats,
        preflight=bool(doc.get("preflight", False)),
        same_as=list(doc.get("same_as") or []),
        nodes_expr=nodes_expr,
    )


def _most_useful(errors: list[Any]) -> Any:
    # A oneOf/anyOf-style failure deep in a condition is clearest at the deepest path.
    return max(errors, key=lambda e: len(list(e.absolute_path)))


def _short(message: str) -> str:
    return message if len(message) <= 200 else message[:197] + "..."


@functools.lru_cache(maxsize=1)
def component_sources() -> dict[str, list[str]]:
    """rules/components.yaml: component name -> the log globs (or other `@names`) it writes to."""
    doc = yaml.safe_load((default_rules_dir() / "components.yaml").read_text("utf-8")) or {}
    return {str(k): [str(g) for g in v] for k, v in doc.items()}


def expand_sources(sources: list[str]) -> list[str]:
    """`@kubelet` -> every place the kubelet's lines land (rules/components.yaml); plain globs
    pass through. Order is kept and duplicates dropped, so a rule reads each file once."""
    table = component_sources()
    out: list[str] = []

    def add(entry: str, seen: tuple[str, ...]) -> None:
        if not entry.startswith("@"):
            if entry not in out:
                out.append(entry)
            return
        name = entry[1:]
        if name not in table:
            raise RuleError(f"unknown component {entry!r} in sources (known: {', '.join('@' + k for k in table)})")
        if name in seen:
            raise RuleError(f"components.yaml: {entry!r} includes itself")
        for g in table[name]:
            add(g, seen + (name,))

    for s in sources:
        add(s, ())
    return out


_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d)$")
_UNIT_US = {"ms": 1_000, "s": 1_000_000, "m": 60_000_000, "h": 3_600_000_000, "d": 86_400_000_000}


def parse_duration_us(text: str) -> int:
    m = _DURATION.match(text)
    if not m:
        raise RuleError(f"bad duration {text!r} (use 30s, 20m, 2h)")
    return int(m.group(1)) * _UNIT_US[m.group(2)]


def _compile_condition(doc: dict[str, Any]) -> Condition:
    (key, value), = doc.items()
    if key == "log":
        check_regex(value["regex"])
        return LogCond(
            sources=expand_sources(value["sources"]),
            regex=value["regex"],
            min_count=int(value.get("min_count", 1)),
            window_us=parse_duration_us(value["window"]) if "window" in value else None,
            window=value.get("window"),
            levels=list(value["level"]) if "level" in value else None,
        )
    if key == "fact":
        return FactCond(compile_cel(value))
    if key == "file":
        return FileCond(value["path"], bool(value.get("present", True)))
    if key == "command":
        return CommandCond(value["id"], list(value.get("status") or ["failed", "timeout"]))
    if key == "problem":
        return ProblemCond(list(value["kind"]))
    if key == "all":
        return AllCond([_compile_condition(c) for c in value])
    if key == "any":
        return AnyCond([_compile_condition(c) for c in value])
    if key == "not":
        return NotCond(_compile_condition(value))
    raise RuleError(f"unknown condition {key!r}")  # the schema makes this unreachable


@functools.lru_cache(maxsize=4096)
def check_regex(regex: str) -> None:
    """Compile with polars (Rust regex): the engine's dialect, not Python's `re`."""
    import polars as pl

    try:
        pl.Series("m", [""], dtype=pl.String).str.contains(regex)
    except Exception as exc:  # noqa: BLE001 - polars reports regex errors as ComputeError
        detail = " ".join(str(exc).split())
        detail = detail.split("This error occurred")[0].strip()
        raise RuleError(f"log regex {regex!r} does not compile (Rust regex dialect): {detail}") from None


# -- lint (beyond what load checks) --------------------------------------------------------
def lint_rules(rules: list[Rule]) -> list[str]:
    """Problems that do not stop analysis but must not ship: missing fixtures, bad explains,
    fix text that is not safe to paste whole (analyzer/fix_lint.py)."""
    problems: list[str] = []
    ids = {r.id for r in rules}
    for r in rules:
        expects = {t.get("expect") for t in r.tests}
        for kind in ("fire", "quiet"):
            if kind not in expects:
                problems.append(f"{r.path}: rule {r.id} has no `{kind}` fixture in tests:")
        for other in r.explains:
            if other not in ids:
                problems.append(f"{r.path}: explains unknown rule id {other!r}")
            if other == r.id:
                problems.append(f"{r.path}: a rule cannot explain itself")
        for other in r.same_as:
            if other not in ids or other == r.id:
                problems.append(f"{r.path}: same_as names an unknown rule id or itself: {other!r}")
        if (r.same_as or r.nodes_expr is not None) and r.scope != "cluster":
            problems.append(f"{r.path}: same_as and nodes are for cluster rules (scope: cluster)")
        known = {"node", "count", "problem", "path", "problems"} | {name for name, _ in r.vars}
        for cond in r.log_conditions():
            known |= set(re.findall(r"\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>", cond.regex))
        templates = [(f"message.{lang}", t) for lang, t in r.message.items()]
        templates += [(f"caveats[{i}].{lang}", t) for i, cav in enumerate(r.caveats) for lang, t in cav.note.items()]
        for lang, template in templates:
            for field_name in re.findall(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})", template):
                if field_name not in known:
                    problems.append(f"{r.path}: {lang} uses {{{field_name}}}, which is no named "
                                    "regex group, var, or one of node, count, problem, path, problems")
        names = [t.get("name") for t in r.tests]
        if len(names) != len(set(names)):
            problems.append(f"{r.path}: fixture names must be unique within a rule")
        # fix blocks are pasted whole into a root shell: nothing in them may clobber user config
        problems += lint_fix(r.path, r.fix, r.platforms)
    return problems
