/* ipcprof record --pid: follows a running process tree with the probes, then writes their figures. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ipcprof/kernel.h>

#include "cli.h"
#include "probes.h"
#include "record_attach.h"
#include "report.h"

/* How often the loop looks whether the followed processes are all gone: each look is one map
 * lookup, and the end of the recording is late by at most this. */
#define POLL_NS 20000000L

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Copies /proc/PID/cmdline into the session folder: the report's argv of the root, which the
 * kernel's figures do not hold (read to its end: /proc gives it no size); its first bytes, the
 * NULs as spaces, in show for the message. 0, or -1 (the process is gone, or the folder
 * refused the file).
 */
static int keep_cmdline(pid_t pid, const char *dir, char *show, size_t showlen)
{
	char path[64], out[4096];
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (;;) {
		if (n == cap) {
			char *g = realloc(buf, cap ? 2 * cap : 4096);
			if (!g) {
				free(buf);
				close(fd);
				return -1;
			}
			buf = g;
			cap = cap ? 2 * cap : 4096;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	size_t s = 0;
	for (; s < n && s + 1 < showlen; s++)
		show[s] = buf[s] ? buf[s] : ' ';
	while (s > 0 && show[s - 1] == ' ')
		s--;
	show[s] = '\0';
	int rc = -1;
	if (snprintf(out, sizeof(out), "%s/%s", dir, IPCPROF_KERNEL_CMDLINE_FILE) <
	    (int)sizeof(out)) {
		fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		rc = fd >= 0 && write(fd, buf, n) == (ssize_t)n ? 0 : -1;
		if (fd >= 0 && close(fd) != 0)
			rc = -1;
	}
	free(buf);
	return rc;
}

int ipcprof_record_attach(struct ipcprof_probes *pr, pid_t pid, double duration_s, const char *dir,
			  bool quiet)
{
	char cmd[256], why[256];
	size_t procs = 0;
	double t0 = mono_s();

	if (keep_cmdline(pid, dir, cmd, sizeof(cmd)) != 0) {
		ipcprof_say(IPCPROF_SAY "cannot keep PID %d's command line in %s: %s", (int)pid,
			    dir, strerror(errno));
		return 125;
	}
	struct sigaction sa = {.sa_handler = on_stop}, old[3];
	sigemptyset(&sa.sa_mask);
	int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	if (ipcprof_probes_attach(pr, pid, &procs, why, sizeof(why)) != 0) {
		ipcprof_say(IPCPROF_SAY "cannot attach to PID %d: %s", (int)pid, why);
		for (int i = 0; i < 3; i++)
			sigaction(sigs[i], &old[i], NULL);
		return 125;
	}
	double attached = mono_s();
	if (!quiet) {
		char limit[64] = "";
		if (duration_s > 0)
			snprintf(limit, sizeof(limit), "for %g s, ", duration_s);
		ipcprof_say(IPCPROF_SAY "attached to PID %d (%s), %zu process%s, in %.1f ms; "
				        "following %suntil Ctrl-C or the processes end",
			    (int)pid, cmd, procs, procs == 1 ? "" : "es", (attached - t0) * 1e3,
			    limit);
	}
	const char *why_end = "every followed process exited";
	for (;;) {
		if (stop_signal) {
			why_end = strsignal(stop_signal);
			break;
		}
		if (duration_s > 0 && mono_s() - attached >= duration_s) {
			why_end = "--duration elapsed";
			break;
		}
		if (!ipcprof_probes_alive(pr))
			break;
		struct timespec ts = {0, POLL_NS};
		nanosleep(&ts, NULL); /* a stop signal cuts it short */
	}
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	if (!quiet)
		ipcprof_say(IPCPROF_SAY "stopped following PID %d after %.2f s: %s", (int)pid,
			    mono_s() - attached, why_end);
	int r = ipcprof_probes_finish(pr, dir);
	if (r < 0) {
		fprintf(stderr, IPCPROF_SAY "eBPF probes: cannot write their figures: %s\n",
			strerror(-r));
		return 125;
	}
	return 0;
}
