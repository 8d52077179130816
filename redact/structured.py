"""Structure-aware redaction: YAML, JSON, TOML and INI values are replaced by their key or path,
whatever the value looks like.

YAML is composed (not loaded) so every scalar keeps its position in the source; replacements
are spliced into the original text, which keeps comments, order and layout for the analyzer.
JSON is parsed with the standard library (exact: orjson would turn integers past 64 bits into
floats), redacted in place and written back. TOML/INI are handled line by
line (key = value); the section pass here only adds the rules that need a sibling key in the
same section (a `username` next to a `password`), the text pass does the rest.

JSON or YAML found inside a string (kubectl.kubernetes.io/last-applied-configuration, a
kubeconfig inside a ConfigMap) is redacted recursively.
"""
from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import yaml

from k8s_bundle import certinfo
from k8s_bundle.redact.text import redact_base64_document, skip_value

if TYPE_CHECKING:
    from k8s_bundle.redact.redactor import Job
    from k8s_bundle.redact.rules import Rule

try:
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing: slower, same result
    _Loader = yaml.SafeLoader

_YAML_SKIP_TAGS = {"tag:yaml.org,2002:null", "tag:yaml.org,2002:bool"}
_YAMLISH = re.compile(r"^(---|[ \t]*[\w\"'.-][\w\"' ./-]*:([ \t]|$)|[ \t]*- )", re.M)
_INI_SECTION = re.compile(r"^[ \t]*\[[^\]\n]+\][ \t]*$", re.M)
_INI_KV = re.compile(r"^(?P<lead>[ \t]*)(?P<key>\"[^\"\n]+\"|'[^'\n]+'|[\w.-]+)[ \t]*(?P<sep>[=:])[ \t]*(?P<value>.*?)[ \t\r]*$")
_FLAG_NAME = re.compile(r"[A-Za-z][\w-]{0,80}")
MAX_DEPTH = 200
# keys that hold the value of their parent: under a secret name, the secret itself
_HOLDER_KEYS = frozenset({"value", "data", "text", "content", "plain", "plaintext", "raw", "string", "b64", "base64"})
_B64_VALUE = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")


def _yaml_quote(value: str) -> str:
    # Single quotes keep the cert metadata string readable (its inner double quotes stay as
    # they are); multi-line or control characters need the escapes of double quotes.
    if value.isprintable():
        return "'" + value.replace("'", "''") + "'"
    return json.dumps(value, ensure_ascii=False)


def _match(pattern: tuple[str, ...], path: tuple[Any, ...], i: int = 0, j: int = 0) -> bool:
    while i < len(pattern):
        seg = pattern[i]
        if seg == "**":
            return any(_match(pattern, path, i + 1, k) for k in range(j, len(path) + 1))
        if j >= len(path):
            return False
        if seg != "*" and seg != str(path[j]):
            return False
        i += 1
        j += 1
    return j == len(path)


