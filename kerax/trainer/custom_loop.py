"""``fit``/``evaluate``/``predict`` for a model with its own Keras 3 JAX step.

Keras's own loop, run the way Keras's JAX trainer runs it: the user's
``train_step(state, data)`` is jitted (the state donated) and called once per batch
with the state lists of ``kerax.trainer.keras_steps``; the weights, the optimizer state
and the metric variables go back into the model at each epoch's end. The batches are
the data's own: a shorter last batch reaches the step as it is (one more compile, as in
Keras), where kerax's own loops pad and mask it.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import jax
import numpy as np

from kerax import _host_keys, _scope, _warnings
from kerax.callbacks import CallbackList, ProgbarLogger
from kerax.callbacks.progbar import fit_callbacks, with_progbar
from kerax.data import arrays
from kerax.data.streams import fit_stream, is_stream, unpack
from kerax.optimizers._stateless import Layout
from kerax.trainer.engine import keras_logs
from kerax.trainer.keras_steps import step_context
from kerax.trainer.runners import check_epochs_of
from kerax.trainer.setup import should_validate
from kerax.trainer.shuffle import permutation
from kerax.utils.py_dataset import PyDataset


def flat_logs(logs: Any) -> dict:
    """Keras's logs to Python: keys sorted, nested dicts flattened in their key's
    place, scalars as floats, one transfer (Keras's ``pythonify_logs``)."""
    flat: dict = {}

    def visit(d):
        for k, v in keras_logs(d).items():
            if isinstance(v, dict):
                visit(v)
            else:
                flat[k] = v

    visit(dict(logs or {}))
    values = jax.device_get(list(flat.values()))
    return {k: float(v) if np.ndim(v) == 0 else np.asarray(v) for k, v in zip(flat, values)}


class Batches:
    """One epoch's ``data`` arguments at a time, from arrays or a stream."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, steps=None, what="fit"):
        self.stream = is_stream(x)
        self.what = what
        if self.stream:
            self.source, self._iterator, self._peeked = x, None, None
            known = x.num_batches if isinstance(x, PyDataset) else None
            # None: until the iterator runs out (a finite generator), as in Keras
            self.steps = steps if steps is not None else known
            return
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self.n = arrays.num_samples(x, y, sample_weight)
        if self.n == 0:
            raise ValueError(f"{what}() received an empty dataset (0 samples).")
        self.batch_size = batch_size
        self.total = math.ceil(self.n / batch_size)
        self.steps = self.total if steps is None else min(int(steps), self.total)
        self._pass_start, self._order = 0, None

    def peek(self) -> Any:
        """The first batch, without consuming it from an iterator."""
        if self.stream and not isinstance(self.source, PyDataset):
            if self._peeked is None:
                if self._iterator is None:
                    self._iterator = iter(self.source)
                try:
                    self._peeked = next(self._iterator)
                except StopIteration:
                    raise ValueError(f"{self.what}() received an empty generator.") from None
            return _as_data(self._peeked)
        if self.stream:  # a PyDataset: batch 0 is read again when its turn comes
            if self.source.num_batches == 0:
                raise ValueError(f"{self.what}() received an empty dataset.")
            return _as_data(self.source[0])
        return self._take(np.arange(min(self.batch_size, self.n)))

    def _take(self, rows) -> Any:
        parts = (self.x, self.y, self.sample_weight)
        return pack(*(jax.tree_util.tree_map(lambda a: a[rows], p) for p in parts))

    def epoch(self, shuffle_key=None):
        """The batches of one epoch (rows shuffled when ``shuffle_key`` is given)."""
        if self.stream:
            yield from self._stream_epoch(shuffle_key)
            return
        # steps_per_epoch shorter than the data: as in Keras, an epoch goes on from where
        # the last one stopped in the same pass (one shuffle per pass).
        base = self._pass_start
        if base == 0:
            self._order = np.arange(self.n)
            if shuffle_key is not None:
                self._order = permutation(shuffle_key, self.n)
        order, bs = self._order, self.batch_size
        end = min(base + self.steps, self.total)
        self._pass_start = 0 if end >= self.total else end
        for i in range(base, end):
            yield self._take(order[i * bs : (i + 1) * bs])

    def _stream_epoch(self, shuffle_key):
        source = self.source
        if isinstance(source, PyDataset):
            n = source.num_batches  # None: endless, in order (Keras shuffles finite ones)
            order = itertools.count() if n is None else range(n)
            if shuffle_key is not None and n is not None:
                order = permutation(shuffle_key, n)
            source.on_epoch_begin()
            for i, index in enumerate(order):
                if self.steps is not None and i >= self.steps:
                    break
                yield _as_data(source[int(index)])
            source.on_epoch_end()
            return
        if self._iterator is None:
            self._iterator = iter(source)  # an iterator continues where the last epoch ended
        taken = 0
        while self.steps is None or taken < self.steps:
            if self._peeked is not None:
                element, self._peeked = self._peeked, None
            else:
                try:
                    element = next(self._iterator)
                except StopIteration:
                    self._iterator = None  # a re-iterable source starts over next epoch
                    return
            taken += 1
            yield _as_data(element)


def pack(x: Any, y: Any = None, sample_weight: Any = None) -> Any:
    """One batch as a step's ``data``, Keras's ``pack_x_y_sample_weight``: ``x`` alone
    when it is one array or a dict, else a tuple (``(x,)`` for a list of inputs)."""
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    return (x, y) if sample_weight is None else (x, y, sample_weight)


def _as_data(element: Any) -> Any:
    """A stream's element as a step's ``data``: a dict as it is, else a tuple (Keras's
    generator and ``PyDataset`` adapters)."""
    if isinstance(element, dict):
        return element
    x, y, sw = unpack(element)
    return tuple(part for part in (x, y, sw) if part is not None)


class CustomLoop:
    """Runs a model's own ``train_step``/``test_step``/``predict_step``."""

    def __init__(self, model):
        self.model = model
        self.train_fn = jax.jit(self._train, donate_argnums=0)
        self.test_fn = jax.jit(self._test)
        self.predict_fn = jax.jit(self._predict)
        self.results_fn = jax.jit(self._results)

    # -- the jitted steps ------------------------------------------------------------------
    def _train(self, state, data, key, step):
        with step_context(jax.random.fold_in(key, step)):
            logs, state = self.model.train_step(state, data)
        return logs, tuple(list(part) for part in state)

    def _test(self, state, data):
        with step_context(None):
            logs, state = self.model.test_step(state, data)
        return logs, tuple(list(part) for part in state)

    def _predict(self, state, data):
        with step_context(None):
            outputs, non_trainable = self.model.predict_step(state, data)
        return outputs, list(non_trainable)

    def _results(self, metrics_vars):
        """Keras's ``get_metrics_result``: every metric's result, dicts merged."""
        out, start = {}, 0
        for metric in self.model.metrics:
            values = metrics_vars[start : start + len(metric.variables)]
            start += len(values)
            result = metric.stateless_result(values)
            out.update(result if isinstance(result, dict) else {metric.name: result})
        return out

    # -- state ---------------------------------------------------------------------------
    def state(self, optimizer: bool, fresh_metrics: bool = True) -> tuple:
        """The state lists, copied (fit donates them; the model keeps its own arrays)."""
        m = self.model
        if fresh_metrics:
            m.reset_metrics()
        parts = [
            [v.value for v in m.trainable_variables],
            [v.value for v in m.non_trainable_variables],
        ]
        if optimizer:
            m._opt_state = m._optimizer_state(m.get_variables()["trainable"])
            m.optimizer._bind_layout(self._layout(), m._opt_state)
            parts.append(jax.tree_util.tree_leaves(m._opt_state))
        parts.append([v.value for v in m.metrics_variables])
        return tuple(jax.device_put(parts, may_alias=False))

    def _layout(self) -> Layout:
        """The model's weights as a list <-> the weight pytree its optimizer state is over."""
        m = self.model
        paths = {id(v): path for path, v in m._variable_index(states=True)}
        handles = m.trainable_variables

        def to_tree(values):
            tree: dict = {}
            for v, value in zip(handles, values, strict=True):
                node = tree
                for part in paths[id(v)][:-1]:
                    node = node.setdefault(part, {})
                node[paths[id(v)][-1]] = value
            return tree

        def from_tree(tree):
            out = []
            for v in handles:
                node = tree
                for part in paths[id(v)]:
                    node = node[part]
                out.append(node)
            return out

        return Layout(handles, to_tree, from_tree)

    def write_back(self, state: tuple) -> None:
        """Put the state lists back into the model's variables (Keras's state sync)."""
        m = self.model
        trainable, non_trainable, *rest = state
        for v, value in zip(m.trainable_variables, trainable, strict=True):
            v.assign(value)
        for v, value in zip(m.non_trainable_variables, non_trainable, strict=True):
            v.assign(value)
        if len(rest) == 2:
            treedef = jax.tree_util.tree_structure(m._opt_state)
            m._opt_state = jax.tree_util.tree_unflatten(treedef, rest[0])
            m.optimizer.observe_state(m._opt_state)
        for v, value in zip(m.metrics_variables, rest[-1], strict=True):
            v.assign(value)

    def epoch_logs(self, last_logs: dict, metrics_vars: list) -> dict:
        """Keras's rule: the metrics' results when the step's logs name the same keys,
        else the step's last logs."""
        results = self.results_fn(metrics_vars)
        if isinstance(last_logs, dict) and set(last_logs) == set(results):
            return flat_logs(results)
        return flat_logs(last_logs)

    # -- fit -------------------------------------------------------------------------------
    def fit(
        self,
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
    ):
        m = self.model
        val = validation_data
        if val is not None and not is_stream(val):
            val = unpack(val)  # Keras's unpack_x_y_sample_weight: (x, y, sample_weight)
        if is_stream(x):
            x = fit_stream(x, y, sample_weight, class_weight, validation_split)
            check_epochs_of(x, "fit", steps_per_epoch, epochs - initial_epoch)
        else:
            x, y, sample_weight, _ = m._prepare(x, y, sample_weight)
            if validation_split:
                (x, y, sample_weight), val = arrays.split_validation(
                    x, y, sample_weight, validation_split
                )
            if class_weight is not None:
                sample_weight = arrays.class_weights_to_sample_weights(
                    y, class_weight, sample_weight
                )
        batches = Batches(x, y, sample_weight, batch_size, steps_per_epoch)
        m._build_for_steps(batches.peek())
        callback_list = fit_callbacks(callbacks, verbose, m, epochs, batches.steps)
        batch_logs = callback_list.needs_batch_logs or any(
            cb._uses_batch_hooks()
            for cb in callback_list.callbacks
            if isinstance(cb, ProgbarLogger)
        )
        m.stop_training = False
        callback_list.on_train_begin()
        if m._train_key is None:
            m._train_key = _scope.next_global_key()
        shuffle_key = np.asarray(_scope.next_global_key())
        step = int(m.optimizer.iterations)
        logs: dict = {}
        for epoch in range(initial_epoch, epochs):
            callback_list.on_epoch_begin(epoch)
            state = self.state(optimizer=True)
            last: dict = {}
            key = _host_keys.fold_in(shuffle_key, epoch) if shuffle else None
            taken = 0
            for i, data in enumerate(batches.epoch(key)):
                callback_list.on_train_batch_begin(i)
                last, state = self.train_fn(state, data, m._train_key, np.int32(step))
                step, taken = step + 1, taken + 1
                callback_list.on_train_batch_end(i, flat_logs(last) if batch_logs else None)
                if m.stop_training:
                    break
            self.write_back(state)
            if not taken:  # an iterator that ran out: Keras stops with this warning
                _warnings.warn(
                    "Your input ran out of data; interrupting training. Make sure that your "
                    "dataset or generator can generate at least `steps_per_epoch * epochs` "
                    "batches."
                )
                break
            logs = self.epoch_logs(last, state[-1])
            if val is not None and should_validate(epoch, validation_freq):
                val_x, val_y, val_sw = val if isinstance(val, tuple) else (val, None, None)
                val_logs = self.evaluate(
                    val_x,
                    val_y,
                    val_sw,
                    validation_batch_size or batch_size,
                    validation_steps,
                    callback_list,
                    return_dict=True,
                )
                logs = keras_logs({**logs, **{f"val_{k}": v for k, v in val_logs.items()}})
            callback_list.on_epoch_end(epoch, logs)
            if m.stop_training:
                break
        callback_list.on_train_end(logs)
        return m.history

    # -- evaluate / predict ----------------------------------------------------------------
    def evaluate(self, x, y, sample_weight, batch_size, steps, callbacks, return_dict, verbose=0):
        m = self.model
        if not is_stream(x):
            x, y, sample_weight, _ = m._prepare(x, y, sample_weight)
        batches = Batches(x, y, sample_weight, batch_size, steps, "evaluate")
        if isinstance(callbacks, CallbackList):
            callback_list = callbacks
        else:
            callback_list = with_progbar(callbacks, verbose, model=m, steps=batches.steps)
        callback_list.on_test_begin()
        state, last = None, {}
        for i, data in enumerate(batches.epoch()):
            if state is None:
                m._build_for_steps(data)
                state = self.state(optimizer=False)
            callback_list.on_test_batch_begin(i)
            last, state = self.test_fn(state, data)
            callback_list.on_test_batch_end(i, flat_logs(last))
        if state is None:
            raise ValueError("evaluate() received no batches: the data is empty.")
        self.write_back(state)
        logs = self.epoch_logs(last, state[-1])
        callback_list.on_test_end(logs)
        return logs if return_dict else self._in_order(logs)

    def on_batch(self, x, y, sample_weight, class_weight, training: bool) -> dict:
        """``train_on_batch``/``test_on_batch``: one step from fresh metrics; its logs."""
        m = self.model
        x, y, sample_weight, _ = m._prepare(x, y, sample_weight, class_weight)
        data = tuple(part for part in (x, y, sample_weight) if part is not None)
        m._build_for_steps(data)
        state = self.state(optimizer=training)
        if training:
            if m._train_key is None:
                m._train_key = _scope.next_global_key()
            step = np.int32(m.optimizer.iterations)
            logs, state = self.train_fn(state, data, m._train_key, step)
        else:
            logs, state = self.test_fn(state, data)
        self.write_back(state)
        return flat_logs(logs)

    def _in_order(self, logs: dict):
        """Keras's ``_flatten_metrics_in_order``: the metrics' order, then the rest sorted
        (``KerasSteps._keras_order``)."""
        values = [logs[k] for k in self.model._keras_order(list(logs))]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size, verbose, steps, callbacks):
        m = self.model
        if not is_stream(x):
            x = arrays.to_arrays(x, "x")
        batches = Batches(x, None, None, batch_size, steps, "predict")
        callback_list = with_progbar(callbacks, verbose, model=m, steps=batches.steps)
        callback_list.on_predict_begin()
        state, outputs = None, []
        for i, data in enumerate(batches.epoch()):
            if state is None:
                m._build_from_data(unpack(data)[0])
                state = (
                    [v.value for v in m.trainable_variables],
                    [v.value for v in m.non_trainable_variables],
                )
            callback_list.on_predict_batch_begin(i)
            out, non_trainable = self.predict_fn(state, data)
            state = (state[0], non_trainable)
            outputs.append(out)
            callback_list.on_predict_batch_end(i, {"outputs": out})
        callback_list.on_predict_end()
        if not outputs:
            raise ValueError("predict() received no batches: the data is empty.")
        return jax.tree_util.tree_map(
            lambda *parts: np.concatenate([np.asarray(p) for p in parts]), *outputs
        )
