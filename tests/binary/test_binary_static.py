"""The static collector binary: built by packaging/build-linux.sh, then run as an operator
would on an air-gapped node, inside an empty chroot holding only the binary, a simulated node
root, /proc and /tmp.

The build is reused while dist/ matches the sources (the script keys it by a source hash), so
only the first run after a change pays for it (1-2 minutes here; about 35 s of CPU).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

import k8s_bundle
from k8s_bundle.bundle.layout import FORMAT_VERSION
from k8s_bundle.errors import EXIT_BAD_INPUT

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "simnode"))
import simnode  # noqa: E402  (tests/simnode is not a package)

sys.path.insert(0, str(REPO / "tests"))
import ci_guard  # noqa: E402

BUILD_VENV_PY = REPO / "build" / "venv" / "bin" / "python"
PYINSTALLER_OUTPUT = REPO / "build" / "pyinstaller-dist" / "k8s-bundle"
SIZE_LIMIT = 25 * 1024 * 1024  # issue 7: at most 25 MB

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform != "linux", reason="Linux binary")]


def _unavailable(reason: str) -> None:
    """CI promises the prerequisites (root, Debian packages): there a missing one fails."""
    ci_guard.require(reason)


@pytest.fixture(scope="session")
def binary() -> Path:
    proc = subprocess.run(
        ["bash", str(REPO / "packaging" / "build-linux.sh")],
        cwd=REPO, capture_output=True, text=True, timeout=1500,
    )
    if proc.returncode == 3:  # a build prerequisite is missing (the script names it)
        _unavailable(proc.stderr.strip().splitlines()[-1])
    assert proc.returncode == 0, f"build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return REPO / "dist" / "k8s-bundle"


def _run(argv: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, **kw)


# -- the file itself ---------------------------------------------------------------------------

def _elf_program_header_types(path: Path) -> list[int]:
    with open(path, "rb") as fh:
        head = fh.read(64)
        assert head[:4] == b"\x7fELF" and head[4] == 2 and head[5] == 1, "not a 64-bit LE ELF"
        phoff, = struct.unpack_from("<Q", head, 32)
        phentsize, phnum = struct.unpack_from("<HH", head, 54)
        types = []
        for i in range(phnum):
            fh.seek(phoff + i * phentsize)
            types.append(struct.unpack("<I", fh.read(4))[0])
    return types


def test_binary_is_static(binary):
    proc = _run(["ldd", str(binary)])
    said = (proc.stdout + proc.stderr).strip()
    assert "not a dynamic executable" in said or "statically linked" in said, said
    # The same from the ELF headers: no interpreter (PT_INTERP) and no dynamic section.
    types = _elf_program_header_types(binary)
    assert 3 not in types and 2 not in types


def test_checksum_file_sits_beside_the_binary(binary):
    line = (binary.parent / "k8s-bundle.sha256").read_text()
    assert line == f"{hashlib.sha256(binary.read_bytes()).hexdigest()}  k8s-bundle\n"
    assert _run(["sha256sum", "-c", "k8s-bundle.sha256"], cwd=binary.parent).returncode == 0


def test_binary_is_small_enough(binary):
    assert binary.stat().st_size <= SIZE_LIMIT


def test_version_names_tool_and_bundle_format(binary):
    proc = _run([str(binary), "--version"])
    assert proc.returncode == 0
    assert proc.stdout == f"k8s-bundle {k8s_bundle.__version__} (bundle format {FORMAT_VERSION})\n"


@pytest.mark.parametrize("command", [["analyze", "bundle.tgz"], ["rules", "list"]])
def test_analyzer_commands_say_where_to_get_the_analyzer(binary, command):
    proc = _run([str(binary), *command])
    assert proc.returncode == EXIT_BAD_INPUT
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert "analyzer is not inside" in lines[0] and "pip install" in lines[0]


def _data_files_of(folder: str, package: str) -> set[str]:
    base = REPO / folder
    return {
        f"{package}/{p.relative_to(base).as_posix()}"
        for p in base.rglob("*")
        if p.is_file() and p.suffix in (".ps1", ".yaml", ".yml", ".json", ".txt") and "__pycache__" not in p.parts
    }


def test_archive_holds_the_collector_and_leaves_the_analyzer_out(binary):
    script = (
        "import json, sys\n"
        "from PyInstaller.archive.readers import pkg_archive_contents\n"
        "print(json.dumps(pkg_archive_contents(sys.argv[1])))\n"
    )
    proc = _run([str(BUILD_VENV_PY), "-c", script, str(PYINSTALLER_OUTPUT)])
    assert proc.returncode == 0, proc.stderr
    names = json.loads(proc.stdout)
    assert "k8s_bundle.collector.runner" in names and "k8s_bundle.redact" in names
    # Data the collector reads at run time (PowerShell scripts of the Windows catalogue, also
    # used remotely over PSRP from Linux; the redaction rules).
    data = _data_files_of("collector", "k8s_bundle/collector") | _data_files_of("redact", "k8s_bundle/redact")
    assert any(d.endswith(".ps1") for d in data) and "k8s_bundle/redact/builtin_rules.yaml" in data
    assert data <= set(names), sorted(data - set(names))
    for left_out in ("polars", "jinja2", "celpy", "jsonschema", "k8s_bundle.analyzer.cli", "setuptools"):
        assert not any(n == left_out or n.startswith(left_out + ".") for n in names), left_out


def test_windows_version_resource_passes_pyinstallers_parser(binary, tmp_path):
    """k8s-bundle.exe cannot be built here; its version resource is checked with the code
    PyInstaller runs on Windows (its win32api import is Windows-only and unused for this)."""
    out = tmp_path / "file_version_info.txt"
    assert _run([str(BUILD_VENV_PY), str(REPO / "packaging" / "selection.py"), "version-file", str(out)]).returncode == 0
    script = (
        "import sys, PyInstaller.compat as c\n"
        "c.win32api = None\n"
        "from PyInstaller.utils.win32 import versioninfo as v\n"
        "info = v.load_version_info_from_text_file(sys.argv[1])\n"
        "raw = info.toRaw()\n"
        "ms, ls = info.ffi.fileVersionMS, info.ffi.fileVersionLS\n"
        "print(ms >> 16, ms & 0xFFFF, ls >> 16, ls & 0xFFFF, len(raw))\n"
    )
    proc = _run([str(BUILD_VENV_PY), "-c", script, str(out)])
    assert proc.returncode == 0, proc.stderr
    *version, raw_len = (int(n) for n in proc.stdout.split())
    expected = [int(n) for n in k8s_bundle.__version__.split(".")]
    assert version[: len(expected)] == expected
    assert raw_len > 0


@pytest.mark.parametrize("callers_library_path", [None, "/opt/vendor/lib"])
def test_commands_get_the_callers_environment(binary, tmp_path, callers_library_path):
    """The bootloader points LD_LIBRARY_PATH at the binary's own libraries; the node's tools
    the collector runs must load theirs (packaging/entry.py undoes it)."""
    node = simnode.build(tmp_path / "sim")
    spy_dir, record = tmp_path / "spy", tmp_path / "uname.env"
    spy_dir.mkdir()
    (spy_dir / "uname").write_text(f'#!/bin/sh\nenv > "{record}"\necho "Linux spy 6.1.0 x86_64"\n')
    (spy_dir / "uname").chmod(0o755)
    env = {"PATH": f"{spy_dir}:/usr/bin:/bin", "TMPDIR": str(tmp_path)}
    if callers_library_path:
        env["LD_LIBRARY_PATH"] = callers_library_path
    proc = _run(
        [str(binary), "collect", "--root", str(node.root), "--live", "--only", "system",
         "-o", str(tmp_path / "b.tgz"), "--progress", "none"],
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = dict(line.split("=", 1) for line in record.read_text().splitlines() if "=" in line)
    assert seen.get("LD_LIBRARY_PATH") == callers_library_path
    assert not [name for name in seen if name.startswith("_PYI_")]


def test_windows_spec_runs_through_pyinstaller(binary, tmp_path):
    """The Windows spec executed by the real PyInstaller (here it makes a Linux executable and
    ignores the version resource): its own code, the module selection and the generated
    version file are exercised as on a Windows build host."""
    work, dist = tmp_path / "work", tmp_path / "dist"
    proc = _run(
        [str(BUILD_VENV_PY), "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", str(dist), "--workpath", str(work), str(REPO / "packaging" / "k8s-bundle-windows.spec")],
        cwd=REPO / "build",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    version_file = work / "k8s-bundle-windows" / "file_version_info.txt"
    assert f"StringStruct('FileVersion', '{k8s_bundle.__version__}')" in version_file.read_text()
    out = _run([str(dist / "k8s-bundle"), "--version"])
    assert out.returncode == 0 and out.stdout.startswith(f"k8s-bundle {k8s_bundle.__version__} ")


# -- inside an empty chroot --------------------------------------------------------------------

class Jail:
    """A directory holding only the binary, the simulated node's root at /node, /proc and /tmp,
    entered with chroot: no shell, no libc, no Python, no tools."""

    def __init__(self, root: Path, node: "simnode.SimNode") -> None:
        self.root = root
        self.node = node

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            [CHROOT, str(self.root), "/k8s-bundle", *args],
            capture_output=True, text=True, timeout=timeout,
            # An operator's minimal environment; nothing of the test runner's leaks in.
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "TMPDIR": "/tmp", "HOME": "/tmp"},
        )

    def host_path(self, jail_path: str) -> Path:
        return self.root / jail_path.lstrip("/")


CHROOT = shutil.which("chroot") or "/usr/sbin/chroot"


@pytest.fixture(scope="module")
def jail(binary, tmp_path_factory):
    if os.geteuid() != 0:
        _unavailable("chroot needs root")
    if not os.path.exists(CHROOT) or shutil.which("mount") is None:
        _unavailable("chroot and mount are needed")
    node = simnode.build(tmp_path_factory.mktemp("simnode"))
    root = tmp_path_factory.mktemp("jail")
    (root / "proc").mkdir()
    (root / "tmp").mkdir()
    os.chmod(root / "tmp", 0o1777)
    shutil.copy2(binary, root / "k8s-bundle")
    # The node's tree only: its bin/ of fake tools is Python, which the jail does not have.
    shutil.copytree(node.root, root / "node", symlinks=True)
    mounted = _run(["mount", "-t", "proc", "proc", str(root / "proc")])
    if mounted.returncode != 0:  # e.g. inside some containers: a bind mount works there
        mounted = _run(["mount", "--bind", "/proc", str(root / "proc")])
    if mounted.returncode != 0:
        _unavailable(f"cannot mount /proc in the chroot: {mounted.stderr.strip()}")
    try:
        yield Jail(root, node)
    finally:
        _run(["umount", "-l", str(root / "proc")])


def test_jail_holds_only_the_binary_node_proc_and_tmp(jail):
    assert sorted(os.listdir(jail.root)) == ["k8s-bundle", "node", "proc", "tmp"]


def test_version_inside_empty_chroot(jail):
    proc = jail.run("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"k8s-bundle {k8s_bundle.__version__} ")
    # Both extraction layers (staticx, PyInstaller) clean up after themselves.
    leftovers = [n for n in os.listdir(jail.host_path("/tmp")) if n.startswith(("staticx-", "_MEI"))]
    assert leftovers == []


@pytest.fixture(scope="module")
def collected(jail) -> Path:
    proc = jail.run("collect", "--root", "/node", "-o", "/tmp/bundle.tgz", "--progress", "json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    finish = [json.loads(line) for line in proc.stderr.splitlines() if '"finish"' in line]
    assert finish and finish[-1]["output"] == "/tmp/bundle.tgz" and finish[-1]["partial"] is False
    return jail.host_path("/tmp/bundle.tgz")


def test_collect_in_chroot_makes_a_bundle_the_analyzer_reads(jail, collected):
    from k8s_bundle.analyzer.evidence import load_evidence

    evidence = load_evidence(str(collected))
    assert evidence.problems == []
    assert evidence.bundle["format_version"] == FORMAT_VERSION
    assert evidence.bundle["tool_version"] == k8s_bundle.__version__
    assert list(evidence.nodes) == ["cp1"]
    node = evidence.nodes["cp1"]
    # Files read from /node, not from the (empty) jail or this machine.
    assert node["distro"] == "Ubuntu 22.04.4 LTS"
    assert node["roles"] == ["control-plane", "etcd"]
    assert node["kubelet_config"]["cgroupDriver"] == "systemd"
    # /node/etc/resolv.conf is an absolute link, resolved inside --root.
    assert node["resolv"]["nameservers"] == ["127.0.0.53"]
    # Certificate metadata needs cryptography's compiled core inside the binary.
    api = next(c for c in node["certs"] if c["path"] == "/etc/kubernetes/pki/apiserver.crt")
    assert api["subject"] == "CN=kube-apiserver"
    assert api["not_after"] < evidence.bundle["created_at"]  # the simulated expired cert
    swap = [m for m in evidence.log_index["message"].to_list() if "running with swap on is not supported" in m]
    assert swap


def test_collect_in_chroot_stores_no_secret(jail, collected):
    with tarfile.open(collected, "r:gz") as tar:
        stored = b"".join(tar.extractfile(m).read() for m in tar if m.isfile()).decode("utf-8", "replace")
    assert jail.node.secrets
    for secret in jail.node.secrets:
        assert secret not in stored
    assert "PRIVATE KEY-----" not in stored


def test_verify_in_chroot(jail, collected):
    clean = jail.run("verify", "/tmp/bundle.tgz")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    raw = jail.run("verify", "/node/etc/kubernetes")  # the node's own files hold keys
    assert raw.returncode == 1, raw.stdout + raw.stderr
    assert "admin.conf" in raw.stdout
    missing = jail.run("verify", "/tmp/no-such-bundle.tgz")
    assert missing.returncode == EXIT_BAD_INPUT
    assert len(missing.stderr.splitlines()) == 1 and "Traceback" not in missing.stderr


def test_redact_in_chroot(jail):
    proc = jail.run("redact", "/node/etc/kubernetes", "-o", "/tmp/redacted.tgz")
    assert proc.returncode == 0, proc.stderr
    with tarfile.open(jail.host_path("/tmp/redacted.tgz"), "r:gz") as tar:
        names = [m.name for m in tar if m.isfile()]
        admin = next(n for n in names if n.endswith("/admin.conf"))
        text = tar.extractfile(admin).read().decode()
    assert "server: https://192.168.1.10:6443" in text  # the rest of the file is kept
    assert "<redacted:" in text
    for secret in jail.node.secrets:
        assert secret not in text
    assert jail.run("verify", "/tmp/redacted.tgz").returncode == 0
