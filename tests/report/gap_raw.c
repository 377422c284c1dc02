/* Writes to a pipe past the preload: 1000 bytes by write(), then 500 by a raw syscall instruction
 * that no interposer sees; its fork reads all 1500. The kernel's bytes and the preload's differ
 * by exactly 500 on the writer's pipe, the gap test_kernel_gap.py expects the report to show.
 * Exits 77 where there is no raw syscall for it (not x86-64). */
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long raw_write(int fd, const void *buf, size_t n)
{
#if defined(__x86_64__)
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"((long)SYS_write), "D"((long)fd), "S"(buf), "d"(n)
			 : "rcx", "r11", "memory");
	return ret;
#else
	(void)fd;
	(void)buf;
	(void)n;
	return -1;
#endif
}

int main(void)
{
#if !defined(__x86_64__)
	fprintf(stderr, "gap_raw: no raw syscall on this architecture\n");
	return 77;
#endif
	int p[2];
	if (pipe(p) != 0)
		return 1;
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	char buf[1000];
	memset(buf, 'g', sizeof(buf));
	if (pid == 0) {
		close(p[0]);
		if (write(p[1], buf, 1000) != 1000 || raw_write(p[1], buf, 500) != 500)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	size_t total = 0;
	ssize_t n;
	while ((n = read(p[0], buf, sizeof(buf))) > 0)
		total += (size_t)n;
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || total != 1500)
		return 1;
	return 0;
}
