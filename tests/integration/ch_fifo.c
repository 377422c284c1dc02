/* Moves known bytes through a FIFO made with mkfifo and opened by path in two processes. */
#include <sys/wait.h>

#include "chanreport.h"

static char buf[200000];

int main(int argc, char **argv)
{
	static const size_t sizes[] = {3, 333, 33333, 133333};
	char path[4096];
	struct cr_chan c;
	pid_t pid;
	int fd, status;
	ssize_t n;

	if (argc != 2) {
		fprintf(stderr, "usage: ch_fifo DIR\n");
		return 2;
	}
	alarm(20);
	snprintf(path, sizeof(path), "%s/fifo", argv[1]);
	if (mkfifo(path, 0600) < 0)
		test_die("mkfifo %s", path);
	pid = fork();
	if (pid < 0)
		test_die("fork");
	if (pid == 0) {
		fd = open(path, O_WRONLY);
		if (fd < 0)
			test_die("open %s", path);
		cr_init(&c, "fifo", "fifo", fd);
		cr_expect(&c, path, NULL);
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			if (cr_count(&c, CR_OUT, write(fd, buf, sizes[i])) != (ssize_t)sizes[i])
				test_die("write");
		close(fd);
		cr_report(&c);
		_exit(0);
	}
	fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		test_die("openat %s", path);
	cr_init(&c, "fifo", "fifo", fd);
	cr_expect(&c, path, NULL);
	do {
		n = cr_count(&c, CR_IN, read(fd, buf, 50000));
		if (n < 0)
			test_die("read");
	} while (n);
	close(fd);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		test_die("child failed");
	cr_report(&c);
	unlink(path);
	return 0;
}
