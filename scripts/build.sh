#!/usr/bin/env bash
# Configures (once) and builds ipcprof into ./build; extra arguments go to meson setup.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ ! -f build/build.ninja ]; then
	meson setup build "$@" >/dev/null
fi
ninja -C build >/dev/null
