#!/usr/bin/env bash
# Every GPU figure of BENCHMARKS.md section 5 in one call on one GPU, about 8 minutes on an H200:
#   bench/gpu_wheels.sh                 # here: the wheels the GPU machine lacks, into .whl (if it lacks them)
#   bench/gpu_bench.sh                  # there, from the repository root; results in $OUT (default outputs/gpu-bench)
#   bench/gpu_bench.sh --rehearse       # on CPU: the same steps on tiny shapes (tests/test_gpu_bench.py runs it)
# Steps, most important first, each under its own time limit; the optional ones (marked *) are skipped when
# less than their limit is left of BUDGET_S seconds (default 480):
#   1. make train's sample config in bf16 on the GPU: the loss falls, the checkpoint reloads and generates
#   2. full-parameter SFT, Llama-3.2-1B shape: rows of 2,048 and 4,096 tokens, activation checkpointing on and off
#   3. lm-eval's hf backend, 1B shape (bf16), 5 MCQA sample tasks: docs/s at batch size 16 and 1
#   4. the same SFT matrix on the Llama-3.2-3B shape
#   5* Llama-3-8B shape, full-parameter with AdamW on one GPU, if it fits (2,048-token micro-batches)
#   6* the recipe's other batch layouts (padding-free, padded) on the 1B shape at 2,048
#   7* one tuning step: 1B and 3B without checkpointing at twice the micro-batch (16,384 tokens)
# Each step appends JSON lines to $OUT/{train,sft,hf}.jsonl as it goes; $OUT/log.txt has everything printed,
# $OUT/steps.tsv each step's exit status and seconds, $OUT/summary.md the tables (also printed last).
set -uo pipefail
cd "$(dirname "$0")/.."
REHEARSE=0
[ "${1:-}" = "--rehearse" ] && REHEARSE=1
OUT=${OUT:-outputs/gpu-bench}
PY=${PYTHON:-python3}
WHEELS=${WHEELS:-.whl}
BUDGET_S=${BUDGET_S:-480}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"
: > "$OUT/steps.tsv"
# USE_HUB_KERNELS=NO: transformers 5.25 otherwise fetches hub kernels (rotary) in from_pretrained on CUDA, which an
# offline machine cannot (and without the kernels package it refuses to load at all).
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false USE_HUB_KERNELS=NO
export PYTHONPATH="$PWD:$PWD/lm_eval_tasks${PYTHONPATH:+:$PYTHONPATH}"
if ls "$WHEELS"/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$WORK/site" \
        "$WHEELS"/*.whl || { echo "gpu_bench: could not install the wheels of $WHEELS"; exit 1; }
    export PYTHONPATH="$WORK/site:$PYTHONPATH"
fi

# step NAME LIMIT_S OPTIONAL COMMAND...: run under a time limit, log it, record exit status and seconds
step() {
    local name=$1 limit=$2 optional=$3 start=$SECONDS
    shift 3
    if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then return; fi
    if [ "$optional" = 1 ] && [ $((BUDGET_S - SECONDS)) -lt "$limit" ]; then
        printf '%s\tskipped\t0\n' "$name" >> "$OUT/steps.tsv"
        echo "== $name: skipped ($((BUDGET_S - SECONDS)) s of the budget left, needs $limit)"
        return
    fi
    echo "== $name (limit ${limit} s)" | tee -a "$OUT/log.txt"
    timeout -k 15 "$limit" "$@" >> "$OUT/log.txt" 2>&1
    local rc=$?
    printf '%s\t%s\t%s\n' "$name" "$rc" $((SECONDS - start)) >> "$OUT/steps.tsv"
    echo "== $name: exit $rc after $((SECONDS - start)) s"
}

if [ "$REHEARSE" = 1 ]; then
    S1=tiny S3=tiny S8=tiny LENGTHS=128,256 LONG=256 MICRO=512 STEPS=(--steps 4 --warmup 1 --peak_tflops 1)
    TRAIN_EXTRA=(--max_steps 12 --logging_steps 1) HF=(--shape tiny --limit 2 --batch_sizes 4,1)
    LIMIT=240
else
    S1=llama-3.2-1b S3=llama-3.2-3b S8=llama-3-8b LENGTHS=2048,4096 LONG=2048 MICRO=8192 STEPS=(--steps 16 --warmup 4)
    TRAIN_EXTRA=(--use_cpu false --bf16 true --logging_steps 5) HF=(--shape llama-3.2-1b --batch_sizes 16,1)
    LIMIT=180
fi

{
    date -u +"date: %Y-%m-%dT%H:%M:%SZ"
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    "$PY" -c "import torch, transformers, trl, lm_eval, datasets, accelerate
print('torch', torch.__version__, 'cuda', torch.version.cuda, 'device', torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu')
print('transformers', transformers.__version__, 'trl', trl.__version__, 'accelerate', accelerate.__version__, 'datasets', datasets.__version__, 'lm_eval', lm_eval.__version__)"
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

SFT=("$PY" bench/bench_sft_gpu.py --out "$OUT/sft.jsonl" "${STEPS[@]}")
step sample-train 120 0 "$PY" bench/train_and_load.py --config medsins_sft/configs/sample.yaml \
    --output_dir "$WORK/sample-sft" --report_to none "${TRAIN_EXTRA[@]}" --out "$OUT/train.jsonl"
step sft-1b "$LIMIT" 0 "${SFT[@]}" --shapes "$S1" --max_lengths "$LENGTHS" --checkpointing on,off \
    --tokens_per_micro_batch "$MICRO"
step hf-1b "$LIMIT" 0 "$PY" bench/bench_hf_gpu.py "${HF[@]}" --out "$OUT/hf.jsonl"
step sft-3b "$LIMIT" 0 "${SFT[@]}" --shapes "$S3" --max_lengths "$LENGTHS" --checkpointing on,off \
    --tokens_per_micro_batch "$MICRO"
PYTORCH_ALLOC_CONF=expandable_segments:True step sft-8b 90 1 "${SFT[@]}" --shapes "$S8" --max_lengths "$LONG" \
    --checkpointing on --tokens_per_micro_batch "$LONG" --steps 8 --warmup 3
step sft-layouts 60 1 "${SFT[@]}" --shapes "$S1" --max_lengths "$LONG" --modes padding_free,padded \
    --checkpointing on --tokens_per_micro_batch "$MICRO"
step sft-tuning 60 1 "${SFT[@]}" --shapes "$S1,$S3" --max_lengths "$LONG" --checkpointing off \
    --tokens_per_micro_batch $((2 * MICRO))

"$PY" bench/gpu_summary.py "$OUT"
echo "gpu_bench: steps (name, exit status, seconds):"
cat "$OUT/steps.tsv"
echo "gpu_bench: results in $OUT ($(ls "$OUT" | tr '\n' ' '))"
! grep -qvP '\t(0|skipped)\t' "$OUT/steps.tsv"
