/* A known program for the hostile tests: BYTES through a pipe to a forked child, known output, exit status 3. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipe_reader.h"

int main(int argc, char **argv)
{
	long total = argc > 1 ? atol(argv[1]) : 100000;
	char buf[1000];
	int wfd;
	memset(buf, 'x', sizeof(buf));
	pid_t pid = hostile_reader_start(&wfd);
	if (pid < 0)
		return 2;
	for (long left = total; left > 0;) {
		size_t n = left < (long)sizeof(buf) ? (size_t)left : sizeof(buf);
		ssize_t w = write(wfd, buf, n);
		if (w <= 0)
			return 2;
		left -= w;
	}
	if (hostile_reader_finish(pid, wfd) != 0)
		return 2;
	printf("parent wrote %ld, uid %d euid %d\n", total, (int)getuid(), (int)geteuid());
	return 3;
}
