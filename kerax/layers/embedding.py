"""Embedding and Masking: the layers that start Keras masks.

A Keras mask marks which timesteps of a ``(batch, timesteps, ...)`` tensor are real
data. ``Embedding(mask_zero=True)`` masks the positions holding index 0 (padding);
``Masking`` masks the timesteps whose features all equal ``mask_value``. The layer
base carries the mask to every later layer: those with ``supports_masking`` pass it
on, and a ``call`` that accepts ``mask=`` receives it.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from kerax import _warnings, constraints, initializers, regularizers
from kerax.layers import _lora, _quantize
from kerax.layers.base import Layer


def _check_dim(value: Any, arg: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(
            f"Embedding {arg} must be a positive integer. Received: {arg}={value!r} "
            f"(of type {type(value).__name__})."
        )
    return int(value)


class Embedding(_quantize.Quantizable, _lora.LoRA, Layer):
    """Turns integer indices into dense vectors: row ``i`` of ``embeddings`` for index ``i``.

    Args:
        input_dim: the vocabulary size (largest index + 1).
        output_dim: the size of each vector.
        embeddings_initializer: initializer of the ``(input_dim, output_dim)`` matrix
            (Keras default ``"uniform"``: uniform in [-0.05, 0.05]).
        embeddings_regularizer: a penalty added to the loss.
        embeddings_constraint: a projection after each update.
        mask_zero: index 0 is padding: the output carries a mask that is ``False``
            where the input is 0, for the layers that follow (``input_dim`` must then
            count index 0).
        weights: an optional initial ``(input_dim, output_dim)`` matrix (or a list
            holding it).
        input_length: deprecated in Keras 3 and ignored, with a warning, as there.
        lora_rank: if set, LoRA is enabled at build time with this rank (see
            ``enable_lora``): ``embeddings`` is frozen and the update
            ``lora_embeddings_a @ lora_embeddings_b`` (``(input_dim, rank)`` and
            ``(rank, output_dim)``) is trained instead.
        lora_alpha: the LoRA update's scale is ``lora_alpha / lora_rank`` (default
            ``lora_rank``).
        quantization_config: the ``keras.quantizers`` config of a quantized layer.
            ``quantize("int8")`` makes ``embeddings`` int8 with one scale per row
            (``embeddings_scale``, shape ``(input_dim,)``); ``quantize("int4")``
            packs each row two values per byte, as Keras does.

    Inputs of any integer dtype; floating inputs are cast to int32 as Keras does.
    Indices outside ``[0, input_dim)`` give NaN rows (JAX's gather fills them).

    Input shape ``(batch, ...)``; output shape ``(batch, ..., output_dim)``.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.embedding import Embedding
        >>> layer = Embedding(10, 4, mask_zero=True)
        >>> layer(np.array([[1, 2, 0]])).shape
        (1, 3, 4)
        >>> layer.compute_mask(np.array([[1, 2, 0]])).tolist()
        [[True, True, False]]
    """

    _lora_weight = "embeddings"
    embeddings = _lora.adapted_weight("embeddings")
    _embeddings = _lora.frozen_weight("embeddings")

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer: Any = "uniform",
        embeddings_regularizer: Any = None,
        embeddings_constraint: Any = None,
        mask_zero: bool = False,
        weights: Any = None,
        lora_rank: int | None = None,
        lora_alpha: float | None = None,
        quantization_config: Any = None,
        **kwargs,
    ):
        if kwargs.pop("input_length", None) is not None:
            _warnings.warn(
                "Embedding argument `input_length` is deprecated (as in Keras 3) and "
                "ignored. Just remove it; give the input shape with keras.Input instead."
            )
        super().__init__(**kwargs)
        self._set_quantization_config(quantization_config)
        self.input_dim = _check_dim(input_dim, "input_dim")
        self.output_dim = _check_dim(output_dim, "output_dim")
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        # As in Keras: indices are not floats to cast, and the matrix is gathered in its
        # own dtype, the rows then cast to the compute dtype.
        self.autocast = False
        self._init_lora(lora_rank, lora_alpha)
        if weights is not None:
            rank = self.lora_rank
            self.lora_rank = None  # the given matrix is the frozen one: set it first
            self.build()
            single = isinstance(weights, list) and len(weights) == 1
            self.set_weights(weights if single else [weights])
            self.lora_rank = rank
            self._build_lora()

    def build(self, input_shape=None):
        if self.built:
            return
        if self.quantization_mode is not None:
            self._build_quantized((self.input_dim, self.output_dim))
        else:
            self.embeddings = self.add_weight(
                shape=(self.input_dim, self.output_dim),
                initializer=self.embeddings_initializer,
                regularizer=self.embeddings_regularizer,
                constraint=self.embeddings_constraint,
                name="embeddings",
            )
        self.built = True
        self._build_lora()

    def call(self, inputs):
        if not jnp.issubdtype(inputs.dtype, jnp.integer):
            inputs = inputs.astype(jnp.int32)
        if self.quantization_mode is not None:
            return self._quantized_lookup(inputs)
        return jnp.take(self.embeddings, inputs, axis=0).astype(self.compute_dtype)

    def _quantized_lookup(self, inputs):
        # No custom gradient: nothing upstream of the indices is differentiable.
        arrays, compute = self._quantized_arrays(), self.compute_dtype
        q = arrays["weight"]
        if self.quantization_mode == "int4":
            q = self._int4_unpacked(q)
        rows = jnp.take(q, inputs, axis=0).astype(compute)
        scale = jnp.take(arrays["scale"], inputs, axis=0)
        if "zero" in arrays:  # int4 in groups of output features
            zero = jnp.take(arrays["zero"], inputs, axis=0)
            out = _quantize.dequantize_groups(rows, scale, zero, arrays["g_idx"], axis=-1)
        else:
            out = rows / scale[..., None]
        if self.lora_enabled:
            a_name, b_name = self._lora_names()
            a, b = getattr(self, a_name), getattr(self, b_name)
            lora = jnp.matmul(jnp.take(a, inputs, axis=0), b)
            out = (out + (self.lora_alpha / self.lora_rank) * lora).astype(self.compute_dtype)
        return out

    # -- quantization: int8 scales per row; int4 packs each row (as Keras); no float8 ----
    _int4_transposed = True
    _float8_supported = False

    def _scale_shape(self, weight_shape):
        return (weight_shape[0],)

    def _default_weight_quantizer(self):
        from kerax.quantizers import AbsMaxQuantizer

        return AbsMaxQuantizer(axis=-1)

    def _quantize_weight(self, w, quantizer):
        q, scale = quantizer(w, to_numpy=True)
        return q, jnp.squeeze(scale, axis=-1)

    def _dequantize_weight(self, q, scale):
        return q / scale[:, None]

    def compute_mask(self, inputs, previous_mask=None):
        if not self.mask_zero:
            return None
        return jnp.asarray(inputs) != 0

    def get_config(self):
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
            **self._lora_config(),
            **self._quantize_config(),
        }


class Masking(Layer):
    """Masks the timesteps whose features all equal ``mask_value``, and zeroes them.

    The output carries a ``(batch, timesteps)`` mask, ``False`` at those timesteps, for
    the layers that follow (e.g. a recurrent layer skips them).

    Args:
        mask_value: the padding value.

    Input shape ``(batch, timesteps, features)`` (any rank: the last axis holds the
    features); output shape: the same.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.embedding import Masking
        >>> x = np.array([[[1.0, 2.0], [0.0, 0.0]]])
        >>> Masking()(x).tolist(), Masking().compute_mask(x).tolist()
        ([[[1.0, 2.0], [0.0, 0.0]]], [[True, False]])
    """

    _built_at_init = True  # Keras builds it in __init__: no build config
    supports_masking = True

    def __init__(self, mask_value: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float)):
            raise TypeError(
                f"Masking mask_value must be a number. Received: mask_value={mask_value!r}"
            )
        self.mask_value = mask_value

    def _check(self, inputs) -> None:
        if jnp.ndim(inputs) < 2:
            raise ValueError(
                f"Layer '{self.name}' (Masking) expects inputs of rank >= 2, shaped "
                f"(batch, ..., features); received shape {tuple(jnp.shape(inputs))}."
            )

    def compute_mask(self, inputs, previous_mask=None):
        self._check(inputs)
        return jnp.any(jnp.asarray(inputs) != self.mask_value, axis=-1)

    def call(self, inputs):
        self._check(inputs)
        keep = jnp.any(inputs != self.mask_value, axis=-1, keepdims=True)
        return jnp.where(keep, inputs, jnp.zeros_like(inputs))

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


def _reverse_product(x, table, preferred_element_type):
    """``x @ table.T``: hidden vectors to logits over the vocabulary."""
    return jnp.matmul(x, table.T, preferred_element_type=preferred_element_type)


class ReversibleEmbedding(Embedding):
    """An ``Embedding`` that also maps vectors back to logits over the vocabulary.

    ``layer(ids)`` embeds as ``Embedding`` does; ``layer(hidden, reverse=True)`` returns
    ``hidden @ embeddings.T`` (tied weights, as in language models whose output layer
    shares the input embedding, Press & Wolf 2017, https://arxiv.org/abs/1608.05859)
    or ``hidden @ reverse_embeddings`` with ``tie_weights=False``.

    Args:
        input_dim, output_dim, embeddings_initializer, embeddings_regularizer,
            embeddings_constraint, mask_zero: as for ``Embedding``.
        tie_weights: reuse ``embeddings`` for the reverse projection (default); False
            adds a separate ``(output_dim, input_dim)`` weight ``reverse_embeddings``
            (same initializer).
        reverse_dtype: a dtype both operands of the float reverse matmul are cast to.
        logit_soft_cap: if set, reverse logits become ``tanh(logits / cap) * cap``.

    ``quantize("int8")`` / ``quantize("int4")`` quantize ``embeddings`` as ``Embedding``
    does and, untied, ``reverse_embeddings`` with its own scales (one per vocabulary
    entry; int4 packed along ``output_dim``, Keras's layout). The reverse call then
    quantizes its inputs per row (unless the config's ``activation_quantizer`` is
    ``None``, int4's default) and multiplies in int8 with int32 accumulation; grouped
    int4 dequantizes first, as in Keras. No LoRA update and no ``reverse_dtype`` on the
    quantized reverse path (as in Keras).

    Shapes: ``(batch, ...)`` -> ``(batch, ..., output_dim)``; reversed,
    ``(batch, ..., output_dim)`` -> ``(batch, ..., input_dim)`` (no mask).

    Example:
        >>> import numpy as np
        >>> from kerax.layers.embedding import ReversibleEmbedding
        >>> layer = ReversibleEmbedding(10, 4)
        >>> hidden = layer(np.array([[1, 2]]))
        >>> layer(hidden, reverse=True).shape
        (1, 2, 10)
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        tie_weights: bool = True,
        embeddings_initializer: Any = "uniform",
        embeddings_regularizer: Any = None,
        embeddings_constraint: Any = None,
        mask_zero: bool = False,
        reverse_dtype: Any = None,
        logit_soft_cap: float | None = None,
        **kwargs,
    ):
        super().__init__(
            input_dim,
            output_dim,
            embeddings_initializer=embeddings_initializer,
            embeddings_regularizer=embeddings_regularizer,
            embeddings_constraint=embeddings_constraint,
            mask_zero=mask_zero,
            **kwargs,
        )
        if logit_soft_cap is not None and not (
            isinstance(logit_soft_cap, (int, float)) and logit_soft_cap > 0
        ):
            raise ValueError(
                f"Layer '{self.name}' (ReversibleEmbedding): logit_soft_cap must be a positive "
                f"number or None. Received: logit_soft_cap={logit_soft_cap!r}"
            )
        self.tie_weights = bool(tie_weights)
        self.reverse_dtype = None if reverse_dtype is None else jnp.dtype(reverse_dtype).name
        self.logit_soft_cap = logit_soft_cap
        self.__dict__["_reversed"] = False

    def build(self, input_shape=None):
        if self.built:
            return
        super().build(input_shape)  # a quantized layer builds its twin there
        if not self.tie_weights and self.quantization_mode is None:
            self.reverse_embeddings = self.add_weight(
                shape=(self.output_dim, self.input_dim),
                initializer=self.embeddings_initializer,
                name="reverse_embeddings",
            )

    def call(self, inputs, reverse=False):
        self.__dict__["_reversed"] = bool(reverse)  # read by compute_mask, right after
        if not reverse:
            return super().call(inputs)
        if inputs.shape[-1] != self.output_dim:
            raise ValueError(
                f"Layer '{self.name}' (ReversibleEmbedding) with reverse=True expects inputs "
                f"with last axis {self.output_dim} (output_dim). Received: "
                f"inputs.shape={tuple(inputs.shape)}"
            )
        if self.quantization_mode is not None:
            twin = None if self.tie_weights else "reverse_embeddings"
            logits = self._quantized_product(
                inputs, _reverse_product, -1, lambda s: s, weight=twin, with_lora=False
            )
        else:
            kernel = self.embeddings.T if self.tie_weights else self.reverse_embeddings
            if self.reverse_dtype is not None:
                inputs = inputs.astype(self.reverse_dtype)
                kernel = kernel.astype(self.reverse_dtype)
            logits = jnp.matmul(inputs, kernel)
        if self.logit_soft_cap is not None:
            logits = jnp.tanh(logits / self.logit_soft_cap) * self.logit_soft_cap
        return logits

    def compute_mask(self, inputs, previous_mask=None):
        return None if self.__dict__["_reversed"] else super().compute_mask(inputs, previous_mask)

    # -- quantization: the untied reverse weight is a twin of the table (_quantize) -----
    def quantize(self, mode=None, type_check=True, config=None):
        # As Keras: ReversibleEmbedding quantizes, its subclasses only without type_check.
        exact = type(self) is ReversibleEmbedding
        super().quantize(mode, type_check=type_check and not exact, config=config)

    def _quantized_twins(self):
        return [] if self.tie_weights else ["reverse_embeddings"]

    def _input_quantizer(self):
        # Keras's reverse call: built from a policy alone, int4 quantizes its inputs too.
        if self.quantization_config is None:
            from kerax.quantizers import AbsMaxQuantizer

            return AbsMaxQuantizer(axis=-1)
        return self.quantization_config.activation_quantizer

    def get_config(self):
        return {
            **super().get_config(),
            "tie_weights": self.tie_weights,
            "reverse_dtype": self.reverse_dtype,
            "logit_soft_cap": self.logit_soft_cap,
        }
