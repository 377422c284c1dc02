/* The report as JSON (ipcprof-report.schema.json): every figure the HTML and the summary show. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ipcprof_config.h"
#include "report.h"

#define CALL_SITES_SHOWN 30

static json_t *jstr(const char *s, size_t maxlen)
{
	char *u = ipcprof_utf8_dup(s, maxlen);
	json_t *j = u ? json_string(u) : NULL;
	free(u);
	return j ? j : json_string("");
}

/* Zeros and unused directions are most of the figures: one shared, reference-counted value each
 * keeps a report of thousands of channels from making millions of small allocations. */
static json_t *zero, *unused_dir;

static json_t *ju(uint64_t v)
{
	if (!v && zero)
		return json_incref(zero);
	return json_integer((json_int_t)(v > (uint64_t)INT64_MAX ? INT64_MAX : v));
}

static json_t *share(uint64_t part, uint64_t whole)
{
	return whole ? json_real((double)part / (double)whole) : json_real(0);
}

static const char *origin_name(uint32_t o)
{
	switch (o) {
	case IPCPROF_ORIGIN_ROOT:
		return "root";
	case IPCPROF_ORIGIN_FORK:
		return "fork";
	case IPCPROF_ORIGIN_EXEC:
		return "exec";
	case IPCPROF_ORIGIN_SPAWN:
		return "spawn";
	default:
		return "unknown";
	}
}

static const char *end_name(uint32_t e)
{
	switch (e) {
	case IPCPROF_END_EXIT:
		return "exit";
	case IPCPROF_END_EXEC:
		return "exec";
	case IPCPROF_END_SIGNAL:
		return "signal";
	default:
		return "unseen";
	}
}

static json_t *attr_json(const struct ipcprof_attr *a)
{
	uint64_t move = ipcprof_attr_moving(a);
	uint64_t ser = a->serialize_ns + a->deserialize_ns;
	const char *split = !a->ipc_ns             ? "no_ipc"
			    : a->split_kernel      ? "kernel"
			    : a->split_cpu_samples ? "cpu_samples"
			    : a->split_sampled     ? "sampled"
						   : "none";
	json_t *sh = json_pack(
	    "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "compute",
	    share(a->compute_ns, a->basis_ns), "ipc_transfer",
	    share(a->ipc_transfer_ns, a->basis_ns), "ipc_wait", share(a->ipc_wait_ns, a->basis_ns),
	    "serialization", a->cpu_sampled ? share(ser, a->basis_ns) : json_null(), "serialize",
	    share(a->serialize_ns, a->basis_ns), "deserialize",
	    share(a->deserialize_ns, a->basis_ns), "copy", share(a->copy_ns, a->basis_ns), "other",
	    share(a->other_ns, a->basis_ns), "sync_wait",
	    a->has_sync ? share(a->sync_wait_ns, a->basis_ns) : json_null(), "data_movement",
	    share(move, a->basis_ns));
	json_t *j = json_pack(
	    "{s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o}", "basis_ns",
	    ju(a->basis_ns), "basis", a->basis_thread_sum ? "thread_sum" : "wall", "cpu_ns",
	    ju(a->cpu_ns), "ipc_ns", ju(a->ipc_ns), "compute_ns", ju(a->compute_ns),
	    "ipc_transfer_ns", ju(a->ipc_transfer_ns), "ipc_wait_ns", ju(a->ipc_wait_ns),
	    "serialization_ns", a->cpu_sampled ? ju(ser) : json_null(), "other_ns", ju(a->other_ns),
	    "sync_wait_ns", a->has_sync ? ju(a->sync_wait_ns) : json_null(), "split", split,
	    "shares", sh);
	json_object_set_new(j, "serialize_ns", ju(a->serialize_ns));
	json_object_set_new(j, "deserialize_ns", ju(a->deserialize_ns));
	json_object_set_new(j, "copy_ns", ju(a->copy_ns));
	json_object_set_new(j, "serialize_wait_ns", ju(a->serialize_wait_ns));
	json_object_set_new(j, "deserialize_wait_ns", ju(a->deserialize_wait_ns));
	json_object_set_new(j, "copy_wait_ns", ju(a->copy_wait_ns));
	json_object_set_new(j, "compute_wait_ns", ju(a->compute_wait_ns));
	json_object_set_new(j, "cpu_sampled", json_boolean(a->cpu_sampled));
	json_object_set_new(j, "ipc_idle_ns", ju(a->ipc_idle_ns));
	json_object_set_new(j, "wait_split", json_boolean(a->wait_split));
	/* What the evidence cannot tell is said, not guessed (docs/shares.md). */
	json_t *unknown = json_array();
	bool no_cpu = !(a->cpu_sampled || a->sampler_on) || (a->ipc_ns && a->split_unknown);
	if (no_cpu)
		json_array_append_new(unknown, json_string("compute"));
	if (no_cpu || (a->ipc_wait_ns && !a->wait_split))
		json_array_append_new(unknown, json_string("data_movement"));
	if (a->ipc_wait_ns && !a->wait_split)
		json_array_append_new(unknown, json_string("waiting_for_work"));
	json_object_set_new(j, "unknown", unknown);
	json_object_set_new(sh, "ipc_idle", share(a->ipc_idle_ns, a->basis_ns));
	return j;
}

