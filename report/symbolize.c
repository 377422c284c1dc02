/* Offline symbolization of recorded call sites (elfutils' libdwfl), and merging equal sites. */
#include <stdlib.h>
#include <string.h>

#include "report.h"

#if IPCPROF_HAVE_LIBDW
#include <elfutils/libdwfl.h>

/* One ELF file opened once for every record that loaded it. */
struct elf_cache {
	char path[IPCPROF_PATH_BYTES];
	uint8_t build_id[20];
	uint32_t build_id_len;
	Dwfl *dwfl;
	Dwfl_Module *mod;
	bool usable; /* opened, and its build id matches the one recorded */
};

static char *debuginfo_path;
static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

static struct elf_cache *cache_get(struct elf_cache **cache, int *n, int *cap,
				   const struct ipcprof_module *mod)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp((*cache)[i].path, mod->path) &&
		    (*cache)[i].build_id_len == mod->build_id_len &&
		    !memcmp((*cache)[i].build_id, mod->build_id, mod->build_id_len))
			return &(*cache)[i];
	if (*n == *cap) {
		int c = *cap ? 2 * *cap : 16;
		struct elf_cache *p = realloc(*cache, (size_t)c * sizeof(*p));
		if (!p)
			return NULL;
		*cache = p;
		*cap = c;
	}
	struct elf_cache *e = &(*cache)[(*n)++];
	memset(e, 0, sizeof(*e));
	memcpy(e->path, mod->path, sizeof(e->path));
	e->build_id_len = mod->build_id_len <= 20 ? mod->build_id_len : 20;
	memcpy(e->build_id, mod->build_id, e->build_id_len);
	e->dwfl = dwfl_begin(&callbacks);
	if (!e->dwfl)
		return e;
	/* Reported at its link-time addresses: the record's load bias maps runtime ips there. */
	e->mod = dwfl_report_elf(e->dwfl, mod->path, mod->path, -1, 0, false);
	dwfl_report_end(e->dwfl, NULL, NULL);
	if (!e->mod)
		return e;
	const unsigned char *bits;
	GElf_Addr vaddr;
	int len = dwfl_module_build_id(e->mod, &bits, &vaddr);
	/* A file replaced since the run would give wrong names: better none. */
	e->usable = !e->build_id_len ||
		    (len == (int)e->build_id_len && !memcmp(bits, e->build_id, e->build_id_len));
	return e;
}

static void cache_free(struct elf_cache *cache, int n)
{
	for (int i = 0; i < n; i++)
		if (cache[i].dwfl)
			dwfl_end(cache[i].dwfl);
	free(cache);
}
#endif

static const struct ipcprof_module *module_of(const struct ipcprof_image *g, uint64_t ip)
{
	for (uint32_t i = 0; i < g->nmod; i++)
		if (ip >= g->mod[i].start && ip < g->mod[i].end)
			return &g->mod[i];
	return NULL;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
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

int ipcprof_symbolize(struct ipcprof_model *m)
{
#if IPCPROF_HAVE_LIBDW
	struct elf_cache *cache = NULL;
	int ncache = 0, capcache = 0;
	m->symbols = true;
#endif
	for (int s = 0; s < m->nsite; s++) {
		struct ipcprof_site *site = &m->site[s];
		const struct ipcprof_image *g = &m->img[site->first_image];
		size_t keylen = 0, keycap = 256;
		char *key = malloc(keycap);
		if (!key)
			return -1;
		key[0] = '\0';
		for (int k = 0; k < site->depth; k++) {
			struct ipcprof_frame *f = &site->frame[k];
			const struct ipcprof_module *mod = module_of(g, f->ip);
			uint64_t rel = mod ? f->ip - mod->base : f->ip;
			f->module = mod ? mod->path : NULL;
			f->offset = rel;
#if IPCPROF_HAVE_LIBDW
			struct elf_cache *e =
			    mod ? cache_get(&cache, &ncache, &capcache, mod) : NULL;
			if (e && e->usable) {
				/* Return addresses point after the call: look up the call itself.
                                 */
				GElf_Addr a = k > 0 ? rel - 1 : rel;
				GElf_Off off;
				GElf_Sym sym;
				const char *name =
				    dwfl_module_addrinfo(e->mod, a, &off, &sym, NULL, NULL, NULL);
				if (name) {
					f->symbol = ipcprof_utf8_dup(name, strlen(name) + 1);
					f->offset = off + (k > 0 ? 1 : 0);
				}
				Dwfl_Line *ln = dwfl_module_getsrc(e->mod, a);
				int line = 0;
				const char *src =
				    ln ? dwfl_lineinfo(ln, NULL, &line, NULL, NULL, NULL) : NULL;
				if (src) {
					f->srcfile = ipcprof_utf8_dup(src, strlen(src) + 1);
					f->line = line;
				}
			}
#endif
			char part[IPCPROF_PATH_BYTES + 128];
			int pl;
			if (f->symbol)
				pl = snprintf(part, sizeof(part), "%s!%s;",
					      mod ? base_name(mod->path) : "?", f->symbol);
			else
				pl = snprintf(part, sizeof(part), "%s+%llx;",
					      mod ? base_name(mod->path) : "?",
					      (unsigned long long)rel);
			if (keylen + (size_t)pl + 1 > keycap) {
				keycap = 2 * (keylen + (size_t)pl + 1);
				char *nk = realloc(key, keycap);
				if (!nk) {
					free(key);
					return -1;
				}
				key = nk;
			}
			memcpy(key + keylen, part, (size_t)pl + 1);
			keylen += (size_t)pl;
		}
		site->key = key;
	}
#if IPCPROF_HAVE_LIBDW
	cache_free(cache, ncache);
#endif
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
