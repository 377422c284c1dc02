/* Copy demo: the parent sends every worker the whole array through a pipe or socketpair, every
 * round. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"

static double *array;    /* the parent's */
static double *received; /* a worker's */

static int setup(const struct ipcprof_demo_opts *o)
{
	array = malloc(o->elements * sizeof *array);
	if (!array) {
		fprintf(stderr, "copy: cannot allocate %llu doubles\n",
			(unsigned long long)o->elements);
		return -1;
	}
	ipcprof_demo_fill(array, 0, o->elements);
	return 0;
}

static int send_payload(int fd, const struct ipcprof_demo_task *t, uint64_t *bytes)
{
	return ipcprof_demo_write_full(fd, array + t->start, t->count * sizeof *array, bytes);
}

static int worker_init(const struct ipcprof_demo_opts *o, uint64_t *compute_ns)
{
	(void)compute_ns;
	received = malloc(o->elements * sizeof *received);
	if (!received) {
		fprintf(stderr, "copy worker: cannot allocate %llu doubles\n",
			(unsigned long long)o->elements);
		return -1;
	}
	return 0;
}

static const double *worker_data(int fd, const struct ipcprof_demo_task *t, uint64_t *io_ns)
{
	uint64_t ignored = 0, t0 = ipcprof_demo_now_ns();
	int r = ipcprof_demo_read_full(fd, received, t->count * sizeof *received, &ignored);
	*io_ns += ipcprof_demo_now_ns() - t0;
	if (r <= 0) {
		fprintf(stderr, "copy worker: reading the array: %s\n",
			r == 0 ? "end of file" : strerror(errno));
		return NULL;
	}
	return received;
}

static void cleanup(void)
{
	free(array);
	array = NULL;
}

int main(int argc, char **argv)
{
	static const struct ipcprof_demo_variant v = {
	    .name = "copy",
	    .summary = "Copy variant: the parent sends every worker the whole array, every round.",
	    .window = 1,
	    .setup = setup,
	    .send_payload = send_payload,
	    .worker_init = worker_init,
	    .worker_data = worker_data,
	    .cleanup = cleanup,
	};
	return ipcprof_demo_main(argc, argv, &v);
}