static const char *prof_state_name(uint32_t s)
{
	switch (s) {
	case IPCPROF_PROF_ON:
		return "on";
	case IPCPROF_PROF_NO_UNWIND:
		return "no_unwind";
	case IPCPROF_PROF_YIELDED:
		return "yielded";
	case IPCPROF_PROF_FAILED:
		return "failed";
	default:
		return "off";
	}
}

/* The CPU sampler's figures of one image: what it saw, by category. */
/* The process's CPython, when its stacks have Python frames (or could not have them). */
static json_t *python_json(const struct ipcprof_image *g)
{
	static const char *const states[] = {"none", "on", "unsupported"};
	const struct ipcprof_python *py = &g->py;
	char ver[32] = "";
	if (py->version)
		snprintf(ver, sizeof(ver), "%u.%u.%u", py->version >> 24, py->version >> 16 & 0xff,
			 py->version >> 8 & 0xff);
	return json_pack("{s:s, s:o, s:o, s:o}", "state",
			 py->state < 3 ? states[py->state] : "unknown", "version",
			 ver[0] ? json_string(ver) : json_null(), "code_objects", ju(py->codes),
			 "code_objects_dropped", ju(py->codes_dropped));
}

/* A kernel figure the probes count only without the preload (syscalls mode): null, not 0, where
 * they ran beside it (sched mode) and did not count it. */
static json_t *counted(const struct ipcprof_image *g, uint64_t v)
{
	return g->kernel_sched ? json_null() : ju(v);
}

static json_t *cpu_json(const struct ipcprof_image *g)
{
	const struct ipcprof_profile *p = &g->prof;
	json_t *j =
	    json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "state",
		      prof_state_name(p->state), "hz", ju(p->hz), "period_ns", ju(p->period_ns),
		      "samples", ju(p->samples), "weight", ju(p->weight), "dropped", ju(p->dropped),
		      "threads", ju(p->threads), "stacks", ju(g->nsample));
	static const char *const key[IPCPROF_NCAT] = {"serialize_ns", "deserialize_ns", "copy_ns",
						      "ipc_ns", "compute_ns"};
	json_t *wait = json_object();
	for (int c = 0; c < IPCPROF_NCAT; c++) {
		json_object_set_new(j, key[c], ju(ipcprof_cat_ns(g, c)));
		json_object_set_new(wait, ipcprof_cat_names[c], ju(g->cat_wait[c]));
	}
	json_object_set_new(j, "wait_ns", wait);
	json_object_set_new(j, "damaged_entries", ju(g->sample_bad_entries));
	return j;
}

static int64_t rel_ns(const struct ipcprof_model *m, const struct ipcprof_image *g, uint64_t t)
{
	return (int64_t)t + g->clock_offset_ns - m->run_start_rt_ns;
}

static json_t *argv_json(const struct ipcprof_process *p)
{
	json_t *a = json_array();
	size_t n = p->argv_len < sizeof(p->argv) ? p->argv_len : sizeof(p->argv) - 1;
	for (size_t i = 0; i < n;) {
		size_t l = strnlen(p->argv + i, n - i);
		if (l || i + 1 < n)
			json_array_append_new(a, jstr(p->argv + i, l + 1));
		i += l + 1;
	}
	return a;
}

