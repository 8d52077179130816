"""Kubernetes node parsers: kubelet config/flags, kubeconfigs, certs, static pods, CNI, systemd, cluster."""
from __future__ import annotations

import pytest

from k8s_bundle.analyzer.parsers import FinalizeContext, cluster, kubernetes, systemd

KUBELET_CONFIG = """\
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
clusterDNS:
- 10.96.0.10
failSwapOn: true
evictionHard:
  imagefs.available: 15%
  nodefs.available: "10%"
"""


def test_kubelet_config() -> None:
    out = kubernetes.parse_kubelet_config(KUBELET_CONFIG)
    assert out["cgroupDriver"] == "systemd" and out["clusterDNS"] == ["10.96.0.10"] and out["failSwapOn"] is True


def test_yaml_aliases_are_refused() -> None:
    with pytest.raises(Exception, match="aliases"):
        kubernetes.parse_kubelet_config("a: &x [1, 2]\nb: *x\n")


def test_kubelet_flags_from_each_source() -> None:
    assert kubernetes.parse_kubeadm_flags(
        'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock '
        '--pod-infra-container-image=registry.k8s.io/pause:3.9"\n') == {
        "container-runtime-endpoint": "unix:///var/run/containerd/containerd.sock",
        "pod-infra-container-image": "registry.k8s.io/pause:3.9"}
    assert kubernetes.parse_kubelet_env_file("KUBELET_EXTRA_ARGS=--node-ip=192.168.1.10 --fail-swap-on=false\n") == {
        "node-ip": "192.168.1.10", "fail-swap-on": "false"}
    dropin = kubernetes.parse_kubelet_unit(
        "# Note: This dropin only works with kubeadm and kubelet v1.11+\n[Service]\n"
        'Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf '
        '--kubeconfig=/etc/kubernetes/kubelet.conf"\n'
        'Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"\n'
        "EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env\nExecStart=\n"
        "ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS --v=2\n")
    assert dropin == {"bootstrap-kubeconfig": "/etc/kubernetes/bootstrap-kubelet.conf",
                      "kubeconfig": "/etc/kubernetes/kubelet.conf", "config": "/var/lib/kubelet/config.yaml", "v": "2"}
    argv = kubernetes.parse_kubelet_cmdline("/usr/bin/kubelet\n--config=/var/lib/kubelet/config.yaml\n"
                                            "--cgroup-driver\ncgroupfs\n--register-node\n")
    assert argv == {"config": "/var/lib/kubelet/config.yaml", "cgroup-driver": "cgroupfs", "register-node": "true"}


ADMIN_CONF = """\
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: <redacted:cert subject="CN=kubernetes" issuer="CN=kubernetes" not_before="2025-11-20T00:00:00Z" not_after="2035-11-18T00:00:00Z" sha256="ab:cd">
    server: https://192.168.1.10:6443
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: kubernetes-admin
  name: kubernetes-admin@kubernetes
current-context: kubernetes-admin@kubernetes
kind: Config
preferences: {}
users:
- name: kubernetes-admin
  user:
    client-certificate-data: <redacted:cert subject="O=system:masters, CN=kubernetes-admin" issuer="CN=kubernetes" not_before="2025-11-20T00:00:00Z" not_after="2026-11-20T00:00:00Z" sha256="12:34">
    client-key-data: <redacted:pem-private-key:1a2b3c>
"""

KUBELET_CONF = """\
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: <redacted:cert subject="CN=kubernetes" issuer="CN=kubernetes" not_after="2035-11-18T00:00:00Z" sha256="ab:cd">
    server: https://lb.corp.example:8443
  name: default-cluster
contexts:
- context:
    cluster: default-cluster
    namespace: default
    user: default-auth
  name: default-context
current-context: default-context
kind: Config
users:
- name: default-auth
  user:
    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem
    client-key: /var/lib/kubelet/pki/kubelet-client-current.pem
"""


