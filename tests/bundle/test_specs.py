"""The table of specs (k8s_bundle/bundle/specs.py) against the two catalogues and the parser
registry: every stored member has a spec naming its item, every spec has a producer and a
reader (a parser, the log index or the raw mark), every parser reads spec paths; and
docs/bundle-format.md's artifact table is the one the table generates."""
from __future__ import annotations

import fnmatch
import subprocess
import sys
from pathlib import Path

import pytest

from k8s_bundle.analyzer.parsers import registry
from k8s_bundle.analyzer.specs_doc import current_section, readers
from k8s_bundle.bundle.specs import S, Spec, all_specs
from k8s_bundle.collector.context import Context
from k8s_bundle.collector.items import ApiItem, Item

REPO = Path(__file__).resolve().parents[2]
SPECS = list(all_specs())


@pytest.fixture(scope="module")
def linux_items(tmp_path_factory: pytest.TempPathFactory) -> list[Item]:
    """The Linux catalogue as the collector builds it for a root that has everything a
    catalogue asks about (the microk8s snap adds its legacy units)."""
    from k8s_bundle.collector.linux import catalogue
    from k8s_bundle.collector.transports.local import LocalTransport

    root = tmp_path_factory.mktemp("root")
    (root / "var/snap/microk8s").mkdir(parents=True)
    ctx = Context(transport=LocalTransport(str(root), live=False), node="n1", since="72h",
                  is_root=True, timeout=5, cap=1 << 20)
    items = catalogue(ctx)
    assert any(i.id == "journal-snap.microk8s.daemon-kubelet" for i in items)
    return items


@pytest.fixture(scope="module")
def windows_items() -> list[Item]:
    from k8s_bundle.collector.windows import catalogue

    ctx = Context(transport=None, node="win1", since="72h", is_root=True, timeout=5, cap=1 << 20)
    ctx.shared["since_seconds"] = 3600
    return catalogue(ctx)


def _scope(item: Item) -> str:
    return "cluster" if isinstance(item, ApiItem) else "node"


def _names(spec: Spec, os_: str) -> tuple[str, ...]:
    return spec.linux if os_ == "linux" else spec.windows


def _uncovered(items: list[Item], os_: str) -> list[str]:
    missing = []
    for item in items:
        assert item.members(), f"{os_} item {item.id} stores nothing the table could name"
        for member in item.members():
            if not any(s.scope == _scope(item) and s.covers(member)
                       and any(fnmatch.fnmatchcase(item.id, n) for n in _names(s, os_)) for s in SPECS):
                missing.append(f"{os_} item {item.id}: {member}")
    return missing


def _overlap(spec: Spec, member: str) -> bool:
    """The member pattern and the spec name common paths (approximated both ways: the item's
    `manifests/*` stores the spec's `manifests/*.yaml`)."""
    return spec.covers(member) or any(Spec(member, spec.format).covers(p) for p in spec.paths)


def test_specs_are_named_attributes() -> None:
    assert S.timedatectl.name == "timedatectl" and S.timedatectl.paths == ("commands/timedatectl.txt",)
    assert len({s.name for s in SPECS}) == len(SPECS) > 100
    with pytest.raises(AttributeError):
        S.timedatectl_show  # noqa: B018 - a misspelt spec fails loudly


def test_every_stored_member_has_a_spec_naming_its_item(linux_items, windows_items) -> None:
    missing = _uncovered(linux_items, "linux") + _uncovered(windows_items, "windows")
    assert not missing, "members no spec covers (add them to k8s_bundle/bundle/specs.py):\n" + "\n".join(missing)


def test_items_name_their_specs(linux_items, windows_items) -> None:
    for os_, items in (("linux", linux_items), ("windows", windows_items)):
        unnamed = sorted(i.id for i in items if not i.specs)
        assert not unnamed, f"{os_} items without spec=: {unnamed}"
        # the specs an item names list it as a producer (Item.__post_init__ checked the paths)
        wrong = [(i.id, s.name) for i in items for s in i.specs
                 if not any(fnmatch.fnmatchcase(i.id, n) for n in _names(s, os_))]
        assert not wrong, f"{os_} items naming specs that do not list them: {wrong}"
    assert next(i for i in linux_items if i.id == "uname").member == S.uname.path
    kubelet_service = next(i for i in linux_items if i.id == "kubelet-service")
    assert kubelet_service.specs == (S.kubelet_unit, S.kubelet_unit_run, S.kubelet_defaults)


