"""Certificates area: metadata of every certificate (files and kubeconfig-embedded) into
certs.json. Certificate files are never copied, and key files are never opened: a file named
like a key is skipped before it is read; a PEM holding a key block is reduced to the metadata
of its certificates in memory (k8s_bundle.certinfo never looks at keys)."""
from __future__ import annotations

import stat
from typing import Any

from k8s_bundle.bundle.specs import S
from k8s_bundle.collector.context import Context
from k8s_bundle.collector.items import DerivedItem, Item

AREA = "certificates"

CERT_DIRS = ("/etc/kubernetes/pki", "/etc/kubernetes/pki/etcd", "/var/lib/kubelet/pki",
             "/var/lib/rancher/k3s/server/tls", "/var/lib/rancher/k3s/server/tls/etcd",
             "/var/lib/rancher/k3s/agent", "/var/lib/rancher/rke2/server/tls",
             "/var/lib/rancher/rke2/server/tls/etcd", "/var/lib/rancher/rke2/agent",
             "/etc/etcd/pki", "/etc/ssl/etcd/ssl", "/etc/docker/certs.d",
             "/etc/containerd/certs.d")
CERT_SUFFIXES = (".crt", ".pem", ".cert", ".cer")
KUBECONFIGS = ("/etc/kubernetes/admin.conf", "/etc/kubernetes/super-admin.conf",
               "/etc/kubernetes/kubelet.conf", "/etc/kubernetes/controller-manager.conf",
               "/etc/kubernetes/scheduler.conf", "/etc/kubernetes/bootstrap-kubelet.conf",
               "/var/lib/kubelet/kubeconfig", "/etc/rancher/k3s/k3s.yaml",
               "/etc/rancher/rke2/rke2.yaml", "/root/.kube/config",
               "/var/lib/rancher/k3s/agent/kubelet.kubeconfig",
               "/var/lib/rancher/rke2/agent/kubelet.kubeconfig")
MAX_CERT_FILE = 1 << 20


def items(ctx: Context) -> list[Item]:
    return [DerivedItem("certs", AREA, spec=S.certs_json, func=certs_json,
                        source="certificate files and kubeconfigs (metadata only)")]


def is_key_name(name: str) -> bool:
    low = name.lower()
    return low.endswith(".key") or "-key." in low or "_key." in low or low.startswith("key.")


def certs_json(ctx: Context) -> dict[str, Any]:
    from k8s_bundle import certinfo

    records: list[dict[str, Any]] = []
    seen: set[str] = set()
    denied: list[str] = []
    for d in CERT_DIRS:
        for name in ctx.transport.listdir(d):
            path = f"{d}/{name}"
            if path in seen or is_key_name(name) or not name.lower().endswith(CERT_SUFFIXES):
                continue
            seen.add(path)
            st = ctx.transport.stat(path)
            if st is None or not stat.S_ISREG(st.st_mode):
                continue
            try:
                data = ctx.transport.read_small(path, MAX_CERT_FILE)
            except PermissionError:
                denied.append(path)
                records.append(certinfo.error_record("permission denied", path=path))
                continue
            except OSError as exc:
                records.append(certinfo.error_record(f"unreadable: {exc.strerror}", path=path))
                continue
            if b"CERTIFICATE-----" not in data and data.startswith(b"-----"):
                continue  # a PEM without certificates (a key, a CSR): not ours to read
            records.extend(certinfo.file_certificates(data, path))
    extra = [p for p in ctx.transport.glob("/home/*/.kube/config")]
    for path in (*KUBECONFIGS, *extra):
        try:
            data = ctx.transport.read_small(path, MAX_CERT_FILE)
        except PermissionError:
            denied.append(path)
            continue
        except OSError:
            continue
        records.extend(certinfo.kubeconfig_certificates(data, path))
    ctx.shared["certs_denied"] = denied
    return {"certificates": records}
