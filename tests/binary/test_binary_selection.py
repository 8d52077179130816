"""What goes into the collector binary (packaging/selection.py), checked without building it.

These run under the ordinary CPython of the test suite, so they also keep the modules that the
Windows executable bundles importable on Linux.
"""
from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

import k8s_bundle
from k8s_bundle.bundle.layout import FORMAT_VERSION

REPO = Path(__file__).resolve().parents[2]


def _load_selection():
    spec = importlib.util.spec_from_file_location("selection", REPO / "packaging" / "selection.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


selection = _load_selection()


def test_requirements_leave_out_the_analyzer_only_dependencies():
    reqs = selection.collector_requirements()
    names = {selection._dist_name(r) for r in reqs}
    assert names.isdisjoint({"polars", "jinja2", "cel-python", "jsonschema"})
    # The collector's own dependencies stay, with the version floors of pyproject.toml.
    assert {"psutil", "orjson", "pyyaml"} <= names
    assert any(r.lower().startswith("psutil>=") for r in reqs)


def test_requirements_command_prints_one_requirement_a_line():
    out = subprocess.run(
        [sys.executable, str(REPO / "packaging" / "selection.py"), "requirements"],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    assert out == selection.collector_requirements()


def test_unknown_command_is_a_usage_error():
    proc = subprocess.run(
        [sys.executable, str(REPO / "packaging" / "selection.py"), "frobnicate"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("usage:")


@pytest.mark.parametrize(
    ("name", "bundled"),
    [
        ("k8s_bundle.cli", True),
        ("k8s_bundle.collector.runner", True),
        ("k8s_bundle.redact", True),
        ("k8s_bundle.analyzer", False),
        ("k8s_bundle.analyzer.cli", False),
        ("k8s_bundle.rules", False),
        ("k8s_bundle.report_templates.x", False),
        ("k8s_bundle.analyzerish", True),  # a prefix of a name is not the package
    ],
)
def test_module_filter(name, bundled):
    assert selection.is_bundled_module(name) is bundled


def _tree(root: Path) -> None:
    for rel, text in {
        "k8s_bundle/__init__.py": '__version__ = "2.3.4"\nFORMAT_VERSION = "1.7"\n',
        "collector/a.py": "A = 1\n",
        "packaging/entry.py": "pass\n",
        "setup.py": "",
        "pyproject.toml": "",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_source_hash_follows_content_and_ignores_bytecode(tmp_path):
    _tree(tmp_path)
    first = selection.source_hash(tmp_path)
    assert selection.source_hash(tmp_path) == first
    (tmp_path / "collector" / "__pycache__").mkdir()
    (tmp_path / "collector" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    assert selection.source_hash(tmp_path) == first
    (tmp_path / "collector" / "a.py").write_text("A = 2\n")
    assert selection.source_hash(tmp_path) != first


def test_source_hash_sees_a_renamed_file(tmp_path):
    _tree(tmp_path)
    first = selection.source_hash(tmp_path)
    (tmp_path / "collector" / "a.py").rename(tmp_path / "collector" / "b.py")
    assert selection.source_hash(tmp_path) != first


def test_stage_copies_the_build_inputs_only(tmp_path):
    src = tmp_path / "src"
    _tree(src)
    (src / "collector" / "__pycache__").mkdir()
    (src / "collector" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    (src / "tests").mkdir()
    (src / "tests" / "t.py").write_text("")
    dest = tmp_path / "stage"
    (dest / "stale").mkdir(parents=True)
    selection.stage(dest, src)
    copied = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert copied == [
        "collector/a.py", "k8s_bundle/__init__.py", "packaging/entry.py", "pyproject.toml", "setup.py",
    ]
    assert selection.source_hash(dest) == selection.source_hash(src)


def test_project_versions_match_the_package():
    assert selection.project_versions() == (k8s_bundle.__version__, FORMAT_VERSION)


def test_windows_version_resource_names_both_versions():
    text = selection.windows_version_file_text("2.3.4", "1.7")
    tree = ast.parse(text, mode="eval")  # PyInstaller eval()s this text
    call = tree.body
    assert isinstance(call, ast.Call) and call.func.id == "VSVersionInfo"
    ffi = next(k.value for k in call.keywords if k.arg == "ffi")
    versions = {k.arg: ast.literal_eval(k.value) for k in ffi.keywords if k.arg in ("filevers", "prodvers")}
    assert versions == {"filevers": (2, 3, 4, 0), "prodvers": (2, 3, 4, 0)}
    assert "StringStruct('ProductVersion', '2.3.4')" in text
    assert "bundle format 1.7" in text


def test_version_tuple_pads_and_ignores_suffixes():
    assert selection._version_tuple("1.2") == (1, 2, 0, 0)
    assert selection._version_tuple("0.10.3rc1") == (0, 10, 3, 1)
    assert selection._version_tuple("1.2.3.4.5") == (1, 2, 3, 4)


def _mapped_folders() -> list[str]:
    """MAPPED_FOLDERS of setup.py, read without running setup()."""
    tree = ast.parse((REPO / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "MAPPED_FOLDERS":
            return ast.literal_eval(node.value)
    raise AssertionError("setup.py has no MAPPED_FOLDERS")


def test_bundled_modules_import_here_without_the_analyzer_dependencies():
    """Every module both executables bundle imports under CPython on Linux (the Windows
    collector included), and none of them drags in what the binary leaves out."""
    script = f"""
import importlib, json, pkgutil, sys
sys.path.insert(0, {str(REPO / 'packaging')!r})
import selection
import k8s_bundle
names, failed = [], {{}}
def walk(pkg):
    for info in pkgutil.iter_modules(pkg.__path__, pkg.__name__ + '.'):
        if not selection.is_bundled_module(info.name):
            continue
        try:
            mod = importlib.import_module(info.name)
        except Exception as exc:
            failed[info.name] = repr(exc)
            continue
        names.append(info.name)
        if info.ispkg:
            walk(mod)
walk(k8s_bundle)
# setup.py maps the top-level folders beneath k8s_bundle; an editable install keeps them
# outside k8s_bundle.__path__, so walk each mapped package as well.
for folder in {_mapped_folders()!r}:
    name = 'k8s_bundle.' + folder
    if selection.is_bundled_module(name):
        names.append(name)
        walk(importlib.import_module(name))
heavy = sorted(m for m in {selection.ANALYZER_MODULES!r} if m in sys.modules)
print(json.dumps({{"names": names, "failed": failed, "heavy": heavy}}))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["failed"] == {}
    assert {"k8s_bundle.cli", "k8s_bundle.collector", "k8s_bundle.redact"} <= set(result["names"])
    assert not any(n.startswith("k8s_bundle.analyzer") for n in result["names"])
    assert result["heavy"] == []
