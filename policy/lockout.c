// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * lockout.c - "no lock-out by mistake" (docs/POLICY.md, `lockout`): would a
 * policy deny by default for the root cgroup, or for the cgroup cgpolicy
 * itself runs in (the operator's shell, sshd's session, the agent's
 * service) or one of its ancestors? Pure: the agent passes the cgroup2
 * mount and its own cgroup (agent/cgroup.c, cgp_cgroup_self()).
 */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "policy/fileline.h"
#include "policy/policy.h"

/* `cgroup =` relative to the mount: "/" for the root, "/a/b" else. */
static const char *rel_path(const char *spec, const char *mnt)
{
	size_t ml = strlen(mnt);

	if (ml > 1 && !strncmp(spec, mnt, ml) && (spec[ml] == '/' || !spec[ml]))
		return spec[ml] ? spec + ml : "/";
	return spec;
}

/* The next component of *p ("/a/b" -> "a"), into c; false at the end. */
static bool next_comp(const char **p, char *c, size_t len)
{
	const char *s = *p, *e;
	size_t n;

	while (*s == '/')
		s++;
	if (!*s)
		return false;
	e = strchr(s, '/');
	n = e ? (size_t)(e - s) : strlen(s);
	if (n >= len)
		n = len - 1;
	memcpy(c, s, n);
	c[n] = '\0';
	*p = s + (e ? (size_t)(e - s) : strlen(s));
	return true;
}

/*
 * Is the cgroup `pol` (relative, maybe a glob) self or an ancestor of self?
 * For a glob: could one of its matches be (every component of the glob
 * matches the component of self at the same depth, fnmatch as the agent
 * matches cgroups).
 */
static bool covers(const char *pol, const char *self)
{
	char a[256], b[256];

	for (;;) {
		if (!next_comp(&pol, a, sizeof(a)))
			return true;		/* pol is exhausted: self is at or below it */
		if (!next_comp(&self, b, sizeof(b)))
			return false;		/* pol is deeper than self */
		if (fnmatch(a, b, FNM_PERIOD) != 0)
			return false;
	}
}

int cgp_lockout_check(const char *file, const struct cgp_policy *p, const char *mnt,
		      const char *self, char *msg, size_t len)
{
	const char *rel = rel_path(p->cgroup, mnt);
	const char *dirs = p->def[CGP_DIR_IN] == CGP_DENY && p->def[CGP_DIR_OUT] == CGP_DENY ?
			   "default_ingress = deny and default_egress = deny" :
			   p->def[CGP_DIR_IN] == CGP_DENY ? "default_ingress = deny" : "default_egress = deny";
	bool glob = strpbrk(p->cgroup, "*?[") != NULL;
	char what[512];

	/* mode = audit drops nothing: it cannot lock anyone out */
	if (p->lockout_accept || p->audit ||
	    (p->def[CGP_DIR_IN] != CGP_DENY && p->def[CGP_DIR_OUT] != CGP_DENY))
		return 0;
	if (!strcmp(rel, "/"))
		snprintf(what, sizeof(what), "the root cgroup (every process of the host, sshd and "
			 "cgpolicy included, and the kernel's own sockets)");
	else if (self && covers(rel, self))
		snprintf(what, sizeof(what), "which %s the cgroup cgpolicy runs in (%.300s)",
			 glob ? "can match (an ancestor of)" : "is (or is an ancestor of)", self);
	else
		return 0;
	cgp_fileline_snprintf(msg, len, file, p->line,
			      "[%s] %s on cgroup '%s', %s, can cut off the shell or sshd session "
			      "applying it and the agent: refused; add 'lockout = accept' to the section "
			      "to apply it all the same", p->name, dirs, p->cgroup, what);
	return 1;
}
