"""Intersection-over-union metrics over an accumulated ``(num_classes, num_classes)``
confusion matrix: ``IoU``, ``MeanIoU``, ``BinaryIoU``, ``OneHotIoU``, ``OneHotMeanIoU``.

The state is one matrix, ``total_confusion_matrix`` (rows: true class, columns: predicted
class), a sum of per-batch scatter-adds, so ``merge`` is addition and everything runs under
``jit``. As in Keras the default dtype is ``int32``: sample weights are cast to it (a
fractional weight truncates), which keeps 0/1 padding masks exact. Labels or predictions
outside ``[0, num_classes)`` and labels equal to ``ignore_class`` are not counted.
"""

from __future__ import annotations

import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import config
from kerax.metrics._base import Metric

_STATE = "total_confusion_matrix"


def _check_classes(cls_name: str, num_classes: Any) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(
            f"{cls_name}: num_classes must be a positive integer. "
            f"Received: num_classes={num_classes!r}"
        )
    if num_classes < 1:
        raise ValueError(
            f"{cls_name}: num_classes must be a positive integer. "
            f"Received: num_classes={num_classes!r}"
        )
    return int(num_classes)


def _weight_like(weight, labels):
    """``weight`` broadcast to the shape of ``labels`` (before both are flattened).

    Keras takes a scalar or a weight of the labels' shape (or size); kerax also accepts
    a per-row weight such as the trainer's ``(batch,)`` padding mask, expanded to the right.
    """
    if weight.shape == labels.shape or weight.ndim == 0:
        return jnp.broadcast_to(weight, labels.shape)
    if weight.size == labels.size and weight.ndim != labels.ndim:
        return weight.reshape(labels.shape)
    if weight.ndim < labels.ndim:
        weight = weight.reshape(weight.shape + (1,) * (labels.ndim - weight.ndim))
    return jnp.broadcast_to(weight, labels.shape)


def _warn_if_truncated(sample_weight, dtype: str) -> None:
    """Keras's warning for float weights on an integer matrix, for eager, fractional ones."""
    if isinstance(sample_weight, jax.core.Tracer) or not jnp.issubdtype(dtype, jnp.integer):
        return
    w = np.asarray(sample_weight)
    if np.issubdtype(w.dtype, np.floating) and np.any(w != np.trunc(w)):
        warnings.warn(
            f"IoU metrics accumulate in dtype {dtype!r}: fractional sample weights are "
            "truncated, as in Keras. Use integer weights, or pass dtype='float32'.",
            stacklevel=4,
        )


class _IoUBase(Metric):
    """The shared confusion-matrix state and update."""

    _direction = "up"

    def __init__(
        self,
        num_classes: int,
        name: str | None = None,
        dtype: Any = None,
        ignore_class: int | None = None,
        sparse_y_true: bool = True,
        sparse_y_pred: bool = True,
        axis: int = -1,
    ):
        super().__init__(name=name, dtype=dtype or "int32")
        self.num_classes = _check_classes(type(self).__name__, num_classes)
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis

    def _initial_state(self, y_true_shape, y_pred_shape):
        return {_STATE: jnp.zeros((self.num_classes, self.num_classes), self.dtype)}

    def _prepare_pred(self, y_pred):
        y_pred = jnp.asarray(y_pred)
        return y_pred if self.sparse_y_pred else jnp.argmax(y_pred, axis=self.axis)

    def _update(self, state, y_true, y_pred, sample_weight=None):
        y_true = jnp.asarray(y_true)
        if not self.sparse_y_true:
            y_true = jnp.argmax(y_true, axis=self.axis)
        y_pred = self._prepare_pred(y_pred)
        # Classes in the metric's dtype, as Keras compares them (floats truncate later).
        y_true = y_true.astype(self.dtype)
        y_pred = y_pred.astype(self.dtype)
        if sample_weight is None:
            weight = jnp.ones(y_true.shape, self.dtype)
        else:
            _warn_if_truncated(sample_weight, self.dtype)
            weight = _weight_like(jnp.asarray(sample_weight).astype(self.dtype), y_true)
        y_true, y_pred, weight = (jnp.ravel(x) for x in (y_true, y_pred, weight))
        if y_true.shape != y_pred.shape:
            raise ValueError(
                f"{type(self).__name__}: y_true and y_pred hold different numbers of class "
                f"ids ({y_true.shape[0]} vs {y_pred.shape[0]}). Check sparse_y_true / "
                "sparse_y_pred and axis."
            )
        n = self.num_classes
        valid = (y_true >= 0) & (y_true < n) & (y_pred >= 0) & (y_pred < n)
        if self.ignore_class is not None:
            valid &= y_true != jnp.asarray(self.ignore_class).astype(self.dtype)
        t = jnp.where(valid, y_true, 0).astype(jnp.int32)
        p = jnp.where(valid, y_pred, 0).astype(jnp.int32)
        weight = jnp.where(valid, weight, jnp.zeros_like(weight))
        counts = jnp.zeros((n * n,), self.dtype).at[t * n + p].add(weight)
        return {_STATE: state[_STATE] + counts.reshape(n, n)}

    def _ious(self, state, target_class_ids):
        """The mean IoU over ``target_class_ids``, classes never seen left out (Keras's rule)."""
        cm = state[_STATE].astype(jnp.float32)
        tp = jnp.diagonal(cm)
        denominator = jnp.sum(cm, axis=0) + jnp.sum(cm, axis=1) - tp
        ids = jnp.asarray(target_class_ids, jnp.int32)
        tp, denominator = tp[ids], denominator[ids]
        valid = denominator > 1e-9
        iou = jnp.where(valid, tp / (denominator + config.epsilon()), 0.0)
        return jnp.sum(iou) / (jnp.sum(valid.astype(jnp.float32)) + config.epsilon())

    def _base_config(self) -> dict:
        return {
            "num_classes": self.num_classes,
            "name": self.name,
            "dtype": self.dtype,
            "ignore_class": self.ignore_class,
            "sparse_y_true": self.sparse_y_true,
            "sparse_y_pred": self.sparse_y_pred,
            "axis": self.axis,
        }


