"""Pieces the attention layers share: masks, masked softmax, dropout, fused attention.

Masks follow Keras: ``True`` (or non-zero) marks a position that may be attended to.
Keras masks of the inputs, an explicit ``attention_mask`` and the causal mask combine
with a logical AND into one ``(batch, T, S)``-broadcastable boolean mask.

Two ways to compute attention, chosen exactly where Keras chooses them, so that the
numbers agree with Keras even on rows whose keys are all masked:

* fused: ``jax.nn.dot_product_attention`` (cuDNN flash attention on GPUs when the
  inputs allow it, XLA otherwise) when the probabilities are neither returned nor
  dropped out. A fully masked row then averages all values, as in Keras.
* explicit: scores, Keras's masked softmax (masked logits set to -1e9, masked
  probabilities zeroed afterwards, so a fully masked row gives zeros), dropout on the
  probabilities, then the weighted sum.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import jax
import jax.numpy as jnp

from kerax import _naming, _scope

_LOG = logging.getLogger(__name__)


def as_bool(mask: Any) -> jax.Array | None:
    """A Keras mask (bool or 0/1 numbers) as a boolean array, or ``None``."""
    if mask is None:
        return None
    mask = jnp.asarray(mask)
    return mask if mask.dtype == jnp.bool_ else mask != 0


def causal_mask(q_len: int, s_len: int) -> jax.Array:
    """``(1, q_len, s_len)``: query ``i`` sees keys ``j <= i`` (Keras's lower triangle)."""
    return (jnp.arange(q_len)[:, None] >= jnp.arange(s_len)[None, :])[None]


def sliding_window_mask(q_len: int, s_len: int, window: int) -> jax.Array:
    """``(1, q_len, s_len)``: query ``i`` sees keys with ``|i - j| < window``."""
    distance = jnp.abs(jnp.arange(q_len)[:, None] - jnp.arange(s_len)[None, :])
    return (distance < window)[None]


def _and(a: Any, b: Any) -> Any:
    if a is None:
        return b
    return a if b is None else a & b


# The helpers below are jitted so that eager calls (and eager gradients) run one
# compiled program each rather than dispatching every small op; under an outer trace
# they inline.
@functools.partial(jax.jit, static_argnames=("q_len", "s_len", "use_causal_mask", "sliding_window"))
def combine_masks(
    q_len: int,
    s_len: int,
    query_mask: Any = None,
    value_mask: Any = None,
    key_mask: Any = None,
    attention_mask: Any = None,
    use_causal_mask: bool = False,
    sliding_window: int | None = None,
) -> jax.Array | None:
    """One boolean mask broadcastable to ``(batch, T, S)``, or ``None`` if nothing masks.

    The query mask ``(B, T)`` becomes ``(B, T, 1)``; value and key masks ``(B, S)``
    become ``(B, 1, S)``; the causal and sliding-window masks are ``(1, T, S)``.
    """
    mask = None
    if query_mask is not None:
        mask = as_bool(query_mask)[..., :, None]
    for m in (value_mask, key_mask):
        if m is not None:
            mask = _and(mask, as_bool(m)[..., None, :])
    if use_causal_mask:
        mask = _and(mask, causal_mask(q_len, s_len))
    if sliding_window is not None:
        mask = _and(mask, sliding_window_mask(q_len, s_len, sliding_window))
    return _and(as_bool(attention_mask), mask)


def expand_mask(mask: jax.Array | None, rank: int, num_attention_axes: int) -> Any:
    """Insert the missing batch/head axes of ``mask`` just before the attention axes."""
    if mask is None:
        return None
    axis = -2 * num_attention_axes - 1
    while mask.ndim < rank:
        mask = jnp.expand_dims(mask, axis)
    return mask


@functools.partial(jax.jit, static_argnames=("axes",))
def masked_softmax(scores: jax.Array, mask: Any, axes: tuple[int, ...]) -> jax.Array:
    """Keras's ``Softmax(axis=axes)(scores, mask=mask)``.

    A non-boolean mask keeps the positions above 0.5, as Keras's Softmax does.
    """
    if mask is not None:
        mask = jnp.asarray(mask)
        if mask.dtype != jnp.bool_:
            mask = mask > jnp.asarray(0.5, mask.dtype)
        # -1e9 (-3e4 in float16) rather than -inf keeps fully masked rows finite.
        big = -3e4 if scores.dtype == jnp.float16 else -1e9
        scores = jnp.where(mask, scores, jnp.asarray(big, scores.dtype))
    if len(axes) == 1:
        probs = jax.nn.softmax(scores, axis=axes[0])
    else:
        probs = jnp.exp(scores - jax.nn.logsumexp(scores, axis=axes, keepdims=True))
    if mask is not None:
        probs = jnp.where(mask, probs, jnp.zeros((), probs.dtype))
    return probs


def take_sublayer_names() -> None:
    """Use up the automatic names of the Softmax and Dropout sublayers Keras's attention
    layers make when built (kerax computes both inline), so that the layers a user makes
    afterwards get Keras's names (``dropout_1`` after one MultiHeadAttention)."""
    _naming.unique_name("softmax")
    _naming.unique_name("dropout")


def dropout(x: jax.Array, rate: float, seed: int | None) -> jax.Array:
    """Inverted dropout with a key from the current scope (as ``layers.Dropout``)."""
    key = _scope.next_key()
    if seed is not None:
        key = jax.random.fold_in(key, seed)
    keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / jnp.asarray(1.0 - rate, x.dtype), jnp.zeros((), x.dtype))


