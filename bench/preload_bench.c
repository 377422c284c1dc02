/* Benchmark of the preload's cost: ns added per IPC and non-IPC call, and a messaging workload's wall-time ratio. */
#include <errno.h>
#include <fcntl.h>
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

const char *bench_name = "preload_bench";

/* Worker: one pipe in this process, 1-byte write then read: ns per call. */
static struct cost ipc_calls(long n)
{
	int p[2];
	char b = 1;
	must(pipe(p) == 0, "pipe");
	for (int i = 0; i < 1000; i++)
		must(write(p[1], &b, 1) == 1 && read(p[0], &b, 1) == 1, "warm-up");
	uint64_t t0 = now_ns(), c0 = cpu_ns();
	for (long i = 0; i < n; i++) {
		must(write(p[1], &b, 1) == 1, "write");
		must(read(p[0], &b, 1) == 1, "read");
	}
	return (struct cost){(double)(now_ns() - t0) / (2.0 * (double)n),
			     (double)(cpu_ns() - c0) / (2.0 * (double)n)};
}

/* Worker: writes to /dev/null, which the preload classifies once and then passes through. */
static struct cost non_ipc_calls(long n)
{
	int fd = open("/dev/null", O_WRONLY);
	char b = 1;
	must(fd >= 0, "open /dev/null");
	for (int i = 0; i < 1000; i++)
		must(write(fd, &b, 1) == 1, "warm-up");
	uint64_t t0 = now_ns(), c0 = cpu_ns();
	for (long i = 0; i < n; i++)
		must(write(fd, &b, 1) == 1, "write");
	return (struct cost){(double)(now_ns() - t0) / (double)n,
			     (double)(cpu_ns() - c0) / (double)n};
}

/* Worker: parent and child ping-pong 64-byte messages over two pipes: wall ns in all. */
static struct cost messaging(long n)
{
	int a[2], b[2];
	char msg[64] = {0};
	must(pipe(a) == 0 && pipe(b) == 0, "pipe");
	uint64_t t0 = now_ns(), c0 = cpu_ns();
	pid_t pid = fork();
	must(pid >= 0, "fork");
	if (pid == 0) {
		for (long i = 0; i < n; i++) {
			must(read(a[0], msg, sizeof(msg)) == (ssize_t)sizeof(msg), "child read");
			must(write(b[1], msg, sizeof(msg)) == (ssize_t)sizeof(msg), "child write");
		}
		_exit(0);
	}
	for (long i = 0; i < n; i++) {
		must(write(a[1], msg, sizeof(msg)) == (ssize_t)sizeof(msg), "write");
		must(read(b[0], msg, sizeof(msg)) == (ssize_t)sizeof(msg), "read");
	}
	int st;
	must(waitpid(pid, &st, 0) == pid, "waitpid");
	return (struct cost){(double)(now_ns() - t0), (double)(cpu_ns() - c0)};
}

