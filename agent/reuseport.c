// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * reuseport.c - listener steering by cgroup ([reuseport NAME] sections).
 *
 * Pinned sub-state, created on first use, removed when no section is left:
 *
 *   PIN/reuseport/maps/{svcs,backend,socks,occ,steered,sk,info,groups}
 *   PIN/reuseport/progs/{select,listen}
 *   PIN/reuseport/links/<cgroup id>_listen    sockops on each backend cgroup
 *
 * maps/svcs is pinned last: its presence marks a complete sub-state.
 *
 * prepare (everything that can fail; nothing it does changes which listener
 * gets a connection):
 *   - open or create the sub-state; give each service a stable id and each
 *     backend cgroup a stable index within it (its listener slots keep their
 *     meaning across applies);
 *   - attach the sockops program to backend cgroups without a link, then
 *     write into each backend cgroup's storage (cgp_rp_backend) which backend
 *     of each service it is (the old values are kept for abort);
 *   - find the listeners on each service's port with sock_diag, classify them
 *     by their socket's cgroup, take a copy of their fd (pidfd_getfd) and put
 *     the ones not registered yet in a free slot of their backend;
 *   - attach the sk_reuseport program (SO_ATTACH_REUSEPORT_EBPF) to each
 *     reuseport group it is not attached to yet. For a new service the
 *     program finds no entry in svcs and passes: the kernel's choice, as before.
 * commit (map writes and unpins only): the services' weights (one hash update
 * each: the switch), listener bitmaps, records; then what is no longer wanted
 * (services, backends, links, program on groups of dropped services, the
 * whole sub-state when the file has no [reuseport] section any more).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent/features.h"
#include "agent/log.h"
#include "agent/reuseport.h"
#include "agent/rp_state.h"

#ifndef SO_ATTACH_REUSEPORT_EBPF
#define SO_ATTACH_REUSEPORT_EBPF 52
#endif
#ifndef SO_DETACH_REUSEPORT_BPF
#define SO_DETACH_REUSEPORT_BPF 68
#endif

/* A listener found by sock_diag. */
struct lst {
	__u64 cookie;
	__u64 cgid;		/* cgroup of the socket */
	__u32 ino;
	__u32 ifindex;
	__u16 family;
	__u16 port;
	__u8  addr[16];		/* IPv4 as ::ffff:a.b.c.d */
	int fd;			/* our copy (pidfd_getfd), -1 until needed */
	bool held;		/* some process holds it (seen in /proc/PID/fd) */
};

struct rp_svcplan {
	const struct cgp_reuseport *rp;
	struct cgp_rp_key key;
	struct cgp_rp_svc svc;		/* new value */
	struct cgp_rp_svc old;		/* previous value, if had_old */
	bool had_old;
	struct cgp_rp_info info;
	unsigned nlisteners[CGP_RP_MAX_BACKENDS];
};

struct cgp_rp_plan {
	struct cgp_pins pins;		/* copy: dir only */
	struct rp_state st;
	bool have_state;
	bool teardown;			/* no section left: remove the sub-state in commit */
	struct rp_svcplan *svcs;
	unsigned nsvcs;
	/* services in the map that the file no longer has */
	struct cgp_rp_key *drop;
	__u32 *drop_id;
	unsigned ndrop;
	/* undo records */
	int *new_links;			/* fds of links created by this run (pinned) */
	__u64 *new_link_cgid;
	unsigned nnew_links;
	__u32 *new_slots;		/* sockmap slots filled by this run */
	unsigned nnew_slots;
	int *attached_fds;		/* listeners the program was attached through by this run */
	struct cgp_rp_group *attached_groups;
	unsigned nattached;
	/* for commit: group sockets to detach the program from (dropped services) */
	int *detach_fds;
	struct cgp_rp_group *detach_groups;
	unsigned ndetach;
	/* backend cgroups that keep their link */
	__u64 *keep_cgid;
	unsigned nkeep;
	/* for commit: slots of listeners that now belong to another (deeper) backend */
	__u32 *stale_slots;
	unsigned nstale;
	/* undo record: cgroup storages rewritten by this run, and their old values */
	__u64 *saved_cgid;
	struct cgp_rp_cgback *saved;
	unsigned nsaved;
};

/* ------------------------------------------------------------ listeners */

static void addr_to_mapped(__u16 family, const __u32 *src, __u8 out[16])
{
	memset(out, 0, 16);
	if (family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(&out[12], src, 4);
	} else {
		memcpy(out, src, 16);
	}
}

