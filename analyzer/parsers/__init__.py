"""The parser registry: which bundle members become which facts (docs/facts.md).

A parser is a plain function from a member's decoded text to a JSON-like value, registered
with the specs it reads (k8s_bundle/bundle/specs.py: the artifacts, by name) and the fact it
fills:

```python
from k8s_bundle.analyzer.parsers import parser
from k8s_bundle.bundle.specs import S

@parser(S.sysctl, fact="sysctl")
def parse_sysctl(text: str) -> dict[str, str]: ...

@parser(S.cni_configs, fact="cni.configs", merge="list")
def parse_cni(text: str, path: str) -> list[dict]: ...     # path: relative to the scope root
```

- A spec gives the path patterns and the scope: globs relative to `nodes/<node>/` (scope
  "node") or to the bundle root (scope "cluster"): `*` and `?` stay inside one path segment,
  `**` crosses segments (`files/**/config`). Members under `nodes/<node>/logs/` go to the log
  index, not to parsers. A string pattern (scope from `scope=`, default "node") still works
  for a parser outside this package; the package's own parsers name specs only
  (tests/bundle/test_specs.py).
- `fact` is a dotted key below `node` (or `cluster`): `"windows.dynamic_ports.tcp"` fills
  `node.windows.dynamic_ports.tcp`. One artifact has one parser: when it tells several facts
  (`ip addr` gives addresses and interfaces), `fact` is a tuple of keys and the function
  returns a dict with those keys (a missing or None value leaves that fact absent).
- A function takes `(text)` or `(text, path)`; `path` is relative to the scope root.
- When several members feed one fact, `merge` says how: `"single"` (one value; the member of
  the highest `priority`, then the last path, wins), `"list"` (list results concatenated in
  priority and path order; a non-list result is appended), `"dict"` (dict results merged, higher
  priority overriding lower; nested dicts are merged key by key).
- `fact` may contain `{stem}`, the member's file name without extension
  (`cluster/*.json` fills `cluster.pods`, `cluster.nodes`, ...); `fact=""` merges a dict
  result into the top level (node.json).
- An exception in a parser becomes `Problem(kind="parse-error")` naming the member; the run
  goes on and the fact stays absent.
- Caps (hostile input): a parser reads at most `max_lines` lines of its member (default
  DEFAULT_MAX_LINES) and keeps at most `max_records` records (default DEFAULT_MAX_RECORDS) in
  each list of its result: the result itself, the values of a dict result and one level
  below (`{tables: {nat: [...]}}`). Past a cap the fact keeps what came first and the cut is
  reported as `Problem(kind="limit")` naming the cap, the member and how much was left out.

Facts that several artifacts tell (time sync from timedatectl, chronyc and ntpq; the firewall
from iptables-save, iptables-legacy-save, nft and the iptables version) are built by one
combiner: a finalizer that reads the artifacts' facts (docs/facts.md says which). Facts that
need several parsed facts or bundle data (certificate `days_left` from the
manifest's `created_at`, the cgroup version from mounts) are computed by finalizers, which
run per node once every member has been read:

```python
@finalizer()
def cgroup_from_mounts(node: dict, ctx: FinalizeContext) -> None: ...   # mutates node facts
```

Every module in this package is imported by `registry()` (pkgutil), so a new module registers
its parsers by merely existing: no central list to edit.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable
from k8s_bundle.bundle.specs import Spec
from k8s_bundle.pathglob import glob_to_regex  # noqa: F401  (re-exported)

SCOPES = ("node", "cluster")
MERGES = ("single", "list", "dict")

# No real node comes near these (a busy node: ~200 mounts, a few thousand processes, ~30
# certificates, a few hundred sockets); CEL walks a list in about 10 us per record and rule,
# and a parser builds a dict per line, so they bound both the time and the memory of a fact.
DEFAULT_MAX_LINES = 50_000
DEFAULT_MAX_RECORDS = 10_000
# kube-proxy's iptables/ipset/nftables rules: tens of thousands on big clusters (a rule a line)
RULESET_MAX_LINES = 1_000_000
# Kubernetes objects nest about 10 levels (pod.spec.containers[].securityContext...).
MAX_DEPTH = 40


@dataclass(frozen=True)
class ParserSpec:
    func: Callable[..., Any]
    patterns: tuple[str, ...]
    fact: str | tuple[str, ...]      # a tuple: the function returns {fact: value}
    scope: str = "node"
    merge: str = "single"
    priority: int = 0
    takes_path: bool = False
    regex: re.Pattern[str] = field(default=re.compile(r"(?!)"), compare=False, repr=False)
    max_lines: int = DEFAULT_MAX_LINES
    max_records: int = DEFAULT_MAX_RECORDS
    specs: tuple[Spec, ...] = field(default=(), compare=False, repr=False)   # what it reads, by name

    @property
    def name(self) -> str:
        return f"{self.func.__module__.rsplit('.', 1)[-1]}.{self.func.__name__}"

    @property
    def facts(self) -> tuple[str, ...]:
        """The fact keys this parser fills (one, or several for a multi-fact parser)."""
        return self.fact if isinstance(self.fact, tuple) else (self.fact,)

    def values(self, value: Any, stem: str) -> list[tuple[str, Any]]:
        """(fact key, value) pairs of a result: `{stem}` filled in; a multi-fact result split
        by key (None values dropped)."""
        if isinstance(self.fact, tuple):
            if not isinstance(value, dict):
                raise ValueError(f"{self.name} returned {type(value).__name__}, not a dict of its facts")
            return [(f, value[f]) for f in self.fact if value.get(f) is not None]
        return [(self.fact.format(stem=stem) if "{" in self.fact else self.fact, value)]

    def run(self, text: str, path: str) -> Any:
        return self.func(text, path) if self.takes_path else self.func(text)

    def run_capped(self, text: str, path: str) -> tuple[Any, list[tuple[str, str]]]:
        """run() within the caps: (value, [(problem kind, sentence)]): `limit` per cap
        reached, `parse-error` per correction a parser reported with `Partial`."""
        notes: list[tuple[str, str]] = []
        text, total = first_lines(text, self.max_lines)
        if total > self.max_lines:
            notes.append(("limit", f"read the first {self.max_lines:,} of {total:,} lines (max_lines of {self.name})"))
        try:
            value = self.run(text, path)
        except CapExceeded as exc:      # a document too large to parse at all: the fact is absent
            return None, notes + [("limit", f"{exc} ({self.name})")]
        if isinstance(value, Partial):
            notes += [("parse-error", note) for note in value.notes]
            value = value.value
        if isinstance(self.fact, tuple) and isinstance(value, dict):
            # each fact is capped as if its own parser had returned it
            kept, dropped, lists = dict(value), 0, 0
            for key, part in value.items():
                kept[key], d, c = cap_records(part, self.max_records)
                dropped, lists = dropped + d, lists + c
        else:
            kept, dropped, lists = cap_records(value, self.max_records)
        if dropped:
            notes.append(("limit", f"kept the first {self.max_records:,} records of {lists} list(s), leaving out "
                                   f"{dropped:,} (max_records of {self.name})"))
        kept, pruned = cap_depth(kept, MAX_DEPTH + (1 if isinstance(self.fact, tuple) else 0))
        if pruned:
            notes.append(("limit", f"left out {pruned:,} values nested deeper than {MAX_DEPTH} levels (max_depth)"))
        return kept, notes


class CapExceeded(ValueError):
    """Raised by a parser (or its helpers) for a member past a size cap it cannot parse in
    part; reported as a limit problem, the fact stays absent."""


@dataclass
class Partial:
    """A parser result of which some fields were dropped (wrong JSON types): the value is
    used, and each note becomes a parse-error problem naming the member."""

    value: Any
    notes: list[str]


def first_lines(text: str, limit: int) -> tuple[str, int]:
    """The first `limit` lines of `text` and the number of lines it has (counted, not split)."""
    total = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    if total <= limit:
        return text, total
    end = -1
    for _ in range(limit):
        end = text.index("\n", end + 1)
    return text[: end + 1], total


def cap_depth(value: Any, limit: int) -> tuple[Any, int]:
    """`value` with lists and dicts nested deeper than `limit` levels replaced by None, and
    how many were. The engine converts facts recursively (CEL values, digests): a hostile
    document nested a thousand levels deep would otherwise overflow Python's stack there."""
    if not isinstance(value, (dict, list)):
        return value, 0
    if limit <= 0:
        return None, 1
    pruned = 0
    if isinstance(value, dict):
        out_d: dict[Any, Any] = {}
        for key, item in value.items():
            out_d[key], n = cap_depth(item, limit - 1)
            pruned += n
        return (out_d if pruned else value), pruned
    out_l: list[Any] = []
    for item in value:
        kept, n = cap_depth(item, limit - 1)
        out_l.append(kept)
        pruned += n
    return (out_l if pruned else value), pruned


