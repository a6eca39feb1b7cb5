/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * common.h - what every BPF object and user space share: the layout version
 * of the pins, slots, the direction/protocol/verdict encoding, the
 * generation (cgp_state) and the per-cgroup slot (cgp_cgroup).
 *
 * The headers bpf/<object>.h hold the types one object shares with user
 * space (enforce.h, sockstat.h, reuseport.h); each includes this one. They
 * are included by the BPF programs (after vmlinux.h) and by user space
 * (after <linux/types.h>). Plain __u8..__u64 fields only; no pointers.
 * Files named *.bpf.h are BPF-only.
 *
 * A size or offset asserted with CGP_ASSERT_* is part of the pinned layout
 * (maps live on across upgrades): changing it means bumping
 * CGP_LAYOUT_VERSION, and the assertion, in the same commit.
 */
#ifndef CGP_BPF_COMMON_H
#define CGP_BPF_COMMON_H

#define CGP_LAYOUT_VERSION	9	/* bump when a pinned map layout changes */

#define CGP_ASSERT_SIZE(type, n) \
	_Static_assert(sizeof(type) == (n), "size of " #type " (pinned layout, shared with user space)")
#define CGP_ASSERT_OFFSET(type, field, n) \
	_Static_assert(__builtin_offsetof(type, field) == (n), "offset of " #type "." #field)

#define CGP_MAX_SLOTS		1024	/* policies (cgroups) per pin path, slot 0 reserved */

enum cgp_dir {
	CGP_DIR_IN	= 0,	/* ingress: connections/packets arriving */
	CGP_DIR_OUT	= 1,	/* egress: leaving */
	CGP_DIR_MAX	= 2,
};

enum cgp_proto {
	CGP_PROTO_TCP	= 0,
	CGP_PROTO_UDP	= 1,
	CGP_PROTO_ICMP	= 2,	/* ICMP and ICMPv6 */
	CGP_PROTO_OTHER	= 3,	/* any other IP protocol; only `any` rules match it */
	CGP_PROTO_MAX	= 4,
};

enum cgp_verdict {
	CGP_DENY	= 0,
	CGP_ALLOW	= 1,
};

/* Flags of a policy: cgp_pol.flags (enforce.h) and cgp_cgroup.flags. */
#define CGP_POL_F_ACCELERATE	(1u << 0)
#define CGP_POL_F_STATS		(1u << 1)
#define CGP_POL_F_LOG		(1u << 2)	/* log = deny: ring buffer event per denied packet */
#define CGP_POL_F_AUDIT		(1u << 3)	/* mode = audit: count and log denies, drop nothing */
#define CGP_POL_F_DNS		(1u << 4)	/* has DNS-name rules: parse DNS (bpf/dns.h) */

/*
 * Single element of cgp_state (enforce and sockstat). gen increases by one
 * per applied policy; gen & 1 selects which of the two inner-map sets is
 * live. One 8-byte store switches every policy at once.
 */
struct cgp_state {
	__u64 gen;
	__u32 layout;		/* CGP_LAYOUT_VERSION of who created the pins */
	__u32 pad;
};
CGP_ASSERT_SIZE(struct cgp_state, 16);
CGP_ASSERT_OFFSET(struct cgp_state, layout, 8);	/* tests/e2e/faults.sh writes it */

/*
 * CGROUP_STORAGE cgp_cgroup (keyed by cgroup id alone, so the cgroup_skb and
 * sockops programs of a policy cgroup share it): written by apply.
 */
struct cgp_cgroup {
	__u32 slot;
	__u32 flags;		/* CGP_POL_F_* of the policy (read by sockops) */
};
CGP_ASSERT_SIZE(struct cgp_cgroup, 8);

#endif /* CGP_BPF_COMMON_H */
