/* A writer mixing stdio and write(2) on one pipe, and a reader using fread on it: the bytes each
 * side moved, printed by the reader, are what the programs harness checks ipcprof against. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void writer(int fd)
{
	FILE *f = fdopen(fd, "w");
	if (!f) {
		perror("mixed_stdio: fdopen");
		exit(1);
	}
	char block[3000];
	memset(block, 'x', sizeof(block));
	for (int i = 0; i < 200; i++) {
		fprintf(f, "line %d\n", i);
		if (i % 7 == 0) {
			/* write(2) behind the stream's buffer: the stream must be flushed first to keep
			 * the order, as a careful program does. */
			fflush(f);
			if (write(fd, "raw\n", 4) != 4)
				exit(1);
		}
		if (i % 50 == 0)
			fwrite(block, 1, sizeof(block), f);
		putc('.', f);
		fputs("end\n", f);
	}
	/* No fclose: exit's flush writes what is left. */
	exit(0);
}

int main(void)
{
	int p[2];
	if (pipe(p) != 0) {
		perror("mixed_stdio: pipe");
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("mixed_stdio: fork");
		return 1;
	}
	if (pid == 0) {
		close(p[0]);
		writer(p[1]);
	}
	close(p[1]);
	FILE *in = fdopen(p[0], "r");
	char buf[1000];
	size_t n, total = 0, lines = 0;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
		total += n;
		for (size_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	}
	fclose(in);
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return 1;
	printf("read %zu bytes, %zu lines\n", total, lines);
	return 0;
}
