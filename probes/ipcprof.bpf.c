/* The probes' kernel side: bytes, waits and page faults of a followed process tree. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "ipcprof_bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Kernel 6.2 and later: makes a typed pointer of an address read from memory. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

/*
 * Only tp_btf programs: they attach by name with nothing mounted, and fentry/kprobes are not
 * available everywhere (lockdown refuses fentry, some kernels lack kprobes). The syscall numbers
 * are x86-64's; the meson build only builds the probes there.
 */
#define NR_read         0
#define NR_write        1
#define NR_poll         7
#define NR_pread64      17
#define NR_pwrite64     18
#define NR_readv        19
#define NR_writev       20
#define NR_select       23
#define NR_sendfile     40
#define NR_sendto       44
#define NR_recvfrom     45
#define NR_sendmsg      46
#define NR_recvmsg      47
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
	s->end_ns = now;
	bpf_get_current_comm(s->comm, sizeof(s->comm));
	l->run_ns = l->blocked_ns = l->runq_ns = 0;
	l->voluntary_switches = l->involuntary_switches = 0;
}

static __always_inline __u8 fd_kind(struct task_struct *task, long fd, struct file **filep)
{
	struct files_struct *files = task->files;
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
	f = bpf_rdonly_cast(f, bpf_core_type_id_kernel(struct file));
	*filep = f;
	inode = f->f_inode;
	if (!inode)
		return IPCPROF_KFD_OTHER;
	mode = inode->i_mode & S_IFMT;
	if (mode == S_IFIFO)
		return inode->i_sb->s_magic == PIPEFS_MAGIC ? IPCPROF_KFD_PIPE : IPCPROF_KFD_FIFO;
	if (mode == S_IFSOCK) {
		struct socket *sock =
		    bpf_rdonly_cast(f->private_data, bpf_core_type_id_kernel(struct socket));
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

/* Whether a call is one the probes time: checked before anything else is read. */
static __always_inline int watched(long id)
{
	switch (id) {
	case NR_read:
	case NR_write:
	case NR_poll:
	case NR_pread64:
	case NR_pwrite64:
	case NR_readv:
	case NR_writev:
	case NR_select:
	case NR_sendfile:
	case NR_sendto:
	case NR_recvfrom:
	case NR_sendmsg:
	case NR_recvmsg:
	case NR_futex:
	case NR_epoll_wait:
	case NR_pselect6:
	case NR_ppoll:
	case NR_splice:
	case NR_tee:
	case NR_vmsplice:
	case NR_epoll_pwait:
	case NR_preadv:
	case NR_pwritev:
	case NR_recvmmsg:
	case NR_sendmmsg:
	case NR_preadv2:
	case NR_pwritev2:
	case NR_epoll_pwait2:
	case NR_futex_waitv:
		return 1;
	default:
		return 0;
	}
}

static __always_inline void begin_io(struct ipcprof_bpf_live *l, __u8 family, __u8 kin, __u8 kout,
				     __u64 now)
{
	l->call = IPCPROF_BPF_CALL_IO;
	l->family = family;
	l->kind_in = kin;
	l->kind_out = kout;
	l->call_start_ns = now;
	l->call_blocked_ns = l->call_runq_ns = l->call_blocks = l->call_run_ns = 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	struct ipcprof_bpf_live *l;
	struct task_struct *task;
	struct file *f;
	__s32 tid;
	__u64 now;
	long a0, a1, a2;
	__u8 k;

	/* Every syscall of the machine comes here: most leave on their number alone. */
	if (id > NR_LAST || !watched(id))
		return 0;
	tid = (__s32)bpf_get_current_pid_tgid();
	l = bpf_map_lookup_elem(&live, &tid);
	if (!l)
		return 0;
	l->call = IPCPROF_BPF_CALL_NONE;
	l->nr = (__u32)id;
	task = bpf_get_current_task_btf();
	a0 = regs->di;
	a1 = regs->si;
	a2 = regs->dx;
	now = bpf_ktime_get_ns();
	l->mmsg_vec = 0;
	switch (id) {
	case NR_read:
	case NR_pread64:
		begin_io(l, IPCPROF_KFAM_RW, fd_kind(task, a0, &f), IPCPROF_BPF_NO_KIND, now);
		break;
	case NR_write:
	case NR_pwrite64:
		begin_io(l, IPCPROF_KFAM_RW, IPCPROF_BPF_NO_KIND, fd_kind(task, a0, &f), now);
		break;
	case NR_readv:
	case NR_preadv:
	case NR_preadv2:
		begin_io(l, IPCPROF_KFAM_VEC, fd_kind(task, a0, &f), IPCPROF_BPF_NO_KIND, now);
		break;
	case NR_writev:
	case NR_pwritev:
	case NR_pwritev2:
		begin_io(l, IPCPROF_KFAM_VEC, IPCPROF_BPF_NO_KIND, fd_kind(task, a0, &f), now);
		break;
	case NR_recvfrom:
	case NR_recvmsg:
		begin_io(l, IPCPROF_KFAM_MSG, fd_kind(task, a0, &f), IPCPROF_BPF_NO_KIND, now);
		break;
	case NR_sendto:
	case NR_sendmsg:
		begin_io(l, IPCPROF_KFAM_MSG, IPCPROF_BPF_NO_KIND, fd_kind(task, a0, &f), now);
		break;
	case NR_recvmmsg:
		begin_io(l, IPCPROF_KFAM_MMSG, fd_kind(task, a0, &f), IPCPROF_BPF_NO_KIND, now);
		l->mmsg_vec = a1;
		break;
	case NR_sendmmsg:
		begin_io(l, IPCPROF_KFAM_MMSG, IPCPROF_BPF_NO_KIND, fd_kind(task, a0, &f), now);
		l->mmsg_vec = a1;
		break;
	case NR_splice:
		k = fd_kind(task, a0, &f);
		begin_io(l, IPCPROF_KFAM_SPLICE, k, fd_kind(task, a2, &f), now);
		break;
	case NR_tee:
		/* tee copies without consuming its source: nothing is read from it. */
		begin_io(l, IPCPROF_KFAM_SPLICE, IPCPROF_BPF_NO_KIND, fd_kind(task, a1, &f), now);
		break;
	case NR_vmsplice:
		k = fd_kind(task, a0, &f);
		if (f && (f->f_mode & FMODE_WRITE))
			begin_io(l, IPCPROF_KFAM_SPLICE, IPCPROF_BPF_NO_KIND, k, now);
		else
			begin_io(l, IPCPROF_KFAM_SPLICE, k, IPCPROF_BPF_NO_KIND, now);
		break;
	case NR_sendfile:
		k = fd_kind(task, a1, &f);
		begin_io(l, IPCPROF_KFAM_SENDFILE, k, fd_kind(task, a0, &f), now);
		break;
	case NR_poll:
	case NR_ppoll:
	case NR_select:
	case NR_pselect6:
	case NR_epoll_wait:
	case NR_epoll_pwait:
	case NR_epoll_pwait2:
		begin_io(l, IPCPROF_KWAIT_POLL, IPCPROF_BPF_NO_KIND, IPCPROF_BPF_NO_KIND, now);
		l->call = IPCPROF_BPF_CALL_WAIT;
		break;
	case NR_futex:
	case NR_futex_waitv:
		begin_io(l, IPCPROF_KWAIT_FUTEX, IPCPROF_BPF_NO_KIND, IPCPROF_BPF_NO_KIND, now);
		l->call = IPCPROF_BPF_CALL_WAIT;
		break;
	default:
		break;
	}
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

	if (id > NR_LAST || !watched(id))
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

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__s32 ptid = prev->pid;
	__s32 ntid = next->pid;
	struct ipcprof_bpf_live *p = bpf_map_lookup_elem(&live, &ptid);
	struct ipcprof_bpf_live *n = bpf_map_lookup_elem(&live, &ntid);
	__u64 now = 0;

	if (p) {
		now = bpf_ktime_get_ns();
		/* Not preempted and no longer TASK_RUNNING: it went to sleep. */
		if (!preempt && prev_state != 0) {
			change_state(p, IPCPROF_BPF_BLOCKED, now);
			p->voluntary_switches++;
			if (p->call != IPCPROF_BPF_CALL_NONE)
				p->call_blocks++;
		} else {
			change_state(p, IPCPROF_BPF_RUNQ, now);
			p->involuntary_switches++;
		}
	}
	if (n)
		change_state(n, IPCPROF_BPF_RUNNING, now ? now : bpf_ktime_get_ns());
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
	bool group_dead = p->signal->live.counter == 0;
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

struct vma_ctx {
	__u32 kind;
	__u64 bytes;
};

static long vma_kind(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct vma_ctx *c = data;
	unsigned long flags = BPF_CORE_READ(vma, vm_flags);
	struct file *f = BPF_CORE_READ(vma, vm_file);

	c->bytes = (flags & VM_HUGETLB) ? HUGE_PAGE_BYTES : PAGE_BYTES;
	if (flags & VM_SHARED) {
		unsigned long magic = f ? BPF_CORE_READ(f, f_inode, i_sb, s_magic) : TMPFS_MAGIC;

		c->kind = (magic == TMPFS_MAGIC || magic == HUGETLBFS_MAGIC)
			      ? IPCPROF_KFAULT_SHMEM
			      : IPCPROF_KFAULT_SHARED_FILE;
	} else {
		c->kind = f ? IPCPROF_KFAULT_PRIVATE_FILE : IPCPROF_KFAULT_PRIVATE_ANON;
	}
	return 0;
}

static __always_inline void count_fault(unsigned long address, unsigned long error_code)
{
	__s32 tid = (__s32)bpf_get_current_pid_tgid();
	struct ipcprof_bpf_live *l;
	struct ipcprof_bpf_tstats *s;
	struct ipcprof_kernel_faults *fc;
	struct vma_ctx c = {.kind = IPCPROF_KFAULT_UNKNOWN, .bytes = PAGE_BYTES};
	long r;

	/* Kernel addresses have the top bit set: those are not the process's memory. */
	if ((long)address < 0)
		return;
	l = bpf_map_lookup_elem(&live, &tid);
	if (!l)
		return;
	/* -ENOENT: no mapping there (the fault will be a SIGSEGV); anything else: not looked up. */
	r = bpf_find_vma(bpf_get_current_task_btf(), address, vma_kind, &c, 0);
	if (r && r != -ENOENT)
		count_drop(&dropped.fault_lookups);
	s = thread_figures(l, tid);
	if (!s)
		return;
	if (c.kind >= IPCPROF_KFAULT_COUNT)
		return;
	fc = &s->stats.faults[c.kind];
	fc->faults++;
	fc->bytes += c.bytes;
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
