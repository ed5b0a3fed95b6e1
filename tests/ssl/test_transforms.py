"""The recipes' view transforms: lightly's transforms with per-dataset settings."""

import dataclasses

import numpy as np
import pytest
import torch
from lightly.transforms.rotation import RandomRotateDegrees
from PIL import Image

from glai_ssl.ssl import transforms
from glai_ssl.ssl.transforms import (
    VIEW_SETTINGS,
    byol_transform,
    changed_settings,
    eval_transform,
    simclr_transform,
    view_settings,
)


def _image(dataset: str) -> Image.Image:
    settings = VIEW_SETTINGS[dataset]
    size, channels = settings.input_size, len(settings.mean)
    pixels = np.random.default_rng(0).integers(0, 256, (size, size, channels), dtype=np.uint8)
    return Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels)


@pytest.mark.parametrize("dataset", sorted(VIEW_SETTINGS))
@pytest.mark.parametrize("make", [simclr_transform, byol_transform])
def test_two_views_of_the_dataset_shape(dataset, make):
    settings = VIEW_SETTINGS[dataset]
    torch.manual_seed(0)
    views = make(dataset)(_image(dataset))
    assert len(views) == 2
    for view in views:
        assert view.shape == (len(settings.mean), settings.input_size, settings.input_size)
    assert not torch.equal(views[0], views[1])  # two different augmentations


def test_eval_transform_is_deterministic_and_normalised():
    image = _image("mnist")
    first, second = eval_transform("mnist")(image), eval_transform("mnist")(image)
    assert torch.equal(first, second)
    raw = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)
    expected = (raw - VIEW_SETTINGS["mnist"].mean[0]) / VIEW_SETTINGS["mnist"].std[0]
    assert torch.allclose(first[0], expected, atol=1e-6)


def test_unknown_dataset_names_the_choices():
    with pytest.raises(ValueError, match="choose one of .*fashion-mnist"):
        simclr_transform("imagenet-21k")


def _steps(view) -> list:
    return list(view.transform.transforms)


def test_rotation_settings_reach_lightly(monkeypatch):
    assert not any(
        isinstance(step, RandomRotateDegrees) for step in _steps(simclr_transform("mnist").transforms[0])
    )
    rotating = dataclasses.replace(VIEW_SETTINGS["mnist"], rr_prob=0.5, rr_degrees=15.0)
    monkeypatch.setitem(transforms.VIEW_SETTINGS, "mnist", rotating)
    for make in (simclr_transform, byol_transform):
        for view in make("mnist").transforms:
            rotations = [step for step in _steps(view) if isinstance(step, RandomRotateDegrees)]
            assert len(rotations) == 1 and rotations[0].transform.p == 0.5


def test_overrides_change_one_setting_and_unknown_ones_are_named():
    settings = view_settings("omniglot", min_scale=0.6)
    assert settings.min_scale == 0.6 and settings.mean == VIEW_SETTINGS["omniglot"].mean
    assert VIEW_SETTINGS["omniglot"].min_scale != 0.6  # the table itself is untouched
    views = simclr_transform("mnist", rr_prob=1.0, rr_degrees=30.0)
    rotations = [step for step in _steps(views.transforms[0]) if isinstance(step, RandomRotateDegrees)]
    assert rotations[0].transform.p == 1.0
    with pytest.raises(ValueError, match="unknown view setting.*sharpness"):
        byol_transform("mnist", sharpness=2.0)


def test_only_overrides_that_change_a_default_are_recorded():
    overrides = {"min_scale": 0.25, "rr_prob": 0.5, "solarization_prob": 0.0}  # Fashion-MNIST's own min_scale
    assert changed_settings("fashion-mnist", overrides) == {"rr_prob": 0.5}
    assert changed_settings("omniglot", overrides) == {"min_scale": 0.25}  # Omniglot's is 0.4
    assert changed_settings("mnist", {"rotation": 15.0}) == {"rotation": 15.0}  # no such setting: a change


@pytest.mark.parametrize(
    "override,message",
    [
        ({"rr_prob": 1.5}, r"rr_prob=1.5 is a probability; give a value in \[0, 1\]"),
        ({"min_scale": 0.0}, r"min_scale=0 is a share of the image"),
        ({"cj_bright": -0.1}, r"cj_bright=-0.1 is a jitter strength"),
    ],
)
def test_out_of_range_overrides_say_what_range(override, message):
    with pytest.raises(ValueError, match=message):
        view_settings("fashion-mnist", **override)


def test_solarization_reaches_byols_second_view_only():
    from lightly.transforms.solarize import RandomSolarization

    def solarizations(view) -> list[float]:
        return [step.prob for step in _steps(view) if isinstance(step, RandomSolarization)]

    default = byol_transform("fashion-mnist").transforms
    assert solarizations(default[1]) == [0.0] and VIEW_SETTINGS["cifar10"].solarization_prob == 0.2
    view1, view2 = byol_transform("fashion-mnist", solarization_prob=1.0).transforms
    assert solarizations(view1) == [0.0] and solarizations(view2) == [1.0]
    torch.manual_seed(0)
    assert view2(_image("fashion-mnist")).shape == (1, 28, 28)  # grayscale images solarise too
    with pytest.raises(ValueError, match="solarization_prob applies to BYOL's second view only"):
        simclr_transform("fashion-mnist", solarization_prob=0.2)
