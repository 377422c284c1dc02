/* The probes' kernel side: bytes, waits, off-CPU stretches and page faults of a followed tree. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "ipcprof_bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Kernel 6.2 and later: makes a typed pointer of an address read from memory. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

/*
 * The kernel's type ids of the structs viewed through bpf_rdonly_cast, set by the loader (the
 * order of IPCPROF_CORE_TYPES): the probes are relocated against a cut-down copy of the kernel's
 * BTF, where a CO-RE type-id relocation would give the copy's ids, not the kernel's.
 */
const volatile __u32 kernel_type_id[IPCPROF_CORE_NTYPES];

/*
 * A task's fields read through an untrusted view of it: the verifier checks each pointer read
 * from a trusted pointer against the kernel's lists of trusted fields, by name, with a linear
 * search of the kernel's types (four of them a read, on every path it walks: 40% of its check of
 * these programs at start-up). The loads are the same; the view is not passed to helpers.
 */
static __always_inline struct task_struct *task_view(struct task_struct *t)
{
	return bpf_rdonly_cast(t, kernel_type_id[IPCPROF_CORE_TASK_STRUCT]);
}

/*
 * Set by the loader before loading. 1: sys_enter/sys_exit count every data and wait call
 * (--no-preload, and the cross-check of the preload's figures). 0: they are not attached, and
 * sched_switch alone finds, at a switch-out, whether the thread is inside such a call (its
 * syscall-entry registers) and stamps the off-CPU stretch.
 */
const volatile __u32 count_syscalls = 1;

/*
 * Only tp_btf programs: they attach by name with nothing mounted, and fentry/kprobes are not
 * available everywhere (lockdown refuses fentry, some kernels lack kprobes). The syscall numbers
 * are x86-64's; the meson build only builds the probes there.
 */
#define NR_read         0
#define NR_write        1
#define NR_poll         7
#define NR_mmap         9
#define NR_munmap       11
#define NR_pread64      17
#define NR_pwrite64     18
#define NR_readv        19
#define NR_writev       20
#define NR_select       23
#define NR_mremap       25
#define NR_shmat        30
#define NR_sendfile     40
#define NR_sendto       44
#define NR_recvfrom     45
#define NR_sendmsg      46
#define NR_recvmsg      47
#define NR_shmdt        67
#define NR_futex        202
#define NR_epoll_wait   232
#define NR_pselect6     270
#define NR_ppoll        271
#define NR_splice       275
#define NR_tee          276
#define NR_vmsplice     278
#define NR_epoll_pwait  281
#define NR_preadv       295
#define NR_pwritev      296
#define NR_recvmmsg     299
#define NR_sendmmsg     307
#define NR_preadv2      327
#define NR_pwritev2     328
#define NR_epoll_pwait2 441
#define NR_futex_waitv  449
#define NR_LAST         449

#define ENOENT             2
#define EBUSY              16
#define EAGAIN             11
#define S_IFMT             00170000
#define S_IFSOCK           0140000
#define S_IFIFO            0010000
#define PIPEFS_MAGIC       0x50495045
#define TMPFS_MAGIC        0x01021994
#define HUGETLBFS_MAGIC    0x958458f6
#define AF_UNIX            1
#define AF_INET            2
#define AF_INET6           10
#define SOCK_STREAM        1
#define SOCK_DGRAM         2
#define SOCK_SEQPACKET     5
#define IPPROTO_UDP        17
#define IPPROTO_UDPLITE    136
#define FMODE_WRITE        0x2
#define VM_SHARED          0x00000008UL
#define VM_HUGETLB         0x00400000UL
#define X86_PF_WRITE       0x2UL
#define PAGE_BYTES         4096ULL
#define HUGE_PAGE_BYTES    (2ULL << 20)
#define MAP_TYPE           0x0f
#define MAP_SHARED         0x01
#define MAP_SHARED_VALID   0x03
#define MAP_FIXED          0x10
#define MREMAP_FIXED       2
#define SHM_RND            020000
#define MAX_ERRNO          4095
#define MMSGHDR_SIZE       64
#define MMSGHDR_LEN_OFFSET 56

/* The next image id: the loader takes ids for the roots it follows, the BPF side for the rest. */
__u32 next_image = 1;
struct ipcprof_kernel_dropped dropped;
/* Never written: the initial value of a new figures entry (too big for the stack). */
struct ipcprof_bpf_tstats zero_tstats;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, IPCPROF_BPF_MAX_IMAGES);
	__type(key, __u32);
	__type(value, struct ipcprof_bpf_image);
} images SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, IPCPROF_BPF_MAX_IMAGES);
	__type(key, __s32);
	__type(value, struct ipcprof_bpf_tracked);
} tracked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, IPCPROF_BPF_MAX_LIVE);
	__type(key, __s32);
	__type(value, struct ipcprof_bpf_live);
} live SEC(".maps");

/* The shared mappings of each image, by image id: a fault is classified by its address alone. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, IPCPROF_BPF_MAX_IMAGES);
	__type(key, __u32);
	__type(value, struct ipcprof_bpf_ranges);
} shared SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, IPCPROF_BPF_MAX_THREADS);
	__type(key, struct ipcprof_bpf_tkey);
	__type(value, struct ipcprof_bpf_tstats);
} figures SEC(".maps");

static __always_inline void count_drop(__u64 *field)
{
	__sync_fetch_and_add(field, 1);
}

/* The figures entry of a thread in its current image, made on first use. */
static __always_inline struct ipcprof_bpf_tstats *thread_figures(struct ipcprof_bpf_live *l,
								 __s32 tid)
{
	struct ipcprof_bpf_tkey key = {.image = l->image, .tid = tid};
	struct ipcprof_bpf_tstats *s = bpf_map_lookup_elem(&figures, &key);
	if (s)
		return s;
	if (bpf_map_update_elem(&figures, &key, &zero_tstats, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&figures, &key)) {
		count_drop(&dropped.threads);
		return NULL;
	}
	s = bpf_map_lookup_elem(&figures, &key);
	if (s) {
		s->pid = l->tgid;
		s->tid = tid;
		s->start_ns = l->start_ns;
		bpf_get_current_comm(s->comm, sizeof(s->comm));
	}
	return s;
}

