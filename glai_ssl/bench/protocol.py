"""Time-to-accuracy, the benchmark's protocol (glai-method.md, "how we must measure it").

The MLP head trains until its validation accuracy stops improving (patience); its maximum validation accuracy
(MVA) and the training time when it first reached it are recorded. GLAI is timed from the first step of
Phase 1 (stability checks, pruning, gate caching and solver set-up included) until it first reaches the
MLP's MVA; its own patience counts from its switch to Phase 2 (Phase 1 never ends a run, and Phase 2, a new
model class, gets the full patience). Evaluation time is excluded for both (the clock pauses). Speedup per seed pair =
T_MLP(MVA) / T_GLAI(reach MLP's MVA).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import stats


class TrainClock:
    """A stopwatch of training time that pauses while evaluating."""

    def __init__(self) -> None:
        self.elapsed = 0.0
        self._started: float | None = None

    def start(self) -> TrainClock:
        """Start counting from now (``elapsed`` is kept); returns ``self`` for chaining."""
        self._started = time.perf_counter()
        return self

    def pause(self) -> float:
        """Stop counting (no-op when already paused); return the elapsed training seconds."""
        if self._started is not None:
            self.elapsed += time.perf_counter() - self._started
            self._started = None
        return self.elapsed

    def resume(self) -> None:
        """Count again from now, after :meth:`pause`."""
        self._started = time.perf_counter()

    def read(self) -> float:
        """Elapsed training seconds so far, including the current stretch when running."""
        return self.elapsed + (time.perf_counter() - self._started if self._started is not None else 0.0)


@dataclass
class Curve:
    """Validation accuracy against training time (seconds) and optimisation steps, with phase marks."""

    points: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)

    def add(self, seconds: float, step: int, accuracy: float, **extra) -> None:
        """Record a validation ``accuracy`` at ``seconds`` of training and optimisation ``step`` (plus ``extra``)."""
        self.points.append({"seconds": seconds, "step": step, "accuracy": accuracy, **extra})

    def mark(self, seconds: float, step: int, event: str) -> None:
        """Record an ``event`` (e.g. a structure freeze) at ``seconds`` of training and ``step``."""
        self.events.append({"seconds": seconds, "step": step, "event": event})

    @property
    def max_accuracy(self) -> float:
        """The maximum validation accuracy (MVA) over the points; NaN when there are none."""
        return max((p["accuracy"] for p in self.points), default=float("nan"))

    def time_to(self, accuracy: float) -> float | None:
        """Training time when the curve first reached ``accuracy`` (None if never)."""
        point = first_point_at(self.points, accuracy)
        return None if point is None else point["seconds"]


def first_point_at(points: list[dict], accuracy: float) -> dict | None:
    """The first curve point at or above ``accuracy`` (None if none)."""
    return next((p for p in points if p["accuracy"] >= accuracy - 1e-12), None)


def mean_ci95(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% confidence interval (Student t; NaN for fewer than two values)."""
    array = np.asarray(values, dtype=float)
    if len(array) < 2:
        return float(array.mean()) if len(array) else float("nan"), float("nan")
    half = stats.t.ppf(0.975, len(array) - 1) * array.std(ddof=1) / math.sqrt(len(array))
    return float(array.mean()), float(half)


def paired_tests(mlp_times: list[float], glai_times: list[float]) -> dict:
    """Wilcoxon signed-rank and paired t-test of MLP vs GLAI times (two-sided), where both are defined."""
    pairs = [(m, g) for m, g in zip(mlp_times, glai_times) if m is not None and g is not None]
    result: dict = {"pairs": len(pairs)}
    if len(pairs) >= 2:
        m, g = np.array(pairs).T
        result["paired_t_p"] = float(stats.ttest_rel(m, g).pvalue)
        if np.any(m != g):
            result["wilcoxon_p"] = float(stats.wilcoxon(m, g).pvalue)
    return result


def _mean_of(pairs: list[dict], kind: str, key: str) -> float | None:
    """Mean of ``pair[kind][key]`` over the pairs that record it (None if none do)."""
    values = [p[kind][key] for p in pairs if p[kind].get(key) is not None]
    return float(np.mean(values)) if values else None


def summarise_pairs(pairs: list[dict]) -> dict:
    """Speedups and accuracies over seed pairs ``{"mlp": {...}, "glai": {...}}`` of one setting."""
    speedups, gaps = [], []
    mlp_times, glai_times = [], []
    for pair in pairs:
        mlp, glai = pair["mlp"], pair["glai"]
        t_mlp = mlp["time_to_mva"]
        t_glai = glai["time_to_mlp_mva"]
        mlp_times.append(t_mlp)
        glai_times.append(t_glai)
        if t_glai is not None and t_mlp:
            speedups.append(t_mlp / t_glai)
        gaps.append(glai["mva"] - mlp["mva"])
    mean, half = mean_ci95(speedups)
    # where GLAI stood when it first reached the MLP's MVA, and where it ended: Phase 1 is S, an ordinary MLP
    reached_phase = []
    for pair in pairs:
        point = first_point_at(pair["glai"]["curve"]["points"], pair["mlp"]["mva"])
        reached_phase.append(None if point is None else point.get("phase"))
    final = [p["glai"]["curve"]["points"][-1]["accuracy"] for p in pairs if p["glai"]["curve"]["points"]]
    return {
        "seeds": len(pairs),
        "reached": len(speedups),
        "speedup_mean": mean,
        "speedup_ci95": half,
        "speedups": speedups,
        "mlp_mva_mean": float(np.mean([p["mlp"]["mva"] for p in pairs])),
        "glai_mva_mean": float(np.mean([p["glai"]["mva"] for p in pairs])),
        "mva_gap_mean": float(np.mean(gaps)),
        "mva_gaps": gaps,
        "glai_mva_at_least_mlp": all(g >= -1e-12 for g in gaps),
        "glai_reached_in_phase": reached_phase,
        "glai_final_accuracies": final,
        "glai_final_at_least_mlp_mva": sum(
            f >= p["mlp"]["mva"] - 1e-12 for f, p in zip(final, pairs, strict=False)
        ),
        "mlp_time_to_mva_mean": float(np.mean([t for t in mlp_times if t is not None])),
        "glai_time_to_mlp_mva_mean": float(np.mean([t for t in glai_times if t is not None]))
        if speedups
        else None,
        "glai_time_to_own_mva_mean": _mean_of(pairs, "glai", "time_to_mva"),
        "state_bytes_mean": {kind: _mean_of(pairs, kind, "state_bytes") for kind in ("mlp", "glai")},
        "tests": paired_tests(mlp_times, glai_times),
    }
