/* The on-disk format of one process's record; shared by preload/, probes/ and report/. */
#ifndef IPCPROF_RECORD_H
#define IPCPROF_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A session is a folder (mode 0700). Every profiled process image writes one file in it,
 * "<pid>.<seq>.ipcrec" (mode 0600, created O_EXCL|O_NOFOLLOW), where seq counts the images a
 * pid has had: 0 for the process a fork made, 1 after its first exec, and so on. The pid is the
 * process's own (getpid()): processes of two pid namespaces may have the same one, and the
 * second to start takes the next free seq; proc.pidns tells them apart.
 *
 * The file is a struct ipcprof_record, then timeline_cap struct ipcprof_interval, then the
 * channel table (channels_cap struct ipcprof_channel at channels_offset, page-aligned), then the
 * CPU sample area (prof.area_cap bytes at prof.area_offset; see struct ipcprof_profile). The
 * process maps it MAP_SHARED and updates it in place as it runs, so that a process ended by
 * _exit, a signal or SIGKILL still leaves every figure counted up to its end. Counters are
 * updated with relaxed atomic adds; readers must tolerate a record that is being written.
 *
 * All times are CLOCK_MONOTONIC nanoseconds (the clock of bpf_ktime_get_ns), except
 * start_realtime_ns. All fields are little-endian fixed-width integers or NUL-terminated strings.
 */

#define IPCPROF_RECORD_MAGIC   "IPCPREC" /* 8 bytes with the NUL */
#define IPCPROF_RECORD_VERSION 6
#define IPCPROF_RECORD_SUFFIX  ".ipcrec"

/* Channel table entries per process: every channel a process ever used keeps its own entry
 * (closed ones too), so that each pairs and counts exactly; disk is used as entries are taken. */
#define IPCPROF_DEFAULT_CHANNELS    131072
#define IPCPROF_MIN_CHANNELS        512 /* what a record cut to the file-size limit keeps */
#define IPCPROF_MAX_CHANNELS        (1u << 21)
#define IPCPROF_MAX_MAPPINGS        256
#define IPCPROF_MAX_FINGERPRINTS    256
#define IPCPROF_MAX_STACKS          256
#define IPCPROF_STACK_DEPTH         32
#define IPCPROF_MAX_MODULES         256
#define IPCPROF_HIST_BUCKETS        40
#define IPCPROF_ARGV_BYTES          4096
#define IPCPROF_NAME_BYTES          108
#define IPCPROF_PATH_BYTES          256
#define IPCPROF_DEFAULT_TIMELINE    16384
#define IPCPROF_SAMPLE_DEPTH        128         /* frames kept of one CPU sample's stack */
#define IPCPROF_DEFAULT_SAMPLE_HZ   100         /* CPU samples per second of thread CPU time */
#define IPCPROF_DEFAULT_SAMPLE_AREA (16u << 20) /* bytes of distinct sampled stacks */
#define IPCPROF_SAMPLE_MAGIC        0x314b5453u /* "STK1" little-endian */
#define IPCPROF_TICKS_MAGIC         0x314b4954u /* "TIK1" little-endian */
#define IPCPROF_TICKS_CAP           62          /* ticks in one struct ipcprof_sample_ticks */
#define IPCPROF_PYCODE_MAGIC        0x31435950u /* "PYC1" little-endian */

/* The preload's other defaults, here with the ones above so that each is said once (docs/settings.md
 * and env.h state them; tests/unit/check_defaults.py checks both). Plain decimals: IPCPROF_STR
 * gives them as text for messages. */
#define IPCPROF_DEFAULT_STACK_MIN       1048576 /* bytes of a call that records its stack */
#define IPCPROF_DEFAULT_FINGERPRINT_MIN 65536   /* bytes of a write that gets a fingerprint */
#define IPCPROF_DEFAULT_CPU_SAMPLE      256     /* one IPC call in this many reads the CPU clock */
#define IPCPROF_STR_(x)                 #x
#define IPCPROF_STR(x)                  IPCPROF_STR_(x)

/* Direction of a call on a channel. */
enum ipcprof_dir {
	IPCPROF_DIR_OUT = 0, /* write, send: bytes leave this process */
	IPCPROF_DIR_IN = 1,  /* read, recv: bytes arrive */
	IPCPROF_NDIR = 2,
};

