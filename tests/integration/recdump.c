/* recdump: validates .ipcrec files and prints them as JSON lines for the integration tests. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipcprof/record.h"

#include "../common/testutil.h"

/*
 * One line per object, each a JSON object with "type": "proc", "channel", "mapping" or
 * "fingerprint", "python", "prof", "pycode", "sample" (and "interval" with --timeline). Every line names the file's pid and seq, so a
 * reader can group lines without keeping state.
 */

static const char *const kind_names[IPCPROF_KIND_COUNT] = {
#define KIND_NAME(id, value, name) [IPCPROF_KIND_##id] = name,
    IPCPROF_KINDS(KIND_NAME)
#undef KIND_NAME
};

static void put_str(const char *key, const char *s, size_t max)
{
	printf("\"%s\":", key);
	test_put_jstr(s, max);
}

static void put_addr(const char *key, uint16_t family, const uint8_t a[16])
{
	char buf[INET6_ADDRSTRLEN] = "";
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (family == AF_INET || (family == AF_INET6 && !memcmp(a, v4mapped, 12)))
		inet_ntop(AF_INET, a + 12, buf, sizeof(buf));
	else if (family == AF_INET6)
		inet_ntop(AF_INET6, a, buf, sizeof(buf));
	printf(",\"%s\":\"%s\"", key, buf);
}

static void put_dir(const char *key, const struct ipcprof_dir_stats *d)
{
	printf(",\"%s\":{\"calls\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"errors\":%" PRIu64
	       ",\"eagain\":%" PRIu64 ",\"time_ns\":%" PRIu64 ",\"max_call_bytes\":%" PRIu64
	       ",\"sampled_calls\":%" PRIu64 ",\"hist\":[",
	       key, d->calls, d->bytes, d->errors, d->eagain, d->time_ns, d->max_call_bytes,
	       d->sampled_calls);
	for (int i = 0; i < IPCPROF_HIST_BUCKETS; i++)
		printf("%s%" PRIu64, i ? "," : "", d->hist[i]);
	printf("]}");
}

static void put_argv(const struct ipcprof_process *p)
{
	size_t len = p->argv_len < IPCPROF_ARGV_BYTES ? p->argv_len : IPCPROF_ARGV_BYTES;
	size_t i = 0;

	printf(",\"argv\":[");
	for (bool first = true; i < len; first = false) {
		size_t n = strnlen(p->argv + i, len - i);
		if (!first)
			putchar(',');
		test_put_jstr(p->argv + i, n);
		i += n + 1;
	}
	printf("]");
}

static void dump_proc(const char *file, const struct ipcprof_record *r)
{
	const struct ipcprof_process *p = &r->proc;
	const struct ipcprof_dropped *d = &r->dropped;

	printf("{\"type\":\"proc\",");
	put_str("file", file, strlen(file));
	printf(",\"pid\":%d,\"seq\":%u,\"ppid\":%d,\"parent_pid\":%d,\"origin\":%u,\"end_how\":%u,"
	       "\"exit_status\":%d,\"term_signal\":%d,\"start_ns\":%" PRIu64 ",\"end_ns\":%" PRIu64
	       ",\"argc\":%u,",
	       p->pid, p->seq, p->ppid, p->parent_pid, p->origin, p->end_how, p->exit_status,
	       p->term_signal, p->start_ns, p->end_ns, p->argc);
	put_str("exe", p->exe, sizeof(p->exe));
	put_argv(p);
	printf(
	    ",\"channels_used\":%u,\"mappings_used\":%u,\"intervals_used\":%u,\"timeline_cap\":%u,"
	    "\"fingerprint_min_bytes\":%" PRIu64 ",\"stack_min_bytes\":%" PRIu64 ",",
	    r->channels_used, r->mappings_used, r->intervals_used, r->timeline_cap,
	    r->fingerprint_min_bytes, r->stack_min_bytes);
	printf("\"dropped\":{\"channels\":%" PRIu64 ",\"mappings\":%" PRIu64
	       ",\"fingerprints\":%" PRIu64 ",\"stacks\":%" PRIu64 ",\"modules\":%" PRIu64
	       ",\"intervals\":%" PRIu64 ",\"untracked_fds\":%" PRIu64
	       ",\"internal_errors\":%" PRIu64 "}}\n",
	       d->channels, d->mappings, d->fingerprints, d->stacks, d->modules, d->intervals,
	       d->untracked_fds, d->internal_errors);
}

