"""The local Windows transport and catalogue, run on Linux: real subprocesses through a fake
powershell executable (tests/windows/fake_powershell.py) and a temporary directory as drive C:."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from k8s_bundle.collector.transports.base import PrivateKeyFound
from k8s_bundle.collector.transports.powershell import PowerShellTransport
from k8s_bundle.collector.windows import catalogue, script
from k8s_bundle.collector.windows.paths import to_node, to_windows

FAKE = str(Path(__file__).with_name("fake_powershell.py"))


@pytest.fixture
def drive(tmp_path):
    c = tmp_path / "C"
    (c / "k").mkdir(parents=True)
    return c


def transport(drive: Path) -> PowerShellTransport:
    return PowerShellTransport(powershell=FAKE, drives={"C": str(drive)})


def test_paths_round_trip():
    assert to_windows("/C/k/config") == "C:\\k\\config"
    assert to_windows("/c") == "C:\\"
    assert to_node("C:\\Program Files\\containerd\\config.toml") == "/C/Program Files/containerd/config.toml"
    with pytest.raises(ValueError):
        to_windows("/etc/passwd")


def test_script_reaches_powershell_intact(drive, monkeypatch):
    monkeypatch.setenv("FAKE_PS_MODE", "echo")
    text = script("netsh", What="dynamicportrange", Protocol="tcp") + "\n# 中文 ünïcode 'quote'\n"
    s = transport(drive).run_powershell(text, timeout=20, cap=1 << 20, stop=threading.Event())
    assert b"".join(s).decode("utf-8") == text and s.exit_code == 0


def test_long_script_goes_through_a_temporary_file(drive, monkeypatch):
    monkeypatch.setenv("FAKE_PS_MODE", "echo")
    t = transport(drive)
    text = "# " + "x" * 40000
    argv, temp = t.powershell_argv(text)
    assert "-File" in argv and os.path.exists(temp)
    os.unlink(temp)
    s = t.run_powershell(text, timeout=20, cap=1 << 20, stop=threading.Event())
    assert b"".join(s).decode("utf-8-sig") == text
    assert not [p for p in os.listdir(os.path.dirname(temp)) if p == os.path.basename(temp)]


def test_output_is_capped_and_streamed(drive, monkeypatch):
    monkeypatch.setenv("FAKE_PS_MODE", "big")
    monkeypatch.setenv("FAKE_PS_MB", "8")
    s = transport(drive).run_powershell("big", timeout=30, cap=1 << 20, stop=threading.Event())
    sizes = [len(c) for c in s]
    assert sum(sizes) == 1 << 20 and s.truncated
    assert max(sizes) <= 256 * 1024  # chunks, never the whole output at once


def test_timeout_kills_the_script(drive, monkeypatch):
    monkeypatch.setenv("FAKE_PS_MODE", "sleep")
    s = transport(drive).run_powershell("sleep", timeout=1.0, cap=1 << 20, stop=threading.Event())
    data = b"".join(s)
    assert data == b"started\n" and s.timed_out and s.exit_code is None


def test_missing_powershell_is_not_found(drive):
    t = PowerShellTransport(powershell=str(drive / "nope.exe"), drives={"C": str(drive)})
    s = t.run_powershell("x", timeout=5, cap=10, stop=threading.Event())
    assert b"".join(s) == b"" and s.not_found


def test_tail_keeps_whole_lines(drive):
    # the tail window starts 100 bytes into a line: that partial line is dropped, as on Linux
    lines = [b"%05d " % i + b"x" * 293 + b"\n" for i in range(200)]     # 300 bytes each
    (drive / "k" / "long.log").write_bytes(b"".join(lines))
    s = transport(drive).read_file("/C/k/long.log", cap=1000, tail=True, stop=threading.Event())
    assert b"".join(s) == b"".join(lines[-3:]) and s.truncated


def test_files_tail_glob_and_private_keys(drive):
    t = transport(drive)
    (drive / "k" / "kubelet.log").write_bytes(b"".join(b"line %05d\n" % i for i in range(2000)))
    (drive / "k" / "kube-proxy.log").write_bytes(b"short\n")
    (drive / "k" / "bad.conf").write_bytes(b"-----BEGIN RSA PRIVATE KEY-----\nabc\n")
    assert t.glob("/C/k/*.log") == ["/C/k/kube-proxy.log", "/C/k/kubelet.log"]
    s = t.read_file("/C/k/kubelet.log", cap=1000, tail=True, stop=threading.Event())
    data = b"".join(s)
    assert data.endswith(b"line 01999\n") and len(data) <= 1000 and s.truncated
    s = t.read_file("/C/k/kube-proxy.log", cap=1000, tail=False, stop=threading.Event())
    assert b"".join(s) == b"short\n" and not s.truncated
    s = t.read_file("/C/k/absent", cap=10, tail=False, stop=threading.Event())
    assert b"".join(s) == b"" and s.not_found
    with pytest.raises(PrivateKeyFound):
        b"".join(t.read_file("/C/k/bad.conf", cap=1000, tail=False, stop=threading.Event(), refuse_private_keys=True))


def test_catalogue_paths_follow_the_bundle_format():
    from k8s_bundle.collector.context import Context

    ctx = Context(transport=None, node="win1", since="72h", is_root=True, timeout=10, cap=1 << 20)
    ctx.shared["since_seconds"] = 3600
    items = catalogue(ctx)
    ids = [i.id for i in items]
    assert len(ids) == len(set(ids))
    paths = {getattr(i, "path", "") for i in items}
    for expected in ("windows/hns-networks.json", "windows/hns-schema.txt", "windows/dynamicportrange-tcp.txt",
                     "windows/excludedportrange-udp.txt", "windows/reservedports.txt", "windows/services.json",
                     "windows/hotfixes.json", "logs/eventlog/System.jsonl", "node.json", "/C/run/flannel/subnet.env"):
        assert expected in paths, expected
    ev = next(i for i in items if i.id == "eventlog-System")
    assert "$Seconds = 3600" in ev.script and "$LogName = 'System'" in ev.script
    res = next(i for i in items if i.id == "reservedports")
    assert "0x98000064" in res.script and "Successfully reserved 10 ranges of 64 ports" in res.script
    assert "Couldn't reserve more than $count ranges of 64 ports" in res.script
