"""What ``compile`` turns losses and metrics into: pure functions over output pytrees.

A model's outputs, targets and sample weights may each be one array, a list (one per
output) or a dict keyed by output name; everything here first aligns them to the list
of output names, so the rest of the engine deals with one flat list.

A functional model whose outputs are a dict, ``Model(inputs, {"a": ..., "b": ...})``,
is keyed by the dict's keys, as in Keras (``Model._output_keys``): losses, metrics,
targets and logs (``a_loss``) go by the keys, while ``output_names`` lists the output
layers' names.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import _mask_count


def align(structure: Any, names: list[str], what: str, allow_single: bool = True) -> list:
    """Per-output list from one value, a list, or a dict keyed by output name."""
    if isinstance(structure, dict):
        unknown = sorted(set(structure) - set(names))
        if unknown:
            raise ValueError(
                f"{what} has keys {unknown} that are not model outputs. Outputs: {names}."
            )
        return [structure.get(n) for n in names]
    if isinstance(structure, (list, tuple)) and not hasattr(structure, "shape"):
        if len(structure) != len(names):
            raise ValueError(
                f"{what} has {len(structure)} entries, but the model has {len(names)} "
                f"outputs {names}. Pass one per output (or a dict keyed by output name)."
            )
        return list(structure)
    if allow_single:
        return [structure] * len(names) if len(names) > 1 and what != "y" else [structure]
    raise ValueError(f"{what} must be a list or dict for a model with outputs {names}.")


def flatten_outputs(y_pred: Any) -> list:
    if isinstance(y_pred, dict):
        return list(y_pred.values())
    return jax.tree_util.tree_leaves(y_pred)


def _loss_weight(w: Any) -> float:
    if w is None:
        return 1.0
    try:
        return float(w)
    except (TypeError, ValueError):
        raise TypeError(
            f"loss_weights must hold numbers, one per output. Received: {w!r}. "
            "Example: loss_weights=[1.0, 0.5] or {'out_a': 1.0, 'out_b': 0.5}."
        ) from None


class CompiledLoss:
    """Per-output losses with weights: ``total = sum_i w_i * loss_i(y_i, yhat_i)``."""

    def __init__(self, loss: Any, loss_weights: Any, output_names: list[str]):
        from kerax import losses

        if loss is None:
            raise ValueError(
                "compile() needs a loss to train. Pass loss='mse', 'categorical_crossentropy', "
                "a function fn(y_true, y_pred), or a keras.losses.Loss."
            )
        self.output_names = output_names
        # Keras builds a dict of losses for a dict of outputs in the dict's own order.
        self._loss_keys = list(loss) if isinstance(loss, dict) else None
        per_output = align(loss, output_names, "loss")
        self.losses = [None if spec is None else _as_loss(losses.get(spec)) for spec in per_output]
        if loss_weights is None:
            self.weights = [1.0] * len(output_names)
        else:
            self.weights = [
                _loss_weight(w) for w in align(loss_weights, output_names, "loss_weights")
            ]

    @property
    def per_output_names(self) -> list[str]:
        """Keras logs ``<output>_loss`` for each loss when there are two or more."""
        names = [f"{n}_loss" for n, fn in zip(self.output_names, self.losses) if fn is not None]
        return names if len(names) > 1 else []

    def tracker_names(self, keyed_outputs: bool) -> list[str]:
        """``per_output_names`` in the order of Keras's per-output loss trackers (the
        order ``evaluate`` lists them in): a dict of losses for a dict of outputs
        (``keyed_outputs``) in the loss dict's own order, otherwise the outputs' order."""
        names = self.per_output_names
        if not keyed_outputs or self._loss_keys is None:
            return names
        return [f"{key}_loss" for key in self._loss_keys if f"{key}_loss" in names]

    def __call__(
        self,
        y_true: list,
        y_pred: list,
        sample_weight: list,
        mask: jax.Array,
        partial_rows: int | None = None,
        masks: list | None = None,
    ):
        """Total loss and the per-output values (for multi-output logs).

        ``mask``: the batch's 0/1 row mask (padding); ``masks``: per output, that mask
        combined with the output's Keras mask (see :func:`output_masks`). ``partial_rows``
        (static): the valid rows of a padded last batch, first in it; a loss that reduces
        the whole batch to one number is computed on those rows only there.
        """
        total = jnp.zeros((), jnp.float32)
        parts = []
        masks = masks or [mask] * len(y_pred)
        for fn, w, yt, yp, sw, m in zip(
            self.losses, self.weights, y_true, y_pred, sample_weight, masks
        ):
            if fn is None:
                continue
            if yt is None:
                raise ValueError(
                    f"Loss {fn.name!r} was given no targets. Pass y for every output that "
                    "has a loss."
                )
            try:
                if partial_rows and _reduces_batch(fn, yt, yp):
                    value = _valid_rows_only(mask, partial_rows, fn, yt, yp, sw)
                else:
                    value = fn(yt, yp, sample_weight=sw, mask=m)
            except ValueError as error:  # a shape check: in the user's shapes, not padded
                error.args = (in_user_shapes(str(error), yp.shape[0]), *error.args[1:])
                raise
            if jnp.ndim(value) != 0:
                raise ValueError(
                    f"Loss {fn.name!r} returned values of shape {jnp.shape(value)}, but "
                    "fit() and evaluate() need one number per batch. Its reduction is "
                    f"{getattr(fn, 'reduction', None)!r}: use the default "
                    "'sum_over_batch_size' (or 'sum', 'mean'), and call the loss yourself "
                    "for per-sample values."
                )
            value = value.astype(jnp.float32)
            parts.append(value)
            total = total + w * value
        return total, parts


_DATA_ROWS: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "kerax_data_rows", default=None
)


@contextlib.contextmanager
def data_rows(n: int | None):
    """While the engine traces a loop over array data of ``n`` rows (in padded batches),
    for error messages (``in_user_shapes``)."""
    token = _DATA_ROWS.set(n)
    try:
        yield
    finally:
        _DATA_ROWS.reset(token)


def in_user_shapes(message: str, batch: int) -> str:
    """A loss's error about shapes, told in the user's terms.

    The engine traces a step over batches of ``batch`` rows (the last one padded), so
    a loss reports ``y_true.shape=(32, 3)`` for an 8-row dataset. Inside a loop over
    array data of ``n`` rows (``data_rows``), a shape whose batch axis is ``batch``
    is reported with ``n`` rows instead: the shape of the targets and outputs the user
    has. Only the text changes.
    """
    rows = _DATA_ROWS.get()
    if rows is None or rows == batch:
        return message

    def swap(match):
        return match.group(1) + (str(rows) if int(match.group(2)) == batch else match.group(2))

    return re.sub(r"(shape\s*=?\s*\()(\d+)(?=,)", swap, message)


def output_masks(mask: jax.Array, keras_masks: list) -> list:
    """Per output: the batch's row mask, times the output's Keras mask where it has one
    (an ``Embedding(mask_zero=True)`` sequence): Keras leaves masked entries out of the
    losses and metrics."""
    if mask is None:
        return [None if m is None else m.astype(jnp.float32) for m in keras_masks]
    return [
        mask if m is None else mask.reshape(mask.shape + (1,) * (m.ndim - 1)) * m.astype(mask.dtype)
        for m in keras_masks
    ]


def _reduces_batch(fn: Any, y_true: Any, y_pred: Any) -> bool:
    """Whether loss ``fn`` reduces the whole batch to one number (a custom loss returning
    ``ops.mean(...)``, Dice with ``axis=None``): padded rows cannot be masked out of it."""
    return jax.eval_shape(fn.call, y_true, y_pred).shape == ()


def on_valid_rows(mask, partial_rows: int, fn, *trees):
    """``fn(*trees)`` on the first ``partial_rows`` rows of each array in the padded last
    batch (whose valid rows come first: what Keras's shorter last batch holds), on the
    whole batch otherwise. ``partial_rows`` is static; ``mask`` tells the batches apart."""

    def on(rows):
        cut = lambda t: t if rows is None else t[:rows]
        return fn(*(jax.tree_util.tree_map(cut, tree) for tree in trees))

    padded = _mask_count.total(mask) < mask.shape[0]
    return jax.lax.cond(padded, lambda: on(partial_rows), lambda: on(None))


def _valid_rows_only(mask, partial_rows: int, fn, y_true, y_pred, sample_weight):
    """Loss ``fn`` over the valid rows alone in the padded batch."""
    value = lambda t, p, sw: fn(t, p, sample_weight=sw)
    return on_valid_rows(mask, partial_rows, value, y_true, y_pred, sample_weight)


def _as_loss(fn: Any):
    from kerax import losses

    if isinstance(fn, losses.Loss):
        return fn
    if callable(fn):
        return losses.LossFunctionWrapper(fn, name=getattr(fn, "__name__", "loss"))
    raise TypeError(f"Could not interpret loss {fn!r}.")


class CompiledMetrics:
    """Metric objects per output, resolved once the shapes of targets are known."""

    def __init__(self, metrics: Any, weighted_metrics: Any, output_names: list[str], loss: Any):
        self.specs = metrics
        self.weighted_specs = weighted_metrics
        self.output_names = output_names
        self.loss = loss
        # (output index, logged name, metric, weighted), once built
        self.entries: list[tuple[int, str, Any, bool]] | None = None

    @property
    def built(self) -> bool:
        return self.entries is not None

    def build(self, y_true: list, y_pred: list) -> None:
        """Resolve names like "accuracy" from the (static) shapes of targets and outputs."""
        from kerax import metrics as metrics_module

        entries = []
        multi = len(self.output_names) > 1
        for specs, weighted in ((self.specs, False), (self.weighted_specs, True)):
            if specs is None:
                continue
            per_output = self._per_output(specs)
            for i, output_specs in enumerate(per_output):
                for spec in output_specs or []:
                    loss = self.loss.losses[i] if self.loss is not None else None
                    metric = metrics_module.get(
                        spec, y_true=_shape(y_true[i]), y_pred=_shape(y_pred[i]), loss=loss
                    )
                    name = metric.name
                    # Keras: a weighted metric named like an unweighted one on the same
                    # output is logged as weighted_<name> (then the output prefix).
                    if weighted and any(
                        e[0] == i and e[2].name == name for e in entries if not e[3]
                    ):
                        name = f"weighted_{name}"
                    if multi:
                        name = f"{self.output_names[i]}_{name}"
                    taken = {e[1] for e in entries}
                    base, k = name, 0
                    while name in taken:  # Keras logs precision, precision_1, ...
                        k += 1
                        name = f"{base}_{k}"
                    entries.append((i, name, metric, weighted))
        self._specs = [(_shape(y_true[i]), _shape(y_pred[i])) for i, *_ in entries]
        self._batch_level = [
            _batch_level(m, *spec) for (_, _, m, _), spec in zip(entries, self._specs)
        ]
        self.entries = entries

    def _per_output(self, specs: Any) -> list:
        n = len(self.output_names)
        as_list = lambda s: [] if s is None else list(s) if isinstance(s, (list, tuple)) else [s]
        if isinstance(specs, dict):
            return [as_list(s) for s in align(specs, self.output_names, "metrics")]
        if not isinstance(specs, (list, tuple)):
            raise TypeError(
                f"metrics must be a list (or a dict keyed by output name). Received: {specs!r}"
            )
        if n == 1 and len(specs) == 1 and isinstance(specs[0], (list, tuple)):
            return [as_list(specs[0])]  # Keras: [["mae", "mse"]], the one output's list
        if n > 1 and len(specs) == n:
            # Keras 3: a list with one entry per output maps by position (an entry is a
            # metric, a list of metrics, or None for no metric on that output).
            return [as_list(s) for s in specs]
        if n > 1 and specs and all(isinstance(s, (list, tuple)) or s is None for s in specs):
            return list(align(list(specs), self.output_names, "metrics"))
        # kerax extension (Keras 3 refuses it): any other flat list applies to every output.
        return [[s for s in specs if s is not None]] * n

    @property
    def names(self) -> list[str]:
        return [e[1] for e in self.entries or []]

    def initial_state(self) -> tuple:
        return tuple(
            m.initial_state(yt, yp)
            for (_, _, m, _), (yt, yp) in zip(self.entries or [], self._specs)
        )

    def write_back(self, states: tuple) -> None:
        """Give each metric object its final state, so ``metric.result()`` works after fit."""
        for (_, _, metric, _), state in zip(self.entries or [], states):
            metric.set_state(state)

    @property
    def metric_objects(self) -> list:
        return [m for _, _, m, _ in self.entries or []]

    def update(
        self,
        states: tuple,
        y_true: list,
        y_pred: list,
        sample_weight: list,
        mask: jax.Array,
        partial_rows: int | None = None,
        masks: list | None = None,
    ) -> tuple:
        """Update every metric with a batch. ``partial_rows`` (static): how many rows of a
        padded batch are valid, when known (the last batch of array data); a metric that
        reduces the whole batch to one number sees only those rows of that batch.
        ``masks``: per output, the row mask with the output's Keras mask (see
        :func:`output_masks`)."""
        out = []
        entries = self.entries or []
        for state, (i, _, metric, weighted), batch_level in zip(states, entries, self._batch_level):
            # Keras applies sample weights to weighted_metrics only; the padding mask
            # (and an output's Keras mask) applies to all.
            sw = mask if masks is None or batch_level else masks[i]
            if weighted and sample_weight[i] is not None:
                sw = _broadcast_weight(sample_weight[i], sw)
            if batch_level:
                out.append(
                    _update_batch_level(metric, state, y_true[i], y_pred[i], sw, mask, partial_rows)
                )
            elif partial_rows and _runs_user_update(metric):
                out.append(
                    _update_valid_rows(metric, state, y_true[i], y_pred[i], sw, mask, partial_rows)
                )
            else:
                out.append(metric.update(state, y_true[i], y_pred[i], sample_weight=sw))
        return tuple(out)

    def results(self, states: tuple) -> dict[str, Any]:
        return {name: m.compute(s) for s, (_, name, m, _) in zip(states, self.entries or [])}


def _batch_level(metric: Any, y_true: Any, y_pred: Any) -> bool:
    """Whether ``metric`` wraps a function that reduces the whole batch to one number."""
    from kerax.metrics import MeanMetricWrapper

    if not isinstance(metric, MeanMetricWrapper) or y_true is None or y_pred is None:
        return False
    # y_true may describe the whole dataset, y_pred one batch: trace one batch of each.
    rows = y_pred.shape[0] if y_pred.shape else None
    if rows is not None and y_true.shape:
        y_true = jax.ShapeDtypeStruct((rows, *y_true.shape[1:]), y_true.dtype)
    try:
        out = jax.eval_shape(lambda t, p: metric._values_and_weight(t, p, None)[0], y_true, y_pred)
    except Exception:  # noqa: BLE001 - a metric that cannot trace here fails in fit, as before
        return False
    return all(np.ndim(leaf) == 0 for leaf in jax.tree_util.tree_leaves(out))


def _update_batch_level(metric, state, y_true, y_pred, sw, mask, partial_rows):
    """A batch-level scalar, as Keras's ``MeanMetricWrapper`` averages it: one count per
    batch (unweighted), or ``value * sum(sample_weight)`` (weighted). The padded last
    batch gives the value of its valid rows, as Keras's shorter last batch does."""
    from kerax.metrics import Mean

    value_of = lambda t, p: metric._values_and_weight(t, p, None)[0]
    if partial_rows:  # only the padded batch (its valid rows first) computes the cut
        value = on_valid_rows(mask, partial_rows, value_of, y_true, y_pred)
    else:
        value = value_of(y_true, y_pred)
    # mask alone: the batch counts once if it holds any valid row
    weight = jnp.max(mask) if sw is mask else sw
    return Mean._update(metric, state, value, weight)


