"""``Population``: train N copies of a model at once, in one compiled step.

The training state of N members is one ``TrainState`` with a leading member axis, and
the *same* pure train step the single-model ``fit`` uses is ``jax.vmap``-ed over it:
one compiled program trains an ensemble (different seeds), a sweep (different learning
rates) or both, with each member's own data order and dropout keys. A member's result
equals training that member alone with the same seed.

    population = kerax.Population(model, size=8, learning_rate=[1e-3, 3e-3, ...])
    population.compile(optimizer="adam", loss="categorical_crossentropy",
                       metrics=["accuracy"])
    history = population.fit(x, y, epochs=10, validation_data=(x_val, y_val))
    history.history["val_loss"][-1]        # shape (8,): one value per member
    best = population.best("val_loss")     # the model, holding the best member's weights
"""

from __future__ import annotations

import math
import os
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import _host_keys
from kerax._host_eval import host_eval
from kerax._member_logs import MemberLogs
from kerax._member_stopping import MemberEarlyStopping, member_where
from kerax.callbacks import EarlyStopping, History
from kerax.data import arrays
from kerax.data.streams import is_stream
from kerax.optimizers._utils import _with_hyperparams
from kerax.trainer import shuffle as shuffle_lib
from kerax.trainer._loops import fused_compiler_options, steps_loop
from kerax.trainer.engine import TrainState
from kerax.trainer.runners import padded_order, place

_HYPERPARAMETERS = ("learning_rate", "weight_decay")


