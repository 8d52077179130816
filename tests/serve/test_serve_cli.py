"""`k8s-bundle serve` as a command: exit codes and one-line errors, the kubeconfig it writes and
removes, SIGTERM, a bundle left untouched; pods made up from docker and crictl listings."""
from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path

from servekit import SAMPLES, Server, cli, require_kubectl, write_tar

TOP = "k8s-bundle-multi-20261122T113000Z"


def _one_line_error(res, code: int) -> str:   # noqa: ANN001 - a CompletedProcess
    assert res.returncode == code, (res.returncode, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("k8s-bundle: error: "), res.stderr
    assert "Traceback" not in res.stderr
    return lines[0]


def test_busy_port_exit_4(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        res = cli("serve", str(SAMPLES / "healthy-node.tgz"), "--port", str(port), "--kubeconfig",
                  str(tmp_path / "kc"))
    line = _one_line_error(res, 4)
    assert f"port {port} on 127.0.0.1 is already in use" in line
    assert not (tmp_path / "kc").exists()


def test_unusable_bundles_exit_4(tmp_path: Path) -> None:
    text = tmp_path / "notes.tgz"
    text.write_text("not a bundle\n")
    assert "not" in _one_line_error(cli("serve", str(text), "--kubeconfig", str(tmp_path / "kc")), 4)
    other = write_tar(tmp_path / "other.tgz", [("photos/cat.jpg", b"\xff\xd8\xff")])
    line = _one_line_error(cli("serve", str(other), "--kubeconfig", str(tmp_path / "kc")), 4)
    assert "not a k8s-bundle bundle" in line
    assert "no such file" in _one_line_error(cli("serve", str(tmp_path / "missing.tgz")), 4)
    bad_port = cli("serve", str(other), "--port", "70000")
    assert bad_port.returncode == 2 and "not a port number" in bad_port.stderr
    assert not (tmp_path / "kc").exists()


def test_foreign_kubeconfig_not_replaced(tmp_path: Path) -> None:
    mine = tmp_path / "config"
    mine.write_text("apiVersion: v1\nkind: Config\n# the user's own\n")
    line = _one_line_error(cli("serve", str(SAMPLES / "healthy-node.tgz"), "--kubeconfig", str(mine)), 4)
    assert "not written by k8s-bundle serve" in line
    assert mine.read_text().endswith("# the user's own\n")


def _docker_ps() -> bytes:
    head = f"{'CONTAINER ID':<66}{'IMAGE':<40}{'COMMAND':<28}{'CREATED':<17}{'STATUS':<28}{'PORTS':<10}NAMES\n"
    rows = [("a" * 64, "registry.k8s.io/kube-proxy:v1.23.17", '"/usr/local/bin/kube-proxy"', "2 hours ago",
             "Up 2 hours", "k8s_kube-proxy_kube-proxy-x1_kube-system_u-1_0"),
            ("b" * 64, "registry.k8s.io/pause:3.6", '"/pause"', "2 hours ago", "Up 2 hours",
             "k8s_POD_kube-proxy-x1_kube-system_u-1_0"),
            ("c" * 64, "shop/web:1.0", '"/web --port 80"', "5 minutes ago", "Exited (1) 4 minutes ago",
             "k8s_web_web-7f9-abc_shop_u-2_3"),
            ("d" * 64, "shop/web:1.0", '"/web --port 80"', "9 minutes ago", "Exited (1) 8 minutes ago",
             "k8s_web_web-7f9-abc_shop_u-2_2")]
    return (head + "".join(f"{a:<66}{b:<40}{c:<28}{d:<17}{e:<28}{'':<10}{f}\n" for a, b, c, d, e, f in rows)).encode()


def _runtime_bundle(path: Path) -> Path:
    crictl_ps = {"containers": [
        {"id": "e" * 64, "podSandboxId": "s1" * 32, "metadata": {"name": "api", "attempt": 2},
         "image": {"image": "shop/api:2.0"}, "state": "CONTAINER_RUNNING", "labels": {}},
        {"id": "f" * 64, "podSandboxId": "s1" * 32, "metadata": {"name": "sidecar", "attempt": 0},
         "image": {"image": "envoy:1.29"}, "state": "CONTAINER_EXITED", "labels": {}}]}
    crictl_pods = {"items": [{"id": "s1" * 32, "metadata": {"name": "api-0", "namespace": "shop", "uid": "u-3"},
                              "state": "SANDBOX_READY"}]}
    return write_tar(path, [
        (f"{TOP}/nodes/dock/node.json", json.dumps({"name": "dock", "os": "linux", "runtime": "docker",
                                                    "versions": {"docker": "20.10.24", "kubelet": "v1.23.17"},
                                                    "roles": ["worker"]}).encode()),
        (f"{TOP}/nodes/dock/commands/docker-ps.txt", _docker_ps()),
        (f"{TOP}/nodes/cri/node.json", json.dumps({"name": "cri", "os": "linux", "runtime": "containerd",
                                                   "versions": {"containerd": "1.7.13", "kubelet": "v1.29.3"}})
         .encode()),
        (f"{TOP}/nodes/cri/commands/crictl-ps.json", json.dumps(crictl_ps).encode()),
        (f"{TOP}/nodes/cri/commands/crictl-pods.json", json.dumps(crictl_pods).encode()),
        (f"{TOP}/nodes/cri/logs/var/log/pods/shop_api-0_u-3/api/2.log",
         b"2026-11-22T11:29:00.000000000Z stdout F api listening\n"),
        (f"{TOP}/manifest.json", json.dumps({"format_version": "1.0", "created_at": "2026-11-22T11:30:00Z",
                                             "items": [], "nodes": []}).encode()),
    ])


def test_default_kubeconfig_runtime_pods_and_sigterm(tmp_path: Path) -> None:
    require_kubectl()
    bundle = _runtime_bundle(tmp_path / "fleet.tgz")
    digest = hashlib.sha256(bundle.read_bytes()).hexdigest()
    kubeconfig = tmp_path / "fleet.kubeconfig"           # the default: beside the bundle
    srv = Server([bundle], kubeconfig, "--port", "0")
    try:
        assert "server: http://127.0.0.1:" in kubeconfig.read_text()
        pods = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in
                json.loads(srv.kubectl("get", "pods", "-A", "-o", "json").stdout)["items"]}
        proxy = pods[("kube-system", "kube-proxy-x1")]
        assert proxy["spec"]["nodeName"] == "dock" and proxy["status"]["phase"] == "Running"
        assert "docker-ps" in proxy["metadata"]["annotations"]["k8s-bundle.io/synthesized"]
        web = pods[("shop", "web-7f9-abc")]
        assert web["status"]["containerStatuses"][0]["restartCount"] == 3   # the latest attempt
        api = pods[("shop", "api-0")]                                       # named by crictl pods
        assert [c["name"] for c in api["spec"]["containers"]] == ["api", "sidecar"]
        table = srv.kubectl("get", "pods", "-n", "shop").stdout
        assert {line.split()[0]: line.split()[1:4] for line in table.splitlines()[1:]} == {
            "api-0": ["1/2", "Exited", "2"], "web-7f9-abc": ["0/1", "Exited", "3"]}
        nodes = srv.kubectl("get", "nodes", "-o", "wide").stdout
        assert "docker://20.10.24" in nodes and "containerd://1.7.13" in nodes
        assert srv.kubectl("logs", "-n", "shop", "api-0", "-c", "api").stdout == "api listening\n"
        moved = bundle.rename(tmp_path / "elsewhere.tgz")      # the bundle goes away while served
        try:
            gone = srv.kubectl("logs", "-n", "shop", "api-0", "-c", "api", check=False)
        finally:
            moved.rename(bundle)
        assert gone.returncode != 0
        assert "Error from server (InternalError): cannot read the log from the bundle" in gone.stderr
    finally:
        code, err = srv.stop()
    assert code == 0, err
    assert "serve stopped" in err
    assert not kubeconfig.exists()
    # nothing else written (.kube: kubectl's own discovery cache, HOME being tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".kube") == ["fleet.tgz"]
    assert hashlib.sha256(bundle.read_bytes()).hexdigest() == digest
