/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * shared_maps.bpf.h - maps that more than one BPF object uses (enforce and
 * sockstat). Each object declares them from here; the loader (agent/state.c)
 * creates them once, with enforce.bpf.c, and hands the same fds to the other
 * object (bpf_map__reuse_fd) before it loads.
 */
#ifndef CGP_SHARED_MAPS_BPF_H
#define CGP_SHARED_MAPS_BPF_H

#include "bpf/common.h"

/* The policy generation (gen & 1: the live half of the rule maps). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cgp_state);
} cgp_state SEC(".maps");

/* Per policy cgroup (key: cgroup id, so every attach type shares it): its slot and flags. */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_STORAGE);
	__type(key, __u64);
	__type(value, struct cgp_cgroup);
} cgp_cgroup SEC(".maps");

#endif
