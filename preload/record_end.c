/* Completing the record of a process that ended without saying how: used by its waiting parent. */
#include <limits.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <sys/wait.h>

#include "record_end.h"
#include "sys.h"

static uint64_t tv_ns(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000000u + (uint64_t)tv->tv_usec * 1000u;
}

uint64_t ipcprof_pidns(void)
{
	struct stat st;
	if (sys_call(SYS_newfstatat, AT_FDCWD, "/proc/self/ns/pid", &st, 0) != 0)
		return 0;
	return (uint64_t)st.st_ino;
}

int ipcprof_record_end(const char *dir, pid_t pid, uint64_t pidns, int status,
		       const struct rusage *ru, uint64_t now_ns)
{
	char path[PATH_MAX];
	int fd = -1;
	struct ipcprof_process p;
	off_t at = (off_t)offsetof(struct ipcprof_record, proc);
	int changed = 0;
	/* Images of a pid are numbered 0, 1, 2... with no gaps, each but the last ended in exec:
	 * the first that did not is the one that ended (usually image 0, one open). Those of the
	 * same pid in another pid namespace lie among them: they are skipped. */
	for (int s = 0; s < 4096; s++) {
		snprintf(path, sizeof(path), "%s/%d.%d%s", dir, (int)pid, s, IPCPROF_RECORD_SUFFIX);
		int next = sys_open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0);
		if (next < 0)
			break;
		struct ipcprof_process q;
		if (sys_pread(next, &q, sizeof(q), at) != (ssize_t)sizeof(q) || q.pid != pid) {
			sys_close(next);
			goto out;
		}
		if (pidns && q.pidns && q.pidns != pidns) {
			sys_close(next);
			continue;
		}
		if (fd >= 0)
			sys_close(fd);
		fd = next;
		p = q;
		if (p.end_how != IPCPROF_END_EXEC)
			break;
	}
	if (fd < 0)
		return 0;
	if (WIFSIGNALED(status) && p.end_how != IPCPROF_END_SIGNAL) {
		p.end_how = IPCPROF_END_SIGNAL;
		p.term_signal = WTERMSIG(status);
		if (!p.end_ns)
			p.end_ns = now_ns;
		changed = 1;
	} else if (WIFEXITED(status) &&
		   (p.end_how == IPCPROF_END_RUNNING ||
		    (p.end_how == IPCPROF_END_EXIT && p.exit_status != WEXITSTATUS(status)))) {
		if (p.end_how == IPCPROF_END_RUNNING)
			p.end_ns = now_ns;
		p.end_how = IPCPROF_END_EXIT;
		p.exit_status = WEXITSTATUS(status);
		changed = 1;
	}
	if (changed && ru && !p.user_ns && !p.sys_ns) {
		p.user_ns = tv_ns(&ru->ru_utime);
		p.sys_ns = tv_ns(&ru->ru_stime);
		p.minflt = (uint64_t)ru->ru_minflt;
		p.majflt = (uint64_t)ru->ru_majflt;
		p.nvcsw = (uint64_t)ru->ru_nvcsw;
		p.nivcsw = (uint64_t)ru->ru_nivcsw;
		p.maxrss_kb = (uint64_t)ru->ru_maxrss;
	}
	if (changed && sys_pwrite(fd, &p, sizeof(p), at) != (ssize_t)sizeof(p))
		changed = -1;
out:
	if (fd >= 0)
		sys_close(fd);
	return changed;
}
