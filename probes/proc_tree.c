/* Reads the parents, threads and states of running processes from /proc (for an attach). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <ipcprof/kernel.h>

#include "proc_tree.h"

/* The file systems whose shared mappings are shared memory (linux/magic.h), as in the probes. */
#define TMPFS_MAGIC     0x01021994
#define HUGETLBFS_MAGIC 0x958458f6

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

int ipcprof_proc_shared_maps(pid_t pid, struct ipcprof_proc_map **out, size_t *count)
{
	char path[64], line[512];
	struct ipcprof_proc_map *v = NULL;
	size_t n = 0, cap = 0;
	FILE *f;

	*out = NULL;
	*count = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;
		char perms[8];
		struct statfs fs;

		/* A path longer than the line leaves its tail for the next fgets: not a mapping. */
		if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) != 3 || strlen(perms) < 4 ||
		    perms[3] != 's')
			continue;
		/* The mapped file itself (anonymous shared memory is a tmpfs file too). */
		snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", (int)pid, start, end);
		if (statfs(path, &fs) != 0)
			continue;
		if (n == cap) {
			size_t c = cap ? 2 * cap : 16;
			struct ipcprof_proc_map *g = realloc(v, c * sizeof(*v));

			if (!g) {
				free(v);
				fclose(f);
				return -ENOMEM;
			}
			v = g;
			cap = c;
		}
		v[n].start = start;
		v[n].end = end;
		v[n].kind = fs.f_type == TMPFS_MAGIC || fs.f_type == HUGETLBFS_MAGIC
				? IPCPROF_KFAULT_SHMEM
				: IPCPROF_KFAULT_SHARED_FILE;
		v[n].page_bytes = fs.f_type == HUGETLBFS_MAGIC ? 2u << 20 : 4096;
		n++;
	}
	fclose(f);
	*out = v;
	*count = n;
	return 0;
}
