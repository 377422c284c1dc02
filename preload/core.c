/* The core of libipcprof.so: start-up, the session, the record file, fd classification and counting. */
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/single_threaded.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "ipcprof/env.h"
#include "preload.h"
#include "record_end.h"
#include "sys.h"
#include "term_text.h"

/*
 * Counters are shared by the threads of a process: a locked add each. While the process has a
 * single thread (glibc knows), a plain add is exact too, and several times cheaper. ADD_ST takes
 * that answer from a local read once per call; ADD reads it itself.
 */
#define ADD_ST(st, field, v)                                                                       \
	((st) ? ((field) += (v)) - (v) : __atomic_fetch_add(&(field), (v), __ATOMIC_RELAXED))
#define ADD(field, v) ADD_ST(IPCPROF_LIKELY(__libc_single_threaded), field, v)

struct ipcprof_real ipcprof_real;
struct ipcprof_record *ipcprof_rec;
struct ipcprof_channel *ipcprof_chan;
/*
 * Tables a fork child starts without (fd_tables_wipe): the fd classifications (the child has a
 * generation of its own, see ipcprof_gen) and where its fds came from (it made none of them).
 * Page-aligned and whole pages long, so that the kernel can give a child zero pages for them
 * instead of the parent's: the parent then writes them after a fork without copying a page, and
 * the child clears nothing.
 */
#define FORK_WIPED __attribute__((aligned(4096))) IPCPROF_BIG
_Atomic uint64_t ipcprof_fdtab[IPCPROF_FDTAB_SIZE] FORK_WIPED;
uint32_t ipcprof_gen = 1;
bool ipcprof_ready;
uint32_t ipcprof_cpu_sample = IPCPROF_DEFAULT_CPU_SAMPLE;
IPCPROF_TLS struct ipcprof_thread ipcprof_thr;
bool ipcprof_tsc_ok;
uint64_t ipcprof_tsc0, ipcprof_mono0, ipcprof_tsc_mult;
_Atomic uint32_t ipcprof_live_maps;

static char session_dir[PATH_MAX - 64] IPCPROF_BIG; /* room for "/<pid>.<seq>.ipcrec" */
static size_t session_dir_len;
/* The record the settings ask for; one may be cut to the file-size limit (record_fit). */
static uint64_t record_file_size;
static uint64_t record_base_size; /* header, tables and timeline: blocks reserved as used */
static uint64_t sample_area;
static uint32_t timeline_cap = IPCPROF_DEFAULT_TIMELINE;
static uint32_t channels_cap = IPCPROF_DEFAULT_CHANNELS;
static uint64_t rec_size; /* the size of this process's record, as mapped */
static uint64_t stack_min = IPCPROF_DEFAULT_STACK_MIN;
static uint64_t fingerprint_min = IPCPROF_DEFAULT_FINGERPRINT_MIN;
static uint64_t big_min = 1u << 16; /* the smaller of the two above that is on: a large payload */
static uintptr_t self_lo, self_hi;  /* our own text, skipped in stacks */
static _Atomic uint32_t warned;
static _Atomic int modules_lock;
static bool root_process;
static bool verbose;

#define MAX_PLUGINS 16
static const struct ipcprof_plugin *plugins[MAX_PLUGINS];
static unsigned nplugins;
/* Which plugin (index + 1) claimed a channel, and CHANNEL_HOOKED if it has an account() hook, in
 * the channel's plugin_ref: the hot path, which writes the entry anyway, knows at once whether
 * to call one. */
#define CHANNEL_HOOKED 0x80u
_Static_assert(MAX_PLUGINS < CHANNEL_HOOKED, "a plugin index fits beside the flag");

/* Where each fd came from (IPCPROF_FD_ORIGIN_*), for the channel's and mapping's flags. */
_Atomic uint8_t ipcprof_fd_origin[IPCPROF_FDTAB_SIZE] FORK_WIPED;
_Atomic uint64_t ipcprof_fdtab_lo[IPCPROF_FD_LO];
_Atomic uint8_t ipcprof_fd_origin_lo[IPCPROF_FD_LO];
static _Atomic uint32_t fd_origin_max; /* kept only where the tables are not wiped */
static bool tables_wiped;

_Static_assert(sizeof(ipcprof_fdtab) % 4096 == 0 && sizeof(ipcprof_fd_origin) % 4096 == 0,
	       "a wiped table shares no page with other variables");

static void fd_tables_wipe(void)
{
	tables_wiped =
	    sys_madvise(ipcprof_fdtab, sizeof(ipcprof_fdtab), MADV_WIPEONFORK) == 0 &&
	    sys_madvise(ipcprof_fd_origin, sizeof(ipcprof_fd_origin), MADV_WIPEONFORK) == 0;
}

void *ipcprof_resolve(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
	if (!p) {
		/* glibc names a few functions differently from their public names. */
		static const char *const alias[][2] = {
		    {"read_chk", "__read_chk"},         {"recv_chk", "__recv_chk"},
		    {"recvfrom_chk", "__recvfrom_chk"}, {"pread_chk", "__pread_chk"},
		    {"pread64_chk", "__pread64_chk"},
		};
		for (size_t i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
			if (!strcmp(name, alias[i][0]))
				p = dlsym(RTLD_NEXT, alias[i][1]);
	}
	if (!p) {
		static const char msg[] = "ipcprof: cannot find the real function ";
		sys_write(2, msg, sizeof(msg) - 1);
		sys_write(2, name, strlen(name));
		sys_write(2, "\n", 1);
		abort();
	}
	return p;
}

/* A message's length before it is escaped for the terminal. A longer one (a long path in it)
 * loses its middle, so that what went wrong, said first, and what ipcprof does about it, said
 * last, both stay. */
#define WARN_TEXT 400

/* text (len bytes) cut to its first and last bytes around " ... " in out (WARN_TEXT + 1 bytes),
 * at character boundaries. */
static void warn_elide(const char *text, size_t len, char *out)
{
	static const char gap[] = " ... ";
	size_t head = (WARN_TEXT - (sizeof(gap) - 1)) / 2;
	size_t tail = len - (WARN_TEXT - (sizeof(gap) - 1) - head);
	while (head > 0 && (text[head] & 0xc0) == 0x80)
		head--;
	while (tail < len && (text[tail] & 0xc0) == 0x80)
		tail++;
	memcpy(out, text, head);
	memcpy(out + head, gap, sizeof(gap) - 1);
	memcpy(out + head + sizeof(gap) - 1, text + tail, len - tail);
	out[head + sizeof(gap) - 1 + len - tail] = '\0';
}

static void warn_v(const char *fmt, va_list ap)
{
	int saved = IPCPROF_ERRNO;
	char text[WARN_TEXT + 1];
	va_list again;
	va_copy(again, ap);
	int m = vsnprintf(text, sizeof(text), fmt, ap);
	if (m < 0)
		text[0] = '\0';
	else if (m > WARN_TEXT) {
		/* The whole text, in memory of its own: no allocator of the program's. */
		size_t len = (size_t)m + 1;
		char *all =
		    sys_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (all != MAP_FAILED) {
			vsnprintf(all, len, fmt, again);
			warn_elide(all, (size_t)m, text);
			sys_munmap(all, len);
		}
	}
	va_end(again);
	/* Names and paths in it come from the program: control characters escaped. */
	char buf[32 + 4 * WARN_TEXT + 2];
	int n = snprintf(buf, sizeof(buf), "ipcprof[%d]: ", (int)sys_getpid());
	ipcprof_term_str(text, buf + n, sizeof(buf) - (size_t)n - 1);
	size_t l = strlen(buf);
	buf[l++] = '\n';
	sys_write(2, buf, l);
	IPCPROF_ERRNO = saved;
}

/*
 * Whether the disk was found full, shared by an image and the processes it forks (a page of
 * shared memory): a full disk is said once, not by every child that finds it full too.
 */
static _Atomic uint32_t *tree_warned;

void ipcprof_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	warn_v(fmt, ap);
	va_end(ap);
}

void ipcprof_warn_once(unsigned key, const char *fmt, ...)
{
	uint32_t bit = 1u << (key % IPCPROF_WARN_MAX);
	if (atomic_fetch_or(&warned, bit) & bit)
		return;
	if ((key == IPCPROF_WARN_RECORD || key == IPCPROF_WARN_FSIZE) && tree_warned &&
	    atomic_fetch_or(tree_warned, bit) & bit)
		return;
	va_list ap;
	va_start(ap, fmt);
	warn_v(fmt, ap);
	va_end(ap);
}

/* ---- clock ---- */

/*
 * Two reads of the TSC cost half of two clock_gettime calls here, and the hot path has two. The
 * TSC's rate is measured without waiting for it: a process notes the TSC and the clock as it
 * starts and reads the clock alone (clock_gettime) until CAL_NS later, when the two readings
 * give the rate over that whole stretch. Fork children inherit the first note; exec'd programs
 * get the rate in their environment once it is known (ipcprof_fix_env).
 */
#define CAL_NS 10000000u
enum { CAL_NONE, CAL_MEASURING, CAL_FINISHING, CAL_DONE };
static _Atomic int cal_state;
static uint64_t cal_m0, cal_t0;
static char tsc_env[48]; /* IPCPROF_TSC_HZ=<rate> */

/* In 64-bit integers: a fork child that works the rate out runs no libgcc 128-bit division and
 * reads no floating-point constant, each a page to fault in (1e9 << 32 < 2^62). */
static void tsc_use(uint64_t hz, uint64_t m, uint64_t t)
{
	ipcprof_tsc_mult = (1000000000ull << 32) / hz;
	ipcprof_mono0 = m;
	ipcprof_tsc0 = t;
	__atomic_store_n(&ipcprof_tsc_ok, true, __ATOMIC_RELEASE);
}

