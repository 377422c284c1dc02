/* Python frames: the CPython frames a thread is running, read from the interpreter's memory. */
#include <dlfcn.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "preload.h"
#include "pylayout.h"
#include "sys.h"

/*
 * Everything is read with process_vm_readv on this process, which fails with EFAULT where a load
 * would fault: a frame being pushed or popped under the reader gives a wrong frame at worst, never
 * a crash. Nothing here takes the GIL or calls into CPython, so it runs in the sampler's signal
 * handler and on threads without the GIL.
 */
#define CODE_SLOTS   8192 /* distinct code objects whose names an image keeps */
#define CODE_PROBES  16
#define MAX_PYDEPTH  IPCPROF_SAMPLE_DEPTH
#define NAME_MAX_    512  /* bytes kept of a function's qualified name */
#define FILE_MAX_    1024 /* and of its file's */
#define LINES_MAX_   65536
#define FRAME_BYTES  80  /* of a _PyInterpreterFrame: the fields read lie below */
#define TSTATE_BYTES 176 /* of a PyThreadState */

static const struct ipcprof_pylayout *L;
static uint64_t runtime;          /* &_PyRuntime */
static uint64_t code_type;        /* &PyCode_Type */
static uint64_t eval_lo, eval_hi; /* _PyEval_EvalFrameDefault */
static uint64_t interp_lo, interp_hi;
static uint32_t py_version;
static pid_t self_pid; /* set by every walk: a fork child's first walk finds its own */
/*
 * Code objects whose names this image has put in its record: per slot the code object's address,
 * then its identity's hash (high 32 bits) and its entry's id (low 32 bits: offset / 8 + 1 in the
 * sample area). A code object freed and another made at its address has another identity (name,
 * file and first line as pointers and number), so it gets an entry of its own. A fork child, which
 * has a record of its own, gets the slots zeroed by the kernel (MADV_WIPEONFORK).
 */
struct code_slot {
	_Atomic uint64_t code;
	_Atomic uint64_t id;
};
static struct code_slot *codes;
static bool codes_wiped;
static IPCPROF_TLS uint64_t thread_ts;     /* the calling thread's PyThreadState, as last found */
static IPCPROF_TLS uint32_t thread_misses; /* searches that found none, since the last found */
#define MISS_RETRY 16
static uint64_t main_ts; /* the main thread's PyThreadState, as last found (atomic access) */

static bool peek(void *dst, uint64_t addr, size_t n)
{
	struct iovec l = {dst, n}, r = {(void *)(uintptr_t)addr, n};
	return addr && sys_call(SYS_process_vm_readv, self_pid, &l, 1, &r, 1, 0) == (long)n;
}

static uint64_t u64_at(const unsigned char *p, unsigned off)
{
	uint64_t v;
	memcpy(&v, p + off, sizeof(v));
	return v;
}

/* ---- finding the interpreter ---- */

struct range_find {
	uint64_t addr, lo, hi;
};

static int module_of(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct range_find *f = arg;
	uint64_t lo = UINT64_MAX, hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uint64_t a = info->dlpi_addr + ph->p_vaddr;
		if (a < lo)
			lo = a;
		if (a + ph->p_memsz > hi)
			hi = a + ph->p_memsz;
	}
	if (f->addr >= lo && f->addr < hi) {
		f->lo = lo;
		f->hi = hi;
		return 1;
	}
	return 0;
}

