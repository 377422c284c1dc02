/* The on-disk format of kernel.ipckrn: what the eBPF probes saw of a profiled process tree. */
#ifndef IPCPROF_KERNEL_H
#define IPCPROF_KERNEL_H

#ifndef __bpf__
#include <stdint.h>
#endif

/*
 * `ipcprof record` with the probes writes one file, <session>/kernel.ipckrn (mode 0600), once the
 * profiled tree has exited:
 *
 *   struct ipcprof_kernel_header
 *   struct ipcprof_kernel_image  image[header.images]    (one per process image, by pid and seq)
 *   struct ipcprof_kernel_thread thread[header.threads]  (only for images that had 2+ threads)
 *
 * Readers check magic and version, and step through the tables by header_size, image_size and
 * thread_size (never by sizeof), so that a newer writer may append fields. All fields are
 * little-endian fixed-width integers or NUL-terminated strings. All times are CLOCK_MONOTONIC
 * nanoseconds (bpf_ktime_get_ns), the clock of the preload's records.
 *
 * Two modes (header.mode). IPCPROF_KMODE_SYSCALLS: the kernel counts what the syscalls really did,
 * whatever library made them: bytes are those the syscalls returned (for the mmsg calls, the sum
 * of the msg_len of the messages they handled). Every read/write-like call is counted, on any fd;
 * the fd's kind is found in the kernel at the call's entry (file -> inode mode -> socket family
 * and type). IPCPROF_KMODE_SCHED (with the preload, whose records hold the calls, bytes and
 * times): no syscall is counted; only the stretches a thread spent off CPU inside a data or wait
 * call are, found at the switch-out (the call and its fd from the thread's syscall registers), so
 * calls, bytes, errors and time_ns stay 0 and blocked_ns, runq_ns and blocks hold them.
 *
 * A pid's images are numbered like the preload's records: seq 0 is the process that fork (or
 * clone without CLONE_THREAD) made, or the root as it was when the probes began following it;
 * each exec adds 1. So the root, followed between fork and exec, does its work as seq 1.
 */

#define IPCPROF_KERNEL_MAGIC   "IPCPKRN" /* 8 bytes with the NUL */
#define IPCPROF_KERNEL_VERSION 2
#define IPCPROF_KERNEL_FILE    "kernel.ipckrn"

#define IPCPROF_KERNEL_COMM_BYTES 16
#define IPCPROF_KERNEL_PATH_BYTES 256

/* Direction of a call: the same values as enum ipcprof_dir in record.h. */
enum ipcprof_kdir {
	IPCPROF_KDIR_OUT = 0, /* write, send: bytes leave this process */
	IPCPROF_KDIR_IN = 1,  /* read, recv: bytes arrive */
	IPCPROF_KDIR_COUNT = 2,
};

/* Kind of the fd a call was made on. */
enum ipcprof_kfd {
	IPCPROF_KFD_PIPE = 0,           /* anonymous pipe (pipefs) */
	IPCPROF_KFD_FIFO = 1,           /* named pipe on a file system */
	IPCPROF_KFD_UNIX_STREAM = 2,    /* AF_UNIX SOCK_STREAM */
	IPCPROF_KFD_UNIX_DGRAM = 3,     /* AF_UNIX SOCK_DGRAM */
	IPCPROF_KFD_UNIX_SEQPACKET = 4, /* AF_UNIX SOCK_SEQPACKET */
	IPCPROF_KFD_TCP = 5,            /* AF_INET/AF_INET6 SOCK_STREAM */
	IPCPROF_KFD_UDP = 6,            /* AF_INET/AF_INET6 SOCK_DGRAM */
	IPCPROF_KFD_SOCKET_OTHER = 7,   /* any other socket (netlink, packet, raw, vsock...) */
	IPCPROF_KFD_OTHER = 8,          /* not a channel: files, ttys, eventfds...; also bad fds */
	IPCPROF_KFD_COUNT = 9,
};

