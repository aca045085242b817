"""Config's flags and the one check of a configuration, for flags and a script's keywords alike.

common.Config says what each field is; here are the flags' help texts, the rules a value must obey, and the
parser. A script's `common.main(__file__, dropout=1.5)` and the flag `--dropout 1.5` are refused by the same
check, with the same line, before any data loads.
"""
from __future__ import annotations

import argparse
import math
from dataclasses import asdict, fields, replace
from pathlib import Path

import torch

from tools import places, words
from tools.data import DATA_DIR_HELP, INPUTS, VALIDATION
from tools.files import ConfigError, UserError

HELP = dict(
    optimizer="what the default make_optimizer builds: plain SGD (no momentum) or Adam",
    lr="learning rate",
    batch_size="the report gives none; 32 fits its curves, the course guide used 100",
    hidden="sizes of the MLP's hidden layers",
    dropout="dropout after each hidden layer",
    epochs="passes over the training set",
    inputs="pixel scaling: unit is [0, 1] (ToTensor, as the report says), symmetric is [-1, 1] "
           "(Normalize((0.5,), (0.5,)), as most tutorials do), standard is the training set's mean 0, sd 1",
    seed="sets the first weights, the dropout masks and the batch order",
    threads="CPU threads for this training. A batch-32 MLP gains little from more, so the lab runs one training "
            "per core instead; the count changes the last digits of the results",
    device="auto: cuda, then mps, then cpu",
    validation="the images each epoch is validated on: test is the 10,000 test images (as the report), heldout "
               "is 10,000 of the 60,000 training images, held out (fixed, seeded), so that settings can be chosen "
               "without looking at the test set",
)
CHOICES = dict(optimizer=("sgd", "adam"), inputs=tuple(INPUTS), device=("auto", "cpu", "cuda", "mps"),
               validation=tuple(VALIDATION))
OPTIONS = ("seeds", "quick", "data_dir", "out", "lang")  # what run() takes beside Config's fields and the pieces
POSITIVE = {"lr", "batch_size", "hidden", "epochs", "threads"}
FRACTION = {"dropout"}  # at least 0, below 1
QUICK = dict(epochs=2, train_size=2000, val_size=1000)


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def checked(config):
    """`config` with every value in its field's type (a list of hidden sizes becomes a tuple), or a ConfigError
    naming the flag and the field: the same line for a value from the command line and from a script."""
    return replace(config, **{f.name: check(f.name, f.default, getattr(config, f.name)) for f in fields(config)})


def check(name: str, default, value):
    where = f"{flag(name)} (Config.{name})"
    number = (int, float) if isinstance(default, float) else int
    if isinstance(default, str):
        if name in CHOICES and value not in CHOICES[name]:
            raise ConfigError(f"{where} must be one of {', '.join(CHOICES[name])}; got {value!r}")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, (tuple, list)) or not value:
            raise ConfigError(f"{where} must be a list of whole numbers, such as (128, 64); got {value!r}")
        return tuple(check(name, 1, item) for item in value)
    if isinstance(value, bool) or not isinstance(value, number):
        kind = "a whole number" if number is int else "a number"
        raise ConfigError(f"{where} must be {kind}; got {value!r}")
    value = float(value) if number is not int else value  # lr=0 from a script reads as --lr 0 does: 0.0
    if name in POSITIVE and not (value > 0 and math.isfinite(value)):
        raise ConfigError(f"{where} must be a positive number; got {value!r}")
    if name in FRACTION and not 0 <= value < 1:
        raise ConfigError(f"{where} must be at least 0 and below 1; got {value!r}")
    return value


