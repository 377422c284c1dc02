/* The C demos' common driver: forks the workers, hands out the rounds, checks and prints the
 * results. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "demo.h"

#define DEFAULT_ELEMENTS 8000000u
#define DEFAULT_WORKERS  4u
#define DEFAULT_ROUNDS   4u
#define MAX_WORKERS      256u

/* The two ends of one worker's channels; with a socketpair task and result fds are the same. */
struct worker {
	pid_t pid;
	int task_w;           /* parent writes tasks */
	int result_r;         /* parent reads results */
	int task_r;           /* worker reads tasks */
	int result_w;         /* worker writes results */
	unsigned sent;        /* tasks sent */
	unsigned received;    /* results received */
	long pid_was;         /* pid, kept after the worker is reaped */
	uint64_t copy_cpu_ns; /* the worker's own measures, as of its latest result */
	uint64_t cpu_ns;
};

/* The parent's CPU time in user-space copies of task data (the variant's send_payload). */
static uint64_t parent_copy_cpu_ns;

uint64_t ipcprof_demo_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t ipcprof_demo_thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* splitmix64: cheap, and the same numbers on every run and in every variant. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15u;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
	return x ^ (x >> 31);
}

void ipcprof_demo_fill(double *a, uint64_t start, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		a[i] = (double)(mix(start + i) >> 11) * 0x1.0p-53;
}

double ipcprof_demo_sum(const double *a, uint64_t n)
{
	double s = 0.0;
	for (uint64_t i = 0; i < n; i++)
		s += a[i];
	return s;
}

int ipcprof_demo_read_full(int fd, void *buf, size_t n, uint64_t *bytes)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = read(fd, (char *)buf + done, n - done);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			if (done == 0)
				return 0;
			errno = EPROTO;
			return -1;
		}
		done += (size_t)r;
		*bytes += (uint64_t)r;
	}
	return 1;
}

int ipcprof_demo_write_full(int fd, const void *buf, size_t n, uint64_t *bytes)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = write(fd, (const char *)buf + done, n - done);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)r;
		*bytes += (uint64_t)r;
	}
	return 0;
}

static void usage(FILE *f, const char *prog, const struct ipcprof_demo_variant *v)
{
	fprintf(
	    f,
	    "Usage: %s [OPTIONS]\n"
	    "%s\n"
	    "The job, the same in every variant: W workers each sum an array of N doubles,\n"
	    "R rounds. Prints the wall time, the result, the exact payload bytes sent to\n"
	    "and received from the workers through pipes or sockets, and each process's CPU\n"
	    "time in all and in user-space copies of task data (memcpy), as it measures them.\n"
	    "\n"
	    "Options:\n"
	    "  -n, --elements N     doubles in the array (default %u)\n"
	    "  -w, --workers W      worker processes (default %u, at most %u)\n"
	    "  -r, --rounds R       rounds (default %u)\n"
	    "  -c, --channel KIND   pipe or socketpair (default pipe)\n"
	    "  -j, --json FILE      also write each process's CPU and copy times to FILE, as JSON\n"
	    "  -h, --help           this help\n",
	    prog, v->summary, DEFAULT_ELEMENTS, DEFAULT_WORKERS, MAX_WORKERS, DEFAULT_ROUNDS);
}

static int parse_count(const char *prog, const char *what, const char *s, uint64_t max,
		       uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || x == 0 || x > max) {
		fprintf(stderr, "%s: invalid %s '%s' (a whole number from 1 to %" PRIu64 ")\n",
			prog, what, s, max);
		return -1;
	}
	*out = x;
	return 0;
}

