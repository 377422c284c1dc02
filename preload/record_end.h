/* Completing a child's record from its parent's wait status (shared by the preload and ipcprof record). */
#ifndef IPCPROF_RECORD_END_H
#define IPCPROF_RECORD_END_H

#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "ipcprof/record.h"

/*
 * Writes how process pid ended (a wait status, and its rusage when the child could not write its
 * own) into the newest record of pid in dir, unless the record already says so. Returns 1 when it
 * changed the record, 0 when there was nothing to change or no record, -1 on a write error.
 */
int ipcprof_record_end(const char *dir, pid_t pid, int status, const struct rusage *ru,
		       uint64_t now_ns);

#endif
