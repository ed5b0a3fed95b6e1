"""The end-to-end setting on real Fashion-MNIST, sized to seconds: pairs recorded, a rerun measured afresh."""

import pytest

from glai_ssl.bench.e2e import run_e2e

TINY = ["--train-size", "128", "--batch-size", "64", "--epochs", "1", "--eval-size", "256"]
TINY += ["--eval-probe-epochs", "1", "--workers", "0", "--glai-max-structure-epochs", "0.5"]


@pytest.mark.slow
def test_e2e_records_both_heads_and_a_rerun_replaces_its_own_runs(tmp_path, data_root):
    first = run_e2e(tmp_path, range(1), extra=TINY, log=lambda _: None)
    (pair,) = first["pairs"]
    assert pair["seed"] == 0 and 0 < pair["mlp"]["mva"] <= 1 and 0 < pair["glai"]["mva"] <= 1
    assert pair["glai"]["parameters"]["trainable"] == pair["mlp"]["parameters"]["trainable"]
    assert pair["glai"]["glai"]["switch_step"] == 1  # frozen after half of the 2-step epoch
    messages = []
    run_e2e(tmp_path, range(1), extra=TINY, log=messages.append)  # the recipes refuse an OUT holding a run
    assert any("replacing the earlier run" in message for message in messages)
