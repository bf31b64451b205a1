"""``predict``: compiled forward passes over arrays, streams, and stateful models."""

from __future__ import annotations

import math
from typing import Any

import jax
import numpy as np

from kerax import _multihost, _scope
from kerax import distribution as distribution_lib
from kerax._device_errors import clear_out_of_memory
from kerax.callbacks.progbar import with_progbar
from kerax.data import arrays, grain_adapter
from kerax.data.streams import is_stream
from kerax.trainer import _eager
from kerax.trainer.engine import forward_batch
from kerax.trainer.predictor import Predictor, forward_batches
from kerax.trainer.row_analysis import rows_independent
from kerax.trainer.runners import StreamRunner, whole_steps
from kerax.trainer.runners import place as _place

DEFAULT_BATCH = 32


def _predict_steps(x: Any, batch_size: int | None, steps: int | None) -> int | None:
    """The batch count predict's callbacks see in ``params["steps"]``, as Keras's."""
    if is_stream(x):
        try:
            total = len(x)
        except TypeError:
            return steps
        return total if steps is None else min(whole_steps(steps, "steps"), total)
    n = arrays.num_samples(arrays.to_arrays(x, "x"))
    total = math.ceil(n / int(batch_size or DEFAULT_BATCH))
    return total if steps is None else min(whole_steps(steps, "steps"), total)


