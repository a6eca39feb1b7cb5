/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * accel.bpf.h - socket redirection (`accelerate = yes`), a job of the socket
 * object (sockstat.bpf.c includes it once; see there why it is a header).
 *
 * Sockops side (called by cgp_sockops): an established socket of an
 * accelerated policy cgroup joins the sockhash cgp_socks (accelerate()); the
 * HDR_OPT_LEN and RTT callbacks let an end whose sends take TCP leave it
 * again (accel_hdr_opt_len(), accel_rtt()); a closing socket takes its pair
 * entry with it (accel_close()).
 *
 * cgp_redir_msg (sk_msg, attached to cgp_socks) runs for every send of an
 * accelerated socket. The first send of either end decides for the
 * connection (cgp_pairs, the first writer wins): if the peer socket is in
 * cgp_socks (a local, accelerated peer) and both ends read with non-blocking
 * I/O (reader_mode), both ends send straight to each other's receive queue
 * (REDIRECTING); if not, both take the normal TCP path for good (PASSING) and
 * leave the sockhash at the next segment they send (HDR_OPT_LEN callback).
 *
 * After that each end may go back to the normal path on its own, for good:
 * a redirected byte is read before any byte that came by TCP, so that
 * direction keeps byte order (the other way would not). It does when the
 * policy changes (redirected data skips cgroup_skb, which judges it again),
 * when its sends turn into a stream of small writes (TCP coalesces them and
 * wakes the reader once per segment, a redirect once per write), when the
 * peer's reader falls CGP_ACCEL_RCVQ behind (a redirect has no flow control)
 * and when the peer is gone: never an error to the application. Per send,
 * the program writes the run count in the pair's entry and the per-CPU
 * counters; status shows why sockets went back (cgp_redir_cnt.to_tcp).
 */
#ifndef CGP_ACCEL_BPF_H
#define CGP_ACCEL_BPF_H

#define SOL_SOCKET_	1
#define SO_SNDBUF_	7
#define CGP_ACCEL_SNDBUF	(4 << 20)	/* the default tcp_wmem maximum */
#define O_NONBLOCK_	04000		/* asm-generic (x86, arm64, riscv...) */

/*
 * Key of cgp_socks (SOCKHASH of accelerated sockets): the connection as seen
 * from the socket, addresses as IPv6 (IPv4 as ::ffff:a.b.c.d, so an IPv4
 * client and the v4-mapped socket of a dual-stack server find each other).
 * A sender looks up its peer with local and remote swapped.
 */
struct cgp_sockkey {
	__u8  laddr[16];
	__u8  raddr[16];
	__u16 lport;		/* host order */
	__u16 rport;
	__u32 pad;
};
CGP_ASSERT_SIZE(struct cgp_sockkey, 40);

/* Accelerated sockets of local connections, keyed by their own 4-tuple. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 65536);
	__type(key, struct cgp_sockkey);
	__type(value, __u64);
} cgp_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CGP_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct cgp_redir_cnt);
} cgp_redir SEC(".maps");

/* Which keys are in cgp_socks: a presence test that takes no socket reference. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct cgp_sockkey);
	__type(value, __u8);
} cgp_members SEC(".maps");

/*
 * Per connection (pair_key), shared by its two ends ("end N": N is the side
 * pair_key() returns). `decision` is made at the first send of either end:
 * both redirect, or neither ever does. After that each end (each direction)
 * may go to TCP on its own, for good (the flags in its cgp_skstat). `sides`
 * has bit N set before end N redirects for the first time, `leaving` bit N
 * before end N may leave the sockhash; see accel_rtt(). `last`, `run` and
 * `run_bytes` describe the current run of sends by one end.
 */
struct cgp_pair {
	__u32 decision;		/* CGP_PAIR_*, 0 until the first send */
	__u32 sides;
	__u32 leaving;
	__u32 last;
	__u64 run;
	__u64 run_bytes;
	__u64 sk[2];		/* the ends' struct sock, set when established: a sender */
				/* reads its peer's receive queue (no reference held) */
};
CGP_ASSERT_SIZE(struct cgp_pair, 48);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 131072);
	__type(key, struct cgp_sockkey);
	__type(value, struct cgp_pair);
} cgp_pairs SEC(".maps");

