// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * daemon.c - `cgpolicy agent FILE`: apply, then stay.
 *
 * One epoll loop over:
 *   - a signalfd: SIGHUP reloads FILE; SIGINT/SIGTERM end the agent and leave
 *     enforcement in place (it lives in pinned links and maps);
 *   - an inotify fd: FILE itself and its directory (editors and Kubernetes
 *     ConfigMaps replace files by rename or by swapping the `..data` symlink),
 *     and the cgroup directories the `cgroup =` globs can reach;
 *   - timerfds: the reload debounce (a burst of events is one reload), the
 *     cgroup rescan debounce, the stats rounds, the housekeeping round
 *     (metrics file, a rescan in case an inotify event was lost).
 * A reload is the same atomic apply as `cgpolicy apply`: a broken file is
 * reported (FILE:LINE) and the policy in force stays.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "agent/caps.h"
#include "agent/cgroup.h"
#include "agent/cmd.h"
#include "agent/daemon.h"
#include "agent/dns_agent.h"
#include "agent/sets.h"
#include "agent/events.h"
#include "agent/log.h"
#include "agent/stats.h"

#define DEBOUNCE_MS		200	/* policy file events */
#define RESCAN_MS		100	/* cgroup events */
#define HOUSEKEEPING_S		10	/* metrics file, safety rescan */

#define FILE_MASK	(IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)
#define DIR_MASK	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM | \
			 IN_ATTRIB | IN_ONLYDIR)
#define CGROUP_MASK	(IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_ONLYDIR)

int cgp_policy_file_check(const char *file)
{
	struct stat st;

	if (stat(file, &st)) {
		fprintf(stderr, "%s: %s\n", file, strerror(errno));
		return CGP_EXIT_POLICY;
	}
	/* Like sshd's StrictModes: whoever can write the policy controls the network. */
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		fprintf(stderr, "%s: refused: owned by uid %u, must be owned by root (chown root %s)\n",
			file, (unsigned)st.st_uid, file);
		return CGP_EXIT_POLICY;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		fprintf(stderr, "%s: refused: writable by %s (mode %04o); chmod go-w %s\n", file,
			st.st_mode & S_IWOTH ? "everyone" : "its group", (unsigned)(st.st_mode & 07777), file);
		return CGP_EXIT_POLICY;
	}
	return 0;
}

struct agent {
	const char *file;
	char pin_path[CGP_PATH_MAX];
	char mnt[CGP_PATH_MAX];
	struct cgp_config cfg;
	int ep, sfd, ifd, t_reload, t_rescan, t_stats, t_house;
	int t_dns;			/* dns = agent: the next name due (one-shot) */
	struct cgp_dns_agent *dns;
	int wd_file, wd_dir;
	char base[NAME_MAX + 1];
	char *sig;		/* the cgroups the globs matched at the last apply */
	size_t siglen, sigcap;
	bool have_globs;
	struct cgp_events *ev;
};

static int arm(int tfd, long ms, long interval_s)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L },
		.it_interval = { .tv_sec = interval_s },
	};

	if (!ms && !interval_s)
		its.it_value.tv_nsec = 0;	/* disarm */
	return timerfd_settime(tfd, 0, &its, NULL);
}

static void drain(int fd)
{
	unsigned long long n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		pr_debug("agent: timer read: %s\n", strerror(errno));
}

static int dump_round(const char *pin_path, const struct cgp_agent_conf *ac)
{
	struct cgp_snapshot s;
	struct cgp_pins p;
	FILE *f = stdout;
	int err;

	cgp_pins_init(&p, pin_path);
	err = cgp_pins_open(&p);
	if (!err)
		err = cgp_stats_snapshot(&p, &s);
	cgp_pins_close(&p);
	if (err) {
		pr_warn("agent: stats dump failed: %s\n", strerror(-err));
		return err;
	}
	if (strcmp(ac->stats_output, "-")) {
		f = fopen(ac->stats_output, "ae");
		if (!f) {
			err = -errno;
			pr_warn("agent: cannot open %s: %s (enforcement is unaffected)\n", ac->stats_output,
				strerror(-err));
			cgp_snapshot_free(&s);
			return err;
		}
	}
	if (cgp_stats_print(f, &s, ac->stats_format == CGP_STATS_JSON, NULL)) {
		err = -errno;
		pr_warn("agent: cannot write stats to %s: %s (enforcement is unaffected)\n",
			strcmp(ac->stats_output, "-") ? ac->stats_output : "stdout", strerror(errno));
		clearerr(f);
	}
	if (f != stdout && fclose(f) && !err) {
		err = -errno;
		pr_warn("agent: cannot write stats to %s: %s\n", ac->stats_output, strerror(-err));
	}
	cgp_snapshot_free(&s);
	return err;
}

