/* Unit tests of the reporter's pure parts: record checks, strings, attribution, roles, pairing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "report.h"
#include "synth.h"

#define S 1000000000ull

static const char *const argv_py[] = {"/usr/bin/python3", "x.py", NULL};

static void test_record_check(void **state)
{
	(void)state;
	char msg[256];
	struct ipcprof_record *r = ipcprof_synth_new(1, 0, 0, IPCPROF_ORIGIN_ROOT, argv_py, 10);
	size_t size = r->file_size;
	assert_int_equal(ipcprof_record_check(r, size, msg, sizeof(msg)), 0);
	/* a timeline cut short is usable, and says how much is left */
	assert_int_equal(
	    ipcprof_record_check(r, r->record_size + 3 * r->interval_size, msg, sizeof(msg)), 1);
	assert_string_equal(msg, "truncated timeline: 3 of 10 intervals present");
	assert_int_equal(ipcprof_record_check(r, r->record_size - 1, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "truncated"));
	assert_int_equal(ipcprof_record_check(r, 20, msg, sizeof(msg)), -1);
	/* the timeline must fit below the sample area */
	r->file_size = r->prof.area_offset - 1;
	assert_int_equal(ipcprof_record_check(r, size, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "file_size"));
	r->file_size = r->prof.area_offset;
	r->record_size -= 8;
	assert_int_equal(ipcprof_record_check(r, size, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "layout differs"));
	r->record_size += 8;
	r->channels_used = r->channels_cap + 1;
	assert_int_equal(ipcprof_record_check(r, size, msg, sizeof(msg)), -1);
	r->channels_used = 0;
	r->version = 1;
	assert_int_equal(ipcprof_record_check(r, size, msg, sizeof(msg)), -1);
	char want[64];
	snprintf(want, sizeof(want), "version 1; this ipcprof reads version %d",
		 IPCPROF_RECORD_VERSION);
	assert_non_null(strstr(msg, want));
	r->magic[0] = 'X';
	assert_int_equal(ipcprof_record_check(r, size, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "magic"));
	free(r);
}

/* The line of every instruction of a function from its location table, as CPython 3.11, 3.12 and
 * 3.13 themselves give them (co_positions(); made by tests/report/gen_linetable.py with each):
 * short, one-line, no-column, long and no-location entries, lines going back and forth. */
