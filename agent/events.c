// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * events.c - the agent's deny events and metrics file.
 *
 * Deny events: policies with `log = deny` send one record per denied packet
 * (rate-limited per slot in the kernel) into the pinned ring buffer
 * maps/events; the agent's epoll wakes on it and each record becomes one JSON
 * line on events_output (default: the agent's log, stderr).
 *
 * Metrics: the per-policy counters in Prometheus text format, written to a
 * temporary file and renamed over metrics_file (node_exporter's textfile
 * collector never sees half a file).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent/events.h"
#include "agent/log.h"
#include "agent/mapiter.h"
#include "agent/state.h"
#include "bpf/enforce.h"
#include "util/addr.h"
#include "util/json.h"

struct cgp_events {
	struct ring_buffer *rb;
	int map_fd, info_fd;
	int dnsaddr_fd;		/* the last name answered per (slot, address); -1 none */
	FILE *out;		/* stderr or events_output */
	char path[CGP_PATH_MAX];
	unsigned long long n;
};

static void print_name(FILE *f, int fd, const struct cgp_event *e)
{
	struct cgp_dnsaddr_key k = { .slot = (__u16)e->slot };
	struct cgp_dnsaddr_val v;
	char name[CGP_DNS_NAME_MAX + 2];

	memcpy(k.addr, e->raddr, 16);
	fprintf(f, ", \"name\": ");
	if (fd < 0 || bpf_map_lookup_elem(fd, &k, &v)) {
		fprintf(f, "null");
		return;
	}
	cgp_dns_key_name(v.name, sizeof(v.name), name, sizeof(name));
	cgp_json_str(f, name);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct cgp_events *ev = ctx;
	const struct cgp_event *e = data;
	struct cgp_info in = {};
	struct timespec rt, mono;
	char la[CGP_ADDR_STRLEN], ra[CGP_ADDR_STRLEN];
	const char *sa = la, *da = ra;
	unsigned sp, dp;
	long long ts;
	FILE *f = ev->out;

	if (size < sizeof(*e))
		return 0;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	ts = (long long)rt.tv_sec * 1000000000ll + rt.tv_nsec -
	     ((long long)mono.tv_sec * 1000000000ll + mono.tv_nsec - (long long)e->ts_ns);
	bpf_map_lookup_elem(ev->info_fd, &e->slot, &in);
	cgp_addr_auto_str(e->laddr, la, sizeof(la));
	cgp_addr_auto_str(e->raddr, ra, sizeof(ra));
	sp = e->lport;
	dp = e->rport;
	if (e->dir == CGP_DIR_IN) {	/* the packet's source is the remote end */
		sa = ra;
		da = la;
		sp = e->rport;
		dp = e->lport;
	}
	fprintf(f, "{\"ts_ns\": %lld, \"event\": \"%s\", \"policy\": ", ts, e->audit ? "audit_deny" : "deny");
	cgp_json_str(f, in.name);
	fprintf(f, ", \"policy_cgroup\": ");
	cgp_json_str(f, in.cgroup);
	fprintf(f, ", \"slot\": %u, \"cgroup_id\": %llu, \"direction\": \"%s\", \"rule_direction\": \"%s\", "
		"\"proto\": \"%s\", \"ip_proto\": %u, \"family\": \"%s\", \"saddr\": \"%s\", \"sport\": %u, "
		"\"daddr\": \"%s\", \"dport\": %u, \"len\": %u, \"rule_line\": %u, \"rule\": \"%s\", "
		"\"audit\": %s, \"suppressed\": %u",
		e->slot, (unsigned long long)e->cgroup_id, e->dir == CGP_DIR_IN ? "in" : "out",
		e->rule_dir == CGP_DIR_IN ? "in" : "out", cgp_proto_str(e->proto), e->l4proto,
		e->family == 4 ? "inet" : "inet6", sa, sp, da, dp, e->len, e->line,
		e->line ? "rule" : "default", e->audit ? "true" : "false", e->suppressed);
	if (e->proto == CGP_PROTO_ICMP && !(e->icmp_type == 0xff && e->icmp_code == 0xff)) {
		const char *n = cgp_icmp_type_str(e->family == 4 ? CGP_ICMP_V4 : CGP_ICMP_V6, e->icmp_type,
						  e->icmp_code);

		fprintf(f, ", \"icmp_type\": %u, \"icmp_code\": %u, \"icmp_name\": ", e->icmp_type, e->icmp_code);
		cgp_json_str(f, n);
	} else {
		fprintf(f, ", \"icmp_type\": null, \"icmp_code\": null, \"icmp_name\": null");
	}
	if (in.dns)		/* a policy with name rules: the remote end's name, if answered */
		print_name(f, ev->dnsaddr_fd, e);
	fprintf(f, "}\n");
	ev->n++;
	return 0;
}

struct cgp_events *cgp_events_open(const char *pin_path, int epoll_fd)
{
	struct cgp_events *ev = calloc(1, sizeof(*ev));
	struct epoll_event ee = { .events = EPOLLIN };
	struct cgp_pins p;
	char path[PATH_MAX];

	if (!ev)
		return NULL;
	ev->out = stderr;
	cgp_pins_init(&p, pin_path);
	cgp_pin_join(path, sizeof(path), &p, "maps", "events");
	ev->map_fd = bpf_obj_get(path);
	cgp_pin_join(path, sizeof(path), &p, "maps", "info");
	ev->info_fd = bpf_obj_get(path);
	cgp_pin_join(path, sizeof(path), &p, "maps", "dnsaddr");
	ev->dnsaddr_fd = bpf_obj_get(path);
	if (ev->map_fd < 0 || ev->info_fd < 0) {
		cgp_alog("warning: cannot open the deny event ring buffer under %s: %s (no deny events)\n",
			 pin_path, strerror(errno));
		goto fail;
	}
	ev->rb = ring_buffer__new(ev->map_fd, on_event, ev, NULL);
	if (!ev->rb) {
		cgp_alog("warning: cannot read the deny event ring buffer: %s\n", strerror(errno));
		goto fail;
	}
	ee.data.fd = ring_buffer__epoll_fd(ev->rb);
	if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, ee.data.fd, &ee)) {
		cgp_alog("warning: cannot watch the deny event ring buffer: %s\n", strerror(errno));
		goto fail;
	}
	return ev;
