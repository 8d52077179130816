"""Parsers of network.py, firewall.py, system.py and time.py on outputs as nft, ipvsadm, ip,
resolvectl and /proc print them; and end to end through a real bundle to the facts rules read."""
from __future__ import annotations

from pathlib import Path

import pytest

from k8s_bundle.analyzer.evidence import load_evidence
from k8s_bundle.analyzer.parsers import firewall, network, system, time
from k8s_bundle.bundle.writer import BundleWriter

# -- nft ------------------------------------------------------------------------------------------

# iptables-nft 1.8.9 with nft 1.0.7 (captured with stderr: nft then ends with the warning
# naming the table iptables owns); next to it an administrator's inet table whose forward base
# chain drops.
NFT_MIXED = """\
table ip filter {
\tchain KUBE-FIREWALL {
\t\tip saddr != 127.0.0.0/8 ip daddr 127.0.0.0/8 ct status dnat counter packets 0 bytes 0 drop
\t}

\tchain INPUT {
\t\ttype filter hook input priority filter; policy accept;
\t\tcounter packets 88410 bytes 30566331 jump KUBE-FIREWALL
\t}

\tchain FORWARD {
\t\ttype filter hook forward priority filter; policy accept;
\t\tct state new  counter packets 12 bytes 720 jump KUBE-FORWARD
\t}

\tchain KUBE-FORWARD {
\t\tmeta mark & 0x00004000 == 0x00004000 counter packets 0 bytes 0 accept
\t\tct state related,established counter packets 0 bytes 0 accept
\t}
}
table inet filter {
\tset trusted {
\t\ttype ipv4_addr
\t\tflags interval
\t\telements = { 10.0.0.0/8, 172.16.0.0/12,
\t\t\t     192.168.0.0/16 }
\t}

\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\tct state established,related accept
\t\tiif "lo" accept
\t\ttcp dport { 22, 6443, 10250 } accept
\t}

\tchain forward {
\t\ttype filter hook forward priority filter; policy drop;
\t\tct state { established, related } accept
\t\tip saddr vmap {
\t\t\t10.0.0.1 : accept,
\t\t\t10.0.0.2 : drop
\t\t}
\t}

\tchain output {
\t\ttype filter hook output priority filter; policy accept;
\t}
}
# Warning: table ip filter is managed by iptables-nft, do not touch!
"""

# nft 0.9 on RHEL 8 (no warning comment): iptables' tables are recognised by their built-in
# upper-case chains; a nat base chain and a chain comment.
NFT_OLD = """\
table ip nat {
\tchain PREROUTING {
\t\ttype nat hook prerouting priority -100; policy accept;
\t\tcounter packets 3 bytes 180 jump KUBE-SERVICES
\t}

\tchain KUBE-SERVICES {
\t}
}
table inet firewalld {
\tchain filter_FORWARD {
\t\ttype filter hook forward priority 10; policy accept;
\t\tcomment "zone dispatch { here }"
\t\tct state { established, related } accept
\t\treject with icmpx type admin-prohibited
\t}
}
"""


def test_nft_tables_and_base_chains() -> None:
    out = firewall.parse_nft_ruleset(NFT_MIXED)
    assert out["tables"] == [{"family": "ip", "name": "filter", "iptables_managed": True, "chain_count": 4},
                             {"family": "inet", "name": "filter", "iptables_managed": False, "chain_count": 3}]
    by_name = {(c["family"], c["name"]): c for c in out["chains"]}
    # base chains are kept, regular chains (KUBE-FIREWALL, KUBE-FORWARD) only counted
    assert set(by_name) == {("ip", "INPUT"), ("ip", "FORWARD"), ("inet", "input"), ("inet", "forward"), ("inet", "output")}
    assert out["regular_chain_count"] == 2
    fwd = by_name[("inet", "forward")]
    assert (fwd["type"], fwd["hook"], fwd["priority"], fwd["policy"]) == ("filter", "forward", "filter", "drop")
    # the multi-line verdict map is one rule; the set's elements are not rules
    assert fwd["rules"] == ["ct state { established, related } accept",
                            "ip saddr vmap { 10.0.0.1 : accept, 10.0.0.2 : drop }"]
    assert by_name[("ip", "FORWARD")]["policy"] == "accept"
    assert by_name[("inet", "input")]["rules"][2] == "tcp dport { 22, 6443, 10250 } accept"
    assert out["rule_count"] == 1 + 1 + 1 + 2 + 3 + 2


