"""The gaps docs/redaction.md used to list as known misses, each closed by a rule in
redact/builtin_rules.yaml: what must go, what must stay, and that output never depends on chunking."""
from __future__ import annotations

import base64
import re

import pytest

from k8s_bundle.redact import Redactor
from k8s_bundle.redact.redactor import BLOCK
from k8s_bundle.redact.rules import RuleFileError

PLACEHOLDER = re.compile(rb"<redacted:([a-z0-9-]+):[0-9a-f]{6}>")
LOG = "nodes/n/logs/app.log"

AKID = "AKIAQ7XK2M4VN8PLR3TZ"
AWS_SECRET = "q8Vd2Lk+Rz7NwY0mFh3/TbXc9GsJ1eUoPa5iQW4n"   # 40 base64 characters
SHA = "3f786850e387550fdab836ed7e6dc881de23001b"        # a git SHA: 40 hex, never a secret


def redact(text: str, path: str = LOG) -> tuple[str, dict[str, int]]:
    r = Redactor()
    out = r.redact_bytes(path, text.encode()).decode()
    return out, r.report()["by_rule"]


SHARED = Redactor()   # one key: the same secret gets the same placeholder in every run


def chunked(data: bytes, size: int, path: str = LOG) -> bytes:
    return b"".join(SHARED.redact_stream(path, [data[i:i + size] for i in range(0, len(data), size)]))


def kinds(out: bytes) -> list[str]:
    return [m.group(1).decode() for m in PLACEHOLDER.finditer(out)]


# -- 1. bare AWS secret access keys -----------------------------------------------------------
@pytest.mark.parametrize("line", [
    f"{AKID},{AWS_SECRET}",                                  # credentials CSV from the console
    f"ops,,{AKID},{AWS_SECRET},https://console.aws.amazon.com",
    f"using {AKID} / {AWS_SECRET} for s3",
    f"aws configure set aws_secret_access_key {AWS_SECRET}",
    f'"SecretAccessKey" => "{AWS_SECRET}"',
    f"Aws-Secret-Access-Key  {AWS_SECRET}",
    f"AWS_SECRET={AWS_SECRET}",
])
def test_bare_aws_secret_key_with_context_is_redacted(line: str) -> None:
    out, _ = redact(f"Nov 22 app[1]: {line}\n")
    assert AWS_SECRET not in out and AWS_SECRET[10:30] not in out
    assert "<redacted:" in out


def test_aws_secret_key_on_the_lines_after_an_access_key_id_only() -> None:
    text = (f"AccessKeyId: {AKID}\n"
            f"  {AWS_SECRET}\n"
            f"checked out {SHA}\n"
            "line\nline\nline\n"
            f"later {AWS_SECRET[::-1]} is just text\n")
    out, by_rule = redact(text)
    assert AWS_SECRET not in out
    assert by_rule["aws-secret-key"] == 1
    assert f"checked out {SHA}" in out             # hex only: never an AWS key
    assert f"later {AWS_SECRET[::-1]} is just text" in out   # out of the 3-line window


def test_without_aws_context_40_characters_stay() -> None:
    text = (f"commit {SHA}\n"
            f"blob {AWS_SECRET}\n"
            "ThisIsALongCamelCaseIdentifierNameForXyz AKIA mentioned\n")
    out, by_rule = redact(text)
    assert out == text and by_rule == {}


def test_aws_context_window_does_not_depend_on_chunking() -> None:
    data = (b"filler line\n" * 4000 + f"id {AKID}\n".encode() + b"x\n" + f" {AWS_SECRET}\n".encode()
            + b"tail\n" * 10)
    outs = {chunked(data, size) for size in (1, 13, 4096, BLOCK - 7, len(data))}
    assert len(outs) == 1
    out = outs.pop()
    assert AWS_SECRET.encode() not in out and kinds(out) == ["aws-key", "aws-secret"]


def test_aws_credentials_file_is_redacted_by_key() -> None:
    out, _ = redact(f"[prod]\naws_access_key_id = {AKID}\naws_secret_access_key = {AWS_SECRET}\nregion = eu-west-1\n",
                    "nodes/n/files/root/.aws/credentials")
    assert AWS_SECRET not in out and AKID not in out and "region = eu-west-1" in out


# -- 2. database and remote tools ---------------------------------------------------------------
@pytest.mark.parametrize("line, secret, stays", [
    ("+ mysql -h db -u root -pS3cretPw9 app", "S3cretPw9", " app"),
    ("mysqldump -uroot -p'two words9' --all-databases > x.sql", "two words9", "--all-databases > x.sql"),
    ('mysqladmin -u root -p"Quoted7pw" status', "Quoted7pw", " status"),
    ("/usr/bin/mariadb --host=db -pMaria5pw", "Maria5pw", "--host=db"),
    ('{"cmdline": ["mysql", "-u", "root", "-pJsonArgv8"]}', "JsonArgv8", '"-u", "root"'),
    ("PGPASSWORD=Pg5ecret pg_dump -h db app", "Pg5ecret", "PGPASSWORD="),
    ("exec env PGPASSWORD=Pg6ecret psql -h db", "Pg6ecret", "psql -h db"),
    ("redis-cli -h cache -a Redis9pw --no-auth-warning ping", "Redis9pw", "--no-auth-warning ping"),
    ('redis-cli -a "Redis pw 2" ping', "Redis pw 2", " ping"),
    ("redis-cli --pass Redis8pw ping", "Redis8pw", " ping"),
    ("sshpass -p Ssh7pass ssh ops@10.0.0.9 uptime", "Ssh7pass", "ssh ops@10.0.0.9 uptime"),
    ("sshpass -pSsh8pass scp a b:", "Ssh8pass", "scp a b:"),
])
def test_database_and_remote_tool_passwords(line: str, secret: str, stays: str) -> None:
    out, _ = redact(f"Nov 22 backup[9]: {line}\n")
    assert secret not in out, out
    assert stays in out, out


