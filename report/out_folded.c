/* The CPU profile as folded stacks, the text flamegraph.pl and speedscope read:
 * "<command>[<pid>];<tid>;<outermost frame>;...;<innermost frame> <weight>" a line; a Python
 * frame is "function (file.py:line)". The weight is the CPU time the samples stand for, in
 * microseconds (the sampler's period times their count), rounded once per line: viewers read it as
 * a count, so it is an integer. */
#include <stdlib.h>
#include <string.h>

#include "report.h"

struct line {
	char *text;      /* without the weight */
	uint64_t weight; /* nanoseconds */
};

struct buf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void put_bytes(struct buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = 2 * (b->len + n + 1);
		char *np = realloc(b->p, cap);
		if (!np) {
			b->failed = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* A name as one field: ';' separates frames and the last ' ' the weight, so those (with '%',
 * to stay reversible, and control characters) are written %XX; invalid UTF-8 becomes U+FFFD. */
static void put_name(struct buf *b, const char *s)
{
	char *u = ipcprof_utf8_dup(s, strlen(s) + 1);
	for (const unsigned char *c = (const unsigned char *)(u ? u : "?"); *c; c++) {
		if (*c == ';' || *c == ' ' || *c == '%' || *c < 0x20 || *c == 0x7f) {
			char esc[4];
			snprintf(esc, sizeof(esc), "%%%02X", *c);
			put_bytes(b, esc, 3);
		} else {
			put_bytes(b, (const char *)c, 1);
		}
	}
	free(u);
}

static void put_frame(struct buf *b, const struct ipcprof_pframe *f)
{
	if (f->python) {
		/* "function (file.py:line)", as py-spy names a line of Python */
		char where[48];
		put_name(b, f->symbol);
		put_bytes(b, " (", 2);
		put_name(b, f->srcfile);
		snprintf(where, sizeof(where), ":%d)", f->line);
		put_bytes(b, where, strlen(where));
		return;
	}
	if (f->symbol) {
		put_name(b, f->symbol);
		return;
	}
	char off[32];
	put_name(b, f->module ? ipcprof_base_name(f->module) : "[unknown]");
	snprintf(off, sizeof(off), "+0x%llx", (unsigned long long)f->rel);
	put_bytes(b, off, strlen(off));
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct line *)a)->text, ((const struct line *)b)->text);
}

int ipcprof_write_folded(const struct ipcprof_model *m, FILE *f)
{
	struct line *lines = malloc((m->npstack ? m->npstack : 1) * sizeof(*lines));
	if (!lines)
		return -1;
	size_t n = 0;
	int rc = 0;
	for (size_t s = 0; s < m->npstack; s++) {
		const struct ipcprof_pstack *st = &m->pstack[s];
		const struct ipcprof_image *g = &m->img[st->image];
		struct buf b = {NULL, 0, 0, false};
		const char *cmd = g->proc.argv[0] ? g->proc.argv : g->proc.exe;
		char head[48];
		put_name(&b, ipcprof_base_name(cmd[0] ? cmd : "?"));
		snprintf(head, sizeof(head), "[%d];%u", g->proc.pid, st->tid);
		put_bytes(&b, head, strlen(head));
		for (uint32_t k = 0; k < st->depth; k++) {
			if (ipcprof_pstack_hides(m, st, k))
				continue;
			put_bytes(&b, ";", 1);
			put_frame(&b, &m->pframe[st->frame[k]]);
		}
		if (b.failed) {
			free(b.p);
			rc = -1;
			break;
		}
		lines[n++] = (struct line){b.p, ipcprof_ns_of_weight(g, st->weight)};
	}
	if (rc == 0 && n)
		qsort(lines, n, sizeof(*lines), cmp_line);
	/* Images of one pid (exec) may give the same line: one line, their weights summed. */
	for (size_t i = 0; rc == 0 && i < n;) {
		uint64_t w = 0;
		size_t j = i;
		for (; j < n && !strcmp(lines[j].text, lines[i].text); j++)
			w = w + lines[j].weight < w ? UINT64_MAX : w + lines[j].weight;
		if (fprintf(f, "%s %llu\n", lines[i].text,
			    (unsigned long long)(w / 1000 + (w % 1000 >= 500))) < 0)
			rc = -1;
		i = j;
	}
	for (size_t i = 0; i < n; i++)
		free(lines[i].text);
	free(lines);
	return rc;
}
