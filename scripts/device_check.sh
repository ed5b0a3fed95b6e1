#!/usr/bin/env bash
# The GPU checks, as one short prepared run for a lent GPU machine (the device tool; see README "On a GPU").
# Prepare here with `make device-bundle`, then call the device tool with
#   carry: [".device/wheels", ".device/data/omniglot", ".device/cache/omniglot"]
#   command: bash scripts/device_check.sh          (timeout_s 590: 5-minute training guards are meant to keep
#   the whole run near 9 minutes; not yet timed on a GPU, the SMOKE=1 run below took about 5 minutes on this CPU)
# It runs under the machine's own python3 (its torch, torchvision and Lightning; lightly from the wheels) and
# writes two files to $OUT: device_check.log (everything printed) and device_check.tgz (every JSON, Markdown,
# plot, best model and resumable checkpoint). Each step runs even when an earlier one failed; the log says
# which failed.
#   1. the GLAI block's tests, the CUDA one included (the CUDA paths of the block)
#   2. glai-ssl bench heads on the GPU: time per step of Phase 1, Phase 2 and the MLP (GPU timings)
#   3. at once:
#      - Prototypical Networks on Omniglot with Snell et al.'s training episodes and schedule, one model per
#        shot (60-way 1-shot and 60-way 5-shot, 5 queries), each stopped by a training guard of $GPU_MINUTES
#        minutes (default 5), then tested on 1000 episodes per task;
#      - the SimCLR recipe's Omniglot default with a GLAI projector, through Lightning on the GPU (both GLAI
#        phases), then its nearest-prototype episodes on the Vinyals test classes (killed if it runs past
#        the guard by 2 minutes).
# SMOKE=1 runs the same steps here on the CPU, shrunk to a few minutes: a test of this script.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/device_out}
WORK=/tmp/device_check
MINUTES=${GPU_MINUTES:-5}
DEVICE=cuda SEEDS=3 PROTONET_ARGS=() SIMCLR_ARGS=(--workers 6) SIMCLR_SECONDS=$((${MINUTES%.*} * 60 + 120))
if [ "${SMOKE:-0}" = 1 ]; then
    DEVICE=cpu SEEDS=1 MINUTES=0.01
    PROTONET_ARGS=(--episodes-per-epoch 5 --val-episodes 20 --test-episodes 20)
    SIMCLR_ARGS=(--epochs 1 --train-size 512 --batch-size 64 --eval-size 200) SIMCLR_SECONDS=900
fi
rm -rf "$WORK"
mkdir -p "$OUT" "$WORK"
export PYTHONUNBUFFERED=1 GLAI_SSL_PROGRESS=0
export GLAI_SSL_DATA="$PWD/.device/data" GLAI_SSL_CACHE="$PWD/.device/cache"
exec > >(tee "$OUT/device_check.log") 2>&1
failed=()
step() {  # step NAME COMMAND...: run, time and record a step without stopping the script
    local name=$1; shift
    echo "=== $name: $* ($(date -u +%T))"
    local start=$SECONDS
    "$@" || failed+=("$name")
    echo "=== $name took $((SECONDS - start)) s"
}
step install python3 -m pip install -q --no-index --no-deps .device/wheels/*.whl
step install-package python3 -m pip install -q --no-index --no-deps --no-build-isolation -e .
step environment python3 -c "import torch, torchvision, lightly, pytorch_lightning as pl
print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'lightly', lightly.__version__,
      'lightning', pl.__version__, 'cuda', torch.version.cuda,
      torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU')"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || true
step tests python3 -m pytest -q -p no:cacheprovider tests/glai
step bench-heads python3 -m glai_ssl.cli bench heads --device "$DEVICE" --seeds "$SEEDS" --out "$WORK/heads"

protonet() {  # protonet SHOT: Snell's training episodes and schedule, time-guarded, tested on 5/20-way
    python3 recipes/protonet_omniglot.py --device "$DEVICE" --shot "$1" --epochs 200 --lr-step 20 \
        --val-every 5 --max-minutes "$MINUTES" "${PROTONET_ARGS[@]}" --out "$WORK/protonet_${1}shot"
}
simclr() {  # the Lightning path on the GPU, GLAI projector through both phases
    timeout "$SIMCLR_SECONDS" python3 recipes/simclr.py --dataset omniglot \
        --head glai --device "$DEVICE" "${SIMCLR_ARGS[@]}" --out "$WORK/simclr_omniglot_glai"
}
start=$SECONDS
echo "=== at once: protonet 1-shot and 5-shot ($MINUTES-minute training guards), simclr ($(date -u +%T))"
protonet 1 > "$WORK/protonet_1shot.log" 2>&1 & one=$!
protonet 5 > "$WORK/protonet_5shot.log" 2>&1 & five=$!
simclr > "$WORK/simclr_omniglot_glai.log" 2>&1 & ssl=$!
wait $one || failed+=(protonet-1shot)
wait $five || failed+=(protonet-5shot)
wait $ssl || failed+=(simclr-omniglot)
for log in "$WORK"/*.log; do echo "--- $log"; tail -n 12 "$log"; done
echo "=== the three runs took $((SECONDS - start)) s"
tar czf "$OUT/device_check.tgz" -C "$WORK" .
echo "failed steps: ${failed[*]:-none}"
