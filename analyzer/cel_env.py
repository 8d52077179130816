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
from dataclasses import dataclass
from typing import Any, Iterable

import celpy
from celpy import celtypes


class CelSyntaxError(ValueError):
    """A CEL expression that does not parse (a lint error)."""


class CelFailure(Exception):
    """Evaluation failed (missing key, wrong type...): the caller treats it as false."""


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

_ENV = celpy.Environment()


@dataclass
class CelExpr:
    """A compiled CEL expression and its source text (for messages)."""

    text: str
    program: Any

    def evaluate(self, activation: dict[str, Any]) -> Any:
        """Evaluate; raises CelFailure when the expression fails on this data."""
        try:
            value = self.program.evaluate(activation)
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
    return CelExpr(text, program)


def to_cel(value: Any) -> Any:
    """Convert JSON-like facts into CEL values (unknown types become strings)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int):
        return celtypes.IntType(value)
    if isinstance(value, float):
        return celtypes.DoubleType(value)
    if isinstance(value, str):
        return celtypes.StringType(value)
    if isinstance(value, dict):
        return celtypes.MapType({celtypes.StringType(str(k)): to_cel(v) for k, v in value.items()})
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
