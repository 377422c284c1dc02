/* Shared mappings that come and go in a forked child, for the probes' fault classification by
 * address: one made after the fork, then removed with munmap and its place taken by private
 * memory; one moved with mremap, its old place taken by private memory. Only the pages written
 * through the shared mappings where they are at that moment are shared-memory faults. */
#include <sys/mman.h>
#include <sys/wait.h>

#include "pk.h"

#define PAGES 64

static void touch(volatile unsigned char *m, size_t pages, size_t page)
{
	for (size_t i = 0; i < pages; i++)
		m[i * page] = (unsigned char)(i + 1);
}

/* Private memory where nothing is mapped now: not MAP_FIXED, which replaces a mapping and would
 * tell the probes itself that the old one is gone. */
static void *private_at(void *at, size_t size)
{
	void *m = mmap(at, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (m == MAP_FAILED || m != at)
		test_die("mmap private");
	return m;
}

static void child(size_t page)
{
	size_t size = PAGES * page;
	unsigned char *a, *c, *d, *r;
	int fd;

	/* Made after the fork: the parent never had it. */
	a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		test_die("mmap shared");
	touch(a, PAGES, page);
	/* Removed: private memory at the same address is not shared any more. */
	if (munmap(a, size) < 0)
		test_die("munmap");
	touch(private_at(a, size), PAGES, page);

	/* Moved (and grown) to a place reserved for it; its old place becomes private memory. */
	fd = memfd_create("ipcprof-pk-ranges", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)(2 * size)) < 0)
		test_die("memfd");
	c = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	r = mmap(NULL, 2 * size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c == MAP_FAILED || r == MAP_FAILED)
		test_die("mmap memfd");
	d = mremap(c, size, 2 * size, MREMAP_MAYMOVE | MREMAP_FIXED, r);
	if (d == MAP_FAILED || d != r)
		test_die("mremap");
	touch(private_at(c, size), PAGES, page);
	touch(d, 2 * PAGES, page);
	pk_emit("{\"type\":\"shm\",\"pid\":%d,\"pages\":%d,\"access\":\"write\","
		"\"private_pages\":%d}\n",
		(int)getpid(), 3 * PAGES, 2 * PAGES);
	_exit(0);
}

int main(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int status;
	pid_t pid;

	alarm(60);
	pid = fork();
	if (pid < 0)
		test_die("fork");
	if (pid == 0)
		child(page);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		test_die("child failed");
	return 0;
}
