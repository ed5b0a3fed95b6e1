"""Gate stability: when has the ReLU on/off pattern of the structure network settled? (GLAI, Phase 1)

On a fixed probe batch, the share of gates that flipped since the previous check (normalised Hamming
distance). The structure is stable once that share stays below ``tau`` for ``patience`` checks in a row, or
when the step budget runs out. Every check is kept in ``trace`` so it can be plotted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import Tensor


@dataclass
class StabilityConfig:
    """When to freeze the structure [our choices; see docs/glai.md for how the defaults were measured].

    Attributes:
        tau: flip share below which a check counts as stable.
        patience: stable checks in a row needed (the paper's ``k``).
        check_every: training forward calls between checks.
        max_steps: freeze after this many training forward calls even if not stable (``None``: no budget).
        min_steps: never freeze before this many training forward calls.
        probe_size: inputs kept from the first training batch(es) as the probe batch.
    """

    tau: float = 0.05
    patience: int = 3
    check_every: int = 50
    max_steps: int | None = 2000
    min_steps: int = 0
    probe_size: int = 256

    def __post_init__(self) -> None:
        if not 0.0 <= self.tau <= 1.0:
            raise ValueError(f"tau must be in [0, 1], got {self.tau}")
        if self.patience < 1 or self.check_every < 1 or self.probe_size < 1:
            raise ValueError("patience, check_every and probe_size must be >= 1")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1 or None, got {self.max_steps}")


def hamming_distance(previous: Tensor, current: Tensor) -> float:
    """Share of gates that differ between two boolean gate tensors of the same shape."""
    if previous.shape != current.shape:
        raise ValueError(f"gate shapes differ: {tuple(previous.shape)} vs {tuple(current.shape)}")
    return (previous != current).float().mean().item()


@dataclass
class GateStabilityMonitor:
    """Tracks gate flips between checks and says when the structure is stable.

    ``trace`` holds one ``{"step", "distance"}`` record per check; ``stable_streak`` counts consecutive checks
    under ``tau``; ``reason`` says why the monitor declared stability (``"stable"`` or ``"budget"``).
    """

    config: StabilityConfig = field(default_factory=StabilityConfig)
    trace: list[dict] = field(default_factory=list)
    stable_streak: int = 0
    reason: str | None = None
    _previous: Tensor | None = field(default=None, repr=False)

    def update(self, step: int, gates: Tensor) -> bool:
        """Record a check at ``step`` with the probe batch's current gates; return True when stable."""
        gates = gates.detach().to("cpu", torch.bool)
        if self._previous is not None:
            distance = hamming_distance(self._previous, gates)
            self.trace.append({"step": int(step), "distance": distance})
            self.stable_streak = self.stable_streak + 1 if distance < self.config.tau else 0
        self._previous = gates
        return self.is_stable(step)

    @property
    def has_checked(self) -> bool:
        """Whether a check has run (the probe batch is fixed from then on)."""
        return self._previous is not None

    def is_stable(self, step: int) -> bool:
        """Stable when ``patience`` checks in a row were below ``tau`` (after ``min_steps``), or out of budget."""
        if step < self.config.min_steps:
            return False
        if self.stable_streak >= self.config.patience:
            self.reason = "stable"
            return True
        if self.config.max_steps is not None and step >= self.config.max_steps:
            self.reason = "budget"
            return True
        return False

    def state(self) -> dict:
        """Everything needed to resume the monitor exactly (the last gates included)."""
        return {
            "config": asdict(self.config),
            "trace": list(self.trace),
            "stable_streak": self.stable_streak,
            "reason": self.reason,
            "previous": None if self._previous is None else self._previous.clone(),
        }

    def load(self, state: dict) -> None:
        """Restore a :meth:`state` (its config replaces this monitor's)."""
        self.config = StabilityConfig(**state["config"])
        self.trace = list(state["trace"])
        self.stable_streak = int(state["stable_streak"])
        self.reason = state["reason"]
        self._previous = state["previous"]
