"""The Kubernetes API requests kubectl makes, answered from a Store: no HTTP here (httpd.py).

Read-only: GET (and HEAD) only. Every other verb gets a Status 405 MethodNotAllowed, which
kubectl prints as `Error from server (MethodNotAllowed): ...`. `watch=true` is refused the same
way: a bundle never changes, so there is nothing to wait for (`kubectl get -w` prints the list,
then that error).
"""
from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Iterator
from urllib.parse import parse_qs, unquote, urlsplit

from k8s_bundle import __version__
from k8s_bundle.errors import UserError
from k8s_bundle.serve import podlogs, resources, tables
from k8s_bundle.serve.loader import LogSource, Store, parse_time
from k8s_bundle.serve.resources import NODE_NAMESPACE, ResourceType
from k8s_bundle.serve.selectors import SelectorError, field_matcher, label_matcher

READ_ONLY = ("the server does not allow this method on the requested resource "
             "(k8s-bundle serve is read-only: a bundle is a record of what was collected)")


@dataclass
class Response:
    code: int
    body: bytes | Iterator[bytes]
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def _json(doc: Any, code: int = 200) -> Response:
    return Response(code, json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def status(code: int, reason: str, message: str, details: dict | None = None) -> Response:
    doc = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
           "reason": reason, "code": code}
    if details:
        doc["details"] = details
    return _json(doc, code)


def _not_found(rtype: ResourceType, name: str) -> Response:
    what = f"{rtype.plural}.{rtype.group}" if rtype.group else rtype.plural
    return status(404, "NotFound", f'{what} "{name}" not found',
                  {"name": name, "group": rtype.group, "kind": rtype.plural})


