/* What every ipcprof command does alike: its messages' prefix, bad options, --version, formats. */
#ifndef IPCPROF_CLI_H
#define IPCPROF_CLI_H

#include <stddef.h>
#include <stdio.h>

/* Every message of the command starts with this; the preload's, from inside the profiled
 * processes, with "ipcprof[PID]: " instead. */
#define IPCPROF_SAY "ipcprof: "

/* The exit status of every command whose command line is wrong: nothing was run or written. */
#define IPCPROF_EXIT_USAGE 2
/* ipcprof report (and record, when the program's own status is 0): a --fail-if gate was crossed. */
#define IPCPROF_EXIT_GATE  3

/* Says why the command line of `ipcprof CMD` (cmd: "record", NULL for the bare command) is wrong,
 * on one line with where help is, and returns IPCPROF_EXIT_USAGE. */
int ipcprof_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The same for what getopt_long returned ('?' or ':') at argv[optind - 1]. */
int ipcprof_bad_option(const char *cmd, int c, char **argv, int optind, int optopt);
/* Prints "ipcprof VERSION" on stdout; returns 0. */
int ipcprof_print_version(void);
/* What every command does with -h, -V and what getopt_long refused, as c (getopt's answer): the
 * help (usage on stdout) and the version exit 0, the rest is a usage error. */
int ipcprof_common_option(const char *cmd, int c, char **argv, int optind, int optopt,
			  void (*usage)(FILE *));

/* The report's optional files, as -f/--format names them. */
enum { IPCPROF_FORMAT_TRACE = 1, IPCPROF_FORMAT_FOLDED = 2 };
/* Parses a --format list ("perfetto,folded") into a mask of IPCPROF_FORMAT_*. Returns 0, or -1
 * with err naming the format it does not know and the ones it does. */
int ipcprof_formats_parse(const char *list, unsigned *formats, char *err, size_t errlen);

#endif
