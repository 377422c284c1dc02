/* Unit tests of ipcprof diff's comparison: changes and percentages, process matching, findings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "diff.h"

/* A report with what the comparison reads; procs and findings are JSON arrays' text. */
static json_t *report(long long wall, long long pipe_sent, const char *kinds_extra,
		      const char *procs, const char *findings)
{
	char text[8192];
	snprintf(
	    text, sizeof(text),
	    "{\"format\": \"ipcprof-report\", \"version\": 1, \"kernel\": false,"
	    " \"run\": {\"wall_ns\": %lld, \"processes\": 2, \"workers\": 1,"
	    " \"verdict\": \"v\", \"shared_memory_bytes\": 0, \"data_movement_share\": 0.5,"
	    " \"worker_time\": {\"basis_ns\": 1000, \"compute_ns\": 400, \"ipc_transfer_ns\": 100,"
	    " \"ipc_wait_ns\": 300, \"ipc_idle_ns\": 100, \"serialize_ns\": 50,"
	    " \"deserialize_ns\": 50, \"copy_ns\": 0, \"other_ns\": 0, \"sync_wait_ns\": null,"
	    " \"cpu_sampled\": true, \"unknown\": []},"
	    " \"bytes_by_kind\": [{\"kind\": \"pipe\", \"sent\": %lld, \"received\": %lld,"
	    " \"calls\": 4, \"channels\": 2}%s]},"
	    " \"processes\": %s, \"findings\": %s}",
	    wall, pipe_sent, pipe_sent, kinds_extra, procs, findings);
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (!j)
		fail_msg("bad test report: %s at %d: %s", e.text, e.position, text);
	return j;
}

static json_t *compare(json_t *b, json_t *a)
{
	char err[256];
	assert_int_equal(ipcprof_diff_check(b, err, sizeof(err)), 0);
	assert_int_equal(ipcprof_diff_check(a, err, sizeof(err)), 0);
	struct ipcprof_diff_side sb = {b, "b", "report", 0}, sa = {a, "a", "report", 0};
	json_t *d = ipcprof_diff_json(&sb, &sa);
	assert_non_null(d);
	return d;
}

static json_t *at(json_t *j, const char *a, const char *b, const char *c)
{
	j = json_object_get(j, a);
	if (b)
		j = json_object_get(j, b);
	if (c)
		j = json_object_get(j, c);
	return j;
}

