/* Wrappers of the calls that move data: each counts itself when its fd is an IPC channel. */
#include <fcntl.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "preload.h"

/*
 * The shape of every wrapper: an fd that is not IPC costs one table look-up and a jump to the
 * real function; an IPC fd adds two clock reads and a few adds. errno is whatever the real call
 * left. The counting lives in a function of its own, so that the look-up path builds no frame.
 */
#define UNPACK(...) __VA_ARGS__
#define WRAP(rtype, name, realfn, params, args, fd, dir, op, request, buf, buflen, addr, alen)     \
	static __attribute__((noinline))                                                           \
	rtype name##_counted(struct ipcprof_channel *ch_, UNPACK params)                           \
	{                                                                                          \
		struct ipcprof_timer t_;                                                           \
		ipcprof_timer_start(&t_, (request));                                               \
		rtype r_ = REAL(realfn)(UNPACK args);                                              \
		int e_ = IPCPROF_ERRNO;                                                            \
		ipcprof_account(ch_, dir, op, (long)r_, e_, &t_, buf, buflen, addr, alen);         \
		return r_;                                                                         \
	}                                                                                          \
	IPCPROF_API rtype name(UNPACK params)                                                      \
	{                                                                                          \
		struct ipcprof_channel *ch_ = ipcprof_channel_of(fd);                              \
		if (IPCPROF_LIKELY(!ch_))                                                          \
			return REAL(realfn)(UNPACK args);                                          \
		return name##_counted(ch_, UNPACK args);                                           \
	}

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

static const void *iov_big(const struct iovec *iov, int n)
{
	size_t len;
	return iov_first(iov, n, &len);
}

static size_t iov_big_len(const struct iovec *iov, int n)
{
	size_t len;
	iov_first(iov, n, &len);
	return len;
}

WRAP(ssize_t, read, read, (int fd, void *buf, size_t n), (fd, buf, n), fd, IN, IPCPROF_OP_READ, n,
     NULL, 0, NULL, 0)
WRAP(ssize_t, write, write, (int fd, const void *buf, size_t n), (fd, buf, n), fd, OUT,
     IPCPROF_OP_WRITE, n, buf, n, NULL, 0)
WRAP(ssize_t, __read_chk, read_chk, (int fd, void *buf, size_t n, size_t buflen),
     (fd, buf, n, buflen), fd, IN, IPCPROF_OP_READ, n, NULL, 0, NULL, 0)
WRAP(ssize_t, readv, readv, (int fd, const struct iovec *iov, int n), (fd, iov, n), fd, IN,
     IPCPROF_OP_READV, iov_total(iov, n), NULL, 0, NULL, 0)
WRAP(ssize_t, writev, writev, (int fd, const struct iovec *iov, int n), (fd, iov, n), fd, OUT,
     IPCPROF_OP_WRITEV, iov_total(iov, n), iov_big(iov, n), iov_big_len(iov, n), NULL, 0)
WRAP(ssize_t, pread, pread, (int fd, void *buf, size_t n, off_t off), (fd, buf, n, off), fd, IN,
     IPCPROF_OP_PREAD, n, NULL, 0, NULL, 0)
WRAP(ssize_t, pread64, pread64, (int fd, void *buf, size_t n, off_t off), (fd, buf, n, off), fd, IN,
     IPCPROF_OP_PREAD, n, NULL, 0, NULL, 0)
WRAP(ssize_t, __pread_chk, pread_chk, (int fd, void *buf, size_t n, off_t off, size_t buflen),
     (fd, buf, n, off, buflen), fd, IN, IPCPROF_OP_PREAD, n, NULL, 0, NULL, 0)
WRAP(ssize_t, __pread64_chk, pread64_chk, (int fd, void *buf, size_t n, off_t off, size_t buflen),
     (fd, buf, n, off, buflen), fd, IN, IPCPROF_OP_PREAD, n, NULL, 0, NULL, 0)
WRAP(ssize_t, pwrite, pwrite, (int fd, const void *buf, size_t n, off_t off), (fd, buf, n, off), fd,
     OUT, IPCPROF_OP_PWRITE, n, buf, n, NULL, 0)
WRAP(ssize_t, pwrite64, pwrite64, (int fd, const void *buf, size_t n, off_t off), (fd, buf, n, off),
     fd, OUT, IPCPROF_OP_PWRITE, n, buf, n, NULL, 0)
WRAP(ssize_t, preadv, preadv, (int fd, const struct iovec *iov, int n, off_t off),
     (fd, iov, n, off), fd, IN, IPCPROF_OP_PREAD, iov_total(iov, n), NULL, 0, NULL, 0)
WRAP(ssize_t, pwritev, pwritev, (int fd, const struct iovec *iov, int n, off_t off),
     (fd, iov, n, off), fd, OUT, IPCPROF_OP_PWRITE, iov_total(iov, n), iov_big(iov, n),
     iov_big_len(iov, n), NULL, 0)
WRAP(ssize_t, send, send, (int fd, const void *buf, size_t n, int flags), (fd, buf, n, flags), fd,
     OUT, IPCPROF_OP_SEND, n, buf, n, NULL, 0)
WRAP(ssize_t, recv, recv, (int fd, void *buf, size_t n, int flags), (fd, buf, n, flags), fd, IN,
     IPCPROF_OP_RECV, n, NULL, 0, NULL, 0)
WRAP(ssize_t, __recv_chk, recv_chk, (int fd, void *buf, size_t n, size_t buflen, int flags),
     (fd, buf, n, buflen, flags), fd, IN, IPCPROF_OP_RECV, n, NULL, 0, NULL, 0)
