#!/usr/bin/env bash
# Every GPU check in one script, ≤ 8 minutes on one H100/H200-class GPU:
#   1. the GPU tests (CUDA equals the CPU statistically, TF32 vs float32, the torch active path) ~1 min
#   2. model-steps/s of the dense, active and auto paths on E1- and E2-shaped shards             ~2 min
#   3. the CUDA engine bench (bench/engine.py --device cuda)                                     ~1 min
#   4. the paper-recipe preset `paper-e2-recipe` trained on the GPU and analysed                 ~4 min
# Figures land in $OUT (the device tool's folder) or bench/results/. Runs under the machine's own python3
# and torch (nothing is installed); superscale is imported from src/.
#   bash bench/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
RESULTS=${OUT:-bench/results}
mkdir -p "$RESULTS"
export PYTHONPATH="$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
superscale() { python3 -c "from superscale.cli import main; main()" "$@"; }

python3 -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.__version__, torch.cuda.get_device_name())" \
    | tee "$RESULTS/gpu-info.txt" || exit 1
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv >>"$RESULTS/gpu-info.txt" 2>&1

echo "== 1. GPU tests"
timeout 150 python3 -m pytest -q -p no:cacheprovider -m gpu tests/train/test_gpu.py tests/train/test_active.py \
    2>&1 | tee "$RESULTS/gpu-tests.log"

echo "== 2. the engine's paths on E1- and E2-shaped shards"
timeout 150 python3 bench/gpu_paths.py --device cuda --json "$RESULTS/gpu-paths.json" 2>&1 | tee "$RESULTS/gpu-paths.log"

echo "== 3. CUDA engine bench"
timeout 150 python3 bench/engine.py --device cuda --engine-steps 200 --burn-in 50 \
    --json "$RESULTS/engine-cuda.json" 2>&1 | tee "$RESULTS/engine-cuda.log"

echo "== 4. paper-e2-recipe on the GPU"
STORE=${TMPDIR:-/tmp}/paper-e2-recipe-gpu
start=$(date +%s)
timeout 240 bash -c "$(declare -f superscale); superscale run paper-e2-recipe --out '$STORE' --device cuda --quiet \
    && superscale analyze '$STORE'" 2>&1 | tee "$RESULTS/recipe-gpu.log"
echo "recipe wall seconds: $(( $(date +%s) - start ))" | tee -a "$RESULTS/recipe-gpu.log"
for table in runs fits; do
    [ -f "$STORE/$table.parquet" ] && cp "$STORE/$table.parquet" "$RESULTS/recipe-gpu-$table.parquet"
done
ls -la "$RESULTS"