class StructuredRedactor:
    def __init__(self, job: "Job") -> None:
        self.job = job
        rs = job.ruleset
        self.rs = rs
        # Index path patterns by their last segment: most keys match no pattern at all.
        self.by_last: dict[str, list[tuple["Rule", tuple[str, ...]]]] = {}
        self.wild: list[tuple["Rule", tuple[str, ...]]] = []
        for rule in rs.path_rules:
            for pat in rule.paths:
                if pat[-1] in ("*", "**"):
                    self.wild.append((rule, pat))
                else:
                    self.by_last.setdefault(pat[-1], []).append((rule, pat))
        self.where_rules = [r for r in rs.path_rules if r.where]
        self.changed = False

    # -- decisions shared by the JSON and YAML walkers ---------------------------------------
    def _anchors(self, anchors: list[tuple[int, "Rule"]], depth: int, scalars: dict[str, Any]) -> list[tuple[int, "Rule"]]:
        new = anchors
        for rule in self.where_rules:
            if all(str(scalars.get(k)) == v for k, v in rule.where.items()):
                new = new + [(depth, rule)]
        return new

    def path_rule(self, path: tuple[Any, ...], anchors: list[tuple[int, "Rule"]]) -> "Rule | None":
        last = path[-1]
        candidates = self.by_last.get(last if isinstance(last, str) else str(last))
        if candidates is None:
            if not self.wild:
                return None
            candidates = self.wild
        elif self.wild:
            candidates = candidates + self.wild
        for rule, pat in candidates:
            if rule.where:
                if any(r is rule and _match(pat, path[idx:]) for idx, r in anchors):
                    return rule
            elif _match(pat, path):
                return rule
        return None

    def key_rule(self, key: str, scalars: dict[str, Any], keys: Any, path: tuple[Any, ...] = ()) -> "Rule | None":
        for rule in self.rs.pair_rules:
            spec = rule.pair
            assert spec is not None
            if key == spec.value_key:
                name = scalars.get(spec.name_key)
                if isinstance(name, str) and spec.names.fullmatch(name) and not (
                    spec.unless is not None and spec.unless.fullmatch(name)
                ):
                    return rule
        rule = self.rs.classify_key(
            key, structured=True,
            sibling=lambda p: any(isinstance(k, str) and k != key and p.fullmatch(k) for k in keys)
        )
        if rule is None and isinstance(key, str) and key.lower() in _HOLDER_KEYS and len(path) >= 2 \
                and isinstance(path[-2], str):
            # the path says it: `password: {value: x}`, `clientSecret: {data: x}` (a strong name
            # only: one whose rule takes any value, not `key:` or `auth:` with their checks)
            parent = self.rs.classify_key(path[-2], structured=True)
            if parent is not None and parent.validate is None and parent.action == "redact":
                return parent
        return rule

    def replacement(self, rule: "Rule", value: Any) -> str | None:
        """The new scalar text for a value a rule selected, or None to keep it."""
        if value is None or isinstance(value, bool):
            return None
        text = value if isinstance(value, str) else str(value)
        raw = text.encode("utf-8", "surrogatepass")
        if not text.strip() or skip_value(raw) or not rule.accepts(raw):
            return None
        if rule.action == "cert-metadata":
            try:
                summary = certinfo.summary_string(text)
            except ValueError:
                summary = None
            if summary is not None:
                self.job.count(rule)
                self.changed = True
                return summary
        self.changed = True
        return self.job.replace(rule, text.encode("utf-8", "surrogatepass"), self.job.line).decode("utf-8")

    def flag_before(self, prev: Any) -> "Rule | None":
        """The rule of a secret flag given as its own argv element (["--token", "VALUE"])."""
        if not isinstance(prev, str) or not prev.startswith("--") or "=" in prev:
            return None
        name = prev[2:].strip()
        if not _FLAG_NAME.fullmatch(name):
            return None
        return self.rs.classify_key(name, flag=True, structured=False)

    # -- JSON (Python objects) ---------------------------------------------------------------
    def walk_obj(self, obj: Any, path: tuple[Any, ...] = (), anchors: list[tuple[int, "Rule"]] | None = None) -> None:
        if len(path) > MAX_DEPTH:
            raise ValueError("structure nested too deep")
        anchors = anchors or []
        if isinstance(obj, dict):
            # The mapping itself serves as "scalars" (where/pair look-ups compare strings, so a
            # nested value never matches) and as the sibling key list: no copies per mapping.
            if self.where_rules:
                anchors = self._anchors(anchors, len(path), obj)
            for k in [k for k in obj if isinstance(k, str)]:
                self._visit_obj(obj, k, path + (k,), anchors, obj, obj)
        elif isinstance(obj, list):
            for i in range(len(obj)):
                flag_rule = self.flag_before(obj[i - 1]) if i else None
                if flag_rule is not None and isinstance(obj[i], str) and not obj[i].startswith("-"):
                    new = self.replacement(flag_rule, obj[i])
                    if new is not None:
                        obj[i] = new
                    continue
                self._visit_obj(obj, i, path + (i,), anchors, None, None)

    def _visit_obj(self, parent: Any, k: Any, path: tuple[Any, ...], anchors: list[tuple[int, "Rule"]],
                   scalars: dict[str, Any] | None, keys: Any) -> None:
        value = parent[k]
        rule = self.path_rule(path, anchors) if self.rs.path_rules else None
        if rule is not None:
            self._redact_all_obj(parent, k, rule)
            return
        if isinstance(value, list) and scalars is not None and keys is not None and value \
                and not any(isinstance(x, (dict, list)) for x in value):
            # a secret key holding a list of values (containerd hosts header `X-Key = ["..."]`)
            rule = self.key_rule(k, scalars, keys, path)
            if rule is not None:
                for i, item in enumerate(value):
                    new = self.replacement(rule, item)
                    if new is not None:
                        value[i] = new
                return
        if isinstance(value, (dict, list)):
            self.walk_obj(value, path, anchors)
            return
        if scalars is not None and keys is not None:
            rule = self.key_rule(k, scalars, keys, path)
            if rule is not None:
                new = self.replacement(rule, value)
                if new is not None:
                    parent[k] = new
                    return
                if rule.validate is None:
                    return
                # a value the rule's check keeps may still hold a document (tls.key: a PEM block)
        if isinstance(value, str):
            new = self.embedded(value)
            if new is not None:
                parent[k] = new

    def _redact_all_obj(self, parent: Any, k: Any, rule: "Rule") -> None:
        value = parent[k]
        if isinstance(value, dict):
            for kk in list(value):
                self._redact_all_obj(value, kk, rule)
        elif isinstance(value, list):
            for i in range(len(value)):
                self._redact_all_obj(value, i, rule)
        else:
            new = self.replacement(rule, value)
            if new is not None:
                parent[k] = new

    def redact_json(self, data: bytes) -> bytes | None:
        """Redacted JSON text, or None when `data` is not one JSON document."""
        try:
            doc = json.loads(data)
        except (ValueError, RecursionError):
            return None
        if not isinstance(doc, (dict, list)):
            return None
        self.changed = False
        self.walk_obj(doc)
        if not self.changed:
            return data
        indented = data.count(b"\n") > 1
        out = json.dumps(doc, ensure_ascii=False, indent=2 if indented else None,
                         separators=None if indented else (",", ":")).encode("utf-8", "surrogatepass")
        return out + (b"\n" if data.endswith(b"\n") else b"")

    # -- strings holding JSON or YAML ----------------------------------------------------------
    def embedded(self, value: str) -> str | None:
        s = value.strip()
        if len(s) >= 40 and _B64_VALUE.fullmatch(s):
            new_b64 = redact_base64_document(self.job, s.encode("ascii"), self.job.line)
            if new_b64 is not None:
                self.changed = True
                return new_b64.decode("ascii")
            return None
        if len(s) >= 2 and s[0] in "{[" and s[-1] in "}]":
            try:
                doc = json.loads(s)
            except (ValueError, RecursionError):
                doc = None
            if isinstance(doc, (dict, list)):
                before = self.changed
                self.changed = False
                self.walk_obj(doc)
                changed, self.changed = self.changed, before or self.changed
                return json.dumps(doc, ensure_ascii=False, separators=(",", ":")) if changed else None
        if "\n" in value:
            new = value
            if _YAMLISH.search(value):
                inner = StructuredRedactor(self.job)
                result = inner.redact_yaml(value)
                if result is not None and inner.changed:
                    new = result
            new = self.job.redact_text(new)
            if new != value:
                self.changed = True
                return new
        return None

    # -- YAML -----------------------------------------------------------------------------------
    def redact_yaml(self, text: str) -> str | None:
        """Redacted YAML text (layout kept), or None when it does not parse as YAML."""
        try:
            docs = list(yaml.compose_all(text, Loader=_Loader))
        except (yaml.YAMLError, RecursionError, ValueError):
            return None
        if not any(isinstance(d, (yaml.MappingNode, yaml.SequenceNode)) for d in docs):
            return None
        self.splices: list[tuple[int, int, str]] = []
        self.seen: set[int] = set()
        self.changed = False
        for doc in docs:
            if doc is not None:
                self._walk_node(doc, (), [])
        if not self.splices:
            return text
        out: list[str] = []
        cursor = 0
        for start, end, new in sorted(self.splices):
            if start < cursor:
                continue  # an alias or nested splice already covered
            span = text[start:end]
            tail = span[len(span.rstrip()):]
            out.append(text[cursor:start])
            out.append(_yaml_quote(new) + tail)
            cursor = end
        out.append(text[cursor:])
        return "".join(out)

    def _walk_node(self, node: Any, path: tuple[Any, ...], anchors: list[tuple[int, "Rule"]]) -> None:
        if id(node) in self.seen or len(path) > MAX_DEPTH:
            return
        self.seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            scalars = {
                k.value: v.value for k, v in node.value
                if isinstance(k, yaml.ScalarNode) and isinstance(v, yaml.ScalarNode)
            }
            keys = [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
            if self.where_rules:
                anchors = self._anchors(anchors, len(path), scalars)
            for knode, vnode in node.value:
                if not isinstance(knode, yaml.ScalarNode):
                    continue
                self._visit_node(knode.value, vnode, path + (knode.value,), anchors, scalars, keys)
        elif isinstance(node, yaml.SequenceNode):
            for i, child in enumerate(node.value):
                prev = node.value[i - 1] if i else None
                flag_rule = self.flag_before(prev.value) if isinstance(prev, yaml.ScalarNode) else None
                if flag_rule is not None and isinstance(child, yaml.ScalarNode) and not child.value.startswith("-"):
                    self.job.line = child.start_mark.line + 1
                    new = self.replacement(flag_rule, child.value)
                    if new is not None:
                        self.splices.append((child.start_mark.index, child.end_mark.index, new))
                    continue
                self._visit_node(i, child, path + (i,), anchors, None, None)

    def _visit_node(self, key: Any, node: Any, path: tuple[Any, ...], anchors: list[tuple[int, "Rule"]],
                    scalars: dict[str, Any] | None, keys: list[str] | None) -> None:
        rule = self.path_rule(path, anchors) if self.rs.path_rules else None
        if rule is not None:
            self._redact_all_node(node, rule)
            return
        if isinstance(node, yaml.SequenceNode) and scalars is not None and keys is not None and node.value \
                and all(isinstance(x, yaml.ScalarNode) for x in node.value):
            rule = self.key_rule(key, scalars, keys, path)
            if rule is not None:  # a secret key holding a list of values
                for item in node.value:
                    if item.tag not in _YAML_SKIP_TAGS:
                        self.job.line = item.start_mark.line + 1
                        new = self.replacement(rule, item.value)
                        if new is not None:
                            self.splices.append((item.start_mark.index, item.end_mark.index, new))
                return
        if not isinstance(node, yaml.ScalarNode):
            self._walk_node(node, path, anchors)
            return
        if node.tag in _YAML_SKIP_TAGS:
            return
        self.job.line = node.start_mark.line + 1
        if scalars is not None and keys is not None:
            rule = self.key_rule(key, scalars, keys, path)
            if rule is not None:
                new = self.replacement(rule, node.value)
                if new is not None:
                    self.splices.append((node.start_mark.index, node.end_mark.index, new))
                    return
                if rule.validate is None:
                    return
                # a value the rule's check keeps may still hold a document (tls.key: a PEM block)
        new = self.embedded(node.value)
        if new is not None:
            self.splices.append((node.start_mark.index, node.end_mark.index, new))

    def _redact_all_node(self, node: Any, rule: "Rule") -> None:
        if isinstance(node, yaml.MappingNode):
            for _, v in node.value:
                self._redact_all_node(v, rule)
        elif isinstance(node, yaml.SequenceNode):
            for v in node.value:
                self._redact_all_node(v, rule)
        elif isinstance(node, yaml.ScalarNode) and node.tag not in _YAML_SKIP_TAGS:
            self.job.line = node.start_mark.line + 1
            new = self.replacement(rule, node.value)
            if new is not None:
                self.splices.append((node.start_mark.index, node.end_mark.index, new))

    # -- TOML / INI sections ----------------------------------------------------------------------
    def redact_sections(self, text: str) -> str:
        """Apply the rules that need a sibling key in the same [section] (username + password)."""
        sibling_rules = [r for r in self.rs.key_rules if r.with_sibling is not None]
        if not sibling_rules:
            return text
        lines = text.split("\n")
        bounds = [0] + [i for i, l in enumerate(lines) if _INI_SECTION.match(l)] + [len(lines)]
        for a, b in zip(bounds, bounds[1:]):
            parsed = [(i, _INI_KV.match(lines[i])) for i in range(a, b)]
            keys = [m.group("key").strip("\"'") for _, m in parsed if m]
            for i, m in parsed:
                if not m:
                    continue
                key = m.group("key").strip("\"'")
                rule = self.rs.classify_key(key, sibling=lambda p: any(p.fullmatch(k) for k in keys if k != key))
                if rule is None or rule.with_sibling is None:
                    continue
                raw = m.group("value")
                quote = raw[:1] if raw[:1] in ("'", '"') and raw.endswith(raw[:1]) and len(raw) >= 2 else ""
                value = raw[1:-1] if quote else raw
                # the text was decoded with surrogateescape (engine._structured): bytes that are
                # not UTF-8 go back as they came
                raw_value = value.encode("utf-8", "surrogateescape")
                if not value or skip_value(raw_value) or not rule.accepts(raw_value):
                    continue
                self.job.line = i + 1
                placeholder = self.job.replace(rule, raw_value, i + 1).decode("utf-8", "surrogateescape")
                lines[i] = f"{m.group('lead')}{m.group('key')} {m.group('sep')} {quote}{placeholder}{quote}"
        return "\n".join(lines)