/* The part of the current running stretch that lies inside the call in flight. */
static __always_inline __u64 run_in_call(struct ipcprof_bpf_live *l, __u64 now)
{
	__u64 from = l->since_ns > l->call_start_ns ? l->since_ns : l->call_start_ns;

	return now > from ? now - from : 0;
}

/* Accounts the time since the thread's last state change, then enters state. */
static __always_inline void change_state(struct ipcprof_bpf_live *l, __u32 state, __u64 now)
{
	__u64 d = now > l->since_ns ? now - l->since_ns : 0;

	if (l->state == IPCPROF_BPF_RUNNING) {
		l->run_ns += d;
		if (l->call != IPCPROF_BPF_CALL_NONE)
			l->call_run_ns += run_in_call(l, now);
	} else if (l->state == IPCPROF_BPF_BLOCKED) {
		l->blocked_ns += d;
		if (l->call != IPCPROF_BPF_CALL_NONE)
			l->call_blocked_ns += d;
	} else {
		l->runq_ns += d;
		if (l->call != IPCPROF_BPF_CALL_NONE)
			l->call_runq_ns += d;
	}
	l->state = state;
	l->since_ns = now;
}

/* Moves the thread's life so far into its figures (at exit, and at exec for the old image). */
static __always_inline void flush_sched(struct ipcprof_bpf_live *l, __s32 tid, __u64 now)
{
	struct ipcprof_bpf_tstats *s;

	change_state(l, l->state, now);
	s = thread_figures(l, tid);
	if (!s)
		return;
	s->stats.sched.run_ns += l->run_ns;
	s->stats.sched.blocked_ns += l->blocked_ns;
	s->stats.sched.runq_ns += l->runq_ns;
	s->stats.sched.voluntary_switches += l->voluntary_switches;
	s->stats.sched.involuntary_switches += l->involuntary_switches;
	for (int k = 0; k < IPCPROF_KFAULT_COUNT; k++) {
		s->stats.faults[k].faults += l->faults[k].faults;
		s->stats.faults[k].write_faults += l->faults[k].write_faults;
		s->stats.faults[k].bytes += l->faults[k].bytes;
		l->faults[k].faults = l->faults[k].write_faults = l->faults[k].bytes = 0;
	}
	s->end_ns = now;
	bpf_get_current_comm(s->comm, sizeof(s->comm));
	l->run_ns = l->blocked_ns = l->runq_ns = 0;
	l->voluntary_switches = l->involuntary_switches = 0;
}

static __always_inline __u8 fd_kind(struct task_struct *task, long fd, struct file **filep)
{
	struct files_struct *files = task_view(task)->files;
	struct fdtable *fdt;
	struct file **fda;
	struct file *f = NULL;
	struct inode *inode;
	__u32 mode;

	*filep = NULL;
	if (!files || fd < 0)
		return IPCPROF_KFD_OTHER;
	fdt = files->fdt;
	if (!fdt || (unsigned long)fd >= fdt->max_fds)
		return IPCPROF_KFD_OTHER;
	fda = fdt->fd;
	if (bpf_core_read(&f, sizeof(f), &fda[fd]) || !f)
		return IPCPROF_KFD_OTHER;
	/* A typed pointer is read with plain loads: much cheaper than a helper call per field. */
	f = bpf_rdonly_cast(f, kernel_type_id[IPCPROF_CORE_FILE]);
	*filep = f;
	inode = f->f_inode;
	if (!inode)
		return IPCPROF_KFD_OTHER;
	mode = inode->i_mode & S_IFMT;
	if (mode == S_IFIFO)
		return inode->i_sb->s_magic == PIPEFS_MAGIC ? IPCPROF_KFD_PIPE : IPCPROF_KFD_FIFO;
	if (mode == S_IFSOCK) {
		struct socket *sock =
		    bpf_rdonly_cast(f->private_data, kernel_type_id[IPCPROF_CORE_SOCKET]);
		struct sock *sk = sock->sk;
		__u16 family, type, proto;

		if (!sk)
			return IPCPROF_KFD_SOCKET_OTHER;
		family = sk->__sk_common.skc_family;
		type = sk->sk_type;
		proto = sk->sk_protocol;
		if (family == AF_UNIX) {
			if (type == SOCK_STREAM)
				return IPCPROF_KFD_UNIX_STREAM;
			if (type == SOCK_DGRAM)
				return IPCPROF_KFD_UNIX_DGRAM;
			if (type == SOCK_SEQPACKET)
				return IPCPROF_KFD_UNIX_SEQPACKET;
			return IPCPROF_KFD_SOCKET_OTHER;
		}
		if (family == AF_INET || family == AF_INET6) {
			if (type == SOCK_STREAM)
				return IPCPROF_KFD_TCP;
			if (type == SOCK_DGRAM &&
			    (proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE))
				return IPCPROF_KFD_UDP;
		}
		return IPCPROF_KFD_SOCKET_OTHER;
	}
	return IPCPROF_KFD_OTHER;
}

/*
 * What each data and wait call is, by syscall number: a table rather than a switch, so that the
 * verifier walks one path through the classification, not one per syscall (a switch made it
 * check sched_switch for over 20 ms at every start-up).
 */
struct call_rule {
	__u8 watched; /* 1: a call the probes time */
	__u8 wait;    /* 1: a wait call; family is then an enum ipcprof_kwait */
	__u8 family;
	__u8 in_arg;  /* 1 + the index of the argument holding the fd read from; 0: none */
	__u8 out_arg; /* the same for the fd written to */
	__u8 vm;      /* vmsplice: its one fd is read from or written to as its mode says */
};

