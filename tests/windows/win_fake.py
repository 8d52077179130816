"""The recorded Windows node both fakes answer from: which k8s-bundle script a request carries
(by a marker in its text), its parameters, and the output recorded for it in a directory."""
from __future__ import annotations

import os
import re

MARKERS = [("K8sBundleHcn", "hcn", ("Kind",)), ("Get-HnsPolicyList |", "policylists", ()),
           ("hnsdiag.exe", "hnsdiag", ()), ("netsh int ipv4 show $What", "netsh", ("What", "Protocol")),
           ("K8sBundlePortReservation", "reservation", ()), ("Get-NetTCPConnection", "tcpconnections", ()),
           ("Win32_Service", "services", ()), ("First-Version", "versions", ()),
           ("Win32_OperatingSystem", "os", ()), ("Get-HotFix", "hotfixes", ()),
           ("switch ($What)", "network", ("What",)), ("Get-WinEvent", "eventlog", ("LogName",))]


def params(script: str) -> dict[str, str]:
    return {k: v.replace("''", "'") for k, v in re.findall(r"^\$(\w+) = '((?:[^']|'')*)'$", script, re.M)}


def recorded_name(script: str) -> str | None:
    p = params(script)
    for marker, name, keys in MARKERS:
        if marker in script:
            return "-".join([name] + [p.get(k, "") for k in keys]) + ".txt"
    return None


def recorded_output(script: str, directory: str) -> bytes | None:
    name = recorded_name(script)
    if name is None:
        return None
    path = os.path.join(directory, name)
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        return f.read()
