/* The timeline as Chrome trace-event JSON, which ui.perfetto.dev, chrome://tracing and speedscope
 * open: named processes and threads, IPC calls as complete events, flows from a send to the receive
 * that got its last byte, and bytes per channel as counters. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* A send this large or larger gets a flow arrow to its receive: smaller ones would bury them. */
#define FLOW_MIN_BYTES 65536

/* Trace pids must be unique: the hosts after the first get ranges of their own. */
static int *host_numbers(const struct ipcprof_model *m)
{
	int *host = malloc((size_t)(m->nimg ? m->nimg : 1) * sizeof(int));
	int nhost = 0;
	if (!host)
		return NULL;
	for (int i = 0; i < m->nimg; i++) {
		host[i] = -1;
		for (int j = 0; j < i && host[i] < 0; j++)
			if (!strcmp(m->img[j].proc.boot_id, m->img[i].proc.boot_id))
				host[i] = host[j];
		if (host[i] < 0)
			host[i] = nhost++;
	}
	return host;
}

/* An IPC call as written: its times clipped so that the events of one thread nest. */
struct piece {
	uint64_t start_ns, end_ns; /* the image's CLOCK_MONOTONIC */
	size_t k;                  /* index in the image's intervals */
};

struct trace {
	const struct ipcprof_model *m;
	FILE *f;
	long long *pid;        /* per image: its trace pid */
	struct piece **pieces; /* per image, sorted by thread and start */
	uint64_t flow_id;
	const char *sep; /* before the next event */
};

static void next_event(struct trace *t)
{
	fputs(t->sep, t->f);
	t->sep = ",\n";
}

/* Nanoseconds since the run's start, in the one clock every host's times are aligned to. */
static long long rel_ns(const struct trace *t, int image, uint64_t ns)
{
	return (long long)((int64_t)ns + t->m->img[image].clock_offset_ns - t->m->run_start_rt_ns);
}

/* Microseconds, as the format wants, written from integer nanoseconds: exact, so that an event
 * ends where its parent's end says and nesting survives the printing. */
static void put_us(FILE *f, const char *key, long long ns)
{
	unsigned long long a = ns < 0 ? 0ULL - (unsigned long long)ns : (unsigned long long)ns;
	fprintf(f, ",\"%s\":%s%llu.%03llu", key, ns < 0 ? "-" : "", a / 1000, a % 1000);
}

/* A JSON string of s, which may hold anything the profiled program chose. */
static void put_string(FILE *f, const char *s, size_t maxlen)
{
	char *u = ipcprof_utf8_dup(s, maxlen);
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)(u ? u : ""); *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c < 0x20)
			fprintf(f, "\\u%04x", *c);
		else
			fputc(*c, f);
	}
	fputc('"', f);
	free(u);
}

static const struct ipcprof_image *sort_image;
static int cmp_piece(const void *a, const void *b)
{
	const struct ipcprof_interval *x = &sort_image->intervals[((const struct piece *)a)->k];
	const struct ipcprof_interval *y = &sort_image->intervals[((const struct piece *)b)->k];
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return x->end_ns > y->end_ns ? -1 : x->end_ns < y->end_ns;
}

/* One thread makes one call at a time, yet merged intervals (short gaps joined) and clocks read
 * at the calls' edges can overlap a little; viewers draw a partial overlap as garbage or drop it.
 * A later call is clipped to start where the one before ended (the time is counted once, as in
 * the report), and the main thread's calls to the process's span, which its event covers. */
static struct piece *clip_pieces(const struct ipcprof_image *g)
{
	struct piece *p = malloc((g->nint ? g->nint : 1) * sizeof(*p));
	if (!p)
		return NULL;
	for (size_t k = 0; k < g->nint; k++)
		p[k] = (struct piece){g->intervals[k].start_ns, g->intervals[k].end_ns, k};
	sort_image = g;
	qsort(p, g->nint, sizeof(*p), cmp_piece);
	uint64_t pstart = g->proc.start_ns, pend = g->proc.start_ns + g->wall_ns;
	for (size_t i = 0; i < g->nint; i++) {
		uint32_t tid = g->intervals[p[i].k].tid;
		if (p[i].end_ns < p[i].start_ns)
			p[i].end_ns = p[i].start_ns;
		if (i && g->intervals[p[i - 1].k].tid == tid && p[i].start_ns < p[i - 1].end_ns)
			p[i].start_ns = p[i - 1].end_ns;
		if (tid == (uint32_t)g->proc.pid) {
			p[i].start_ns = p[i].start_ns < pstart ? pstart
					: p[i].start_ns > pend ? pend
							       : p[i].start_ns;
			p[i].end_ns = p[i].end_ns > pend ? pend : p[i].end_ns;
		}
		if (p[i].end_ns < p[i].start_ns)
			p[i].end_ns = p[i].start_ns;
	}
	return p;
}

