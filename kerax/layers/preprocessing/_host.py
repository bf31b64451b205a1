"""Shared machinery of the host-side (string) preprocessing layers.

Strings cannot live in JAX arrays, so ``Hashing``, ``StringLookup``,
``TextVectorization`` (and ``IntegerLookup`` on concrete data) run on the host with
NumPy: a call on data returns arrays right away. A layer that can also be traced
(``IntegerLookup`` on integers) says so in ``traceable``; the others raise a clear
error when called on a symbolic tensor or inside a compiled function.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import _graph
from kerax.layers.base import Layer
from kerax.layers.preprocessing import _adapt


def check_choice(value: Any, choices: tuple, arg: str, owner: str) -> None:
    if not (isinstance(value, str) and value in choices):
        raise ValueError(
            f"{owner}: {arg} must be one of {list(choices)}. Received: {arg}={value!r}"
        )


def check_dense(sparse: Any, owner: str) -> None:
    if sparse:
        raise ValueError(
            f"{owner}: sparse=True is not supported; kerax returns dense arrays (JAX has no "
            "tf.SparseTensor). Pass sparse=False."
        )


def _to_str(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, (bytes, np.bytes_)):
        return bytes(v).decode("utf-8")
    raise TypeError(f"Expected string inputs (str or bytes), received a {type(v).__name__}: {v!r}.")


def to_str_array(values: Any) -> np.ndarray:
    """An object array of Python ``str`` (bytes decoded as UTF-8), the input's shape."""
    arr = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    if arr.dtype.kind == "U":
        return arr.astype(object)
    out = np.empty(arr.shape, dtype=object)
    flat = out.reshape(-1)
    for i, v in enumerate(arr.reshape(-1)):
        flat[i] = _to_str(v)
    return out


def int_output(indices: np.ndarray) -> jax.Array:
    """Indices as an int32 JAX array (what an Embedding layer takes)."""
    return jnp.asarray(np.asarray(indices).astype("int32"))


def encode_output(
    indices: Any, mode: str, depth: int, idf_weights: Any = None, dtype: str = "float32"
) -> jax.Array:
    """one_hot / multi_hot / count / tf_idf encoding (indices < 0, i.e. masks, drop out)."""
    from kerax.layers.preprocessing.categorical import encode

    if isinstance(indices, np.ndarray):
        indices = indices.astype("int32")
    indices = jnp.asarray(indices).astype("int32")
    if mode == "tf_idf":
        counts = encode(indices, "count", depth, dtype)
        return counts * jnp.asarray(idf_weights, dtype)
    return encode(indices, mode, depth, dtype)


def iter_host_batches(data: Any, batch_size: Any, steps: Any, owner: str):
    """The batches ``adapt`` reads: a list/tuple/array is the data (a 1-D one becomes a
    column of single-token rows, as in Keras), sliced by ``batch_size``; a generator,
    iterable or ``PyDataset`` yields batches (``(x, y)`` uses ``x``)."""
    if isinstance(data, (list, tuple, np.ndarray, jax.Array)):
        arr = np.asarray(data)
        if arr.ndim == 0:
            arr = arr[None]
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.shape[0] == 0:
            raise ValueError(f"{owner}: adapt() received no data.")
        yield from _adapt.iter_batches(arr, batch_size, steps, owner)
        return
    yield from _adapt.iter_batches(data, batch_size, steps, owner)


def _has_tracer(tree: Any) -> bool:
    return any(isinstance(t, jax.core.Tracer) for t in jax.tree_util.tree_leaves(tree))


class HostLayer(Layer):
    """A layer whose call on concrete data runs ``host_call`` (NumPy) eagerly."""

    def _owner(self) -> str:
        return f"Layer '{self.name}' ({type(self).__name__})"

    def traceable(self, dtype: Any) -> bool:
        """Whether ``call`` can run on traced inputs of ``dtype`` (jnp code)."""
        return False

    def __call__(self, inputs: Any = None, *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("training", None)
        kwargs.pop("mask", None)
        if _graph.any_symbolic(inputs) or _has_tracer(inputs):
            dtype = getattr(inputs, "dtype", None)
            if self.traceable(dtype):
                return super().__call__(inputs, *args, **kwargs)
            raise ValueError(
                f"{self._owner()} runs on the host (NumPy, strings) and cannot be part of a "
                "compiled kerax model (keras.Input / jit / fit). Apply it to the data before "
                "the model instead, e.g. `x = layer(raw_data)` or in the input pipeline "
                "(`ds.map(layer)`), then fit the model on the arrays it returns. Received a "
                f"symbolic/traced input of dtype {dtype}."
            )
        if inputs is None:
            raise TypeError(f"{self._owner()} was called without inputs.")
        if not self.built:
            self.__dict__["built"] = True
        return self.host_call(inputs, *args, **kwargs)

    def host_call(self, inputs: Any) -> Any:
        raise NotImplementedError

    def call(self, inputs: Any) -> Any:
        raise ValueError(f"{self._owner()} cannot run on traced inputs.")

    def build(self, input_shape: Any = None) -> None:
        self.built = True

    def compute_output_shape(self, input_shape: Any) -> Any:
        raise NotImplementedError(
            f"{self._owner()} runs on the host; call it on data to get its output."
        )
