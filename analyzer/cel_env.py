"""The CEL environment rules use for `fact`, `vars` and `evidence` expressions.

CEL (cel-python, module `celpy`) cannot loop forever, touch files or run code, which is why
rules use it instead of Python. Besides the standard functions we add the few list/string
helpers the Kubernetes CEL libraries offer and rule writers expect (`join`, `sum`, `min`,
`max`, `lowerAscii`, `upperAscii`, `split`, `trim`, `replace`).

Missing data is not an error: an expression that fails while evaluating (no such key, wrong
type, division by zero) yields `CelFailure`, which callers treat as false / absent.
"""
from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

import celpy
from celpy import celtypes

from k8s_bundle.analyzer.cel_eval import Budget, BoundedRunner, CelBudgetExceeded


class CelSyntaxError(ValueError):
    """A CEL expression that does not parse (a lint error)."""


class CelFailure(Exception):
    """Evaluation failed (missing key, wrong type...): the caller treats it as false."""


class CelLimit(CelFailure):
    """Evaluation stopped at its budget of steps: false for the rule, reported as a cap."""


@dataclass(frozen=True)
class CelCaps:
    """Evaluation steps (CEL tree nodes visited, about 5-10 us each) rule expressions may take.

    Real bundles stay far below: the shipped samples take under 1,000 steps per expression
    and about 10,000 per bundle; 20,000 processes walked once take about 140,000, and the
    firewall rule's walk of 50,000 filter-table rules (Calico with many policies) 800,000.
    A nested walk over hostile lists (certs x certs) stops at the first cap instead of
    running for minutes, and so does a bundle of many nodes each holding such lists.
    """

    max_steps_per_expression: int = 1_500_000
    max_steps_per_node: int = 4_000_000
    max_steps_per_bundle: int = 16_000_000


CEL_CAPS = CelCaps()
MAX_STEPS = CEL_CAPS.max_steps_per_expression


def _join(items: Any, sep: Any = celtypes.StringType("")) -> celtypes.StringType:
    return celtypes.StringType(str(sep).join(str(x) for x in items))


def _sum(items: Any) -> Any:
    values = list(items)
    if not values:
        return celtypes.IntType(0)
    total = values[0]
    for v in values[1:]:
        total = total + v
    return total


def _min(items: Any) -> Any:
    return min(items)


def _max(items: Any) -> Any:
    return max(items)


def _lower(s: Any) -> celtypes.StringType:
    return celtypes.StringType(str(s).lower())


def _upper(s: Any) -> celtypes.StringType:
    return celtypes.StringType(str(s).upper())


def _split(s: Any, sep: Any) -> celtypes.ListType:
    return celtypes.ListType([celtypes.StringType(p) for p in str(s).split(str(sep))])


def _trim(s: Any) -> celtypes.StringType:
    return celtypes.StringType(str(s).strip())


def _replace(s: Any, old: Any, new: Any) -> celtypes.StringType:
    return celtypes.StringType(str(s).replace(str(old), str(new)))


EXTRA_FUNCTIONS = {
    "join": _join,
    "sum": _sum,
    "min": _min,
    "max": _max,
    "lowerAscii": _lower,
    "upperAscii": _upper,
    "split": _split,
    "trim": _trim,
    "replace": _replace,
}

_ENV = celpy.Environment(runner_class=BoundedRunner)


_GUARD = re.compile(r"^\s*has\(\s*(node|cluster|bundle|vars)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*\)\s*$")


def top_level_conjuncts(text: str) -> list[str]:
    """Split `a && b && c` at the top level (outside parentheses, brackets and strings)."""
    parts: list[str] = []
    depth = 0
    quote = ""
    start = 0
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "|" and text.startswith("||", i) and depth == 0:
            return [text]  # a top-level `||`: no conjunct is required on its own
        elif c == "&" and text.startswith("&&", i) and depth == 0:
            parts.append(text[start:i])
            start = i + 2
            i += 2
            continue
        i += 1
    parts.append(text[start:])
    return parts


_STRING = re.compile(r"'(?:[^'\\]|\\.)*'" + r'|"(?:[^"\\]|\\.)*"')
_ROOT_REF = re.compile(r"(?<![\w.])(node|cluster|bundle|vars)\.([A-Za-z_][A-Za-z0-9_]*)")
# Constructs that can make a conjunct true without evaluating every reference in it.
_MAY_SKIP = re.compile(r"has\(|\|\||\?|!(?!=)|\.(?:all|exists|exists_one|map|filter)\(")


