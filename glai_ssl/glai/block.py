"""The GLAI block (GreenLightningAI, Mestre et al. 2025, arXiv 2510.00883): an MLP replacement in two phases.

Phase 1 trains a small structure network ``S`` (a ReLU MLP of the same depth) like any head, while a
:class:`GateStabilityMonitor` watches its ReLU gates on a fixed probe batch. When the gates are stable the
block freezes ``S`` and switches to Phase 2, the path form of the network:

    y(x) = sum_u G_u(x) * (s * theta_u) x~ + b,        x~ = [x; 1],

where the gates ``G`` come from the frozen ``S`` (no gradient, BatchNorm in eval mode) and only the path
weights ``theta`` (pruned by path norm to a trainable budget, masked entries zero for good), the output bias
and the output BatchNorm train. The block is linear in ``theta``; gradients still reach ``x``.

All of it happens inside ``forward`` during training, so the block drops into any training loop: the path
weights are registered from the start, so an optimizer built on ``module.parameters()`` before the switch
keeps working after it (see :meth:`GLAI.freeze_structure` for what happens to optimizer state).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import asdict

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.optim.optimizer import register_optimizer_step_post_hook

from glai_ssl.glai.paths import (
    combined_gates,
    default_structure_widths,
    hidden_blocks,
    num_paths,
    path_products,
    prune_by_feature_norm,
    prune_by_path_norm,
    unit_counts,
)
from glai_ssl.glai.spec import HeadSpec
from glai_ssl.glai.stability import GateStabilityMonitor, StabilityConfig

STRUCTURE, PATHS = 1, 2

#: how the path budget is spent: single paths by path norm (the paper), or whole path features (see ``prune``)
PRUNING = {"paths": prune_by_path_norm, "features": prune_by_feature_norm}


class _MaskGradient(torch.autograd.Function):
    """Identity on the path weights in forward; multiplies their gradient by the pruning mask in backward."""

    @staticmethod
    def forward(ctx, weight: Tensor, mask: Tensor) -> Tensor:
        ctx.save_for_backward(mask)
        return weight.view_as(weight)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (mask,) = ctx.saved_tensors
        return grad * mask, None


class PhaseError(RuntimeError):
    """A GLAI API was used in the wrong phase (e.g. freezing twice, or a Phase-2 API during Phase 1)."""


class GLAI(nn.Module):
    """A GLAI block with an MLP-like constructor.

    Args:
        input_dim: ``d0``.
        hidden_dims: hidden widths of the MLP this block replaces (an int for one hidden layer).
        output_dim: ``dout``.
        batch_norm: BatchNorm in the hidden layers (gates are read after it).
        output_batch_norm: BatchNorm on the output, as in SimCLR's projection head.
        output_affine: learnable scale/shift in that output BatchNorm.
        structure_widths: widths of ``S``; default: the smallest equal widths whose path count reaches
            ``path_ratio`` times the MLP's parameter count [our choice].
        path_ratio: see ``structure_widths``.
        budget: trainable parameters in Phase 2 (kept paths + output bias / BatchNorm affine); default
            (``None`` or ``"mlp"``): the equivalent MLP's trainable parameter count, exactly [our choice];
            ``"all"``: no pruning.
        path_scale: the path weights are stored as ``theta = A / path_scale`` and used as ``path_scale * theta``,
            so an Adam step of size ``lr`` moves ``A`` by ``path_scale * lr`` (SGD: ``path_scale**2``) [our choice].
        prune: ``"paths"``: keep the single paths of largest path norm (the paper). ``"features"``: keep whole
            path features ``G_u(x) x~_i`` with all their output weights, by the summed path norm
            (:func:`~glai_ssl.glai.paths.prune_by_feature_norm`) [our choice]; Phase 2 then costs what the MLP
            costs per step however wide ``S`` is, where ``"paths"`` costs ``path_ratio`` times more.
        stability: when to freeze; a :class:`StabilityConfig` or a dict of its fields.
        auto_freeze: watch the gates inside ``forward`` and, when stable, freeze right after the next optimizer
            step. Turn off to drive the switch yourself with :meth:`check_stability` / :meth:`freeze_structure`.
        refit_ridge: with ``prune="features"``, fit the kept path weights to ``S``'s own outputs at the switch
            (:func:`~glai_ssl.glai.solvers.refit_to_structure`; ridge toward the pruned path products, this
            times the Gram matrix's mean diagonal), on the inputs of the last training calls (up to
            ``refit_samples``) [our choice]; ``None``: keep the pruned path products as they are.
        refit_samples: how many recent training inputs the refit keeps and uses.

    Shapes:
        input ``(B, input_dim)``, output ``(B, output_dim)``.
    """

    def __init__(
        self,
        input_dim: int,
        hidden_dims: int | Sequence[int],
        output_dim: int,
        *,
        batch_norm: bool = True,
        output_batch_norm: bool = False,
        output_affine: bool = True,
        structure_widths: int | Sequence[int] | None = None,
        path_ratio: float = 1.0,
        budget: int | str | None = None,
        path_scale: float = 1.0,
        prune: str = "paths",
        stability: StabilityConfig | dict | None = None,
        auto_freeze: bool = True,
        refit_ridge: float | None = None,
        refit_samples: int = 2048,
    ) -> None:
        super().__init__()
        stability = StabilityConfig(**stability) if isinstance(stability, dict) else stability
        hidden = (hidden_dims,) if isinstance(hidden_dims, int) else tuple(hidden_dims)
        self.spec = HeadSpec(input_dim, hidden, output_dim, batch_norm, output_batch_norm, output_affine)
        if structure_widths is None:
            widths = default_structure_widths(self.spec, path_ratio)
        else:
            widths = (structure_widths,) if isinstance(structure_widths, int) else tuple(structure_widths)
        if len(widths) != self.spec.depth:
            raise ValueError(
                f"structure_widths {widths} has {len(widths)} layers but the MLP has {self.spec.depth} hidden layers"
            )
        if path_scale <= 0:
            raise ValueError(f"path_scale must be > 0, got {path_scale}")
        if prune not in PRUNING:
            raise ValueError(f"unknown prune {prune!r}; choose one of {', '.join(PRUNING)}")
        self.prune = prune
        self.structure_widths = widths
        self.path_ratio = path_ratio
        self.path_scale = float(path_scale)
        self.auto_freeze = auto_freeze
        if refit_ridge is not None and (prune != "features" or not refit_ridge >= 0):
            raise ValueError(
                f"refit_ridge={refit_ridge} needs prune='features' (got {prune!r}) and a value >= 0"
            )
        if refit_samples < 1:
            raise ValueError(f"refit_samples must be >= 1, got {refit_samples}")
        self.refit_ridge = refit_ridge
        self.refit_samples = refit_samples
        self.refit_fit: dict[str, float] | None = None  # relative error to S before / after the refit
        self._recent_inputs: list[Tensor] = []
        self.structure = self.spec.with_hidden(widths).build_mlp()

        self.num_units = unit_counts(widths)[-1]
        total_paths = num_paths(self.spec, widths)
        extras = (output_dim if self.spec.output_bias else 0) + (
            2 * output_dim if output_batch_norm and output_affine else 0
        )
        if budget in (None, "mlp"):
            self.budget = self.spec.num_parameters()
        elif budget == "all":
            self.budget = total_paths + extras
        elif isinstance(budget, int):
            self.budget = budget
        else:
            raise ValueError(f"budget must be an int, 'mlp' or 'all', got {budget!r}")
        self.num_kept_paths = self.budget - extras
        if self.num_kept_paths < 1:
            raise ValueError(
                f"budget {self.budget} leaves no path weights after {extras} bias/BatchNorm parameters"
            )
        if self.num_kept_paths > total_paths:
            raise ValueError(
                f"budget {self.budget} needs {self.num_kept_paths} path weights but S with widths {widths} has only "
                f"{total_paths} paths; widen S (structure_widths or path_ratio) or lower the budget"
            )

        if prune == "features":
            # only the kept path features (u, i), each with its dout output weights: theta is (dout, K)
            kept = -(-self.num_kept_paths // output_dim)
            self.path_weight = nn.Parameter(torch.zeros(output_dim, kept))
            self.register_buffer("feature_units", torch.zeros(kept, dtype=torch.long))
            self.register_buffer("feature_inputs", torch.zeros(kept, dtype=torch.long))
            self.register_buffer("feature_mask", torch.ones(output_dim, kept, dtype=torch.bool))
        else:
            self.path_weight = nn.Parameter(torch.zeros(self.num_units, output_dim, input_dim + 1))
        self.path_bias = nn.Parameter(torch.zeros(output_dim)) if self.spec.output_bias else None
        self.output_norm = nn.BatchNorm1d(output_dim, affine=output_affine) if output_batch_norm else None
        self.register_buffer("mask", torch.ones(self.num_units, output_dim, input_dim + 1, dtype=torch.bool))
        self.register_buffer("probe", torch.zeros((stability or StabilityConfig()).probe_size, input_dim))
        self.monitor = GateStabilityMonitor(stability or StabilityConfig())
        self.phase = STRUCTURE
        self.steps = 0
        self.probe_count = 0
        self.switch_step: int | None = None
        self._pending_freeze = None  # handle of the optimizer hook that will switch to Phase 2
        self._pruned = False
        self.register_load_state_dict_pre_hook(self._check_compatible)

    # ------------------------------------------------------------------ construction helpers
    @classmethod
    def from_spec(cls, spec: HeadSpec, **kwargs) -> GLAI:
        """A GLAI block replacing the MLP described by ``spec``."""
        return cls(
            spec.input_dim,
            spec.hidden_dims,
            spec.output_dim,
            batch_norm=spec.batch_norm,
            output_batch_norm=spec.output_batch_norm,
            output_affine=spec.output_affine,
            **kwargs,
        )

    @classmethod
    def like(cls, mlp: nn.Module, **kwargs) -> GLAI:
        """A GLAI block replacing an existing MLP head, e.g. ``GLAI.like(SimCLRProjectionHead(512, 2048, 128))``."""
        return cls.from_spec(HeadSpec.from_module(mlp), **kwargs)

    # ------------------------------------------------------------------ forward
    def forward(self, x: Tensor) -> Tensor:
        """Output ``(B, output_dim)`` of inputs ``(B, input_dim)``.

        Phase 1: ``S`` itself (in training mode with ``auto_freeze``, the step is counted and the gates checked first).
        Phase 2: the path form, with the gates of the frozen ``S``.

        Raises:
            ValueError: the input is not ``(B, input_dim)``.
        """
        if x.ndim != 2 or x.shape[1] != self.spec.input_dim:
            raise ValueError(
                f"GLAI expects inputs of shape (batch, {self.spec.input_dim}), got {tuple(x.shape)}; "
                f"flatten the features or set input_dim={x.shape[-1] if x.ndim else '?'}"
            )
        if self.phase == STRUCTURE:
            if self.training and self.refit_ridge is not None:
                self._remember(x)
            if self.training and self.auto_freeze:
                self._observe(x)
            if self.phase == STRUCTURE:
                return self.structure(x)
        return self.path_forward(x, self.unit_gates(x))

    def path_forward(self, x: Tensor, gates: Tensor) -> Tensor:
        """Phase-2 output from inputs ``(B, d0)`` and combined gates ``(B, U)``: one GEMM and a gated sum.

        Never materialises a ``(B, U, d0 + 1)`` tensor: ``Z = x~ theta^T`` is ``(B, U * dout)``, then each sample
        sums its ``U`` output blocks weighted by its gates, and the small ``(B, dout)`` result is scaled by
        ``path_scale``. With ``prune="features"`` only the ``K`` kept path features are gathered, ``(K, B)``, and
        one ``(dout, K)`` GEMM gives the output. The mask acts on the gradient only (masked entries are zero and
        stay zero), so the forward pass reads ``theta`` in place, with no masked or scaled copy of it.
        """
        self._require_phase(PATHS, "path_forward")
        # [x, 1] @ theta^T: one contiguous GEMM (addmm with the bias column sliced off theta was measured 1.16x /
        # 1.23x the MLP on `glai-ssl bench heads`, against 1.01x / 1.06x for this small copy of x)
        x1 = torch.cat([x, x.new_ones(x.shape[0], 1)], dim=1)
        weight = self.path_weight
        if self._pruned:
            weight = _MaskGradient.apply(weight, self.feature_mask if self.prune == "features" else self.mask)
        if self.prune == "features":
            y = (weight @ self._kept_features(x1, gates)).t()
        else:
            z = x1 @ weight.view(-1, self.spec.input_dim + 1).t()
            y = torch.bmm(gates.to(z.dtype).unsqueeze(1), z.view(x.shape[0], self.num_units, -1)).squeeze(1)
        if self.path_scale != 1.0:
            y = y * self.path_scale
        if self.path_bias is not None:
            y = y + self.path_bias
        if self.output_norm is not None:
            y = self.output_norm(y)
        return y

    def _kept_features(self, x1: Tensor, gates: Tensor) -> Tensor:
        """The kept path features ``G_u(x) x~_i`` as ``(K, B)`` from ``x~ (B, d0 + 1)`` (``prune="features"``).

        Row gathers into a ``(K, B)`` layout: ``(dout, K) @ (K, B)`` is 3-10x faster on CPU than ``(B, K) @ (K, dout)``
        with column gathers (measured).
        """
        gated = gates.to(x1.dtype).t().contiguous().index_select(0, self.feature_units)
        return gated * x1.t().contiguous().index_select(0, self.feature_inputs)

    def kept_path_features(self, x: Tensor, gates: Tensor) -> Tensor:
        """Phase 2's design matrix with ``prune="features"``: the kept path features ``(K, B)`` of inputs ``(B, d0)``
        and their combined gates; the output before ``path_scale``, bias and BatchNorm is ``theta @ features``."""
        self._require_phase(PATHS, "kept_path_features")
        if self.prune != "features":
            raise ValueError(f"kept_path_features needs prune='features'; this block prunes {self.prune!r}")
        return self._kept_features(torch.cat([x, x.new_ones(x.shape[0], 1)], dim=1), gates)

    def effective_paths(self) -> Tensor:
        """``A = path_scale * theta * mask``, shape ``(U, dout, d0 + 1)`` (a copy, for analysis and solvers)."""
        self._require_phase(PATHS, "effective_paths")
        if self.prune == "features":
            paths = self.path_weight.new_zeros(self.mask.shape)
            weight = self.path_weight * self.feature_mask * self.path_scale
            paths[self.feature_units, :, self.feature_inputs] = weight.t()
            return paths
        return self.path_weight * self.mask * self.path_scale

    @torch.no_grad()
    def load_paths(self, paths: Tensor) -> None:
        """Set the path weights from ``A (U, dout, d0 + 1)``; pruned entries stay zero (used by the solvers)."""
        self._require_phase(PATHS, "load_paths")
        paths = (paths * self.mask / self.path_scale).to(self.path_weight.dtype)
        if self.prune == "features":
            paths = paths[self.feature_units, :, self.feature_inputs].t()
        self.path_weight.copy_(paths)

    @torch.no_grad()
    def layer_gates(self, x: Tensor) -> list[Tensor]:
        """Boolean ReLU gates of ``S`` per hidden layer, ``[(B, h1), ..., (B, hL)]``, BatchNorm in eval mode."""
        was_training = self.structure.training
        self.structure.eval()
        gates, h = [], x
        hidden, _, _ = hidden_blocks(
            self.structure
        )  # looked up each time: convert_sync_batchnorm swaps layers
        for linear, norm in hidden:
            z = linear(h)
            if norm is not None:
                z = norm(z)
            gates.append(z > 0)
            h = torch.relu(z)
        self.structure.train(was_training)
        return gates

    @torch.no_grad()
    def unit_gates(self, x: Tensor) -> Tensor:
        """Combined gates ``(B, U)`` as 0/1 in ``x``'s dtype (see :mod:`glai_ssl.glai.paths`)."""
        return combined_gates([g.to(x.dtype) for g in self.layer_gates(x)])

    # ------------------------------------------------------------------ phase 1 -> 2
    def _observe(self, x: Tensor) -> None:
        """Count a training step, fill the probe batch, and run a stability check when one is due."""
        self.steps += 1
        # the probe batch is what the first check saw: it stops growing once a check has run
        if self.probe_count < len(self.probe) and not self.monitor.has_checked:
            take = min(len(self.probe) - self.probe_count, x.shape[0])
            self.probe[self.probe_count : self.probe_count + take] = x[:take].detach().to(self.probe.dtype)
            self.probe_count += take
        if self._pending_freeze is not None:
            return
        config = self.monitor.config
        due = self.steps % config.check_every == 0
        out_of_budget = config.max_steps is not None and self.steps >= config.max_steps
        if (due or out_of_budget) and self._agree(self.check_stability()):
            self._schedule_freeze()

    def _remember(self, x: Tensor) -> None:
        """Keep the latest training inputs (at least ``refit_samples`` rows, newest first) for the switch's refit."""
        self._recent_inputs = [x.detach(), *self._recent_inputs]
        while sum(len(t) for t in self._recent_inputs[:-1]) >= self.refit_samples:
            self._recent_inputs.pop()

    def _schedule_freeze(self) -> None:
        """Freeze right after the next optimizer step, not in the middle of a training step.

        A step may call the block more than once (SimCLR's two views); the graph of this step already runs
        through ``S``, so ``S`` takes this step's update and the switch happens once the optimizer has stepped
        (any ``torch.optim`` optimizer: a global step post-hook). Until then the block stays in Phase 1.
        """
        block = weakref.ref(self)

        def after_step(optimizer, args, kwargs) -> None:
            target = block()
            if target is not None and target.phase == STRUCTURE:
                target.freeze_structure()
            if target is not None and target._pending_freeze is not None:
                target._pending_freeze.remove()
                target._pending_freeze = None

        self._pending_freeze = register_optimizer_step_post_hook(after_step)

    def check_stability(self, probe: Tensor | None = None) -> bool:
        """Record the gate flips on the probe batch since the last check; True when the structure is stable.

        Args:
            probe: inputs to probe the gates with; default: the batch kept from the first training steps.
                Pass the same inputs at every check (e.g. features of fixed images from the current backbone).
        """
        self._require_phase(STRUCTURE, "check_stability")
        if probe is None:
            if self.probe_count == 0:
                raise PhaseError("no probe batch yet: run a training forward pass or pass probe= explicitly")
            probe = self.probe[: self.probe_count]
        gates = torch.cat([g.flatten(1) for g in self.layer_gates(probe)], dim=1)
        return self.monitor.update(self.steps, gates)

    @torch.no_grad()
    def freeze_structure(self) -> None:
        """Freeze ``S`` and switch to the path form (Phase 2).

        ``S``'s parameters stop requiring gradients and their ``.grad`` is cleared, so optimizers skip them from
        now on (Adam/AdamW, SGD and lightly's LARS all skip parameters whose grad is None; their old state for
        ``S`` stays in memory unused). The path weights get their first gradient at the next backward, so
        momentum-based optimizers start their state for them from zero: Adam's first update on them is a full
        ``lr``-sized step in each coordinate, which ``path_scale`` tempers.

        Raises:
            PhaseError: if the structure is already frozen.
        """
        self._require_phase(STRUCTURE, "freeze_structure")
        if self._pending_freeze is not None:
            self._pending_freeze.remove()
            self._pending_freeze = None
        self.structure.eval()
        for param in self.structure.parameters():
            param.requires_grad_(False)
            param.grad = None
        paths, bias = path_products(self.structure)
        self.mask.copy_(PRUNING[self.prune](paths, self.num_kept_paths))
        if self.prune == "features":
            units, inputs = self.mask.any(dim=1).nonzero(as_tuple=True)
            self.feature_units.copy_(units)
            self.feature_inputs.copy_(inputs)
            self.feature_mask.copy_(self.mask[units, :, inputs].t())
        self.phase = PATHS
        self.load_paths(paths)
        if self.path_bias is not None:
            self.path_bias.copy_(bias)
        if self.output_norm is not None:
            _, _, structure_norm = hidden_blocks(self.structure)
            self.output_norm.load_state_dict(structure_norm.state_dict())
        self.switch_step = self.steps
        self._pruned = not bool(self.mask.all())
        if self.refit_ridge is not None and self._recent_inputs:
            self._refit(torch.cat(self._recent_inputs)[: self.refit_samples])
        self._recent_inputs = []

    def _refit(self, inputs: Tensor) -> None:
        """Fit the kept path weights to ``S`` on ``inputs``; in a distributed run rank 0's fit is broadcast."""
        from glai_ssl.glai.solvers import refit_to_structure  # solvers build on this module

        self.refit_fit = refit_to_structure(self, inputs.to(self.path_weight.dtype), ridge=self.refit_ridge)
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            for tensor in (self.path_weight, self.path_bias):
                if tensor is not None:
                    dist.broadcast(tensor.data, src=0)

    @staticmethod
    def _agree(flag: bool) -> bool:
        """In a distributed run every rank must switch at the same step: rank 0 decides."""
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            device = "cuda" if dist.get_backend() == "nccl" else "cpu"
            decision = torch.tensor([int(flag)], device=device)
            dist.broadcast(decision, src=0)
            return bool(decision.item())
        return flag

    def _require_phase(self, phase: int, api: str) -> None:
        if self.phase != phase:
            if phase == PATHS:
                raise PhaseError(
                    f"{api} is a Phase-2 API but the structure is not frozen yet; call freeze_structure()"
                )
            raise PhaseError(
                f"{api} is a Phase-1 API but the structure was already frozen at step {self.switch_step}"
            )

    # ------------------------------------------------------------------ modes, counts, state
    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state["_pending_freeze"] = None  # a hook handle belongs to this instance only (deepcopy, pickling)
        return state

    def train(self, mode: bool = True) -> GLAI:
        """Set the training mode; in Phase 2 the frozen ``S`` stays in eval mode."""
        super().train(mode)
        if self.phase == PATHS:
            self.structure.eval()
        return self

    @property
    def stability_trace(self) -> list[dict]:
        """One ``{"step", "distance"}`` per stability check (share of probe gates flipped since the last)."""
        return self.monitor.trace

    def num_trainable_parameters(self) -> int:
        """Parameters trained in the current phase: ``S``'s in Phase 1; kept paths + bias/BatchNorm in Phase 2."""
        if self.phase == STRUCTURE:
            return sum(p.numel() for p in self.structure.parameters())
        extras = sum(p.numel() for p in (self.path_bias,) if p is not None)
        if self.output_norm is not None:
            extras += sum(p.numel() for p in self.output_norm.parameters())
        return int(self.mask.sum()) + extras

    def num_structure_parameters(self) -> int:
        """Parameters of ``S`` (trained in Phase 1, frozen in Phase 2)."""
        return sum(p.numel() for p in self.structure.parameters())

    def config(self) -> dict:
        """What must match for a state dict to load: the layout, the widths of S, the budget and the scale."""
        return {
            "spec": asdict(self.spec),
            "structure_widths": list(self.structure_widths),
            "budget": self.budget,
            "path_scale": self.path_scale,
            "prune": self.prune,
        }

    def summary(self) -> dict:
        """What a run reports of the block: config, phase, switch step and why, the stability trace, counts."""
        return {
            "config": self.config(),
            "phase": self.phase,
            "switch_step": self.switch_step,
            "freeze_reason": self.monitor.reason,
            "trace": self.stability_trace,
            "refit": self.refit_fit,
            "trainable_parameters": self.num_trainable_parameters(),
            "structure_parameters": self.num_structure_parameters(),
        }

    def get_extra_state(self) -> dict:
        """The state kept in state dicts beside the tensors: config, phase, step counters, switch step, monitor,
        the refit's result and (with ``refit_ridge``, in Phase 1) the recent inputs it will fit on."""
        return {
            "config": self.config(),
            "phase": self.phase,
            "steps": self.steps,
            "probe_count": self.probe_count,
            "switch_step": self.switch_step,
            "monitor": self.monitor.state(),
            # kept so that a run resumed in Phase 1 refits on the same inputs as an uninterrupted one
            "recent_inputs": [t.cpu() for t in self._recent_inputs],
            "refit_fit": self.refit_fit,
        }

    def set_extra_state(self, state: dict) -> None:
        """Restore what :meth:`get_extra_state` saved.

        A Phase-2 state moves a Phase-1 block to Phase 2 (``S`` frozen and in eval mode); the path weights and mask
        come from the state dict's tensors.
        """
        self.steps = int(state["steps"])
        self.probe_count = int(state["probe_count"])
        self.switch_step = state["switch_step"]
        self.monitor.load(state["monitor"])
        self._recent_inputs = [t.to(self.probe.device) for t in state.get("recent_inputs", [])]
        self.refit_fit = state.get("refit_fit")
        if state["phase"] == PATHS and self.phase == STRUCTURE:
            for param in self.structure.parameters():
                param.requires_grad_(False)
                param.grad = None
            self.phase = PATHS
            self.structure.eval()
        self._pruned = not bool(self.mask.all())

    def _check_compatible(self, module, state_dict, prefix, *args) -> None:
        extra = state_dict.get(prefix + "_extra_state")
        if extra is None:
            raise ValueError(
                f"state dict at {prefix or '<root>'!r} has no GLAI extra state: it was not saved from a GLAI block"
            )
        # checkpoints from before the prune option pruned single paths
        mine, theirs = self.config(), {"prune": "paths", **extra["config"]}
        if mine != theirs:
            diffs = [
                f"{k}: checkpoint {theirs.get(k)} vs this module {mine[k]}"
                for k in mine
                if mine[k] != theirs.get(k)
            ]
            raise ValueError("GLAI checkpoint is from another config; " + "; ".join(diffs))
        if extra["phase"] < self.phase:
            raise PhaseError(
                "cannot load a Phase-1 GLAI state into a block already in Phase 2 (its structure is frozen); "
                "build a fresh block and load into that"
            )

    def extra_repr(self) -> str:
        """Layout, widths of ``S``, units, budget, path scale and phase, for ``repr``."""
        return (
            f"spec={self.spec}, structure_widths={self.structure_widths}, units={self.num_units}, "
            f"budget={self.budget}, path_scale={self.path_scale}, prune={self.prune}, phase={self.phase}"
        )
