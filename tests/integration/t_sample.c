/*
 * t_sample: known CPU work for the sampler, and the ways a program can meet SIGPROF.
 *
 *   t_sample burn MS       main thread in burn_main, a second thread in burn_thread, a fork
 *                          child in burn_child, MS milliseconds of CPU each
 *   t_sample own           the program's own SIGPROF handler and ITIMER_PROF
 *   t_sample query         prints what sigaction() and signal() say SIGPROF's disposition is
 *   t_sample sysv          the program's own handler set with sysv_signal, and ITIMER_PROF
 *   t_sample foreign       raise(SIGPROF) with the default action: the program ends by it
 *   t_sample exec N PROG   burns CPU, then execs PROG (with LD_PRELOAD removed), N times over
 *                          through fork children, each exec'd image exits 0
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static volatile double sink;

/* Each burn function spins in its own body (noipa: not merged with its twins). */
#define BURN(name)                                                                                 \
	static __attribute__((noipa)) void name(double ms)                                         \
	{                                                                                          \
		double end = cpu_ms() + ms, x = 0;                                                 \
		while (cpu_ms() < end)                                                             \
			for (int i = 0; i < 20000; i++)                                            \
				x += i * 0.5;                                                      \
		sink = x;                                                                          \
	}
BURN(burn_main)
BURN(burn_thread)
BURN(burn_child)

static void *thread_main(void *arg)
{
	burn_thread(*(double *)arg);
	return NULL;
}

static int burn(double ms)
{
	pthread_t t;
	if (pthread_create(&t, NULL, thread_main, &ms) != 0)
		return 1;
	burn_main(ms);
	pthread_join(t, NULL);
	pid_t c = fork();
	if (c == 0) {
		burn_child(ms);
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	printf("burned %.0f ms in three places\n", ms);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

static volatile sig_atomic_t ticks;
static void on_prof(int sig)
{
	(void)sig;
	ticks++;
}

static int own(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_prof;
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGPROF, &sa, &old) != 0)
		return 1;
	printf("previous disposition: %s\n", old.sa_handler == SIG_DFL ? "default" : "other");
	struct itimerval it = {{0, 5000}, {0, 5000}};
	setitimer(ITIMER_PROF, &it, NULL);
	burn_main(200);
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_PROF, &off, NULL);
	printf("own handler ran: %s\n", ticks > 0 ? "yes" : "no");
	return 0;
}

static int sysv(void)
{
	sighandler_t prev = sysv_signal(SIGPROF, on_prof);
	printf("sysv_signal says: %s\n", prev == SIG_DFL ? "default" : "other");
	/* One shot: sysv_signal's handler is reset to the default by the signal it handles. */
	struct itimerval it = {{0, 0}, {0, 5000}};
	setitimer(ITIMER_PROF, &it, NULL);
	while (!ticks)
		burn_main(20);
	printf("own handler ran: yes\n");
	return 0;
}

static int query(void)
{
	struct sigaction old;
	sigaction(SIGPROF, NULL, &old);
	printf("sigaction says: %s\n",
	       old.sa_handler == SIG_DFL && !(old.sa_flags & SA_SIGINFO) ? "default" : "other");
	burn_main(50);
	sighandler_t prev = signal(SIGPROF, SIG_IGN);
	printf("signal says: %s\n", prev == SIG_DFL ? "default" : "other");
	raise(SIGPROF); /* ignored now */
	burn_main(50);
	printf("still here\n");
	return 0;
}

static int foreign(void)
{
	burn_main(50);
	fflush(stdout);
	raise(SIGPROF);
	printf("not reached\n");
	return 0;
}

static int exec_many(int n, char **prog)
{
	unsetenv("LD_PRELOAD");
	int bad = 0;
	for (int i = 0; i < n; i++) {
		pid_t c = fork();
		if (c == 0) {
			burn_child(20);
			execv(prog[0], prog);
			_exit(127);
		}
		int st;
		waitpid(c, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad++;
	}
	printf("%d of %d exec'd images ended well\n", n - bad, n);
	return bad != 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "burn"))
		return burn(atof(argv[2]));
	if (argc >= 2 && !strcmp(argv[1], "own"))
		return own();
	if (argc >= 2 && !strcmp(argv[1], "sysv"))
		return sysv();
	if (argc >= 2 && !strcmp(argv[1], "query"))
		return query();
	if (argc >= 2 && !strcmp(argv[1], "foreign"))
		return foreign();
	if (argc >= 4 && !strcmp(argv[1], "exec"))
		return exec_many(atoi(argv[2]), argv + 3);
	fprintf(stderr, "usage: t_sample burn MS | own | query | foreign | exec N PROG...\n");
	return 2;
}
