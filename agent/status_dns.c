// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * status_dns.c - what `status` says of a policy with name rules: its names
 * (cgp_dnsnames, with the rule lines), the addresses learned for them
 * (cgp_dnsaddr: last name, source, remaining TTL) and the parser's counters
 * (cgp_dnsstat, summed over the CPUs). docs/POLICY.md "DNS names".
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "agent/mapiter.h"
#include "agent/sets.h"
#include "agent/status_dns.h"
#include "util/json.h"

static const char *const mode_str[] = { "none", "packet", "agent", "both" };

static const char *source_str(__u8 s)
{
	return s == CGP_DNS_SRC_PACKET ? "packet" : s == CGP_DNS_SRC_AGENT ? "agent" : "file";
}

static void addr_str(const __u8 a[16], char *out, size_t len)
{
	static const __u8 mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (!memcmp(a, mapped, 12))
		inet_ntop(AF_INET, a + 12, out, (socklen_t)len);
	else
		inet_ntop(AF_INET6, a, out, (socklen_t)len);
}

/* The names of slot: one line each (text) or one JSON object each. */
static void print_names(const struct cgp_pins *p, __u32 slot, bool json)
{
	struct cgp_map_iter it = CGP_MAP_ITER(p->map_fd[CGP_MAP_DNSNAMES]);
	struct cgp_dnsname_key k;
	unsigned n = 0;

	memset(&k, 0, sizeof(k));
	while (cgp_map_next(&it, &k, sizeof(k))) {
		struct cgp_dnsname_val v;
		char name[CGP_DNS_NAME_MAX + 2];

		if (k.slot != slot || bpf_map_lookup_elem(it.fd, &k, &v))
			continue;
		cgp_dns_key_name(k.name, (k.prefixlen - CGP_DNSNAME_FIXED_BITS) / 8, name, sizeof(name));
		if (json) {
			printf("%s{\"name\": ", n ? ", " : "");
			cgp_json_str(stdout, name);
			printf(", \"line\": %u}", v.line);
		} else {
			printf("  line %-5u %s\n", v.line, name);
		}
		n++;
	}
}

/* The addresses learned at slot and not expired. */
static void print_learned(const struct cgp_pins *p, __u32 slot, bool json)
{
	struct cgp_map_iter it = CGP_MAP_ITER(p->map_fd[CGP_MAP_DNSADDR]);
	struct cgp_dnsaddr_key k;
	__u64 now = cgp_boot_ns();
	unsigned n = 0;

	while (cgp_map_next(&it, &k, sizeof(k))) {
		struct cgp_dnsaddr_val v;
		char name[CGP_DNS_NAME_MAX + 2], a[INET6_ADDRSTRLEN];
		unsigned long long left;

		if (k.slot != slot || bpf_map_lookup_elem(it.fd, &k, &v) || v.expires <= now)
			continue;
		left = (v.expires - now + 999999999ull) / 1000000000ull;
		cgp_dns_key_name(v.name, sizeof(v.name), name, sizeof(name));
		addr_str(k.addr, a, sizeof(a));
		if (json) {
			printf("%s{\"address\": \"%s\", \"name\": ", n ? ", " : "", a);
			cgp_json_str(stdout, name);
			printf(", \"source\": \"%s\", \"expires_in\": %llu, \"line\": %u}",
			       source_str(v.source), left, v.line);
		} else {
			if (!n)
				printf("  learned (address, name, source, expires in):\n");
			printf("    %-39s %s %s %llus\n", a, name, source_str(v.source), left);
		}
		n++;
	}
	if (!n && !json)
		printf("  learned: none yet\n");
}

void cgp_status_dns(const struct cgp_pins *p, const struct cgp_info *in, bool json)
{
	struct cgp_dns_stats s = {};
	__u32 slot = in->slot;

	if (!in->dns)
		return;
	cgp_percpu_lookup_sum(p->map_fd[CGP_MAP_DNSSTAT], &slot, &s, sizeof(s));
	if (json) {
		printf(", \"dns\": {\"mode\": \"%s\", \"names\": [", mode_str[in->dns & 3]);
		print_names(p, slot, true);
		printf("], \"learned\": [");
		print_learned(p, slot, true);
	} else {
		printf("\nDNS names of [%s] (dns = %s):\n", in->name, mode_str[in->dns & 3]);
		print_names(p, slot, false);
		print_learned(p, slot, false);
	}
	printf(json ? "], \"counters\": {\"queries\": %llu, \"answers\": %llu, \"matched\": %llu, "
		      "\"learned\": %llu, \"malformed\": %llu, \"untrusted\": %llu, "
		      "\"unsolicited\": %llu, \"truncated\": %llu}}" :
		      "  parser: queries %llu, answers %llu, matched %llu, learned %llu, malformed %llu, "
		      "untrusted %llu, unsolicited %llu, truncated %llu\n",
	       (unsigned long long)s.queries, (unsigned long long)s.answers,
	       (unsigned long long)s.matched, (unsigned long long)s.learned,
	       (unsigned long long)s.malformed, (unsigned long long)s.untrusted,
	       (unsigned long long)s.unsolicited, (unsigned long long)s.truncated);
}

bool cgp_dns_addr_name(const struct cgp_pins *p, __u32 slot, const __u8 addr[16], char *name,
		       size_t len)
{
	struct cgp_dnsaddr_key k = { .slot = (__u16)slot };
	struct cgp_dnsaddr_val v;

	if (p->map_fd[CGP_MAP_DNSADDR] < 0)
		return false;
	memcpy(k.addr, addr, 16);
	if (bpf_map_lookup_elem(p->map_fd[CGP_MAP_DNSADDR], &k, &v))
		return false;
	cgp_dns_key_name(v.name, sizeof(v.name), name, len);
	return true;
}
