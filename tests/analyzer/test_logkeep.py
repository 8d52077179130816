"""The index keeps only the rows a rule or a view reads (analyzer/logkeep.py): the literals
found in rule regexes, and whole analyses that must not change when the rows are reduced.

Every rule's fire fixtures also run through the keep policy (`rules test`, analyzer/fixtures.py),
so a literal that a rule's matching line does not hold fails that rule's fixture there."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from k8s_bundle.analyzer.blindspots import with_blind_spots
from k8s_bundle.analyzer.evaluate import evaluate, load_rules
from k8s_bundle.analyzer.evidence import load_evidence
from k8s_bundle.analyzer.logkeep import KeepPolicy, required_literals
from k8s_bundle.analyzer.render.json import report_document
from k8s_bundle.analyzer.unexplained import unexplained_templates
from k8s_bundle.bundle.writer import BundleWriter

RULES = load_rules()


@pytest.mark.parametrize("regex,literals,nocase", [
    (r"PLEG is not healthy: pleg was last seen active (?P<ago>\S+)", ["PLEG is not healthy: pleg was last seen active "], False),
    # a small optional group is multiplied out instead of ending the literal
    (r"server(?:_others|_linux)?\.go:\d+\] (?:.+)", ["server.go:", "server_linux.go:", "server_others.go:"], False),
    # an alternation whose every branch has a literal gives the set of them
    (r"(?:failed to pull image|ErrImagePull)", ["ErrImagePull", "failed to pull image"], False),
    (r"[Ff]ailed to find subsystem", ["Failed to find subsystem", "failed to find subsystem"], False),
    (r"(?i)running with swap on", ["running with swap on"], True),
    (r"level=(?:fatal|FATAL) .*msg=", ["level=FATAL ", "level=fatal "], False),
    # the longest required run wins over a shorter one
    (r"foo\d+barbaz", ["barbaz"], False),
])
def test_required_literals(regex: str, literals: list[str], nocase: bool) -> None:
    assert required_literals(regex) == (literals, nocase)


@pytest.mark.parametrize("regex", [
    r"a|b",                     # nothing of three characters is required
    r"(?:abc)?def?",            # an optional group is not required; "de" is too short
    r"\d+\s+\w+",
    r"[[:alpha:]]+ failed",     # Rust syntax Python reads otherwise: no literal is trusted
    r"\p{L}+ cannot",
    r"x(?i)abc",                # Python refuses flags in the middle; Rust does not
    r"échec de connexion",      # not ASCII: the run breaks ("chec de connexion" would be ok,
])                              # but a case-folding search is ASCII only)
def test_no_literal_or_not_trusted(regex: str) -> None:
    found = required_literals(regex)
    if regex.startswith("é"):
        assert found is not None and all(lit.isascii() for lit in found[0])
    else:
        assert found is None


def test_every_shipped_regex_is_searched_by_literal_or_by_itself() -> None:
    """Each rule regex is either behind literals the search holds, or run on every line."""
    policy = KeepPolicy.for_rules(RULES)
    regexes = {c.regex for r in RULES for c in r.log_conditions()}
    assert len(policy.verify) + sum(ch.count("(?:") > 0 for ch in policy.regexes) >= 1
    assert len(policy.verify) >= 0.9 * len(regexes)          # nearly all have a literal
    owned = set(policy.owners["rid"].to_list()) if policy.owners is not None else set()
    assert owned == set(range(len(policy.verify)))
    assert all(lit == lit.lower() for lit in policy.search)


def test_rule_candidates_are_exactly_the_regex_matches() -> None:
    policy = KeepPolicy.for_regexes([r"PLEG is not healthy", r"server(?:_others|_linux)?\.go:\d+\] (?:.+)",
                                     r"(?i)running with SWAP", r"\d{3} no literal here|zzz"])
    frame = pl.DataFrame({"message": [
        "PLEG is not healthy: pleg was last seen active 3m0s ago",
        "pleg is not healthy",                         # the literal's case differs: not a match
        '{"caller":"http/server.go:36","msg":"x"}',    # holds the literal, not the regex
        "server_linux.go:812] Using iptables Proxier",
        "Running with swap on is not supported",
        "123 no literal here",
        "ordinary line",
    ]})
    got = policy.rule_candidates(frame).to_list()
    assert got == [True, False, False, True, True, True, False]


TOP = "k8s-bundle-keep-20261122T113000Z"


def _ubuntu_node(path: Path) -> Path:
    """A node whose journal rsyslog forwards to /var/log/syslog (both in the bundle), with
    warnings, errors, error words without a level, a rule's lines and a reboot."""
    journal, syslog, kernel = [], [], []
    t0 = dt.datetime(2026, 11, 22, 9, 0, 0)
    for i in range(400):
        t = t0 + dt.timedelta(seconds=7 * i, microseconds=123456)
        iso = t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "+00:00"
        sys_t = t.strftime("%b %d %H:%M:%S")
        klog = t.strftime("%m%d %H:%M:%S.%f")
        if i % 50 == 7:
            msg = (f'E{klog}     812 kubelet.go:2373] "Skipping pod synchronization" '
                   f'err="PLEG is not healthy: pleg was last seen active 3m{i % 60}s ago; threshold is 3m0s"')
        elif i % 9 == 0:
            msg = (f'W{klog}     812 watcher.go:93] Error while processing event ("/sys/fs/cgroup/kubepods.slice/'
                   f'pod{i:08x}.slice": 0x40000100 == IN_CREATE|IN_ISDIR): inotify_add_watch: no such file or directory')
        elif i % 13 == 0:
            msg = f'E{klog}     812 pod_workers.go:1300] "Error syncing pod, skipping" err="failed to \\"StartContainer\\" for \\"app-{i}\\""'
        else:
            msg = f'I{klog}     812 kubelet.go:2430] "SyncLoop (probe)" probe="readiness" status="ready" pod="default/web-{i}"'
        journal.append(f"{iso} node1 kubelet[812]: {msg}")
        syslog.append(f"{sys_t} node1 kubelet[812]: {msg}")
        if i % 17 == 0:
            kernel.append(f"{iso} node1 kernel: nf_conntrack: table full, dropping packet")
        elif i % 11 == 0:
            kernel.append(f"{iso} node1 kernel: EXT4-fs warning (device sda1): ext4_dx_add_entry:2461: Directory index full!")
        else:
            kernel.append(f"{iso} node1 kernel: cni0: port {i % 8}(veth{i:08x}) entered forwarding state")
        if i == 200:
            journal.append("-- Reboot --")
    # syslog holds a line the journal does not (another daemon), which must stay
    syslog.append("Nov 22 09:46:40 node1 sshd[901]: error: kex_exchange_identification: Connection closed by remote host")
    facts = {"name": "node1", "hostname": "node1", "os": "linux", "distro": "Ubuntu 22.04.4 LTS",
             "kernel": "5.15.0-105-generic", "timezone": "UTC", "utc_offset_seconds": 0,
             "versions": {"kubelet": "v1.29.3"}, "runtime": "containerd"}
    with BundleWriter(path, TOP, overwrite=True) as w:
        w.add_json("nodes/node1/node.json", facts)
        w.add_text("nodes/node1/logs/journal/kubelet.log", "\n".join(journal) + "\n")
        w.add_text("nodes/node1/logs/var/log/syslog", "\n".join(syslog) + "\n")
        w.add_text("nodes/node1/logs/journal/kernel.log", "\n".join(kernel) + "\n")
        w.finish({"format_version": "1.0", "tool": {"name": "k8s-bundle", "version": "0.1.0"},
                  "created_at": "2026-11-22T11:30:00Z", "finished_at": "2026-11-22T11:31:00Z",
                  "nodes": [{"name": "node1", "os": "linux", "timezone": "UTC", "utc_offset_seconds": 0}],
                  "items": []})
    return path