/* TCP listeners on `port` in this network namespace (both families). */
static int diag_listeners(__u16 port, struct lst **out, unsigned *nout)
{
	static const __u8 fams[] = { AF_INET, AF_INET6 };
	struct lst *v = NULL;
	unsigned n = 0, cap = 0;
	char buf[32768];
	int fd, err = 0;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	for (unsigned f = 0; f < sizeof(fams) && !err; f++) {
		struct {
			struct nlmsghdr nlh;
			struct inet_diag_req_v2 req;
		} rq = {
			.nlh = { .nlmsg_len = sizeof(rq), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
				 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = f + 1 },
			.req = { .sdiag_family = fams[f], .sdiag_protocol = IPPROTO_TCP,
				 .idiag_states = 1u << 10 /* TCP_LISTEN */ },
		};
		struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
		bool done = false;

		if (sendto(fd, &rq, sizeof(rq), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			err = -errno;
			break;
		}
		while (!done && !err) {
			ssize_t len = recv(fd, buf, sizeof(buf), 0);
			struct nlmsghdr *h;

			if (len < 0) {
				if (errno == EINTR)
					continue;
				err = -errno;
				break;
			}
			for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
				struct inet_diag_msg *m = NLMSG_DATA(h);
				struct rtattr *a;
				int alen;
				struct lst *l;

				if (h->nlmsg_type == NLMSG_DONE) {
					done = true;
					break;
				}
				if (h->nlmsg_type == NLMSG_ERROR) {
					struct nlmsgerr *e = NLMSG_DATA(h);

					err = e->error ? e->error : -EIO;
					break;
				}
				if (ntohs(m->id.idiag_sport) != port)
					continue;
				if (n == cap) {
					struct lst *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));

					if (!nv) {
						err = -ENOMEM;
						break;
					}
					v = nv;
				}
				l = &v[n++];
				memset(l, 0, sizeof(*l));
				l->fd = -1;
				l->family = m->idiag_family;
				l->port = port;
				l->ino = m->idiag_inode;
				l->ifindex = m->id.idiag_if;
				l->cookie = (__u64)m->id.idiag_cookie[0] | ((__u64)m->id.idiag_cookie[1] << 32);
				addr_to_mapped(l->family, m->id.idiag_src, l->addr);
				a = (struct rtattr *)(m + 1);
				alen = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
				for (; RTA_OK(a, alen); a = RTA_NEXT(a, alen))
					if (a->rta_type == INET_DIAG_CGROUP_ID && RTA_PAYLOAD(a) >= 8)
						memcpy(&l->cgid, RTA_DATA(a), 8);
			}
		}
	}
	close(fd);
	if (err) {
		free(v);
		return err;
	}
	*out = v;
	*nout = n;
	return 0;
}

/* For each listener with want[i], find a process holding it and copy its fd. */
static int grab_fds(struct lst *l, unsigned n, const bool *want)
{
	unsigned missing = 0;
	struct dirent *pe;
	DIR *proc;

	for (unsigned i = 0; i < n; i++)
		missing += want[i] && l[i].fd < 0;
	if (!missing)
		return 0;
	proc = opendir("/proc");
	if (!proc)
		return -errno;
	while (missing && (pe = readdir(proc))) {
		char dpath[64], lpath[320], target[64];
		struct dirent *fe;
		int pid = atoi(pe->d_name), pidfd = -1;
		DIR *fds;

		if (pid <= 0 || pid == getpid())
			continue;
		snprintf(dpath, sizeof(dpath), "/proc/%d/fd", pid);
		fds = opendir(dpath);
		if (!fds)
			continue;
		while (missing && (fe = readdir(fds))) {
			unsigned ino;
			ssize_t tl;

			if (fe->d_name[0] == '.')
				continue;
			snprintf(lpath, sizeof(lpath), "%s/%s", dpath, fe->d_name);
			tl = readlink(lpath, target, sizeof(target) - 1);
			if (tl <= 0)
				continue;
			target[tl] = 0;
			if (sscanf(target, "socket:[%u]", &ino) != 1)
				continue;
			for (unsigned i = 0; i < n; i++) {
				if (!want[i] || l[i].fd >= 0 || l[i].ino != ino)
					continue;
				l[i].held = true;
				if (pidfd < 0)
					pidfd = syscall(SYS_pidfd_open, pid, 0);
				if (pidfd >= 0)
					l[i].fd = syscall(SYS_pidfd_getfd, pidfd, atoi(fe->d_name), 0);
				if (l[i].fd >= 0)
					missing--;
				else
					pr_debug("reuseport: pidfd_getfd(%d, %s): %s\n", pid, fe->d_name, strerror(errno));
			}
		}
		closedir(fds);
		if (pidfd >= 0)
			close(pidfd);
	}
	closedir(proc);
	return 0;
}

static void lst_free(struct lst *l, unsigned n)
{
	for (unsigned i = 0; l && i < n; i++)
		if (l[i].fd >= 0)
			close(l[i].fd);
	free(l);
}

static bool key_covers(const struct cgp_rp_key *k, const struct lst *l)
{
	return !k->has_addr || !memcmp(k->addr, l->addr, 16);
}

static struct cgp_rp_group group_of(const struct lst *l)
{
	struct cgp_rp_group g;

	memset(&g, 0, sizeof(g));
	memcpy(g.addr, l->addr, 16);
	g.port = l->port;
	g.family = l->family;
	g.ifindex = l->ifindex;
	return g;
}

/* ------------------------------------------------------------ cgroups */

static unsigned path_depth(const char *path)
{
	unsigned d = 0;

	for (const char *s = path; *s; s++)
		d += *s == '/' && s[1] && s[1] != '/';
	return d;
}

static __u64 ftw_want;
static int ftw_found;

static int ftw_cb(const char *fpath, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)fpath; (void)ftw;
	if (type == FTW_D && (__u64)sb->st_ino == ftw_want) {
		ftw_found = 1;
		return 1;
	}
	return 0;
}

