"""The four Fashion-MNIST files: where they are looked for, how they are checked and read.

    python -m tools.data [--data-dir DIR]     prints the folder that holds them (downloading them if needed)
"""
from __future__ import annotations

import argparse
import gzip
import math
import os
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import torch

from tools import places
from tools.files import UserError, one_line_errors

PROJECT_DATA_DIR = places.ROOT / "data"
DEBIAN_DATA_DIR = Path("/usr/share/datasets/fashion-mnist")
SPLIT_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "val": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
DATA_DIR_HELP = (f"folder with the four Fashion-MNIST files; when not given: $FASHION_MNIST_DIR, then "
                 f"{PROJECT_DATA_DIR}, then {DEBIAN_DATA_DIR}")
INPUTS = {"unit": "pixels in [0, 1]", "symmetric": "pixels in [-1, 1]", "standard": "pixels standardised"}
VALIDATION = {"test": "the test set", "heldout": "held out of the training set"}
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
HELDOUT_SEED = 2024  # any fixed number: the same held-out images on every machine, in every run
HOW_TO_GET_DATA = ("install Debian's package (sudo apt-get install dataset-fashion-mnist) "
                   "or run once with internet access, which downloads it into data/")


@dataclass
class Data:
    train_x: torch.Tensor  # float32 [N, 784], scaled as Config.inputs says
    train_y: torch.Tensor  # int64 [N] in 0..9
    val_x: torch.Tensor
    val_y: torch.Tensor
    source: Path
    validation: str = "test"  # where the validation images come from: a key of VALIDATION
    val_index: list[int] | None = None  # each validation image's place in its file (None: the file's order)
    scaling: tuple[float, float] = (0.0, 1.0)  # (shift, scale): each pixel in [0, 1] became (pixel - shift) / scale


