// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * stats.c - per-socket TCP stats through the pinned TCP iterator.
 *
 * The iterator walks the TCP sockets of the network namespace its reader is
 * in, so a dump visits our own namespace and every other namespace a process
 * of a policy cgroup lives in (setns there, create the iterator, come back).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent/log.h"
#include "agent/mapiter.h"
#include "agent/stats.h"
#include "bpf/sockstat.h"
#include "util/addr.h"
#include "util/dirwalk.h"
#include "util/json.h"

#define MAX_NETNS 4096

static unsigned long long now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Append every record one iterator instance produces. */
static int read_iter(int link_fd, struct cgp_snapshot *s)
{
	int fd = bpf_iter_create(link_fd);
	char *buf;
	size_t len = 0, cap = 1 << 16;
	ssize_t r;
	int err = 0;

	if (fd < 0)
		return -errno;
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (cap - len < 8192) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				err = -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (r == 0)
			break;
		len += r;
	}
	close(fd);
	if (!err) {
		size_t n = len / sizeof(struct cgp_sockrec);

		if (s->n + n > s->cap) {
			size_t nc = (s->n + n) * 2;
			void *p = realloc(s->rec, nc * sizeof(*s->rec));

			if (!p) {
				free(buf);
				return -ENOMEM;
			}
			s->rec = p;
			s->cap = nc;
		}
		memcpy(s->rec + s->n, buf, n * sizeof(struct cgp_sockrec));
		s->n += n;
	}
	free(buf);
	return err;
}

struct nsset {
	ino_t ino[MAX_NETNS];
	pid_t pid[MAX_NETNS];
	unsigned n;
};

static void add_pid_ns(struct nsset *ns, pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	if (stat(path, &st))
		return;
	for (unsigned i = 0; i < ns->n; i++)
		if (ns->ino[i] == st.st_ino)
			return;
	if (ns->n < MAX_NETNS) {
		ns->ino[ns->n] = st.st_ino;
		ns->pid[ns->n++] = pid;
	}
}

/* A level of the scan below a policy cgroup. */
struct scan {
	struct nsset *ns;
	int depth;	/* of the children */
};

static void scan_cgroup(struct nsset *ns, char *dir, size_t len, int depth);

static int scan_child(char *dir, size_t len, const char *name, void *ctx)
{
	const struct scan *sc = ctx;

	if (name[0] != '.')
		scan_cgroup(sc->ns, dir, len, sc->depth);
	return 0;
}

/* The network namespaces of the processes of dir (a buffer of len bytes) and of the cgroups below it. */
static void scan_cgroup(struct nsset *ns, char *dir, size_t len, int depth)
{
	struct scan sc = { ns, depth + 1 };
	char path[PATH_MAX];
	FILE *f;
	int pid;

	if (depth > 32 || snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path))
		return;
	f = fopen(path, "re");
	if (f) {
		while (fscanf(f, "%d", &pid) == 1)
			add_pid_ns(ns, pid);
		fclose(f);
	}
	cgp_subdirs(dir, len, scan_child, &sc);
}

static int load_info(const struct cgp_pins *p, struct cgp_snapshot *s)
{
	struct cgp_map_iter it = CGP_MAP_ITER(p->map_fd[CGP_MAP_INFO]);
	size_t cap = 0;
	__u32 slot;

	while (cgp_map_next(&it, &slot, sizeof(slot))) {
		if (s->ninfo == cap) {
			void *n = realloc(s->info, (cap = cap ? cap * 2 : 16) * sizeof(*s->info));

			if (!n)
				return -ENOMEM;
			s->info = n;
		}
		if (!bpf_map_lookup_elem(it.fd, &slot, &s->info[s->ninfo]) &&
		    s->info[s->ninfo].slot < CGP_MAX_SLOTS) {
			s->idx[s->info[s->ninfo].slot] = (unsigned short)(s->ninfo + 1);
			s->ninfo++;
		}
	}
	return 0;
}

const struct cgp_info *cgp_snapshot_policy(const struct cgp_snapshot *s, __u32 slot)
{
	return slot < CGP_MAX_SLOTS && s->idx[slot] ? &s->info[s->idx[slot] - 1] : NULL;
}

