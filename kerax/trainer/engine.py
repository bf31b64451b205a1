"""The compiled engine: one ``TrainState`` pytree and pure train/eval/predict steps.

``train_step(state, batch) -> state`` is pure: forward in training mode, loss plus
regularization and ``add_loss`` terms, ``jax.value_and_grad``, the optax update,
constraints, metric updates. Loops over batches run *inside* one compiled call
(``lax.fori_loop`` over a device-resident dataset in an order drawn on the host), so a dispatch
covers ``steps_per_execution`` steps and the host never touches a batch.

Every batch has the same shape: the last partial batch is padded with valid rows and
a 0/1 ``mask`` (passed to the losses as Keras's mask and to the metrics as sample
weight) removes them from every number, so an epoch compiles once.
"""

from __future__ import annotations

import math
from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np

from kerax import _mask_count, _scope
from kerax import distribution as distribution_lib
from kerax._host_eval import host_eval, host_function
from kerax.trainer._loops import fused_compiler_options, static_trip_counts, steps_loop
from kerax.trainer.compile_utils import (
    CompiledLoss,
    CompiledMetrics,
    align,
    data_rows,
    flatten_outputs,
    on_valid_rows,
    output_masks,
)


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
        privacy: a ``kerax.trainer.privacy.DPConfig`` for DP-SGD gradients, or None.
        loops_fast: whether the model's step runs fast inside a loop body (see
            ``loops_are_fast``): then epochs run fused.
    """

    def __init__(
        self,
        model,
        loss: CompiledLoss,
        metrics: CompiledMetrics,
        optimizer,
        batch_size: int,
        privacy: Any = None,
        loops_fast: bool = True,
    ):
        self.model = model
        self.loss = loss
        self.metrics = metrics
        self.optimizer = optimizer
        self.batch_size = int(batch_size)
        self.privacy = privacy  # a kerax.trainer.privacy.DPConfig: DP-SGD gradients
        index = model._variable_index()
        bind = getattr(optimizer, "_bind_model", None)
        if bind is not None:  # exclusions by variable, finalize_variable_values
            bind(model)
        # pytree path -> Keras's variable.path, both matched by a LayoutMap
        self.variable_paths = {"/".join(p): v.path for p, v in model._variable_index(True)}
        self.regularized = [(p, v.regularizer) for p, v in index if v.trainable and v.regularizer]
        self.constrained = [
            (p, v.constraint)
            for p, v in index
            if v.trainable and v.constraint and not v.overwrite_with_gradient
        ]
        self.trace_count = 0
        self.x_sample = None  # the inputs' shapes (ShapeDtypeStructs), set by fit/evaluate
        self.loops_fast = loops_fast
        self.static_trips = static_trip_counts()
        options = fused_compiler_options(loops_fast)
        self.train_fused = jax.jit(
            self._train_fused,
            donate_argnums=0,
            static_argnames=("n", "chunk", "trips"),
            compiler_options=options,
        )
        self.train_single = jax.jit(self._train_single, donate_argnums=0, static_argnames="n")
        self.eval_fused = jax.jit(
            self._eval_fused, static_argnames=("n", "chunk", "trips"), compiler_options=options
        )
        self.eval_single = jax.jit(self._eval_single, static_argnames=("n",))
        self.train_one = jax.jit(self.train_step)  # *_on_batch: nothing donated
        self.eval_one = jax.jit(self.eval_step)
        self.train_batch = jax.jit(self.train_step, donate_argnums=0)  # streamed batches
        self.eval_batch = self.eval_one
        self._log_values = jax.jit(lambda state: tuple(self.logs(state).values()))
        self._fresh_states = None
        self._host_logs = None  # the NumPy logs function, or False (see logs_on_host)
        self.precompiled = False  # whether a fit started this engine's compiles (setup)

    # -- state ---------------------------------------------------------------------------
    def fresh_metric_states(self) -> tuple[tuple, tuple]:
        if self._fresh_states is None:
            # Kept on the host: building the states op by op would compile an XLA
            # program per op and shape (tens of ms each) at every fit.
            self._fresh_states = host_eval(self._initial_metric_states)
        # Donation needs one buffer per leaf: device_put gives each leaf its own.
        return jax.device_put(self._fresh_states)

    def _initial_metric_states(self) -> tuple[tuple, tuple]:
        n_losses = 1 + len(self.loss.per_output_names)
        zero = jnp.zeros((), jnp.float32)
        return self.metrics.initial_state(), tuple((zero, zero) for _ in range(n_losses))

    def logs(self, state: TrainState) -> dict[str, Any]:
        """Device scalars for the logs, keys sorted as Keras logs them (no host sync)."""
        return self._logs_of(state.losses, state.metrics)

    def _logs_of(self, losses, metrics) -> dict[str, Any]:
        names = ["loss", *self.loss.per_output_names]
        out = {n: _mean_result(s) for n, s in zip(names, losses)}
        out.update(self.metrics.results(metrics))
        return keras_logs(out)

    @property
    def log_names(self) -> list[str]:
        """The logs' keys in Keras's order (sorted, see ``keras_logs``)."""
        return sorted(["loss", *self.loss.per_output_names, *self.metrics.names])

    def logs_fn(self, state: TrainState) -> dict[str, Any]:
        """``logs`` in one compiled call (its values come back as a tuple, in ``log_names``'
        order)."""
        return dict(zip(self.log_names, self._log_values(state)))

    def logs_on_host(self, state: TrainState) -> bool:
        """Whether ``host_logs`` computes the logs with NumPy (no logs program to compile):
        true when every result is exact there (means, accuracies, errors; not AUC)."""
        if self._host_logs is None:
            values = lambda losses, metrics: tuple(self._logs_of(losses, metrics).values())
            self._host_logs = host_function(values, state.losses, state.metrics) or False
        return bool(self._host_logs)

    def host_logs(self, state: TrainState) -> dict[str, Any]:
        """The logs as Python floats (arrays stay arrays), in Keras's order: from one
        transfer of the metric states, by NumPy where ``logs_on_host``, else by
        ``logs_fn``'s compiled call."""
        if not self.logs_on_host(state):
            logs = python_logs(self.logs_fn(state))
        else:
            values = self.host_log_values(*jax.device_get((state.losses, state.metrics)))
            logs = python_logs(dict(zip(self.log_names, values)))
        # Metrics held as model attributes, which these loops never update: their fresh
        # results, as Keras logs them (see Setup._reset_attribute_metrics).
        extra = self.model.__dict__.get("_attribute_logs") or {}
        logs.update({k: v for k, v in extra.items() if k not in logs})
        return keras_logs(logs)

    def host_log_values(self, losses, metrics) -> tuple:
        """The log values (``log_names``' order) by NumPy from host copies of the loss
        and metric states; only where ``logs_on_host`` said so."""
        return self._host_logs(losses, metrics)

    # -- one step ------------------------------------------------------------------------
    def _split(self, batch):
        x, y, sw, mask = batch
        names = self.loss.output_names
        return x, align(y, names, "y"), align(sw, names, "sample_weight"), mask

    def _losses(self, variables, x, y, sw, mask, training, key, partial_rows=None):
        """Loss, and ``(preds, per-output losses, non-trainable values, output masks)``.

        A model whose forward pass mixes rows (``Model._rows_independent``: a sum over
        the batch, rows compared with each other) would see the padding rows of the
        padded last batch: that batch runs on its ``partial_rows`` valid rows alone, as
        Keras's shorter last batch (its outputs padded back for the metrics' update)."""
        if not (partial_rows and self._mixes_rows()):
            return self._batch_losses(variables, x, y, sw, mask, training, key, partial_rows)
        rows = mask.shape[0]

        def run(x, y, sw, mask):  # outputs padded back to the batch for the metrics
            total, (preds, losses, non_trainable, masks) = self._batch_losses(
                variables, x, y, sw, mask, training, key
            )
            grow = lambda t: jnp.pad(t, [(0, rows - t.shape[0])] + [(0, 0)] * (t.ndim - 1))
            preds, masks = jax.tree_util.tree_map(grow, (preds, masks))
            return total, (preds, losses, non_trainable, masks)

        return on_valid_rows(mask, partial_rows, run, x, y, sw, mask)

    def _mixes_rows(self) -> bool:
        """Whether the model's forward pass mixes rows (as ``predict`` decides, on the
        inputs' shapes ``fit``/``evaluate`` set in ``x_sample``)."""
        return self.x_sample is not None and not self.model._rows_independent(self.x_sample)

    def _batch_losses(self, variables, x, y, sw, mask, training, key, partial_rows=None):
        y_pred, non_trainable, added, keras_masks = self.model._apply(
            variables, (x,), training, key, sample_mask=mask, return_masks=True
        )
        preds = flatten_outputs(y_pred)
        masks = output_masks(mask, keras_masks)
        total, parts = self.loss(y, preds, sw, mask, partial_rows, masks)
        for path, reg in self.regularized:
            total = total + reg(_get(variables["trainable"], path))
        for extra in added:
            total = total + jnp.sum(extra)
        return total, (preds, parts, non_trainable, masks)

    def _record(self, state, y, preds, sw, mask, total, parts, partial_rows=None, masks=None):
        count = _mask_count.total(mask)
        losses = tuple(_mean_update(s, v, count) for s, v in zip(state.losses, (total, *parts)))
        metrics = self.metrics.update(state.metrics, y, preds, sw, mask, partial_rows, masks)
        return state.replace(losses=losses, metrics=metrics)

    def train_step(
        self, state: TrainState, batch, partial_rows: int | None = None, valid_rows=None
    ) -> TrainState:
        """One step. ``partial_rows`` (static): the valid rows of the data's padded last
        batch, when the step runs over a whole array (see ``CompiledMetrics.update``);
        ``valid_rows``: this batch's (traced), when known (see ``valid_rows``)."""
        with _mask_count.counted(batch[3], valid_rows):
            return self._train_step(state, batch, partial_rows)

    def _train_step(self, state: TrainState, batch, partial_rows: int | None) -> TrainState:
        x, y, sw, mask = self._split(batch)
        # A key per step folded from the step count (state.key never changes), derived
        # only if a layer draws randomness: threefry runs as a loop on CPU, a measurable
        # cost per step of a small model, and XLA does not drop it when unused.
        step_key = lambda: jax.random.fold_in(state.key, state.step)

        def loss_fn(trainable):
            variables = {"trainable": trainable, "non_trainable": state.non_trainable}
            total, aux = self._losses(variables, x, y, sw, mask, True, step_key, partial_rows)
            # Keras's optimizer.scale_loss (mixed_float16): gradients of loss * scale,
            # which the optimizer's update divides back; the logged loss stays unscaled.
            from kerax.optimizers import loss_scale  # kept off `import kerax`

            return loss_scale.scale_gradients(total, self.optimizer, state.opt_state), aux

        if self.privacy is not None:
            from kerax.trainer import privacy

            (total, (preds, parts, non_trainable)), grads = privacy.value_and_private_grad(
                self, state, x, y, sw, mask, step_key
            )
            masks = None
        else:
            (total, (preds, parts, non_trainable, masks)), grads = jax.value_and_grad(
                loss_fn, has_aux=True
            )(state.trainable)
        # The weights flagged overwrite_with_gradient (float8 scales) become their gradient.
        trainable, opt_state = self.optimizer.apply_update(grads, state.opt_state, state.trainable)
        for path, constraint in self.constrained:
            trainable = _set(trainable, path, constraint(_get(trainable, path)))
        state = state.replace(
            trainable=trainable,
            non_trainable=non_trainable,
            opt_state=opt_state,
            step=state.step + 1,
        )
        return _in_layout(
            self._record(state, y, preds, sw, mask, total, parts, partial_rows, masks),
            self.variable_paths,
        )

    def eval_step(
        self, state: TrainState, batch, partial_rows: int | None = None, valid_rows=None
    ) -> TrainState:
        x, y, sw, mask = self._split(batch)
        variables = {"trainable": state.trainable, "non_trainable": state.non_trainable}
        with _mask_count.counted(mask, valid_rows):
            # Layers that draw random numbers at inference: a key per batch (the step and
            # the rows evaluated so far).
            seen = lambda: state.losses[0][1].astype(jnp.int32)
            key = lambda: jax.random.fold_in(jax.random.fold_in(state.key, state.step), seen())
            total, (preds, parts, non_trainable, masks) = self._losses(
                variables, x, y, sw, mask, False, key, partial_rows
            )
            # Inference changes only stateful RNN states: carried to the next batch.
            state = state.replace(non_trainable=non_trainable)
            return self._record(state, y, preds, sw, mask, total, parts, partial_rows, masks)

    # -- loops over a device-resident dataset ----------------------------------------------
    # Two programs run the same steps. "Fused" runs steps start..stop inside one call
    # (lax.fori_loop): far fewer dispatches, which doubles a small MLP's throughput.
    # "Single" runs one step per call: on XLA's CPU backend, convolutions inside a loop
    # body run 7-20x slower than at the top level of a program (measured: an MNIST-shaped
    # convnet at ~1,100-1,600 samples/s per step vs ~150-220 in a loop, while a 784-512-512
    # MLP is equally fast either way), so such models take one step per call there.
    def _batch(self, data, order, n, i, rows=None):
        """Step ``i``'s ``(x, y, sample_weight, mask)``. ``rows``: ``(first, block)``,
        the dispatch's batches already gathered from step ``first`` on (``gather``)."""
        bs = self.batch_size
        if order is None:
            # Pre-batched (x, y, sw, mask) leaves, (steps, batch, ...) split along the batch
            # axis (multi-process, kerax.distribution.ProcessFeed): indexing the steps axis
            # reads only what each device already holds, no cross-process gather.
            pick = lambda a: jax.lax.dynamic_index_in_dim(a, i, keepdims=False)
            x, y, sw, mask = jax.tree_util.tree_map(pick, data)
        else:
            if rows is not None:
                first, block = rows
                pick = lambda a: jax.lax.dynamic_index_in_dim(a, i - first, keepdims=False)
                x, y, sw = jax.tree_util.tree_map(pick, block)
            else:
                idx = jax.lax.dynamic_slice_in_dim(order, i * bs, bs)
                # Indices are always in range: "clip" spares the gather fill-mode's masking.
                take = lambda a: jnp.take(a, idx, axis=0, mode="clip")
                x, y, sw = jax.tree_util.tree_map(take, data)
            mask = ((i * bs + jnp.arange(bs)) < n).astype(jnp.float32)
        dist = distribution_lib.distribution()
        if dist is not None:  # split the batch over the mesh; XLA adds the all-reduce
            return dist.shard_batch((x, y, sw, mask))
        return x, y, sw, mask

    def valid_rows(self, order, n: int, i):
        """How many rows of step ``i``'s batch (``_batch``) are valid, or None where the
        data comes pre-batched with its own mask (``order`` None)."""
        if order is None:
            return None
        return jnp.clip(n - i * self.batch_size, 0, self.batch_size)

    def gather(self, data, order, start, chunk: int):
        """The batches of ``chunk`` steps from ``start`` (moved back to end at the last
        step), in one gather: ``(first, block)``, block's leaves ``(chunk, batch, ...)``.

        One gather of a dispatch's rows costs far less than one per step: on a 2-core
        CPU a 32-row gather takes about as long as a small layer's weight gradient (the
        tutorial MLP trains 15-20% faster this way).
        """
        bs = self.batch_size
        first = jnp.minimum(start, order.shape[0] // bs - chunk)
        idx = jax.lax.dynamic_slice_in_dim(order, first * bs, chunk * bs)
        take = lambda a: jnp.take(a, idx, axis=0, mode="clip").reshape(chunk, bs, *a.shape[1:])
        return first, jax.tree_util.tree_map(take, data)

    def _train_fused(self, state, data, order, start, stop, n, chunk=None, trips=None):
        self.trace_count += 1  # a Python side effect: runs only when jax traces
        rows = self.gather(data, order, start, chunk) if chunk else None
        part = _part(n, order, self.batch_size)
        batch = lambda i: self._batch(data, order, n, i, rows)
        body = lambda i, s: self.train_step(s, batch(i), part, self.valid_rows(order, n, i))
        with data_rows(_rows(n, order)):
            state = steps_loop(start, stop, body, state, trips)
            return _in_layout(state, self.variable_paths)

    def _train_single(self, state, data, order, i, n):
        self.trace_count += 1
        part = _part(n, order, self.batch_size)
        batch = self._batch(data, order, n, i)
        with data_rows(_rows(n, order)):
            return self.train_step(state, batch, part, self.valid_rows(order, n, i))

    def _eval_fused(self, state, data, order, start, stop, n, chunk=None, trips=None):
        rows = self.gather(data, order, start, chunk) if chunk else None
        part = _part(n, order, self.batch_size)
        batch = lambda i: self._batch(data, order, n, i, rows)
        body = lambda i, s: self.eval_step(s, batch(i), part, self.valid_rows(order, n, i))
        with data_rows(_rows(n, order)):
            return steps_loop(start, stop, body, state, trips)

    def _eval_single(self, state, data, order, i, n):
        part = _part(n, order, self.batch_size)
        batch = self._batch(data, order, n, i)
        with data_rows(_rows(n, order)):
            return self.eval_step(state, batch, part, self.valid_rows(order, n, i))

    def trips(self, steps: int) -> int | None:
        """The static trip count of a fused loop of up to ``steps`` steps on backends
        that want one (``_loops.static_trip_counts``), else None (run-time bounds)."""
        return steps if self.static_trips else None

    def run_train(self, state, data, order, start, stop, n, fused, chunk=None, trips=None):
        """Steps ``start..stop`` of an epoch, rows in ``order`` (see kerax.trainer.shuffle);
        fused, ``chunk`` (static) steps' rows are gathered at once (see ``gather``), in a
        loop of ``trips`` (static) iterations where given (see ``steps_loop``)."""
        if fused:
            return self.train_fused(state, data, order, start, stop, n, chunk, trips)
        for i in range(start, stop):
            state = self.train_single(state, data, order, i, n)
        return state

    def run_eval(self, state, data, order, steps, n, fused, chunk=None, trips=None):
        if fused:
            return self.eval_fused(state, data, order, 0, steps, n, chunk, trips)
        for i in range(steps):
            state = self.eval_single(state, data, order, i, n)
        return state


def _in_layout(state: TrainState, variable_paths: dict[str, str]) -> TrainState:
    """Under a distribution, the state's variables and optimizer slots kept in their
    layout (inside jit): XLA would otherwise choose the outputs' sharding, e.g. split a
    variable the layout map leaves replicated."""
    dist = distribution_lib.distribution()
    if dist is None:
        return state
    trainable, non_trainable, opt_state = dist.constrain_state(
        state.trainable, state.non_trainable, state.opt_state, variable_paths
    )
    return state.replace(trainable=trainable, non_trainable=non_trainable, opt_state=opt_state)


def keras_logs(logs: dict) -> dict:
    """``logs`` with its keys sorted, the order in which Keras hands logs to callbacks,
    ``History`` and ``evaluate(return_dict=True)`` (its ``CallbackList`` sorts them, and
    on JAX its compiled steps return them sorted). ``evaluate``'s list keeps
    ``metrics_names``' order."""
    return {k: logs[k] for k in sorted(logs)}


def python_logs(logs: dict) -> dict[str, Any]:
    """Log values (device or host arrays) as Python floats (arrays stay arrays), in
    one transfer and in ``logs``'s order (a dict through device_get would sort keys)."""
    values = jax.device_get(list(logs.values()))
    return {k: float(v) if np.ndim(v) == 0 else np.asarray(v) for k, v in zip(logs, values)}


def _rows(n: int, order: Any) -> int | None:
    """The data's row count, for error messages, or None for pre-batched data."""
    return None if order is None else int(n)


def _part(n: int, order: Any, batch_size: int) -> int | None:
    """The valid rows of the padded last batch of ``n`` rows (static), or None: no padded
    batch, or pre-batched multi-process data (``order`` None), padded per process."""
    return None if order is None else n % batch_size or None


def intermediate_bytes(jaxpr) -> int:
    """An upper bound on the memory of one call's intermediate values: the bytes of
    every value the computation produces (a call's values counted once, inside it)."""
    total = 0
    for eqn in jaxpr.eqns:
        subs = [
            getattr(inner, "jaxpr", inner)
            for param in eqn.params.values()
            for sub in (param if isinstance(param, (list, tuple)) else [param])
            if (inner := getattr(sub, "jaxpr", None)) is not None
        ]
        if not (subs and eqn.primitive.name in _CALLS):  # a call's outputs are its body's
            for var in eqn.outvars:
                shape = getattr(var.aval, "shape", ())
                total += math.prod(shape) * getattr(var.aval.dtype, "itemsize", 4)
        total += sum(intermediate_bytes(sub) for sub in subs)
    return total


_CALLS = frozenset(
    {
        "pjit",
        "jit",
        "closed_call",
        "core_call",
        "custom_jvp_call",
        "custom_vjp_call",
        "remat",
        "checkpoint",
    }
)


def forward_batch(model):
    """The model's jitted inference forward pass ``(variables, x) -> outputs`` (cached)."""
    fn = model.__dict__.get("_forward_batch")
    if fn is None:
        jitted = jax.jit(lambda variables, x, key: model._apply(variables, (x,), False, key)[0])
        # A fresh key per call, for layers that draw random numbers at inference.
        fn = lambda variables, x: jitted(variables, x, _scope.next_global_key())
        model.__dict__["_forward_batch"] = fn
    return fn
