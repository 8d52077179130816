"""The import rules of the package map (docs/architecture.md), read statically with ast.

- Only CLI modules (`*/cli.py`, k8s_bundle/cli.py) import a `cli` module: a renderer or a
  command module that imports one drags argparse code into the library and loops back.
- The bundle package (k8s_bundle/bundle/) imports nothing from collector/, redact/, analyzer/:
  it is the contract between them.
- No import cycle among collector/, redact/, analyzer/ and the bundle package, module by module
  (imports run when a module is loaded: module level and class bodies, not function bodies,
  not `if TYPE_CHECKING:`), nor area by area (the layering: bundle below everything,
  collector/redact/analyzer never in a loop).
"""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
AREAS = {"k8s_bundle.collector": "collector", "k8s_bundle.redact": "redact",
         "k8s_bundle.analyzer": "analyzer", "k8s_bundle.bundle": "bundle"}


def _mapped_folders() -> list[str]:
    """setup.py's MAPPED_FOLDERS (the top-level folders installed beneath k8s_bundle)."""
    tree = ast.parse((REPO / "setup.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "MAPPED_FOLDERS" for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise AssertionError("setup.py has no MAPPED_FOLDERS")


def _modules() -> dict[str, Path]:
    """Every module of the installed package, by import name."""
    roots = {"k8s_bundle": REPO / "k8s_bundle"}
    roots.update({f"k8s_bundle.{f}": REPO / f for f in _mapped_folders()})
    out: dict[str, Path] = {}
    for prefix, root in roots.items():
        for path in sorted(root.rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if "__pycache__" in parts:
                continue
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join([prefix, *parts])] = path
    return out


MODULES = _modules()


class _Imports(ast.NodeVisitor):
    """(imported module, line, at load time?) of one module's import statements."""

    def __init__(self, name: str, is_package: bool) -> None:
        self.name = name
        self.package = name if is_package else name.rpartition(".")[0]
        self.found: list[tuple[str, int, bool]] = []
        self._depth = 0                  # inside a function body: runs later, if ever

    def _add(self, module: str, line: int) -> None:
        self.found.append((module, line, self._depth == 0))

    def visit_FunctionDef(self, node: ast.AST) -> None:
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_Lambda = visit_FunctionDef

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
                (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"):
            self._depth += 1             # for the type checker only
            for child in node.body:
                self.visit(child)
            self._depth -= 1
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            anchor = self.package.split(".")
            anchor = anchor[:len(anchor) - (node.level - 1)]
            base = ".".join(anchor + ([base] if base else []))
        for alias in node.names:
            # `from pkg import mod` imports the module pkg.mod; `from mod import name` imports mod
            full = f"{base}.{alias.name}"
            self._add(full if full in MODULES else base, node.lineno)


def _imports(name: str) -> list[tuple[str, int, bool]]:
    path = MODULES[name]
    visitor = _Imports(name, path.name == "__init__.py")
    visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return visitor.found


IMPORTS = {name: _imports(name) for name in MODULES}


def _where(name: str, line: int) -> str:
    return f"{MODULES[name].relative_to(REPO)}:{line}"


def _area(module: str) -> str | None:
    for prefix, area in AREAS.items():
        if module == prefix or module.startswith(prefix + "."):
            return area
    return None


def _is_cli(module: str) -> bool:
    return module.rpartition(".")[2] == "cli"


def test_the_scan_sees_the_package() -> None:
    # a scan that found nothing would pass every rule below
    assert {"k8s_bundle.cli", "k8s_bundle.analyzer.cli", "k8s_bundle.collector.runner",
            "k8s_bundle.bundle.reader", "k8s_bundle.redact"} <= set(MODULES)
    collector_cli = {(m, at_load) for m, _, at_load in IMPORTS["k8s_bundle.collector.cli"]}
    assert ("k8s_bundle.errors", True) in collector_cli                 # module level
    assert ("k8s_bundle.redact.cli", False) in collector_cli           # inside register()


def test_only_cli_modules_import_a_cli_module() -> None:
    bad = [f"{_where(name, line)}: {name} imports {module}"
           for name, found in IMPORTS.items() if not _is_cli(name)
           for module, line, _ in found if _is_cli(module)]
    assert not bad, "a module that is not a CLI imports one (move what it needs out of the CLI):\n" + "\n".join(bad)


# Known today, each with why; a new one fails, and so does an entry that is no longer true.
BUNDLE_IMPORTS_KNOWN: set[tuple[str, str]] = set()


def test_the_bundle_package_imports_nothing_of_its_users() -> None:
    found = {(name, module): line for name, imports in IMPORTS.items() if _area(name) == "bundle"
             for module, line, _ in imports if _area(module) in ("collector", "redact", "analyzer")}
    bad = [f"{_where(name, line)}: {name} imports {module}"
           for (name, module), line in sorted(found.items()) if (name, module) not in BUNDLE_IMPORTS_KNOWN]
    assert not bad, "k8s_bundle/bundle/ must not import collector/, redact/ or analyzer/:\n" + "\n".join(bad)
    stale = sorted(BUNDLE_IMPORTS_KNOWN - set(found))
    assert not stale, f"no longer imported, remove from BUNDLE_IMPORTS_KNOWN: {stale}"


def _load_time_graph() -> dict[str, set[str]]:
    """Module -> the modules loading it loads, within the four areas. Importing a.b.c loads the
    packages a and a.b first, so those count too."""
    graph: dict[str, set[str]] = {name: set() for name in MODULES if _area(name)}
    for name in graph:
        for module, _, at_load in IMPORTS[name]:
            if not at_load:
                continue
            parts = module.split(".")
            for i in range(2, len(parts) + 1):
                target = ".".join(parts[:i])
                if target in graph and target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        # iterative: no recursion limit on a long import chain
        work = [(v, iter(sorted(graph[v])))]
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        while work:
            node, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[node] = min(low[node], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == node:
                            break
                    if len(component) > 1:
                        components.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_one_cycle(graph, set(c)) for c in components]


def _one_cycle(graph: dict[str, set[str]], members: set[str]) -> list[str]:
    """A concrete loop through a strongly connected component: start -> ... -> start."""
    start = min(members)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for w in sorted(graph[node] & members):
            if w == start:
                return paths[node] + [start]
            if w not in paths:
                paths[w] = paths[node] + [w]
                queue.append(w)
    raise AssertionError(f"no loop in {sorted(members)}")


def test_no_import_cycle_between_modules() -> None:
    cycles = _cycles(_load_time_graph())
    assert not cycles, "import cycles (module-level imports):\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_import_cycle_between_areas() -> None:
    graph: dict[str, set[str]] = {area: set() for area in AREAS.values()}
    why: dict[tuple[str, str], str] = {}
    for name, targets in _load_time_graph().items():
        for target in targets:
            a, b = _area(name), _area(target)
            if a and b and a != b:
                graph[a].add(b)
                line = next(ln for m, ln, t in IMPORTS[name] if t and (m == target or m.startswith(target + ".")))
                why.setdefault((a, b), f"{_where(name, line)} imports {target}")
    cycles = _cycles(graph)
    assert not cycles, "areas importing each other at load time:\n" + "\n".join(
        " -> ".join(c) + "\n  " + "\n  ".join(why[(x, y)] for x, y in zip(c, c[1:])) for c in cycles)


def test_the_cycle_finder_finds_a_cycle() -> None:
    # the guard above is only as good as this
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(graph) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
