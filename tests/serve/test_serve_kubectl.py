"""`k8s-bundle serve` read with the real kubectl: get, describe, logs, selectors, output formats,
findings, several bundles at once, and every write verb refused.

One server for the module, over three bundles: samples/broken-kubeadm.tgz (objects under
cluster/), a node-only bundle extracted here from samples/healthy-node.tgz without its cluster/
(plus one pod with two runs, CRI then docker json-file lines) and served as a directory, and
samples/broken-windows-worker.tgz (a node-only Windows bundle).
"""
from __future__ import annotations

import json

import pytest
import yaml

from servekit import Server, kubectl_minor, require_kubectl, sample_members

TOP = "k8s-bundle-cp-1-20261122T113000Z"
POD_DIR = f"{TOP}/nodes/cp-1/logs/var/log/pods/demo_web-1_0a1b2c3d-0000-4000-8000-000000000001/app"
RUN0 = (b"2026-11-22T11:00:00.000000000Z stdout F first run starting\n"
        b"2026-11-22T11:00:01.000000000Z stderr P part one \n"
        b"2026-11-22T11:00:01.000000000Z stderr F and part two\n"
        b"2026-11-22T11:00:02.000000000Z stdout F first run crashed\n")
RUN1 = b"".join(json.dumps({"log": f"second run line {i}\n", "stream": "stdout", "time": t}).encode() + b"\n"
                for i, t in ((1, "2026-11-22T11:10:00.000000000Z"), (2, "2026-11-22T11:20:00.000000000Z"),
                             (3, "2026-11-22T11:29:00.000000000Z")))

CLUSTER_CONF = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.29.3\n"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Server:
    require_kubectl()
    tmp = tmp_path_factory.mktemp("serve")
    # the node-only bundle as an extracted directory: served like a tarball
    node_only = tmp / "cp-1-node-only"
    kubeadm_cm = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "kubeadm-config", "namespace": "kube-system"}, "data": {"ClusterConfiguration": CLUSTER_CONF}})
    for name, data in sample_members("healthy-node.tgz", drop="/cluster/") + [
            (f"{POD_DIR}/0.log", RUN0), (f"{POD_DIR}/1.log", RUN1),
            (f"{TOP}/cluster/kubeadm-config.json", kubeadm_cm.encode())]:
        (node_only / name).parent.mkdir(parents=True, exist_ok=True)
        (node_only / name).write_bytes(data)
    from servekit import SAMPLES
    server = Server([SAMPLES / "broken-kubeadm.tgz", node_only, SAMPLES / "broken-windows-worker.tgz"],
                    tmp / "kubeconfig")
    yield server
    code, err = server.stop()
    assert code == 0, err
    assert not server.kubeconfig.exists()      # removed on the way out


def rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()[1:]]


