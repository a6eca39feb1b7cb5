/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * sockstat.h - the types the socket object (sockstat.bpf.c: per-socket TCP
 * stats, stats.bpf.h, and socket redirection, accel.bpf.h) shares with user
 * space: the stats dump record, the redirect counters, the socket flags.
 */
#ifndef CGP_BPF_SOCKSTAT_H
#define CGP_BPF_SOCKSTAT_H

#include "bpf/common.h"

/* Flags of a socket's record (cgp_sockrec.flags, from its SK_STORAGE record). */
#define CGP_SS_F_ACCELERATED	(1u << 0)	/* in cgp_socks: sends may be redirected */
#define CGP_SS_F_ADOPTED	(1u << 1)	/* predates the policy: found by the dump */
#define CGP_SS_F_STATS		(1u << 2)	/* its policy has stats = yes */
#define CGP_SS_F_REDIRECTING	(1u << 3)	/* sends go straight to the peer socket */
#define CGP_SS_F_PASSING	(1u << 4)	/* sends take the normal TCP path */
#define CGP_SS_F_PASSIVE	(1u << 5)	/* the accepted end of its connection */

/* Why an accelerated socket's sends went back to TCP (cgp_redir_cnt.to_tcp). */
enum {
	CGP_TCP_POLICY,		/* the policy changed: cgroup_skb judges it again */
	CGP_TCP_STREAM,		/* a stream of small writes: TCP coalesces them */
	CGP_TCP_SLOW,		/* its reader fell behind: TCP flow control */
	CGP_TCP_GONE,		/* the peer closed */
	CGP_TCP_BLOCKING,	/* its reader turned to blocking reads or SO_RCVLOWAT */
	CGP_TCP_MAX,
};

/*
 * Why a connection between two accelerated sockets was not accelerated
 * (cgp_redir_cnt.not_accel): an end whose reads can block (the kernel's
 * tcp_bpf_recvmsg() returns EAGAIN to a blocked reader on a wake-up without
 * data, and ignores MSG_WAITALL for redirected data), or one that set
 * SO_RCVLOWAT (ignored for redirected data too). See docs/ARCHITECTURE.md.
 */
enum {
	CGP_NA_BLOCKING,	/* an end's socket is in blocking mode (no O_NONBLOCK) */
	CGP_NA_RCVLOWAT,	/* an end set SO_RCVLOWAT above 1 */
	CGP_NA_MAX,
};

/* PERCPU_ARRAY cgp_redir, index slot: sends redirected to a local peer. */
struct cgp_redir_cnt {
	__u64 msgs;
	__u64 bytes;
	__u64 to_tcp[CGP_TCP_MAX];	/* sockets whose sends went back to TCP, by reason */
	__u64 not_accel[CGP_NA_MAX];	/* connections never accelerated, by reason */
};
CGP_ASSERT_SIZE(struct cgp_redir_cnt, 72);

/* cgp_cgslots (hash, cgroup id -> slot) of every policy cgroup with `stats = yes`,
 * for the dump to adopt sockets that existed before the policy. */
struct cgp_cgslot {
	__u32 slot;
	__u32 pad;
};
CGP_ASSERT_SIZE(struct cgp_cgslot, 8);

/*
 * One record per socket, streamed by the iterator cgp_dump in a single
 * read(). The numbers are the tcp_sock's own, converted as tcp_get_info()
 * does (the values `ss -tin` prints).
 */
struct cgp_sockrec {
	__u64 cookie;
	__u64 since_ns;
	__u64 bytes_acked;
	__u64 bytes_received;
	__u32 slot;
	__u16 family;		/* AF_INET | AF_INET6 */
	__u8  state;		/* TCP_ESTABLISHED ... (include/net/tcp_states.h) */
	__u8  flags;		/* CGP_SS_F_* */
	__u8  saddr[16];	/* IPv4 as ::ffff:a.b.c.d */
	__u8  daddr[16];
	__u16 sport;		/* host order */
	__u16 dport;
	__u32 srtt_us;		/* srtt_us >> 3 */
	__u32 rttvar_us;	/* mdev_us >> 2 */
	__u32 snd_cwnd;
	__u32 snd_ssthresh;
	__u32 total_retrans;
	__u32 segs_in;
	__u32 segs_out;
	__u32 delivered;
	__u32 pad;
};
CGP_ASSERT_SIZE(struct cgp_sockrec, 112);
CGP_ASSERT_OFFSET(struct cgp_sockrec, saddr, 40);
CGP_ASSERT_OFFSET(struct cgp_sockrec, sport, 72);

#endif /* CGP_BPF_SOCKSTAT_H */
