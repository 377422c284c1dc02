/* Offline symbolization of recorded call sites (elfutils' libdwfl), and merging equal sites. */
#include <stdlib.h>
#include <string.h>

#include "report.h"

#if IPCPROF_HAVE_LIBDW
#include <elfutils/libdwfl.h>
#include <gelf.h>

#include "debug_cache.h"

static char *debuginfo_path;
static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = ipcprof_debug_cache_find,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};
#endif

#if IPCPROF_HAVE_LIBDW
/*
 * What libdwfl names in one stretch of a module between two boundaries: every symbol's start and
 * end and every section's, so that the same symbols contain each address of the stretch and none
 * starts inside it. libdwfl's choice among the symbols containing an address is the same for
 * every address of the stretch, and its own lookup walks the whole symbol table each time.
 */
struct stretch {
	bool known;
	const char *name; /* NULL: no symbol */
	GElf_Addr start;  /* the symbol's address */
	const char *func_file;
	int func_line;
};
#endif

/* One ELF file (path and build id), opened once for every record that loaded it. */
struct modent {
	char path[IPCPROF_PATH_BYTES];
	uint8_t build_id[20];
	uint32_t build_id_len;
#if IPCPROF_HAVE_LIBDW
	Dwfl *dwfl;
	Dwfl_Module *mod;
	bool usable;      /* opened, and its build id matches the one recorded */
	bool stretched;   /* bound and stretch made (or given up: nbound 0, stretch NULL) */
	GElf_Addr *bound; /* sorted, distinct */
	size_t nbound;
	struct stretch *stretch; /* nbound + 1: before the first bound, between, after the last */
#endif
};

/* A looked-up address: (module, address, return address or not). */
struct symentry {
	int mod; /* index into mods; -1: no module covers the address */
	bool ret;
	bool used;
	uint64_t addr; /* rel, or ip when no module */
	struct ipcprof_sym sym;
};

struct ipcprof_symtab {
	struct modent **mods;
	int nmod, capmod;
	struct symentry *tab; /* open addressing, cap a power of two */
	size_t n, cap;
	const struct ipcprof_image *img; /* the image whose module ids are in img_mod */
	int *img_mod;                    /* per module of img: index into mods, -2 not yet known */
};

struct ipcprof_symtab *ipcprof_symtab_new(void)
{
	struct ipcprof_symtab *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cap = 4096;
	t->tab = calloc(t->cap, sizeof(*t->tab));
	t->img_mod = malloc(IPCPROF_MAX_MODULES * sizeof(int));
	if (!t->tab || !t->img_mod) {
		ipcprof_symtab_free(t);
		return NULL;
	}
	return t;
}

void ipcprof_symtab_free(struct ipcprof_symtab *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->nmod; i++) {
#if IPCPROF_HAVE_LIBDW
		if (t->mods[i]->dwfl)
			dwfl_end(t->mods[i]->dwfl);
		for (size_t k = 0; t->mods[i]->stretch && k <= t->mods[i]->nbound; k++) {
			free((char *)t->mods[i]->stretch[k].name);
			free((char *)t->mods[i]->stretch[k].func_file);
		}
		free(t->mods[i]->stretch);
		free(t->mods[i]->bound);
#endif
		free(t->mods[i]);
	}
	free(t->mods);
	for (size_t i = 0; t->tab && i < t->cap; i++) {
		free((char *)t->tab[i].sym.symbol);
		free((char *)t->tab[i].sym.srcfile);
		free((char *)t->tab[i].sym.func_file);
	}
	free(t->tab);
	free(t->img_mod);
	free(t);
}

static int modent_get(struct ipcprof_symtab *t, const struct ipcprof_module *mod)
{
	for (int i = 0; i < t->nmod; i++)
		if (!strcmp(t->mods[i]->path, mod->path) &&
		    t->mods[i]->build_id_len == mod->build_id_len &&
		    !memcmp(t->mods[i]->build_id, mod->build_id, t->mods[i]->build_id_len))
			return i;
	if (t->nmod == t->capmod) {
		int c = t->capmod ? 2 * t->capmod : 16;
		struct modent **p = realloc(t->mods, (size_t)c * sizeof(*p));
		if (!p)
			return -1;
		t->mods = p;
		t->capmod = c;
	}
	struct modent *e = calloc(1, sizeof(*e));
	if (!e)
		return -1;
	t->mods[t->nmod] = e;
	memcpy(e->path, mod->path, sizeof(e->path));
	e->path[sizeof(e->path) - 1] = '\0';
	e->build_id_len = mod->build_id_len <= 20 ? mod->build_id_len : 20;
	memcpy(e->build_id, mod->build_id, e->build_id_len);
#if IPCPROF_HAVE_LIBDW
	e->dwfl = dwfl_begin(&callbacks);
	if (e->dwfl) {
		/* Reported at its link-time addresses: the record's load bias maps runtime ips
		 * there. */
		e->mod = dwfl_report_elf(e->dwfl, e->path, e->path, -1, 0, false);
		dwfl_report_end(e->dwfl, NULL, NULL);
	}
	if (e->mod) {
		const unsigned char *bits;
		GElf_Addr vaddr;
		int len = dwfl_module_build_id(e->mod, &bits, &vaddr);
		/* A file replaced since the run would give wrong names: better none. */
		e->usable = !e->build_id_len || (len == (int)e->build_id_len &&
						 !memcmp(bits, e->build_id, e->build_id_len));
	}
#endif
	return t->nmod++;
}