#define CGP_PAIR_REDIRECT	1
#define CGP_PAIR_PASS		2

/*
 * A stream: this many sends in a row by one end, smaller than a loopback TCP
 * segment (64 KiB) on average. TCP coalesces such writes (Nagle, autocork,
 * GSO) and wakes the reader once per segment, while a redirect wakes it once
 * per write, so the pair is handed to TCP. Request/response traffic alternates
 * ends and never makes a run this long.
 */
#define CGP_STREAM_RUN		32
#define CGP_STREAM_SEG		65536

/*
 * A redirect is not bounded by the peer's receive buffer (bpf_tcp_ingress()
 * charges only socket memory): a writer faster than its reader would queue
 * without limit. Past this many unread bytes at the peer (or its SO_RCVBUF,
 * if larger) the pair goes to TCP, whose flow control makes the writer wait.
 */
#define CGP_ACCEL_RCVQ		(6 << 20)	/* the default tcp_rmem maximum */

/*
 * How an end's application reads, from its socket's file. Only event-loop
 * readers (O_NONBLOCK, no SO_RCVLOWAT) are ever redirected to: the kernel's
 * tcp_bpf_recvmsg() (what a socket in a sockhash reads through) waits once
 * and returns EAGAIN when a wake-up brings no data (the ACK of its own FIN,
 * send space, a signal, a reset), and returns what the redirect queue holds
 * whatever MSG_WAITALL or SO_RCVLOWAT ask. A non-blocking read gets the same
 * from plain TCP: EAGAIN when nothing is there, what is there otherwise.
 */
enum { RD_UNKNOWN, RD_EVENTS, RD_BLOCKING, RD_LOWAT };

static __always_inline int reader_mode(__u64 addr)
{
	struct sock *sk = (struct sock *)addr;
	struct file *f;

	if (!sk)
		return RD_UNKNOWN;
	f = BPF_CORE_READ(sk, sk_socket, file);
	if (!f)
		return RD_UNKNOWN;	/* not accepted yet: no file, no reader */
	if (!(BPF_CORE_READ(f, f_flags) & O_NONBLOCK_))
		return RD_BLOCKING;
	if (BPF_CORE_READ(sk, sk_rcvlowat) > 1)
		return RD_LOWAT;
	return RD_EVENTS;
}

/* Whether the application of this end has read anything yet. */
static __always_inline bool has_read(struct tcp_sock *tp)
{
	__u32 unread = BPF_CORE_READ(tp, rcv_nxt) - BPF_CORE_READ(tp, copied_seq);

	return unread != (__u32)BPF_CORE_READ(tp, bytes_received);
}

static __always_inline void count_not_accel(__u32 slot, __u32 why)
{
	struct cgp_redir_cnt *cnt = bpf_map_lookup_elem(&cgp_redir, &slot);

	if (cnt && why < CGP_NA_MAX)
		cnt->not_accel[why]++;
}

/* The socket's own key; false for a family we do not accelerate. */
static __always_inline bool sockops_key(struct bpf_sock_ops *skops, struct cgp_sockkey *k)
{
	if (skops->family == AF_INET) {
		cgp_v4mapped(k->laddr, skops->local_ip4);
		cgp_v4mapped(k->raddr, skops->remote_ip4);
	} else if (skops->family == AF_INET6) {
		CGP_CTX_IP6(k->laddr, skops, local_ip6);
		CGP_CTX_IP6(k->raddr, skops, remote_ip6);
	} else {
		return false;
	}
	k->lport = (__u16)skops->local_port;
	k->rport = (__u16)bpf_ntohl(skops->remote_port);
	return true;
}

/* *to = the key `from` as seen from the other end (local and remote swapped). */
static __always_inline void swap_key(const struct cgp_sockkey *from, struct cgp_sockkey *to)
{
	__builtin_memcpy(to->laddr, from->raddr, 16);
	__builtin_memcpy(to->raddr, from->laddr, 16);
	to->lport = from->rport;
	to->rport = from->lport;
	to->pad = 0;
}

/*
 * The key of the connection, the same from both ends: the smaller of the two
 * views. Returns the end's side in the pair (0: its own view is the key).
 */
