"""What ``fit``, ``evaluate`` and the ``*_on_batch`` methods share: building the model
and its compiled loss and metrics from the first batch, one ``Engine`` per batch size,
and the ``TrainState`` that moves the weights in and out of the compiled loops."""

from __future__ import annotations

import contextlib
import math
from typing import Any

import jax
import numpy as np

from kerax import _scope, _warnings
from kerax.data import arrays
from kerax.trainer._loops import loops_are_fast, precompile
from kerax.trainer.compile_utils import CompiledLoss, CompiledMetrics, align, flatten_outputs
from kerax.trainer.engine import Engine, TrainState, intermediate_bytes, python_logs
from kerax.trainer.runners import ArrayRunner, place_state
from kerax.trainer.runners import place as _place

# Tracing for shapes only: a layer drawing random numbers at inference gets this key.
_TRACE_KEY = lambda: jax.random.PRNGKey(0)  # noqa: E731


class _NotCompiledError(ValueError, RuntimeError):
    """``fit``/``evaluate``/... before ``compile()``: a ValueError, as Keras raises,
    and a RuntimeError, as kerax raised before (both ``except`` forms catch it)."""


class Setup:
    """Mixed into ``Trainer``: the set-up its loops share."""

    def _require_compiled(self, what: str) -> None:
        if not self.compiled:
            raise _NotCompiledError(
                f"You must call compile() before {what}(): the model has no loss or "
                "optimizer yet. Call e.g. model.compile(optimizer='adam', loss='mse') first."
            )

    def _reset_attribute_metrics(self) -> None:
        """Keras resets every metric when fit, evaluate or a single-batch step starts;
        kerax's own loops never update the metrics held as attributes of the model or
        its layers, so they log those metrics' fresh results (``Engine.host_logs``), as
        Keras logs a metric that no step updates (a ``Mean``'s 0.0)."""
        logs: dict = {}
        for metric in self._attribute_metrics():
            metric.reset_state()
            result = metric.result()
            logs.update(result if isinstance(result, dict) else {metric.name: result})
        self.__dict__["_attribute_logs"] = python_logs(logs) if logs else {}

    def _forward_spec(self, x_sample: Any):
        """Trace the forward pass once: output shapes, and whether loops are fast for it."""
        key = (
            jax.tree_util.tree_structure(x_sample),
            tuple((a.shape[1:], str(a.dtype)) for a in jax.tree_util.tree_leaves(x_sample)),
        )
        if getattr(self, "_forward_cache", (None,))[0] != key:
            jaxpr, spec = jax.make_jaxpr(
                lambda v, x: self._apply(v, (x,), False, _TRACE_KEY)[0], return_shape=True
            )(self._abstract_variables(), x_sample)
            traced = jax.tree_util.tree_leaves(x_sample)[0].shape[0]
            row_bytes = intermediate_bytes(jaxpr.jaxpr) // max(1, traced)
            fast = loops_are_fast(jaxpr)
            self._forward_cache = (key, spec, fast, row_bytes, traced, jaxpr)
        return self._forward_cache[1], self._forward_cache[2]

    def _forward_row_bytes(self, x_sample: Any) -> int:
        """The forward pass's intermediate values, in bytes per row of input."""
        self._forward_spec(x_sample)
        return self._forward_cache[3]

    def _output_keys(self) -> list[str] | None:
        """What losses, metrics, targets and logs are keyed by, one per output: the
        output names where the model knows them (see ``Functional._output_keys``)."""
        return getattr(self, "output_names", None)

    def _output_names(self, x_sample: Any) -> list[str]:
        names = self._output_keys()
        if names:
            return list(names)
        spec, _ = self._forward_spec(x_sample)
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
        self._check_stateful_batch(batch_size)
        if self._compiled_loss is None:
            names = self._output_names(first)
            loss, loss_weights = self._loss_spec
            self._compiled_loss = CompiledLoss(loss, loss_weights, names)
            self._compiled_metrics = CompiledMetrics(*self._metric_spec, names, self._compiled_loss)
        if not self._compiled_metrics.built:
            names = self._compiled_loss.output_names
            y_pred, _ = self._forward_spec(first)
            self._compiled_metrics.build(align(y, names, "y"), flatten_outputs(y_pred))
        self._check_variable_layout()
        if batch_size not in self._engines:  # the model's layers decide loops_fast
            self._engines[batch_size] = Engine(
                self,
                self._compiled_loss,
                self._compiled_metrics,
                self.optimizer,
                batch_size,
                privacy=getattr(self, "_privacy", None),
                loops_fast=self._forward_spec(first)[1],
            )
        engine = self._engines[batch_size]
        engine.x_sample = jax.tree_util.tree_map(
            lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), first
        )
        return engine

    def _check_variable_layout(self) -> None:
        """Variables frozen, unfrozen or added since the engines were built (a layer's
        ``trainable`` set, ``enable_lora``): rebuild them, and start the optimizer afresh
        (its slots no longer match), with a warning. Keras asks for a new ``compile()``."""
        layout = [(p, v.trainable, v.shape) for p, v in self._variable_index(states=True)]
        previous = self.__dict__.get("_engines_layout")
        self.__dict__["_engines_layout"] = layout
        if previous is None or previous == layout:
            return
        self._engines = {}
        if self._opt_state is not None:
            before = [(p, shape) for p, trainable, shape in previous if trainable]
            if before != [(p, shape) for p, trainable, shape in layout if trainable]:
                _warnings.warn(
                    f"Model '{self.name}': its trainable variables changed since it was "
                    "last trained (a layer frozen or unfrozen, LoRA enabled), so the "
                    f"optimizer '{self.optimizer.name}' starts from a fresh state "
                    "(iterations 0). Call compile() again after such changes to silence "
                    "this, as Keras requires."
                )
                self._opt_state = None

    def _steps_per_dispatch(self, engine: Engine, steps: int, batch_hooks: bool) -> int:
        """``steps_per_execution``, or the automatic choice.

        "auto": about 20 dispatches per epoch where loops are fast (so a live progress bar
        still moves and dispatch overhead is amortized), one step per dispatch where they
        are not (see ``kerax.trainer.engine``), and one when callbacks read every batch.
        """
        k = self.steps_per_execution
        if k != "auto":
            return int(k)
        if batch_hooks or not engine.loops_fast:
            return 1
        return max(1, math.ceil(steps / 20))

    def _initial_state(self, engine: Engine, copy: bool) -> TrainState:
        variables = self.get_variables()
        if copy:  # fit donates the state; keep arrays the user may hold valid
            variables = jax.device_put(variables, may_alias=False)  # a copy, no compile
        opt_state = self._optimizer_state(variables["trainable"])
        if self._train_key is None:
            self._train_key = _scope.next_global_key()
        metrics, losses = _place(engine.fresh_metric_states())
        return place_state(
            TrainState(
                trainable=variables["trainable"],
                non_trainable=variables["non_trainable"],
                opt_state=opt_state,
                metrics=metrics,
                losses=losses,
                step=np.int32(self.optimizer.iterations),
                key=self._train_key,
            ),
            engine.variable_paths,
        )

    def _optimizer_state(self, trainable: Any) -> Any:
        """The optimizer state training goes on from, with pending host-side changes.

        A model recompiled with the optimizer it had keeps its state (iterations, slots),
        as in Keras, while the trainable variables it was built for are still the
        model's; if they changed (a layer frozen or unfrozen), it starts afresh.
        """
        state = self._opt_state
        if state is not None and self.__dict__.pop("_opt_state_recompiled", False):
            fresh = jax.eval_shape(self.optimizer.init, trainable)
            if _layout(state) != _layout(fresh):
                _warnings.warn(
                    f"The model was recompiled with its optimizer '{self.optimizer.name}', "
                    "but its trainable variables changed since that optimizer's state was "
                    "built: the optimizer starts from a fresh state (iterations 0). Keras "
                    "raises here; pass a new optimizer to compile() to silence this."
                )
                state = None
        if state is None:
            state = self._opt_state = self.optimizer.init(trainable)
        return self.optimizer.sync_state(state)

    @contextlib.contextmanager
    def _usable_after_errors(self):
        """Keep the model usable when ``fit`` stops on an exception (a callback raising,
        Ctrl-C): each dispatch donates the state's buffers, so the model's optimizer state
        and key would be deleted arrays. The latest live state is written back (the
        weights as trained so far, as Keras's are); else a dead optimizer state is
        dropped (the next ``fit`` starts it afresh)."""
        try:
            yield
        except BaseException:
            live, self._fit_state = self.__dict__.get("_fit_state"), None
            if live is not None and not _deleted(live):
                self._finish(live)
            if _deleted(self._opt_state):
                self._opt_state = None
            if _deleted(self._train_key):
                self._train_key = None
            raise

    def _finish(self, state: TrainState, final: bool = False) -> None:
        trainable = state.trainable
        if final:  # use_ema: Keras ends fit with the moving-average weights
            trainable = self.optimizer.finalize_params(trainable, state.opt_state)
            self._sync_keras_metrics(state)  # one transfer of the metric states
            self._compiled_metrics.write_back(self.__dict__["_keras_pending"][1])
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

    def _fresh_logs(self, engine: Engine) -> dict:
        metrics, losses = _place(engine.fresh_metric_states())
        return {"metrics": metrics, "losses": losses}

    def _precompile(
        self, engine: Engine, state: TrainState, val_runner, runner, k: int, fused: bool
    ) -> list:
        """Start compiling the logs and validation programs beside the train program."""
        if engine.precompiled:
            return []  # a second fit of this model: everything is compiled
        engine.precompiled = True
        if fused and isinstance(runner, ArrayRunner) and runner.feed is None:
            # Trace and lower the train program first: tracing holds the GIL, and the
            # background threads below would slow it down. Its real call (the first
            # dispatch) finds the lowering cached and goes straight to compiling.
            stop = min(k, runner.steps)
            args = (state, runner.data, runner.order, 0, stop, runner.n, runner.chunk(k))
            args += (runner.trips(k),)
            engine.train_fused.trace(*args).lower()
        # Logs computed by NumPy (engine.logs_on_host) need no logs program.
        threads = [] if engine.logs_on_host(state) else [precompile(engine._log_values, state)]
        if isinstance(val_runner, ArrayRunner) and val_runner.feed is None:
            val_engine = val_runner.engine
            eval_state = state.replace(opt_state=None, **self._fresh_logs(val_engine))
            data, order, n = val_runner.data, val_runner.order, val_runner.n
            if val_engine.loops_fast:
                chunk = val_runner.chunk(val_runner.steps)
                trips = val_runner.trips(val_runner.steps)
                args = (eval_state, data, order, 0, val_runner.steps, n, chunk, trips)
                threads.append(precompile(val_engine.eval_fused, *args))
            else:
                threads.append(precompile(val_engine.eval_single, eval_state, data, order, 0, n))
            if not val_engine.logs_on_host(eval_state):
                threads.append(precompile(val_engine._log_values, eval_state))
        return threads

    def _sync_keras_metrics(self, state: TrainState) -> None:
        """Give ``model.metrics`` (the loss trackers and ``compile_metrics``) the results
        of a run of kerax's own loops, which keep those numbers in their state. Copied
        to the host now, written into the metrics when ``model.metrics`` is next read
        (building those metrics costs small compiles that fit need not wait for)."""
        self.__dict__["_keras_pending"] = jax.device_get((state.losses, state.metrics))