/* May run in a signal handler: no allocation, no stdio. */
static void tsc_measured(uint64_t m)
{
#if defined(__x86_64__)
	int expect = CAL_MEASURING;
	if (!atomic_compare_exchange_strong(&cal_state, &expect, CAL_FINISHING))
		return;
	uint64_t t = __rdtsc();
	/* (t - t0) * 1e9 / (m - m0), with the remainder's product below 2^63 */
	uint64_t dt = t - cal_t0, dm = m - cal_m0;
	while (dm >= (1ull << 33)) {
		dt >>= 1;
		dm >>= 1;
	}
	uint64_t hz = dt / dm * 1000000000u + dt % dm * 1000000000u / dm;
	if (hz >= 1000000 && hz <= 100000000000ull) {
		size_t n = sizeof(IPCPROF_ENV_TSC_HZ) - 1;
		memcpy(tsc_env, IPCPROF_ENV_TSC_HZ, n);
		tsc_env[n] = '=';
		*ipcprof_put_uint(tsc_env + n + 1, hz, 10) = 0;
		tsc_use(hz, m, t);
	}
	atomic_store_explicit(&cal_state, CAL_DONE, memory_order_release);
#else
	(void)m;
#endif
}

uint64_t ipcprof_clock_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t m = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (IPCPROF_UNLIKELY(atomic_load_explicit(&cal_state, memory_order_relaxed) ==
			     CAL_MEASURING) &&
	    m - cal_m0 >= CAL_NS)
		tsc_measured(m);
	return m;
}

uint64_t ipcprof_thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool tsc_invariant(void)
{
#if defined(__x86_64__)
	unsigned a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000000u), "c"(0));
	if (a < 0x80000007u)
		return false;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000007u), "c"(0));
	return (d >> 8) & 1;
#else
	return false;
#endif
}

static void clock_init(void)
{
#if defined(__x86_64__)
	if (!tsc_invariant())
		return;
	const char *s = ipcprof_setting(IPCPROF_ENV_TSC_HZ);
	if (s && *s) {
		char *end;
		uint64_t hz = strtoull(s, &end, 10);
		if (!*end && s[0] != '-' && hz >= 1000000 && hz <= 100000000000ull) {
			tsc_use(hz, ipcprof_clock_mono(), __rdtsc());
			return;
		}
		ipcprof_warn("%s=%.40s is not valid (ticks per second, set by ipcprof itself); "
			     "using a new measurement",
			     IPCPROF_ENV_TSC_HZ, s);
		ipcprof_setting_pass(IPCPROF_ENV_TSC_HZ, NULL); /* the new one is passed on */
	}
	cal_m0 = ipcprof_clock_mono();
	cal_t0 = __rdtsc();
	atomic_store(&cal_state, CAL_MEASURING);
#endif
}

/* ---- the record file ---- */

/*
 * This image's identity and the pid of its record, kept apart from the record: a fork child
 * copies them from pages its parent wrote (shared with it at fork, nothing to fault in) instead
 * of reading the parent's record, whose pages a child must fault in one by one.
 */
static struct ipcprof_process ident IPCPROF_BIG;
static pid_t rec_pid;
static uint64_t rec_pidns; /* the pid namespace rec_pid is a number in */
/* CLOCK_REALTIME - CLOCK_MONOTONIC when this image started: a fork child's start in realtime
 * (the report takes the offset of a host's first image, which is no fork child). */
static int64_t realtime_offset;

