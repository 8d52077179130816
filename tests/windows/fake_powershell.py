#!/usr/bin/env python3
"""A stand-in for powershell.exe on Linux: decodes -EncodedCommand (or reads -File), recognises
which k8s-bundle script it got and its parameters, and prints the recorded output for it from
$FAKE_WINDOWS_DIR (file names: <script>[-<param>...].txt). Modes for transport tests:
FAKE_PS_MODE=echo prints the script back, sleep hangs, big prints $FAKE_PS_MB megabytes."""
import base64
import os
import sys
import time

args = sys.argv[1:]
if "-EncodedCommand" in args:
    script = base64.b64decode(args[args.index("-EncodedCommand") + 1]).decode("utf-16-le")
elif "-File" in args:
    with open(args[args.index("-File") + 1], encoding="utf-8-sig") as f:
        script = f.read()
else:
    sys.exit("fake powershell: no script")

mode = os.environ.get("FAKE_PS_MODE", "")
out = sys.stdout.buffer
if mode == "echo":
    out.write(script.encode("utf-8"))
    sys.exit(0)
if mode == "sleep":
    out.write(b"started\n")
    out.flush()
    time.sleep(60)
if mode == "big":
    line = b"x" * 1023 + b"\n"
    for _ in range(int(os.environ.get("FAKE_PS_MB", "5")) * 1024):
        out.write(line)
    sys.exit(0)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from win_fake import recorded_name, recorded_output  # noqa: E402

name = recorded_name(script)
if name is None:
    sys.stderr.write("fake powershell: unknown script\n")
    sys.exit(1)
data = recorded_output(script, os.environ.get("FAKE_WINDOWS_DIR", "."))
if data is None:
    sys.stderr.write(f"fake powershell: no recorded output {name}\n")
    sys.exit(1)
out.write(data)
