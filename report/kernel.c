/* Kernel figures from the eBPF probes (kernel.ipckrn in a session folder), merged per process. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
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

/* A kernel fd kind from PIPE to UDP is the channel kind at the same distance from PIPE. */
#define SAME_KIND(id) (IPCPROF_KIND_##id - IPCPROF_KIND_PIPE == IPCPROF_KFD_##id - IPCPROF_KFD_PIPE)
_Static_assert(SAME_KIND(PIPE) && SAME_KIND(FIFO) && SAME_KIND(UNIX_STREAM) &&
		   SAME_KIND(UNIX_DGRAM) && SAME_KIND(UNIX_SEQPACKET) && SAME_KIND(TCP) &&
		   SAME_KIND(UDP) && IPCPROF_KFD_UDP - IPCPROF_KFD_PIPE + 1 == IPCPROF_KERNEL_KINDS,
	       "enum ipcprof_kfd lists the channel kinds in the order of enum ipcprof_kind");
#undef SAME_KIND
_Static_assert((int)IPCPROF_KEND_RUNNING == (int)IPCPROF_END_RUNNING &&
		   (int)IPCPROF_KEND_EXIT == (int)IPCPROF_END_EXIT &&
		   (int)IPCPROF_KEND_EXEC == (int)IPCPROF_END_EXEC,
	       "the kernel's image ends are the records'");
/* The kernel record's layout (kernel.h's version), which tests/report/test_kernel_only.py writes. */
_Static_assert(sizeof(struct ipcprof_kernel_header) == 136 &&
		   sizeof(struct ipcprof_kernel_image) == 7520 &&
		   sizeof(struct ipcprof_kernel_thread) == 7248,
	       "kernel.h's records changed size: bump IPCPROF_KERNEL_VERSION, update the test");
_Static_assert((int)IPCPROF_KDIR_OUT == (int)IPCPROF_DIR_OUT &&
		   (int)IPCPROF_KDIR_IN == (int)IPCPROF_DIR_IN,
	       "the kernel's directions are the records'");

/* The preload's wall time inside calls on channel kinds (the kinds the kernel's figures cover). */
static uint64_t preload_call_ns(const struct ipcprof_image *g)
{
	uint64_t t = 0;
	for (uint32_t i = 0; i < g->nchan; i++) {
		uint32_t k = g->chan[i].kind;
		if (k < IPCPROF_KIND_PIPE || k > IPCPROF_KIND_UDP)
			continue;
		for (int d = 0; d < IPCPROF_KDIR_COUNT; d++)
			t += g->chan[i].dir[d].time_ns;
	}
	return t;
}

/* Sched mode: the kernel timed only the stretches off CPU inside the calls; the calls' own time
 * is the preload's, and what of it was not off CPU was on it. */
