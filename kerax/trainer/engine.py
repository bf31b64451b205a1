"""The compiled engine: one ``TrainState`` pytree and pure train/eval/predict steps.

``train_step(state, batch) -> state`` is pure: forward in training mode, loss plus
regularization and ``add_loss`` terms, ``jax.value_and_grad``, the optax update,
constraints, metric updates. Loops over batches run *inside* one compiled call
(``lax.fori_loop`` over a device-resident dataset and a permutation), so a dispatch
covers ``steps_per_execution`` steps and the host never touches a batch.

Every batch has the same shape: the last partial batch is padded with valid rows and
a 0/1 ``mask`` (passed to the losses as Keras's mask and to the metrics as sample
weight) removes them from every number, so an epoch compiles once.
"""

from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import optax

from kerax.trainer.compile_utils import CompiledLoss, CompiledMetrics, align, flatten_outputs


@flax.struct.dataclass
class TrainState:
    """Everything training changes, as one pytree (donated to each compiled dispatch)."""

    trainable: Any
    non_trainable: Any
    opt_state: Any
    metrics: tuple
    losses: tuple  # (total, count) running means: "loss", then per-output losses
    step: jax.Array
    key: jax.Array


def _mean_update(state, value, weight):
    total, count = state
    return total + value * weight, count + weight


def _mean_result(state):
    total, count = state
    return total / jnp.maximum(count, 1e-12)


def _get(tree: dict, path: tuple[str, ...]):
    for part in path:
        tree = tree[part]
    return tree


def _set(tree: dict, path: tuple[str, ...], value) -> dict:
    if not path:
        return value
    return {**tree, path[0]: _set(tree[path[0]], path[1:], value)}


