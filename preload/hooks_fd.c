/* Wrappers of the calls that make, copy and end fds and shared mappings: they keep the fd table true. */
#include <fcntl.h>
#include <stdarg.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "preload.h"

/* A new fd may reuse the number of one closed behind our back: it is classified afresh. */
static int fresh(int fd)
{
	if (fd >= 0)
		ipcprof_fd_forget(fd);
	return fd;
}

/* An fd this process made: its channel is marked as created here. */
static int made(int fd)
{
	if (fd >= 0)
		ipcprof_fd_made(fd, IPCPROF_FD_ORIGIN_CREATED);
	return fd;
}

static int made_pair(int r, const int fds[2], unsigned origin)
{
	if (r == 0) {
		ipcprof_fd_made(fds[0], origin);
		ipcprof_fd_made(fds[1], origin);
	}
	return r;
}

/*
 * libunwind makes a pipe of its own at its first use, to test whether an address is readable by
 * writing a byte of it there: two fds the program never asked for. Inside ipcprof's unwinding it
 * gets two numbers that are no fds instead, and the sampler answers its test (see syscall() in
 * sampler.c); closing them costs nothing.
 */
static bool fake_unwind_pipe(int fds[2], const void *ret)
{
	if (!ipcprof_unwinder_calls(ret))
		return false;
	fds[0] = IPCPROF_UNWIND_FD_R;
	fds[1] = IPCPROF_UNWIND_FD_W;
	return true;
}

IPCPROF_API int pipe(int fds[2])
{
	if (fake_unwind_pipe(fds, __builtin_return_address(0)))
		return 0;
	return made_pair(REAL(pipe)(fds), fds, IPCPROF_FD_ORIGIN_CREATED);
}

IPCPROF_API int pipe2(int fds[2], int flags)
{
	if (fake_unwind_pipe(fds, __builtin_return_address(0)))
		return 0;
	return made_pair(REAL(pipe2)(fds, flags), fds, IPCPROF_FD_ORIGIN_CREATED);
}

IPCPROF_API int socketpair(int domain, int type, int proto, int fds[2])
{
	int r =
	    made_pair(REAL(socketpair)(domain, type, proto, fds), fds, IPCPROF_FD_ORIGIN_CREATED);
	if (r == 0 && domain == AF_UNIX && ipcprof_rec) {
		int e = IPCPROF_ERRNO;
		ipcprof_socketpair_made(fds);
		IPCPROF_ERRNO = e;
	}
	return r;
}

IPCPROF_API int socket(int domain, int type, int proto)
{
	return made(REAL(socket)(domain, type, proto));
}

/*
 * An AF_UNIX socket that connect() or accept() made is claimed at once, while the other end still
 * exists: a client may send and close before the server accepts, and the kernel then names no
 * peer to either end. Each end records who connected to which listener, and when, which pairs
 * them in the report (channel_unix.c). Both ends are recorded even when no data moves on them,
 * so that the connections of one client to one listener can be matched in order.
 */
static void unix_made(int fd, int made_by, int listen_fd, uint64_t made_ns)
{
	if (!ipcprof_rec || ipcprof_thr.guard)
		return;
	int e = IPCPROF_ERRNO;
	ipcprof_sock_made = (struct ipcprof_sock_made){fd, made_by, listen_fd, made_ns};
	ipcprof_fd_reclassify(fd);
	(void)ipcprof_channel_of(fd);
	ipcprof_sock_made.fd = -1;
	IPCPROF_ERRNO = e;
}

/* connect and bind change what a socket is connected to: classify it again on its next call. */
IPCPROF_API int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	uint64_t t0 = ipcprof_now();
	int r = REAL(connect)(fd, addr, len);
	int e = IPCPROF_ERRNO;
	if (r == 0 && addr && len >= sizeof(sa_family_t) && addr->sa_family == AF_UNIX)
		unix_made(fd, IPCPROF_MADE_CONNECT, -1, t0);
	else if (r == 0 || e == EINPROGRESS)
		ipcprof_fd_reclassify(fd);
	IPCPROF_ERRNO = e;
	return r;
}

IPCPROF_API int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	int r = REAL(bind)(fd, addr, len);
	if (r == 0)
		ipcprof_fd_reclassify(fd);
	return r;
}

/* buflen: *len before the call, the room the caller gave the peer's address. */
static int accepted(int fd, int lfd, const struct sockaddr *addr, socklen_t buflen)
{
	if (fd < 0 || !ipcprof_rec || ipcprof_thr.guard)
		return made(fd);
	made(fd);
	uint64_t t1 = ipcprof_now();
	int e = IPCPROF_ERRNO;
	int domain = -1;
	if (addr && buflen >= sizeof(sa_family_t)) {
		domain = addr->sa_family;
	} else {
		socklen_t l = sizeof(domain);
		if (getsockopt(lfd, SOL_SOCKET, SO_DOMAIN, &domain, &l) != 0)
			domain = -1;
	}
	IPCPROF_ERRNO = e;
	if (domain == AF_UNIX)
		unix_made(fd, IPCPROF_MADE_ACCEPT, lfd, t1);
	return fd;
}

IPCPROF_API int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	socklen_t buflen = addr && len ? *len : 0;
	return accepted(REAL(accept)(fd, addr, len), fd, addr, buflen);
}

IPCPROF_API int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	socklen_t buflen = addr && len ? *len : 0;
	return accepted(REAL(accept4)(fd, addr, len, flags), fd, addr, buflen);
}

