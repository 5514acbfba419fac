"""Trained models cached on disk, keyed by exactly what they were trained on.

Training takes seconds; loading a cached model a fraction of that. The key
covers the examples and every training setting, so a change to either
retrains; a damaged or read-only cache only costs start-up time.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TypeVar

from bot.matching import classifier, needles
from bot.matching.classifier import LinearModel

MODEL_FORMAT = "linear-3"  # bump when features or the file change; settings are in the key too
T = TypeVar("T")


def cache_dir() -> Path:
    env = os.environ.get("GUIDANCE_CACHE_DIR")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base if env else base / "guidance-bot"


def cached_model(
    name: str, key: object, training: Callable[[], list[tuple[list[str], str]]], use_cache: bool
) -> LinearModel:
    """Load the model trained on exactly this `key` before, or train it on `training()`.

    `key` must determine the training data (the examples and whatever turns them into
    words); `training` is only called when there is no cached model, since preparing
    the words of thousands of examples costs most of a second.
    """
    recipe = (classifier.EPOCHS, classifier.AGGRESSIVENESS, classifier.PRUNE, classifier.NGRAM)
    train = lambda: LinearModel.train(training())  # noqa: E731
    return cached_json(name, (recipe, key), train, LinearModel.from_json, use_cache)


def cached_json(
    name: str,
    key: object,
    build: Callable[[], T],
    load: Callable[[dict], T],
    use_cache: bool = True,
) -> T:
    """Load the model built on exactly this `key` before, or `build()` it and keep it.

    A model is kept as JSON: `to_json()` gives it, `load` reads it back. A damaged or
    read-only cache only costs the time to build it again.
    """
    path = cache_dir() / f"{name}-{_digest((MODEL_FORMAT, key))}.json"
    if use_cache and path.is_file():
        try:
            return load(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a damaged cache is rebuilt below
    model = build()
    if use_cache:
        _write(path, model.to_json())
    return model


@contextmanager
def kept_readings(use_cache: bool = True) -> Iterator[None]:
    """Patterns built inside use the needles read at an earlier start; those read now are
    kept for the next.

    Reading the needles of 1,400 pattern alternatives took a third of a second of every
    start. A reading depends only on the pattern and on the code that reads it, so the
    file is named by that code (and the Python version, whose parser it uses): any change
    to either reads every pattern afresh.
    """
    code = hashlib.sha256(Path(needles.__file__).read_bytes() + sys.version.encode())
    path = cache_dir() / f"needles-{code.hexdigest()[:16]}.json"
    if use_cache and path.is_file():
        # A damaged file: every pattern is read again, and the file rewritten.
        with suppress(OSError, ValueError, TypeError):
            needles.remember(json.loads(path.read_text(encoding="utf-8")))
    before = needles.known()
    yield
    if use_cache and needles.known() != before:
        _write(path, needles.readings())


def _write(path: Path, data: object) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass


def _digest(key: object) -> str:
    h = hashlib.sha256()
    _feed(h, key)
    return h.hexdigest()[:16]


_SLICE = 512  # items of a long list hashed at once


def _feed(h: hashlib._Hash, item: object) -> None:
    """A long list a slice at a time (its items are examples, each small); a short list or
    tuple item by item, since one of them may be long. An item at a time took 60 ms for
    the matcher's examples; the whole key's repr (every example twice over) cost 37 MB
    at its peak, more than the model it names."""
    if isinstance(item, list | tuple):
        h.update(b"[" if isinstance(item, list) else b"(")
        if len(item) > _SLICE:
            for i in range(0, len(item), _SLICE):
                h.update(repr(item[i : i + _SLICE]).encode())
        else:
            for i in item:
                _feed(h, i)
        h.update(b"]" if isinstance(item, list) else b")")
    else:
        h.update(repr(item).encode())
        h.update(b",")
