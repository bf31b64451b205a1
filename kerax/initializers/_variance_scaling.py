"""Fan-scaled random initializers: VarianceScaling and its Glorot, He and LeCun presets."""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import numpy as np

from kerax.initializers._base import _RandomInitializer, _standardize_dtype, _standardize_shape

# std of a unit normal truncated to [-2, 2]; Keras divides by it so that the
# truncated draw has the requested variance.
_TRUNCATED_STDDEV = 0.87962566103423978


def _compute_fans(
    shape: tuple[int, ...],
    input_axes: Sequence[int] | None = None,
    output_axes: Sequence[int] | None = None,
) -> tuple[int, int]:
    # Keras's rule: with both ``input_axes`` and ``output_axes`` given, each fan is the
    # product of those dims alone (no receptive field); with either missing, both are
    # ignored: Dense kernels are (in, out); conv kernels (HWIO) multiply both by the
    # receptive field prod(shape[:-2]); a vector has fan_in == fan_out.
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        for arg, axes in (("input_axes", input_axes), ("output_axes", output_axes)):
            for axis in axes:
                if not -len(shape) <= axis < len(shape):
                    raise ValueError(
                        f"VarianceScaling: {arg}={axes!r} has axis {axis}, out of range for a "
                        f"weight of rank {len(shape)}. Received: shape={shape}. Expected axes "
                        f"in [-{len(shape)}, {len(shape) - 1}]."
                    )
        return (math.prod(shape[a] for a in input_axes), math.prod(shape[a] for a in output_axes))
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def _check_axes(arg: str, axes):
    if axes is None:
        return None
    ok = isinstance(axes, (list, tuple)) and all(
        isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axes
    )
    if not ok:
        raise ValueError(
            f"VarianceScaling expects {arg} to be None or a list of int axes of the weight "
            f"(the axes whose sizes multiply into the fan). Received: {arg}={axes!r}. "
            f"Pass e.g. {arg}=[0]."
        )
    return axes


class VarianceScaling(_RandomInitializer):
    """Draws with variance ``scale / n``, ``n`` the fan-in, fan-out or their average.

    ``"truncated_normal"`` draws a truncated normal whose stddev is corrected to
    ``sqrt(scale / n)``; ``"untruncated_normal"`` a plain normal; ``"uniform"`` a
    uniform in ``[-limit, limit]`` with ``limit = sqrt(3 * scale / n)``.

    Args:
        scale: a positive scaling factor.
        mode: ``"fan_in"``, ``"fan_out"`` or ``"fan_avg"``.
        distribution: ``"truncated_normal"`` (``"normal"`` is a synonym),
            ``"untruncated_normal"`` or ``"uniform"``.
        seed: an int fixes the values; ``None`` draws from ``key``.
        input_axes: a list of axes whose sizes multiply into the fan-in (Keras 3.13+).
            Used only together with ``output_axes``; then no receptive field
            applies. ``None`` (the default) uses the Dense/conv-kernel rule.
        output_axes: a list of axes whose sizes multiply into the fan-out.

    Raises:
        ValueError: for a non-positive scale, an unknown mode or distribution, or axes
            that are not lists of ints (at call: axes out of range for the shape).

    >>> VarianceScaling(mode="fan_avg", distribution="uniform", seed=1)((2, 3)).shape
    (2, 3)
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(
        self,
        scale: float = 1.0,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        seed: int | None = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ):
        if not isinstance(scale, (int, float, np.number)) or not scale > 0:
            raise ValueError(f"VarianceScaling expects a positive scale. Received: scale={scale!r}")
        if mode not in self._MODES:
            raise ValueError(
                f"VarianceScaling expects mode in {self._MODES}. Received: mode={mode!r}"
            )
        distribution = str(distribution).lower()
        distribution = "truncated_normal" if distribution == "normal" else distribution
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(
                f"VarianceScaling expects distribution in {self._DISTRIBUTIONS} or 'normal'. "
                f"Received: distribution={distribution!r}"
            )
        self.scale, self.mode, self.distribution = scale, mode, distribution
        self.input_axes = _check_axes("input_axes", input_axes)
        self.output_axes = _check_axes("output_axes", output_axes)
        super().__init__(seed)

    def _variance(self, shape) -> float:
        fan_in, fan_out = _compute_fans(shape, self.input_axes, self.output_axes)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}
        return self.scale / max(1.0, fan[self.mode])

    def host_value(self, shape, dtype, key):
        if self.distribution != "uniform":
            return None
        limit = math.sqrt(3.0 * self._variance(_standardize_shape(shape)))
        return self._host_uniform(shape, dtype, key, -limit, limit)

    def __call__(self, shape, dtype=None, key=None):
        shape, dtype = _standardize_shape(shape), _standardize_dtype(dtype, floating=True)
        variance = self._variance(shape)
        key = self._key(key)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return jax.random.uniform(key, shape, dtype, -limit, limit)
        if self.distribution == "untruncated_normal":
            return jax.random.normal(key, shape, dtype) * math.sqrt(variance)
        stddev = math.sqrt(variance) / _TRUNCATED_STDDEV
        return jax.random.truncated_normal(key, -2.0, 2.0, shape, dtype) * stddev

    def get_config(self):
        config = {
            **super().get_config(),
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
        }
        return {**config, **self._axes_config()}

    def _axes_config(self):
        # Always written, None included, as Keras 3.13+ writes them (Keras 3.12 and
        # earlier do not take these arguments).
        return {"input_axes": self.input_axes, "output_axes": self.output_axes}


class _Preset(VarianceScaling):
    """A VarianceScaling with fixed ``_ARGS = (scale, mode, distribution)``.

    Args:
        seed: an int fixes the values; ``None`` draws from ``key``.
        input_axes: explicit fan-in axes, with ``output_axes``.
        output_axes: explicit fan-out axes.
    """

    _ARGS: tuple[float, str, str]

    def __init__(
        self,
        seed: int | None = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ):
        super().__init__(*self._ARGS, seed=seed, input_axes=input_axes, output_axes=output_axes)

    def get_config(self):
        return {"seed": self.seed, **self._axes_config()}


class GlorotUniform(_Preset):
    """Glorot/Xavier uniform (Glorot & Bengio, 2010): limit ``sqrt(6 / (fan_in + fan_out))``."""

    _ARGS = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Preset):
    """Glorot/Xavier truncated normal (Glorot & Bengio, 2010): std ``sqrt(2/(fan_in+fan_out))``."""

    _ARGS = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_Preset):
    """He uniform, for ReLU networks (He et al., 2015): limit ``sqrt(6 / fan_in)``."""

    _ARGS = (2.0, "fan_in", "uniform")


class HeNormal(_Preset):
    """He truncated normal, for ReLU networks (He et al., 2015): std ``sqrt(2 / fan_in)``."""

    _ARGS = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_Preset):
    """LeCun uniform (LeCun et al., 1998): limit ``sqrt(3 / fan_in)``."""

    _ARGS = (1.0, "fan_in", "uniform")


class LecunNormal(_Preset):
    """LeCun truncated normal, for SELU nets (Klambauer et al., 2017): std ``sqrt(1 / fan_in)``."""

    _ARGS = (1.0, "fan_in", "truncated_normal")