static __always_inline __u32 pair_key(const struct cgp_sockkey *own, struct cgp_sockkey *pk)
{
	const __u64 *l = (const __u64 *)own->laddr, *r = (const __u64 *)own->raddr;
	bool swap;

	if (own->lport != own->rport)
		swap = own->lport > own->rport;
	else if (l[0] != r[0])
		swap = l[0] > r[0];
	else
		swap = l[1] > r[1];
	if (!swap) {
		*pk = *own;
		return 0;
	}
	swap_key(own, pk);
	return 1;
}

/* Put this end's socket in its pair's entry, which the first end creates. */
static __always_inline void register_end(struct bpf_sock_ops *skops, const struct cgp_sockkey *k)
{
	struct cgp_pair np = {}, *p;
	struct cgp_sockkey pk;
	struct tcp_sock *tp;
	struct bpf_sock *sk;
	__u32 side;

	sk = skops->sk;
	if (!sk)
		return;
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return;
	side = pair_key(k, &pk);
	p = bpf_map_lookup_elem(&cgp_pairs, &pk);
	if (!p) {
		bpf_map_update_elem(&cgp_pairs, &pk, &np, BPF_NOEXIST);
		p = bpf_map_lookup_elem(&cgp_pairs, &pk);
		if (!p)
			return;
	}
	p->sk[side & 1] = (__u64)tp;
}

/*
 * An established socket of an `accelerate = yes` cgroup joins cgp_socks.
 * This runs at connection set-up, after the SYN and SYN-ACK passed the
 * cgroup_skb policy: only allowed connections are ever accelerated. Whether
 * the pair redirects is decided at the first send of either end (cgp_pairs).
 * RTT callbacks (they come only with ACKs of data sent on TCP) let an end
 * that sends on TCP leave the sockhash and its socket hooks.
 */
static __always_inline void accelerate(struct bpf_sock_ops *skops, struct cgp_skstat *st)
{
	struct cgp_sockkey k = {};
	struct cgp_state *gs;
	__u32 zero = 0;
	__u8 one = 1;

	if (!sockops_key(skops, &k))
		return;
	gs = bpf_map_lookup_elem(&cgp_state, &zero);
	if (!gs)
		return;
	if (skops->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB) {
		/* a blocking connect(): its reads will block too, never join */
		struct bpf_sock *sk = skops->sk;
		struct tcp_sock *tp = sk ? bpf_skc_to_tcp_sock(sk) : NULL;

		if (tp && reader_mode((__u64)tp) == RD_BLOCKING) {
			count_not_accel(st->slot, CGP_NA_BLOCKING);
			return;
		}
	}
	st->gen = gs->gen;
	if (bpf_sock_hash_update(skops, &cgp_socks, &k, BPF_NOEXIST))
		return;
	st->flags |= CGP_SS_F_ACCELERATED;
	if (skops->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		st->flags |= CGP_SS_F_PASSIVE;
	bpf_map_update_elem(&cgp_members, &k, &one, BPF_ANY);
	register_end(skops, &k);
	/*
	 * Redirected sends charge the send buffer only while they are handed
	 * over, and no ACK ever grows it: start at the size autotuning would
	 * reach, so a writer rarely waits for send space. (A wait sets
	 * SOCK_NOSPACE, and the write-space wake-up it brings later can make
	 * the kernel's tcp_bpf_recvmsg() return EAGAIN to a blocked reader.)
	 */
	{
		int sndbuf = CGP_ACCEL_SNDBUF;

		bpf_setsockopt(skops, SOL_SOCKET_, SO_SNDBUF_, &sndbuf, sizeof(sndbuf));
	}
	/* RTT: see accel_rtt(); header options: every segment it sends (leaving early) */
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_RTT_CB_FLAG |
				  BPF_SOCK_OPS_WRITE_HDR_OPT_CB_FLAG);
}

/* Leave acceleration: the pair decided on the normal path. */
static __always_inline void unaccelerate(struct bpf_sock_ops *skops, struct cgp_skstat *st,
					 const struct cgp_sockkey *k)
{
	bpf_map_delete_elem(&cgp_socks, k);
	bpf_map_delete_elem(&cgp_members, k);
	if (st)
		st->flags &= ~CGP_SS_F_ACCELERATED;
}

