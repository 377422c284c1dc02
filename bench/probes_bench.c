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

/* One run; returns the workload's wall time in ns, or 0 on failure. */
static uint64_t run_once(enum mode m, char **cmd, const char *preload, uint64_t *load_ns,
                         uint64_t *finish_ns)
{
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
                err = ipcprof_probes_start(&p, why, sizeof(why));
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
        t0 = now_ns();
        kill(pid, SIGCONT);
        while ((w = waitpid(-1, &status, 0)) > 0 || (w < 0 && errno == EINTR))
                if (w == pid && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
                        fprintf(stderr, "probes_bench: %s failed (status %#x)\n", cmd[0], status);
                        failed = 1;
                }
        t1 = now_ns();
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
        static uint64_t wall[NMODES][MAX_ROUNDS], load[NMODES][MAX_ROUNDS], fin[NMODES][MAX_ROUNDS];
        const char *preload = NULL;
        int rounds = 5, nmodes, argi = 1;
        char **cmd;

        while (argi < argc && strcmp(argv[argi], "--")) {
                if (!strcmp(argv[argi], "-n") && argi + 1 < argc)
                        rounds = atoi(argv[++argi]);
                else if (!strcmp(argv[argi], "--preload") && argi + 1 < argc)
                        preload = argv[++argi];
                else
                        break;
                argi++;
        }
        if (argi >= argc || strcmp(argv[argi], "--") || argi + 1 >= argc || rounds < 1 ||
            rounds > MAX_ROUNDS) {
                fprintf(stderr, "usage: probes_bench [-n ROUNDS] [--preload LIB] -- PROGRAM "
                                "[ARGS...]\n");
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
        printf("\n%d rounds, modes in rotating order\n", rounds);
        for (int r = 0; r < rounds; r++) {
                for (int k = 0; k < nmodes; k++) {
                        int m = (k + r) % nmodes;

                        wall[m][r] = run_once((enum mode)m, cmd, preload, &load[m][r], &fin[m][r]);
                        if (!wall[m][r])
                                return 1;
                }
        }
        {
                uint64_t base = median(wall[NONE], rounds);

                printf("%-15s %12s %12s %8s %12s %12s\n", "mode", "median ms", "min ms", "ratio",
                       "load ms", "finish ms");
                for (int m = 0; m < nmodes; m++) {
                        uint64_t med = median(wall[m], rounds);

                        printf("%-15s %12.1f %12.1f %8.3f %12.1f %12.1f\n", mode_names[m],
                               med / 1e6, wall[m][0] / 1e6, (double)med / (double)base,
                               median(load[m], rounds) / 1e6, median(fin[m], rounds) / 1e6);
                }
                printf("target: probes (+ preload) against none at most 1.10\n");
        }
        return 0;
}
