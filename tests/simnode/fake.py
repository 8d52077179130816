"""One fake for every node tool of the simulated node: prints recorded outputs (outputs/).

simnode.py writes a tiny wrapper per tool name into the simulated node's bin/ directory; the
wrapper runs `python3 -S fake.py TOOL ARGS...`. Unknown invocations exit 64 with a message so
a collector command the simulation does not know shows up as `failed` in the manifest.

Behaviour switches (environment):
  SIMNODE_HANG=docker-info,crictl-ps   these invocations sleep for an hour (a hung daemon)
  SIMNODE_JOURNAL_BYTES=N              journalctl simulates N bytes of journal per unit
                                       (a busy node); with -n it prints only the newest lines,
                                       as the real journalctl does
  SIMNODE_HOSTNAME                     the node's hostname (default cp1)
  SIMNODE_API_UP=1                     kubectl reaches the API (recorded Lists in outputs/cluster)
  SIMNODE_KUBECTL_LOG=FILE             every kubectl argv is appended to FILE
  SIMNODE_JOURNAL_EMPTY=1              journalctl finds no entries (journald not running, a
                                       volatile journal lost, the collector's own container
                                       journal) unless `-D DIR` names a directory holding
                                       journal files: then it prints the recorded journal
"""
from __future__ import annotations

import os
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

OUT = Path(__file__).resolve().parent / "outputs"
HOST = os.environ.get("SIMNODE_HOSTNAME", "cp1")


def emit(name: str) -> int:
    sys.stdout.buffer.write((OUT / name).read_bytes())
    return 0


def fail(msg: str, code: int = 64) -> int:
    sys.stderr.write(msg + "\n")
    return code


def hang(key: str) -> None:
    if key in os.environ.get("SIMNODE_HANG", "").split(","):
        time.sleep(3600)


def journalctl(args: list[str]) -> int:
    unit = None
    directory = None
    kernel = False
    lines_wanted = None
    since = None
    i = 0
    while i < len(args):
        a = args[i]
        if a == "-u":
            unit = args[i + 1].removesuffix(".service")
            i += 1
        elif a in ("-k", "_TRANSPORT=kernel"):
            kernel = True
        elif a == "-n":
            lines_wanted = int(args[i + 1])
            i += 1
        elif a == "--since":
            value = args[i + 1]
            if not value.startswith("@"):
                return fail(f"fake journalctl: --since {value!r}: expected @EPOCH")
            since = int(value[1:])
            i += 1
        elif a == "-D":
            directory = args[i + 1]
            i += 1
        elif a == "-o":
            i += 1
        elif a == "--version":
            print("systemd 252 (252.22-1~deb12u1)")
            return 0
        i += 1
    name = "kernel" if kernel else unit
    if os.environ.get("SIMNODE_JOURNAL_EMPTY") and not _holds_journal_files(directory):
        return 0  # -q: nothing at all, as journalctl prints for a journal without entries
    now = time.time()
    busy = int(os.environ.get("SIMNODE_JOURNAL_BYTES", "0"))
    if busy:
        return busy_journal(name or "unit", busy, lines_wanted, now)
    path = OUT / "journal" / f"{name}.log"
    if not path.exists():
        return 0  # journalctl -q prints nothing for a unit without entries
    rendered = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        ago, msg = line.split("\t", 1)
        ts = now - float(ago)
        if since is not None and ts < since:
            continue
        stamp = datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
        rendered.append(f"{stamp} {HOST} {msg}\n")
    if lines_wanted is not None:
        rendered = rendered[-lines_wanted:]
    sys.stdout.write("".join(rendered))
    return 0


def _holds_journal_files(directory: str | None) -> bool:
    if not directory:
        return False
    d = Path(directory)
    return d.is_dir() and any(f.suffix in (".journal", ".journal~") for f in d.glob("*/*"))


