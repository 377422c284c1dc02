/* Wrappers of the calls that move data: each counts itself when its fd is an IPC channel. */
#include <fcntl.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "preload.h"

/*
 * The shape of every wrapper: an fd that is not IPC costs one table look-up; an IPC fd adds two
 * clock reads and a few atomic adds. errno is whatever the real call left.
 */
#define COUNT_CALL(fd, dir, op, request, buf, buflen, addr, alen, call)                            \
	do {                                                                                       \
		struct ipcprof_channel *ch_ = ipcprof_channel_of(fd);                              \
		if (IPCPROF_LIKELY(!ch_))                                                          \
			return call;                                                               \
		struct ipcprof_timer t_;                                                           \
		ipcprof_timer_start(&t_, (request));                                               \
		__typeof__(call) r_ = call;                                                        \
		int e_ = errno;                                                                    \
		ipcprof_account(ch_, dir, op, (long)r_, e_, &t_, buf, buflen, addr, alen);         \
		return r_;                                                                         \
	} while (0)

#define OUT IPCPROF_DIR_OUT
#define IN  IPCPROF_DIR_IN

static size_t iov_total(const struct iovec *iov, int n)
{
	size_t s = 0;
	for (int i = 0; i < n && iov; i++)
		s += iov[i].iov_len;
	return s;
}

static const void *iov_first(const struct iovec *iov, int n, size_t *len)
{
	/* Fingerprint the largest piece: with a header and a payload, that is the payload. */
	const void *best = NULL;
	*len = 0;
	for (int i = 0; i < n && iov; i++) {
		if (iov[i].iov_len > *len) {
			best = iov[i].iov_base;
			*len = iov[i].iov_len;
		}
	}
	return best;
}

IPCPROF_API ssize_t read(int fd, void *buf, size_t n)
{
	COUNT_CALL(fd, IN, IPCPROF_OP_READ, n, NULL, 0, NULL, 0, REAL(read)(fd, buf, n));
}

IPCPROF_API ssize_t write(int fd, const void *buf, size_t n)
{
	COUNT_CALL(fd, OUT, IPCPROF_OP_WRITE, n, buf, n, NULL, 0, REAL(write)(fd, buf, n));
}

IPCPROF_API ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	COUNT_CALL(fd, IN, IPCPROF_OP_READ, n, NULL, 0, NULL, 0,
		   REAL(read_chk)(fd, buf, n, buflen));
}

IPCPROF_API ssize_t readv(int fd, const struct iovec *iov, int n)
{
	COUNT_CALL(fd, IN, IPCPROF_OP_READV, iov_total(iov, n), NULL, 0, NULL, 0,
		   REAL(readv)(fd, iov, n));
}

IPCPROF_API ssize_t writev(int fd, const struct iovec *iov, int n)
{
	size_t blen;
	const void *b = iov_first(iov, n, &blen);
	COUNT_CALL(fd, OUT, IPCPROF_OP_WRITEV, iov_total(iov, n), b, blen, NULL, 0,
		   REAL(writev)(fd, iov, n));
}

IPCPROF_API ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	COUNT_CALL(fd, IN, IPCPROF_OP_PREAD, n, NULL, 0, NULL, 0, REAL(pread)(fd, buf, n, off));
}

IPCPROF_API ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
	COUNT_CALL(fd, IN, IPCPROF_OP_PREAD, n, NULL, 0, NULL, 0, REAL(pread64)(fd, buf, n, off));
}

IPCPROF_API ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	COUNT_CALL(fd, IN, IPCPROF_OP_PREAD, n, NULL, 0, NULL, 0,
		   REAL(pread_chk)(fd, buf, n, off, buflen));
}

IPCPROF_API ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	COUNT_CALL(fd, IN, IPCPROF_OP_PREAD, n, NULL, 0, NULL, 0,
		   REAL(pread64_chk)(fd, buf, n, off, buflen));
}

IPCPROF_API ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	COUNT_CALL(fd, OUT, IPCPROF_OP_PWRITE, n, buf, n, NULL, 0, REAL(pwrite)(fd, buf, n, off));
}

IPCPROF_API ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	COUNT_CALL(fd, OUT, IPCPROF_OP_PWRITE, n, buf, n, NULL, 0, REAL(pwrite64)(fd, buf, n, off));
}

IPCPROF_API ssize_t preadv(int fd, const struct iovec *iov, int n, off_t off)
{
	COUNT_CALL(fd, IN, IPCPROF_OP_PREAD, iov_total(iov, n), NULL, 0, NULL, 0,
		   REAL(preadv)(fd, iov, n, off));
}