/*
 * What kind of channel an endpoint is: X(ID, value, name) for each, IPCPROF_KIND_ID = value, and
 * the name the report, its JSON (the schema's enum) and recdump give it. The values are on disk:
 * append, never renumber. tests/unit/check_kinds.py holds every other list of kinds to this one.
 */
#define IPCPROF_KINDS(X)                                                                           \
	X(NONE, 0, "none")                                                                         \
	X(PIPE, 1, "pipe")                     /* anonymous pipe */                                \
	X(FIFO, 2, "fifo")                     /* named pipe (mkfifo) */                           \
	X(UNIX_STREAM, 3, "unix_stream")       /* AF_UNIX SOCK_STREAM */                           \
	X(UNIX_DGRAM, 4, "unix_dgram")         /* AF_UNIX SOCK_DGRAM */                            \
	X(UNIX_SEQPACKET, 5, "unix_seqpacket") /* AF_UNIX SOCK_SEQPACKET */                        \
	X(TCP, 6, "tcp")                                                                           \
	X(UDP, 7, "udp")                                                                           \
	X(SHM, 8, "shm_fd")     /* an fd of a shared-memory object read or written directly */     \
	X(PLUGIN, 9, "plugin")  /* claimed by a third-party plugin: see plugin[] */                \
	X(SEM, 10, "semaphore") /* a POSIX semaphore shared between processes: see below */

enum ipcprof_kind {
#define IPCPROF_KIND_ENUM_(id, value, name) IPCPROF_KIND_##id = value,
	IPCPROF_KINDS(IPCPROF_KIND_ENUM_)
#undef IPCPROF_KIND_ENUM_
	    IPCPROF_KIND_COUNT
};

/*
 * IPCPROF_KIND_SEM: a POSIX semaphore that processes share, either named (sem_open) or made by
 * sem_init with pshared != 0 in memory mapped MAP_SHARED. No bytes move: the channel counts
 * time spent waiting for another process, like the time a read spends waiting for a writer.
 *  - dir[IN]: each sem_wait, sem_timedwait and sem_clockwait is one call with 0 bytes;
 *    time_ns is the time inside it (blocked, or at once when the semaphore was free). A
 *    sem_trywait that takes the semaphore is a call too; one that fails with EAGAIN is not
 *    counted at all (it waited for nothing, and CPython tries one before every sem_wait).
 *    Failed waits (ETIMEDOUT, EINTR, EINVAL) count in calls and errors. The timeline gets IN
 *    intervals for them as for any channel.
 *  - dir[OUT]: each sem_post is one call with 0 bytes, so that waiters pair with posters.
 *  - Identity, for pairing across processes (like a FIFO's, by dev and ino): dev and ino of
 *    the file that holds the semaphore (/dev/shm/sem.NAME for a named one; the mapped object,
 *    such as the "/dev/zero (deleted)" inode of a MAP_SHARED|MAP_ANONYMOUS region, for
 *    sem_init), with the semaphore's byte offset in that file, shifted left by 32, XORed into
 *    ino, so that two semaphores in one object are two channels; peer_ino holds that offset.
 *    When the mapping cannot be found, dev is 0 and ino the semaphore's address (which a fork
 *    child shares). name: "/NAME" as sem_open was given it (one leading slash), or for
 *    sem_init the mapped file's path and "+0x<offset>". first_fd is -1.
 *  - A sem_init with pshared == 0, or in private memory, is a thread semaphore: not counted.
 */

/* ipcprof_channel.flags */
#define IPCPROF_CH_LOCAL      0x1u /* both ends on this host: inter-process communication */
#define IPCPROF_CH_NETWORK    0x2u /* TCP/UDP to another host */
#define IPCPROF_CH_SOCKETPAIR 0x4u /* created by socketpair() in this process or an ancestor */
#define IPCPROF_CH_ABSTRACT   0x8u /* unix socket in the abstract namespace (name starts with '@') */
#define IPCPROF_CH_CREATED    0x10u /* created in this process (pipe, socketpair, socket, accept) */
#define IPCPROF_CH_CONNECTED  0x20u /* unix stream/seqpacket end made by connect() here: conn_* set */
#define IPCPROF_CH_ACCEPTED   0x40u /* unix stream/seqpacket end made by accept() here: conn_* set */
#define IPCPROF_CH_FDS_SENT     0x80u /* fds were sent through it with SCM_RIGHTS (fds_passed) */
#define IPCPROF_CH_FDS_RECEIVED 0x100u /* fds arrived through it with SCM_RIGHTS (fds_passed) */