def positive(kind):
    """An argparse type for the tools' own flags: a finite number above zero."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0 or not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
        return value
    return parse


class Parser(argparse.ArgumentParser):
    """argparse, whose errors are one line (ConfigError) rather than a usage block and an exit."""

    def error(self, message):
        raise ConfigError(message)


def sizes(text: str) -> list[int]:
    """An argparse type for the sizes of hidden layers: 256x128 and 256,128 as the lab writes them, or 256 128."""
    try:
        return [int(part) for part in text.replace(",", "x").split("x")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of whole numbers, such as 256x128") from None


def parser(name: str, config, description: str | None) -> Parser:
    p = Parser(prog=f"{name}.py", description=description)
    for f in fields(config):
        default = getattr(config, f.name)
        kind = type(f.default) if not isinstance(f.default, tuple) else sizes
        # No argparse `choices`: check() refuses a flag's value as it refuses a script's, in the same words.
        metavar = "N[xN...]" if isinstance(f.default, tuple) else "{" + ",".join(CHOICES[f.name]) + "}" \
            if f.name in CHOICES else None
        p.add_argument(flag(f.name), type=kind, nargs="+" if isinstance(f.default, tuple) else None, metavar=metavar,
                       help=f"{HELP.get(f.name, f.name)} (default: {default if not isinstance(default, tuple) else ' '.join(map(str, default))})")
    p.add_argument("--seeds", type=positive(int), default=1,
                   help="independent runs, from seeds seed, seed+1, ...; figures show their mean and range (default: 1)")
    p.add_argument("--data-dir", help=DATA_DIR_HELP)
    p.add_argument("--out", type=Path, default=None,
                   help="the run's folder (default: runs/NAME/WHAT-CHANGED, named after the flags that differ from "
                        "the script's settings and the seeds)")
    p.add_argument("--lang", help=words.FLAG_HELP)
    p.add_argument("--quick", action="store_true",
                   help=f"smoke run: at most {QUICK['epochs']} epochs on {QUICK['train_size']} training and "
                        f"{QUICK['val_size']} validation images")
    return p


def configure(name: str, config, changes: dict, description: str | None = None, argv=None):
    """The script's configuration (Config with its keywords, and the options among them as defaults), then the
    flags on top, checked once as a whole. Returns the configuration, the other options, and what differs from the
    script's own settings. `argv` is a script's command line; None is a notebook's call (common.run), which reads
    no command line and names an experiment of its own, not a script's."""
    caller = "main()" if argv is not None else "run()"
    if argv is None:
        if places.script(name).is_file():
            raise ConfigError(f"{name} is the experiment script {name}.py: run it as python {name}.py (with flags "
                              f"for what you change), or give your notebook's experiment a name of its own")
        argv = []
    unknown = sorted(set(changes) - {f.name for f in fields(config)} - set(OPTIONS))
    if unknown:
        raise ConfigError(f"{caller} got {', '.join(unknown)}, which Config does not have; it has "
                          f"{', '.join(f.name for f in fields(config))}; main also takes {', '.join(OPTIONS)}, "
                          f"make_model, make_optimizer, make_schedule, loss and step")
    script = replace(config, **{key: value for key, value in changes.items() if key not in OPTIONS})
    p = parser(name, script, description)
    p.set_defaults(**{key: value for key, value in changes.items() if key in OPTIONS})
    options = p.parse_args(argv)
    if not isinstance(options.seeds, int) or isinstance(options.seeds, bool) or options.seeds < 1:
        raise ConfigError(f"--seeds must be a whole number above zero; got {options.seeds!r}")
    options.out = Path(options.out) if options.out is not None else None
    given = {f.name: getattr(options, f.name) for f in fields(config) if getattr(options, f.name) is not None}
    given = {key: sum(value, []) if isinstance(getattr(config, key), tuple) else value for key, value in given.items()}
    options.given = set(given)  # the flags on the command line, for what the script's pieces read of them
    refuse_the_labs_folders(options.out)
    words.check(options.lang)  # before any work
    config = checked(replace(script, **given))
    config = replace(config, device=resolve_device(config.device).type)
    own = {f.name: tuple(value) if isinstance(value := getattr(script, f.name), list) else value
           for f in fields(script)} | dict(device=config.device)
    options.changed = {key: value for key, value in asdict(config).items() if key != "seed" and value != own[key]}
    if options.quick:  # said by "quick" in the run's name, so not counted as a change of epochs
        config = replace(config, epochs=min(config.epochs, QUICK["epochs"]))
    return config, options


def refuse_the_labs_folders(out: Path | None) -> None:
    """--out into what the lab tracks (its root, figures/, results/, tools/, tests/) is refused: only the lab's own
    record writes figures/ and results/, and it does so by itself."""
    if out is None:
        return
    where = out.resolve()
    tracked = [places.ROOT / name for name in ("figures", "results", "tools", "tests")]
    if where == places.ROOT.resolve() or any(where == t.resolve() or t.resolve() in where.parents for t in tracked):
        raise ConfigError(f"--out {out} is one of the lab's own folders, which only the lab's record writes (python "
                          f"NAME.py --seeds 3 writes figures/ and results/ by itself); choose a folder of your own, "
                          f"or leave --out out for a folder under runs/")


PIECES_READ = ("optimizer", "lr", "hidden", "dropout")  # what only the pieces read (the loop reads the others)


class Watched:
    """A configuration that notes which fields are read, to tell which flags an experiment's own pieces ignore."""

    def __init__(self, config):
        object.__setattr__(self, "config", config)
        object.__setattr__(self, "read", set())

    def __getattr__(self, name):
        self.read.add(name)
        return getattr(self.config, name)


def unread(config, given: set, make_model, make_optimizer, make_schedule) -> list[str]:
    """The flags given on the command line that none of the experiment's model, optimizer or schedule reads from
    the configuration (--hidden for a CNN of one's own): they change nothing, and a run should say so."""
    watched = Watched(config)
    try:
        model = make_model(watched)
        make_schedule(make_optimizer(model.parameters(), watched), watched)
    except Exception:  # noqa: BLE001: a piece that needs a real Config (replace(config, ...)): nothing to tell
        return []
    return [flag(name) for name in PIECES_READ if name in given and name not in watched.read]


def resolve_device(name: str) -> torch.device:
    cuda, mps = torch.cuda.is_available(), torch.backends.mps.is_available()
    if name == "auto":
        name = "cuda" if cuda else "mps" if mps else "cpu"
    if (name == "cuda" and not cuda) or (name == "mps" and not mps):
        raise UserError(f"--device {name}: no {name.upper()} device is available here; use --device cpu or auto")
    return torch.device(name)
