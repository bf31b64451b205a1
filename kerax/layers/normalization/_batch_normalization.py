"""BatchNormalization (Ioffe and Szegedy, 2015, https://arxiv.org/abs/1502.03167), with
optional batch renormalization (Ioffe, 2017, https://arxiv.org/abs/1702.03275).

The moving statistics are non-trainable weights; a training call rebinds them
(``self.moving_mean = ...``), which ``apply`` returns as state and ``fit`` carries from
step to step. Batch statistics skip the positions a Keras mask hides and the padding
rows of ``fit``'s last batch (see ``kerax.layers._sample_mask``).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax import config, constraints, initializers, regularizers
from kerax._variable import Variable, call_initializer
from kerax.layers._sample_mask import get_sample_mask, row_weights
from kerax.layers.base import Layer
from kerax.layers.normalization._common import resolve_axes, standardize_axis

_CLIPPING_KEYS = ("rmax", "rmin", "dmax")


def _check_clipping(clipping: Any) -> dict:
    clipping = dict(clipping or {})
    unknown = set(clipping) - set(_CLIPPING_KEYS)
    if unknown:
        raise ValueError(
            f"BatchNormalization renorm_clipping accepts the keys {list(_CLIPPING_KEYS)}. "
            f"Received: renorm_clipping={clipping!r}"
        )
    rmax, rmin, dmax = (clipping.get(k) for k in _CLIPPING_KEYS)
    if rmax is not None and rmin is not None and rmax < rmin:
        raise ValueError(
            "BatchNormalization renorm_clipping needs rmax >= rmin. "
            f"Received: rmax={rmax}, rmin={rmin}"
        )
    if dmax is not None and dmax < 0:
        raise ValueError(
            f"BatchNormalization renorm_clipping needs dmax >= 0. Received: dmax={dmax}"
        )
    return clipping


class BatchNormalization(Layer):
    """Normalizes each feature with batch statistics in training, moving ones otherwise.

    Training (``fit``, or ``training=True``): ``gamma * (x - mean) / sqrt(var + epsilon)
    + beta`` with the mean and variance of the batch over every axis but ``axis``, and
    the moving statistics become ``moving * momentum + batch * (1 - momentum)``.
    Inference: the same formula with the moving statistics. A frozen layer
    (``trainable = False``) always runs in inference mode, as in Keras.

    Args:
        axis: the feature axis (e.g. ``1`` for channels-first images).
        momentum: of the moving averages.
        epsilon: added to the variance.
        center, scale: whether to learn the offset ``beta`` and the factor ``gamma``.
        beta_initializer, gamma_initializer, moving_mean_initializer,
            moving_variance_initializer: initializers (Keras defaults).
        beta_regularizer, gamma_regularizer: penalties added to the loss.
        beta_constraint, gamma_constraint: projections after each update.
        renorm: use batch renormalization in training (adds the non-trainable weights
            ``moving_stddev``, ``renorm_mean`` and ``renorm_stddev``).
        renorm_clipping: ``{"rmax": ..., "rmin": ..., "dmax": ...}`` bounds of the renorm
            correction ``(r, d)``.
        renorm_momentum: of the renorm statistics.
        synchronized: accepted for Keras compatibility. Under ``jax.sharding`` the batch
            statistics are always those of the global batch, whatever its layout.

    Call arguments: ``inputs``; ``training``; ``mask`` (rank one less than the inputs,
    ``True`` where a position counts in the batch statistics).

    Input shape: any, with a known size on ``axis``. Output shape: the input's.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.normalization import BatchNormalization
        >>> layer = BatchNormalization()
        >>> y = layer(np.array([[0.0, 1.0], [2.0, 3.0]]), training=True)
        >>> [round(float(v), 4) for v in np.asarray(layer.moving_mean)]
        [0.01, 0.02]
    """

    supports_masking = True

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        moving_mean_initializer: Any = "zeros",
        moving_variance_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        renorm: bool = False,
        renorm_clipping: dict | None = None,
        renorm_momentum: float = 0.99,
        synchronized: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.axis = standardize_axis(axis, "BatchNormalization", allow_list=False)
        for arg, value in (("momentum", momentum), ("renorm_momentum", renorm_momentum)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(
                    f"BatchNormalization {arg} must be in [0, 1]. Received: {arg}={value!r}"
                )
        if not epsilon >= 0:
            raise ValueError(f"BatchNormalization epsilon must be >= 0. Received: {epsilon!r}")
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.renorm = bool(renorm)
        self.renorm_clipping = _check_clipping(renorm_clipping) if renorm else renorm_clipping
        self.renorm_momentum = float(renorm_momentum)
        self.synchronized = bool(synchronized)

    def _read(self, v: Any) -> Any:
        # Keras creates every weight of this layer with autocast=False: under mixed
        # precision the statistics stay float32, or each update would round the moving
        # averages to float16.
        return v.value if isinstance(v, Variable) else v

    def build(self, input_shape):
        (self._axis,) = resolve_axes(self, self.axis, input_shape)
        self._ndim = len(input_shape)
        shape = (input_shape[self._axis],)
        if self.scale:
            self.gamma = self.add_weight(
                shape=shape,
                initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
                name="gamma",
            )
        if self.center:
            self.beta = self.add_weight(
                shape=shape,
                initializer=self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
                name="beta",
            )
        for name, init in (
            ("moving_mean", self.moving_mean_initializer),
            ("moving_variance", self.moving_variance_initializer),
        ):
            setattr(self, name, self.add_weight(shape, init, trainable=False, name=name))
        if self.renorm:
            variance_init = self.moving_variance_initializer

            def stddev_init(shape, dtype=None, key=None):
                return jnp.sqrt(call_initializer(variance_init, tuple(shape), dtype, key))

            for name, init in (
                ("moving_stddev", stddev_init),
                ("renorm_mean", self.moving_mean_initializer),
                ("renorm_stddev", stddev_init),
            ):
                setattr(self, name, self.add_weight(shape, init, trainable=False, name=name))
        self.built = True

    def _check_inputs(self, inputs, mask):
        if inputs.ndim != self._ndim or inputs.shape[self._axis] != self.moving_mean.shape[0]:
            expected = ["?"] * self._ndim
            expected[self._axis] = self.moving_mean.shape[0]
            raise ValueError(
                f"Layer '{self.name}' (BatchNormalization) expects inputs of rank "
                f"{self._ndim} with size {self.moving_mean.shape[0]} on axis {self._axis} "
                f"(shape ({', '.join(map(str, expected))})), received shape "
                f"{tuple(inputs.shape)}."
            )
        if mask is not None and jnp.ndim(mask) != inputs.ndim - 1:
            raise ValueError(
                f"Layer '{self.name}' (BatchNormalization) needs a mask of rank one less than "
                f"its inputs. Received: mask.shape={tuple(jnp.shape(mask))}, "
                f"inputs.shape={tuple(inputs.shape)}"
            )

    def _moments(self, x: jax.Array, mask: Any) -> tuple[jax.Array, jax.Array]:
        axes = tuple(i for i in range(x.ndim) if i != self._axis)
        weights = row_weights(get_sample_mask(), x.shape[0], x.ndim, x.dtype)
        if mask is not None:
            # The mask covers every axis but the features; it weighs all of them alike.
            mask = jnp.expand_dims(jnp.asarray(mask).astype(x.dtype), self._axis)
            weights = mask if weights is None else mask * weights
        if weights is None:
            return jnp.mean(x, axis=axes), jnp.var(x, axis=axes)
        weights = jnp.broadcast_to(weights, x.shape)
        keep = weights > 0
        # Keras's masked moments add backend.epsilon() to the count (an all-masked batch
        # gives zeros, not NaN); ``where`` keeps NaN/inf in hidden positions out.
        count = jnp.sum(weights, axis=axes, keepdims=True) + config.epsilon()
        mean = jnp.sum(jnp.where(keep, weights * x, 0), axis=axes, keepdims=True) / count
        sq = jnp.where(keep, weights * jnp.square(x - mean), 0)
        variance = jnp.sum(sq, axis=axes, keepdims=True) / count
        return jnp.reshape(mean, (-1,)), jnp.reshape(variance, (-1,))

    def _renorm_transform(self, mean, variance, gamma, beta, dtype):
        """The renorm correction folded into ``gamma``/``beta``; updates the renorm state."""
        stddev = jnp.sqrt(variance + self.epsilon)
        renorm_mean = self.renorm_mean.astype(dtype)
        renorm_stddev = self.renorm_stddev.astype(dtype)
        floor = jnp.maximum(renorm_stddev, jnp.sqrt(jnp.asarray(self.epsilon, dtype)))
        r, d = stddev / floor, (mean - renorm_mean) / floor
        rmin, rmax, dmax = (self.renorm_clipping.get(k) for k in ("rmin", "rmax", "dmax"))
        if rmin is not None:
            r = jnp.maximum(r, rmin)
        if rmax is not None:
            r = jnp.minimum(r, rmax)
        if dmax is not None:
            d = jnp.clip(d, -dmax, dmax)
        # r and d correct the statistics; gradients flow through the batch moments only.
        r, d = jax.lax.stop_gradient(r), jax.lax.stop_gradient(d)
        new_gamma = r if gamma is None else r * gamma
        new_beta = d if gamma is None else d * gamma
        if beta is not None:
            new_beta = new_beta + beta

        m, rm = self.momentum, self.renorm_momentum
        self.renorm_mean = renorm_mean * rm + mean * (1.0 - rm)
        self.renorm_stddev = renorm_stddev * rm + stddev * (1.0 - rm)
        moving_stddev = self.moving_stddev.astype(dtype) * m + stddev * (1.0 - m)
        self.moving_stddev = moving_stddev
        self.moving_variance = jax.nn.relu(jnp.square(moving_stddev) - self.epsilon)
        return new_gamma, new_beta

    def call(self, inputs, training=None, mask=None):
        self._check_inputs(inputs, mask)
        dtype = jnp.result_type(inputs.dtype, jnp.float32)
        x = inputs.astype(dtype)
        gamma = self.gamma.astype(dtype) if self.scale else None
        beta = self.beta.astype(dtype) if self.center else None
        moving_mean = self.moving_mean.astype(dtype)
        moving_variance = self.moving_variance.astype(dtype)
        if training and self.trainable:
            mean, variance = self._moments(x, mask)
            m = self.momentum
            if self.renorm:
                gamma, beta = self._renorm_transform(mean, variance, gamma, beta, dtype)
            else:
                self.moving_variance = moving_variance * m + variance * (1.0 - m)
            self.moving_mean = moving_mean * m + mean * (1.0 - m)
        else:
            mean, variance = moving_mean, moving_variance
        shape = [1] * x.ndim
        shape[self._axis] = -1
        inv = jax.lax.rsqrt(variance + self.epsilon)
        if gamma is not None:
            inv = inv * gamma
        offset = -mean * inv
        if beta is not None:
            offset = offset + beta
        outputs = x * jnp.reshape(inv, shape) + jnp.reshape(offset, shape)
        return outputs.astype(self.compute_dtype)

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
            "synchronized": self.synchronized,
            "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
        }
