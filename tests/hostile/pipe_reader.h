/* The hostile test programs' reading end: a forked child that reads a pipe to its end. */
#ifndef HOSTILE_PIPE_READER_H
#define HOSTILE_PIPE_READER_H

#include <sys/types.h>

/* Forks a child that reads a new pipe until it ends, prints "child read N" and exits 0; the
 * pipe's write end goes to *wfd. Returns the child's pid, or -1. */
pid_t hostile_reader_start(int *wfd);
/* Closes wfd and waits for the reader: 0 when it exited 0, -1 otherwise. */
int hostile_reader_finish(pid_t reader, int wfd);

#endif
