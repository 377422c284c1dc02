/* Completing a child's record from its parent's wait status (shared by the preload and ipcprof record). */
#ifndef IPCPROF_RECORD_END_H
#define IPCPROF_RECORD_END_H

#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "ipcprof/record.h"

/* The pid namespace of the calling process: the inode of /proc/self/ns/pid, 0 when unknown. */
uint64_t ipcprof_pidns(void);

/*
 * Writes how process pid ended (a wait status, and its rusage when the child could not write its
 * own) into the newest record of pid in dir, unless the record already says so. pidns is the
 * waiter's pid namespace (ipcprof_pidns()): records of the same pid in another namespace are
 * another process's. Returns 1 when it changed the record, 0 when there was nothing to change or
 * no record, -1 on a write error.
 */
int ipcprof_record_end(const char *dir, pid_t pid, uint64_t pidns, int status,
		       const struct rusage *ru, uint64_t now_ns);

#endif