static void read_small_file(const char *path, char *buf, size_t size, size_t *len)
{
	*len = 0;
	int fd = sys_open(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return;
	while (*len < size) {
		ssize_t n = sys_read(fd, buf + *len, size - *len);
		if (n <= 0)
			break;
		*len += (size_t)n;
	}
	sys_close(fd);
}

/* The fields fill_identity() reads, from one process header to another (inline copies: a fork
 * child runs this). */
static void copy_identity(struct ipcprof_process *to, const struct ipcprof_process *from)
{
	to->argc = from->argc;
	to->argv_len = from->argv_len;
	ipcprof_copy(to->argv, from->argv,
		     from->argv_len < sizeof(from->argv) ? from->argv_len : sizeof(from->argv));
	ipcprof_copy(to->exe, from->exe, sizeof(from->exe));
	ipcprof_copy(to->hostname, from->hostname, sizeof(from->hostname));
	ipcprof_copy(to->boot_id, from->boot_id, sizeof(from->boot_id));
}

static void fill_identity(struct ipcprof_process *p)
{
	size_t len;
	read_small_file("/proc/self/cmdline", p->argv, sizeof(p->argv) - 1, &len);
	p->argv[len] = 0;
	p->argv_len = (uint32_t)len;
	p->argc = 0;
	for (size_t i = 0; i < len; i++)
		p->argc += p->argv[i] == 0;
	ssize_t n = sys_readlink("/proc/self/exe", p->exe, sizeof(p->exe) - 1);
	p->exe[n > 0 ? n : 0] = 0;
	struct utsname u;
	if (uname(&u) == 0)
		ipcprof_strlcpy(p->hostname, u.nodename, sizeof(p->hostname));
	read_small_file("/proc/sys/kernel/random/boot_id", p->boot_id, sizeof(p->boot_id) - 1,
			&len);
	while (len && (p->boot_id[len - 1] == '\n'))
		len--;
	p->boot_id[len] = 0;
}

/*
 * Disk blocks behind a record: the header's are reserved when the file is made; those of the
 * tables and the timeline as they are first used, a chunk at a time, with
 * madvise(MADV_POPULATE_WRITE), which reports a full disk as an error where a store into a hole
 * would raise SIGBUS in the program. A chunk that cannot be backed is never written: what would
 * have gone there counts as dropped, and stderr says it once. A process that uses little of its
 * record (most fork children) gets blocks for little of it.
 */
#define BACK_SHIFT 12 /* a page at a time */
#define BACK_MAX_BYTES                                                                             \
	(sizeof(struct ipcprof_record) + ((uint64_t)1 << 24) * sizeof(struct ipcprof_interval) +   \
	 2 * 4096 + (uint64_t)IPCPROF_MAX_CHANNELS * sizeof(struct ipcprof_channel))
#define BACK_WORDS    ((BACK_MAX_BYTES >> BACK_SHIFT) / 64 + 1)
/* A bit per chunk of this process's record. The first 4 MiB's words, all that most processes
 * use, lie with the other small variables; the rest with the large tables (IPCPROF_BIG). */
#define BACK_LO_WORDS 16
static _Atomic uint64_t backed_lo[BACK_LO_WORDS];
static _Atomic uint64_t backed_hi[BACK_WORDS - BACK_LO_WORDS] IPCPROF_BIG;

static inline _Atomic uint64_t *back_word(uint64_t w)
{
	return w < BACK_LO_WORDS ? &backed_lo[w] : &backed_hi[w - BACK_LO_WORDS];
}
static _Atomic bool back_failed;
static bool back_all; /* all of it was reserved at once (a kernel without MADV_POPULATE_WRITE) */

static __attribute__((noinline)) bool back_chunk(struct ipcprof_record *r, uint64_t c)
{
	if (atomic_load_explicit(&back_failed, memory_order_relaxed))
		return false;
	uint64_t lo = c << BACK_SHIFT, hi = lo + ((uint64_t)1 << BACK_SHIFT);
	if (hi > r->prof.area_offset)
		hi = r->prof.area_offset; /* page-aligned: the sample area backs itself */
	int saved = IPCPROF_ERRNO;
	/* Two threads may back one chunk at once: the second finds the pages there. */
	if (sys_madvise((char *)r + lo, hi - lo, MADV_POPULATE_WRITE) != 0) {
		int err = IPCPROF_ERRNO;
		if (!atomic_exchange(&back_failed, true))
			ipcprof_warn_once(IPCPROF_WARN_RECORD,
					  "cannot reserve disk space for more of the record: %s; "
					  "its figures stop growing (counted as dropped)",
					  /* the error of a fill that would have been a SIGBUS */
					  err == EFAULT ? "no space left" : strerror(err));
		IPCPROF_ERRNO = saved;
		return false;
	}
	atomic_fetch_or(back_word(c / 64), (uint64_t)1 << (c % 64));
	IPCPROF_ERRNO = saved;
	return true;
}

/* Whether [p, p + len) of the record has blocks behind it (now): false means do not write. */
static inline bool record_back(struct ipcprof_record *r, const void *p, size_t len)
{
	if (IPCPROF_UNLIKELY(back_all))
		return true;
	uint64_t off = (uint64_t)((const char *)p - (const char *)r);
	for (uint64_t c = off >> BACK_SHIFT; c <= (off + len - 1) >> BACK_SHIFT; c++)
		if (!(atomic_load_explicit(back_word(c / 64), memory_order_relaxed) &
		      ((uint64_t)1 << (c % 64))) &&
		    !back_chunk(r, c))
			return false;
	return true;
}

/* A new record has no chunk backed: words are cleared only where set (a fork child shares
 * the parent's pages until it writes them). */
static void back_reset(void)
{
	uint64_t words = (record_base_size >> BACK_SHIFT) / 64 + 1;
	for (uint64_t i = 0; i < words && i < BACK_WORDS; i++)
		if (atomic_load_explicit(back_word(i), memory_order_relaxed))
			atomic_store_explicit(back_word(i), 0, memory_order_relaxed);
	if (atomic_load_explicit(&back_failed, memory_order_relaxed))
		atomic_store(&back_failed, false);
	back_all = false;
}

/* "<dir>/<pid>.<seq>.ipcrec", as snprintf would make it: a fork child makes one first thing. */
#define RECORD_NAME_MAX 40 /* "/<pid>.<seq>.ipcrec" and its 0, at most */
static void record_path(char *path, pid_t pid, uint32_t seq)
{
	size_t n = session_dir_len; /* < PATH_MAX - 64: room for the rest */
	ipcprof_copy(path, session_dir, n);
	char *p = path + n;
	*p++ = '/';
	p = ipcprof_put_uint(p, (uint32_t)pid, 10);
	*p++ = '.';
	p = ipcprof_put_uint(p, seq, 10);
	memcpy(p, IPCPROF_RECORD_SUFFIX, sizeof(IPCPROF_RECORD_SUFFIX));
}

/* Sample areas smaller than this are not worth sampling into. */
#define AREA_MIN ((uint64_t)64 << 10)

/*
 * The record's channel table, sample area and timeline within the file-size limit (RLIMIT_FSIZE):
 * a file made larger would raise SIGXFSZ in the program (or fail with EFBIG where it blocks that
 * signal). The channel table is cut first, down to IPCPROF_MIN_CHANNELS entries, then the sample
 * area, then the timeline; the header and that many channel entries must fit. False: no record
 * fits. The limit is read for each record: a fork child may have another.
 */
static bool record_fit(uint32_t *tl, uint32_t *chans, uint64_t *area, uint64_t *size)
{
	*tl = timeline_cap;
	*chans = channels_cap;
	*area = sample_area;
	*size = record_file_size;
	struct rlimit lim;
	if (sys_call(SYS_prlimit64, 0, RLIMIT_FSIZE, NULL, &lim) != 0 ||
	    lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= record_file_size)
		return true;
	uint64_t max = lim.rlim_cur & ~(uint64_t)4095u;
	const uint64_t rs = sizeof(struct ipcprof_record), is = sizeof(struct ipcprof_interval),
		       cs = sizeof(struct ipcprof_channel);
	uint32_t min_ch = channels_cap < IPCPROF_MIN_CHANNELS ? channels_cap : IPCPROF_MIN_CHANNELS;
	uint64_t least = ipcprof_sample_area_offset(rs, 0, is, min_ch);
	if (max < least) {
		ipcprof_warn_once(
		    IPCPROF_WARN_FSIZE,
		    "the file size limit (ulimit -f) of %llu bytes leaves no room for "
		    "a record (%llu bytes at least); not profiling",
		    (unsigned long long)lim.rlim_cur, (unsigned long long)least);
		return false;
	}
	uint64_t cho = ipcprof_channels_offset(rs, *tl, is);
	uint64_t room = max > cho + *area ? max - cho - *area : 0; /* page multiples */
	*chans = room / cs < min_ch ? min_ch : room / cs < *chans ? (uint32_t)(room / cs) : *chans;
	uint64_t chbytes = ipcprof_sample_area_offset(0, 0, is, *chans);
	uint64_t off = ipcprof_sample_area_offset(rs, *tl, is, *chans);
	*area = off <= max ? max - off : 0;
	if (*area < AREA_MIN)
		*area = 0;
	if (*area > sample_area)
		*area = sample_area;
	if (off > max)
		*tl = (uint32_t)((max - chbytes - rs) / is);
	*size = ipcprof_sample_area_offset(rs, *tl, is, *chans) + *area;
	/* Said by the session's first process: every program a shell script runs would say it
	 * again otherwise. The record tells the reporter its capacities. */
	if (root_process)
		ipcprof_warn_once(
		    IPCPROF_WARN_FSIZE,
		    "the file size limit (ulimit -f) of %llu bytes is below a record's "
		    "%llu: records are cut to fit (%u channels, %s, a timeline of %u "
		    "intervals)",
		    (unsigned long long)lim.rlim_cur, (unsigned long long)record_file_size, *chans,
		    *area ? "a smaller CPU sample area" : "no CPU samples", *tl);
	return true;
}

/* Makes <dir>/<pid>.<seq>.ipcrec with the lowest free seq >= *seq; maps it. */
static struct ipcprof_record *record_create(pid_t pid, uint32_t *seq, bool forked)
{
	uint32_t tl, chans;
	uint64_t area, size;
	if (!record_fit(&tl, &chans, &area, &size))
		return NULL;
	/*
	 * A short folder's path is made on the stack, in a buffer small enough not to reach a
	 * page of it that a fork child has not written yet (a copy of the parent's); a long one's
	 * in a static buffer (record_create runs once at a time: at start and in a fork child).
	 */
	static char long_path[PATH_MAX] IPCPROF_BIG;
	char short_path[192];
	char *path =
	    session_dir_len + RECORD_NAME_MAX <= sizeof(short_path) ? short_path : long_path;
	int fd = -1;
	for (uint32_t s = *seq; s < *seq + 4096; s++) {
		record_path(path, pid, s);
		fd = sys_open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			*seq = s;
			break;
		}
		if (IPCPROF_ERRNO != EEXIST)
			break;
	}
	if (fd < 0) {
		ipcprof_warn_once(IPCPROF_WARN_RECORD,
				  "cannot create a record in %s: %s; not profiling", session_dir,
				  strerror(IPCPROF_ERRNO));
		return NULL;
	}
	/*
	 * The header's blocks are reserved now: a sparse file would leave its holes to be filled
	 * when the program touches them, and on a full disk that fill is a SIGBUS in the profiled
	 * program. A full disk is better found here, where it only means not profiling. The rest
	 * of the file is a hole until record_back() or the sampler backs it, chunk by chunk.
	 */
	back_reset();
	uint64_t head = (offsetof(struct ipcprof_record, mappings) + 4095u) & ~(uint64_t)4095u;
	const char *failed = NULL;
	int fa = (int)sys_call(SYS_fallocate, fd, 0, (off_t)0, (off_t)head);
	if (fa != 0 && IPCPROF_ERRNO != EOPNOTSUPP && IPCPROF_ERRNO != ENOSYS)
		failed = "reserve space for";
	else if (sys_ftruncate(fd, (off_t)size) != 0)
		failed = "size";
	int err = IPCPROF_ERRNO;
	void *m = MAP_FAILED;
	if (!failed) {
		m = sys_mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED) {
			failed = "map";
			err = IPCPROF_ERRNO;
		}
	}
	if (!failed) {
		/*
		 * The first touch of a page of a shared file mapping reads around it: as much as
		 * the device's read-ahead (8 MiB on some virtual disks), every page zero-filled,
		 * for a process that touches a few pages of its record. One page at a time.
		 */
		sys_madvise(m, size, MADV_RANDOM);
		/* The header is written at once: its pages now, and the test of POPULATE_WRITE. */
		if (sys_madvise(m, head, MADV_POPULATE_WRITE) != 0) {
			if (IPCPROF_ERRNO == EINVAL &&
			    sys_call(SYS_fallocate, fd, 0, (off_t)0, (off_t)(size - area)) == 0)
				back_all = true; /* an older kernel: all of it now, as it can */
			else
				failed = "reserve space for";
			err = IPCPROF_ERRNO;
		}
	}
	if (failed) {
		ipcprof_warn_once(IPCPROF_WARN_RECORD, "cannot %s %s: %s; not profiling", failed,
				  path, strerror(err));
		if (m != MAP_FAILED)
			sys_munmap(m, size);
		sys_close(fd);
		sys_unlink(path);
		return NULL;
	}
	sys_close(fd);
	/* The header's pages have their blocks. */
	for (uint64_t c = 0; c < head >> BACK_SHIFT; c++)
		atomic_fetch_or(back_word(c / 64), (uint64_t)1 << (c % 64));
	struct ipcprof_record *r = m;
	/* Stores of their own: merged, the constants would be read from a page of constants,
	 * which a fork child faults in for them alone. */
	*(volatile uint32_t *)&r->version = IPCPROF_RECORD_VERSION;
	*(volatile uint32_t *)&r->record_size = sizeof(*r);
	*(volatile uint32_t *)&r->interval_size = sizeof(struct ipcprof_interval);
	r->timeline_cap = tl;
	r->channels_offset =
	    ipcprof_channels_offset(sizeof(*r), tl, sizeof(struct ipcprof_interval));
	r->channels_cap = chans;
	*(volatile uint32_t *)&r->channel_size = sizeof(struct ipcprof_channel);
	r->file_size = size;
	r->prof.area_offset = size - area;
	r->prof.area_cap = area;
	rec_size = size;
	r->stack_min_bytes = stack_min;
	r->fingerprint_min_bytes = fingerprint_min;
	r->proc.pid = pid;
	rec_pid = pid;
	/* A fork child may be the first of a new namespace (unshare(CLONE_NEWPID) in its parent):
	 * read again, and its parent's is the one this process had until now. */
	uint64_t ns = ipcprof_pidns();
	r->proc.pidns = ns;
	r->proc.parent_pidns = forked ? rec_pidns : ns;
	rec_pidns = ns;
	r->proc.ppid = (int32_t)sys_getppid();
	r->proc.seq = *seq;
	r->proc.start_ns = ipcprof_now();
	if (!forked) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		realtime_offset = (int64_t)((uint64_t)ts.tv_sec * 1000000000u +
					    (uint64_t)ts.tv_nsec - r->proc.start_ns);
	}
	r->proc.start_realtime_ns = r->proc.start_ns + (uint64_t)realtime_offset;
	r->last_ns = r->proc.start_ns;
	ipcprof_chan = ipcprof_record_channels(r);
	return r;
}

/* The magic goes in last: a reader that sees it sees a header that is complete. */
static void record_publish(struct ipcprof_record *r)
{
	char magic[8] = IPCPROF_RECORD_MAGIC;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(r->magic, magic, sizeof(magic));
}

/* The latest earlier image of this pid in this pid namespace (those of another namespace lie
 * among them) ended in exec: this image is its exec. */
static bool previous_image_execed(pid_t pid, uint32_t seq)
{
	for (uint32_t s = seq; s-- > 0;) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%d.%u%s", session_dir, (int)pid, s,
			 IPCPROF_RECORD_SUFFIX);
		int fd = sys_open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
		if (fd < 0)
			return false;
		struct ipcprof_process p;
		ssize_t n = sys_pread(fd, &p, sizeof(p), offsetof(struct ipcprof_record, proc));
		sys_close(fd);
		if (n != (ssize_t)sizeof(p) || p.pid != pid)
			return false;
		if (p.pidns && rec_pidns && p.pidns != rec_pidns)
			continue;
		return p.end_how == IPCPROF_END_EXEC;
	}
	return false;
}

/* ---- the session ---- */

