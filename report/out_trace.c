/* The timeline as Chrome trace-event JSON, which ui.perfetto.dev and chrome://tracing open. */
#include <jansson.h>
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

static double us(const struct ipcprof_model *m, const struct ipcprof_image *g, uint64_t t)
{
        return (double)((int64_t)t + g->clock_offset_ns - m->run_start_rt_ns) / 1e3;
}

int ipcprof_write_trace(const struct ipcprof_model *m, const char *path)
{
        int *host = host_numbers(m);
        if (!host)
                return -1;
        json_t *ev = json_array();
        for (int i = 0; i < m->nimg; i++) {
                const struct ipcprof_image *g = &m->img[i];
                json_int_t pid = (json_int_t)g->proc.pid + (json_int_t)host[i] * 10000000;
                char *cmd = ipcprof_argv_join(&g->proc);
                char name[160];
                snprintf(name, sizeof(name), "%s: %.120s", g->role, cmd ? cmd : "");
                free(cmd);
                char *uname = ipcprof_utf8_dup(name, sizeof(name));
                json_array_append_new(ev, json_pack("{s:s, s:s, s:I, s:I, s:{s:s}}", "ph", "M",
                                                    "name", "process_name", "pid", pid, "tid", pid,
                                                    "args", "name", uname ? uname : ""));
                free(uname);
                json_array_append_new(
                    ev, json_pack("{s:s, s:s, s:s, s:f, s:f, s:I, s:I, s:{s:b}}", "ph", "X", "cat",
                                  "process", "name", g->role, "ts", us(m, g, g->proc.start_ns),
                                  "dur", (double)g->wall_ns / 1e3, "pid", pid, "tid", pid, "args",
                                  "end_is_lower_bound", g->wall_lower_bound));
                for (size_t k = 0; k < g->nint; k++) {
                        const struct ipcprof_interval *v = &g->intervals[k];
                        int link = g->chan_link[v->channel];
                        char what[200];
                        snprintf(what, sizeof(what), "%s %s",
                                 v->dir == IPCPROF_DIR_OUT ? "send" : "recv",
                                 link >= 0 ? m->link[link].label
                                           : ipcprof_kind_name(g->chan[v->channel].kind));
                        char *uw = ipcprof_utf8_dup(what, sizeof(what));
                        json_array_append_new(
                            ev,
                            json_pack("{s:s, s:s, s:s, s:f, s:f, s:I, s:I, s:{s:I, s:i, s:i}}",
                                      "ph", "X", "cat", "ipc", "name", uw ? uw : "", "ts",
                                      us(m, g, v->start_ns), "dur",
                                      (double)(v->end_ns - v->start_ns) / 1e3, "pid", pid, "tid",
                                      (json_int_t)v->tid, "args", "bytes", (json_int_t)v->bytes,
                                      "calls", (int)v->calls, "channel", link));
                        free(uw);
                }
        }
        json_t *root = json_pack("{s:o, s:s}", "traceEvents", ev, "displayTimeUnit", "ms");
        free(host);
        int rc = json_dump_file(root, path, JSON_COMPACT);
        json_decref(root);
        return rc;
}
