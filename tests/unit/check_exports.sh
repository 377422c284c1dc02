#!/bin/sh
# The preload's version script against the library built with it (as Jansson's check-exports):
# every name in ipcprof.map is exported and defined, every exported name is in the map, and no
# function of the preload named like one of libc's is left out of it (an interposer the map forgot
# is made local, so the program's calls would silently pass it by).
set -eu
map=$1 lib=$2
libc=$(${CC:-cc} -print-file-name=libc.so.6)
# libc_nonshared.a's functions (pthread_atfork, atexit...) are linked into every library, unexported.
nonshared=$(${CC:-cc} -print-file-name=libc_nonshared.a)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed -n 's/^[[:space:]]*\([A-Za-z_][A-Za-z0-9_]*\);.*/\1/p' "$map" | sort -u >"$tmp/map"
nm -D --defined-only "$lib" | awk '{ sub(/@.*/, "", $3); print $3 }' | sort -u >"$tmp/exported"
nm -D --defined-only "$libc" | awk '$2 ~ /^[TWi]$/ { sub(/@.*/, "", $3); print $3 }' |
	sort -u >"$tmp/libc.so"
nm --defined-only "$nonshared" 2>/dev/null | awk '$2 ~ /^[TW]$/ { print $3 }' | sort -u >"$tmp/nonshared"
comm -23 "$tmp/libc.so" "$tmp/nonshared" >"$tmp/libc"
nm --defined-only "$lib" | awk '$2 ~ /^[TtWw]$/ { print $3 }' | sort -u | comm -12 - "$tmp/libc" \
	>"$tmp/global"
status=0
if [ ! -s "$tmp/map" ] || [ ! -s "$tmp/exported" ]; then
	echo "no names read from $map or $lib"
	exit 1
fi
for n in $(comm -23 "$tmp/map" "$tmp/exported"); do
	echo "FAIL: $n is in ipcprof.map but libipcprof.so does not define and export it"
	status=1
done
for n in $(comm -13 "$tmp/map" "$tmp/exported"); do
	echo "FAIL: libipcprof.so exports $n, which ipcprof.map does not list"
	status=1
done
for n in $(comm -13 "$tmp/map" "$tmp/global"); do
	echo "FAIL: $n the preload defines like libc but ipcprof.map does not list: not interposed"
	status=1
done
echo "$(wc -l <"$tmp/map") names in the map, $(wc -l <"$tmp/exported") exported"
exit $status
