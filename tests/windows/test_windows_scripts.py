"""The PowerShell scripts cannot run here (no Windows), but their embedded C# (the HCN V2
P/Invoke helper and the port reservation test) is compiled with Mono's C# compiler, and every
script is checked for the mistakes that break Windows PowerShell 5.1 silently: unbalanced
brackets, here-strings whose terminator is not at the start of a line, non-ASCII text."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import ci_guard  # noqa: E402

SCRIPTS = resources.files("k8s_bundle.collector.windows").joinpath("scripts")
NAMES = sorted(p.name for p in SCRIPTS.iterdir() if p.name.endswith(".ps1"))
HERE_STRING = re.compile(r"@'\n(.*?)\n'@", re.S)


def test_scripts_exist():
    assert {"prelude.ps1", "hcn.ps1", "reservation.ps1", "readfile.ps1", "eventlog.ps1"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_script_is_well_formed(name):
    text = SCRIPTS.joinpath(name).read_text("utf-8")
    assert text.isascii(), "5.1 reads a BOM-less script as the ANSI code page: keep scripts ASCII"
    code = HERE_STRING.sub("", text)           # C# inside here-strings is checked by the compiler
    code = re.sub(r"#.*", "", code)            # comments
    code = re.sub(r"'[^'\n]*'", "''", code)    # single-quoted strings
    code = re.sub(r'"(?:`.|[^"`\n])*"', '""', code)
    for open_, close in ("{}", "()", "[]"):
        assert code.count(open_) == code.count(close), f"unbalanced {open_}{close} in {name}"
    assert "'@" not in code and "@'" not in code, f"a here-string in {name} is not closed at column 0"


@pytest.mark.parametrize("name,cls", [("hcn.ps1", "K8sBundleHcn"), ("reservation.ps1", "K8sBundlePortReservation")])
def test_embedded_csharp_compiles(tmp_path, name, cls):
    mcs = shutil.which("mcs")
    if mcs is None:
        ci_guard.require("Mono's C# compiler (Debian package mono-mcs, scripts/apt-test-packages.txt) is not installed")
    source = HERE_STRING.search(SCRIPTS.joinpath(name).read_text("utf-8")).group(1)
    src = tmp_path / f"{cls}.cs"
    src.write_text(source)
    # C# 5 is what Windows PowerShell 5.1's Add-Type compiles
    proc = subprocess.run([mcs, "-langversion:5", "-target:library", f"-out:{tmp_path / cls}.dll", str(src)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"public static class {cls}" in source


def test_reservation_constants_and_sentences():
    text = SCRIPTS.joinpath("reservation.ps1").read_text("utf-8")
    # mstcpip.h: SIO_ACQUIRE_PORT_RESERVATION = _WSAIOW(IOC_VENDOR, 100) = IOC_IN | IOC_VENDOR | 100
    ioc_in, ioc_vendor = 0x80000000, 0x18000000
    assert f"0x{ioc_in | ioc_vendor | 100:08X}" in text
    assert 'Write-Output "Successfully reserved 10 ranges of 64 ports"' in text
    assert "Write-Output \"Couldn't reserve more than $count ranges of 64 ports\"" in text
    assert "Reserve(10, 64)" in text