@pytest.mark.parametrize("line", [
    "+ mysql -h db -u root -p app",                     # -p alone prompts: no password here
    "mysql-init: + mkdir -p /var/lib/mysql-files",
    "mysql.service: ExecStartPre=/bin/mkdir -pm 755 /run/mysqld",
    "+ redis-cli -h redis-master -p 6379 ping",
    "iptables -A KUBE-SERVICES -p tcp -d 10.96.0.1/32 --dport 443 -j KUBE-SVC-NPX46M4PTMTKRN6Y",
    "sshpass -e ssh ops@host",
])
def test_tool_lookalikes_stay(line: str) -> None:
    out, by_rule = redact(line + "\n")
    assert out == line + "\n", by_rule


# -- 3. Azure and signed URLs ------------------------------------------------------------------------
def test_azure_sas_signature_goes_and_the_rest_of_the_sas_stays() -> None:
    sig = "AbCdEf1234567890GhIjKl%2BmNoPqRsTuVw%2FxYz0123%3D"
    url = f"https://acct.blob.core.windows.net/c/b.tgz?sv=2022-11-02&se=2026-12-01T00%3A00%3A00Z&sr=b&sp=r&sig={sig}"
    out, by_rule = redact(f"GET {url} 200\nSharedAccessSignature=sv=2022-11-02&ss=b&srt=co&sp=rl&sig={sig}\n")
    assert sig not in out and "sig=<redacted:signature:" in out
    assert "sv=2022-11-02&se=2026-12-01T00%3A00%3A00Z&sr=b&sp=r&sig=" in out
    assert by_rule == {"url-signature": 2}


def test_azure_connection_strings() -> None:
    key = base64.b64encode(bytes(range(64))).decode()
    sb = base64.b64encode(bytes(range(100, 132))).decode()
    out, _ = redact(
        f"DefaultEndpointsProtocol=https;AccountName=acct1;AccountKey={key};EndpointSuffix=core.windows.net\n"
        f"bus Endpoint=sb://ns1.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={sb}\n")
    assert key not in out and sb not in out
    assert "AccountName=acct1;AccountKey=<redacted:" in out and ";EndpointSuffix=core.windows.net" in out
    assert "SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=<redacted:" in out


def test_presigned_s3_url_and_sigv4_header() -> None:
    sig = "a3f1c2d4e5b6a7980f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3b2"
    out, _ = redact(
        f"GET https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={AKID}%2F20261122%2Fus-east-1%2Fs3%2Faws4_request"
        f"&X-Amz-Date=20261122T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature={sig} 200\n")
    assert sig not in out and AKID not in out
    assert "X-Amz-Date=20261122T000000Z&X-Amz-Expires=900" in out


def test_signature_lookalikes_stay() -> None:
    text = ('"Killing container with a grace period" gracePeriod=30 signal=SIGTERM\n'
            "GET https://acct1.blob.core.windows.net/public/logo.png?comp=metadata&q=a%3Db 200\n"
            "gpg: Good signature from \"Debian Archive Automatic Signing Key\"\n")
    assert redact(text)[0] == text


# -- 4. where an unquoted value ends ---------------------------------------------------------------
@pytest.mark.parametrize("line, secret, stays", [
    ("starting with password=Ab1,Cd2 debug=true", "Ab1,Cd2", " debug=true"),
    ("opts a=1,password=Xy9secret,b=2", "Xy9secret", "opts a=1,password=<"),
    ("opts a=1,password=Xy9secret,b=2", "Xy9secret", ">,b=2"),
    ("conn Password=Pq7secret;Database=app;", "Pq7secret", ";Database=app;"),
    ("?access_token=Tk8secret&page=2", "Tk8secret", "&page=2"),
    ("msg={password=Br4ce} next", "Br4ce", "} next"),
    ('err="login with password=Qu0te" code=1', "Qu0te", '" code=1'),
    ("reason: password=ab)cd) end", "ab)cd", ") end"),
    ("password=end5with, then prose", "end5with", ", then prose"),
    ("args token=Tk1;Tk2 done", "Tk1;Tk2", "args token=<redacted:secret:"),
    ("args token=Tk1;Tk2 done", ";Tk2", "> done"),
])
def test_value_boundary(line: str, secret: str, stays: str) -> None:
    out, _ = redact(f"Nov 22 app[1]: {line}\n")
    assert secret not in out, out
    assert out.count("<redacted:") == 1, out
    assert stays in out, out


# -- 5. username and password on different lines of plain text -----------------------------------
@pytest.mark.parametrize("text, user, kept", [
    ("database:\n\tdriver: pg\n  username: dbadmin7\n  password: Pa55word!\n\thost: db\n", "dbadmin7", "\thost: db"),
    ("[db]\nuser = svcuser3\nhost = db\npassword = Ini4pass\n", "svcuser3", "host = db"),
    ("Login: opsuser9\nPassword: Prose5pw\n", "opsuser9", "Password: <redacted:"),
    ("--username\nargvuser1\n--password\nargvpass1\n--v=2\n", "argvuser1", "--v=2"),
    ("crane auth login r.example --username cliuser2 \\\n    --password clipass2 \\\n    --insecure\n", "cliuser2", "--insecure"),
    ("password: First2pw\nusername: after3user\n", "after3user", "username: <redacted:username:"),
])
def test_username_with_password_on_a_nearby_line(text: str, user: str, kept: str) -> None:
    out, by_rule = redact(text, "nodes/n/files/opt/app/settings.txt")
    assert user not in out, out
    assert kept in out, out
    assert by_rule.get("registry-username") == 1


