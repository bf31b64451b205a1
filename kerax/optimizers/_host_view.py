"""The host-side view of an optimizer's state: ``iterations`` and ``learning_rate``.

The compiled loops own the optax state; the optimizer only remembers the latest one
(``observe_state``) and reads it when asked, without syncing anything. A learning rate
set between epochs waits in ``_pending`` until ``sync_state`` writes it into the state.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from kerax.optimizers._utils import (
    _alive,
    _find_count,
    _is_tracer,
    _to_python,
    _with_counts,
    _with_hyperparams,
    check_learning_rate,
)


class HostView:
    """Mixed into ``Optimizer``: reads and host-side writes of its current state."""

    def observe_state(self, opt_state: Any, step: int | None = None) -> None:
        """Remember the latest state so that host reads are current (nothing is synced).

        Args:
            opt_state: the state returned by the last compiled call.
            step: the step count, for transformations whose state has no ``count``.
        """
        if any(_is_tracer(leaf) for leaf in jax.tree.leaves(opt_state)[:1]):
            return  # called under tracing (a jitted or vmapped init): nothing to observe
        self._observed = opt_state
        if step is not None:
            self._last_count = int(step)

    def _raw_count(self) -> int:
        if "iterations" in self._pending:  # set by `iterations.assign(n)`
            return self._pending["iterations"] * (self.gradient_accumulation_steps or 1)
        count = _find_count(self._observed)
        if count is not None and _alive(count):
            value = _to_python(count)
            self._last_count = int(np.max(value))
        return self._last_count

    @property
    def iterations(self) -> int:
        """Optimizer iterations so far (Keras: updates, so micro-steps // accumulation).

        An int that also answers Keras's Variable calls: ``.assign(n)`` sets the step
        count of the optimizer state (schedules, Adam's bias correction...) for the next
        step, ``.numpy()`` and ``.value``.
        """
        return _Iterations(self._raw_count() // (self.gradient_accumulation_steps or 1), self)

    def _set_iterations(self, value: Any) -> None:
        if isinstance(value, (jax.Array, np.ndarray, np.generic)) and np.size(value) == 1:
            value = int(np.asarray(value))
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
            raise ValueError(
                f"{type(self).__name__}: `iterations` must be set to an integer >= 0. "
                f"Received: {value!r}"
            )
        self._pending["iterations"] = int(value)

    @property
    def learning_rate(self) -> float:
        """The current learning rate (a schedule is evaluated at the current step).

        A float that also answers Keras's Variable calls: ``.assign(x)`` (same as
        ``optimizer.learning_rate = x``), ``.numpy()`` and ``.value``.
        """
        if "learning_rate" in self._pending:
            value = self._pending["learning_rate"]
        elif callable(self._learning_rate):
            value = float(self._learning_rate(self._raw_count()))
        else:
            # The host value is authoritative: the state only changes it through sync_state.
            value = self._learning_rate
        return _LearningRate(value, self)

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        if callable(self._learning_rate):
            raise TypeError(
                f"{type(self).__name__} was created with a schedule as its `learning_rate`, "
                "hence its learning rate is not settable. If you need to set it, create the "
                "optimizer with a float `learning_rate`."
            )
        value = check_learning_rate(type(self).__name__, value)
        if callable(value):
            if self._transform is not None:
                raise TypeError(
                    f"{type(self).__name__}: a schedule can replace a float learning rate "
                    "only before the optimizer is first used (its state is built then). "
                    "Create a new optimizer with `learning_rate=schedule` instead."
                )
            self._learning_rate = value
            return
        self._learning_rate = value
        self._pending["learning_rate"] = value

    @property
    def lr(self) -> float:
        """Alias of :attr:`learning_rate` (Keras 2 name)."""
        return self.learning_rate

    @lr.setter
    def lr(self, value: Any) -> None:
        self.learning_rate = value

    def sync_state(self, opt_state: Any) -> Any:
        """``opt_state`` with pending host-side changes (``learning_rate = x``) written in.

        Returns ``opt_state`` itself when nothing is pending. Call it between compiled
        dispatches; the new leaves keep shape, dtype and sharding, so nothing retraces.

        Raises:
            AttributeError: if the state has no such injected hyper-parameter.
        """
        new_state = self.with_pending(opt_state)
        if new_state is not opt_state:
            self._pending.clear()
            self.observe_state(new_state)
        return new_state

    def with_pending(self, opt_state: Any) -> Any:
        """``opt_state`` with the pending host-side changes written in, which stay
        pending (for a copy that must be current, such as a saved file, while the
        training loop's own state is synced later). ``opt_state`` itself if none.

        Raises:
            AttributeError: if the state has no such injected hyper-parameter.
        """
        if not self._pending:
            return opt_state
        values = {k: v for k, v in self._pending.items() if k != "iterations"}
        new_state, found = _with_hyperparams(opt_state, values) if values else (opt_state, True)
        if not found:
            raise AttributeError(
                f"{type(self).__name__}: cannot set {sorted(values)} in this optimizer "
                "state: it has no such injected hyper-parameter. Build the transformation "
                "with optax.inject_hyperparams to make it settable."
            )
        if "iterations" in self._pending:
            every = self.gradient_accumulation_steps or 1
            new_state = _with_counts(new_state, self._pending["iterations"], every)
        return new_state


class _LearningRate(float):
    """An optimizer's learning rate read the Keras way (Keras 3 keeps it in a float32
    Variable; the Python value stays the one set, unrounded)."""

    shape = ()
    dtype = "float32"

    def __new__(cls, value: float, optimizer: Any):
        self = super().__new__(cls, value)
        self._optimizer = optimizer
        return self

    def __reduce__(self):  # copies and pickles are plain floats
        return float, (float(self),)

    def assign(self, value: Any) -> None:
        self._optimizer.learning_rate = value

    def numpy(self) -> np.ndarray:
        return np.asarray(self, np.float32)

    @property
    def value(self) -> float:
        return float(self)


class _Iterations(int):
    """The optimizer's update count read the Keras way (``.assign``, ``.numpy()``,
    ``.value``)."""

    def __new__(cls, value: int, optimizer: Any = None):
        self = super().__new__(cls, value)
        self._optimizer = optimizer
        return self

    def __reduce__(self):
        return int, (int(self),)

    def assign(self, value: Any) -> None:
        self._optimizer._set_iterations(value)

    def numpy(self) -> np.ndarray:
        return np.asarray(self, np.int64)

    @property
    def value(self) -> int:
        return int(self)
