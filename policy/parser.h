/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * parser.h - what the files of the policy parser share; not for agent/
 * (policy.h is the API).
 *
 * cgp_config_parse() (load.c) feeds the file to inih through our own line
 * reader (reader.c), which sees every raw line first: it counts lines, checks
 * the text and handles [section] headers itself (section.c). inih splits
 * the key = value lines and calls cgp_ini_key() (keys.c), which checks each
 * key and its value (values.c, rule.c). Checks that need a whole section or
 * the whole file run when a section ends and at the end (validate.c).
 *
 * Errors: the first one wins. cgp_perr() records it as "FILE:LINE: message"
 * in the caller's buffer and sets `failed`; everything after that stops.
 */
#ifndef CGP_PARSER_H
#define CGP_PARSER_H

#include "policy/policy.h"

enum cgp_sec_kind { CGP_SEC_NONE, CGP_SEC_AGENT, CGP_SEC_POLICY, CGP_SEC_REUSEPORT, CGP_SEC_SET };

struct cgp_sec_seen {
	char hdr[CGP_NAME_MAX + 16];	/* "web", "agent", "reuseport api" */
	int line;
};

/* A rule's @NAME, resolved once every [set NAME] is known. */
struct cgp_set_ref {
	unsigned policy, rule;		/* indexes into cfg->policies, its rules */
	int line;
	char name[CGP_NAME_MAX + 1];
};

#define CGP_MAX_SCALARS 12		/* single-valued keys of one kind of section */

struct cgp_pctx {
	const char *name;		/* the file name for messages */
	const char *buf;		/* the whole file */
	size_t len, pos;		/* pos: start of the next line */
	int lineno;			/* of the line inih is handling */

	char *err;
	size_t errlen;
	int errline;
	bool failed;

	struct cgp_config *cfg;
	enum cgp_sec_kind kind;		/* of the current section */
	unsigned cur;			/* its index into policies / reuseports */
	char curhdr[CGP_NAME_MAX + 20];	/* for messages: "[web]" */
	int seen[CGP_MAX_SCALARS];	/* line of each scalar key in this section */

	struct cgp_sec_seen *secs;	/* every section so far, for duplicates */
	unsigned nsecs, capsecs;
	unsigned cap_policies, cap_reuseports;	/* allocated in cfg */
	unsigned cap_sets;
	struct cgp_set_ref *refs;	/* @NAME in rules, resolved at the end (sets.c) */
	unsigned nrefs, caprefs;
	int dns_ttl_line;		/* the later of dns_ttl_min/max, for their check */
};

/* load.c: the first error wins (later calls do nothing). */
void cgp_perr(struct cgp_pctx *c, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * Room for element n of an array with *cap allocated: doubling from `first`,
 * never above `max`. The array (moved or not), or NULL with "out of memory"
 * reported at `line` (the old array is still valid then).
 */
void *cgp_grow(struct cgp_pctx *c, int line, void *arr, unsigned n, unsigned *cap,
	       unsigned first, unsigned max, size_t size);

/* reader.c: the line reader given to ini_parse_stream(); stream is the cgp_pctx. */
char *cgp_ini_reader(char *str, int num, void *stream);

/* section.c: a [section] header at `line` (hdr: the text between the brackets). */
int cgp_section_start(struct cgp_pctx *c, char *hdr, int line);

/* keys.c: the handler given to ini_parse_stream(); user is the cgp_pctx. */
int cgp_ini_key(void *user, const char *section, const char *key, const char *value);

/* rule.c: `value` of an allow/deny key into r. */
int cgp_parse_rule(struct cgp_pctx *c, int line, uint8_t verdict, const char *value,
		   struct cgp_rule *r);

/* icmp.c: tok = the words from `type` on (n of them), addr = the address as written. */
int cgp_parse_icmp_type(struct cgp_pctx *c, int line, char **tok, unsigned n, const char *addr,
			struct cgp_rule *r);
/* sets.c: [set NAME] sections, @NAME in rules. */
int cgp_set_start(struct cgp_pctx *c, int line, const char *name);	/* a [set NAME] header */
int cgp_set_key(struct cgp_pctx *c, int line, const char *key, const char *value);
void cgp_finish_set(struct cgp_pctx *c);	/* the end of a [set NAME] section */
int cgp_parse_set_ref(struct cgp_pctx *c, int line, const char *tok, struct cgp_rule *r);
void cgp_check_sets(struct cgp_pctx *c);	/* names resolved, cycles, limits */

/* names.c: a name rule's ADDRESS (tok) into the policy's names; dns_servers; the
 * implicit sets of name rules (before cgp_check_sets). */
int cgp_parse_rule_name(struct cgp_pctx *c, int line, const char *tok, struct cgp_rule *r);
int cgp_parse_dns_servers(struct cgp_pctx *c, int line, const char *value,
			  struct cgp_dns_servers *sv);
void cgp_dns_sets(struct cgp_pctx *c);

/* validate.c */
void cgp_finish_section(struct cgp_pctx *c);	/* checks that need all keys of the section */
void cgp_check_global(struct cgp_pctx *c);	/* checks across sections */

/* values.c: each 0 on success, -1 if the text is not such a value. */
struct cgp_word {
	const char *name;
	int value;
};
/* One of the words of table (ended by a NULL name) into *value. */
int cgp_parse_word(const char *s, const struct cgp_word *table, int *value);
extern const struct cgp_word cgp_bool_words[];	/* yes/no, true/false, 1/0, on/off */
extern const struct cgp_word cgp_verdict_words[];	/* allow, deny */
int cgp_parse_uint(const char *s, unsigned long max, unsigned long *out);
/* A port, 1..65535; -1 with "bad port 'S' (1-65535)" reported. */
int cgp_parse_port(struct cgp_pctx *c, int line, const char *s, unsigned long *port);
/* Address or CIDR, or "any"; on error msg says what is wrong. */
int cgp_parse_addr_msg(const char *s, uint8_t addr[16], uint8_t *plen, bool *is_v4,
		       char *msg, size_t msglen);
bool cgp_valid_name(const char *s);		/* section, reuseport and backend names */
bool cgp_has_space(const char *s);
const char *cgp_check_cgroup_path(const char *s);	/* NULL, or what is wrong */
/* Split s on spaces/tabs in place; returns the number of tokens (only max stored). */
unsigned cgp_tokenize(char *s, char **tok, unsigned max);

#endif /* CGP_PARSER_H */
