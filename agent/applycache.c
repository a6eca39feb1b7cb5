// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * applycache.c - the record of the last apply to a pin path (applycache.h):
 * /run/cgpolicy/apply_<pin path, '/' as '_'>, written whole to a temporary
 * file and renamed over the old one after every successful apply.
 *
 * It is never trusted blindly: the header must be this binary's (magic,
 * record version, pinned layout, the sizes of every struct written, the
 * binary's inode, size and mtime), the payload must have the length and the
 * checksum the header gives and every count must fit in it. Anything else
 * and the file is parsed whole, as if there were no record. What it says
 * about the pinned state is checked by apply (apply_incr.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/applycache.h"
#include "agent/log.h"
#include "bpf/common.h"

#define REC_DIR		"/run/cgpolicy"
#define REC_MAGIC	0x31434e4950474300ull	/* "\0CGPINC1" */
#define REC_VERSION	1

struct rec_hdr {
	__u64 magic;
	__u32 version, layout;
	__u32 sizes[8];
	__u64 exe_ino, exe_size, exe_mtime;
	__u64 gen;
	__u32 state_id, nslots;
	__u64 payload, sum;
	char pin_path[CGP_PATH_MAX];
};

static void rec_path(const char *pin_path, char *buf, size_t len)
{
	char esc[PATH_MAX];
	size_t j = 0;

	for (const char *s = pin_path; *s && j + 1 < sizeof(esc); s++)
		esc[j++] = *s == '/' ? '_' : *s;
	esc[j] = 0;
	snprintf(buf, len, REC_DIR "/apply%s", esc);
}

/* What this binary writes: a record of another build is not read. */
static int rec_identity(struct rec_hdr *h)
{
	struct stat st;
	const __u32 sizes[8] = {
		sizeof(struct cgp_config), sizeof(struct cgp_policy), sizeof(struct cgp_rule),
		sizeof(struct cgp_port_range), sizeof(struct cgp_set), sizeof(struct cgp_set_member),
		sizeof(struct cgp_set_inc), sizeof(struct cgp_reuseport),
	};

	if (stat("/proc/self/exe", &st))
		return -1;
	h->magic = REC_MAGIC;
	h->version = REC_VERSION;
	h->layout = CGP_LAYOUT_VERSION;
	memcpy(h->sizes, sizes, sizeof(sizes));
	h->exe_ino = st.st_ino;
	h->exe_size = (__u64)st.st_size;
	h->exe_mtime = (__u64)st.st_mtim.tv_sec * 1000000000ull + (__u64)st.st_mtim.tv_nsec;
	return 0;
}

/* A checksum of the payload, eight bytes at a time. */
static __u64 sum64(const unsigned char *p, size_t n)
{
	__u64 h = 0x243f6a8885a308d3ull ^ n;

	for (; n >= 8; p += 8, n -= 8) {
		__u64 w;

		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 31;
	}
	for (; n; p++, n--)
		h = (h ^ *p) * 0x100000001b3ull;
	return h;
}

/* ---- writing: one growing buffer ---- */

/*
 * The payload streams through a small buffer into the file (no copy of the
 * whole record in memory), its checksum taken on the way: sum64 over the
 * concatenation, which needs the length first (a counting pass gives it).
 */
#define WBUF_SIZE	(256u << 10)

struct wbuf {
	unsigned char *b;
	size_t n;		/* bytes put so far (the counting pass: all of them) */
	size_t fill;		/* in b */
	bool count;		/* only count the bytes */
	bool bad;
	int fd;
	__u64 h;		/* sum64 state */
	unsigned char part[8];	/* a word not complete yet */
	unsigned npart;
};

static void sum_word(struct wbuf *w, const unsigned char *p)
{
	__u64 x;

	memcpy(&x, p, 8);
	w->h = (w->h ^ x) * 0xff51afd7ed558ccdull;
	w->h ^= w->h >> 31;
}

static void flush(struct wbuf *w)
{
	const unsigned char *p = w->b;
	size_t n = w->fill;

	for (; n && w->npart; n--) {
		w->part[w->npart++] = *p++;
		if (w->npart == 8) {
			sum_word(w, w->part);
			w->npart = 0;
		}
	}
	for (; n >= 8; p += 8, n -= 8)
		sum_word(w, p);
	for (; n; n--)
		w->part[w->npart++] = *p++;
	if (!w->bad && w->fill && write(w->fd, w->b, w->fill) != (ssize_t)w->fill)
		w->bad = true;
	w->fill = 0;
}

static void put(struct wbuf *w, const void *p, size_t n)
{
	w->n += n;
	if (w->count)
		return;
	while (n) {
		size_t k = WBUF_SIZE - w->fill < n ? WBUF_SIZE - w->fill : n;

		memcpy(w->b + w->fill, p, k);
		w->fill += k;
		p = (const char *)p + k;
		n -= k;
		if (w->fill == WBUF_SIZE)
			flush(w);
	}
}

/* The end of the payload: the last bytes as sum64 takes them. */
static __u64 sum_end(struct wbuf *w)
{
	flush(w);
	for (unsigned i = 0; i < w->npart; i++)
		w->h = (w->h ^ w->part[i]) * 0x100000001b3ull;
	return w->h;
}

static void put_pad(struct wbuf *w)
{
	static const char z[8];

	put(w, z, (8 - w->n % 8) % 8);
}

/* A policy, its rules and their ranges in rule order (a removed rule's leave no gap). */
static void put_policy_rules(struct wbuf *w, const struct cgp_policy *p)
{
	__u32 at = 0;

	for (unsigned k = 0; k < p->nrules; k++) {
		struct cgp_rule r = p->rules[k];

		r.port_at = at;
		r.ports = NULL;
		at += r.nports;
		put(w, &r, sizeof(r));
	}
	put(w, &at, sizeof(at));
	put_pad(w);
	for (unsigned k = 0; k < p->nrules; k++)
		put(w, p->rules[k].ports, p->rules[k].nports * sizeof(*p->rules[k].ports));
	put_pad(w);
	put(w, p->names, p->nnames * sizeof(*p->names));	/* of its name rules (r->dns) */
	put_pad(w);
}

static void put_config(struct wbuf *w, const struct cgp_config *cfg)
{
	put(w, cfg, sizeof(*cfg));
	put(w, cfg->policies, cfg->npolicies * sizeof(*cfg->policies));
	for (unsigned i = 0; i < cfg->npolicies; i++)
		put_policy_rules(w, &cfg->policies[i]);
	put(w, cfg->reuseports, cfg->nreuseports * sizeof(*cfg->reuseports));
	put(w, cfg->sets, cfg->nsets * sizeof(*cfg->sets));
	for (unsigned i = 0; i < cfg->nsets; i++) {
		put(w, cfg->sets[i].m, cfg->sets[i].n * sizeof(*cfg->sets[i].m));
		put(w, cfg->sets[i].inc, cfg->sets[i].ninc * sizeof(*cfg->sets[i].inc));
	}
	put_pad(w);
}

static void put_payload(struct wbuf *w, const struct cgp_config *cfg, const struct cgp_applycache *ac,
			const struct cgp_slotrec *slots, unsigned nslots)
{
	put(w, &ac->lines.n, sizeof(ac->lines.n));
	put_pad(w);
	put(w, ac->lines.h, ac->lines.n * sizeof(*ac->lines.h));
	put(w, ac->lines.kind, ac->lines.n);
	put_pad(w);
	put_config(w, cfg);
	put(w, slots, nslots * sizeof(*slots));
	for (unsigned i = 0; i < cfg->nsets; i++)
		put(w, &cfg->sets[i].id, sizeof(cfg->sets[i].id));
}

void cgp_applycache_save(const struct cgp_config *cfg, const struct cgp_applycache *ac,
			 const char *pin_path, __u32 state_id, __u64 gen,
			 const struct cgp_slotrec *slots, unsigned nslots)
{
	struct wbuf w = { .count = true };
	struct rec_hdr h = {};
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	bool ok;

	if (!ac->lines.n || rec_identity(&h))
		return;
	h.gen = gen;
	h.state_id = state_id;
	h.nslots = nslots;
	snprintf(h.pin_path, sizeof(h.pin_path), "%s", pin_path);
	rec_path(pin_path, path, sizeof(path));
	put_payload(&w, cfg, ac, slots, nslots);	/* its length */
	h.payload = w.n;
	if (mkdir(REC_DIR, 0700) && errno != EEXIST) {
		unlink(path);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
	w = (struct wbuf){ .h = 0x243f6a8885a308d3ull ^ h.payload, .b = malloc(WBUF_SIZE) };
	w.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ok = w.b && w.fd >= 0 && lseek(w.fd, sizeof(h), SEEK_SET) == (off_t)sizeof(h);
	if (ok) {
		put_payload(&w, cfg, ac, slots, nslots);
		h.sum = sum_end(&w);
		ok = !w.bad && w.n == h.payload && pwrite(w.fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h);
	}
	if (w.fd >= 0 && close(w.fd))
		ok = false;
	free(w.b);
	/*
	 * Unlink first: renaming over an existing file makes ext4 (auto_da_alloc)
	 * write the new one out at once, milliseconds when /run is not a tmpfs.
	 * In between there is no record: the next apply would just do it all.
	 */
	unlink(path);
	if (!ok || rename(tmp, path))
		unlink(tmp);
}

void cgp_applycache_remove(const char *pin_path)
{
	char path[PATH_MAX];

	rec_path(pin_path, path, sizeof(path));
	unlink(path);
}

/* ---- reading: every count checked against what is left ---- */

struct rbuf {
	const unsigned char *p;
	size_t left;
	bool bad;
};

static const void *take(struct rbuf *r, size_t n)
{
	const void *p = r->p;

	if (r->bad || n > r->left) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return p;
}

static void *take_copy(struct rbuf *r, size_t cnt, size_t size)
{
	const void *p;
	void *c;

	if (cnt > r->left / (size ? size : 1)) {
		r->bad = true;
		return NULL;
	}
	p = take(r, cnt * size);
	c = malloc(cnt * size + 1);
	if (!p || !c) {
		r->bad = true;
		free(c);
		return NULL;
	}
	memcpy(c, p, cnt * size);
	return c;
}

static void take_pad(struct rbuf *r, size_t off)
{
	take(r, (8 - off % 8) % 8);
}

static size_t used(const struct rbuf *r, const unsigned char *start)
{
	return (size_t)(r->p - start);
}

static void get_policy_rules(struct rbuf *r, const unsigned char *start, struct cgp_policy *p)
{
	const __u32 *nr;

	p->rules = take_copy(r, p->nrules, sizeof(*p->rules));
	p->cap_rules = p->nrules;
	nr = take(r, sizeof(*nr));
	take_pad(r, used(r, start));
	p->npranges = p->cap_pranges = nr ? *nr : 0;
	p->pranges = take_copy(r, p->npranges, sizeof(*p->pranges));
	take_pad(r, used(r, start));
	p->names = take_copy(r, p->nnames, sizeof(*p->names));
	p->cap_names = p->nnames;
	take_pad(r, used(r, start));
	for (unsigned k = 0; !r->bad && k < p->nrules; k++)
		if (p->rules[k].nports > CGP_MAX_PORT_RANGES ||
		    (__u64)p->rules[k].port_at + p->rules[k].nports > p->npranges ||
		    p->rules[k].dns > p->nnames)
			r->bad = true;
	for (unsigned k = 0; !r->bad && k < p->nnames; k++)
		p->names[k].name[sizeof(p->names[k].name) - 1] = 0;
}

static void get_config(struct rbuf *r, const unsigned char *start, struct cgp_config *cfg)
{
	const struct cgp_config *c = take(r, sizeof(*cfg));

	memset(cfg, 0, sizeof(*cfg));
	if (!c)
		return;
	cfg->agent = c->agent;
	cfg->npolicies = c->npolicies;
	cfg->nreuseports = c->nreuseports;
	cfg->nsets = c->nsets;
	cfg->policies = take_copy(r, cfg->npolicies, sizeof(*cfg->policies));
	if (!cfg->policies)
		cfg->npolicies = 0;
	for (unsigned i = 0; i < cfg->npolicies; i++) {
		cfg->policies[i].rules = NULL;
		cfg->policies[i].pranges = NULL;
		cfg->policies[i].names = NULL;
	}
	for (unsigned i = 0; !r->bad && i < cfg->npolicies; i++)
		get_policy_rules(r, start, &cfg->policies[i]);
	cfg->reuseports = take_copy(r, cfg->nreuseports, sizeof(*cfg->reuseports));
	if (!cfg->reuseports)
		cfg->nreuseports = 0;
	cfg->sets = take_copy(r, cfg->nsets, sizeof(*cfg->sets));
	if (!cfg->sets)
		cfg->nsets = 0;
	for (unsigned i = 0; i < cfg->nsets; i++) {
		cfg->sets[i].m = NULL;
		cfg->sets[i].inc = NULL;
	}
	for (unsigned i = 0; !r->bad && i < cfg->nsets; i++) {
		struct cgp_set *s = &cfg->sets[i];

		s->m = take_copy(r, s->n, sizeof(*s->m));
		s->cap = s->n;
		s->inc = take_copy(r, s->ninc, sizeof(*s->inc));
		s->capinc = s->ninc;
	}
	take_pad(r, used(r, start));
}

/* The whole record file, if its header is this binary's and its payload intact. */
static unsigned char *rec_read(const char *pin_path, size_t *len)
{
	struct rec_hdr want;
	const struct rec_hdr *h;
	char path[PATH_MAX];
	struct stat st;
	unsigned char *b = NULL;
	int fd;

	rec_path(pin_path, path, sizeof(path));
	if (rec_identity(&want))
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	/* mapped, not read: the page cache's pages, no copy */
	if (!fstat(fd, &st) && st.st_size >= (off_t)sizeof(*h) && st.st_size < (1 << 30)) {
		b = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
		if (b == MAP_FAILED)
			b = NULL;
	}
	close(fd);
	if (!b)
		return NULL;
	h = (const struct rec_hdr *)b;
	*len = (size_t)st.st_size;
	if (memcmp(h, &want, offsetof(struct rec_hdr, gen)) ||
	    h->payload != *len - sizeof(*h) || h->sum != sum64(b + sizeof(*h), h->payload)) {
		munmap(b, *len);
		return NULL;
	}
	return b;
}

/* The record of the last apply to pin_path: config, lines, slots. 0, or -1 (nothing kept). */
static int rec_load(const char *pin_path, struct cgp_config *old, struct cgp_lines *l,
		    struct cgp_applycache *ac)
{
	size_t len;
	unsigned char *b = rec_read(pin_path, &len);
	const struct rec_hdr *h = (const struct rec_hdr *)b;
	struct rbuf r;
	const __u32 *n;

	memset(old, 0, sizeof(*old));
	memset(l, 0, sizeof(*l));
	if (!b)
		return -1;
	r = (struct rbuf){ .p = b + sizeof(*h), .left = len - sizeof(*h) };
	n = take(&r, sizeof(*n));
	take_pad(&r, used(&r, b));
	l->n = n ? *n : 0;
	l->h = take_copy(&r, l->n, sizeof(*l->h));
	l->kind = take_copy(&r, l->n, 1);
	take_pad(&r, used(&r, b));
	get_config(&r, b, old);
	ac->slots = take_copy(&r, h->nslots, sizeof(*ac->slots));
	ac->nslots = h->nslots;
	ac->set_ids = take_copy(&r, old->nsets, sizeof(*ac->set_ids));
	ac->nset_ids = old->nsets;
	snprintf(ac->pin_path, sizeof(ac->pin_path), "%.*s", (int)sizeof(h->pin_path) - 1, h->pin_path);
	ac->state_id = h->state_id;
	ac->gen = h->gen;
	munmap(b, len);
	if (r.bad || r.left || !l->n) {
		pr_debug("the record of the last apply to %s is not usable: parsing whole\n", pin_path);
		cgp_config_free(old);
		cgp_lines_free(l);
		free(ac->slots);
		free(ac->set_ids);
		memset(ac, 0, sizeof(*ac));
		return -1;
	}
	return 0;
}

void cgp_applycache_free(struct cgp_applycache *ac)
{
	cgp_change_free(&ac->ch);
	cgp_lines_free(&ac->lines);
	free(ac->slots);
	free(ac->set_ids);
	memset(ac, 0, sizeof(*ac));
}

static bool cache_off(void)
{
	const char *e = getenv("CGP_NO_APPLY_CACHE");

	return e && *e && strcmp(e, "0");
}

int cgp_config_load_cached(const char *path, const char *pin_path, struct cgp_config *cfg,
			   char *err, size_t errlen, struct cgp_applycache *ac)
{
	struct cgp_config old;
	struct cgp_lines ol;
	char *buf;
	size_t len;
	int ret;

	memset(ac, 0, sizeof(*ac));
	memset(cfg, 0, sizeof(*cfg));
	if (cgp_config_read(path, &buf, &len, err, errlen) < 0)
		return -1;
	if (!cache_off() && !rec_load(pin_path, &old, &ol, ac)) {
		ret = cgp_config_parse_incr(path, buf ? buf : "", len, &old, &ol, cfg, &ac->lines, &ac->ch);
		cgp_lines_free(&ol);
		if (!ret) {
			ac->incr = true;
			free(buf);
			return 0;
		}
	}
	ret = cgp_config_parse(path, buf ? buf : "", len, cfg, err, errlen);
	if (!ret && cgp_lines_build(buf ? buf : "", len, cfg, &ac->lines))
		memset(&ac->lines, 0, sizeof(ac->lines));	/* no record next time */
	free(buf);
	return ret;
}