static void put_meta(struct trace *t, const char *what, long long pid, long long tid,
		     const char *name, long long sort)
{
	next_event(t);
	fprintf(t->f,
		"{\"ph\":\"M\",\"name\":\"%s_name\",\"pid\":%lld,\"tid\":%lld,\"ts\":0,"
		"\"args\":{\"name\":",
		what, pid, tid);
	put_string(t->f, name, strlen(name) + 1);
	fprintf(t->f,
		"}},\n{\"ph\":\"M\",\"name\":\"%s_sort_index\",\"pid\":%lld,\"tid\":%lld,\"ts\":0,"
		"\"args\":{\"sort_index\":%lld}}",
		what, pid, tid, sort);
}

static const char *chan_label(const struct ipcprof_model *m, const struct ipcprof_image *g,
			      uint32_t chan)
{
	int link = g->chan_link[chan];
	return link >= 0 ? m->link[link].label : ipcprof_kind_name(g->chan[chan].kind);
}

/* The process, its threads' names, its calls and a byte counter per channel. */
static int put_image(struct trace *t, int i)
{
	const struct ipcprof_model *m = t->m;
	const struct ipcprof_image *g = &m->img[i];
	long long pid = t->pid[i];
	char name[200];
	snprintf(name, sizeof(name), "%s %d: %s", g->role, g->proc.pid,
		 ipcprof_process_name(&g->proc));
	put_meta(t, "process", pid, pid, name, i);
	put_meta(t, "thread", pid, pid, "main thread", 0);
	next_event(t);
	fprintf(t->f, "{\"ph\":\"X\",\"cat\":\"process\",\"name\":");
	put_string(t->f, g->role, sizeof(g->role));
	put_us(t->f, "ts", rel_ns(t, i, g->proc.start_ns));
	put_us(t->f, "dur", (long long)g->wall_ns);
	fprintf(t->f, ",\"pid\":%lld,\"tid\":%lld,\"args\":{\"end_is_lower_bound\":%s}}", pid, pid,
		g->wall_lower_bound ? "true" : "false");
	uint64_t *cum = calloc(2 * (size_t)(g->nchan ? g->nchan : 1), sizeof(*cum));
	if (!cum)
		return -1;
	const struct piece *p = t->pieces[i];
	for (size_t n = 0; n < g->nint; n++) {
		const struct ipcprof_interval *v = &g->intervals[p[n].k];
		if (v->tid != (uint32_t)g->proc.pid &&
		    (n == 0 || g->intervals[p[n - 1].k].tid != v->tid)) {
			char tname[32];
			snprintf(tname, sizeof(tname), "thread %" PRIu32, v->tid);
			put_meta(t, "thread", pid, v->tid, tname, v->tid);
		}
		char what[200];
		snprintf(what, sizeof(what), "%s %s", v->dir == IPCPROF_DIR_OUT ? "send" : "recv",
			 chan_label(m, g, v->channel));
		next_event(t);
		fprintf(t->f, "{\"ph\":\"X\",\"cat\":\"ipc\",\"name\":");
		put_string(t->f, what, sizeof(what));
		put_us(t->f, "ts", rel_ns(t, i, p[n].start_ns));
		put_us(t->f, "dur", (long long)(p[n].end_ns - p[n].start_ns));
		fprintf(t->f,
			",\"pid\":%lld,\"tid\":%" PRIu32 ",\"args\":{\"bytes\":%" PRIu64
			",\"calls\":%" PRIu32 ",\"channel\":%d}}",
			pid, v->tid, v->bytes, v->calls, g->chan_link[v->channel]);
	}
	/* Counters in time order on each channel, so that each series only grows. */
	struct piece *by_end = malloc((g->nint ? g->nint : 1) * sizeof(*by_end));
	if (!by_end) {
		free(cum);
		return -1;
	}
	memcpy(by_end, p, g->nint * sizeof(*p));
	for (size_t a = 1; a < g->nint; a++) { /* insertion sort by end: nearly sorted already */
		struct piece x = by_end[a];
		size_t b = a;
		for (; b > 0 && by_end[b - 1].end_ns > x.end_ns; b--)
			by_end[b] = by_end[b - 1];
		by_end[b] = x;
	}
	for (size_t n = 0; n < g->nint; n++) {
		const struct ipcprof_interval *v = &g->intervals[by_end[n].k];
		cum[2 * v->channel + (v->dir == IPCPROF_DIR_OUT)] += v->bytes;
		char cname[200];
		snprintf(cname, sizeof(cname), "bytes %s", chan_label(m, g, v->channel));
		next_event(t);
		fprintf(t->f, "{\"ph\":\"C\",\"cat\":\"bytes\",\"name\":");
		put_string(t->f, cname, sizeof(cname));
		put_us(t->f, "ts", rel_ns(t, i, by_end[n].end_ns));
		fprintf(t->f,
			",\"pid\":%lld,\"tid\":%lld,\"id\":\"%" PRIu32
			"\",\"args\":{\"sent\":%" PRIu64 ",\"received\":%" PRIu64 "}}",
			pid, pid, v->channel, cum[2 * v->channel + 1], cum[2 * v->channel]);
	}
	free(by_end);
	free(cum);
	return 0;
}

