/* Where CPython 3.11, 3.12 and 3.13 keep what a walk of a thread's frames needs. */
#ifndef IPCPROF_PYLAYOUT_H
#define IPCPROF_PYLAYOUT_H

#include <stdint.h>

/*
 * The offsets of CPython's private structures by minor version, as its internal headers define
 * them for x86-64 (tests/unit/check_pylayout.py compiles them against the headers of every
 * CPython installed: Debian's python3.11-dev and pyenv's). NONE: the field is not there.
 */
#define IPCPROF_PY_NONE 0xffff
struct ipcprof_pylayout {
	uint32_t minor;
	uint16_t interp_head;  /* _PyRuntimeState.interpreters.head */
	uint16_t interp_next;  /* PyInterpreterState.next */
	uint16_t threads_head; /* PyInterpreterState.threads.head */
	uint16_t ts_next;      /* PyThreadState.next */
	uint16_t ts_tid;       /* PyThreadState.native_thread_id */
	uint16_t ts_frame;     /* PyThreadState.cframe (3.11, 3.12) or .current_frame (3.13) */
	uint16_t cf_frame;     /* _PyCFrame.current_frame; NONE when ts_frame is the frame */
	uint16_t fr_code;      /* _PyInterpreterFrame.f_code (f_executable in 3.13) */
	uint16_t fr_instr;     /* .prev_instr (3.11, 3.12) or .instr_ptr (3.13) */
	uint16_t fr_previous;
	uint16_t fr_owner;
	uint16_t fr_entry;    /* .is_entry (3.11); NONE where shim frames mark the entries */
	uint16_t co_filename; /* PyCodeObject fields */
	uint16_t co_qualname;
	uint16_t co_linetable;
	uint16_t co_firstlineno;
	uint16_t co_code;      /* co_code_adaptive: the instructions */
	uint16_t ascii_size;   /* sizeof(PyASCIIObject): an ASCII str's characters follow */
	uint16_t compact_size; /* sizeof(PyCompactUnicodeObject): another compact str's */
};

#define IPCPROF_PY_OWNED_BY_CSTACK 3 /* 3.12, 3.13: the shim frame an eval-loop call starts with */

static const struct ipcprof_pylayout ipcprof_pylayouts[] = {
    {11, 40, 0, 16, 8, 160, 56, 8, 32, 56, 48, 69, 68, 112, 128, 136, 72, 184, 48, 72},
    {12, 40, 0, 72, 8, 144, 56, 0, 0, 56, 8, 70, IPCPROF_PY_NONE, 112, 128, 136, 68, 192, 40, 56},
    {13,  632, 7264, 7344, 8,   160, 72, IPCPROF_PY_NONE, 0, 56, 8, 70, IPCPROF_PY_NONE,
     112, 128, 136,  68,   200, 40,  56},
};

#endif