fail:
	cgp_events_close(ev);
	return NULL;
}

void cgp_events_setup(struct cgp_events *ev, const struct cgp_agent_conf *ac)
{
	const char *want = ac->events_output[0] && strcmp(ac->events_output, "-") ? ac->events_output : "";
	FILE *f;

	if (!ev || !strcmp(want, ev->path))
		return;
	if (!want[0]) {
		f = stderr;
	} else {
		f = fopen(want, "ae");
		if (!f) {
			cgp_alog("warning: cannot open events_output %s: %s; deny events go to the log\n", want,
				 strerror(errno));
			return;
		}
		setvbuf(f, NULL, _IOLBF, 0);
	}
	if (ev->out != stderr)
		fclose(ev->out);
	ev->out = f;
	snprintf(ev->path, sizeof(ev->path), "%s", want);
}

void cgp_events_poll(struct cgp_events *ev)
{
	if (!ev)
		return;
	ring_buffer__consume(ev->rb);
	fflush(ev->out);
}

void cgp_events_close(struct cgp_events *ev)
{
	if (!ev)
		return;
	if (ev->rb) {
		ring_buffer__consume(ev->rb);
		ring_buffer__free(ev->rb);
	}
	if (ev->out && ev->out != stderr)
		fclose(ev->out);
	if (ev->map_fd > 0)
		close(ev->map_fd);
	if (ev->info_fd > 0)
		close(ev->info_fd);
	if (ev->dnsaddr_fd > 0)
		close(ev->dnsaddr_fd);
	free(ev);
}

/* ---- Prometheus textfile ---- */