def test_get_nodes_from_every_bundle(srv: Server) -> None:
    out = srv.kubectl("get", "nodes").stdout
    assert out.splitlines()[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    names = {r[0]: r for r in rows(out)}
    assert set(names) == {"k8s-master-1", "cp-1", "win-worker-1"}
    assert names["cp-1"][4] == "v1.29.3" and names["win-worker-1"][2] == "worker"
    wide = srv.kubectl("get", "nodes", "-o", "wide").stdout
    for col in ("INTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"):
        assert col in wide.splitlines()[0]
    assert "192.168.10.21" in wide and "containerd://1.7.13" in wide
    assert "10.127.130.5" in wide            # the Windows node's, from Get-NetIPAddress


def test_synthesized_node_yaml(srv: Server) -> None:
    node = yaml.safe_load(srv.kubectl("get", "node", "cp-1", "-o", "yaml").stdout)
    assert node["kind"] == "Node" and node["apiVersion"] == "v1"
    assert "k8s-bundle.io/synthesized" in node["metadata"]["annotations"]
    assert node["status"]["nodeInfo"]["kernelVersion"]
    assert {c["type"] for c in node["status"]["conditions"]} >= {"Ready", "DiskPressure", "MemoryPressure"}
    # the cluster/ Node is served as collected, not made up
    real = json.loads(srv.kubectl("get", "node", "k8s-master-1", "-o", "json").stdout)
    assert "k8s-bundle.io/synthesized" not in real["metadata"].get("annotations", {})
    assert any(t["key"] == "node.kubernetes.io/disk-pressure" for t in real["spec"]["taints"])


def test_get_pods_all_namespaces_and_formats(srv: Server) -> None:
    out = srv.kubectl("get", "pods", "-A").stdout
    assert out.splitlines()[0].split()[:6] == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    by_name = {r[1]: r for r in rows(out)}
    assert by_name["kube-apiserver-k8s-master-1"][3] == "CrashLoopBackOff"
    assert by_name["kube-apiserver-k8s-master-1"][4] == "9"
    assert by_name["web-1"][0] == "demo"                       # a pod known from its logs only
    assert by_name["etcd-cp-1"][0] == "kube-system"            # a static pod from cp-1's manifests
    assert {"k8s-master-1", "cp-1", "win-worker-1"} <= {r[1] for r in rows(out) if r[0] == "k8s-bundle-node"}
    wide = srv.kubectl("get", "pods", "-n", "kube-system", "-o", "wide").stdout
    assert wide.splitlines()[0].split()[5:7] == ["IP", "NODE"]
    listed = json.loads(srv.kubectl("get", "pods", "-n", "apps", "-o", "json").stdout)
    assert listed["kind"] == "List"
    assert sorted(p["metadata"]["name"] for p in listed["items"]) == [
        "report-generator-6c7b9d8f5-q4w2e", "web-7c9d8b6f5-h2k4m", "web-7c9d8b6f5-x7p9z"]
    assert all(p["kind"] == "Pod" for p in listed["items"])
    one = yaml.safe_load(srv.kubectl("get", "pod", "-n", "kube-system", "etcd-cp-1", "-o", "yaml").stdout)
    assert one["spec"]["nodeName"] == "cp-1" and one["status"]["phase"] == "Running"
    assert one["metadata"]["labels"]["tier"] == "control-plane"


def test_other_kinds(srv: Server) -> None:
    cms = srv.kubectl("get", "configmaps", "-n", "kube-system").stdout
    assert cms.splitlines()[0].split() == ["NAME", "DATA", "SIZE", "AGE"]
    assert {r[0]: r[1:3] for r in rows(cms)}["kube-proxy"] == ["2", "2118"]
    # kubeadm-config was collected whole (redacted) by the second bundle: that one is served
    conf = srv.kubectl("get", "cm", "-n", "kube-system", "kubeadm-config", "-o",
                       "jsonpath={.data.ClusterConfiguration}").stdout
    assert conf == CLUSTER_CONF
    ev = srv.kubectl("get", "events", "-A").stdout
    assert ev.splitlines()[0].split()[:6] == ["NAMESPACE", "LAST", "SEEN", "TYPE", "REASON", "OBJECT"]
    assert "EvictionThresholdMet" in ev
    assert "No resources found" in srv.kubectl("get", "deployments", "-A").stderr
    assert "kube-system" in srv.kubectl("get", "ns").stdout


def test_label_selectors(srv: Server) -> None:
    cp = srv.kubectl("get", "nodes", "-l", "node-role.kubernetes.io/control-plane", "-o", "name").stdout.split()
    assert sorted(cp) == ["node/cp-1", "node/k8s-master-1"]
    win = srv.kubectl("get", "nodes", "-l", "kubernetes.io/os in (windows)", "-o", "name").stdout.split()
    assert win == ["node/win-worker-1"]
    notwin = srv.kubectl("get", "nodes", "-l", "kubernetes.io/os!=windows", "-o", "name").stdout.split()
    assert "node/win-worker-1" not in notwin and len(notwin) == 2
    static = srv.kubectl("get", "pods", "-A", "-l", "tier=control-plane,component=etcd", "-o", "name").stdout.split()
    assert static == ["pod/etcd-cp-1"]
    bad = srv.kubectl("get", "pods", "-l", "a in (b", check=False)
    assert bad.returncode != 0


def test_field_selectors(srv: Server) -> None:
    on_cp1 = srv.kubectl("get", "pods", "-A", "--field-selector", "spec.nodeName=cp-1", "-o", "name").stdout.split()
    assert "pod/etcd-cp-1" in on_cp1 and "pod/web-1" in on_cp1
    assert not any("master" in p for p in on_cp1)
    failed = srv.kubectl("get", "pods", "-A", "--field-selector",
                         "status.phase!=Running,status.phase!=Pending,metadata.namespace=apps", "-o", "name").stdout
    assert sorted(failed.split()) == ["pod/report-generator-6c7b9d8f5-q4w2e", "pod/web-7c9d8b6f5-h2k4m"]
    named = srv.kubectl("get", "pods", "-A", "--field-selector", "metadata.name=web-1", "-o", "name").stdout.split()
    assert named == ["pod/web-1"]
    about = srv.kubectl("get", "events", "-A", "--field-selector",
                        "involvedObject.kind=Node,involvedObject.name=win-worker-1", "-o", "json").stdout
    reasons = {e["reason"] for e in json.loads(about)["items"]}
    assert "win-ephemeral-port-exhaustion" in reasons


def test_describe(srv: Server) -> None:
    node = srv.kubectl("describe", "node", "k8s-master-1").stdout
    events = node.split("\nEvents:", 1)[1]
    assert "EvictionThresholdMet" in events          # collected event
    assert "disk-full" in events                      # finding as an event
    synth = srv.kubectl("describe", "node", "cp-1").stdout
    assert "k8s-bundle.io/synthesized" in synth and "Ready" in synth
    assert "etcd-cp-1" in synth.split("Non-terminated Pods:", 1)[1]
    pod = srv.kubectl("describe", "pod", "-n", "apps", "web-7c9d8b6f5-x7p9z").stdout
    assert "Failed to pull image" in pod.split("\nEvents:", 1)[1]


def test_findings(srv: Server) -> None:
    out = srv.kubectl("get", "findings", "-A").stdout
    assert out.splitlines()[0].split()[:6] == ["NAMESPACE", "NAME", "SEVERITY", "NODE", "RULE", "MESSAGE"]
    names = {r[1]: r for r in rows(out)}
    assert names["k8s-master-1.disk-full"][2:5] == ["critical", "k8s-master-1", "disk-full"]
    assert names["win-worker-1.win-ephemeral-port-exhaustion"][2] == "critical"
    assert "ROOT CAUSE" in srv.kubectl("get", "findings", "-A", "-o", "wide").stdout.splitlines()[0]
    crit = srv.kubectl("get", "findings", "-A", "-l", "k8s-bundle.io/severity=critical,k8s-bundle.io/node=win-worker-1",
                       "-o", "name").stdout.split()
    assert crit and all(n.startswith("finding.k8s-bundle.io/win-worker-1.") for n in crit)
    desc = srv.kubectl("describe", "finding", "-n", "k8s-bundle-findings", "k8s-master-1.disk-full").stdout
    assert "Severity:" in desc and "critical" in desc and "Fix:" in desc
    one = json.loads(srv.kubectl("get", "finding", "-n", "k8s-bundle-findings", "k8s-master-1.disk-full",
                                 "-o", "json").stdout)
    assert one["apiVersion"] == "k8s-bundle.io/v1" and one["spec"]["rule"] == "disk-full"


def test_pod_logs_options(srv: Server) -> None:
    def logs(*args: str) -> str:
        return srv.kubectl("logs", "-n", "demo", "web-1", *args).stdout

    assert logs() == "second run line 1\nsecond run line 2\nsecond run line 3\n"   # docker json-file
    assert logs("-c", "app", "--tail", "1") == "second run line 3\n"
    assert logs("--previous") == "first run starting\npart one and part two\nfirst run crashed\n"   # CRI
    assert logs("--previous", "--tail", "2", "--timestamps") == (
        "2026-11-22T11:00:01.000000000Z part one and part two\n"
        "2026-11-22T11:00:02.000000000Z first run crashed\n")
    # --since counts back from the collection time (11:30:00Z), not from today
    assert logs("--since", "5m") == "second run line 3\n"
    assert logs("--since", "15m") == "second run line 2\nsecond run line 3\n"
    assert logs("--since-time", "2026-11-22T11:15:00Z", "--timestamps") == (
        "2026-11-22T11:20:00.000000000Z second run line 2\n2026-11-22T11:29:00.000000000Z second run line 3\n")
    assert logs("--limit-bytes", "6") == "second"
    single = srv.kubectl("logs", "-n", "kube-system", "coredns-5dd5756b68-7sdxm", "--previous", check=False)
    assert single.returncode != 0 and "previous terminated container" in single.stderr
    crashed = srv.kubectl("logs", "-n", "kube-system", "coredns-5dd5756b68-7sdxm", "--tail", "1").stdout
    assert "[FATAL] plugin/loop" in crashed and crashed.count("\n") == 1


def test_node_logs(srv: Server) -> None:
    kubelet = srv.kubectl("logs", "-n", "k8s-bundle-node", "k8s-master-1", "-c", "kubelet", "--tail", "1").stdout
    assert "kubelet.service" in kubelet or "kubelet" in kubelet
    default = srv.kubectl("logs", "-n", "k8s-bundle-node", "k8s-master-1", "--tail", "1", check=False)
    if kubectl_minor() >= 21:     # the default-container annotation; older kubectl asks for -c
        assert default.stdout == kubelet                   # the kubelet is the default container
    else:
        assert "choose one of: [containerd kubelet kernel]" in default.stderr
    kernel = srv.kubectl("logs", "-n", "k8s-bundle-node", "k8s-master-1", "-c", "kernel",
                         "--since-time", "2026-11-22T10:48:01Z").stdout
    assert kernel and all(line >= "2026-11-22T10:48:01" for line in kernel.splitlines())
    proxy = srv.kubectl("logs", "-n", "k8s-bundle-node", "win-worker-1", "-c", "kube-proxy", "--since", "25m",
                        "--timestamps").stdout.splitlines()   # klog lines: the year from the collection
    assert proxy and all(line.startswith("2026-11-22T11:") for line in proxy)
    containers = srv.kubectl("get", "pod", "-n", "k8s-bundle-node", "win-worker-1", "-o",
                             "jsonpath={.spec.containers[*].name}").stdout.split()
    assert {"kubelet", "kube-proxy", "flanneld", "eventlog-system"} <= set(containers)
    bad = srv.kubectl("logs", "-n", "k8s-bundle-node", "win-worker-1", "-c", "nope", check=False)
    assert bad.returncode != 0 and "nope" in bad.stderr


def test_unknown_resources_and_names(srv: Server) -> None:
    for what in ("foo", "secrets"):
        res = srv.kubectl("get", what, check=False)
        assert res.returncode != 0
        assert f'the server doesn\'t have a resource type "{what}"' in res.stderr
    missing = srv.kubectl("get", "pod", "nope", check=False)
    assert missing.returncode != 0 and 'Error from server (NotFound): pods "nope" not found' in missing.stderr


@pytest.mark.parametrize("args", [
    ("delete", "pod", "-n", "kube-system", "etcd-k8s-master-1"),
    ("create", "namespace", "x"),
    ("label", "node", "cp-1", "a=b"),
    ("annotate", "pod", "-n", "demo", "web-1", "a=b"),
    ("cordon", "cp-1"),
    ("scale", "--replicas=2", "-n", "kube-system", "pod/etcd-cp-1"),
])
def test_write_verbs_refused_by_kubectl(srv: Server, args: tuple[str, ...]) -> None:
    res = srv.kubectl(*args, check=False)
    assert "does not allow this method" in res.stderr and "read-only" in res.stderr, res.stderr
    if args[0] != "cordon":         # kubectl cordon reports the error but exits 0 (kubectl's own choice)
        assert res.returncode != 0


def test_every_write_verb_refused_over_http(srv: Server) -> None:
    before = srv.kubectl("get", "pods", "-A", "-o", "json").stdout
    paths = ["/api/v1/namespaces/default/pods", "/api/v1/namespaces/kube-system/pods/etcd-cp-1",
             "/api/v1/nodes/cp-1", "/apis/k8s-bundle.io/v1/namespaces/k8s-bundle-findings/findings",
             "/api/v1/namespaces", "/no/such/path"]
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in paths:
            code, body = srv.request(method, path, b'{"kind":"Pod"}')
            assert code == 405, (method, path)
            doc = json.loads(body)
            assert (doc["kind"], doc["reason"], doc["code"]) == ("Status", "MethodNotAllowed", 405)
    code, body = srv.request("GET", "/api/v1/pods?watch=true")
    assert code == 405 and json.loads(body)["reason"] == "MethodNotAllowed"
    assert srv.kubectl("get", "pods", "-A", "-o", "json").stdout == before
