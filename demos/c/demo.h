/* What the C demos share: options, the job (W workers reduce N doubles, R rounds), the wire format.
 */
#ifndef IPCPROF_DEMO_H
#define IPCPROF_DEMO_H

#include <stddef.h>
#include <stdint.h>

enum ipcprof_demo_channel {
	IPCPROF_DEMO_PIPE = 0,       /* a pipe each way */
	IPCPROF_DEMO_SOCKETPAIR = 1, /* one AF_UNIX SOCK_STREAM socketpair, both ways */
};

struct ipcprof_demo_opts {
	uint64_t elements;
	unsigned workers;
	unsigned rounds;
	enum ipcprof_demo_channel channel;
	const char *json; /* --json FILE, or NULL */
};

/* Parent to worker: reduce elements [start, start + count) of the array for this round. */
struct ipcprof_demo_task {
	uint64_t round;
	uint64_t start;
	uint64_t count;
};

/* Worker to parent: the sum, and where the worker's time went while it handled the task. */
struct ipcprof_demo_result {
	uint64_t round;
	double sum;
	uint64_t io_ns; /* inside read() for the task (and its payload): transfer and waiting */
	/* The part of io_ns spent waiting for a CPU (the thread's run-queue wait): that wait may
	 * have fallen outside read() itself, in the instructions around it, so the time inside
	 * read() lies anywhere from io_ns less this to io_ns. */
	uint64_t io_preempted_ns;
	uint64_t compute_ns; /* making data (owner, first task) and reducing it */
	/* The worker's own measures of its CPU time (CLOCK_THREAD_CPUTIME_ID), from its start
	 * to this result: in its user-space copies (memcpy) of task data, and in all. */
	uint64_t copy_cpu_ns;
	uint64_t cpu_ns;
};

/* How one variant gets the array to its workers. */
struct ipcprof_demo_variant {
	const char *name;
	const char *summary; /* one line for --help */
	/* Tasks queued ahead per worker; 1 when every task carries a payload that fills the
         * channel. */
	unsigned window;
	/* Parent, before the workers start. Returns 0, or -1 after printing why. */
	int (*setup)(const struct ipcprof_demo_opts *o);
	/* Parent, after the task header: the payload of the task (may be NULL: no payload). CPU
	 * time spent copying it in user space is added to *copy_cpu_ns. Returns 0, or -1 after
	 * printing why. */
	int (*send_payload)(int fd, const struct ipcprof_demo_task *t, uint64_t *bytes,
			    uint64_t *copy_cpu_ns);
	/* Worker, once, before its first task. Returns 0, or -1 after printing why. */
	int (*worker_init)(const struct ipcprof_demo_opts *o, uint64_t *compute_ns);
	/* Worker: the array part a task names, reading its payload from fd if any (time spent in
	 * read() added to io_ns, CPU time spent copying in user space to copy_cpu_ns). Returns
	 * NULL after printing why. */
	const double *(*worker_data)(int fd, const struct ipcprof_demo_task *t, uint64_t *io_ns,
				     uint64_t *copy_cpu_ns);
	/* Parent, at the end (also after a failure). */
	void (*cleanup)(void);
	/* Bytes the variant shares through memory instead of sending (printed as bytes_shared). */
	uint64_t (*shared_bytes)(const struct ipcprof_demo_opts *o);
};

/* Runs the whole demo: options, workers, the rounds, the check and the printout. */
int ipcprof_demo_main(int argc, char **argv, const struct ipcprof_demo_variant *v);

/* Fills a[i] for i in [start, start + n) with the job's data (the same in every variant). */
void ipcprof_demo_fill(double *a, uint64_t start, uint64_t n);
/* Sums a[0..n) left to right, so that every variant gets the same bits. */
double ipcprof_demo_sum(const double *a, uint64_t n);
uint64_t ipcprof_demo_now_ns(void);
/* CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID): user and system time. */
uint64_t ipcprof_demo_thread_cpu_ns(void);

/* Read or write exactly n bytes (EINTR and short transfers handled), adding what moved to *bytes.
 * read: returns 1 when done, 0 on end of file before the first byte, -1 on error or a cut message.
 */
int ipcprof_demo_read_full(int fd, void *buf, size_t n, uint64_t *bytes);
int ipcprof_demo_write_full(int fd, const void *buf, size_t n, uint64_t *bytes);

#endif
