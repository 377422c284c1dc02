/* Moves known bytes over pipes between a parent and its child: write, writev, read, readv, errors.
 */
#include <sys/uio.h>
#include <sys/wait.h>

#include "pk.h"

static char buf[256 * 1024];

/* Reads to EOF, the final call that returns 0 included. */
static void drain(struct pk_chan *c, int fd, size_t chunk)
{
	ssize_t n;

	do {
		n = pk_count(c, PK_IN, read(fd, buf, chunk));
		if (n < 0 && errno != EINTR)
			test_die("read");
	} while (n != 0);
}

int main(void)
{
	static const size_t sizes[] = {1, 10, 100, 4096, 4097, 65536, 100000, 200000};
	struct pk_chan down = {"down", "pipe", {{0}}}, up = {"up", "pipe", {{0}}};
	int dp[2], upp[2], status;
	pid_t pid;

	alarm(30);
	if (pipe(dp) < 0 || pipe(upp) < 0)
		test_die("pipe");
	memset(buf, 'x', sizeof(buf));
	pid = fork();
	if (pid < 0)
		test_die("fork");
	if (pid == 0) {
		struct iovec iov[3] = {{buf, 10}, {buf + 10, 1000}, {buf + 1010, 30000}};

		close(dp[1]);
		close(upp[0]);
		drain(&down, dp[0], 65536);
		for (int i = 0; i < 5; i++)
			if (pk_count(&up, PK_OUT, writev(upp[1], iov, 3)) != 31010)
				test_die("writev");
		/* An error the kernel sees as a call too: no seeking on a pipe. */
		if (pk_count(&up, PK_OUT, pwrite(upp[1], buf, 10, 0)) != -1 || errno != ESPIPE)
			test_die("pwrite on a pipe should fail");
		close(upp[1]);
		pk_report(&down);
		pk_report(&up);
		_exit(0);
	}
	close(dp[0]);
	close(upp[1]);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (pk_count(&down, PK_OUT, write(dp[1], buf, sizes[i])) != (ssize_t)sizes[i])
			test_die("write");
	close(dp[1]);
	{
		struct iovec iov[2] = {{buf, 5000}, {buf + 5000, 7000}};
		ssize_t n;

		do {
			n = pk_count(&up, PK_IN, readv(upp[0], iov, 2));
			if (n < 0 && errno != EINTR)
				test_die("readv");
		} while (n != 0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		test_die("child failed");
	pk_report(&down);
	pk_report(&up);
	return 0;
}
