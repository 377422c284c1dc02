/* The ipcprof command: dispatches to record, report and diff. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "ipcprof_config.h"
#include "report.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: ipcprof COMMAND [OPTIONS]\n"
	    "Shows how much of a multiprocess program's time goes to moving data between\n"
	    "its processes (pipes, unix sockets, loopback TCP/UDP, shared memory).\n"
	    "\n"
	    "Commands:\n"
	    "  record [-o DIR] -- PROGRAM [ARGS...]   run PROGRAM under the profiler, then report\n"
	    "  report [OPTIONS] SESSION_DIR...       build the report of recorded sessions\n"
	    "  diff [OPTIONS] BEFORE AFTER           compare two sessions (or their reports)\n"
	    "\n"
	    "Options:\n"
	    "  -h, --help      this help; `ipcprof COMMAND --help` for a command's options\n"
	    "  -V, --version   print the version\n"
	    "\n"
	    "Without the command, LD_PRELOAD=libipcprof.so PROGRAM records the same way.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("ipcprof %s\n", IPCPROF_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "record"))
		return ipcprof_cmd_record(argc - 1, argv + 1);
	if (!strcmp(cmd, "report"))
		return ipcprof_cmd_report(argc - 1, argv + 1);
	if (!strcmp(cmd, "diff"))
		return ipcprof_cmd_diff(argc - 1, argv + 1);
	ipcprof_say("ipcprof: unknown command '%s' (try ipcprof --help)", cmd);
	return 2;
}