def cap_records(value: Any, limit: int, depth: int = 2) -> tuple[Any, int, int]:
    """Lists in `value` cut to `limit` items: the value itself if a list, and lists found in
    dicts down to `depth` levels. Returns (value, items left out, lists cut); dicts are
    copied only where something is cut."""
    if isinstance(value, list):
        if len(value) > limit:
            return value[:limit], len(value) - limit, 1
        return value, 0, 0
    if isinstance(value, dict) and depth > 0:
        dropped = cut = 0
        out = value
        for key, item in value.items():
            kept, d, c = cap_records(item, limit, depth - 1)
            if d:
                if out is value:
                    out = dict(value)
                out[key] = kept
                dropped += d
                cut += c
        return out, dropped, cut
    return value, 0, 0


@dataclass
class FinalizeContext:
    """What a finalizer may look at besides the node's own facts."""

    node: str
    manifest: dict[str, Any]          # {} when the bundle has none
    bundle: dict[str, Any]            # bundle facts (created_at, ...)
    members: list[str]                # member paths of this node, relative to nodes/<node>/


@dataclass(frozen=True)
class FinalizerSpec:
    func: Callable[[dict[str, Any], FinalizeContext], None]
    scope: str = "node"
    order: int = 0
    builds: str | None = None          # a combiner: the fact it builds ...
    reads: tuple[str, ...] = ()        # ... from these facts (their artifacts are its sources)