/* One end's calls in one direction, with the image each came from. */
struct call {
	int image;
	const struct piece *p;
};

static int cmp_call_end(const void *a, const void *b)
{
	const struct call *x = a, *y = b;
	return x->p->end_ns < y->p->end_ns ? -1 : x->p->end_ns > y->p->end_ns;
}

/* Every call of the link's endpoints that match, in the order of their ends (bytes arrive when a
 * receive returns). n is set; NULL on allocation failure. */
static struct call *link_calls(const struct trace *t, const struct ipcprof_link *l,
			       const bool *take, uint8_t dir, size_t *n)
{
	size_t cap = 1;
	*n = 0;
	for (int e = 0; e < l->nend; e++)
		if (take[e])
			cap += t->m->img[l->end[e].image].nint;
	struct call *c = malloc(cap * sizeof(*c));
	if (!c)
		return NULL;
	for (int e = 0; e < l->nend; e++) {
		if (!take[e])
			continue;
		const struct ipcprof_image *g = &t->m->img[l->end[e].image];
		for (size_t k = 0; k < g->nint; k++) {
			const struct ipcprof_interval *v =
			    &g->intervals[t->pieces[l->end[e].image][k].k];
			if (v->channel == (uint32_t)l->end[e].chan && v->dir == dir)
				c[(*n)++] =
				    (struct call){l->end[e].image, &t->pieces[l->end[e].image][k]};
		}
	}
	qsort(c, *n, sizeof(*c), cmp_call_end);
	return c;
}

static bool has_calls(const struct trace *t, const struct ipcprof_endpoint *e, uint8_t dir)
{
	const struct ipcprof_image *g = &t->m->img[e->image];
	for (size_t k = 0; k < g->nint; k++)
		if (g->intervals[k].channel == (uint32_t)e->chan && g->intervals[k].dir == dir)
			return true;
	return false;
}

/* Flows from the sends of endpoint s to the receives that got their last byte. The bytes of a
 * stream arrive in order, so the receive holding byte N of the receivers' calls (in the order
 * they returned) got byte N of the sender's: known only when s is the one writer its receivers
 * read from. */
