#!/usr/bin/python3
"""The HTML report in headless Chromium: no console message, main sections rendered, hostile
names shown as text, a screenshot kept in the test's build folder."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

IPCPROF, SYNTH, OUTDIR = sys.argv[1:4]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


browser = shutil.which("chromium") or shutil.which("chromium-browser")
if not browser:
    print("chromium is not installed (apt-get install chromium): cannot test the HTML")
    sys.exit(77)

session = os.path.join(OUTDIR, "browser-session")
shutil.rmtree(session, ignore_errors=True)
subprocess.run([SYNTH, "kernel", session], check=True)
subprocess.run([IPCPROF, "report", "-q", session], check=True)
page = "file://" + os.path.abspath(os.path.join(session, "ipcprof-report.html"))


def chromium(*extra):
    with tempfile.TemporaryDirectory() as profile:
        p = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-quic", "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0",
             "--window-size=1400,3200", *extra, page],
            capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, f"chromium exit status {p.returncode}: {p.stderr[-1500:]}")
    return p


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
    nfind = len(json.load(f)["findings"])
check(nfind >= 4 and dom.count("<li><div class=\"kind\">") == nfind, "every finding shown")
check("pipe ino 100" in dom, "channel table")
check('id="kernel-section" hidden' not in dom and "900.0 ms" in dom, "kernel view shown")
check("~4.00 MB" in dom, "matrix cell")
# The hostile process name is text: escaped in the DOM, never an element.
check("&lt;script&gt;alert(1)&lt;/script&gt;" in dom, "hostile argv shown as text")
check("<script>alert(1)" not in dom, "hostile argv did not become a script")
check("<img src=\"x\"" not in dom and "<img src=x" not in dom, "hostile channel name did not become an image")
check("&lt;img src=x onerror=alert(2)&gt;" in dom, "hostile channel name shown as text")

shot = os.path.join(OUTDIR, "report-screenshot.png")
if os.path.exists(shot):
    os.unlink(shot)
chromium("--screenshot=" + shot, "--hide-scrollbars")
check(os.path.exists(shot) and os.path.getsize(shot) > 50000, "screenshot saved: " + shot)
print("screenshot:", shot)

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("ok")