WRAP(ssize_t, sendto, sendto,
     (int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr, socklen_t alen),
     (fd, buf, n, flags, addr, alen), fd, OUT, IPCPROF_OP_SENDTO, n, buf, n, addr, alen)
WRAP(ssize_t, recvfrom, recvfrom,
     (int fd, void *buf, size_t n, int flags, struct sockaddr *addr, socklen_t *alen),
     (fd, buf, n, flags, addr, alen), fd, IN, IPCPROF_OP_RECVFROM, n, NULL, 0, addr,
     alen ? *alen : 0)
WRAP(ssize_t, __recvfrom_chk, recvfrom_chk,
     (int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *addr,
      socklen_t *alen),
     (fd, buf, n, buflen, flags, addr, alen), fd, IN, IPCPROF_OP_RECVFROM, n, NULL, 0, addr,
     alen ? *alen : 0)
/* The fds a message carries with SCM_RIGHTS. Received ones (forget) are new to this process:
 * they are classified on first use. */
static size_t passed_fds(const struct msghdr *msg, bool forget)
{
	size_t total = 0;

	if (!msg || !msg->msg_control || msg->msg_controllen < sizeof(struct cmsghdr))
		return 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)msg); c;
	     c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		const unsigned char *p = CMSG_DATA(c);
		total += n;
		for (size_t i = 0; forget && i < n; i++) {
			int fd;
			memcpy(&fd, p + i * sizeof(int), sizeof(int));
			ipcprof_fd_forget(fd);
		}
	}
	return total;
}

/* fds passed through ch: the direction as a flag, the number as a count (capped) that the
 * sender's and the receiver's ends share, so that the report can pair them. */
static void count_passed_fds(struct ipcprof_channel *ch, int dir, size_t n)
{
	uint16_t old, now;

	if (!n)
		return;
	__atomic_fetch_or(&ch->flags, dir == OUT ? IPCPROF_CH_FDS_SENT : IPCPROF_CH_FDS_RECEIVED,
			  __ATOMIC_RELAXED);
	old = __atomic_load_n(&ch->fds_passed, __ATOMIC_RELAXED);
	do
		now = (uint16_t)(n >= 65535u - old ? 65535u : old + n);
	while (!__atomic_compare_exchange_n(&ch->fds_passed, &old, now, true, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED));
}

static __attribute__((noinline)) ssize_t sendmsg_counted(struct ipcprof_channel *ch, int fd,
							 const struct msghdr *msg, int flags)
{
	struct ipcprof_timer t;
	ipcprof_timer_start(&t, msg ? iov_total(msg->msg_iov, (int)msg->msg_iovlen) : 0);
	ssize_t r = REAL(sendmsg)(fd, msg, flags);
	int e = IPCPROF_ERRNO;
	if (r >= 0)
		count_passed_fds(ch, OUT, passed_fds(msg, false));
	ipcprof_account(ch, OUT, IPCPROF_OP_SENDMSG, (long)r, e, &t,
			msg ? iov_big(msg->msg_iov, (int)msg->msg_iovlen) : NULL,
			msg ? iov_big_len(msg->msg_iov, (int)msg->msg_iovlen) : 0,
			msg ? (const struct sockaddr *)msg->msg_name : NULL,
			msg ? msg->msg_namelen : 0);
	return r;
}

IPCPROF_API ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct ipcprof_channel *ch = ipcprof_channel_of(fd);
	if (IPCPROF_LIKELY(!ch))
		return REAL(sendmsg)(fd, msg, flags);
	return sendmsg_counted(ch, fd, msg, flags);
}

IPCPROF_API ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct ipcprof_channel *ch = ipcprof_channel_of(fd);
	struct ipcprof_timer t;
	if (ch)
		ipcprof_timer_start(&t, msg ? iov_total(msg->msg_iov, (int)msg->msg_iovlen) : 0);
	ssize_t r = REAL(recvmsg)(fd, msg, flags);
	int e = IPCPROF_ERRNO;
	size_t fds = r >= 0 ? passed_fds(msg, true) : 0;
	if (ch) {
		count_passed_fds(ch, IN, fds);
		ipcprof_account(ch, IN, IPCPROF_OP_RECVMSG, (long)r, e, &t, NULL, 0,
				msg ? (const struct sockaddr *)msg->msg_name : NULL,
				msg && msg->msg_name ? msg->msg_namelen : 0);
	}
	IPCPROF_ERRNO = e;
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
	int e = IPCPROF_ERRNO;
	for (int i = 0; i < r; i++)
		count_passed_fds(ch, OUT, passed_fds(&vec[i].msg_hdr, false));
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
	int e = IPCPROF_ERRNO;
	for (int i = 0; i < r; i++) {
		size_t fds = passed_fds(&vec[i].msg_hdr, true);
		if (ch)
			count_passed_fds(ch, IN, fds);
	}
	if (ch)
		ipcprof_account(ch, IN, IPCPROF_OP_RECVMMSG, r < 0 ? -1 : mmsg_bytes(vec, r), e, &t,
				NULL, 0, NULL, 0);
	IPCPROF_ERRNO = e;
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
		int e_ = IPCPROF_ERRNO;                                                            \
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
WRAP(ssize_t, tee, tee, (int fd_in, int fd_out, size_t n, unsigned int flags),
     (fd_in, fd_out, n, flags), fd_out, OUT, IPCPROF_OP_TEE, n, NULL, 0, NULL, 0)

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
	int e = IPCPROF_ERRNO;
	ipcprof_account(ch, dir, IPCPROF_OP_VMSPLICE, (long)r, e, &t, b, blen, NULL, 0);
	return r;
}
