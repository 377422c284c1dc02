/* Merging records into one run: lineage, channel pairing, time attribution, findings. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define TIMELINE_ROW_MAX   2000   /* intervals per thread row shown */
#define TIMELINE_TOTAL_MAX 200000 /* intervals in all rows shown */

void ipcprof_model_init(struct ipcprof_model *m)
{
	memset(m, 0, sizeof(*m));
}

void ipcprof_image_free(struct ipcprof_image *g)
{
	free(g->file);
	free(g->chan);
	free(g->map);
	free(g->fp);
	free(g->stack);
	free(g->mod);
	free(g->intervals);
	free(g->chan_link);
	free(g->chan_side);
	free(g->sample);
	free(g->sample_buf);
	free(g->pycode);
	free(g->tick);
}

void ipcprof_model_free(struct ipcprof_model *m)
{
	for (int i = 0; i < m->nimg; i++)
		ipcprof_image_free(&m->img[i]);
	free(m->img);
	for (int i = 0; i < m->ndamage; i++) {
		free(m->damage[i].file);
		free(m->damage[i].error);
	}
	free(m->damage);
	for (int i = 0; i < m->nlink; i++)
		free(m->link[i].end);
	free(m->link);
	free(m->cell);
	for (int i = 0; i < m->nshm; i++) {
		free(m->shm[i].img);
		free(m->shm[i].writer);
	}
	free(m->shm);
	for (int i = 0; i < m->nsite; i++) {
		for (int k = 0; k < m->site[i].depth; k++) {
			free(m->site[i].frame[k].symbol);
			free(m->site[i].frame[k].srcfile);
		}
		free(m->site[i].key);
	}
	free(m->site);
	for (int i = 0; i < m->npframe; i++) {
		free(m->pframe[i].symbol);
		free(m->pframe[i].srcfile);
	}
	free(m->pframe);
	for (size_t i = 0; i < m->npstack; i++)
		free(m->pstack[i].frame);
	free(m->pstack);
	ipcprof_rules_free(&m->own_rules);
	ipcprof_symtab_free(m->symtab);
	free(m->find);
	for (size_t i = 0; i < m->nrow; i++)
		free(m->row[i].iv);
	free(m->row);
	memset(m, 0, sizeof(*m));
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++) {
		h ^= c[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

#define FNV0 0xcbf29ce484222325ull

static uint64_t boot_key(const struct ipcprof_image *g)
{
	return g->boot;
}

/* Hosts are told apart by boot id: pids and monotonic clocks are per boot. */
static uint64_t compute_boot_key(const struct ipcprof_image *g)
{
	if (g->proc.boot_id[0])
		return fnv(FNV0, g->proc.boot_id, strlen(g->proc.boot_id));
	uint64_t h = fnv(FNV0, g->proc.hostname, strlen(g->proc.hostname));
	return fnv(h, &g->session, sizeof(g->session));
}

/* Attribution. */

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* A figure computed in double back to an integer: damaged files can give sums beyond 2^64. */
static uint64_t to_u64(double x)
{
	if (!(x > 0))
		return 0;
	return x >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)x;
}

uint64_t ipcprof_ns_of_weight(const struct ipcprof_image *g, uint64_t weight)
{
	uint64_t p = g->prof.period_ns;
	return p && weight > UINT64_MAX / p ? UINT64_MAX : weight * p;
}

uint64_t ipcprof_cat_ns(const struct ipcprof_image *g, int cat)
{
	return ipcprof_ns_of_weight(g, g->cat_weight[cat]);
}

/* The CPU samples' serialize, deserialize and copy time, carved out of compute_ns: never more
 * than it in all (the samples estimate CPU time that rusage measured), scaled down when so. */
static void sampled_split(const struct ipcprof_image *img, struct ipcprof_attr *a)
{
	if (!img->nsample)
		return;
	a->cpu_sampled = true;
	uint64_t ser = ipcprof_cat_ns(img, IPCPROF_CAT_SERIALIZE);
	uint64_t des = ipcprof_cat_ns(img, IPCPROF_CAT_DESERIALIZE);
	uint64_t cpy = ipcprof_cat_ns(img, IPCPROF_CAT_COPY);
	double sum = (double)ser + (double)des + (double)cpy;
	if (sum > (double)a->compute_ns) {
		double f = (double)a->compute_ns / sum;
		ser = min_u64(to_u64((double)ser * f), a->compute_ns);
		des = min_u64(to_u64((double)des * f), a->compute_ns - ser);
		cpy = a->compute_ns - ser - des;
	}
	a->serialize_ns = ser;
	a->deserialize_ns = des;
	a->copy_ns = cpy;
	a->compute_ns -= ser + des + cpy;
}

/* Waiting for a CPU while pickling or computing is part of what that cost by the clock (a
 * program timing its own phases sees it so): it moves from other_ns (off-CPU outside IPC calls) to
 * the category, never more than other_ns in all. */
static void sampled_waits(const struct ipcprof_image *img, struct ipcprof_attr *a)
{
	if (!a->cpu_sampled)
		return;
	uint64_t *to[4] = {&a->serialize_wait_ns, &a->deserialize_wait_ns, &a->copy_wait_ns,
			   &a->compute_wait_ns};
	uint64_t *cat[4] = {&a->serialize_ns, &a->deserialize_ns, &a->copy_ns, &a->compute_ns};
	static const int which[4] = {IPCPROF_CAT_SERIALIZE, IPCPROF_CAT_DESERIALIZE,
				     IPCPROF_CAT_COPY, IPCPROF_CAT_COMPUTE};
	for (int k = 0; k < 4; k++) {
		uint64_t w = min_u64(img->cat_wait[which[k]], a->other_ns);
		*to[k] = w;
		*cat[k] += w;
		a->other_ns -= w;
	}
}

uint64_t ipcprof_attr_moving(const struct ipcprof_attr *a)
{
	return a->ipc_transfer_ns + a->ipc_wait_ns + a->serialize_ns + a->deserialize_ns +
	       a->copy_ns;
}

void ipcprof_attribute(const struct ipcprof_image *img, struct ipcprof_attr *a)
{
	memset(a, 0, sizeof(*a));
	/* Without a record, the scheduler's on-CPU time stands for rusage's user + sys. */
	a->cpu_ns = img->kernel_only ? img->kernel_run_ns : img->proc.user_ns + img->proc.sys_ns;
	a->sampler_on = img->nsample || img->prof.state == IPCPROF_PROF_ON;
	uint64_t swall = 0, scpu = 0, unsampled = 0, sem_ns = 0;
	double transfer = 0, sem_transfer = 0;
	for (uint32_t c = 0; c < img->nchan; c++) {
		for (int d = 0; d < IPCPROF_NDIR; d++) {
			const struct ipcprof_dir_stats *s = &img->chan[c].dir[d];
			a->ipc_ns += s->time_ns;
			if (img->chan[c].kind == IPCPROF_KIND_SEM) {
				/* No system call of the probes' (a futex at most): only the calls'
				 * own sampled clocks split it; unsampled, it counts as waiting. */
				sem_ns += s->time_ns;
				/* What the sampled calls measured, not extrapolated: one free
				 * semaphore's ratio says nothing of a long wait on a held one. */
				sem_transfer +=
				    (double)min_u64(s->sampled_cpu_ns, s->sampled_wall_ns);
				continue;
			}
			if (s->sampled_wall_ns) {
				swall += s->sampled_wall_ns;
				scpu += min_u64(s->sampled_cpu_ns, s->sampled_wall_ns);
				transfer +=
				    (double)s->time_ns *
				    ((double)min_u64(s->sampled_cpu_ns, s->sampled_wall_ns) /
				     (double)s->sampled_wall_ns);
			} else {
				unsampled += s->time_ns;
			}
		}
	}
	if (img->nsample && img->prof.period_ns) {
		/*
		 * The CPU samples taken inside timed IPC calls measure their CPU time, as rusage
		 * counts it (compute is the rest of it). The calls' own clock readings do not, here:
		 * they read the clock of 1 call in 256 and of every large one, and the small calls
		 * left out (a 4-byte header read) are the ones that block while the peer prepares its
		 * message. Nor do the kernel's switches: its on-CPU time inside the calls leaves out
		 * the CPU that the probes themselves and the ways in and out of the kernel cost
		 * (about 4.6 us a call on a 2-core virtual machine, as much as the 5 us it saw
		 * on-CPU in a 64-byte pipe call).
		 */
		transfer = (double)ipcprof_cat_ns(img, IPCPROF_CAT_IPC);
		sem_transfer = 0;
		a->split_cpu_samples = true;
	} else if (img->kernel && img->kernel_oncpu_ns + img->kernel_offcpu_ns > 0) {
		/* The kernel saw every switch: scale its split onto the calls' measured time. */
		double f = (double)img->kernel_oncpu_ns /
			   (double)(img->kernel_oncpu_ns + img->kernel_offcpu_ns);
		transfer = (double)(a->ipc_ns - sem_ns) * f;
		a->split_kernel = true;
	} else if (swall) {
		/* Calls on channels never sampled take the process's average ratio. */
		transfer += (double)unsampled * ((double)scpu / (double)swall);
		a->split_sampled = true;
	} else if (a->ipc_ns > sem_ns) {
		a->split_unknown = true;
	}
	transfer += sem_transfer;
	a->ipc_transfer_ns = min_u64(to_u64(transfer + 0.5), a->ipc_ns);
	/* On-CPU time inside calls is part of the measured CPU time: a sample that missed the
         * long blocking calls cannot make it more. Without an end seen, rusage is missing. */
	if (!img->wall_lower_bound || a->cpu_ns)
		a->ipc_transfer_ns = min_u64(a->ipc_transfer_ns, a->cpu_ns);
	a->ipc_wait_ns = a->ipc_ns - a->ipc_transfer_ns;
	a->compute_ns = a->cpu_ns > a->ipc_transfer_ns ? a->cpu_ns - a->ipc_transfer_ns : 0;
	uint64_t busy = a->compute_ns + a->ipc_transfer_ns + a->ipc_wait_ns;
	sampled_split(img, a);
	if (busy > img->wall_ns) {
		/* Several threads: their summed time exceeds wall time, so shares are of that sum.
                 */
		a->basis_ns = busy;
		a->basis_thread_sum = true;
	} else {
		a->basis_ns = img->wall_ns;
	}
	a->other_ns = a->basis_ns - busy;
	sampled_waits(img, a);
	if (img->kernel) {
		/* Waits of several threads may overlap: never more than the time left. */
		/* The futex waits inside semaphore calls are counted there already. */
		uint64_t fx = img->kernel_futex_ns > sem_ns ? img->kernel_futex_ns - sem_ns : 0;
		a->sync_wait_ns = min_u64(fx + img->kernel_poll_ns, a->other_ns);
		a->other_ns -= a->sync_wait_ns;
		a->has_sync = true;
	}
}

/*
 * Waiting for data or for work. Time blocked inside an IPC call is data movement when the
 * processes at the other end were moving data meanwhile, and waiting for work when they were
 * computing: a worker blocked on its task pipe while the main process forks the other workers is
 * not waiting for data. Over each interval of the timeline, piece by piece, the other end was:
 * - inside a call on the same link (both ends in their calls: the data flows): moving data;
 * - inside a call on another link: what the ends it waited for there did, three steps deep; a
 *   circle of waits on different links back to a process already followed moves nothing;
 * - outside its calls: what its timed CPU samples (ticks) there say (pickling, unpickling and
 *   copying are moving data), or with none there, its samples just around the interval.
 * Of several ends, the one that moved data most says it (any end moving data makes it flow). A
 * wait nothing tells about stays data movement, as it is without ticks at all.
 */

#define WAIT_DEPTH     3        /* steps through ends that were themselves waiting */
#define WAIT_VISIT_MAX 64       /* intervals followed per step: a bound on the work */
#define WAIT_LOOK_MAX  1024     /* intervals looked at per step (most end before the window) */
#define WAIT_NEAR_NS   40000000 /* how far around a window an end's samples still count */

/* Other ends looked at for one process's intervals before only their own samples count, not
 * what they waited for in turn: a bound on the work for runs of many processes and intervals. */
#define WAIT_BUDGET 200000

struct timed;

/* One pipe's bytes over time: its writes' starts and its reads' ends, sorted, with the bytes up
 * to each (a write counted from its start, a read from its end: what the pipe held is never
 * underestimated). */
struct pipe_fill {
	size_t nw, nr;
	int64_t *w_t, *r_t;
	double *w_sum, *r_sum; /* bytes of the first k, k = 0..n */
};

/* Per link and direction, the endpoints that used that direction: peer[l][d] lists npeer[l][d]
 * endpoint indices. chain[0..depth] are the images followed to the current step. */
struct wait_ctx {
	const struct ipcprof_model *m;
	const struct timed *td;
	long budget;
	bool *sides; /* the link's ends are on two sides (sockets), not one (pipes) */
	int (*npeer)[IPCPROF_NDIR];
	int *(*peer)[IPCPROF_NDIR];
	int *pool;
	struct pipe_fill *fill; /* per link: what its writes put in and its reads took out */
	int chain[WAIT_DEPTH + 2];
	bool single[WAIT_DEPTH + 2]; /* chain[d] waited for one end alone */
};

struct timed {
	size_t ntick;
	int64_t *t;           /* tick times, clocks aligned, sorted */
	double *mv, *all;     /* prefix sums of the ticks' CPU ns: moving data, all */
	double *out_mv, *out; /* the same of the ticks outside IPC calls */
	uint32_t *order;      /* intervals by aligned start */
	int64_t *start;       /* their aligned starts, in that order */
	int64_t *reach;       /* the latest end of the intervals up to each, in that order */
	/* The positions (in start order) of the intervals of each channel and direction, key
	 * channel * IPCPROF_NDIR + dir: the intervals of key k are at by_key[key_at[k]] up to
	 * by_key[key_at[k + 1]], ascending. */
	uint32_t *key_at, *by_key;
};

static size_t lower_i64(const int64_t *v, size_t n, int64_t x)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A sample of moving data: pickling, unpickling, copying, taken inside a timed IPC call, or in
 * the preload's own work around the calls (category ipc, counted in transfer as well): a process
 * going from one call to the next, as a ping-pong's ends do, is moving data. */
static bool moving(const struct ipcprof_sample *sm)
{
	return sm->cat == IPCPROF_CAT_SERIALIZE || sm->cat == IPCPROF_CAT_DESERIALIZE ||
	       sm->cat == IPCPROF_CAT_COPY || sm->cat == IPCPROF_CAT_IPC ||
	       (sm->flags & IPCPROF_SS_IPC);
}

static int by_start(const void *a, const void *b, void *intervals)
{
	const struct ipcprof_interval *iv = intervals;
	uint64_t x = iv[*(const uint32_t *)a].start_ns, y = iv[*(const uint32_t *)b].start_ns;
	return x < y ? -1 : x > y;
}

static int timed_build(const struct ipcprof_model *m, int i, struct timed *td)
{
	const struct ipcprof_image *g = &m->img[i];
	int64_t off = g->clock_offset_ns;
	size_t n = g->ntick + 1;
	td->ntick = g->ntick;
	td->t = malloc(n * sizeof(*td->t));
	td->mv = malloc(n * sizeof(*td->mv));
	td->all = malloc(n * sizeof(*td->all));
	td->out_mv = malloc(n * sizeof(*td->out_mv));
	td->out = malloc(n * sizeof(*td->out));
	td->order = malloc((g->nint + 1) * sizeof(*td->order));
	td->start = malloc((g->nint + 1) * sizeof(*td->start));
	td->reach = malloc((g->nint + 1) * sizeof(*td->reach));
	if (!td->t || !td->mv || !td->all || !td->out_mv || !td->out || !td->order || !td->start ||
	    !td->reach)
		return -1;
	td->mv[0] = td->all[0] = td->out_mv[0] = td->out[0] = 0;
	for (size_t k = 0; k < g->ntick; k++) {
		const struct ipcprof_tick *tk = &g->tick[k];
		const struct ipcprof_sample *sm = &g->sample[tk->sample];
		double ns = (double)ipcprof_ns_of_weight(g, tk->weight);
		bool in_call = sm->flags & IPCPROF_SS_IPC;
		td->t[k] = (int64_t)tk->t_ns + off;
		td->all[k + 1] = td->all[k] + ns;
		td->mv[k + 1] = td->mv[k] + (moving(sm) ? ns : 0);
		td->out[k + 1] = td->out[k] + (in_call ? 0 : ns);
		td->out_mv[k + 1] = td->out_mv[k] + (!in_call && moving(sm) ? ns : 0);
	}
	for (size_t k = 0; k < g->nint; k++)
		td->order[k] = (uint32_t)k;
	qsort_r(td->order, g->nint, sizeof(*td->order), by_start, g->intervals);
	for (size_t k = 0; k < g->nint; k++) {
		const struct ipcprof_interval *iv = &g->intervals[td->order[k]];
		td->start[k] = (int64_t)iv->start_ns + off;
		int64_t d = iv->end_ns > iv->start_ns ? (int64_t)(iv->end_ns - iv->start_ns) : 0;
		td->reach[k] = td->start[k] + d;
		if (k && td->reach[k - 1] > td->reach[k])
			td->reach[k] = td->reach[k - 1];
	}
	size_t nkey = (size_t)g->nchan * IPCPROF_NDIR;
	td->key_at = calloc(nkey + 2, sizeof(*td->key_at));
	td->by_key = malloc((g->nint + 1) * sizeof(*td->by_key));
	if (!td->key_at || !td->by_key)
		return -1;
	for (size_t k = 0; k < g->nint; k++) {
		const struct ipcprof_interval *iv = &g->intervals[td->order[k]];
		if (iv->channel < g->nchan && iv->dir < IPCPROF_NDIR)
			td->key_at[(size_t)iv->channel * IPCPROF_NDIR + iv->dir + 2]++;
	}
	for (size_t k = 2; k < nkey + 2; k++)
		td->key_at[k] += td->key_at[k - 1];
	for (size_t k = 0; k < g->nint; k++) {
		const struct ipcprof_interval *iv = &g->intervals[td->order[k]];
		if (iv->channel < g->nchan && iv->dir < IPCPROF_NDIR)
			td->by_key[td->key_at[(size_t)iv->channel * IPCPROF_NDIR + iv->dir + 1]++] =
			    (uint32_t)k;
	}
	return 0;
}

/* The first of t's intervals (in start order) that may end after a: none before it does. */
static size_t first_reaching(const struct timed *t, size_t nint, int64_t a)
{
	size_t lo = 0, hi = nint;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->reach[mid] <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void timed_free(struct timed *td)
{
	free(td->t);
	free(td->mv);
	free(td->all);
	free(td->out_mv);
	free(td->out);
	free(td->order);
	free(td->start);
	free(td->reach);
	free(td->key_at);
	free(td->by_key);
}

static double evidence_of(struct wait_ctx *x, int g, int chan, int dir, int64_t a, int64_t b,
			  int depth);

/* The ticks of t over [a, b], a tick standing for the CPU period before it: *mv and *all. */
static void ticks_in(const struct timed *t, const double *mv, const double *all, int64_t a,
		     int64_t b, double *out_mv, double *out_all)
{
	size_t lo = lower_i64(t->t, t->ntick, a), hi = lower_i64(t->t, t->ntick, b + 1);
	*out_mv = mv[hi] - mv[lo];
	*out_all = all[hi] - all[lo];
}

/*
 * The positions (in start order) of t's intervals on channel chan in direction dir: *pos, *n of
 * them, ascending. Returns the index in *pos of the first position at or after k.
 */
static size_t keyed_from(const struct timed *t, int chan, int dir, size_t k, const uint32_t **pos,
			 size_t *n)
{
	size_t key = (size_t)chan * IPCPROF_NDIR + (size_t)dir;
	size_t lo = 0, hi = t->key_at[key + 1] - t->key_at[key];
	*pos = t->by_key + t->key_at[key];
	if (n)
		*n = hi;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if ((*pos)[mid] < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * When the other ends of image h's call (on its channel chan, direction dir, from s to e) began
 * serving it: the latest start of a call of theirs in the opposite direction on that link under
 * way within it (a write giving its read data, a read making room for its write, a post ending
 * its wait; the latest, as an interval may hold several calls of h, each waiting for its own).
 * From then on the data was flowing to or from h, however long h took to be woken and to copy
 * it. INT64_MAX when none was.
 */
static int64_t call_served(struct wait_ctx *x, int h, int chan, int dir, int64_t s, int64_t e)
{
	const struct ipcprof_model *m = x->m;
	int l = m->img[h].chan_link[chan];
	const struct ipcprof_link *lk = &m->link[l];
	int64_t last = INT64_MAX;
	for (int k = 0; k < x->npeer[l][1 - dir]; k++) {
		const struct ipcprof_endpoint *ep = &lk->end[x->peer[l][1 - dir][k]];
		if (ep->image == h ||
		    (x->sides[l] && ep->side == (uint64_t)m->img[h].chan_side[chan]))
			continue;
		const struct ipcprof_image *pg = &m->img[ep->image];
		const struct timed *t = &x->td[ep->image];
		size_t j = first_reaching(t, pg->nint, s);
		/* The intervals looked at: from j, at most WAIT_LOOK_MAX, those starting before e.
		 * Starts grow with the position, so the latest start among those of the link's
		 * other direction that end after s is the last such one. */
		size_t to = lower_i64(t->start, pg->nint, e);
		if (to > j + WAIT_LOOK_MAX)
			to = j + WAIT_LOOK_MAX;
		if (ep->chan < 0 || (uint32_t)ep->chan >= pg->nchan || to <= j)
			continue;
		const uint32_t *pos;
		size_t lo = keyed_from(t, ep->chan, 1 - dir, to, &pos, NULL);
		while (lo-- > 0 && pos[lo] >= j) {
			const struct ipcprof_interval *pv = &pg->intervals[t->order[pos[lo]]];
			int64_t ps = t->start[pos[lo]],
				pe = ps + (int64_t)(pv->end_ns - pv->start_ns);
			if (pe > s) {
				ps = ps > s ? ps : s;
				last = last == INT64_MAX || ps > last ? ps : last;
				break;
			}
		}
	}
	return last;
}

#define PIPE_ROOM 65536 /* a Linux pipe's default capacity */

static bool is_pipe(const struct ipcprof_link *l)
{
	return l->kind == IPCPROF_KIND_PIPE || l->kind == IPCPROF_KIND_FIFO;
}

struct time_bytes {
	int64_t t;
	double bytes;
};

static int by_time(const void *a, const void *b)
{
	int64_t x = ((const struct time_bytes *)a)->t, y = ((const struct time_bytes *)b)->t;
	return x < y ? -1 : x > y;
}

/* Sorts n (time, bytes) pairs into *t and their running sums into *sum. */
static int fill_side(struct time_bytes *tb, size_t n, int64_t **t, double **sum)
{
	*t = malloc((n + 1) * sizeof(**t));
	*sum = malloc((n + 1) * sizeof(**sum));
	if (!*t || !*sum)
		return -1;
	qsort(tb, n, sizeof(*tb), by_time);
	(*sum)[0] = 0;
	for (size_t k = 0; k < n; k++) {
		(*t)[k] = tb[k].t;
		(*sum)[k + 1] = (*sum)[k] + tb[k].bytes;
	}
	return 0;
}

static int fills_build(struct wait_ctx *x)
{
	const struct ipcprof_model *m = x->m;
	x->fill = calloc(m->nlink > 0 ? (size_t)m->nlink : 1, sizeof(*x->fill));
	if (!x->fill)
		return -1;
	for (int li = 0; li < m->nlink; li++) {
		if (!is_pipe(&m->link[li]))
			continue;
		size_t n = 0, nw = 0, nr = 0;
		for (int e = 0; e < m->link[li].nend; e++)
			n += m->img[m->link[li].end[e].image].nint;
		struct time_bytes *w = malloc((n + 1) * sizeof(*w)),
				  *r = malloc((n + 1) * sizeof(*r));
		int rc = w && r ? 0 : -1;
		for (int e = 0; e < m->link[li].nend && rc == 0; e++) {
			const struct ipcprof_endpoint *ep = &m->link[li].end[e];
			const struct ipcprof_image *g = &m->img[ep->image];
			for (size_t k = 0; k < g->nint; k++) {
				const struct ipcprof_interval *iv = &g->intervals[k];
				if ((int)iv->channel != ep->chan)
					continue;
				int64_t a = (int64_t)iv->start_ns + g->clock_offset_ns;
				int64_t d = iv->end_ns > iv->start_ns
						? (int64_t)(iv->end_ns - iv->start_ns)
						: 0;
				if (iv->dir == IPCPROF_DIR_OUT)
					w[nw++] = (struct time_bytes){a, (double)iv->bytes};
				else if (iv->dir == IPCPROF_DIR_IN)
					r[nr++] = (struct time_bytes){a + d, (double)iv->bytes};
			}
		}
		struct pipe_fill *f = &x->fill[li];
		f->nw = nw;
		f->nr = nr;
		if (rc == 0)
			rc = fill_side(w, nw, &f->w_t, &f->w_sum);
		if (rc == 0)
			rc = fill_side(r, nr, &f->r_t, &f->r_sum);
		free(w);
		free(r);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static void fills_free(struct wait_ctx *x)
{
	if (!x->fill)
		return;
	for (int li = 0; li < x->m->nlink; li++) {
		free(x->fill[li].w_t);
		free(x->fill[li].r_t);
		free(x->fill[li].w_sum);
		free(x->fill[li].r_sum);
	}
	free(x->fill);
}

/* At most what pipe li held just before time a: the bytes of the writes begun before a less
 * those of the reads ended by then. */
static double pipe_held(const struct wait_ctx *x, int li, int64_t a)
{
	const struct pipe_fill *f = &x->fill[li];
	size_t w = lower_i64(f->w_t, f->nw, a), r = lower_i64(f->r_t, f->nr, a + 1);
	double held = f->w_sum[w] - f->r_sum[r];
	return held > 0 ? held : 0;
}

/* Whether an end reading pipe li (other than image g) was in its read at time a. */
static bool reader_in_call(const struct wait_ctx *x, int g, int li, int64_t a)
{
	const struct ipcprof_model *m = x->m;
	for (int k = 0; k < x->npeer[li][IPCPROF_DIR_IN]; k++) {
		const struct ipcprof_endpoint *ep =
		    &m->link[li].end[x->peer[li][IPCPROF_DIR_IN][k]];
		if (ep->image == g)
			continue;
		const struct ipcprof_image *pg = &m->img[ep->image];
		const struct timed *t = &x->td[ep->image];
		size_t j = first_reaching(t, pg->nint, a);
		for (int looked = 0; j < pg->nint && t->start[j] <= a && looked < WAIT_LOOK_MAX;
		     j++, looked++) {
			const struct ipcprof_interval *pv = &pg->intervals[t->order[j]];
			int64_t pe = t->start[j] + (int64_t)(pv->end_ns - pv->start_ns);
			if ((int)pv->channel == ep->chan && pv->dir == IPCPROF_DIR_IN && pe > a)
				return true;
		}
	}
	return false;
}

/*
 * Whether image g's write iv on a pipe (begun at aligned time a) found room for all it wrote: one
 * call of no more than a pipe holds, begun while a reader was in its read (the pipe was empty or
 * being drained) or while the pipe held so little that the write fitted. Such a write cannot have
 * waited for its reader: however long it took (pre-empted by the reader it woke, or waiting for
 * a CPU), it was moving its data, not waiting for work. A pipe made smaller than the default
 * (F_SETPIPE_SZ) can fool the count; one made larger only makes it miss writes that fitted.
 */
static bool write_into_room(const struct wait_ctx *x, int g, const struct ipcprof_interval *iv,
			    int64_t a)
{
	const struct ipcprof_model *m = x->m;
	const struct ipcprof_image *img = &m->img[g];
	int l = img->chan_link ? img->chan_link[iv->channel] : -1;
	if (l < 0 || iv->dir != IPCPROF_DIR_OUT || iv->calls != 1 || iv->bytes > PIPE_ROOM ||
	    !is_pipe(&m->link[l]))
		return false;
	return reader_in_call(x, g, l, a) || pipe_held(x, l, a) + (double)iv->bytes <= PIPE_ROOM;
}

/*
 * What image h was doing over [a, b] for an end that waits for its calls of direction dir on link
 * li (its writes for a reader, its posts for a semaphore's waiter): the part of b - a
 * it moved data, in *mv, of the part its calls and samples tell, in *all. Its intervals, in
 * start order, cover pieces of the window (where two overlap, the earlier one tells); the
 * samples it has outside them tell the rest.
 */
static void evidence_in(struct wait_ctx *x, int h, int li, int dir, int64_t a, int64_t b, int depth,
			double *mv, double *all)
{
	const struct ipcprof_model *m = x->m;
	const struct ipcprof_image *g = &m->img[h];
	const struct timed *t = &x->td[h];
	int64_t p = (int64_t)g->prof.period_ns;
	double covered = 0, in_mv = 0, in_all = 0;
	int64_t until = a;
	size_t k = first_reaching(t, g->nint, a);
	for (int seen = 0, looked = 0;
	     k < g->nint && t->start[k] < b && seen < WAIT_VISIT_MAX && looked < WAIT_LOOK_MAX;
	     k++, looked++) {
		const struct ipcprof_interval *iv = &g->intervals[t->order[k]];
		int64_t s = t->start[k], e = s + (int64_t)(iv->end_ns - iv->start_ns);
		if (s < until)
			s = until;
		if (e > b)
			e = b;
		if (e <= s || iv->channel >= g->nchan || iv->dir >= IPCPROF_NDIR)
			continue;
		seen++;
		until = e;
		double len = (double)(e - s), tmv, tall;
		covered += len;
		ticks_in(t, t->mv, t->all, s + 1, e, &tmv, &tall);
		in_mv += tmv;
		in_all += tall;
		int l = g->chan_link ? g->chan_link[iv->channel] : -1;
		if (l >= 0 && l == li && iv->dir == dir) {
			*mv += len;
			*all += len;
			continue;
		}
		if (l < 0)
			continue;
		/* Once the other ends served the call h waited in, the data flowed (an interval of
		 * several calls does not say which of them was served when). */
		int64_t c = iv->calls == 1
				? call_served(x, h, iv->channel, iv->dir, t->start[k],
					      t->start[k] + (int64_t)(iv->end_ns - iv->start_ns))
				: INT64_MAX;
		if (c < e) {
			int64_t from = c > s ? c : s;
			*mv += (double)(e - from);
			*all += (double)(e - from);
			e = from;
		}
		if (e > s && depth + 1 < WAIT_DEPTH && x->budget > 0) {
			double f = evidence_of(x, h, iv->channel, iv->dir, s, e, depth + 1);
			if (f >= 0) {
				*mv += (double)(e - s) * f;
				*all += (double)(e - s);
			}
		}
	}
	double rest = (double)(b - a) - covered;
	if (rest <= 0)
		return;
	/* Outside its calls: its samples there, less those inside the pieces its calls covered. */
	double rmv, rall;
	ticks_in(t, t->mv, t->all, a, b + p, &rmv, &rall);
	rmv -= in_mv;
	rall -= in_all;
	if (!(rall > 0.5)) {
		/* No sample there: on a CPU for less than a period, or off it outside IPC calls.
		 * Its samples outside calls nearest the window say what it was busy with then. */
		int64_t w = 4 * p > WAIT_NEAR_NS ? 4 * p : WAIT_NEAR_NS;
		ticks_in(t, t->out_mv, t->out, a - w, b + p + w, &rmv, &rall);
		if (!(rall > 0) && g->nint && t->ntick) {
			/* None either, from a process sampled elsewhere: its timeline says it was
			 * outside its calls, where no sample saw it pickle or copy: computing, or
			 * waiting for a CPU to. */
			*all += rest;
			return;
		}
		if (!(rall > 0))
			ticks_in(t, t->mv, t->all, a - w, b + p + w, &rmv, &rall);
	}
	if (rall > 0) {
		*mv += rest * (rmv > 0 ? (rmv < rall ? rmv / rall : 1) : 0);
		*all += rest;
	}
}

/* The time of [a, b] image h spent in calls of direction dir on link li. */
static double calls_on(const struct wait_ctx *x, int h, int li, int dir, int64_t a, int64_t b)
{
	const struct ipcprof_image *g = &x->m->img[h];
	const struct timed *t = &x->td[h];
	double in = 0;
	int64_t until = a;
	size_t k = first_reaching(t, g->nint, a);
	for (int looked = 0; k < g->nint && t->start[k] < b && looked < WAIT_LOOK_MAX;
	     k++, looked++) {
		const struct ipcprof_interval *iv = &g->intervals[t->order[k]];
		int64_t s = t->start[k], e = s + (int64_t)(iv->end_ns - iv->start_ns);
		if (iv->channel >= g->nchan || iv->dir != dir || !g->chan_link ||
		    g->chan_link[iv->channel] != li)
			continue;
		s = s > until ? s : until;
		e = e < b ? e : b;
		if (e > s) {
			in += (double)(e - s);
			until = e;
		}
	}
	return in;
}

static bool in_chain(const struct wait_ctx *x, int h, int depth)
{
	for (int d = 0; d <= depth; d++)
		if (x->chain[d] == h)
			return true;
	return false;
}

/* A circle of waits back to h in which each end waited for the next alone: it cannot last (no
 * end waits for anyone outside it), so one of them was served already and not yet running. */
static bool closed_circle(const struct wait_ctx *x, int h, int depth)
{
	int d = depth;
	while (d >= 0 && x->chain[d] != h)
		d--;
	for (int k = d < 0 ? 0 : d; k <= depth; k++)
		if (!x->single[k])
			return false;
	return d >= 0;
}

#define POST_SLACK_NS 2000000 /* a post this long after a wait's end may still have ended it */

/*
 * Who held a semaphore during [a, b] that image g waited on: each post by another image in the
 * window ends a hold that began when that image's wait on it ended. What the holders did while
 * holding is what g waited for: the fraction of the window they moved data (held by nobody, it
 * was being handed over: moving), or -1 when that is not told; -2 when no hold of another image
 * is found over the window.
 */
static double evidence_holders(struct wait_ctx *x, int g, int li, int64_t a, int64_t b, int depth)
{
	const struct ipcprof_model *m = x->m;
	const struct ipcprof_link *l = &m->link[li];
	bool found = false;
	double mv = 0, all = 0, held = 0;
	int64_t last_post = INT64_MIN;
	int last_img = -1;
	for (int e = 0; e < l->nend; e++) {
		const struct ipcprof_endpoint *ep = &l->end[e];
		const struct ipcprof_image *h = &m->img[ep->image];
		const struct timed *t = &x->td[ep->image];
		if (ep->image == g || ep->chan < 0 || (uint32_t)ep->chan >= h->nchan ||
		    !h->chan[ep->chan].dir[IPCPROF_DIR_OUT].calls)
			continue;
		/* Its posts in the window, and the first after it: that one may end a hold that
		 * began before b and lasted long after. */
		/* Of the intervals from the first reaching a (at most WAIT_LOOK_MAX of them), its
		 * posts on the channel, found through the index of its intervals by channel. */
		size_t k0 = first_reaching(t, h->nint, a), lim = k0 + WAIT_LOOK_MAX, npost;
		const uint32_t *post, *wait;
		if (lim > h->nint)
			lim = h->nint;
		size_t i = keyed_from(t, ep->chan, IPCPROF_DIR_OUT, k0, &post, &npost);
		for (int seen = 0;
		     i < npost && post[i] < lim &&
		     (t->start[post[i]] <= b + POST_SLACK_NS || !seen) && seen < WAIT_VISIT_MAX;
		     i++) {
			size_t k = post[i];
			const struct ipcprof_interval *iv = &h->intervals[t->order[k]];
			int64_t p = t->start[k] + (int64_t)(iv->end_ns - iv->start_ns);
			if (p < a)
				continue;
			seen++;
			/* The hold began at its last wait on the channel ended by then, among its
			 * WAIT_VISIT_MAX intervals before the post. */
			int64_t hold = a;
			size_t from = k > WAIT_VISIT_MAX ? k - WAIT_VISIT_MAX : 0;
			for (size_t w = keyed_from(t, ep->chan, IPCPROF_DIR_IN, k, &wait, NULL);
			     w-- > 0 && wait[w] >= from;) {
				const struct ipcprof_interval *wv =
				    &h->intervals[t->order[wait[w]]];
				int64_t we =
				    t->start[wait[w]] + (int64_t)(wv->end_ns - wv->start_ns);
				if (we <= p) {
					hold = we > a ? we : a;
					break;
				}
			}
			int64_t end = p < b ? p : b;
			x->budget--;
			found = found || end > hold;
			held += end > hold ? (double)(end - hold) : 0;
			if (end <= hold)
				continue;
			if (p < b && p > last_post) {
				last_post = p;
				last_img = ep->image;
			}
			if (in_chain(x, ep->image, depth))
				all += (double)(end - hold); /* a circle of waits: nobody moves */
			else
				evidence_in(x, ep->image, li, IPCPROF_DIR_OUT, hold, end, depth,
					    &mv, &all);
		}
	}
	if (!found)
		return -2;
	/* After the last post, g was being woken: what that poster did meanwhile tells. */
	double tail = last_img >= 0 ? (double)(b - last_post) : 0;
	if (tail > 0) {
		held += tail;
		if (in_chain(x, last_img, depth))
			all += tail;
		else
			evidence_in(x, last_img, li, IPCPROF_DIR_OUT, last_post, b, depth, &mv,
				    &all);
	}
	/* Held by nobody before: handed over, or free while g waited for a CPU in its call. */
	double free_ns = (double)(b - a) - held;
	if (free_ns > 0) {
		mv += free_ns;
		all += free_ns;
	}
	return all > 0 ? mv / all : -1;
}

/* What the other ends of image g's channel chan (direction dir) were doing over [a, b]: the ends
 * that used the opposite direction (writers for a reader; for a semaphore's waiter, the holders
 * it waited for, or else every poster). The fraction of [a, b] they moved data, or -1 when
 * nothing tells. */
static double evidence_of(struct wait_ctx *x, int g, int chan, int dir, int64_t a, int64_t b,
			  int depth)
{
	const struct ipcprof_model *m = x->m;
	const struct ipcprof_image *img = &m->img[g];
	if (!img->chan_link || img->chan_link[chan] < 0 || b <= a)
		return -1;
	int li = img->chan_link[chan];
	const struct ipcprof_link *l = &m->link[li];
	x->chain[depth] = g;
	x->single[depth] = false;
	if (l->kind == IPCPROF_KIND_SEM && dir == IPCPROF_DIR_IN) {
		double f = evidence_holders(x, g, li, a, b, depth);
		if (f > -2)
			return f;
	}
	int ends = 0;
	for (int k = 0; k < x->npeer[li][1 - dir]; k++) {
		const struct ipcprof_endpoint *ep = &l->end[x->peer[li][1 - dir][k]];
		ends += !(ep->image == g ||
			  (x->sides[li] && ep->side == (uint64_t)img->chan_side[chan]));
	}
	x->single[depth] = ends == 1;
	double best = -1;
	for (int k = 0; k < x->npeer[li][1 - dir] && best < 1; k++) {
		const struct ipcprof_endpoint *ep = &l->end[x->peer[li][1 - dir][k]];
		if (ep->image == g || (x->sides[li] && ep->side == (uint64_t)img->chan_side[chan]))
			continue;
		if (in_chain(x, ep->image, depth)) {
			/* Back at a process followed already: moving data where it was in a call
			 * serving this one, or where each end of the circle waited for the next
			 * alone; elsewhere a circle of waits in which nobody moves data, the ends
			 * waiting for others outside it. */
			double f =
			    closed_circle(x, ep->image, depth)
				? 1
				: calls_on(x, ep->image, li, 1 - dir, a, b) / (double)(b - a);
			best = f > best ? f : best;
			continue;
		}
		double mv = 0, all = 0;
		x->budget--;
		evidence_in(x, ep->image, li, 1 - dir, a, b, depth, &mv, &all);
		if (all > 0 && mv / all > best)
			best = mv / all;
	}
	return best;
}

static int peers_build(struct wait_ctx *x)
{
	const struct ipcprof_model *m = x->m;
	size_t n = 0;
	for (int l = 0; l < m->nlink; l++)
		n += (size_t)m->link[l].nend * IPCPROF_NDIR;
	size_t nl = m->nlink > 0 ? (size_t)m->nlink : 1;
	x->sides = calloc(nl, sizeof(*x->sides));
	x->npeer = calloc(nl, sizeof(*x->npeer));
	x->peer = calloc(nl, sizeof(*x->peer));
	x->pool = malloc((n ? n : 1) * sizeof(*x->pool));
	if (!x->sides || !x->npeer || !x->peer || !x->pool)
		return -1;
	int *at = x->pool;
	for (int li = 0; li < m->nlink; li++) {
		const struct ipcprof_link *l = &m->link[li];
		for (int e = 1; e < l->nend; e++)
			x->sides[li] = x->sides[li] || l->end[e].side != l->end[0].side;
		for (int d = 0; d < IPCPROF_NDIR; d++) {
			x->peer[li][d] = at;
			for (int e = 0; e < l->nend; e++)
				if (m->img[l->end[e].image].chan[l->end[e].chan].dir[d].calls)
					x->peer[li][d][x->npeer[li][d]++] = e;
			at += x->npeer[li][d];
		}
	}
	return 0;
}

static int split_waits(struct ipcprof_model *m)
{
	bool any = false;
	for (int i = 0; i < m->nimg; i++)
		any = any || m->img[i].ntick;
	if (!any)
		return 0;
	struct timed *td = calloc((size_t)m->nimg, sizeof(*td));
	if (!td)
		return -1;
	struct wait_ctx x = {.m = m, .td = td};
	int rc = -1;
	if (peers_build(&x) < 0 || fills_build(&x) < 0)
		goto out;
	for (int i = 0; i < m->nimg; i++)
		if (timed_build(m, i, &td[i]) < 0)
			goto out;
	for (int i = 0; i < m->nimg; i++) {
		struct ipcprof_image *g = &m->img[i];
		if (!g->attr.ipc_wait_ns)
			continue;
		double idle_ns = 0;
		bool seen = false;
		x.budget = WAIT_BUDGET;
		for (size_t k = 0; k < g->nint; k++) {
			const struct ipcprof_interval *iv = &g->intervals[k];
			if (iv->end_ns <= iv->start_ns || iv->channel >= g->nchan ||
			    iv->dir >= IPCPROF_NDIR)
				continue;
			int64_t a = (int64_t)iv->start_ns + g->clock_offset_ns;
			int64_t b = a + (int64_t)(iv->end_ns - iv->start_ns);
			/* A post never blocks, nor does a write into a pipe with room: its time is
			 * handing over (or waiting for a CPU in it). */
			int li = g->chan_link ? g->chan_link[iv->channel] : -1;
			double f = (li >= 0 && m->link[li].kind == IPCPROF_KIND_SEM &&
				    iv->dir == IPCPROF_DIR_OUT) ||
					   write_into_room(&x, i, iv, a)
				       ? 1
				       : evidence_of(&x, i, iv->channel, iv->dir, a, b, 0);
			if (f >= 0)
				idle_ns += (double)(b - a) * (1 - f);
			seen = seen || f >= 0;
		}
		if (!seen)
			continue;
		/* The calls' on-CPU part (transfer) stays data movement: only their blocked time
		 * can be waiting for work. */
		uint64_t idle = min_u64(to_u64(idle_ns + 0.5), g->attr.ipc_wait_ns);
		g->attr.ipc_idle_ns = idle;
		g->attr.ipc_wait_ns -= idle;
		g->attr.wait_split = true;
	}
	rc = 0;
out:
	for (int i = 0; i < m->nimg; i++)
		timed_free(&td[i]);
	free(td);
	fills_free(&x);
	free(x.sides);
	free(x.npeer);
	free(x.peer);
	free(x.pool);
	return rc;
}

static void attr_add(struct ipcprof_attr *t, const struct ipcprof_attr *a)
{
	t->cpu_sampled |= a->cpu_sampled;
	t->sampler_on |= a->sampler_on;
	t->serialize_ns += a->serialize_ns;
	t->deserialize_ns += a->deserialize_ns;
	t->copy_ns += a->copy_ns;
	t->serialize_wait_ns += a->serialize_wait_ns;
	t->deserialize_wait_ns += a->deserialize_wait_ns;
	t->copy_wait_ns += a->copy_wait_ns;
	t->compute_wait_ns += a->compute_wait_ns;
	t->basis_ns += a->basis_ns;
	t->basis_thread_sum |= a->basis_thread_sum;
	t->cpu_ns += a->cpu_ns;
	t->ipc_ns += a->ipc_ns;
	t->ipc_transfer_ns += a->ipc_transfer_ns;
	t->ipc_wait_ns += a->ipc_wait_ns;
	t->ipc_idle_ns += a->ipc_idle_ns;
	t->wait_split |= a->wait_split;
	t->compute_ns += a->compute_ns;
	t->other_ns += a->other_ns;
	t->sync_wait_ns += a->sync_wait_ns;
	t->has_sync |= a->has_sync;
	t->split_sampled |= a->split_sampled;
	t->split_cpu_samples |= a->split_cpu_samples;
	t->split_kernel |= a->split_kernel;
	t->split_unknown |= a->split_unknown;
}

/* Roles. */

static const char *argv_find(const struct ipcprof_process *p, const char *needle)
{
	size_t n = p->argv_len < sizeof(p->argv) ? p->argv_len : sizeof(p->argv);
	return memmem(p->argv, n, needle, strlen(needle));
}

const char *ipcprof_process_name(const struct ipcprof_process *p)
{
	return ipcprof_base_name(p->argv[0] ? p->argv : p->exe);
}

void ipcprof_role(const struct ipcprof_process *p, const char *parent_role, int siblings, char *out,
		  size_t outlen)
{
	if (argv_find(p, "multiprocessing.resource_tracker"))
		snprintf(out, outlen, "resource tracker");
	else if (argv_find(p, "multiprocessing.forkserver"))
		snprintf(out, outlen, "forkserver");
	else if (argv_find(p, "spawn_main") || argv_find(p, "--multiprocessing-fork"))
		snprintf(out, outlen, "spawned worker");
	else if (p->origin == IPCPROF_ORIGIN_FORK && parent_role &&
		 !strcmp(parent_role, "forkserver"))
		snprintf(out, outlen, "worker (forkserver)");
	else if (p->origin == IPCPROF_ORIGIN_FORK && siblings > 1)
		snprintf(out, outlen, "forked worker");
	else if (p->origin == IPCPROF_ORIGIN_FORK)
		snprintf(out, outlen, "forked child");
	else if (!parent_role)
		snprintf(out, outlen, "main");
	else
		snprintf(out, outlen, "exec %.32s", ipcprof_process_name(p));
}

/* multiprocessing's Manager() forks a server that accepts the proxies' connections on a
 * unix socket named by multiprocessing (/tmp/pymp-XXXX/listener-XXXX): a fork child that
 * accepted on one is that server, whatever its argv (its parent's) says. multiprocessing's
 * resource sharer listens on such a socket too, in any process that passes an fd to another
 * (a DataLoader worker sending a batch's shared memory): its connections send fds, a manager's
 * do not. */
static bool manager_server(const struct ipcprof_image *g)
{
	bool accepted = false;

	if (g->proc.origin != IPCPROF_ORIGIN_FORK)
		return false;
	for (uint32_t c = 0; c < g->nchan; c++) {
		const struct ipcprof_channel *ch = &g->chan[c];
		size_t n = strnlen(ch->name, sizeof(ch->name));
		if (ch->kind != IPCPROF_KIND_UNIX_STREAM || !(ch->flags & IPCPROF_CH_ACCEPTED) ||
		    ch->listen_pid != (uint32_t)g->proc.pid || !memmem(ch->name, n, "/pymp-", 6) ||
		    !memmem(ch->name, n, "/listener-", 10))
			continue;
		if (ch->flags & IPCPROF_CH_FDS_SENT)
			return false;
		accepted = true;
	}
	return accepted;
}

/* Lineage and times. */

struct pidkey {
	uint64_t boot;
	int32_t pid;
	uint32_t seq;
	int img;
};

static int cmp_pidkey(const void *a, const void *b)
{
	const struct pidkey *x = a, *y = b;
	if (x->boot != y->boot)
		return x->boot < y->boot ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return 0;
}

/* Pids are numbers in a host's pid namespace: the key of one namespace (0: unknown, records
 * from before the field, taken as one namespace per host). */
static uint64_t ns_key(const struct ipcprof_image *g, uint64_t pidns)
{
	return pidns ? fnv(boot_key(g), &pidns, sizeof(pidns)) : boot_key(g);
}

static void image_end(struct ipcprof_image *g)
{
	const struct ipcprof_process *p = &g->proc;
	if (p->end_how != IPCPROF_END_RUNNING && p->end_ns >= p->start_ns && p->end_ns) {
		g->end_ns = p->end_ns;
		g->wall_lower_bound = false;
	} else {
		/* Killed unseen: the latest sign of life is a lower bound of the end. */
		uint64_t e = g->last_ns;
		for (size_t i = 0; i < g->nint; i++)
			if (g->intervals[i].end_ns > e)
				e = g->intervals[i].end_ns;
		for (uint32_t c = 0; c < g->nchan; c++)
			if (g->chan[c].last_ns > e)
				e = g->chan[c].last_ns;
		if (p->end_ns > e)
			e = p->end_ns;
		g->end_ns = e > p->start_ns ? e : p->start_ns;
		g->wall_lower_bound = true;
	}
	g->wall_ns = g->end_ns - p->start_ns;
}

static int build_lineage(struct ipcprof_model *m)
{
	int n = m->nimg;
	struct pidkey *k = malloc((size_t)(n ? n : 1) * sizeof(*k));
	int *children = calloc((size_t)(n ? n : 1), sizeof(int));
	if (!k || !children) {
		free(k);
		free(children);
		return -1;
	}
	for (int i = 0; i < n; i++)
		k[i] = (struct pidkey){ns_key(&m->img[i], m->img[i].proc.pidns), m->img[i].proc.pid,
				       m->img[i].proc.seq, i};
	qsort(k, (size_t)n, sizeof(*k), cmp_pidkey);
	for (int i = 0; i < n; i++) {
		struct ipcprof_image *g = &m->img[i];
		g->parent = -1;
		struct pidkey want = {ns_key(g, g->proc.pidns), g->proc.pid, 0, 0};
		if (g->proc.seq > 0 && g->proc.origin == IPCPROF_ORIGIN_EXEC) {
			/* The image before, of this namespace: the latest lower seq (another
			 * namespace's image of the same pid may lie between). */
			want.seq = g->proc.seq;
			struct pidkey *f = bsearch(&want, k, (size_t)n, sizeof(*k), cmp_pidkey);
			while (f && f > k && f[-1].boot == want.boot && f[-1].pid == want.pid) {
				f--;
				if (f->seq < want.seq) {
					g->parent = f->img;
					break;
				}
			}
			continue;
		}
		if (g->proc.parent_pid <= 0 || g->proc.origin == IPCPROF_ORIGIN_ROOT)
			continue;
		/* The parent's image that was running when this one started: the latest seq that
                 * started no later. */
		want.boot = ns_key(g, g->proc.parent_pidns ? g->proc.parent_pidns : g->proc.pidns);
		want.pid = g->proc.parent_pid;
		for (int j = 0; j < n; j++) {
			if (k[j].boot != want.boot || k[j].pid != want.pid)
				continue;
			const struct ipcprof_image *pg = &m->img[k[j].img];
			if (pg->proc.start_ns <= g->proc.start_ns || g->parent < 0)
				g->parent = k[j].img;
		}
	}
	free(k);
	for (int i = 0; i < n; i++)
		if (m->img[i].parent >= 0 && m->img[i].proc.origin == IPCPROF_ORIGIN_FORK)
			children[m->img[i].parent]++;
	/* Roles go parent first: a child's role can depend on its parent's. */
	int *done = calloc((size_t)(n ? n : 1), sizeof(int));
	if (!done) {
		free(children);
		return -1;
	}
	for (int pass = 0, left = n; left > 0 && pass <= n; pass++) {
		for (int i = 0; i < n; i++) {
			struct ipcprof_image *g = &m->img[i];
			if (done[i] || (g->parent >= 0 && !done[g->parent] && pass < n))
				continue;
			const char *pr = g->parent >= 0 ? m->img[g->parent].role : NULL;
			int sib = g->parent >= 0 ? children[g->parent] : 0;
			ipcprof_role(&g->proc, pr, sib, g->role, sizeof(g->role));
			if (manager_server(g))
				snprintf(g->role, sizeof(g->role), "manager server");
			done[i] = 1;
			left--;
		}
	}
	free(done);
	free(children);
	/* A process keeps its rusage across exec: the image after an exec counts only its own. */
	for (int i = 0; i < n; i++) {
		struct ipcprof_image *g = &m->img[i];
		if (g->parent < 0 || g->proc.origin != IPCPROF_ORIGIN_EXEC)
			continue;
		const struct ipcprof_process *pp = &m->img[g->parent].proc;
		if (pp->end_how == IPCPROF_END_EXEC && g->proc.user_ns >= pp->user_ns &&
		    g->proc.sys_ns >= pp->sys_ns) {
			g->proc.user_ns -= pp->user_ns;
			g->proc.sys_ns -= pp->sys_ns;
		}
	}
	return 0;
}

static void build_clocks(struct ipcprof_model *m)
{
	/* One offset per host keeps its processes on one clock; realtime aligns the hosts. */
	for (int i = 0; i < m->nimg; i++) {
		struct ipcprof_image *g = &m->img[i];
		uint64_t b = boot_key(g);
		int first = i;
		for (int j = 0; j < i; j++)
			if (boot_key(&m->img[j]) == b) {
				first = j;
				break;
			}
		if (first != i) {
			g->clock_offset_ns = m->img[first].clock_offset_ns;
		} else {
			g->clock_offset_ns =
			    g->proc.start_realtime_ns
				? (int64_t)g->proc.start_realtime_ns - (int64_t)g->proc.start_ns
				: 0;
		}
	}
	int64_t start = INT64_MAX, end = INT64_MIN;
	for (int i = 0; i < m->nimg; i++) {
		const struct ipcprof_image *g = &m->img[i];
		int64_t s = (int64_t)g->proc.start_ns + g->clock_offset_ns;
		int64_t e = (int64_t)g->end_ns + g->clock_offset_ns;
		if (s < start)
			start = s;
		if (e > end)
			end = e;
	}
	m->run_start_rt_ns = m->nimg ? start : 0;
	m->run_wall_ns = m->nimg && end > start ? (uint64_t)(end - start) : 0;
}

/* Pairing channel ends into links. */

enum pair_rule {
	RULE_SHARED, /* one buffer: whatever any end writes, the other ends read (pipes) */
	RULE_SIDES,  /* two sides: one side's writes are read on the other side (sockets) */
};

struct ep {
	uint64_t node, peer;
	int img, chan;
	int rule;
	int link;
	int side;
	int silent; /* moved nothing: only there to match connections in order (pair_connections) */
};

static int is_loopback(const uint8_t a[16])
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t v6lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	if (!memcmp(a, v4mapped, 12))
		return a[12] == 127;
	return !memcmp(a, v6lo, 16);
}

static int is_zero(const uint8_t *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i])
			return 0;
	return 1;
}

static uint64_t tuple_key(uint32_t kind, uint64_t scope, const uint8_t *la, uint16_t lp,
			  const uint8_t *pa, uint16_t pp)
{
	uint64_t h = fnv(FNV0, "inet", 4);
	h = fnv(h, &kind, sizeof(kind));
	h = fnv(h, &scope, sizeof(scope));
	h = fnv(h, la, 16);
	h = fnv(h, &lp, sizeof(lp));
	h = fnv(h, pa, 16);
	return fnv(h, &pp, sizeof(pp)) | 1;
}

static void endpoint_key(const struct ipcprof_image *g, int c, struct ep *e)
{
	const struct ipcprof_channel *ch = &g->chan[c];
	uint64_t boot = boot_key(g);
	uint64_t h;
	e->peer = 0;
	switch (ch->kind) {
	case IPCPROF_KIND_UNIX_STREAM:
	case IPCPROF_KIND_UNIX_DGRAM:
	case IPCPROF_KIND_UNIX_SEQPACKET:
		e->rule = RULE_SIDES;
		if (!ch->ino) {
			e->node = fnv(fnv(FNV0, &g, sizeof(g)), &c, sizeof(c)) | 1;
			return;
		}
		h = fnv(fnv(FNV0, "unix", 4), &boot, sizeof(boot));
		e->node = fnv(h, &ch->ino, sizeof(ch->ino)) | 1;
		if (ch->peer_ino)
			e->peer = fnv(h, &ch->peer_ino, sizeof(ch->peer_ino)) | 1;
		return;
	case IPCPROF_KIND_TCP:
	case IPCPROF_KIND_UDP: {
		e->rule = RULE_SIDES;
		/* Loopback addresses mean the same thing on every host: scope them to theirs. */
		uint64_t scope =
		    is_loopback(ch->local_addr) || is_loopback(ch->peer_addr) ? boot : 0;
		e->node = tuple_key(ch->kind, scope, ch->local_addr, ch->local_port, ch->peer_addr,
				    ch->peer_port);
		if (ch->peer_port || !is_zero(ch->peer_addr, 16))
			e->peer = tuple_key(ch->kind, scope, ch->peer_addr, ch->peer_port,
					    ch->local_addr, ch->local_port);
		return;
	}
	default:
		e->rule = RULE_SHARED;
		h = fnv(fnv(FNV0, "pipe", 4), &boot, sizeof(boot));
		if (ch->kind == IPCPROF_KIND_PLUGIN || ch->kind == IPCPROF_KIND_SHM) {
			h = fnv(h, &ch->kind, sizeof(ch->kind));
			h = fnv(h, ch->plugin, strlen(ch->plugin));
		}
		h = fnv(h, &ch->dev, sizeof(ch->dev));
		e->node = fnv(h, &ch->ino, sizeof(ch->ino)) | 1;
		if (!ch->dev && !ch->ino) /* unknown identity: pair with nothing */
			e->node = fnv(fnv(FNV0, &g, sizeof(g)), &c, sizeof(c)) | 1;
		return;
	}
}

/* A unix stream or seqpacket end that connect() or accept() made in its process. */
static int conn_end(const struct ipcprof_channel *ch)
{
	return (ch->kind == IPCPROF_KIND_UNIX_STREAM || ch->kind == IPCPROF_KIND_UNIX_SEQPACKET) &&
	       (ch->flags & (IPCPROF_CH_CONNECTED | IPCPROF_CH_ACCEPTED)) && ch->conn_pid &&
	       ch->listen_pid && ch->name[0];
}

/* 1: an end that moved data (or tried); 2: a connection's end that did not; 0: neither. */
static int end_kind(const struct ipcprof_channel *ch)
{
	if (ch->kind == IPCPROF_KIND_NONE)
		return 0;
	if (ch->dir[0].calls + ch->dir[1].calls > 0)
		return 1;
	return conn_end(ch) ? 2 : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int find_root(int *uf, int x)
{
	while (uf[x] != x) {
		uf[x] = uf[uf[x]];
		x = uf[x];
	}
	return x;
}

static int node_index(const uint64_t *nodes, size_t n, uint64_t v)
{
	const uint64_t *f = bsearch(&v, nodes, n, sizeof(*nodes), cmp_u64);
	return f ? (int)(f - nodes) : -1;
}

struct conn {
	uint64_t key; /* which client process connected to which listener */
	int accepted;
	uint64_t ns;
	int node;
};

static int cmp_conn(const void *a, const void *b)
{
	const struct conn *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (x->accepted != y->accepted)
		return x->accepted - y->accepted;
	if (x->ns != y->ns)
		return x->ns < y->ns ? -1 : 1;
	return x->node - y->node;
}

/* Accepted more than this before the client's connect() began: not its connection (the slack
 * covers the clocks of two processes, each converted from the TSC by its own rate). */
#define CONN_SLACK_NS 1000000u

/*
 * The kernel names no peer to either end of a unix connection whose client closed before the
 * server accepted it (the server's end had no inode yet, the client's none any more), or before
 * the server first asked. Such ends still say which process connected to which listener (its
 * name and the process that called listen()), and when. A listener queues one client's
 * connections in the order it made them and accept() takes them in that order, so, per client
 * and listener, the k-th connection left alone is the k-th accepted one left alone. Ends the
 * kernel paired are left out on both sides, which keeps the count aligned.
 */
static int pair_connections(const struct ipcprof_model *m, const struct ep *e, size_t n,
			    const uint64_t *nodes, size_t u, int *uf)
{
	int *size = calloc(u ? u : 1, sizeof(*size));
	struct conn *c = malloc((n ? n : 1) * sizeof(*c));
	if (!size || !c) {
		free(size);
		free(c);
		return -1;
	}
	for (size_t i = 0; i < u; i++)
		size[find_root(uf, (int)i)]++;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const struct ipcprof_image *g = &m->img[e[i].img];
		const struct ipcprof_channel *ch = &g->chan[e[i].chan];
		int node = node_index(nodes, u, e[i].node);
		if (!conn_end(ch) || size[find_root(uf, node)] != 1)
			continue;
		uint64_t h = fnv(ns_key(g, g->proc.pidns), "conn", 4);
		h = fnv(h, &ch->kind, sizeof(ch->kind));
		h = fnv(h, ch->name, strnlen(ch->name, sizeof(ch->name)));
		h = fnv(h, &ch->listen_pid, sizeof(ch->listen_pid));
		h = fnv(h, &ch->conn_pid, sizeof(ch->conn_pid));
		c[k++] = (struct conn){h, !!(ch->flags & IPCPROF_CH_ACCEPTED), ch->conn_ns, node};
	}
	qsort(c, k, sizeof(*c), cmp_conn);
	for (size_t i = 0; i < k;) {
		size_t j = i, mid;
		while (j < k && c[j].key == c[i].key)
			j++;
		for (mid = i; mid < j && !c[mid].accepted; mid++)
			;
		for (size_t ci = i, si = mid; ci < mid && si < j; si++) {
			if (c[ci].ns > c[si].ns + CONN_SLACK_NS)
				continue; /* accepted before this client connected: not from it */
			int a = find_root(uf, c[ci].node), b = find_root(uf, c[si].node);
			if (a != b)
				uf[a < b ? b : a] = a < b ? a : b;
			ci++;
		}
		i = j;
	}
	free(size);
	free(c);
	return 0;
}

static int cmp_ep_link(const void *a, const void *b)
{
	const struct ep *x = a, *y = b;
	if (x->link != y->link)
		return x->link < y->link ? -1 : 1;
	if (x->img != y->img)
		return x->img < y->img ? -1 : 1;
	return x->chan < y->chan ? -1 : x->chan > y->chan;
}

static int cmp_cell(const void *a, const void *b)
{
	const struct ipcprof_cell *x = a, *y = b;
	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	return x->to < y->to ? -1 : x->to > y->to;
}

static void fmt_addr(const uint8_t a[16], uint16_t port, char *out, size_t outlen)
{
	char s[INET6_ADDRSTRLEN];
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (!memcmp(a, v4mapped, 12)) {
		inet_ntop(AF_INET, a + 12, s, sizeof(s));
		snprintf(out, outlen, "%s:%u", s, port);
	} else {
		inet_ntop(AF_INET6, a, s, sizeof(s));
		snprintf(out, outlen, "[%s]:%u", s, port);
	}
}

static void link_label(const struct ipcprof_model *m, struct ipcprof_link *l)
{
	const struct ipcprof_channel *ch = &m->img[l->end[0].image].chan[l->end[0].chan];
	const char *k = ipcprof_kind_name(l->kind);
	char a[64], b[64];
	switch (l->kind) {
	case IPCPROF_KIND_TCP:
	case IPCPROF_KIND_UDP:
		fmt_addr(ch->local_addr, ch->local_port, a, sizeof(a));
		fmt_addr(ch->peer_addr, ch->peer_port, b, sizeof(b));
		snprintf(l->label, sizeof(l->label), "%s %s - %s", k, a, b);
		break;
	case IPCPROF_KIND_UNIX_STREAM:
	case IPCPROF_KIND_UNIX_DGRAM:
	case IPCPROF_KIND_UNIX_SEQPACKET:
		if (ch->name[0])
			snprintf(l->label, sizeof(l->label), "%s %s", k, ch->name);
		else
			snprintf(l->label, sizeof(l->label), "%s ino %llu", k,
				 (unsigned long long)ch->ino);
		break;
	case IPCPROF_KIND_PLUGIN:
		snprintf(l->label, sizeof(l->label), "%s %s", ch->plugin, ch->name);
		break;
	default:
		if (ch->name[0])
			snprintf(l->label, sizeof(l->label), "%s %s", k, ch->name);
		else
			snprintf(l->label, sizeof(l->label), "%s ino %llu", k,
				 (unsigned long long)ch->ino);
	}
}

static int push_cell(struct ipcprof_model *m, size_t *cap, struct ipcprof_cell c)
{
	if (m->ncell == *cap) {
		size_t nc = *cap ? 2 * *cap : 256;
		struct ipcprof_cell *p = realloc(m->cell, nc * sizeof(*p));
		if (!p)
			return -1;
		m->cell = p;
		*cap = nc;
	}
	m->cell[m->ncell++] = c;
	return 0;
}

/* Splits each writer's bytes among the ends that could have read them, by the bytes they read. */
static int link_cells(struct ipcprof_model *m, struct ipcprof_link *l, int rule, size_t *cap)
{
	size_t before = m->ncell;
	for (int w = 0; w < l->nend; w++) {
		const struct ipcprof_endpoint *we = &l->end[w];
		const struct ipcprof_dir_stats *out =
		    &m->img[we->image].chan[we->chan].dir[IPCPROF_DIR_OUT];
		if (!out->bytes)
			continue;
		uint64_t total_in = 0;
		int nr = 0;
		for (int r = 0; r < l->nend; r++) {
			const struct ipcprof_endpoint *re = &l->end[r];
			const struct ipcprof_dir_stats *in =
			    &m->img[re->image].chan[re->chan].dir[IPCPROF_DIR_IN];
			if (re->image == we->image || !in->bytes ||
			    (rule == RULE_SIDES && re->side == we->side))
				continue;
			total_in += in->bytes;
			nr++;
		}
		for (int r = 0; r < l->nend && total_in; r++) {
			const struct ipcprof_endpoint *re = &l->end[r];
			const struct ipcprof_dir_stats *in =
			    &m->img[re->image].chan[re->chan].dir[IPCPROF_DIR_IN];
			if (re->image == we->image || !in->bytes ||
			    (rule == RULE_SIDES && re->side == we->side))
				continue;
			/* The writers this reader could have read from share its read time. */
			uint64_t reader_from = 0;
			for (int w2 = 0; w2 < l->nend; w2++) {
				const struct ipcprof_endpoint *e2 = &l->end[w2];
				if (e2->image == re->image ||
				    (rule == RULE_SIDES && e2->side == re->side))
					continue;
				reader_from +=
				    m->img[e2->image].chan[e2->chan].dir[IPCPROF_DIR_OUT].bytes;
			}
			double f = (double)in->bytes / (double)total_in;
			double wf = reader_from ? (double)out->bytes / (double)reader_from : 0;
			struct ipcprof_cell c = {
			    .from = we->image,
			    .to = re->image,
			    .bytes = nr == 1 ? out->bytes
					     : (uint64_t)((unsigned __int128)out->bytes *
							  in->bytes / total_in),
			    .time_ns = to_u64((double)out->time_ns * f +
					      (double)in->time_ns * (wf < 1 ? wf : 1)),
			    .estimated = nr > 1,
			};
			if (push_cell(m, cap, c) < 0)
				return -1;
		}
	}
	l->paired = m->ncell > before;
	return 0;
}

static int build_links(struct ipcprof_model *m)
{
	size_t n = 0;
	for (int i = 0; i < m->nimg; i++) {
		struct ipcprof_image *g = &m->img[i];
		g->chan_link = malloc((g->nchan ? g->nchan : 1) * sizeof(int));
		g->chan_side = malloc((g->nchan ? g->nchan : 1) * sizeof(int));
		if (!g->chan_link || !g->chan_side)
			return -1;
		for (uint32_t c = 0; c < g->nchan; c++) {
			g->chan_link[c] = -1;
			g->chan_side[c] = 0;
			if (end_kind(&g->chan[c]))
				n++;
		}
	}
	struct ep *e = malloc((n ? n : 1) * sizeof(*e));
	uint64_t *nodes = malloc((2 * n + 1) * sizeof(*nodes));
	int *uf = malloc((2 * n + 1) * sizeof(int));
	if (!e || !nodes || !uf) {
		free(e);
		free(nodes);
		free(uf);
		return -1;
	}
	size_t k = 0, nn = 0;
	for (int i = 0; i < m->nimg; i++) {
		struct ipcprof_image *g = &m->img[i];
		for (uint32_t c = 0; c < g->nchan; c++) {
			int how = end_kind(&g->chan[c]);
			if (!how)
				continue;
			e[k].img = i;
			e[k].chan = (int)c;
			e[k].silent = how == 2;
			endpoint_key(g, (int)c, &e[k]);
			nodes[nn++] = e[k].node;
			if (e[k].peer)
				nodes[nn++] = e[k].peer;
			k++;
		}
	}
	qsort(nodes, nn, sizeof(*nodes), cmp_u64);
	size_t u = 0;
	for (size_t i = 0; i < nn; i++)
		if (!u || nodes[u - 1] != nodes[i])
			nodes[u++] = nodes[i];
	for (size_t i = 0; i < u; i++)
		uf[i] = (int)i;
	for (size_t i = 0; i < n; i++) {
		if (!e[i].peer)
			continue;
		int a = find_root(uf, node_index(nodes, u, e[i].node));
		int b = find_root(uf, node_index(nodes, u, e[i].peer));
		if (a != b)
			uf[a < b ? b : a] = a < b ? a : b;
	}
	if (pair_connections(m, e, n, nodes, u, uf) < 0)
		goto fail;
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		e[i].side = node_index(nodes, u, e[i].node);
		e[i].link = find_root(uf, e[i].side);
		if (!e[i].silent)
			e[kept++] = e[i];
	}
	n = kept;
	qsort(e, n, sizeof(*e), cmp_ep_link);
	int nlinks = 0;
	for (size_t i = 0; i < n; i++)
		if (!i || e[i].link != e[i - 1].link)
			nlinks++;
	m->link = calloc((size_t)(nlinks ? nlinks : 1), sizeof(*m->link));
	if (!m->link)
		goto fail;
	size_t cap = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && e[j].link == e[i].link)
			j++;
		struct ipcprof_link *l = &m->link[m->nlink];
		l->nend = (int)(j - i);
		l->end = malloc((size_t)l->nend * sizeof(*l->end));
		if (!l->end)
			goto fail;
		l->kind = m->img[e[i].img].chan[e[i].chan].kind;
		for (size_t q = i; q < j; q++) {
			struct ipcprof_image *g = &m->img[e[q].img];
			const struct ipcprof_channel *ch = &g->chan[e[q].chan];
			l->end[q - i] =
			    (struct ipcprof_endpoint){e[q].img, e[q].chan, (uint64_t)e[q].side};
			g->chan_link[e[q].chan] = m->nlink;
			g->chan_side[e[q].chan] = e[q].side;
			l->bytes_out += ch->dir[IPCPROF_DIR_OUT].bytes;
			l->bytes_in += ch->dir[IPCPROF_DIR_IN].bytes;
			for (int d = 0; d < IPCPROF_NDIR; d++) {
				l->calls += ch->dir[d].calls;
				l->time_ns += ch->dir[d].time_ns;
				for (int b = 0; b < IPCPROF_HIST_BUCKETS; b++)
					l->hist[b] += ch->dir[d].hist[b];
			}
		}
		m->nlink++;
		link_label(m, l);
		if (link_cells(m, l, e[i].rule, &cap) < 0)
			goto fail;
		if (l->kind < IPCPROF_KIND_COUNT) {
			m->kind_out[l->kind] += l->bytes_out;
			m->kind_in[l->kind] += l->bytes_in;
			m->kind_calls[l->kind] += l->calls;
			m->kind_links[l->kind]++;
		}
		i = j;
	}
	/* One cell per (sender, receiver) over all links. */
	if (m->ncell)
		qsort(m->cell, m->ncell, sizeof(*m->cell), cmp_cell);
	size_t w = 0;
	for (size_t i = 0; i < m->ncell; i++) {
		if (w && m->cell[w - 1].from == m->cell[i].from &&
		    m->cell[w - 1].to == m->cell[i].to) {
			m->cell[w - 1].bytes += m->cell[i].bytes;
			m->cell[w - 1].time_ns += m->cell[i].time_ns;
			m->cell[w - 1].estimated |= m->cell[i].estimated;
		} else {
			m->cell[w++] = m->cell[i];
		}
	}
	m->ncell = w;
	free(e);
	free(nodes);
	free(uf);
	return 0;
fail:
	free(e);
	free(nodes);
	free(uf);
	return -1;
}