/* ---- cgroup globs: what they match now, and the directories to watch ---- */

static int sig_add(const char *path, void *ctx)
{
	struct agent *a = ctx;
	size_t n = strlen(path) + 1;

	if (a->siglen + n + 1 > a->sigcap) {
		size_t cap = (a->sigcap + n + 1) * 2;
		char *s = realloc(a->sig, cap);

		if (!s)
			return -ENOMEM;
		a->sig = s;
		a->sigcap = cap;
	}
	memcpy(a->sig + a->siglen, path, n - 1);
	a->sig[a->siglen + n - 1] = '\n';
	a->siglen += n;
	a->sig[a->siglen] = 0;
	return 0;
}

/* A candidate with its cgroup id: one removed and re-created under the same
 * name within the debounce is a new cgroup to decide. */
static int sig_add_cand(const char *path, void *ctx)
{
	char buf[CGP_PATH_MAX + 32];
	struct stat st;

	if (stat(path, &st))
		return 0;
	snprintf(buf, sizeof(buf), "%s %llu", path, (unsigned long long)st.st_ino);
	return sig_add(buf, ctx);
}

static int watch_dir(const char *path, void *ctx)
{
	struct agent *a = ctx;

	if (inotify_add_watch(a->ifd, path, CGROUP_MASK) < 0 && errno != ENOENT)
		pr_warn("agent: cannot watch %s: %s (new cgroups there are found every %ds)\n", path,
			strerror(errno), HOUSEKEEPING_S);
	return 0;
}

/*
 * Walk every glob of cfg: adds watches, returns in a->sig every candidate
 * (each cgroup at the glob's level below its fixed ancestor, matching or
 * not): until an apply has decided a new candidate, the guard judges it by
 * the glob's template, so a new non-matching cgroup needs an apply too.
 */
static void glob_scan(struct agent *a, const struct cgp_config *cfg)
{
	char anc[CGP_PATH_MAX];
	unsigned depth;
	bool exists;

	a->siglen = 0;
	if (a->sig)
		a->sig[0] = 0;
	a->have_globs = false;
	for (unsigned i = 0; i < cfg->npolicies; i++) {
		const char *spec = cfg->policies[i].cgroup;

		if (!cgp_cgroup_is_glob(spec))
			continue;
		a->have_globs = true;
		sig_add(cfg->policies[i].name, a);
		if (!cgp_cgroup_guard_point(a->mnt, spec, anc, sizeof(anc), &depth, &exists)) {
			sig_add_cand(anc, a);	/* a re-created ancestor needs a new guard */
			cgp_cgroup_candidates(anc, depth, sig_add_cand, watch_dir, a);
		} else {
			cgp_cgroup_glob(a->mnt, spec, sig_add, watch_dir, a);
		}
	}
}

/* ---- the policy file ---- */

static void watch_file(struct agent *a)
{
	int wd = inotify_add_watch(a->ifd, a->file, FILE_MASK);

	if (wd >= 0 && a->wd_file >= 0 && wd != a->wd_file)
		inotify_rm_watch(a->ifd, a->wd_file);
	a->wd_file = wd;	/* -1 while the file is missing: the directory watch sees it come back */
}

