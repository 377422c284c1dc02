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

#include "cli.h"
#include "commands.h"
#include "gates.h"
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
	    "Options may come before or after the folders; a folder named with a leading '-'\n"
	    "goes after '--'.\n"
	    "\n"
	    "Options:\n"
	    "  -o, --output DIR      write the files into DIR (default: the first session folder)\n"
	    "  -f, --format perfetto also write ipcprof-trace.json, the timeline as Chrome trace\n"
	    "                        events for ui.perfetto.dev or chrome://tracing\n"
	    "  -f, --format folded   also write ipcprof-folded.txt, the CPU samples as folded\n"
	    "                        stacks for flamegraph.pl or speedscope, each weighted by\n"
	    "                        its CPU time in microseconds (formats combine:\n"
	    "                        --format perfetto,folded)\n"
	    "  -r, --rules FILE      classification rules tried before the built-in ones (lines\n"
	    "                        '<category> <any|leaf> <module-glob> <symbol-glob>'; see\n"
	    "                        categories.rules); may be given more than once\n"
	    "      --fail-if EXPR    exit 3 when EXPR holds for the run (a CI gate; may be given\n"
	    "                        more than once: any one crossed fails); see Gates below\n"
	    "  -q, --quiet           no summary on stderr (nor the gates that held)\n"
	    "  --interpreter-frames  keep the Python interpreter's own C frames in the stacks of\n"
	    "                        Python processes (folded output, call sites; left out by\n"
	    "                        default, where the Python frames tell the story)\n"
	    "  -h, --help            this help\n"
	    "  -V, --version         print the version\n"
	    "\n"
	    "The files are new each time (mode 0600, like the records), made under a fresh name\n"
	    "and renamed into place: a link lying in the folder is never written through. A\n"
	    "session folder that belongs to another user (root reporting a user's session) is\n"
	    "not written into: ipcprof says so and writes nothing; -o DIR names the folder for\n"
	    "the files, and is used whoever owns it.\n"
	    "\n"
	    "Gates: EXPR is FIGURE OP NUMBER (OP: >, >=, <, <=, ==, !=) or 'finding KIND'.\n"
	    "Figures, named as in ipcprof-report.json:\n"
	    "  data_movement, compute, ipc_transfer, ipc_wait, ipc_idle, serialization,\n"
	    "  serialize, deserialize, copy, sync_wait, other\n"
	    "                        run.worker_time.shares: fractions of the workers' time\n"
	    "                        (0.5 or 50%%)\n"
	    "  bytes, bytes.KIND     bytes sent through channels (run.bytes_by_kind; KIND: pipe,\n"
	    "                        unix_stream, tcp, ...), with K, M, G, T (powers of 1000) or\n"
	    "                        Ki, Mi, Gi (of 1024): bytes > 100M\n"
	    "  shared_memory_bytes   run.shared_memory_bytes, the same suffixes\n"
	    "  wall                  run.wall_ns, in seconds (or with ms, us, min): wall > 90\n"
	    "  processes, workers    run.processes, run.workers\n"
	    "  finding KIND          a finding of that kind is in the report (findings[].kind:\n"
	    "                        repeated_payload, small_messages, low_compute_ratio,\n"
	    "                        slow_reader, incomplete, serialization, io_uring,\n"
	    "                        kernel_gap, shared_memory, shared_segments, copied_data;\n"
	    "                        any: any finding)\n"
	    "The report is written whatever the gates say; each crossed gate is named on stderr\n"
	    "with the figure. A share the report has no figure for (null) fails its gate. In a\n"
	    "GitHub Actions job:\n"
	    "  - run: ipcprof record -o prof --fail-if 'data_movement > 0.5' -- python3 job.py\n"
	    "  - run: ipcprof report --fail-if 'bytes > 1G' --fail-if 'finding repeated_payload' "
	    "prof\n"
	    "\n"
	    "Exit status: 0 when every record was read, 1 when some were damaged (each is named\n"
	    "on stderr; the others are reported), 2 when the command line is wrong or no report\n"
	    "could be written, 3 when a --fail-if gate was crossed (the report is written).\n"
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
		ipcprof_say(IPCPROF_SAY "cannot write %s/%s: %s", d->path, name, strerror(errno));
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
	    {"fail-if", required_argument, NULL, 'F'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *outdir = NULL;
	bool quiet = false, interp_frames = false;
	unsigned formats = 0;
	struct ipcprof_rules rules = {0};
	struct ipcprof_gates gates = {0};
	char err[1024];
	int c, usage_rc = -1;
	optind = 0; /* another command may have run getopt before */
	opterr = 0;
	while (usage_rc < 0 && (c = getopt_long(argc, argv, ":o:f:r:qhV", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (ipcprof_rules_load(&rules, optarg, err, sizeof(err)) < 0)
				usage_rc = ipcprof_usage_error("report", "rules: %s", err);
			break;
		case 'F':
			if (ipcprof_gate_add(&gates, optarg, err, sizeof(err)) < 0)
				usage_rc = ipcprof_usage_error("report", "%s", err);
			break;
		case 'o':
			outdir = optarg;
			break;
		case 'f':
			if (ipcprof_formats_parse(optarg, &formats, err, sizeof(err)) < 0)
				usage_rc = ipcprof_usage_error("report", "%s", err);
			break;
		case 'q':
			quiet = true;
			break;
		case 'I':
			interp_frames = true;
			break;
		default: /* -h, -V and what getopt refused */
			usage_rc = ipcprof_common_option("report", c, argv, optind, optopt, usage);
			break;
		}
	}
	if (usage_rc < 0 && optind >= argc)
		usage_rc = ipcprof_usage_error("report", "no session folder given");
	if (usage_rc < 0 && ipcprof_rules_finish(&rules, err, sizeof(err)) < 0)
		usage_rc = ipcprof_usage_error("report", "rules: %s", err);
	if (usage_rc >= 0) {
		ipcprof_rules_free(&rules);
		ipcprof_gates_free(&gates);
		return usage_rc;
	}
	bool perfetto = formats & IPCPROF_FORMAT_TRACE, folded = formats & IPCPROF_FORMAT_FOLDED;
	struct ipcprof_model m;
	ipcprof_model_init(&m);
	m.rules = &rules;
	m.interp_frames = interp_frames;
	m.nsession = argc - optind;
	m.session = argv + optind;
	int status = 0;
	for (int s = 0; s < m.nsession; s++) {
		if (ipcprof_session_load(&m, s) < 0) {
			ipcprof_say(IPCPROF_SAY "cannot read %s: %s", m.session[s],
				    strerror(errno));
			status = 2;
		}
		ipcprof_kernel_merge(&m, s);
	}
	for (int d = 0; d < m.ndamage; d++) {
		ipcprof_say(IPCPROF_SAY "%s %s: %s",
			    m.damage[d].unwritten ? "no record in" : "damaged record",
			    m.damage[d].file, m.damage[d].error);
	}
	if (status == 2)
		goto out;
	if (!m.nimg) {
		ipcprof_say(IPCPROF_SAY "no readable *%s record or %s in %s%s",
			    IPCPROF_RECORD_SUFFIX, IPCPROF_KERNEL_FILE, m.session[0],
			    m.nsession > 1 ? " and the others" : "");
		status = 2;
		goto out;
	}
	if (ipcprof_model_build(&m) < 0) {
		ipcprof_say(IPCPROF_SAY "out of memory");
		status = 2;
		goto out;
	}
	struct ipcprof_outdir od;
	if (ipcprof_outdir_open(&od, outdir ? outdir : m.session[0], outdir != NULL, err,
				sizeof(err)) < 0) {
		ipcprof_say(IPCPROF_SAY "%s", err);
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
		ipcprof_say(IPCPROF_SAY "out of memory");
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
		ipcprof_say(IPCPROF_SAY "report: %s/ipcprof-report.html", od.path);
		if (perfetto)
			ipcprof_say(IPCPROF_SAY
				    "trace (open in ui.perfetto.dev): %s/ipcprof-trace.json",
				    od.path);
		if (folded)
			ipcprof_say(IPCPROF_SAY "CPU stacks (flamegraph.pl or speedscope): "
						"%s/ipcprof-folded.txt (%zu stacks)",
				    od.path, m.npstack);
		if (m.ndamage)
			status = 1;
		if (ipcprof_gates_check(&gates, j, quiet) > 0)
			status = IPCPROF_EXIT_GATE;
	}
	json_decref(j);
	free(text);
	ipcprof_outdir_close(&od);
out:
	m.session = NULL;
	ipcprof_model_free(&m);
	ipcprof_rules_free(&rules);
	ipcprof_gates_free(&gates);
	return status;
}
