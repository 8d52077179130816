"""A bounded, short-circuiting evaluator for cel-python (used by cel_env.py).

celpy's tree-walking `Evaluator` evaluates both sides of `&&` and `||` and every element of
`exists()`/`all()` before combining them, so a rule like
`node.certs.exists(k, cond(k) && node.certs.exists(c, ...))` runs its inner loop for every
outer element: quadratic in the facts even when `cond(k)` is false everywhere. A bundle is
hostile input, so here:

- `a && b` stops when `a` is false, `a || b` when `a` is true, `exists()` at the first true
  element and `all()` at the first false one. CEL's logic is commutative with errors absorbed
  by a definite result (`false && error` is false), so stopping early on a definite boolean
  gives the same value celpy would compute; only errors on the skipped side go unseen.
- every evaluation has a budget of steps (tree nodes visited, nested macro bodies included);
  past it `CelBudgetExceeded` is raised and the caller reports the cap instead of running on.
- chains of single-child grammar nodes (`expr -> conditionalor -> ... -> member`) are walked
  in one step, found once per tree, and literals are decoded once per tree, which is most of
  celpy's per-node cost.
"""
from __future__ import annotations

from typing import Any

import lark
import celpy.evaluation as celpy_evaluation
from celpy import InterpretedRunner, celtypes
from celpy.evaluation import Activation, CELEvalError, Evaluator, NameContainer, eval_error


# celpy's evaluator spells `cast(Union[Result, NameContainer], x)` in its hot paths; `Result`
# is a Union of ~20 types, and subscripting a Union with it hashes every member on each call
# (about half of celpy's time on a list of records). `typing.cast` does nothing at run time,
# and `Result` is never used in an isinstance() check, so Any stands in for it there.
celpy_evaluation.Result = Any
celpy_evaluation.Result_Function = Any


class CelBudgetExceeded(Exception):
    """An evaluation went past its budget of steps."""


