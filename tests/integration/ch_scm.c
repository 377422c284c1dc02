/* Passes pipe ends between processes with SCM_RIGHTS; the received fds carry known bytes, and
 * every fd passed is counted. */
#include <sys/wait.h>

#include "chanreport.h"

static char buf[65536];

/* Sends fd `copies` times in one SCM_RIGHTS message: the receiver gets that many new fds. */
static void send_fd(struct cr_chan *c, int sock, int fd, int copies)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))] = {0};
	char byte = 'F';
	struct iovec iov = {&byte, 1};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = CMSG_SPACE((size_t)copies * sizeof(int))};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN((size_t)copies * sizeof(int));
	for (int i = 0; i < copies; i++)
		memcpy(CMSG_DATA(cm) + (size_t)i * sizeof(int), &fd, sizeof(int));
	if (cr_count(c, CR_OUT, sendmsg(sock, &mh, 0)) != 1)
		test_die("sendmsg");
	cr_count_fds(c, CR_OUT, (uint64_t)copies);
}

/* Receives one message's fds: returns the first, closes the others. */
static int recv_fd(struct cr_chan *c, int sock)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))] = {0};
	char byte;
	struct iovec iov = {&byte, 1};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;
	size_t n;
	int fd[2];

	if (cr_count(c, CR_IN, recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) != 1)
		test_die("recvmsg");
	cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		test_die("no fd received");
	n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	if (n < 1 || n > 2)
		test_die("%zu fds received", n);
	memcpy(fd, CMSG_DATA(cm), n * sizeof(int));
	cr_count_fds(c, CR_IN, n);
	if (n == 2)
		close(fd[1]);
	return fd[0];
}

static void drain(struct cr_chan *c, int fd)
{
	ssize_t n;

	do {
		n = cr_count(c, CR_IN, read(fd, buf, 1024));
		if (n < 0)
			test_die("read");
	} while (n);
}

int main(void)
{
	int sv[2], p[2], fd, status;
	struct cr_chan cs, cp, cq;
	pid_t pid;

	alarm(20);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		test_die("socketpair");
	pid = fork();
	if (pid < 0)
		test_die("fork");
	if (pid == 0) {
		close(sv[0]);
		cr_init(&cs, "control", "unix_stream", sv[1]);
		fd = recv_fd(&cs, sv[1]);
		cr_init(&cp, "passed_read_end", "pipe", fd);
		drain(&cp, fd);
		close(fd);
		if (pipe(p) < 0)
			test_die("pipe");
		send_fd(&cs, sv[1], p[1], 1);
		close(p[1]);
		cr_init(&cq, "passed_write_end", "pipe", p[0]);
		drain(&cq, p[0]);
		cr_report(&cs);
		cr_report(&cp);
		cr_report(&cq);
		_exit(0);
	}
	close(sv[1]);
	cr_init(&cs, "control", "unix_stream", sv[0]);
	if (pipe(p) < 0)
		test_die("pipe");
	send_fd(&cs, sv[0], p[0], 2); /* two copies of one fd: the child gets two */
	close(p[0]);
	cr_init(&cp, "passed_read_end", "pipe", p[1]);
	for (int i = 0; i < 3; i++)
		if (cr_count(&cp, CR_OUT, write(p[1], buf, 2000)) != 2000)
			test_die("write");
	close(p[1]);
	fd = recv_fd(&cs, sv[0]);
	cr_init(&cq, "passed_write_end", "pipe", fd);
	if (cr_count(&cq, CR_OUT, write(fd, buf, 2500)) != 2500)
		test_die("write");
	close(fd);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		test_die("child failed");
	cr_report(&cs);
	cr_report(&cp);
	cr_report(&cq);
	return 0;
}
