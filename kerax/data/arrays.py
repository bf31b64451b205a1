"""In-memory array inputs: validation, splitting and class weights.

``x`` may be one array, a list/tuple of arrays (one per model input) or a dict keyed by
input name; ``y`` and ``sample_weight`` likewise per output. Lists are normalized to
lists (JAX treats tuples and lists as different pytrees).
"""

from __future__ import annotations

import sys
from typing import Any

import jax
import numpy as np


def _is_array(x: Any) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype")


def is_sparse(x: Any) -> bool:
    """Whether ``x`` is a jax.experimental.sparse array or a SciPy sparse matrix."""
    # Only a module already imported can have made ``x`` (importing them costs time).
    jax_sparse, scipy_sparse = (
        sys.modules.get(m) for m in ("jax.experimental.sparse", "scipy.sparse")
    )
    return (jax_sparse is not None and isinstance(x, jax_sparse.JAXSparse)) or (
        scipy_sparse is not None and scipy_sparse.issparse(x)
    )


def refuse_sparse(x: Any, where: str) -> None:
    """kerax's layers take dense arrays: a sparse one gets a ``TypeError`` saying how to
    densify it (a BCOO is a pytree of its parts, which would otherwise reach the model as
    separate arrays)."""
    if is_sparse(x):
        raise TypeError(
            f"{where} takes dense arrays; kerax does not consume sparse ones. Received: "
            f"{type(x).__name__} of shape {getattr(x, 'shape', None)}. Densify it first: "
            "x.todense() for a jax.experimental.sparse array, x.toarray() for a SciPy "
            "sparse matrix."
        )


def to_arrays(data: Any, what: str) -> Any:
    """Convert leaves to arrays (NumPy stays NumPy, JAX stays JAX) and tuples to lists."""
    if data is None:
        return None
    refuse_sparse(data, f"The {what} data")
    if isinstance(data, dict):
        return {k: to_arrays(v, what) for k, v in data.items()}
    if isinstance(data, (list, tuple)) and not _is_array(data):
        if data and all(np.isscalar(v) for v in data):
            return np.asarray(data)
        return [to_arrays(v, what) for v in data]
    if _is_array(data):
        return data
    try:
        return np.asarray(data)
    except Exception as e:
        raise TypeError(
            f"Cannot use {type(data).__name__} as {what}: expected NumPy/JAX arrays, or a "
            "list/dict of them."
        ) from e


def num_samples(x: Any, y: Any = None, sample_weight: Any = None) -> int:
    """The common length of every array, or a clear error naming the mismatch."""
    sizes = {}
    for name, tree in (("x", x), ("y", y), ("sample_weight", sample_weight)):
        for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
            if np.ndim(leaf) == 0:
                raise ValueError(
                    f"{name}{jax.tree_util.keystr(path)} is a scalar; expected an array with "
                    "a batch axis."
                )
            sizes[f"{name}{jax.tree_util.keystr(path)}"] = int(np.shape(leaf)[0])
    if not sizes:
        raise ValueError("No input data was given: pass x (and y for training).")
    if len(set(sizes.values())) > 1:
        detail = ", ".join(f"{k}: {v}" for k, v in sizes.items())
        raise ValueError(
            f"Data cardinality is ambiguous: all arrays must have the same number of samples "
            f"(first axis). Received: {detail}. Make x and y the same length."
        )
    n = next(iter(sizes.values()))
    if n == 0:
        raise ValueError("The dataset is empty (0 samples). Pass at least one sample.")
    return n


def take(tree: Any, start: int, stop: int) -> Any:
    return jax.tree_util.tree_map(lambda a: a[start:stop], tree)


def split_validation(x, y, sample_weight, validation_split: float):
    """Keras's ``validation_split``: the *last* fraction of the samples, before shuffling."""
    if not 0.0 < validation_split < 1.0:
        raise ValueError(
            f"validation_split must be in (0, 1). Received: validation_split={validation_split}"
        )
    n = num_samples(x, y, sample_weight)
    split_at = int(n * (1.0 - validation_split))
    if split_at == 0 or split_at == n:
        raise ValueError(
            f"validation_split={validation_split} of {n} samples leaves an empty training or "
            "validation set. Use more data or another split."
        )
    train = tuple(take(t, 0, split_at) if t is not None else None for t in (x, y, sample_weight))
    val = tuple(take(t, split_at, n) if t is not None else None for t in (x, y, sample_weight))
    return train, val


def class_weights_to_sample_weights(
    y: Any, class_weight: dict, sample_weight: Any, whole_data: bool = True
) -> Any:
    """Per-sample weights from ``{class_index: weight}`` (one output only, as in Keras).

    ``whole_data=False`` (one batch of a stream): a class may be missing from the batch,
    so keys above its largest label are not an error.
    """
    leaves = jax.tree_util.tree_leaves(y)
    if len(leaves) != 1:
        raise ValueError("class_weight is only supported for models with a single output.")
    labels = np.asarray(leaves[0])
    if labels.ndim > 1 and labels.shape[-1] > 1:
        labels = labels.argmax(-1)
    labels = labels.reshape(labels.shape[0], -1)[:, 0].astype(np.int64)
    bad = [k for k in class_weight if not isinstance(k, (int, np.integer))]
    if bad:
        raise ValueError(f"class_weight keys must be integer class indices. Received: {bad}")
    unknown = sorted(set(class_weight) - set(np.unique(labels).tolist()))
    if whole_data and unknown and max(class_weight) >= max(labels.max() + 1, 1):
        raise ValueError(
            f"class_weight has keys {unknown} that are not classes in y (labels range "
            f"0..{labels.max()})."
        )
    table = np.ones(max(max(class_weight) + 1, labels.max() + 1), np.float32)
    for k, w in class_weight.items():
        table[k] = w
    weights = table[labels]
    if sample_weight is not None:
        weights = weights * np.asarray(sample_weight, np.float32)
    return weights
