"""Ask a trained model what it sees: test-set images by their index, or image files of one's own.

    python -m tools.predict 08_final_sgd 0 1 2 3 4          the first five test images
    python -m tools.predict 08_final_sgd my_shoe.png         a photo of one's own
    python -m tools.predict runs/05_lr01/epochs=3,seed=0 7   a run's folder instead of an experiment's name

An experiment's name means the lab's own run, else its newest full run (never a --quick one: name that by its
folder); the first line says which it chose. A 28x28 grey
image is taken as it is. Any other PNG or JPEG is made to look like Fashion-MNIST's images: grey, inverted if its
background is light (Fashion-MNIST's clothes are light on black), cropped to the object and fitted by its longest
side into 28x28, centred.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

import common
from tools import data as datafiles, places, runs, trained
from tools.data import DATA_DIR_HELP
from tools.files import UserError, one_line_errors

TOP = 3  # classes printed per image


def as_fashion_mnist(path: Path) -> torch.Tensor:
    """An image file as 784 pixels in [0, 1], light object on black, as Fashion-MNIST's."""
    from PIL import Image, ImageOps, UnidentifiedImageError  # matplotlib's own dependency
    try:
        with Image.open(path) as opened:
            untouched = opened.mode == "L" and opened.size == (28, 28)
            upright = ImageOps.exif_transpose(opened)  # a phone's photo is stored sideways, with a tag to turn it
            image = upright.convert("L") if upright.mode != "L" else upright.copy()
    except (UnidentifiedImageError, OSError) as e:
        raise UserError(f"{path} is not an image PIL can read ({type(e).__name__}); give a PNG or JPEG file "
                        f"or test-set indices") from None
    if not untouched:
        pixels = grey_values(image).view(image.height, image.width)
        border = torch.cat([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
        if border.median() > 127:
            image, pixels = ImageOps.invert(image), 255 - pixels
        background = torch.cat([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]]).median()
        rows, cols = ((pixels - background).abs() > 32).nonzero(as_tuple=True)
        if len(rows):  # the object's box; an image with none is used whole
            image = image.crop((cols.min().item(), rows.min().item(), cols.max().item() + 1, rows.max().item() + 1))
        scale = 28 / max(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.Resampling.LANCZOS)
        canvas = Image.new("L", (28, 28), 0)
        canvas.paste(image, ((28 - image.width) // 2, (28 - image.height) // 2))
        image = canvas
    return grey_values(image).div_(255)


def grey_values(image) -> torch.Tensor:
    """A grey PIL image's pixels, row by row, as floats in 0-255."""
    return torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8).float()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.predict", description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="an experiment's name (its newest run with weights) or a run's folder")
    parser.add_argument("images", nargs="+", help="test-set indices (0-9999) or image files")
    parser.add_argument("--seed", type=int, help="which of the run's seeds (default: its first)")
    parser.add_argument("--data-dir", help=DATA_DIR_HELP + " (for test-set indices)")
    args = parser.parse_args(argv)
    with one_line_errors("predict"):
        for line in predict(args.run, args.images, args.seed, args.data_dir):
            print(line)


def predict(run: str, images: list[str], seed: int | None = None, data_dir: str | None = None) -> list[str]:
    indices = [text for text in images if text.isdigit()]
    files = [Path(text) for text in images if not text.isdigit()]
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise UserError(f"{', '.join(missing)}: no such file; give test-set indices (0-9999) or image files")
    pixels = [(f"{path}", as_fashion_mnist(path), None) for path in files]
    model = trained.load(run, seed, say=lambda line: None)  # said here, with its predictions
    lines = [f"{runs.chosen(model.folder / places.RESULTS, model.record)}, seed {model.seed}:"]
    if indices:
        test_x, test_y = datafiles.split_images("val", data_dir)
        wrong = [i for i in indices if int(i) >= len(test_x)]
        if wrong:
            raise UserError(f"the test set has images 0-{len(test_x) - 1}, not {', '.join(wrong)}")
        pixels = [(f"test image {i}", test_x[int(i)], test_y[int(i)].item()) for i in indices] + pixels
    shift, scale = model.record["data"]["scaling"]
    x = (torch.stack([p for _, p, _ in pixels]) - shift) / scale
    probabilities = common.probabilities(model.model, x.to(next(model.model.parameters()).device))
    for (what, _, true), p in zip(pixels, probabilities):
        values, classes = p.topk(TOP)
        said = ", ".join(f"{common.CLASSES[c]} {v:.3f}" for v, c in zip(values.tolist(), classes.tolist()))
        truth = "" if true is None else f" (true: {common.CLASSES[true]}" + (
            ", right)" if classes[0].item() == true else ", WRONG)")
        lines.append(f"  {what}{truth}: {said}")
    return lines


if __name__ == "__main__":
    main()