static void test_deltas(void **state)
{
	(void)state;
	json_t *b = report(2000, 1000, "", "[]", "[]");
	json_t *a = report(1500, 0,
			   ", {\"kind\": \"semaphore\", \"sent\": 0, \"received\": 0, "
			   "\"calls\": 9, \"channels\": 1}",
			   "[]", "[]");
	json_t *d = compare(b, a);
	assert_int_equal(json_integer_value(at(d, "run", "wall_ns", "change")), -500);
	assert_true(json_number_value(at(d, "run", "wall_ns", "change_pct")) == -25.0);
	/* both 0: no change, 0%; from 0 to something: no percentage */
	assert_true(json_number_value(at(d, "run", "shared_memory_bytes", "change_pct")) == 0.0);
	json_t *kinds = json_object_get(d, "bytes_by_kind");
	assert_int_equal(json_array_size(kinds), 2);
	json_t *pipe = json_array_get(kinds, 0), *sem = json_array_get(kinds, 1);
	assert_string_equal(json_string_value(json_object_get(pipe, "kind")), "pipe");
	assert_true(json_number_value(at(pipe, "sent", "change_pct", NULL)) == -100.0);
	/* a kind only after lists was 0 before, not unknown */
	assert_int_equal(json_integer_value(at(sem, "calls", "before", NULL)), 0);
	assert_int_equal(json_integer_value(at(sem, "calls", "change", NULL)), 9);
	assert_true(json_is_null(at(sem, "calls", "change_pct", NULL)));
	assert_int_equal(json_integer_value(at(d, "bytes_total", "calls", "after")), 13);
	/* the parts: data movement is transfer, wait, (de)serialization and copy */
	json_t *move = json_array_get(at(d, "time", "parts", NULL), 0);
	assert_string_equal(json_string_value(json_object_get(move, "part")), "data_movement");
	assert_int_equal(json_integer_value(at(move, "ns", "before", NULL)), 500);
	assert_true(json_number_value(at(move, "share", "before", NULL)) == 0.5);
	/* not measured (sync_wait null): null both sides, null change */
	size_t i;
	json_t *p;
	json_array_foreach(at(d, "time", "parts", NULL), i, p)
	{
		if (strcmp(json_string_value(json_object_get(p, "part")), "sync_wait"))
			continue;
		assert_true(json_is_null(at(p, "ns", "before", NULL)));
		assert_true(json_is_null(at(p, "ns", "change", NULL)));
	}
	char out[96];
	ipcprof_diff_fmt_change(at(d, "run", "wall_ns", NULL), IPCPROF_DIFF_NS, out, sizeof(out));
	assert_string_equal(out, "-500 ns (-25.0%)");
	ipcprof_diff_fmt_change(at(sem, "calls", NULL, NULL), IPCPROF_DIFF_COUNT, out, sizeof(out));
	assert_string_equal(out, "+9 (new)");
	ipcprof_diff_fmt_change(at(d, "run", "workers", NULL), IPCPROF_DIFF_COUNT, out,
				sizeof(out));
	assert_string_equal(out, "=");
	ipcprof_diff_fmt_change(at(pipe, "sent", NULL, NULL), IPCPROF_DIFF_EXACT_BYTES, out,
				sizeof(out));
	assert_string_equal(out, "-1,000 (-100.0%)");
	json_decref(d);
	json_decref(b);
	json_decref(a);
}

#define PROC(i, pid, role, cmd, start, sent)                                                       \
	"{\"index\": " #i ", \"pid\": " #pid ", \"role\": \"" role "\", \"command\": \"" cmd       \
	"\", \"name\": \"x\", \"start_ns\": " #start ", \"wall_ns\": 10, \"bytes_sent\": " #sent   \
	", \"bytes_received\": 0, \"time\": {\"basis_ns\": 10, \"cpu_ns\": 5, \"compute_ns\": 5,"  \
	" \"ipc_transfer_ns\": 1, \"ipc_wait_ns\": 1, \"serialize_ns\": 0, \"deserialize_ns\": 0," \
	" \"copy_ns\": 0, \"cpu_sampled\": false, \"unknown\": [\"data_movement\"],"               \
	" \"shares\": {\"compute\": 0.5}}}"

static void test_matching(void **state)
{
	(void)state;
	/* before: main, two workers "w a" and "w b"; after: the workers started the other way
	 * round and with a third, a helper only after. The command line matches first, then the
	 * order of start within the role. */
	json_t *b =
	    report(1, 1, "",
		   "[" PROC(0, 10, "main", "m", 0, 100) "," PROC(
		       1, 11, "worker", "w a", 5, 1) "," PROC(2, 12, "worker", "w b", 6, 2) "]",
		   "[]");
	json_t *a = report(
	    1, 1, "",
	    "[" PROC(0, 20, "main", "m2", 0, 50) "," PROC(1, 21, "worker", "w b", 5, 3) "," PROC(
		2, 22, "worker", "w c", 6, 4) "," PROC(3, 23, "worker", "w a", 7,
						       5) "," PROC(4, 24, "tracker", "t", 8, 0) "]",
	    "[]");
	json_t *d = compare(b, a);
	json_t *rows = json_object_get(d, "processes");
	assert_int_equal(json_array_size(rows), 5);
	static const struct {
		int before, after;
		const char *match;
	} want[] = {
	    {10, 20, "order"},      {11, 23, "command"},    {12, 21, "command"},
	    {-1, 22, "after_only"}, {-1, 24, "after_only"},
	};
	for (size_t r = 0; r < 5; r++) {
		json_t *row = json_array_get(rows, r);
		json_t *pb = at(row, "before", "pid", NULL), *pa = at(row, "after", "pid", NULL);
		assert_int_equal(pb ? json_integer_value(pb) : -1, want[r].before);
		assert_int_equal(json_integer_value(pa), want[r].after);
		assert_string_equal(json_string_value(json_object_get(row, "match")),
				    want[r].match);
	}
	json_t *main_row = json_array_get(rows, 0);
	assert_int_equal(json_integer_value(at(main_row, "bytes_sent", "change", NULL)), -50);
	assert_true(json_is_true(at(main_row, "data_movement_unknown", "before", NULL)));
	/* a process in one run only: its other side's figures are null, and so is the change */
	json_t *only = json_array_get(rows, 3);
	assert_true(json_is_null(at(only, "wall_ns", "before", NULL)));
	assert_true(json_is_null(at(only, "wall_ns", "change", NULL)));
	json_decref(d);
	json_decref(b);
	json_decref(a);
}

