"""Activation functions with Keras 3's names, signatures and defaults.

Each is a pure ``jax.numpy`` function of an array ``x`` that returns an array of
``x``'s shape (``glu`` halves one axis): jit-, grad- and vmap-compatible, with Python
control flow only on its static keyword arguments. Layers take them by name
(``Dense(64, activation="relu")``) through :func:`get` and save them by name through
:func:`serialize`.

Example:
    >>> import jax.numpy as jnp
    >>> from kerax import activations
    >>> activations.get("relu")(jnp.array([-1.0, 2.0])).tolist()
    [0.0, 2.0]
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from kerax import _serialization


def relu(
    x: ArrayLike,
    negative_slope: float = 0.0,
    max_value: float | None = None,
    threshold: float = 0.0,
) -> jax.Array:
    """Rectified linear unit, optionally leaky, capped, or shifted.

    ``x`` above ``threshold`` passes (capped at ``max_value``); below it the output is
    ``negative_slope * (x - threshold)``.

    Args:
        x: input array.
        negative_slope: slope below the threshold.
        max_value: upper cap on the output, or ``None`` for none.
        threshold: values above it pass, values below it are damped.

    Returns:
        An array of ``x``'s shape.

    Example:
        >>> relu(jnp.array([-2.0, 1.0, 8.0]), negative_slope=0.5, max_value=6.0).tolist()
        [-1.0, 1.0, 6.0]
    """
    x = jnp.asarray(x)
    # jax.nn.relu keeps NaNs and has the conventional zero gradient at 0; the
    # thresholded form needs a select.
    out = jax.nn.relu(x) if threshold == 0 else jnp.where(x > threshold, x, 0).astype(x.dtype)
    if max_value is not None:
        out = jnp.minimum(out, jnp.asarray(max_value, x.dtype))
    if negative_slope != 0.0:
        out = out - negative_slope * jnp.maximum(threshold - x, 0)
    return out.astype(x.dtype)


def leaky_relu(x: ArrayLike, negative_slope: float = 0.2) -> jax.Array:
    """``x`` for ``x >= 0``, ``negative_slope * x`` otherwise.

    >>> leaky_relu(jnp.array([-1.0, 1.0])).tolist()
    [-0.20000000298023224, 1.0]
    """
    return jax.nn.leaky_relu(x, negative_slope=negative_slope)


def relu6(x: ArrayLike) -> jax.Array:
    """ReLU capped at 6: ``min(max(x, 0), 6)``.

    >>> relu6(jnp.array([-1.0, 7.0])).tolist()
    [0.0, 6.0]
    """
    return jax.nn.relu6(x)


def sigmoid(x: ArrayLike) -> jax.Array:
    """``1 / (1 + exp(-x))``.

    >>> sigmoid(jnp.array([0.0])).tolist()
    [0.5]
    """
    return jax.nn.sigmoid(x)


def softmax(x: ArrayLike, axis: int | tuple[int, ...] = -1) -> jax.Array:
    """``exp(x) / sum(exp(x))`` along ``axis``: a probability distribution.

    Args:
        x: input logits.
        axis: the axis (or axes) that sum to one.

    Example:
        >>> softmax(jnp.array([0.0, 0.0])).tolist()
        [0.5, 0.5]
    """
    return jax.nn.softmax(x, axis=axis)


def log_softmax(x: ArrayLike, axis: int | tuple[int, ...] = -1) -> jax.Array:
    """``log(softmax(x))``, computed stably.

    >>> round(float(log_softmax(jnp.array([0.0, 0.0]))[0]), 4)
    -0.6931
    """
    return jax.nn.log_softmax(x, axis=axis)


def tanh(x: ArrayLike) -> jax.Array:
    """Hyperbolic tangent.

    >>> tanh(jnp.array([0.0])).tolist()
    [0.0]
    """
    return jnp.tanh(x)


def gelu(x: ArrayLike, approximate: bool = False) -> jax.Array:
    """Gaussian error linear unit, ``x * P(X <= x)`` (Hendrycks & Gimpel, 2016).

    Args:
        x: input array.
        approximate: use the tanh approximation instead of the exact erf form.

    Example:
        >>> round(float(gelu(jnp.array(1.0))), 4)
        0.8413
    """
    return jax.nn.gelu(x, approximate=approximate)


def silu(x: ArrayLike) -> jax.Array:
    """Sigmoid linear unit (swish): ``x * sigmoid(x)`` (Ramachandran et al., 2017).

    >>> silu(jnp.array([0.0])).tolist()
    [0.0]
    """
    return jax.nn.silu(x)


swish = silu


def elu(x: ArrayLike, alpha: float = 1.0) -> jax.Array:
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise.

    >>> elu(jnp.array([0.0, 2.0])).tolist()
    [0.0, 2.0]
    """
    return jax.nn.elu(x, alpha=alpha)


