"""k8s_bundle.certinfo: certs.json records from real certificates made with `cryptography`."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from k8s_bundle import certinfo

START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def _cert(cn: str, key, issuer_key=None, issuer_cn=None, ca=False, sans=()):  # type: ignore[no-untyped-def]
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                                  x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters")]))
         .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn or cn)]))
         .public_key(key.public_key()).serial_number(0x5F3A01)
         .not_valid_before(START).not_valid_after(START + dt.timedelta(days=365))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    return b.sign(issuer_key or key, hashes.SHA256())


def test_metadata_fields() -> None:
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = _cert("kubernetes", ca_key, ca=True)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = _cert("kube-apiserver", leaf_key, ca_key, "kubernetes",
                 sans=[x509.DNSName("kubernetes"), x509.IPAddress(ipaddress.ip_address("10.96.0.1"))])
    pem = leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    recs = certinfo.file_certificates(pem, "/etc/kubernetes/pki/apiserver.crt")
    assert len(recs) == 2
    r = recs[0]
    assert r["subject"] == "O=system:masters,CN=kube-apiserver" and r["issuer"] == "CN=kubernetes"
    assert r["sans"] == ["DNS:kubernetes", "IP:10.96.0.1"]
    assert (r["not_before"], r["not_after"]) == ("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z")
    assert r["is_ca"] is False and recs[1]["is_ca"] is True
    assert r["serial"] == "5f3a01" and r["key_algorithm"] == "EC-secp256r1" and recs[1]["key_algorithm"] == "RSA-2048"
    der = leaf.public_bytes(serialization.Encoding.DER)
    assert r["fingerprint_sha256"].replace(":", "") == hashlib.sha256(der).hexdigest()
    assert r["error"] is None and r["source"] == "file" and r["path"] == "/etc/kubernetes/pki/apiserver.crt"
    assert certinfo.file_certificates(der, "x.der")[0]["fingerprint_sha256"] == r["fingerprint_sha256"]


def test_bad_input_gives_an_error_record_and_keys_are_ignored() -> None:
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    recs = certinfo.file_certificates(key, "/etc/x.pem")
    assert len(recs) == 1 and recs[0]["error"] and recs[0]["subject"] is None
    assert certinfo.file_certificates(b"garbage", "/x")[0]["error"].startswith("not a PEM or DER")


def test_kubeconfig_certificates_and_summary() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _cert("kubernetes-admin", key, issuer_cn="kubernetes")
    data = base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode()
    kc = f"""apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {{server: "https://x:6443", certificate-authority-data: "bm90IGEgY2VydA=="}}
users:
- name: u
  user:
    client-certificate-data: {data}
"""
    recs = certinfo.kubeconfig_certificates(kc.encode(), "/etc/kubernetes/admin.conf")
    assert [r["kubeconfig"] for r in recs] == ["/etc/kubernetes/admin.conf#clusters[0].certificate-authority-data",
                                              "/etc/kubernetes/admin.conf#users[0].client-certificate-data"]
    assert recs[0]["error"] and recs[1]["subject"] == "O=system:masters,CN=kubernetes-admin"
    assert all(r["source"] == "kubeconfig" for r in recs)
    s = certinfo.summary_string(data)
    assert s.startswith('<redacted:cert subject="O=system:masters,CN=kubernetes-admin" issuer="CN=kubernetes"')
    assert 'not_after="2027-01-01T00:00:00Z"' in s and s.endswith('">')
