/* Moves known bytes over unix socketpairs: stream (send/recv, msg, read/write), datagrams (mmsg),
 * seqpacket, and a non-blocking receive that finds nothing (EAGAIN). */
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "pk.h"

#define NMSG 8

static char buf[200000];

static void child(int st, int dg, int sp)
{
	struct pk_chan cst = {"stream", "unix_stream", {{0}}};
	struct pk_chan cdg = {"dgram", "unix_dgram", {{0}}};
	struct pk_chan csp = {"seqpacket", "unix_seqpacket", {{0}}};
	struct mmsghdr m[NMSG];
	struct iovec iov[NMSG];
	uint64_t got = 0;
	ssize_t n;
	int r;

	/* Stream: read all the parent sends, whatever the calls. */
	do {
		n = pk_count(&cst, PK_IN, recv(st, buf, sizeof(buf), 0));
		if (n < 0 && errno != EINTR)
			test_die("recv");
	} while (n != 0);
	/* Datagrams: the parent sent 2 * NMSG; take them NMSG at a time. */
	while (got < 2 * NMSG) {
		memset(m, 0, sizeof(m));
		for (int i = 0; i < NMSG; i++) {
			iov[i].iov_base = buf + i * 10000;
			iov[i].iov_len = 10000;
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
		}
		r = recvmmsg(dg, m, NMSG, 0, NULL);
		if (r < 0)
			test_die("recvmmsg");
		uint64_t b = 0;
		for (int i = 0; i < r; i++)
			b += m[i].msg_len;
		pk_count_bytes(&cdg, PK_IN, b);
		got += (uint64_t)r;
	}
	/* Seqpacket: echo each record back. */
	for (int i = 0; i < 4; i++) {
		n = pk_count(&csp, PK_IN, read(sp, buf, sizeof(buf)));
		if (n <= 0)
			test_die("read seqpacket");
		if (pk_count(&csp, PK_OUT, write(sp, buf, (size_t)n)) != n)
			test_die("write seqpacket");
	}
	pk_report(&cst);
	pk_report(&cdg);
	pk_report(&csp);
	_exit(0);
}

int main(void)
{
	struct pk_chan cst = {"stream", "unix_stream", {{0}}};
	struct pk_chan cdg = {"dgram", "unix_dgram", {{0}}};
	struct pk_chan csp = {"seqpacket", "unix_seqpacket", {{0}}};
	int st[2], dg[2], sp[2], status;
	pid_t pid;

	alarm(30);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, st) < 0 ||
	    socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) < 0)
		test_die("socketpair");
	memset(buf, 'u', sizeof(buf));
	pid = fork();
	if (pid < 0)
		test_die("fork");
	if (pid == 0) {
		close(st[0]);
		close(dg[0]);
		close(sp[0]);
		child(st[1], dg[1], sp[1]);
	}
	close(st[1]);
	close(dg[1]);
	close(sp[1]);
	/* Nothing to read yet: a non-blocking receive fails with EAGAIN. */
	if (pk_count(&cst, PK_IN, recv(st[0], buf, 10, MSG_DONTWAIT)) != -1 || errno != EAGAIN)
		test_die("recv on an empty socket should fail with EAGAIN");
	for (int i = 0; i < 10; i++)
		if (pk_count(&cst, PK_OUT, send(st[0], buf, 1000 + (size_t)i * 777, 0)) !=
		    1000 + i * 777)
			test_die("send");
	{
		struct iovec iov[2] = {{buf, 123}, {buf + 123, 45000}};
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};

		for (int i = 0; i < 3; i++)
			if (pk_count(&cst, PK_OUT, sendmsg(st[0], &mh, 0)) != 45123)
				test_die("sendmsg");
	}
	if (pk_count(&cst, PK_OUT, write(st[0], buf, 150000)) != 150000)
		test_die("write");
	shutdown(st[0], SHUT_WR);
	for (int round = 0; round < 2; round++) {
		struct mmsghdr m[NMSG];
		struct iovec iov[NMSG];
		uint64_t b = 0;
		int r;

		memset(m, 0, sizeof(m));
		for (int i = 0; i < NMSG; i++) {
			iov[i].iov_base = buf;
			iov[i].iov_len = 100 + (size_t)i * 1000 + (size_t)round;
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
		}
		r = sendmmsg(dg[0], m, NMSG, 0);
		if (r != NMSG)
			test_die("sendmmsg");
		for (int i = 0; i < r; i++)
			b += m[i].msg_len;
		pk_count_bytes(&cdg, PK_OUT, b);
	}
	for (int i = 0; i < 4; i++) {
		ssize_t want = 10 + i * 3000;

		if (pk_count(&csp, PK_OUT, send(sp[0], buf, (size_t)want, 0)) != want)
			test_die("send seqpacket");
		if (pk_count(&csp, PK_IN, recv(sp[0], buf, sizeof(buf), 0)) != want)
			test_die("recv seqpacket");
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		test_die("child failed");
	pk_report(&cst);
	pk_report(&cdg);
	pk_report(&csp);
	return 0;
}