static int parse_opts(int argc, char **argv, const struct ipcprof_demo_variant *v,
		      struct ipcprof_demo_opts *o)
{
	static const struct option longopts[] = {
	    {"elements", required_argument, NULL, 'n'},
	    {"workers", required_argument, NULL, 'w'},
	    {"rounds", required_argument, NULL, 'r'},
	    {"channel", required_argument, NULL, 'c'},
	    {"json", required_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *prog = argv[0];
	uint64_t x;
	int c;

	o->elements = DEFAULT_ELEMENTS;
	o->workers = DEFAULT_WORKERS;
	o->rounds = DEFAULT_ROUNDS;
	o->channel = IPCPROF_DEMO_PIPE;
	o->json = NULL;
	while ((c = getopt_long(argc, argv, "n:w:r:c:j:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			/* A task's payload must fit one size_t and the array must be addressable.
                         */
			if (parse_count(prog, "element count", optarg, (uint64_t)SIZE_MAX / 16, &x))
				return 2;
			o->elements = x;
			break;
		case 'w':
			if (parse_count(prog, "worker count", optarg, MAX_WORKERS, &x))
				return 2;
			o->workers = (unsigned)x;
			break;
		case 'r':
			if (parse_count(prog, "round count", optarg, UINT_MAX, &x))
				return 2;
			o->rounds = (unsigned)x;
			break;
		case 'c':
			if (!strcmp(optarg, "pipe")) {
				o->channel = IPCPROF_DEMO_PIPE;
			} else if (!strcmp(optarg, "socketpair")) {
				o->channel = IPCPROF_DEMO_SOCKETPAIR;
			} else {
				fprintf(stderr, "%s: unknown channel '%s' (pipe or socketpair)\n",
					prog, optarg);
				return 2;
			}
			break;
		case 'j':
			o->json = optarg;
			break;
		case 'h':
			usage(stdout, prog, v);
			return 0;
		default:
			usage(stderr, prog, v);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
		usage(stderr, prog, v);
		return 2;
	}
	return -1;
}

static int make_channel(enum ipcprof_demo_channel kind, struct worker *w)
{
	int a[2], b[2];
	if (kind == IPCPROF_DEMO_SOCKETPAIR) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a))
			return -1;
		w->task_w = w->result_r = a[0];
		w->task_r = w->result_w = a[1];
		return 0;
	}
	if (pipe2(a, O_CLOEXEC))
		return -1;
	if (pipe2(b, O_CLOEXEC)) {
		close(a[0]);
		close(a[1]);
		return -1;
	}
	w->task_r = a[0];
	w->task_w = a[1];
	w->result_r = b[0];
	w->result_w = b[1];
	return 0;
}

/* Closes a worker's ends; with a socketpair both names are one fd. */
static void close_pair(int *x, int *y)
{
	if (*x >= 0)
		close(*x);
	if (*y >= 0 && *y != *x)
		close(*y);
	*x = *y = -1;
}

/*
 * The calling thread's time so far waiting on a run queue for a CPU (ns), from
 * /proc/thread-self/schedstat (kept open); 0 where the kernel does not keep it.
 */
static uint64_t cpu_wait_ns(void)
{
	static int fd = -2;
	if (fd == -2)
		fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	char buf[96];
	ssize_t n = fd >= 0 ? pread(fd, buf, sizeof buf - 1, 0) : -1;
	if (n <= 0)
		return 0;
	buf[n] = 0;
	unsigned long long run, wait;
	return sscanf(buf, "%llu %llu", &run, &wait) == 2 ? (uint64_t)wait : 0;
}

static int run_worker(const struct ipcprof_demo_opts *o, const struct ipcprof_demo_variant *v,
		      int task_fd, int result_fd)
{
	uint64_t compute_ns = 0, copy_cpu_ns = 0, ignored = 0;
	if (v->worker_init && v->worker_init(o, &compute_ns))
		return 1;
	/* A worker knows how many rounds there are: it ends after the last rather than wait
         * for the others to finish theirs. End of file before then means the parent is gone. */
	for (unsigned done = 0; done < o->rounds; done++) {
		struct ipcprof_demo_task t;
		struct ipcprof_demo_result res = {0};
		uint64_t waited = cpu_wait_ns();
		uint64_t t0 = ipcprof_demo_now_ns();
		int r = ipcprof_demo_read_full(task_fd, &t, sizeof t, &ignored);
		res.io_ns = ipcprof_demo_now_ns() - t0;
		if (r <= 0) {
			fprintf(stderr, "%s worker: reading a task: %s\n", v->name,
				r == 0 ? "end of file" : strerror(errno));
			return 1;
		}
		if (t.start > o->elements || t.count > o->elements - t.start) {
			fprintf(stderr, "%s worker: task out of range\n", v->name);
			return 1;
		}
		const double *a = v->worker_data(task_fd, &t, &res.io_ns, &copy_cpu_ns);
		if (!a)
			return 1;
		waited = cpu_wait_ns() - waited;
		res.io_preempted_ns = waited < res.io_ns ? waited : res.io_ns;
		uint64_t c0 = ipcprof_demo_now_ns();
		res.sum = ipcprof_demo_sum(a, t.count);
		res.compute_ns = compute_ns + (ipcprof_demo_now_ns() - c0);
		compute_ns = 0;
		res.round = t.round;
		res.copy_cpu_ns = copy_cpu_ns;
		res.cpu_ns = ipcprof_demo_thread_cpu_ns();
		if (ipcprof_demo_write_full(result_fd, &res, sizeof res, &ignored)) {
			fprintf(stderr, "%s worker: writing a result: %s\n", v->name,
				strerror(errno));
			return 1;
		}
	}
	return 0;
}

static int send_task(const struct ipcprof_demo_opts *o, const struct ipcprof_demo_variant *v,
		     struct worker *w, uint64_t *bytes)
{
	struct ipcprof_demo_task t = {.round = w->sent, .start = 0, .count = o->elements};
	if (ipcprof_demo_write_full(w->task_w, &t, sizeof t, bytes) ||
	    (v->send_payload && v->send_payload(w->task_w, &t, bytes, &parent_copy_cpu_ns))) {
		fprintf(stderr, "%s: sending a task: %s\n", v->name, strerror(errno));
		return -1;
	}
	w->sent++;
	return 0;
}

/* The workers' io_preempted_ns, summed over the results taken. */
static uint64_t io_preempted_total_ns;

/* Reads worker i's next result into sums[round * workers + i]. */
static int take_result(const struct ipcprof_demo_opts *o, const struct ipcprof_demo_variant *v,
		       struct worker *ws, unsigned i, double *sums, uint64_t *received,
		       uint64_t *io_ns, uint64_t *compute_ns)
{
	struct worker *w = &ws[i];
	struct ipcprof_demo_result res;
	int r = ipcprof_demo_read_full(w->result_r, &res, sizeof res, received);
	if (r <= 0) {
		fprintf(stderr, "%s: worker %u: %s\n", v->name, i,
			r == 0 ? "ended early" : strerror(errno));
		return -1;
	}
	if (res.round != w->received) {
		fprintf(stderr, "%s: worker %u answered round %" PRIu64 ", not %u\n", v->name, i,
			res.round, w->received);
		return -1;
	}
	sums[(size_t)res.round * o->workers + i] = res.sum;
	*io_ns += res.io_ns;
	io_preempted_total_ns += res.io_preempted_ns;
	*compute_ns += res.compute_ns;
	w->copy_cpu_ns = res.copy_cpu_ns;
	w->cpu_ns = res.cpu_ns;
	w->received++;
	return 0;
}

/* Whether every task and every result of a worker fit in its pipes at once, growing them if
 * need be: then the parent can queue all the work up front and collect the results at the end,
 * and a worker never waits for the parent nor wakes it. Small writes share a pipe's pages. */
static int fits_queued(const struct ipcprof_demo_opts *o, const struct worker *w)
{
	static const size_t sizes[2] = {sizeof(struct ipcprof_demo_task),
					sizeof(struct ipcprof_demo_result)};
	const int fds[2] = {w->task_w, w->result_r};
	if (o->channel != IPCPROF_DEMO_PIPE)
		return 0;
	for (int k = 0; k < 2; k++) {
		size_t per_page = 4096 / sizes[k];
		size_t need = ((size_t)o->rounds + per_page - 1) / per_page * 4096;
		int cap = fcntl(fds[k], F_GETPIPE_SZ);
		if (cap < 0)
			return 0;
		if ((size_t)cap < need &&
		    (need > INT_MAX || fcntl(fds[k], F_SETPIPE_SZ, (int)need) < 0))
			return 0;
	}
	return 1;
}

/* Keeps each worker's queue at v->window tasks until every round is sent; collects every result. */
static int run_rounds(const struct ipcprof_demo_opts *o, const struct ipcprof_demo_variant *v,
		      struct worker *ws, double *sums, uint64_t *sent, uint64_t *received,
		      uint64_t *io_ns, uint64_t *compute_ns)
{
	struct pollfd *pfd = calloc(o->workers, sizeof *pfd);
	unsigned *idx = calloc(o->workers, sizeof *idx);
	int rc = -1;
	if (!pfd || !idx) {
		fprintf(stderr, "%s: out of memory\n", v->name);
		goto out;
	}
	for (unsigned i = 0; i < o->workers; i++)
		while (ws[i].sent < o->rounds && ws[i].sent < v->window)
			if (send_task(o, v, &ws[i], sent))
				goto out;
	for (;;) {
		nfds_t n = 0;
		for (unsigned i = 0; i < o->workers; i++) {
			if (ws[i].received == o->rounds)
				continue;
			pfd[n] = (struct pollfd){.fd = ws[i].result_r, .events = POLLIN};
			idx[n++] = i;
		}
		if (n == 0)
			break;
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "%s: poll: %s\n", v->name, strerror(errno));
			goto out;
		}
		for (nfds_t k = 0; k < n; k++) {
			if (!pfd[k].revents)
				continue;
			struct worker *w = &ws[idx[k]];
			if (take_result(o, v, ws, idx[k], sums, received, io_ns, compute_ns))
				goto out;
			if (w->sent < o->rounds && send_task(o, v, w, sent))
				goto out;
		}
	}
	rc = 0;
