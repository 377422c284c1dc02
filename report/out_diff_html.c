/* ipcprof diff as one self-contained HTML page: tables drawn here, no script; the data embedded. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "report.h"

static const char page_head[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src "
    "'unsafe-inline'\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>ipcprof diff</title>\n<style>\n"
    ":root { --compute: #4e79a7; --transfer: #f28e2b; --wait: #e15759; --idle: #a0cbe8; "
    "--other: #c9c3bf; --sync: #76b7b2; --serialize: #edc948; --copy: #b6813f; --fg: #1d2433; "
    "--muted: #5c6577; --line: #dde1e8; --bg: #fafbfc; }\n"
    "body { font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); "
    "margin: 0 auto; padding: 0 24px 48px; max-width: 1400px; }\n"
    "h1 { font-size: 20px; margin: 20px 0 8px; }\n"
    "h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); "
    "padding-bottom: 4px; }\n"
    "table { border-collapse: collapse; background: #fff; font-size: 13px; }\n"
    "th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; "
    "vertical-align: top; }\n"
    "th { background: #eef1f5; }\n"
    "td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: "
    "nowrap; }\n"
    "td.sub { padding-left: 24px; }\n"
    ".verdict { font-size: 16px; font-weight: 600; }\n"
    ".muted, .note { color: var(--muted); }\n"
    ".bar { display: flex; height: 16px; width: 480px; background: #eee; border-radius: 2px; "
    "overflow: hidden; }\n"
    ".bar span { display: block; height: 100%; }\n"
    ".c-ipc_transfer { background: var(--transfer); } .c-ipc_wait { background: var(--wait); }\n"
    ".c-serialization { background: var(--serialize); } .c-copy { background: var(--copy); }\n"
    ".c-compute { background: var(--compute); } .c-ipc_idle { background: var(--idle); }\n"
    ".c-sync_wait { background: var(--sync); } .c-other { background: var(--other); }\n"
    ".key span { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 12px; }\n"
    "</style>\n</head>\n<body>\n";

/* Text of the program or its user, as HTML text or attribute value. */
static void esc(FILE *f, const char *s)
{
	static const char special[] = "&<>\"'";
	static const char *const entity[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
	for (; s && *s; s++) {
		const char *at = strchr(special, *s);
		if (at)
			fputs(entity[at - special], f);
		else
			fputc(*s, f);
	}
}

static const char *str(const json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));
	return s ? s : "";
}

/* A change, its direction a class for tools (not a colour: whether less is better depends on the
 * figure). */
static void change_cell(FILE *f, const json_t *d, enum ipcprof_diff_unit u)
{
	char c[96];
	ipcprof_diff_fmt_change(d, u, c, sizeof(c));
	double x = json_number_value(json_object_get(d, "change"));
	fprintf(f, "<td class=\"num%s\">", x < 0 ? " down" : x > 0 ? " up" : "");
	esc(f, c);
	fputs("</td>", f);
}

static void value_cell(FILE *f, const json_t *v, enum ipcprof_diff_unit u)
{
	char t[64];
	ipcprof_diff_fmt_value(v, u, t, sizeof(t));
	fputs("<td class=\"num\">", f);
	esc(f, t);
	fputs("</td>", f);
}

/* Before, after and change of a delta; unknown (or NULL) marks what a report could not tell. */
static void delta_cells_marked(FILE *f, const json_t *d, const json_t *unknown,
			       enum ipcprof_diff_unit u)
{
	static const char *const sides[] = {"before", "after"};
	for (int s = 0; s < 2; s++) {
		char t[64];
		ipcprof_diff_fmt_side(d, sides[s], unknown, u, t, sizeof(t));
		fputs("<td class=\"num\">", f);
		esc(f, t);
		fputs("</td>", f);
	}
	change_cell(f, d, u);
}

static void delta_cells(FILE *f, const json_t *d, enum ipcprof_diff_unit u)
{
	delta_cells_marked(f, d, NULL, u);
}

