"""What goes into the collector-only binary, shared by the Linux and Windows builds.

Imported by the PyInstaller spec files (packaging/k8s-bundle-*.spec) and run as a script by the
build scripts, so the choice of modules, dependencies and sources lives in one place. Stdlib
only: it runs under any Python 3.11 (the build venv, the host python3, CPython on Windows).

    python packaging/selection.py requirements      pip requirement lines for the binary
    python packaging/selection.py source-hash       hash of everything the binary is built from
    python packaging/selection.py stage DIR         copy the sources to DIR for a clean install
    python packaging/selection.py version-file OUT  Windows version resource (PyInstaller text)
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Distributions of pyproject.toml that only the analyzer needs. They are neither installed in
# the build venv nor allowed into the binary: polars alone would add ~40 MB (the target is
# <= 25 MB) and every one of them slows the start-up of each invocation.
ANALYZER_ONLY_DISTS = frozenset({"polars", "jinja2", "cel-python", "jsonschema"})

# The analyzer's own modules and heavy dependencies, by import name. The analyzer's `cli`
# module goes too: without it k8s_bundle/cli.py registers `analyze`/`rules` as commands that
# print one line naming how to get the analyzer. Light analyzer modules the collector or
# `verify` import statically (e.g. the bundle reader) still get in through PyInstaller's
# import graph.
ANALYZER_MODULES = ["k8s_bundle.analyzer.cli", "polars", "jinja2", "celpy", "jsonschema"]

# Import names kept out of the binary even if something pulls them in.
EXCLUDED_MODULES = ANALYZER_MODULES + [
    "pyarrow",
    "pandas",
    "numpy",
    # rich (the collector's progress display) imports these only for Syntax/Markdown/traceback
    # rendering, which the collector never uses: ~2.5 MB less binary.
    "pygments",
    "markdown_it",
    "mdurl",
    # rich.pretty uses attrs only when it is installed (the build venv has none, since
    # jsonschema is left out; excluded in case a future dependency brings it back).
    "attr",
    # Build tools: PyInstaller's setuptools hook would otherwise pull in ~1 MB of setuptools
    # and distutils that nothing calls at run time.
    "setuptools",
    "distutils",
    "_distutils_hack",
    "pkg_resources",
    "tkinter",
    "pytest",
    "hypothesis",
    "playwright",
]

# Sub-packages never bundled: the analyzer is reached only through the import graph (above),
# rules and report templates are the analyzer's data.
_NOT_BUNDLED_PACKAGES = ("k8s_bundle.analyzer", "k8s_bundle.rules", "k8s_bundle.report_templates",
                         "k8s_bundle.serve")   # `serve` runs the analyzer

# What the binary is built from, relative to the repository root: the sources setup.py maps,
# the metadata pip needs to install them, and the packaging itself.
SOURCE_PATHS = (
    "k8s_bundle",
    "collector",
    "redact",
    "analyzer",
    "rules",
    "report_templates",
    "serve",            # setup.py maps it (the build installs the tree; the binary leaves it out)
    "setup.py",
    "pyproject.toml",
    "README.md",
    "packaging",
)
_SKIPPED_NAMES = frozenset({"__pycache__", ".pytest_cache", ".hypothesis"})


def is_bundled_module(name: str) -> bool:
    """Filter for PyInstaller's collect_submodules('k8s_bundle', filter=...)."""
    return not any(name == p or name.startswith(p + ".") for p in _NOT_BUNDLED_PACKAGES)


# Packages the binary cannot work without; their absence means PyInstaller analysed the wrong
# k8s_bundle (the source folder, where setup.py's mapped folders are missing, instead of the
# installed package).
REQUIRED_PACKAGES = ("k8s_bundle.cli", "k8s_bundle.collector", "k8s_bundle.redact")


def check_hiddenimports(names: list[str]) -> None:
    """Stop the build when the module list lacks a required package (called by the specs)."""
    missing = [p for p in REQUIRED_PACKAGES if p not in names]
    if missing:
        raise SystemExit(
            f"selection: {', '.join(missing)} not found; run PyInstaller from outside the source "
            "tree (the build scripts run it in build/) with the project installed in the build venv"
        )


