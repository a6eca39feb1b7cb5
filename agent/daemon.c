// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * daemon.c - `cgpolicy agent FILE`: apply, then stay. Every stats_interval
 * seconds one round of per-socket TCP stats is appended to stats_output;
 * SIGHUP re-reads FILE (a broken file is reported and the policy in force
 * stays); SIGINT/SIGTERM end the agent and leave enforcement in place.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/log.h"
#include "agent/stats.h"

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

static int load_and_apply(const char *file, const char *pin_path, struct cgp_config *cfg)
{
	char err[1024];
	int rc;

	if (cgp_config_load(file, cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return CGP_EXIT_POLICY;
	}
	rc = cgp_cmd_apply(cfg, pin_path ? pin_path : cfg->agent.pin_path, false);
	fflush(stdout);
	return rc;
}

int cgp_cmd_agent(const char *file, const char *pin_override)
{
	struct cgp_config cfg = {};
	struct timespec next, now;
	char pin_path[CGP_PATH_MAX];
	sigset_t set;
	int rc;

	rc = load_and_apply(file, pin_override, &cfg);
	if (rc) {
		cgp_config_free(&cfg);
		return rc;
	}
	snprintf(pin_path, sizeof(pin_path), "%s", pin_override ? pin_override : cfg.agent.pin_path);
	pr_info("agent: running, policy %s, pin path %s, stats every %us\n", file, pin_path,
		cfg.agent.stats_interval);

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);	/* a closed stdout is a write error, not a death */

	clock_gettime(CLOCK_MONOTONIC, &next);
	next.tv_sec += cfg.agent.stats_interval;
	for (;;) {
		struct timespec timeout = { .tv_sec = 3600 }, *tp = &timeout;
		int sig;

		if (cfg.agent.stats_interval) {
			long long ns;

			clock_gettime(CLOCK_MONOTONIC, &now);
			ns = (next.tv_sec - now.tv_sec) * 1000000000ll + (next.tv_nsec - now.tv_nsec);
			if (ns < 0)
				ns = 0;
			timeout.tv_sec = ns / 1000000000ll;
			timeout.tv_nsec = ns % 1000000000ll;
		}
		sig = sigtimedwait(&set, NULL, tp);
		if (sig == SIGINT || sig == SIGTERM) {
			pr_info("agent: %s, exiting; enforcement stays in place\n", strsignal(sig));
			break;
		}
		if (sig == SIGHUP) {
			struct cgp_config ncfg = {};

			pr_info("agent: SIGHUP, reloading %s\n", file);
			/* Keep the pin path the agent started with: moving it would orphan the state. */
			if (load_and_apply(file, pin_path, &ncfg)) {
				pr_err("agent: reload of %s failed; the previous policy stays in force\n", file);
				cgp_config_free(&ncfg);
			} else {
				cgp_config_free(&cfg);
				cfg = ncfg;
			}
			continue;
		}
		if (sig < 0 && errno == EINTR)
			continue;
		if (!cfg.agent.stats_interval)
			continue;
		/* the interval elapsed */
		dump_round(pin_path, &cfg.agent);
		next.tv_sec += cfg.agent.stats_interval;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (next.tv_sec < now.tv_sec)	/* a slow round: do not try to catch up */
			next = now;
	}
	cgp_config_free(&cfg);
	return CGP_EXIT_OK;
}