static bool session_init(void)
{
	const char *given = ipcprof_setting(IPCPROF_ENV_DIR), *dir = given;
	char made[PATH_MAX];
	if (!dir || !*dir) {
		char cwd[PATH_MAX - 64];
		if (!getcwd(cwd, sizeof(cwd))) {
			ipcprof_warn_once(
			    IPCPROF_WARN_SESSION,
			    "cannot name a session folder (getcwd: %s); not profiling",
			    strerror(IPCPROF_ERRNO));
			return false;
		}
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		snprintf(made, sizeof(made), "%s/ipcprof-%04d%02d%02d-%02d%02d%02d-%d", cwd,
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, (int)sys_getpid());
		dir = made;
	}
	/* Checked before anything is made: a path the records' names would not fit after. */
	char cwd[PATH_MAX];
	size_t full = strlen(dir);
	if (dir[0] != '/') {
		if (!getcwd(cwd, sizeof(cwd))) {
			ipcprof_warn_once(
			    IPCPROF_WARN_SESSION,
			    "cannot find the session folder %s (getcwd: %s); not profiling", dir,
			    strerror(IPCPROF_ERRNO));
			return false;
		}
		full += strlen(cwd) + 1;
	}
	if (full >= sizeof(session_dir)) {
		ipcprof_warn_once(IPCPROF_WARN_SESSION,
				  "the session folder's path is %zu bytes long, more than the %zu "
				  "that leave room for its records' names: %s; not profiling",
				  full, sizeof(session_dir) - 1, dir);
		return false;
	}
	if (sys_mkdir(dir, 0700) != 0 && IPCPROF_ERRNO != EEXIST) {
		ipcprof_warn_once(IPCPROF_WARN_SESSION,
				  "cannot create the session folder %s: %s; not profiling", dir,
				  strerror(IPCPROF_ERRNO));
		return false;
	}
	struct stat st;
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		ipcprof_warn_once(
		    IPCPROF_WARN_SESSION,
		    "session folder %s is not a folder (or is a symlink); not profiling", dir);
		return false;
	}
	if (st.st_uid != geteuid()) {
		ipcprof_warn_once(IPCPROF_WARN_SESSION,
				  "session folder %s belongs to another user; not profiling", dir);
		return false;
	}
	if (dir[0] != '/')
		snprintf(session_dir, sizeof(session_dir), "%s/%s", cwd, dir);
	else
		ipcprof_strlcpy(session_dir, dir, sizeof(session_dir));
	session_dir_len = strlen(session_dir);
	if (!given || strcmp(given, session_dir))
		ipcprof_setting_pass(IPCPROF_ENV_DIR, session_dir);
	const char *root = ipcprof_setting(IPCPROF_ENV_ROOT);
	char buf[24];
	snprintf(buf, sizeof(buf), "%d", (int)sys_getpid());
	if (root && *root) {
		char *end;
		long rp = strtol(root, &end, 10);
		if (*end || rp <= 0) {
			ipcprof_setting_reject(IPCPROF_ENV_ROOT, root,
					       "a process id, set by ipcprof itself", NULL);
			root = NULL;
		}
	}
	if (!root || !*root) {
		ipcprof_setting_pass(IPCPROF_ENV_ROOT, buf);
		root_process = true;
	} else {
		root_process = !strcmp(root, buf);
	}
	return true;
}

static void channel_index_init(void);

static void config_init(void)
{
	uint64_t v;
	ipcprof_env_u64(IPCPROF_ENV_TIMELINE, IPCPROF_DEFAULT_TIMELINE, 1u << 24, &v);
	timeline_cap = (uint32_t)v;
	ipcprof_env_u64(IPCPROF_ENV_STACK_MIN, IPCPROF_DEFAULT_STACK_MIN, UINT64_MAX, &stack_min);
	ipcprof_env_u64(IPCPROF_ENV_FINGERPRINT_MIN, IPCPROF_DEFAULT_FINGERPRINT_MIN, UINT64_MAX,
			&fingerprint_min);
	if (!ipcprof_env_u64(IPCPROF_ENV_CPU_SAMPLE, IPCPROF_DEFAULT_CPU_SAMPLE, 1u << 30, &v) ||
	    v == 0) {
		if (v == 0)
			ipcprof_setting_reject(IPCPROF_ENV_CPU_SAMPLE, "0", "at least 1",
					       IPCPROF_STR(IPCPROF_DEFAULT_CPU_SAMPLE));
		v = IPCPROF_DEFAULT_CPU_SAMPLE;
	}
	verbose = ipcprof_env_flag(IPCPROF_ENV_VERBOSE, false);
	ipcprof_env_flag(IPCPROF_ENV_REPORT, true);
	ipcprof_cpu_sample = (uint32_t)v;
	if (stack_min && stack_min < 64)
		stack_min = 64;
	if (fingerprint_min && fingerprint_min < 64)
		fingerprint_min = 64;
	big_min = UINT64_MAX;
	if (fingerprint_min)
		big_min = fingerprint_min;
	if (stack_min && stack_min < big_min)
		big_min = stack_min;
	if (!ipcprof_env_u64(IPCPROF_ENV_CHANNELS, IPCPROF_DEFAULT_CHANNELS, IPCPROF_MAX_CHANNELS,
			     &v) ||
	    v == 0) {
		if (v == 0)
			ipcprof_setting_reject(IPCPROF_ENV_CHANNELS, "0", "at least 1",
					       IPCPROF_STR(IPCPROF_DEFAULT_CHANNELS));
		v = IPCPROF_DEFAULT_CHANNELS;
	}
	channels_cap = (uint32_t)v;
	record_base_size =
	    ipcprof_sample_area_offset(sizeof(struct ipcprof_record), timeline_cap,
				       sizeof(struct ipcprof_interval), channels_cap);
	sample_area = ipcprof_sampler_config();
	record_file_size = record_base_size + sample_area;
	channel_index_init();
}

char *ipcprof_tsc_env(void)
{
	return atomic_load_explicit(&cal_state, memory_order_acquire) == CAL_DONE && tsc_env[0]
		   ? tsc_env
		   : NULL;
}

bool ipcprof_is_self(void)
{
	return ipcprof_rec && ipcprof_rec->proc.pid == (int32_t)sys_getpid();
}

/* ---- plugins ---- */

static void plugin_add(const struct ipcprof_plugin *p, const char *from)
{
	if (!p || p->version != IPCPROF_PLUGIN_VERSION || !p->name || !p->claim) {
		ipcprof_warn_once(
		    IPCPROF_WARN_PLUGIN,
		    "plugin %s: wrong interface version (want %d) or no claim(); skipped", from,
		    IPCPROF_PLUGIN_VERSION);
		return;
	}
	if (nplugins == MAX_PLUGINS) {
		ipcprof_warn_once(IPCPROF_WARN_PLUGIN, "more than %d plugins; %s skipped",
				  MAX_PLUGINS, from);
		return;
	}
	plugins[nplugins++] = p;
}

