"""A Microsoft collectlogs.ps1 output folder, as Windows PowerShell 5.1 writes it (UTF-16LE with
BOM, CRLF, table-then-JSON), read by `analyze` as one Windows node."""
from __future__ import annotations

import json
import os

import pytest

from win_samples import windows_rules
from k8s_bundle.analyzer.evidence import load_evidence
from win_samples import (NETSH_DYNAMIC_TCP_EN, NETSH_EXCLUDED_TCP_EN, RESERVED_CURRENT_FAIL, RESERVED_OLD_OK,
                         hns_endpoint_v1, hns_lb_v2, hns_network_v1, hns_policylist_v1, to_json, utf16_bom)

TABLE_NET = ("\nName Type     Id                                   AddressPrefix\n"
             "---- ----     --                                   -------------\n"
             "cbr0 L2Bridge 3A5C1D9E-1111-4000-8000-00000000CB00 {10.244.4.0/24}\n\n")
TABLE_EP = ("\nIpAddress   MacAddress        IsRemoteEndpoint State\n"
            "---------   ----------        ---------------- -----\n10.244.4.11 00-15-5D-00-00-01                  3\n\n")
WINVER = ("Microsoft Windows NT 10.0.17763.0\n\n\n\nSource        Description      HotFixID      InstalledBy          InstalledOn\n"
          "------        -----------      --------      -----------          -----------\n"
          "WIN-NODE1     Update           KB4551853     NT AUTHORITY\\SYSTEM  5/12/2020 12:00:00 AM\n")


def make_folder(root, policy: str, reserved: str, name: str = "4fq2xk1d.abc"):
    folder = root / name
    folder.mkdir()
    udp = NETSH_DYNAMIC_TCP_EN.replace("tcp", "udp")
    files = {
        "network.txt": TABLE_NET + to_json([hns_network_v1()]),
        "endpoint.txt": TABLE_EP + to_json([hns_endpoint_v1(1), hns_endpoint_v1(2, remote=True)]),
        "policy.txt": policy,
        "dynamicportrange.txt": NETSH_DYNAMIC_TCP_EN + udp,
        "excludedportrange.txt": NETSH_EXCLUDED_TCP_EN + NETSH_EXCLUDED_TCP_EN.replace("tcp", "udp"),
        "reservedports.txt": reserved,
        "winver.txt": WINVER,
        "ip.txt": "\nWindows IP Configuration\n",
    }
    for fname, text in files.items():
        (folder / fname).write_bytes(utf16_bom(text))
    (folder / "vfpOutput.txt").write_bytes(b"\xff\xfe")
    return folder


def test_collectlogs_v1_policy_old_reservation(tmp_path):
    policies = to_json([hns_policylist_v1(i) for i in range(130)])
    folder = make_folder(tmp_path, policies, RESERVED_OLD_OK)
    ev = load_evidence(str(folder))
    assert list(ev.nodes) == ["4fq2xk1d.abc"]
    node = ev.nodes["4fq2xk1d.abc"]
    win = node["windows"]
    assert win["hns"]["networks"][0]["name"] == "cbr0" and win["hns"]["local_endpoints"] == 1
    assert win["load_balancers"] == {"total": 130, "dsr": 0, "non_dsr": 130, "source": "hns-policylists (V1)"}
    assert win["dynamic_ports"]["tcp"]["count"] == 16384 and win["dynamic_ports"]["udp"]["start"] == 49152
    assert len(win["excluded_ports"]["udp"]) == 4
    assert win["reservation"]["ok"] is True and win["reservation"]["form"] == "old"
    assert win["hotfixes"] == ["KB4551853"] and win["os"]["build"] == 17763
    assert node["os"] == "windows"
    assert not [p for p in ev.problems if p.kind == "parse-error"]


def test_collectlogs_v2_policy_current_reservation_fires_port_exhaustion(tmp_path):
    from k8s_bundle.analyzer.evaluate import evaluate, load_rules

    policies = to_json([hns_lb_v2(i) for i in range(150)])
    folder = make_folder(tmp_path, policies, RESERVED_CURRENT_FAIL)
    ev = load_evidence(str(folder))
    win = next(iter(ev.nodes.values()))["windows"]
    assert win["load_balancers"]["non_dsr"] == 150
    assert win["reservation"] == {"ranges_reserved": 2, "ranges_requested": 10, "range_size": 64, "ok": False,
                                  "estimate": 2, "form": "current"}
    findings = [f for f in evaluate(windows_rules(), ev) if f.rule_id == "win-ephemeral-port-exhaustion"]
    assert findings and any("reserved 2 of 10" in line for line in findings[0].fact_lines)


def test_not_a_collectlogs_folder_is_still_refused(tmp_path):
    from k8s_bundle.errors import UserError

    (tmp_path / "network.txt").write_text("x")
    with pytest.raises(UserError, match="directory without manifest.json"):
        load_evidence(str(tmp_path))


def test_symlink_in_collectlogs_folder_is_refused(tmp_path):
    folder = make_folder(tmp_path, "[]", RESERVED_OLD_OK)
    secret = tmp_path / "secret.txt"
    secret.write_text("Successfully reserved 10 ranges of 64 ports")
    os.unlink(folder / "reservedports.txt")
    os.symlink(secret, folder / "reservedports.txt")
    ev = load_evidence(str(folder))
    assert "reservation" not in next(iter(ev.nodes.values()))["windows"]
    assert any("not a regular file" in p.message for p in ev.problems)


def test_hostile_json_in_collectlogs_folder_is_a_problem_not_a_crash(tmp_path):
    folder = make_folder(tmp_path, "[" * 100000 + "]" * 100000, RESERVED_OLD_OK)
    (folder / "network.txt").write_bytes(utf16_bom("Name\n----\n{\"a\": " + "[" * 50000))
    ev = load_evidence(str(folder))
    assert any("network.txt" in p.message for p in ev.problems)
    assert next(iter(ev.nodes.values()))["windows"]["reservation"]["ok"] is True
