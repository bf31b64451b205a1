"""``compile``/``fit``/``evaluate``/``predict``: the Keras training surface over the engine.

The host loop only dispatches compiled calls and reads logs at epoch ends (or after
each dispatch when a callback overrides a batch hook). Weights move from the layers'
handles into a ``TrainState`` at the start of ``fit`` and back at the end.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import _host_keys, _scope, _warnings
from kerax import config as _config
from kerax._device_errors import clear_out_of_memory
from kerax.callbacks import History, ProgbarLogger, _fit_state
from kerax.callbacks.progbar import fit_callbacks
from kerax.data import arrays, grain_adapter
from kerax.data.streams import fit_stream, is_stream
from kerax.trainer import _eager, keras_steps
from kerax.trainer.compile_utils import CompiledLoss, CompiledMetrics, keras2_positional_metrics
from kerax.trainer.engine import Engine, keras_logs
from kerax.trainer.evaluating import Evaluating
from kerax.trainer.predicting import Predicting
from kerax.trainer.predictor import Predictor
from kerax.trainer.runners import ArrayRunner, StreamRunner, check_validation_passes, whole_steps
from kerax.trainer.runners import place as _place
from kerax.trainer.setup import Setup, ran_dry, should_validate


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


def _same_optimizer(new: Any, old: Any) -> bool:
    """Whether compile() got the optimizer the model had (maybe wrapped again for loss
    scaling, see compile)."""
    inner = lambda opt: getattr(opt, "inner_optimizer", opt)
    return new is old or (type(new) is type(old) and inner(new) is inner(old))


class Trainer(keras_steps.KerasSteps, Setup, Evaluating, Predicting):
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
            run_eagerly: run fit/evaluate/predict uncompiled, op by op, for debugging
                (``kerax.trainer._eager``); ``jit_compile=False`` does the same, "auto"
                compiles unless a layer has ``supports_jit = False``.
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
        self.jit_compile = _eager.resolve(self, run_eagerly, jit_compile)
        self.run_eagerly = run_eagerly
        if steps_per_execution != "auto" and (
            not isinstance(steps_per_execution, int) or steps_per_execution < 1
        ):
            raise ValueError(
                "steps_per_execution must be a positive integer. Received: "
                f"steps_per_execution={steps_per_execution!r}"
            )
        loss_weights, metrics = keras2_positional_metrics(loss_weights, metrics)
        self._privacy = privacy.validate(dp_l2_clip, dp_noise_multiplier)
        if self._privacy is not None:
            privacy.check_model(self)
        previous = self.optimizer
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
        names = self._output_keys()
        if names and loss is not None:
            # Resolve the losses now (a misspelt name fails at compile, not in fit) and
            # load the metrics module: fit() then starts with nothing left to import.
            from kerax import metrics as _  # noqa: F401

            self._compiled_loss = CompiledLoss(loss, loss_weights, list(names))
            self._compiled_metrics = CompiledMetrics(
                metrics, weighted_metrics, list(names), self._compiled_loss
            )
        self._engines = {}
        self.__dict__["_engines_layout"] = None  # compile() decides about the optimizer
        for stale in (
            "_keras_custom_loop",
            "_keras_compile_metrics",
            "_keras_loss_tracker",
            "_keras_output_losses",
            "_keras_pending",
        ):  # a new compile: new loss, metrics, steps
            self.__dict__.pop(stale, None)
        if self._opt_state is not None and _same_optimizer(self.optimizer, previous):
            self._opt_state_recompiled = True  # kept, as Keras keeps its optimizer's state
        else:
            self._opt_state = None
        self.steps_per_execution = steps_per_execution
        self.compiled = True
        if self.built:  # create the weights now, as Keras has them after build
            self.get_variables()

    # -- a model's own Keras 3 steps (kerax.trainer.keras_steps) -------------------------
    def _runs_custom(self, step: str) -> bool:
        """Whether Keras's loop runs ``step``: for fit and evaluate, when the user's
        subclass overrides any step, ``compute_loss`` or ``compute_metrics`` (the other
        steps are then Keras's defaults, as in Keras), or when compile() got no loss;
        for predict, when it overrides ``predict_step``."""
        mine = keras_steps.overridden(self)
        if step == "predict_step":
            return step in mine
        if self.compiled and self._loss_spec[0] is None:
            return True  # no compiled loss: the model's add_loss terms are the loss (a VAE)
        return bool(mine & {"train_step", "test_step", "compute_loss", "compute_metrics"})

    def _custom_loop(self):
        from kerax.trainer.custom_loop import CustomLoop

        if self.__dict__.get("_keras_custom_loop") is None:
            self.__dict__["_keras_custom_loop"] = CustomLoop(self)
        return self.__dict__["_keras_custom_loop"]

    # -- Keras's run_eagerly / jit_compile (kerax.trainer._eager) -------------------------
    @property
    def run_eagerly(self) -> bool:
        """True runs ``fit``/``evaluate``/``predict`` uncompiled, op by op (debugging)."""
        return self.__dict__.get("_run_eagerly", False)

    @run_eagerly.setter
    def run_eagerly(self, value: bool) -> None:
        self.__dict__["_run_eagerly"] = bool(value)

    @property
    def jit_compile(self) -> bool:
        """Whether the loops are XLA-compiled (False runs them as ``run_eagerly``)."""
        value = self.__dict__.get("_jit_compile")
        if value is None:  # never set (no compile yet): resolved once, as Keras does
            value = self.__dict__["_jit_compile"] = _eager.supports_jit(self)
        return value

    @jit_compile.setter
    def jit_compile(self, value: bool) -> None:
        if value and not _eager.supports_jit(self):
            _warnings.warn(
                f"Model '{self.name}' has a layer with supports_jit=False, so it cannot be "
                "compiled: jit_compile is set to False (fit/evaluate/predict run eagerly)."
            )
            value = False
        self.__dict__["_jit_compile"] = bool(value)

    @_eager.honours_run_eagerly
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
        batch_size = self._batch_size_or_default(batch_size)
        if self._runs_custom("test_step"):
            self._require_compiled("evaluate")
            return self._custom_loop().evaluate(
                x,
                y,
                sample_weight,
                batch_size,
                steps,
                callbacks,
                return_dict,
                verbose,
            )
        return super().evaluate(
            x, y, batch_size, verbose, sample_weight, steps, callbacks, return_dict
        )

    evaluate.__doc__ = Evaluating.evaluate.__doc__

    @_eager.honours_run_eagerly
    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: Any = "auto",
        steps: int | None = None,
        callbacks: list | None = None,
    ) -> Any:
        steps = _cap_steps(steps, "steps")
        batch_size = self._batch_size_or_default(batch_size)
        if self._runs_custom("predict_step"):
            loop = self._custom_loop()
            return loop.predict(x, batch_size, verbose, steps, callbacks)
        return super().predict(x, batch_size, verbose, steps, callbacks)

    predict.__doc__ = Predicting.predict.__doc__

    # -- fit -----------------------------------------------------------------------------
    @_eager.honours_run_eagerly
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
        batch_size = self._batch_size_or_default(batch_size)
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
        self._reset_attribute_metrics()
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
        callback_list = fit_callbacks(callbacks, verbose, self, epochs, runner.steps)
        needs_logs = callback_list.needs_batch_logs
        k = self._steps_per_dispatch(engine, runner.steps or 1, needs_logs)
        fused = engine.loops_fast or k > 1
        self.stop_training = False
        self._shuffle_key = None
        self._initial_epoch, self._initial_step, self._initial_logs_state = None, 0, None
        # Before the state is built: BackupAndRestore may restore the variables,
        # _opt_state, _train_key, _shuffle_key and the _initial_* counters.
        callback_list.on_train_begin()
        with self._usable_after_errors():
            state = self._initial_state(engine, copy=True)
            if self._shuffle_key is None:
                self._shuffle_key = _scope.next_global_key()
            shuffle_key = np.asarray(self._shuffle_key)
            epoch_key = lambda epoch: _host_keys.fold_in(shuffle_key, epoch)
            if self._initial_epoch is not None:
                initial_epoch = self._initial_epoch
            first_step = self._initial_step

            bars = [cb for cb in callback_list.callbacks if isinstance(cb, ProgbarLogger)]
            val_runner = None
            if val is not None:  # placed and checked once, before training starts
                epochs_left = range(initial_epoch, epochs)
                passes = sum(should_validate(e, validation_freq) for e in epochs_left)
                check_validation_passes(val, validation_steps, passes)
                val_runner = self._runner(val, "evaluate", val_batch, validation_steps)
            background = self._precompile(engine, state, val_runner, runner, k, fused)

            def on_begin(batch, state):
                callback_list.on_train_batch_begin(batch)  # no device sync: nothing is read
                # A learning rate a batch hook sets applies from the next step, as in Keras.
                opt_state = self.optimizer.sync_state(state.opt_state)
                return state if opt_state is state.opt_state else state.replace(opt_state=opt_state)

            def on_dispatch(batch, state):
                self._fit_state = state
                if needs_logs:  # batch hooks read the current `iterations` and rate
                    self.optimizer.observe_state(state.opt_state)
                logs = runner.engine.host_logs(state) if needs_logs else None
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
                    on_begin,
                )
                first_step = 0
                if shuffle and epoch + 1 < epochs:  # while the device runs this epoch
                    runner.prefetch_order(epoch_key(epoch + 1))
                for thread in background:  # done by now: the train program compiled longer
                    thread.join()
                background = []
                self._fit_state = state
                logs = runner.engine.host_logs(state)
                if getattr(runner, "served", None) == 0:  # the data had run out: stop here
                    logs = ran_dry(logs, "fit")
                    self.stop_training = True
                validated = val is not None and should_validate(epoch, validation_freq)
                if validated:
                    callback_list.on_test_begin()
                    val_logs = self._evaluate_state(
                        _fit_state.validation_state(self, state), val_runner, callback_list
                    )
                    callback_list.on_test_end(val_logs)
                    logs.update({f"val_{k_}": v for k_, v in val_logs.items()})
                    logs = keras_logs(logs)
                if callbacks:  # user callbacks may read or save the weights (and metrics:
                    # the validation's, as in Keras, when it ran)
                    _fit_state.sync_weights(self, metrics=not validated)
                callback_list.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
            self._fit_state = None
            self.__dict__.pop("_fit_synced", None)
            self._finish(state, final=True)
            callback_list.on_train_end(logs)
        return self.history

    @property
    def metrics_names(self) -> list[str]:
        """Names of the values ``evaluate`` returns, in order (Keras's order: the loss,
        the compiled metrics, per-output losses, metrics held as attributes, the rest
        sorted), so that ``zip(model.metrics_names, model.evaluate(...))`` pairs them."""
        from kerax.trainer.compile_metrics import CompileMetrics

        keys: list[str] = []
        if keras_steps.keras_steps_metrics_overridden(self) or self._runs_custom("test_step"):
            for metric in self.metrics:  # what Keras's default steps log
                if isinstance(metric, CompileMetrics):
                    keys += self._compiled_metrics.names if self._compiled_metrics else []
                else:
                    keys.append(metric.name)
        else:
            if self.compiled:
                keys.append("loss")
                if self._compiled_loss is not None:
                    keys += self._compiled_loss.per_output_names
                if self._compiled_metrics is not None:
                    keys += self._compiled_metrics.names
            keys += [m.name for m in self._attribute_metrics()]
        return self._evaluate_order(list(dict.fromkeys(keys)))
