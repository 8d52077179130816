"""Windows parsers on recorded-style outputs in every variant the collector or collectlogs.ps1
produces: UTF-16LE+BOM (PowerShell 5.1) and UTF-8 (7), CRLF, one object vs array, English and
localized netsh, HNS V1 and V2, the old and current reservation test forms."""
from __future__ import annotations

import json

import pytest

from k8s_bundle.analyzer.decode import decode_text
from k8s_bundle.analyzer.parsers import windows_hns as hns
from k8s_bundle.analyzer.parsers import windows_host as host
from k8s_bundle.analyzer.parsers import windows_ports as ports

from win_samples import (  # noqa: E402
    NETSH_DYNAMIC_TCP_DE, NETSH_DYNAMIC_TCP_EN, NETSH_DYNAMIC_TCP_ZH, NETSH_EXCLUDED_TCP_DE_EMPTY,
    NETSH_EXCLUDED_TCP_EN, RESERVED_CURRENT_FAIL, RESERVED_CURRENT_NONE, RESERVED_OLD_FAIL,
    RESERVED_OLD_OK, hns_endpoint_v1, hns_endpoint_v2, hns_lb_v2, hns_network_v1, hns_network_v2,
    hns_policylist_v1, to_json, utf16_bom, utf8_crlf,
)

ENCODINGS = [pytest.param(utf16_bom, id="ps51-utf16le-bom-crlf"), pytest.param(utf8_crlf, id="ps7-utf8-crlf"),
             pytest.param(lambda t: t.encode(), id="utf8-lf")]


@pytest.mark.parametrize("encode", ENCODINGS)
@pytest.mark.parametrize("text,start,count", [
    (NETSH_DYNAMIC_TCP_EN, 49152, 16384), (NETSH_DYNAMIC_TCP_DE, 49152, 16384), (NETSH_DYNAMIC_TCP_ZH, 10000, 5000),
])
def test_dynamic_range_numbers_not_labels(encode, text, start, count):
    value = ports.parse_dynamic_range(decode_text(encode(text)), "tcp")
    assert value == {"start": start, "count": count, "end": start + count - 1}


def test_dynamic_range_without_numbers_is_an_error():
    with pytest.raises(ValueError):
        ports.parse_dynamic_range("The requested operation requires elevation (Run as administrator).\n")


@pytest.mark.parametrize("encode", ENCODINGS)
def test_excluded_ranges_with_administered_mark(encode):
    ranges = ports.parse_excluded_ranges(decode_text(encode(NETSH_EXCLUDED_TCP_EN)), "tcp")
    assert ranges == [
        {"start": 5357, "end": 5357, "administered": False},
        {"start": 49700, "end": 50211, "administered": False},
        {"start": 50212, "end": 50723, "administered": False},
        {"start": 50000, "end": 50059, "administered": True},
    ]


def test_excluded_ranges_empty_localized_table():
    assert ports.parse_excluded_ranges(decode_text(utf16_bom(NETSH_EXCLUDED_TCP_DE_EMPTY)), "tcp") == []


def test_collectlogs_concatenated_tcp_and_udp_sections():
    udp = NETSH_DYNAMIC_TCP_EN.replace("tcp", "udp").replace("49152", "50000").replace("16384", "1000")
    both = ports.parse_dynamic_ranges_all(decode_text(utf16_bom(NETSH_DYNAMIC_TCP_EN + udp)))
    assert both["tcp"]["count"] == 16384 and both["udp"] == {"start": 50000, "count": 1000, "end": 50999}
    excl = ports.parse_excluded_ranges_all(NETSH_EXCLUDED_TCP_EN + NETSH_EXCLUDED_TCP_EN.replace("tcp", "udp").replace("5357", "3702"))
    assert len(excl["tcp"]) == 4 and excl["udp"][0]["start"] == 3702


def test_excluded_in_range_counts_overlaps_once():
    excl = ports.parse_excluded_ranges(NETSH_EXCLUDED_TCP_EN)
    # 49700-50723 (1024 ports) contains the administered 50000-50059; 5357 is outside
    assert ports.excluded_in_range(excl, {"start": 49152, "count": 16384, "end": 65535}) == 1024