/* Shared memory. */

/* An object this large shared by several processes is worth a finding. */
#define IPCPROF_SHARED_FINDING_BYTES (1u << 20)
#define IPCPROF_SEGMENTS_FINDING     8 /* small shared objects that make shared_segments */

/* The object a mapping or an fd of it reaches: one per inode on one boot, whatever names and
 * fds reached it (a name unlinked after shm_open reads "... (deleted)" in a process that got
 * the fd by SCM_RIGHTS); an object of unknown inode is known by its name alone. */
static int shm_find(const struct ipcprof_model *m, uint32_t kind, uint64_t dev, uint64_t ino,
		    uint64_t boot, const char *name)
{
	for (int s = 0; s < m->nshm; s++) {
		const struct ipcprof_shm *o = &m->shm[s];
		if (o->boot != boot || o->dev != dev || o->ino != ino)
			continue;
		if (ino || (o->kind == kind && !strcmp(o->name, name)))
			return s;
	}
	return -1;
}

static const char deleted_suffix[] = " (deleted)";

static bool name_deleted(const char *name)
{
	size_t n = strlen(name), k = sizeof(deleted_suffix) - 1;
	return n >= k && !strcmp(name + n - k, deleted_suffix);
}

static int shm_new(struct ipcprof_model *m, int *cap, uint32_t kind, uint64_t dev, uint64_t ino,
		   uint64_t boot, const char *name)
{
	if (m->nshm == *cap) {
		*cap = *cap ? 2 * *cap : 16;
		struct ipcprof_shm *p = realloc(m->shm, (size_t)*cap * sizeof(*p));
		if (!p)
			return -1;
		m->shm = p;
	}
	struct ipcprof_shm *s = &m->shm[m->nshm];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->dev = dev;
	s->ino = ino;
	s->boot = boot;
	snprintf(s->name, sizeof(s->name), "%.*s", (int)sizeof(s->name) - 1, name);
	s->img = malloc((size_t)m->nimg * sizeof(int));
	s->writer = malloc((size_t)m->nimg * sizeof(int));
	if (!s->img || !s->writer) {
		free(s->img);
		free(s->writer);
		return -1;
	}
	return m->nshm++;
}

