#!/usr/bin/python3
"""The pages of joblib's and PyTorch DataLoader's runs in headless Chromium: their shared memory and
the advice that fits each, as the rendered page shows them, each page kept as a screenshot.

Usage: test_browser_libs.py IPCPROF LIB_PROGS OUTDIR

- joblib over a 20 MB array: the memmapped file is one shared-memory row with both processes
  that reached it, and the advice is the shared array's (shared_memory, no copied_data);
- joblib over a list of small objects: no shared-memory object, the advice is the copied bytes'
  (copied_data, with batch_size);
- a DataLoader with two workers: each batch's /torch_ object is one row with a worker and the
  main process, and the advice is the per-batch objects' (shared_segments).
Each program is recorded the way users run it (`ipcprof record`), its output left in files.
"""
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from checks import check, finish  # noqa: E402

IPCPROF, PROGS, OUTDIR = sys.argv[1:4]

browser = shutil.which("chromium") or shutil.which("chromium-browser")
if not browser:
    print("chromium is not installed (apt-get install chromium): cannot test the HTML")
    sys.exit(77)
missing = [m for m in ("joblib", "torch", "numpy")
           if subprocess.run(["/usr/bin/python3", "-c", "import " + m],
                             capture_output=True).returncode != 0]
if missing:
    print("Debian's python3 lacks", ", ".join(missing), "(scripts/packages.txt installs them)")
    sys.exit(77)

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--window-size=1280,2400"]


def chromium(page, *extra):
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([browser, *FLAGS, "--user-data-dir=" + profile, *extra, page],
                              capture_output=True, text=True, timeout=180)


def section_text(dom, ident, end="table|ul|div"):
    """The text of the rendered element with this id up to the first end tag named, tags
    dropped."""
    m = re.search(r'id="%s"[^>]*>(.*?)</(?:%s)>' % (ident, end), dom, re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", m.group(1))) if m else ""


def record(case):
    session = os.path.join(OUTDIR, "browser-libs-" + case)
    shutil.rmtree(session, ignore_errors=True)
    with open(session + ".out", "w") as out:
        p = subprocess.run([IPCPROF, "record", "-q", "-o", session, "--", "/usr/bin/python3",
                            PROGS, case], stdout=out, stderr=subprocess.STDOUT, timeout=900)
    check(p.returncode == 0, f"{case}: recorded (exit status {p.returncode}, see {session}.out)")
    with open(os.path.join(session, "ipcprof-report.json")) as f:
        rep = json.load(f)
    page = "file://" + os.path.abspath(os.path.join(session, "ipcprof-report.html"))
    p = chromium(page, "--dump-dom")
    check(p.returncode == 0 and 'data-rendered="yes"' in p.stdout, f"{case}: the page rendered")
    shot = os.path.join(OUTDIR, f"libs-{case}-screenshot.png")
    if os.path.exists(shot):
        os.unlink(shot)
    chromium(page, "--screenshot=" + shot)
    check(os.path.exists(shot) and os.path.getsize(shot) > 50000, f"{case}: screenshot {shot}")
    return rep, p.stdout


def kinds(rep):
    return {f["kind"] for f in rep["findings"]}


# joblib, a 20 MB array: one memmapped object, both processes, the shared array's advice.
rep, dom = record("joblib-array")
objs = [s for s in rep["shared_memory"] if "joblib_memmapping" in s["name"]]
check(len(objs) == 1 and objs[0]["size"] >= 20_000_000 and len(objs[0]["processes"]) >= 2,
      f"joblib-array: one memmapped object of the 20 MB array, two processes or more: {objs}")
shm = section_text(dom, "shm")
for o in objs:
    row = re.search(re.escape(o["name"]) + r"\s+(\S+ \S+)\s+\S+ \S+\s+(.*)", shm)
    check(row and row.group(1) == "20.0 MB" and row.group(2).count("PID") == len(o["processes"]),
          f"joblib-array: the page's shared-memory row: its name, 20.0 MB, every process: "
          f"{shm[:400]!r}")
found = section_text(dom, "findings", "ul")
check("shared_memory" in kinds(rep) and "copied_data" not in kinds(rep),
      f"joblib-array: the shared array's advice: {sorted(kinds(rep))}")
check("shared in memory by" in found and "keep sending them indices or slices" in found,
      f"joblib-array: the page says the array was shared, and what to keep doing: {found[:400]!r}")

# joblib, small objects: nothing shared, the copied bytes' advice.
rep, dom = record("joblib-list")
check(not [s for s in rep["shared_memory"] if "joblib" in s["name"]],
      "joblib-list: no memmapped object")
found = section_text(dom, "findings", "ul")
check("copied_data" in kinds(rep) and "shared_memory" not in kinds(rep),
      f"joblib-list: the copied objects' advice: {sorted(kinds(rep))}")
check("were copied between processes" in found and "batch_size" in found,
      f"joblib-list: the page says the objects were copied, and names batch_size: {found[:400]!r}")

# DataLoader: each batch in its own /torch_ object, a worker's and the main process's.
rep, dom = record("torch-loader")
objs = [s for s in rep["shared_memory"] if s["name"].startswith("/torch_")]
check(objs and all(len(o["processes"]) >= 2 for o in objs),
      f"torch-loader: every /torch_ object has two processes: {objs[:3]}")
shm = section_text(dom, "shm")
check(all(o["name"] in shm for o in objs), "torch-loader: every /torch_ object on the page")
found = section_text(dom, "findings", "ul")
check("shared_segments" in kinds(rep), f"torch-loader: the per-batch objects' advice: "
      f"{sorted(kinds(rep))}")
check(f"in {len(objs)} shared-memory objects" in found and "batch_size" in found,
      f"torch-loader: the page counts the objects and names batch_size: {found[:400]!r}")

finish(counts=True)
