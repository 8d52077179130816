"""Container runtime facts: docker info and unit files, crictl, containerd config."""
from __future__ import annotations

import re
from typing import Any

from k8s_bundle.analyzer.parsers import FinalizeContext, finalizer, get_fact, parser
from k8s_bundle.bundle.specs import S
from k8s_bundle.analyzer.parsers._util import load_json, load_toml, parse_flags, split_words, unit_file

# `docker info` text labels whose JSON key is not the label without spaces.
_DOCKER_TEXT_KEYS = {"StorageDriver": "Driver", "Running": "ContainersRunning", "Paused": "ContainersPaused",
                     "Stopped": "ContainersStopped", "TotalMemory": "MemTotal", "CPUs": "NCPU",
                     "Name": "Name", "ID": "ID", "DockerRootDir": "DockerRootDir",
                     "InsecureRegistries": "InsecureRegistries", "RegistryMirrors": "RegistryMirrors",
                     "Architecture": "Architecture", "KernelVersion": "KernelVersion"}
_DOCKER_INT_KEYS = {"Containers", "ContainersRunning", "ContainersPaused", "ContainersStopped", "Images", "NCPU"}


@parser(S.docker_info_text, fact="docker_info", priority=0)
@parser(S.docker_info, S.docker_info_txt, fact="docker_info", priority=1)
def parse_docker_info(text: str) -> dict[str, Any]:
    """`docker info --format '{{json .}}'`, or the text form normalised to the same keys
    (the JSON output wins when both were collected and parse)."""
    body = text.strip()
    if body.startswith("{"):
        doc = load_json(body)
        if not isinstance(doc, dict):
            raise ValueError("docker info JSON is not an object")
        return doc
    return _docker_info_text(text)