static int put_flows(struct trace *t, const struct ipcprof_link *l, int s)
{
	bool sides = false;
	for (int e = 1; e < l->nend; e++)
		sides = sides || l->end[e].side != l->end[0].side;
	bool *recv = calloc((size_t)l->nend, sizeof(*recv)), *send = calloc((size_t)l->nend, 1);
	if (!recv || !send) {
		free(recv);
		free(send);
		return -1;
	}
	bool one_writer = true;
	for (int e = 0; e < l->nend; e++) {
		const struct ipcprof_endpoint *ep = &l->end[e];
		bool peer = ep->image != l->end[s].image && !(sides && ep->side == l->end[s].side);
		recv[e] = peer && has_calls(t, ep, IPCPROF_DIR_IN);
		if (e != s && !peer && ep->image != l->end[s].image &&
		    has_calls(t, ep, IPCPROF_DIR_OUT))
			one_writer = false;
		if (e != s && !sides && has_calls(t, ep, IPCPROF_DIR_OUT))
			one_writer = false;
	}
	send[s] = true;
	size_t ns = 0, nr = 0;
	struct call *sc = one_writer ? link_calls(t, l, send, IPCPROF_DIR_OUT, &ns) : NULL;
	struct call *rc = sc ? link_calls(t, l, recv, IPCPROF_DIR_IN, &nr) : NULL;
	int ret = one_writer && (!sc || !rc) ? -1 : 0;
	uint64_t sent = 0, got = 0;
	size_t r = 0;
	for (size_t i = 0; rc && i < ns; i++) {
		const struct ipcprof_interval *v = &t->m->img[sc[i].image].intervals[sc[i].p->k];
		sent += v->bytes;
		if (v->bytes < FLOW_MIN_BYTES)
			continue;
		while (r < nr) {
			const struct ipcprof_interval *w =
			    &t->m->img[rc[r].image].intervals[rc[r].p->k];
			if (got + w->bytes >= sent)
				break;
			got += w->bytes;
			r++;
		}
		if (r == nr)
			break;
		const struct ipcprof_interval *w = &t->m->img[rc[r].image].intervals[rc[r].p->k];
		/* The finish binds to the receive that encloses its time: the send's start when the
		 * receive was already waiting, else the receive's own start. */
		long long st = rel_ns(t, sc[i].image, sc[i].p->start_ns);
		long long rs = rel_ns(t, rc[r].image, rc[r].p->start_ns);
		long long re = rel_ns(t, rc[r].image, rc[r].p->end_ns);
		long long ft = st < rs ? rs : st > re ? re : st;
		t->flow_id++;
		next_event(t);
		fprintf(t->f, "{\"ph\":\"s\",\"cat\":\"flow\",\"name\":\"bytes\",\"id\":%" PRIu64,
			t->flow_id);
		put_us(t->f, "ts", st);
		fprintf(t->f, ",\"pid\":%lld,\"tid\":%" PRIu32 "}", t->pid[sc[i].image], v->tid);
		next_event(t);
		fprintf(t->f,
			"{\"ph\":\"f\",\"bp\":\"e\",\"cat\":\"flow\",\"name\":\"bytes\",\"id\":"
			"%" PRIu64,
			t->flow_id);
		put_us(t->f, "ts", ft);
		fprintf(t->f, ",\"pid\":%lld,\"tid\":%" PRIu32 "}", t->pid[rc[r].image], w->tid);
	}
	free(sc);
	free(rc);
	free(recv);
	free(send);
	return ret;
}

/* Streamed, not built in memory: a run can have millions of intervals. */
int ipcprof_write_trace(const struct ipcprof_model *m, FILE *f)
{
	struct trace t = {m, f, NULL, NULL, 0, ""};
	int *host = host_numbers(m);
	t.pid = malloc((size_t)(m->nimg ? m->nimg : 1) * sizeof(*t.pid));
	t.pieces = calloc((size_t)(m->nimg ? m->nimg : 1), sizeof(*t.pieces));
	int rc = host && t.pid && t.pieces ? 0 : -1;
	for (int i = 0; rc == 0 && i < m->nimg; i++) {
		t.pid[i] = (long long)m->img[i].proc.pid + (long long)host[i] * 10000000;
		if (!(t.pieces[i] = clip_pieces(&m->img[i])))
			rc = -1;
	}
	fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n", f);
	for (int i = 0; rc == 0 && i < m->nimg; i++)
		rc = put_image(&t, i);
	for (int l = 0; rc == 0 && l < m->nlink; l++)
		for (int e = 0; rc == 0 && e < m->link[l].nend; e++)
			if (m->link[l].paired && has_calls(&t, &m->link[l].end[e], IPCPROF_DIR_OUT))
				rc = put_flows(&t, &m->link[l], e);
	fputs("\n]}\n", f);
	for (int i = 0; t.pieces && i < m->nimg; i++)
		free(t.pieces[i]);
	free(t.pieces);
	free(t.pid);
	free(host);
	return rc || ferror(f) ? -1 : 0;
}
