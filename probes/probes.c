/* The probes' loader: load and attach, follow a tree, collect the maps into kernel.ipckrn. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <stdbool.h>
#include <sys/syscall.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <ipcprof/env.h>
#include <ipcprof/kernel.h>

#include "core_btf.h"
#include "why.h"
#include "ipcprof_bpf.h"
#include "ipcprof.skel.h"
#include "probes.h"
#include "proc_tree.h"

/* Not in older headers. */
#define IPCPROF_CAP_PERFMON 38
#define IPCPROF_CAP_BPF     39

_Static_assert(sizeof(struct ipcprof_kernel_stats) % sizeof(uint64_t) == 0,
	       "the figures are summed as arrays of uint64_t");

struct ipcprof_probes {
	struct ipcprof_bpf *skel;
	enum ipcprof_probes_mode mode;
	pid_t root;
	uint64_t start_ns;
	uint64_t follow_ns;
	int stats_fd; /* BPF_ENABLE_STATS while IPCPROF_PROBE_STATS=1, else -1 */
	/* The cut-down kernel BTF to make after the run, when it was absent or unusable. */
	char core_btf[PATH_MAX];
	bool make_core_btf;
	bool attached; /* the root ran already: ipcprof_probes_attach */
	uint32_t type_ids[IPCPROF_CORE_NTYPES]; /* the kernel's, of IPCPROF_CORE_TYPES */
};

/* One figures entry read back from the kernel. */
struct thread_fig {
	struct ipcprof_bpf_tkey key;
	struct ipcprof_bpf_tstats v;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	const char *v = getenv(IPCPROF_ENV_VERBOSE);

	if (level == LIBBPF_DEBUG || !v || strcmp(v, "1") != 0)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* Whether this process has capability cap in its effective set. */
static bool has_cap(unsigned cap)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) != 0)
		return false;
	return cap / 32 < _LINUX_CAPABILITY_U32S_3 && (data[cap / 32].effective >> (cap % 32)) & 1;
}

/* Whether the kernel has a tp_btf tracepoint of that name. */
static int has_tracepoint(const struct btf *vmlinux, const char *name)
{
	char type[128];

	snprintf(type, sizeof(type), "btf_trace_%s", name);
	return btf__find_by_name_kind(vmlinux, type, BTF_KIND_TYPEDEF) >= 0;
}

static bool env_is_1(const char *name)
{
	const char *v = getenv(name);

	return v && !strcmp(v, "1");
}

static bool verbose(void)
{
	return env_is_1(IPCPROF_ENV_VERBOSE);
}

/* IPCPROF_PROBE_STATS=1: each attached program's runs and its time a run, from the kernel's
 * own statistics, before the programs are gone. */
static void print_run_stats(struct ipcprof_probes *p)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, p->skel->obj)
	{
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		memset(&info, 0, sizeof(info));
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		fprintf(stderr, "ipcprof: probe %s: %llu runs, %llu ns in all, %.0f ns a run\n",
			bpf_program__name(prog), (unsigned long long)info.run_cnt,
			(unsigned long long)info.run_time_ns,
			info.run_cnt ? (double)info.run_time_ns / (double)info.run_cnt : 0.0);
	}
}

/* The programs of a mode; the others are not loaded. */
static void choose_programs(struct ipcprof_bpf *skel, enum ipcprof_probes_mode mode)
{
	bool sys = mode == IPCPROF_PROBES_SYSCALLS;

	bpf_program__set_autoload(skel->progs.sys_enter, sys);
	bpf_program__set_autoload(skel->progs.sys_exit, sys);
	/* The wait for a CPU after a wakeup comes from the scheduler's own stamp without it. */
	bpf_program__set_autoload(skel->progs.sched_wakeup, sys);
	/* Shared memory's page faults too: every fault of the machine pays for the two fault
	 * tracepoints, and a large workload faults in every page it receives (the seed at full
	 * size: 657,000 user faults, its workers' receive +20% with them, +4% without). With the
	 * preload, the pages each process touched in each shared mapping are in its records. */
	bpf_program__set_autoload(skel->progs.page_fault_user, sys);
	bpf_program__set_autoload(skel->progs.page_fault_kernel, sys);
	bpf_program__set_autoload(skel->progs.mmap_lock_released, sys);
	bpf_program__set_autoload(skel->progs.vm_unmapped_area, sys);
	skel->rodata->count_syscalls = sys;
}

