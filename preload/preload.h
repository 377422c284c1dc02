/* Internal interface of libipcprof.so: state shared by the core, the hooks and the channel plugins. */
#ifndef IPCPROF_PRELOAD_H
#define IPCPROF_PRELOAD_H

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "ipcprof/plugin.h"
#include "ipcprof/record.h"

#define IPCPROF_API         __attribute__((visibility("default")))
#define IPCPROF_TLS         __thread __attribute__((tls_model("initial-exec")))
#define IPCPROF_LIKELY(x)   __builtin_expect(!!(x), 1)
#define IPCPROF_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* memcpy for the fork child's path: inline, where the C library's would be a page of code to
 * fault in for a child that does not call it itself. */
static inline void ipcprof_copy(void *dst, const void *src, size_t n)
{
#if defined(__x86_64__)
	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
#else
	memcpy(dst, src, n);
#endif
}

/*
 * Large zero-filled tables go after all other variables (x86-64's large-data section, .lbss),
 * so that the small ones share a page or two: a fork child that writes a few of them then copies
 * one page, not one per table that happens to lie between them.
 */
#if defined(__x86_64__) && defined(__ELF__)
#define IPCPROF_BIG __attribute__((section(".lbss")))
#else
#define IPCPROF_BIG
#endif

/* The real functions, resolved with dlsym(RTLD_NEXT) once, early. */
struct ipcprof_real {
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*writev)(int, const struct iovec *, int);
	ssize_t (*pread)(int, void *, size_t, off_t);
	ssize_t (*pwrite)(int, const void *, size_t, off_t);
	ssize_t (*pread64)(int, void *, size_t, off_t);
	ssize_t (*pwrite64)(int, const void *, size_t, off_t);
	ssize_t (*preadv)(int, const struct iovec *, int, off_t);
	ssize_t (*pwritev)(int, const struct iovec *, int, off_t);
	ssize_t (*send)(int, const void *, size_t, int);
	ssize_t (*recv)(int, void *, size_t, int);
	ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	int (*sendmmsg)(int, struct mmsghdr *, unsigned int, int);
	int (*recvmmsg)(int, struct mmsghdr *, unsigned int, int, struct timespec *);
	ssize_t (*splice)(int, loff_t *, int, loff_t *, size_t, unsigned int);
	ssize_t (*vmsplice)(int, const struct iovec *, size_t, unsigned int);
	ssize_t (*tee)(int, int, size_t, unsigned int);
	ssize_t (*sendfile)(int, int, off_t *, size_t);
	ssize_t (*sendfile64)(int, int, off_t *, size_t);
	ssize_t (*read_chk)(int, void *, size_t, size_t);
	ssize_t (*recv_chk)(int, void *, size_t, size_t, int);
	ssize_t (*recvfrom_chk)(int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *);
	ssize_t (*pread_chk)(int, void *, size_t, off_t, size_t);
	ssize_t (*pread64_chk)(int, void *, size_t, off_t, size_t);

	int (*pipe)(int[2]);
	int (*pipe2)(int[2], int);
	int (*socket)(int, int, int);
	int (*socketpair)(int, int, int, int[2]);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*bind)(int, const struct sockaddr *, socklen_t);
	int (*accept)(int, struct sockaddr *, socklen_t *);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int (*open)(const char *, int, ...);
	int (*open64)(const char *, int, ...);
	int (*openat)(int, const char *, int, ...);
	int (*openat64)(int, const char *, int, ...);
	int (*shm_open)(const char *, int, mode_t);
	int (*shm_unlink)(const char *);
	int (*memfd_create)(const char *, unsigned int);
	int (*eventfd)(unsigned int, int);
	int (*close)(int);
	int (*close_range)(unsigned int, unsigned int, int);
	void (*closefrom)(int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*fcntl)(int, int, ...);
	int (*fcntl64)(int, int, ...);
	void *(*mmap)(void *, size_t, int, int, int, off_t);
	void *(*mmap64)(void *, size_t, int, int, int, off_t);
	int (*munmap)(void *, size_t);
	void *(*mremap)(void *, size_t, size_t, int, ...);

	pid_t (*fork)(void);
	int (*clone)(int (*)(void *), void *, int, void *, ...);
	int (*execve)(const char *, char *const[], char *const[]);
	int (*execvpe)(const char *, char *const[], char *const[]);
	int (*fexecve)(int, char *const[], char *const[]);
	int (*execveat)(int, const char *, char *const[], char *const[], int);
	int (*posix_spawn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			   const posix_spawnattr_t *, char *const[], char *const[]);
	int (*posix_spawnp)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			    const posix_spawnattr_t *, char *const[], char *const[]);
	void (*exit)(int) __attribute__((noreturn));
	void (*_exit)(int) __attribute__((noreturn));
	void (*_Exit)(int) __attribute__((noreturn));
	pid_t (*wait)(int *);
	pid_t (*waitpid)(pid_t, int *, int);
	pid_t (*wait3)(int *, int, struct rusage *);
	pid_t (*wait4)(pid_t, int *, int, struct rusage *);
	int (*waitid)(idtype_t, id_t, siginfo_t *, int);
};
extern struct ipcprof_real ipcprof_real;

