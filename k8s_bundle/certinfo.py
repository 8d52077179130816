"""Certificate metadata (never keys) in the certs.json shape of docs/bundle-format.md.

Used by the collector for certs.json and by redaction, which replaces kubeconfig
`client-certificate-data` / `certificate-authority-data` with a one-line metadata string so the
analyzer can still reason about expiry and CA mismatch.
"""
from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime, timezone
from typing import Any, Iterator

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

_PEM_CERT = re.compile(
    rb"-----BEGIN (?:TRUSTED |X509 )?CERTIFICATE-----\s*(.*?)\s*-----END (?:TRUSTED |X509 )?CERTIFICATE-----",
    re.S,
)
_KUBECONFIG_CERT_FIELDS = ("certificate-authority-data", "client-certificate-data")


def _utc(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _not_before(cert: x509.Certificate) -> datetime:
    return getattr(cert, "not_valid_before_utc", None) or cert.not_valid_before


def _not_after(cert: x509.Certificate) -> datetime:
    return getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after


def _key_algorithm(cert: x509.Certificate) -> str:
    try:
        key = cert.public_key()
    except Exception:  # noqa: BLE001 - unusual key types still yield the rest of the metadata
        return "unknown"
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA-{key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC-{key.curve.name}"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448"
    if isinstance(key, dsa.DSAPublicKey):
        return f"DSA-{key.key_size}"
    return type(key).__name__


def _sans(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    out: list[str] = []
    for name in ext:
        if isinstance(name, x509.DNSName):
            out.append(f"DNS:{name.value}")
        elif isinstance(name, x509.IPAddress):
            out.append(f"IP:{name.value}")
        elif isinstance(name, x509.RFC822Name):
            out.append(f"email:{name.value}")
        elif isinstance(name, x509.UniformResourceIdentifier):
            out.append(f"URI:{name.value}")
        else:
            out.append(f"{type(name).__name__}:{getattr(name, 'value', '')}")
    return out


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def metadata(cert: x509.Certificate, path: str | None = None, source: str = "file",
             kubeconfig: str | None = None) -> dict[str, Any]:
    """One certs.json record for a parsed certificate."""
    fp = cert.fingerprint(hashes.SHA256()).hex()
    return {
        "path": path,
        "source": source,
        "kubeconfig": kubeconfig,
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "sans": _sans(cert),
        "not_before": _utc(_not_before(cert)),
        "not_after": _utc(_not_after(cert)),
        "is_ca": _is_ca(cert),
        "serial": format(cert.serial_number, "x"),
        "key_algorithm": _key_algorithm(cert),
        "fingerprint_sha256": ":".join(fp[i:i + 2] for i in range(0, len(fp), 2)),
        "error": None,
    }


def error_record(message: str, path: str | None = None, source: str = "file",
                 kubeconfig: str | None = None) -> dict[str, Any]:
    """A certs.json record for something that looked like a certificate but did not parse."""
    return {
        "path": path, "source": source, "kubeconfig": kubeconfig, "subject": None, "issuer": None,
        "sans": [], "not_before": None, "not_after": None, "is_ca": None, "serial": None,
        "key_algorithm": None, "fingerprint_sha256": None, "error": message,
    }


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate in PEM data (a bundle may hold several), or the one DER certificate.

    Private key blocks in the same data are ignored: this module never looks at keys.
    Raises ValueError when nothing parses.
    """
    certs: list[x509.Certificate] = []
    if b"-----BEGIN" in data:
        for match in _PEM_CERT.finditer(data):
            body = re.sub(rb"\s+", b"", match.group(1))
            try:
                certs.append(x509.load_der_x509_certificate(base64.b64decode(body, validate=True)))
            except (ValueError, binascii.Error) as exc:
                raise ValueError(f"bad PEM certificate: {exc}") from None
        if not certs:
            raise ValueError("no certificate in PEM data")
        return certs
    try:
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise ValueError(f"not a PEM or DER certificate: {exc}") from None


def file_certificates(data: bytes, path: str) -> list[dict[str, Any]]:
    """certs.json records for a certificate file (PEM bundle or DER); one error record if bad."""
    try:
        return [metadata(c, path=path) for c in load_certificates(data)]
    except ValueError as exc:
        return [error_record(str(exc), path=path)]


def decode_cert_data(value: str | bytes) -> list[x509.Certificate]:
    """Certificates from a kubeconfig `*-data` field (base64 of PEM). Raises ValueError."""
    raw = value.encode("ascii", "replace") if isinstance(value, str) else value
    try:
        pem = base64.b64decode(re.sub(rb"\s+", b"", raw), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not base64: {exc}") from None
    return load_certificates(pem)


def summary_string(value: str | bytes) -> str:
    """The one-line replacement for kubeconfig certificate data (docs/bundle-format.md).

    `<redacted:cert subject="CN=..." issuer="CN=..." not_after="..." sha256="...">`; for a
    bundle of several certificates (a CA bundle) each one is described, separated by "; ".
    Raises ValueError when the data is not a certificate.
    """
    parts = []
    for cert in decode_cert_data(value):
        md = metadata(cert)
        parts.append(
            f'subject="{_q(md["subject"])}" issuer="{_q(md["issuer"])}" '
            f'not_before="{md["not_before"]}" not_after="{md["not_after"]}" '
            f'sha256="{md["fingerprint_sha256"]}"'
        )
    return "<redacted:cert " + "; ".join(parts) + ">"


def _q(text: str) -> str:
    # The string is parsed back by the analyzer with a simple key="value" regex.
    return text.replace("\\", "\\\\").replace('"', '\\"')


def kubeconfig_certificates(data: bytes | str, path: str) -> list[dict[str, Any]]:
    """certs.json records (source "kubeconfig") for the certificates embedded in a kubeconfig.

    Reads the raw (unredacted) kubeconfig in memory; never returns key material.
    """
    import yaml

    try:
        doc = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        return [error_record(f"kubeconfig does not parse: {exc}".splitlines()[0], path=path,
                             source="kubeconfig", kubeconfig=path)]
    return list(_kubeconfig_records(doc, path))


def _kubeconfig_records(doc: Any, path: str) -> Iterator[dict[str, Any]]:
    if not isinstance(doc, dict):
        return
    for section, inner in (("clusters", "cluster"), ("users", "user")):
        entries = doc.get(section)
        if not isinstance(entries, list):
            continue
        for i, entry in enumerate(entries):
            body = entry.get(inner) if isinstance(entry, dict) else None
            if not isinstance(body, dict):
                continue
            for field in _KUBECONFIG_CERT_FIELDS:
                value = body.get(field)
                if not isinstance(value, str) or not value:
                    continue
                where = f"{path}#{section}[{i}].{field}"
                try:
                    for cert in decode_cert_data(value):
                        yield metadata(cert, path=path, source="kubeconfig", kubeconfig=where)
                except ValueError as exc:
                    yield error_record(str(exc), path=path, source="kubeconfig", kubeconfig=where)
