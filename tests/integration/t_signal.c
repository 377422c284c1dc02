/* A signal handler writes to a pipe while the main loop is inside pipe calls: counts stay exact. */
#include <signal.h>
#include <sys/time.h>

#include "chanreport.h"

/*
 * The handler interrupts the preload's own wrappers at random points; a wrapper that took a
 * lock or kept per-thread state across the call would deadlock or lose counts here.
 */

static struct cr_chan ch;
static int hp[2];

static void on_alarm(int sig)
{
	int e = errno;
	char b = (char)sig;

	cr_count(&ch, CR_OUT, write(hp[1], &b, 1));
	errno = e;
}

int main(void)
{
	struct cr_chan cm;
	struct sigaction sa;
	struct itimerval it = {{0, 500}, {0, 500}}, off = {{0, 0}, {0, 0}};
	int mp[2];
	char buf[4096] = {0};
	ssize_t n;

	alarm(30);
	if (pipe(mp) < 0 || pipe2(hp, O_NONBLOCK) < 0)
		test_die("pipe");
	cr_init(&cm, "main", "pipe", mp[1]);
	cr_init(&ch, "handler", "pipe", hp[1]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	for (int i = 0; i < 100000 || ch.d[CR_OUT].calls < 20; i++) {
		if (cr_count(&cm, CR_OUT, write(mp[1], buf, 64)) != 64 ||
		    cr_count(&cm, CR_IN, read(mp[0], buf, 64)) != 64)
			test_die("main io");
	}
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_DFL);
	alarm(30);
	/* The handler's pipe holds one byte per successful handler write. */
	struct cr_chan cr;
	cr_init(&cr, "handler", "pipe", hp[0]);
	do {
		n = cr_count(&cr, CR_IN, read(hp[0], buf, sizeof(buf)));
	} while (n > 0);
	if (n < 0 && errno != EAGAIN)
		test_die("read");
	if (cr.d[CR_IN].bytes != ch.d[CR_OUT].bytes)
		test_die("handler wrote %llu, read %llu", (unsigned long long)ch.d[CR_OUT].bytes,
			 (unsigned long long)cr.d[CR_IN].bytes);
	/* One entry for both ends of the handler's pipe, as the record has it. */
	ch.d[CR_IN] = cr.d[CR_IN];
	cr_report(&cm);
	cr_report(&ch);
	return 0;
}