/* Resolves one real function; never returns NULL (aborts with a message if libc lacks it). */
void *ipcprof_resolve(const char *name);
static inline void *ipcprof_real_get(void **slot, const char *name)
{
	void *p = __atomic_load_n(slot, __ATOMIC_RELAXED);
	if (IPCPROF_LIKELY(p != NULL))
		return p;
	p = ipcprof_resolve(name);
	__atomic_store_n(slot, p, __ATOMIC_RELAXED);
	return p;
}
#define REAL(fn) ((__typeof__(ipcprof_real.fn))ipcprof_real_get((void **)&ipcprof_real.fn, #fn))

/* The fortified variants and libc's start, which glibc's headers do not declare. */
int __libc_start_main(int (*main)(int, char **, char **), int argc, char **argv, void (*init)(void),
		      void (*fini)(void), void (*rtld_fini)(void), void *stack_end);
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *addr,
		       socklen_t *alen);

/* fd table entry values (low 32 bits; the high 32 hold the generation they belong to). */
#define IPCPROF_FD_UNKNOWN   0u
#define IPCPROF_FD_NOT_IPC   1u
#define IPCPROF_FD_UNTRACKED 2u  /* IPC but no room, or a plugin failed: pass through */
#define IPCPROF_FD_CHANNEL0  16u /* channel index i is stored as IPCPROF_FD_CHANNEL0 + i */
#define IPCPROF_FDTAB_SIZE   65536

/* Global state. The record pointer is NULL when profiling is off in this process. */
extern struct ipcprof_record *ipcprof_rec;
/* The record's channel table (ipcprof_record_channels(ipcprof_rec)). */
extern struct ipcprof_channel *ipcprof_chan;
extern _Atomic uint64_t ipcprof_fdtab[IPCPROF_FDTAB_SIZE];
/*
 * The entries of the lowest fds lie with the small variables, apart from the large tables
 * (IPCPROF_BIG): the fds a fork child uses are mostly these, and it then writes no page of the
 * large tables. They are not
 * zeroed for a child as the large ones are: the generation tells their entries stale, and the
 * child clears the origins.
 */
#define IPCPROF_FD_LO 64
extern _Atomic uint64_t ipcprof_fdtab_lo[IPCPROF_FD_LO];
/* The entry of fd, which is < IPCPROF_FDTAB_SIZE. */
static inline _Atomic uint64_t *ipcprof_fd_entry(int fd)
{
	return fd < IPCPROF_FD_LO ? &ipcprof_fdtab_lo[fd] : &ipcprof_fdtab[fd];
}
extern uint32_t ipcprof_gen; /* changes in every fork child: the fd table is then stale */
extern bool ipcprof_ready;
extern uint32_t ipcprof_cpu_sample;

