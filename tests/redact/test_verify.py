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


# -- round two (issue 11): shapes the red-team's canaries found verify missing ----------------------
# Each value is fresh and random-looking; each line is the format as the tool writes or reads it.
MISSED_SHAPES = [
    # fluent-bit classic config: `Key  Value`, space separated
    # (https://docs.fluentbit.io/manual/pipeline/outputs/elasticsearch, .../outputs/splunk)
    ("etc/fluent-bit/fluent-bit.conf", "[OUTPUT]\n    Name   es\n    HTTP_User  fluentbit\n    HTTP_Passwd     Vb7qLm2Xz9Kp4Wd1\n",
     4, "secret-value"),
    ("etc/fluent-bit/fluent-bit.conf", "[OUTPUT]\n    Name   splunk\n    Splunk_Token    4b1e7c2a-93d0-4f6e-a8b5-c0d9e1f2a3b4\n",
     3, "secret-value"),
    # keepalived.conf(5): `auth_pass` holds at most 8 characters
    ("etc/keepalived/keepalived.conf", "    authentication {\n        auth_type PASS\n        auth_pass h7Qx2Lm9\n    }\n",
     3, "secret-value"),
    # nslcd.conf(5) `bindpw`, sssd-ldap(5) `ldap_default_authtok`, apt_auth.conf(5) `password`
    ("etc/nslcd.conf", "uri ldap://ldap.corp.local/\nbinddn cn=nslcd,dc=corp,dc=local\nbindpw Rt5vW8yZ1nM4qK7s\n", 3, "secret-value"),
    ("etc/apt/auth.conf.d/corp.conf", "machine apt.corp.local/debian\nlogin apt-reader\npassword Pz4xQ8wE2rT6yU1i\n", 3, "secret-value"),
    # haproxy: `stats auth user:pass` and a userlist's `insecure-password`
    # (https://docs.haproxy.org/2.8/configuration.html#4-stats%20auth, #3.4-user)
    ("etc/haproxy/haproxy.cfg", "listen stats\n    stats auth admin:Kd8fJ2mX5nQ9wB3v\n", 2, "haproxy-stats-auth"),
    ("etc/haproxy/haproxy.cfg", "userlist ops\n    user ops insecure-password Gh3kL7pQ1sV5xZ9c\n", 2, "secret-value"),
    # NetworkManager keyfile and wpa_supplicant.conf: `psk=`
    ("etc/NetworkManager/system-connections/site.nmconnection", "[wifi-security]\nkey-mgmt=wpa-psk\npsk=Wq9eR3tY7uI1oP5a\n",
     3, "secret-value"),
    # flanneld's single-dash flags
    ("etc/sysconfig/flanneld", 'FLANNEL_OPTIONS="-iface=eth0 -etcd-password=Mn4bV8cX2zL6kJ0h"\n', 1, "secret-value"),
    # XML elements (Maven settings.xml <server><password>)
    ("root/.m2/settings.xml", "<server>\n  <id>nexus</id>\n  <password>Yt6rE2wQ9pO3iU7y</password>\n</server>\n",
     3, "secret-xml-element"),
    # CLIs in shell history
    ("home/ops/.bash_history", "az login --service-principal -u 0b7f0c7e-aaaa-bbbb-cccc-111122223333 -p Fs8dG2hJ6kL0zX4c --tenant t\n",
     1, "login-password-flag"),
    ("home/ops/.bash_history", "ldapsearch -x -H ldaps://ldap.corp.local -D cn=admin,dc=corp,dc=local -w Qa1sD5fG9hJ3kL7z -b dc=corp\n",
     1, "ldap-bind-password"),
    ("home/ops/.bash_history", "smbclient //fs01/backup -U svc_backup%Zx2cV6bN0mQ4wE8r -c ls\n", 1, "smb-user-password"),
    ("home/ops/.bash_history", "htpasswd -b -c /etc/nginx/.htpasswd admin Lk9jH5gF1dS3aP7o\n", 1, "htpasswd-batch-password"),
    ("home/ops/.bash_history", "ETCDCTL_API=3 etcdctl --endpoints=https://10.0.0.11:2379 --user root:Ui8yT4rE0wQ2pL6k member list\n",
     1, "curl-user-password"),
    # SendGrid keys SG.<22>.<43> (https://www.twilio.com/docs/sendgrid/ui/account-and-settings/api-keys)
    ("etc/default/mailer", "MAILER=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\n", 1, "sendgrid-api-key"),
    # a Sentry DSN's key is the URL's user (https://docs.sentry.io/concepts/key-terms/dsn-explainer/)
    ("opt/app/config/app.yaml", "sentry:\n  dsn: https://3f9a1c7e5b2d4f6a8c0e2b4d6f8a0c1e@o450123.ingest.sentry.io/5512345\n",
     2, "url-token-user"),
    # htpasswd files: apr1 and bcrypt hashes (https://httpd.apache.org/docs/2.4/misc/password_encryptions.html)
    ("etc/nginx/.htpasswd", "admin:$apr1$Qx7c2Lm9$Vb7qLm2Xz9Kp4Wd1Rt5vW8\n", 1, "crypt-hash"),
    ("etc/nginx/.htpasswd", "metrics:$2y$05$Rt5vW8yZ1nM4qK7sPz4xQ8wE2rT6yU1iGh3kL7pQ1sV5xZ9cWq9eR3\n", 1, "crypt-hash"),
    # Consul: the gossip key and the ACL tokens block (https://developer.hashicorp.com/consul/docs/agent/config/config-files)
    ("etc/consul.d/consul.hcl", 'datacenter = "dc1"\nencrypt = "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s="\n', 2, "random-config-value"),
    ("etc/consul.d/consul.hcl", 'acl {\n  tokens {\n    initial_management = "7d3c1b2a-4e5f-4a6b-9c8d-0e1f2a3b4c5d"\n  }\n}\n',
     3, "consul-acl-token"),
    # `vault operator init` output (https://developer.hashicorp.com/vault/docs/commands/operator/init)
    ("var/log/vault-init.log", "Unseal Key 1: q1W2e3R4t5Y6u7I8o9P0aSdFgHjKlZxCvBnM1q2W3e4R\n\nInitial Root Token: hvs.x\n",
     1, "vault-unseal-key"),
    # OpenVPN static key (`openvpn --genkey secret ta.key`): not PEM, 16 lines of hex
    ("etc/openvpn/ta.key", "#\n# 2048 bit OpenVPN static key\n#\n-----BEGIN OpenVPN Static key V1-----\n"
     + "".join(f"{i:02x}" * 16 + "\n" for i in range(16)) + "-----END OpenVPN Static key V1-----\n", 4, "pem-private-key"),
    # net-snmp snmpd.conf(5): createUser and a community (public/private are defaults, not secrets)
    ("etc/snmp/snmpd.conf", 'createUser monitor SHA "Hj4kL8zX2cV6bN0m" AES\n', 1, "snmp-usm-user"),
    ("etc/snmp/snmpd.conf", "sysLocation rack-12\nrocommunity Tr7eW3qA9sD1 10.0.0.0/8\n", 2, "snmp-community"),
    # chrony.keys (chronyc keygen), ppp chap-secrets (pppd(8)), a RabbitMQ Erlang cookie
    ("etc/chrony.keys", "# keys\n1 SHA1 HEX:9F3A1C7E5B2D4F6A8C0E2B4D6F8A0C1E3B5D7F9A\n", 2, "chrony-ntp-key"),
    ("etc/ppp/chap-secrets", "# client\tserver\tsecret\t\tIP addresses\nlte-modem\t*\tKm3nB7vC1xZ5\t*\n", 2, "ppp-secrets-file"),
    ("var/lib/rabbitmq/.erlang.cookie", "QWERTYUIOPASDFGHJKLZ", 1, "secret-file"),
    # IPsec keys: Cilium's key file and `ip xfrm state` (ip-xfrm(8))
    ("etc/ipsec/keys", "3+ rfc4106(gcm(aes)) 4f2a9c1e7b3d5f8a0c2e4b6d8f1a3c5e7b9d0f2a 128\n", 1, "ipsec-key"),
    ("commands/ip-xfrm-state.txt", "src 10.0.0.11 dst 10.0.0.12\n\taead rfc4106(gcm(aes)) 0x4f2a9c1e7b3d5f8a0c2e4b6d8f1a3c5e7b9d0f2a 128\n",
     2, "ipsec-key"),
    # containerd registry `auth = base64(user:pass)`, a Harbor robot account's `robot$name`
    # (https://github.com/containerd/containerd/blob/main/docs/cri/registry.md)
    ("etc/containerd/config.toml", '[plugins."io.containerd.grpc.v1.cri".registry.configs."harbor".auth]\n  auth = "'
     + base64.b64encode(b"robot$deploy:Vb7qLm2Xz9Kp4Wd1Rt5vW8").decode() + '"\n', 2, "base64-user-password"),
]


