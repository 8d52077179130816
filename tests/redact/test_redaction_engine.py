"""Redactor behaviour: streaming state, placeholders, fail closed, custom rules, obfuscation."""
from __future__ import annotations

import base64
import json
import os
import re
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from redact_helpers import run_cli, tar_members
from k8s_bundle.redact import RedactionError, Redactor
from k8s_bundle.redact.rules import RuleFileError

PLACEHOLDER = re.compile(r"<redacted:([a-z0-9-]+):([0-9a-f]{6})>")


def _pem(kind: str = "rsa") -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024) if kind == "rsa" else ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _stream(redactor: Redactor, path: str, data: bytes, size: int) -> bytes:
    chunks = [data[i:i + size] for i in range(0, len(data), size)]
    return b"".join(redactor.redact_stream(path, chunks))


def test_pem_block_split_across_any_chunk_boundary() -> None:
    pem = _pem()
    body = b"".join(l for l in pem.splitlines() if not l.startswith(b"-----"))
    data = b"line one\n" * 50 + b"dumping: " + pem + b"line after\n" * 3
    redactor = Redactor()
    outputs = {_stream(redactor, "nodes/n/logs/app.log", data, size) for size in (1, 7, 64, 100, 4096, len(data))}
    assert len(outputs) == 1, "output must not depend on chunking"
    out = outputs.pop()
    assert body[40:48] not in out and b"PRIVATE KEY" not in out
    assert out.count(b"<redacted:private-key:") == 1
    assert out.endswith(b"line after\n" * 3) and out.startswith(b"line one\n" * 50 + b"dumping: ")


