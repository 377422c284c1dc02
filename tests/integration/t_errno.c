/* Failing IPC calls whose return values and errno must be the same with and without the preload. */
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "chanreport.h"

/*
 * stdout gets only what must not differ between runs (no pids, no inode numbers); the per-channel
 * counts go to the IPCTEST_REPORT file for the record check.
 */

static char buf[65536];

static void show(const char *what, ssize_t ret, int err)
{
	printf("%-28s ret=%zd errno=%s\n", what, ret, ret < 0 ? strerrorname_np(err) : "-");
}

#define SHOW(what, call)                                                                           \
	do {                                                                                       \
		errno = 0;                                                                         \
		ssize_t r_ = (call);                                                               \
		show(what, r_, errno);                                                             \
	} while (0)

/* The open fds and what they are, without inode numbers: a preload must add none. */
static void list_fds(const char *when)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int fds[256], n = 0;

	printf("fds %s:", when);
	while (d && (e = readdir(d)) && n < 256)
		if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d))
			fds[n++] = atoi(e->d_name);
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (fds[j] < fds[i]) {
				int t = fds[i];
				fds[i] = fds[j];
				fds[j] = t;
			}
	for (int i = 0; i < n; i++) {
		char link[64], target[PATH_MAX] = "";
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fds[i]);
		ssize_t len = readlink(link, target, sizeof(target) - 1);
		if (len > 0) {
			target[len] = '\0';
			char *colon = strstr(target, ":[");
			if (colon)
				*colon = '\0';
			/* The test's own log files differ by name between runs. */
			if (target[0] == '/' && strncmp(target, "/dev/", 5))
				snprintf(target, sizeof(target), "file");
		}
		printf(" %d=%s", fds[i], target);
	}
	printf("\n");
	if (d)
		closedir(d);
}

static void show_threads(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Threads:", 8))
			printf("%s", line);
	if (f)
		fclose(f);
}

static void on_alarm(int sig)
{
	(void)sig;
}

int main(void)
{
	int nb[2], ep[2], in[2], sp[2];
	struct cr_chan cnb, cep, cin, csp;
	struct iovec iov = {buf, 100};
	struct sigaction sa;
	struct itimerval it = {{0, 0}, {0, 50000}};

	setvbuf(stdout, NULL, _IOLBF, 0);
	list_fds("at start");
	show_threads();

	SHOW("write closed fd", write(999, buf, 10));
	SHOW("read closed fd", read(999, buf, 10));
	SHOW("readv closed fd", readv(999, &iov, 1));
	SHOW("send closed fd", send(999, buf, 10, 0));
	SHOW("recvfrom closed fd", recvfrom(999, buf, 10, 0, NULL, NULL));
	SHOW("sendmsg closed fd", sendmsg(999, &(struct msghdr){0}, 0));
	SHOW("write negative fd", write(-1, buf, 10));
	SHOW("read zero bytes", read(0, NULL, 0));

	if (pipe2(nb, O_NONBLOCK | O_CLOEXEC) < 0)
		test_die("pipe2");
	cr_init(&cnb, "unpaired_nonblocking", "pipe", nb[0]);
	SHOW("recv on a pipe", cr_count(&cnb, CR_IN, recv(nb[0], buf, 10, 0)));
	SHOW("read empty nonblocking", cr_count(&cnb, CR_IN, read(nb[0], buf, 10)));
	SHOW("write fills the pipe", cr_count(&cnb, CR_OUT, write(nb[1], buf, 65536)));
	SHOW("write full nonblocking", cr_count(&cnb, CR_OUT, write(nb[1], buf, 1)));
	SHOW("writev full nonblocking", cr_count(&cnb, CR_OUT, writev(nb[1], &iov, 1)));
	SHOW("read part", cr_count(&cnb, CR_IN, read(nb[0], buf, 1000)));
	errno = 4242;
	ssize_t r = cr_count(&cnb, CR_IN, read(nb[0], buf, 24));
	printf("%-28s ret=%zd errno kept=%d\n", "errno after success", r, errno == 4242);
	SHOW("read rest", cr_count(&cnb, CR_IN, read(nb[0], buf, sizeof(buf))));
	SHOW("read empty again", cr_count(&cnb, CR_IN, read(nb[0], buf, sizeof(buf))));
	close(nb[0]);
	close(nb[1]);

	/* SIGPIPE not ignored: the writer dies of it, as its parent sees. */
	{
		int sp2[2], st;
		pid_t pid;
		if (pipe(sp2) < 0)
			test_die("pipe");
		close(sp2[0]); /* no reader anywhere before the child writes */
		pid = fork();
		if (pid == 0) {
			(void)!write(sp2[1], buf, 10);
			_exit(0);
		}
		close(sp2[1]);
		if (pid < 0 || waitpid(pid, &st, 0) < 0)
			test_die("fork");
		printf("%-28s signaled=%d sig=%s\n", "child writes without reader", WIFSIGNALED(st),
		       WIFSIGNALED(st) ? sigabbrev_np(WTERMSIG(st)) : "-");
		cr_report_proc_of(pid, 0, "fork", "signal:13", (int)getpid());
	}

	signal(SIGPIPE, SIG_IGN);
	if (pipe(ep) < 0)
		test_die("pipe");
	cr_init(&cep, "unpaired_epipe", "pipe", ep[1]);
	close(ep[0]);
	SHOW("write without reader", cr_count(&cep, CR_OUT, write(ep[1], buf, 10)));
	close(ep[1]);

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0)
		test_die("socketpair");
	cr_init(&csp, "unpaired_socket", "unix_stream", sp[0]);
	SHOW("recv empty MSG_DONTWAIT", cr_count(&csp, CR_IN, recv(sp[0], buf, 10, MSG_DONTWAIT)));
	close(sp[1]);
	SHOW("send to closed peer", cr_count(&csp, CR_OUT, send(sp[0], buf, 10, MSG_NOSIGNAL)));
	SHOW("recv at EOF", cr_count(&csp, CR_IN, recv(sp[0], buf, 10, 0)));
	close(sp[0]);

	/* No SA_RESTART: the blocked read must fail with EINTR, as without the preload. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	if (pipe(in) < 0)
		test_die("pipe");
	cr_init(&cin, "unpaired_eintr", "pipe", in[0]);
	/* The read waits for the 50 ms timer: the record must show that wait. */
	cin.d[CR_IN].min_ns = 40 * 1000 * 1000;
	setitimer(ITIMER_REAL, &it, NULL);
	SHOW("read interrupted", cr_count(&cin, CR_IN, read(in[0], buf, 10)));
	close(in[0]);
	close(in[1]);

	/* Not IPC: a device, a regular file and a terminal are counted nowhere. */
	{
		int dn = open("/dev/null", O_RDWR | O_CLOEXEC);
		int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), sl;
		char path[4096] = "/tmp/ipcprof-t_errno-XXXXXX";
		int f = mkstemp(path);

		SHOW("write /dev/null", write(dn, buf, 100));
		SHOW("read /dev/null", read(dn, buf, 100));
		SHOW("write a file", write(f, buf, 5000));
		SHOW("pread a file", pread(f, buf, 5000, 0));
		unlink(path);
		if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
			test_die("pty");
		sl = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (sl < 0)
			test_die("open pty");
		SHOW("write a terminal", write(sl, "pty\n", 4));
		SHOW("read its master", read(m, buf, sizeof(buf)));
		close(sl);
		close(m);
		close(f);
		close(dn);
	}

	cr_report(&cnb);
	cr_report(&cep);
	cr_report(&csp);
	cr_report(&cin);
	show_threads();
	list_fds("at exit");
	return 0;
}