#define IO(fam, in, out)                                                                           \
	{                                                                                          \
		.watched = 1, .family = (fam), .in_arg = (in), .out_arg = (out)                    \
	}
#define WAIT(fam)                                                                                  \
	{                                                                                          \
		.watched = 1, .wait = 1, .family = (fam)                                           \
	}

static const struct call_rule call_rules[NR_LAST + 1] = {
    [NR_read] = IO(IPCPROF_KFAM_RW, 1, 0),
    [NR_pread64] = IO(IPCPROF_KFAM_RW, 1, 0),
    [NR_write] = IO(IPCPROF_KFAM_RW, 0, 1),
    [NR_pwrite64] = IO(IPCPROF_KFAM_RW, 0, 1),
    [NR_readv] = IO(IPCPROF_KFAM_VEC, 1, 0),
    [NR_preadv] = IO(IPCPROF_KFAM_VEC, 1, 0),
    [NR_preadv2] = IO(IPCPROF_KFAM_VEC, 1, 0),
    [NR_writev] = IO(IPCPROF_KFAM_VEC, 0, 1),
    [NR_pwritev] = IO(IPCPROF_KFAM_VEC, 0, 1),
    [NR_pwritev2] = IO(IPCPROF_KFAM_VEC, 0, 1),
    [NR_recvfrom] = IO(IPCPROF_KFAM_MSG, 1, 0),
    [NR_recvmsg] = IO(IPCPROF_KFAM_MSG, 1, 0),
    [NR_sendto] = IO(IPCPROF_KFAM_MSG, 0, 1),
    [NR_sendmsg] = IO(IPCPROF_KFAM_MSG, 0, 1),
    [NR_recvmmsg] = IO(IPCPROF_KFAM_MMSG, 1, 0),
    [NR_sendmmsg] = IO(IPCPROF_KFAM_MMSG, 0, 1),
    [NR_splice] = IO(IPCPROF_KFAM_SPLICE, 1, 3),
    /* tee copies without consuming its source: nothing is read from it. */
    [NR_tee] = IO(IPCPROF_KFAM_SPLICE, 0, 2),
    [NR_vmsplice] = {.watched = 1, .family = IPCPROF_KFAM_SPLICE, .in_arg = 1, .vm = 1},
    [NR_sendfile] = IO(IPCPROF_KFAM_SENDFILE, 2, 1),
    [NR_poll] = WAIT(IPCPROF_KWAIT_POLL),
    [NR_ppoll] = WAIT(IPCPROF_KWAIT_POLL),
    [NR_select] = WAIT(IPCPROF_KWAIT_POLL),
    [NR_pselect6] = WAIT(IPCPROF_KWAIT_POLL),
    [NR_epoll_wait] = WAIT(IPCPROF_KWAIT_POLL),
    [NR_epoll_pwait] = WAIT(IPCPROF_KWAIT_POLL),
    [NR_epoll_pwait2] = WAIT(IPCPROF_KWAIT_POLL),
    [NR_futex] = WAIT(IPCPROF_KWAIT_FUTEX),
    [NR_futex_waitv] = WAIT(IPCPROF_KWAIT_FUTEX),
};

/* Whether a call is one the probes time: checked before anything else is read. */
static __always_inline int watched(long id)
{
	return id >= 0 && id <= NR_LAST && call_rules[id].watched;
}

/* What a data or wait call is: its family, and the kinds of the fds it reads from and writes to. */
struct call_class {
	__u8 wait; /* 1: a wait call; family is then an enum ipcprof_kwait */
	__u8 family;
	__u8 kind_in;
	__u8 kind_out;
};

static __always_inline long call_arg(__u8 i, long a0, long a1, long a2)
{
	return i == 1 ? a0 : i == 2 ? a1 : a2;
}

/* Fills c for syscall id with arguments a0-a2; 0 when id is not a call the probes time. */
static __always_inline int classify_call(struct task_struct *task, long id, long a0, long a1,
					 long a2, struct call_class *c)
{
	const struct call_rule *r;
	struct file *f;

	if (id < 0 || id > NR_LAST)
		return 0;
	r = &call_rules[id];
	if (!r->watched)
		return 0;
	c->wait = r->wait;
	c->family = r->family;
	c->kind_in = c->kind_out = IPCPROF_BPF_NO_KIND;
	if (r->wait)
		return 1;
	if (r->in_arg) {
		c->kind_in = fd_kind(task, call_arg(r->in_arg, a0, a1, a2), &f);
		/* vmsplice writes into a pipe's write end, reads from its read end. */
		if (r->vm && f && (f->f_mode & FMODE_WRITE)) {
			c->kind_out = c->kind_in;
			c->kind_in = IPCPROF_BPF_NO_KIND;
		}
	}
	if (r->out_arg)
		c->kind_out = fd_kind(task, call_arg(r->out_arg, a0, a1, a2), &f);
	return 1;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	struct ipcprof_bpf_live *l;
	struct call_class c;
	__s32 tid;

	/* Every syscall of the machine comes here: most leave on their number alone. */
	if (!watched(id))
		return 0;
	tid = (__s32)bpf_get_current_pid_tgid();
	l = bpf_map_lookup_elem(&live, &tid);
	if (!l)
		return 0;
	l->call = IPCPROF_BPF_CALL_NONE;
	l->nr = (__u32)id;
	l->mmsg_vec = 0;
	if (!classify_call(bpf_get_current_task_btf(), id, regs->di, regs->si, regs->dx, &c))
		return 0;
	l->call = c.wait ? IPCPROF_BPF_CALL_WAIT : IPCPROF_BPF_CALL_IO;
	l->family = c.family;
	l->kind_in = c.kind_in;
	l->kind_out = c.kind_out;
	l->call_start_ns = bpf_ktime_get_ns();
	l->call_blocked_ns = l->call_runq_ns = l->call_blocks = l->call_run_ns = 0;
	if (id == NR_recvmmsg || id == NR_sendmmsg)
		l->mmsg_vec = regs->si;
	return 0;
}