/* Figures for one direction of one channel endpoint. */
struct ipcprof_dir_stats {
	uint64_t calls;   /* calls that returned, successful or not */
	uint64_t bytes;   /* bytes moved by successful calls */
	uint64_t errors;  /* calls that returned -1, EAGAIN included */
	uint64_t eagain;  /* of those, EAGAIN/EWOULDBLOCK */
	uint64_t time_ns; /* wall time spent inside the calls */
	/*
	 * A sample of the calls also reads the thread's CPU clock around the call; the
	 * on-CPU share of time_ns is estimated as sampled_cpu_ns / sampled_wall_ns, the
	 * rest is time blocked waiting for the peer.
	 */
	uint64_t sampled_calls;
	uint64_t sampled_wall_ns;
	uint64_t sampled_cpu_ns;
	uint64_t max_call_bytes;
	/* hist[0]: calls that moved 0 bytes; hist[k], k >= 1: [2^(k-1), 2^k) bytes; last is open. */
	uint64_t hist[IPCPROF_HIST_BUCKETS];
};

/* One channel endpoint as this process saw it. */
struct ipcprof_channel {
	uint32_t kind;   /* enum ipcprof_kind */
	uint32_t flags;  /* IPCPROF_CH_* */
	char plugin[16]; /* name of the plugin that claimed it */
	/* Pairing across processes: pipes and FIFOs share (dev, ino) at both ends; a unix socket
	 * pairs its ino with the peer's peer_ino; TCP/UDP pair by the 4-tuple. The kernel cannot
	 * name the peer of a unix connection whose client closed before the server accepted it (nor
	 * before the server first asked): for those, both ends record who connected to which
	 * listener, and when (conn_*, under IPCPROF_CH_CONNECTED or IPCPROF_CH_ACCEPTED). */
	uint64_t dev;
	uint64_t ino;
	uint64_t peer_ino;
	uint16_t family; /* AF_INET, AF_INET6 or AF_UNIX */
	uint16_t local_port;
	uint16_t peer_port;
	/* fds passed through this end with SCM_RIGHTS, sent and received (the flags say which),
	 * up to 65535: a count the sender's and the receiver's ends share. */
	uint16_t fds_passed;
	uint8_t local_addr[16]; /* IPv4 as IPv4-mapped IPv6 */
	uint8_t peer_addr[16];
	char name[IPCPROF_NAME_BYTES]; /* FIFO path, socket path ('@' = abstract), plugin detail */
	int32_t first_fd;              /* fd it was first seen on */
	/* The preload's own note of the plugin that claimed it, as this process numbers its plugins
	 * (index + 1, 0x80 set when the plugin watches calls); readers ignore it. */
	uint32_t plugin_ref;
	uint32_t conn_pid;   /* the process that called connect() (accepted: SO_PEERCRED's pid) */
	uint32_t listen_pid; /* the process that called listen() on the listener (SO_PEERCRED's) */
	uint64_t conn_ns;    /* connected: just before connect(); accepted: just after accept() */
	uint64_t first_ns; /* first seen */
	uint64_t last_ns;  /* last call */
	struct ipcprof_dir_stats dir[IPCPROF_NDIR];
};

/* ipcprof_mapping.kind */
enum ipcprof_map_kind {
	IPCPROF_MAP_POSIX_SHM = 1, /* shm_open object (/dev/shm) */
	IPCPROF_MAP_MEMFD = 2,     /* memfd_create object */
	IPCPROF_MAP_SHARED_ANON =
	    3, /* MAP_SHARED|MAP_ANONYMOUS, shared with children through fork */
	IPCPROF_MAP_SHARED_FILE = 4, /* MAP_SHARED of another tmpfs file */
};

/* ipcprof_mapping.flags */
#define IPCPROF_MAP_INHERITED 0x1u /* mapped by an ancestor, inherited through fork */
#define IPCPROF_MAP_UNMAPPED  0x2u /* munmap'd before the end (unmap_ns is set) */
#define IPCPROF_MAP_CREATOR   0x4u /* this process created the object (O_CREAT, memfd_create) */

