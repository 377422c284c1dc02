/* Synthetic records for the reporter's tests and benchmark: struct ipcprof_record built by hand. */
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "synth.h"

struct ipcprof_record *ipcprof_synth_new(int pid, uint32_t seq, int parent_pid, uint32_t origin,
					 const char *const *argv, uint32_t timeline_cap)
{
	size_t size =
	    ipcprof_sample_area_offset(sizeof(struct ipcprof_record), timeline_cap,
				       sizeof(struct ipcprof_interval), IPCPROF_SYNTH_CHANNELS);
	struct ipcprof_record *r = calloc(1, size);
	if (!r)
		return NULL;
	memcpy(r->magic, IPCPROF_RECORD_MAGIC, sizeof(IPCPROF_RECORD_MAGIC));
	r->version = IPCPROF_RECORD_VERSION;
	r->record_size = sizeof(struct ipcprof_record);
	r->interval_size = sizeof(struct ipcprof_interval);
	r->timeline_cap = timeline_cap;
	r->channels_offset = ipcprof_channels_offset(sizeof(struct ipcprof_record), timeline_cap,
						     sizeof(struct ipcprof_interval));
	r->channels_cap = IPCPROF_SYNTH_CHANNELS;
	r->channel_size = sizeof(struct ipcprof_channel);
	r->file_size = size;
	r->prof.area_offset = size; /* no sample area: see ipcprof_synth_profile */
	r->stack_min_bytes = 1 << 20;
	r->fingerprint_min_bytes = 1 << 16;
	struct ipcprof_process *p = &r->proc;
	p->pid = pid;
	p->ppid = parent_pid ? parent_pid : 1;
	p->parent_pid = parent_pid;
	p->origin = origin;
	p->seq = seq;
	snprintf(p->hostname, sizeof(p->hostname), "synth-host");
	snprintf(p->boot_id, sizeof(p->boot_id), "00000000-0000-4000-8000-000000000001");
	size_t off = 0;
	for (; argv && argv[p->argc]; p->argc++) {
		size_t n = strlen(argv[p->argc]) + 1;
		if (off + n > sizeof(p->argv))
			break;
		memcpy(p->argv + off, argv[p->argc], n);
		off += n;
	}
	p->argv_len = (uint32_t)off;
	if (argv && argv[0])
		snprintf(p->exe, sizeof(p->exe), "%s", argv[0]);
	return r;
}

int ipcprof_synth_channel(struct ipcprof_record *r, uint32_t kind, uint64_t dev, uint64_t ino,
			  uint64_t peer_ino, int fd)
{
	int i = (int)r->channels_used++;
	struct ipcprof_channel *c = &ipcprof_record_channels(r)[i];
	c->kind = kind;
	c->flags = IPCPROF_CH_LOCAL;
	c->dev = dev;
	c->ino = ino;
	c->peer_ino = peer_ino;
	c->first_fd = fd;
	return i;
}

void ipcprof_synth_io(struct ipcprof_record *r, int ch, int dir, uint64_t calls, uint64_t bytes,
		      uint64_t time_ns, uint64_t cpu_ns, int sampled)
{
	struct ipcprof_dir_stats *s = &ipcprof_record_channels(r)[ch].dir[dir];
	s->calls += calls;
	s->bytes += bytes;
	s->time_ns += time_ns;
	if (sampled) {
		s->sampled_calls += calls;
		s->sampled_wall_ns += time_ns;
		s->sampled_cpu_ns += cpu_ns;
	}
	uint64_t each = calls ? bytes / calls : 0;
	if (each > s->max_call_bytes)
		s->max_call_bytes = each;
	if (calls)
		s->hist[ipcprof_hist_bucket(each)] += calls;
}

void ipcprof_synth_interval(struct ipcprof_record *r, int ch, int dir, uint32_t tid,
			    uint64_t start_ns, uint64_t end_ns, uint64_t bytes, uint32_t calls)
{
	uint32_t i = r->intervals_used++;
	if (i >= r->timeline_cap)
		return;
	struct ipcprof_interval *v = &ipcprof_record_timeline(r)[i];
	v->start_ns = start_ns;
	v->end_ns = end_ns;
	v->bytes = bytes;
	v->tid = tid;
	v->calls = calls;
	v->channel = (uint16_t)ch;
	v->dir = (uint8_t)dir;
}

