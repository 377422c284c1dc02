/* The CPU profile: sampled stacks symbolized, classified by the rules and merged. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* Distinct frames: a function of a module, or an address when the function is unknown. */
struct frame_index {
	int *slot; /* open addressing over m->pframe, -1 free; cap a power of two */
	size_t cap;
	struct ipcprof_frame_match *match; /* per frame */
	int capmatch;
};

static uint64_t hash_str(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h * 0x100000001b3ull;
}

static uint64_t frame_hash(const char *module, const char *symbol, uint64_t rel)
{
	uint64_t h = hash_str(0xcbf29ce484222325ull, module);
	return symbol ? hash_str(h, symbol) : (h ^ rel) * 0x9e3779b97f4a7c15ull;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool frame_is(const struct ipcprof_pframe *f, const char *module, const char *symbol,
		     uint64_t rel)
{
	if (f->python || !same_str(f->module, module) || !same_str(f->symbol, symbol))
		return false;
	return symbol || f->rel == rel;
}

/* A Python frame is its function, file and line: hashed as a symbol of that file's "module". */
static uint64_t pyframe_hash(const struct ipcprof_pyloc *loc)
{
	return hash_str(frame_hash(loc->file, loc->function, 0), "py") ^ (uint64_t)loc->line;
}

static bool pyframe_is(const struct ipcprof_pframe *f, const struct ipcprof_pyloc *loc)
{
	return f->python && f->line == loc->line && !strcmp(f->symbol, loc->function) &&
	       !strcmp(f->srcfile, loc->file);
}

static uint64_t pframe_hash(const struct ipcprof_pframe *p)
{
	if (p->python) {
		struct ipcprof_pyloc loc;
		snprintf(loc.function, sizeof(loc.function), "%s", p->symbol);
		snprintf(loc.file, sizeof(loc.file), "%s", p->srcfile);
		loc.line = p->line;
		return pyframe_hash(&loc);
	}
	return frame_hash(p->module, p->symbol, p->rel);
}

static int index_grow(struct ipcprof_model *m, struct frame_index *x)
{
	size_t cap = x->cap ? 2 * x->cap : 1024;
	int *slot = malloc(cap * sizeof(int));
	if (!slot)
		return -1;
	for (size_t i = 0; i < cap; i++)
		slot[i] = -1;
	for (int f = 0; f < m->npframe; f++) {
		const struct ipcprof_pframe *p = &m->pframe[f];
		size_t i = (size_t)pframe_hash(p) & (cap - 1);
		while (slot[i] >= 0)
			i = (i + 1) & (cap - 1);
		slot[i] = f;
	}
	free(x->slot);
	x->slot = slot;
	x->cap = cap;
	return 0;
}

/* A new frame at the end of m->pframe (x->match has room for it); NULL when out of memory. */
static struct ipcprof_pframe *frame_new(struct ipcprof_model *m, struct frame_index *x)
{
	if (m->npframe == m->cappframe) {
		int c = m->cappframe ? 2 * m->cappframe : 256;
		struct ipcprof_pframe *p = realloc(m->pframe, (size_t)c * sizeof(*p));
		struct ipcprof_frame_match *fm = realloc(x->match, (size_t)c * sizeof(*fm));
		if (p)
			m->pframe = p;
		if (fm)
			x->match = fm;
		if (!p || !fm)
			return NULL;
		m->cappframe = c;
	}
	struct ipcprof_pframe *f = &m->pframe[m->npframe];
	memset(f, 0, sizeof(*f));
	return f;
}

/* The index of the frame y names, added (and matched against the rules) when new. */
static int frame_get(struct ipcprof_model *m, struct frame_index *x, const struct ipcprof_sym *y,
		     bool interp)
{
	if (2 * ((size_t)m->npframe + 1) > x->cap && index_grow(m, x) < 0)
		return -1;
	size_t i = (size_t)frame_hash(y->module, y->symbol, y->rel) & (x->cap - 1);
	for (; x->slot[i] >= 0; i = (i + 1) & (x->cap - 1))
		if (frame_is(&m->pframe[x->slot[i]], y->module, y->symbol, y->rel))
			return x->slot[i];
	struct ipcprof_pframe *f = frame_new(m, x);
	if (!f)
		return -1;
	f->interp = interp;
	f->module = y->module;
	f->symbol = y->symbol ? strdup(y->symbol) : NULL;
	f->rel = y->symbol ? 0 : y->rel;
	if (y->symbol && y->func_file) {
		f->srcfile = strdup(y->func_file);
		f->line = y->func_line;
	}
	ipcprof_rules_match(m->rules, f->module, f->symbol, &x->match[m->npframe]);
	x->slot[i] = m->npframe;
	return m->npframe++;
}

/* The index of Python frame v of image g, added when new: no module, and no classification rule
 * matches it. NOT_STARTED for a frame that had not started, which is left out as CPython's
 * tracebacks leave it out. */
#define NOT_STARTED (-2)
static int pyframe_get(struct ipcprof_model *m, struct frame_index *x,
		       const struct ipcprof_image *g, uint64_t v)
{
	if (2 * ((size_t)m->npframe + 1) > x->cap && index_grow(m, x) < 0)
		return -1;
	struct ipcprof_pyloc loc;
	ipcprof_py_locate(g, v, &loc);
	if (loc.incomplete)
		return NOT_STARTED;
	size_t i = (size_t)pyframe_hash(&loc) & (x->cap - 1);
	for (; x->slot[i] >= 0; i = (i + 1) & (x->cap - 1))
		if (pyframe_is(&m->pframe[x->slot[i]], &loc))
			return x->slot[i];
	struct ipcprof_pframe *f = frame_new(m, x);
	if (!f)
		return -1;
	f->python = true;
	f->symbol = strdup(loc.function);
	f->srcfile = strdup(loc.file);
	f->line = loc.line;
	if (!f->symbol || !f->srcfile) {
		free(f->symbol);
		free(f->srcfile);
		return -1;
	}
	x->match[m->npframe] = (struct ipcprof_frame_match){INT_MAX, INT_MAX, false};
	x->slot[i] = m->npframe;
	return m->npframe++;
}

bool ipcprof_pstack_hides(const struct ipcprof_model *m, const struct ipcprof_pstack *st,
			  uint32_t k)
{
	if (m->interp_frames || st->py_outer < 0)
		return false;
	const struct ipcprof_pframe *f = &m->pframe[st->frame[k]];
	return !f->python && (f->interp || (int)k < st->py_outer);
}

/* Stacks merge when image, tid and frames are the same (and the category: a sample the preload
 * marked as inside an IPC call is ipc whatever its frames). */
struct stack_key {
	int image;
	int cat;
	uint32_t tid;
	uint32_t depth;
	const int *frame;
};

static uint64_t stack_hash(const struct stack_key *k)
{
	uint64_t h = ((uint64_t)(unsigned)k->image << 32 | k->tid) * 0x9e3779b97f4a7c15ull +
		     (uint64_t)k->cat;
	for (uint32_t i = 0; i < k->depth; i++)
		h = (h ^ (uint64_t)(unsigned)k->frame[i]) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

static bool stack_is(const struct ipcprof_pstack *s, const struct stack_key *k)
{
	return s->image == k->image && s->cat == k->cat && s->tid == k->tid &&
	       s->depth == k->depth && !memcmp(s->frame, k->frame, k->depth * sizeof(int));
}

struct stack_index {
	size_t *slot; /* m->pstack index + 1; 0 free */
	size_t cap;
	size_t capstack;
};

static int stacks_grow(struct ipcprof_model *m, struct stack_index *x)
{
	size_t cap = x->cap ? 2 * x->cap : 1024;
	size_t *slot = calloc(cap, sizeof(*slot));
	if (!slot)
		return -1;
	for (size_t s = 0; s < m->npstack; s++) {
		const struct ipcprof_pstack *p = &m->pstack[s];
		struct stack_key k = {p->image, p->cat, p->tid, p->depth, p->frame};
		size_t i = (size_t)stack_hash(&k) & (cap - 1);
		while (slot[i])
			i = (i + 1) & (cap - 1);
		slot[i] = s + 1;
	}
	free(x->slot);
	x->slot = slot;
	x->cap = cap;
	return 0;
}

/* Adds weight to the stack k, new when it is not there yet; returns its index or -1. */
static long stack_add(struct ipcprof_model *m, struct stack_index *x, const struct stack_key *k,
		      uint64_t weight)
{
	if (2 * (m->npstack + 1) > x->cap && stacks_grow(m, x) < 0)
		return -1;
	size_t i = (size_t)stack_hash(k) & (x->cap - 1);
	for (; x->slot[i]; i = (i + 1) & (x->cap - 1)) {
		struct ipcprof_pstack *s = &m->pstack[x->slot[i] - 1];
		if (stack_is(s, k)) {
			s->weight =
			    s->weight + weight < s->weight ? UINT64_MAX : s->weight + weight;
			return (long)(x->slot[i] - 1);
		}
	}
	if (m->npstack == x->capstack) {
		size_t c = x->capstack ? 2 * x->capstack : 256;
		struct ipcprof_pstack *p = realloc(m->pstack, c * sizeof(*p));
		if (!p)
			return -1;
		m->pstack = p;
		x->capstack = c;
	}
	struct ipcprof_pstack *s = &m->pstack[m->npstack];
	s->frame = malloc(k->depth * sizeof(int));
	if (!s->frame)
		return -1;
	memcpy(s->frame, k->frame, k->depth * sizeof(int));
	s->image = k->image;
	s->tid = k->tid;
	s->depth = k->depth;
	s->weight = weight;
	s->cat = k->cat;
	s->py_outer = -1;
	for (uint32_t d = 0; d < k->depth && s->py_outer < 0; d++)
		if (m->pframe[k->frame[d]].python)
			s->py_outer = (int)d;
	x->slot[i] = m->npstack + 1;
	return (long)m->npstack++;
}

int ipcprof_profile_build(struct ipcprof_model *m, struct ipcprof_symtab *t)
{
	struct frame_index fx = {0};
	struct stack_index sx = {0};
	int frames[IPCPROF_SAMPLE_DEPTH];
	int inner[IPCPROF_SAMPLE_DEPTH];
	struct ipcprof_frame_match fm[IPCPROF_SAMPLE_DEPTH];
	int rc = 0;
	m->nsampled = 0;
	for (int i = 0; i < m->nimg && rc == 0; i++) {
		struct ipcprof_image *g = &m->img[i];
		memset(g->cat_weight, 0, sizeof(g->cat_weight));
		memset(g->cat_wait, 0, sizeof(g->cat_wait));
		if (g->nsample)
			m->nsampled++;
		for (size_t s = 0; s < g->nsample; s++) {
			struct ipcprof_sample *sm = &g->sample[s];
			uint32_t d = sm->depth;
			/* ip[] holds one interrupted address, then return ones */
			bool first = true;
			uint32_t n = 0, nfm = 0; /* frames kept, innermost first in inner[] */
			for (uint32_t k = 0; k < d; k++) {
				uint64_t ip = sm->ip[k];
				int f;
				if (ip & IPCPROF_PYFRAME_BIT) {
					f = pyframe_get(m, &fx, g, ip);
					if (f == NOT_STARTED)
						continue;
				} else {
					const struct ipcprof_sym *y =
					    ipcprof_symtab_lookup(t, g, ip, !first);
					f = y ? frame_get(m, &fx, y, ipcprof_py_interp(g, ip)) : -1;
					first = false;
				}
				if (f < 0) {
					rc = -1;
					break;
				}
				/* The rules see the native frames alone, as they were written for. */
				if (!m->pframe[f].python)
					fm[nfm++] = fx.match[f];
				inner[n++] = f;
			}
			if (rc < 0)
				break;
			for (uint32_t k = 0; k < n; k++)
				frames[n - 1 - k] = inner[k]; /* outermost first */
			d = n;
			/* The preload marks samples taken inside the IPC calls it times. */
			sm->cat = sm->flags & IPCPROF_SS_IPC
				      ? IPCPROF_CAT_IPC
				      : ipcprof_rules_decide(m->rules, nfm, fm);
			struct stack_key key = {i, sm->cat, sm->tid, d, frames};
			if (stack_add(m, &sx, &key, sm->weight) < 0) {
				rc = -1;
				break;
			}
			uint64_t *w = &g->cat_weight[sm->cat];
			*w = *w + sm->weight < *w ? UINT64_MAX : *w + sm->weight;
			w = &g->cat_wait[sm->cat];
			*w = *w + sm->wait_ns < *w ? UINT64_MAX : *w + sm->wait_ns;
		}
	}
	free(fx.slot);
	free(fx.match);
	free(sx.slot);
	return rc;
}