static const struct ipcprof_module *module_of(const struct ipcprof_image *g, uint64_t ip,
					      uint32_t *index)
{
	for (uint32_t i = 0; i < g->nmod; i++)
		if (ip >= g->mod[i].start && ip < g->mod[i].end) {
			*index = i;
			return &g->mod[i];
		}
	return NULL;
}

static size_t slot_of(const struct ipcprof_symtab *t, int mod, uint64_t addr, bool ret)
{
	uint64_t h =
	    (addr ^ ((uint64_t)(unsigned)mod << 48) ^ (uint64_t)ret) * 0x9e3779b97f4a7c15ull;
	size_t i = (size_t)(h >> 20) & (t->cap - 1);
	while (t->tab[i].used &&
	       (t->tab[i].mod != mod || t->tab[i].addr != addr || t->tab[i].ret != ret))
		i = (i + 1) & (t->cap - 1);
	return i;
}

static int grow(struct ipcprof_symtab *t)
{
	struct ipcprof_symtab old = *t;
	t->cap *= 2;
	t->tab = calloc(t->cap, sizeof(*t->tab));
	if (!t->tab) {
		*t = old;
		return -1;
	}
	for (size_t i = 0; i < old.cap; i++)
		if (old.tab[i].used)
			t->tab[slot_of(t, old.tab[i].mod, old.tab[i].addr, old.tab[i].ret)] =
			    old.tab[i];
	free(old.tab);
	return 0;
}

#if IPCPROF_HAVE_LIBDW
static char *dup_str(const char *s)
{
	return s ? ipcprof_utf8_dup(s, strlen(s) + 1) : NULL;
}

static int cmp_addr(const void *a, const void *b)
{
	GElf_Addr x = *(const GElf_Addr *)a, y = *(const GElf_Addr *)b;
	return x < y ? -1 : x > y;
}

/* The module's stretches, once: one pass over its symbols and sections. Without them (out of
 * memory), every address is looked up on its own, as before. */
static void stretches_make(struct modent *e)
{
	e->stretched = true;
	int n = dwfl_module_getsymtab(e->mod);
	GElf_Addr bias = 0;
	Elf *elf = dwfl_module_getelf(e->mod, &bias);
	size_t nsec = 0;
	if (elf && elf_getshdrnum(elf, &nsec) != 0)
		nsec = 0;
	size_t cap = 2 * (size_t)(n > 0 ? n : 0) + 2 * nsec + 1, nb = 0;
	GElf_Addr *b = malloc(cap * sizeof(*b));
	if (!b)
		return;
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		if (!dwfl_module_getsym_info(e->mod, i, &sym, &addr, NULL, NULL, NULL))
			continue;
		b[nb++] = addr;
		if (sym.st_size)
			b[nb++] = addr + sym.st_size;
	}
	for (Elf_Scn *scn = NULL; elf && (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC))
			continue;
		b[nb++] = sh.sh_addr + bias;
		b[nb++] = sh.sh_addr + bias + sh.sh_size;
	}
	qsort(b, nb, sizeof(*b), cmp_addr);
	size_t w = 0;
	for (size_t i = 0; i < nb; i++)
		if (!w || b[w - 1] != b[i])
			b[w++] = b[i];
	e->stretch = calloc(w + 1, sizeof(*e->stretch));
	if (!e->stretch) {
		free(b);
		return;
	}
	e->bound = b;
	e->nbound = w;
}