static void add_img(int *list, int *n, int i)
{
	for (int k = 0; k < *n; k++)
		if (list[k] == i)
			return;
	list[(*n)++] = i;
}

static int build_shm(struct ipcprof_model *m)
{
	int cap = 0;
	for (int i = 0; i < m->nimg; i++) {
		const struct ipcprof_image *g = &m->img[i];
		uint64_t boot = boot_key(g);
		for (uint32_t k = 0; k < g->nmap; k++) {
			const struct ipcprof_mapping *mp = &g->map[k];
			if (!mp->kind)
				continue;
			int found = shm_find(m, mp->kind, mp->dev, mp->ino, boot, mp->name);
			if (found < 0 && (found = shm_new(m, &cap, mp->kind, mp->dev, mp->ino, boot,
							  mp->name)) < 0)
				return -1;
			struct ipcprof_shm *s = &m->shm[found];
			/* The name it has while it has one. */
			if (name_deleted(s->name) && !name_deleted(mp->name))
				snprintf(s->name, sizeof(s->name), "%.*s", (int)sizeof(s->name) - 1,
					 mp->name);
			uint64_t size = mp->object_size > mp->length ? mp->object_size : mp->length;
			if (size > s->size)
				s->size = size;
			if (mp->resident_bytes > s->resident_bytes)
				s->resident_bytes = mp->resident_bytes;
			add_img(s->img, &s->nimg, i);
		}
	}
	/* Processes that wrote or read a mapped object through an fd (joblib writes the array it
	 * memmaps into /dev/shm, the workers map it) are among its processes: those bytes went
	 * into shared memory, not to another process. */
	for (int i = 0; i < m->nimg; i++) {
		const struct ipcprof_image *g = &m->img[i];
		uint64_t boot = boot_key(g);
		for (uint32_t c = 0; c < g->nchan; c++) {
			const struct ipcprof_channel *ch = &g->chan[c];
			if (ch->kind != IPCPROF_KIND_SHM || !ch->ino)
				continue;
			int s = shm_find(m, 0, ch->dev, ch->ino, boot, "");
			if (s < 0)
				continue;
			struct ipcprof_shm *o = &m->shm[s];
			add_img(o->img, &o->nimg, i);
			if (ch->dir[IPCPROF_DIR_OUT].bytes) {
				o->written_bytes += ch->dir[IPCPROF_DIR_OUT].bytes;
				add_img(o->writer, &o->nwriter, i);
			}
		}
	}
	for (int s = 0; s < m->nshm; s++)
		m->shm_bytes += m->shm[s].size;
	return 0;
}

