/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * reuseport.h - listener steering ([reuseport NAME] sections) by cgroup.
 *
 * Self-contained: its own BPF object, maps, programs and links, pinned under
 * PIN/reuseport/. apply.c calls, with the pin lock held:
 *
 *   cgp_reuseport_prepare()  before the enforcement switch: everything that
 *                            can fail (load, create, attach). On failure apply
 *                            aborts and nothing is changed.
 *   cgp_reuseport_commit()   right after the switch: must not fail (map writes
 *                            of weights, detaching what is no longer wanted).
 *   cgp_reuseport_abort()    instead of commit when apply fails after prepare.
 *
 * remove calls cgp_reuseport_remove() before unpinning the rest.
 *
 * Implemented by agent/rp_*.c: rp_state (the pinned sub-state), rp_listeners
 * (finding listeners), rp_plan + rp_adopt (prepare), rp_commit (commit, abort,
 * remove), rp_status (status).
 */
#ifndef CGP_REUSEPORT_H
#define CGP_REUSEPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "agent/state.h"

/* A cgroup policy of the file, resolved: what backends refer to by name. */
struct cgp_rp_cgroup {
	const char *policy;	/* section name */
	const char *path;	/* resolved absolute cgroup path */
	__u64 cgid;
	int cg_fd;		/* open O_DIRECTORY fd, owned by apply */
};

struct cgp_rp_plan;

/* dry_run: validate and report only, touch nothing (p may be unopened then). */
int cgp_reuseport_prepare(const struct cgp_pins *p, const struct cgp_config *cfg,
			  const struct cgp_rp_cgroup *cgs, unsigned ncgs, bool dry_run,
			  struct cgp_rp_plan **plan);
void cgp_reuseport_commit(struct cgp_rp_plan *plan);
void cgp_reuseport_abort(struct cgp_rp_plan *plan);

int cgp_reuseport_remove(const struct cgp_pins *p);

/* status: text section, or the JSON value of "reuseport" (an array). */
void cgp_reuseport_status(const struct cgp_pins *p, FILE *f, bool json);

#endif
