/* ipcprof diff: two reports compared (diff.c) and the comparison written out (out_diff_*.c). */
#ifndef IPCPROF_DIFF_H
#define IPCPROF_DIFF_H

#include <stddef.h>
#include <stdio.h>

struct json_t;

/* How many findings of each side the comparison lists (by weight, the report's order). */
#define IPCPROF_DIFF_FINDINGS 5

/* Checks that rep holds what a comparison reads of a report (ipcprof-report.schema.json:
 * format, run, its worker time and bytes by kind, processes, findings). Returns 0, or -1 with
 * err saying what is missing. */
int ipcprof_diff_check(const struct json_t *rep, char *err, size_t errlen);

/* One side of a comparison: a report and where it came from. */
struct ipcprof_diff_side {
	const struct json_t *report; /* checked with ipcprof_diff_check */
	const char *source;          /* the path given */
	const char *input; /* "session" (built from its records) or "report" (a JSON file) */
	int damaged;       /* damaged records in the session */
};

/* The comparison of before and after (ipcprof-diff.schema.json), or NULL when out of memory. */
struct json_t *ipcprof_diff_json(const struct ipcprof_diff_side *before,
				 const struct ipcprof_diff_side *after);

/* How a figure of the comparison reads (diff_fmt.c, shared by the text and the HTML). */
enum ipcprof_diff_unit {
	IPCPROF_DIFF_NS,          /* "35.1 ms" */
	IPCPROF_DIFF_BYTES,       /* "12.8 MB" */
	IPCPROF_DIFF_EXACT_BYTES, /* "12,800,576" */
	IPCPROF_DIFF_COUNT,       /* "5" */
	IPCPROF_DIFF_SHARE,       /* "83.7%"; its change in percentage points */
	IPCPROF_DIFF_RATIO,       /* "0.10" */
	IPCPROF_DIFF_SECONDS,     /* "0.090 s", a real number of seconds */
};
/* A figure's value ("-" for null). */
void ipcprof_diff_fmt_value(const struct json_t *v, enum ipcprof_diff_unit u, char *out,
			    size_t outlen);
/* The figure of one side ("before" or "after") of a delta, marked "?" where unknown (an
 * "unknown" object of the comparison, or NULL) says the run's report could not tell it. */
void ipcprof_diff_fmt_side(const struct json_t *delta, const char *side,
			   const struct json_t *unknown, enum ipcprof_diff_unit u, char *out,
			   size_t outlen);
/* A delta's change (from ipcprof_diff_json): "-28.1 ms (-80.0%)", "+1.60 MB (new)", "=" for
 * none, "-" where a side lacks the figure. */
void ipcprof_diff_fmt_change(const struct json_t *delta, enum ipcprof_diff_unit u, char *out,
			     size_t outlen);

/* The rows of the run's table: the member of the comparison's "run", its label and unit. */
struct ipcprof_diff_row {
	const char *key, *label;
	enum ipcprof_diff_unit unit;
};
extern const struct ipcprof_diff_row ipcprof_diff_run_rows[];
extern const size_t ipcprof_diff_nrun_rows;

/* The comparison as text for a terminal, and as one self-contained HTML page. Return 0 or -1. */
int ipcprof_write_diff_text(const struct json_t *diff, FILE *f);
int ipcprof_write_diff_html(const struct json_t *diff, FILE *f);

#endif
