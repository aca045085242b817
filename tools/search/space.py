"""What a trial may set: a range for each knob, written FIELD=SPEC on the command line, and a trial's settings back
as Config's changes, as pieces, and in the lab's words.

    FIELD=LOW:HIGH (uniform), FIELD=LOW:HIGH:log, FIELD=A,B,C (choices); hidden=1:3x32:1024 is one to three layers,
    each 32 to 1024 units on a log scale, and hidden=128x64,512x256 are choices.
    PIECE=NAME,NAME chooses a piece (make_optimizer=sgd,adamw; loss, step, make_schedule, make_model), each NAME a
    function of the script's, of tools/search/pieces.py or of common.py; NAME.KEYWORD=SPEC searches a keyword of
    that function (adamw.weight_decay=1e-5:0.1:log), asked only of trials that chose it.
"""
from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, fields

import torch

import common
from tools.config import check, flag
from tools.experiments import PIECES
from tools.files import ConfigError
from tools.search import pieces as searched_pieces

NOT_SEARCHED = ("seed", "threads", "device", "validation", "epochs")  # the search fixes these itself
DEFAULT_SPACE = ("optimizer=sgd,adam", "lr=1e-4:0.3:log", "batch_size=16,32,64,128,256", "hidden=1:3x32:1024",
                 "dropout=0:0.5")
MLP, WIDE = dict(layers=2, width1=128, width2=64), dict(layers=2, width1=512, width2=256)
REPORT_TRIALS = {  # the report's experiments as trials of the default space (04's batch of 1000 lies outside it)
    "01_base": dict(optimizer="sgd", lr=1e-3, batch_size=32, **MLP, dropout=0.2),
    "02_adam": dict(optimizer="adam", lr=1e-3, batch_size=32, **MLP, dropout=0.2),
    "03_no_dropout": dict(optimizer="sgd", lr=1e-3, batch_size=32, **MLP, dropout=0.0),
    "05_lr01": dict(optimizer="sgd", lr=0.1, batch_size=32, **MLP, dropout=0.2),
    "06_wide": dict(optimizer="sgd", lr=1e-3, batch_size=32, **WIDE, dropout=0.2),
    "07_final_adam": dict(optimizer="adam", lr=0.1, batch_size=32, **WIDE, dropout=0.2),
    "08_final_sgd": dict(optimizer="sgd", lr=0.1, batch_size=32, **WIDE, dropout=0.2),
}
# The lab's second study: the five knobs with the optimizer as a piece, and a schedule, a loss and a step to choose.
PIECES_SPACE = ("make_optimizer=sgd,nesterov,adam,adamw", "adamw.weight_decay=1e-5:0.3:log", "lr=1e-4:0.3:log",
                "batch_size=16,32,64,128,256", "hidden=1:3x32:1024", "dropout=0:0.5",
                "make_schedule=no_schedule,cosine,warmup_cosine", "loss=smoothed", "smoothed.label_smoothing=0:0.2",
                "step=train_step,augmented")
LESSON_PIECES = dict(make_model="make_model", make_optimizer="make_optimizer", make_schedule="no_schedule",
                     loss="cross_entropy", step="train_step")  # common.py's own: what a script brings unless it says
AS_THE_REPORT = dict(make_schedule="no_schedule", loss="smoothed", **{"smoothed.label_smoothing": 0.0}, step="train_step")
PIECES_TRIALS = {  # the report's experiments in the pieces' space (smoothing 0 is plain cross-entropy), then the
    # first study's best (chosen by held-out accuracy, as every trial is)
    **{name: dict(make_optimizer=params["optimizer"], **{k: v for k, v in params.items() if k != "optimizer"},
                  **AS_THE_REPORT) for name, params in REPORT_TRIALS.items()},
    "09_searched": dict(make_optimizer="adam", lr=0.000251, batch_size=16, layers=2, width1=906, width2=305,
                        dropout=0.273, **AS_THE_REPORT),
}


@dataclass(frozen=True)
class Range:
    """One knob's range: numbers from low to high (on a log scale or not), or choices, or for hidden a number of
    layers (`layers`) each from low to high units."""
    field: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple = ()
    layers: tuple[int, int] | None = None
    text: str = ""
    piece: bool = False  # choices are names of functions, for the piece `field` (make_optimizer, loss, ...)
    of: str = ""  # a keyword's range (field "adamw.weight_decay"): the function it belongs to

    def suggest(self, trial):
        if self.layers:
            depth = trial.suggest_int("layers", *self.layers)
            return tuple(trial.suggest_int(f"width{i + 1}", int(self.low), int(self.high), log=self.log)
                         for i in range(depth))
        if self.choices:
            value = trial.suggest_categorical(self.field, [shown(c) for c in self.choices])
            return self.choices[[shown(c) for c in self.choices].index(value)]
        if isinstance(self.low, int):
            return trial.suggest_int(self.field, self.low, self.high, log=self.log)
        return trial.suggest_float(self.field, self.low, self.high, log=self.log)


