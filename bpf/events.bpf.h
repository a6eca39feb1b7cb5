/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * events.bpf.h - deny events of `log = deny` policies (enforce.bpf.c
 * includes it once, after eval(): the deny path judges the packet again to
 * find the deciding rule's line). One ring buffer record (struct cgp_event,
 * enforce.h) per denied packet, rate-limited per slot by a token bucket.
 */
#ifndef CGP_EVENTS_BPF_H
#define CGP_EVENTS_BPF_H

/* Only the deny path of log/audit policies touches these. */
struct cgp_rl {			/* token bucket of a slot (CGP_EVENT_RATE, enforce.h) */
	__u64 last_ns;
	__u64 credit_ns;
	__u64 suppressed;
};
CGP_ASSERT_SIZE(struct cgp_rl, 24);

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} cgp_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CGP_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct cgp_rl);
} cgp_rl SEC(".maps");

/* Token bucket per slot: may this deny send an event? Approximate under races. */
static __always_inline bool rate_ok(__u32 slot, __u32 *suppressed)
{
	const __u64 period = 1000000000ull / CGP_EVENT_RATE, cap = period * CGP_EVENT_BURST;
	struct cgp_rl *rl = bpf_map_lookup_elem(&cgp_rl, &slot);
	__u64 now = bpf_ktime_get_ns(), credit;

	if (!rl)
		return false;
	credit = rl->credit_ns + (now - rl->last_ns);
	if (credit > cap)
		credit = cap;
	rl->last_ns = now;
	if (credit < period) {
		rl->credit_ns = credit;
		rl->suppressed++;
		return false;
	}
	rl->credit_ns = credit - period;
	*suppressed = (__u32)rl->suppressed;
	rl->suppressed = 0;
	return true;
}

/* The deny path of a `log = deny` policy: which rule decided, then one event. */
static __noinline void deny_event(struct __sk_buff *skb, struct ctx *c, struct pkt *p, __u8 audit)
{
	struct cgp_event *e;
	struct bpf_sock *sk = skb->sk;
	__u32 suppressed = 0;
	__u8 rdir = c->dir & 1;

	if (!rate_ok(c->slot, &suppressed))
		return;
	/* A TCP connection is judged by who opened it. */
	if (p->proto == CGP_PROTO_TCP && sk) {
		sk = bpf_sk_fullsock(sk);
		if (sk) {
			struct cgp_sk *st = bpf_sk_storage_get(&cgp_sk, sk, 0, 0);

			if (sk->state == BPF_TCP_LISTEN || (st && st->conn_dir == CGP_CONN_PASSIVE))
				rdir = CGP_DIR_IN;
			else if (st && st->conn_dir == CGP_CONN_ACTIVE)
				rdir = CGP_DIR_OUT;
		} else {
			rdir = CGP_DIR_IN;
		}
	}
	eval(c, rdir, p, svc_port(rdir, p));
	e = bpf_ringbuf_reserve(&cgp_events, sizeof(*e), 0);
	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->cgroup_id = bpf_skb_cgroup_id(skb);
	e->slot = c->slot;
	e->line = c->line;
	e->len = skb->len;
	e->suppressed = suppressed;
	e->dir = c->dir;
	e->rule_dir = rdir;
	e->proto = p->proto;
	e->l4proto = p->l4proto;
	e->audit = audit;
	e->lport = p->lport;
	e->rport = p->rport;
	if (p->proto == CGP_PROTO_ICMP) {
		e->icmp_type = p->icmp <= 0xffff ? (__u8)(p->icmp >> 8) : 0xff;
		e->icmp_code = p->icmp <= 0xffff ? (__u8)(p->icmp & 0xff) : 0xff;
	}
	__builtin_memcpy(e->raddr, p->raddr, 16);
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;
		__u32 local = 0;	/* ::ffff:0.0.0.0 when the header cannot be read */
		__u8 a[16];		/* on the stack: word stores into the record */

		e->family = 4;
		if (!bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
			local = c->dir == CGP_DIR_IN ? ip.daddr : ip.saddr;
		cgp_v4mapped(a, local);
		__builtin_memcpy(e->laddr, a, 16);
	} else {
		struct ipv6hdr ip6;

		e->family = 6;
		if (!bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			__builtin_memcpy(e->laddr, c->dir == CGP_DIR_IN ? &ip6.daddr : &ip6.saddr, 16);
	}
	bpf_ringbuf_submit(e, 0);
}

#endif /* CGP_EVENTS_BPF_H */
