/* ipcprof diff's comparison: two reports side by side, each figure with what changed and by how much. */
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "ipcprof_config.h"

/* A member of nested objects, by a dotted path ("run.worker_time.basis_ns"); NULL when a step
 * is missing or not an object. */
static json_t *get(const json_t *j, const char *path)
{
	char key[64];
	while (j && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		j = json_object_get(j, key);
		path += n + (dot != NULL);
	}
	return (json_t *)j;
}

static const char *get_str(const json_t *j, const char *path)
{
	const char *s = json_string_value(get(j, path));
	return s ? s : "";
}

int ipcprof_diff_check(const json_t *rep, char *err, size_t errlen)
{
	static const struct {
		const char *path;
		json_type type;
	} need[] = {
	    {"run", JSON_OBJECT},
	    {"run.wall_ns", JSON_INTEGER},
	    {"run.worker_time", JSON_OBJECT},
	    {"run.worker_time.basis_ns", JSON_INTEGER},
	    {"run.bytes_by_kind", JSON_ARRAY},
	    {"processes", JSON_ARRAY},
	    {"findings", JSON_ARRAY},
	};
	if (!json_is_object(rep)) {
		snprintf(err, errlen, "not an ipcprof report (not a JSON object)");
		return -1;
	}
	if (strcmp(get_str(rep, "format"), "ipcprof-report") != 0) {
		snprintf(err, errlen,
			 "not an ipcprof report (its \"format\" is not \"ipcprof-report\")");
		return -1;
	}
	json_t *v = get(rep, "version");
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		snprintf(err, errlen,
			 "an ipcprof report of another version than 1, the one this "
			 "ipcprof reads");
		return -1;
	}
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		json_t *x = get(rep, need[i].path);
		if (!x || json_typeof(x) != need[i].type) {
			snprintf(err, errlen,
				 "not a complete ipcprof report: %s is missing or not %s",
				 need[i].path,
				 need[i].type == JSON_OBJECT  ? "an object"
				 : need[i].type == JSON_ARRAY ? "an array"
							      : "an integer");
			return -1;
		}
	}
	return 0;
}

static json_t *number_or_null(const json_t *v)
{
	return json_is_number(v) ? json_deep_copy(v) : json_null();
}

/* A figure of both sides and its change: absolute (an integer where both are) and in percent of
 * before (null when before is 0 and after is not: no percentage says "from nothing"). A side
 * without the figure (null) gives a null change. */
static json_t *delta(const json_t *b, const json_t *a)
{
	json_t *change = json_null(), *pct = json_null();
	if (json_is_number(b) && json_is_number(a)) {
		double x = json_number_value(b), y = json_number_value(a);
		json_int_t d;
		if (json_is_integer(b) && json_is_integer(a) &&
		    !__builtin_sub_overflow(json_integer_value(a), json_integer_value(b), &d)) {
			json_decref(change);
			change = json_integer(d);
		} else if (isfinite(y - x)) {
			json_decref(change);
			change = json_real(y - x);
		}
		double p = x != 0 ? 100.0 * (y - x) / fabs(x) : y == 0 ? 0.0 : NAN;
		if (isfinite(p)) {
			json_decref(pct);
			pct = json_real(p);
		}
	}
	return json_pack("{s:o, s:o, s:o, s:o}", "before", number_or_null(b), "after",
			 number_or_null(a), "change", change, "change_pct", pct);
}

/* The delta of the same member of two objects (either may be NULL). */
static json_t *delta_at(const json_t *b, const json_t *a, const char *path)
{
	return delta(b ? get(b, path) : NULL, a ? get(a, path) : NULL);
}

/* One part of the workers' time, from the attribution's *_ns fields (ipcprof-report.schema.json,
 * "time"). */
struct time_part {
	const char *key, *label;
	const char *ns[5];   /* summed; NULL ends the list */
	bool needs_samples;  /* measured only where the CPU sampler saw the processes */
	const char *unknown; /* what the attribution's "unknown" calls it */
};

