/* The reporter's model of a run: records read from session folders, paired and attributed. */
#ifndef IPCPROF_REPORT_H
#define IPCPROF_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <ipcprof/record.h>

#include "term_text.h" /* ipcprof_term_str: the program's strings made safe for a terminal */

/* The channel kinds the eBPF probes count bytes on: IPCPROF_KIND_PIPE to IPCPROF_KIND_UDP. */
#define IPCPROF_KERNEL_KINDS    (IPCPROF_KIND_UDP - IPCPROF_KIND_PIPE + 1)
#define IPCPROF_KERNEL_GAPS_MAX (2 * IPCPROF_KERNEL_KINDS)

/* How the time of one process image divides (see docs/report.md for each figure's source). */
struct ipcprof_attr {
	uint64_t basis_ns;        /* wall time, or the threads' summed time when that is larger */
	bool basis_thread_sum;    /* basis_ns is the threads' summed time, not wall */
	uint64_t cpu_ns;          /* user + sys from rusage (measured) */
	uint64_t ipc_ns;          /* wall time inside IPC calls, summed over threads (measured) */
	uint64_t ipc_transfer_ns; /* on-CPU part of ipc_ns (estimated, or from the kernel) */
	uint64_t ipc_wait_ns;     /* blocked part of ipc_ns, waiting for data */
	/* Of the blocked part, the share during which the processes at the other end (or those
	 * they in turn waited for) were on a CPU doing something else than moving data: waiting
	 * for work or for a result, not for data. Known from timed CPU samples (wait_split). */
	uint64_t ipc_idle_ns;
	bool wait_split;
	uint64_t compute_ns;    /* cpu_ns - ipc_transfer_ns */
	uint64_t other_ns;      /* basis - compute - transfer - wait - sync: off-CPU outside IPC */
	uint64_t sync_wait_ns;  /* of the off-CPU time outside IPC calls, the kernel's futex and
                                   * poll waits, less those inside semaphore calls */
	bool has_sync;          /* sync_wait_ns is known: the probes ran */
	bool split_sampled;     /* the on-CPU split comes from sampled thread CPU clocks */
	bool split_kernel;      /* ... from the kernel's scheduler figures */
	bool split_cpu_samples; /* ... from the CPU samples taken inside timed IPC calls */
	bool split_unknown;     /* no sample at all: ipc_ns counted as wait */
	/* CPU time the sampler saw in these categories, taken out of compute_ns (never more than
	 * it in all); data movement counts them with transfer and wait */
	bool cpu_sampled; /* the image had CPU samples: the three below are measured */
	bool sampler_on;  /* its sampler ran: without a sample, it had less than a period of CPU */
	uint64_t serialize_ns;
	uint64_t deserialize_ns;
	uint64_t copy_ns;
	/* Of the three above, the time their threads waited for a CPU meanwhile (the samples'
	 * wait_ns), taken out of other_ns: by the clock, pickling took its CPU time and this. */
	uint64_t serialize_wait_ns;
	uint64_t deserialize_wait_ns;
	uint64_t copy_wait_ns;
	/* The same for computing: a spin timed by the program's clock took its CPU time and this.
	 * Taken out of other_ns into compute_ns. */
	uint64_t compute_wait_ns;
};

/* What CPU samples are spent on, in the order of the JSON's profile.categories. */
enum ipcprof_cat {
	IPCPROF_CAT_SERIALIZE,
	IPCPROF_CAT_DESERIALIZE,
	IPCPROF_CAT_COPY,
	IPCPROF_CAT_IPC,
	IPCPROF_CAT_COMPUTE,
	IPCPROF_NCAT
};
extern const char *const ipcprof_cat_names[IPCPROF_NCAT];

