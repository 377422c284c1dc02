/* ipcprof record: not written yet. */
#include <stdio.h>

#include "commands.h"

int ipcprof_cmd_record(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "ipcprof record: not built yet\n");
	return 2;
}
