// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* main.c - the cgpolicy command line. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/daemon.h"
#include "agent/features.h"
#include "agent/log.h"
#include "agent/state.h"
#include "agent/stats.h"
#include "policy/policy.h"

static const char usage_text[] =
"Usage: cgpolicy [OPTIONS] COMMAND [ARGS]\n"
"\n"
"Enforce network policy per cgroup with eBPF (cgroup_skb), from an INI file.\n"
"\n"
"Commands:\n"
"  apply [--dry-run] FILE   validate FILE, load and pin the BPF programs, attach them\n"
"                           to every policy cgroup and switch to the new rules at\n"
"                           once. Idempotent: re-applying reuses pinned links.\n"
"                           --dry-run validates, resolves cgroups and compiles,\n"
"                           then prints what would be applied; changes nothing.\n"
"  check FILE               validate FILE only (syntax and values; no system access)\n"
"  status [--json]          policies in force, with per-cgroup packet/byte counters\n"
"  stats [--json] [--policy NAME] [--watch SECONDS]\n"
"                           per-socket TCP stats (rtt, cwnd, retransmits, bytes) of\n"
"                           the sockets of policies with `stats = yes`, read from\n"
"                           the kernel's own tcp_sock (the numbers `ss -tin` shows).\n"
"                           A table, or one JSON object per line with --json;\n"
"                           --watch repeats every SECONDS until interrupted\n"
"  agent FILE               apply FILE, then stay: reload it when it changes\n"
"                           (inotify, also rename and ConfigMap ..data swaps) and on\n"
"                           SIGHUP (a broken file keeps the policy in force); attach\n"
"                           glob `cgroup =` policies to matching cgroups as they\n"
"                           appear; print `log = deny` events as JSON lines; write\n"
"                           [agent] metrics_file; dump TCP stats every\n"
"                           stats_interval seconds. Keeps only CAP_BPF+CAP_NET_ADMIN\n"
"                           (docs/DEPLOY.md). SIGINT/SIGTERM/kill -9 leave the\n"
"                           policy enforced; a restart adopts it\n"
"  remove                   detach every program and unpin everything under the pin\n"
"                           path; traffic flows as if cgpolicy never ran\n"
"\n"
"Options (before or after the command):\n"
"  -p, --pin-path DIR       bpffs directory of the pinned state\n"
"                           (default: [agent] pin_path of FILE, else "
CGP_DEFAULT_PIN_PATH ";\n"
"                           the option wins over the file)\n"
"  -v, --verbose            more messages (twice: libbpf and verifier output)\n"
"  -h, --help               this text\n"
"  -V, --version            print the version; with -v also what this kernel supports\n"
"                           (each feature probed by loading a program or creating a\n"
"                           map) and why not\n"
"\n"
"Exit status: 0 success; 1 invalid policy or usage (nothing was changed);\n"
"2 system error (no permission, missing kernel feature, cgroup gone);\n"
"3 (apply) applied, but sections that need a kernel feature this kernel lacks\n"
"were refused (e.g. [reuseport] without listener steering): each is named as\n"
"FILE:LINE with the feature and the reason; `cgpolicy status` lists the features.\n"
"Errors in FILE are reported as FILE:LINE: message. apply and agent refuse a FILE\n"
"not owned by root or writable by group/others.\n"
"\n"
"Policy format: docs/POLICY.md. Example:\n"
"  [web]\n"
"  cgroup = /web\n"
"  default_ingress = deny\n"
"  allow = in tcp any port 80,443\n"
"  deny  = out tcp 192.168.0.0/16 port 1-1024\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "cgpolicy: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'cgpolicy --help'.\n");
	return CGP_EXIT_POLICY;
}

