/*
 * Processes that wait on shared semaphores: a named one (sem_open) and two made by
 * sem_init(pshared=1) in one MAP_SHARED|MAP_ANONYMOUS region, used by a parent, its forked child
 * and the program that child execs (which opens the named one again by name). Every wait the
 * others hold up is known to last at least HOLD_NS: the poster sees the waiter inside sem_wait
 * (glibc counts waiters in the semaphore's upper 32 bits), then sleeps, then posts. Thread
 * semaphores (pshared=0, and pshared=1 in private memory) are used too and must not be counted.
 * A sem_trywait that finds the semaphore taken is not counted; sem_timedwait and sem_clockwait
 * that time out are calls with an error. stdout says what the calls returned, the same with and
 * without the preload.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>

#include "chanreport.h"

#define HOLD_NS     100000000ull /* how long a poster keeps a waiter waiting */
#define UNCONTENDED 5            /* wait/post pairs on the free semaphore, per process */

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct timespec deadline(clockid_t clk, uint64_t after_ns)
{
	uint64_t t = now_ns(clk) + after_ns;
	struct timespec ts = {(time_t)(t / 1000000000u), (long)(t % 1000000000u)};
	return ts;
}

/* Blocks until another thread or process is inside sem_wait on s (glibc's waiter count). */
static void until_waited(sem_t *s)
{
	uint64_t t0 = now_ns(CLOCK_MONOTONIC);
	while (__atomic_load_n((uint64_t *)(void *)s, __ATOMIC_ACQUIRE) >> 32 == 0) {
		if (now_ns(CLOCK_MONOTONIC) - t0 > 10000000000ull) {
			errno = ETIMEDOUT;
			test_die("nobody waited on the semaphore");
		}
		usleep(1000);
	}
}

/* Blocks until the waiter took what was posted (no waiter left: glibc takes the value and the
 * waiter off together): the poster must not take it back itself with its next wait. */
static void until_taken(sem_t *s)
{
	while (__atomic_load_n((uint64_t *)(void *)s, __ATOMIC_ACQUIRE) >> 32 != 0)
		usleep(1000);
}

/* Keeps the waiter waiting HOLD_NS, then posts. */
static void hold_then_post(struct cr_chan *c, sem_t *s)
{
	until_waited(s);
	usleep(HOLD_NS / 1000);
	if (cr_count(c, CR_OUT, sem_post(s)) != 0)
		test_die("sem_post");
}

static void wait_held(struct cr_chan *c, sem_t *s)
{
	if (cr_count(c, CR_IN, sem_wait(s)) != 0)
		test_die("sem_wait");
	c->d[CR_IN].min_ns += HOLD_NS;
}

/* Wait/post pairs on a semaphore that is (mostly) free. */
static void uncontended(struct cr_chan *c, sem_t *s)
{
	for (int i = 0; i < UNCONTENDED; i++) {
		if (cr_count(c, CR_IN, sem_wait(s)) != 0)
			test_die("sem_wait");
		if (cr_count(c, CR_OUT, sem_post(s)) != 0)
			test_die("sem_post");
	}
}

/* dev and ino of the mapping that holds addr, from /proc/self/maps, and addr's offset in it. */
static void mapping_of(const void *addr, uint64_t *dev, uint64_t *ino, uint64_t *off, char *path,
		       size_t pathlen)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4096];
	if (!f)
		test_die("/proc/self/maps");
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, pgoff, ino_, maj, min;
		int n = 0;
		if (sscanf(line, "%lx-%lx %*s %lx %lx:%lx %lu %n", &lo, &hi, &pgoff, &maj, &min,
			   &ino_, &n) < 6)
			continue;
		if ((uintptr_t)addr < lo || (uintptr_t)addr >= hi)
			continue;
		*dev = makedev(maj, min);
		*ino = ino_;
		*off = pgoff + ((uintptr_t)addr - lo);
		line[strcspn(line, "\n")] = 0;
		snprintf(path, pathlen, "%s", line + n);
		fclose(f);
		return;
	}
	errno = ENOENT;
	test_die("no mapping holds %p", addr);
}

/* What the record must show for a semaphore in a shared mapping (include/ipcprof/record.h). */
static void init_shared(struct cr_chan *c, const char *label, const void *sem, const char *flags)
{
	uint64_t dev, ino, off;
	char path[256], name[300];
	memset(c, 0, sizeof(*c));
	snprintf(c->label, sizeof(c->label), "%s", label);
	snprintf(c->kind, sizeof(c->kind), "semaphore");
	mapping_of(sem, &dev, &ino, &off, path, sizeof(path));
	c->dev = dev;
	c->ino = ino ^ (off << 32);
	snprintf(name, sizeof(name), "%s+0x%llx", path, (unsigned long long)off);
	cr_expect(c, name, flags);
}

static void init_named(struct cr_chan *c, const char *name, const char *flags)
{
	char path[256];
	struct stat st;
	memset(c, 0, sizeof(*c));
	snprintf(c->label, sizeof(c->label), "named");
	snprintf(c->kind, sizeof(c->kind), "semaphore");
	snprintf(path, sizeof(path), "/dev/shm/sem.%s", name + 1);
	if (stat(path, &st) < 0)
		test_die("stat %s", path);
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	cr_expect(c, name, flags);
}

/* Semaphores of one process's threads: not IPC, whatever they do. */
static void *thread_post(void *arg)
{
	usleep(20000);
	if (sem_post(arg) != 0)
		test_die("sem_post (thread)");
	return NULL;
}