IPCPROF_API ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
	size_t blen;
	const void *b = iov_first(iov, n, &blen);
	COUNT_CALL(fd, OUT, IPCPROF_OP_PWRITE, iov_total(iov, n), b, blen, NULL, 0,
		   REAL(pwritev)(fd, iov, n, off));
}

IPCPROF_API ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	COUNT_CALL(fd, OUT, IPCPROF_OP_SEND, n, buf, n, NULL, 0, REAL(send)(fd, buf, n, flags));
}

IPCPROF_API ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	COUNT_CALL(fd, IN, IPCPROF_OP_RECV, n, NULL, 0, NULL, 0, REAL(recv)(fd, buf, n, flags));
}

IPCPROF_API ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	COUNT_CALL(fd, IN, IPCPROF_OP_RECV, n, NULL, 0, NULL, 0,
		   REAL(recv_chk)(fd, buf, n, buflen, flags));
}

IPCPROF_API ssize_t sendto(int fd, const void *buf, size_t n, int flags,
			   const struct sockaddr *addr, socklen_t alen)
{
	COUNT_CALL(fd, OUT, IPCPROF_OP_SENDTO, n, buf, n, addr, alen,
		   REAL(sendto)(fd, buf, n, flags, addr, alen));
}

IPCPROF_API ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr,
			     socklen_t *alen)
{
	COUNT_CALL(fd, IN, IPCPROF_OP_RECVFROM, n, NULL, 0, addr, alen ? *alen : 0,
		   REAL(recvfrom)(fd, buf, n, flags, addr, alen));
}

IPCPROF_API ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
				   struct sockaddr *addr, socklen_t *alen)
{
	COUNT_CALL(fd, IN, IPCPROF_OP_RECVFROM, n, NULL, 0, addr, alen ? *alen : 0,
		   REAL(recvfrom_chk)(fd, buf, n, buflen, flags, addr, alen));
}

IPCPROF_API ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	size_t blen = 0;
	const void *b = msg ? iov_first(msg->msg_iov, (int)msg->msg_iovlen, &blen) : NULL;
	COUNT_CALL(fd, OUT, IPCPROF_OP_SENDMSG,
		   msg ? iov_total(msg->msg_iov, (int)msg->msg_iovlen) : 0, b, blen,
		   msg ? (const struct sockaddr *)msg->msg_name : NULL, msg ? msg->msg_namelen : 0,
		   REAL(sendmsg)(fd, msg, flags));
}

/* fds that arrive with SCM_RIGHTS are new to this process: classify them on first use. */
static void forget_passed_fds(const struct msghdr *msg)
{
	if (!msg || !msg->msg_control || msg->msg_controllen < sizeof(struct cmsghdr))
		return;
	for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)msg); c;
	     c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		const unsigned char *p = CMSG_DATA(c);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, p + i * sizeof(int), sizeof(int));
			ipcprof_fd_forget(fd);
		}
	}
}

IPCPROF_API ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct ipcprof_channel *ch = ipcprof_channel_of(fd);
	struct ipcprof_timer t;
	if (ch)
		ipcprof_timer_start(&t, msg ? iov_total(msg->msg_iov, (int)msg->msg_iovlen) : 0);
	ssize_t r = REAL(recvmsg)(fd, msg, flags);
	int e = errno;
	if (r >= 0)
		forget_passed_fds(msg);
	if (ch)
		ipcprof_account(ch, IN, IPCPROF_OP_RECVMSG, (long)r, e, &t, NULL, 0,
				msg ? (const struct sockaddr *)msg->msg_name : NULL,
				msg && msg->msg_name ? msg->msg_namelen : 0);
	errno = e;
	return r;
}

static long mmsg_bytes(const struct mmsghdr *v, int n)
{
	long s = 0;
	for (int i = 0; i < n; i++)
		s += (long)v[i].msg_len;
	return s;
}

IPCPROF_API int sendmmsg(int fd, struct mmsghdr *vec, unsigned int n, int flags)
{
	struct ipcprof_channel *ch = ipcprof_channel_of(fd);
	if (IPCPROF_LIKELY(!ch))
		return REAL(sendmmsg)(fd, vec, n, flags);
	size_t req = 0;
	for (unsigned i = 0; i < n; i++)
		req += iov_total(vec[i].msg_hdr.msg_iov, (int)vec[i].msg_hdr.msg_iovlen);
	struct ipcprof_timer t;
	ipcprof_timer_start(&t, req);
	int r = REAL(sendmmsg)(fd, vec, n, flags);
	int e = errno;
	ipcprof_account(ch, OUT, IPCPROF_OP_SENDMMSG, r < 0 ? -1 : mmsg_bytes(vec, r), e, &t, NULL,
			0, NULL, 0);
	return r;
}

