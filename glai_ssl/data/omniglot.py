"""Omniglot read straight from the two zips, decoded once into uint8 tensors and cached.

Splits:
    * Vinyals et al. (2016), as used by Snell et al. (2017): ``vinyals-{train,val,trainval,test}``,
      4112 / 688 / 4800 / 1692 classes, every rotation (0, 90, 180, 270) of a character its own class.
    * Lake et al. (2015): ``background`` (964 characters) and ``evaluation`` (659 characters).

Both the official zips (torchvision's md5) and the repackaged pixel-identical zips of ``shared/data`` are
accepted. Pixels are stored as decoded (white background = 255); ``invert=True`` (the default) gives
Snell's ``1 - pixel`` convention, strokes bright on a dark background.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch
from PIL import Image

from glai_ssl.data.checksums import md5sum, verify_md5
from glai_ssl.data.errors import DataError, missing_file_error
from glai_ssl.data.images import LabelledImages
from glai_ssl.data.root import cache_dir, resolve_data_root
from glai_ssl.utils.files import atomic_path, move_in, scratch_dir
from glai_ssl.utils.progress import progress

ZIP_NAMES = ("images_background", "images_evaluation")
# name -> accepted md5s: torchvision's official release first, then the repackaged pixel-identical zips.
ZIP_MD5 = {
    "images_background": ("68d2efa1b9178cc56df9314c21c6e718", "9cfc7cd6faa3d4da49d0cc6ca4c24d4c"),
    "images_evaluation": ("6b91aef0f799c5bb55b94e3f2daec811", "55a9b15a28d4fca4735f26e32ab3b774"),
}
SPLITS = ("vinyals-train", "vinyals-val", "vinyals-trainval", "vinyals-test", "background", "evaluation")
VINYALS_CLASSES = {"train": 4112, "val": 688, "trainval": 4800, "test": 1692}
DRAWINGS_PER_CHARACTER = 20
RESAMPLING = {
    "lanczos": Image.LANCZOS,
    "bilinear": Image.BILINEAR,
    "box": Image.BOX,
    "nearest": Image.NEAREST,
}
_FIX = (
    "put images_background.zip and images_evaluation.zip in <data-root>/omniglot/omniglot-py/ "
    "(set --data-root or GLAI_SSL_DATA), or pass --download to fetch the official release through torchvision."
)


@dataclass
class OmniglotDrawings:
    """Every drawing of both zips, decoded.

    Attributes:
        images: ``(32460, S, S)`` uint8, white background (255), strokes dark.
        character: ``(N,)`` index into ``characters``.
        characters: ``"Alphabet/characterNN"`` names, background characters first.
        background: ``(len(characters),)`` bool, True for characters of ``images_background``.
    """

    images: torch.Tensor
    character: torch.Tensor
    characters: list[str]
    background: torch.Tensor


def find_zip(name: str, data_root: Path) -> Path | None:
    """The first existing ``name.zip`` in the places Omniglot is usually kept under ``data_root``."""
    for candidate in _zip_candidates(name, data_root):
        if candidate.is_file():
            return candidate
    return None


def _zip_candidates(name: str, data_root: Path) -> list[Path]:
    cached = cache_dir("omniglot") / "omniglot-py" / f"{name}.zip"
    return [
        data_root / "omniglot" / "omniglot-py" / f"{name}.zip",
        data_root / "omniglot-py" / f"{name}.zip",
        cached,
    ]


def _download(name: str) -> Path:
    """Fetch the official zip through torchvision into the cache (never into the data root)."""
    from torchvision.datasets import Omniglot

    target = cache_dir("omniglot") / "omniglot-py" / f"{name}.zip"
    with scratch_dir(target.parent, "download") as scratch:  # the zip appears whole or not at all
        try:
            Omniglot(str(scratch), background=name == "images_background", download=True)
        except Exception as error:  # network errors come in many types
            raise DataError(
                f"Downloading Omniglot {name} through torchvision failed: {error}\nFix: {_FIX}"
            ) from None
        move_in(scratch / "omniglot-py" / f"{name}.zip", target)
    return target


def locate_zips(data_root: Path, download: bool = False) -> dict[str, Path]:
    """Find and verify both zips; raise one clear :class:`DataError` if one is missing or corrupt."""
    found = {}
    for name in ZIP_NAMES:
        path = find_zip(name, data_root)
        if path is None and download:
            path = _download(name)
        if path is None:
            raise missing_file_error(
                f"Omniglot {name}.zip", _zip_candidates(name, data_root), _FIX, ZIP_MD5[name]
            )
        verify_md5(path, ZIP_MD5[name], f"replace {path} with an intact copy. {_FIX}")
        found[name] = path
    return found


def _decode_zip(path: Path, prefix: str, image_size: int, resample: str, bar) -> tuple[list, list[str]]:
    """Decode every PNG of one zip; return ``(images, character names)`` in sorted path order."""
    images, names = [], []
    with zipfile.ZipFile(path) as archive:
        members = sorted(m for m in archive.namelist() if m.endswith(".png"))
        for member in members:
            parts = member.split("/")
            if len(parts) != 4 or parts[0] != prefix:
                raise DataError(
                    f"{path}: unexpected entry {member!r}; expected {prefix}/<Alphabet>/<character>/<png>"
                )
            with Image.open(io.BytesIO(archive.read(member))) as image:
                image = image.convert("L")
                if image.size != (image_size, image_size):
                    image = image.resize((image_size, image_size), RESAMPLING[resample])
                images.append(torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8))
            names.append(f"{parts[1]}/{parts[2]}")
            bar.update(1)
    return images, names


def decode_omniglot(
    data_root: str | os.PathLike | None = None,
    image_size: int = 28,
    resample: str = "lanczos",
    download: bool = False,
    use_cache: bool = True,
) -> OmniglotDrawings:
    """Decode both zips (or load the cached decode) into :class:`OmniglotDrawings`.

    The cache lives in ``cache_dir("omniglot")`` and is keyed by the zips' md5, the size and the resampling,
    so a changed zip or setting is decoded afresh.
    """
    if resample not in RESAMPLING:
        raise ValueError(f"unknown resample {resample!r}; choose one of {sorted(RESAMPLING)}")
    if image_size < 4:
        raise ValueError(f"image_size must be >= 4, got {image_size}")
    zips = locate_zips(resolve_data_root(data_root), download)
    key = "-".join(md5sum(zips[name])[:8] for name in ZIP_NAMES)
    cache_file = cache_dir("omniglot") / f"drawings-{image_size}px-{resample}-{key}.pt"
    if use_cache and cache_file.is_file():
        try:
            return OmniglotDrawings(**torch.load(cache_file, weights_only=True))
        except Exception:  # a truncated cache is rebuilt, never trusted
            cache_file.unlink(missing_ok=True)
    images, names, background_chars = [], [], set()
    with progress(total=32460, desc=f"decode Omniglot {image_size}px", unit="img") as bar:
        for name in ZIP_NAMES:
            zip_images, zip_names = _decode_zip(zips[name], name, image_size, resample, bar)
            images += zip_images
            names += zip_names
            if name == "images_background":
                background_chars.update(zip_names)
    characters = list(dict.fromkeys(names))
    index = {c: i for i, c in enumerate(characters)}
    drawings = OmniglotDrawings(
        images=torch.stack(images).view(-1, image_size, image_size),
        character=torch.tensor([index[n] for n in names], dtype=torch.long),
        characters=characters,
        background=torch.tensor([c in background_chars for c in characters]),
    )
    if use_cache:
        with atomic_path(cache_file) as tmp:
            torch.save(drawings.__dict__, tmp)
    return drawings


def vinyals_classes(split: str, data_root: Path) -> list[str]:
    """The ``Alphabet/characterNN/rotDDD`` class list of a Vinyals split.

    Read from ``<data-root>/omniglot/splits/vinyals/`` when present, else from the copy shipped with glai_ssl
    (jakesnell/prototypical-networks @8fdc675, MIT). ``trainval`` is ``train`` followed by ``val``.
    """
    if split == "trainval":
        return vinyals_classes("train", data_root) + vinyals_classes("val", data_root)
    local = data_root / "omniglot" / "splits" / "vinyals" / f"{split}.txt"
    if local.is_file():
        text = local.read_text()
    else:
        text = resources.files("glai_ssl.data").joinpath(f"splits/vinyals/{split}.txt").read_text()
    classes = [line.strip() for line in text.splitlines() if line.strip()]
    if len(classes) != VINYALS_CLASSES[split]:
        raise DataError(
            f"Vinyals {split} split lists {len(classes)} classes, expected {VINYALS_CLASSES[split]} "
            f"(read from {local if local.is_file() else 'the copy shipped with glai_ssl'}).\n"
            f"Fix: restore {local} from jakesnell/prototypical-networks, or delete it to use the shipped copy."
        )
    return classes


def load_omniglot(
    split: str = "vinyals-train",
    *,
    data_root: str | os.PathLike | None = None,
    image_size: int = 28,
    invert: bool = True,
    resample: str = "lanczos",
    download: bool = False,
) -> LabelledImages:
    """Load one Omniglot split as :class:`LabelledImages` (labels in split order).

    Args:
        split: one of ``vinyals-train``, ``vinyals-val``, ``vinyals-trainval``, ``vinyals-test`` (rotations as
            classes) or ``background``, ``evaluation`` (Lake's characters, no rotations).
        data_root: folder holding ``omniglot/omniglot-py/*.zip``; see :func:`resolve_data_root`.
        image_size: side of the square images (28 in Snell et al.).
        invert: Snell's ``1 - pixel`` convention: strokes 255 on a background of 0.
        resample: PIL filter used to shrink the 105x105 drawings.
        download: fetch the official zips through torchvision into the cache when they are missing.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown Omniglot split {split!r}; choose one of {', '.join(SPLITS)}")
    root = resolve_data_root(data_root)
    drawings = decode_omniglot(root, image_size, resample, download)
    order = torch.argsort(drawings.character, stable=True)
    by_character = drawings.images[order].view(
        len(drawings.characters), DRAWINGS_PER_CHARACTER, image_size, image_size
    )
    char_index = {c: i for i, c in enumerate(drawings.characters)}
    if split in ("background", "evaluation"):
        wanted = drawings.background if split == "background" else ~drawings.background
        chars = [i for i in range(len(drawings.characters)) if wanted[i]]
        images = by_character[chars]
        classes = [drawings.characters[i] for i in chars]
    else:
        classes = vinyals_classes(split.removeprefix("vinyals-"), root)
        images = torch.empty(len(classes), DRAWINGS_PER_CHARACTER, image_size, image_size, dtype=torch.uint8)
        for k, name in enumerate(classes):
            character, _, rotation = name.rpartition("/")
            if character not in char_index or not rotation.startswith("rot"):
                raise DataError(f"Vinyals {split}: class {name!r} names no Omniglot character in the zips")
            images[k] = torch.rot90(
                by_character[char_index[character]], int(rotation[3:]) // 90, dims=(-2, -1)
            )
    if invert:
        images = 255 - images
    labels = torch.arange(len(classes)).repeat_interleave(DRAWINGS_PER_CHARACTER)
    return LabelledImages(
        images.reshape(-1, image_size, image_size).contiguous(),
        labels,
        classes,
        f"omniglot/{split}",
        {"invert": invert, "image_size": image_size, "resample": resample},
    )