def test_nft_old_format_priorities_and_comments() -> None:
    out = firewall.parse_nft_ruleset(NFT_OLD)
    assert out["tables"][0] == {"family": "ip", "name": "nat", "iptables_managed": True, "chain_count": 2}
    assert out["tables"][1]["iptables_managed"] is False
    pre, fw = out["chains"]
    assert (pre["type"], pre["hook"], pre["priority"]) == ("nat", "prerouting", "-100")
    assert out["regular_chain_count"] == 1 and out["rule_count"] == 3
    assert fw["priority"] == "10" and fw["policy"] == "accept"
    assert fw["rules"] == ["ct state { established, related } accept", "reject with icmpx type admin-prohibited"]


def test_nft_iptables_warning_alone_marks_the_table() -> None:
    """A table iptables-nft owns without upper-case base chains is known by the warning only."""
    text = "table ip mangle {\n\tchain KUBE-KUBELET-CANARY {\n\t}\n}\n"
    assert firewall.parse_nft_ruleset(text)["tables"][0]["iptables_managed"] is False
    warned = text + "# Warning: table ip mangle is managed by iptables-nft, do not touch!\n"
    assert firewall.parse_nft_ruleset(warned)["tables"][0]["iptables_managed"] is True


def test_nft_empty_ruleset_and_garbage() -> None:
    assert firewall.parse_nft_ruleset("") == {"tables": [], "chains": [], "regular_chain_count": 0, "rule_count": 0}
    with pytest.raises(ValueError, match="nft list ruleset"):
        firewall.parse_nft_ruleset("Error: Could not process rule: Operation not permitted\n")


# -- ipvsadm --------------------------------------------------------------------------------------

IPVS = """\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.96.0.1:443 rr
  -> 192.168.56.10:6443           Masq    1      4          0
  -> 192.168.56.11:6443           Masq    1      2          1
TCP  10.96.0.10:53 rr
TCP  10.96.0.10:9153 rr
  -> 10.244.0.2:9153              Masq    1      0          0
UDP  10.96.0.10:53 rr persistent 10800
  -> 10.244.0.2:53                Masq    0      0          12
TCP  [fd00:10:96::1]:443 rr
  -> [2001:db8::10]:6443          Masq    1      0          0
FWM  100 wrr
"""


def test_ipvsadm_services_and_real_servers() -> None:
    out = network.parse_ipvsadm(IPVS)
    assert (out["version"], out["size"], out["service_count"], out["real_server_count"]) == ("1.2.1", 4096, 6, 5)
    assert out["services_without_real_servers"] == 2 and out["services_truncated"] is False
    assert [(s["protocol"], s["address"]) for s in out["dns_services"]] == [("TCP", "10.96.0.10"), ("UDP", "10.96.0.10")]
    api, dns_tcp, metrics, dns_udp, v6, fwm = out["services"]
    assert (api["protocol"], api["address"], api["port"], api["scheduler"]) == ("TCP", "10.96.0.1", 443, "rr")
    assert [r["address"] for r in api["real_servers"]] == ["192.168.56.10", "192.168.56.11"]
    assert api["real_servers"][1] == {"address": "192.168.56.11", "port": 6443, "forward": "Masq",
                                      "weight": 1, "active": 2, "inactive": 1}
    assert dns_tcp["real_servers"] == [] and metrics["port"] == 9153
    assert dns_udp["flags"] == ["persistent", "10800"] and dns_udp["real_servers"][0]["weight"] == 0
    assert (v6["address"], v6["real_servers"][0]["address"]) == ("fd00:10:96::1", "2001:db8::10")
    assert (fwm["protocol"], fwm["address"], fwm["port"]) == ("FWM", "100", None)