/* Timeline rows. */

static int cmp_iv(const void *a, const void *b)
{
	const struct ipcprof_interval *x = a, *y = b;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return x->start_ns < y->start_ns ? -1 : x->start_ns > y->start_ns;
}

/* Merges neighbours closer than gap: the display cannot show what is finer anyway. */
static size_t merge_row(struct ipcprof_interval *iv, size_t n, uint64_t gap)
{
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (w && iv[i].start_ns <= iv[w - 1].end_ns + gap) {
			struct ipcprof_interval *p = &iv[w - 1];
			if (iv[i].bytes > p->bytes) {
				p->channel = iv[i].channel;
				p->dir = iv[i].dir;
			}
			if (iv[i].end_ns > p->end_ns)
				p->end_ns = iv[i].end_ns;
			p->bytes += iv[i].bytes;
			p->calls += iv[i].calls;
		} else {
			iv[w++] = iv[i];
		}
	}
	return w;
}

static int build_rows(struct ipcprof_model *m)
{
	size_t cap = 0;
	size_t nrows_est = 0;
	for (int i = 0; i < m->nimg; i++)
		nrows_est += m->img[i].nint ? 1 : 0;
	size_t per_row = nrows_est ? TIMELINE_TOTAL_MAX / nrows_est : TIMELINE_ROW_MAX;
	if (per_row > TIMELINE_ROW_MAX)
		per_row = TIMELINE_ROW_MAX;
	if (per_row < 50)
		per_row = 50;
	for (int i = 0; i < m->nimg; i++) {
		struct ipcprof_image *g = &m->img[i];
		if (!g->nint)
			continue;
		struct ipcprof_interval *all = malloc(g->nint * sizeof(*all));
		if (!all)
			return -1;
		memcpy(all, g->intervals, g->nint * sizeof(*all));
		qsort(all, g->nint, sizeof(*all), cmp_iv);
		for (size_t a = 0; a < g->nint;) {
			size_t b = a;
			while (b < g->nint && all[b].tid == all[a].tid)
				b++;
			if (m->nrow == cap) {
				cap = cap ? 2 * cap : 32;
				struct ipcprof_trow *r = realloc(m->row, cap * sizeof(*r));
				if (!r) {
					free(all);
					return -1;
				}
				m->row = r;
			}
			struct ipcprof_trow *row = &m->row[m->nrow];
			row->image = i;
			row->tid = all[a].tid;
			row->n = b - a;
			row->iv = malloc(row->n * sizeof(*row->iv));
			if (!row->iv) {
				free(all);
				return -1;
			}
			memcpy(row->iv, all + a, row->n * sizeof(*row->iv));
			row->merged = false;
			uint64_t span = g->wall_ns ? g->wall_ns : 1;
			for (uint64_t gap = span / (4 * per_row) + 1; row->n > per_row; gap *= 2) {
				row->n = merge_row(row->iv, row->n, gap);
				row->merged = true;
			}
			m->nrow++;
			a = b;
		}
		free(all);
	}
	return 0;
}

