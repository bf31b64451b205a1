"""The ``Loss`` base class, ``LossFunctionWrapper`` and the Keras 3 reductions.

A loss is a pure function of arrays: ``call(y_true, y_pred)`` returns per-sample values,
``__call__`` weights and reduces them. Everything shape-related is decided from static
shapes, so every loss traces once under ``jax.jit`` and raises its errors at trace time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import _mask_count, _naming, config
from kerax.losses._checks import squeeze_or_expand_to_same_rank

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def standardize_reduction(reduction: str | None) -> str | None:
    """Check a reduction name and return it unchanged.

    Args:
        reduction: one of ``"sum_over_batch_size"``, ``"sum"``, ``"mean"``,
            ``"mean_with_sample_weight"``, ``"none"`` or ``None``.

    Returns:
        ``reduction``.

    Raises:
        ValueError: for any other value.

    >>> standardize_reduction("sum")
    'sum'
    """
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"Invalid loss reduction. Expected one of {REDUCTIONS}. "
            f"Received: reduction={reduction!r}"
        )
    return reduction


def _divide_no_nan(num, den):
    # The double `where` keeps the gradient finite when den == 0.
    safe = jnp.where(den == 0, jnp.ones_like(den), den)
    return jnp.where(den == 0, jnp.zeros_like(num), num / safe)


def _weights_like(values, weights, arg: str):
    """Line ``weights`` up with ``values`` from the left, as Keras 2 did; error on misfit."""
    values, weights = squeeze_or_expand_to_same_rank(values, weights)
    if 0 < weights.ndim < values.ndim:
        # (batch,) weights against (batch, time) values weigh whole rows.
        weights = weights.reshape(weights.shape + (1,) * (values.ndim - weights.ndim))
    try:
        shape = np.broadcast_shapes(values.shape, weights.shape)
    except ValueError:
        shape = None
    if shape is None or (values.ndim > 0 and weights.ndim > values.ndim):
        raise ValueError(
            f"{arg} of shape {weights.shape} does not fit per-sample loss values of "
            f"shape {values.shape}. Pass {arg} with shape (batch,) or the shape of the "
            "loss values."
        )
    return values, weights


def reduce_weighted_values(
    values,
    sample_weight=None,
    mask=None,
    reduction: str | None = "sum_over_batch_size",
    dtype=None,
) -> jax.Array:
    """Weight per-sample loss values and reduce them the Keras 3 way.

    A ``mask`` multiplies into ``sample_weight``; for ``"sum_over_batch_size"`` and
    ``"mean"`` it is rescaled by ``total / valid`` so the mean runs over the valid
    entries only, which makes a zero-padded batch with a 0/1 mask give exactly the loss
    of the unpadded batch.

    Args:
        values: per-sample losses.
        sample_weight: optional weights broadcastable to ``values`` (aligned from the
            left, so ``(batch,)`` weighs whole rows).
        mask: optional 0/1 (or bool) array broadcastable to ``values`` the same way.
        reduction: see :func:`standardize_reduction`.
        dtype: computation dtype; defaults to ``values``' dtype.

    Returns:
        A scalar, or the weighted ``values`` for ``"none"``/``None`` (and for scalar
        ``values``).

    >>> float(reduce_weighted_values(jnp.array([1.0, 3.0, 9.0]), mask=jnp.array([1, 1, 0])))
    2.0
    """
    reduction = standardize_reduction(reduction)
    values = jnp.asarray(values, dtype=dtype)
    weights = None
    if mask is not None and values.ndim == 0 and sample_weight is None:
        # A batch-level loss (Dice with axis=None) has no per-sample entries to mask;
        # spreading it over the mask would make "sum" count it once per valid sample.
        mask = None
    if mask is not None:
        count = _mask_count.total(mask) if reduction in ("mean", "sum_over_batch_size") else None
        valid = jnp.asarray(mask).astype(bool)
        values, valid_b = _weights_like(values, valid, "mask")
        # `where`, not a product: padded rows may hold inf/nan (log of a zero output),
        # and nan * 0 is nan.
        values = jnp.where(valid_b, values, jnp.zeros((), values.dtype))
        if reduction in ("mean", "sum_over_batch_size"):
            # count: the mask's sum (known without a reduction in fit, see _mask_count)
            scale = _divide_no_nan(
                jnp.asarray(valid.size, values.dtype), count.astype(values.dtype)
            )
            weights = jnp.where(valid_b, scale, jnp.zeros((), values.dtype))
        else:
            weights = valid_b.astype(values.dtype)
    if sample_weight is not None:
        sample_weight = jnp.asarray(sample_weight).astype(values.dtype)
        values, sample_weight = _weights_like(values, sample_weight, "sample_weight")
        if weights is not None:
            # A (batch, 1) weight turns (batch,) values into (batch, 1): the mask
            # weights, lined up with the old values, must follow or they broadcast
            # to (batch, batch).
            _, weights = _weights_like(values, weights, "mask")
        weights = sample_weight if weights is None else weights * sample_weight
    if weights is not None:
        values = values * weights
    if reduction in (None, "none") or values.ndim == 0:
        return values
    total = jnp.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weights is not None:
        divisor = jnp.sum(jnp.broadcast_to(weights, values.shape))
    else:
        divisor = jnp.asarray(values.size, values.dtype)
    return _divide_no_nan(total, divisor)


def _compute_dtype(dtype) -> str:
    """The computation dtype of a dtype, a ``"mixed_*"`` policy name, or a policy object."""
    dtype = getattr(dtype, "compute_dtype", dtype) or config.floatx()
    if isinstance(dtype, str) and dtype.startswith("mixed_"):
        dtype = dtype[len("mixed_") :]
    try:
        return jnp.dtype(dtype).name
    except TypeError:
        raise ValueError(
            "A loss dtype must be a float dtype such as 'float32', or a policy such as "
            f"'mixed_float16'. Received: dtype={dtype!r}"
        ) from None


class Loss:
    """Base class of all losses; subclass it and override ``call`` for a custom loss.

    Args:
        name: name of the loss; defaults to the snake-cased class name, made unique
            (``squares``, ``squares_1``, ...) as in Keras.
        reduction: ``"sum_over_batch_size"`` (default: weighted sum over the number of
            elements), ``"sum"``, ``"mean"`` (same as the default),
            ``"mean_with_sample_weight"`` (weighted sum over the sum of the weights),
            ``"none"`` or ``None`` (no reduction).
        dtype: computation dtype; defaults to ``kerax.config.floatx()``.

    Raises:
        ValueError: for an unknown reduction.

    >>> class Squares(Loss):
    ...     def call(self, y_true, y_pred):
    ...         return jnp.mean((y_pred - y_true) ** 2, axis=-1)
    >>> float(Squares()(jnp.zeros((2, 2)), jnp.ones((2, 2))))
    1.0
    """

    def __init__(self, name: str | None = None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or _naming.unique_name(_naming.to_snake_case(type(self).__name__))
        self.reduction = standardize_reduction(reduction)
        self._explicit_dtype = dtype
        self._dtype = _compute_dtype(dtype)

    @property
    def dtype(self) -> str:
        """The computation dtype, e.g. ``"float32"``."""
        return self._dtype

    def call(self, y_true, y_pred) -> jax.Array:
        """Per-sample loss values; subclasses override this."""
        raise NotImplementedError(
            f"{type(self).__name__} must override `call(self, y_true, y_pred)` to "
            "return per-sample loss values."
        )

    def _output_mask(self, y_true, y_pred, values):
        """A bool mask over ``values`` that the loss itself produces, or ``None``."""
        return None

    def __call__(self, y_true, y_pred, sample_weight=None, mask=None) -> jax.Array:
        """Compute the weighted, reduced loss.

        Args:
            y_true: targets (any pytree matching what ``call`` expects).
            y_pred: predictions.
            sample_weight: optional per-sample weights, e.g. shape ``(batch,)``.
            mask: optional 0/1 mask broadcastable to the per-sample values, e.g.
                ``(batch,)``; padded entries then do not count in the mean.

        Returns:
            The loss: a scalar, or per-sample values when ``reduction`` is ``"none"``.

        Raises:
            ValueError: if the targets do not fit the predictions, or ``sample_weight``
                or ``mask`` do not fit the per-sample values.
        """
        to_dtype = lambda x: jnp.asarray(x).astype(self.dtype)
        y_true = jax.tree.map(to_dtype, y_true)
        y_pred = jax.tree.map(to_dtype, y_pred)
        values = self.call(y_true, y_pred)
        out_mask = self._output_mask(y_true, y_pred, values)
        if out_mask is not None and mask is not None:
            _, in_mask = _weights_like(out_mask, jnp.asarray(mask).astype(bool), "mask")
            mask = jnp.logical_and(in_mask, out_mask)
        elif out_mask is not None:
            mask = out_mask
        return reduce_weighted_values(values, sample_weight, mask, self.reduction, self.dtype)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments as a JSON-friendly dict."""
        config_ = {"name": self.name, "reduction": self.reduction}
        if self._explicit_dtype is not None:
            config_["dtype"] = self._dtype
        return config_

    @classmethod
    def from_config(cls, config_: dict[str, Any]) -> Loss:
        """Rebuild a loss from :meth:`get_config`'s output."""
        return cls(**config_)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} reduction={self.reduction!r}>"


