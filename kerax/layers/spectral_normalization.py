"""``SpectralNormalization``: Keras 3's wrapper that divides a layer's kernel by its
spectral norm, estimated by power iteration (Miyato et al., 2018)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax.layers.base import Layer
from kerax.layers.wrapper import Wrapper


def _l2_normalize(x: jax.Array) -> jax.Array:
    """``x / max(||x||, epsilon)`` over all entries, computed as Keras does (rsqrt)."""
    from kerax import config

    inv_norm = jax.lax.rsqrt(jnp.sum(jnp.square(x), keepdims=True))
    return x * jnp.minimum(inv_norm, 1.0 / config.epsilon())


class SpectralNormalization(Wrapper):
    """Performs spectral normalization on the kernel of a wrapped layer.

    In training (``training=True``) each call runs ``power_iterations`` steps of the
    power method on the kernel reshaped to ``(-1, kernel.shape[-1])``, starting from
    the non-trainable ``vector_u`` of shape ``(1, kernel.shape[-1])``; it stores the
    new ``vector_u`` and calls the wrapped layer with ``kernel / sigma``, where
    ``sigma = v W u^T`` (``u`` and ``v`` carry no gradient; ``W`` does). A kernel that
    is all zeros is left as it is. In inference the wrapped layer runs unchanged.

    As in Keras on JAX, where the normalized kernel ends up depends on how the layer
    is called:

    - an eager training call (``layer(x, training=True)`` outside ``fit``/``apply``)
      writes ``kernel / sigma`` into the wrapped layer's kernel, so later inference
      calls use the normalized kernel;
    - in ``fit`` and ``Model.apply`` only non-trainable state is carried out of a
      step: the new ``vector_u`` is kept, the normalized kernel is used for that
      step's forward pass only, and the optimizer updates the raw kernel with the
      gradient taken through ``kernel / sigma`` (Keras's JAX trainer drops the
      assignment to a trainable variable the same way). Inference after ``fit`` thus
      uses the raw kernel, exactly as in Keras.

    Args:
        layer: a layer with a ``kernel`` (``Dense``, ``Conv2D``, ...) or an
            ``embeddings`` (``Embedding``) weight.
        power_iterations: the number of power-method steps per training call (>= 1).

    The wrapped kernel is also tracked as a weight of this wrapper (as Keras's
    attribute tracking does), so ``weights`` reads ``[kernel, vector_u, ...the rest
    of the wrapped layer's weights]`` and weight files have Keras's layout.

    Example:
        >>> import numpy as np
        >>> import kerax as keras
        >>> sn = keras.layers.SpectralNormalization(keras.layers.Dense(10))
        >>> sn(np.ones((1, 10, 10, 1))).shape
        (1, 10, 10, 10)
    """

    def __init__(self, layer: Layer, power_iterations: int = 1, **kwargs):
        super().__init__(layer, **kwargs)
        if power_iterations <= 0:
            raise ValueError(
                "`power_iterations` should be greater than zero. Received: "
                f"`power_iterations={power_iterations}`"
            )
        self.power_iterations = int(power_iterations)

    def _kernel_attr(self) -> str:
        for attr in ("kernel", "embeddings"):
            if attr in self.layer.__dict__.get("_var_attrs", {}):
                return attr
        raise ValueError(
            f"{type(self.layer).__name__} object has no attribute 'kernel' nor 'embeddings'"
        )

    def build(self, input_shape: Any) -> None:
        if not self.layer.built:
            self.layer.build(input_shape)
            self.layer.built = True
        kernel = self.layer.__dict__["_var_attrs"][self._kernel_attr()]  # the handle
        # Keras's attribute tracking makes the wrapped kernel a weight of the wrapper too
        # (first in its own trainable weights): mirror it for weight order and files.
        if all(kernel is not v for v in self._own_variables):
            self._own_variables.append(kernel)
            self._created_trainable.append(kernel)
        self.kernel_shape = tuple(kernel.shape)
        from kerax import initializers

        self.vector_u = self.add_weight(
            shape=(1, self.kernel_shape[-1]),
            initializer=initializers.TruncatedNormal(stddev=0.02),
            trainable=False,
            name="vector_u",
            dtype=kernel.dtype,
        )

    def normalized_weights(self) -> tuple[jax.Array, jax.Array]:
        """``(new vector_u, kernel / sigma)`` for the current kernel and ``vector_u``."""
        attr = self._kernel_attr()
        kernel = getattr(self.layer, attr)
        weights = jnp.reshape(kernel, (-1, self.kernel_shape[-1]))
        u = self.vector_u
        v = None
        for _ in range(self.power_iterations):
            v = _l2_normalize(jnp.matmul(u, weights.T))
            u = _l2_normalize(jnp.matmul(v, weights))
        u = jax.lax.stop_gradient(u)
        v = jax.lax.stop_gradient(v)
        sigma = jnp.matmul(jnp.matmul(v, weights), u.T)
        all_zero = jnp.all(kernel == 0)
        # Keras skips the update for an all-zero kernel (ops.cond); a select with a safe
        # divisor gives the same values and keeps the gradient finite.
        safe_sigma = jnp.where(all_zero, jnp.ones_like(sigma), sigma)
        new_kernel = jnp.reshape(weights / safe_sigma, self.kernel_shape)
        new_u = jnp.where(all_zero, self.vector_u, u.astype(self.vector_u.dtype))
        new_kernel = jnp.where(all_zero, kernel, new_kernel.astype(kernel.dtype))
        return new_u, new_kernel

    def call(self, inputs, training=False):
        if training:
            new_u, new_kernel = self.normalized_weights()
            self.vector_u = new_u
            setattr(self.layer, self._kernel_attr(), new_kernel)
        outputs = self.layer(inputs)
        return jax.tree_util.tree_map(lambda y: y.astype(inputs.dtype), outputs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return self.layer.compute_output_shape(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "power_iterations": self.power_iterations}