def _target_ids(cls_name: str, target_class_ids: Any, num_classes: int) -> list[int]:
    ids = [int(i) for i in np.ravel(np.asarray(target_class_ids))]
    if not ids:
        raise ValueError(f"{cls_name}: target_class_ids must name at least one class.")
    if max(ids) >= num_classes or min(ids) < 0:
        raise ValueError(
            f"{cls_name}: target class ids must be in [0, {num_classes}). "
            f"Received: target_class_ids={target_class_ids!r}"
        )
    return ids


class IoU(_IoUBase):
    """Intersection over union, ``tp / (tp + fp + fn)``, averaged over chosen classes.

    The IoU of every class comes from the accumulated (weighted) confusion matrix; the
    result is their mean over ``target_class_ids`` among the classes that occurred.

    Args:
        num_classes: the number of classes (the confusion matrix is that square).
        target_class_ids: the classes averaged; one id gives that class's IoU.
        name: defaults to ``"io_u"``.
        dtype: the confusion matrix's dtype; ``"int32"`` by default, as in Keras
            (fractional sample weights truncate: pass ``"float32"`` to keep them).
        ignore_class: a label id not counted (a "void" class such as 255 or -1).
        sparse_y_true: labels are class ids; ``False`` takes the argmax over ``axis``.
        sparse_y_pred: predictions are class ids; ``False`` takes the argmax over ``axis``.
        axis: the class axis for the argmax.

    Raises:
        ValueError: if a target class id is outside ``[0, num_classes)``.

    Example:
        >>> round(float(IoU(2, target_class_ids=[0])([0, 0, 1, 1], [0, 1, 0, 1])), 4)
        0.3333
    """

    def __init__(
        self,
        num_classes: int,
        target_class_ids: Any,
        name: str | None = None,
        dtype: Any = None,
        ignore_class: int | None = None,
        sparse_y_true: bool = True,
        sparse_y_pred: bool = True,
        axis: int = -1,
    ):
        super().__init__(
            num_classes,
            name=name,
            dtype=dtype,
            ignore_class=ignore_class,
            sparse_y_true=sparse_y_true,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
        )
        self.target_class_ids = _target_ids(type(self).__name__, target_class_ids, num_classes)

    def _compute(self, state):
        return self._ious(state, self.target_class_ids)

    def get_config(self) -> dict:
        """The constructor arguments, as Keras saves them."""
        return {**self._base_config(), "target_class_ids": list(self.target_class_ids)}