class Population:
    """N members of one architecture, trained together by a vmapped train step.

    Args:
        model: the kerax model (its architecture; its weights are not used for training).
        size: the number of members.
        seeds: one int per member (initialization, data order and dropout keys); default
            ``0..size-1``. Member i trains exactly as a script that calls
            ``keras.utils.set_random_seed(seeds[i])``, builds and compiles the model and
            calls ``fit`` with the same arguments (and its learning rate / weight decay)
            would: the same weights, bit for bit. Members with equal seeds and
            hyper-parameters train identically.
        learning_rate, weight_decay: optional lists, one value per member (a sweep).
    """

    def __init__(
        self,
        model,
        size: int,
        seeds: list[int] | None = None,
        learning_rate: list[float] | None = None,
        weight_decay: list[float] | None = None,
    ):
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"Population size must be a positive integer. Received: {size!r}")
        self.model = model
        self.size = size
        self.seeds = list(range(size)) if seeds is None else [int(s) for s in seeds]
        self.hyperparameters = {}
        for name, values in (
            ("seeds", self.seeds),
            ("learning_rate", learning_rate),
            ("weight_decay", weight_decay),
        ):
            if values is not None and len(values) != size:
                raise ValueError(
                    f"Population of size {size} received {len(values)} values for {name}; "
                    f"pass exactly one per member ({size})."
                )
            if values is not None and name != "seeds":
                self.hyperparameters[name] = jnp.asarray(values, jnp.float32)
        self.state: TrainState | None = None
        self.history: History | None = None

    def compile(self, *args, **kwargs) -> None:
        """``Model.compile`` for every member (same optimizer, loss and metrics)."""
        self.model.compile(*args, **kwargs)
        self.state = None
        self._programs = {}

    def _cached(self, key, build):
        """Compiled programs live as long as the population: a second fit() reuses them."""
        programs = self.__dict__.setdefault("_programs", {})
        if key not in programs:
            programs[key] = build()
        return programs[key]

    def _logs_function(self, engine, state_like) -> MemberLogs:
        return self._cached(("logs", id(engine)), lambda: MemberLogs(engine, state_like))

    # -- state -------------------------------------------------------------------------
    # A fresh script after set_random_seed(seed) draws global keys 1, 2, 3 (see
    # kerax._scope.next_global_key) for the weights (at compile/build), fit's step keys
    # and fit's shuffle; the members use the same keys from their own seeds.
    INIT, STEPS, ORDER = 1, 2, 3

    def _keys(self, salt: int, *more: int, host: bool = False):
        """Member i's key: ``fold_in(PRNGKey(seeds[i]), salt)``, then each of ``more``
        (on the device, or as a NumPy array with ``host=True``)."""
        keys = []
        for seed in self.seeds:
            key = _host_keys.fold_in(_host_keys.prng_key(seed), salt)
            for data in more:
                key = _host_keys.fold_in(key, data)
            keys.append(key)
        keys = np.stack(keys)
        return keys if host else jax.device_put(keys)

    def _orders(self, epoch: int, n: int, total: int) -> np.ndarray:
        """Each member's order of the rows this epoch: the one a single fit with the
        member's seed draws (``kerax.trainer.shuffle``), as ``int32[size, total]``."""
        keys = self._keys(self.ORDER, epoch, host=True)
        return np.stack([shuffle_lib.epoch_order(key, n, total) for key in keys])

    def _initial_state(self, engine, x_sample, init_keys=None, keys=None) -> TrainState:
        model, optimizer = self.model, self.model.optimizer
        init_keys = self._keys(self.INIT) if init_keys is None else init_keys
        concrete = model.built and not isinstance(init_keys, jax.core.Tracer)
        variables = model._init_on_host(np.asarray(init_keys)) if concrete else None
        if variables is None:  # some initializer has only the compiled path
            variables = jax.vmap(lambda k: model.init(k, x_sample))(init_keys)
        # Zeros and fills on the host (no compile); a compiled call otherwise.
        opt_state = jax.device_put(host_eval(jax.vmap(optimizer.init), variables["trainable"]))
        for name, values in self.hyperparameters.items():
            opt_state, found = _with_hyperparams(opt_state, {name: values})
            if not found:
                raise ValueError(
                    f"The optimizer has no hyper-parameter {name!r} to vary per member. "
                    f"Settable here: {', '.join(_HYPERPARAMETERS)} (weight_decay only when "
                    "the optimizer was built with one)."
                )
        metrics, losses = self._per_member(engine.fresh_metric_states())
        return place(
            TrainState(
                trainable=variables["trainable"],
                non_trainable=variables["non_trainable"],
                opt_state=opt_state,
                metrics=metrics,
                losses=losses,
                step=np.zeros((self.size,), np.int32),
                key=self._keys(self.STEPS) if keys is None else keys,
            )
        )

    def _per_member(self, tree):
        """A copy of ``tree`` for every member, on the device (distinct buffers)."""

        def copies(a):
            shape = (self.size, *np.shape(a))
            if isinstance(a, jax.core.Tracer):  # under jax.eval_shape (_check_memory)
                return jnp.broadcast_to(a, shape)
            return np.broadcast_to(np.asarray(a), shape)  # jnp would compile per shape

        return place(jax.tree_util.tree_map(copies, tree))

    def _check_memory(self, x_sample) -> None:
        """Estimate the population's memory before compiling; refuse what cannot fit."""
        # One member's weights and optimizer slots, by shape alone (nothing is traced but
        # the optimizer's init); metric states and counters are a few scalars.
        variables = self.model._abstract_variables()
        slots = jax.eval_shape(self.model.optimizer.init, variables["trainable"])
        member = sum(
            np.prod(a.shape, dtype=np.int64) * np.dtype(a.dtype).itemsize
            for a in jax.tree_util.tree_leaves((variables, slots))
        )
        state_bytes = self.size * int(member)
        batch_bytes = sum(a.size * a.dtype.itemsize for a in jax.tree_util.tree_leaves(x_sample))
        # params, grads and the update each live at once; activations scale with the batch
        estimate = 3 * state_bytes + self.size * 20 * batch_bytes
        available = _device_memory()
        if available and estimate > 0.8 * available:
            raise MemoryError(
                f"A population of {self.size} members needs about {estimate / 2**30:.2f} GiB "
                f"(training state {state_bytes / 2**30:.2f} GiB plus activations), more than "
                f"the {available / 2**30:.2f} GiB this device has. Use a smaller size, a "
                "smaller batch_size, or train the population in groups."
            )

    # -- fit -----------------------------------------------------------------------------
    def fit(
        self,
        x,
        y,
        batch_size: int = 32,
        epochs: int = 1,
        verbose: Any = "auto",
        validation_data: Any = None,
        shuffle: bool = True,
        callbacks: list | None = None,
    ) -> History:
        """Train every member; logs hold one value per member (arrays of shape (size,)).

        ``history.history[name]`` holds, per epoch, the ``(size,)`` array of the members'
        values, and ``history.history[name + "_mean"]`` their mean. A
        ``kerax.callbacks.EarlyStopping`` in ``callbacks`` stops each member on its own
        (a stopped member is frozen, with its best weights if ``restore_best_weights``);
        fit ends when every member has stopped. Other callbacks receive the per-member
        logs at ``on_epoch_end``.
        """
        model = self.model
        model._require_compiled("Population.fit")
        if is_stream(x):
            raise TypeError(
                "Population.fit takes arrays (NumPy/JAX, or lists/dicts of them): every "
                "member reads the same device-resident data. Received x of type "
                f"{type(x).__name__}. Collect the batches into arrays first."
            )
        x, y, sw, n = model._prepare(x, y, None)
        engine = model._engine_for(x, y, batch_size)
        x_sample = jax.tree_util.tree_map(lambda a: a[:batch_size], x)
        if self.state is None:
            self._check_memory(x_sample)
            self.state = self._initial_state(engine, x_sample)
        data = place((x, y, sw))
        total = math.ceil(n / batch_size) * batch_size
        rows = (np.arange(total) % n).astype(np.int32)
        in_order = place(np.broadcast_to(rows, (self.size, total)))
        steps = math.ceil(n / batch_size)
        fused = engine.loops_fast
        member_logs = self._logs_function(engine, state_like=self.state)
        val = self._validation(validation_data, batch_size)
        active = jax.device_put(np.ones((self.size,), bool))
        callbacks = list(callbacks or [])
        stoppers = [
            MemberEarlyStopping(cb, model, self.size)
            for cb in callbacks
            if isinstance(cb, EarlyStopping)
        ]
        others = [cb for cb in callbacks if not isinstance(cb, EarlyStopping)]
        stopping = bool(stoppers)
        train = self._cached(
            ("train", id(engine), n, fused, stopping),
            lambda: _vmapped_train(engine, n, fused, stopping),
        )
        for cb in others:
            cb.set_model(model)
            cb.on_train_begin()
        self.history = History()
        verbose = 1 if verbose == "auto" else int(verbose)
        state = self.state
        orders = self._orders(0, n, total) if shuffle else in_order
        background = []
        if not member_logs.ready():
            if fused:  # traced and lowered before the background thread competes for the GIL
                train.trace(state, data, in_order, 0, steps, active).lower()
            # A logs program compiles on the other core while the train program compiles.
            background = member_logs.precompile(state)
        for epoch in range(epochs):
            for cb in others:
                cb.on_epoch_begin(epoch)
            metrics, losses = self._per_member(engine.fresh_metric_states())
            state = state.replace(metrics=metrics, losses=losses)
            order = place(orders)
            if fused:
                state = train(state, data, order, 0, steps, active)
            else:
                for i in range(steps):
                    state = train(state, data, order, i, active)
            if shuffle and epoch + 1 < epochs:  # drawn while the device runs this epoch
                orders = self._orders(epoch + 1, n, total)
            for thread in background:
                thread.join()
            logs = member_logs(state)
            if val is not None:
                logs.update({f"val_{k}": v for k, v in val(state).items()})
            self.history.on_epoch_end(
                epoch, {**logs, **{f"{k}_mean": float(np.mean(v)) for k, v in logs.items()}}
            )
            for cb in others:
                cb.on_epoch_end(epoch, logs)
            if verbose:
                shown = " - ".join(
                    f"{k}: {np.mean(v):.4f} (best {_best(v, k):.4f})" for k, v in logs.items()
                )
                alive = int(np.sum(active))
                print(f"Epoch {epoch + 1}/{epochs} - {alive}/{self.size} active - {shown}")
            for stopper in stoppers:
                state, active = stopper.update(epoch, logs, state, active)
            if not np.any(np.asarray(active)):
                break
        self.state = state
        for cb in others:
            cb.on_train_end()
        return self.history

    def _validation(self, data, batch_size):
        if data is None:
            return None
        model = self.model
        xv, yv, swv = (list(data) + [None])[:3]
        xv, yv, swv, nv = model._prepare(xv, yv, swv)
        engine = model._engine_for(xv, yv, batch_size)
        vdata, vorder = place((xv, yv, swv)), padded_order(nv, batch_size)
        steps = math.ceil(nv / batch_size)
        trips = engine.trips(steps)
        evaluate = self._cached(
            ("eval", id(engine), nv),
            lambda: jax.jit(
                jax.vmap(
                    partial(engine._eval_fused, n=nv, trips=trips),
                    in_axes=(0, None, None, None, None),
                )
            ),
        )
        member_logs = self._logs_function(engine, state_like=self.state)

        def run(state):
            metrics, losses = self._per_member(engine.fresh_metric_states())
            s = state.replace(opt_state=None, metrics=metrics, losses=losses)
            return member_logs(evaluate(s, vdata, vorder, 0, steps))

        return run

    # -- using the members -----------------------------------------------------------------
    def member_variables(self, index: int) -> dict:
        """Member ``index``'s variables, as ``model.apply`` takes them."""
        if self.state is None:
            raise ValueError("The population has not been trained yet: call fit() first.")
        if not -self.size <= index < self.size:
            raise IndexError(f"Member {index} out of range for a population of {self.size}.")
        pick = lambda t: jax.tree_util.tree_map(lambda a: a[index], t)
        return {
            "trainable": pick(self.state.trainable),
            "non_trainable": pick(self.state.non_trainable),
        }

    def member(self, index: int):
        """The model holding member ``index``'s weights (written into ``self.model``)."""
        self.model.set_variables(self.member_variables(index))
        return self.model

    def best(self, monitor: str = "val_loss", mode: str = "min"):
        """The model holding the weights of the member with the best last ``monitor``."""
        logs = self.history.history if self.history else {}
        if monitor not in logs:
            raise ValueError(f"{monitor!r} was not logged. Logged: {sorted(logs)}.")
        values = np.asarray(logs[monitor][-1])
        return self.member(int(np.argmin(values) if mode == "min" else np.argmax(values)))

    def predict(self, x, batch_size: int = 32, reduce: str | None = "mean"):
        """Every member's outputs, averaged (``reduce="mean"``) or stacked (``None``)."""
        if reduce not in ("mean", None):
            raise ValueError(f"reduce must be 'mean' or None. Received: reduce={reduce!r}")
        if self.state is None:
            raise ValueError("The population has not been trained yet: call fit() first.")
        model = self.model
        x = arrays.to_arrays(x, "x")
        forward = jax.jit(
            jax.vmap(
                lambda t, nt, xb: model._apply(
                    {"trainable": t, "non_trainable": nt}, (xb,), False, None
                )[0],
                in_axes=(0, 0, None),
            )
        )
        n = arrays.num_samples(x)
        outs = [
            forward(
                self.state.trainable,
                self.state.non_trainable,
                jax.tree_util.tree_map(lambda a, s=s: a[s : s + batch_size], x),
            )
            for s in range(0, n, batch_size)
        ]
        out = jax.tree_util.tree_map(lambda *a: np.concatenate(a, axis=1), *outs)
        return jax.tree_util.tree_map(lambda a: a.mean(0), out) if reduce == "mean" else out


