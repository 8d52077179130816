"""A broken Windows worker node, written into a bundle the way `k8s-bundle collect` writes one.

What is wrong with it (each a finding of rules/windows/):
- the TCP ephemeral port pool is exhausted: 160 HNS load balancers without DSR, kube-proxy
  logs `hcnCreateLoadBalancer failed ... The specified port already exists`, the reservation
  test gets 3 of 10 ranges, excluded ranges cover almost all of 49152-65535
  (win-ephemeral-port-exhaustion);
- kube-proxy runs without --hostname-override (win-kube-proxy-no-hostname-override);
- C:\\k\\SourceVip.json still holds an address of the subnet the node had before it re-joined
  (win-flannel-stale-sourcevip);
- the pause image is built for ltsc2022 on a Windows Server 2019 host (win-pause-image-os-mismatch);
- OS build 17763.1397: KB4571748 is missing, NodePort from the node fails (win-nodeport-from-node-kb4571748);
- cni.conf's ExceptionList lacks the management subnet (win-cni-exception-list).

Used by samples/build.py (`write_windows_node(writer, node)` adds the node's members and
returns its manifest node entry and items; `build(path)` writes a whole single-node bundle) and
by the Windows tests as the recorded node the fake WinRM server and fake PowerShell answer from.
"""
from __future__ import annotations

import json
from typing import Any

NODE = "win-worker-1"
CREATED_AT = "2026-11-22T11:30:00Z"
STAMP = "20261122T113000Z"
HOST_BUILD = 17763
UBR = 1397


def _crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


def _lbs(count: int) -> list[dict[str, Any]]:
    return [{"ID": f"{0x5E3A0000 + i:08X}-3333-4000-8000-{i:012X}",
             "HostComputeEndpoints": [f"{0xAE000000 + i:08X}-5555-4000-8000-000000000001"],
             "SourceVIP": "10.244.9.2", "FrontendVIPs": [f"10.96.{i // 200}.{i % 200 + 10}"],
             "PortMappings": [{"Protocol": 6, "InternalPort": 8080 + i % 7, "ExternalPort": 80 + i % 7, "Flags": 0}],
             "Flags": 0, "SchemaVersion": {"Major": 2, "Minor": 0}} for i in range(count)]


def _excluded() -> str:
    rows = ["      5357        5357", "     47001       47001"]
    # HNS took 250 blocks of 64 ports from the dynamic range 49152-65535, leaving 4 blocks
    for i in range(250):
        start = 49152 + 64 * i
        rows.append(f"{start:>10}{start + 63:>12}")
    rows.append("     65000       65063     *")
    return ("\nProtocol tcp Port Exclusion Ranges\n\nStart Port    End Port\n----------    --------\n"
            + "\n".join(rows) + "\n\n* - Administered port exclusions.\n\n")


KUBELET_LOG = """\
I1122 10:58:01.104529    4212 server.go:417] Version: v1.29.3
I1122 10:58:01.451020    4212 kubelet.go:405] "Attempting to sync node with API server"
E1122 11:02:14.882154    4212 remote_runtime.go:193] "RunPodSandbox from runtime service failed" err="rpc error: code = Unknown desc = failed to create containerd task: hcsshim::CreateComputeSystem 8f1c: The container operating system does not match the host operating system.: unknown"
E1122 11:02:14.882301    4212 pod_workers.go:1298] "Error syncing pod, skipping" err="failed to \\"CreatePodSandbox\\" for \\"iis-7d9c-x2x8q_web\\"" pod="web/iis-7d9c-x2x8q"
E1122 11:07:21.101442    4212 remote_runtime.go:193] "RunPodSandbox from runtime service failed" err="rpc error: code = Unknown desc = failed to create containerd task: hcsshim::CreateComputeSystem 90ad: The container operating system does not match the host operating system.: unknown"
"""