static void dump_channel(const struct ipcprof_record *r, uint32_t i)
{
	const struct ipcprof_channel *c =
	    (const struct ipcprof_channel *)(const void *)((const char *)r + r->channels_offset) +
	    i;

	printf("{\"type\":\"channel\",\"pid\":%d,\"seq\":%u,\"index\":%u,\"kind\":%u,"
	       "\"kind_name\":\"%s\",\"flags\":%u,",
	       r->proc.pid, r->proc.seq, i, c->kind,
	       c->kind < IPCPROF_KIND_COUNT ? kind_names[c->kind] : "invalid", c->flags);
	put_str("plugin", c->plugin, sizeof(c->plugin));
	printf(",\"dev\":%" PRIu64 ",\"ino\":%" PRIu64 ",\"peer_ino\":%" PRIu64
	       ",\"family\":%u,\"local_port\":%u,\"peer_port\":%u",
	       c->dev, c->ino, c->peer_ino, c->family, c->local_port, c->peer_port);
	put_addr("local_addr", c->family, c->local_addr);
	put_addr("peer_addr", c->family, c->peer_addr);
	putchar(',');
	put_str("name", c->name, sizeof(c->name));
	printf(",\"first_fd\":%d,\"first_ns\":%" PRIu64 ",\"last_ns\":%" PRIu64
	       ",\"fds_passed\":%u",
	       c->first_fd, c->first_ns, c->last_ns, c->fds_passed);
	printf(",\"conn_pid\":%u,\"listen_pid\":%u,\"conn_ns\":%" PRIu64, c->conn_pid,
	       c->listen_pid, c->conn_ns);
	put_dir("out", &c->dir[IPCPROF_DIR_OUT]);
	put_dir("in", &c->dir[IPCPROF_DIR_IN]);
	printf("}\n");
}

static void dump_mapping(const struct ipcprof_record *r, uint32_t i)
{
	const struct ipcprof_mapping *m = &r->mappings[i];

	printf("{\"type\":\"mapping\",\"pid\":%d,\"seq\":%u,\"index\":%u,\"kind\":%u,\"flags\":%u,"
	       "\"dev\":%" PRIu64 ",\"ino\":%" PRIu64 ",\"addr\":%" PRIu64 ",\"length\":%" PRIu64
	       ",\"offset\":%" PRIu64 ",\"object_size\":%" PRIu64 ",\"map_ns\":%" PRIu64
	       ",\"unmap_ns\":%" PRIu64 ",\"resident_bytes\":%" PRIu64
	       ",\"prot\":%d,\"map_flags\":%d,",
	       r->proc.pid, r->proc.seq, i, m->kind, m->flags, m->dev, m->ino, m->addr, m->length,
	       m->offset, m->object_size, m->map_ns, m->unmap_ns, m->resident_bytes, m->prot,
	       m->map_flags);
	put_str("name", m->name, sizeof(m->name));
	printf("}\n");
}

static void dump_fingerprints(const struct ipcprof_record *r)
{
	for (uint32_t i = 0; i < IPCPROF_MAX_FINGERPRINTS; i++) {
		const struct ipcprof_fingerprint *f = &r->fingerprints[i];
		if (!f->hash)
			continue;
		printf("{\"type\":\"fingerprint\",\"pid\":%d,\"seq\":%u,\"hash\":%" PRIu64
		       ",\"size\":%" PRIu64 ",\"count\":%" PRIu64 ",\"channel\":%u}\n",
		       r->proc.pid, r->proc.seq, f->hash, f->size, f->count, f->channel);
	}
}

