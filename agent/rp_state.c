// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * rp_state.c - the steering state's pinned objects (the list in rp_state.h,
 * handled by agent/pins.c) and the map helpers of its users.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent/mapiter.h"
#include "agent/rp_state.h"
#include "util/addr.h"
/* The skeleton's struct would be called cgp_reuseport, like the policy section's. */
#define cgp_reuseport cgp_rp_skel
#include "reuseport.skel.h"
CGP_PIN_SKEL_OPS(cgp_reuseport)
#undef cgp_reuseport

static const struct cgp_pin_obj rp_objs[RP_OBJ_N] = {
	[RP_OBJ_STEER] = CGP_PIN_SKEL(cgp_reuseport, "steering"),
};
static const struct cgp_pin rp_maps[RPM_N] = { CGP_RP_MAPS(CGP_PIN_MAP) };
static const struct cgp_pin rp_progs[RPP_N] = { CGP_RP_PROGS(CGP_PIN_PROG) };

static const struct cgp_pinset rp_pins = {
	.sub = "reuseport",
	.prefix = "reuseport: ",
	.strict = false,	/* apply rebuilds a sub-state without svcs */
	.objs = rp_objs, .nobjs = RP_OBJ_N,
	.maps = rp_maps, .nmaps = RPM_N,
	.progs = rp_progs, .nprogs = RPP_N,
};

void rp_state_init(struct rp_state *st)
{
	cgp_pinset_fds_init(&rp_pins, st->map, st->prog);
}

void rp_state_close(struct rp_state *st)
{
	cgp_pinset_close(&rp_pins, st->map, st->prog);
}

int rp_path(char *buf, size_t len, const struct cgp_pins *p, const char *sub, const char *name)
{
	return cgp_pinset_path(buf, len, &rp_pins, p->dir, sub, name);
}

int rp_link_path(char *buf, size_t len, const struct cgp_pins *p, __u64 cgid)
{
	return cgp_pinset_link_path(buf, len, &rp_pins, p->dir, cgid, RPP_LISTEN);
}

int rp_state_open(const struct cgp_pins *p, struct rp_state *st, bool any_layout)
{
	return cgp_pinset_open(&rp_pins, p->dir, st->map, st->prog,
			       any_layout ? CGP_PIN_OPEN_ANY_LAYOUT : 0);
}

int rp_state_create(const struct cgp_pins *p, struct rp_state *st)
{
	int err = cgp_pinset_create(&rp_pins, p->dir);

	return err ? err : rp_state_open(p, st, false);
}

int rp_state_remove(const struct cgp_pins *p)
{
	return cgp_pinset_remove(&rp_pins, p->dir);
}

/* ------------------------------------------------------------ map helpers */

bool rp_slot_cookie(const struct rp_state *st, __u32 slot, __u64 *cookie)
{
	__u64 c = 0;

	if (bpf_map_lookup_elem(st->map[RPM_SOCKS], &slot, &c))
		return false;
	if (cookie)
		*cookie = c;
	return true;
}

__u64 rp_occupied(const struct rp_state *st, __u32 bidx)
{
	__u64 m = 0;

	for (__u32 k = 0; k < CGP_RP_SLOTS; k++)
		if (rp_slot_cookie(st, bidx * CGP_RP_SLOTS + k, NULL))
			m |= 1ull << k;
	return m;
}

void rp_clear_backend(const struct rp_state *st, __u32 bidx)
{
	__u64 zero = 0;

	for (__u32 k = 0; k < CGP_RP_SLOTS; k++) {
		__u32 s = bidx * CGP_RP_SLOTS + k;

		bpf_map_delete_elem(st->map[RPM_SOCKS], &s);
	}
	bpf_map_update_elem(st->map[RPM_OCC], &bidx, &zero, BPF_ANY);
}

void rp_zero_counters(const struct rp_state *st, __u32 id)
{
	for (__u32 i = 0; i < CGP_RP_CNT_PER_SVC; i++) {
		__u32 k = id * CGP_RP_CNT_PER_SVC + i;

		cgp_percpu_zero(st->map[RPM_STEERED], &k, sizeof(__u64));
	}
}

__u64 rp_counter(const struct rp_state *st, __u32 idx)
{
	__u64 sum = 0;

	cgp_percpu_lookup_sum(st->map[RPM_STEERED], &idx, &sum, sizeof(sum));
	return sum;
}

void rp_fmt_addr(const __u8 a[16], char *buf, size_t len)
{
	cgp_addr_auto_str(a, buf, len);
}
