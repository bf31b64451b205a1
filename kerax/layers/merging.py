"""Merging layers: combine a list of tensors into one.

Elementwise merges (Add, Subtract, Multiply, Average, Maximum, Minimum) follow Keras 3's
shape rules: every input has the same batch size; the other axes broadcast, aligned
from the right, where one side has size 1; an input of lower rank gets new size-1 axes
inserted right after the batch axis (so a ``(batch, features)`` input combines with a
``(batch, time, features)`` one). Concatenate and Dot have their own rules, below.

Shapes are checked in ``call`` at trace time, where JAX knows them statically.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from kerax import config
from kerax.layers.base import Layer


def _shapes(inputs: Sequence[jax.Array]) -> list[tuple]:
    return [tuple(x.shape) for x in inputs]


class _Merge(Layer):
    """Shared input checks of the merge layers: a list of ``_min_inputs`` or more tensors."""

    _min_inputs = 2
    _max_inputs: int | None = None

    def _check_list(self, inputs: Any) -> list[jax.Array]:
        kind = type(self).__name__
        if not isinstance(inputs, (list, tuple)):
            shape = getattr(inputs, "shape", None)
            raise ValueError(
                f"Layer '{self.name}' ({kind}) should be called on a list of inputs, received "
                f"a single tensor of shape {shape}. Call it as {kind}()([x1, x2])."
            )
        n, lo, hi = len(inputs), self._min_inputs, self._max_inputs
        if n < lo or (hi is not None and n > hi):
            expected = f"exactly {lo}" if lo == hi else f"at least {lo}"
            raise ValueError(
                f"Layer '{self.name}' ({kind}) should be called on a list of {expected} "
                f"inputs, received {n} (shapes {_shapes(inputs)})."
            )
        for x in inputs:
            if x.ndim < 1:
                raise ValueError(
                    f"Layer '{self.name}' ({kind}) expects inputs with a batch axis, received "
                    f"shapes {_shapes(inputs)}. Pass batches of values, e.g. x[None]."
                )
        return list(inputs)

    def _check_batch(self, inputs: list[jax.Array]) -> None:
        if len({x.shape[0] for x in inputs}) > 1:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) cannot merge tensors with "
                f"different batch sizes. Received shapes {_shapes(inputs)}. Give every "
                "input the same batch size."
            )


class _ElementwiseMerge(_Merge):
    """Base of the elementwise merges: checks shapes, aligns ranks, then merges."""

    supports_masking = True

    def _merge_function(self, inputs: list[jax.Array]) -> jax.Array:
        raise NotImplementedError

    def call(self, inputs: Sequence[jax.Array]) -> jax.Array:
        inputs = self._check_list(inputs)
        self._check_batch(inputs)
        rank = max(x.ndim for x in inputs)
        # Keras inserts the missing axes after the batch axis, not before it as
        # NumPy broadcasting would, so that the batch axes stay aligned.
        aligned = [
            jnp.reshape(x, (x.shape[0], *(1,) * (rank - x.ndim), *x.shape[1:])) for x in inputs
        ]
        for axis in range(1, rank):
            if len({x.shape[axis] for x in aligned} - {1}) > 1:
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}) received inputs with "
                    f"incompatible shapes {_shapes(inputs)}: outside the batch axis, sizes "
                    "must be equal or 1 (aligned from the last axis). Reshape the inputs so "
                    "that their shapes match."
                )
        return self._merge_function(aligned)

    def compute_mask(self, inputs, previous_mask=None):
        """As in Keras: a step is kept when any input keeps it; no mask unless every
        input has one."""
        if previous_mask is None or any(m is None for m in previous_mask):
            return None
        return functools.reduce(jnp.logical_or, previous_mask)


class Add(_ElementwiseMerge):
    """Adds a list of inputs elementwise.

    Input: a list of two or more tensors of the same shape (or broadcastable as
    described in the module docstring). Output: one tensor of the common shape.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.merging import Add
        >>> Add()([np.ones((2, 3)), np.ones((2, 3))]).tolist()
        [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
    """

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out


class Subtract(_ElementwiseMerge):
    """Subtracts the second of exactly two inputs from the first: ``inputs[0] - inputs[1]``.

    Input: a list of two tensors of the same shape. Output: one tensor of that shape.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.merging import Subtract
        >>> Subtract()([np.full((1, 2), 5.0), np.ones((1, 2))]).tolist()
        [[4.0, 4.0]]
    """

    _max_inputs = 2

    def _merge_function(self, inputs):
        return inputs[0] - inputs[1]


class Multiply(_ElementwiseMerge):
    """Multiplies a list of inputs elementwise.

    Input: a list of two or more tensors of the same shape. Output: their product.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.merging import Multiply
        >>> Multiply()([np.full((1, 2), 3.0), np.full((1, 2), 2.0)]).tolist()
        [[6.0, 6.0]]
    """

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out * x
        return out


class Average(_ElementwiseMerge):
    """Averages a list of inputs elementwise.

    Input: a list of two or more tensors of the same shape. Output: their mean.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.merging import Average
        >>> Average()([np.zeros((1, 2)), np.full((1, 2), 4.0)]).tolist()
        [[2.0, 2.0]]
    """

    def _merge_function(self, inputs):
        # Sum then divide, in Keras's order, so results agree bit for bit in float32.
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out / len(inputs)


class Maximum(_ElementwiseMerge):
    """The elementwise maximum of a list of inputs.

    Input: a list of two or more tensors of the same shape. Output: their maximum.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.merging import Maximum
        >>> Maximum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])]).tolist()
        [[3.0, 5.0]]
    """

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = jnp.maximum(out, x)
        return out


class Minimum(_ElementwiseMerge):
    """The elementwise minimum of a list of inputs.

    Input: a list of two or more tensors of the same shape. Output: their minimum.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.merging import Minimum
        >>> Minimum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])]).tolist()
        [[1.0, 2.0]]
    """

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = jnp.minimum(out, x)
        return out


class Concatenate(_Merge):
    """Concatenates a list of inputs along one axis.

    Args:
        axis: the axis to concatenate along (default ``-1``, the last axis).

    Input: a list of two or more tensors of the same rank whose shapes agree on every
    axis but ``axis``. Output: one tensor whose ``axis`` is the sum of the inputs'.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.merging import Concatenate
        >>> Concatenate()([np.ones((2, 3)), np.ones((2, 4))]).shape
        (2, 7)
    """

    supports_masking = True

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise TypeError(f"Concatenate axis must be an integer. Received: axis={axis!r}")
        self.axis = axis

    def call(self, inputs: Sequence[jax.Array]) -> jax.Array:
        inputs = self._check_list(inputs)
        shapes = _shapes(inputs)
        rank = inputs[0].ndim
        if any(x.ndim != rank for x in inputs):
            raise ValueError(
                f"Layer '{self.name}' (Concatenate) needs inputs of the same rank, received "
                f"shapes {shapes}. Reshape the inputs to a common rank first."
            )
        if not -rank <= self.axis < rank:
            raise ValueError(
                f"Layer '{self.name}' (Concatenate) got axis={self.axis}, out of range for "
                f"inputs of rank {rank} (shapes {shapes}). Use an axis in [{-rank}, {rank})."
            )
        axis = self.axis % rank
        others = {s[:axis] + s[axis + 1 :] for s in shapes}
        if len(others) > 1:
            raise ValueError(
                f"Layer '{self.name}' (Concatenate) requires inputs with matching shapes "
                f"except along the concatenation axis {self.axis}. Received shapes {shapes}."
            )
        return jnp.concatenate(inputs, axis=axis)

    def compute_mask(self, inputs, previous_mask=None):
        """As in Keras: the inputs' masks (all kept where an input has none), spread over
        their features and concatenated, reduced over the last axis with ``any``."""
        if previous_mask is None or all(m is None for m in previous_mask):
            return None
        masks = [
            jnp.ones(x.shape, bool)
            if m is None
            else jnp.broadcast_to(m.reshape(m.shape + (1,) * (x.ndim - m.ndim)), x.shape)
            for x, m in zip(inputs, previous_mask)
        ]
        return jnp.any(jnp.concatenate(masks, axis=self.axis), axis=-1)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


def _l2_normalize(x: jax.Array, axis: int) -> jax.Array:
    # As in Keras: the inverse norm is capped at 1/epsilon, so zero vectors stay zero.
    inv_norm = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
    return x * jnp.minimum(inv_norm, 1.0 / config.epsilon())


class Dot(_Merge):
    """The dot product of the samples of two tensors, along one axis of each.

    For each sample ``b``, the axes ``axes[0]`` of ``x[b]`` and ``axes[1]`` of ``y[b]``
    are contracted; the output holds the remaining axes of ``x`` then those of ``y``.

    Args:
        axes: an integer (the same axis of both inputs) or a pair ``(axis_x, axis_y)``.
            Negative values count from the end; the batch axis 0 cannot be used.
        normalize: L2-normalize both inputs along the contracted axes first, so that the
            output is the cosine similarity of the samples.

    Input: a list of two tensors of rank >= 2 with the same batch size and equal sizes
    along the contracted axes. Output shape: ``(batch, *rest_x, *rest_y)``, and
    ``(batch, 1)`` when both inputs have rank 2.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.merging import Dot
        >>> Dot(axes=(1, 2))([np.ones((2, 3, 5)), np.ones((2, 10, 3))]).shape
        (2, 5, 10)
    """

    _max_inputs = 2

    def __init__(self, axes: int | Sequence[int], normalize: bool = False, **kwargs):
        super().__init__(**kwargs)
        is_int = lambda a: isinstance(a, int) and not isinstance(a, bool)
        if not is_int(axes):
            if not isinstance(axes, (list, tuple)):
                raise TypeError(
                    "Dot axes must be an integer or a pair of integers, e.g. Dot(axes=1) or "
                    f"Dot(axes=(1, 2)). Received: axes={axes!r}"
                )
            if len(axes) != 2 or not all(is_int(a) for a in axes):
                raise ValueError(
                    "Dot axes must be an integer or a pair of integers (one axis per input). "
                    f"Received: axes={axes!r}"
                )
            axes = tuple(axes)
        if 0 in ((axes,) if is_int(axes) else axes):
            raise ValueError(
                "Dot cannot take the dot product over the batch axis 0. "
                f"Received: axes={axes!r}. Use axes counted from 1 (or negative)."
            )
        self.axes = axes
        self.normalize = bool(normalize)

    def call(self, inputs: Sequence[jax.Array]) -> jax.Array:
        x, y = self._check_list(inputs)
        shapes = _shapes((x, y))
        if x.ndim < 2 or y.ndim < 2:
            raise ValueError(
                f"Layer '{self.name}' (Dot) needs inputs of rank >= 2 (batch plus features), "
                f"received shapes {shapes}."
            )
        self._check_batch([x, y])
        pair = (self.axes, self.axes) if isinstance(self.axes, int) else self.axes
        for a, t in zip(pair, (x, y), strict=True):
            if not -t.ndim <= a < t.ndim or a % t.ndim == 0:
                raise ValueError(
                    f"Layer '{self.name}' (Dot) got axes={self.axes}, which for input shapes "
                    f"{shapes} is out of range or the batch axis. Use axes in "
                    f"1..rank-1 (or negative, not reaching the batch axis)."
                )
        ax, ay = pair[0] % x.ndim, pair[1] % y.ndim
        if x.shape[ax] != y.shape[ay]:
            raise ValueError(
                f"Layer '{self.name}' (Dot) received incompatible input shapes {shapes}: "
                f"axis {ax} of the first has size {x.shape[ax]}, axis {ay} of the second "
                f"has size {y.shape[ay]}. The contracted axes must have the same size."
            )
        if self.normalize:
            x, y = _l2_normalize(x, ax), _l2_normalize(y, ay)
        # (batch, *rest_x, *rest_y): the layout Keras's batch_dot produces.
        out = jax.lax.dot_general(x, y, (((ax,), (ay,)), ((0,), (0,))))
        return out[:, None] if out.ndim == 1 else out

    def get_config(self) -> dict:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def add(inputs: Sequence[Any], **kwargs) -> Any:
    """Functional form of :class:`Add`: ``add([x1, x2])`` is ``Add()([x1, x2])``."""
    return Add(**kwargs)(inputs)


def subtract(inputs: Sequence[Any], **kwargs) -> Any:
    """Functional form of :class:`Subtract`: ``subtract([x1, x2])`` is ``x1 - x2``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs: Sequence[Any], **kwargs) -> Any:
    """Functional form of :class:`Multiply`."""
    return Multiply(**kwargs)(inputs)


def average(inputs: Sequence[Any], **kwargs) -> Any:
    """Functional form of :class:`Average`."""
    return Average(**kwargs)(inputs)


def maximum(inputs: Sequence[Any], **kwargs) -> Any:
    """Functional form of :class:`Maximum`."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs: Sequence[Any], **kwargs) -> Any:
    """Functional form of :class:`Minimum`."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs: Sequence[Any], axis: int = -1, **kwargs) -> Any:
    """Functional form of :class:`Concatenate`.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.merging import concatenate
        >>> concatenate([np.ones((2, 3)), np.ones((2, 4))], axis=1).shape
        (2, 7)
    """
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(
    inputs: Sequence[Any], axes: int | Sequence[int] = -1, normalize: bool = False, **kwargs
) -> Any:
    """Functional form of :class:`Dot` (Keras's default ``axes=-1``)."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