/* After a refused load: which tracepoint the kernel lacks, for the message. Parsing the kernel's
 * BTF costs tens of milliseconds, which the load already spent once: only done on failure. */
static int missing_tracepoint(struct ipcprof_bpf *skel, char *name, size_t len)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	struct bpf_program *prog;
	int found = 0;

	if (!vmlinux)
		return 0;
	bpf_object__for_each_program(prog, skel->obj)
	{
		const char *sec = bpf_program__section_name(prog);
		const char *tp = strchr(sec, '/');

		if (!bpf_program__autoload(prog) || !tp)
			continue;
		if (!has_tracepoint(vmlinux, tp + 1)) {
			snprintf(name, len, "%s", tp + 1);
			found = 1;
			break;
		}
	}
	btf__free(vmlinux);
	return found;
}

/* With IPCPROF_VERBOSE=1: the verifier's own statistics of each program (its time above all). The
 * kernel fails a load whose log does not fit (ENOSPC), and the statistics grow with the subprograms
 * (a "stack depth" figure each), so the room is generous and a load that still overflows it is
 * retried without them. */
#define STATS_LOG_BYTES 4096
static char stats_log[32][STATS_LOG_BYTES];

static void stats_logs(struct ipcprof_bpf *skel)
{
	struct bpf_program *prog;
	size_t i = 0;

	bpf_object__for_each_program(prog, skel->obj)
	{
		if (i >= sizeof(stats_log) / sizeof(stats_log[0]))
			break;
		bpf_program__set_log_level(prog, 4 /* BPF_LOG_STATS */);
		bpf_program__set_log_buf(prog, stats_log[i++], STATS_LOG_BYTES);
	}
}

static void print_verifier_times(struct ipcprof_bpf *skel)
{
	struct bpf_program *prog;
	unsigned long total = 0;
	size_t i = 0;

	fprintf(stderr, "ipcprof: the kernel's check of each program:");
	bpf_object__for_each_program(prog, skel->obj)
	{
		const char *t, *q;
		unsigned long us, insns = 0;

		if (i >= sizeof(stats_log) / sizeof(stats_log[0]))
			break;
		t = strstr(stats_log[i], "verification time ");
		q = strstr(stats_log[i++], "processed ");
		if (!bpf_program__autoload(prog) || !t ||
		    sscanf(t, "verification time %lu", &us) != 1)
			continue;
		if (q)
			sscanf(q, "processed %lu insns", &insns);
		total += us;
		fprintf(stderr, " %s %.1f ms (%lu insns),", bpf_program__name(prog),
			(double)us / 1e3, insns);
	}
	fprintf(stderr, " in all %.1f ms\n", (double)total / 1e3);
}

/* Opens the probes, relocated against btf_path (NULL: the whole kernel BTF), and loads them. */
static int open_and_load(struct ipcprof_probes *p, const char *btf_path)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = btf_path);
	bool stats = verbose();
	int err;

	for (;;) {
		p->skel = ipcprof_bpf__open_opts(&opts);
		if (!p->skel)
			return -errno;
		choose_programs(p->skel, p->mode);
		memcpy((void *)p->skel->rodata->kernel_type_id, p->type_ids, sizeof(p->type_ids));
		if (stats)
			stats_logs(p->skel);
		err = ipcprof_bpf__load(p->skel);
		if (err != -ENOSPC || !stats)
			return err;
		fprintf(stderr, "ipcprof: probes: the verifier's statistics overflowed their "
				"buffer: loading without them\n");
		memset(stats_log, 0, sizeof(stats_log));
		ipcprof_bpf__destroy(p->skel);
		stats = false;
	}
}