def test_ipvsadm_large_table_keeps_counts_and_dns() -> None:
    """6,000 Services: every one counted, 500 kept, the DNS ones always kept."""
    lines = [f"TCP  10.96.{i // 250}.{i % 250 + 1}:80 rr\n  -> 10.244.{i // 250}.{i % 250 + 2}:8080           Masq    1      0          0\n"
             for i in range(6000)]
    text = IPVS.replace("TCP  10.96.0.1:443 rr\n", "".join(lines) + "TCP  10.96.0.1:443 rr\n")
    out = network.parse_ipvsadm(text)
    assert (out["service_count"], out["real_server_count"], len(out["services"])) == (6006, 6005, 500)
    assert out["services_truncated"] is True and len(out["dns_services"]) == 2


def test_ipvsadm_empty_table_and_no_module() -> None:
    empty = network.parse_ipvsadm(
        "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n"
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n")
    assert empty["services"] == [] and empty["service_count"] == 0
    with pytest.raises(ValueError, match="ipvsadm"):
        network.parse_ipvsadm("Can't initialize ipvs: Protocol not available\n"
                                   "Are you sure that IP Virtual Server is built in the kernel or as module?\n")


# -- ip neigh -------------------------------------------------------------------------------------

NEIGH = """\
10.0.2.2 dev eth0 lladdr 52:54:00:12:35:02 REACHABLE
10.0.2.3 dev eth0 lladdr 52:54:00:12:35:03 STALE
192.168.56.21 dev eth1 FAILED
192.168.56.22 dev eth1  INCOMPLETE
192.168.56.23 dev eth1 lladdr 08:00:27:aa:bb:cc DELAY
10.244.1.0 dev flannel.1 lladdr 9a:0c:7d:11:22:33 PERMANENT
fe80::2 dev eth0 lladdr 52:54:00:12:35:02 router STALE
fe80::5 dev eth1 FAILED
"""


def test_ip_neigh_counts() -> None:
    out = network.parse_ip_neigh(NEIGH)
    assert (out["total"], out["ipv4"], out["ipv6"], out["failed"], out["incomplete"]) == (8, 6, 2, 2, 1)
    assert out["by_state"] == {"REACHABLE": 1, "STALE": 2, "FAILED": 2, "INCOMPLETE": 1, "DELAY": 1, "PERMANENT": 1}
    assert out["by_dev"] == {"eth0": 3, "eth1": 4, "flannel.1": 1}
    assert out["failed_sample"] == ["192.168.56.21", "192.168.56.22", "fe80::5"]


def test_ip_neigh_large_table_keeps_a_bounded_sample() -> None:
    text = "".join(f"10.1.{i // 250}.{i % 250} dev eth0 FAILED\n" for i in range(3000))
    out = network.parse_ip_neigh(text + "\n")
    assert out["failed"] == 3000 and len(out["failed_sample"]) == 20
    assert network.parse_ip_neigh("")["total"] == 0


# -- resolvectl -----------------------------------------------------------------------------------

RESOLVECTL_NEW = """\
Global
           Protocols: -LLMNR -mDNS -DNSOverTLS DNSSEC=no/unsupported
    resolv.conf mode: stub
Fallback DNS Servers: 1.1.1.1#cloudflare-dns.com 8.8.8.8#dns.google

Link 2 (eth0)
    Current Scopes: DNS
         Protocols: +DefaultRoute -LLMNR -mDNS -DNSOverTLS DNSSEC=no/unsupported
Current DNS Server: 10.0.2.3
       DNS Servers: 10.0.2.3 fd00::3
        DNS Domain: corp.example

Link 3 (docker0)
Current Scopes: none
     Protocols: -DefaultRoute -LLMNR -mDNS -DNSOverTLS DNSSEC=no/unsupported
"""

# systemd 237-245 (Ubuntu 18.04/20.04, `systemd-resolve --status` layout): values continue
# on the following lines.
RESOLVECTL_OLD = """\
Global
       LLMNR setting: no
MulticastDNS setting: no
  DNSOverTLS setting: no
      DNSSEC setting: no
    DNSSEC supported: no
          DNSSEC NTA: 10.in-addr.arpa
                      16.172.in-addr.arpa
                      corp

Link 2 (ens3)
      Current Scopes: DNS
DefaultRoute setting: yes
       LLMNR setting: yes
  Current DNS Server: 10.0.0.2
         DNS Servers: 10.0.0.2
                      fe80::1%ens3
          DNS Domain: ec2.internal
"""

# An air-gapped node: DHCP gave no DNS server, only the compiled-in fallbacks remain.
RESOLVECTL_NONE = """\
Global
       Protocols: -LLMNR -mDNS -DNSOverTLS DNSSEC=no/unsupported
resolv.conf mode: stub

Link 2 (ens192)
Current Scopes: none
     Protocols: -DefaultRoute +LLMNR -mDNS -DNSOverTLS DNSSEC=no/unsupported
"""


def test_resolvectl_current_layout() -> None:
    out = network.parse_resolvectl(RESOLVECTL_NEW)
    assert out["upstream_servers"] == ["10.0.2.3", "fd00::3"]
    assert out["global"]["resolv_conf_mode"] == "stub"
    assert out["global"]["fallback_dns_servers"] == ["1.1.1.1#cloudflare-dns.com", "8.8.8.8#dns.google"]
    eth0, docker0 = out["links"]
    assert (eth0["index"], eth0["ifname"], eth0["current_dns_server"], eth0["default_route"]) == (2, "eth0", "10.0.2.3", True)
    assert eth0["domains"] == ["corp.example"] and eth0["scopes"] == ["DNS"]
    assert docker0["dns_servers"] == [] and docker0["default_route"] is False


def test_resolvectl_old_layout_continuation_lines() -> None:
    out = network.parse_resolvectl(RESOLVECTL_OLD)
    (ens3,) = out["links"]
    assert ens3["dns_servers"] == ["10.0.0.2", "fe80::1%ens3"]
    assert ens3["default_route"] is True and ens3["domains"] == ["ec2.internal"]
    assert out["global"]["domains"] == []      # DNSSEC NTA continuation lines are not domains
    assert out["upstream_servers"] == ["10.0.0.2", "fe80::1%ens3"]


def test_resolvectl_no_upstream_and_garbage() -> None:
    out = network.parse_resolvectl(RESOLVECTL_NONE)
    assert out["upstream_servers"] == [] and out["links"][0]["ifname"] == "ens192"
    with pytest.raises(ValueError, match="resolvectl status"):
        network.parse_resolvectl("Failed to get global data: Unit dbus-org.freedesktop.resolve1.service not found.\n")


# -- ipset ----------------------------------------------------------------------------------------

IPSET = """\
Name: KUBE-CLUSTER-IP
Type: hash:ip,port
Revision: 5
Header: family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x8f8d8c1e
Size in memory: 1400
References: 2
Number of entries: 12

Name: cali60all-ipam-pools
Type: hash:net
Revision: 7
Header: family inet6 hashsize 1024 maxelem 1048576 bucketsize 12 initval 0x1c2d3e4f
Size in memory: 504
References: 1
Number of entries: 1

Name: KUBE-NODE-PORT-LOCAL-TCP
Type: bitmap:port
Revision: 3
Header: range 0-65535
Size in memory: 8264
References: 0
Number of entries: 0
"""

# ipset 6.29 (CentOS 7): no "Number of entries" line in terse output.
IPSET_OLD = """\
Name: KUBE-LOOP-BACK
Type: hash:ip,port,ip
Revision: 2
Header: family inet hashsize 1024 maxelem 65536
Size in memory: 16592
References: 1
"""


def test_ipset_terse_headers() -> None:
    kube, cali, bitmap = firewall.parse_ipset_terse(IPSET)
    assert kube == {"name": "KUBE-CLUSTER-IP", "type": "hash:ip,port", "revision": 5, "family": "inet",
                    "hashsize": 1024, "maxelem": 65536, "memory_bytes": 1400, "references": 2, "entries": 12}
    assert (cali["family"], cali["maxelem"], cali["entries"]) == ("inet6", 1048576, 1)
    assert (bitmap["type"], bitmap["maxelem"], bitmap["family"], bitmap["entries"]) == ("bitmap:port", None, None, 0)


def test_ipset_old_version_and_garbage() -> None:
    (loop,) = firewall.parse_ipset_terse(IPSET_OLD)
    assert loop["entries"] is None and loop["maxelem"] == 65536
    assert firewall.parse_ipset_terse("") == []
    with pytest.raises(ValueError, match="ipset list"):
        firewall.parse_ipset_terse("ipset v7.15: Kernel error received: Operation not permitted\n")


# -- pressure -------------------------------------------------------------------------------------

PSI_513 = """\
some avg10=0.00 avg60=0.12 avg300=0.08 total=123456
full avg10=0.00 avg60=0.00 avg300=0.00 total=0
some avg10=35.10 avg60=42.55 avg300=38.02 total=9876543210
full avg10=20.01 avg60=25.30 avg300=21.77 total=5432109876
some avg10=1.00 avg60=0.50 avg300=0.40 total=4242
full avg10=0.90 avg60=0.45 avg300=0.30 total=4141
"""

# Linux 4.20-5.12: /proc/pressure/cpu has no `full` line.
PSI_OLD = """\
some avg10=2.04 avg60=1.50 avg300=0.99 total=8812345
some avg10=0.00 avg60=0.00 avg300=0.00 total=1200
full avg10=0.00 avg60=0.00 avg300=0.00 total=900
some avg10=61.30 avg60=58.20 avg300=55.00 total=77123456789
full avg10=48.90 avg60=45.10 avg300=40.70 total=60123456789
"""


def test_pressure_by_position() -> None:
    out = system.parse_pressure(PSI_513)
    assert set(out) == {"cpu", "memory", "io"}
    assert out["memory"]["full"] == {"avg10": 20.01, "avg60": 25.3, "avg300": 21.77, "total": 5432109876}
    assert out["cpu"]["full"]["avg300"] == 0.0 and out["io"]["some"]["avg60"] == 0.5


def test_pressure_without_cpu_full_line() -> None:
    out = system.parse_pressure(PSI_OLD)
    assert "full" not in out["cpu"] and out["cpu"]["some"]["avg10"] == 2.04
    assert out["memory"]["full"]["total"] == 900
    assert out["io"]["full"]["avg60"] == 45.1


def test_pressure_rejects_other_text() -> None:
    with pytest.raises(ValueError):
        system.parse_pressure("cat: /proc/pressure/cpu: Operation not supported\n")
    with pytest.raises(ValueError):
        system.parse_pressure(PSI_513 + "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\n")


# -- file-nr --------------------------------------------------------------------------------------

def test_file_nr_unlimited_and_near_max() -> None:
    modern = system.parse_file_nr("2912\t0\t9223372036854775807\n45831\t1203\n")
    assert modern == {"allocated": 2912, "unused": 0, "max": 9223372036854775807, "used_pct": 0.0,
                      "inodes": 45831, "free_inodes": 1203}
    el7 = system.parse_file_nr("1589120\t0\t1620000\n")
    assert el7["used_pct"] == 98.09 and el7["inodes"] is None


def test_file_nr_rejects_other_text() -> None:
    with pytest.raises(ValueError, match="file-nr"):
        system.parse_file_nr("cat: /proc/sys/fs/file-nr: No such file or directory\n")


# -- timesync -------------------------------------------------------------------------------------

CHRONY_SLOW = """\
Reference ID    : 0A000001 (10.0.0.1)
Stratum         : 3
Ref time (UTC)  : Sun Nov 22 11:29:01 2026
System time     : 121.503242731 seconds slow of NTP time
Last offset     : -0.000513021 seconds
RMS offset      : 0.000701340 seconds
Frequency       : 14.917 ppm slow
Residual freq   : -0.002 ppm
Skew            : 0.081 ppm
Root delay      : 0.001210432 seconds
Root dispersion : 0.000819083 seconds
Update interval : 64.2 seconds
Leap status     : Normal
"""

CHRONY_UNSYNCED = """\
Reference ID    : 00000000 ()
Stratum         : 0
Ref time (UTC)  : Thu Jan 01 00:00:00 1970
System time     : 0.000000000 seconds fast of NTP time
Last offset     : +0.000000000 seconds
RMS offset      : 0.000000000 seconds
Frequency       : 0.000 ppm slow
Residual freq   : +0.000 ppm
Skew            : 0.000 ppm
Root delay      : 1.000000000 seconds
Root dispersion : 1.000000000 seconds
Update interval : 0.0 seconds
Leap status     : Not synchronised
"""

TIMESYNCD = """\
       Server: 10.0.0.1 (ntp.corp.example)
Poll interval: 34min 8s (min: 32s; max 34min 8s)
         Leap: normal
      Version: 4
      Stratum: 2
    Reference: C0248F86
    Precision: 1us (-25)
Root distance: 26.062ms (max: 5s)
       Offset: -1.154ms
        Delay: 24.571ms
       Jitter: 1.508ms
 Packet count: 51
    Frequency: +8.526ppm
"""

TIMESYNCD_NO_SERVER = """\
       Server: n/a (n/a)
Poll interval: 0 (min: 32s; max 34min 8s)
 Packet count: 0
"""

NTPQ = """\
     remote           refid      st t when poll reach   delay   offset  jitter
==============================================================================
*10.0.0.1        .GPS.            1 u   33   64  377    0.412  2412.123   0.021
+10.0.0.2        10.0.0.1         2 u   12   64  377    0.512  2411.907   0.031
"""


def test_timesync_chrony() -> None:
    assert time.parse_timesync(CHRONY_SLOW) == {
        "source": "chrony", "synchronized": True, "offset_seconds": -121.503242731, "stratum": 3,
        "server": "10.0.0.1", "leap": "Normal"}
    unsynced = time.parse_timesync(CHRONY_UNSYNCED)
    assert (unsynced["synchronized"], unsynced["server"], unsynced["stratum"]) == (False, None, 0)


def test_timesync_timesyncd_and_ntpq() -> None:
    synced = time.parse_timesync(TIMESYNCD)
    assert (synced["source"], synced["synchronized"], synced["offset_seconds"], synced["server"]) == (
        "timesyncd", True, -0.001154, "10.0.0.1")
    lost = time.parse_timesync(TIMESYNCD_NO_SERVER)
    assert (lost["synchronized"], lost["offset_seconds"], lost["stratum"], lost["server"]) == (False, None, None, None)
    ntp = time.parse_timesync(NTPQ)
    assert (ntp["source"], ntp["offset_seconds"], ntp["stratum"], ntp["server"]) == ("ntpd", 2.412123, 1, "10.0.0.1")
    no_peer = time.parse_timesync(NTPQ.replace("*10.0.0.1", " 10.0.0.1"))
    assert no_peer["synchronized"] is False and no_peer["offset_seconds"] is None
    assert time.parse_timesync("No association ID's returned\n")["synchronized"] is False
    with pytest.raises(ValueError):
        time.parse_timesync("506 Cannot talk to daemon\n")


# -- end to end -----------------------------------------------------------------------------------

def test_facts_through_a_real_bundle(tmp_path: Path) -> None:
    path = tmp_path / "b.tgz"
    with BundleWriter(path, "k8s-bundle-n1-20261122T113000Z") as w:
        w.add_json("nodes/n1/node.json", {"name": "n1", "os": "linux"})
        w.add_bytes("nodes/n1/commands/nft-ruleset.txt", NFT_MIXED.encode())
        w.add_bytes("nodes/n1/commands/ipvsadm.txt", IPVS.encode())
        w.add_bytes("nodes/n1/commands/ip-neigh.txt", NEIGH.encode())
        w.add_bytes("nodes/n1/commands/resolvectl.txt", RESOLVECTL_OLD.encode())
        w.add_bytes("nodes/n1/commands/pressure.txt", PSI_OLD.encode())
        w.add_bytes("nodes/n1/commands/file-nr.txt", b"1589120\t0\t1620000\n40000\t100\n")
        w.finish({"format_version": "1.0", "created_at": "2026-11-22T11:30:00Z", "partial": False,
                  "nodes": [{"name": "n1", "os": "linux"}], "items": []})
    evidence = load_evidence(str(path))
    assert evidence.problems == []
    node = evidence.nodes["n1"]
    assert [c["name"] for c in node["nft"]["chains"] if c["hook"] == "forward"] == ["FORWARD", "forward"]
    assert node["ipvs"]["service_count"] == 6
    assert node["neighbours"]["failed"] == 2
    assert node["resolvectl"]["upstream_servers"][0] == "10.0.0.2"
    assert node["pressure"]["io"]["full"]["avg300"] == 40.7
    assert node["file_nr"]["max"] == 1620000


# -- the rules reading these facts (messages and evidence lines, paths no YAML fixture covers) --

def _findings(tmp_path: Path, files: dict[str, str], rule_ids: set[str]) -> dict[str, object]:
    from k8s_bundle.analyzer.evaluate import evaluate, load_rules
    from k8s_bundle.analyzer.fixtures import build_fixture_bundle

    path = build_fixture_bundle({"name": "t", "expect": "fire", "files": files}, tmp_path / "f.tgz")
    rules = [r for r in load_rules() if r.id in rule_ids]
    assert {r.id for r in rules} == rule_ids
    return {f.rule_id: f for f in evaluate(rules, load_evidence(str(path)))}


def test_neighbour_table_near_gc_thresh3_without_a_kernel_message(tmp_path: Path) -> None:
    """A flat /22 with 950 peers against the default gc_thresh3 of 1024 (sysctl not collected)."""
    neigh = "".join(f"10.20.{i // 250}.{i % 250 + 1} dev eth0 lladdr 52:54:00:00:{i // 256:02x}:{i % 256:02x} STALE\n"
                    for i in range(950)) + "10.20.9.9 dev eth0 FAILED\n"
    rid = "neighbour-table-overflow"
    found = _findings(tmp_path, {"nodes/node1/commands/ip-neigh.txt": neigh}, {rid})
    assert found[rid].fact_lines == ["neighbour entries: 951 IPv4, 0 IPv6; FAILED 1, INCOMPLETE 0; gc_thresh3 not collected (kernel default 1024)"]
    raised = _findings(tmp_path, {"nodes/node1/commands/ip-neigh.txt": neigh,
                                  "nodes/node1/commands/sysctl.txt": "net.ipv4.neigh.default.gc_thresh3 = 8192\n"}, {rid})
    assert raised == {}


def test_pressure_and_file_nr_messages(tmp_path: Path) -> None:
    files = {"nodes/node1/commands/pressure.txt": PSI_OLD,
             "nodes/node1/commands/file-nr.txt": "788432\t0\t791024\n52310\t1820\n"}
    found = _findings(tmp_path, files, {"io-pressure-stall", "memory-pressure-stall", "file-handles-near-max"})
    assert set(found) == {"io-pressure-stall", "file-handles-near-max"}   # memory avg300 is 0
    assert found["io-pressure-stall"].message["en"] == "I/O stalls over 5 minutes: some 55.0%, full 40.7%"
    assert found["file-handles-near-max"].message["en"] == "99.67% of fs.file-max open file handles in use"


def test_nft_rule_names_the_dropping_chain(tmp_path: Path) -> None:
    rid = "nftables-forward-policy-drop"
    found = _findings(tmp_path, {"nodes/node1/commands/nft-ruleset.txt": NFT_MIXED.replace(
        "\t\tip saddr vmap {\n\t\t\t10.0.0.1 : accept,\n\t\t\t10.0.0.2 : drop\n\t\t}\n", "")}, {rid})
    assert found[rid].fact_lines == [
        "table inet filter, chain forward: policy drop; rules: ct state { established, related } accept"]
    # the verdict map may accept pod traffic: not reported
    assert _findings(tmp_path, {"nodes/node1/commands/nft-ruleset.txt": NFT_MIXED}, {rid}) == {}


def test_clock_offset_evidence(tmp_path: Path) -> None:
    rid = "clock-offset-large"
    found = _findings(tmp_path, {"nodes/node1/commands/timesync.txt": CHRONY_SLOW}, {rid})
    assert found[rid].fact_lines == ["chrony: clock behind 10.0.0.1 by 121.503242731 s"]
    assert found[rid].message["en"] == "Clock offset -121.503242731 s from the time source"
    assert _findings(tmp_path, {"nodes/node1/commands/timesync.txt": CHRONY_UNSYNCED}, {rid}) == {}
