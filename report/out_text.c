/* The terminal summary: who moved how much, through what, and what share of its time that cost. */
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define PROCESSES_SHOWN 20
#define CHANNELS_SHOWN  10
#define FINDINGS_SHOWN  5

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static const struct ipcprof_model *sort_model;

static int cmp_img_move(const void *a, const void *b)
{
	const struct ipcprof_attr *x = &sort_model->img[*(const int *)a].attr;
	const struct ipcprof_attr *y = &sort_model->img[*(const int *)b].attr;
	uint64_t mx = x->ipc_ns, my = y->ipc_ns;
	if (mx != my)
		return mx > my ? -1 : 1;
	return *(const int *)a - *(const int *)b;
}

static int cmp_link_bytes(const void *a, const void *b)
{
	const struct ipcprof_link *x = &sort_model->link[*(const int *)a];
	const struct ipcprof_link *y = &sort_model->link[*(const int *)b];
	uint64_t bx = x->bytes_out > x->bytes_in ? x->bytes_out : x->bytes_in;
	uint64_t by = y->bytes_out > y->bytes_in ? y->bytes_out : y->bytes_in;
	if (bx != by)
		return bx > by ? -1 : 1;
	return *(const int *)a - *(const int *)b;
}

/* Under a sampled process: where its CPU samples went, by category. */
static void cpu_line(const struct ipcprof_image *g, FILE *f)
{
	static const char *const label[IPCPROF_NCAT] = {"pickle", "unpickle", "copy", "ipc",
							"compute"};
	uint64_t total = 0;
	for (int c = 0; c < IPCPROF_NCAT; c++)
		total += g->cat_weight[c];
	fprintf(f, "  %7s %-18s CPU samples:", "", "");
	for (int c = 0; c < IPCPROF_NCAT; c++) {
		char t[32];
		ipcprof_fmt_ns(ipcprof_cat_ns(g, c), t, sizeof(t));
		fprintf(f, " %s %s (%.0f%%)", label[c], t, pct(g->cat_weight[c], total));
		if (c <= IPCPROF_CAT_COPY && g->cat_wait[c] >= 1000000) {
			ipcprof_fmt_ns(g->cat_wait[c], t, sizeof(t));
			fprintf(f, " +%s queued", t);
		}
		fputs(c + 1 < IPCPROF_NCAT ? "," : "\n", f);
	}
}

/* What the profiler itself cost, and a warning when that can move the shares. */
static void overhead_lines(const struct ipcprof_model *m, FILE *f)
{
	struct ipcprof_overhead o;
	ipcprof_overhead_run(m, &o);
	char t1[32], t2[32];
	ipcprof_fmt_ns(o.total_ns, t1, sizeof(t1));
	ipcprof_fmt_ns(o.cpu_ns, t2, sizeof(t2));
	fprintf(f,
		"  profiler's own time, estimated: %s (%.1f%% of %s CPU): %llu calls intercepted, "
		"%llu CPU samples, %llu probe events\n",
		t1, 100.0 * o.share, t2, (unsigned long long)o.calls, (unsigned long long)o.samples,
		(unsigned long long)o.probe_events);
	if (!o.warn)
		return;
	fprintf(f, "  warning: the profiler's own time reaches %.0f%% of the CPU time of",
		100.0 * IPCPROF_OVERHEAD_WARN_SHARE);
	int shown = 0;
	for (int i = 0; i < m->nimg; i++) {
		struct ipcprof_overhead p;
		ipcprof_overhead_of(&m->img[i], &p);
		if (!p.warn)
			continue;
		if (shown++ < 5)
			fprintf(f, "%s PID %d (%.0f%%)", shown > 1 ? "," : "", m->img[i].proc.pid,
				100.0 * p.share);
	}
	if (shown > 5)
		fprintf(f, " and %d more", shown - 5);
	if (!shown)
		fprintf(f, " the run (%.0f%%)", 100.0 * o.share);
	fprintf(f, ": their shares may be off by about that much\n");
}

/* A run on several hosts: each host's processes and bytes, then the bytes between hosts. */
static void host_lines(const struct ipcprof_model *m, FILE *f)
{
	struct ipcprof_hosts h;
	if (ipcprof_hosts_build(m, &h) < 0) {
		ipcprof_say("no hosts table: out of memory");
		return;
	}
	char name[64], to[64], b1[32], b2[32];
	if (h.n > 1) {
		fprintf(f, "\n  %-24s %9s %10s %10s\n", "HOST", "PROCESSES", "SENT", "RECEIVED");
		for (int k = 0; k < h.n; k++) {
			int n = 0;
			uint64_t out = 0, in = 0;
			for (int i = 0; i < m->nimg; i++)
				if (h.of[i] == k) {
					n++;
					out += m->img[i].bytes_out;
					in += m->img[i].bytes_in;
				}
			ipcprof_term_str(ipcprof_host_name(m, &h, k), name, sizeof(name));
			ipcprof_fmt_bytes(out, b1, sizeof(b1));
			ipcprof_fmt_bytes(in, b2, sizeof(b2));
			fprintf(f, "  %-24.24s %9d %10s %10s\n", name, n, b1, b2);
		}
		for (size_t c = 0; c < h.ncell; c++) {
			if (h.cell[c].from == h.cell[c].to)
				continue;
			ipcprof_term_str(ipcprof_host_name(m, &h, h.cell[c].from), name, sizeof(name));
			ipcprof_term_str(ipcprof_host_name(m, &h, h.cell[c].to), to, sizeof(to));
			ipcprof_fmt_bytes(h.cell[c].bytes, b1, sizeof(b1));
			fprintf(f, "  %-24.24s -> %-24.24s %9s%s\n", name, to, b1,
				h.cell[c].estimated ? " (estimated)" : "");
		}
	}
	ipcprof_hosts_free(&h);
}

