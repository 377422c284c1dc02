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

#include "bench.h"

const char *bench_name = "fork_bench";

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

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

/* A worker in a fresh session folder, with or without the preload; the folder goes after. */
static struct cost fork_worker(const char *self, const char *how, long n, int conf, const char *lib,
			       const char *parent_dir)
{
	char dir[4200], e_pre[4300], e_dir[4300];
	snprintf(dir, sizeof(dir), "%s/session", parent_dir);
	snprintf(e_pre, sizeof(e_pre), "LD_PRELOAD=%s", lib);
	snprintf(e_dir, sizeof(e_dir), "IPCPROF_DIR=%s", dir);
	const char *none[] = {"IPCPROF_SAMPLE_HZ", "LD_PRELOAD", NULL};
	const char *with[] = {"IPCPROF_SAMPLE_HZ",
			      e_pre,
			      e_dir,
			      "IPCPROF_REPORT=0",
			      conf == NO_SAMPLING ? "IPCPROF_SAMPLE_HZ=0" : NULL,
			      NULL};
	struct cost c = run_worker(self, how, n, conf == NONE ? none : with);
	if (conf != NONE)
		must(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0, "removing the session");
	return c;
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
				struct cost c = fork_worker(self, how[w], n, conf, lib, dir);
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