def _runs_user_update(metric: Any) -> bool:
    """Whether ``metric`` runs a user's Keras-style ``update_state``, which may ignore
    ``sample_weight`` (and with it the padding mask)."""
    from kerax.metrics._base import _is_keras_style

    return _is_keras_style(type(metric))


def _update_valid_rows(metric, state, y_true, y_pred, sw, mask, partial_rows: int):
    """``metric`` updated with the valid rows alone in the padded batch (its valid rows
    come first), with the whole batch otherwise."""

    update = lambda t, p, w: metric.update(state, t, p, sample_weight=w)
    return on_valid_rows(mask, partial_rows, update, y_true, y_pred, sw)


def _shape(x: Any):
    return None if x is None else jax.ShapeDtypeStruct(tuple(x.shape), x.dtype)


def _broadcast_weight(sw: jax.Array, mask: jax.Array) -> jax.Array:
    """Sample weights times a mask, both lined up from the batch axis."""
    sw = jnp.asarray(sw, jnp.float32)
    rank = max(sw.ndim, mask.ndim)
    left = lambda a: a.reshape(a.shape + (1,) * (rank - a.ndim))
    return left(sw) * left(mask)


def keras2_positional_metrics(loss_weights: Any, metrics: Any) -> tuple[Any, Any]:
    """Keras 2's ``compile(optimizer, loss, metrics)``: the third positional argument was
    ``metrics``; in Keras 3 it is ``loss_weights``. Weights are numbers and metrics are
    names, functions or ``Metric`` objects, so a third argument holding the latter is
    read as Keras 2 meant it."""

    leaves = jax.tree_util.tree_leaves(loss_weights)  # strings and Metric objects are leaves
    if not any(isinstance(leaf, str) or callable(leaf) for leaf in leaves):
        return loss_weights, metrics
    if metrics is not None:
        raise TypeError(
            "compile() got metrics twice: loss_weights holds metric names or functions "
            f"({loss_weights!r}) and metrics={metrics!r} was also passed. loss_weights "
            "takes numbers (one per output); pass metrics only as metrics=[...]."
        )
    return None, loss_weights
