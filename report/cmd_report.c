/* ipcprof report: not written yet; the reporter replaces this file. */
#include <stdio.h>

#include "commands.h"

int ipcprof_cmd_report(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "ipcprof report: the reporter is not built yet; the records stay in the session folder\n");
	return 2;
}
