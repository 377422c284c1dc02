/* Oracle programs in C: every process times its own phases and writes them as JSON (truth_c
 * SCENARIO OUTDIR); check_truth.py compares ipcprof's shares with them. */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SPANS 8192
#define MAX_PEERS 8
#define MB        (1024 * 1024)

/*
 * A span is one phase of this process on its own clock: computing ('c'), moving data that cannot
 * be waiting (a copy, a small write into a pipe with room: 'm'), blocked in a call whose other
 * ends are the peers ('b'), blocked on a lock ('l': what its holders do is what it waits for) or
 * holding one ('h': not a phase, it says who to look at). A blocked span names its channel (a
 * pipe's inode, a semaphore's address: the same in every process): both ends in calls on one
 * channel are moving data. The checker decides what each blocked span was from what its peers did
 * meanwhile, by their own spans.
 */
struct span {
	uint64_t a, b;
	char kind;
	const char *peers;
	uint64_t chan;
};

static struct span spans[MAX_SPANS];
static int nspan;
static const char *role = "parent";
static const char *outdir;
static uint64_t t_start;

static uint64_t now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void add_on(uint64_t a, char kind, const char *peers, uint64_t chan)
{
	if (nspan == MAX_SPANS) {
		fprintf(stderr, "truth_c: more than %d spans\n", MAX_SPANS);
		exit(1);
	}
	spans[nspan++] = (struct span){a, now(), kind, peers, chan};
}

static void add(uint64_t a, char kind, const char *peers)
{
	add_on(a, kind, peers, 0);
}

static void die(const char *what)
{
	fprintf(stderr, "truth_c %s: %s: %s\n", role, what, strerror(errno));
	exit(1);
}

/* Busy on the CPU for ms milliseconds of this process's clock. */
static volatile double sink;
static void compute(unsigned ms)
{
	uint64_t a = now(), end = a + (uint64_t)ms * 1000000u;
	double x = 1.0;
	while (now() < end)
		for (int i = 0; i < 2000; i++)
			x = x * 1.0000001 + 1e-9;
	sink = x;
	add(a, 'c', NULL);
}

static void write_full(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t k = write(fd, c, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			die("write");
		c += k;
		n -= (size_t)k;
	}
}

static void read_full(int fd, void *p, size_t n)
{
	char *c = p;
	while (n) {
		ssize_t k = read(fd, c, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			die(k == 0 ? "read: end of file" : "read");
		c += k;
		n -= (size_t)k;
	}
}

/* A pipe as both its ends know it. */
static uint64_t pipe_id(int fd)
{
	struct stat st;
	if (fstat(fd, &st))
		die("fstat");
	return (uint64_t)st.st_ino;
}

/* The bytes a write into pipe fd can put in without blocking now. */
static size_t pipe_room(int fd)
{
	int held = 0, size = fcntl(fd, F_GETPIPE_SZ);
	if (size < 0 || ioctl(fd, FIONREAD, &held))
		die("the pipe's room");
	return held < size ? (size_t)(size - held) : 0;
}

/* A call that may block on its peers; kind 'm' where it cannot (the pipe has room). */
static void send_msg(int fd, const void *p, size_t n, char kind, const char *peers)
{
	uint64_t chan = pipe_id(fd), a = now();
	write_full(fd, p, n);
	add_on(a, kind, peers, chan);
}

static void recv_msg(int fd, void *p, size_t n, const char *peers)
{
	uint64_t chan = pipe_id(fd), a = now();
	read_full(fd, p, n);
	add_on(a, 'b', peers, chan);
}

/* A task: its 8-byte header, then its payload, each read timed on its own: a reader blocked on the
 * header waits for the writer to begin, on the payload while the data moves. */
static void recv_task(int fd, char *buf, size_t n, const char *peers)
{
	uint64_t hdr;
	recv_msg(fd, &hdr, sizeof(hdr), peers);
	recv_msg(fd, buf, n, peers);
}

static void finish(void)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%ld.json", outdir, (long)getpid());
	FILE *f = fopen(path, "w");
	if (!f)
		die(path);
	uint64_t end = now();
	fprintf(
	    f,
	    "{\"pid\": %ld, \"role\": \"%s\", \"start_ns\": %llu, \"end_ns\": %llu, \"spans\": [",
	    (long)getpid(), role, (unsigned long long)t_start, (unsigned long long)end);
	for (int i = 0; i < nspan; i++)
		fprintf(f, "%s\n [%llu, %llu, \"%c\", \"%s\", \"%llx\"]", i ? "," : "",
			(unsigned long long)spans[i].a, (unsigned long long)spans[i].b,
			spans[i].kind, spans[i].peers ? spans[i].peers : "",
			(unsigned long long)spans[i].chan);
	fprintf(f, "]}\n");
	if (fclose(f))
		die(path);
}

