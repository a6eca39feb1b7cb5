/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef CGP_CGROUP_H
#define CGP_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

/* Mount point of cgroup2, read from /proc/self/mountinfo. 0 or -ENOENT. */
int cgp_cgroup2_mount(char *buf, size_t len);

/*
 * The cgroup this process runs in (the 0:: line of /proc/self/cgroup), as a
 * path relative to the cgroup2 mount ("/" for the root). 0, or a negative
 * errno (-ENOENT: no cgroup2 line, or not below the mount's root).
 */
int cgp_cgroup_self(char *rel, size_t len);

/*
 * Resolve a policy's `cgroup =` value: a path under the cgroup2 mount, or an
 * absolute path that already lies on cgroup2. On success fills `path`, opens
 * the directory (O_RDONLY|O_DIRECTORY) into *fd and sets *id to the cgroup
 * id. On failure returns a negative errno and writes the reason to err.
 */
int cgp_cgroup_resolve(const char *mnt, const char *spec, char *path, size_t pathlen,
		       int *fd, __u64 *id, char *err, size_t errlen);

/* `cgroup =` holds a glob (*, ? or [...]): matched with fnmatch per path component. */
bool cgp_cgroup_is_glob(const char *spec);

typedef int (*cgp_glob_cb)(const char *path, void *ctx);
/*
 * Walk the cgroups matching glob `spec` (relative to the mount, or absolute
 * under it): on_match(path) for each match, on_dir(path) for every directory
 * whose children could match (the ones to watch for new cgroups; may be NULL).
 * A non-zero return of a callback stops the walk and is returned.
 */
int cgp_cgroup_glob(const char *mnt, const char *spec, cgp_glob_cb on_match, cgp_glob_cb on_dir,
		    void *ctx);

/*
 * Guards of glob policies. The fixed ancestor of a glob is its literal
 * prefix (the components before the first one with a glob character); its
 * candidates are every cgroup `depth` levels below it (depth: the number of
 * components from the first glob one on), matching or not.
 * cgp_cgroup_glob_root: fills anc (absolute path) and *depth; 0, or -ENOENT
 * when the ancestor does not exist (anc filled all the same), -EINVAL when
 * spec has no glob.
 */
int cgp_cgroup_glob_root(const char *mnt, const char *spec, char *anc, size_t anclen, unsigned *depth);

/*
 * Where a glob's guard goes: its fixed ancestor and the glob's depth when the
 * ancestor exists (*exists = true); otherwise the nearest existing ancestor of
 * it (the mount at worst) and depth 1: a new cgroup there may be the start of
 * the missing prefix, so its children are the candidates until it appears.
 */
int cgp_cgroup_guard_point(const char *mnt, const char *spec, char *anc, size_t anclen, unsigned *depth,
			   bool *exists);

/* Does the cgroup at absolute path `path` match glob `spec` (fnmatch per component)? */
bool cgp_cgroup_glob_match(const char *mnt, const char *spec, const char *path);

/*
 * The absolute level of a cgroup directory in the cgroup2 hierarchy (root: 0),
 * what bpf_skb_ancestor_cgroup_id() counts: the mount's own root (mountinfo,
 * not "/" inside a cgroup namespace) plus the components below the mount.
 */
int cgp_cgroup_level(const char *mnt, const char *path, unsigned *level);

/*
 * Every directory exactly `depth` levels below `anc`: on_cand(path) for each;
 * on_dir(path) (may be NULL) for anc and every directory between, where new
 * candidates can appear. A non-zero return of a callback stops the walk.
 */
int cgp_cgroup_candidates(const char *anc, unsigned depth, cgp_glob_cb on_cand, cgp_glob_cb on_dir,
			  void *ctx);

#endif