def _report(path: Path, keep: KeepPolicy | None) -> tuple[dict, int]:
    evidence = load_evidence(str(path), keep=keep)
    findings = with_blind_spots(evaluate(RULES, evidence), RULES, evidence)
    doc = report_document(evidence, findings, unexplained_templates(evidence, RULES))
    doc.pop("generated_at", None)
    doc.get("tool", {}).pop("analysis_seconds", None)
    return doc, evidence.log_index.height


def test_reduced_index_gives_the_same_report_as_every_row(tmp_path: Path) -> None:
    bundle = _ubuntu_node(tmp_path / "ubuntu.tgz")
    full, full_rows = _report(bundle, None)
    kept, kept_rows = _report(bundle, KeepPolicy.for_rules(RULES))
    assert kept_rows < full_rows / 2                 # most lines were only counted
    for key in ("findings", "unexplained", "timeline", "coverage", "triage"):
        assert kept[key] == full[key], key
    assert kept == full
    # the journal's copies in syslog are still dropped: the PLEG lines are counted once
    pleg = [f for f in full["findings"] if f["rule_id"] == "kubelet-pleg-not-healthy"]
    assert pleg and pleg[0]["evidence"]["log_count"] == 8
    assert [c["file"] for c in pleg[0]["evidence"]["log_files"]] == ["nodes/node1/logs/journal/kubelet.log"]
    # the sshd line only syslog holds is an error no rule explains
    assert any("kex_exchange_identification" in t["template"] for t in full["unexplained"])


def test_partial_summaries_merged_on_the_way_give_the_same_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The builder merges its partial summaries every _MERGE_PARTS blocks (a 2 GB bundle once
    failed there: frames of two shapes). Here every file is its own block and every block a
    merge: files are read 4 KB at a time, each piece its own block."""
    from k8s_bundle.analyzer import evidence, logindex

    bundle = _ubuntu_node(tmp_path / "ubuntu.tgz")
    full, _ = _report(bundle, None)
    monkeypatch.setattr(evidence, "LOG_CHUNK_BYTES", 4096)
    monkeypatch.setattr(logindex, "SMALL_FILE_BYTES", 1024)
    monkeypatch.setattr(logindex, "_MERGE_PARTS", 1)
    kept, _ = _report(bundle, KeepPolicy.for_rules(RULES))
    assert kept == full