static const struct time_part time_parts[] = {
    {"data_movement",
     "data movement",
     {"ipc_transfer_ns", "ipc_wait_ns", "serialize_ns", "deserialize_ns", "copy_ns"},
     false,
     "data_movement"},
    {"ipc_transfer", "  on CPU in IPC calls", {"ipc_transfer_ns"}, false, NULL},
    {"ipc_wait", "  blocked in IPC calls for data", {"ipc_wait_ns"}, false, "data_movement"},
    {"serialization", "  (de)serialization", {"serialize_ns", "deserialize_ns"}, true, NULL},
    {"copy", "  memory copies outside IPC calls", {"copy_ns"}, true, NULL},
    {"compute", "compute", {"compute_ns"}, false, "compute"},
    {"ipc_idle", "waiting for work in IPC calls", {"ipc_idle_ns"}, false, "waiting_for_work"},
    {"sync_wait", "blocked outside IPC calls", {"sync_wait_ns"}, false, NULL},
    {"other", "other time off CPU", {"other_ns"}, false, NULL},
};

static bool listed(const json_t *array, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(array, i, v)
	{
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return true;
	}
	return false;
}

/* Whether t holds the figures of part p: the CPU sampler's only where it saw the processes. */
static bool part_measured(const json_t *t, const struct time_part *p)
{
	if (!json_is_object(t) ||
	    (p->needs_samples && !json_is_true(json_object_get(t, "cpu_sampled"))))
		return false;
	for (int k = 0; k < 5 && p->ns[k]; k++)
		if (!json_is_integer(json_object_get(t, p->ns[k])))
			return false;
	return true;
}

/* Whether the report says that its evidence cannot tell part p (docs/shares.md): the figure is
 * what it counted, e.g. blocked time that may have been waiting for work. */
static bool part_unknown(const json_t *t, const struct time_part *p)
{
	return p->unknown && json_is_object(t) && listed(json_object_get(t, "unknown"), p->unknown);
}

/* Part p of attribution t as its time and share of t's basis (json null when not measured). */
static void part_figures(const json_t *t, const struct time_part *p, json_t **ns, json_t **share)
{
	json_int_t sum = 0;
	bool ok = part_measured(t, p);
	for (int k = 0; ok && k < 5 && p->ns[k]; k++)
		ok = !__builtin_add_overflow(sum, json_integer_value(json_object_get(t, p->ns[k])),
					     &sum);
	json_int_t basis =
	    json_is_object(t) ? json_integer_value(json_object_get(t, "basis_ns")) : 0;
	*ns = ok ? json_integer(sum) : json_null();
	*share = ok && basis > 0 ? json_real((double)sum / (double)basis) : json_null();
}

/* Sets prefix + "ns", "share" and "unknown" of row: part p of before's and after's
 * attributions. */
static void part_set(json_t *row, const char *prefix, const json_t *tb, const json_t *ta,
		     const struct time_part *p)
{
	json_t *nb, *sb, *na, *sa;
	char key[64];
	part_figures(tb, p, &nb, &sb);
	part_figures(ta, p, &na, &sa);
	snprintf(key, sizeof(key), "%sns", prefix);
	json_object_set_new(row, key, delta(nb, na));
	snprintf(key, sizeof(key), "%sshare", prefix);
	json_object_set_new(row, key, delta(sb, sa));
	snprintf(key, sizeof(key), "%sunknown", prefix);
	json_object_set_new(
	    row, key,
	    json_pack("{s:b, s:b}", "before", part_unknown(tb, p), "after", part_unknown(ta, p)));
	json_decref(nb);
	json_decref(sb);
	json_decref(na);
	json_decref(sa);
}

static json_t *time_json(const json_t *rb, const json_t *ra)
{
	const json_t *tb = get(rb, "run.worker_time"), *ta = get(ra, "run.worker_time");
	json_t *parts = json_array();
	for (size_t i = 0; i < sizeof(time_parts) / sizeof(time_parts[0]); i++) {
		json_t *row = json_pack("{s:s, s:s}", "part", time_parts[i].key, "label",
					time_parts[i].label);
		part_set(row, "", tb, ta, &time_parts[i]);
		json_array_append_new(parts, row);
	}
	json_t *wb = get(rb, "run.workers"), *wa = get(ra, "run.workers");
	return json_pack("{s:s, s:s, s:o, s:o}", "before_basis",
			 json_integer_value(wb) > 0 ? "workers" : "all_processes", "after_basis",
			 json_integer_value(wa) > 0 ? "workers" : "all_processes", "basis_ns",
			 delta_at(tb, ta, "basis_ns"), "parts", parts);
}

