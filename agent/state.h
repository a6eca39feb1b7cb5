/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * state.h - the enforcement state pinned under a pin path:
 *
 *   PIN/maps/{state,rules,ports,pols,cgroup,counters,sk,flows,info,sockstat,cgslots,
 *             socks,redir,events,rl,guard,known,gcnt,guards,dsets,sets}
 *   PIN/progs/{ingress,egress,sockops,dump,dump_link,redir,guard_in,guard_out}
 *   PIN/links/<cgroup id>_{ingress,egress,sockops}  (bpffs refuses dots in names)
 *   PIN/links/guard_<ancestor cgroup id>_{ingress,egress}
 *   PIN/maps/{hits,hitsx,applied}: per-rule hit counters, the applied file
 *
 * Declared once, below (CGP_ENFORCE_MAPS, CGP_ENFORCE_PROGS; agent/pins.h says
 * what the columns mean). maps/state is pinned last when the state is created:
 * its presence marks a complete layout. All writers hold an exclusive flock on PIN.
 */
#ifndef CGP_STATE_H
#define CGP_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <limits.h>
#include <linux/types.h>

#include "agent/pins.h"
#include "bpf/common.h"
#include "bpf/enforce.h"
#include "policy/policy.h"

/* The BPF objects of the enforcement state (the OBJECT column below). */
enum cgp_obj { CGP_OBJ_ENFORCE, CGP_OBJ_SOCKSTAT, CGP_OBJ_N };	/* enforce.bpf.c, sockstat.bpf.c */

/*
 * Maps: X(ID, pin name, object, name in the object, flags, user map spec).
 * ID gives CGP_MAP_<ID>, the index into cgp_pins.map_fd. `state` and
 * `cgroup` are declared by sockstat.bpf.c too, which uses enforce's
 * (the slot of each policy cgroup, the generation). `info` and `guards`
 * are user space's own records.
 */
#define CGP_ENFORCE_MAPS(X)									\
	X(STATE,    "state",    CGP_OBJ_ENFORCE,  "cgp_state",    CGP_PIN_MARKER | CGP_PIN_SHARED, NULL) \
	X(RULES,    "rules",    CGP_OBJ_ENFORCE,  "cgp_rules",    0, NULL)				\
	X(PORTS,    "ports",    CGP_OBJ_ENFORCE,  "cgp_ports",    0, NULL)				\
	X(POLS,     "pols",     CGP_OBJ_ENFORCE,  "cgp_pols",     0, NULL)				\
	X(CGROUP,   "cgroup",   CGP_OBJ_ENFORCE,  "cgp_cgroup",   CGP_PIN_SHARED, NULL)		\
	X(COUNTERS, "counters", CGP_OBJ_ENFORCE,  "cgp_counters", 0, NULL)				\
	X(SK,       "sk",       CGP_OBJ_ENFORCE,  "cgp_sk",       0, NULL)				\
	X(FLOWS,    "flows",    CGP_OBJ_ENFORCE,  "cgp_flows",    0, NULL)				\
	X(INFO,     "info",     CGP_PIN_BY_USER,  "cgp_info",     0,					\
	  CGP_PIN_UHASH(__u32, struct cgp_info, CGP_MAX_SLOTS))					\
	X(SOCKSTAT, "sockstat", CGP_OBJ_SOCKSTAT, "cgp_sockstat", 0, NULL)				\
	X(CGSLOTS,  "cgslots",  CGP_OBJ_SOCKSTAT, "cgp_cgslots",  0, NULL)				\
	X(SOCKS,    "socks",    CGP_OBJ_SOCKSTAT, "cgp_socks",    0, NULL)				\
	X(REDIR,    "redir",    CGP_OBJ_SOCKSTAT, "cgp_redir",    0, NULL)				\
	X(EVENTS,   "events",   CGP_OBJ_ENFORCE,  "cgp_events",   0, NULL)				\
	X(RL,       "rl",       CGP_OBJ_ENFORCE,  "cgp_rl",       0, NULL)				\
	/* per-rule hit counters, their overflow, the record of the applied file */	\
	X(HITS,     "hits",     CGP_OBJ_ENFORCE,  "cgp_hits",     0, NULL)				\
	X(HITSX,    "hitsx",    CGP_OBJ_ENFORCE,  "cgp_hitsx",    0, NULL)				\
	X(APPLIED,  "applied",  CGP_PIN_BY_USER,  "cgp_applied",  0,					\
	  CGP_PIN_UHASH(__u32, struct cgp_applied, 1))						\
	/* guards of glob policies: cgroup storage of the ancestors, decided		\
	 * cgroups, template counters, user-space records */				\
	X(GUARD,    "guard",    CGP_OBJ_ENFORCE,  "cgp_guard",    0, NULL)				\
	X(KNOWN,    "known",    CGP_OBJ_ENFORCE,  "cgp_known",    0, NULL)				\
	X(GCNT,     "gcnt",     CGP_OBJ_ENFORCE,  "cgp_gcnt",     0, NULL)				\
	X(GUARDS,   "guards",   CGP_PIN_BY_USER,  "cgp_guards",   0,					\
	  CGP_PIN_UHASH(__u32, struct cgp_guard_info, CGP_MAX_SLOTS))			\
	/* address sets: members of the dynamic sets, the sets in force by name */	\
	X(DSETS,    "dsets",    CGP_OBJ_ENFORCE,  "cgp_dsets",    0, NULL)				\
	X(SETS,     "sets",     CGP_PIN_BY_USER,  "cgp_sets",     0,					\
	  CGP_PIN_UHASH(struct cgp_set_key, struct cgp_set_rec, CGP_MAX_SETS))			\
	/* DNS-name rules (bpf/dns.h): names, trusted resolvers, TTL clamp,		\
	 * queries in flight, last name per address, parser counters */			\
	X(DNSNAMES, "dnsnames", CGP_OBJ_ENFORCE,  "cgp_dnsnames", 0, NULL)				\
	X(DNSSRV,   "dnssrv",   CGP_OBJ_ENFORCE,  "cgp_dnssrv",   0, NULL)				\
	X(DNSCONF,  "dnsconf",  CGP_OBJ_ENFORCE,  "cgp_dnsconf",  0, NULL)				\
	X(DNSQ,     "dnsq",     CGP_OBJ_ENFORCE,  "cgp_dnsq",     0, NULL)				\
	X(DNSADDR,  "dnsaddr",  CGP_OBJ_ENFORCE,  "cgp_dnsaddr",  0, NULL)				\
	X(DNSSTAT,  "dnsstat",  CGP_OBJ_ENFORCE,  "cgp_dnsstat",  0, NULL)