static int load(const char *file, struct cgp_config *cfg)
{
	char err[1024];

	if (cgp_config_load(file, cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		fflush(stderr);
		return CGP_EXIT_POLICY;
	}
	if (cgp_lockout_refuse(cfg) || cgp_policy_file_check(file)) {
		fflush(stderr);
		return CGP_EXIT_POLICY;
	}
	return 0;
}

static int apply(struct agent *a, const struct cgp_config *cfg)
{
	int rc;

	fflush(stderr);
	rc = cgp_cmd_apply(cfg, a->pin_path, false);
	fflush(stdout);
	fflush(stderr);
	if (!rc)
		cgp_metrics_write(a->pin_path, &cfg->agent);
	return rc;
}

static void reload(struct agent *a, const char *why)
{
	struct cgp_config ncfg = {};
	int rc;

	watch_file(a);
	cgp_alog("%s: reloading %s\n", why, a->file);
	rc = load(a->file, &ncfg);
	if (!rc) {
		glob_scan(a, &ncfg);
		rc = apply(a, &ncfg);
	}
	if (rc) {
		cgp_alog("reload of %s failed; the previous policy stays in force\n", a->file);
		cgp_config_free(&ncfg);
		glob_scan(a, &a->cfg);	/* the signature of what is in force */
		return;
	}
	if (strcmp(ncfg.agent.pin_path, a->cfg.agent.pin_path))
		cgp_alog("pin_path changed in %s: ignored until the agent restarts (still %s)\n",
			 a->file, a->pin_path);
	cgp_config_free(&a->cfg);
	a->cfg = ncfg;
	arm(a->t_stats, a->cfg.agent.stats_interval * 1000L, a->cfg.agent.stats_interval);
	arm(a->t_dns, 1, 0);		/* new names: resolved now */
	cgp_events_setup(a->ev, &a->cfg.agent);
}

/* Cgroups came or went under a glob: apply again if the matches changed. */
static void rescan(struct agent *a)
{
	char *old = a->sig ? strdup(a->sig) : NULL;

	glob_scan(a, &a->cfg);
	if (old && a->sig && !strcmp(old, a->sig)) {
		free(old);
		return;
	}
	free(old);
	cgp_alog("cgroups matching the policy globs changed: applying again\n");
	if (apply(a, &a->cfg))
		cgp_alog("apply after a cgroup change failed; will retry in %ds\n", HOUSEKEEPING_S);
	else
		return;
	if (a->sig)
		a->sig[0] = 0;	/* forces the retry */
}

static void on_inotify(struct agent *a)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool file = false, cg = false;
	ssize_t n;

	while ((n = read(a->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;

			p += sizeof(*e) + e->len;
			if (e->mask & IN_Q_OVERFLOW) {
				file = cg = true;
			} else if (e->wd == a->wd_file) {
				if (!(e->mask & IN_IGNORED))
					file = true;
			} else if (e->wd == a->wd_dir) {
				if (e->len && (!strcmp(e->name, a->base) || !strcmp(e->name, "..data")))
					file = true;
			} else if (!(e->mask & IN_IGNORED)) {
				cg = true;
			}
		}
	}
	if (file)
		arm(a->t_reload, DEBOUNCE_MS, 0);
	if (cg && a->have_globs)
		arm(a->t_rescan, RESCAN_MS, 0);
}

static int add_fd(int ep, int fd)
{
	struct epoll_event e = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}

/* Signals (blocked, read from a signalfd), epoll, inotify and the timers. 0, or -1 (errno). */
static int setup_loop(struct agent *a)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);	/* a closed stdout is a write error, not a death */

	a->ep = epoll_create1(EPOLL_CLOEXEC);
	a->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	a->ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	a->t_reload = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	a->t_rescan = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	a->t_stats = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	a->t_house = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	a->t_dns = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	a->dns = cgp_dns_agent_new();
	if (a->ep < 0 || a->sfd < 0 || a->ifd < 0 || a->t_reload < 0 || a->t_rescan < 0 || a->t_stats < 0 ||
	    a->t_house < 0 || a->t_dns < 0 || !a->dns || add_fd(a->ep, a->sfd) || add_fd(a->ep, a->ifd) ||
	    add_fd(a->ep, a->t_reload) || add_fd(a->ep, a->t_rescan) || add_fd(a->ep, a->t_stats) ||
	    add_fd(a->ep, a->t_house) || add_fd(a->ep, a->t_dns))
		return -1;
	return 0;
}

/* Watches on the policy file's directory and the file itself. */
static void watch_policy(struct agent *a)
{
	char dir[PATH_MAX], tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", a->file);
	snprintf(a->base, sizeof(a->base), "%s", basename(tmp));
	snprintf(tmp, sizeof(tmp), "%s", a->file);
	snprintf(dir, sizeof(dir), "%s", dirname(tmp));
	a->wd_dir = inotify_add_watch(a->ifd, dir, DIR_MASK);
	if (a->wd_dir < 0)
		pr_warn("agent: cannot watch %s: %s (reload with SIGHUP)\n", dir, strerror(errno));
	watch_file(a);
}