/*
 * BPF_SOCK_OPS_HDR_OPT_LEN_CB: the end sends a segment (data or an ACK):
 * leave the sockhash at once when nothing can ever be redirected to it, so
 * its reads are plain tcp_recvmsg() again: its pair decided on TCP (an end
 * reads with blocking I/O, ...), or its peer is not in the sockhash. The
 * peer's membership is settled once the passive end is established: always
 * for the passive end, and for the active one once it got or had acked data.
 * No option space is reserved: the segment is unchanged.
 */
static __always_inline void accel_hdr_opt_len(struct bpf_sock_ops *skops)
{
	struct cgp_sockkey k = {}, pk, peer;
	__u32 keep = BPF_SOCK_OPS_RTT_CB_FLAG;	/* flags to keep */
	struct cgp_skstat *st;
	struct cgp_pair *p;
	struct bpf_sock *sk;

	sk = skops->sk;
	if (!sk || !sockops_key(skops, &k))
		return;
	st = bpf_sk_storage_get(&cgp_sockstat, sk, 0, 0);
	pair_key(&k, &pk);
	p = bpf_map_lookup_elem(&cgp_pairs, &pk);
	if (!st || !(st->flags & CGP_SS_F_ACCELERATED)) {
		keep = 0;
	} else if (p && p->decision != CGP_PAIR_REDIRECT) {
		/*
		 * Redirecting pairs: the RTT callback decides about leaving.
		 * No entry (the peer closed and took it): it may have
		 * redirected data this end has not read, stay.
		 */
		bool leave = p->decision == CGP_PAIR_PASS;

		if (!leave && ((st->flags & CGP_SS_F_PASSIVE) || skops->bytes_received ||
			       skops->bytes_acked > 1)) {	/* the SYN counts one */
			swap_key(&k, &peer);
			leave = !bpf_map_lookup_elem(&cgp_members, &peer);
		}
		if (!leave)
			return;	/* undecided: look again at the next segment */
		unaccelerate(skops, st, &k);
		keep = 0;
	}
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags &
				  ~(BPF_SOCK_OPS_WRITE_HDR_OPT_CB_FLAG | (BPF_SOCK_OPS_RTT_CB_FLAG & ~keep)));
}

/*
 * BPF_SOCK_OPS_RTT_CB: RTT samples come with ACKs of data: this end sends on
 * the TCP path. Once it does so for good, it leaves the sockhash and its
 * socket hooks, unless the peer ever redirected to it: removal frees the
 * psock, and with it what its redirected receive queue still holds. The peer
 * sets its `sides` bit and then reads `leaving`; this end sets its `leaving`
 * bit and then reads `sides` (atomics, fully ordered): either the peer sees
 * this end leaving and never starts redirecting, or this end stays.
 */
static __always_inline void accel_rtt(struct bpf_sock_ops *skops)
{
	struct cgp_sockkey k = {}, pk;
	struct cgp_skstat *st;
	struct cgp_pair *p;
	struct bpf_sock *sk;
	__u32 side;

	sk = skops->sk;
	if (!sk || !sockops_key(skops, &k))
		return;
	side = pair_key(&k, &pk);
	p = bpf_map_lookup_elem(&cgp_pairs, &pk);
	st = bpf_sk_storage_get(&cgp_sockstat, sk, 0, 0);
	if (!p || !st)
		return;
	if (p->decision != CGP_PAIR_PASS && !(st->flags & CGP_SS_F_PASSING))
		return;	/* undecided, or redirecting: look again at the next ACK */
	__sync_fetch_and_or(&p->leaving, 1u << side);
	if (!(__sync_fetch_and_or(&p->sides, 0) & (1u << (side ^ 1))))
		unaccelerate(skops, st, &k);
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags & ~BPF_SOCK_OPS_RTT_CB_FLAG);
}

/* The socket closed (its record is gone already): its pair entry and membership go too. */
static __always_inline void accel_close(struct bpf_sock_ops *skops)
{
	struct cgp_sockkey k = {}, pk;

	if (sockops_key(skops, &k)) {
		pair_key(&k, &pk);
		bpf_map_delete_elem(&cgp_pairs, &pk);
		bpf_map_delete_elem(&cgp_members, &k);
	}
}

/* ---- sk_msg: per send of an accelerated socket (see the top of this file) ---- */

