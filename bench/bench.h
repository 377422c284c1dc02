/* What the C benchmarks share: clocks, failing loudly, medians, and running a worker copy of
 * themselves in a chosen environment. */
#ifndef IPCPROF_BENCH_H
#define IPCPROF_BENCH_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The benchmark's name, for its messages. */
extern const char *bench_name;

static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time of this process and its waited-for children: on a shared machine, time spent waiting
 * for a core shows in wall time but not here. */
static inline uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	uint64_t t = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	t += (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000u +
	     (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u;
	return t;
}

static inline void must(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "%s: %s: %s\n", bench_name, what, strerror(errno));
		exit(2);
	}
}

struct cost {
	double wall; /* ns: per call, per child, or in all, as the worker says */
	double cpu;
};

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The median of n values (n <= 100), leaving them in their order. */
static inline double median(const double *in, int n)
{
	double v[100];
	memcpy(v, in, (size_t)n * sizeof(*v));
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * Runs `self --worker WHAT N` with env applied ("NAME=value" sets, "NAME" unsets; NULL ends the
 * list), and reads the wall and CPU figures the worker prints.
 */
static inline struct cost run_worker(const char *self, const char *what, long n,
				     const char *const *env)
{
	int p[2];
	must(pipe(p) == 0, "pipe");
	pid_t pid = fork();
	must(pid >= 0, "fork");
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		for (; env && *env; env++) {
			const char *eq = strchr(*env, '=');
			if (eq) {
				char name[64];
				snprintf(name, sizeof(name), "%.*s", (int)(eq - *env), *env);
				setenv(name, eq + 1, 1);
			} else {
				unsetenv(*env);
			}
		}
		char nb[32];
		snprintf(nb, sizeof(nb), "%ld", n);
		execl(self, self, "--worker", what, nb, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char buf[128] = {0};
	size_t got = 0;
	ssize_t k;
	while (got < sizeof(buf) - 1 && (k = read(p[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)k;
	close(p[0]);
	int st;
	must(waitpid(pid, &st, 0) == pid, "waitpid");
	must(got > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "worker failed");
	struct cost c;
	char *end;
	c.wall = strtod(buf, &end);
	c.cpu = strtod(end, NULL);
	return c;
}

#endif
