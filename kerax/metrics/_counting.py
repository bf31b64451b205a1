"""Weighted confusion-matrix counts at static thresholds, shared by the threshold metrics.

A prediction is positive at threshold ``t`` when ``y_pred > t``; a label is positive when
it is non-zero. With many evenly spaced thresholds (``AUC``, the "at" metrics) the counts
are computed Keras's fast way: each prediction falls in one bucket, buckets are summed
with a segment sum and accumulated with a reverse cumulative sum, O(N + T) instead of
O(N * T). The two ways agree except for predictions within float rounding of a threshold.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from kerax import config
from kerax.metrics._utils import squeeze_or_expand_to_same_rank

NEG_INF = -1e10  # the threshold (and masked score) used with top_k, as in Keras


def parse_thresholds(thresholds, default: float) -> list[float]:
    """A list of thresholds in [0, 1] (the default is not range-checked)."""
    if thresholds is None:
        return [float(default)]
    values = np.ravel(np.asarray(thresholds, dtype=np.float64)).tolist()
    bad = [t for t in values if not 0.0 <= t <= 1.0]
    if bad or not values:
        raise ValueError(
            "Threshold values must be in [0, 1] (at least one). "
            f"Received: thresholds={thresholds!r}"
        )
    return values


def evenly_spaced(thresholds) -> bool:
    """Whether thresholds are ``i / (n - 1)`` (n >= 3), so the bucketed counts apply."""
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(thresholds, even, atol=config.epsilon()))


def _filter_top_k(x, k):
    _, idx = jax.lax.top_k(x, k)
    in_top = jnp.sum(jax.nn.one_hot(idx, x.shape[-1], dtype=x.dtype), axis=-2)
    return x * in_top + NEG_INF * (1.0 - in_top)


def confusion_counts(
    y_true,
    y_pred,
    thresholds,
    *,
    dtype,
    evenly=False,
    top_k=None,
    class_id=None,
    sample_weight=None,
    multi_label=False,
    label_weights=None,
) -> dict:
    """Weighted TP/FP/TN/FN counts of one batch at each threshold.

    Args:
        y_true: labels; non-zero means positive.
        y_pred: scores, compared with ``>`` to each threshold.
        thresholds: a static list of floats.
        dtype: the dtype of the counts.
        evenly: thresholds are evenly spaced over [0, 1] (use the bucketed algorithm).
        top_k: only the ``k`` highest scores of each row can be positive.
        class_id: count only this column of ``(batch, classes)`` inputs.
        sample_weight: per-sample (or per-element) weights.
        multi_label: keep one count per label column instead of pooling them.
        label_weights: per-label weights, pooled mode only.

    Returns:
        ``{"tp", "fp", "tn", "fn"}``, each ``(thresholds,)`` or ``(thresholds, labels)``.

    Raises:
        ValueError: for ``class_id`` with rank-1 predictions.
    """
    y_true = jnp.asarray(y_true).astype(dtype)
    y_pred = jnp.asarray(y_pred).astype(dtype)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    weight = None
    if sample_weight is not None:
        weight = jnp.expand_dims(jnp.asarray(sample_weight).astype(dtype), -1)
        _, weight = squeeze_or_expand_to_same_rank(y_true, weight, expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError(
                "With class_id, y_pred must be (num_samples, num_classes). "
                f"Received: y_pred.shape={y_pred.shape}"
            )
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
    if weight is not None:
        weight = jnp.broadcast_to(weight, y_pred.shape)
    if label_weights is not None and not multi_label:
        lw = jnp.broadcast_to(jnp.asarray(label_weights, dtype)[None], y_pred.shape)
        weight = lw if weight is None else weight * lw
    positive = y_true != 0
    if not multi_label:
        positive, y_pred = positive.reshape(-1), y_pred.reshape(-1)
        weight = None if weight is None else weight.reshape(-1)
    if evenly:
        return _bucketed(positive, y_pred, weight, thresholds, multi_label, dtype)
    thr = jnp.asarray(thresholds, dtype).reshape((-1,) + (1,) * y_pred.ndim)
    pred_pos = y_pred[None] > thr  # (thresholds, samples[, labels])
    label_pos = positive[None]

    def count(cond):
        if weight is None:
            return jnp.sum(cond.astype(dtype), axis=1)
        # where, not multiply: a zero-weight (padding) row adds exactly 0 even if NaN.
        return jnp.sum(jnp.where(cond, weight[None], 0.0), axis=1)

    return {
        "tp": count(label_pos & pred_pos),
        "fp": count(~label_pos & pred_pos),
        "tn": count(~label_pos & ~pred_pos),
        "fn": count(label_pos & ~pred_pos),
    }


def _bucketed(positive, y_pred, weight, thresholds, multi_label, dtype):
    n = len(thresholds)
    w = jnp.ones_like(y_pred) if weight is None else weight
    true_w = jnp.where(positive, w, 0.0)
    false_w = jnp.where(positive, 0.0, w)
    # Bucket b holds predictions in (t_b, t_{b+1}]; a prediction is positive at every
    # threshold below it, so counts are reverse cumulative sums over buckets.
    bucket = jnp.ceil(jnp.clip(y_pred, 0.0, 1.0) * (n - 1)) - 1
    if thresholds[0] < 0.0 or thresholds[-1] > 1.0:
        bucket = jnp.maximum(bucket, 0.0)  # thresholds padded by epsilon (AUC)
    bucket = bucket.astype(jnp.int32)  # -1 (score 0, no padding) is dropped below

    def per_threshold(data, ids):
        summed = jax.ops.segment_sum(data, ids, num_segments=n)
        return jnp.flip(jnp.cumsum(jnp.flip(summed, -1), -1), -1)

    if multi_label:
        tp = jax.vmap(per_threshold)(true_w.T, bucket.T).T  # (thresholds, labels)
        fp = jax.vmap(per_threshold)(false_w.T, bucket.T).T
        total_true, total_false = jnp.sum(true_w, axis=0), jnp.sum(false_w, axis=0)
    else:
        tp, fp = per_threshold(true_w, bucket), per_threshold(false_w, bucket)
        total_true, total_false = jnp.sum(true_w), jnp.sum(false_w)
    return {
        "tp": tp.astype(dtype),
        "fp": fp.astype(dtype),
        "tn": (total_false - fp).astype(dtype),
        "fn": (total_true - tp).astype(dtype),
    }
