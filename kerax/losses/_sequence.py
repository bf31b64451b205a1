"""Connectionist Temporal Classification (CTC) loss, computed by ``optax.ctc_loss``.

Graves et al., "Connectionist Temporal Classification: Labelling Unsegmented Sequence
Data with Recurrent Neural Networks", ICML 2006.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from kerax.losses._base import BuiltinWrapper
from kerax.losses._checks import as_float

ArrayLike = jax.typing.ArrayLike

# The forward recursion is a `lax.scan`; called eagerly it would be re-traced on every
# call (~0.4 s). Jitting it once per shape makes eager use cheap and costs nothing
# inside an outer `jit`, where it is inlined.
_ctc_loss = jax.jit(optax.losses.ctc_loss, static_argnames="blank_id")


def ctc(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """CTC negative log-likelihood of label sequences under per-frame logits.

    Class 0 is the blank, and also the padding of ``y_true``: a sequence's length is
    its number of non-zero labels (Keras's convention). Every frame of ``y_pred`` is
    used.

    Args:
        y_true: integer labels, shape ``(batch, max_label_length)``, padded with 0.
        y_pred: logits, shape ``(batch, max_time, num_classes)``; softmax is applied
            inside.

    Returns:
        Per-sequence losses, shape ``(batch,)``.

    Raises:
        ValueError: if the ranks are not 2 and 3 or the batch sizes differ.

    >>> logits = jnp.zeros((1, 2, 2))  # two frames, classes {blank, 1}, uniform
    >>> round(float(ctc(jnp.array([[1]]), logits)[0]), 4)  # -log(3 / 4)
    0.2877
    """
    y_true = jnp.asarray(y_true)
    y_pred = as_float(y_pred)
    if y_true.ndim != 2:
        raise ValueError(
            "Loss 'ctc' expects y_true of shape (batch_size, max_label_length) holding "
            f"integer labels padded with 0. Received: y_true.shape={y_true.shape}."
        )
    if y_pred.ndim != 3:
        raise ValueError(
            "Loss 'ctc' expects y_pred of shape (batch_size, max_time, num_classes) "
            f"holding logits. Received: y_pred.shape={y_pred.shape}."
        )
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(
            "Loss 'ctc' expects y_true and y_pred with the same batch size. Received: "
            f"y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}."
        )
    # Like Keras (and tf.nn.ctc_loss), half-precision logits are scored in float32.
    y_pred = y_pred.astype(jnp.promote_types(y_pred.dtype, jnp.float32))
    labels = y_true.astype(jnp.int32)
    label_length = jnp.sum(labels != 0, axis=-1)
    positions = jnp.arange(labels.shape[1])[None, :]
    label_paddings = (positions >= label_length[:, None]).astype(y_pred.dtype)
    logit_paddings = jnp.zeros(y_pred.shape[:2], y_pred.dtype)
    return _ctc_loss(y_pred, logit_paddings, labels, label_paddings, blank_id=0)


class CTC(BuiltinWrapper):
    """CTC loss; see :func:`ctc`.

    Args:
        reduction: see :class:`kerax.losses.Loss`.
        name: defaults to ``"ctc"``.
        dtype: computation dtype, defaults to ``floatx()``.

    >>> round(float(CTC()(jnp.array([[1]]), jnp.zeros((1, 2, 2)))), 4)
    0.2877
    """

    def __init__(self, reduction="sum_over_batch_size", name="ctc", dtype=None):
        super().__init__(ctc, reduction=reduction, name=name, dtype=dtype)