/* The cached cut-down BTF when usable; else NULL, and it is made after the run. */
static const char *cached_core_btf(struct ipcprof_probes *p)
{
	size_t objlen;
	const void *obj = ipcprof_bpf__elf_bytes(&objlen);
	char why[PATH_MAX + 128];

	if (ipcprof_core_btf_path(p->core_btf, sizeof(p->core_btf), obj, objlen, why,
				  sizeof(why)) != 0) {
		p->core_btf[0] = '\0';
		if (verbose())
			fprintf(stderr,
				"ipcprof: probes relocated against the whole kernel BTF: %s\n",
				why);
		return NULL;
	}
	if (ipcprof_core_btf_usable(p->core_btf, p->type_ids, why, sizeof(why)))
		return p->core_btf;
	p->make_core_btf = true;
	if (verbose())
		fprintf(stderr, "ipcprof: probes relocated against the whole kernel BTF: %s\n",
			why);
	return NULL;
}

int ipcprof_probes_start(struct ipcprof_probes **out, enum ipcprof_probes_mode mode, char *why,
			 size_t whylen)
{
	struct ipcprof_probes *p;
	uint64_t t0 = now_ns(), t1, t2, t3;
	const char *core_btf;
	char tp[128];
	int err;

	*out = NULL;
	if (why && whylen)
		why[0] = '\0';
	libbpf_set_print(libbpf_quiet);
	/* Kernels before 5.8 have no CAP_BPF/CAP_PERFMON: CAP_SYS_ADMIN covers both there. */
	if (!has_cap(CAP_SYS_ADMIN) && !(has_cap(IPCPROF_CAP_BPF) && has_cap(IPCPROF_CAP_PERFMON)))
		return ipcprof_probes_why(why, whylen, -EPERM,
					  "needs CAP_BPF and CAP_PERFMON (run as root)");
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		return ipcprof_probes_why(
		    why, whylen, -ENOTSUP,
		    "the kernel has no BTF (/sys/kernel/btf/vmlinux): probes need it");
	p = calloc(1, sizeof(*p));
	if (!p)
		return ipcprof_probes_why(why, whylen, -ENOMEM, "out of memory");
	p->mode = mode;
	p->stats_fd = -1;
	core_btf = cached_core_btf(p);
	if (!core_btf && (err = ipcprof_core_btf_kernel_ids(p->type_ids, why, whylen)) != 0) {
		free(p);
		return err;
	}
	t1 = now_ns();
	err = open_and_load(p, core_btf);
	if (err && core_btf) {
		/* A cache file that parses but does not fit: the whole BTF, and a new file after. */
		if (verbose())
			fprintf(stderr,
				"ipcprof: probes: relocating against %s failed (%s): the whole "
				"kernel BTF instead\n",
				core_btf, strerror(-err));
		ipcprof_bpf__destroy(p->skel);
		p->skel = NULL;
		p->make_core_btf = true;
		err = ipcprof_core_btf_kernel_ids(p->type_ids, why, whylen);
		if (!err)
			err = open_and_load(p, NULL);
	}
	t2 = now_ns();
	if (!p->skel) {
		free(p);
		if (why && whylen && why[0])
			return err;
		return ipcprof_probes_why(why, whylen, err, "cannot open the probes: %s",
					  strerror(-err));
	}
	if (err) {
		if (missing_tracepoint(p->skel, tp, sizeof(tp))) {
			ipcprof_probes_why(why, whylen, -ENOTSUP, "the kernel has no %s tracepoint",
					   tp);
			err = -ENOTSUP;
		} else {
			/* With the capabilities, EPERM comes from a lockdown or an LSM, EACCES from
			 * the verifier. */
			ipcprof_probes_why(why, whylen, err,
					   "the kernel refused the probes: %s (%s=1 shows why)",
					   strerror(-err), IPCPROF_ENV_VERBOSE);
		}
		goto cleanup;
	}
	err = ipcprof_bpf__attach(p->skel);
	t3 = now_ns();
	if (err) {
		if (err == -EPERM || err == -EACCES)
			ipcprof_probes_why(why, whylen, err,
					   "needs CAP_BPF and CAP_PERFMON (run as root)");
		else
			ipcprof_probes_why(why, whylen, err, "cannot attach the probes: %s",
					   strerror(-err));
		goto cleanup;
	}
	if (verbose())
		fprintf(stderr,
			"ipcprof: probes start-up (%s mode): cut-down BTF and type ids %.1f ms, "
			"open and load "
			"(kernel BTF, relocation%s, maps, verifier) %.1f ms, attach %.1f ms\n",
			mode == IPCPROF_PROBES_SCHED ? "sched" : "syscalls",
			(double)(t1 - t0) / 1e6,
			core_btf && !p->make_core_btf ? " against the cache" : "",
			(double)(t2 - t1) / 1e6, (double)(t3 - t2) / 1e6);
	if (verbose())
		print_verifier_times(p->skel);
	if (env_is_1(IPCPROF_ENV_PROBE_STATS)) {
		p->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (p->stats_fd < 0)
			fprintf(stderr, "ipcprof: %s: the kernel refused BPF_ENABLE_STATS: %s\n",
				IPCPROF_ENV_PROBE_STATS, strerror(errno));
	}
	p->start_ns = now_ns();
	*out = p;
	return 0;
cleanup:
	ipcprof_probes_free(p);
	return err;
}

