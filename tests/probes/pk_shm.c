/* Shares memory without any payload on pipes: the creator writes every page of a mapping once,
 * a forked child reads every page. Kinds: posix (shm_open), memfd, anon (MAP_SHARED|MAP_ANONYMOUS).
 */
#include <sys/mman.h>
#include <sys/wait.h>

#include "pk.h"

int main(int argc, char **argv)
{
	size_t size, pages, page = (size_t)sysconf(_SC_PAGESIZE);
	volatile unsigned char *m;
	char name[64];
	int fd = -1, status;
	unsigned sum = 0;
	pid_t pid;

	if (argc != 3) {
		fprintf(stderr, "usage: pk_shm posix|memfd|anon BYTES\n");
		return 2;
	}
	alarm(60);
	size = (size_t)atol(argv[2]);
	pages = size / page;
	if (!strcmp(argv[1], "posix")) {
		snprintf(name, sizeof(name), "/ipcprof-pk-shm-%d", (int)getpid());
		fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd >= 0)
			shm_unlink(name);
	} else if (!strcmp(argv[1], "memfd")) {
		fd = memfd_create("ipcprof-pk-shm", MFD_CLOEXEC);
	} else if (strcmp(argv[1], "anon")) {
		fprintf(stderr, "pk_shm: unknown kind %s\n", argv[1]);
		return 2;
	}
	if (strcmp(argv[1], "anon") && (fd < 0 || ftruncate(fd, (off_t)size) < 0))
		test_die("shared memory object");
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | (fd < 0 ? MAP_ANONYMOUS : 0), fd,
		 0);
	if (m == MAP_FAILED)
		test_die("mmap");
	for (size_t i = 0; i < pages; i++)
		m[i * page] = (unsigned char)(i + 1);
	pk_emit("{\"type\":\"shm\",\"pid\":%d,\"pages\":%zu,\"access\":\"write\"}\n", (int)getpid(),
		pages);
	pid = fork();
	if (pid < 0)
		test_die("fork");
	if (pid == 0) {
		unsigned want = 0;

		for (size_t i = 0; i < pages; i++) {
			sum += m[i * page];
			want += (unsigned char)(i + 1);
		}
		pk_emit("{\"type\":\"shm\",\"pid\":%d,\"pages\":%zu,\"access\":\"read\"}\n",
			(int)getpid(), pages);
		/* The child must see the creator's data through the mapping. */
		_exit(sum == want ? 0 : 1);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		test_die("reader failed");
	return 0;
}
