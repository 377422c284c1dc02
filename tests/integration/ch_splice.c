/* Moves known bytes into pipes with splice, vmsplice, tee and sendfile, read by a child. */
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "chanreport.h"

enum { P_SPLICE, P_VMSPLICE, P_SENDFILE, P_TEESRC, P_TEEDST, P_FROM, P_TO, NPIPES };
static const char *const labels[NPIPES] = {"splice",  "vmsplice",    "sendfile", "tee_src",
					   "tee_dst", "splice_from", "splice_to"};
static char buf[65536];

/* Calls f until it moved want bytes, counting each call on c (and on c2 as input, if set). */
#define MOVE_ALL(c, c2, want, call)                                                                \
	do {                                                                                       \
		ssize_t left_ = (want);                                                            \
		while (left_ > 0) {                                                                \
			ssize_t n_ = (call);                                                       \
			cr_count((c), CR_OUT, n_);                                                 \
			if (c2)                                                                    \
				cr_count((c2), CR_IN, n_);                                         \
			if (n_ <= 0)                                                               \
				test_die(#call);                                                   \
			left_ -= n_;                                                               \
		}                                                                                  \
	} while (0)

int main(int argc, char **argv)
{
	int p[NPIPES][2], file, status;
	struct cr_chan c[NPIPES];
	struct cr_chan *none = NULL;
	char path[4096];
	loff_t off = 0;
	off_t soff = 0;
	pid_t pid;

	if (argc != 2) {
		fprintf(stderr, "usage: ch_splice DIR\n");
		return 2;
	}
	alarm(20);
	snprintf(path, sizeof(path), "%s/splice.data", argv[1]);
	file = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (file < 0)
		test_die("open %s", path);
	for (int i = 0; i < 4; i++)
		if (write(file, buf, 8192) != 8192)
			test_die("write file");
	for (int i = 0; i < NPIPES; i++)
		if (pipe(p[i]) < 0)
			test_die("pipe");

	pid = fork();
	if (pid < 0)
		test_die("fork");
	if (pid == 0) {
		static const int readers[] = {P_SPLICE, P_VMSPLICE, P_SENDFILE, P_TEEDST, P_TO};
		for (int i = 0; i < NPIPES; i++)
			close(p[i][1]);
		for (size_t k = 0; k < sizeof(readers) / sizeof(readers[0]); k++) {
			int i = readers[k];
			ssize_t n;
			cr_init(&c[i], labels[i], "pipe", p[i][0]);
			do {
				n = cr_count(&c[i], CR_IN, read(p[i][0], buf, 5000));
				if (n < 0)
					test_die("read");
			} while (n);
			cr_report(&c[i]);
		}
		_exit(0);
	}
	for (int i = 0; i < NPIPES; i++)
		cr_init(&c[i], labels[i], "pipe", p[i][1]);

	MOVE_ALL(&c[P_SPLICE], none, 10000,
		 splice(file, &off, p[P_SPLICE][1], NULL, (size_t)left_, 0));

	{
		struct iovec iov = {buf, 8192};
		MOVE_ALL(&c[P_VMSPLICE], none, 8192,
			 (iov.iov_len = (size_t)left_, vmsplice(p[P_VMSPLICE][1], &iov, 1, 0)));
	}

	MOVE_ALL(&c[P_SENDFILE], none, 20000,
		 sendfile(p[P_SENDFILE][1], file, &soff, (size_t)left_));

	/* tee copies without consuming: it counts as output on the destination only; the
         * source's bytes are then read here, once. */
	if (cr_count(&c[P_TEESRC], CR_OUT, write(p[P_TEESRC][1], buf, 3000)) != 3000)
		test_die("write");
	MOVE_ALL(&c[P_TEEDST], none, 3000, tee(p[P_TEESRC][0], p[P_TEEDST][1], (size_t)left_, 0));
	if (cr_count(&c[P_TEESRC], CR_IN, read(p[P_TEESRC][0], buf, sizeof(buf))) != 3000)
		test_die("read tee source");

	/* pipe to pipe: input on one channel, output on the other, from one call. */
	if (cr_count(&c[P_FROM], CR_OUT, write(p[P_FROM][1], buf, 4000)) != 4000)
		test_die("write");
	MOVE_ALL(&c[P_TO], &c[P_FROM], 4000,
		 splice(p[P_FROM][0], NULL, p[P_TO][1], NULL, (size_t)left_, 0));

	for (int i = 0; i < NPIPES; i++)
		close(p[i][1]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		test_die("child failed");
	for (int i = 0; i < NPIPES; i++)
		cr_report(&c[i]);
	close(file);
	unlink(path);
	return 0;
}
