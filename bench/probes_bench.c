/* The probes' cost: wall time of a messaging workload with and without them, side by side. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include <bpf/bpf.h>
#include <sys/resource.h>

#include "probes.h"

/*
 * Modes, run in turn within every round (the order rotates from round to round) so that drift in
 * the machine's load falls on all of them alike:
 *   none            the workload alone
 *   probes-idle     the probes loaded and attached, following nothing: what every other process
 *                   on the machine pays (an early return per syscall and context switch)
 *   probes          the workload followed by the probes
 *   preload         under libipcprof.so alone (with --preload)
 *   probes+preload  both (with --preload)
 * Wall time runs from the workload's start (the probes already following) to the end of its
 * whole tree; loading the probes and writing kernel.ipckrn are timed apart.
 */
enum mode { NONE, IDLE, PROBES, PRELOAD, BOTH, NMODES };
static const char *const mode_names[NMODES] = {"none", "probes-idle", "probes", "preload",
					       "probes+preload"};

#define MAX_ROUNDS 100

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void rm_session(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "probes_bench: could not remove %s\n", dir);
}

static uint64_t children_cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_CHILDREN, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000u +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u;
}

/* The probes' own programs, by the names the skeleton gives them. */
static const char *const prog_names[] = {
    "sys_enter",          "sys_exit",           "sched_switch",       "sched_wakeup",
    "sched_process_fork", "sched_process_exec", "sched_process_exit", "page_fault_user",
    "page_fault_kernel",  "vm_unmapped_area",   "mmap_lock_relea"};
#define NPROGS (sizeof(prog_names) / sizeof(prog_names[0]))

/* Run counts and times of the loaded programs of those names (kept while statistics are on). */
static void prog_stats(uint64_t cnt[NPROGS], uint64_t ns[NPROGS])
{
	__u32 id = 0;

	memset(cnt, 0, NPROGS * sizeof(*cnt));
	memset(ns, 0, NPROGS * sizeof(*ns));
	while (bpf_prog_get_next_id(id, &id) == 0) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(id);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
		    info.type == BPF_PROG_TYPE_TRACING)
			for (size_t i = 0; i < NPROGS; i++)
				/* The kernel keeps 15 characters of a program's name. */
				if (!strncmp(info.name, prog_names[i], BPF_OBJ_NAME_LEN - 1)) {
					cnt[i] += info.run_cnt;
					ns[i] += info.run_time_ns;
				}
		close(fd);
	}
}

/* One run; returns the workload's wall time in ns, or 0 on failure. With stats, the probes'
 * programs are timed by the kernel and printed. */
static uint64_t run_once(enum mode m, char **cmd, const char *preload, uint64_t *load_ns,
			 uint64_t *finish_ns, uint64_t *cpu_ns, int stats)
{
	uint64_t cnt[NPROGS], ns[NPROGS], cpu0 = children_cpu_ns();
	int stats_fd = -1;
	struct ipcprof_probes *p = NULL;
	char why[256], dir[] = "/tmp/ipcprof-bench-XXXXXX";
	int status, err, failed = 0;
	uint64_t t0, t1;
	pid_t pid, w;

	*load_ns = *finish_ns = 0;
	if (!mkdtemp(dir)) {
		perror("probes_bench: mkdtemp");
		return 0;
	}
	if (m == IDLE || m == PROBES || m == BOTH) {
		t0 = now_ns();
		/* With the preload, what `ipcprof record` loads by default; alone, the syscalls. */
		err = ipcprof_probes_start(
		    &p, m == BOTH ? IPCPROF_PROBES_SCHED : IPCPROF_PROBES_SYSCALLS, why,
		    sizeof(why));
		*load_ns = now_ns() - t0;
		if (err) {
			fprintf(stderr, "probes_bench: probes: %s\n", why);
			rm_session(dir);
			return 0;
		}
	}
	pid = fork();
	if (pid < 0) {
		perror("probes_bench: fork");
		ipcprof_probes_free(p);
		rm_session(dir);
		return 0;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0) {
			dup2(null, 1);
			close(null);
		}
		if (m == PRELOAD || m == BOTH) {
			setenv("LD_PRELOAD", preload, 1);
			setenv("IPCPROF_DIR", dir, 1);
			setenv("IPCPROF_REPORT", "0", 1);
		}
		raise(SIGSTOP);
		execvp(cmd[0], cmd);
		_exit(127);
	}
	if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status)) {
		fprintf(stderr, "probes_bench: the workload did not stop\n");
		failed = 1;
	}
	if (!failed && (m == PROBES || m == BOTH) && ipcprof_probes_follow(p, pid) != 0) {
		fprintf(stderr, "probes_bench: cannot follow the workload\n");
		failed = 1;
	}
	if (stats)
		stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	t0 = now_ns();
	kill(pid, SIGCONT);
	while ((w = waitpid(-1, &status, 0)) > 0 || (w < 0 && errno == EINTR))
		if (w == pid && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
			fprintf(stderr, "probes_bench: %s failed (status %#x)\n", cmd[0], status);
			failed = 1;
		}
	t1 = now_ns();
	*cpu_ns = children_cpu_ns() - cpu0;
	if (stats_fd >= 0) {
		uint64_t total = 0;

		prog_stats(cnt, ns);
		close(stats_fd);
		printf("\nthe probes' programs during one more run (%s):\n", mode_names[m]);
		printf("%-20s %12s %10s %12s\n", "program", "runs", "ns/run", "total ms");
		for (size_t i = 0; i < NPROGS; i++) {
			total += ns[i];
			printf("%-20s %12llu %10.0f %12.2f\n", prog_names[i],
			       (unsigned long long)cnt[i], cnt[i] ? (double)ns[i] / cnt[i] : 0.0,
			       ns[i] / 1e6);
		}
		printf("all programs: %.2f ms (the machine's other processes included), against "
		       "%.1f ms of CPU time in the workload\n",
		       total / 1e6, *cpu_ns / 1e6);
	} else if (stats) {
		printf("(no program statistics: BPF_ENABLE_STATS refused)\n");
	}
	if (p) {
		uint64_t f0 = now_ns();

		if (m != IDLE && ipcprof_probes_finish(p, dir) != 0) {
			fprintf(stderr, "probes_bench: cannot write kernel.ipckrn\n");
			failed = 1;
		}
		ipcprof_probes_free(p);
		*finish_ns = now_ns() - f0;
	}
	rm_session(dir);
	return failed ? 0 : t1 - t0;
}

