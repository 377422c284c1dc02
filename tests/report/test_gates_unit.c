/* Unit tests of the gates: what parses (and into what limit), what is refused, how each decides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>
#include <jansson.h>

#include "gates.h"

static void test_parse(void **state)
{
	(void)state;
	static const struct {
		const char *expr;
		double limit;
	} good[] = {
	    {"data_movement > 0.5", 0.5},
	    {"data_movement>=50%", 0.5},
	    {"  copy<0.25 ", 0.25},
	    {"bytes > 1.5G", 1.5e9},
	    {"bytes > 2 MiB", 2097152},
	    {"bytes.tcp == 0", 0},
	    {"wall > 90", 90},
	    {"wall <= 250ms", 0.25},
	    {"wall != 2min", 120},
	    {"workers == 4", 4},
	    {"finding repeated_payload", 0},
	    {"finding any", 0},
	};
	char err[1024];
	struct ipcprof_gates gs = {0};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (ipcprof_gate_add(&gs, good[i].expr, err, sizeof(err)) != 0)
			fail_msg("'%s' refused: %s", good[i].expr, err);
		assert_int_equal(gs.n, (int)i + 1);
		assert_string_equal(gs.g[i].text, good[i].expr);
		double want = good[i].limit, got = gs.g[i].limit;
		if (fabs(got - want) > 1e-12 * (want > 1 ? want : 1))
			fail_msg("%s: limit %g, want %g", good[i].expr, gs.g[i].limit,
				 good[i].limit);
	}
	static const char *const bad[] = {
	    "",
	    "data_movment > 0.5",
	    "data_movement > 1.5",
	    "data_movement > 50",
	    "bytes > 5X",
	    "bytes.pip > 1",
	    "wall",
	    "wall > -1",
	    "wall >> 1",
	    "workers > 1.5",
	    "finding",
	    "finding nosuch",
	    "finding a b",
	    "wall > 1 s s",
	    "wall > nan",
	    "wall > inf",
	    "bytes > 0x10",
	    "wall > 1e999",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (ipcprof_gate_add(&gs, bad[i], err, sizeof(err)) == 0)
			fail_msg("'%s' was taken", bad[i]);
		char want[128];
		snprintf(want, sizeof(want), "--fail-if '%s': ", bad[i]);
		assert_memory_equal(err, want, strlen(want));
	}
	assert_int_equal(gs.n, (int)(sizeof(good) / sizeof(good[0])));
	ipcprof_gates_free(&gs);
	assert_int_equal(gs.n, 0);
}

static int crossed(const char *expr, const char *report)
{
	char err[1024];
	struct ipcprof_gates gs = {0};
	assert_int_equal(ipcprof_gate_add(&gs, expr, err, sizeof(err)), 0);
	json_t *j = json_loads(report, 0, NULL);
	assert_non_null(j);
	int n = ipcprof_gates_check(&gs, j, true);
	json_decref(j);
	ipcprof_gates_free(&gs);
	return n;
}

static void test_check(void **state)
{
	(void)state;
	const char *r = "{\"run\": {\"wall_ns\": 2500000000, \"processes\": 5, \"workers\": 4,"
			" \"shared_memory_bytes\": 0, \"worker_time\": {\"shares\": {"
			"\"data_movement\": 0.75, \"serialization\": null}},"
			" \"bytes_by_kind\": [{\"kind\": \"pipe\", \"sent\": 3000},"
			" {\"kind\": \"tcp\", \"sent\": 500}]},"
			" \"findings\": [{\"kind\": \"slow_reader\", \"title\": \"t\"}]}";
	assert_int_equal(crossed("data_movement > 0.5", r), 1);
	assert_int_equal(crossed("data_movement > 75%", r), 0);
	assert_int_equal(crossed("data_movement >= 75%", r), 1);
	assert_int_equal(crossed("bytes > 3.4K", r), 1);
	assert_int_equal(crossed("bytes > 3.5K", r), 0);
	assert_int_equal(crossed("bytes.tcp == 500", r), 1);
	assert_int_equal(crossed("bytes.unix_stream > 0", r), 0);
	assert_int_equal(crossed("wall > 2.5", r), 0);
	assert_int_equal(crossed("wall >= 2500ms", r), 1);
	assert_int_equal(crossed("workers < 4", r), 0);
	assert_int_equal(crossed("processes == 5", r), 1);
	assert_int_equal(crossed("finding slow_reader", r), 1);
	assert_int_equal(crossed("finding repeated_payload", r), 0);
	assert_int_equal(crossed("finding any", r), 1);
	/* no figure: the gate cannot hold */
	assert_int_equal(crossed("serialization < 1", r), 1);
	assert_int_equal(crossed("copy < 1", r), 1);
	assert_int_equal(crossed("finding any", "{\"run\": {}, \"findings\": []}"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
