"""Numerical preprocessing layers: Rescaling and Normalization."""

from __future__ import annotations

import math
import numbers
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import config
from kerax._variable import Variable
from kerax.layers.base import Layer
from kerax.layers.preprocessing import _adapt


def _numeric(value: Any, arg: str, owner: str) -> Any:
    """A number or a numeric array-like, kept as given (configs stay plain values)."""
    try:
        array = np.asarray(value, dtype="float64")
    except (TypeError, ValueError):
        array = None
    if array is None or isinstance(value, (str, bool)):
        raise TypeError(
            f"{owner}: {arg} must be a number or an array of numbers. Received: {arg}={value!r}"
        )
    return value


def _plain(value: Any) -> Any:
    """Arrays become nested lists so that configs are JSON values."""
    if isinstance(value, (np.ndarray, jax.Array, np.generic)):
        return np.asarray(value).tolist()
    return value


def _is_row(element: Any) -> bool:
    """A list element that is a row of numbers (a Python list or a tuple of numbers),
    not a batch (an array, or an ``(x, y)`` tuple of arrays)."""
    if isinstance(element, list):
        return True
    return isinstance(element, tuple) and all(isinstance(v, numbers.Number) for v in element)


def _value(v: Any) -> Any:
    return v.value if isinstance(v, Variable) else v


class Rescaling(Layer):
    """Multiplies inputs by ``scale`` and adds ``offset``, in training and inference.

    Args:
        scale: a number, or per-channel numbers that broadcast against the inputs
            (for ``channels_first`` images, reshaped to ``(channels, 1, 1)`` as Keras does).
        offset: a number or per-channel numbers added after scaling.

    Inputs of any shape and dtype (``uint8`` images too); outputs of the same shape in
    the layer's compute dtype.

    Example:
        >>> import numpy as np, kerax as keras
        >>> from kerax.layers.preprocessing import Rescaling
        >>> Rescaling(1 / 127.5, offset=-1)(np.array([0, 255], "uint8")).tolist()
        [-1.0, 1.0]
    """

    supports_masking = True

    def __init__(self, scale: Any, offset: Any = 0.0, **kwargs):
        super().__init__(**kwargs)
        owner = f"Layer '{self.name}' (Rescaling)"
        self.scale = _numeric(scale, "scale", owner)
        self.offset = _numeric(offset, "offset", owner)

    def call(self, inputs):
        dtype = self.compute_dtype
        scale = jnp.asarray(self.scale, dtype)
        offset = jnp.asarray(self.offset, dtype)
        if scale.ndim > 0 and config.image_data_format() == "channels_first":
            scale = scale.reshape(scale.shape + (1,) * (3 - scale.ndim))
        return inputs.astype(dtype) * scale + offset

    def get_config(self):
        return {**super().get_config(), "scale": _plain(self.scale), "offset": _plain(self.offset)}