struct mmsg_ctx {
	__u64 vec;
	__u64 bytes;
	__u32 n;
};

static long mmsg_add(__u32 i, void *data)
{
	struct mmsg_ctx *c = data;
	__u32 len = 0;

	if (i >= c->n)
		return 1;
	if (bpf_probe_read_user(&len, sizeof(len),
				(void *)(c->vec + (__u64)i * MMSGHDR_SIZE + MMSGHDR_LEN_OFFSET)))
		count_drop(&dropped.mmsg_messages);
	else
		c->bytes += len;
	return 0;
}

/*
 * Makes on-CPU + blocked + run queue = the call's duration. A running stretch begins and ends on
 * one CPU, so the on-CPU time is exact; an off-CPU stretch begins on one CPU and ends on another,
 * whose clocks may disagree a little (virtual machines): its total is taken as what remains, and
 * only its split between blocked and run queue carries that error.
 */
static __always_inline void settle_call(struct ipcprof_bpf_live *l, __u64 now, __u64 dur)
{
	__u64 run = l->call_run_ns + run_in_call(l, now);
	__u64 off = dur > run ? dur - run : 0;

	if (l->call_runq_ns > off)
		l->call_runq_ns = off;
	l->call_blocked_ns = off - l->call_runq_ns;
}

static __always_inline void add_call(struct ipcprof_kernel_calls *c, long ret, __u64 bytes,
				     struct ipcprof_bpf_live *l, __u64 dur, int timed)
{
	c->calls++;
	if (ret < 0) {
		c->errors++;
		if (ret == -EAGAIN)
			c->eagain++;
	} else {
		c->bytes += bytes;
	}
	if (timed) {
		c->time_ns += dur;
		c->blocked_ns += l->call_blocked_ns;
		c->runq_ns += l->call_runq_ns;
		c->blocks += l->call_blocks;
	}
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	long id = regs->orig_ax;
	struct ipcprof_bpf_live *l;
	struct ipcprof_bpf_tstats *s;
	__u64 now, dur, bytes;
	__u32 fam, kin, kout;
	__s32 tid;

	if (!watched(id))
		return 0;
	tid = (__s32)bpf_get_current_pid_tgid();
	l = bpf_map_lookup_elem(&live, &tid);
	/* Only the exit of the call whose entry was seen (not one followed in mid-call). */
	if (!l || l->call == IPCPROF_BPF_CALL_NONE || l->nr != (__u32)id)
		return 0;
	now = bpf_ktime_get_ns();
	dur = now > l->call_start_ns ? now - l->call_start_ns : 0;
	settle_call(l, now, dur);
	s = thread_figures(l, tid);
	if (!s) {
		count_drop(&dropped.calls);
		l->call = IPCPROF_BPF_CALL_NONE;
		return 0;
	}
	fam = l->family;
	if (l->call == IPCPROF_BPF_CALL_WAIT) {
		if (fam < IPCPROF_KWAIT_COUNT)
			add_call(&s->stats.wait[fam], ret, 0, l, dur, 1);
		l->call = IPCPROF_BPF_CALL_NONE;
		return 0;
	}
	bytes = ret > 0 ? (__u64)ret : 0;
	if (fam == IPCPROF_KFAM_MMSG && ret > 0 && l->mmsg_vec) {
		struct mmsg_ctx c = {.vec = l->mmsg_vec, .n = (__u32)ret};

		bpf_loop(IPCPROF_BPF_MAX_MMSG, mmsg_add, &c, 0);
		bytes = c.bytes;
	}
	kin = l->kind_in;
	kout = l->kind_out;
	if (fam < IPCPROF_KFAM_COUNT) {
		/* A two-fd call's time counts once, on its OUT side. */
		if (kout < IPCPROF_KFD_COUNT)
			add_call(&s->stats.io[kout][IPCPROF_KDIR_OUT][fam], ret, bytes, l, dur, 1);
		if (kin < IPCPROF_KFD_COUNT)
			add_call(&s->stats.io[kin][IPCPROF_KDIR_IN][fam], ret, bytes, l, dur,
				 kout >= IPCPROF_KFD_COUNT);
	}
	l->call = IPCPROF_BPF_CALL_NONE;
	return 0;
}

/* How long a thread about to run has waited for a CPU since it became runnable, from the
 * scheduler's own stamp (rq clock): what sched_wakeup would have told, without a program there. */
static __always_inline __u64 queued_ns(struct task_struct *t)
{
	__u64 q = t->sched_info.last_queued;
	struct cfs_rq *cfs;
	struct rq *rq;
	__u64 clock;

	if (!q)
		return 0;
	/* The run queue of this CPU, which the thread is switched in on (the per-CPU variable
	 * itself is not always a symbol a program may name). */
	cfs = task_view(t)->se.cfs_rq;
	if (!cfs)
		return 0;
	rq = cfs->rq;
	if (!rq)
		return 0;
	clock = rq->clock;
	return clock > q ? clock - q : 0;
}

/* Sched mode, at a switch-out: whether the thread is inside a data or wait call, and which. */
static __always_inline void offcpu_begin(struct ipcprof_bpf_live *l, struct task_struct *t,
					 int preempted, __u64 now)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(t);
	struct call_class c;
	long nr;

	l->off.since_ns = 0;
	if (!regs)
		return;
	/* Exceptions and interrupts leave -1 there: only a syscall's frame has its number. */
	nr = (long)regs->orig_ax;
	if (!classify_call(t, nr, regs->di, regs->si, regs->dx, &c))
		return;
	l->off.wait = c.wait;
	l->off.family = c.family;
	l->off.kind = 0;
	l->off.dir = 0;
	if (!c.wait) {
		/* A two-fd call's time counts once, on its OUT side, as in syscalls mode. */
		if (c.kind_out < IPCPROF_KFD_COUNT) {
			l->off.kind = c.kind_out;
			l->off.dir = IPCPROF_KDIR_OUT;
		} else if (c.kind_in < IPCPROF_KFD_COUNT) {
			l->off.kind = c.kind_in;
			l->off.dir = IPCPROF_KDIR_IN;
		} else {
			return;
		}
	}
	l->off.preempted = preempted;
	l->off.since_ns = now;
}

