"""Cross-entropy losses: binary, categorical (one-hot) and sparse (integer labels).

With ``from_logits=False`` probabilities are clipped to ``[epsilon, 1 - epsilon]``
(``kerax.config.epsilon()``) exactly as Keras does, so the numbers match Keras; with
``from_logits=True`` the numerically stable optax formulations are used.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from kerax import config
from kerax.losses._base import BuiltinWrapper, Loss
from kerax.losses._checks import (
    align,
    align_categorical,
    as_float,
    check_axis,
    check_unit_interval,
    smooth_labels,
)

ArrayLike = jax.typing.ArrayLike


def clipped_bce(y_true, probs):
    """Element-wise binary cross-entropy of probabilities clipped away from 0 and 1."""
    eps = config.epsilon()
    probs = jnp.clip(probs, eps, 1.0 - eps)
    return -(y_true * jnp.log(probs) + (1.0 - y_true) * jnp.log(1.0 - probs))


def clipped_probs(y_pred, axis):
    """Renormalize probabilities along ``axis`` and clip them as Keras does."""
    eps = config.epsilon()
    probs = y_pred / jnp.sum(y_pred, axis=axis, keepdims=True)
    # jnp.clip's maximum-then-minimum with lax (no jitted jnp function to trace first)
    low = jax.lax.max(jnp.full_like(probs, eps), probs)
    return jax.lax.min(jnp.full_like(probs, 1.0 - eps), low)


def binary_crossentropy(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> jax.Array:
    """Binary cross-entropy, averaged over ``axis``.

    Args:
        y_true: 0/1 targets, shape ``(batch, d)`` (``(batch,)`` against ``(batch, 1)``
            is fine).
        y_pred: probabilities, or logits with ``from_logits=True``; same shape.
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: in [0, 1]; targets become ``y * (1 - s) + s / 2``.
        axis: the axis averaged over.

    Returns:
        Per-sample losses, shape ``(batch,)``.

    Raises:
        ValueError: if the shapes differ beyond a trailing axis of size 1.

    >>> round(float(binary_crossentropy(jnp.array([[1.0, 0.0]]), jnp.array([[0.8, 0.2]]))[0]), 4)
    0.2231
    """
    check_axis(axis, "binary_crossentropy")
    y_true, y_pred = align(y_true, y_pred, "binary_crossentropy")
    y_true = smooth_labels(y_true, label_smoothing, 2.0)
    if from_logits:
        elementwise = optax.losses.sigmoid_binary_cross_entropy(y_pred, y_true)
    else:
        elementwise = clipped_bce(y_true, y_pred)
    return jnp.mean(elementwise, axis=axis)


def categorical_crossentropy(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> jax.Array:
    """Cross-entropy between one-hot targets and predicted class distributions.

    Args:
        y_true: one-hot (or soft) targets, shape ``(batch, num_classes)``.
        y_pred: probabilities (renormalized along ``axis``), or logits with
            ``from_logits=True``; same shape.
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: in [0, 1]; targets become ``y * (1 - s) + s / num_classes``.
        axis: the class axis.

    Returns:
        Per-sample losses, shape ``(batch,)``.

    Raises:
        ValueError: for integer class labels (shape ``(batch,)`` or ``(batch, 1)``);
            use :func:`sparse_categorical_crossentropy` for those.

    >>> y_true = jnp.array([[0.0, 1.0, 0.0]])
    >>> round(float(categorical_crossentropy(y_true, jnp.array([[0.1, 0.8, 0.1]]))[0]), 4)
    0.2231
    """
    check_axis(axis, "categorical_crossentropy")
    y_true, y_pred = align_categorical(y_true, y_pred, "categorical_crossentropy")
    y_true = smooth_labels(y_true, label_smoothing, y_pred.shape[axis])
    if from_logits:
        return optax.losses.softmax_cross_entropy(y_pred, y_true, axis=axis)
    return -jnp.sum(y_true * jnp.log(clipped_probs(y_pred, axis)), axis=axis)


def sparse_labels(y_true, y_pred, axis, loss):
    """Integer labels shaped like ``y_pred`` without its class axis.

    Returns:
        ``(labels, class_axis)`` with ``labels`` int32.

    Raises:
        ValueError: if ``y_true`` does not have that shape (one-hot labels, say).
    """
    y_true = jnp.asarray(y_true)
    if y_pred.ndim < 1:
        raise ValueError(
            f"Loss '{loss}' needs y_pred of rank >= 1 (batch, ..., num_classes). "
            f"Received: y_pred.shape={y_pred.shape}."
        )
    class_axis = int(axis) % y_pred.ndim
    if y_true.ndim == y_pred.ndim and y_true.shape[class_axis] == 1:
        y_true = jnp.squeeze(y_true, class_axis)
    expected = tuple(np.delete(np.array(y_pred.shape, dtype=int), class_axis).tolist())
    if y_true.shape != expected:
        raise ValueError(
            f"Loss '{loss}' expects integer class labels of shape {expected} (y_pred's "
            f"shape without the class axis {axis}; a size-1 class axis is also fine). "
            f"Received: y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}. "
            "For one-hot targets use categorical_crossentropy."
        )
    return y_true.astype(jnp.int32), class_axis


def sparse_categorical_crossentropy(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    from_logits: bool = False,
    ignore_class: int | None = None,
    axis: int = -1,
) -> jax.Array:
    """Cross-entropy between integer class labels and predicted class distributions.

    Args:
        y_true: integer labels, shape ``(batch,)`` or ``(batch, 1)`` (more generally
            ``y_pred``'s shape without the class axis).
        y_pred: probabilities, or logits with ``from_logits=True``; shape
            ``(batch, num_classes)``.
        from_logits: whether ``y_pred`` holds logits.
        ignore_class: a label value whose entries get loss 0 (e.g. a padding class).
        axis: the class axis.

    Returns:
        Per-sample losses, shape ``(batch,)``.

    Raises:
        ValueError: if ``y_true`` is not shaped like ``y_pred`` without its class axis.

    >>> y_pred = jnp.array([[0.1, 0.8, 0.1]])
    >>> round(float(sparse_categorical_crossentropy(jnp.array([1]), y_pred)[0]), 4)
    0.2231
    """
    check_axis(axis, "sparse_categorical_crossentropy")
    y_pred = as_float(y_pred)
    labels, class_axis = sparse_labels(y_true, y_pred, axis, "sparse_categorical_crossentropy")
    if ignore_class is not None:
        valid = labels != ignore_class
        labels = jnp.where(valid, labels, 0)
    if from_logits:
        res = optax.losses.softmax_cross_entropy_with_integer_labels(
            y_pred, labels, axis=class_axis
        )
    else:
        # One-hot rather than a gather: out-of-range labels give 0 as in Keras.
        one_hot = jax.nn.one_hot(
            labels, y_pred.shape[class_axis], dtype=y_pred.dtype, axis=class_axis
        )
        res = -jnp.sum(one_hot * jnp.log(clipped_probs(y_pred, class_axis)), axis=class_axis)
    if ignore_class is not None:
        res = jnp.where(valid, res, jnp.zeros((), res.dtype))
    return res


def _ignore_class_mask(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Where the labels are not ``ignore_class`` (``None`` without one): the mask Keras
    attaches to :func:`sparse_categorical_crossentropy`'s values, so that ignored
    entries do not count in the mean."""
    if ignore_class is None:
        return None
    labels, _ = sparse_labels(y_true, as_float(y_pred), axis, "sparse_categorical_crossentropy")
    return labels != ignore_class


sparse_categorical_crossentropy.output_mask = _ignore_class_mask


def _check_from_logits(from_logits, name):
    if not isinstance(from_logits, (bool, np.bool_)):
        raise TypeError(
            f"Loss '{name}' expects a bool `from_logits`. Received: from_logits={from_logits!r}."
        )


class BinaryCrossentropy(BuiltinWrapper):
    """Binary cross-entropy; see :func:`binary_crossentropy`.

    Args:
        from_logits: whether ``y_pred`` holds logits rather than probabilities.
        label_smoothing: in [0, 1].
        axis: the axis averaged over.
        reduction: see :class:`kerax.losses.Loss`.
        name: defaults to ``"binary_crossentropy"``.
        dtype: computation dtype, defaults to ``floatx()``.

    Raises:
        ValueError: if ``label_smoothing`` is outside [0, 1] or ``axis`` is not an int.

    >>> loss = BinaryCrossentropy(from_logits=True)
    >>> round(float(loss(jnp.array([[1.0]]), jnp.array([[0.0]]))), 4)
    0.6931
    """

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="binary_crossentropy",
        dtype=None,
    ):
        _check_from_logits(from_logits, name)
        check_unit_interval(label_smoothing, "label_smoothing", name)
        check_axis(axis, name)
        super().__init__(
            binary_crossentropy,
            reduction=reduction,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )


