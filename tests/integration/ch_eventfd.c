/* Counts known eventfd reads and writes between two processes: run with the example eventfd plugin.
 */
#include <sys/eventfd.h>
#include <sys/wait.h>

#include "chanreport.h"

/* The kernel's eventfd-id, which the plugin uses as the channel's ino. */
static unsigned long long eventfd_id(int fd)
{
	char path[64], buf[512];
	FILE *f;
	unsigned long long id = 0;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		test_die("%s", path);
	while (fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "eventfd-id: %llu", &id) == 1)
			break;
	fclose(f);
	if (!id)
		test_die("no eventfd-id");
	return id;
}

int main(void)
{
	int efd = eventfd(0, 0), status;
	uint64_t v, sum = 0;
	struct cr_chan c;
	char name[sizeof(c.name)];
	pid_t pid;

	alarm(20);
	if (efd < 0)
		test_die("eventfd");
	pid = fork();
	if (pid < 0)
		test_die("fork");
	cr_init(&c, "eventfd", "plugin", efd);
	c.ino = eventfd_id(efd);
	snprintf(name, sizeof(name), "eventfd:%llu", (unsigned long long)c.ino);
	cr_expect(&c, name, "local");
	if (pid == 0) {
		for (v = 1; v <= 5; v++)
			if (cr_count(&c, CR_OUT, write(efd, &v, sizeof(v))) != sizeof(v))
				test_die("write");
		cr_report(&c);
		_exit(0);
	}
	while (sum < 15) {
		if (cr_count(&c, CR_IN, read(efd, &v, sizeof(v))) != sizeof(v))
			test_die("read");
		sum += v;
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		test_die("child failed");
	cr_report(&c);
	return 0;
}