/* One distinct sampled stack of one thread (struct ipcprof_sample_stack, checked). */
struct ipcprof_sample {
	uint32_t tid;
	uint32_t flags; /* IPCPROF_SS_* */
	uint32_t depth; /* 1..IPCPROF_SAMPLE_DEPTH */
	uint64_t weight;
	uint64_t wait_ns;   /* runnable, waiting for a CPU, during the periods it stands for */
	const uint64_t *ip; /* ip[0] interrupted, ip[1..] return addresses; in the image's buffer */
	int cat;            /* enum ipcprof_cat, set by ipcprof_profile_build */
};

/* When a sample was taken (struct ipcprof_sample_tick, resolved): the image's ticks are sorted
 * by time. */
struct ipcprof_tick {
	uint64_t t_ns;
	uint32_t sample; /* index in the image's sample[] */
	uint32_t weight;
};

/* A Python code object an image's stacks name (struct ipcprof_pycode in its sample buffer). */
struct ipcprof_pycode_ref {
	uint64_t id; /* its offset in the sample area / 8 + 1, as frames name it */
	const struct ipcprof_pycode *e;
};

/* One process image: one *.ipcrec file, with only the used parts of its tables kept. */
struct ipcprof_image {
	char *file;       /* path of the record */
	int session;      /* index of its session folder */
	bool damaged;     /* read, but with a warning (e.g. a truncated timeline) */
	uint64_t last_ns; /* the record's lower bound of its end */
	uint64_t stack_min_bytes;
	uint64_t fingerprint_min_bytes;
	struct ipcprof_process proc;
	struct ipcprof_dropped dropped;
	struct ipcprof_uring uring; /* rings > 0: its traffic through io_uring is not counted */
	uint32_t nchan, nmap, nfp, nstack, nmod;
	size_t nint;
	uint64_t intervals_lost; /* intervals_used beyond what the file holds */
	struct ipcprof_channel *chan;
	struct ipcprof_mapping *map;
	struct ipcprof_fingerprint *fp;
	struct ipcprof_stack *stack;
	struct ipcprof_module *mod;
	struct ipcprof_interval *intervals;
	/* CPU samples (record version 2) */
	struct ipcprof_profile prof;
	size_t nsample;
	struct ipcprof_sample *sample;
	uint64_t *sample_buf;        /* the used part of the sample area, as read */
	uint64_t sample_bad_entries; /* damaged entries skipped */
	size_t ntick;
	struct ipcprof_tick *tick; /* sorted by t_ns */
	struct ipcprof_python py;  /* its CPython, when it is one */
	size_t npycode;
	struct ipcprof_pycode_ref *pycode; /* sorted by id */
	uint64_t cat_weight[IPCPROF_NCAT]; /* by category (ipcprof_profile_build) */
	uint64_t cat_wait[IPCPROF_NCAT];   /* their wait_ns, summed */

	/* derived by ipcprof_model_build */
	uint64_t boot;    /* identifies its host's boot: pids and clocks are per boot */
	int parent;       /* index of the image that forked, spawned or exec'd it; -1 for none */
	char role[48];    /* "main", "spawned worker", "resource tracker", ... */
	uint64_t wall_ns; /* end - start */
	bool wall_lower_bound;   /* no end was seen: wall_ns is a lower bound */
	uint64_t end_ns;         /* end, or its lower bound */
	int64_t clock_offset_ns; /* added to CLOCK_MONOTONIC times to align hosts (realtime) */
	struct ipcprof_attr attr;
	uint64_t bytes_out, bytes_in;
	int *chan_link; /* per channel: index of its link, -1 when it moved nothing */
	int *chan_side; /* per channel: side number within the link */
	/* kernel figures, when a kernel.ipckrn was found for this pid */
	bool kernel;
	uint64_t kernel_oncpu_ns;  /* inside IPC calls, on a CPU */
	uint64_t kernel_offcpu_ns; /* inside IPC calls, asleep or waiting for a CPU */
	uint64_t kernel_bytes;     /* bytes the IPC calls returned */
	uint64_t kernel_calls;
	uint64_t kernel_futex_ns;   /* in futex waits (locks, semaphores: idle Pool workers) */
	uint64_t kernel_poll_ns;    /* in poll/select/epoll waits */
	uint64_t kernel_shm_faults; /* page faults on shared memory */
	uint64_t kernel_shm_fault_bytes;
	/* bytes the kernel counted per channel kind (from IPCPROF_KIND_PIPE on) and direction:
	 * held against the preload's by ipcprof_kernel_gaps */
	uint64_t kernel_kind_bytes[IPCPROF_KERNEL_KINDS][2];
	/* the probes ran in sched mode: they timed the stretches off CPU, counted no byte */
	bool kernel_sched;
	/* an image made from kernel.ipckrn alone (no record: `ipcprof record --no-preload`): one
	 * channel per fd kind, unpaired; no mappings, fingerprints, stacks or timeline */
	bool kernel_only;
	uint64_t kernel_run_ns; /* on a CPU, all its threads: its CPU time when kernel_only */
	char comm[16];          /* the kernel's task name, when kernel_only */
};

