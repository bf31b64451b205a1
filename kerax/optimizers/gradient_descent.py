"""SGD and the per-coordinate adaptive optimizers: RMSprop, Adagrad, Adadelta, Ftrl, Lion.

Each is the optax transformation with the same numbers as Keras 3. Where optax's
argument order or defaults differ, the construction below says so.
"""

from __future__ import annotations

import optax

from kerax.optimizers import _transforms
from kerax.optimizers.base import Optimizer, _number


def _unit(owner: str, name: str, value) -> float:
    value = _number(owner, name, value, optional=False)
    if value > 1:
        raise ValueError(f"{owner}: `{name}` must be in [0, 1]. Received: {name}={value}")
    return value


class SGD(Optimizer):
    """Gradient descent, optionally with (Nesterov) momentum.

    Keras keeps the learning rate inside the momentum buffer
    (``m = momentum * m - lr * g; w += m``), so the chain is ``scale(-lr)`` then
    ``optax.trace`` (optax's ``sgd`` scales after the trace, which differs once the
    learning rate changes).

    Args:
        learning_rate: float or schedule.
        momentum: in [0, 1]; 0 keeps no momentum state.
        nesterov: use Nesterov momentum.
        **kwargs: the base options of :class:`Optimizer` (``weight_decay``, ``clipnorm``...).

    Example:
        >>> import jax.numpy as jnp
        >>> opt = SGD(0.1, momentum=0.9)
        >>> state = opt.init(jnp.zeros(1))
        >>> round(float(opt.update(jnp.ones(1), state, jnp.zeros(1))[0][0]), 6)
        -0.1
    """

    _hyperparameters = ("momentum",)
    _elementwise = True

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = _unit("SGD", "momentum", momentum)
        self.nesterov = bool(nesterov)

    def core_transform(self, hp):
        step = optax.scale_by_learning_rate(hp["learning_rate"])
        if self.momentum == 0:
            return step
        return optax.chain(step, optax.trace(decay=hp["momentum"], nesterov=self.nesterov))


