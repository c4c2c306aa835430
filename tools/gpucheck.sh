#!/usr/bin/env bash
# tools/gpucheck.sh — the one script to run on a lent GPU machine (see PORTING.md, "Checking a port").
# Run from the repository root. Builds lpoi, records the machine, then checks the CUDA backend:
#   devices        ./build/lpoi devices -v (which GPU, which PTX variant, registers per kernel)
#   unit           the CUDA parity tests (./build/lpoi_tests cuda) with the variant lpoi picks
#   golden         ./build/lpoi check --device cuda testdata/golden/* (op, loss, image and model cases:
#                  the model cases run whole LLaMA/Mistral/CLIP/LLaVA forward+backward passes on the GPU)
#   racecheck      every parity test whose kernels share memory between threads (block reductions,
#                  GEMM tiles, flash attention, RoPE tables) under compute-sanitizer racecheck
#   memcheck       the parity tests under compute-sanitizer memcheck (out-of-bounds, misaligned)
#   unit_compute_75 / unit_compute_80 / unit_compute_90a
#                  the same tests with each other embedded PTX variant forced (LPOI_PTX_VARIANT) that
#                  can run on this GPU, so one card checks every variant it can run
#   bench_cuda     bench/bench_cuda.c: every kernel at the issue's shapes (events, L2 flush, median),
#                  each row checked against the CPU backend first; its table goes into summary.txt
#   bench_torch    tools/bench_torch.py: PyTorch cuBLAS/SDPA at the same shapes (only if torch imports)
#   unit_half_mma  the 16-bit-weight parity tests (cuda_matmul_half, cuda_llama_half) with LPOI_CUDA_WGMMA=0,
#                  so that on sm_90a the forward also runs on the mma.sync kernels (the unit run took wgmma)
#   lpoi_torch     tools/bench_lpoi_torch.py: the PyTorch LPOI step as the public code runs it, and with cached
#                  reference log-probs, at the real llava-1.5-7b config with random fp16 weights made here;
#                  writes the model, adapter and inputs to $LPOI_WORK (default /tmp/lpoi_bench_work)
#   lpoi_step      bench/bench_lpoi.c on the same files (--precision fp16): lpoi's step, its first loss and
#                  log-probs checked against PyTorch's before its step times are compared (the table's last part)
# On the GPU machine a skipped parity test or golden case is a failure: the point of the run is to
# execute them.
# Full logs go to $OUT (or build/gpucheck-out): gpucheck.log (every step, in order), logs.tar.gz (one
# file per step), summary.txt (the table printed last). Keeps going after a failure; exits 1 if any
# step failed. Budget (H100, 16 cores): build ~1 min, unit + golden < 1 min, bench_cuda <= ~90 s (each row
# stops repeating after 1.5 s), bench_torch < 1 min, the LPOI step on both sides ~3 min (a random 7B model
# made and saved in fp16, ~14 GB, then 4 steps per mode on each side); the optional steps (sanitizers,
# forced variants) run only while the total is under DEADLINE_S (200 s), so with the LPOI step they are
# skipped and a normal run stays under 8 minutes. Give the device tool 590 s. LPOI_STEP=0 leaves the LPOI
# step out (then the sanitizers run as before).
set -u
cd "$(dirname "$0")/.." || exit 1

