/* What the probe test programs say they did, as JSON lines for check_probes.py. */
#ifndef IPCPROF_TEST_PK_H
#define IPCPROF_TEST_PK_H

/*
 * A program counts every data call it makes on a channel and prints one line per channel and
 * process, in the same shape as the integration tests' programs ("type":"chan"), so that one
 * checker reads both. Lines go to $IPCTEST_REPORT (appended, one write() each) or else to stdout;
 * the report file is a regular file, which the probes count apart from the channels.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/testutil.h"

enum { PK_OUT = 0, PK_IN = 1 };

struct pk_dir {
	uint64_t calls, bytes, errors, eagain;
};

struct pk_chan {
	const char *label;
	const char *kind; /* pipe, fifo, unix_stream, unix_dgram, unix_seqpacket, tcp, udp */
	struct pk_dir d[2];
};

/* Counts one call that returned ret (bytes, or -1 with errno). */
static inline ssize_t pk_count(struct pk_chan *c, int dir, ssize_t ret)
{
	struct pk_dir *d = &c->d[dir];

	d->calls++;
	if (ret < 0) {
		d->errors++;
		if (errno == EAGAIN)
			d->eagain++;
	} else {
		d->bytes += (uint64_t)ret;
	}
	return ret;
}

/* Counts one successful call that moved n bytes in all (sendmmsg, recvmmsg). */
static inline void pk_count_bytes(struct pk_chan *c, int dir, uint64_t n)
{
	c->d[dir].calls++;
	c->d[dir].bytes += n;
}

static inline void pk_emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void pk_emit(const char *fmt, ...)
{
	const char *path = getenv("IPCTEST_REPORT");
	char line[1024];
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(line))
		test_die("report line too long");
	fd = path ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) : 1;
	if (fd < 0)
		test_die("open %s", path);
	if (write(fd, line, (size_t)n) != n)
		test_die("write report");
	if (fd != 1)
		close(fd);
}

static inline void pk_report(const struct pk_chan *c)
{
	const struct pk_dir *o = &c->d[PK_OUT], *i = &c->d[PK_IN];

	pk_emit("{\"type\":\"chan\",\"pid\":%d,\"label\":\"%s\",\"kind\":\"%s\","
		"\"out\":{\"calls\":%llu,\"bytes\":%llu,\"errors\":%llu,\"eagain\":%llu},"
		"\"in\":{\"calls\":%llu,\"bytes\":%llu,\"errors\":%llu,\"eagain\":%llu}}\n",
		(int)getpid(), c->label, c->kind, (unsigned long long)o->calls,
		(unsigned long long)o->bytes, (unsigned long long)o->errors,
		(unsigned long long)o->eagain, (unsigned long long)i->calls,
		(unsigned long long)i->bytes, (unsigned long long)i->errors,
		(unsigned long long)i->eagain);
}

#endif
