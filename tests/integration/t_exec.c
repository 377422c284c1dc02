/* One pipe written by a forked child before and after its exec, a posix_spawn'd and a vfork'd
 * child. */
#include <spawn.h>
#include <sys/wait.h>

#include "chanreport.h"

extern char **environ;

static char buf[4096];

static void write_n(const char *who, int fd, size_t n, const char *origin, const char *end,
		    int parent)
{
	struct cr_chan c;

	cr_init(&c, "p", "pipe", fd);
	if (cr_count(&c, CR_OUT, write(fd, buf, n)) != (ssize_t)n)
		test_die("write");
	cr_report_fds(who);
	cr_report(&c);
	cr_report_proc(origin, end, parent);
}

struct clone_arg {
	int fd;
	int parent;
};

/* clone() without CLONE_VM makes a process like fork() does. */
static int cloned(void *p)
{
	const struct clone_arg *a = p;

	write_n("clone", a->fd, 500, "fork", "exit", a->parent);
	return 0;
}

int main(int argc, char **argv)
{
	char self[4096], fdarg[16], parg[16];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int p[2], status;
	pid_t root = getpid(), c, s, v, k;
	posix_spawn_file_actions_t fa;
	struct cr_chan cr;
	ssize_t n;

	if (len < 0)
		test_die("readlink");
	self[len] = '\0';
	if (argc == 4 && !strcmp(argv[1], "stage2")) {
		/* The same pid after exec: its second record, <pid>.1. */
		cr_seq = 1;
		write_n("exec", atoi(argv[2]), 200, "exec", "exit", -1);
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "spawned")) {
		write_n(argv[3], atoi(argv[2]), (size_t)atoi(argv[3]), "spawn", "exit",
			atoi(argv[4]));
		return 0;
	}
	alarm(20);
	if (pipe(p) < 0)
		test_die("pipe");
	snprintf(fdarg, sizeof(fdarg), "%d", p[1]);
	snprintf(parg, sizeof(parg), "%d", (int)root);

	c = fork();
	if (c < 0)
		test_die("fork");
	if (c == 0) {
		char *args[] = {argv[0], "stage2", fdarg, parg, NULL};
		close(p[0]);
		write_n("fork", p[1], 100, "fork", "exec", root);
		execv(self, args);
		test_die("execv");
	}

	{
		char *args[] = {argv[0], "spawned", fdarg, "300", parg, NULL};
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addclose(&fa, p[0]);
		if (posix_spawn(&s, self, &fa, NULL, args, environ))
			test_die("posix_spawn");
		posix_spawn_file_actions_destroy(&fa);
	}

	{
		char *args[] = {argv[0], "spawned", fdarg, "400", parg, NULL};
		v = vfork();
		if (v < 0)
			test_die("vfork");
		if (v == 0) {
			execv(self, args);
			_exit(127);
		}
	}

	{
		static char stack[256 * 1024] __attribute__((aligned(16)));
		static struct clone_arg arg;
		arg.fd = p[1];
		arg.parent = (int)root;
		k = clone(cloned, stack + sizeof(stack), SIGCHLD, &arg);
		if (k < 0)
			test_die("clone");
	}

	close(p[1]);
	cr_init(&cr, "p", "pipe", p[0]);
	do {
		n = cr_count(&cr, CR_IN, read(p[0], buf, sizeof(buf)));
		if (n < 0)
			test_die("read");
	} while (n);
	for (int i = 0; i < 4; i++) {
		pid_t w = i == 0 ? c : i == 1 ? s : i == 2 ? v : k;
		if (waitpid(w, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			test_die("child %d failed", (int)w);
	}
	if (cr.d[CR_IN].bytes != 1500)
		test_die("read %llu bytes", (unsigned long long)cr.d[CR_IN].bytes);
	cr_report(&cr);
	cr_report_proc("root", "exit", 0);
	cr_report_fds("root");
	return 0;
}