static const json_t *kind_entry(const json_t *rep, const char *kind)
{
	size_t i;
	json_t *e;
	json_array_foreach(get(rep, "run.bytes_by_kind"), i, e)
	{
		if (!strcmp(get_str(e, "kind"), kind))
			return e;
	}
	return NULL;
}

static const char *const kind_figures[] = {"sent", "received", "calls", "channels"};
#define NKIND_FIGURES (sizeof(kind_figures) / sizeof(kind_figures[0]))

/* A kind a report does not list moved nothing on it: 0, not unknown. */
static json_t *kind_figure(const json_t *e, const char *fig)
{
	json_t *v = e ? json_object_get(e, fig) : NULL;
	return json_is_integer(v) ? json_incref(v) : json_integer(0);
}

static json_t *kind_row(const char *kind, const json_t *eb, const json_t *ea)
{
	json_t *row = json_pack("{s:s}", "kind", kind);
	for (size_t f = 0; f < NKIND_FIGURES; f++) {
		json_t *b = kind_figure(eb, kind_figures[f]), *a = kind_figure(ea, kind_figures[f]);
		json_object_set_new(row, kind_figures[f], delta(b, a));
		json_decref(b);
		json_decref(a);
	}
	return row;
}

static json_int_t kind_total(const json_t *rep, const char *fig)
{
	size_t i;
	json_t *e;
	json_int_t sum = 0;
	json_array_foreach(get(rep, "run.bytes_by_kind"), i, e)
	{
		json_int_t v = json_integer_value(json_object_get(e, fig));
		if (__builtin_add_overflow(sum, v, &sum))
			sum = INT64_MAX;
	}
	return sum;
}

/* Every kind either side used, before's first, then the total over kinds. */
static json_t *kinds_json(const json_t *rb, const json_t *ra, json_t **total)
{
	json_t *rows = json_array();
	for (int side = 0; side < 2; side++) {
		const json_t *r = side ? ra : rb;
		size_t i;
		json_t *e;
		json_array_foreach(get(r, "run.bytes_by_kind"), i, e)
		{
			const char *kind = get_str(e, "kind");
			if (side && kind_entry(rb, kind))
				continue;
			json_array_append_new(
			    rows, kind_row(kind, kind_entry(rb, kind), kind_entry(ra, kind)));
		}
	}
	*total = json_object();
	for (size_t f = 0; f < NKIND_FIGURES; f++) {
		json_t *b = json_integer(kind_total(rb, kind_figures[f]));
		json_t *a = json_integer(kind_total(ra, kind_figures[f]));
		json_object_set_new(*total, kind_figures[f], delta(b, a));
		json_decref(b);
		json_decref(a);
	}
	return rows;
}

static json_t *finding_side(const json_t *f, size_t rank)
{
	if (!f)
		return json_null();
	return json_pack("{s:I, s:s, s:s, s:o}", "rank", (json_int_t)rank + 1, "title",
			 get_str(f, "title"), "detail", get_str(f, "detail"), "weight_s",
			 number_or_null(json_object_get(f, "weight_s")));
}

static json_t *finding_row(const json_t *fb, size_t ib, const json_t *fa, size_t ia)
{
	const json_t *any = fb ? fb : fa;
	return json_pack("{s:s, s:s, s:o, s:o, s:o}", "kind", get_str(any, "kind"), "status",
			 fb && fa ? "both"
			 : fb     ? "gone"
				  : "new",
			 "before", finding_side(fb, ib), "after", finding_side(fa, ia), "weight_s",
			 delta(fb ? json_object_get(fb, "weight_s") : NULL,
			       fa ? json_object_get(fa, "weight_s") : NULL));
}

/* The top findings of each side, a finding of before paired with the first of the same kind in
 * after (of all of after's, so that one that fell below the top is not called gone). */
