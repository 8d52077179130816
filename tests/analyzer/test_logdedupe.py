"""A kubelet line in the journal and again in /var/log/syslog (journald forwarding to rsyslog,
the default on Ubuntu and RHEL) is counted once: rules reading `@kubelet` see both files."""
from __future__ import annotations

from pathlib import Path

from k8s_bundle.analyzer.evaluate import evaluate, load_rules
from k8s_bundle.analyzer.evidence import load_evidence
from k8s_bundle.analyzer.fixtures import build_fixture_bundle

# Two pull failures, 20 minutes apart, on a node in UTC+8: the journal (short-iso-precise) and
# rsyslog's traditional format (local time, whole seconds; the second one crossed a second).
PULL = ('E1122 {t}    2417 log.go:32] "PullImage from image service failed" err="rpc error: code = NotFound '
        'desc = failed to pull and unpack image \\"registry.example.com/app:v2\\": not found" '
        'image="registry.example.com/app:v2"\n'
        'E1122 {t}    2417 pod_workers.go:1298] "Error syncing pod, skipping" err="failed to \\"StartContainer\\" '
        'for \\"app\\" with ErrImagePull: \\"rpc error: code = NotFound\\"" pod="default/app-7d4b9c8f6d-x2x9p"\n')
FAILED = 'I1122 {t}    2417 event.go:307] "Event occurred" object="default/app-7d4b9c8f6d-x2x9p" kind="Pod" reason="Failed" message="Failed to pull image \\"registry.example.com/app:v2\\": not found"\n'


def _files() -> dict[str, str]:
    journal, syslog = [], []
    for utc, local, frac, local_sec in (("09:10:00", "17:10:00", "123456", "17:10:00"),
                                        ("09:30:00", "17:30:00", "999990", "17:30:01")):
        t = f"{utc}.{frac}"
        for tmpl in (PULL, FAILED):
            for line in tmpl.format(t=t).splitlines():
                journal.append(f"2026-11-22T{utc}.{frac}+00:00 cp1 kubelet[2417]: {line}\n")
                syslog.append(f"Nov 22 {local_sec} cp1 kubelet[2417]: {line}\n")
    syslog.append("Nov 22 17:31:00 cp1 systemd[1]: Started Daily apt download activities.\n")
    return {"nodes/node1/logs/journal/kubelet.log": "".join(journal),
            "nodes/node1/logs/var/log/syslog": "".join(syslog)}


def test_forwarded_copies_are_dropped(tmp_path: Path) -> None:
    b = build_fixture_bundle({"files": _files(), "node": {"timezone": "Asia/Shanghai", "utc_offset_seconds": 28800},
                              "manifest": {"nodes": [{"name": "node1", "os": "linux", "transport": "local",
                                                      "timezone": "Asia/Shanghai", "utc_offset_seconds": 28800}]}},
                             tmp_path / "b.tgz")
    ev = load_evidence(str(b))
    by_source = dict(ev.log_index.group_by(ev.log_index["source"].cast(str)).len().iter_rows())
    assert by_source["journal/kubelet.log"] == 6
    assert by_source["var/log/syslog"] == 1          # only the line the journal does not hold
    rule = [r for r in load_rules() if r.id == "image-pull-failing"]
    (f,) = evaluate(rule, ev)
    # two failures, not four: below the rule's min_count 3 (info), not a warning
    assert f.below_threshold and f.severity == "info" and f.log_count == 2


def test_syslog_alone_is_kept(tmp_path: Path) -> None:
    files = _files()
    del files["nodes/node1/logs/journal/kubelet.log"]
    ev = load_evidence(str(build_fixture_bundle({"files": files}, tmp_path / "b.tgz")))
    assert ev.log_index.height == 7
