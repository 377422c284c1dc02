/* Prints the minor page faults of forked children, from fork to _exit, as wait4 reports them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int by_value(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

/*
 * Usage: t_fork_faults exit|pipe N. Each of N children (one at a time) _exits at once, or first
 * writes one byte to a pipe its parent reads (so that the preload touches its channel table and
 * timeline in the child). Prints "median max" of the children's ru_minflt.
 */
int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "exit") && strcmp(argv[1], "pipe")) ||
	    atoi(argv[2]) < 1) {
		fprintf(stderr, "usage: %s exit|pipe N\n", argv[0]);
		return 2;
	}
	int pipe_write = !strcmp(argv[1], "pipe"), n = atoi(argv[2]), p[2];
	long *faults = calloc((size_t)n, sizeof(*faults));
	char b = 1;
	/* The parent's own first use of the pipe, so that no child is the first to classify it. */
	if (!faults || pipe(p) || write(p[1], &b, 1) != 1 || read(p[0], &b, 1) != 1) {
		perror("setup");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			if (pipe_write && write(p[1], &b, 1) != 1)
				_exit(3);
			_exit(0);
		}
		if (pipe_write && read(p[0], &b, 1) != 1) {
			perror("read");
			return 1;
		}
		int st;
		struct rusage ru;
		if (wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "child %d failed\n", (int)pid);
			return 1;
		}
		faults[i] = ru.ru_minflt;
	}
	qsort(faults, (size_t)n, sizeof(*faults), by_value);
	printf("%ld %ld\n", faults[n / 2], faults[n - 1]);
	free(faults);
	return 0;
}
