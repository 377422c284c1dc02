/* Creating the report's files safely: in a folder checked once, never through a planted link. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"

int ipcprof_outdir_open(struct ipcprof_outdir *d, const char *path, bool chosen, char *err,
			size_t errlen)
{
	d->fd = -1;
	d->path = path;
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	/* Opened once, without following a link: every file below is made relative to this fd,
	 * so a folder renamed or swapped for a link afterwards cannot send a file elsewhere. */
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot use %s as the report's folder: %s", path,
			 errno == ELOOP || errno == ENOTDIR ? "not a folder (links are refused)"
							    : strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	/* Another user's folder is theirs to fill: they could swap names under us, and they
	 * would find files there that they cannot read. Only an explicit -o writes into it. */
	if (st.st_uid != geteuid() && !chosen) {
		snprintf(err, errlen,
			 "%s belongs to another user (uid %u): the report is not written into it; "
			 "choose a folder for it with -o DIR",
			 path, (unsigned)st.st_uid);
		close(fd);
		return -1;
	}
	d->fd = fd;
	return 0;
}

void ipcprof_outdir_close(struct ipcprof_outdir *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

FILE *ipcprof_out_begin(const struct ipcprof_outdir *d, const char *name, char *tmp, size_t tmplen)
{
	/* A fresh name each time, created O_EXCL: whatever already lies in the folder under any
	 * name (a link to a file of root's, say) is never opened. */
	for (int tries = 0; tries < 100; tries++) {
		unsigned long long r = 0;
		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
			r = ((unsigned long long)getpid() << 20) ^ (unsigned long long)tries;
		if (snprintf(tmp, tmplen, ".%s.%016llx.tmp", name, r) >= (int)tmplen) {
			errno = ENAMETOOLONG;
			return NULL;
		}
		int fd =
		    openat(d->fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			if (errno == EEXIST)
				continue;
			return NULL;
		}
		FILE *f = fdopen(fd, "w");
		if (!f) {
			int e = errno;
			unlinkat(d->fd, tmp, 0);
			close(fd);
			errno = e;
		}
		return f;
	}
	errno = EEXIST;
	return NULL;
}

int ipcprof_out_end(const struct ipcprof_outdir *d, FILE *f, const char *tmp, const char *name,
		    int rc)
{
	int e = 0;
	if (rc != 0 || ferror(f))
		e = errno ? errno : EIO;
	if (fclose(f) != 0 && !e)
		e = errno;
	/* rename replaces a link at the final name, never what it points to. */
	if (!e && renameat(d->fd, tmp, d->fd, name) != 0)
		e = errno;
	if (e) {
		unlinkat(d->fd, tmp, 0);
		errno = e;
		return -1;
	}
	return 0;
}