class LossFunctionWrapper(Loss):
    """Turn a per-sample loss function ``fn(y_true, y_pred, **kwargs)`` into a ``Loss``.

    Args:
        fn: the loss function.
        reduction: see :class:`Loss`.
        name: defaults to ``fn.__name__`` (Keras uses ``"loss_function_wrapper"``,
            which is still the name for lambdas).
        dtype: see :class:`Loss`.
        **kwargs: passed to ``fn`` on every call.

    Raises:
        TypeError: if ``fn`` is not callable.

    >>> from kerax.losses import huber
    >>> loss = LossFunctionWrapper(huber, delta=0.5)
    >>> float(loss(jnp.zeros((1, 2)), jnp.full((1, 2), 2.0)))
    0.875
    """

    # Built-in subclasses fix `fn`, so it is not part of their config.
    _config_has_fn = True

    def __init__(
        self,
        fn: Callable[..., jax.Array],
        reduction="sum_over_batch_size",
        name: str | None = None,
        dtype=None,
        **kwargs,
    ):
        if not callable(fn):
            raise TypeError(
                f"LossFunctionWrapper expects a callable `fn(y_true, y_pred)`. Received: fn={fn!r}"
            )
        fn_name = getattr(fn, "__name__", None)
        # A lambda falls back to Keras's auto name, "loss_function_wrapper".
        name = name or (fn_name if fn_name != "<lambda>" else None)
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = dict(kwargs)
        if not self._config_has_fn:
            for key, value in kwargs.items():
                setattr(self, key, value)

    def _output_mask(self, y_true, y_pred, values):
        """The mask ``fn`` attaches to its values, as Keras's functions do (given by its
        ``output_mask`` attribute: ``sparse_categorical_crossentropy`` with
        ``ignore_class``), else ``None``."""
        output_mask = getattr(self.fn, "output_mask", None)
        if output_mask is None:
            return None
        return output_mask(y_true, y_pred, **self._fn_kwargs)

    def _fn_for(self, y_true, y_pred) -> Callable[..., jax.Array]:
        """The function to call on these (not yet reconciled) targets; ``fn`` here."""
        return self.fn

    def call(self, y_true, y_pred) -> jax.Array:
        """Per-sample values of ``fn`` after reconciling ranks as Keras does."""
        fn = self._fn_for(y_true, y_pred)
        if isinstance(y_true, jax.Array) and isinstance(y_pred, jax.Array):
            y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments; ``fn`` is serialized in the Keras 3 format."""
        config_ = super().get_config()
        if self._config_has_fn:
            from kerax.losses import serialize

            config_["fn"] = serialize(self.fn)
        config_.update(self._fn_kwargs)
        return config_

    @classmethod
    def from_config(cls, config_: dict[str, Any]) -> Loss:
        """Rebuild the wrapper, deserializing ``fn`` when present."""
        config_ = dict(config_)
        if "fn" in config_:
            from kerax.losses import deserialize

            config_["fn"] = deserialize(config_["fn"])
        return cls(**config_)

    def __repr__(self) -> str:
        fn_name = getattr(self.fn, "__name__", repr(self.fn))
        return f"<{type(self).__name__}({fn_name}, kwargs={self._fn_kwargs})>"


class BuiltinWrapper(LossFunctionWrapper):
    """A built-in loss class: ``fn`` is fixed, its keyword arguments are attributes."""

    _config_has_fn = False