static void read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* Takes an image id and writes its entry for a process followed from here (not from a fork the
 * BPF side saw): its name and executable from /proc. */
static int new_image(struct ipcprof_probes *p, pid_t pid, pid_t parent, uint32_t threads,
		     uint64_t start_ns, uint32_t *out)
{
	struct ipcprof_bpf_image img = {0};
	char path[64];
	uint32_t id;
	ssize_t n;

	/* The BPF side hands out ids with atomic adds on the same mmap'd variable. */
	id = __atomic_fetch_add(&p->skel->data->next_image, 1, __ATOMIC_RELAXED);
	if (id >= IPCPROF_BPF_MAX_IMAGES)
		return -ENOSPC;
	img.pid = pid;
	img.parent_pid = parent;
	img.threads = threads;
	img.start_ns = start_ns;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	read_text(path, img.comm, sizeof(img.comm));
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, img.exe, sizeof(img.exe) - 1);
	img.exe[n > 0 ? n : 0] = '\0';
	*out = id;
	return bpf_map__update_elem(p->skel->maps.images, &id, sizeof(id), &img, sizeof(img), 0);
}

/* A thread's entry in the live table, in the given state since now; flags: BPF_NOEXIST to keep an
 * entry the BPF side made already. */
static int new_live(struct ipcprof_probes *p, uint32_t image, pid_t tgid, pid_t tid,
		    uint32_t state, uint64_t now, uint64_t flags)
{
	struct ipcprof_bpf_live l = {0};

	l.image = image;
	l.tgid = tgid;
	l.start_ns = now;
	l.since_ns = now;
	l.state = state;
	l.kind_in = l.kind_out = IPCPROF_BPF_NO_KIND;
	return bpf_map__update_elem(p->skel->maps.live, &tid, sizeof(tid), &l, sizeof(l), flags);
}

int ipcprof_probes_follow(struct ipcprof_probes *p, pid_t root)
{
	struct ipcprof_bpf_tracked t = {0};
	uint64_t now = now_ns();
	uint32_t id;
	int err;

	if (!p || root <= 0)
		return -EINVAL;
	err = new_image(p, root, getpid(), 1, now, &id);
	if (err)
		return err;
	/* The child waits for us, asleep: the wakeup that ends the wait is seen. */
	err = new_live(p, id, root, root, IPCPROF_BPF_BLOCKED, now, 0);
	if (err)
		return err;
	t.image = id;
	err = bpf_map__update_elem(p->skel->maps.tracked, &root, sizeof(root), &t, sizeof(t), 0);
	if (err)
		return err;
	if (!p->root) {
		p->root = root;
		p->follow_ns = now;
	}
	return 0;
}

/* The shared mappings a running process has already, which the BPF side saw no call make: its
 * faults there count as shared memory too. Before the tracking, so that a child forked after it
 * copies them. What does not fit the table is counted as lost lookups. */
