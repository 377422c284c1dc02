/* The subcommands of the ipcprof command. Each returns the process exit status. */
#ifndef IPCPROF_COMMANDS_H
#define IPCPROF_COMMANDS_H

/* ipcprof record [options] -- program args...: argv[0] is "record". */
int ipcprof_cmd_record(int argc, char **argv);

/* ipcprof report [options] SESSION_DIR...: argv[0] is "report". Exit status: 0 when every record
 * was read, 1 when some were damaged (each named on stderr, the rest reported), 2 on failure. */
int ipcprof_cmd_report(int argc, char **argv);

/* ipcprof diff [options] BEFORE AFTER: argv[0] is "diff". Exit status: 0 when the comparison was
 * written, 1 when written with damaged records left out, 2 when not written. */
int ipcprof_cmd_diff(int argc, char **argv);

#endif
