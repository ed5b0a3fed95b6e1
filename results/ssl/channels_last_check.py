"""Why the SSL engine keeps the method's weights contiguous on CPU: channels-last Conv-4 against float64.

On 64 real Fashion-MNIST images, a Conv-4 (no last pool) in float32 is run in the contiguous layout and in
channels-last (weights and images), and both are compared with the same network in float64: the relative
error of every layer's output, then of every weight's gradient of a fixed linear loss on the features.
Session 17 (torch 2.14.1, CPU): the first BatchNorm's output is off by 8e-5 in channels-last (9e-8
contiguous), and the gradients of the first three convolutions by 1-2% (1e-4 or less contiguous). Run from
the repository root (about a minute):

    python results/ssl/channels_last_check.py --data-root ../shared/data
"""

from __future__ import annotations

import argparse
import copy

import torch

from glai_ssl.data.registry import load_dataset
from glai_ssl.models import make_backbone


def relative_error(value: torch.Tensor, reference: torch.Tensor) -> float:
    """``||value - reference|| / ||reference||`` in float64."""
    return float((value.double() - reference).norm() / reference.norm())


def main(args: argparse.Namespace) -> None:
    """Print the two tables: layer outputs, then weight gradients."""
    torch.manual_seed(0)
    images = load_dataset("fashion-mnist", "train", data_root=args.data_root).images[:64]
    images = images.float().unsqueeze(1) / 255
    images = (images - images.mean()) / images.std()
    net = make_backbone("conv4-nopool", 1, 28)
    layouts = {
        "contiguous": (copy.deepcopy(net), images),
        "channels-last": (
            copy.deepcopy(net).to(memory_format=torch.channels_last),
            images.contiguous(memory_format=torch.channels_last),
        ),
    }
    reference_net = copy.deepcopy(net).double()

    print("layer output, relative error to float64:")
    with torch.no_grad():
        outputs = {name: x for name, (_, x) in layouts.items()}
        reference = images.double()
        for (name, layer), *same in zip(
            reference_net.encoder.named_modules(), *(m.encoder.named_modules() for m, _ in layouts.values())
        ):
            if list(layer.children()):
                continue
            reference = layer(reference)
            for layout, (_, other) in zip(layouts, same):
                outputs[layout] = other(outputs[layout])
            errors = "  ".join(
                f"{layout} {relative_error(outputs[layout], reference):.0e}" for layout in layouts
            )
            print(f"  encoder.{name:6s} {type(layer).__name__:12s} {errors}")

    weights = torch.randn(64, 576)
    for model, x in [*layouts.values(), (reference_net, images.double())]:
        (model(x).flatten(1) * weights.to(x.dtype)).sum().backward()
    reference_grads = dict(reference_net.named_parameters())
    print("weight gradients, relative error to float64:")
    for name, reference_param in reference_grads.items():
        if not name.endswith("weight"):
            continue
        errors = "  ".join(
            f"{layout} {relative_error(dict(model.named_parameters())[name].grad, reference_param.grad):.0e}"
            for layout, (model, _) in layouts.items()
        )
        print(f"  {name:20s} {errors}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-root", default=None, help="dataset folder (default: $GLAI_SSL_DATA, else ./data)"
    )
    main(parser.parse_args())
