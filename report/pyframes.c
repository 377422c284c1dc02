/* Python frames of recorded stacks: which function, file and line each one was running. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static int cmp_code(const void *a, const void *b)
{
	const struct ipcprof_pycode_ref *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

int ipcprof_pycode_add(struct ipcprof_image *g, const struct ipcprof_pycode *e, uint64_t pos,
		       size_t *cap)
{
	if (g->npycode == *cap) {
		size_t c = *cap ? 2 * *cap : 64;
		struct ipcprof_pycode_ref *p = realloc(g->pycode, c * sizeof(*p));
		if (!p)
			return -1;
		g->pycode = p;
		*cap = c;
	}
	g->pycode[g->npycode++] = (struct ipcprof_pycode_ref){pos / 8 + 1, e};
	return 0;
}

void ipcprof_pycode_sort(struct ipcprof_image *g)
{
	if (g->npycode)
		qsort(g->pycode, g->npycode, sizeof(*g->pycode), cmp_code);
}

static const struct ipcprof_pycode *code_of(const struct ipcprof_image *g, uint64_t id)
{
	size_t lo = 0, hi = g->npycode;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (g->pycode[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < g->npycode && g->pycode[lo].id == id ? g->pycode[lo].e : NULL;
}

/* A varint of the location table: 6 bits a byte, low bits first, 0x40 says more follow. */
static unsigned varint(const unsigned char *p, size_t n, size_t *at)
{
	unsigned v = 0, shift = 0;
	while (*at < n) {
		unsigned char b = p[(*at)++];
		v |= (unsigned)(b & 0x3f) << shift;
		shift += 6;
		if (!(b & 0x40) || shift > 24)
			break;
	}
	return v;
}

static int svarint(const unsigned char *p, size_t n, size_t *at)
{
	unsigned v = varint(p, n, at);
	return v & 1 ? -(int)(v >> 1) : (int)(v >> 1);
}

/*
 * The line of code unit `unit` from CPython's location table (Objects/locations.md): entries
 * each cover (first byte & 7) + 1 code units; bits 3..6 of the first byte tell the form: 15 no
 * location, 14 long (line delta, end line, columns as varints), 13 line delta only, 10..12 a
 * line delta of code - 10 and two column bytes, 0..9 the same line and one column byte.
 */
int ipcprof_py_line(const unsigned char *lt, size_t n, int firstlineno, uint32_t unit)
{
	int64_t line = firstlineno; /* a damaged table may run it anywhere: wide enough for all */
	uint32_t at_unit = 0;
	for (size_t at = 0; at < n;) {
		unsigned char b = lt[at++];
		if (!(b & 0x80))
			continue; /* not the start of an entry: damage */
		unsigned code = b >> 3 & 15, len = (b & 7) + 1u;
		bool located = true;
		if (code == 15) {
			located = false;
		} else if (code == 14) {
			line += svarint(lt, n, &at);
			varint(lt, n, &at);
			varint(lt, n, &at);
			varint(lt, n, &at);
		} else if (code == 13) {
			line += svarint(lt, n, &at);
		} else if (code >= 10) {
			line += (int)code - 10;
			at += 2;
		} else {
			at += 1;
		}
		if (unit < at_unit + len)
			return located && line >= 0 && line <= INT_MAX ? (int)line : firstlineno;
		at_unit += len;
	}
	return firstlineno;
}

/* The file as a user knows it: a module of a Python installation by its path in the library
 * ("multiprocessing/pool.py"), any other by its name ("seed.py"). */
static void file_label(const char *path, size_t n, char *out, size_t outlen)
{
	size_t from = 0;
	for (size_t i = 0; i + 1 < n; i++) {
		if (path[i] != '/')
			continue;
		const char *rest = path + i + 1;
		size_t left = n - i - 1;
		if ((left > 14 && !memcmp(rest, "site-packages/", 14)) ||
		    (left > 14 && !memcmp(rest, "dist-packages/", 14))) {
			from = i + 15;
		} else if (left > 7 && !memcmp(rest, "python", 6) && rest[6] >= '2' &&
			   rest[6] <= '9') {
			size_t j = 7;
			while (j < left && (rest[j] == '.' || (rest[j] >= '0' && rest[j] <= '9')))
				j++;
			if (j < left && rest[j] == '/')
				from = i + 1 + j + 1;
		}
	}
	if (!from) {
		for (size_t i = 0; i < n; i++)
			if (path[i] == '/')
				from = i + 1;
	}
	size_t len = n - from < outlen - 1 ? n - from : outlen - 1;
	memcpy(out, path + from, len);
	out[len] = '\0';
}