class Predicting:
    """The Model methods that compute outputs (mixed into the Trainer)."""

    @clear_out_of_memory
    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: Any = "auto",
        steps: int | None = None,
        callbacks: list | None = None,
    ) -> Any:
        """Outputs for ``x`` as NumPy arrays (arrays: in one compiled call)."""
        hooks = with_progbar(
            callbacks, verbose, model=self, epochs=1, steps=_predict_steps(x, batch_size, steps)
        )
        hooks.on_predict_begin()
        if hooks.needs_logs_of("predict"):
            outputs = self._predict_per_batch(x, batch_size, steps, hooks)
        else:
            outputs = self._predict(x, batch_size, steps)
            total = _predict_steps(x, batch_size, steps)
            if total is None:  # a stream of unknown length: its outputs' rows
                n = len(jax.tree_util.tree_leaves(outputs)[0])
                total = math.ceil(n / int(batch_size or DEFAULT_BATCH))
            # One compiled call, and no callback reads batches: the progress bar is told
            # of the last batch.
            hooks.on_predict_batch_end(max(total - 1, 0), {"outputs": outputs})
        hooks.on_predict_end()
        return outputs

    def _predict_per_batch(self, x: Any, batch_size: int | None, steps: int | None, hooks):
        """Batch by batch, for callbacks that override a predict-batch hook: Keras's
        ``on_predict_batch_begin``/``end`` around each, ``logs={"outputs": that batch's}``."""
        batch_size = int(batch_size or DEFAULT_BATCH)
        if distribution_lib.distribution() is not None or self._state_index():
            # Sharded or stateful prediction keeps its own path (shares, carried states);
            # the hooks then see each batch's outputs once all are computed.
            outputs = self._predict(x, batch_size, steps)
            n = len(jax.tree_util.tree_leaves(outputs)[0])
            for i in range(math.ceil(n / batch_size)):
                hooks.on_predict_batch_begin(i)
                part = slice(i * batch_size, (i + 1) * batch_size)
                out = jax.tree_util.tree_map(lambda a, p=part: a[p], outputs)
                hooks.on_predict_batch_end(i, {"outputs": out})
            return outputs
        if is_stream(x):  # batches padded to the first one's size
            runner = StreamRunner(self, grain_adapter.adapt(x, "predict", steps), "predict", steps)
            batches = ((b[0], n) for b, n in runner.stream.epoch(runner.steps))
        else:
            x = arrays.to_arrays(x, "x")
            n = arrays.num_samples(x)
            total = math.ceil(n / batch_size)
            count = total if steps is None else min(whole_steps(steps, "steps"), total)
            self._build_from_data(jax.tree_util.tree_map(lambda a: a[:batch_size], x))

            def cut(i):  # the short last batch padded: one compiled forward for all
                pad = lambda a: np.concatenate(
                    [a, np.zeros((batch_size - len(a), *a.shape[1:]), a.dtype)]
                )
                part = jax.tree_util.tree_map(
                    lambda a: np.asarray(a[i * batch_size :][:batch_size]), x
                )
                return jax.tree_util.tree_map(lambda a: pad(a) if len(a) < batch_size else a, part)

            batches = ((cut(i), min(batch_size, n - i * batch_size)) for i in range(count))
        return forward_batches(
            self, batches, hooks.on_predict_batch_begin, hooks.on_predict_batch_end
        )

    def _predict(self, x: Any, batch_size: int | None, steps: int | None) -> Any:
        batch_size = int(batch_size or DEFAULT_BATCH)
        dist = distribution_lib.distribution()
        shares = dist is not None and _multihost.multi_process()
        if is_stream(x):
            x = grain_adapter.adapt(x, "predict", steps)
            runner = StreamRunner(self, x, "predict", steps)
            if shares:  # each process's stream yields its share of every batch
                return self._predict_shares((b[0], n) for b, n in runner.stream.epoch(runner.steps))
            if self._state_index():
                return self._predict_carrying_states(
                    (b[0], n_valid) for b, n_valid in runner.stream.epoch(runner.steps)
                )
            return runner.predict(self)
        x = arrays.to_arrays(x, "x")
        n = arrays.num_samples(x)
        if shares and not dist.auto_shard_dataset:  # x holds this process's rows only
            batches, _ = _multihost.local_shares(x, len(dist.local_rows(batch_size)))
            return self._predict_shares(batches[:steps] if steps is not None else batches)
        first = jax.tree_util.tree_map(lambda a: a[:batch_size], x)
        self._build_from_data(first)
        if batch_size not in self._predictors:
            self._predictors[batch_size] = Predictor(self, batch_size)
        total = math.ceil(n / batch_size)
        steps = total if steps is None else min(whole_steps(steps, "steps"), total)
        if self._check_stateful_batch(batch_size, n):
            cut = lambda i: jax.tree_util.tree_map(lambda a: a[i * batch_size :][:batch_size], x)
            return self._predict_carrying_states((cut(i), batch_size) for i in range(steps))
        if not self._rows_independent(first):  # Keras's batch-by-batch outputs
            cut = lambda i: jax.tree_util.tree_map(lambda a: a[i * batch_size :][:batch_size], x)
            return forward_batches(
                self, ((cut(i), min(batch_size, n - i * batch_size)) for i in range(steps))
            )
        _, loops_fast = self._forward_spec(first)
        if n >= batch_size and (not loops_fast or dist is not None):
            # Read by one call per window, or laid out over devices: placed once here.
            # A fused pass is one call, which takes host arrays as they are: on the CPU
            # it reads their aligned rows in place (Predictor.run).
            x = _place(x)
        row_bytes = self._forward_row_bytes(first)
        predictor = self._predictors[batch_size]
        return predictor.run(self.get_variables(), x, n, steps, loops_fast, row_bytes)

    def _predict_shares(self, batches) -> Any:
        """Several processes, each with its own rows: every step forwards one global
        batch made of every process's share, and each process keeps its rows' outputs."""
        dist = distribution_lib.distribution()
        forward, outputs = forward_batch(self), []
        variables = jax.tree_util.tree_map(
            lambda a: (
                a
                if isinstance(a, jax.Array) and not a.is_fully_addressable
                else _multihost.put(a, dist.replicated())
            ),
            self.get_variables(),
        )
        for xb, n_valid in batches:
            xg = dist.process_batch(xb)
            out = distribution_lib.settle(forward(variables, xg))
            rows = dist.local_rows(jax.tree_util.tree_leaves(xg)[0].shape[0])
            outputs.append(
                jax.tree_util.tree_map(
                    lambda a, k=n_valid, r=rows: _multihost.local_rows_of(a, r)[:k], out
                )
            )
        if not outputs:
            raise ValueError("predict() received no batches.")
        return jax.tree_util.tree_map(lambda *a: np.concatenate(a), *outputs)

    def _batch_size_or_default(self, batch_size: int | None) -> int:
        """``batch_size``, else the batch size the model's stateful layers were built
        for, else 32: a model built with ``Input(batch_size=4)`` for stateful RNNs runs
        ``fit(x, y)`` and ``predict(x)`` on 4 samples as in Keras (one batch of 4)."""
        if batch_size:
            return int(batch_size)
        states = self._state_index()
        return int(states[0][1].shape[0]) if states else DEFAULT_BATCH

    def _check_stateful_batch(self, batch_size: int, n: int | None = None) -> bool:
        """Whether the model has stateful layers; if so, check the batch size fits them."""
        states = self._state_index()
        expected = states[0][1].shape[0] if states else batch_size
        if states and (batch_size != expected or (n is not None and n % expected)):
            raise ValueError(
                f"Model '{self.name}' has stateful layers built for batches of {expected}: "
                f"pass batch_size={expected} (and, to predict, a number of samples "
                f"divisible by {expected}). Received: batch_size={batch_size}"
                + (f", {n} samples." if n is not None else ".")
            )
        return bool(states)

    def _predict_carrying_states(self, batches) -> Any:
        """Batch after batch, each starting from the states the previous one left
        (stateful RNNs, Keras's documented behaviour); the last states are kept."""
        forward = self.__dict__.get("_stateful_forward")
        if forward is None:
            jitted = jax.jit(lambda v, x, key: self._apply(v, (x,), False, key)[:2])
            forward = lambda v, x: jitted(v, x, _scope.next_global_key())
            self.__dict__["_stateful_forward"] = forward
        variables, outputs = self.get_variables(), []
        for xb, n_valid in batches:
            out, non_trainable = forward(variables, xb)
            variables = {**variables, "non_trainable": non_trainable}
            outputs.append(jax.tree_util.tree_map(lambda a, k=n_valid: a[:k], out))
        self._set_states(variables["non_trainable"])
        return jax.tree_util.tree_map(lambda *a: np.concatenate(a), *outputs)

    @_eager.honours_run_eagerly
    def predict_on_batch(self, x):
        """Outputs for one batch as NumPy arrays (as the model returns them, whatever
        their first axis)."""
        x = arrays.to_arrays(x, "x")
        self._build_from_data(x)
        if not self._rows_independent(x):
            return jax.tree_util.tree_map(
                np.asarray, jax.device_get(forward_batch(self)(self.get_variables(), x))
            )
        return self.predict(x, batch_size=arrays.num_samples(x), verbose=0)

    def _rows_independent(self, x_sample: Any) -> bool:
        """Whether every output's first axis is the batch axis and each output row comes
        from its own input row alone (``kerax.trainer.row_analysis`` reads the forward
        pass predict traces anyway), once per input signature. ``predict`` runs such a
        model in one pass over all rows, a short input padded; any other (a transpose, a
        reduction over the batch, rows compared with each other) batch by batch, the last
        batch short, its outputs joined as Keras joins them
        (``predictor.forward_batches``). Models with a fixed batch size or stateful
        layers are taken as independent (``_predict`` runs them batch by batch)."""
        leaves = jax.tree_util.tree_leaves(x_sample)
        key = (
            jax.tree_util.tree_structure(x_sample),
            tuple((np.shape(a)[1:], str(getattr(a, "dtype", ""))) for a in leaves),
        )
        cache = self.__dict__.setdefault("_independent_rows", {})
        if key not in cache:
            inputs = getattr(self, "inputs", None) or []
            fixed = any(getattr(t, "shape", (None,))[:1] != (None,) for t in inputs)
            cache[key] = fixed or bool(self._state_index()) or self._traced_rows(x_sample)
        return cache[key]

    def _traced_rows(self, x_sample: Any) -> bool:
        """``row_analysis`` at two coprime numbers of rows (the forward pass already
        traced, and one more): a reshape or a shape that only matches the batch at one
        size (``ops.ones((4, 2))`` traced at 4 rows) shows at the other. An analysis that
        fails counts as mixing: batch by batch is always right."""
        self._forward_spec(x_sample)
        rows, traced = self._forward_cache[4], self._forward_cache[5]
        variables = self._abstract_variables()
        n_variables = len(jax.tree_util.tree_leaves(variables))

        def jaxpr_at(n):
            if n == rows:
                return traced
            sample = jax.tree_util.tree_map(
                lambda a: jax.ShapeDtypeStruct((n, *np.shape(a)[1:]), a.dtype), x_sample
            )
            forward = lambda v, x: self._apply(v, (x,), False, lambda: jax.random.PRNGKey(0))[0]
            return jax.make_jaxpr(forward)(variables, sample)

        counts = (rows, rows + 1) if rows >= 2 else (2, 3)
        try:
            return all(rows_independent(jaxpr_at(n), n_variables) for n in counts)
        except Exception:  # noqa: BLE001 - a rule that fails to read an equation
            return False
