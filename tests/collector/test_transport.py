"""The local transport against real files, FIFOs, symlinks and subprocesses."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from k8s_bundle.collector.transports.base import Interrupted, NotSupported
from k8s_bundle.collector.transports.base import PrivateKeyFound
from k8s_bundle.collector.transports.local import LocalTransport, resolve_in_root


def _read(stream) -> bytes:
    return b"".join(stream)


@pytest.fixture
def stop() -> threading.Event:
    return threading.Event()


def test_head_cap_marks_truncated(tmp_path, stop):
    f = tmp_path / "f"
    f.write_bytes(b"a" * 1000)
    s = LocalTransport().read_file(str(f), cap=100, tail=False, stop=stop)
    assert _read(s) == b"a" * 100 and s.truncated
    s = LocalTransport().read_file(str(f), cap=1000, tail=False, stop=stop)
    assert len(_read(s)) == 1000 and not s.truncated


def test_tail_keeps_newest_whole_lines(tmp_path, stop):
    f = tmp_path / "log"
    f.write_text("".join(f"line {i:04d}\n" for i in range(1000)))   # 10 bytes a line
    s = LocalTransport().read_file(str(f), cap=95, tail=True, stop=stop)
    data = _read(s)
    assert s.truncated
    assert data.endswith(b"line 0999\n")
    assert data.startswith(b"line 09")           # the partial first line was dropped
    assert all(len(l) == 9 for l in data.splitlines())


def test_procfs_file_without_size(stop):
    s = LocalTransport().read_file("/proc/self/status", cap=1 << 20, tail=False, stop=stop)
    assert b"Name:" in _read(s) and not s.truncated
    s = LocalTransport().read_file("/proc/self/status", cap=10, tail=False, stop=stop)
    assert len(_read(s)) == 10 and s.truncated


def test_fifo_is_not_read(tmp_path, stop):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    s = LocalTransport().read_file(str(fifo), cap=100, tail=False, stop=stop)
    assert _read(s) == b"" and s.skipped_reason == "not a regular file"


def test_missing_file(tmp_path, stop):
    s = LocalTransport().read_file(str(tmp_path / "nope"), cap=100, tail=False, stop=stop)
    assert _read(s) == b"" and s.not_found


def test_private_key_refused(tmp_path, stop):
    f = tmp_path / "both.pem"
    f.write_bytes(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
                  + b"x" * 300_000 + b"\n-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n")
    s = LocalTransport().read_file(str(f), cap=1 << 20, tail=False, stop=stop,
                                   refuse_private_keys=True)
    with pytest.raises(PrivateKeyFound):
        _read(s)


def test_file_growing_while_read_stops_at_size_seen_at_open(tmp_path, stop):
    f = tmp_path / "growing.log"
    f.write_bytes(b"x" * (4 << 20))
    writer = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        f"f = open({str(f)!r}, 'ab', buffering=0)\n"
        "while True:\n    f.write(b'y' * 65536); time.sleep(0.001)\n")])
    try:
        deadline = time.monotonic() + 30
        while f.stat().st_size == 4 << 20 and time.monotonic() < deadline:
            time.sleep(0.01)                 # wait until the writer really appends
        size_before = f.stat().st_size
        s = LocalTransport().read_file(str(f), cap=1 << 30, tail=False, stop=stop)
        data = _read(s)
        while f.stat().st_size <= len(data) and time.monotonic() < deadline:
            time.sleep(0.01)
        size_after = f.stat().st_size
    finally:
        writer.kill()
        writer.wait()
    assert size_before > 4 << 20
    assert size_before <= len(data) < size_after   # read what was there, did not follow it
    assert data == f.read_bytes()[: len(data)]


def test_resolve_in_root_never_leaves_root(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "run").mkdir()
    (root / "run/real.conf").write_text("inside")
    os.symlink("/run/real.conf", root / "etc/abs.conf")
    os.symlink("../../../../../../etc/passwd", root / "etc/escape")
    os.symlink("/etc/loop", root / "etc/loop")
    assert resolve_in_root(str(root), "/etc/abs.conf") == f"{root}/run/real.conf"
    assert resolve_in_root(str(root), "/etc/escape") == f"{root}/etc/passwd"   # clamped at root
    assert resolve_in_root(str(root), "/etc/loop") is None
    t = LocalTransport(str(root), live=False)
    assert _read(t.read_file("/etc/abs.conf", cap=100, tail=False, stop=threading.Event())) == b"inside"
    s = t.read_file("/etc/escape", cap=100, tail=False, stop=threading.Event())
    assert _read(s) == b"" and s.not_found


def test_command_timeout_kills_the_whole_group(stop):
    t = LocalTransport()
    s = t.run(["sh", "-c", "echo started; sleep 60 & echo $! ; sleep 60"], timeout=0.5, cap=1000,
              stop=stop)
    t0 = time.monotonic()
    out = _read(s)
    assert time.monotonic() - t0 < 5
    assert s.timed_out and s.exit_code is None and out.startswith(b"started\n")
    grandchild = int(out.split()[1])
    time.sleep(0.1)
    assert not Path(f"/proc/{grandchild}").exists() or \
        Path(f"/proc/{grandchild}/stat").read_text().split()[2] == "Z"


def test_command_head_cap_and_exit_code(stop):
    t = LocalTransport()
    s = t.run(["yes"], timeout=10, cap=1000, stop=stop)     # endless: only the cap stops it
    assert len(_read(s)) == 1000 and s.truncated and s.exit_code is None   # we stopped it
    s = t.run(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=10, cap=1000, stop=stop)
    assert _read(s) == b"out\n" and s.exit_code == 3 and s.stderr == b"err\n"


def test_command_tail_keeps_newest(stop):
    t = LocalTransport()
    s = t.run(["seq", "1", "100000"], timeout=10, cap=100, tail=True, stop=stop)
    data = _read(s)
    assert s.truncated and data.endswith(b"99999\n100000\n") and len(data) <= 100
    assert data.split(b"\n")[0].isdigit()


def test_missing_binary(stop):
    s = LocalTransport().run(["no-such-tool-k8s-bundle"], timeout=1, cap=10, stop=stop)
    assert _read(s) == b"" and s.not_found


def test_dead_root_refuses_commands(tmp_path, stop):
    t = LocalTransport(str(tmp_path), live=False)
    with pytest.raises(NotSupported):
        t.run(["true"], timeout=1, cap=10, stop=stop)
    with pytest.raises(NotSupported):
        LocalTransport().run_powershell("Get-Date", timeout=1, cap=10, stop=stop)


def test_stop_event_interrupts_a_running_command():
    stop = threading.Event()
    s = LocalTransport().run(["sleep", "30"], timeout=60, cap=10, stop=stop)
    threading.Timer(0.3, stop.set).start()
    t0 = time.monotonic()
    with pytest.raises(Interrupted):
        _read(s)
    assert time.monotonic() - t0 < 5
