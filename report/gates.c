/* CI gates: parses --fail-if expressions and checks them against a report's JSON document. */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gates.h"
#include "report.h"

const char *const ipcprof_finding_kinds[] = {
    "repeated_payload",
    "small_messages",
    "low_compute_ratio",
    "slow_reader",
    "incomplete",
    "serialization",
    "io_uring",
    "kernel_gap",
    "shared_memory",
    "shared_segments",
    "copied_data",
    NULL,
};

enum unit { SHARE, BYTES, SECONDS, COUNT };
enum op { GT, GE, LT, LE, EQ, NE };
static const char *const op_text[] = {">", ">=", "<", "<=", "==", "!="};

/* The figures a gate can name: the JSON's own names, read from where the report keeps them. */
static const struct figure {
	const char *name;
	enum unit unit;
} figures[] = {
    /* run.worker_time.shares.NAME: fractions of the workers' time, as the verdict uses */
    {"data_movement", SHARE},
    {"compute", SHARE},
    {"ipc_transfer", SHARE},
    {"ipc_wait", SHARE},
    {"ipc_idle", SHARE},
    {"serialization", SHARE},
    {"serialize", SHARE},
    {"deserialize", SHARE},
    {"copy", SHARE},
    {"sync_wait", SHARE},
    {"other", SHARE},
    /* run.bytes_by_kind[].sent summed (bytes.KIND: one kind's), run.shared_memory_bytes */
    {"bytes", BYTES},
    {"shared_memory_bytes", BYTES},
    /* run.wall_ns in seconds; run.processes, run.workers */
    {"wall", SECONDS},
    {"processes", COUNT},
    {"workers", COUNT},
};
#define NFIGURES     (int)(sizeof(figures) / sizeof(figures[0]))
#define FIGURE_BYTES 11

static const char *skip_space(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.';
}

static bool known_finding(const char *k)
{
	for (int i = 0; ipcprof_finding_kinds[i]; i++)
		if (!strcmp(k, ipcprof_finding_kinds[i]))
			return true;
	return !strcmp(k, "any");
}

static bool known_channel_kind(const char *k)
{
	for (uint32_t i = 1; i < IPCPROF_KIND_COUNT; i++)
		if (!strcmp(k, ipcprof_kind_name(i)))
			return true;
	return false;
}

/* The suffix's multiplier for a limit in unit u, or 0 when it is not one of the unit's. */
static double suffix_scale(enum unit u, const char *s)
{
	static const struct {
		enum unit unit;
		const char *suffix;
		double scale;
	} t[] = {
	    {SHARE, "", 1},
	    {SHARE, "%", 0.01},
	    {BYTES, "", 1},
	    {BYTES, "b", 1},
	    {BYTES, "k", 1e3},
	    {BYTES, "kb", 1e3},
	    {BYTES, "m", 1e6},
	    {BYTES, "mb", 1e6},
	    {BYTES, "g", 1e9},
	    {BYTES, "gb", 1e9},
	    {BYTES, "t", 1e12},
	    {BYTES, "tb", 1e12},
	    {BYTES, "ki", 1024.0},
	    {BYTES, "kib", 1024.0},
	    {BYTES, "mi", 1048576.0},
	    {BYTES, "mib", 1048576.0},
	    {BYTES, "gi", 1073741824.0},
	    {BYTES, "gib", 1073741824.0},
	    {SECONDS, "", 1},
	    {SECONDS, "s", 1},
	    {SECONDS, "ms", 1e-3},
	    {SECONDS, "us", 1e-6},
	    {SECONDS, "ns", 1e-9},
	    {SECONDS, "min", 60},
	    {COUNT, "", 1},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].unit == u && !strcasecmp(s, t[i].suffix))
			return t[i].scale;
	return 0;
}

static const char *const unit_help[] = {
    [SHARE] = "a fraction of the workers' time from 0 to 1, or a percentage (0.5 or 50%)",
    [BYTES] = "a number of bytes, with K, M, G or T (powers of 1000) or Ki, Mi, Gi (of 1024)",
    [SECONDS] = "seconds, or a number with ms, us, s or min",
    [COUNT] = "a whole number",
};

static int fail(char *err, size_t errlen, const char *expr, const char *why)
{
	snprintf(err, errlen, "--fail-if '%s': %s", expr, why);
	return -1;
}

