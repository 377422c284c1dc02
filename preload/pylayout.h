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
 * "xdebugpy"), so that a 3.13 release whose layout differs from the table is found out: X(field,
 * where in _Py_DebugOffsets the offset of that field of the table is published), checked like the
 * table by check_pylayout.py.
 */
#define IPCPROF_PYDEBUG313(X)                                                                      \
	X(interp_head, 40)                                                                         \
	X(interp_next, 64)                                                                         \
	X(threads_head, 72)                                                                        \
	X(ts_next, 168)                                                                            \
	X(ts_tid, 200)                                                                             \
	X(ts_frame, 184)                                                                           \
	X(fr_code, 240)                                                                            \
	X(fr_instr, 248)                                                                           \
	X(fr_previous, 232)                                                                        \
	X(fr_owner, 264)                                                                           \
	X(co_filename, 280)                                                                        \
	X(co_qualname, 296)                                                                        \
	X(co_linetable, 304)                                                                       \
	X(co_firstlineno, 312)                                                                     \
	X(co_code, 344)
#define IPCPROF_PYDEBUG_FIELD(field, at) uint16_t field;
#define IPCPROF_PYDEBUG_VALUE(field, at) .field = at,
struct ipcprof_pydebug {
	IPCPROF_PYDEBUG313(IPCPROF_PYDEBUG_FIELD)
};
static const struct ipcprof_pydebug ipcprof_pydebug313 = {
    IPCPROF_PYDEBUG313(IPCPROF_PYDEBUG_VALUE)};
#define IPCPROF_PYDEBUG_BYTES 352 /* of _Py_DebugOffsets read: the fields above lie below */

#define IPCPROF_PY_OWNED_BY_CSTACK 3 /* 3.12, 3.13: the shim frame an eval-loop call starts with */

/*
 * One row a version, in the order of struct ipcprof_pylayout's fields:
 * minor, interp_head, interp_next, threads_head, ts_next, ts_tid, ts_frame, cf_frame,
 * fr_code, fr_instr, fr_previous, fr_owner, fr_entry, co_filename, co_qualname, co_linetable,
 * co_firstlineno, co_code, co_firsttraceable, ascii_size, compact_size.
 */
// clang-format off
#define IPCPROF_PYLAYOUT_ROWS(ROW) \
	ROW(11,  40,    0,   16, 8, 160, 56,    8, 32, 56, 48, 69,   68, 112, 128, 136, 72, 184, 168, 48, 72) \
	ROW(12,  40,    0,   72, 8, 144, 56,    0,  0, 56,  8, 70, NONE, 112, 128, 136, 68, 192, 176, 40, 56) \
	ROW(13, 632, 7264, 7344, 8, 160, 72, NONE,  0, 56,  8, 70, NONE, 112, 128, 136, 68, 200, 184, 40, 56)
// clang-format on
#define IPCPROF_PYLAYOUT_ROW(...) {__VA_ARGS__},
#define NONE                      IPCPROF_PY_NONE
static const struct ipcprof_pylayout ipcprof_pylayouts[] = {
    IPCPROF_PYLAYOUT_ROWS(IPCPROF_PYLAYOUT_ROW)};
#undef NONE

#endif