/* Per-thread state. */
#define IPCPROF_OPEN_INTERVALS 8
struct ipcprof_thread {
	uint32_t gen;   /* ipcprof_gen when this state was last reset */
	uint32_t guard; /* inside ipcprof: calls pass through uncounted */
	uint32_t tid;
	uint32_t sample_left; /* calls until the next CPU-sampled one; 0: this one */
	uint32_t in_call;     /* inside a counted call: a CPU sample there is IPC time */
	uint64_t call_ns;     /* wall time inside counted calls, summed (sampler.c splits by it) */
	uint32_t refuse_map;  /* 1: libunwind's large anonymous mmaps fail (its first use in the
			       * thread, sampler.c); 2: one did */
	/* The thread's most recent intervals, one per channel and direction, that later calls
	 * extend: alternating calls (a request, then its reply) and a round of writes to several
	 * peers each extend their own. One cache line; the oldest entry makes room. */
	struct {
		uint32_t slot;    /* index + 1 in the timeline, 0 = none */
		uint32_t channel; /* channel index << 1 | dir */
	} open[IPCPROF_OPEN_INTERVALS];
	uint32_t open_next; /* the entry to take next */
	int *errno_loc;     /* &errno of this thread, once asked */
};
extern IPCPROF_TLS struct ipcprof_thread ipcprof_thr;

/*
 * errno through a pointer kept in our own thread-local state: each use of errno is a call to the
 * C library's __errno_location, whose page of code a fork child would fault in for ipcprof
 * alone. A fork child's thread has its parent's thread's address, and so the same pointer.
 */
static inline int *ipcprof_errno(void)
{
	int *p = ipcprof_thr.errno_loc;
	if (IPCPROF_UNLIKELY(!p))
		p = ipcprof_thr.errno_loc = &errno;
	return p;
}
#define IPCPROF_ERRNO (*ipcprof_errno())

/* Clock: CLOCK_MONOTONIC nanoseconds, from the TSC where it is invariant. */
extern bool ipcprof_tsc_ok;
extern uint64_t ipcprof_tsc0, ipcprof_mono0, ipcprof_tsc_mult;
uint64_t ipcprof_clock_mono(void);
static inline uint64_t ipcprof_now(void)
{
#if defined(__x86_64__)
	if (IPCPROF_LIKELY(__atomic_load_n(&ipcprof_tsc_ok, __ATOMIC_ACQUIRE))) {
		uint64_t d = __rdtsc() - ipcprof_tsc0;
		return ipcprof_mono0 + (uint64_t)(((unsigned __int128)d * ipcprof_tsc_mult) >> 32);
	}
#endif
	return ipcprof_clock_mono();
}
uint64_t ipcprof_thread_cpu_ns(void);

/* The slow path of ipcprof_channel_of: classifies fd through the plugins. */
struct ipcprof_channel *ipcprof_classify(int fd);

/* The channel fd belongs to, or NULL when fd is not counted. Hot path: no syscalls once known. */
static inline struct ipcprof_channel *ipcprof_channel_of(int fd)
{
	if (IPCPROF_UNLIKELY((unsigned)fd >= IPCPROF_FDTAB_SIZE) || !ipcprof_ready)
		return NULL;
	uint64_t e = atomic_load_explicit(ipcprof_fd_entry(fd), memory_order_relaxed);
	if (IPCPROF_LIKELY((uint32_t)(e >> 32) == ipcprof_gen)) {
		uint32_t v = (uint32_t)e;
		if (v < IPCPROF_FD_CHANNEL0)
			return NULL;
		return &ipcprof_chan[v - IPCPROF_FD_CHANNEL0];
	}
	if (ipcprof_thr.guard)
		return NULL;
	return ipcprof_classify(fd);
}

/* Where an fd came from: kept per fd, turned into channel and mapping flags at classification. */
#define IPCPROF_FD_ORIGIN_CREATED                                                                  \
	0x1u /* made in this process (pipe, socket, accept, shm_open O_CREAT...) */
extern _Atomic uint8_t ipcprof_fd_origin[IPCPROF_FDTAB_SIZE];
extern _Atomic uint8_t ipcprof_fd_origin_lo[IPCPROF_FD_LO];
static inline _Atomic uint8_t *ipcprof_fd_origin_entry(int fd)
{
	return fd < IPCPROF_FD_LO ? &ipcprof_fd_origin_lo[fd] : &ipcprof_fd_origin[fd];
}

