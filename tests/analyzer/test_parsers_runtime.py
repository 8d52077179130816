"""Runtime parsers: docker info (JSON and text), docker unit files, crictl, containerd config."""
from __future__ import annotations

from k8s_bundle.analyzer.parsers import FinalizeContext, runtime

DOCKER_INFO_TEXT = """\
Client:
 Context:    default
 Debug Mode: false
 Plugins:
  buildx: Docker Buildx (Docker Inc.)

Server:
 Containers: 23
  Running: 20
  Paused: 0
  Stopped: 3
 Images: 15
 Server Version: 20.10.21
 Storage Driver: overlay2
  Backing Filesystem: extfs
  Supports d_type: true
 Logging Driver: json-file
 Cgroup Driver: cgroupfs
 Cgroup Version: 1
 Kernel Version: 3.10.0-1160.el7.x86_64
 Operating System: CentOS Linux 7 (Core)
 CPUs: 4
 Total Memory: 7.62GiB
 Docker Root Dir: /var/lib/docker
 Insecure Registries:
  harbor.corp.example:5000
  127.0.0.0/8
 Registry Mirrors:
  https://mirror.corp.example/
 Live Restore Enabled: false

WARNING: bridge-nf-call-iptables is disabled
WARNING: bridge-nf-call-ip6tables is disabled
"""


def test_docker_info_text_normalised_to_json_keys() -> None:
    out = runtime.parse_docker_info(DOCKER_INFO_TEXT)
    assert out["ServerVersion"] == "20.10.21" and out["Driver"] == "overlay2"
    assert out["CgroupDriver"] == "cgroupfs" and out["CgroupVersion"] == "1"
    assert out["DockerRootDir"] == "/var/lib/docker"
    assert out["Containers"] == 23 and out["ContainersRunning"] == 20 and out["NCPU"] == 4
    assert out["InsecureRegistries"] == ["harbor.corp.example:5000", "127.0.0.0/8"]
    assert out["RegistryMirrors"] == ["https://mirror.corp.example/"]
    assert out["LiveRestoreEnabled"] is False
    assert out["Warnings"] == ["bridge-nf-call-iptables is disabled", "bridge-nf-call-ip6tables is disabled"]
    assert "Context" not in out     # client section skipped


def test_docker_info_json_and_daemon_down() -> None:
    out = runtime.parse_docker_info('{"ServerVersion":"24.0.7","CgroupDriver":"systemd","Driver":"overlay2",'
                                    '"Warnings":null}')
    assert out["CgroupDriver"] == "systemd"
    down = runtime.parse_docker_info("Client:\n Context:    default\n\nServer:\nERROR: Cannot connect to the Docker "
                                     "daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n")
    assert down["ServerErrors"][0].startswith("Cannot connect to the Docker daemon")


def test_docker_unit_and_dropin() -> None:
    vendor = runtime.parse_docker_unit_vendor(
        "[Unit]\nDescription=Docker Application Container Engine\n[Service]\nType=notify\n"
        "ExecStart=/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock\nMountFlags=slave\n")
    assert vendor["mount_flags"] == "slave" and vendor["cgroup_driver"] is None
    dropin = runtime.parse_docker_dropin(
        '[Service]\nEnvironment="HTTP_PROXY=http://proxy:3128" "NO_PROXY=10.0.0.0/8"\nExecStart=\n'
        "ExecStart=/usr/bin/dockerd \\\n  --exec-opt native.cgroupdriver=systemd\n")
    assert dropin["exec_start"].split() == ["/usr/bin/dockerd", "--exec-opt", "native.cgroupdriver=systemd"]
    assert dropin["cgroup_driver"] == "systemd"
    assert dropin["environment"] == {"HTTP_PROXY": "http://proxy:3128", "NO_PROXY": "10.0.0.0/8"}


CONFIG_V2 = """\
version = 2
root = "/var/lib/containerd"
[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "registry.k8s.io/pause:3.6"
    [plugins."io.containerd.grpc.v1.cri".containerd]
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          SystemdCgroup = false
"""

DOCKER_PACKAGED = """\
#   Copyright 2018-2022 Docker Inc.
disabled_plugins = ["cri"]
#root = "/var/lib/containerd"
"""


def _summary(cfg: dict) -> dict:
    node = {"containerd_config": cfg}
    runtime.containerd_summary(node, FinalizeContext("n", {}, {}, []))
    return node["containerd"]


def test_containerd_v2_config() -> None:
    s = _summary(runtime.parse_containerd_config(CONFIG_V2))
    assert s["config_version"] == 2 and s["systemd_cgroup"] is False
    assert s["sandbox_image"] == "registry.k8s.io/pause:3.6" and s["cri_disabled"] is False


def test_containerd_packaged_by_docker_disables_cri() -> None:
    s = _summary(runtime.parse_containerd_config(DOCKER_PACKAGED))
    assert s["cri_disabled"] is True and s["config_version"] == 1 and s["systemd_cgroup"] is None


def test_containerd_v3_and_v1() -> None:
    v3 = ('version = 3\n[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]\nSystemdCgroup = true\n'
          '[plugins."io.containerd.cri.v1.images".pinned_images]\nsandbox = "registry.k8s.io/pause:3.10"\n')
    s = _summary(runtime.parse_containerd_config(v3))
    assert s["systemd_cgroup"] is True and s["sandbox_image"] == "registry.k8s.io/pause:3.10"
    v1 = '[plugins.cri]\n  systemd_cgroup = true\n  sandbox_image = "k8s.gcr.io/pause:3.2"\n'
    s = _summary(runtime.parse_containerd_config(v1))
    assert s["config_version"] == 1 and s["systemd_cgroup"] is True


def test_crictl_json_passthrough() -> None:
    from k8s_bundle.analyzer.parsers import registry

    spec = next(s for s in registry().match("node", "commands/crictl-ps.json") if s.fact == "crictl_ps")
    out = spec.run('{"containers": [{"id": "abc", "state": "CONTAINER_EXITED", "metadata": {"name": "etcd"}}]}',
                   "commands/crictl-ps.json")
    assert out["containers"][0]["state"] == "CONTAINER_EXITED"


def test_crio_config_and_docker_info_priority(tmp_path) -> None:
    from k8s_bundle.analyzer.evidence import load_evidence
    from k8s_bundle.bundle.writer import BundleWriter

    crio = runtime.parse_crio_config('[crio.runtime]\ncgroup_manager = "cgroupfs"\nconmon_cgroup = "pod"\n')
    assert crio["crio"]["runtime"]["cgroup_manager"] == "cgroupfs"
    path = tmp_path / "b.tgz"
    with BundleWriter(path, "k8s-bundle-n1-20261122T113000Z") as w:
        w.add_bytes("nodes/n1/commands/docker-info.json", b'{"CgroupDriver": "systemd", "ServerVersion": "24.0.7"}')
        w.add_bytes("nodes/n1/commands/docker-info-text.txt", DOCKER_INFO_TEXT.encode())
        w.finish({"format_version": "1.0", "nodes": [{"name": "n1"}], "items": []})
    assert load_evidence(str(path)).nodes["n1"]["docker_info"]["CgroupDriver"] == "systemd"
