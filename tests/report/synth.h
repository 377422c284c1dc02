/* Synthetic records for the reporter's tests and benchmark: struct ipcprof_record built by hand. */
#ifndef IPCPROF_SYNTH_H
#define IPCPROF_SYNTH_H

#include <stdint.h>

#include <ipcprof/record.h>

/* Channel entries a synthetic record has room for. */
#define IPCPROF_SYNTH_CHANNELS 1024

/* A zeroed record with its header, process identity and argv filled; timeline_cap intervals
 * follow it. argv ends with NULL. Free with free(). */
struct ipcprof_record *ipcprof_synth_new(int pid, uint32_t seq, int parent_pid, uint32_t origin,
					 const char *const *argv, uint32_t timeline_cap);

/* Adds a channel endpoint and returns its index. */
int ipcprof_synth_channel(struct ipcprof_record *r, uint32_t kind, uint64_t dev, uint64_t ino,
			  uint64_t peer_ino, int fd);

/* Counts calls calls moving bytes bytes (sizes spread evenly) taking time_ns, of which cpu_ns
 * on-CPU. With sampled 0 the CPU clock was never read (cpu_ns is then ignored). */
void ipcprof_synth_io(struct ipcprof_record *r, int ch, int dir, uint64_t calls, uint64_t bytes,
		      uint64_t time_ns, uint64_t cpu_ns, int sampled);

void ipcprof_synth_interval(struct ipcprof_record *r, int ch, int dir, uint32_t tid,
			    uint64_t start_ns, uint64_t end_ns, uint64_t bytes, uint32_t calls);

/* Gives *r (reallocated) a sample area of area_cap bytes, sampling at hz. Returns 0 or -1. */
int ipcprof_synth_profile(struct ipcprof_record **r, uint32_t hz, uint64_t area_cap);

/* Appends a sample-area entry as the sampler would (ip[0] innermost); beyond the area's cap it
 * counts as dropped. Returns the entry's offset in the area. */
uint64_t ipcprof_synth_sample(struct ipcprof_record *r, uint32_t tid, uint32_t flags,
			      uint64_t weight, uint32_t depth, const uint64_t *ip);
/* Sets the CPU wait of the entry ipcprof_synth_sample put at offset at. */
void ipcprof_synth_sample_wait(struct ipcprof_record *r, uint64_t at, uint64_t wait_ns);

/* Appends a chunk of one tick: the sample at entry offset at (from ipcprof_synth_sample) was
 * taken at t_ns on thread tid with weight expirations. */
void ipcprof_synth_tick(struct ipcprof_record *r, uint32_t tid, uint64_t at, uint64_t t_ns,
			uint32_t weight);

/* Writes r as DIR/<pid>.<seq>.ipcrec (sparse, like the preload's). Returns 0 or -1. */
int ipcprof_synth_write(const char *dir, const struct ipcprof_record *r);

#endif
