/* What the run cost the profiler and what its extra processes bought: the report's summary figures. */
#include <string.h>

#include "report.h"

/*
 * The profiler's own time is not measured as it runs (timing each call would cost more than the
 * call's counting); it is the counts of what it did times the cost of each, measured by the
 * benchmarks of docs/overhead.md (2-core virtual machines, 2026-11-26 to 2026-12-03).
 */
#define COST_CALL_NS       100u /* a counted call: 45 ns stubbed (bench-preload), more after a real one */
#define COST_TIMED_CALL_NS 150u     /* a call whose wrapper also reads the thread's CPU clock */
#define COST_SAMPLE_NS     20000u   /* a CPU sample: signal, libunwind, schedstat read */
#define COST_PYSAMPLE_NS   45000u   /* ... with its Python frames read (65 us for 128 frames) */
#define COST_PROCESS_NS    1000000u /* record file, sampler timer, fork and wait (bench-fork) */
#define COST_FAULT_NS      90u      /* the probes' page-fault programs, a run (BPF_ENABLE_STATS) */
#define COST_SWITCH_NS     240u     /* the probes' sched_switch program, a run */

void ipcprof_overhead_of(const struct ipcprof_image *g, struct ipcprof_overhead *o)
{
	memset(o, 0, sizeof(*o));
	if (g->kernel_only)
		return; /* no preload ran in it; the probes' cost is not split per process then */
	for (uint32_t c = 0; c < g->nchan; c++)
		for (int d = 0; d < IPCPROF_NDIR; d++) {
			o->calls += g->chan[c].dir[d].calls;
			o->timed_calls += g->chan[c].dir[d].sampled_calls;
		}
	o->samples = g->prof.samples;
	o->python_samples = g->py.state == IPCPROF_PY_ON;
	o->preload_ns = o->calls * COST_CALL_NS + o->timed_calls * COST_TIMED_CALL_NS;
	o->sampler_ns = o->samples * (o->python_samples ? COST_PYSAMPLE_NS : COST_SAMPLE_NS);
	o->start_ns = COST_PROCESS_NS;
	if (g->kernel) {
		/* The fault and switch programs run on every fault and switch of the traced tree:
		 * the process's own counts of them, from rusage. */
		uint64_t faults = g->proc.minflt + g->proc.majflt;
		uint64_t switches = g->proc.nvcsw + g->proc.nivcsw;
		o->probe_events = faults + switches;
		o->probes_ns = faults * COST_FAULT_NS + switches * COST_SWITCH_NS;
	}
	o->total_ns = o->preload_ns + o->sampler_ns + o->start_ns + o->probes_ns;
	o->cpu_ns = g->attr.cpu_ns;
	o->share = o->cpu_ns ? (double)o->total_ns / (double)o->cpu_ns : 0;
	o->warn =
	    o->total_ns >= IPCPROF_OVERHEAD_WARN_MIN_NS && o->share >= IPCPROF_OVERHEAD_WARN_SHARE;
}

void ipcprof_overhead_run(const struct ipcprof_model *m, struct ipcprof_overhead *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 0; i < m->nimg; i++) {
		struct ipcprof_overhead p;
		ipcprof_overhead_of(&m->img[i], &p);
		o->calls += p.calls;
		o->timed_calls += p.timed_calls;
		o->samples += p.samples;
		o->python_samples |= p.python_samples;
		o->probe_events += p.probe_events;
		o->preload_ns += p.preload_ns;
		o->sampler_ns += p.sampler_ns;
		o->start_ns += p.start_ns;
		o->probes_ns += p.probes_ns;
		o->total_ns += p.total_ns;
		o->cpu_ns += m->img[i].attr.cpu_ns;
		o->processes_warned += p.warn;
	}
	o->share = o->cpu_ns ? (double)o->total_ns / (double)o->cpu_ns : 0;
	o->warn = (o->total_ns >= IPCPROF_OVERHEAD_WARN_MIN_NS &&
		   o->share >= IPCPROF_OVERHEAD_WARN_SHARE) ||
		  o->processes_warned;
}

const char *ipcprof_overhead_method(void)
{
	return "estimated, not timed: counted calls x 100 ns (45 ns measured with the system call "
	       "stubbed, more after a real one), calls that also read the CPU clock x 150 ns more, "
	       "CPU samples x 20 us (x 45 us in a CPython whose frames are read), 1 ms a process "
	       "(its record file, timer, fork and wait), and where the probes ran, the process's "
	       "page faults x 90 ns and context switches x 240 ns (their programs' run times); "
	       "costs measured in docs/overhead.md. Not included: the probes' start-up (about "
	       "60 ms of CPU in ipcprof record itself) and the report. A warning when it reaches "
	       "5% of a process's CPU time (and at least 10 ms): its shares may be off by that "
	       "much";
}

void ipcprof_serial_estimate(const struct ipcprof_model *m, struct ipcprof_serial *s)
{
	memset(s, 0, sizeof(*s));
	s->wall_ns = m->run_wall_ns;
	s->sampled = m->nimg > 0;
	for (int i = 0; i < m->nimg; i++) {
		const struct ipcprof_attr *a = &m->img[i].attr;
		/* compute_ns holds the waits for a CPU while computing: a serial run on an idle
		 * CPU would not wait, so only the CPU time counts. */
		uint64_t c =
		    a->compute_ns > a->compute_wait_ns ? a->compute_ns - a->compute_wait_ns : 0;
		s->serial_ns += c;
		s->left_out_ns += a->ipc_transfer_ns + a->serialize_ns + a->deserialize_ns +
				  a->copy_ns - a->serialize_wait_ns - a->deserialize_wait_ns -
				  a->copy_wait_ns;
		if (!a->cpu_sampled && a->cpu_ns)
			s->sampled = false;
	}
	char x[32], y[32];
	ipcprof_fmt_ns(s->serial_ns, x, sizeof(x));
	ipcprof_fmt_ns(s->wall_ns, y, sizeof(y));
	if (m->nimg <= 1)
		snprintf(s->sentence, sizeof(s->sentence),
			 "One process: nothing ran in parallel (%s of computing in %s).", x, y);
	else if (s->serial_ns >= s->wall_ns)
		snprintf(s->sentence, sizeof(s->sentence),
			 "A serial run would take about %s; this run took %s: the extra processes "
			 "saved about %.0f%% of it (%.2fx faster).",
			 x, y, 100.0 * (double)(s->serial_ns - s->wall_ns) / (double)s->serial_ns,
			 (double)s->serial_ns / (double)(s->wall_ns ? s->wall_ns : 1));
	else
		snprintf(s->sentence, sizeof(s->sentence),
			 "A serial run would take about %s; this run took %s: the extra processes "
			 "cost more than they bring (%.2fx slower than one process doing the same "
			 "work).",
			 x, y, (double)s->wall_ns / (double)(s->serial_ns ? s->serial_ns : 1));
}

const char *ipcprof_serial_method(void)
{
	return "the CPU time every process spent computing, summed: its CPU time less what it "
	       "spent in IPC calls and the pickling, unpickling and copies the CPU samples found, "
	       "without its waits for a CPU. Limits: it assumes the same computing costs the same "
	       "in one process (same caches, no start-up of extra interpreters beyond what they "
	       "computed), counts work each process repeated (imports, set-up) once per process, "
	       "includes the profiler's own time (see overhead), and without CPU samples cannot "
	       "take pickling and copies out";
}
