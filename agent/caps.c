// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * caps.c - least privilege for `cgpolicy agent`.
 *
 * After the first apply (pins created, programs loaded) the agent keeps only
 * what reloads, glob attaches, stats rounds and listener steering need,
 * measured on kernel 6.18 (docs/DEPLOY.md):
 *   CAP_BPF        create the per-generation rule maps, update maps, bpf_obj_get
 *   CAP_NET_ADMIN  bpf_link_create on cgroups (cgroup_skb, sock_ops)
 *   CAP_SYS_ADMIN  only with stats_interval > 0: setns into the network
 *                  namespaces of policy sockets for the stats iterator
 *   CAP_SYS_PTRACE only with [reuseport] sections: pidfd_getfd of listeners
 * Everything else leaves the effective, permitted, inheritable, ambient and
 * bounding sets, and no_new_privs is set. The agent runs as uid 0, so the
 * root-owned 0700 pin directory and the policy file stay readable without
 * CAP_DAC_OVERRIDE.
 */
#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/capability.h>

#include "agent/caps.h"
#include "agent/log.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

int cgp_drop_caps(const struct cgp_config *cfg)
{
	cap_value_t keep[4];
	int n = 0, err = 0;
	cap_t caps;

	keep[n++] = CAP_BPF;
	keep[n++] = CAP_NET_ADMIN;
	if (cfg->agent.stats_interval)
		keep[n++] = CAP_SYS_ADMIN;
	if (cfg->nreuseports)
		keep[n++] = CAP_SYS_PTRACE;

	/* The bounding set first: that needs CAP_SETPCAP, which goes next. */
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
		bool k = false;

		for (int i = 0; i < n; i++)
			k |= keep[i] == c;
		if (!k && cap_get_bound(c) == 1 && cap_drop_bound(c) && errno != EINVAL)
			err = -errno;
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	caps = cap_init();	/* all clear */
	if (!caps)
		return -errno;
	if (cap_set_flag(caps, CAP_EFFECTIVE, n, keep, CAP_SET) ||
	    cap_set_flag(caps, CAP_PERMITTED, n, keep, CAP_SET) || cap_set_proc(caps))
		err = -errno;
	cap_free(caps);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) && !err)
		err = -errno;
	if (err)
		cgp_alog("warning: could not drop every capability: %s\n", strerror(-err));
	return err;
}
