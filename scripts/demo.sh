#!/usr/bin/env bash
# Runs the copy and shared-memory demos under ipcprof and prints their reports side by side.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
"$top/scripts/setup.sh"
"$top/scripts/build.sh"

ipcprof=build/report/ipcprof
out=build/demo-runs
py=/usr/bin/python3

if ! "$ipcprof" record --help >/dev/null 2>&1; then
	echo "demo: '$ipcprof record' does not work yet in this build, so there is no report to compare." >&2
	echo "demo: the demos themselves run without it: build/demos/demo-copy, build/demos/demo-shm," >&2
	echo "demo: build/demos/demo-owner and demos/python/*.py (with $py)." >&2
	exit 1
fi

# record NAME PROGRAM ARGS...: one profiled run into $out/NAME, the demo's own output in NAME.txt.
record() {
	local name=$1
	shift
	rm -rf "${out:?}/$name"
	echo "== $name: $*" >&2
	if ! "$ipcprof" record -o "$out/$name" -- "$@" >"$out/$name.txt"; then
		echo "demo: '$ipcprof record' failed on $name (its output is in $out/$name.txt)" >&2
		exit 1
	fi
	if [ ! -f "$out/$name/ipcprof-report.json" ]; then
		echo "demo: no $out/$name/ipcprof-report.json: the report was not written" >&2
		exit 1
	fi
}

mkdir -p "$out"
record c-copy build/demos/demo-copy
record c-shm build/demos/demo-shm
pairs=("C, copy through pipes" "$out/c-copy" "$out/c-copy.txt" --
	"C, shared memory" "$out/c-shm" "$out/c-shm.txt")
if "$py" -c 'import numpy' 2>/dev/null; then
	record python-pool-copy "$py" demos/python/seed_pool.py
	record python-pool-shm "$py" demos/python/pool_shared_memory.py
	pypairs=("Python Pool, copy" "$out/python-pool-copy" "$out/python-pool-copy.txt" --
		"Python Pool, shared memory" "$out/python-pool-shm" "$out/python-pool-shm.txt")
else
	echo "demo: $py has no numpy: the Python demos are left out" >&2
	pypairs=()
fi

echo
"$py" demos/compare_reports.py "${pairs[@]}"
if [ ${#pypairs[@]} -gt 0 ]; then
	echo
	"$py" demos/compare_reports.py "${pypairs[@]}"
fi
