"""``keras.ops.nn``: activations, encodings, losses, normalization and attention.

Convolution and pooling live with the layers that use them.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from kerax import config
from kerax.ops._activations import *  # noqa: F403
from kerax.ops._activations import __all__ as _activations_all
from kerax.ops._convert import standardize_dtype, to_float, unwrap
from kerax.ops._nn_extra import *  # noqa: F403
from kerax.ops._nn_extra import __all__ as _nn_extra_all
from kerax.ops._normalization import *  # noqa: F403
from kerax.ops._normalization import __all__ as _normalization_all


def one_hot(
    x: Any, num_classes: int, axis: int = -1, dtype: Any = None, sparse: bool = False
) -> jax.Array:
    """One-hot encode integer labels; out-of-range labels give all-zero vectors.

    Args:
        x: integer tensor of labels.
        num_classes: length of the new axis.
        axis: where the new axis goes.
        dtype: result dtype; ``floatx()`` when ``None``.
        sparse: only ``False``: kerax tensors are dense.

    Returns:
        A tensor with one more axis.

    Raises:
        ValueError: if ``sparse=True``.

    Example:
        >>> from kerax import ops
        >>> ops.one_hot([0, 2], 3).tolist()
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    if sparse:
        raise ValueError(
            "kerax has no sparse tensors. Received: sparse=True. "
            "Use the dense result (sparse=False)."
        )
    dtype = standardize_dtype(dtype) or config.floatx()
    return jax.nn.one_hot(jnp.asarray(unwrap(x)), int(num_classes), axis=axis, dtype=dtype)


