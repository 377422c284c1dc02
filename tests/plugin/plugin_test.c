/* Proves the plugin interface from outside: the example eventfd plugin, loaded at run time, counts exactly. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipcprof/record.h"

static int failures;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			failures++;                                                                \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                       \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
		}                                                                                  \
	} while (0)

/* The workload: a child signals its parent three times through an eventfd, 8 bytes a time. */
static int work(void)
{
	int efd = eventfd(0, 0);
	if (efd < 0)
		return 2;
	pid_t pid = fork();
	if (pid == 0) {
		for (uint64_t i = 1; i <= 3; i++)
			if (write(efd, &i, sizeof(i)) != (ssize_t)sizeof(i))
				_exit(1);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	uint64_t v = 0;
	if (read(efd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return 1;
	printf("eventfd total %llu\n", (unsigned long long)v);
	return v == 6 ? 0 : 1;
}

/* Runs the workload under the preload into dir; returns its stdout in out. */
static int run(const char *self, const char *preload, const char *plugins, const char *dir,
	       char *out, size_t outsize)
{
	int p[2];
	if (pipe(p) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		setenv("LD_PRELOAD", preload, 1);
		setenv("IPCPROF_DIR", dir, 1);
		setenv("IPCPROF_REPORT", "0", 1);
		if (plugins)
			setenv("IPCPROF_PLUGINS", plugins, 1);
		else
			unsetenv("IPCPROF_PLUGINS");
		execl(self, self, "--work", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	ssize_t n = read(p[0], out, outsize - 1);
	out[n > 0 ? n : 0] = 0;
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

struct seen {
	int records;
	int eventfd_channels;
	uint64_t out_calls, out_bytes, in_calls, in_bytes;
	uint64_t ino[4];
	char name[4][IPCPROF_NAME_BYTES];
};

static void scan(const char *dir, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strstr(e->d_name, IPCPROF_RECORD_SUFFIX))
			continue;
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		int fd = open(path, O_RDONLY);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) != 0 ||
		    (size_t)st.st_size < sizeof(struct ipcprof_record)) {
			CHECK(0, "%s: unreadable or short record", path);
			if (fd >= 0)
				close(fd);
			continue;
		}
		const struct ipcprof_record *r =
		    mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
		close(fd);
		CHECK(r != MAP_FAILED, "mmap %s", path);
		if (r == MAP_FAILED)
			continue;
		s->records++;
		CHECK(!memcmp(r->magic, IPCPROF_RECORD_MAGIC, 8), "%s: bad magic", path);
		const struct ipcprof_channel *chans =
		    (const struct ipcprof_channel *)(const void *)((const char *)r +
								   r->channels_offset);
		for (uint32_t i = 0; i < r->channels_used && i < r->channels_cap; i++) {
			const struct ipcprof_channel *c = &chans[i];
			if (strcmp(c->plugin, "eventfd"))
				continue;
			CHECK(c->kind == IPCPROF_KIND_PLUGIN, "eventfd channel kind %u", c->kind);
			if (s->eventfd_channels < 4) {
				s->ino[s->eventfd_channels] = c->ino;
				memcpy(s->name[s->eventfd_channels], c->name, sizeof(c->name));
			}
			s->eventfd_channels++;
			s->out_calls += c->dir[IPCPROF_DIR_OUT].calls;
			s->out_bytes += c->dir[IPCPROF_DIR_OUT].bytes;
			s->in_calls += c->dir[IPCPROF_DIR_IN].calls;
			s->in_bytes += c->dir[IPCPROF_DIR_IN].bytes;
		}
		munmap((void *)r, (size_t)st.st_size);
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--work"))
		return work();
	if (argc != 3) {
		fprintf(stderr, "Usage: %s LIBIPCPROF.so LIBIPCPROF-EVENTFD.so\n", argv[0]);
		return 2;
	}
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 2;
	self[n] = 0;
	char plugin[4096];
	if (!realpath(argv[2], plugin)) {
		fprintf(stderr, "%s: %s\n", argv[2], strerror(errno));
		return 2;
	}
	char base[] = "/tmp/ipcprof-plugin-XXXXXX";
	if (!mkdtemp(base))
		return 2;
	char with[600], without[600], bad[600], out[256];
	snprintf(with, sizeof(with), "%s/with", base);
	snprintf(without, sizeof(without), "%s/without", base);
	snprintf(bad, sizeof(bad), "%s/bad", base);

	/* With the plugin: both ends counted, paired by the eventfd's id. */
	CHECK(run(self, argv[1], plugin, with, out, sizeof(out)) == 0, "workload failed: %s", out);
	CHECK(!strcmp(out, "eventfd total 6\n"), "output: %s", out);
	struct seen s;
	scan(with, &s);
	CHECK(s.records == 2, "records: %d, want 2", s.records);
	CHECK(s.eventfd_channels == 2, "eventfd channels: %d, want 2", s.eventfd_channels);
	CHECK(s.out_calls == 3 && s.out_bytes == 24, "out: %llu calls %llu bytes, want 3/24",
	      (unsigned long long)s.out_calls, (unsigned long long)s.out_bytes);
	CHECK(s.in_calls == 1 && s.in_bytes == 8, "in: %llu calls %llu bytes, want 1/8",
	      (unsigned long long)s.in_calls, (unsigned long long)s.in_bytes);
	CHECK(s.eventfd_channels < 2 || (s.ino[0] == s.ino[1] && s.ino[0] != 0),
	      "ends not paired: %llu vs %llu", (unsigned long long)s.ino[0],
	      (unsigned long long)s.ino[1]);
	CHECK(!strncmp(s.name[0], "eventfd:", 8), "name %s", s.name[0]);

	/* Without it, an eventfd is not IPC to the built-in plugins: nothing counted. */
	CHECK(run(self, argv[1], NULL, without, out, sizeof(out)) == 0, "workload failed");
	scan(without, &s);
	CHECK(s.records == 2 && s.eventfd_channels == 0,
	      "without the plugin: %d records, %d channels", s.records, s.eventfd_channels);

	/* A plugin that cannot load is said once and changes nothing else. */
	CHECK(run(self, argv[1], "/nonexistent/plugin.so", bad, out, sizeof(out)) == 0,
	      "workload failed with a missing plugin");
	CHECK(!strcmp(out, "eventfd total 6\n"), "output with a missing plugin: %s", out);

	char cmd[700];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", base);
	printf("%s: %d failures\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
