/* hackbench-style messaging with exact accounting: groups of senders each write loops messages
 * to every receiver of their group, over pipes or unix socketpairs, in processes or threads. */
#include <pthread.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "pk.h"

struct worker {
	int sender;
	int group, index;
	int fds; /* receivers (and senders) per group */
	int loops;
	size_t size;
	int *out; /* the write ends of the group's receivers */
	int in;   /* a receiver's read end */
	const char *kind;
};

static void *run(void *arg)
{
	struct worker *w = arg;
	char label[40];
	char *msg = calloc(1, w->size);
	struct pk_chan c = {label, w->kind, {{0}}};

	if (!msg)
		test_die("calloc");
	snprintf(label, sizeof(label), "g%d.%s%d", w->group, w->sender ? "s" : "r", w->index);
	if (w->sender) {
		for (int l = 0; l < w->loops; l++)
			for (int r = 0; r < w->fds; r++)
				if (pk_count(&c, PK_OUT, write(w->out[r], msg, w->size)) !=
				    (ssize_t)w->size)
					test_die("write");
	} else {
		uint64_t want = (uint64_t)w->fds * (uint64_t)w->loops * w->size;

		while (c.d[PK_IN].bytes < want) {
			ssize_t n = pk_count(&c, PK_IN, read(w->in, msg, w->size));

			if (n <= 0)
				test_die("read");
		}
	}
	pk_report(&c);
	free(msg);
	return NULL;
}

int main(int argc, char **argv)
{
	int groups, fds, loops, threads, n = 0;
	struct worker *ws;
	pthread_t *tids;
	size_t size;

	if (argc < 6) {
		fprintf(stderr,
			"usage: pk_hackbench pipe|socket GROUPS FDS LOOPS SIZE [threads]\n");
		return 2;
	}
	alarm(60);
	groups = atoi(argv[2]);
	fds = atoi(argv[3]);
	loops = atoi(argv[4]);
	size = (size_t)atol(argv[5]);
	threads = argc > 6 && !strcmp(argv[6], "threads");
	ws = calloc((size_t)(groups * fds * 2), sizeof(*ws));
	tids = calloc((size_t)(groups * fds * 2), sizeof(*tids));
	if (!ws || !tids || groups < 1 || fds < 1 || loops < 1 || size < 1)
		test_die("bad arguments");
	const char *kind = !strcmp(argv[1], "pipe") ? "pipe" : "unix_stream";

	for (int g = 0; g < groups; g++) {
		int *wr = calloc((size_t)fds, sizeof(int));

		if (!wr)
			test_die("calloc");
		for (int r = 0; r < fds; r++) {
			int p[2];

			if (!strcmp(argv[1], "pipe") ? pipe(p)
						     : socketpair(AF_UNIX, SOCK_STREAM, 0, p))
				test_die("pipe/socketpair");
			wr[r] = p[1];
			ws[n++] = (struct worker){0, g, r, fds, loops, size, wr, p[0], kind};
		}
		for (int s = 0; s < fds; s++)
			ws[n++] = (struct worker){1, g, s, fds, loops, size, wr, -1, kind};
	}
	if (threads) {
		pk_emit("{\"type\":\"threads\",\"pid\":%d,\"count\":%d}\n", (int)getpid(), n + 1);
		for (int i = 0; i < n; i++)
			if (pthread_create(&tids[i], NULL, run, &ws[i]))
				test_die("pthread_create");
		for (int i = 0; i < n; i++)
			pthread_join(tids[i], NULL);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			test_die("fork");
		if (pid == 0) {
			run(&ws[i]);
			_exit(0);
		}
	}
	for (int i = 0; i < n; i++) {
		int status;

		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			test_die("a worker failed");
	}
	return 0;
}
