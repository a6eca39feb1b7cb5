// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * apply_attach.c - the links of the policy cgroups: created and pinned where
 * missing (step 4), undone on failure, dropped after the switch (step 6).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "agent/apply_steps.h"

/*
 * Is a link pinned at path and still attached? A pinned link whose cgroup
 * was removed (and perhaps re-created) is detached: it is unpinned here, so
 * the caller creates a new one.
 */
bool apply_link_pinned_alive(const char *path)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(path);
	bool alive;

	if (fd < 0)
		return false;
	alive = !bpf_obj_get_info_by_fd(fd, &info, &len) && info.cgroup.cgroup_id != 0;
	close(fd);
	if (!alive)
		unlink(path);
	return alive;
}

/* Which programs a policy cgroup gets: enforcement always, sockops for stats
 * or acceleration. */
static bool wants(const struct apply_target *t, int prog)
{
	return prog != CGP_PROG_SOCKOPS || t->pol->stats || t->pol->accelerate;
}

/*
 * Step 4: a link for each program the cgroup wants where none is pinned alive
 * (created and pinned: t->new_link), and, every time, its slot and flags in
 * the cgroup map. A glob match gone meanwhile is skipped, not an error.
 */
int apply_attach_new(const struct cgp_pins *p, struct apply_target *t, unsigned nt)
{
	static const enum bpf_attach_type at[CGP_PROG_CGROUP_N] = {
		BPF_CGROUP_INET_INGRESS, BPF_CGROUP_INET_EGRESS, BPF_CGROUP_SOCK_OPS,
	};
	char path[PATH_MAX];

	for (unsigned i = 0; i < nt; i++) {
		for (int j = 0; j < CGP_PROG_CGROUP_N; j++) {
			if (!wants(&t[i], j))
				continue;
			cgp_link_pin_path(path, sizeof(path), p, t[i].cgid, j);
			if (apply_link_pinned_alive(path))
				continue;
			t[i].new_link[j] = bpf_link_create(p->prog_fd[j], t[i].cg_fd, at[j], NULL);
			if (t[i].new_link[j] < 0 && t[i].glob) {
				pr_info("cgroup %s went away before it could be attached: skipped\n", t[i].path);
				t[i].skip = true;
				break;
			}
			if (t[i].new_link[j] < 0) {
				int err = -errno;

				pr_err("failed to attach to cgroup %s: %s%s\n", t[i].path, strerror(-err),
				       err == -EPERM ? " (another program is attached without BPF_F_ALLOW_MULTI?)" : "");
				return err;
			}
			if (bpf_obj_pin(t[i].new_link[j], path)) {
				int err = -errno;

				pr_err("failed to pin %s: %s\n", path, strerror(-err));
				return err;
			}
		}
		/* Every time: the flags (accelerate, stats) may have changed. */
		if (!t[i].skip) {
			struct cgp_cgroup cg = { .slot = t[i].slot, .flags = t[i].comp.pol.flags };

			if (bpf_map_update_elem(p->map_fd[CGP_MAP_CGROUP], &t[i].cgid, &cg, BPF_ANY)) {
				int err = -errno;

				pr_err("failed to set the policy slot of cgroup %s: %s\n", t[i].path, strerror(-err));
				return err;
			}
		}
	}
	return 0;
}

/* After the switch: links a policy no longer wants (e.g. stats turned off). */
void apply_detach_unwanted(const struct cgp_pins *p, const struct apply_target *t, unsigned nt)
{
	char path[PATH_MAX];

	for (unsigned i = 0; i < nt; i++) {
		for (int j = 0; j < CGP_PROG_CGROUP_N; j++) {
			if (wants(&t[i], j))
				continue;
			cgp_link_pin_path(path, sizeof(path), p, t[i].cgid, j);
			if (unlink(path) && errno != ENOENT)
				pr_warn("cannot unpin %s: %s\n", path, strerror(errno));
		}
	}
}

void apply_undo_attach(const struct cgp_pins *p, struct apply_target *t, unsigned nt)
{
	char path[PATH_MAX];

	for (unsigned i = 0; i < nt; i++) {
		for (int j = 0; j < CGP_PROG_CGROUP_N; j++) {
			if (t[i].new_link[j] < 0)
				continue;
			cgp_link_pin_path(path, sizeof(path), p, t[i].cgid, j);
			unlink(path);
			close(t[i].new_link[j]);
			t[i].new_link[j] = -1;
		}
	}
}

/* Step 6: the cgroups of the previous generation that this one drops: unpinned, records deleted. */
void apply_detach_dropped(const struct cgp_pins *p, const struct apply_target *t, unsigned nt,
			  const struct cgp_info *inf, unsigned ninf)
{
	char path[PATH_MAX];

	for (unsigned j = 0; j < ninf; j++) {
		bool keep = false;

		for (unsigned i = 0; i < nt && !keep; i++)
			keep = !t[i].skip && t[i].cgid == inf[j].cgroup_id;
		if (keep)
			continue;
		for (int k = 0; k < CGP_PROG_CGROUP_N; k++) {
			cgp_link_pin_path(path, sizeof(path), p, inf[j].cgroup_id, k);
			if (unlink(path) && errno != ENOENT)
				pr_warn("cannot unpin %s: %s\n", path, strerror(errno));
		}
		bpf_map_delete_elem(p->map_fd[CGP_MAP_INFO], &inf[j].slot);
		bpf_map_delete_elem(p->map_fd[CGP_MAP_CGSLOTS], &inf[j].cgroup_id);
		pr_info("detached [%s] from %s\n", inf[j].name, inf[j].cgroup);
	}
}
