/* report-synth: writes synthetic sessions whose exact figures the report tests check. */
#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ipcprof/kernel.h>

#include "synth.h"

#define S  1000000000ull /* one second in ns */
#define MS 1000000ull    /* one millisecond in ns */

static const char *const py_main[] = {"/usr/bin/python3", "main.py", NULL};

static void fail(const char *what)
{
	perror(what);
	exit(2);
}

static void put(const char *dir, struct ipcprof_record *r)
{
	if (!r || ipcprof_synth_write(dir, r) != 0)
		fail(dir);
	free(r);
}

struct want_module {
	struct ipcprof_record *r;
	const char *name; /* a part of the module's path; NULL: this executable */
};

/* Adds a loaded module to the record's table, so that the reporter can symbolize our addresses. */
static int add_module(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	const struct want_module *w = data;
	struct ipcprof_record *r = w->r;
	/* the main executable comes first, with an empty name */
	if (w->name ? !strstr(info->dlpi_name, w->name) : info->dlpi_name[0] != '\0')
		return 0;
	struct ipcprof_module *m = &r->modules[r->modules_used++];
	m->base = info->dlpi_addr;
	m->start = UINT64_MAX;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t a = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD) {
			if (a < m->start)
				m->start = a;
			if (a + ph->p_memsz > m->end)
				m->end = a + ph->p_memsz;
		} else if (ph->p_type == PT_NOTE) {
			const char *p = (const char *)a, *end = p + ph->p_memsz;
			while (p + sizeof(ElfW(Nhdr)) <= end) {
				const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)(const void *)p;
				const char *desc = p + sizeof(*n) + ((n->n_namesz + 3) & ~3u);
				if (n->n_type == NT_GNU_BUILD_ID && n->n_descsz <= 20) {
					m->build_id_len = n->n_descsz;
					memcpy(m->build_id, desc, n->n_descsz);
				}
				p = desc + ((n->n_descsz + 3) & ~3u);
			}
		}
	}
	if (w->name)
		snprintf(m->path, sizeof(m->path), "%s", info->dlpi_name);
	else if (readlink("/proc/self/exe", m->path, sizeof(m->path) - 1) <= 0)
		m->path[0] = '\0';
	return 1;
}

static void add_loaded_module(struct ipcprof_record *r, const char *name)
{
	struct want_module w = {r, name};
	dl_iterate_phdr(add_module, &w);
}

void synth_marker_write(struct ipcprof_record *r, int ch, uint64_t bytes);

/* Stands for the code that made a large write: its address is the stack's innermost frame. */
__attribute__((noinline)) void synth_marker_write(struct ipcprof_record *r, int ch, uint64_t bytes)
{
	struct ipcprof_stack *s = &r->stacks[7];
	s->hash = 0x5eed;
	s->depth = 2;
	s->channel = (uint32_t)ch;
	s->calls = 4;
	s->bytes = bytes;
	s->ip[0] = (uint64_t)(uintptr_t)&synth_marker_write + 4;
	s->ip[1] = (uint64_t)(uintptr_t)__builtin_return_address(0);
	add_loaded_module(r, NULL);
}

/*
 * The basic run (every figure is checked by test_report_json.py):
 * 1000 main -> forks 1001, 1002 (killed unseen), 1004 (execs the hostile-named 1004.1);
 * spawns 1003, Python's resource tracker.
 */