/* Is cgroup `cgid` `root` (path) or below it? */
static bool cgroup_under(const char *root, __u64 root_id, __u64 cgid)
{
	if (cgid == root_id)
		return true;
	ftw_want = cgid;
	ftw_found = 0;
	nftw(root, ftw_cb, 16, FTW_PHYS | FTW_MOUNT);
	return ftw_found;
}

static const struct cgp_rp_cgroup *find_cg(const struct cgp_rp_cgroup *cgs, unsigned n, const char *policy)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(cgs[i].policy, policy))
			return &cgs[i];
	return NULL;
}

/* ------------------------------------------------------------ map helpers */

static void key_of(const struct cgp_reuseport *rp, struct cgp_rp_key *k)
{
	memset(k, 0, sizeof(*k));
	k->port = rp->port;
	k->proto = rp->proto;
	k->has_addr = rp->has_addr;
	if (rp->has_addr)
		memcpy(k->addr, rp->addr, 16);
}

/* ------------------------------------------------------------ plan */

static void plan_free(struct cgp_rp_plan *pl)
{
	if (!pl)
		return;
	for (unsigned i = 0; i < pl->nnew_links; i++)
		if (pl->new_links[i] >= 0)
			close(pl->new_links[i]);
	for (unsigned i = 0; i < pl->nattached; i++)
		if (pl->attached_fds[i] >= 0)
			close(pl->attached_fds[i]);
	for (unsigned i = 0; i < pl->ndetach; i++)
		if (pl->detach_fds[i] >= 0)
			close(pl->detach_fds[i]);
	free(pl->new_links);
	free(pl->new_link_cgid);
	free(pl->new_slots);
	free(pl->attached_fds);
	free(pl->attached_groups);
	free(pl->detach_fds);
	free(pl->detach_groups);
	free(pl->keep_cgid);
	free(pl->saved_cgid);
	free(pl->saved);
	free(pl->stale_slots);
	free(pl->svcs);
	free(pl->drop);
	free(pl->drop_id);
	rp_state_close(&pl->st);
	free(pl);
}

#define PUSH(arr, n, val) ({							\
	typeof(arr) _a = realloc((arr), ((n) + 1) * sizeof(*(arr)));		\
	int _r = -ENOMEM;							\
	if (_a) { (arr) = _a; (arr)[(n)++] = (val); _r = 0; }			\
	_r; })

/* Does a remaining service cover listeners of group g? */
static bool group_wanted(const struct cgp_rp_plan *pl, const struct cgp_rp_group *g)
{
	for (unsigned i = 0; i < pl->nsvcs; i++) {
		const struct cgp_rp_key *k = &pl->svcs[i].key;

		if (k->port == g->port && (!k->has_addr || !memcmp(k->addr, g->addr, 16)))
			return true;
	}
	return false;
}

/*
 * Sockets of groups the program should leave (dropped services, or all on
 * teardown), taken now so that commit cannot fail on them.
 */
static int collect_detach(struct cgp_rp_plan *pl)
{
	struct cgp_rp_group g, next, *prev = NULL;
	struct cgp_rp_groupval gv;

	while (!bpf_map_get_next_key(pl->st.map[RPM_GROUPS], prev, &next)) {
		struct lst *l = NULL;
		unsigned n = 0;

		g = next;
		prev = &g;
		if (bpf_map_lookup_elem(pl->st.map[RPM_GROUPS], &g, &gv) || group_wanted(pl, &g))
			continue;
		if (PUSH(pl->detach_groups, pl->ndetach, g))
			return -ENOMEM;
		pl->detach_fds = realloc(pl->detach_fds, pl->ndetach * sizeof(int));
		if (!pl->detach_fds)
			return -ENOMEM;
		pl->detach_fds[pl->ndetach - 1] = -1;
		if (diag_listeners(g.port, &l, &n))
			continue;
		for (unsigned i = 0; i < n; i++) {
			struct cgp_rp_group lg = group_of(&l[i]);
			bool want = !memcmp(&lg, &g, sizeof(g));

			if (!want)
				continue;
			grab_fds(&l[i], 1, &want);
			if (l[i].fd >= 0) {
				pl->detach_fds[pl->ndetach - 1] = l[i].fd;
				l[i].fd = -1;
				break;
			}
		}
		lst_free(l, n);
	}
	return 0;
}

static void detach_groups(struct cgp_rp_plan *pl)
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

