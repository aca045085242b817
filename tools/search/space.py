"""What a trial may set: a range for each knob, written FIELD=SPEC on the command line, and a trial's settings back
as Config's changes and in the lab's words.

    FIELD=LOW:HIGH (uniform), FIELD=LOW:HIGH:log, FIELD=A,B,C (choices); hidden=1:3x32:1024 is one to three layers,
    each 32 to 1024 units on a log scale, and hidden=128x64,512x256 are choices.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from tools.config import check, flag
from tools.files import ConfigError

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


def parse_range(text: str, config) -> Range:
    """`FIELD=SPEC` as a Range, each end checked as Config checks its field; a ConfigError in one line if not."""
    field, _, spec = text.partition("=")
    names = [f.name for f in fields(config) if f.name not in NOT_SEARCHED]
    if field not in names:
        raise ConfigError(f"--range {text}: Config has no field {field!r} to search; it has {', '.join(names)}")
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
    if ":" in spec and not isinstance(default, str):
        low, high, *rest = spec.split(":")
        if rest not in ([], ["log"]):
            raise ConfigError(f"--range {text}: after LOW:HIGH only :log may follow")
        low, high = checked(low), checked(high)
        if isinstance(default, tuple):
            raise ConfigError(f"--range {text}: hidden takes choices (128x64,512x256) or layers and units (1:3x32:1024)")
        if low > high:
            raise ConfigError(f"--range {text}: its low end {low:g} is above its high end {high:g}")
        if rest and low <= 0:
            raise ConfigError(f"--range {text}: a log scale needs a low end above 0")
        return Range(field, low, high, log=bool(rest), text=text)
    choices = tuple(dict.fromkeys(checked(item) for item in spec.split(",")))
    return Range(field, choices=choices, text=text)


def settings(params: dict) -> str:
    """A trial's settings in the lab's words: "adam lr 0.00123 batch 64 hidden 512x128 dropout 0.21"."""
    out, widths = [], [params[k] for k in sorted(params) if k.startswith("width")]
    for key, value in params.items():
        if key == "layers" or key.startswith("width"):
            if key == "layers":
                out.append(f"hidden {'x'.join(map(str, widths))}")
            continue
        out.append(f"{key.replace('batch_size', 'batch')} {value:.3g}" if isinstance(value, float) else
                   f"{value}" if key == "optimizer" else f"{key.replace('batch_size', 'batch')} {value}")
    return " ".join(out)


def changes_of(params: dict) -> dict:
    """A trial's params as Config changes: layers and widths become hidden."""
    changes = {k: v for k, v in params.items() if k != "layers" and not k.startswith("width")}
    if "layers" in params:
        changes["hidden"] = tuple(params[f"width{i + 1}"] for i in range(params["layers"]))
    if isinstance(changes.get("hidden"), str):
        changes["hidden"] = tuple(int(v) for v in changes["hidden"].split("x"))
    return changes


def described(changes: dict) -> str:
    """Config's changes (hidden as a list, as trials.jsonl keeps it) in the lab's words, as `settings` says them."""
    return settings({k: ("x".join(map(str, v)) if isinstance(v, (list, tuple)) else v) for k, v in changes.items()})