/* This end's sends take the TCP path from now on; count why if it was redirecting. */
static __always_inline int to_tcp(struct cgp_skstat *st, __u32 why)
{
	struct cgp_redir_cnt *cnt;

	if ((st->flags & CGP_SS_F_REDIRECTING) && why < CGP_TCP_MAX) {
		cnt = bpf_map_lookup_elem(&cgp_redir, &st->slot);
		if (cnt)
			cnt->to_tcp[why]++;
	}
	st->flags = (st->flags & ~CGP_SS_F_REDIRECTING) | CGP_SS_F_PASSING;
	return SK_PASS;
}

/* The peer's key (the sockhash key of the receiving end) and this end's own. */
static __always_inline void msg_keys(struct sk_msg_md *msg, struct cgp_sockkey *peer,
				     struct cgp_sockkey *own)
{
	if (msg->family == AF_INET) {
		cgp_v4mapped(peer->laddr, msg->remote_ip4);
		cgp_v4mapped(peer->raddr, msg->local_ip4);
	} else {
		CGP_CTX_IP6(peer->laddr, msg, remote_ip6);
		CGP_CTX_IP6(peer->raddr, msg, local_ip6);
	}
	peer->lport = (__u16)bpf_ntohl(msg->remote_port);
	peer->rport = (__u16)msg->local_port;
	swap_key(peer, own);
}

/*
 * First send of the pair: redirect if the peer is an accelerated local
 * socket and both ends read with non-blocking I/O. A peer not established
 * or not accepted yet has no reader to judge (a peer that is not ours never
 * is: its end leaves the sockhash at its next segment, HDR_OPT_LEN
 * callback), and one that has not read yet may still be turning
 * non-blocking (accept(), then fcntl(O_NONBLOCK)): this send takes TCP and a
 * later one decides. False while undecided.
 */
static __always_inline bool decide(struct cgp_pair *p, struct cgp_skstat *st, __u32 side,
				   const struct cgp_sockkey *peer)
{
	__u32 dec = CGP_PAIR_PASS, why = CGP_NA_MAX;

	if (!p->sk[(side ^ 1) & 1])
		return false;	/* the peer is not established yet, or not ours: undecided */
	if (bpf_map_lookup_elem(&cgp_members, peer)) {
		__u64 pa = p->sk[(side ^ 1) & 1];
		int me = reader_mode(p->sk[side & 1]), pe = reader_mode(pa);

		if (me == RD_UNKNOWN || pe == RD_UNKNOWN || (pe > RD_EVENTS && !has_read((struct tcp_sock *)pa)))
			return false;	/* undecided */
		if (me == RD_BLOCKING || pe == RD_BLOCKING)
			why = CGP_NA_BLOCKING;
		else if (me == RD_LOWAT || pe == RD_LOWAT)
			why = CGP_NA_RCVLOWAT;
		else
			dec = CGP_PAIR_REDIRECT;
	}
	if (!__sync_val_compare_and_swap(&p->decision, 0, dec))
		count_not_accel(st->slot, why);	/* this send decided */
	return true;
}

enum { GO_REDIRECT, GO_PASS, GO_TCP };

/*
 * Before the first redirect of this end. Sends that took TCP before the
 * decision (the peer was not accepted yet) are read first: a redirected byte
 * would be read before them. Redirect once the peer's application has read
 * every byte this end wrote (the send after); after 32 sends that found it
 * behind, this end stays on TCP. Then say so, and look whether the peer may
 * be leaving the sockhash (accel_rtt() does it the other way round), so no
 * redirect ever targets a socket on its way out.
 */
static __always_inline int first_redirect(struct cgp_pair *p, struct cgp_skstat *st, __u32 side,
					  struct sock *ps)
{
	struct tcp_sock *own = (struct tcp_sock *)p->sk[side & 1];
	__u32 bit = 1u << side;

	if (!ps || !own || BPF_CORE_READ(own, write_seq) != BPF_CORE_READ((struct tcp_sock *)ps, copied_seq)) {
		/* a reader that never catches up (a bulk stream): TCP for good */
		if (++st->waits >= CGP_STREAM_RUN)
			return GO_TCP;
		return GO_PASS;
	}
	__sync_fetch_and_or(&p->sides, bit);
	if (__sync_fetch_and_or(&p->leaving, 0) & (bit ^ 3))
		return GO_TCP;
	return GO_REDIRECT;
}