/* Call sites: one per recorded stack; ipcprof_symbolize names the frames and merges them. */
static int build_sites(struct ipcprof_model *m)
{
	int n = 0;
	for (int i = 0; i < m->nimg; i++)
		n += (int)m->img[i].nstack;
	m->site = calloc((size_t)(n ? n : 1), sizeof(*m->site));
	if (!m->site)
		return -1;
	for (int i = 0; i < m->nimg; i++) {
		const struct ipcprof_image *g = &m->img[i];
		for (uint32_t s = 0; s < g->nstack; s++) {
			const struct ipcprof_stack *st = &g->stack[s];
			struct ipcprof_site *site = &m->site[m->nsite++];
			site->bytes = st->bytes;
			site->calls = st->calls;
			site->nimg = 1;
			site->first_image = i;
			site->kind = st->channel < g->nchan ? g->chan[st->channel].kind : 0;
			site->depth = (int)st->depth;
			for (int k = 0; k < site->depth; k++)
				site->frame[k].ip = st->ip[k];
		}
	}
	return 0;
}

/* Findings. */

static struct ipcprof_finding *add_finding(struct ipcprof_model *m, int *cap, const char *kind,
					   double weight)
{
	if (m->nfind == *cap) {
		*cap = *cap ? 2 * *cap : 16;
		struct ipcprof_finding *f = realloc(m->find, (size_t)*cap * sizeof(*f));
		if (!f)
			return NULL;
		m->find = f;
	}
	struct ipcprof_finding *f = &m->find[m->nfind++];
	memset(f, 0, sizeof(*f));
	snprintf(f->kind, sizeof(f->kind), "%s", kind);
	f->weight = weight;
	return f;
}

