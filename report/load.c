/* Reading records: checking a file is a record we can trust, and copying out the parts in use. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"

int ipcprof_record_check(const void *buf, size_t size, char *msg, size_t msglen)
{
	const struct ipcprof_record *r = buf;
	msg[0] = '\0';
	if (size >= sizeof(r->magic) &&
	    memcmp(r->magic, IPCPROF_RECORD_MAGIC, sizeof(IPCPROF_RECORD_MAGIC)) != 0) {
		snprintf(msg, msglen, "not an ipcprof record (no IPCPREC magic)");
		return -1;
	}
	if (size < offsetof(struct ipcprof_record, proc)) {
		snprintf(msg, msglen, "not a record: %zu bytes is shorter than any record header",
			 size);
		return -1;
	}
	if (memcmp(r->magic, IPCPROF_RECORD_MAGIC, sizeof(IPCPROF_RECORD_MAGIC)) != 0) {
		snprintf(msg, msglen, "not an ipcprof record (no IPCPREC magic)");
		return -1;
	}
	if (r->version != IPCPROF_RECORD_VERSION) {
		snprintf(msg, msglen, "record format version %u; this ipcprof reads version %u",
			 r->version, IPCPROF_RECORD_VERSION);
		return -1;
	}
	if (r->record_size != sizeof(struct ipcprof_record) ||
	    r->interval_size != sizeof(struct ipcprof_interval) ||
	    r->channel_size != sizeof(struct ipcprof_channel)) {
		snprintf(msg, msglen,
			 "record layout differs (record %u bytes, interval %u bytes, channel %u "
			 "bytes; expected %zu, %zu and %zu): written by another build of ipcprof",
			 r->record_size, r->interval_size, r->channel_size,
			 sizeof(struct ipcprof_record), sizeof(struct ipcprof_interval),
			 sizeof(struct ipcprof_channel));
		return -1;
	}
	if (r->channels_cap > IPCPROF_MAX_CHANNELS ||
	    r->channels_offset !=
		ipcprof_channels_offset(r->record_size, r->timeline_cap, r->interval_size)) {
		snprintf(msg, msglen,
			 "corrupt header: a channel table of %u entries at %llu does not follow "
			 "%u intervals",
			 r->channels_cap, (unsigned long long)r->channels_offset, r->timeline_cap);
		return -1;
	}
	/* The timeline and the channel table must fit below the sample area, wherever the file
	 * says that starts. */
	uint64_t area = ipcprof_sample_area_offset(r->record_size, r->timeline_cap,
						   r->interval_size, r->channels_cap);
	if (r->file_size < area) {
		snprintf(msg, msglen,
			 "corrupt header: file_size %llu does not match %u intervals and %u "
			 "channels",
			 (unsigned long long)r->file_size, r->timeline_cap, r->channels_cap);
		return -1;
	}
	if (size < r->record_size) {
		snprintf(msg, msglen, "truncated: %zu of the record's %u bytes", size,
			 r->record_size);
		return -1;
	}
	if (r->channels_used > r->channels_cap || r->mappings_used > IPCPROF_MAX_MAPPINGS ||
	    r->modules_used > IPCPROF_MAX_MODULES) {
		snprintf(msg, msglen, "corrupt header: table counts beyond their sizes");
		return -1;
	}
	if (r->proc.seq > 1000000 || r->proc.argv_len > IPCPROF_ARGV_BYTES) {
		snprintf(msg, msglen, "corrupt process header");
		return -1;
	}
	uint64_t tl_end = (uint64_t)r->record_size + (uint64_t)r->timeline_cap * r->interval_size;
	if (size < tl_end) {
		uint64_t have = (size - r->record_size) / r->interval_size;
		snprintf(msg, msglen, "truncated timeline: %llu of %u intervals present",
			 (unsigned long long)have, r->timeline_cap);
		return 1;
	}
	return 0;
}

/* Checks the profile header of a record that ipcprof_record_check accepted (size bytes in the
 * file). Returns the bytes of the sample area to read (0 for none); sets msg when the area
 * cannot be used or is cut (then *damaged is set). */