static void code_set_make(void)
{
	void *m = sys_mmap(NULL, CODE_SLOTS * sizeof(struct code_slot), PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if ((long)m < 0 && (long)m > -4096)
		return;
	codes = m;
	codes_wiped = sys_madvise(m, CODE_SLOTS * sizeof(struct code_slot), MADV_WIPEONFORK) == 0;
}

static void record_state(struct ipcprof_record *r, uint32_t state, uint32_t version)
{
	r->py.state = state;
	r->py.version = version;
	r->py.runtime = runtime;
	r->py.interp_start = interp_lo;
	r->py.interp_end = interp_hi;
}

/* Whether the offsets 3.13 publishes (see IPCPROF_PYDEBUG313) are the table's. */
static bool debug_offsets_agree(void)
{
	unsigned char d[IPCPROF_PYDEBUG_BYTES];
	if (!peek(d, runtime, sizeof(d)) || memcmp(d, "xdebugpy", 8) != 0)
		return false;
		/* Where 3.13 publishes each offset, and the table's offset. */
#define PAIR(field, at) {at, L->field},
	const uint16_t pairs[][2] = {IPCPROF_PYDEBUG313(PAIR)};
#undef PAIR
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		if (u64_at(d, pairs[i][0]) != pairs[i][1])
			return false;
	return true;
}

void ipcprof_py_init(struct ipcprof_record *r)
{
	void *rt = dlsym(RTLD_DEFAULT, "_PyRuntime");
	if (!rt)
		return; /* not a Python process */
	runtime = (uint64_t)(uintptr_t)rt;
	const int *ver = dlsym(RTLD_DEFAULT, "Py_Version"); /* 3.11 and later */
	uint32_t v = ver ? (uint32_t)*ver : 0;
	for (size_t i = 0; i < sizeof(ipcprof_pylayouts) / sizeof(ipcprof_pylayouts[0]); i++)
		if (v >> 24 == 3 && (v >> 16 & 0xff) == ipcprof_pylayouts[i].minor)
			L = &ipcprof_pylayouts[i];
	void *ct = dlsym(RTLD_DEFAULT, "PyCode_Type");
	void *ev = dlsym(RTLD_DEFAULT, "_PyEval_EvalFrameDefault");
	const ElfW(Sym) *sym = NULL;
	Dl_info di;
	if (ev && dladdr1(ev, &di, (void **)&sym, RTLD_DL_SYMENT) && sym) {
		eval_lo = (uint64_t)(uintptr_t)ev;
		eval_hi = eval_lo + sym->st_size;
	}
	struct range_find f = {runtime, 0, 0};
	dl_iterate_phdr(module_of, &f);
	interp_lo = f.lo;
	interp_hi = f.hi;
	self_pid = sys_getpid();
	bool layout_ok = L && (L->minor != 13 || debug_offsets_agree());
	if (L && ct && layout_ok)
		code_set_make();
	py_version = v;
	if (!L || !ct || !codes || !layout_ok) {
		bool known = L != NULL;
		L = NULL;
		record_state(r, IPCPROF_PY_UNSUPPORTED, v);
		if (known && !layout_ok)
			ipcprof_warn_once(
			    IPCPROF_WARN_PYTHON,
			    "Python %u.%u.%u's layout is not the one ipcprof knows (its "
			    "_Py_DebugOffsets say so): its stacks show C frames only",
			    v >> 24, v >> 16 & 0xff, v >> 8 & 0xff);
		else if (!v) /* Py_Version came with 3.11 */
			ipcprof_warn_once(IPCPROF_WARN_PYTHON,
					  "Python before 3.11 is not supported: its stacks show C "
					  "frames only");
		else
			ipcprof_warn_once(
			    IPCPROF_WARN_PYTHON,
			    "Python %u.%u is not supported: its stacks show C frames only", v >> 24,
			    v >> 16 & 0xff);
		return;
	}
	code_type = (uint64_t)(uintptr_t)ct;
	record_state(r, IPCPROF_PY_ON, v);
}

void ipcprof_py_after_fork(struct ipcprof_record *r)
{
	if (thread_ts)
		thread_ts = 0;
	if (thread_misses)
		thread_misses = 0;
	if (main_ts)
		__atomic_store_n(&main_ts, 0, __ATOMIC_RELAXED);
	if (!runtime || !r)
		return;
	if (!L) {
		record_state(r, IPCPROF_PY_UNSUPPORTED, py_version);
		return;
	}
	if (!codes_wiped)
		sys_madvise(codes, CODE_SLOTS * sizeof(struct code_slot), MADV_DONTNEED);
	record_state(r, IPCPROF_PY_ON, py_version);
}

/* ---- code objects ---- */

static void put_utf8(char *out, int *n, int room, uint32_t c)
{
	char b[4];
	int k;
	if (c < 0x80) {
		b[0] = (char)c;
		k = 1;
	} else if (c < 0x800) {
		b[0] = (char)(0xc0 | c >> 6);
		b[1] = (char)(0x80 | (c & 0x3f));
		k = 2;
	} else if (c < 0x10000) {
		b[0] = (char)(0xe0 | c >> 12);
		b[1] = (char)(0x80 | (c >> 6 & 0x3f));
		b[2] = (char)(0x80 | (c & 0x3f));
		k = 3;
	} else {
		b[0] = (char)(0xf0 | (c >> 18 & 0x07));
		b[1] = (char)(0x80 | (c >> 12 & 0x3f));
		b[2] = (char)(0x80 | (c >> 6 & 0x3f));
		b[3] = (char)(0x80 | (c & 0x3f));
		k = 4;
	}
	if (*n + k > room)
		return;
	memcpy(out + *n, b, (size_t)k);
	*n += k;
}

/* The UTF-8 of the compact str at addr, at most room bytes (cut at a character); -1 when it is
 * not one. */
static int read_str(uint64_t addr, char *out, int room)
{
	unsigned char h[80];
	if (!peek(h, addr, L->compact_size))
		return -1;
	int64_t len = (int64_t)u64_at(h, 16);
	uint32_t state;
	memcpy(&state, h + 32, sizeof(state));
	unsigned kind = state >> 2 & 7, compact = state >> 5 & 1, ascii = state >> 6 & 1;
	if (!compact || len < 0 || (kind != 1 && kind != 2 && kind != 4))
		return -1;
	uint64_t data = addr + (ascii ? L->ascii_size : L->compact_size);
	if (ascii) {
		int n = len < room ? (int)len : room;
		return n == 0 || peek(out, data, (size_t)n) ? n : -1;
	}
	int n = 0;
	unsigned char chunk[256];
	for (int64_t at = 0; at < len && n + 4 <= room;) {
		int64_t k = (int64_t)(sizeof(chunk) / kind);
		if (k > len - at)
			k = len - at;
		if (!peek(chunk, data + (uint64_t)at * kind, (size_t)k * kind))
			return -1;
		for (int64_t i = 0; i < k; i++) {
			uint32_t c =
			    kind == 1   ? chunk[i]
			    : kind == 2 ? (uint32_t)chunk[2 * i] | (uint32_t)chunk[2 * i + 1] << 8
					: (uint32_t)chunk[4 * i] | (uint32_t)chunk[4 * i + 1] << 8 |
					      (uint32_t)chunk[4 * i + 2] << 16 |
					      (uint32_t)chunk[4 * i + 3] << 24;
			put_utf8((char *)out, &n, room, c);
		}
		at += k;
	}
	return n;
}

/* Copies what the report needs of the code object at code into the sample area; its entry's id,
 * 0 when it could not be copied. */
static uint32_t code_copy(uint64_t code)
{
	unsigned char co[256];
	if (L->co_code > sizeof(co) || !peek(co, code, L->co_code) || u64_at(co, 8) != code_type)
		return 0;
	char name[NAME_MAX_], file[FILE_MAX_]; /* not static: a signal may nest a copy here */
	int nl = read_str(u64_at(co, L->co_qualname), name, NAME_MAX_);
	int fl = read_str(u64_at(co, L->co_filename), file, FILE_MAX_);
	uint64_t lt = u64_at(co, L->co_linetable);
	unsigned char bh[32];
	if (nl < 0 || fl < 0 || !peek(bh, lt, sizeof(bh)))
		return 0;
	int64_t ll = (int64_t)u64_at(bh, 16);
	if (ll < 0)
		return 0;
	if (ll > LINES_MAX_)
		ll = LINES_MAX_; /* the lines of the later instructions are not known */
	uint64_t size =
	    (sizeof(struct ipcprof_pycode) + (uint64_t)nl + (uint64_t)fl + (uint64_t)ll + 7) &
	    ~(uint64_t)7;
	struct ipcprof_record *r = ipcprof_rec;
	struct ipcprof_pycode *e = ipcprof_sample_area_take(size);
	if (!e || !r)
		return 0;
	e->size = (uint32_t)size;
	e->code = code;
	int32_t first;
	memcpy(&first, co + L->co_firstlineno, sizeof(first));
	e->firstlineno = first;
	e->qualname_len = (uint16_t)nl;
	e->filename_len = (uint16_t)fl;
	int32_t ft;
	memcpy(&ft, co + L->co_firsttraceable, sizeof(ft));
	e->firsttraceable = ft > 0 ? (uint32_t)ft : 0;
	memcpy(e->data, name, (size_t)nl);
	memcpy(e->data + nl, file, (size_t)fl);
	if (ll && !peek(e->data + nl + fl, lt + 32, (size_t)ll))
		ll = 0;
	e->linetable_len = (uint32_t)ll;
	__atomic_store_n(&e->magic, IPCPROF_PYCODE_MAGIC, __ATOMIC_RELEASE);
	return (uint32_t)(((char *)e - ((char *)r + r->prof.area_offset)) / 8 + 1);
}

/* What tells code objects at one address apart: the name, file and first line a code object has
 * from its making to its end, read from CO_ID_AT to CO_ID_END (see identity()). */
#define CO_ID_AT  64
#define CO_ID_END 136

static uint32_t identity(const unsigned char *id)
{
	int32_t first;
	memcpy(&first, id + L->co_firstlineno - CO_ID_AT, sizeof(first));
	uint64_t h = (uint64_t)(uint32_t)first * 0x9e3779b97f4a7c15ull;
	h = (h ^ u64_at(id, L->co_filename - CO_ID_AT)) * 0x100000001b3ull;
	h = (h ^ u64_at(id, L->co_qualname - CO_ID_AT)) * 0x100000001b3ull;
	h ^= h >> 32;
	return (uint32_t)h | 1;
}

static void count(bool copied)
{
	struct ipcprof_record *r = ipcprof_rec;
	if (r)
		__atomic_fetch_add(copied ? &r->py.codes : &r->py.codes_dropped, 1,
				   __ATOMIC_RELAXED);
}

/*
 * The id of the entry that names the code object at code, whose identity fields are id; the
 * object is copied into the record the first time it is seen. 0 when it is not known: another
 * thread is copying it, or there is no room.
 */
static uint32_t code_entry(uint64_t code, const unsigned char *id)
{
	uint32_t ident = identity(id);
	uint64_t h = (code >> 3) * 0x9e3779b97f4a7c15ull;
	for (uint32_t k = 0; k < CODE_PROBES; k++) {
		struct code_slot *slot = &codes[((h >> 40) + k) & (CODE_SLOTS - 1)];
		uint64_t c = atomic_load_explicit(&slot->code, memory_order_acquire);
		if (c == 0) {
			uint64_t zero = 0;
			if (!atomic_compare_exchange_strong(&slot->code, &zero, code)) {
				if (zero != code)
					continue;
			} else {
				uint32_t e = code_copy(code);
				count(e != 0);
				atomic_store(&slot->id, (uint64_t)ident << 32 | e);
				return e;
			}
		} else if (c != code) {
			continue;
		}
		uint64_t v = atomic_load_explicit(&slot->id, memory_order_acquire);
		if (!v)
			return 0; /* being copied */
		if ((uint32_t)(v >> 32) == ident)
			return (uint32_t)v;
		/* Another code object at a freed one's address: an entry of its own. */
		if (!atomic_compare_exchange_strong(&slot->id, &v, 0))
			return 0;
		uint32_t e = code_copy(code);
		count(e != 0);
		atomic_store(&slot->id, (uint64_t)ident << 32 | e);
		return e;
	}
	count(false);
	return 0;
}

/* ---- the frame chain ---- */

/* The PyThreadState of kernel thread tid among the interpreters' threads (head of its
 * TSTATE_BYTES in ts); 0 when it has none. */
static uint64_t tstate_search(uint32_t tid, unsigned char *ts)
{
	unsigned char p[8];
	if (!peek(p, runtime + L->interp_head, 8))
		return 0;
	uint64_t interp = u64_at(p, 0);
	for (int i = 0; interp && i < 64; i++) {
		if (!peek(p, interp + L->threads_head, 8))
			return 0;
		uint64_t t = u64_at(p, 0);
		for (int k = 0; t && k < 4096; k++) {
			if (!peek(ts, t, TSTATE_BYTES))
				break;
			if ((uint32_t)u64_at(ts, L->ts_tid) == tid)
				return t;
			t = u64_at(ts, L->ts_next);
		}
		if (!peek(p, interp + L->interp_next, 8))
			return 0;
		interp = u64_at(p, 0);
	}
	return 0;
}

static bool tstate_still(uint64_t t, uint32_t tid, unsigned char *ts)
{
	return t && peek(ts, t, TSTATE_BYTES) && (uint32_t)u64_at(ts, L->ts_tid) == tid;
}

/* The calling thread's PyThreadState, as tstate_search. */
static uint64_t find_tstate(uint32_t tid, unsigned char *ts)
{
	if (tstate_still(thread_ts, tid, ts))
		return thread_ts;
	thread_ts = 0;
	/* A thread with no Python state (a native worker thread) would search every thread state at
	 * every sample: it searches again only every MISS_RETRY-th time. */
	if (thread_misses && ++thread_misses % MISS_RETRY != 0)
		return 0;
	uint64_t t = tstate_search(tid, ts);
	thread_ts = t;
	thread_misses = t ? 0 : thread_misses ? thread_misses : 1;
	return t;
}

/* The Python frames, innermost first as IPCPROF_PYFRAME values, of the thread whose
 * PyThreadState's head is ts. */
static uint32_t py_walk(const unsigned char *ts, uint64_t *pf, uint32_t cap)
{
	uint64_t frame = u64_at(ts, L->ts_frame);
	if (L->cf_frame != IPCPROF_PY_NONE) {
		unsigned char p[8];
		if (!peek(p, frame + L->cf_frame, 8))
			return 0;
		frame = u64_at(p, 0);
	}
	uint32_t n = 0;
	unsigned char fr[FRAME_BYTES], id[CO_ID_END - CO_ID_AT];
	if (!frame || !peek(fr, frame, FRAME_BYTES))
		return 0;
	for (int guard = 0; n < cap && guard < 4 * MAX_PYDEPTH; guard++) {
		uint64_t prev = u64_at(fr, L->fr_previous);
		if (L->fr_entry == IPCPROF_PY_NONE &&
		    fr[L->fr_owner] == IPCPROF_PY_OWNED_BY_CSTACK) {
			if (n)
				pf[n - 1] |= IPCPROF_PYFRAME_ENTRY;
			if (!prev || !peek(fr, prev, FRAME_BYTES))
				break;
			continue;
		}
		uint64_t code = u64_at(fr, L->fr_code), instr = u64_at(fr, L->fr_instr);
		bool entry = L->fr_entry != IPCPROF_PY_NONE && fr[L->fr_entry];
		/* One read for this frame's code object and the next frame. */
		struct iovec local[2] = {{id, sizeof(id)}, {fr, FRAME_BYTES}};
		struct iovec remote[2] = {{(void *)(uintptr_t)(code + CO_ID_AT), sizeof(id)},
					  {(void *)(uintptr_t)prev, FRAME_BYTES}};
		long got = code && !(code & 7) ? sys_call(SYS_process_vm_readv, self_pid, local,
							  prev ? 2 : 1, remote, prev ? 2 : 1, 0)
					       : -1;
		if (got < (long)sizeof(id))
			break;
		uint64_t start = code + L->co_code, unit = IPCPROF_PYFRAME_NO_UNIT;
		if (instr >= start && (instr - start) / 2 < IPCPROF_PYFRAME_NO_UNIT)
			unit = (instr - start) / 2;
		uint64_t v =
		    IPCPROF_PYFRAME_BIT | unit << IPCPROF_PYFRAME_UNIT_SHIFT | code_entry(code, id);
		pf[n++] = v | (entry ? IPCPROF_PYFRAME_ENTRY : 0);
		if (!prev || got < (long)(sizeof(id) + FRAME_BYTES))
			break;
	}
	return n;
}

/* The calling thread's Python frames, as py_walk. */
static uint32_t py_walk_self(uint64_t *pf, uint32_t cap)
{
	self_pid = sys_getpid();
	unsigned char ts[TSTATE_BYTES];
	if (!find_tstate((uint32_t)sys_call(SYS_gettid), ts))
		return 0;
	return py_walk(ts, pf, cap);
}

static bool in_eval(uint64_t ip, bool ret)
{
	uint64_t a = ret ? ip - 1 : ip;
	return a >= eval_lo && a < eval_hi;
}

/* Leaves out of a merged stack the interpreter's own native frames (but the innermost, the
 * call's), which a stack too deep for its room gives up first; the new depth. */
static uint32_t drop_interp(uint64_t *ip, uint32_t n)
{
	uint32_t w = 0;
	for (uint32_t i = 0; i < n; i++)
		if (i == 0 || ip[i] & IPCPROF_PYFRAME_BIT || ip[i] < interp_lo ||
		    ip[i] >= interp_hi)
			ip[w++] = ip[i];
	return w;
}

uint32_t ipcprof_py_merge(uint64_t *ip, uint32_t n, uint32_t cap, bool *truncated)
{
	if (!L) {
		if (n > cap) {
			*truncated = true;
			return cap;
		}
		return n;
	}
	uint64_t pf[MAX_PYDEPTH];
	uint32_t np = py_walk_self(pf, cap < MAX_PYDEPTH ? cap : MAX_PYDEPTH);
	uint64_t out[2 * MAX_PYDEPTH];
	uint32_t m = 0, j = 0;
	for (uint32_t i = 0; i < n && m < 2 * MAX_PYDEPTH; i++) {
		/* The frames an eval-loop call ran are the callees of its native frame. */
		if (j < np && in_eval(ip[i], i > 0)) {
			while (j < np && m < 2 * MAX_PYDEPTH) {
				uint64_t v = pf[j++];
				out[m++] = v;
				if (v & IPCPROF_PYFRAME_ENTRY)
					break;
			}
		}
		if (m < 2 * MAX_PYDEPTH)
			out[m++] = ip[i];
	}
	while (j < np && m < 2 * MAX_PYDEPTH)
		out[m++] = pf[j++];
	if (m > cap && np)
		m = drop_interp(out, m); /* room for the Python frames */
	if (m > cap) {
		*truncated = true;
		m = cap;
	}
	memcpy(ip, out, m * sizeof(out[0]));
	return m;
}

/* ---- the main thread's frames, for a library thread's call ---- */

/* Whether the Python frame v is of the Python library's code; unknown code counts as the
 * library's: it does not name the program's line either. */
static bool library_frame(uint64_t v)
{
	struct ipcprof_record *r = ipcprof_rec;
	uint64_t id = ipcprof_pyframe_id(v);
	if (!id || !r)
		return true;
	const struct ipcprof_pycode *e =
	    (const void *)((const char *)r + r->prof.area_offset + (id - 1) * 8);
	if (__atomic_load_n(&e->magic, __ATOMIC_ACQUIRE) != IPCPROF_PYCODE_MAGIC)
		return true;
	return ipcprof_py_library_file(e->data + e->qualname_len, e->filename_len);
}

uint32_t ipcprof_py_add_main(uint64_t *ip, uint32_t n, uint32_t cap)
{
	if (!L || cap < 2)
		return n;
	pid_t pid = sys_getpid();
	if ((pid_t)sys_call(SYS_gettid) == pid)
		return n;
	bool any = false;
	for (uint32_t i = 0; i < n; i++) {
		if (!(ip[i] & IPCPROF_PYFRAME_BIT))
			continue;
		if (!library_frame(ip[i]))
			return n; /* the thread names the program's line itself */
		any = true;
	}
	if (!any)
		return n; /* not a thread Python code runs in */
	self_pid = pid;
	unsigned char ts[TSTATE_BYTES];
	uint64_t t = __atomic_load_n(&main_ts, __ATOMIC_RELAXED);
	if (!tstate_still(t, (uint32_t)pid, ts)) {
		t = tstate_search((uint32_t)pid, ts);
		__atomic_store_n(&main_ts, t, __ATOMIC_RELAXED);
	}
	uint64_t pf[MAX_PYDEPTH];
	uint32_t np = t ? py_walk(ts, pf, MAX_PYDEPTH) : 0;
	if (!np)
		return n;
	if (n + 1 + np > cap)
		n = drop_interp(ip, n);
	if (n + 2 > cap)
		return n;
	/* When they do not all fit, the outermost are kept: the program's line is among them. */
	uint32_t keep = np < cap - n - 1 ? np : cap - n - 1;
	ip[n] = IPCPROF_PYFRAME_MAIN_THREAD;
	memcpy(ip + n + 1, pf + (np - keep), keep * sizeof(pf[0]));
	return n + 1 + keep;
}
