/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * policy.h - INI file -> validated policy model -> map entries.
 *
 * Pure C: no libbpf, no system state. The only things read are the policy
 * file itself. Resolving cgroup paths against the cgroup2 mount is the
 * agent's job (agent/cgroup.c).
 *
 * Every error is written to the caller's buffer as "FILE:LINE: message"
 * (or "FILE: message" when no line applies; policy/fileline.h formats both)
 * and the call returns -1 with nothing half-built: the config is freed on
 * failure.
 *
 * Where things are: load.c (entry points), reader.c, section.c, keys.c,
 * rule.c, values.c, validate.c (the parser, sharing parser.h); compile.c,
 * ports.c (map entries); eval.c (reference evaluator); docs/ARCHITECTURE.md.
 */
#ifndef CGP_POLICY_H
#define CGP_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "../bpf/dns.h"
#include "../bpf/enforce.h"
#include "../bpf/reuseport.h"	/* CGP_RP_MAX_BACKENDS */

/*
 * The sorted port boundaries of (slot, dir, proto) that the compiler turns
 * into the port trie (struct cgp_portlpm_key, bpf/enforce.h). bound[] is
 * sorted ascending; the class of port p is 1 + (number of bounds <= p), so
 * class i covers [bound[i-2], bound[i-1]) with bound[-1] = 0. User space
 * only: no map holds these.
 */
#define CGP_MAX_PORT_BOUNDS	4096	/* interval boundaries per (policy, dir, proto) */

struct cgp_portmap_key {
	__u16 slot;
	__u8  dir;
	__u8  proto;
};

struct cgp_portmap {
	__u32 n;		/* bounds in use, <= CGP_MAX_PORT_BOUNDS */
	__u16 bound[CGP_MAX_PORT_BOUNDS];
};

/* Documented limits (docs/POLICY.md). */
#define CGP_NAME_MAX		63		/* section name length */
#define CGP_PATH_MAX		4096
#define CGP_MAX_POLICIES	(CGP_MAX_SLOTS - 1)
#define CGP_MAX_RULES		100000		/* rules per policy */
#define CGP_MAX_PORT_RANGES	64		/* comma-separated items in one rule */
#define CGP_MAX_FILE_SIZE	(16u << 20)	/* bytes */
#define CGP_MAX_LINE		199		/* characters per line (inih limit) */
#define CGP_MAX_BACKENDS	16		/* per [reuseport NAME] */
_Static_assert(CGP_MAX_BACKENDS == CGP_RP_MAX_BACKENDS, "the kernel's backend slots per service");

#define CGP_RULE_PROTO_ANY	0xff		/* rule proto `any` */

#define CGP_DIR_BIT(d)		(1u << (d))

struct cgp_port_range {
	uint16_t lo, hi;	/* inclusive, 1..65535, lo <= hi */
};

struct cgp_rule {
	int line;
	uint16_t set;		/* 0: an address rule; else 1 + index into cfg->sets (@NAME) */
	uint16_t set_id;	/* the set's kernel id (cgp_set.id), copied by cgp_config_set_ids */
	uint32_t dns;		/* 0; a name rule: 1 + index into its policy's names (set: the
				 * policy's implicit set of the rule's signature, names.c) */
	uint8_t verdict;	/* CGP_ALLOW | CGP_DENY */
	uint8_t dirs;		/* CGP_DIR_BIT(CGP_DIR_IN) | CGP_DIR_BIT(CGP_DIR_OUT) */
	uint8_t proto;		/* CGP_PROTO_TCP/UDP/ICMP or CGP_RULE_PROTO_ANY */
	uint8_t plen;		/* 0..128, IPv4 /n stored as 96 + n */
	uint8_t addr[16];	/* masked to plen; IPv4 as ::ffff:a.b.c.d */
	bool is_v4;		/* written as IPv4 (matching uses addr/plen only) */
	unsigned nports;	/* 0: rule has no ports */
	struct cgp_port_range ports[CGP_MAX_PORT_RANGES];
	/* `type` of an icmp rule, per family: [CGP_ICMP_V4] ICMP, [CGP_ICMP_V6] ICMPv6 */
	bool has_type;		/* false: every type (a rule without ports) */
	int16_t icmp_type[2];	/* 0..255; -1: the rule does not match this family */
	int16_t icmp_code[2];	/* 0..255; -1: every code */
};

enum { CGP_ICMP_V4 = 0, CGP_ICMP_V6 = 1 };

