/* Classification of CPU samples by rules on their frames (report/categories.rules is built in). */
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

extern const char ipcprof_default_rules[];
extern const size_t ipcprof_default_rules_len;

const char *const ipcprof_cat_names[IPCPROF_NCAT] = {"serialize", "deserialize", "copy", "ipc",
						     "compute"};

/* Frames a leaf rule may look past, when they are all libc's (a copy loop calling memmove). */
#define LEAF_REACH 3
#define RULES_MAX  100000

static int cat_of(const char *s, size_t n)
{
	for (int c = 0; c < IPCPROF_NCAT; c++)
		if (strlen(ipcprof_cat_names[c]) == n && !memcmp(ipcprof_cat_names[c], s, n))
			return c;
	return -1;
}

/* The next blank-separated word of [*p, end) as a new string; NULL at the end of the line. */
static char *word(const char **p, const char *end)
{
	const char *s = *p;
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	const char *e = s;
	while (e < end && *e != ' ' && *e != '\t')
		e++;
	*p = e;
	return e > s ? strndup(s, (size_t)(e - s)) : NULL;
}

static int add_rule(struct ipcprof_rules *rs, const struct ipcprof_rule *r)
{
	if (rs->n == rs->cap) {
		int cap = rs->cap ? 2 * rs->cap : 64;
		struct ipcprof_rule *nr = realloc(rs->r, (size_t)cap * sizeof(*nr));
		if (!nr)
			return -1;
		rs->r = nr;
		rs->cap = cap;
	}
	rs->r[rs->n++] = *r;
	return 0;
}

int ipcprof_rules_parse(struct ipcprof_rules *rs, const char *text, size_t len, const char *source,
			char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	for (int lineno = 1; p < end; lineno++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *hash = memchr(p, '#', (size_t)(le - p));
		const char *stop = hash ? hash : le;
		if (stop > p && stop[-1] == '\r')
			stop--;
		const char *q = p;
		char *w[5] = {NULL, NULL, NULL, NULL, NULL};
		int nw = 0;
		while (nw < 5 && (w[nw] = word(&q, stop)))
			nw++;
		int rc = 0;
		if (nw == 0) {
			/* blank or comment */
		} else if (memchr(p, '\0', (size_t)(stop - p))) {
			snprintf(err, errlen, "%s:%d: a NUL byte in the line", source, lineno);
			rc = -1;
		} else if (nw != 4) {
			snprintf(err, errlen,
				 "%s:%d: expected 4 words (<category> <any|leaf> <module-glob> "
				 "<symbol-glob>), found %d",
				 source, lineno, nw);
			rc = -1;
		} else if (cat_of(w[0], strlen(w[0])) < 0) {
			snprintf(
			    err, errlen,
			    "%s:%d: unknown category '%.40s' (ipc, serialize, deserialize, copy "
			    "or compute)",
			    source, lineno, w[0]);
			rc = -1;
		} else if (strcmp(w[1], "any") && strcmp(w[1], "leaf")) {
			snprintf(err, errlen, "%s:%d: '%.40s' is neither any nor leaf", source,
				 lineno, w[1]);
			rc = -1;
		} else if (rs->n >= RULES_MAX) {
			snprintf(err, errlen, "%s:%d: more than %d rules", source, lineno,
				 RULES_MAX);
			rc = -1;
		} else {
			struct ipcprof_rule r = {cat_of(w[0], strlen(w[0])), !strcmp(w[1], "leaf"),
						 w[2], w[3]};
			if (add_rule(rs, &r) < 0) {
				snprintf(err, errlen, "out of memory");
				rc = -1;
			} else {
				w[2] = w[3] = NULL; /* the rule owns them */
			}
		}
		for (int i = 0; i < 5; i++)
			free(w[i]);
		if (rc < 0)
			return -1;
		p = nl ? nl + 1 : end;
	}
	return 0;
}

int ipcprof_rules_load(struct ipcprof_rules *rs, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	size_t k;
	while (buf && (k = fread(buf + len, 1, cap - len, f)) > 0) {
		len += k;
		if (len == cap) {
			if (cap >= 64u << 20) {
				free(buf);
				fclose(f);
				snprintf(err, errlen, "%s: larger than 64 MB", path);
				return -1;
			}
			char *nb = realloc(buf, 2 * cap);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	bool bad = !buf || ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		snprintf(err, errlen, "cannot read %s", path);
		return -1;
	}
	int rc = ipcprof_rules_parse(rs, buf, len, path, err, errlen);
	free(buf);
	return rc;
}

int ipcprof_rules_finish(struct ipcprof_rules *rs, char *err, size_t errlen)
{
	if (ipcprof_rules_parse(rs, ipcprof_default_rules, ipcprof_default_rules_len,
				"categories.rules (built in)", err, errlen) < 0)
		return -1;
	/* ipc first, whatever the source: that time is already counted as IPC. Stable. */
	struct ipcprof_rule *sorted = malloc((size_t)(rs->n ? rs->n : 1) * sizeof(*sorted));
	if (!sorted) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int k = 0;
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < rs->n; i++)
			if ((rs->r[i].cat == IPCPROF_CAT_IPC) == (pass == 0))
				sorted[k++] = rs->r[i];
	memcpy(rs->r, sorted, (size_t)rs->n * sizeof(*sorted));
	free(sorted);
	return 0;
}