out:
	free(pfd);
	free(idx);
	return rc;
}

/* Waits for every started worker; returns 0 when all exited with status 0. */
static int reap(const struct ipcprof_demo_variant *v, struct worker *ws, unsigned n, int kill_them)
{
	int rc = 0;
	for (unsigned i = 0; i < n; i++) {
		int status;
		if (ws[i].pid <= 0)
			continue;
		if (kill_them)
			kill(ws[i].pid, SIGTERM);
		while (waitpid(ws[i].pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!kill_them && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
			fprintf(stderr, "%s: worker %u failed (status 0x%x)\n", v->name, i, status);
			rc = -1;
		}
		ws[i].pid = 0;
	}
	return rc;
}

/* Each process's CPU time and the part of it spent copying task data in user space: one line
 * each, the totals as key=value, and with --json the same per process in FILE. */
static int print_cpu(const struct ipcprof_demo_opts *o, const struct ipcprof_demo_variant *v,
		     const struct worker *ws, uint64_t parent_cpu_ns)
{
	uint64_t copy = parent_copy_cpu_ns, cpu = parent_cpu_ns;
	printf("parent pid %ld: copy %.3f s of CPU %.3f s\n", (long)getpid(),
	       (double)parent_copy_cpu_ns / 1e9, (double)parent_cpu_ns / 1e9);
	for (unsigned i = 0; i < o->workers; i++) {
		printf("worker pid %ld: copy %.3f s of CPU %.3f s\n", ws[i].pid_was,
		       (double)ws[i].copy_cpu_ns / 1e9, (double)ws[i].cpu_ns / 1e9);
		copy += ws[i].copy_cpu_ns;
		cpu += ws[i].cpu_ns;
	}
	printf("copy_cpu_s=%.3f cpu_s=%.3f\n", (double)copy / 1e9, (double)cpu / 1e9);
	if (!o->json)
		return 0;
	FILE *f = fopen(o->json, "w");
	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", v->name, o->json, strerror(errno));
		return -1;
	}
	fprintf(f, "{\"demo\": \"%s\", \"measure\": \"copy\", \"processes\": [\n", v->name);
	fprintf(f, " {\"pid\": %ld, \"role\": \"parent\", \"copy_cpu_s\": %.9f, \"cpu_s\": %.9f}",
		(long)getpid(), (double)parent_copy_cpu_ns / 1e9, (double)parent_cpu_ns / 1e9);
	for (unsigned i = 0; i < o->workers; i++)
		fprintf(f,
			",\n {\"pid\": %ld, \"role\": \"worker\", \"copy_cpu_s\": %.9f, "
			"\"cpu_s\": %.9f}",
			ws[i].pid_was, (double)ws[i].copy_cpu_ns / 1e9, (double)ws[i].cpu_ns / 1e9);
	fprintf(f, "\n]}\n");
	if (fclose(f)) {
		fprintf(stderr, "%s: %s: %s\n", v->name, o->json, strerror(errno));
		return -1;
	}
	return 0;
}