_PARSERS: list[ParserSpec] = []
_FINALIZERS: list[FinalizerSpec] = []
_LOADED = False
_LOCK = threading.Lock()


def parser(*reads: Spec | str, fact: str | tuple[str, ...], scope: str | None = None, merge: str = "single",
           priority: int = 0, max_lines: int = DEFAULT_MAX_LINES,
           max_records: int = DEFAULT_MAX_RECORDS) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as the parser of the specs (or path patterns) `reads`
    filling `fact`; the specs give the patterns and the scope."""
    if not reads:
        raise ValueError("parser() needs at least one spec")
    specs = tuple(r for r in reads if isinstance(r, Spec))
    patterns = tuple(p for r in reads for p in (r.paths if isinstance(r, Spec) else (r,)))
    scopes = {s.scope for s in specs} | ({scope} if scope else set())
    if len(scopes) > 1:
        raise ValueError(f"one parser reads one scope, not {sorted(scopes)}")
    scope = scopes.pop() if scopes else "node"
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}")
    if merge not in MERGES:
        raise ValueError(f"merge must be one of {MERGES}")

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        positional = [
            p for p in inspect.signature(func).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        regex = re.compile("(?:" + "|".join(glob_to_regex(p) for p in patterns) + r")\Z")
        _PARSERS.append(ParserSpec(func, patterns, fact, scope, merge, priority,
                                   len(positional) >= 2, regex, max_lines, max_records, specs))
        return func

    return register


def finalizer(scope: str = "node", order: int = 0, builds: str | None = None,
              reads: tuple[str, ...] = ()) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register a function `(facts, ctx) -> None` run after all members were parsed. A
    combiner names the fact it `builds` and the facts it `reads`, so the fact's sources (for
    docs/facts.md and the report's coverage) are the artifacts of those facts."""

    def register(func: Callable[..., None]) -> Callable[..., None]:
        _FINALIZERS.append(FinalizerSpec(func, scope, order, builds, tuple(reads)))
        return func

    return register


@dataclass
class Registry:
    parsers: list[ParserSpec]
    finalizers: list[FinalizerSpec]
    _cache: dict[tuple[str, str], list[ParserSpec]] = field(default_factory=dict)

    def match(self, scope: str, path: str) -> list[ParserSpec]:
        """Parsers whose patterns match `path` (relative to the scope root)."""
        key = (scope, path)
        hit = self._cache.get(key)
        if hit is None:
            hit = [s for s in self.parsers if s.scope == scope and s.regex.match(path)]
            if len(self._cache) < 100_000:
                self._cache[key] = hit
        return hit

    def finalizers_for(self, scope: str) -> list[FinalizerSpec]:
        return sorted((f for f in self.finalizers if f.scope == scope), key=lambda f: f.order)


def registry() -> Registry:
    """Import every module of this package once (registering its parsers) and return them."""
    global _LOADED
    with _LOCK:
        if not _LOADED:
            for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
                if not info.name.startswith("_"):
                    importlib.import_module(f"{__name__}.{info.name}")
            _LOADED = True
    return Registry(list(_PARSERS), list(_FINALIZERS))


def set_fact(facts: dict[str, Any], dotted: str, value: Any) -> None:
    """facts["a"]["b"] = value for dotted "a.b", creating the dicts on the way; the empty key
    merges a dict result into `facts` itself (node.json fills node.os, node.kernel, ...)."""
    if not dotted:
        if isinstance(value, dict):
            facts.update(value)
        return
    keys = dotted.split(".")
    target = facts
    for key in keys[:-1]:
        nxt = target.get(key)
        if not isinstance(nxt, dict):
            nxt = target[key] = {}
        target = nxt
    target[keys[-1]] = value


def get_fact(facts: dict[str, Any], dotted: str, default: Any = None) -> Any:
    target: Any = facts
    for key in dotted.split("."):
        if not isinstance(target, dict) or key not in target:
            return default
        target = target[key]
    return target


def combine(merge: str, results: list[tuple[int, str, Any]]) -> Any:
    """Combine the results feeding one fact: (priority, path, value) per member."""
    ordered = [value for _, _, value in sorted(results, key=lambda r: (r[0], r[1]))]
    if merge == "single":
        return ordered[-1]
    if merge == "list":
        out: list[Any] = []
        for value in ordered:
            if isinstance(value, list):
                out.extend(value)
            elif value is not None:
                out.append(value)
        return out
    merged: dict[str, Any] = {}
    for value in ordered:
        if isinstance(value, dict):
            _deep_update(merged, value)
    return merged


def _deep_update(into: dict[str, Any], new: dict[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_update(into[key], value)
        else:
            into[key] = value