/* Forks a child that runs fn under its role; the parent goes on. */
static pid_t child(const char *name, void (*fn)(void *), void *arg)
{
	fflush(NULL);
	pid_t p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		t_start = now();
		nspan = 0;
		role = name;
		fn(arg);
		finish();
		_exit(0);
	}
	return p;
}

static void reap(void)
{
	int st;
	while (wait(&st) > 0)
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			fprintf(stderr, "truth_c: a child failed\n"), exit(1);
}

/* Filling a buffer is computing (on the CPU, faulting its pages in: slow under the probes). */
static char *buffer(size_t n)
{
	uint64_t a = now();
	char *p = malloc(n);
	if (!p)
		die("malloc");
	memset(p, 1, n);
	add(a, 'c', NULL);
	return p;
}

struct pair {
	int down[2], up[2];
};

static void pipes(struct pair *p)
{
	if (pipe(p->down) || pipe(p->up))
		die("pipe");
}

/* one-worker: the parent computes, sends 32 MB, waits while the worker computes; twice. */
#define OW_BYTES (32 * MB)
static void ow_worker(void *arg)
{
	struct pair *p = arg;
	char *buf = buffer(OW_BYTES);
	for (uint64_t r = 0; r < 2; r++) {
		recv_task(p->down[0], buf, OW_BYTES, "parent");
		compute(250);
		send_msg(p->up[1], &r, sizeof(r), 'm', NULL);
	}
}

static void one_worker(void)
{
	struct pair p;
	pipes(&p);
	char *buf = buffer(OW_BYTES);
	child("w0", ow_worker, &p);
	for (uint64_t r = 0; r < 2; r++) {
		compute(250);
		send_msg(p.down[1], &r, sizeof(r), 'm', NULL);
		send_msg(p.down[1], buf, OW_BYTES, 'b', "w0");
		recv_msg(p.up[0], &r, sizeof(r), "w0");
	}
	reap();
}

/* pool4: four workers take tasks from one pipe, one at a time under a shared lock (as a
 * multiprocessing Pool's task queue does); the parent computes each round's data first. */
#define POOL_W     4
#define POOL_BYTES (8 * MB)
struct pool {
	int task[2], result[2];
	sem_t *lock;
};
static const char *const pool_roles[POOL_W] = {"w0", "w1", "w2", "w3"};
static const char *const pool_others[POOL_W] = {"w1,w2,w3", "w0,w2,w3", "w0,w1,w3", "w0,w1,w2"};

static void pool_worker(void *arg)
{
	struct pool *p = arg;
	int me = 0;
	while (strcmp(pool_roles[me], role))
		me++;
	char *buf = buffer(POOL_BYTES);
	for (int r = 0; r < 2; r++) {
		uint64_t a = now(), hdr;
		while (sem_wait(p->lock))
			if (errno != EINTR)
				die("sem_wait");
		add_on(a, 'l', pool_others[me], (uintptr_t)p->lock);
		uint64_t held = now();
		recv_msg(p->task[0], &hdr, sizeof(hdr), "parent");
		recv_msg(p->task[0], buf, POOL_BYTES, "parent");
		add_on(held, 'h', NULL, (uintptr_t)p->lock);
		sem_post(p->lock);
		compute(120);
		send_msg(p->result[1], &hdr, sizeof(hdr), 'm', NULL);
	}
}