/* Stable service ids and backend indices. */
static int assign_ids(struct cgp_rp_plan *pl, const struct cgp_config *cfg,
		      const struct cgp_rp_cgroup *cgs, unsigned ncgs)
{
	bool used[CGP_RP_MAX_SVCS] = { false };
	struct cgp_rp_key k, next, *prev = NULL;
	struct cgp_rp_svc v;

	for (unsigned i = 0; i < pl->nsvcs; i++) {
		struct rp_svcplan *sp = &pl->svcs[i];

		sp->rp = &cfg->reuseports[i];
		key_of(sp->rp, &sp->key);
		if (!bpf_map_lookup_elem(pl->st.map[RPM_SVCS], &sp->key, &sp->old) &&
		    sp->old.id < CGP_RP_MAX_SVCS) {
			sp->had_old = true;
			used[sp->old.id] = true;
		}
	}
	/* Services in the map that the file dropped keep their id until commit. */
	while (!bpf_map_get_next_key(pl->st.map[RPM_SVCS], prev, &next)) {
		bool keep = false;

		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(pl->st.map[RPM_SVCS], &k, &v))
			continue;
		for (unsigned i = 0; i < pl->nsvcs && !keep; i++)
			keep = !memcmp(&pl->svcs[i].key, &k, sizeof(k));
		if (keep)
			continue;
		if (v.id < CGP_RP_MAX_SVCS)
			used[v.id] = true;
		if (PUSH(pl->drop, pl->ndrop, k))
			return -ENOMEM;
		pl->drop_id = realloc(pl->drop_id, pl->ndrop * sizeof(__u32));
		if (!pl->drop_id)
			return -ENOMEM;
		pl->drop_id[pl->ndrop - 1] = v.id;
	}
	for (unsigned i = 0; i < pl->nsvcs; i++) {
		struct rp_svcplan *sp = &pl->svcs[i];
		const struct cgp_reuseport *rp = sp->rp;
		__u32 taken = 0;

		if (sp->had_old) {
			sp->svc.id = sp->old.id;
		} else {
			unsigned id = 0;

			while (id < CGP_RP_MAX_SVCS && used[id])
				id++;
			if (id >= CGP_RP_MAX_SVCS) {
				fprintf(stderr, "%s:%d: [reuseport %s]: more than %d reuseport services at %s\n",
					cfg->file, rp->line, rp->name, CGP_RP_MAX_SVCS, pl->pins.dir);
				return -EINVAL;
			}
			used[id] = true;
			sp->svc.id = id;
		}
		snprintf(sp->info.name, sizeof(sp->info.name), "%s", rp->name);
		sp->info.key = sp->key;
		/* backends keep the index of their cgroup; new ones avoid indices just dropped */
		for (int pass = 0; pass < 3; pass++) {
			for (unsigned j = 0; j < rp->nbackends; j++) {
				const struct cgp_rp_cgroup *cg = find_cg(cgs, ncgs, rp->backends[j].policy);
				int b = -1;

				if (!cg) {
					fprintf(stderr, "%s:%d: backend '%s' of [reuseport %s] is not a policy section\n",
						cfg->file, rp->backends[j].line, rp->backends[j].policy, rp->name);
					return -EINVAL;
				}
				if (pass == 0) {
					for (int o = 0; o < CGP_RP_MAX_BACKENDS && sp->had_old; o++)
						if ((sp->old.present & (1u << o)) && sp->old.cgid[o] == cg->cgid &&
						    !(taken & (1u << o)))
							b = o;
				} else {
					bool assigned = false;

					for (int o = 0; o < CGP_RP_MAX_BACKENDS; o++)
						assigned |= (sp->svc.present & (1u << o)) && sp->svc.cgid[o] == cg->cgid;
					if (assigned)
						continue;
					for (int o = 0; o < CGP_RP_MAX_BACKENDS && b < 0; o++) {
						bool old = sp->had_old && (sp->old.present & (1u << o));

						if (!(taken & (1u << o)) && (pass == 2 || !old))
							b = o;
					}
				}
				if (b < 0)
					continue;
				taken |= 1u << b;
				sp->svc.present |= 1u << b;
				sp->svc.cgid[b] = cg->cgid;
				sp->svc.weight[b] = (__u8)rp->backends[j].weight;
				sp->svc.level[b] = (__u8)(path_depth(cg->path) > 255 ? 255 : path_depth(cg->path));
				snprintf(sp->info.backend[b], sizeof(sp->info.backend[b]), "%s", rp->backends[j].policy);
			}
		}
	}
	return 0;
}

/* Attach the sockops program to every backend cgroup that has no live link. */
static int attach_links(struct cgp_rp_plan *pl, const struct cgp_rp_cgroup *cgs, unsigned ncgs)
{
	char path[PATH_MAX];

	for (unsigned i = 0; i < pl->nsvcs; i++) {
		for (unsigned j = 0; j < pl->svcs[i].rp->nbackends; j++) {
			const struct cgp_rp_cgroup *cg = find_cg(cgs, ncgs, pl->svcs[i].rp->backends[j].policy);
			struct bpf_link_info info = {};
			__u32 len = sizeof(info);
			bool dup = false;
			int fd;

			for (unsigned k = 0; k < pl->nkeep && !dup; k++)
				dup = pl->keep_cgid[k] == cg->cgid;
			if (dup)
				continue;
			if (PUSH(pl->keep_cgid, pl->nkeep, cg->cgid))
				return -ENOMEM;
			rp_link_path(path, sizeof(path), &pl->pins, cg->cgid);
			fd = bpf_obj_get(path);
			if (fd >= 0) {
				bool alive = !bpf_obj_get_info_by_fd(fd, &info, &len) && info.cgroup.cgroup_id;

				close(fd);
				if (alive)
					continue;
				unlink(path);	/* its cgroup was removed and re-created */
			}
			fd = bpf_link_create(pl->st.prog[RPP_LISTEN], cg->cg_fd, BPF_CGROUP_SOCK_OPS, NULL);
			if (fd < 0) {
				int err = -errno;

				pr_err("reuseport: failed to attach to cgroup %s: %s\n", cg->path, strerror(-err));
				return err;
			}
			if (PUSH(pl->new_links, pl->nnew_links, fd)) {
				close(fd);
				return -ENOMEM;
			}
			pl->new_link_cgid = realloc(pl->new_link_cgid, pl->nnew_links * sizeof(__u64));
			if (!pl->new_link_cgid)
				return -ENOMEM;
			pl->new_link_cgid[pl->nnew_links - 1] = cg->cgid;
			if (bpf_obj_pin(fd, path)) {
				int err = -errno;

				pr_err("reuseport: failed to pin %s: %s\n", path, strerror(-err));
				pl->new_link_cgid[pl->nnew_links - 1] = 0;	/* nothing to unpin */
				return err;
			}
		}
	}
	return 0;
}

