// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * main.c - the cgpolicy command line: options, then one entry of cmds[] per
 * command (its name, which options it takes, whether it needs a FILE) and its
 * handler. apply and check are in cmd_apply.c (then apply.c), remove in
 * cmd_remove.c, status in status.c (--rules: status_rules.c), stats in
 * stats.c, explain in explain.c, agent in daemon.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cmd.h"
#include "agent/daemon.h"
#include "agent/features.h"
#include "agent/log.h"
#include "agent/sets.h"
#include "agent/state.h"
#include "agent/stats.h"
#include "policy/policy.h"

static const char usage_head[] =
"Usage: cgpolicy [OPTIONS] COMMAND [ARGS]\n"
"\n"
"Enforce network policy per cgroup with eBPF (cgroup_skb), from an INI file.\n"
"\n"
"Commands:\n";

static const char usage_tail[] =
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
"not owned by root or writable by group/others. check, apply and agent refuse\n"
"a default deny on the root cgroup or on the cgroup they run in (or an ancestor)\n"
"unless the section says `lockout = accept`.\n"
"\n"
"Policy format: docs/POLICY.md. Example:\n"
"  [web]\n"
"  cgroup = /web\n"
"  default_ingress = deny\n"
"  allow = in tcp any port 80,443\n"
"  deny  = out tcp 192.168.0.0/16 port 1-1024\n"
"  allow = out icmp any type echo-request\n";

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "cgpolicy: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'cgpolicy --help'.\n");
	return CGP_EXIT_POLICY;
}

/* status, stats and remove: the default pin path unless --pin-path. */
static const char *pin_path_or_default(const struct cgp_cmd_args *a)
{
	return a->pin_path ? a->pin_path : CGP_DEFAULT_PIN_PATH;
}

static int cmd_status(const struct cgp_cmd_args *a)
{
	if (a->rules)
		return cgp_cmd_status_rules(pin_path_or_default(a), a->policy, a->json);
	if (a->policy)
		return usage_error("%s", "status --policy needs --rules");
	return cgp_cmd_status(pin_path_or_default(a), a->json);
}

static int cmd_stats(const struct cgp_cmd_args *a)
{
	return cgp_cmd_stats(pin_path_or_default(a), a->json, a->policy, (unsigned)a->watch);
}

static int cmd_agent(const struct cgp_cmd_args *a)
{
	return cgp_cmd_agent(a->file, a->pin_path);
}

static int cmd_remove(const struct cgp_cmd_args *a)
{
	return cgp_cmd_remove(pin_path_or_default(a));
}

/*
 * The commands, in the order of --help (usage() prints usage and help).
 * opts: the command-specific options it accepts; needs_file: its one
 * argument is a policy FILE; probe: the kernel's features are probed before
 * it runs (by loading, never by version).
 */
