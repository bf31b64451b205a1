"""Max and average pooling over the spatial axes of an N-D input, as pure functions.

One implementation serves 1D, 2D and 3D. Windows that tile the input (stride equal to
the window, no padding needed) are pooled without ``lax.reduce_window``; every other
case goes through it. All paths give the same outputs. The reason is speed on XLA's
CPU backend, where the gradient of a ``reduce_window`` max is a ``select_and_scatter``:
for an MNIST-sized ``(128, 28, 28, 32)`` batch pooled by 2, forward plus backward ran
6-11x faster as a reshape + max (a whole conv/pool/dense train step about 2.8x faster).

On CPU, tiled float max pooling with small windows goes one step further
(:func:`_max_tiles`): the forward pass is an elementwise maximum of one strided slice
per window offset, and a ``custom_jvp`` gives the derivative as elementwise selects
instead of the reductions ``jnp.max``'s derivative is built from. Every pass is then
a plain loop that XLA fuses with its neighbours (a convolution's bias and relu before
it, the relu's gradient after it), so the full-resolution activation is never written
in the forward pass: XLA recomputes it in the backward one. In the MNIST convnet's
train step (jax 0.10.2, XLA:CPU, one core, A/B in one process) this cut the step's
time by 8-11%, ``fit``'s by 9-13%, and the step's scratch memory from 29.6 to 21.5
MB. The derivative is the same function as ``jnp.max``'s: gradients are identical.

Ties: when a window holds its maximum more than once, ``reduce_window``'s gradient goes
entirely to the first maximum (row-major order inside the window), while the gradient of
``jnp.max`` (and of :func:`_max_tiles`) is split evenly among the tied elements. Both
are valid subgradients, and the forward values are identical; Keras
(``reduce_window``) uses the first. Average pooling gains little from any of this
(about 1.0-1.1x) and keeps the reshape + sum.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from kerax.layers.pooling._args import spatial_axes


def output_size(size: int, pool: int, stride: int, padding: str) -> int:
    """The number of windows along one axis (``<= 0`` when a valid window does not fit)."""
    if padding == "same":
        return -(-size // stride)
    return (size - pool) // stride + 1


def _tiles(shape: Sequence[int], axes: Sequence[int], pool, strides, padding: str) -> bool:
    """Whether the windows tile the input, so that a reshape can stand in for reduce_window."""
    if tuple(pool) != tuple(strides):
        return False
    # Valid padding drops a remainder smaller than the window (a crop); "same" pads
    # only when the size is not a multiple of the window.
    return padding == "valid" or all(shape[a] % p == 0 for a, p in zip(axes, pool))


def _pool_tiles(x: jax.Array, axes: Sequence[int], pool, reduce: Callable) -> jax.Array:
    split, reduce_axes = _split_shape(x.shape, axes, pool)
    if any(x.shape[a] % pool[i] for i, a in enumerate(axes)):
        x = x[_crop(x.shape, axes, pool)]
    return reduce(jnp.reshape(x, split), axis=reduce_axes)


# Above this many offsets per window the chain of slices stops paying off against a
# reduction. relu -> max pool, forward + backward, (128, 48, 48, 32), one CPU core,
# sliced / reshape time: 0.67 (2x2), 0.78 (3x3), 0.82 (4x4), 1.19 (6x6).
_MAX_SLICED_WINDOW = 16


def _slice_windows(dtype, pool) -> bool:
    """Whether tiled max pooling takes :func:`_max_tiles`: floats, small windows, on CPU
    (measured there; GPU and TPU keep the reshape + max they had)."""
    if jax.default_backend() != "cpu" or not jnp.issubdtype(dtype, jnp.floating):
        return False
    return math.prod(pool) <= _MAX_SLICED_WINDOW


def _window_slices(x: jax.Array, axes: Sequence[int], pool: Sequence[int]):
    """One strided slice per offset inside a window, row-major: slice ``k`` holds
    element ``k`` of every window (a remainder smaller than the window is cropped)."""
    for offsets in itertools.product(*(range(p) for p in pool)):
        index = [slice(None)] * x.ndim
        for axis, p, o in zip(axes, pool, offsets):
            index[axis] = slice(o, x.shape[axis] // p * p, p)
        yield x[tuple(index)]


@functools.partial(jax.custom_jvp, nondiff_argnums=(1, 2))
def _max_tiles(x: jax.Array, axes: tuple, pool: tuple) -> jax.Array:
    """Max over tiling windows, as elementwise maxima (see the module docstring)."""
    return functools.reduce(jnp.maximum, _window_slices(x, axes, pool))


@_max_tiles.defjvp
def _max_tiles_jvp(axes, pool, primals, tangents):
    # jnp.max's rule (lax's reduce-max JVP): the tangent at each window's maximum,
    # averaged over ties. Counted from the slices (elementwise), and the tangent
    # picked in the split layout, whose transpose is a broadcast and a select.
    (x,), (t,) = primals, tangents
    y = _max_tiles(x, axes, pool)
    hits = [(s == y).astype(t.dtype) for s in _window_slices(x, axes, pool)]
    counts = functools.reduce(jnp.add, hits)
    split, window_axes = _split_shape(x.shape, axes, pool)
    crop = _crop(x.shape, axes, pool)
    x_split, t_split = jnp.reshape(x[crop], split), jnp.reshape(t[crop], split)
    chosen = x_split == jnp.expand_dims(y, window_axes)
    picked = jnp.sum(jnp.where(chosen, t_split, jnp.zeros((), t.dtype)), axis=window_axes)
    return y, picked / counts


def _split_shape(shape, axes, pool) -> tuple[list[int], tuple[int, ...]]:
    """``shape`` with each pooled axis split into ``(size // p, p)``, and the ``p`` axes."""
    split, window_axes = [], []
    for axis, size in enumerate(shape):
        if axis in axes:
            p = pool[list(axes).index(axis)]
            split += [size // p, p]  # e.g. (batch, h // ph, ph, w // pw, pw, channels)
            window_axes.append(len(split) - 1)
        else:
            split.append(size)
    return split, tuple(window_axes)


def _crop(shape, axes, pool) -> tuple[slice, ...]:
    index = [slice(None)] * len(shape)
    for axis, p in zip(axes, pool):
        index[axis] = slice(0, shape[axis] // p * p)
    return tuple(index)


def _full(ndim: int, axes: Sequence[int], values, fill: int = 1) -> tuple[int, ...]:
    out = [fill] * ndim
    for axis, v in zip(axes, values):
        out[axis] = v
    return tuple(out)


def _lowest(dtype) -> np.ndarray:
    # A NumPy constant, not a jnp array: reduce_window recognises a max (and so can
    # differentiate it) only when its initial value is concrete, even under tracing.
    if jnp.issubdtype(dtype, jnp.floating):
        return np.array(-np.inf, dtype)
    if jnp.issubdtype(dtype, jnp.integer):
        return np.array(np.iinfo(dtype).min, dtype)
    return np.array(False, dtype)


def max_pool(
    x: jax.Array, pool_size: Sequence[int], strides: Sequence[int], padding: str, data_format: str
) -> jax.Array:
    """The maximum of each window over the spatial axes.

    Args:
        x: ``(batch, *spatial, channels)`` or ``(batch, channels, *spatial)``.
        pool_size, strides: one positive int per spatial axis.
        padding: ``"valid"`` (windows inside the input) or ``"same"`` (``ceil(size /
            stride)`` windows; padded positions never win).
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Returns:
        The pooled array, in the same layout.
    """
    axes = spatial_axes(x.ndim, data_format)
    if _tiles(x.shape, axes, pool_size, strides, padding):
        if _slice_windows(x.dtype, pool_size):
            return _max_tiles(x, tuple(axes), tuple(pool_size))
        return _pool_tiles(x, axes, pool_size, jnp.max)
    window = _full(x.ndim, axes, pool_size)
    return lax.reduce_window(
        x, _lowest(x.dtype), lax.max, window, _full(x.ndim, axes, strides), padding.upper()
    )


def _valid_counts(shape, axes, pool, strides, dtype) -> jax.Array:
    """How many real (unpadded) elements each "same" window covers.

    A window is a box, so its count is the product of one small static count per axis;
    the product is formed on device, never as a full-size host array.
    """
    counts = jnp.ones((), dtype)
    for axis, p, s in zip(axes, pool, strides):
        size = shape[axis]
        ((low, _),) = lax.padtype_to_pads((size,), (p,), (s,), "SAME")
        starts = np.arange(output_size(size, p, s, "same")) * s - low
        per_axis = np.minimum(starts + p, size) - np.maximum(starts, 0)
        counts = counts * jnp.asarray(per_axis.reshape(_full(len(shape), [axis], [-1])), dtype)
    return counts


def average_pool(
    x: jax.Array, pool_size: Sequence[int], strides: Sequence[int], padding: str, data_format: str
) -> jax.Array:
    """The mean of each window over the spatial axes.

    With ``padding="same"`` each window's sum is divided by the number of real input
    elements it covers, not by the window size (Keras's rule): border outputs are
    means of the input, not shrunk towards zero by padding.

    Args: as for :func:`max_pool`.

    Returns:
        The pooled array, in the same layout.
    """
    axes = spatial_axes(x.ndim, data_format)
    # Sum then divide, as Keras does, so results agree to rounding.
    if _tiles(x.shape, axes, pool_size, strides, padding):
        return _pool_tiles(x, axes, pool_size, jnp.sum) / math.prod(pool_size)
    window, steps = _full(x.ndim, axes, pool_size), _full(x.ndim, axes, strides)
    summed = lax.reduce_window(x, np.array(0, x.dtype), lax.add, window, steps, padding.upper())
    if padding == "valid":
        return summed / math.prod(pool_size)
    return summed / _valid_counts(x.shape, axes, pool_size, strides, summed.dtype)
