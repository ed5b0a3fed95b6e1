import argparse

import pytest

from glai_ssl.bench.cli import register


def bench_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    return parser


def test_refit_ridge_takes_a_number_or_off():
    parser = bench_parser()
    assert parser.parse_args(["bench", "--glai-refit-ridge", "0.05"]).glai_refit_ridge == 0.05
    for word in ("off", "none", "OFF"):  # the few-shot CLI's word works too; None is no refit in RunSettings
        assert parser.parse_args(["bench", "--glai-refit-ridge", word]).glai_refit_ridge is None
    with pytest.raises(SystemExit):
        parser.parse_args(["bench", "--glai-refit-ridge", "no"])
