"""``compile``/``fit``/``evaluate``/``predict``: the Keras training surface over the engine.

The host loop only dispatches compiled calls and reads logs at epoch ends (or after
each dispatch when a callback overrides a batch hook). Weights move from the layers'
handles into a ``TrainState`` at the start of ``fit`` and back at the end.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import _scope
from kerax.callbacks import CallbackList, History, ProgbarLogger
from kerax.data import arrays
from kerax.trainer.compile_utils import CompiledLoss, CompiledMetrics, flatten_outputs
from kerax.trainer.engine import Engine, TrainState, make_predict_loop

_DEFAULT_BATCH = 32


def _order(n: int, batch_size: int) -> jax.Array:
    """``0..n-1`` padded to whole batches with valid indices (masked out later)."""
    steps = math.ceil(n / batch_size)
    return jnp.asarray(np.arange(steps * batch_size) % n, jnp.int32)


def _place(tree: Any) -> Any:
    """Commit arrays to the default device, so the first dispatch sees the same
    placement as every later one (whose inputs are the previous outputs) and XLA
    compiles once rather than twice."""
    device = jax.config.jax_default_device or jax.devices()[0]
    return jax.device_put(tree, device)


def _host(logs: dict) -> dict[str, float]:
    values = jax.device_get(list(logs.values()))  # one transfer; dicts would sort keys
    return {k: float(v) for k, v in zip(logs, values)}


class Trainer:
    """Mixin giving ``Model`` Keras's training API."""

    def __init__(self):
        self.compiled = False
        self.optimizer = None
        self.stop_training = False
        self.history = None
        self._loss_spec = None
        self._compiled_loss: CompiledLoss | None = None
        self._compiled_metrics: CompiledMetrics | None = None
        self._engines: dict[int, Engine] = {}
        self._predict_loops: dict[int, Any] = {}
        self._opt_state = None
        self._train_key = None

    def compile(
        self,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        loss_weights: Any = None,
        metrics: Any = None,
        weighted_metrics: Any = None,
        run_eagerly: bool = False,
        steps_per_execution: int = 1,
        jit_compile: Any = "auto",
    ) -> None:
        """Configure the model for training.

        Args:
            optimizer: a name (``"adam"``), a kerax optimizer, or an optax transformation.
            loss: a name, a function ``fn(y_true, y_pred)``, a ``Loss``; or a list/dict per
                output.
            loss_weights: per-output weights of the total loss (list or dict).
            metrics: names, functions or ``Metric`` objects (a list, or per output).
            weighted_metrics: metrics that also take ``sample_weight``/``class_weight``.
            steps_per_execution: training steps run inside one compiled call.
        """
        from kerax import optimizers

        if run_eagerly:
            raise ValueError(
                "run_eagerly=True is not supported: kerax always compiles the train step. "
                "To debug, call model.apply(...) eagerly or use jax.disable_jit()."
            )
        if not isinstance(steps_per_execution, int) or steps_per_execution < 1:
            raise ValueError(
                "steps_per_execution must be a positive integer. Received: "
                f"steps_per_execution={steps_per_execution!r}"
            )
        self.optimizer = optimizers.get(optimizer)
        self._loss_spec = (loss, loss_weights)
        self._metric_spec = (metrics, weighted_metrics)
        self._compiled_loss = None
        self._compiled_metrics = None
        self._engines = {}
        self._opt_state = None
        self.steps_per_execution = steps_per_execution
        self.compiled = True

    # -- set-up shared by fit/evaluate/*_on_batch --------------------------------------
    def _require_compiled(self, what: str) -> None:
        if not self.compiled:
            raise RuntimeError(
                f"You must call compile() before {what}(), e.g. "
                "model.compile(optimizer='adam', loss='mse')."
            )

    def _output_names(self, x_sample: Any) -> list[str]:
        names = getattr(self, "output_names", None)
        if names:
            return list(names)
        spec = jax.eval_shape(
            lambda v, x: self._apply(v, (x,), False, None)[0], self._abstract_variables(), x_sample
        )
        if isinstance(spec, dict):
            return list(spec)
        leaves = jax.tree_util.tree_leaves(spec)
        if len(leaves) == 1:
            return [self.layers[-1].name if getattr(self, "layers", None) else "output"]
        return [f"output_{i}" for i in range(len(leaves))]

    def _abstract_variables(self) -> dict:
        return self._tree(lambda path, v: jax.ShapeDtypeStruct(v.shape, v.dtype))

    def _engine_for(self, x: Any, y: Any, batch_size: int) -> Engine:
        first = jax.tree_util.tree_map(lambda a: a[:batch_size], x)
        self._build_from_data(first)
        if self._compiled_loss is None:
            names = self._output_names(first)
            loss, loss_weights = self._loss_spec
            self._compiled_loss = CompiledLoss(loss, loss_weights, names)
            self._compiled_metrics = CompiledMetrics(*self._metric_spec, names, self._compiled_loss)
        if not self._compiled_metrics.built:
            names = self._compiled_loss.output_names
            y_pred = jax.eval_shape(
                lambda v, xb: self._apply(v, (xb,), False, None)[0],
                self._abstract_variables(),
                first,
            )
            from kerax.trainer.compile_utils import align

            self._compiled_metrics.build(align(y, names, "y"), flatten_outputs(y_pred))
        if batch_size not in self._engines:
            self._engines[batch_size] = Engine(
                self, self._compiled_loss, self._compiled_metrics, self.optimizer, batch_size
            )
        return self._engines[batch_size]

    def _initial_state(self, engine: Engine, copy: bool) -> TrainState:
        variables = self.get_variables()
        if copy:  # fit donates the state; keep arrays the user may hold valid
            variables = jax.tree_util.tree_map(jnp.copy, variables)
        if self._opt_state is None:
            self._opt_state = self.optimizer.init(variables["trainable"])
        opt_state = self.optimizer.sync_state(self._opt_state)
        if self._train_key is None:
            self._train_key = _scope.next_global_key()
        metrics, losses = _place(engine.fresh_metric_states())
        return _place(
            TrainState(
                trainable=variables["trainable"],
                non_trainable=variables["non_trainable"],
                opt_state=opt_state,
                metrics=metrics,
                losses=losses,
                step=jnp.asarray(self.optimizer.iterations, jnp.int32),
                key=self._train_key,
            )
        )

    def _finish(self, state: TrainState, final: bool = False) -> None:
        trainable = state.trainable
        if final:  # use_ema: Keras ends fit with the moving-average weights
            trainable = self.optimizer.finalize_params(trainable, state.opt_state)
            self._compiled_metrics.write_back(jax.device_get(state.metrics))
        self.set_variables({"trainable": trainable, "non_trainable": state.non_trainable})
        self._opt_state = state.opt_state
        self._train_key = state.key
        self.optimizer.observe_state(state.opt_state)

    def _prepare(self, x, y, sample_weight, class_weight=None):
        x, y = arrays.to_arrays(x, "x"), arrays.to_arrays(y, "y")
        sample_weight = arrays.to_arrays(sample_weight, "sample_weight")
        n = arrays.num_samples(x, y, sample_weight)
        if class_weight is not None:
            sample_weight = arrays.class_weights_to_sample_weights(y, class_weight, sample_weight)
        return x, y, sample_weight, n

    # -- fit -----------------------------------------------------------------------------
    def fit(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: Any = "auto",
        callbacks: list | None = None,
        validation_split: float = 0.0,
        validation_data: Any = None,
        shuffle: bool = True,
        class_weight: dict | None = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        validation_batch_size: int | None = None,
        validation_freq: int = 1,
    ) -> History:
        """Train for ``epochs`` epochs; returns a ``History`` of per-epoch logs.

        Args mirror Keras's ``Model.fit``; ``x``/``y`` are NumPy or JAX arrays (or
        lists/dicts of them, one per input/output).
        """
        self._require_compiled("fit")
        if y is None:
            raise ValueError("fit() needs targets: pass y (the labels) along with x.")
        batch_size = int(batch_size or _DEFAULT_BATCH)
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive. Received: batch_size={batch_size}")
        x, y, sample_weight, n = self._prepare(x, y, sample_weight, class_weight)
        val = None
        if validation_data is not None:
            val = _unpack_validation(validation_data)
        elif validation_split:
            (x, y, sample_weight), val = arrays.split_validation(
                x, y, sample_weight, validation_split
            )
            n = arrays.num_samples(x, y, sample_weight)
        engine = self._engine_for(x, y, batch_size)
        data = _place((x, y, sample_weight))
        steps = math.ceil(n / batch_size)
        if steps_per_epoch is not None:
            steps = min(int(steps_per_epoch), steps)
        verbose = 1 if verbose == "auto" else int(verbose)
        self.history = History()
        cbs = list(callbacks or [])
        if verbose:
            cbs.append(ProgbarLogger())
        callback_list = CallbackList(
            [*cbs, self.history], model=self, epochs=epochs, steps=steps, verbose=verbose
        )
        user_callbacks = bool(callbacks)
        state = self._initial_state(engine, copy=True)
        order = _order(n, batch_size)
        shuffle_key = _scope.next_global_key()
        self.stop_training = False
        callback_list.on_train_begin()
        k = self.steps_per_execution
        for epoch in range(initial_epoch, epochs):
            callback_list.on_epoch_begin(epoch)
            metrics, losses = _place(engine.fresh_metric_states())
            state = state.replace(metrics=metrics, losses=losses)
            epoch_order = order
            if shuffle:
                epoch_order = _order_shuffled(shuffle_key, epoch, n, order)
            for start in range(0, steps, k):
                stop = min(start + k, steps)
                state = engine.train_loop(state, data, epoch_order, n, start, stop)
                if callback_list.needs_batch_logs:
                    callback_list.on_train_batch_end(stop - 1, _host(engine.logs(state)))
                if self.stop_training:
                    break
            logs = _host(engine.logs(state))
            if val is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._evaluate_state(
                    state,
                    *val,
                    batch_size=validation_batch_size or batch_size,
                    steps=validation_steps,
                )
                logs.update({f"val_{k_}": v for k_, v in val_logs.items()})
            if user_callbacks:
                self._finish(jax.tree_util.tree_map(jnp.copy, state))
            callback_list.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        self._finish(state, final=True)
        callback_list.on_train_end(logs if epochs > initial_epoch else {})
        return self.history

    # -- evaluate ------------------------------------------------------------------------
    def _evaluate_state(
        self, state: TrainState, x, y, sample_weight, batch_size: int, steps: int | None = None
    ) -> dict[str, float]:
        x, y, sample_weight, n = self._prepare(x, y, sample_weight)
        engine = self._engine_for(x, y, batch_size)
        total_steps = math.ceil(n / batch_size)
        steps = total_steps if steps is None else min(int(steps), total_steps)
        metrics, losses = _place(engine.fresh_metric_states())
        eval_state = state.replace(metrics=metrics, losses=losses, opt_state=None)
        eval_state = engine.eval_loop(
            eval_state, _place((x, y, sample_weight)), _order(n, batch_size), n, steps
        )
        return _host(engine.logs(eval_state))

    def evaluate(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        verbose: Any = "auto",
        sample_weight: Any = None,
        steps: int | None = None,
        callbacks: list | None = None,
        return_dict: bool = False,
    ):
        """Loss and metrics on ``(x, y)``: ``loss`` alone, or ``[loss, *metrics]``.

        With ``return_dict=True``, a dict keyed by the log names.
        """
        self._require_compiled("evaluate")
        if y is None:
            raise ValueError("evaluate() needs targets: pass y along with x.")
        batch_size = int(batch_size or _DEFAULT_BATCH)
        x_, y_, _, _ = self._prepare(x, y, sample_weight)
        engine = self._engine_for(x_, y_, batch_size)
        state = self._initial_state(engine, copy=False)
        logs = self._evaluate_state(state, x, y, sample_weight, batch_size, steps)
        if 1 if verbose == "auto" else int(verbose):
            from kerax.callbacks.progbar import format_logs

            n = arrays.num_samples(x_)
            print(f"{math.ceil(n / batch_size)}/{math.ceil(n / batch_size)} - " + format_logs(logs))
        return _logs_result(logs, return_dict)

    # -- predict -------------------------------------------------------------------------
    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: Any = "auto",
        steps: int | None = None,
        callbacks: list | None = None,
    ) -> Any:
        """Outputs for ``x`` as NumPy arrays, computed in one compiled call."""
        batch_size = int(batch_size or _DEFAULT_BATCH)
        x = arrays.to_arrays(x, "x")
        n = arrays.num_samples(x)
        self._build_from_data(jax.tree_util.tree_map(lambda a: a[:batch_size], x))
        if batch_size not in self._predict_loops:
            self._predict_loops[batch_size] = make_predict_loop(self, batch_size)
        total = math.ceil(n / batch_size)
        steps = total if steps is None else min(int(steps), total)
        out = self._predict_loops[batch_size](
            self.get_variables(), _place(x), _order(n, batch_size), steps
        )
        limit = min(n, steps * batch_size)
        return jax.tree_util.tree_map(lambda a: np.asarray(a[:limit]), out)

    # -- single batches -------------------------------------------------------------------
    def _on_batch(self, x, y, sample_weight, class_weight, training: bool):
        x, y, sample_weight, n = self._prepare(x, y, sample_weight, class_weight)
        engine = self._engine_for(x, y, n)
        state = self._initial_state(engine, copy=False)
        batch = (x, y, sample_weight, jnp.ones((n,), jnp.float32))
        if training:
            state = engine.train_one(state, batch)
            self._finish(state)
        else:
            state = engine.eval_one(state, batch)
        return _host(engine.logs(state))

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One gradient step on one batch; returns its loss (and metrics)."""
        self._require_compiled("train_on_batch")
        return _logs_result(self._on_batch(x, y, sample_weight, class_weight, True), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss (and metrics) on one batch, without updating the model."""
        self._require_compiled("test_on_batch")
        return _logs_result(self._on_batch(x, y, sample_weight, None, False), return_dict)

    def predict_on_batch(self, x):
        """Outputs for one batch as NumPy arrays."""
        return self.predict(x, batch_size=arrays.num_samples(arrays.to_arrays(x, "x")), verbose=0)

    @property
    def metrics(self) -> list:
        """The compiled metric objects (their results are the last fit's)."""
        return self._compiled_metrics.metric_objects if self._compiled_metrics else []

    @property
    def metrics_names(self) -> list[str]:
        """Names of the values ``evaluate`` returns, in order."""
        names = ["loss"]
        if self._compiled_loss is not None:
            names += self._compiled_loss.per_output_names
        if self._compiled_metrics is not None:
            names += self._compiled_metrics.names
        return names


def _order_shuffled(key, epoch: int, n: int, order: jax.Array) -> jax.Array:
    return _shuffled(jax.random.fold_in(key, epoch), order, n)


@jax.jit
def _shuffled(key, order, n):
    """``order`` (0..n-1 padded to whole batches) with its first n entries permuted."""
    # Sorting random keys permutes the valid prefix and keeps the padded tail in place.
    positions = jnp.arange(order.shape[0])
    keys = jnp.where(positions < n, jax.random.uniform(key, order.shape), 2.0 + positions)
    perm = jnp.argsort(keys).astype(jnp.int32)
    return jnp.where(positions < n, perm, order)


def _unpack_validation(data: Any) -> tuple:
    if isinstance(data, (list, tuple)) and len(data) in (2, 3):
        x, y, *rest = data
        return x, y, rest[0] if rest else None
    raise ValueError(
        "validation_data must be a tuple (x_val, y_val) or (x_val, y_val, val_sample_weight). "
        f"Received: {type(data).__name__}"
    )


def _logs_result(logs: dict[str, float], return_dict: bool):
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values