class Api:
    def __init__(self, store: Store, address: str = "127.0.0.1:0") -> None:
        self.store = store
        self.address = address
        self._now = store.now()
        kubelets = sorted({v for n in store.objects["nodes"].values()
                           if isinstance(v := tables.field(n, "status", "nodeInfo", "kubeletVersion"), str)} - {""})
        self._git_version = kubelets[-1] if kubelets else "v1.0.0"

    # -- entry --------------------------------------------------------------------------------
    def handle(self, method: str, target: str, accept: str = "") -> Response:
        url = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        parts = [unquote(p) for p in url.path.split("/") if p]
        if method not in ("GET", "HEAD"):
            return status(405, "MethodNotAllowed", READ_ONLY)
        if not parts:
            return _json({"paths": ["/api", "/api/v1", "/apis", "/version"]})
        head = parts[0]
        if head == "version" and len(parts) == 1:
            return _json(self._version())
        if head in ("healthz", "readyz", "livez") and len(parts) == 1:
            return Response(200, b"ok", "text/plain; charset=utf-8")
        if head == "api":
            if len(parts) == 1:
                return _json({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": self.address}]})
            return self._group_path("", parts[1], parts[2:], query, accept)
        if head == "apis":
            if len(parts) == 1:
                return _json({"kind": "APIGroupList", "apiVersion": "v1",
                              "groups": [self._group(g, v) for g, v in resources.groups().items() if g]})
            if len(parts) == 2:
                versions = resources.groups().get(parts[1])
                if not parts[1] or versions is None:
                    return status(404, "NotFound", "the server could not find the requested resource")
                return _json({"kind": "APIGroup", "apiVersion": "v1", **self._group(parts[1], versions)})
            return self._group_path(parts[1], parts[2], parts[3:], query, accept)
        return status(404, "NotFound", "the server could not find the requested resource")

    def _version(self) -> dict:
        major, _, rest = self._git_version.lstrip("v").partition(".")
        minor = rest.split(".", 1)[0]
        return {"major": major, "minor": minor, "gitVersion": f"{self._git_version}+k8s-bundle",
                "gitCommit": "", "gitTreeState": "", "buildDate": "", "goVersion": "",
                "compiler": f"k8s-bundle {__version__} serve", "platform": "linux/amd64"}

    @staticmethod
    def _group(name: str, versions: list[str]) -> dict:
        gvs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        return {"name": name, "versions": gvs, "preferredVersion": gvs[0]}

    # -- /api/v1/..., /apis/<group>/<version>/... ---------------------------------------------
    def _group_path(self, group: str, version: str, rest: list[str], query: dict, accept: str) -> Response:
        if not rest:
            doc = resources.resource_list(group, version)
            return _json(doc) if doc else status(404, "NotFound", "the server could not find the requested resource")
        ns: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3 and (group, version, rest[2]) in resources.BY_PATH:
            ns, rest = rest[1], rest[2:]
        rtype = resources.BY_PATH.get((group, version, rest[0]))
        if rtype is None or len(rest) > 3:
            return status(404, "NotFound", "the server could not find the requested resource")
        if ns is not None and not rtype.namespaced:
            return status(404, "NotFound", "the server could not find the requested resource")
        if query.get("watch") in ("true", "1"):
            return status(405, "MethodNotAllowed", "watch is not supported: a bundle never changes "
                          "(k8s-bundle serve answers get and list only)")
        if len(rest) == 1:
            return self._list(rtype, ns, query, accept)
        name = rest[1]
        key = ((ns or "default") if rtype.namespaced else "", name)
        obj = self.store.objects[rtype.plural].get(key)
        if obj is None:
            return _not_found(rtype, name)
        if len(rest) == 3:
            if rtype.plural == "pods" and rest[2] == "log":
                return self._log(obj, query)
            return status(404, "NotFound", "the server could not find the requested resource")
        if "as=Table" in accept:
            return _json(tables.table(rtype.plural, [obj], self._now, query.get("includeObject", "Metadata")))
        return _json(obj)

    def _list(self, rtype: ResourceType, ns: str | None, query: dict, accept: str) -> Response:
        try:
            labels = label_matcher(query.get("labelSelector"))
            fields = field_matcher(query.get("fieldSelector"))
        except SelectorError as exc:
            return status(400, "BadRequest", str(exc))
        items = [o for (ons, _), o in sorted(self.store.objects[rtype.plural].items())
                 if (ns is None or ons == ns) and labels(o) and fields(o)]
        if "as=Table" in accept:
            return _json(tables.table(rtype.plural, items, self._now, query.get("includeObject", "Metadata")))
        return _json({"kind": f"{rtype.kind}List", "apiVersion": rtype.group_version,
                      "metadata": {"resourceVersion": "1"}, "items": items})

    # -- pods/log -----------------------------------------------------------------------------
    def _log(self, pod: dict, query: dict) -> Response:
        meta = pod["metadata"]
        name, ns = meta["name"], meta["namespace"]
        names = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or [] if isinstance(c, dict)]
        ctr = query.get("container") or ""
        if not ctr:
            ctr = (meta.get("annotations") or {}).get("kubectl.kubernetes.io/default-container") or ""
            if not ctr and len(names) == 1:
                ctr = names[0]
            if not ctr:
                return status(400, "BadRequest", f"a container name must be specified for pod {name}, "
                              f"choose one of: [{' '.join(map(str, names))}]")
        if ctr not in names:
            return status(400, "BadRequest", f"container {ctr} is not valid for pod {name}")
        try:
            opts = self._log_options(query)
        except ValueError as exc:
            return status(400, "BadRequest", str(exc))
        previous = query.get("previous") in ("true", "1")
        if ns == NODE_NAMESPACE:
            src = self.store.node_logs.get((name, ctr))
            sources = [src] if src and not previous else []
        else:
            attempts = self.store.pod_logs.get((ns, name), {}).get(ctr, {})
            order = sorted(attempts)
            pick = order[-2] if previous and len(order) >= 2 else None if previous else (order[-1] if order else None)
            sources = attempts[pick] if pick is not None else []
        if not sources:
            if previous:
                return status(400, "BadRequest", f'previous terminated container "{ctr}" in pod "{name}" not found')
            return status(404, "NotFound", f'the bundle holds no log of container "{ctr}" in pod "{name}"')
        body = podlogs.stream(list(sources), opts, self._now.year)
        try:    # the first piece before the headers: a bundle gone since the start is a Status
            first = next(body, b"")
        except (UserError, podlogs.MemberGone, OSError) as exc:
            return status(500, "InternalError", f"cannot read the log from the bundle: {exc}")
        return Response(200, itertools.chain([first], body), "text/plain")

    def _log_options(self, query: dict) -> podlogs.LogOptions:
        def number(key: str) -> int | None:
            value = query.get(key)
            if value in (None, ""):
                return None
            try:
                n = int(value)
            except ValueError:
                raise ValueError(f"{key}: {value!r} is not a number") from None
            if n < 0:
                raise ValueError(f"{key}: must be 0 or more")
            return n

        since = None
        seconds = number("sinceSeconds")
        if seconds is not None:
            since = self._now - timedelta(seconds=seconds)
        if query.get("sinceTime"):
            since = parse_time(query["sinceTime"])
            if since is None:
                raise ValueError(f"sinceTime: {query['sinceTime']!r} is not an RFC 3339 time")
        return podlogs.LogOptions(tail=number("tailLines"), since=since,
                                  timestamps=query.get("timestamps") in ("true", "1"),
                                  limit_bytes=number("limitBytes"))


def log_sources_of(store: Store) -> list[LogSource]:
    """Every log the store serves (tests and the start-up summary count them)."""
    out = list(store.node_logs.values())
    for ctrs in store.pod_logs.values():
        for attempts in ctrs.values():
            for files in attempts.values():
                out += files
    return out
