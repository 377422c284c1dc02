/* The timeline as Chrome trace-event JSON, which ui.perfetto.dev and chrome://tracing open. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* Trace pids must be unique: the hosts after the first get ranges of their own. */
static int *host_numbers(const struct ipcprof_model *m)
{
	int *host = malloc((size_t)(m->nimg ? m->nimg : 1) * sizeof(int));
	int nhost = 0;
	if (!host)
		return NULL;
	for (int i = 0; i < m->nimg; i++) {
		host[i] = -1;
		for (int j = 0; j < i && host[i] < 0; j++)
			if (!strcmp(m->img[j].proc.boot_id, m->img[i].proc.boot_id))
				host[i] = host[j];
		if (host[i] < 0)
			host[i] = nhost++;
	}
	return host;
}

/* Microseconds since the run's start, as the format wants. */
static double us(const struct ipcprof_model *m, const struct ipcprof_image *g, uint64_t t)
{
	return (double)((int64_t)t + g->clock_offset_ns - m->run_start_rt_ns) / 1e3;
}

/* A JSON string of s, which may hold anything the profiled program chose. */
static void put_string(FILE *f, const char *s, size_t maxlen)
{
	char *u = ipcprof_utf8_dup(s, maxlen);
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)(u ? u : ""); *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c < 0x20)
			fprintf(f, "\\u%04x", *c);
		else
			fputc(*c, f);
	}
	fputc('"', f);
	free(u);
}

/* Streamed, not built in memory: a run can have millions of intervals. */
int ipcprof_write_trace(const struct ipcprof_model *m, FILE *f)
{
	int *host = host_numbers(m);
	if (!host)
		return -1;
	fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n", f);
	const char *sep = "";
	for (int i = 0; i < m->nimg; i++) {
		const struct ipcprof_image *g = &m->img[i];
		long long pid = (long long)g->proc.pid + (long long)host[i] * 10000000;
		char *cmd = ipcprof_argv_join(&g->proc);
		char name[200];
		snprintf(name, sizeof(name), "%s: %.150s", g->role, cmd ? cmd : "");
		free(cmd);
		fprintf(f,
			"%s{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%lld,\"tid\":%lld,"
			"\"args\":{\"name\":",
			sep, pid, pid);
		put_string(f, name, sizeof(name));
		fprintf(f, "}},\n{\"ph\":\"X\",\"cat\":\"process\",\"name\":");
		put_string(f, g->role, sizeof(g->role));
		fprintf(f,
			",\"ts\":%.3f,\"dur\":%.3f,\"pid\":%lld,\"tid\":%lld,"
			"\"args\":{\"end_is_lower_bound\":%s}}",
			us(m, g, g->proc.start_ns), (double)g->wall_ns / 1e3, pid, pid,
			g->wall_lower_bound ? "true" : "false");
		sep = ",\n";
		for (size_t k = 0; k < g->nint; k++) {
			const struct ipcprof_interval *v = &g->intervals[k];
			int link = g->chan_link[v->channel];
			fprintf(f, ",\n{\"ph\":\"X\",\"cat\":\"ipc\",\"name\":");
			char what[200];
			snprintf(what, sizeof(what), "%s %s",
				 v->dir == IPCPROF_DIR_OUT ? "send" : "recv",
				 link >= 0 ? m->link[link].label
					   : ipcprof_kind_name(g->chan[v->channel].kind));
			put_string(f, what, sizeof(what));
			fprintf(f,
				",\"ts\":%.3f,\"dur\":%.3f,\"pid\":%lld,\"tid\":%" PRIu32
				",\"args\":{\"bytes\":%" PRIu64 ",\"calls\":%" PRIu32
				",\"channel\":%d}}",
				us(m, g, v->start_ns), (double)(v->end_ns - v->start_ns) / 1e3, pid,
				v->tid, v->bytes, v->calls, link);
		}
	}
	fputs("\n]}\n", f);
	free(host);
	return ferror(f) ? -1 : 0;
}
