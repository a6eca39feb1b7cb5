/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cgpolicy.h - umbrella for user space: every header of bpf/ that is shared
 * with user space, plus the user-space-only types still kept here. The BPF
 * programs include only their own object's header (bpf/common.h,
 * bpf/enforce.h, bpf/sockstat.h, bpf/reuseport.h); new user-space code
 * should too.
 */
#ifndef CGPOLICY_H
#define CGPOLICY_H

#include "bpf/common.h"
#include "bpf/enforce.h"
#include "bpf/sockstat.h"
#include "bpf/reuseport.h"

/*
 * User space only (policy/compile.c, policy/ports.c): the sorted port
 * boundaries of (slot, dir, proto) the compiler turns into the port trie
 * (struct cgp_portlpm_key, enforce.h). bound[] is sorted ascending; the
 * class of port p is 1 + (number of bounds <= p), so class i covers
 * [bound[i-2], bound[i-1]) with bound[-1] = 0. No map holds these.
 */
#define CGP_MAX_PORT_BOUNDS	4096	/* interval boundaries per (policy, dir, proto) */

struct cgp_portmap_key {
	__u16 slot;
	__u8  dir;
	__u8  proto;
};

struct cgp_portmap {
	__u32 n;		/* bounds in use, <= CGP_MAX_PORT_BOUNDS */
	__u16 bound[CGP_MAX_PORT_BOUNDS];
};

#endif /* CGPOLICY_H */