def shown(value) -> str | int | float:
    """A value as Optuna stores a choice (numbers and text only): hidden (512, 256) as "512x256"."""
    return "x".join(map(str, value)) if isinstance(value, tuple) else value


def function(name: str, functions: dict, text: str):
    """The function NAME: the script's own (`functions`), else the search's pieces', else the lesson's."""
    for where in (functions, vars(searched_pieces), vars(common)):
        if callable(where.get(name)) and not isinstance(where[name], type):
            return where[name]
    ours = [k for k, v in vars(searched_pieces).items() if inspect.isfunction(v) and v.__module__ == searched_pieces.__name__]
    raise ConfigError(f"--range {text}: no function {name!r} in the script, in tools/search/pieces.py ({', '.join(ours)}) "
                      f"or in common.py")


def parse_range(text: str, config, functions: dict | None = None) -> Range:
    """`FIELD=SPEC` as a Range, each end checked as Config checks its field, or as the function's keyword's default
    is; a ConfigError in one line if not. `functions`: the script's, where a piece's name is looked up first."""
    field, _, spec = text.partition("=")
    functions = functions or {}
    if field in PIECES:
        if not spec:
            raise ConfigError(f"--range {text}: give {field}=NAME,NAME, each a function")
        names = tuple(dict.fromkeys(spec.split(",")))
        for name in names:
            function(name, functions, text)
        return Range(field, choices=names, text=text, piece=True)
    if "." in field:
        owner, _, keyword = field.partition(".")
        parameter = inspect.signature(function(owner, functions, text)).parameters.get(keyword)
        if parameter is None or not isinstance(parameter.default, (int, float)) or isinstance(parameter.default, bool):
            raise ConfigError(f"--range {text}: {owner} has no keyword {keyword!r} with a number as its default")

        def number(item):
            try:
                return type(parameter.default)(item)
            except ValueError:
                raise ConfigError(f"--range {text}: {item!r} is not a number like {owner}'s {keyword}") from None
        return number_range(text, field, spec, number, of=owner)
    names = [f.name for f in fields(config) if f.name not in NOT_SEARCHED]
    if field not in names:
        raise ConfigError(f"--range {text}: Config has no field {field!r} to search; it has {', '.join(names)}, "
                          f"and the pieces {', '.join(PIECES)}")
    if not spec:
        raise ConfigError(f"--range {text}: give {field}=LOW:HIGH, {field}=LOW:HIGH:log or {field}=A,B,C")
    default = getattr(type(config)(), field)

    def checked(item):
        try:
            value = tuple(int(v) for v in item.split("x")) if isinstance(default, tuple) else type(default)(item)
        except ValueError:
            raise ConfigError(f"--range {text}: {item!r} is not a value of {flag(field)}") from None
        try:
            return check(field, default, value)
        except ConfigError as e:
            raise ConfigError(f"--range {text}: {e}") from None
    if field == "hidden" and "x" in spec and ":" in spec:
        depth, _, widths = spec.partition("x")
        try:
            (d_low, d_high), (w_low, w_high) = map(int, depth.split(":")), map(int, widths.split(":"))
        except ValueError:
            raise ConfigError(f"--range {text}: write hidden=LAYERS_LOW:LAYERS_HIGHxUNITS_LOW:UNITS_HIGH, "
                              f"such as hidden=1:3x32:1024") from None
        for low, high in ((d_low, d_high), (w_low, w_high)):
            if not 0 < low <= high:
                raise ConfigError(f"--range {text}: {low}:{high} must be positive, the low end not above the high")
        return Range(field, w_low, w_high, log=True, layers=(d_low, d_high), text=text)
    if isinstance(default, tuple) and ":" in spec:
        raise ConfigError(f"--range {text}: hidden takes choices (128x64,512x256) or layers and units (1:3x32:1024)")
    if isinstance(default, str):
        return Range(field, choices=tuple(dict.fromkeys(checked(item) for item in spec.split(","))), text=text)
    return number_range(text, field, spec, checked)


def number_range(text: str, field: str, spec: str, value, of: str = "") -> Range:
    """LOW:HIGH[:log] or A,B,C, each item turned by `value` from text into a checked value."""
    if ":" in spec:
        low, high, *rest = spec.split(":")
        if rest not in ([], ["log"]):
            raise ConfigError(f"--range {text}: after LOW:HIGH only :log may follow")
        low, high = value(low), value(high)
        if low > high:
            raise ConfigError(f"--range {text}: its low end {low:g} is above its high end {high:g}")
        if rest and low <= 0:
            raise ConfigError(f"--range {text}: a log scale needs a low end above 0")
        return Range(field, low, high, log=bool(rest), text=text, of=of)
    return Range(field, choices=tuple(dict.fromkeys(value(item) for item in spec.split(","))), text=text, of=of)