/* Classify fd again on its next call: it is now connected or bound to something else. */
static inline void ipcprof_fd_reclassify(int fd)
{
	if ((unsigned)fd < IPCPROF_FDTAB_SIZE)
		atomic_store_explicit(ipcprof_fd_entry(fd), 0, memory_order_relaxed);
}

/* Forget what fd was: it was closed, or arrived from elsewhere (SCM_RIGHTS). */
static inline void ipcprof_fd_forget(int fd)
{
	if ((unsigned)fd < IPCPROF_FDTAB_SIZE) {
		atomic_store_explicit(ipcprof_fd_entry(fd), 0, memory_order_relaxed);
		atomic_store_explicit(ipcprof_fd_origin_entry(fd), 0, memory_order_relaxed);
	}
}

/* Both ends of a socketpair made here, so that claiming them needs no sock_diag query (which
 * walks every unix socket on the machine: tens of microseconds). */
void ipcprof_socketpair_made(const int fds[2]);
extern _Atomic uint64_t ipcprof_sock_peer[IPCPROF_FDTAB_SIZE];

/* The AF_UNIX socket that connect() or accept() just made, while hooks_fd.c claims it: its claim
 * reads this (ipcprof_fd_info.made_by). */
struct ipcprof_sock_made {
	int fd, made_by, listen_fd;
	uint64_t made_ns;
};
extern IPCPROF_TLS struct ipcprof_sock_made ipcprof_sock_made;

/* The entry of a channel that no fd stands for (a semaphore): the one with the same kind, dev and
 * ino, or a new one; NULL when the record has no room. */
struct ipcprof_channel *ipcprof_channel_add(const struct ipcprof_channel *c);

/* fd is being closed: forget it, after its plugin's closing() had a last look. */
void ipcprof_fd_closing(int fd);

/* fd was just made here, with IPCPROF_FD_ORIGIN_* bits. */
void ipcprof_fd_made(int fd, unsigned origin);
void ipcprof_fd_forget_range(unsigned first, unsigned last);
void ipcprof_fd_copy(int from, int to);

/* cpu_now: the thread's CPU clock read at a counted call's entry or exit; the periods that ended
 * before it are sampled now (see sampler.c). */
void ipcprof_sampler_settle(uint64_t cpu_now, bool entry);

/* Timing of one counted call. */
struct ipcprof_timer {
	uint64_t t0;
	uint64_t cpu0; /* 0 when this call is not CPU-sampled */
};
static inline void ipcprof_timer_start(struct ipcprof_timer *t, size_t request)
{
	/* A countdown, not a modulo: a division would cost more than the rest of the path. */
	if (IPCPROF_UNLIKELY(ipcprof_thr.sample_left-- == 0 || request >= ((size_t)1 << 20))) {
		if (ipcprof_thr.sample_left == UINT32_MAX)
			ipcprof_thr.sample_left = ipcprof_cpu_sample - 1;
		t->cpu0 = ipcprof_thread_cpu_ns() | 1;
		ipcprof_sampler_settle(t->cpu0, true);
	} else {
		t->cpu0 = 0;
	}
	t->t0 = ipcprof_now();
	ipcprof_thr.in_call = 1;
}

/*
 * Counts one call that returned ret (bytes, or -1) on channel ch; err is errno as the call left
 * it, and is what errno holds on return. buf/buflen: the (first) buffer of an outgoing call, for
 * fingerprints; addr: the address given to or filled by the call.
 */
void ipcprof_account(struct ipcprof_channel *ch, int dir, int op, long ret, int err,
		     const struct ipcprof_timer *t, const void *buf, size_t buflen,
		     const struct sockaddr *addr, socklen_t addrlen);

/* Process life (hooks_proc.c and core.c). */
/* Writes out, counted, what streams on pipes and sockets still hold: exit's flush, done before
 * the record ends (hooks_stdio.c). */