static uint64_t profile_check(const struct ipcprof_record *r, size_t size, char *msg, size_t msglen,
			      bool *damaged)
{
	const struct ipcprof_profile *p = &r->prof;
	uint64_t area = ipcprof_sample_area_offset(r->record_size, r->timeline_cap,
						   r->interval_size, r->channels_cap);
	*damaged = false;
	if (p->area_offset != area || p->area_cap != r->file_size - area || p->area_cap % 8) {
		snprintf(msg, msglen,
			 "corrupt CPU profile header (sample area at %llu, %llu bytes; expected at "
			 "%llu, %llu bytes): CPU samples left out",
			 (unsigned long long)p->area_offset, (unsigned long long)p->area_cap,
			 (unsigned long long)area, (unsigned long long)(r->file_size - area));
		*damaged = true;
		return 0;
	}
	if (p->state > IPCPROF_PROF_FAILED) {
		snprintf(msg, msglen, "corrupt CPU profile header (state %u): CPU samples left out",
			 p->state);
		*damaged = true;
		return 0;
	}
	/* Entries beyond the cap were never written (the sampler counted them as dropped). */
	uint64_t want = p->area_used < p->area_cap ? p->area_used : p->area_cap;
	want &= ~(uint64_t)7;
	if (want && !p->period_ns) {
		snprintf(msg, msglen,
			 "corrupt CPU profile header (period 0): CPU samples left out");
		*damaged = true;
		return 0;
	}
	/* The sampler's rate is 1 Hz at the least: a longer period is damage (and would overflow
	 * the tick times it is added to). */
	if (want && p->period_ns > 1000000000ull) {
		snprintf(msg, msglen,
			 "corrupt CPU profile header (period %llu ns): CPU samples left out",
			 (unsigned long long)p->period_ns);
		*damaged = true;
		return 0;
	}
	uint64_t present = size > area ? size - area : 0;
	if (want > present) {
		uint64_t have = present & ~(uint64_t)7;
		snprintf(msg, msglen, "truncated sample area: %llu of %llu bytes present",
			 (unsigned long long)have, (unsigned long long)want);
		*damaged = true;
		return have;
	}
	return want;
}

/*
 * Reads the entries of a sample area (n bytes, 8-aligned) into img->sample, pointing into buf.
 * An entry with weight 0 is unfinished and skipped. Where no entry starts, the next 8-byte
 * boundary is tried (record.h): zero words (space taken by a writer that was killed) are
 * skipped silently, anything else is damage, counted in img->sample_bad_entries.
 */
/* A raw tick: its stack entry's offset / 8, resolved to a sample once all entries are read. */
struct raw_tick {
	uint64_t t_ns;
	uint32_t entry, weight;
};

static int tick_cmp(const void *a, const void *b)
{
	const struct ipcprof_tick *x = a, *y = b;
	return x->t_ns < y->t_ns ? -1 : x->t_ns > y->t_ns;
}

/* The ticks of the area, each tied to the sample whose entry starts where it says (entries were
 * read in offset order: pos8[i] is sample i's offset / 8); ticks naming no entry are damage. */
static int resolve_ticks(struct ipcprof_image *img, const struct raw_tick *raw, size_t nraw,
			 const uint32_t *pos8)
{
	if (!nraw)
		return 0;
	img->tick = malloc(nraw * sizeof(*img->tick));
	if (!img->tick)
		return -1;
	for (size_t i = 0; i < nraw; i++) {
		size_t lo = 0, hi = img->nsample;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (pos8[mid] < raw[i].entry)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == img->nsample || pos8[lo] != raw[i].entry || !raw[i].weight) {
			img->sample_bad_entries++;
			continue;
		}
		img->tick[img->ntick++] = (struct ipcprof_tick){
		    .t_ns = raw[i].t_ns, .sample = (uint32_t)lo, .weight = raw[i].weight};
	}
	qsort(img->tick, img->ntick, sizeof(*img->tick), tick_cmp);
	return 0;
}

