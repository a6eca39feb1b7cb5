// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* json.c - JSON strings and Prometheus label values (json.h). */
#include "util/json.h"

int cgp_json_str(FILE *f, const char *s)
{
	if (!s)
		return fputs("null", f);
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	return fputc('"', f);
}

int cgp_prom_label(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	return fputc('"', f);
}
