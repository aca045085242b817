"""Files written whole or not at all; the files programs make from data (Markdown, sections of it, figures), checked
or rewritten by one mechanism; figures as PNG bytes that name what they were drawn from."""
from __future__ import annotations

import io
import os
import signal
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tools.places import shown_path


class UserError(Exception):
    """A problem the user can fix; printed as one line, without a traceback."""


class Diverged(UserError):
    """The loss is no longer a finite number: a setting too aggressive to train (common.train raises it)."""


class ConfigError(UserError):
    """A value no training can run with; exit status 2, as for argparse's own errors."""


@contextmanager
def one_line_errors(name: str, interrupted: str = "nothing was written"):
    """What the user can fix ends the program with one line (status 2 for a bad configuration, 1 otherwise);
    Ctrl-C with one line too, saying what became of the work (`interrupted`)."""
    try:
        yield
    except ConfigError as e:
        print(f"{name}: error: {e}", file=sys.stderr)
        sys.exit(2)
    except UserError as e:
        sys.exit(f"{name}: error: {e}")
    except KeyboardInterrupt:
        sys.exit(f"{name}: interrupted; {interrupted}")


def write_together(files: dict[Path, bytes]) -> None:
    """Write every file whole or leave every one as it was: each goes to a temporary file beside it first,
    then all are moved into place at once, with Ctrl-C held back for those few microseconds."""
    temporaries = {path: path.with_name(f".{path.name}.{os.getpid()}.tmp") for path in files}
    try:
        for path, content in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            temporaries[path].write_bytes(content)
        with interrupts_held():
            for path, temporary in temporaries.items():
                os.replace(temporary, path)
    finally:
        for temporary in temporaries.values():
            temporary.unlink(missing_ok=True)


@contextmanager
def interrupts_held():
    """Ctrl-C (and a polite kill) wait until the block is done, so it is never left half-way; then they act."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only
        return
    caught = []
    previous = {number: signal.signal(number, lambda number, frame: caught.append(number))
                for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for number in caught[:1]:
            signal.raise_signal(number)


def check_writable(*folders: Path) -> None:
    """Refuse now, before any training, an output folder that cannot be written; leave no trace of the check."""
    for folder in folders:
        created = [p for p in (folder, *folder.parents) if not p.exists()]  # deepest first
        probe = folder / f".write-check.{os.getpid()}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as e:
            raise UserError(f"cannot write to {folder} ({e.strerror or e}); choose another --out") from None
        finally:
            for path in created:
                try:
                    path.rmdir()
                except OSError:
                    break


def section_text(text: str, name: str, lines: list[str]) -> str | None:
    """`text` with the lines between `<!-- NAME: ... -->` and `<!-- end of NAME -->` replaced, or None if it
    lacks the markers."""
    begin, end = f"<!-- {name}: ", f"<!-- end of {name} -->"
    if begin not in text or end not in text.split(begin, 1)[1]:
        return None
    head, rest = text.split(begin, 1)
    marker, tail = rest.split("\n", 1)[0], rest.split(end, 1)[1]
    return "\n".join([head + begin + marker, *lines, end + tail])


def update_section(path: Path, name: str, lines: list[str]) -> bool:
    """Rewrite a marked section of a Markdown file, so that no measured number in it is typed by hand.
    False if the file or its markers are not there."""
    text = section_text(path.read_text() if path.is_file() else "", name, lines)
    if text is None:
        return False
    write_together({path: text.encode()})
    return True


@dataclass(frozen=True)
class Made:
    """A file a program makes from data: a text's `content`, or a figure's `source` (the digest of what it is drawn
    from, kept in the PNG) and how to `draw` it, so that a check needs to draw nothing."""
    content: bytes | None = None
    source: str = ""
    draw: Callable | None = None


def stale(made: dict[Path, Made]) -> list[Path]:
    """The files that are not what their program makes: a text that differs, a figure drawn from other data."""
    return [path for path, m in made.items()
            if (m.content is not None and (not path.is_file() or path.read_bytes() != m.content))
            or (m.content is None and png_source(path) != m.source)]


def bring_up_to_date(made: dict[Path, Made], check: bool, remedy: str, root: Path | None = None) -> list[Path]:
    """With `check`, a UserError naming every stale file (relative to `root`, if given) and `remedy` (the command
    that makes them); else the stale files written, all whole or none, and returned."""
    wrong = stale(made)
    if check and wrong:
        names = ", ".join(str(path.relative_to(root)) if root else shown_path(path) for path in wrong)
        raise UserError(f"{names} {'is' if len(wrong) == 1 else 'are'} not what their data make; run {remedy} "
                        f"and commit the result")
    if not check:
        write_together({path: made[path].content if made[path].content is not None else
                        png_bytes(made[path].draw(), made[path].source) for path in wrong})
    return wrong


def pyplot():
    import matplotlib
    if "IPython" not in sys.modules:  # a notebook keeps its own backend, which shows figures under the cell
        matplotlib.use("Agg")  # files only, no window: the same on a laptop, a server and CI
    import matplotlib.pyplot as plt
    return plt


def png_bytes(fig, source: str = "") -> bytes:
    """The figure as PNG bytes; `source` (a digest of what it was drawn from) is kept in its metadata, so that
    `make check` can tell a figure drawn from other numbers without comparing pixels across matplotlib versions."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=150, metadata={"Source": source} if source else None)
    pyplot().close(fig)
    return buffer.getvalue()


def png_source(path: Path) -> str | None:
    """The `source` a figure was saved with (png_bytes), or None."""
    from PIL import Image  # matplotlib's own dependency
    try:
        with Image.open(path) as image:
            return image.text.get("Source")
    except OSError:
        return None
