/* Sends BYTES to a forked child through a pipe with io_uring writes (raw system calls), which the
 * child reads with read(), or with "stdout" BYTES to its stdout: traffic the preload's call
 * wrappers cannot see. */
#include <linux/io_uring.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pipe_reader.h"

#define CHUNK 65536

struct ring {
	int fd;
	unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
};

static int ring_init(struct ring *r)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	r->fd = (int)syscall(__NR_io_uring_setup, 4, &p);
	if (r->fd < 0)
		return -1;
	size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	char *sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
			IORING_OFF_SQ_RING);
	char *cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
			IORING_OFF_CQ_RING);
	r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || r->sqes == MAP_FAILED)
		return -1;
	r->sq_tail = (unsigned *)(void *)(sq + p.sq_off.tail);
	r->sq_mask = (unsigned *)(void *)(sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned *)(void *)(sq + p.sq_off.array);
	r->cq_head = (unsigned *)(void *)(cq + p.cq_off.head);
	r->cq_tail = (unsigned *)(void *)(cq + p.cq_off.tail);
	r->cq_mask = (unsigned *)(void *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(void *)(cq + p.cq_off.cqes);
	return 0;
}

/* One write of n bytes through the ring, waited for: its result. */
static int ring_write(struct ring *r, int fd, const char *buf, unsigned n)
{
	unsigned tail = *r->sq_tail, i = tail & *r->sq_mask;
	struct io_uring_sqe *e = &r->sqes[i];
	memset(e, 0, sizeof(*e));
	e->opcode = IORING_OP_WRITE;
	e->fd = fd;
	e->addr = (unsigned long)buf;
	e->len = n;
	e->off = (__u64)-1; /* the file position: a pipe has none */
	r->sq_array[i] = i;
	atomic_store_explicit((_Atomic unsigned *)r->sq_tail, tail + 1, memory_order_release);
	if (syscall(__NR_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		return -1;
	unsigned head = *r->cq_head;
	while (atomic_load_explicit((_Atomic unsigned *)r->cq_tail, memory_order_acquire) == head)
		;
	int res = r->cqes[head & *r->cq_mask].res;
	atomic_store_explicit((_Atomic unsigned *)r->cq_head, head + 1, memory_order_release);
	return res;
}

/* Writes total bytes to fd through a new ring: 0, or 2 on failure. */
static int ring_send(int fd, const char *buf, long total)
{
	struct ring r;
	if (ring_init(&r) != 0) {
		perror("io_uring");
		return 2;
	}
	for (long left = total; left > 0;) {
		unsigned n = left < CHUNK ? (unsigned)left : CHUNK;
		int w = ring_write(&r, fd, buf, n);
		if (w <= 0)
			return 2;
		left -= w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	bool to_stdout = argc > 1 && !strcmp(argv[1], "stdout");
	long total = argc > 1 + to_stdout ? atol(argv[1 + to_stdout]) : 10000000;
	static char buf[CHUNK];
	memset(buf, 'u', sizeof(buf));
	if (to_stdout)
		return ring_send(1, buf, total);
	int wfd;
	pid_t pid = hostile_reader_start(&wfd);
	if (pid < 0 || ring_send(wfd, buf, total) != 0 || hostile_reader_finish(pid, wfd) != 0)
		return 2;
	printf("parent wrote %ld through io_uring\n", total);
	return 0;
}
