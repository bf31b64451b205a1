"""MultiHeadAttention (Vaswani et al., 2017, "Attention Is All You Need")."""

from __future__ import annotations

import functools
import inspect
import math
import string
from typing import Any

import jax.numpy as jnp

from kerax import constraints, initializers, regularizers
from kerax.layers.attention import _core
from kerax.layers.base import Layer
from kerax.layers.einsum_dense import EinsumDense


def _projection(free: int, bound: int, produced: int) -> tuple[str, str]:
    """An einsum ``(free..., bound...) x (bound..., produced...) -> (free..., produced...)``.

    Returns the equation and the bias axes (the produced ones).
    """
    letters = string.ascii_lowercase
    f, b, p = letters[:free], letters[free : free + bound], letters[free + bound :][:produced]
    return f"{f}{b},{b}{p}->{f}{p}", p


def _attention_equations(rank: int, attn_axes: tuple[int, ...]) -> tuple[str, str]:
    """Keras's score and combine equations for projected ``(B, ..., heads, channels)``.

    Every axis that is neither an attention axis nor the channel axis (the batch, the
    heads, the other axes) is carried through; scores are
    ``(carried..., query attention axes..., key attention axes...)``. As in Keras, the
    score equation takes the key first, ``einsum(eq, key, query)``, and the combine
    equation ``einsum(eq, scores, value)``.
    """
    letters = string.ascii_lowercase
    target = letters[:rank]
    extra = iter(letters[rank:])
    source = "".join(next(extra) if i in attn_axes else target[i] for i in range(rank))
    carried = [i for i in range(rank - 1) if i not in attn_axes]
    scores = (
        "".join(target[i] for i in carried)
        + "".join(target[i] for i in attn_axes)
        + "".join(source[i] for i in attn_axes)
    )
    return f"{source},{target}->{scores}", f"{scores},{source}->{target}"


@functools.cache
def _takes_scores_argument(fn: Any) -> bool:
    """Whether an ``_compute_attention`` override takes a sixth positional argument,
    ``return_attention_scores`` (overrides written for older Keras, such as the keras.io
    LSA example's ``(query, key, value, attention_mask=None, training=None)``, do not)."""
    try:
        params = list(inspect.signature(fn).parameters.values())[1:]  # without self
    except (TypeError, ValueError):
        return True
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return True
    return sum(p.kind in kinds for p in params) >= 6


def _alias(public: str, doc: str) -> property:
    """A Keras private attribute name (``_key_dim``) for kerax's public one."""
    return property(
        lambda self: getattr(self, public),
        lambda self, value: setattr(self, public, value),
        doc=doc,
    )


