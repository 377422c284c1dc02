/* 100 threads write and read pipes while the main thread forks again and again: must not deadlock.
 */
#include <pthread.h>
#include <sys/wait.h>

#include "chanreport.h"

#define THREADS 100
#define ROUNDS  500
#define FORKS   40
#define MSG     64

static struct cr_chan chans[THREADS];
static int pipes[THREADS][2];

/* Each thread writes to its own pipe and reads it back, so it never blocks on another. */
static void *worker(void *arg)
{
	int i = (int)(long)arg;
	char buf[MSG] = {0};

	for (int r = 0; r < ROUNDS; r++) {
		if (cr_count(&chans[i], CR_OUT, write(pipes[i][1], buf, MSG)) != MSG ||
		    cr_count(&chans[i], CR_IN, read(pipes[i][0], buf, MSG)) != MSG)
			test_die("thread %d", i);
	}
	return NULL;
}

int main(void)
{
	pthread_t tids[THREADS];
	int results[2], status;
	struct cr_chan cres;
	char label[32];

	alarm(60);
	if (pipe(results) < 0)
		test_die("pipe");
	cr_init(&cres, "results", "pipe", results[0]);
	for (int i = 0; i < THREADS; i++) {
		if (pipe2(pipes[i], O_CLOEXEC) < 0)
			test_die("pipe");
		snprintf(label, sizeof(label), "thread%d", i);
		cr_init(&chans[i], label, "pipe", pipes[i][0]);
	}
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&tids[i], NULL, worker, (void *)(long)i))
			test_die("pthread_create");
	for (int f = 0; f < FORKS; f++) {
		pid_t pid = fork();
		char msg[8] = "forked!";
		if (pid < 0)
			test_die("fork");
		if (pid == 0) {
			struct cr_chan c;
			cr_init(&c, "results", "pipe", results[1]);
			if (cr_count(&c, CR_OUT, write(results[1], msg, sizeof(msg))) !=
			    sizeof(msg))
				_exit(3);
			cr_report(&c);
			/* Half leave through exit(), which runs the preload's destructors in a
                         * child forked while other threads held whatever they held. */
			if (f % 2)
				exit(0);
			_exit(0);
		}
		if (cr_count(&cres, CR_IN, read(results[0], msg, sizeof(msg))) != sizeof(msg))
			test_die("read");
		if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			test_die("child %d failed", f);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(tids[i], NULL);
	for (int i = 0; i < THREADS; i++)
		cr_report(&chans[i]);
	cr_report(&cres);
	return 0;
}
