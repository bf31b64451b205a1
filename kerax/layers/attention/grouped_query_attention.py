"""GroupedQueryAttention (Ainslie et al., 2023, "GQA: Training Generalized Multi-Query
Transformer Models from Multi-Head Checkpoints")."""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp

from kerax import constraints, initializers, regularizers
from kerax.layers.attention import _core
from kerax.layers.base import Layer
from kerax.layers.einsum_dense import EinsumDense


class GroupedQueryAttention(Layer):
    """Attention where groups of query heads share one key/value head.

    ``num_key_value_heads=1`` is multi-query attention; ``num_key_value_heads ==
    num_query_heads`` is ordinary multi-head attention.

    Args:
        head_dim: the size of each head.
        num_query_heads: the number of query heads.
        num_key_value_heads: the number of key and value heads; must divide
            ``num_query_heads``.
        dropout: dropout rate on the attention probabilities, in training.
        use_bias: whether the projections have biases.
        sliding_window: if set, query ``i`` attends only to keys ``j`` with
            ``|i - j| < sliding_window``.
        flash_attention: ``True`` requires cuDNN's fused kernel, ``False`` never uses
            it, ``None`` uses it where the inputs allow.
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        activity_regularizer, kernel_constraint, bias_constraint: of the projections.
        use_gate: gate the attention output with ``sigmoid(query projection)``.
        seed: an int that fixes the dropout pattern for a given ``apply`` key.

    Call arguments as :class:`MultiHeadAttention`: ``query`` ``(B, T, dim)``, ``value``
    ``(B, S, dim)``, ``key`` (default ``value``), ``query_mask``, ``value_mask``,
    ``key_mask``, ``attention_mask`` ``(B, T, S)``, ``return_attention_scores``,
    ``training``, ``use_causal_mask``.

    Output shape ``(B, T, dim)``; scores ``(B, num_query_heads, T, S)``. Weights:
    ``query`` kernel ``(dim, num_query_heads, head_dim)``, ``key`` and ``value`` kernels
    ``(dim, num_key_value_heads, head_dim)``, ``attention_output`` kernel
    ``(num_query_heads, head_dim, dim)``, each with a bias over its last two (output:
    last) axes, in Keras's order.

    Example:
        >>> import kerax as keras
        >>> from kerax.layers.attention import GroupedQueryAttention
        >>> gqa = GroupedQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2)
        >>> gqa(keras.Input((3, 8)), keras.Input((5, 8))).shape
        (None, 3, 8)
    """

    _keras_class_name = "GroupQueryAttention"  # the name keras.layers exports it under

    def __init__(
        self,
        head_dim: int,
        num_query_heads: int,
        num_key_value_heads: int,
        dropout: float = 0.0,
        use_bias: bool = True,
        sliding_window: int | None = None,
        flash_attention: bool | None = None,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        use_gate: bool = False,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, value in (
            ("head_dim", head_dim),
            ("num_query_heads", num_query_heads),
            ("num_key_value_heads", num_key_value_heads),
            ("sliding_window", 1 if sliding_window is None else sliding_window),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(
                    f"GroupedQueryAttention {name} must be a positive integer. "
                    f"Received: {name}={value!r}"
                )
        if num_query_heads % num_key_value_heads:
            raise ValueError(
                "GroupedQueryAttention num_query_heads must be a multiple of "
                f"num_key_value_heads. Received: num_query_heads={num_query_heads}, "
                f"num_key_value_heads={num_key_value_heads}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(
                f"GroupedQueryAttention dropout must be in [0, 1). Received: dropout={dropout!r}"
            )
        if flash_attention and dropout > 0.0:
            raise ValueError(
                "GroupedQueryAttention cannot drop out attention probabilities with "
                "flash_attention=True. Pass dropout=0.0 or flash_attention=None. "
                f"Received: dropout={dropout!r}"
            )
        self.head_dim = head_dim
        self.num_query_heads = num_query_heads
        self.num_key_value_heads = num_key_value_heads
        self.num_repeats = num_query_heads // num_key_value_heads
        self.dropout = float(dropout)
        self.use_bias = use_bias
        self.sliding_window = sliding_window
        if flash_attention is None:  # keras.config.disable_flash_attention()
            from kerax import config

            flash_attention = config.is_flash_attention_enabled()
        self.flash_attention = flash_attention
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.projection_activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.use_gate = use_gate
        self.seed = seed
        self.supports_masking = True
        self._projections_built = False

    def _dense(self, equation, output_shape, bias_axes, name, **extra) -> EinsumDense:
        def fresh(init):
            return init.clone() if hasattr(init, "clone") else init

        return EinsumDense(
            equation,
            output_shape=output_shape,
            bias_axes=bias_axes if self.use_bias else None,
            name=name,
            kernel_initializer=fresh(self.kernel_initializer),
            bias_initializer=fresh(self.bias_initializer),
            kernel_regularizer=self.kernel_regularizer,
            bias_regularizer=self.bias_regularizer,
            activity_regularizer=self.projection_activity_regularizer,
            kernel_constraint=self.kernel_constraint,
            bias_constraint=self.bias_constraint,
            dtype=self.dtype_policy,
            **extra,
        )

    def build(self, query_shape, value_shape=None, key_shape=None):
        """Create the projections; without ``value_shape`` they wait for the first call."""
        if value_shape is None:
            return
        key_shape = value_shape if key_shape is None else key_shape
        query_shape, value_shape, key_shape = map(tuple, (query_shape, value_shape, key_shape))
        if any(len(s) != 3 for s in (query_shape, value_shape, key_shape)):
            raise ValueError(
                f"Layer '{self.name}' (GroupedQueryAttention) expects query, value and key of "
                f"rank 3, (batch, length, features). Received: query_shape={query_shape}, "
                f"value_shape={value_shape}, key_shape={key_shape}"
            )
        if value_shape[1] != key_shape[1]:
            raise ValueError(
                f"Layer '{self.name}' (GroupedQueryAttention): value and key must have the same "
                f"length. Received: value_shape={value_shape}, key_shape={key_shape}"
            )
        q_heads = (None, self.num_query_heads, self.head_dim)
        kv_heads = (None, self.num_key_value_heads, self.head_dim)
        self._query_dense = self._dense("bqm,muh->bquh", q_heads, "uh", "query")
        self._query_dense.build(query_shape)
        self._key_dense = self._dense("bkm,mvh->bkvh", kv_heads, "vh", "key")
        self._key_dense.build(key_shape)
        if self.use_gate:
            self._gate_dense = self._dense(
                "bqm,muh->bquh", q_heads, "uh", "gate", activation="sigmoid"
            )
            self._gate_dense.build(query_shape)
        self._value_dense = self._dense("bkm,mvh->bkvh", kv_heads, "vh", "value")
        self._value_dense.build(value_shape)
        self._output_dense = self._dense(
            "bquh,uhm->bqm", (None, query_shape[-1]), "m", "attention_output"
        )
        self._output_dense.build((None, None, self.num_query_heads, self.head_dim))
        _core.take_sublayer_names()
        self._projections_built = True
        self.built = True

    def call(
        self,
        query,
        value,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
        use_causal_mask=False,
    ):
        value, key, query_mask, value_mask, key_mask = _core.prepare_call(
            self, query, value, key, query_mask, value_mask, key_mask, return_attention_scores
        )
        causal_only = use_causal_mask and self.sliding_window is None
        causal_only = causal_only and all(
            m is None for m in (query_mask, value_mask, key_mask, attention_mask)
        )
        if not causal_only:
            attention_mask = _core.combine_masks(
                query.shape[1],
                value.shape[1],
                query_mask,
                value_mask,
                key_mask,
                attention_mask,
                use_causal_mask,
                self.sliding_window,
            )
        gate = self._gate_dense(query) if self.use_gate else None
        q = self._query_dense(query)  # (B, T, query heads, head_dim)
        k = self._key_dense(key)  # (B, S, key/value heads, head_dim)
        v = self._value_dense(value)
        scale = 1.0 / math.sqrt(float(self.head_dim))
        mask = _core.expand_mask(attention_mask, 4, 1)
        if not (self.dropout > 0.0 or return_attention_scores):
            # The fused kernel groups the heads itself: no repeated key/value copies.
            output = _core.fused_attention(q, k, v, mask, scale, causal_only, self.flash_attention)
            scores = None
        else:
            if causal_only:
                mask = _core.combine_masks(q.shape[1], k.shape[1], use_causal_mask=True)[:, None]
            # Query head n reads key/value head n // num_repeats, as jax.nn groups them.
            k = jnp.repeat(k, self.num_repeats, axis=2)  # (B, S, query heads, head_dim)
            v = jnp.repeat(v, self.num_repeats, axis=2)
            logits = jnp.einsum("bquh,bkuh->buqk", q * jnp.asarray(scale, q.dtype), k)
            scores = _core.masked_softmax(logits, mask, (-1,))
            dropped = scores
            if training and self.dropout > 0.0:
                dropped = _core.dropout(scores, self.dropout, self.seed)
            output = jnp.einsum("buqk,bkuh->bquh", dropped, v)
        if gate is not None:
            output = output * gate
        output = self._output_dense(output)
        return (output, scores) if return_attention_scores else output

    def get_config(self):
        config = {
            **super().get_config(),
            "head_dim": self.head_dim,
            "num_query_heads": self.num_query_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "use_bias": self.use_bias,
            "use_gate": self.use_gate,
            "dropout": self.dropout,
            "sliding_window": self.sliding_window,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.projection_activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "seed": self.seed,
        }
        if self.flash_attention is not None:
            config["flash_attention"] = self.flash_attention
        return config