static void basic(const char *dir)
{
	struct ipcprof_record *r;
	int a, b, c, u, x;

	r = ipcprof_synth_new(1000, 0, 0, IPCPROF_ORIGIN_ROOT, py_main, 16);
	r->proc.start_ns = 1 * S;
	r->proc.start_realtime_ns = 1700000000 * S;
	r->proc.end_ns = 11 * S;
	r->proc.end_how = IPCPROF_END_EXIT;
	r->proc.user_ns = 2 * S;
	r->proc.sys_ns = 1 * S;
	a = ipcprof_synth_channel(r, IPCPROF_KIND_PIPE, 12, 100, 0, 5);
	ipcprof_synth_io(r, a, IPCPROF_DIR_OUT, 4, 4000000, 2 * S, S / 2 * 1, 1);
	/* only half the calls' time was sampled: the ratio is what counts */
	ipcprof_record_channels(r)[a].dir[IPCPROF_DIR_OUT].sampled_wall_ns = S;
	ipcprof_record_channels(r)[a].dir[IPCPROF_DIR_OUT].sampled_cpu_ns = S / 2;
	b = ipcprof_synth_channel(r, IPCPROF_KIND_PIPE, 12, 101, 0, 6);
	ipcprof_synth_io(r, b, IPCPROF_DIR_IN, 10, 1000, S / 10, 0, 1);
	u = ipcprof_synth_channel(r, IPCPROF_KIND_UNIX_STREAM, 8, 200, 201, 7);
	ipcprof_synth_io(r, u, IPCPROF_DIR_OUT, 3, 3000000, S, S, 1);
	ipcprof_synth_io(r, u, IPCPROF_DIR_IN, 1, 500, 0, 0, 1);
	c = ipcprof_synth_channel(r, IPCPROF_KIND_PIPE, 12, 102, 0, 8);
	ipcprof_synth_io(r, c, IPCPROF_DIR_OUT, 3, 6000, 0, 0, 1);
	x = ipcprof_synth_channel(r, IPCPROF_KIND_UNIX_STREAM, 8, 300, 0, 9);
	snprintf(ipcprof_record_channels(r)[x].name, sizeof(ipcprof_record_channels(r)[x].name),
		 "<img src=x onerror=alert(2)>");
	ipcprof_synth_io(r, x, IPCPROF_DIR_OUT, 1, 50, 0, 0, 1);
	r->fingerprints[3] = (struct ipcprof_fingerprint){
	    .hash = 0xabc, .size = 1000000, .count = 4, .channel = (uint32_t)a};
	r->mappings_used = 1;
	r->mappings[0] = (struct ipcprof_mapping){.kind = IPCPROF_MAP_POSIX_SHM,
						  .flags = IPCPROF_MAP_CREATOR,
						  .dev = 30,
						  .ino = 900,
						  .length = 8000000,
						  .object_size = 8000000,
						  .resident_bytes = 8000000,
						  .name = "/psm_test"};
	ipcprof_synth_interval(r, a, IPCPROF_DIR_OUT, 1000, 2 * S, 4 * S, 4000000, 4);
	ipcprof_synth_interval(r, u, IPCPROF_DIR_OUT, 1010, 5 * S, 6 * S, 3000000, 3);
	synth_marker_write(r, a, 4000000);
	put(dir, r);

	r = ipcprof_synth_new(1001, 0, 1000, IPCPROF_ORIGIN_FORK, py_main, 16);
	r->proc.start_ns = S + S / 10;
	r->proc.start_realtime_ns = 1700000000 * S + S / 10;
	r->proc.end_ns = 10 * S;
	r->proc.end_how = IPCPROF_END_SIGNAL;
	r->proc.term_signal = 15;
	r->proc.user_ns = 3 * S;
	r->proc.sys_ns = S / 2;
	a = ipcprof_synth_channel(r, IPCPROF_KIND_PIPE, 12, 100, 0, 3);
	ipcprof_synth_io(r, a, IPCPROF_DIR_IN, 64, 4000000, S, S / 4, 1);
	b = ipcprof_synth_channel(r, IPCPROF_KIND_PIPE, 12, 101, 0, 4);
	ipcprof_synth_io(r, b, IPCPROF_DIR_OUT, 10, 1000, S / 100, S / 100, 1);
	c = ipcprof_synth_channel(r, IPCPROF_KIND_PIPE, 12, 102, 0, 5);
	ipcprof_synth_io(r, c, IPCPROF_DIR_IN, 1, 2000, 0, 0, 1);
	int t = ipcprof_synth_channel(r, IPCPROF_KIND_TCP, 0, 0, 0, 6);
	struct ipcprof_channel *tc = &ipcprof_record_channels(r)[t];
	tc->family = 10;
	tc->local_port = 5000;
	tc->peer_port = 40000;
	memcpy(tc->local_addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x7f\0\0\x01", 16);
	memcpy(tc->peer_addr, tc->local_addr, 16);
	ipcprof_synth_io(r, t, IPCPROF_DIR_OUT, 1, 777, 0, 0, 1);
	int d = ipcprof_synth_channel(r, IPCPROF_KIND_PIPE, 12, 103, 0, 7);
	ipcprof_synth_io(r, d, IPCPROF_DIR_OUT, 5000, 500000, S / 20, S / 20, 1);
	r->mappings_used = 1;
	r->mappings[0] = (struct ipcprof_mapping){.kind = IPCPROF_MAP_POSIX_SHM,
						  .dev = 30,
						  .ino = 900,
						  .length = 8000000,
						  .object_size = 8000000,
						  .resident_bytes = 4000000,
						  .name = "/psm_test"};
	ipcprof_synth_interval(r, a, IPCPROF_DIR_IN, 1001, 2 * S, 3 * S, 4000000, 64);
	put(dir, r);

	/* Killed unseen: no end, its last sign of life is an interval ending at 6.1 s. */
	r = ipcprof_synth_new(1002, 0, 1000, IPCPROF_ORIGIN_FORK, py_main, 16);
	r->proc.start_ns = S + S / 5;
	r->proc.start_realtime_ns = 1700000000 * S + S / 5;
	r->last_ns = 5 * S;
	r->proc.user_ns = S / 2;
	u = ipcprof_synth_channel(r, IPCPROF_KIND_UNIX_STREAM, 8, 201, 200, 3);
	ipcprof_synth_io(r, u, IPCPROF_DIR_IN, 40, 3000000, 2 * S, 0, 0);
	ipcprof_synth_io(r, u, IPCPROF_DIR_OUT, 1, 500, 0, 0, 0);
	c = ipcprof_synth_channel(r, IPCPROF_KIND_PIPE, 12, 102, 0, 4);
	ipcprof_synth_io(r, c, IPCPROF_DIR_IN, 2, 4000, 0, 0, 0);
	ipcprof_synth_interval(r, u, IPCPROF_DIR_IN, 1002, 5 * S, 6 * S + S / 10, 3000000, 40);
	put(dir, r);

	static const char *const tracker[] = {
	    "/usr/bin/python3", "-c", "from multiprocessing.resource_tracker import main;main(5)",
	    NULL};
	r = ipcprof_synth_new(1003, 0, 1000, IPCPROF_ORIGIN_SPAWN, tracker, 0);
	r->proc.start_ns = 2 * S;
	r->proc.start_realtime_ns = 1700000000 * S + S;
	r->proc.end_ns = 3 * S;
	r->proc.end_how = IPCPROF_END_EXIT;
	put(dir, r);

	r = ipcprof_synth_new(1004, 0, 1000, IPCPROF_ORIGIN_FORK, py_main, 0);
	r->proc.start_ns = 2 * S;
	r->proc.start_realtime_ns = 1700000000 * S + S;
	r->proc.end_ns = 3 * S;
	r->proc.end_how = IPCPROF_END_EXEC;
	r->proc.user_ns = S / 10;
	put(dir, r);

	static const char *const hostile[] = {"<script>alert(1)</script>", "</script><b>x",
					      "bad\xff\xfeutf8", "\x1b[31mred", NULL};
	r = ipcprof_synth_new(1004, 1, 1000, IPCPROF_ORIGIN_EXEC, hostile, 4);
	r->proc.start_ns = 3 * S;
	r->proc.start_realtime_ns = 1700000000 * S + 2 * S;
	r->proc.end_ns = 4 * S;
	r->proc.end_how = IPCPROF_END_EXIT;
	r->proc.user_ns = 3 * S / 10; /* rusage counts the image before exec too */
	t = ipcprof_synth_channel(r, IPCPROF_KIND_TCP, 0, 0, 0, 3);
	tc = &ipcprof_record_channels(r)[t];
	tc->family = 10;
	tc->local_port = 40000;
	tc->peer_port = 5000;
	memcpy(tc->local_addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x7f\0\0\x01", 16);
	memcpy(tc->peer_addr, tc->local_addr, 16);
	ipcprof_synth_io(r, t, IPCPROF_DIR_IN, 1, 777, S / 1000, S / 1000, 1);
	put(dir, r);
}

/* An ELF file that is not loaded here (Debian's non-PIE python3.11), at its link-time addresses. */
static void add_file_module(struct ipcprof_record *r, const char *path)
{
	FILE *f = fopen(path, "rb");
	Elf64_Ehdr eh;
	if (!f || fread(&eh, sizeof(eh), 1, f) != 1 || eh.e_phentsize != sizeof(Elf64_Phdr))
		fail(path);
	struct ipcprof_module *m = &r->modules[r->modules_used++];
	snprintf(m->path, sizeof(m->path), "%s", path);
	m->start = UINT64_MAX;
	for (int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (fseek(f, (long)(eh.e_phoff + (uint64_t)i * sizeof(ph)), SEEK_SET) ||
		    fread(&ph, sizeof(ph), 1, f) != 1)
			fail(path);
		if (ph.p_type == PT_LOAD) {
			if (ph.p_vaddr < m->start)
				m->start = ph.p_vaddr;
			if (ph.p_vaddr + ph.p_memsz > m->end)
				m->end = ph.p_vaddr + ph.p_memsz;
		} else if (ph.p_type == PT_NOTE && ph.p_filesz < 4096) {
			char note[4096];
			if (fseek(f, (long)ph.p_offset, SEEK_SET) ||
			    fread(note, ph.p_filesz, 1, f) != 1)
				fail(path);
			for (size_t o = 0; o + sizeof(Elf64_Nhdr) <= ph.p_filesz;) {
				const Elf64_Nhdr *n = (const Elf64_Nhdr *)(const void *)(note + o);
				size_t desc = o + sizeof(*n) + ((n->n_namesz + 3) & ~3u);
				if (n->n_type == NT_GNU_BUILD_ID && n->n_descsz <= 20 &&
				    desc + n->n_descsz <= ph.p_filesz) {
					m->build_id_len = n->n_descsz;
					memcpy(m->build_id, note + desc, n->n_descsz);
				}
				o = desc + ((n->n_descsz + 3) & ~3u);
			}
		}
	}
	fclose(f);
}

/* Code the CPU samples of the profile scenario land in: their names are checked. Distinct
 * bodies, so that the compiler cannot fold them into one. */
void synth_work_a(void);
void synth_work_b(void);
void synth_work_top(void);
volatile int synth_work_sink;
__attribute__((noinline)) void synth_work_a(void)
{
	synth_work_sink = 1;
}
__attribute__((noinline)) void synth_work_b(void)
{
	synth_work_sink = 2;
}
__attribute__((noinline)) void synth_work_top(void)
{
	synth_work_sink = 3;
}

#define IPCPROF_FAKE_BASE 0x7e0000000000ull /* where a preload no file backs is "loaded" */

static uint64_t fn(void (*f)(void))
{
	return (uint64_t)(uintptr_t)f;
}

/*
 * CPU samples (record version 2) whose categories the report test checks exactly, at 100 Hz
 * (10 ms a sample). 3000's main thread: a memmove leaf (copy, weights 5 + 2 merged), a sample in
 * the preload (ipc, 3), an unfinished entry (weight 0: skipped); thread 3001: synth_work_b
 * (compute, 7; a --rules file makes it serialize), the same stack marked as inside an IPC call
 * (ipc, 2), and in the preload under synth_work_b (ipc, 1, whatever the rules). With python3.11's addresses given (hex, from its debug file): pickling
 * (serialize, 11: a memmove leaf under _Pickler_Write under _pickle_Pickler_dump) and unpickling
 * (deserialize, 13). 3002 had sampling off. Waits for a CPU: 30 ms on the first memmove entry,
 * 50 ms on synth_work_b (compute), 40 ms on pickling.
 */
static void profile(const char *dir, int argc, char **argv)
{
	struct ipcprof_record *r = ipcprof_synth_new(3000, 0, 0, IPCPROF_ORIGIN_ROOT, py_main, 0);
	r->proc.start_ns = 1 * S;
	r->proc.start_realtime_ns = 1700000000 * S;
	r->proc.end_ns = 5 * S;
	r->proc.end_how = IPCPROF_END_EXIT;
	r->proc.user_ns = 2 * S;
	if (ipcprof_synth_profile(&r, 100, 1 << 16) != 0)
		fail("profile");
	add_loaded_module(r, NULL);
	add_loaded_module(r, "libc.so");
	struct ipcprof_module *pre = &r->modules[r->modules_used++];
	snprintf(pre->path, sizeof(pre->path), "/nonexistent/lib/libipcprof.so");
	pre->base = pre->start = IPCPROF_FAKE_BASE;
	pre->end = IPCPROF_FAKE_BASE + 0x10000;
	void *(*volatile mm)(void *, const void *, size_t) = memmove;
	uint64_t copy = (uint64_t)(uintptr_t)mm;
	uint64_t a[4] = {copy, fn(synth_work_a) + 1, fn(synth_work_top) + 1};
	ipcprof_synth_sample_wait(r, ipcprof_synth_sample(r, 3000, 0, 5, 3, a), 30 * MS);
	a[0] = copy + 1; /* another address of the same function: merged */
	ipcprof_synth_sample(r, 3000, 0, 2, 3, a);
	a[0] = IPCPROF_FAKE_BASE + 0x100;
	ipcprof_synth_sample(r, 3000, 0, 3, 2, a);
	ipcprof_synth_sample(r, 3000, 0, 0, 2, a);
	a[0] = fn(synth_work_b);
	a[1] = fn(synth_work_top) + 1;
	ipcprof_synth_sample_wait(r, ipcprof_synth_sample(r, 3001, 0, 7, 2, a), 50 * MS);
	/* the same stack, marked by the preload as inside a timed IPC call: ipc */
	ipcprof_synth_sample(r, 3001, IPCPROF_SS_IPC, 2, 2, a);
	a[0] = IPCPROF_FAKE_BASE + 0x200;
	a[1] = fn(synth_work_b) + 1;
	ipcprof_synth_sample(r, 3001, IPCPROF_SS_TRUNCATED, 1, 2, a);
	if (argc >= 4) {
		/* _pickle_Pickler_dump, _Pickler_Write, _pickle_loads, load_counted_binbytes */
		uint64_t py[4];
		for (int i = 0; i < 4; i++)
			py[i] = strtoull(argv[i], NULL, 16);
		add_file_module(r, "/usr/bin/python3.11");
		uint64_t d[3] = {copy, py[1] + 1, py[0] + 1};
		ipcprof_synth_sample_wait(r, ipcprof_synth_sample(r, 3000, 0, 11, 3, d), 40 * MS);
		uint64_t l[2] = {py[3], py[2] + 1};
		ipcprof_synth_sample(r, 3000, 0, 13, 2, l);
	}
	r->prof.threads = 2;
	put(dir, r);

	r = ipcprof_synth_new(3002, 0, 3000, IPCPROF_ORIGIN_FORK, py_main, 0);
	r->proc.start_ns = 2 * S;
	r->proc.start_realtime_ns = 1700000000 * S + S;
	r->proc.end_ns = 3 * S;
	r->proc.end_how = IPCPROF_END_EXIT;
	r->proc.user_ns = S / 2;
	put(dir, r);
}

/* A process's samples of one stack, one tick each (weight 1), n of them every step from t0. */
static void ticked(struct ipcprof_record *r, uint32_t tid, uint32_t flags, void (*f)(void),
		   uint64_t t0, uint64_t step, int n)
{
	uint64_t ip[2] = {fn(f), fn(synth_work_top) + 1};
	uint64_t at = ipcprof_synth_sample(r, tid, flags, (uint64_t)n, 2, ip);
	for (int k = 0; k < n; k++)
		ipcprof_synth_tick(r, tid, at, t0 + (uint64_t)k * step, 1);
}

static struct ipcprof_record *waits_proc(int pid, int parent, uint64_t user_ns)
{
	struct ipcprof_record *r = ipcprof_synth_new(
	    pid, 0, parent, parent ? IPCPROF_ORIGIN_FORK : IPCPROF_ORIGIN_ROOT, py_main, 16);
	r->proc.start_ns = 1 * S;
	r->proc.start_realtime_ns = 1700000000 * S;
	r->proc.end_ns = 11 * S;
	r->proc.end_how = IPCPROF_END_EXIT;
	r->proc.user_ns = user_ns;
	if (ipcprof_synth_profile(&r, 100, 1 << 16) != 0)
		fail("waits");
	add_loaded_module(r, NULL);
	return r;
}

/*
 * Waits split by what the other end did (test_report.py checks every figure), 100 Hz:
 * 4000 writes pipe P; its samples: inside IPC calls at 2.0-3.8 s, computing at 6.0-7.8 s.
 * 4001 reads P, blocked 2-4 s (4000 moving data) and 6-8 s (4000 computing): 2 s of wait, 2 s
 * idle; it writes pipe Q once. 4004 reads Q blocked 2.2-3.8 s, while 4001 (no samples) waited
 * for 4000, which moved data: wait, two steps deep; and 9.0-9.5 s, when nobody was sampled:
 * wait. 4002 and 4003 share a semaphore: 4002 holds it 2-5 s (computing 3.1-3.9 s) and
 * 5.5-8 s (inside IPC calls 6.1-7.7 s); 4003 waits for it 3-5 s (idle) and 6-8 s (wait).
 * 4005 reads an unprofiled writer's pipe for 1 s, all on-CPU by the calls' clocks, 50 ms of it by
 * its CPU samples. 4006 reads pipe R from 4000 for 5 ms at 7.830 s, when 4000 has no sample
 * but computed just before (idle), and for 10 ms at 7.900 s, with no sample of 4000's near (wait).
 */
static void waits(const char *dir)
{
	struct ipcprof_record *r = waits_proc(4000, 0, 2 * S);
	int p = ipcprof_synth_channel(r, IPCPROF_KIND_PIPE, 12, 500, 0, 5);
	ipcprof_synth_io(r, p, IPCPROF_DIR_OUT, 2, 2000000, 0, 0, 1);
	int near = ipcprof_synth_channel(r, IPCPROF_KIND_PIPE, 12, 503, 0, 6);
	ipcprof_synth_io(r, near, IPCPROF_DIR_OUT, 2, 200, 0, 0, 1);
	ticked(r, 4000, IPCPROF_SS_IPC, synth_work_a, 2 * S, S / 5, 10);
	ticked(r, 4000, 0, synth_work_b, 6 * S, S / 5, 10);
	put(dir, r);

	r = waits_proc(4001, 4000, S / 10);
	p = ipcprof_synth_channel(r, IPCPROF_KIND_PIPE, 12, 500, 0, 3);
	ipcprof_synth_io(r, p, IPCPROF_DIR_IN, 2, 2000000, 4 * S, 0, 1);
	ipcprof_synth_interval(r, p, IPCPROF_DIR_IN, 4001, 2 * S, 4 * S, 1000000, 1);
	ipcprof_synth_interval(r, p, IPCPROF_DIR_IN, 4001, 6 * S, 8 * S, 1000000, 1);
	int q = ipcprof_synth_channel(r, IPCPROF_KIND_PIPE, 12, 501, 0, 4);
	ipcprof_synth_io(r, q, IPCPROF_DIR_OUT, 1, 100, 0, 0, 1);
	put(dir, r);

	r = waits_proc(4004, 4000, S / 10);
	q = ipcprof_synth_channel(r, IPCPROF_KIND_PIPE, 12, 501, 0, 3);
	ipcprof_synth_io(r, q, IPCPROF_DIR_IN, 2, 100, 21 * S / 10, 0, 1);
	ipcprof_synth_interval(r, q, IPCPROF_DIR_IN, 4004, 22 * S / 10, 38 * S / 10, 0, 1);
	ipcprof_synth_interval(r, q, IPCPROF_DIR_IN, 4004, 9 * S, 95 * S / 10, 100, 1);
	put(dir, r);

	r = waits_proc(4006, 4000, S / 10);
	p = ipcprof_synth_channel(r, IPCPROF_KIND_PIPE, 12, 503, 0, 3);
	ipcprof_synth_io(r, p, IPCPROF_DIR_IN, 2, 200, 15 * MS, 0, 1);
	ipcprof_synth_interval(r, p, IPCPROF_DIR_IN, 4006, 7830 * MS, 7835 * MS, 100, 1);
	ipcprof_synth_interval(r, p, IPCPROF_DIR_IN, 4006, 7900 * MS, 7910 * MS, 100, 1);
	put(dir, r);

	r = waits_proc(4002, 4000, S);
	int m = ipcprof_synth_channel(r, IPCPROF_KIND_SEM, 20, 777, 0, -1);
	ipcprof_synth_io(r, m, IPCPROF_DIR_IN, 2, 0, 2000, 0, 1);
	ipcprof_synth_io(r, m, IPCPROF_DIR_OUT, 2, 0, 2000, 2000, 1);
	ipcprof_synth_interval(r, m, IPCPROF_DIR_IN, 4002, 2 * S, 2 * S + 1000, 0, 1);
	ipcprof_synth_interval(r, m, IPCPROF_DIR_OUT, 4002, 5 * S, 5 * S + 1000, 0, 1);
	ipcprof_synth_interval(r, m, IPCPROF_DIR_IN, 4002, 55 * S / 10, 55 * S / 10 + 1000, 0, 1);
	ipcprof_synth_interval(r, m, IPCPROF_DIR_OUT, 4002, 8 * S, 8 * S + 1000, 0, 1);
	ticked(r, 4002, 0, synth_work_b, 31 * S / 10, S / 10, 9);
	ticked(r, 4002, IPCPROF_SS_IPC, synth_work_a, 61 * S / 10, S / 5, 9);
	put(dir, r);

	/* 4005: its large reads' clocks say on-CPU, its CPU samples inside the calls 50 ms */
	r = waits_proc(4005, 4000, S / 2);
	p = ipcprof_synth_channel(r, IPCPROF_KIND_PIPE, 12, 502, 0, 3);
	ipcprof_synth_io(r, p, IPCPROF_DIR_IN, 4, 4000000, S, S, 1);
	ticked(r, 4005, IPCPROF_SS_IPC, synth_work_a, 2 * S, S / 10, 5);
	ticked(r, 4005, 0, synth_work_b, 3 * S, S / 10, 45);
	put(dir, r);

	r = waits_proc(4003, 4000, S / 10);
	m = ipcprof_synth_channel(r, IPCPROF_KIND_SEM, 20, 777, 0, -1);
	ipcprof_synth_io(r, m, IPCPROF_DIR_IN, 2, 0, 4 * S, 0, 1);
	ipcprof_synth_io(r, m, IPCPROF_DIR_OUT, 2, 0, 2000, 2000, 1);
	ipcprof_synth_interval(r, m, IPCPROF_DIR_IN, 4003, 3 * S, 5 * S, 0, 1);
	ipcprof_synth_interval(r, m, IPCPROF_DIR_IN, 4003, 6 * S, 8 * S, 0, 1);
	put(dir, r);
}

/*
 * A writer pre-empted in its writes into a pipe (test_report.py checks every figure), 100 Hz:
 * 4010 writes 32 kB messages to 4011, each write taking 100 ms: at 2.0 s while 4011 is in its
 * read (the pipe is empty: moving data, though 4011 computes 2.01-2.2 s); at 3.0 s after two
 * more writes at 2.5 and 2.6 s that 4011 has not read (the pipe is full: waiting for 4011, which
 * computes 2.9-3.2 s); at 4.0 s after 4011 read all of them at 3.2 s (room: moving data, though
 * 4011 computes 3.9-4.2 s).
 */
static void pipe_room(const char *dir)
{
	const uint64_t K32 = 32768;
	struct ipcprof_record *r = waits_proc(4010, 0, S);
	int p = ipcprof_synth_channel(r, IPCPROF_KIND_PIPE, 12, 510, 0, 4);
	ipcprof_synth_io(r, p, IPCPROF_DIR_OUT, 5, 5 * K32, 3 * S / 10 + 2000, 0, 0);
	ipcprof_synth_interval(r, p, IPCPROF_DIR_OUT, 4010, 2 * S, 21 * S / 10, K32, 1);
	ipcprof_synth_interval(r, p, IPCPROF_DIR_OUT, 4010, 25 * S / 10, 25 * S / 10 + 1000, K32,
			       1);
	ipcprof_synth_interval(r, p, IPCPROF_DIR_OUT, 4010, 26 * S / 10, 26 * S / 10 + 1000, K32,
			       1);
	ipcprof_synth_interval(r, p, IPCPROF_DIR_OUT, 4010, 3 * S, 31 * S / 10, K32, 1);
	ipcprof_synth_interval(r, p, IPCPROF_DIR_OUT, 4010, 4 * S, 41 * S / 10, K32, 1);
	ticked(r, 4010, 0, synth_work_b, 5 * S, S / 10, 10);
	put(dir, r);

	r = waits_proc(4011, 4010, S);
	p = ipcprof_synth_channel(r, IPCPROF_KIND_PIPE, 12, 510, 0, 3);
	ipcprof_synth_io(r, p, IPCPROF_DIR_IN, 2, 5 * K32, 60 * MS, 0, 0);
	ipcprof_synth_interval(r, p, IPCPROF_DIR_IN, 4011, 195 * S / 100, 201 * S / 100, K32, 1);
	ipcprof_synth_interval(r, p, IPCPROF_DIR_IN, 4011, 32 * S / 10, 32 * S / 10 + 1000, 4 * K32,
			       1);
	ticked(r, 4011, 0, synth_work_b, 205 * S / 100, S / 100, 15);
	ticked(r, 4011, 0, synth_work_b, 29 * S / 10, S / 100, 30);
	ticked(r, 4011, 0, synth_work_b, 39 * S / 10, S / 100, 30);
	put(dir, r);
}

/* Damaged files next to good ones: each must be named, the good ones still reported. */
static void damaged(const char *dir)
{
	basic(dir);
	char p[4096];
	FILE *f;
	snprintf(p, sizeof(p), "%s/2000.0.ipcrec", dir);
	if (!(f = fopen(p, "w")))
		fail(p);
	fputs("this is not a record at all, just text in a file with the suffix\n", f);
	fclose(f);
	/* header cut in the middle */
	struct ipcprof_record *r =
	    ipcprof_synth_new(2001, 0, 1000, IPCPROF_ORIGIN_FORK, py_main, 0);
	r->proc.start_ns = 2 * S;
	snprintf(p, sizeof(p), "%s/2001.0.ipcrec", dir);
	if (!(f = fopen(p, "w")))
		fail(p);
	fwrite(r, 1, 5000, f);
	fclose(f);
	free(r);
	/* another record format version */
	r = ipcprof_synth_new(2002, 0, 1000, IPCPROF_ORIGIN_FORK, py_main, 0);
	r->version = 99;
	put(dir, r);
	/* channel table cut short: the rest of the record is whole, so it still counts */
	r = ipcprof_synth_new(2003, 0, 1000, IPCPROF_ORIGIN_FORK, py_main, 100);
	r->proc.start_ns = 2 * S;
	r->proc.end_ns = 3 * S;
	r->proc.end_how = IPCPROF_END_EXIT;
	for (int i = 0; i < 100; i++)
		ipcprof_synth_interval(
		    r, ipcprof_synth_channel(r, IPCPROF_KIND_PIPE, 12, 5000 + (uint64_t)i, 0, 3),
		    IPCPROF_DIR_OUT, 2003, 2 * S + (uint64_t)i, 2 * S + (uint64_t)i + 1, 1, 1);
	off_t cut = (off_t)(r->channels_offset + 10 * sizeof(struct ipcprof_channel));
	put(dir, r);
	snprintf(p, sizeof(p), "%s/2003.0.ipcrec", dir);
	if (truncate(p, cut))
		fail(p);
	/* an empty file */
	snprintf(p, sizeof(p), "%s/2004.0.ipcrec", dir);
	if (!(f = fopen(p, "w")))
		fail(p);
	fclose(f);
}

/* The basic run with the probes' figures: 1002, whose calls were never sampled, gets the kernel's
 * split (a quarter on-CPU); 1001's pipe reads are split a tenth on-CPU. */
static void kernel(const char *dir)
{
	basic(dir);
	struct {
		struct ipcprof_kernel_header h;
		struct ipcprof_kernel_image img[4];
	} *k = calloc(1, sizeof(*k));
	if (!k)
		fail("calloc");
	memcpy(k->h.magic, IPCPROF_KERNEL_MAGIC, sizeof(IPCPROF_KERNEL_MAGIC));
	k->h.version = IPCPROF_KERNEL_VERSION;
	k->h.header_size = sizeof(k->h);
	k->h.image_size = sizeof(k->img[0]);
	k->h.thread_size = sizeof(struct ipcprof_kernel_thread);
	k->h.images = 4;
	k->h.root_pid = 1000;
	k->img[0].pid = 1002;
	k->img[0].start_ns = S + S / 5;
	struct ipcprof_kernel_calls *c =
	    &k->img[0].total.io[IPCPROF_KFD_UNIX_STREAM][IPCPROF_KDIR_IN][0];
	c->calls = 40;
	c->bytes = 3000000;
	c->time_ns = 2 * S;
	c->blocked_ns = 5 * S / 4;
	c->runq_ns = S / 4;
	k->img[0].total.faults[IPCPROF_KFAULT_SHMEM].faults = 10;
	k->img[0].total.faults[IPCPROF_KFAULT_SHMEM].bytes = 40960;
	k->img[1].pid = 1001;
	k->img[1].start_ns = S + S / 10;
	c = &k->img[1].total.io[IPCPROF_KFD_PIPE][IPCPROF_KDIR_IN][0];
	c->calls = 64;
	c->bytes = 4000000;
	c->time_ns = S;
	c->blocked_ns = 9 * S / 10;
	k->img[1].total.wait[IPCPROF_KWAIT_FUTEX].time_ns = 3 * S;
	/* The kernel follows the root from before its exec: the preload's 1000.0 is its seq 1. */
	k->img[2].pid = 1000;
	k->img[2].start_ns = S / 4;
	k->img[2].end_ns = S / 2;
	k->img[2].end_how = IPCPROF_KEND_EXEC;
	k->img[2].total.io[IPCPROF_KFD_PIPE][IPCPROF_KDIR_IN][0].time_ns = S / 10;
	k->img[3].pid = 1000;
	k->img[3].seq = 1;
	k->img[3].start_ns = S / 2;
	k->img[3].end_ns = 11 * S;
	k->img[3].end_how = IPCPROF_KEND_EXIT;
	c = &k->img[3].total.io[IPCPROF_KFD_PIPE][IPCPROF_KDIR_OUT][0];
	c->time_ns = 2 * S;
	c->blocked_ns = S;
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", dir, IPCPROF_KERNEL_FILE);
	FILE *f = fopen(p, "w");
	if (!f || fwrite(k, sizeof(*k), 1, f) != 1 || fclose(f) != 0)
		fail(p);
	free(k);
}

/* One TCP connection between two hosts, each with its own session folder. */
static void hosts(const char *dir1, const char *dir2)
{
	static const uint8_t ha[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1};
	static const uint8_t hb[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 2};
	for (int h = 0; h < 2; h++) {
		struct ipcprof_record *r =
		    ipcprof_synth_new(500, 0, 0, IPCPROF_ORIGIN_ROOT, py_main, 4);
		snprintf(r->proc.hostname, sizeof(r->proc.hostname), "host-%c", 'a' + h);
		snprintf(r->proc.boot_id, sizeof(r->proc.boot_id), "boot-%c", 'a' + h);
		/* different monotonic clocks, one realtime */
		r->proc.start_ns = (uint64_t)(h ? 500 : 7) * S;
		r->proc.start_realtime_ns = 1700000000 * S;
		r->proc.end_ns = r->proc.start_ns + 2 * S;
		r->proc.end_how = IPCPROF_END_EXIT;
		r->proc.user_ns = S;
		int t = ipcprof_synth_channel(r, IPCPROF_KIND_TCP, 0, 0, 0, 3);
		struct ipcprof_channel *c = &ipcprof_record_channels(r)[t];
		c->flags = IPCPROF_CH_NETWORK;
		c->family = 2;
		c->local_port = h ? 8000 : 51000;
		c->peer_port = h ? 51000 : 8000;
		memcpy(c->local_addr, h ? hb : ha, 16);
		memcpy(c->peer_addr, h ? ha : hb, 16);
		ipcprof_synth_io(r, t, h ? IPCPROF_DIR_IN : IPCPROF_DIR_OUT, 10, 123456, S / 2,
				 S / 4, 1);
		ipcprof_synth_interval(r, t, h ? IPCPROF_DIR_IN : IPCPROF_DIR_OUT, 500,
				       r->proc.start_ns + S / 2, r->proc.start_ns + S, 123456, 10);
		put(h ? dir2 : dir1, r);
	}
}

/* n processes, each with 10 channels: pipes to the next five and from the previous five. */
static void many(const char *dir, int n, uint32_t timeline)
{
	for (int i = 0; i < n; i++) {
		struct ipcprof_record *r = ipcprof_synth_new(
		    10000 + i, 0, i ? 10000 : 0, i ? IPCPROF_ORIGIN_FORK : IPCPROF_ORIGIN_ROOT,
		    py_main, timeline);
		r->proc.start_ns = S + (uint64_t)i * 1000;
		r->proc.start_realtime_ns = 1700000000 * S + (uint64_t)i * 1000;
		r->proc.end_ns = 20 * S;
		r->proc.end_how = IPCPROF_END_EXIT;
		r->proc.user_ns = 5 * S;
		for (int d = 1; d <= 5; d++) {
			int o = ipcprof_synth_channel(r, IPCPROF_KIND_PIPE, 12,
						      (uint64_t)i * 8 + (uint64_t)d, 0, 2 * d);
			ipcprof_synth_io(r, o, IPCPROF_DIR_OUT, 100, 1000000, S / 10, S / 20, 1);
			int from = (i - d + n) % n;
			int in =
			    ipcprof_synth_channel(r, IPCPROF_KIND_PIPE, 12,
						  (uint64_t)from * 8 + (uint64_t)d, 0, 2 * d + 1);
			ipcprof_synth_io(r, in, IPCPROF_DIR_IN, 200, 1000000, S / 5, S / 20, 1);
			for (uint32_t k = 0; k < timeline / 10; k++) {
				uint64_t t0 = 2 * S + (uint64_t)(d * 100 + (int)k) * 1000000;
				ipcprof_synth_interval(r, o, IPCPROF_DIR_OUT, (uint32_t)(10000 + i),
						       t0, t0 + 500000, 10000, 1);
				ipcprof_synth_interval(r, in, IPCPROF_DIR_IN, (uint32_t)(10000 + i),
						       t0 + 500000, t0 + 900000, 5000, 2);
			}
		}
		r->fingerprints[1] = (struct ipcprof_fingerprint){
		    .hash = 77, .size = 100000, .count = 3, .channel = 0};
		put(dir, r);
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(
		    stderr,
		    "usage: %s basic|kernel|damaged|many DIR [N [TIMELINE]] | hosts DIR1 DIR2 | "
		    "profile DIR [PYTHON_ADDRESSES] | waits DIR\n",
		    argv[0]);
		return 2;
	}
	for (int i = 2; i < argc && i < 4; i++)
		if ((strcmp(argv[1], "many") && strcmp(argv[1], "profile")) || i == 2)
			mkdir(argv[i], 0700);
	if (!strcmp(argv[1], "basic"))
		basic(argv[2]);
	else if (!strcmp(argv[1], "kernel"))
		kernel(argv[2]);
	else if (!strcmp(argv[1], "damaged"))
		damaged(argv[2]);
	else if (!strcmp(argv[1], "hosts") && argc == 4)
		hosts(argv[2], argv[3]);
	else if (!strcmp(argv[1], "profile"))
		profile(argv[2], argc - 3, argv + 3);
	else if (!strcmp(argv[1], "waits"))
		waits(argv[2]);
	else if (!strcmp(argv[1], "pipe_room"))
		pipe_room(argv[2]);
	else if (!strcmp(argv[1], "many"))
		many(argv[2], argc > 3 ? atoi(argv[3]) : 1000,
		     argc > 4 ? (uint32_t)atoi(argv[4]) : 20);
	else {
		fprintf(stderr, "%s: unknown scenario %s\n", argv[0], argv[1]);
		return 2;
	}
	return 0;
}
