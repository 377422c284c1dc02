/* Reads the parents, threads and states of running processes from /proc (for an attach). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc_tree.h"

int ipcprof_proc_stat(pid_t pid, pid_t tid, struct ipcprof_proc_stat *out)
{
	char path[64], buf[512];
	int fd, ppid;
	ssize_t n;
	char *close_paren;

	if (tid > 0)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* The name in parentheses may hold spaces and parentheses itself: the last ')' ends it. */
	close_paren = strrchr(buf, ')');
	if (!close_paren || sscanf(close_paren + 1, " %c %d", &out->state, &ppid) != 2)
		return -1;
	out->pid = tid > 0 ? tid : pid;
	out->ppid = ppid;
	return 0;
}

/* The numeric entries of a /proc folder (the processes, or pid's threads when pid > 0), each with
 * its stat line. */
static int list_dir(const char *dir, pid_t pid, struct ipcprof_proc_stat **out, size_t *count)
{
	DIR *d = opendir(dir);
	struct ipcprof_proc_stat *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;

	*out = NULL;
	*count = 0;
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char *end;
		long id = strtol(e->d_name, &end, 10);
		struct ipcprof_proc_stat st;

		if (*end || id <= 0)
			continue;
		/* Gone since readdir listed it: not ours to follow any more. */
		if (ipcprof_proc_stat(pid > 0 ? pid : (pid_t)id, pid > 0 ? (pid_t)id : 0, &st) != 0)
			continue;
		if (n == cap) {
			size_t c = cap ? 2 * cap : 256;
			struct ipcprof_proc_stat *g = realloc(v, c * sizeof(*v));

			if (!g) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = g;
			cap = c;
		}
		v[n++] = st;
	}
	closedir(d);
	*out = v;
	*count = n;
	return 0;
}

int ipcprof_proc_list(struct ipcprof_proc_stat **out, size_t *count)
{
	return list_dir("/proc", 0, out, count);
}

int ipcprof_proc_tasks(pid_t pid, struct ipcprof_proc_stat **out, size_t *count)
{
	char dir[64];

	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	return list_dir(dir, pid, out, count);
}
