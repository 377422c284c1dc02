/* Copy demo: the parent sends every worker the whole array through a pipe or socketpair, every
 * round. As real programs do, it copies the data in user space at both ends too: the parent packs
 * each message into a send buffer before write(), and a worker copies the array it received out of
 * its receive buffer into its working array. Both time those copies themselves. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"

static double *array;    /* the parent's */
static double *send_buf; /* the parent's: the message being sent */
static double *received; /* a worker's receive buffer */
static double *work;     /* a worker's working array */

static int setup(const struct ipcprof_demo_opts *o)
{
	array = malloc(o->elements * sizeof *array);
	send_buf = malloc(o->elements * sizeof *send_buf);
	if (!array || !send_buf) {
		fprintf(stderr, "copy: cannot allocate 2 x %llu doubles\n",
			(unsigned long long)o->elements);
		return -1;
	}
	ipcprof_demo_fill(array, 0, o->elements);
	return 0;
}

static int send_payload(int fd, const struct ipcprof_demo_task *t, uint64_t *bytes,
			uint64_t *copy_cpu_ns)
{
	/* The send buffer is free again once the previous message has been written whole. */
	uint64_t c0 = ipcprof_demo_thread_cpu_ns();
	memcpy(send_buf, array + t->start, t->count * sizeof *array);
	*copy_cpu_ns += ipcprof_demo_thread_cpu_ns() - c0;
	return ipcprof_demo_write_full(fd, send_buf, t->count * sizeof *send_buf, bytes);
}

static int worker_init(const struct ipcprof_demo_opts *o, uint64_t *compute_ns)
{
	(void)compute_ns;
	received = malloc(o->elements * sizeof *received);
	work = malloc(o->elements * sizeof *work);
	if (!received || !work) {
		fprintf(stderr, "copy worker: cannot allocate 2 x %llu doubles\n",
			(unsigned long long)o->elements);
		return -1;
	}
	return 0;
}

static const double *worker_data(int fd, const struct ipcprof_demo_task *t, uint64_t *io_ns,
				 uint64_t *copy_cpu_ns)
{
	uint64_t ignored = 0, t0 = ipcprof_demo_now_ns();
	int r = ipcprof_demo_read_full(fd, received, t->count * sizeof *received, &ignored);
	*io_ns += ipcprof_demo_now_ns() - t0;
	if (r <= 0) {
		fprintf(stderr, "copy worker: reading the array: %s\n",
			r == 0 ? "end of file" : strerror(errno));
		return NULL;
	}
	uint64_t c0 = ipcprof_demo_thread_cpu_ns();
	memcpy(work, received, t->count * sizeof *work);
	*copy_cpu_ns += ipcprof_demo_thread_cpu_ns() - c0;
	return work;
}

static void cleanup(void)
{
	free(array);
	free(send_buf);
	array = send_buf = NULL;
}

int main(int argc, char **argv)
{
	static const struct ipcprof_demo_variant v = {
	    .name = "copy",
	    .summary =
		"Copy variant: the parent sends every worker the whole array, every round,\n"
		"packing it into a send buffer first; a worker copies it out of its receive\n"
		"buffer into its working array.",
	    .window = 1,
	    .setup = setup,
	    .send_payload = send_payload,
	    .worker_init = worker_init,
	    .worker_data = worker_data,
	    .cleanup = cleanup,
	};
	return ipcprof_demo_main(argc, argv, &v);
}
