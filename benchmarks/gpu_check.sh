#!/usr/bin/env bash
# GPU readiness check: one script that exercises what a CUDA machine is for, in under 8 minutes, and prints ONE
# summary table (stage, status, seconds, key numbers).
#
# On a machine with a CUDA device:
#   env         torch / CUDA versions and the device
#   cuda-tests  the test files that touch CUDA (pytest -k "cuda or device"); the CUDA-only tests run, not skip
#   bench-op    ipr bench op --device cuda (original vs memory-lean integral op, time and peak memory)
#   bench-slim  ipr bench train --preset slim --device cuda (fp32 vs bf16, +channels_last, +compile rows)
#   bench-paper ipr bench train --preset paper --device cuda (same variants, R-50 256×256)
#   render      ipr data synthmocap, 2000 train + 200 test images at 512 px
#   train       ipr train of configs/synthmocap/r50_256_int64_l1_synth_gpu.yaml, 8 epochs (≈250 steps, bf16)
#   eval        ipr eval of its last checkpoint (flip test)
# On a CPU-only machine the CUDA rows are skipped and the rest runs CPU-sized (a small integral-op size, the slim
# bench at 2 steps, 480 + 96 images at 192 px, the same recipe overridden to a 30-step fp32 training of the ¼-width
# ResNet-18 at 64×64): about a minute on a 2-core CPU.
#
# Every stage runs under `timeout`; the limits add up to less than the overall budget (460 s), and a stage never
# gets more than what is left of it. A failing stage is reported in the table and the script goes on; the exit
# code is 1 when any stage failed (or ran out of time), 0 otherwise, 2 on bad options.
#
# Usage: benchmarks/gpu_check.sh [--mode auto|cuda|cpu] [--out DIR] [--dry-run]
#   --mode     auto (default): cuda when torch sees a CUDA device, else cpu
#   --out      output folder (default runs/gpu_check): logs/<stage>.log, the rendered data, the run, summary.txt
#   --dry-run  print each stage's command instead of running it
set -u
set -o pipefail

usage() {
    sed -n '/^# Usage:/,/^#   --dry-run/p' "$0" | sed 's/^# \{0,1\}//'
}

MODE=auto
OUT_DIR=runs/gpu_check
DRY_RUN=0
while (($# > 0)); do
    case "$1" in
        --mode)
            MODE=${2:-}
            shift 2 || { usage >&2; exit 2; }
            ;;
        --out)
            OUT_DIR=${2:-}
            shift 2 || { usage >&2; exit 2; }
            ;;
        --dry-run)
            DRY_RUN=1
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            echo "gpu_check.sh: unknown option '$1'" >&2
            usage >&2
            exit 2
            ;;
    esac
done
case "$MODE" in
    auto | cuda | cpu) ;;
    *)
        echo "gpu_check.sh: --mode: expected auto, cuda or cpu, got '$MODE'" >&2
        exit 2
        ;;
esac
if [[ -z "$OUT_DIR" ]]; then
    echo "gpu_check.sh: --out: expected a folder" >&2
    exit 2
fi

REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd) || exit 2
cd -- "$REPO" || exit 2
if [[ -x .venv/bin/python ]]; then
    PY=.venv/bin/python
else
    PY=python3
fi
IPR=("$PY" -m integral_pose.cli.main)
export PYTHONUNBUFFERED=1

BUDGET_S=460 # all stages together; the kill grace and the table stay well inside 8 minutes
KILL_GRACE_S=5
T0=$(date +%s)
DEADLINE=$((T0 + BUDGET_S))
LOG_DIR="$OUT_DIR/logs"
mkdir -p -- "$LOG_DIR" || exit 2

NAMES=()
STATUSES=()
SECONDS_TAKEN=()
KEYS=()
FAILED=0

record() { # record NAME STATUS SECONDS KEY
    NAMES+=("$1")
    STATUSES+=("$2")
    SECONDS_TAKEN+=("$3")
    KEYS+=("$4")
    case "$2" in
        ok | skip | plan) ;;
        *) FAILED=1 ;;
    esac
}

now_ns() { date +%s%N; }