/* A worker with the preload (and its session folder), or without it. */
static struct cost preload_worker(const char *self, const char *what, long n, const char *preload,
				  const char *dir)
{
	char e_pre[4300], e_dir[4300];
	snprintf(e_pre, sizeof(e_pre), "LD_PRELOAD=%s", preload ? preload : "");
	snprintf(e_dir, sizeof(e_dir), "IPCPROF_DIR=%s", dir);
	const char *none[] = {"LD_PRELOAD", NULL};
	const char *with[] = {e_pre, e_dir, "IPCPROF_REPORT=0", NULL};
	return run_worker(self, what, n, preload ? with : none);
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--worker")) {
		long n = atol(argv[3]);
		struct cost r = !strcmp(argv[2], "ipc")       ? ipc_calls(n)
				: !strcmp(argv[2], "non-ipc") ? non_ipc_calls(n)
							      : messaging(n);
		printf("%.3f %.3f\n", r.wall, r.cpu);
		return 0;
	}
	if (argc < 3 || !strcmp(argv[1], "--help")) {
		fprintf(
		    stderr,
		    "Usage: %s PATH/libipcprof.so PATH/libipcprof-bench-stub.so [ROUNDS]\n"
		    "Prints the preload's added cost per IPC and per non-IPC call (ns), and the\n"
		    "wall-time ratio of pipe ping-pong messaging with against without it. Runs\n"
		    "alternate with and without, and medians are reported. The stub library's\n"
		    "read and write return at once: with it, the figures are the preload's own\n"
		    "cost, without the system call's (large and noisy on a virtual machine).\n",
		    argv[0]);
		return argc < 3 ? 2 : 0;
	}
	const char *lib = argv[1];
	int rounds = argc > 3 ? atoi(argv[3]) : 7;
	if (rounds < 1 || rounds > 100)
		rounds = 7;
	char self[4096];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	must(sl > 0, "readlink /proc/self/exe");
	self[sl] = 0;
	char dir[] = "/tmp/ipcprof-bench-XXXXXX";
	must(mkdtemp(dir) != NULL, "mkdtemp");
	char stubbed[8192];
	snprintf(stubbed, sizeof(stubbed), "%s:%s", lib, argv[2]);

	/* Each row: a workload, the LD_PRELOAD of the baseline and of the measured run. */
	const struct {
		const char *title, *what;
		long n;
		const char *base, *with;
	} w[] = {
	    {"IPC call, stubbed syscall", "ipc", 2000000, argv[2], stubbed},
	    {"non-IPC call, stubbed syscall", "non-ipc", 4000000, argv[2], stubbed},
	    {"IPC call (1-byte pipe write/read)", "ipc", 200000, NULL, lib},
	    {"non-IPC call (write /dev/null)", "non-ipc", 400000, NULL, lib},
	    {"pipe ping-pong, 20000 x 64 B", "messaging", 20000, NULL, lib},
	};
	enum { NW = sizeof(w) / sizeof(w[0]) };
	static double off[NW][2][100], on[NW][2][100];
	for (int r = 0; r < rounds; r++) {
		for (int k = 0; k < NW; k++) {
			/* Alternate the order, so that drift on a shared machine falls on both sides. */
			bool first_on = r % 2;
			struct cost a = preload_worker(self, w[k].what, w[k].n,
						       first_on ? w[k].with : w[k].base, dir);
			struct cost b = preload_worker(self, w[k].what, w[k].n,
						       first_on ? w[k].base : w[k].with, dir);
			struct cost with = first_on ? a : b, without = first_on ? b : a;
			on[k][0][r] = with.wall;
			on[k][1][r] = with.cpu;
			off[k][0][r] = without.wall;
			off[k][1][r] = without.cpu;
		}
	}
	printf("preload cost, median of %d alternated runs each (wall time; CPU time of the "
	       "workload's processes)\n",
	       rounds);
	printf("  %-34s %5s %10s %10s %10s\n", "workload", "", "without", "with", "added");
	static const char *const clock_name[2] = {"wall", "cpu"};
	for (int k = 0; k < NW - 1; k++) {
		for (int c = 0; c < 2; c++) {
			double a = median(off[k][c], rounds), b = median(on[k][c], rounds);
			printf("  %-34s %5s %10.1f %10.1f %+10.1f ns per call\n",
			       c ? "" : w[k].title, clock_name[c], a, b, b - a);
		}
	}
	for (int c = 0; c < 2; c++) {
		double ratios[100];
		for (int r = 0; r < rounds; r++)
			ratios[r] = on[NW - 1][c][r] / off[NW - 1][c][r];
		double a = median(off[NW - 1][c], rounds), b = median(on[NW - 1][c], rounds);
		printf("  %-34s %5s %8.1f ms %8.1f ms   ratio %.3f (median of per-round ratios "
		       "%.3f)\n",
		       c ? "" : w[NW - 1].title, clock_name[c], a / 1e6, b / 1e6, b / a,
		       median(ratios, rounds));
	}
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "preload_bench: could not remove %s\n", dir);
	return 0;
}
