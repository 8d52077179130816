"""Rule fixtures (`tests:` in each rule): bundles in miniature run through the real pipeline.

Each fixture becomes a real .tgz written by the project's BundleWriter (a manifest and a
node.json for `node1` are generated unless the fixture gives them), is read back by the real
`load_evidence`, and the rule alone is evaluated on it: `fire` fixtures must produce a finding
of that rule, `quiet` ones must not. Keys a fixture may use (docs/rule-format.md):

- `files`: bundle path -> text;
- `items`: manifest items merged into the generated manifest (`{id, status, ...}`; node1);
- `manifest` / `node`: keys merged over the generated manifest / node.json;
- `os`: linux (default) or windows, for the generated node.json;
- `truncate`: keep only this fraction of the compressed bundle (a gzip stream that ends early);
- `extra_members`: hostile tar members (`{path, type: symlink|hardlink|fifo|file, target}`)
  added after the bundle is written, for the reader's bundle-problem rules.
"""
from __future__ import annotations

import copy
import gzip
import io
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from k8s_bundle.bundle.layout import MANIFEST_NAME
from k8s_bundle.bundle.manifest import ItemRecord, Manifest, NodeEntry
from k8s_bundle.analyzer.rules_load import Rule
from k8s_bundle.bundle.writer import BundleWriter
from k8s_bundle.errors import UserError

FIXTURE_NODE = "node1"
FIXTURE_CREATED_AT = "2026-11-22T11:30:00Z"
FIXTURE_TOP_DIR = "k8s-bundle-node1-20261122T113000Z"


@dataclass
class FixtureResult:
    rule_id: str
    name: str
    expect: str
    fired: bool                 # a finding at the rule's severity (not below its threshold)
    error: str | None = None
    below: bool = False         # only a below-threshold info finding (expect: below)

    @property
    def ok(self) -> bool:
        if self.error is not None:
            return False
        if self.expect == "below":
            return self.below and not self.fired
        return self.fired == (self.expect == "fire")

    def describe(self) -> str:
        status = "PASS" if self.ok else "FAIL"
        if self.error:
            why = f": {self.error}"
        elif not self.ok:
            why = {
                "fire": ": expected the rule to fire, it stayed quiet" + (" (below its threshold)" if self.below else ""),
                "below": ": expected an info finding below the threshold, "
                         + ("the rule fired at its severity" if self.fired else "there was none"),
            }.get(self.expect, ": expected quiet, the rule fired")
        else:
            why = ""
        return f"{status} {self.rule_id} [{self.expect}] {self.name}{why}"


def _node_json(fixture: dict[str, Any]) -> dict[str, Any]:
    os_name = fixture.get("os", "linux")
    if os_name == "windows":
        base = {
            "name": FIXTURE_NODE, "hostname": FIXTURE_NODE, "os": "windows",
            "distro": "Windows Server 2019 Datacenter", "kernel": "10.0.17763.5458", "arch": "AMD64",
            "timezone": "UTC", "utc_offset_seconds": 0, "cpus": 4, "memory_bytes": 8589934592,
            "versions": {"kubelet": "v1.29.3", "containerd": "1.7.13", "os_build": "10.0.17763.5458"},
            "roles": ["worker"], "runtime": "containerd", "init": "windows-service",
        }
    else:
        base = {
            "name": FIXTURE_NODE, "hostname": FIXTURE_NODE, "os": "linux",
            "distro": "Ubuntu 22.04.4 LTS", "kernel": "5.15.0-105-generic", "arch": "x86_64",
            "timezone": "UTC", "utc_offset_seconds": 0, "cpus": 4, "memory_bytes": 8254720000,
            "versions": {"kubelet": "v1.29.3", "kubeadm": "v1.29.3", "containerd": "1.7.13"},
            "roles": ["worker"], "runtime": "containerd", "init": "systemd",
        }
    base.update(fixture.get("node") or {})
    return base


def _item_for(path: str, size: int) -> ItemRecord | None:
    """A plausible manifest item for a fixture file below nodes/<node>/."""
    parts = path.split("/")
    if len(parts) < 4 or parts[0] != "nodes":
        return None
    node, area, rest = parts[1], parts[2], "/".join(parts[3:])
    if area == "commands":
        item_id, kind, source = rest.rsplit(".", 1)[0], "command", rest.rsplit(".", 1)[0]
    elif area == "files":
        item_id, kind, source = "file:/" + rest, "file", "/" + rest
    elif area == "logs" and rest.startswith("journal/"):
        unit = rest[len("journal/"):].rsplit(".", 1)[0]
        item_id, kind, source = f"journal-{unit}", "journal", f"journalctl -u {unit}"
    elif area == "logs":
        item_id, kind, source = "log:/" + rest, "file", "/" + rest
    else:
        item_id, kind, source = f"{area}:{rest}", "derived", rest
    return ItemRecord(node=node, area="fixture", id=item_id, path=path, kind=kind, source=source,
                      exit_code=0 if kind == "command" else None, duration_ms=1, bytes=size)