class SoftmaxFn:
    """The ``_softmax`` of Keras's attention layers (a ``Softmax(axis=axes)`` sublayer
    there), as a plain callable: ``softmax(scores, mask=None)``. It holds no weights,
    so it is not a kerax sublayer."""

    def __init__(self, axis: tuple[int, ...]):
        self.axis = tuple(axis)

    def __call__(self, inputs: jax.Array, mask: Any = None) -> jax.Array:
        return masked_softmax(inputs, mask, self.axis)


class DropoutFn:
    """The ``_dropout_layer`` of Keras's attention layers (a ``Dropout`` sublayer there),
    as a plain callable: ``dropout_layer(x, training=None)``.

    ``training=None`` reads the enclosing call's flag, as a Keras sublayer does; the
    randomness comes from the current scope's key, as in :func:`dropout`.
    """

    def __init__(self, rate: float, seed: int | None = None):
        self.rate = float(rate)
        self.seed = seed

    def __call__(self, inputs: jax.Array, training: bool | None = None) -> jax.Array:
        if training is None:
            scope = _scope.current()
            training = None if scope is None else scope.training
        if not training or self.rate == 0.0:
            return inputs
        return dropout(inputs, self.rate, self.seed)


def _cudnn_may_fit(query: jax.Array, key: jax.Array) -> bool:
    # cuDNN's fused kernels take half-precision (B, T, N, H) inputs with H a multiple of
    # 8 up to 128 (256 on newer cuDNN); anything else goes to XLA without trying.
    return (
        jax.default_backend() == "gpu"
        and query.dtype in (jnp.float16, jnp.bfloat16)
        and query.dtype == key.dtype
        and query.shape[-1] % 8 == 0
        and query.shape[-1] <= 128
    )


@functools.partial(jax.jit, static_argnames=("scale", "is_causal", "flash_attention"))
def fused_attention(
    query: jax.Array,
    key: jax.Array,
    value: jax.Array,
    mask: jax.Array | None,
    scale: float,
    is_causal: bool,
    flash_attention: bool | None,
) -> jax.Array:
    """``jax.nn.dot_product_attention`` on ``(B, T, N, H)`` / ``(B, S, K, H)`` inputs.

    ``flash_attention``: ``True`` requires cuDNN's fused kernel (errors if the inputs or
    the machine do not allow it), ``False`` uses XLA, ``None`` tries cuDNN where it may
    fit and falls back to XLA when JAX rejects the inputs at trace time.
    """
    if mask is not None:
        mask = jnp.broadcast_to(mask, (query.shape[0], mask.shape[1], query.shape[1], key.shape[1]))
    # Projections of different dtypes (a DTypePolicyMap entry): promoted, as einsum does.
    dtype = jnp.result_type(query, key, value)
    query, key, value = (t.astype(dtype) for t in (query, key, value))
    if value.shape[-1] != key.shape[-1]:
        # jax.nn needs equal key and value head sizes; this is its XLA path otherwise.
        return _xla_attention(query, key, value, mask, scale, is_causal)
    call = lambda impl: jax.nn.dot_product_attention(
        query, key, value, mask=mask, scale=scale, is_causal=is_causal, implementation=impl
    )
    if flash_attention:
        return call("cudnn")
    if flash_attention is None and _cudnn_may_fit(query, key):
        try:
            return call("cudnn")
        except (ValueError, NotImplementedError, RuntimeError) as err:
            _LOG.debug("cuDNN attention unavailable (%s); using XLA.", err)
    return call("xla")


def _xla_attention(query, key, value, mask, scale, is_causal):
    """``jax.nn.dot_product_attention``'s XLA computation for ``(B, T|S, N, H)`` inputs
    whose value head size differs from the key's (so fully masked rows behave alike)."""
    logits_dtype = jnp.promote_types(query.dtype, jnp.float32)
    logits = jnp.einsum("btnh,bsnh->bnts", query, key, preferred_element_type=logits_dtype)
    logits = logits * jnp.asarray(scale, logits.dtype)
    if is_causal:
        causal = causal_mask(query.shape[1], key.shape[1])[:, None]
        mask = causal if mask is None else mask & causal
    if mask is not None:
        big = -0.7 * float(jnp.finfo(jnp.float32).max)
        logits = jnp.where(mask, logits, jnp.asarray(big, logits.dtype))
    probs = jax.nn.softmax(logits.astype(jnp.float32), axis=-1).astype(key.dtype)
    return jnp.einsum("bnts,bsnh->btnh", probs, value)


def prepare_call(
    layer, query, value, key, query_mask, value_mask, key_mask, return_attention_scores: bool
):
    """The start shared by the multi-head layers' ``call``.

    Reads the Keras masks attached to the inputs (before any conversion, which would
    detach them), converts value and key, builds the projections on first use, and
    refuses scores from the fused kernel, which never forms them.

    Returns:
        ``(value, key, query_mask, value_mask, key_mask)``.
    """
    query_mask = _scope.get_mask(query) if query_mask is None else query_mask
    value_mask = _scope.get_mask(value) if value_mask is None else value_mask
    if key is not None and key_mask is None:
        key_mask = _scope.get_mask(key)
    value = layer._convert_inputs(value)
    key = value if key is None else layer._convert_inputs(key)
    if not layer._projections_built:
        layer.build(query.shape, value.shape, key.shape)
    if layer.flash_attention and return_attention_scores:
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) cannot return attention scores "
            "with flash_attention=True: the fused kernel never forms them. Construct it "
            "with flash_attention=None or False."
        )
    return value, key, query_mask, value_mask, key_mask
