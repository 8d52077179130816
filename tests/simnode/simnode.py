"""The simulated node: a kubeadm control plane (docker + cri-dockerd, flannel) with the seed
scenarios' problems, as a root tree plus a bin/ directory of fake tools.

    node = build(tmp_dir)                     # copies root/, adds generated PKI and logs
    env = node.env()                          # PATH=<node.bin>:<node.host_tools>
    k8s-bundle collect --root node.root --live ...   (with that environment)

What the node holds (and what the collector and analyzer should find):
- swap on: the kubelet journal and syslog say "running with swap on is not supported"
- a hung docker daemon when built with hang=("docker-info",)
- an expired apiserver certificate; a kubelet client PEM holding certificate AND key
- private keys (pki/*.key, client-key-data in admin.conf) that must never reach the bundle
- ebtables and conntrack missing from PATH (kubeadm preflight)
- /etc/resolv.conf an absolute symlink to systemd-resolved's stub (127.0.0.53)
- docker's cgroup driver cgroupfs against the kubelet's systemd; MountFlags=slave
- a coredns pod log with the loop plugin's fatal line; a crash-looping kube-apiserver
- /var/log/containers links (absolute, resolved inside the root)
"""
from __future__ import annotations

import base64
import datetime as dt
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

HERE = Path(__file__).resolve().parent
TOOLS = ("journalctl", "docker", "crictl", "systemctl", "ip", "iptables-save", "ss", "lsmod",
         "swapon", "df", "containerd", "timedatectl", "kubelet", "kubeadm", "kubectl", "runc",
         "iptables", "ip6tables", "ctr", "socat", "sysctl", "uname", "hostname", "dmesg",
         "sleeper")
# Tools the simulated node lacks (kubeadm preflight): left out of host_tools whatever this
# machine has installed, so the simulation does not depend on the host.
ABSENT = ("ebtables", "conntrack")
APISERVER_UID = "5a1b2c3d4e5f"
COREDNS_POD = "kube-system_coredns-5d78c9869d-k7xqz_6c1d2e3f-aaaa-bbbb-cccc-ddddeeeeffff"


@dataclass
class SimNode:
    root: Path
    bin: Path
    hang: tuple[str, ...] = ()
    extra_env: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)   # strings that must never be stored

    @property
    def host_tools(self) -> Path:
        """Links to this machine's tools (sh, cat, python3, ...) minus ABSENT."""
        return self.bin.parent / "host-tools"

    @property
    def path(self) -> str:
        """The simulated node's PATH: its fake tools first, then the host's minus ABSENT."""
        return f"{self.bin}:{self.host_tools}"

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env["PATH"] = self.path
        env["SIMNODE_HANG"] = ",".join(self.hang)
        env.update(self.extra_env)
        env.update(extra)
        return env


def link_host_tools(dest: Path, absent: Iterable[str] = ABSENT) -> Path:
    """Links in `dest` to this machine's tools (sh, cat, python3, ...) minus `absent`."""
    absent = set(absent)
    dest.mkdir(parents=True, exist_ok=True)
    dirs = os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep) + ["/usr/sbin", "/sbin"]
    for d in dirs:
        try:
            names = os.listdir(d)
        except OSError:
            continue
        for name in names:
            target = os.path.join(d, name)
            if name in absent or (dest / name).exists() or not os.access(target, os.X_OK) \
                    or os.path.isdir(target):
                continue
            os.symlink(target, dest / name)
    return dest


def build(dest: Path, hang: tuple[str, ...] = ()) -> SimNode:
    dest = Path(dest)
    root = dest / "root"
    shutil.copytree(HERE / "root", root, symlinks=True)
    node = SimNode(root=root, bin=dest / "bin", hang=hang)
    _write_bin(node.bin)
    link_host_tools(node.host_tools)
    _links(root)
    _pki(root, node)
    _pod_logs(root)
    return node


def _write_bin(bin_dir: Path) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    for tool in TOOLS:
        path = bin_dir / tool
        path.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "{HERE / "fake.py"}" {tool} "$@"\n')
        path.chmod(0o755)


