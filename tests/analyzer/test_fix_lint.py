"""`k8s-bundle rules lint` rejects fix text that is not safe to paste whole (analyzer/fix_lint.py).

Every check is run the way a rule author meets it: real rule files written to a folder, the
real CLI in a subprocess, exit 4 and one line per problem naming the file, the language, the
line and the safe alternative. The safe spellings of the same steps pass, and so does the
shipped pack. The unsafe cases share one folder and one CLI run (and the safe ones another),
so each case is still asserted by its own file name without a subprocess per case.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from k8s_bundle.analyzer.fix_lint import PS, SH, check_snippet

FENCE = "```"


def rule_doc(rule_id: str, en: str, zh: str | None = None, platforms: tuple[str, ...] = ("linux",)) -> dict:
    """A minimal valid rule whose only interesting part is its fix text."""
    log = "nodes/node1/logs/journal/kubelet.log"
    return {
        "id": rule_id,
        "severity": "warning",
        "platforms": list(platforms),
        "title": {"en": "Demo", "zh": "演示"},
        "cause": {"en": "c", "zh": "原因"},
        "fix": {"en": en, "zh": en if zh is None else zh},
        "match": {"log": {"sources": ["journal/kubelet.log"], "regex": "demo line"}},
        "tests": [
            {"name": "fires", "expect": "fire", "files": {log: "2026-11-22T09:00:00.000001+00:00 node1 kubelet[1]: demo line\n"}},
            {"name": "quiet", "expect": "quiet", "files": {log: "2026-11-22T09:00:00.000001+00:00 node1 kubelet[1]: other\n"}},
        ],
    }


def sh(*lines: str) -> str:
    return "Run:\n" + FENCE + "sh\n" + "\n".join(lines) + "\n" + FENCE + "\n"


def ps(*lines: str) -> str:
    return "Run:\n" + FENCE + "powershell\n" + "\n".join(lines) + "\n" + FENCE + "\n"


def write_rules(folder: Path, docs: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for doc in docs:
        (folder / f"{doc['id']}.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "utf-8")


def lint(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "rules", "lint", str(folder)],
                          capture_output=True, text=True)


# id -> (rule, check expected, fragments the message must hold)
UNSAFE: dict[str, tuple[dict, str, tuple[str, ...]]] = {}


def unsafe(rule_id: str, en: str, check: str, *fragments: str, zh: str | None = None,
           platforms: tuple[str, ...] = ("linux",)) -> None:
    UNSAFE[rule_id] = (rule_doc(rule_id, en, zh, platforms), check, fragments)


unsafe("redirect-containerd-default", sh("containerd config default > /etc/containerd/config.toml"),
       "truncating-redirect", "fix.en", "`containerd config default > /etc/containerd/config.toml`",
       "`> /etc/containerd/config.toml` overwrites", "[ -e F ] ||", "cp -a F F.bak")
unsafe("redirect-sysctl-echo", sh("echo 'net.ipv4.ip_forward = 1' > /etc/sysctl.d/k8s.conf"),
       "truncating-redirect", "`> /etc/sysctl.d/k8s.conf`", ">> F")
unsafe("redirect-heredoc", sh("cat <<EOF > /etc/sysctl.d/k8s.conf", "net.ipv4.ip_forward = 1", "EOF", "sysctl --system"),
       "truncating-redirect", "`cat <<EOF > /etc/sysctl.d/k8s.conf`")
unsafe("redirect-working-dir", sh("journalctl -u kubelet --no-pager > kubelet.log"),
       "truncating-redirect", "`> kubelet.log`")
unsafe("redirect-guard-names-another-file", sh("[ -e /etc/sysctl.d/a.conf ] || echo x=1 > /etc/sysctl.d/b.conf"),
       "truncating-redirect", "`> /etc/sysctl.d/b.conf`")
unsafe("tee-without-append", sh("echo br_netfilter | tee /etc/modules-load.d/k8s.conf"),
       "tee-overwrite", "`tee /etc/modules-load.d/k8s.conf`", "tee -a")
unsafe("ps-set-content", ps("Set-Content -Path 'C:\\Program Files\\containerd\\config.toml' -Value $cfg"),
       "powershell-overwrite", "fix.en (```powershell block)", "Set-Content C:\\Program Files\\containerd\\config.toml",
       "Test-Path", platforms=("windows",))
unsafe("ps-out-file", ps("& containerd.exe config default | Out-File C:\\k\\config.toml -Encoding ascii"),
       "powershell-overwrite", "`Out-File C:\\k\\config.toml`", "Add-Content", platforms=("windows",))
unsafe("ps-redirect", ps("& containerd.exe config default > 'C:\\Program Files\\containerd\\config.toml'"),
       "truncating-redirect", "C:\\Program Files\\containerd\\config.toml", platforms=("windows",))
unsafe("sed-no-backup", sh("swapoff -a", "sed -i '/ swap / s/^/#/' /etc/fstab"),
       "sed-in-place-no-backup", "`sed -i '/ swap / s/^/#/' /etc/fstab`", "`sed -i.bak`")
unsafe("sed-no-backup-zh-only", sh("sed -i.bak 's/a/b/' /etc/fstab"), "sed-in-place-no-backup", "fix.zh",
       "`sed -ri`", zh="改：\n" + FENCE + "sh\nsed -ri 's/a/b/' /etc/fstab\n" + FENCE + "\n")
unsafe("reset-forced", sh("kubeadm reset -f", "kubeadm join 10.0.0.1:6443"), "destructive-unguarded",
       "`kubeadm reset` is destructive and unguarded", "# destructive:")
unsafe("iptables-flush", sh("iptables -t nat -F"), "destructive-unguarded", "`iptables -F/-X`")
unsafe("link-delete", sh("ip link delete cni0"), "destructive-unguarded", "`ip link delete`")
unsafe("rm-recursive", sh("rm -rf /var/lib/cni/networks/cbr0"), "destructive-unguarded", "`rm -r`")
unsafe("ps-remove-recurse", ps("Remove-Item -Recurse -Force C:\\var\\lib\\cni"), "destructive-unguarded",
       "`Remove-Item -Recurse`", platforms=("windows",))
unsafe("inline-reset", "Fix the cause, then `kubeadm reset -f` and init again.\n" + sh("kubeadm init"),
       "destructive-unguarded", "fix.en (inline code)", "`kubeadm reset -f`")
unsafe("note-without-confirmation", sh("# destructive: clears every rule", "iptables -F"),
       "destructive-unguarded", "`iptables -F/-X` is destructive and unguarded")
unsafe("confirmation-without-note", sh("kubeadm reset"), "destructive-unguarded",
       "it asks first, so put a `# destructive: <why>` line")
unsafe("confirmation-not-last", sh("# destructive: wipes the node", "kubeadm reset", "kubeadm init"),
       "destructive-unguarded", "must be the last command of its block")

unsafe("copy-over-kubeconfig", sh("kubeadm certs renew all", "cp /etc/kubernetes/admin.conf $HOME/.kube/config"),
       "copy-overwrite", "`cp ... $HOME/.kube/config` replaces it", "cp -b")
unsafe("rm-state-db", sh("rm /var/lib/weave/weave-netdata.db && reboot"), "destructive-unguarded",
       "`rm of a state database`", "mv F F.bak.$(date +%s)")
unsafe("ps-remove-hns-data", ps("Stop-Service hns; Remove-Item C:\\ProgramData\\Microsoft\\Windows\\HNS\\HNS.data"),
       "destructive-unguarded", "`Remove-Item of a state database`", "Move-Item F", platforms=("windows",))

unsafe("append-yaml-key", sh("echo 'serverTLSBootstrap: true' >> /var/lib/kubelet/config.yaml"), "append-not-idempotent",
       "appending to /var/lib/kubelet/config.yaml again on a second paste", "grep -q '^KEY' F ||")
unsafe("append-tee", sh("echo '10.0.0.5 node1' | tee -a /etc/hosts"), "append-not-idempotent", "/etc/hosts")
unsafe("ps-add-content", ps("Add-Content C:\\k\\config.toml 'x = 1'"), "append-not-idempotent",
       "Select-String -Quiet", platforms=("windows",))


SAFE = [
    rule_doc("safe-scratch", sh("echo 1 > /proc/sys/net/ipv4/ip_forward", "crictl info > /dev/null 2>&1",
                                "journalctl -u kubelet > /tmp/kubelet.log", "crictl ps -a 2>&1 | tail",
                                "kubectl -n <ns> describe pod <pod> | grep -A5 Events",
                                "openssl s_client -connect <host>:443 </dev/null | openssl x509 -noout -enddate")),
    rule_doc("safe-guarded-drop-in", sh("[ -e /etc/sysctl.d/99-kubernetes-x.conf ] || echo 'a = 1' > /etc/sysctl.d/99-kubernetes-x.conf",
                                        "[ -f /etc/containerd/config.toml ] || containerd config default > /etc/containerd/config.toml",
                                        "[ -e /etc/sysctl.d/99-kubernetes-y.conf ] || cat > /etc/sysctl.d/99-kubernetes-y.conf <<'EOT'",
                                        "net.core.somaxconn > 1024 is fine in a heredoc body",
                                        "EOT",
                                        "sysctl --system")),
    rule_doc("safe-append-and-backup", sh("grep -q '^br_netfilter$' /etc/modules-load.d/k8s.conf || echo br_netfilter >> /etc/modules-load.d/k8s.conf",
                                          "grep -qx overlay /etc/modules-load.d/k8s.conf || echo overlay | tee -a /etc/modules-load.d/k8s.conf",
                                          "journalctl -u kubelet >> /tmp/kubelet.log",
                                          "cp -a /etc/nftables.conf /etc/nftables.conf.bak.$(date +%s)",
                                          "nft list ruleset > /etc/nftables.conf",
                                          "swapoff -a", "sed -ri.bak '/\\sswap\\s/ s/^#?/#/' /etc/fstab",
                                          "sed -i.bak 's/a/b/' /var/lib/kubelet/config.yaml",
                                          "cp -b /etc/kubernetes/admin.conf $HOME/.kube/config",
                                          "mkdir -p $HOME/.kube && cp -i /etc/kubernetes/admin.conf $HOME/.kube/config",
                                          "cp ca.crt /tmp/ca.crt; cp /etc/kubernetes/pki/ca.crt /root/pki-backup/",
                                          "mv /var/lib/weave/weave-netdata.db /var/lib/weave/weave-netdata.db.bak.$(date +%s)")),
    rule_doc("safe-guarded-destructive", sh("if [ -d /var/lib/cni/networks/cbr0 ]; then",
                                            "  rm -rf /var/lib/cni/networks/cbr0",
                                            "fi",
                                            "ip link show cni0 >/dev/null 2>&1 && ip link delete cni0",
                                            "iptables -V | grep -q nf_tables && iptables-legacy -F",
                                            "rm -rf /tmp/k8s-bundle-extract",
                                            "# destructive: wipes this node's Kubernetes state; kubeadm asks first",
                                            "kubeadm reset")),
    rule_doc("safe-powershell", ps("if (-not (Test-Path C:\\k\\x.conf)) { Set-Content C:\\k\\x.conf 'a' }",
                                   "& containerd.exe config default | Out-File \"$env:TEMP\\default.toml\"",
                                   "'x' | Out-File $env:TEMP\\notes.txt -Append",
                                   "if (-not (Select-String -Quiet -Path C:\\k\\notes.txt -Pattern '^y$')) { Add-Content C:\\k\\notes.txt 'y' }",
                                   "& crictl.exe info > $null",
                                   "Get-HnsNetwork | Where-Object Name -eq 'cbr0' | Remove-HnsNetwork",
                                   "if (-not (Get-Process kubelet -ErrorAction SilentlyContinue)) {",
                                   "  Remove-Item -Recurse c:\\var",
                                   "}"), platforms=("windows",)),
    rule_doc("safe-data-fences", "Set in config.yaml:\n" + FENCE + "yaml\nnote: >\n  folded text > here\n" + FENCE
             + "\nthen `systemctl restart kubelet`.\n" + sh("systemctl restart kubelet")),
]


@pytest.fixture(scope="module")
def unsafe_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    folder = tmp_path_factory.mktemp("unsafe")
    write_rules(folder, [doc for doc, _, _ in UNSAFE.values()])
    return folder, lint(folder)


def test_unsafe_fixes_exit_4(unsafe_run) -> None:
    _, proc = unsafe_run
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert re.search(r"^\d+ problem\(s\) in \d+ rule file\(s\)$", proc.stderr.strip())


@pytest.mark.parametrize("rule_id", list(UNSAFE))
def test_each_check_fires_with_its_message(unsafe_run, rule_id: str) -> None:
    folder, proc = unsafe_run
    _, check, fragments = UNSAFE[rule_id]
    mine = [line for line in proc.stdout.splitlines() if line.startswith(f"{folder / rule_id}.yaml: ")]
    assert mine, proc.stdout
    assert all(f"[{check}]" in line for line in mine), mine
    for fragment in fragments:
        assert any(fragment in line for line in mine), (fragment, mine)


def test_en_and_zh_are_both_checked(unsafe_run) -> None:
    folder, proc = unsafe_run
    lines = [line for line in proc.stdout.splitlines() if line.startswith(f"{folder / 'reset-forced'}.yaml: ")]
    assert {m.group(1) for line in lines if (m := re.search(r": fix\.(\w+) ", line))} == {"en", "zh"}
    zh_only = [line for line in proc.stdout.splitlines() if line.startswith(f"{folder / 'sed-no-backup-zh-only'}.yaml: ")]
    assert len(zh_only) == 1 and ": fix.zh " in zh_only[0]


def test_safe_spellings_pass(tmp_path: Path) -> None:
    write_rules(tmp_path, SAFE)
    proc = lint(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == f"{len(SAFE)} rules OK"


def test_shipped_pack_passes() -> None:
    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "rules", "lint"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.fullmatch(r"\d+ rules OK", proc.stdout.strip())


# The tokeniser's edges, on the function the CLI calls (no subprocess needed for these).
@pytest.mark.parametrize("text, dialect, checks", [
    ("cmd >| /etc/x", SH, ["truncating-redirect"]),
    ("cmd &> /etc/x", SH, ["truncating-redirect"]),
    ("cmd 2> /var/log/x.err", SH, ["truncating-redirect"]),
    ("cmd >/dev/null 2>&1 && echo ok", SH, []),
    ("cmd > \"$TMPDIR/out\"", SH, []),
    ("echo 'a > b' 'c>d'", SH, []),                       # quoted > is text
    ("echo x > /etc/a # > /etc/b", SH, ["truncating-redirect"]),   # the comment is not checked
    ("sed -e 's/a/b/' -i /etc/x", SH, ["sed-in-place-no-backup"]),
    ("sed --in-place=.bak 's/a/b/' /etc/x", SH, []),
    ("perl -pi -e 's/a/b/' /etc/x", SH, ["sed-in-place-no-backup"]),
    ("sudo tee /etc/x < in", SH, ["tee-overwrite"]),
    ("iptables -P FORWARD ACCEPT", SH, []),
    ("ip link set cni0 down", SH, []),
    ("rm -f /etc/cni/net.d/10-old.conf", SH, []),         # one named file, not a tree
    ("ipvsadm -C", SH, ["destructive-unguarded"]),
    ("nft flush ruleset", SH, ["destructive-unguarded"]),
    ("Get-HNSEndpoint | Remove-HNSEndpoint", PS, ["destructive-unguarded"]),
    ("Stop-Service kubeproxy; if ((Get-Service kubeproxy).Status -eq 'Stopped') { Get-HnsPolicyList | Remove-HnsPolicyList }", PS, []),
    ("Get-Content C:\\k\\a | Set-Content C:\\k\\a", PS, ["powershell-overwrite"]),
    ("install -m 0644 kubelet.service /etc/systemd/system/kubelet.service", SH, ["copy-overwrite"]),
    ("install -D -t /usr/local/bin kubelet", SH, []),
    ("Copy-Item C:\\k\\config C:\\k\\config.new", PS, ["copy-overwrite"]),
    ("Copy-Item C:\\k\\config \"C:\\k\\config.bak.$(Get-Date -Format yyyyMMddHHmmss)\"", PS, []),
    ("rm -i /var/lib/weave/weave-netdata.db", SH, ["destructive-unguarded"]),   # asks, but no note
    ("Copy-Item C:\\k\\a C:\\k\\a.bak.$(Get-Date -Format yyyyMMddHHmmss)\n(Get-Content C:\\k\\a) -replace 'x','y' | Set-Content C:\\k\\a", PS, []),
])
def test_tokeniser_edges(text: str, dialect: str, checks: list[str]) -> None:
    assert [p.check for p in check_snippet(text, dialect)] == checks
