"""Kubernetes node facts: kubelet config and flags, kubeconfigs, certificates, static pods,
CNI configuration, flannel subnet."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlparse

from k8s_bundle.analyzer.parsers import FinalizeContext, finalizer, parser
from k8s_bundle.bundle.specs import S
from k8s_bundle.analyzer.parsers._util import (env_assignments, load_json, load_yaml, load_yaml_all, parse_flags,
                                               split_words, unit_file)
from k8s_bundle.analyzer.reference_time import parse_rfc3339 as parse_time


@parser(S.kubelet_config, fact="kubelet_config")
def parse_kubelet_config(text: str) -> dict[str, Any]:
    doc = load_yaml(text)
    if not isinstance(doc, dict):
        raise ValueError("kubelet config is not a YAML mapping")
    return doc


# -- kubelet flags, merged from every place they may come from (lowest priority first) ---------
@parser(S.kubelet_defaults, fact="kubelet_flags", merge="dict", priority=1)
def parse_kubelet_env_file(text: str) -> dict[str, str]:
    """`KUBELET_EXTRA_ARGS=--node-ip=...` (Debian /etc/default, RHEL /etc/sysconfig)."""
    return _flags_from_env(env_assignments(text))


@parser(S.kubeadm_flags, fact="kubelet_flags", merge="dict", priority=2)
def parse_kubeadm_flags(text: str) -> dict[str, str]:
    """`KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=... --pod-infra-container-image=..."`."""
    return _flags_from_env(env_assignments(text))


@parser(S.kubelet_unit, fact="kubelet_flags", merge="dict", priority=0)
def parse_kubelet_unit(text: str) -> dict[str, str]:
    """Flags set in `Environment="KUBELET_KUBECONFIG_ARGS=--kubeconfig=..."` and written
    literally on `ExecStart=` (a `$VAR` there is expanded by the other sources)."""
    env: dict[str, str] = {}
    flags: dict[str, str] = {}
    for section, key, value in unit_file(text):
        if section != "Service":
            continue
        if key == "Environment":
            for word in split_words(value):
                name, _, val = word.partition("=")
                env[name] = val
        elif key == "ExecStart" and value:
            flags.update(parse_flags(split_words(value)[1:]))
    return {**_flags_from_env(env), **flags}


@parser(S.kubelet_cmdline, fact="kubelet_flags", merge="dict", priority=3)
def parse_kubelet_cmdline(text: str) -> dict[str, str]:
    """The running kubelet's argv, one word per line: what is really in force wins."""
    words = [w for w in text.splitlines() if w.strip()]
    if len(words) == 1:          # a space-separated command line is accepted too
        words = split_words(words[0])
    return parse_flags(words[1:] if words and not words[0].startswith("-") else words)


def _flags_from_env(env: dict[str, str]) -> dict[str, str]:
    flags: dict[str, str] = {}
    for name in sorted(env):
        if name.endswith("ARGS") or name.endswith("OPTS"):
            flags.update(parse_flags(split_words(env[name])))
    return flags


# -- kubeconfigs ---------------------------------------------------------------------------------
_CERT_ATTR = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@parser(S.kubeconfigs, fact="kubeconfigs", merge="list")
def parse_kubeconfig(text: str, path: str) -> dict[str, Any] | None:
    """A kubeconfig as redaction left it; other files under these globs are not ours (None)."""
    if "clusters:" not in text or ("users:" not in text and "contexts:" not in text):
        return None
    doc = load_yaml(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("clusters"), list):
        return None
    current = doc.get("current-context")
    contexts = {c.get("name"): c.get("context") or {} for c in _dicts(doc.get("contexts"))}
    ctx = contexts.get(current) or (next(iter(contexts.values())) if contexts else {})
    clusters = {c.get("name"): c.get("cluster") or {} for c in _dicts(doc.get("clusters"))}
    users = {u.get("name"): u.get("user") or {} for u in _dicts(doc.get("users"))}
    cluster = clusters.get(ctx.get("cluster")) or (next(iter(clusters.values())) if clusters else {})
    user = users.get(ctx.get("user")) or (next(iter(users.values())) if users else {})
    server = cluster.get("server") if isinstance(cluster.get("server"), str) else None
    return {
        "path": "/" + path.removeprefix("files/"),
        "server": server,
        "server_host": _host(server),
        "current_context": current,
        "user_auth": _auth_kinds(user),
        "ca": _cert_meta(cluster.get("certificate-authority-data")),
        "ca_file": cluster.get("certificate-authority"),
        "insecure_skip_tls_verify": bool(cluster.get("insecure-skip-tls-verify", False)),
        "client_cert": _cert_meta(user.get("client-certificate-data")),
        "client_cert_file": user.get("client-certificate"),
        "client_key_file": user.get("client-key"),
    }


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _host(server: str | None) -> str | None:
    if not server:
        return None
    try:
        return urlparse(server).hostname
    except ValueError:
        return None


def _auth_kinds(user: dict[str, Any]) -> list[str]:
    kinds = []
    if "client-certificate-data" in user or "client-certificate" in user:
        kinds.append("client-cert")
    if "token" in user or "tokenFile" in user:
        kinds.append("token")
    if "exec" in user:
        kinds.append("exec")
    if "auth-provider" in user:
        kinds.append("auth-provider")
    if "username" in user or "password" in user:
        kinds.append("basic")
    return kinds