/* The backend index of listener l in service sp, or -1: the deepest containing cgroup. */
static int classify(const struct rp_svcplan *sp, const struct cgp_rp_cgroup *cgs, unsigned ncgs,
		    const struct lst *l)
{
	int best = -1;

	for (int b = 0; b < CGP_RP_MAX_BACKENDS; b++) {
		const struct cgp_rp_cgroup *cg = NULL;

		if (!(sp->svc.present & (1u << b)))
			continue;
		for (unsigned i = 0; i < ncgs && !cg; i++)
			if (cgs[i].cgid == sp->svc.cgid[b])
				cg = &cgs[i];
		if (!cg || (best >= 0 && sp->svc.level[b] <= sp->svc.level[best]))
			continue;
		if (l->cgid && cgroup_under(cg->path, cg->cgid, l->cgid))
			best = b;
	}
	return best;
}

/* Register the existing listeners of service sp and attach the program to their groups. */
static int adopt_listeners(struct cgp_rp_plan *pl, struct rp_svcplan *sp,
			   const struct cgp_rp_cgroup *cgs, unsigned ncgs)
{
	const struct cgp_reuseport *rp = sp->rp;
	struct lst *l = NULL;
	unsigned n = 0;
	bool *want = NULL, *reg = NULL;
	int *cls = NULL, err;

	err = diag_listeners(rp->port, &l, &n);
	if (err) {
		pr_err("reuseport: cannot list the TCP listeners (sock_diag): %s\n", strerror(-err));
		return err;
	}
	want = calloc(n + 1, sizeof(*want));
	reg = calloc(n + 1, sizeof(*reg));
	cls = calloc(n + 1, sizeof(*cls));
	if (!want || !reg || !cls) {
		err = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		struct cgp_rp_group g = group_of(&l[i]);
		struct cgp_rp_groupval gv;
		bool attached = false;

		cls[i] = -1;
		if (!key_covers(&sp->key, &l[i]))
			continue;
		cls[i] = classify(sp, cgs, ncgs, &l[i]);
		if (cls[i] >= 0) {
			/* already in a slot of its backend? */
			__u32 bidx = CGP_RP_BIDX(sp->svc.id, cls[i]);

			reg[i] = true;
			for (__u32 k = 0; k < CGP_RP_SLOTS && reg[i]; k++) {
				__u64 c;

				if (rp_slot_cookie(&pl->st, bidx * CGP_RP_SLOTS + k, &c) && c == l[i].cookie)
					reg[i] = false;
			}
			want[i] = reg[i];
			/* in a slot of another backend (a deeper backend is new): it leaves that one at commit */
			for (int b = 0; b < CGP_RP_MAX_BACKENDS; b++) {
				__u32 ob = CGP_RP_BIDX(sp->svc.id, b);

				if (b == cls[i] || !(sp->svc.present & (1u << b)))
					continue;
				for (__u32 k = 0; k < CGP_RP_SLOTS; k++) {
					__u64 c;

					if (rp_slot_cookie(&pl->st, ob * CGP_RP_SLOTS + k, &c) && c == l[i].cookie &&
					    PUSH(pl->stale_slots, pl->nstale, ob * CGP_RP_SLOTS + k)) {
						err = -ENOMEM;
						goto out;
					}
				}
			}
		}
		/* the group is attached when the listener we attached through still lives */
		if (!bpf_map_lookup_elem(pl->st.map[RPM_GROUPS], &g, &gv))
			for (unsigned j = 0; j < n && !attached; j++)
				attached = l[j].cookie == gv.cookie;
		if (!attached) {
			bool dup = false;

			for (unsigned j = 0; j < i && !dup; j++) {
				struct cgp_rp_group h = group_of(&l[j]);

				dup = want[j] && !memcmp(&g, &h, sizeof(g)) && key_covers(&sp->key, &l[j]);
			}
			for (unsigned j = 0; j < pl->nattached && !dup; j++)
				dup = !memcmp(&pl->attached_groups[j], &g, sizeof(g));
			if (!dup)
				want[i] = true;
		}
	}
	err = grab_fds(l, n, want);
	if (err)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		struct cgp_rp_group g = group_of(&l[i]);
		bool attached = false;
		char a[INET6_ADDRSTRLEN];

		if (!want[i])
			continue;
		rp_fmt_addr(l[i].addr, a, sizeof(a));
		if (l[i].fd < 0 && !l[i].held) {
			pr_debug("reuseport: listener %s port %u closed meanwhile\n", a, rp->port);
			continue;
		}
		if (l[i].fd < 0) {
			pr_err("reuseport: [reuseport %s]: cannot get the listener %s port %u (socket inode %u) "
			       "from its process (pidfd_getfd): %s\n", rp->name, a, rp->port, l[i].ino,
			       strerror(errno));
			err = -EPERM;
			goto out;
		}
		if (reg[i]) {
			__u32 bidx = CGP_RP_BIDX(sp->svc.id, cls[i]), k;
			__u64 fd = (__u64)l[i].fd;

			for (k = 0; k < CGP_RP_SLOTS; k++) {
				__u32 s = bidx * CGP_RP_SLOTS + k;

				if (!bpf_map_update_elem(pl->st.map[RPM_SOCKS], &s, &fd, BPF_NOEXIST)) {
					if (PUSH(pl->new_slots, pl->nnew_slots, s)) {
						err = -ENOMEM;
						goto out;
					}
					break;
				}
				if (errno != EEXIST) {
					err = -errno;
					pr_err("reuseport: cannot register the listener %s port %u: %s\n", a,
					       rp->port, strerror(-err));
					goto out;
				}
			}
			if (k == CGP_RP_SLOTS)
				pr_warn("reuseport: [reuseport %s]: backend %s has more than %d listeners; "
					"the others get no steered connections\n", rp->name,
					sp->info.backend[cls[i]], CGP_RP_SLOTS);
		}
		/* attach to the group unless done already for it */
		for (unsigned j = 0; j < pl->nattached && !attached; j++)
			attached = !memcmp(&pl->attached_groups[j], &g, sizeof(g));
		if (!attached) {
			struct cgp_rp_groupval gv;
			bool known = false;

			if (!bpf_map_lookup_elem(pl->st.map[RPM_GROUPS], &g, &gv))
				for (unsigned j = 0; j < n && !known; j++)
					known = l[j].cookie == gv.cookie;
			if (known)
				continue;
			if (setsockopt(l[i].fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &pl->st.prog[RPP_SELECT],
				       sizeof(int))) {
				if (errno == EINVAL) {
					pr_warn("reuseport: [reuseport %s]: the listener on %s port %u has no "
						"SO_REUSEPORT: not steered\n", rp->name, a, rp->port);
					continue;
				}
				err = -errno;
				pr_err("reuseport: cannot attach the steering program to the listeners on %s "
				       "port %u: %s\n", a, rp->port, strerror(-err));
				goto out;
			}
			gv = (struct cgp_rp_groupval){ .cookie = l[i].cookie, .svc = sp->svc.id };
			if (PUSH(pl->attached_groups, pl->nattached, g) ||
			    !(pl->attached_fds = realloc(pl->attached_fds, pl->nattached * sizeof(int)))) {
				err = -ENOMEM;
				goto out;
			}
			pl->attached_fds[pl->nattached - 1] = l[i].fd;
			l[i].fd = -1;
			if (bpf_map_update_elem(pl->st.map[RPM_GROUPS], &g, &gv, BPF_ANY)) {
				err = -errno;
				pr_err("reuseport: cannot record a listener group: %s\n", strerror(-err));
				goto out;
			}
		}
	}
	err = 0;