/* A finding put before all others: what it says holds for every figure after it. */
static struct ipcprof_finding *add_first_finding(struct ipcprof_model *m, int *cap,
						 const char *kind)
{
	struct ipcprof_finding *f = add_finding(m, cap, kind, 0);
	if (!f)
		return NULL;
	struct ipcprof_finding keep = *f;
	memmove(m->find + 1, m->find, (size_t)(m->nfind - 1) * sizeof(*m->find));
	*m->find = keep;
	return m->find;
}

static void who(const struct ipcprof_model *m, int i, char *out, size_t outlen)
{
	const struct ipcprof_image *g = &m->img[i];
	snprintf(out, outlen, "PID %d (%s)", g->proc.pid, g->role);
}

static const char *link_name(const struct ipcprof_model *m, const struct ipcprof_image *g,
			     uint32_t c)
{
	int l = c < g->nchan ? g->chan_link[c] : -1;
	return l >= 0 ? m->link[l].label : "a channel";
}

static int cmp_finding(const void *a, const void *b)
{
	const struct ipcprof_finding *x = a, *y = b;
	return x->weight > y->weight ? -1 : x->weight < y->weight;
}

#define FIND_OR_FAIL(f)                                                                            \
	do {                                                                                       \
		if (!(f))                                                                          \
			return -1;                                                                 \
	} while (0)

