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

from kerax import _host_keys, _scope, _warnings
from kerax import config as _config
from kerax._device_errors import clear_out_of_memory
from kerax.callbacks import CallbackList, History, ProgbarLogger
from kerax.data import arrays, grain_adapter
from kerax.data.streams import fit_stream, is_stream
from kerax.trainer import keras_steps
from kerax.trainer.compile_utils import CompiledLoss, CompiledMetrics, align, flatten_outputs
from kerax.trainer.engine import (
    Engine,
    TrainState,
    intermediate_bytes,
    loops_are_fast,
    precompile,
)
from kerax.trainer.evaluating import Evaluating, host_logs
from kerax.trainer.predicting import DEFAULT_BATCH, Predicting
from kerax.trainer.predictor import Predictor
from kerax.trainer.runners import ArrayRunner, StreamRunner, place_state, whole_steps
from kerax.trainer.runners import place as _place


def _cap_steps(steps: Any, name: str) -> Any:
    """``steps`` under ``config.max_steps_per_epoch()`` (Keras's EpochIterator rule)."""
    cap = _config.max_steps_per_epoch()
    if not cap:
        return steps
    steps = whole_steps(steps, name)
    if not steps or cap < steps:
        _warnings.warn(f"Limiting steps_per_epoch to {cap}")
        return cap
    return steps


