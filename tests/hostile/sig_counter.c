/* Counts the SIGINTs and SIGTERMs it receives, for the tests of signals passed on by ipcprof record. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t ints, terms;

static void count(int sig)
{
	if (sig == SIGINT)
		ints++;
	else
		terms++;
}

/* "self": sends SIGINT to its own process group, as a program stopping its helpers does. Then
 * waits for the first signal, and 500 ms more for a second copy of it. */
int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = count};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	printf("ready\n");
	fflush(stdout);
	if (argc > 1 && !strcmp(argv[1], "self"))
		kill(0, SIGINT);
	for (int i = 0; i < 3000 && !ints && !terms; i++)
		usleep(10000);
	struct timespec rest = {0, 500000000};
	while (nanosleep(&rest, &rest) != 0)
		;
	printf("SIGINT %d SIGTERM %d\n", (int)ints, (int)terms);
	return 0;
}