int ipcprof_gate_add(struct ipcprof_gates *gs, const char *expr, char *err, size_t errlen)
{
	struct ipcprof_gate g = {.figure = -1};
	char name[64], why[512];
	const char *s = skip_space(expr);
	size_t n = 0;
	while (is_name_char(s[n]))
		n++;
	if (!n || n >= sizeof(name))
		return fail(
		    err, errlen, expr,
		    "a gate is FIGURE OP NUMBER (OP: >, >=, <, <=, ==, !=) or 'finding KIND'");
	memcpy(name, s, n);
	name[n] = '\0';
	s = skip_space(s + n);
	if (!strcmp(name, "finding")) {
		n = 0;
		while (is_name_char(s[n]))
			n++;
		if (!n || n >= sizeof(g.kind) || *skip_space(s + n))
			return fail(err, errlen, expr, "'finding' wants one finding kind (or any)");
		memcpy(g.kind, s, n);
		g.kind[n] = '\0';
		if (!known_finding(g.kind)) {
			int o = snprintf(why, sizeof(why), "no finding is of kind '%s'; kinds: any",
					 g.kind);
			for (int i = 0; ipcprof_finding_kinds[i] && o < (int)sizeof(why); i++)
				o += snprintf(why + o, sizeof(why) - (size_t)o, ", %s",
					      ipcprof_finding_kinds[i]);
			return fail(err, errlen, expr, why);
		}
	} else {
		const char *dot = strchr(name, '.');
		if (dot && !strncmp(name, "bytes.", 6)) {
			if (!known_channel_kind(dot + 1)) {
				int o = snprintf(why, sizeof(why),
						 "no channel is of kind '%s'; kinds:", dot + 1);
				for (uint32_t i = 1; i < IPCPROF_KIND_COUNT && o < (int)sizeof(why);
				     i++)
					o += snprintf(why + o, sizeof(why) - (size_t)o, " %s",
						      ipcprof_kind_name(i));
				return fail(err, errlen, expr, why);
			}
			snprintf(g.kind, sizeof(g.kind), "%s", dot + 1);
			g.figure = FIGURE_BYTES;
		} else {
			for (int i = 0; i < NFIGURES; i++)
				if (!strcmp(name, figures[i].name))
					g.figure = i;
		}
		if (g.figure < 0) {
			int o =
			    snprintf(why, sizeof(why), "no figure is named '%s'; figures:", name);
			for (int i = 0; i < NFIGURES && o < (int)sizeof(why); i++)
				o += snprintf(why + o, sizeof(why) - (size_t)o, " %s",
					      figures[i].name);
			snprintf(why + o, sizeof(why) - (size_t)o, " bytes.KIND");
			return fail(err, errlen, expr, why);
		}
		/* Two-character operators first: ">=" is not ">" followed by "=5". */
		static const int order[] = {GE, LE, EQ, NE, GT, LT};
		g.op = -1;
		for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
			size_t l = strlen(op_text[order[i]]);
			if (!strncmp(s, op_text[order[i]], l)) {
				g.op = order[i];
				s += l;
				break;
			}
		}
		if (g.op < 0)
			return fail(err, errlen, expr,
				    "a comparison (>, >=, <, <=, ==, !=) must follow the figure");
		s = skip_space(s);
		char *end;
		errno = 0;
		double v = strtod(s, &end);
		enum unit u = figures[g.figure].unit;
		bool decimal = end > s && (*s == '.' || isdigit((unsigned char)*s));
		for (const char *c = s; c < end; c++)
			decimal &= !strchr("xXpP", *c); /* strtod's hexadecimal floats */
		if (!decimal || errno || !isfinite(v) || v < 0) {
			snprintf(why, sizeof(why), "%s wants %s", name, unit_help[u]);
			return fail(err, errlen, expr, why);
		}
		/* "5M", "5 MB" and "5MB " alike */
		char suffix[8] = "";
		const char *tail = skip_space(end);
		n = strlen(tail);
		while (n && isspace((unsigned char)tail[n - 1]))
			n--;
		double scale = 0;
		if (n < sizeof(suffix)) {
			memcpy(suffix, tail, n);
			suffix[n] = '\0';
			scale = suffix_scale(u, suffix);
		}
		if (scale == 0 || (u == SHARE && v * scale > 1) || (u == COUNT && v != floor(v))) {
			snprintf(why, sizeof(why), "%s wants %s", name, unit_help[u]);
			return fail(err, errlen, expr, why);
		}
		g.limit = v * scale;
	}
	struct ipcprof_gate *ng = realloc(gs->g, (size_t)(gs->n + 1) * sizeof(*ng));
	if (!ng || !(g.text = strdup(expr))) {
		if (ng)
			gs->g = ng;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	gs->g = ng;
	gs->g[gs->n++] = g;
	return 0;
}

