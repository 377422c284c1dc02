"""The table of CPython structure offsets in preload/pylayout.h against CPython's own headers.

Usage: check_pylayout.py CC PRELOAD_DIR
For every CPython 3.11-3.13 whose internal headers are installed (Debian's python3.11-dev under
/usr/include, pyenv's under /root/.pyenv/versions), compiles a program with those headers and the
table, which prints every field whose offset differs and fails then. Skips (77) when no header of
a known version is installed; says which versions it checked.
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

PROGRAM = r'''
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#include "internal/pycore_code.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_runtime.h"
#include "pylayout.h"

static int bad;
static void same(const char *what, unsigned table, size_t header)
{
	if (table != header) {
		printf("%s: table %u, header %zu\n", what, table, header);
		bad = 1;
	}
}

int main(void)
{
	const struct ipcprof_pylayout *l = NULL;
	for (size_t i = 0; i < sizeof(ipcprof_pylayouts) / sizeof(ipcprof_pylayouts[0]); i++)
		if (ipcprof_pylayouts[i].minor == PY_MINOR_VERSION)
			l = &ipcprof_pylayouts[i];
	if (!l) {
		printf("no table entry for 3.%d\n", PY_MINOR_VERSION);
		return 1;
	}
	same("interpreters.head", l->interp_head, offsetof(_PyRuntimeState, interpreters.head));
	same("interp.next", l->interp_next, offsetof(PyInterpreterState, next));
	same("interp.threads.head", l->threads_head, offsetof(PyInterpreterState, threads.head));
	same("tstate.next", l->ts_next, offsetof(PyThreadState, next));
	same("tstate.native_thread_id", l->ts_tid, offsetof(PyThreadState, native_thread_id));
#if PY_VERSION_HEX < 0x030D0000
	same("tstate.cframe", l->ts_frame, offsetof(PyThreadState, cframe));
	same("cframe.current_frame", l->cf_frame, offsetof(_PyCFrame, current_frame));
	same("frame.f_code", l->fr_code, offsetof(_PyInterpreterFrame, f_code));
	same("frame.prev_instr", l->fr_instr, offsetof(_PyInterpreterFrame, prev_instr));
#else
	same("tstate.current_frame", l->ts_frame, offsetof(PyThreadState, current_frame));
	same("cframe (none)", l->cf_frame, IPCPROF_PY_NONE);
	same("frame.f_executable", l->fr_code, offsetof(_PyInterpreterFrame, f_executable));
	same("frame.instr_ptr", l->fr_instr, offsetof(_PyInterpreterFrame, instr_ptr));
#endif
	same("frame.previous", l->fr_previous, offsetof(_PyInterpreterFrame, previous));
	same("frame.owner", l->fr_owner, offsetof(_PyInterpreterFrame, owner));
#if PY_VERSION_HEX < 0x030C0000
	same("frame.is_entry", l->fr_entry, offsetof(_PyInterpreterFrame, is_entry));
#else
	same("frame.is_entry (none)", l->fr_entry, IPCPROF_PY_NONE);
	same("FRAME_OWNED_BY_CSTACK", IPCPROF_PY_OWNED_BY_CSTACK, FRAME_OWNED_BY_CSTACK);
#endif
	same("code.co_filename", l->co_filename, offsetof(PyCodeObject, co_filename));
	same("code.co_qualname", l->co_qualname, offsetof(PyCodeObject, co_qualname));
	same("code.co_linetable", l->co_linetable, offsetof(PyCodeObject, co_linetable));
	same("code.co_firstlineno", l->co_firstlineno, offsetof(PyCodeObject, co_firstlineno));
	same("code.co_code_adaptive", l->co_code, offsetof(PyCodeObject, co_code_adaptive));
	same("code._co_firsttraceable", l->co_firsttraceable,
	     offsetof(PyCodeObject, _co_firsttraceable));
	same("sizeof(PyASCIIObject)", l->ascii_size, sizeof(PyASCIIObject));
	same("sizeof(PyCompactUnicodeObject)", l->compact_size, sizeof(PyCompactUnicodeObject));
	/* what the walker reads at once: a frame's first 80 bytes, a thread state's first 176, a
	 * code object's bytes 64..136 (first line, file, qualified name) */
	same("frame fields within 80 bytes", 1, offsetof(_PyInterpreterFrame, owner) < 80);
	same("tstate fields within 176 bytes", 1,
	     l->ts_tid + 8 <= 176 && l->ts_frame + 8 <= 176 && l->ts_next + 8 <= 176);
	same("code identity within 64..136", 1,
	     l->co_firstlineno >= 64 && l->co_filename >= 64 && l->co_qualname + 8 <= 136);
#if PY_VERSION_HEX >= 0x030D0000
	const struct ipcprof_pydebug *d = &ipcprof_pydebug313;
	same("debug interpreters_head", d->interp_head,
	     offsetof(_Py_DebugOffsets, runtime_state.interpreters_head));
	same("debug interpreter next", d->interp_next,
	     offsetof(_Py_DebugOffsets, interpreter_state.next));
	same("debug threads_head", d->threads_head,
	     offsetof(_Py_DebugOffsets, interpreter_state.threads_head));
	same("debug thread next", d->ts_next, offsetof(_Py_DebugOffsets, thread_state.next));
	same("debug native_thread_id", d->ts_tid,
	     offsetof(_Py_DebugOffsets, thread_state.native_thread_id));
	same("debug current_frame", d->ts_frame,
	     offsetof(_Py_DebugOffsets, thread_state.current_frame));
	same("debug executable", d->fr_code, offsetof(_Py_DebugOffsets, interpreter_frame.executable));
	same("debug instr_ptr", d->fr_instr, offsetof(_Py_DebugOffsets, interpreter_frame.instr_ptr));
	same("debug previous", d->fr_previous,
	     offsetof(_Py_DebugOffsets, interpreter_frame.previous));
	same("debug owner", d->fr_owner, offsetof(_Py_DebugOffsets, interpreter_frame.owner));
	same("debug filename", d->co_filename, offsetof(_Py_DebugOffsets, code_object.filename));
	same("debug qualname", d->co_qualname, offsetof(_Py_DebugOffsets, code_object.qualname));
	same("debug linetable", d->co_linetable, offsetof(_Py_DebugOffsets, code_object.linetable));
	same("debug firstlineno", d->co_firstlineno,
	     offsetof(_Py_DebugOffsets, code_object.firstlineno));
	same("debug co_code_adaptive", d->co_code,
	     offsetof(_Py_DebugOffsets, code_object.co_code_adaptive));
	same("debug offsets within the bytes read", 1,
	     offsetof(_Py_DebugOffsets, code_object.co_code_adaptive) + 8 <= IPCPROF_PYDEBUG_BYTES);
#endif
	same("PyBytesObject.ob_sval", 32, offsetof(PyBytesObject, ob_sval));
	same("PyASCIIObject.length", 16, offsetof(PyASCIIObject, length));
	same("PyASCIIObject.state", 32, offsetof(PyASCIIObject, state));
	return bad;
}
'''


def include_dirs():
    found = {}
    cands = glob.glob('/usr/include/python3.1[1-3]') + \
        glob.glob('/root/.pyenv/versions/3.1[1-3]*/include/python3.1[1-3]')
    for d in sorted(cands):
        if os.path.exists(os.path.join(d, 'internal', 'pycore_frame.h')):
            m = re.search(r'#define PY_VERSION\s+"([^"]+)"',
                          open(os.path.join(d, 'patchlevel.h')).read())
            found[d] = m.group(1) if m else '?'
    return found


def main():
    cc, preload_dir = sys.argv[1], sys.argv[2]
    dirs = include_dirs()
    if not dirs:
        print('SKIP: no CPython 3.11-3.13 internal headers (Debian python3.11-dev)')
        return 77
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, 'layout.c')
        with open(src, 'w') as f:
            f.write(PROGRAM)
        for d, ver in dirs.items():
            exe = os.path.join(tmp, 'layout')
            p = subprocess.run([cc, '-I', d, '-I', preload_dir, src, '-o', exe],
                               capture_output=True, text=True)
            if p.returncode != 0:
                print(f'not ok: CPython {ver} ({d}): does not compile:\n{p.stderr}')
                failed = True
                continue
            r = subprocess.run([exe], capture_output=True, text=True)
            print(('ok' if r.returncode == 0 else 'not ok') + f': CPython {ver} ({d})')
            sys.stdout.write(r.stdout)
            failed |= r.returncode != 0
    for v in ('3.12', '3.13'):
        if not any(ver.startswith(v) for ver in dirs.values()):
            print(f'(CPython {v} is not installed here: its table entry is not checked)')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
