"""Train one head (MLP or GLAI) on a :class:`HeadTask` and record its validation curve against training time.

GLAI runs Phase 1 with the same optimizer and learning rate as the MLP, checks gate stability on a fixed
probe batch, freezes, caches the gates of all training inputs once, then trains the path weights with one of
the solvers below. GLAI's early-stopping patience counts from its switch to Phase 2, so it never stops in Phase 1:

* ``adam``: minibatches on the cached gates (the optimizer built at the start continues);
* ``lbfgs``: full-batch L-BFGS (convex tasks: cross-entropy on cached features);
* ``ridge``: closed-form ridge regression on one-hot targets (convex tasks; exact and on every input in the
  primal with ``prune="features"``), then a short L-BFGS refinement on cross-entropy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from glai_ssl.bench.protocol import Curve, TrainClock
from glai_ssl.bench.tasks import HeadTask
from glai_ssl.glai import GLAI, PRUNING, StabilityConfig
from glai_ssl.glai.solvers import cache_gates, fit_ridge, refit_to_structure


@dataclass
class RunSettings:
    """How both heads are trained (identical for MLP and GLAI unless a field says otherwise)."""

    lr: float = 1e-3
    batch_size: int = 256
    max_epochs: int = 100
    patience: int = 5
    max_seconds: float = 600.0
    glai_solver: str = "adam"  # adam | lbfgs | ridge (Phase 2)
    glai_phase2_lr: float | None = 3e-4  # None: same lr; 3e-4 measured (results/bench_exploration)
    glai_phase2_weight_decay: float = 0.0  # decoupled (AdamW) decay of the path weights in Phase 2
    glai_tau: float = 0.01
    glai_patience: int = 2
    glai_check_every: int = 50
    glai_max_structure_epochs: float = 3.0
    glai_structure_width: int | None = None
    # S 16x wider than the budget's minimum, pruned to the budget by whole path features, which keeps Phase 2 at
    # the kept paths' cost (results/bench_exploration: mean gap -2.46 with paths at ratio 4, -1.35 with this)
    glai_path_ratio: float = 16.0
    glai_path_scale: float = 1.0
    glai_prune: str = "features"  # features | paths (single paths by path norm, the paper)
    lbfgs_iterations_per_eval: int = 5
    ridge: float = 1e-3
    # at the switch, fit the kept path features to S's outputs on 2048 training inputs (ridge relative to the
    # Gram diagonal; None: off): mean gap -1.92 -> -1.67 over 5 settings x 3 seeds (results/bench_exploration)
    glai_refit_ridge: float | None = 1e-2
    glai_refit_samples: int = 2048

    def __post_init__(self) -> None:
        """Refuse settings no run could use, before any feature is cached or head trained."""
        positive = ["lr", "batch_size", "max_epochs", "patience", "max_seconds", "glai_check_every"]
        positive += ["glai_refit_samples"]
        positive += [
            "glai_max_structure_epochs",
            "glai_path_ratio",
            "glai_path_scale",
            "lbfgs_iterations_per_eval",
        ]
        rules = {name: "> 0" for name in positive if not getattr(self, name) > 0}
        rules |= {
            n: ">= 0" for n in ("glai_phase2_weight_decay", "glai_tau", "ridge") if getattr(self, n) < 0
        }
        if self.glai_phase2_lr is not None and not self.glai_phase2_lr > 0:
            rules["glai_phase2_lr"] = "> 0"
        if self.glai_structure_width is not None and self.glai_structure_width < 1:
            rules["glai_structure_width"] = ">= 1"
        if self.glai_solver not in ("adam", "lbfgs", "ridge"):
            rules["glai_solver"] = "one of adam, lbfgs, ridge"
        if self.glai_prune not in PRUNING:
            rules["glai_prune"] = f"one of {', '.join(PRUNING)}"
        if self.glai_refit_ridge is not None and not self.glai_refit_ridge >= 0:
            rules["glai_refit_ridge"] = ">= 0"
        if rules:
            problems = "; ".join(
                f"--{name.replace('_', '-')} {getattr(self, name)} (must be {rule})"
                for name, rule in rules.items()
            )
            raise ValueError(f"invalid bench settings: {problems}")


def _state_bytes(model: nn.Module, optimizer: torch.optim.Optimizer, extra: list[Tensor]) -> int:
    """Bytes held by parameters, gradients, optimizer state and cached tensors (the training state)."""
    tensors = list(model.parameters()) + [p.grad for p in model.parameters() if p.grad is not None]
    tensors += [v for state in optimizer.state.values() for v in state.values() if torch.is_tensor(v)]
    tensors += extra + list(model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors)


def _counts(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """Trainable and frozen parameters of what ``optimizer`` trains (a momentum target it does not hold is not
    counted); a GLAI block counts its kept paths and output parameters, plus ``S`` as frozen after the switch."""
    held = {id(p) for group in optimizer.param_groups for p in group["params"]}
    trainable = frozen = 0
    covered: set[int] = set()
    for module in model.modules():
        if isinstance(module, GLAI) and any(id(p) in held for p in module.parameters()):
            trainable += module.num_trainable_parameters()
            frozen += module.num_structure_parameters() if module.phase == 2 else 0
            covered |= {id(p) for p in module.parameters()}
    plain = sum(p.numel() for p in model.parameters() if id(p) in held and id(p) not in covered)
    return {"trainable": trainable + plain, "frozen": frozen}


def _glai_options(settings: RunSettings, steps_per_epoch: int) -> dict:
    options = {
        "path_ratio": settings.glai_path_ratio,
        "path_scale": settings.glai_path_scale,
        "prune": settings.glai_prune,
        "auto_freeze": False,
        "stability": StabilityConfig(
            tau=settings.glai_tau,
            patience=settings.glai_patience,
            check_every=settings.glai_check_every,
            max_steps=max(1, round(settings.glai_max_structure_epochs * steps_per_epoch)),
        ),
    }
    if settings.glai_structure_width is not None:
        options["structure_widths"] = settings.glai_structure_width
    return options


def configure_phase2(group: dict, settings: RunSettings) -> None:
    """Set the Phase-2 learning rate and decoupled (AdamW-style) weight decay on a just-frozen GLAI module's
    optimizer group, which continues from Phase 1 (its other state, Adam's moments included, is kept)."""
    if settings.glai_phase2_lr is not None:
        group["lr"] = settings.glai_phase2_lr
    if settings.glai_phase2_weight_decay:
        group.update(weight_decay=settings.glai_phase2_weight_decay, decoupled_weight_decay=True)


def parameter_groups(model: nn.Module, modules: list[nn.Module]) -> list[dict]:
    """One optimizer group per module of ``modules`` (GLAI blocks: each takes its Phase-2 settings at its own
    switch), then one for the rest of ``model``'s trainable parameters (an MLP predictor beside a GLAI
    projector keeps its learning rate)."""
    groups = [{"params": [p for p in m.parameters() if p.requires_grad]} for m in modules]
    taken = {id(p) for group in groups for p in group["params"]}
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in taken]
    return [group for group in [*groups, {"params": rest}] if group["params"]]


