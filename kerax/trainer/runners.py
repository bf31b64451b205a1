"""Where batches come from during ``fit``/``evaluate``/``predict``.

``ArrayRunner``: in-memory arrays, placed on the device once; epochs run on the device
(gather, steps) in an order drawn on the host (``kerax.trainer.shuffle``).
``StreamRunner``: generators, iterators and ``PyDataset``; batches are prepared on a
host thread and transferred ahead of the step that uses them.
Both drive the same ``Engine`` (the same pure train step).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from kerax import _warnings
from kerax import distribution as distribution_lib
from kerax.data import arrays
from kerax.data.streams import BatchStream, check_finite, is_stream, one_shot
from kerax.trainer import shuffle as shuffle_lib
from kerax.utils.py_dataset import PyDataset


def place(tree: Any) -> Any:
    """Commit arrays to the default device, so the first dispatch sees the same
    placement as every later one (whose inputs are the previous outputs) and XLA
    compiles once rather than twice. Under a ``kerax.distribution``, replicate them
    over the mesh instead (batches are split inside the step)."""
    dist = distribution_lib.distribution()
    if dist is not None:
        return distribution_lib.put(tree, dist.replicated())
    device = jax.config.jax_default_device or jax.devices()[0]
    return jax.device_put(tree, device)


def place_state(state: Any, variable_paths: dict[str, str] | None = None) -> Any:
    """A ``TrainState`` on the device(s): variables laid out by the distribution's map
    (matched against pytree paths and, given ``variable_paths``, Keras's
    ``variable.path``), optimizer slots like the variable they belong to, everything
    else replicated."""
    dist = distribution_lib.distribution()
    if dist is None:
        return place(state)
    opt_state = state.opt_state
    if isinstance(dist, distribution_lib.ModelParallel):  # a state made flat before
        from kerax.optimizers import _flat

        opt_state = _flat.per_variable(opt_state, state.trainable)
    *shardings, paths = dist.state_shardings(
        state.trainable, state.non_trainable, opt_state, variable_paths
    )
    if isinstance(dist, distribution_lib.ModelParallel):
        dist.check_layout_map(paths)
    trees = (state.trainable, state.non_trainable, opt_state)
    trainable, non_trainable, opt_state = (
        jax.tree_util.tree_map(distribution_lib.put, tree, sharding)
        for tree, sharding in zip(trees, shardings)
    )
    rest = place(state.replace(trainable=None, non_trainable=None, opt_state=None))
    return rest.replace(trainable=trainable, non_trainable=non_trainable, opt_state=opt_state)


def whole_steps(steps: Any, name: str) -> int | None:
    """A step count as an int: None stays None, a fractional float rounds up.

    Keras 2's loops ran ``while steps_done < steps_per_epoch``, so tutorials pass
    ``steps_per_epoch=len(x_train) / 32``: a partial last batch counts as a step.
    """
    if steps is None:
        return None
    if isinstance(steps, bool) or not isinstance(steps, numbers.Real):
        raise TypeError(
            f"{name} must be a whole number of batches (or None). Received: {name}={steps!r}"
        )
    if not math.isfinite(steps) or steps <= 0:
        raise ValueError(
            f"{name} must be a positive number of batches (or None for the whole data). "
            f"Received: {name}={steps!r}"
        )
    return math.ceil(steps)


def padded_order(n: int, batch_size: int) -> jax.Array:
    """``0..n-1`` padded to whole batches with valid indices (masked out later)."""
    steps = math.ceil(n / batch_size)
    return place((np.arange(steps * batch_size) % n).astype(np.int32))


GATHER_MAX_BYTES = 64 << 20
"""The most a fused dispatch gathers at once (its steps' rows: a copy on the device)."""

GATHER_STEP_BYTES = 64 << 10
"""Batches of at least this many bytes are gathered step by step, not per dispatch.

Measured on a 2-core CPU (epochs, alternating, one process): gathering a dispatch's
rows at once trains the tutorial MLP (about 14 KB a batch) 12% faster, is even at 50 to
114 KB, and is 10-12% slower from 200 KB (784 features, batch 64 or 256) to 3% at 3.2 MB
(batch 1024): large batches pay for the extra copy of the block and its trip through
memory, while their one gather per step is already bandwidth-bound."""


class ArrayRunner:
    """Epochs over device-resident arrays."""

    def __init__(
        self, model, x, y, sample_weight, batch_size: int, steps: int | None, check_nan: bool = True
    ):
        if check_nan:
            check_finite((x, y, sample_weight), "Input data ")
        steps = whole_steps(steps, "steps")
        self.n = arrays.num_samples(x, y, sample_weight)
        self.batch_size = batch_size
        if distribution_lib.distribution() is not None:
            distribution_lib.distribution().check_batch_size(batch_size)
        self.engine = model._engine_for(x, y, batch_size)
        # Several processes: each holds only its share of every batch, pre-batched
        # (order None; see kerax.distribution.ProcessFeed).
        self.feed = distribution_lib.process_feed((x, y, sample_weight), self.n, batch_size)
        if self.feed is None:
            self.data = place((x, y, sample_weight))
            self.order = padded_order(self.n, batch_size)
            total = math.ceil(self.n / batch_size)
            self.orders = shuffle_lib.Orders(self.n, total * batch_size)
        else:
            self.data, self.order, total = self.feed.arrange(), None, self.feed.steps
        self.steps = total if steps is None else min(int(steps), total)
        # A steps_per_epoch shorter than the data: as Keras 3, an epoch goes on from where
        # the last one stopped in the same pass over the data (one shuffle per pass).
        self.total, self.pass_start = total, 0

    def train_epoch(
        self,
        state,
        epoch_key,
        shuffle: bool,
        k: int,
        fused: bool,
        on_dispatch: Callable,
        should_stop: Callable,
        first_step: int = 0,
        on_begin: Callable = lambda batch, state: state,
    ):
        base = self.pass_start
        if base == 0 and shuffle and self.feed is not None:  # each process its share
            permute = lambda order, n: shuffle_lib.epoch_order(epoch_key, n, len(order))
            self.data = self.feed.arrange(permute)
        elif base == 0 and shuffle:
            self.order = place(self.orders.get(epoch_key))
        chunk, trips = self.chunk(k), self.trips(k)
        end = min(base + self.steps, self.total)
        if end - base < self.steps:  # Keras's warning; the next epoch starts a new pass
            _warnings.warn(
                f"Your input ran out of data after {end - base} of steps_per_epoch="
                f"{self.steps} steps: this epoch ends early and the next one starts a new "
                "pass over the data. Use a steps_per_epoch that divides "
                f"{self.total} (the batches in the data)."
            )
        for start in range(base + first_step, end, k):
            stop = min(start + k, end)
            state = on_begin(start - base, state)
            # one dispatch per step when unfused, so each can be settled (distribution.settle)
            for a, b in [(start, stop)] if fused else [(i, i + 1) for i in range(start, stop)]:
                args = (state, self.data, self.order, a, b, self.n, fused, chunk, trips)
                state = self.engine.run_train(*args)
                distribution_lib.settle(state)
            on_dispatch(stop - 1 - base, state)
            if should_stop():
                break
        self.pass_start = 0 if end >= self.total else end
        return state

    def trips(self, k: int) -> int | None:
        """The static trip count of a fused dispatch of up to ``k`` steps (``Engine.trips``)."""
        return self.engine.trips(min(k, self.steps))

    def chunk(self, k: int) -> int | None:
        """How many steps' rows a fused dispatch of ``k`` steps gathers at once (see
        ``Engine.gather``); None, one gather per step, for batches of
        ``GATHER_STEP_BYTES`` or more or past ``GATHER_MAX_BYTES``."""
        if self.order is None:
            return None
        steps = min(k, len(self.order) // self.batch_size)
        row = sum(a.nbytes // max(1, len(a)) for a in jax.tree_util.tree_leaves(self.data))
        step_bytes = self.batch_size * row
        if step_bytes >= GATHER_STEP_BYTES:
            return None
        return steps if steps * step_bytes <= GATHER_MAX_BYTES else None

    def prefetch_order(self, epoch_key) -> None:
        """Draw a later epoch's order now, while the device runs this one."""
        if self.feed is None:
            self.orders.prefetch(epoch_key)

    def evaluate(self, state, on_batch: Callable | None = None):
        """The evaluation; ``on_batch(i, state)`` (callbacks reading batch logs): one
        dispatch per batch, reported after each, with the test-batch hooks around it."""
        if on_batch is not None:
            for i in range(self.steps):
                on_batch(i, None)
                state = self.engine.eval_single(state, self.data, self.order, i, self.n)
                distribution_lib.settle(state)
                on_batch(i, state)
            return state
        if self.engine.loops_fast:
            return distribution_lib.settle(
                self.engine.run_eval(
                    state,
                    self.data,
                    self.order,
                    self.steps,
                    self.n,
                    True,
                    self.chunk(self.steps),
                    self.trips(self.steps),
                )
            )
        for i in range(self.steps):
            state = self.engine.eval_single(state, self.data, self.order, i, self.n)
            distribution_lib.settle(state)
        return state


def check_epochs_of(source: Any, what: str, steps: int | None, epochs: int) -> None:
    """Refuse several epochs over a one-shot iterator with no ``steps_per_epoch``."""
    if one_shot(source) and steps is None and epochs > 1:
        kind = (
            "an endless PyDataset (num_batches None)"
            if isinstance(source, PyDataset)
            else "a Python generator/iterator"
        )
        raise ValueError(
            f"{what}() received {kind} and epochs={epochs} without steps_per_epoch. It "
            "cannot be restarted (an iterator is consumed once) or never ends, so kerax "
            "cannot tell where an epoch ends. Pass steps_per_epoch=..., or a finite "
            "kerax.utils.PyDataset / re-iterable of batches."
        )


def check_validation_passes(data: Any, steps: int | None, passes: int) -> None:
    """Refuse a one-shot ``validation_data`` iterator that fit would read more than once
    with no ``validation_steps``: its second pass would find it empty."""
    if passes > 1 and steps is None and is_stream(data) and one_shot(data):
        raise ValueError(
            f"fit() received validation_data as a Python generator/iterator, and would "
            f"validate {passes} times (once per validation_freq epochs), but an iterator "
            "can be consumed only once: every validation after the first would find it "
            "empty. Pass validation_steps=... with a generator that loops forever, or a "
            "kerax.utils.PyDataset, a re-iterable of batches, or arrays (x_val, y_val)."
        )


class StreamRunner:
    """Epochs over batches from a generator, iterator or ``PyDataset``."""

    def __init__(
        self, model, source, what: str, steps: int | None, epochs: int = 1, check_nan: bool = True
    ):
        check_epochs_of(source, what, steps, epochs)
        steps = whole_steps(steps, "steps")
        self.model = model
        self.stream = BatchStream(source, what, check_nan=check_nan)
        x, y, sw = self.stream.peek()
        self.first = (x, y, sw)
        self.batch_size = arrays.num_samples(x, y, sw)
        self.engine = model._engine_for(x, y, self.batch_size) if what != "predict" else None
        self.steps = steps if steps is not None else self.stream.num_batches()

    def _engine(self, batch_size: int):
        if batch_size != self.batch_size:  # a larger batch than the first: one more compile
            self.batch_size = batch_size
            self.engine = self.model._engine_for(*self.first[:2], batch_size)
        return self.engine

    def train_epoch(
        self,
        state,
        epoch_key,
        shuffle: bool,
        k: int,
        fused: bool,
        on_dispatch: Callable,
        should_stop: Callable,
        first_step: int = 0,
        on_begin: Callable = lambda batch, state: state,
    ):
        self.served = 0  # batches of this epoch (0: the data had run out)
        # A PyDataset's batch order is drawn per pass from the epoch's key (Keras 3
        # permutes its batch indices every epoch when fit shuffles).
        self.stream.shuffle_key = epoch_key if shuffle else None
        for i, (batch, _) in enumerate(self.stream.epoch(self.steps)):
            self.served = i + 1
            if i < first_step:  # resuming mid-epoch: these batches were trained on
                continue
            state = on_begin(i, state)
            batch = self._global(batch)
            state = self._engine(self.stream.batch_size).train_batch(state, batch)
            distribution_lib.settle(state)
            on_dispatch(i, state)
            if should_stop():
                break
        else:
            self._check_ran_out(self.served)
        return state

    def prefetch_order(self, epoch_key) -> None:
        """Batches come in the stream's own order: nothing to draw."""

    def evaluate(self, state, on_batch: Callable | None = None):
        served = 0
        for batch, _ in self.stream.epoch(self.steps):
            if on_batch is not None:
                on_batch(served, None)
            state = self._engine(self.stream.batch_size).eval_batch(state, self._global(batch))
            distribution_lib.settle(state)
            if on_batch is not None:
                on_batch(served, state)
            served += 1
        self.served = served  # 0: the data had run out (a one-shot source used again)
        self._check_ran_out(served)
        return state

    def _check_ran_out(self, served: int) -> None:
        """Keras 3 warns, and ends the epoch, when the data runs out before ``steps``."""
        if self.steps is not None and served < self.steps:
            what = self.stream.what
            name = "steps_per_epoch" if what == "fit" else "steps"
            _warnings.warn(
                f"{what}(): the data ran out after {served} batches, before "
                f"{name}={self.steps}; this epoch ends early. A PyDataset serves len() "
                f"batches per epoch (here {self.stream.num_batches()}); make the data "
                f"yield at least {name} batches per epoch, or pass a smaller {name} "
                "(None: one full pass).",
                UserWarning,
            )

    @staticmethod
    def _global(batch):
        """Several processes: each stream yields this process's share of the batch."""
        dist = distribution_lib.distribution()
        return batch if dist is None else dist.process_batch(batch)

    def predict(self, model) -> Any:
        from kerax.trainer.predictor import forward_batches

        return forward_batches(model, ((b[0], n) for b, n in self.stream.epoch(self.steps)))
