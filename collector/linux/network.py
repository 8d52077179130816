"""Network area: addresses, routes, rules, packet filters (iptables/nftables/ipvs), conntrack,
listening sockets, DNS configuration, hosts, and CNI configuration and state."""
from __future__ import annotations

from k8s_bundle.collector.context import Context
from k8s_bundle.collector.items import CommandItem, DerivedItem, FileItem, GlobItem, Item

AREA = "network"


def items(ctx: Context) -> list[Item]:
    c = CommandItem
    return [
        c("ip-addr", AREA, argv=("ip", "-d", "addr")),
        c("ip-link", AREA, argv=("ip", "-d", "-s", "link")),
        c("ip-route", AREA, argv=("ip", "route", "show", "table", "all")),
        c("ip6-route", AREA, argv=("ip", "-6", "route", "show", "table", "all")),
        c("ip-rule", AREA, argv=("ip", "rule")),
        c("ip-neigh", AREA, argv=("ip", "neigh")),
        c("iptables-save", AREA, argv=("iptables-save",), needs_root=True),
        c("ip6tables-save", AREA, argv=("ip6tables-save",), needs_root=True),
        c("iptables-legacy-save", AREA, argv=("iptables-legacy-save",), needs_root=True),
        c("nft-ruleset", AREA, argv=("nft", "list", "ruleset"), needs_root=True),
        c("ipvsadm", AREA, argv=("ipvsadm", "-Ln"), needs_root=True),
        c("ipset", AREA, argv=("ipset", "list", "-t"), needs_root=True),
        c("conntrack-stats", AREA, argv=("conntrack", "-S"), needs_root=True),
        c("conntrack-count", AREA, argv=("sysctl", "net.netfilter.nf_conntrack_count",
                                         "net.netfilter.nf_conntrack_max")),
        c("ss-listen", AREA, argv=("ss", "-tlnpH"), needs_root=True),
        c("ss-listen-udp", AREA, argv=("ss", "-ulnpH"), needs_root=True),
        c("ss-summary", AREA, argv=("ss", "-s")),
        c("hostname", AREA, argv=("hostname",)),
        c("hostname-i", AREA, argv=("hostname", "-i")),
        c("hostname-fqdn", AREA, argv=("hostname", "-f")),
        c("resolvectl", AREA, argv=("resolvectl", "status")),
        c("bridge-link", AREA, argv=("bridge", "link")),
        c("bridge-fdb", AREA, argv=("bridge", "fdb", "show")),
        FileItem("resolv-conf", AREA, path="/etc/resolv.conf"),
        FileItem("resolved-resolv-conf", AREA, path="/run/systemd/resolve/resolv.conf"),
        FileItem("resolved-conf", AREA, path="/etc/systemd/resolved.conf"),
        FileItem("hosts", AREA, path="/etc/hosts"),
        FileItem("nsswitch", AREA, path="/etc/nsswitch.conf"),
        GlobItem("cni-config", AREA, patterns=("/etc/cni/net.d/*",)),
        DerivedItem("cni-bin", AREA, path="commands/cni-bin.txt", func=cni_bin,
                    source="ls /opt/cni/bin"),
        FileItem("flannel-subnet", AREA, path="/run/flannel/subnet.env"),
        GlobItem("flannel-config", AREA, patterns=("/etc/kube-flannel/*",)),
        GlobItem("calico-state", AREA, patterns=("/var/lib/calico/nodename", "/var/lib/calico/mtu",
                                                 "/etc/calico/*.cfg", "/etc/calico/*.yaml")),
        GlobItem("cilium-state", AREA, patterns=("/var/run/cilium/state/globals/*.h",
                                                 "/etc/cilium/*")),
        GlobItem("cni-ipam-state", AREA, patterns=("/var/lib/cni/networks/*/last_reserved_ip.0",
                                                   "/var/lib/cni/flannel/*")),
        GlobItem("network-config", AREA,
                 patterns=("/etc/network/interfaces", "/etc/netplan/*.yaml",
                           "/etc/sysconfig/network-scripts/ifcfg-*",
                           "/etc/NetworkManager/conf.d/*.conf")),
    ]


def cni_bin(ctx: Context) -> str | None:
    names = ctx.transport.listdir("/opt/cni/bin")
    if not names and ctx.transport.stat("/opt/cni/bin") is None:
        return None
    return "\n".join(names) + ("\n" if names else "")
