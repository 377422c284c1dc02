/* What the probes' BPF side and their loader share: map keys, map values and table sizes. */
#ifndef IPCPROF_BPF_H
#define IPCPROF_BPF_H

#include <ipcprof/kernel.h>

/* Images (pid, seq) the probes can follow; image ids are dense, 1 is the root. */
#define IPCPROF_BPF_MAX_IMAGES  8192
/* Threads alive at once, and threads over the whole session (one figures entry each). */
#define IPCPROF_BPF_MAX_LIVE    8192
#define IPCPROF_BPF_MAX_THREADS 16384
/* The most messages one sendmmsg/recvmmsg handles (UIO_MAXIOV). */
#define IPCPROF_BPF_MAX_MMSG    1024
/* Shared mappings kept per process (a power of two: indexes are masked with it minus one). */
#define IPCPROF_BPF_MAX_RANGES  32

/* The kernel structs the probes view through bpf_rdonly_cast, whose kernel type ids the loader
 * gives them (kernel_type_id[]): indexes, and the names in that order. */
#define IPCPROF_CORE_TASK_STRUCT 0
#define IPCPROF_CORE_FILE        1
#define IPCPROF_CORE_SOCKET      2
#define IPCPROF_CORE_NTYPES      3
#define IPCPROF_CORE_TYPES                                                                         \
	{                                                                                          \
		"task_struct", "file", "socket"                                                    \
	}

/* Value of the image table (an array indexed by image id). pid 0 = unused slot. */
struct ipcprof_bpf_image {
	int32_t pid;
	int32_t parent_pid;
	uint32_t seq;
	uint32_t end_how;
	int32_t exit_code;
	uint32_t threads;
	uint64_t start_ns;
	uint64_t end_ns;
	char comm[IPCPROF_KERNEL_COMM_BYTES];
	char exe[IPCPROF_KERNEL_PATH_BYTES];
};

/* The process table: tgid -> the image it runs now. A process leaves it when it exits. */
struct ipcprof_bpf_tracked {
	uint32_t image;
	uint32_t seq;
};

/* Thread states, as the scheduler's events leave them. */
enum ipcprof_bpf_state {
	IPCPROF_BPF_RUNNING = 0,
	IPCPROF_BPF_BLOCKED = 1,
	IPCPROF_BPF_RUNQ = 2,
};

/* A call in flight. */
enum ipcprof_bpf_call {
	IPCPROF_BPF_CALL_NONE = 0,
	IPCPROF_BPF_CALL_IO = 1,
	IPCPROF_BPF_CALL_WAIT = 2,
};

#define IPCPROF_BPF_NO_KIND 0xffu

/* What a thread switched out inside a data or wait call was doing (sched mode). */
struct ipcprof_bpf_offcpu {
	uint64_t since_ns; /* switched out; 0: not inside such a call */
	uint8_t wait;      /* 1: a wait call, family is an enum ipcprof_kwait */
	uint8_t kind;      /* enum ipcprof_kfd of the fd */
	uint8_t dir;       /* enum ipcprof_kdir */
	uint8_t family;    /* enum ipcprof_kfamily */
	uint8_t preempted; /* switched out runnable: all of the stretch is run queue */
	uint8_t reserved[3];
};

/* A live thread of the profiled tree: tid -> its state. Deleted when the thread exits. */
struct ipcprof_bpf_live {
	uint32_t image;
	int32_t tgid;
	uint64_t start_ns;
	uint64_t since_ns; /* entered the current state */
	uint32_t state;    /* enum ipcprof_bpf_state */
	uint32_t call;     /* enum ipcprof_bpf_call */
	uint8_t family;    /* enum ipcprof_kfamily, or the enum ipcprof_kwait of a wait */
	uint8_t kind_in;   /* enum ipcprof_kfd of the fd read from, or IPCPROF_BPF_NO_KIND */
	uint8_t kind_out;  /* enum ipcprof_kfd of the fd written to, or IPCPROF_BPF_NO_KIND */
	uint8_t reserved[1];
	uint32_t nr; /* syscall number of the call in flight */
	uint64_t call_start_ns;
	uint64_t call_blocked_ns;
	uint64_t call_runq_ns;
	uint64_t call_blocks;
	uint64_t call_run_ns; /* on a CPU since the call began (up to since_ns) */
	uint64_t mmsg_vec;    /* user address of the struct mmsghdr array of an mmsg call */
	/* The thread's life so far, moved into its figures when it exits or execs. */
	uint64_t run_ns;
	uint64_t blocked_ns;
	uint64_t runq_ns;
	uint64_t voluntary_switches;
	uint64_t involuntary_switches;
	struct ipcprof_kernel_faults faults[IPCPROF_KFAULT_COUNT];
	struct ipcprof_bpf_offcpu off;
	uint64_t unmapped_area; /* the last address the kernel chose for a new mapping */
};

/* One shared mapping of a process: [start, end); end 0 = a free slot. */
struct ipcprof_bpf_range {
	uint64_t start;
	uint64_t end;
	uint32_t kind;       /* IPCPROF_KFAULT_SHMEM or IPCPROF_KFAULT_SHARED_FILE */
	uint32_t page_bytes; /* 4096, or a hugetlb mapping's page size */
};

/* Addresses of new shared mappings not yet looked up (a power of two). */
#define IPCPROF_BPF_MAX_PENDING 4

/* The shared mappings of an image (an array indexed by image id): slots below n may be used. */
struct ipcprof_bpf_ranges {
	uint32_t n;
	uint32_t npending; /* addresses in pending (0: none to look up) */
	/* [lo, hi) holds every range kept since the image began (removals leave it as it is): a
	 * fault outside it is in none, without a walk of r[]. lo 0: none kept yet. */
	uint64_t lo;
	uint64_t hi;
	struct ipcprof_bpf_range r[IPCPROF_BPF_MAX_RANGES];
	/* Where a mapping call may have made a shared mapping: looked up at the image's next
	 * fault, since the call's mmap lock is still held when its release is traced. */
	uint64_t pending[IPCPROF_BPF_MAX_PENDING];
};

/* Key of the figures table: one entry per thread per image. */
struct ipcprof_bpf_tkey {
	uint32_t image;
	int32_t tid;
};

/* Value of the figures table. */
struct ipcprof_bpf_tstats {
	int32_t pid;
	int32_t tid;
	uint64_t start_ns;
	uint64_t end_ns;
	char comm[IPCPROF_KERNEL_COMM_BYTES];
	struct ipcprof_kernel_stats stats;
};

#endif
