"""Attention (Luong et al., 2015) and AdditiveAttention (Bahdanau et al., 2015).

Both take ``[query, value]`` or ``[query, value, key]`` and no projections: the scores
compare the query with the key directly, a softmax over the key positions weights the
values.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax.layers.attention import _core
from kerax.layers.base import Layer


class Attention(Layer):
    """Dot-product attention: ``softmax(query @ key.T) @ value``.

    Args:
        use_scale: learn a scalar ``scale`` that multiplies the scores.
        score_mode: ``"dot"`` (scores ``query @ key.T``) or ``"concat"`` (scores
            ``concat_score_weight * sum(tanh(query + key))``).
        dropout: dropout rate on the attention probabilities, in training.
        seed: an int that fixes the dropout pattern for a given ``apply`` key.

    Call arguments: ``inputs`` ``[query (B, Tq, dim), value (B, Tv, dim)]`` or with a
    third ``key (B, Tv, dim)`` (default ``value``); ``mask`` ``[query_mask (B, Tq),
    value_mask (B, Tv)]`` (default: the inputs' Keras masks): masked query rows give
    zeros, masked value positions get no weight; ``training``;
    ``return_attention_scores``; ``use_causal_mask``.

    Output shape ``(B, Tq, dim)``; with ``return_attention_scores`` also the
    probabilities ``(B, Tq, Tv)``. The output's Keras mask is the query mask.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.attention import Attention
        >>> Attention()([np.ones((2, 3, 4)), np.ones((2, 5, 4))]).shape
        (2, 3, 4)
    """

    def __init__(
        self,
        use_scale: bool = False,
        score_mode: str = "dot",
        dropout: float = 0.0,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(
                f"{type(self).__name__} score_mode must be 'dot' or 'concat'. "
                f"Received: score_mode={score_mode!r}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(
                f"{type(self).__name__} dropout must be in [0, 1). Received: dropout={dropout!r}"
            )
        self.use_scale = use_scale
        self.score_mode = score_mode
        self.dropout = float(dropout)
        self.seed = seed
        self.supports_masking = True

    def _validate(self, inputs: Any, mask: Any = None) -> None:
        kind = type(self).__name__
        if not isinstance(inputs, (list, tuple)) or not 2 <= len(inputs) <= 3:
            raise ValueError(
                f"Layer '{self.name}' ({kind}) must be called on a list [query, value] or "
                f"[query, value, key]. Received: inputs={inputs!r}"
            )
        if mask is not None and (not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3):
            raise ValueError(
                f"Layer '{self.name}' ({kind}) takes mask=[query_mask, value_mask]. "
                f"Received: mask={mask!r}"
            )

    def build(self, input_shape):
        self._validate(input_shape)
        if self.use_scale:
            self.scale = self.add_weight(shape=(), initializer="ones", name="scale")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(
                shape=(), initializer="ones", name="concat_score_weight"
            )
        self.built = True

    def _calculate_scores(self, query, key):
        """Scores ``(B, Tq, Tv)`` of every query step against every key step."""
        if self.score_mode == "dot":
            scores = jnp.matmul(query, jnp.swapaxes(key, -2, -1))
            return scores * self.scale if self.use_scale else scores
        pairs = query[..., :, None, :] + key[..., None, :, :]  # (B, Tq, Tv, dim)
        if self.use_scale:
            pairs = self.scale * pairs
        return self.concat_score_weight * jnp.sum(jnp.tanh(pairs), axis=-1)

    def call(
        self,
        inputs,
        mask=None,
        training=None,
        return_attention_scores=False,
        use_causal_mask=False,
    ):
        self._validate(inputs, mask)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        if query.ndim < 3 or value.ndim != query.ndim or key.ndim != query.ndim:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects query, value and key of "
                f"the same rank >= 3, (batch, steps, features). Received shapes: "
                f"{[tuple(t.shape) for t in inputs]}"
            )
        query_mask = _core.as_bool(mask[0]) if mask else None
        value_mask = _core.as_bool(mask[1]) if mask else None
        scores = self._calculate_scores(query, key)
        scores_mask = None if value_mask is None else value_mask[..., None, :]
        if use_causal_mask:
            causal = _core.causal_mask(scores.shape[-2], scores.shape[-1])
            scores_mask = causal if scores_mask is None else scores_mask & causal
        if scores_mask is not None:
            # Keras subtracts a large number rather than replacing the logit.
            big = 65504.0 if scores.dtype == jnp.float16 else 1.0e9
            scores = jnp.where(scores_mask, scores, scores - jnp.asarray(big, scores.dtype))
        weights = jax.nn.softmax(scores, axis=-1)
        if training and self.dropout > 0.0:
            # Keras returns these dropped-out weights as the scores too.
            weights = _core.dropout(weights, self.dropout, self.seed)
        output = jnp.matmul(weights, value)
        if query_mask is not None:
            output = jnp.where(query_mask[..., None], output, jnp.zeros((), output.dtype))
        return (output, weights) if return_attention_scores else output

    def compute_mask(self, inputs, previous_mask=None):
        if isinstance(previous_mask, (list, tuple)) and previous_mask:
            return previous_mask[0]
        return None

    def get_config(self):
        return {
            **super().get_config(),
            "use_scale": self.use_scale,
            "score_mode": self.score_mode,
            "dropout": self.dropout,
            "seed": self.seed,
        }


class AdditiveAttention(Attention):
    """Additive (Bahdanau-style) attention: scores ``sum(scale * tanh(query + key))``.

    Args:
        use_scale: learn a per-feature ``scale`` of shape ``(dim,)`` (default True).
        dropout: dropout rate on the attention probabilities, in training.
        seed: an int that fixes the dropout pattern for a given ``apply`` key.

    Call arguments, shapes and masks as :class:`Attention`.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.attention import AdditiveAttention
        >>> AdditiveAttention()([np.ones((2, 3, 4)), np.ones((2, 5, 4))]).shape
        (2, 3, 4)
    """

    def __init__(
        self, use_scale: bool = True, dropout: float = 0.0, seed: int | None = None, **kwargs
    ):
        super().__init__(use_scale=use_scale, dropout=dropout, seed=seed, **kwargs)

    def build(self, input_shape):
        self._validate(input_shape)
        if self.use_scale:
            self.scale = self.add_weight(
                shape=(input_shape[0][-1],), initializer="glorot_uniform", name="scale"
            )
        self.built = True

    def _calculate_scores(self, query, key):
        pairs = jnp.tanh(query[..., :, None, :] + key[..., None, :, :])  # (B, Tq, Tv, dim)
        if self.use_scale:
            pairs = self.scale * pairs
        return jnp.sum(pairs, axis=-1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config