KUBE_PROXY_LOG = """\
I1122 10:58:03.221004    3120 server_others.go:268] "Using kernelspace Proxier."
I1122 10:58:03.640118    3120 proxier.go:620] "Hns Network" name="vxlan0" type="Overlay"
E1122 11:04:40.001921    3120 proxier.go:1233] "Policy creation failed" err="hcnCreateLoadBalancer failed in Win32: The specified port already exists. (0x803b0013) {\\"Success\\":false,\\"Error\\":\\"The specified port already exists. \\",\\"ErrorCode\\":2151350291}"
E1122 11:04:40.211342    3120 proxier.go:1233] "Policy creation failed" err="hcnCreateLoadBalancer failed in Win32: The specified port already exists. (0x803b0013) {\\"Success\\":false,\\"Error\\":\\"The specified port already exists. \\",\\"ErrorCode\\":2151350291}"
E1122 11:09:12.552003    3120 proxier.go:1233] "Policy creation failed" err="hcnCreateLoadBalancer failed in Win32: The specified port already exists. (0x803b0013) {\\"Success\\":false,\\"Error\\":\\"The specified port already exists. \\",\\"ErrorCode\\":2151350291}"
"""

FLANNELD_LOG = """\
I1122 10:57:58.012000    2188 main.go:218] CLI flags config: {etcdEndpoints:http://127.0.0.1:4001 kubeSubnetMgr:true iface:[10.127.130.5] ipMasq:true}
I1122 10:57:58.730112    2188 kube.go:339] Setting NodeNetworkUnavailable
I1122 10:57:59.101020    2188 main.go:382] Current network or subnet (10.244.0.0/16, 10.244.4.0/24) is not equal to previous one (0.0.0.0/0, 0.0.0.0/0), trying to recycle old iptables rules
I1122 10:57:59.512004    2188 vxlan_network_windows.go:110] Found HNS network vxlan0
"""