/* One shared-memory mapping. */
struct ipcprof_mapping {
	uint32_t kind; /* enum ipcprof_map_kind */
	uint32_t flags;
	uint64_t dev;
	uint64_t ino; /* pairs the mappings of one object across processes */
	uint64_t addr;
	uint64_t length;
	uint64_t offset;
	uint64_t object_size; /* size of the object when mapped (fstat) */
	uint64_t map_ns;
	uint64_t unmap_ns;
	uint64_t
	    resident_bytes; /* pages of the mapping resident when last measured (munmap or exit) */
	int32_t prot;
	int32_t map_flags;
	char name[IPCPROF_NAME_BYTES]; /* "/psm_x" for shm_open, "memfd:x", "" for anonymous */
};

/* A content fingerprint of a large outgoing payload (sampled: bounded cost per call). */
struct ipcprof_fingerprint {
	uint64_t hash; /* 0 = free slot */
	uint64_t size;
	uint64_t count; /* how many times this payload was sent */
	uint32_t channel;
	uint32_t reserved;
	uint64_t first_ns;
	uint64_t last_ns;
};

/* A call site of calls that moved much data: raw return addresses, symbolized offline. */
struct ipcprof_stack {
	uint64_t hash; /* 0 = free slot */
	uint32_t depth;
	uint32_t channel; /* channel of the first call seen from here */
	uint64_t calls;
	uint64_t bytes;
	uint64_t ip[IPCPROF_STACK_DEPTH];
};

/* A loaded module (executable or shared object), for symbolizing stacks. */
struct ipcprof_module {
	uint64_t base;  /* load bias: runtime address - ELF virtual address */
	uint64_t start; /* lowest and highest runtime address of its PT_LOAD segments */
	uint64_t end;
	uint32_t build_id_len;
	uint8_t build_id[20];
	char path[IPCPROF_PATH_BYTES];
};

/* A stretch of IPC on one thread: calls on one channel and direction with small gaps merged. */
struct ipcprof_interval {
	uint64_t start_ns;
	uint64_t end_ns;
	uint64_t bytes;
	uint32_t tid;
	uint32_t calls;
	uint32_t channel; /* index into the channel table */
	uint8_t dir;      /* enum ipcprof_dir */
	uint8_t reserved[3];
};

/*
 * One distinct stack of the CPU sampler, in the sample area: entries lie back to back, each
 * 8-byte aligned, sizeof(struct ipcprof_sample_stack) + depth * 8 bytes long. A thread that
 * samples a (thread, stack) pair for the first time appends an entry: it writes magic, depth,
 * tid, wait_ns and ip[] first and then weight, with release order; later samples of the same
 * pair add to weight and wait_ns. An entry with weight 0 is being written (or its writer was killed): a reader skips
 * it. Should a reader find no magic where an entry should start (a writer killed between taking
 * the space and writing it), it looks for the next magic at the following 8-byte boundaries.
 */
struct ipcprof_sample_stack {
	uint32_t magic;  /* IPCPROF_SAMPLE_MAGIC */
	uint32_t depth;  /* frames in ip[], 1..IPCPROF_SAMPLE_DEPTH */
	uint32_t tid;    /* the thread sampled */
	uint32_t flags;  /* IPCPROF_SS_* */
	uint64_t weight; /* timer expirations: weight * prof.period_ns of this thread's CPU time */
	/* Time the thread waited for a CPU while runnable (the kernel's schedstat run_delay) around
	 * the CPU periods that ended in this stack: the thread reads it now and then (every 50 ms of
	 * its time at most) and shares what it gathered among the samples taken since, by weight.
	 * weight * period_ns + wait_ns is, on average, the wall time a clock read around this code
	 * would have seen, had the thread not blocked. */
	uint64_t wait_ns;
	/* ip[0] is the interrupted instruction; ip[1..] are return addresses, outermost last */
	uint64_t ip[];
};

/*
 * When each sample was taken: a thread appends one tick per stored sample to a chunk of its own
 * in the sample area (allocated like a stack entry, sizeof(struct ipcprof_sample_ticks) +
 * cap * sizeof(struct ipcprof_sample_tick) bytes), and takes a new chunk when it is full. Only
 * the owning thread writes a chunk: it writes tick[used] and then used, with release order, so a
 * reader takes tick[0..used). A chunk's ticks are in time order. With them the report can tell
 * what a process was doing during another's wait.
 */