def load_data(data_dir: str | None = None, device: str | torch.device = "cpu", inputs: str = "unit",
              sizes: tuple[int, int] | None = None, validation: str = "test") -> Data:
    """The training and validation images, each held whole as one tensor on `device` so that batches are drawn
    by index; with `sizes`, only the first (training, validation) images of each. The validation images are the
    test set's, or with validation="heldout" a sixth of the training set's (10,000 of 60,000), fixed by
    HELDOUT_SEED, and then the test set is never read."""
    files = locate_data(data_dir)
    train_x, train_y = load_split(*(files[name] for name in SPLIT_FILES["train"]))
    val_index = None
    if validation == "test":
        val_x, val_y = load_split(*(files[name] for name in SPLIT_FILES["val"]))
    elif validation == "heldout":
        order = torch.randperm(len(train_x), generator=torch.Generator().manual_seed(HELDOUT_SEED))
        held, kept = order[:len(train_x) // 6].sort().values, order[len(train_x) // 6:].sort().values
        val_x, val_y, train_x, train_y = train_x[held], train_y[held], train_x[kept], train_y[kept]
        val_index = held.tolist()
    else:
        raise UserError(f"unknown validation {validation!r}; use {', '.join(VALIDATION)}")
    shift, scale = 0.0, 1.0
    if inputs == "symmetric":
        shift, scale = 0.5, 0.5  # torchvision's Normalize((0.5,), (0.5,)): subtract, then divide
    elif inputs == "standard":
        shift, scale = train_x.mean().item(), train_x.std().item()  # the training set's, for both splits
    elif inputs != "unit":
        raise UserError(f"unknown inputs {inputs!r}; use {', '.join(INPUTS)}")
    if inputs != "unit":
        train_x, val_x = train_x.sub_(shift).div_(scale), val_x.sub_(shift).div_(scale)
    train, val = (slice(None), slice(None)) if sizes is None else (slice(sizes[0]), slice(sizes[1]))
    return Data(train_x[train].to(device), train_y[train].to(device), val_x[val].to(device), val_y[val].to(device),
                files["train-images-idx3-ubyte"].parent, validation, val_index and val_index[val], (shift, scale))


def split_images(split: str, data_dir: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One split's images (784 pixels each, in [0, 1]) and labels as the files hold them: "train", or "val" (the
    test set)."""
    files = locate_data(data_dir)
    return load_split(*(files[name] for name in SPLIT_FILES[split]))


def load_split(images_path: Path, labels_path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dim() != 3 or images.shape[1:] != (28, 28):
        raise UserError(f"{images_path} holds {tuple(images.shape)}, not 28x28 images; "
                        f"delete it and get the data again: {HOW_TO_GET_DATA}")
    if labels.dim() != 1 or len(labels) != len(images):
        raise UserError(f"{labels_path} holds {tuple(labels.shape)} labels for {len(images)} images; "
                        f"delete it and get the data again: {HOW_TO_GET_DATA}")
    if labels.max() > 9:
        raise UserError(f"{labels_path} holds label {labels.max().item()}, and Fashion-MNIST has classes 0-9; "
                        f"delete it and get the data again: {HOW_TO_GET_DATA}")
    return images.reshape(len(images), 784).float().div_(255), labels.long()


def locate_data(data_dir: str | None = None) -> dict[str, Path]:
    """The four files: from the folder the user named (--data-dir, else $FASHION_MNIST_DIR), which is used or
    refused, never passed over; else from data/ or Debian's folder; else downloaded into data/."""
    named = [(data_dir, "--data-dir")] if data_dir else []
    named += [(os.environ["FASHION_MNIST_DIR"], "FASHION_MNIST_DIR")] if os.environ.get("FASHION_MNIST_DIR") else []
    for folder, who in named[:1]:
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            raise UserError(f"{who} names {folder}, which is not a folder; point it at the folder that holds "
                            f"the four Fashion-MNIST files, or leave it out to look in {PROJECT_DATA_DIR} and {DEBIAN_DATA_DIR}")
        files = find_files(folder)
        if not files:
            raise UserError(f"{who} names {folder}, which holds none of the four Fashion-MNIST files "
                            f"({', '.join(sum(SPLIT_FILES.values(), ()))}, gzipped or not); put them there, "
                            f"or leave it out to look in {PROJECT_DATA_DIR} and {DEBIAN_DATA_DIR}")
        return files
    places = [PROJECT_DATA_DIR, DEBIAN_DATA_DIR]
    for place in places:
        files = find_files(place)
        if files:
            return files
    print(f"Fashion-MNIST is in none of {', '.join(map(str, places))}; downloading it into {PROJECT_DATA_DIR}",
          file=sys.stderr)
    try:
        download(PROJECT_DATA_DIR)
    except Exception as e:  # noqa: BLE001: any failure here has the same remedy
        reason = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__  # torchvision: cause last
        raise UserError(f"Fashion-MNIST was not found in {', '.join(map(str, places))} and the download failed "
                        f"({reason}); {HOW_TO_GET_DATA}, or point --data-dir or FASHION_MNIST_DIR "
                        f"at a folder that holds the four files") from None
    return find_files(PROJECT_DATA_DIR)


def find_files(folder: Path) -> dict[str, Path] | None:
    """The four Fashion-MNIST files in `folder` (flat or torchvision's FashionMNIST/raw/, gzipped or not)."""
    found = {}
    for name in sum(SPLIT_FILES.values(), ()):
        for candidate in (folder / sub / (name + ext) for sub in ("", "FashionMNIST/raw") for ext in ("", ".gz")):
            if candidate.is_file():
                found[name] = candidate
                break
    if not found:
        return None
    missing = [name for name in sum(SPLIT_FILES.values(), ()) if name not in found]
    if missing:
        raise UserError(f"{folder} holds only some of the Fashion-MNIST files (missing {', '.join(missing)}); "
                        f"add them or remove that folder's files so the data can be fetched again")
    return found


def download(folder: Path) -> None:
    from torchvision.datasets import FashionMNIST  # only here: importing torchvision costs a second
    FashionMNIST(root=str(folder), train=True, download=True)


def read_idx(path: Path) -> torch.Tensor:
    """An IDX file of unsigned bytes (the format Fashion-MNIST ships in), gzipped or not, as a uint8 tensor."""
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise UserError(f"{path} is damaged ({e}); delete it and get the data again: {HOW_TO_GET_DATA}") from None
    ndim = raw[3] if len(raw) >= 4 else 0
    if raw[:3] != b"\x00\x00\x08" or not 1 <= ndim <= 3:
        raise UserError(f"{path} is not an IDX file of bytes; delete it and get the data again: {HOW_TO_GET_DATA}")
    start = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", raw[4:start]) if len(raw) >= start else ()
    if len(raw) != start + math.prod(shape) or not shape:
        raise UserError(f"{path} is truncated or corrupt: {len(raw)} bytes where its header promises "
                        f"{start + math.prod(shape) if shape else 'more'}; delete it and get the data again: "
                        f"{HOW_TO_GET_DATA}")
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8, offset=start).view(shape)


def main():
    parser = argparse.ArgumentParser(prog="python -m tools.data", description="Locate Fashion-MNIST (or "
                                     "download it into data/) and print the folder that holds it.")
    parser.add_argument("--data-dir", help=DATA_DIR_HELP)
    with one_line_errors("data"):
        files = locate_data(parser.parse_args().data_dir)
    print(files["train-images-idx3-ubyte"].parent)


if __name__ == "__main__":
    main()