IPCPROF_API int recvmmsg(int fd, struct mmsghdr *vec, unsigned int n, int flags,
			 struct timespec *timeout)
{
	struct ipcprof_channel *ch = ipcprof_channel_of(fd);
	struct ipcprof_timer t;
	if (ch) {
		size_t req = 0;
		for (unsigned i = 0; i < n; i++)
			req += iov_total(vec[i].msg_hdr.msg_iov, (int)vec[i].msg_hdr.msg_iovlen);
		ipcprof_timer_start(&t, req);
	}
	int r = REAL(recvmmsg)(fd, vec, n, flags, timeout);
	int e = errno;
	for (int i = 0; i < r; i++)
		forget_passed_fds(&vec[i].msg_hdr);
	if (ch)
		ipcprof_account(ch, IN, IPCPROF_OP_RECVMMSG, r < 0 ? -1 : mmsg_bytes(vec, r), e, &t,
				NULL, 0, NULL, 0);
	errno = e;
	return r;
}

/* splice, tee and sendfile move data between two fds: each side that is IPC is counted. */
#define COUNT_TWO(in_fd, out_fd, op, request, call)                                                \
	do {                                                                                       \
		struct ipcprof_channel *ci_ = ipcprof_channel_of(in_fd);                           \
		struct ipcprof_channel *co_ = ipcprof_channel_of(out_fd);                          \
		if (IPCPROF_LIKELY(!ci_ && !co_))                                                  \
			return call;                                                               \
		struct ipcprof_timer t_;                                                           \
		ipcprof_timer_start(&t_, (request));                                               \
		ssize_t r_ = call;                                                                 \
		int e_ = errno;                                                                    \
		if (ci_)                                                                           \
			ipcprof_account(ci_, IN, op, (long)r_, e_, &t_, NULL, 0, NULL, 0);         \
		if (co_)                                                                           \
			ipcprof_account(co_, OUT, op, (long)r_, e_, &t_, NULL, 0, NULL, 0);        \
		return r_;                                                                         \
	} while (0)

IPCPROF_API ssize_t splice(int fd_in, loff_t *off_in, int fd_out, loff_t *off_out, size_t n,
			   unsigned int flags)
{
	COUNT_TWO(fd_in, fd_out, IPCPROF_OP_SPLICE, n,
		  REAL(splice)(fd_in, off_in, fd_out, off_out, n, flags));
}

/* tee copies without consuming its input: the bytes are read from fd_in later, and counted then. */
IPCPROF_API ssize_t tee(int fd_in, int fd_out, size_t n, unsigned int flags)
{
	COUNT_CALL(fd_out, OUT, IPCPROF_OP_TEE, n, NULL, 0, NULL, 0,
		   REAL(tee)(fd_in, fd_out, n, flags));
}

IPCPROF_API ssize_t sendfile(int out_fd, int in_fd, off_t *off, size_t n)
{
	COUNT_TWO(in_fd, out_fd, IPCPROF_OP_SENDFILE, n, REAL(sendfile)(out_fd, in_fd, off, n));
}

IPCPROF_API ssize_t sendfile64(int out_fd, int in_fd, off_t *off, size_t n)
{
	COUNT_TWO(in_fd, out_fd, IPCPROF_OP_SENDFILE, n, REAL(sendfile64)(out_fd, in_fd, off, n));
}

IPCPROF_API ssize_t vmsplice(int fd, const struct iovec *iov, size_t n, unsigned int flags)
{
	struct ipcprof_channel *ch = ipcprof_channel_of(fd);
	if (IPCPROF_LIKELY(!ch))
		return REAL(vmsplice)(fd, iov, n, flags);
	/* Into the pipe from its write end, out of it from its read end. */
	int fl = fcntl(fd, F_GETFL);
	int dir = fl >= 0 && (fl & O_ACCMODE) == O_RDONLY ? IN : OUT;
	size_t blen;
	const void *b = dir == OUT ? iov_first(iov, (int)n, &blen) : (blen = 0, NULL);
	struct ipcprof_timer t;
	ipcprof_timer_start(&t, iov_total(iov, (int)n));
	ssize_t r = REAL(vmsplice)(fd, iov, n, flags);
	int e = errno;
	ipcprof_account(ch, dir, IPCPROF_OP_VMSPLICE, (long)r, e, &t, b, blen, NULL, 0);
	return r;
}
