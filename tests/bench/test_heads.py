"""The head micro-benchmark times the GLAI variants it is told to build (width of S, pruning) beside the MLP."""

import torch

from glai_ssl.bench.heads import HeadBenchConfig, markdown_table, run_head_benchmark
from glai_ssl.glai import HeadSpec
from glai_ssl.glai.paths import default_structure_widths


def test_glai_options_reach_the_timed_variants():
    glai = {"path_ratio": 2.0, "prune": "features"}
    config = HeadBenchConfig(
        heads=("simclr-512-2048-128",), seeds=1, rounds=1, steps_per_round=1, warmup=0, glai=glai
    )
    result = run_head_benchmark(config, torch.device("cpu"))["heads"]["simclr-512-2048-128"]
    spec = HeadSpec(512, (2048,), 128, True, True, True)  # lightly's SimCLR head: output BatchNorm, affine
    assert result["glai_structure_widths"] == list(default_structure_widths(spec, 2.0))
    assert result["parameters"]["glai-phase2"]["trainable"] == result["parameters"]["mlp"]["trainable"]
    assert result["ratio_to_mlp"]["glai-phase2"]["mean"] > 0
    assert "'prune': 'features'" in markdown_table({"config": config.__dict__, "device": "cpu", "heads": {}})