/* Where the kernel's bytes on a channel kind differ from the preload's: shown, not hidden. */
static json_t *kernel_gaps_json(const struct ipcprof_image *g)
{
	struct ipcprof_kernel_gap gap[IPCPROF_KERNEL_GAPS_MAX];
	int n = ipcprof_kernel_gaps(g, gap);
	json_t *a = json_array();
	for (int i = 0; i < n && a; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:o, s:o, s:o}", "kind",
						   ipcprof_kind_name(gap[i].kind), "direction",
						   gap[i].dir == IPCPROF_DIR_OUT ? "out" : "in",
						   "kernel_bytes", ju(gap[i].kernel_bytes),
						   "preload_bytes", ju(gap[i].preload_bytes),
						   "difference",
						   json_integer((json_int_t)gap[i].kernel_bytes -
								(json_int_t)gap[i].preload_bytes)));
	return a;
}

/* The profiler's own cost (summary.c), of one process or the run. */
static json_t *overhead_json(const struct ipcprof_overhead *o, bool run)
{
	json_t *j =
	    json_pack("{s:o, s:o, s:o, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:f, s:b}", "calls",
		      ju(o->calls), "timed_calls", ju(o->timed_calls), "samples", ju(o->samples),
		      "python_samples", o->python_samples, "probe_events", ju(o->probe_events),
		      "preload_ns", ju(o->preload_ns), "sampler_ns", ju(o->sampler_ns), "start_ns",
		      ju(o->start_ns), "probes_ns", ju(o->probes_ns), "total_ns", ju(o->total_ns),
		      "cpu_ns", ju(o->cpu_ns), "share_of_cpu", o->share, "warning", o->warn);
	if (run) {
		json_object_set_new(j, "processes_warned", json_integer(o->processes_warned));
		json_object_set_new(j, "warning_share", json_real(IPCPROF_OVERHEAD_WARN_SHARE));
		json_object_set_new(j, "warning_min_ns", ju(IPCPROF_OVERHEAD_WARN_MIN_NS));
		json_object_set_new(j, "method", json_string(ipcprof_overhead_method()));
	}
	return j;
}

static json_t *serial_json(const struct ipcprof_model *m)
{
	struct ipcprof_serial s;
	ipcprof_serial_estimate(m, &s);
	return json_pack(
	    "{s:o, s:o, s:o, s:o, s:b, s:s, s:s}", "serial_ns", ju(s.serial_ns), "wall_ns",
	    ju(s.wall_ns), "left_out_ns", ju(s.left_out_ns), "speedup",
	    s.wall_ns ? json_real((double)s.serial_ns / (double)s.wall_ns) : json_null(), "sampled",
	    s.sampled, "sentence", s.sentence, "method", ipcprof_serial_method());
}