def ran_dry(logs: dict, what: str) -> dict:
    """The logs of a pass that got no batch: NaN, not the zeros of empty running sums."""
    _warnings.warn(
        f"{what}(): the data had run out, this pass got no batch; its logs are NaN"
        + (" and training stops." if what == "fit" else ".")
    )
    return {k: float("nan") for k in logs}


def should_validate(epoch: int, validation_freq: Any) -> bool:
    """Keras's rule: every ``validation_freq`` epochs, or at the epochs (1-based) listed."""
    if isinstance(validation_freq, int) and not isinstance(validation_freq, bool):
        return (epoch + 1) % validation_freq == 0
    if isinstance(validation_freq, (list, tuple, set)):
        return epoch + 1 in validation_freq
    raise ValueError(
        "validation_freq must be an integer (validate every N epochs) or a list of epoch "
        f"numbers, counted from 1. Received: validation_freq={validation_freq!r}"
    )


def _layout(tree: Any) -> tuple:
    """A pytree's structure with each leaf's shape and dtype."""
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    return treedef, tuple((np.shape(a), np.dtype(a.dtype)) for a in leaves)


def _deleted(tree: Any) -> bool:
    """Whether any array of ``tree`` was donated (deleted) by a compiled call."""
    return any(isinstance(x, jax.Array) and x.is_deleted() for x in jax.tree.leaves(tree))
