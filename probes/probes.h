/* Loads the eBPF probes, follows a process tree and writes what they saw to kernel.ipckrn. */
#ifndef IPCPROF_PROBES_H
#define IPCPROF_PROBES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct ipcprof_probes;

/* What the probes count (the file's header.mode, enum ipcprof_kmode in ipcprof/kernel.h). */
enum ipcprof_probes_mode {
	/* Every data and wait syscall (raw_syscalls sys_enter/sys_exit): bytes, calls, times;
	 * and every page fault in shared memory. Needed without the preload; with it, a
	 * cross-check. Every syscall and every page fault of the machine pays for the
	 * tracepoints. */
	IPCPROF_PROBES_SYSCALLS = 0,
	/* No syscall or page-fault tracepoint: the scheduler's switches alone find the off-CPU
	 * stretches inside data and wait calls; the preload's records hold the calls, bytes and
	 * times, and the pages each process touched in its shared mappings. */
	IPCPROF_PROBES_SCHED = 1,
};

/* Load and attach. 0 or a negative errno; on failure a one-line reason in why (e.g. "needs
 * CAP_BPF and CAP_PERFMON (run as root)"). With IPCPROF_VERBOSE=1, the start-up's parts are
 * timed on stderr. */
int ipcprof_probes_start(struct ipcprof_probes **out, enum ipcprof_probes_mode mode, char *why,
			 size_t whylen);

/* Follow the process tree rooted at pid (called by the parent right after fork, before the
 * child execs the program; the child waits until this returns). 0 or a negative errno. */
int ipcprof_probes_follow(struct ipcprof_probes *p, pid_t root);

/* Follows a process that runs already (ipcprof record --pid): its threads, and its children and
 * theirs as /proc shows them now; the children they start from now on join. Neither signalled
 * nor traced: the probes only watch. *processes: how many are followed. 0 or a negative errno,
 * with a one-line reason in why. The session's start is the attach. */
int ipcprof_probes_attach(struct ipcprof_probes *p, pid_t root, size_t *processes, char *why,
			  size_t whylen);

/* Whether a followed process is still alive (false once all of the tree has exited). */
bool ipcprof_probes_alive(struct ipcprof_probes *p);

/* After the tree has exited: collect and write session_dir/kernel.ipckrn (detaching the probes
 * first). 0 or a negative errno. */
int ipcprof_probes_finish(struct ipcprof_probes *p, const char *session_dir);

/* Detaches and unloads; p may be NULL. */
void ipcprof_probes_free(struct ipcprof_probes *p);

#endif