struct ipcprof_sample_tick {
	uint64_t t_ns;   /* CLOCK_MONOTONIC (ipcprof's clock) when the sample was taken */
	uint32_t entry;  /* the sample's stack entry: its offset in the area / 8 */
	uint32_t weight; /* timer expirations it stands for (as added to the entry's weight) */
};

struct ipcprof_sample_ticks {
	uint32_t magic; /* IPCPROF_TICKS_MAGIC */
	uint32_t cap;   /* IPCPROF_TICKS_CAP */
	uint32_t tid;   /* the thread whose samples these are */
	uint32_t used;  /* ticks written */
	struct ipcprof_sample_tick tick[];
};

/*
 * Python frames. In a Python process the stacks (ip[] of a sample stack and of a call site) hold,
 * besides native addresses, the Python frames the thread was running, interleaved as they call
 * each other: the frames a call of the interpreter's eval loop ran come just before (inside) that
 * call's native frame, innermost first like the rest. A Python frame has bit 63 set (no user-space
 * address has it): bits 0..43 are the id of the struct ipcprof_pycode entry that names its code
 * (the entry's offset in the sample area / 8 + 1; 0 when unknown), bits 44..61 the instruction it
 * was executing (in 2-byte code units from the start of the code; IPCPROF_PYFRAME_NO_UNIT when
 * the frame had not started), bit 62 marks the outermost frame of one eval-loop call.
 */
#define IPCPROF_PYFRAME_BIT        (1ull << 63)
#define IPCPROF_PYFRAME_ENTRY      (1ull << 62)
#define IPCPROF_PYFRAME_UNIT_SHIFT 44
#define IPCPROF_PYFRAME_UNIT_MASK  0x3ffffull
#define IPCPROF_PYFRAME_NO_UNIT    0x3ffffull
#define IPCPROF_PYFRAME_ID_MASK    ((1ull << 44) - 1)

/*
 * In a call site's stack only: the frames after this one are not the calling thread's callers but
 * the Python frames (innermost first) of the process's main thread at the time of the call. They
 * are recorded when the calling thread ran the Python library's code only (a multiprocessing
 * Pool's task handler, a Queue's feeder, a concurrent.futures manager): the data it sends was
 * handed to it by the program, which, in the main thread, is then inside the call that did so
 * (pool.map waiting for its results).
 */
#define IPCPROF_PYFRAME_MAIN_THREAD (IPCPROF_PYFRAME_BIT | IPCPROF_PYFRAME_ID_MASK)

static inline uint64_t ipcprof_pyframe_id(uint64_t v)
{
	return v & IPCPROF_PYFRAME_ID_MASK;
}
static inline uint32_t ipcprof_pyframe_unit(uint64_t v)
{
	return (uint32_t)(v >> IPCPROF_PYFRAME_UNIT_SHIFT & IPCPROF_PYFRAME_UNIT_MASK);
}

/*
 * What a code object named in a Python frame is, copied from the process (whose memory is gone
 * when the report is made) the first time a stack of the image has it (again when another code
 * object takes a freed one's address): an entry of the sample area, size bytes long (8-aligned),
 * its magic written last with release order. data[] holds the
 * function's qualified name (co_qualname), its file (co_filename), both UTF-8 without a NUL, and
 * then the code's location table (co_linetable, CPython 3.11's format, also 3.12's and 3.13's),
 * from which the reporter tells the line of an instruction.
 */
struct ipcprof_pycode {
	uint32_t magic; /* IPCPROF_PYCODE_MAGIC */
	uint32_t size;  /* bytes of the entry, data included */
	uint64_t code;  /* the code object's address */
	int32_t firstlineno;
	uint16_t qualname_len;
	uint16_t filename_len;
	uint32_t linetable_len;
	/* _co_firsttraceable: a frame whose instruction is before it has not started (it is being
	 * set up, or is one of CPython's shims, such as 3.13's __init__ one): CPython leaves such
	 * frames out of tracebacks, and so does the report */
	uint32_t firsttraceable;
	char data[];
};

