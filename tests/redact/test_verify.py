"""`k8s-bundle verify` as an independent second opinion (redact/verify.py, redact/secretscan.py).

- every canary of the corpus (tests/redact/canaries.py, whatever it holds) is flagged on the
  unredacted input, at the line that holds it (plainly, or inside a base64 blob);
- the redacted corpus, the redacted samples and the false-positive corpus verify clean;
- a member the hardened reader refuses is a finding, and a secret in one is still named;
- names never reach the terminal raw; a 10 GiB member of zeros is read in bounded memory.
"""
from __future__ import annotations

import base64
import gzip
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

import canaries
import fp_corpus
from redact_helpers import run_cli

from k8s_bundle.redact.secretscan import SecretScanner, secret_value
from k8s_bundle.errors import shown
from k8s_bundle.redact.verify import verify_path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "hostile"))
from tarstream import TarStream, manifest  # noqa: E402  (the hostile suite's stream writer)

PASSWORD = "Hq7vR2pZ9wK4mDx8"
AWS_ID = "AKIAQ4LDZ7XW2P6RT5NB"


# -- the canary corpus --------------------------------------------------------------------------
def _text(data: bytes) -> bytes:
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        data = data.decode("utf-16").encode("utf-8")
    return data


def _decoded_runs(line: bytes) -> list[bytes]:
    out = []
    for m in re.finditer(rb"[A-Za-z0-9+/]{16,}|[A-Za-z0-9_-]{16,}", line):
        run = m.group(0)
        run = run[: len(run) - (len(run) % 4 == 1)]
        try:
            out.append(base64.urlsafe_b64decode(run.replace(b"+", b"-").replace(b"/", b"_") + b"=" * (-len(run) % 4)))
        except ValueError:
            pass
    return out


def _lines_holding(text: bytes, core: str) -> set[int]:
    """Lines holding an 8-character window of `core` (what canaries.leaks calls a leak), as
    written or inside base64 (two levels: a kubeconfig in base64 in JSON in base64)."""
    windows = {core[i:i + canaries.WINDOW].encode() for i in range(len(core) - canaries.WINDOW + 1)}
    found = set()
    for no, line in enumerate(text.split(b"\n"), 1):
        layers = [line]
        for _ in range(2):
            layers += [d for layer in layers[-8:] for d in _decoded_runs(layer)]
        if any(w in layer for layer in layers for w in windows):
            found.add(no)
    return found


def test_every_canary_is_flagged_on_unredacted_input(corpus: canaries.Corpus, corpus_dir: Path) -> None:
    report = verify_path(corpus_dir)
    assert report.problems == []
    by_file: dict[str, list] = {}
    for f in report.findings:
        by_file.setdefault(f.path, []).append(f)
    missed = []
    for label, core in corpus.canaries.items():
        places = {path: _lines_holding(_text(data), core) for path, data in corpus.files.items()}
        places = {p: lines for p, lines in places.items() if lines}
        assert places, f"{label}: the test cannot find this canary in the corpus"
        hit = any(f.line <= line <= f.end_line for path, lines in places.items()
                  for f in by_file.get(path.lstrip("/"), []) for line in lines)
        if not hit:
            missed.append(f"{label} ({', '.join(places)})")
    assert missed == [], f"{len(missed)} of {len(corpus.canaries)} canaries not flagged"
    assert len(corpus.canaries) >= 100


def test_redacted_corpus_verifies_clean(tmp_path: Path, corpus_dir: Path) -> None:
    out = tmp_path / "clean.tgz"
    assert run_cli("redact", str(corpus_dir), "-o", str(out)).returncode == 0
    clean = run_cli("verify", str(out))
    assert (clean.returncode, clean.stdout) == (0, ""), clean.stdout
    assert "clean" in clean.stderr


