/* ipcprof report: reads the records of session folders and writes the JSON, HTML and summary. */
#include <errno.h>
#include <stdio.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ipcprof/kernel.h>

#include "commands.h"
#include "report.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: ipcprof report [OPTIONS] SESSION_DIR...\n"
	    "Reads every *.ipcrec record in the session folders (several folders merge into one\n"
	    "report, e.g. one job on several hosts) and writes:\n"
	    "  ipcprof-report.json   every figure, described by ipcprof-report.schema.json\n"
	    "  ipcprof-report.html   the same as one self-contained page (no network access)\n"
	    "  a summary on stderr   per process and per channel\n"
	    "\n"
	    "Options:\n"
	    "  -o, --output DIR      write the files into DIR (default: the first session folder)\n"
	    "  -f, --format perfetto also write ipcprof-trace.json, the timeline as Chrome trace\n"
	    "                        events for ui.perfetto.dev or chrome://tracing\n"
	    "  -f, --format folded   also write ipcprof-folded.txt, the CPU samples as folded\n"
	    "                        stacks for flamegraph.pl or speedscope (formats combine:\n"
	    "                        --format perfetto,folded)\n"
	    "  -r, --rules FILE      classification rules tried before the built-in ones (lines\n"
	    "                        '<category> <any|leaf> <module-glob> <symbol-glob>'; see\n"
	    "                        categories.rules); may be given more than once\n"
	    "  -q, --quiet           no summary on stderr\n"
	    "  --interpreter-frames  keep the Python interpreter's own C frames in the stacks of\n"
	    "                        Python processes (folded output, call sites; left out by\n"
	    "                        default, where the Python frames tell the story)\n"
	    "  -h, --help            this help\n"
	    "\n"
	    "The files are new each time (mode 0600, like the records), made under a fresh name\n"
	    "and renamed into place: a link lying in the folder is never written through. A\n"
	    "session folder that belongs to another user (root reporting a user's session) is\n"
	    "not written into: ipcprof says so and writes nothing; -o DIR names the folder for\n"
	    "the files, and is used whoever owns it.\n"
	    "\n"
	    "Exit status: 0 when every record was read, 1 when some were damaged (each is named\n"
	    "on stderr; the others are reported), 2 when no report could be written.\n"
	    "\n"
	    "A folder with the eBPF probes' kernel.ipckrn and no record (ipcprof record\n"
	    "--no-preload) is reported from the kernel's figures alone: channels unpaired, per\n"
	    "process and fd kind; no fingerprints, call sites or timeline.\n");
}

/* What goes into one of the report's files. */
enum out_kind { OUT_JSON, OUT_HTML, OUT_TRACE, OUT_FOLDED };

/* Writes one file of the report into the checked folder; says so on stderr when it cannot. */
static int write_out(const struct ipcprof_outdir *d, const char *name, enum out_kind kind,
		     const char *text, size_t len, const struct ipcprof_model *m)
{
	char tmp[256];
	FILE *f = ipcprof_out_begin(d, name, tmp, sizeof(tmp));
	int rc = -1;
	if (f) {
		switch (kind) {
		case OUT_JSON:
			rc = fwrite(text, 1, len, f) == len && fputc('\n', f) != EOF ? 0 : -1;
			break;
		case OUT_HTML:
			rc = ipcprof_write_html(text, len, f);
			break;
		case OUT_TRACE:
			rc = ipcprof_write_trace(m, f);
			break;
		case OUT_FOLDED:
			rc = ipcprof_write_folded(m, f);
			break;
		}
		rc = ipcprof_out_end(d, f, tmp, name, rc);
	}
	if (rc < 0)
		ipcprof_say("ipcprof report: cannot write %s/%s: %s", d->path, name,
			    strerror(errno));
	return rc;
}

