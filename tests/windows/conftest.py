"""Shared fixtures of the Windows tests: the recorded Windows node (from the sample scenario)
laid out the way the fake PowerShell and the fake WinRM server answer from it."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))


def _load_scenario() -> None:
    """samples/ is not a package: load samples/windows_scenario.py by path (putting samples/ on
    sys.path would let samples/build.py shadow any module named `build`)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("windows_scenario", ROOT / "samples" / "windows_scenario.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["windows_scenario"] = module
    spec.loader.exec_module(module)


_load_scenario()

# bundle member (below nodes/<node>/) -> the fakes' recorded output name (win_fake.py)
RECORDED = {
    "windows/hns-schema.txt": "hcn-schema.txt", "windows/hns-networks.json": "hcn-networks.txt",
    "windows/hns-endpoints.json": "hcn-endpoints.txt", "windows/hns-loadbalancers.json": "hcn-loadbalancers.txt",
    "windows/hns-namespaces.json": "hcn-namespaces.txt",
    "windows/dynamicportrange-tcp.txt": "netsh-dynamicportrange-tcp.txt",
    "windows/dynamicportrange-udp.txt": "netsh-dynamicportrange-udp.txt",
    "windows/excludedportrange-tcp.txt": "netsh-excludedportrange-tcp.txt",
    "windows/excludedportrange-udp.txt": "netsh-excludedportrange-udp.txt",
    "windows/reservedports.txt": "reservation.txt", "windows/tcp-connections.json": "tcpconnections.txt",
    "windows/services.json": "services.txt", "windows/versions.json": "versions.txt", "windows/os.json": "os.txt",
    "windows/hotfixes.json": "hotfixes.txt", "windows/netadapters.json": "network-adapters.txt",
    "windows/netipaddress.json": "network-ipaddress.txt", "windows/ipconfig.txt": "network-ipconfig.txt",
    "logs/eventlog/System.jsonl": "eventlog-System.txt",
    "logs/eventlog/Microsoft-Windows-Host-Network-Service-Admin.jsonl":
        "eventlog-Microsoft-Windows-Host-Network-Service-Admin.txt",
}


@pytest.fixture
def recorded_node(tmp_path):
    """(recorded outputs dir, drive C dir) of the sample's broken Windows worker."""
    import windows_scenario

    rec = tmp_path / "recorded"
    drive = tmp_path / "C"
    rec.mkdir()
    for member, data in windows_scenario.members().items():
        if member in RECORDED:
            (rec / RECORDED[member]).write_bytes(data)
        elif member.startswith(("files/C/", "logs/C/")):
            target = drive.joinpath(*member.split("/")[2:])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    return rec, drive