def _links(root: Path) -> None:
    # Absolute symlinks, as on a real node: the collector must resolve them inside --root.
    os.symlink("/run/systemd/resolve/stub-resolv.conf", root / "etc/resolv.conf")
    os.symlink("/usr/share/zoneinfo/Asia/Shanghai", root / "etc/localtime")


def _pod_logs(root: Path) -> None:
    pods = root / "var/log/pods"
    api = pods / f"kube-system_kube-apiserver-cp1_{APISERVER_UID}/kube-apiserver"
    api.mkdir(parents=True)
    (api / "12.log").write_text(
        '2026-11-22T10:58:01.100000000Z stderr F I1122 10:58:01.100000       1 options.go:222] external host was not specified, using 192.168.1.10\n'
        '2026-11-22T10:58:01.200000000Z stderr F I1122 10:58:01.200000       1 server.go:148] Version: v1.29.3\n'
        '2026-11-22T10:58:11.300000000Z stderr F W1122 10:58:11.300000       1 logging.go:59] [core] [Channel #1 SubChannel #2] grpc: addrConn.createTransport failed to connect to {Addr: "127.0.0.1:2379", ServerName: "127.0.0.1", }. Err: connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate has expired or is not yet valid"\n'
        '2026-11-22T10:58:21.400000000Z stderr F E1122 10:58:21.400000       1 run.go:74] "command failed" err="context deadline exceeded"\n')
    dns = pods / COREDNS_POD / "coredns"
    dns.mkdir(parents=True)
    (dns / "3.log").write_text(
        '2026-11-22T10:50:01.123456789Z stdout F .:53\n'
        '2026-11-22T10:50:01.223456789Z stdout F CoreDNS-1.10.1\n'
        '2026-11-22T10:50:01.423456789Z stdout F [FATAL] plugin/loop: Loop (127.0.0.1:46458 -> :53) detected for zone ".", see https://coredns.io/plugins/loop#troubleshooting. Query: "HINFO 4547991504243258144.3688648895315093531."\n')
    web = pods / "default_web-7d4b9c8f6d-x2x9p_11112222-3333-4444-5555-666677778888/web"
    web.mkdir(parents=True)
    (web / "0.log").write_text("".join(
        f'2026-11-22T10:{m:02d}:00.000000000Z stdout F GET /healthz 200 {m}ms\n' for m in range(60)))
    links = root / "var/log/containers"
    links.mkdir(parents=True)
    os.symlink(f"/var/log/pods/kube-system_kube-apiserver-cp1_{APISERVER_UID}/kube-apiserver/12.log",
               links / f"kube-apiserver-cp1_kube-system_kube-apiserver-{'3f2a' * 16}.log")
    os.symlink(f"/var/log/pods/{COREDNS_POD}/coredns/3.log",
               links / f"coredns-5d78c9869d-k7xqz_kube-system_coredns-{'9e8d' * 16}.log")


