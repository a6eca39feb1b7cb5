// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * reader.c - the line reader inih calls for every line (ini_parse_stream).
 *
 * inih does the key = value splitting (and inline " ;" comments). Everything
 * inih cannot tell us is done here, on every raw line before inih sees it:
 *   - line numbers (Debian's inih has INI_HANDLER_LINENO 0);
 *   - overlong lines (inih would cut them at 199 characters and read the tail
 *     as a new line), NUL bytes, control characters, invalid UTF-8;
 *   - indented lines (inih would treat them as continuations of the previous
 *     key and call the handler again);
 *   - [section] headers, including sections without keys, which Debian's inih
 *     (INI_CALL_HANDLER_ON_NEW_SECTION 0) never reports.
 * The first error wins: the reader stops feeding inih as soon as one is set.
 */
#include <string.h>

#include "policy/parser.h"

/* The length of the UTF-8 sequence at s[0..n), or 0 if it is invalid. */
static unsigned utf8_len(const unsigned char *s, size_t n)
{
	unsigned need;
	uint32_t cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 1;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (need >= n)
		return 0;
	for (unsigned k = 1; k <= need; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need + 1;
}

/* NUL, control characters (other than tab), invalid UTF-8. */
static int check_text(struct cgp_pctx *c, int line, const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; ) {
		unsigned char ch = s[i];
		unsigned len;

		if (ch == 0) {
			cgp_perr(c, line, "NUL byte (not a text file?)");
			return -1;
		}
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			cgp_perr(c, line, "control character 0x%02x (not a text file?)", ch);
			return -1;
		}
		if (ch < 0x80) {
			i++;
			continue;
		}
		len = utf8_len(s + i, n - i);
		if (!len) {
			cgp_perr(c, line, "invalid UTF-8 (not a text file?)");
			return -1;
		}
		i += len;
	}
	return 0;
}

/* [section] header: the text between the brackets goes to cgp_section_start(). */
static int header_line(struct cgp_pctx *c, int line, const char *s)
{
	char hdr[CGP_MAX_LINE + 1];
	const char *e = strchr(s, ']');

	if (!e) {
		cgp_perr(c, line, "not a key = value line or [section] header");
		return -1;
	}
	memcpy(hdr, s + 1, (size_t)(e - s - 1));
	hdr[e - s - 1] = '\0';
	for (e++; *e == ' ' || *e == '\t'; e++)
		;
	if (*e && *e != ';' && *e != '#') {
		cgp_perr(c, line, "unexpected text after section header");
		return -1;
	}
	return cgp_section_start(c, hdr, line);
}

/* Blank, comment, [section] header (handled here) or key = value (left to inih). */
static int classify(struct cgp_pctx *c, int line, const char *l)
{
	const char *s = l, *e;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s || *s == ';' || *s == '#')
		return 0;			/* blank or comment */
	if (s != l) {
		cgp_perr(c, line, "continuation lines are not supported (remove the indentation)");
		return -1;
	}
	if (*s == '[')
		return header_line(c, line, s);
	/* key line: the first of '=', ':' or an inline " ;" comment must be '=' */
	for (e = s; *e; e++) {
		if (*e == '=')
			break;
		if (*e == ':' || (*e == ';' && e > s && (e[-1] == ' ' || e[-1] == '\t')))
			break;
	}
	if (*e != '=' || e == s) {
		cgp_perr(c, line, "not a key = value line or [section] header");
		return -1;
	}
	return 0;
}

/* ini_reader: the next line into str (num bytes), or NULL at the end or after an error. */
char *cgp_ini_reader(char *str, int num, void *stream)
{
	struct cgp_pctx *c = stream;
	const char *l, *nl;
	size_t start, n;

	if (c->failed || c->pos >= c->len)
		return NULL;
	start = c->pos;
	nl = memchr(c->buf + start, '\n', c->len - start);
	n = nl ? (size_t)(nl - (c->buf + start)) : c->len - start;
	c->pos = start + n + (nl ? 1 : 0);
	c->lineno++;
	l = c->buf + start;
	if (n && l[n - 1] == '\r')
		n--;
	if (c->lineno == 1 && n >= 3 && !memcmp(l, "\xef\xbb\xbf", 3)) {
		l += 3;
		n -= 3;
	}
	if (check_text(c, c->lineno, (const unsigned char *)l, n) < 0)
		return NULL;
	if (n > CGP_MAX_LINE || n + 1 > (size_t)num) {
		cgp_perr(c, c->lineno, "line longer than %d characters", CGP_MAX_LINE);
		return NULL;
	}
	memcpy(str, l, n);
	str[n] = '\0';
	if (classify(c, c->lineno, str) < 0)
		return NULL;
	return str;
}
