/* The hostile test programs' reading end: a forked child that reads a pipe to its end. */
#include "pipe_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

pid_t hostile_reader_start(int *wfd)
{
	int p[2];
	if (pipe(p) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		static char buf[65536];
		close(p[1]);
		long got = 0;
		ssize_t n;
		while ((n = read(p[0], buf, sizeof(buf))) > 0)
			got += n;
		printf("child read %ld\n", got);
		exit(0);
	}
	close(p[0]);
	*wfd = p[1];
	return pid;
}

int hostile_reader_finish(pid_t reader, int wfd)
{
	int status;
	close(wfd);
	if (waitpid(reader, &status, 0) != reader || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	return 0;
}
