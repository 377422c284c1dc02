#!/usr/bin/python3
"""The HTML report in headless Chromium.

1. The reporter's page for a synthetic session without CPU samples: no console message, main
   sections rendered, hostile names shown as text, the flame graph saying why it is empty, a
   screenshot kept in the test's build folder.
2. The same page with a CPU profile written by hand into its JSON (every figure known), driven
   through the DevTools protocol: the time bars' serialize/deserialize/copy parts, the flame
   graph's frames and their exact widths, zoom by click and back, the process and thread
   selectors, the search, the tooltip, and a hostile symbol shown as text.
3. A profile of 10,000 stacks: drawn, and zoomed, without stalling the page.
4. A real Python run (Debian's /usr/bin/python3): its Python frames in the flame graph, the
   interpreter's C frames only when asked for, and the Python frames of the call-site table.
5. The seed example's page at 1280 x 800: the verdict, what parallelism bought, the profiler's
   cost and the top fix with its saving inside the first screen (bounding boxes), the detail
   views below it; the first screen kept as a screenshot in the test's build folder.
"""
import fcntl
import json
import os
import random
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

IPCPROF, SYNTH, OUTDIR = sys.argv[1:4]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    else:
        print("ok:  ", what)


browser = shutil.which("chromium") or shutil.which("chromium-browser")
if not browser:
    print("chromium is not installed (apt-get install chromium): cannot test the HTML")
    sys.exit(77)

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-quic"]

session = os.path.join(OUTDIR, "browser-session")
shutil.rmtree(session, ignore_errors=True)
subprocess.run([SYNTH, "kernel", session], check=True)
subprocess.run([IPCPROF, "report", "-q", session], check=True)
html_path = os.path.abspath(os.path.join(session, "ipcprof-report.html"))
page = "file://" + html_path


def chromium(*extra):
    with tempfile.TemporaryDirectory() as profile:
        p = subprocess.run(
            [browser, *FLAGS, "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0",
             "--window-size=1400,3200", *extra, page],
            capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, f"chromium exit status {p.returncode}: {p.stderr[-1500:]}")
    return p


# ---- 1. The reporter's own page, without CPU samples. ----
p = chromium("--dump-dom")
dom = p.stdout
# Chromium logs every console message of the page as CONSOLE; the report logs none.
console = [l for l in p.stderr.splitlines() if ":CONSOLE" in l]
check(not console, "console messages: " + "\n".join(console))
check('data-rendered="yes"' in dom, "the report script ran to its end")
check('id="errors"></div>' in dom, "no script error shown")
check("of worker time was data movement" in dom, "verdict banner")
for section in ("time-table", "tree", "matrix", "channels", "shm", "kernel", "timeline", "findings", "sites", "figures"):
    m = re.search(r'id="%s"[^>]*>(.*?)</(?:div|ul)>' % section, dom, re.S)
    check(m and len(m.group(1)) > 20, f"section {section} rendered")
check(dom.count('class="bar"') == 6, "one time bar per process")
check('class="c-sync"' in dom, "kernel sync waits in the time bars")
check(len(re.findall(r"<rect ", dom)) >= 6, "timeline and histogram bars drawn")
with open(os.path.join(session, "ipcprof-report.json")) as f:
    base_report = json.load(f)
nfind = len(base_report["findings"])
check(nfind >= 4 and len(re.findall(r'<li(?: class="caveat")?><div class="kind">', dom)) == nfind, "every finding shown")
check("pipe ino 100" in dom, "channel table")
check('id="kernel-section" hidden' not in dom and "900.0 ms" in dom, "kernel view shown")
check("~4.00 MB" in dom, "matrix cell")
# The hostile process name is text: escaped in the DOM, never an element.
check("&lt;script&gt;alert(1)&lt;/script&gt;" in dom, "hostile argv shown as text")
check("<script>alert(1)" not in dom, "hostile argv did not become a script")
check("<img src=\"x\"" not in dom and "<img src=x" not in dom, "hostile channel name did not become an image")
check("&lt;img src=x onerror=alert(2)&gt;" in dom, "hostile channel name shown as text")
sampled = any(p["time"].get(c + "_ns") for p in base_report["processes"]
              for c in ("serialize", "deserialize", "copy"))
if not sampled:
    check('class="c-serialize"' not in dom and "deserialize \u2014" not in dom.split('id="flame-legend"')[0],
          "no serialize/deserialize/copy parts in the time bars without samples")
m = re.search(r'id="flame-state">(.*?)</section>', dom, re.S)
if not (base_report.get("profile") or {}).get("stacks"):
    check(m and "No CPU samples were recorded" in m.group(1) and m.group(1).count("<li>") == 6,
          "without samples the flame graph says why, for each process")
    check(m and 'class="fr' not in dom, "no flame graph frame drawn without samples")
else:
    check('class="fr' in dom, "the flame graph drawn from the reporter's samples")

shot = os.path.join(OUTDIR, "report-screenshot.png")
if os.path.exists(shot):
    os.unlink(shot)
chromium("--screenshot=" + shot, "--hide-scrollbars")
check(os.path.exists(shot) and os.path.getsize(shot) > 50000, "screenshot saved: " + shot)
print("screenshot:", shot)


