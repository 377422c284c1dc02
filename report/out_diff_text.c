/* ipcprof diff for a terminal: the two runs in columns, each figure with its change. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "diff.h"
#include "report.h"

#define PROCESSES_SHOWN 30

static const char *str(const json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));
	return s ? s : "";
}

/* A string of the program or its user (paths, command lines, titles), safe on a terminal. */
static const char *safe(const char *s, char *out, size_t outlen)
{
	ipcprof_term_str(s, out, outlen);
	return out;
}

/* One row: label, before, after, change. */
static void row(FILE *f, const char *label, const json_t *d, enum ipcprof_diff_unit u)
{
	char b[64], a[64], c[96];
	ipcprof_diff_fmt_value(json_object_get(d, "before"), u, b, sizeof(b));
	ipcprof_diff_fmt_value(json_object_get(d, "after"), u, a, sizeof(a));
	ipcprof_diff_fmt_change(d, u, c, sizeof(c));
	fprintf(f, "  %-36s %16s %16s  %s\n", label, b, a, c);
}

static void sides(const json_t *diff, FILE *f)
{
	static const char *const names[] = {"before", "after"};
	for (int s = 0; s < 2; s++) {
		const json_t *side = json_object_get(diff, names[s]);
		char src[512], verdict[512];
		const json_t *dmg = json_object_get(side, "damaged_records");
		fprintf(f, "  %-7s %s (%s)", names[s], safe(str(side, "source"), src, sizeof(src)),
			!strcmp(str(side, "input"), "session") ? "session folder" : "report JSON");
		if (json_integer_value(dmg) > 0)
			fprintf(f, ", %lld damaged record%s left out",
				(long long)json_integer_value(dmg),
				json_integer_value(dmg) == 1 ? "" : "s");
		fprintf(f, "\n          %s\n",
			safe(str(side, "verdict"), verdict, sizeof(verdict)));
	}
	size_t i;
	json_t *n;
	json_array_foreach(json_object_get(diff, "notes"), i, n)
	{
		char t[512];
		fprintf(f, "  note: %s\n", safe(json_string_value(n), t, sizeof(t)));
	}
}

static void run_table(const json_t *diff, FILE *f)
{
	const json_t *run = json_object_get(diff, "run");
	fprintf(f, "\n  %-36s %16s %16s  %s\n", "RUN", "BEFORE", "AFTER", "CHANGE");
	for (size_t i = 0; i < ipcprof_diff_nrun_rows; i++)
		row(f, ipcprof_diff_run_rows[i].label,
		    json_object_get(run, ipcprof_diff_run_rows[i].key),
		    ipcprof_diff_run_rows[i].unit);
}

static void time_table(const json_t *diff, FILE *f)
{
	const json_t *t = json_object_get(diff, "time");
	bool workers =
	    !strcmp(str(t, "before_basis"), "workers") && !strcmp(str(t, "after_basis"), "workers");
	fprintf(f, "\n  %-36s %16s %16s  %s\n", workers ? "WORKERS' TIME" : "TIME OF THE PROCESSES",
		"BEFORE", "AFTER", "CHANGE");
	row(f, "in all", json_object_get(t, "basis_ns"), IPCPROF_DIFF_NS);
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(t, "parts"), i, p)
	{
		/* The share, and beside it the time it stands for. */
		const json_t *share = json_object_get(p, "share"), *ns = json_object_get(p, "ns");
		char b[64], a[64], c[96], bt[32], at[32], bs[32], as[32];
		const json_t *unknown = json_object_get(p, "unknown");
		ipcprof_diff_fmt_side(share, "before", unknown, IPCPROF_DIFF_SHARE, bs, sizeof(bs));
		ipcprof_diff_fmt_side(share, "after", unknown, IPCPROF_DIFF_SHARE, as, sizeof(as));
		ipcprof_diff_fmt_value(json_object_get(ns, "before"), IPCPROF_DIFF_NS, bt,
				       sizeof(bt));
		ipcprof_diff_fmt_value(json_object_get(ns, "after"), IPCPROF_DIFF_NS, at,
				       sizeof(at));
		/* Unknown is said once, not for both figures. */
		bool kb = strcmp(bs, "-") != 0, ka = strcmp(as, "-") != 0;
		snprintf(b, sizeof(b), "%s%s%s", bs, kb ? " " : "", kb ? bt : "");
		snprintf(a, sizeof(a), "%s%s%s", as, ka ? " " : "", ka ? at : "");
		ipcprof_diff_fmt_change(share, IPCPROF_DIFF_SHARE, c, sizeof(c));
		fprintf(f, "  %-36s %16s %16s  %s\n", str(p, "label"), b, a, c);
	}
}

