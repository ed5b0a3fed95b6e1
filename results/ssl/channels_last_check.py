"""Why glai_ssl keeps Conv-4 weights contiguous on CPU: channels-last against float64, and what it costs.

On 64 real images (Fashion-MNIST by default, ``--dataset omniglot --split vinyals-train --backbone conv4`` for
the few-shot setting), a backbone in float32 is run in the contiguous layout and in channels-last (weights and
images), and both are compared with the same network in float64: the relative error of every layer's output,
then of every weight's gradient of a fixed linear loss on the features; then the seconds of a forward + backward
step in each layout. Session 17 (torch 2.14.1, CPU, Fashion-MNIST, conv4-nopool): the first BatchNorm's output is
off by 8e-5 in channels-last (9e-8 contiguous), and the gradients of the first three convolutions by 1-2% (1e-4
or less contiguous). Session 18 (Omniglot, conv4): 3e-5 at the first BatchNorm, 0.4-0.6% in the first three
gradients; channels-last steps were 1.38x faster (1 thread, other jobs beside it). Run from the repository root (about a minute):

    python results/ssl/channels_last_check.py --data-root ../shared/data
    python results/ssl/channels_last_check.py --dataset omniglot --split vinyals-train --backbone conv4
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch

from glai_ssl.data.registry import load_dataset
from glai_ssl.models import make_backbone


def relative_error(value: torch.Tensor, reference: torch.Tensor) -> float:
    """``||value - reference|| / ||reference||`` in float64."""
    return float((value.double() - reference).norm() / reference.norm())


def main(args: argparse.Namespace) -> None:
    """Print the three tables: layer outputs, weight gradients, then seconds per training step."""
    torch.manual_seed(0)
    data = load_dataset(args.dataset, args.split, data_root=args.data_root)
    images = data.images[:64]
    images = images.float() / 255
    images = images.unsqueeze(1) if images.ndim == 3 else images.permute(0, 3, 1, 2).contiguous()
    images = (images - images.mean()) / images.std()
    net = make_backbone(args.backbone, data.channels, data.image_size)
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

    weights = torch.randn(64, net(images[:1]).flatten(1).shape[1])
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

    print(
        f"seconds per forward + backward of {args.timing_batch} images (median of {args.repeats}, interleaved):"
    )
    batch = images.repeat(-(-args.timing_batch // len(images)), 1, 1, 1)[: args.timing_batch]
    seconds: dict[str, list[float]] = {layout: [] for layout in layouts}
    for _ in range(args.repeats):
        for layout, (model, _) in layouts.items():
            x = batch.contiguous(memory_format=torch.channels_last) if layout == "channels-last" else batch
            start = time.perf_counter()
            model(x).sum().backward()
            seconds[layout].append(time.perf_counter() - start)
    medians = {layout: statistics.median(values) for layout, values in seconds.items()}
    print("  " + "  ".join(f"{layout} {value:.3f} s" for layout, value in medians.items()))
    print(f"  contiguous / channels-last: {medians['contiguous'] / medians['channels-last']:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-root", default=None, help="dataset folder (default: $GLAI_SSL_DATA, else ./data)"
    )
    parser.add_argument("--dataset", default="fashion-mnist", help="dataset name (default: fashion-mnist)")
    parser.add_argument(
        "--split", default="train", help="split, e.g. vinyals-train for Omniglot (default: train)"
    )
    parser.add_argument("--backbone", default="conv4-nopool", help="backbone name (default: conv4-nopool)")
    parser.add_argument(
        "--timing-batch",
        type=int,
        default=200,
        help="images per timed step (default: 200, a 20-way 5-shot 5-query episode)",
    )
    parser.add_argument("--repeats", type=int, default=20, help="timed steps per layout (default: 20)")
    main(parser.parse_args())