# Data files of k8s_bundle that the binary carries (e.g. PowerShell scripts of the Windows
# catalogue, YAML item tables); patterns are relative to the installed k8s_bundle package.
DATA_INCLUDES = ["**/*.ps1", "**/*.yaml", "**/*.yml", "**/*.json", "**/*.txt"]
DATA_EXCLUDES = ["analyzer/**", "rules/**", "report_templates/**"]


def _dist_name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower()


def collector_requirements(pyproject: Path = REPO / "pyproject.toml") -> list[str]:
    """The project's runtime dependencies minus the analyzer-only ones."""
    with open(pyproject, "rb") as fh:
        deps = tomllib.load(fh)["project"]["dependencies"]
    return [d for d in deps if _dist_name(d) not in ANALYZER_ONLY_DISTS]


def _source_files(root: Path) -> list[Path]:
    files: list[Path] = []
    for rel in SOURCE_PATHS:
        top = root / rel
        if top.is_file():
            files.append(top)
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED_NAMES)
            files.extend(Path(dirpath) / f for f in sorted(filenames) if not f.endswith(".pyc"))
    return files


def source_hash(root: Path = REPO) -> str:
    """SHA-256 over the paths and contents of every build input; keys the dist/ cache."""
    digest = hashlib.sha256()
    for path in _source_files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def stage(dest: Path, root: Path = REPO) -> None:
    """Copy the build inputs to `dest` so pip builds there, never in the working tree."""
    if dest.exists():
        shutil.rmtree(dest)
    for path in _source_files(root):
        target = dest / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def _version_tuple(version: str) -> tuple[int, int, int, int]:
    numbers = [int(n) for n in re.findall(r"\d+", version)[:4]]
    return tuple(numbers + [0] * (4 - len(numbers)))  # type: ignore[return-value]


def windows_version_file_text(version: str, format_version: str) -> str:
    """PyInstaller's version-resource text (EXE(version=...)) for k8s-bundle.exe.

    Explorer's Properties > Details shows it, so an operator can check what was carried onto
    a node without running it.
    """
    v = _version_tuple(version)
    strings = {
        "CompanyName": "k8s-bundle",
        "FileDescription": "k8s-bundle collector (Kubernetes node support bundles)",
        "FileVersion": version,
        "InternalName": "k8s-bundle",
        "OriginalFilename": "k8s-bundle.exe",
        "ProductName": "k8s-bundle",
        "ProductVersion": version,
        "Comments": f"bundle format {format_version}",
    }
    string_structs = ",\n          ".join(f"StringStruct({k!r}, {val!r})" for k, val in strings.items())
    return f"""# UTF-8 -- generated by packaging/selection.py; do not edit
VSVersionInfo(
  ffi=FixedFileInfo(filevers={v!r}, prodvers={v!r}, mask=0x3f, flags=0x0, OS=0x40004,
                    fileType=0x1, subtype=0x0, date=(0, 0)),
  kids=[
    StringFileInfo([
      StringTable('040904B0', [
          {string_structs}])
    ]),
    VarFileInfo([VarStruct('Translation', [1033, 1200])])
  ]
)
"""


def project_versions(root: Path = REPO) -> tuple[str, str]:
    """__version__ and FORMAT_VERSION read from the source, without importing the package."""
    text = "".join((root / "k8s_bundle" / name).read_text(encoding="utf-8")
                   for name in ("__init__.py", "bundle/layout.py"))
    found = dict(re.findall(r'^(__version__|FORMAT_VERSION)\s*=\s*"([^"]+)"', text, re.M))
    return found["__version__"], found["FORMAT_VERSION"]


def main(argv: list[str]) -> int:
    usage = "usage: selection.py requirements | source-hash | stage DIR | version-file OUT"
    if not argv:
        print(usage, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "requirements" and not rest:
        print("\n".join(collector_requirements()))
    elif command == "source-hash" and not rest:
        print(source_hash())
    elif command == "stage" and len(rest) == 1:
        stage(Path(rest[0]))
    elif command == "version-file" and len(rest) == 1:
        Path(rest[0]).write_text(windows_version_file_text(*project_versions()), encoding="utf-8")
    else:
        print(usage, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