int cgp_stats_snapshot(const struct cgp_pins *p, struct cgp_snapshot *s)
{
	struct nsset *ns = NULL;
	struct stat self;
	int link_fd, self_fd = -1, err;

	memset(s, 0, sizeof(*s));
	err = load_info(p, s);
	if (err)
		return err;
	{
		char path[PATH_MAX];

		cgp_pin_join(path, sizeof(path), p, "progs", "dump_link");
		link_fd = bpf_obj_get(path);
	}
	if (link_fd < 0) {
		err = -errno;
		pr_err("cannot create the socket iterator: %s\n", strerror(-err));
		return err;
	}
	s->ts_ns = now_ns(CLOCK_REALTIME);
	s->mono_ns = now_ns(CLOCK_MONOTONIC);
	err = read_iter(link_fd, s);
	if (err) {
		pr_err("cannot read the socket iterator: %s\n", strerror(-err));
		goto out;
	}

	/* Other network namespaces of policy cgroups' processes. */
	ns = calloc(1, sizeof(*ns));
	self_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (!ns || self_fd < 0 || fstat(self_fd, &self))
		goto out;
	ns->ino[ns->n++] = self.st_ino;	/* done already */
	for (unsigned i = 0; i < s->ninfo; i++) {
		char dir[PATH_MAX];

		if ((s->info[i].flags & CGP_POL_F_STATS) &&
		    snprintf(dir, sizeof(dir), "%s", s->info[i].cgroup) < (int)sizeof(dir))
			scan_cgroup(ns, dir, sizeof(dir), 0);
	}
	for (unsigned i = 1; i < ns->n; i++) {
		char path[64];
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/ns/net", ns->pid[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;	/* the process is gone */
		if (!setns(fd, CLONE_NEWNET)) {
			int e = read_iter(link_fd, s);

			if (e)
				pr_warn("cannot read sockets of network namespace %s: %s\n", path, strerror(-e));
			if (setns(self_fd, CLONE_NEWNET)) {
				err = -errno;
				pr_err("cannot return to our network namespace: %s\n", strerror(-err));
				close(fd);
				goto out;
			}
		}
		close(fd);
	}
out:
	free(ns);
	if (self_fd >= 0)
		close(self_fd);
	close(link_fd);
	if (err)
		cgp_snapshot_free(s);
	return err;
}

void cgp_snapshot_free(struct cgp_snapshot *s)
{
	free(s->rec);
	free(s->info);
	memset(s, 0, sizeof(*s));
}

static const char *state_name(unsigned st)
{
	static const char *const names[] = {
		"UNKNOWN", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
		"TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV",
	};

	return st < sizeof(names) / sizeof(names[0]) ? names[st] : "UNKNOWN";
}

static int cmp_rec(const void *a, const void *b)
{
	const struct cgp_sockrec *x = a, *y = b;

	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	return x->cookie < y->cookie ? -1 : x->cookie > y->cookie;
}