@pytest.mark.parametrize("text,reserved,ok,estimate,form", [
    (RESERVED_OLD_OK, 10, True, None, "old"),
    (RESERVED_OLD_FAIL, 3, False, None, "old"),
    (RESERVED_CURRENT_FAIL, 2, False, 2, "current"),
    (RESERVED_CURRENT_NONE, 0, False, 0, "current"),
])
def test_reservation_old_and_current_forms(text, reserved, ok, estimate, form):
    value = ports.parse_reservation(decode_text(utf16_bom(text)))
    assert (value["ranges_reserved"], value["ok"], value["estimate"], value["form"]) == (reserved, ok, estimate, form)
    assert value["ranges_requested"] == 10


def test_reservation_garbage_is_an_error():
    with pytest.raises(ValueError):
        ports.parse_reservation("Add-Type : Cannot add type. Compilation errors occurred.\n")


def test_tcp_connections_counts():
    rows = [{"State": "Established", "ProcessName": "kube-proxy", "Count": 900, "InDynamicRange": 850},
            {"State": "TimeWait", "ProcessName": "System", "Count": 300, "InDynamicRange": 300},
            {"State": "Established", "ProcessName": "kubelet", "Count": 20, "InDynamicRange": 5}]
    value = ports.parse_tcp_connections(decode_text(utf16_bom(json.dumps(rows))))
    assert value["total"] == 1220 and value["in_dynamic_range"] == 1155
    assert value["by_state"] == {"Established": 920, "TimeWait": 300}
    assert value["top_processes"][0] == {"process": "kube-proxy", "count": 850}
    assert ports.parse_tcp_connections(json.dumps(rows[0]))["total"] == 900  # one object


@pytest.mark.parametrize("encode", ENCODINGS)
def test_hns_networks_v1_and_v2_one_or_many(encode):
    one_v1 = hns.parse_networks(decode_text(encode(to_json([hns_network_v1()]))))
    assert one_v1 == [{"id": "3A5C1D9E-1111-4000-8000-00000000CB00", "name": "cbr0", "type": "L2Bridge",
                       "address_prefixes": ["10.244.4.0/24"], "management_ip": "10.127.130.5", "state": 1,
                       "vxlan_port": None, "schema": "V1"}]
    many_v2 = hns.parse_networks(decode_text(encode(to_json([hns_network_v2(), hns_network_v2("nat", "172.20.0.0/20", None)]))))
    assert [n["name"] for n in many_v2] == ["vxlan0", "nat"]
    assert many_v2[0]["address_prefixes"] == ["10.244.4.0/24"] and many_v2[0]["vxlan_port"] == 4789
    assert {n["schema"] for n in many_v2} == {"V2"}


def test_hns_empty_output_is_no_objects():
    assert hns.parse_networks("") == [] and hns.parse_endpoints(decode_text(utf16_bom(""))) == []


def test_hns_endpoints_v1_v2_remote_flag():
    v1 = hns.parse_endpoints(to_json([hns_endpoint_v1(1), hns_endpoint_v1(2, remote=True)]))
    v2 = hns.parse_endpoints(to_json([hns_endpoint_v2(1), hns_endpoint_v2(2, remote=True)]))
    for eps in (v1, v2):
        assert [e["is_remote"] for e in eps] == [False, True]
        assert eps[0]["ip"] == "10.244.4.11"


def test_hns_load_balancers_v2_dsr_flag_and_policy_lists_v1():
    lbs = hns.parse_load_balancers(to_json([hns_lb_v2(i, dsr=(i < 3)) for i in range(10)]))
    assert hns.summarize_load_balancers(lbs) == {"total": 10, "dsr": 3, "non_dsr": 7}
    assert lbs[0]["port_mappings"] == [{"protocol": "TCP", "internal_port": 8080, "external_port": 80}]
    pls = hns.parse_policy_lists(to_json([hns_policylist_v1(i, dsr=(i == 0)) for i in range(5)] + [{"ID": "x", "Policies": [{"Type": "ROUTE"}]}]))
    assert hns.summarize_load_balancers(pls) == {"total": 5, "dsr": 1, "non_dsr": 4}
    single = hns.parse_load_balancers(to_json([hns_lb_v2(1, dsr=True)]))
    assert hns.summarize_load_balancers(single) == {"total": 1, "dsr": 1, "non_dsr": 0}


