#!/usr/bin/python3
"""The preload's defaults said once, in record.h: the code reads each setting with that macro, and
env.h's comments and docs/settings.md's table state the same figure."""
import re
import sys

ROOT = sys.argv[1]
# setting -> (macro in record.h, file that reads it)
SETTINGS = {
    "IPCPROF_TIMELINE": ("IPCPROF_DEFAULT_TIMELINE", "preload/core.c"),
    "IPCPROF_CHANNELS": ("IPCPROF_DEFAULT_CHANNELS", "preload/core.c"),
    "IPCPROF_STACK_MIN": ("IPCPROF_DEFAULT_STACK_MIN", "preload/core.c"),
    "IPCPROF_FINGERPRINT_MIN": ("IPCPROF_DEFAULT_FINGERPRINT_MIN", "preload/core.c"),
    "IPCPROF_CPU_SAMPLE": ("IPCPROF_DEFAULT_CPU_SAMPLE", "preload/core.c"),
    "IPCPROF_SAMPLE_HZ": ("IPCPROF_DEFAULT_SAMPLE_HZ", "preload/sampler.c"),
    "IPCPROF_SAMPLE_AREA": ("IPCPROF_DEFAULT_SAMPLE_AREA", "preload/sampler.c"),
}
UNITS = {"": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}


def read(rel):
    with open(f"{ROOT}/{rel}", encoding="utf-8") as f:
        return f.read()


def c_value(expr):
    """A macro's value: a decimal or hex literal, or (A << B), with C's u suffixes."""
    expr = re.sub(r"(?<=[0-9a-fA-F])u\b", "", expr.strip())
    if not re.fullmatch(r"[0-9a-fx()<< ]+", expr):
        raise ValueError(f"not a constant expression: {expr!r}")
    return int(eval(expr))  # only digits, parentheses and shifts pass the check above


record = read("include/ipcprof/record.h")
env = read("include/ipcprof/env.h")
docs = read("docs/settings.md")
fails = []
for setting, (macro, reader) in SETTINGS.items():
    m = re.search(rf"^#define {macro}\s+(\([^)]*\)|\S+)", record, re.M)
    if not m:
        fails.append(f"{macro} is not defined in record.h")
        continue
    want = c_value(m.group(1))
    ident = "IPCPROF_ENV_" + setting[len("IPCPROF_"):]
    if not re.search(rf"ipcprof_env_u64\({ident},\s*{macro},", read(reader)):
        fails.append(f"{reader} does not read {setting} with the default {macro}")
    # env.h: the comment just above the #define says "(default N[ UNIT]".
    m = re.search(rf"/\*((?:(?!\*/).)*?)\*/\s*#define {ident}\b", env, re.S)
    d = m and re.search(r"default (\d+)(?: (KiB|MiB|GiB))?", m.group(1))
    if not d:
        fails.append(f"env.h states no default for {setting}")
    elif int(d.group(1)) * UNITS[d.group(2) or ""] != want:
        fails.append(f"env.h says {setting} defaults to {d.group(0)[8:]}, record.h {want}")
    m = re.search(rf"^\| `{setting}` \| `([^`]*)` \|", docs, re.M)
    if not m:
        fails.append(f"docs/settings.md has no row for {setting}")
    elif m.group(1) != str(want):
        fails.append(f"docs/settings.md says {setting} defaults to {m.group(1)}, record.h {want}")
    print(f"{setting}: {want}")
for f in fails:
    print("FAIL:", f)
sys.exit(1 if fails else 0)