static json_t *process_json(const struct ipcprof_model *m, int i)
{
	const struct ipcprof_image *g = &m->img[i];
	const struct ipcprof_process *p = &g->proc;
	char *cmd = ipcprof_argv_join(p);
	json_t *j = json_pack(
	    "{s:i, s:i, s:i, s:i, s:i, s:o, s:s, s:s, s:i, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:i, "
	    "s:o, s:I, s:I, s:o, s:b, s:b}",
	    "index", i, "pid", p->pid, "seq", (int)p->seq, "ppid", p->ppid, "parent_pid",
	    p->parent_pid, "parent", g->parent >= 0 ? json_integer(g->parent) : json_null(),
	    "origin", origin_name(p->origin), "end", end_name(p->end_how), "exit_status",
	    p->exit_status, "signal", p->term_signal, "exe", jstr(p->exe, sizeof(p->exe)), "argv",
	    argv_json(p), "command", json_string(cmd ? cmd : ""), "hostname",
	    jstr(p->hostname, sizeof(p->hostname)), "role", jstr(g->role, sizeof(g->role)), "file",
	    jstr(g->file, strlen(g->file) + 1), "session", g->session, "time", attr_json(&g->attr),
	    "start_ns", (json_int_t)rel_ns(m, g, p->start_ns), "end_ns",
	    (json_int_t)rel_ns(m, g, g->end_ns), "wall_ns", ju(g->wall_ns), "wall_lower_bound",
	    g->wall_lower_bound, "damaged", g->damaged);
	free(cmd);
	json_object_set_new(j, "cpu", cpu_json(g));
	/* Beside "exe", which names the file the link led to. */
	const char *name = ipcprof_process_name(p);
	json_object_set_new(j, "name", jstr(name, strlen(name) + 1));
	json_object_set_new(j, "pidns", ju(p->pidns));
	json_object_set_new(j, "io_uring",
			    json_pack("{s:o, s:b}", "rings", ju(g->uring.rings), "bytes_known",
				      g->uring.rings == 0));
	json_object_set_new(j, "python", python_json(g));
	json_object_set_new(j, "bytes_sent", ju(g->bytes_out));
	json_object_set_new(j, "bytes_received", ju(g->bytes_in));
	json_object_set_new(j, "rusage",
			    json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "user_ns",
				      ju(p->user_ns), "sys_ns", ju(p->sys_ns), "minflt",
				      ju(p->minflt), "majflt", ju(p->majflt), "nvcsw", ju(p->nvcsw),
				      "nivcsw", ju(p->nivcsw), "maxrss_kb", ju(p->maxrss_kb)));
	const struct ipcprof_dropped *d = &g->dropped;
	json_object_set_new(
	    j, "dropped",
	    json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "channels", ju(d->channels),
		      "mappings", ju(d->mappings), "fingerprints", ju(d->fingerprints), "stacks",
		      ju(d->stacks), "modules", ju(d->modules), "intervals",
		      ju(d->intervals + g->intervals_lost), "untracked_fds", ju(d->untracked_fds),
		      "internal_errors", ju(d->internal_errors)));
	json_object_set_new(
	    j, "kernel",
	    g->kernel ? json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "ipc_oncpu_ns",
				  ju(g->kernel_oncpu_ns), "ipc_offcpu_ns", ju(g->kernel_offcpu_ns),
				  "ipc_bytes", counted(g, g->kernel_bytes), "ipc_calls",
				  counted(g, g->kernel_calls), "futex_wait_ns",
				  ju(g->kernel_futex_ns), "poll_wait_ns", ju(g->kernel_poll_ns),
				  "shm_faults", counted(g, g->kernel_shm_faults),
				  "shm_fault_bytes", counted(g, g->kernel_shm_fault_bytes), "gaps",
				  kernel_gaps_json(g))
		      : json_null());
	struct ipcprof_overhead o;
	ipcprof_overhead_of(g, &o);
	json_object_set_new(j, "overhead", overhead_json(&o, false));
	return j;
}

static json_t *dir_json(const struct ipcprof_dir_stats *s)
{
	static const struct ipcprof_dir_stats none;
	if (unused_dir && !memcmp(s, &none, sizeof(none)))
		return json_incref(unused_dir);
	json_t *j =
	    json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "calls", ju(s->calls),
		      "bytes", ju(s->bytes), "errors", ju(s->errors), "eagain", ju(s->eagain),
		      "time_ns", ju(s->time_ns), "sampled_calls", ju(s->sampled_calls),
		      "sampled_wall_ns", ju(s->sampled_wall_ns), "sampled_cpu_ns",
		      ju(s->sampled_cpu_ns), "max_call_bytes", ju(s->max_call_bytes));
	json_object_set_new(
	    j, "oncpu_share",
	    s->sampled_wall_ns
		? json_real((double)(s->sampled_cpu_ns < s->sampled_wall_ns ? s->sampled_cpu_ns
									    : s->sampled_wall_ns) /
			    (double)s->sampled_wall_ns)
		: json_null());
	return j;
}

static json_t *flags_json(uint32_t f)
{
	static const char *names[] = {"local",    "network",  "socketpair",
				      "abstract", "created",  "connected",
				      "accepted", "fds_sent", "fds_received"};
	json_t *a = json_array();
	for (unsigned b = 0; b < sizeof(names) / sizeof(names[0]); b++)
		if (f & (1u << b))
			json_array_append_new(a, json_string(names[b]));
	return a;
}

