"""How spread are the paths that single-path pruning keeps? Share of (unit, output) columns and (unit, input) rows
of the path tensor that hold at least one kept path, after a bench GLAI run with ``prune="paths"``.

python kept_groups.py SETTING RATIO     (e.g. fixed-fmnist 4; one seed, 4 epochs, printed at the switch)
"""

import sys
from dataclasses import replace

from glai_ssl.bench.runners import RunSettings, train_head
from glai_ssl.bench.settings import SETTINGS
from glai_ssl.glai.block import GLAI

freeze = GLAI.freeze_structure


def freeze_and_count(self: GLAI) -> None:
    """Freeze as usual, then print how many columns and rows of the mask keep a path."""
    freeze(self)
    mask = self.mask
    units, dout, inputs = mask.shape
    columns = int(mask.flatten(0, 1).any(1).sum())
    rows = int(mask.permute(0, 2, 1).flatten(0, 1).any(1).sum())
    print(
        f"U={units} dout={dout} d0+1={inputs} kept={int(mask.sum())} "
        f"columns {columns}/{units * dout} ({columns / (units * dout):.3f}) "
        f"rows {rows}/{units * inputs} ({rows / (units * inputs):.3f})",
        flush=True,
    )


GLAI.freeze_structure = freeze_and_count

if __name__ == "__main__":
    setting, ratio = sys.argv[1], float(sys.argv[2])
    settings = replace(RunSettings(), glai_prune="paths", glai_path_ratio=ratio, max_epochs=4)
    print(setting, ratio, "MVA", train_head(SETTINGS[setting](True), "glai", 0, settings)["mva"])
