/* Shared-memory demo: the array lives once in POSIX shared memory; the parent sends only ranges. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "demo.h"

static char name[64];
static double *map; /* the parent's mapping (read-write), or a worker's (read-only) */
static size_t map_bytes;

static double *map_object(int flags, int prot)
{
	int fd = shm_open(name, flags, 0600);
	if (fd < 0) {
		fprintf(stderr, "shm: shm_open %s: %s\n", name, strerror(errno));
		return NULL;
	}
	if ((flags & O_CREAT) && ftruncate(fd, (off_t)map_bytes)) {
		fprintf(stderr, "shm: ftruncate %s: %s\n", name, strerror(errno));
		close(fd);
		return NULL;
	}
	void *p = mmap(NULL, map_bytes, prot, MAP_SHARED, fd, 0);
	int err = errno;
	close(fd);
	if (p == MAP_FAILED) {
		fprintf(stderr, "shm: mmap %s: %s\n", name, strerror(err));
		return NULL;
	}
	return p;
}

static int setup(const struct ipcprof_demo_opts *o)
{
	snprintf(name, sizeof name, "/ipcprof-demo-%ld", (long)getpid());
	map_bytes = o->elements * sizeof *map;
	map = map_object(O_CREAT | O_EXCL | O_RDWR, PROT_READ | PROT_WRITE);
	if (!map) {
		shm_unlink(name);
		name[0] = 0;
		return -1;
	}
	ipcprof_demo_fill(map, 0, o->elements);
	return 0;
}

/* A worker maps the object by name, as unrelated processes would, rather than using the parent's.
 */
static int worker_init(const struct ipcprof_demo_opts *o, uint64_t *compute_ns)
{
	(void)o;
	(void)compute_ns;
	munmap(map, map_bytes);
	map = map_object(O_RDONLY, PROT_READ);
	return map ? 0 : -1;
}

static const double *worker_data(int fd, const struct ipcprof_demo_task *t, uint64_t *io_ns,
				 uint64_t *copy_cpu_ns)
{
	(void)fd;
	(void)io_ns;
	(void)copy_cpu_ns;
	return map + t->start;
}

static void cleanup(void)
{
	if (map)
		munmap(map, map_bytes);
	map = NULL;
	if (name[0])
		shm_unlink(name);
	name[0] = 0;
}

static uint64_t shared_bytes(const struct ipcprof_demo_opts *o)
{
	return o->elements * sizeof *map;
}

int main(int argc, char **argv)
{
	static const struct ipcprof_demo_variant v = {
	    .name = "shm",
	    .summary = "Shared-memory variant: the array is made once in POSIX shared memory\n"
		       "(shm_open + mmap); the parent sends each worker only the range to sum.",
	    .window = 16,
	    .setup = setup,
	    .worker_init = worker_init,
	    .worker_data = worker_data,
	    .cleanup = cleanup,
	    .shared_bytes = shared_bytes,
	};
	return ipcprof_demo_main(argc, argv, &v);
}