def _check_positive_int(value: Any, name: str, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(
            f"MultiHeadAttention {name} must be a positive integer"
            f"{' or None' if allow_none else ''}. Received: {name}={value!r}"
        )


class MultiHeadAttention(Layer):
    """Multi-head attention: project, attend per head, project back.

    Args:
        num_heads: the number of attention heads.
        key_dim: the size of each head for the query and the key.
        value_dim: the size of each head for the value (default ``key_dim``).
        dropout: dropout rate on the attention probabilities, in training.
        use_bias: whether the projections have biases.
        output_shape: the output's trailing shape (an int or a tuple); default the
            query's last axis.
        attention_axes: the axes attention runs over (default every axis between the
            batch and the features).
        sliding_window: if set, query ``i`` attends only to keys ``j`` with
            ``|i - j| < sliding_window``.
        flash_attention: ``True`` requires cuDNN's fused kernel, ``False`` never uses
            it, ``None`` uses it where the inputs allow.
        kernel_initializer, bias_initializer: initializers of the projections.
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties of the
            projections (the activity one applies to each projection's output).
        kernel_constraint, bias_constraint: constraints of the projections.
        use_gate: gate the attention output with ``sigmoid(query projection)``
            (Qiu et al., 2025, "Gated Attention for Large Language Models").
        seed: an int that fixes the dropout pattern for a given ``apply`` key.

    Call arguments: ``query`` ``(B, T, dim)``, ``value`` ``(B, S, dim_v)``, ``key``
    ``(B, S, dim_k)`` (default ``value``); ``query_mask`` ``(B, T)``, ``value_mask`` and
    ``key_mask`` ``(B, S)`` (default: the inputs' Keras masks); ``attention_mask``
    ``(B, T, S)``, ``True`` where attention is allowed; ``return_attention_scores``;
    ``training``; ``use_causal_mask``.

    Output shape ``(B, T, dim)`` (or ``(B, T, *output_shape)``), and with
    ``return_attention_scores`` also the probabilities ``(B, num_heads, T, S)``.
    Weights: ``query``/``key``/``value`` kernels ``(dim, num_heads, key_dim)`` (value:
    ``value_dim``) with biases ``(num_heads, key_dim)``, then ``attention_output``
    kernel ``(num_heads, value_dim, dim)`` and bias ``(dim,)``, in Keras's order.

    Example:
        >>> import kerax as keras
        >>> from kerax.layers.attention import MultiHeadAttention
        >>> query, value = keras.Input((3, 8)), keras.Input((5, 16))
        >>> mha = MultiHeadAttention(num_heads=2, key_dim=4)
        >>> mha(query, value).shape
        (None, 3, 8)
        >>> [tuple(w.shape) for w in mha.weights[::2]]
        [(8, 2, 4), (16, 2, 4), (16, 2, 4), (2, 4, 8)]
    """

    def __init__(
        self,
        num_heads: int,
        key_dim: int,
        value_dim: int | None = None,
        dropout: float = 0.0,
        use_bias: bool = True,
        output_shape: Any = None,
        attention_axes: Any = None,
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
        _check_positive_int(num_heads, "num_heads")
        _check_positive_int(key_dim, "key_dim")
        _check_positive_int(value_dim, "value_dim", allow_none=True)
        _check_positive_int(sliding_window, "sliding_window", allow_none=True)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(
                f"MultiHeadAttention dropout must be in [0, 1). Received: dropout={dropout!r}"
            )
        if flash_attention and dropout > 0.0:
            raise ValueError(
                "MultiHeadAttention cannot drop out attention probabilities with "
                "flash_attention=True (the fused kernel never forms them). Pass dropout=0.0 "
                f"or flash_attention=None. Received: dropout={dropout!r}"
            )
        if output_shape is not None:
            output_shape = (output_shape,) if isinstance(output_shape, int) else output_shape
            if not isinstance(output_shape, (tuple, list)) or not all(
                isinstance(d, int) and d > 0 for d in output_shape
            ):
                raise ValueError(
                    "MultiHeadAttention output_shape must be a positive int or a tuple of "
                    f"them. Received: output_shape={output_shape!r}"
                )
            output_shape = tuple(output_shape)
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        if attention_axes is not None and (
            not isinstance(attention_axes, (tuple, list))
            or not all(isinstance(a, int) for a in attention_axes)
        ):
            raise ValueError(
                "MultiHeadAttention attention_axes must be an int, a tuple of ints or None. "
                f"Received: attention_axes={attention_axes!r}"
            )
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.value_dim = value_dim or key_dim
        self.dropout = float(dropout)
        self.use_bias = use_bias
        self._output_shape = output_shape
        # As in Keras: the axes as given (a list stays a list) until build() resolves
        # them to a tuple of non-negative axes, which get_config() then reports.
        self.attention_axes = attention_axes
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

    # -- building --------------------------------------------------------------------
    def _sublayer_kwargs(self) -> dict:
        def fresh(init):
            # A separate initializer object per projection, as Keras clones them.
            return init.clone() if hasattr(init, "clone") else init

        return dict(
            kernel_initializer=fresh(self.kernel_initializer),
            bias_initializer=fresh(self.bias_initializer),
            kernel_regularizer=self.kernel_regularizer,
            bias_regularizer=self.bias_regularizer,
            activity_regularizer=self.projection_activity_regularizer,
            kernel_constraint=self.kernel_constraint,
            bias_constraint=self.bias_constraint,
            dtype=self.dtype_policy,
        )

    def _dense(self, rank: int, bound: int, trailing: tuple, name: str, **extra) -> EinsumDense:
        equation, bias_axes = _projection(rank - 1, bound, len(trailing))
        return EinsumDense(
            equation,
            output_shape=(None,) * (rank - 2) + tuple(trailing),
            bias_axes=bias_axes if self.use_bias else None,
            name=name,
            **extra,
            **self._sublayer_kwargs(),
        )

    def build(self, query_shape, value_shape=None, key_shape=None):
        """Create the projections for inputs of these shapes.

        ``value_shape`` may be left out: the projections are then created on the first
        call, when all input shapes are known.
        """
        if value_shape is None:
            return
        key_shape = value_shape if key_shape is None else key_shape
        query_shape, value_shape, key_shape = map(tuple, (query_shape, value_shape, key_shape))
        if len(query_shape) < 3 or len(value_shape) != len(query_shape):
            raise ValueError(
                f"Layer '{self.name}' (MultiHeadAttention) expects query and value of the same "
                "rank >= 3, (batch, ..., features). Received: "
                f"query_shape={query_shape}, value_shape={value_shape}"
            )
        if len(key_shape) != len(value_shape) or value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(
                f"Layer '{self.name}' (MultiHeadAttention): value and key must agree on every "
                f"axis but the last. Received: value_shape={value_shape}, key_shape={key_shape}"
            )
        rank = len(query_shape) + 1  # of the projected tensors (B, ..., heads, channels)
        self._build_attention(rank)
        heads_k, heads_v = (self.num_heads, self.key_dim), (self.num_heads, self.value_dim)
        self._query_dense = self._dense(rank - 1, 1, heads_k, "query")
        self._query_dense.build(query_shape)
        self._key_dense = self._dense(rank - 1, 1, heads_k, "key")
        self._key_dense.build(key_shape)
        if self.use_gate:
            self._gate_dense = self._dense(rank - 1, 1, heads_v, "gate", activation="sigmoid")
            self._gate_dense.build(query_shape)
        self._value_dense = self._dense(rank - 1, 1, heads_v, "value")
        self._value_dense.build(value_shape)
        out = self._output_shape or (query_shape[-1],)
        self._output_dense = self._dense(rank - 1, 2, out, "attention_output")
        self._output_dense.build((*query_shape[:-1], self.num_heads, self.value_dim))
        self._projections_built = True
        self.built = True

    def _build_attention(self, rank: int) -> None:
        """Resolve the attention axes and make what ``_compute_attention`` uses, under
        Keras's names: ``_dot_product_equation`` (``einsum(eq, key, query)`` gives the
        scores), ``_combine_equation`` (``einsum(eq, probabilities, value)``),
        ``_softmax`` and ``_dropout_layer``. ``rank`` is that of the projected tensors.
        """
        axes = self.attention_axes
        axes = tuple(range(1, rank - 2)) if axes is None else axes
        axes = tuple(a if a >= 0 else rank - 1 + a for a in axes)
        if not all(1 <= a < rank - 2 for a in axes) or len(set(axes)) != len(axes):
            raise ValueError(
                f"Layer '{self.name}' (MultiHeadAttention): attention_axes must be distinct "
                f"axes of the inputs other than the batch and feature axes (1 to "
                f"{rank - 3} for inputs of rank {rank - 1}). Received: "
                f"attention_axes={self.attention_axes}"
            )
        self.attention_axes = axes
        self._dot_product_equation, self._combine_equation = _attention_equations(rank, axes)
        scores_rank = rank + len(axes) - 1  # carried axes, then query and key axes
        self._softmax = _core.SoftmaxFn(tuple(range(scores_rank - len(axes), scores_rank)))
        self._dropout_layer = _core.DropoutFn(self.dropout, self.seed)
        _core.take_sublayer_names()

    # Keras's private names, which subclasses written for Keras read (the keras.io
    # vision transformer's LSA layer reads ``self._key_dim``).
    _num_heads = _alias("num_heads", "Keras's name of ``num_heads``.")
    _key_dim = _alias("key_dim", "Keras's name of ``key_dim``.")
    _value_dim = _alias("value_dim", "Keras's name of ``value_dim``.")
    _dropout = _alias("dropout", "Keras's name of ``dropout``.")
    _use_bias = _alias("use_bias", "Keras's name of ``use_bias``.")
    _use_gate = _alias("use_gate", "Keras's name of ``use_gate``.")
    _attention_axes = _alias("attention_axes", "Keras's name of ``attention_axes``.")
    _sliding_window = _alias("sliding_window", "Keras's name of ``sliding_window``.")
    _flash_attention = _alias("flash_attention", "Keras's name of ``flash_attention``.")
    _inverse_sqrt_key_dim = property(
        lambda self: 1.0 / math.sqrt(float(self.key_dim)), doc="The scores' scale."
    )

    # -- calling ---------------------------------------------------------------------
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
        # The causal mask alone goes to the fused kernel as a flag, unformed; an override
        # of _compute_attention gets it formed into attention_mask instead, as in Keras.
        overridden = type(self)._compute_attention is not MultiHeadAttention._compute_attention
        causal_only = use_causal_mask and all(
            m is None for m in (query_mask, value_mask, key_mask, attention_mask)
        )
        causal_only = causal_only and self.sliding_window is None and not overridden
        if not causal_only:
            attention_mask = self._compute_attention_mask(
                query,
                value,
                query_mask=query_mask,
                value_mask=value_mask,
                key_mask=key_mask,
                attention_mask=attention_mask,
                use_causal_mask=use_causal_mask,
            )
        gate = self._gate_dense(query) if self.use_gate else None
        q = self._query_dense(query)  # (B, T, heads, key_dim)
        k = self._key_dense(key)  # (B, S, heads, key_dim)
        v = self._value_dense(value)  # (B, S, heads, value_dim)
        # Keras's protocol: six positional arguments, and use_causal_mask only as a
        # keyword and only when set, so overrides with the older signature keep working.
        args = (q, k, v, attention_mask, training, return_attention_scores)
        if overridden and not return_attention_scores:
            if not _takes_scores_argument(type(self)._compute_attention):
                args = args[:5]
        extra = {"use_causal_mask": True} if causal_only else {}
        output, scores = self._compute_attention(*args, **extra)
        if gate is not None:
            output = output * gate
        output = self._output_dense(output)
        return (output, scores) if return_attention_scores else output

    def _compute_attention(
        self,
        query,
        key,
        value,
        attention_mask=None,
        training=None,
        return_attention_scores=False,
        use_causal_mask=False,
    ):
        """Attention over the projected ``(B, T, N, key_dim)``, ``(B, S, N, key_dim)`` and
        ``(B, S, N, value_dim)`` tensors; override it for a custom attention, as in Keras.

        Args:
            query, key, value: the projected tensors.
            attention_mask: ``(B, T, S)``, ``True`` where attention is allowed, or
                ``None``.
            training: whether to drop out attention probabilities.
            return_attention_scores: whether the probabilities are needed (the fused
                kernel never forms them).
            use_causal_mask: set (only as a keyword) when the causal mask is the only
                mask; ``attention_mask`` is then ``None``.

        Returns:
            ``(output, probabilities)``: the output ``(B, T, N, value_dim)`` and the
            probabilities ``(B, N, T, S)``, or ``None`` from the fused kernel.
        """
        scale = self._inverse_sqrt_key_dim
        fused = not (self.dropout > 0.0 or return_attention_scores or query.ndim != 4)
        if fused:
            mask = _core.expand_mask(_core.as_bool(attention_mask), 4, 1)
            out = _core.fused_attention(
                query, key, value, mask, scale, use_causal_mask, self.flash_attention
            )
            return out, None
        if use_causal_mask:
            attention_mask = _core.combine_masks(
                query.shape[1], key.shape[1], attention_mask=attention_mask, use_causal_mask=True
            )
        query = query * jnp.asarray(scale, query.dtype)
        scores = jnp.einsum(self._dot_product_equation, key, query)
        probs = self._masked_softmax(scores, attention_mask)
        dropped = probs
        if self.dropout > 0.0:
            dropped = self._dropout_layer(probs, training=training)
        return jnp.einsum(self._combine_equation, dropped, value), probs

    def _masked_softmax(self, attention_scores, attention_mask=None):
        """Keras's masked softmax over the key attention axes: the mask's missing
        batch/head axes are inserted before the attention axes, masked scores count as
        -1e9 and masked probabilities are zeroed (a fully masked row gives zeros)."""
        mask = attention_mask
        if mask is not None:
            mask = _core.expand_mask(
                jnp.asarray(mask), attention_scores.ndim, len(self.attention_axes)
            )
        return self._softmax(attention_scores, mask=mask)

    def _compute_attention_mask(
        self,
        query,
        value,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        use_causal_mask=False,
    ):
        """One boolean ``(B, T, S)``-broadcastable mask from the inputs' masks, the
        explicit ``attention_mask``, the causal and the sliding-window masks (logical
        AND), or ``None`` when nothing masks."""
        return _core.combine_masks(
            query.shape[1],
            value.shape[1],
            query_mask,
            value_mask,
            key_mask,
            attention_mask,
            use_causal_mask,
            self.sliding_window,
        )

    def _compute_causal_mask(self, query, value=None):
        """``(1, T, S)``: query ``i`` sees keys ``j <= i``."""
        q_len = query.shape[1]
        return _core.causal_mask(q_len, q_len if value is None else value.shape[1])

    # -- config ------------------------------------------------------------------------
    # Keras saves the projections under these public names (weights-file paths).
    query_dense = property(lambda self: self._query_dense)
    key_dense = property(lambda self: self._key_dense)
    value_dense = property(lambda self: self._value_dense)
    output_dense = property(lambda self: self._output_dense)

    def get_config(self):
        config = {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "use_gate": self.use_gate,
            "output_shape": self._output_shape,
            "attention_axes": self.attention_axes,
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
