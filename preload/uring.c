/* io_uring rings, noticed as they are mapped: what a ring moves bypasses every call ipcprof wraps. */
#include <linux/io_uring.h>
#include <string.h>

#include "preload.h"

bool ipcprof_uring_mapping(struct ipcprof_record *r, const char *link, off_t off)
{
	if (strcmp(link, "anon_inode:[io_uring]") != 0)
		return false;
	/* A ring is one io_uring_setup and up to three maps (SQ ring, CQ ring, SQ entries); the
	 * SQ ring's is made whatever the kernel's features. */
	if (off == IORING_OFF_SQ_RING) {
		uint64_t none = 0;
		__atomic_compare_exchange_n(&r->uring.first_ns, &none, ipcprof_now(), false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
		__atomic_fetch_add(&r->uring.rings, 1, __ATOMIC_RELAXED);
	}
	return true;
}
