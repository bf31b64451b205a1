"""Cross-entropy variants: focal (binary and categorical) and generalized cross-entropy.

Focal loss: Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017
(https://arxiv.org/abs/1708.02002). Generalized cross-entropy: Zhang and Sabuncu,
"Generalized Cross Entropy Loss for Training Deep Neural Networks with Noisy Labels",
NeurIPS 2018 (https://arxiv.org/abs/1805.07836).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from kerax.losses._base import BuiltinWrapper
from kerax.losses._checks import (
    align,
    align_categorical,
    as_float,
    check_axis,
    check_unit_interval,
    smooth_labels,
)
from kerax.losses._crossentropy import clipped_bce, clipped_probs, sparse_labels

ArrayLike = jax.typing.ArrayLike


def binary_focal_crossentropy(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    apply_class_balancing: bool = False,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> jax.Array:
    """Binary cross-entropy scaled by ``(1 - p_t) ** gamma``, averaged over ``axis``.

    Easy examples (``p_t`` near 1) are down-weighted so training focuses on hard ones.

    Args:
        y_true: 0/1 targets, shape ``(batch, d)``.
        y_pred: probabilities, or logits with ``from_logits=True``; same shape.
        apply_class_balancing: weigh positives by ``alpha``, negatives by ``1 - alpha``.
        alpha: the class-balancing weight.
        gamma: the focusing parameter; ``0`` gives plain binary cross-entropy.
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: in [0, 1].
        axis: the axis averaged over.

    Returns:
        Per-sample losses, shape ``(batch,)``.

    Raises:
        ValueError: if the shapes differ beyond a trailing axis of size 1.

    >>> round(float(binary_focal_crossentropy(jnp.array([[1.0]]), jnp.array([[0.5]]))[0]), 4)
    0.1733
    """
    check_axis(axis, "binary_focal_crossentropy")
    y_true, y_pred = align(y_true, y_pred, "binary_focal_crossentropy")
    y_true = smooth_labels(y_true, label_smoothing, 2.0)
    # Keras applies the sigmoid and then the clipped formula (not a log-sigmoid); kept
    # for numerical parity.
    probs = jax.nn.sigmoid(y_pred) if from_logits else y_pred
    p_t = y_true * probs + (1.0 - y_true) * (1.0 - probs)
    focal = jnp.power(1.0 - p_t, gamma) * clipped_bce(y_true, probs)
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return jnp.mean(focal, axis=axis)


def categorical_focal_crossentropy(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> jax.Array:
    """Categorical cross-entropy scaled by ``alpha * (1 - p) ** gamma`` per class.

    Args:
        y_true: one-hot targets, shape ``(batch, num_classes)``.
        y_pred: probabilities, or logits with ``from_logits=True``; same shape.
        alpha: a constant weight on every class.
        gamma: the focusing parameter.
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: in [0, 1].
        axis: the class axis.

    Returns:
        Per-sample losses, shape ``(batch,)``.

    Raises:
        ValueError: for integer class labels; one-hot encode them first.

    >>> y_true = jnp.array([[0.0, 1.0]])
    >>> round(float(categorical_focal_crossentropy(y_true, jnp.array([[0.5, 0.5]]))[0]), 4)
    0.0433
    """
    check_axis(axis, "categorical_focal_crossentropy")
    y_true, y_pred = align_categorical(y_true, y_pred, "categorical_focal_crossentropy")
    y_true = smooth_labels(y_true, label_smoothing, y_pred.shape[axis])
    if from_logits:
        y_pred = jax.nn.softmax(y_pred, axis=axis)
    probs = clipped_probs(y_pred, axis)
    weight = alpha * jnp.power(1.0 - probs, gamma)
    return jnp.sum(weight * -y_true * jnp.log(probs), axis=axis)


def categorical_generalized_cross_entropy(
    y_true: ArrayLike, y_pred: ArrayLike, q: float
) -> jax.Array:
    """Generalized cross-entropy ``(1 - p_y ** q) / q`` for integer labels.

    It interpolates between cross-entropy (``q -> 0``) and mean absolute error
    (``q = 1``), which makes it robust to noisy labels.

    Args:
        y_true: integer labels, shape ``(batch,)`` or ``(batch, 1)``.
        y_pred: class probabilities, shape ``(batch, num_classes)``.
        q: in (0, 1).

    Returns:
        Per-sample losses, shape ``(batch,)``.

    Raises:
        ValueError: if ``y_true`` is not shaped like ``y_pred`` without its last axis.

    >>> y_pred = jnp.array([[0.25, 0.75]])
    >>> categorical_generalized_cross_entropy(jnp.array([0]), y_pred, q=0.5).tolist()
    [1.0]
    """
    y_pred = as_float(y_pred)
    labels, _ = sparse_labels(y_true, y_pred, -1, "categorical_generalized_cross_entropy")
    one_hot = jax.nn.one_hot(labels, y_pred.shape[-1], dtype=y_pred.dtype)
    p = jnp.sum(y_pred * one_hot, axis=-1)
    return (1.0 - jnp.power(p, q)) / q


class BinaryFocalCrossentropy(BuiltinWrapper):
    """Binary focal cross-entropy; see :func:`binary_focal_crossentropy`.

    Args:
        apply_class_balancing: weigh positives by ``alpha``, negatives by ``1 - alpha``.
        alpha: the class-balancing weight, in [0, 1].
        gamma: the focusing parameter, >= 0.
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: in [0, 1].
        axis: the axis averaged over.
        reduction: see :class:`kerax.losses.Loss`.
        name: defaults to ``"binary_focal_crossentropy"``.
        dtype: computation dtype, defaults to ``floatx()``.

    Raises:
        ValueError: for ``alpha`` or ``label_smoothing`` outside [0, 1], or negative
            ``gamma``.

    >>> loss = BinaryFocalCrossentropy(gamma=0.0)
    >>> round(float(loss(jnp.array([[1.0]]), jnp.array([[0.5]]))), 4)
    0.6931
    """

    def __init__(
        self,
        apply_class_balancing=False,
        alpha=0.25,
        gamma=2.0,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="binary_focal_crossentropy",
        dtype=None,
    ):
        check_unit_interval(alpha, "alpha", name)
        check_unit_interval(label_smoothing, "label_smoothing", name)
        _check_gamma(gamma, name)
        check_axis(axis, name)
        super().__init__(
            binary_focal_crossentropy,
            reduction=reduction,
            name=name,
            dtype=dtype,
            apply_class_balancing=apply_class_balancing,
            alpha=alpha,
            gamma=gamma,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )


class CategoricalFocalCrossentropy(BuiltinWrapper):
    """Categorical focal cross-entropy; see :func:`categorical_focal_crossentropy`.

    Args:
        alpha: a constant weight on every class.
        gamma: the focusing parameter, >= 0.
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: in [0, 1].
        axis: the class axis.
        reduction: see :class:`kerax.losses.Loss`.
        name: defaults to ``"categorical_focal_crossentropy"``.
        dtype: computation dtype, defaults to ``floatx()``.

    Raises:
        ValueError: for ``label_smoothing`` outside [0, 1] or negative ``gamma``.

    >>> loss = CategoricalFocalCrossentropy(alpha=1.0, gamma=0.0)
    >>> round(float(loss(jnp.array([[0.0, 1.0]]), jnp.array([[0.5, 0.5]]))), 4)
    0.6931
    """

    def __init__(
        self,
        alpha=0.25,
        gamma=2.0,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="categorical_focal_crossentropy",
        dtype=None,
    ):
        check_unit_interval(label_smoothing, "label_smoothing", name)
        _check_gamma(gamma, name)
        check_axis(axis, name)
        super().__init__(
            categorical_focal_crossentropy,
            reduction=reduction,
            name=name,
            dtype=dtype,
            alpha=alpha,
            gamma=gamma,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )


class CategoricalGeneralizedCrossEntropy(BuiltinWrapper):
    """Generalized cross-entropy; see :func:`categorical_generalized_cross_entropy`.

    Args:
        q: in (0, 1); small values behave like cross-entropy, 1 like MAE.
        reduction: see :class:`kerax.losses.Loss`.
        name: defaults to ``"categorical_generalized_cross_entropy"``.
        dtype: computation dtype, defaults to ``floatx()``.

    Raises:
        ValueError: if ``q`` is not in (0, 1).

    >>> loss = CategoricalGeneralizedCrossEntropy(q=0.5)
    >>> float(loss(jnp.array([1]), jnp.array([[0.0, 1.0]])))
    0.0
    """

    def __init__(
        self,
        q=0.5,
        reduction="sum_over_batch_size",
        name="categorical_generalized_cross_entropy",
        dtype=None,
    ):
        if not 0 < q < 1:
            raise ValueError(
                f"Loss '{name}' expects q in the open interval (0, 1). Received: q={q!r}."
            )
        super().__init__(
            categorical_generalized_cross_entropy,
            reduction=reduction,
            name=name,
            dtype=dtype,
            q=q,
        )


def _check_gamma(gamma, name):
    if isinstance(gamma, (int, float)) and gamma < 0:
        raise ValueError(f"Loss '{name}' expects gamma >= 0. Received: gamma={gamma!r}.")