static void thread_semaphores(void)
{
	sem_t t, priv;
	pthread_t th;
	if (sem_init(&t, 0, 0) != 0 || sem_init(&priv, 1, 0) != 0)
		test_die("sem_init");
	if (pthread_create(&th, NULL, thread_post, &t) != 0)
		test_die("pthread_create");
	if (sem_wait(&t) != 0 || pthread_join(th, NULL) != 0)
		test_die("sem_wait (thread)");
	/* pshared, but on this stack: no other process can reach it */
	if (sem_post(&priv) != 0 || sem_wait(&priv) != 0 || sem_post(&t) != 0 ||
	    sem_trywait(&t) != 0)
		test_die("thread semaphores");
	if (sem_destroy(&t) != 0 || sem_destroy(&priv) != 0)
		test_die("sem_destroy");
}

/* The program the child execs: opens the named semaphore again and waits on it. */
static int exec_stage(const char *name)
{
	struct cr_chan c;
	cr_seq = 1;
	sem_t *s = sem_open(name, 0);
	if (s == SEM_FAILED)
		test_die("sem_open %s", name);
	init_named(&c, name, "local");
	wait_held(&c, s); /* the root holds it */
	if (cr_count(&c, CR_OUT, sem_post(s)) != 0)
		test_die("sem_post");
	if (sem_close(s) != 0)
		test_die("sem_close");
	/* Closed: a call on a closed semaphore's address is not made, but a new open is counted
	 * again on the same channel. */
	s = sem_open(name, 0);
	if (s == SEM_FAILED)
		test_die("sem_open again");
	if (cr_count(&c, CR_OUT, sem_post(s)) != 0)
		test_die("sem_post");
	cr_report(&c);
	cr_report_proc("exec", "exit", -1);
	return 0;
}

int main(int argc, char **argv)
{
	char self[4096], name[64];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	struct cr_chan cn, ca, cz;
	pid_t root = getpid(), pid;
	int status, r;

	alarm(30);
	if (len < 0)
		test_die("readlink");
	self[len] = '\0';
	if (argc == 3 && !strcmp(argv[1], "exec"))
		return exec_stage(argv[2]);

	thread_semaphores();
	snprintf(name, sizeof(name), "/ipcprof-test-%d", (int)root);
	sem_unlink(name);
	sem_t *sn = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
	if (sn == SEM_FAILED)
		test_die("sem_open %s", name);
	sem_t *region = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED)
		test_die("mmap");
	/* Two semaphores in one region: two channels. */
	sem_t *sz = &region[0], *sa = &region[1];
	if (sem_init(sz, 1, 1) != 0 || sem_init(sa, 1, 0) != 0)
		test_die("sem_init");

	init_named(&cn, name, "local,created");
	/* The named one is at 0: a try fails (not counted), a timed wait times out (counted, an
	 * error). The calls return what they return without the preload. */
	errno = 0;
	r = sem_trywait(sn);
	printf("sem_trywait on 0: %d %s\n", r, strerror(errno));
	struct timespec ts = deadline(CLOCK_REALTIME, 30000000);
	errno = 0;
	r = (int)cr_count(&cn, CR_IN, sem_timedwait(sn, &ts));
	printf("sem_timedwait on 0: %d %s\n", r, strerror(errno));
	ts = deadline(CLOCK_MONOTONIC, 30000000);
	errno = 0;
	r = (int)cr_count(&cn, CR_IN, sem_clockwait(sn, CLOCK_MONOTONIC, &ts));
	printf("sem_clockwait on 0: %d %s\n", r, strerror(errno));
	if (cr_count(&cn, CR_OUT, sem_post(sn)) != 0)
		test_die("sem_post");
	r = (int)cr_count(&cn, CR_IN, sem_trywait(sn));
	printf("sem_trywait on 1: %d\n", r);
	ts = deadline(CLOCK_REALTIME, 1000000000);
	if (cr_count(&cn, CR_OUT, sem_post(sn)) != 0)
		test_die("sem_post");
	r = (int)cr_count(&cn, CR_IN, sem_timedwait(sn, &ts));
	printf("sem_timedwait on 1: %d\n", r);
	fflush(stdout);

	pid = fork();
	if (pid < 0)
		test_die("fork");
	if (pid == 0) {
		init_named(&cn, name, "local");
		init_shared(&ca, "anon", sa, "local");
		init_shared(&cz, "anon0", sz, "local");
		wait_held(&cn, sn);      /* 1: the root holds the named one */
		hold_then_post(&ca, sa); /* 2: then this one holds the root */
		uncontended(&cz, sz);
		cr_report(&cn);
		cr_report(&ca);
		cr_report(&cz);
		cr_report_proc("fork", "exec", root);
		char *args[] = {self, "exec", name, NULL};
		execv(self, args);
		test_die("execv");
	}
	init_shared(&ca, "anon", sa, "local,created");
	init_shared(&cz, "anon0", sz, "local,created");
	hold_then_post(&cn, sn); /* 1 */
	wait_held(&ca, sa);      /* 2 */
	uncontended(&cz, sz);

	/* 3: the exec'd program waits on the named one, then posts it twice. */
	hold_then_post(&cn, sn);
	until_taken(sn);
	for (int i = 0; i < 2; i++)
		if (cr_count(&cn, CR_IN, sem_wait(sn)) != 0)
			test_die("sem_wait");
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		test_die("child failed (status %#x)", status);
	cr_report(&cn);
	cr_report(&ca);
	cr_report(&cz);
	cr_report_proc("root", "exit", 0);
	if (sem_close(sn) != 0 || sem_unlink(name) != 0)
		test_die("sem_close");
	if (sem_destroy(sa) != 0 || sem_destroy(sz) != 0)
		test_die("sem_destroy");
	/* After sem_close and sem_destroy: not counted (these calls are not made on them). */
	return 0;
}