static mode_t open_mode(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

IPCPROF_API int open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = open_mode(flags, ap);
	va_end(ap);
	return fresh(REAL(open)(path, flags, mode));
}

IPCPROF_API int open64(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = open_mode(flags, ap);
	va_end(ap);
	return fresh(REAL(open64)(path, flags, mode));
}

IPCPROF_API int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = open_mode(flags, ap);
	va_end(ap);
	return fresh(REAL(openat)(dirfd, path, flags, mode));
}

IPCPROF_API int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = open_mode(flags, ap);
	va_end(ap);
	return fresh(REAL(openat64)(dirfd, path, flags, mode));
}

IPCPROF_API int shm_open(const char *name, int flags, mode_t mode)
{
	int fd = REAL(shm_open)(name, flags, mode);
	return flags & O_CREAT ? made(fd) : fresh(fd);
}

IPCPROF_API int memfd_create(const char *name, unsigned int flags)
{
	return made(REAL(memfd_create)(name, flags));
}

IPCPROF_API int eventfd(unsigned int initval, int flags)
{
	return made(REAL(eventfd)(initval, flags));
}

IPCPROF_API int close(int fd)
{
	if (IPCPROF_UNLIKELY(fd >= IPCPROF_UNWIND_FD_R && fd <= IPCPROF_UNWIND_FD_W) &&
	    ipcprof_unwinder_calls(__builtin_return_address(0))) {
		IPCPROF_ERRNO = EBADF;
		return -1;
	}
	ipcprof_fd_closing(fd);
	return REAL(close)(fd);
}

IPCPROF_API int close_range(unsigned int first, unsigned int last, int flags)
{
	int r = REAL(close_range)(first, last, flags);
	/* CLOSE_RANGE_CLOEXEC only marks them; forgetting costs a classification, nothing more. */
	if (r == 0)
		ipcprof_fd_forget_range(first, last);
	return r;
}

IPCPROF_API void closefrom(int lowfd)
{
	REAL(closefrom)(lowfd);
	if (lowfd >= 0)
		ipcprof_fd_forget_range((unsigned)lowfd, IPCPROF_FDTAB_SIZE - 1);
}

/*
 * In a vfork child the fd table is the parent's memory: a dup there must not make the parent
 * count its own fd as the child's pipe. Forgetting is always safe; copying only in this process.
 */
static int duplicated(int from, int to)
{
	if (to < 0)
		return to;
	int e = IPCPROF_ERRNO;
	if (ipcprof_is_self())
		ipcprof_fd_copy(from, to);
	else
		ipcprof_fd_forget(to);
	IPCPROF_ERRNO = e;
	return to;
}

IPCPROF_API int dup(int fd)
{
	return duplicated(fd, REAL(dup)(fd));
}

IPCPROF_API int dup2(int fd, int to)
{
	int r = REAL(dup2)(fd, to);
	return r >= 0 && r != fd ? duplicated(fd, r) : r;
}

IPCPROF_API int dup3(int fd, int to, int flags)
{
	return duplicated(fd, REAL(dup3)(fd, to, flags));
}

static int fcntl_done(int fd, int cmd, int r)
{
	if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && r >= 0)
		return duplicated(fd, r);
	return r;
}

IPCPROF_API int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_done(fd, cmd, REAL(fcntl)(fd, cmd, arg));
}

IPCPROF_API int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_done(fd, cmd, REAL(fcntl64)(fd, cmd, arg));
}

/*
 * libunwind's first use in a thread, made without its fast tracer's table (sampler.c). Only
 * libunwind's own mmap is refused: the program's allocator may map memory meanwhile (for the
 * TLS block the loader allocates), and must get it.
 */
static bool refused(size_t len, int flags, const void *ret)
{
	if (!(flags & MAP_ANONYMOUS) || (flags & MAP_TYPE) != MAP_PRIVATE || len < (128u << 10) ||
	    !ipcprof_unwinder_calls(ret))
		return false;
	ipcprof_thr.refuse_map = 2;
	IPCPROF_ERRNO = ENOMEM;
	return true;
}

IPCPROF_API void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (IPCPROF_UNLIKELY(ipcprof_thr.refuse_map) &&
	    refused(len, flags, __builtin_return_address(0)))
		return MAP_FAILED;
	void *p = REAL(mmap)(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED && (flags & MAP_TYPE) != MAP_PRIVATE)
		ipcprof_map_added(p, len, prot, flags, fd, off);
	return p;
}

IPCPROF_API void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (IPCPROF_UNLIKELY(ipcprof_thr.refuse_map) &&
	    refused(len, flags, __builtin_return_address(0)))
		return MAP_FAILED;
	void *p = REAL(mmap64)(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED && (flags & MAP_TYPE) != MAP_PRIVATE)
		ipcprof_map_added(p, len, prot, flags, fd, off);
	return p;
}

IPCPROF_API int munmap(void *addr, size_t len)
{
	ipcprof_map_removed(addr, len);
	return REAL(munmap)(addr, len);
}

IPCPROF_API void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *want = NULL;
	if (flags & MREMAP_FIXED) {
		va_list ap;
		va_start(ap, flags);
		want = va_arg(ap, void *);
		va_end(ap);
	}
	void *p = REAL(mremap)(old, old_len, new_len, flags, want);
	if (p != MAP_FAILED) {
		int e = IPCPROF_ERRNO;
		ipcprof_map_moved(old, old_len, p, new_len);
		IPCPROF_ERRNO = e;
	}
	return p;
}
