#!/usr/bin/python3
"""Every list of channel kinds agrees with record.h's IPCPROF_KINDS: the values and names, the
report's JSON schema, the kernel records' fd kinds (kernel.h, krndump) and the tests' constants."""
import ast
import json
import re
import sys

ROOT = sys.argv[1]
fails = []


def read(rel):
    with open(f"{ROOT}/{rel}", encoding="utf-8") as f:
        return f.read()


def check(what, got, want):
    if got != want:
        fails.append(f"{what}: {got!r}, record.h says {want!r}")


def py_constant(rel, name):
    """A module-level literal of a Python file, read without running the file."""
    for node in ast.parse(read(rel)).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    fails.append(f"{rel} defines no {name}")
    return None


def c_enum(text, prefix):
    """NAME -> value of a C enum whose members are written NAME = value."""
    return {m.group(1): int(m.group(2)) for m in re.finditer(rf"\b{prefix}(\w+)\s*=\s*(\d+)", text)}


record = read("include/ipcprof/record.h")
body = re.search(r"#define IPCPROF_KINDS\(X\)((?:.*\\\n)*.*)", record).group(1)
rows = re.findall(r'X\((\w+), (\d+), "(\w+)"\)', body)
kinds = [(ident, int(v), name) for ident, v, name in rows]
value = {name: v for _, v, name in kinds}
ident_value = {ident: v for ident, v, _ in kinds}
if not kinds or [v for _, v, _ in kinds] != list(range(len(kinds))):
    fails.append(f"IPCPROF_KINDS values are not 0, 1, 2... in order: {kinds}")
if len(set(value)) != len(kinds):
    fails.append("two kinds share a name")

# The C tables of names are made from the list itself.
for rel in ("report/strings.c", "tests/integration/recdump.c"):
    if "IPCPROF_KINDS(" not in read(rel):
        fails.append(f"{rel} no longer builds its kind names from IPCPROF_KINDS")

schema = json.loads(read("report/ipcprof-report.schema.json"))
check("schema channel_kind enum", schema["$defs"]["channel_kind"]["enum"],
      [n for _, _, n in kinds] + ["unknown"])

check("tests/integration/ipctest.py KIND_CODE",
      py_constant("tests/integration/ipctest.py", "KIND_CODE"),
      {n: v for _, v, n in kinds if n != "none"})
preload_kind = py_constant("tests/probes/check_probes.py", "PRELOAD_KIND") or {}
check("tests/probes/check_probes.py PRELOAD_KIND",
      preload_kind, {v: n for _, v, n in kinds if v in preload_kind})

# Kernel fd kinds: the channel kinds from PIPE to UDP, in the same order (report/kernel.c maps one
# to the other by an offset), then kinds the preload has no channel for.
kfd = c_enum(read("include/ipcprof/kernel.h"), "IPCPROF_KFD_")
kfd.pop("COUNT", None)
shared = [i for i in kfd if i in ident_value]
check("kernel.h fd kinds shared with record.h", shared,
      [i for i, v, _ in kinds if ident_value["PIPE"] <= v <= ident_value["UDP"]])
for i in shared:
    check(f"IPCPROF_KFD_{i} - IPCPROF_KFD_PIPE", kfd[i] - kfd["PIPE"],
          ident_value[i] - ident_value["PIPE"])
krndump = re.search(r"kfd_names\[IPCPROF_KFD_COUNT\] = \{([^}]*)\}", read("tests/probes/krndump.c"))
krn_names = re.findall(r'"(\w+)"', krndump.group(1)) if krndump else []
by_kfd = sorted(kfd, key=kfd.get)
check("tests/probes/krndump.c kfd_names", krn_names,
      [next(n for i2, _, n in kinds if i2 == i) if i in ident_value else i.lower() for i in by_kfd])
check("tests/report/test_kernel_only.py KFD",
      list(py_constant("tests/report/test_kernel_only.py", "KFD") or ()), krn_names)


def enums(node, path):
    """Every enum of the schema, with where it is."""
    if isinstance(node, dict):
        if isinstance(node.get("enum"), list):
            yield path, node["enum"]
        for k, v in node.items():
            yield from enums(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from enums(v, f"{path}/{i}")


# Any other enum of kinds in the schema (such as the kernel gaps') names only kinds of the list.
kind_enums = [(p, e) for p, e in enums(schema, "") if "pipe" in e]
for p, e in kind_enums:
    extra = [n for n in e if n not in value and n != "unknown"]
    if extra:
        fails.append(f"schema {p}: kinds {extra} are not in record.h")
if len(kind_enums) < 2:
    fails.append("the schema's enums of kinds (channel_kind, kernel gaps) were not found")

print(f"{len(kinds)} kinds: " + ", ".join(f"{n}={v}" for _, v, n in kinds))
for f in fails:
    print("FAIL:", f)
sys.exit(1 if fails else 0)
