/* Benchmark of what a forked child costs under the preload: fork, _exit and waitpid in a loop. */
#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time of this process and its waited-for children. */
static uint64_t cpu_ns(void)
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

static void must(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fork_bench: %s: %s\n", what, strerror(errno));
		exit(2);
	}
}

/*
 * Worker: n children, one at a time. "exit": the child _exits at once. "pipe": the child writes
 * one byte to a pipe (so that its record gets a channel and an interval) and the parent reads it.
 * Prints wall and CPU ns per child.
 */
static void forks(const char *how, long n)
{
	bool pipe_write = !strcmp(how, "pipe");
	int p[2];
	must(pipe(p) == 0, "pipe");
	char b = 1;
	must(write(p[1], &b, 1) == 1 && read(p[0], &b, 1) == 1, "warm-up"); /* classified once */
	uint64_t t0 = now_ns(), c0 = cpu_ns();
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		must(pid >= 0, "fork");
		if (pid == 0) {
			if (pipe_write && write(p[1], &b, 1) != 1)
				_exit(3);
			_exit(0);
		}
		if (pipe_write)
			must(read(p[0], &b, 1) == 1, "read");
		int st;
		must(waitpid(pid, &st, 0) == pid, "waitpid");
		must(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed");
	}
	printf("%.1f %.1f\n", (double)(now_ns() - t0) / (double)n,
	       (double)(cpu_ns() - c0) / (double)n);
}

enum { NONE, NO_SAMPLING, DEFAULT, NCONF };
static const char *const conf_name[NCONF] = {"no preload", "preload, IPCPROF_SAMPLE_HZ=0",
					     "preload, default settings"};

struct cost {
	double wall, cpu; /* ns per child */
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

/* Runs this program as a worker in a fresh session folder, and reads the figures it prints. */
static struct cost run_worker(const char *self, const char *how, long n, int conf, const char *lib,
			      const char *parent_dir)
{
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/session", parent_dir);
	int p[2];
	must(pipe(p) == 0, "pipe");
	pid_t pid = fork();
	must(pid >= 0, "fork");
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		unsetenv("IPCPROF_SAMPLE_HZ");
		if (conf == NONE) {
			unsetenv("LD_PRELOAD");
		} else {
			setenv("LD_PRELOAD", lib, 1);
			setenv("IPCPROF_DIR", dir, 1);
			setenv("IPCPROF_REPORT", "0", 1);
			if (conf == NO_SAMPLING)
				setenv("IPCPROF_SAMPLE_HZ", "0", 1);
		}
		char nb[32];
		snprintf(nb, sizeof(nb), "%ld", n);
		execl(self, self, "--worker", how, nb, (char *)NULL);
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
	if (conf != NONE)
		must(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0, "removing the session");
	return c;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(const double *in, int n)
{
	double v[100];
	memcpy(v, in, (size_t)n * sizeof(*v));
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--worker")) {
		forks(argv[2], atol(argv[3]));
		return 0;
	}
	if (argc < 2 || !strcmp(argv[1], "--help")) {
		fprintf(stderr,
			"Usage: %s PATH/libipcprof.so [ROUNDS [FORKS [FOLDER]]]\n"
			"Prints what one forked child costs (fork, _exit, waitpid; and with one\n"
			"pipe write in the child) without the preload, with it and sampling off,\n"
			"and with its default settings: medians of ROUNDS runs of FORKS children\n"
			"each, the three alternated in a rotating order. Session folders are made\n"
			"in FOLDER (default /tmp), whose file system is part of the figure.\n",
			argv[0]);
		return argc < 2 ? 2 : 0;
	}
	const char *lib = argv[1];
	int rounds = argc > 2 ? atoi(argv[2]) : 9;
	long n = argc > 3 ? atol(argv[3]) : 500;
	const char *where = argc > 4 ? argv[4] : "/tmp";
	if (rounds < 1 || rounds > 100)
		rounds = 9;
	if (n < 1)
		n = 500;
	char self[4096];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	must(sl > 0, "readlink /proc/self/exe");
	self[sl] = 0;
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/ipcprof-fork-bench-XXXXXX", where);
	must(mkdtemp(dir) != NULL, "mkdtemp");

	static const char *const how[] = {"exit", "pipe"};
	static const char *const title[] = {"fork + _exit + waitpid",
					    "fork + 1-byte pipe write + _exit + waitpid"};
	static double v[2][NCONF][2][100];
	for (int r = 0; r < rounds; r++) {
		for (int w = 0; w < 2; w++) {
			for (int j = 0; j < NCONF; j++) {
				/* Rotate the order, so that drift on a shared machine falls on all. */
				int conf = (j + r) % NCONF;
				struct cost c = run_worker(self, how[w], n, conf, lib, dir);
				v[w][conf][0][r] = c.wall;
				v[w][conf][1][r] = c.cpu;
			}
		}
	}
	rmdir(dir);
	printf("one forked child, median of %d alternated runs of %ld children each (wall time; "
	       "CPU time of the process and its children)\n",
	       rounds, n);
	static const char *const clock_name[2] = {"wall", "cpu"};
	for (int w = 0; w < 2; w++) {
		printf("  %s\n", title[w]);
		for (int conf = 0; conf < NCONF; conf++) {
			for (int c = 0; c < 2; c++) {
				double m = median(v[w][conf][c], rounds);
				double base = median(v[w][NONE][c], rounds);
				printf("    %-28s %4s %9.1f us", c ? "" : conf_name[conf],
				       clock_name[c], m / 1e3);
				if (conf != NONE)
					printf("  %+8.1f us per fork  ratio %.2f", (m - base) / 1e3,
					       m / base);
				printf("\n");
			}
		}
	}
	return 0;
}