/* Whether a Python file (n bytes, no NUL) is the Python library's: a module of an installation
 * (lib/pythonX.Y, site- or dist-packages) or a frozen one ("<frozen ...>"), not the program's. */
static inline bool ipcprof_py_library_file(const char *path, size_t n)
{
	static const char *const marks[] = {"/lib/python", "-packages/"};
	if (n && path[0] == '<')
		return true;
	for (size_t k = 0; k < sizeof(marks) / sizeof(marks[0]); k++) {
		size_t ml = __builtin_strlen(marks[k]);
		for (size_t i = 0; i + ml <= n; i++)
			if (__builtin_memcmp(path + i, marks[k], ml) == 0)
				return true;
	}
	return false;
}

/* ipcprof_python.state */
enum ipcprof_py_state {
	IPCPROF_PY_NONE = 0, /* not a Python process (no _PyRuntime), or not looked for */
	IPCPROF_PY_ON = 1,   /* its stacks get Python frames */
	IPCPROF_PY_UNSUPPORTED =
	    2, /* a CPython whose layout ipcprof does not know: C frames only */
};

/* The Python interpreter of the process, when it is one. */
struct ipcprof_python {
	uint32_t state;   /* enum ipcprof_py_state */
	uint32_t version; /* PY_VERSION_HEX of the interpreter (Py_Version), 0 when unknown */
	uint64_t runtime; /* address of _PyRuntime */
	/* runtime addresses of the module holding the interpreter: its native frames are the
	 * interpreter's own (the report hides them by default) */
	uint64_t interp_start;
	uint64_t interp_end;
	uint64_t codes; /* code objects copied (struct ipcprof_pycode entries) */
	uint64_t
	    codes_dropped; /* code objects that could not be copied: their frames are unnamed */
};

/* ipcprof_sample_stack.flags */
#define IPCPROF_SS_TRUNCATED 0x1u /* the stack was deeper than IPCPROF_SAMPLE_DEPTH */
#define IPCPROF_SS_UNWIND    0x2u /* unwinding stopped at an error before the outermost frame */
#define IPCPROF_SS_SELF      0x4u /* interrupted inside ipcprof's own unwinding: leaf only */
#define IPCPROF_SS_IPC       0x8u /* the thread was inside a counted IPC call (timed as IPC) */

/* ipcprof_profile.state */
enum ipcprof_prof_state {
	IPCPROF_PROF_OFF = 0,       /* IPCPROF_SAMPLE_HZ=0, or not started */
	IPCPROF_PROF_ON = 1,        /* sampling */
	IPCPROF_PROF_NO_UNWIND = 2, /* libunwind could not be loaded: no samples */
	IPCPROF_PROF_YIELDED = 3,   /* the program took over SIGPROF: sampling stopped there */
	IPCPROF_PROF_FAILED = 4,    /* a timer or the signal handler could not be set up */
};

/*
 * The CPU sampler: every thread has a timer on its own CPU clock (user + system time) that
 * fires every period_ns; its signal handler unwinds the thread's stack and adds it to the
 * sample area. weight counts expirations (a late signal counts those it missed), so that
 * weight * period_ns estimates CPU time. The area is reserved in the file without blocks;
 * blocks are allocated as it fills (area_alloc bytes so far).
 */
struct ipcprof_profile {
	uint32_t hz;    /* requested samples per CPU second; 0 = sampling off */
	uint32_t state; /* enum ipcprof_prof_state */
	uint64_t period_ns;
	uint64_t area_offset; /* file offset of the sample area (8-aligned) */
	uint64_t area_cap;    /* bytes reserved for it */
	uint64_t area_used;   /* bytes handed out; may pass area_cap (those entries were dropped) */
	uint64_t area_alloc;  /* bytes with disk blocks behind them */
	uint64_t samples;     /* signals handled */
	uint64_t weight;      /* expirations, stored or not */
	uint64_t dropped;     /* expirations whose stack was not stored (area full) */
	uint64_t threads;     /* threads that had a timer */
	uint64_t timer_errors; /* threads whose timer could not be made */
	uint64_t stopped_ns;   /* when sampling stopped (state YIELDED or FAILED), else 0 */
};