class Budget:
    """Steps left for one evaluation (shared with the evaluators of nested macro bodies)."""

    __slots__ = ("left", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit

    @property
    def used(self) -> int:
        return self.limit - self.left


# Grammar nodes whose single child is their value (celpy returns `visit_children(tree)[0]`).
_PASS_THROUGH = frozenset({"expr", "conditionalor", "conditionaland", "relation", "addition",
                           "multiplication", "unary", "member"})
_LITERAL_ATTR = "_k8s_bundle_literal"
_PLAN_ATTR = "_k8s_bundle_plan"


def _plan(tree: lark.Tree) -> tuple[lark.Tree, str]:
    """(the node a chain of single-child nodes leads to, its rule name as a plain str), kept
    on the tree: comparing lark's Token rule names goes through a Python-level __eq__."""
    while str(tree.data) in _PASS_THROUGH and len(tree.children) == 1 and isinstance(tree.children[0], lark.Tree):
        tree = tree.children[0]
    return tree, str(tree.data)


_or = eval_error("no such overload", TypeError)(celtypes.logical_or)
_and = eval_error("no such overload", TypeError)(celtypes.logical_and)


class BoundedEvaluator(Evaluator):
    def __init__(self, ast: lark.Tree, activation: Activation, budget: Budget) -> None:
        super().__init__(ast, activation)
        self.budget = budget

    def sub_evaluator(self, ast: lark.Tree) -> "BoundedEvaluator":
        return BoundedEvaluator(ast, self.activation, self.budget)

    def _visit_tree(self, tree: lark.Tree) -> Any:
        budget = self.budget
        budget.left -= 1
        if budget.left < 0:
            raise CelBudgetExceeded(f"the expression went past {budget.limit} evaluation steps")
        plan = getattr(tree, _PLAN_ATTR, None)
        if plan is None:
            plan = _plan(tree)
            setattr(tree, _PLAN_ATTR, plan)
        target, name = plan
        if name == "literal":
            cached = getattr(target, _LITERAL_ATTR, _LITERAL_ATTR)
            if cached is _LITERAL_ATTR:
                cached = self.literal(target)
                if not isinstance(cached, CELEvalError):
                    setattr(target, _LITERAL_ATTR, cached)
            return cached
        return getattr(self, name)(target)

    def _logical(self, tree: lark.Tree, op: str, stop: bool) -> Any:
        """`left op right`, not evaluating `right` when `left` alone decides."""
        left = self._visit_tree(tree.children[0])
        if isinstance(left, celtypes.BoolType) and bool(left) is stop:
            return celtypes.BoolType(stop)
        right = self._visit_tree(tree.children[1])
        func = self.activation.resolve_function(op)
        try:
            return func(left, right)
        except TypeError as ex:
            value = CELEvalError(f"found no matching overload for {op} applied to '({type(left)}, {type(right)})'",
                                 ex.__class__, ex.args, tree=tree)
            value.__cause__ = ex
            return value

    def conditionaland(self, tree: lark.Tree) -> Any:
        if len(tree.children) == 2:
            return self._logical(tree, "_&&_", False)
        return super().conditionaland(tree)

    def conditionalor(self, tree: lark.Tree) -> Any:
        if len(tree.children) == 2:
            return self._logical(tree, "_||_", True)
        return super().conditionalor(tree)

    # `node.certs`, `c.path`: field selection on a map, the most common step of all. The same
    # branches as celpy's member_dot, without its per-call typing casts (half its cost).
    def member_dot(self, tree: lark.Tree) -> Any:
        member_tree, name_token = tree.children
        member = self._visit_tree(member_tree)
        name = name_token.value
        if type(member) is celtypes.MapType:
            try:
                return member[name]
            except KeyError:
                return CELEvalError(f"no such member in mapping: {name!r}", KeyError, None, tree=tree)
        if isinstance(member, CELEvalError):
            return member
        if isinstance(member, NameContainer):
            if name in member:
                return member[name].value
            return CELEvalError(f"No {name!r} in bindings {sorted(member.keys())}", KeyError, None, tree=tree)
        if isinstance(member, celtypes.MessageType):
            return member.get(name)
        if isinstance(member, celtypes.MapType):
            try:
                return member[name]
            except KeyError:
                return CELEvalError(f"no such member in mapping: {name!r}", KeyError, None, tree=tree)
        return CELEvalError(f"{member!r} with type: '{type(member)}' does not support field selection",
                            TypeError, None, tree=tree)

    def primary(self, tree: lark.Tree) -> Any:
        child = tree.children[0] if len(tree.children) == 1 else None
        if isinstance(child, lark.Tree) and child.data == "ident":
            name_token = child.children[0]
            try:
                return self.ident_value(name_token.value)
            except KeyError as ex:
                return CELEvalError(f"undeclared reference to '{name_token}' (in activation '{self.activation}')",
                                    ex.__class__, ex.args, tree=tree)
        return super().primary(tree)

    def member_dot_arg(self, tree: lark.Tree) -> Any:
        method = tree.children[1]
        if isinstance(method, lark.Token) and method.value in ("exists", "all"):
            items = self._visit_tree(tree.children[0])
            if isinstance(items, CELEvalError):
                return items
            stop = method.value == "exists"       # exists stops at true, all at false
            combine = _or if stop else _and
            body = self.build_ss_macro_eval(tree)
            acc: Any = celtypes.BoolType(not stop)
            for item in items:
                value = body(item)
                if isinstance(value, celtypes.BoolType) and bool(value) is stop:
                    return celtypes.BoolType(stop)
                acc = combine(acc, value)
            return acc
        return super().member_dot_arg(tree)


class BoundedRunner(InterpretedRunner):
    """celpy's interpreted runner with a step budget per evaluation."""

    def evaluate_within(self, context: dict[str, Any], budget: Budget) -> Any:
        return BoundedEvaluator(self.ast, self.new_activation(), budget).evaluate(context)