int ipcprof_cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"format", required_argument, NULL, 'f'},
	    {"rules", required_argument, NULL, 'r'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {"interpreter-frames", no_argument, NULL, 'I'},
	    {NULL, 0, NULL, 0},
	};
	const char *outdir = NULL;
	bool perfetto = false, folded = false, quiet = false, interp_frames = false;
	struct ipcprof_rules rules = {0};
	char err[512];
	int c;
	optind = 0; /* another command may have run getopt before */
	while ((c = getopt_long(argc, argv, "+o:f:r:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (ipcprof_rules_load(&rules, optarg, err, sizeof(err)) < 0) {
				ipcprof_say("ipcprof report: rules: %s", err);
				ipcprof_rules_free(&rules);
				return 2;
			}
			break;
		case 'o':
			outdir = optarg;
			break;
		case 'f': {
			char *list = strdup(optarg);
			char *save = NULL;
			for (char *t = list ? strtok_r(list, ",", &save) : NULL; t;
			     t = strtok_r(NULL, ",", &save)) {
				bool all = !strcmp(t, "all");
				if (all || !strcmp(t, "perfetto") || !strcmp(t, "chrome")) {
					perfetto = true;
					folded |= all;
				} else if (!strcmp(t, "folded")) {
					folded = true;
				} else if (strcmp(t, "json") && strcmp(t, "html") &&
					   strcmp(t, "text")) {
					fprintf(
					    stderr,
					    "ipcprof report: unknown format '%s' (json, html and "
					    "text are always written; perfetto adds the trace, "
					    "folded the CPU samples' stacks)",
					    t);
					free(list);
					ipcprof_rules_free(&rules);
					return 2;
				}
			}
			free(list);
			break;
		}
		case 'q':
			quiet = true;
			break;
		case 'I':
			interp_frames = true;
			break;
		case 'h':
			ipcprof_rules_free(&rules);
			usage(stdout);
			return 0;
		default:
			ipcprof_rules_free(&rules);
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "ipcprof report: no session folder given\n");
		usage(stderr);
		ipcprof_rules_free(&rules);
		return 2;
	}
	if (ipcprof_rules_finish(&rules, err, sizeof(err)) < 0) {
		ipcprof_say("ipcprof report: rules: %s", err);
		ipcprof_rules_free(&rules);
		return 2;
	}
	struct ipcprof_model m;
	ipcprof_model_init(&m);
	m.rules = &rules;
	m.interp_frames = interp_frames;
	m.nsession = argc - optind;
	m.session = argv + optind;
	int status = 0;
	for (int s = 0; s < m.nsession; s++) {
		if (ipcprof_session_load(&m, s) < 0) {
			ipcprof_say("ipcprof report: cannot read %s: %s", m.session[s],
				    strerror(errno));
			status = 2;
		}
		ipcprof_kernel_merge(&m, s);
	}
	for (int d = 0; d < m.ndamage; d++) {
		ipcprof_say("ipcprof report: %s %s: %s",
			    m.damage[d].unwritten ? "no record in" : "damaged record",
			    m.damage[d].file, m.damage[d].error);
	}
	if (status == 2)
		goto out;
	if (!m.nimg) {
		ipcprof_say("ipcprof report: no readable *%s record or %s in %s%s",
			    IPCPROF_RECORD_SUFFIX, IPCPROF_KERNEL_FILE, m.session[0],
			    m.nsession > 1 ? " and the others" : "");
		status = 2;
		goto out;
	}
	if (ipcprof_model_build(&m) < 0) {
		fprintf(stderr, "ipcprof report: out of memory\n");
		status = 2;
		goto out;
	}
	struct ipcprof_outdir od;
	if (ipcprof_outdir_open(&od, outdir ? outdir : m.session[0], outdir != NULL, err,
				sizeof(err)) < 0) {
		ipcprof_say("ipcprof report: %s", err);
		status = 2;
		goto out;
	}
	json_t *j = ipcprof_report_json(&m);
	if (j && ipcprof_kernel_only_json(&m, j) < 0) {
		json_decref(j);
		j = NULL;
	}
	size_t len = 0;
	char *text = j ? ipcprof_json_text(j, &len) : NULL;
	if (!j || !text) {
		fprintf(stderr, "ipcprof report: out of memory\n");
		status = 2;
	} else if (write_out(&od, "ipcprof-report.json", OUT_JSON, text, len, &m) < 0 ||
		   write_out(&od, "ipcprof-report.html", OUT_HTML, text, len, &m) < 0 ||
		   (perfetto && write_out(&od, "ipcprof-trace.json", OUT_TRACE, NULL, 0, &m) < 0) ||
		   (folded && write_out(&od, "ipcprof-folded.txt", OUT_FOLDED, NULL, 0, &m) < 0)) {
		status = 2;
	}
	if (status != 2) {
		if (!quiet)
			ipcprof_write_summary(&m, stderr);
		fputc('\n', stderr);
		ipcprof_say("ipcprof: report: %s/ipcprof-report.html", od.path);
		if (perfetto)
			ipcprof_say(
			    "ipcprof: trace (open in ui.perfetto.dev): %s/ipcprof-trace.json",
			    od.path);
		if (folded)
			ipcprof_say("ipcprof: CPU stacks (flamegraph.pl or speedscope): "
				    "%s/ipcprof-folded.txt (%zu stacks)",
				    od.path, m.npstack);
		if (m.ndamage)
			status = 1;
	}
	json_decref(j);
	free(text);
	ipcprof_outdir_close(&od);
out:
	m.session = NULL;
	ipcprof_model_free(&m);
	ipcprof_rules_free(&rules);
	return status;
}