int ipcprof_demo_main(int argc, char **argv, const struct ipcprof_demo_variant *v)
{
	struct ipcprof_demo_opts o;
	int rc = parse_opts(argc, argv, v, &o);
	if (rc >= 0)
		return rc;

	/* A worker that dies must show as an error message, not kill the parent silently. */
	signal(SIGPIPE, SIG_IGN);

	uint64_t t0 = ipcprof_demo_now_ns();
	uint64_t sent = 0, received = 0, io_ns = 0, compute_ns = 0;
	unsigned started = 0;
	int failed = 1, queued = 0;
	struct worker *ws = calloc(o.workers, sizeof *ws);
	double *sums = calloc((size_t)o.workers * o.rounds, sizeof *sums);
	if (!ws || !sums) {
		fprintf(stderr, "%s: out of memory\n", v->name);
		goto out;
	}
	for (unsigned i = 0; i < o.workers; i++)
		ws[i].task_w = ws[i].result_r = ws[i].task_r = ws[i].result_w = -1;
	if (v->setup && v->setup(&o))
		goto out;

	fflush(NULL);
	for (unsigned i = 0; i < o.workers; i++) {
		struct worker *w = &ws[i];
		if (make_channel(o.channel, w)) {
			fprintf(stderr, "%s: making a channel: %s\n", v->name, strerror(errno));
			goto out;
		}
		/* Tasks without payload are queued before the worker starts, so that its first
                 * read never waits for the parent to finish starting the others: all of them
                 * when they fit, else a window that the parent keeps full. */
		if (!v->send_payload) {
			int fits = fits_queued(&o, w);
			if (i == 0)
				queued = fits;
			else if (queued && !fits) {
				fprintf(stderr, "%s: cannot size worker %u's pipes\n", v->name, i);
				goto out;
			}
			while (w->sent < o.rounds && (queued || w->sent < v->window))
				if (send_task(&o, v, w, &sent))
					goto out;
		}
		w->pid = fork();
		if (w->pid < 0) {
			fprintf(stderr, "%s: fork: %s\n", v->name, strerror(errno));
			goto out;
		}
		if (w->pid == 0) {
			for (unsigned j = 0; j <= i; j++)
				close_pair(&ws[j].task_w, &ws[j].result_r);
			_exit(run_worker(&o, v, w->task_r, w->result_w));
		}
		started++;
		w->pid_was = (long)w->pid;
		close_pair(&w->task_r, &w->result_w);
	}

	if (queued) {
		/* Every task is queued: the results wait in the pipes until the workers end. */
		if (reap(v, ws, started, 0))
			goto out;
		for (unsigned i = 0; i < o.workers; i++)
			for (unsigned r = 0; r < o.rounds; r++)
				if (take_result(&o, v, ws, i, sums, &received, &io_ns, &compute_ns))
					goto out;
	} else {
		if (run_rounds(&o, v, ws, sums, &sent, &received, &io_ns, &compute_ns))
			goto out;
		if (reap(v, ws, started, 0))
			goto out;
	}
	uint64_t wall_ns = ipcprof_demo_now_ns() - t0;

	double total = 0.0;
	for (size_t k = 0; k < (size_t)o.workers * o.rounds; k++) {
		/* Every task reduces the same data: a differing sum means a damaged transfer. */
		if (memcmp(&sums[k], &sums[0], sizeof sums[0])) {
			fprintf(stderr,
				"%s: round %zu worker %zu got %.17g, worker 0 of round 0 %.17g\n",
				v->name, k / o.workers, k % o.workers, sums[k], sums[0]);
			goto out;
		}
		total += sums[k];
	}
	uint64_t moved = io_ns + compute_ns;
	printf("demo=%s channel=%s elements=%" PRIu64 " workers=%u rounds=%u\n", v->name,
	       o.channel == IPCPROF_DEMO_PIPE ? "pipe" : "socketpair", o.elements, o.workers,
	       o.rounds);
	printf("wall_s=%.3f\n", (double)wall_ns / 1e9);
	printf("result=%.17g\n", total);
	printf("bytes_sent=%" PRIu64 "\n", sent);
	printf("bytes_received=%" PRIu64 "\n", received);
	printf("bytes_shared=%" PRIu64 "\n", v->shared_bytes ? v->shared_bytes(&o) : 0);
	printf("worker_io_s=%.3f worker_compute_s=%.3f worker_io_share=%.3f\n", (double)io_ns / 1e9,
	       (double)compute_ns / 1e9, moved ? (double)io_ns / (double)moved : 0.0);
	printf("worker_io_preempted_s=%.3f\n", (double)io_preempted_total_ns / 1e9);
	if (print_cpu(&o, v, ws, ipcprof_demo_thread_cpu_ns()))
		goto out;
	failed = 0;
out:
	if (ws) {
		for (unsigned i = 0; i < o.workers; i++) {
			close_pair(&ws[i].task_w, &ws[i].result_r);
			close_pair(&ws[i].task_r, &ws[i].result_w);
		}
		reap(v, ws, started, failed);
	}
	if (v->cleanup)
		v->cleanup();
	free(ws);
	free(sums);
	return failed;
}