@pytest.mark.parametrize("sample", sorted(p.name for p in (REPO / "samples").glob("*.tgz")))
def test_redacted_samples_verify_clean(tmp_path: Path, sample: str) -> None:
    out = tmp_path / "redacted.tgz"
    proc = run_cli("redact", str(REPO / "samples" / sample), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    got = run_cli("verify", str(out))
    assert got.returncode == 0, got.stdout


def test_false_positive_corpus_is_clean() -> None:
    scanner = SecretScanner()
    found = [f"{f.path}:{f.line} {f.rule}" for path, data in fp_corpus.build().items()
             for f in scanner.scan_bytes(path, data)]
    assert found == []


# -- detection in shapes the redactor had missed -------------------------------------------------
def _rules(path: str, text: str) -> list[str]:
    return [f"{f.line}:{f.rule}" for f in SecretScanner().scan_bytes(path, text.encode())]


def test_cri_partial_lines_are_joined_before_checking() -> None:
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDp3ZWIifQ.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWc"
    head, tail = jwt[:40], jwt[40:]
    log = (f"2026-11-22T11:30:00.1Z stdout P calling api with {head}\n"
           f"2026-11-22T11:30:00.2Z stdout F {tail} done\n")
    assert "1:jwt(cri-joined)" in _rules("var/log/pods/a/b/0.log", log)


def test_base64_kubeconfig_in_an_env_var_is_decoded() -> None:
    kubeconfig = "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: Zx8kQ2vN7pR4tY1wB6mH3jL9\n"
    env = f"KUBECONFIG_DATA={base64.b64encode(kubeconfig.encode()).decode()}\nLOG_LEVEL=info\n"
    assert _rules("commands/env.txt", env) == ["1:base64(secret-value)"]
    redacted = kubeconfig.replace("Zx8kQ2vN7pR4tY1wB6mH3jL9", "<redacted:token:0a1b2c>")
    assert _rules("commands/env.txt", f"K={base64.b64encode(redacted.encode()).decode()}\n") == []


def test_lookalikes_are_not_secrets() -> None:
    text = ("event node01.17a8f3c2b1d4e5f6 seen\n"                  # event name, not a bootstrap token
            '{"auth-token":"simple","name":"etcd"}\n'               # etcd's setting
            "--initial-cluster-token=etcd-cluster-1\n"
            "key=k8s.io/47313/extract-47313-ctssv\n"
            f"image: registry.example/web@sha256:{'ab' * 32}\n"
            "uid: 0b7f0c7e-1111-2222-3333-444455556666\n"
            "password: <redacted:password:0a1b2c>\n"
            "tls-private-key-file: /etc/kubernetes/pki/apiserver.key\n")
    assert _rules("x.log", text) == []
    assert secret_value(b"password", b"Tr0ub4dor&3")
    assert not secret_value(b"password", b"required")


# -- what the reader refuses -------------------------------------------------------------------
def _tgz(path: Path, build) -> Path:  # noqa: ANN001
    with TarStream(path) as t:
        build(t)
        t.json("manifest.json", manifest())
    return path


def test_a_refused_member_is_a_finding_and_its_secret_is_named(tmp_path: Path) -> None:
    secret = f"DB_PASSWORD={PASSWORD}\naws_access_key_id = {AWS_ID}\n".encode()

    def build(t: TarStream) -> None:
        t.file("x/../nodes/n1/files/etc/app/app.env", secret)
        t.file("nodes/n1/files/etc/app/dup.env", b"ok\n")
        t.file("nodes/n1/files/etc/app/dup.env", secret)               # a second copy: refused
        t.header("nodes/n1/files/etc/link", 0, typ=tarfile.SYMTYPE)    # a link: refused, no bytes

    proc = run_cli("verify", str(_tgz(tmp_path / "b.tgz", build)))
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout
    assert PASSWORD not in out + proc.stderr and AWS_ID not in out + proc.stderr
    assert re.search(r"x/\.\./nodes/n1/files/etc/app/app\.env:0:rejected-member \(reader\)", out), out
    assert re.search(r"app\.env:2:aws-key \(aws-access-key-id\)", out), out
    assert re.search(r"app\.env:1:password \(secret-value\)", out), out
    assert re.search(r"dup\.env:1:password", out) and "duplicate" in out
    assert "symlink" in out
    assert "refused or not fully scanned" in proc.stderr


def test_names_and_messages_are_escaped(tmp_path: Path) -> None:
    name = "nodes/n1/files/etc/\x1b]0;pwned\x07\x1b[2J\u202egnp.conf"

    def build(t: TarStream) -> None:
        t.file(name, f"password: {PASSWORD}\n".encode())
        t.file("nodes/n1/files/etc/bad-\udcff\udcfe.conf", f"password: {PASSWORD}\n".encode(), fmt=tarfile.GNU_FORMAT)

    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "verify", str(_tgz(tmp_path / "b.tgz", build))],
                          capture_output=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1
    for raw in (b"\x1b", b"\x07", "\u202e".encode()):
        assert raw not in out
    assert b"\\x1b]0;pwned\\x07\\x1b[2J\\u202egnp.conf:1:password" in proc.stdout
    assert b"bad-\\xff\\xfe.conf:1:password" in proc.stdout
    assert shown("a\x9b\u2028\udcff") == "a\\x9b\\u2028\\xff"