static json_t *channel_json(const struct ipcprof_model *m, int li)
{
	const struct ipcprof_link *l = &m->link[li];
	json_t *ends = json_array();
	for (int e = 0; e < l->nend; e++) {
		const struct ipcprof_endpoint *ep = &l->end[e];
		const struct ipcprof_channel *ch = &m->img[ep->image].chan[ep->chan];
		json_array_append_new(
		    ends, json_pack("{s:i, s:i, s:i, s:o, s:o, s:i, s:o, s:o}", "process",
				    ep->image, "fd", ch->first_fd, "side", (int)ep->side, "name",
				    jstr(ch->name, sizeof(ch->name)), "flags",
				    flags_json(ch->flags), "fds_passed", (int)ch->fds_passed, "out",
				    dir_json(&ch->dir[IPCPROF_DIR_OUT]), "in",
				    dir_json(&ch->dir[IPCPROF_DIR_IN])));
	}
	json_t *hist = json_array();
	for (int b = 0; b < IPCPROF_HIST_BUCKETS; b++)
		json_array_append_new(hist, ju(l->hist[b]));
	return json_pack("{s:i, s:s, s:o, s:b, s:o, s:o, s:o, s:o, s:o, s:o}", "index", li, "kind",
			 ipcprof_kind_name(l->kind), "label", jstr(l->label, sizeof(l->label)),
			 "paired", ipcprof_link_joins(m, l), "bytes_sent", ju(l->bytes_out),
			 "bytes_received", ju(l->bytes_in), "calls", ju(l->calls), "time_ns",
			 ju(l->time_ns), "hist", hist, "endpoints", ends);
}

static json_t *timeline_json(const struct ipcprof_model *m)
{
	json_t *rows = json_array();
	for (size_t r = 0; r < m->nrow; r++) {
		const struct ipcprof_trow *row = &m->row[r];
		const struct ipcprof_image *g = &m->img[row->image];
		json_t *iv = json_array();
		for (size_t k = 0; k < row->n; k++) {
			const struct ipcprof_interval *v = &row->iv[k];
			int link = v->channel < g->nchan ? g->chan_link[v->channel] : -1;
			json_array_append_new(iv,
					      json_pack("[I, I, i, i, o, i]",
							(json_int_t)rel_ns(m, g, v->start_ns),
							(json_int_t)rel_ns(m, g, v->end_ns), link,
							(int)v->dir, ju(v->bytes), (int)v->calls));
		}
		json_array_append_new(rows, json_pack("{s:i, s:i, s:b, s:o}", "process", row->image,
						      "tid", (int)row->tid, "merged", row->merged,
						      "intervals", iv));
	}
	return rows;
}

/* A frame's kind: "python" (function, file and line of the line being run) or "native" (of the
 * interpreter itself, or not). */
static void frame_kind_json(json_t *fr, bool python, bool interp, const char *symbol)
{
	json_object_set_new(fr, "kind", json_string(python ? "python" : "native"));
	json_object_set_new(fr, "function", symbol ? json_string(symbol) : json_null());
	json_object_set_new(fr, "interpreter", json_boolean(interp));
}

static json_t *sites_json(const struct ipcprof_model *m)
{
	json_t *a = json_array();
	for (int s = 0; s < m->nsite && s < CALL_SITES_SHOWN; s++) {
		const struct ipcprof_site *site = &m->site[s];
		json_t *frames = json_array();
		for (int k = 0; k < site->depth; k++) {
			const struct ipcprof_frame *f = &site->frame[k];
			/* A Python frame's ip is its code object's address, its offset the
			 * instruction's (in bytes) in it. */
			uint64_t ip = f->ip, off = f->offset;
			if (f->python) {
				uint32_t unit = ipcprof_pyframe_unit(f->ip);
				ip = ipcprof_py_code_addr(&m->img[site->first_image], f->ip);
				off = unit == IPCPROF_PYFRAME_NO_UNIT ? 0 : 2ull * unit;
			}
			if (f->main_thread)
				ip = off = 0;
			json_array_append_new(
			    frames,
			    json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "ip", ju(ip), "module",
				      f->module ? jstr(f->module, IPCPROF_PATH_BYTES) : json_null(),
				      "symbol", f->symbol ? json_string(f->symbol) : json_null(),
				      "offset", ju(off), "file",
				      f->srcfile ? json_string(f->srcfile) : json_null(), "line",
				      f->srcfile ? json_integer(f->line) : json_null()));
			json_t *fr = json_array_get(frames, json_array_size(frames) - 1);
			frame_kind_json(fr, f->python, f->interp, f->symbol);
			if (f->main_thread)
				json_object_set_new(fr, "kind", json_string("main_thread"));
		}
		json_array_append_new(
		    a, json_pack("{s:o, s:o, s:i, s:i, s:s, s:o}", "bytes", ju(site->bytes),
				 "calls", ju(site->calls), "processes", site->nimg, "process",
				 site->first_image, "kind", ipcprof_kind_name(site->kind), "frames",
				 frames));
	}
	return a;
}