out:
	free(want);
	free(reg);
	free(cls);
	lst_free(l, n);
	return err;
}

/*
 * Each backend cgroup's storage: which backend of each service it is. Written
 * after attach_links (the storage exists once the program is attached); the
 * old values of cgroups that already had a link are kept for abort.
 */
static int write_backends(struct cgp_rp_plan *pl)
{
	for (unsigned c = 0; c < pl->nkeep; c++) {
		__u64 cgid = pl->keep_cgid[c];
		struct cgp_rp_cgback v, old;

		memset(&v, 0, sizeof(v));
		for (unsigned i = 0; i < pl->nsvcs; i++) {
			const struct rp_svcplan *sp = &pl->svcs[i];

			for (int b = 0; b < CGP_RP_MAX_BACKENDS && !v.backend[sp->svc.id]; b++)
				if ((sp->svc.present & (1u << b)) && sp->svc.cgid[b] == cgid)
					v.backend[sp->svc.id] = b + 1;
		}
		if (!bpf_map_lookup_elem(pl->st.map[RPM_BACKEND], &cgid, &old)) {
			if (!memcmp(&old, &v, sizeof(v)))
				continue;
			struct cgp_rp_cgback *sv = realloc(pl->saved, (pl->nsaved + 1) * sizeof(*sv));

			if (!sv)
				return -ENOMEM;
			pl->saved = sv;
			if (PUSH(pl->saved_cgid, pl->nsaved, cgid))
				return -ENOMEM;
			pl->saved[pl->nsaved - 1] = old;
		}
		if (bpf_map_update_elem(pl->st.map[RPM_BACKEND], &cgid, &v, BPF_ANY)) {
			int err = -errno;

			pr_err("reuseport: cannot write the backends of cgroup id %llu into its cgroup "
			       "storage: %s\n", (unsigned long long)cgid, strerror(-err));
			return err;
		}
	}
	return 0;
}

int cgp_reuseport_prepare(const struct cgp_pins *p, const struct cgp_config *cfg,
			  const struct cgp_rp_cgroup *cgs, unsigned ncgs, bool dry_run,
			  struct cgp_rp_plan **plan)
{
	struct cgp_rp_plan *pl;
	unsigned nrp = cfg->nreuseports;	/* sections to steer: 0 when refused */
	int err;

