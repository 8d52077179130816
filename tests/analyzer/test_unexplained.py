"""Errors no rule explains (analyzer/unexplained.py): masking, selection, ranking, rendering.

The ranking tests run on real bundles written by the project's BundleWriter
(analyzer.fixtures.build_fixture_bundle) and read back by the real load_evidence: three hours
of a kubeadm/containerd worker's ordinary journal, with the errors healthy nodes print at their
real cadence, and the one line of a real failure (longhorn/longhorn#9424: the kubelet cannot
mount a Longhorn volume because the CSI driver is not registered on the node).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import re
import subprocess
import sys
from pathlib import Path

import orjson
import polars as pl
import pytest
import yaml

from k8s_bundle.analyzer.evaluate import evaluate, load_rules
from k8s_bundle.analyzer.evidence import load_evidence
from k8s_bundle.analyzer.fixtures import build_fixture_bundle
from k8s_bundle.analyzer.model import Finding
from k8s_bundle.analyzer.render import render_html, render_json, render_text
from k8s_bundle.analyzer.render.html import unexplained_first
from k8s_bundle.analyzer.unexplained import (
    Template, candidate_lines, load_common_templates, mask, rule_alternation, unexplained_templates,
)
from test_engine_rules import T0, evidence, write_rule

START = dt.datetime(2026, 11, 22, 8, 28, 0, tzinfo=dt.timezone.utc)
END = dt.datetime(2026, 11, 22, 11, 28, 0, tzinfo=dt.timezone.utc)     # collection: 11:30

# longhorn/longhorn#9424 (kubelet v1.19, longhorn v1.6.1): the failing node's own lines
PVC = "pvc-e43dde24-fb36-4b0d-b59e-e09c52d94015"
FAILING = (
    'nestedpendingoperations.go:348] Operation for "{{volumeName:kubernetes.io/csi/driver.longhorn.io^{pvc} '
    'podName: nodeName:}}" failed. No retries permitted until {until} +0000 UTC m=+{m}.5 (durationBeforeRetry {d}). '
    'Error: MountVolume.MountDevice failed for volume "{pvc}" (UniqueName: "kubernetes.io/csi/driver.longhorn.io^{pvc}") '
    'pod "my-pod" (UID: "82b92b9e-b770-4122-b662-fd5824282e33") : kubernetes.io/csi: attacher.MountDevice failed to '
    "create newCsiDriverClient: driver name driver.longhorn.io not found in the list of registered CSI drivers"
)
FAILING_WORDS = "not found in the list of registered CSI drivers"


# -- building real-shaped node logs -------------------------------------------------------------
def _klog(level: str, ts: dt.datetime, pid: int, text: str) -> str:
    return f"{level}{ts:%m%d %H:%M:%S.%f} {pid:>8} {text}"


def _journal(ts: dt.datetime, unit: str, pid: int, text: str, host: str = "node1") -> str:
    return f"{ts.strftime('%Y-%m-%dT%H:%M:%S.%f')}+00:00 {host} {unit}[{pid}]: {text}"


def _every(seconds: float, jitter: float, rng: random.Random, start: dt.datetime = START, end: dt.datetime = END):
    t = start + dt.timedelta(seconds=rng.random() * seconds)
    while t < end:
        yield t
        t += dt.timedelta(seconds=seconds + rng.random() * jitter)


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def healthy_logs(host: str = "node1", seed: int = 1) -> dict[str, list[tuple[dt.datetime, str]]]:
    """Three hours of a healthy kubeadm worker: (timestamp, line) per bundle path."""
    rng = random.Random(seed)
    kubelet, containerd, kernel, coredns = [], [], [], []

    def k(ts: dt.datetime, level: str, text: str) -> None:
        kubelet.append((ts, _journal(ts, "kubelet", 1342, _klog(level, ts, 1342, text), host)))

    def c(ts: dt.datetime, level: str, text: str) -> None:
        stamp = ts.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"
        containerd.append((ts, _journal(ts, "containerd", 700, f'time="{stamp}" level={level} msg={text}', host)))

    for ts in _every(2, 1, rng):
        pod = f"web-{rng.randrange(40)}-7d4b9c8f6d-{rng.choice(['x7k2p', 'q9v4z', 'm2b8t'])}"
        k(ts, "I", f'prober.go:107] "Probe succeeded" probeType="Readiness" pod="shop/{pod}" podUID="{_hex(rng, 8)}-1b2c-4d5e-8f90-{_hex(rng, 12)}" containerName="app"')
    for ts in _every(10, 0.2, rng):
        k(ts, "E", 'summary_sys_containers.go:48] "Failed to get system container stats" err="failed to get cgroup stats for '
                   '\\"/system.slice/containerd.service\\": failed to get container info for \\"/system.slice/containerd.service\\": '
                   'unknown container \\"/system.slice/containerd.service\\"" containerName="/system.slice/containerd.service"')
    for ts in _every(20, 0.1, rng):
        k(ts, "E", 'file_linux.go:61] "Unable to read config path" err="path does not exist, ignoring" path="/etc/kubernetes/manifests"')
    for ts in _every(37, 20, rng):
        scope = f"/sys/fs/cgroup/devices/user.slice/user-0.slice/session-{rng.randrange(1000, 9999)}.scope"
        k(ts, "W", f'watcher.go:93] Error while processing event ("{scope}": 0x40000100 == IN_CREATE|IN_ISDIR): '
                   f"inotify_add_watch {scope}: no such file or directory")
    for ts in _every(60, 2, rng):   # a resolv.conf with four nameservers: noisy, not harmful, not in the common list
        k(ts, "E", 'dns.go:153] "Nameserver limits exceeded" err="Nameserver limits were exceeded, some nameservers have '
                   'been omitted, the applied nameserver line is: 10.0.0.2 10.0.0.3 10.0.0.4"')
    for ts in _every(900, 300, rng):  # a finished job's containers are garbage-collected
        cid = _hex(rng, 64)
        k(ts, "E", f'remote_runtime.go:432] "ContainerStatus from runtime service failed" err="rpc error: code = NotFound '
                   f'desc = an error occurred when try to find container \\"{cid}\\": not found" containerID="{cid}"')
        c(ts, "error", f'"ContainerStatus for \\"{cid}\\" failed" error="rpc error: code = NotFound desc = an error occurred '
                       f'when try to find container \\"{cid}\\": not found"')
    c(START, "warning", '"failed to load plugin io.containerd.snapshotter.v1.devmapper" error="devmapper not configured"')
    c(START, "error", '"failed to initialize a tracing processor \\"otlp\\"" error="no OpenTelemetry endpoint: skip plugin"')
    for ts in _every(45, 10, rng):
        cid = _hex(rng, 64)
        c(ts, "info", f'"StartContainer for \\"{cid}\\" returns successfully"')
        c(ts + dt.timedelta(seconds=30), "warning",
          f'"cleanup warnings time=\\"{ts:%Y-%m-%dT%H:%M:%S}Z\\" level=info msg=\\"starting signal loop\\" namespace=k8s.io '
          f'pid={rng.randrange(2000, 90000)} runtime=io.containerd.runc.v2\\n"')
    for ts in _every(30, 5, rng):
        kernel.append((ts, _journal(ts, "kernel", 0, f"IPVS: rr: TCP 10.96.0.{rng.randrange(2, 250)}:443 - no destination available", host).replace(" kernel[0]:", " kernel:")))
    for ts in _every(300, 5, rng):
        stamp = ts.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"
        coredns.append((ts, f"{stamp} stdout F [WARNING] No files matching import glob pattern: custom/*.override"))
        coredns.append((ts, f"{stamp} stdout F [INFO] plugin/reload: Running configuration SHA512 = {_hex(rng, 32)}"))
    return {
        f"nodes/{host}/logs/journal/kubelet.log": kubelet,
        f"nodes/{host}/logs/journal/containerd.log": containerd,
        f"nodes/{host}/logs/kernel.log": kernel,
        f"nodes/{host}/logs/var/log/pods/kube-system_coredns-5dd5756b68-x7k2p_2b9c4f6e-1d2a-4c3b-9e8f-7a6b5c4d3e2f/coredns/0.log": coredns,
    }


def add_failure(logs: dict[str, list], form: str, host: str = "node1") -> None:
    """The Longhorn mount failure: every backoff step for the last 40 minutes (`recurring`)
    or a single line two minutes before the collection (`once`)."""
    rows = logs[f"nodes/{host}/logs/journal/kubelet.log"]
    if form == "once":
        times = [END - dt.timedelta(minutes=2)]
    else:
        times, t, step = [], END - dt.timedelta(minutes=40), 0.5
        while t < END:
            times.append(t)
            step = min(step * 2, 122.0)
            t += dt.timedelta(seconds=step)
    for i, ts in enumerate(times):
        until = ts + dt.timedelta(seconds=2)
        d = "2m2s" if i > 7 else f"{2 ** i * 500}ms" if i < 2 else f"{2 ** (i - 1)}s"
        text = FAILING.format(pvc=PVC, until=f"{until:%Y-%m-%d %H:%M:%S.%f}", m=1000 + i * 7, d=d)
        rows.append((ts, _journal(ts, "kubelet", 1342, _klog("E", ts, 1342, text), host)))


def write_bundle(tmp_path: Path, logs: dict[str, list], name: str = "b.tgz", node: dict | None = None) -> Path:
    files = {path: "\n".join(line for _, line in sorted(rows, key=lambda r: r[0])) + "\n" for path, rows in logs.items()}
    fixture = {"files": files}
    if node:
        fixture["node"] = node
    return build_fixture_bundle(fixture, tmp_path / name)


@pytest.fixture(scope="module")
def shipped_rules() -> list:
    return load_rules()


# -- masking ------------------------------------------------------------------------------------
@pytest.mark.parametrize("line, template", [
    ('kubelet.go:2855] "Container runtime not ready" runtimeReady="RuntimeReady=false"',
     'kubelet.go:<num>] "Container runtime not ready" runtimeReady="RuntimeReady=false"'),
    ('pod_workers.go:1298] "Error syncing pod, skipping" err="back-off 5m0s restarting failed container=app '
     'pod=web-7d4b9c8f6d-x7k2p_shop(0a0270b6-d650-453d-96db-2fbb7c43ba42)" pod="shop/web-7d4b9c8f6d-x7k2p"',
     'pod_workers.go:<num>] "Error syncing pod, skipping" err="back-off <dur> restarting failed container=app '
     'pod=<pod>_shop(<id>)" pod="shop/<pod>"'),
    ('dial tcp 10.96.0.1:443: i/o timeout', 'dial tcp <ip>: i/o timeout'),
    ('dial tcp [fd00:10:96::1]:443: connect: connection refused', 'dial tcp <ip>: connect: connection refused'),
    ('listen tcp [::]:10250 on fe80::1%eth0', 'listen tcp <ip> on <ip>'),
    ('address 2001:db8::8a2e:370:7334 in 10.244.0.0/16', 'address <ip> in <ip>'),
    ('container 441dce8ea85aaacf7726b61da8e531dc12ece53aef7f4301c8a5698931fab384 gone',
     'container <id> gone'),
    ('image sha256:e145cac8863a3a0a01d0a4aa535e06ad26b7f835f598c65e6fd66422692b40e1', 'image <id>'),
    ('open /var/lib/kubelet/pods/0a0270b6-d650-453d-96db-2fbb7c43ba42/volumes/kubernetes.io~csi/pvc-1/mount: no such file',
     'open <path>: no such file'),
    ('open /etc/kubernetes/pki/ca.crt: no such file', 'open /etc/kubernetes/pki/ca.crt: no such file'),
    ('event ("/sys/fs/cgroup/kubepods.slice/kubepods-burstable-pod0a0270b6_d650_453d_96db_2fbb7c43ba42.slice": 0x40000100)',
     'event ("<path>": <hex>)'),
    ('took 250ms, retry in 1m30s after 3m0.5s', 'took <dur>, retry in <dur> after <dur>'),
    ('until 2026-11-22 11:26:02.123456 +0000 UTC m=+1007.5 and 2026-11-22T11:26:02.5Z', 'until <time> and <time>'),
    ('pod "kube-proxy-q9v4z" and "calico-node"', 'pod "<pod>" and "calico-node"'),
    ('x509: certificate has expired, kubelet v1.29.3, ipv6, k8s', 'x509: certificate has expired, kubelet v1.<num>, ipv6, k8s'),
    ('size="4012345kB" rss=812MiB count=3', 'size="<val>" rss=<num> count=<num>'),
    ('mac 02:42:ac:11:00:02 on veth1a2b3c', 'mac <mac> on veth1a2b3c'),
    ('std::string::npos', 'std::string::npos'),
])
def test_masking(line: str, template: str) -> None:
    assert mask(line) == template


def test_node_names_are_masked_so_one_line_on_many_nodes_is_one_template() -> None:
    assert mask('"Unable to register node" node="worker-12" err="nodes \\"worker-12\\" is forbidden"',
                ["worker-12", "worker-1"]) == '"Unable to register node" node="<node>" err="nodes "<node>" is forbidden"'
    assert mask("worker-1 and worker-12", ["worker-1", "worker-12"]) == "<node> and <node>"


# -- which lines ----------------------------------------------------------------------------------
def test_lines_without_a_parsed_level_are_found_by_their_error_words(tmp_path: Path) -> None:
    """A plain file, a klog error inside a CRI log sniffed as JSON, logrus text in a journal
    sniffed as klog, systemd's own unit failure and a Windows event (Level 2) all count; an info
    line that merely says `failed` does not."""
    events = [
        {"TimeCreated": "2026-11-22T11:20:00.000Z", "Id": 7000, "Level": 2, "LevelDisplayName": "Error",
         "ProviderName": "Service Control Manager", "Message": "The kubelet service failed to start due to the following error: \r\nThe system cannot find the file specified."},
        {"TimeCreated": "2026-11-22T11:20:01.000Z", "Id": 7036, "Level": 4, "LevelDisplayName": "Information",
         "ProviderName": "Service Control Manager", "Message": "The Windows Update service entered the running state."},
    ]
    pod_lines = [
        '2026-11-22T11:20:00.000000000Z stdout F {"level":"info","ts":1795000000.1,"msg":"request served"}',
        '2026-11-22T11:20:00.100000000Z stdout F {"level":"info","ts":1795000000.2,"msg":"request served"}',
        '2026-11-22T11:20:00.200000000Z stdout F {"level":"info","ts":1795000000.3,"msg":"retry failed once, will try again"}',
        '2026-11-22T11:20:01.000000000Z stderr F E1122 11:20:01.000000       1 leaderelection.go:332] error retrieving resource lock kube-system/my-operator: Get "https://10.96.0.1:443/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/my-operator": dial tcp 10.96.0.1:443: i/o timeout',
    ]
    files = {
        "nodes/node1/logs/var/log/cloud-init-output.log": "Cloud-init v. 23.4 running 'modules:final'\n"
                                                         "Error: unable to resolve host node1: Name or service not known\n",
        "nodes/node1/logs/journal/kubelet.log": "\n".join([
            _journal(END, "kubelet", 1342, _klog("I", END, 1342, 'server.go:487] "Kubelet version" kubeletVersion="v1.29.3"')),
            _journal(END, "kubelet", 1342, _klog("I", END, 1342, 'server.go:489] "Golang settings" GOGC=""')),
            _journal(END, "systemd", 1, "kubelet.service: Main process exited, code=exited, status=1/FAILURE"),
            _journal(END, "kubelet", 1342, 'time="2026-11-22T11:28:00Z" level=fatal msg="plugin init panicked" error="runtime error: index out of range"'),
        ]) + "\n",
        "nodes/node1/logs/var/log/pods/shop_api-0_1b2c3d4e-1d2a-4c3b-9e8f-7a6b5c4d3e2f/api/0.log": "\n".join(pod_lines) + "\n",
        "nodes/node1/logs/eventlog/System.jsonl": "\n".join(json.dumps(e) for e in events) + "\n",
    }
    ev = load_evidence(str(build_fixture_bundle({"files": files}, tmp_path / "b.tgz")))
    found = {t.template: t for t in unexplained_templates(ev, [])}
    by_text = {t.example.message.split(":")[0][:40]: t for t in found.values()}
    msgs = " | ".join(t.example.message for t in found.values())
    assert "unable to resolve host" in msgs                           # plain file, `Error:`
    assert "status=1/FAILURE" in msgs                                 # systemd, `FAILURE`
    assert "plugin init panicked" in msgs                             # logrus level=fatal in a klog journal
    assert "error retrieving resource lock" in msgs                   # klog E header inside a JSON-sniffed CRI log
    assert "kubelet service failed to start" in msgs                  # Windows event Level 2
    assert "retry failed once" not in msgs and "Windows Update" not in msgs   # info lines stay out
    levels = {t.example.message[:30]: t.level for t in found.values()}
    assert any(t.level == "F" and "panicked" in t.example.message for t in found.values()), levels
    assert any(t.level == "E" and "resource lock" in t.example.message for t in found.values()), levels
    assert by_text


def test_lines_a_rule_regex_matches_are_explained(tmp_path: Path) -> None:
    write_rule(tmp_path, "pleg", {"log": {"sources": ["@kubelet"], "regex": r"PLEG is not healthy: pleg was last seen active (?P<ago>\S+) ago"}})
    rules = load_rules([tmp_path])
    rows = [("node1", "journal/kubelet.log", 1, T0, "E", 'kubelet.go:2373] "Skipping pod synchronization" err="PLEG is not healthy: pleg was last seen active 3m2.5s ago; threshold is 3m0s"'),
            ("node1", "journal/kubelet.log", 2, T0, "E", 'kubelet.go:2855] "Container runtime not ready" runtimeReady="RuntimeReady=false"'),
            ("node1", "journal/kubelet.log", 3, T0, "I", 'kubelet.go:1 "Started kubelet"')]
    ev = evidence(rows)
    assert rule_alternation(rules) is not None and "(?P<" not in rule_alternation(rules)
    got = [t.example.message for t in unexplained_templates(ev, rules)]
    assert got == ['kubelet.go:2855] "Container runtime not ready" runtimeReady="RuntimeReady=false"']
    assert len(unexplained_templates(ev, [])) == 2
    # candidate_lines keeps its schema on an index with nothing to report
    assert candidate_lines(evidence([rows[2]]).log_index, None).height == 0


# -- ranking ------------------------------------------------------------------------------------
@pytest.mark.parametrize("form", ["recurring", "once"])
def test_the_failing_line_ranks_in_the_top_ten_among_hours_of_healthy_noise(tmp_path: Path, form: str, shipped_rules: list) -> None:
    logs = healthy_logs()
    add_failure(logs, form)
    ev = load_evidence(str(write_bundle(tmp_path, logs)))
    assert ev.log_index.height > 5000
    templates = unexplained_templates(ev, shipped_rules)
    failing = [i for i, t in enumerate(templates) if FAILING_WORDS in t.example.message]
    combined = rule_alternation(shipped_rules)
    sample = FAILING.format(pvc=PVC, until="2026-11-22 11:26:02.1", m=1000, d="2m2s")
    if combined and re.search(combined.replace("(?i)", ""), sample) is not None:
        # a shipped rule now covers this failure: then it is explained, and must not be listed
        assert failing == []
        return
    assert failing and failing[0] < 10, [t.template[:80] for t in templates[:12]]
    top = templates[failing[0]]
    assert top.level == "E" and top.nodes == ["node1"] and not top.common
    assert top.example.file == "nodes/node1/logs/journal/kubelet.log" and top.example.line > 0
    assert top.count == (1 if form == "once" else top.count) and top.first_seen and top.last_seen
    assert "<dur>" in top.template and PVC not in top.template        # one template for every backoff step
    # the harmless lines are there (unless a shipped rule explains one), marked common, and below the failure
    harmless = ("Failed to get system container stats", "Unable to read config path", "IN_CREATE|IN_ISDIR",
                "devmapper not configured", "no OpenTelemetry endpoint", "No files matching import glob",
                "cleanup warnings", "an error occurred when try to find container")
    listed = [t for t in templates if any(w in t.example.message for w in harmless)]
    assert len(listed) >= 6 and all(t.common for t in listed)
    assert all(templates.index(t) > failing[0] for t in listed)
    assert templates == sorted(templates, key=lambda t: -t.score)


def test_a_template_on_one_node_ranks_above_the_same_kind_on_every_node(tmp_path: Path) -> None:
    rows = []
    line = 0
    for n in ("node1", "node2", "node3"):
        for i in range(50):   # every node: the same noisy error, with its own node name in it
            line += 1
            rows.append((n, "journal/kubelet.log", line, T0 + dt.timedelta(seconds=60 * i), "E",
                         f'kubelet_node_status.go:549] "Error updating node status, will retry" err="error getting node \\"{n}\\": Get \\"https://10.0.0.10:6443/api/v1/nodes/{n}?timeout=10s\\": context deadline exceeded"'))
    for i in range(50):
        line += 1
        rows.append(("node2", "journal/kubelet.log", line, T0 + dt.timedelta(seconds=60 * i), "E",
                     f'kubelet.go:1 "Failed to sync configmap cache" err="timed out waiting for the condition" volume="cfg-{i}"'))
    ev = evidence(rows, nodes={n: {"name": n, "os": "linux"} for n in ("node1", "node2", "node3")})
    templates = unexplained_templates(ev, [])
    assert len(templates) == 2                        # node names masked: one template for three nodes
    everywhere = next(t for t in templates if "Error updating node status" in t.template)
    assert everywhere.nodes == ["node1", "node2", "node3"] and everywhere.count == 150
    assert '"<node>"' in everywhere.template
    assert templates[0].nodes == ["node2"] and templates[0].score > everywhere.score


def test_common_templates_file_entries_compile_and_match_their_examples() -> None:
    entries = load_common_templates()
    assert len(entries) >= 10
    assert len({e.id for e in entries}) == len(entries)
    for e in entries:
        assert e.pattern.search(e.example), e.id
        assert e.reference.startswith("https://github.com/"), e.id
        pl.Series([e.example]).str.contains(e.pattern.pattern)   # the Rust dialect takes it too
    raw = yaml.safe_load(Path(__file__).parents[2].joinpath("rules", "common-templates.yaml").read_text("utf-8"))
    assert {t["id"] for t in raw["templates"]} == {e.id for e in entries}


def test_limit_and_empty_index(tmp_path: Path) -> None:
    assert unexplained_templates(evidence([]), []) == []
    rows = [("node1", "journal/kubelet.log", i, T0, "E", f"distinct failure kind{chr(97 + i)} happened") for i in range(20)]
    assert len(unexplained_templates(evidence(rows), [], limit=5)) == 5


# -- rendering ----------------------------------------------------------------------------------
@pytest.fixture()
def rendered(tmp_path: Path, shipped_rules: list):
    logs = healthy_logs()
    add_failure(logs, "recurring")
    ev = load_evidence(str(write_bundle(tmp_path, logs)))
    findings = evaluate(shipped_rules, ev)
    return ev, findings, unexplained_templates(ev, shipped_rules)


def test_json_report_has_the_unexplained_templates(rendered) -> None:
    ev, findings, templates = rendered
    doc = orjson.loads(render_json(ev, findings, unexplained=templates))
    assert doc["schema_version"] == "1.3"
    assert len(doc["unexplained"]) == len(templates) > 5
    first = doc["unexplained"][0]
    assert set(first) == {"template", "level", "count", "first_seen", "last_seen", "nodes", "example", "score", "common"}
    assert set(first["example"]) == {"node", "file", "line", "timestamp", "message"}
    assert first == json.loads(json.dumps(dataclasses.asdict(templates[0])))
    assert orjson.loads(render_json(ev, findings))["unexplained"] == []


def test_html_report_table_position_and_csp(rendered) -> None:
    ev, findings, templates = rendered
    page = render_html(ev, findings, unexplained=templates)
    assert page.count('class="unexplained-row') == len(templates)
    assert "common on healthy nodes" in page and "&lt;dur&gt;" in page and "<details>" in page
    assert " on" + "click" not in page.lower() and "javascript:" not in page
    assert not re.search(r"<(link|iframe|object|embed|img)\b", page)
    no_critical = [f for f in findings if f.severity != "critical"]
    top = render_html(ev, no_critical, unexplained=templates)
    assert unexplained_first(no_critical, templates)
    assert top.index('id="unexplained"') < top.index('id="findings"')
    covered = no_critical + [Finding(rule_id="x", severity="critical", node="node1", title={"en": "x", "zh": "x"},
                                     cause={}, fix={}, nodes=["node1"])]
    low = render_html(ev, covered, unexplained=templates)
    assert not unexplained_first(covered, templates)
    assert low.index('id="findings"') < low.index('id="unexplained"') < low.index('id="nodes"')
    assert 'id="unexplained"' not in render_html(ev, findings)     # not computed: no section
    empty = render_html(ev, findings, unexplained=[])
    assert "Every warning and error line is explained by a rule." in empty


def test_text_summary_lists_the_top_five(rendered) -> None:
    ev, findings, templates = rendered
    out = render_text(ev, findings, report_path="/tmp/r.html", unexplained=templates)
    head = f"Errors no rule explains (top 5 of {len(templates)} templates):"
    assert head in out
    block = out.split(head)[1].splitlines()[1:11]
    assert len(block) == 10 and block[1].strip().startswith("nodes/node1/logs/")
    assert "\x1b" not in out and out.rstrip().splitlines()[-2] == "Report: /tmp/r.html"
    assert "没有规则解释的错误" in render_text(ev, findings, lang="zh", unexplained=templates)
    assert "Errors no rule explains" not in render_text(ev, findings)


def test_analyze_command_writes_unexplained_in_every_format(tmp_path: Path) -> None:
    logs = healthy_logs()
    add_failure(logs, "once")
    bundle = write_bundle(tmp_path, logs)
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    write_rule(rules_dir, "conntrack", {"log": {"sources": ["@kernel"], "regex": "nf_conntrack: table full"}})
    exe = [sys.executable, "-m", "k8s_bundle.cli", "analyze", str(bundle), "--rules", str(rules_dir),
           "--no-builtin-rules"]
    out = subprocess.run(exe + ["--format", "json", "-o", "-"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert any(FAILING_WORDS in t["example"]["message"] for t in doc["unexplained"][:10])
    html = subprocess.run(exe + ["-o", str(tmp_path / "r.html")], capture_output=True, text=True, timeout=120)
    assert html.returncode == 0, html.stderr
    assert "Errors no rule explains (top 5 of" in html.stdout
    assert 'id="unexplained"' in (tmp_path / "r.html").read_text("utf-8")