#define FIND(kind, w)                                                                              \
	"{\"kind\": \"" kind "\", \"title\": \"t\", \"detail\": \"d\", \"weight_s\": " #w "}"

static void test_findings(void **state)
{
	(void)state;
	/* before's top five and after's; a kind paired with its first in after even below
	 * after's top five */
	json_t *b = report(1, 1, "", "[]",
			   "[" FIND("a", 6) "," FIND("b", 5) "," FIND("a", 4) "," FIND(
			       "c", 3) "," FIND("d", 2) "," FIND("e", 1) "]");
	json_t *a = report(1, 1, "", "[]",
			   "[" FIND("x", 9) "," FIND("x", 8) "," FIND("x", 7) "," FIND(
			       "x", 6) "," FIND("y", 5) "," FIND("a", 1) "]");
	json_t *d = compare(b, a);
	json_t *rows = json_object_get(d, "findings");
	static const struct {
		const char *kind, *status;
		int rank_before, rank_after;
	} want[] = {
	    {"a", "both", 1, 6}, {"b", "gone", 2, 0}, {"a", "gone", 3, 0}, {"c", "gone", 4, 0},
	    {"d", "gone", 5, 0}, {"x", "new", 0, 1},  {"x", "new", 0, 2},  {"x", "new", 0, 3},
	    {"x", "new", 0, 4},  {"y", "new", 0, 5},
	};
	assert_int_equal(json_array_size(rows), sizeof(want) / sizeof(want[0]));
	for (size_t r = 0; r < sizeof(want) / sizeof(want[0]); r++) {
		json_t *row = json_array_get(rows, r);
		assert_string_equal(json_string_value(json_object_get(row, "kind")), want[r].kind);
		assert_string_equal(json_string_value(json_object_get(row, "status")),
				    want[r].status);
		assert_int_equal(json_integer_value(at(row, "before", "rank", NULL)),
				 want[r].rank_before);
		assert_int_equal(json_integer_value(at(row, "after", "rank", NULL)),
				 want[r].rank_after);
	}
	assert_true(json_number_value(at(json_array_get(rows, 0), "weight_s", "change", NULL)) ==
		    -5.0);
	json_decref(d);
	json_decref(b);
	json_decref(a);
}

static void test_check(void **state)
{
	(void)state;
	char err[256];
	json_t *j = json_loads("[1]", 0, NULL);
	assert_int_equal(ipcprof_diff_check(j, err, sizeof(err)), -1);
	json_decref(j);
	j = json_loads("{\"format\": \"ipcprof-report\", \"version\": 2}", 0, NULL);
	assert_int_equal(ipcprof_diff_check(j, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "version"));
	json_decref(j);
	j = report(1, 1, "", "[]", "[]");
	json_object_del(json_object_get(j, "run"), "worker_time");
	assert_int_equal(ipcprof_diff_check(j, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "run.worker_time is missing"));
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_deltas),
	    cmocka_unit_test(test_matching),
	    cmocka_unit_test(test_findings),
	    cmocka_unit_test(test_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