void ipcprof_gates_free(struct ipcprof_gates *gs)
{
	for (int i = 0; i < gs->n; i++)
		free(gs->g[i].text);
	free(gs->g);
	gs->g = NULL;
	gs->n = 0;
}

static double json_num(const json_t *j)
{
	return json_is_number(j) ? json_number_value(j) : NAN;
}

/* The figure's value in the report, NAN when the report has none (a null share). */
static double figure_value(const struct ipcprof_gate *g, const json_t *report)
{
	const json_t *run = json_object_get(report, "run");
	const struct figure *f = &figures[g->figure];
	switch (f->unit) {
	case SHARE:
		return json_num(json_object_get(
		    json_object_get(json_object_get(run, "worker_time"), "shares"), f->name));
	case BYTES: {
		if (strcmp(f->name, "bytes"))
			return json_num(json_object_get(run, f->name));
		const json_t *kinds = json_object_get(run, "bytes_by_kind");
		if (!json_is_array(kinds))
			return NAN;
		double sum = 0;
		size_t i;
		const json_t *k;
		json_array_foreach(kinds, i, k)
		{
			const char *kn = json_string_value(json_object_get(k, "kind"));
			if (!g->kind[0] || (kn && !strcmp(kn, g->kind)))
				sum += json_num(json_object_get(k, "sent"));
		}
		return sum;
	}
	case SECONDS:
		return json_num(json_object_get(run, "wall_ns")) / 1e9;
	case COUNT:
		return json_num(json_object_get(run, f->name));
	}
	return NAN;
}

static bool compare(double v, int op, double limit)
{
	switch (op) {
	case GT:
		return v > limit;
	case GE:
		return v >= limit;
	case LT:
		return v < limit;
	case LE:
		return v <= limit;
	case EQ:
		return v == limit;
	default:
		return v != limit;
	}
}

/* The value as the report would show it: "0.977 (97.7%)", "160,001,832 bytes (160.0 MB)". */
static void show_value(enum unit u, double v, char *out, size_t len)
{
	char human[32];
	switch (u) {
	case SHARE:
		snprintf(out, len, "%.3f (%.1f%%)", v, 100 * v);
		break;
	case BYTES:
		ipcprof_fmt_bytes((uint64_t)v, human, sizeof(human));
		snprintf(out, len, "%.0f bytes (%s)", v, human);
		break;
	case SECONDS:
		snprintf(out, len, "%.3f s", v);
		break;
	case COUNT:
		snprintf(out, len, "%.0f", v);
		break;
	}
}

static bool check_finding(const struct ipcprof_gate *g, const json_t *report, bool quiet)
{
	const json_t *fs = json_object_get(report, "findings");
	size_t i, count = 0;
	const json_t *f, *first = NULL;
	json_array_foreach(fs, i, f)
	{
		const char *k = json_string_value(json_object_get(f, "kind"));
		if (k && (!strcmp(g->kind, "any") || !strcmp(k, g->kind))) {
			count++;
			first = first ? first : f;
		}
	}
	if (first) {
		const char *title = json_string_value(json_object_get(first, "title"));
		ipcprof_say("ipcprof: gate crossed: --fail-if '%s': %zu finding%s: %s", g->text,
			    count, count == 1 ? "" : "s", title ? title : "");
	} else if (!quiet) {
		ipcprof_say("ipcprof: gate held: --fail-if '%s': no such finding", g->text);
	}
	return first != NULL;
}

int ipcprof_gates_check(const struct ipcprof_gates *gs, const json_t *report, bool quiet)
{
	int crossed = 0;
	for (int i = 0; i < gs->n; i++) {
		const struct ipcprof_gate *g = &gs->g[i];
		if (g->figure < 0) {
			crossed += check_finding(g, report, quiet);
			continue;
		}
		const struct figure *f = &figures[g->figure];
		double v = figure_value(g, report);
		char shown[64];
		if (isnan(v)) {
			ipcprof_say(
			    "ipcprof: gate crossed: --fail-if '%s': the report has no figure "
			    "for %s (null: see docs/report.md), so the gate cannot hold",
			    g->text, f->name);
			crossed++;
			continue;
		}
		show_value(f->unit, v, shown, sizeof(shown));
		if (compare(v, g->op, g->limit)) {
			ipcprof_say("ipcprof: gate crossed: --fail-if '%s': %s%s%s is %s", g->text,
				    f->name, g->kind[0] ? "." : "", g->kind, shown);
			crossed++;
		} else if (!quiet) {
			ipcprof_say("ipcprof: gate held: --fail-if '%s': %s%s%s is %s", g->text,
				    f->name, g->kind[0] ? "." : "", g->kind, shown);
		}
	}
	return crossed;
}