static void kinds_table(const json_t *diff, FILE *f)
{
	fprintf(f, "\n  %-14s %16s %16s  %-30s %13s\n", "BYTES SENT", "BEFORE", "AFTER", "CHANGE",
		"CALLS");
	const json_t *total = json_object_get(diff, "bytes_total");
	size_t i;
	json_t *k;
	json_array_foreach(json_object_get(diff, "bytes_by_kind"), i, k)
	{
		const json_t *sent = json_object_get(k, "sent"),
			     *calls = json_object_get(k, "calls");
		char b[64], a[64], c[96], cb[32], ca[32], kind[64], cl[80];
		ipcprof_diff_fmt_value(json_object_get(sent, "before"), IPCPROF_DIFF_EXACT_BYTES, b,
				       sizeof(b));
		ipcprof_diff_fmt_value(json_object_get(sent, "after"), IPCPROF_DIFF_EXACT_BYTES, a,
				       sizeof(a));
		ipcprof_diff_fmt_change(sent, IPCPROF_DIFF_EXACT_BYTES, c, sizeof(c));
		ipcprof_diff_fmt_value(json_object_get(calls, "before"), IPCPROF_DIFF_COUNT, cb,
				       sizeof(cb));
		ipcprof_diff_fmt_value(json_object_get(calls, "after"), IPCPROF_DIFF_COUNT, ca,
				       sizeof(ca));
		snprintf(cl, sizeof(cl), "%s -> %s", cb, ca);
		fprintf(f, "  %-14s %16s %16s  %-30s %13s\n",
			safe(str(k, "kind"), kind, sizeof(kind)), b, a, c, cl);
	}
	const json_t *ts = json_object_get(total, "sent");
	char b[64], a[64], c[96];
	ipcprof_diff_fmt_value(json_object_get(ts, "before"), IPCPROF_DIFF_EXACT_BYTES, b,
			       sizeof(b));
	ipcprof_diff_fmt_value(json_object_get(ts, "after"), IPCPROF_DIFF_EXACT_BYTES, a,
			       sizeof(a));
	ipcprof_diff_fmt_change(ts, IPCPROF_DIFF_EXACT_BYTES, c, sizeof(c));
	fprintf(f, "  %-14s %16s %16s  %s\n", "all kinds", b, a, c);
}

/* Before and after of a delta. */
static void pair(const json_t *d, enum ipcprof_diff_unit u, char *b, char *a, size_t len)
{
	ipcprof_diff_fmt_value(json_object_get(d, "before"), u, b, len);
	ipcprof_diff_fmt_value(json_object_get(d, "after"), u, a, len);
}

static void findings_list(const json_t *diff, FILE *f)
{
	const json_t *fs = json_object_get(diff, "findings");
	if (!json_array_size(fs))
		return;
	fprintf(f, "\n  FINDINGS (the top %d of each run, by the seconds at stake)\n",
		IPCPROF_DIFF_FINDINGS);
	size_t i;
	json_t *x;
	json_array_foreach(fs, i, x)
	{
		const char *status = str(x, "status");
		char c[96], wb[32], wa[32], t[600];
		const json_t *w = json_object_get(x, "weight_s");
		ipcprof_diff_fmt_change(w, IPCPROF_DIFF_SECONDS, c, sizeof(c));
		pair(w, IPCPROF_DIFF_SECONDS, wb, wa, sizeof(wb));
		fprintf(f, "  %-4s %s\n",
			!strcmp(status, "gone")  ? "gone"
			: !strcmp(status, "new") ? "new"
						 : "both",
			safe(str(x, "kind"), t, sizeof(t)));
		const json_t *b = json_object_get(x, "before"), *a = json_object_get(x, "after");
		if (json_is_object(b))
			fprintf(f, "       before #%lld: %s\n",
				(long long)json_integer_value(json_object_get(b, "rank")),
				safe(str(b, "title"), t, sizeof(t)));
		if (json_is_object(a))
			fprintf(f, "       after  #%lld: %s\n",
				(long long)json_integer_value(json_object_get(a, "rank")),
				safe(str(a, "title"), t, sizeof(t)));
		fprintf(f, "       at stake: %s -> %s%s%s\n", wb, wa, strcmp(c, "-") ? ", " : "",
			strcmp(c, "-") ? c : "");
	}
}