int main(int argc, char **argv)
{
	static uint64_t wall[NMODES][MAX_ROUNDS], load[NMODES][MAX_ROUNDS], fin[NMODES][MAX_ROUNDS],
	    cpu[NMODES][MAX_ROUNDS];
	uint64_t l, f, c;
	const char *preload = NULL;
	int rounds = 5, nmodes, argi = 1, stats_only = 0;
	char **cmd;

	while (argi < argc && strcmp(argv[argi], "--")) {
		if (!strcmp(argv[argi], "-n") && argi + 1 < argc)
			rounds = atoi(argv[++argi]);
		else if (!strcmp(argv[argi], "--stats"))
			stats_only = 1;
		else if (!strcmp(argv[argi], "--preload") && argi + 1 < argc)
			preload = argv[++argi];
		else
			break;
		argi++;
	}
	if (argi >= argc || strcmp(argv[argi], "--") || argi + 1 >= argc || rounds < 1 ||
	    rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: probes_bench [-n ROUNDS] [--preload LIB] [--stats] -- "
				"PROGRAM [ARGS...]\n");
		return 2;
	}
	cmd = argv + argi + 1;
	if (preload && access(preload, R_OK) != 0) {
		fprintf(stderr, "probes_bench: %s: %s\n", preload, strerror(errno));
		return 1;
	}
	nmodes = preload ? NMODES : PRELOAD;
	/* Orphaned workers come back to us: the whole tree is waited for. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	printf("workload:");
	for (char **a = cmd; *a; a++)
		printf(" %s", *a);
	if (stats_only)
		return run_once(PROBES, cmd, preload, &l, &f, &c, 1) ? 0 : 1;
	printf("\n%d rounds, modes in rotating order\n", rounds);
	for (int r = 0; r < rounds; r++) {
		for (int k = 0; k < nmodes; k++) {
			int m = (k + r) % nmodes;

			wall[m][r] = run_once((enum mode)m, cmd, preload, &load[m][r], &fin[m][r],
					      &cpu[m][r], 0);
			if (!wall[m][r])
				return 1;
		}
	}
	{
		uint64_t base = median(wall[NONE], rounds), cbase = median(cpu[NONE], rounds);

		printf("%-15s %10s %10s %7s %10s %7s %9s %9s\n", "mode", "wall ms", "min ms",
		       "ratio", "cpu ms", "ratio", "load ms", "finish ms");
		for (int m = 0; m < nmodes; m++) {
			uint64_t med = median(wall[m], rounds), cmed = median(cpu[m], rounds);

			printf("%-15s %10.1f %10.1f %7.3f %10.1f %7.3f %9.1f %9.1f\n",
			       mode_names[m], med / 1e6, wall[m][0] / 1e6,
			       (double)med / (double)base, cmed / 1e6, (double)cmed / (double)cbase,
			       median(load[m], rounds) / 1e6, median(fin[m], rounds) / 1e6);
		}
		printf("medians of %d rounds; wall: workload start to the end of its tree; cpu: "
		       "user+sys of its processes\n",
		       rounds);
		printf("target: probes (+ preload) against none at most 1.10 (wall)\n");
		if (!run_once(PROBES, cmd, preload, &l, &f, &c, 1))
			return 1;
	}
	return 0;
}
