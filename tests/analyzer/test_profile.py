"""analyzer/profile.py: the drift fields and flattened settings of a node, on the shipped samples
and on odd fact shapes (facts come from hostile bundles)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from k8s_bundle.analyzer.evidence import load_evidence
from k8s_bundle.analyzer.profile import (KEY_SYSCTLS, MAX_SETTING_VALUE_CHARS, MAX_SETTINGS_PER_SOURCE, PROFILE_KEYS,
                                         node_profile, node_settings)

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.fixture(scope="module")
def broken() -> dict:
    return load_evidence(str(SAMPLES / "broken-kubeadm.tgz")).nodes["k8s-master-1"]


@pytest.fixture(scope="module")
def multi() -> dict:
    return load_evidence(str(SAMPLES / "multi-node.tgz")).nodes


def test_broken_sample_profile(broken: dict) -> None:
    p = node_profile(broken)
    assert list(p) == list(PROFILE_KEYS)
    assert p["kubelet"] == "v1.28.7" and p["runtime"] == "containerd" and p["runtime_version"] == "1.7.13"
    assert p["kernel"] == "5.15.0-105-generic" and p["distro"] == "Ubuntu 22.04.4 LTS" and p["os"] == "linux"
    # the sample's real problem: kubelet on systemd, containerd's runc on cgroupfs
    assert p["cgroup_driver"] == "systemd" and p["runtime_cgroup_driver"] == "cgroupfs"
    assert p["cgroup_version"] == 2
    assert (p["primary_interface"], p["mtu"], p["cni_mtu"]) == ("ens3", 1500, 1450)
    assert p["swap_kb"] == 4194300
    assert p["net.ipv4.ip_forward"] == "1" and p["fs.inotify.max_user_instances"] == "8192"
    assert p["clock_synchronized"] is False and p["clock_offset_seconds"] is None
    # the expired kubelet client certificate is the earliest
    assert p["cert_expiry"] == "2026-11-20T09:14:00Z"
    assert p["cert_expiry_path"] == "/var/lib/kubelet/pki/kubelet-client-current.pem"
    assert p["cert_expiry_days"] == pytest.approx(-2.09)


def test_multi_node_windows_has_none_not_guesses(multi: dict) -> None:
    win = node_profile(multi["win-worker-1"])
    assert win["os"] == "windows" and win["kubelet"] == "v1.29.3"
    # Windows writes v1.7.13, Linux 1.7.13: the same version, not drift
    assert win["runtime_version"] == node_profile(multi["cp-1"])["runtime_version"] == "1.7.13"
    assert win["cni_mtu"] == 1450
    for key in ("cgroup_driver", "runtime_cgroup_driver", "cgroup_version", "mtu", "swap_kb", *KEY_SYSCTLS):
        assert win[key] is None, key
    worker = node_profile(multi["worker-1"])
    assert worker["net.ipv4.ip_forward"] == "0"   # the sample's broken worker
    assert node_profile(multi["cp-1"])["net.ipv4.ip_forward"] == "1"


def test_settings_flatten_kubelet_containerd_sysctl(broken: dict) -> None:
    s = node_settings(broken)
    assert s["kubelet_config.cgroupDriver"] == "systemd"
    assert s["kubelet_config.authentication.anonymous.enabled"] == "false"   # JSON text, not Python's False
    assert s["kubelet_config.clusterDNS"] == '["10.96.0.10"]'
    assert s["containerd_config.plugins.io.containerd.grpc.v1.cri.containerd.runtimes.runc.options.SystemdCgroup"] == "false"
    assert s["sysctl.net.ipv4.ip_forward"] == "1"
    assert s["kubelet_flags.container-runtime-endpoint"] == "unix:///var/run/containerd/containerd.sock"
    assert all(isinstance(v, str) for v in s.values())
    order = ["kubelet_config", "kubelet_flags", "containerd_config", "sysctl"]   # sources in a fixed order, keys sorted
    assert list(s) == sorted(s, key=lambda k: (order.index(k.split(".")[0]), k))
    assert node_settings(load_evidence(str(SAMPLES / "broken-windows-worker.tgz")).nodes["win-worker-1"]) == {}


def test_settings_are_bounded() -> None:
    facts = {
        "sysctl": {f"k.{i:06d}": str(i) for i in range(50_000)},
        "kubelet_config": {"long": "x" * 100_000, "deep": _nested(200)},
    }
    s = node_settings(facts)
    assert sum(k.startswith("sysctl.") for k in s) == MAX_SETTINGS_PER_SOURCE
    assert s["sysctl.k.000000"] == "0"
    assert len(s["kubelet_config.long"]) == MAX_SETTING_VALUE_CHARS + 1 and s["kubelet_config.long"].endswith("…")
    deep = [k for k in s if k.startswith("kubelet_config.deep")]
    assert len(deep) == 1 and deep[0].count(".") <= 13


def _nested(n: int) -> dict:
    d: dict = {"leaf": 1}
    for _ in range(n):
        d = {"a": d}
    return d


@pytest.mark.parametrize("facts", [
    {},
    {"versions": "v1", "sysctl": [1, 2], "routes": {"x": 1}, "interfaces": "eth0", "certs": [None, 3, {"not_after": None}],
     "kubeconfigs": [{"client_cert": "x"}], "swaps": [{"size_kb": "a lot"}], "cgroup_version": 7,
     "timesync": {"offset_seconds": True, "synchronized": "yes"}, "flannel_subnet": {"FLANNEL_MTU": "-1"},
     "kubelet_flags": {"cgroup-driver": ["systemd"]}, "containerd": {"systemd_cgroup": "true"}},
])
def test_odd_shapes_give_none_never_raise(facts: dict) -> None:
    p = node_profile(facts)
    assert list(p) == list(PROFILE_KEYS)
    assert p["cgroup_version"] is None and p["clock_offset_seconds"] is None and p["cert_expiry"] is None
    assert p["cni_mtu"] is None and p["runtime_cgroup_driver"] is None
    node_settings(facts)


def test_json_report_nodes_carry_profile_and_settings(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(SAMPLES / "multi-node.tgz"),
                           "-o", str(out), "--format", "json", "--quiet"], capture_output=True, text=True)
    assert proc.returncode in (1, 3), proc.stderr
    nodes = {n["name"]: n for n in json.loads(out.read_text())["nodes"]}
    assert nodes["worker-1"]["profile"]["net.ipv4.ip_forward"] == "0"
    assert nodes["cp-1"]["profile"]["kubelet"] == "v1.29.3"
    assert nodes["cp-1"]["settings"]["sysctl.net.ipv4.ip_forward"] == "1"
    assert nodes["win-worker-1"]["profile"]["mtu"] is None and nodes["win-worker-1"]["settings"] == {}