static void plugins_init(void)
{
	const char *list = ipcprof_setting(IPCPROF_ENV_PLUGINS);
	if (list && *list) {
		char buf[4096];
		ipcprof_strlcpy(buf, list, sizeof(buf));
		char *save = NULL;
		for (char *tok = strtok_r(buf, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
			void *h = dlopen(tok, RTLD_NOW | RTLD_LOCAL);
			if (!h) {
				ipcprof_warn_once(IPCPROF_WARN_PLUGIN, "cannot load plugin %s: %s",
						  tok, dlerror());
				continue;
			}
			ipcprof_plugin_entry_fn entry =
			    (ipcprof_plugin_entry_fn)dlsym(h, IPCPROF_PLUGIN_ENTRY);
			if (!entry) {
				ipcprof_warn_once(IPCPROF_WARN_PLUGIN, "plugin %s has no %s()", tok,
						  IPCPROF_PLUGIN_ENTRY);
				continue;
			}
			plugin_add(entry(), tok);
		}
	}
	plugin_add(&ipcprof_channel_pipe, "pipe");
	plugin_add(&ipcprof_channel_unix, "unix");
	plugin_add(&ipcprof_channel_inet, "inet");
	plugin_add(&ipcprof_channel_shm, "shm");
}

/* ---- classification ---- */

static unsigned fd_origin_of(int fd)
{
	return (unsigned)fd < IPCPROF_FDTAB_SIZE
		   ? atomic_load_explicit(ipcprof_fd_origin_entry(fd), memory_order_relaxed)
		   : 0;
}

/*
 * Takes the next of cap entries of size bytes at base, backed: the count rises only once the
 * entry's pages have blocks, so that no scan of the table (up to the count) reads a hole, which
 * on a full disk would be a SIGBUS. -1: no room, or no disk for it.
 */
static int take_slot(uint32_t *used, uint32_t cap, void *base, size_t size)
{
	struct ipcprof_record *r = ipcprof_rec;
	uint32_t n = __atomic_load_n(used, __ATOMIC_RELAXED);
	do {
		if (n >= cap || !record_back(r, (char *)base + (size_t)n * size, size))
			return -1;
	} while (!__atomic_compare_exchange_n(used, &n, n + 1, true, __ATOMIC_ACQ_REL,
					      __ATOMIC_RELAXED));
	return (int)n;
}

/*
 * Where each endpoint's entry is, by its identity (kind, dev, ino, and the peer for TCP/UDP): an
 * open-addressed table in process memory, at most half full, so that finding the entry of a new
 * fd costs the same with 100,000 channels as with one. A bucket holds the generation it was made
 * in (ipcprof_gen) and the entry's index + 1: a fork child, whose record starts empty, sees its
 * parent's buckets as free without writing a page of them. Buckets are claimed by compare and
 * swap, after the entry is complete, so threads and signal handlers need no lock: two that add
 * one endpoint at once both fill an entry, and the one that loses the bucket leaves its entry
 * unused (kind 0) and takes the winner's.
 */
static _Atomic uint64_t *chan_index;
static uint32_t chan_index_mask;

static void channel_index_init(void)
{
	uint64_t n = 1024;
	while (n < 2 * (uint64_t)channels_cap)
		n <<= 1;
	void *p = sys_mmap(NULL, n * sizeof(uint64_t), PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		ipcprof_warn_once(IPCPROF_WARN_RECORD,
				  "cannot map the channel index (%llu bytes): %s; channels are not "
				  "counted",
				  (unsigned long long)(n * sizeof(uint64_t)),
				  strerror(IPCPROF_ERRNO));
		return;
	}
	chan_index = p;
	chan_index_mask = (uint32_t)(n - 1);
}

static bool is_inet(uint32_t kind)
{
	return kind == IPCPROF_KIND_TCP || kind == IPCPROF_KIND_UDP;
}

static uint32_t channel_hash(const struct ipcprof_channel *c)
{
	uint64_t h = (c->dev * 0x9e3779b97f4a7c15ull) ^ c->ino ^ ((uint64_t)c->kind << 56);
	if (is_inet(c->kind)) {
		uint64_t a, b;
		memcpy(&a, c->peer_addr, 8);
		memcpy(&b, c->peer_addr + 8, 8);
		h ^= (a * 0xff51afd7ed558ccdull) ^ b ^ ((uint64_t)c->peer_port << 40);
	}
	h *= 0xc4ceb9fe1a85ec53ull;
	return (uint32_t)(h >> 32);
}

/* Whether entry e, which is complete, is the endpoint c. */
static bool channel_same(const struct ipcprof_channel *e, const struct ipcprof_channel *c)
{
	if (__atomic_load_n(&e->kind, __ATOMIC_ACQUIRE) != c->kind || e->dev != c->dev ||
	    e->ino != c->ino)
		return false;
	return !is_inet(c->kind) || (e->peer_port == c->peer_port &&
				     !memcmp(e->peer_addr, c->peer_addr, sizeof(c->peer_addr)));
}

/* The entry of c, or -1 with *at the first free bucket of its probe sequence. */
static int channel_find(const struct ipcprof_channel *c, uint32_t *at)
{
	uint32_t gen = ipcprof_gen;
	for (uint32_t k = channel_hash(c), n = 0; n <= chan_index_mask; k++, n++) {
		uint64_t b =
		    atomic_load_explicit(&chan_index[k & chan_index_mask], memory_order_acquire);
		if ((uint32_t)(b >> 32) != gen || !(uint32_t)b) {
			*at = k & chan_index_mask;
			return -1;
		}
		if (channel_same(&ipcprof_chan[(uint32_t)b - 1], c))
			return (int)((uint32_t)b - 1);
	}
	return -2; /* full: cannot happen below half the table */
}

/* Finds the entry of an endpoint seen before (a dup, or the same pipe's other end), or adds one. */
static int channel_slot(const struct ipcprof_channel *c)
{
	struct ipcprof_record *r = ipcprof_rec;
	uint32_t at = 0;
	int found = chan_index ? channel_find(c, &at) : -2;
	if (found >= 0)
		return found;
	int slot = found == -1 ? take_slot(&r->channels_used, r->channels_cap, ipcprof_chan,
					   sizeof(*ipcprof_chan))
			       : -1;
	if (slot < 0) {
		ADD(r->dropped.channels, 1);
		return -1;
	}
	uint32_t i = (uint32_t)slot;
	struct ipcprof_channel *e = &ipcprof_chan[i];
	uint32_t kind = c->kind;
	memcpy((char *)e + sizeof(e->kind), (const char *)c + sizeof(c->kind),
	       offsetof(struct ipcprof_channel, dir) - sizeof(c->kind));
	e->first_ns = ipcprof_now();
	__atomic_store_n(&e->kind, kind, __ATOMIC_RELEASE);
	uint64_t mine = (uint64_t)ipcprof_gen << 32 | (i + 1);
	for (uint32_t n = 0; n <= chan_index_mask; n++) {
		_Atomic uint64_t *bk = &chan_index[at];
		uint64_t b = atomic_load_explicit(bk, memory_order_acquire);
		if ((uint32_t)(b >> 32) != ipcprof_gen || !(uint32_t)b) {
			if (atomic_compare_exchange_strong_explicit(
				bk, &b, mine, memory_order_acq_rel, memory_order_acquire))
				return (int)i;
		}
		if ((uint32_t)(b >> 32) == ipcprof_gen && (uint32_t)b &&
		    channel_same(&ipcprof_chan[(uint32_t)b - 1], c)) {
			/* another thread (or a signal handler) added it first */
			__atomic_store_n(&e->kind, IPCPROF_KIND_NONE, __ATOMIC_RELEASE);
			return (int)((uint32_t)b - 1);
		}
		if ((uint32_t)(b >> 32) == ipcprof_gen && (uint32_t)b)
			at = (at + 1) & chan_index_mask;
	}
	return (int)i; /* no bucket (cannot happen): counted, but found again by no other fd */
}

struct ipcprof_channel *ipcprof_channel_add(const struct ipcprof_channel *c)
{
	struct ipcprof_record *r = ipcprof_rec;
	if (!r)
		return NULL;
	int saved = IPCPROF_ERRNO;
	ipcprof_thr.guard++;
	int slot = channel_slot(c);
	ipcprof_thr.guard--;
	IPCPROF_ERRNO = saved;
	return slot < 0 ? NULL : &ipcprof_chan[slot];
}

static void fd_set_state(int fd, uint32_t v)
{
	atomic_store_explicit(ipcprof_fd_entry(fd), ((uint64_t)ipcprof_gen << 32) | v,
			      memory_order_relaxed);
}

struct ipcprof_channel *ipcprof_classify(int fd)
{
	struct ipcprof_record *r = ipcprof_rec;
	if (!r)
		return NULL;
	int saved = IPCPROF_ERRNO;
	ipcprof_thr.guard++;
	struct ipcprof_fd_info info;
	char link[IPCPROF_PATH_BYTES];
	struct ipcprof_channel *result = NULL;
	if (ipcprof_fd_info_fill(fd, &info, link, sizeof(link)) != 0)
		goto out; /* not open: the call fails by itself, nothing to remember */
	mode_t fmt = info.st.st_mode & S_IFMT;
	uint32_t state = IPCPROF_FD_NOT_IPC;
	if (fmt == S_IFDIR || fmt == S_IFBLK) {
		fd_set_state(fd, state);
		goto out;
	}
	struct ipcprof_channel c;
	for (unsigned i = 0; i < nplugins; i++) {
		memset(&c, 0, sizeof(c));
		c.first_fd = fd;
		int rc = plugins[i]->claim(&info, &c);
		if (rc == 0)
			continue;
		if (rc < 0 || c.kind == IPCPROF_KIND_NONE || c.kind >= IPCPROF_KIND_COUNT) {
			ipcprof_warn_once(IPCPROF_WARN_PLUGIN,
					  "plugin %s failed on fd %d (%s); that fd is not counted",
					  plugins[i]->name, fd,
					  rc < 0 ? strerror(-rc) : "bad kind");
			state = IPCPROF_FD_UNTRACKED;
			break;
		}
		ipcprof_strlcpy(c.plugin, plugins[i]->name, sizeof(c.plugin));
		unsigned origin = fd_origin_of(fd);
		if (origin & IPCPROF_FD_ORIGIN_CREATED)
			c.flags |= IPCPROF_CH_CREATED;
		int slot = channel_slot(&c);
		if (slot < 0) {
			/* Not a failure to shout about on the program's stderr: the record counts
			 * it in dropped.channels, and the report says which figures are short. */
			state = IPCPROF_FD_UNTRACKED;
			break;
		}
		result = &ipcprof_chan[slot];
		result->plugin_ref = (i + 1) | (plugins[i]->account ? CHANNEL_HOOKED : 0);
		state = IPCPROF_FD_CHANNEL0 + (uint32_t)slot;
		break;
	}
	fd_set_state(fd, state);
out:
	ipcprof_thr.guard--;
	IPCPROF_ERRNO = saved;
	return result;
}

void ipcprof_fd_forget_range(unsigned first, unsigned last)
{
	if (first >= IPCPROF_FDTAB_SIZE)
		return;
	if (last >= IPCPROF_FDTAB_SIZE)
		last = IPCPROF_FDTAB_SIZE - 1;
	for (unsigned fd = first; fd <= last; fd++)
		atomic_store_explicit(ipcprof_fd_entry(fd), 0, memory_order_relaxed);
}

void ipcprof_fd_copy(int from, int to)
{
	if ((unsigned)from >= IPCPROF_FDTAB_SIZE || (unsigned)to >= IPCPROF_FDTAB_SIZE)
		return;
	atomic_store_explicit(ipcprof_fd_entry(to),
			      atomic_load_explicit(ipcprof_fd_entry(from), memory_order_relaxed),
			      memory_order_relaxed);
	atomic_store_explicit(
	    ipcprof_fd_origin_entry(to),
	    atomic_load_explicit(ipcprof_fd_origin_entry(from), memory_order_relaxed),
	    memory_order_relaxed);
}

void ipcprof_fd_closing(int fd)
{
	if ((unsigned)fd >= IPCPROF_FDTAB_SIZE)
		return;
	uint64_t e = atomic_load_explicit(ipcprof_fd_entry(fd), memory_order_relaxed);
	uint32_t v = (uint32_t)e;
	/* Only the table: in a vfork child this is the parent's memory, and the parent's fd keeps
	 * its origin. A number reused later gets its origin anew from the call that makes it. */
	ipcprof_fd_reclassify(fd);
	if ((uint32_t)(e >> 32) != ipcprof_gen || v < IPCPROF_FD_CHANNEL0 || !ipcprof_rec)
		return;
	struct ipcprof_channel *ch = &ipcprof_chan[v - IPCPROF_FD_CHANNEL0];
	uint32_t pi = ch->plugin_ref & ~CHANNEL_HOOKED;
	if (!pi || pi > nplugins || !plugins[pi - 1]->closing)
		return;
	int saved = IPCPROF_ERRNO;
	ipcprof_thr.guard++;
	plugins[pi - 1]->closing(ch, fd);
	ipcprof_thr.guard--;
	IPCPROF_ERRNO = saved;
}

void ipcprof_fd_made(int fd, unsigned origin)
{
	if ((unsigned)fd >= IPCPROF_FDTAB_SIZE)
		return;
	atomic_store_explicit(ipcprof_fd_entry(fd), 0, memory_order_relaxed);
	atomic_store_explicit(ipcprof_fd_origin_entry(fd), (uint8_t)origin, memory_order_relaxed);
	if (tables_wiped)
		return;
	uint32_t m = atomic_load_explicit(&fd_origin_max, memory_order_relaxed);
	while ((uint32_t)fd > m && !atomic_compare_exchange_weak(&fd_origin_max, &m, (uint32_t)fd))
		;
}

/* ---- counting ---- */

static void thread_refresh(struct ipcprof_thread *th)
{
	if (IPCPROF_LIKELY(th->gen == ipcprof_gen))
		return;
	th->gen = ipcprof_gen;
	th->tid = (uint32_t)sys_call(SYS_gettid);
	memset(th->open, 0, sizeof(th->open));
}

/* Calls close together on one thread merge into one interval; the gap that merges grows as the
 * timeline fills, so that memory stays flat and the whole run stays covered. */
static uint64_t merge_gap(uint32_t used, uint32_t cap)
{
	if (used < cap / 2)
		return 20000;
	if (used < cap / 4 * 3)
		return 1000000;
	if (used < cap / 8 * 7)
		return 50000000;
	return 2000000000;
}

static void timeline_add(struct ipcprof_thread *th, uint32_t ch, int dir, uint64_t t0, uint64_t t1,
			 uint64_t bytes)
{
	struct ipcprof_record *r = ipcprof_rec;
	uint32_t cap = r->timeline_cap;
	if (!cap)
		return;
	struct ipcprof_interval *tl = ipcprof_record_timeline(r);
	/* The thread's open interval of this channel and direction, if it has one: extended, or
	 * followed by a new one in its entry. Otherwise the oldest entry makes room. */
	uint32_t key = ch << 1 | (uint32_t)dir;
	unsigned k = 0;
	while (k < IPCPROF_OPEN_INTERVALS && !(th->open[k].slot && th->open[k].channel == key))
		k++;
	if (k < IPCPROF_OPEN_INTERVALS) {
		struct ipcprof_interval *iv = &tl[th->open[k].slot - 1];
		uint32_t used = __atomic_load_n(&r->intervals_used, __ATOMIC_RELAXED);
		if (t0 <= iv->end_ns + merge_gap(used, cap)) {
			iv->end_ns = t1;
			iv->bytes += bytes;
			iv->calls++;
			return;
		}
	} else {
		k = th->open_next++ % IPCPROF_OPEN_INTERVALS;
	}
	uint32_t i = ADD(r->intervals_used, 1);
	if (i >= cap || !record_back(r, &tl[i], sizeof(tl[i]))) {
		ADD(r->dropped.intervals, 1);
		th->open[k].slot = 0;
		return;
	}
	struct ipcprof_interval *iv = &tl[i];
	iv->start_ns = t0;
	iv->end_ns = t1;
	iv->bytes = bytes;
	iv->tid = th->tid;
	iv->calls = 1;
	iv->channel = ch;
	iv->dir = (uint8_t)dir;
	th->open[k].slot = i + 1;
	th->open[k].channel = key;
}

/* A sampled hash of a payload: 64 words spread over it, and its length. Cost is bounded. */
static uint64_t payload_hash(const void *buf, size_t n)
{
	const unsigned char *p = buf;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
	for (unsigned i = 0; i < 64; i++) {
		uint64_t w;
		memcpy(&w, p + (uint64_t)(n - 8) * i / 63, sizeof(w));
		h ^= w;
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 33;
	}
	return h ? h : 1;
}

static void fingerprint_add(uint32_t ch, const void *buf, size_t n, uint64_t t)
{
	struct ipcprof_record *r = ipcprof_rec;
	if (!record_back(r, r->fingerprints, sizeof(r->fingerprints))) {
		ADD(r->dropped.fingerprints, 1);
		return;
	}
	uint64_t h = payload_hash(buf, n);
	for (unsigned k = 0; k < IPCPROF_MAX_FINGERPRINTS; k++) {
		struct ipcprof_fingerprint *f =
		    &r->fingerprints[(h + k) % IPCPROF_MAX_FINGERPRINTS];
		uint64_t cur = __atomic_load_n(&f->hash, __ATOMIC_ACQUIRE);
		if (cur == 0) {
			uint64_t zero = 0;
			if (__atomic_compare_exchange_n(&f->hash, &zero, h, false, __ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE)) {
				f->size = n;
				f->channel = ch;
				f->first_ns = t;
				f->last_ns = t;
				ADD(f->count, 1);
				return;
			}
			cur = zero;
		}
		if (cur == h) {
			f->last_ns = t;
			ADD(f->count, 1);
			return;
		}
	}
	ADD(r->dropped.fingerprints, 1);
}

struct module_scan {
	struct ipcprof_record *r;
};

static int module_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct ipcprof_record *r = ((struct module_scan *)arg)->r;
	uint64_t lo = UINT64_MAX, hi = 0;
	const unsigned char *bid = NULL;
	uint32_t bidlen = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD) {
			uint64_t a = info->dlpi_addr + ph->p_vaddr;
			if (a < lo)
				lo = a;
			if (a + ph->p_memsz > hi)
				hi = a + ph->p_memsz;
		} else if (ph->p_type == PT_NOTE && !bid) {
			const char *n = (const char *)(info->dlpi_addr + ph->p_vaddr);
			const char *end = n + ph->p_memsz;
			while (n + sizeof(ElfW(Nhdr)) <= end) {
				const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)(const void *)n;
				const char *name = n + sizeof(*nh);
				const char *desc = name + ((nh->n_namesz + 3) & ~3u);
				if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
				    !memcmp(name, "GNU", 4)) {
					bid = (const unsigned char *)desc;
					bidlen = nh->n_descsz > 20 ? 20 : nh->n_descsz;
					break;
				}
				n = desc + ((nh->n_descsz + 3) & ~3u);
			}
		}
	}
	if (lo >= hi)
		return 0;
	uint32_t used = r->modules_used;
	for (uint32_t i = 0; i < used; i++)
		if (r->modules[i].start == lo && r->modules[i].base == info->dlpi_addr)
			return 0;
	if (used >= IPCPROF_MAX_MODULES) {
		ADD(r->dropped.modules, 1);
		return 0;
	}
	struct ipcprof_module *m = &r->modules[used];
	if (!record_back(r, m, sizeof(*m))) {
		ADD(r->dropped.modules, 1);
		return 0;
	}
	m->base = info->dlpi_addr;
	m->start = lo;
	m->end = hi;
	if (bid) {
		memcpy(m->build_id, bid, bidlen);
		m->build_id_len = bidlen;
	}
	if (info->dlpi_name && info->dlpi_name[0])
		ipcprof_strlcpy(m->path, info->dlpi_name, sizeof(m->path));
	else
		ipcprof_strlcpy(m->path, r->proc.exe, sizeof(m->path));
	__atomic_store_n(&r->modules_used, used + 1, __ATOMIC_RELEASE);
	return 0;
}

