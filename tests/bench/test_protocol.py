import math

import pytest

from glai_ssl.bench.protocol import Curve, TrainClock, mean_ci95, summarise_pairs


def test_mean_ci95_on_known_numbers():
    mean, half = mean_ci95([1.0, 2.0, 3.0, 4.0, 5.0])
    # t_{0.975, 4} = 2.7764; std = sqrt(2.5)
    assert mean == pytest.approx(3.0)
    assert half == pytest.approx(2.7764451 * math.sqrt(2.5) / math.sqrt(5), rel=1e-6)
    assert mean_ci95([2.0])[0] == 2.0 and math.isnan(mean_ci95([2.0])[1])  # no interval from one value


def test_curve_time_to_first_reach():
    curve = Curve()
    for seconds, accuracy in [(1.0, 0.5), (2.0, 0.8), (3.0, 0.7), (4.0, 0.9)]:
        curve.add(seconds, 0, accuracy)
    assert curve.max_accuracy == 0.9
    assert curve.time_to(0.8) == 2.0
    assert curve.time_to(0.95) is None


def test_clock_excludes_paused_time():
    clock = TrainClock().start()
    clock.pause()
    paused_at = clock.elapsed
    clock.pause()
    assert clock.elapsed == paused_at
    clock.resume()
    assert clock.read() >= paused_at


def _pair(seed, mlp_mva, mlp_time, glai_mva, glai_time, glai_points=None):
    points = glai_points or [{"seconds": 1.0, "accuracy": glai_mva, "phase": 2}]
    return {
        "seed": seed,
        "mlp": {"mva": mlp_mva, "time_to_mva": mlp_time},
        "glai": {"mva": glai_mva, "time_to_mlp_mva": glai_time, "curve": {"points": points}},
    }


def test_summary_reports_speedups_and_unreached_pairs_without_hiding_them():
    pairs = [_pair(0, 0.80, 10.0, 0.81, 5.0), _pair(1, 0.80, 12.0, 0.79, None), _pair(2, 0.8, 9.0, 0.8, 3.0)]
    summary = summarise_pairs(pairs)
    assert summary["seeds"] == 3 and summary["reached"] == 2
    assert summary["speedups"] == [2.0, 3.0]
    assert summary["speedup_mean"] == pytest.approx(2.5)
    assert summary["glai_mva_at_least_mlp"] is False
    assert summary["mva_gaps"][1] == pytest.approx(-0.01)


def test_summary_says_in_which_phase_glai_reached_the_mlp_and_where_it_ended():
    # seed 0 reaches the MLP's 0.80 while still in Phase 1 and ends below it; seed 1 reaches it in Phase 2
    phase1_peak = [
        {"seconds": 1.0, "accuracy": 0.82, "phase": 1},
        {"seconds": 2.0, "accuracy": 0.78, "phase": 2},
    ]
    phase2 = [{"seconds": 1.0, "accuracy": 0.70, "phase": 1}, {"seconds": 2.0, "accuracy": 0.81, "phase": 2}]
    pairs = [_pair(0, 0.80, 4.0, 0.82, 1.0, phase1_peak), _pair(1, 0.80, 4.0, 0.81, 2.0, phase2)]
    summary = summarise_pairs(pairs)
    assert summary["glai_reached_in_phase"] == [1, 2]
    assert summary["glai_final_accuracies"] == [0.78, 0.81]
    assert summary["glai_final_at_least_mlp_mva"] == 1