static void sched_figures(const struct ipcprof_kernel_stats *st, struct ipcprof_image *g)
{
	uint64_t off = 0;
	for (int k = IPCPROF_KFD_PIPE; k <= IPCPROF_KFD_UDP; k++)
		for (int d = 0; d < IPCPROF_KDIR_COUNT; d++)
			for (int f = 0; f < IPCPROF_KFAM_COUNT; f++)
				off += st->io[k][d][f].blocked_ns + st->io[k][d][f].runq_ns;
	uint64_t calls = preload_call_ns(g);
	g->kernel_sched = true;
	if (off > calls)
		off = calls;
	g->kernel_offcpu_ns += off;
	g->kernel_oncpu_ns += calls - off;
	const struct ipcprof_kernel_calls *fx = &st->wait[IPCPROF_KWAIT_FUTEX];
	const struct ipcprof_kernel_calls *po = &st->wait[IPCPROF_KWAIT_POLL];
	g->kernel_futex_ns += fx->blocked_ns + fx->runq_ns;
	g->kernel_poll_ns += po->blocked_ns + po->runq_ns;
	/* No fault program runs in this mode: the JSON says the faults were not counted. */
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
				g->kernel_kind_bytes[k - IPCPROF_KFD_PIPE][d] += c->bytes;
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

/* Entry i of the image table, copied: a newer writer's entries may leave it unaligned. */
static void image_at(const char *base, const struct ipcprof_kernel_header *h, uint32_t i,
		     struct ipcprof_kernel_image *k)
{
	memcpy(k, base + h->header_size + (size_t)i * h->image_size, sizeof(*k));
}

/* The image that runs the launcher's code between its fork and its exec of the program
 * (root_execd: the root has a seq 1): with the preload, no record stands for it, so without the
 * preload it is left out too. */
static bool launcher_image(const struct ipcprof_kernel_header *h,
			   const struct ipcprof_kernel_image *k, bool root_execd)
{
	return root_execd && k->pid == h->root_pid && k->seq == 0 &&
	       k->end_how == IPCPROF_KEND_EXEC;
}

/* One channel per fd kind that moved anything, with the kernel's figures per direction. The
 * kernel has no identity of the file behind an fd, so the channel pairs with nothing. */
static int kernel_channels(const struct ipcprof_kernel_image *k, uint64_t last_ns,
			   struct ipcprof_image *g)
{
	g->chan = calloc(IPCPROF_KFD_UDP + 1, sizeof(*g->chan));
	if (!g->chan)
		return -1;
	for (int kf = IPCPROF_KFD_PIPE; kf <= IPCPROF_KFD_UDP; kf++) {
		struct ipcprof_channel ch;
		memset(&ch, 0, sizeof(ch));
		for (int d = 0; d < IPCPROF_KDIR_COUNT; d++)
			for (int f = 0; f < IPCPROF_KFAM_COUNT; f++) {
				const struct ipcprof_kernel_calls *c = &k->total.io[kf][d][f];
				ch.dir[d].calls += c->calls;
				ch.dir[d].bytes += c->bytes;
				ch.dir[d].errors += c->errors;
				ch.dir[d].eagain += c->eagain;
				ch.dir[d].time_ns += c->time_ns;
			}
		static const struct ipcprof_dir_stats none;
		if (!memcmp(&ch.dir[IPCPROF_DIR_OUT], &none, sizeof(none)) &&
		    !memcmp(&ch.dir[IPCPROF_DIR_IN], &none, sizeof(none)))
			continue;
		/* enum ipcprof_kfd lists the channel kinds in the order of enum ipcprof_kind */
		ch.kind = (uint32_t)kf + IPCPROF_KIND_PIPE;
		if (kf <= IPCPROF_KFD_UNIX_SEQPACKET)
			ch.flags = IPCPROF_CH_LOCAL;
		ch.first_fd = -1;
		ch.first_ns = k->start_ns;
		ch.last_ns = last_ns;
		snprintf(ch.name, sizeof(ch.name), "(every fd of PID %d, probes alone)", k->pid);
		g->chan[g->nchan++] = ch;
	}
	return 0;
}

/* An attached root's argv: its command line as the attach found it, cut after the last whole
 * argument that fits. The executable's path stays when the file is missing or empty. */
static void attached_argv(const char *dir, struct ipcprof_process *p)
{
	size_t n = strlen(dir) + sizeof(IPCPROF_KERNEL_CMDLINE_FILE) + 2;
	char *path = malloc(n);
	if (!path)
		return;
	snprintf(path, n, "%s/%s", dir, IPCPROF_KERNEL_CMDLINE_FILE);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	free(path);
	if (fd < 0)
		return;
	char buf[sizeof(p->argv)];
	ssize_t got = read(fd, buf, sizeof(buf) - 1); /* out_json's argv keeps its last byte 0 */
	close(fd);
	if (got <= 0)
		return;
	size_t len = 0;
	uint32_t argc = 0;
	for (size_t i = 0; i < (size_t)got; i++)
		if (!buf[i]) {
			len = i + 1;
			argc++;
		}
	if (!argc)
		return;
	memcpy(p->argv, buf, len);
	p->argc = argc;
	p->argv_len = (uint32_t)len;
}

static int kernel_image(struct ipcprof_model *m, int session, const char *path,
			const struct ipcprof_kernel_header *h, const struct ipcprof_kernel_image *k,
			bool root)
{
	if (m->nimg == m->capimg) {
		int c = m->capimg ? 2 * m->capimg : 64;
		struct ipcprof_image *ni = realloc(m->img, (size_t)c * sizeof(*ni));
		if (!ni)
			return -1;
		m->img = ni;
		m->capimg = c;
	}
	struct ipcprof_image *g = &m->img[m->nimg];
	memset(g, 0, sizeof(*g));
	g->parent = -1;
	g->session = session;
	g->kernel_only = true;
	g->file = strdup(path);
	g->map = malloc(1);
	g->fp = malloc(1);
	g->stack = malloc(1);
	g->mod = malloc(1);
	g->intervals = malloc(1);
	/* Still running when the figures were collected: that is a lower bound of its end. */
	g->last_ns = k->end_how == IPCPROF_KEND_RUNNING ? h->end_ns : k->end_ns;
	int rc = g->file && g->map && g->fp && g->stack && g->mod && g->intervals
		     ? kernel_channels(k, g->last_ns, g)
		     : -1;
	if (rc < 0) {
		ipcprof_image_free(g);
		return -1;
	}
	m->nimg++;

	struct ipcprof_process *p = &g->proc;
	p->pid = k->pid;
	p->seq = k->seq;
	p->origin = root ? IPCPROF_ORIGIN_ROOT : k->seq ? IPCPROF_ORIGIN_EXEC : IPCPROF_ORIGIN_FORK;
	p->parent_pid = root ? 0 : k->seq ? k->pid : k->parent_pid;
	p->ppid = k->parent_pid;
	p->start_ns = k->start_ns;
	if (k->end_how == IPCPROF_KEND_EXEC) {
		p->end_how = IPCPROF_END_EXEC;
		p->end_ns = k->end_ns;
	} else if (k->end_how == IPCPROF_KEND_EXIT) {
		/* as wait() reports it: a signal number in the low 7 bits, else the status */
		if (k->exit_code & 0x7f) {
			p->end_how = IPCPROF_END_SIGNAL;
			p->term_signal = k->exit_code & 0x7f;
		} else {
			p->end_how = IPCPROF_END_EXIT;
			p->exit_status = (k->exit_code >> 8) & 0xff;
		}
		p->end_ns = k->end_ns;
	}
	p->nvcsw = k->total.sched.voluntary_switches;
	p->nivcsw = k->total.sched.involuntary_switches;
	memcpy(p->exe, k->exe, sizeof(k->exe) < sizeof(p->exe) ? sizeof(k->exe) : sizeof(p->exe));
	p->exe[sizeof(p->exe) - 1] = '\0';
	/* The kernel keeps no arguments: argv is the executable's path alone. */
	size_t n = strlen(p->exe);
	if (n) {
		memcpy(p->argv, p->exe, n + 1);
		p->argc = 1;
		p->argv_len = (uint32_t)n + 1;
	}
	if (root && (h->flags & IPCPROF_KFLAG_ATTACHED)) {
		attached_argv(m->session[session], p);
		if (!m->kernel_attached_pid) {
			m->kernel_attached_pid = k->pid;
			m->kernel_attached_ns = h->follow_ns;
		}
	}
	memcpy(g->comm, k->comm, sizeof(g->comm));
	g->comm[sizeof(g->comm) - 1] = '\0';
	g->kernel = true;
	g->kernel_run_ns = k->total.sched.run_ns;
	image_figures(&k->total, g);
	ipcprof_image_clamp_times(g);
	m->kernel = true;
	m->kernel_only++;
	return 0;
}

static int kernel_images(struct ipcprof_model *m, int session, const char *path, const char *base,
			 const struct ipcprof_kernel_header *h)
{
	struct ipcprof_kernel_image *k = malloc(sizeof(*k));
	if (!k)
		return -1;
	/* The root is the program's first image: the launcher's own one is left out. An attached
	 * root had none: its seq 0 is the program, whatever it execs later. */
	bool execd = false;
	for (uint32_t i = 0; i < h->images && !execd && !(h->flags & IPCPROF_KFLAG_ATTACHED); i++) {
		image_at(base, h, i, k);
		execd = k->pid == h->root_pid && k->seq == 1;
	}
	uint32_t root_seq = UINT32_MAX;
	for (uint32_t i = 0; i < h->images; i++) {
		image_at(base, h, i, k);
		if (k->pid == h->root_pid && !launcher_image(h, k, execd) && k->seq < root_seq)
			root_seq = k->seq;
	}
	int rc = 0;
	for (uint32_t i = 0; i < h->images && rc == 0; i++) {
		image_at(base, h, i, k);
		if (launcher_image(h, k, execd))
			continue;
		bool root = k->pid == h->root_pid && k->seq == root_seq;
		rc = kernel_image(m, session, path, h, k, root);
	}
	free(k);
	return rc;
}

int ipcprof_kernel_merge(struct ipcprof_model *m, int session)
{
	const char *dir = m->session[session];
	size_t n = strlen(dir) + sizeof(IPCPROF_KERNEL_FILE) + 2;
	char *path = malloc(n);
	if (!path)
		return -1;
	snprintf(path, n, "%s/%s", dir, IPCPROF_KERNEL_FILE);
	/* O_NONBLOCK: a FIFO of that name must not hold the report until a writer comes. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
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
	int records = 0;
	for (int i = 0; i < m->nimg; i++)
		records += m->img[i].session == session;
	if (!records) {
		/* No record (the preload did not run, or none could be read): the kernel's images
		 * stand alone. */
		rc = kernel_images(m, session, path, p, h);
		goto out;
	}
	for (int i = 0; i < m->nimg; i++) {
		struct ipcprof_image *g = &m->img[i];
		if (g->session != session)
			continue;
		const struct ipcprof_kernel_image *k = find_image(p, h, g);
		if (!k)
			continue;
		g->kernel = true;
		if (h->mode == IPCPROF_KMODE_SCHED)
			sched_figures(&k->total, g);
		else
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

int ipcprof_kernel_gaps(const struct ipcprof_image *g, struct ipcprof_kernel_gap *out)
{
	/* An image of the probes alone has the kernel's bytes as its channels, and in sched mode
	 * the kernel counted none: nothing to hold the preload's against. */
	if (!g->kernel || g->kernel_only || g->kernel_sched)
		return 0;
	uint64_t preload[IPCPROF_KERNEL_KINDS][2] = {{0}};
	for (uint32_t c = 0; c < g->nchan; c++) {
		const struct ipcprof_channel *ch = &g->chan[c];
		if (ch->kind < IPCPROF_KIND_PIPE || ch->kind > IPCPROF_KIND_UDP)
			continue;
		for (int d = 0; d < 2; d++)
			preload[ch->kind - IPCPROF_KIND_PIPE][d] += ch->dir[d].bytes;
	}
	int n = 0;
	for (int k = 0; k < IPCPROF_KERNEL_KINDS; k++)
		for (int d = 0; d < 2; d++)
			if (preload[k][d] != g->kernel_kind_bytes[k][d])
				out[n++] = (struct ipcprof_kernel_gap){
				    .kind = (uint32_t)(k + IPCPROF_KIND_PIPE),
				    .dir = d,
				    .kernel_bytes = g->kernel_kind_bytes[k][d],
				    .preload_bytes = preload[k][d],
				};
	return n;
}

/* The attached root's image: the root of the pid the probes attached to. */
static const struct ipcprof_image *attached_root(const struct ipcprof_model *m)
{
	for (int i = 0; i < m->nimg; i++)
		if (m->img[i].kernel_only && m->img[i].proc.pid == m->kernel_attached_pid &&
		    m->img[i].proc.origin == IPCPROF_ORIGIN_ROOT)
			return &m->img[i];
	return NULL;
}

int ipcprof_kernel_only_json(const struct ipcprof_model *m, json_t *j)
{
	if (!m->kernel_only)
		return 0;
	int rc = json_object_set_new(j, "source",
				     json_string(m->kernel_only == m->nimg ? "probes" : "mixed"));
	json_t *nm = json_object_get(json_object_get(j, "figures"), "not_measured");
	rc |= json_array_append_new(
	    nm,
	    json_string("processes whose source is 'probes' (no preload record: `ipcprof record "
			"--no-preload`) have the eBPF probes' figures alone: one unpaired channel "
			"per fd kind, so no matrix; no payload fingerprints, call sites, timeline "
			"or shared-memory objects; no arguments (argv is the executable's path); "
			"cpu_ns is the kernel's on-CPU time, and rusage holds only the context "
			"switches"));
	if (m->kernel_attached_pid) {
		const struct ipcprof_image *root = attached_root(m);
		rc |= json_object_set_new(
		    j, "attached",
		    json_pack("{s:i, s:i, s:I}", "pid", m->kernel_attached_pid, "process",
			      root ? (int)(root - m->img) : -1, "start_ns",
			      (json_int_t)m->kernel_attached_ns));
	}
	json_t *procs = json_object_get(j, "processes");
	for (int i = 0; i < m->nimg; i++) {
		const struct ipcprof_image *g = &m->img[i];
		json_t *p = json_array_get(procs, (size_t)i);
		if (!g->kernel_only || !p)
			continue;
		char *comm = ipcprof_utf8_dup(g->comm, sizeof(g->comm));
		rc |= json_object_set_new(p, "source", json_string("probes"));
		rc |= json_object_set_new(p, "comm", json_string(comm ? comm : ""));
		free(comm);
	}
	return rc ? -1 : 0;
}

void ipcprof_kernel_attached_finding(const struct ipcprof_model *m, struct ipcprof_finding *f)
{
	const struct ipcprof_image *g = attached_root(m);
	char *cmd = g ? ipcprof_argv_join(&g->proc) : NULL;
	char span[32];
	ipcprof_fmt_ns(m->run_wall_ns, span, sizeof(span));
	snprintf(f->title, sizeof(f->title),
		 "Attached to PID %d as it ran: the figures cover only the %s from the attach on",
		 m->kernel_attached_pid, span);
	snprintf(f->detail, sizeof(f->detail),
		 "`ipcprof record --pid %d` followed %.400s, its threads and descendants, and the "
		 "children they started, from the attach to the end of the recording. What they "
		 "did before the attach is not in any figure, nor are the calls in flight at the "
		 "attach; wall times start at the attach, and processes still running at the end "
		 "have no exit status.",
		 m->kernel_attached_pid, cmd && *cmd ? cmd : "the process");
	free(cmd);
}
