/* Prints a kernel.ipckrn file as one JSON document, for the probe tests' checker (and for humans).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ipcprof/kernel.h>

#include "../common/testutil.h"

static const char *const kfd_names[IPCPROF_KFD_COUNT] = {
    "pipe", "fifo", "unix_stream",  "unix_dgram", "unix_seqpacket",
    "tcp",  "udp",  "socket_other", "other"};
static const char *const dir_names[IPCPROF_KDIR_COUNT] = {"out", "in"};
static const char *const fam_names[IPCPROF_KFAM_COUNT] = {"rw",   "vec",    "msg",
							  "mmsg", "splice", "sendfile"};
static const char *const wait_names[IPCPROF_KWAIT_COUNT] = {"poll", "futex"};
static const char *const fault_names[IPCPROF_KFAULT_COUNT] = {"shmem", "shared_file", "other"};

static void calls_json(const struct ipcprof_kernel_calls *c)
{
	printf("\"calls\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"errors\":%" PRIu64
	       ",\"eagain\":%" PRIu64 ",\"time_ns\":%" PRIu64 ",\"blocked_ns\":%" PRIu64
	       ",\"runq_ns\":%" PRIu64 ",\"blocks\":%" PRIu64,
	       c->calls, c->bytes, c->errors, c->eagain, c->time_ns, c->blocked_ns, c->runq_ns,
	       c->blocks);
}

/* Only the cells that saw a call: most of the table is zero. */
static void stats_json(const struct ipcprof_kernel_stats *s)
{
	const char *sep = "";
	int k, d, f;

	printf("{\"io\":[");
	for (k = 0; k < IPCPROF_KFD_COUNT; k++)
		for (d = 0; d < IPCPROF_KDIR_COUNT; d++)
			for (f = 0; f < IPCPROF_KFAM_COUNT; f++) {
				const struct ipcprof_kernel_calls *c = &s->io[k][d][f];

				if (!c->calls && !c->blocked_ns && !c->runq_ns)
					continue;
				printf("%s{\"kind\":\"%s\",\"dir\":\"%s\",\"family\":\"%s\",", sep,
				       kfd_names[k], dir_names[d], fam_names[f]);
				calls_json(c);
				putchar('}');
				sep = ",";
			}
	printf("],\"wait\":{");
	for (k = 0; k < IPCPROF_KWAIT_COUNT; k++) {
		printf("%s\"%s\":{", k ? "," : "", wait_names[k]);
		calls_json(&s->wait[k]);
		putchar('}');
	}
	printf("},\"faults\":{");
	for (k = 0; k < IPCPROF_KFAULT_COUNT; k++)
		printf("%s\"%s\":{\"faults\":%" PRIu64 ",\"write_faults\":%" PRIu64
		       ",\"bytes\":%" PRIu64 "}",
		       k ? "," : "", fault_names[k], s->faults[k].faults, s->faults[k].write_faults,
		       s->faults[k].bytes);
	printf("},\"sched\":{\"run_ns\":%" PRIu64 ",\"blocked_ns\":%" PRIu64 ",\"runq_ns\":%" PRIu64
	       ",\"voluntary_switches\":%" PRIu64 ",\"involuntary_switches\":%" PRIu64 "}}",
	       s->sched.run_ns, s->sched.blocked_ns, s->sched.runq_ns, s->sched.voluntary_switches,
	       s->sched.involuntary_switches);
}

static int bad(const char *path, const char *what)
{
	fprintf(stderr, "krndump: %s: %s\n", path, what);
	return 1;
}