static void modules_refresh(void)
{
	int expect = 0;
	if (!atomic_compare_exchange_strong(&modules_lock, &expect, 1))
		return;
	struct module_scan s = {ipcprof_rec};
	dl_iterate_phdr(module_cb, &s);
	atomic_store(&modules_lock, 0);
}

static bool module_known(uint64_t ip)
{
	struct ipcprof_record *r = ipcprof_rec;
	uint32_t used = __atomic_load_n(&r->modules_used, __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; i < used; i++)
		if (ip >= r->modules[i].start && ip < r->modules[i].end)
			return true;
	return false;
}

/*
 * Adds the module of ip to the record's table, from a signal handler: _dl_find_object takes no
 * lock and allocates nothing, and the ELF header and program headers are read in memory. When
 * another thread holds the table, ip stays unknown until a later sample.
 */
void ipcprof_module_note(uint64_t ip)
{
	struct ipcprof_record *r = ipcprof_rec;
	if (!r || module_known(ip))
		return;
	struct dl_find_object fo;
	if (_dl_find_object((void *)(uintptr_t)ip, &fo) != 0 || !fo.dlfo_link_map)
		return;
	const ElfW(Ehdr) *eh = fo.dlfo_map_start;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_phoff == 0 ||
	    (const char *)eh + eh->e_phoff + eh->e_phnum * sizeof(ElfW(Phdr)) >
		(const char *)fo.dlfo_map_end)
		return;
	struct dl_phdr_info info;
	memset(&info, 0, sizeof(info));
	info.dlpi_addr = fo.dlfo_link_map->l_addr;
	info.dlpi_name = fo.dlfo_link_map->l_name;
	info.dlpi_phdr = (const ElfW(Phdr) *)(const void *)((const char *)eh + eh->e_phoff);
	info.dlpi_phnum = eh->e_phnum;
	int expect = 0;
	if (!atomic_compare_exchange_strong(&modules_lock, &expect, 1))
		return;
	struct module_scan s = {r};
	module_cb(&info, sizeof(info), &s);
	atomic_store(&modules_lock, 0);
}

void ipcprof_modules_refresh(void)
{
	modules_refresh();
}

/*
 * libunwind is loaded privately (RTLD_LOCAL): linked in, its _Unwind_* names
 * would take the place of libgcc's in the profiled program and change how C++ exceptions unwind.
 * Loaded at start-up, not on the first large call: dlopen allocates and locks.
 */
static void unwind_load(bool want)
{
	if (!want)
		return;
	/* Bound now, not at each function's first call: that would happen in the signal handler,
	 * and in each fork child again (a lookup and a copied page of its table each time). */
	void *h = dlopen(IPCPROF_LIBUNWIND, RTLD_NOW | RTLD_LOCAL);
	if (!h || !ipcprof_unwind_resolve(h))
		ipcprof_warn_once(IPCPROF_WARN_PLUGIN,
				  "cannot load %s: call stacks and CPU samples are not recorded",
				  IPCPROF_LIBUNWIND);
}

static void stack_add(uint32_t ch, uint64_t bytes)
{
	void *raw[IPCPROF_STACK_DEPTH + 8];
	int n = ipcprof_backtrace(raw, IPCPROF_STACK_DEPTH + 8);
	uint64_t ips[IPCPROF_STACK_DEPTH + 8];
	uint32_t depth = 0;
	for (int i = 0; i < n; i++) {
		uintptr_t ip = (uintptr_t)raw[i];
		if (depth == 0 && ip >= self_lo && ip < self_hi)
			continue; /* ipcprof's own frames */
		ips[depth++] = ip;
		ipcprof_module_note(ip); /* no lock: a fork child may have inherited the loader's */
	}
	bool cut = false;
	depth = ipcprof_py_merge(ips, depth, IPCPROF_STACK_DEPTH, &cut);
	depth = ipcprof_py_add_main(ips, depth, IPCPROF_STACK_DEPTH);
	if (!depth)
		return;
	uint64_t h = 0xcbf29ce484222325ull;
	for (uint32_t i = 0; i < depth; i++) {
		h ^= ips[i];
		h *= 0x100000001b3ull;
	}
	h = h ? h : 1;
	struct ipcprof_record *r = ipcprof_rec;
	if (!record_back(r, r->stacks, sizeof(r->stacks))) {
		ADD(r->dropped.stacks, 1);
		return;
	}
	for (unsigned k = 0; k < IPCPROF_MAX_STACKS; k++) {
		struct ipcprof_stack *s = &r->stacks[(h + k) % IPCPROF_MAX_STACKS];
		uint64_t cur = __atomic_load_n(&s->hash, __ATOMIC_ACQUIRE);
		if (cur == 0) {
			uint64_t zero = 0;
			if (__atomic_compare_exchange_n(&s->hash, &zero, h, false, __ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE)) {
				memcpy(s->ip, ips, depth * sizeof(ips[0]));
				s->depth = depth;
				s->channel = ch;
				ADD(s->calls, 1);
				ADD(s->bytes, bytes);
				return;
			}
			cur = zero;
		}
		if (cur == h) {
			ADD(s->calls, 1);
			ADD(s->bytes, bytes);
			return;
		}
	}
	ADD(r->dropped.stacks, 1);
}