def multi_hot(
    inputs: Any,
    num_classes: int | None = None,
    axis: int = -1,
    dtype: Any = None,
    sparse: bool = False,
    **kwargs: Any,
) -> jax.Array:
    """Encode each row of integer labels as one vector with 1 at every label it holds.

    Args:
        inputs: integer labels, ``(batch, n)`` or ``(n,)``.
        num_classes: the encoding length (``num_tokens`` is accepted as an old alias).
        axis: where the class axis goes.
        dtype: result dtype; ``floatx()`` when ``None``.
        sparse: only ``False``.

    Returns:
        ``(batch, num_classes)`` or ``(num_classes,)``.

    Raises:
        ValueError: if ``num_classes`` is missing or ``sparse=True``.
        TypeError: for an unknown keyword argument.

    Example:
        >>> from kerax import ops
        >>> ops.multi_hot([[0, 2], [1, 1]], 3).tolist()
        [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    if "num_tokens" in kwargs:
        num_classes = kwargs.pop("num_tokens")
    if kwargs:
        raise TypeError(f"multi_hot got unexpected keyword arguments {sorted(kwargs)}.")
    if num_classes is None:
        raise ValueError("multi_hot needs num_classes. Received: num_classes=None.")
    x = jnp.asarray(unwrap(inputs)).astype("int32")
    encoded = one_hot(x, num_classes, axis=axis, dtype=dtype, sparse=sparse)
    return jnp.max(encoded, axis=1 if x.ndim > 1 else 0)


def _check_same_shape(target, output):
    if target.shape != output.shape:
        raise ValueError(
            "target and output must have the same shape. "
            f"Received: target.shape={target.shape}, output.shape={output.shape}."
        )


def _log_probs(output, from_logits, axis):
    if from_logits:
        return jax.nn.log_softmax(output, axis=axis)
    # Probabilities are renormalized and clipped as Keras does, so that log never sees 0.
    output = output / jnp.sum(output, axis=axis, keepdims=True)
    eps = config.epsilon()
    return jnp.log(jnp.clip(output, eps, 1.0 - eps))


def binary_crossentropy(target: Any, output: Any, from_logits: bool = False) -> jax.Array:
    """Element-wise binary cross-entropy between labels and predictions.

    Args:
        target: labels in ``[0, 1]``.
        output: probabilities (clipped to ``[eps, 1 - eps]``) or logits.
        from_logits: whether ``output`` holds logits.

    Returns:
        The loss, same shape as the inputs (not reduced).

    Raises:
        ValueError: if the shapes differ.

    Example:
        >>> from kerax import ops
        >>> ops.binary_crossentropy([1.0], [0.5])
        Array([0.6931472], dtype=float32)
    """
    target, output = to_float(target), to_float(output)
    _check_same_shape(target, output)
    if from_logits:
        return -(target * jax.nn.log_sigmoid(output) + (1.0 - target) * jax.nn.log_sigmoid(-output))
    eps = config.epsilon()
    output = jnp.clip(output, eps, 1.0 - eps)
    return -(target * jnp.log(output) + (1.0 - target) * jnp.log(1.0 - output))


def categorical_crossentropy(
    target: Any, output: Any, from_logits: bool = False, axis: int = -1
) -> jax.Array:
    """Cross-entropy between one-hot (or soft) labels and predicted distributions.

    Args:
        target: label distributions.
        output: probabilities (renormalized over ``axis``) or logits.
        from_logits: whether ``output`` holds logits.
        axis: the class axis.

    Returns:
        The loss with ``axis`` reduced.

    Raises:
        ValueError: if the shapes differ or the inputs are scalars.

    Example:
        >>> from kerax import ops
        >>> ops.categorical_crossentropy([[0.0, 1.0]], [[0.5, 0.5]])
        Array([0.6931472], dtype=float32)
    """
    target, output = to_float(target), to_float(output)
    _check_same_shape(target, output)
    if target.ndim < 1:
        raise ValueError(
            f"target and output must be at least rank 1. Received: shape={target.shape}."
        )
    return -jnp.sum(target * _log_probs(output, from_logits, axis), axis=axis)


def sparse_categorical_crossentropy(
    target: Any, output: Any, from_logits: bool = False, axis: int = -1
) -> jax.Array:
    """Cross-entropy between integer labels and predicted distributions.

    Args:
        target: integer labels, shape ``output.shape[:-1]`` (a trailing 1 is squeezed).
        output: probabilities (renormalized over ``axis``) or logits.
        from_logits: whether ``output`` holds logits.
        axis: the class axis.

    Returns:
        The loss, shape of ``target``.

    Raises:
        ValueError: if the shapes do not match.

    Example:
        >>> from kerax import ops
        >>> ops.sparse_categorical_crossentropy([1], [[0.5, 0.5]])
        Array([0.6931472], dtype=float32)
    """
    target = jnp.asarray(unwrap(target)).astype("int32")
    output = to_float(output)
    if target.ndim == output.ndim and target.shape[-1] == 1:
        target = jnp.squeeze(target, axis=-1)
    if output.ndim < 1 or target.shape != output.shape[:-1]:
        raise ValueError(
            "target must have the shape of output without its last (class) axis. "
            f"Received: target.shape={target.shape}, output.shape={output.shape}."
        )
    log_prob = _log_probs(output, from_logits, axis)
    labels = jax.nn.one_hot(target, output.shape[axis], axis=axis, dtype=log_prob.dtype)
    return -jnp.sum(labels * log_prob, axis=axis)


def dot_product_attention(
    query: Any,
    key: Any,
    value: Any,
    bias: Any = None,
    mask: Any = None,
    scale: float | None = None,
    is_causal: bool = False,
    flash_attention: bool | None = None,
    attn_logits_soft_cap: float | None = None,
) -> jax.Array:
    """Scaled dot-product attention ``softmax(q k^T * scale + bias) v`` (Vaswani et al., 2017).

    Args:
        query: ``(batch, target_len, heads, head_dim)``.
        key: ``(batch, source_len, kv_heads, head_dim)``; ``heads`` a multiple of
            ``kv_heads`` (grouped-query attention).
        value: ``(batch, source_len, kv_heads, value_dim)``.
        bias: optional, broadcastable to ``(batch, heads, target_len, source_len)``.
        mask: optional boolean, same broadcast shape; ``True`` means attend.
        scale: logit scale; ``1 / sqrt(head_dim)`` when ``None``.
        is_causal: also mask future positions.
        flash_attention: ``True`` runs jax's cuDNN fused kernel (GPU, float16/bfloat16);
            ``None``/``False`` the XLA implementation.
        attn_logits_soft_cap: if set, logits become ``cap * tanh(logits / cap)``.

    Returns:
        ``(batch, target_len, heads, value_dim)``.

    Raises:
        ValueError: for inputs that are not 4-D or incompatible head counts, or flash
            attention combined with a soft cap.

    Example:
        >>> from kerax import ops
        >>> q = ops.ones((1, 2, 1, 4))
        >>> ops.dot_product_attention(q, q, q).shape
        (1, 2, 1, 4)
    """
    query, key, value = (jnp.asarray(unwrap(t)) for t in (query, key, value))
    if query.ndim != 4 or key.ndim != 4 or value.ndim != 4:
        raise ValueError(
            "dot_product_attention expects 4-D (batch, length, heads, dim) inputs. Received: "
            f"query.shape={query.shape}, key.shape={key.shape}, value.shape={value.shape}."
        )
    heads, kv_heads = query.shape[2], key.shape[2]
    if heads % kv_heads or value.shape[2] != kv_heads:
        raise ValueError(
            "The number of query heads must be a multiple of the key/value heads. Received: "
            f"query.shape={query.shape}, key.shape={key.shape}, value.shape={value.shape}."
        )
    dtype = jnp.result_type(query, key, value)
    query, key, value = query.astype(dtype), key.astype(dtype), value.astype(dtype)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    bias = None if bias is None else jnp.asarray(unwrap(bias), dtype)
    mask = None if mask is None else jnp.asarray(unwrap(mask), bool)
    if flash_attention:
        if attn_logits_soft_cap is not None:
            raise ValueError("flash_attention=True does not support attn_logits_soft_cap.")
        return jax.nn.dot_product_attention(
            query,
            key,
            value,
            bias=bias,
            mask=mask,
            scale=scale,
            is_causal=is_causal,
            implementation="cudnn",
        )
    if kv_heads != heads:
        key = jnp.repeat(key, heads // kv_heads, axis=2)
        value = jnp.repeat(value, heads // kv_heads, axis=2)
    # Logits and softmax in at least float32: float16 logits overflow at modest lengths.
    logits_dtype = jnp.promote_types(dtype, jnp.float32)
    logits = jnp.einsum("btnh,bsnh->bnts", query, key, preferred_element_type=logits_dtype)
    logits = logits * jnp.asarray(scale, logits_dtype)
    if attn_logits_soft_cap is not None:
        logits = attn_logits_soft_cap * jnp.tanh(logits / attn_logits_soft_cap)
    if bias is not None:
        logits = logits + bias
    if is_causal:
        t, s = logits.shape[-2:]
        causal = jnp.tril(jnp.ones((t, s), bool))
        mask = causal if mask is None else jnp.logical_and(mask, causal)
    if mask is not None:
        # A large finite negative (not -inf) keeps fully masked rows free of NaN.
        logits = jnp.where(mask, logits, -0.7 * jnp.finfo(logits_dtype).max)
    probs = jax.nn.softmax(logits, axis=-1).astype(dtype)
    return jnp.einsum("bnts,bsnh->btnh", probs, value)


__all__ = sorted(
    [
        *_activations_all,
        *_normalization_all,
        *_nn_extra_all,
        "binary_crossentropy",
        "categorical_crossentropy",
        "dot_product_attention",
        "multi_hot",
        "one_hot",
        "sparse_categorical_crossentropy",
    ]
)