/* How a process image began. */
enum ipcprof_origin {
	IPCPROF_ORIGIN_ROOT = 1,  /* first process of the session */
	IPCPROF_ORIGIN_FORK = 2,  /* fork() of a profiled process (same image) */
	IPCPROF_ORIGIN_EXEC = 3,  /* exec by a process that had a record (same pid, seq - 1) */
	IPCPROF_ORIGIN_SPAWN = 4, /* a new process exec'd a program (vfork/posix_spawn + exec) */
};

/* How a process image ended. */
enum ipcprof_end {
	IPCPROF_END_RUNNING = 0, /* no end seen: still running, or killed unseen (SIGKILL) */
	IPCPROF_END_EXIT = 1,    /* exit status in exit_status */
	IPCPROF_END_EXEC = 2,    /* replaced by exec: record pid.(seq+1) continues */
	IPCPROF_END_SIGNAL = 3,  /* killed by term_signal (seen by the parent's wait) */
};

struct ipcprof_process {
	int32_t pid;
	int32_t ppid;       /* getppid() at start */
	int32_t parent_pid; /* the profiled process that forked or exec'd it; 0 for the root */
	uint32_t origin;    /* enum ipcprof_origin */
	uint32_t seq;       /* the <seq> of the file name */
	uint32_t argc;
	uint32_t argv_len; /* bytes used in argv[], NUL-separated */
	uint32_t end_how;  /* enum ipcprof_end */
	int32_t exit_status;
	int32_t term_signal;
	uint64_t start_ns;
	uint64_t start_realtime_ns;
	uint64_t end_ns;
	/* rusage at the end (from the process itself, or from the parent's wait4) */
	uint64_t user_ns;
	uint64_t sys_ns;
	uint64_t minflt;
	uint64_t majflt;
	uint64_t nvcsw;
	uint64_t nivcsw;
	uint64_t maxrss_kb;
	/* The pid namespace that pid and ppid are numbers in (the inode of /proc/self/ns/pid; 0
	 * when unknown): a session may hold processes of several, which reuse the same pids.
	 * parent_pidns is that of parent_pid, another one for the first process of a namespace. */
	uint64_t pidns;
	uint64_t parent_pidns;
	char exe[IPCPROF_PATH_BYTES];
	char hostname[64];
	char boot_id[40];
	char argv[IPCPROF_ARGV_BYTES];
};

/* Counts of what did not fit: the report says when a figure is incomplete. */
struct ipcprof_dropped {
	uint64_t channels;
	uint64_t mappings;
	uint64_t fingerprints;
	uint64_t stacks;
	uint64_t modules;
	uint64_t intervals;
	uint64_t untracked_fds; /* calls on fds beyond the preload's fd table */
	uint64_t internal_errors;
};

/*
 * io_uring: reads and writes a process makes through a ring bypass every call ipcprof wraps, so
 * their bytes and time are not in its channels. The preload notices the rings as they are mapped
 * (an mmap of an fd whose /proc/self/fd link is "anon_inode:[io_uring]" at IORING_OFF_SQ_RING),
 * so that the report can say which figures are missing.
 */
struct ipcprof_uring {
	uint32_t rings; /* submission rings mapped */
	uint32_t reserved;
	uint64_t first_ns; /* when the first was mapped */
};

struct ipcprof_record {
	char magic[8];          /* IPCPROF_RECORD_MAGIC */
	uint32_t version;       /* IPCPROF_RECORD_VERSION */
	uint32_t record_size;   /* sizeof(struct ipcprof_record) */
	uint32_t interval_size; /* sizeof(struct ipcprof_interval) */
	uint32_t timeline_cap;  /* intervals that follow the record */
	uint64_t file_size;     /* prof.area_offset + prof.area_cap */
	uint64_t channels_offset; /* file offset of the channel table: ipcprof_channels_offset() */
	uint32_t channels_cap;    /* its entries */
	uint32_t channel_size;    /* sizeof(struct ipcprof_channel) */
	/* Entries in use; an entry with kind 0 is being filled (or was left unused). An entry
	 * is counted only once its pages have disk blocks behind them. */
	uint32_t channels_used;
	uint32_t mappings_used;
	uint32_t modules_used;
	uint32_t intervals_used;  /* may exceed timeline_cap; only the first timeline_cap exist */
	uint64_t stack_min_bytes; /* calls of at least this size record their stack */
	uint64_t fingerprint_min_bytes; /* writes of at least this size are fingerprinted */
	uint64_t last_ns;               /* updated by fork, exec, munmap and exit: a lower bound */
	struct ipcprof_process proc;
	struct ipcprof_dropped dropped;
	struct ipcprof_profile prof;
	struct ipcprof_uring uring;
	struct ipcprof_python py;
	struct ipcprof_mapping mappings[IPCPROF_MAX_MAPPINGS];
	struct ipcprof_fingerprint fingerprints[IPCPROF_MAX_FINGERPRINTS];
	struct ipcprof_stack stacks[IPCPROF_MAX_STACKS];
	struct ipcprof_module modules[IPCPROF_MAX_MODULES];
	/* struct ipcprof_interval timeline[timeline_cap] follows, then the channel table and the
	 * sample area */
};