/* A chunk of ticks at pos: its length, or 0 when it is not one (damage). */
static uint64_t parse_ticks(const char *at, uint64_t room, struct raw_tick **raw, size_t *nraw,
			    size_t *cap)
{
	const struct ipcprof_sample_ticks *c = (const void *)at;
	if (!c->cap || c->cap > 4096 || c->used > c->cap)
		return 0;
	uint64_t len = sizeof(*c) + (uint64_t)c->cap * sizeof(c->tick[0]);
	if (len > room)
		return 0;
	for (uint32_t i = 0; i < c->used; i++) {
		if (*nraw == *cap) {
			*cap = *cap ? 2 * *cap : 256;
			struct raw_tick *nr = realloc(*raw, *cap * sizeof(**raw));
			if (!nr)
				return UINT64_MAX;
			*raw = nr;
		}
		(*raw)[(*nraw)++] = (struct raw_tick){.t_ns = c->tick[i].t_ns,
						      .entry = c->tick[i].entry,
						      .weight = c->tick[i].weight};
	}
	return len;
}

static int parse_samples(struct ipcprof_image *img, uint64_t *buf, uint64_t n)
{
	size_t cap = 0, nraw = 0, rawcap = 0, codecap = 0;
	struct raw_tick *raw = NULL;
	uint32_t *pos8 = NULL;
	int rc = -1;
	bool in_bad = false;
	for (uint64_t pos = 0; pos + sizeof(struct ipcprof_sample_stack) <= n;) {
		const struct ipcprof_sample_stack *e =
		    (const struct ipcprof_sample_stack *)(const void *)((const char *)buf + pos);
		if (e->magic == IPCPROF_TICKS_MAGIC) {
			uint64_t len =
			    parse_ticks((const char *)buf + pos, n - pos, &raw, &nraw, &rawcap);
			if (len == UINT64_MAX)
				goto out;
			if (len) {
				in_bad = false;
				pos += len;
				continue;
			}
		}
		const struct ipcprof_pycode *c =
		    (const struct ipcprof_pycode *)(const void *)((const char *)buf + pos);
		if (c->magic == IPCPROF_PYCODE_MAGIC && c->size >= sizeof(*c) && !(c->size & 7) &&
		    c->size <= n - pos &&
		    sizeof(*c) + (uint64_t)c->qualname_len + c->filename_len + c->linetable_len <=
			c->size) {
			if (ipcprof_pycode_add(img, c, pos, &codecap) < 0)
				goto out;
			in_bad = false;
			pos += c->size;
			continue;
		}
		if (e->magic != IPCPROF_SAMPLE_MAGIC || !e->depth ||
		    e->depth > IPCPROF_SAMPLE_DEPTH) {
			/* A magic word with depth 0 is an entry whose writer stopped there. */
			bool quiet =
			    (e->magic == 0 || e->magic == IPCPROF_SAMPLE_MAGIC) && e->depth == 0;
			/* One damaged stretch counts once, zero words within it included. */
			if (!quiet && !in_bad)
				img->sample_bad_entries++;
			in_bad = in_bad || !quiet;
			pos += 8;
			continue;
		}
		uint64_t len = sizeof(*e) + (uint64_t)e->depth * sizeof(uint64_t);
		if (pos + len > n) {
			/* Cut by the end of what was handed out or present. */
			img->sample_bad_entries++;
			break;
		}
		in_bad = false;
		if (e->weight) {
			if (img->nsample == cap) {
				cap = cap ? 2 * cap : 256;
				struct ipcprof_sample *ns =
				    realloc(img->sample, cap * sizeof(*img->sample));
				uint32_t *np = realloc(pos8, cap * sizeof(*pos8));
				if (np)
					pos8 = np;
				if (!ns)
					goto out;
				img->sample = ns;
				if (!np)
					goto out;
			}
			pos8[img->nsample] = (uint32_t)(pos / 8);
			img->sample[img->nsample++] = (struct ipcprof_sample){
			    .tid = e->tid,
			    .flags = e->flags,
			    .depth = e->depth,
			    .weight = e->weight,
			    .wait_ns = e->wait_ns,
			    .ip = e->ip,
			    .cat = IPCPROF_CAT_COMPUTE,
			};
		}
		pos += len;
	}
	ipcprof_pycode_sort(img);
	rc = resolve_ticks(img, raw, nraw, pos8);
out:
	free(raw);
	free(pos8);
	return rc;
}

