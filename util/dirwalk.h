/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * dirwalk.h - the subdirectories of a directory, one at a time: the one
 * step of every cgroup tree walk (glob matching and glob candidates in
 * agent/cgroup.c, the stats round's scan of policy cgroups in
 * agent/stats.c). The walks recurse through it with their own state in
 * ctx; no file-scope globals. Pure C: no libbpf.
 */
#ifndef CGP_UTIL_DIRWALK_H
#define CGP_UTIL_DIRWALK_H

#include <stddef.h>

/* path: the caller's buffer (len bytes) holding "DIR/NAME"; name: NAME. */
typedef int (*cgp_subdir_cb)(char *path, size_t len, const char *name, void *ctx);

/*
 * For each subdirectory NAME of path (d_type DT_DIR; "." and ".." left out,
 * other names as they are): path, a buffer of len bytes, becomes
 * "path/NAME" while fn runs and is restored after; a NAME that would not fit
 * is skipped. Stops at the first nonzero return of fn and returns it. A
 * directory that cannot be opened (a cgroup removed meanwhile) has no
 * subdirectories: 0.
 */
int cgp_subdirs(char *path, size_t len, cgp_subdir_cb fn, void *ctx);

#endif
