/* The hosts of a merged run: which processes ran on which, and the bytes between them. */
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* One host: a hostname on one boot. The name is what readers know a machine by; the boot tells
 * apart two machines of one name, and a kernel's containers have one boot but names of their
 * own. */
static int same_host(const struct ipcprof_image *a, const struct ipcprof_image *b)
{
	return a->boot == b->boot && !strncmp(a->proc.hostname, b->proc.hostname,
					       sizeof(a->proc.hostname));
}

int ipcprof_hosts_build(const struct ipcprof_model *m, struct ipcprof_hosts *h)
{
	size_t n = m->nimg ? (size_t)m->nimg : 1;
	memset(h, 0, sizeof(*h));
	h->of = malloc(n * sizeof(int));
	h->first = malloc(n * sizeof(int));
	/* At most one cell per matrix cell. */
	h->cell = malloc((m->ncell ? m->ncell : 1) * sizeof(*h->cell));
	if (!h->of || !h->first || !h->cell) {
		ipcprof_hosts_free(h);
		return -1;
	}
	for (int i = 0; i < m->nimg; i++) {
		int k = 0;
		while (k < h->n && !same_host(&m->img[h->first[k]], &m->img[i]))
			k++;
		if (k == h->n)
			h->first[h->n++] = i;
		h->of[i] = k;
	}
	for (size_t c = 0; c < m->ncell; c++) {
		int f = h->of[m->cell[c].from], t = h->of[m->cell[c].to];
		size_t k = 0;
		while (k < h->ncell && (h->cell[k].from != f || h->cell[k].to != t))
			k++;
		if (k == h->ncell)
			h->cell[h->ncell++] = (struct ipcprof_host_cell){f, t, 0, false};
		h->cell[k].bytes += m->cell[c].bytes;
		h->cell[k].estimated |= m->cell[c].estimated;
	}
	return 0;
}

const char *ipcprof_host_name(const struct ipcprof_model *m, const struct ipcprof_hosts *h,
			      int host)
{
	return m->img[h->first[host]].proc.hostname;
}

void ipcprof_hosts_free(struct ipcprof_hosts *h)
{
	free(h->of);
	free(h->first);
	free(h->cell);
	memset(h, 0, sizeof(*h));
}