/* Thresholds of the serialization finding: pickling and unpickling worth rethinking. */
#define SERIALIZE_MIN_NS    100000000ull /* 100 ms */
#define SERIALIZE_MIN_SHARE 0.05         /* of the processes' summed basis */

/* One finding for the run: CPU time the samples saw pickling and unpickling. */
static int serialization_finding(struct ipcprof_model *m, int *cap)
{
	const struct ipcprof_attr *t = &m->total;
	uint64_t ser = t->serialize_ns + t->deserialize_ns;
	if (!t->cpu_sampled || ser < SERIALIZE_MIN_NS ||
	    (double)ser < SERIALIZE_MIN_SHARE * (double)t->basis_ns)
		return 0;
	/* The process that spent the most on it, named as an example. */
	int top = -1;
	uint64_t topv = 0;
	for (int i = 0; i < m->nimg; i++) {
		uint64_t v = m->img[i].attr.serialize_ns + m->img[i].attr.deserialize_ns;
		if (v > topv) {
			topv = v;
			top = i;
		}
	}
	struct ipcprof_finding *f = add_finding(m, cap, "serialization", (double)ser / 1e9);
	if (!f)
		return -1;
	char t1[32], t2[32], t3[32], t4[32], t5[32], w1[96] = "";
	/* serialize_ns holds the time queued for a CPU meanwhile (by the clock, pickling took
	 * both): the title says which part is which. */
	uint64_t queued = t->serialize_wait_ns + t->deserialize_wait_ns;
	ipcprof_fmt_ns(ser, t1, sizeof(t1));
	ipcprof_fmt_ns(t->serialize_ns - t->serialize_wait_ns, t2, sizeof(t2));
	ipcprof_fmt_ns(t->deserialize_ns - t->deserialize_wait_ns, t3, sizeof(t3));
	ipcprof_fmt_ns(ser - queued, t4, sizeof(t4));
	ipcprof_fmt_ns(queued, t5, sizeof(t5));
	if (top >= 0)
		who(m, top, w1, sizeof(w1));
	snprintf(f->title, sizeof(f->title),
		 "Serialization costs %s: %s of CPU (%s pickling, %s unpickling) and %s queued "
		 "for a CPU meanwhile (%.0f%% of the processes' time)",
		 t1, t4, t2, t3, t5, 100.0 * (double)ser / (double)(t->basis_ns ? t->basis_ns : 1));
	ipcprof_fmt_ns(topv, t2, sizeof(t2));
	snprintf(f->detail, sizeof(f->detail),
		 "CPU samples found this time in the pickler and unpickler, with the time their "
		 "threads were queued for a CPU meanwhile (%s alone: %s), on "
		 "top of the time the bytes took to go through the channels. Send indices, "
		 "file names or small descriptions instead of the data, or put large arrays in "
		 "shared memory (multiprocessing.shared_memory, numpy arrays over a shared "
		 "buffer) so that nothing is pickled.",
		 w1, t2);
	return 0;
}

/* Put first, like what a report without records lacks: the figures above it miss this traffic. */
static int uring_finding(struct ipcprof_model *m, int *cap)
{
	if (!m->nuring)
		return 0;
	char who_[96], list[200] = "";
	size_t l = 0;
	int shown = 0;
	for (int i = 0; i < m->nimg && shown < 3; i++) {
		if (!m->img[i].uring.rings)
			continue;
		who(m, i, who_, sizeof(who_));
		l += (size_t)snprintf(list + l, sizeof(list) - l, "%s%s", shown ? ", " : "", who_);
		if (l >= sizeof(list))
			l = sizeof(list) - 1;
		shown++;
	}
	struct ipcprof_finding *f = add_first_finding(m, cap, "io_uring");
	if (!f)
		return -1;
	snprintf(f->title, sizeof(f->title),
		 "%s%s used io_uring: what %s through it is not counted (bytes and time unknown)",
		 list, m->nuring > shown ? " and others" : "",
		 m->nuring == 1 ? "it moved" : "they moved");
	snprintf(f->detail, sizeof(f->detail),
		 "Reads, writes, sends and receives submitted to an io_uring ring are done by the "
		 "kernel without the calls ipcprof counts, so the bytes moved that way on pipes "
		 "and sockets, and the time it took, are missing from %s figures, from the "
		 "channels and from the shares above: they may be a large part of the run's. "
		 "Count them by other means (the program's own counters, or an eBPF tool on the "
		 "io_uring tracepoints).",
		 m->nuring == 1 ? "its" : "their");
	return 0;
}

/* Put first: the bytes of every figure above may be short (or long) by what it says. */
static int kernel_gap_finding(struct ipcprof_model *m, int *cap)
{
	char list[400] = "", who_[96], b1[32];
	size_t l = 0;
	int procs = 0, shown = 0, gaps = 0;
	for (int i = 0; i < m->nimg; i++) {
		struct ipcprof_kernel_gap gap[IPCPROF_KERNEL_GAPS_MAX];
		int n = ipcprof_kernel_gaps(&m->img[i], gap);
		if (!n)
			continue;
		procs++;
		gaps += n;
		for (int k = 0; k < n && shown < 3; k++, shown++) {
			uint64_t kb = gap[k].kernel_bytes, pb = gap[k].preload_bytes;
			who(m, i, who_, sizeof(who_));
			ipcprof_fmt_bytes(kb > pb ? kb - pb : pb - kb, b1, sizeof(b1));
			l += (size_t)snprintf(
			    list + l, sizeof(list) - l, "%s%s %s %s: %s %s", shown ? "; " : "",
			    who_, ipcprof_kind_name(gap[k].kind),
			    gap[k].dir == IPCPROF_DIR_OUT ? "sent" : "received", b1,
			    kb > pb ? "more in the kernel" : "fewer in the kernel");
			if (l >= sizeof(list))
				l = sizeof(list) - 1;
		}
	}
	if (!procs)
		return 0;
	struct ipcprof_finding *f = add_first_finding(m, cap, "kernel_gap");
	if (!f)
		return -1;
	snprintf(f->title, sizeof(f->title),
		 "The kernel's bytes differ from ipcprof's in %d process%s: %s%s", procs,
		 procs == 1 ? "" : "es", list, shown < gaps ? "; ..." : "");
	snprintf(
	    f->detail, sizeof(f->detail),
	    "The eBPF probes counted the bytes every read- and write-like call returned on "
	    "that kind of fd; the preload counts the calls it sees. More in the kernel: calls "
	    "the preload missed (made past its wrappers, or a stdio call whose process was "
	    "killed before it returned, as by SIGPIPE); fewer: calls the preload counted that "
	    "the kernel did not see as such (io_uring, splice). The channels, matrix and shares "
	    "use the preload's bytes; each process's kernel.gaps gives both figures.");
	return 0;
}

/* A channel kind that copies each byte from one process to another through the kernel. */
static bool copying_kind(uint32_t kind)
{
	return kind >= IPCPROF_KIND_PIPE && kind <= IPCPROF_KIND_UDP;
}

/* How the run moved its large data: shared in memory, or copied through channels. The two call
 * for different advice (joblib memmaps a large array and sends small objects pickled). */
static int memory_findings(struct ipcprof_model *m, int *cap)
{
	char b1[32], b2[32], w1[96];
	struct ipcprof_finding *f;
	uint64_t copied = 0, shared = 0;
	int nlinks = 0;
	for (int l = 0; l < m->nlink; l++)
		if (copying_kind(m->link[l].kind) && m->link[l].paired) {
			copied += m->link[l].bytes_in;
			nlinks++;
		}
	for (int s = 0; s < m->nshm; s++) {
		const struct ipcprof_shm *o = &m->shm[s];
		if (o->nimg < 2 || o->size < IPCPROF_SHARED_FINDING_BYTES)
			continue;
		shared += o->size;
		FIND_OR_FAIL(f = add_finding(m, cap, "shared_memory", 0));
		ipcprof_fmt_bytes(o->size, b1, sizeof(b1));
		ipcprof_fmt_bytes(o->resident_bytes, b2, sizeof(b2));
		char by[160] = "";
		if (o->nwriter) {
			who(m, o->writer[0], w1, sizeof(w1));
			snprintf(by, sizeof(by), ", written through its fd by %s%s", w1,
				 o->nwriter > 1 ? " and others" : "");
		}
		snprintf(f->title, sizeof(f->title),
			 "%s shared in memory by %d processes: %.200s%s", b1, o->nimg, o->name, by);
		snprintf(
		    f->detail, sizeof(f->detail),
		    "The processes read this object in place: it was not copied to each of them "
		    "(at most %s of it was resident in one). This is the cheap way to give "
		    "workers large arrays; keep sending them indices or slices, not the data.",
		    b2);
	}
	/*
	 * Many small objects each mapped by two processes are messages through shared memory, one
	 * object a message (PyTorch's DataLoader hands each batch so, its fd over a unix socket):
	 * not copied, but each made, filled, mapped and unlinked once.
	 */
	uint64_t seg_bytes = 0;
	int nseg = 0, seg_at = -1;
	for (int s = 0; s < m->nshm; s++) {
		const struct ipcprof_shm *o = &m->shm[s];
		if (o->nimg < 2 || o->size >= IPCPROF_SHARED_FINDING_BYTES)
			continue;
		seg_bytes += o->size;
		if (seg_at < 0 || o->size > m->shm[seg_at].size)
			seg_at = s;
		nseg++;
	}
	if (nseg >= IPCPROF_SEGMENTS_FINDING && seg_bytes >= IPCPROF_SHARED_FINDING_BYTES / 16) {
		FIND_OR_FAIL(f = add_finding(m, cap, "shared_segments", 0));
		ipcprof_fmt_bytes(seg_bytes, b1, sizeof(b1));
		ipcprof_fmt_bytes(seg_bytes / (uint64_t)nseg, b2, sizeof(b2));
		snprintf(f->title, sizeof(f->title),
			 "%s passed in %d shared-memory objects of %s on average, each mapped by "
			 "two or more processes (the largest: %.200s)",
			 b1, nseg, b2, m->shm[seg_at].name);
		snprintf(f->detail, sizeof(f->detail),
			 "Each object carried one message or batch without a copy through the "
			 "kernel (PyTorch's DataLoader passes each batch so, its fd over a unix "
			 "socket). Each still costs making, sizing, mapping and unlinking it and the "
			 "page faults that fill it: with objects this small those costs come with "
			 "every batch; larger batches (batch_size) pay them less often.");
	}
	if (copied >= IPCPROF_SHARED_FINDING_BYTES / 16 && copied > shared) {
		FIND_OR_FAIL(f = add_finding(m, cap, "copied_data", 0));
		ipcprof_fmt_bytes(copied, b1, sizeof(b1));
		snprintf(f->title, sizeof(f->title),
			 "%s were copied between processes through %d %s", b1, nlinks,
			 nlinks == 1 ? "pipe or socket" : "pipes and sockets");
		snprintf(f->detail, sizeof(f->detail),
			 "Each of these bytes was written by one process and read by another: "
			 "serialized, copied in and out of the kernel, deserialized. Large arrays "
			 "can be shared in memory instead (multiprocessing.shared_memory; joblib "
			 "memmaps arguments larger than max_nbytes); many small objects cost fewer "
			 "calls in larger batches (chunksize, batch_size).");
	}
	return 0;
}

