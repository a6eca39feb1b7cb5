// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * rp_commit.c - carrying out a plan of rp_plan.c (rp_plan.h):
 *   commit   right after the enforcement switch, map writes and unpins only:
 *            listener bitmaps, each service's weights in one hash update (the
 *            switch), records; then what is no longer wanted (services,
 *            backends, links, the program on groups of dropped services, the
 *            whole sub-state when the file has no [reuseport] section left);
 *   abort    undoes a prepare;
 *   remove   `cgpolicy remove`: no service first, detach, unpin.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "agent/log.h"
#include "agent/rp_plan.h"

void rp_detach_groups(struct cgp_rp_plan *pl)
{
	for (unsigned i = 0; i < pl->ndetach; i++) {
		int fd = pl->detach_fds[i], one = 0;

		if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &one, sizeof(one)) &&
		    errno != ENOENT)
			pr_warn("reuseport: cannot detach the steering program from a listener group: %s\n",
				strerror(errno));
		bpf_map_delete_elem(pl->st.map[RPM_GROUPS], &pl->detach_groups[i]);
	}
}

static void print_svc(const struct rp_svcplan *sp)
{
	char a[INET6_ADDRSTRLEN] = "any";
	bool first = true;

	if (sp->key.has_addr)
		rp_fmt_addr(sp->key.addr, a, sizeof(a));
	printf("steering [reuseport %s] tcp %s port %u:", sp->info.name, a, sp->key.port);
	for (int b = 0; b < CGP_RP_MAX_BACKENDS; b++) {
		if (!(sp->svc.present & (1u << b)))
			continue;
		printf("%s %s %u (%u listener%s)", first ? "" : ",", sp->info.backend[b], sp->svc.weight[b],
		       sp->nlisteners[b], sp->nlisteners[b] == 1 ? "" : "s");
		first = false;
	}
	printf("\n");
}

/* The switch: each service's listener bitmaps, then its weights in one hash update. */
static void write_services(struct cgp_rp_plan *pl)
{
	for (unsigned i = 0; i < pl->nsvcs; i++) {
		struct rp_svcplan *sp = &pl->svcs[i];

		for (int b = 0; b < CGP_RP_MAX_BACKENDS; b++) {
			__u32 bidx = CGP_RP_BIDX(sp->svc.id, b);
			__u64 occ;

			if (!(sp->svc.present & (1u << b))) {
				if (sp->had_old && (sp->old.present & (1u << b)))
					rp_clear_backend(&pl->st, bidx);
				continue;
			}
			occ = rp_occupied(&pl->st, bidx);
			sp->nlisteners[b] = __builtin_popcountll(occ);
			bpf_map_update_elem(pl->st.map[RPM_OCC], &bidx, &occ, BPF_ANY);
		}
		if (!sp->had_old)
			rp_zero_counters(&pl->st, sp->svc.id);
		bpf_map_update_elem(pl->st.map[RPM_INFO], &sp->svc.id, &sp->info, BPF_ANY);
		if (bpf_map_update_elem(pl->st.map[RPM_SVCS], &sp->key, &sp->svc, BPF_ANY))
			pr_warn("reuseport: cannot write [reuseport %s]: %s\n", sp->info.name, strerror(errno));
		print_svc(sp);
	}
}

/* Dropped services: no entry, the program passes; then their slots go. */
static void drop_services(struct cgp_rp_plan *pl)
{
	for (unsigned i = 0; i < pl->ndrop; i++) {
		bpf_map_delete_elem(pl->st.map[RPM_SVCS], &pl->drop[i]);
		if (pl->drop_id[i] < CGP_RP_MAX_SVCS) {
			for (__u32 b = 0; b < CGP_RP_MAX_BACKENDS; b++)
				rp_clear_backend(&pl->st, CGP_RP_BIDX(pl->drop_id[i], b));
			bpf_map_delete_elem(pl->st.map[RPM_INFO], &pl->drop_id[i]);
		}
	}
}