/* Named address sets: [set NAME] (docs/POLICY.md, "Address sets"). */
#define CGP_MAX_SETS		4096		/* [set NAME] sections */
#define CGP_MAX_SET_ENTRIES	(1u << 22)	/* members of one set, includes flattened */

struct cgp_set_member {
	uint8_t addr[16];	/* masked to plen; IPv4 as ::ffff:a.b.c.d */
	uint8_t plen;		/* 0..128 */
	bool exclude;		/* address = !CIDR */
	int line;
};

struct cgp_set_inc {		/* address = @NAME */
	char name[CGP_NAME_MAX + 1];
	int line;
	unsigned idx;		/* into cfg->sets, once resolved */
};

struct cgp_set {
	char name[CGP_NAME_MAX + 1];
	int line;		/* of the [set NAME] header */
	bool dynamic;		/* dynamic = yes: changed at run time by `cgpolicy set` */
	uint16_t id;		/* kernel id (bpf/enforce.h): the parser gives static sets
				 * index + 1 and dynamic ones CGP_SET_DYNAMIC | (index + 1);
				 * apply gives dynamic sets their pinned ids */
	struct cgp_set_member *m;
	unsigned n, cap;
	struct cgp_set_inc *inc;
	unsigned ninc, capinc;
};

/* DNS names (docs/POLICY.md "DNS names", policy/names.c). */
#define CGP_DNS_MAX_SERVERS	8		/* addresses in one dns_servers list */
#define CGP_DNS_SET_PREFIX	"~dns:"		/* implicit sets: "~dns:" + 16 hex digits */
enum { CGP_DNS_PACKET = 1, CGP_DNS_AGENT = 2, CGP_DNS_BOTH = 3 };	/* dns = (bits) */

struct cgp_dns_servers {
	uint8_t addr[CGP_DNS_MAX_SERVERS][16];	/* IPv4 as ::ffff:a.b.c.d */
	unsigned n;				/* 0: not given */
	int line;
};

struct cgp_dnsname {
	char name[CGP_DNS_NAME_MAX + 1];	/* lower-case, no trailing dot; "*.SUFFIX" */
	bool wild;
	int line;
};

struct cgp_policy {
	char name[CGP_NAME_MAX + 1];
	int line;			/* line of the [section] header */
	char cgroup[CGP_PATH_MAX];	/* as written; "" if missing (an error) */
	int cgroup_line;
	uint8_t def[CGP_DIR_MAX];	/* default verdicts, CGP_ALLOW unless set */
	bool accelerate;		/* default false */
	bool stats;			/* default true */
	bool log_deny;			/* log = deny: an event per denied packet */
	bool audit;			/* mode = audit: count and log denies, drop nothing */
	bool lockout_accept;		/* lockout = accept: no lock-out check (lockout.c) */
	struct cgp_rule *rules;
	unsigned nrules, cap_rules;
	struct cgp_dnsname *names;	/* of the name rules, one per rule (r->dns - 1) */
	unsigned nnames, cap_names;
	uint8_t dns_mode;		/* dns = packet (default) | agent | both: CGP_DNS_* */
	struct cgp_dns_servers dns_servers;	/* dns_servers =: overrides [agent]'s */
};

struct cgp_backend {
	char policy[CGP_NAME_MAX + 1];
	unsigned weight;		/* 0..100 */
	int line;
};

struct cgp_reuseport {
	char name[CGP_NAME_MAX + 1];
	int line;
	uint16_t port;			/* 1..65535, required */
	uint8_t proto;			/* CGP_PROTO_TCP (default) or CGP_PROTO_UDP */
	bool has_addr;
	uint8_t addr[16];		/* IPv4 as ::ffff:a.b.c.d */
	struct cgp_backend backends[CGP_MAX_BACKENDS];
	unsigned nbackends;
};

enum cgp_stats_format {
	CGP_STATS_JSON = 0,
	CGP_STATS_TABLE = 1,
};

struct cgp_agent_conf {
	char pin_path[CGP_PATH_MAX];	/* default CGP_DEFAULT_PIN_PATH */
	int pin_path_line;		/* 0 when defaulted */
	unsigned stats_interval;	/* seconds, default 10, 0 = off */
	enum cgp_stats_format stats_format;
	char stats_output[CGP_PATH_MAX];	/* "-" = stdout (default) */
	char events_output[CGP_PATH_MAX];	/* deny events, JSON lines: "" or "-" = the log (stderr) */
	char metrics_file[CGP_PATH_MAX];	/* Prometheus textfile, "" = none */
	struct cgp_dns_servers dns_servers;	/* "": the nameservers of /etc/resolv.conf */
	unsigned dns_ttl_min, dns_ttl_max, dns_grace;	/* seconds: 5, 86400, 60 */
};