/* One ready fd of the loop. false: a signal ends the agent. */
static bool on_ready(struct agent *a, int fd)
{
	if (fd == a->sfd) {
		struct signalfd_siginfo si;

		while (read(a->sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGHUP) {
				reload(a, "SIGHUP");
				continue;
			}
			cgp_alog("%s, exiting; enforcement stays in place\n", strsignal((int)si.ssi_signo));
			return false;
		}
	} else if (fd == a->ifd) {
		on_inotify(a);
	} else if (fd == a->t_reload) {
		drain(fd);
		reload(a, "policy file changed");
	} else if (fd == a->t_rescan) {
		drain(fd);
		rescan(a);
	} else if (fd == a->t_stats) {
		drain(fd);
		if (a->cfg.agent.stats_interval)
			dump_round(a->pin_path, &a->cfg.agent);
	} else if (fd == a->t_dns) {
		long ms;

		drain(fd);
		ms = cgp_dns_agent_round(a->dns, a->pin_path, &a->cfg, false);
		if (ms >= 0)
			arm(fd, ms ? ms : 1, 0);
	} else if (fd == a->t_house) {
		drain(fd);
		if (a->have_globs)
			rescan(a);
		cgp_metrics_write(a->pin_path, &a->cfg.agent);
		cgp_sets_sweep_pin(a->pin_path);	/* expired members of dynamic sets */
	} else {
		cgp_events_poll(a->ev);
	}
	return true;
}

static void run_loop(struct agent *a)
{
	arm(a->t_stats, a->cfg.agent.stats_interval * 1000L, a->cfg.agent.stats_interval);
	arm(a->t_house, HOUSEKEEPING_S * 1000L, HOUSEKEEPING_S);
	arm(a->t_dns, 1, 0);
	for (;;) {
		struct epoll_event evs[8];
		int n = epoll_wait(a->ep, evs, 8, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			pr_err("agent: epoll_wait: %s\n", strerror(errno));
			return;
		}
		for (int i = 0; i < n; i++)
			if (!on_ready(a, evs[i].data.fd))
				return;
	}
}

int cgp_cmd_agent(const char *file, const char *pin_override)
{
	struct agent a = { .file = file, .wd_file = -1, .wd_dir = -1 };
	int rc, err;

	rc = load(file, &a.cfg);
	if (rc) {
		cgp_config_free(&a.cfg);
		return rc;
	}
	snprintf(a.pin_path, sizeof(a.pin_path), "%s", pin_override ? pin_override : a.cfg.agent.pin_path);
	err = cgp_cgroup2_mount(a.mnt, sizeof(a.mnt));
	if (err) {
		pr_err("no cgroup2 filesystem is mounted: %s\n", strerror(-err));
		cgp_config_free(&a.cfg);
		return CGP_EXIT_SYSTEM;
	}
	if (setup_loop(&a)) {
		pr_err("agent: cannot set up the event loop: %s\n", strerror(errno));
		cgp_config_free(&a.cfg);
		return CGP_EXIT_SYSTEM;
	}

	/* Watches first, then apply: a change in between triggers another round. */
	watch_policy(&a);
	glob_scan(&a, &a.cfg);
	rc = apply(&a, &a.cfg);
	if (rc) {
		cgp_config_free(&a.cfg);
		return rc;
	}
	a.ev = cgp_events_open(a.pin_path, a.ep);
	cgp_events_setup(a.ev, &a.cfg.agent);
	cgp_metrics_write(a.pin_path, &a.cfg.agent);
	cgp_drop_caps(&a.cfg);
	cgp_alog("running (pid %d), policy %s, pin path %s, stats every %us\n", (int)getpid(), file,
		 a.pin_path, a.cfg.agent.stats_interval);
	run_loop(&a);
	cgp_events_close(a.ev);
	cgp_dns_agent_free(a.dns);
	free(a.sig);
	cgp_config_free(&a.cfg);
	return CGP_EXIT_OK;
}
