/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * json.h - the one writer of strings in cgpolicy's JSON output (status
 * --json, stats --json, deny events, the kernel feature table) and of label
 * values in the Prometheus metrics file. Pure C: no libbpf.
 */
#ifndef CGP_UTIL_JSON_H
#define CGP_UTIL_JSON_H

#include <stdio.h>

/* s as a JSON string, quotes included: '"' and '\\' backslash-escaped, bytes
 * below 0x20 as \u00XX, every other byte (UTF-8 included) as it is. NULL
 * writes null. Returns what the stream's last write returned (< 0: error). */
int cgp_json_str(FILE *f, const char *s);

/* s as a Prometheus label value, quotes included: '"', '\\' and newline
 * escaped (\", \\, \n), as the text exposition format wants. */
int cgp_prom_label(FILE *f, const char *s);

#endif