/* Sched mode, at the switch-in: the stretch off CPU goes to the call's figures. */
static __always_inline void offcpu_end(struct ipcprof_bpf_live *l, __s32 tid, __u64 now,
				       __u64 queued)
{
	struct ipcprof_kernel_calls *c;
	struct ipcprof_bpf_tstats *s;
	__u64 d, q;
	__u32 k = l->off.kind, dir = l->off.dir, fam = l->off.family;

	if (!l->off.since_ns)
		return;
	d = now > l->off.since_ns ? now - l->off.since_ns : 0;
	q = l->off.preempted ? d : (queued < d ? queued : d);
	l->off.since_ns = 0;
	s = thread_figures(l, tid);
	if (!s) {
		count_drop(&dropped.calls);
		return;
	}
	if (l->off.wait) {
		if (fam >= IPCPROF_KWAIT_COUNT)
			return;
		c = &s->stats.wait[fam];
	} else {
		if (k >= IPCPROF_KFD_COUNT || dir >= IPCPROF_KDIR_COUNT ||
		    fam >= IPCPROF_KFAM_COUNT)
			return;
		c = &s->stats.io[k][dir][fam];
	}
	c->blocked_ns += d - q;
	c->runq_ns += q;
	if (!l->off.preempted)
		c->blocks++;
}

/* Sched mode, at the switch-in: a sleep's stretch split into asleep and waiting for a CPU. */
static __always_inline void settle_sleep(struct ipcprof_bpf_live *l, __u64 now, __u64 queued)
{
	__u64 d = now > l->since_ns ? now - l->since_ns : 0;
	__u64 q = queued < d ? queued : d;

	if (l->state != IPCPROF_BPF_BLOCKED)
		return;
	l->blocked_ns += d - q;
	l->runq_ns += q;
	l->state = IPCPROF_BPF_RUNQ;
	l->since_ns = now;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__s32 ptid = prev->pid;
	__s32 ntid = next->pid;
	struct ipcprof_bpf_live *p = bpf_map_lookup_elem(&live, &ptid);
	struct ipcprof_bpf_live *n = bpf_map_lookup_elem(&live, &ntid);
	__u64 now = 0;
	int slept;

	if (p) {
		now = bpf_ktime_get_ns();
		/* Not preempted and no longer TASK_RUNNING: it went to sleep. */
		slept = !preempt && prev_state != 0;
		if (slept) {
			change_state(p, IPCPROF_BPF_BLOCKED, now);
			p->voluntary_switches++;
			if (p->call != IPCPROF_BPF_CALL_NONE)
				p->call_blocks++;
		} else {
			change_state(p, IPCPROF_BPF_RUNQ, now);
			p->involuntary_switches++;
		}
		if (!count_syscalls)
			offcpu_begin(p, prev, !slept, now);
	}
	if (n) {
		if (!now)
			now = bpf_ktime_get_ns();
		if (!count_syscalls) {
			__u64 q = queued_ns(next);

			settle_sleep(n, now, q);
			offcpu_end(n, ntid, now, q);
		}
		change_state(n, IPCPROF_BPF_RUNNING, now);
	}
	return 0;
}