	*plan = NULL;
	for (unsigned i = 0; i < cfg->nreuseports; i++) {
		const struct cgp_reuseport *rp = &cfg->reuseports[i];

		if (rp->proto != CGP_PROTO_TCP) {
			fprintf(stderr, "%s:%d: [reuseport %s]: only proto = tcp is supported for listener steering\n",
				cfg->file, rp->line, rp->name);
			return -EOPNOTSUPP;
		}
	}
	if (cfg->nreuseports > CGP_RP_MAX_SVCS) {
		fprintf(stderr, "%s:%d: more than %d [reuseport] sections\n", cfg->file,
			cfg->reuseports[CGP_RP_MAX_SVCS].line, CGP_RP_MAX_SVCS);
		return -EINVAL;
	}
	/* A kernel without steering: refuse the sections, apply the rest. */
	if (nrp && !cgp_feature_ok(CGP_FEAT_STEERING)) {
		for (unsigned i = 0; i < nrp; i++) {
			char sec[CGP_RP_NAME_MAX + 16];

			snprintf(sec, sizeof(sec), "[reuseport %s]", cfg->reuseports[i].name);
			cgp_feature_refuse(cfg->file, cfg->reuseports[i].line, sec, "listener steering",
					   CGP_FEAT_STEERING, dry_run);
		}
		nrp = 0;
	}
	if (dry_run) {
		for (unsigned i = 0; i < nrp; i++) {
			const struct cgp_reuseport *rp = &cfg->reuseports[i];
			char a[INET6_ADDRSTRLEN] = "any";

			if (rp->has_addr)
				rp_fmt_addr(rp->addr, a, sizeof(a));
			printf("would steer [reuseport %s] tcp %s port %u:", rp->name, a, rp->port);
			for (unsigned j = 0; j < rp->nbackends; j++)
				printf(" %s %u%s", rp->backends[j].policy, rp->backends[j].weight,
				       j + 1 < rp->nbackends ? "," : "");
			printf("\n");
		}
		return 0;
	}