/* What the common call does not need: CPU samples, errors, large payloads, plugin hooks. */
static __attribute__((noinline)) void account_rare(struct ipcprof_channel *ch, uint32_t idx,
						   int dir, int op, long ret, int err,
						   const struct ipcprof_timer *t, uint64_t t1,
						   const void *buf, size_t buflen,
						   const struct sockaddr *addr, socklen_t addrlen)
{
	struct ipcprof_thread *th = &ipcprof_thr;
	struct ipcprof_dir_stats *d = &ch->dir[dir];
	uint64_t dt = t1 - t->t0;
	if (t->cpu0) {
		uint64_t cpu1 = ipcprof_thread_cpu_ns();
		th->in_call = 1; /* what ended inside the call is IPC time */
		ipcprof_sampler_settle(cpu1, false);
		th->in_call = 0;
		uint64_t cpu = cpu1 - (t->cpu0 & ~(uint64_t)1);
		ADD(d->sampled_calls, 1);
		ADD(d->sampled_wall_ns, dt);
		ADD(d->sampled_cpu_ns, cpu < dt ? cpu : dt);
	}
	if (ret < 0) {
		ADD(d->errors, 1);
		if (err == EAGAIN || err == EWOULDBLOCK)
			ADD(d->eagain, 1);
	}
	uint64_t bytes = ret > 0 ? (uint64_t)ret : 0;
	if (bytes >= big_min) {
		th->guard++;
		size_t fp = bytes < buflen ? (size_t)bytes : buflen;
		if (dir == IPCPROF_DIR_OUT && buf && fingerprint_min && fp >= fingerprint_min)
			fingerprint_add(idx, buf, fp, t1);
		if (stack_min && bytes >= stack_min)
			stack_add(idx, bytes);
		th->guard--;
	}
	uint32_t pi = ch->plugin_ref;
	if (pi & CHANNEL_HOOKED) {
		int (*hook)(struct ipcprof_channel *, const struct ipcprof_call *) =
		    plugins[(pi & ~CHANNEL_HOOKED) - 1]->account;
		struct ipcprof_call call = {.fd = ch->first_fd,
					    .op = op,
					    .dir = dir,
					    .err = ret < 0 ? err : 0,
					    .ret = ret,
					    .addr = addr,
					    .addrlen = addrlen,
					    .start_ns = t->t0,
					    .end_ns = t1};
		th->guard++;
		hook(ch, &call);
		th->guard--;
	}
}

void ipcprof_account(struct ipcprof_channel *ch, int dir, int op, long ret, int err,
		     const struct ipcprof_timer *t, const void *buf, size_t buflen,
		     const struct sockaddr *addr, socklen_t addrlen)
{
	uint64_t t1 = ipcprof_now();
	struct ipcprof_thread *th = &ipcprof_thr;
	th->in_call = 0;
	th->call_ns += t1 - t->t0;
	thread_refresh(th);
	struct ipcprof_dir_stats *d = &ch->dir[dir];
	uint32_t idx = (uint32_t)(ch - ipcprof_chan);
	const bool st = IPCPROF_LIKELY(__libc_single_threaded);
	ADD_ST(st, d->calls, 1);
	ADD_ST(st, d->time_ns, t1 - t->t0);
	uint64_t bytes = 0;
	if (IPCPROF_LIKELY(ret >= 0)) {
		bytes = (uint64_t)ret;
		ADD_ST(st, d->bytes, bytes);
		ADD_ST(st, d->hist[ipcprof_hist_bucket(bytes)], 1);
		if (IPCPROF_UNLIKELY(bytes > d->max_call_bytes))
			d->max_call_bytes = bytes; /* a racing larger value may be lost: a hint */
	}
	ch->last_ns = t1;
	if (IPCPROF_LIKELY(ret >= 0 || err != EAGAIN))
		timeline_add(th, idx, dir, t->t0, t1, bytes);
	if (IPCPROF_UNLIKELY(t->cpu0 || ret < 0 || bytes >= big_min ||
			     (ch->plugin_ref & CHANNEL_HOOKED)))
		account_rare(ch, idx, dir, op, ret, err, t, t1, buf, buflen, addr, addrlen);
	IPCPROF_ERRNO = err;
}

/* ---- shared memory mappings ---- */

/* Pages of [addr, addr+len) present in this process's page table: what it touched. */
static uint64_t resident_bytes(uint64_t addr, uint64_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	int fd = sys_open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	uint64_t first = addr / (uint64_t)page,
		 last = (addr + len + (uint64_t)page - 1) / (uint64_t)page;
	uint64_t present = 0, buf[512];
	for (uint64_t p = first; p < last;) {
		uint64_t n = last - p < 512 ? last - p : 512;
		ssize_t got = sys_pread(fd, buf, n * 8, (off_t)(p * 8));
		if (got <= 0)
			break;
		for (ssize_t i = 0; i < got / 8; i++)
			present += (buf[i] >> 63) & 1;
		p += (uint64_t)got / 8;
	}
	sys_close(fd);
	return present * (uint64_t)page;
}

void ipcprof_map_added(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct ipcprof_record *r = ipcprof_rec;
	if (!r || ipcprof_thr.guard || (flags & MAP_TYPE) == MAP_PRIVATE || !ipcprof_is_self())
		return;
	int saved = IPCPROF_ERRNO;
	ipcprof_thr.guard++;
	struct ipcprof_mapping m;
	memset(&m, 0, sizeof(m));
	if (flags & MAP_ANONYMOUS) {
		m.kind = IPCPROF_MAP_SHARED_ANON;
		m.object_size = len;
	} else {
		struct ipcprof_fd_info info;
		char link[IPCPROF_PATH_BYTES];
		if (ipcprof_fd_info_fill(fd, &info, link, sizeof(link)) != 0 ||
		    ipcprof_uring_mapping(r, info.link, off))
			goto out;
		bool claimed = false;
		for (unsigned i = 0; i < nplugins && !claimed; i++)
			if (plugins[i]->claim_mapping)
				claimed = plugins[i]->claim_mapping(&info, &m) > 0;
		if (!claimed)
			goto out;
		m.dev = info.st.st_dev;
		m.ino = info.st.st_ino;
		m.object_size = (uint64_t)info.st.st_size;
		if (fd_origin_of(fd) & IPCPROF_FD_ORIGIN_CREATED)
			m.flags |= IPCPROF_MAP_CREATOR;
	}
	m.addr = (uint64_t)(uintptr_t)addr;
	m.length = len;
	m.offset = (uint64_t)off;
	m.prot = prot;
	m.map_flags = flags;
	m.map_ns = ipcprof_now();
	int i = take_slot(&r->mappings_used, IPCPROF_MAX_MAPPINGS, r->mappings, sizeof(m));
	if (i < 0) {
		ADD(r->dropped.mappings, 1);
		goto out;
	}
	r->mappings[i] = m;
	atomic_fetch_add(&ipcprof_live_maps, 1);
out:
	ipcprof_thr.guard--;
	IPCPROF_ERRNO = saved;
}

void ipcprof_map_removed(void *addr, size_t len)
{
	struct ipcprof_record *r = ipcprof_rec;
	if (!r || !atomic_load_explicit(&ipcprof_live_maps, memory_order_relaxed) ||
	    !ipcprof_is_self())
		return;
	uint64_t lo = (uint64_t)(uintptr_t)addr, hi = lo + len;
	uint32_t used =
	    r->mappings_used < IPCPROF_MAX_MAPPINGS ? r->mappings_used : IPCPROF_MAX_MAPPINGS;
	for (uint32_t i = 0; i < used; i++) {
		struct ipcprof_mapping *m = &r->mappings[i];
		if (!m->kind || (m->flags & IPCPROF_MAP_UNMAPPED) || m->addr >= hi ||
		    m->addr + m->length <= lo)
			continue;
		m->resident_bytes = resident_bytes(m->addr, m->length);
		m->unmap_ns = ipcprof_now();
		m->flags |= IPCPROF_MAP_UNMAPPED;
		atomic_fetch_sub(&ipcprof_live_maps, 1);
	}
	r->last_ns = ipcprof_now();
}

void ipcprof_map_moved(void *old_addr, size_t old_len, void *new_addr, size_t new_len)
{
	struct ipcprof_record *r = ipcprof_rec;
	if (!r || !atomic_load_explicit(&ipcprof_live_maps, memory_order_relaxed) ||
	    !ipcprof_is_self())
		return;
	uint32_t used =
	    r->mappings_used < IPCPROF_MAX_MAPPINGS ? r->mappings_used : IPCPROF_MAX_MAPPINGS;
	for (uint32_t i = 0; i < used; i++) {
		struct ipcprof_mapping *m = &r->mappings[i];
		if (m->kind && !(m->flags & IPCPROF_MAP_UNMAPPED) &&
		    m->addr == (uint64_t)(uintptr_t)old_addr && m->length == old_len) {
			m->addr = (uint64_t)(uintptr_t)new_addr;
			m->length = new_len;
		}
	}
}

/* ---- process life ---- */