/* The wait for a CPU after a wakeup is not the peer's doing: it counts as run queue time. */
SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup, struct task_struct *p)
{
	__s32 tid = p->pid;
	struct ipcprof_bpf_live *l = bpf_map_lookup_elem(&live, &tid);

	if (l && l->state == IPCPROF_BPF_BLOCKED)
		change_state(l, IPCPROF_BPF_RUNQ, bpf_ktime_get_ns());
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	__s32 ptgid = parent->tgid;
	__s32 ctid = child->pid;
	__s32 ctgid = child->tgid;
	struct ipcprof_bpf_tracked *t = bpf_map_lookup_elem(&tracked, &ptgid);
	struct ipcprof_bpf_live nl = {};
	struct ipcprof_bpf_image *img, *pimg;
	__u64 now;
	__u32 id;

	if (!t)
		return 0;
	now = bpf_ktime_get_ns();
	if (ctgid == ptgid) {
		/* A new thread of a followed process. */
		id = t->image;
		img = bpf_map_lookup_elem(&images, &id);
		if (img)
			__sync_fetch_and_add(&img->threads, 1);
	} else {
		struct ipcprof_bpf_tracked nt = {};

		id = __sync_fetch_and_add(&next_image, 1);
		img = bpf_map_lookup_elem(&images, &id);
		if (!img) {
			count_drop(&dropped.images);
			return 0;
		}
		pimg = bpf_map_lookup_elem(&images, &t->image);
		img->pid = ctgid;
		img->parent_pid = ptgid;
		img->seq = 0;
		img->threads = 1;
		img->start_ns = now;
		BPF_CORE_READ_STR_INTO(&img->comm, child, comm);
		if (pimg)
			__builtin_memcpy(img->exe, pimg->exe, sizeof(img->exe));
		nt.image = id;
		if (bpf_map_update_elem(&tracked, &ctgid, &nt, BPF_ANY)) {
			count_drop(&dropped.images);
			return 0;
		}
		/* The child has its parent's shared mappings (fork copies them all); kept only where
		 * the fault programs run (syscalls mode). */
		if (count_syscalls) {
			__u32 pid_image = t->image;
			struct ipcprof_bpf_ranges *from = bpf_map_lookup_elem(&shared, &pid_image);
			struct ipcprof_bpf_ranges *to = bpf_map_lookup_elem(&shared, &id);

			if (from && to)
				*to = *from;
		}
	}
	nl.image = id;
	nl.tgid = ctgid;
	nl.start_ns = now;
	nl.since_ns = now;
	nl.state = IPCPROF_BPF_RUNQ;
	nl.kind_in = nl.kind_out = IPCPROF_BPF_NO_KIND;
	if (bpf_map_update_elem(&live, &ctid, &nl, BPF_ANY))
		count_drop(&dropped.threads);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sched_process_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__s32 tgid = p->tgid;
	__s32 tid = p->pid;
	__s32 otid = old_pid;
	struct ipcprof_bpf_tracked *t = bpf_map_lookup_elem(&tracked, &tgid);
	struct ipcprof_bpf_image *old, *img;
	struct ipcprof_bpf_live *l;
	__u64 now;
	__u32 id, oid;

	if (!t)
		return 0;
	now = bpf_ktime_get_ns();
	oid = t->image;
	old = bpf_map_lookup_elem(&images, &oid);
	l = bpf_map_lookup_elem(&live, &otid);
	if (l)
		flush_sched(l, otid, now);
	id = __sync_fetch_and_add(&next_image, 1);
	img = bpf_map_lookup_elem(&images, &id);
	if (!img) {
		/* No room for the new image: stop following this process. */
		count_drop(&dropped.images);
		bpf_map_delete_elem(&tracked, &tgid);
		bpf_map_delete_elem(&live, &otid);
		return 0;
	}
	if (old) {
		old->end_ns = now;
		old->end_how = IPCPROF_KEND_EXEC;
		img->parent_pid = old->parent_pid;
	}
	img->pid = tgid;
	img->seq = t->seq + 1;
	img->threads = 1;
	img->start_ns = now;
	BPF_CORE_READ_STR_INTO(&img->comm, p, comm);
	bpf_probe_read_kernel_str(img->exe, sizeof(img->exe), BPF_CORE_READ(bprm, filename));
	t->image = id;
	t->seq = img->seq;
	if (!l)
		return 0;
	l->image = id;
	l->start_ns = now;
	if (otid != tid) {
		/* A thread other than the leader exec'd: it goes on under the leader's tid. */
		struct ipcprof_bpf_live moved = *l;

		bpf_map_delete_elem(&live, &otid);
		if (bpf_map_update_elem(&live, &tid, &moved, BPF_ANY))
			count_drop(&dropped.threads);
	}
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *p)
{
	/* The last thread has counted itself out already (the tracepoint's own group_dead
         * argument is recent: this works on older kernels too). */
	bool group_dead = task_view(p)->signal->live.counter == 0;
	__s32 tid = p->pid;
	__s32 tgid = p->tgid;
	struct ipcprof_bpf_live *l = bpf_map_lookup_elem(&live, &tid);
	struct ipcprof_bpf_tracked *t;
	struct ipcprof_bpf_image *img;
	__u64 now;
	__u32 id;

	if (!l)
		return 0;
	now = bpf_ktime_get_ns();
	flush_sched(l, tid, now);
	bpf_map_delete_elem(&live, &tid);
	if (!group_dead)
		return 0;
	t = bpf_map_lookup_elem(&tracked, &tgid);
	if (!t)
		return 0;
	id = t->image;
	img = bpf_map_lookup_elem(&images, &id);
	if (img) {
		img->end_ns = now;
		img->end_how = IPCPROF_KEND_EXIT;
		img->exit_code = p->exit_code;
	}
	bpf_map_delete_elem(&tracked, &tgid);
	return 0;
}

/* A shared mapping found by bpf_find_vma. */
struct vma_ctx {
	__u64 start;
	__u64 end;
	__u32 kind;
	__u32 page_bytes;
};

static long vma_shared(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct vma_ctx *c = data;
	unsigned long flags = BPF_CORE_READ(vma, vm_flags);
	struct file *f = BPF_CORE_READ(vma, vm_file);
	unsigned long magic;

	if (!(flags & VM_SHARED))
		return 0;
	magic = f ? BPF_CORE_READ(f, f_inode, i_sb, s_magic) : TMPFS_MAGIC;
	c->start = BPF_CORE_READ(vma, vm_start);
	c->end = BPF_CORE_READ(vma, vm_end);
	c->kind = (magic == TMPFS_MAGIC || magic == HUGETLBFS_MAGIC) ? IPCPROF_KFAULT_SHMEM
								     : IPCPROF_KFAULT_SHARED_FILE;
	c->page_bytes = (flags & VM_HUGETLB) ? HUGE_PAGE_BYTES : PAGE_BYTES;
	return 0;
}

/*
 * The walks over an image's ranges are bpf_loop callbacks: the verifier checks a callback once,
 * where it would check an inlined loop once per iteration and per path through it, which took
 * it seconds. Each step looks the image's ranges up again (an array lookup, inlined by the JIT).
 */
struct range_op {
	__u32 img;
	__u32 kind;
	__u32 page_bytes;
	__u32 slot;
	__u64 a;
	__u64 b;
	/* the upper part of a range split by a removal */
	__u64 up_start;
	__u64 up_end;
	__u32 up_kind;
	__u32 up_page;
};

static __always_inline __u32 ranges_count(struct ipcprof_bpf_ranges *rs)
{
	__u32 n = rs->n;

	return n < IPCPROF_BPF_MAX_RANGES ? n : IPCPROF_BPF_MAX_RANGES;
}

static long free_slot_cb(__u32 i, void *data)
{
	struct range_op *o = data;
	struct ipcprof_bpf_ranges *rs = bpf_map_lookup_elem(&shared, &o->img);

	if (!rs || i >= IPCPROF_BPF_MAX_RANGES)
		return 1;
	if (rs->r[i].end)
		return 0;
	o->slot = i;
	return 1;
}