def _manifest(fixture: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
    node = _node_json(fixture)
    items = [i for p, data in sorted(files.items()) if (i := _item_for(p, len(data))) is not None]
    for extra in fixture.get("items") or []:
        item = ItemRecord.from_dict({"node": FIXTURE_NODE, "area": "fixture", "kind": "command",
                                     "source": extra["id"], "duration_ms": 1, **extra})
        items = [i for i in items if not (i.id == item.id and i.node == item.node)]
        items.append(item)
    manifest = Manifest(
        created_at=FIXTURE_CREATED_AT, finished_at=FIXTURE_CREATED_AT,
        collection={"argv": ["collect"], "since": "72h", "root": "/", "user": "root", "is_root": True},
        nodes=[NodeEntry(name=FIXTURE_NODE, os=node["os"], transport="local", timezone="UTC", utc_offset_seconds=0)],
        items=items,
    ).to_dict()
    manifest.update(copy.deepcopy(fixture.get("manifest") or {}))
    return manifest


def build_fixture_bundle(fixture: dict[str, Any], output: Path) -> Path:
    """Write the fixture as a real bundle at `output` (a .tgz) and return the path."""
    files = {p.lstrip("/"): text.encode("utf-8") for p, text in (fixture.get("files") or {}).items()}
    node_path = f"nodes/{FIXTURE_NODE}/node.json"
    if node_path not in files:
        files[node_path] = orjson.dumps(_node_json(fixture), option=orjson.OPT_INDENT_2)
    if MANIFEST_NAME in files:
        try:
            manifest = orjson.loads(files.pop(MANIFEST_NAME))
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"fixture manifest.json is not JSON: {exc}") from None
    else:
        manifest = _manifest(fixture, files)
    with BundleWriter(output, FIXTURE_TOP_DIR, overwrite=True, compresslevel=1) as writer:
        for path, data in files.items():
            writer.add_bytes(path, data)
        writer.finish(manifest)
    if fixture.get("extra_members"):
        _add_hostile_members(output, fixture["extra_members"])
    if fixture.get("truncate"):
        data = output.read_bytes()
        output.write_bytes(data[: max(1, int(len(data) * float(fixture["truncate"])))])
    return output


def _add_hostile_members(output: Path, members: list[dict[str, Any]]) -> None:
    """Re-pack the bundle with members the writer (rightly) refuses to produce.

    A `file` member with `declared_size` gets a header claiming that size and is written last,
    with no end-of-archive marker after it (a decompression bomb's header, without the bomb).
    """
    buf = io.BytesIO()
    dst = tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT)
    with tarfile.open(output, "r:gz") as src:
        for info in src.getmembers():
            dst.addfile(info, src.extractfile(info) if info.isfile() else None)
    liars = []
    for m in members:
        name = m["path"] if m["path"].startswith("/") else f"{FIXTURE_TOP_DIR}/{m['path']}"
        info = tarfile.TarInfo(name)
        content = m.get("content", "").encode("utf-8")
        if m["type"] == "symlink":
            info.type, info.linkname = tarfile.SYMTYPE, m.get("target", "/etc/passwd")
        elif m["type"] == "hardlink":
            info.type, info.linkname = tarfile.LNKTYPE, m.get("target", "/etc/passwd")
        elif m["type"] == "fifo":
            info.type = tarfile.FIFOTYPE
        else:
            info.size = len(content)
        if m.get("declared_size"):
            info.size = int(m["declared_size"])
            liars.append((info, content))
            continue
        dst.addfile(info, io.BytesIO(content) if m["type"] == "file" else None)
    if liars:
        dst.fileobj = io.BytesIO()  # keep tarfile from writing its end marker into buf
        for info, content in liars:
            buf.write(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))
            buf.write(content + b"\0" * (-len(content) % tarfile.BLOCKSIZE))
    dst.close()
    output.write_bytes(gzip.compress(buf.getvalue(), compresslevel=1))


def run_fixture(rule: Rule, fixture: dict[str, Any], workdir: Path) -> FixtureResult:
    from k8s_bundle.analyzer.evaluate import evaluate
    from k8s_bundle.analyzer.evidence import load_evidence
    from k8s_bundle.analyzer.logkeep import KeepPolicy

    name = str(fixture.get("name", "?"))
    expect = str(fixture.get("expect", "?"))
    safe = "".join(c if c.isalnum() else "-" for c in name)[:60]
    path = workdir / f"{rule.id}--{safe}.tgz"
    try:
        build_fixture_bundle(fixture, path)
        # read as `analyze` reads: the index keeps the lines this rule's literals find, so a
        # fire fixture also proves that the rule's lines survive the index (analyzer/logkeep.py)
        evidence = load_evidence(str(path), keep=KeepPolicy.for_rules([rule]))
    except (UserError, ValueError) as exc:
        return FixtureResult(rule.id, name, expect, False, f"fixture bundle unusable: {exc}")
    findings = [f for f in evaluate([rule], evidence) if f.rule_id == rule.id]
    # `quiet` means no finding at the rule's severity: lines below the rule's min_count/window
    # still give an info finding (severity by meaning), which `expect: below` asserts.
    return FixtureResult(rule.id, name, expect, any(not f.below_threshold for f in findings),
                         below=any(f.below_threshold for f in findings))


def run_rule_fixtures(rule: Rule, workdir: Path | None = None) -> list[FixtureResult]:
    if workdir is not None:
        return [run_fixture(rule, fx, workdir) for fx in rule.tests]
    with tempfile.TemporaryDirectory(prefix="k8s-bundle-fixture-") as tmp:
        return [run_fixture(rule, fx, Path(tmp)) for fx in rule.tests]