/* One end of a link: a channel of one image. */
struct ipcprof_endpoint {
	int image;
	int chan;
	uint64_t side; /* endpoints on the same side share a socket or address pair */
};

/* A channel as a whole: the endpoints of every process that used one pipe, socket or connection. */
struct ipcprof_link {
	uint32_t kind;
	bool paired; /* data moved between at least two profiled processes */
	int nend;
	struct ipcprof_endpoint *end;
	uint64_t bytes_out, bytes_in, calls, time_ns;
	uint64_t hist[IPCPROF_HIST_BUCKETS]; /* sizes of the calls of every endpoint, both ways */
	char label[160];
};

/* Bytes that one process sent to another (a communication-matrix cell). */
struct ipcprof_cell {
	int from, to;
	uint64_t bytes;
	uint64_t time_ns;
	bool estimated; /* a link with several writers and readers: split by bytes read */
};

/* The hosts of a run (hosts.c): a hostname on one boot each, and the matrix summed by host. */
struct ipcprof_host_cell {
	int from, to; /* hosts */
	uint64_t bytes;
	bool estimated; /* one of its process cells is */
};

struct ipcprof_hosts {
	int n;
	int *of;    /* per image: its host */
	int *first; /* per host: its first image, which names it */
	size_t ncell;
	struct ipcprof_host_cell *cell;
};

struct ipcprof_model;
int ipcprof_hosts_build(const struct ipcprof_model *m, struct ipcprof_hosts *h);
const char *ipcprof_host_name(const struct ipcprof_model *m, const struct ipcprof_hosts *h,
			      int host);
void ipcprof_hosts_free(struct ipcprof_hosts *h);

/* One shared-memory object and the images that mapped it. */
struct ipcprof_shm {
	uint32_t kind;
	char name[IPCPROF_NAME_BYTES];
	uint64_t size;
	uint64_t resident_bytes; /* largest resident size seen by one mapper */
	uint64_t dev, ino, boot; /* the object: one per inode on one boot */
	uint64_t written_bytes;  /* written into it through fds (write, pwrite) */
	int nimg;
	int *img; /* every process that mapped it or wrote or read it through an fd */
	int nwriter;
	int *writer; /* the processes that wrote it through an fd */
};

/* A symbolized frame. */
#define IPCPROF_MAIN_THREAD_LABEL "[main thread at the time]"
struct ipcprof_frame {
	uint64_t ip;
	bool python; /* a Python frame: symbol is its function, srcfile its file, line its line */
	bool interp; /* a native frame of the Python interpreter itself */
	/* IPCPROF_PYFRAME_MAIN_THREAD: the frames after it are the main thread's at the time;
	 * symbol is IPCPROF_MAIN_THREAD_LABEL */
	bool main_thread;
	const char *module; /* NULL when no module covers ip */
	char *symbol;       /* NULL when unknown */
	uint64_t offset;    /* ip - symbol start */
	char *srcfile;
	int line;
};

/* A call site (a stack that moved much data), summed over the images that share it. */
struct ipcprof_site {
	uint64_t bytes, calls;
	int nimg;
	int first_image;
	uint32_t kind;
	int depth;
	struct ipcprof_frame frame[IPCPROF_STACK_DEPTH];
	char *key; /* the symbolized frames joined, for merging */
};