static int existing_ranges(struct ipcprof_probes *p, pid_t pid, uint32_t image)
{
	struct ipcprof_bpf_ranges rs = {0};
	struct ipcprof_proc_map *maps;
	size_t n, i;

	if (ipcprof_proc_shared_maps(pid, &maps, &n) != 0)
		return 0; /* gone: nothing to fault on */
	for (i = 0; i < n && i < IPCPROF_BPF_MAX_RANGES; i++) {
		rs.r[i].start = maps[i].start;
		rs.r[i].end = maps[i].end;
		rs.r[i].kind = maps[i].kind;
		rs.r[i].page_bytes = maps[i].page_bytes;
		if (!rs.lo || maps[i].start < rs.lo)
			rs.lo = maps[i].start;
		if (maps[i].end > rs.hi)
			rs.hi = maps[i].end;
	}
	rs.n = (uint32_t)i;
	if (n > i)
		__atomic_fetch_add(&p->skel->bss->dropped.fault_lookups, n - i, __ATOMIC_RELAXED);
	free(maps);
	if (!rs.n)
		return 0;
	return bpf_map__update_elem(p->skel->maps.shared, &image, sizeof(image), &rs, sizeof(rs),
				    0);
}

/*
 * Follows one running process and its threads. Tracked first: from then on, the BPF side adds
 * the threads and children it starts, so the threads listed after it are all there is (an entry
 * the BPF side made for a new one is kept). 1 when the BPF side follows it already (a child
 * forked since the last look at /proc), 0 when followed now, or a negative errno.
 */
static int follow_running(struct ipcprof_probes *p, const struct ipcprof_proc_stat *proc,
			  pid_t parent, uint64_t now)
{
	struct ipcprof_bpf_tracked t = {0};
	struct ipcprof_proc_stat *tasks;
	size_t ntasks, i;
	uint32_t id;
	int err;

	if (bpf_map__lookup_elem(p->skel->maps.tracked, &proc->pid, sizeof(proc->pid), &t,
				 sizeof(t), 0) == 0)
		return 1;
	err = ipcprof_proc_tasks(proc->pid, &tasks, &ntasks);
	if (err)
		return err == -ENOENT ? 1 : err; /* gone: nothing left to follow */
	err = new_image(p, proc->pid, parent, (uint32_t)ntasks, now, &id);
	free(tasks);
	if (!err)
		err = existing_ranges(p, proc->pid, id);
	if (err)
		return err;
	t.image = id;
	err = bpf_map__update_elem(p->skel->maps.tracked, &proc->pid, sizeof(proc->pid), &t,
				   sizeof(t), BPF_NOEXIST);
	if (err) {
		/* Forked since the lookup: the BPF side's image stands; this one is left unused. */
		struct ipcprof_bpf_image none = {0};

		bpf_map__update_elem(p->skel->maps.images, &id, sizeof(id), &none, sizeof(none), 0);
		return err == -EEXIST ? 1 : err;
	}
	if (ipcprof_proc_tasks(proc->pid, &tasks, &ntasks) != 0)
		return 0; /* exited meanwhile: the BPF side saw its end */
	for (i = 0; i < ntasks; i++) {
		/* Running or runnable, or asleep: the scheduler's next switch corrects either. */
		uint32_t state = tasks[i].state == 'R' ? IPCPROF_BPF_RUNNING : IPCPROF_BPF_BLOCKED;

		err = new_live(p, id, proc->pid, tasks[i].pid, state, now, BPF_NOEXIST);
		if (err && err != -EEXIST)
			break;
		err = 0;
	}
	free(tasks);
	return err;
}

static bool pid_in(const pid_t *v, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == pid)
			return true;
	return false;
}

/* Follows, among procs, the children of the followed pids (and theirs) not followed yet; the
 * number added, or a negative errno. */
static long follow_children(struct ipcprof_probes *p, const struct ipcprof_proc_stat *procs,
			    size_t nprocs, pid_t **followed, size_t *nfollowed, size_t *cap,
			    uint64_t now)
{
	long added = 0;
	bool more = true;

	/* A child may come before its parent in /proc's order: sweep until nothing is added. */
	while (more) {
		more = false;
		for (size_t i = 0; i < nprocs; i++) {
			const struct ipcprof_proc_stat *c = &procs[i];
			int err;

			if (pid_in(*followed, *nfollowed, c->pid) ||
			    !pid_in(*followed, *nfollowed, c->ppid))
				continue;
			if (*nfollowed == *cap) {
				pid_t *g = realloc(*followed, 2 * *cap * sizeof(**followed));

				if (!g)
					return -ENOMEM;
				*followed = g;
				*cap *= 2;
			}
			err = follow_running(p, c, c->ppid, now);
			if (err < 0)
				return err;
			(*followed)[(*nfollowed)++] = c->pid;
			added++;
			more = true;
		}
	}
	return added;
}

