/* Small helpers of the preload that need none of its state: safe in a vfork child, and unit-tested. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "preload.h"
#include "sys.h"

/* A byte at a time: the names it copies are short, and a fork child that classifies an fd then
 * faults in no page of the C library's strlen and memcpy for it. */
size_t ipcprof_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = 0;
	for (; src[n]; n++)
		if (n + 1 < size)
			dst[n] = src[n];
	if (size)
		dst[n < size ? n : size - 1] = 0;
	return n;
}

char *ipcprof_put_uint(char *p, uint64_t v, unsigned base)
{
	char digits[64];
	int n = 0;
	do {
		unsigned d =
		    (unsigned)(v % base); /* no table: a fork child reads no page of constants */
		digits[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
	} while (v /= base);
	while (n)
		*p++ = digits[--n];
	return p;
}

/* (own inode << 32 | peer inode) of socketpair ends by fd; checked against fstat when used, so
 * that a number reused behind our back finds no stale peer. */
_Atomic uint64_t ipcprof_sock_peer[IPCPROF_FDTAB_SIZE] IPCPROF_BIG;

void ipcprof_socketpair_made(const int fds[2])
{
	if ((unsigned)fds[0] >= IPCPROF_FDTAB_SIZE || (unsigned)fds[1] >= IPCPROF_FDTAB_SIZE)
		return;
	struct stat a, b;
	if (sys_fstat(fds[0], &a) != 0 || sys_fstat(fds[1], &b) != 0)
		return;
	uint64_t ia = (uint32_t)a.st_ino, ib = (uint32_t)b.st_ino;
	atomic_store_explicit(&ipcprof_sock_peer[fds[0]], ia << 32 | ib, memory_order_relaxed);
	atomic_store_explicit(&ipcprof_sock_peer[fds[1]], ib << 32 | ia, memory_order_relaxed);
}

/* The socket being claimed inside connect() or accept(), for its claim to read. */
IPCPROF_TLS struct ipcprof_sock_made ipcprof_sock_made = {.fd = -1};

#ifndef PIPEFS_MAGIC
#define PIPEFS_MAGIC 0x50495045
#endif

/* Whether the FIFO fd is an anonymous pipe (on pipefs, not a named FIFO on a file system): its
 * device, once one is seen, answers without a system call. */
static bool is_pipefs(int fd, dev_t dev)
{
	static _Atomic uint64_t pipefs_dev; /* + 1; 0: not seen yet */
	uint64_t known = atomic_load_explicit(&pipefs_dev, memory_order_relaxed);
	if (known)
		return known == (uint64_t)dev + 1;
	struct statfs fs;
	if (sys_fstatfs(fd, &fs) != 0 || fs.f_type != PIPEFS_MAGIC)
		return false;
	atomic_store_explicit(&pipefs_dev, (uint64_t)dev + 1, memory_order_relaxed);
	return true;
}

int ipcprof_fd_info_fill(int fd, struct ipcprof_fd_info *info, char *link, size_t linksize)
{
	memset(info, 0, sizeof(*info));
	info->fd = fd;
	info->sock_domain = info->sock_type = -1;
	info->link = "";
	link[0] = 0;
	if (sys_fstat(fd, &info->st) != 0)
		return -errno;
	mode_t fmt = info->st.st_mode & S_IFMT;
	if (fmt == S_IFSOCK) {
		if ((unsigned)fd < IPCPROF_FDTAB_SIZE) {
			uint64_t h =
			    atomic_load_explicit(&ipcprof_sock_peer[fd], memory_order_relaxed);
			if (h && (uint32_t)(h >> 32) == (uint32_t)info->st.st_ino)
				info->peer_hint = (uint32_t)h;
		}
		if (ipcprof_sock_made.fd == fd) {
			info->made_by = ipcprof_sock_made.made_by;
			info->listen_fd = ipcprof_sock_made.listen_fd;
			info->made_ns = ipcprof_sock_made.made_ns;
		}
		socklen_t l = sizeof(int);
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &info->sock_domain, &l) != 0)
			info->sock_domain = -1;
		l = sizeof(int);
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &info->sock_type, &l) != 0)
			info->sock_type = -1;
	} else if (fmt == S_IFIFO && is_pipefs(fd, info->st.st_dev)) {
		/* What /proc/self/fd says of an anonymous pipe, without the path lookup. */
		if (linksize >= 28) { /* "pipe:[" 20 digits "]" */
			memcpy(link, "pipe:[", 6);
			char *q = ipcprof_put_uint(link + 6, (uint64_t)info->st.st_ino, 10);
			*q++ = ']';
			*q = 0;
		}
		info->link = link;
	} else if (fmt == 0 || fmt == S_IFIFO ||
		   (fmt == S_IFREG &&
		    (info->st.st_dev == ipcprof_dev_shm || info->st.st_dev == ipcprof_dev_memfd))) {
		char p[32] = "/proc/self/fd/";
		*ipcprof_put_uint(p + 14, (unsigned)fd, 10) = 0;
		ssize_t n = sys_readlink(p, link, linksize - 1);
		link[n > 0 ? n : 0] = 0;
		info->link = link;
	}
	return 0;
}

char *const *ipcprof_env_merge(char *const *envp, char *const *saved, unsigned nsaved, char **out,
			       size_t cap)
{
	/* No environment at all (execve with NULL, a cleared environ): an empty one. */
	static char *const none[] = {NULL};
	if (!envp)
		envp = none;
	if (!nsaved || nsaved > 64)
		return envp;
	bool have[64] = {0};
	unsigned missing = nsaved;
	size_t n = 0;
	for (; envp[n]; n++) {
		for (unsigned i = 0; i < nsaved; i++) {
			if (have[i])
				continue;
			const char *eq = strchr(saved[i], '=');
			size_t k = eq ? (size_t)(eq - saved[i]) + 1 : strlen(saved[i]);
			if (!strncmp(envp[n], saved[i], k)) {
				have[i] = true;
				missing--;
			}
		}
	}
	if (!missing || n + missing + 1 > cap)
		return envp;
	memcpy(out, envp, n * sizeof(*out));
	for (unsigned i = 0; i < nsaved; i++)
		if (!have[i])
			out[n++] = saved[i];
	out[n] = NULL;
	return out;
}
