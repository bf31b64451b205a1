"""Activation functions as ops (``keras.ops.nn`` names), over ``jax.nn``."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax.ops._convert import make_unary, to_float, unwrap


def _act(name, jfn, summary, call, out, floats=True):
    return make_unary(name, jfn, summary, call, out, floats=floats)


relu = _act(
    "relu",
    jax.nn.relu,
    "Rectified linear unit ``max(x, 0)``.",
    "ops.relu([-1.0, 2.0])",
    "Array([0., 2.], dtype=float32)",
    floats=False,
)
relu6 = _act(
    "relu6",
    jax.nn.relu6,
    "ReLU capped at 6: ``min(max(x, 0), 6)``.",
    "ops.relu6([-1.0, 8.0])",
    "Array([0., 6.], dtype=float32)",
    floats=False,
)
sigmoid = _act(
    "sigmoid",
    jax.nn.sigmoid,
    "Logistic sigmoid ``1 / (1 + exp(-x))``.",
    "ops.sigmoid([0.0])",
    "Array([0.5], dtype=float32)",
)
softplus = _act(
    "softplus",
    jax.nn.softplus,
    "``log(1 + exp(x))``, computed stably.",
    "ops.softplus([0.0])",
    "Array([0.6931472], dtype=float32)",
)
softsign = _act(
    "softsign",
    jax.nn.soft_sign,
    "``x / (1 + |x|)``.",
    "ops.softsign([1.0])",
    "Array([0.5], dtype=float32)",
)
silu = _act(
    "silu",
    jax.nn.silu,
    "Sigmoid linear unit ``x * sigmoid(x)`` (a.k.a. swish).",
    "ops.silu([0.0])",
    "Array([0.], dtype=float32)",
)
swish = _act(
    "swish",
    jax.nn.silu,
    "Swish ``x * sigmoid(x)`` (same as ``silu``).",
    "ops.swish([0.0])",
    "Array([0.], dtype=float32)",
)
selu = _act(
    "selu",
    jax.nn.selu,
    "Scaled exponential linear unit (Klambauer et al., 2017, arXiv:1706.02515).",
    "ops.selu([0.0])",
    "Array([0.], dtype=float32)",
)
hard_sigmoid = _act(
    "hard_sigmoid",
    jax.nn.hard_sigmoid,
    "Piecewise-linear sigmoid ``relu6(x + 3) / 6``.",
    "ops.hard_sigmoid([0.0])",
    "Array([0.5], dtype=float32)",
)
hard_silu = _act(
    "hard_silu",
    jax.nn.hard_silu,
    "``x * hard_sigmoid(x)`` (MobileNetV3).",
    "ops.hard_silu([3.0])",
    "Array([3.], dtype=float32)",
)
hard_swish = _act(
    "hard_swish",
    jax.nn.hard_silu,
    "``x * hard_sigmoid(x)`` (= ``hard_silu``).",
    "ops.hard_swish([3.0])",
    "Array([3.], dtype=float32)",
)
hard_tanh = _act(
    "hard_tanh",
    jax.nn.hard_tanh,
    "``clip(x, -1, 1)``.",
    "ops.hard_tanh([-2.0, 0.5])",
    "Array([-1. ,  0.5], dtype=float32)",
    floats=False,
)
log_sigmoid = _act(
    "log_sigmoid",
    jax.nn.log_sigmoid,
    "``log(sigmoid(x))``, computed stably.",
    "ops.log_sigmoid([0.0])",
    "Array([-0.6931472], dtype=float32)",
)


# Factory-made ops carry their examples in strings that doctest's module scan would not
# find (their globals are another module's); listing them here keeps them checked.
__test__ = {
    name: fn.__doc__
    for name, fn in list(globals().items())
    if callable(fn) and getattr(fn, "__module__", None) == "kerax.ops"
}


def gelu(x: Any, approximate: bool = True) -> jax.Array:
    """Gaussian error linear unit ``x * Phi(x)`` (Hendrycks & Gimpel, arXiv:1606.08415).

    Args:
        x: input tensor.
        approximate: use the tanh approximation (Keras's default) instead of ``erf``.

    Returns:
        The activation.

    Example:
        >>> from kerax import ops
        >>> ops.gelu([0.0])
        Array([0.], dtype=float32)
    """
    return jax.nn.gelu(to_float(x), approximate=approximate)


def elu(x: Any, alpha: float = 1.0) -> jax.Array:
    """Exponential linear unit: ``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``.

    Args:
        x: input tensor.
        alpha: scale of the negative part.

    Returns:
        The activation.

    Example:
        >>> from kerax import ops
        >>> ops.elu([1.0, 0.0])
        Array([1., 0.], dtype=float32)
    """
    return jax.nn.elu(to_float(x), alpha=alpha)


def celu(x: Any, alpha: float = 1.0) -> jax.Array:
    """Continuously differentiable ELU: ``max(x, 0) + min(alpha * (exp(x/alpha) - 1), 0)``.

    Args:
        x: input tensor.
        alpha: scale of the negative part.

    Returns:
        The activation.

    Example:
        >>> from kerax import ops
        >>> ops.celu([1.0])
        Array([1.], dtype=float32)
    """
    return jax.nn.celu(to_float(x), alpha=alpha)


def leaky_relu(x: Any, negative_slope: float = 0.2) -> jax.Array:
    """Leaky ReLU: ``x`` for ``x >= 0``, else ``negative_slope * x``.

    Args:
        x: input tensor.
        negative_slope: slope for negative inputs (Keras default 0.2).

    Returns:
        The activation.

    Example:
        >>> from kerax import ops
        >>> ops.leaky_relu([-1.0, 1.0])
        Array([-0.2,  1. ], dtype=float32)
    """
    return jax.nn.leaky_relu(to_float(x), negative_slope=negative_slope)


def glu(x: Any, axis: int = -1) -> jax.Array:
    """Gated linear unit: split ``x`` in halves ``a, b`` along ``axis``, ``a * sigmoid(b)``.

    Args:
        x: input tensor; ``axis`` must have even length.
        axis: the axis to split.

    Returns:
        A tensor with ``axis`` halved.

    Raises:
        ValueError: if the axis length is odd.

    Example:
        >>> from kerax import ops
        >>> ops.glu([[1.0, 0.0]])
        Array([[0.5]], dtype=float32)
    """
    x = to_float(x)
    if x.shape[axis] % 2:
        raise ValueError(
            f"glu needs an even length along axis {axis}. Received: x.shape={x.shape}."
        )
    return jax.nn.glu(x, axis=axis)


def softmax(x: Any, axis: int | tuple[int, ...] = -1) -> jax.Array:
    """Softmax ``exp(x) / sum(exp(x))`` over ``axis``, computed stably.

    Args:
        x: input tensor (logits).
        axis: axis or axes to normalize over.

    Returns:
        Probabilities that sum to 1 over ``axis``.

    Example:
        >>> from kerax import ops
        >>> ops.softmax([0.0, 0.0])
        Array([0.5, 0.5], dtype=float32)
    """
    return jax.nn.softmax(to_float(x), axis=axis)


def log_softmax(x: Any, axis: int | tuple[int, ...] = -1) -> jax.Array:
    """``log(softmax(x))`` over ``axis``, computed stably.

    Args:
        x: input tensor (logits).
        axis: axis or axes to normalize over.

    Returns:
        Log-probabilities.

    Example:
        >>> from kerax import ops
        >>> ops.log_softmax([0.0, 0.0])
        Array([-0.6931472, -0.6931472], dtype=float32)
    """
    return jax.nn.log_softmax(to_float(x), axis=axis)


def threshold(x: Any, threshold: float, default_value: float) -> jax.Array:
    """``x`` where ``x > threshold``, else ``default_value``.

    Args:
        x: input tensor.
        threshold: the threshold.
        default_value: value for elements at or below the threshold.

    Returns:
        The thresholded tensor.

    Example:
        >>> from kerax import ops
        >>> ops.threshold([0.5, 2.0], 1.0, 0.0)
        Array([0., 2.], dtype=float32)
    """
    x = unwrap(x)
    return jnp.where(jnp.greater(x, threshold), x, default_value)


__all__ = [
    "celu",
    "elu",
    "gelu",
    "glu",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "leaky_relu",
    "log_sigmoid",
    "log_softmax",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "softsign",
    "swish",
    "threshold",
]
