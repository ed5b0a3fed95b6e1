"""Exploration of GLAI Phase-2 options per bench setting: usage in README.md of this folder.

python explore.py quick|full SEEDS SETTING[,SETTING...] '{"variant": {RunSettings overrides}, ...}'
"""
import sys, json, time
from dataclasses import replace
from glai_ssl.bench.settings import SETTINGS
from glai_ssl.bench.runners import RunSettings, train_head
quick = sys.argv[1] == "quick"; seeds = int(sys.argv[2]); names = sys.argv[3].split(",")
variants = json.loads(sys.argv[4])
for setting in names:
    task = SETTINGS[setting](quick)
    base = RunSettings()
    out = {}
    for seed in range(seeds):
        mlp = train_head(task, "mlp", seed, base)
        print(f"[{setting}] seed {seed} MLP: MVA {mlp['mva']:.4f} at {mlp['time_to_mva']:.2f}s epochs {mlp['epochs']} total {mlp['train_seconds']:.1f}s", flush=True)
        out.setdefault("mlp", []).append(mlp)
        for name, kw in variants.items():
            g = train_head(task, "glai", seed, replace(base, **kw), target=mlp["mva"])
            t = g["time_to_mlp_mva"]
            sp = f"{mlp['time_to_mva'] / t:.2f}x" if t else "never"
            print(f"[{setting}]   {name:26s} MVA {g['mva']:.4f} ({100*(g['mva']-mlp['mva']):+.2f}) reach {t and round(t,2)} speedup {sp} epochs {g['epochs']} total {g['train_seconds']:.1f}s freeze@{g['glai']['switch_step']} {g['glai']['freeze_reason']} S{g['glai']['structure_widths']}", flush=True)
            out.setdefault(name, []).append(g)
    json.dump(out, open(f"explore_{setting}_{int(time.time())}.json", "w"))