/* Reads the used part of the sample area (the rest of it is holes). Returns 0 when whole, 1 with
 * msg set when samples were lost to damage, -1 when out of memory. */
static int read_samples(int fd, const struct ipcprof_record *r, size_t size,
			struct ipcprof_image *img, char *msg, size_t msglen)
{
	bool damaged;
	char why[200] = "";
	img->prof = r->prof;
	img->py = r->py;
	uint64_t n = profile_check(r, size, why, sizeof(why), &damaged);
	if (img->prof.period_ns > 1000000000ull)
		img->prof.period_ns = 0; /* damage (see profile_check): it times nothing */
	if (n) {
		img->sample_buf = malloc(n);
		if (!img->sample_buf)
			return -1;
		uint64_t got = 0;
		while (got < n) {
			ssize_t k = pread(fd, (char *)img->sample_buf + got, n - got,
					  (off_t)(r->prof.area_offset + got));
			if (k <= 0)
				break;
			got += (uint64_t)k;
		}
		if (got < n) {
			snprintf(why, sizeof(why),
				 "sample area unreadable: %llu of %llu bytes read",
				 (unsigned long long)got, (unsigned long long)n);
			damaged = true;
		}
		if (parse_samples(img, img->sample_buf, got & ~(uint64_t)7) < 0)
			return -1;
	}
	if (img->sample_bad_entries && !why[0]) {
		snprintf(why, sizeof(why), "sample area: %llu damaged entr%s skipped",
			 (unsigned long long)img->sample_bad_entries,
			 img->sample_bad_entries == 1 ? "y" : "ies");
		damaged = true;
	}
	if (!damaged)
		return 0;
	if (msg[0]) {
		size_t l = strlen(msg);
		snprintf(msg + l, msglen - l, "; %s", why);
	} else {
		snprintf(msg, msglen, "%s", why);
	}
	return 1;
}

static void *dup_mem(const void *p, size_t n)
{
	void *q = malloc(n ? n : 1);
	if (q && n)
		memcpy(q, p, n);
	return q;
}

/* Forces every string field to end within its array: the file may be damaged or half-written. */
static void terminate_strings(struct ipcprof_image *img)
{
	struct ipcprof_process *p = &img->proc;
	p->exe[sizeof(p->exe) - 1] = '\0';
	p->hostname[sizeof(p->hostname) - 1] = '\0';
	p->boot_id[sizeof(p->boot_id) - 1] = '\0';
	p->argv[sizeof(p->argv) - 1] = '\0';
	for (uint32_t i = 0; i < img->nchan; i++) {
		img->chan[i].name[sizeof(img->chan[i].name) - 1] = '\0';
		img->chan[i].plugin[sizeof(img->chan[i].plugin) - 1] = '\0';
		if (img->chan[i].kind >= IPCPROF_KIND_COUNT)
			img->chan[i].kind = IPCPROF_KIND_NONE;
	}
	for (uint32_t i = 0; i < img->nmap; i++)
		img->map[i].name[sizeof(img->map[i].name) - 1] = '\0';
	for (uint32_t i = 0; i < img->nmod; i++)
		img->mod[i].path[sizeof(img->mod[i].path) - 1] = '\0';
}

/* Past these a time is damage (36 years of uptime, the year 2116): kept, it would overflow the
 * signed arithmetic that puts hosts' clocks on one time line. */
#define MONOTONIC_MAX_NS (1ull << 60)
#define REALTIME_MAX_NS  (1ull << 62)

static void clamp(uint64_t *t, uint64_t max)
{
	if (*t > max)
		*t = max;
}

