"""Helpers shared by the Linux parsers (not a parser module: the registry skips `_` modules)."""
from __future__ import annotations

import re

import shlex
import tomllib
from typing import Any, Iterator

import orjson
import yaml

from k8s_bundle.analyzer.parsers import CapExceeded

# Anything that is not one of these JSON-like types is refused in facts (YAML timestamps, sets).
_SCALARS = (str, int, float, bool, type(None))


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader without anchors/aliases: a hostile file could build a recursive or
    exponentially shared structure with them; Kubernetes files never need them."""

    def compose_node(self, parent, index):  # noqa: ANN001, ANN201
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "YAML aliases are not accepted", event.start_mark)
        return super().compose_node(parent, index)


# PyYAML's pure-Python loader and tomllib run at about 1 MB/s (and PyYAML builds ~300 bytes of
# objects per input byte): configuration files are a few KB, and a hostile multi-megabyte one
# must cost seconds at most, not minutes. libyaml (yaml.CSafeLoader, when PyYAML was built with
# it) parses about 20 times faster; the pure-Python loader is kept to a smaller size.
MAX_CONFIG_CHARS = 1024 * 1024        # real configs: a few KB; kubeconfigs with many contexts ~100 KB
MAX_PURE_PYTHON_CHARS = 256 * 1024
_CLOADER = getattr(yaml, "CSafeLoader", None)


def _check_size(text: str, what: str, limit: int = MAX_CONFIG_CHARS) -> None:
    if len(text) > limit:
        raise CapExceeded(f"{what} document of {len(text):,} characters is larger than {limit:,} "
                          f"(max config size); not parsed")


def _yaml_docs(text: str) -> Iterator[Any]:
    """The documents of a YAML stream as JSON-like values; aliases are refused.

    With libyaml the aliases are found after loading: an alias makes two places of the
    document the same Python list or dict, which `jsonable` (walking each container once)
    refuses, before it could expand a billion-laughs graph or loop on a recursive one."""
    if _CLOADER is not None:
        _check_size(text, "YAML")
        for doc in yaml.load_all(text, Loader=_CLOADER):  # noqa: S506 - libyaml's safe loader
            yield jsonable(doc, seen=set())
        return
    _check_size(text, "YAML", MAX_PURE_PYTHON_CHARS)
    for doc in yaml.load_all(text, Loader=_NoAliasLoader):  # noqa: S506 - safe loader subclass
        yield jsonable(doc)


def load_yaml(text: str) -> Any:
    docs = _yaml_docs(text)
    first = next(docs, None)
    if next(docs, None) is not None:
        raise ValueError("expected a single YAML document, found several")
    return first


def load_yaml_all(text: str) -> list[Any]:
    return [d for d in _yaml_docs(text) if d is not None]


def load_toml(text: str) -> dict[str, Any]:
    _check_size(text, "TOML")
    return tomllib.loads(text)


def load_json(text: str) -> Any:
    return orjson.loads(text.strip().lstrip("\ufeff") or "null")


def jsonable(value: Any, seen: set[int] | None = None) -> Any:
    """Make YAML output JSON-like: dates and other scalars become strings, keys strings.

    seen: ids of the containers already walked; one met twice is an alias (ValueError)."""
    if isinstance(value, (dict, list, tuple)) and seen is not None:
        if id(value) in seen:
            raise ValueError("YAML aliases are not accepted")
        seen.add(id(value))
    if isinstance(value, dict):
        return {str(k): jsonable(v, seen) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, seen) for v in value]
    if isinstance(value, _SCALARS):
        return value
    return str(value)


def to_int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def split_words(value: str) -> list[str]:
    """Shell-like split that never raises on an unbalanced quote."""
    try:
        return shlex.split(value, comments=False, posix=True)
    except ValueError:
        return value.split()


_NEGATIVE_NUMBER = re.compile(r"-\d+(\.\d+)?")


def parse_flags(words: list[str]) -> dict[str, str]:
    """`--a=b --c d --e` -> {"a": "b", "c": "d", "e": "true"}; non-flag words are ignored.

    Negative numbers and PowerShell variables (`-$x`) are values, not flags. Used for Linux
    argv and, after splitting, Windows service command lines.
    """
    flags: dict[str, str] = {}
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("-") and len(word) > 1 and not word.startswith("-$") \
                and not _NEGATIVE_NUMBER.fullmatch(word):
            name = word.lstrip("-")
            if "=" in name:
                key, val = name.split("=", 1)
                flags[key] = val
            elif i + 1 < len(words) and not words[i + 1].startswith("-"):
                flags[name] = words[i + 1]
                i += 1
            else:
                flags[name] = "true"
        i += 1
    return flags


def env_assignments(text: str) -> dict[str, str]:
    """KEY=value lines of an env file as systemd's EnvironmentFile reads them: the value is
    the rest of the line, one pair of surrounding quotes removed."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")) or "=" not in line:
            continue
        if line.startswith("export "):
            line = line[7:].strip()
        key, value = line.split("=", 1)
        key = key.strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        if key.replace("_", "").isalnum():
            out[key] = value
    return out


def unit_file(text: str) -> list[tuple[str, str, str]]:
    """(section, key, value) of a systemd unit file, with line continuations joined."""
    out: list[tuple[str, str, str]] = []
    section = ""
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        if "=" in line:
            key, val = line.split("=", 1)
            out.append((section, key.strip(), val.strip()))
    return out