static void dump_timeline(struct ipcprof_record *r)
{
	const struct ipcprof_interval *t = ipcprof_record_timeline(r);
	uint32_t n = r->intervals_used < r->timeline_cap ? r->intervals_used : r->timeline_cap;

	for (uint32_t i = 0; i < n; i++)
		printf("{\"type\":\"interval\",\"pid\":%d,\"seq\":%u,\"tid\":%u,\"channel\":%u,"
		       "\"dir\":%u,\"calls\":%u,\"bytes\":%" PRIu64 ",\"start_ns\":%" PRIu64
		       ",\"end_ns\":%" PRIu64 ",\"reserved0\":%u}\n",
		       r->proc.pid, r->proc.seq, t[i].tid, t[i].channel, t[i].dir, t[i].calls,
		       t[i].bytes, t[i].start_ns, t[i].end_ns, t[i].reserved[0]);
}

/* Reads the whole file; the caller frees it. NULL with errno set on failure. */
/* The file mapped read-only: a record is mostly holes (its channel table and sample area are
 * reserved, not written), which a mapping reads as zeros without copying them. */
static char *slurp(const char *path, size_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && st.st_size > 0) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m != MAP_FAILED) {
			buf = m;
			*size = (size_t)st.st_size;
		}
	}
	close(fd);
	return buf;
}

/* Checks what a reader relies on; returns NULL if fine, else what is wrong. */
static const char *validate(const struct ipcprof_record *r, size_t size)
{
	if (size < sizeof(*r))
		return "shorter than struct ipcprof_record";
	if (memcmp(r->magic, IPCPROF_RECORD_MAGIC, sizeof(IPCPROF_RECORD_MAGIC)))
		return "bad magic";
	if (r->version != IPCPROF_RECORD_VERSION)
		return "unknown version";
	if (r->record_size != sizeof(*r))
		return "record_size differs from sizeof(struct ipcprof_record)";
	if (r->interval_size != sizeof(struct ipcprof_interval))
		return "interval_size differs from sizeof(struct ipcprof_interval)";
	if (r->channels_offset !=
	    ipcprof_channels_offset(r->record_size, r->timeline_cap, r->interval_size))
		return "channels_offset is not where the timeline ends";
	if (r->channel_size != sizeof(struct ipcprof_channel))
		return "channel_size differs from sizeof(struct ipcprof_channel)";
	if (r->prof.area_offset != ipcprof_sample_area_offset(r->record_size, r->timeline_cap,
							      r->interval_size, r->channels_cap))
		return "prof.area_offset is not where the channel table ends";
	if (r->file_size != r->prof.area_offset + r->prof.area_cap)
		return "file_size is not prof.area_offset + prof.area_cap";
	if (r->file_size != size)
		return "file_size differs from the file's size";
	if (r->channels_used > r->channels_cap || r->channels_cap > IPCPROF_MAX_CHANNELS)
		return "channels_used beyond channels_cap";
	if (r->mappings_used > IPCPROF_MAX_MAPPINGS)
		return "mappings_used beyond IPCPROF_MAX_MAPPINGS";
	if (r->modules_used > IPCPROF_MAX_MODULES)
		return "modules_used beyond IPCPROF_MAX_MODULES";
	if (r->proc.argv_len > IPCPROF_ARGV_BYTES)
		return "argv_len beyond IPCPROF_ARGV_BYTES";
	return NULL;
}