void ipcprof_image_clamp_times(struct ipcprof_image *img)
{
	struct ipcprof_process *p = &img->proc;
	clamp(&p->start_ns, MONOTONIC_MAX_NS);
	clamp(&p->end_ns, MONOTONIC_MAX_NS);
	clamp(&p->start_realtime_ns, REALTIME_MAX_NS);
	clamp(&img->last_ns, MONOTONIC_MAX_NS);
	for (uint32_t i = 0; i < img->nchan; i++) {
		clamp(&img->chan[i].first_ns, MONOTONIC_MAX_NS);
		clamp(&img->chan[i].last_ns, MONOTONIC_MAX_NS);
	}
	for (uint32_t i = 0; i < img->nmap; i++) {
		clamp(&img->map[i].map_ns, MONOTONIC_MAX_NS);
		clamp(&img->map[i].unmap_ns, MONOTONIC_MAX_NS);
	}
	for (uint32_t i = 0; i < img->nfp; i++) {
		clamp(&img->fp[i].first_ns, MONOTONIC_MAX_NS);
		clamp(&img->fp[i].last_ns, MONOTONIC_MAX_NS);
	}
	for (size_t i = 0; i < img->nint; i++) {
		clamp(&img->intervals[i].start_ns, MONOTONIC_MAX_NS);
		clamp(&img->intervals[i].end_ns, MONOTONIC_MAX_NS);
	}
}

/* The channel entries in use and present in a file of size bytes, into img->chan. 1 when the
 * file ends before the last of them. */
static int read_channels(int fd, const struct ipcprof_record *r, size_t size,
			 struct ipcprof_image *img)
{
	uint64_t have = size > r->channels_offset
			    ? (size - r->channels_offset) / sizeof(struct ipcprof_channel)
			    : 0;
	uint32_t n = r->channels_used < have ? r->channels_used : (uint32_t)have;
	img->chan = malloc((n ? n : 1) * sizeof(*img->chan));
	if (!img->chan)
		return -1;
	size_t len = (size_t)n * sizeof(*img->chan);
	for (size_t done = 0; done < len;) {
		ssize_t k = pread(fd, (char *)img->chan + done, len - done,
				  (off_t)(r->channels_offset + done));
		if (k <= 0) {
			n = (uint32_t)(done / sizeof(*img->chan));
			break;
		}
		done += (size_t)k;
	}
	img->nchan = n;
	return n < r->channels_used;
}

static int copy_record(const struct ipcprof_record *r, size_t size, struct ipcprof_image *img)
{
	img->last_ns = r->last_ns;
	img->stack_min_bytes = r->stack_min_bytes;
	img->fingerprint_min_bytes = r->fingerprint_min_bytes;
	img->proc = r->proc;
	img->dropped = r->dropped;
	img->uring = r->uring;
	img->nmap = r->mappings_used;
	img->nmod = r->modules_used;
	img->map = dup_mem(r->mappings, img->nmap * sizeof(*img->map));
	img->mod = dup_mem(r->modules, img->nmod * sizeof(*img->mod));
	uint32_t nfp = 0, nstack = 0;
	for (int i = 0; i < IPCPROF_MAX_FINGERPRINTS; i++)
		nfp += r->fingerprints[i].hash && r->fingerprints[i].count;
	for (int i = 0; i < IPCPROF_MAX_STACKS; i++)
		nstack += r->stacks[i].hash && r->stacks[i].calls;
	img->fp = malloc((nfp ? nfp : 1) * sizeof(*img->fp));
	img->stack = malloc((nstack ? nstack : 1) * sizeof(*img->stack));
	if (!img->chan || !img->map || !img->mod || !img->fp || !img->stack)
		return -1;
	/* Free slots (hash 0) are scattered: the tables are open-addressed. */
	for (int i = 0; i < IPCPROF_MAX_FINGERPRINTS; i++)
		if (r->fingerprints[i].hash && r->fingerprints[i].count)
			img->fp[img->nfp++] = r->fingerprints[i];
	for (int i = 0; i < IPCPROF_MAX_STACKS; i++) {
		const struct ipcprof_stack *s = &r->stacks[i];
		if (s->hash && s->calls) {
			img->stack[img->nstack] = *s;
			if (img->stack[img->nstack].depth > IPCPROF_STACK_DEPTH)
				img->stack[img->nstack].depth = IPCPROF_STACK_DEPTH;
			img->nstack++;
		}
	}
	uint64_t have = (size - r->record_size) / r->interval_size;
	uint64_t used = r->intervals_used < r->timeline_cap ? r->intervals_used : r->timeline_cap;
	if (used > have)
		used = have;
	img->intervals_lost = r->intervals_used > used ? r->intervals_used - used : 0;
	img->intervals = malloc((used ? used : 1) * sizeof(struct ipcprof_interval));
	if (!img->intervals)
		return -1;
	const struct ipcprof_interval *tl =
	    (const struct ipcprof_interval *)(const void *)((const char *)r + r->record_size);
	for (uint64_t i = 0; i < used; i++) {
		const struct ipcprof_interval *iv = &tl[i];
		/* An interval being written may still be zero; a damaged one points nowhere. */
		if (iv->channel >= img->nchan || iv->dir >= IPCPROF_NDIR ||
		    iv->end_ns < iv->start_ns || iv->start_ns == 0)
			continue;
		img->intervals[img->nint++] = *iv;
	}
	terminate_strings(img);
	ipcprof_image_clamp_times(img);
	return 0;
}

