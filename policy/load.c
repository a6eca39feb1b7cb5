// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * load.c - the parser's entry points: read the policy file, run inih over
 * it with our line reader (reader.c) and key handler (keys.c), then the
 * checks at the end (validate.c). On any error the config is freed and the
 * first error is in the caller's buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "policy/fileline.h"
#include "policy/parser.h"

void cgp_perr(struct cgp_pctx *c, int line, const char *fmt, ...)
{
	va_list ap;

	if (c->failed)
		return;
	c->failed = true;
	c->errline = line;
	va_start(ap, fmt);
	cgp_fileline_vsnprintf(c->err, c->errlen, c->name, line, fmt, ap);
	va_end(ap);
}

void *cgp_grow(struct cgp_pctx *c, int line, void *arr, unsigned n, unsigned *cap,
	       unsigned first, unsigned max, size_t size)
{
	unsigned ncap;
	void *p;

	if (n < *cap)
		return arr;
	ncap = *cap ? *cap * 2 : first;
	if (ncap > max)
		ncap = max;
	p = realloc(arr, (size_t)ncap * size);
	if (!p) {
		cgp_perr(c, line, "out of memory");
		return NULL;
	}
	*cap = ncap;
	return p;
}

void cgp_config_free(struct cgp_config *cfg)
{
	if (!cfg)
		return;
	for (unsigned i = 0; i < cfg->npolicies; i++)
	{
		free(cfg->policies[i].rules);
		free(cfg->policies[i].names);
	}
	free(cfg->policies);
	free(cfg->reuseports);
	for (unsigned i = 0; i < cfg->nsets; i++) {
		free(cfg->sets[i].m);
		free(cfg->sets[i].inc);
	}
	free(cfg->sets);
	memset(cfg, 0, sizeof(*cfg));
}

const struct cgp_policy *cgp_config_find(const struct cgp_config *cfg, const char *name)
{
	for (unsigned i = 0; i < cfg->npolicies; i++)
		if (!strcmp(cfg->policies[i].name, name))
			return &cfg->policies[i];
	return NULL;
}

/* A config with the defaults of docs/POLICY.md and no sections. */
static void config_defaults(struct cgp_config *cfg, const char *name)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->file, sizeof(cfg->file), "%s", name);
	snprintf(cfg->agent.pin_path, sizeof(cfg->agent.pin_path), "%s", CGP_DEFAULT_PIN_PATH);
	cfg->agent.stats_interval = 10;
	cfg->agent.stats_format = CGP_STATS_JSON;
	snprintf(cfg->agent.stats_output, sizeof(cfg->agent.stats_output), "-");
	cfg->agent.dns_ttl_min = 5;
	cfg->agent.dns_ttl_max = 86400;
	cfg->agent.dns_grace = 60;
}

/* inih over the whole buffer, then the checks of the last section and of the file. */
static void parse_all(struct cgp_pctx *c)
{
	int r = ini_parse_stream(cgp_ini_reader, c, cgp_ini_key, c);

	/* inih's own error (a line it cannot split) counts if it comes first */
	if (r > 0 && (!c->failed || r < c->errline)) {
		c->failed = false;
		cgp_perr(c, r, "not a key = value line or [section] header");
	} else if (r < 0 && !c->failed) {
		cgp_perr(c, 0, "cannot parse (inih error %d)", r);
	}
	if (c->failed)
		return;
	cgp_finish_section(c);
	if (c->failed)
		return;
	if (c->cfg->npolicies == 0) {
		cgp_perr(c, 0, "no policy sections");
		return;
	}
	cgp_check_global(c);
}

int cgp_config_parse(const char *name, const char *buf, size_t len,
		     struct cgp_config *cfg, char *err, size_t errlen)
{
	struct cgp_pctx c;