/* Syscall family of a data-moving call. */
enum ipcprof_kfamily {
	IPCPROF_KFAM_RW = 0,       /* read, write, pread64, pwrite64 */
	IPCPROF_KFAM_VEC = 1,      /* readv, writev, preadv, pwritev, preadv2, pwritev2 */
	IPCPROF_KFAM_MSG = 2,      /* sendto, recvfrom, sendmsg, recvmsg */
	IPCPROF_KFAM_MMSG = 3,     /* sendmmsg, recvmmsg */
	IPCPROF_KFAM_SPLICE = 4,   /* splice, tee, vmsplice */
	IPCPROF_KFAM_SENDFILE = 5, /* sendfile */
	IPCPROF_KFAM_COUNT = 6,
};
/*
 * splice and sendfile move bytes from one fd to another: they count as one IN call on the source
 * fd's kind and one OUT call on the destination's, with the same bytes; their time is counted
 * once, on the OUT side. tee copies without consuming its source: one OUT call on the
 * destination. vmsplice counts as OUT into a pipe's write end, IN from its read end.
 */

/* Calls that wait for another process without moving data. */
enum ipcprof_kwait {
	IPCPROF_KWAIT_POLL = 0,  /* poll, ppoll, select, pselect6, epoll_wait, epoll_pwait(2) */
	IPCPROF_KWAIT_FUTEX = 1, /* futex, futex_waitv: locks, semaphores, condition variables */
	IPCPROF_KWAIT_COUNT = 2,
};

/*
 * Figures for the calls of one kind, direction and family. time_ns is the wall time from the
 * call's entry to its exit; the scheduler's switch events split it into
 *   on-CPU  = time_ns - blocked_ns - runq_ns  (the copy itself, and the kernel's other work)
 *   blocked_ns: asleep inside the call (waiting for the peer: data to read, room to write)
 *   runq_ns:    preempted inside the call, runnable but waiting for a CPU
 */
struct ipcprof_kernel_calls {
	uint64_t calls;  /* calls that returned */
	uint64_t bytes;  /* bytes moved by the calls that succeeded */
	uint64_t errors; /* calls that returned an error, EAGAIN included */
	uint64_t eagain; /* of those, EAGAIN */
	uint64_t time_ns;
	uint64_t blocked_ns;
	uint64_t runq_ns;
	uint64_t blocks; /* times a call went to sleep */
};

/* Kind of the mapping a user page fault hit. */
enum ipcprof_kfault {
	/* shared mapping of shmem: POSIX shm, memfd, MAP_SHARED|MAP_ANONYMOUS, SysV shm */
	IPCPROF_KFAULT_SHMEM = 0,
	IPCPROF_KFAULT_SHARED_FILE = 1, /* shared mapping of any other file */
	IPCPROF_KFAULT_OTHER = 2,       /* private memory (heap, stacks, program), or no mapping */
	IPCPROF_KFAULT_COUNT = 3,
};

/*
 * User page faults (exceptions:page_fault_user), counted at the fault's entry, and the kernel's
 * faults on user addresses (copying a syscall's buffer). A fault is classified by comparing its
 * address with the process's shared mappings, which the probes keep as the process maps, unmaps
 * and moves them (mmap, munmap, mremap, shmat, shmdt; inherited at fork). bytes is the size of
 * the page each fault was for (4096, or the huge page size of a hugetlb mapping): the memory a
 * fault brings in. Read faults on file and shmem mappings may map a few neighbouring pages that
 * are already in memory too (fault-around); those are not counted.
 */
struct ipcprof_kernel_faults {
	uint64_t faults;
	uint64_t write_faults; /* of those, faults on a write access */
	uint64_t bytes;
	uint64_t reserved;
};

/* A thread's whole life (or the sum over an image's threads) from the scheduler's view. */
struct ipcprof_kernel_sched {
	uint64_t run_ns;               /* on a CPU */
	uint64_t blocked_ns;           /* asleep */
	uint64_t runq_ns;              /* runnable, waiting for a CPU */
	uint64_t voluntary_switches;   /* went to sleep */
	uint64_t involuntary_switches; /* preempted */
	uint64_t reserved[3];
};

struct ipcprof_kernel_stats {
	struct ipcprof_kernel_calls io[IPCPROF_KFD_COUNT][IPCPROF_KDIR_COUNT][IPCPROF_KFAM_COUNT];
	struct ipcprof_kernel_calls wait[IPCPROF_KWAIT_COUNT];
	struct ipcprof_kernel_faults faults[IPCPROF_KFAULT_COUNT];
	struct ipcprof_kernel_sched sched;
};

