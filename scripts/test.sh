#!/usr/bin/env bash
# The whole test suite: every meson suite of a normal build, then the unit tests under ASan+UBSan.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
"$top/scripts/setup.sh"
"$top/scripts/build.sh"
meson test -C build --print-errorlogs "$@"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if [ ! -f build-asan/build.ninja ] &&
	! meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false >"$log" 2>&1; then
	cat "$log" >&2
	exit 1
fi
if ! ninja -C build-asan >"$log" 2>&1; then
	cat "$log" >&2
	echo "test: the sanitizer build failed (above)" >&2
	exit 1
fi
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-asan --print-errorlogs --suite unit
