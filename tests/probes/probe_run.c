/* Runs a program under the eBPF probes through the loader API and leaves DIR/kernel.ipckrn.
 * -m sched: the probes' sched mode (no syscall tracepoints); default: syscalls mode. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probes.h"

/* Exit status that tells meson the test was skipped. */
#define EXIT_SKIP 77

int main(int argc, char **argv)
{
	struct ipcprof_probes *p = NULL;
	char why[256];
	int err, status = 0, root_status = -1, argi = 1;
	enum ipcprof_probes_mode mode = IPCPROF_PROBES_SYSCALLS;
	pid_t pid, w;

	if (argc > 2 && !strcmp(argv[1], "-m")) {
		if (strcmp(argv[2], "sched") && strcmp(argv[2], "syscalls")) {
			fprintf(stderr, "probe_run: -m sched or -m syscalls, not %s\n", argv[2]);
			return 2;
		}
		mode = strcmp(argv[2], "sched") ? IPCPROF_PROBES_SYSCALLS : IPCPROF_PROBES_SCHED;
		argv += 2;
		argc -= 2;
	}

	/* -e NAME=VALUE: set in the program's environment only (LD_PRELOAD must not reach us). */
	while (argi + 1 < argc && !strcmp(argv[argi], "-e"))
		argi += 2;
	if (argc - argi < 2) {
		fprintf(stderr,
			"usage: probe_run [-m sched|syscalls] [-e NAME=VALUE]... DIR PROGRAM "
			"[ARGS...]\n");
		return 2;
	}
	err = ipcprof_probes_start(&p, mode, why, sizeof(why));
	if (err) {
		/* Not permitted, or a kernel without what the probes need: not a failure here.
                 * A verifier's refusal (EACCES) is: the probes are broken. */
		if (err == -EPERM || err == -ENOTSUP || err == -ENOSYS) {
			printf("SKIP: eBPF probes not available: %s\n", why);
			return EXIT_SKIP;
		}
		fprintf(stderr, "probe_run: cannot start the probes: %s\n", why);
		return 1;
	}
	/* Orphaned grandchildren come back to us, so that the whole tree is waited for. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		perror("probe_run: PR_SET_CHILD_SUBREAPER");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("probe_run: fork");
		return 1;
	}
	if (pid == 0) {
		/* Stopped, the child makes no call the probes would count while it waits. */
		for (int i = 1; i < argi; i += 2)
			if (putenv(argv[i + 1]) != 0)
				_exit(127);
		raise(SIGSTOP);
		execvp(argv[argi + 1], argv + argi + 1);
		fprintf(stderr, "probe_run: %s: %s\n", argv[argi + 1], strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status)) {
		fprintf(stderr, "probe_run: the child did not stop\n");
		return 1;
	}
	err = ipcprof_probes_follow(p, pid);
	kill(pid, SIGCONT);
	if (err) {
		fprintf(stderr, "probe_run: cannot follow %d: %s\n", (int)pid, strerror(-err));
		return 1;
	}
	for (;;) {
		w = waitpid(-1, &status, 0);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (w == pid)
			root_status = status;
	}
	err = ipcprof_probes_finish(p, argv[argi]);
	ipcprof_probes_free(p);
	if (err) {
		fprintf(stderr, "probe_run: cannot write %s/kernel.ipckrn: %s\n", argv[argi],
			strerror(-err));
		return 1;
	}
	if (!WIFEXITED(root_status) || WEXITSTATUS(root_status) != 0) {
		fprintf(stderr, "probe_run: %s failed (wait status %#x)\n", argv[argi + 1],
			root_status);
		return 1;
	}
	return 0;
}