static void pids(const json_t *row, char *out, size_t outlen)
{
	char b[24] = "-", a[24] = "-";
	const json_t *pb = json_object_get(json_object_get(row, "before"), "pid");
	const json_t *pa = json_object_get(json_object_get(row, "after"), "pid");
	if (json_is_integer(pb))
		snprintf(b, sizeof(b), "%lld", (long long)json_integer_value(pb));
	if (json_is_integer(pa))
		snprintf(a, sizeof(a), "%lld", (long long)json_integer_value(pa));
	snprintf(out, outlen, "%s>%s", b, a);
}

static void processes_table(const json_t *diff, FILE *f)
{
	const json_t *rows = json_object_get(diff, "processes");
	fprintf(f,
		"\n  PROCESSES, matched by role, then command line, then the order they started\n");
	fprintf(f, "  %-18s %-13s %9s %9s %9s  %6s %6s  %9s %9s  %9s %9s  %s\n", "ROLE", "PIDS",
		"WALL", "", "", "MOVE%", "", "SENT", "", "RECEIVED", "", "MATCHED BY");
	fprintf(f, "  %-18s %-13s %9s %9s %9s  %6s %6s  %9s %9s  %9s %9s\n", "", "before>after",
		"before", "after", "change", "before", "after", "before", "after", "before",
		"after");
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r)
	{
		if (i >= PROCESSES_SHOWN) {
			fprintf(f, "  ... and %zu more (ipcprof diff -f json or -f html)\n",
				json_array_size(rows) - PROCESSES_SHOWN);
			break;
		}
		char role[64], p[48], wb[32], wa[32], mb[32], ma[32], sb[32], sa[32], rb[32],
		    ra[32], wc[32] = "-";
		const json_t *wall = json_object_get(r, "wall_ns");
		const json_t *pct = json_object_get(wall, "change_pct");
		pids(r, p, sizeof(p));
		pair(wall, IPCPROF_DIFF_NS, wb, wa, sizeof(wb));
		if (json_is_number(pct))
			snprintf(wc, sizeof(wc), "%+.0f%%", json_number_value(pct));
		const json_t *move = json_object_get(r, "data_movement_share");
		const json_t *unknown = json_object_get(r, "data_movement_unknown");
		ipcprof_diff_fmt_side(move, "before", unknown, IPCPROF_DIFF_SHARE, mb, sizeof(mb));
		ipcprof_diff_fmt_side(move, "after", unknown, IPCPROF_DIFF_SHARE, ma, sizeof(ma));
		pair(json_object_get(r, "bytes_sent"), IPCPROF_DIFF_BYTES, sb, sa, sizeof(sb));
		pair(json_object_get(r, "bytes_received"), IPCPROF_DIFF_BYTES, rb, ra, sizeof(rb));
		const char *how = str(r, "match");
		fprintf(f, "  %-18.18s %-13s %9s %9s %9s  %6s %6s  %9s %9s  %9s %9s  %s\n",
			safe(str(r, "role"), role, sizeof(role)), p, wb, wa, wc, mb, ma, sb, sa, rb,
			ra,
			!strcmp(how, "before_only")  ? "(before only)"
			: !strcmp(how, "after_only") ? "(after only)"
						     : how);
	}
}

int ipcprof_write_diff_text(const json_t *diff, FILE *f)
{
	fprintf(f, "ipcprof diff\n");
	sides(diff, f);
	run_table(diff, f);
	time_table(diff, f);
	kinds_table(diff, f);
	findings_list(diff, f);
	processes_table(diff, f);
	fprintf(f,
		"\n  Shares are of the workers' time (all processes' where a run has no worker); "
		"their change is\n  in percentage points, and in percent of before. MOVE%% = "
		"data movement: in IPC calls, (de)serializing\n  and copying. \"-\": not measured "
		"in that run; \"new\": from nothing; \"?\": the run's report\n  says its evidence "
		"cannot tell this (blocked time, say, that may have been waiting for work).\n");
	return ferror(f) ? -1 : 0;
}
