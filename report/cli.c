/* The conventions every ipcprof command shares: one-line usage errors, --version, --format. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ipcprof_config.h"
#include "report.h"

int ipcprof_usage_error(const char *cmd, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ipcprof_say(IPCPROF_SAY "%s (try 'ipcprof%s%s --help')", msg, cmd ? " " : "",
		    cmd ? cmd : "");
	return IPCPROF_EXIT_USAGE;
}

int ipcprof_bad_option(const char *cmd, int c, char **argv, int optind, int optopt)
{
	/* getopt's own messages are off (opterr = 0): they would start with argv[0], "record". */
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	if (c == ':') {
		if (optopt && strncmp(arg, "--", 2))
			return ipcprof_usage_error(cmd, "option '-%c' wants an argument", optopt);
		return ipcprof_usage_error(cmd, "option '%s' wants an argument", arg);
	}
	/* An unknown letter inside a cluster ("-qx") leaves optind on the cluster. */
	if (optopt && strncmp(arg, "--", 2))
		return ipcprof_usage_error(cmd, "unknown option '-%c'", optopt);
	return ipcprof_usage_error(cmd, "unknown option '%s'", arg);
}

int ipcprof_print_version(void)
{
	printf("ipcprof %s\n", IPCPROF_VERSION);
	return 0;
}

int ipcprof_common_option(const char *cmd, int c, char **argv, int optind, int optopt,
			  void (*usage)(FILE *))
{
	if (c == 'h') {
		usage(stdout);
		return 0;
	}
	if (c == 'V')
		return ipcprof_print_version();
	return ipcprof_bad_option(cmd, c, argv, optind, optopt);
}

int ipcprof_formats_parse(const char *list, unsigned *formats, char *err, size_t errlen)
{
	char *copy = strdup(list);
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = 0;
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strcmp(t, "all")) {
			*formats |= IPCPROF_FORMAT_TRACE | IPCPROF_FORMAT_FOLDED;
		} else if (!strcmp(t, "perfetto") || !strcmp(t, "chrome")) {
			*formats |= IPCPROF_FORMAT_TRACE;
		} else if (!strcmp(t, "folded")) {
			*formats |= IPCPROF_FORMAT_FOLDED;
		} else if (strcmp(t, "json") && strcmp(t, "html") && strcmp(t, "text")) {
			snprintf(
			    err, errlen,
			    "unknown format '%s' (json, html and text are always written; "
			    "perfetto adds the trace, folded the CPU samples' stacks, all both)",
			    t);
			rc = -1;
			break;
		}
	}
	free(copy);
	return rc;
}