static json_t *findings_json(const json_t *rb, const json_t *ra)
{
	const json_t *fb = get(rb, "findings"), *fa = get(ra, "findings");
	size_t nb = json_array_size(fb), na = json_array_size(fa);
	bool *used = calloc(na + 1, sizeof(bool));
	json_t *rows = json_array();
	if (!used || !rows) {
		free(used);
		json_decref(rows);
		return NULL;
	}
	for (size_t i = 0; i < nb; i++) {
		const json_t *b = json_array_get(fb, i);
		size_t j = 0;
		while (j < na && (used[j] || strcmp(get_str(json_array_get(fa, j), "kind"),
						    get_str(b, "kind"))))
			j++;
		bool paired = j < na;
		if (paired)
			used[j] = true;
		if (i < IPCPROF_DIFF_FINDINGS || (paired && j < IPCPROF_DIFF_FINDINGS))
			json_array_append_new(
			    rows, finding_row(b, i, paired ? json_array_get(fa, j) : NULL, j));
	}
	for (size_t j = 0; j < na && j < IPCPROF_DIFF_FINDINGS; j++)
		if (!used[j])
			json_array_append_new(rows, finding_row(NULL, 0, json_array_get(fa, j), j));
	free(used);
	return rows;
}

/* Processes. */

static const json_t *sort_procs;

static int cmp_start(const void *x, const void *y)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	json_int_t sa = json_integer_value(get(json_array_get(sort_procs, a), "start_ns"));
	json_int_t sb = json_integer_value(get(json_array_get(sort_procs, b), "start_ns"));
	if (sa != sb)
		return sa < sb ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* A side's processes in the order they started. */
static size_t *start_order(const json_t *procs, size_t n)
{
	size_t *o = malloc((n + 1) * sizeof(size_t));
	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i++)
		o[i] = i;
	sort_procs = procs;
	qsort(o, n, sizeof(size_t), cmp_start);
	return o;
}

static json_t *proc_side(const json_t *p)
{
	if (!p)
		return json_null();
	return json_pack("{s:o, s:o, s:s, s:s, s:b}", "index",
			 number_or_null(json_object_get(p, "index")), "pid",
			 number_or_null(json_object_get(p, "pid")), "name", get_str(p, "name"),
			 "command", get_str(p, "command"), "wall_lower_bound",
			 json_is_true(json_object_get(p, "wall_lower_bound")));
}

static json_t *proc_row(const json_t *pb, const json_t *pa, const char *match)
{
	const json_t *tb = pb ? get(pb, "time") : NULL, *ta = pa ? get(pa, "time") : NULL;
	json_t *row =
	    json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "role", get_str(pb ? pb : pa, "role"),
		      "match", match, "before", proc_side(pb), "after", proc_side(pa), "wall_ns",
		      delta_at(pb, pa, "wall_ns"), "cpu_ns", delta_at(tb, ta, "cpu_ns"));
	part_set(row, "data_movement_", tb, ta, &time_parts[0]);
	json_object_set_new(row, "compute_share", delta_at(tb, ta, "shares.compute"));
	json_object_set_new(row, "bytes_sent", delta_at(pb, pa, "bytes_sent"));
	json_object_set_new(row, "bytes_received", delta_at(pb, pa, "bytes_received"));
	return row;
}

/*
 * Processes are matched by role (main, forked worker, resource tracker, ...): within a role,
 * first those with the same command line, then the rest in the order they started. Pids differ
 * between runs and say nothing; the role and the order are what a rerun keeps.
 */
static json_t *processes_json(const json_t *rb, const json_t *ra)
{
	const json_t *pb = get(rb, "processes"), *pa = get(ra, "processes");
	size_t nb = json_array_size(pb), na = json_array_size(pa);
	size_t *ob = start_order(pb, nb), *oa = start_order(pa, na);
	size_t *mate = malloc((nb + 1) * sizeof(size_t));
	const char **how = malloc((nb + 1) * sizeof(char *));
	bool *used = calloc(na + 1, sizeof(bool));
	json_t *rows = json_array();
	if (!ob || !oa || !mate || !how || !used || !rows) {
		json_decref(rows);
		rows = NULL;
		goto out;
	}
	for (size_t i = 0; i < nb; i++)
		mate[i] = SIZE_MAX;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < nb; i++) {
			const json_t *b = json_array_get(pb, ob[i]);
			for (size_t j = 0; j < na && mate[ob[i]] == SIZE_MAX; j++) {
				const json_t *a = json_array_get(pa, oa[j]);
				if (used[oa[j]] || strcmp(get_str(a, "role"), get_str(b, "role")) ||
				    (pass == 0 &&
				     strcmp(get_str(a, "command"), get_str(b, "command"))))
					continue;
				used[oa[j]] = true;
				mate[ob[i]] = oa[j];
				how[ob[i]] = pass == 0 ? "command" : "order";
			}
		}
	}
	for (size_t i = 0; i < nb; i++) {
		size_t m = mate[ob[i]];
		json_array_append_new(rows, proc_row(json_array_get(pb, ob[i]),
						     m == SIZE_MAX ? NULL : json_array_get(pa, m),
						     m == SIZE_MAX ? "before_only" : how[ob[i]]));
	}
	for (size_t j = 0; j < na; j++)
		if (!used[oa[j]])
			json_array_append_new(
			    rows, proc_row(NULL, json_array_get(pa, oa[j]), "after_only"));