# ---- The DevTools protocol over a pipe (--remote-debugging-pipe: fd 3 in, fd 4 out). ----
class Browser:
    def __init__(self, width=1400, height=1000):
        self.profile = tempfile.mkdtemp(prefix="ipcprof-chromium-")
        # Our ends above the low fds, so that the child's dup2 onto 3 and 4 clobbers none.
        to_r, to_w = (fcntl.fcntl(x, fcntl.F_DUPFD_CLOEXEC, 10) for x in os.pipe())
        from_r, from_w = (fcntl.fcntl(x, fcntl.F_DUPFD_CLOEXEC, 10) for x in os.pipe())

        def child():
            os.dup2(to_r, 3)
            os.dup2(from_w, 4)

        self.proc = subprocess.Popen(
            [browser, *FLAGS, "--user-data-dir=" + self.profile, "--remote-debugging-pipe",
             "--window-size=%d,%d" % (width, height), "about:blank"],
            pass_fds=(3, 4), preexec_fn=child, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_r)
        os.close(from_w)
        self.w, self.r = to_w, from_r
        self.buf = b""
        self.next_id = 0
        self.events = []
        target = [t for t in self.send("Target.getTargets")["targetInfos"] if t["type"] == "page"][0]
        self.session = self.send("Target.attachToTarget", targetId=target["targetId"],
                                 flatten=True)["sessionId"]
        for domain in ("Page", "Runtime"):
            self.call(domain + ".enable")

    def _read(self, timeout):
        while b"\0" not in self.buf:
            ready, _, _ = select.select([self.r], [], [], timeout)
            if not ready:
                raise TimeoutError("chromium did not answer in %d s" % timeout)
            chunk = os.read(self.r, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed its end of the pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, session=None, timeout=60, **params):
        self.next_id += 1
        m = {"id": self.next_id, "method": method, "params": params}
        if session:
            m["sessionId"] = session
        os.write(self.w, json.dumps(m).encode() + b"\0")
        while True:
            a = self._read(timeout)
            if a.get("id") == self.next_id:
                if "error" in a:
                    raise RuntimeError("%s: %s" % (method, a["error"]))
                return a.get("result", {})
            self.events.append(a)

    def call(self, method, **params):
        return self.send(method, session=self.session, **params)

    def js(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError("page script failed: %s\n%s" % (r["exceptionDetails"], expr))
        return r["result"].get("value")

    def load(self, url, timeout=60):
        self.events.clear()
        self.call("Page.navigate", url=url)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.js("document.readyState === 'complete' && document.body && "
                       "document.body.getAttribute('data-rendered') === 'yes'"):
                return True
            time.sleep(0.05)
        return False

    def problems(self):
        """Console messages and uncaught exceptions of the page since load()."""
        out = []
        for e in self.events:
            if e.get("method") == "Runtime.consoleAPICalled":
                out.append("console: " + " ".join(str(a.get("value", a.get("description")))
                                                  for a in e["params"]["args"]))
            elif e.get("method") == "Runtime.exceptionThrown":
                out.append("exception: " + json.dumps(e["params"]["exceptionDetails"])[:500])
        return out

    def mouse(self, kind, x, y, **extra):
        self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, **extra)

    def click_at(self, x, y):
        self.mouse("mouseMoved", x, y)
        self.mouse("mousePressed", x, y, button="left", clickCount=1)
        self.mouse("mouseReleased", x, y, button="left", clickCount=1)

    def center(self, expr):
        """Scrolls the element expr into view and returns its centre in the viewport."""
        return self.js("(function(){var e=%s; e.scrollIntoView({block:'center'});"
                       "var r=e.getBoundingClientRect(); return [r.left+r.width/2, r.top+r.height/2];})()"
                       % expr)

    def screenshot(self, path, whole=True):
        import base64
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=whole)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.send("Browser.close", timeout=10)
        except (EOFError, TimeoutError, RuntimeError, OSError):
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.w)
        os.close(self.r)
        shutil.rmtree(self.profile, ignore_errors=True)


def embed(report, name):
    """The reporter's page with another JSON in its data element, escaped as the reporter does."""
    with open(html_path) as f:
        html = f.read()
    head, rest = html.split('<script type="application/json" id="ipcprof-data">', 1)
    _, tail = rest.split("</script>", 1)
    data = json.dumps(report, ensure_ascii=False)
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    path = os.path.join(OUTDIR, name)
    with open(path, "w") as f:
        f.write(head + '<script type="application/json" id="ipcprof-data">' + data + "</script>" + tail)
    return "file://" + os.path.abspath(path)


