"""lightly's view transforms with settings that suit small grayscale images (28x28 MNIST, Fashion-MNIST,
Omniglot) and CIFAR-style colour images.

Why these settings for 28x28 grayscale:
    * no hue/saturation jitter and no random grayscale (there is no colour); brightness/contrast jitter kept;
    * no Gaussian blur: lightly's blur (sigma up to 2 px) wipes out strokes that are 1-2 px wide at 28x28;
    * random resized crops with ``min_scale`` 0.25 (0.08 leaves mostly background at this size; Omniglot 0.4);
    * horizontal flips for Fashion-MNIST (clothes are symmetric), none for digits and characters, where a
      mirror image is another symbol;
    * normalisation by the dataset's own mean and std;
    * BYOL's second view is solarised by default only on colour images (``solarization_prob`` 0.2, as in the BYOL paper):
      on Fashion-MNIST, ``--view solarization_prob=0.2`` gave a linear probe of 87.49% against 87.92% without
      (BYOL, 8 epochs, lr 2e-3, seed 0; ``results/ssl/README.md``);
    * Omniglot: also lightly's random rotation, on half the views, by up to 15 degrees either way. SimCLR, 4
      epochs on 20k images, nearest-prototype 5-way 1-shot on the Vinyals test classes: 79.43% without it,
      83.64% with it, 77.84% with every view rotated by up to 30 degrees (``results/ssl/README.md``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from lightly.transforms import BYOLTransform, BYOLView1Transform, BYOLView2Transform, SimCLRTransform
from torchvision import transforms as T


@dataclass(frozen=True)
class ViewSettings:
    """Augmentation settings for one dataset family (see the module docstring for the reasoning)."""

    input_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    hf_prob: float
    min_scale: float = 0.25
    cj_prob: float = 0.8
    cj_bright: float = 0.4
    cj_contrast: float = 0.4
    cj_sat: float = 0.0
    cj_hue: float = 0.0
    random_gray_scale: float = 0.0
    gaussian_blur: float = 0.0
    rr_prob: float = 0.0
    rr_degrees: float | None = None
    solarization_prob: float = 0.0

    @property
    def normalize(self) -> dict[str, list[float]]:
        """``{"mean": [...], "std": [...]}``, as lightly's transforms and backbone files take it."""
        return {"mean": list(self.mean), "std": list(self.std)}


VIEW_SETTINGS: dict[str, ViewSettings] = {
    "fashion-mnist": ViewSettings(28, (0.2860,), (0.3530,), hf_prob=0.5),
    "mnist": ViewSettings(28, (0.1307,), (0.3081,), hf_prob=0.0),
    # Omniglot in Snell's convention (strokes bright): mean/std of the Vinyals train split at 28x28.
    # Small random rotations (half the views, +-15 degrees) stand in for the variation between drawers.
    "omniglot": ViewSettings(
        28, (0.0880,), (0.2500,), hf_prob=0.0, min_scale=0.4, rr_prob=0.5, rr_degrees=15.0
    ),
    "cifar10": ViewSettings(
        32,
        (0.4914, 0.4822, 0.4465),
        (0.2470, 0.2435, 0.2616),
        hf_prob=0.5,
        min_scale=0.08,
        cj_bright=0.4,
        cj_contrast=0.4,
        cj_sat=0.4,
        cj_hue=0.1,
        random_gray_scale=0.2,
        solarization_prob=0.2,
    ),
}


#: view settings that are probabilities (checked to lie in [0, 1] when overridden)
_PROBABILITIES = (
    "hf_prob",
    "cj_prob",
    "random_gray_scale",
    "gaussian_blur",
    "rr_prob",
    "solarization_prob",
)