out:
	free(ob);
	free(oa);
	free(mate);
	free(how);
	free(used);
	return rows;
}

static json_t *side_json(const struct ipcprof_diff_side *s)
{
	const json_t *r = s->report;
	const char *gen = json_string_value(get(r, "generator"));
	return json_pack("{s:s, s:s, s:o, s:s, s:i, s:b, s:o, s:o}", "source", s->source, "input",
			 s->input, "generator", gen ? json_string(gen) : json_null(), "verdict",
			 get_str(r, "run.verdict"), "damaged_records", s->damaged, "kernel",
			 json_is_true(get(r, "kernel")), "processes",
			 number_or_null(get(r, "run.processes")), "workers",
			 number_or_null(get(r, "run.workers")));
}

/* What makes two figures less comparable than they look, said once. */
static json_t *notes_json(const json_t *rb, const json_t *ra)
{
	json_t *notes = json_array();
	bool kb = json_is_true(get(rb, "kernel")), ka = json_is_true(get(ra, "kernel"));
	if (kb != ka)
		json_array_append_new(
		    notes, json_sprintf("the eBPF probes ran in the %s run only: the split of IPC "
					"time into on CPU and blocked, and the waits outside IPC "
					"calls, come from different sources",
					kb ? "before" : "after"));
	json_t *wb = get(rb, "run.workers"), *wa = get(ra, "run.workers");
	if ((json_integer_value(wb) > 0) != (json_integer_value(wa) > 0))
		json_array_append_new(
		    notes,
		    json_sprintf("the time shares are of the workers' time in the %s run and "
				 "of all processes' in the other (it has no worker)",
				 json_integer_value(wb) > 0 ? "before" : "after"));
	const char *const unmeasured[] = {"serialization", "copy"};
	for (int k = 0; k < 2; k++) {
		const struct time_part *p = &time_parts[k ? 4 : 3];
		bool mb = part_measured(get(rb, "run.worker_time"), p);
		bool ma = part_measured(get(ra, "run.worker_time"), p);
		if (mb != ma)
			json_array_append_new(
			    notes, json_sprintf("%s time is measured in the %s run only (its "
						"processes had CPU samples)",
						unmeasured[k], mb ? "before" : "after"));
	}
	return notes;
}

json_t *ipcprof_diff_json(const struct ipcprof_diff_side *before,
			  const struct ipcprof_diff_side *after)
{
	const json_t *rb = before->report, *ra = after->report;
	json_t *run = json_object();
	for (size_t i = 0; run && i < ipcprof_diff_nrun_rows; i++) {
		const char *key = ipcprof_diff_run_rows[i].key;
		json_object_set_new(run, key, delta_at(get(rb, "run"), get(ra, "run"), key));
	}
	json_t *total = NULL;
	json_t *kinds = kinds_json(rb, ra, &total);
	json_t *j = json_pack(
	    "{s:s, s:i, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "format",
	    "ipcprof-diff", "version", 1, "generator", "ipcprof " IPCPROF_VERSION, "before",
	    side_json(before), "after", side_json(after), "notes", notes_json(rb, ra), "run", run,
	    "time", time_json(rb, ra), "bytes_by_kind", kinds, "bytes_total", total, "findings",
	    findings_json(rb, ra), "processes", processes_json(rb, ra));
	return j;
}
