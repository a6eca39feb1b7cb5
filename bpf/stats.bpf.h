/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * stats.bpf.h - per-socket TCP stats, a job of the socket object
 * (sockstat.bpf.c includes it once; see there why it is a header).
 *
 * The sockops program gives every listening or established TCP socket of a
 * policy cgroup a record (cgp_sockstat, declared by sockstat.bpf.c) and
 * deletes it when the socket closes; stats_open() fills the stats part. Only
 * the state callback is enabled for stats: RTT, cwnd, retransmits ... are
 * kept by the kernel in the tcp_sock already, so per-ACK callbacks would only
 * cost time.
 *
 * cgp_dump (iter/tcp) walks the TCP sockets, keeps those with a record of a
 * `stats = yes` policy and writes one binary cgp_sockrec each with the
 * tcp_sock's numbers at dump time, so user space gets every socket of every
 * policy in one read().
 */
#ifndef CGP_STATS_BPF_H
#define CGP_STATS_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CGP_MAX_SLOTS);
	__type(key, __u64);
	__type(value, struct cgp_cgslot);
} cgp_cgslots SEC(".maps");

/* A new record (st->slot 0) of a socket of the policy cgroup cg. */
static __always_inline void stats_open(struct bpf_sock_ops *skops, struct cgp_skstat *st,
				       const struct cgp_cgroup *cg)
{
	st->slot = cg->slot;
	st->cookie = bpf_get_socket_cookie(skops);
	st->since_ns = bpf_ktime_get_ns();
	if (cg->flags & CGP_POL_F_STATS)
		st->flags |= CGP_SS_F_STATS;
}

/*
 * A socket created before its cgroup got the policy (a server's listener, its
 * connections) never passed the sockops callbacks: find its policy by walking
 * up from its cgroup, deepest first, and give it a record now.
 */
static __always_inline struct cgp_skstat *adopt(struct sock *sk)
{
	struct cgroup *cg = BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
	struct cgp_cgslot *cs = NULL;
	struct cgp_skstat *st;

	for (int i = 0; i < 32 && cg; i++) {
		__u64 id = BPF_CORE_READ(cg, kn, id);

		cs = bpf_map_lookup_elem(&cgp_cgslots, &id);
		if (cs)
			break;
		cg = (struct cgroup *)BPF_CORE_READ(cg, self.parent);	/* self is first */
	}
	if (!cs)
		return NULL;
	st = bpf_sk_storage_get(&cgp_sockstat, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (st && !st->slot) {
		st->slot = cs->slot;
		st->cookie = bpf_get_socket_cookie(sk);
		st->flags |= CGP_SS_F_ADOPTED | CGP_SS_F_STATS;
	}
	return st;
}

/*
 * iter/tcp rather than iter/bpf_sk_storage_map: map iterators are refused
 * (EPERM) by the kernels this runs on, while the TCP iterator is allowed.
 * It walks the TCP sockets of the reader's network namespace; the sockets
 * without our storage are skipped at the cost of one lookup each.
 */
SEC("iter/tcp")
int cgp_dump(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct cgp_sockrec r = {};
	struct cgp_skstat *st;
	struct tcp_sock *tp;
	struct sock *sk;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);	/* full TCP sockets only: no time-wait, no request */
	if (!tp)
		return 0;
	sk = (struct sock *)tp;
	st = bpf_sk_storage_get(&cgp_sockstat, sk, 0, 0);
	if (!st) {
		st = adopt(sk);
		if (!st)
			return 0;
	}
	if (!(st->flags & CGP_SS_F_STATS))
		return 0;	/* an accelerate-only policy */
	r.state = sk->__sk_common.skc_state;
	if (r.state == BPF_TCP_CLOSE)
		return 0;
	r.cookie = st->cookie;
	r.since_ns = st->since_ns;
	r.slot = st->slot;
	r.flags = st->flags;
	r.family = sk->__sk_common.skc_family;
	if (r.family == AF_INET) {
		cgp_v4mapped(r.saddr, sk->__sk_common.skc_rcv_saddr);
		cgp_v4mapped(r.daddr, sk->__sk_common.skc_daddr);
	} else {
		BPF_CORE_READ_INTO(&r.saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&r.daddr, sk, __sk_common.skc_v6_daddr);
	}
	r.sport = sk->__sk_common.skc_num;
	r.dport = bpf_ntohs(sk->__sk_common.skc_dport);
	/* as tcp_get_info() reports them */
	r.srtt_us = tp->srtt_us >> 3;
	r.rttvar_us = tp->mdev_us >> 2;
	r.snd_cwnd = tp->snd_cwnd;
	r.snd_ssthresh = tp->snd_ssthresh;
	r.total_retrans = tp->total_retrans;
	r.bytes_acked = tp->bytes_acked;
	r.bytes_received = tp->bytes_received;
	r.segs_in = tp->segs_in;
	r.segs_out = tp->segs_out;
	r.delivered = tp->delivered;
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

#endif /* CGP_STATS_BPF_H */
