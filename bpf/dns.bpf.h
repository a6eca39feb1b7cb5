/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * dns.bpf.h - DNS-name rules in the kernel (enforce.bpf.c only): the maps
 * of bpf/dns.h. The query recorder (egress) and the answer parser (ingress)
 * live here too.
 */
#ifndef CGP_DNS_BPF_H
#define CGP_DNS_BPF_H

#include "bpf/dns.h"

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, CGP_MAX_DNS_NAMES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cgp_dnsname_key);
	__type(value, struct cgp_dnsname_val);
} cgp_dnsnames SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CGP_MAX_DNS_SERVERS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cgp_dnssrv_key);
	__type(value, __u8);
} cgp_dnssrv SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cgp_dnsconf);
} cgp_dnsconf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CGP_MAX_DNS_QUERIES);
	__type(key, struct cgp_dnsq_key);
	__type(value, struct cgp_dnsq_val);
} cgp_dnsq SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CGP_MAX_DNS_ADDRS);
	__type(key, struct cgp_dnsaddr_key);
	__type(value, struct cgp_dnsaddr_val);
} cgp_dnsaddr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CGP_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct cgp_dns_stats);
} cgp_dnsstat SEC(".maps");

#endif /* CGP_DNS_BPF_H */
