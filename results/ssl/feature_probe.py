"""How much of a 28x28 backbone's linear-probe accuracy comes from its feature count alone.

Linear probe (glai_ssl's probe code, 50 epochs) of randomly initialised backbones on Fashion-MNIST: 20k training
images, the 10k test images. Prints one line per backbone. Run from the repository root:

    GLAI_SSL_DATA=../shared/data python results/ssl/feature_probe.py

Why it exists: Conv-4 ends in a 1x1 map at 28x28 (64 features), and SSL pretraining at the CPU recipe's budget
did not lift it above a raw-pixel probe; this is the measurement behind ``conv4-nopool`` (576 features).
"""

import time

import torch

from glai_ssl.data import load_dataset
from glai_ssl.eval.features import extract_features
from glai_ssl.eval.linear_probe import linear_probe
from glai_ssl.models import Normalized, make_backbone
from glai_ssl.ssl.transforms import VIEW_SETTINGS


def main() -> None:
    """Probe each random-init backbone and print its line."""
    torch.set_num_threads(2)
    train, test = load_dataset("fashion-mnist", "train"), load_dataset("fashion-mnist", "test")
    x_train, y_train = train.to_float()[:20000], train.labels[:20000].long()
    x_test, y_test = test.to_float(), test.labels.long()
    view = VIEW_SETTINGS["fashion-mnist"]
    for name in ("conv4", "conv4-nopool", "conv4-pool2", "resnet-small"):
        torch.manual_seed(0)
        backbone = Normalized(make_backbone(name), list(view.mean), list(view.std))
        start = time.perf_counter()
        features = [extract_features(backbone, x, desc=name) for x in (x_train, x_test)]
        result = linear_probe(features[0], y_train, features[1], y_test, epochs=50)
        print(
            f"random-init {name}: {features[0].shape[1]} features, probe train {100 * result.train_accuracy:.2f}%"
            f" test {100 * result.test_accuracy:.2f}% ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