static void test_py_line(void **state)
{
	(void)state;
	static const unsigned char lt[] = {
	    0xf8, 0x80, 0x00, 0xd8, 0x08, 0x09, 0x88, 0x41, 0x89, 0x05, 0x80, 0x41, 0xdd, 0x0d,
	    0x12, 0x90, 0x31, 0x89, 0x58, 0x8c, 0x58, 0xf0, 0x00, 0x01, 0x05, 0x0f, 0xf0, 0x00,
	    0x01, 0x05, 0x0f, 0x88, 0x01, 0xd8, 0x08, 0x09, 0x88, 0x51, 0x89, 0x06, 0x88, 0x01,
	    0x88, 0x01, 0xf0, 0x04, 0x01, 0x09, 0x1c, 0xf0, 0x00, 0x01, 0x09, 0x1c, 0xf0, 0x00,
	    0x01, 0x09, 0x1c, 0xf0, 0x00, 0x01, 0x09, 0x1c, 0xdd, 0x12, 0x17, 0x98, 0x01, 0x91,
	    0x28, 0x94, 0x28, 0xf0, 0x03, 0x01, 0x09, 0x1c, 0xf1, 0x00, 0x01, 0x09, 0x1c, 0xf4,
	    0x00, 0x01, 0x09, 0x1c, 0x80, 0x41, 0xf0, 0x0a, 0x00, 0x0d, 0x0e, 0xd8, 0x0c, 0x0d,
	    0xf0, 0x03, 0x01, 0x0c, 0x0f, 0xf0, 0x00, 0x01, 0x05, 0x0f};
	static const int want[] = {-1, 2, 3, 3, 3, 3, 3, 4, 4, 4,  4,  4,  4, 4, 4, 4,
				   4,  4, 4, 4, 4, 4, 4, 4, 5, 5,  5,  5,  5, 5, 7, 7,
				   7,  7, 8, 8, 8, 8, 8, 8, 8, 8,  8,  8,  8, 8, 8, 8,
				   7,  7, 7, 7, 7, 7, 7, 7, 7, 12, 13, 12, 12};
	static const unsigned char lt312[] = {
	    0x80, 0x00, 0xd8, 0x08, 0x09, 0x88, 0x41, 0x89, 0x05, 0x80, 0x41, 0xdc, 0x0d, 0x12,
	    0x90, 0x31, 0x8b, 0x58, 0xf2, 0x00, 0x01, 0x05, 0x0f, 0x88, 0x01, 0xd8, 0x08, 0x09,
	    0x88, 0x51, 0x89, 0x06, 0x89, 0x01, 0xf0, 0x03, 0x01, 0x05, 0x0f, 0xf4, 0x08, 0x00,
	    0x13, 0x18, 0x98, 0x01, 0x93, 0x28, 0xf6, 0x03, 0x01, 0x09, 0x1c, 0xd8, 0x0d, 0x0e,
	    0xf2, 0x03, 0x00, 0x0a, 0x0b, 0xf0, 0x00, 0x01, 0x09, 0x1c, 0x80, 0x41, 0xf0, 0x00,
	    0x01, 0x09, 0x1c, 0xf0, 0x0a, 0x00, 0x0d, 0x0e, 0xd8, 0x0c, 0x0d, 0xf0, 0x03, 0x01,
	    0x0c, 0x0f, 0xf0, 0x00, 0x01, 0x05, 0x0f, 0xf9, 0xf2, 0x0b, 0x01, 0x09, 0x1c};
	static const int want312[] = {2, 3, 3, 3, 3, 3, 4,  4,  4,  4,  4,  4,  4, 4, 4,
				      4, 4, 4, 4, 4, 5, 5,  5,  5,  5,  5,  4,  8, 8, 8,
				      8, 8, 8, 8, 8, 8, 8,  7,  7,  7,  7,  7,  7, 7, 8,
				      7, 7, 7, 7, 7, 7, 12, 13, 12, 12, -1, -1, 7, 7, 7};
	static const unsigned char lt313[] = {
	    0x80, 0x00, 0xd8, 0x08, 0x09, 0x89, 0x05, 0x80, 0x41, 0xdc, 0x0d, 0x12, 0x90,
	    0x31, 0x8e, 0x58, 0x88, 0x01, 0xd8, 0x08, 0x09, 0x89, 0x06, 0x8a, 0x01, 0xf1,
	    0x03, 0x00, 0x0e, 0x16, 0xf4, 0x08, 0x00, 0x13, 0x18, 0x98, 0x01, 0x94, 0x28,
	    0xf3, 0x03, 0x01, 0x09, 0x1c, 0xd9, 0x12, 0x1a, 0x88, 0x51, 0xf3, 0x03, 0x00,
	    0x0a, 0x0b, 0xd9, 0x12, 0x1a, 0xf0, 0x03, 0x00, 0x05, 0x06, 0xf0, 0x00, 0x01,
	    0x09, 0x1c, 0xf0, 0x0a, 0x00, 0x0d, 0x0e, 0xd8, 0x0c, 0x0d, 0xf0, 0x03, 0x01,
	    0x0c, 0x0f, 0xf0, 0x00, 0x01, 0x05, 0x0f, 0xf9, 0xf2, 0x0b, 0x01, 0x09, 0x1c};
	static const int want313[] = {2, 3, 3, 3, 3, 4,  4,  4,  4,  4,  4,  4, 4, 4, 4, 4,
				      4, 4, 4, 5, 5, 5,  5,  5,  5,  4,  4,  8, 8, 8, 8, 8,
				      8, 8, 8, 8, 8, 8,  7,  7,  7,  7,  8,  8, 8, 7, 7, 7,
				      7, 8, 8, 7, 7, 12, 13, 12, 12, -1, -1, 7, 7, 7};
#define TABLE(l, w)                                                                                \
	{                                                                                          \
		l, sizeof(l), w, sizeof(w) / sizeof(w[0])                                          \
	}
	static const struct {
		const unsigned char *lt;
		size_t n;
		const int *want; /* -1: no location, the first line */
		size_t nwant;
	} tables[] = {TABLE(lt, want), TABLE(lt312, want312), TABLE(lt313, want313)};
#undef TABLE
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (uint32_t u = 0; u < tables[t].nwant; u++)
			assert_int_equal(ipcprof_py_line(tables[t].lt, tables[t].n, 2, u),
					 tables[t].want[u] < 0 ? 2 : tables[t].want[u]);
	/* past the table, and a table cut short: the first line */
	assert_int_equal(ipcprof_py_line(lt, sizeof(lt), 2, 1000), 2);
	assert_int_equal(ipcprof_py_line(lt, 0, 7, 3), 7);
	/* long-form entries of a damaged table, each adding about 2^29 lines: the sum leaves int,
	 * and the first line is the answer (found by the fuzzer as an overflow) */
	unsigned char big[5 * 9];
	for (int e = 0; e < 5; e++)
		memcpy(big + 9 * e, "\xf0\x7e\x7f\x7f\x7f\x3f\x00\x00\x00", 9);
	assert_int_equal(ipcprof_py_line(big, sizeof(big), 7, 4), 7);
	assert_int_equal(ipcprof_py_line(big, sizeof(big), 7, 0), 7 + 536870911);
}