/* Keeps [start, end) in a free slot (or counts it lost when the table is full). */
static void ranges_put(__u32 img, __u64 start, __u64 end, __u32 kind, __u32 page_bytes)
{
	struct range_op o = {.img = img, .slot = IPCPROF_BPF_MAX_RANGES};
	struct ipcprof_bpf_ranges *rs = bpf_map_lookup_elem(&shared, &img);
	__u32 n, slot;

	if (!rs)
		return;
	n = ranges_count(rs);
	bpf_loop(n, free_slot_cb, &o, 0);
	slot = o.slot;
	if (slot >= IPCPROF_BPF_MAX_RANGES) {
		if (n >= IPCPROF_BPF_MAX_RANGES) {
			count_drop(&dropped.fault_lookups);
			return;
		}
		slot = n;
		rs->n = n + 1;
	}
	slot &= IPCPROF_BPF_MAX_RANGES - 1;
	if (!rs->lo || start < rs->lo)
		rs->lo = start;
	if (end > rs->hi)
		rs->hi = end;
	rs->r[slot].start = start;
	rs->r[slot].kind = kind;
	rs->r[slot].page_bytes = page_bytes;
	rs->r[slot].end = end;
}

static long remove_cb(__u32 i, void *data)
{
	struct range_op *o = data;
	struct ipcprof_bpf_ranges *rs = bpf_map_lookup_elem(&shared, &o->img);
	struct ipcprof_bpf_range *r;
	__u64 s, e;

	if (!rs || i >= IPCPROF_BPF_MAX_RANGES)
		return 1;
	r = &rs->r[i];
	s = r->start;
	e = r->end;
	if (!e || e <= o->a || s >= o->b)
		return 0;
	if (s >= o->a && e <= o->b) {
		r->end = 0;
	} else if (s < o->a && e > o->b) {
		/* Ranges never overlap: only one can hold [a, b) strictly. */
		o->up_start = o->b;
		o->up_end = e;
		o->up_kind = r->kind;
		o->up_page = r->page_bytes;
		r->end = o->a;
	} else if (s < o->a) {
		r->end = o->a;
	} else {
		r->start = o->b;
	}
	return 0;
}

/* Forgets [a, b) of the image's shared mappings: whole ones, the ends of others, or a middle
 * (a split: the upper part takes a free slot). */
static void ranges_remove(__u32 img, __u64 a, __u64 b)
{
	struct range_op o = {.img = img, .a = a, .b = b};
	struct ipcprof_bpf_ranges *rs = bpf_map_lookup_elem(&shared, &img);

	if (!rs)
		return;
	bpf_loop(ranges_count(rs), remove_cb, &o, 0);
	if (o.up_end)
		ranges_put(img, o.up_start, o.up_end, o.up_kind, o.up_page);
}

/* Finds the range holding address a: its kind and page size into o (slot < MAX when found). */
static long find_cb(__u32 i, void *data)
{
	struct range_op *o = data;
	struct ipcprof_bpf_ranges *rs = bpf_map_lookup_elem(&shared, &o->img);
	struct ipcprof_bpf_range *r;

	if (!rs || i >= IPCPROF_BPF_MAX_RANGES)
		return 1;
	r = &rs->r[i];
	/* [a, b) meets the range: for a fault, b = a + 1 */
	if (!r->end || r->end <= o->a || r->start >= o->b)
		return 0;
	o->slot = i;
	o->kind = r->kind;
	o->page_bytes = r->page_bytes;
	return 1;
}

/* Notes an address where a mapping call may have made a shared mapping. */
static void ranges_pend(struct ipcprof_bpf_ranges *rs, __u64 addr)
{
	__u32 n;

	if (!addr || addr > -(__u64)MAX_ERRNO - 1)
		return;
	n = rs->npending;
	if (n >= IPCPROF_BPF_MAX_PENDING) {
		count_drop(&dropped.fault_lookups);
		return;
	}
	rs->pending[n & (IPCPROF_BPF_MAX_PENDING - 1)] = addr;
	rs->npending = n + 1;
}

/*
 * Looks the pending addresses up: one bpf_find_vma per mapping made, never per fault. Interrupts
 * are off at the fault tracepoints, so the helper's unlock goes through irq_work: that costs some
 * microseconds, once. An address whose lookup was refused (the mmap lock busy) stays pending.
 */
struct resolve_ctx {
	__u32 img;
	__u32 busy;
};

/* A bpf_loop callback, as the range walks are: checked once, not once per pending slot. */
static long resolve_cb(__u32 i, void *data)
{
	struct resolve_ctx *o = data;
	struct ipcprof_bpf_ranges *rs = bpf_map_lookup_elem(&shared, &o->img);
	struct vma_ctx c = {};
	__u64 addr;
	long r;

	if (!rs || i >= IPCPROF_BPF_MAX_PENDING)
		return 1;
	addr = rs->pending[i];
	if (!addr)
		return 0;
	r = bpf_find_vma(bpf_get_current_task_btf(), addr, vma_shared, &c, 0);
	if (r == -EBUSY) {
		o->busy = 1;
		return 0;
	}
	rs->pending[i] = 0;
	if (!r && c.end) {
		ranges_remove(o->img, c.start, c.end);
		ranges_put(o->img, c.start, c.end, c.kind, c.page_bytes);
	}
	return 0;
}

static void ranges_resolve(__u32 img)
{
	struct resolve_ctx o = {.img = img};
	struct ipcprof_bpf_ranges *rs;

	bpf_loop(IPCPROF_BPF_MAX_PENDING, resolve_cb, &o, 0);
	rs = bpf_map_lookup_elem(&shared, &img);
	if (rs && !o.busy)
		rs->npending = 0;
}

/* The address the kernel picked for a new mapping (mmap, mremap, shmat without a fixed one): it
 * may differ from the syscall's hint, which is all the registers say. */
