/* A running process tree as /proc shows it: parents, threads and their states (for an attach). */
#ifndef IPCPROF_PROC_TREE_H
#define IPCPROF_PROC_TREE_H

#include <stddef.h>
#include <sys/types.h>

/* One line of /proc/PID/stat, the fields an attach needs. */
struct ipcprof_proc_stat {
	pid_t pid;
	pid_t ppid;
	char state; /* 'R' running or runnable, 'S', 'D', ... */
};

/* Reads /proc/PID/stat, or /proc/PID/task/TID/stat when tid > 0. 0, or -1 (gone). */
int ipcprof_proc_stat(pid_t pid, pid_t tid, struct ipcprof_proc_stat *out);

/* Every process of the machine, with its parent: a malloc'd array (*out) of *count entries.
 * 0, or a negative errno. */
int ipcprof_proc_list(struct ipcprof_proc_stat **out, size_t *count);

/* The threads of pid with their states (pid field = tid): malloc'd like ipcprof_proc_list. */
int ipcprof_proc_tasks(pid_t pid, struct ipcprof_proc_stat **out, size_t *count);

/* A shared mapping of a running process, classified as the probes' fault counting does. */
struct ipcprof_proc_map {
	unsigned long start, end;
	unsigned kind;       /* IPCPROF_KFAULT_SHMEM (tmpfs, hugetlbfs) or _SHARED_FILE */
	unsigned page_bytes; /* 4096, or 2 MiB for hugetlbfs */
};

/* The shared mappings of pid (/proc/PID/maps, each file's file system through map_files):
 * malloc'd like ipcprof_proc_list. */
int ipcprof_proc_shared_maps(pid_t pid, struct ipcprof_proc_map **out, size_t *count);

#endif
