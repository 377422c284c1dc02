/* Children ended by SIGKILL, SIGTERM and _exit(7) after known writes: their records keep the
 * counts. */
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "chanreport.h"

/*
 * A killed child cannot report, so it counts into shared memory and the parent reports for it.
 * The parent checks the wait status too: the preload must not change how a child ends.
 */

#define CHILDREN 3
#define WRITES   3

int main(void)
{
	struct cr_chan *shared, mine;
	static const int how[CHILDREN] = {SIGKILL, SIGTERM, 0};
	pid_t pids[CHILDREN];
	char buf[4096] = {0}, end[32];
	uint64_t want = 0;
	int p[2], status;
	ssize_t n;
	int *done;

	alarm(20);
	shared = mmap(NULL, CHILDREN * sizeof(*shared) + sizeof(int) * CHILDREN,
		      PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	done = (int *)(void *)(shared + CHILDREN);
	if (shared == MAP_FAILED || pipe(p) < 0)
		test_die("setup");
	for (int k = 0; k < CHILDREN; k++) {
		want += WRITES * (100 + (uint64_t)k);
		pids[k] = fork();
		if (pids[k] < 0)
			test_die("fork");
		if (pids[k] == 0) {
			struct cr_chan *c = &shared[k];
			close(p[0]);
			cr_init(c, "p", "pipe", p[1]);
			c->pid = getpid();
			for (int i = 0; i < WRITES; i++)
				if (cr_count(c, CR_OUT, write(p[1], buf, 100 + (size_t)k)) < 0)
					_exit(2);
			/* Counted (here and by the preload): now it may be killed. */
			__atomic_store_n(&done[k], 1, __ATOMIC_RELEASE);
			if (!how[k])
				_exit(7);
			for (;;)
				pause();
		}
	}
	close(p[1]);
	cr_init(&mine, "p", "pipe", p[0]);
	/* Everything written, so the children now wait in pause() (or have left). */
	while (mine.d[CR_IN].bytes < want)
		if (cr_count(&mine, CR_IN, read(p[0], buf, sizeof(buf))) <= 0)
			test_die("read");
	for (int k = 0; k < CHILDREN; k++) {
		while (!__atomic_load_n(&done[k], __ATOMIC_ACQUIRE))
			usleep(1000);
		if (how[k])
			kill(pids[k], how[k]);
		if (waitpid(pids[k], &status, 0) < 0)
			test_die("waitpid");
		if (how[k] ? !WIFSIGNALED(status) || WTERMSIG(status) != how[k]
			   : !WIFEXITED(status) || WEXITSTATUS(status) != 7)
			test_die("child %d ended with status %#x", k, status);
		if (how[k])
			snprintf(end, sizeof(end), "signal:%d", how[k]);
		else
			snprintf(end, sizeof(end), "exit:7");
		cr_report(&shared[k]);
		cr_report_proc_of(pids[k], 0, "fork", end, (int)getpid());
	}
	n = cr_count(&mine, CR_IN, read(p[0], buf, sizeof(buf)));
	if (n != 0)
		test_die("no EOF");
	cr_report(&mine);
	cr_report_proc("root", "exit", 0);
	return 0;
}