def test_kubeconfig_with_redacted_embedded_certs() -> None:
    out = kubernetes.parse_kubeconfig(ADMIN_CONF, "files/etc/kubernetes/admin.conf")
    assert out["path"] == "/etc/kubernetes/admin.conf"
    assert out["server"] == "https://192.168.1.10:6443" and out["server_host"] == "192.168.1.10"
    assert out["user_auth"] == ["client-cert"]
    assert out["client_cert"]["subject"] == "O=system:masters, CN=kubernetes-admin"
    assert out["client_cert"]["not_after"] == "2026-11-20T00:00:00Z"
    assert out["ca"]["subject"] == "CN=kubernetes" and out["client_cert_file"] is None


def test_kubeconfig_with_file_references_and_days_left() -> None:
    kc = kubernetes.parse_kubeconfig(KUBELET_CONF, "files/etc/kubernetes/kubelet.conf")
    assert kc["server_host"] == "lb.corp.example"
    assert kc["client_cert_file"] == "/var/lib/kubelet/pki/kubelet-client-current.pem" and kc["client_cert"] is None
    admin = kubernetes.parse_kubeconfig(ADMIN_CONF, "files/etc/kubernetes/admin.conf")
    node = {"kubeconfigs": [kc, admin],
            "certs": kubernetes.parse_certs_json('{"certificates": [{"path": "/etc/kubernetes/pki/apiserver.crt", '
                                                 '"not_after": "2026-11-12T11:30:00Z", "subject": "CN=kube-apiserver"}]}')}
    kubernetes.certificate_days_left(node, FinalizeContext("cp1", {}, {"created_at": "2026-11-22T11:30:00Z"}, []))
    assert node["certs"][0]["days_left"] == -10.0
    assert admin["client_cert"]["days_left"] == pytest.approx(-2.48, abs=0.01)


def test_other_conf_files_are_not_kubeconfigs() -> None:
    assert kubernetes.parse_kubeconfig("nameserver 1.1.1.1\n", "files/etc/resolv.conf") is None


STATIC_POD = """\
apiVersion: v1
kind: Pod
metadata:
  labels: {component: kube-apiserver, tier: control-plane}
  name: kube-apiserver
  namespace: kube-system
spec:
  containers:
  - command:
    - kube-apiserver
    - --advertise-address=192.168.1.10
    - --etcd-servers=https://127.0.0.1:2379
    - --service-cluster-ip-range=10.96.0.0/12
    image: registry.k8s.io/kube-apiserver:v1.29.3
    name: kube-apiserver
  hostNetwork: true
"""


def test_static_pod() -> None:
    out = kubernetes.parse_static_pod(STATIC_POD, "files/etc/kubernetes/manifests/kube-apiserver.yaml")
    assert out == [{
        "name": "kube-apiserver", "path": "/etc/kubernetes/manifests/kube-apiserver.yaml",
        "image": "registry.k8s.io/kube-apiserver:v1.29.3",
        "command": ["kube-apiserver", "--advertise-address=192.168.1.10", "--etcd-servers=https://127.0.0.1:2379",
                    "--service-cluster-ip-range=10.96.0.0/12"],
        "args": [], "flags": {"advertise-address": "192.168.1.10", "etcd-servers": "https://127.0.0.1:2379",
                              "service-cluster-ip-range": "10.96.0.0/12"},
        "host_network": True, "containers": [{"name": "kube-apiserver", "image": "registry.k8s.io/kube-apiserver:v1.29.3"}]}]