int cgp_stats_print(FILE *f, const struct cgp_snapshot *s, bool json, const char *policy)
{
	char sa[CGP_ADDR_STRLEN], da[CGP_ADDR_STRLEN];

	qsort(s->rec, s->n, sizeof(*s->rec), cmp_rec);
	if (!json)
		fprintf(f, "%-14s %-11s %-28s %-28s %9s %6s %8s %7s %12s %12s\n", "POLICY", "STATE",
			"LOCAL", "PEER", "RTT(ms)", "CWND", "SSTHRESH", "RETRANS", "ACKED", "RECEIVED");
	for (size_t i = 0; i < s->n; i++) {
		const struct cgp_sockrec *r = &s->rec[i];
		const struct cgp_info *in = cgp_snapshot_policy(s, r->slot);
		const char *name = in ? in->name : "";

		if (policy && strcmp(policy, name))
			continue;
		cgp_addr_str(r->saddr, r->family == AF_INET, sa, sizeof(sa));
		cgp_addr_str(r->daddr, r->family == AF_INET, da, sizeof(da));
		if (json) {
			fprintf(f, "{\"ts_ns\": %llu, \"policy\": ", s->ts_ns);
			cgp_json_str(f, name);
			fprintf(f, ", \"cgroup_id\": %llu, \"cookie\": %llu, "
				"\"family\": \"%s\", \"saddr\": \"%s\", \"sport\": %u, \"daddr\": \"%s\", \"dport\": %u, "
				"\"state\": \"%s\", \"srtt_us\": %u, \"rttvar_us\": %u, \"snd_cwnd\": %u, "
				"\"snd_ssthresh\": %u, \"total_retrans\": %u, \"bytes_acked\": %llu, "
				"\"bytes_received\": %llu, \"segs_in\": %u, \"segs_out\": %u, \"delivered\": %u, "
				"\"accelerated\": %s, \"adopted\": %s, \"age_ms\": %lld}\n",
				(unsigned long long)(in ? in->cgroup_id : 0),
				(unsigned long long)r->cookie, r->family == AF_INET ? "inet" : "inet6", sa, r->sport, da,
				r->dport, state_name(r->state), r->srtt_us, r->rttvar_us, r->snd_cwnd, r->snd_ssthresh,
				r->total_retrans, (unsigned long long)r->bytes_acked,
				(unsigned long long)r->bytes_received, r->segs_in, r->segs_out, r->delivered,
				(r->flags & CGP_SS_F_ACCELERATED) && !(r->flags & CGP_SS_F_PASSING) ? "true" : "false",
				r->flags & CGP_SS_F_ADOPTED ? "true" : "false",
				/* -1: adopted, the start is unknown */
				r->since_ns && s->mono_ns > r->since_ns ? (long long)((s->mono_ns - r->since_ns) / 1000000ull) : -1ll);
		} else {
			char l[64], pe[64], ss[16];

			snprintf(l, sizeof(l), r->family == AF_INET ? "%s:%u" : "[%s]:%u", sa, r->sport);
			snprintf(pe, sizeof(pe), r->family == AF_INET ? "%s:%u" : "[%s]:%u", da, r->dport);
			if (r->snd_ssthresh >= 0x7fffffff)
				snprintf(ss, sizeof(ss), "-");
			else
				snprintf(ss, sizeof(ss), "%u", r->snd_ssthresh);
			fprintf(f, "%-14s %-11s %-28s %-28s %9.3f %6u %8s %7u %12llu %12llu\n", name,
				state_name(r->state), l, pe, r->srtt_us / 1000.0, r->snd_cwnd, ss, r->total_retrans,
				(unsigned long long)r->bytes_acked, (unsigned long long)r->bytes_received);
		}
	}
	if (!json)
		fputc('\n', f);
	if (fflush(f) || ferror(f))
		return -1;
	return 0;
}

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

int cgp_cmd_stats(const char *pin_path, bool json, const char *policy, unsigned watch)
{
	struct cgp_snapshot s;
	struct cgp_pins p;
	int err, rc = CGP_EXIT_OK;

	cgp_pins_init(&p, pin_path);
	err = cgp_pins_open(&p);
	if (err == -ENOENT) {
		pr_err("no policy applied at %s\n", pin_path);
		return policy ? CGP_EXIT_POLICY : CGP_EXIT_OK;
	}
	if (err)
		return CGP_EXIT_SYSTEM;
	if (watch) {
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
	}
	do {
		err = cgp_stats_snapshot(&p, &s);
		if (err) {
			rc = CGP_EXIT_SYSTEM;
			break;
		}
		if (policy) {
			bool found = false;

			for (unsigned i = 0; i < s.ninfo && !found; i++)
				found = !strcmp(s.info[i].name, policy);
			if (!found) {
				pr_err("no policy named '%s' is applied at %s\n", policy, pin_path);
				cgp_snapshot_free(&s);
				rc = CGP_EXIT_POLICY;
				break;
			}
		}
		if (cgp_stats_print(stdout, &s, json, policy)) {
			cgp_snapshot_free(&s);
			rc = CGP_EXIT_SYSTEM;
			break;
		}
		cgp_snapshot_free(&s);
		for (unsigned t = 0; watch && t < watch * 10 && !exiting; t++)
			usleep(100000);
	} while (watch && !exiting);
	cgp_pins_close(&p);
	return rc;
}