/*
 * Programs: X(ID, pin name, object, name in the object, flags). The
 * CGP_PIN_PER_CGROUP ones come first (CGP_PROG_CGROUP_N of them): apply
 * attaches them to every policy cgroup. `redir` is attached to the sockhash
 * `socks` at create (no bpf_link for that), the guards to the fixed
 * ancestors of globs.
 */
#define CGP_ENFORCE_PROGS(X)									\
	X(INGRESS,   "ingress",   CGP_OBJ_ENFORCE,  "cgp_ingress",   CGP_PIN_PER_CGROUP)		\
	X(EGRESS,    "egress",    CGP_OBJ_ENFORCE,  "cgp_egress",    CGP_PIN_PER_CGROUP)		\
	X(SOCKOPS,   "sockops",   CGP_OBJ_SOCKSTAT, "cgp_sockops",   CGP_PIN_PER_CGROUP)		\
	X(DUMP,      "dump",      CGP_OBJ_SOCKSTAT, "cgp_dump",      CGP_PIN_ITER_LINK)		\
	X(REDIR,     "redir",     CGP_OBJ_SOCKSTAT, "cgp_redir_msg", 0)				\
	X(GUARD_IN,  "guard_in",  CGP_OBJ_ENFORCE,  "cgp_guard_in",  0)				\
	X(GUARD_OUT, "guard_out", CGP_OBJ_ENFORCE,  "cgp_guard_out", 0)

#define CGP_MAP_ID_(id, ...) CGP_MAP_##id,
#define CGP_PROG_ID_(id, ...) CGP_PROG_##id,
enum cgp_map { CGP_ENFORCE_MAPS(CGP_MAP_ID_) CGP_MAP_N };
enum cgp_prog { CGP_ENFORCE_PROGS(CGP_PROG_ID_) CGP_PROG_N };
enum { CGP_PROG_CGROUP_N = CGP_PROG_SOCKOPS + 1 };	/* the CGP_PIN_PER_CGROUP ones */

/* User-space-only record per slot (map `info`, hash keyed by slot). */
struct cgp_info {
	__u64 cgroup_id;
	__u64 gen;		/* generation that last wrote it */
	__u32 slot;
	__u32 nrules;
	__u8  def[CGP_DIR_MAX];
	__u8  flags;
	__u8  dns;		/* the policy has name rules: its dns = (CGP_DNS_*); 0 none */
	__u8  pad[4];
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

/*
 * User-space-only record per address set in force (map `sets`, hash keyed
 * by name): its id (bpf/enforce.h) and kind, for `cgpolicy set` and apply
 * (a dynamic set keeps its id, and so its members, across applies).
 */
struct cgp_set_key {
	char name[CGP_NAME_MAX + 1];
};

struct cgp_set_rec {
	__u64 gen;		/* generation that last wrote it */
	__u16 id;
	__u8  dynamic;
	__u8  pad;
	__u32 line;		/* of its [set NAME] header */
	__u32 nmembers;		/* entries written from the file (flattened) */
	__u32 pad2;
	__u64 next_expiry;	/* dynamic: no timed member expires before (boot ns); 0 none */
};

struct cgp_pins {
	char dir[PATH_MAX];
	int lock_fd;
	int map_fd[CGP_MAP_N];
	int prog_fd[CGP_PROG_N];
};

/*
 * User-space-only record of the file the live generation was applied from
 * (map `applied`, one entry, key 0): status --rules and explain re-read it
 * for the rule text and tell when it changed since.
 */
struct cgp_applied {
	__u64 gen;		/* generation it was applied as */
	__u64 since;		/* generation the hit counters count from (the first apply of
				 * this content: re-applying the same file carries them over) */
	__u64 hash;		/* FNV-1a 64 of the file's bytes as parsed */
	__u64 size;
	char  path[CGP_PATH_MAX];	/* absolute */
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
/* The same with the members of static address sets (cgp_static_sets). */
int cgp_install_set_members(const int outer_fd[3], const struct cgp_compiled *const *comps,
			    const __u32 *slots, unsigned n, const struct cgp_lpm_entry *setm,
			    size_t nsetm, __u32 set);

/* Commands (return exit codes). */
int cgp_cmd_apply(const struct cgp_config *cfg, const char *pin_path, bool dry_run);
int cgp_cmd_status(const char *pin_path, bool json);
int cgp_cmd_remove(const char *pin_path);

#endif