/* A label; two leading spaces make it a part of the row above. */
static void label_cell(FILE *f, const char *label)
{
	bool sub = !strncmp(label, "  ", 2);
	fputs(sub ? "<td class=\"sub\">" : "<td>", f);
	esc(f, sub ? label + 2 : label);
	fputs("</td>", f);
}

static void sides(FILE *f, const json_t *diff)
{
	static const char *const names[] = {"before", "after"};
	fputs("<table>\n<tr><th></th><th>run</th><th>verdict</th></tr>\n", f);
	for (int s = 0; s < 2; s++) {
		const json_t *side = json_object_get(diff, names[s]);
		fprintf(f, "<tr><th>%s</th><td><code>", names[s]);
		esc(f, str(side, "source"));
		fprintf(f, "</code><br><span class=\"muted\">%s",
			!strcmp(str(side, "input"), "session") ? "session folder" : "report JSON");
		long long dmg = json_integer_value(json_object_get(side, "damaged_records"));
		if (dmg > 0)
			fprintf(f, ", %lld damaged record%s left out", dmg, dmg == 1 ? "" : "s");
		fputs("</span></td><td class=\"verdict\">", f);
		esc(f, str(side, "verdict"));
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
	const json_t *notes = json_object_get(diff, "notes");
	if (json_array_size(notes)) {
		fputs("<ul class=\"note\">\n", f);
		size_t i;
		json_t *n;
		json_array_foreach(notes, i, n)
		{
			fputs("<li>", f);
			esc(f, json_string_value(n));
			fputs("</li>\n", f);
		}
		fputs("</ul>\n", f);
	}
}

static void run_table(FILE *f, const json_t *diff)
{
	const json_t *run = json_object_get(diff, "run");
	fputs("<h2>Run</h2>\n<table>\n<tr><th></th><th class=\"num\">before</th><th "
	      "class=\"num\">after</th><th class=\"num\">change</th></tr>\n",
	      f);
	for (size_t i = 0; i < ipcprof_diff_nrun_rows; i++) {
		fputs("<tr>", f);
		label_cell(f, ipcprof_diff_run_rows[i].label);
		delta_cells(f, json_object_get(run, ipcprof_diff_run_rows[i].key),
			    ipcprof_diff_run_rows[i].unit);
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
}

/* The parts of the time that add up to its whole (data movement is the sum of some of them). */
static bool in_bar(const json_t *part)
{
	return strcmp(str(part, "part"), "data_movement") != 0;
}

static void time_bar(FILE *f, const json_t *parts, const char *side)
{
	fputs("<div class=\"bar\">", f);
	size_t i;
	json_t *p;
	json_array_foreach(parts, i, p)
	{
		const json_t *v = json_object_get(json_object_get(p, "share"), side);
		if (!in_bar(p) || !json_is_number(v) || json_number_value(v) <= 0)
			continue;
		fprintf(f, "<span class=\"c-%s\" style=\"width:%.2f%%\" title=\"", str(p, "part"),
			100.0 * json_number_value(v));
		esc(f, str(p, "label") + strspn(str(p, "label"), " "));
		fprintf(f, " %.1f%%\"></span>", 100.0 * json_number_value(v));
	}
	fputs("</div>", f);
}

static void time_table(FILE *f, const json_t *diff)
{
	const json_t *t = json_object_get(diff, "time");
	const json_t *parts = json_object_get(t, "parts");
	bool workers =
	    !strcmp(str(t, "before_basis"), "workers") && !strcmp(str(t, "after_basis"), "workers");
	fprintf(f, "<h2>%s</h2>\n<table>\n", workers ? "Workers' time" : "Time of the processes");
	fputs("<tr><th>before</th><td>", f);
	time_bar(f, parts, "before");
	fputs("</td></tr>\n<tr><th>after</th><td>", f);
	time_bar(f, parts, "after");
	fputs("</td></tr>\n</table>\n<p class=\"key note\">", f);
	size_t i;
	json_t *p;
	json_array_foreach(parts, i, p)
	{
		if (!in_bar(p))
			continue;
		fprintf(f, "<span class=\"c-%s\"></span>", str(p, "part"));
		esc(f, str(p, "label") + strspn(str(p, "label"), " "));
	}
	fputs("</p>\n<table>\n<tr><th></th><th class=\"num\">before</th><th "
	      "class=\"num\">after</th><th class=\"num\">change</th><th class=\"num\">time "
	      "before</th><th class=\"num\">time after</th><th class=\"num\">time "
	      "change</th></tr>\n<tr>",
	      f);
	label_cell(f, "in all");
	fputs("<td></td><td></td><td></td>", f);
	delta_cells(f, json_object_get(t, "basis_ns"), IPCPROF_DIFF_NS);
	fputs("</tr>\n", f);
	json_array_foreach(parts, i, p)
	{
		fputs("<tr>", f);
		label_cell(f, str(p, "label"));
		const json_t *unknown = json_object_get(p, "unknown");
		delta_cells_marked(f, json_object_get(p, "share"), unknown, IPCPROF_DIFF_SHARE);
		delta_cells_marked(f, json_object_get(p, "ns"), unknown, IPCPROF_DIFF_NS);
		fputs("</tr>\n", f);
	}
	fputs("</table>\n<p class=\"note\">Shares' changes are in percentage points, and in "
	      "percent of before. \"-\": not measured in that run; \"?\": the run's report says "
	      "its evidence cannot tell this (blocked time, say, that may have been waiting for "
	      "work).</p>\n",
	      f);
}

static void kinds_table(FILE *f, const json_t *diff)
{
	fputs("<h2>Bytes per channel kind</h2>\n<table>\n<tr><th>kind</th><th class=\"num\">sent "
	      "before</th><th class=\"num\">sent after</th><th class=\"num\">change</th><th "
	      "class=\"num\">received before</th><th class=\"num\">received after</th><th "
	      "class=\"num\">change</th><th class=\"num\">calls before</th><th class=\"num\">calls "
	      "after</th><th class=\"num\">channels before</th><th class=\"num\">channels "
	      "after</th></tr>\n",
	      f);
	size_t i;
	json_t *k;
	const json_t *total = json_object_get(diff, "bytes_total");
	size_t n = json_array_size(json_object_get(diff, "bytes_by_kind"));
	for (i = 0; i <= n; i++) {
		k = i < n ? json_array_get(json_object_get(diff, "bytes_by_kind"), i)
			  : (json_t *)total;
		fputs(i < n ? "<tr><td>" : "<tr><th>", f);
		esc(f, i < n ? str(k, "kind") : "all kinds");
		fputs(i < n ? "</td>" : "</th>", f);
		delta_cells(f, json_object_get(k, "sent"), IPCPROF_DIFF_EXACT_BYTES);
		delta_cells(f, json_object_get(k, "received"), IPCPROF_DIFF_EXACT_BYTES);
		for (int c = 0; c < 2; c++) {
			const json_t *d = json_object_get(k, c ? "channels" : "calls");
			value_cell(f, json_object_get(d, "before"), IPCPROF_DIFF_COUNT);
			value_cell(f, json_object_get(d, "after"), IPCPROF_DIFF_COUNT);
		}
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
}

/* A row's first two cells, of text. */
static void row_start(FILE *f, const char *first, const char *second)
{
	fputs("<tr><td>", f);
	esc(f, first);
	fputs("</td><td>", f);
	esc(f, second);
	fputs("</td>", f);
}

static void finding_cell(FILE *f, const json_t *side)
{
	fputs("<td>", f);
	if (json_is_object(side)) {
		fprintf(f, "#%lld ", (long long)json_integer_value(json_object_get(side, "rank")));
		esc(f, str(side, "title"));
		fputs("<br><span class=\"note\">", f);
		esc(f, str(side, "detail"));
		fputs("</span>", f);
	}
	fputs("</td>", f);
}

static void findings_table(FILE *f, const json_t *diff)
{
	fprintf(f,
		"<h2>Findings</h2>\n<p class=\"note\">The top %d of each run, by the seconds at "
		"stake; a finding of before is paired with the first of its kind in after.</p>\n",
		IPCPROF_DIFF_FINDINGS);
	const json_t *fs = json_object_get(diff, "findings");
	if (!json_array_size(fs)) {
		fputs("<p>Neither run has a finding.</p>\n", f);
		return;
	}
	fputs("<table>\n<tr><th></th><th>kind</th><th>before</th><th>after</th><th "
	      "class=\"num\">at stake before</th><th class=\"num\">after</th><th "
	      "class=\"num\">change</th></tr>\n",
	      f);
	size_t i;
	json_t *x;
	json_array_foreach(fs, i, x)
	{
		row_start(f, str(x, "status"), str(x, "kind"));
		finding_cell(f, json_object_get(x, "before"));
		finding_cell(f, json_object_get(x, "after"));
		delta_cells(f, json_object_get(x, "weight_s"), IPCPROF_DIFF_SECONDS);
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
}

static void proc_cell(FILE *f, const json_t *p)
{
	fputs("<td>", f);
	if (json_is_object(p)) {
		/* The name, and the whole command line where the pointer rests. */
		fprintf(f, "PID %lld <code title=\"",
			(long long)json_integer_value(json_object_get(p, "pid")));
		esc(f, str(p, "command"));
		fputs("\">", f);
		esc(f, str(p, "name"));
		fputs("</code>", f);
	}
	fputs("</td>", f);
}

static void processes_table(FILE *f, const json_t *diff)
{
	fputs("<h2>Processes</h2>\n<p class=\"note\">Matched by role, then by command line, then "
	      "in the order they started.</p>\n<table>\n<tr><th>role</th><th>matched "
	      "by</th><th>before</th><th>after</th><th class=\"num\">wall before</th><th "
	      "class=\"num\">after</th><th class=\"num\">change</th><th class=\"num\">CPU "
	      "before</th><th class=\"num\">after</th><th class=\"num\">change</th><th "
	      "class=\"num\">data movement before</th><th class=\"num\">after</th><th "
	      "class=\"num\">change</th><th class=\"num\">sent before</th><th "
	      "class=\"num\">after</th><th class=\"num\">change</th><th class=\"num\">received "
	      "before</th><th class=\"num\">after</th><th class=\"num\">change</th></tr>\n",
	      f);
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(diff, "processes"), i, r)
	{
		row_start(f, str(r, "role"), str(r, "match"));
		proc_cell(f, json_object_get(r, "before"));
		proc_cell(f, json_object_get(r, "after"));
		delta_cells(f, json_object_get(r, "wall_ns"), IPCPROF_DIFF_NS);
		delta_cells(f, json_object_get(r, "cpu_ns"), IPCPROF_DIFF_NS);
		delta_cells_marked(f, json_object_get(r, "data_movement_share"),
				   json_object_get(r, "data_movement_unknown"), IPCPROF_DIFF_SHARE);
		delta_cells(f, json_object_get(r, "bytes_sent"), IPCPROF_DIFF_BYTES);
		delta_cells(f, json_object_get(r, "bytes_received"), IPCPROF_DIFF_BYTES);
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
}

int ipcprof_write_diff_html(const json_t *diff, FILE *f)
{
	size_t len = 0;
	char *text = ipcprof_json_text(diff, &len);
	if (!text)
		return -1;
	fputs(page_head, f);
	fputs("<h1>ipcprof diff</h1>\n", f);
	sides(f, diff);
	run_table(f, diff);
	time_table(f, diff);
	kinds_table(f, diff);
	findings_table(f, diff);
	processes_table(f, diff);
	/* The comparison itself, for tools: a data block, never run (the page allows no script). */
	fputs("<script type=\"application/json\" id=\"ipcprof-diff\">", f);
	fwrite(text, 1, len, f);
	fputs("</script>\n</body>\n</html>\n", f);
	free(text);
	return ferror(f) ? -1 : 0;
}
