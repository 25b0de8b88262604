#!/usr/bin/env bash
# One GPU session for the diffusion issue, prepared for a lent H200 (JAX
# backend) and dry-run on the CPU only: no GPU was lent when it was written.
# Each phase is bounded so that the whole fits one 10-minute call:
#
#   1. train-step throughput of the ddpm-mnist U-Net in float32 and
#      mixed_bfloat16 (benchmarks/ddpm_train_throughput.py);
#   2. the ddpm-mnist preset's run, `kerasgen train ddpm` with the preset's
#      recipe at batch 128, as many steps (a multiple of 1,000) as phase 1
#      says fit in TRAIN_SECONDS, in the faster precision;
#   3. FID and time per 100 images of that run at 1,000, 100, 50, 20 and
#      10 DDIM steps and 1,000 DDPM steps (benchmarks/ddpm_sampling.py);
#   4. the CelebA 64x64 U-Net's throughput in both precisions;
#   5. what comes back: the run's checkpoint in 15 MiB parts (over the
#      16 MiB a returned file may hold), the run's small files, the rows.
#
# Usage (repository root; kerasgen, Keras and JAX importable; the MNIST
# test digits at ../shared/datasets/mnist): bash benchmarks/ddpm_gpu_session.sh OUT
# Publishing (zoo/publish.py) happens afterwards on the CPU machine, so the
# card is computed on TensorFlow like every other card's.
#
# On this workplace's device machine (no TensorFlow, no Keras there): carry
# the wheels of keras, namex and optree in .whl/ and the MNIST files in
# .data/mnist (both git-ignored), keep the working tree under 64 MiB (the
# largest zoo weight files may have to stay behind), and run
#   python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl &&
#   export PYTHONPATH=/tmp/site && python3 -m pip install -q --no-deps
#   --no-build-isolation --no-index -e . && mkdir -p ../shared/datasets &&
#   cp -r .data/mnist ../shared/datasets/ && bash benchmarks/ddpm_gpu_session.sh $OUT
# then join the parts: cat checkpoint.keras.part* > runs/zoo/ddpm-mnist/checkpoint.keras
set -u
OUT=${1:?usage: ddpm_gpu_session.sh OUT}
TRAIN_SECONDS=${TRAIN_SECONDS:-170}
# Smaller values make a dry run on a CPU (e.g. MIN_STEPS=4 TIMED_STEPS=2
# ROWS=ddim:2 ROW_N=200 ROW_BATCH=100).
MIN_STEPS=${MIN_STEPS:-1000}
TIMED_STEPS=${TIMED_STEPS:-200}
ROWS=${ROWS:-ddim:1000,ddpm:1000,ddim:100,ddim:50,ddim:20,ddim:10}
ROW_N=${ROW_N:-500}
ROW_BATCH=${ROW_BATCH:-250}
RUN=runs/zoo/ddpm-mnist
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1
mkdir -p "$OUT" benchmarks/results
say() { echo "=== $(date +%T) $*"; }

say "1. throughput, ddpm-mnist U-Net"
timeout 110 python3 benchmarks/ddpm_train_throughput.py --configs mnist \
    --precisions float32,mixed_bfloat16 --steps "$TIMED_STEPS" --warmup 5

read -r PRECISION STEPS < <(python3 - "$TRAIN_SECONDS" "$MIN_STEPS" <<'EOF'
import json, sys
budget, least = float(sys.argv[1]), int(sys.argv[2])
rows = [json.loads(l) for l in open("benchmarks/results/ddpm_train_throughput.jsonl")
        if l.strip()]
rows = [r for r in rows if r["config"] == "mnist" and r["backend"] == "jax"]
best = max(rows, key=lambda r: r["steps_per_second"]) if rows else None
if best is None:
    print("float32", least)
else:
    # The command line's loop (data, progress, grids, checkpoints) is
    # slower than fit() on arrays: plan on 70 % of the measured rate.
    steps = int(best["steps_per_second"] * 0.7 * budget // 1000 * 1000)
    print(best["precision"], max(least, min(steps, 100000)))
EOF
)
say "2. train ddpm-mnist: $STEPS steps, $PRECISION"
timeout $((TRAIN_SECONDS + 110)) python3 -m kerasgen.cli train ddpm --out "$RUN" \
    --sample-every 5000 --checkpoint-every 2000 --no-tensorboard \
    --data ../shared/datasets/mnist --subset 0:8000 --batch-size 128 --steps "$STEPS" \
    --precision "$PRECISION" --set image_size=28 --set channels=1 --set num_classes=10 \
    --set filters=32 --set multipliers=1,2,2 --set blocks_per_level=1 \
    --set attention_levels=2 --set dropout=0.0 --set learning_rate=5e-4 \
    --set ema_decay=0.999 2>&1 | grep -v "ETA"

say "3. sampling rows"
timeout 110 python3 benchmarks/ddpm_sampling.py "$RUN" --batch "$ROW_BATCH" --n "$ROW_N" \
    --configs "$ROWS"

say "4. throughput, CelebA 64x64 U-Net"
timeout 60 python3 benchmarks/ddpm_train_throughput.py --configs celeba64 \
    --precisions float32,mixed_bfloat16 --steps "$((TIMED_STEPS / 4))" --warmup 3

say "5. packing"
cp benchmarks/results/ddpm_train_throughput.jsonl "$OUT/" 2>/dev/null
cp benchmarks/results/ddpm_sampling.jsonl "$OUT/" 2>/dev/null
if [ -f "$RUN/checkpoint.keras" ]; then
    split -b 15M -d "$RUN/checkpoint.keras" "$OUT/checkpoint.keras.part"
    sha256sum "$RUN/checkpoint.keras"
fi
tar cf "$OUT/run-files.tar" --exclude checkpoint.keras --exclude .lock "$RUN"
say "done"