/* A frame of the CPU profile: a function (or an address when unknown) of a module. */
struct ipcprof_pframe {
	const char *module; /* path, NULL when no module covers the address */
	char *symbol;       /* NULL when unknown */
	uint64_t rel;       /* address in the module (ELF address) when the symbol is unknown */
	char *srcfile;      /* where the function starts, when debug info tells */
	int line;
	bool python; /* a Python frame: symbol, srcfile and line are the line being run */
	bool interp; /* a native frame of the Python interpreter itself */
	/* IPCPROF_PYFRAME_MAIN_THREAD: the frames after it are the main thread's at the time;
	 * symbol is IPCPROF_MAIN_THREAD_LABEL */
	bool main_thread;
};

/* Samples of one thread in one image whose frames symbolize the same, merged. */
struct ipcprof_pstack {
	int image;
	uint32_t tid;
	int cat; /* enum ipcprof_cat */
	uint64_t weight;
	uint32_t depth;
	int *frame;   /* indices into ipcprof_model.pframe, outermost first */
	int py_outer; /* index in frame[] of its outermost Python frame; -1 when it has none */
};

/* Classification rules: `<category> <any|leaf> <module-glob> <symbol-glob>` lines. */
struct ipcprof_rule {
	int cat;   /* enum ipcprof_cat */
	bool leaf; /* match only the innermost frames (past a few libc frames) */
	char *module;
	char *symbol;
};
struct ipcprof_rules {
	int n, cap;
	struct ipcprof_rule *r;
};

/* Advice drawn from the measurements. */
struct ipcprof_finding {
	char kind[32];   /* repeated_payload, small_messages, low_compute_ratio, slow_reader,
                            incomplete, serialization, io_uring, kernel_gap, shared_memory,
                            shared_segments, copied_data */
	char title[512]; /* one line, with the key figure */
	char detail[1024];
	double weight; /* sort key: seconds at stake */
};

struct ipcprof_damage {
	char *file;
	char *error;
	bool unwritten; /* no damage: its process ended before it wrote the record */
};

/* A timeline row: IPC intervals of one thread, with short gaps merged for display. */
struct ipcprof_trow {
	int image;
	uint32_t tid;
	size_t n;
	struct ipcprof_interval *iv; /* times are CLOCK_MONOTONIC of the image's host */
	bool merged;
};

struct ipcprof_model {
	int nsession;
	char **session;
	int nimg, capimg;
	struct ipcprof_image *img;
	int ndamage, capdamage;
	struct ipcprof_damage *damage;
	int nlink;
	struct ipcprof_link *link;
	size_t ncell;
	struct ipcprof_cell *cell;
	int nshm;
	struct ipcprof_shm *shm;
	int nsite;
	struct ipcprof_site *site;
	int nfind;
	struct ipcprof_finding *find;
	size_t nrow;
	struct ipcprof_trow *row;
	bool kernel;     /* kernel figures were merged */
	int kernel_only; /* images made from kernel.ipckrn alone (see ipcprof_image.kernel_only) */
	/* ipcprof record --pid: the running root the probes attached to, and when (else 0) */
	int kernel_attached_pid;
	uint64_t kernel_attached_ns;
	/* what the probes could not keep: images, threads, calls, mmsg messages, fault lookups */
	uint64_t kernel_dropped[5];
	bool symbols; /* built with a symbolizer */
	/* Show the Python interpreter's own native frames (and those outside its outermost Python
	 * frame) in stacks that have Python frames; they are left out by default. */
	bool interp_frames;
	/* the CPU profile */
	const struct ipcprof_rules *rules; /* NULL: the built-in rules */
	struct ipcprof_rules own_rules;    /* the built-in rules, when used */
	int npframe, cappframe;
	struct ipcprof_pframe *pframe;
	size_t npstack;
	struct ipcprof_pstack *pstack;
	int nsampled;                  /* images with CPU samples */
	struct ipcprof_symtab *symtab; /* owns the module paths frames point to */