void ipcprof_rules_free(struct ipcprof_rules *rs)
{
	for (int i = 0; i < rs->n; i++) {
		free(rs->r[i].module);
		free(rs->r[i].symbol);
	}
	free(rs->r);
	memset(rs, 0, sizeof(*rs));
}

void ipcprof_rule_text(const struct ipcprof_rule *r, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s %s %s %s", ipcprof_cat_names[r->cat], r->leaf ? "leaf" : "any",
		 r->module, r->symbol);
}

static bool module_match(const char *glob, const char *path)
{
	if (!path)
		return !strcmp(glob, "*");
	return fnmatch(glob, strchr(glob, '/') ? path : ipcprof_base_name(path), 0) == 0;
}

/* The name without GCC's clone suffixes: "save.lto_priv.0" is "save". */
static size_t plain_len(const char *sym)
{
	static const char *const suffix[] = {".lto_priv", ".constprop", ".isra",
					     ".part",     ".cold",      ".localalias"};
	size_t n = strlen(sym);
	for (const char *d = strchr(sym, '.'); d; d = strchr(d + 1, '.'))
		for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++)
			if (!strncmp(d, suffix[i], strlen(suffix[i])) && (size_t)(d - sym) < n)
				n = (size_t)(d - sym);
	return n;
}

static bool symbol_match(const char *glob, const char *sym)
{
	if (!sym)
		return !strcmp(glob, "*");
	if (fnmatch(glob, sym, 0) == 0)
		return true;
	size_t n = plain_len(sym);
	if (n == strlen(sym) || n >= 512)
		return false;
	char plain[512];
	memcpy(plain, sym, n);
	plain[n] = '\0';
	return fnmatch(glob, plain, 0) == 0;
}

/* Frames a leaf rule looks past: libc's and the dynamic linker's, and code no module covers (the
 * vDSO). */
static bool in_libc(const char *path)
{
	return !path || fnmatch("libc.so*", ipcprof_base_name(path), 0) == 0 ||
	       fnmatch("ld-linux*", ipcprof_base_name(path), 0) == 0;
}

void ipcprof_rules_match(const struct ipcprof_rules *rs, const char *module, const char *symbol,
			 struct ipcprof_frame_match *out)
{
	out->any = out->leaf = INT_MAX;
	out->libc = in_libc(module);
	for (int i = 0; i < rs->n && (out->any == INT_MAX || out->leaf == INT_MAX); i++) {
		const struct ipcprof_rule *r = &rs->r[i];
		int *slot = r->leaf ? &out->leaf : &out->any;
		if (*slot == INT_MAX && module_match(r->module, module) &&
		    symbol_match(r->symbol, symbol))
			*slot = i;
	}
}

int ipcprof_rules_decide(const struct ipcprof_rules *rs, size_t n,
			 const struct ipcprof_frame_match *fm)
{
	int best = INT_MAX;
	bool libc_inside = true; /* every frame inside frame k is libc's */
	for (size_t k = 0; k < n; k++) {
		if (fm[k].any < best)
			best = fm[k].any;
		/* A leaf rule sees the innermost frame, and past it only libc's own frames. */
		if (k <= LEAF_REACH && libc_inside && fm[k].leaf < best)
			best = fm[k].leaf;
		libc_inside = libc_inside && fm[k].libc;
	}
	return best == INT_MAX ? IPCPROF_CAT_COMPUTE : rs->r[best].cat;
}

int ipcprof_rules_classify(const struct ipcprof_rules *rs, size_t n, const char *const *module,
			   const char *const *symbol)
{
	struct ipcprof_frame_match *fm = malloc((n ? n : 1) * sizeof(*fm));
	if (!fm)
		return IPCPROF_CAT_COMPUTE;
	for (size_t k = 0; k < n; k++)
		ipcprof_rules_match(rs, module[k], symbol[k], &fm[k]);
	int c = ipcprof_rules_decide(rs, n, fm);
	free(fm);
	return c;
}