/*
 * A reader that falls behind: TCP and its flow control from now on. Checked
 * every 8th send (and every large one): at most 8 small ones late. The peer
 * may be closing: its socket memory stays a socket (TCP sockets are
 * SLAB_TYPESAFE_BY_RCU) and a probe read never faults.
 */
static __always_inline bool reader_behind(struct cgp_skstat *st, struct sock *ps, __u32 size)
{
	int queued = 0, rcvbuf = 0;

	if (!ps || ((++st->sends & 7) && size < CGP_STREAM_SEG))
		return false;
	bpf_probe_read_kernel(&queued, sizeof(queued), &ps->sk_backlog.rmem_alloc.counter);
	if (queued <= CGP_ACCEL_RCVQ)
		return false;
	bpf_probe_read_kernel(&rcvbuf, sizeof(rcvbuf), &ps->sk_rcvbuf);
	return queued > rcvbuf;
}

SEC("sk_msg")
int cgp_redir_msg(struct sk_msg_md *msg)
{
	struct cgp_sockkey peer = {}, own, pk;
	struct cgp_redir_cnt *cnt;
	struct cgp_state *gs;
	struct cgp_skstat *st;
	struct bpf_sock *sk = msg->sk;
	struct cgp_pair *p, np = {};
	__u32 zero = 0, side;
	struct sock *ps;

	if (!sk)
		return SK_PASS;
	st = bpf_sk_storage_get(&cgp_sockstat, sk, 0, 0);
	if (!st || (st->flags & CGP_SS_F_PASSING))
		return SK_PASS;
	msg_keys(msg, &peer, &own);
	side = pair_key(&own, &pk);

	p = bpf_map_lookup_elem(&cgp_pairs, &pk);
	if (!p) {
		if (st->flags & CGP_SS_F_REDIRECTING)
			return to_tcp(st, CGP_TCP_GONE);	/* the peer closed: its entry went with it */
		bpf_map_update_elem(&cgp_pairs, &pk, &np, BPF_NOEXIST);
		p = bpf_map_lookup_elem(&cgp_pairs, &pk);	/* the winner's */
		if (!p)
			return to_tcp(st, CGP_TCP_GONE);
	}
	if (!p->decision && !decide(p, st, side, &peer))
		return SK_PASS;
	gs = bpf_map_lookup_elem(&cgp_state, &zero);
	if (!gs || gs->gen != st->gen)
		return to_tcp(st, CGP_TCP_POLICY);	/* cgroup_skb judges this end now */

	/* runs of sends by one end: a stream of small writes goes to TCP */
	if (p->last != side) {
		p->last = side;
		p->run = 1;
		p->run_bytes = msg->size;
	} else {
		p->run++;
		p->run_bytes += msg->size;
		if (p->run >= CGP_STREAM_RUN && p->run_bytes < (__u64)p->run * CGP_STREAM_SEG)
			return to_tcp(st, CGP_TCP_STREAM);
	}

	if (p->decision != CGP_PAIR_REDIRECT)
		return to_tcp(st, CGP_TCP_MAX);	/* never redirected: nothing to count */
	/* the peer's reader may turn to blocking reads or set SO_RCVLOWAT later */
	ps = (struct sock *)p->sk[(side ^ 1) & 1];
	if (reader_mode((__u64)ps) > RD_EVENTS)
		return to_tcp(st, CGP_TCP_BLOCKING);
	if (!(st->flags & CGP_SS_F_REDIRECTING)) {
		int go = first_redirect(p, st, side, ps);

		if (go == GO_PASS)
			return SK_PASS;
		if (go == GO_TCP)
			return to_tcp(st, CGP_TCP_MAX);
	}
	if (reader_behind(st, ps, msg->size))
		return to_tcp(st, CGP_TCP_SLOW);
	if (bpf_msg_redirect_hash(msg, &cgp_socks, &peer, BPF_F_INGRESS) != SK_PASS)
		return to_tcp(st, CGP_TCP_GONE);	/* the normal path, never an error */
	st->flags |= CGP_SS_F_REDIRECTING;
	cnt = bpf_map_lookup_elem(&cgp_redir, &st->slot);
	if (cnt) {
		cnt->msgs++;
		cnt->bytes += msg->size;
	}
	return SK_PASS;
}

#endif /* CGP_ACCEL_BPF_H */