class MeanIoU(IoU):
    """The mean intersection over union over all ``num_classes`` classes.

    Args:
        num_classes, name, dtype, ignore_class, sparse_y_true, sparse_y_pred, axis: as
            for :class:`IoU`; ``name`` defaults to ``"mean_io_u"``.

    Example:
        >>> round(float(MeanIoU(2)([0, 0, 1, 1], [0, 1, 0, 1])), 4)
        0.3333
    """

    def __init__(
        self,
        num_classes: int,
        name: str | None = None,
        dtype: Any = None,
        ignore_class: int | None = None,
        sparse_y_true: bool = True,
        sparse_y_pred: bool = True,
        axis: int = -1,
    ):
        num_classes = _check_classes(type(self).__name__, num_classes)
        super().__init__(
            num_classes,
            list(range(num_classes)),
            name=name,
            dtype=dtype,
            ignore_class=ignore_class,
            sparse_y_true=sparse_y_true,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
        )

    def get_config(self) -> dict:
        """The constructor arguments, as Keras saves them."""
        return self._base_config()


class BinaryIoU(IoU):
    """IoU of a binary task: predictions ``>= threshold`` are class 1, the rest class 0.

    Args:
        target_class_ids: ``[0]``, ``[1]`` or ``[0, 1]`` (the default: their mean).
        threshold: the cut applied to ``y_pred`` (probabilities or logits).
        name: defaults to ``"binary_io_u"``.
        dtype: the confusion matrix's dtype (``"int32"`` by default).

    Example:
        >>> m = BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
        >>> round(float(m([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7])), 4)
        0.3333
    """

    def __init__(
        self,
        target_class_ids: Any = (0, 1),
        threshold: float = 0.5,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(2, target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def _prepare_pred(self, y_pred):
        return jnp.asarray(y_pred).astype(jnp.float32) >= self.threshold

    def get_config(self) -> dict:
        """``target_class_ids``, ``threshold``, ``name`` and ``dtype``."""
        return {
            "target_class_ids": list(self.target_class_ids),
            "threshold": self.threshold,
            "name": self.name,
            "dtype": self.dtype,
        }


class OneHotIoU(IoU):
    """:class:`IoU` for one-hot labels (and, by default, per-class scores).

    Args:
        num_classes, target_class_ids, name, dtype, ignore_class, axis: as for
            :class:`IoU`; ``name`` defaults to ``"one_hot_io_u"``.
        sparse_y_pred: predictions are class ids already (default ``False``: argmax).

    Example:
        >>> y_true = [[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]]
        >>> y_pred = [[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]]
        >>> round(float(OneHotIoU(3, target_class_ids=[0, 2])(y_true, y_pred)), 4)
        0.1667
    """

    def __init__(
        self,
        num_classes: int,
        target_class_ids: Any,
        name: str | None = None,
        dtype: Any = None,
        ignore_class: int | None = None,
        sparse_y_pred: bool = False,
        axis: int = -1,
    ):
        super().__init__(
            num_classes,
            target_class_ids,
            name=name,
            dtype=dtype,
            ignore_class=ignore_class,
            sparse_y_true=False,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
        )

    def get_config(self) -> dict:
        """The constructor arguments, as Keras saves them."""
        config = {**self._base_config(), "target_class_ids": list(self.target_class_ids)}
        del config["sparse_y_true"]
        return config


class OneHotMeanIoU(MeanIoU):
    """:class:`MeanIoU` for one-hot labels (and, by default, per-class scores).

    Args:
        num_classes, name, dtype, ignore_class, axis: as for :class:`MeanIoU`; ``name``
            defaults to ``"one_hot_mean_io_u"``.
        sparse_y_pred: predictions are class ids already (default ``False``: argmax).

    Example:
        >>> y_true = [[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]]
        >>> y_pred = [[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]]
        >>> round(float(OneHotMeanIoU(3)(y_true, y_pred)), 4)
        0.1111
    """

    def __init__(
        self,
        num_classes: int,
        name: str | None = None,
        dtype: Any = None,
        ignore_class: int | None = None,
        sparse_y_pred: bool = False,
        axis: int = -1,
    ):
        super().__init__(
            num_classes,
            name=name,
            dtype=dtype,
            ignore_class=ignore_class,
            sparse_y_true=False,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
        )

    def get_config(self) -> dict:
        """The constructor arguments, as Keras saves them."""
        config = self._base_config()
        del config["sparse_y_true"]
        return config