static int build_findings(struct ipcprof_model *m)
{
	int cap = 0;
	char b1[32], b2[32], t1[32], t2[32], w1[96], w2[96];
	struct ipcprof_finding *f;
	for (int i = 0; i < m->nimg; i++) {
		const struct ipcprof_image *g = &m->img[i];
		who(m, i, w1, sizeof(w1));
		/* Large payloads sent repeatedly. */
		for (uint32_t k = 0; k < g->nfp; k++) {
			const struct ipcprof_fingerprint *fp = &g->fp[k];
			if (fp->count < 2 || fp->channel >= g->nchan)
				continue;
			const struct ipcprof_dir_stats *o =
			    &g->chan[fp->channel].dir[IPCPROF_DIR_OUT];
			double rate =
			    o->time_ns ? (double)o->bytes / ((double)o->time_ns / 1e9) : 0;
			double secs = rate > 0 ? (double)(fp->size * (fp->count - 1)) / rate : 0;
			FIND_OR_FAIL(f = add_finding(m, &cap, "repeated_payload", secs));
			ipcprof_fmt_bytes(fp->size, b1, sizeof(b1));
			ipcprof_fmt_bytes(fp->size * fp->count, b2, sizeof(b2));
			char where[300] = "", pickled[96] = "";
			if (ipcprof_py_site_line(g, fp->channel, where + 6, sizeof(where) - 6))
				memcpy(where, " from ", 6);
			/* What the process's pickling cost, most often this payload's. */
			if (g->attr.cpu_sampled && g->attr.serialize_ns) {
				ipcprof_fmt_ns(g->attr.serialize_ns, t1, sizeof(t1));
				snprintf(pickled, sizeof(pickled),
					 "; pickling cost %s of CPU in that process", t1);
			}
			snprintf(f->title, sizeof(f->title),
				 "The same %s payload was sent %llu times (%s) by %s%s%s", b1,
				 (unsigned long long)fp->count, b2, w1, where, pickled);
			ipcprof_fmt_ns(to_u64(secs * 1e9), t1, sizeof(t1));
			snprintf(
			    f->detail, sizeof(f->detail),
			    "Identical content went out on %s %llu times. Sending it once and "
			    "sharing it (shared memory, or inheriting it through fork) would save "
			    "about %s of writing, plus the receivers' reading and decoding.",
			    link_name(m, g, fp->channel), (unsigned long long)fp->count, t1);
		}
		/* Many small messages, and writers held up by slow readers. */
		for (uint32_t c = 0; c < g->nchan; c++) {
			for (int d = 0; d < IPCPROF_NDIR; d++) {
				const struct ipcprof_dir_stats *s = &g->chan[c].dir[d];
				if (s->calls >= 1000 && s->bytes / s->calls < 1024 &&
				    s->time_ns >= 1000000) {
					FIND_OR_FAIL(f = add_finding(m, &cap, "small_messages",
								     (double)s->time_ns / 1e9));
					ipcprof_fmt_ns(s->time_ns, t1, sizeof(t1));
					snprintf(f->title, sizeof(f->title),
						 "%s made %llu %s calls averaging %llu bytes (%s)",
						 w1, (unsigned long long)s->calls,
						 d == IPCPROF_DIR_OUT ? "write" : "read",
						 (unsigned long long)(s->bytes / s->calls), t1);
					snprintf(
					    f->detail, sizeof(f->detail),
					    "On %s each call costs a system call and a wake-up of "
					    "the peer. Batching messages (send lists, larger "
					    "chunksize in Pool.map) cuts the calls.",
					    link_name(m, g, c));
				}
			}
			const struct ipcprof_dir_stats *o = &g->chan[c].dir[IPCPROF_DIR_OUT];
			if (!o->time_ns || g->chan_link[c] < 0)
				continue;
			/* The kernel's split, when it ran, is the process's; else the sample's. */
			double oncpu =
			    g->attr.split_kernel && g->attr.ipc_ns
				? (double)g->attr.ipc_transfer_ns / (double)g->attr.ipc_ns
			    : o->sampled_wall_ns
				? (double)o->sampled_cpu_ns / (double)o->sampled_wall_ns
				: 1.0;
			double wait = (double)o->time_ns * (1 - (oncpu < 1 ? oncpu : 1));
			if (wait < 10e6 || wait < 0.05 * (double)g->attr.basis_ns)
				continue;
			const struct ipcprof_link *l = &m->link[g->chan_link[c]];
			char readers[200] = "";
			size_t rl = 0;
			for (int e = 0; e < l->nend && rl < sizeof(readers) - 40; e++) {
				const struct ipcprof_endpoint *re = &l->end[e];
				const struct ipcprof_image *rg = &m->img[re->image];
				if (re->image == i || !rg->chan[re->chan].dir[IPCPROF_DIR_IN].bytes)
					continue;
				rl += (size_t)snprintf(readers + rl, sizeof(readers) - rl, "%s%d",
						       rl ? ", " : "", rg->proc.pid);
			}
			FIND_OR_FAIL(f = add_finding(m, &cap, "slow_reader", wait / 1e9));
			ipcprof_fmt_ns(to_u64(wait), t1, sizeof(t1));
			char where[300] = "";
			if (ipcprof_py_site_line(g, c, where + 6, sizeof(where) - 6))
				memcpy(where, " from ", 6);
			snprintf(f->title, sizeof(f->title),
				 "%.90s waited %s blocked writing to %.160s%s", w1, t1, l->label,
				 where);
			snprintf(
			    f->detail, sizeof(f->detail),
			    "The writer spent %.0f%% of its time in those writes off-CPU "
			    "(estimated): the reader%s (PID %s) did not drain the channel fast "
			    "enough. Speed up or add readers, or give the channel more buffer.",
			    100.0 * wait / (double)(g->attr.basis_ns ? g->attr.basis_ns : 1),
			    rl && strchr(readers, ',') ? "s" : "", rl ? readers : "unprofiled");
		}
		/* Incomplete figures. */
		const struct ipcprof_dropped *dr = &g->dropped;
		uint64_t lost =
		    dr->channels + dr->mappings + dr->untracked_fds + dr->internal_errors;
		if (lost || g->intervals_lost) {
			FIND_OR_FAIL(f = add_finding(m, &cap, "incomplete", 0));
			snprintf(f->title, sizeof(f->title), "Some figures of %s are incomplete",
				 w1);
			snprintf(f->detail, sizeof(f->detail),
				 "Not counted: %llu channels, %llu mappings and %llu calls on "
				 "untracked fds (tables full); %llu timeline intervals beyond its "
				 "capacity (raise IPCPROF_TIMELINE); %llu internal errors.",
				 (unsigned long long)dr->channels, (unsigned long long)dr->mappings,
				 (unsigned long long)dr->untracked_fds,
				 (unsigned long long)g->intervals_lost,
				 (unsigned long long)dr->internal_errors);
		}
	}
	const uint64_t *kd = m->kernel_dropped;
	if (kd[0] + kd[1] + kd[2] + kd[3]) {
		FIND_OR_FAIL(f = add_finding(m, &cap, "incomplete", 0));
		snprintf(f->title, sizeof(f->title), "Some kernel figures are incomplete");
		snprintf(f->detail, sizeof(f->detail),
			 "The probes' tables were full: %llu processes and %llu threads were not "
			 "followed, %llu calls and the bytes of %llu mmsg messages were not "
			 "counted.",
			 (unsigned long long)kd[0], (unsigned long long)kd[1],
			 (unsigned long long)kd[2], (unsigned long long)kd[3]);
	}
	/* Low compute-to-transfer ratio for the run. */
	if (serialization_finding(m, &cap) < 0)
		return -1;
	const struct ipcprof_attr *w = m->nworkers ? &m->workers : &m->total;
	uint64_t move = ipcprof_attr_moving(w);
	if (move >= 1000000 && w->compute_ns < 2 * move) {
		FIND_OR_FAIL(f = add_finding(m, &cap, "low_compute_ratio", (double)move / 1e9));
		ipcprof_fmt_ns(w->compute_ns, t1, sizeof(t1));
		ipcprof_fmt_ns(move, t2, sizeof(t2));
		snprintf(f->title, sizeof(f->title),
			 "%s computed for %s and moved data for %s (ratio %.2f)",
			 m->nworkers ? "Workers" : "Processes", t1, t2,
			 (double)w->compute_ns / (double)move);
		snprintf(f->detail, sizeof(f->detail),
			 "Parallel work pays only when each process computes much longer than it "
			 "takes to move its data. Share the data in memory "
			 "(multiprocessing.shared_memory, numpy arrays in shared buffers), send "
			 "indices or file names instead of the data, or move the computation to "
			 "where the data is.");
	}
	if (memory_findings(m, &cap) < 0)
		return -1;
	(void)w2;
	if (m->nfind)
		qsort(m->find, (size_t)m->nfind, sizeof(*m->find), cmp_finding);
	if (m->kernel_only) {
		/* What a report without records lacks comes before any advice drawn from it. */
		FIND_OR_FAIL(f = add_finding(m, &cap, "incomplete", 0));
		memmove(m->find + 1, m->find, (size_t)(m->nfind - 1) * sizeof(*m->find));
		memset(m->find, 0, sizeof(*m->find));
		snprintf(m->find->kind, sizeof(m->find->kind), "incomplete");
		snprintf(m->find->title, sizeof(m->find->title),
			 "%d of %d processes have the eBPF probes' figures alone: no channel "
			 "pairing, no fingerprints, no call sites",
			 m->kernel_only, m->nimg);
		snprintf(
		    m->find->detail, sizeof(m->find->detail),
		    "No preload record was read for them (`ipcprof record --no-preload`, or "
		    "records missing): the kernel counted their calls, bytes and time per fd "
		    "kind and direction, but it does not say which pipe or socket an fd was. "
		    "Each process has one unpaired channel per fd kind, so there is no "
		    "communication matrix; repeated payloads, call sites, the timeline and "
		    "shared-memory objects need the preload. Their CPU time is the scheduler's "
		    "on-CPU time; argv is the executable's path alone.");
	}
	if (m->kernel_attached_pid) {
		/* Next to it: what the attach left out of every figure. */
		FIND_OR_FAIL(f = add_finding(m, &cap, "incomplete", 0));
		struct ipcprof_finding a = *f;
		ipcprof_kernel_attached_finding(m, &a);
		memmove(m->find + 2, m->find + 1, (size_t)(m->nfind - 2) * sizeof(*m->find));
		m->find[1] = a;
	}
	if (kernel_gap_finding(m, &cap) < 0)
		return -1;
	return uring_finding(m, &cap);
}

static bool runtime_helper(const char *role)
{
	return !strcmp(role, "resource tracker") || !strcmp(role, "forkserver");
}

static void build_totals(struct ipcprof_model *m)
{
	m->nworkers = 0;
	m->nuring = 0;
	for (int i = 0; i < m->nimg; i++) {
		struct ipcprof_image *g = &m->img[i];
		attr_add(&m->total, &g->attr);
		m->nuring += g->uring.rings > 0;
		for (uint32_t c = 0; c < g->nchan; c++) {
			/* Bytes written into a shared-memory object went to no process (build_shm). */
			if (g->chan[c].kind == IPCPROF_KIND_SHM)
				continue;
			g->bytes_out += g->chan[c].dir[IPCPROF_DIR_OUT].bytes;
			g->bytes_in += g->chan[c].dir[IPCPROF_DIR_IN].bytes;
		}
		/* Workers: every process the run started; the first one, and what it exec'd
                 * itself into, aside, and the runtime's own helpers (Python's resource tracker
                 * and forkserver), which wait for the whole run by design. */
		int k = i;
		while (m->img[k].parent >= 0 && m->img[k].proc.origin == IPCPROF_ORIGIN_EXEC)
			k = m->img[k].parent;
		if (m->img[k].parent >= 0 && !runtime_helper(g->role)) {
			attr_add(&m->workers, &g->attr);
			m->nworkers++;
		}
	}
	const struct ipcprof_attr *w = m->nworkers ? &m->workers : &m->total;
	uint64_t move = ipcprof_attr_moving(w);
	char t1[32], t2[32];
	ipcprof_fmt_ns(move, t1, sizeof(t1));
	ipcprof_fmt_ns(w->basis_ns, t2, sizeof(t2));
	if (!m->nimg)
		snprintf(m->verdict, sizeof(m->verdict), "No process records were found.");
	else if (!move && m->nuring)
		snprintf(m->verdict, sizeof(m->verdict),
			 "No data movement was seen, but %d process%s used io_uring, whose "
			 "transfers ipcprof does not see: the time spent moving data is unknown.",
			 m->nuring, m->nuring == 1 ? "" : "es");
	else if (!move)
		snprintf(m->verdict, sizeof(m->verdict),
			 "No time was spent moving data between processes.");
	else
		snprintf(m->verdict, sizeof(m->verdict),
			 "%.0f%% of %s time was data movement (%s of %s in %d process%s)",
			 100.0 * (double)move / (double)(w->basis_ns ? w->basis_ns : 1),
			 m->nworkers ? "worker" : "process", t1, t2,
			 m->nworkers ? m->nworkers : m->nimg,
			 (m->nworkers ? m->nworkers : m->nimg) == 1 ? "" : "es");
	if (move && m->nuring) {
		size_t l = strlen(m->verdict);
		snprintf(m->verdict + l, sizeof(m->verdict) - l,
			 "; not counted: io_uring traffic of %d process%s", m->nuring,
			 m->nuring == 1 ? "" : "es");
	}
	if (m->kernel_only) {
		/* Said first: these figures come from the probes alone. */
		char v[sizeof(m->verdict)];
		snprintf(v, sizeof(v), "%s", m->verdict);
		char at[64] = "";
		if (m->kernel_attached_pid)
			snprintf(at, sizeof(at), ", attached to running PID %d",
				 m->kernel_attached_pid);
		snprintf(m->verdict, sizeof(m->verdict), "eBPF probes alone%s%s: %.180s",
			 m->kernel_only < m->nimg ? " for some processes" : "", at, v);
	}
}

int ipcprof_model_build(struct ipcprof_model *m)
{
	for (int i = 0; i < m->nimg; i++) {
		image_end(&m->img[i]);
		m->img[i].boot = compute_boot_key(&m->img[i]);
	}
	if (build_lineage(m) < 0)
		return -1;
	build_clocks(m);
	if (!m->rules) {
		char err[256];
		if (ipcprof_rules_finish(&m->own_rules, err, sizeof(err)) < 0)
			return -1;
		m->rules = &m->own_rules;
	}
	if (!m->symtab && !(m->symtab = ipcprof_symtab_new()))
		return -1;
	/* The samples' categories first: the attribution takes them out of compute. */
	if (ipcprof_profile_build(m, m->symtab) < 0)
		return -1;
	for (int i = 0; i < m->nimg; i++)
		ipcprof_attribute(&m->img[i], &m->img[i].attr);
	if (build_links(m) < 0 || split_waits(m) < 0 || build_shm(m) < 0 || build_rows(m) < 0 ||
	    build_sites(m) < 0)
		return -1;
	if (ipcprof_symbolize(m, m->symtab) < 0)
		return -1;
	build_totals(m);
	return build_findings(m);
}