def test_cni_conflist_conf_and_bin() -> None:
    flannel = kubernetes.parse_cni_config(
        '{"name": "cbr0", "cniVersion": "0.3.1", "plugins": [{"type": "flannel", "delegate": {"hairpinMode": true, '
        '"isDefaultGateway": true}}, {"type": "portmap", "capabilities": {"portMappings": true}}]}',
        "files/etc/cni/net.d/10-flannel.conflist")
    assert flannel["type"] == "flannel" and flannel["plugins"] == ["flannel", "portmap"]
    assert flannel["capabilities"] == {"portMappings": True} and flannel["path"] == "/etc/cni/net.d/10-flannel.conflist"
    calico = kubernetes.parse_cni_config('{"name": "k8s-pod-network", "type": "calico", "cniVersion": "0.3.1"}',
                                         "files/etc/cni/net.d/10-calico.conf")
    assert calico["plugins"] == ["calico"]
    assert kubernetes.parse_cni_bin("bandwidth\nbridge\nflannel\nhost-local\nloopback\nportmap\n")[2] == "flannel"
    assert kubernetes.parse_cni_bin("total 4\n-rwxr-xr-x 1 root root 3 Nov 1 00:00 loopback\n") == ["loopback"]


def test_flannel_subnet_env() -> None:
    assert kubernetes.parse_flannel_subnet("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\n"
                                           "FLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n")["FLANNEL_SUBNET"] == "10.244.1.1/24"


def test_systemd_failed_status_show() -> None:
    failed = systemd.parse_systemctl_failed("\u25cf kubelet.service loaded failed failed kubelet: The Kubernetes Node Agent\n"
                                            "  docker.socket   loaded failed failed Docker Socket for the API\n")
    assert failed == {"failed": ["kubelet.service", "docker.socket"]}
    status = systemd.parse_systemctl_status(
        "\u25cf kubelet.service - kubelet: The Kubernetes Node Agent\n"
        "     Loaded: loaded (/lib/systemd/system/kubelet.service; enabled; vendor preset: enabled)\n"
        "    Drop-In: /etc/systemd/system/kubelet.service.d\n             \u2514\u250010-kubeadm.conf\n"
        "     Active: activating (auto-restart) (Result: exit-code) since Sun 2026-11-22 11:29:51 CST; 4s ago\n"
        "       Docs: https://kubernetes.io/docs/home/\n"
        "    Process: 12345 ExecStart=/usr/bin/kubelet (code=exited, status=1/FAILURE)\n"
        "   Main PID: 12345 (code=exited, status=1/FAILURE)\n", "commands/systemctl-status-kubelet.txt")
    assert status == {"units": {"kubelet": {"unit": "kubelet.service", "load": "loaded", "enabled": "enabled",
                                            "active": "activating", "sub": "auto-restart", "result": "exit-code",
                                            "active_since": "Sun 2026-11-22 11:29:51 CST", "main_pid": 12345,
                                            "exit_status": 1}}}
    show = systemd.parse_systemctl_show("Id=kubelet.service\nActiveState=failed\nSubState=failed\nNRestarts=42\n"
                                        "UnitFileState=enabled\n", "commands/systemctl-show-kubelet.txt")
    assert show["units"]["kubelet"]["restarts"] == 42 and show["units"]["kubelet"]["active"] == "failed"


def test_systemd_unit_not_found() -> None:
    out = systemd.parse_systemctl_status("Unit docker.service could not be found.\n", "commands/systemctl-status-docker.txt")
    assert out == {"units": {"docker": {"load": "not-found"}}}


def test_cluster_list() -> None:
    assert cluster.parse_cluster_list('{"kind": "NodeList", "apiVersion": "v1", "items": [{"metadata": {"name": "cp1"}}]}') \
        == [{"metadata": {"name": "cp1"}}]
    with pytest.raises(ValueError):
        cluster.parse_cluster_list('{"kind": "Status", "message": "forbidden"}')


def test_oversized_config_is_a_parse_error_not_a_long_wait() -> None:
    from k8s_bundle.analyzer.parsers._util import MAX_CONFIG_CHARS

    with pytest.raises(ValueError, match="larger than"):
        kubernetes.parse_kubelet_config("a: b\n" * (MAX_CONFIG_CHARS // 5 + 1))