/* Reads [off, off + len) of the file into the same place of buf. */
static int read_at(int fd, void *buf, size_t off, size_t len)
{
	while (len) {
		ssize_t n = pread(fd, (char *)buf + off, len, (off_t)off);
		if (n <= 0)
			return -1;
		off += (size_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* Only the parts in use are read: most of a record is unused table space (holes in the file). */
static int read_used(int fd, struct ipcprof_record *r, size_t size)
{
	size_t tables = offsetof(struct ipcprof_record, fingerprints);
	size_t tables_end = offsetof(struct ipcprof_record, modules);
	uint64_t n = r->intervals_used < r->timeline_cap ? r->intervals_used : r->timeline_cap;
	size_t have = (size - r->record_size) / r->interval_size;
	if (n > have)
		n = have;
	if (read_at(fd, r, offsetof(struct ipcprof_record, mappings),
		    r->mappings_used * sizeof(struct ipcprof_mapping)) < 0 ||
	    read_at(fd, r, tables, tables_end - tables) < 0 ||
	    read_at(fd, r, tables_end, r->modules_used * sizeof(struct ipcprof_module)) < 0 ||
	    read_at(fd, r, r->record_size, n * sizeof(struct ipcprof_interval)) < 0)
		return -1;
	return 0;
}

/* One buffer for every record read: the reporter reads them one at a time. */
static struct ipcprof_record *scratch;
static size_t scratch_size;

/* What is known of a record file of size bytes whose process never wrote its header: the pid in
 * its name. */
static void unwritten(const char *path, size_t size, char *msg, size_t msglen)
{
	char *end;
	long pid = strtol(ipcprof_base_name(path), &end, 10);
	char who[40] = "its process";
	if (pid > 0 && *end == '.')
		snprintf(who, sizeof(who), "process %ld", pid);
	snprintf(msg, msglen,
		 "%s was killed (or ended) while starting, before its record was written (%s): "
		 "nothing of it was recorded",
		 who, size ? "the file holds no header yet" : "the file is empty");
}

int ipcprof_image_load(const char *path, struct ipcprof_image *img, char *msg, size_t msglen)
{
	memset(img, 0, sizeof(*img));
	img->parent = -1;
	/* O_NONBLOCK: a FIFO in the folder must not hold the report until a writer comes. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		snprintf(msg, msglen, "cannot open: %s", strerror(errno));
		return -1;
	}
	struct stat st;
	int rc = -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(msg, msglen, "not a regular file");
		goto out;
	}
	size_t size = (size_t)st.st_size;
	size_t head = offsetof(struct ipcprof_record, mappings);
	if (!scratch) {
		scratch_size = sizeof(struct ipcprof_record);
		scratch = calloc(1, scratch_size);
		if (!scratch) {
			snprintf(msg, msglen, "out of memory");
			goto out;
		}
	}
	memset(scratch, 0, head);
	if (read_at(fd, scratch, 0, size < head ? size : head) < 0) {
		snprintf(msg, msglen, "cannot read: %s", strerror(errno));
		goto out;
	}
	static const char zero_magic[sizeof(scratch->magic)];
	if (!size || !memcmp(scratch->magic, zero_magic, sizeof(zero_magic))) {
		unwritten(path, size, msg, msglen);
		rc = IPCPROF_UNWRITTEN;
		goto out;
	}
	rc = ipcprof_record_check(scratch, size, msg, msglen);
	if (rc < 0)
		goto out;
	/* Room for the intervals in use and present, whatever the header claims. */
	uint64_t nint = scratch->intervals_used < scratch->timeline_cap ? scratch->intervals_used
									: scratch->timeline_cap;
	if (nint > (size - scratch->record_size) / scratch->interval_size)
		nint = (size - scratch->record_size) / scratch->interval_size;
	size_t need = scratch->record_size + (size_t)nint * scratch->interval_size;
	if (need > scratch_size) {
		void *p = realloc(scratch, need);
		if (!p) {
			snprintf(msg, msglen, "out of memory");
			rc = -1;
			goto out;
		}
		scratch = p;
		scratch_size = need;
	}
	if (read_used(fd, scratch, size) < 0) {
		snprintf(msg, msglen, "cannot read: %s", strerror(errno));
		rc = -1;
		goto out;
	}
	int crc = read_channels(fd, scratch, size, img);
	if (crc < 0 || copy_record(scratch, size, img) < 0) {
		snprintf(msg, msglen, "out of memory");
		rc = -1;
		goto out;
	}
	if (crc > 0) {
		snprintf(msg, msglen, "truncated channel table: %u of %u entries present",
			 img->nchan, scratch->channels_used);
		rc = 1;
	}
	/* A damaged sample area costs the samples, never the record's other figures. */
	int prc = read_samples(fd, scratch, size, img, msg, msglen);
	if (prc < 0) {
		snprintf(msg, msglen, "out of memory");
		rc = -1;
		goto out;
	}
	if (prc > 0)
		rc = 1;
	img->file = strdup(path);
	img->damaged = rc > 0;
	if (!img->file)
		rc = -1;
out:
	close(fd);
	return rc;
}

int ipcprof_damage_add(struct ipcprof_model *m, const char *file, const char *error)
{
	if (m->ndamage == m->capdamage) {
		int cap = m->capdamage ? 2 * m->capdamage : 8;
		struct ipcprof_damage *d = realloc(m->damage, (size_t)cap * sizeof(*d));
		if (!d)
			return -1;
		m->damage = d;
		m->capdamage = cap;
	}
	m->damage[m->ndamage].file = strdup(file);
	m->damage[m->ndamage].error = strdup(error);
	m->damage[m->ndamage].unwritten = false;
	m->ndamage++;
	return 0;
}

static int has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a > b && !strcmp(s + a - b, suf);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int ipcprof_session_load(struct ipcprof_model *m, int index)
{
	const char *dir = m->session[index];
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!has_suffix(e->d_name, IPCPROF_RECORD_SUFFIX))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			char **nn = realloc(names, cap * sizeof(*nn));
			if (!nn)
				break;
			names = nn;
		}
		names[n] = strdup(e->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(dir) + strlen(names[i]) + 2;
		char *path = malloc(len);
		if (!path) {
			rc = -1;
			break;
		}
		snprintf(path, len, "%s/%s", dir, names[i]);
		if (m->nimg == m->capimg) {
			int c = m->capimg ? 2 * m->capimg : 64;
			struct ipcprof_image *ni = realloc(m->img, (size_t)c * sizeof(*ni));
			if (!ni) {
				free(path);
				rc = -1;
				break;
			}
			m->img = ni;
			m->capimg = c;
		}
		char msg[256];
		struct ipcprof_image *img = &m->img[m->nimg];
		int r = ipcprof_image_load(path, img, msg, sizeof(msg));
		if (r != 0 && ipcprof_damage_add(m, path, msg) == 0)
			m->damage[m->ndamage - 1].unwritten = r == IPCPROF_UNWRITTEN;
		if (r >= 0) {
			img->session = index;
			m->nimg++;
		} else {
			ipcprof_image_free(img);
		}
		free(path);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}