int ipcprof_probes_attach(struct ipcprof_probes *p, pid_t root, size_t *processes, char *why,
			  size_t whylen)
{
	struct ipcprof_proc_stat rs, *procs;
	size_t nfollowed = 1, cap = 64, nprocs;
	uint64_t now = now_ns();
	pid_t *followed;
	long added = 1;
	int err;

	if (!p || root <= 0 || p->root)
		return ipcprof_probes_why(why, whylen, -EINVAL, "nothing to attach to");
	if (ipcprof_proc_stat(root, 0, &rs) != 0)
		return ipcprof_probes_why(why, whylen, -ESRCH, "no process %d", (int)root);
	err = follow_running(p, &rs, rs.ppid, now);
	if (err < 0)
		return ipcprof_probes_why(why, whylen, err, "cannot follow PID %d: %s", (int)root,
					  strerror(-err));
	p->root = root;
	p->follow_ns = now;
	p->attached = true;
	followed = malloc(cap * sizeof(*followed));
	if (!followed)
		return ipcprof_probes_why(why, whylen, -ENOMEM, "out of memory");
	followed[0] = root;
	/* A child forked after a look at /proc but before its parent was tracked is in neither:
	 * the next look finds it. Once a look finds nothing new, every child since is the BPF
	 * side's. */
	for (int pass = 0; pass < 16 && added > 0; pass++) {
		err = ipcprof_proc_list(&procs, &nprocs);
		if (err)
			break;
		added = follow_children(p, procs, nprocs, &followed, &nfollowed, &cap, now);
		free(procs);
		if (added < 0)
			err = (int)added;
	}
	free(followed);
	if (err)
		return ipcprof_probes_why(why, whylen, err, "cannot follow the children of PID %d: %s",
					  (int)root, strerror(-err));
	if (processes)
		*processes = nfollowed;
	return 0;
}

bool ipcprof_probes_alive(struct ipcprof_probes *p)
{
	pid_t key;

	return p && bpf_map__get_next_key(p->skel->maps.tracked, NULL, &key, sizeof(key)) == 0;
}

static void add_stats(struct ipcprof_kernel_stats *to, const struct ipcprof_kernel_stats *from)
{
	uint64_t *t = (uint64_t *)(void *)to;
	const uint64_t *f = (const uint64_t *)(const void *)from;
	size_t i;

	for (i = 0; i < sizeof(*to) / sizeof(uint64_t); i++)
		t[i] += f[i];
}

static int cmp_fig(const void *a, const void *b)
{
	const struct thread_fig *x = a, *y = b;

	if (x->key.image != y->key.image)
		return x->key.image < y->key.image ? -1 : 1;
	return x->key.tid < y->key.tid ? -1 : x->key.tid > y->key.tid;
}

/* Room for one more figure; on failure the array is freed (the caller gives up). */
static int figs_room(struct thread_fig **figs, size_t *cap, size_t n)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? 2 * *cap : 64;
	struct thread_fig *g = realloc(*figs, c * sizeof(**figs));
	if (!g) {
		free(*figs);
		*figs = NULL;
		return -1;
	}
	*figs = g;
	*cap = c;
	return 0;
}

static struct thread_fig *find_fig(struct thread_fig *figs, size_t n, uint32_t image, int32_t tid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (figs[i].key.image == image && figs[i].key.tid == tid)
			return &figs[i];
	return NULL;
}