# ---- 2. A hand-written profile: every width known. ----
MS = 1000000
PERIOD = 10 * MS
PY = "/usr/bin/python3"
LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6"
HOSTILE_SYM = "<img src=x onerror=alert(3)>"
HOSTILE_MOD = "/tmp/<b>evil</b>&amp;.so"
frames = [
    {"symbol": "main", "module": PY, "file": None, "line": None},                               # 0
    {"symbol": "_PyEval_EvalFrameDefault", "module": PY, "file": "Python/ceval.c", "line": 5100},  # 1
    {"symbol": "_pickle_Pickler_dump", "module": PY, "file": None, "line": None},               # 2
    {"symbol": "save", "module": PY, "file": None, "line": None},                               # 3
    {"symbol": "__memmove_avx_unaligned_erms", "module": LIBC, "file": None, "line": None},      # 4
    {"symbol": "_pickle_Unpickler_load", "module": PY, "file": None, "line": None},             # 5
    {"symbol": "DOUBLE_add", "module": "/usr/lib/python3/dist-packages/numpy/core/_multiarray_umath.so",
     "file": None, "line": None},                                                               # 6
    {"symbol": HOSTILE_SYM, "module": HOSTILE_MOD, "file": "</script><b>x.c", "line": 1},       # 7
    {"symbol": None, "module": "/usr/lib/libfoo.so", "file": None, "line": None, "offset": 0x1a0},  # 8
    {"symbol": "write", "module": "/opt/ipcprof/libipcprof.so", "file": None, "line": None},    # 9
    {"symbol": "_PyEval_EvalFrameDefault", "module": PY, "file": "Python/ceval.c", "line": 5200},  # 10
    {"symbol": None, "module": "/usr/lib/libfoo.so", "file": None, "line": None, "offset": 0x2b0},  # 11
]
A, B = 0, 1  # the main process and the first worker of the synthetic session
stacks_in = [  # process, tid, category, weight, frames (outermost first)
    (A, 1000, "serialize", 30, [0, 1, 2, 3]),
    (A, 1000, "serialize", 10, [0, 1, 2, 3, 4]),
    (A, 1000, "ipc", 5, [0, 1, 9]),
    (A, 1002, "compute", 20, [0, 10, 6]),
    (B, 1001, "deserialize", 25, [0, 1, 5]),
    (B, 1001, "copy", 15, [0, 1, 4]),
    (B, 1001, "compute", 3, [0, 1, 7]),
    (B, 1001, "compute", 1, [0, 8]),
    (B, 1001, "compute", 1, [0, 11]),  # another address of libfoo.so: the same node
]
rep = json.loads(json.dumps(base_report))
procs = rep["processes"]
pid = [p["pid"] for p in procs]
for i, p in enumerate(procs):
    p["cpu"] = {"state": "off", "hz": 0, "period_ns": 0, "samples": 0, "weight": 0, "dropped": 0,
                "serialize_ns": 0, "deserialize_ns": 0, "copy_ns": 0, "ipc_ns": 0, "compute_ns": 0}
    p["time"].update({"serialize_ns": 0, "deserialize_ns": 0, "copy_ns": 0, "cpu_sampled": False})
    p["time"]["shares"].update({"serialize": 0.0, "deserialize": 0.0, "copy": 0.0})
procs[2]["cpu"]["state"] = "no_unwind"
for i in (A, B):
    by = {}
    for s in stacks_in:
        if s[0] == i:
            by[s[2]] = by.get(s[2], 0) + s[3]
    w = sum(by.values())
    procs[i]["cpu"].update({"state": "on", "hz": 100, "period_ns": PERIOD, "samples": w, "weight": w})
    for c in ("serialize", "deserialize", "copy", "ipc", "compute"):
        procs[i]["cpu"][c + "_ns"] = by.get(c, 0) * PERIOD
    t = procs[i]["time"]
    moved = 0
    for c in ("serialize", "deserialize", "copy"):
        t[c + "_ns"] = by.get(c, 0) * PERIOD
        t["shares"][c] = t[c + "_ns"] / t["basis_ns"]
        moved += t[c + "_ns"]
    t["compute_ns"] -= moved
    t["shares"]["compute"] = t["compute_ns"] / t["basis_ns"]
    t["shares"]["data_movement"] += moved / t["basis_ns"]
    t["cpu_sampled"] = True
frames_out = frames
rep["profile"] = {
    "categories": ["serialize", "deserialize", "copy", "ipc", "compute"],
    "rules": ["ipc any *libipcprof.so* *"],
    "frames": frames_out,
    "stacks": [{"process": s[0], "tid": s[1], "category": s[2], "weight": s[3], "ns": s[3] * PERIOD,
                "frames": s[4]} for s in stacks_in],
}
profile_page = embed(rep, "profile-report.html")

FRAMES_JS = """Array.prototype.map.call(document.querySelectorAll('#flame .fr'), function (d) {
  return {label: d.getAttribute('aria-label'), text: d.textContent, left: parseFloat(d.style.left), width: parseFloat(d.style.width),
          row: Math.round(parseFloat(d.style.top) / 18), ns: Number(d.dataset.ns), cls: d.className}; })"""


def flame(b):
    got = b.js(FRAMES_JS)
    return got, b.js("document.getElementById('flame').clientWidth")


def expect_tree(b, what, tree, total, top_row=0):
    """tree: [(label, ns, row, [children])]: every frame drawn at its row, its left edge after its
    older siblings, and its width exactly W * ns / total."""
    got, W = flame(b)
    drawn = [g for g in got if "above" not in g["cls"]]
    want = []

    def walk(nodes, left, row):
        for label, ns, kids in nodes:
            want.append((label, ns, row, left))
            walk(kids, left, row + 1)
            left += W * ns / total
    walk(tree, 0.0, top_row)
    ok = len(drawn) == len(want)
    # Chromium keeps 6 significant digits of a CSS length: 0.01 px at these widths.
    tol = max(0.002, 1e-5 * W)
    for label, ns, row, left in want:
        m = [g for g in drawn if g["label"] == label and g["row"] == row and abs(g["left"] - left) <= 2 * tol]
        if len(m) != 1 or m[0]["ns"] != ns or abs(m[0]["width"] - W * ns / total) > tol:
            ok = False
            print("  want", label, ns, row, round(left, 3), round(W * ns / total, 3), "got", m)
    check(ok, "%s: %d frames, each W*ns/%d wide (W=%dpx)" % (what, len(want), total, W))
    return got, W


