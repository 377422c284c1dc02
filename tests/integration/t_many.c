/* 600 socket ends: all kept; in a record cut to 512 channels, the first exact and the rest dropped. */
#include <sys/resource.h>

#include "chanreport.h"

#define PAIRS 300 /* 600 socket ends */

int main(void)
{
	static int sv[PAIRS][2];
	static struct cr_chan c[PAIRS][2];
	struct rlimit rl;
	char b = 'x';

	alarm(20);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 2 * PAIRS + 64) {
		rl.rlim_cur = rl.rlim_max < 2 * PAIRS + 64 ? rl.rlim_max : 2 * PAIRS + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (int i = 0; i < PAIRS; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]) < 0)
			test_die("socketpair %d", i);
		cr_init(&c[i][0], "unpaired", "unix_stream", sv[i][0]);
		cr_init(&c[i][1], "unpaired", "unix_stream", sv[i][1]);
	}
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < PAIRS; i++)
			if (cr_count(&c[i][0], CR_OUT, write(sv[i][0], &b, 1)) != 1 ||
			    cr_count(&c[i][1], CR_IN, read(sv[i][1], &b, 1)) != 1)
				test_die("io %d", i);
	for (int i = 0; i < PAIRS; i++) {
		cr_report(&c[i][0]);
		cr_report(&c[i][1]);
	}
	printf("%d socket pairs, 2 bytes each way\n", PAIRS);
	return 0;
}