# run_stage NAME LIMIT_S COMMAND...: run COMMAND under timeout with its output in $LOG_DIR/NAME.log; sets RC
# (0 ok, 124 timed out, other: failed; 125 when the budget had no time left) and ELAPSED (seconds, 1 decimal).
run_stage() {
    local name=$1 limit=$2
    shift 2
    local log="$LOG_DIR/$name.log" left start end
    ELAPSED=0.0
    if ((DRY_RUN)); then
        printf '%-12s (limit %3s s) ' "$name" "$limit"
        printf '%q ' "$@"
        printf '\n'
        RC=0
        return
    fi
    left=$((DEADLINE - $(date +%s)))
    if ((left < 5)); then
        echo "no time left in the ${BUDGET_S} s budget" >"$log"
        RC=125
        return
    fi
    ((limit > left)) && limit=$left
    echo "== $name (limit ${limit} s): $*"
    start=$(now_ns)
    timeout --kill-after="$KILL_GRACE_S" "$limit" "$@" >"$log" 2>&1 </dev/null
    RC=$?
    end=$(now_ns)
    ELAPSED=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
    echo "   rc $RC, ${ELAPSED} s, log $log"
}

# finish_stage NAME KEY: record the stage run by run_stage with a status from RC (KEY is used when it succeeded).
finish_stage() {
    local name=$1 key=$2 log="$LOG_DIR/$1.log"
    if ((DRY_RUN)); then
        record "$name" plan 0.0 "(dry run)"
    elif ((RC == 0)); then
        record "$name" ok "$ELAPSED" "$key"
    elif ((RC == 125)); then
        record "$name" NOTIME "$ELAPSED" "skipped: the ${BUDGET_S} s budget was used up"
    elif ((RC == 124 || RC == 137)); then
        record "$name" TIMEOUT "$ELAPSED" "killed at its limit; see $log"
    else
        record "$name" "FAIL($RC)" "$ELAPSED" "$(last_error "$log")"
    fi
}

# The last non-empty line of a log that looks like an error (else its last line), shortened.
last_error() {
    local line
    line=$(grep -E 'Error|error|FAILED|failed|Traceback|ipr ' "$1" 2>/dev/null | tail -n 1)
    [[ -n "$line" ]] || line=$(grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1)
    printf '%s' "${line:0:90}"
}

# ---------------------------------------------------------------------------------------------- key numbers
key_pytest() { # "3 passed, 1 skipped, 40 deselected in 5.1s"
    [[ -f "$1" ]] || return 0
    grep -E '[0-9]+ (passed|failed|error)' "$1" | tail -n 1 | tr -d '=' | sed 's/^ *//; s/ *$//'
}

key_bench_op() { # per size: fwd+bwd time and memory ratio ours/original
    [[ -f "$1" ]] || return 0
    awk '$1 ~ /^(cpu|cuda)$/ && $0 ~ / fwd\+bwd / {
        printf "%s%s %s fwd+bwd time x%s mem x%s", sep, $1, $2, $(NF - 3), $NF; sep = "; " }' "$1"
}

key_bench_train() { # baseline img/s, then each other row as a ratio with a short label
    [[ -f "$1" ]] || return 0
    awk '
    /^configuration .*img\/s.*ratio/ { on = 1; next }
    on && NF >= 3 && $NF ~ /^[0-9.]+$/ && $(NF - 1) ~ /^[0-9.]+$/ {
        label = ""
        for (i = 2; i <= NF - 2; i++) {
            w = $i
            if (w ~ /^(r18|r50|64|256|fp32)$/) continue
            if (w == "integral") w = "int"; else if (w == "direct") w = "dir"; else if (w == "heatmap") w = "hm"
            else if (w == "+channels_last") w = "+cl"; else if (w == "+compile") w = "+comp"
            label = label (label == "" ? "" : " ") w
        }
        if (n++ == 0) out = label " " $(NF - 1) " img/s"; else out = out "; " label " x" $NF
        next
    }
    on { on = 0 }
    END { print out }' "$1"
}

key_train() { # "trained 8 epoch(s), 248 steps, final loss 1.2345, 1234.5 img/s, 60.0 s; ..."
    [[ -f "$1" ]] || return 0
    sed -n 's/^trained .*epoch(s), \([0-9]*\) steps, final loss \([^,]*\), \([^,]*\) img\/s.*/\1 steps, loss \2, \3 img\/s/p' \
        "$1" | tail -n 1
}