def frame_key(f):
    """The page's merging of frames: one function per symbol and module, one per module unnamed."""
    return (f["module"] or "", f["symbol"])


def frame_label(f):
    if f["symbol"]:
        return f["symbol"]
    return "[%s]" % f["module"].split("/")[-1] if f["module"] else "[unknown]"


def agrees(b, report, what, rows=2):
    """The drawn graph of all processes against the report's stacks summed here: the root holds
    every stack's time, and each call path of the first rows is as wide as its stacks' time
    (those at least half a pixel wide are drawn, the others not)."""
    prof = report["profile"]
    fr = prof["frames"]
    total = sum(s["ns"] for s in prof["stacks"])
    want = {}
    for s in prof["stacks"]:
        path = ()
        for k in s["frames"][:rows]:
            path += (frame_key(fr[k]),)
            want[path] = want.get(path, 0) + s["ns"]
    got, W = flame(b)
    root = [g for g in got if g["row"] == 0]
    check(len(root) == 1 and root[0]["ns"] == total, "%s: the root holds all %d ns" % (what, total))
    tol = max(0.002, 1e-5 * W)
    labels = {frame_key(f): frame_label(f) for f in fr}
    wanted = sorted((len(p), labels[p[-1]], ns) for p, ns in want.items() if W * ns / total >= 0.5)
    drawn = sorted((g["row"], g["label"], g["ns"]) for g in got if 1 <= g["row"] <= rows)
    widths = all(abs(g["width"] - W * g["ns"] / total) <= tol for g in got)
    check(wanted == drawn and widths, "%s: the %d call paths of the first %d rows drawn, W*ns/total wide"
          % (what, len(wanted), rows))


PYPROG = """import multiprocessing, os, time


def burn(seconds):
    t0 = time.thread_time()
    while time.thread_time() - t0 < seconds: pass  # at: burn


def send_it(fd, data):
    os.write(fd, data)  # at: send


def main():
    r, w = os.pipe()
    if os.fork() == 0:
        os.close(w)
        while os.read(r, 1 << 20):
            pass
        os._exit(0)
    os.close(r)
    send_it(w, b"x" * (2 << 20))
    os.close(w)
    burn(0.4)  # at: main_burn
    os.wait()
    with multiprocessing.get_context("fork").Pool(1) as pool:
        pool.map(len, [b"y" * (2 << 20)])  # at: pool_map


main()
"""

# The seed example's session, for part 5 (recorded before the browser starts).
SEED = """import numpy
from multiprocessing import Pool


def worker(x):
    return x.sum()


if __name__ == "__main__":
    a = numpy.random.rand(20_000_000)
    with Pool(4) as pool:
        print(pool.map(worker, [a] * 4))
"""
seedsession = os.path.join(OUTDIR, "browser-session-seed")
shutil.rmtree(seedsession, ignore_errors=True)
seedprog = os.path.join(OUTDIR, "browser_seed.py")
with open(seedprog, "w") as f:
    f.write(SEED)
with open(os.path.join(OUTDIR, "browser_seed.out"), "w") as out:
    # meson's MALLOC_PERTURB_ fills every freed block: the seed's 160 MB buffers make that minutes.
    subprocess.run([IPCPROF, "record", "-q", "-o", seedsession, "--", "/usr/bin/python3", seedprog],
                   check=True, stdout=out,
                   env={k: v for k, v in os.environ.items() if k != "MALLOC_PERTURB_"})
with open(os.path.join(seedsession, "ipcprof-report.json")) as f:
    seed = json.load(f)
fixes = [x for x in seed["findings"] if x["weight_s"] > 0]
check(fixes, "the seed's report has a fix with a saving")