/* The sampler's header, and each sampled stack with its frames as [module, ELF address]. */
static void dump_samples(const struct ipcprof_record *r)
{
	const struct ipcprof_profile *p = &r->prof;
	printf("{\"type\":\"python\",\"pid\":%d,\"seq\":%u,\"state\":%u,\"version\":%u,"
	       "\"codes\":%" PRIu64 ",\"codes_dropped\":%" PRIu64 "}\n",
	       r->proc.pid, r->proc.seq, r->py.state, r->py.version, r->py.codes,
	       r->py.codes_dropped);
	printf("{\"type\":\"prof\",\"pid\":%d,\"seq\":%u,\"hz\":%u,\"state\":%u,"
	       "\"period_ns\":%" PRIu64 ",\"area_cap\":%" PRIu64 ",\"area_used\":%" PRIu64
	       ",\"area_alloc\":%" PRIu64 ",\"samples\":%" PRIu64 ",\"weight\":%" PRIu64
	       ",\"dropped\":%" PRIu64 ",\"threads\":%" PRIu64 ",\"timer_errors\":%" PRIu64
	       ",\"user_ns\":%" PRIu64 ",\"sys_ns\":%" PRIu64 "}\n",
	       r->proc.pid, r->proc.seq, p->hz, p->state, p->period_ns, p->area_cap, p->area_used,
	       p->area_alloc, p->samples, p->weight, p->dropped, p->threads, p->timer_errors,
	       r->proc.user_ns, r->proc.sys_ns);
	const char *area = (const char *)r + p->area_offset;
	uint64_t end = p->area_used < p->area_cap ? p->area_used : p->area_cap;
	uint64_t off = 0;
	while (off + sizeof(struct ipcprof_sample_stack) <= end) {
		const struct ipcprof_sample_stack *s = (const void *)(area + off);
		const struct ipcprof_sample_ticks *t = (const void *)(area + off);
		if (t->magic == IPCPROF_TICKS_MAGIC && t->cap && t->used <= t->cap &&
		    off + sizeof(*t) + t->cap * sizeof(t->tick[0]) <= end) {
			for (uint32_t i = 0; i < t->used; i++)
				printf("{\"type\":\"tick\",\"pid\":%d,\"seq\":%u,\"tid\":%u,"
				       "\"t_ns\":%" PRIu64 ",\"entry\":%u,\"weight\":%u}\n",
				       r->proc.pid, r->proc.seq, t->tid, t->tick[i].t_ns,
				       t->tick[i].entry, t->tick[i].weight);
			off += sizeof(*t) + t->cap * sizeof(t->tick[0]);
			continue;
		}
		const struct ipcprof_pycode *c = (const void *)(area + off);
		if (c->magic == IPCPROF_PYCODE_MAGIC && c->size >= sizeof(*c) &&
		    off + c->size <= end &&
		    sizeof(*c) + (uint64_t)c->qualname_len + c->filename_len + c->linetable_len <=
			c->size) {
			printf("{\"type\":\"pycode\",\"pid\":%d,\"seq\":%u,\"id\":%" PRIu64
			       ",\"code\":%" PRIu64
			       ",\"firstlineno\":%d,\"linetable_len\":%u,\"qualname\":",
			       r->proc.pid, r->proc.seq, off / 8 + 1, c->code, c->firstlineno,
			       c->linetable_len);
			char name[IPCPROF_PATH_BYTES * 4 + 1];
			size_t nl =
			    c->qualname_len < sizeof(name) - 1 ? c->qualname_len : sizeof(name) - 1;
			memcpy(name, c->data, nl);
			name[nl] = '\0';
			test_put_jstr(name, sizeof(name));
			printf(",\"filename\":");
			nl =
			    c->filename_len < sizeof(name) - 1 ? c->filename_len : sizeof(name) - 1;
			memcpy(name, c->data + c->qualname_len, nl);
			name[nl] = '\0';
			test_put_jstr(name, sizeof(name));
			printf("}\n");
			off += c->size;
			continue;
		}
		if (s->magic != IPCPROF_SAMPLE_MAGIC || s->depth == 0 ||
		    s->depth > IPCPROF_SAMPLE_DEPTH || off + sizeof(*s) + s->depth * 8ull > end) {
			off += 8;
			continue;
		}
		uint64_t entry = off / 8;
		off += sizeof(*s) + s->depth * 8ull;
		if (!s->weight)
			continue;
		printf("{\"type\":\"sample\",\"pid\":%d,\"seq\":%u,\"tid\":%u,\"flags\":%u,"
		       "\"entry\":%" PRIu64 ",\"weight\":%" PRIu64 ",\"wait_ns\":%" PRIu64
		       ",\"frames\":[",
		       r->proc.pid, r->proc.seq, s->tid, s->flags, entry, s->weight, s->wait_ns);
		for (uint32_t i = 0; i < s->depth; i++) {
			if (s->ip[i] & IPCPROF_PYFRAME_BIT) {
				/* ["py", code object, instruction (code units), outermost of its
				 * eval-loop call] */
				printf("%s[\"py\",%" PRIu64 ",%u,%s]", i ? "," : "",
				       ipcprof_pyframe_id(s->ip[i]), ipcprof_pyframe_unit(s->ip[i]),
				       s->ip[i] & IPCPROF_PYFRAME_ENTRY ? "true" : "false");
				continue;
			}
			const struct ipcprof_module *m = NULL;
			for (uint32_t k = 0; k < r->modules_used && k < IPCPROF_MAX_MODULES; k++)
				if (s->ip[i] >= r->modules[k].start && s->ip[i] < r->modules[k].end)
					m = &r->modules[k];
			printf("%s[", i ? "," : "");
			if (m)
				test_put_jstr(m->path, sizeof(m->path));
			else
				printf("null");
			printf(",%" PRIu64 "]", s->ip[i] - (m ? m->base : 0));
		}
		printf("]}\n");
	}
}

