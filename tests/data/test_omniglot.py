"""Omniglot from the real zips: split sizes, drawings per character, pixels, cache, bad input."""

import shutil
import time
from pathlib import Path

import pytest
import torch

from glai_ssl.data import DataError, decode_omniglot, load_omniglot
from glai_ssl.data import omniglot as omniglot_module


@pytest.mark.parametrize(
    "split,classes",
    [("vinyals-train", 4112), ("vinyals-val", 688), ("vinyals-trainval", 4800), ("vinyals-test", 1692)],
)
def test_vinyals_split_sizes(data_root, split, classes):
    data = load_omniglot(split, data_root=data_root)
    assert data.num_classes == classes
    assert len(data) == classes * 20
    assert torch.bincount(data.labels).tolist() == [20] * classes
    assert all(name.rsplit("/", 1)[1] in ("rot000", "rot090", "rot180", "rot270") for name in data.classes)


def test_vinyals_splits_are_disjoint_and_rotations_are_rotations(data_root):
    train = set(load_omniglot("vinyals-train", data_root=data_root).classes)
    test = set(load_omniglot("vinyals-test", data_root=data_root).classes)
    assert not train & test
    data = load_omniglot("vinyals-test", data_root=data_root)
    first = data.classes.index(data.classes[0].rsplit("/", 1)[0] + "/rot000")
    upright = data.images[data.labels == first]
    quarter = data.images[data.labels == data.classes.index(data.classes[first].replace("rot000", "rot090"))]
    assert torch.equal(torch.rot90(upright, 1, dims=(-2, -1)), quarter)


def test_lake_split_sizes_and_pixels(data_root):
    background = load_omniglot("background", data_root=data_root)
    evaluation = load_omniglot("evaluation", data_root=data_root, invert=False)
    assert (background.num_classes, len(background)) == (964, 964 * 20)
    assert (evaluation.num_classes, len(evaluation)) == (659, 659 * 20)
    assert background.images.shape[1:] == (28, 28) and background.images.dtype == torch.uint8
    # Snell's 1 - pixel: mostly dark background with bright strokes; not inverted: the opposite
    assert background.images.float().mean() < 60 and evaluation.images.float().mean() > 190
    assert background.images.min() == 0 and background.images.max() == 255


def test_decode_is_cached(data_root, monkeypatch):
    decode_omniglot(data_root)  # make sure the cache exists

    def no_decoding(*args, **kwargs):
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(omniglot_module, "_decode_zip", no_decoding)
    start = time.perf_counter()
    drawings = decode_omniglot(data_root)
    assert time.perf_counter() - start < 2.0
    assert drawings.images.shape == (32460, 28, 28)
    assert len(drawings.characters) == 1623 and int(drawings.background.sum()) == 964


def test_image_size_is_configurable_and_a_truncated_cache_is_rebuilt(data_root, fresh_cache):
    assert load_omniglot("evaluation", data_root=data_root, image_size=12).images.shape[1:] == (12, 12)
    (cache_file,) = (fresh_cache / "omniglot").glob("drawings-12px-*.pt")
    cache_file.write_bytes(cache_file.read_bytes()[:1000])
    assert decode_omniglot(data_root, image_size=12).images.shape == (32460, 12, 12)


def test_missing_zips_give_one_clear_error(tmp_path, fresh_cache):
    with pytest.raises(DataError) as error:
        load_omniglot("vinyals-test", data_root=tmp_path)
    message = str(error.value)
    assert "images_background.zip was not found" in message
    assert str(tmp_path / "omniglot" / "omniglot-py" / "images_background.zip") in message
    assert "9cfc7cd6faa3d4da49d0cc6ca4c24d4c" in message and "--download" in message


def test_corrupt_zip_names_file_and_checksum(data_root, tmp_path, fresh_cache):
    folder = tmp_path / "omniglot" / "omniglot-py"
    folder.mkdir(parents=True)
    source = data_root / "omniglot" / "omniglot-py"
    shutil.copy(source / "images_evaluation.zip", folder)
    (folder / "images_background.zip").write_bytes((source / "images_background.zip").read_bytes()[:100_000])
    with pytest.raises(
        DataError, match=r"images_background.zip is corrupt or truncated \(100,000 bytes"
    ) as error:
        load_omniglot("background", data_root=tmp_path)
    assert "Expected md5: 68d2efa1b9178cc56df9314c21c6e718 or 9cfc7cd6faa3d4da49d0cc6ca4c24d4c" in str(
        error.value
    )


def test_unknown_split_is_rejected():
    with pytest.raises(ValueError, match="unknown Omniglot split 'vinyals-dev'"):
        load_omniglot("vinyals-dev")


def test_a_download_lands_whole_in_the_cache(monkeypatch, fresh_cache):
    import torchvision.datasets

    class FakeOmniglot:  # torchvision's, asked to download: the zip lands in <root>/omniglot-py/
        def __init__(self, root, background, download):
            folder = Path(root) / "omniglot-py"
            folder.mkdir(parents=True)
            (folder / ("images_background.zip" if background else "images_evaluation.zip")).write_bytes(
                b"zip"
            )
            (folder / "images_background").mkdir()  # torchvision also extracts it; we keep only the zip

    monkeypatch.setattr(torchvision.datasets, "Omniglot", FakeOmniglot)
    path = omniglot_module._download("images_background")
    assert path == fresh_cache / "omniglot" / "omniglot-py" / "images_background.zip"
    assert path.read_bytes() == b"zip"
    assert [p.name for p in path.parent.iterdir()] == ["images_background.zip"]  # no scratch left
