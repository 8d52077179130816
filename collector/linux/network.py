"""Network area: addresses, routes, rules, packet filters (iptables/nftables/ipvs), conntrack,
listening sockets, DNS configuration, hosts, and CNI configuration and state."""
from __future__ import annotations

from k8s_bundle.bundle.specs import S
from k8s_bundle.collector.context import Context
from k8s_bundle.collector.items import DerivedItem, FileItem, GlobItem, Item, command

AREA = "network"


def items(ctx: Context) -> list[Item]:
    c = command
    return [
        c(S.ip_addr, AREA, argv=("ip", "-d", "addr")),
        c(S.ip_link, AREA, argv=("ip", "-d", "-s", "link")),
        c(S.ip_route, AREA, argv=("ip", "route", "show", "table", "all")),
        c(S.ip6_route, AREA, argv=("ip", "-6", "route", "show", "table", "all")),
        c(S.ip_rule, AREA, argv=("ip", "rule")),
        c(S.ip_neigh, AREA, argv=("ip", "neigh")),
        c(S.iptables_save, AREA, argv=("iptables-save",), needs_root=True),
        c(S.ip6tables_save, AREA, argv=("ip6tables-save",), needs_root=True),
        c(S.iptables_legacy_save, AREA, argv=("iptables-legacy-save",), needs_root=True),
        c(S.nft_ruleset, AREA, argv=("nft", "list", "ruleset"), needs_root=True),
        c(S.ipvsadm, AREA, argv=("ipvsadm", "-Ln"), needs_root=True),
        c(S.ipset, AREA, argv=("ipset", "list", "-t"), needs_root=True),
        c(S.conntrack_stats, AREA, argv=("conntrack", "-S"), needs_root=True),
        c(S.conntrack_count, AREA, argv=("sysctl", "net.netfilter.nf_conntrack_count",
                                         "net.netfilter.nf_conntrack_max")),
        c(S.ss_listen, AREA, argv=("ss", "-tlnpH"), needs_root=True),
        c(S.ss_listen_udp, AREA, argv=("ss", "-ulnpH"), needs_root=True),
        c(S.ss_summary, AREA, argv=("ss", "-s")),
        c(S.hostname, AREA, argv=("hostname",)),
        c(S.hostname_i, AREA, argv=("hostname", "-i")),
        c(S.hostname_fqdn, AREA, argv=("hostname", "-f")),
        c(S.resolvectl, AREA, argv=("resolvectl", "status")),
        c(S.bridge_link, AREA, argv=("bridge", "link")),
        c(S.bridge_fdb, AREA, argv=("bridge", "fdb", "show")),
        FileItem("resolv-conf", AREA, spec=S.resolv_conf, path="/etc/resolv.conf"),
        FileItem("resolved-resolv-conf", AREA, spec=S.resolv_upstream, path="/run/systemd/resolve/resolv.conf"),
        FileItem("resolved-conf", AREA, spec=S.network_files, path="/etc/systemd/resolved.conf"),
        FileItem("hosts", AREA, spec=S.network_files, path="/etc/hosts"),
        FileItem("nsswitch", AREA, spec=S.network_files, path="/etc/nsswitch.conf"),
        GlobItem("cni-config", AREA, spec=(S.cni_configs, S.cni_dir), patterns=("/etc/cni/net.d/*",)),
        DerivedItem("cni-bin", AREA, spec=S.cni_bin, func=cni_bin,
                    source="ls /opt/cni/bin"),
        FileItem("flannel-subnet", AREA, spec=S.flannel_subnet, path="/run/flannel/subnet.env"),
        GlobItem("flannel-config", AREA, spec=S.cni_state, patterns=("/etc/kube-flannel/*",)),
        GlobItem("calico-state", AREA, spec=S.cni_state, patterns=("/var/lib/calico/nodename", "/var/lib/calico/mtu",
                                                 "/etc/calico/*.cfg", "/etc/calico/*.yaml")),
        GlobItem("cilium-state", AREA, spec=S.cni_state, patterns=("/var/run/cilium/state/globals/*.h",
                                                 "/etc/cilium/*")),
        GlobItem("cni-ipam-state", AREA, spec=S.cni_state, patterns=("/var/lib/cni/networks/*/last_reserved_ip.0",
                                                   "/var/lib/cni/flannel/*")),
        GlobItem("network-config", AREA, spec=S.network_files,
                 patterns=("/etc/network/interfaces", "/etc/netplan/*.yaml",
                           "/etc/sysconfig/network-scripts/ifcfg-*",
                           "/etc/NetworkManager/conf.d/*.conf")),
    ]


def cni_bin(ctx: Context) -> str | None:
    names = ctx.transport.listdir("/opt/cni/bin")
    if not names and ctx.transport.stat("/opt/cni/bin") is None:
        return None
    return "\n".join(names) + ("\n" if names else "")
