/* popen() of a shell running echo and dd: programs we did not write, profiled through exec. */
#include <sys/wait.h>

#include "chanreport.h"

/*
 * The shell (a builtin echo: 6 bytes) and dd (100000 bytes) write() into the popen pipe; how
 * many calls they make is theirs to choose, but the bytes are known, and only this process reads.
 * (Not head: it writes through stdio, whose internal write calls no preload sees; see
 * docs/settings.md.)
 */

int main(void)
{
	static char buf[65536];
	struct cr_chan c;
	char line[256];
	FILE *f;
	ssize_t n;
	int fd, status;

	alarm(20);
	f = popen("echo hello; dd if=/dev/zero bs=10000 count=10 status=none", "r");
	if (!f)
		test_die("popen");
	fd = fileno(f);
	cr_init(&c, "popen", "pipe", fd);
	do {
		n = cr_count(&c, CR_IN, read(fd, buf, sizeof(buf)));
		if (n < 0)
			test_die("read");
	} while (n);
	status = pclose(f);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		test_die("shell failed: %#x", status);
	if (c.d[CR_IN].bytes != 100006)
		test_die("read %llu bytes", (unsigned long long)c.d[CR_IN].bytes);
	cr_report(&c);
	cr_report_proc("root", "exit", 0);
	n = snprintf(line, sizeof(line),
		     "{\"type\":\"others_out\",\"label\":\"popen\",\"dev\":%llu,\"ino\":%llu,"
		     "\"bytes\":100006}\n",
		     (unsigned long long)c.dev, (unsigned long long)c.ino);
	cr_emit(line, (size_t)n);
	return 0;
}