static int load(const char *file, struct cgp_config *cfg, bool strict)
{
	char err[1024];

	if (cgp_config_load(file, cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return CGP_EXIT_POLICY;
	}
	/* After parsing: what is wrong with the content is said first. */
	if (strict && cgp_policy_file_check(file))
		return CGP_EXIT_POLICY;	/* main() frees cfg */
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pin-path", required_argument, NULL, 'p' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "policy", required_argument, NULL, 'P' },
		{ "watch", required_argument, NULL, 'w' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const char *pin_path = NULL, *cmd, *file = NULL, *policy = NULL;
	bool dry_run = false, json = false, version = false;
	long watch = 0;
	char *end;
	struct cgp_config cfg = {};
	int c, rc;

	while ((c = getopt_long(argc, argv, "p:vhVnjP:w:", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pin_path = optarg;
			break;
		case 'n':
			dry_run = true;
			break;
		case 'j':
			json = true;
			break;
		case 'P':
			policy = optarg;
			break;
		case 'w':
			errno = 0;
			watch = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || watch < 1 || watch > 86400)
				return usage_error("--watch needs a number of seconds (1-86400), not '%s'", optarg);
			break;
		case 'v':
			cgp_verbosity++;
			break;
		case 'h':
			usage(stdout);
			return CGP_EXIT_OK;
		case 'V':
			version = true;
			break;
		default:
			fprintf(stderr, "Try 'cgpolicy --help'.\n");
			return CGP_EXIT_POLICY;
		}
	}
	if (version) {
		printf("cgpolicy %s\n", CGP_VERSION);
		if (cgp_verbosity > CGP_LOG_WARN) {
			cgp_log_setup_libbpf();
			cgp_features_print(stdout);
		}
		return CGP_EXIT_OK;
	}
	if (optind >= argc) {
		usage(stderr);
		return CGP_EXIT_POLICY;
	}
	cmd = argv[optind++];
	cgp_log_setup_libbpf();
	if (pin_path && pin_path[0] != '/')
		return usage_error("--pin-path must be an absolute path, not '%s'", pin_path);

	if (!strcmp(cmd, "apply") || !strcmp(cmd, "check") || !strcmp(cmd, "agent")) {
		if (optind >= argc)
			return usage_error("%s needs a policy FILE", cmd);
		file = argv[optind++];
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (dry_run && strcmp(cmd, "apply"))
		return usage_error("--dry-run is an option of apply, not of %s", cmd);
	if (json && strcmp(cmd, "status") && strcmp(cmd, "stats"))
		return usage_error("--json is an option of status and stats, not of %s", cmd);
	if ((policy || watch) && strcmp(cmd, "stats"))
		return usage_error("--policy and --watch are options of stats, not of %s", cmd);

	/* What the kernel can do, probed once at start-up (by loading, never by version). */
	if (!strcmp(cmd, "apply") || !strcmp(cmd, "agent") || !strcmp(cmd, "status"))
		cgp_features();

	if (!strcmp(cmd, "check")) {
		rc = load(file, &cfg, false);
		if (!rc)
			printf("%s: OK, %u %s\n", file, cfg.npolicies, cfg.npolicies == 1 ? "policy" : "policies");
	} else if (!strcmp(cmd, "apply")) {
		rc = load(file, &cfg, !dry_run);
		if (!rc) {
			if (geteuid() != 0 && !dry_run)
				pr_warn("not running as root: attaching will probably fail\n");
			rc = cgp_cmd_apply(&cfg, pin_path ? pin_path : cfg.agent.pin_path, dry_run);
			if (rc == CGP_EXIT_OK && cgp_feature_refusals())
				rc = CGP_EXIT_PARTIAL;
		}
	} else if (!strcmp(cmd, "status")) {
		rc = cgp_cmd_status(pin_path ? pin_path : CGP_DEFAULT_PIN_PATH, json);
	} else if (!strcmp(cmd, "stats")) {
		rc = cgp_cmd_stats(pin_path ? pin_path : CGP_DEFAULT_PIN_PATH, json, policy, (unsigned)watch);
	} else if (!strcmp(cmd, "agent")) {
		rc = cgp_cmd_agent(file, pin_path);
	} else if (!strcmp(cmd, "remove")) {
		rc = cgp_cmd_remove(pin_path ? pin_path : CGP_DEFAULT_PIN_PATH);
	} else {
		return usage_error("unknown command '%s'", cmd);
	}
	cgp_config_free(&cfg);
	return rc;
}