	pl = calloc(1, sizeof(*pl));
	if (!pl)
		return -ENOMEM;
	cgp_pins_init(&pl->pins, p->dir);
	rp_state_init(&pl->st);
	err = rp_state_open(p, &pl->st, false);
	if (err == -ESTALE) {
		/* One-off on upgrade: steering is off from here until commit. */
		pr_warn("reuseport: the steering state at %s/reuseport is from an older cgpolicy: "
			"rebuilding it\n", p->dir);
		err = cgp_reuseport_remove(p);
		if (!err)
			err = -ENOENT;
	}
	if (err == -ENOENT) {
		if (!nrp) {
			free(pl);
			return 0;	/* nothing to do, nothing to undo */
		}
		err = rp_state_create(p, &pl->st);
	}
	if (err)
		goto fail;
	pl->have_state = true;
	pl->nsvcs = nrp;
	pl->svcs = calloc(pl->nsvcs + 1, sizeof(*pl->svcs));
	if (!pl->svcs) {
		err = -ENOMEM;
		goto fail;
	}
	err = assign_ids(pl, cfg, cgs, ncgs);
	if (err)
		goto fail;
	pl->teardown = !pl->nsvcs;
	/* Backend cgroups: indices not live yet, or the same cgroup as before. */
	for (unsigned i = 0; i < pl->nsvcs; i++) {
		for (int b = 0; b < CGP_RP_MAX_BACKENDS; b++) {
			const struct rp_svcplan *sp = &pl->svcs[i];
			__u32 idx = CGP_RP_BIDX(sp->svc.id, b);

			if (!(sp->svc.present & (1u << b)))
				continue;
			/* a backend index that changed cgroup: its old listeners go */
			if (sp->had_old && (sp->old.present & (1u << b)) && sp->old.cgid[b] != sp->svc.cgid[b])
				rp_clear_backend(&pl->st, idx);
		}
	}
	err = attach_links(pl, cgs, ncgs);
	if (!err)
		err = write_backends(pl);
	if (err)
		goto fail;
	for (unsigned i = 0; i < pl->nsvcs; i++) {
		err = adopt_listeners(pl, &pl->svcs[i], cgs, ncgs);
		if (err)
			goto fail;
	}
	err = collect_detach(pl);
	if (err)
		goto fail;
	*plan = pl;
	return 0;
fail:
	cgp_reuseport_abort(pl);
	return err;
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

void cgp_reuseport_commit(struct cgp_rp_plan *pl)
{
	char path[PATH_MAX];

	if (!pl)
		return;
	for (unsigned i = 0; i < pl->nstale; i++)
		bpf_map_delete_elem(pl->st.map[RPM_SOCKS], &pl->stale_slots[i]);
	/* The switch: each service's weights in one hash update. */
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
	/* Dropped services: no entry, the program passes; then their slots go. */
	for (unsigned i = 0; i < pl->ndrop; i++) {
		bpf_map_delete_elem(pl->st.map[RPM_SVCS], &pl->drop[i]);
		if (pl->drop_id[i] < CGP_RP_MAX_SVCS) {
			for (__u32 b = 0; b < CGP_RP_MAX_BACKENDS; b++)
				rp_clear_backend(&pl->st, CGP_RP_BIDX(pl->drop_id[i], b));
			bpf_map_delete_elem(pl->st.map[RPM_INFO], &pl->drop_id[i]);
		}
	}
	detach_groups(pl);
	/* Links of cgroups that are no backend any more. */
	{
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
	plan_free(pl);
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
	plan_free(pl);
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
	err = collect_detach(pl);
	if (!err)
		detach_groups(pl);
	rp_state_close(&pl->st);
	plan_free(pl);
	return rp_state_remove(p) ?: err;
}

/* ------------------------------------------------------------ status */

struct rp_row {
	struct cgp_rp_svc svc;
	struct cgp_rp_info info;
	unsigned listeners[CGP_RP_MAX_BACKENDS];
	__u64 steered[CGP_RP_MAX_BACKENDS];
	__u64 unsteered;
	unsigned groups;
};

static int cmp_row(const void *a, const void *b)
{
	return strcmp(((const struct rp_row *)a)->info.name, ((const struct rp_row *)b)->info.name);
}

void cgp_reuseport_status(const struct cgp_pins *p, FILE *f, bool json)
{
	struct cgp_rp_key k, next, *prev = NULL;
	struct cgp_rp_group g, gnext, *gprev = NULL;
	struct cgp_rp_groupval gv;
	struct rp_row *rows;
	struct rp_state st;
	unsigned n = 0;

	if (rp_state_open(p, &st, true)) {
		if (json)
			fputs("[]", f);
		return;
	}
	rows = calloc(CGP_RP_MAX_SVCS * 2, sizeof(*rows));
	while (rows && n < CGP_RP_MAX_SVCS * 2 && !bpf_map_get_next_key(st.map[RPM_SVCS], prev, &next)) {
		struct rp_row *r = &rows[n];

		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(st.map[RPM_SVCS], &k, &r->svc) || r->svc.id >= CGP_RP_MAX_SVCS)
			continue;
		if (bpf_map_lookup_elem(st.map[RPM_INFO], &r->svc.id, &r->info))
			r->info.key = k;
		for (int b = 0; b < CGP_RP_MAX_BACKENDS; b++) {
			if (!(r->svc.present & (1u << b)))
				continue;
			r->listeners[b] = __builtin_popcountll(rp_occupied(&st, CGP_RP_BIDX(r->svc.id, b)));
			r->steered[b] = rp_counter(&st, r->svc.id * CGP_RP_CNT_PER_SVC + b);
		}
		r->unsteered = rp_counter(&st, r->svc.id * CGP_RP_CNT_PER_SVC + CGP_RP_MAX_BACKENDS);
		n++;
	}
	while (rows && !bpf_map_get_next_key(st.map[RPM_GROUPS], gprev, &gnext)) {
		g = gnext;
		gprev = &g;
		if (bpf_map_lookup_elem(st.map[RPM_GROUPS], &g, &gv))
			continue;
		for (unsigned i = 0; i < n; i++)
			if (rows[i].svc.id == gv.svc)
				rows[i].groups++;
	}
	if (rows)
		qsort(rows, n, sizeof(*rows), cmp_row);
	if (json)
		fputc('[', f);
	else if (n)
		fprintf(f, "\n%-16s %-5s %-15s %5s  %-16s %6s %9s %12s\n", "REUSEPORT", "PROTO", "ADDRESS",
			"PORT", "BACKEND", "WEIGHT", "LISTENERS", "STEERED");
	for (unsigned i = 0; i < n; i++) {
		const struct rp_row *r = &rows[i];
		char a[INET6_ADDRSTRLEN] = "any";
		bool first = true;

		if (r->info.key.has_addr)
			rp_fmt_addr(r->info.key.addr, a, sizeof(a));
		if (json) {
			fprintf(f, "%s{\"name\": \"%s\", \"proto\": \"tcp\", \"port\": %u, \"address\": ",
				i ? ", " : "", r->info.name, r->info.key.port);
			if (r->info.key.has_addr)
				fprintf(f, "\"%s\"", a);
			else
				fputs("null", f);
			fprintf(f, ", \"groups\": %u, \"unsteered\": %llu, \"backends\": [", r->groups,
				(unsigned long long)r->unsteered);
		}
		for (int b = 0; b < CGP_RP_MAX_BACKENDS; b++) {
			if (!(r->svc.present & (1u << b)))
				continue;
			if (json)
				fprintf(f, "%s{\"policy\": \"%s\", \"cgroup_id\": %llu, \"weight\": %u, "
					"\"listeners\": %u, \"steered\": %llu}", first ? "" : ", ",
					r->info.backend[b], (unsigned long long)r->svc.cgid[b], r->svc.weight[b],
					r->listeners[b], (unsigned long long)r->steered[b]);
			else
				fprintf(f, "%-16s %-5s %-15s %5u  %-16s %6u %9u %12llu\n", first ? r->info.name : "",
					first ? "tcp" : "", first ? a : "", r->info.key.port, r->info.backend[b],
					r->svc.weight[b], r->listeners[b], (unsigned long long)r->steered[b]);
			first = false;
		}
		if (json)
			fputs("]}", f);
		else
			fprintf(f, "%-16s %-5s %-15s %5s  %-16s %6s %9s %12llu%s\n", "", "", "", "",
				"(kernel choice)", "", "", (unsigned long long)r->unsteered,
				r->groups ? "" : "  no listener group attached yet: apply again once listening");
	}
	if (json)
		fputc(']', f);
	free(rows);
	rp_state_close(&st);
}