void ipcprof_stdio_exit(void);
void ipcprof_after_fork_child(void);
void ipcprof_finish(uint32_t end_how, int status);
void ipcprof_exec_failed(void);
/* exit()'s status, for the record written after the atexit handlers; -1 until exit() is seen. */
extern int ipcprof_exit_status;
/* The session's first process (root) reports on dir when it ends (unless IPCPROF_REPORT=0):
 * prepared as it starts, run by exit or _exit (in no fork child). */
void ipcprof_report_prepare(const char *dir, bool root);
void ipcprof_report_at_end(void);
void ipcprof_note_child_end(pid_t pid, int status, const struct rusage *ru);
/* envp with the session's variables added where missing, in out[] (cap entries); returns out or
 * envp itself when nothing is missing or out is too small. Uses no heap: vfork-safe. */
char *const *ipcprof_fix_env(char *const *envp, char **out, size_t cap);
/* "IPCPROF_TSC_HZ=<rate>" once this process measured the rate, else NULL (core.c). */
char *ipcprof_tsc_env(void);

/* Settings (settings.c): the variables of include/ipcprof/env.h (and LD_PRELOAD) as the process
 * started, read once by the first initializer from the environment it was given. */
void ipcprof_settings_read(char **envp);
/* Its value as the process started, or NULL. */
const char *ipcprof_setting(const char *name);
/* What the programs this process runs get for name instead (NULL: nothing). */
void ipcprof_setting_pass(const char *name, const char *value);
/* Says that value is not valid (want) and passes used on instead (NULL: nothing). */
void ipcprof_setting_reject(const char *name, const char *value, const char *want,
			    const char *used);
/* Before the program's main: its environment gets the values passed on instead. */
void ipcprof_settings_publish(void);
/* "", "0" or "1"; anything else is said and replaced by the default. */
bool ipcprof_env_flag(const char *name, bool def);
bool ipcprof_is_self(void);

/* The CPU sampler (sampler.c). */
bool ipcprof_unwind_resolve(void *libunwind);
/* Reads the settings; returns the bytes to reserve for the sample area (0: sampling off). */
uint64_t ipcprof_sampler_config(void);
void ipcprof_sampler_start(void);
void ipcprof_sampler_after_fork(void);
void ipcprof_sampler_exec_begin(void);
void ipcprof_sampler_exec_failed(void);
/*
 * A thread that blocks SIGPROF has its timer paused meanwhile (hooks_signal.c). timed: this
 * thread has a timer and the call is the program's (not from the sampler's handler or libunwind).
 * pause: disarms it, keeping what is left of the period; true when it was running. resume: goes
 * on with what was left. drain: takes this thread's pending SIGPROFs of ours, keeps the program's.
 */
bool ipcprof_sampler_timed(void);
bool ipcprof_sampler_pause(void);
void ipcprof_sampler_resume(void);
bool ipcprof_sampler_paused(void);
void ipcprof_sampler_finish(void);
void ipcprof_sampler_drain(void);
/* si is a signal of the sampler's timers, while the sampler owns SIGPROF. */
bool ipcprof_sampler_signal_ours(const siginfo_t *si);
/* unw_backtrace, with the sampler kept out of libunwind meanwhile; 0 without libunwind. */
int ipcprof_backtrace(void **buf, int n);
/* size bytes of the CPU sample area, backed; NULL when there is none or it is full. */
void *ipcprof_sample_area_take(uint64_t size);

/* Python frames (pyframes.c). */
/* Finds the process's CPython, if any, and says in the record what it is. */
void ipcprof_py_init(struct ipcprof_record *r);
/* In a fork child, before its first sample. */
void ipcprof_py_after_fork(struct ipcprof_record *r);
/* Interleaves the calling thread's Python frames into the native stack ip[0..n) (innermost
 * first); the result, at most cap entries, replaces it. When it would not fit, the interpreter's
 * own native frames go first, then the outermost frames (and *truncated is set). Safe in a signal
 * handler; ip has room for cap entries. */
