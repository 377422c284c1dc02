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
	uint16_t co_code;           /* co_code_adaptive: the instructions */
	uint16_t co_firsttraceable; /* _co_firsttraceable: a frame before it has not started */
	uint16_t ascii_size;        /* sizeof(PyASCIIObject): an ASCII str's characters follow */
	uint16_t compact_size;      /* sizeof(PyCompactUnicodeObject): another compact str's */
};

/*
 * 3.13 publishes its offsets at the start of _PyRuntime (_Py_DebugOffsets, after the cookie
 * "xdebugpy"), so that a 3.13 release whose layout differs from the table is found out: where,
 * in it, each offset of the table is published (checked like the table by check_pylayout.py).
 */
struct ipcprof_pydebug {
	uint16_t interp_head, interp_next, threads_head;
	uint16_t ts_next, ts_tid, ts_frame;
	uint16_t fr_code, fr_instr, fr_previous, fr_owner;
	uint16_t co_filename, co_qualname, co_linetable, co_firstlineno, co_code;
};
#define IPCPROF_PYDEBUG_BYTES 352 /* of _Py_DebugOffsets read: the fields above lie below */
static const struct ipcprof_pydebug ipcprof_pydebug313 = {
    .interp_head = 40,
    .interp_next = 64,
    .threads_head = 72,
    .ts_next = 168,
    .ts_tid = 200,
    .ts_frame = 184,
    .fr_code = 240,
    .fr_instr = 248,
    .fr_previous = 232,
    .fr_owner = 264,
    .co_filename = 280,
    .co_qualname = 296,
    .co_linetable = 304,
    .co_firstlineno = 312,
    .co_code = 344,
};

#define IPCPROF_PY_OWNED_BY_CSTACK 3 /* 3.12, 3.13: the shim frame an eval-loop call starts with */

static const struct ipcprof_pylayout ipcprof_pylayouts[] = {
    {.minor = 11,
     .interp_head = 40,
     .interp_next = 0,
     .threads_head = 16,
     .ts_next = 8,
     .ts_tid = 160,
     .ts_frame = 56,
     .cf_frame = 8,
     .fr_code = 32,
     .fr_instr = 56,
     .fr_previous = 48,
     .fr_owner = 69,
     .fr_entry = 68,
     .co_filename = 112,
     .co_qualname = 128,
     .co_linetable = 136,
     .co_firstlineno = 72,
     .co_code = 184,
     .co_firsttraceable = 168,
     .ascii_size = 48,
     .compact_size = 72},
    {.minor = 12,
     .interp_head = 40,
     .interp_next = 0,
     .threads_head = 72,
     .ts_next = 8,
     .ts_tid = 144,
     .ts_frame = 56,
     .cf_frame = 0,
     .fr_code = 0,
     .fr_instr = 56,
     .fr_previous = 8,
     .fr_owner = 70,
     .fr_entry = IPCPROF_PY_NONE,
     .co_filename = 112,
     .co_qualname = 128,
     .co_linetable = 136,
     .co_firstlineno = 68,
     .co_code = 192,
     .co_firsttraceable = 176,
     .ascii_size = 40,
     .compact_size = 56},
    {.minor = 13,
     .interp_head = 632,
     .interp_next = 7264,
     .threads_head = 7344,
     .ts_next = 8,
     .ts_tid = 160,
     .ts_frame = 72,
     .cf_frame = IPCPROF_PY_NONE,
     .fr_code = 0,
     .fr_instr = 56,
     .fr_previous = 8,
     .fr_owner = 70,
     .fr_entry = IPCPROF_PY_NONE,
     .co_filename = 112,
     .co_qualname = 128,
     .co_linetable = 136,
     .co_firstlineno = 68,
     .co_code = 200,
     .co_firsttraceable = 184,
     .ascii_size = 40,
     .compact_size = 56},
};

#endif
