"""The canary corpus: unique secret values placed in every place issue 4 lists.

`build(root)` writes the files under `root` at their node paths (root/etc/kubernetes/...) and
returns the canaries. A canary's `core` is the random part of the secret: after redaction no
8-character window of any core may remain anywhere (UTF-8 or UTF-16LE), so not even a
recognisable fragment leaks. Keys and certificates are generated fresh with `cryptography`.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import random
import string
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

WINDOW = 8


@dataclass
class Corpus:
    files: dict[str, bytes] = field(default_factory=dict)       # node path -> content
    canaries: dict[str, str] = field(default_factory=dict)      # label -> core
    keep: dict[str, list[str]] = field(default_factory=dict)    # node path -> strings that must stay
    encoded_only: set[str] = field(default_factory=set)         # canaries stored only base64-encoded

    def canary(self, label: str, core: str) -> str:
        assert label not in self.canaries, label
        self.canaries[label] = core
        return core

    def windows(self, encoded: bool = False) -> dict[bytes, str]:
        """8-character windows of every core, plain and UTF-16LE; with `encoded`, also as they
        read inside base64 (three alignments, both alphabets) and URL-encoded."""
        out: dict[bytes, str] = {}
        for label, core in self.canaries.items():
            for i in range(len(core) - WINDOW + 1):
                w = core[i:i + WINDOW]
                out[w.encode("utf-8")] = label
                out[w.encode("utf-16-le")] = label
            if encoded:
                for w in _encoded_windows(core):
                    out.setdefault(w, label)
        return out

    def write(self, root: Path) -> None:
        for path, data in self.files.items():
            target = root / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


def leaks(corpus: Corpus, blobs: dict[str, bytes], encoded: bool = False) -> list[str]:
    """`label in member` for every canary window found in any blob (gzip members expanded:
    compressed bytes would hide a leak from a plain substring search); with `encoded`, windows
    in base64 and URL-encoded form count too (redacted output: no form may remain)."""
    import gzip

    blobs = {k: gzip.decompress(v) if v[:2] == b"\x1f\x8b" else v for k, v in blobs.items()}
    windows = corpus.windows(encoded)
    found = []
    for name, blob in blobs.items():
        for w, label in windows.items():
            if w in blob:
                found.append(f"{label} in {name} ({w!r})")
    return sorted(set(found))


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def tok(self, n: int = 28, alphabet: str = string.ascii_letters + string.digits) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def lower(self, n: int) -> str:
        return self.tok(n, string.ascii_lowercase + string.digits)

    def hexs(self, n: int) -> str:
        return self.tok(n, "0123456789abcdef")

    def b64url(self, raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def jwt(self) -> tuple[str, str]:
        header = self.b64url(b'{"alg":"RS256","kid":"k1"}')
        payload = self.b64url(json.dumps({"iss": "kubernetes/serviceaccount",
                                          "sub": "system:serviceaccount:default:" + self.lower(12),
                                          "jti": self.tok(20)}).encode())
        sig = self.b64url(self.rng.randbytes(96))
        return f"{header}.{payload}.{sig}", payload[20:] + sig


def _pem_core(pem: bytes) -> str:
    # The key material after the first (structural, shared) 64 characters of the body.
    body = "".join(l for l in pem.decode().splitlines() if not l.startswith("-----"))
    return body[64:]


def _cert(cn: str, key: ec.EllipticCurvePrivateKey, issuer: str | None = None, ca: bool = False) -> x509.Certificate:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer or cn)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("kubernetes"),
                                                    x509.IPAddress(__import__("ipaddress").ip_address("10.96.0.1"))]),
                       critical=False)
    )
    return builder.sign(key, hashes.SHA256())


def build(seed: int = 4) -> Corpus:
    g = _Gen(seed)
    c = Corpus()
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("kubernetes", ca_key, ca=True)
    client = _cert("kubernetes-admin", ca_key, issuer="kubernetes")
    ca_data = base64.b64encode(ca.public_bytes(serialization.Encoding.PEM)).decode()
    client_data = base64.b64encode(client.public_bytes(serialization.Encoding.PEM)).decode()

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    rsa_pem = rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
    key_data = base64.b64encode(rsa_pem).decode()
    c.canary("client-key-data", key_data[80:])

    # 1. kubeconfigs in several shapes ---------------------------------------------------------
    c.files["/etc/kubernetes/admin.conf"] = f"""apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: {ca_data}
    server: https://192.168.10.5:6443
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: kubernetes-admin
  name: kubernetes-admin@kubernetes
current-context: kubernetes-admin@kubernetes
kind: Config
preferences: {{}}
users:
- name: kubernetes-admin
  user:
    client-certificate-data: {client_data}
    client-key-data: {key_data}
""".encode()
    c.keep["/etc/kubernetes/admin.conf"] = ["server: https://192.168.10.5:6443", 'subject="CN=kubernetes-admin"',
                                            'issuer="CN=kubernetes"', "not_after=\"2027-01-01T00:00:00Z\""]
    win_token = c.canary("windows-kubeconfig-token", g.tok(40))
    c.files["/etc/kubernetes/kubeconfig-windows"] = (
        "apiVersion: v1\r\nkind: Config\r\nclusters:\r\n- cluster:\r\n    server: https://10.0.0.4:6443\r\n"
        "    insecure-skip-tls-verify: true\r\n  name: k\r\nusers:\r\n- name: kubelet\r\n  user:\r\n"
        f"    token: {win_token}\r\n    tokenFile: /var/lib/kubelet/token\r\n"
    ).encode()
    c.keep["/etc/kubernetes/kubeconfig-windows"] = ["tokenFile: /var/lib/kubelet/token"]
    user_pw = c.canary("kubeconfig-password", g.tok(18))
    user_name = c.canary("kubeconfig-username", "usr" + g.lower(12))
    id_token, id_core = g.jwt()
    c.canary("oidc-id-token", id_core)
    refresh = c.canary("oidc-refresh-token", g.tok(36))
    client_secret = c.canary("oidc-client-secret", g.tok(30))
    exec_env = c.canary("exec-env-value", g.tok(26))
    exec_env2 = c.canary("exec-env-plain-value", g.tok(22))
    user_token = c.canary("kubeconfig-token", g.tok(48))
    c.files["/root/.kube/config"] = f"""apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://api.prod.example:6443
    certificate-authority-data: {ca_data}
users:
- name: basic
  user:
    username: {user_name}
    password: "{user_pw}"
- name: oidc
  user:
    auth-provider:
      name: oidc
      config:
        client-id: kubernetes
        client-secret: {client_secret}
        id-token: {id_token}
        idp-issuer-url: https://login.example
        refresh-token: '{refresh}'
- name: eks
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: ["eks", "get-token", "--cluster-name", "prod"]
      env:
      - name: AWS_SECRET_ACCESS_KEY
        value: {exec_env}
      - name: AWS_PROFILE_HINT
        value: {exec_env2}
- name: tok
  user:
    token: {user_token}
""".encode()
    c.keep["/root/.kube/config"] = ["client-id: kubernetes", "idp-issuer-url: https://login.example", "command: aws"]
    json_token = c.canary("json-kubeconfig-token", g.tok(44))
    c.files["/var/lib/kubelet/kubeconfig"] = json.dumps({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://10.1.1.1:6443", "certificate-authority-data": ca_data}}],
        "users": [{"name": "u", "user": {"token": json_token}}],
    }, indent=2).encode()
    k3s_pw = c.canary("k3s-password", g.tok(32))
    c.files["/etc/rancher/k3s/k3s.yaml"] = f"""apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: {ca_data}
    server: https://127.0.0.1:6443
  name: default
kind: Config
users:
- name: default
  user:
    password: {k3s_pw}
    username: admin
""".encode()

    # 2. manifests, Secret objects, last-applied ---------------------------------------------------
    sec_data = c.canary("secret-data", g.tok(30))
    sec_data_b64 = base64.b64encode(sec_data.encode()).decode()
    c.canary("secret-data-b64", sec_data_b64)
    sec_string = c.canary("secret-stringdata", g.tok(25))
    env_value = c.canary("env-db-password", g.tok(21))
    arg_pw = c.canary("arg-password", g.tok(19))
    arg_key = c.canary("arg-api-key", g.tok(33))
    last_applied_secret = c.canary("last-applied-stringdata", g.tok(27))
    last_applied = json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "app", "namespace": "default"},
                               "stringData": {"config.ini": f"[db]\nhost = db\npass_word = x\nsecret = {last_applied_secret}\n"},
                               "type": "Opaque"})
    c.files["/etc/kubernetes/manifests-extra.yaml"] = f"""apiVersion: v1
kind: Secret
metadata:
  name: app
  namespace: default
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: |
      {last_applied}
type: Opaque
data:
  db-pass: {sec_data_b64}
stringData:
  token.txt: {sec_string}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        image: registry.example/web@sha256:{'ab' * 32}
        args: ["--password={arg_pw}", "--api-key", "{arg_key}", "--listen=:8080"]
        env:
        - name: DB_PASSWORD
          value: {env_value}
        - name: LOG_LEVEL
          value: debug