/* Links of cgroups that are no backend any more. */
static void unpin_old_links(const struct cgp_rp_plan *pl)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	rp_path(path, sizeof(path), &pl->pins, "links", NULL);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		unsigned long long cgid;
		bool keep = false;
		char f[PATH_MAX + 256];

		if (sscanf(de->d_name, "%llu_listen", &cgid) != 1)
			continue;
		for (unsigned k = 0; k < pl->nkeep && !keep; k++)
			keep = pl->keep_cgid[k] == cgid;
		snprintf(f, sizeof(f), "%s/%s", path, de->d_name);
		if (!keep && unlink(f) && errno != ENOENT)
			pr_warn("reuseport: cannot unpin %s: %s\n", f, strerror(errno));
	}
	if (d)
		closedir(d);
}

void cgp_reuseport_commit(struct cgp_rp_plan *pl)
{
	if (!pl)
		return;
	for (unsigned i = 0; i < pl->nstale; i++)
		bpf_map_delete_elem(pl->st.map[RPM_SOCKS], &pl->stale_slots[i]);
	write_services(pl);
	drop_services(pl);
	rp_detach_groups(pl);
	unpin_old_links(pl);
	if (pl->teardown) {
		rp_state_close(&pl->st);
		if (rp_state_remove(&pl->pins))
			pr_warn("reuseport: could not unpin everything under %s/reuseport\n", pl->pins.dir);
		else
			printf("listener steering removed\n");
	}
	/* The new links and attachments stay (pinned / in the groups). */
	for (unsigned i = 0; i < pl->nnew_links; i++)
		pl->new_link_cgid[i] = 0;
	pl->nnew_slots = 0;
	for (unsigned i = 0; i < pl->nattached; i++) {
		close(pl->attached_fds[i]);
		pl->attached_fds[i] = -1;
	}
	pl->nattached = 0;
	rp_plan_free(pl);
}

void cgp_reuseport_abort(struct cgp_rp_plan *pl)
{
	char path[PATH_MAX];

	if (!pl)
		return;
	for (unsigned i = 0; i < pl->nnew_slots; i++)
		bpf_map_delete_elem(pl->st.map[RPM_SOCKS], &pl->new_slots[i]);
	for (unsigned i = 0; i < pl->nsaved; i++)
		bpf_map_update_elem(pl->st.map[RPM_BACKEND], &pl->saved_cgid[i], &pl->saved[i], BPF_ANY);
	for (unsigned i = 0; i < pl->nattached; i++) {
		int one = 0;

		if (pl->attached_fds[i] >= 0)
			setsockopt(pl->attached_fds[i], SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &one, sizeof(one));
		bpf_map_delete_elem(pl->st.map[RPM_GROUPS], &pl->attached_groups[i]);
	}
	for (unsigned i = 0; i < pl->nnew_links; i++) {
		if (!pl->new_link_cgid[i])
			continue;
		rp_link_path(path, sizeof(path), &pl->pins, pl->new_link_cgid[i]);
		unlink(path);
	}
	rp_plan_free(pl);
}

int cgp_reuseport_remove(const struct cgp_pins *p)
{
	struct cgp_rp_plan *pl;
	struct cgp_rp_key k, next, *prev = NULL;
	int err;

	pl = calloc(1, sizeof(*pl));
	if (!pl)
		return -ENOMEM;
	cgp_pins_init(&pl->pins, p->dir);
	err = rp_state_open(p, &pl->st, true);
	if (err == -ENOENT) {
		char path[PATH_MAX];

		free(pl);
		/* an interrupted create may have left pins without maps/svcs */
		rp_path(path, sizeof(path), p, NULL, NULL);
		if (access(path, F_OK))
			return 0;
		return rp_state_remove(p);
	}
	if (err) {
		free(pl);
		return rp_state_remove(p);
	}
	/* No service: a program still attached to a group we cannot reach passes. */
	while (!bpf_map_get_next_key(pl->st.map[RPM_SVCS], prev, &next)) {
		k = next;
		bpf_map_delete_elem(pl->st.map[RPM_SVCS], &k);
		prev = NULL;
	}
	err = rp_collect_detach(pl);
	if (!err)
		rp_detach_groups(pl);
	rp_state_close(&pl->st);
	rp_plan_free(pl);
	return rp_state_remove(p) ?: err;
}