def test_unusable_input_is_one_line_exit_4(tmp_path: Path) -> None:
    for target in (tmp_path / "missing.tgz", tmp_path / "plain.txt"):
        if target.name == "plain.txt":
            target.write_text("hello\n")
        proc = run_cli("verify", str(target))
        assert proc.returncode == 4 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


# Bounded memory on 3 GiB of zeros: the hostile suite's verify-3gib-zeros (tests/hostile).


def test_verify_stays_out_of_the_analyzer_heavy_dependencies(tmp_path: Path, corpus_dir: Path) -> None:
    code = ("import sys; from k8s_bundle.cli import main; rc = main(['verify', '--quiet', sys.argv[1]]); "
            "heavy = [m for m in ('polars', 'jinja2', 'celpy', 'jsonschema') if m in sys.modules]; "
            "print(heavy); sys.exit(0 if rc == 1 and not heavy else 9)")
    proc = subprocess.run([sys.executable, "-c", code, str(corpus_dir)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_placeholders_are_not_findings() -> None:
    assert SecretScanner().scan_bytes("var/lib/kubelet/token", b"<redacted:secret-file:c18f65>\n") == []
    assert SecretScanner().scan_bytes("a.yaml", b"key: |\n  <redacted:private-key:500e77>\n") == []


def test_custom_rules_are_detected_as_well(tmp_path: Path) -> None:
    rules = tmp_path / "mine.yaml"
    rules.write_text("version: 1\nrules:\n  - id: corp-badge\n    kind: badge\n    regex: 'BADGE-[0-9]{8}'\n")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "app.log").write_text("door opened by BADGE-12345678\n")
    assert run_cli("verify", str(tmp_path / "in")).returncode == 0
    got = run_cli("verify", str(tmp_path / "in"), "--redact-rules", str(rules))
    assert got.returncode == 1 and "app.log:1:badge (corp-badge)" in got.stdout, got.stdout
    rules.write_text("rules: [{id: x}]\n")
    bad = run_cli("verify", str(tmp_path / "in"), "--redact-rules", str(rules))
    assert bad.returncode == 4 and bad.stderr.count("\n") == 1


def test_dense_hostile_text_is_capped_and_reported(tmp_path: Path) -> None:
    # 40,000 secret-like names in one block: past MAX_CANDIDATES the rest is not looked at, and
    # verify says so instead of calling the member clean.
    from k8s_bundle.redact import secretscan

    scanner = SecretScanner()
    data = b"".join(b"tokenkey=%d " % i for i in range(40_000)) + b"\n"
    assert len(data) < secretscan.BLOCK
    list(scanner.scan("dense.log", [data]))
    assert any(str(secretscan.MAX_CANDIDATES) in n for n in scanner.notes), scanner.notes
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "dense.log").write_bytes(data)
    got = run_cli("verify", "--quiet", str(tmp_path / "in"))
    assert got.returncode == 1 and "not fully scanned" in got.stderr