def members() -> dict[str, bytes]:
    """The node's bundle members, below nodes/<node>/."""
    services = [
        {"Name": "kubelet", "DisplayName": "kubelet", "State": "Running", "StartMode": "Auto", "Wrapper": "native",
         "PathName": "C:\\k\\kubelet.exe --windows-service --hostname-override=win-worker-1 --kubeconfig=C:\\k\\config "
                     "--pod-infra-container-image=mcr.microsoft.com/oss/kubernetes/pause:3.9-windows-ltsc2022-amd64 "
                     "--cert-dir=C:\\var\\lib\\kubelet\\pki --node-ip=10.127.130.5",
         "ProcessId": 4212, "CommandLine": None, "Application": None, "AppParameters": None},
        {"Name": "kubeproxy", "DisplayName": "kube-proxy", "State": "Running", "StartMode": "Auto", "Wrapper": "nssm",
         "PathName": "C:\\k\\nssm.exe", "ProcessId": 3120, "Application": "C:\\k\\kube-proxy.exe",
         "AppParameters": "--v=4 --proxy-mode=kernelspace --kubeconfig=C:\\k\\config --network-name=vxlan0 "
                          "--source-vip=10.244.9.2 --cluster-cidr=10.244.0.0/16 --feature-gates=WinOverlay=true",
         "CommandLine": "C:\\k\\kube-proxy.exe --v=4 --proxy-mode=kernelspace --kubeconfig=C:\\k\\config --network-name=vxlan0 "
                        "--source-vip=10.244.9.2 --cluster-cidr=10.244.0.0/16 --feature-gates=WinOverlay=true"},
        {"Name": "flanneld", "DisplayName": "flanneld", "State": "Running", "StartMode": "Auto", "Wrapper": "nssm",
         "PathName": "C:\\flannel\\nssm.exe", "ProcessId": 2188, "Application": "C:\\flannel\\flanneld.exe",
         "AppParameters": "--kubeconfig-file=c:\\k\\config --iface=10.127.130.5 --ip-masq=1 --kube-subnet-mgr=1",
         "CommandLine": None},
        {"Name": "containerd", "DisplayName": "containerd", "State": "Running", "StartMode": "Auto", "Wrapper": "native",
         "PathName": "\"C:\\Program Files\\containerd\\containerd.exe\" --run-service", "ProcessId": 1904,
         "CommandLine": None, "Application": None, "AppParameters": None},
        {"Name": "hns", "DisplayName": "Host Network Service", "State": "Running", "StartMode": "Manual", "Wrapper": "native",
         "PathName": "C:\\Windows\\system32\\svchost.exe -k NetSvcs -p", "ProcessId": 2620, "CommandLine": None,
         "Application": None, "AppParameters": None},
    ]
    os_doc = {"Caption": "Microsoft Windows Server 2019 Datacenter", "Version": f"10.0.{HOST_BUILD}",
              "BuildNumber": str(HOST_BUILD), "UBR": UBR, "EditionID": "ServerDatacenter", "ReleaseId": "1809",
              "DisplayVersion": None, "InstallationType": "Server Core", "OSArchitecture": "64-bit",
              "LastBootUpTime": "2026-11-22T10:55:12Z", "UptimeSeconds": 2088, "CsName": "WIN-WORKER-1",
              "Manufacturer": "Microsoft Corporation", "Model": "Virtual Machine", "NumberOfLogicalProcessors": 4,
              "TotalPhysicalMemory": 17179332608, "TimeZone": "UTC", "UtcOffsetSeconds": 0, "PowerShellVersion": "5.1.17763.1397"}
    hotfixes = [{"HotFixID": "KB4512577", "Description": "Security Update", "InstalledOn": "2020-06-10T00:00:00", "InstalledBy": "NT AUTHORITY\\SYSTEM"},
                {"HotFixID": "KB4558998", "Description": "Update", "InstalledOn": "2020-07-14T00:00:00", "InstalledBy": "NT AUTHORITY\\SYSTEM"}]
    networks = [{"ID": "9D1E7B2A-2222-4000-8000-00000000BB00", "Name": "vxlan0", "Type": "Overlay", "Flags": 8,
                 "Ipams": [{"Type": "Static", "Subnets": [{"IpAddressPrefix": "10.244.4.0/24"}]}],
                 "Policies": [{"Type": "VxlanPort", "Settings": {"Port": 4789}},
                              {"Type": "ProviderAddress", "Settings": {"ProviderAddress": "10.127.130.5"}}],
                 "SchemaVersion": {"Major": 2, "Minor": 0}, "State": 1},
                {"ID": "1F00AA10-2222-4000-8000-0000000000AA", "Name": "nat", "Type": "NAT",
                 "Ipams": [{"Type": "Static", "Subnets": [{"IpAddressPrefix": "172.30.96.0/20"}]}],
                 "SchemaVersion": {"Major": 2, "Minor": 0}, "State": 1}]
    endpoints = [{"ID": f"BE00{i:04X}-6666-4000-8000-000000000000", "Name": f"ep{i}",
                  "HostComputeNetwork": "9D1E7B2A-2222-4000-8000-00000000BB00",
                  "IpConfigurations": [{"IpAddress": f"10.244.{4 if i < 3 else 7}.{i + 10}", "PrefixLength": 24}],
                  "Flags": 0 if i < 3 else 1, "SchemaVersion": {"Major": 2, "Minor": 0}} for i in range(8)]
    cni = {"cniVersion": "0.2.0", "name": "vxlan0", "type": "flannel", "capabilities": {"portMappings": True, "dns": True},
           "delegate": {"type": "win-overlay", "dns": {"Nameservers": ["10.96.0.10"], "Search": ["svc.cluster.local"]},
                        "policies": [{"Name": "EndpointPolicy", "Value": {"Type": "OutBoundNAT",
                                                                          "ExceptionList": ["10.244.0.0/16", "10.96.0.0/12"]}},
                                     {"Name": "EndpointPolicy", "Value": {"Type": "ROUTE", "DestinationPrefix": "10.96.0.0/12",
                                                                          "NeedEncap": True}}]}}
    eventlog = [
        {"TimeCreated": "2026-11-22T11:04:40.0012345Z", "Id": 1000, "Level": 2, "LevelDisplayName": "Error",
         "ProviderName": "Microsoft-Windows-Host-Network-Service", "LogName": "Microsoft-Windows-Host-Network-Service-Admin",
         "Message": "HNS failed to create load balancer: The specified port already exists. (0x803b0013)"},
        {"TimeCreated": "2026-11-22T10:55:40.5000000Z", "Id": 7036, "Level": 4, "LevelDisplayName": "Information",
         "ProviderName": "Service Control Manager", "LogName": "System",
         "Message": "The Host Network Service service entered the running state."},
    ]
    m: dict[str, bytes] = {
        "windows/hns-schema.txt": b"V2\n",
        "windows/hns-networks.json": json.dumps(networks, indent=2).encode(),
        "windows/hns-endpoints.json": json.dumps(endpoints, indent=2).encode(),
        "windows/hns-loadbalancers.json": json.dumps(_lbs(160)).encode(),
        "windows/hns-namespaces.json": b"[]\n",
        "windows/dynamicportrange-tcp.txt": _crlf("\nProtocol tcp Dynamic Port Range\n---------------------------------\n"
                                                  "Start Port      : 49152\nNumber of Ports : 16384\n\n"),
        "windows/dynamicportrange-udp.txt": _crlf("\nProtocol udp Dynamic Port Range\n---------------------------------\n"
                                                  "Start Port      : 49152\nNumber of Ports : 16384\n\n"),
        "windows/excludedportrange-tcp.txt": _crlf(_excluded()),
        "windows/excludedportrange-udp.txt": _crlf("\nProtocol udp Port Exclusion Ranges\n\nStart Port    End Port\n"
                                                   "----------    --------\n\n* - Administered port exclusions.\n\n"),
        "windows/reservedports.txt": b"Couldn't reserve more than 3 ranges of 64 ports\n",
        "windows/tcp-connections.json": json.dumps([
            {"State": "Established", "OwningProcess": 3120, "ProcessName": "kube-proxy", "Count": 212, "InDynamicRange": 198},
            {"State": "TimeWait", "OwningProcess": 0, "ProcessName": "Idle", "Count": 1840, "InDynamicRange": 1602},
            {"State": "Listen", "OwningProcess": 4212, "ProcessName": "kubelet", "Count": 3, "InDynamicRange": 0}]).encode(),
        "windows/services.json": json.dumps(services, indent=2).encode(),
        "windows/versions.json": json.dumps({"kubelet": "v1.29.3", "kube-proxy": "v1.29.3", "flanneld": "v0.24.2",
                                             "containerd": "v1.7.13", "docker": None, "crictl": "v1.29.0",
                                             "win-bridge": None, "win-overlay": "v0.9.1", "flannel-cni": "v1.4.0"}).encode(),
        "windows/os.json": json.dumps(os_doc, indent=2).encode(),
        "windows/hotfixes.json": json.dumps(hotfixes, indent=2).encode(),
        "windows/netadapters.json": json.dumps([
            {"Name": "Ethernet", "InterfaceDescription": "Microsoft Hyper-V Network Adapter", "ifIndex": 6, "Status": "Up", "MacAddress": "00-15-5D-01-02-03"},
            {"Name": "vEthernet (Ethernet)", "InterfaceDescription": "Hyper-V Virtual Ethernet Adapter", "ifIndex": 14, "Status": "Up", "MacAddress": "00-15-5D-01-02-03"}]).encode(),
        "windows/netipaddress.json": json.dumps([
            {"InterfaceAlias": "vEthernet (Ethernet)", "InterfaceIndex": 14, "IPAddress": "10.127.130.5", "PrefixLength": 24, "AddressFamily": 2},
            {"InterfaceAlias": "Loopback Pseudo-Interface 1", "InterfaceIndex": 1, "IPAddress": "127.0.0.1", "PrefixLength": 8, "AddressFamily": 2}]).encode(),
        "windows/ipconfig.txt": _crlf("\nWindows IP Configuration\n\n   Host Name . . . . . . . . . . . . : WIN-WORKER-1\n"),
        "files/C/k/cni/config/cni.conf": json.dumps(cni, indent=2).encode(),
        "files/C/run/flannel/subnet.env": _crlf("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.4.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n"),
        "files/C/k/SourceVip.json": json.dumps({"cniVersion": "0.2.0", "ip4": {"ip": "10.244.9.2/24", "gateway": "10.244.9.1"}, "dns": {}}).encode(),
        "files/C/k/SourceVipRequest.json": json.dumps({"cniVersion": "0.2.0", "name": "vxlan0", "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.9.0/24"}]], "dataDir": "/var/lib/cni/networks"}}).encode(),
        "logs/C/k/kubelet.log": KUBELET_LOG.encode(),
        "logs/C/k/kube-proxy.log": KUBE_PROXY_LOG.encode(),
        "logs/C/k/flanneld.log": FLANNELD_LOG.encode(),
        "logs/eventlog/Microsoft-Windows-Host-Network-Service-Admin.jsonl": (json.dumps(eventlog[0]) + "\n").encode(),
        "logs/eventlog/System.jsonl": (json.dumps(eventlog[1]) + "\n").encode(),
    }
    return m


