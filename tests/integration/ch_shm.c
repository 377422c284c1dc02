/* Shares memory with a child through POSIX shm, memfd and MAP_SHARED|MAP_ANONYMOUS: mapped, not
 * copied. */
#include <sys/mman.h>
#include <sys/wait.h>

#include "chanreport.h"

#define SHM_SIZE   (1u << 20)
#define MEMFD_SIZE (64u << 10)
#define ANON_SIZE  (256u << 10)

static void *map_fd(int fd, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		test_die("mmap");
	return p;
}

int main(void)
{
	char name[64], buf[5000] = {0};
	int shm, mfd, status;
	char *shm_p, *mem_p, *anon_p;
	struct cr_chan c;
	pid_t pid;

	alarm(20);
	snprintf(name, sizeof(name), "/ipcprof-test-%d", (int)getpid());
	shm = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
	if (shm < 0)
		test_die("shm_open %s", name);
	if (ftruncate(shm, SHM_SIZE) < 0)
		test_die("ftruncate");
	shm_p = map_fd(shm, SHM_SIZE);
	mfd = memfd_create("ipcprof-test", MFD_CLOEXEC);
	if (mfd < 0)
		test_die("memfd_create");
	/* The only bytes copied: a direct write to the memfd, counted as a shm channel. */
	cr_init(&c, "unpaired_memfd_write", "shm_fd", mfd);
	if (cr_count(&c, CR_OUT, write(mfd, buf, sizeof(buf))) != (ssize_t)sizeof(buf))
		test_die("write memfd");
	if (ftruncate(mfd, MEMFD_SIZE) < 0)
		test_die("ftruncate memfd");
	mem_p = map_fd(mfd, MEMFD_SIZE);
	anon_p = mmap(NULL, ANON_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (anon_p == MAP_FAILED)
		test_die("mmap anon");

	pid = fork();
	if (pid < 0)
		test_die("fork");
	if (pid == 0) {
		int fd = shm_open(name, O_RDWR, 0);
		char *p;

		if (fd < 0)
			test_die("child shm_open");
		p = map_fd(fd, SHM_SIZE);
		close(fd);
		memset(p, 'x', SHM_SIZE);
		memset(mem_p, 'y', MEMFD_SIZE);
		memset(anon_p, 'z', ANON_SIZE);
		cr_report_mapping("posix_shm", "posix_shm", name, shm, SHM_SIZE, 0);
		cr_report_mapping("memfd", "memfd", "memfd:ipcprof-test", mfd, MEMFD_SIZE, 0);
		cr_report_mapping("anon", "shared_anon", "", -1, ANON_SIZE, 0);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		test_die("child failed");
	if (shm_p[SHM_SIZE - 1] != 'x' || mem_p[MEMFD_SIZE - 1] != 'y' ||
	    anon_p[ANON_SIZE - 1] != 'z')
		test_die("shared memory not shared");
	if (munmap(shm_p, SHM_SIZE) < 0)
		test_die("munmap");
	cr_report_mapping("posix_shm", "posix_shm", name, shm, SHM_SIZE,
			  CR_MAP_CREATOR | CR_MAP_UNMAPPED);
	cr_report_mapping("memfd", "memfd", "memfd:ipcprof-test", mfd, MEMFD_SIZE, CR_MAP_CREATOR);
	cr_report_mapping("anon", "shared_anon", "", -1, ANON_SIZE, CR_MAP_CREATOR);
	cr_report(&c);
	if (shm_unlink(name) < 0)
		test_die("shm_unlink");
	return 0;
}