class Normalization(Layer):
    """Shifts and scales inputs to zero mean and unit variance: ``(x - mean) / sqrt(var)``.

    The statistics are given (``mean`` and ``variance``) or learned with :meth:`adapt`
    before training. Learned statistics are non-trainable weights named ``mean``,
    ``variance`` and ``count`` (Keras's names, shapes and dtypes), so ``get_weights``
    and Keras weight files interoperate; ``count`` holds the number of values each
    statistic was computed from (Keras 3 creates it but leaves it at 0).

    Args:
        axis: the axis or axes that keep a separate mean and variance per index
            (default ``-1``: per feature); ``None`` for one scalar mean and variance.
        mean, variance: given statistics, broadcast to the kept axes (both or neither).
        invert: apply the inverse, ``mean + x * sqrt(var)``.

    Once built or adapted, ``layer.mean`` and ``layer.variance`` hold the statistics in
    use, shaped like the input with size 1 on the reduced axes (as in Keras).

    Inputs of any rank whose kept axes have known sizes; outputs of the same shape.
    The divisor is ``max(sqrt(var), epsilon)`` with ``kerax.config.epsilon()``.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import Normalization
        >>> layer = Normalization(axis=None)
        >>> layer.adapt(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
        >>> [round(v, 4) for v in np.asarray(layer(np.array([1.0, 3.0]))).tolist()]
        [-1.4142, 0.0]
    """

    supports_masking = True

    def __init__(
        self, axis: Any = -1, mean: Any = None, variance: Any = None, invert: bool = False, **kwargs
    ):
        super().__init__(**kwargs)
        owner = f"Layer '{self.name}' (Normalization)"
        if axis is None:
            axis = ()
        elif isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
            axis = (int(axis),)
        elif isinstance(axis, (tuple, list)) and all(
            isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis
        ):
            axis = tuple(int(a) for a in axis)
        else:
            raise TypeError(
                f"{owner}: axis must be an int, a tuple of ints or None. Received: axis={axis!r}"
            )
        self.axis = axis
        if (mean is None) != (variance is None):
            raise ValueError(
                f"{owner}: give both mean and variance, or neither (then call adapt()). "
                f"Received: mean={mean!r}, variance={variance!r}"
            )
        if mean is not None:
            _numeric(mean, "mean", owner)
            _numeric(variance, "variance", owner)
            if np.shape(mean) != np.shape(variance):
                raise ValueError(
                    f"{owner}: mean and variance must have the same shape. Received: mean "
                    f"shape {np.shape(mean)}, variance shape {np.shape(variance)}"
                )
            if np.ndim(mean) > len(self.axis):
                raise ValueError(
                    f"{owner}: mean has rank {np.ndim(mean)}, more than the {len(self.axis)} "
                    f"kept axes axis={self.axis}. Received: mean shape {np.shape(mean)}"
                )
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        self._build_shape: tuple | None = None

    def build(self, input_shape):
        owner = f"Layer '{self.name}' (Normalization)"
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(
                f"{owner}: axis={self.axis} is out of range for inputs of rank {ndim}. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        self._keep = tuple(sorted(a % ndim for a in self.axis))
        for a in self._keep:
            if input_shape[a] is None:
                raise ValueError(
                    f"{owner}: the kept axis {a} must have a known size. Received: "
                    f"input_shape={tuple(input_shape)}"
                )
        self._build_shape = tuple(input_shape)
        self._reduce = tuple(d for d in range(ndim) if d not in self._keep)
        self._broadcast = tuple(input_shape[d] if d in self._keep else 1 for d in range(ndim))
        stats_shape = tuple(input_shape[d] for d in self._keep)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(
                shape=stats_shape, initializer="zeros", trainable=False, name="mean"
            )
            self.adapt_variance = self.add_weight(
                shape=stats_shape, initializer="ones", trainable=False, name="variance"
            )
            self.count = self.add_weight(
                shape=(), initializer="zeros", dtype="int32", trainable=False, name="count"
            )
        else:
            self._given = tuple(self._expand(v) for v in (self.input_mean, self.input_variance))
        self.built = True

    def _expand(self, value: Any) -> np.ndarray:
        """A given statistic laid out along the kept axes (trailing axes first, as Keras)."""
        value = np.asarray(value, dtype="float32")
        shape = [1] * len(self._broadcast)
        for i in range(1, value.ndim + 1):
            shape[self._keep[-i]] = value.shape[-i]
        try:
            return np.broadcast_to(value.reshape(shape), self._broadcast)
        except ValueError:
            raise ValueError(
                f"Layer '{self.name}' (Normalization): mean of shape {value.shape} does not "
                f"broadcast to the kept axes of inputs shaped {self._build_shape} "
                f"(axis={self.axis})."
            ) from None

    def _check_shape(self, shape: tuple, what: str) -> None:
        if len(shape) != len(self._build_shape) or any(
            shape[a] != self._build_shape[a] for a in self._keep
        ):
            raise ValueError(
                f"Layer '{self.name}' (Normalization) was built for inputs shaped "
                f"{self._build_shape} (kept axes {self._keep}), but {what} has shape "
                f"{tuple(shape)}. Use data of the same rank and kept-axis sizes."
            )

    def _stats(self) -> tuple:
        """The mean and variance in the input's rank (size 1 on the reduced axes)."""
        if not self.built:
            raise AttributeError(
                f"Layer '{self.name}' (Normalization) has no mean/variance yet: call adapt() "
                "or build() (or call the layer on data) first."
            )
        dtype = self.compute_dtype
        if self.input_mean is None:
            # Inside ``call`` the weights are arrays; outside it, Variables.
            stats = (_value(self.adapt_mean), _value(self.adapt_variance))
            return tuple(jnp.reshape(v, self._broadcast).astype(dtype) for v in stats)
        return tuple(jnp.asarray(v, dtype) for v in self._given)

    @property
    def mean(self) -> jax.Array:
        """The mean in use, shaped like the input with size 1 on the reduced axes (as
        Keras's ``layer.mean``; available once the layer is built or adapted)."""
        return self._stats()[0]

    @property
    def variance(self) -> jax.Array:
        """The variance in use, shaped like ``mean`` (Keras's ``layer.variance``)."""
        return self._stats()[1]

    def call(self, inputs):
        self._check_shape(tuple(inputs.shape), "the input")
        dtype = self.compute_dtype
        mean, variance = self._stats()
        scale = jnp.maximum(jnp.sqrt(variance), config.epsilon())
        inputs = inputs.astype(dtype)
        if self.invert:
            return mean + inputs * scale
        return (inputs - mean) / scale

    def adapt(self, data: Any, batch_size: int | None = None, steps: int | None = None) -> None:
        """Compute the mean and variance of ``data`` and store them as the weights.

        Args:
            data: a NumPy/JAX array, or an iterable of batches (a list of arrays, a
                generator; ``(x, y)`` tuples use ``x``). Batches are combined with the
                exact parallel update of Chan et al. (1979), "Updating formulae and a
                pairwise algorithm for computing sample variances", so streaming gives
                the statistics of the whole data.
            batch_size: read an array in slices of this many rows.
            steps: read at most this many batches.

        Raises:
            ValueError: the layer was given ``mean``/``variance``, or the data's shape
                does not match the layer's.
        """
        owner = f"Layer '{self.name}' (Normalization)"
        if self.input_mean is not None:
            raise ValueError(
                f"{owner} was given fixed mean and variance, so adapt() has nothing to "
                "learn. Create it without mean/variance to learn them from data."
            )
        if isinstance(data, (list, tuple)) and any(_is_row(b) for b in data):
            # Keras reads a list as a list of batches and rejects elements without a
            # shape; reading rows of numbers as batches would build the layer for
            # inputs without a batch axis.
            raise TypeError(
                f"{owner}: adapt() reads each element of a list as a batch (an array), but "
                f"received a list whose elements are Python lists. Pass the data "
                f"as one array, e.g. layer.adapt(np.asarray(data)), or a list of arrays."
            )
        total = mean = var = None
        for batch in _adapt.iter_batches(data, batch_size, steps, owner):
            if not self.built:
                self.build(tuple(batch.shape))
            self._check_shape(tuple(batch.shape), "an adapt() batch")
            n = math.prod(batch.shape[d] for d in self._reduce)
            if n == 0:
                continue
            # Float32 statistics whatever the compute dtype: float16 sums overflow.
            x = jnp.asarray(batch, "float32")
            b_mean = np.asarray(jnp.mean(x, axis=self._reduce), "float64")
            b_var = np.asarray(jnp.var(x, axis=self._reduce), "float64")
            if total is None:
                total, mean, var = n, b_mean, b_var
                continue
            new_total = total + n
            delta = b_mean - mean
            mean = mean + delta * (n / new_total)
            var = (var * total + b_var * n) / new_total + delta**2 * (total * n / new_total**2)
            total = new_total
        if total is None:
            raise ValueError(f"{owner}: adapt() received only empty batches.")
        self.adapt_mean.assign(mean)
        self.adapt_variance.assign(var)
        self.count.assign(min(total, np.iinfo("int32").max))

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "invert": self.invert,
            "mean": _plain(self.input_mean),
            "variance": _plain(self.input_variance),
        }
