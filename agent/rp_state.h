/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * rp_state.h - the steering state pinned under PIN/reuseport/:
 *
 *   PIN/reuseport/maps/{svcs,backend,socks,occ,steered,sk,info,groups}
 *   PIN/reuseport/progs/{select,listen}
 *   PIN/reuseport/links/<cgroup id>_listen    sockops on each backend cgroup
 *
 * Declared once, below (agent/pins.h says what the columns mean), opened,
 * created and removed by agent/pins.c; maps/svcs is pinned last: its
 * presence marks a complete sub-state. Also the small map helpers that
 * planning (rp_plan.c) and status (rp_status.c) share.
 */
#ifndef CGP_RP_STATE_H
#define CGP_RP_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/pins.h"
#include "agent/state.h"

enum rp_obj { RP_OBJ_STEER, RP_OBJ_N };		/* reuseport.bpf.c */

/*
 * Maps: X(ID, pin name, object, name in the object, flags, user map spec).
 * `backend` replaced a CGROUP_ARRAY of an older cgpolicy: a sub-state
 * without it is rebuilt by apply, read by status and remove.
 */
#define CGP_RP_MAPS(X)									\
	X(SVCS,    "svcs",    RP_OBJ_STEER, "cgp_rp_svcs",    CGP_PIN_MARKER, NULL)	\
	X(BACKEND, "backend", RP_OBJ_STEER, "cgp_rp_backend", CGP_PIN_NEWER, NULL)	\
	X(SOCKS,   "socks",   RP_OBJ_STEER, "cgp_rp_socks",   0, NULL)			\
	X(OCC,     "occ",     RP_OBJ_STEER, "cgp_rp_occ",     0, NULL)			\
	X(STEERED, "steered", RP_OBJ_STEER, "cgp_rp_steered", 0, NULL)			\
	X(SK,      "sk",      RP_OBJ_STEER, "cgp_rp_sk",      0, NULL)			\
	X(INFO,    "info",    RP_OBJ_STEER, "cgp_rp_info",    0, NULL)			\
	X(GROUPS,  "groups",  RP_OBJ_STEER, "cgp_rp_groups",  0, NULL)

/* Programs: X(ID, pin name, object, name in the object, flags). */
#define CGP_RP_PROGS(X)									\
	X(SELECT, "select", RP_OBJ_STEER, "cgp_rp_select", 0)				\
	X(LISTEN, "listen", RP_OBJ_STEER, "cgp_rp_listen", CGP_PIN_PER_CGROUP)

#define RPM_ID_(id, ...) RPM_##id,
#define RPP_ID_(id, ...) RPP_##id,
enum rp_map { CGP_RP_MAPS(RPM_ID_) RPM_N };
enum rp_prog { CGP_RP_PROGS(RPP_ID_) RPP_N };

struct rp_state {
	int map[RPM_N];
	int prog[RPP_N];
};

void rp_state_init(struct rp_state *st);
void rp_state_close(struct rp_state *st);
/*
 * -ENOENT when there is no (complete) sub-state. -ESTALE for a sub-state of an
 * older cgpolicy (no maps/backend), unless any_layout: then it is opened
 * without it (status, remove).
 */
int rp_state_open(const struct cgp_pins *p, struct rp_state *st, bool any_layout);
/* Load, pin (leftovers of an interrupted create go first), open. */
int rp_state_create(const struct cgp_pins *p, struct rp_state *st);
/* Links first (the sockops program leaves the cgroups), then programs, maps. */
int rp_state_remove(const struct cgp_pins *p);

/* PIN/reuseport[/sub[/name]] */
int rp_path(char *buf, size_t len, const struct cgp_pins *p, const char *sub, const char *name);
/* PIN/reuseport/links/<cgid>_listen */
int rp_link_path(char *buf, size_t len, const struct cgp_pins *p, __u64 cgid);

/* The socket cookie in sockmap slot `slot`; false when the slot is empty. */
bool rp_slot_cookie(const struct rp_state *st, __u32 slot, __u64 *cookie);
/* Bitmap of the occupied slots of backend index bidx. */
__u64 rp_occupied(const struct rp_state *st, __u32 bidx);
/* Empty the slots of backend index bidx. */
void rp_clear_backend(const struct rp_state *st, __u32 bidx);
/* Per-CPU counters of service id: zero them; read one (summed). */
void rp_zero_counters(const struct rp_state *st, __u32 id);
__u64 rp_counter(const struct rp_state *st, __u32 idx);
/* An address as IPv4 when v4-mapped, else IPv6. */
void rp_fmt_addr(const __u8 a[16], char *buf, size_t len);

#endif