static const struct cgp_cmd cmds[] = {
	{
		.name = "apply",
		.run = cgp_cmd_apply_cli,
		.usage = "apply [--dry-run] FILE",
		.help =
			"validate FILE, load and pin the BPF programs, attach them\n"
			"to every policy cgroup and switch to the new rules at\n"
			"once. Idempotent: re-applying reuses pinned links.\n"
			"--dry-run validates, resolves cgroups and compiles,\n"
			"then prints what would be applied; changes nothing.\n",
		.opts = CGP_OPT_DRY_RUN,
		.needs_file = true,
		.probe = true,
	},
	{
		.name = "check",
		.run = cgp_cmd_check_cli,
		.usage = "check FILE",
		.help =
			"validate FILE only (syntax, values, and the lock-out check:\n"
			"a default deny on / or on the cgroup cgpolicy runs in)\n",
		.opts = 0,
		.needs_file = true,
		.probe = false,
	},
	{
		.name = "status",
		.run = cmd_status,
		.usage = "status [--json] [--rules [--policy NAME]]",
		.help =
			"policies in force, with per-cgroup packet/byte counters.\n"
			"--rules: each rule (FILE:LINE and its text) with the\n"
			"connections (TCP) and packets (others) it decided per\n"
			"cgroup since apply, the defaults too; rules never hit\n"
			"are marked dead. Policies with DNS-name rules: their\n"
			"names, learned addresses (source, TTL left), counters\n",
		.opts = CGP_OPT_JSON | CGP_OPT_RULES | CGP_OPT_POLICY,
		.needs_file = false,
		.probe = true,
	},
	{
		.name = "stats",
		.run = cmd_stats,
		.usage = "stats [--json] [--policy NAME] [--watch SECONDS]",
		.help =
			"per-socket TCP stats (rtt, cwnd, retransmits, bytes) of\n"
			"the sockets of policies with `stats = yes`, read from\n"
			"the kernel's own tcp_sock (the numbers `ss -tin` shows).\n"
			"A table, or one JSON object per line with --json;\n"
			"--watch repeats every SECONDS until interrupted\n",
		.opts = CGP_OPT_JSON | CGP_OPT_STATS,
		.needs_file = false,
		.probe = false,
	},
	{
		.name = "explain",
		.run = cgp_cmd_explain,
		.usage = "explain [FILE] --cgroup PATH|--policy NAME in|out PROTO ADDRESS [PORT|type NAME|N [code M]] [--json]",
		.help =
			"the verdict for one flow and why: each policy on the\n"
			"cgroup's path (its own and its ancestors'; any deny\n"
			"drops), its deciding rule (FILE:LINE and text) or default,\n"
			"and the precedence step. Without FILE: the live state in\n"
			"the pinned maps (what the kernel does); with FILE: what\n"
			"that file would do. PROTO: tcp, udp, icmp, other;\n"
			"icmp takes the packet's type (names as in rules; IPv4\n"
			"ADDRESS: ICMP, IPv6: ICMPv6). Set rules (@NAME): the\n"
			"set member that matched, or the exclusion\n",
		.opts = CGP_OPT_JSON | CGP_OPT_POLICY | CGP_OPT_CGROUP,
		.needs_file = false,
		.probe = false,
		.takes_args = true,
	},
	{
		.name = "agent",
		.run = cmd_agent,
		.usage = "agent FILE",
		.help =
			"apply FILE, then stay: reload it when it changes\n"
			"(inotify, also rename and ConfigMap ..data swaps) and on\n"
			"SIGHUP (a broken file keeps the policy in force); attach\n"
			"glob `cgroup =` policies to matching cgroups as they\n"
			"appear; print `log = deny` events as JSON lines; write\n"
			"[agent] metrics_file; dump TCP stats every\n"
			"stats_interval seconds; resolve the names of `dns = agent`\n"
			"policies as their TTLs end. Keeps only CAP_BPF+CAP_NET_ADMIN\n"
			"(docs/DEPLOY.md). SIGINT/SIGTERM/kill -9 leave the\n"
			"policy enforced; a restart adopts it\n",
		.opts = 0,
		.needs_file = true,
		.probe = true,
	},
	{
		.name = "set",
		.run = cgp_cmd_set,
		.usage = "set add|del NAME ADDRESS... [timeout SECONDS]",
		.help =
			"change a dynamic address set ([set NAME] with\n"
			"dynamic = yes) of the policy in force, at once, no\n"
			"apply: add or delete members (CIDR; IPv4 or IPv6);\n"
			"`-` for ADDRESS reads them from stdin, one or more per\n"
			"line. timeout: added members expire by themselves\n"
			"after SECONDS\n",
		.opts = 0,
		.needs_file = false,
		.probe = false,
		.takes_args = true,
	},
	{
		.name = "set list",
		.run = cgp_cmd_set,
		.usage = "set list NAME [--json]",
		.help =
			"the members of a set in force (a dynamic set's with the\n"
			"seconds left of a timeout)\n",
		.opts = CGP_OPT_JSON,
		.needs_file = false,
		.probe = false,
		.takes_args = true,
	},
	{
		.name = "remove",
		.run = cmd_remove,
		.usage = "remove",
		.help =
			"detach every program and unpin everything under the pin\n"
			"path; traffic flows as if cgpolicy never ran\n",
		.opts = 0,
		.needs_file = false,
		.probe = false,
	},
};

static const struct cgp_cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

/*
 * --help: the command lines come from cmds[], each as "  USAGE" padded to
 * column 27, then its help text with every further line indented to 27
 * (a usage longer than the column gets its own line).
 */
