"""The figures' words: English, the default and the committed figures' language, or the report's Spanish, in the
report's own terms (época, error, precisión, entrenamiento, validación, and the course's "medición incorrecta").
`--lang es` on every script and tool that draws, or LAB_LANG=es in the environment (make, a notebook); the lab's
own figures/ are drawn in English whatever is chosen. A phrase is looked up by its English, which is its key.
"""
from __future__ import annotations

import contextlib
import os

from tools.data import CLASSES as ENGLISH_CLASSES
from tools.files import UserError

LANGUAGES = {"en": "English", "es": "español"}
ENVIRONMENT = "LAB_LANG"
FLAG_HELP = (f"the figures' language: {', '.join(f'{k} ({v})' for k, v in LANGUAGES.items())} (default: "
             f"${ENVIRONMENT}, else en)")

CLASSES = {"en": ENGLISH_CLASSES,
           "es": ("Camiseta/top", "Pantalón", "Suéter", "Vestido", "Abrigo", "Sandalia", "Camisa", "Zapatilla",
                  "Bolso", "Botín")}

SPANISH = {
    "epoch": "época",
    "accuracy": "precisión",
    "cross-entropy loss": "error (Cross Entropy Loss)",
    "cross-entropy loss (running: {loss})": "error (Cross Entropy Loss; la curva incorrecta: {loss})",
    "training (whole set, eval mode, after the epoch)": "entrenamiento\n(todo el conjunto, modo eval, tras la época)",
    "validation ({split})": "validación ({split})",
    "INCORRECT training: running mean over the epoch's batches\n(dropout on, weights moving)":
        "entrenamiento INCORRECTO: media de los lotes\n(con dropout, pesos moviéndose)",
    "the test set": "el conjunto de test", "held out of the training set": "apartadas del conjunto de entrenamiento",
    "mean of {seeds} seeds, band: lowest to highest seed": "media de {seeds} semillas; banda: de la menor a la mayor",
    "{experiment}: {model} ({parameters:,} parameters)": "{experiment}: {model} ({parameters:,} parámetros)",
    "{epochs} epoch": "{epochs} época", "{epochs} epochs": "{epochs} épocas",
    "{seeds} seed": "{seeds} semilla", "{seeds} seeds": "{seeds} semillas",
    "QUICK RUN, {images} training images: not a result": "PRUEBA RÁPIDA, {images} imágenes de entrenamiento: no es un "
                                                        "resultado",
    "ONLY {images} training images": "SOLO {images} imágenes de entrenamiento",
    "batch {size}": "lote {size}",
    "validated on held-out training images": "validado con imágenes de entrenamiento apartadas",
    "validation cross-entropy loss": "error de validación (Cross Entropy Loss)",
    "validation cross-entropy loss (the test set unless said)": "error de validación (Cross Entropy Loss; el conjunto "
                                                                "de test salvo que se diga)",
    "validation accuracy": "precisión de validación",
    "zoomed: the last {last} epochs of those\nending within {close} of the best":
        "ampliado: las últimas {last} épocas de los que\nterminan a menos de {close} del mejor",
    "All {count} experiments on the validation set": "Los {count} experimentos en el conjunto de validación",
    "predicted class": "clase predicha", "true class": "clase verdadera",
    "\n(summed over {runs} seeds)": "\n(sumada sobre {runs} semillas)",
    "mean of each experiment's seeds ({seeds}), band: lowest to highest seed":
        "media de las semillas de cada experimento ({seeds}); banda: de la menor a la mayor",
    "share of the true class": "proporción de la clase verdadera",
    "{experiment}: validation confusion after the last epoch": "{experiment}: confusión en validación tras la última "
                                                               "época",
    "mean of each one's seeds; band: lowest to highest seed": "media de las semillas de cada uno; banda: de la menor a "
                                                              "la mayor",
    "Fashion-MNIST: 16 of the {count} training images": "Fashion-MNIST: 16 de las {count} imágenes de entrenamiento",
    "WRONG, ": "MAL, ", "true: {name}": "verdadera: {name}", "no mistakes": "ningún error",
    "the first {count} {split} images": "las primeras {count} imágenes de {split}",
    "its {count} most confident mistakes on the {split} images": "sus {count} errores más seguros en las imágenes de "
                                                                 "{split}",
    "test": "test", "held-out": "entrenamiento apartadas",
    "{experiment} (seed {seed}, after epoch {epoch}): {title}; #: the image's index in its file":
        "{experiment} (semilla {seed}, tras la época {epoch}): {title}; #: el índice de la imagen en su archivo",
}
TRANSLATIONS = {"es": SPANISH}

_chosen: str | None = None  # set inside speaking(); else the environment's


def checked(language: str, where: str) -> str:
    if language not in LANGUAGES:
        raise UserError(f"{where}: no language {language!r}; there are "
                        f"{', '.join(f'{k} ({v})' for k, v in LANGUAGES.items())}")
    return language


@contextlib.contextmanager
def speaking(language: str | None):
    """What is drawn inside (and by the trainings started inside) in `language`; None: the environment's. An unknown
    one is refused in one line, before anything is drawn. As it was, after."""
    global _chosen
    before, environment = _chosen, os.environ.get(ENVIRONMENT)
    check(language)
    if language is not None:
        _chosen = language
        os.environ[ENVIRONMENT] = language
    try:
        yield
    finally:
        _chosen = before
        if environment is None:
            os.environ.pop(ENVIRONMENT, None)
        else:
            os.environ[ENVIRONMENT] = environment


def check(language: str | None) -> None:
    """Refuse, in one line, an unknown --lang `language` or (None) an unknown $LAB_LANG."""
    checked(language, "--lang") if language is not None else current()


def current() -> str:
    return _chosen or checked(os.environ.get(ENVIRONMENT) or "en", f"${ENVIRONMENT}")


def english(text: str, **values) -> str:
    """`text` as it is, in English: what a Markdown table says, whatever the figures' language."""
    return text.format(**values)


def say(english: str, **values) -> str:
    """`english` in the chosen language, with `values` put in its {places}."""
    return TRANSLATIONS.get(current(), {}).get(english, english).format(**values)


def classes(names=CLASSES["en"]) -> tuple[str, ...]:
    """Fashion-MNIST's class names in the chosen language (other names, a model's of its own, as they are)."""
    return CLASSES[current()] if tuple(names) == CLASSES["en"] else tuple(names)


def marked(source: str) -> str:
    """A figure's source digest with its language, when that is not English: a figure drawn in another language is
    not up to date (files.stale), and an English one keeps the digest make check knows."""
    return source if current() == "en" else f"{source} {current()}"


def in_english(lab: bool = True):
    """What is drawn inside, in English if it is the lab's own figures (`lab`), whatever the language chosen."""
    return speaking("en") if lab else contextlib.nullcontext()