key_eval() { # "N samples, MPJPE x mm, PA-MPJPE y mm"
    [[ -f "$1" ]] || return 0
    local samples metrics
    samples=$(sed -n 's/^.*: \([0-9][0-9]*\) samples, flip test.*/\1 samples/p' "$1" | tail -n 1)
    metrics=$(sed -n 's/^ *MPJPE \([0-9.]*\) mm | PA-MPJPE \([0-9.]*\) mm.*/MPJPE \1 mm, PA-MPJPE \2 mm/p' "$1" | tail -n 1)
    if [[ -n "$samples$metrics" ]]; then printf '%s, %s' "$samples" "$metrics"; fi
}

# ---------------------------------------------------------------------------------------------------- stages
echo "gpu_check: python $PY, output $OUT_DIR, budget ${BUDGET_S} s"

# env: also decides the mode
run_stage env 25 "$PY" -c 'import os, torch
print("torch", torch.__version__)
print("cuda_available", torch.cuda.is_available())
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print("device", p.name, f"{p.total_memory / 2**30:.0f} GiB", "cuda", torch.version.cuda,
          "bf16", torch.cuda.is_bf16_supported())
else:
    print("device cpu", os.cpu_count(), "cores,", torch.get_num_threads(), "threads")'
ENV_LOG="$LOG_DIR/env.log"
if ((DRY_RUN)); then
    HAS_CUDA=unknown
    finish_stage env ""
else
    HAS_CUDA=$(sed -n 's/^cuda_available //p' "$ENV_LOG")
    finish_stage env "$(sed -n 's/^torch //p' "$ENV_LOG" | head -n 1), $(sed -n 's/^device //p' "$ENV_LOG" | head -n 1)"
fi
if [[ "$MODE" == auto ]]; then
    if [[ "$HAS_CUDA" == True ]]; then MODE=cuda; else MODE=cpu; fi
fi
if [[ "$MODE" == cuda && "$HAS_CUDA" == False ]]; then
    echo "gpu_check: --mode cuda but torch sees no CUDA device; the CUDA stages will fail" >&2
fi
echo "gpu_check: mode $MODE"

DATA_DIR="$OUT_DIR/synthmocap_$MODE"
RUN_DIR="$OUT_DIR/train_$MODE"
EVAL_DIR="$OUT_DIR/eval_$MODE"
if ((!DRY_RUN)); then
    rm -rf -- "$DATA_DIR" "$RUN_DIR" "$EVAL_DIR"
fi

if [[ "$MODE" == cuda ]]; then
    # (a) the CUDA tests: the test files that mention CUDA, their CUDA/device tests
    mapfile -t CUDA_TEST_FILES < <(grep -rlE 'torch\.cuda|"cuda' tests --include='*.py' | sort)
    run_stage cuda-tests 60 "$PY" -m pytest -q -p no:cacheprovider -k "cuda or device" "${CUDA_TEST_FILES[@]}"
    finish_stage cuda-tests "$(key_pytest "$LOG_DIR/cuda-tests.log")"
    # (b) the integral op, paper and challenge sizes
    run_stage bench-op 40 "${IPR[@]}" bench op --device cuda --repeats 5
    finish_stage bench-op "$(key_bench_op "$LOG_DIR/bench-op.log")"
    # (c) training-step throughput, fp32 vs bf16 / channels-last / compile (added on CUDA)
    run_stage bench-slim 70 "${IPR[@]}" bench train --preset slim --device cuda --batch 32 --steps 20 --warmup 5
    finish_stage bench-slim "$(key_bench_train "$LOG_DIR/bench-slim.log")"
    run_stage bench-paper 85 "${IPR[@]}" bench train --preset paper --device cuda --batch 32 --steps 10 --warmup 3
    finish_stage bench-paper "$(key_bench_train "$LOG_DIR/bench-paper.log")"
    FRAMES=2000 TEST_FRAMES=200 SIZE=512
    WORKERS=$(nproc 2>/dev/null || echo 4)
    RENDER_LIMIT=40 TRAIN_LIMIT=100 EVAL_LIMIT=40
    CONFIG=configs/synthmocap/r50_256_int64_l1_synth_gpu.yaml
    TRAIN_OVERRIDES=(train.epochs=8 'optim.milestones=[7]' optim.warmup_steps=50 train.checkpoint_every=8
        train.val_every=0 train.log_every=25 train.device=cuda)
    EVAL_DEVICE=cuda