void ipcprof_py_locate(const struct ipcprof_image *g, uint64_t v, struct ipcprof_pyloc *loc)
{
	const struct ipcprof_pycode *e = code_of(g, ipcprof_pyframe_id(v));
	if (!e) {
		snprintf(loc->function, sizeof(loc->function), "[python code]");
		snprintf(loc->file, sizeof(loc->file), "?");
		loc->path[0] = '\0';
		loc->line = 0;
		loc->incomplete = false;
		return;
	}
	size_t nl = e->qualname_len < sizeof(loc->function) - 1 ? e->qualname_len
								: sizeof(loc->function) - 1;
	memcpy(loc->function, e->data, nl);
	loc->function[nl] = '\0';
	const char *path = e->data + e->qualname_len;
	size_t pl =
	    e->filename_len < sizeof(loc->path) - 1 ? e->filename_len : sizeof(loc->path) - 1;
	memcpy(loc->path, path, pl);
	loc->path[pl] = '\0';
	file_label(path, e->filename_len, loc->file, sizeof(loc->file));
	uint32_t unit = ipcprof_pyframe_unit(v);
	loc->incomplete = unit == IPCPROF_PYFRAME_NO_UNIT || unit < e->firsttraceable;
	const unsigned char *lt =
	    (const unsigned char *)e->data + e->qualname_len + e->filename_len;
	loc->line = unit == IPCPROF_PYFRAME_NO_UNIT
			? e->firstlineno
			: ipcprof_py_line(lt, e->linetable_len, e->firstlineno, unit);
}

uint64_t ipcprof_py_code_addr(const struct ipcprof_image *g, uint64_t v)
{
	const struct ipcprof_pycode *e = code_of(g, ipcprof_pyframe_id(v));
	return e ? e->code : 0;
}

bool ipcprof_py_interp(const struct ipcprof_image *g, uint64_t ip)
{
	return g->py.state == IPCPROF_PY_ON && !(ip & IPCPROF_PYFRAME_BIT) &&
	       ip >= g->py.interp_start && ip < g->py.interp_end;
}

bool ipcprof_py_site_line(const struct ipcprof_image *g, uint32_t channel, char *out, size_t outlen)
{
	const struct ipcprof_stack *best = NULL;
	for (uint32_t i = 0; i < g->nstack; i++) {
		const struct ipcprof_stack *st = &g->stack[i];
		if (st->channel == channel && (!best || st->bytes > best->bytes))
			best = st;
	}
	if (!best)
		return false;
	struct ipcprof_pyloc loc, first;
	bool any = false, main_part = false, first_main = false;
	uint32_t depth = best->depth < IPCPROF_STACK_DEPTH ? best->depth : IPCPROF_STACK_DEPTH;
	for (uint32_t k = 0; k < depth; k++) {
		if (best->ip[k] == IPCPROF_PYFRAME_MAIN_THREAD)
			main_part = true;
		if (!(best->ip[k] & IPCPROF_PYFRAME_BIT) ||
		    best->ip[k] == IPCPROF_PYFRAME_MAIN_THREAD)
			continue;
		ipcprof_py_locate(g, best->ip[k], &loc);
		if (loc.incomplete || !loc.path[0])
			continue;
		if (!ipcprof_py_library_file(loc.path, strlen(loc.path))) {
			first = loc; /* the program's own line */
			first_main = main_part;
			any = true;
			break;
		}
		if (!any) {
			first = loc;
			any = true;
		}
	}
	if (any)
		snprintf(out, outlen, "%s:%d (%s%s)", first.file, first.line, first.function,
			 first_main ? ", sent by a library thread" : "");
	return any;
}
