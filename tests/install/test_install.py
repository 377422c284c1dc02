#!/usr/bin/python3
"""meson install into a DESTDIR, then the installed ipcprof records and reports a small program:
it must preload the installed libipcprof.so (not the build tree's), count the program's bytes
exactly and write the report; the man page and the data files are installed beside it."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from captured import run_to_files  # noqa: E402
from checks import check, finish  # noqa: E402

MESON, BUILD, PREFIX, LIBDIR, MANDIR, DATADIR, WITH_MAN = sys.argv[1:8]
BYTES = 3 * 1000 * 1000 + 7

PROGRAM = r"""
import os, sys
with open(sys.argv[1], "w") as f:
    f.write(os.environ.get("LD_PRELOAD", ""))
r, w = os.pipe()
if os.fork() == 0:
    os.close(w)
    n = 0
    while chunk := os.read(r, 1 << 16):
        n += len(chunk)
    os._exit(0 if n == int(sys.argv[2]) else 1)
os.close(r)
data = b"x" * int(sys.argv[2])
while data:
    data = data[os.write(w, data):]
os.close(w)
sys.exit(os.wait()[1] >> 8)
"""


def under(dest, path):
    return os.path.join(dest, os.path.relpath(os.path.join(PREFIX, path), "/"))


with tempfile.TemporaryDirectory(prefix="ipcprof-install-") as dest:
    # --no-rebuild: the tests run on a finished build, and another ninja may be running.
    p = subprocess.run([MESON, "install", "-C", BUILD, "--no-rebuild", "--quiet",
                        "--destdir", dest], capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        print(p.stdout, p.stderr)
        sys.exit("meson install failed")
    exe = under(dest, "bin/ipcprof")
    lib = under(dest, os.path.join(LIBDIR, "libipcprof.so"))
    check(os.access(exe, os.X_OK) and os.path.isfile(lib), f"installed: {exe}, {lib}")
    for name in ("ipcprof-report.schema.json", "categories.rules"):
        check(os.path.isfile(under(dest, os.path.join(DATADIR, "ipcprof", name))),
              f"installed: {name}")
    if WITH_MAN == "true":
        page = under(dest, os.path.join(MANDIR, "man1", "ipcprof.1"))
        text = open(page).read() if os.path.isfile(page) else ""
        check(text.startswith(".\\\"") and "\n.TH IPCPROF \"1\" " in text, f"man page: {page}")
        for section in ("IPCPROF RECORD", "IPCPROF REPORT", "--fail-if"):
            check(section in text, f"the man page has {section}")

    session = os.path.join(dest, "session")
    seen = os.path.join(dest, "ld_preload")
    p = run_to_files([exe, "record", "-q", "--no-probes", "-o", session, "--", "/usr/bin/python3",
                      "-c", PROGRAM, seen, str(BYTES)], text=True, timeout=120, cwd=dest)
    check(p.returncode == 0, f"installed ipcprof record: exit {p.returncode}: {p.stderr}")
    preloaded = open(seen).read() if os.path.exists(seen) else ""
    check(preloaded.split(":")[0] == os.path.realpath(lib),
          f"the installed .so is preloaded: {preloaded!r}, want {os.path.realpath(lib)!r}")
    rep_path = os.path.join(session, "ipcprof-report.json")
    rep = json.load(open(rep_path)) if os.path.exists(rep_path) else {"run": {}}
    pipes = [k for k in rep["run"].get("bytes_by_kind", []) if k["kind"] == "pipe"]
    check([(k["sent"], k["received"]) for k in pipes] == [(BYTES, BYTES)],
          f"the pipe's {BYTES} bytes, exactly: {pipes}")
    check(os.path.getsize(os.path.join(session, "ipcprof-report.html")) > 0, "the HTML report")
    p = subprocess.run([exe, "report", "-q", "--fail-if", f"bytes >= {BYTES}", session],
                       capture_output=True, text=True, timeout=120)
    check(p.returncode == 3, f"installed ipcprof report --fail-if: exit {p.returncode}")

finish()
