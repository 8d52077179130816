"""Where things live in a bundle (docs/bundle-format.md): names shared by writer and reader.

```
<top>/manifest.json            written last
<top>/redaction.json
<top>/nodes/<node>/...         one folder per node (node_name() of its hostname)
<top>/cluster/...              API objects, once per bundle
```
"""
from __future__ import annotations

import re

# Version of the bundle contract in docs/bundle-format.md. Bump the minor number for additions
# the analyzer may ignore, the major number for changes an older analyzer cannot read.
FORMAT_VERSION = "1.0"

MANIFEST_NAME = "manifest.json"
REDACTION_NAME = "redaction.json"
NODES_DIR = "nodes"
CLUSTER_DIR = "cluster"
# What may sit directly below the top directory.
ROOT_ENTRIES = frozenset({NODES_DIR, CLUSTER_DIR, MANIFEST_NAME, REDACTION_NAME})


def node_name(hostname: str) -> str:
    """A node's folder name: lower-cased, anything outside [a-z0-9.-] replaced by '_'."""
    name = re.sub(r"[^a-z0-9.-]", "_", hostname.strip().lower())
    return name.strip(".") or "node"


def node_dir(node: str) -> str:
    """`nodes/<node>`, the prefix of every member of that node."""
    return f"{NODES_DIR}/{node}"


def clean_member_name(name: str) -> str | None:
    """A member name normalised to a relative POSIX path; None when it is absolute (including
    a Windows drive) or escapes upwards. Every reader of member names goes through this."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return None
    parts = [part for part in name.replace("\\", "/").split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def node_of(path: str | None) -> str | None:
    """The node a member path (relative to the top directory) belongs to, if any."""
    if path and path.startswith(NODES_DIR + "/"):
        parts = path.split("/", 2)
        if len(parts) == 3:
            return parts[1]
    return None