""".encode()
    c.keep["/etc/kubernetes/manifests-extra.yaml"] = ["name: LOG_LEVEL", "value: debug", "--listen=:8080",
                                                      f"sha256:{'ab' * 32}"]
    list_secret = c.canary("secretlist-data", g.tok(29))
    list_la_secret = c.canary("secretlist-last-applied", g.tok(31))
    la2 = json.dumps({"kind": "Secret", "apiVersion": "v1", "data": {"password": base64.b64encode(list_la_secret.encode()).decode()}})
    c.canary("secretlist-last-applied-b64", base64.b64encode(list_la_secret.encode()).decode())
    c.canary("secretlist-data-b64", base64.b64encode(list_secret.encode()).decode())
    c.files["/etc/kubernetes/secret-list.json"] = json.dumps({
        "kind": "SecretList", "apiVersion": "v1",
        "items": [{"kind": "Secret", "metadata": {"name": "x", "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": la2}},
            "data": {"whatever": base64.b64encode(list_secret.encode()).decode()}}],
    }).encode()

    # 3. command lines -------------------------------------------------------------------------------
    boot = c.canary("bootstrap-token", f"{g.lower(6)}.{g.lower(16)}")
    cert_key = c.canary("certificate-key", g.hexs(64))
    ca_hash = g.hexs(64)
    c.files["/var/log/cloud-init-output.log"] = (
        "Your Kubernetes control-plane has initialized successfully!\n"
        f"  kubeadm join 192.168.10.5:6443 --token {boot} \\\n"
        f"\t--discovery-token-ca-cert-hash sha256:{ca_hash} \\\n"
        f"\t--control-plane --certificate-key {cert_key}\n"
        "Then you can join any number of worker nodes.\n"
    ).encode()
    c.keep["/var/log/cloud-init-output.log"] = [f"sha256:{ca_hash}", "--control-plane"]
    tok_file_pw = c.canary("apiserver-flag-token", g.tok(24))
    flag_pw = c.canary("process-password-flag", g.tok(20))
    env_pw = c.canary("process-env-password", g.tok(23))
    nul_tok = c.canary("kubelet-cmdline-next-line-token", g.tok(34))
    c.files["/commands/processes.json"] = json.dumps({"processes": [
        {"pid": 812, "name": "kube-apiserver", "cmdline": ["kube-apiserver", "--token-auth-file=/etc/kubernetes/known_tokens.csv",
                                                          f"--token={tok_file_pw}", "--secure-port=6443"]},
        {"pid": 913, "name": "mysqld", "cmdline": f"mysqld --user=mysql --password={flag_pw} --port=3306",
         "environ": [f"MYSQL_ROOT_PASSWORD={env_pw}", "HOME=/root"]},
    ]}, indent=1).encode()
    c.keep["/commands/processes.json"] = ["--secure-port=6443", "HOME=/root", "--port=3306"]
    c.files["/commands/kubelet-cmdline.txt"] = (
        f"/usr/bin/kubelet\n--kubeconfig=/etc/kubernetes/kubelet.conf\n--token\n{nul_tok}\n--v=2\n"
    ).encode()
    c.keep["/commands/kubelet-cmdline.txt"] = ["--kubeconfig=/etc/kubernetes/kubelet.conf", "--v=2"]

    # 4. runtime and cloud ---------------------------------------------------------------------------
    reg_pw = c.canary("docker-auth-password", g.tok(20))
    docker_auth = base64.b64encode(f"robot:{reg_pw}".encode()).decode()
    c.canary("docker-auth-b64", docker_auth)
    ident = c.canary("docker-identitytoken", g.tok(40))
    c.files["/root/.docker/config.json"] = json.dumps({"auths": {
        "registry.example:5000": {"auth": docker_auth},
        "myacr.azurecr.io": {"auth": "", "identitytoken": ident}}}, indent=1).encode()
    crio_pw = c.canary("crio-auth-b64", base64.b64encode(f"puller:{g.tok(22)}".encode()).decode())
    c.files["/etc/containers/auth.json"] = json.dumps({"auths": {"quay.example": {"auth": crio_pw}}}).encode()
    ctd_pw = c.canary("containerd-password", g.tok(21))
    ctd_user = c.canary("containerd-username", "svc" + g.lower(10))
    ctd_ident = c.canary("containerd-identitytoken", g.tok(30))
    ctd_inline = c.canary("containerd-inline-password", g.tok(26))
    c.files["/etc/containerd/config.toml"] = f"""version = 2
