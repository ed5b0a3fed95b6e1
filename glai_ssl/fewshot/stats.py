"""Mean accuracy with a 95% confidence interval over episodes, as reported by Snell et al. (2017)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    """``mean +- ci95`` over ``n`` values; ``std`` is the sample standard deviation (n - 1)."""

    mean: float
    ci95: float
    std: float
    n: int

    def __str__(self) -> str:
        return f"{100 * self.mean:.2f} +- {100 * self.ci95:.2f}%"


def confidence_interval(values: Sequence[float], z: float = 1.96) -> Summary:
    """``mean +- z * std / sqrt(n)`` with the sample standard deviation (ddof 1; 0 when ``n == 1``).

    Raises:
        ValueError: for an empty sequence.
    """
    n = len(values)
    if n == 0:
        raise ValueError("no values to summarise")
    mean = math.fsum(values) / n
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return Summary(mean, z * std / math.sqrt(n), std, n)
