#!/usr/bin/env bash
# tools/gpucheck_pack.sh — builds lpoi, lpoi_tests and bench_cuda here and copies them to .gpubin/
# (ignored by git), for `GPUCHECK_PREBUILT=.gpubin tools/gpucheck.sh` on a GPU machine that cannot build
# (no libstb-dev there, no network). Carry .gpubin with the call. Needs the same nvcc major.minor as the
# GPU machine's driver accepts (the PTX's .version must not be newer than the driver).
set -eu
cd "$(dirname "$0")/.."
cc -o nob nob.c && ./nob
B=$(dirname "$(readlink -f build/lpoi)")
BREL=${B#"$PWD"/}
objs=$(find src -name '*.c' ! -name '*_test.c' ! -path 'src/test/*' ! -path src/app/main.c | sed "s|^|$BREL/obj/|; s|\.c\$|.o|")
cc -std=c11 -O2 -Wall -Wextra -D_GNU_SOURCE -Isrc -Icu -fno-strict-aliasing -c bench/bench_cuda.c -o "$B/bench_cuda.o"
cc -o "$B/bench_cuda" "$B/bench_cuda.o" $objs "$B/obj/$BREL/gen/ptx_embedded.o" -lz -lm -lpthread -ldl
rm -rf .gpubin && mkdir .gpubin
cp "$B/lpoi" "$B/lpoi_tests" "$B/bench_cuda" .gpubin/
echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src nob.c bench || echo '+changes') $(nvcc --version | tail -n 1)" > .gpubin/BUILT
grep -qx '/.gpubin/' .git/info/exclude || echo '/.gpubin/' >> .git/info/exclude
du -sh .gpubin