@pytest.mark.parametrize("path,text,line,rule", MISSED_SHAPES, ids=[f"{s[0]}:{s[3]}" for s in MISSED_SHAPES])
def test_round_two_shapes_are_flagged(path: str, text: str, line: int, rule: str) -> None:
    got = SecretScanner().scan_bytes(path, text.encode())
    assert any(f.line <= line <= f.end_line and f.rule == rule for f in got), [f"{f.line}:{f.rule}" for f in got]


def test_round_two_lookalikes_are_clean() -> None:
    cases = {
        # our own placeholder after openssl's `pass:` prefix (redact's output)
        "home/ops/.bash_history": "openssl enc -aes-256-cbc -in b.tar -out b.enc -pass pass:<redacted:secret:e1e8ba>\n",
        # an OpenStack application credential's id is not its secret
        "etc/kubernetes/cloud-config": "[Global]\napplication-credential-id=2f7a6a9e3c1b4d5e\n",
        # WireGuard public keys are public (wg(8))
        "etc/wireguard/wg0.conf": "[Peer]\nPublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\nAllowedIPs = 10.99.0.2/32\n",
        # systemd.exec(5) PassEnvironment= lists variable names
        "etc/systemd/system/kubelet.service": "[Service]\nPassEnvironment=HTTP_PROXY HTTPS_PROXY NO_PROXY\n",
        # dpkg's status: a conffile and its md5; `dpkg -l`: a package and its version
        "var/lib/dpkg/status": "Conffiles:\n /etc/pam.d/passwd eaf2ad85b5ccd06cceb19a3e75f40c63\n /etc/security/pwquality.conf 5f2bbd6a6fa1c3e1e0a6a0d7c8e9b0a1\n",
        "commands/dpkg-l.txt": "ii  passwd      1:4.13+dfsg1-1+deb12u1   amd64   change and administer password and group data\n",
        # Kubernetes audit events at Metadata level: ids, fingerprints and user names
        "logs/audit.log": (
            '{"kind":"Event","level":"Metadata","user":{"username":"system:bootstrap:q7x2mf","extra":'
            '{"authentication.kubernetes.io/credential-id":["X509SHA256=1f2e3d4c5b6a79887766554433221100ffeeddccbbaa99887766554433221100"]}}}\n'
            '{"kind":"Event","level":"Metadata","user":{"username":"system:node:worker-1"},"annotations":'
            '{"authentication.kubernetes.io/credential-id":"JTI=5f3c2b1a-9e8d-4c7b-a6f5-e4d3c2b1a0f9"}}\n'),
        # snmpd's default communities, prose at the end of a line, a Maven comment in an element
        "etc/snmp/snmpd.conf": "rocommunity public localhost\nrocommunity6 private\n",
        "var/log/messages": "kernel: Loaded X.509 cert from the Certification Authority\nsshd: Changing password for root\n",
        "etc/maven/settings.xml": "<passphrase>optional; leave empty if not used.</passphrase>\n",
        "etc/postgresql/15/main/postgresql.conf": "#password_encryption = scram-sha-256\t# scram-sha-256 or md5\n",
        # a CA bundle line whose 48 bytes decode to text (D-Trust's CRL URL, Debian's ca-certificates)
        "etc/ssl/certs/ca-certificates.crt": "-----BEGIN CERTIFICATE-----\n"
        "MIIEMzCCAxugAwIBAgIDCYPzMA0GCSqGSIb3DQEBCwUAME0xCzAJBgNVBAYTAkRF\n"
        "MENBJTIwMiUyMDIwMDksTz1ELVRydXN0JTIwR21iSCxDPURFP2NlcnRpZmljYXRl\n-----END CERTIFICATE-----\n",
        # `htpasswd -B` (bcrypt, prompts for the password) names no password
        "home/ops/.bash_history2": "htpasswd -B -c /etc/nginx/.htpasswd admin\n",
    }
    found = {path: [f"{f.line}:{f.rule}" for f in SecretScanner().scan_bytes(path, text.encode())]
             for path, text in cases.items()}
    assert {p: f for p, f in found.items() if f} == {}


def test_a_multiline_hit_names_its_last_line(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "ta.key").write_text("-----BEGIN OpenVPN Static key V1-----\n"
                                            + "".join(f"{i:02x}" * 16 + "\n" for i in range(16))
                                            + "-----END OpenVPN Static key V1-----\n")
    got = run_cli("verify", str(tmp_path / "in"))
    assert got.returncode == 1 and "ta.key:1:private-key (pem-private-key) ***(" in got.stdout
    assert ", lines 1-18)" in got.stdout, got.stdout


def test_ids_are_not_secrets_but_vault_secret_id_is() -> None:
    value = b"Xq7vR2pZ9wK4mDx8Lp3"
    assert not secret_value(b"application-credential-id", value) and not secret_value(b"PublicKey", value)
    # Vault AppRole's secret_id is the secret half of the login (role_id is the other)
    assert secret_value(b"secret_id", value) and secret_value(b"secretId", value) and secret_value(b"PrivateKey", value)