def node_json(node: str = NODE) -> dict[str, Any]:
    return {"name": node, "hostname": "WIN-WORKER-1", "os": "windows", "distro": "Microsoft Windows Server 2019 Datacenter",
            "kernel": f"10.0.{HOST_BUILD}.{UBR}", "arch": "64-bit", "uptime_seconds": 2088,
            "boot_time": "2026-11-22T10:55:12Z", "timezone": "UTC", "utc_offset_seconds": 0, "cpus": 4,
            "memory_bytes": 17179332608,
            "versions": {"kubelet": "v1.29.3", "kube-proxy": "v1.29.3", "containerd": "v1.7.13", "docker": None,
                         "flanneld": "v0.24.2", "os_build": f"10.0.{HOST_BUILD}.{UBR}"},
            "roles": ["worker"], "runtime": "containerd", "init": "windows-service"}


def write_windows_node(writer: Any, node: str = NODE) -> tuple[Any, list[Any]]:
    """Add the broken node to `writer` (a k8s_bundle BundleWriter); return its manifest node
    entry and manifest items (NodeEntry, ItemRecords; the caller writes manifest.json)."""
    from k8s_bundle.bundle.manifest import ItemRecord, NodeEntry

    items = []
    for rel, data in sorted({**members(), "node.json": json.dumps(node_json(node), indent=2).encode()}.items()):
        stored = writer.add_bytes(f"nodes/{node}/{rel}", data)
        kind = "file" if rel.startswith(("files/", "logs/C/")) else "derived" if rel == "node.json" else "powershell"
        items.append(ItemRecord(node=node, area=rel.split("/")[0], id=rel.rsplit("/", 1)[-1].rsplit(".", 1)[0],
                                path=stored.path, kind=kind, source=rel, exit_code=0, duration_ms=40,
                                bytes=stored.bytes, sha256=stored.sha256))
    # what a real collection of this node also records: no docker, no hnsdiag on the PATH
    items.append(ItemRecord(node=node, area="runtime", id="docker-info", kind="command",
                            source="docker info --format {{json .}}", status="not_found", duration_ms=3,
                            error="not installed: docker"))
    entry = NodeEntry(name=node, os="windows", transport="psrp", timezone="UTC", utc_offset_seconds=0)
    return entry, items


def build(path: str, node: str = NODE) -> str:
    """Write a complete single-node bundle of the broken Windows worker to `path`."""
    from k8s_bundle.bundle.manifest import Manifest
    from k8s_bundle.bundle.writer import BundleWriter

    with BundleWriter(path, top_dir=f"k8s-bundle-{node}-{STAMP}", overwrite=True) as w:
        entry, items = write_windows_node(w, node)
        manifest = Manifest(created_at=CREATED_AT, finished_at="2026-11-22T11:30:41Z",
                            collection={"argv": ["collect", "--winrm", "win-worker-1.example", "--winrm-auth", "ntlm"],
                                        "since": "72h", "root": "/", "user": "k8sadmin", "is_root": True},
                            nodes=[entry], items=items)
        w.finish(manifest, {"version": 1, "placeholders": "keyed-hash", "obfuscation": [], "total": 0,
                            "by_rule": {}, "by_file": {}, "dropped": []})
    return path


if __name__ == "__main__":
    import sys

    print(build(sys.argv[1] if len(sys.argv) > 1 else "windows-worker.tgz"))
