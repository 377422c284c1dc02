/* ipcprof record --pid: the probes follow a process tree that runs already, for a while. */
#ifndef IPCPROF_RECORD_ATTACH_H
#define IPCPROF_RECORD_ATTACH_H

#include <stdbool.h>
#include <sys/types.h>

struct ipcprof_probes;

/* Keeps pid's command line in the session folder dir, attaches the started probes pr to pid and
 * its descendants, and follows them until duration_s seconds have passed (0: no limit), SIGINT,
 * SIGTERM or SIGHUP reaches this process, or every followed process has exited; then writes the
 * probes' figures into dir. The processes are never signalled or traced. Says what happened on
 * stderr (quiet: failures only). 0, or 125 when ipcprof failed. */
int ipcprof_record_attach(struct ipcprof_probes *pr, pid_t pid, double duration_s, const char *dir,
			  bool quiet);

#endif