void ipcprof_finish(uint32_t end_how, int status)
{
	struct ipcprof_record *r = ipcprof_rec;
	if (!r || !ipcprof_is_self())
		return;
	int saved = IPCPROF_ERRNO;
	ipcprof_thr.guard++;
	struct rusage ru;
	/* The system call itself: a fork child would otherwise bind getrusage on its way out. */
	if (sys_call(SYS_getrusage, RUSAGE_SELF, &ru) == 0) {
		r->proc.user_ns = (uint64_t)ru.ru_utime.tv_sec * 1000000000u +
				  (uint64_t)ru.ru_utime.tv_usec * 1000u;
		r->proc.sys_ns = (uint64_t)ru.ru_stime.tv_sec * 1000000000u +
				 (uint64_t)ru.ru_stime.tv_usec * 1000u;
		r->proc.minflt = (uint64_t)ru.ru_minflt;
		r->proc.majflt = (uint64_t)ru.ru_majflt;
		r->proc.nvcsw = (uint64_t)ru.ru_nvcsw;
		r->proc.nivcsw = (uint64_t)ru.ru_nivcsw;
		r->proc.maxrss_kb = (uint64_t)ru.ru_maxrss;
	}
	ipcprof_sampler_finish(); /* before end_ns: the last CPU wait is part of the process life */
	uint32_t used =
	    r->mappings_used < IPCPROF_MAX_MAPPINGS ? r->mappings_used : IPCPROF_MAX_MAPPINGS;
	for (uint32_t i = 0; i < used; i++) {
		struct ipcprof_mapping *m = &r->mappings[i];
		if (m->kind && !(m->flags & IPCPROF_MAP_UNMAPPED))
			m->resident_bytes = resident_bytes(m->addr, m->length);
	}
	/* No module refresh here: stack_add() did it when a stack had an unknown address, and a
	 * fork child must not take the loader's lock that another thread of its parent held. */
	for (unsigned i = 0; i < nplugins; i++)
		if (plugins[i]->finish)
			plugins[i]->finish(r);
	r->proc.exit_status = status;
	r->proc.end_ns = ipcprof_now();
	r->last_ns = r->proc.end_ns;
	__atomic_store_n(&r->proc.end_how, end_how, __ATOMIC_RELEASE);
	ipcprof_thr.guard--;
	IPCPROF_ERRNO = saved;
}

void ipcprof_exec_failed(void)
{
	struct ipcprof_record *r = ipcprof_rec;
	if (!r || !ipcprof_is_self())
		return;
	r->proc.end_ns = 0;
	__atomic_store_n(&r->proc.end_how, IPCPROF_END_RUNNING, __ATOMIC_RELEASE);
}

/* The parent saw a child end: complete the child's record when the child could not. */
void ipcprof_note_child_end(pid_t pid, int status, const struct rusage *ru)
{
	if (!ipcprof_rec || pid <= 0 || !ipcprof_is_self())
		return;
	int saved = IPCPROF_ERRNO;
	ipcprof_record_end(session_dir, pid, rec_pidns, status, ru, ipcprof_now());
	IPCPROF_ERRNO = saved;
}

static void child_after_fork(void)
{
	struct ipcprof_record *parent = ipcprof_rec;
	if (!parent)
		return;
	ipcprof_gen++;
	ipcprof_thr.guard = 0;
	/* A rate being worked out by another thread of the parent at fork: this child works it
	 * out again from the same start. */
	if (atomic_load(&cal_state) == CAL_FINISHING)
		atomic_store(&cal_state, CAL_MEASURING);
	/*
	 * The parent's pages stay shared with the child until either writes them: what is
	 * cleared here is written only where it is not clear already, so that a child that does
	 * little copies few pages. The child reads nothing of the parent's record unless it
	 * inherits shared mappings (its pages are not shared at fork but faulted in).
	 */
	pid_t parent_pid = rec_pid;
	uint64_t parent_size = rec_size;
	/* The child made none of the fds it inherits: the kernel zeroed where they came from
	 * (fd_tables_wipe), or it is cleared here. */
	for (int fd = 0; fd < IPCPROF_FD_LO; fd++)
		if (atomic_load_explicit(&ipcprof_fd_origin_lo[fd], memory_order_relaxed))
			atomic_store_explicit(&ipcprof_fd_origin_lo[fd], 0, memory_order_relaxed);
	if (!tables_wiped) {
		uint32_t maxfd = atomic_load(&fd_origin_max);
		for (uint32_t fd = IPCPROF_FD_LO; fd <= maxfd && fd < IPCPROF_FDTAB_SIZE; fd++)
			if (ipcprof_fd_origin[fd])
				ipcprof_fd_origin[fd] = 0;
	}
	if (atomic_load_explicit(&modules_lock, memory_order_relaxed))
		atomic_store(&modules_lock, 0);
	if (root_process)
		root_process = false;
	uint32_t seq = 0;
	pid_t pid = (pid_t)sys_getpid();
	struct ipcprof_record *r = record_create(pid, &seq, true);
	ipcprof_rec = r;
	if (!r) {
		ipcprof_ready = false;
		ipcprof_chan = NULL;
		sys_munmap(parent, parent_size);
		return;
	}
	r->proc.origin = IPCPROF_ORIGIN_FORK;
	r->proc.parent_pid = parent_pid;
	copy_identity(&r->proc, &ident);
	/* Shared mappings live on in the child. */
	uint32_t used = 0;
	if (atomic_load_explicit(&ipcprof_live_maps, memory_order_relaxed))
		used = parent->mappings_used < IPCPROF_MAX_MAPPINGS ? parent->mappings_used
								    : IPCPROF_MAX_MAPPINGS;
	uint32_t n = 0;
	for (uint32_t i = 0; i < used; i++) {
		const struct ipcprof_mapping *m = &parent->mappings[i];
		if (!m->kind || (m->flags & IPCPROF_MAP_UNMAPPED))
			continue;
		if (!record_back(r, &r->mappings[n], sizeof(r->mappings[n]))) {
			r->dropped.mappings++;
			continue;
		}
		r->mappings[n] = *m;
		r->mappings[n].flags = (m->flags & ~IPCPROF_MAP_CREATOR) | IPCPROF_MAP_INHERITED;
		r->mappings[n].map_ns = r->proc.start_ns;
		r->mappings[n].resident_bytes = 0;
		n++;
	}
	r->mappings_used = n;
	if (atomic_load_explicit(&ipcprof_live_maps, memory_order_relaxed) != n)
		atomic_store(&ipcprof_live_maps, n);
	/* The modules are not copied from the parent: a child's stacks name theirs as they need
	 * them (ipcprof_module_note, which takes no lock), so a child that is never sampled reads
	 * and writes none of those pages. */
	sys_munmap(parent, parent_size);
	for (unsigned i = 0; i < nplugins; i++)
		if (plugins[i]->after_fork)
			plugins[i]->after_fork();
	record_publish(r);
	ipcprof_sampler_after_fork();
}

void ipcprof_after_fork_child(void)
{
	child_after_fork();
}

bool ipcprof_text_range(const void *addr, uintptr_t *lo, uintptr_t *hi)
{
	Dl_info di;
	if (!dladdr(addr, &di) || !di.dli_fbase)
		return false;
	const ElfW(Ehdr) *eh = di.dli_fbase;
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(const void *)((const char *)eh + eh->e_phoff);
	uintptr_t a = UINTPTR_MAX, b = 0;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X)) {
			/* dli_fbase is the load address; for a DSO its first segment has vaddr 0 */
			uintptr_t s = (uintptr_t)eh + ph[i].p_vaddr;
			a = s < a ? s : a;
			b = s + ph[i].p_memsz > b ? s + ph[i].p_memsz : b;
		}
	}
	if (a >= b)
		return false;
	*lo = a;
	*hi = b;
	return true;
}

static void resolve_all(void)
{
#define R(fn) (void)REAL(fn)
	R(read), R(write), R(readv), R(writev), R(pread), R(pwrite), R(send), R(recv);
	R(sendto), R(recvfrom), R(sendmsg), R(recvmsg), R(close), R(dup), R(dup2), R(fork);
	R(execve), R(mmap), R(munmap), R(exit), R(_exit), R(waitpid), R(wait4);
#undef R
}

/* glibc gives the initializers of a library the process's first argc, argv and environment. */
__attribute__((constructor(101))) static void ipcprof_init(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)argv;
	int saved = IPCPROF_ERRNO;
	resolve_all();
	ipcprof_thr.guard++;
	ipcprof_settings_read(envp ? envp : environ);
	config_init();
	clock_init();
	if (!session_init())
		goto out;
	ipcprof_shm_devs_init();
	fd_tables_wipe();
	void *tw = sys_mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	tree_warned = tw == MAP_FAILED ? NULL : tw;
	ipcprof_text_range((void *)&ipcprof_account, &self_lo, &self_hi);
	pid_t pid = (pid_t)sys_getpid();
	uint32_t seq = 0;
	struct ipcprof_record *r = record_create(pid, &seq, false);
	if (!r)
		goto out;
	fill_identity(&ident);
	copy_identity(&r->proc, &ident);
	if (previous_image_execed(pid, seq)) {
		r->proc.origin = IPCPROF_ORIGIN_EXEC;
		r->proc.parent_pid = pid;
	} else if (root_process) {
		r->proc.origin = IPCPROF_ORIGIN_ROOT;
	} else {
		r->proc.origin = IPCPROF_ORIGIN_SPAWN;
		r->proc.parent_pid = r->proc.ppid;
	}
	ipcprof_rec = r;
	ipcprof_report_prepare(session_dir, root_process);
	plugins_init();
	unwind_load(stack_min != 0 || sample_area != 0);
	if (pthread_atfork(NULL, NULL, child_after_fork) != 0)
		ipcprof_warn_once(IPCPROF_WARN_FORK,
				  "pthread_atfork failed: forked children are not profiled");
	record_publish(r);
	ipcprof_ready = true;
	ipcprof_sampler_start();
	if (verbose)
		ipcprof_warn("recording into %s/%d.%u%s", session_dir, (int)pid, seq,
			     IPCPROF_RECORD_SUFFIX);
out:
	ipcprof_settings_publish();
	ipcprof_thr.guard--;
	IPCPROF_ERRNO = saved;
}

/* Runs after the program's atexit handlers, so that their IPC is counted too. */
__attribute__((destructor(101))) static void ipcprof_fini(void)
{
	struct ipcprof_record *r = ipcprof_rec;
	if (!r || r->proc.end_how != IPCPROF_END_RUNNING)
		return;
	ipcprof_stdio_exit();
	ipcprof_finish(IPCPROF_END_EXIT, ipcprof_exit_status);
	ipcprof_report_at_end();
}