def selu(x: ArrayLike) -> jax.Array:
    """Scaled ELU with the self-normalizing constants (Klambauer et al., 2017).

    >>> round(float(selu(jnp.array(1.0))), 4)
    1.0507
    """
    return jax.nn.selu(x)


def softplus(x: ArrayLike) -> jax.Array:
    """``log(exp(x) + 1)``, computed stably.

    >>> round(float(softplus(jnp.array(0.0))), 4)
    0.6931
    """
    return jax.nn.softplus(x)


def softsign(x: ArrayLike) -> jax.Array:
    """``x / (abs(x) + 1)``.

    >>> softsign(jnp.array([1.0])).tolist()
    [0.5]
    """
    return jax.nn.soft_sign(x)


def hard_sigmoid(x: ArrayLike) -> jax.Array:
    """Piecewise-linear sigmoid, Keras 3's form: ``relu6(x + 3) / 6``.

    >>> hard_sigmoid(jnp.array([-4.0, 0.0, 4.0])).tolist()
    [0.0, 0.5, 1.0]
    """
    return jax.nn.hard_sigmoid(x)


def hard_silu(x: ArrayLike) -> jax.Array:
    """Hard swish: ``x * relu6(x + 3) / 6`` (Howard et al., 2019).

    >>> hard_silu(jnp.array([-4.0, 4.0])).tolist()
    [-0.0, 4.0]
    """
    return jax.nn.hard_silu(x)


hard_swish = hard_silu


def hard_tanh(x: ArrayLike) -> jax.Array:
    """``clip(x, -1, 1)``.

    >>> hard_tanh(jnp.array([-3.0, 0.5])).tolist()
    [-1.0, 0.5]
    """
    return jax.nn.hard_tanh(x)


def exponential(x: ArrayLike) -> jax.Array:
    """``exp(x)``.

    >>> exponential(jnp.array([0.0])).tolist()
    [1.0]
    """
    return jnp.exp(x)


def linear(x: ArrayLike) -> ArrayLike:
    """The identity: returns ``x`` unchanged (the activation of ``activation=None``).

    >>> linear(3.0)
    3.0
    """
    return x


def mish(x: ArrayLike) -> jax.Array:
    """``x * tanh(softplus(x))`` (Misra, 2019).

    >>> mish(jnp.array([0.0])).tolist()
    [0.0]
    """
    return x * jnp.tanh(jax.nn.softplus(x))


def celu(x: ArrayLike, alpha: float = 1.0) -> jax.Array:
    """Continuously differentiable ELU: ``x`` for ``x >= 0``, else ``alpha*(exp(x/alpha)-1)``.

    >>> celu(jnp.array([0.0, 1.0])).tolist()
    [0.0, 1.0]
    """
    return jax.nn.celu(x, alpha=alpha)