static json_t *figures_json(void)
{
	return json_pack(
	    "{s:[s,s,s,s,s,s,s], s:[s,s,s,s,s,s], s:[s]}", "measured",
	    "bytes, calls, errors and call sizes of every call on every channel",
	    "wall time inside IPC calls (ipc_ns), summed over threads",
	    "process wall time from start and end (a lower bound when no end was seen)",
	    "CPU time (user + sys) from rusage", "shared-memory mappings and their sizes",
	    "kernel on/off-CPU time inside IPC calls, when the eBPF probes ran (split 'kernel')",
	    "sync_wait_ns: futex and poll waits seen by the kernel, when the eBPF probes ran "
	    "(capped at the off-CPU time outside IPC calls; not counted as data movement)",
	    "estimated",
	    "ipc_transfer_ns and ipc_wait_ns: ipc_ns split by the on-CPU ratio of sampled calls "
	    "(split 'sampled'); with no sample the whole of ipc_ns counts as wait (split 'none')",
	    "ipc_idle_ns: of the blocked time, the share during which the other end (or what it "
	    "waited for in turn) was on a CPU doing something else than moving data, from the "
	    "timed CPU samples (wait_split); waiting for work, not counted as data movement",
	    "compute_ns: CPU time minus ipc_transfer_ns",
	    "other_ns: the rest of the basis (off-CPU outside IPC calls), less sync_wait_ns",
	    "matrix cells of channels with several writers and readers: each writer's bytes "
	    "split by what each reader read (marked estimated)",
	    "serialize_ns, deserialize_ns and copy_ns: CPU samples by stack, classified by "
	    "rules (weight x period_ns), taken out of compute_ns and counted as data movement",
	    "not_measured",
	    "serialize_ns, deserialize_ns and copy_ns of processes without CPU samples "
	    "(cpu.state not 'on', or a record without samples): 0, with cpu_sampled false");
}

/* The CPU profile: the categories, the rules that made them, frames and merged stacks. */
static json_t *profile_json(const struct ipcprof_model *m)
{
	json_t *cats = json_array();
	for (int c = 0; c < IPCPROF_NCAT; c++)
		json_array_append_new(cats, json_string(ipcprof_cat_names[c]));
	json_t *rules = json_array();
	for (int r = 0; m->rules && r < m->rules->n; r++) {
		char line[1024];
		ipcprof_rule_text(&m->rules->r[r], line, sizeof(line));
		json_array_append_new(rules, jstr(line, sizeof(line)));
	}
	json_t *frames = json_array();
	for (int f = 0; f < m->npframe; f++) {
		const struct ipcprof_pframe *p = &m->pframe[f];
		json_t *fr =
		    json_pack("{s:o, s:o, s:o, s:o}", "symbol",
			      p->symbol ? json_string(p->symbol) : json_null(), "module",
			      p->module ? jstr(p->module, IPCPROF_PATH_BYTES) : json_null(), "file",
			      p->srcfile ? json_string(p->srcfile) : json_null(), "line",
			      p->srcfile ? json_integer(p->line) : json_null());
		if (!p->symbol)
			json_object_set_new(fr, "offset", ju(p->rel));
		frame_kind_json(fr, p->python, p->interp, p->symbol);
		json_array_append_new(frames, fr);
	}
	json_t *stacks = json_array();
	for (size_t s = 0; s < m->npstack; s++) {
		const struct ipcprof_pstack *st = &m->pstack[s];
		json_t *fi = json_array();
		for (uint32_t k = 0; k < st->depth; k++)
			json_array_append_new(fi, json_integer(st->frame[k]));
		json_array_append_new(
		    stacks, json_pack("{s:i, s:I, s:s, s:o, s:o, s:o}", "process", st->image, "tid",
				      (json_int_t)st->tid, "category", ipcprof_cat_names[st->cat],
				      "weight", ju(st->weight), "ns",
				      ju(ipcprof_ns_of_weight(&m->img[st->image], st->weight)),
				      "frames", fi));
	}
	return json_pack("{s:o, s:o, s:o, s:o, s:b}", "categories", cats, "rules", rules, "frames",
			 frames, "stacks", stacks, "interpreter_frames", m->interp_frames);
}