def test_hns_schema_file():
    assert hns.parse_schema(decode_text(utf16_bom("V2\n"))) == "V2"
    assert hns.parse_schema("V1") == "V1"
    with pytest.raises(ValueError):
        hns.parse_schema("unknown")


def test_collectlogs_table_then_json():
    table = ("\nName  Type     Id                                   AddressPrefix\n"
             "----  ----     --                                   -------------\n"
             "cbr0  L2Bridge 3A5C1D9E-1111-4000-8000-00000000CB00 10.244.4.0/24\n\n")
    text = decode_text(utf16_bom(table + to_json([hns_network_v1()])))
    nets = hns.parse_networks(text)
    assert [n["name"] for n in nets] == ["cbr0"]


def test_os_and_hotfixes():
    os_doc = {"Caption": "Microsoft Windows Server 2019 Datacenter", "Version": "10.0.17763", "BuildNumber": "17763",
              "UBR": 1397, "EditionID": "ServerDatacenter", "ReleaseId": "1809",
              "LastBootUpTime": "/Date(1763800000000)/", "InstallationType": "Server Core"}
    value = host.parse_os(decode_text(utf16_bom(json.dumps(os_doc))))
    assert value["build"] == 17763 and value["ubr"] == 1397 and value["version_full"] == "10.0.17763.1397"
    assert value["last_boot"] == "2025-11-22T08:26:40Z"
    hf = [{"HotFixID": "KB4551853", "InstalledOn": {"value": "/Date(1589241600000)/", "DateTime": "Tuesday, May 12, 2020"}},
          {"HotFixID": "KB4512577", "InstalledOn": None}]
    assert host.parse_hotfixes(json.dumps(hf)) == ["KB4512577", "KB4551853"]
    assert host.parse_hotfixes(json.dumps(hf[0])) == ["KB4551853"]
    assert host.parse_hotfixes_text("Source  Description HotFixID\nWIN1 Update KB4571748 NT AUTHORITY\\SYSTEM") == ["KB4571748"]


SERVICES = [
    {"Name": "kubelet", "State": "Running", "StartMode": "Auto", "Wrapper": "native",
     "PathName": "C:\\k\\kubelet.exe --windows-service --hostname-override=win1 --pod-infra-container-image=mcr.microsoft.com/k8s/core/pause:1809",
     "CommandLine": "C:\\k\\kubelet.exe --windows-service --hostname-override=win1 --pod-infra-container-image=mcr.microsoft.com/k8s/core/pause:1809 --kubeconfig=c:\\k\\config"},
    {"Name": "kubeproxy", "State": "Running", "StartMode": "Auto", "Wrapper": "nssm",
     "PathName": "C:\\k\\nssm.exe", "Application": "C:\\k\\kube-proxy.exe",
     "AppParameters": "--v=4 --proxy-mode=kernelspace --cluster-cidr=10.244.0.0/16 --network-name=cbr0 --feature-gates=\"WinDSR=true,WinOverlay=true\" --enable-dsr=true"},
    {"Name": "flanneld", "State": "Stopped", "StartMode": "Auto", "Wrapper": "nssm", "PathName": "C:\\flannel\\nssm.exe",
     "Application": "C:\\flannel\\flanneld.exe", "AppParameters": "--kubeconfig-file=c:\\k\\config --iface=10.127.130.5 --ip-masq=1 --kube-subnet-mgr=1"},
]