[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = ""
  [plugins."io.containerd.grpc.v1.cri".registry.configs."registry.example:5000".auth]
    username = "{ctd_user}"
    password = "{ctd_pw}"
  [plugins."io.containerd.grpc.v1.cri".registry.configs."gcr.example".auth]
    identitytoken = "{ctd_ident}"
  [plugins."io.containerd.grpc.v1.cri".registry.configs."other.example"]
    auth = {{ username = "u", password = "{ctd_inline}" }}
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  SystemdCgroup = true
""".encode()
    c.keep["/etc/containerd/config.toml"] = ["SystemdCgroup = true", 'config_path = ""']
    enc_key = c.canary("etcd-encryption-key", base64.b64encode(g.rng.randbytes(32)).decode())
    c.files["/etc/kubernetes/encryption-config.yaml"] = f"""apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - aescbc:
          keys:
            - name: key1
              secret: {enc_key}
      - identity: {{}}
""".encode()
    aad = c.canary("azure-aad-client-secret", g.tok(34))
    aad_pw = c.canary("azure-cert-password", g.tok(16))
    c.files["/etc/kubernetes/azure.json"] = json.dumps({
        "cloud": "AzurePublicCloud", "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "aadClientId": "f1a2b3c4-0000-4000-8000-123456789abc", "aadClientSecret": aad,
        "aadClientCertPassword": aad_pw, "resourceGroup": "rg-prod", "useManagedIdentityExtension": False,
    }, indent=2).encode()
    c.keep["/etc/kubernetes/azure.json"] = ["72f988bf-86f1-41af-91ab-2d7cd011db47", "rg-prod"]
    akid = c.canary("aws-access-key-id", "AKIA" + g.tok(16, string.ascii_uppercase + string.digits))
    aws_secret = c.canary("aws-secret-access-key", g.tok(40))
    c.files["/root/.aws/credentials"] = (
        f"[default]\naws_access_key_id = {akid}\naws_secret_access_key = {aws_secret}\nregion = us-east-1\n"
    ).encode()
    c.keep["/root/.aws/credentials"] = ["region = us-east-1"]
    gcp_key = ec.generate_private_key(ec.SECP384R1())
    gcp_pem = gcp_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    c.canary("gcp-private-key", _pem_core(gcp_pem))
    gcp_key_id = c.canary("gcp-private-key-id", g.hexs(40))
    c.files["/etc/kubernetes/gcp-sa.json"] = json.dumps({
        "type": "service_account", "project_id": "proj-123", "private_key_id": gcp_key_id,
        "private_key": gcp_pem.decode(), "client_email": "sa@proj-123.iam.gserviceaccount.com",
    }).encode()
    c.keep["/etc/kubernetes/gcp-sa.json"] = ["sa@proj-123.iam.gserviceaccount.com"]

    # 5. log lines -----------------------------------------------------------------------------------------
    sa_jwt, sa_core = g.jwt()
    c.canary("log-bearer-jwt", sa_core)
    bearer_opaque = c.canary("log-bearer-opaque", g.tok(32))
    basic_pw = c.canary("log-basic-password", g.tok(14))
    basic = base64.b64encode(f"admin:{basic_pw}".encode()).decode()
    c.canary("log-basic-b64", basic)
    url_pw = c.canary("log-url-password", g.tok(18))
    pg_pw = c.canary("log-postgres-password", g.tok(17))
    mssql_pw = c.canary("log-mssql-password", g.tok(15))
    klog_tok = c.canary("log-klog-token", g.tok(30))
    kv_pw = c.canary("log-kv-password", g.tok(16))
    flag_sp = c.canary("log-flag-space-password", g.tok(18))
    log_akid = c.canary("log-aws-key", "ASIA" + g.tok(16, string.ascii_uppercase + string.digits))
    log_boot = c.canary("log-bootstrap-token", f"{g.lower(6)}.{g.lower(16)}")
    json_pw = c.canary("log-json-password", g.tok(22))
    gh_tok = c.canary("log-authorization-token-scheme", "ghp_" + g.tok(36))
    query_tok = c.canary("log-url-query-access-token", g.tok(28))
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_pem = ec_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                  serialization.NoEncryption())
    c.canary("log-ec-key-journal-prefixed", _pem_core(ec_pem))
    prefixed = "".join(f"Nov 22 11:30:02 cp1 app[411]: {l}\n" for l in ec_pem.decode().splitlines())
    enc_pem = rsa.generate_private_key(public_exponent=65537, key_size=1024).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"))
    c.canary("log-encrypted-pkcs8", _pem_core(enc_pem))
    c.files["/var/log/syslog"] = (
        "Nov 22 11:30:00 cp1 kubelet[900]: I1122 11:30:00.000001     900 kubelet.go:2100] \"SyncLoop ADD\" source=\"api\"\n"
        f"Nov 22 11:30:00 cp1 app[411]: GET /api Authorization: Bearer {sa_jwt} status=200\n"
        f"Nov 22 11:30:00 cp1 app[411]: curl -H 'Authorization: Bearer {bearer_opaque}' https://10.96.0.1/api\n"
        f"Nov 22 11:30:00 cp1 app[411]: proxy header Proxy-Authorization: Basic {basic}\n"
        f"Nov 22 11:30:01 cp1 containerd[812]: pulling from https://robot:{url_pw}@registry.example:5000/v2/\n"
        f"Nov 22 11:30:01 cp1 app[411]: connecting to postgres://app:{pg_pw}@db.default.svc:5432/app?sslmode=disable\n"
        f"Nov 22 11:30:01 cp1 app[411]: conn=\"Server=db;Database=app;User Id=sa;Password={mssql_pw};\"\n"
        f"Nov 22 11:30:01 cp1 kubelet[900]: I1122 11:30:01.1 900 x.go:1] \"using\" token=\"{klog_tok}\" node=\"cp1\"\n"
        f"Nov 22 11:30:01 cp1 app[411]: starting with password={kv_pw} debug=true\n"
        f"Nov 22 11:30:01 cp1 app[411]: exec /usr/bin/tool --password {flag_sp} --verbose\n"
        f"Nov 22 11:30:01 cp1 app[411]: aws credentials {log_akid} loaded\n"
        f"Nov 22 11:30:01 cp1 kubeadm[77]: [bootstrap-token] Using token: {log_boot}\n"
        f"Nov 22 11:30:01 cp1 app[411]: config {{\"user\": \"x\", \"password\": \"{json_pw}\"}}\n"
        f"Nov 22 11:30:01 cp1 app[411]: git fetch with Authorization: token {gh_tok}\n"
        f"Nov 22 11:30:01 cp1 app[411]: GET https://api.example/v1/items?access_token={query_tok}&page=2 200\n"
        + prefixed
        + "Nov 22 11:30:03 cp1 app[411]: dumping key\n" + enc_pem.decode()
        + "Nov 22 11:30:04 cp1 kubelet[900]: E1122 11:30:04.2 900 x.go:2] \"failed to get token: unauthorized\"\n"
        + "Nov 22 11:30:05 cp1 systemd[1]: Started kubelet.service.\n"
    ).encode()
    c.keep["/var/log/syslog"] = ["failed to get token: unauthorized", "Started kubelet.service.",
                                 "sslmode=disable", "\"SyncLoop ADD\" source=\"api\"", "node=\"cp1\""]
    # container logs: CRI format with an escaped PEM, docker json-file
    pod_key = ed25519.Ed25519PrivateKey.generate()
    ssh_pem = pod_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                    serialization.NoEncryption())
    c.canary("pod-log-openssh-key", _pem_core(ssh_pem)[:60])
    pkcs8 = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    c.canary("pod-log-escaped-pkcs8", _pem_core(pkcs8))
    escaped = json.dumps({"tls.key": pkcs8.decode()})
    pod_jwt, pod_jwt_core = g.jwt()
    c.canary("pod-log-jwt", pod_jwt_core)
    c.files["/var/log/pods/default_web-7d9c_0b7f0c7e-1111-2222-3333-444455556666/web/0.log"] = (
        f"2026-11-22T11:30:00.000000001Z stdout F loaded {escaped}\n"
        f"2026-11-22T11:30:00.000000002Z stdout F sa token is {pod_jwt}\n"
        + "".join(f"2026-11-22T11:30:00.000000003Z stderr F {l}\n" for l in ssh_pem.decode().splitlines())
        + "2026-11-22T11:30:01.000000000Z stdout F listening on :8080\n"
    ).encode()
    dj_pw = c.canary("docker-json-log-password", g.tok(20))
    c.files["/var/lib/docker/containers/abc123/abc123-json.log"] = (
        json.dumps({"log": f"DB_PASSWORD={dj_pw} starting\n", "stream": "stdout", "time": "2026-11-22T11:30:00Z"}) + "\n"
    ).encode()

    # 6. PEM blocks in odd places --------------------------------------------------------------------------
    cm_key = rsa.generate_private_key(public_exponent=65537, key_size=1024).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    c.canary("configmap-block-scalar-key", _pem_core(cm_key))
    b64_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
    b64_key_text = base64.b64encode(b64_key).decode()
    c.canary("annotation-base64-pem", b64_key_text[70:])
    indented = "".join(f"    {l}\n" for l in cm_key.decode().splitlines())
    c.files["/etc/kubernetes/configmap-odd.yaml"] = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: odd\n  annotations:\n"
        f"    example.com/blob: {b64_key_text}\n"
        "data:\n  tls.key: |\n" + indented + "  plain: hello\n"
    ).encode()
    c.keep["/etc/kubernetes/configmap-odd.yaml"] = ["plain: hello", "name: odd"]
    # UTF-16LE with BOM (Windows PowerShell 5.1 `>` output)
    win_pw = c.canary("utf16-service-password", g.tok(24))
    win_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
    c.canary("utf16-pem-key", _pem_core(win_key))
    win_bearer = c.canary("utf16-bearer", g.tok(30))
    win_text = (
        "Name        : kubelet\r\nStatus      : Running\r\n"
        f"CommandLine : C:\\k\\kubelet.exe --password={win_pw} --v=2\r\n"
        f"Header      : Authorization: Bearer {win_bearer}\r\n"
        + win_key.decode().replace("\n", "\r\n")
    )
    c.files["/windows/services.txt"] = b"\xff\xfe" + win_text.encode("utf-16-le")
    c.keep["/windows/services.txt"] = ["Status      : Running", "--v=2"]
    # a rotated, compressed log
    import gzip

    gz_pw = c.canary("rotated-gzip-log-password", g.tok(22))
    c.files["/var/log/syslog.2.gz"] = gzip.compress(
        f"Nov 20 10:00:00 cp1 app[411]: retry with password={gz_pw} later\n".encode() * 3)
    # whole files that are nothing but secrets
    sa_file_jwt, sa_file_core = g.jwt()
    c.canary("serviceaccount-token-file", sa_file_core)
    c.files["/var/run/secrets/kubernetes.io/serviceaccount/token"] = sa_file_jwt.encode()
    c.files["/var/lib/kubelet/token"] = c.canary("tokenfile-contents", g.tok(36)).encode() + b"\n"
    csv_tok = c.canary("known-tokens-csv", g.tok(32))
    c.files["/etc/kubernetes/known_tokens.csv"] = f"{csv_tok},admin,1,system:masters\n".encode()
    _known_gaps(c, g)
    _round_two(c, g)
    _round_three(c, g)
    c.encoded_only.update({"docker-auth-password", "log-basic-password", "secret-data",
                           "secretlist-last-applied", "secretlist-data"})
    return c


def _known_gaps(c: Corpus, g: _Gen) -> None:
    """The gaps docs/redaction.md used to list as known misses (issue 4, second round)."""
    upper = string.ascii_uppercase + string.digits
    b64 = string.ascii_letters + string.digits + "+/"

    def aws_secret() -> str:
        # 40 base64 characters with both cases and a digit, like every real secret access key
        return g.tok(37, b64) + g.tok(1, string.ascii_uppercase) + g.tok(1, string.ascii_lowercase) + g.tok(1, string.digits)

    # 1. bare AWS secret access keys: beside an access key id, a few lines below one, after a name
    csv_id = c.canary("csv-aws-access-key-id", "AKIA" + g.tok(16, upper))
    csv_secret = c.canary("csv-aws-secret-key", aws_secret())
    c.files["/home/ops/Downloads/ops_accessKeys.csv"] = (
        "Access key ID,Secret access key\r\n" f"{csv_id},{csv_secret}\r\n").encode()
    sts_id = c.canary("log-sts-access-key-id", "ASIA" + g.tok(16, upper))
    sts_secret = c.canary("log-sts-secret-next-line", aws_secret())
    named_secret = c.canary("log-aws-configure-set-secret", aws_secret())
    sha = g.hexs(40)
    # 2. database and remote tools on command lines
    mysql_pw = c.canary("log-mysql-p", g.tok(14))
    mysqldump_pw = c.canary("log-mysqldump-p-quoted", g.tok(9) + " " + g.tok(9))
    pg_pw = c.canary("log-pgpassword", g.tok(16))
    redis_pw = c.canary("log-redis-cli-a", g.tok(20))
    sshpass_pw = c.canary("log-sshpass-p", g.tok(15))
    # 3. Azure SAS and storage / Service Bus connection strings
    sas_sig = c.canary("log-azure-sas-sig", g.tok(30) + "%2B" + g.tok(10) + "%3D")
    account_key = c.canary("log-azure-account-key", base64.b64encode(g.rng.randbytes(64)).decode())
    sb_key = c.canary("log-servicebus-shared-access-key", base64.b64encode(g.rng.randbytes(32)).decode())
    # 4. an unquoted value with a comma inside, in the middle of a line
    comma_pw = c.canary("log-password-with-comma", g.tok(8) + "," + g.tok(8))
    list_pw = c.canary("log-password-in-kv-list", g.tok(14))
    # 6. token formats and Authorization schemes
    gh = c.canary("log-github-classic", "ghp_" + g.tok(36))
    gh_pat = c.canary("log-github-fine-grained", "github_pat_" + g.tok(22) + "_" + g.tok(59))
    gl = c.canary("log-gitlab-pat", "glpat-" + g.tok(20))
    slack = c.canary("log-slack-bot", f"xoxb-{g.tok(12, string.digits)}-{g.tok(13, string.digits)}-{g.tok(24)}")
    pypi = c.canary("log-pypi-token", "pypi-AgEIcHlwaS5vcmc" + g.tok(60, string.ascii_letters + string.digits + "_-"))
    digest = c.canary("log-digest-response", g.hexs(32))
    apikey = c.canary("log-authorization-apikey", g.tok(32))
    c.files["/var/log/ops-gaps.log"] = (
        f"Nov 22 11:40:00 cp1 ci[77]: assumed role, AccessKeyId {sts_id} SessionToken follows\n"
        f"Nov 22 11:40:00 cp1 ci[77]:     {sts_secret}\n"
        f"Nov 22 11:40:01 cp1 ci[77]: checked out {sha}\n"   # in the window after the id: hex stays
        f"Nov 22 11:40:01 cp1 backup[90]: + mysql -h db -u root -p{mysql_pw} app < schema.sql\n"
        f"Nov 22 11:40:01 cp1 backup[90]: + mysqldump -uroot -p'{mysqldump_pw}' --all-databases\n"
        f"Nov 22 11:40:01 cp1 backup[90]: + PGPASSWORD={pg_pw} pg_dump -h db app\n"
        f"Nov 22 11:40:01 cp1 backup[90]: + redis-cli -h cache -a {redis_pw} --no-auth-warning ping\n"
        f"Nov 22 11:40:01 cp1 backup[90]: + sshpass -p {sshpass_pw} scp dump.sql ops@10.0.0.9:\n"
        f"Nov 22 11:40:02 cp1 app[411]: GET https://acct1.blob.core.windows.net/c/b.tgz?sv=2022-11-02&se=2026-12-01T00%3A00%3A00Z&sr=b&sp=r&sig={sas_sig} 200\n"
        f"Nov 22 11:40:02 cp1 app[411]: storage DefaultEndpointsProtocol=https;AccountName=acct1;AccountKey={account_key};EndpointSuffix=core.windows.net\n"
        f"Nov 22 11:40:02 cp1 app[411]: bus Endpoint=sb://ns1.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={sb_key}\n"
        f"Nov 22 11:40:03 cp1 app[411]: connecting with password={comma_pw} retries=3\n"
        f"Nov 22 11:40:03 cp1 app[411]: opts host=db,password={list_pw},pool=5\n"
        f"Nov 22 11:40:04 cp1 ci[77]: cloning with {gh} from github\n"
        f"Nov 22 11:40:04 cp1 ci[77]: GH_PAT is {gh_pat}\n"
        f"Nov 22 11:40:04 cp1 ci[77]: gitlab push with {gl} ok\n"
        f"Nov 22 11:40:04 cp1 ci[77]: notify via {slack}\n"
        f"Nov 22 11:40:04 cp1 ci[77]: twine upload -u __token__ {pypi}\n"
        f"Nov 22 11:40:05 cp1 app[411]: GET /x Authorization: Digest username=\"ops\", realm=\"r\", nonce=\"{g.hexs(16)}\", uri=\"/x\", response=\"{digest}\"\n"
        f"Nov 22 11:40:05 cp1 app[411]: GET /y Authorization: ApiKey {apikey} 200\n"
        f"Nov 22 11:40:06 cp1 ci[77]: + aws configure set aws_secret_access_key {named_secret}\n"
    ).encode()
    c.keep["/var/log/ops-gaps.log"] = [
        f"checked out {sha}", "se=2026-12-01T00%3A00%3A00Z&sr=b&sp=r&sig=", "AccountName=acct1;AccountKey=",
        "SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=", " retries=3", "host=db,password=", ",pool=5",
        "scp dump.sql ops@10.0.0.9:", "--no-auth-warning ping", "--all-databases", 'username=\"ops\"']

    # 5. username and password on separate lines of a file that does not parse
    db_user = c.canary("text-multiline-username", "dbu" + g.lower(10))
    db_pw = c.canary("text-multiline-password", g.tok(18))
    c.files["/opt/app/conf/db-settings.txt"] = (
        "# database settings (not YAML: the tabs below break it)\n"
        "database:\n\tdriver: postgres\n"
        f"  username: {db_user}\n"
        f"  password: {db_pw}\n"
        "\thost: db.default.svc\n").encode()
    c.keep["/opt/app/conf/db-settings.txt"] = ["driver: postgres", "host: db.default.svc"]
    argv_user = c.canary("argv-split-username", "svc" + g.lower(9))
    argv_pw = c.canary("argv-split-password", g.tok(17))
    c.files["/commands/registry-login-cmdline.txt"] = (
        f"/usr/bin/crane\nauth\nlogin\nregistry.example\n--username\n{argv_user}\n--password\n{argv_pw}\n").encode()
    c.keep["/commands/registry-login-cmdline.txt"] = ["registry.example", "--username", "--password"]

    # 6. npm, PuTTY .ppk (a file of its own and pasted into a ConfigMap), kubelet key flags
    npm = c.canary("npmrc-auth-token", "npm_" + g.tok(36))
    c.files["/root/.npmrc"] = f"registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken={npm}\n".encode()
    c.keep["/root/.npmrc"] = ["registry=https://registry.npmjs.org/", "//registry.npmjs.org/:_authToken="]
    ppk_private = c.canary("ppk-private-lines", g.tok(64, b64) + g.tok(20, b64))
    ppk_mac = c.canary("ppk-private-mac", g.hexs(64))
    ppk = ("PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: ops@bastion\nPublic-Lines: 2\n"
           "AAAAC3NzaC1lZDI1NTE5AAAAIOpsPublicKeyIsNotSecretAtAllX\nAAAAC3NzaC1lZDI1NTE5\n"
           f"Private-Lines: 2\n{ppk_private[:64]}\n{ppk_private[64:]}\nPrivate-MAC: {ppk_mac}\n")
    c.files["/home/ops/.ssh/bastion.ppk"] = ppk.encode()
    ppk2_private = c.canary("ppk-in-configmap", g.tok(44, b64))
    c.files["/cluster/configmap-putty.txt"] = (
        "Name: putty-keys\nData\n====\nkey.ppk:\n----\n"
        + ppk.replace(ppk_private[:64] + "\n" + ppk_private[64:], ppk2_private + "\n" + "A" * 8)
            .replace("Private-Lines: 2", "Private-Lines: 2").replace(ppk_mac, g.hexs(64))
        + "Events: <none>\n").encode()
    c.keep["/cluster/configmap-putty.txt"] = ["Comment: ops@bastion", "AAAAC3NzaC1lZDI1NTE5AAAAIOpsPublicKeyIsNotSecretAtAllX",
                                              "Events: <none>"]
    inline_key = c.canary("kubelet-client-key-inline", base64.b64encode(g.rng.randbytes(48)).decode())
    c.files["/var/log/apiserver-flags.log"] = (
        "I1122 11:40:06.1 1 flags.go:64] FLAG: --kubelet-client-key=\"/etc/kubernetes/pki/apiserver-kubelet-client.key\"\n"
        "I1122 11:40:06.1 1 flags.go:64] FLAG: --tls-private-key-file=\"pki/apiserver.key\"\n"
        f"I1122 11:40:06.1 1 flags.go:64] FLAG: --kubelet-client-key=\"{inline_key}\"\n").encode()
    c.keep["/var/log/apiserver-flags.log"] = ['--kubelet-client-key="/etc/kubernetes/pki/apiserver-kubelet-client.key"',
                                              '--tls-private-key-file="pki/apiserver.key"']


def _round_two(c: Corpus, g: _Gen) -> None:
    """Issue 11: the shapes that leaked (webhooks, Helm values, hosts.toml headers, CRI partial
    lines, base64 documents, CLI password flags, Ceph keyrings, redis.conf, vault tokens) and their
    families, each in a file shaped like the one a real node holds."""
    b64 = string.ascii_letters + string.digits + "+/"
    upper = string.ascii_uppercase + string.digits

    def slack_path() -> str:
        return f"T{g.tok(10, upper)}/B{g.tok(10, upper)}/{g.tok(24)}"

    def teams_path() -> str:
        guid = lambda: f"{g.hexs(8)}-{g.hexs(4)}-{g.hexs(4)}-{g.hexs(4)}-{g.hexs(12)}"  # noqa: E731
        return f"{guid()}@{guid()}/IncomingWebhook/{g.hexs(32)}/{guid()}"

    def ceph_key() -> str:
        # a cephx secret: base64 of 28 bytes, "AQ" + ... + "==" (`ceph auth get-or-create` output)
        return base64.b64encode(b"\x01\x00" + g.rng.randbytes(26)).decode()

    def vault_hvs() -> str:
        return "hvs.CAESI" + g.tok(82, string.ascii_letters + string.digits + "_-")

    # 1. Helm values (https://helm.sh/docs/chart_template_guide/values_files/): nested keys
    smtp_pass = c.canary("helm-smtp-pass", g.tok(20))
    redis_pw = c.canary("helm-redis-auth-password", g.tok(22))
    helm_slack = c.canary("helm-slack-webhook", slack_path())
    helm_key = c.canary("helm-license-key", g.tok(32))
    db_pass = c.canary("helm-db-pass-camel", g.tok(18))
    nested_value = c.canary("helm-password-value-by-path", g.tok(21))
    c.files["/root/charts/app/values.yaml"] = f"""# Default values for app.
replicaCount: 2
image:
  repository: registry.example/app
  tag: "1.4.2"
smtp:
  host: smtp.example.com
  port: 587
  user: alerts@example.com
  pass: {smtp_pass}
redis:
  enabled: true
  auth:
    enabled: true
    password: "{redis_pw}"
    existingSecret: app-redis
database:
  dbPass: {db_pass}
  existingSecret: app-db
  replicaPassword:
    value: {nested_value}
    rotate: false
alerting:
  slack:
    channel: "#ops"
    webhook: https://hooks.slack.com/services/{helm_slack}
license:
  key: {helm_key}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
""".encode()
    c.keep["/root/charts/app/values.yaml"] = ["host: smtp.example.com", "existingSecret: app-redis",
                                             "existingSecret: app-db", "topologyKey: kubernetes.io/hostname",
                                             "webhook: https://hooks.slack.com/services/", 'channel: "#ops"']

    # 2. containerd registry hosts (https://github.com/containerd/containerd/blob/main/docs/hosts.md)
    reg_key = c.canary("hosts-toml-x-registry-key", g.tok(40))
    reg_list = c.canary("hosts-toml-header-array", g.tok(36))   # header values may be arrays
    reg_basic_pw = c.canary("hosts-toml-authorization-basic-password", g.tok(16))
    reg_basic = base64.b64encode(f"puller:{reg_basic_pw}".encode()).decode()
    c.canary("hosts-toml-authorization-basic", reg_basic)
    c.files["/etc/containerd/certs.d/registry.example.com/hosts.toml"] = f"""server = "https://registry.example.com"

[host."https://mirror.example.com:5000"]
  capabilities = ["pull", "resolve"]
  skip_verify = false
  [host."https://mirror.example.com:5000".header]
    X-Registry-Key = "{reg_key}"
    X-Mirror-Key = ["{reg_list}"]
    x-custom-2 = ["value1", "value2"]
    Authorization = "Basic {reg_basic}"
""".encode()
    c.keep["/etc/containerd/certs.d/registry.example.com/hosts.toml"] = [
        'server = "https://registry.example.com"', 'capabilities = ["pull", "resolve"]', "skip_verify = false",
        'x-custom-2 = ["value1", "value2"]']
    c.encoded_only.add("hosts-toml-authorization-basic-password")

    # 3. redis.conf and sentinel.conf (https://raw.githubusercontent.com/redis/redis/unstable/redis.conf)
    requirepass = c.canary("redis-conf-requirepass", g.tok(24))
    masterauth = c.canary("redis-conf-masterauth", g.tok(24))
    c.files["/etc/redis/redis.conf"] = f"""bind 127.0.0.1 -::1
protected-mode yes
port 6379
# requirepass foobared
requirepass {requirepass}
replicaof 10.0.0.21 6379
masterauth "{masterauth}"
maxmemory-policy allkeys-lru
""".encode()
    c.keep["/etc/redis/redis.conf"] = ["# requirepass foobared", "port 6379", "maxmemory-policy allkeys-lru"]
    # https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel/ (sentinel auth-pass)
    sentinel = c.canary("redis-sentinel-auth-pass", g.tok(21))
    c.files["/etc/redis/sentinel.conf"] = (
        "port 26379\nsentinel monitor mymaster 10.0.0.21 6379 2\n"
        f"sentinel auth-pass mymaster {sentinel}\nsentinel down-after-milliseconds mymaster 5000\n").encode()
    c.keep["/etc/redis/sentinel.conf"] = ["sentinel monitor mymaster 10.0.0.21 6379 2", "sentinel auth-pass mymaster "]

    # 4. a Ceph keyring (https://docs.ceph.com/en/latest/rados/operations/user-management/#keyring-management)
    admin_key = c.canary("ceph-keyring-admin", ceph_key())
    rbd_key = c.canary("ceph-keyring-client", ceph_key())
    c.files["/etc/ceph/ceph.client.admin.keyring"] = f"""[client.admin]
\tkey = {admin_key}
\tcaps mds = "allow *"
\tcaps mgr = "allow *"
\tcaps mon = "allow *"
\tcaps osd = "allow *"
[client.kubernetes]
\tkey = {rbd_key}
\tcaps mon = "profile rbd"
""".encode()
    c.keep["/etc/ceph/ceph.client.admin.keyring"] = ['caps mon = "profile rbd"', "[client.kubernetes]"]
    csi_key = c.canary("ceph-csi-userkey", ceph_key())
    c.files["/etc/ceph-csi/csi-rbd-values.yaml"] = f"""csiConfig:
  - clusterID: 3f2a9c1e-8d7b-4e5f-9a0b-1c2d3e4f5a6b
    monitors: ["10.0.0.31:6789", "10.0.0.32:6789"]
secret:
  create: true
  name: csi-rbd-secret
  userID: kubernetes
  userKey: {csi_key}
""".encode()
    c.keep["/etc/ceph-csi/csi-rbd-values.yaml"] = ["name: csi-rbd-secret", "userID: kubernetes",
                                                  "clusterID: 3f2a9c1e-8d7b-4e5f-9a0b-1c2d3e4f5a6b"]

    # 5. a shell history: password flags of the common tools, a bare vault login
    curl_pw = c.canary("history-curl-u", g.tok(15))
    curl_user_pw = c.canary("history-curl-user", g.tok(17))
    docker_pw = c.canary("history-docker-login-p", g.tok(19))
    podman_pw = c.canary("history-podman-login-password", g.tok(16))
    helm_pw = c.canary("history-helm-repo-password", g.tok(18))
    mysql_pw = c.canary("history-mysql-p", g.tok(14))
    mysql_long = c.canary("history-mysql-password-eq", g.tok(15))
    psql_pw = c.canary("history-psql-uri", g.tok(16))
    redis_a = c.canary("history-redis-cli-a", g.tok(20))
    hvs = c.canary("history-vault-login-hvs", vault_hvs())
    legacy = c.canary("history-vault-token-legacy", "s." + g.tok(10, string.ascii_lowercase) + g.tok(8, string.ascii_uppercase) + g.tok(6, string.digits))
    discord = c.canary("history-discord-webhook", f"{g.tok(18, string.digits)}/{g.tok(68, string.ascii_letters + string.digits + '_-')}")
    helm_set = c.canary("history-helm-set-smtp-pass", g.tok(17))
    c.files["/root/.bash_history"] = (
        "kubectl get nodes -o wide\n"
        f"curl -u admin:{curl_pw} https://registry.example.com/v2/_catalog\n"
        f"curl -sS --user 'ci:{curl_user_pw}' -X POST https://jenkins.example.com/job/deploy/build\n"
        f"docker login -u robot -p {docker_pw} registry.example.com\n"
        f"podman login --username robot --password {podman_pw} quay.example.com\n"
        f"helm repo add internal https://charts.example.com --username ci --password {helm_pw}\n"
        f"helm upgrade --install app ./app --set smtp.pass={helm_set} --set replicaCount=2\n"
        f"mysql -h 10.0.0.40 -u root -p{mysql_pw} app\n"
        f"mysqldump --user=root --password={mysql_long} --all-databases > /tmp/all.sql\n"
        f"psql postgresql://app:{psql_pw}@db.default.svc:5432/app -c 'select 1'\n"
        f"redis-cli -h 10.0.0.21 -a {redis_a} info replication\n"
        f"vault login {hvs}\n"
        f"vault login {legacy}\n"
        f"curl -H 'Content-Type: application/json' -d '{{\"content\":\"deployed\"}}' https://discord.com/api/webhooks/{discord}\n"
        "journalctl -u kubelet --since today\n").encode()
    c.keep["/root/.bash_history"] = ["kubectl get nodes -o wide", "https://registry.example.com/v2/_catalog",
                                     "--set replicaCount=2", "journalctl -u kubelet --since today",
                                     "-X POST https://jenkins.example.com/job/deploy/build", "info replication",
                                     "@db.default.svc:5432/app -c 'select 1'"]

    # 6. a systemd unit's Environment= (systemd.exec(5)): a kubeconfig in base64, a webhook
    kc_token = c.canary("unit-env-kubeconfig-b64-token", g.tok(44))
    kubeconfig = (f"apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://10.0.0.10:6443\n"
                  f"  name: prod\nusers:\n- name: deployer\n  user:\n    token: {kc_token}\n")
    kc_b64 = base64.b64encode(kubeconfig.encode()).decode()
    c.encoded_only.add("unit-env-kubeconfig-b64-token")
    teams = c.canary("unit-env-teams-webhook", teams_path())
    unit_pw = c.canary("unit-env-db-password", g.tok(20))
    c.files["/etc/systemd/system/deployer.service"] = f"""[Unit]
Description=Deployer agent
After=network-online.target

[Service]
Environment=KUBECONFIG_B64={kc_b64}
Environment="TEAMS_WEBHOOK=https://contoso.webhook.office.com/webhookb2/{teams}"
Environment="DB_PASSWORD={unit_pw}" "LOG_LEVEL=info"
ExecStart=/usr/local/bin/deployer --listen :9000
Restart=always

[Install]
WantedBy=multi-user.target
""".encode()
    c.keep["/etc/systemd/system/deployer.service"] = ["ExecStart=/usr/local/bin/deployer --listen :9000",
                                                      "https://contoso.webhook.office.com/webhookb2/",
                                                      '"LOG_LEVEL=info"', "Environment=KUBECONFIG_B64="]

    # 7. docker inspect (Config.Env, Labels) and crictl inspect (CRI KeyValue envs)
    di_slack = c.canary("docker-inspect-env-slack-webhook", slack_path())
    di_key = c.canary("docker-inspect-env-api-key", g.tok(32))
    di_kc_token = c.canary("docker-inspect-env-kubeconfig-b64-token", g.tok(40))
    di_kc = base64.b64encode(kubeconfig.replace(kc_token, di_kc_token).encode()).decode()
    c.encoded_only.add("docker-inspect-env-kubeconfig-b64-token")
    c.files["/commands/docker-inspect-notifier.json"] = json.dumps([{
        "Id": g.hexs(64), "Name": "/notifier", "State": {"Status": "running", "Pid": 4242},
        "Config": {"Hostname": "notifier", "Image": "registry.example/notifier:2.1",
                   "Env": [f"SLACK_WEBHOOK_URL=https://hooks.slack.com/services/{di_slack}", f"NOTIFIER_API_KEY={di_key}",
                           f"KUBE_CONFIG_DATA={di_kc}", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Labels": {"io.kubernetes.pod.name": "notifier-6d4b9", "io.kubernetes.pod.namespace": "ops"}},
    }], indent=4).encode()
    c.keep["/commands/docker-inspect-notifier.json"] = ['"io.kubernetes.pod.namespace": "ops"', "PATH=/usr/local/sbin"]
    cri_vault = c.canary("crictl-inspect-env-vault-token", vault_hvs())
    cri_pw = c.canary("crictl-inspect-env-redis-password", g.tok(23))
    c.files["/commands/crictl-inspect-3f9a.json"] = json.dumps({
        "status": {"id": g.hexs(64), "metadata": {"attempt": 0, "name": "worker"}, "state": "CONTAINER_RUNNING"},
        "info": {"sandboxID": g.hexs(64), "pid": 5151, "config": {
            "metadata": {"name": "worker"}, "image": {"image": "registry.example/worker:3.0"},
            "envs": [{"key": "VAULT_ADDR", "value": "https://vault.example:8200"},
                     {"key": "VAULT_TOKEN", "value": cri_vault},
                     {"key": "REDIS_PASSWORD", "value": cri_pw},
                     {"key": "K8S_NODE_NAME_LABEL", "value": "worker-1"}]}},
    }, indent=2).encode()
    c.keep["/commands/crictl-inspect-3f9a.json"] = ['"K8S_NODE_NAME_LABEL"', '"https://vault.example:8200"', '"worker-1"']

    # 8. a pod spec's env (kubectl get pod -o yaml)
    pod_slack = c.canary("pod-env-slack-webhook", slack_path())
    pod_kc_token = c.canary("pod-env-kubeconfig-b64-token", g.tok(42))
    pod_kc = base64.b64encode(kubeconfig.replace(kc_token, pod_kc_token).encode()).decode()
    c.encoded_only.add("pod-env-kubeconfig-b64-token")
    ann_token = c.canary("pod-annotation-json-b64-token", g.tok(36))
    ann = base64.b64encode(json.dumps({"registry": "registry.example", "token": ann_token}).encode()).decode()
    c.encoded_only.add("pod-annotation-json-b64-token")
    c.files["/cluster/pods/ops/notifier-6d4b9.yaml"] = f"""apiVersion: v1
kind: Pod
metadata:
  name: notifier-6d4b9
  namespace: ops
  annotations:
    example.com/pull-config: {ann}
spec:
  containers:
  - name: notifier
    image: registry.example/notifier:2.1
    env:
    - name: SLACK_WEBHOOK
      value: https://hooks.slack.com/services/{pod_slack}
    - name: KUBECONFIG_DATA
      value: {pod_kc}
    - name: LOG_FORMAT
      value: json
""".encode()
    c.keep["/cluster/pods/ops/notifier-6d4b9.yaml"] = ["value: json", "name: KUBECONFIG_DATA"]

    # 9. CRI logs cut into P/F partial lines (kubernetes/design-proposals-archive node/kubelet-cri-logging.md)
    jwt1, jwt1_core = g.jwt()
    c.canary("cri-partial-jwt-split-in-signature", jwt1_core)
    cut1 = len(jwt1) - 40
    jwt2, jwt2_core = g.jwt()
    c.canary("cri-partial-jwt-split-in-header", jwt2_core)
    opaque = c.canary("cri-partial-bearer-opaque", g.tok(40))
    c.files["/var/log/pods/ops_notifier-6d4b9_1c2d3e4f-0000-4000-8000-abcdef012345/notifier/0.log"] = (
        "2026-11-22T11:31:00.000000001Z stdout F starting notifier\n"
        f"2026-11-22T11:31:00.100000000Z stdout P calling https://10.96.0.1/api with Bearer {jwt1[:cut1]}\n"
        f"2026-11-22T11:31:00.100000000Z stdout F {jwt1[cut1:]} took 12ms\n"
        f"2026-11-22T11:31:00.200000000Z stderr P retry with ey\n"
        f"2026-11-22T11:31:00.200000000Z stdout F unrelated line\n"
        f"2026-11-22T11:31:00.200000000Z stderr F {jwt2[2:]}\n"
        f"2026-11-22T11:31:00.300000000Z stdout P proxy header X-Upstream: Bearer {opaque[:20]}\n"
        f"2026-11-22T11:31:00.300000000Z stdout F {opaque[20:]} forwarded\n"
        "2026-11-22T11:31:01.000000000Z stdout F done\n").encode()
    c.keep["/var/log/pods/ops_notifier-6d4b9_1c2d3e4f-0000-4000-8000-abcdef012345/notifier/0.log"] = [
        "stdout F starting notifier", " took 12ms", "stdout F unrelated line", " forwarded", "stdout F done"]

    # 10. journald (journalctl -o short-iso-precise) lines
    j_hvs = c.canary("journal-vault-token-in-prose", vault_hvs())
    j_bearer = c.canary("journal-bearer-no-other-word", g.tok(30))
    j_discord = c.canary("journal-discord-webhook", f"{g.tok(19, string.digits)}/{g.tok(68, string.ascii_letters + string.digits + '_-')}")
    j_redis = c.canary("journal-redis-config-set", g.tok(18))
    c.files["/var/log/journal/deployer.log"] = (
        f"2026-11-22T11:32:00.000001+0000 cp1 deployer[812]: renewed lease with {j_hvs} for 768h\n"
        f"2026-11-22T11:32:00.000002+0000 cp1 deployer[812]: upstream replied: Bearer {j_bearer}\n"
        f"2026-11-22T11:32:00.000003+0000 cp1 deployer[812]: notify POST https://discordapp.com/api/webhooks/{j_discord} 204\n"
        f"2026-11-22T11:32:00.000004+0000 cp1 redis-init[90]: + redis-cli CONFIG SET requirepass {j_redis}\n"
        "2026-11-22T11:32:00.000005+0000 cp1 systemd[1]: Started deployer.service - Deployer agent.\n").encode()
    c.keep["/var/log/journal/deployer.log"] = [" for 768h", "Started deployer.service - Deployer agent.", " 204"]

    # 11. registry and tool credentials files: the kubelet's own config.json
    # (https://kubernetes.io/docs/concepts/containers/images/#configuring-nodes-to-authenticate-to-a-private-registry),
    # .netrc (https://everything.curl.dev/usingcurl/netrc), .pgpass
    # (https://www.postgresql.org/docs/current/libpq-pgpass.html), .my.cnf
    # (https://dev.mysql.com/doc/refman/8.0/en/option-files.html), helm's repositories.yaml
    # (`helm repo add --username --password` writes it), gitlab-runner's config.toml
    # (https://docs.gitlab.com/runner/configuration/advanced-configuration.html)
    kl_pw = c.canary("kubelet-config-json-auth-password", g.tok(20))
    kl_auth = base64.b64encode(f"_json_key:{kl_pw}".encode()).decode()
    c.canary("kubelet-config-json-auth", kl_auth)
    c.encoded_only.add("kubelet-config-json-auth-password")
    c.files["/var/lib/kubelet/config.json"] = json.dumps({"auths": {"gcr.io": {"auth": kl_auth, "email": "ci@example.com"}}},
                                                         indent=2).encode()
    c.keep["/var/lib/kubelet/config.json"] = ['"email": "ci@example.com"']
    netrc_pw = c.canary("netrc-password", g.tok(18))
    c.files["/root/.netrc"] = f"machine registry.example.com\n  login robot\n  password {netrc_pw}\n".encode()
    pg_pw = c.canary("pgpass-password", g.tok(17))
    c.files["/root/.pgpass"] = f"db.default.svc:5432:app:app:{pg_pw}\n".encode()
    mycnf_pw = c.canary("my-cnf-password", g.tok(16))
    c.files["/root/.my.cnf"] = f"[client]\nuser=root\npassword={mycnf_pw}\nhost=10.0.0.40\n".encode()
    c.keep["/root/.my.cnf"] = ["host=10.0.0.40", "[client]"]
    vault_file = c.canary("vault-token-file", vault_hvs())
    c.files["/root/.vault-token"] = vault_file.encode()
    helm_repo_pw = c.canary("helm-repositories-password", g.tok(19))
    c.files["/root/.config/helm/repositories.yaml"] = f"""apiVersion: ""
generated: "2026-11-20T10:00:00Z"
repositories:
- caFile: ""
  certFile: ""
  insecure_skip_tls_verify: false
  keyFile: ""
  name: internal
  pass_credentials_all: false
  password: {helm_repo_pw}
  url: https://charts.example.com
  username: ci
""".encode()
    c.keep["/root/.config/helm/repositories.yaml"] = ["url: https://charts.example.com", "name: internal"]
    runner_tok = c.canary("gitlab-runner-token", "glrt-" + g.tok(20))
    c.files["/etc/gitlab-runner/config.toml"] = f"""concurrent = 4

[[runners]]
  name = "k8s-runner"
  url = "https://gitlab.example.com"
  token = "{runner_tok}"
  executor = "kubernetes"
  [runners.kubernetes]
    namespace = "ci"
""".encode()
    c.keep["/etc/gitlab-runner/config.toml"] = ['executor = "kubernetes"', 'namespace = "ci"']

    # 12. cloud-init user-data (https://cloudinit.readthedocs.io/en/latest/reference/examples.html)
    ci_hash = c.canary("cloud-init-passwd-hash", "$6$" + g.tok(16) + "$" + g.tok(86, string.ascii_letters + string.digits + "./"))
    ci_boot = c.canary("cloud-init-kubeadm-token", f"{g.lower(6)}.{g.lower(16)}")
    ci_file_pw = c.canary("cloud-init-write-files-b64-password", g.tok(20))
    ci_content = base64.b64encode(f"[database]\nhost = db\npassword = {ci_file_pw}\n".encode()).decode()
    c.encoded_only.add("cloud-init-write-files-b64-password")
    c.files["/var/lib/cloud/instance/user-data.txt"] = f"""#cloud-config
users:
  - name: ops
    groups: sudo
    shell: /bin/bash
    passwd: {ci_hash}
write_files:
  - path: /etc/app/db.ini
    encoding: b64
    content: {ci_content}
runcmd:
  - [ sh, -c, "kubeadm join 10.0.0.10:6443 --token {ci_boot} --discovery-token-unsafe-skip-ca-verification" ]
""".encode()
    c.keep["/var/lib/cloud/instance/user-data.txt"] = ["#cloud-config", "path: /etc/app/db.ini", "shell: /bin/bash"]

    # 13. Alertmanager (https://prometheus.io/docs/alerting/latest/configuration/)
    am_slack = c.canary("alertmanager-slack-api-url", slack_path())
    am_teams = c.canary("alertmanager-teams-webhook", teams_path())
    am_discord = c.canary("alertmanager-discord-webhook", f"{g.tok(18, string.digits)}/{g.tok(68, string.ascii_letters + string.digits + '_-')}")
    am_smtp = c.canary("alertmanager-smtp-auth-password", g.tok(18))
    am_flow = c.canary("alertmanager-teams-workflow-sig", g.tok(43, string.ascii_letters + string.digits + "_-"))
    c.files["/etc/alertmanager/alertmanager.yml"] = f"""global:
  resolve_timeout: 5m
  smtp_smarthost: smtp.example.com:587
  smtp_auth_username: alerts@example.com
  smtp_auth_password: {am_smtp}
  slack_api_url: https://hooks.slack.com/services/{am_slack}
route:
  receiver: ops
receivers:
- name: ops
  msteams_configs:
  - webhook_url: https://contoso.webhook.office.com/webhookb2/{am_teams}
  discord_configs:
  - webhook_url: https://discord.com/api/webhooks/{am_discord}
  msteamsv2_configs:
  - webhook_url: https://prod-21.westeurope.logic.azure.com:443/workflows/{g.hexs(32)}/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={am_flow}
""".encode()
    c.keep["/etc/alertmanager/alertmanager.yml"] = ["resolve_timeout: 5m", "receiver: ops", "smtp_smarthost: smtp.example.com:587"]

    # 14. RKE2 config (https://docs.rke2.io/security/token: K10<CA hash>::server:<password>) and an
    # env file read by a unit's EnvironmentFile= (/etc/default/*)
    # K10<sha256 of the cluster CA>::server:<password>: the password is the secret part
    rke2 = "K10" + g.hexs(64) + "::server:" + c.canary("rke2-config-token", g.hexs(32))
    c.files["/etc/rancher/rke2/config.yaml"] = f"server: https://10.0.0.10:9345\ntoken: {rke2}\nnode-label:\n  - pool=workers\n".encode()
    c.keep["/etc/rancher/rke2/config.yaml"] = ["server: https://10.0.0.10:9345", "pool=workers"]
    env_vault = c.canary("env-file-vault-token", vault_hvs())
    env_slack = c.canary("env-file-slack-webhook", slack_path())
    c.files["/etc/default/deployer"] = (
        f"VAULT_ADDR=https://vault.example:8200\nVAULT_TOKEN={env_vault}\n"
        f"ALERT_URL=https://hooks.slack.com/services/{env_slack}\nOPTS=\"--verbose\"\n").encode()
    c.keep["/etc/default/deployer"] = ["VAULT_ADDR=https://vault.example:8200", 'OPTS="--verbose"']


def _round_three(c: Corpus, g: _Gen) -> None:
    """Issue 11, round two of the red-team: `KEY VALUE` settings without "=" or ":", key names with
    passwd/pw/authtok/psk/pass_phrase, single-dash flags, XML elements, the password options of
    more tools, token formats, crypt hashes, and files that are secrets as a whole."""
    b64 = string.ascii_letters + string.digits + "+/"

    # fluent-bit classic config: `Key  Value` (https://docs.fluentbit.io/manual/administration/configuring-fluent-bit/classic-mode)
    fb_pw = c.canary("fluent-bit-http-passwd", g.tok(20))
    fb_tok = c.canary("fluent-bit-splunk-token", f"{g.hexs(8)}-{g.hexs(4)}-{g.hexs(4)}-{g.hexs(4)}-{g.hexs(12)}")
    c.files["/etc/fluent-bit/fluent-bit.conf"] = f"""[SERVICE]
    Flush        1
    Log_Level    warn

[OUTPUT]
    Name         http
    Match        kube.*
    Host         logs.example.com
    HTTP_User    shipper
    HTTP_Passwd  {fb_pw}

[OUTPUT]
    Name         splunk
    Splunk_Token {fb_tok}
""".encode()
    c.keep["/etc/fluent-bit/fluent-bit.conf"] = ["Log_Level    warn", "Match        kube.*", "HTTP_User    shipper"]
    # keepalived (keepalived.conf(5): authentication { auth_type PASS auth_pass X })
    ka = c.canary("keepalived-auth-pass", g.tok(8))
    c.files["/etc/keepalived/keepalived.conf"] = f"""vrrp_instance VI_2 {{
    interface ens3
    virtual_router_id 52
    authentication {{
        auth_type PASS
        auth_pass {ka}
    }}
}}
""".encode()
    c.keep["/etc/keepalived/keepalived.conf"] = ["virtual_router_id 52", "auth_type PASS"]
    # nslcd.conf(5) `bindpw`, sssd.conf(5) `ldap_default_authtok`
    bindpw = c.canary("nslcd-bindpw", g.tok(16))
    c.files["/etc/nslcd.conf"] = f"uri ldaps://ldap.example.org/\nbinddn cn=reader,dc=example,dc=org\nbindpw {bindpw}\n".encode()
    c.keep["/etc/nslcd.conf"] = ["binddn cn=reader,dc=example,dc=org"]
    authtok = c.canary("sssd-ldap-default-authtok", g.tok(18))
    c.files["/etc/sssd/sssd.conf"] = (f"[domain/example]\nid_provider = ldap\nldap_default_authtok_type = password\n"
                                      f"ldap_default_authtok = {authtok}\n").encode()
    c.keep["/etc/sssd/sssd.conf"] = ["ldap_default_authtok_type = password"]
    # iscsid.conf: mutual CHAP (`..._in`), open-iscsi's README
    chap_in = c.canary("iscsi-password-in", g.tok(14))
    c.files["/etc/iscsi/iscsid.conf"] = (f"node.startup = automatic\nnode.session.auth.authmethod = CHAP\n"
                                         f"node.session.auth.password_in = {chap_in}\n").encode()
    c.keep["/etc/iscsi/iscsid.conf"] = ["node.session.auth.authmethod = CHAP"]
    # NetworkManager keyfile (nm-settings-keyfile(5)) and wpa_supplicant.conf(5)
    nm_psk = c.canary("networkmanager-psk", g.tok(18))
    c.files["/etc/NetworkManager/system-connections/edge.nmconnection"] = (
        f"[connection]\nid=edge\ntype=wifi\n\n[wifi-security]\nkey-mgmt=wpa-psk\npsk={nm_psk}\n").encode()
    c.keep["/etc/NetworkManager/system-connections/edge.nmconnection"] = ["key-mgmt=wpa-psk"]
    wpa = c.canary("wpa-supplicant-psk", g.tok(20))
    c.files["/etc/wpa_supplicant/wpa_supplicant.conf"] = f'network={{\n    ssid="edge"\n    psk="{wpa}"\n}}\n'.encode()
    # OCI CLI config (https://docs.oracle.com/iaas/Content/API/Concepts/sdkconfig.htm)
    oci = c.canary("oci-pass-phrase", g.tok(18))
    c.files["/root/.oci/config"] = (f"[DEFAULT]\nregion=eu-frankfurt-1\nkey_file=~/.oci/oci_api_key.pem\n"
                                    f"pass_phrase={oci}\n").encode()
    c.keep["/root/.oci/config"] = ["region=eu-frankfurt-1"]
    # flanneld's Go flags (single dash) in its sysconfig, Maven settings.xml
    fl = c.canary("flannel-single-dash-flag", g.tok(20))
    c.files["/etc/sysconfig/flanneld"] = f'FLANNEL_OPTIONS="-iface=eth1 -etcd-password={fl}"\n'.encode()
    c.keep["/etc/sysconfig/flanneld"] = ["-iface=eth1"]
    mvn = c.canary("maven-settings-password", g.tok(18))
    c.files["/root/.m2/settings.xml"] = (f"<settings>\n  <servers>\n    <server>\n      <id>releases</id>\n"
                                         f"      <password>{mvn}</password>\n    </server>\n  </servers>\n</settings>\n").encode()
    c.keep["/root/.m2/settings.xml"] = ["<id>releases</id>"]
    # haproxy.cfg: stats auth USER:PASS, userlist insecure-password
    hs = c.canary("haproxy-stats-auth", g.tok(17))
    hu = c.canary("haproxy-insecure-password", g.tok(15))
    c.files["/etc/haproxy/haproxy.cfg"] = (f"listen stats\n    bind *:8404\n    stats auth admin:{hs}\n"
                                           f"userlist ops\n    user ops insecure-password {hu}\n").encode()
    c.keep["/etc/haproxy/haproxy.cfg"] = ["bind *:8404", "stats auth admin:"]
    # shell history: the password options of az, ldapsearch, smbclient, htpasswd, etcdctl
    az = c.canary("history-az-login-p", g.tok(34))
    ldap = c.canary("history-ldapsearch-w", g.tok(15))
    smb = c.canary("history-smbclient-percent", g.tok(14))
    htp = c.canary("history-htpasswd-b", g.tok(15))
    etcd = c.canary("history-etcdctl-user", g.tok(16))
    c.files["/home/ops/.bash_history"] = (
        f"az login --service-principal -u 5e1c0a4e-1111-2222-3333-444455556666 -p {az} --tenant example.org\n"
        f"ldapsearch -x -H ldaps://ldap.example.org -D cn=admin,dc=example,dc=org -w {ldap} -b dc=example,dc=org\n"
        f"smbclient //files/share -U backup%{smb} -c ls\n"
        f"htpasswd -bc /etc/nginx/.htpasswd admin {htp}\n"
        f"etcdctl --endpoints=https://10.0.0.11:2379 --user root:{etcd} member list\n").encode()
    c.keep["/home/ops/.bash_history"] = ["-b dc=example,dc=org", "-c ls", "member list"]
    # token formats: Stripe (https://docs.stripe.com/keys), SendGrid, a Sentry DSN's key
    stripe = c.canary("stripe-live-key", g.tok(24))
    sg = c.canary("sendgrid-key", g.tok(22) + "." + g.tok(43))
    c.files["/etc/default/billing"] = f"STRIPE=sk_live_{stripe}\nMAIL=SG.{sg}\nREGION=eu-west-1\n".encode()
    c.keep["/etc/default/billing"] = ["REGION=eu-west-1"]
    dsn = c.canary("sentry-dsn-key", g.hexs(32))
    c.files["/opt/app/sentry.yaml"] = f"sentry:\n  dsn: https://{dsn}@o450123.ingest.sentry.io/5512345\n  env: prod\n".encode()
    c.keep["/opt/app/sentry.yaml"] = ["@o450123.ingest.sentry.io/5512345", "env: prod"]
    # crypt hashes (crypt(5)) in an .htpasswd
    apr1 = c.canary("htpasswd-apr1", g.tok(22, string.ascii_letters + string.digits + "./"))
    bcrypt = c.canary("htpasswd-bcrypt", g.tok(53, string.ascii_letters + string.digits + "./"))
    c.files["/etc/nginx/.htpasswd"] = f"admin:$apr1${g.tok(8)}${apr1}\nmetrics:$2y$05${bcrypt}\n".encode()
    c.keep["/etc/nginx/.htpasswd"] = ["admin:", "metrics:"]
    # Consul (https://developer.hashicorp.com/consul/docs/agent/config/config-files), Vault init output
    gossip = c.canary("consul-encrypt", base64.b64encode(g.rng.randbytes(32)).decode())
    mgmt = c.canary("consul-initial-management", f"{g.hexs(8)}-{g.hexs(4)}-{g.hexs(4)}-{g.hexs(4)}-{g.hexs(12)}")
    c.files["/etc/consul.d/consul.hcl"] = (f'datacenter = "dc1"\nencrypt = "{gossip}"\nacl {{\n  enabled = true\n'
                                           f'  tokens {{\n    initial_management = "{mgmt}"\n  }}\n}}\n').encode()
    c.keep["/etc/consul.d/consul.hcl"] = ['datacenter = "dc1"', "enabled = true"]
    unseal = c.canary("vault-unseal-key", g.tok(44, b64))
    c.files["/var/log/vault-init.log"] = f"Unseal Key 1: {unseal}\n\nVault initialized with 5 key shares and a key threshold of 3.\n".encode()
    c.keep["/var/log/vault-init.log"] = ["Vault initialized with 5 key shares"]
    # snmpd.conf(5) communities and USM users; `ip xfrm state` keys (ip-xfrm(8))
    comm = c.canary("snmpd-rocommunity", g.tok(14))
    usm = c.canary("snmpd-usm-auth", g.tok(16))
    priv = c.canary("snmpd-usm-priv", g.tok(16))
    c.files["/etc/snmp/snmpd.conf"] = (f"sysLocation rack-3\nrocommunity {comm} 10.0.0.0/8\n"
                                       f'createUser monitor SHA "{usm}" AES "{priv}"\nrouser monitor priv\n').encode()
    c.keep["/etc/snmp/snmpd.conf"] = ["sysLocation rack-3", "rouser monitor priv"]
    xfrm = c.canary("ip-xfrm-aead-key", g.hexs(40))
    c.files["/commands/ip-xfrm-state.txt"] = (f"src 10.0.0.11 dst 10.0.0.12\n\tproto esp spi 0x00000003 reqid 1 mode tunnel\n"
                                              f"\taead rfc4106(gcm(aes)) 0x{xfrm} 128\n").encode()
    c.keep["/commands/ip-xfrm-state.txt"] = ["proto esp spi 0x00000003 reqid 1 mode tunnel"]
    # whole files that are secrets: a Secret volume's key, apt's auth.conf, chrony keys, ppp
    # chap-secrets, Erlang's cookie, Cilium's IPsec keys
    c.files["/var/lib/kubelet/pods/6f0e0c1a-aaaa-bbbb-cccc-1234567890ab/volumes/kubernetes.io~secret/db/password"] = \
        c.canary("kubelet-secret-volume-file", g.tok(20)).encode()
    c.files["/etc/apt/auth.conf.d/corp.conf"] = (
        f"machine apt.example.org login reader password {c.canary('apt-auth-conf', g.tok(20))}\n").encode()
    c.files["/etc/chrony.keys"] = f"1 SHA1 HEX:{c.canary('chrony-key', g.hexs(40).upper())}\n".encode()
    c.files["/etc/ppp/chap-secrets"] = f"modem\t*\t{c.canary('ppp-chap-secret', g.tok(14))}\t*\n".encode()
    c.files["/var/lib/rabbitmq/.erlang.cookie"] = c.canary("erlang-cookie", g.tok(20, string.ascii_uppercase)).encode()
    c.files["/etc/ipsec/keys"] = f"3+ rfc4106(gcm(aes)) {c.canary('cilium-ipsec-key', g.hexs(40))} 128\n".encode()


def _encoded_windows(core: str) -> set[bytes]:
    """The 8-character windows of `core` as they read base64-encoded (at each of the three
    alignments, standard and URL-safe alphabets) and URL-encoded."""
    from urllib.parse import quote

    raw = core.encode()
    out: set[bytes] = set()
    for align in range(3):
        enc = base64.b64encode(b"\0" * align + raw)
        # the first group carries the padding bytes, the last may carry what follows: left out
        body = enc[4:-4]
        for i in range(0, len(body) - WINDOW + 1, 4):
            w = body[i:i + WINDOW]
            out.add(w)
            out.add(w.translate(bytes.maketrans(b"+/", b"-_")))
    q = quote(core, safe="").encode()
    if q != raw:
        out.update(q[i:i + WINDOW] for i in range(len(q) - WINDOW + 1))
    return out
