/* What the integration test programs say they moved, per channel, as JSON lines for the checker. */
#ifndef IPCPROF_TEST_CHANREPORT_H
#define IPCPROF_TEST_CHANREPORT_H

/*
 * A test program counts every data call it makes on a channel (calls, bytes, errors, EAGAIN,
 * largest call) and prints one line per channel and process. Two lines with the same label are
 * the two ends of one channel; the checker finds each in the session's records, compares the
 * figures exactly and checks that the ends pair. Lines go to $IPCTEST_REPORT (appended, one
 * write() per line, so forked processes do not interleave) or else to stdout. The report file is
 * a regular file, which the preload must not count.
 */

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/testutil.h"

enum { CR_OUT = 0, CR_IN = 1 };

struct cr_dir {
	uint64_t calls, bytes, errors, eagain, max;
	uint64_t hist[40]; /* successful calls by size, as ipcprof_hist_bucket() sorts them */
	uint64_t min_ns;   /* the record's time_ns must be at least this (a known wait) */
};

static inline unsigned cr_bucket(uint64_t n)
{
	unsigned b = n ? 64u - (unsigned)__builtin_clzll(n) : 0u;
	return b < 40 ? b : 39;
}

struct cr_chan {
	int pid; /* the process this end belongs to: 0 for the caller */
	char label[40];
	char kind[16];
	char name[112]; /* FIFO or socket path, "@name" for abstract; checked if not empty */
	char flags[64]; /* comma-separated names of flags the record must have */
	uint64_t dev, ino;
	int family;
	char laddr[INET6_ADDRSTRLEN], paddr[INET6_ADDRSTRLEN];
	int lport, pport;
	struct cr_dir d[2];
	uint64_t fds[2]; /* fds passed with SCM_RIGHTS, by direction (CR_OUT, CR_IN) */
};

static inline void cr_sockaddr(const struct sockaddr_storage *ss, char *addr, int *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)ss;
		inet_ntop(AF_INET, &in->sin_addr, addr, INET6_ADDRSTRLEN);
		*port = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, addr, INET6_ADDRSTRLEN);
		*port = ntohs(in6->sin6_port);
	}
}

/* Takes the channel's identity from fd now: call it once the fd is connected. */
static inline void cr_init(struct cr_chan *c, const char *label, const char *kind, int fd)
{
	struct stat st;

	memset(c, 0, sizeof(*c));
	snprintf(c->label, sizeof(c->label), "%s", label);
	snprintf(c->kind, sizeof(c->kind), "%s", kind);
	if (fstat(fd, &st) < 0)
		test_die("fstat %d", fd);
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	if (!strcmp(kind, "tcp") || !strcmp(kind, "udp")) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
			test_die("getsockname");
		c->family = ss.ss_family;
		cr_sockaddr(&ss, c->laddr, &c->lport);
		len = sizeof(ss);
		if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
			test_die("getpeername");
		cr_sockaddr(&ss, c->paddr, &c->pport);
	}
}

static inline void cr_expect(struct cr_chan *c, const char *name, const char *flags)
{
	/* strncpy-like on purpose: a longer name would not fit the record either. */
	memset(c->name, 0, sizeof(c->name));
	memset(c->flags, 0, sizeof(c->flags));
	if (name)
		memcpy(c->name, name, strnlen(name, sizeof(c->name) - 1));
	if (flags)
		memcpy(c->flags, flags, strnlen(flags, sizeof(c->flags) - 1));
}

/* Counts one call that returned ret (bytes, or -1 with errno) and moved ret bytes. */
static inline ssize_t cr_count(struct cr_chan *c, int dir, ssize_t ret)
{
	struct cr_dir *d = &c->d[dir];

	d->calls++;
	if (ret < 0) {
		d->errors++;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			d->eagain++;
	} else {
		d->bytes += (uint64_t)ret;
		d->hist[cr_bucket((uint64_t)ret)]++;
		if ((uint64_t)ret > d->max)
			d->max = (uint64_t)ret;
	}
	return ret;
}

/* Counts n fds passed through the channel with SCM_RIGHTS in direction dir. */
static inline void cr_count_fds(struct cr_chan *c, int dir, uint64_t n)
{
	c->fds[dir] += n;
}

/* Counts one successful call that moved n bytes in total (sendmmsg and recvmmsg). */
static inline void cr_count_bytes(struct cr_chan *c, int dir, uint64_t n)
{
	c->d[dir].calls++;
	c->d[dir].bytes += n;
	c->d[dir].hist[cr_bucket(n)]++;
	if (n > c->d[dir].max)
		c->d[dir].max = n;
}

static inline void cr_emit(const char *line, size_t len)
{
	const char *path = getenv("IPCTEST_REPORT");
	int fd = path ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) : 1;

	if (fd < 0)
		test_die("open %s", path);
	if (write(fd, line, len) != (ssize_t)len)
		test_die("write report");
	if (fd != 1)
		close(fd);
}

static inline int cr_dir_json(char *p, size_t n, const struct cr_dir *d)
{
	int k = snprintf(p, n,
			 "{\"calls\":%llu,\"bytes\":%llu,\"errors\":%llu,\"eagain\":%llu,"
			 "\"max\":%llu,\"min_ns\":%llu,\"hist\":{",
			 (unsigned long long)d->calls, (unsigned long long)d->bytes,
			 (unsigned long long)d->errors, (unsigned long long)d->eagain,
			 (unsigned long long)d->max, (unsigned long long)d->min_ns);
	const char *sep = "";

	for (int i = 0; i < 40; i++)
		if (d->hist[i]) {
			k += snprintf(p + k, n - (size_t)k, "%s\"%d\":%llu", sep, i,
				      (unsigned long long)d->hist[i]);
			sep = ",";
		}
	return k + snprintf(p + k, n - (size_t)k, "}}");
}

