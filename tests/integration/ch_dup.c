/* dup, dup2, dup3 and fcntl copies count on their channel; a reused fd number counts on its new one. */
#include "chanreport.h"

static char buf[4096];

static void pipe_roundtrip(struct cr_chan *c, const char *label, int p[2], size_t n)
{
	if (pipe(p) < 0)
		test_die("pipe");
	cr_init(c, label, "pipe", p[1]);
	if (cr_count(c, CR_OUT, write(p[1], buf, n)) != (ssize_t)n ||
	    cr_count(c, CR_IN, read(p[0], buf, sizeof(buf))) != (ssize_t)n)
		test_die("pipe io");
}

int main(void)
{
	struct cr_chan ca, cs0, cs1, cb, cc;
	int a[2], s[2], b[2], c[2], d[4], f;
	char path[] = "/tmp/ipcprof-ch_dup-XXXXXX";

	alarm(20);
	if (pipe(a) < 0)
		test_die("pipe");
	cr_init(&ca, "a", "pipe", a[1]);
	d[0] = dup(a[1]);
	d[1] = dup2(a[1], 60);
	d[2] = fcntl(a[1], F_DUPFD_CLOEXEC, 70);
	d[3] = dup3(a[1], 80, O_CLOEXEC);
	if (d[0] < 0 || d[1] != 60 || d[2] < 70 || d[3] != 80)
		test_die("dup");
	if (cr_count(&ca, CR_OUT, write(a[1], buf, 10)) != 10)
		test_die("write");
	for (int i = 0; i < 4; i++)
		if (cr_count(&ca, CR_OUT, write(d[i], buf, 20 + 10 * (size_t)i)) != 20 + 10 * i)
			test_die("write dup %d", i);
	if (cr_count(&ca, CR_IN, read(a[0], buf, sizeof(buf))) != 150)
		test_die("read");
	close(a[0]);
	close(a[1]);
	for (int i = 0; i < 4; i++)
		close(d[i]);

	/* The lowest numbers are free again: new channels take the old pipe's numbers. */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) < 0)
		test_die("socketpair");
	if (s[0] != a[0] || s[1] != a[1])
		test_die("socketpair did not reuse the pipe's fd numbers");
	cr_init(&cs0, "s0", "unix_stream", s[0]);
	cr_init(&cs1, "s1", "unix_stream", s[1]);
	if (cr_count(&cs0, CR_OUT, write(s[0], buf, 7)) != 7 ||
	    cr_count(&cs1, CR_IN, read(s[1], buf, sizeof(buf))) != 7)
		test_die("socket io");
	close(s[1]);
	close(s[0]);

	/* A regular file on a number that was a channel: not IPC. */
	f = mkstemp(path);
	if (f != a[0])
		test_die("mkstemp did not reuse the fd number");
	if (write(f, buf, 100) != 100)
		test_die("write file");
	unlink(path);
	close(f);

	/* Many channels open at once, on numbers far above the lowest 64 (whose table entries the
	 * preload keeps apart from the rest), and one moved to 1000. */
	enum { MANY = 150 };
	static struct cr_chan many[MANY];
	static int mp[MANY][2];
	for (int i = 0; i < MANY; i++) {
		char label[16];
		if (pipe(mp[i]) < 0)
			test_die("pipe %d", i);
		snprintf(label, sizeof(label), "m%d", i);
		cr_init(&many[i], label, "pipe", mp[i][1]);
	}
	if (mp[MANY - 1][1] < 200)
		test_die("the pipes did not reach fd 200");
	for (int i = 0; i < MANY; i++)
		if (cr_count(&many[i], CR_OUT, write(mp[i][1], buf, (size_t)i + 1)) != i + 1)
			test_die("write m%d", i);
	for (int i = MANY - 1; i >= 0; i--)
		if (cr_count(&many[i], CR_IN, read(mp[i][0], buf, sizeof(buf))) != i + 1)
			test_die("read m%d", i);
	if (dup2(mp[0][1], 1000) != 1000)
		test_die("dup2 1000");
	if (cr_count(&many[0], CR_OUT, write(1000, buf, 77)) != 77 ||
	    cr_count(&many[0], CR_IN, read(mp[0][0], buf, sizeof(buf))) != 77)
		test_die("io on fd 1000");
	close(1000);
	for (int i = 0; i < MANY; i++) {
		cr_report(&many[i]);
		close(mp[i][0]);
		close(mp[i][1]);
	}

	pipe_roundtrip(&cb, "b", b, 33);
	if (close_range((unsigned)b[0], (unsigned)b[1], 0) < 0)
		test_die("close_range");
	pipe_roundtrip(&cc, "c", c, 44);
	if (c[0] != b[0])
		test_die("pipe did not reuse the fd numbers");
	cr_report(&ca);
	cr_report(&cs0);
	cr_report(&cs1);
	cr_report(&cb);
	cr_report(&cc);
	return 0;
}