def busy_journal(name: str, total_bytes: int, lines_wanted: int | None, now: float) -> int:
    """A journal of `total_bytes` per unit, printed fast: blocks of identical-length lines."""
    base = datetime.fromtimestamp(now, timezone.utc) - timedelta(hours=1)
    line = (f"{base.strftime('%Y-%m-%dT%H:%M:%S.%f+00:00')} {HOST} {name}[4242]: "
            f"I1122 10:00:00.000000    4242 busy.go:1] \"routine sync\" unit={name} "
            f"padding={'x' * 40}\n").encode()
    total_lines = total_bytes // len(line)
    count = total_lines if lines_wanted is None else min(lines_wanted, total_lines)
    block = line * 4096
    out = sys.stdout.buffer
    try:
        full, rest = divmod(count, 4096)
        for _ in range(full):
            out.write(block)
        out.write(line * rest)
        out.flush()
    except BrokenPipeError:
        pass
    return 0


def docker(args: list[str]) -> int:
    sub = args[0] if args else ""
    if sub == "--version":
        print("Docker version 24.0.7, build afdd53b")
        return 0
    hang(f"docker-{sub}")
    if sub == "info":
        if "--format" in args:
            return emit("docker/info.json")
        return fail("fake docker: text info not recorded", 1)
    if sub == "version":
        return emit("docker/version.txt")
    if sub == "ps":
        return emit("docker/ps.txt")
    return fail(f"fake docker: {' '.join(args)} not recorded", 1)


def crictl(args: list[str]) -> int:
    sub = args[0] if args else ""
    if sub == "--version":
        print("crictl version v1.29.0")
        return 0
    hang(f"crictl-{sub}")
    if sub in ("info", "version", "ps", "pods", "images"):
        return emit(f"crictl/{sub}.json")
    return fail(f"fake crictl: {' '.join(args)} not recorded", 1)


def systemctl(args: list[str]) -> int:
    if args[:1] == ["list-units"]:
        return emit("systemctl/failed.txt" if "--failed" in args else "systemctl/units.txt")
    if args[:1] in (["status"], ["show"]) and len(args) > 1:
        unit = args[1]
        path = OUT / "systemctl" / f"{args[0]}-{unit}.txt"
        if path.exists():
            emit(f"systemctl/{args[0]}-{unit}.txt")
            return 3 if args[0] == "status" and "failed" in path.read_text() else 0
        if args[0] == "show":
            print(f"Id={unit}.service\nLoadState=not-found\nActiveState=inactive")
            return 0
        return fail(f"Unit {unit}.service could not be found.", 4)
    if args[:1] == ["--version"]:
        print("systemd 252 (252.22-1~deb12u1)")
        return 0
    return fail(f"fake systemctl: {' '.join(args)} not recorded")


IP = {"-d addr": "ip/addr.txt", "route show table all": "ip/route.txt",
      "-6 route show table all": "ip/route6.txt", "rule": "ip/rule.txt",
      "-d -s link": "ip/link.txt", "neigh": "ip/neigh.txt"}


def ip(args: list[str]) -> int:
    key = " ".join(args)
    if key == "-V":
        print("ip utility, iproute2-5.15.0, libbpf 0.5.0")
        return 0
    return emit(IP[key]) if key in IP else fail(f"fake ip: {key} not recorded")


def sysctl(args: list[str]) -> int:
    lines = (OUT / "sysctl.txt").read_text().splitlines()
    if args == ["-a"]:
        return emit("sysctl.txt")
    code = 0
    for name in args:
        hit = [l for l in lines if l.split(" = ")[0] == name]
        if hit:
            print(hit[0])
        else:
            sys.stderr.write(f"sysctl: cannot stat /proc/sys/{name.replace('.', '/')}: No such file or directory\n")
            code = 255
    return code


