/* Unix stream connections whose client sends and closes before the server accepts them. */
#include <stddef.h>
#include <sys/wait.h>

#include "chanreport.h"

/*
 * The kernel then names no peer to either end: the server's end had no inode while the client
 * lived, and the client's has none once it closed. A forkserver takes its requests this way.
 * One client process makes five connections to one listener and exits; only then does the
 * server accept them, in turn:
 *  0. nothing sent, and the server closes it unread (no data call at either end);
 *  1. nothing sent, the server reads the end of file (a call at the server's end only);
 *  2-4. 1000, 2000 and 3000 bytes, read to the end of file.
 * The ends of 2-4 must pair each with its own, which the sizes tell apart; 0 and 1 must not
 * throw that order off.
 */

static char buf[4096];

static int connect_to(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) < 0)
		test_die("connect %s", sun->sun_path);
	return fd;
}

static void client(const struct sockaddr_un *sun, const char *path)
{
	struct cr_chan c;
	char label[32];

	close(connect_to(sun));
	close(connect_to(sun));
	for (int i = 2; i <= 4; i++) {
		int fd = connect_to(sun);
		size_t n = 1000 * (size_t)(i - 1);

		snprintf(label, sizeof(label), "early_close_%d", i);
		cr_init(&c, label, "unix_stream", fd);
		cr_expect(&c, path, "connected");
		if (cr_count(&c, CR_OUT, write(fd, buf, n)) != (ssize_t)n)
			test_die("client write");
		close(fd);
		cr_report(&c);
	}
}

static void server(int lfd, const char *path)
{
	struct cr_chan c;
	char label[32];
	ssize_t n;

	close(accept(lfd, NULL, NULL));
	for (int i = 1; i <= 4; i++) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			test_die("accept");
		snprintf(label, sizeof(label), i == 1 ? "eof_only" : "early_close_%d", i);
		cr_init(&c, label, "unix_stream", fd);
		cr_expect(&c, path, "accepted");
		do {
			n = cr_count(&c, CR_IN, read(fd, buf, 700));
			if (n < 0)
				test_die("server read");
		} while (n);
		close(fd);
		cr_report(&c);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char path[4096];
	int lfd, status;
	pid_t pid;

	if (argc != 2) {
		fprintf(stderr, "usage: ch_unix_early DIR\n");
		return 2;
	}
	alarm(20);
	if ((size_t)snprintf(path, sizeof(path), "%s/early.sock", argv[1]) >= sizeof(sun.sun_path))
		test_die("path too long");
	memcpy(sun.sun_path, path, strlen(path) + 1);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(lfd, 8) < 0)
		test_die("listen %s", sun.sun_path);
	pid = fork();
	if (pid < 0)
		test_die("fork");
	if (pid == 0) {
		close(lfd);
		client(&sun, path);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		test_die("client failed");
	server(lfd, path);
	close(lfd);
	unlink(path);
	return 0;
}