	/* run totals */
	int64_t run_start_rt_ns; /* realtime of the earliest start */
	uint64_t run_wall_ns;
	struct ipcprof_attr total;   /* sums over every image */
	struct ipcprof_attr workers; /* sums over the images other than the roots */
	int nworkers;
	uint64_t kind_out[IPCPROF_KIND_COUNT], kind_in[IPCPROF_KIND_COUNT];
	uint64_t kind_calls[IPCPROF_KIND_COUNT];
	int kind_links[IPCPROF_KIND_COUNT];
	uint64_t shm_bytes;
	char verdict[256];
	int nuring; /* processes that used io_uring, whose traffic through it is not counted */
};

/* Reading. */

/* Checks that buf (size bytes, the whole file) holds a record this reporter can read. Returns 0
 * when it can be used whole, 1 when usable with lost parts (msg says what), -1 when not (msg says
 * why). */
int ipcprof_record_check(const void *buf, size_t size, char *msg, size_t msglen);

/* Reads one record file into img. Same return values as ipcprof_record_check, and
 * IPCPROF_UNWRITTEN for a record its process never wrote: it ended (killed while starting) after
 * making the file and before the header's magic, which is written last. */
#define IPCPROF_UNWRITTEN (-2)
int ipcprof_image_load(const char *path, struct ipcprof_image *img, char *msg, size_t msglen);

/* Caps times that cannot be real (damaged files) so that aligning clocks cannot overflow. */
void ipcprof_image_clamp_times(struct ipcprof_image *img);

/* Reads every *.ipcrec of a session folder into m (the session is m->session[index]). Damaged
 * files are added to m->damage. Returns 0, or -1 when the folder cannot be read (errno set). */
int ipcprof_session_load(struct ipcprof_model *m, int index);

/* Names a damaged file in m (the report lists it and the exit status says so). Returns 0 or -1. */
int ipcprof_damage_add(struct ipcprof_model *m, const char *file, const char *error);

void ipcprof_model_init(struct ipcprof_model *m);
/* Frees what one image owns (not the image itself). */
void ipcprof_image_free(struct ipcprof_image *g);
void ipcprof_model_free(struct ipcprof_model *m);

/* Building. */

/* Pairs, attributes and draws the findings. Returns 0, or -1 on allocation failure. */
int ipcprof_model_build(struct ipcprof_model *m);

/* Attribution of one image's time (pure: exposed for the tests). */
void ipcprof_attribute(const struct ipcprof_image *img, struct ipcprof_attr *a);

/* CPU time of sample weight in image g (weight x its period), and of its category cat. */
uint64_t ipcprof_ns_of_weight(const struct ipcprof_image *g, uint64_t weight);
uint64_t ipcprof_cat_ns(const struct ipcprof_image *g, int cat);

/* Data movement of an attribution: transfer, wait, serialize, deserialize and copy. */
uint64_t ipcprof_attr_moving(const struct ipcprof_attr *a);

/* The role of a process told from its argv and its lineage, e.g. "spawned worker". */
/* What a process was run as: the file name of its argv[0], or of its executable when it has no
 * argv. Not the executable's own name: a program run through a link (Debian's redis-server, a
 * link to redis-check-rdb) goes by the link's. */
const char *ipcprof_process_name(const struct ipcprof_process *p);
void ipcprof_role(const struct ipcprof_process *p, const char *parent_role, int siblings, char *out,
		  size_t outlen);

/* Symbolizes the call sites (libdw when available; otherwise addresses and modules only). */
int ipcprof_symbolize(struct ipcprof_model *m, struct ipcprof_symtab *t);

/* Symbol lookups shared by call sites and CPU samples: one libdwfl session per ELF file, and a
 * cache per (module, address). */
