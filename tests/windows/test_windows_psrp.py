"""The WinRM/PSRP transport end to end: pypsrp against a WinRM endpoint on 127.0.0.1 that
answers with recorded WSMan/PSRP exchanges (psrp_server.py), over real HTTPS."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
import threading

import pytest

from win_samples import windows_rules
from k8s_bundle.collector.transports.psrp import PsrpTransport
from k8s_bundle.collector.windows import script
from k8s_bundle.errors import UserError
from psrp_server import FakeWinRM


@pytest.fixture
def server(tmp_path, recorded_node):
    rec, drive = recorded_node
    with FakeWinRM(tmp_path, str(rec), str(drive), require_client_cert=True) as srv:
        yield srv


def connect(srv: FakeWinRM) -> PsrpTransport:
    return PsrpTransport("127.0.0.1", port=srv.port, auth="certificate", ca_cert=srv.ca_file,
                         cert_pem=srv.client_cert, key_pem=srv.client_key).connect()


def test_connect_names_the_node_and_runs_scripts(server):
    t = connect(server)
    try:
        assert t.hostname == "WIN-NODE1" and t.is_admin is True
        s = t.run_powershell(script("netsh", What="dynamicportrange", Protocol="tcp"), timeout=30, cap=1 << 20,
                             stop=threading.Event())
        text = b"".join(s).decode()
        assert "Number of Ports : 16384" in text and s.exit_code == 0
        # a script with no recorded answer fails with the node's error record kept for the manifest
        s = t.run_powershell("Get-Something", timeout=30, cap=1 << 20, stop=threading.Event())
        assert b"".join(s) == b"" and s.exit_code == 1 and b"no recorded output" in s.stderr
    finally:
        t.close()
    assert any(verb == "Delete" for verb, _ in server.requests)


def test_large_file_streams_in_chunks(server, recorded_node):
    _, drive = recorded_node
    big = drive / "k" / "big.log"
    line = b"I1122 11:00:00.000000    4212 kubelet.go:100] " + b"x" * 200 + b"\n"
    big.write_bytes(line * (12 * 1024 * 1024 // len(line)))
    want = hashlib.sha256(big.read_bytes()).hexdigest()
    t = connect(server)
    try:
        receives_before = sum(1 for v, _ in server.requests if v == "Receive")
        s = t.read_file("/C/k/big.log", cap=64 << 20, tail=False, stop=threading.Event())
        digest, sizes = hashlib.sha256(), []
        for chunk in s:
            digest.update(chunk)
            sizes.append(len(chunk))
        assert digest.hexdigest() == want and not s.truncated
        assert len(sizes) > 20 and max(sizes) <= 256 * 1024   # piece by piece, never whole
        assert sum(1 for v, _ in server.requests if v == "Receive") - receives_before > 20
        # the newest part when capped (tail), marked truncated
        s = t.read_file("/C/k/big.log", cap=1 << 20, tail=True, stop=threading.Event())
        data = b"".join(s)
        assert len(data) == 1 << 20 and s.truncated and big.read_bytes().endswith(data)
        s = t.read_file("/C/k/absent.log", cap=1 << 20, tail=False, stop=threading.Event())
        assert b"".join(s) == b"" and s.not_found
    finally:
        t.close()


def test_collect_over_winrm_end_to_end(server, tmp_path):
    """The real engine, catalogue, redactor and writer over PSRP; then the analyzer."""
    from k8s_bundle.collector.runner import CollectOptions, Engine
    from k8s_bundle.collector.windows import catalogue

    t = connect(server)
    out = tmp_path / "win.tgz"
    try:
        engine = Engine(CollectOptions(output=str(out), since="2h", since_seconds=7200, timeout=30, workers=2), t)
        result = engine.run(catalogue(engine.ctx))
    finally:
        t.close()
    assert result.node == "win-node1"
    by_id = {r["id"]: r for r in result.items}
    assert by_id["dynamicportrange-tcp"]["status"] == "ok"
    assert by_id["hns-loadbalancers"]["status"] == "ok" and by_id["reservedports"]["status"] == "ok"
    assert by_id["crictl-ps"]["status"] == "not_found"
    assert by_id["flannel-subnet-env"]["status"] == "ok"
    with tarfile.open(out) as tf:
        names = {m.name.split("/", 1)[1] for m in tf.getmembers()}
    assert "nodes/win-node1/logs/C/k/kube-proxy.log" in names
    assert "nodes/win-node1/logs/eventlog/System.jsonl" in names
    assert "nodes/win-node1/files/C/k/SourceVip.json" in names

    from k8s_bundle.analyzer.evaluate import evaluate, load_rules
    from k8s_bundle.analyzer.evidence import load_evidence

    ev = load_evidence(str(out))
    win = ev.nodes["win-node1"]["windows"]
    assert win["load_balancers"]["non_dsr"] == 160 and win["reservation"]["ranges_reserved"] == 3
    fired = {f.rule_id for f in evaluate(windows_rules(), ev)}
    assert {"win-ephemeral-port-exhaustion", "win-flannel-stale-sourcevip",
            "win-kube-proxy-no-hostname-override"} <= fired


def test_auth_failure_is_one_clear_line(tmp_path, recorded_node):
    rec, drive = recorded_node
    with FakeWinRM(tmp_path, str(rec), str(drive), reject_auth=True) as srv:
        t = PsrpTransport("127.0.0.1", port=srv.port, auth="ntlm", username="CONTOSO\\k8sadmin",
                          password="wrong", ca_cert=srv.ca_file)
        with pytest.raises(UserError) as err:
            t.connect()
        msg = str(err.value)
        assert "authentication failed (HTTP 401, ntlm, user CONTOSO\\k8sadmin)" in msg and "\n" not in msg
        assert "wrong" not in msg
        # through the CLI: exit code 4, one line on stderr, no traceback, password never on argv
        env = dict(os.environ, K8S_BUNDLE_WINRM_PASSWORD="wrong")
        proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "collect", "--winrm", "127.0.0.1",
                               "--winrm-port", str(srv.port), "--winrm-auth", "ntlm", "--winrm-user", "k8sadmin",
                               "--winrm-ca-cert", srv.ca_file, "-o", str(tmp_path / "x.tgz")],
                              capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 4, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "authentication failed (HTTP 401" in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.tgz").exists()


def test_untrusted_server_certificate(server):
    t = PsrpTransport("127.0.0.1", port=server.port, auth="certificate", cert_pem=server.client_cert,
                      key_pem=server.client_key)   # no --winrm-ca-cert: the test CA is not trusted
    with pytest.raises(UserError, match="TLS certificate not trusted"):
        t.connect()


def test_two_hosts_make_one_bundle(tmp_path, recorded_node):
    """collect --winrm A --winrm B: one bundle, one nodes/<node>/ per host, one manifest."""
    rec, drive = recorded_node
    with FakeWinRM(_mk(tmp_path / "a"), str(rec), str(drive), require_client_cert=True, hostname="WIN-A") as a, \
            FakeWinRM(_mk(tmp_path / "b"), str(rec), str(drive), hostname="WIN-B") as b:
        # each fake has its own CA: trust both (b does not ask for the client certificate)
        bundle_ca = tmp_path / "cas.pem"
        bundle_ca.write_text(open(a.ca_file).read() + open(b.ca_file).read())
        out = tmp_path / "multi.tgz"
        proc = subprocess.run(
            [sys.executable, "-m", "k8s_bundle.cli", "collect", "--winrm", f"127.0.0.1:{a.port}",
             "--winrm", f"localhost:{b.port}", "--winrm-auth", "certificate", "--winrm-cert", a.client_cert,
             "--winrm-key", a.client_key, "--winrm-ca-cert", str(bundle_ca), "--only", "ports,files,os",
             "--progress", "none", "-o", str(out)],
            capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    import json
    with tarfile.open(out) as tf:
        names = [m.name.split("/", 1)[1] for m in tf.getmembers()]
        manifest = json.load(tf.extractfile([m for m in tf.getmembers() if m.name.endswith("/manifest.json")][0]))
    assert [n["name"] for n in manifest["nodes"]] == ["win-a", "win-b"]
    assert "nodes/win-a/windows/reservedports.txt" in names and "nodes/win-b/windows/reservedports.txt" in names
    assert not list(tmp_path.glob("multi.tgz.node*"))


def _mk(path):
    path.mkdir()
    return path


def test_large_event_log_streams_object_by_object(server, recorded_node):
    """An event log of many JSON lines arrives over many receives and leaves the transport line
    by line; the cap cuts it without reading the rest into memory."""
    import json

    rec, _ = recorded_node
    line = {"TimeCreated": "2026-11-22T11:00:00.0000000Z", "Id": 7036, "Level": 4, "LevelDisplayName": "Information",
            "ProviderName": "Service Control Manager", "LogName": "System", "Message": "x" * 700}
    (rec / "eventlog-System.txt").write_text("".join(json.dumps(dict(line, Id=i)) + "\n" for i in range(6000)))
    t = connect(server)
    try:
        before = sum(1 for v, _ in server.requests if v == "Receive")
        s = t.run_powershell(script("eventlog", LogName="System", Seconds=3600), timeout=120, cap=64 << 20,
                             stop=threading.Event())
        count, biggest = 0, 0
        for chunk in s:
            count += chunk.count(b"\n")
            biggest = max(biggest, len(chunk))
        assert count == 6000 and s.exit_code == 0 and biggest < 4096
        assert sum(1 for v, _ in server.requests if v == "Receive") - before > 20
        s = t.run_powershell(script("eventlog", LogName="System", Seconds=3600), timeout=120, cap=100_000,
                             stop=threading.Event())
        assert len(b"".join(s)) == 100_000 and s.truncated
    finally:
        t.close()


@pytest.fixture
def ntlm_users(tmp_path, monkeypatch):
    users = tmp_path / "ntlm-users"
    users.write_text("CONTOSO:k8sadmin:S3cret-pass\n")
    monkeypatch.setenv("NTLM_USER_FILE", str(users))


@pytest.mark.parametrize("auth", ["negotiate", "ntlm"])
def test_password_auth(tmp_path, recorded_node, ntlm_users, auth):
    """The usual path: Negotiate (the default; NTLM inside SPNEGO without a domain controller)
    or raw NTLM over HTTPS, the password from the environment (never argv)."""
    rec, drive = recorded_node
    with FakeWinRM(_mk(tmp_path / "srv"), str(rec), str(drive), ntlm=True) as srv:
        env = dict(os.environ, K8S_BUNDLE_WINRM_PASSWORD="S3cret-pass")
        out = tmp_path / f"{auth}.tgz"
        proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "collect", "--winrm", f"127.0.0.1:{srv.port}",
                               "--winrm-auth", auth, "--winrm-user", "CONTOSO\\k8sadmin", "--winrm-ca-cert",
                               srv.ca_file, "--only", "ports", "--progress", "none", "-o", str(out)],
                              capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert any(v == "401-challenge" for v, _ in srv.requests)
    with tarfile.open(out) as tf:
        manifest = json.load(tf.extractfile(next(m for m in tf.getmembers() if m.name.endswith("manifest.json"))))
    assert "S3cret-pass" not in json.dumps(manifest)
    assert {i["id"]: i["status"] for i in manifest["items"]}["reservedports"] == "ok"


def test_ntlm_wrong_password_is_one_clear_line(tmp_path, recorded_node, ntlm_users):
    rec, drive = recorded_node
    with FakeWinRM(_mk(tmp_path / "srv"), str(rec), str(drive), ntlm=True) as srv:
        t = PsrpTransport("127.0.0.1", port=srv.port, auth="ntlm", username="CONTOSO\\k8sadmin",
                          password="not-the-password", ca_cert=srv.ca_file)
        with pytest.raises(UserError, match=r"authentication failed \(HTTP 401, ntlm, user CONTOSO\\k8sadmin\)"):
            t.connect()


def test_kerberos_without_gssapi_says_what_to_install(tmp_path, recorded_node, ntlm_users):
    pytest.importorskip("spnego")
    try:
        import gssapi  # noqa: F401
        pytest.skip("gssapi is installed here: Kerberos would be attempted for real")
    except ImportError:
        pass
    rec, drive = recorded_node
    with FakeWinRM(_mk(tmp_path / "srv"), str(rec), str(drive), ntlm=True) as srv:
        t = PsrpTransport("127.0.0.1", port=srv.port, auth="kerberos", username="k8sadmin@CONTOSO.EXAMPLE",
                          password="x", ca_cert=srv.ca_file)
        with pytest.raises(UserError, match="Kerberos needs the Python gssapi package"):
            t.connect()
