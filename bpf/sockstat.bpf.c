// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sockstat.bpf.c - the socket object: one sockops program, cgp_sockops,
 * attached to every policy cgroup with `stats = yes` or `accelerate = yes`,
 * serving two jobs, each in its own file:
 *
 *   stats.bpf.h   per-socket TCP stats: the record's stats part, and the
 *                 iter/tcp dump cgp_dump;
 *   accel.bpf.h   socket redirection: the sockhash, connection pairs, the
 *                 sk_msg program cgp_redir_msg and its sockops callbacks.
 *
 * Why one object, one sockops program and headers rather than one object
 * per job (docs/ARCHITECTURE.md, "The socket object"): both jobs keep their
 * per-socket state in one SK_STORAGE record (cgp_sockstat, below), the
 * agent loads this object as one skeleton and pins its programs and maps by
 * name, and a sockops program per job would change the pinned layout and
 * run twice per callback. The job functions are static inline: the program
 * is verified as one, exactly as before (no global functions).
 *
 * Types shared with user space: bpf/sockstat.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "bpf/sockstat.h"
#include "bpf/shared.bpf.h"
#include "bpf/shared_maps.bpf.h"

/* SK_STORAGE record of a socket of a stats or accelerate policy cgroup. */
struct cgp_skstat {
	__u64 cookie;		/* socket cookie (stats) */
	__u64 since_ns;		/* bpf_ktime_get_ns() when listening/established (stats) */
	__u32 slot;		/* policy slot of the deepest policy cgroup */
	__u8  flags;		/* CGP_SS_F_* (sockstat.h) */
	__u8  sends;		/* sends checked for a slow reader, wrapping (accel) */
	__u8  waits;		/* sends that waited for the peer to read what came by TCP (accel) */
	__u8  pad;
	__u64 gen;		/* policy generation it was accelerated under (accel) */
};
CGP_ASSERT_SIZE(struct cgp_skstat, 32);

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct cgp_skstat);
} cgp_sockstat SEC(".maps");

#include "bpf/stats.bpf.h"
#include "bpf/accel.bpf.h"

/*
 * Listening and established sockets get their record; nested policies: the
 * child's program runs first and owns it. An established socket of an
 * accelerated policy joins the sockhash. The state callback (every socket
 * with a record) lets a closing socket leave the dump at once.
 */
static __always_inline void sock_open(struct bpf_sock_ops *skops)
{
	struct cgp_skstat *st;
	struct cgp_cgroup *cg;
	struct bpf_sock *sk;

	sk = skops->sk;
	if (!sk)
		return;
	st = bpf_sk_storage_get(&cgp_sockstat, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st)
		return;
	cg = bpf_get_local_storage(&cgp_cgroup, 0);
	if (!st->slot)
		stats_open(skops, st, cg);
	if ((cg->flags & CGP_POL_F_ACCELERATE) && skops->op != BPF_SOCK_OPS_TCP_LISTEN_CB &&
	    !(st->flags & CGP_SS_F_ACCELERATED))
		accelerate(skops, st);
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
}

SEC("sockops")
int cgp_sockops(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk;

	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_LISTEN_CB:
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		sock_open(skops);
		break;
	case BPF_SOCK_OPS_HDR_OPT_LEN_CB:	/* accelerated sockets only */
		accel_hdr_opt_len(skops);
		break;
	case BPF_SOCK_OPS_RTT_CB:		/* accelerated sockets only */
		accel_rtt(skops);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		/* args[1] is the new state: a closed socket leaves the dump at once */
		sk = skops->sk;
		if (skops->args[1] == BPF_TCP_CLOSE && sk) {
			bpf_sk_storage_delete(&cgp_sockstat, sk);
			accel_close(skops);
		}
		break;
	}
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
