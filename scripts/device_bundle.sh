#!/usr/bin/env bash
# Prepare what scripts/device_check.sh needs on a lent GPU machine, in the ignored folder .device/:
#   .device/wheels/   lightly and the three pure-Python packages it pulls in that the machine's image lacks
#                     (the image has torch, torchvision, Lightning, scipy, matplotlib; nothing can be
#                     installed there from a registry)
#   .device/data      a link to the data root (nothing is copied: the device tool sends the paths named in
#                     `carry` through the link)
#   .device/cache     a link to the cache root (Omniglot decoded once, so the machine does not decode it again)
# Run here (make device-bundle), then call the device tool with
#   carry: [".device/wheels", ".device/data/omniglot", ".device/cache/omniglot"]
#   command: bash scripts/device_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
DATA=${GLAI_SSL_DATA:-../shared/data}
CACHE=${GLAI_SSL_CACHE:-$HOME/.cache/glai_ssl}
[ -d "$DATA/omniglot" ] || { echo "error: no Omniglot under $DATA; set GLAI_SSL_DATA" >&2; exit 1; }
mkdir -p .device/wheels
version() { "$PY" -c "import importlib.metadata as m; print(m.version('$1'))"; }
"$PY" -m pip wheel -q --no-deps -w .device/wheels \
    "lightly==$(version lightly)" "hydra-core==$(version hydra-core)" \
    "omegaconf==$(version omegaconf)" "antlr4-python3-runtime==$(version antlr4-python3-runtime)"
ln -sfn "$(cd "$DATA" && pwd)" .device/data
mkdir -p "$CACHE/omniglot"
ls "$CACHE"/omniglot/drawings-28px-*.pt >/dev/null 2>&1 || "$PY" -c "
from glai_ssl.data.omniglot import decode_omniglot; decode_omniglot(data_root='$DATA')"
ln -sfn "$(cd "$CACHE" && pwd)" .device/cache
du -shL .device/wheels .device/data/omniglot .device/cache/omniglot