class Engine:
    """Pure steps and compiled loops for one compiled model.

    Args:
        model: a built kerax ``Model``.
        loss: the :class:`CompiledLoss`.
        metrics: the built :class:`CompiledMetrics`.
        optimizer: a kerax optimizer (``init``/``update`` over optax).
        batch_size: the static batch size of every step.
    """

    def __init__(
        self, model, loss: CompiledLoss, metrics: CompiledMetrics, optimizer, batch_size: int
    ):
        self.model = model
        self.loss = loss
        self.metrics = metrics
        self.optimizer = optimizer
        self.batch_size = int(batch_size)
        index = model._variable_index()
        self.regularized = [(p, v.regularizer) for p, v in index if v.trainable and v.regularizer]
        self.constrained = [(p, v.constraint) for p, v in index if v.trainable and v.constraint]
        self.trace_count = 0
        self.train_loop = jax.jit(self._train_loop, donate_argnums=0)
        self.eval_loop = jax.jit(self._eval_loop)
        self.train_one = jax.jit(self.train_step)
        self.eval_one = jax.jit(self.eval_step)

    # -- state ---------------------------------------------------------------------------
    def fresh_metric_states(self) -> tuple[tuple, tuple]:
        n_losses = 1 + len(self.loss.per_output_names)
        zero = jnp.zeros((), jnp.float32)
        states = self.metrics.initial_state(), tuple((zero, zero) for _ in range(n_losses))
        # Donation needs one buffer per leaf; initial states may share one zeros array.
        return jax.tree_util.tree_map(lambda a: jnp.array(a, copy=True), states)

    def logs(self, state: TrainState) -> dict[str, Any]:
        """Device scalars for the logs: loss first, then metrics (no host sync here)."""
        names = ["loss", *self.loss.per_output_names]
        out = {n: _mean_result(s) for n, s in zip(names, state.losses)}
        out.update(self.metrics.results(state.metrics))
        return out

    # -- one step ------------------------------------------------------------------------
    def _split(self, batch):
        x, y, sw, mask = batch
        names = self.loss.output_names
        return x, align(y, names, "y"), align(sw, names, "sample_weight"), mask

    def _losses(self, variables, x, y, sw, mask, training, key):
        y_pred, non_trainable, added = self.model._apply(variables, (x,), training, key)
        preds = flatten_outputs(y_pred)
        total, parts = self.loss(y, preds, sw, mask)
        for path, reg in self.regularized:
            total = total + reg(_get(variables["trainable"], path))
        for extra in added:
            total = total + jnp.sum(extra)
        return total, (preds, parts, non_trainable)

    def _record(self, state, y, preds, sw, mask, total, parts):
        count = jnp.sum(mask)
        losses = tuple(_mean_update(s, v, count) for s, v in zip(state.losses, (total, *parts)))
        metrics = self.metrics.update(state.metrics, y, preds, sw, mask)
        return state.replace(losses=losses, metrics=metrics)

    def train_step(self, state: TrainState, batch) -> TrainState:
        x, y, sw, mask = self._split(batch)
        key, step_key = jax.random.split(state.key)

        def loss_fn(trainable):
            variables = {"trainable": trainable, "non_trainable": state.non_trainable}
            return self._losses(variables, x, y, sw, mask, True, step_key)

        (total, (preds, parts, non_trainable)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            state.trainable
        )
        updates, opt_state = self.optimizer.update(grads, state.opt_state, state.trainable)
        trainable = optax.apply_updates(state.trainable, updates)
        for path, constraint in self.constrained:
            trainable = _set(trainable, path, constraint(_get(trainable, path)))
        state = state.replace(
            trainable=trainable,
            non_trainable=non_trainable,
            opt_state=opt_state,
            step=state.step + 1,
            key=key,
        )
        return self._record(state, y, preds, sw, mask, total, parts)

    def eval_step(self, state: TrainState, batch) -> TrainState:
        x, y, sw, mask = self._split(batch)
        variables = {"trainable": state.trainable, "non_trainable": state.non_trainable}
        total, (preds, parts, _) = self._losses(variables, x, y, sw, mask, False, None)
        return self._record(state, y, preds, sw, mask, total, parts)

    # -- loops over a device-resident dataset ----------------------------------------------
    def _batch(self, data, order, n, i):
        bs = self.batch_size
        idx = jax.lax.dynamic_slice_in_dim(order, i * bs, bs)
        mask = ((i * bs + jnp.arange(bs)) < n).astype(jnp.float32)
        x, y, sw = jax.tree_util.tree_map(lambda a: jnp.take(a, idx, axis=0), data)
        return x, y, sw, mask

    def _train_loop(self, state, data, order, n, start, stop):
        self.trace_count += 1  # Python side effect: runs only when jax traces
        body = lambda i, s: self.train_step(s, self._batch(data, order, n, i))
        return jax.lax.fori_loop(start, stop, body, state)

    def _eval_loop(self, state, data, order, n, steps):
        body = lambda i, s: self.eval_step(s, self._batch(data, order, n, i))
        return jax.lax.fori_loop(0, steps, body, state)


def make_predict_loop(model, batch_size: int):
    """A compiled ``(variables, x, order, steps) -> outputs`` over padded batches."""
    bs = int(batch_size)

    def loop(variables, x, order, steps):
        first = jax.tree_util.tree_map(lambda a: a[:bs], x)
        spec = jax.eval_shape(lambda xb: model._apply(variables, (xb,), False, None)[0], first)
        total = order.shape[0]
        out = jax.tree_util.tree_map(lambda s: jnp.zeros((total, *s.shape[1:]), s.dtype), spec)

        def body(i, out):
            idx = jax.lax.dynamic_slice_in_dim(order, i * bs, bs)
            xb = jax.tree_util.tree_map(lambda a: jnp.take(a, idx, axis=0), x)
            yb = model._apply(variables, (xb,), False, None)[0]
            return jax.tree_util.tree_map(
                lambda o, v: jax.lax.dynamic_update_slice_in_dim(o, v, i * bs, 0), out, yb
            )

        return jax.lax.fori_loop(0, steps, body, out)

    return jax.jit(loop)
