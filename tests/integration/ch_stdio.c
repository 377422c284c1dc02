/* Moves known bytes through stdio streams on pipes and a socket, mixed with write() and read() on
 * the same fds, output left in the buffers at exit and across fork included. */
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "chanreport.h"

/*
 * Each process prints, per channel end, the bytes it puts into the fd (all it handed a stream,
 * which everything here flushes sooner or later, plus its write()s) and the bytes it takes (a
 * stream read to end-of-file takes every byte it read). Lines:
 * {"type":"stdio","label","pid","dev","ino","out","in"}.
 */
struct end {
	const char *label;
	int fd;
	uint64_t out, in;
};

static void report(const struct end *e)
{
	struct stat st;
	char line[256];

	if (fstat(e->fd, &st) < 0)
		test_die("fstat");
	int n = snprintf(
	    line, sizeof(line),
	    "{\"type\":\"stdio\",\"label\":\"%s\",\"pid\":%d,\"dev\":%llu,\"ino\":%llu,"
	    "\"out\":%llu,\"in\":%llu}\n",
	    e->label, (int)getpid(), (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
	    (unsigned long long)e->out, (unsigned long long)e->in);
	cr_emit(line, (size_t)n);
}

/* Printable bytes only: fgets must see no NUL. */
static void fill(char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (char)('a' + (seed + i * 7 + i / 61) % 26);
}

static void put(struct end *e, FILE *fp, const void *p, size_t n)
{
	if (fwrite(p, 1, n, fp) != n)
		test_die("fwrite");
	e->out += n;
}

static void putf(struct end *e, FILE *fp, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void putf(struct end *e, FILE *fp, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vfprintf(fp, fmt, ap);
	va_end(ap);
	if (n < 0)
		test_die("vfprintf");
	e->out += (uint64_t)n;
}

static char big[200000];

/* Pipe "a": a stream and write() on one fd; a fork child inherits 300 unwritten bytes. */
static void writer(int fd)
{
	struct end e = {"a", fd, 0, 0};
	FILE *fp = fdopen(fd, "w");
	if (!fp)
		test_die("fdopen");
	fill(big, sizeof(big), 1);
	put(&e, fp, big, 10000);
	for (int i = 0; i < 1000; i++) {
		int n = fprintf(fp, "line %d of the writer\n", i);
		e.out += (uint64_t)n;
	}
	for (int i = 0; i < 50000; i++) /* the inline macro: __overflow when the buffer is full */
		putc_unlocked('a' + i % 26, fp);
	e.out += 50000;
	if (fputs("then fputs\n", fp) < 0 || fflush(fp) != 0)
		test_die("fputs");
	e.out += 11;
	if (write(fd, big, 777) != 777)
		test_die("write");
	e.out += 777;
	put(&e, fp, big, 150000); /* more than the buffer: written past it */
	if (fputc('x', fp) == EOF || putc('y', fp) == EOF)
		test_die("fputc");
	e.out += 2;
	putf(&e, fp, "%s", "a formatted line\n");
	if (fflush(fp) != 0)
		test_die("fflush");
	put(&e, fp, big, 300);
	pid_t pid = fork();
	if (pid < 0)
		test_die("fork");
	if (pid == 0) {
		struct end c = {"a", fd, 300, 0}; /* the inherited bytes are its to write now */
		put(&c, fp, big, 100);
		report(&c);
		exit(0); /* exit's flush writes them */
	}
	int status;
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		test_die("writer's child");
	put(&e, fp, big + 1, 1234);
	report(&e);
	exit(0); /* 1534 bytes still in the buffer */
}

/* Pipe "a" read with every kind of stdio read and read() in turn, to end-of-file. */
static void read_a(struct end *e)
{
	static char buf[5000];
	FILE *fp = fdopen(e->fd, "r");
	char *line = NULL;
	size_t cap = 0;

	if (!fp)
		test_die("fdopen");
	for (unsigned k = 0; !feof(fp); k++) {
		size_t got = 0;
		ssize_t r;
		switch (k % 8) {
		case 0:
			got = fread(buf, 1, 100, fp);
			break;
		case 1:
			if (fgets(buf, 200, fp))
				got = strlen(buf);
			break;
		case 2:
			got = getc(fp) == EOF ? 0 : 1;
			break;
		case 3:
			r = getline(&line, &cap, fp);
			got = r > 0 ? (size_t)r : 0;
			break;
		case 4: /* the inline macro: __uflow when the buffer is empty */
			got = getc_unlocked(fp) == EOF ? 0 : 1;
			break;
		case 5:
			/* Items of 7: the last may be cut short at the end, its bytes taken all the
			 * same; the data has no NUL, so they show in a zeroed buffer. */
			memset(buf, 0, sizeof(buf));
			got = fread(buf, 7, 300, fp) * 7;
			while (got < sizeof(buf) && buf[got])
				got++;
			break;
		case 6:
			got = fgetc(fp) == EOF ? 0 : 1;
			break;
		case 7: /* the fd itself, past the stream's buffer */
			r = read(e->fd, buf, 1000);
			got = r > 0 ? (size_t)r : 0;
			break;
		}
		e->in += got;
	}
	free(line);
	report(e);
	if (fclose(fp) != 0)
		test_die("fclose");
}

/* The socket "s" written through stdout in every way; 777 bytes left for exit to write. */
static void write_s(struct end *e)
{
	static char buf[3000];

	fill(buf, sizeof(buf), 2);
	buf[sizeof(buf) - 1] = '\0';
	if (dup2(e->fd, 1) < 0)
		test_die("dup2");
	for (int i = 0; i < 2000; i++) {
		int n = printf("%d: %s\n", i, "printed");
		if (n < 0)
			test_die("printf");
		e->out += (uint64_t)n;
	}
	if (puts(buf) < 0)
		test_die("puts");
	e->out += sizeof(buf);
	for (int i = 0; i < 10000; i++) {
		putchar('0' + i % 10);
		putchar_unlocked('\n');
	}
	e->out += 20000;
	putf(e, stdout, "%s %d\n", "fprintf", 42);
	int n = dprintf(e->fd, "%s %d\n", "dprintf, straight to the fd", 7);
	if (n < 0)
		test_die("dprintf");
	e->out += (uint64_t)n;
	put(e, stdout, buf, 777);
}

int main(void)
{
	int a[2], c[2], s[2], status;
	pid_t w, r;
	static char buf[8192];

	alarm(30);
	if (pipe(a) < 0 || pipe(c) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, s) < 0)
		test_die("pipe");
	/* Pipe "c": a stream closed with its bytes still in the buffer. */
	struct end ec = {"c", c[1], 0, 0};
	FILE *fc = fdopen(c[1], "w");
	if (!fc)
		test_die("fdopen");
	fill(buf, 5000, 3);
	put(&ec, fc, buf, 5000);
	report(&ec);
	if (fclose(fc) != 0)
		test_die("fclose");
	w = fork();
	if (w < 0)
		test_die("fork");
	if (w == 0) {
		close(a[0]);
		close(c[0]);
		close(s[0]);
		close(s[1]);
		writer(a[1]);
	}
	close(a[1]);
	r = fork();
	if (r < 0)
		test_die("fork");
	if (r == 0) {
		struct end ea = {"a", a[0], 0, 0}, ec2 = {"c", c[0], 0, 0}, es = {"s", s[1], 0, 0};
		ssize_t n;

		close(s[0]);
		while ((n = read(c[0], buf, sizeof(buf))) > 0)
			ec2.in += (uint64_t)n;
		report(&ec2);
		read_a(&ea);
		write_s(&es);
		report(&es);
		exit(0);
	}
	close(a[0]);
	close(c[0]);
	close(s[1]);
	/* The socket read back with line reads, to end-of-file. */
	struct end es = {"s", s[0], 0, 0};
	FILE *fs = fdopen(s[0], "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	if (!fs)
		test_die("fdopen");
	for (unsigned k = 0;; k++) {
		if (k % 2) {
			if ((n = getline(&line, &cap, fs)) < 0)
				break;
			es.in += (uint64_t)n;
		} else {
			if (!fgets(buf, sizeof(buf), fs))
				break;
			es.in += strlen(buf);
		}
	}
	free(line);
	if (waitpid(w, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		test_die("writer failed");
	if (waitpid(r, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		test_die("reader failed");
	report(&es);
	fclose(fs);
	return 0;
}