def test_services_kube_proxy_dsr_and_hostname_override():
    facts = host.parse_kube_services(decode_text(utf16_bom(json.dumps(SERVICES))))
    kp = facts["kube_proxy"]
    assert kp["dsr"] is True and kp["hostname_override"] is None and kp["cluster_cidr"] == "10.244.0.0/16"
    assert facts["kubelet"]["pause_image_build"] == 17763 and facts["kubelet"]["hostname_override"] == "win1"
    assert facts["flanneld"]["state"] == "Stopped" and facts["flanneld"]["args"]["iface"] == "10.127.130.5"
    no_dsr = [dict(SERVICES[1], AppParameters="--hostname-override=win1 --enable-dsr=true")]
    kp2 = host.parse_kube_services(json.dumps(no_dsr[0]))["kube_proxy"]  # one object, not an array
    assert kp2["dsr"] is False and kp2["enable_dsr_flag"] is True and kp2["hostname_override"] == "win1"


@pytest.mark.parametrize("image,build", [
    ("mcr.microsoft.com/oss/kubernetes/pause:3.6", None), ("mcr.microsoft.com/k8s/core/pause:1809", 17763),
    ("mcr.microsoft.com/windows/nanoserver:ltsc2022", 20348), ("kubeletwin/pause:10.0.17763.1397", 17763),
    ("registry.local:5000/pause:1.4.1-windows-ltsc2019-amd64", 17763),
])
def test_image_build(image, build):
    assert host.image_build(image) == build


def test_flannel_files():
    env = host.parse_env_file(decode_text(utf8_crlf("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.4.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n")))
    assert env["subnet_network"] == "10.244.4.0/24" and env["FLANNEL_MTU"] == "1450"
    vip = host.parse_source_vip(json.dumps({"cniVersion": "0.2.0", "ip4": {"ip": "10.244.9.2/24", "gateway": "10.244.9.1"}, "dns": {}}))
    assert vip == {"ip": "10.244.9.2", "cidr": "10.244.9.2/24", "network": "10.244.9.0/24"}
    req = host.parse_source_vip_request(json.dumps({"cniVersion": "0.2.0", "name": "vxlan0",
                                                    "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.9.0/24"}]], "dataDir": "/var/lib/cni/networks"}}))
    assert req["network"] == "10.244.9.0/24"


CNI_V1 = {"cniVersion": "0.2.0", "name": "cbr0", "type": "flannel", "capabilities": {"portMappings": True},
          "delegate": {"type": "win-bridge", "dns": {"Nameservers": ["10.96.0.10"]},
                       "policies": [{"Name": "EndpointPolicy", "Value": {"Type": "OutBoundNAT", "ExceptionList": ["10.244.0.0/16", "10.96.0.0/12", "10.127.130.0/24"]}},
                                    {"Name": "EndpointPolicy", "Value": {"Type": "ROUTE", "DestinationPrefix": "10.96.0.0/12", "NeedEncap": True}}]}}
CNI_V2 = {"cniVersion": "0.3.0", "name": "vxlan0", "plugins": [{"type": "flannel", "delegate": {"type": "win-overlay",
          "policies": [{"name": "EndpointPolicy", "value": {"type": "OutBoundNAT", "settings": {"Exceptions": ["10.244.0.0/16"]}}},
                       {"name": "EndpointPolicy", "value": {"type": "SDNROUTE", "settings": {"DestinationPrefix": "10.96.0.0/12", "NeedEncap": True}}}]}}]}


def test_cni_conf_exception_list_and_port_mappings():
    a = host.parse_cni_conf(decode_text(utf16_bom(json.dumps(CNI_V1))), "C:/k/cni/config/cni.conf")
    assert a["port_mappings"] is True and a["exception_list"] == ["10.244.0.0/16", "10.96.0.0/12", "10.127.130.0/24"]
    assert a["types"] == ["flannel", "win-bridge"] and a["routes"] == ["10.96.0.0/12"]
    b = host.parse_cni_conf(json.dumps(CNI_V2))
    assert b["port_mappings"] is False and b["exception_list"] == ["10.244.0.0/16"] and b["routes"] == ["10.96.0.0/12"]


