/* Owner demo: each worker makes its own copy of the data; the parent sends instructions only. */
#include <stdio.h>
#include <stdlib.h>

#include "demo.h"

static double *own;

static int worker_init(const struct ipcprof_demo_opts *o, uint64_t *compute_ns)
{
	uint64_t t0 = ipcprof_demo_now_ns();
	own = malloc(o->elements * sizeof *own);
	if (!own) {
		fprintf(stderr, "owner worker: cannot allocate %llu doubles\n",
			(unsigned long long)o->elements);
		return -1;
	}
	ipcprof_demo_fill(own, 0, o->elements);
	*compute_ns += ipcprof_demo_now_ns() - t0;
	return 0;
}

static const double *worker_data(int fd, const struct ipcprof_demo_task *t, uint64_t *io_ns,
				 uint64_t *copy_cpu_ns)
{
	(void)fd;
	(void)io_ns;
	(void)copy_cpu_ns;
	return own + t->start;
}

int main(int argc, char **argv)
{
	static const struct ipcprof_demo_variant v = {
	    .name = "owner",
	    .summary = "Owner variant: each worker makes its own data; the parent sends\n"
		       "instructions (ranges) only.",
	    .window = 16,
	    .worker_init = worker_init,
	    .worker_data = worker_data,
	};
	return ipcprof_demo_main(argc, argv, &v);
}