struct ipcprof_symtab;
struct ipcprof_sym {
	const char *module;  /* path of the module; NULL when none covers the address */
	const char *symbol;  /* NULL when unknown */
	uint64_t rel;        /* address in the module's ELF addresses (ip - load bias) */
	uint64_t offset;     /* ip - symbol start; rel when the symbol is unknown */
	const char *srcfile; /* source line of the address */
	int line;
	const char *func_file; /* source line where the symbol starts */
	int func_line;
};
struct ipcprof_symtab *ipcprof_symtab_new(void);
void ipcprof_symtab_free(struct ipcprof_symtab *t);
/* Names ip of image g; ret: ip is a return address (the call is at ip - 1). The result lives as
 * long as t. Returns NULL only when out of memory. */
const struct ipcprof_sym *ipcprof_symtab_lookup(struct ipcprof_symtab *t,
						const struct ipcprof_image *g, uint64_t ip,
						bool ret);

/* Classification rules (report/categories.rules is built in). Parses text (len bytes) and
 * appends its rules; source names it in messages. Returns 0, or -1 with err set. */
int ipcprof_rules_parse(struct ipcprof_rules *rs, const char *text, size_t len, const char *source,
			char *err, size_t errlen);
int ipcprof_rules_load(struct ipcprof_rules *rs, const char *path, char *err, size_t errlen);
/* Appends the built-in rules and puts every ipc rule first. */
int ipcprof_rules_finish(struct ipcprof_rules *rs, char *err, size_t errlen);
void ipcprof_rules_free(struct ipcprof_rules *rs);
/* The category of a stack: module[k] and symbol[k] name frame k, innermost first (NULL when
 * unknown). The first rule with a matching frame decides; compute when none does. */
int ipcprof_rules_classify(const struct ipcprof_rules *rs, size_t n, const char *const *module,
			   const char *const *symbol);
/* The first any rule and the first leaf rule (indices into rs->r, INT_MAX for none) that match one
 * frame, and whether the frame is libc's. */
struct ipcprof_frame_match {
	int any, leaf;
	bool libc;
};
void ipcprof_rules_match(const struct ipcprof_rules *rs, const char *module, const char *symbol,
			 struct ipcprof_frame_match *out);
/* The category of a stack from its frames' matches (innermost first): ipcprof_rules_classify. */
int ipcprof_rules_decide(const struct ipcprof_rules *rs, size_t n,
			 const struct ipcprof_frame_match *fm);
/* A rule as its line. */
void ipcprof_rule_text(const struct ipcprof_rule *r, char *out, size_t outlen);

/* Symbolizes, classifies and merges the images' CPU samples into m->pframe and m->pstack, and
 * sums each image's cat_weight. Returns 0 or -1. */
int ipcprof_profile_build(struct ipcprof_model *m, struct ipcprof_symtab *t);

/* Whether frame k (outermost first) of st is left out of what is shown (m->interp_frames). */
bool ipcprof_pstack_hides(const struct ipcprof_model *m, const struct ipcprof_pstack *st,
			  uint32_t k);

/* Python frames (pyframes.c). */
/* Adds an image's code entry (at offset pos of its sample area) to g->pycode; *cap is its
 * capacity. */
int ipcprof_pycode_add(struct ipcprof_image *g, const struct ipcprof_pycode *e, uint64_t pos,
		       size_t *cap);
void ipcprof_pycode_sort(struct ipcprof_image *g);
/* A Python frame (an IPCPROF_PYFRAME value) of image g: function, file as shown, full path,
 * line being run. A code object the record does not name gives "[python code]". */
struct ipcprof_pyloc {
	char function[512];
	char file[256];
	char path[1024];
	int line;
	bool incomplete; /* a frame that had not started (see ipcprof_pycode.firsttraceable) */
};
void ipcprof_py_locate(const struct ipcprof_image *g, uint64_t v, struct ipcprof_pyloc *loc);
/* The address the code object of Python frame v had in its process; 0 when unknown. */
uint64_t ipcprof_py_code_addr(const struct ipcprof_image *g, uint64_t v);
/* The line of code unit unit from a CPython 3.11+ location table of n bytes. */
int ipcprof_py_line(const unsigned char *lt, size_t n, int firstlineno, uint32_t unit);
/* The Python line that wrote most on channel of g (of its call sites): the innermost line of the
 * program's own, or of the Python library when no frame is the program's, as "file:line
 * (function)". False when none of its call sites has a Python frame. */