/* Which image of this pid is reporting: 0, then +1 per exec (the record's <seq>). */
static int cr_seq;

/* How this process image began and ended, for programs that exec or spawn:
 * origin "root", "fork", "exec" or "spawn"; end "exit" or "exec"; parent: the pid that made it. */
static inline void cr_report_proc_of(int pid, int seq, const char *origin, const char *end,
				     int parent)
{
	char line[256];
	int n = snprintf(line, sizeof(line),
			 "{\"type\":\"proc\",\"pid\":%d,\"seq\":%d,\"origin\":\"%s\","
			 "\"end\":\"%s\",\"parent\":%d}\n",
			 pid, seq, origin, end, parent);
	cr_emit(line, (size_t)n);
}

static inline void cr_report_proc(const char *origin, const char *end, int parent)
{
	cr_report_proc_of((int)getpid(), cr_seq, origin, end, parent);
}

static inline void cr_report(const struct cr_chan *c)
{
	char line[4096];
	int n = snprintf(
	    line, sizeof(line),
	    "{\"type\":\"chan\",\"pid\":%d,\"seq\":%d,\"label\":\"%s\",\"kind\":\"%s\",\"name\":\"%"
	    "s\","
	    "\"flags\":\"%s\",\"dev\":%llu,\"ino\":%llu,\"family\":%d,"
	    "\"local_addr\":\"%s\",\"local_port\":%d,\"peer_addr\":\"%s\",\"peer_port\":%d,"
	    "\"fds_out\":%llu,\"fds_in\":%llu,\"out\":",
	    c->pid ? c->pid : (int)getpid(), cr_seq, c->label, c->kind, c->name, c->flags,
	    (unsigned long long)c->dev, (unsigned long long)c->ino, c->family, c->laddr, c->lport,
	    c->paddr, c->pport, (unsigned long long)c->fds[CR_OUT],
	    (unsigned long long)c->fds[CR_IN]);
	n += cr_dir_json(line + n, sizeof(line) - (size_t)n, &c->d[CR_OUT]);
	n += snprintf(line + n, sizeof(line) - (size_t)n, ",\"in\":");
	n += cr_dir_json(line + n, sizeof(line) - (size_t)n, &c->d[CR_IN]);
	n += snprintf(line + n, sizeof(line) - (size_t)n, "}\n");
	cr_emit(line, (size_t)n);
}

#define CR_MAP_CREATOR  1 /* this process made the object (or the anonymous region) */
#define CR_MAP_UNMAPPED 2 /* this process munmap'd it before the end */

/* A shared-memory mapping the record must show (kind: posix_shm, memfd, shared_anon); how:
 * CR_MAP_* bits. */
static inline void cr_report_mapping(const char *label, const char *kind, const char *name, int fd,
				     uint64_t length, int how)
{
	char line[512];
	struct stat st = {0};
	int n;

	if (fd >= 0 && fstat(fd, &st) < 0)
		test_die("fstat %d", fd);
	n = snprintf(
	    line, sizeof(line),
	    "{\"type\":\"mapping\",\"pid\":%d,\"label\":\"%s\",\"kind\":\"%s\",\"name\":\"%s\","
	    "\"dev\":%llu,\"ino\":%llu,\"length\":%llu,\"creator\":%d,\"unmapped\":%d}\n",
	    (int)getpid(), label, kind, name, (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino, (unsigned long long)length, !!(how & CR_MAP_CREATOR),
	    !!(how & CR_MAP_UNMAPPED));
	cr_emit(line, (size_t)n);
}

/* Reports which fds are open and what they are (no inode numbers): the preload must add none,
 * also across exec. The checker compares these lines with a run without the preload. */
static inline void cr_report_fds(const char *who)
{
	char line[2048], link[64], target[256];
	int n = snprintf(line, sizeof(line), "{\"type\":\"fds\",\"who\":\"%s\",\"fds\":\"", who);
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int fds[64], count = 0;

	if (!d)
		test_die("opendir");
	while ((e = readdir(d)) && count < 64)
		if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d))
			fds[count++] = atoi(e->d_name);
	closedir(d);
	for (int i = 0; i < count; i++)
		for (int j = i + 1; j < count; j++)
			if (fds[j] < fds[i]) {
				int t = fds[i];
				fds[i] = fds[j];
				fds[j] = t;
			}
	for (int i = 0; i < count; i++) {
		ssize_t len;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fds[i]);
		len = readlink(link, target, sizeof(target) - 1);
		target[len > 0 ? len : 0] = '\0';
		if (strchr(target, ':'))
			*strchr(target, ':') = '\0';
		else if (target[0] == '/' && strncmp(target, "/dev/", 5))
			snprintf(target, sizeof(target), "file");
		n += snprintf(line + n, sizeof(line) - (size_t)n, "%s%d=%s", i ? " " : "", fds[i],
			      target);
	}
	n += snprintf(line + n, sizeof(line) - (size_t)n, "\"}\n");
	cr_emit(line, (size_t)n);
}

/* Fills buf with a pattern that differs per call, so fingerprints of equal sizes differ. */
static inline void cr_fill(char *buf, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)(seed * 131u + i * 7u + (i >> 8));
}

#endif
