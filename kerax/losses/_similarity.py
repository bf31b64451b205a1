"""Metric-learning loss on embeddings: Circle loss.

Sun et al., "Circle Loss: A Unified Perspective of Pair Similarity Optimization",
CVPR 2020 (https://arxiv.org/abs/2002.10857).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from kerax.losses._base import BuiltinWrapper
from kerax.losses._checks import as_float

ArrayLike = jax.typing.ArrayLike


def _logsumexp_rows(x, valid):
    # Rows without any valid entry give -inf like Keras, but through a finite branch so
    # their (zero) gradient does not turn into 0 * nan.
    has_any = jnp.any(valid, axis=1)
    safe = jnp.where(valid & has_any[:, None], x, jnp.where(has_any[:, None], -jnp.inf, 0.0))
    return jnp.where(has_any, jax.nn.logsumexp(safe, axis=1), -jnp.inf)


def circle(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    ref_labels: ArrayLike | None = None,
    ref_embeddings: ArrayLike | None = None,
    remove_diagonal: bool = True,
    gamma: float = 80.0,
    margin: float = 0.4,
) -> jax.Array:
    """Circle loss of L2-normalized embeddings against reference embeddings.

    Args:
        y_true: integer labels, shape ``(batch,)``.
        y_pred: L2-normalized embeddings, shape ``(batch, dim)``.
        ref_labels: labels of the references; defaults to ``y_true``.
        ref_embeddings: reference embeddings, shape ``(num_refs, dim)``; defaults to
            ``y_pred``.
        remove_diagonal: drop each embedding's pair with itself from the positives.
        gamma: scale of the similarities.
        margin: relaxation margin.

    Returns:
        Per-sample losses, shape ``(batch,)``; 0 where a sample has no positive pair.

    Raises:
        ValueError: if ``y_pred`` is not rank 2 or the label count differs from it.

    >>> emb = jnp.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    >>> circle(jnp.array([0, 0, 1, 1]), emb).shape
    (4,)
    """
    y_pred = as_float(y_pred)
    labels = jnp.asarray(y_true).reshape(-1).astype(jnp.int32)
    if y_pred.ndim != 2 or labels.shape[0] != y_pred.shape[0]:
        raise ValueError(
            "Loss 'circle' expects y_true of shape (batch,) and y_pred of shape "
            f"(batch, dim). Received: y_true.shape={jnp.shape(y_true)}, "
            f"y_pred.shape={y_pred.shape}."
        )
    refs = y_pred if ref_embeddings is None else as_float(ref_embeddings)
    ref_labels = labels if ref_labels is None else jnp.asarray(ref_labels).reshape(-1)
    ref_labels = ref_labels.astype(jnp.int32)

    distances = jnp.maximum(1.0 - y_pred @ refs.T, 0.0)  # (batch, num_refs)
    positive = labels[:, None] == ref_labels[None, :]
    negative = ~positive
    if remove_diagonal:
        positive = positive & ~jnp.eye(labels.shape[0], ref_labels.shape[0], dtype=bool)

    pos_weights = jnp.maximum((margin + distances) * positive, 0.0)
    neg_weights = jnp.maximum((1.0 + margin - distances) * negative, 0.0)
    pos_logits = -gamma * pos_weights * (margin - distances)
    neg_logits = gamma * neg_weights * (1.0 - margin - distances)
    p_loss = _logsumexp_rows(pos_logits, positive)
    n_loss = _logsumexp_rows(neg_logits, negative)
    return jax.nn.softplus(p_loss + n_loss)


class Circle(BuiltinWrapper):
    """Circle loss; see :func:`circle`.

    Samples whose loss is 0 (no positive pair in the batch) are masked out of the mean,
    as in Keras.

    Args:
        gamma: scale of the similarities.
        margin: relaxation margin.
        remove_diagonal: drop each embedding's pair with itself from the positives.
        reduction: see :class:`kerax.losses.Loss`.
        name: defaults to ``"circle"``.
        dtype: computation dtype, defaults to ``floatx()``.

    >>> emb = jnp.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    >>> float(Circle()(jnp.array([0, 0, 1, 1]), emb)) >= 0.0
    True
    """

    def __init__(
        self,
        gamma=80.0,
        margin=0.4,
        remove_diagonal=True,
        reduction="sum_over_batch_size",
        name="circle",
        dtype=None,
    ):
        super().__init__(
            circle,
            reduction=reduction,
            name=name,
            dtype=dtype,
            gamma=gamma,
            margin=margin,
            remove_diagonal=remove_diagonal,
        )

    def _output_mask(self, y_true, y_pred, values):
        return values > 0