class CategoricalCrossentropy(BuiltinWrapper):
    """Categorical cross-entropy for one-hot targets; see :func:`categorical_crossentropy`.

    Args:
        from_logits: whether ``y_pred`` holds logits rather than probabilities.
        label_smoothing: in [0, 1].
        axis: the class axis.
        reduction: see :class:`kerax.losses.Loss`.
        name: defaults to ``"categorical_crossentropy"``.
        dtype: computation dtype, defaults to ``floatx()``.

    Raises:
        ValueError: if ``label_smoothing`` is outside [0, 1] or ``axis`` is not an int.

    >>> loss = CategoricalCrossentropy()
    >>> round(float(loss(jnp.array([[0.0, 1.0]]), jnp.array([[0.5, 0.5]]))), 4)
    0.6931
    """

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="categorical_crossentropy",
        dtype=None,
    ):
        _check_from_logits(from_logits, name)
        check_unit_interval(label_smoothing, "label_smoothing", name)
        check_axis(axis, name)
        super().__init__(
            categorical_crossentropy,
            reduction=reduction,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )


class SparseCategoricalCrossentropy(BuiltinWrapper):
    """Cross-entropy for integer labels; see :func:`sparse_categorical_crossentropy`.

    Entries labelled ``ignore_class`` are masked out: they neither add to the loss nor
    count in the ``"sum_over_batch_size"`` mean.

    Args:
        from_logits: whether ``y_pred`` holds logits rather than probabilities.
        ignore_class: optional label value to ignore.
        reduction: see :class:`kerax.losses.Loss`.
        axis: the class axis.
        name: defaults to ``"sparse_categorical_crossentropy"``.
        dtype: computation dtype, defaults to ``floatx()``.

    Raises:
        ValueError: if ``ignore_class`` is not an int or ``None``, or ``axis`` is not an
            int.

    >>> loss = SparseCategoricalCrossentropy(ignore_class=0)
    >>> y_pred = jnp.array([[0.5, 0.5], [0.5, 0.5]])
    >>> round(float(loss(jnp.array([0, 1]), y_pred)), 4)
    0.6931
    """

    def __init__(
        self,
        from_logits=False,
        ignore_class=None,
        reduction="sum_over_batch_size",
        axis=-1,
        name="sparse_categorical_crossentropy",
        dtype=None,
    ):
        _check_from_logits(from_logits, name)
        check_axis(axis, name)
        if ignore_class is not None and (
            isinstance(ignore_class, bool) or not isinstance(ignore_class, (int, np.integer))
        ):
            raise ValueError(
                f"Loss '{name}' expects an int or None `ignore_class`. Received: "
                f"ignore_class={ignore_class!r}."
            )
        super().__init__(
            sparse_categorical_crossentropy,
            reduction=reduction,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            ignore_class=ignore_class,
            axis=axis,
        )