def test_truncated_pem_block_is_still_removed() -> None:
    pem = _pem("ec")
    cut = pem[: len(pem) // 2]  # no END line: the log was cut mid-key
    out = Redactor().redact_bytes("nodes/n/logs/x.log", b"start\n" + cut)
    assert b"<redacted:private-key:" in out
    assert cut.splitlines()[2][:16] not in out


def test_same_secret_same_placeholder_across_files_and_forms() -> None:
    r = Redactor()
    secret = "Zq8pX1vN4mT7rL2kW9sB"
    a = r.redact_bytes("nodes/n/logs/a.log", f"login password={secret} ok\n".encode()).decode()
    b = r.redact_bytes("nodes/n/files/etc/app.yaml", f"db:\n  password: {secret}\n".encode()).decode()
    c = r.redact_bytes("nodes/n/commands/x.json", json.dumps({"auth": {"token": secret}}).encode()).decode()
    hashes = {m.group(2) for text in (a, b, c) for m in PLACEHOLDER.finditer(text)}
    assert len(hashes) == 1
    other = Redactor().redact_bytes("nodes/n/logs/a.log", f"login password={secret} ok\n".encode()).decode()
    assert PLACEHOLDER.search(other).group(2) not in hashes  # type: ignore[union-attr]  # key differs per Redactor


def test_structured_value_redacted_whatever_it_looks_like_but_prose_is_kept() -> None:
    r = Redactor()
    out = r.redact_bytes("nodes/n/files/etc/app/config.yaml", b"password: a\napi_key: 1\nname: password\n").decode()
    assert re.fullmatch(r"password: '<redacted:secret:[0-9a-f]{6}>'\n"
                        r"api_key: '<redacted:secret:[0-9a-f]{6}>'\nname: password\n", out), out
    log = r.redact_bytes("nodes/n/logs/k.log", b'E1 x.go:1] "failed to get token: unauthorized"\n')
    assert log == b'E1 x.go:1] "failed to get token: unauthorized"\n'


def test_kubeadm_join_keeps_ca_cert_hash() -> None:
    line = ("kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash "
            "sha256:" + "ab" * 32 + " --discovery-token-unsafe-skip-ca-verification --certificate-key " + "cd" * 32 + "\n")
    out = Redactor().redact_bytes("nodes/n/logs/cloud-init.log", line.encode()).decode()
    assert "abcdef.0123456789abcdef" not in out and "cd" * 32 not in out
    assert "--discovery-token-ca-cert-hash sha256:" + "ab" * 32 in out
    assert "--discovery-token-unsafe-skip-ca-verification --certificate-key <redacted:" in out


def test_base64_certificate_is_kept_base64_key_is_not() -> None:
    cert = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2xhc3Np\n-----END CERTIFICATE-----\n")
    key = base64.b64encode(_pem("ec"))
    out = Redactor().redact_bytes("nodes/n/logs/x.log", b"ca " + cert + b"\nkey " + key + b"\n")
    assert cert in out and key[20:40] not in out


def test_utf16_without_bom_is_sniffed() -> None:
    text = "Name : kubelet\r\nArgs : --token=Qm9vdHN0cmFwVG9rZW4x\r\n"
    out = Redactor().redact_bytes("nodes/w/windows/services.txt", text.encode("utf-16-le")).decode("utf-8")
    assert out.startswith("Name : kubelet") and "Qm9vdHN0cmFwVG9rZW4x" not in out


def test_fail_closed_on_internal_error_drops_and_records() -> None:
    r = Redactor()
    deep = b"[" * 300 + b"]" * 300  # parses (orjson allows 1024 levels), deeper than the walker allows
    with pytest.raises(RedactionError):
        b"".join(r.redact_stream("nodes/n/commands/deep.json", [deep]))
    report = r.report()
    assert report["dropped"] == [{"path": "nodes/n/commands/deep.json", "reason": "redaction error: ValueError"}]
    assert r.count_for("nodes/n/commands/deep.json") == 0


def test_unparseable_structured_file_falls_back_to_patterns() -> None:
    bad = b"apiVersion: v1\nkind: Config\nusers: [\n  token: Zk9vYmFyVG9rZW5WYWx1ZTEyMzQ\n  password: hunter2hunter2\n"
    out = Redactor().redact_bytes("nodes/n/files/etc/kubernetes/admin.conf", bad)
    assert b"Zk9vYmFyVG9rZW5WYWx1ZTEyMzQ" not in out and b"hunter2hunter2" not in out
    assert out.startswith(b"apiVersion: v1\nkind: Config\n")


def test_report_counts_per_rule_and_file_never_values() -> None:
    r = Redactor()
    r.redact_bytes("a.log", b"password=s3cretvalue1 Authorization: Bearer abcdefgh12345678\n")
    r.redact_bytes("b.log", b"nothing here\n")
    rep = r.report()
    assert rep["by_file"] == {"a.log": {"bearer-token": 1, "secret-key": 1}}
    assert rep["by_rule"] == {"bearer-token": 1, "secret-key": 1} and rep["total"] == 2
    assert r.count_for("a.log") == 2 and r.count_for("b.log") == 0
    assert "s3cretvalue1" not in json.dumps(rep)


def test_custom_rules_literal_regex_keys_and_paths(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("""version: 1
rules:
  - id: customer-literal
    kind: customer
    literals: ["ACME-internal-7731"]
  - id: ticket-ids
    kind: ticket
    regex: 'TCK-(?P<secret>[0-9]{6})'
    prefilter: ["tck-"]
  - id: license-field
    kind: license
    keys: ["licenseBlob"]
  - id: app-settings
    kind: setting
    paths: ["spec.settings.*"]
""")
    r = Redactor(custom_rules=str(rules))
    log = r.redact_bytes("x.log", b"host ACME-internal-7731 ticket TCK-123456 ok\n").decode()
    assert "ACME-internal-7731" not in log and "123456" not in log and "<redacted:customer:" in log
    assert "TCK-<redacted:ticket:" in log
    doc = r.redact_bytes("x.yaml", b"spec:\n  licenseBlob: abc\n  settings:\n    a: one\n    b: [two, three]\n  other: keep\n").decode()
    assert "abc" not in doc and "one" not in doc and "three" not in doc and "other: keep" in doc


@pytest.mark.parametrize("content, message", [
    ("rules: [{id: x, regex: '('}]", "bad regex"),
    ("rules: [{id: x}]", "exactly one of"),
    ("rules: [{id: x, literals: [a], color: red}]", "unknown field"),
    ("version: 2\nrules: []", "unsupported version"),
    ("rules: [{id: x, detector: pem-block}]", "built-in rules only"),
    (": : :", "not valid YAML"),
])
def test_bad_rule_files_are_one_line_errors(tmp_path: Path, content: str, message: str) -> None:
    rules = tmp_path / "bad.yaml"
    rules.write_text(content)
    with pytest.raises(RuleFileError, match=message):
        Redactor(custom_rules=str(rules))
    (tmp_path / "in.log").write_text("x\n")
    proc = run_cli("redact", str(tmp_path / "in.log"), "-o", str(tmp_path / "out.tgz"), "--redact-rules", str(rules))
    assert proc.returncode == 4
    assert proc.stderr.count("\n") == 1 and message in proc.stderr and "Traceback" not in proc.stderr


def test_redact_cli_bad_input(tmp_path: Path) -> None:
    proc = run_cli("redact", str(tmp_path / "missing"), "-o", str(tmp_path / "o.tgz"))
    assert proc.returncode == 4 and "no such file" in proc.stderr
    (tmp_path / "f.log").write_text("x\n")
    proc = run_cli("redact", str(tmp_path / "f.log"), "-o", str(tmp_path / "o.tgz"), "--obfuscate", "colours")
    assert proc.returncode == 2 and "unknown obfuscation" in proc.stderr
    broken = tmp_path / "broken.tgz"
    broken.write_bytes(b"\x1f\x8b\x08\x00" + os.urandom(200))
    assert run_cli("verify", str(broken)).returncode == 4
    assert run_cli("verify", str(tmp_path / "nope.tgz")).returncode == 4


def test_obfuscation_consistent_structure_preserving_and_map_beside(tmp_path: Path) -> None:
    src = tmp_path / "in"
    (src / "nodes/cp1/logs").mkdir(parents=True)
    (src / "nodes/cp1/logs/a.log").write_text(
        "node cp1 ip 192.168.1.10 pod 10.244.1.5 peer 10.244.1.6 other 10.245.0.1 lo 127.0.0.1 any 0.0.0.0 "
        "mac 52:54:00:12:34:56 etcd-cp1\n")
    (src / "nodes/cp1/logs/b.log").write_text("again 192.168.1.10 and cp1\n")
    out = tmp_path / "out.tgz"
    proc = run_cli("redact", str(src), "-o", str(out), "--obfuscate", "hostnames,ips,macs")
    assert proc.returncode == 0, proc.stderr
    members = tar_members(out)
    blob = b"".join(members.values())
    assert b"cp1" not in blob and b"192.168.1.10" not in blob and b"52:54:00:12:34:56" not in blob
    a = next(v for k, v in members.items() if k.endswith("/a.log")).decode()
    b = next(v for k, v in members.items() if k.endswith("/b.log")).decode()
    ips = re.findall(r"\d+\.\d+\.\d+\.\d+", a)
    assert ips[0].startswith("192.168.") and ips[0] in b             # consistent across files
    assert ips[1].rsplit(".", 1)[0] == ips[2].rsplit(".", 1)[0]        # same /24 stays the same /24
    assert ips[1].split(".")[0] == "10" and ips[1].split(".")[1] != ips[3].split(".")[1]  # /16s stay apart
    assert "127.0.0.1" in a and "0.0.0.0" in a and "52:54:00:" in a     # loopback, any, OUI kept
    assert "etcd-host-" in a
    assert any("/nodes/host-" in k for k in members)           # node directory renamed
    mp = tmp_path / "out.tgz.obfuscation-map.json"
    assert stat.S_IMODE(mp.stat().st_mode) == 0o600
    mapping = json.loads(mp.read_text())
    assert mapping["ips"]["192.168.1.10"] == ips[0] and "cp1" in mapping["hostnames"]
    assert not any("obfuscation-map" in k for k in members)           # never inside the bundle
    # a second node run with the previous map gets the same names
    out2 = tmp_path / "out2.tgz"
    assert run_cli("redact", str(src / "nodes/cp1/logs/b.log"), "-o", str(out2), "--obfuscate", "hostnames,ips",
                   "--obfuscation-map", str(mp)).returncode == 0
    b2 = next(v for k, v in tar_members(out2).items() if k.endswith("b.log")).decode()
    assert b2 == b


def test_text_mode_values_to_end_of_line_and_block_scalars() -> None:
    # not parseable as YAML (tab indentation), so the text rules alone must do it
    text = (b"config:\n\tbroken: [\n  Password    : two secret words\n  token: |\n    Zm9vYmFyCg1\n"
            b"    YmF6cXV4Cg2\n  other: keep\nfailed to get token: unauthorized\n")
    out = Redactor().redact_bytes("nodes/n/commands/app-config.txt", text).decode()
    for secret in ("two secret words", "secret words", "Zm9vYmFyCg1", "YmF6cXV4Cg2"):
        assert secret not in out
    assert "  other: keep\n" in out and "failed to get token: unauthorized" in out
    assert out.count("<redacted:secret:") == 3


def test_ipv6_obfuscation_keeps_prefixes_loopback_and_link_local_network() -> None:
    r = Redactor(obfuscate={"ips"})
    out = r.redact_bytes("nodes/n/logs/x.log", b"a fe80::1c2d:3e4f:5a6b:7c8d%12 b 2001:db8:85a3::8a2e:370:7334/64 "
                                                 b"c 2001:db8:85a3::1 d ::1 e std::string f 11:30:00\n").decode()
    words = out.split()
    assert words[1].startswith("fe80::") and words[1].endswith("%12") and "1c2d:3e4f" not in words[1]
    a, b = words[3].split("/")[0], words[5]
    import ipaddress
    pa, pb = ipaddress.IPv6Address(a).exploded, ipaddress.IPv6Address(b).exploded
    assert pa[:24] == pb[:24] and pa != pb and "85a3" not in a        # shared /80 stays shared
    assert words[3].endswith("/64") and "::1 " in out and "std::string" in out and "11:30:00" in out
    assert r.obfuscation_map()["ips"]["2001:db8:85a3::1"] == b


def test_redact_text_for_manifest_fields() -> None:
    r = Redactor()
    out = r.redact_text("exit 1: curl: (22) https://robot:Pa55w0rdPa55@registry.example/v2/ failed")
    assert "Pa55w0rdPa55" not in out and out.startswith("exit 1: curl: (22) https://robot:<redacted:password:")
    assert r.report()["by_rule"] == {"url-credentials": 1}


def test_json_null_value_ends_at_the_next_quoted_key() -> None:
    """`docker info --format '{{json .}}'` prints `"Authorization":null,"Name":...` on one line:
    the null is no secret and the next key is not part of the value (the document must stay
    JSON, or the analyzer loses every docker fact)."""
    r = Redactor()
    doc = {"ID": "7c1a", "Authorization": None, "Name": "node1", "ServerVersion": "24.0.7",
           "CgroupDriver": "systemd", "RegistryConfig": {"Mirrors": []}}
    line = json.dumps(doc, separators=(",", ":")).encode() + b"\n"
    out = b"".join(r.redact_stream("nodes/n1/commands/docker-info.json", [line]))
    assert json.loads(out) == doc
    secret = b'{"Authorization":"Bearer s3cr3tT0kenValue","Name":"node1"}\n'
    out = b"".join(Redactor().redact_stream("nodes/n1/commands/x.json", [secret]))
    assert b"s3cr3tT0kenValue" not in out and json.loads(out)["Name"] == "node1"


def test_ini_values_that_are_not_utf8_are_redacted_not_dropped() -> None:
    # Found by bench/fuzz.py (redact): an INI value with bytes that are not UTF-8 beside a
    # username raised UnicodeEncodeError, and the whole file was dropped (fail closed).
    out = Redactor().redact_bytes("nodes/n1/files/etc/app/app.ini",
                                  b"[db]\nuser = \xff\xfeadmin\npassword = \xffZq8vN3xLr5Tw1Ky7\n")
    assert b"Zq8vN3x" not in out and b"admin" not in out and out.startswith(b"[db]\nuser = <redacted:")