def _pki(root: Path, node: SimNode) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc)

    def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    def cert(cn: str, issuer_key, issuer_cn: str, key, *, ca: bool = False,  # type: ignore[no-untyped-def]
             not_before: dt.datetime, not_after: dt.datetime,
             sans: tuple[x509.GeneralName, ...] = ()) -> x509.Certificate:
        b = (x509.CertificateBuilder()
             .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
             .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)]))
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(not_before).not_valid_after(not_after)
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
        return b.sign(issuer_key, hashes.SHA256())

    def pem(c: x509.Certificate) -> bytes:
        return c.public_bytes(serialization.Encoding.PEM)

    import ipaddress

    pki = root / "etc/kubernetes/pki"
    (pki / "etcd").mkdir(parents=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = cert("kubernetes", ca_key, "kubernetes", ca_key, ca=True,
              not_before=now - dt.timedelta(days=400), not_after=now + dt.timedelta(days=3250))
    api_key = ec.generate_private_key(ec.SECP256R1())
    api = cert("kube-apiserver", ca_key, "kubernetes", api_key,
               not_before=now - dt.timedelta(days=400), not_after=now - dt.timedelta(days=21),
               sans=(x509.DNSName("kubernetes"), x509.DNSName("cp1"),
                     x509.IPAddress(ipaddress.ip_address("10.96.0.1")),
                     x509.IPAddress(ipaddress.ip_address("192.168.1.10"))))
    etcd_key = ec.generate_private_key(ec.SECP256R1())
    etcd_ca = cert("etcd-ca", etcd_key, "etcd-ca", etcd_key, ca=True,
                   not_before=now - dt.timedelta(days=400), not_after=now + dt.timedelta(days=3250))
    (pki / "ca.crt").write_bytes(pem(ca))
    (pki / "apiserver.crt").write_bytes(pem(api))
    (pki / "etcd/ca.crt").write_bytes(pem(etcd_ca))
    for path, key in ((pki / "ca.key", ca_key), (pki / "apiserver.key", api_key),
                      (pki / "etcd/ca.key", etcd_key)):
        path.write_bytes(key_pem(key))
        path.chmod(0o600)
        node.secrets.append(_pem_body(key_pem(key)))
    # kube-apiserver's service-account key pair has no ".key"-free name trick: sa.key is a key.
    sa_key = ec.generate_private_key(ec.SECP256R1())
    (pki / "sa.key").write_bytes(key_pem(sa_key))
    (pki / "sa.pub").write_bytes(sa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    node.secrets.append(_pem_body(key_pem(sa_key)))

    # The kubelet's rotating client certificate: certificate and key in ONE .pem file.
    kl_key = ec.generate_private_key(ec.SECP256R1())
    kl = cert("system:node:cp1", ca_key, "kubernetes", kl_key,
              not_before=now - dt.timedelta(days=30), not_after=now + dt.timedelta(days=335))
    kpki = root / "var/lib/kubelet/pki"
    kpki.mkdir(parents=True)
    (kpki / "kubelet-client-2026-10-23-10-00-00.pem").write_bytes(pem(kl) + key_pem(kl_key))
    os.symlink("/var/lib/kubelet/pki/kubelet-client-2026-10-23-10-00-00.pem",
               kpki / "kubelet-client-current.pem")
    node.secrets.append(_pem_body(key_pem(kl_key)))

    admin_key = ec.generate_private_key(ec.SECP256R1())
    admin = cert("kubernetes-admin", ca_key, "kubernetes", admin_key,
                 not_before=now - dt.timedelta(days=400), not_after=now + dt.timedelta(days=10))
    client_key_data = base64.b64encode(key_pem(admin_key)).decode()
    node.secrets.append(client_key_data)
    node.secrets.append(_pem_body(key_pem(admin_key)))
    (root / "etc/kubernetes/admin.conf").write_text(f"""apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: {base64.b64encode(pem(ca)).decode()}
    server: https://192.168.1.10:6443
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: kubernetes-admin
  name: kubernetes-admin@kubernetes
current-context: kubernetes-admin@kubernetes
users:
- name: kubernetes-admin
  user:
    client-certificate-data: {base64.b64encode(pem(admin)).decode()}
    client-key-data: {client_key_data}
""")
    (root / "etc/kubernetes/admin.conf").chmod(0o600)
    (root / "etc/kubernetes/kubelet.conf").write_text(f"""apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: {base64.b64encode(pem(ca)).decode()}
    server: https://192.168.1.10:6443
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: system:node:cp1
  name: system:node:cp1@kubernetes
current-context: system:node:cp1@kubernetes
users:
- name: system:node:cp1
  user:
    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem
    client-key: /var/lib/kubelet/pki/kubelet-client-current.pem
""")


def _pem_body(pem: bytes) -> str:
    """A distinctive line from the middle of a PEM block (what a leak would contain)."""
    lines = [l for l in pem.decode().splitlines() if l and not l.startswith("-----")]
    return lines[len(lines) // 2]