def glu(x: ArrayLike, axis: int = -1) -> jax.Array:
    """Gated linear unit: splits ``axis`` into halves ``a, b`` and returns ``a * sigmoid(b)``.

    Raises:
        ValueError: if ``axis`` has odd length.

    Example:
        >>> glu(jnp.array([2.0, 0.0])).tolist()
        [1.0]
    """
    x = jnp.asarray(x)
    if x.shape[axis] % 2:
        raise ValueError(
            f"glu splits axis {axis} into two halves, so its length must be even. "
            f"Received: x.shape={x.shape}"
        )
    return jax.nn.glu(x, axis=axis)


def log_sigmoid(x: ArrayLike) -> jax.Array:
    """``log(sigmoid(x))``, computed stably.

    >>> round(float(log_sigmoid(jnp.array(0.0))), 4)
    -0.6931
    """
    return jax.nn.log_sigmoid(x)


def tanh_shrink(x: ArrayLike) -> jax.Array:
    """``x - tanh(x)``.

    >>> tanh_shrink(jnp.array([0.0])).tolist()
    [0.0]
    """
    return x - jnp.tanh(x)


def soft_shrink(x: ArrayLike, threshold: float = 0.5) -> jax.Array:
    """Moves ``x`` toward zero by ``threshold``, to zero inside ``[-threshold, threshold]``.

    >>> soft_shrink(jnp.array([-2.0, 0.25, 2.0])).tolist()
    [-1.5, 0.0, 1.5]
    """
    x = jnp.asarray(x)
    return jnp.where(jnp.abs(x) > threshold, x - jnp.sign(x) * threshold, 0).astype(x.dtype)


def hard_shrink(x: ArrayLike, threshold: float = 0.5) -> jax.Array:
    """``x`` where ``|x| > threshold``, zero elsewhere.

    >>> hard_shrink(jnp.array([-2.0, 0.25])).tolist()
    [-2.0, 0.0]
    """
    x = jnp.asarray(x)
    return jnp.where(jnp.abs(x) > threshold, x, 0).astype(x.dtype)


def threshold(x: ArrayLike, threshold: float, default_value: float) -> jax.Array:
    """``x`` where ``x > threshold``, ``default_value`` elsewhere.

    >>> threshold(jnp.array([-1.0, 2.0]), 0.0, -5.0).tolist()
    [-5.0, 2.0]
    """
    x = jnp.asarray(x)
    return jnp.where(x > threshold, x, default_value).astype(x.dtype)


def squareplus(x: ArrayLike, b: float = 4) -> jax.Array:
    """``(x + sqrt(x**2 + b)) / 2``, a smooth ReLU (Barron, 2021).

    >>> squareplus(jnp.array([0.0])).tolist()
    [1.0]
    """
    return jax.nn.squareplus(x, b=b)


def sparse_plus(x: ArrayLike) -> jax.Array:
    """0 below -1, ``(x + 1)**2 / 4`` on ``[-1, 1]``, ``x`` above 1.

    >>> sparse_plus(jnp.array([-2.0, 0.0, 2.0])).tolist()
    [0.0, 0.25, 2.0]
    """
    return jax.nn.sparse_plus(x)


def sparse_sigmoid(x: ArrayLike) -> jax.Array:
    """0 below -1, ``(x + 1) / 2`` on ``[-1, 1]``, 1 above 1.

    >>> sparse_sigmoid(jnp.array([-2.0, 0.0, 2.0])).tolist()
    [0.0, 0.5, 1.0]
    """
    return jax.nn.sparse_sigmoid(x)


def sparsemax(x: ArrayLike, axis: int = -1) -> jax.Array:
    """Euclidean projection onto the simplex: a softmax with exact zeros.

    From Martins & Astudillo, "From Softmax to Sparsemax" (2016).

    Example:
        >>> sparsemax(jnp.array([2.0, 0.0])).tolist()
        [1.0, 0.0]
    """
    x = jnp.asarray(x)
    z = jnp.moveaxis(x, axis, -1)
    z_sorted = -jnp.sort(-z, axis=-1)
    cumsum = jnp.cumsum(z_sorted, axis=-1)
    k = jnp.arange(1, z.shape[-1] + 1, dtype=z.dtype)
    # The support is the prefix of sorted entries with 1 + k*z_(k) > sum_{j<=k} z_(j).
    support = 1 + k * z_sorted > cumsum
    size = jnp.sum(support, axis=-1, keepdims=True)
    tau = (jnp.sum(jnp.where(support, z_sorted, 0), axis=-1, keepdims=True) - 1) / size
    return jnp.moveaxis(jnp.maximum(z - tau, 0), -1, axis)