int ipcprof_synth_profile(struct ipcprof_record **rp, uint32_t hz, uint64_t area_cap)
{
	struct ipcprof_record *r = *rp;
	uint64_t off = r->prof.area_offset;
	struct ipcprof_record *n = realloc(r, off + area_cap);
	if (!n)
		return -1;
	memset((char *)n + off, 0, area_cap);
	n->prof.hz = hz;
	n->prof.state = IPCPROF_PROF_ON;
	n->prof.period_ns = hz ? 1000000000u / hz : 0;
	n->prof.area_cap = area_cap;
	n->prof.area_used = 0;
	n->file_size = off + area_cap;
	*rp = n;
	return 0;
}

uint64_t ipcprof_synth_sample(struct ipcprof_record *r, uint32_t tid, uint32_t flags,
			      uint64_t weight, uint32_t depth, const uint64_t *ip)
{
	struct ipcprof_profile *p = &r->prof;
	uint64_t at = p->area_used;
	uint64_t len = sizeof(struct ipcprof_sample_stack) + (uint64_t)depth * sizeof(uint64_t);
	p->area_used += len;
	p->samples += weight;
	p->weight += weight;
	if (at + len > p->area_cap) {
		p->dropped += weight;
		return at;
	}
	struct ipcprof_sample_stack *e =
	    (struct ipcprof_sample_stack *)(void *)((char *)r + p->area_offset + at);
	e->magic = IPCPROF_SAMPLE_MAGIC;
	e->depth = depth;
	e->tid = tid;
	e->flags = flags;
	e->weight = weight;
	memcpy(e->ip, ip, depth * sizeof(uint64_t));
	return at;
}

void ipcprof_synth_tick(struct ipcprof_record *r, uint32_t tid, uint64_t at, uint64_t t_ns,
			uint32_t weight)
{
	struct ipcprof_profile *p = &r->prof;
	uint64_t len = sizeof(struct ipcprof_sample_ticks) + sizeof(struct ipcprof_sample_tick);
	uint64_t off = p->area_used;
	if (off + len > p->area_cap)
		return;
	p->area_used += len;
	struct ipcprof_sample_ticks *c =
	    (struct ipcprof_sample_ticks *)(void *)((char *)r + p->area_offset + off);
	c->magic = IPCPROF_TICKS_MAGIC;
	c->cap = 1;
	c->tid = tid;
	c->used = 1;
	c->tick[0] = (struct ipcprof_sample_tick){
	    .t_ns = t_ns, .entry = (uint32_t)(at / 8), .weight = weight};
}

void ipcprof_synth_sample_wait(struct ipcprof_record *r, uint64_t at, uint64_t wait_ns)
{
	struct ipcprof_sample_stack *e =
	    (struct ipcprof_sample_stack *)(void *)((char *)r + r->prof.area_offset + at);
	e->wait_ns = wait_ns;
}

int ipcprof_synth_write(const char *dir, const struct ipcprof_record *r)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%d.%u%s", dir, r->proc.pid, r->proc.seq,
		 IPCPROF_RECORD_SUFFIX);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	/* Only the used parts: like the preload's mapped file, the rest stays a hole. */
	const char *base = (const char *)r;
	size_t head = offsetof(struct ipcprof_record, mappings);
	size_t chans = r->channels_used * sizeof(struct ipcprof_channel);
	int rc = 0;
	if (pwrite(fd, base, head, 0) != (ssize_t)head)
		rc = -1;
	if (rc == 0 && chans &&
	    pwrite(fd, base + r->channels_offset, chans, (off_t)r->channels_offset) !=
		(ssize_t)chans)
		rc = -1;
	size_t rest = offsetof(struct ipcprof_record, mappings);
	size_t tail = sizeof(struct ipcprof_record) - rest;
	if (rc == 0 && pwrite(fd, base + rest, tail, (off_t)rest) != (ssize_t)tail)
		rc = -1;
	uint32_t n = r->intervals_used < r->timeline_cap ? r->intervals_used : r->timeline_cap;
	size_t tl = n * sizeof(struct ipcprof_interval);
	if (rc == 0 && tl &&
	    pwrite(fd, base + r->record_size, tl, (off_t)r->record_size) != (ssize_t)tl)
		rc = -1;
	/* The sample area's used part; the rest is a hole, as the preload leaves it. */
	uint64_t au = r->prof.area_used < r->prof.area_cap ? r->prof.area_used : r->prof.area_cap;
	if (rc == 0 && au &&
	    pwrite(fd, base + r->prof.area_offset, au, (off_t)r->prof.area_offset) != (ssize_t)au)
		rc = -1;
	if (rc == 0 && ftruncate(fd, (off_t)r->file_size) != 0)
		rc = -1;
	if (close(fd) != 0)
		rc = -1;
	return rc;
}