class RMSprop(Optimizer):
    """RMSprop (Hinton, Coursera lecture 6e): ``g / sqrt(E[g^2] + epsilon)``.

    This is ``optax.rmsprop`` with epsilon inside the square root (Keras's placement)
    and the momentum applied after the learning rate.

    Args:
        learning_rate: float or schedule.
        rho: decay of the moving average of squared gradients.
        momentum: momentum on the scaled update (0 for none).
        epsilon: added to the average inside the square root.
        centered: divide by the estimated variance instead of the raw second moment.
        **kwargs: the base options of :class:`Optimizer`.

    Example:
        >>> opt = RMSprop(learning_rate=0.01, centered=True)
        >>> opt.get_config()["rho"]
        0.9
    """

    _hyperparameters = ("momentum", "epsilon")
    _elementwise = True

    def __init__(
        self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = _unit("RMSprop", "rho", rho)
        self.momentum = _unit("RMSprop", "momentum", momentum)
        self.epsilon = _number("RMSprop", "epsilon", epsilon, optional=False)
        self.centered = bool(centered)

    def core_transform(self, hp):
        return optax.rmsprop(
            hp["learning_rate"],
            decay=self.rho,
            eps=hp["epsilon"],
            eps_in_sqrt=True,
            centered=self.centered,
            momentum=hp["momentum"] if self.momentum > 0 else None,
        )


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011): ``g / sqrt(sum g^2 + epsilon)``.

    ``optax.scale_by_rss`` started from Keras's ``initial_accumulator_value``.

    Args:
        learning_rate: float or schedule.
        initial_accumulator_value: starting value of the sum of squares (>= 0).
        epsilon: added inside the square root.
        **kwargs: the base options of :class:`Optimizer`.

    Example:
        >>> Adagrad().get_config()["initial_accumulator_value"]
        0.1
    """

    _hyperparameters = ("epsilon",)
    _elementwise = True

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value = _number(
            "Adagrad", "initial_accumulator_value", initial_accumulator_value, optional=False
        )
        self.epsilon = _number("Adagrad", "epsilon", epsilon, optional=False)

    def core_transform(self, hp):
        return optax.chain(
            optax.scale_by_rss(self.initial_accumulator_value, hp["epsilon"]),
            optax.scale_by_learning_rate(hp["learning_rate"]),
        )


class Adadelta(Optimizer):
    """Adadelta (Zeiler, arXiv:1212.5701), scaled by the learning rate as in Keras.

    Args:
        learning_rate: float or schedule (Keras multiplies the Adadelta step by it).
        rho: decay of both moving averages.
        epsilon: added inside both square roots.
        **kwargs: the base options of :class:`Optimizer`.

    Example:
        >>> Adadelta().get_config()["rho"]
        0.95
    """

    _hyperparameters = ("epsilon",)
    _elementwise = True

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = _unit("Adadelta", "rho", rho)
        self.epsilon = _number("Adadelta", "epsilon", epsilon, optional=False)

    def core_transform(self, hp):
        return optax.chain(
            optax.scale_by_adadelta(self.rho, hp["epsilon"]),
            optax.scale_by_learning_rate(hp["learning_rate"]),
        )


class Ftrl(Optimizer):
    """FTRL-Proximal (McMahan et al., 2013), Keras's variant with L2 shrinkage.

    optax has no FTRL; :func:`kerax.optimizers._transforms.ftrl` implements Keras's
    update (it writes the new weight directly, the learning rate included).

    Args:
        learning_rate: float or schedule.
        learning_rate_power: ``<= 0``; the accumulator's power in the per-coordinate rate.
        initial_accumulator_value: ``>= 0``; starting value of the sum of squares.
        l1_regularization_strength: ``>= 0``.
        l2_regularization_strength: ``>= 0``.
        l2_shrinkage_regularization_strength: ``>= 0``; an L2 penalty on the gradient.
        beta: ``beta`` of the per-coordinate learning rate.
        **kwargs: the base options of :class:`Optimizer`.

    Raises:
        ValueError: for a positive ``learning_rate_power`` or a negative strength.

    Example:
        >>> Ftrl(l1_regularization_strength=0.01).get_config()["learning_rate_power"]
        -0.5
    """

    _hyperparameters = (
        "l1_regularization_strength",
        "l2_regularization_strength",
        "l2_shrinkage_regularization_strength",
        "beta",
    )
    _elementwise = True

    def __init__(
        self,
        learning_rate=0.001,
        learning_rate_power=-0.5,
        initial_accumulator_value=0.1,
        l1_regularization_strength=0.0,
        l2_regularization_strength=0.0,
        l2_shrinkage_regularization_strength=0.0,
        beta=0.0,
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        power = _number(
            "Ftrl",
            "learning_rate_power",
            learning_rate_power,
            minimum=float("-inf"),
            optional=False,
        )
        if power > 0:
            raise ValueError(
                "Ftrl: `learning_rate_power` must be <= 0. "
                f"Received: learning_rate_power={learning_rate_power}"
            )
        self.learning_rate_power = power
        for key, value in [
            ("initial_accumulator_value", initial_accumulator_value),
            ("l1_regularization_strength", l1_regularization_strength),
            ("l2_regularization_strength", l2_regularization_strength),
            ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength),
            ("beta", beta),
        ]:
            setattr(self, key, _number("Ftrl", key, value, optional=False))

    def core_transform(self, hp):
        return _transforms.ftrl(
            hp["learning_rate"],
            self.learning_rate_power,
            self.initial_accumulator_value,
            hp["l1_regularization_strength"],
            hp["l2_regularization_strength"],
            hp["l2_shrinkage_regularization_strength"],
            hp["beta"],
        )


class Lion(Optimizer):
    """Lion (Chen et al., arXiv:2302.06675): ``-lr * sign(b1 m + (1 - b1) g)``.

    ``optax.scale_by_lion`` followed by the learning rate (optax's ``lion`` alias adds
    its own weight decay, which Keras applies differently).

    Args:
        learning_rate: float or schedule.
        beta_1: interpolation for the update direction, in (0, 1].
        beta_2: decay of the momentum.
        **kwargs: the base options of :class:`Optimizer`.

    Raises:
        ValueError: if ``beta_1`` is not in (0, 1].

    Example:
        >>> Lion().get_config()["beta_2"]
        0.99
    """

    _hyperparameters = ("beta_1", "beta_2")
    _elementwise = True

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = _unit("Lion", "beta_1", beta_1)
        if self.beta_1 == 0:
            raise ValueError(
                "Lion: `beta_1` must be in (0, 1]; 0 degenerates to SignSGD. "
                f"Received: beta_1={beta_1}"
            )
        self.beta_2 = _unit("Lion", "beta_2", beta_2)

    def core_transform(self, hp):
        return optax.chain(
            optax.scale_by_lion(hp["beta_1"], hp["beta_2"]),
            optax.scale_by_learning_rate(hp["learning_rate"]),
        )