/* Reads the figures table, plus the sched figures of threads still alive (not yet moved). */
static int collect_figures(struct ipcprof_probes *p, uint64_t end, struct thread_fig **out,
			   size_t *count)
{
	struct bpf_map *figures = p->skel->maps.figures, *live = p->skel->maps.live;
	struct ipcprof_bpf_tkey key, next;
	struct thread_fig *figs = NULL, *f;
	size_t n = 0, cap = 0;
	int32_t tid, ntid;
	int err, first = 1;

	while (bpf_map__get_next_key(figures, first ? NULL : &key, &next, sizeof(next)) == 0) {
		first = 0;
		key = next;
		if (figs_room(&figs, &cap, n) != 0)
			return -ENOMEM;
		err = bpf_map__lookup_elem(figures, &key, sizeof(key), &figs[n].v,
					   sizeof(figs[n].v), 0);
		if (err == -ENOENT)
			continue;
		if (err) {
			free(figs);
			return err;
		}
		figs[n].key = key;
		n++;
	}
	first = 1;
	while (bpf_map__get_next_key(live, first ? NULL : &tid, &ntid, sizeof(ntid)) == 0) {
		struct ipcprof_bpf_live l;
		struct ipcprof_kernel_sched *s;
		uint64_t d;

		first = 0;
		tid = ntid;
		if (bpf_map__lookup_elem(live, &tid, sizeof(tid), &l, sizeof(l), 0))
			continue;
		f = find_fig(figs, n, l.image, tid);
		if (!f) {
			if (figs_room(&figs, &cap, n) != 0)
				return -ENOMEM;
			f = &figs[n++];
			memset(f, 0, sizeof(*f));
			f->key.image = l.image;
			f->key.tid = tid;
			f->v.pid = l.tgid;
			f->v.tid = tid;
			f->v.start_ns = l.start_ns;
		}
		s = &f->v.stats.sched;
		d = end > l.since_ns ? end - l.since_ns : 0;
		s->run_ns += l.run_ns + (l.state == IPCPROF_BPF_RUNNING ? d : 0);
		s->blocked_ns += l.blocked_ns + (l.state == IPCPROF_BPF_BLOCKED ? d : 0);
		s->runq_ns += l.runq_ns + (l.state == IPCPROF_BPF_RUNQ ? d : 0);
		s->voluntary_switches += l.voluntary_switches;
		s->involuntary_switches += l.involuntary_switches;
		for (int k = 0; k < IPCPROF_KFAULT_COUNT; k++) {
			f->v.stats.faults[k].faults += l.faults[k].faults;
			f->v.stats.faults[k].write_faults += l.faults[k].write_faults;
			f->v.stats.faults[k].bytes += l.faults[k].bytes;
		}
	}
	qsort(figs, n, sizeof(*figs), cmp_fig);
	*out = figs;
	*count = n;
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *b = buf;

	while (len) {
		ssize_t w = write(fd, b, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += w;
		len -= (size_t)w;
	}
	return 0;
}

static int write_file(const char *session_dir, const struct ipcprof_kernel_header *h,
		      const struct ipcprof_kernel_image *images,
		      const struct ipcprof_kernel_thread *threads)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int fd, err;

	if (snprintf(path, sizeof(path), "%s/%s", session_dir, IPCPROF_KERNEL_FILE) >=
		(int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.%d", session_dir, IPCPROF_KERNEL_FILE,
		     (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	err = write_all(fd, h, sizeof(*h));
	if (!err)
		err = write_all(fd, images, (size_t)h->images * sizeof(*images));
	if (!err)
		err = write_all(fd, threads, (size_t)h->threads * sizeof(*threads));
	if (close(fd) && !err)
		err = -errno;
	/* Renamed only when complete: a reader never sees half a file. */
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

/* After the run, so that the program never waits on it: the next runs start faster. */
static void make_core_btf(struct ipcprof_probes *p)
{
	size_t objlen;
	const void *obj = ipcprof_bpf__elf_bytes(&objlen);
	char why[PATH_MAX + 128];
	uint64_t t0 = now_ns();

	if (!p->make_core_btf || !p->core_btf[0])
		return;
	p->make_core_btf = false;
	if (ipcprof_core_btf_make(p->core_btf, obj, objlen, why, sizeof(why)) != 0) {
		if (verbose())
			fprintf(stderr,
				"ipcprof: probes: no cut-down kernel BTF for next time: %s\n", why);
		return;
	}
	if (verbose())
		fprintf(stderr, "ipcprof: probes: made %s for next time in %.1f ms\n", p->core_btf,
			(double)(now_ns() - t0) / 1e6);
}

int ipcprof_probes_finish(struct ipcprof_probes *p, const char *session_dir)
{
	struct ipcprof_kernel_header h = {0};
	struct ipcprof_kernel_image *images = NULL;
	struct ipcprof_kernel_thread *threads = NULL;
	struct thread_fig *figs = NULL;
	size_t nfigs = 0, fi = 0;
	uint32_t id, nids;
	int err;

	if (!p || !session_dir)
		return -EINVAL;
	/* Stop counting first, so that the figures read are one consistent picture. */
	ipcprof_bpf__detach(p->skel);
	if (p->stats_fd >= 0) {
		print_run_stats(p);
		close(p->stats_fd);
		p->stats_fd = -1;
	}

	memcpy(h.magic, IPCPROF_KERNEL_MAGIC, sizeof(h.magic));
	h.version = IPCPROF_KERNEL_VERSION;
	h.header_size = sizeof(h);
	h.image_size = sizeof(*images);
	h.thread_size = sizeof(*threads);
	h.root_pid = p->root;
	h.page_size = (uint32_t)sysconf(_SC_PAGESIZE);
	h.start_ns = p->start_ns;
	h.follow_ns = p->follow_ns;
	h.end_ns = now_ns();
	h.dropped = p->skel->bss->dropped;
	h.mode = p->mode == IPCPROF_PROBES_SCHED ? IPCPROF_KMODE_SCHED : IPCPROF_KMODE_SYSCALLS;
	h.flags = p->attached ? IPCPROF_KFLAG_ATTACHED : 0;

	err = collect_figures(p, h.end_ns, &figs, &nfigs);
	if (err)
		return err;
	nids = p->skel->data->next_image;
	if (nids > IPCPROF_BPF_MAX_IMAGES)
		nids = IPCPROF_BPF_MAX_IMAGES;
	images = calloc(nids ? nids : 1, sizeof(*images));
	threads = calloc(nfigs ? nfigs : 1, sizeof(*threads));
	if (!images || !threads) {
		err = -ENOMEM;
		goto out;
	}
	for (id = 1; id < nids; id++) {
		struct ipcprof_kernel_image *im = &images[h.images];
		struct ipcprof_bpf_image b;
		size_t first, k;

		if (bpf_map__lookup_elem(p->skel->maps.images, &id, sizeof(id), &b, sizeof(b), 0) ||
		    b.pid == 0)
			continue;
		im->pid = b.pid;
		im->parent_pid = b.parent_pid;
		im->seq = b.seq;
		im->end_how = b.end_how;
		im->exit_code = b.exit_code;
		im->threads = b.threads;
		im->start_ns = b.start_ns;
		im->end_ns = b.end_ns;
		memcpy(im->comm, b.comm, sizeof(im->comm));
		im->comm[sizeof(im->comm) - 1] = '\0';
		memcpy(im->exe, b.exe, sizeof(im->exe));
		im->exe[sizeof(im->exe) - 1] = '\0';
		while (fi < nfigs && figs[fi].key.image < id)
			fi++;
		first = fi;
		while (fi < nfigs && figs[fi].key.image == id)
			add_stats(&im->total, &figs[fi++].v.stats);
		if (fi - first > 1) {
			im->thread_first = h.threads;
			im->thread_count = (uint32_t)(fi - first);
			for (k = first; k < fi; k++) {
				struct ipcprof_kernel_thread *t = &threads[h.threads++];

				t->pid = b.pid;
				t->tid = figs[k].key.tid;
				t->seq = b.seq;
				t->image = h.images;
				t->start_ns = figs[k].v.start_ns;
				t->end_ns = figs[k].v.end_ns;
				memcpy(t->comm, figs[k].v.comm, sizeof(t->comm));
				t->comm[sizeof(t->comm) - 1] = '\0';
				t->stats = figs[k].v.stats;
			}
		}
		h.images++;
	}
	err = write_file(session_dir, &h, images, threads);
	make_core_btf(p);
out:
	free(images);
	free(threads);
	free(figs);
	return err;
}

void ipcprof_probes_free(struct ipcprof_probes *p)
{
	if (!p)
		return;
	if (p->stats_fd >= 0)
		close(p->stats_fd);
	ipcprof_bpf__destroy(p->skel);
	free(p);
}
