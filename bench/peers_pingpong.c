/* Pipe ping-pong with small messages between a parent and a forked child: the bench-peers workload with the most calls per byte. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void must(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "peers_pingpong: %s: %s\n", what, strerror(errno));
		exit(2);
	}
}

/* Pipes may return less than asked; a message is complete only when all of it arrived. */
static void read_all(int fd, char *buf, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		must(r > 0, "read");
		buf += r;
		n -= (size_t)r;
	}
}

static void write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t r = write(fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		must(r > 0, "write");
		buf += r;
		n -= (size_t)r;
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(
		    stderr,
		    "Usage: %s MESSAGES SIZE\n"
		    "Sends MESSAGES messages of SIZE bytes to a child through a pipe; the child\n"
		    "sends each back through another. Prints the payload bytes moved.\n",
		    argv[0]);
		return 2;
	}
	long n = atol(argv[1]);
	long size = atol(argv[2]);
	if (n <= 0 || size <= 0 || size > 65536) {
		fprintf(stderr, "peers_pingpong: MESSAGES must be > 0 and SIZE in 1..65536\n");
		return 2;
	}
	char *buf = calloc(1, (size_t)size);
	int down[2], up[2];
	must(buf != NULL, "calloc");
	must(pipe(down) == 0 && pipe(up) == 0, "pipe");
	pid_t pid = fork();
	must(pid >= 0, "fork");
	if (pid == 0) {
		close(down[1]);
		close(up[0]);
		for (long i = 0; i < n; i++) {
			read_all(down[0], buf, (size_t)size);
			write_all(up[1], buf, (size_t)size);
		}
		_exit(0);
	}
	close(down[0]);
	close(up[1]);
	for (long i = 0; i < n; i++) {
		buf[0] = (char)i;
		write_all(down[1], buf, (size_t)size);
		read_all(up[0], buf, (size_t)size);
		must(buf[0] == (char)i, "echo mismatch");
	}
	int status;
	must(waitpid(pid, &status, 0) == pid, "waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "peers_pingpong: the child failed\n");
		return 1;
	}
	printf("bytes_sent=%ld\n", 2 * n * size);
	free(buf);
	return 0;
}