bool ipcprof_py_site_line(const struct ipcprof_image *g, uint32_t channel, char *out,
			  size_t outlen);
/* Whether native address ip of g is in the Python interpreter's own module. */
bool ipcprof_py_interp(const struct ipcprof_image *g, uint64_t ip);

/* Kernel figures (kernel.ipckrn) of a session folder, when the probes ran: call after
 * ipcprof_session_load and before ipcprof_model_build. When the session gave no readable record
 * (`ipcprof record --no-preload`), the kernel's images become the session's images. A damaged file
 * is named in m->damage. Returns 0 (also when there is no file) or -1. */
int ipcprof_kernel_merge(struct ipcprof_model *m, int session);
/* A channel kind and direction of one process where the kernel's bytes differ from the
 * preload's: calls the interposer did not see (or saw and the kernel did not count). */
struct ipcprof_kernel_gap {
	uint32_t kind; /* enum ipcprof_kind */
	int dir;       /* IPCPROF_DIR_OUT or IPCPROF_DIR_IN */
	uint64_t kernel_bytes, preload_bytes;
};
/* The gaps of image g (none unless the probes' figures were merged with a record), written to
 * out; returns how many (at most IPCPROF_KERNEL_GAPS_MAX). */
int ipcprof_kernel_gaps(const struct ipcprof_image *g, struct ipcprof_kernel_gap *out);
/* Checks a kernel.ipckrn image of size bytes; 0 when readable, -1 when not (msg says why). */
int ipcprof_kernel_check(const void *buf, size_t size, char *msg, size_t msglen);

/* Strings. */

/* Copies a NUL-terminated string from a fixed field of len bytes, replacing bytes that are not
 * valid UTF-8 with U+FFFD; the result is always valid UTF-8. Returns a malloc'd string. */
char *ipcprof_utf8_dup(const char *s, size_t len);
/* Says one line on stderr (fmt has no newline), every string in it escaped for a terminal
 * (ipcprof_term_str): paths and names come from the program and its user. */
void ipcprof_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Human figures: "1.5 GB", "250 ms". */
void ipcprof_fmt_bytes(uint64_t b, char *out, size_t outlen);
void ipcprof_fmt_ns(uint64_t ns, char *out, size_t outlen);
const char *ipcprof_kind_name(uint32_t kind);
/* Whether a channel joins profiled processes: data moved between two of them, or, for a semaphore
 * (which moves no data), two of them waited on it or posted it. */
bool ipcprof_link_joins(const struct ipcprof_model *m, const struct ipcprof_link *l);
/* The file name of a path. */
const char *ipcprof_base_name(const char *path);
/* A process's argv joined with spaces (valid UTF-8, malloc'd). */
char *ipcprof_argv_join(const struct ipcprof_process *p);

/* The profiler's own cost in one process or the run (summary.c): counts of what it did, times
 * the measured cost of each (ipcprof_overhead_method says how). */
#define IPCPROF_OVERHEAD_WARN_SHARE  0.05      /* of a process's CPU time */
#define IPCPROF_OVERHEAD_WARN_MIN_NS 10000000u /* and at least 10 ms */
struct ipcprof_overhead {
	uint64_t calls;        /* IPC calls the preload counted */
	uint64_t timed_calls;  /* of those, calls whose wrapper also read the CPU clock */
	uint64_t samples;      /* CPU samples taken (signals handled) */
	bool python_samples;   /* the samples read Python frames */
	uint64_t probe_events; /* page faults and context switches the probes' programs ran on */
	uint64_t preload_ns, sampler_ns, start_ns, probes_ns, total_ns;
	uint64_t cpu_ns;      /* the process's (or the run's) CPU time, which holds most of it */
	double share;         /* total_ns / cpu_ns */
	bool warn;            /* large enough to distort the shares (IPCPROF_OVERHEAD_WARN_*) */
	int processes_warned; /* of the run: processes with warn set */
};
void ipcprof_overhead_of(const struct ipcprof_image *g, struct ipcprof_overhead *o);
void ipcprof_overhead_run(const struct ipcprof_model *m, struct ipcprof_overhead *o);
const char *ipcprof_overhead_method(void);