_FUNCTIONS = [
    relu,
    leaky_relu,
    relu6,
    sigmoid,
    softmax,
    log_softmax,
    tanh,
    gelu,
    silu,
    elu,
    selu,
    softplus,
    softsign,
    hard_sigmoid,
    hard_silu,
    hard_tanh,
    exponential,
    linear,
    mish,
    celu,
    glu,
    log_sigmoid,
    tanh_shrink,
    soft_shrink,
    hard_shrink,
    threshold,
    squareplus,
    sparse_plus,
    sparse_sigmoid,
    sparsemax,
]
_TABLE: dict[str, Callable] = {fn.__name__: fn for fn in _FUNCTIONS}
_TABLE.update(swish=silu, hard_swish=hard_silu)
_NAMES: dict[Callable, str] = {fn: fn.__name__ for fn in _FUNCTIONS}


def get(identifier: str | dict | Callable | None) -> Callable:
    """Resolve an activation given by name, config, or function.

    Args:
        identifier: ``None`` (linear), a Keras name (``"relu"``), a registered name
            (``"package>name"``), a Keras config dict, or a callable.

    Returns:
        The activation function.

    Raises:
        ValueError: for an unknown name (the message lists the valid ones).
        TypeError: for any other kind of identifier.

    Example:
        >>> get("swish") is silu
        True
    """
    if identifier is None:
        return linear
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(
        "An activation must be a name such as 'relu', a config dict, a callable, or None. "
        f"Received: activation={identifier!r} of type {type(identifier).__name__}"
    )


def serialize(activation: Callable) -> str | dict:
    """The name Keras saves an activation under.

    Args:
        activation: a built-in activation, a registered custom function, or a
            registered callable object with ``get_config``.

    Returns:
        The Keras name (``"relu"``; aliases give the canonical name, ``swish`` ->
        ``"silu"``), the registered name (``"package>name"``) of a custom function,
        or a config dict for a registered callable object.

    Raises:
        ValueError: for a custom function that is not registered.

    Example:
        >>> serialize(swish)
        'silu'
    """
    name = _NAMES.get(activation) if isinstance(activation, types.FunctionType) else None
    if name is None:
        name = _serialization.registered_name(activation)
    if name is not None:
        return name
    if _serialization.registered_name(type(activation)) is not None:
        return _serialization.serialize_keras_object(activation, "keras.activations", {})
    raise ValueError(
        f"Cannot serialize the activation {activation!r}: it is not a built-in activation "
        f"({', '.join(sorted(_TABLE))}) nor a registered one. Decorate it with "
        "@keras.saving.register_keras_serializable(), and pass it in custom_objects "
        "when loading if needed."
    )


def deserialize(config: str | dict, custom_objects: dict[str, Any] | None = None) -> Callable:
    """The activation a name or Keras config dict refers to.

    Args:
        config: a Keras name, a registered name, or a Keras config dict (including
            ``{"class_name": "function", "config": "relu", ...}``).
        custom_objects: extra activations by name, checked first.

    Returns:
        The activation function (or callable object).

    Raises:
        ValueError: for an unknown name (the message lists the valid ones).

    Example:
        >>> deserialize("relu") is relu
        True
    """
    return _serialization.deserialize_keras_object(
        config, _TABLE, custom_objects, kind="activation"
    )


__all__ = [fn.__name__ for fn in _FUNCTIONS] + [
    "swish",
    "hard_swish",
    "get",
    "serialize",
    "deserialize",
]