def _best(values, key):
    return float(np.max(values) if "acc" in key else np.min(values))


def _vmapped_train(engine, n: int, fused: bool, stopping: bool):
    """The engine's train step, vmapped over members.

    Fused, the loop runs outside the vmap (``fori_loop`` over a vmapped step): the same
    program as vmapping the engine's fused loop, but jax traces the step once instead of
    batching the loop body again and again to find which carries are batched. With
    ``stopping`` (an EarlyStopping acts per member), members not ``active`` keep their
    state; without, the program leaves out that per-leaf selection (a kernel per leaf).
    """

    def member_step(state, data, order, i):
        partial = n % engine.batch_size or None  # the padded last batch's valid rows
        batch = engine._batch(data, order, n, i)
        return engine.train_step(state, batch, partial, engine.valid_rows(order, n, i))

    step = jax.vmap(member_step, in_axes=(0, None, 0, None))

    def keep_stopped(new, old, active):
        return member_where(active, new, old) if stopping else new

    if fused:
        trips = engine.trips(math.ceil(n / engine.batch_size))

        def run(state, data, order, start, stop, active):
            engine.trace_count += 1  # a Python side effect: runs only when jax traces
            body = lambda i, s: step(s, data, order, i)
            new = steps_loop(start, stop, body, state, trips)
            return keep_stopped(new, state, active)

    else:

        def run(state, data, order, i, active):
            engine.trace_count += 1
            return keep_stopped(step(state, data, order, i), state, active)

    options = fused_compiler_options(fused)
    return jax.jit(run, donate_argnums=0, compiler_options=options)


def _device_memory() -> int | None:
    device = jax.devices()[0]
    stats = getattr(device, "memory_stats", lambda: None)()
    if stats and stats.get("bytes_limit"):
        return int(stats["bytes_limit"])
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