static void pool4(void)
{
	struct pool p;
	if (pipe(p.task) || pipe(p.result))
		die("pipe");
	p.lock =
	    mmap(NULL, sizeof(sem_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p.lock == MAP_FAILED || sem_init(p.lock, 1, 1))
		die("the lock");
	char *buf = buffer(POOL_BYTES);
	for (int i = 0; i < POOL_W; i++)
		child(pool_roles[i], pool_worker, &p);
	for (uint64_t r = 0; r < 2; r++) {
		compute(200);
		for (int i = 0; i < POOL_W; i++) {
			send_msg(p.task[1], &r, sizeof(r), 'b', "w0,w1,w2,w3");
			send_msg(p.task[1], buf, POOL_BYTES, 'b', "w0,w1,w2,w3");
		}
		for (int i = 0; i < POOL_W; i++)
			recv_msg(p.result[0], &r, sizeof(r), "w0,w1,w2,w3");
	}
	reap();
}

/* A producer and a consumer of 32 kB messages (the pipe holds two): slow-consumer, where the
 * consumer computes 15 ms per message and the producer's writes wait for it; fast-consumer, where
 * the producer computes 15 ms per message and the consumer waits for each. */
#define SC_MSG 32768
#define SC_N   60
struct stream {
	struct pair p;
	unsigned produce_ms, consume_ms;
};

static void consumer(void *arg)
{
	struct stream *st = arg;
	char buf[SC_MSG];
	for (int i = 0; i < SC_N; i++) {
		recv_msg(st->p.down[0], buf, SC_MSG, "parent");
		compute(st->consume_ms);
	}
}

static void stream(unsigned produce_ms, unsigned consume_ms)
{
	struct stream st = {.produce_ms = produce_ms, .consume_ms = consume_ms};
	pipes(&st.p);
	static char buf[SC_MSG];
	child("w0", consumer, &st);
	for (int i = 0; i < SC_N; i++) {
		if (produce_ms)
			compute(produce_ms);
		/* Behind a slow consumer the write waits for it. Before a fast one the pipe has
		 * room, unless the consumer lost its CPU for two messages' time: the writer, alone
		 * on the pipe, knows before it writes whether the message fits. */
		bool fits = produce_ms && pipe_room(st.p.down[1]) >= SC_MSG;
		send_msg(st.p.down[1], buf, SC_MSG, fits ? 'm' : 'b', fits ? NULL : "w0");
	}
	reap();
}

static void slow_consumer(void)
{
	stream(0, 15);
}

static void fast_consumer(void)
{
	stream(15, 1);
}

/* ping-pong: 64-byte messages back and forth; each end is in a call or about to make one, so
 * every call is data movement on both sides (the other end is in its own call meanwhile). */
#define PP_N 20000
static void pp_echo(void *arg)
{
	struct pair *p = arg;
	char m[64];
	recv_msg(p->down[0], m, sizeof(m), "parent"); /* while the parent computes */
	write_full(p->up[1], m, sizeof(m));
	uint64_t a = now();
	for (int i = 1; i < PP_N; i++) {
		read_full(p->down[0], m, sizeof(m));
		write_full(p->up[1], m, sizeof(m));
	}
	add(a, 'm', NULL);
}

static void ping_pong(void)
{
	struct pair p;
	pipes(&p);
	child("w0", pp_echo, &p);
	char m[64] = {0};
	compute(100);
	uint64_t a = now();
	for (int i = 0; i < PP_N; i++) {
		write_full(p.down[1], m, sizeof(m));
		read_full(p.up[0], m, sizeof(m));
	}
	add(a, 'm', NULL);
	reap();
}

/* shm: one-worker's job with the data in shared memory: a semaphore hands it over. */
struct shm_job {
	sem_t ready, done;
	double data[1 << 20];
};

static void shm_worker(void *arg)
{
	struct shm_job *j = arg;
	for (int r = 0; r < 2; r++) {
		uint64_t a = now();
		while (sem_wait(&j->ready))
			if (errno != EINTR)
				die("sem_wait");
		add_on(a, 'b', "parent", (uintptr_t)&j->ready);
		compute(250);
		a = now();
		sem_post(&j->done);
		add_on(a, 'm', NULL, (uintptr_t)&j->done);
	}
}

static void shm(void)
{
	struct shm_job *j =
	    mmap(NULL, sizeof(*j), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (j == MAP_FAILED || sem_init(&j->ready, 1, 0) || sem_init(&j->done, 1, 0))
		die("shared memory");
	child("w0", shm_worker, j);
	for (int r = 0; r < 2; r++) {
		compute(250);
		uint64_t a = now();
		sem_post(&j->ready);
		add_on(a, 'm', NULL, (uintptr_t)&j->ready);
		a = now();
		while (sem_wait(&j->done))
			if (errno != EINTR)
				die("sem_wait");
		add_on(a, 'b', "w0", (uintptr_t)&j->done);
	}
	reap();
}

/* sibling: the parent sends 64 MB to w0 while w1 computes on a small task. */
#define SIB_BYTES (64 * MB)
static void sib_mover(void *arg)
{
	struct pair *p = arg;
	char *buf = buffer(SIB_BYTES);
	uint64_t done = 1;
	recv_task(p->down[0], buf, SIB_BYTES, "parent");
	compute(50);
	send_msg(p->up[1], &done, sizeof(done), 'm', NULL);
}

static void sib_computer(void *arg)
{
	struct pair *p = arg;
	uint64_t hdr;
	recv_msg(p->down[0], &hdr, sizeof(hdr), "parent");
	compute(500);
	send_msg(p->up[1], &hdr, sizeof(hdr), 'm', NULL);
}

static void sibling(void)
{
	struct pair p0, p1;
	pipes(&p0);
	pipes(&p1);
	char *buf = buffer(SIB_BYTES);
	child("w0", sib_mover, &p0);
	child("w1", sib_computer, &p1);
	uint64_t r = 0;
	send_msg(p1.down[1], &r, sizeof(r), 'm', NULL);
	send_msg(p0.down[1], &r, sizeof(r), 'm', NULL);
	send_msg(p0.down[1], buf, SIB_BYTES, 'b', "w0");
	recv_msg(p0.up[0], &r, sizeof(r), "w0");
	recv_msg(p1.up[0], &r, sizeof(r), "w1");
	reap();
}

/* pipeline: parent -> w0 -> w1, 8 MB a step; each stage computes on what it got. */
#define PL_BYTES (8 * MB)
#define PL_N     4
static void pl_stage1(void *arg)
{
	struct pair *p = arg; /* down: from the parent; up: to w1 */
	char *buf = buffer(PL_BYTES);
	for (uint64_t i = 0; i < PL_N; i++) {
		recv_task(p->down[0], buf, PL_BYTES, "parent");
		compute(60);
		send_msg(p->up[1], &i, sizeof(i), 'm', NULL);
		send_msg(p->up[1], buf, PL_BYTES, 'b', "w1");
	}
}

static void pl_stage2(void *arg)
{
	struct pair *p = arg;
	char *buf = buffer(PL_BYTES);
	for (int i = 0; i < PL_N; i++) {
		recv_task(p->up[0], buf, PL_BYTES, "w0");
		compute(30);
	}
}

static void pipeline(void)
{
	struct pair p;
	pipes(&p);
	char *buf = buffer(PL_BYTES);
	child("w0", pl_stage1, &p);
	child("w1", pl_stage2, &p);
	for (uint64_t i = 0; i < PL_N; i++) {
		compute(60);
		send_msg(p.down[1], &i, sizeof(i), 'm', NULL);
		send_msg(p.down[1], buf, PL_BYTES, 'b', "w0");
	}
	reap();
}

static const struct {
	const char *name;
	void (*run)(void);
} scenarios[] = {
    {"one-worker", one_worker},
    {"pool4", pool4},
    {"slow-consumer", slow_consumer},
    {"fast-consumer", fast_consumer},
    {"ping-pong", ping_pong},
    {"shm", shm},
    {"sibling", sibling},
    {"pipeline", pipeline},
};

int main(int argc, char **argv)
{
	t_start = now();
	if (argc != 3) {
		fprintf(stderr, "usage: truth_c SCENARIO OUTDIR\nscenarios:");
		for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
			fprintf(stderr, " %s", scenarios[i].name);
		fprintf(stderr, "\n");
		return 2;
	}
	outdir = argv[2];
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (!strcmp(argv[1], scenarios[i].name)) {
			scenarios[i].run();
			finish();
			return 0;
		}
	fprintf(stderr, "truth_c: no scenario %s\n", argv[1]);
	return 2;
}
