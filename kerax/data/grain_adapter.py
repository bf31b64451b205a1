"""grain data loaders as ``fit``/``evaluate``/``predict`` inputs (grain is optional).

`grain <https://github.com/google/grain>`_ objects (``grain.DataLoader``,
``grain.MapDataset``, ``grain.IterDataset``; ``grain.python`` names the same classes)
yield *batches*, as Keras 3 expects: each element is ``x``, ``(x,)``, ``(x, y)`` or
``(x, y, sample_weight)``, every leaf with a leading batch axis. Batch in grain
(``ds.batch(n)``, or ``grain.transforms.Batch(n)`` among a ``DataLoader``'s operations);
kerax does not re-batch. The batches then take the generator path
(``kerax.data.streams.BatchStream``): padded and masked so a short last batch does not
recompile, and prepared on a background thread.

grain is never imported here: a grain object is recognised by its class's module, so
``import kerax`` stays free of it whether or not it is installed.

Epochs: a grain object is iterated afresh for each epoch. In ``fit``, an epoch that
``steps_per_epoch`` cuts short leaves its iterator running and the next epoch continues
it (as Keras does); re-iterating would replay the same first batches every epoch, since a
grain pipeline restarts with the same seed. Evaluation (``validation_data`` included)
always starts a fresh pass, so every validation run sees the same batches.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import jax
import numpy as np

_GRAIN_CLASSES = frozenset({"DataLoader", "MapDataset", "IterDataset"})
_DONE = object()
# MapDataset.repeat() reports len sys.maxsize and batching divides it; no finite dataset
# has 2**47 batches.
_INFINITE = sys.maxsize >> 16


def is_grain(data: Any) -> bool:
    """True for ``grain.DataLoader``, ``grain.MapDataset`` and ``grain.IterDataset``."""
    return any(
        cls.__name__ in _GRAIN_CLASSES and cls.__module__.split(".")[0] == "grain"
        for cls in type(data).__mro__
    )


def _kind(data: Any) -> str:
    return next(
        f"grain.{cls.__name__}" for cls in type(data).__mro__ if cls.__name__ in _GRAIN_CLASSES
    )


def adapt(data: Any, what: str, steps: int | None = None, epochs: int = 1) -> Any:
    """A grain object as a re-iterable of checked batches; anything else unchanged.

    Args:
        data: the ``x`` (or ``validation_data``) given to ``fit``/``evaluate``/``predict``.
        what: "fit", "evaluate" or "predict", for error messages and epoch semantics.
        steps: ``steps_per_epoch`` (or ``validation_steps``/``steps``), if given.
        epochs: the number of epochs ``fit`` runs.

    Returns:
        ``data`` itself when it is not a grain object, else a ``GrainBatches``.

    Raises:
        ValueError: for an infinite grain dataset without ``steps`` where the call could
            otherwise never finish.

    Example:
        >>> adapt([1, 2], "fit")  # not grain: returned as it is
        [1, 2]
    """
    if not is_grain(data):
        return data
    batches = GrainBatches(data, what)
    if batches.infinite and steps is None and (what != "fit" or epochs > 1):
        fix = (
            "steps_per_epoch=..."
            if what == "fit"
            else "steps=... (validation_steps=... for validation_data in fit())"
        )
        raise ValueError(
            f"{what}() received an infinite {_kind(data)} (it was repeated: len() is "
            f"{len(data)}) and no step count, so it would never finish. Pass {fix}, or "
            "drop the .repeat()."
        )
    return batches


class GrainBatches:
    """A grain object's batches, re-iterable, with its elements' structure checked.

    Args:
        data: a ``grain.DataLoader``, ``grain.MapDataset`` or ``grain.IterDataset``.
        what: "fit", "evaluate" or "predict". In "fit" an epoch cut short by
            ``steps_per_epoch`` is continued by the next one (see the module docstring).

    Example:
        >>> import grain  # doctest: +SKIP
        >>> ds = grain.MapDataset.range(6).map(lambda i: (np.full(1, i), i % 2))  # doctest: +SKIP
        >>> ds = ds.batch(4)  # doctest: +SKIP
        >>> len(GrainBatches(ds, "fit"))  # doctest: +SKIP
        2
    """

    def __init__(self, data: Any, what: str):
        self.data = data
        self.what = what
        self.kind = _kind(data)
        self._running: Iterator | None = None
        # Only a MapDataset knows its length (an upper bound after .filter()); it sets the
        # steps per epoch and the progress bar's total.
        self._length: int | None = None
        if self.kind == "grain.MapDataset":
            self._length = len(data)
        self.infinite = self._length is not None and self._length >= _INFINITE

    def __len__(self) -> int:
        if self._length is None or self.infinite:
            raise TypeError(f"A {self.kind} does not know how many batches it yields.")
        return self._length

    def __iter__(self) -> Iterator:
        return self._epoch()

    def _epoch(self) -> Iterator:
        fresh = self._running is None or self.what != "fit"
        if fresh:
            self._running = iter(self.data)
        index = 0
        while True:  # not `yield from`: closing this generator must not close _running
            element = next(self._running, _DONE)
            if element is _DONE:
                self._running = None
                if index or fresh:
                    return
                # The last epoch read exactly to the end without seeing it: start over.
                self._running, fresh = iter(self.data), True
                continue
            yield self._check(element, index)
            index += 1

    def _check(self, element: Any, index: int) -> Any:
        where = f"Batch {index} of the {self.kind} given to {self.what}()"
        batch_hint = (
            "add .batch(batch_size) to a MapDataset/IterDataset, or "
            "grain.transforms.Batch(batch_size) to a DataLoader's operations"
        )
        if isinstance(element, (tuple, list)) and not 1 <= len(element) <= 3:
            raise ValueError(
                f"{where} is a tuple of length {len(element)}; expected x, (x,), (x, y) or "
                "(x, y, sample_weight). Map the records to that shape, e.g. "
                "ds.map(lambda r: (r[0], r[1]))."
            )
        if isinstance(element, dict) and self.what != "predict":
            raise ValueError(
                f"{where} is a dict with keys {sorted(element)}; as in Keras, a dict is the "
                "inputs x alone, so there are no targets. Map each record to a tuple, e.g. "
                "ds.map(lambda r: (r['image'], r['label'])), or yield (x,) to train on "
                "inputs alone (a model with add_loss)."
            )
        parts = tuple(element) if isinstance(element, (tuple, list)) else (element,)
        sizes = {}
        for part, tree in zip(("x", "y", "sample_weight"), parts):
            for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
                name = f"{part}{jax.tree_util.keystr(path)}"
                dtype = getattr(leaf, "dtype", None)
                if dtype is None:
                    dtype = np.asarray(leaf).dtype
                if np.dtype(dtype).kind not in "biufc":
                    raise TypeError(
                        f"{where} holds {name} of dtype {np.dtype(dtype)}; expected numeric "
                        "arrays. Decode or convert it in a grain map step (e.g. to np.float32)."
                    )
                if np.ndim(leaf) == 0:
                    raise ValueError(
                        f"{where} holds {name} as a scalar: the pipeline yields single "
                        f"examples, not batches. To batch it, {batch_hint}."
                    )
                sizes[name] = np.shape(leaf)[0]
        if len(set(sizes.values())) > 1:
            detail = ", ".join(f"{k}: {v}" for k, v in sizes.items())
            raise ValueError(
                f"{where} has arrays with different leading (batch) axes: {detail}. If the "
                f"pipeline yields single examples rather than batches, {batch_hint}."
            )
        return element