static void test_utf8(void **state)
{
	(void)state;
	struct {
		const char *in, *out;
	} cases[] = {
	    {"plain", "plain"},
	    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	     "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
	    {"a\xff"
	     "b",
	     "a\xef\xbf\xbd"
	     "b"},
	    {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},                 /* overlong '/' */
	    {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate */
	    {"cut \xe2\x82", "cut \xef\xbf\xbd\xef\xbf\xbd"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = ipcprof_utf8_dup(cases[i].in, strlen(cases[i].in) + 1);
		assert_string_equal(s, cases[i].out);
		free(s);
	}
	/* a field without its NUL stops at the field's end */
	char field[4] = {'a', 'b', 'c', 'd'};
	char *s = ipcprof_utf8_dup(field, sizeof(field));
	assert_string_equal(s, "abcd");
	free(s);
}

static void test_term_str(void **state)
{
	(void)state;
	char out[64];
	ipcprof_term_str("\x1b[31mred\x7f", out, sizeof(out));
	assert_string_equal(out, "\\x1b[31mred\\x7f");
	ipcprof_term_str("caf\xc3\xa9 \xc2\x9b \xff", out, sizeof(out));
	assert_string_equal(out, "caf\xc3\xa9 \\xc2\\x9b \\xff");
	ipcprof_term_str("abcdef", out, 4);
	assert_string_equal(out, "abc");
	ipcprof_term_str("\xc3\xa9\xc3\xa9", out, 4); /* never half a character */
	assert_string_equal(out, "\xc3\xa9");
	/* Characters that reorder or break what follows: U+202E, U+2066, U+061C, U+2028. */
	ipcprof_term_str("a\xe2\x80\xae"
			 "b\xe2\x81\xa6"
			 "c\xd8\x9c"
			 "d\xe2\x80\xa8"
			 "e",
			 out, sizeof(out));
	assert_string_equal(out, "a\\u202eb\\u2066c\\u061cd\\u2028e");
	ipcprof_term_str("ab\xe2\x80\xae", out, 8); /* never half an escape */
	assert_string_equal(out, "ab");
}

static void test_fmt(void **state)
{
	(void)state;
	char b[32];
	ipcprof_fmt_bytes(999, b, sizeof(b));
	assert_string_equal(b, "999 B");
	ipcprof_fmt_bytes(160000000, b, sizeof(b));
	assert_string_equal(b, "160 MB");
	ipcprof_fmt_bytes(1500, b, sizeof(b));
	assert_string_equal(b, "1.50 kB");
	ipcprof_fmt_ns(1500000, b, sizeof(b));
	assert_string_equal(b, "1.5 ms");
	ipcprof_fmt_ns(2 * S, b, sizeof(b));
	assert_string_equal(b, "2.00 s");
}

static struct ipcprof_channel chans[4];

static void image_with(struct ipcprof_image *g, uint64_t wall, uint64_t cpu, uint32_t nchan)
{
	memset(g, 0, sizeof(*g));
	g->wall_ns = wall;
	g->proc.user_ns = cpu;
	g->chan = chans;
	g->nchan = nchan;
}

static void test_attribute(void **state)
{
	(void)state;
	struct ipcprof_image g;
	struct ipcprof_attr a;
	memset(chans, 0, sizeof(chans));
	/* sampled: 40% on-CPU of 2 s; the unsampled second channel takes the same ratio */
	chans[0].dir[0] = (struct ipcprof_dir_stats){
	    .time_ns = 2 * S, .sampled_wall_ns = S, .sampled_cpu_ns = 4 * S / 10};
	chans[1].dir[1] = (struct ipcprof_dir_stats){.time_ns = S};
	image_with(&g, 10 * S, 3 * S, 2);
	ipcprof_attribute(&g, &a);
	assert_true(a.split_sampled);
	assert_int_equal(a.ipc_ns, 3 * S);
	assert_int_equal(a.ipc_transfer_ns, 12 * S / 10);
	assert_int_equal(a.ipc_wait_ns, 18 * S / 10);
	assert_int_equal(a.compute_ns, 18 * S / 10);
	assert_int_equal(a.other_ns, 10 * S - 48 * S / 10);
	assert_false(a.basis_thread_sum);

	/* several threads blocked in reads: the summed time exceeds wall time */
	memset(chans, 0, sizeof(chans));
	chans[0].dir[1] =
	    (struct ipcprof_dir_stats){.time_ns = 9 * S, .sampled_wall_ns = S, .sampled_cpu_ns = 0};
	image_with(&g, 5 * S, 2 * S, 1);
	ipcprof_attribute(&g, &a);
	assert_true(a.basis_thread_sum);
	assert_int_equal(a.basis_ns, 11 * S);
	assert_int_equal(a.other_ns, 0);

	/* no sample: all IPC time is wait, and the report says so */
	memset(chans, 0, sizeof(chans));
	chans[0].dir[0] = (struct ipcprof_dir_stats){.time_ns = S};
	image_with(&g, 4 * S, S, 1);
	ipcprof_attribute(&g, &a);
	assert_true(a.split_unknown);
	assert_int_equal(a.ipc_wait_ns, S);
	assert_int_equal(a.ipc_transfer_ns, 0);

	/* the kernel's split wins over samples */
	chans[0].dir[0].sampled_wall_ns = S;
	chans[0].dir[0].sampled_cpu_ns = S;
	g.kernel = true;
	g.kernel_oncpu_ns = S / 4;
	g.kernel_offcpu_ns = 3 * S / 4;
	ipcprof_attribute(&g, &a);
	assert_true(a.split_kernel);
	assert_int_equal(a.ipc_transfer_ns, S / 4);

	/* samples that missed the long blocking calls: transfer is capped by the CPU time */
	memset(chans, 0, sizeof(chans));
	chans[0].dir[1] = (struct ipcprof_dir_stats){
	    .time_ns = 3 * S, .sampled_wall_ns = S / 1000, .sampled_cpu_ns = S / 1000};
	image_with(&g, 4 * S, S / 10, 1);
	ipcprof_attribute(&g, &a);
	assert_int_equal(a.ipc_transfer_ns, S / 10);
	assert_int_equal(a.ipc_wait_ns, 3 * S - S / 10);
	assert_int_equal(a.compute_ns, 0);
	/* ... unless the CPU time is unknown (killed unseen) */
	g.wall_lower_bound = true;
	g.proc.user_ns = 0;
	ipcprof_attribute(&g, &a);
	assert_int_equal(a.ipc_transfer_ns, 3 * S);

	/* a sample reporting more CPU than wall (clock skew) is capped at all on-CPU */
	memset(chans, 0, sizeof(chans));
	chans[0].dir[0] =
	    (struct ipcprof_dir_stats){.time_ns = S, .sampled_wall_ns = S, .sampled_cpu_ns = 2 * S};
	image_with(&g, 4 * S, 2 * S, 1);
	ipcprof_attribute(&g, &a);
	assert_int_equal(a.ipc_transfer_ns, S);
	assert_int_equal(a.compute_ns, S);
}

static void role_of(const char *const *argv, uint32_t origin, const char *parent, int sib,
		    const char *want)
{
	struct ipcprof_record *r = ipcprof_synth_new(5, 0, 1, origin, argv, 0);
	char role[48];
	ipcprof_role(&r->proc, parent, sib, role, sizeof(role));
	assert_string_equal(role, want);
	free(r);
}

static void test_role(void **state)
{
	(void)state;
	static const char *const tracker[] = {
	    "python3", "-c", "from multiprocessing.resource_tracker import main;main(5)", NULL};
	static const char *const spawn[] = {
	    "python3", "-c",
	    "from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=5)",
	    "--multiprocessing-fork", NULL};
	static const char *const server[] = {
	    "python3", "-c", "from multiprocessing.forkserver import main; main(3, 4)", NULL};
	static const char *const ls[] = {"/bin/ls", "-l", NULL};
	role_of(argv_py, IPCPROF_ORIGIN_ROOT, NULL, 0, "main");
	role_of(tracker, IPCPROF_ORIGIN_SPAWN, "main", 0, "resource tracker");
	role_of(spawn, IPCPROF_ORIGIN_SPAWN, "main", 0, "spawned worker");
	role_of(server, IPCPROF_ORIGIN_SPAWN, "main", 0, "forkserver");
	role_of(server, IPCPROF_ORIGIN_FORK, "forkserver", 4, "forkserver");
	role_of(argv_py, IPCPROF_ORIGIN_FORK, "forkserver", 4, "worker (forkserver)");
	role_of(argv_py, IPCPROF_ORIGIN_FORK, "main", 4, "forked worker");
	role_of(argv_py, IPCPROF_ORIGIN_FORK, "main", 1, "forked child");
	role_of(ls, IPCPROF_ORIGIN_EXEC, "forked child", 0, "exec ls");
}

/* Adds an image with one channel to m; the model owns the allocations. */
static struct ipcprof_channel *add_image(struct ipcprof_model *m, int pid, uint32_t kind)
{
	struct ipcprof_image *g = &m->img[m->nimg++];
	memset(g, 0, sizeof(*g));
	g->file = strdup("mem");
	g->proc.pid = pid;
	g->proc.origin = IPCPROF_ORIGIN_ROOT;
	g->proc.start_ns = S;
	g->proc.end_ns = 2 * S;
	g->proc.end_how = IPCPROF_END_EXIT;
	g->nchan = 1;
	g->chan = calloc(1, sizeof(*g->chan));
	g->chan->kind = kind;
	return g->chan;
}

static void set_tcp(struct ipcprof_channel *c, uint8_t la, uint16_t lp, uint8_t pa, uint16_t pp)
{
	static const uint8_t v4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	memcpy(c->local_addr, v4, 12);
	memcpy(c->peer_addr, v4, 12);
	c->local_addr[12] = 10;
	c->local_addr[15] = la;
	c->peer_addr[12] = 10;
	c->peer_addr[15] = pa;
	c->local_port = lp;
	c->peer_port = pp;
}

static void test_pairing(void **state)
{
	(void)state;
	struct ipcprof_model m;
	ipcprof_model_init(&m);
	m.capimg = 8;
	m.img = calloc(8, sizeof(*m.img));
	/* unix socket: only one end knows its peer; the other's peer_ino is 0 */
	struct ipcprof_channel *c = add_image(&m, 10, IPCPROF_KIND_UNIX_STREAM);
	c->ino = 70;
	c->peer_ino = 71;
	c->dir[0] = (struct ipcprof_dir_stats){.calls = 1, .bytes = 100};
	c = add_image(&m, 11, IPCPROF_KIND_UNIX_STREAM);
	c->ino = 71;
	c->dir[1] = (struct ipcprof_dir_stats){.calls = 1, .bytes = 100};
	/* a server's two connections share its local port but are two channels */
	c = add_image(&m, 20, IPCPROF_KIND_TCP);
	set_tcp(c, 1, 80, 2, 5000);
	c->dir[1] = (struct ipcprof_dir_stats){.calls = 1, .bytes = 7};
	c = add_image(&m, 21, IPCPROF_KIND_TCP);
	set_tcp(c, 1, 80, 3, 6000);
	c->dir[1] = (struct ipcprof_dir_stats){.calls = 1, .bytes = 9};
	c = add_image(&m, 22, IPCPROF_KIND_TCP);
	set_tcp(c, 2, 5000, 1, 80);
	c->dir[0] = (struct ipcprof_dir_stats){.calls = 1, .bytes = 7};
	c = add_image(&m, 23, IPCPROF_KIND_TCP);
	set_tcp(c, 3, 6000, 1, 80);
	c->dir[0] = (struct ipcprof_dir_stats){.calls = 1, .bytes = 9};
	assert_int_equal(ipcprof_model_build(&m), 0);
	assert_int_equal(m.nlink, 3);
	for (int l = 0; l < m.nlink; l++) {
		assert_true(m.link[l].paired);
		assert_int_equal(m.link[l].nend, 2);
	}
	assert_int_equal(m.ncell, 3);
	assert_int_equal(m.cell[0].from, 0);
	assert_int_equal(m.cell[0].to, 1);
	assert_int_equal(m.cell[0].bytes, 100);
	assert_int_equal(m.cell[1].from, 4);
	assert_int_equal(m.cell[1].to, 2);
	assert_int_equal(m.cell[1].bytes, 7);
	assert_int_equal(m.cell[2].from, 5);
	assert_int_equal(m.cell[2].to, 3);
	assert_int_equal(m.cell[2].bytes, 9);
	ipcprof_model_free(&m);
}

/* Adds a unix stream end made by connect() (accepted 0) or accept() to image g. */
static struct ipcprof_channel *conn_chan(struct ipcprof_image *g, uint64_t ino, int accepted,
					 uint32_t conn_pid, uint64_t conn_ms, int dir,
					 uint64_t bytes)
{
	struct ipcprof_channel *c = &g->chan[g->nchan++];
	c->kind = IPCPROF_KIND_UNIX_STREAM;
	c->flags = IPCPROF_CH_LOCAL | (accepted ? IPCPROF_CH_ACCEPTED : IPCPROF_CH_CONNECTED);
	c->ino = ino;
	c->conn_pid = conn_pid;
	c->listen_pid = 40;
	c->conn_ns = conn_ms * 1000000u;
	strcpy(c->name, "/run/app.sock");
	if (bytes)
		c->dir[dir] = (struct ipcprof_dir_stats){.calls = 1, .bytes = bytes};
	return c;
}

/* Connections the kernel named no peer for pair by who connected to which listener, in order. */
static void test_pair_connections(void **state)
{
	(void)state;
	struct ipcprof_model m;
	ipcprof_model_init(&m);
	m.capimg = 2;
	m.img = calloc(2, sizeof(*m.img));
	/* Two processes, a client and a server, with room for eight ends each. */
	for (int i = 0; i < 2; i++) {
		struct ipcprof_image *g = &m.img[m.nimg];
		add_image(&m, 30 + i, IPCPROF_KIND_NONE);
		free(g->chan);
		g->chan = calloc(8, sizeof(*g->chan));
		g->nchan = 0;
	}
	struct ipcprof_image *cl = &m.img[0], *sv = &m.img[1];
	/* The client's five connections, in order: one that moved nothing, three whose client closed
	 * before the accept, and one the kernel paired (its client end names the server's). */
	conn_chan(cl, 100, 0, 30, 10, IPCPROF_DIR_OUT, 0);
	conn_chan(cl, 101, 0, 30, 20, IPCPROF_DIR_OUT, 1000);
	conn_chan(cl, 102, 0, 30, 30, IPCPROF_DIR_OUT, 2000);
	conn_chan(cl, 103, 0, 30, 40, IPCPROF_DIR_OUT, 3000);
	conn_chan(cl, 104, 0, 30, 25, IPCPROF_DIR_OUT, 500)->peer_ino = 202;
	/* The server: one accepted before the client connected at all (another client, same pid
	 * number?), then the five in queue order, then one from a process not profiled. */
	conn_chan(sv, 199, 1, 30, 1, IPCPROF_DIR_IN, 9);
	conn_chan(sv, 200, 1, 30, 50, IPCPROF_DIR_IN, 0);
	conn_chan(sv, 201, 1, 30, 51, IPCPROF_DIR_IN, 1000);
	conn_chan(sv, 202, 1, 30, 52, IPCPROF_DIR_IN, 500);
	conn_chan(sv, 203, 1, 30, 53, IPCPROF_DIR_IN, 2000);
	conn_chan(sv, 204, 1, 30, 54, IPCPROF_DIR_IN, 3000);
	conn_chan(sv, 205, 1, 32, 55, IPCPROF_DIR_IN, 7);
	assert_int_equal(ipcprof_model_build(&m), 0);
	/* Four pairs and two single ends; the two that moved nothing are no channel. */
	assert_int_equal(m.nlink, 6);
	int paired = 0;
	for (int l = 0; l < m.nlink; l++) {
		const struct ipcprof_link *k = &m.link[l];
		if (k->nend == 2) {
			paired++;
			assert_true(k->paired);
			assert_int_equal(k->bytes_out, k->bytes_in);
		} else {
			assert_int_equal(k->nend, 1);
			assert_false(k->paired);
			assert_true(k->bytes_in == 9 || k->bytes_in == 7);
		}
	}
	assert_int_equal(paired, 4);
	assert_int_equal(cl->chan_link[0], -1);
	assert_int_equal(sv->chan_link[1], -1);
	assert_int_equal(m.ncell, 1);
	assert_int_equal(m.cell[0].bytes, 6500);
	ipcprof_model_free(&m);
}

static void test_html_safe_json(void **state)
{
	(void)state;
	const char *hostile = "</script><!--<script>&amp;\xe2\x80\xa8";
	json_t *j = json_pack("{s:s}", "argv", hostile);
	size_t len = 0;
	char *buf = ipcprof_json_text(j, &len);
	assert_non_null(buf);
	assert_int_equal(strlen(buf), len);
	assert_null(strchr(buf, '<'));
	assert_null(strchr(buf, '>'));
	assert_null(strchr(buf, '&'));
	json_t *back = json_loads(buf, 0, NULL);
	assert_non_null(back);
	assert_string_equal(json_string_value(json_object_get(back, "argv")), hostile);
	json_decref(back);
	json_decref(j);
	free(buf);
}

/* A record with a sample area written to a file and read back. */
static int load_samples(struct ipcprof_record *r, struct ipcprof_image *g, char *msg, size_t len)
{
	char dir[] = "/tmp/ipcprof-unit.XXXXXX";
	assert_non_null(mkdtemp(dir));
	assert_int_equal(ipcprof_synth_write(dir, r), 0);
	char path[256];
	snprintf(path, sizeof(path), "%s/%d.0%s", dir, r->proc.pid, IPCPROF_RECORD_SUFFIX);
	int rc = ipcprof_image_load(path, g, msg, len);
	unlink(path);
	rmdir(dir);
	return rc;
}

static struct ipcprof_record *sampled_record(uint64_t cap)
{
	struct ipcprof_record *r = ipcprof_synth_new(42, 0, 0, IPCPROF_ORIGIN_ROOT, argv_py, 3);
	assert_non_null(r);
	assert_int_equal(ipcprof_synth_profile(&r, 1000, cap), 0);
	int c = ipcprof_synth_channel(r, IPCPROF_KIND_PIPE, 1, 2, 0, 3);
	ipcprof_synth_io(r, c, IPCPROF_DIR_OUT, 1, 100, S, S, 1);
	return r;
}

static void test_sample_area(void **state)
{
	(void)state;
	char msg[512];
	struct ipcprof_image g;
	const uint64_t ip[3] = {0x1000, 0x2001, 0x3001};
	uint64_t big[IPCPROF_SAMPLE_DEPTH + 1] = {0};

	/* whole: a weight-0 entry (being written) is skipped, nothing is damage */
	struct ipcprof_record *r = sampled_record(4096);
	ipcprof_synth_sample(r, 7, 0, 3, 3, ip);
	ipcprof_synth_sample(r, 7, 0, 0, 2, ip);
	ipcprof_synth_sample(r, 8, IPCPROF_SS_UNWIND, 5, 1, ip);
	assert_int_equal(load_samples(r, &g, msg, sizeof(msg)), 0);
	assert_int_equal(g.nsample, 2);
	assert_int_equal(g.sample[0].weight, 3);
	assert_int_equal(g.sample[0].depth, 3);
	assert_int_equal(g.sample[0].ip[2], 0x3001);
	assert_int_equal(g.sample[1].tid, 8);
	assert_int_equal(g.sample[1].flags, IPCPROF_SS_UNWIND);
	assert_int_equal(g.prof.period_ns, 1000000);
	ipcprof_image_free(&g);
	free(r);

	/* garbage where an entry should start: the next magic is found, the rest is kept */
	r = sampled_record(4096);
	uint64_t at = ipcprof_synth_sample(r, 7, 0, 3, 3, ip);
	ipcprof_synth_sample(r, 9, 0, 4, 2, ip);
	memset((char *)r + r->prof.area_offset + at, 0xa5, 12); /* magic and depth of the first */
	assert_int_equal(load_samples(r, &g, msg, sizeof(msg)), 1);
	assert_string_equal(msg, "sample area: 1 damaged entry skipped");
	assert_int_equal(g.nsample, 1);
	assert_int_equal(g.sample[0].tid, 9);
	assert_int_equal(g.sample[0].weight, 4);
	assert_int_equal(g.nchan, 1); /* the record's other figures stay */
	assert_int_equal(g.chan[0].dir[IPCPROF_DIR_OUT].bytes, 100);
	ipcprof_image_free(&g);
	free(r);

	/* space taken by a writer killed before it wrote anything: zeros, skipped quietly */
	r = sampled_record(4096);
	r->prof.area_used += 64;
	ipcprof_synth_sample(r, 9, 0, 4, 2, ip);
	assert_int_equal(load_samples(r, &g, msg, sizeof(msg)), 0);
	assert_int_equal(g.nsample, 1);
	ipcprof_image_free(&g);
	free(r);

	/* a depth beyond IPCPROF_SAMPLE_DEPTH is damage, not 1 KiB of frames */
	r = sampled_record(8192);
	ipcprof_synth_sample(r, 7, 0, 3, IPCPROF_SAMPLE_DEPTH + 1, big);
	ipcprof_synth_sample(r, 9, 0, 4, IPCPROF_SAMPLE_DEPTH, big);
	assert_int_equal(load_samples(r, &g, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "damaged entr"));
	assert_int_equal(g.nsample, 1);
	assert_int_equal(g.sample[0].depth, IPCPROF_SAMPLE_DEPTH);
	ipcprof_image_free(&g);
	free(r);

	/* area_used beyond area_cap: those entries were dropped by the writer, not damage */
	r = sampled_record(64);
	ipcprof_synth_sample(r, 7, 0, 3, 3, ip); /* 48 bytes */
	ipcprof_synth_sample(r, 7, 0, 2, 3, ip); /* beyond 64: dropped */
	assert_true(r->prof.area_used > r->prof.area_cap);
	assert_int_equal(load_samples(r, &g, msg, sizeof(msg)), 0);
	assert_int_equal(g.nsample, 1);
	assert_int_equal(g.prof.dropped, 2);
	ipcprof_image_free(&g);
	free(r);

	/* a profile header that does not fit the file: samples left out, the rest kept */
	r = sampled_record(4096);
	ipcprof_synth_sample(r, 7, 0, 3, 3, ip);
	r->prof.area_offset += 8;
	assert_int_equal(load_samples(r, &g, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "corrupt CPU profile header"));
	assert_int_equal(g.nsample, 0);
	assert_int_equal(g.nchan, 1);
	ipcprof_image_free(&g);
	r->prof.area_offset -= 8;
	r->prof.period_ns = 0;
	assert_int_equal(load_samples(r, &g, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "period 0"));
	ipcprof_image_free(&g);
	free(r);
}

static void test_rules(void **state)
{
	(void)state;
	char err[512];
	struct ipcprof_rules rs = {0};
	static const char mine[] = "# comment\n"
				   "  serialize any my.so encode_*   # trailing comment\n"
				   "\n"
				   "ipc any mine.so *\r\n"
				   "copy leaf /opt/lib/* fill_*\n";
	assert_int_equal(ipcprof_rules_parse(&rs, mine, sizeof(mine) - 1, "mine", err, sizeof(err)),
			 0);
	assert_int_equal(rs.n, 3);
	assert_int_equal(ipcprof_rules_finish(&rs, err, sizeof(err)), 0);
	/* ipc rules first (the user's, then the built-in one), then the user's, then the rest */
	char line[256];
	ipcprof_rule_text(&rs.r[0], line, sizeof(line));
	assert_string_equal(line, "ipc any mine.so *");
	ipcprof_rule_text(&rs.r[1], line, sizeof(line));
	assert_string_equal(line, "ipc leaf libipcprof.so* *");
	ipcprof_rule_text(&rs.r[2], line, sizeof(line));
	assert_string_equal(line, "serialize any my.so encode_*");

	const char *libc = "/usr/lib/x86_64-linux-gnu/libc.so.6", *py = "/usr/bin/python3.11";
	const char *np = "/usr/lib/python3/dist-packages/numpy/core/"
			 "_multiarray_umath.cpython-311-x86_64-linux-gnu.so";
	struct {
		const char *mod[4], *sym[4];
		size_t n;
		int want;
	} cases[] = {
	    /* pickling that ends in a memmove: serialize comes first */
	    {{libc, py, py},
	     {"__memmove_avx_unaligned_erms", "_Pickler_Write.lto_priv.0",
	      "_pickle_Pickler_dump.lto_priv.0"},
	     3,
	     IPCPROF_CAT_SERIALIZE},
	    {{py, py},
	     {"load_counted_binbytes.lto_priv.0", "_pickle_loads"},
	     2,
	     IPCPROF_CAT_DESERIALIZE},
	    /* zlib's save_unconsumed_input is not pickle's save_* */
	    {{py}, {"save_unconsumed_input"}, 1, IPCPROF_CAT_COMPUTE},
	    {{py}, {"save_reduce.lto_priv.0"}, 1, IPCPROF_CAT_SERIALIZE},
	    /* a copy at the leaf; not when the copy is further out */
	    {{libc, np}, {"__memcpy_chk", "PyArray_NewCopy"}, 2, IPCPROF_CAT_COPY},
	    {{np, libc}, {"PyArray_NewCopy", "memcpy"}, 2, IPCPROF_CAT_COMPUTE},
	    /* numpy's copy loop past libc frames inside it, not past others */
	    {{libc, libc, np},
	     {"__x", "__y", "_aligned_contig_to_contig_size8"},
	     3,
	     IPCPROF_CAT_COPY},
	    {{py, np}, {"x", "_aligned_contig_to_contig_size8"}, 2, IPCPROF_CAT_COMPUTE},
	    /* in the preload: ipc, whatever else; not its main wrapper, under every stack */
	    {{"/x/libipcprof.so", py}, {NULL, "_pickle_dumps.lto_priv.0"}, 2, IPCPROF_CAT_IPC},
	    {{libc, "/x/libipcprof.so", py}, {"read", "read", "os_read"}, 3, IPCPROF_CAT_IPC},
	    {{py, "/x/libipcprof.so"}, {"rangeiter_next", "main_wrapper"}, 2, IPCPROF_CAT_COMPUTE},
	    /* the user's rules: before the built-in ones, module by file name or by path */
	    {{"/opt/my.so", libc}, {"encode_all", "memcpy"}, 2, IPCPROF_CAT_SERIALIZE},
	    {{"/opt/lib/z.so"}, {"fill_buf"}, 1, IPCPROF_CAT_COPY},
	    {{"/opt/my.so"}, {"fill_buf"}, 1, IPCPROF_CAT_COMPUTE},
	    {{libc}, {"memcpy"}, 1, IPCPROF_CAT_COPY},
	    {{NULL}, {NULL}, 1, IPCPROF_CAT_COMPUTE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = ipcprof_rules_classify(&rs, cases[i].n, cases[i].mod, cases[i].sym);
		if (got != cases[i].want)
			fail_msg("case %zu: %s, want %s", i, ipcprof_cat_names[got],
				 ipcprof_cat_names[cases[i].want]);
	}
	ipcprof_rules_free(&rs);

	/* errors name the source and line */
	static const char *const bad[] = {"serialize any x\n", "foo any * *\n", "copy some * *\n",
					  "copy any * * extra\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
		    ipcprof_rules_parse(&rs, bad[i], strlen(bad[i]), "f.rules", err, sizeof(err)),
		    -1);
		assert_non_null(strstr(err, "f.rules:1: "));
		ipcprof_rules_free(&rs);
	}
}

/* The profiler's own time: counts times the costs summary.c states, and its warning both ways. */
static void test_overhead(void **state)
{
	(void)state;
	struct ipcprof_image g;
	struct ipcprof_overhead o;
	memset(chans, 0, sizeof(chans));
	chans[0].dir[0] = (struct ipcprof_dir_stats){.calls = 300000, .sampled_calls = 1000};
	chans[1].dir[1] = (struct ipcprof_dir_stats){.calls = 100000};
	image_with(&g, 2 * S, S, 2);
	g.attr.cpu_ns = S;
	g.prof.samples = 100;
	ipcprof_overhead_of(&g, &o);
	assert_int_equal(o.calls, 400000);
	assert_int_equal(o.timed_calls, 1000);
	assert_int_equal(o.preload_ns, 400000 * 100 + 1000 * 150);
	assert_int_equal(o.sampler_ns, 100 * 20000);
	assert_int_equal(o.start_ns, 1000000);
	assert_int_equal(o.probes_ns, 0); /* no probes: no probe event */
	assert_int_equal(o.total_ns, 40150000 + 2000000 + 1000000);
	assert_false(o.warn); /* 4.3% of 1 s of CPU: under 5% */
	/* Python samples read frames; the probes' programs ran on its faults and switches */
	g.py.state = IPCPROF_PY_ON;
	g.kernel = true;
	g.proc.minflt = 10000;
	g.proc.nvcsw = 1000;
	ipcprof_overhead_of(&g, &o);
	assert_int_equal(o.sampler_ns, 100 * 45000);
	assert_int_equal(o.probe_events, 11000);
	assert_int_equal(o.probes_ns, 10000 * 90 + 1000 * 240);
	assert_false(o.warn); /* 46.8 ms of 1 s: 4.7% */
	g.attr.cpu_ns = S / 2;
	ipcprof_overhead_of(&g, &o);
	assert_true(o.warn); /* 9.4% */
	/* a large share of a process too short to matter is no warning */
	g.attr.cpu_ns = 1000000;
	memset(chans, 0, sizeof(chans));
	g.prof.samples = 0;
	g.kernel = false;
	ipcprof_overhead_of(&g, &o);
	assert_int_equal(o.total_ns, 1000000);
	assert_false(o.warn);
}

/* The serial estimate: compute CPU summed over processes, without its waits for a CPU. */
static void test_serial_estimate(void **state)
{
	(void)state;
	struct ipcprof_image img[2];
	struct ipcprof_model m;
	ipcprof_model_init(&m);
	memset(img, 0, sizeof(img));
	img[0].attr = (struct ipcprof_attr){.cpu_ns = 3 * S,
					    .compute_ns = 2 * S,
					    .cpu_sampled = true,
					    .ipc_transfer_ns = S / 2,
					    .serialize_ns = S};
	img[1].attr = (struct ipcprof_attr){
	    .cpu_ns = 2 * S, .compute_ns = 2 * S, .compute_wait_ns = S / 2, .cpu_sampled = true};
	m.img = img;
	m.nimg = 2;
	m.run_wall_ns = 4 * S;
	struct ipcprof_serial s;
	ipcprof_serial_estimate(&m, &s);
	assert_int_equal(s.serial_ns, 35 * S / 10);
	assert_int_equal(s.left_out_ns, 15 * S / 10);
	assert_true(s.sampled);
	assert_non_null(strstr(s.sentence,
			       "A serial run would take about 3.50 s; this run took "
			       "4.00 s: the extra processes cost more than they bring"));
	m.run_wall_ns = S;
	ipcprof_serial_estimate(&m, &s);
	assert_non_null(strstr(s.sentence, "saved about 71% of it (3.50x faster)"));
	img[1].attr.cpu_sampled = false;
	ipcprof_serial_estimate(&m, &s);
	assert_false(s.sampled);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_record_check),    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_term_str),        cmocka_unit_test(test_fmt),
	    cmocka_unit_test(test_attribute),       cmocka_unit_test(test_role),
	    cmocka_unit_test(test_pairing),         cmocka_unit_test(test_pair_connections),
	    cmocka_unit_test(test_html_safe_json),  cmocka_unit_test(test_sample_area),
	    cmocka_unit_test(test_rules),           cmocka_unit_test(test_overhead),
	    cmocka_unit_test(test_serial_estimate), cmocka_unit_test(test_py_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
