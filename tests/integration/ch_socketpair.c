/* Moves known bytes over AF_UNIX socketpairs (stream and seqpacket) with every send/recv call. */
#include <sys/uio.h>
#include <sys/wait.h>

#include "chanreport.h"

static char buf[65536];
static volatile size_t chunk[3] = {4096, 3000, 5000};

static void stream_parent(struct cr_chan *c, int fd)
{
	struct iovec iov[2] = {{buf, 100}, {buf + 100, 200}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	ssize_t n;

	if (cr_count(c, CR_OUT, write(fd, buf, 5000)) != 5000 ||
	    cr_count(c, CR_OUT, send(fd, buf, 3000, 0)) != 3000 ||
	    cr_count(c, CR_OUT, sendmsg(fd, &mh, 0)) != 300 ||
	    cr_count(c, CR_OUT, sendto(fd, buf, 40000, 0, NULL, 0)) != 40000)
		test_die("stream send");
	shutdown(fd, SHUT_WR);
	iov[0].iov_len = 1000;
	iov[1].iov_len = 1000;
	do {
		n = cr_count(c, CR_IN, recvmsg(fd, &mh, 0));
		if (n < 0)
			test_die("recvmsg");
	} while (n);
}

static void stream_child(struct cr_chan *c, int fd)
{
	ssize_t n;
	int i = 0;

	/* Alternate recv, read and recvfrom so that each is counted. */
	do {
		/* Lengths unknown to the compiler: built with _FORTIFY_SOURCE, these are
		 * __recv_chk, __read_chk and __recvfrom_chk. */
		if (i % 3 == 0)
			n = recv(fd, buf, chunk[0], 0);
		else if (i % 3 == 1)
			n = read(fd, buf, chunk[1]);
		else
			n = recvfrom(fd, buf, chunk[2], 0, NULL, NULL);
		i++;
		if (cr_count(c, CR_IN, n) < 0)
			test_die("stream recv");
	} while (n);
	if (cr_count(c, CR_OUT, send(fd, buf, 12345, 0)) != 12345)
		test_die("stream send");
	shutdown(fd, SHUT_WR);
}

static void seq_parent(struct cr_chan *c, int fd)
{
	static const unsigned len[5] = {10, 20, 30, 40, 50};
	struct iovec iov[5];
	struct mmsghdr mm[5];
	uint64_t total = 0;

	memset(mm, 0, sizeof(mm));
	for (int i = 0; i < 5; i++) {
		iov[i].iov_base = buf + 100 * i;
		iov[i].iov_len = len[i];
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	if (sendmmsg(fd, mm, 5, 0) != 5)
		test_die("sendmmsg");
	for (int i = 0; i < 5; i++)
		total += mm[i].msg_len;
	cr_count_bytes(c, CR_OUT, total);
	if (cr_count(c, CR_OUT, send(fd, buf, 2000, 0)) != 2000 ||
	    cr_count(c, CR_OUT, write(fd, buf, 3000)) != 3000)
		test_die("seqpacket send");
	if (cr_count(c, CR_IN, recv(fd, buf, sizeof(buf), 0)) != 777)
		test_die("seqpacket recv");
}

static void seq_child(struct cr_chan *c, int fd)
{
	struct iovec iov[8];
	struct mmsghdr mm[8];
	int got = 0;

	while (got < 7) {
		int n;
		uint64_t total = 0;

		memset(mm, 0, sizeof(mm));
		for (int i = 0; i < 8; i++) {
			iov[i].iov_base = buf + 4096 * i;
			iov[i].iov_len = 4096;
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fd, mm, 8, MSG_WAITFORONE, NULL);
		if (n <= 0)
			test_die("recvmmsg");
		for (int i = 0; i < n; i++)
			total += mm[i].msg_len;
		cr_count_bytes(c, CR_IN, total);
		got += n;
	}
	if (cr_count(c, CR_OUT, send(fd, buf, 777, 0)) != 777)
		test_die("seqpacket send");
}

int main(void)
{
	int st[2], sq[2], status;
	struct cr_chan cst, csq;
	pid_t pid;

	alarm(20);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, st) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sq) < 0)
		test_die("socketpair");
	pid = fork();
	if (pid < 0)
		test_die("fork");
	if (pid == 0) {
		close(st[0]);
		close(sq[0]);
		cr_init(&cst, "stream", "unix_stream", st[1]);
		cr_init(&csq, "seqpacket", "unix_seqpacket", sq[1]);
		cr_expect(&cst, NULL, "socketpair");
		cr_expect(&csq, NULL, "socketpair");
		stream_child(&cst, st[1]);
		seq_child(&csq, sq[1]);
		cr_report(&cst);
		cr_report(&csq);
		_exit(0);
	}
	close(st[1]);
	close(sq[1]);
	cr_init(&cst, "stream", "unix_stream", st[0]);
	cr_init(&csq, "seqpacket", "unix_seqpacket", sq[0]);
	cr_expect(&cst, NULL, "socketpair,created");
	cr_expect(&csq, NULL, "socketpair,created");
	stream_parent(&cst, st[0]);
	seq_parent(&csq, sq[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		test_die("child failed");
	cr_report(&cst);
	cr_report(&csq);
	return 0;
}