SIMPLE = {
    ("iptables-save", ""): "iptables-save.txt",
    ("ss", "-tlnpH"): "ss-listen.txt",
    ("lsmod", ""): "lsmod.txt",
    ("swapon", "--show --bytes"): "swapon.txt",
    ("df", "-PT -B1"): "df.txt",
    ("df", "-PTi"): "df-inodes.txt",
    ("containerd", "config dump"): "containerd-config-dump.toml",
    ("timedatectl", "show"): "timedatectl-show.txt",
}

VERSIONS = {
    "kubelet": "Kubernetes v1.29.3", "kubeadm": "v1.29.3", "containerd":
    "containerd containerd.io 1.7.13 7c3aca7a610df76212171d200ca3811ff6096eb8",
    "runc": "runc version 1.1.12\ncommit: v1.1.12-0-g51d5e94\nspec: 1.0.2-dev",
    "iptables": "iptables v1.8.7 (legacy)", "ip6tables": "ip6tables v1.8.7 (legacy)",
    "ctr": "ctr containerd.io 1.7.13", "socat": "socat by Gerhard Rieger and contributors - see www.dest-unreach.org\nsocat version 1.7.4.1 on Jan 27 2022 13:36:44",
}


def kubectl(args: list[str]) -> int:
    """The API server is down unless SIMNODE_API_UP=1; every call is logged to
    SIMNODE_KUBECTL_LOG (one argv a line) so tests can check what was asked."""
    log = os.environ.get("SIMNODE_KUBECTL_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(" ".join(args) + "\n")
    if "--raw" not in args and "get" not in args:
        print("clientVersion:\n  gitVersion: v1.29.3")
        return 0
    if os.environ.get("SIMNODE_API_UP") != "1":
        return fail("The connection to the server 192.168.1.10:6443 was refused - did you "
                    "specify the right host or port?", 1)
    if "--raw" in args:
        print('{"major": "1", "minor": "29", "gitVersion": "v1.29.3"}')
        return 0
    rest = args[args.index("get") + 1:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 and not rest[1].startswith("-") else None
    recorded = OUT / "cluster" / (f"configmap-{name}.json" if name else f"{resource}.json")
    if recorded.exists():
        return emit(f"cluster/{recorded.name}")
    if name:
        return fail(f'Error from server (NotFound): {resource} "{name}" not found', 1)
    print('{"apiVersion": "v1", "kind": "List", "items": []}')
    return 0


def main(argv: list[str]) -> int:
    tool, args = argv[0], argv[1:]
    key = " ".join(args)
    if (tool, key) in SIMPLE:
        return emit(SIMPLE[(tool, key)])
    if tool in VERSIONS and key in ("--version", "version -o short", "-V"):
        print(VERSIONS[tool])
        return 0
    if tool == "journalctl":
        return journalctl(args)
    if tool == "docker":
        return docker(args)
    if tool == "crictl":
        return crictl(args)
    if tool == "systemctl":
        return systemctl(args)
    if tool == "ip":
        return ip(args)
    if tool == "sysctl":
        return sysctl(args)
    if tool == "uname":
        flags = {"-a": "Linux cp1 5.15.0-105-generic #115-Ubuntu SMP Mon Apr 15 09:52:04 UTC 2024 x86_64 x86_64 x86_64 GNU/Linux",
                 "-r": "5.15.0-105-generic", "-m": "x86_64"}
        return print(flags[key]) or 0 if key in flags else fail(f"fake uname: {key}")
    if tool == "hostname":
        answers = {"": HOST, "-i": "192.168.1.10", "-f": f"{HOST}.example.internal"}
        return print(answers[key]) or 0 if key in answers else fail(f"fake hostname: {key}")
    if tool == "kubectl":
        return kubectl(args)
    if tool == "dmesg":
        return emit("dmesg.txt")
    if tool == "timedatectl" and "Timezone" in args:
        print("Asia/Shanghai")
        return 0
    if tool == "sleeper":
        time.sleep(3600)
        return 0
    return fail(f"fake {tool}: {key} not recorded")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
