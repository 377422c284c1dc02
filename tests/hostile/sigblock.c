/* Programs that block signals and take them themselves (signalfd, sigtimedwait), or use SIGPROF for their own profiling. */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long cpu_ns(clockid_t clock)
{
	struct timespec t;
	clock_gettime(clock, &t);
	return t.tv_sec * 1000000000L + t.tv_nsec;
}

/* Burns ms of this thread's CPU time; every `mask_every` rounds (0: never) the thread blocks every
 * signal for a moment and unblocks them again, as code guarding a critical section does. */
static void burn(long ms, int mask_every)
{
	volatile double x = 0;
	long end = cpu_ns(CLOCK_THREAD_CPUTIME_ID) + ms * 1000000L;
	for (int round = 1; cpu_ns(CLOCK_THREAD_CPUTIME_ID) < end; round++) {
		for (int i = 0; i < 20000; i++)
			x += i;
		if (mask_every && round % mask_every == 0) {
			sigset_t all, old;
			sigfillset(&all);
			if (round % (2 * mask_every) == 0) {
				pthread_sigmask(SIG_BLOCK, &all, &old);
				pthread_sigmask(SIG_SETMASK, &old, NULL);
			} else {
				sigprocmask(SIG_SETMASK, &all, &old);
				sigprocmask(SIG_UNBLOCK, &all, NULL);
				sigprocmask(SIG_SETMASK, &old, NULL);
			}
		}
	}
}

/* raw: with the system call itself, as a program with its own runtime does (Go's). */
static void block_all(bool raw)
{
	sigset_t all;
	sigfillset(&all);
	if (raw ? syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, NULL, 8) != 0
		: sigprocmask(SIG_BLOCK, &all, NULL) != 0)
		exit(2);
}

/* What is pending on this thread and the process, as sigpending() shows it. */
static void print_pending(void)
{
	sigset_t p;
	sigemptyset(&p);
	sigpending(&p);
	printf("pending:");
	for (int s = 1; s < NSIG; s++)
		if (sigismember(&p, s) == 1)
			printf(" %d", s);
	printf("\n");
}

static void print_signal(int signo, int code)
{
	printf("signal %d from %s\n", signo, code == SI_USER ? "kill" : "elsewhere");
}

static void drain_signalfd(void)
{
	sigset_t all;
	sigfillset(&all);
	int fd = signalfd(-1, &all, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		exit(2);
	struct signalfd_siginfo si;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		print_signal((int)si.ssi_signo, si.ssi_code);
	close(fd);
}

static void drain_sigtimedwait(void)
{
	sigset_t all;
	sigfillset(&all);
	struct timespec zero = {0, 0};
	siginfo_t si;
	int s;
	while ((s = sigtimedwait(&all, &si, &zero)) > 0)
		print_signal(s, si.si_code);
}

/* The two signals the program sent itself, with sigwait (which tells no sender); then what is
 * left pending. */
static void drain_sigwait(void)
{
	sigset_t all;
	sigfillset(&all);
	for (int i = 0; i < 2; i++) {
		int s = 0;
		if (sigwait(&all, &s) != 0)
			exit(2);
		printf("sigwait %d\n", s);
	}
	print_pending();
}

static void *thread_burn(void *unused)
{
	(void)unused;
	burn(200, 0);
	print_pending();
	drain_signalfd();
	return NULL;
}

static volatile sig_atomic_t own_profs;

static void count_prof(int sig)
{
	(void)sig;
	own_profs++;
}

/* A program that profiles itself with ITIMER_PROF: its signals come, about one per period of the
 * process's CPU time (the kernel counts it in scheduler ticks). */
static int own_profiler(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = count_prof;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPROF, &sa, NULL);
	struct itimerval it = {{0, 10000}, {0, 10000}};
	setitimer(ITIMER_PROF, &it, NULL);
	burn(400, 0);
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_PROF, &off, NULL);
	double ratio = own_profs * 1e7 / (double)cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
	printf("own SIGPROF per period of CPU time: %s\n",
	       ratio > 0.5 && ratio < 1.5 ? "about one" : "not one");
	if (!(ratio > 0.5 && ratio < 1.5))
		fprintf(stderr, "sigblock: %d SIGPROFs, ratio %.2f\n", (int)own_profs, ratio);
	return 0;
}

/*
 * sigblock MODE: signalfd, sigtimedwait (block every signal, burn CPU, drain); thread, fork, exec
 * (the same in a thread, a fork child or a new image, "inherited", that start with every signal
 * blocked); sigwait; raw-signalfd, raw-sigtimedwait, raw-sigwait (blocked with the system call, not through libc);
 * masks (CPU time with brief masks, for the sample count); own-profiler.
 */
int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "own-profiler"))
		return own_profiler();
	if (!strcmp(mode, "masks")) {
		burn(argc > 2 ? atol(argv[2]) : 500, 4);
		printf("done\n");
		return 0;
	}
	bool raw = !strncmp(mode, "raw-", 4);
	if (raw)
		mode += 4;
	if (strcmp(mode, "inherited"))
		block_all(raw); /* "inherited": the image started with every signal blocked */
	if (!strcmp(mode, "signalfd") || !strcmp(mode, "sigtimedwait") ||
	    !strcmp(mode, "sigwait") || !strcmp(mode, "inherited")) {
		kill(getpid(), SIGUSR1); /* the program's own signals, which it must get */
		burn(200, 0);
		if (!raw || !strcmp(mode, "sigtimedwait"))
			print_pending(); /* raw: the drains alone */
		kill(getpid(), SIGPROF);
		if (!strcmp(mode, "sigwait"))
			drain_sigwait();
		else if (!strcmp(mode, "signalfd"))
			drain_signalfd();
		else
			drain_sigtimedwait();
	} else if (!strcmp(mode, "thread")) {
		pthread_t t;
		if (pthread_create(&t, NULL, thread_burn, NULL) != 0)
			return 2;
		pthread_join(t, NULL);
	} else if (!strcmp(mode, "fork")) {
		pid_t pid = fork();
		if (pid == 0) {
			burn(200, 0);
			print_pending();
			drain_sigtimedwait();
			fflush(stdout);
			_exit(4);
		}
		int st;
		waitpid(pid, &st, 0);
		printf("child exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	} else if (!strcmp(mode, "exec")) {
		fflush(stdout);
		execl("/proc/self/exe", argv[0], "inherited", (char *)NULL);
		return 2;
	} else {
		fprintf(stderr, "sigblock: unknown mode %s\n", mode);
		return 2;
	}
	return 5;
}