/* Each host: its name, its processes and what they sent and received. */
static json_t *hosts_json(const struct ipcprof_model *m, const struct ipcprof_hosts *h)
{
	json_t *hs = json_array();
	for (int k = 0; k < h->n; k++) {
		json_t *pl = json_array();
		uint64_t out = 0, in = 0;
		for (int i = 0; i < m->nimg; i++)
			if (h->of[i] == k) {
				json_array_append_new(pl, json_integer(i));
				out += m->img[i].bytes_out;
				in += m->img[i].bytes_in;
			}
		const char *name = ipcprof_host_name(m, h, k);
		json_array_append_new(
		    hs, json_pack("{s:i, s:o, s:o, s:o, s:o}", "index", k, "name",
				  jstr(name, strlen(name) + 1), "processes", pl, "bytes_sent", ju(out),
				  "bytes_received", ju(in)));
	}
	return hs;
}

json_t *ipcprof_report_json(const struct ipcprof_model *m)
{
	static const struct ipcprof_dir_stats none;
	if (!zero)
		zero = json_integer(0);
	if (!unused_dir)
		unused_dir = dir_json(&none);
	json_t *root = json_object();
	json_object_set_new(root, "format", json_string("ipcprof-report"));
	json_object_set_new(root, "version", json_integer(1));
	json_object_set_new(root, "generator", json_string("ipcprof " IPCPROF_VERSION));
	json_t *sess = json_array();
	for (int s = 0; s < m->nsession; s++) {
		int n = 0;
		for (int i = 0; i < m->nimg; i++)
			n += m->img[i].session == s;
		json_array_append_new(
		    sess, json_pack("{s:o, s:i}", "path",
				    jstr(m->session[s], strlen(m->session[s]) + 1), "records", n));
	}
	json_object_set_new(root, "sessions", sess);
	json_t *dmg = json_array();
	for (int d = 0; d < m->ndamage; d++)
		json_array_append_new(
		    dmg, json_pack("{s:o, s:o}", "file",
				   jstr(m->damage[d].file, strlen(m->damage[d].file) + 1), "error",
				   jstr(m->damage[d].error, strlen(m->damage[d].error) + 1)));
	json_object_set_new(root, "damaged", dmg);
	json_object_set_new(root, "figures", figures_json());
	json_object_set_new(root, "symbolizer", json_string(m->symbols ? "libdw" : "none"));
	json_object_set_new(root, "kernel", json_boolean(m->kernel));

	const struct ipcprof_attr *w = m->nworkers ? &m->workers : &m->total;
	uint64_t move = ipcprof_attr_moving(w);
	json_t *kinds = json_array();
	for (uint32_t k = 1; k < IPCPROF_KIND_COUNT; k++)
		if (m->kind_links[k])
			json_array_append_new(
			    kinds,
			    json_pack("{s:s, s:o, s:o, s:o, s:i}", "kind", ipcprof_kind_name(k),
				      "sent", ju(m->kind_out[k]), "received", ju(m->kind_in[k]),
				      "calls", ju(m->kind_calls[k]), "channels", m->kind_links[k]));
	int paired = 0;
	for (int l = 0; l < m->nlink; l++)
		paired += ipcprof_link_joins(m, &m->link[l]);
	json_t *run =
	    json_pack("{s:I, s:o, s:i, s:i, s:s, s:o, s:o, s:o, s:o, s:o, s:i, s:i, s:o}",
		      "start_realtime_ns", (json_int_t)m->run_start_rt_ns, "wall_ns",
		      ju(m->run_wall_ns), "processes", m->nimg, "workers", m->nworkers, "verdict",
		      m->verdict, "time", attr_json(&m->total), "worker_time", attr_json(w),
		      "data_movement_share", share(move, w->basis_ns), "compute_to_transfer_ratio",
		      move ? json_real((double)w->compute_ns / (double)move) : json_null(),
		      "bytes_by_kind", kinds, "channels", m->nlink, "paired_channels", paired,
		      "shared_memory_bytes", ju(m->shm_bytes));
	struct ipcprof_overhead o;
	ipcprof_overhead_run(m, &o);
	json_object_set_new(run, "overhead", overhead_json(&o, true));
	json_object_set_new(run, "serial_estimate", serial_json(m));
	json_object_set_new(root, "run", run);

	struct ipcprof_hosts h;
	if (ipcprof_hosts_build(m, &h) < 0) {
		json_decref(root);
		return NULL;
	}
	json_t *procs = json_array();
	for (int i = 0; i < m->nimg; i++) {
		json_t *pj = process_json(m, i);
		json_object_set_new(pj, "host", json_integer(h.of[i]));
		json_array_append_new(procs, pj);
	}
	json_object_set_new(root, "processes", procs);
	json_object_set_new(root, "hosts", hosts_json(m, &h));
	json_t *chans = json_array();
	for (int l = 0; l < m->nlink; l++)
		json_array_append_new(chans, channel_json(m, l));
	json_object_set_new(root, "channels", chans);
	json_t *mat = json_array();
	for (size_t c = 0; c < m->ncell; c++)
		json_array_append_new(
		    mat, json_pack("{s:i, s:i, s:o, s:o, s:b}", "from", m->cell[c].from, "to",
				   m->cell[c].to, "bytes", ju(m->cell[c].bytes), "time_ns",
				   ju(m->cell[c].time_ns), "estimated", m->cell[c].estimated));
	json_object_set_new(root, "matrix", mat);
	json_t *hmat = json_array();
	for (size_t c = 0; c < h.ncell; c++)
		json_array_append_new(
		    hmat, json_pack("{s:i, s:i, s:o, s:b}", "from", h.cell[c].from, "to",
				    h.cell[c].to, "bytes", ju(h.cell[c].bytes), "estimated",
				    h.cell[c].estimated));
	json_object_set_new(root, "host_matrix", hmat);
	ipcprof_hosts_free(&h);
	json_t *shm = json_array();
	for (int s = 0; s < m->nshm; s++) {
		static const char *kn[] = {"", "posix_shm", "memfd", "shared_anon", "shared_file"};
		json_t *pl = json_array();
		for (int k = 0; k < m->shm[s].nimg; k++)
			json_array_append_new(pl, json_integer(m->shm[s].img[k]));
		json_t *wl = json_array();
		for (int k = 0; k < m->shm[s].nwriter; k++)
			json_array_append_new(wl, json_integer(m->shm[s].writer[k]));
		json_array_append_new(
		    shm, json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "kind",
				   m->shm[s].kind < 5 ? kn[m->shm[s].kind] : "unknown", "name",
				   jstr(m->shm[s].name, sizeof(m->shm[s].name)), "size",
				   ju(m->shm[s].size), "resident_bytes",
				   ju(m->shm[s].resident_bytes), "processes", pl, "written_bytes",
				   ju(m->shm[s].written_bytes), "writers", wl));
	}
	json_object_set_new(root, "shared_memory", shm);
	json_object_set_new(root, "timeline", timeline_json(m));
	json_t *fs = json_array();
	for (int f = 0; f < m->nfind; f++)
		json_array_append_new(
		    fs, json_pack("{s:s, s:o, s:o, s:f}", "kind", m->find[f].kind, "title",
				  jstr(m->find[f].title, sizeof(m->find[f].title)), "detail",
				  jstr(m->find[f].detail, sizeof(m->find[f].detail)), "weight_s",
				  m->find[f].weight));
	json_object_set_new(root, "findings", fs);
	json_object_set_new(root, "call_sites", sites_json(m));
	json_object_set_new(root, "profile", profile_json(m));
	return root;
}