def test_addresses_and_adapters():
    addrs = host.parse_ip_addresses(json.dumps([{"InterfaceAlias": "vEthernet (Ethernet)", "IPAddress": "10.127.130.5", "PrefixLength": 24, "AddressFamily": 2},
                                                {"InterfaceAlias": "Loopback", "IPAddress": "::1", "PrefixLength": 128, "AddressFamily": 23}]))
    assert addrs[0]["network"] == "10.127.130.0/24" and addrs[1]["family"] == "ipv6"
    ads = host.parse_net_adapters(json.dumps({"Name": "vEthernet (Ethernet)", "InterfaceDescription": "Hyper-V Virtual Ethernet Adapter", "Status": "Up"}))
    assert ads[0]["vethernet"] is True


def test_version_tuple():
    assert host.version_tuple("v0.11.0") == [0, 11, 0] and host.version_tuple("CNI win-bridge plugin v0.8.6") == [0, 8, 6]
    assert host.version_tuple(None) == []


def _run_parsers(members: dict[str, str]) -> dict:
    """Members (path below nodes/<node>/ -> text) through the real registry and finalizers."""
    from k8s_bundle.analyzer.parsers import FinalizeContext, combine, registry, set_fact

    reg = registry()
    results: dict[str, tuple[str, list]] = {}
    for path, text in members.items():
        for spec in reg.match("node", path):
            for fact, value in spec.values(spec.run(text, path), ""):
                results.setdefault(fact, (spec.merge, []))[1].append((spec.priority, path, value))
    facts: dict = {}
    for fact, (merge, values) in sorted(results.items()):
        set_fact(facts, fact, combine(merge, values))
    for fin in reg.finalizers_for("node"):
        fin.func(facts, FinalizeContext("node1", {}, {}, list(members)))
    return facts


def test_derived_port_pool_and_load_balancer_arithmetic():
    excluded = "\nProtocol tcp Port Exclusion Ranges\n\nStart Port    End Port\n----------    --------\n" + "".join(
        f"{49152 + 64 * i:>10}{49152 + 64 * i + 63:>12}\n" for i in range(250)) + "\n* - Administered port exclusions.\n"
    facts = _run_parsers({
        "windows/dynamicportrange-tcp.txt": NETSH_DYNAMIC_TCP_EN,
        "windows/excludedportrange-tcp.txt": excluded,
        "windows/reservedports.txt": RESERVED_OLD_FAIL,
        "windows/hns-policylists.json": to_json([hns_policylist_v1(i) for i in range(120)]),
        "windows/hns-loadbalancers.json": "",
        "windows/services.json": json.dumps(SERVICES[1]),
    })
    win = facts["windows"]
    assert win["load_balancers"] == {"total": 120, "dsr": 0, "non_dsr": 120, "source": "hns-policylists (V1)"}
    pool = win["port_pool"]
    assert (pool["count"], pool["excluded_in_range"], pool["free_ports"], pool["free_blocks"]) == (16384, 16000, 384, 6)
    assert pool["dsr"] is True and pool["ranges_reserved"] == 3


def test_derived_flannel_cni_pause_updates():
    facts = _run_parsers({
        "files/C/run/flannel/subnet.env": "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.4.1/24\n",
        "files/C/k/SourceVip.json": json.dumps({"ip4": {"ip": "10.244.9.2/24"}}),
        "files/C/k/cni/config/cni.conf": json.dumps(CNI_V2),
        "windows/services.json": json.dumps(SERVICES),
        "windows/netipaddress.json": json.dumps({"InterfaceAlias": "vEthernet (Ethernet)", "IPAddress": "10.127.130.5", "PrefixLength": 24}),
        "windows/os.json": json.dumps({"Version": "10.0.20348", "BuildNumber": "20348", "UBR": 2340}),
        "windows/hns-networks.json": to_json([hns_network_v2("nat", "172.20.0.0/20", None)]),
        "windows/netadapters.json": json.dumps({"Name": "Ethernet", "Status": "Up"}),
    })
    win = facts["windows"]
    assert win["source_vip_stale"] == {"stale": True, "files": ["SourceVip.json 10.244.9.2/24"], "flannel_subnet": "10.244.4.0/24"}
    assert win["cni_exceptions"]["missing"] == ["service 10.96.0.0/12", "management 10.127.130.0/24"]
    assert win["pause"]["mismatch"] is True and win["pause"]["build"] == 17763 and win["pause"]["host_build"] == 20348
    assert win["updates"] == {"KB4551853": True, "KB4571748": True}
    assert win["hns"]["cluster_network"] is None and win["vethernet_present"] is False
    assert win["os_build"] == "10.0.20348.2340"