class Trainer(keras_steps.KerasSteps, Evaluating, Predicting):
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
        self._predictors: dict[int, Predictor] = {}
        self.steps_per_execution: int | str = "auto"
        self._opt_state = None
        self._train_key = None
        # The fit/callback contract (kerax/callbacks/_fit_state.py, BackupAndRestore).
        self._fit_state = None
        self._shuffle_key = None
        self._initial_epoch, self._initial_step, self._initial_logs_state = None, 0, None

    def compile(
        self,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        loss_weights: Any = None,
        metrics: Any = None,
        weighted_metrics: Any = None,
        run_eagerly: bool = False,
        steps_per_execution: int | str = "auto",
        jit_compile: Any = "auto",
        auto_scale_loss: bool = True,
        dp_l2_clip: float | None = None,
        dp_noise_multiplier: float | None = None,
    ) -> None:
        """Configure the model for training.

        Args:
            optimizer: a name (``"adam"``), a kerax optimizer, or an optax transformation.
            loss: a name, a function ``fn(y_true, y_pred)``, a ``Loss``; or a list/dict per
                output.
            loss_weights: per-output weights of the total loss (list or dict).
            metrics: names, functions or ``Metric`` objects (a list, or per output).
            weighted_metrics: metrics that also take ``sample_weight``/``class_weight``.
            steps_per_execution: training steps run inside one compiled call; "auto"
                (the default) picks it per model and backend.
            auto_scale_loss: under the ``"mixed_float16"`` dtype policy, wrap the
                optimizer in ``LossScaleOptimizer`` (dynamic loss scaling), as Keras does.
            dp_l2_clip, dp_noise_multiplier: train with DP-SGD (both or neither): each
                example's gradient is clipped to L2 norm ``dp_l2_clip`` and Gaussian noise
                of std ``dp_noise_multiplier * dp_l2_clip`` is added to their sum
                (``kerax.trainer.privacy``).
        """
        from kerax import optimizers
        from kerax.trainer import privacy

        keras_steps.check_overrides(self)
        if run_eagerly:
            raise ValueError(
                "run_eagerly=True is not supported: kerax always compiles the train step. "
                "To debug, call model.apply(...) eagerly or use jax.disable_jit()."
            )
        if steps_per_execution != "auto" and (
            not isinstance(steps_per_execution, int) or steps_per_execution < 1
        ):
            raise ValueError(
                "steps_per_execution must be a positive integer. Received: "
                f"steps_per_execution={steps_per_execution!r}"
            )
        loss_weights, metrics = _keras2_positional_metrics(loss_weights, metrics)
        self._privacy = privacy.validate(dp_l2_clip, dp_noise_multiplier)
        if self._privacy is not None:
            privacy.check_model(self)
        self.optimizer = optimizers.get(optimizer)
        if (
            auto_scale_loss
            and self.dtype_policy.name == "mixed_float16"
            and not isinstance(self.optimizer, optimizers.LossScaleOptimizer)
            and getattr(self, "_privacy", None) is None  # DP-SGD clips unscaled gradients
        ):
            self.optimizer = optimizers.LossScaleOptimizer(self.optimizer)
        if self._privacy is not None:
            privacy.check_optimizer(self.optimizer)
        self._loss_spec = (loss, loss_weights)
        self._metric_spec = (metrics, weighted_metrics)
        self._compiled_loss = None
        self._compiled_metrics = None
        names = getattr(self, "output_names", None)
        if names and loss is not None:
            # Resolve the losses now (a misspelt name fails at compile, not in fit) and
            # load the metrics module: fit() then starts with nothing left to import.
            from kerax import metrics as _  # noqa: F401

            self._compiled_loss = CompiledLoss(loss, loss_weights, list(names))
            self._compiled_metrics = CompiledMetrics(
                metrics, weighted_metrics, list(names), self._compiled_loss
            )
        self._engines = {}
        self._opt_state = None
        self.steps_per_execution = steps_per_execution
        self.compiled = True
        if self.built:  # create the weights now, as Keras has them after build
            self.get_variables()

    # -- a model's own Keras 3 steps (kerax.trainer.keras_steps) -------------------------
    def _runs_custom(self, step: str) -> bool:
        """Whether Keras's loop runs ``step``: for fit and evaluate, when the user's
        subclass overrides any step or ``compute_loss`` (the other steps are then Keras's
        defaults, as in Keras); for predict, when it overrides ``predict_step``."""
        mine = keras_steps.overridden(self)
        if step == "predict_step":
            return step in mine
        return bool(mine & {"train_step", "test_step", "compute_loss"})

    def _custom_loop(self):
        from kerax.trainer.custom_loop import CustomLoop

        if self.__dict__.get("_keras_custom_loop") is None:
            self.__dict__["_keras_custom_loop"] = CustomLoop(self)
        return self.__dict__["_keras_custom_loop"]

    # -- set-up shared by fit/evaluate/*_on_batch --------------------------------------
    def _require_compiled(self, what: str) -> None:
        if not self.compiled:
            raise RuntimeError(
                f"You must call compile() before {what}(), e.g. "
                "model.compile(optimizer='adam', loss='mse')."
            )

    def _forward_spec(self, x_sample: Any):
        """Trace the forward pass once: output shapes, and whether loops are fast for it."""
        key = (
            jax.tree_util.tree_structure(x_sample),
            tuple((a.shape[1:], str(a.dtype)) for a in jax.tree_util.tree_leaves(x_sample)),
        )
        if getattr(self, "_forward_cache", (None,))[0] != key:
            jaxpr, spec = jax.make_jaxpr(
                lambda v, x: self._apply(v, (x,), False, None)[0], return_shape=True
            )(self._abstract_variables(), x_sample)
            rows = max(1, jax.tree_util.tree_leaves(x_sample)[0].shape[0])
            row_bytes = intermediate_bytes(jaxpr.jaxpr) // rows
            self._forward_cache = (key, spec, loops_are_fast(jaxpr), row_bytes)
        return self._forward_cache[1], self._forward_cache[2]

    def _forward_row_bytes(self, x_sample: Any) -> int:
        """The forward pass's intermediate values, in bytes per row of input."""
        self._forward_spec(x_sample)
        return self._forward_cache[3]

    def _output_names(self, x_sample: Any) -> list[str]:
        names = getattr(self, "output_names", None)
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
        return self._engines[batch_size]

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
        if self._opt_state is None:
            self._opt_state = self.optimizer.init(variables["trainable"])
        opt_state = self.optimizer.sync_state(self._opt_state)
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
        steps = _cap_steps(steps, "steps")
        if self._runs_custom("test_step"):
            self._require_compiled("evaluate")
            return self._custom_loop().evaluate(
                x,
                y,
                sample_weight,
                int(batch_size or DEFAULT_BATCH),
                steps,
                callbacks,
                return_dict,
                verbose,
            )
        return super().evaluate(
            x, y, batch_size, verbose, sample_weight, steps, callbacks, return_dict
        )

    evaluate.__doc__ = Evaluating.evaluate.__doc__

    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: Any = "auto",
        steps: int | None = None,
        callbacks: list | None = None,
    ) -> Any:
        steps = _cap_steps(steps, "steps")
        if self._runs_custom("predict_step"):
            loop = self._custom_loop()
            return loop.predict(x, int(batch_size or DEFAULT_BATCH), verbose, steps, callbacks)
        return super().predict(x, batch_size, verbose, steps, callbacks)

    predict.__doc__ = Predicting.predict.__doc__

    # -- fit -----------------------------------------------------------------------------
    @clear_out_of_memory
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
        lists/dicts of them, one per input/output). A fractional ``steps_per_epoch``
        (``len(x_train) / 32``) rounds up, as Keras 2's loop did.
        """
        self._require_compiled("fit")
        cap = _config.max_epochs()
        if cap and cap < epochs:
            _warnings.warn(f"Limiting epochs to {cap}")
            epochs = cap
        steps_per_epoch = _cap_steps(
            whole_steps(steps_per_epoch, "steps_per_epoch"), "steps_per_epoch"
        )
        validation_steps = whole_steps(validation_steps, "validation_steps")
        if validation_split or validation_data is not None:
            validation_steps = _cap_steps(validation_steps, "validation_steps")
        batch_size = int(batch_size or DEFAULT_BATCH)
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive. Received: batch_size={batch_size}")
        if self._runs_custom("train_step"):
            return self._custom_loop().fit(
                x,
                y,
                batch_size,
                epochs,
                verbose,
                callbacks,
                validation_split,
                validation_data,
                shuffle,
                class_weight,
                sample_weight,
                initial_epoch,
                steps_per_epoch,
                validation_steps,
                validation_batch_size,
                validation_freq,
            )
        val = None
        if is_stream(x):
            x = fit_stream(x, y, sample_weight, class_weight, validation_split)
            x = grain_adapter.adapt(x, "fit", steps_per_epoch, epochs)
            runner = StreamRunner(self, x, "fit", steps_per_epoch, epochs)
        else:
            if y is None:
                raise ValueError("fit() needs targets: pass y (the labels) along with x.")
            x, y, sample_weight, _ = self._prepare(x, y, sample_weight)
            if validation_split:
                (x, y, sample_weight), val = arrays.split_validation(
                    x, y, sample_weight, validation_split
                )
            if class_weight is not None:  # the training rows only: val_loss is unweighted
                sample_weight = arrays.class_weights_to_sample_weights(
                    y, class_weight, sample_weight
                )
            runner = ArrayRunner(self, x, y, sample_weight, batch_size, steps_per_epoch)
        if validation_data is not None:
            val = validation_data
        val_batch = validation_batch_size or batch_size
        engine = runner.engine
        verbose = 1 if verbose == "auto" else int(verbose)
        self.history = History()
        cbs = list(callbacks or [])
        if verbose and not any(isinstance(cb, ProgbarLogger) for cb in cbs):
            cbs.append(ProgbarLogger())
        callback_list = CallbackList(
            [*cbs, self.history], model=self, epochs=epochs, steps=runner.steps, verbose=verbose
        )
        needs_logs = callback_list.needs_batch_logs
        k = self._steps_per_dispatch(engine, runner.steps or 1, needs_logs)
        fused = engine.loops_fast or k > 1
        self.stop_training = False
        self._shuffle_key = None
        self._initial_epoch, self._initial_step, self._initial_logs_state = None, 0, None
        # Before the state is built: BackupAndRestore may restore the variables,
        # _opt_state, _train_key, _shuffle_key and the _initial_* counters.
        callback_list.on_train_begin()
        state = self._initial_state(engine, copy=True)
        if self._shuffle_key is None:
            self._shuffle_key = _scope.next_global_key()
        shuffle_key = np.asarray(self._shuffle_key)
        epoch_key = lambda epoch: _host_keys.fold_in(shuffle_key, epoch)
        if self._initial_epoch is not None:
            initial_epoch = self._initial_epoch
        first_step = self._initial_step

        bars = [cb for cb in cbs if isinstance(cb, ProgbarLogger)]
        val_runner = None
        if val is not None:  # placed and checked once, before training starts
            val_runner = self._runner(val, "evaluate", val_batch, validation_steps)
        background = self._precompile(engine, state, val_runner, runner, k, fused)

        def on_dispatch(batch, state):
            self._fit_state = state
            logs = host_logs(runner.engine.logs_fn(state)) if needs_logs else None
            if logs is None:  # a live bar fetches running logs itself, without a sync
                for bar in bars:
                    bar.track(state, runner.engine.logs_fn)
            callback_list.on_train_batch_end(batch, logs)

        logs: dict[str, float] = {}
        for epoch in range(initial_epoch, epochs):
            callback_list.on_epoch_begin(epoch)
            fresh = self._fresh_logs(runner.engine)
            if first_step and self._initial_logs_state is not None:
                # Resuming mid-epoch: the running sums behind this epoch's logs.
                template = (fresh["metrics"], fresh["losses"])
                leaves = jax.tree_util.tree_leaves(template)
                metrics, losses = jax.tree_util.tree_unflatten(
                    jax.tree_util.tree_structure(template),
                    [jnp.asarray(v, t.dtype) for v, t in zip(self._initial_logs_state, leaves)],
                )
                fresh = _place({"metrics": metrics, "losses": losses})
            # Callbacks may have set optimizer.learning_rate: no retrace, same shapes.
            opt_state = self.optimizer.sync_state(state.opt_state)
            state = state.replace(opt_state=opt_state, **fresh)
            state = runner.train_epoch(
                state,
                epoch_key(epoch),
                bool(shuffle),
                k,
                fused,
                on_dispatch,
                lambda: self.stop_training,
                first_step,
                callback_list.on_train_batch_begin,  # no device sync: nothing is read
            )
            first_step = 0
            if shuffle and epoch + 1 < epochs:  # while the device runs this epoch
                runner.prefetch_order(epoch_key(epoch + 1))
            for thread in background:  # done by now: the train program compiled longer
                thread.join()
            background = []
            self._fit_state = state
            logs = host_logs(runner.engine.logs_fn(state))
            if val is not None and (epoch + 1) % validation_freq == 0:
                callback_list.on_test_begin()
                val_logs = self._evaluate_state(state, val_runner, callback_list)
                callback_list.on_test_end(val_logs)
                logs.update({f"val_{k_}": v for k_, v in val_logs.items()})
            if callbacks:  # user callbacks may read or save the weights
                self._finish(jax.device_put(state, may_alias=False))  # a copy, no compile
            callback_list.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        self._fit_state = None
        self._finish(state, final=True)
        callback_list.on_train_end(logs)
        return self.history

    def _precompile(
        self, engine: Engine, state: TrainState, val_runner, runner, k: int, fused: bool
    ) -> list:
        """Start compiling the logs and validation programs beside the train program."""
        if getattr(engine._log_values, "_cache_size", lambda: 0)():
            return []  # a second fit of this model: everything is compiled
        if fused and isinstance(runner, ArrayRunner) and runner.feed is None:
            # Trace and lower the train program first: tracing holds the GIL, and the
            # background threads below would slow it down. Its real call (the first
            # dispatch) finds the lowering cached and goes straight to compiling.
            stop = min(k, runner.steps)
            args = (state, runner.data, runner.order, 0, stop, runner.n, runner.chunk(k))
            engine.train_fused.trace(*args).lower()
        threads = [precompile(engine._log_values, state)]
        if isinstance(val_runner, ArrayRunner) and val_runner.feed is None:
            val_engine = val_runner.engine
            eval_state = state.replace(opt_state=None, **self._fresh_logs(val_engine))
            data, order, n = val_runner.data, val_runner.order, val_runner.n
            if val_engine.loops_fast:
                chunk = val_runner.chunk(val_runner.steps)
                args = (eval_state, data, order, 0, val_runner.steps, n, chunk)
                threads.append(precompile(val_engine.eval_fused, *args))
            else:
                threads.append(precompile(val_engine.eval_single, eval_state, data, order, 0, n))
            threads.append(precompile(val_engine._log_values, eval_state))
        return threads

    def _fresh_logs(self, engine: Engine) -> dict:
        metrics, losses = _place(engine.fresh_metric_states())
        return {"metrics": metrics, "losses": losses}

    @property
    def metrics_names(self) -> list[str]:
        """Names of the values ``evaluate`` returns, in order."""
        names = ["loss"]
        if self._compiled_loss is not None:
            names += self._compiled_loss.per_output_names
        if self._compiled_metrics is not None:
            names += self._compiled_metrics.names
        return names


def _keras2_positional_metrics(loss_weights: Any, metrics: Any) -> tuple[Any, Any]:
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