uint32_t ipcprof_py_merge(uint64_t *ip, uint32_t n, uint32_t cap, bool *truncated);
/* For a call site's stack ip[0..n) (merged) of a thread other than the main one whose Python
 * frames are all the library's: appends IPCPROF_PYFRAME_MAIN_THREAD and the main thread's Python
 * frames, as many of the outermost as fit in cap. The new depth. */
uint32_t ipcprof_py_add_main(uint64_t *ip, uint32_t n, uint32_t cap);
/* The record's module table: the module of ip added (signal-safe), or every module (not). */
void ipcprof_module_note(uint64_t ip);
void ipcprof_modules_refresh(void);
/* The ends of the pipe libunwind is given (no fds: see hooks_fd.c). */
#define IPCPROF_UNWIND_FD_R 0x3ffffff0
#define IPCPROF_UNWIND_FD_W 0x3ffffff1
/* This thread is inside libunwind for ipcprof (a sample, or a call site's stack) and ret (a
 * wrapper's return address) is in libunwind's code: the call is libunwind's own, not one the
 * program (its allocator, say) makes meanwhile. */
bool ipcprof_unwinder_calls(const void *ret);
/* The executable segments of the module that holds addr; false where the loader does not know. */
bool ipcprof_text_range(const void *addr, uintptr_t *lo, uintptr_t *hi);

/* Shared memory (core.c). */
void ipcprof_map_added(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void ipcprof_map_removed(void *addr, size_t len);
void ipcprof_map_moved(void *old_addr, size_t old_len, void *new_addr, size_t new_len);
extern _Atomic uint32_t ipcprof_live_maps;

/* Built-in channel plugins (channel_*.c). */
extern const struct ipcprof_plugin ipcprof_channel_pipe;
extern const struct ipcprof_plugin ipcprof_channel_unix;
extern const struct ipcprof_plugin ipcprof_channel_inet;
extern const struct ipcprof_plugin ipcprof_channel_shm;

/* Devices of tmpfs mounts that hold shared memory: /dev/shm and the memfd mount (channel_shm.c). */
extern uint64_t ipcprof_dev_shm, ipcprof_dev_memfd;
void ipcprof_shm_devs_init(void);

/* What plugins are told of an fd: fstat, socket domain and type, and the /proc link where it
 * names the object (anonymous inodes, FIFOs, shared memory). 0 or a negative errno. */
int ipcprof_fd_info_fill(int fd, struct ipcprof_fd_info *info, char *link, size_t linksize);
/* uring.c: counts in r an io_uring ring mapped from the fd whose /proc/self/fd link is link.
 * Returns true when the fd is an io_uring one (no shared-memory mapping to note). */
bool ipcprof_uring_mapping(struct ipcprof_record *r, const char *link, off_t off);

/* envp plus those of saved[] ("NAME=value") whose NAME it lacks, in out[] (cap entries); envp
 * itself when none is missing or out is too small. No heap, no state: vfork-safe. */
char *const *ipcprof_env_merge(char *const *envp, char *const *saved, unsigned nsaved, char **out,
			       size_t cap);

/* Says msg on stderr, prefixed "ipcprof[pid]: ". */
void ipcprof_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Says msg on stderr once per key (a small integer), prefixed "ipcprof: ". */
void ipcprof_warn_once(unsigned key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
enum {
	IPCPROF_WARN_SESSION,
	IPCPROF_WARN_RECORD,
	IPCPROF_WARN_PLUGIN,
	IPCPROF_WARN_ENV,
	IPCPROF_WARN_FORK,
	IPCPROF_WARN_SAMPLER,
	IPCPROF_WARN_FSIZE,
	IPCPROF_WARN_PYTHON,
	IPCPROF_WARN_MAX = 32
};

/* Small libc-free helpers, safe in a vfork child and in signal handlers. */
size_t ipcprof_strlcpy(char *dst, const char *src, size_t size);
/* Writes v in base 10 or 16 at p (no NUL: up to 20 digits); returns where it ended. */
char *ipcprof_put_uint(char *p, uint64_t v, unsigned base);
bool ipcprof_env_u64(const char *name, uint64_t def, uint64_t max, uint64_t *out);

#endif