/* What the probes counted (header.mode). */
enum ipcprof_kmode {
	IPCPROF_KMODE_SYSCALLS =
	    0,                   /* every data and wait call: calls, bytes, times (cross-check) */
	IPCPROF_KMODE_SCHED = 1, /* only the off-CPU stretches inside those calls (preload's) */
};

/* Header flags (header.flags; 0 in files of writers before them). */
enum ipcprof_kflag {
	/* The root ran already when the probes began following it (ipcprof record --pid): its
	 * seq 0 image is the program itself, not a launcher about to exec it, and the figures
	 * cover only the time from follow_ns on. The session folder holds the root's command
	 * line as it was then in IPCPROF_KERNEL_CMDLINE_FILE. */
	IPCPROF_KFLAG_ATTACHED = 1,
};

/* An attached root's /proc/PID/cmdline at the attach: its arguments, each ended by a NUL. */
#define IPCPROF_KERNEL_CMDLINE_FILE "attached.cmdline"

/* How an image ended: the same values as enum ipcprof_end in record.h. */
enum ipcprof_kend {
	IPCPROF_KEND_RUNNING = 0, /* no end seen (still running when the probes were collected) */
	IPCPROF_KEND_EXIT = 1,    /* its last thread exited; exit_code holds how */
	IPCPROF_KEND_EXEC = 2,    /* replaced by exec: image (pid, seq + 1) continues */
};

/* One process image: a pid between fork (or follow) and exec, or between exec and exit. */
struct ipcprof_kernel_image {
	int32_t pid;
	int32_t parent_pid; /* the profiled process that forked it; for the root, its launcher */
	uint32_t seq;
	uint32_t end_how;      /* enum ipcprof_kend */
	int32_t exit_code;     /* as wait() reports it: exit status << 8, or the signal number */
	uint32_t threads;      /* threads that ran in this image (1 for a single-threaded one) */
	uint32_t thread_first; /* index of its first thread entry; see thread_count */
	uint32_t thread_count; /* thread entries: 0 when it had one thread (total is that thread) */
	uint64_t start_ns;
	uint64_t end_ns; /* exit or exec; 0 when end_how is RUNNING */
	char comm[IPCPROF_KERNEL_COMM_BYTES];
	char exe[IPCPROF_KERNEL_PATH_BYTES]; /* path given to exec; for seq 0, the parent's */
	struct ipcprof_kernel_stats total;   /* sum over its threads */
};

/* One thread of an image that had more than one. */
struct ipcprof_kernel_thread {
	int32_t pid;
	int32_t tid;
	uint32_t seq;
	uint32_t image; /* index of its image entry */
	uint64_t start_ns;
	uint64_t end_ns; /* 0 if still running at collection */
	char comm[IPCPROF_KERNEL_COMM_BYTES];
	struct ipcprof_kernel_stats stats;
};

/* Counts of what the probes could not keep: the report says when a figure is incomplete. */
struct ipcprof_kernel_dropped {
	uint64_t images;        /* processes not followed: the image table was full */
	uint64_t threads;       /* threads whose figures were lost: the thread table was full */
	uint64_t calls;         /* calls not counted: no room to track them in flight */
	uint64_t mmsg_messages; /* mmsg messages whose msg_len could not be read (bytes missing) */
	uint64_t fault_lookups; /* shared mappings not kept: the table of the process was full, or
				 * the mapping could not be looked up (their faults count as OTHER) */
	uint64_t reserved[3];
};

struct ipcprof_kernel_header {
	char magic[8];        /* IPCPROF_KERNEL_MAGIC */
	uint32_t version;     /* IPCPROF_KERNEL_VERSION */
	uint32_t header_size; /* sizeof(struct ipcprof_kernel_header) */
	uint32_t image_size;  /* sizeof(struct ipcprof_kernel_image) */
	uint32_t thread_size; /* sizeof(struct ipcprof_kernel_thread) */
	uint32_t images;
	uint32_t threads;
	int32_t root_pid;
	uint32_t page_size;
	uint64_t start_ns;  /* probes attached */
	uint64_t follow_ns; /* root followed */
	uint64_t end_ns;    /* figures collected */
	struct ipcprof_kernel_dropped dropped;
	uint32_t mode;  /* enum ipcprof_kmode */
	uint32_t flags; /* IPCPROF_KFLAG_* */
};

#endif
