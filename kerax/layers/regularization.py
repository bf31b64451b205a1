"""Regularization layers: SpatialDropout1D/2D/3D, GaussianDropout, GaussianNoise,
AlphaDropout, ActivityRegularization. (Dropout itself lives in ``kerax.layers.core``.)

The random layers act only in training and are the identity otherwise. Their noise
comes from the key given to ``apply`` (``fit`` passes one per step), through
``kerax._scope.next_key()``; a layer's ``seed``, when given, is folded into that key so
that two layers with different seeds draw different noise from the same step key.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from kerax import _scope
from kerax.layers._sample_mask import get_sample_mask, row_weights
from kerax.layers.base import Layer
from kerax.layers.reshaping import _standardize_data_format


def _check_seed(seed: Any, kind: str) -> Any:
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise TypeError(f"{kind} seed must be an int or None. Received: seed={seed!r}")
    return seed


def _check_rate(rate: Any, kind: str) -> float:
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
        raise ValueError(f"{kind} rate must be a number in [0, 1). Received: rate={rate!r}")
    return float(rate)


def _key(seed: int | None) -> jax.Array:
    key = _scope.next_key()
    return key if seed is None else jax.random.fold_in(key, seed)


class _SpatialDropout(Layer):
    """Drops whole feature maps: one Bernoulli draw per (sample, channel)."""

    _built_at_init = True  # Keras builds it in __init__: no build config
    _rank = 0
    _layout = ""
    supports_masking = True

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        kind = type(self).__name__
        self.rate = _check_rate(rate, kind)
        self.seed = _check_seed(seed, kind)
        self.data_format = "channels_last"

    def call(self, inputs, training=None):
        if inputs.ndim != self._rank:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects inputs of rank "
                f"{self._rank}, shaped {self._layout}; received shape {tuple(inputs.shape)}."
            )
        if not training or self.rate == 0:
            return inputs
        channel = 1 if self.data_format == "channels_first" else self._rank - 1
        shape = [1] * self._rank
        shape[0], shape[channel] = inputs.shape[0], inputs.shape[channel]
        keep = jax.random.bernoulli(_key(self.seed), 1.0 - self.rate, tuple(shape))
        return jnp.where(keep, inputs / (1.0 - self.rate), jnp.zeros_like(inputs))

    def get_config(self):
        config = {**super().get_config(), "rate": self.rate, "seed": self.seed}
        config.pop("trainable")  # Keras's SpatialDropout constructors reject it
        return config


class SpatialDropout1D(_SpatialDropout):
    """Dropout of whole channels of a sequence: a channel is zeroed at every timestep.

    Neighbouring timesteps are strongly correlated, so ordinary dropout barely
    regularizes them (Tompson et al., 2015, https://arxiv.org/abs/1411.4280).

    Args:
        rate: fraction of channels to drop, in [0, 1); kept ones are scaled by
            ``1 / (1 - rate)``.
        seed: an optional int folded into the step's key.

    Input shape ``(batch, timesteps, channels)``; output shape: the same.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.regularization import SpatialDropout1D
        >>> y = np.asarray(SpatialDropout1D(0.5)(np.ones((1, 3, 4)), training=True))
        >>> bool((y == y[:, :1]).all())  # each channel is all kept or all dropped
        True
    """

    _rank = 3
    _layout = "(batch, timesteps, channels)"


class _SpatialDropoutND(_SpatialDropout):
    def __init__(self, rate: float, data_format: str | None = None, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = _standardize_data_format(data_format, type(self).__name__)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class SpatialDropout2D(_SpatialDropoutND):
    """Dropout of whole 2D feature maps (one draw per sample and channel).

    Args:
        rate: fraction of channels to drop, in [0, 1).
        data_format: ``"channels_last"`` or ``"channels_first"`` (default
            ``config.image_data_format()``).
        seed: an optional int folded into the step's key.

    Input shape ``(batch, rows, cols, channels)`` (channels last) or ``(batch,
    channels, rows, cols)``; output shape: the same.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.regularization import SpatialDropout2D
        >>> SpatialDropout2D(0.5)(np.ones((2, 3, 3, 4)), training=True).shape
        (2, 3, 3, 4)
    """

    _rank = 4
    _layout = "(batch, rows, cols, channels) or (batch, channels, rows, cols)"


class SpatialDropout3D(_SpatialDropoutND):
    """Dropout of whole 3D feature maps (one draw per sample and channel).

    Args:
        rate: fraction of channels to drop, in [0, 1).
        data_format: ``"channels_last"`` or ``"channels_first"`` (default
            ``config.image_data_format()``).
        seed: an optional int folded into the step's key.

    Input shape ``(batch, dim1, dim2, dim3, channels)`` (channels last) or ``(batch,
    channels, dim1, dim2, dim3)``; output shape: the same.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.regularization import SpatialDropout3D
        >>> SpatialDropout3D(0.5)(np.ones((2, 2, 2, 2, 3)), training=True).shape
        (2, 2, 2, 2, 3)
    """

    _rank = 5
    _layout = "(batch, dim1, dim2, dim3, channels) or (batch, channels, dim1, dim2, dim3)"


class GaussianDropout(Layer):
    """Multiplies the inputs by Gaussian noise of mean 1 in training.

    The noise has standard deviation ``sqrt(rate / (1 - rate))``, the same variance as
    the scaled Bernoulli mask of ``Dropout(rate)`` (Srivastava et al., 2014).

    Args:
        rate: the equivalent drop probability, in [0, 1).
        seed: an optional int folded into the step's key.

    Input shape: any. Output shape: the input's.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.regularization import GaussianDropout
        >>> GaussianDropout(0.2)(np.ones((2, 3))).tolist()  # inference: identity
        [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """

    _built_at_init = True  # Keras builds it in __init__: no build config
    supports_masking = True

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _check_rate(rate, "GaussianDropout")
        self.seed = _check_seed(seed, "GaussianDropout")

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = jax.random.normal(_key(self.seed), inputs.shape, self.compute_dtype)
        return inputs * (1.0 + stddev * noise)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class GaussianNoise(Layer):
    """Adds zero-mean Gaussian noise of standard deviation ``stddev`` in training.

    Args:
        stddev: the noise's standard deviation, >= 0. (Keras also caps it at 1; kerax
            accepts any non-negative value.)
        seed: an optional int folded into the step's key.

    Input shape: any. Output shape: the input's.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.regularization import GaussianNoise
        >>> GaussianNoise(0.1)(np.zeros((1, 2))).tolist()  # inference: identity
        [[0.0, 0.0]]
    """

    _built_at_init = True  # Keras builds it in __init__: no build config
    supports_masking = True

    def __init__(self, stddev: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, (int, float)) or not stddev >= 0:
            raise ValueError(
                f"GaussianNoise stddev must be a number >= 0. Received: stddev={stddev!r}"
            )
        self.stddev = float(stddev)
        self.seed = _check_seed(seed, "GaussianNoise")

    def call(self, inputs, training=None):
        if not training or self.stddev == 0:
            return inputs
        noise = jax.random.normal(_key(self.seed), inputs.shape, self.compute_dtype)
        return inputs + self.stddev * noise

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


# SELU's fixed point (Klambauer et al., 2017, https://arxiv.org/abs/1706.02515).
_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


class AlphaDropout(Layer):
    """Dropout that keeps the mean and variance of SELU activations in training.

    Dropped units are set to SELU's negative saturation value, then an affine map
    restores zero mean and unit variance (Klambauer et al., 2017).

    Args:
        rate: fraction of units to drop, in [0, 1).
        noise_shape: shape of the drop mask, broadcast to the input (``None`` entries
            take the input's size).
        seed: an optional int folded into the step's key.

    Input shape: any. Output shape: the input's.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.regularization import AlphaDropout
        >>> AlphaDropout(0.1)(np.ones((1, 2))).tolist()  # inference: identity
        [[1.0, 1.0]]
    """

    _built_at_init = True  # Keras builds it in __init__: no build config
    supports_masking = True

    def __init__(self, rate: float, noise_shape=None, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _check_rate(rate, "AlphaDropout")
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = _check_seed(seed, "AlphaDropout")

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        shape = inputs.shape
        if self.noise_shape is not None:
            if len(self.noise_shape) != inputs.ndim:
                raise ValueError(
                    f"Layer '{self.name}' (AlphaDropout) has noise_shape={self.noise_shape}, "
                    f"which does not match the rank of its inputs of shape {tuple(shape)}."
                )
            shape = tuple(s if n is None else n for s, n in zip(shape, self.noise_shape))
        kept = jax.random.uniform(_key(self.seed), shape) >= self.rate
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        a = ((1 - self.rate) * (1 + self.rate * alpha_p**2)) ** -0.5
        b = -a * alpha_p * self.rate
        return a * jnp.where(kept, inputs, jnp.asarray(alpha_p, inputs.dtype)) + b

    def get_config(self):
        return {
            **super().get_config(),
            "rate": self.rate,
            "noise_shape": self.noise_shape,
            "seed": self.seed,
        }


class ActivityRegularization(Layer):
    """Adds ``l1 * sum(|x|) + l2 * sum(x ** 2)`` of its inputs, per sample, to the loss.

    The penalty is averaged over the batch, as Keras 3 does for activity
    regularizers; inside ``fit`` the padding rows of the last batch do not count.
    The inputs pass through unchanged.

    Args:
        l1: the L1 factor, >= 0.
        l2: the L2 factor, >= 0.

    Input shape: any. Output shape: the input's.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.regularization import ActivityRegularization
        >>> layer = ActivityRegularization(l1=0.5)
        >>> _ = layer(np.array([[1.0, -3.0], [0.0, 2.0]]))
        >>> float(layer.losses[0])  # 0.5 * (4 + 2) / 2 samples
        1.5
    """

    _built_at_init = True  # Keras builds it in __init__: no build config
    supports_masking = True

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("l1", l1), ("l2", l2)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(
                    f"ActivityRegularization {arg} must be a number >= 0. Received: {arg}={value!r}"
                )
        self.l1 = float(l1)
        self.l2 = float(l2)

    def call(self, inputs):
        x = inputs.astype(jnp.result_type(inputs.dtype, jnp.float32))
        penalty = self.l1 * jnp.abs(x) + self.l2 * jnp.square(x)
        if x.ndim == 0:
            self.add_loss(penalty)
            return inputs
        weights = row_weights(get_sample_mask(), x.shape[0], x.ndim, x.dtype)
        if weights is None:
            self.add_loss(jnp.sum(penalty) / x.shape[0])
        else:
            count = jnp.maximum(jnp.sum(weights), 1.0)
            self.add_loss(jnp.sum(jnp.where(weights > 0, weights * penalty, 0)) / count)
        return inputs

    def get_config(self):
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