def _steps_per_epoch(task: HeadTask, batch_size: int) -> int:
    return sum(1 for _ in task.batches(torch.Generator().manual_seed(0), batch_size))


def train_head(
    task: HeadTask, kind: str, seed: int, settings: RunSettings, target: float | None = None
) -> dict:
    """Train a ``kind`` head on ``task`` until its validation accuracy stops improving; return its record.

    ``target`` (the MLP's MVA) only adds ``time_to_mlp_mva`` to the record; it never stops training early.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    steps_per_epoch = _steps_per_epoch(task, settings.batch_size)
    model = task.build(kind, _glai_options(settings, steps_per_epoch) if kind == "glai" else {})
    curve, clock = Curve(), TrainClock().start()
    best, since_best, step, epoch = -1.0, 0, 0, 0
    gates: Tensor | None = None
    glai_modules = [module for module, _ in task.glai_probes(model).values()]
    optimizer = torch.optim.Adam(parameter_groups(model, glai_modules), lr=settings.lr)
    head = model.head
    record: dict = {"kind": kind, "seed": seed}

    def outputs_of(index: Tensor) -> Tensor:
        if gates is not None:
            return head.path_forward(task.inputs[index], gates[index])
        return head(task.inputs[index])

    def evaluate() -> bool:
        nonlocal best, since_best
        clock.pause()
        accuracy = task.validate(model)
        phase = head.phase if isinstance(head, GLAI) else None
        curve.add(clock.elapsed, step, accuracy, epoch=epoch, phase=phase)
        improved = accuracy > best + 1e-6
        best, since_best = (accuracy, 0) if improved else (best, since_best + 1)
        clock.resume()
        in_phase1 = any(m.phase == 1 for m in glai_modules)  # GLAI's patience starts at its switch
        return (since_best >= settings.patience and not in_phase1) or clock.elapsed >= settings.max_seconds

    def structure_check() -> None:
        nonlocal gates, since_best
        # the probes afresh: a predictor's inputs are the outputs of the projector as it is now
        pending = {n: (m, p) for n, (m, p) in task.glai_probes(model).items() if m.phase == 1}
        for name, (module, probe) in pending.items():  # in order: a projector before its predictor
            module.steps = step
            if not module.check_stability(probe):
                continue
            module.freeze_structure()
            curve.mark(clock.read(), step, f"{name} frozen ({module.monitor.reason})")
            if settings.glai_refit_ridge is not None and settings.glai_prune == "features":
                inputs = task.glai_probes(model, settings.glai_refit_samples)[name][1]
                fit = refit_to_structure(module, inputs, ridge=settings.glai_refit_ridge)
                curve.mark(
                    clock.read(), step, f"{name} refit to S: error {fit['before']:.3f} -> {fit['after']:.3f}"
                )
            configure_phase2(optimizer.param_groups[glai_modules.index(module)], settings)
        if pending and all(m.phase == 2 for m in glai_modules):
            gates = cache_gates(head, task.inputs)
            curve.mark(clock.read(), step, "gates cached")
            since_best = 0  # Phase 2 is a new model class: it gets the full patience

    stop = False
    while not stop and epoch < settings.max_epochs:
        if gates is not None and settings.glai_solver in ("lbfgs", "ridge") and task.convex:
            stop = _convex_phase2(task, model, gates, settings, evaluate, curve, clock)
            break
        for batch in task.batches(generator, settings.batch_size):
            loss = task.loss(model, batch, outputs_of)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            task.after_step(model, min(1.0, step / (settings.max_epochs * steps_per_epoch)))
            if any(m.phase == 1 for m in glai_modules):
                config = glai_modules[0].monitor.config
                if step % config.check_every == 0 or step >= config.max_steps:
                    structure_check()
                    if gates is not None and settings.glai_solver in ("lbfgs", "ridge") and task.convex:
                        break
        epoch += 1
        stop = evaluate()
    clock.pause()
    record.update(
        curve=asdict(curve),
        mva=curve.max_accuracy,
        time_to_mva=curve.time_to(curve.max_accuracy),
        time_to_mlp_mva=curve.time_to(target) if target is not None else None,
        train_seconds=clock.elapsed,
        epochs=epoch,
        steps=step,
        parameters=_counts(model, optimizer),
        state_bytes=_state_bytes(model, optimizer, [gates] if gates is not None else []),
    )
    if isinstance(head, GLAI):
        record["glai"] = head.summary()
    return record


def _convex_phase2(
    task, model, gates, settings: RunSettings, evaluate, curve: Curve, clock: TrainClock
) -> bool:
    """Full-batch Phase 2 for convex tasks: L-BFGS on cross-entropy (after a ridge start for ``ridge``)."""
    head: GLAI = model.head
    features, targets = task.inputs, task.targets
    if settings.glai_solver == "ridge":
        # the dual builds an N x N kernel: a subset; the primal (prune="features") takes every input
        keep = len(features) if head.prune == "features" else 8000
        subset = torch.randperm(len(features), generator=torch.Generator().manual_seed(0))[:keep]
        fit_ridge(head, features[subset], targets[subset], ridge=settings.ridge, gates=gates[subset])
        curve.mark(clock.read(), 0, "ridge solved")
    params = [p for p in (head.path_weight, head.path_bias) if p is not None]
    optimizer = torch.optim.LBFGS(
        params, max_iter=settings.lbfgs_iterations_per_eval, history_size=20, line_search_fn="strong_wolfe"
    )

    def closure() -> Tensor:
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(head.path_forward(features, gates), targets)
        loss.backward()
        return loss

    for _ in range(settings.max_epochs):
        optimizer.step(closure)
        if evaluate():
            return True
    return False