def checked_space(space: tuple[Range, ...], functions: dict | None = None) -> tuple[Range, ...]:
    """A space whose every keyword belongs to a function some piece may choose, each field named once."""
    repeated = sorted({r.field for r in space if [s.field for s in space].count(r.field) > 1})
    if repeated:
        raise ConfigError(f"--range names {', '.join(repeated)} more than once")
    if {"optimizer", "make_optimizer"} <= {r.field for r in space}:
        raise ConfigError("--range optimizer and --range make_optimizer both choose the optimizer; search one of them "
                          "(make_optimizer=sgd,adam,... chooses among pieces that include the lesson's two)")
    kinds = {name: r.field for r in space if r.piece for name in r.choices}
    for r in space:
        if r.of and r.of not in kinds:
            raise ConfigError(f"--range {r.text}: {r.of} is not among any piece's choices; add it, as in "
                              f"--range make_optimizer=sgd,{r.of}")
        if r.of:
            for value in (r.choices or (r.low, r.high)):
                if r.of not in (functions or {}):  # a script's own function's values are its own to check
                    tried(kinds[r.of], r.of, r.field.partition(".")[2], value, r.text)
    return space


def tried(kind: str, name: str, keyword: str, value, text: str) -> None:
    """A piece called once with `keyword` at `value` on a tiny stand-in, so that a value it refuses (a negative
    weight decay, a label smoothing above 1) is said now, in one line, and not by the first trial."""
    made = functools.partial(function(name, {}, text), **{keyword: value})
    weights = torch.zeros(3, requires_grad=True)
    try:
        if kind == "make_optimizer":
            made([weights], common.Config())
        elif kind == "make_schedule":
            made(torch.optim.SGD([weights], lr=0.1), common.Config())
        elif kind == "loss":
            made(torch.zeros(2, 10), torch.tensor([0, 1]))
    except (ValueError, RuntimeError, TypeError) as e:
        raise ConfigError(f"--range {text}: {name} refuses {keyword}={value:g} ({str(e).splitlines()[0]}); "
                          f"give a range it takes") from None


def sample(space: tuple[Range, ...], trial) -> dict:
    """A trial's settings from `space`, a keyword only where its function was chosen: Optuna's params."""
    chosen = {}
    for r in space:
        if not r.of:
            chosen[r.field] = r.suggest(trial)
    pieces = {chosen[r.field] for r in space if r.piece}
    for r in space:
        if r.of and r.of in pieces:
            chosen[r.field] = r.suggest(trial)
    return chosen


def pieces_of(params: dict, functions: dict) -> dict:
    """A trial's params as pieces: {"loss": functools.partial(smoothed, label_smoothing=0.05), ...}."""
    out = {}
    for kind in PIECES:
        if kind in params:
            keywords = {k.partition(".")[2]: v for k, v in params.items() if k.startswith(params[kind] + ".")}
            made = function(params[kind], functions, kind)
            out[kind] = functools.partial(made, **keywords) if keywords else made
    return out


def pieces_named(params: dict) -> dict:
    """A trial's pieces as plain values: {"make_optimizer": "adamw", "adamw.weight_decay": 0.01, ...}."""
    return {k: v for k, v in params.items() if k in PIECES or "." in k}


def settings(params: dict) -> str:
    """A trial's settings in the lab's words: "adam lr 0.00123 batch 64 hidden 512x128 dropout 0.21"."""
    out, widths = [], [params[k] for k in sorted(params) if k.startswith("width")]
    for key, value in params.items():
        if key in PIECES:  # its name, then its keywords: "adamw weight decay 0.0123"
            out.append(" ".join([str(value)] + [f"{k.partition('.')[2].replace('_', ' ')} {v:.3g}"
                                                for k, v in params.items() if k.startswith(f"{value}.")]))
            continue
        if "." in key:
            continue
        if key == "layers" or key.startswith("width"):
            if key == "layers":
                out.append(f"hidden {'x'.join(map(str, widths))}")
            continue
        out.append(f"{key.replace('batch_size', 'batch')} {value:.3g}" if isinstance(value, float) else
                   f"{value}" if key == "optimizer" else f"{key.replace('batch_size', 'batch')} {value}")
    return " ".join(out)


def changes_of(params: dict) -> dict:
    """A trial's params as Config changes: layers and widths become hidden; pieces and their keywords are not."""
    changes = {k: v for k, v in params.items() if k != "layers" and not k.startswith("width") and k not in PIECES
               and "." not in k}
    if "layers" in params:
        changes["hidden"] = tuple(params[f"width{i + 1}"] for i in range(params["layers"]))
    if isinstance(changes.get("hidden"), str):
        changes["hidden"] = tuple(int(v) for v in changes["hidden"].split("x"))
    return changes


def described(changes: dict) -> str:
    """Config's changes (hidden as a list, as trials.jsonl keeps it) in the lab's words, as `settings` says them."""
    return settings({k: ("x".join(map(str, v)) if isinstance(v, (list, tuple)) else v) for k, v in changes.items()})