/* What the extra processes bought: the same computing done serially in one process, next to the
 * measured wall time (ipcprof_serial_method says how it is estimated, and its limits). */
struct ipcprof_serial {
	uint64_t serial_ns;   /* the processes' compute CPU time, summed */
	uint64_t wall_ns;     /* the run's wall time */
	uint64_t left_out_ns; /* CPU in IPC calls, pickling, unpickling and copies: not counted */
	bool sampled;         /* every process with CPU time had CPU samples */
	char sentence[320];
};
void ipcprof_serial_estimate(const struct ipcprof_model *m, struct ipcprof_serial *s);
const char *ipcprof_serial_method(void);

/* Output. */
struct json_t;
struct json_t *ipcprof_report_json(const struct ipcprof_model *m);
/* Marks in j (from ipcprof_report_json) the figures that come from the probes alone: the
 * "source" of the report and of each such process, its "comm", and what is not measured. Does
 * nothing when m->kernel_only is 0. Returns 0 or -1. */
int ipcprof_kernel_only_json(const struct ipcprof_model *m, struct json_t *j);
/* The finding of a session attached to a running root (m->kernel_attached_pid): its command
 * line, and that the figures cover the attached span alone. Fills f's title and detail. */
void ipcprof_kernel_attached_finding(const struct ipcprof_model *m, struct ipcprof_finding *f);
/* j as compact JSON text that is also safe inside an HTML <script> element (no '<', '>' or '&'
 * outside \u escapes). Returns a malloc'd string and its length, or NULL. */
char *ipcprof_json_text(const struct json_t *j, size_t *len);
/* Writes the HTML report around json (from ipcprof_json_text) to f. Returns 0 or -1. */
int ipcprof_write_html(const char *json, size_t len, FILE *f);
/* The timeline as Chrome trace-event JSON, to f. Returns 0 or -1. */
int ipcprof_write_trace(const struct ipcprof_model *m, FILE *f);
void ipcprof_write_summary(const struct ipcprof_model *m, FILE *f);
/* The CPU profile as folded stacks (flamegraph.pl, speedscope): one line per merged stack. */
int ipcprof_write_folded(const struct ipcprof_model *m, FILE *f);

/*
 * The folder the report's files go to (out_file.c), checked once: made 0700 when missing,
 * opened without following a link, and refused when another user owns it unless it was chosen
 * explicitly (chosen: ipcprof report -o). Every file in it is written through
 * ipcprof_out_begin/ipcprof_out_end: created 0600 under a fresh name with O_EXCL|O_NOFOLLOW,
 * then renamed into place, so a link planted under any name is never written through.
 */
struct ipcprof_outdir {
	int fd;
	const char *path;
};
/* Returns 0, or -1 with err set to a message naming the folder. */
int ipcprof_outdir_open(struct ipcprof_outdir *d, const char *path, bool chosen, char *err,
			size_t errlen);
void ipcprof_outdir_close(struct ipcprof_outdir *d);
/* A new file to write that will become name: its temporary name goes to tmp. NULL with errno. */
FILE *ipcprof_out_begin(const struct ipcprof_outdir *d, const char *name, char *tmp, size_t tmplen);
/* Closes f and renames it to name when rc (the writer's result) is 0 and every write went
 * through; otherwise removes it. Returns 0, or -1 with errno. */
int ipcprof_out_end(const struct ipcprof_outdir *d, FILE *f, const char *tmp, const char *name,
		    int rc);

#endif