struct textbuf {
	char *p;
	size_t len, cap;
};

/* '<', '>' and '&' only occur inside JSON strings, where \u escapes mean the same: escaping them
 * keeps "</script>" and "<!--" in the program's strings from ending the script element. */
static int dump_cb(const char *buf, size_t size, void *data)
{
	struct textbuf *t = data;
	if (t->len + 6 * size + 1 > t->cap) {
		size_t cap = 2 * (t->len + 6 * size + 1);
		char *np = realloc(t->p, cap);
		if (!np)
			return -1;
		t->p = np;
		t->cap = cap;
	}
	for (size_t i = 0; i < size; i++) {
		const char *esc = buf[i] == '<'   ? "\\u003c"
				  : buf[i] == '>' ? "\\u003e"
				  : buf[i] == '&' ? "\\u0026"
						  : NULL;
		if (esc) {
			memcpy(t->p + t->len, esc, 6);
			t->len += 6;
		} else {
			t->p[t->len++] = buf[i];
		}
	}
	t->p[t->len] = '\0';
	return 0;
}

char *ipcprof_json_text(const json_t *j, size_t *len)
{
	struct textbuf t = {NULL, 0, 0};
	if (json_dump_callback(j, dump_cb, &t, JSON_COMPACT | JSON_ESCAPE_SLASH) != 0) {
		free(t.p);
		return NULL;
	}
	*len = t.len;
	return t.p;
}
