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
	    r->interval_size != sizeof(struct ipcprof_interval)) {
		snprintf(
		    msg, msglen,
		    "record layout differs (record %u bytes, interval %u bytes; expected %zu and "
		    "%zu): written by another build of ipcprof",
		    r->record_size, r->interval_size, sizeof(struct ipcprof_record),
		    sizeof(struct ipcprof_interval));
		return -1;
	}
	if (r->file_size !=
	    (uint64_t)r->record_size + (uint64_t)r->timeline_cap * r->interval_size) {
		snprintf(msg, msglen, "corrupt header: file_size %llu does not match %u intervals",
			 (unsigned long long)r->file_size, r->timeline_cap);
		return -1;
	}
	if (size < r->record_size) {
		snprintf(msg, msglen, "truncated: %zu of the record's %u bytes", size,
			 r->record_size);
		return -1;
	}
	if (r->channels_used > IPCPROF_MAX_CHANNELS || r->mappings_used > IPCPROF_MAX_MAPPINGS ||
	    r->modules_used > IPCPROF_MAX_MODULES) {
		snprintf(msg, msglen, "corrupt header: table counts beyond their sizes");
		return -1;
	}
	if (r->proc.seq > 1000000 || r->proc.argv_len > IPCPROF_ARGV_BYTES) {
		snprintf(msg, msglen, "corrupt process header");
		return -1;
	}
	if (size < r->file_size) {
		uint64_t have = (size - r->record_size) / r->interval_size;
		snprintf(msg, msglen, "truncated timeline: %llu of %u intervals present",
			 (unsigned long long)have, r->timeline_cap);
		return 1;
	}
	return 0;
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

static int copy_record(const struct ipcprof_record *r, size_t size, struct ipcprof_image *img)
{
	img->last_ns = r->last_ns;
	img->stack_min_bytes = r->stack_min_bytes;
	img->fingerprint_min_bytes = r->fingerprint_min_bytes;
	img->proc = r->proc;
	img->dropped = r->dropped;
	img->nchan = r->channels_used;
	img->nmap = r->mappings_used;
	img->nmod = r->modules_used;
	img->chan = dup_mem(r->channels, img->nchan * sizeof(*img->chan));
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
	if (read_at(fd, r, offsetof(struct ipcprof_record, channels),
		    r->channels_used * sizeof(struct ipcprof_channel)) < 0 ||
	    read_at(fd, r, offsetof(struct ipcprof_record, mappings),
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
	if (st.st_size == 0) {
		snprintf(msg, msglen, "empty file");
		goto out;
	}
	size_t size = (size_t)st.st_size;
	size_t head = offsetof(struct ipcprof_record, channels);
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
	if (copy_record(scratch, size, img) < 0) {
		snprintf(msg, msglen, "out of memory");
		rc = -1;
		goto out;
	}
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
		if (r < 0 || r > 0)
			ipcprof_damage_add(m, path, msg);
		if (r >= 0) {
			img->session = index;
			m->nimg++;
		} else {
			free(img->chan);
			free(img->map);
			free(img->mod);
			free(img->fp);
			free(img->stack);
			free(img->intervals);
		}
		free(path);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}