b = Browser()
try:
    check(b.load(profile_page), "profile page rendered")
    check(not b.problems(), "no console message or exception: %s" % b.problems())
    check(b.js("document.getElementById('errors').textContent") == "", "no script error shown")

    # The time bars: serialize/deserialize/copy parts of each process, as wide as their time.
    for i in (A, B):
        t = procs[i]["time"]
        for c in ("serialize", "deserialize", "copy", "compute"):
            w = b.js("(function(){var r=document.querySelectorAll('#time-table tbody tr');"
                     "for (var k=0;k<r.length;k++) if (r[k].cells[0].textContent.indexOf('PID %d ')===0) {"
                     "var s=r[k].querySelector('.bar .c-%s'); return s ? s.style.width : null;} return null;})()"
                     % (pid[i], c))
            want = 100 * t[c + "_ns"] / t["basis_ns"]
            # Chromium keeps 6 significant digits of a CSS percentage.
            check(w is not None and abs(float(w.rstrip("%")) - want) <= 1e-5 * max(want, 1),
                  "PID %d %s part of the time bar: %s, want %.6f%%" % (pid[i], c, w, want))
    legend = b.js("document.getElementById('legend').textContent")
    check(all(c + " \u2014 " in legend for c in ("serialize", "deserialize", "copy", "compute")),
          "the time legend explains serialize, deserialize and copy")
    tip = b.js("document.querySelector('#time-table .bar .c-serialize').title")
    check(tip.startswith("serialize: ") and "pickling" in tip, "a bar part's tooltip says what it is: " + tip)

    # The whole profile: all processes merged by frames. _PyEval_EvalFrameDefault's two frames
    # (two lines) are one function.
    total = 1100 * MS
    full = [("all processes", total, [
        ("main", total, [
            ("_PyEval_EvalFrameDefault", 1080 * MS, [
                ("_pickle_Pickler_dump", 400 * MS, [("save", 400 * MS, [("__memmove_avx_unaligned_erms", 100 * MS, [])])]),
                ("_pickle_Unpickler_load", 250 * MS, []),
                ("DOUBLE_add", 200 * MS, []),
                ("__memmove_avx_unaligned_erms", 150 * MS, []),
                ("write", 50 * MS, []),
                (HOSTILE_SYM, 30 * MS, []),
            ]),
            ("[libfoo.so]", 20 * MS, []),
        ])])]
    got, W = expect_tree(b, "all processes", full, total)
    check(all(g["text"] == (g["label"] if g["width"] >= 24 else "") for g in got),
          "frames wide enough show their name as text, all have it as their label")
    check(b.js("(function(){var d=Array.prototype.find.call(document.querySelectorAll('#flame .fr'), function (d) {"
               " return d.getAttribute('aria-label') === %s; }); return d.textContent === %s && d.childElementCount === 0;})()"
               % (json.dumps(HOSTILE_SYM), json.dumps(HOSTILE_SYM))),
          "the hostile symbol's frame holds it as text, no element")
    cls = {(g["label"], g["row"]): g["cls"] for g in got}
    check(cls.get(("_pickle_Pickler_dump", 3)) == "fr c-serialize" and cls.get(("_pickle_Unpickler_load", 3)) == "fr c-deserialize"
          and cls.get(("__memmove_avx_unaligned_erms", 3)) == "fr c-copy" and cls.get(("write", 3)) == "fr c-ipc"
          and cls.get(("DOUBLE_add", 3)) == "fr c-compute" and cls.get(("__memmove_avx_unaligned_erms", 5)) == "fr c-serialize"
          and cls.get(("_PyEval_EvalFrameDefault", 2)) == "fr c-serialize",
          "frames coloured by their stacks' main category: %s" % cls)
    colours = b.js("[getComputedStyle(document.querySelector('#flame .c-serialize')).backgroundColor,"
                   " getComputedStyle(document.querySelector('#time-table .bar .c-serialize')).backgroundColor]")
    check(colours[0] == colours[1] == "rgb(237, 201, 72)", "the same colour in bars and graph: %s" % colours)

    # The hostile symbol: text in the frame and in the tooltip, never markup.
    x, y = b.center("Array.prototype.find.call(document.querySelectorAll('#flame .fr'), function (d) { return d.getAttribute('aria-label') === %s; })"
                    % json.dumps(HOSTILE_SYM))
    b.mouse("mouseMoved", x, y)
    tipinfo = b.js("(function(){var t=document.getElementById('flame-tip'); return {shown: t.style.display,"
                   " text: t.innerText, bold: Array.prototype.map.call(t.querySelectorAll('*'), function (e) { return e.tagName; }),"
                   " imgs: document.querySelectorAll('img').length};})()")
    check(tipinfo["shown"] == "block", "hovering a frame shows its tooltip")
    lines = tipinfo["text"].split("\n")
    check(lines[0] == HOSTILE_SYM and "module: " + HOSTILE_MOD in lines and "source: </script><b>x.c:1" in lines,
          "the tooltip shows the hostile symbol, module and file as text: %r" % lines)
    check("30.0 ms (30000000 ns): 2.7% of all shown" in tipinfo["text"] and "category: compute 100.0%" in tipinfo["text"],
          "the tooltip gives ns and %%: %r" % lines)
    check(tipinfo["bold"] == ["B", "DIV", "DIV", "DIV", "DIV"] and tipinfo["imgs"] == 0,
          "no element made from the hostile names: %s" % tipinfo)

    x, y = b.center("Array.prototype.find.call(document.querySelectorAll('#flame .fr'), function (d) { return d.getAttribute('aria-label') === '_PyEval_EvalFrameDefault'; })")
    b.mouse("mouseMoved", x, y)
    t = b.js("document.getElementById('flame-tip').innerText")
    check("source: Python/ceval.c:5100, Python/ceval.c:5200" in t and "1.08 s (1080000000 ns): 98.2% of all shown" in t
          and "category: serialize 37.0%, deserialize 23.1%, copy 13.9%, ipc 4.6%, compute 21.3%" in t,
          "a merged function's tooltip: both lines, its share of each category: %r" % t)

    x, y = b.center("Array.prototype.find.call(document.querySelectorAll('#flame .fr'), function (d) { return d.getAttribute('aria-label') === '[libfoo.so]'; })")
    b.mouse("mouseMoved", x, y)
    t = b.js("document.getElementById('flame-tip').innerText")
    check("module: /usr/lib/libfoo.so" in t and "no symbol; module offsets: 0x1a0, 0x2b0" in t and "20.0 ms (20000000 ns)" in t,
          "addresses without a symbol: one node per module, its offsets in the tooltip: %r" % t)

    # Click to zoom: _pickle_Pickler_dump fills the width, its callers stay above, faded.
    x, y = b.center("Array.prototype.find.call(document.querySelectorAll('#flame .fr'), function (d) { return d.getAttribute('aria-label') === '_pickle_Pickler_dump'; })")
    b.click_at(x, y)
    got, W = expect_tree(b, "zoomed into _pickle_Pickler_dump",
                         [("_pickle_Pickler_dump", 400 * MS, [("save", 400 * MS, [("__memmove_avx_unaligned_erms", 100 * MS, [])])])],
                         400 * MS, top_row=3)
    above = [(g["label"], g["row"], g["width"]) for g in got if "above" in g["cls"]]
    check(above == [("all processes", 0, W), ("main", 1, W), ("_PyEval_EvalFrameDefault", 2, W)],
          "the zoomed frame's callers above it: %s" % above)
    path = b.js("document.getElementById('flame-path').textContent")
    check(path == "Zoomed into: all processes \u2192 main \u2192 _PyEval_EvalFrameDefault \u2192 _pickle_Pickler_dump",
          "the zoom path: " + path)
    check(b.js("document.getElementById('flame-reset').disabled") is False, "reset enabled when zoomed")
    # A caller zooms out to it.
    x, y = b.center("Array.prototype.find.call(document.querySelectorAll('#flame .fr.above'), function (d) { return d.getAttribute('aria-label') === 'main'; })")
    b.click_at(x, y)
    expect_tree(b, "zoomed out to main", full[0][2], total, top_row=1)
    # Reset.
    x, y = b.center("document.getElementById('flame-reset')")
    b.click_at(x, y)
    expect_tree(b, "reset", full, total)
    check(b.js("document.getElementById('flame-path').textContent") == "", "no zoom path after reset")

    # One process, by thread.
    b.js("(function(){var s=document.getElementById('flame-process'); s.value='%d';"
         "s.dispatchEvent(new Event('change'));})()" % A)
    who_a = "PID %d %s" % (pid[A], procs[A]["role"])
    expect_tree(b, "process %d alone" % pid[A], [(who_a, 650 * MS, [("main", 650 * MS, [
        ("_PyEval_EvalFrameDefault", 650 * MS, [
            ("_pickle_Pickler_dump", 400 * MS, [("save", 400 * MS, [("__memmove_avx_unaligned_erms", 100 * MS, [])])]),
            ("DOUBLE_add", 200 * MS, []),
            ("write", 50 * MS, [])])])])], 650 * MS)
    x, y = b.center("document.getElementById('flame-threads')")
    b.click_at(x, y)
    expect_tree(b, "process %d by thread" % pid[A], [(who_a, 650 * MS, [
        ("thread 1000", 450 * MS, [("main", 450 * MS, [("_PyEval_EvalFrameDefault", 450 * MS, [
            ("_pickle_Pickler_dump", 400 * MS, [("save", 400 * MS, [("__memmove_avx_unaligned_erms", 100 * MS, [])])]),
            ("write", 50 * MS, [])])])]),
        ("thread 1002", 200 * MS, [("main", 200 * MS, [("_PyEval_EvalFrameDefault", 200 * MS, [("DOUBLE_add", 200 * MS, [])])])])])],
        650 * MS)
    b.js("(function(){var s=document.getElementById('flame-process'); s.value='all';"
         "s.dispatchEvent(new Event('change'));})()")
    got, W = flame(b)
    threads = sorted((g["label"], g["ns"]) for g in got if g["row"] == 1)
    check(threads == sorted([("PID %d thread 1000" % pid[A], 450 * MS), ("PID %d thread 1001" % pid[B], 450 * MS),
                             ("PID %d thread 1002" % pid[A], 200 * MS)]), "all processes by thread: %s" % threads)
    b.click_at(*b.center("document.getElementById('flame-threads')"))

    # The search highlights matching frames and sums their time once.
    b.click_at(*b.center("document.getElementById('flame-search')"))
    b.call("Input.insertText", text="PICKLE")
    time.sleep(0.4)
    hits = sorted(b.js("Array.prototype.map.call(document.querySelectorAll('#flame .fr.hit'), function (d) { return d.getAttribute('aria-label'); })"))
    check(hits == ["_pickle_Pickler_dump", "_pickle_Unpickler_load"], "search highlights: %s" % hits)
    found = b.js("document.getElementById('flame-found').textContent")
    check(found == "matching: 650.0 ms (59.1% of the view)", "search total: " + found)
    b.js("(function(){var s=document.getElementById('flame-search'); s.value='libc.so';"
         "s.dispatchEvent(new Event('input'));})()")
    time.sleep(0.4)
    hits = sorted(b.js("Array.prototype.map.call(document.querySelectorAll('#flame .fr.hit'), function (d) { return d.getAttribute('aria-label') + '@' + d.dataset.ns; })"))
    found = b.js("document.getElementById('flame-found').textContent")
    check(hits == ["__memmove_avx_unaligned_erms@100000000", "__memmove_avx_unaligned_erms@150000000"]
          and found == "matching: 250.0 ms (22.7% of the view)", "search by module: %s, %s" % (hits, found))

    state = b.js("document.getElementById('flame-state').textContent")
    check("PID %d" % pid[2] in state and "libunwind could not be loaded" in state and "PID %d" % pid[A] not in state,
          "the process whose stacks could not be taken is named: " + state)
    check(not b.problems(), "still no console message or exception: %s" % b.problems())
    b.screenshot(os.path.join(OUTDIR, "flame-screenshot.png"))
    print("screenshot:", os.path.join(OUTDIR, "flame-screenshot.png"))

    # ---- 3. 10,000 stacks. ----
    rnd = random.Random(7)
    big = json.loads(json.dumps(rep))
    nfr = 3000
    big["profile"]["frames"] = [{"symbol": "fn_%d" % k, "module": "/usr/lib/lib%d.so" % (k % 40), "file": None, "line": None}
                                for k in range(nfr)]
    seen, bstacks = set(), []
    cats = ["serialize", "deserialize", "copy", "ipc", "compute"]
    while len(bstacks) < 10000:
        depth = rnd.randint(8, 100)
        fr = [0] + [rnd.randrange(20) if d < 4 else rnd.randrange(nfr) for d in range(1, depth)]
        proc, tid = rnd.choice([(A, 1000), (A, 1002), (B, 1001)])
        key = (proc, tid, tuple(fr))
        if key in seen:
            continue
        seen.add(key)
        w = rnd.randint(1, 50)
        bstacks.append({"process": proc, "tid": tid, "category": rnd.choice(cats), "weight": w,
                        "ns": w * PERIOD, "frames": fr})
    big["profile"]["stacks"] = bstacks
    big_page = embed(big, "profile-10k-report.html")
    t0 = time.monotonic()
    check(b.load(big_page), "10,000-stack page rendered")
    took = time.monotonic() - t0
    check(took < 15, "10,000 stacks drawn in %.2f s" % took)
    n = b.js("document.querySelectorAll('#flame .fr').length")
    check(0 < n <= 12000, "%d frames drawn (at most 12,000)" % n)
    total_ns = sum(s["ns"] for s in bstacks)
    check(b.js("Number(document.querySelector('#flame .fr').dataset.ns)") == total_ns, "the root holds all the time")
    agrees(b, big, "10,000 stacks", rows=3)
    ms = b.js("(function(){var d=Array.prototype.find.call(document.querySelectorAll('#flame .fr'), function (e) { return e.style.top === '36px'; });"
              "var t=performance.now(); d.click(); document.body.offsetHeight; return performance.now()-t;})()")
    n = b.js("document.querySelectorAll('#flame .fr').length")
    summary = b.js("document.getElementById('flame-summary').textContent")
    check(ms < 4000, "zoom redraw and layout in %.0f ms (%d frames drawn)" % (ms, n))
    check(n <= 12000 and (n < 12000 * 0.9 or "past 12000 frames" in summary), "what is left out is said: " + summary)
    ms = b.js("(function(){var t=performance.now(); document.getElementById('flame-threads').click();"
              " document.body.offsetHeight; return performance.now()-t;})()")
    check(ms < 4000, "regrouping by thread and layout in %.0f ms" % ms)
    check(not b.problems(), "no console message or exception with 10,000 stacks: %s" % b.problems())

    # The reporter's own page for its synthetic session with CPU samples, end to end.
    psession = os.path.join(OUTDIR, "browser-session-profile")
    shutil.rmtree(psession, ignore_errors=True)
    subprocess.run([SYNTH, "profile", psession], check=True)
    subprocess.run([IPCPROF, "report", "-q", psession], check=True)
    with open(os.path.join(psession, "ipcprof-report.json")) as f:
        prep = json.load(f)
    check(len(prep["profile"]["stacks"]) > 0, "the synthetic profile session has stacks")
    check(b.load("file://" + os.path.abspath(os.path.join(psession, "ipcprof-report.html"))),
          "the reporter's page with samples rendered")
    agrees(b, prep, "the reporter's profile", rows=4)
    for i, p in enumerate(prep["processes"]):
        for c in ("serialize", "deserialize", "copy"):
            w = b.js("(function(){var r=document.querySelectorAll('#time-table tbody tr');"
                     "for (var k=0;k<r.length;k++) if (r[k].cells[0].textContent.indexOf('PID %d ')===0) {"
                     "var s=r[k].querySelector('.bar .c-%s'); return s ? s.style.width : null;} return null;})()"
                     % (p["pid"], c))
            want = 100 * p["time"]["shares"][c]
            check(w is not None and abs(float(w.rstrip("%")) - want) <= 1e-5 * max(want, 1),
                  "reporter's page, PID %d %s part: %s, want %.6f%%" % (p["pid"], c, w, want))
    check(not b.problems(), "no console message or exception: %s" % b.problems())

    # 4. A real Python run: its frames in the flame graph and in the call-site table.
    pysession = os.path.join(OUTDIR, "browser-session-python")
    shutil.rmtree(pysession, ignore_errors=True)
    prog = os.path.join(OUTDIR, "browser_pyprog.py")
    with open(prog, "w") as f:
        f.write(PYPROG)
    lines = {m.group(1): i + 1 for i, l in enumerate(PYPROG.splitlines())
             for m in [re.search(r"# at: (\w+)$", l)] if m}
    subprocess.run([IPCPROF, "record", "-q", "--sample-hz", "500", "-o", pysession, "--",
                    "/usr/bin/python3", prog], check=True, stdout=subprocess.DEVNULL)
    check(b.load("file://" + os.path.abspath(os.path.join(pysession, "ipcprof-report.html"))),
          "the page of a Python run rendered")
    check(not b.problems(), "no console message or exception: %s" % b.problems())
    labels = [g["label"] for g in b.js(FRAMES_JS)]
    want = "burn (browser_pyprog.py:%d)" % lines["burn"]
    check(want in labels, "the flame graph shows %s" % want)
    check("main (browser_pyprog.py:%d)" % lines["main_burn"] in labels,
          "and its caller main on the line of its call")
    check(not any(l.startswith("_PyEval_EvalFrameDefault") for l in labels),
          "no interpreter frame drawn by default")
    b.js("(function(){var c=document.getElementById('flame-interp'); c.click();})()")
    labels2 = [g["label"] for g in b.js(FRAMES_JS)]
    check(any(l.startswith("_PyEval_EvalFrameDefault") for l in labels2) and want in labels2,
          "the interpreter's C frames shown when asked for, the Python frames still there")
    sites = b.js("document.getElementById('sites').textContent")
    check("send_it  (browser_pyprog.py:%d)" % lines["send"] in sites,
          "the call-site table names send_it on the line of its write")
    # Pool.map's task handler thread writes the task: its row goes on with the main thread's
    # frames, after a line that says so, out to main's call of pool.map.
    rows = b.js("Array.prototype.map.call(document.querySelectorAll('#sites pre'),"
                " function (p) { return p.textContent; })")
    handler = [r.splitlines() for r in rows if "Pool._handle_tasks" in r]
    mark = "\u2014 the main thread, at the time of this call: \u2014"
    check(len(handler) == 1 and mark in handler[0] and
          handler[0].index(mark) > max(k for k, l in enumerate(handler[0]) if "_handle_tasks" in l)
          and "main  (browser_pyprog.py:%d)" % lines["pool_map"] in
          handler[0][handler[0].index(mark):],
          "the task handler's call site goes on, after the main-thread line, to main's "
          "pool.map line: %r" % handler)
    check(not b.problems(), "no console message or exception: %s" % b.problems())

    # 5. The seed example's page at 1280 x 800: what a user must see on the first screen.
    b.call("Emulation.setDeviceMetricsOverride", width=1280, height=800, deviceScaleFactor=1,
           mobile=False)
    check(b.load("file://" + os.path.abspath(os.path.join(seedsession, "ipcprof-report.html"))),
          "the seed's page rendered")
    check(not b.problems(), "no console message or exception: %s" % b.problems())
    # Where each element is, with the page scrolled to its top: what the first screen shows.
    BOX_JS = ("(function(){window.scrollTo(0,0);function box(e){if(!e)return null;"
              "var r=e.getBoundingClientRect();return {top:r.top,bottom:r.bottom,left:r.left,"
              "right:r.right,text:e.textContent};}"
              "var li=document.querySelectorAll('#findings li');var top=null;"
              "for(var k=0;k<li.length&&!top;k++) if(li[k].querySelector('.saving')) top=li[k];"
              "return {vw:window.innerWidth,vh:window.innerHeight,verdict:box(document.getElementById('verdict')),"
              "bought:box(document.getElementById('bought-sentence')),overhead:box(document.getElementById('overhead-line')),"
              "fix:box(top),saving:box(top&&top.querySelector('.saving')),title:box(top&&top.querySelector('b')),"
              "flame:box(document.getElementById('flame-section'))};})()")
    bx = b.js(BOX_JS)
    check(bx["vw"] == 1280 and bx["vh"] == 800, "the viewport is 1280 x 800: %sx%s" % (bx["vw"], bx["vh"]))

    def on_screen(name):
        e = bx[name]
        return e is not None and e["top"] >= 0 and e["bottom"] <= 800 and e["left"] >= 0 and e["right"] <= 1280

    check(on_screen("verdict") and bx["verdict"]["text"] == seed["run"]["verdict"],
          "the verdict on the first screen: %r" % (bx["verdict"],))
    se = seed["run"]["serial_estimate"]["sentence"]
    check(on_screen("bought") and bx["bought"]["text"] == se, "what parallelism bought on the first screen: %r" % (bx["bought"],))
    check(on_screen("overhead") and "calls intercepted" in bx["overhead"]["text"],
          "the profiler's own cost on the first screen")
    top = fixes[0]
    check(on_screen("fix") and on_screen("saving") and on_screen("title"),
          "the top fix and its saving on the first screen: %r" % (bx["fix"],))
    check(bx["title"] is not None and bx["title"]["text"] == top["title"],
          "the top fix shown first is the report's, ranked by its saving: %r" % top["title"])
    check(bx["saving"] is not None and bx["saving"]["text"].startswith("saves up to ")
          and abs(float(bx["saving"]["text"].split()[3]) * {"s": 1, "ms": 1e-3}[bx["saving"]["text"].split()[4]]
                  - top["weight_s"]) <= 0.01 * top["weight_s"] + 0.001,
          "its saving as the report gives it: %r, %.3f s" % (bx["saving"] and bx["saving"]["text"], top["weight_s"]))
    check(all(fixes[k]["weight_s"] >= fixes[k + 1]["weight_s"] for k in range(len(fixes) - 1)),
          "fixes ranked by saving")
    check(bx["flame"] is not None and bx["flame"]["top"] >= 800, "the detail views below the first screen")
    shot = os.path.join(OUTDIR, "report-seed-first-screen.png")
    b.screenshot(shot, whole=False)
    check(os.path.exists(shot) and os.path.getsize(shot) > 20000, "first screen saved: " + shot)
    print("screenshot:", shot)
finally:
    b.close()

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("ok")