OUT_DIR=${OUT:-$PWD/build/gpucheck-out}
LOGS=$PWD/build/gpucheck-logs
DEADLINE_S=${DEADLINE_S:-200}   # optional steps start only before this; SAN_TIMEOUT caps each sanitizer step
mkdir -p "$OUT_DIR" "$LOGS" || exit 1
rm -f "$LOGS"/*.log
T0=$(date +%s)
FAILED=0
ROWS=()
export LPOI_CUDA_SYNC=1   # report a faulting kernel at its own launch

elapsed() { echo $(( $(date +%s) - T0 )); }

# record NAME STATUS SECONDS NOTE
record() {
    ROWS+=("$(printf '%-18s %-5s %5ss  %s' "$1" "$2" "$3" "$4")")
    [ "$2" = "FAIL" ] && FAILED=1
    echo "gpucheck: $1: $2 ($3 s) $4"
}

# step NAME TIMEOUT_S CMD... — runs CMD with a timeout, log in $LOGS/NAME.log; sets STEP_RC.
step() {
    local name=$1 limit=$2
    shift 2
    local log="$LOGS/$name.log" s0 rc
    s0=$(date +%s)
    { echo "\$ $*"; echo; } > "$log"
    timeout --kill-after=10 "$limit" "$@" >> "$log" 2>&1
    rc=$?
    STEP_RC=$rc
    STEP_SECS=$(( $(date +%s) - s0 ))
    [ $rc -eq 124 ] || [ $rc -eq 137 ] && echo "gpucheck: timed out after ${limit}s" >> "$log"
    return $rc
}

# The tests' last line reads "unit: N passed, N failed, N skipped".
unit_note() { grep -E '^unit:' "$1" | tail -n 1 | sed 's/^unit: //'; }

# A unit run passes when it exited 0, printed its summary, and skipped nothing.
judge_unit() {
    local name=$1 log="$LOGS/$1.log" note
    note=$(unit_note "$log")
    if [ "$STEP_RC" -ne 0 ] || [ -z "$note" ]; then
        record "$name" FAIL "$STEP_SECS" "rc=$STEP_RC ${note:-(no summary line)}"
    elif grep -q '^skip' "$log"; then
        record "$name" FAIL "$STEP_SECS" "$note (a skip on a GPU machine: $(grep -m1 '^skip' "$log" | cut -c1-80))"
    else
        record "$name" ok "$STEP_SECS" "$note"
    fi
}

find_bin() {   # find_bin NAME: ./build/NAME, else the newest build/**/NAME executable
    if [ -x "build/$1" ]; then echo "build/$1"; return; fi
    find build -type f -name "$1" -perm -u+x -printf '%T@ %p\n' 2>/dev/null | sort -rn | head -n 1 | cut -d' ' -f2-
}

# ---- machine ----
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "host: $(uname -srm)"
    if [ -n "${GPUCHECK_PREBUILT:-}" ] && [ -f "$GPUCHECK_PREBUILT/BUILT" ]; then
        echo "binaries: built elsewhere from $(head -n 1 "$GPUCHECK_PREBUILT/BUILT")"
    else
        echo "git: $(git rev-parse --short HEAD 2>/dev/null || echo '(no commit)') $(git status --porcelain 2>/dev/null | wc -l) changed files"
    fi
    echo
    nvidia-smi 2>&1 || echo "nvidia-smi: not available"
    echo
    nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv 2>&1
    echo
    (nvcc --version 2>&1 || echo "nvcc: not on PATH") | tail -n 3
} > "$LOGS/machine.log" 2>&1
GPU_LINE=$(nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader 2>/dev/null | head -n 1)
record machine info 0 "${GPU_LINE:-no nvidia-smi}"

# ---- build ----
# GPUCHECK_PREBUILT=DIR: use lpoi, lpoi_tests and bench_cuda built elsewhere (tools/gpucheck_pack.sh
# builds them here and copies them to .gpubin/): the GPU machine may lack libstb-dev and cannot install
# it, and a lease is too short to spend a minute compiling. Its nvcc must match the one that made the PTX.
PRE=${GPUCHECK_PREBUILT:-}
if [ -n "$PRE" ] && [ -x "$PRE/lpoi" ] && "$PRE/lpoi" --help >/dev/null 2>&1; then
    mkdir -p build/prebuilt && cp "$PRE"/* build/prebuilt/ && chmod +x build/prebuilt/*
    ldd build/prebuilt/lpoi > "$LOGS/build.log" 2>&1
    record build ok 0 "prebuilt: $(cat "$PRE/BUILT" 2>/dev/null | head -n 1)"
    LPOI=build/prebuilt/lpoi
    TESTS=build/prebuilt/lpoi_tests
else
    [ -n "$PRE" ] && echo "gpucheck: prebuilt binaries in $PRE do not run here; building"
    if step build 240 bash -c 'cc -o nob nob.c && ./nob'; then
        record build ok "$STEP_SECS" ""
    else
        record build FAIL "$STEP_SECS" "rc=$STEP_RC (see build section)"
    fi
    LPOI=$(find_bin lpoi)
    TESTS=$(find_bin lpoi_tests)
fi

# ---- devices ----
if [ -n "$LPOI" ]; then
    step devices 60 "$LPOI" devices -v
    dev=$(grep -E '^\s+\[0\]' "$LOGS/devices.log" | head -n 1 | sed 's/^ *//')
    if [ "$STEP_RC" -ne 0 ]; then record devices FAIL "$STEP_SECS" "rc=$STEP_RC"
    elif [ -z "$dev" ] || echo "$dev" | grep -q unusable; then record devices FAIL "$STEP_SECS" "${dev:-no GPU listed}"
    else record devices ok "$STEP_SECS" "$dev"
    fi