def pick_crossentropy(y_true, y_pred):
    """The cross-entropy Keras's ``compile(loss="crossentropy")`` picks from the shapes.

    Binary when ``y_pred``'s last axis is 1; sparse categorical when ``y_true`` has
    fewer axes than ``y_pred``, or a last axis of 1 against several classes;
    categorical otherwise.

    >>> pick_crossentropy(jnp.zeros((4,)), jnp.zeros((4, 3))).__name__
    'sparse_categorical_crossentropy'
    """
    t, p = jnp.shape(y_true), jnp.shape(y_pred)
    if p and p[-1] == 1:
        return binary_crossentropy
    if p and (len(t) < len(p) or (t and t[-1] == 1 and p[-1] > 1)):
        return sparse_categorical_crossentropy
    return categorical_crossentropy


class Crossentropy(BuiltinWrapper):
    """Binary, categorical or sparse categorical cross-entropy, chosen per call.

    What ``compile(loss="crossentropy")`` (or ``"ce"``) gives: the choice is Keras's
    (see :func:`pick_crossentropy`), made from the static shapes when the loss is
    called, so at trace time under ``jax.jit``. Keras has no such class; it resolves the
    string inside ``compile``.

    Args:
        from_logits: whether ``y_pred`` holds logits rather than probabilities.
        reduction: see :class:`kerax.losses.Loss`.
        name: defaults to ``"crossentropy"``.
        dtype: computation dtype, defaults to ``floatx()``.

    >>> loss = Crossentropy()
    >>> round(float(loss(jnp.array([1]), jnp.array([[0.5, 0.5]]))), 4)  # sparse
    0.6931
    """

    def __init__(
        self, from_logits=False, reduction="sum_over_batch_size", name="crossentropy", dtype=None
    ):
        _check_from_logits(from_logits, name)
        super().__init__(
            categorical_crossentropy,
            reduction=reduction,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
        )

    def _fn_for(self, y_true, y_pred):
        return pick_crossentropy(y_true, y_pred)

    __repr__ = Loss.__repr__  # `fn` is only a placeholder here
