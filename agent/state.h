/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * state.h - the pinned state under a pin path:
 *
 *   PIN/maps/{state,rules,ports,pols,cgroup,counters,sk,flows,info,sockstat,cgslots,
 *             socks,redir,events,rl}
 *   PIN/progs/{ingress,egress,sockops,dump,dump_link,redir}
 *             guard,known,gcnt,guards}
 *   PIN/progs/{..., guard_in,guard_out}
 *   PIN/links/<cgroup id>_{ingress,egress,sockops}  (bpffs refuses dots in names)
 *   PIN/links/guard_<ancestor cgroup id>_{ingress,egress}
 *
 * maps/state is pinned last when the state is created: its presence marks a
 * complete layout. All writers hold an exclusive flock on PIN.
 */
#ifndef CGP_STATE_H
#define CGP_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <limits.h>
#include <linux/types.h>

#include "bpf/cgpolicy.h"
#include "policy/policy.h"

enum cgp_map {
	CGP_MAP_STATE, CGP_MAP_RULES, CGP_MAP_PORTS, CGP_MAP_POLS, CGP_MAP_CGROUP,
	CGP_MAP_COUNTERS, CGP_MAP_SK, CGP_MAP_FLOWS, CGP_MAP_INFO, CGP_MAP_SOCKSTAT, CGP_MAP_CGSLOTS,
	CGP_MAP_SOCKS, CGP_MAP_REDIR, CGP_MAP_EVENTS, CGP_MAP_RL,
	/* guards of glob policies: cgroup storage of the ancestors, decided
	 * cgroups, template counters, user-space records */
	CGP_MAP_GUARD, CGP_MAP_KNOWN, CGP_MAP_GCNT, CGP_MAP_GUARDS, CGP_MAP_N,
};

/* The first CGP_PROG_CGROUP_N are attached to policy cgroups. */
enum cgp_prog {
	CGP_PROG_INGRESS, CGP_PROG_EGRESS, CGP_PROG_SOCKOPS, CGP_PROG_CGROUP_N,
	CGP_PROG_DUMP = CGP_PROG_CGROUP_N, CGP_PROG_REDIR,
	CGP_PROG_GUARD_IN, CGP_PROG_GUARD_OUT,	/* attached to the fixed ancestors of globs */
	CGP_PROG_N,
};

extern const char *const cgp_map_names[CGP_MAP_N];
extern const char *const cgp_prog_names[CGP_PROG_N];

/* User-space-only record per slot (map `info`, hash keyed by slot). */
struct cgp_info {
	__u64 cgroup_id;
	__u64 gen;		/* generation that last wrote it */
	__u32 slot;
	__u32 nrules;
	__u8  def[CGP_DIR_MAX];
	__u8  flags;
	__u8  pad[5];
	char  name[CGP_NAME_MAX + 1];
	char  cgroup[CGP_PATH_MAX];	/* resolved absolute path */
};

/*
 * User-space-only record per glob policy (map `guards`, hash keyed by its
 * template slot): where its guard is and what it judges.
 */
struct cgp_guard_info {
	__u64 ancestor_id;	/* cgroup id of the fixed ancestor (guard attach point) */
	__u64 gen;		/* generation that last wrote it */
	__u32 slot;		/* template slot */
	__u32 level;		/* cgroup level of the candidates */
	__u32 nrules;
	__u8  def[CGP_DIR_MAX];
	__u8  flags;
	__u8  pad[1];
	char  name[CGP_NAME_MAX + 1];
	char  glob[CGP_PATH_MAX];	/* `cgroup =` as written */
	char  ancestor[CGP_PATH_MAX];	/* resolved absolute path of the ancestor */
};

struct cgp_pins {
	char dir[PATH_MAX];
	int lock_fd;
	int map_fd[CGP_MAP_N];
	int prog_fd[CGP_PROG_N];
};

void cgp_pins_init(struct cgp_pins *p, const char *dir);
/* Make sure DIR is on bpffs (mounting /sys/fs/bpf when missing), create it
 * (0700) if `create`, and take the exclusive lock. -ENOENT if !create and absent. */
int cgp_pins_lock(struct cgp_pins *p, bool create);
/* Open a complete pinned state. -ENOENT when there is none. */
int cgp_pins_open(struct cgp_pins *p);
/* Load the BPF object and pin maps and programs; removes its own pins on failure. */
int cgp_pins_create(struct cgp_pins *p);
/* Close every fd (and the lock). */
void cgp_pins_close(struct cgp_pins *p);
/* Unpin everything (links first, so enforcement stops before the maps go). */
int cgp_pins_remove(struct cgp_pins *p);

int cgp_pin_join(char *buf, size_t len, const struct cgp_pins *p, const char *sub, const char *name);
int cgp_link_pin_path(char *buf, size_t len, const struct cgp_pins *p, __u64 cgid, enum cgp_prog prog);
/* PIN/links/guard_<ancestor id>_{ingress,egress} (dir: CGP_DIR_*). */
int cgp_guard_pin_path(char *buf, size_t len, const struct cgp_pins *p, __u64 cgid, int dir);

/* Read state map. */
int cgp_state_read(const struct cgp_pins *p, struct cgp_state *st);

/* Build fresh inner maps from compiled policies and plug them into slot `set`
 * of the outer maps outer_fd = { rules, ports, pols }. Negative errno. */
int cgp_install_set(const int outer_fd[3], const struct cgp_compiled *const *comps,
		    const __u32 *slots, unsigned n, __u32 set);

/* Commands (return exit codes). */
int cgp_cmd_apply(const struct cgp_config *cfg, const char *pin_path, bool dry_run);
int cgp_cmd_status(const char *pin_path, bool json);
int cgp_cmd_remove(const char *pin_path);

#endif
