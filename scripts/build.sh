#!/usr/bin/env bash
# Configures (once) and builds ipcprof into ./build; extra arguments go to meson setup.
# Quiet when all goes well; on failure it shows what the build said.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if [ ! -f build/build.ninja ]; then
	if ! meson setup build "$@" >"$log" 2>&1; then
		cat "$log" >&2
		echo "build: meson setup failed (above)" >&2
		exit 1
	fi
fi
if ! ninja -C build >"$log" 2>&1; then
	cat "$log" >&2
	echo "build: ninja failed (above)" >&2
	exit 1
fi