def test_a_member_outside_its_spec_fails_when_the_catalogue_is_built() -> None:
    from k8s_bundle.collector.items import CommandItem, FileItem, command

    assert command(S.findmnt, "system", argv=("findmnt", "-J")).member == "commands/findmnt.json"
    with pytest.raises(ValueError, match="outside its spec"):
        CommandItem("timedatectl-show", "system", spec=S.timedatectl, argv=("timedatectl", "show"))
    with pytest.raises(ValueError, match="outside its spec"):
        FileItem("hosts", "network", spec=(S.resolv_conf, S.resolv_upstream), path="/etc/hosts")


def test_every_spec_has_a_producer(linux_items, windows_items) -> None:
    orphans = [s.name for s in SPECS if not (s.linux or s.windows or s.elsewhere)]
    assert not orphans, f"specs nothing produces: {orphans}"
    # ... and each producer it names is a catalogue item that names it and stores its members
    stale = []
    for spec in SPECS:
        for os_, items in (("linux", linux_items), ("windows", windows_items)):
            for name in _names(spec, os_):
                if not any(fnmatch.fnmatchcase(i.id, name) and _scope(i) == spec.scope
                           and any(s is spec for s in i.specs)
                           and any(_overlap(spec, m) for m in i.members()) for i in items):
                    stale.append(f"{spec.name}: {os_} item {name}")
    assert not stale, "specs name producers that do not store them:\n" + "\n".join(stale)


def test_every_spec_is_read_or_marked_raw() -> None:
    reg = registry()
    unread = [s.name for s in SPECS if not (readers(s, reg) or s.logs or s.raw)]
    assert not unread, f"specs with neither a parser nor the raw mark: {unread}"
    # raw means no parser reads it; logs go to the log index, never to parsers
    contradictions = [s.name for s in SPECS if (s.raw or s.logs) and readers(s, reg)]
    assert not contradictions, f"specs marked raw (or logs) that a parser reads: {contradictions}"


def test_every_parser_reads_spec_paths() -> None:
    named = {(s.scope, p) for s in SPECS for p in s.paths}
    stray = [f"{p.name}: {pattern}" for p in registry().parsers for pattern in p.patterns
             if (p.scope, pattern) not in named]
    assert not stray, "parsers reading paths no spec names:\n" + "\n".join(stray)
    # ... and the package's parsers name specs, not path strings: @parser(S.timedatectl, ...)
    strings = [p.name for p in registry().parsers
               if p.patterns != tuple(path for s in p.specs for path in s.paths)]
    assert not strings, f"parsers registered with path strings instead of specs: {strings}"
    assert any(S.timedatectl in p.specs and p.fact == "timedatectl" for p in registry().parsers)


def test_docs_artifact_table_is_current() -> None:
    out = subprocess.run([sys.executable, "-m", "k8s_bundle.analyzer.specs_doc"],
                         capture_output=True, text=True, check=True).stdout
    assert "| `S.timedatectl` | `commands/timedatectl.txt` |" in out
    doc = (REPO / "docs" / "bundle-format.md").read_text(encoding="utf-8")
    assert current_section(doc) == out, (
        "docs/bundle-format.md's artifact table is stale: run "
        "`python -m k8s_bundle.analyzer.specs_doc --write docs/bundle-format.md`")


def test_which_names_the_specs_of_a_member() -> None:
    run = [sys.executable, "-m", "k8s_bundle.analyzer.specs_doc", "--which"]
    out = subprocess.run([*run, "nodes/cp1/commands/timedatectl.txt"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.count("\n| `S.") == 1 and "`time.parse_timedatectl`" in out.stdout
    out = subprocess.run([*run, "cluster/pods.json"], capture_output=True, text=True)
    assert out.returncode == 0 and "`S.cluster_objects`" in out.stdout
    out = subprocess.run([*run, "nodes/cp1/commands/no-such-id.bin"], capture_output=True, text=True)
    assert out.returncode == 4 and out.stdout == "" and out.stderr.count("\n") == 1 and "no spec" in out.stderr


# parse_kubeconfig's globs (files/**/*.conf, files/**/config) also match other artifacts' files
# (resolv.conf, sysctl.d, unit drop-ins): it keeps only the documents that are kubeconfigs.
# Narrowing them to the places kubeconfigs are collected from would change what it reads.
WIDE_READERS = {S.kubeconfigs.name}


def test_one_parser_per_artifact() -> None:
    reg = registry()
    shared = sorted({(s.name, p.name) for s in SPECS for p in reg.parsers
                     if not any(r is s for r in p.specs) and p.scope == s.scope
                     and not any(r.name in WIDE_READERS for r in p.specs)
                     and any(p.regex.match(path) for path in s.paths)})
    assert not shared, f"artifacts a parser of another spec also reads: {shared}"
    assert all(len(readers(s, reg)) <= 1 for s in SPECS)
