/* How ipcprof diff's figures read: units, signs and labels that its text and its HTML share. */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "diff.h"
#include "report.h"

const struct ipcprof_diff_row ipcprof_diff_run_rows[] = {
    {"wall_ns", "wall time", IPCPROF_DIFF_NS},
    {"processes", "processes", IPCPROF_DIFF_COUNT},
    {"workers", "workers", IPCPROF_DIFF_COUNT},
    {"channels", "channels", IPCPROF_DIFF_COUNT},
    {"paired_channels", "  between profiled processes", IPCPROF_DIFF_COUNT},
    {"shared_memory_bytes", "bytes in shared memory", IPCPROF_DIFF_BYTES},
    {"data_movement_share", "data movement, share of worker time", IPCPROF_DIFF_SHARE},
    {"compute_to_transfer_ratio", "compute-to-transfer ratio", IPCPROF_DIFF_RATIO},
};
const size_t ipcprof_diff_nrun_rows =
    sizeof(ipcprof_diff_run_rows) / sizeof(ipcprof_diff_run_rows[0]);

/* 12800576 as "12,800,576". */
static void fmt_grouped(uint64_t v, char *out, size_t outlen)
{
	char digits[32];
	int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v);
	size_t o = 0;
	for (int i = 0; i < n && o + 2 < outlen; i++) {
		if (i && (n - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
}

/* The magnitude of v (its sign is the caller's), in unit u. */
static void fmt_abs(double v, const json_t *j, enum ipcprof_diff_unit u, char *out, size_t outlen)
{
	double a = fabs(v);
	json_int_t iv = json_integer_value(j);
	uint64_t ia = json_is_integer(j) ? (iv < 0 ? (uint64_t)0 - (uint64_t)iv : (uint64_t)iv)
		      : a < 1.8e19       ? (uint64_t)(a + 0.5)
					 : UINT64_MAX;
	switch (u) {
	case IPCPROF_DIFF_NS:
		ipcprof_fmt_ns(ia, out, outlen);
		break;
	case IPCPROF_DIFF_BYTES:
		ipcprof_fmt_bytes(ia, out, outlen);
		break;
	case IPCPROF_DIFF_EXACT_BYTES:
		fmt_grouped(ia, out, outlen);
		break;
	case IPCPROF_DIFF_COUNT:
		snprintf(out, outlen, "%llu", (unsigned long long)ia);
		break;
	case IPCPROF_DIFF_SHARE:
		snprintf(out, outlen, "%.1f%%", 100.0 * a);
		break;
	case IPCPROF_DIFF_RATIO:
		snprintf(out, outlen, "%.2f", a);
		break;
	case IPCPROF_DIFF_SECONDS:
		snprintf(out, outlen, "%.3f s", a);
		break;
	}
}

void ipcprof_diff_fmt_value(const json_t *v, enum ipcprof_diff_unit u, char *out, size_t outlen)
{
	if (!json_is_number(v)) {
		snprintf(out, outlen, "-");
		return;
	}
	double x = json_number_value(v);
	char t[64];
	fmt_abs(x, v, u, t, sizeof(t));
	snprintf(out, outlen, "%s%s", x < 0 ? "-" : "", t);
}

void ipcprof_diff_fmt_side(const json_t *delta, const char *side, const json_t *unknown,
			   enum ipcprof_diff_unit u, char *out, size_t outlen)
{
	const json_t *v = json_object_get(delta, side);
	ipcprof_diff_fmt_value(v, u, out, outlen);
	size_t n = strlen(out);
	if (json_is_number(v) && json_is_true(json_object_get(unknown, side)) && n + 1 < outlen) {
		out[n] = '?';
		out[n + 1] = '\0';
	}
}

void ipcprof_diff_fmt_change(const json_t *delta, enum ipcprof_diff_unit u, char *out,
			     size_t outlen)
{
	const json_t *c = json_object_get(delta, "change");
	const json_t *p = json_object_get(delta, "change_pct");
	if (!json_is_number(c)) {
		snprintf(out, outlen, "-");
		return;
	}
	double x = json_number_value(c);
	if (x == 0) {
		snprintf(out, outlen, "=");
		return;
	}
	char t[64], pct[32];
	if (u == IPCPROF_DIFF_SHARE)
		snprintf(t, sizeof(t), "%.1f pts", 100.0 * fabs(x));
	else
		fmt_abs(x, c, u, t, sizeof(t));
	if (!json_is_number(p))
		snprintf(pct, sizeof(pct), "new");
	else
		snprintf(pct, sizeof(pct),
			 fabs(json_number_value(p)) < 1000 ? "%+.1f%%" : "%+.0f%%",
			 json_number_value(p));
	snprintf(out, outlen, "%s%s (%s)", x < 0 ? "-" : "+", t, pct);
}