/* The metrics of n policies (their info, summed counters, whether attached) in text format. */
static void write_metrics(FILE *f, const struct cgp_state *st, const struct cgp_info *inf,
			  const struct cgp_counters *sum, const bool *have, unsigned n)
{
	static const char *const dirs[2] = { "ingress", "egress" }, *const verd[2] = { "denied", "allowed" };

	fprintf(f, "# HELP cgpolicy_generation Policy generation in force.\n"
		   "# TYPE cgpolicy_generation gauge\ncgpolicy_generation %llu\n",
		(unsigned long long)st->gen);
	fprintf(f, "# HELP cgpolicy_policy_info A policy applied to a cgroup (1); audit: drops nothing.\n"
		   "# TYPE cgpolicy_policy_info gauge\n");
	for (unsigned i = 0; i < n; i++) {
		fputs("cgpolicy_policy_info{policy=", f);
		cgp_prom_label(f, inf[i].name);
		fputs(",cgroup=", f);
		cgp_prom_label(f, inf[i].cgroup);
		fprintf(f, ",audit=\"%s\",log=\"%s\",attached=\"%s\"} 1\n",
			inf[i].flags & CGP_POL_F_AUDIT ? "true" : "false",
			inf[i].flags & CGP_POL_F_LOG ? "deny" : "off", have[i] ? "true" : "false");
	}
	fprintf(f, "# HELP cgpolicy_rules Rules of the policy.\n# TYPE cgpolicy_rules gauge\n");
	for (unsigned i = 0; i < n; i++) {
		fputs("cgpolicy_rules{policy=", f);
		cgp_prom_label(f, inf[i].name);
		fputs(",cgroup=", f);
		cgp_prom_label(f, inf[i].cgroup);
		fprintf(f, "} %u\n", inf[i].nrules);
	}
	for (int m = 0; m < 2; m++) {
		const char *name = m ? "cgpolicy_bytes_total" : "cgpolicy_packets_total";

		fprintf(f, "# HELP %s %s judged by the policy of a cgroup (denied in audit mode: would be denied).\n"
			   "# TYPE %s counter\n", name, m ? "Bytes" : "Packets", name);
		for (unsigned i = 0; i < n; i++) {
			for (int d = 0; d < CGP_DIR_MAX; d++) {
				for (int v = 1; v >= 0; v--) {
					fprintf(f, "%s{policy=", name);
					cgp_prom_label(f, inf[i].name);
					fputs(",cgroup=", f);
					cgp_prom_label(f, inf[i].cgroup);
					fprintf(f, ",direction=\"%s\",verdict=\"%s\"} %llu\n", dirs[d], verd[v],
						(unsigned long long)(m ? sum[i].bytes[d][v] : sum[i].packets[d][v]));
				}
			}
		}
	}
}

int cgp_metrics_write(const char *pin_path, const struct cgp_agent_conf *ac)
{
	struct cgp_state st = {};
	struct cgp_info *inf = NULL;
	struct cgp_counters *sum = NULL;
	bool *have = NULL;
	char tmp[CGP_PATH_MAX + 16];
	unsigned n = 0;
	struct cgp_pins p;
	FILE *f;
	int err = 0;

	if (!ac->metrics_file[0])
		return 0;
	cgp_pins_init(&p, pin_path);
	err = cgp_pins_open(&p);
	if (err)
		goto out;
	inf = calloc(CGP_MAX_SLOTS, sizeof(*inf));
	sum = calloc(CGP_MAX_SLOTS, sizeof(*sum));
	have = calloc(CGP_MAX_SLOTS, sizeof(*have));
	if (!inf || !sum || !have || libbpf_num_possible_cpus() <= 0) {
		err = -ENOMEM;
		goto out;
	}
	cgp_state_read(&p, &st);
	n = cgp_info_read(&p, inf, CGP_MAX_SLOTS);
	for (unsigned i = 0; i < n; i++) {
		__u64 cg = inf[i].cgroup_id;

		have[i] = !cgp_percpu_lookup_sum(p.map_fd[CGP_MAP_COUNTERS], &cg, &sum[i], sizeof(sum[i]));
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", ac->metrics_file);
	f = fopen(tmp, "we");
	if (!f) {
		err = -errno;
		goto out;
	}
	write_metrics(f, &st, inf, sum, have, n);
	if (fflush(f) || ferror(f)) {
		err = -errno;
		fclose(f);
		unlink(tmp);
		goto out;
	}
	fclose(f);
	if (rename(tmp, ac->metrics_file)) {
		err = -errno;
		unlink(tmp);
	}
out:
	if (err)
		cgp_alog("warning: cannot write metrics_file %s: %s (enforcement is unaffected)\n",
			 ac->metrics_file, strerror(-err));
	free(inf);
	free(sum);
	free(have);
	cgp_pins_close(&p);
	return err;
}
