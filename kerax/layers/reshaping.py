"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector.

None of these layers has weights. Every check on the input's shape runs in ``call``,
at trace time, where JAX knows the static shape; symbolic shapes (``None`` batch)
follow from tracing, so no layer here writes ``compute_output_shape``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from kerax import config
from kerax.layers.base import Layer


def _is_int(x: Any) -> bool:
    # bool is an int subclass, but Reshape((True, 2)) is always a mistake.
    return isinstance(x, int) and not isinstance(x, bool)


def _standardize_data_format(data_format: Any, layer: str) -> str:
    if data_format is None:
        return config.image_data_format()
    value = str(data_format).lower()
    if value not in ("channels_last", "channels_first"):
        raise ValueError(
            f"{layer} data_format must be 'channels_last' or 'channels_first'. "
            f"Received: data_format={data_format!r}"
        )
    return value


class Flatten(Layer):
    """Flattens every axis but the batch axis into one.

    Args:
        data_format: ``"channels_last"`` or ``"channels_first"`` (default
            ``config.image_data_format()``). With ``"channels_first"`` the channel axis is
            moved last before flattening, so the output order matches a channels-last
            model: weights of a following Dense layer carry over between the two layouts.

    Input shape ``(batch, ...)`` (rank >= 1); output shape ``(batch, prod(...))``, and
    ``(batch, 1)`` for inputs of shape ``(batch,)``.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.reshaping import Flatten
        >>> Flatten()(np.ones((2, 3, 4))).shape
        (2, 12)
    """

    def __init__(self, data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _standardize_data_format(data_format, "Flatten")

    def call(self, inputs: jax.Array) -> jax.Array:
        if inputs.ndim < 1:
            raise ValueError(
                f"Layer '{self.name}' (Flatten) expects inputs with a batch axis (rank >= 1), "
                f"received a scalar of shape {tuple(inputs.shape)}. Pass a batch of values, "
                "e.g. x[None]."
            )
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = jnp.transpose(inputs, (0, *range(2, inputs.ndim), 1))
        # The static size rather than -1: reshape(-1) is ambiguous for an empty batch.
        return jnp.reshape(inputs, (inputs.shape[0], math.prod(inputs.shape[1:])))

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshapes each sample to ``target_shape``; the batch axis is kept.

    Args:
        target_shape: the shape of one output sample, without the batch axis. One entry
            may be ``-1``: its size is inferred from the input's size.

    Input shape ``(batch, ...)`` with as many values per sample as ``target_shape``;
    output shape ``(batch, *target_shape)``.

    Raises:
        ValueError: at construction for a malformed ``target_shape``; at call time when
            the input's per-sample size does not fit it.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.reshaping import Reshape
        >>> Reshape((3, -1))(np.ones((2, 12))).shape
        (2, 3, 4)
    """

    _built_at_init = True  # Keras builds it in __init__: no build config

    def __init__(self, target_shape: Sequence[int], **kwargs):
        super().__init__(**kwargs)
        if _is_int(target_shape):
            target_shape = (target_shape,)
        if not isinstance(target_shape, Sequence) or isinstance(target_shape, str):
            raise TypeError(
                "Reshape target_shape must be a tuple of integers, e.g. Reshape((3, 4)). "
                f"Received: target_shape={target_shape!r}"
            )
        target_shape = tuple(target_shape)
        if not all(_is_int(d) and (d > 0 or d == -1) for d in target_shape):
            raise ValueError(
                "Reshape target_shape must hold positive integers and at most one -1 "
                f"(an inferred size). Received: target_shape={target_shape}"
            )
        if target_shape.count(-1) > 1:
            raise ValueError(
                "Reshape target_shape may hold at most one -1 (an inferred size). "
                f"Received: target_shape={target_shape}. Give all but one size explicitly."
            )
        self.target_shape = target_shape

    def _resolved_shape(self, input_shape: tuple) -> tuple:
        sample_shape = input_shape[1:]
        size = math.prod(sample_shape)
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if size % known == 0:
                return tuple(size // known if d == -1 else d for d in self.target_shape)
        elif size == known:
            return self.target_shape
        need = f"a multiple of {known}" if -1 in self.target_shape else str(known)
        raise ValueError(
            f"Layer '{self.name}' (Reshape) cannot reshape samples of shape {sample_shape} "
            f"({size} values) to target_shape={self.target_shape}, which needs {need} "
            f"values. Received: input shape {input_shape}. "
            "Choose a target_shape with the same number of values, or use -1 for one axis."
        )

    def call(self, inputs: jax.Array) -> jax.Array:
        if inputs.ndim < 1:
            raise ValueError(
                f"Layer '{self.name}' (Reshape) expects inputs with a batch axis (rank >= 1), "
                f"received a scalar of shape {tuple(inputs.shape)}."
            )
        target = self._resolved_shape(tuple(inputs.shape))
        return jnp.reshape(inputs, (inputs.shape[0], *target))

    def get_config(self) -> dict:
        return {**super().get_config(), "target_shape": self.target_shape}


class Permute(Layer):
    """Permutes the non-batch axes of the input.

    Args:
        dims: a permutation of ``1..n`` (axes counted from 1, excluding the batch
            axis): ``Permute((2, 1))`` swaps the two axes of a ``(batch, a, b)`` input.

    Input shape ``(batch, d_1, ..., d_n)`` with ``n == len(dims)``; output shape
    ``(batch, d_dims[0], ..., d_dims[n-1])``.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.reshaping import Permute
        >>> Permute((2, 1))(np.ones((2, 10, 64))).shape
        (2, 64, 10)
    """

    def __init__(self, dims: Sequence[int], **kwargs):
        super().__init__(**kwargs)
        if not isinstance(dims, Sequence) or isinstance(dims, str):
            raise TypeError(
                "Permute dims must be a tuple of integers counted from 1, e.g. "
                f"Permute((2, 1)). Received: dims={dims!r}"
            )
        dims = tuple(dims)
        if not all(_is_int(d) for d in dims) or sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(
                "Permute dims must be a permutation of 1..n (the batch axis 0 is not "
                f"included), e.g. (2, 1) or (1, 3, 2). Received: dims={dims}"
            )
        self.dims = dims

    def call(self, inputs: jax.Array) -> jax.Array:
        if inputs.ndim != len(self.dims) + 1:
            raise ValueError(
                f"Layer '{self.name}' (Permute) with dims={self.dims} expects inputs of rank "
                f"{len(self.dims) + 1} (batch plus {len(self.dims)} axes), received shape "
                f"{tuple(inputs.shape)}. Give one entry in dims per non-batch axis."
            )
        return jnp.transpose(inputs, (0, *self.dims))

    def get_config(self) -> dict:
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(Layer):
    """Repeats each sample's vector ``n`` times along a new axis 1.

    Args:
        n: the number of repetitions, a positive integer.

    Input shape ``(batch, features)``; output shape ``(batch, n, features)``.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.reshaping import RepeatVector
        >>> RepeatVector(3)(np.ones((2, 32))).shape
        (2, 3, 32)
    """

    def __init__(self, n: int, **kwargs):
        super().__init__(**kwargs)
        if not _is_int(n):
            raise TypeError(f"RepeatVector n must be an integer. Received: n={n!r}")
        if n <= 0:
            raise ValueError(f"RepeatVector n must be a positive integer. Received: n={n}")
        self.n = n

    def call(self, inputs: jax.Array) -> jax.Array:
        if inputs.ndim != 2:
            raise ValueError(
                f"Layer '{self.name}' (RepeatVector) expects inputs of rank 2, "
                f"(batch, features), received shape {tuple(inputs.shape)}. Add a Flatten() "
                "layer before it, or a Reshape for other layouts."
            )
        # (batch, features) -> (batch, n, features)
        return jnp.broadcast_to(inputs[:, None, :], (inputs.shape[0], self.n, inputs.shape[1]))

    def get_config(self) -> dict:
        return {**super().get_config(), "n": self.n}