def test_pause_image_build_from_crictl_inspecti():
    images = [{"Id": "sha256:aa", "RepoTags": ["mcr.microsoft.com/oss/kubernetes/pause:3.9"], "OS": "windows",
               "OSVersion": "10.0.20348.2340", "Architecture": "amd64"}]
    assert host.parse_pause_images(json.dumps(images))[0]["build"] == 20348
    facts = _run_parsers({
        "windows/pause-images.json": json.dumps(images),
        "windows/os.json": json.dumps({"Version": "10.0.17763", "BuildNumber": "17763", "UBR": 5458}),
        "windows/services.json": json.dumps({"Name": "kubelet", "State": "Running",
                                             "PathName": "kubelet.exe --pod-infra-container-image=mcr.microsoft.com/oss/kubernetes/pause:3.9"}),
    })
    pause = facts["windows"]["pause"]
    assert pause["build"] == 20348 and pause["mismatch"] is True and "inspecti" in pause["source"]


def test_derived_facts_survive_odd_input():
    """A hostile bundle: one broken part does not cost the other derived facts."""
    from k8s_bundle.analyzer.parsers import FinalizeContext
    from k8s_bundle.analyzer.parsers.windows_derived import windows_facts

    facts = {"windows": {"dynamic_ports": {"tcp": {"start": "x", "count": None, "end": 5}},
                         "hns": {"load_balancers": [{"dsr": False}], "networks": "not a list"},
                         "source_vip": {"ip": "10.244.9.2", "cidr": "10.244.9.2/24"},
                         "flannel_subnet": {"subnet_network": "10.244.4.0/24"}}}
    with pytest.raises(Exception):
        windows_facts(facts, FinalizeContext("n", {}, {}, []))
    assert facts["windows"]["load_balancers"]["non_dsr"] == 1
    assert facts["windows"]["source_vip_stale"]["stale"] is True


def test_parsers_on_arbitrary_bytes():
    """Bundles are hostile: every Windows parser returns or raises an ordinary exception (which
    the registry turns into a parse problem) on any bytes, whatever the encoding."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from k8s_bundle.analyzer.parsers import registry

    specs = [p for p in registry().parsers if p.func.__module__.rsplit(".", 1)[-1].startswith("windows_")]
    assert len(specs) >= 25

    @settings(max_examples=60, deadline=None)
    @given(st.one_of(st.binary(max_size=400), st.text(max_size=300).map(utf16_bom),
                     st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                                  lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c, max_size=4),
                                  max_leaves=12).map(lambda v: json.dumps(v).encode())))
    def check(data):
        text = decode_text(data)
        for spec in specs:
            try:
                spec.run(text, "windows/x")
            except Exception:  # noqa: BLE001 - becomes a parse problem; anything else would escape
                pass

    check()


def test_volumes_free_space_per_drive() -> None:
    # Win32_LogicalDisk as ConvertTo-Json writes it: one object (5.1 without -AsArray) or a list
    one = '{"DeviceID": "C:", "FileSystem": "NTFS", "Size": 136912564224, "FreeSpace": 1048576000}'
    vols = host.parse_volumes(one)
    assert vols == [{"drive": "C:", "filesystem": "NTFS", "size_bytes": 136912564224,
                     "free_bytes": 1048576000, "free_pct": 0.77}]
    many = json.dumps([{"DeviceID": "C:", "FileSystem": "NTFS", "Size": 100, "FreeSpace": 50},
                       {"DeviceID": "D:", "FileSystem": "NTFS", "Size": None, "FreeSpace": None}])
    vols = host.parse_volumes(many)
    assert [v["free_pct"] for v in vols] == [50.0, None]