static void usage(FILE *f)
{
	fputs(usage_head, f);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const char *line = cmds[i].help, *nl;

		if (strlen(cmds[i].usage) <= 24)
			fprintf(f, "  %-24s ", cmds[i].usage);
		else
			fprintf(f, "  %s\n%27s", cmds[i].usage, "");
		for (;;) {
			nl = strchr(line, '\n');
			fwrite(line, 1, nl ? (size_t)(nl - line) + 1 : strlen(line), f);
			if (!nl || !nl[1])
				break;
			line = nl + 1;
			fprintf(f, "%27s", "");
		}
	}
	fputs(usage_tail, f);
}

/* Options: *exit_rc >= 0 when main() is to return it at once (--help, an error). */
static void parse_options(int argc, char **argv, struct cgp_cmd_args *a, int *exit_rc)
{
	static const struct option opts[] = {
		{ "pin-path", required_argument, NULL, 'p' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "policy", required_argument, NULL, 'P' },
		{ "watch", required_argument, NULL, 'w' },
		{ "rules", no_argument, NULL, 'R' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	char *end;
	int c;

	*exit_rc = -1;
	while ((c = getopt_long(argc, argv, "p:vhVnjP:w:", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			a->pin_path = optarg;
			break;
		case 'n':
			a->dry_run = true;
			break;
		case 'j':
			a->json = true;
			break;
		case 'P':
			a->policy = optarg;
			break;
		case 'R':
			a->rules = true;
			break;
		case 'c':
			a->cgroup = optarg;
			break;
		case 'w':
			errno = 0;
			a->watch = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || a->watch < 1 || a->watch > 86400) {
				*exit_rc = usage_error("--watch needs a number of seconds (1-86400), not '%s'",
						       optarg);
				return;
			}
			break;
		case 'v':
			cgp_verbosity++;
			break;
		case 'h':
			usage(stdout);
			*exit_rc = CGP_EXIT_OK;
			return;
		case 'V':
			a->version = true;
			break;
		default:
			fprintf(stderr, "Try 'cgpolicy --help'.\n");
			*exit_rc = CGP_EXIT_POLICY;
			return;
		}
	}
}

/*
 * The command's arguments and whether it takes the options given. The
 * checks keep their order (and an unknown command is reported last), so a
 * wrong command line gets the same message whatever the table holds.
 */
static int check_args(const struct cgp_cmd *cmd, const char *name, int argc, char **argv,
		      struct cgp_cmd_args *a)
{
	unsigned opts = cmd ? cmd->opts : 0;

	if (a->pin_path && a->pin_path[0] != '/')
		return usage_error("--pin-path must be an absolute path, not '%s'", a->pin_path);
	if (cmd && cmd->needs_file) {
		if (optind >= argc)
			return usage_error("%s needs a policy FILE", name);
		a->file = argv[optind++];
	}
	if (cmd && cmd->takes_args) {
		a->argc = argc - optind;
		a->argv = argv + optind;
		optind = argc;
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (a->dry_run && !(opts & CGP_OPT_DRY_RUN))
		return usage_error("--dry-run is an option of apply, not of %s", name);
	if (a->json && !(opts & CGP_OPT_JSON))
		return usage_error("--json is an option of status, stats, explain and set list, not of %s", name);
	if (a->policy && !(opts & CGP_OPT_POLICY))
		return usage_error("--policy is an option of stats, status --rules and explain, not of %s", name);
	if (a->watch && !(opts & CGP_OPT_WATCH))
		return usage_error("--watch is an option of stats, not of %s", name);
	if (a->rules && !(opts & CGP_OPT_RULES))
		return usage_error("--rules is an option of status, not of %s", name);
	if (a->cgroup && !(opts & CGP_OPT_CGROUP))
		return usage_error("--cgroup is an option of explain, not of %s", name);
	if (!cmd)
		return usage_error("unknown command '%s'", name);
	return 0;
}

int main(int argc, char **argv)
{
	struct cgp_cmd_args a = {};
	const struct cgp_cmd *cmd;
	const char *name;
	int rc;

	parse_options(argc, argv, &a, &rc);
	if (rc >= 0)
		return rc;
	if (a.version) {
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
	name = argv[optind++];
	cmd = find_cmd(name);
	/* `set list` has its own line in --help (it takes --json) */
	if (cmd && !strcmp(name, "set") && optind < argc && !strcmp(argv[optind], "list"))
		cmd = find_cmd("set list");
	cgp_log_setup_libbpf();
	rc = check_args(cmd, name, argc, argv, &a);
	if (rc)
		return rc;
	if (cmd->probe)
		cgp_features();
	return cmd->run(&a);
}