def _cert_meta(value: Any) -> dict[str, Any] | None:
    """Metadata of kubeconfig certificate data: the redaction string, or (unredacted
    input from another tool) the certificate itself via k8s_bundle.certinfo."""
    if not isinstance(value, str) or not value.strip():
        return None
    if value.startswith("<redacted:cert"):
        first = value.split(";", 1)[0]
        meta = {k: v.replace('\\"', '"').replace("\\\\", "\\") for k, v in _CERT_ATTR.findall(first)}
        return {"subject": meta.get("subject"), "issuer": meta.get("issuer"),
                "not_before": meta.get("not_before"), "not_after": meta.get("not_after"),
                "sha256": meta.get("sha256"), "count": value.count("subject=")}
    if value.startswith("<redacted"):
        return {"subject": None, "issuer": None, "not_before": None, "not_after": None, "sha256": None, "count": 0}
    from k8s_bundle import certinfo

    try:
        certs = certinfo.decode_cert_data(value)
    except ValueError:
        return None
    if not certs:
        return None
    md = certinfo.metadata(certs[0])
    return {"subject": md.get("subject"), "issuer": md.get("issuer"), "not_before": md.get("not_before"),
            "not_after": md.get("not_after"), "sha256": md.get("fingerprint_sha256"), "count": len(certs)}


@parser(S.kubeconfig_probe, fact="kubeconfig_probe")
def parse_kubeconfig_probe(text: str) -> dict[str, Any]:
    """`{tried: [{path, ok, result}], using: {path, version} or null}`: which kubeconfig reached the API."""
    doc = load_json(text)
    if not isinstance(doc, dict):
        raise ValueError("kubeconfig-probe.json is not a JSON object")
    return doc


# -- certificates --------------------------------------------------------------------------------
@parser(S.certs_json, fact="certs", max_records=1_000)   # a node holds ~30
def parse_certs_json(text: str) -> list[dict[str, Any]]:
    doc = load_json(text)
    certs = doc.get("certificates") if isinstance(doc, dict) else doc
    if not isinstance(certs, list):
        raise ValueError("certs.json has no certificates list")
    return [c for c in certs if isinstance(c, dict)]


@finalizer(order=0)
def certificate_days_left(node: dict[str, Any], ctx: FinalizeContext) -> None:
    """`days_left` of every certificate (and kubeconfig cert) from the bundle's reference time:
    the report judges expiry as of collection (created_at), not as of analysis, unless the
    bundle has no usable created_at (analyzer/reference_time.py)."""
    now = (parse_time(ctx.bundle.get("reference_time")) or parse_time(ctx.bundle.get("created_at"))
           or dt.datetime.now(dt.timezone.utc))
    metas = [c for c in node.get("certs", []) if isinstance(c, dict)]
    for kc in node.get("kubeconfigs", []) or []:
        if isinstance(kc, dict):
            metas += [m for m in (kc.get("ca"), kc.get("client_cert")) if isinstance(m, dict)]
    for meta in metas:
        end = parse_time(meta.get("not_after"))
        meta["days_left"] = round((end - now).total_seconds() / 86400, 2) if end else None


# -- static pods ---------------------------------------------------------------------------------
@parser(S.static_pods, fact="static_pods", merge="list")
def parse_static_pod(text: str, path: str) -> list[dict[str, Any]]:
    """`{name, path, image, command, args, flags, host_network, containers}` per pod."""
    out = []
    for doc in load_yaml_all(text):
        if not isinstance(doc, dict) or doc.get("kind") not in (None, "Pod"):
            continue
        spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
        containers = _dicts(spec.get("containers"))
        first = containers[0] if containers else {}
        command = [str(c) for c in first.get("command") or []]
        args = [str(a) for a in first.get("args") or []]
        out.append({
            "name": (doc.get("metadata") or {}).get("name"),
            "path": "/" + path.removeprefix("files/"),
            "image": first.get("image"),
            "command": command,
            "args": args,
            "flags": parse_flags(command[1:] + args),
            "host_network": bool(spec.get("hostNetwork", False)),
            "containers": [{"name": c.get("name"), "image": c.get("image")} for c in containers],
        })
    return out


# -- CNI -----------------------------------------------------------------------------------------
@parser(S.cni_configs, fact="cni.configs", merge="list")
def parse_cni_config(text: str, path: str) -> dict[str, Any]:
    """`{path, name, type, plugins: [type], capabilities, cni_version, raw}`; for a conflist
    `type` is the first plugin's."""
    doc = load_json(text)
    if not isinstance(doc, dict):
        raise ValueError("CNI config is not a JSON object")
    plugins = _dicts(doc.get("plugins")) if "plugins" in doc else [doc]
    caps: dict[str, Any] = {}
    for plugin in plugins:
        if isinstance(plugin.get("capabilities"), dict):
            caps.update(plugin["capabilities"])
    return {"path": "/" + path.removeprefix("files/"), "name": doc.get("name"),
            "type": plugins[0].get("type") if plugins else None,
            "plugins": [p.get("type") for p in plugins], "capabilities": caps,
            "cni_version": doc.get("cniVersion"), "raw": doc}


@parser(S.cni_bin, fact="cni.bin")
def parse_cni_bin(text: str) -> list[str]:
    """`ls /opt/cni/bin` (one name a line, or `ls -l` lines: the last word is the name)."""
    names = []
    for line in text.splitlines():
        words = line.split()
        if not words or line.startswith("total "):
            continue
        names.append(words[-1].rsplit("/", 1)[-1])
    return names


@parser(S.flannel_subnet, fact="flannel_subnet")
def parse_flannel_subnet(text: str) -> dict[str, str]:
    return env_assignments(text)
