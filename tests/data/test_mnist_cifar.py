"""MNIST / Fashion-MNIST through torchvision (read-only root), CIFAR-10 from a synthetic archive."""

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from glai_ssl.data import DataError, load_dataset, load_mnist
from glai_ssl.data.cifar import _locate, load_cifar10


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_counts_shapes_and_labels(data_root, name):
    train = load_mnist(name, True, data_root=data_root)
    test = load_mnist(name, False, data_root=data_root)
    assert (len(train), len(test)) == (60000, 10000)
    assert train.images.shape[1:] == (28, 28) and train.images.dtype == torch.uint8
    expected = {
        "mnist": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
        "fashion-mnist": [1000] * 10,
    }
    assert torch.bincount(test.labels).tolist() == expected[name]
    assert train.num_classes == 10 and int(train.images.max()) == 255


def test_data_root_is_never_written(data_root):
    before = sorted(p.name for p in (data_root / "MNIST" / "raw").iterdir())
    load_mnist("mnist", data_root=data_root)
    assert sorted(p.name for p in (data_root / "MNIST" / "raw").iterdir()) == before


def test_corrupt_archive_is_reported_with_its_checksum(data_root, tmp_path, fresh_cache):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for path in (data_root / "FashionMNIST" / "raw").glob("*.gz"):
        shutil.copy(path, raw)
    (raw / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b truncated")
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz is corrupt or truncated") as error:
        load_mnist("fashion-mnist", False, data_root=tmp_path)
    assert "bb300cfdad3c16e7a12a480ee83cd310" in str(error.value)


def test_missing_archive_lists_where_it_looked(tmp_path, fresh_cache):
    with pytest.raises(DataError, match="MNIST train-images-idx3-ubyte.gz was not found") as error:
        load_mnist("mnist", data_root=tmp_path)
    assert str(tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte.gz") in str(error.value)


def write_tiny_cifar(root, per_batch=4):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        batch = {
            "data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
            "labels": list(range(per_batch)),
        }
        with open(folder / name, "wb") as handle:
            pickle.dump(batch, handle)
    with open(folder / "batches.meta", "wb") as handle:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)]}, handle)
    return folder


def test_cifar10_reads_a_synthetic_archive(tmp_path, fresh_cache):
    write_tiny_cifar(tmp_path)
    train = load_cifar10(True, data_root=tmp_path, verify=False)
    test = load_dataset("cifar10", "test", data_root=tmp_path, verify=False)
    assert train.images.shape == (20, 32, 32, 3) and len(test) == 4
    assert train.classes[0] == "class0" and train.channels == 3
    with pytest.raises(DataError, match="data_batch_1 is corrupt or truncated"):
        load_cifar10(True, data_root=tmp_path)


def test_unknown_dataset_and_split():
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'"):
        load_dataset("imagenet", "train")
    with pytest.raises(ValueError, match="unknown split 'val' of mnist"):
        load_dataset("mnist", "val")


class FakeCIFAR10:
    """Stands in for torchvision's CIFAR10 when asked to download: writes a tiny copy into its root."""

    base_folder, filename, tgz_md5 = "cifar-10-batches-py", "cifar-10-python.tar.gz", None
    train_list = test_list = []

    def __init__(self, root, download=False):
        assert download
        write_tiny_cifar(Path(root))


class OfflineCIFAR10(FakeCIFAR10):
    def __init__(self, root, download=False):
        (Path(root) / "partial.tar.gz").write_bytes(b"half an archive")
        raise ConnectionError("no network")


def test_a_download_lands_in_the_cache_whole_and_leaves_no_scratch(tmp_path, fresh_cache):
    (tmp_path / "empty").mkdir()
    root = _locate(FakeCIFAR10, tmp_path / "empty", download=True, verify=False)
    assert root == fresh_cache / "torchvision"
    assert sorted(p.name for p in root.iterdir()) == ["cifar-10-batches-py"]  # no .download-* left
    assert len(load_cifar10(True, data_root=tmp_path / "empty", verify=False)) == 20  # read from the cache
    (root / "cifar-10-batches-py").rename(root / "earlier")
    with pytest.raises(DataError, match="Downloading OfflineCIFAR10 through torchvision failed: no network"):
        _locate(OfflineCIFAR10, tmp_path / "empty", download=True, verify=False)
    assert sorted(p.name for p in root.iterdir()) == ["earlier"]  # the half download went with its scratch
