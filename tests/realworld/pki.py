"""A kubeadm PKI for a corpus node, generated at build time so validity is relative to now.

Laid out as kubeadm writes it (/etc/kubernetes/pki, pki/etcd, the four kubeconfigs with
embedded client certificates, the kubelet's rotating client PEM holding certificate and key).
A case changes one certificate's validity with `certs: {NAME: {not_before_days: -400,
not_after_days: -3}}` (days relative to the collection; NAME is a file stem such as
`apiserver`, `etcd/server`, `admin`, `kubelet-client`, `ca`).
"""
from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

DEFAULT = {"not_before_days": -300, "not_after_days": 65}
CA_DEFAULT = {"not_before_days": -300, "not_after_days": 3350}


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def _pem(c: x509.Certificate) -> bytes:
    return c.public_bytes(serialization.Encoding.PEM)


def generate(root: Path, host: str, ip: str, now: dt.datetime, overrides: dict[str, Any] | None = None,
             control_plane: bool = True) -> None:
    overrides = overrides or {}
    now = now.replace(tzinfo=dt.timezone.utc) if now.tzinfo is None else now

    def validity(name: str, ca: bool = False) -> tuple[dt.datetime, dt.datetime]:
        v = dict(CA_DEFAULT if ca else DEFAULT)
        v.update(overrides.get(name) or {})
        return now + dt.timedelta(days=v["not_before_days"]), now + dt.timedelta(days=v["not_after_days"])

    def cert(name: str, cn: str, issuer: tuple[ec.EllipticCurvePrivateKey, str], key: ec.EllipticCurvePrivateKey,
             *, ca: bool = False, org: str | None = None, sans: tuple[x509.GeneralName, ...] = ()) -> x509.Certificate:
        nb, na = validity(name, ca)
        attrs = ([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)] if org else []) + \
            [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
        b = (x509.CertificateBuilder().subject_name(x509.Name(attrs))
             .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer[1])]))
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(nb).not_valid_after(na)
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
        return b.sign(issuer[0], hashes.SHA256())

    pki = root / "etc/kubernetes/pki"
    (pki / "etcd").mkdir(parents=True, exist_ok=True)

    def write(rel: str, c: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        (pki / f"{rel}.crt").write_bytes(_pem(c))
        (pki / f"{rel}.key").write_bytes(_key_pem(key))
        os.chmod(pki / f"{rel}.key", 0o600)

    ca_key = _key()
    ca = cert("ca", "kubernetes", (ca_key, "kubernetes"), ca_key, ca=True)
    write("ca", ca, ca_key)
    ca_i = (ca_key, "kubernetes")
    dns = lambda n: x509.DNSName(n)  # noqa: E731
    ipa = lambda a: x509.IPAddress(ipaddress.ip_address(a))  # noqa: E731
    if control_plane:
        k = _key()
        write("apiserver", cert("apiserver", "kube-apiserver", ca_i, k, sans=(
            dns(host), dns("kubernetes"), dns("kubernetes.default"), dns("kubernetes.default.svc"),
            dns("kubernetes.default.svc.cluster.local"), ipa("10.96.0.1"), ipa(ip))), k)
        k = _key()
        write("apiserver-kubelet-client", cert("apiserver-kubelet-client", "kube-apiserver-kubelet-client", ca_i, k,
                                               org="kubeadm:cluster-admins"), k)
        fk = _key()
        fca = cert("front-proxy-ca", "front-proxy-ca", (fk, "front-proxy-ca"), fk, ca=True)
        write("front-proxy-ca", fca, fk)
        k = _key()
        write("front-proxy-client", cert("front-proxy-client", "front-proxy-client", (fk, "front-proxy-ca"), k), k)
        ek = _key()
        eca = cert("etcd/ca", "etcd-ca", (ek, "etcd-ca"), ek, ca=True)
        write("etcd/ca", eca, ek)
        for name, cn in (("etcd/server", host), ("etcd/peer", host), ("etcd/healthcheck-client", "kube-etcd-healthcheck-client"),
                         ("apiserver-etcd-client", "kube-apiserver-etcd-client")):
            k = _key()
            c = cert(name, cn, (ek, "etcd-ca"), k, sans=(dns(host), dns("localhost"), ipa(ip), ipa("127.0.0.1")))
            write(name, c, k)
        sa = _key()
        (pki / "sa.key").write_bytes(_key_pem(sa))
        (pki / "sa.pub").write_bytes(sa.public_key().public_bytes(serialization.Encoding.PEM,
                                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    ca_data = base64.b64encode(_pem(ca)).decode()

    def kubeconfig(path: str, user: str, cert_pem: bytes | None = None, key: ec.EllipticCurvePrivateKey | None = None) -> None:
        if cert_pem is not None and key is not None:
            creds = (f"    client-certificate-data: {base64.b64encode(cert_pem).decode()}\n"
                     f"    client-key-data: {base64.b64encode(_key_pem(key)).decode()}\n")
        else:
            creds = ("    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem\n"
                     "    client-key: /var/lib/kubelet/pki/kubelet-client-current.pem\n")
        p = root / "etc/kubernetes" / path
        p.write_text(f"""apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: {ca_data}
    server: https://{ip}:6443
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: {user}
  name: {user}@kubernetes
current-context: {user}@kubernetes
kind: Config
preferences: {{}}
users:
- name: {user}
  user:
{creds}""")
        p.chmod(0o600)

    if control_plane:
        for conf, user, org, name in (("admin.conf", "kubernetes-admin", "kubeadm:cluster-admins", "admin"),
                                      ("super-admin.conf", "kubernetes-super-admin", "system:masters", "super-admin"),
                                      ("controller-manager.conf", "system:kube-controller-manager", None, "controller-manager"),
                                      ("scheduler.conf", "system:kube-scheduler", None, "scheduler")):
            k = _key()
            kubeconfig(conf, user, _pem(cert(name, user, ca_i, k, org=org)), k)
    kubeconfig("kubelet.conf", f"system:node:{host}")
    kk = _key()
    kc = cert("kubelet-client", f"system:node:{host}", ca_i, kk, org="system:nodes")
    kpki = root / "var/lib/kubelet/pki"
    kpki.mkdir(parents=True, exist_ok=True)
    nb = now + dt.timedelta(days=(overrides.get("kubelet-client") or DEFAULT)["not_before_days"] if "kubelet-client" in overrides else DEFAULT["not_before_days"])
    stamp = nb.strftime("%Y-%m-%d-%H-%M-%S")
    (kpki / f"kubelet-client-{stamp}.pem").write_bytes(_pem(kc) + _key_pem(kk))
    link = kpki / "kubelet-client-current.pem"
    if link.exists() or link.is_symlink():
        link.unlink()
    os.symlink(f"/var/lib/kubelet/pki/kubelet-client-{stamp}.pem", link)
    sk = _key()
    (kpki / "kubelet.crt").write_bytes(_pem(cert("kubelet", f"{host}-ca@{int(nb.timestamp())}", (sk, f"{host}-ca@{int(nb.timestamp())}"), sk,
                                                 sans=(dns(host),))))
    (kpki / "kubelet.key").write_bytes(_key_pem(sk))
