/* Moves known bytes over loopback TCP (connect/accept) and UDP (sendto/recvfrom) between two
 * processes. */
#include <netinet/in.h>
#include <sys/wait.h>

#include "chanreport.h"

static char buf[100000];

static int inet_socket(int type, struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd = socket(AF_INET, type, 0);

	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)addr, sizeof(*addr)) < 0 ||
	    getsockname(fd, (struct sockaddr *)addr, &len) < 0)
		test_die("bind");
	return fd;
}

/* A listening socket on ::1, or -1 where the host has no IPv6 loopback. */
static int tcp6_listener(struct sockaddr_in6 *addr)
{
	socklen_t len = sizeof(*addr);
	int fd = socket(AF_INET6, SOCK_STREAM, 0);

	memset(addr, 0, sizeof(*addr));
	addr->sin6_family = AF_INET6;
	addr->sin6_addr = in6addr_loopback;
	if (fd < 0 || bind(fd, (struct sockaddr *)addr, sizeof(*addr)) < 0 || listen(fd, 4) < 0 ||
	    getsockname(fd, (struct sockaddr *)addr, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int main(void)
{
	struct sockaddr_in tcp_addr, us_addr, uc_addr;
	struct sockaddr_in6 tcp6_addr;
	int ls, ls6, us, uc, fd, status;
	struct cr_chan c;
	pid_t pid;
	ssize_t n;

	alarm(20);
	ls = inet_socket(SOCK_STREAM, &tcp_addr);
	if (listen(ls, 4) < 0)
		test_die("listen");
	ls6 = tcp6_listener(&tcp6_addr);
	us = inet_socket(SOCK_DGRAM, &us_addr);
	uc = inet_socket(SOCK_DGRAM, &uc_addr);
	/* Connected both ways, so each UDP end has a 4-tuple; sendto still names the peer. */
	if (connect(us, (struct sockaddr *)&uc_addr, sizeof(uc_addr)) < 0 ||
	    connect(uc, (struct sockaddr *)&us_addr, sizeof(us_addr)) < 0)
		test_die("udp connect");

	pid = fork();
	if (pid < 0)
		test_die("fork");
	if (pid == 0) {
		close(ls);
		close(us);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&tcp_addr, sizeof(tcp_addr)) < 0)
			test_die("tcp connect");
		cr_init(&c, "tcp", "tcp", fd);
		cr_expect(&c, NULL, "local");
		if (cr_count(&c, CR_OUT, write(fd, buf, 70000)) != 70000 ||
		    cr_count(&c, CR_OUT, send(fd, buf, 30000, 0)) != 30000 ||
		    cr_count(&c, CR_OUT, sendto(fd, buf, 11, 0, NULL, 0)) != 11)
			test_die("tcp send");
		shutdown(fd, SHUT_WR);
		do {
			n = cr_count(&c, CR_IN, recv(fd, buf, 1000, 0));
			if (n < 0)
				test_die("tcp recv");
		} while (n);
		close(fd);
		cr_report(&c);

		cr_init(&c, "udp", "udp", uc);
		cr_expect(&c, NULL, "local");
		for (int i = 1; i <= 3; i++)
			if (cr_count(&c, CR_OUT,
				     sendto(uc, buf, 1000 * (size_t)i, 0,
					    (struct sockaddr *)&us_addr, sizeof(us_addr))) !=
			    1000 * i)
				test_die("udp sendto");
		if (cr_count(&c, CR_IN, recvfrom(uc, buf, sizeof(buf), 0, NULL, NULL)) != 99)
			test_die("udp recvfrom");
		cr_report(&c);

		if (ls6 >= 0) {
			close(ls6);
			fd = socket(AF_INET6, SOCK_STREAM, 0);
			if (fd < 0 ||
			    connect(fd, (struct sockaddr *)&tcp6_addr, sizeof(tcp6_addr)) < 0)
				test_die("tcp6 connect");
			cr_init(&c, "tcp6", "tcp", fd);
			cr_expect(&c, NULL, "local");
			if (cr_count(&c, CR_OUT, write(fd, buf, 5000)) != 5000)
				test_die("tcp6 write");
			close(fd);
			cr_report(&c);
		}
		_exit(0);
	}
	close(uc);
	fd = accept(ls, NULL, NULL);
	if (fd < 0)
		test_die("accept");
	cr_init(&c, "tcp", "tcp", fd);
	cr_expect(&c, NULL, "local,created");
	do {
		n = cr_count(&c, CR_IN, read(fd, buf, 16384));
		if (n < 0)
			test_die("tcp read");
	} while (n);
	if (cr_count(&c, CR_OUT, write(fd, buf, 4321)) != 4321)
		test_die("tcp write");
	close(fd);
	close(ls);
	cr_report(&c);

	cr_init(&c, "udp", "udp", us);
	cr_expect(&c, NULL, "local");
	for (int i = 1; i <= 3; i++) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		if (cr_count(&c, CR_IN,
			     recvfrom(us, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl)) !=
		    1000 * i)
			test_die("udp recvfrom");
	}
	if (cr_count(&c, CR_OUT,
		     sendto(us, buf, 99, 0, (struct sockaddr *)&uc_addr, sizeof(uc_addr))) != 99)
		test_die("udp sendto");
	cr_report(&c);

	if (ls6 >= 0) {
		fd = accept(ls6, NULL, NULL);
		if (fd < 0)
			test_die("accept6");
		cr_init(&c, "tcp6", "tcp", fd);
		cr_expect(&c, NULL, "local,created");
		do {
			n = cr_count(&c, CR_IN, read(fd, buf, 3000));
			if (n < 0)
				test_die("tcp6 read");
		} while (n);
		close(fd);
		close(ls6);
		cr_report(&c);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		test_die("child failed");
	return 0;
}