def view_settings(dataset: str, input_size: int | None = None, **overrides: float) -> ViewSettings:
    """The dataset's :data:`VIEW_SETTINGS`, with ``input_size`` and any fields in ``overrides`` replaced.

    Raises:
        ValueError: unknown dataset or unknown field, naming the choices.
    """
    if dataset not in VIEW_SETTINGS:
        raise ValueError(f"no view settings for {dataset!r}; choose one of {', '.join(VIEW_SETTINGS)}")
    fields = {f.name for f in dataclasses.fields(ViewSettings)} - {"input_size", "mean", "std"}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(
            f"unknown view setting(s) {', '.join(unknown)}; choose from {', '.join(sorted(fields))}"
        )
    for name, value in overrides.items():
        if name in _PROBABILITIES and not 0.0 <= value <= 1.0:
            raise ValueError(f"view setting {name}={value:g} is a probability; give a value in [0, 1]")
        if name == "min_scale" and not 0.0 < value <= 1.0:
            raise ValueError(
                f"view setting min_scale={value:g} is a share of the image; give a value in (0, 1]"
            )
        if name.startswith("cj_") and name != "cj_prob" and value < 0.0:
            raise ValueError(f"view setting {name}={value:g} is a jitter strength; give a value >= 0")
    settings = dataclasses.replace(VIEW_SETTINGS[dataset], **overrides)
    if input_size is not None and input_size != settings.input_size:
        settings = dataclasses.replace(settings, input_size=input_size)
    return settings


def changed_settings(dataset: str, overrides: dict[str, float]) -> dict[str, float]:
    """The ``overrides`` that change ``dataset``'s :data:`VIEW_SETTINGS` (``min_scale=0.25`` on Fashion-MNIST is
    no change): what a run records, so that spelling out a default does not make it another configuration.
    A name that is no setting (an old checkpoint's) counts as a change, so ``--resume`` reports it."""
    defaults = VIEW_SETTINGS[dataset]
    return {name: value for name, value in overrides.items() if getattr(defaults, name, None) != value}


def _view_kwargs(s: ViewSettings, normalize: bool = True) -> dict:
    return dict(
        input_size=s.input_size,
        cj_prob=s.cj_prob,
        cj_bright=s.cj_bright,
        cj_contrast=s.cj_contrast,
        cj_sat=s.cj_sat,
        cj_hue=s.cj_hue,
        min_scale=s.min_scale,
        random_gray_scale=s.random_gray_scale,
        hf_prob=s.hf_prob,
        rr_prob=s.rr_prob,
        rr_degrees=s.rr_degrees,
        normalize=s.normalize if normalize else None,
    )


def simclr_transform(
    dataset: str, input_size: int | None = None, normalize: bool = True, **overrides: float
) -> SimCLRTransform:
    """lightly's ``SimCLRTransform`` (two views) with this dataset's settings (``normalize=False``: in [0, 1];
    ``overrides``: fields of :class:`ViewSettings` to change; ``solarization_prob`` is BYOL's only)."""
    if overrides.get("solarization_prob"):
        raise ValueError(
            "solarization_prob applies to BYOL's second view only; these two-view transforms have no solarization"
        )
    s = view_settings(dataset, input_size, **overrides)
    return SimCLRTransform(**_view_kwargs(s, normalize), gaussian_blur=s.gaussian_blur)


def byol_transform(dataset: str, input_size: int | None = None, **overrides: float) -> BYOLTransform:
    """lightly's ``BYOLTransform`` (two asymmetric views) with this dataset's settings (``overrides`` as in
    :func:`simclr_transform`); the second view solarised with ``solarization_prob`` (0.2 on colour images, as in
    the BYOL paper; off on grayscale by default)."""
    s = view_settings(dataset, input_size, **overrides)
    view1 = BYOLView1Transform(**_view_kwargs(s), gaussian_blur=s.gaussian_blur)
    view2 = BYOLView2Transform(
        **_view_kwargs(s), gaussian_blur=s.gaussian_blur, solarization_prob=s.solarization_prob
    )
    return BYOLTransform(view_1_transform=view1, view_2_transform=view2)


def eval_transform(dataset: str, input_size: int | None = None) -> T.Compose:
    """Deterministic transform for evaluation: to tensor, resize if needed, normalise."""
    s = view_settings(dataset, input_size)
    steps = [T.ToTensor()]
    if input_size is not None:
        steps.insert(0, T.Resize(input_size))
    steps.append(T.Normalize(s.mean, s.std))
    return T.Compose(steps)
