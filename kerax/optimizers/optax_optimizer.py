"""Any optax transformation behind the Keras optimizer contract."""

from __future__ import annotations

from typing import Any

import jax
import optax

from kerax import _naming
from kerax._host_eval import host_eval
from kerax.optimizers._utils import _alive, _find_hyperparams, _to_python, check_learning_rate
from kerax.optimizers.base import Optimizer


class OptaxOptimizer(Optimizer):
    """Any optax transformation, used as is, behind the optimizer contract.

    ``learning_rate`` reads and writes the ``learning_rate`` hyper-parameter of an
    ``optax.inject_hyperparams`` state; other transformations have no settable rate.

    A transformation has no config, so ``model.save`` refuses a model compiled with one
    (Keras refuses an optimizer without a config too); ``model.save_weights`` keeps its
    state for kerax, and Keras loads those weights and skips the optimizer's state.

    Args:
        transformation: an ``optax.GradientTransformation``.
        name: the optimizer's name.

    Raises:
        TypeError: if ``transformation`` is not an optax transformation.

    Example:
        >>> import jax.numpy as jnp, optax
        >>> opt = OptaxOptimizer(optax.inject_hyperparams(optax.sgd)(learning_rate=0.1))
        >>> state = opt.init(jnp.zeros(2))
        >>> round(opt.learning_rate, 6)
        0.1
    """

    def __init__(self, transformation: optax.GradientTransformation, name: str | None = None):
        if not isinstance(transformation, optax.GradientTransformation):
            raise TypeError(
                "OptaxOptimizer wraps an optax.GradientTransformation. "
                f"Received: transformation={transformation!r}"
            )
        super().__init__(name=name or _naming.unique_name("optax_optimizer"))
        self._transform = transformation

    def init(self, params: Any) -> Any:
        state = jax.device_put(host_eval(self._transform.init, params))
        if self._pending:
            state = self.sync_state(state)
        self.observe_state(state)
        return state

    def update(self, grads: Any, opt_state: Any, params: Any = None) -> tuple[Any, Any]:
        return self._transform.update(grads, opt_state, params)

    def _hyperparams_or_raise(self) -> dict:
        hyperparams = _find_hyperparams(self._observed)
        if self._observed is None:
            raise AttributeError(
                "The learning rate of a raw optax transformation is known only after init(params)."
            )
        if not hyperparams or "learning_rate" not in hyperparams:
            raise AttributeError(
                "This optax transformation has no `learning_rate` in its state, so it cannot "
                "be read or set. Build it with optax.inject_hyperparams, e.g. "
                "optax.inject_hyperparams(optax.adam)(learning_rate=1e-3)."
            )
        return hyperparams

    @property
    def learning_rate(self) -> float:
        if "learning_rate" in self._pending:
            return self._pending["learning_rate"]
        value = self._hyperparams_or_raise()["learning_rate"]
        if _alive(value):  # else the buffer was donated: return the last value read
            self._learning_rate = _to_python(value)
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        if self._observed is not None:
            self._hyperparams_or_raise()
        value = check_learning_rate(type(self).__name__, value)
        if callable(value):
            raise TypeError(
                "Cannot replace the learning rate of an optax transformation by a "
                "schedule; build the transformation with the schedule instead."
            )
        self._learning_rate = value
        self._pending["learning_rate"] = value

    def get_config(self) -> dict:
        raise NotImplementedError(
            f"Optimizer '{self.name}' wraps a raw optax transformation, which has no config "
            "to save. Use a kerax optimizer (e.g. keras.optimizers.Adam) to save it."
        )