def _docker_info_text(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    section = ""
    list_key: str | None = None
    list_indent = 0
    warnings: list[str] = []
    errors: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("WARNING:"):
            warnings.append(line[len("WARNING:"):].strip())
            continue
        if line.startswith(("ERROR:", "Cannot connect", "error during connect")):
            errors.append(line.removeprefix("ERROR:").strip())
            continue
        indent = len(line) - len(line.lstrip())
        if indent == 0 and line.rstrip().endswith(":"):
            section = line.strip()[:-1]
            list_key = None
            continue
        if section == "Client":
            continue
        stripped = line.strip()
        label, sep, value = stripped.partition(":")
        if list_key and indent > list_indent and ": " not in stripped and not stripped.endswith(":"):
            out[list_key].append(stripped)   # an item under `Insecure Registries:` and the like
            continue
        if not sep:
            continue
        key = label.replace(" ", "").replace("-", "")
        key = _DOCKER_TEXT_KEYS.get(key, key)
        value = value.strip()
        if not value:
            list_key, list_indent = key, indent
            out[key] = []
            continue
        list_key = None
        if key in _DOCKER_INT_KEYS and value.isdigit():
            out[key] = int(value)
        elif value in ("true", "false"):
            out[key] = value == "true"
        else:
            out[key] = value
    if warnings:
        out["Warnings"] = warnings
    if errors:
        out["ServerErrors"] = errors
    if not out:
        raise ValueError("no `Key: value` lines in docker info output")
    return out


@parser(S.docker_unit_vendor, fact="docker_service", merge="dict", priority=0)
def parse_docker_unit_vendor(text: str) -> dict[str, Any]:
    return _docker_unit(text)


@parser(S.docker_unit_local, fact="docker_service", merge="dict", priority=1)
def parse_docker_unit_local(text: str) -> dict[str, Any]:
    return _docker_unit(text)


@parser(S.docker_dropins, fact="docker_service", merge="dict", priority=2)
def parse_docker_dropin(text: str) -> dict[str, Any]:
    return _docker_unit(text)


def _docker_unit(text: str) -> dict[str, Any]:
    """`{mount_flags, exec_start, cgroup_driver, environment}` as far as this file sets them
    (a later file or drop-in overrides; an empty `ExecStart=` resets the command)."""
    out: dict[str, Any] = {}
    env: dict[str, str] = {}
    for section, key, value in unit_file(text):
        if section != "Service":
            continue
        if key == "MountFlags":
            out["mount_flags"] = value
        elif key == "ExecStart":
            out["exec_start"] = value or None
        elif key == "Environment":
            for word in split_words(value):
                name, _, val = word.partition("=")
                env[name] = val
    if env:
        out["environment"] = env
    if out.get("exec_start"):
        flags = parse_flags(split_words(out["exec_start"]))
        opt = flags.get("exec-opt", "")
        m = re.search(r"native\.cgroupdriver=(\w+)", out["exec_start"])
        out["cgroup_driver"] = m[1] if m else (opt.split("=", 1)[1] if "cgroupdriver" in opt else None)
    return out


@parser(S.docker_daemon_json, fact="docker_daemon_json")
def parse_docker_daemon_json(text: str) -> dict[str, Any]:
    doc = load_json(text)
    if not isinstance(doc, dict):
        raise ValueError("daemon.json is not a JSON object")
    return doc


def _json_object(text: str) -> Any:
    doc = load_json(text)
    if not isinstance(doc, (dict, list)):
        raise ValueError("not a JSON object")
    return doc


for _spec, _fact in ((S.crictl_info, "crictl_info"), (S.crictl_ps, "crictl_ps"), (S.crictl_pods, "crictl_pods"),
                     (S.crictl_images, "crictl_images"), (S.crictl_version, "crictl_version"),
                     (S.crictl_stats, "crictl_stats")):
    parser(_spec, fact=_fact)(_json_object)


@parser(S.containerd_config, fact="containerd_config", priority=0)
def parse_containerd_config(text: str) -> dict[str, Any]:
    return load_toml(text)


@parser(S.containerd_config_dump, fact="containerd_config", priority=1)
def parse_containerd_dump(text: str) -> dict[str, Any]:
    """`containerd config dump` (the effective configuration: preferred over config.toml)."""
    return load_toml(text)


@parser(S.crio_conf, fact="crio_config", priority=0)
@parser(S.crio_config, fact="crio_config", priority=1)
def parse_crio_config(text: str) -> dict[str, Any]:
    """CRI-O's TOML (`crio config` is the effective one): `crio.runtime.cgroup_manager`, ..."""
    return load_toml(text)


_CRI_V2 = "io.containerd.grpc.v1.cri"
_CRI_V3_RUNTIME = "io.containerd.cri.v1.runtime"
_CRI_V3_IMAGES = "io.containerd.cri.v1.images"


@finalizer(order=0)
def containerd_summary(node: dict[str, Any], ctx: FinalizeContext) -> None:
    """node.containerd: `config_version`, `systemd_cgroup` (runc SystemdCgroup, or the v1
    `systemd_cgroup`), `sandbox_image`, `cri_disabled` (docker's packaged config disables it)."""
    cfg = node.get("containerd_config")
    if not isinstance(cfg, dict):
        return
    version = cfg.get("version")
    version = version if isinstance(version, int) else 1
    plugins = cfg.get("plugins") if isinstance(cfg.get("plugins"), dict) else {}
    if version >= 3:
        runtime = plugins.get(_CRI_V3_RUNTIME, {})
        systemd = get_fact(runtime, "containerd.runtimes.runc.options.SystemdCgroup")
        sandbox = get_fact(plugins.get(_CRI_V3_IMAGES, {}), "pinned_images.sandbox")
    elif version == 2:
        cri = plugins.get(_CRI_V2, {})
        systemd = get_fact(cri, "containerd.runtimes.runc.options.SystemdCgroup")
        if systemd is None:
            systemd = cri.get("systemd_cgroup")
        sandbox = cri.get("sandbox_image")
    else:
        cri = plugins.get("cri", {})
        systemd = cri.get("systemd_cgroup")
        if systemd is None:
            systemd = get_fact(cri, "containerd.runtimes.runc.options.SystemdCgroup")
        sandbox = cri.get("sandbox_image")
    disabled = cfg.get("disabled_plugins") if isinstance(cfg.get("disabled_plugins"), list) else []
    node["containerd"] = {
        "config_version": version,
        "systemd_cgroup": systemd if isinstance(systemd, bool) else None,
        "sandbox_image": sandbox if isinstance(sandbox, str) else None,
        "cri_disabled": any(p in ("cri", _CRI_V2) for p in disabled),
        "disabled_plugins": disabled,
    }