else
    record devices FAIL 0 "no build/lpoi"
fi

# ---- parity tests ----
if [ -n "$TESTS" ]; then
    step unit 120 "$TESTS" cuda
    judge_unit unit
fi

# ---- golden cases on the GPU (before the optional steps: model cases run the whole op table) ----
shopt -s nullglob
GOLDEN=(testdata/golden/*)
shopt -u nullglob
if [ ${#GOLDEN[@]} -eq 0 ]; then
    record golden skip 0 "no cases in testdata/golden"
elif [ -z "$LPOI" ]; then
    record golden FAIL 0 "no build/lpoi"
elif [ "$(elapsed)" -gt "$DEADLINE_S" ]; then
    record golden skip 0 "over the time budget"
else
    step golden 60 "$LPOI" check --device cuda "${GOLDEN[@]}"
    note=$(grep -E '^check: [0-9]+ passed' "$LOGS/golden.log" | tail -n 1 | sed 's/^check: //')
    if [ "$STEP_RC" -ne 0 ]; then record golden FAIL "$STEP_SECS" "rc=$STEP_RC ${note:-on ${#GOLDEN[@]} cases}"
    elif grep -q '^SKIP' "$LOGS/golden.log"; then   # every op has a CUDA kernel: a skip is a failure here
        record golden FAIL "$STEP_SECS" "$note (skipped: $(grep -m1 '^SKIP' "$LOGS/golden.log" | cut -c7-60))"
    else record golden ok "$STEP_SECS" "${note:-${#GOLDEN[@]} cases}"
    fi
fi

# ---- benchmarks (before the sanitizers: parity and speed are what a short lease is for) ----
# bench_cuda: every kernel family at the issue's shapes, device events, L2 flushed, median; each row
# checked against the CPU backend first (bench/README.md). Built here by linking bench/bench_cuda.c
# against the objects ./nob just built (./nob bench would also run the CPU-only bench_matmul).
# bench_torch: PyTorch/cuBLAS and SDPA at the same shapes, only if torch imports.
BENCH_TABLE="$LOGS/bench_cuda.table"
TORCH_TABLE="$LOGS/bench_torch.table"
: > "$BENCH_TABLE"; : > "$TORCH_TABLE"
BDIR=$( [ -n "$LPOI" ] && dirname "$(readlink -f "$LPOI")" )
# The bench programs: prebuilt next to lpoi, else linked here against the objects ./nob just built.
BENCH_CUDA=; BENCH_LPOI=
if [ -x build/prebuilt/bench_cuda ] && [ "$LPOI" = build/prebuilt/lpoi ]; then
    BENCH_CUDA=build/prebuilt/bench_cuda
    [ -x build/prebuilt/bench_lpoi ] && BENCH_LPOI=build/prebuilt/bench_lpoi
elif [ -z "$BDIR" ] || [ ! -d "$BDIR/obj" ]; then
    record bench_build FAIL 0 "no build directory"
else
    BREL=${BDIR#"$PWD"/}
    if step bench_build 90 bash -c "objs=\$(find src -name '*.c' ! -name '*_test.c' ! -path 'src/test/*' ! -path src/app/main.c |
                                            sed 's|^|$BREL/obj/|; s|\\.c\$|.o|') &&
                                     for b in bench_cuda bench_lpoi; do
                                         cc -std=c11 -O2 -Wall -Wextra -D_GNU_SOURCE -Isrc -Icu -fno-strict-aliasing -c bench/\$b.c -o $BREL/\$b.o &&
                                         cc -o $BREL/\$b $BREL/\$b.o \$objs $BREL/obj/$BREL/gen/ptx_embedded.o -lz -lm -lpthread -ldl || exit 1;
                                     done"; then
        BENCH_CUDA=$BREL/bench_cuda; BENCH_LPOI=$BREL/bench_lpoi
    else
        record bench_build FAIL "$STEP_SECS" "build failed (see bench_build)"
    fi
fi
if [ -n "$BENCH_CUDA" ]; then
    # no LPOI_CUDA_SYNC: a synchronise after every launch would distort the timings
    step bench_cuda 150 env -u LPOI_CUDA_SYNC "$BENCH_CUDA" --reps 15
    sed -n '/^bench_cuda: /,$p' "$LOGS/bench_cuda.log" | grep -v '^lpoi: cuda' > "$BENCH_TABLE"
    note=$(grep -E '^bench_cuda: [0-9]+ rows' "$LOGS/bench_cuda.log" | cut -d. -f1-2)
    if [ "$STEP_RC" -eq 0 ] && [ -n "$note" ]; then record bench_cuda ok "$STEP_SECS" "$note"
    elif grep -q '^bench_cuda: skipped' "$LOGS/bench_cuda.log"; then
        record bench_cuda FAIL "$STEP_SECS" "$(grep -m1 '^bench_cuda: skipped' "$LOGS/bench_cuda.log" | cut -c1-100)"
    else record bench_cuda FAIL "$STEP_SECS" "rc=$STEP_RC ${note:-(no summary line)}"
    fi
fi
HAVE_TORCH=0
python3 -c 'import torch' >/dev/null 2>&1 && HAVE_TORCH=1
if [ $HAVE_TORCH -eq 1 ]; then
    step bench_torch 100 python3 tools/bench_torch.py
    sed -n '/^bench_torch: /,$p' "$LOGS/bench_torch.log" > "$TORCH_TABLE"
    if [ "$STEP_RC" -eq 0 ]; then record bench_torch ok "$STEP_SECS" "$(head -n 1 "$TORCH_TABLE" | cut -c14-90)"
    else record bench_torch FAIL "$STEP_SECS" "rc=$STEP_RC"
    fi
else
    record bench_torch skip 0 "torch not importable"
fi

# ---- 16-bit weights on the mma.sync forward too (on sm_90a the unit run's forward took wgmma) ----
if [ -n "$TESTS" ]; then
    step unit_half_mma 90 env LPOI_CUDA_WGMMA=0 "$TESTS" _half
    judge_unit unit_half_mma
fi

# ---- the LPOI step, both sides: PyTorch as the public code runs it, then lpoi on the same files ----
LPOI_TABLE="$LOGS/lpoi_step.table"
: > "$LPOI_TABLE"
LPOI_WORK=${LPOI_WORK:-/tmp/lpoi_bench_work}
# The real llava-1.5-7b config: carried in the prebuilt folder (tools/gpucheck_pack.sh copies it), else ../shared.
LLAVA_CFG=
for f in "${PRE:-.gpubin}/llava-1.5-7b-config.json" ../shared/data/hf/llava-hf__llava-1.5-7b-hf/config.json; do
    [ -f "$f" ] && { LLAVA_CFG=$f; break; }
done
if [ "${LPOI_STEP:-1}" = 0 ]; then
    record lpoi_step skip 0 "LPOI_STEP=0"
elif [ $HAVE_TORCH -eq 0 ] || [ -z "$LLAVA_CFG" ] || [ -z "$BENCH_LPOI" ]; then
    record lpoi_step FAIL 0 "needs torch (${HAVE_TORCH}), the llava-1.5-7b config (${LLAVA_CFG:-none}) and bench_lpoi (${BENCH_LPOI:-none})"
else
    rm -rf "$LPOI_WORK"
    # LPOI_TORCH_ARGS / LPOI_BENCH_ARGS: extra arguments (a smoke run elsewhere: "--tiny --device cpu" and "--device cpu")
    step lpoi_torch 240 python3 tools/bench_lpoi_torch.py --config "$LLAVA_CFG" --work "$LPOI_WORK" --steps 4 ${LPOI_TORCH_ARGS:-}
    grep -E '^bench_lpoi_torch: ' "$LOGS/lpoi_torch.log" > "$LPOI_TABLE"
    if [ "$STEP_RC" -ne 0 ] || [ ! -f "$LPOI_WORK/torch.json" ]; then
        record lpoi_torch FAIL "$STEP_SECS" "rc=$STEP_RC $(grep -m1 -iE 'error|skipped' "$LOGS/lpoi_torch.log" | cut -c1-80)"
    else
        record lpoi_torch ok "$STEP_SECS" "$(grep -m1 'public: median' "$LOGS/lpoi_torch.log" | cut -c19-100)"
        # no LPOI_CUDA_SYNC (timings); exit 1 when the first step disagrees with PyTorch's
        step lpoi_step 200 env -u LPOI_CUDA_SYNC "$BENCH_LPOI" --work "$LPOI_WORK" --device cuda --precision fp16 --steps 4 ${LPOI_BENCH_ARGS:-}
        grep -E '^bench_lpoi: ' "$LOGS/lpoi_step.log" >> "$LPOI_TABLE"
        note=$(grep -E 'vs PyTorch' "$LOGS/lpoi_step.log" | sed 's/^bench_lpoi: //' | cut -c1-100 | paste -sd ';' -)
        if [ "$STEP_RC" -eq 0 ]; then record lpoi_step ok "$STEP_SECS" "$note"
        else record lpoi_step FAIL "$STEP_SECS" "rc=$STEP_RC ${note:-$(tail -n 1 "$LOGS/lpoi_step.log" | cut -c1-90)}"
        fi
    fi
    rm -rf "$LPOI_WORK"   # ~14 GB of random weights
fi

# ---- the sanitizers, then the other PTX variants ----
if [ -n "$TESTS" ]; then
    SAN=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)
    # Parity tests of the kernels that communicate through shared memory (racecheck checks only those).
    RACE_TESTS="cuda_attention cuda_gemm cuda_matmul cuda_rmsnorm cuda_layernorm cuda_softmax cuda_logprob cuda_rope cuda_sum_squares cuda_f32_to_bf16"   # cuda_matmul also runs cuda_matmul_half
    if [ -z "$SAN" ]; then
        record memcheck skip 0 "compute-sanitizer not found"
        record racecheck skip 0 "compute-sanitizer not found"
    else
        if [ "$(elapsed)" -gt "$DEADLINE_S" ]; then record racecheck skip 0 "over the time budget"
        else
            # One process per test (the runner takes one filter); all run even after a failure.
            step racecheck "${SAN_TIMEOUT:-150}" bash -c "rc=0; for t in $RACE_TESTS; do
                                            echo \"== racecheck \$t\";
                                            '$SAN' --tool racecheck --error-exitcode 86 --print-limit 20 '$TESTS' \$t || rc=1;
                                        done; exit \$rc"
            # the first summary that reports hazards, else the last one
            errs=$(grep -E 'RACECHECK SUMMARY' "$LOGS/racecheck.log" | grep -vE ': 0 hazards' | head -n 1)
            [ -n "$errs" ] || errs=$(grep -E 'RACECHECK SUMMARY|ERROR SUMMARY' "$LOGS/racecheck.log" | tail -n 1)
            if [ "$STEP_RC" -eq 0 ]; then record racecheck ok "$STEP_SECS" "${errs:-no hazards}"
            else record racecheck FAIL "$STEP_SECS" "rc=$STEP_RC ${errs}"
            fi
        fi
        if [ "$(elapsed)" -gt "$DEADLINE_S" ]; then record memcheck skip 0 "over the time budget"
        else
            step memcheck "${SAN_TIMEOUT:-120}" "$SAN" --tool memcheck --error-exitcode 86 --print-limit 20 "$TESTS" cuda
            errs=$(grep -E 'ERROR SUMMARY' "$LOGS/memcheck.log" | tail -n 1)
            if [ "$STEP_RC" -eq 0 ]; then record memcheck ok "$STEP_SECS" "$errs; $(unit_note "$LOGS/memcheck.log")"
            else record memcheck FAIL "$STEP_SECS" "rc=$STEP_RC ${errs}"
            fi
        fi
    fi
    # After the sanitizers (the variants share one source today, so they matter least): every other variant that can run here (an 'a' variant only on its exact architecture).
    # Compute capability as lpoi saw it ("(sm_90, ..."), else as nvidia-smi reports it ("9.0").
    cc=$(grep -oE '\(sm_[0-9]+,' "$LOGS/devices.log" 2>/dev/null | head -n 1 | tr -dc '0-9')
    [ -n "$cc" ] || cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d ' .')
    for v in compute_75 compute_80 compute_90a; do
        a=${v#compute_}; a=${a%a}
        if [ "$(elapsed)" -gt "$DEADLINE_S" ]; then record "unit_$v" skip 0 "over the time budget"; continue; fi
        if [ -z "$cc" ]; then record "unit_$v" skip 0 "compute capability unknown"; continue; fi
        if grep -qE "PTX $v\$" "$LOGS/devices.log" 2>/dev/null; then record "unit_$v" skip 0 "lpoi's own choice: the unit run"; continue; fi
        if [[ $v == *a ]] && [ "$cc" != "$a" ]; then record "unit_$v" skip 0 "runs only on sm_$a"; continue; fi
        if [ "$cc" -lt "$a" ]; then record "unit_$v" skip 0 "needs sm_$a+"; continue; fi
        step "unit_$v" 90 env LPOI_PTX_VARIANT=$v "$TESTS" cuda
        judge_unit "unit_$v"
    done
else
    record unit FAIL 0 "no lpoi_tests binary"
fi

# ---- collect ----
TOTAL=$(elapsed)
{
    echo "lpoi gpucheck — $(date -u '+%Y-%m-%d %H:%M UTC'), ${TOTAL}s"
    echo "GPU: ${GPU_LINE:-unknown}"
    printf '%-18s %-5s %6s  %s\n' step state time note
    for r in "${ROWS[@]}"; do echo "$r"; done
    [ $FAILED -eq 0 ] && echo "RESULT: all steps passed" || echo "RESULT: FAILED"
    if [ -s "$BENCH_TABLE" ]; then echo; echo "---- bench_cuda (lpoi kernels) ----"; cat "$BENCH_TABLE"; fi
    if [ -s "$TORCH_TABLE" ]; then echo; echo "---- bench_torch (PyTorch: cuBLAS, SDPA) ----"; cat "$TORCH_TABLE"; fi
    if [ -s "$LPOI_TABLE" ]; then echo; echo "---- the LPOI step, llava-1.5-7b config, random fp16 weights: PyTorch (public code, cached reference) vs lpoi ----"; cat "$LPOI_TABLE"; fi
} > "$OUT_DIR/summary.txt"
{
    cat "$OUT_DIR/summary.txt"
    for f in machine build devices unit golden bench_build bench_cuda bench_torch unit_half_mma lpoi_torch lpoi_step racecheck memcheck unit_compute_75 unit_compute_80 unit_compute_90a; do
        [ -f "$LOGS/$f.log" ] || continue
        echo
        echo "==================== $f ===================="
        cat "$LOGS/$f.log"
    done
} > "$OUT_DIR/gpucheck.log"
tar -czf "$OUT_DIR/logs.tar.gz" -C "$LOGS" . 2>/dev/null

echo
cat "$OUT_DIR/summary.txt"
exit $FAILED
