/* A producer writes into a pipe a consumer reads. "slow": the consumer sleeps between reads, so
 * the producer waits inside write(); "copy": the pipe has room for all the data and the consumer
 * starts reading once the producer is done, so the producer's writes are nothing but the copy.
 * The producer times its writes (write_ns, its own wall clock) for the probes' sched mode, where
 * the kernel times only the stretches off CPU inside them. */
#include <sys/wait.h>
#include <time.h>

#include "pk.h"

#define CHUNK 65536

static char chunk[CHUNK];

int main(int argc, char **argv)
{
	struct pk_chan c = {"flow", "pipe", {{0}}};
	struct timespec t0, t1;
	long long write_ns = 0;
	int slow, chunks, p[2], status;
	pid_t pid;

	if (argc != 3 || (strcmp(argv[1], "slow") && strcmp(argv[1], "copy"))) {
		fprintf(stderr, "usage: pk_flow slow|copy CHUNKS\n");
		return 2;
	}
	alarm(60);
	slow = !strcmp(argv[1], "slow");
	chunks = atoi(argv[2]);
	if (pipe(p) < 0)
		test_die("pipe");
	if (!slow && (fcntl(p[1], F_SETPIPE_SZ, chunks * CHUNK) < 0 ||
		      fcntl(p[1], F_GETPIPE_SZ) < chunks * CHUNK))
		test_die("F_SETPIPE_SZ");
	pid = fork();
	if (pid < 0)
		test_die("fork");
	if (pid == 0) {
		struct timespec nap = {0, 2000000}, start = {0, 200000000};
		ssize_t n;

		close(p[1]);
		if (!slow)
			nanosleep(&start, NULL);
		do {
			n = pk_count(&c, PK_IN, read(p[0], chunk, sizeof(chunk)));
			if (n < 0)
				test_die("read");
			if (slow && n > 0)
				nanosleep(&nap, NULL);
		} while (n != 0);
		pk_report(&c);
		pk_emit("{\"type\":\"flow\",\"pid\":%d,\"role\":\"consumer\",\"mode\":\"%s\"}\n",
			(int)getpid(), argv[1]);
		_exit(0);
	}
	close(p[0]);
	for (int i = 0; i < chunks; i++) {
		ssize_t w;

		memset(chunk, 'a' + i % 26, sizeof(chunk));
		clock_gettime(CLOCK_MONOTONIC, &t0);
		w = write(p[1], chunk, CHUNK);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		write_ns += (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
		if (pk_count(&c, PK_OUT, w) != CHUNK)
			test_die("write");
	}
	close(p[1]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		test_die("consumer failed");
	pk_report(&c);
	pk_emit("{\"type\":\"flow\",\"pid\":%d,\"role\":\"producer\",\"mode\":\"%s\","
		"\"write_ns\":%lld}\n",
		(int)getpid(), argv[1], write_ns);
	return 0;
}