/* What every reader checks first, whatever the version: these never move. */
_Static_assert(offsetof(struct ipcprof_record, magic) == 0 &&
		   offsetof(struct ipcprof_record, version) == 8 &&
		   offsetof(struct ipcprof_record, record_size) == 12,
	       "a record starts with magic, version and record_size at 0, 8 and 12");
/* The layout of version 6, the sizes that the record file's offsets are computed from. A change
 * here is a new layout: bump IPCPROF_RECORD_VERSION and write the new sizes. */
#define IPCPROF_LAYOUT_(type, size)                                                                \
	_Static_assert(sizeof(struct type) == (size),                                              \
		       #type " changed size: bump IPCPROF_RECORD_VERSION and update record.h")
IPCPROF_LAYOUT_(ipcprof_dir_stats, 392);
IPCPROF_LAYOUT_(ipcprof_channel, 1024);
IPCPROF_LAYOUT_(ipcprof_mapping, 200);
IPCPROF_LAYOUT_(ipcprof_fingerprint, 48);
IPCPROF_LAYOUT_(ipcprof_stack, 288);
IPCPROF_LAYOUT_(ipcprof_module, 304);
IPCPROF_LAYOUT_(ipcprof_interval, 40);
IPCPROF_LAYOUT_(ipcprof_sample_stack, 32);
IPCPROF_LAYOUT_(ipcprof_sample_tick, 16);
IPCPROF_LAYOUT_(ipcprof_pycode, 32);
IPCPROF_LAYOUT_(ipcprof_python, 48);
IPCPROF_LAYOUT_(ipcprof_profile, 96);
IPCPROF_LAYOUT_(ipcprof_process, 4592);
IPCPROF_LAYOUT_(ipcprof_dropped, 64);
IPCPROF_LAYOUT_(ipcprof_uring, 16);
IPCPROF_LAYOUT_(ipcprof_record, 219944);
#undef IPCPROF_LAYOUT_

/* Where the channel table starts in a file with this many intervals: after the timeline. */
static inline uint64_t ipcprof_channels_offset(uint64_t record_size, uint64_t timeline_cap,
					       uint64_t interval_size)
{
	return (record_size + timeline_cap * interval_size + 4095u) & ~(uint64_t)4095u;
}

/* Where the sample area starts in a file with this many intervals and channel entries. */
static inline uint64_t ipcprof_sample_area_offset(uint64_t record_size, uint64_t timeline_cap,
						  uint64_t interval_size, uint64_t channels_cap)
{
	return ipcprof_channels_offset(record_size, timeline_cap, interval_size) +
	       ((channels_cap * sizeof(struct ipcprof_channel) + 4095u) & ~(uint64_t)4095u);
}

static inline struct ipcprof_channel *ipcprof_record_channels(struct ipcprof_record *r)
{
	return (struct ipcprof_channel *)(void *)((char *)r + r->channels_offset);
}

static inline struct ipcprof_interval *ipcprof_record_timeline(struct ipcprof_record *r)
{
	return (struct ipcprof_interval *)(void *)((char *)r + r->record_size);
}

/* Histogram bucket of a call that moved n bytes. */
static inline unsigned ipcprof_hist_bucket(uint64_t n)
{
	unsigned b = n ? 64u - (unsigned)__builtin_clzll(n) : 0u;
	return b < IPCPROF_HIST_BUCKETS ? b : IPCPROF_HIST_BUCKETS - 1;
}

#endif
