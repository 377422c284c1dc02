/* ipcprof diff: reads two runs (session folders or report JSON files) and writes their comparison. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ipcprof/kernel.h>

#include "commands.h"
#include "cli.h"
#include "diff.h"
#include "report.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: ipcprof diff [OPTIONS] BEFORE AFTER\n"
	    "Compares two runs: wall time, the shares of the workers' time (compute, data\n"
	    "movement, waiting, ...), bytes per channel kind, the top findings and the processes\n"
	    "matched by role (main, the workers by command line and start order, helpers), each\n"
	    "figure with what changed, absolute and in percent.\n"
	    "\n"
	    "BEFORE and AFTER are each a session folder (its records are read, as by `ipcprof\n"
	    "report`) or a report's JSON file (ipcprof-report.json).\n"
	    "\n"
	    "Options:\n"
	    "  -f, --format FORMAT   text (the default), json (described by\n"
	    "                        ipcprof-diff.schema.json) or html (one self-contained page)\n"
	    "  -o, --output FILE     write to FILE (made 0600 under a fresh name, then renamed\n"
	    "                        into place) instead of stdout\n"
	    "  -r, --rules FILE      classification rules for session folders, as in `ipcprof\n"
	    "                        report --rules`; may be given more than once\n"
	    "  -h, --help            this help\n"
	    "  -V, --version         print the version\n"
	    "\n"
	    "Exit status: 0 when the comparison was written; 1 when it was written but a session\n"
	    "had damaged records (each named on stderr, left out of its run); 2 when it was not:\n"
	    "a bad option, BEFORE or AFTER missing or not a session or report, or FILE not\n"
	    "written.\n");
}

enum diff_format { FORMAT_TEXT, FORMAT_JSON, FORMAT_HTML };

/* The report of a session folder, built from its records as `ipcprof report` builds it. NULL
 * with err set when the folder gives none. */
static json_t *session_report(const char *dir, const struct ipcprof_rules *rules, int *damaged,
			      char *err, size_t errlen)
{
	struct ipcprof_model m;
	ipcprof_model_init(&m);
	char *sessions[1] = {(char *)dir};
	m.rules = rules;
	m.nsession = 1;
	m.session = sessions;
	json_t *j = NULL;
	if (ipcprof_session_load(&m, 0) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", dir, strerror(errno));
		goto out;
	}
	if (ipcprof_kernel_merge(&m, 0) < 0) {
		snprintf(err, errlen, "%s: out of memory", dir);
		goto out;
	}
	for (int d = 0; d < m.ndamage; d++)
		ipcprof_say(IPCPROF_SAY "%s %s: %s",
			    m.damage[d].unwritten ? "no record in" : "damaged record",
			    m.damage[d].file, m.damage[d].error);
	*damaged = m.ndamage;
	if (!m.nimg) {
		snprintf(err, errlen, "no readable *%s record or %s in %s: not a session folder",
			 IPCPROF_RECORD_SUFFIX, IPCPROF_KERNEL_FILE, dir);
		goto out;
	}
	if (ipcprof_model_build(&m) < 0) {
		snprintf(err, errlen, "%s: out of memory", dir);
		goto out;
	}
	j = ipcprof_report_json(&m);
	if (j && ipcprof_kernel_only_json(&m, j) < 0) {
		json_decref(j);
		j = NULL;
	}
	if (!j)
		snprintf(err, errlen, "%s: out of memory", dir);
out:
	m.session = NULL;
	ipcprof_model_free(&m);
	return j;
}