else
    record cuda-tests skip 0.0 "no CUDA device"
    # (b) the integral op at the demo's size (the default sizes take minutes on a CPU)
    run_stage bench-op 60 "$PY" -c 'from integral_pose.bench.op import main
raise SystemExit(main(repeats=1, device="cpu", sizes={"demo 16x18x16^3": (16, 18, 16, 16, 16)}))'
    finish_stage bench-op "$(key_bench_op "$LOG_DIR/bench-op.log")"
    # (c) the CPU-sized networks, two timed steps per row
    run_stage bench-slim 90 "${IPR[@]}" bench train --preset slim --device cpu --batch 32 --steps 2 --warmup 1
    finish_stage bench-slim "$(key_bench_train "$LOG_DIR/bench-slim.log")"
    record bench-paper skip 0.0 "CPU: bf16/channels_last/compile rows need CUDA"
    FRAMES=480 TEST_FRAMES=96 SIZE=192 WORKERS=1
    RENDER_LIMIT=60 TRAIN_LIMIT=120 EVAL_LIMIT=60
    # the same GPU recipe, CPU-sized: the ¼-width ResNet-18 at 64×64 (16 depth bins, 64 filters), fp32, 30 steps
    CONFIG=configs/synthmocap/r50_256_int64_l1_synth_gpu.yaml
    TRAIN_OVERRIDES=(model.backbone=resnet18 model.backbone_width=0.25 model.depth_bins=16 model.deconv_filters=64
        data.patch_width=64 data.patch_height=64 data.num_workers=1 'train.amp="off"' train.channels_last=false
        train.epochs=1 train.batch_size=16 'optim.milestones=[]' optim.warmup_steps=10 train.checkpoint_every=1
        train.val_every=0 train.log_every=10 train.device=cpu)
    EVAL_DEVICE=cpu
fi

# (d) render a small SynthMocap set, train on it, evaluate the result
run_stage render "$RENDER_LIMIT" "${IPR[@]}" data synthmocap --out "$DATA_DIR" --frames "$FRAMES" \
    --test-frames "$TEST_FRAMES" --size "$SIZE" --workers "$WORKERS"
RENDER_RC=$RC
finish_stage render "$FRAMES + $TEST_FRAMES images at $SIZE px, $(awk -v n="$((FRAMES + TEST_FRAMES))" \
    -v s="$ELAPSED" 'BEGIN { if (s > 0) printf "%.0f", n / s; else printf "-" }') img/s, $WORKERS worker(s)"

if ((RENDER_RC == 0)); then
    run_stage train "$TRAIN_LIMIT" "${IPR[@]}" train --config "$CONFIG" --out-dir "$RUN_DIR" \
        "data.train.0.records=$DATA_DIR/train.npz" 'data.val=[]' "data.test.0.records=$DATA_DIR/test.npz" \
        "${TRAIN_OVERRIDES[@]}"
    TRAIN_RC=$RC
    finish_stage train "$(key_train "$LOG_DIR/train.log")"
else
    TRAIN_RC=1
    record train skip 0.0 "needs the rendered data (render failed)"
fi

if ((TRAIN_RC == 0)); then
    run_stage eval "$EVAL_LIMIT" "${IPR[@]}" eval --checkpoint "$RUN_DIR/checkpoints/last.pt" --out "$EVAL_DIR" \
        --device "$EVAL_DEVICE"
    finish_stage eval "$(key_eval "$LOG_DIR/eval.log")"
else
    record eval skip 0.0 "needs the trained checkpoint (train failed)"
fi

# --------------------------------------------------------------------------------------------------- summary
TOTAL=$(($(date +%s) - T0))
SUMMARY="$OUT_DIR/summary.txt"
{
    echo
    echo "GPU readiness check: mode $MODE, $TOTAL s in all (budget $BUDGET_S s), logs in $LOG_DIR"
    printf '%-12s %-10s %8s  %s\n' stage status seconds "key numbers"
    printf '%-12s %-10s %8s  %s\n' ------------ ---------- -------- -----------
    for i in "${!NAMES[@]}"; do
        printf '%-12s %-10s %8s  %s\n' "${NAMES[$i]}" "${STATUSES[$i]}" "${SECONDS_TAKEN[$i]}" "${KEYS[$i]}"
    done
    if ((FAILED)); then echo "result: FAILED (see the logs of the stages above)"; else echo "result: ok"; fi
} | tee "$SUMMARY"
exit "$FAILED"
