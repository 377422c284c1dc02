#!/usr/bin/python3
"""Builds ipcprof.1 with help2man: the command's --help, then each command's --help as a section of
its own (help2man reads one --help; the commands' options are where the detail is)."""
import os
import re
import subprocess
import sys
import tempfile

help2man, ipcprof, out = sys.argv[1:4]


def roff_literal(text):
    """Text shown as it is: backslashes escaped, no line taken for a request."""
    lines = []
    for line in text.rstrip("\n").split("\n"):
        line = line.replace("\\", "\\e")
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return ".nf\n" + "\n".join(lines) + "\n.fi\n"


def helptext(*args):
    return subprocess.run([ipcprof, *args], capture_output=True, text=True, check=True).stdout


top = helptext("--help")
block = top.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
commands = [line.split()[0] for line in block.splitlines() if line.startswith("  ")]
include = []
for cmd in commands:
    include.append(f"[IPCPROF {cmd.upper()}]\n" + roff_literal(helptext(cmd, "--help")))
include.append("""[ENVIRONMENT]
The preload's settings are environment variables, IPCPROF_SAMPLE_HZ, IPCPROF_TIMELINE,
IPCPROF_STACK_MIN and others; README.md and docs/settings.md in the source describe them.
.PP
LD_PRELOAD=libipcprof.so PROGRAM records PROGRAM without the command; the report is written
when PROGRAM exits.
[SEE ALSO]
The README.md and docs/ of the source: docs/report.md for the report's figures,
docs/shares.md for how time is split, docs/settings.md for the settings.
""")
with tempfile.NamedTemporaryFile("w", suffix=".h2m", delete=False) as f:
    f.write("\n".join(include))
    inc = f.name
try:
    subprocess.run([help2man, "--no-info", "--section=1", "--manual=User Commands",
                    "--source=ipcprof",
                    "--name=how much of a multiprocess program's time goes to moving data",
                    f"--include={inc}", f"--output={out}", ipcprof], check=True)
finally:
    os.unlink(inc)
# help2man dates the page; a build of the same source gives the same page when
# SOURCE_DATE_EPOCH is set (help2man honours it).
if not re.search(r'^\.TH IPCPROF "1" ', open(out).read(), re.M):
    sys.exit(f"make_man: {out} has no .TH IPCPROF line")