/* One side: a folder is a session, anything else a report's JSON. */
static json_t *read_side(const char *path, const struct ipcprof_rules *rules,
			 struct ipcprof_diff_side *side, char *err, size_t errlen)
{
	struct stat st;
	json_t *j = NULL;
	side->source = path;
	side->damaged = 0;
	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	char why[300];
	if (S_ISDIR(st.st_mode)) {
		side->input = "session";
		j = session_report(path, rules, &side->damaged, err, errlen);
	} else {
		side->input = "report";
		json_error_t je;
		j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
		if (!j) {
			snprintf(err, errlen,
				 "%s is neither a session folder nor a report's JSON: %s "
				 "(line %d)",
				 path, je.text, je.line);
			return NULL;
		}
	}
	if (j && ipcprof_diff_check(j, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		json_decref(j);
		j = NULL;
	}
	side->report = j;
	return j;
}

static int write_diff(FILE *f, const json_t *diff, enum diff_format fmt)
{
	switch (fmt) {
	case FORMAT_TEXT:
		return ipcprof_write_diff_text(diff, f);
	case FORMAT_JSON:
		return json_dumpf(diff, f, JSON_INDENT(1)) == 0 && fputc('\n', f) != EOF ? 0 : -1;
	case FORMAT_HTML:
		return ipcprof_write_diff_html(diff, f);
	}
	return -1;
}

/* Into FILE through the report's safe file making, or to stdout. */
static int write_output(const char *path, const json_t *diff, enum diff_format fmt)
{
	if (!path) {
		int rc = write_diff(stdout, diff, fmt);
		if (fflush(stdout) != 0 || rc < 0) {
			ipcprof_say(IPCPROF_SAY "cannot write to stdout: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	char *dcopy = strdup(path), *bcopy = strdup(path);
	int rc = -1;
	char err[512], tmp[512];
	struct ipcprof_outdir od = {.fd = -1};
	if (!dcopy || !bcopy) {
		ipcprof_say(IPCPROF_SAY "out of memory");
		goto out;
	}
	const char *dir = dirname(dcopy), *name = basename(bcopy);
	if (!*name || !strcmp(name, "/") || !strcmp(name, ".") || !strcmp(name, "..")) {
		ipcprof_say(IPCPROF_SAY "-o %s names no file", path);
		goto out;
	}
	if (ipcprof_outdir_open(&od, dir, true, err, sizeof(err)) < 0) {
		ipcprof_say(IPCPROF_SAY "%s", err);
		goto out;
	}
	FILE *f = ipcprof_out_begin(&od, name, tmp, sizeof(tmp));
	if (f)
		rc = ipcprof_out_end(&od, f, tmp, name, write_diff(f, diff, fmt));
	if (rc < 0)
		ipcprof_say(IPCPROF_SAY "cannot write %s: %s", path, strerror(errno));
out:
	ipcprof_outdir_close(&od);
	free(dcopy);
	free(bcopy);
	return rc;
}

int ipcprof_cmd_diff(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"format", required_argument, NULL, 'f'}, {"output", required_argument, NULL, 'o'},
	    {"rules", required_argument, NULL, 'r'},  {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
	};
	enum diff_format fmt = FORMAT_TEXT;
	const char *output = NULL;
	struct ipcprof_rules rules = {0};
	char err[1024];
	int c, status = 2;
	json_t *before = NULL, *after = NULL, *diff = NULL;
	int usage_rc = -1;
	optind = 0; /* another command may have run getopt before */
	opterr = 0;
	while (usage_rc < 0 && (c = getopt_long(argc, argv, ":f:o:r:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (!strcmp(optarg, "text"))
				fmt = FORMAT_TEXT;
			else if (!strcmp(optarg, "json"))
				fmt = FORMAT_JSON;
			else if (!strcmp(optarg, "html"))
				fmt = FORMAT_HTML;
			else
				usage_rc = ipcprof_usage_error(
				    "diff", "unknown format '%s' (text, json or html)", optarg);
			break;
		case 'o':
			output = optarg;
			break;
		case 'r':
			if (ipcprof_rules_load(&rules, optarg, err, sizeof(err)) < 0)
				usage_rc = ipcprof_usage_error("diff", "rules: %s", err);
			break;
		default: /* -h, -V and what getopt refused */
			usage_rc = ipcprof_common_option("diff", c, argv, optind, optopt, usage);
			break;
		}
	}
	if (usage_rc < 0 && argc - optind != 2)
		usage_rc =
		    ipcprof_usage_error("diff", "%s",
					argc - optind < 2 ? "wants two runs, BEFORE and AFTER"
							  : "compares two runs, not more");
	if (usage_rc >= 0) {
		status = usage_rc;
		goto out;
	}
	if (ipcprof_rules_finish(&rules, err, sizeof(err)) < 0) {
		ipcprof_say(IPCPROF_SAY "rules: %s", err);
		goto out;
	}
	struct ipcprof_diff_side sb, sa;
	if (!(before = read_side(argv[optind], &rules, &sb, err, sizeof(err))) ||
	    !(after = read_side(argv[optind + 1], &rules, &sa, err, sizeof(err)))) {
		ipcprof_say(IPCPROF_SAY "%s", err);
		goto out;
	}
	diff = ipcprof_diff_json(&sb, &sa);
	if (!diff) {
		ipcprof_say(IPCPROF_SAY "out of memory");
		goto out;
	}
	if (write_output(output, diff, fmt) == 0)
		status = sb.damaged || sa.damaged ? 1 : 0;
out:
	json_decref(before);
	json_decref(after);
	json_decref(diff);
	ipcprof_rules_free(&rules);
	return status;
}