	memset(&c, 0, sizeof(c));
	c.name = name;
	c.buf = buf;
	c.len = len;
	c.err = err;
	c.errlen = errlen;
	c.cfg = cfg;
	if (err && errlen)
		err[0] = '\0';
	config_defaults(cfg, name);

	if (len == 0)
		cgp_perr(&c, 0, "empty policy file");
	else if (len > CGP_MAX_FILE_SIZE)
		cgp_perr(&c, 0, "larger than %u bytes", CGP_MAX_FILE_SIZE);
	else
		parse_all(&c);
	free(c.secs);
	free(c.refs);
	if (c.failed) {
		cgp_config_free(cfg);
		return -1;
	}
	cfg->hash = cgp_hash64(buf, len);
	cfg->size = len;
	return 0;
}

/* FNV-1a, 64 bits: the fingerprint of a policy file (status --rules, explain). */
uint64_t cgp_hash64(const void *data, size_t len)
{
	const unsigned char *b = data;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/*
 * Open `path` for reading, refusing directories and regular files over the
 * size limit. The fd, or -1 with err filled.
 */
static int open_policy(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd, fl;

	/*
	 * O_NONBLOCK: opening a FIFO nobody writes to would block forever; this
	 * way it reads as empty. Cleared right after, so a pipe that has a writer
	 * (cgpolicy check <(generate)) is read to its end.
	 */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		cgp_fileline_snprintf(err, errlen, path, 0, "cannot open: %s", strerror(errno));
		return -1;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	if (fstat(fd, &st) < 0)
		cgp_fileline_snprintf(err, errlen, path, 0, "cannot stat: %s", strerror(errno));
	else if (S_ISDIR(st.st_mode))
		cgp_fileline_snprintf(err, errlen, path, 0, "is a directory, not a policy file");
	else if (S_ISREG(st.st_mode) && (unsigned long long)st.st_size > CGP_MAX_FILE_SIZE)
		cgp_fileline_snprintf(err, errlen, path, 0, "larger than %u bytes", CGP_MAX_FILE_SIZE);
	else
		return fd;
	close(fd);
	return -1;
}

/*
 * Read fd to its end into *buf (malloc'd, *len bytes; NULL when empty), at
 * most CGP_MAX_FILE_SIZE bytes. 0, or -1 with err filled and nothing kept.
 */
static int read_policy(int fd, const char *path, char **buf, size_t *len, char *err,
		       size_t errlen)
{
	size_t cap = 0;

	*buf = NULL;
	*len = 0;
	for (;;) {
		ssize_t n;

		if (*len == cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *nb;

			if (ncap > CGP_MAX_FILE_SIZE + 1)
				ncap = CGP_MAX_FILE_SIZE + 1;
			if (ncap == cap)
				goto toobig;
			nb = realloc(*buf, ncap);
			if (!nb) {
				cgp_fileline_snprintf(err, errlen, path, 0, "out of memory");
				goto fail;
			}
			*buf = nb;
			cap = ncap;
		}
		n = read(fd, *buf + *len, cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cgp_fileline_snprintf(err, errlen, path, 0, "cannot read: %s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	if (*len <= CGP_MAX_FILE_SIZE)
		return 0;
toobig:
	cgp_fileline_snprintf(err, errlen, path, 0, "larger than %u bytes", CGP_MAX_FILE_SIZE);
fail:
	free(*buf);
	*buf = NULL;
	return -1;
}

int cgp_config_load(const char *path, struct cgp_config *cfg, char *err, size_t errlen)
{
	char *buf;
	size_t len;
	int fd, ret;

	memset(cfg, 0, sizeof(*cfg));
	fd = open_policy(path, err, errlen);
	if (fd < 0)
		return -1;
	ret = read_policy(fd, path, &buf, &len, err, errlen);
	close(fd);
	if (ret < 0)
		return -1;
	ret = cgp_config_parse(path, buf ? buf : "", len, cfg, err, errlen);
	free(buf);
	return ret;
}
