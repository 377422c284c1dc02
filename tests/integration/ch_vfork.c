/* A vfork child that closes every fd before exec must not change what its parent records. */
#include <sys/wait.h>

#include "chanreport.h"

/*
 * The vfork child runs in the parent's memory until exec, so a preload that updates its fd
 * table in close() or close_range() there would forget the parent's own channels.
 */

int main(int argc, char **argv)
{
	char self[4096], buf[64] = {0};
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int sv[2], sw[2], p[2], status;
	struct cr_chan c0, c1, cp, w0, w1;
	pid_t v;

	if (argc == 3 && !strcmp(argv[1], "noop")) {
		cr_report_proc("spawn", "exit", atoi(argv[2]));
		return 0;
	}
	alarm(20);
	if (len < 0)
		test_die("readlink");
	self[len] = '\0';
	/* sv and p are used before the vfork, sw only after it. */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || pipe(p) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sw) < 0)
		test_die("socketpair");
	cr_init(&w0, "sw0", "unix_seqpacket", sw[0]);
	cr_init(&w1, "sw1", "unix_seqpacket", sw[1]);
	cr_expect(&w0, NULL, "socketpair,created");
	cr_expect(&w1, NULL, "socketpair,created");
	cr_init(&c0, "sp0", "unix_stream", sv[0]);
	cr_init(&c1, "sp1", "unix_stream", sv[1]);
	cr_init(&cp, "pipe", "pipe", p[1]);
	cr_expect(&c0, NULL, "socketpair,created");
	cr_expect(&c1, NULL, "socketpair,created");
	cr_expect(&cp, NULL, "created");
	/* Seen before the vfork... */
	if (cr_count(&cp, CR_OUT, write(p[1], buf, 10)) != 10 ||
	    cr_count(&c0, CR_OUT, send(sv[0], buf, 5, 0)) != 5)
		test_die("write");
	{
		char parent[16];
		char *args[] = {argv[0], "noop", parent, NULL};
		snprintf(parent, sizeof(parent), "%d", (int)getpid());
		v = vfork();
		if (v < 0)
			test_die("vfork");
		if (v == 0) {
			close(sv[0]);
			close(sw[0]);
			close(sw[1]);
			close_range(3, ~0u, 0);
			execv(self, args);
			_exit(127);
		}
	}
	if (waitpid(v, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		test_die("child failed");
	/* ... and used again after it. */
	if (cr_count(&cp, CR_OUT, write(p[1], buf, 20)) != 20 ||
	    cr_count(&c0, CR_OUT, send(sv[0], buf, 7, 0)) != 7 ||
	    cr_count(&cp, CR_IN, read(p[0], buf, sizeof(buf))) != 30 ||
	    cr_count(&c1, CR_IN, recv(sv[1], buf, 12, MSG_WAITALL)) != 12)
		test_die("io");
	if (cr_count(&w0, CR_OUT, send(sw[0], buf, 33, 0)) != 33 ||
	    cr_count(&w1, CR_IN, recv(sw[1], buf, sizeof(buf), 0)) != 33)
		test_die("seqpacket");
	cr_report(&w0);
	cr_report(&w1);
	cr_report(&c0);
	cr_report(&c1);
	cr_report(&cp);
	cr_report_proc("root", "exit", 0);
	return 0;
}