/* The stretch address a lies in: the number of bounds at or below it. */
static struct stretch *stretch_of(struct modent *e, GElf_Addr a)
{
	if (!e->stretched)
		stretches_make(e);
	if (!e->stretch)
		return NULL;
	size_t lo = 0, hi = e->nbound;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (e->bound[mid] <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return &e->stretch[lo];
}

static void dwfl_names(struct modent *e, uint64_t rel, bool ret, struct ipcprof_sym *y)
{
	/* Return addresses point after the call: look up the call itself. */
	GElf_Addr a = ret ? rel - 1 : rel;
	struct stretch *st = stretch_of(e, a);
	if (!st || !st->known) {
		GElf_Off off;
		GElf_Sym sym;
		const char *name = dwfl_module_addrinfo(e->mod, a, &off, &sym, NULL, NULL, NULL);
		struct stretch found = {.known = true, .name = dup_str(name), .start = a - off};
		if (name) {
			Dwfl_Line *fl = dwfl_module_getsrc(e->mod, a - off);
			found.func_file =
			    dup_str(fl ? dwfl_lineinfo(fl, NULL, &found.func_line, NULL, NULL, NULL)
				       : NULL);
		}
		if (!st || (name && !found.name)) {
			/* Not kept: this address's names alone. */
			if (name && found.name) {
				y->symbol = found.name;
				y->offset = off + (ret ? 1 : 0);
				y->func_file = found.func_file;
				y->func_line = found.func_line;
			} else {
				free((char *)found.func_file);
			}
			goto line;
		}
		*st = found;
	}
	if (st->name) {
		y->symbol = dup_str(st->name);
		y->offset = a - st->start + (ret ? 1 : 0);
		y->func_file = dup_str(st->func_file);
		y->func_line = st->func_line;
	}
line:;
	Dwfl_Line *ln = dwfl_module_getsrc(e->mod, a);
	const char *src = ln ? dwfl_lineinfo(ln, NULL, &y->line, NULL, NULL, NULL) : NULL;
	y->srcfile = dup_str(src);
}
#endif

const struct ipcprof_sym *ipcprof_symtab_lookup(struct ipcprof_symtab *t,
						const struct ipcprof_image *g, uint64_t ip,
						bool ret)
{
	if (g != t->img) {
		t->img = g;
		for (int i = 0; i < IPCPROF_MAX_MODULES; i++)
			t->img_mod[i] = -2;
	}
	uint32_t mi = 0;
	const struct ipcprof_module *mod = module_of(g, ip, &mi);
	int id = -1;
	if (mod) {
		if (t->img_mod[mi] == -2)
			t->img_mod[mi] = modent_get(t, mod);
		id = t->img_mod[mi];
		if (id < 0)
			return NULL;
	}
	uint64_t rel = mod ? ip - mod->base : ip;
	size_t i = slot_of(t, id, rel, ret);
	if (t->tab[i].used)
		return &t->tab[i].sym;
	if (2 * (t->n + 1) > t->cap) {
		if (grow(t) < 0)
			return NULL;
		i = slot_of(t, id, rel, ret);
	}
	struct symentry *e = &t->tab[i];
	memset(e, 0, sizeof(*e));
	e->used = true;
	e->mod = id;
	e->addr = rel;
	e->ret = ret;
	e->sym.module = mod ? t->mods[id]->path : NULL;
	e->sym.rel = rel;
	e->sym.offset = rel;
#if IPCPROF_HAVE_LIBDW
	if (mod && t->mods[id]->usable)
		dwfl_names(t->mods[id], rel, ret, &e->sym);
#endif
	t->n++;
	return &e->sym;
}

static int cmp_site_key(const void *a, const void *b)
{
	const struct ipcprof_site *x = a, *y = b;
	return strcmp(x->key, y->key);
}

static int cmp_site_bytes(const void *a, const void *b)
{
	const struct ipcprof_site *x = a, *y = b;
	return x->bytes > y->bytes ? -1 : x->bytes < y->bytes;
}

static void free_site(struct ipcprof_site *s)
{
	for (int k = 0; k < s->depth; k++) {
		free(s->frame[k].symbol);
		free(s->frame[k].srcfile);
	}
	free(s->key);
}

/* Appends part (pl bytes) to the site's key; frees it and returns false when out of memory. */
static bool key_add(char **key, size_t *keylen, size_t *keycap, const char *part, int pl)
{
	if (pl < 0)
		pl = 0;
	if (*keylen + (size_t)pl + 1 > *keycap) {
		*keycap = 2 * (*keylen + (size_t)pl + 1);
		char *nk = realloc(*key, *keycap);
		if (!nk) {
			free(*key);
			return false;
		}
		*key = nk;
	}
	memcpy(*key + *keylen, part, (size_t)pl + 1);
	*keylen += (size_t)pl;
	return true;
}

/* Marks a site's Python frames, and leaves out (unless m->interp_frames) the interpreter's own
 * native frames and those outside the calling thread's outermost Python frame, as the CPU profile
 * does. The main thread's frames, after IPCPROF_PYFRAME_MAIN_THREAD, are all Python frames. */
static void site_python(const struct ipcprof_model *m, const struct ipcprof_image *g,
			struct ipcprof_site *site)
{
	int outer = -1; /* innermost first here: the last Python frame is the outermost */
	bool own = true;
	for (int k = 0; k < site->depth; k++) {
		struct ipcprof_frame *f = &site->frame[k];
		f->main_thread = f->ip == IPCPROF_PYFRAME_MAIN_THREAD;
		f->python = (f->ip & IPCPROF_PYFRAME_BIT) != 0 && !f->main_thread;
		f->interp = ipcprof_py_interp(g, f->ip);
		own = own && !f->main_thread;
		if (f->python && own)
			outer = k;
	}
	if (outer < 0 || m->interp_frames)
		return;
	int w = 0;
	own = true;
	for (int k = 0; k < site->depth; k++) {
		const struct ipcprof_frame *f = &site->frame[k];
		own = own && !f->main_thread;
		if (!own || f->python || (!f->interp && k < outer))
			site->frame[w++] = *f;
	}
	site->depth = w;
}

int ipcprof_symbolize(struct ipcprof_model *m, struct ipcprof_symtab *t)
{
	m->symbols = IPCPROF_HAVE_LIBDW;
	for (int s = 0; s < m->nsite; s++) {
		struct ipcprof_site *site = &m->site[s];
		const struct ipcprof_image *g = &m->img[site->first_image];
		size_t keylen = 0, keycap = 256;
		char *key = malloc(keycap);
		if (!key)
			return -1;
		key[0] = '\0';
		site_python(m, g, site);
		bool first = true; /* one call address, then return addresses */
		for (int k = 0; k < site->depth; k++) {
			struct ipcprof_frame *f = &site->frame[k];
			char part[IPCPROF_PATH_BYTES + 128];
			int pl;
			if (f->main_thread) {
				f->symbol = strdup(IPCPROF_MAIN_THREAD_LABEL);
				if (!f->symbol) {
					free(key);
					return -1;
				}
				if (!key_add(&key, &keylen, &keycap, "main;", 5))
					return -1;
				continue;
			}
			if (f->python) {
				struct ipcprof_pyloc loc;
				ipcprof_py_locate(g, f->ip, &loc);
				if (loc.incomplete) {
					/* not started: left out, as in CPython's tracebacks */
					memmove(f, f + 1,
						(size_t)(site->depth - k - 1) * sizeof(*f));
					site->depth--;
					k--;
					continue;
				}
				f->symbol = strdup(loc.function);
				f->srcfile = strdup(loc.file);
				f->line = loc.line;
				pl = snprintf(part, sizeof(part), "py!%.200s:%d:%.200s;", loc.file,
					      loc.line, loc.function);
				if (!f->symbol || !f->srcfile) {
					free(key);
					return -1;
				}
				if (!key_add(&key, &keylen, &keycap, part, pl))
					return -1;
				continue;
			}
			const struct ipcprof_sym *y = ipcprof_symtab_lookup(t, g, f->ip, !first);
			first = false;
			if (!y) {
				free(key);
				return -1;
			}
			f->module = y->module;
			f->offset = y->offset;
			if (y->symbol)
				f->symbol = strdup(y->symbol);
			if (y->srcfile) {
				f->srcfile = strdup(y->srcfile);
				f->line = y->line;
			}
			if (f->symbol)
				pl = snprintf(part, sizeof(part), "%s!%s;",
					      y->module ? ipcprof_base_name(y->module) : "?",
					      f->symbol);
			else
				pl = snprintf(part, sizeof(part), "%s+%llx;",
					      y->module ? ipcprof_base_name(y->module) : "?",
					      (unsigned long long)y->rel);
			if (!key_add(&key, &keylen, &keycap, part, pl))
				return -1;
		}
		site->key = key;
	}
	/* Workers running the same code have the same site: one entry for all of them. */
	if (m->nsite)
		qsort(m->site, (size_t)m->nsite, sizeof(*m->site), cmp_site_key);
	int w = 0;
	for (int s = 0; s < m->nsite; s++) {
		if (w && !strcmp(m->site[w - 1].key, m->site[s].key)) {
			m->site[w - 1].bytes += m->site[s].bytes;
			m->site[w - 1].calls += m->site[s].calls;
			m->site[w - 1].nimg++;
			free_site(&m->site[s]);
		} else {
			m->site[w++] = m->site[s];
		}
	}
	m->nsite = w;
	if (m->nsite)
		qsort(m->site, (size_t)m->nsite, sizeof(*m->site), cmp_site_bytes);
	return 0;
}
