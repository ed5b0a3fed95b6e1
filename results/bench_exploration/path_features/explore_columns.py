"""Structured pruning tried before ``prune="features"`` existed: whole (unit, output) columns or (unit, input) rows.

PRUNE=cols|rows|entries python explore_columns.py quick SEEDS SETTING[,SETTING...] '{"variant": {overrides}}'

Replaces the block's pruning by path norm (``entries``) with one that keeps whole groups of paths, the groups of
largest summed ``|A|`` (the last group partly, so the budget stays exact), then runs ``explore.py``'s loop.
``rows`` is what became ``GLAI(prune="features")``; ``cols`` keeps ``A[u, o, :]``. Writes
``struct_<PRUNE>_<setting>.json`` to the working directory. Accuracy only: the forward pass stays dense here.
"""

import json
import os
import sys
from pathlib import Path

import torch

import glai_ssl.glai.block as block
from glai_ssl.glai.paths import prune_by_path_norm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import explore  # noqa: E402  (the folder's explore.py)


def grouped(paths: torch.Tensor, keep: int) -> torch.Tensor:
    """Mask keeping whole columns (``PRUNE=cols``) or rows (``PRUNE=rows``) of ``A (U, dout, d0 + 1)``."""
    mode = os.environ.get("PRUNE", "entries")
    if mode == "entries":
        return prune_by_path_norm(paths, keep)
    magnitude = paths.detach().abs()
    if mode == "rows":
        magnitude = magnitude.permute(0, 2, 1)  # (U, d0 + 1, dout): groups are (u, i)
    groups = magnitude.flatten(0, 1)
    order = groups.sum(1).argsort(descending=True)
    full, rest = divmod(keep, groups.shape[1])
    mask = torch.zeros_like(groups, dtype=torch.bool)
    mask[order[:full]] = True
    if rest:
        mask[order[full], groups[order[full]].topk(rest).indices] = True
    mask = mask.view_as(magnitude)
    return (mask.permute(0, 2, 1) if mode == "rows" else mask).contiguous()


block.PRUNING["paths"] = grouped

if __name__ == "__main__":
    quick, seeds, names = sys.argv[1] == "quick", int(sys.argv[2]), sys.argv[3].split(",")
    variants = json.loads(sys.argv[4])
    for setting in names:
        with open(f"struct_{os.environ.get('PRUNE', 'entries')}_{setting}.json", "w") as f:
            json.dump(explore.explore(setting, quick, seeds, variants), f)
