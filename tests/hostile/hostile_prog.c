/* A known program for the hostile tests: BYTES through a pipe to a forked child, known output, exit status 3. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long total = argc > 1 ? atol(argv[1]) : 100000;
	char buf[1000];
	int p[2];
	memset(buf, 'x', sizeof(buf));
	if (pipe(p) != 0)
		return 2;
	pid_t pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		close(p[1]);
		long got = 0;
		ssize_t n;
		while ((n = read(p[0], buf, sizeof(buf))) > 0)
			got += n;
		printf("child read %ld\n", got);
		return 0;
	}
	close(p[0]);
	for (long left = total; left > 0;) {
		size_t n = left < (long)sizeof(buf) ? (size_t)left : sizeof(buf);
		ssize_t w = write(p[1], buf, n);
		if (w <= 0)
			return 2;
		left -= w;
	}
	close(p[1]);
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return 2;
	printf("parent wrote %ld, uid %d euid %d\n", total, (int)getuid(), (int)geteuid());
	return 3;
}
