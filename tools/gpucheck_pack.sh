#!/usr/bin/env bash
# tools/gpucheck_pack.sh — builds lpoi, lpoi_tests, bench_cuda and bench_lpoi here and copies them to .gpubin/
# with the real llava-1.5-7b config.json (the LPOI step benchmark's shapes; ../shared is not on the GPU machine)
# (ignored by git), for `GPUCHECK_PREBUILT=.gpubin tools/gpucheck.sh` on a GPU machine that cannot build
# (no libstb-dev there, no network). Carry .gpubin with the call. Needs the same nvcc major.minor as the
# GPU machine's driver accepts (the PTX's .version must not be newer than the driver).
set -eu
cd "$(dirname "$0")/.."
cc -o nob nob.c && ./nob
B=$(dirname "$(readlink -f build/lpoi)")
BREL=${B#"$PWD"/}
objs=$(find src -name '*.c' ! -name '*_test.c' ! -path 'src/test/*' ! -path src/app/main.c | sed "s|^|$BREL/obj/|; s|\.c\$|.o|")
for b in bench_cuda bench_lpoi; do
    cc -std=c11 -O2 -Wall -Wextra -D_GNU_SOURCE -Isrc -Icu -fno-strict-aliasing -c "bench/$b.c" -o "$B/$b.o"
    cc -o "$B/$b" "$B/$b.o" $objs "$B/obj/$BREL/gen/ptx_embedded.o" -lz -lm -lpthread -ldl
done
rm -rf .gpubin && mkdir .gpubin
cp "$B/lpoi" "$B/lpoi_tests" "$B/bench_cuda" "$B/bench_lpoi" .gpubin/
cfg=../shared/data/hf/llava-hf__llava-1.5-7b-hf/config.json
if [ -f "$cfg" ]; then cp "$cfg" .gpubin/llava-1.5-7b-config.json; else echo "gpucheck_pack: $cfg absent: the LPOI step benchmark will be skipped"; fi
echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src nob.c bench || echo '+changes') $(nvcc --version | tail -n 1)" > .gpubin/BUILT
grep -qx '/.gpubin/' .git/info/exclude || echo '/.gpubin/' >> .git/info/exclude
du -sh .gpubin