def _guards(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """Facts that must exist for the expression to be true, checked in Python before CEL.

    - a top-level conjunct `has(node.a.b)`: the path must exist;
    - a top-level conjunct with no `has()`, `||`, `?:`, `!` or macro: every `node.x` (or
      cluster/bundle/vars) it names must exist, since evaluating it without one is an error
      (false for us) and nothing in it can skip that reference.
    """
    out: list[tuple[str, tuple[str, ...]]] = []
    for part in top_level_conjuncts(text):
        m = _GUARD.match(part)
        if m:
            out.append((m.group(1), tuple(m.group(2)[1:].split("."))))
            continue
        bare = _STRING.sub('""', part)
        if _MAY_SKIP.search(bare):
            continue
        out += [(root, (key,)) for root, key in _ROOT_REF.findall(bare)]
    return list(dict.fromkeys(out))


@dataclass
class CelExpr:
    """A compiled CEL expression and its source text (for messages)."""

    text: str
    program: Any
    guards: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    # root -> first-level keys the expression reads; None when it reads a root as a whole
    # (`size(node)`, `node["x"]`), so that its result cannot be keyed on those keys.
    refs: dict[str, tuple[str, ...]] | None = None

    def guards_hold(self, activation: dict[str, Any]) -> bool:
        """False when a top-level `has(x.y)` conjunct is false: the whole expression is then false.

        celpy is a tree-walking interpreter (about a millisecond per evaluation), and most
        rules start by checking that the facts they need exist; this answers those cheaply.
        """
        for root, path in self.guards:
            value = activation.get(root)
            for key in path:
                if not isinstance(value, dict) or key not in value:
                    return False
                value = value[key]
        return True

    def evaluate(self, activation: dict[str, Any], budget: Budget | None = None) -> Any:
        """Evaluate; raises CelFailure when the expression fails on this data (CelLimit
        when it went past `budget`, by default MAX_STEPS)."""
        if not self.guards_hold(activation):
            raise CelFailure("a fact the expression needs is absent")
        try:
            value = self.program.evaluate_within(activation, budget or Budget(MAX_STEPS))
        except CelBudgetExceeded as exc:
            raise CelLimit(str(exc)) from None
        except RecursionError:
            raise CelLimit("the expression nests too deeply for the evaluator") from None
        except Exception as exc:  # noqa: BLE001 - celpy raises many kinds; all mean "absent"
            raise CelFailure(str(exc)) from None
        if isinstance(value, Exception):  # celpy may return the error as a value
            raise CelFailure(str(value))
        return value

    def truth(self, activation: dict[str, Any]) -> bool:
        """True only when the expression evaluates to boolean true; failures are false."""
        try:
            value = self.evaluate(activation)
        except CelFailure:
            return False
        return isinstance(value, (bool, celtypes.BoolType)) and bool(value)


def compile_cel(text: str) -> CelExpr:
    if not isinstance(text, str) or not text.strip():
        raise CelSyntaxError("empty CEL expression")
    try:
        ast = _ENV.compile(text)
        program = _ENV.program(ast, functions=EXTRA_FUNCTIONS)
    except Exception as exc:  # noqa: BLE001 - parse errors come in several types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CelSyntaxError(f"CEL syntax error in {text!r}: {first}") from None
    return CelExpr(text, program, _guards(text), _refs(text))


_BARE_ROOT = re.compile(r"(?<![\w.])(node|cluster|bundle|vars)\b(?!\s*\.\s*[A-Za-z_])")


def _refs(text: str) -> dict[str, tuple[str, ...]] | None:
    """The first-level facts an expression reads, when it reads them only as `root.key`."""
    bare = _STRING.sub('""', text)
    if _BARE_ROOT.search(bare):
        return None
    refs: dict[str, set[str]] = {}
    for root, key in _ROOT_REF.findall(bare):
        refs.setdefault(root, set()).add(key)
    return {root: tuple(sorted(keys)) for root, keys in sorted(refs.items())}


_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1


def to_cel(value: Any) -> Any:
    """Convert JSON-like facts into CEL values (unknown types become strings)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int):
        # int.__new__ skips IntType's per-call range-check wrapper (most of to_cel's time on a
        # list of records); an integer past int64 (YAML has no bound) is a double, as CEL
        # would not hold it, instead of celpy's ValueError.
        if _INT64_MIN <= value <= _INT64_MAX:
            return int.__new__(celtypes.IntType, value)
        return celtypes.DoubleType(float(value)) if abs(value) < 2 ** 1023 else celtypes.StringType(str(value))
    if isinstance(value, float):
        return celtypes.DoubleType(value)
    if isinstance(value, str):
        return str.__new__(celtypes.StringType, value)
    if isinstance(value, dict):
        out = celtypes.MapType()     # filled as a dict: MapType's checks are for CEL literals
        dict.update(out, {str.__new__(celtypes.StringType, str(k)): to_cel(v) for k, v in value.items()})
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        return celtypes.ListType([to_cel(v) for v in value])
    if isinstance(value, (_dt.datetime, _dt.date)):
        return celtypes.StringType(value.isoformat())
    if isinstance(value, bytes):
        return celtypes.StringType(value.decode("utf-8", "replace"))
    return celtypes.StringType(str(value))


def from_cel(value: Any) -> Any:
    """CEL values back to plain Python (for messages and the JSON report)."""
    if value is None:
        return None
    if isinstance(value, (bool, celtypes.BoolType)):
        return bool(value)
    if isinstance(value, (celtypes.IntType, celtypes.UintType)):
        return int(value)
    if isinstance(value, celtypes.DoubleType):
        return float(value)
    if isinstance(value, celtypes.StringType):
        return str(value)
    if isinstance(value, dict):
        return {str(k): from_cel(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [from_cel(v) for v in value]
    return str(value)


def activation(node: Any, cluster: Any, bundle: Any, variables: Iterable[tuple[str, Any]] = ()) -> dict[str, Any]:
    """The names a rule expression sees; node/cluster/bundle are already CEL values."""
    return {
        "node": node,
        "cluster": cluster,
        "bundle": bundle,
        "vars": celtypes.MapType({celtypes.StringType(k): v for k, v in variables}),
    }