/* fds passed from process to process with SCM_RIGHTS (a DataLoader's batches, a resource
 * sharer's): the count the receiving ends saw, and how many processes sent and received them. */
static void fds_line(const struct ipcprof_model *m, FILE *f)
{
	unsigned long long received = 0;
	int senders = 0, receivers = 0;

	for (int i = 0; i < m->nimg; i++) {
		const struct ipcprof_image *g = &m->img[i];
		bool sent = false, got = false;
		for (uint32_t c = 0; c < g->nchan; c++) {
			sent |= (g->chan[c].flags & IPCPROF_CH_FDS_SENT) != 0;
			if (g->chan[c].flags & IPCPROF_CH_FDS_RECEIVED) {
				got = true;
				received += g->chan[c].fds_passed;
			}
		}
		senders += sent;
		receivers += got;
	}
	if (senders || receivers)
		fprintf(f,
			"  file descriptors passed (SCM_RIGHTS): %llu received, sent by %d "
			"process%s to %d\n",
			received, senders, senders == 1 ? "" : "es", receivers);
}

void ipcprof_write_summary(const struct ipcprof_model *m, FILE *f)
{
	char b1[32], b2[32], t1[32], t2[32], s[200];
	const struct ipcprof_attr *w = m->nworkers ? &m->workers : &m->total;
	uint64_t move = ipcprof_attr_moving(w);
	fprintf(f, "ipcprof: %s\n", m->verdict);
	ipcprof_fmt_ns(m->run_wall_ns, t1, sizeof(t1));
	ipcprof_fmt_bytes(m->shm_bytes, b2, sizeof(b2));
	int paired = 0;
	for (int l = 0; l < m->nlink; l++)
		paired += ipcprof_link_joins(m, &m->link[l]);
	fprintf(f,
		"  run %s, %d process%s, %d channel%s (%d between profiled processes), %s in "
		"%d shared-memory object%s\n",
		t1, m->nimg, m->nimg == 1 ? "" : "es", m->nlink, m->nlink == 1 ? "" : "s", paired,
		b2, m->nshm, m->nshm == 1 ? "" : "s");
	if (move)
		fprintf(f, "  compute-to-transfer ratio %.2f (%s)\n",
			(double)w->compute_ns / (double)move,
			m->nworkers ? "workers" : "all processes");
	if (!m->nimg)
		return;
	struct ipcprof_serial ser;
	ipcprof_serial_estimate(m, &ser);
	fprintf(f, "  %s%s\n", ser.sentence,
		ser.sampled ? ""
			    : " (without CPU samples in every process: pickling and copies "
			      "count as computing there)");
	overhead_lines(m, f);

	int *order = malloc((size_t)(m->nimg > m->nlink ? m->nimg : m->nlink + 1) * sizeof(int));
	if (!order)
		return;
	sort_model = m;
	for (int i = 0; i < m->nimg; i++)
		order[i] = i;
	qsort(order, (size_t)m->nimg, sizeof(int), cmp_img_move);
	fprintf(f, "\n  %7s %-18s %10s %9s %6s %6s %6s %6s %6s %9s %9s  %s\n", "PID", "ROLE",
		"WALL", "CPU", "COMP%", "XFER%", "WAIT%", "IDLE%", "MOVE%", "SENT", "RECEIVED",
		"COMMAND");
	for (int k = 0; k < m->nimg && k < PROCESSES_SHOWN; k++) {
		const struct ipcprof_image *g = &m->img[order[k]];
		const struct ipcprof_attr *a = &g->attr;
		char wall[40], cmdline[64];
		ipcprof_fmt_ns(g->wall_ns, t1, sizeof(t1));
		snprintf(wall, sizeof(wall), "%s%s", g->wall_lower_bound ? ">=" : "", t1);
		ipcprof_fmt_ns(a->cpu_ns, t2, sizeof(t2));
		ipcprof_fmt_bytes(g->bytes_out, b1, sizeof(b1));
		ipcprof_fmt_bytes(g->bytes_in, b2, sizeof(b2));
		char *cmd = ipcprof_argv_join(&g->proc);
		ipcprof_term_str(cmd ? cmd : "", cmdline, sizeof(cmdline));
		free(cmd);
		ipcprof_term_str(g->role, s, sizeof(s));
		fprintf(f, "  %7d %-18.18s %10s %9s %6.1f %6.1f %6.1f %6.1f %6.1f %9s %9s  %s\n",
			g->proc.pid, s, wall, t2, pct(a->compute_ns, a->basis_ns),
			pct(a->ipc_transfer_ns, a->basis_ns), pct(a->ipc_wait_ns, a->basis_ns),
			pct(a->ipc_idle_ns, a->basis_ns), pct(ipcprof_attr_moving(a), a->basis_ns),
			b1, b2, cmdline);
		if (g->nsample)
			cpu_line(g, f);
	}
	if (m->nimg > PROCESSES_SHOWN)
		fprintf(f, "  ... and %d more processes (see the HTML report)\n",
			m->nimg - PROCESSES_SHOWN);
	host_lines(m, f);

	if (m->nlink) {
		fprintf(f, "\n  %-14s %8s %10s %10s %10s\n", "KIND", "CHANNELS", "SENT", "RECEIVED",
			"CALLS");
		for (uint32_t k = 1; k < IPCPROF_KIND_COUNT; k++) {
			if (!m->kind_links[k])
				continue;
			ipcprof_fmt_bytes(m->kind_out[k], b1, sizeof(b1));
			ipcprof_fmt_bytes(m->kind_in[k], b2, sizeof(b2));
			fprintf(f, "  %-14s %8d %10s %10s %10llu\n", ipcprof_kind_name(k),
				m->kind_links[k], b1, b2, (unsigned long long)m->kind_calls[k]);
		}
		fds_line(m, f);
		for (int l = 0; l < m->nlink; l++)
			order[l] = l;
		qsort(order, (size_t)m->nlink, sizeof(int), cmp_link_bytes);
		fprintf(f, "\n  %-44s %10s %9s %10s  %s\n", "CHANNEL", "BYTES", "CALLS", "TIME",
			"PROCESSES (writers > readers)");
		for (int k = 0; k < m->nlink && k < CHANNELS_SHOWN; k++) {
			const struct ipcprof_link *l = &m->link[order[k]];
			char ends[128] = "", lab[200];
			size_t el = 0;
			for (int d = IPCPROF_DIR_OUT; d <= IPCPROF_DIR_IN; d++) {
				if (d == IPCPROF_DIR_IN && el < sizeof(ends) - 3)
					el += (size_t)snprintf(ends + el, sizeof(ends) - el, " >");
				for (int e = 0; e < l->nend && el < sizeof(ends) - 16; e++) {
					const struct ipcprof_endpoint *ep = &l->end[e];
					const struct ipcprof_channel *ch =
					    &m->img[ep->image].chan[ep->chan];
					/* A semaphore moves no bytes: its posters > its waiters. */
					if (l->kind == IPCPROF_KIND_SEM ? !ch->dir[d].calls
									: !ch->dir[d].bytes)
						continue;
					el += (size_t)snprintf(ends + el, sizeof(ends) - el, " %d",
							       m->img[ep->image].proc.pid);
				}
			}
			ipcprof_fmt_bytes(l->bytes_out > l->bytes_in ? l->bytes_out : l->bytes_in,
					  b1, sizeof(b1));
			ipcprof_fmt_ns(l->time_ns, t1, sizeof(t1));
			ipcprof_term_str(l->label, lab, 45);
			fprintf(f, "  %-44s %10s %9llu %10s %s%s\n", lab, b1,
				(unsigned long long)l->calls, t1, ends,
				ipcprof_link_joins(m, l) ? "" : " (unpaired)");
		}
		if (m->nlink > CHANNELS_SHOWN)
			fprintf(f, "  ... and %d more channels\n", m->nlink - CHANNELS_SHOWN);
	}
	free(order);

	if (m->nfind) {
		fprintf(f, "\n  Findings:\n");
		for (int k = 0; k < m->nfind && k < FINDINGS_SHOWN; k++) {
			char title[300];
			ipcprof_term_str(m->find[k].title, title, sizeof(title));
			fprintf(f, "  - %s\n", title);
		}
	}
	int lower = 0;
	for (int i = 0; i < m->nimg; i++)
		lower += m->img[i].wall_lower_bound;
	fprintf(f,
		"\n  COMP = CPU outside IPC calls; XFER = on-CPU inside IPC calls (%s); WAIT = "
		"blocked in IPC calls;\n  MOVE = XFER + WAIT + the CPU samples' pickle, unpickle "
		"and copy time (taken out of COMP) and their time queued for a CPU.\n",
		m->total.split_kernel        ? "kernel figures"
		: m->total.split_cpu_samples ? "CPU samples inside the calls"
					     : "estimated from sampled calls");
	if (m->total.wait_split)
		fprintf(f,
			"  IDLE = blocked in IPC calls while the other end computed (its timed CPU "
			"samples say so): waiting for work, not for data; WAIT is the rest.\n");
	if (lower)
		fprintf(f, "  >= : no end was seen (killed?), wall time is a lower bound.\n");
}
