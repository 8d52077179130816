"""Helpers shared by the Linux parsers (not a parser module: the registry skips `_` modules)."""
from __future__ import annotations

import re

import shlex
import tomllib
from typing import Any

import orjson
import yaml

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


# PyYAML and tomllib are pure Python (about 1 MB/s): configuration files are a few KB, and a
# hostile multi-megabyte one must cost seconds at most, not minutes.
MAX_CONFIG_CHARS = 4 * 1024 * 1024


def _check_size(text: str, what: str) -> None:
    if len(text) > MAX_CONFIG_CHARS:
        raise ValueError(f"{what} document of {len(text)} characters is larger than {MAX_CONFIG_CHARS}; not parsed")


def load_yaml(text: str) -> Any:
    _check_size(text, "YAML")
    return jsonable(yaml.load(text, Loader=_NoAliasLoader))  # noqa: S506 - safe loader subclass


def load_yaml_all(text: str) -> list[Any]:
    _check_size(text, "YAML")
    return [jsonable(d) for d in yaml.load_all(text, Loader=_NoAliasLoader) if d is not None]  # noqa: S506


def load_toml(text: str) -> dict[str, Any]:
    _check_size(text, "TOML")
    return tomllib.loads(text)


def load_json(text: str) -> Any:
    return orjson.loads(text.strip().lstrip("\ufeff") or "null")


def jsonable(value: Any) -> Any:
    """Make YAML output JSON-like: dates and other scalars become strings, keys strings."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
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
