// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* noop.bpf.c - a cgroup_skb program that passes everything: the floor of what
 * kernel.bpf_stats_enabled reports per run on this machine (two clock reads and the
 * cgroup_skb dispatch), against which cgpolicy's ns per packet is read. */
#include <linux/bpf.h>

__attribute__((section("cgroup_skb/egress"), used))
int cgp_noop(struct __sk_buff *skb)
{
	return skb != 0;
}

char LICENSE[] __attribute__((section("license"), used)) = "Dual BSD/GPL";