static int dump_file(const char *path, const char *label, bool timeline)
{
	size_t size = 0;
	char *buf = slurp(path, &size);
	struct ipcprof_record *r = (struct ipcprof_record *)(void *)buf;
	const char *bad;

	if (!buf) {
		fprintf(stderr, "recdump: %s: %s\n", path, strerror(errno));
		return -1;
	}
	bad = validate(r, size);
	if (bad) {
		fprintf(stderr, "recdump: %s: %s\n", path, bad);
		munmap(buf, size);
		return -1;
	}
	dump_proc(label, r);
	for (uint32_t i = 0; i < r->channels_used; i++)
		dump_channel(r, i);
	for (uint32_t i = 0; i < r->mappings_used; i++)
		dump_mapping(r, i);
	dump_fingerprints(r);
	dump_samples(r);
	if (timeline)
		dump_timeline(r);
	munmap(buf, size);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_record(const struct dirent *e)
{
	size_t n = strlen(e->d_name), s = strlen(IPCPROF_RECORD_SUFFIX);
	return n > s && !strcmp(e->d_name + n - s, IPCPROF_RECORD_SUFFIX);
}

static int dump_dir(const char *dir, bool timeline)
{
	struct dirent **list;
	int n = scandir(dir, &list, is_record, by_name), rc = 0;

	if (n < 0) {
		fprintf(stderr, "recdump: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
		if (dump_file(path, list[i]->d_name, timeline) < 0)
			rc = -1;
		free(list[i]);
	}
	free(list);
	return rc;
}

int main(int argc, char **argv)
{
	bool timeline = false;
	int rc = 0, first = 1;

	if (argc > 1 && !strcmp(argv[1], "--timeline")) {
		timeline = true;
		first = 2;
	}
	if (first >= argc) {
		fprintf(stderr, "usage: recdump [--timeline] FILE.ipcrec|SESSION_DIR...\n");
		return 2;
	}
	for (int i = first; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "recdump: %s: %s\n", argv[i], strerror(errno));
			rc = 1;
		} else if (S_ISDIR(st.st_mode) ? dump_dir(argv[i], timeline) < 0
					       : dump_file(argv[i], argv[i], timeline) < 0) {
			rc = 1;
		}
	}
	return rc;
}