def test_username_far_from_any_password_stays() -> None:
    text = "replication:\n  login: replicator\n\n  tls: required\n  slots: 4\n  mode: async\npassword policy: 12 characters\n"
    assert redact(text, "nodes/n/files/etc/app/notes.txt")[0] == text


def test_username_above_a_password_across_block_boundaries() -> None:
    # The username line ends one block, the password starts the next: the scanner holds the
    # last lines of a block back while they name a user, so no chunking lets the name through.
    user = b"user: splitname1\n"
    for user_ends in (BLOCK - 1, BLOCK - 4, BLOCK - 30):  # where 4 KB .. 256 KB chunks cut a block
        head = user_ends - len(user)
        filler = b"x" * 99 + b"\n"
        pad = filler * (head // 100) + b"y" * (head % 100 - 1) + b"\n"
        data = pad + user + b"password: Sp1itpw\n" + b"after\n"
        assert data.index(b"password") == user_ends
        outs = {chunked(data, size, "nodes/n/files/etc/app/settings.txt") for size in (4096, 65536, BLOCK, len(data))}
        assert len(outs) == 1
        out = outs.pop()
        assert b"splitname1" not in out and b"Sp1itpw" not in out and out.endswith(b"after\n")
        assert len(out.splitlines()) == len(data.splitlines())


# -- 6. token formats, Authorization schemes, PuTTY keys, key flags -------------------------------
TOKENS = {
    "github-token": ["ghp_" + "aB3" * 12, "gho_" + "Zy9" * 12, "github_pat_11ABCDEFG0abcdefghijkl_" + "mN4" * 19 + "xy"],
    "gitlab-token": ["glpat-" + "Ab3De6Gh9Jk2Mn5Pq8St"],
    "slack-token": ["xoxb-123456789012-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx", "xoxp-1-2-3-" + "a1" * 16],
    "npm-token": ["npm_" + "Qw3" * 12],
    "pypi-token": ["pypi-AgEIcHlwaS5vcmc" + "CJGE4YjI3NzRjLTM0ZjEtNGY0Ny1iNzRmLTI1OGY3ODk5ZGQ3OQACKlsz"],
}


@pytest.mark.parametrize("rule, token", [(r, t) for r, ts in TOKENS.items() for t in ts])
def test_token_formats_are_found_bare(rule: str, token: str) -> None:
    out, by_rule = redact(f"Nov 22 ci[7]: pushing with {token} to origin\n")
    assert token not in out and token[-12:] not in out
    assert by_rule == {rule: 1}
    assert "pushing with <redacted:token:" in out and "> to origin" in out


def test_token_lookalikes_stay() -> None:
    text = ("pushed ghcr.io/org/app:v1 from gh_pages_deploy_workflow_run_abcdefabcdefabcdefabcdef\n"
            "metric kube_pod_container_status_restarts_total_abcdefghijklmnopqrstuvwx 3\n"
            "package pypi-simple-index updated; channel xox-general; group glpat-docs\n")
    assert redact(text)[0] == text


def test_npmrc_auth_token() -> None:
    tok = "npm_" + "Np7" * 12
    out, _ = redact(f"registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken={tok}\n_auth=dXNlcjpwYXNzd29yZDEyMw==\n",
                    "nodes/n/files/root/.npmrc")
    assert tok not in out and "dXNlcjpwYXNzd29yZDEyMw" not in out
    assert "//registry.npmjs.org/:_authToken=<redacted:" in out


@pytest.mark.parametrize("header, secret", [
    ('Authorization: Digest username="ops", realm="r", nonce="0a1b2c", uri="/x", response="6629fae49393a05397450978507c4ef1"',
     "6629fae49393a05397450978507c4ef1"),
    ("Authorization: Token 9f8e7d6c5b4a39281706", "9f8e7d6c5b4a39281706"),
    ("Authorization: ApiKey Ak9ZyXwVuTsRqPoN", "Ak9ZyXwVuTsRqPoN"),
    ("Authorization: SSWS 00QCjAl4MlV-WPXM-ABCDEFGHIJKLMNOP-", "00QCjAl4MlV-WPXM-ABCDEFGHIJKLMNOP-"),
])
def test_other_authorization_schemes_in_a_log_line(header: str, secret: str) -> None:
    out, _ = redact(f"Nov 22 app[1]: GET /x {header} 200\n")
    assert secret not in out, out
    assert "GET /x " in out


def test_digest_challenge_is_not_a_secret() -> None:
    text = 'app[1]: 401 WWW-Authenticate: Digest realm="api", nonce="8d3a", qop="auth", algorithm=SHA-256\n'
    assert redact(text)[0] == text


PPK = ("PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: ops@bastion\nPublic-Lines: 2\n"
       "AAAAC3NzaC1lZDI1NTE5AAAAIOpsPublicKeyIsNotSecretAtAllX\nAAAAC3NzaC1lZDI1NTE5\n"
       "Private-Lines: 2\nAAAAIBrLQ1bX8T9cY2mZ7vQp3sWkU0eHnJ4tGf6dRaPyXwVoQmLkJiHgFeDcBaZyXw\nPr1vAtEtA1l\n"
       "Private-MAC: 5a8d7e6f5a8d7e6f5a8d7e6f5a8d7e6f5a8d7e6f5a8d7e6f5a8d7e6f5a8d7e6f\n")


def test_putty_key_pasted_into_text_keeps_only_its_public_part() -> None:
    data = ("kubectl describe cm keys\nkey.ppk:\n----\n" + PPK + "Events: <none>\n").encode()
    outs = {chunked(data, size, "nodes/n/commands/describe-cm.txt") for size in (1, 17, len(data))}
    assert len(outs) == 1
    out = outs.pop()
    assert b"BrLQ1bX8T9cY2mZ7" not in out and b"Pr1vAtEtA1l" not in out and b"5a8d7e6f5a8d7e6f" not in out
    assert b"AAAAC3NzaC1lZDI1NTE5AAAAIOpsPublicKeyIsNotSecretAtAllX" in out and b"Comment: ops@bastion" in out
    assert b"Private-Lines: 2\n<redacted:private-key:" in out and out.endswith(b"Events: <none>\n")
    # a redacted bundle verifies clean: the placeholder is not taken for key lines again
    assert Redactor().scan("nodes/n/commands/describe-cm.txt", [out]) == []


def test_putty_key_cut_short_is_still_removed() -> None:
    cut = PPK.split("Pr1vAtEtA1l")[0]
    out, _ = redact(cut)
    assert "BrLQ1bX8T9cY2mZ7" not in out and "<redacted:private-key:" in out
    # cut short by a log line: the key part is closed, the line goes through every rule
    out, by_rule = redact(cut + "app[1]: retry with password=Zz9secretval now\n")
    assert "BrLQ1bX8T9cY2mZ7" not in out and "Zz9secretval" not in out and " now" in out
    assert by_rule == {"ppk-private-key": 1, "secret-key": 1}


def test_ppk_file_is_replaced_whole() -> None:
    out, by_rule = redact(PPK, "nodes/n/files/home/ops/.ssh/bastion.ppk")
    assert by_rule == {"secret-file": 1} and "BrLQ1bX8T9cY2mZ7" not in out


def test_key_flags_keep_paths_and_lose_contents() -> None:
    inline = base64.b64encode(bytes(range(48))).decode()
    text = ('FLAG: --kubelet-client-key="/etc/kubernetes/pki/apiserver-kubelet-client.key"\n'
            'FLAG: --kubelet-client-key="pki/apiserver-kubelet-client.key"\n'
            "FLAG: --tls-private-key-file=C:\\k\\pki\\kubelet.key\n"
            f'FLAG: --kubelet-client-key="{inline}"\n'
            f"FLAG: --client-key {inline}\n")
    out, _ = redact(text)
    assert out.splitlines()[:3] == text.splitlines()[:3]
    assert inline not in out and inline[10:30] not in out


# -- rule file fields -------------------------------------------------------------------------------
@pytest.mark.parametrize("field, value", [("context_lines", -1), ("context_lines", "3"), ("sibling_lines", 99),
                                          ("context_lines", True)])
def test_window_fields_are_validated(field: str, value: object) -> None:
    doc = {"version": 1, "rules": [{"id": "x", "regex": "abc", field: value}]}
    with pytest.raises(RuleFileError, match=field):
        Redactor(custom_rules=doc)


def test_custom_rule_with_context_lines() -> None:
    doc = {"version": 1, "rules": [{"id": "pin", "kind": "pin", "regex": r"(?<!\d)\d{6}(?!\d)",
                                    "prefilter": ["pin follows"], "context_lines": 1}]}
    r = Redactor(custom_rules=doc)
    out = r.redact_bytes(LOG, b"pin follows\n123456\n654321\n").decode()
    assert out.splitlines() == ["pin follows", "<redacted:pin:" + out.splitlines()[1][-7:], "654321"]


def test_custom_rule_with_sibling_lines_across_block_boundaries() -> None:
    doc = {"version": 1, "rules": [{"id": "acct", "kind": "account", "keys": "account",
                                    "with_sibling": "pin", "sibling_lines": 2}]}
    r = Redactor(custom_rules=doc)
    head = BLOCK - 1 - len(b"account: acme-42\n")
    data = b"x" * (head - 1) + b"\n" + b"account: acme-42\n" + b"pin: 1234\n" + b"account: other\n" * 3
    outs = {b"".join(r.redact_stream(LOG, [data[i:i + n] for i in range(0, len(data), n)])) for n in (4096, len(data))}
    assert len(outs) == 1
    out = outs.pop()
    assert b"acme-42" not in out and out.count(b"<redacted:account:") == 3   # the one above, two below
    assert out.endswith(b">\naccount: other\n")   # the third line below is out of reach


# -- issue 11: the shapes that leaked, their families, and their lookalikes -----------------------
def _jwt(seed: int) -> str:
    import json

    def b64u(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    payload = {"iss": "kubernetes/serviceaccount", "sub": f"system:serviceaccount:ops:n{seed}", "jti": f"Jt{seed}x" * 4}
    header = b64u(b'{"alg":"RS256","kid":"k1"}')
    return f"{header}.{b64u(json.dumps(payload).encode())}.{b64u(bytes(range(seed, seed + 96)))}"


CRI = "nodes/n/logs/pods/ops_x_1/x/0.log"


@pytest.mark.parametrize("cut", [2, 12, 60, -30])
def test_cri_partial_lines_are_joined_whatever_the_chunking(cut: int) -> None:
    jwt = _jwt(7)
    head, tail = jwt[:cut], jwt[cut:]
    data = ("2026-11-22T11:31:00.1Z stdout F start\n"
            f"2026-11-22T11:31:00.2Z stdout P GET /api sa {head}\n"
            "2026-11-22T11:31:00.2Z stderr F a stderr line in between\n"
            f"2026-11-22T11:31:00.3Z stdout F {tail} took 3ms\n"
            "2026-11-22T11:31:00.4Z stdout F end\n").encode()
    outs = {chunked(data, size, CRI) for size in (1, 13, 64, len(data))}
    assert len(outs) == 1
    out = outs.pop()
    payload, sig = jwt.split(".")[1:]
    for part in (payload[10:30], payload[-20:], sig[:16], sig[-16:]):
        assert part.encode() not in out, out
    lines = out.decode().splitlines()
    assert len(lines) == 5 and lines[2] == "2026-11-22T11:31:00.2Z stderr F a stderr line in between"
    assert lines[3].endswith(" took 3ms") and lines[3].startswith("2026-11-22T11:31:00.3Z stdout F ")


def test_cri_bearer_token_cut_by_a_partial_line() -> None:
    tok = "Ab3" * 12
    data = (f"2026-11-22T11:31:00.3Z stdout P proxy header X-Upstream: Bearer {tok[:20]}\n"
            f"2026-11-22T11:31:00.3Z stdout F {tok[20:]} forwarded\n").encode()
    out, by_rule = redact(data.decode(), CRI)
    assert tok[:20] not in out and tok[20:] not in out
    assert by_rule == {"bearer-token": 1}
    assert out.splitlines()[1] == "2026-11-22T11:31:00.3Z stdout F  forwarded"


def test_cri_run_without_an_end_keeps_every_line() -> None:
    tok = "Zz9" * 12
    # a run cut by the end of the item, by a line of another format, and past the line cap
    for data in (f"t1 stdout P token={tok}\nt2 stdout P {tok}", f"t1 stdout P token={tok}\nnot a cri line\n",
                 f"t1 stdout P Bearer {tok}\n" + "t2 stdout P x\n" * 300 + "t3 stdout F y\n"):
        out = chunked(data.encode(), 7, CRI)
        assert tok.encode() not in out
        assert out.count(b"\n") == data.count("\n") and out.endswith(b"\n") == data.endswith("\n")


def test_cri_split_is_reported_by_scan() -> None:
    data = f"t1 stdout P sa {_jwt(9)[:40]}\nt2 stdout F {_jwt(9)[40:]}\n".encode()
    hits = Redactor().scan(CRI, [data])
    assert [h.rule for h in hits] == ["jwt"] and hits[0].line == 2


KUBECONFIG = ("apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://10.0.0.10:6443\n  name: prod\n"
              "users:\n- name: deployer\n  user:\n    token: Tk7" + "q" * 30 + "\n")


@pytest.mark.parametrize("path, template", [
    ("nodes/n/files/etc/systemd/system/d.service", "[Service]\nEnvironment=KUBECONFIG_B64={b}\n"),
    ("nodes/n/logs/app.log", "Nov 22 d[1]: env KUBE_CONFIG_DATA={b} loaded\n"),
    ("nodes/n/commands/docker-inspect.json", '[{{"Config": {{"Env": ["KCFG={b}", "A=b"]}}}}]'),
    ("nodes/n/files/etc/kubernetes/x.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  annotations:\n    example.com/kc: {b}\n"),
])
def test_base64_document_is_decoded_redacted_and_encoded_again(path: str, template: str) -> None:
    for b in (base64.b64encode(KUBECONFIG.encode()).decode(), base64.b64encode(KUBECONFIG.encode()).decode().rstrip("=")):
        out, by_rule = redact(template.format(b=b), path)
        assert by_rule.get("base64-document") == 1 and by_rule.get("kubeconfig-token") == 1, by_rule
        blob = re.search(r"[A-Za-z0-9+/]{100,}=*", out).group(0)
        assert blob.endswith("=") == b.endswith("=")
        doc = base64.b64decode(blob + "=" * (-len(blob) % 4)).decode()
        assert "Tk7qqq" not in doc and "server: https://10.0.0.10:6443" in doc and "token: '<redacted:token:" in doc


def test_base64_that_is_no_document_or_holds_no_secret_stays() -> None:
    plain = base64.b64encode(b'{"replicas": 3, "mode": "iptables", "note": "nothing secret"}').decode()
    binary = base64.b64encode(bytes(range(200))).decode()
    text = f"cfg CONFIG_B64={plain}\nblob DATA_B64={binary}\n"
    assert redact(text)[0] == text


@pytest.mark.parametrize("line", [
    "auth: fix token refresh when the registry answers 401",
    "- auth: Support OIDC groups claims",
    "  * auth: add support for the bearer scheme",
    '{"level":"info","msg":"starting an etcd server","auth-token":"simple","initial-cluster-token":"etcd-cluster-1"}',
    "etcd --auth-token=simple --initial-cluster-token=etcd-cluster-1 --key-file=/etc/kubernetes/pki/etcd/server.key",
    "auth-token: jwt,pub-key=/etc/etcd/jwt.pub,priv-key=/etc/etcd/jwt.key,sign-method=RS256,ttl=10m",
    "--auth-token=jwt,pub-key=app.rsa.pub,priv-key=app.rsa,sign-method=RS512",
    'object="node01.18e9a43c7b2d5f10" reason=NodeReady',
    "Unable to write event: ObjectMeta:v1.ObjectMeta{Name:\"worker.18e9a44f0c1d2e3a\"}",
    "        topologyKey: kubernetes.io/hostname",
    "key: app",
    '{"key":"/registry/events/default/node01.18e9a43c7b2d5f10"}',
    '{"envs": [{"key": "K8S_NODE_NAME_LABEL", "value": "worker-1"}]}',
    "existingSecret: app-redis",
    "NO_PUBKEY 234654DA9A296436",
    "password: $DB_PASSWORD",
    "--- PASS: TestReconcile (0.01s)",
    '{"total_pass": 45, "total_fail": 0}',
    "summary pass=12 fail=0",
    "git config core.hooksPath .git/hooks/pre-commit; see https://git-scm.com/docs/githooks",
    "GET https://ci.example.com/hooks/github 200",
])
def test_round_two_lookalikes_stay(line: str) -> None:
    for path in (LOG, "nodes/n/files/etc/app/settings.yaml"):
        out, by_rule = redact(line + "\n", path)
        assert out == line + "\n", (path, by_rule)


@pytest.mark.parametrize("line, secret", [
    ("kubeadm join 10.0.0.1:6443 --token node01.18e9a43c7b2d5f10", "18e9a43c7b2d5f10"),   # by its key
    ("auth-token: S3cr3tT0kenValue", "S3cr3tT0kenValue"),
    ('"auth":"cm9ib3Q6cGFzc3dvcmQxMjM="', "cm9ib3Q6cGFzc3dvcmQxMjM"),
    ("key = AQBnL0pkAAAAABAAc8qZ8Xy1aXwZ6i8Lq0w5bw==", "AQBnL0pkAAAAABAAc8qZ8Xy1"),
    ('    X-Registry-Key = "r3gistryK3yValue77"', "r3gistryK3yValue77"),
    ("  userKey: AQCtL0pkAAAAABAAk2Lx9Qz1aXwZ6i8Lq0w5bw==", "AQCtL0pkAAAAABAA"),
    ("smtp.pass=Sm7pPass", "Sm7pPass"),
    ("SMTP_PASS=123456", "123456"),
    ("  dbPass: Db9passw0rd", "Db9passw0rd"),
    ("requirepass Rq5passValue", "Rq5passValue"),
    ('masterauth "Ma5ter auth"', "Ma5ter auth"),
    ("sentinel auth-pass mymaster Se7ntinelPw", "Se7ntinelPw"),
    ("redis-cli CONFIG SET requirepass Cs3tPass", "Cs3tPass"),
    ("curl -u admin:Cu1rlPass https://x", "Cu1rlPass"),
    ("curl --user 'ci:Cu2rlPass' https://x", "Cu2rlPass"),
    ("docker login -u robot -p Dk4rPass registry.example.com", "Dk4rPass"),
    ("nerdctl login -pNd5rPass registry.example.com", "Nd5rPass"),
    ("helm repo add x https://c --username ci --password He1mPass", "He1mPass"),
    ("vault login hvs.CAESIJqvZ8yK2mN4pQ7rS9tU1vW3xY5zA6bC8dE0fG2hI4jK6", "hvs.CAESIJqvZ8yK2mN4pQ7rS9"),
    ("export VAULT_ADDR=https://v:8200; vault login s.Ga5jyNq6kNfRMVQk2LY1j9iu", "Ga5jyNq6kNfRMVQk2LY1j9iu"),
    ("renewed lease with hvb.AAAAAQJt7mZkQ3Rg2Vx8Yp4Lq6Ns0Ko9Ij1Hu3Gy5Ft for 768h", "AAAAAQJt7mZkQ3Rg2Vx8"),
    ("POST https://hooks.slack.com/services/T0A1B2C3D/B4E5F6G7H/aBcDeFgHiJkLmNoPqRsTuVwX 200", "aBcDeFgHiJkLmNoPqRsTuVwX"),
    ("url: https://contoso.webhook.office.com/webhookb2/0b7f0c7e-1111-2222-3333-444455556666@72f988bf-86f1-41af-91ab-2d7cd011db47/IncomingWebhook/3f786850e387550fdab836ed7e6dc881/0b7f0c7e-1111-2222-3333-444455556666",
     "3f786850e387550fdab836ed7e6dc881"),
    ("webhook_url: https://discord.com/api/webhooks/123456789012345678/Dw3bh00kT0ken-abc_DEF", "Dw3bh00kT0ken-abc_DEF"),
    ("upstream replied: Bearer Br7arerT0ken", "Br7arerT0ken"),
    ("webhook_url: https://prod-21.westeurope.logic.azure.com:443/workflows/3f78a1b2c3d4e5f6a7b8c9d0e1f2a3b4/triggers/manual/paths/invoke"
     "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=Wf7kQ2mN4pR6tV8xZ0bD3fH5jL7nP9rT1vX3zB5dF7h", "Wf7kQ2mN4pR6tV8xZ0bD3fH5jL7nP9r"),
    ("curl -X POST -d @msg.json https://mm.example.com/hooks/xk3p9q2m7r5t8w1y4z6a0b2c9d", "xk3p9q2m7r5t8w1y4z6a0b2c9d"),
    ("passwd: $6$rounds=5000$Sa1t$HashHashHashHashHashHash", "HashHashHashHash"),
])
def test_round_two_secrets_go(line: str, secret: str) -> None:
    for path in (LOG, "nodes/n/files/etc/app/settings.conf"):
        out, _ = redact(line + "\n", path)
        assert secret not in out, (path, out)
        assert "<redacted:" in out


@pytest.mark.parametrize("path, text", [
    ("nodes/n/files/etc/containerd/certs.d/r/hosts.toml",
     '[host."https://r".header]\n  X-Registry-Key = ["Ab12Cd34Ef56Gh78", \'Zy98Xw76Vu54\']\n  x-custom-2 = ["value1", "value2"]\n'),
    ("nodes/n/commands/hosts.json", '{"header": {"X-Registry-Key": ["Ab12Cd34Ef56Gh78", "Zy98Xw76Vu54"], "x-custom-2": ["value1"]}}'),
    ("nodes/n/files/etc/app/hosts.yaml", "header:\n  X-Registry-Key:\n  - Ab12Cd34Ef56Gh78\n  - Zy98Xw76Vu54\n  x-custom-2: [value1]\n"),
])
def test_secret_key_holding_a_list(path: str, text: str) -> None:
    out, by_rule = redact(text, path)
    assert "Ab12Cd34Ef56Gh78" not in out and "Zy98Xw76Vu54" not in out and "value1" in out
    assert by_rule == {"key-name": 2}


@pytest.mark.parametrize("path, text", [
    ("nodes/n/files/etc/app/values.yaml",
     "db:\n  password:\n    value: Pv7secretval\n    rotate: false\nenv:\n- name: LOG\n  value: debug\nkey:\n  value: app\n"),
    ("nodes/n/commands/cfg.json",
     '{"db": {"password": {"value": "Pv7secretval", "rotate": false}}, "env": [{"name": "LOG", "value": "debug"}], "key": {"value": "app"}}'),
])
def test_a_value_under_a_secret_name_goes(path: str, text: str) -> None:
    out, by_rule = redact(text, path)
    assert "Pv7secretval" not in out and "debug" in out and "app" in out and "rotate" in out
    assert by_rule == {"secret-key": 1}


def test_webhook_url_keeps_its_host() -> None:
    out, by_rule = redact("alert https://hooks.slack.com/services/T0A1B2C3D/B4E5F6G7H/aBcDeFgHiJkLmNoPqRsTuVwX sent\n")
    assert out.startswith("alert https://hooks.slack.com/services/<redacted:webhook:") and out.endswith("> sent\n")
    assert by_rule == {"webhook-url": 1}


def test_key_rules_accept_a_validate_check() -> None:
    doc = {"version": 1, "rules": [{"id": "pin", "kind": "pin", "keys": "pin", "validate": "secret-shaped"}]}
    r = Redactor(custom_rules=doc)
    out = r.redact_bytes(LOG, b"pin: 1234\npin: Ab12Cd34Ef56Gh78\n").decode()
    assert out.startswith("pin: 1234\npin: <redacted:pin:")
    with pytest.raises(RuleFileError, match="unknown validate"):
        Redactor(custom_rules={"version": 1, "rules": [{"id": "x", "keys": "x", "validate": "nope"}]})


def test_cri_run_held_open_by_the_other_stream_is_bounded() -> None:
    # a stdout P line never continued while stderr writes on: held lines are capped (linear time,
    # bounded memory), every line comes out in order
    tok = "Qq7" * 12
    data = f"t0 stdout P Bearer {tok}\n" + "".join(f"t{i} stderr F line {i}\n" for i in range(20000))
    r = Redactor()
    out = b"".join(r.redact_stream(CRI, [data.encode()]))
    assert tok.encode() not in out
    lines = out.decode().splitlines()
    assert len(lines) == 20001 and lines[-1] == "t19999 stderr F line 19999" and lines[300] == "t299 stderr F line 299"


def test_base64_documents_past_the_per_item_budget_are_replaced_whole() -> None:
    from k8s_bundle.redact.text import B64_DOCS_PER_ITEM

    doc = base64.b64encode(KUBECONFIG.encode()).decode()
    text = "".join(f"env{i} KCFG_B64={doc}\n" for i in range(B64_DOCS_PER_ITEM + 5))
    out, by_rule = redact(text)
    assert "Tk7qqq" not in out and doc not in out
    assert by_rule["kubeconfig-token"] == B64_DOCS_PER_ITEM and by_rule["base64-document"] == B64_DOCS_PER_ITEM + 5
    assert out.splitlines()[-1].startswith(f"env{B64_DOCS_PER_ITEM + 4} KCFG_B64=<redacted:secret:")


def test_an_unquoted_value_ends_before_any_quoted_json_key() -> None:
    # the text pass over a compact JSON document: `"USER":null,"":null` (an empty key, found by
    # the property test) must not take `null,` as a username and break the JSON
    import json

    doc = json.dumps({"payload": {"USER": None, "": None, "a b": 1}, "spec": {"auth": {"password": "Pw0000000000A"}}})
    out, _ = redact(doc, "nodes/n/commands/doc.json")
    assert json.loads(out)["payload"] == {"USER": None, "": None, "a b": 1} and "Pw0000000000A" not in out


# -- issue 11, red-team round two: where the new rules stop -----------------------------------
CONF = "nodes/n/files/etc/app/app.conf"


@pytest.mark.parametrize("value, kept", [
    ("longhorn-backup-credentials", True),      # a Secret object's name (DNS-1123, words)
    ("longhorn.local-tls", True),
    ("kube-system/bootstrap-token-q7x2mf", True),  # namespace/name (klog)
    ("app-tls-2", True),
    ("8975ec38-f12a-ae42-7708-a6d0ecfb1b34", False),  # a UUID: Consul tokens are UUIDs
    ("3c760f623431839c62b1e7e2323c9674", False),       # hex: no pieces, no word
    ("mysecret123", False),                            # one piece: not a name
    ("abcdef.0123456789abcdef", False),                # a bootstrap token: a 16-character piece
    ("Kx8-longhorn-tls", False),                       # upper case: not DNS-1123
])
def test_a_key_naming_a_secret_keeps_object_names_only(value: str, kept: bool) -> None:
    for text in (f"backupTargetCredentialSecret: {value}\n", f'msg="x" secret="{value}"\n'):
        out, _ = redact(text, CONF)
        assert (value in out) is kept, (text, out)
    # a key whose value is the secret itself takes any shape
    out, _ = redact(f"clientSecret: {value}\n", CONF)
    assert value not in out


def test_nsswitch_sources_stay_and_other_passwd_values_go() -> None:
    out, _ = redact("passwd:         sss files [NOTFOUND=return] systemd\nshadow: files\n", "nodes/n/files/etc/nsswitch.conf")
    assert out == "passwd:         sss files [NOTFOUND=return] systemd\nshadow: files\n"
    out, _ = redact("users:\n  - name: ops\n    passwd: Zq8xLr2mWt5s\n", "nodes/n/files/var/lib/cloud/user-data.yaml")
    assert "Zq8xLr2mWt5s" not in out


def test_key_value_without_separator_is_a_setting_in_configs_and_prose_in_logs() -> None:
    secret = "O04MFw6xq"
    out, by_rule = redact(f"    auth_pass {secret}\n    bindpw {secret}\n", CONF)
    assert secret not in out and by_rule == {"pass-key": 1, "secret-key": 1}, by_rule
    # a log line of two words is an event; a lower-case word is prose in any file
    out, _ = redact(f"token {secret}\n", LOG)
    assert secret in out
    text = "Password protection\ntoken expired\ntoken:      912 bytes\nAuthorization: Bearer <token>\n"
    assert redact(text, CONF)[0] == text


def test_config_only_rules_do_not_run_on_logs() -> None:
    line = "\taead rfc4106(gcm(aes)) 0x053905d567fdc16526ff46723953dd2ea3683561 128\n"
    assert "0x0539" not in redact(line, "nodes/n/commands/ip-xfrm-state.txt")[0]
    assert redact(line, LOG)[0] == line


@pytest.mark.parametrize("line, secret", [
    ('FLANNEL_OPTIONS="-iface=eth0 -etcd-password=xaSu6x74vtJIGvWW"', "xaSu6x74vtJIGvWW"),
    ("java -Djavax.net.ssl.keyStorePassword=Jk2mW8qLx0 -jar app.jar", "Jk2mW8qLx0"),
    ("      <password>FwQNFx2pWvIagL7G</password>", "FwQNFx2pWvIagL7G"),
    ("smbclient //fs/b -U svc%spcgDOR82s -c ls", "spcgDOR82s"),
    ("ldapmodify -x -D cn=admin -w GbEm9ivls -f x.ldif", "GbEm9ivls"),
    ("htpasswd -nb admin PPTGuQlTg", "PPTGuQlTg"),
    ("etcdctl --user=root:B2KIQVRGLX member list", "B2KIQVRGLX"),
    ("az login -u app -p CkD15XuFvmqC", "CkD15XuFvmqC"),
    ("metrics:$2y$05$I816HX.0yuzKNYxOW0ul1/KCK4Me77Jh/vFDSezBxziN5j73hhqL4", "I816HX.0yuzKNYx"),
    ("dsn: https://3c760f623431839c62b1e7e2323c9674@sentry.example.org/4", "3c760f623431839c"),
    ("Recovery Key 2: 6AOWo+BTaj2y34iuIYAq4KkFeLrQBDqM", "6AOWo+BTaj2y34iu"),
])
def test_round_two_shapes_in_any_file(line: str, secret: str) -> None:
    for path in (LOG, CONF):
        out, _ = redact(line + "\n", path)
        assert secret not in out, (path, out)


def test_secret_name_fields_and_namespaced_references_stay() -> None:
    # secretName was never a secret name (a Pod's volume, an Ingress tls entry); after
    # `namespace/` a one-piece name is a reference too
    text = "spec:\n  volumes:\n  - secret:\n      secretName: regcred\n  tls:\n  - secretName: example-tls\n"
    assert redact(text, "nodes/n/files/etc/kubernetes/manifests/x.yaml")[0] == text
    out, _ = redact('I1206 "Deleting" secret="kube-system/regcred" x secret="kube-system/Zm9vYmFy12345"\n')
    assert 'secret="kube-system/regcred"' in out and "Zm9vYmFy12345" not in out


@pytest.mark.parametrize("line", ["htpasswd -b -c /etc/nginx/.htpasswd admin PPTGuQlT1",
                                  "sudo htpasswd -B -C 10 -b f u PPTGuQlT1 && echo ok"])
def test_htpasswd_batch_password_is_the_last_argument(line: str) -> None:
    out, _ = redact(line + "\n", CONF)
    assert "PPTGuQlT1" not in out and " -b" in out
