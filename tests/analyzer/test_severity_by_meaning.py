"""Severity by meaning (issue 10): lines below a rule's threshold, corroboration and caveats,
nodes that are not Kubernetes nodes. Every test builds a real bundle (analyzer.fixtures), reads
it with the real reader and parsers and runs the shipped rules (or rules written here)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import yaml

from k8s_bundle.analyzer.evaluate import evaluate
from k8s_bundle.analyzer.evidence import load_evidence
from k8s_bundle.analyzer.fixtures import build_fixture_bundle, run_rule_fixtures
from k8s_bundle.analyzer.model import Finding
from k8s_bundle.analyzer.render.html import render_html
from k8s_bundle.analyzer.render.json import render_json
from k8s_bundle.analyzer.render.text import render_text
from k8s_bundle.analyzer.rules_load import Rule, build_rule, default_rules_dir, load_rule_file

RULES = default_rules_dir()

# A plain host: node.json as the collector writes it when nothing of Kubernetes is installed.
PLAIN_HOST = {
    "versions": {"kubelet": None, "kubeadm": None, "kubectl": None, "containerd": None, "docker": None,
                 "crictl": None, "runc": None, "kube-proxy": None, "os_build": None},
    "runtime": None, "roles": [],
}
PLAIN_BINARIES = (
    '{"kubelet": {"path": null, "version": null}, "kubeadm": {"path": null, "version": null},\n'
    ' "containerd": {"path": null, "version": null}, "crictl": {"path": null, "version": null},\n'
    ' "iptables": {"path": "/usr/sbin/iptables", "version": "1.8.7"}, "ebtables": {"path": null, "version": null},\n'
    ' "conntrack": {"path": null, "version": null}, "socat": {"path": null, "version": null}}\n'
)
SYSCTL_OFF = """\
fs.file-max = 9223372036854775807
fs.inotify.max_user_instances = 128
fs.inotify.max_user_watches = 524288
kernel.hostname = node1
kernel.osrelease = 5.15.0-105-generic
kernel.panic = 0
kernel.pid_max = 4194304
kernel.pty.max = 4096
kernel.randomize_va_space = 2
net.bridge.bridge-nf-call-arptables = 0
net.bridge.bridge-nf-call-ip6tables = 0
net.bridge.bridge-nf-call-iptables = 0
net.core.somaxconn = 4096
net.ipv4.conf.all.forwarding = 0
net.ipv4.conf.all.rp_filter = 2
net.ipv4.conf.default.forwarding = 0
net.ipv4.ip_forward = 0
net.ipv4.ip_local_port_range = 32768\t60999
net.ipv4.neigh.default.gc_thresh3 = 1024
net.ipv4.tcp_syncookies = 1
net.ipv6.conf.all.forwarding = 0
vm.max_map_count = 65530
vm.overcommit_memory = 0
vm.swappiness = 60
"""
SWAPS_ON = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/swap.img                               file\t\t4194300\t\t0\t\t-2\n"


def rule(name: str) -> Rule:
    found = list(RULES.glob(f"*/{name}.yaml"))
    assert found, name
    return load_rule_file(found[0])


def analyze(tmp_path: Path, fixture: dict[str, Any], rules: list[Rule], name: str = "b.tgz") -> tuple[Any, list[Finding]]:
    path = build_fixture_bundle(fixture, tmp_path / name)
    evidence = load_evidence(str(path))
    return evidence, evaluate(rules, evidence)


def kubelet_line(ts: str, body: str) -> str:
    hh = ts[11:19]
    return f"2026-11-22T{hh}.123456+00:00 node1 kubelet[1234]: E1122 {hh}.123401    1234 {body}\n"


def adhoc(tmp_path: Path, doc: dict[str, Any]) -> Rule:
    base = {"severity": "warning", "platforms": ["linux"], "title": {"en": "T", "zh": "T"},
            "cause": {"en": "C", "zh": "C"}, "fix": {"en": "F", "zh": "F"}}
    doc = {**base, **doc}
    p = tmp_path / f"{doc['id']}.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return build_rule(doc, str(p))


# -- 1. below the threshold ----------------------------------------------------------------
REFUSED = ('reflector.go:147] "Unhandled Error" err="k8s.io/client-go/informers/factory.go:160: Failed to watch '
           '*v1.Node: failed to list *v1.Node: Get \\"https://10.0.0.10:6443/api/v1/nodes?limit=500\\": '
           'dial tcp 10.0.0.10:6443: connect: connection refused"')


def test_one_line_below_min_count_is_reported_as_info(tmp_path: Path) -> None:
    """A bundle taken right after a failed start holds the line once: info, flagged, counted."""
    log = kubelet_line("2026-11-22T11:28:01", REFUSED)
    evidence, findings = analyze(tmp_path, {"files": {"nodes/node1/logs/journal/kubelet.log": log}},
                                 [rule("apiserver-connection-refused")])
    (f,) = findings
    assert (f.rule_id, f.severity, f.below_threshold, f.log_count) == ("apiserver-connection-refused", "info", True, 1)
    assert f.thresholds == [{"count": 1, "min_count": 30, "window": "15m"}]
    assert f.first_seen == f.last_seen == "2026-11-22T11:28:01.123456Z"
    assert f.message["en"].endswith("(seen 1 time; the rule warns at 30 within 15m)")
    assert f.message["zh"].endswith("(出现 1 次；该规则在 15m 内出现 30 次时告警)")
    assert "10.0.0.10:6443" in f.log_lines[0].message
    doc = orjson.loads(render_json(evidence, findings))
    (jf,) = doc["findings"]
    assert jf["below_threshold"] is True and jf["severity"] == "info"
    assert jf["thresholds"] == [{"count": 1, "min_count": 30, "window": "15m"}]
    assert doc["summary"]["exit_code"] == 0
    html = render_html(evidence, findings)
    assert "below threshold" in html and "seen 1 time; the rule warns at 30 within 15m" in html


def test_threshold_met_is_the_rule_severity(tmp_path: Path) -> None:
    log = "".join(kubelet_line(f"2026-11-22T11:{m:02d}:{s:02d}", REFUSED) for m in range(10, 13) for s in range(0, 60, 5))
    _, (f,) = analyze(tmp_path, {"files": {"nodes/node1/logs/journal/kubelet.log": log}}, [rule("apiserver-connection-refused")])
    assert (f.severity, f.below_threshold, f.log_count, f.thresholds) == ("critical", False, 36, [])


def test_below_threshold_finding_explains_but_is_no_root_cause(tmp_path: Path) -> None:
    cause = adhoc(tmp_path, {"id": "runtime-down", "explains": ["pods-failing"], "match": {
        "log": {"sources": ["@kubelet"], "regex": "container runtime is down", "min_count": 3}}})
    effect = adhoc(tmp_path, {"id": "pods-failing", "match": {"log": {"sources": ["@kubelet"], "regex": "Error syncing pod"}}})
    once = (kubelet_line("2026-11-22T11:28:01", 'kubelet.go:2855] "Container runtime not ready" err="container runtime is down"')
            + kubelet_line("2026-11-22T11:28:02", 'pod_workers.go:1298] "Error syncing pod, skipping" err="failed to \\"StartContainer\\""'))
    _, findings = analyze(tmp_path, {"files": {"nodes/node1/logs/journal/kubelet.log": once}}, [cause, effect])
    by = {f.rule_id: f for f in findings}
    assert by["runtime-down"].below_threshold and by["runtime-down"].explains == ["pods-failing"]
    assert by["pods-failing"].explained_by == ["runtime-down"]
    assert by["runtime-down"].root_cause is False
    thrice = once + "".join(kubelet_line(f"2026-11-22T11:28:1{i}", 'kubelet.go:2855] "Container runtime not ready" err="container runtime is down"') for i in range(2))
    _, findings = analyze(tmp_path, {"files": {"nodes/node1/logs/journal/kubelet.log": thrice}}, [cause, effect], "c.tgz")
    assert {f.rule_id: f for f in findings}["runtime-down"].root_cause is True


def test_relaxed_walk_keeps_not_strict(tmp_path: Path) -> None:
    """A recovery line under `not` keeps its threshold: seen once, it does not silence the rule."""
    r = adhoc(tmp_path, {"id": "flap", "match": {"all": [
        {"log": {"sources": ["@kubelet"], "regex": "PLEG is not healthy", "min_count": 3}},
        {"not": {"log": {"sources": ["@kubelet"], "regex": "PLEG recovered", "min_count": 2}}}]}})
    log = (kubelet_line("2026-11-22T11:28:01", 'kubelet.go:2373] "Skipping pod synchronization" err="PLEG is not healthy: pleg was last seen active 3m0s ago"')
           + kubelet_line("2026-11-22T11:29:01", 'generic.go:1] "PLEG recovered"'))
    _, (f,) = analyze(tmp_path, {"files": {"nodes/node1/logs/journal/kubelet.log": log}}, [r])
    assert f.below_threshold and f.thresholds == [{"count": 1, "min_count": 3, "window": None}]
    assert f.message["en"] == "T (seen 1 time; the rule warns at 3)"


def test_shipped_fixtures_of_changed_rules(tmp_path: Path) -> None:
    for name in ("cni-not-initialized", "no-space-left-on-device", "inotify-watches-low",
                 "kubelet-node-allocatable-enforcement-failed", "x509-certificate-expired-in-use",
                 "certificate-not-yet-valid-clock-skew", "cert-expired", "not-a-kubernetes-node"):
        results = run_rule_fixtures(rule(name), tmp_path)
        assert all(r.ok for r in results), [r.describe() for r in results if not r.ok]


# -- 2. corroboration and caveats ------------------------------------------------------------
CNI_LINE = ('2026-11-22T11:28:01.123456+00:00 node1 containerd[812]: time="2026-11-22T11:28:01.123401000Z" level=error '
            'msg="failed to load cni during init, please check CRI plugin status before setting up network for pods" '
            'error="cni config load failed: no network config found in /etc/cni/net.d: cni plugin not initialized: failed to load cni config"\n')


def test_cni_line_once_with_empty_net_d_is_critical_with_both_evidences(tmp_path: Path) -> None:
    evidence, (f,) = analyze(tmp_path, {
        "items": [{"id": "cni-config", "kind": "glob", "status": "not_found", "path": "/etc/cni/net.d/*"}],
        "files": {"nodes/node1/logs/journal/containerd.log": CNI_LINE}}, [rule("cni-not-initialized")])
    assert (f.severity, f.below_threshold, f.log_count) == ("critical", False, 1)
    assert "no network config found" in f.log_lines[0].message
    assert any(x.startswith("not in the bundle: nodes/node1/files/etc/cni/net.d/*") for x in f.fact_lines)
    assert f.caveats == []


def test_cni_line_once_with_config_present_is_info_with_caveat(tmp_path: Path) -> None:
    conf = '{"name": "cbr0", "cniVersion": "0.3.1", "plugins": [{"type": "flannel", "delegate": {"isDefaultGateway": true}}]}\n'
    evidence, findings = analyze(tmp_path, {"files": {
        "nodes/node1/logs/journal/containerd.log": CNI_LINE,
        "nodes/node1/files/etc/cni/net.d/10-flannel.conflist": conf}}, [rule("cni-not-initialized")])
    (f,) = findings
    assert (f.severity, f.below_threshold) == ("info", True)
    (cav,) = f.caveats
    assert cav["en"].startswith("A CNI configuration is present in /etc/cni/net.d") and "CNI" in cav["zh"]
    assert orjson.loads(render_json(evidence, findings))["findings"][0]["caveats"] == [cav]
    assert cav["en"][:40] in render_html(evidence, findings)
    assert "note: A CNI configuration is present" in render_text(evidence, findings)


CERTS_VALID = json.dumps({"certificates": [
    {"path": "/etc/kubernetes/pki/apiserver.crt", "source": "file", "kubeconfig": None, "subject": "CN=kube-apiserver",
     "issuer": "CN=kubernetes", "sans": [], "not_before": "2026-03-02T10:11:00Z", "not_after": "2027-03-02T10:16:00Z",
     "is_ca": False, "serial": "5d", "key_algorithm": "RSA-2048", "fingerprint_sha256": "AB:12", "error": None}]})
CHRONY_UNSYNC = ("Reference ID    : 00000000 ()\nStratum         : 0\nRef time (UTC)  : Thu Jan 01 00:00:00 1970\n"
                 "System time     : 0.000000000 seconds fast of NTP time\nLast offset     : +0.000000000 seconds\n"
                 "RMS offset      : 0.000000000 seconds\nFrequency       : 0.000 ppm slow\nResidual freq   : +0.000 ppm\n"
                 "Skew            : 0.000 ppm\nRoot delay      : 1.000000000 seconds\nRoot dispersion : 1.000000000 seconds\n"
                 "Update interval : 0.0 seconds\nLeap status     : Not synchronised\n")
CHRONY_SYNC = ("Reference ID    : A9FEA97B (169.254.169.123)\nStratum         : 4\nRef time (UTC)  : Sun Nov 22 11:29:01 2026\n"
               "System time     : 0.000012345 seconds fast of NTP time\nLast offset     : +0.000003214 seconds\n"
               "RMS offset      : 0.000021339 seconds\nFrequency       : 6.214 ppm slow\nResidual freq   : +0.000 ppm\n"
               "Skew            : 0.021 ppm\nRoot delay      : 0.000401339 seconds\nRoot dispersion : 0.000519083 seconds\n"
               "Update interval : 16.1 seconds\nLeap status     : Normal\n")
EXPIRED = kubelet_line("2026-11-22T09:50:01", 'reflector.go:147] "Unhandled Error" err="failed to list *v1.Node: tls: failed to verify '
                       'certificate: x509: certificate has expired or is not yet valid: current time 2028-04-02T09:50:01Z is after 2027-03-02T10:16:00Z"')


def test_expired_certificate_with_valid_certs_and_bad_clock_names_the_clock(tmp_path: Path) -> None:
    files = {"nodes/node1/logs/journal/kubelet.log": EXPIRED, "nodes/node1/certs.json": CERTS_VALID,
             "nodes/node1/commands/timesync.txt": CHRONY_UNSYNC}
    _, (f,) = analyze(tmp_path, {"files": files}, [rule("x509-certificate-expired-in-use")])
    assert f.severity == "critical"
    (cav,) = f.caveats
    assert "the clock, not the certificates, is the likely cause" in cav["en"] and "时钟" in cav["zh"]
    files["nodes/node1/commands/timesync.txt"] = CHRONY_SYNC
    _, (f,) = analyze(tmp_path, {"files": files}, [rule("x509-certificate-expired-in-use")], "c.tgz")
    (cav,) = f.caveats
    assert "other side of the connection" in cav["en"]
    del files["nodes/node1/certs.json"]   # nothing to contradict the reading: no note
    _, (f,) = analyze(tmp_path, {"files": files}, [rule("x509-certificate-expired-in-use")], "d.tgz")
    assert f.caveats == []


def test_cert_expired_by_an_unsynchronised_clock_says_so(tmp_path: Path) -> None:
    old = CERTS_VALID.replace("2027-03-02T10:16:00Z", "2026-11-19T09:00:00Z")
    _, (f,) = analyze(tmp_path, {"files": {"nodes/node1/certs.json": old, "nodes/node1/commands/timesync.txt": CHRONY_UNSYNC}},
                      [rule("cert-expired")])
    assert f.severity == "critical" and "not synchronised" in f.caveats[0]["en"]


def test_all_of_log_and_fact_shows_both_evidences(tmp_path: Path) -> None:
    r = adhoc(tmp_path, {"id": "swap-refused", "match": {"all": [
        {"log": {"sources": ["@kubelet"], "regex": "running with swap on is not supported"}},
        {"fact": "size(node.swaps) > 0"}]},
        "evidence": ['string(size(node.swaps)) + " swap device(s) active: " + node.swaps.map(s, s.filename).join(", ")']})
    log = kubelet_line("2026-11-22T11:28:01", 'run.go:74] "command failed" err="failed to run Kubelet: running with swap on is not supported, please disable swap!"')
    _, (f,) = analyze(tmp_path, {"files": {"nodes/node1/logs/journal/kubelet.log": log, "nodes/node1/commands/swaps.txt": SWAPS_ON}}, [r])
    assert "swap on is not supported" in f.log_lines[0].message
    assert f.fact_lines == ["1 swap device(s) active: /swap.img"]
    _, found = analyze(tmp_path, {"files": {"nodes/node1/logs/journal/kubelet.log": log}}, [r], "c.tgz")
    assert found == []   # the `all` needs both


def test_caveat_conditions_may_be_files_and_logs(tmp_path: Path) -> None:
    r = adhoc(tmp_path, {"id": "cav", "match": {"fact": "node.sysctl['net.ipv4.ip_forward'] == '0'"},
                         "caveats": [{"when": {"file": {"path": "files/etc/sysctl.d/*"}}, "en": "a drop-in exists on {node}", "zh": "有 drop-in"},
                                     {"when": {"log": {"sources": ["@kubelet"], "regex": "never printed"}}, "en": "no", "zh": "否"}]})
    _, (f,) = analyze(tmp_path, {"files": {"nodes/node1/commands/sysctl.txt": SYSCTL_OFF,
                                           "nodes/node1/files/etc/sysctl.d/99-k8s.conf": "net.ipv4.ip_forward = 1\n"}}, [r])
    assert f.caveats == [{"en": "a drop-in exists on node1", "zh": "有 drop-in"}]


# -- 3. not a Kubernetes node ------------------------------------------------------------------
PREFLIGHT = ("ip-forward-disabled", "bridge-nf-call-iptables-disabled", "kubelet-swap-on")


def preflight_rules() -> list[Rule]:
    # kubeadm-preflight-binaries-missing only reads a node with a standalone kubelet/kubeadm: quiet here
    return [rule(n) for n in (*PREFLIGHT, "kubeadm-preflight-binaries-missing", "not-a-kubernetes-node")]


def test_plain_host_reports_not_a_node_first_and_preflight_as_info(tmp_path: Path) -> None:
    files = {"nodes/node1/commands/sysctl.txt": SYSCTL_OFF, "nodes/node1/commands/swaps.txt": SWAPS_ON,
             "nodes/node1/commands/binaries.json": PLAIN_BINARIES,
             "nodes/node1/logs/journal/kubelet.log": "-- No entries --\n",
             "nodes/node1/logs/var/log/syslog": "Nov 22 09:50:01 node1 CRON[2211]: (root) CMD (run-parts /etc/cron.hourly)\n"}
    evidence, findings = analyze(tmp_path, {"node": PLAIN_HOST, "files": files}, preflight_rules())
    assert findings[0].rule_id == "not-a-kubernetes-node" and findings[0].severity == "info"
    assert evidence.nodes["node1"]["kubernetes"] == {"node": False, "signals": []}
    by = {f.rule_id: f for f in findings}
    assert set(by) == {"not-a-kubernetes-node", *PREFLIGHT}
    for name in PREFLIGHT:
        assert by[name].severity == "info", name
        assert by[name].caveats[0]["en"].startswith("This node shows no kubelet, kubeconfig or container runtime")
    assert by["ip-forward-disabled"].rule_severity == "critical"
    assert by["kubelet-swap-on"].rule_severity == "critical"
    doc = orjson.loads(render_json(evidence, findings))
    assert doc["summary"]["exit_code"] == 0 and doc["findings"][0]["rule_id"] == "not-a-kubernetes-node"
    assert render_text(evidence, findings).splitlines()[1].startswith("INFO     node1  not-a-kubernetes-node")


def test_kubernetes_node_keeps_preflight_severity(tmp_path: Path) -> None:
    files = {"nodes/node1/commands/sysctl.txt": SYSCTL_OFF, "nodes/node1/commands/swaps.txt": SWAPS_ON}
    evidence, findings = analyze(tmp_path, {"files": files}, preflight_rules())
    by = {f.rule_id: f for f in findings}
    assert "not-a-kubernetes-node" not in by
    assert by["ip-forward-disabled"].severity == "critical" and by["ip-forward-disabled"].rule_severity is None
    assert by["kubelet-swap-on"].severity == "critical"
    assert "kubelet version v1.29.3" in evidence.nodes["node1"]["kubernetes"]["signals"]


def test_kubelet_lines_alone_make_a_node(tmp_path: Path) -> None:
    """No versions in node.json (an old collector), but the kubelet logs: still a node."""
    log = kubelet_line("2026-11-22T11:28:01", 'run.go:74] "command failed" err="failed to run Kubelet: running with swap on is not supported, please disable swap!"')
    files = {"nodes/node1/commands/sysctl.txt": SYSCTL_OFF, "nodes/node1/logs/journal/kubelet.log": log}
    evidence, findings = analyze(tmp_path, {"node": PLAIN_HOST, "files": files}, preflight_rules())
    by = {f.rule_id: f for f in findings}
    assert "not-a-kubernetes-node" not in by and by["ip-forward-disabled"].severity == "critical"
    assert evidence.nodes["node1"]["kubernetes"]["signals"] == ["kubelet lines in logs/journal/kubelet.log"]


def test_unknown_node_is_not_called_a_non_node(tmp_path: Path) -> None:
    """node.json unreadable and no binaries.json: we cannot tell, so nothing is downgraded."""
    files = {"nodes/node1/commands/sysctl.txt": SYSCTL_OFF, "nodes/node1/node.json": "{"}
    evidence, findings = analyze(tmp_path, {"files": files}, preflight_rules())
    by = {f.rule_id: f for f in findings}
    assert "not-a-kubernetes-node" not in by and by["ip-forward-disabled"].severity == "critical"
    assert "kubernetes" not in evidence.nodes["node1"]


def test_preflight_flag_is_in_the_schema_and_set_on_setup_checks() -> None:
    schema = json.loads((RULES / "schema.json").read_text())
    assert schema["properties"]["preflight"] == {"type": "boolean"}
    for name in (*PREFLIGHT, "kubeadm-preflight-binaries-missing"):
        assert rule(name).preflight, name
    assert not rule("cni-not-initialized").preflight
