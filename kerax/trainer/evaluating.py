"""``evaluate`` and the single-batch methods (``train_on_batch``, ``test_on_batch``)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kerax import _scope
from kerax._device_errors import clear_out_of_memory
from kerax.callbacks.progbar import with_progbar
from kerax.data import grain_adapter
from kerax.data.streams import is_stream
from kerax.trainer import _eager
from kerax.trainer.engine import TrainState
from kerax.trainer.predicting import DEFAULT_BATCH
from kerax.trainer.runners import ArrayRunner, StreamRunner, place
from kerax.trainer.setup import ran_dry


def logs_result(logs: dict[str, float], return_dict: bool, order: Any = None):
    """Keras's return value: the logs dict, the loss alone, or [loss, *metrics]
    (``order``: a function giving the keys' order, ``model._keras_order``)."""
    if return_dict:
        return logs
    keys = order(list(logs)) if order is not None else list(logs)
    values = [logs[k] for k in keys]
    return values[0] if len(values) == 1 else values


def unpack_validation(data: Any) -> tuple:
    if isinstance(data, (list, tuple)) and len(data) in (2, 3):
        x, y, *rest = data
        return x, y, rest[0] if rest else None
    raise ValueError(
        "validation_data must be a tuple (x_val, y_val) or (x_val, y_val, val_sample_weight). "
        f"Received: {type(data).__name__}"
    )


class Evaluating:
    """The Model methods that score data or take single steps (mixed into the Trainer)."""

    def _runner(self, data, what: str, batch_size: int, steps: int | None):
        """An ArrayRunner or StreamRunner for evaluation data (a tuple or a stream)."""
        if is_stream(data):
            return StreamRunner(self, grain_adapter.adapt(data, what, steps), what, steps)
        x, y, sample_weight = unpack_validation(data)
        x, y, sample_weight, _ = self._prepare(x, y, sample_weight)
        return ArrayRunner(self, x, y, sample_weight, batch_size, steps)

    def _evaluate_state(self, state: TrainState, runner, hooks=None) -> dict[str, float]:
        """Logs of an evaluation. With ``hooks`` whose callbacks override a test-batch
        hook, it runs batch by batch: ``on_test_batch_begin``/``end`` around each, the
        end hook given the running logs (one device read per batch, as fit's batch hooks)."""
        eval_state = state.replace(opt_state=None, **self._fresh_logs(runner.engine))
        on_batch = None
        if hooks is not None and hooks.needs_logs_of("test"):

            def on_batch(i, state):
                if state is None:
                    hooks.on_test_batch_begin(i)
                else:
                    engine = getattr(runner, "engine", None)
                    hooks.on_test_batch_end(i, engine.host_logs(state))

        eval_state = runner.evaluate(eval_state, on_batch)
        self._set_states(eval_state.non_trainable)  # stateful RNNs resume from here
        self._sync_keras_metrics(eval_state)  # model.metrics hold the evaluation, as in Keras
        logs = runner.engine.host_logs(eval_state)
        return ran_dry(logs, "evaluate") if getattr(runner, "served", None) == 0 else logs

    @clear_out_of_memory
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
        self._reset_attribute_metrics()
        batch_size = int(batch_size or DEFAULT_BATCH)
        if is_stream(x):
            data = x
        elif y is None:
            raise ValueError("evaluate() needs targets: pass y along with x.")
        else:
            data = (x, y, sample_weight)
        runner = self._runner(data, "evaluate", batch_size, steps)
        hooks = with_progbar(callbacks, verbose, model=self, epochs=1, steps=runner.steps)
        hooks.on_test_begin()
        per_batch = hooks.needs_logs_of("test")
        state = self._initial_state(runner.engine, copy=False)
        # Layers drawing random numbers at inference draw anew in each call (Keras's seed
        # generators advance); fit's validation passes draw from the training key.
        state = state.replace(key=place(_scope.next_global_key()))
        logs = self._evaluate_state(state, runner, hooks if per_batch else None)
        if not per_batch:
            # One compiled call, and no callback reads batches: the progress bar is
            # told of the last batch.
            hooks.on_test_batch_end(max((runner.steps or 1) - 1, 0), logs)
        hooks.on_test_end(logs)
        return logs_result(logs, return_dict, self._evaluate_order)

    def _evaluate_order(self, keys: list) -> list:
        """``keys`` in Keras's ``_flatten_metrics_in_order`` (``_keras_order``), with the
        per-output losses in the order Keras builds their trackers (``tracker_names``)."""
        keys = self._keras_order(keys)
        loss = getattr(self, "_compiled_loss", None)
        if loss is None:
            return keys
        keyed = isinstance(getattr(self, "_outputs_struct", None), dict)
        wanted = [n for n in loss.tracker_names(keyed) if n in keys]
        slots = iter(wanted)
        return [next(slots) if k in wanted else k for k in keys]

    # -- single batches -------------------------------------------------------------------
    def _on_batch(self, x, y, sample_weight, class_weight, training: bool):
        x, y, sample_weight, n = self._prepare(x, y, sample_weight, class_weight)
        self._reset_attribute_metrics()
        engine = self._engine_for(x, y, n)
        state = self._initial_state(engine, copy=False)
        batch = (x, y, sample_weight, jnp.ones((n,), jnp.float32))
        if training:
            state = engine.train_one(state, batch)
            self._finish(state)
        else:
            state = engine.eval_one(state, batch)
            self._set_states(state.non_trainable)
        self._sync_keras_metrics(state)  # model.metrics hold this batch's numbers, as in Keras
        return engine.host_logs(state)

    @_eager.honours_run_eagerly
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One gradient step on one batch; returns its loss (and metrics)."""
        self._require_compiled("train_on_batch")
        if self._runs_custom("train_step"):
            loop = self._custom_loop()
            logs = loop.on_batch(x, y, sample_weight, class_weight, True)
            return logs if return_dict else loop._in_order(logs)
        return logs_result(
            self._on_batch(x, y, sample_weight, class_weight, True),
            return_dict,
            self._evaluate_order,
        )

    @_eager.honours_run_eagerly
    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss (and metrics) on one batch, without updating the model."""
        self._require_compiled("test_on_batch")
        if self._runs_custom("test_step"):
            loop = self._custom_loop()
            logs = loop.on_batch(x, y, sample_weight, None, False)
            return logs if return_dict else loop._in_order(logs)
        return logs_result(
            self._on_batch(x, y, sample_weight, None, False), return_dict, self._evaluate_order
        )
