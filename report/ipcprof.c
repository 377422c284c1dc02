/* The ipcprof command: dispatches to record, report and diff. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
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
	    "Without the command, LD_PRELOAD=libipcprof.so PROGRAM records the same way.\n"
	    "\n"
	    "Every message starts with 'ipcprof: ' (the preload's, from inside the profiled\n"
	    "processes, with 'ipcprof[PID]: '). Exit status: each command's (see its --help);\n"
	    "2 when the command line is wrong, as in every command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return ipcprof_usage_error(NULL, "no command given");
	const char *cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version"))
		return ipcprof_print_version();
	if (!strcmp(cmd, "record"))
		return ipcprof_cmd_record(argc - 1, argv + 1);
	if (!strcmp(cmd, "report"))
		return ipcprof_cmd_report(argc - 1, argv + 1);
	if (!strcmp(cmd, "diff"))
		return ipcprof_cmd_diff(argc - 1, argv + 1);
	return ipcprof_usage_error(NULL, "unknown %s '%s'", cmd[0] == '-' ? "option" : "command",
				   cmd);
}
