/* Kernel figures from the eBPF probes (kernel.ipckrn in a session folder), merged per process. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ipcprof/kernel.h>

#include "report.h"

int ipcprof_kernel_check(const void *buf, size_t size, char *msg, size_t msglen)
{
	const struct ipcprof_kernel_header *h = buf;
	if (size < sizeof(*h)) {
		snprintf(msg, msglen, "truncated: %zu bytes, shorter than its header", size);
		return -1;
	}
	if (memcmp(h->magic, IPCPROF_KERNEL_MAGIC, sizeof(IPCPROF_KERNEL_MAGIC)) != 0) {
		snprintf(msg, msglen, "not an ipcprof kernel file (no IPCPKRN magic)");
		return -1;
	}
	if (h->version != IPCPROF_KERNEL_VERSION) {
		snprintf(msg, msglen, "kernel file version %u; this ipcprof reads version %u",
			 h->version, IPCPROF_KERNEL_VERSION);
		return -1;
	}
	/* Newer writers may append fields: the sizes may grow, never shrink. */
	if (h->header_size < sizeof(*h) || h->image_size < sizeof(struct ipcprof_kernel_image) ||
	    h->thread_size < sizeof(struct ipcprof_kernel_thread)) {
		snprintf(msg, msglen, "corrupt header: table entries smaller than this ipcprof's");
		return -1;
	}
	uint64_t need = (uint64_t)h->header_size + (uint64_t)h->images * h->image_size +
			(uint64_t)h->threads * h->thread_size;
	if (size < need) {
		snprintf(msg, msglen, "truncated: %zu of %llu bytes", size,
			 (unsigned long long)need);
		return -1;
	}
	return 0;
}

/* Only calls on channel kinds count: files, ttys and other sockets are not IPC. */
static void image_figures(const struct ipcprof_kernel_stats *st, struct ipcprof_image *g)
{
	for (int k = IPCPROF_KFD_PIPE; k <= IPCPROF_KFD_UDP; k++)
		for (int d = 0; d < IPCPROF_KDIR_COUNT; d++)
			for (int f = 0; f < IPCPROF_KFAM_COUNT; f++) {
				const struct ipcprof_kernel_calls *c = &st->io[k][d][f];
				uint64_t off = c->blocked_ns + c->runq_ns;
				if (off > c->time_ns)
					off = c->time_ns;
				g->kernel_oncpu_ns += c->time_ns - off;
				g->kernel_offcpu_ns += off;
				g->kernel_bytes += c->bytes;
				g->kernel_calls += c->calls;
			}
	g->kernel_futex_ns += st->wait[IPCPROF_KWAIT_FUTEX].time_ns;
	g->kernel_poll_ns += st->wait[IPCPROF_KWAIT_POLL].time_ns;
	g->kernel_shm_faults += st->faults[IPCPROF_KFAULT_SHMEM].faults;
	g->kernel_shm_fault_bytes += st->faults[IPCPROF_KFAULT_SHMEM].bytes;
}

/* The kernel's image of a record: the one of its pid that overlaps it most. Seqs may differ: the
 * kernel follows the root from before its exec, the preload only after. */
static const struct ipcprof_kernel_image *
find_image(const char *base, const struct ipcprof_kernel_header *h, const struct ipcprof_image *g)
{
	const struct ipcprof_kernel_image *best = NULL;
	uint64_t best_overlap = 0;
	uint64_t gs = g->proc.start_ns;
	uint64_t ge = g->proc.end_ns ? g->proc.end_ns : UINT64_MAX;
	if (!g->proc.end_ns && g->last_ns > gs)
		ge = UINT64_MAX; /* killed unseen: open-ended */
	for (uint32_t i = 0; i < h->images; i++) {
		const struct ipcprof_kernel_image *k =
		    (const void *)(base + h->header_size + (size_t)i * h->image_size);
		if (k->pid != g->proc.pid)
			continue;
		uint64_t ks = k->start_ns, ke = k->end_ns ? k->end_ns : UINT64_MAX;
		uint64_t s0 = ks > gs ? ks : gs, e0 = ke < ge ? ke : ge;
		uint64_t overlap = e0 > s0 ? e0 - s0 : 0;
		/* equal overlaps (e.g. figures without times): the same seq wins */
		if (!best || overlap > best_overlap ||
		    (overlap == best_overlap && k->seq == g->proc.seq &&
		     best->seq != g->proc.seq)) {
			best = k;
			best_overlap = overlap;
		}
	}
	return best;
}

int ipcprof_kernel_merge(struct ipcprof_model *m, int session)
{
	const char *dir = m->session[session];
	size_t n = strlen(dir) + sizeof(IPCPROF_KERNEL_FILE) + 2;
	char *path = malloc(n);
	if (!path)
		return -1;
	snprintf(path, n, "%s/%s", dir, IPCPROF_KERNEL_FILE);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int absent = errno == ENOENT;
		if (!absent)
			ipcprof_damage_add(m, path, strerror(errno));
		free(path);
		return absent ? 0 : -1; /* no probes ran: the preload's figures stand */
	}
	struct stat st;
	char msg[256];
	int rc = -1;
	void *p = MAP_FAILED;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		ipcprof_damage_add(m, path, "empty or not a regular file");
		goto out;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		ipcprof_damage_add(m, path, strerror(errno));
		goto out;
	}
	if (ipcprof_kernel_check(p, (size_t)st.st_size, msg, sizeof(msg)) < 0) {
		ipcprof_damage_add(m, path, msg);
		goto out;
	}
	const struct ipcprof_kernel_header *h = p;
	m->kernel_dropped[0] += h->dropped.images;
	m->kernel_dropped[1] += h->dropped.threads;
	m->kernel_dropped[2] += h->dropped.calls;
	m->kernel_dropped[3] += h->dropped.mmsg_messages;
	m->kernel_dropped[4] += h->dropped.fault_lookups;
	for (int i = 0; i < m->nimg; i++) {
		struct ipcprof_image *g = &m->img[i];
		if (g->session != session)
			continue;
		const struct ipcprof_kernel_image *k = find_image(p, h, g);
		if (!k)
			continue;
		g->kernel = true;
		image_figures(&k->total, g);
		m->kernel = true;
	}
	rc = 0;
out:
	if (p != MAP_FAILED)
		munmap(p, (size_t)st.st_size);
	close(fd);
	free(path);
	return rc;
}
