/* Moves known bytes over AF_UNIX stream and datagram sockets, named and abstract, between two
 * processes. */
#include <stddef.h>
#include <sys/wait.h>

#include "chanreport.h"

static char buf[100000];

/* Fills sun with a path, or an abstract name when path starts with '@'. */
static socklen_t unix_addr(struct sockaddr_un *sun, const char *path)
{
	size_t n = strlen(path);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, n);
	if (path[0] == '@') {
		sun->sun_path[0] = '\0';
		return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	}
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

static int bound(int type, const char *path)
{
	struct sockaddr_un sun;
	socklen_t len = unix_addr(&sun, path);
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, len) < 0)
		test_die("bind %s", path);
	return fd;
}

static void connect_to(int fd, const char *path)
{
	struct sockaddr_un sun;
	socklen_t len = unix_addr(&sun, path);

	if (connect(fd, (struct sockaddr *)&sun, len) < 0)
		test_die("connect %s", path);
}

/* Client side of a stream: sends 10000 + 2000 + 7, then reads the reply to EOF. */
static void stream_client(const char *label, const char *path, const char *flags)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct cr_chan c;
	ssize_t n;

	if (fd < 0)
		test_die("socket");
	connect_to(fd, path);
	cr_init(&c, label, "unix_stream", fd);
	cr_expect(&c, path, flags);
	if (cr_count(&c, CR_OUT, write(fd, buf, 10000)) != 10000 ||
	    cr_count(&c, CR_OUT, send(fd, buf, 2000, MSG_NOSIGNAL)) != 2000 ||
	    cr_count(&c, CR_OUT, send(fd, buf, 7, 0)) != 7)
		test_die("client send");
	shutdown(fd, SHUT_WR);
	do {
		n = cr_count(&c, CR_IN, recv(fd, buf, 300, 0));
		if (n < 0)
			test_die("client recv");
	} while (n);
	close(fd);
	cr_report(&c);
}

static void stream_server(int lfd, const char *label, const char *path, const char *flags,
			  int use_accept4)
{
	int fd = use_accept4 ? accept4(lfd, NULL, NULL, SOCK_CLOEXEC) : accept(lfd, NULL, NULL);
	struct cr_chan c;
	ssize_t n;

	if (fd < 0)
		test_die("accept");
	cr_init(&c, label, "unix_stream", fd);
	cr_expect(&c, path, flags);
	do {
		n = cr_count(&c, CR_IN, read(fd, buf, 4000));
		if (n < 0)
			test_die("server read");
	} while (n);
	if (cr_count(&c, CR_OUT, write(fd, buf, 1500)) != 1500)
		test_die("server write");
	close(fd);
	close(lfd);
	cr_report(&c);
}

int main(int argc, char **argv)
{
	char named[4096], dgs[4096], dgc[4096], abs_stream[128], abs_dgram[128];
	int ls_named, ls_abs, ds, dc, du, status;
	struct cr_chan c;
	pid_t pid;

	if (argc != 2) {
		fprintf(stderr, "usage: ch_unix DIR\n");
		return 2;
	}
	alarm(20);
	snprintf(named, sizeof(named), "%s/stream.sock", argv[1]);
	snprintf(dgs, sizeof(dgs), "%s/dgram-server.sock", argv[1]);
	snprintf(dgc, sizeof(dgc), "%s/dgram-client.sock", argv[1]);
	snprintf(abs_stream, sizeof(abs_stream), "@ipcprof-test-%d-stream", (int)getpid());
	snprintf(abs_dgram, sizeof(abs_dgram), "@ipcprof-test-%d-dgram", (int)getpid());

	ls_named = bound(SOCK_STREAM, named);
	ls_abs = bound(SOCK_STREAM, abs_stream);
	if (listen(ls_named, 4) < 0 || listen(ls_abs, 4) < 0)
		test_die("listen");
	/* Both datagram ends are bound and connected to each other, so each has a peer. */
	ds = bound(SOCK_DGRAM, dgs);
	dc = bound(SOCK_DGRAM, dgc);
	connect_to(ds, dgc);
	connect_to(dc, dgs);
	du = bound(SOCK_DGRAM, abs_dgram);

	pid = fork();
	if (pid < 0)
		test_die("fork");
	if (pid == 0) {
		struct sockaddr_un sun;
		socklen_t len = unix_addr(&sun, abs_dgram);
		int u = socket(AF_UNIX, SOCK_DGRAM, 0);

		close(ls_named);
		close(ls_abs);
		close(ds);
		close(du);
		stream_client("named_stream", named, NULL);
		stream_client("abstract_stream", abs_stream, "abstract");

		cr_init(&c, "named_dgram", "unix_dgram", dc);
		for (int i = 1; i <= 3; i++)
			if (cr_count(&c, CR_OUT, send(dc, buf, 100 * (size_t)i, 0)) != 100 * i)
				test_die("dgram send");
		if (cr_count(&c, CR_IN, recv(dc, buf, sizeof(buf), 0)) != 50)
			test_die("dgram recv");
		cr_report(&c);

		/* Unconnected: sendto names the receiver each time. */
		if (u < 0)
			test_die("socket");
		cr_init(&c, "unpaired_abstract_dgram", "unix_dgram", u);
		for (int i = 1; i <= 4; i++)
			if (cr_count(&c, CR_OUT,
				     sendto(u, buf, 10 * (size_t)i, 0, (struct sockaddr *)&sun,
					    len)) != 10 * i)
				test_die("sendto");
		cr_report(&c);
		_exit(0);
	}
	close(dc);
	stream_server(ls_named, "named_stream", named, NULL, 1);
	stream_server(ls_abs, "abstract_stream", abs_stream, "abstract", 0);

	cr_init(&c, "named_dgram", "unix_dgram", ds);
	cr_expect(&c, dgs, NULL);
	for (int i = 1; i <= 3; i++)
		if (cr_count(&c, CR_IN, recv(ds, buf, sizeof(buf), 0)) != 100 * i)
			test_die("dgram recv");
	if (cr_count(&c, CR_OUT, write(ds, buf, 50)) != 50)
		test_die("dgram write");
	cr_report(&c);

	cr_init(&c, "unpaired_abstract_dgram", "unix_dgram", du);
	cr_expect(&c, abs_dgram, "abstract");
	for (int i = 1; i <= 4; i++) {
		struct sockaddr_un from;
		socklen_t fl = sizeof(from);
		if (cr_count(&c, CR_IN,
			     recvfrom(du, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl)) !=
		    10 * i)
			test_die("recvfrom");
	}
	cr_report(&c);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		test_die("child failed");
	unlink(named);
	unlink(dgs);
	unlink(dgc);
	return 0;
}