int main(int argc, char **argv)
{
	struct ipcprof_kernel_header h;
	const struct ipcprof_kernel_dropped *dr;
	unsigned char *buf;
	long size;
	FILE *f;
	uint32_t i, t;

	if (argc != 2) {
		fprintf(stderr, "usage: krndump FILE.ipckrn\n");
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (!f) {
		fprintf(stderr, "krndump: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return bad(argv[1], "cannot read");
	}
	buf = malloc((size_t)size + 1);
	if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
		fclose(f);
		free(buf);
		return bad(argv[1], "cannot read");
	}
	fclose(f);
	if ((size_t)size < sizeof(h))
		return bad(argv[1], "shorter than its header");
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, IPCPROF_KERNEL_MAGIC, sizeof(h.magic)))
		return bad(argv[1], "not a kernel.ipckrn file (bad magic)");
	if (h.version != IPCPROF_KERNEL_VERSION)
		return bad(argv[1], "unknown version");
	/* This reader knows this version's sizes: smaller tables would be a broken file. */
	if (h.header_size < sizeof(h) || h.image_size < sizeof(struct ipcprof_kernel_image) ||
	    h.thread_size < sizeof(struct ipcprof_kernel_thread))
		return bad(argv[1], "tables smaller than this version's");
	if ((uint64_t)size != (uint64_t)h.header_size + (uint64_t)h.images * h.image_size +
				  (uint64_t)h.threads * h.thread_size)
		return bad(argv[1], "size does not match its header");
	dr = &h.dropped;
	printf("{\"version\":%" PRIu32 ",\"mode\":\"%s\",\"root_pid\":%" PRId32
	       ",\"page_size\":%" PRIu32 ",\"start_ns\":%" PRIu64 ",\"follow_ns\":%" PRIu64
	       ",\"end_ns\":%" PRIu64 ",\"dropped\":{\"images\":%" PRIu64 ",\"threads\":%" PRIu64
	       ",\"calls\":%" PRIu64 ",\"mmsg_messages\":%" PRIu64 ",\"fault_lookups\":%" PRIu64
	       "},\"images\":[",
	       h.version, h.mode == IPCPROF_KMODE_SCHED ? "sched" : "syscalls", h.root_pid,
	       h.page_size, h.start_ns, h.follow_ns, h.end_ns, dr->images, dr->threads, dr->calls,
	       dr->mmsg_messages, dr->fault_lookups);
	for (i = 0; i < h.images; i++) {
		struct ipcprof_kernel_image im;

		memcpy(&im, buf + h.header_size + (size_t)i * h.image_size, sizeof(im));
		if (im.thread_count && ((uint64_t)im.thread_first + im.thread_count > h.threads))
			return bad(argv[1], "an image's threads lie outside the thread table");
		printf("%s{\"pid\":%" PRId32 ",\"parent_pid\":%" PRId32 ",\"seq\":%" PRIu32
		       ",\"end_how\":%" PRIu32 ",\"exit_code\":%" PRId32 ",\"threads\":%" PRIu32
		       ",\"start_ns\":%" PRIu64 ",\"end_ns\":%" PRIu64 ",\"comm\":",
		       i ? "," : "", im.pid, im.parent_pid, im.seq, im.end_how, im.exit_code,
		       im.threads, im.start_ns, im.end_ns);
		test_put_jstr(im.comm, sizeof(im.comm));
		printf(",\"exe\":");
		test_put_jstr(im.exe, sizeof(im.exe));
		printf(",\"total\":");
		stats_json(&im.total);
		printf(",\"thread_entries\":[");
		for (t = 0; t < im.thread_count; t++) {
			struct ipcprof_kernel_thread th;

			memcpy(&th,
			       buf + h.header_size + (size_t)h.images * h.image_size +
				   (size_t)(im.thread_first + t) * h.thread_size,
			       sizeof(th));
			printf("%s{\"pid\":%" PRId32 ",\"tid\":%" PRId32 ",\"seq\":%" PRIu32
			       ",\"start_ns\":%" PRIu64 ",\"end_ns\":%" PRIu64 ",\"comm\":",
			       t ? "," : "", th.pid, th.tid, th.seq, th.start_ns, th.end_ns);
			test_put_jstr(th.comm, sizeof(th.comm));
			printf(",\"stats\":");
			stats_json(&th.stats);
			putchar('}');
		}
		printf("]}");
	}
	printf("]}\n");
	free(buf);
	return 0;
}