SEC("tp_btf/vm_unmapped_area")
int BPF_PROG(vm_unmapped_area, unsigned long addr, struct vm_unmapped_area_info *info)
{
	__s32 tid = (__s32)bpf_get_current_pid_tgid();
	struct ipcprof_bpf_live *l = bpf_map_lookup_elem(&live, &tid);

	if (l)
		l->unmapped_area = addr;
	return 0;
}

/*
 * The mapping calls end by releasing the mmap lock: the mappings are made, moved or gone by then
 * (the lock itself is still held: no lookup here). Their arguments are the syscall's, from the
 * thread's registers; only shared mappings are kept, so private ones cost nothing more.
 */
SEC("tp_btf/mmap_lock_released")
int BPF_PROG(mmap_lock_released, struct mm_struct *mm, bool write)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ipcprof_bpf_ranges *rs;
	struct ipcprof_bpf_live *l;
	struct pt_regs *regs;
	__u64 a0, a1, a2, a3, a4, len, cand;
	__s32 tid;
	__u32 img;
	long nr;

	if (task_view(task)->mm != mm)
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs)
		return 0;
	nr = (long)regs->orig_ax;
	if (nr != NR_mmap && nr != NR_munmap && nr != NR_mremap && nr != NR_shmat && nr != NR_shmdt)
		return 0;
	tid = (__s32)bpf_get_current_pid_tgid();
	l = bpf_map_lookup_elem(&live, &tid);
	if (!l)
		return 0;
	img = l->image;
	rs = bpf_map_lookup_elem(&shared, &img);
	if (!rs)
		return 0;
	a0 = regs->di;
	a1 = regs->si;
	a2 = regs->dx;
	a3 = regs->r10;
	a4 = regs->r8;
	cand = l->unmapped_area;
	l->unmapped_area = 0;
	switch (nr) {
	case NR_munmap:
		ranges_remove(img, a0, a0 + ((a1 + PAGE_BYTES - 1) & ~(PAGE_BYTES - 1)));
		break;
	case NR_mmap:
		len = (a1 + PAGE_BYTES - 1) & ~(PAGE_BYTES - 1);
		if (a3 & MAP_FIXED)
			ranges_remove(img, a0, a0 + len);
		if ((a3 & MAP_TYPE) != MAP_SHARED && (a3 & MAP_TYPE) != MAP_SHARED_VALID)
			break;
		/* Where the kernel put it: its pick, that pick's end (moved up to align a huge
		 * page), or the address asked for (fixed, or a free hint). */
		ranges_pend(rs, cand);
		if (cand && len)
			ranges_pend(rs, cand + len - 1);
		ranges_pend(rs, a0);
		break;
	case NR_mremap:
		/* Private mappings moving (realloc) leave at the first test, unless a new mapping
		 * is still to be looked up: it may be the one moving, before any fault of ours. */
		{
			struct range_op o = {
			    .img = img, .a = a0, .b = a0 + a1, .slot = IPCPROF_BPF_MAX_RANGES};

			bpf_loop(ranges_count(rs), find_cb, &o, 0);
			if (o.slot >= IPCPROF_BPF_MAX_RANGES && !rs->npending)
				break;
		}
		ranges_remove(img, a0, a0 + ((a1 + PAGE_BYTES - 1) & ~(PAGE_BYTES - 1)));
		ranges_pend(rs, cand);
		if (a3 & MREMAP_FIXED)
			ranges_pend(rs, a4);
		ranges_pend(rs, a0);
		break;
	case NR_shmat:
		ranges_pend(rs, cand);
		ranges_pend(rs, (a2 & SHM_RND) ? a1 & ~(PAGE_BYTES - 1) : a1);
		break;
	case NR_shmdt:
		/* The segment attached there: its first page tells which range it is. */
		ranges_remove(img, a0, a0 + PAGE_BYTES);
		break;
	default:
		break;
	}
	return 0;
}

/* A fault's kind by its address among the image's shared mappings: no lookup of the mapping. */
static __always_inline void count_fault(unsigned long address, unsigned long error_code)
{
	__s32 tid = (__s32)bpf_get_current_pid_tgid();
	struct ipcprof_kernel_faults *fc;
	struct ipcprof_bpf_ranges *rs;
	struct ipcprof_bpf_live *l;
	__u32 img, kind = IPCPROF_KFAULT_OTHER;
	__u64 bytes = PAGE_BYTES;

	/* Kernel addresses have the top bit set: those are not the process's memory. */
	if ((long)address < 0)
		return;
	l = bpf_map_lookup_elem(&live, &tid);
	if (!l)
		return;
	img = l->image;
	rs = bpf_map_lookup_elem(&shared, &img);
	if (rs) {
		if (rs->npending) {
			ranges_resolve(img);
			rs = bpf_map_lookup_elem(&shared, &img);
		}
		/* Most faults are in private memory far from every shared mapping: no walk. */
		if (rs && rs->n && address >= rs->lo && address < rs->hi) {
			struct range_op o = {.img = img,
					     .a = address,
					     .b = address + 1,
					     .slot = IPCPROF_BPF_MAX_RANGES};

			bpf_loop(ranges_count(rs), find_cb, &o, 0);
			if (o.slot < IPCPROF_BPF_MAX_RANGES) {
				kind = o.kind;
				bytes = o.page_bytes;
			}
		}
	}
	if (kind >= IPCPROF_KFAULT_COUNT)
		return;
	fc = &l->faults[kind];
	fc->faults++;
	fc->bytes += bytes;
	if (error_code & X86_PF_WRITE)
		fc->write_faults++;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(page_fault_user, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	count_fault(address, error_code);
	return 0;
}

/* The kernel faulting on user memory, for instance while copying a write()'s buffer. */
SEC("tp_btf/page_fault_kernel")
int BPF_PROG(page_fault_kernel, unsigned long address, struct pt_regs *regs,
	     unsigned long error_code)
{
	count_fault(address, error_code);
	return 0;
}
