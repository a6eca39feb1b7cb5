/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * packet.bpf.h - what enforce.bpf.c reads of a cgroup_skb packet: protocol,
 * remote address, ports, as seen from the socket (remote = source on
 * ingress, destination on egress). The skb starts at the IP header.
 */
#ifndef CGP_PACKET_BPF_H
#define CGP_PACKET_BPF_H

#include "bpf/shared.bpf.h"

/* uapi macros that vmlinux.h does not carry (IPv6 extension headers, ICMPv6) */
#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_DSTOPTS_ 60
#define IPPROTO_ICMPV6_	58

struct pkt {
	__u8  proto;		/* enum cgp_proto */
	__u8  l4proto;		/* IPPROTO_* */
	__u16 lport;		/* host order; 0 when not TCP/UDP */
	__u16 rport;
	__u8  raddr[16];
	__u16 l4off;		/* offset of the L4 header from the IP header; 0: none
				 * (non-first fragment). The DNS parser starts there. */
	__u32 icmp;		/* ICMP/ICMPv6: type << 8 | code; CGP_NO_ICMP: no header */
};

#define CGP_NO_ICMP	0x10000u

/*
 * Fill *p from the packet of direction dir; -1 when it is not IP or too
 * short. IPv6: up to 4 extension headers (hop-by-hop, routing, destination
 * options, fragment) are skipped. A non-first fragment has no L4 header:
 * its ports stay 0, its ICMP type unknown (CGP_NO_ICMP: only rules without a
 * type match it).
 */
static __always_inline int parse(struct __sk_buff *skb, __u8 dir, struct pkt *p)
{
	__u32 off, l4off;
	__u8 nexthdr;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
			return -1;
		cgp_v4mapped(p->raddr, dir == CGP_DIR_IN ? ip.saddr : ip.daddr);
		nexthdr = ip.protocol;
		l4off = (ip.ihl & 0xf) * 4;
		/* Non-first fragments carry no L4 header (cgroup_skb normally sees whole datagrams). */
		if (ip.frag_off & bpf_htons(0x1fff))
			l4off = 0;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			return -1;
		__builtin_memcpy(p->raddr, dir == CGP_DIR_IN ? &ip6.saddr : &ip6.daddr, 16);
		nexthdr = ip6.nexthdr;
		off = sizeof(ip6);
		l4off = off;
#pragma unroll
		for (int i = 0; i < 4; i++) {
			struct { __u8 nh, len; __u16 frag; } ext;

			if (nexthdr != IPPROTO_HOPOPTS_ && nexthdr != IPPROTO_ROUTING_ &&
			    nexthdr != IPPROTO_DSTOPTS_ && nexthdr != IPPROTO_FRAGMENT_)
				break;
			if (bpf_skb_load_bytes(skb, off, &ext, sizeof(ext)))
				return -1;
			if (nexthdr == IPPROTO_FRAGMENT_) {
				if (ext.frag & bpf_htons(0xfff8)) {	/* offset != 0 */
					nexthdr = ext.nh;
					off = 0;
					break;
				}
				off += 8;
			} else {
				off += (ext.len + 1) * 8;
			}
			nexthdr = ext.nh;
		}
		l4off = off;
	} else {
		return -1;
	}

	p->l4proto = nexthdr;
	p->l4off = (__u16)l4off;
	p->lport = p->rport = 0;
	p->icmp = CGP_NO_ICMP;
	switch (nexthdr) {
	case IPPROTO_TCP:
		p->proto = CGP_PROTO_TCP;
		break;
	case IPPROTO_UDP:
		p->proto = CGP_PROTO_UDP;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6_:
		p->proto = CGP_PROTO_ICMP;
		if (l4off) {
			__u8 tc[2];	/* type, code */

			if (!bpf_skb_load_bytes(skb, l4off, tc, sizeof(tc)))
				p->icmp = (__u32)tc[0] << 8 | tc[1];
		}
		return 0;
	default:
		p->proto = CGP_PROTO_OTHER;
		return 0;
	}
	if (l4off) {
		__u16 ports[2];

		if (bpf_skb_load_bytes(skb, l4off, ports, sizeof(ports)))
			return -1;
		p->lport = bpf_ntohs(dir == CGP_DIR_IN ? ports[1] : ports[0]);
		p->rport = bpf_ntohs(dir == CGP_DIR_IN ? ports[0] : ports[1]);
	}
	return 0;
}

#endif /* CGP_PACKET_BPF_H */
