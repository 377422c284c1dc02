/* Moves known bytes over pipes between a parent and its child (write/read, writev/readv, fortified
 * read). */
#include <sys/uio.h>
#include <sys/wait.h>

#include "chanreport.h"

static const size_t sizes[] = {1, 100, 4096, 65536, 100000, 300000};
static char big[300000];
/* volatile: the compiler must not know the length, or it calls read() itself. */
static volatile size_t fortified_len = 1000;

/* Reads to EOF, counting every call, the final one that returns 0 included. */
static void drain(struct cr_chan *c, int fd, size_t chunk)
{
	static char buf[65536];
	ssize_t n;

	do {
		n = cr_count(c, CR_IN, read(fd, buf, chunk));
		if (n < 0 && errno != EINTR)
			test_die("read");
	} while (n != 0);
}

/* read() into an array of known size with a length unknown at compile time: with
 * _FORTIFY_SOURCE this calls __read_chk. */
static void drain_fortified(struct cr_chan *c, int fd, size_t want)
{
	char buf[1000];
	ssize_t n;

	do {
		n = cr_count(c, CR_IN, read(fd, buf, want));
		if (n < 0 && errno != EINTR)
			test_die("read");
	} while (n != 0);
}

static void readv_all(struct cr_chan *c, int fd)
{
	static char a[4096], b[5000];
	struct iovec iov[2] = {{a, sizeof(a)}, {b, sizeof(b)}};
	ssize_t n;

	do {
		n = cr_count(c, CR_IN, readv(fd, iov, 2));
		if (n < 0 && errno != EINTR)
			test_die("readv");
	} while (n != 0);
}

int main(void)
{
	int down[2], up[2], side[2];
	struct cr_chan cdown, cup, cside;
	pid_t pid;
	int status;

	alarm(20);
	if (pipe(down) < 0 || pipe(up) < 0 || pipe2(side, O_CLOEXEC) < 0)
		test_die("pipe");
	cr_fill(big, sizeof(big), 1);
	pid = fork();
	if (pid < 0)
		test_die("fork");
	if (pid == 0) {
		static char v1[10], v2[1000], v3[50000];
		struct iovec iov[3] = {{v1, sizeof(v1)}, {v2, sizeof(v2)}, {v3, sizeof(v3)}};

		close(down[1]);
		close(up[0]);
		close(side[1]);
		cr_init(&cdown, "down", "pipe", down[0]);
		cr_init(&cup, "up", "pipe", up[1]);
		cr_init(&cside, "side", "pipe", side[0]);
		drain(&cdown, down[0], 65536);
		for (int i = 0; i < 3; i++)
			if (cr_count(&cup, CR_OUT, writev(up[1], iov, 3)) != 51010)
				test_die("writev");
		close(up[1]);
		drain_fortified(&cside, side[0], fortified_len);
		cr_report(&cdown);
		cr_report(&cup);
		cr_report(&cside);
		_exit(0);
	}
	close(down[0]);
	close(up[1]);
	close(side[0]);
	cr_init(&cdown, "down", "pipe", down[1]);
	cr_init(&cup, "up", "pipe", up[0]);
	cr_init(&cside, "side", "pipe", side[1]);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (cr_count(&cdown, CR_OUT, write(down[1], big, sizes[i])) != (ssize_t)sizes[i])
			test_die("write");
	close(down[1]);
	readv_all(&cup, up[0]);
	for (int i = 0; i < 7; i++)
		if (cr_count(&cside, CR_OUT, write(side[1], big, 777)) != 777)
			test_die("write");
	close(side[1]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		test_die("child failed");
	cr_report(&cdown);
	cr_report(&cup);
	cr_report(&cside);
	return 0;
}