#define CGP_DEFAULT_PIN_PATH	"/sys/fs/bpf/cgpolicy"

struct cgp_config {
	char file[CGP_PATH_MAX];
	uint64_t hash;			/* cgp_hash64 of the bytes parsed (status --rules) */
	size_t size;
	struct cgp_agent_conf agent;
	struct cgp_policy *policies;
	unsigned npolicies;
	struct cgp_reuseport *reuseports;
	unsigned nreuseports;
	struct cgp_set *sets;
	unsigned nsets;
};

/* Parse and validate FILE. 0 on success, -1 with err filled on failure. */
int cgp_config_load(const char *path, struct cgp_config *cfg, char *err, size_t errlen);
/* Same, from a memory buffer; `name` is used in messages. */
int cgp_config_parse(const char *name, const char *buf, size_t len,
		     struct cgp_config *cfg, char *err, size_t errlen);
void cgp_config_free(struct cgp_config *cfg);
/* FNV-1a 64 of len bytes: a policy file's fingerprint. */
uint64_t cgp_hash64(const void *data, size_t len);

const struct cgp_policy *cgp_config_find(const struct cgp_config *cfg, const char *name);

/* ---- compiler: one policy -> map entries for a slot ---- */

struct cgp_lpm_entry {
	struct cgp_lpm_key key;
	struct cgp_lpm_val val;
};

struct cgp_portmap_entry {
	struct cgp_portmap_key key;
	struct cgp_portmap map;
};

struct cgp_dnsname_entry {
	struct cgp_dnsname_key key;
	struct cgp_dnsname_val val;
};

struct cgp_compiled {
	struct cgp_pol pol;
	struct cgp_dnsname_entry *dns;		/* cgp_dnsnames entries of the name rules */
	size_t ndns;
	struct cgp_lpm_entry *lpm;
	size_t nlpm;
	struct cgp_portmap_entry *portmaps;	/* only (dir, proto) with port rules */
	size_t nportmaps;
};

/*
 * Compile policy `p` for `slot`. Deterministic: the same policy gives the
 * same entries in the same order. -1 with err filled ("FILE:LINE: ...") when
 * a limit is exceeded (e.g. more than CGP_MAX_PORT_BOUNDS port boundaries)
 * or memory runs out; `out` is then empty.
 */
int cgp_compile(const char *file, const struct cgp_policy *p, uint16_t slot,
		struct cgp_compiled *out, char *err, size_t errlen);
void cgp_compiled_free(struct cgp_compiled *c);

/*
 * The order of cgp_compiled.lpm: (dir, proto, slot, cls, prefixlen, addr).
 * Keys are unique within one compiled policy. (agent/ruleset.c, which
 * merges whole rule sets, orders by the raw key bytes instead.)
 */
int cgp_lpm_key_cmp(const struct cgp_lpm_key *a, const struct cgp_lpm_key *b);

/*
 * Reference evaluator over compiled entries (what the BPF program does), for tests.
 * ICMP: proto CGP_PROTO_ICMP (an ICMP packet) or CGP_PORTPROTO_ICMP6 (ICMPv6),
 * port = type << 8 | code, or CGP_NO_ICMP_TYPE when the header is not there.
 */
#define CGP_NO_ICMP_TYPE	0x10000u
int cgp_compiled_eval(const struct cgp_compiled *c, uint8_t dir, uint8_t proto,
		      const uint8_t addr[16], uint32_t port);

/* ICMP/ICMPv6 type names (docs/POLICY.md): the type and code of `name` in family
 * fam (CGP_ICMP_V4/V6; code -1: every code); -1 when the family has no such type. */
int cgp_icmp_type_name(const char *name, int fam, int *type, int *code);
/* The name of ICMP type/code in family fam (a name for that code, else for the
 * type), or NULL. */
const char *cgp_icmp_type_str(int fam, int type, int code);
/* Is `name` an ICMP type name of either family? */
bool cgp_icmp_type_known(const char *name);
/* The "port" range (type << 8 | code) of an icmp rule with a type in family fam: 0, or -1 if none. */
int cgp_rule_icmp_range(const struct cgp_rule *r, int fam, struct cgp_port_range *pr);

/*
 * Lock-out check (lockout.c): policy p of FILE denies by default in a
 * direction and its cgroup is the root cgroup, or (self: the cgroup cgpolicy
 * runs in, relative to the cgroup2 mount mnt; NULL when unknown) self or an
 * ancestor of it, for a glob one that can match those (mode = audit never). 1 with msg
 * ("FILE:LINE: ..." at the section header) when refused, 0 when not
 * (lockout = accept, no default deny, another cgroup).
 */
int cgp_lockout_check(const char *file, const struct cgp_policy *p, const char *mnt,
		      const char *self, char *msg, size_t len);

/* ---- address sets (sets.c) ---- */

/* The index of set `name` in cfg->sets, or -1. */
int cgp_config_find_set(const struct cgp_config *cfg, const char *name);
/* Copy cfg->sets[i].id into every rule that uses set i (after changing ids). */
void cgp_config_set_ids(struct cgp_config *cfg);
/*
 * The members of set `idx`, its includes flattened, as entries of the set
 * key space (key dir CGP_DIR_SET, slot = the set's id; val verdict 1 member,
 * 0 exclusion, plen, line), sorted by cgp_lpm_key_cmp, one per prefix (an
 * exclusion wins over a member of the same prefix). 0, or -ENOMEM.
 */
int cgp_set_flatten(const struct cgp_config *cfg, unsigned idx, struct cgp_lpm_entry **out,
		    size_t *n);
/* The flattened members of every static set, appended to *out (realloc'ed). */
int cgp_static_sets(const struct cgp_config *cfg, struct cgp_lpm_entry **out, size_t *n);

/*
 * The reference evaluator with sets: setm holds the member entries of the
 * sets (static and dynamic, as cgp_set_flatten gives them; no expiry).
 */
int cgp_compiled_eval_sets(const struct cgp_compiled *c, const struct cgp_lpm_entry *setm,
			   size_t nsetm, uint8_t dir, uint8_t proto, const uint8_t addr[16],
			   uint32_t port);

/* Names for output: "allow"/"deny"; "tcp", "udp", "icmp", "other", "any" ("?" otherwise). */
const char *cgp_verdict_str(uint8_t v);
const char *cgp_proto_str(uint8_t proto);
/* An address, CIDR or "any" as in a rule: 0, or -1 if it is not one. IPv4 as v4-mapped. */
int cgp_parse_addr(const char *s, uint8_t addr[16], uint8_t *plen, bool *is_v4);
/* Zero the bits of addr beyond prefix length plen (0..128). */
void cgp_mask_addr(uint8_t addr[16], unsigned plen);

/* ---- DNS names (names.c) ---- */

/*
 * Does the ADDRESS token s look like a DNS name rather than an IP address,
 * CIDR or `any` (it has a character that no address has)?
 */
bool cgp_dns_looks_like_name(const char *s);
/* s as a name pattern, normalized into out (lower case, no trailing dot): 0, or -1 with msg. */
int cgp_dns_name_parse(const char *s, char out[CGP_DNS_NAME_MAX + 1], bool *wild, char *msg,
		       size_t msglen);
/* The cgp_dnsnames key bytes of a pattern (reversed; exact: + 0 byte): their count. */
unsigned cgp_dns_key_bytes(const char *name, bool wild, uint8_t out[CGP_DNS_NAME_MAX + 1]);
/* A key's name (reversed bytes, 0-terminated or len bytes) back into text; "*." when wild. */
void cgp_dns_key_name(const uint8_t *rev, unsigned len, char *out, size_t outlen);
/* Does `name` (a question, normalized) match pattern (name, wild)? The reference matcher. */
bool cgp_dns_match(const char *pattern, bool wild, const char *name);
/* Is the set an implicit set of name rules? */
bool cgp_set_is_dns(const char *set_name);
/*
 * The cgp_dnsnames entries of policy p for slot (out->dns), sets from the rules'
 * set_id: an entry's sets include those of every shorter wildcard covering it.
 * -1 with FILE:LINE in err when a name needs more than CGP_DNS_SETS sets.
 */
int cgp_compile_dns(const char *file, const struct cgp_policy *p, uint16_t slot,
		    struct cgp_compiled *out, char *err, size_t errlen);

#endif /* CGP_POLICY_H */
