"""The Adam family: Adam, AdamW, Adamax, Nadam, Lamb, and Adafactor.

Keras's Adam, Adamax and Nadam differ from optax's in where ``epsilon`` goes or in
the momentum schedule; those use the small transforms in ``_transforms`` (built on
optax's moment helpers). Lamb and Adafactor are optax chains configured to Keras.

The betas of Adam, Adamax and Lamb stay Python floats, not injected state: Keras forms
``1 - beta`` in float64 before casting, and the same difference of a float32 beta moves
``v`` by ~1e-5 relative (``1 - float32(0.999)`` is ``0.99998...e-3``). Nadam's Keras code
casts its betas to float32 first, so Nadam injects them.
"""

from __future__ import annotations

import optax

from kerax.optimizers import _transforms
from kerax.optimizers.base import Optimizer, _number


def _betas(owner: str, beta_1, beta_2) -> tuple[float, float]:
    out = []
    for key, value in (("beta_1", beta_1), ("beta_2", beta_2)):
        value = _number(owner, key, value, optional=False)
        if value >= 1:
            raise ValueError(f"{owner}: `{key}` must be in [0, 1). Received: {key}={value}")
        out.append(value)
    return out[0], out[1]


class Adam(Optimizer):
    """Adam (Kingma & Ba, arXiv:1412.6980) with Keras's epsilon placement.

    The update is ``-lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + epsilon)``:
    ``epsilon`` is added before bias correction, unlike ``optax.adam``.

    Args:
        learning_rate: float or schedule.
        beta_1: decay of the first moment.
        beta_2: decay of the second moment.
        epsilon: added to ``sqrt(v)``.
        amsgrad: use the running maximum of ``v`` (Reddi et al., arXiv:1904.09237).
        **kwargs: the base options of :class:`Optimizer`.

    Example:
        >>> import jax.numpy as jnp
        >>> opt = Adam(lr=0.1)
        >>> state = opt.init(jnp.zeros(1))
        >>> round(float(opt.update(jnp.ones(1), state, jnp.zeros(1))[0][0]), 4)
        -0.1
    """

    _hyperparameters = ("epsilon",)
    _elementwise = True

    def __init__(
        self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **kwargs
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        owner = type(self).__name__
        self.beta_1, self.beta_2 = _betas(owner, beta_1, beta_2)
        self.epsilon = _number(owner, "epsilon", epsilon, optional=False)
        self.amsgrad = bool(amsgrad)

    def core_transform(self, hp):
        return optax.chain(
            _transforms.scale_by_keras_adam(self.beta_1, self.beta_2, hp["epsilon"], self.amsgrad),
            optax.scale_by_learning_rate(hp["learning_rate"]),
        )


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, arXiv:1711.05101).

    Keras applies ``w -= w * weight_decay * lr`` before the Adam step; since Adam's
    step does not read ``w`` this equals ``optax.adamw``'s ``-lr * (adam + wd * w)``.

    Args:
        learning_rate: float or schedule.
        weight_decay: the decay rate (required, default 0.004).
        beta_1, beta_2, epsilon, amsgrad: as :class:`Adam`.
        **kwargs: the base options of :class:`Optimizer`.

    Raises:
        ValueError: if ``weight_decay`` is None.

    Example:
        >>> AdamW().get_config()["weight_decay"]
        0.004
    """

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay=0.004,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        **kwargs,
    ):
        if weight_decay is None:
            raise ValueError(
                "AdamW: `weight_decay` must be a float (use Adam for no decay). "
                "Received: weight_decay=None"
            )
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            weight_decay=weight_decay,
            **kwargs,
        )


class Adamax(Optimizer):
    """Adamax, Adam with the infinity norm (Kingma & Ba, sec. 7.1).

    Args:
        learning_rate: float or schedule.
        beta_1: decay of the first moment.
        beta_2: decay of the running infinity norm.
        epsilon: added to the norm.
        **kwargs: the base options of :class:`Optimizer`.

    Example:
        >>> Adamax().get_config()["beta_2"]
        0.999
    """

    _hyperparameters = ("epsilon",)
    _elementwise = True

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2 = _betas("Adamax", beta_1, beta_2)
        self.epsilon = _number("Adamax", "epsilon", epsilon, optional=False)

    def core_transform(self, hp):
        return optax.chain(
            _transforms.scale_by_keras_adamax(self.beta_1, self.beta_2, hp["epsilon"]),
            optax.scale_by_learning_rate(hp["learning_rate"]),
        )


class Nadam(Optimizer):
    """Nadam, Adam with Nesterov momentum (Dozat, 2016), with Keras's momentum schedule.

    Args:
        learning_rate: float or schedule.
        beta_1: base decay of the first moment (scheduled by ``1 - 0.5 * 0.96^t``).
        beta_2: decay of the second moment.
        epsilon: added to ``sqrt(v_hat)``.
        **kwargs: the base options of :class:`Optimizer`.

    Example:
        >>> Nadam().get_config()["epsilon"]
        1e-07
    """

    # Keras casts Nadam's betas to float32 before `1 - beta`, so injecting them (as
    # float32 arrays) keeps its numbers; Adam and Lamb use the Python floats.
    _hyperparameters = ("beta_1", "beta_2", "epsilon")
    _elementwise = True

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2 = _betas("Nadam", beta_1, beta_2)
        self.epsilon = _number("Nadam", "epsilon", epsilon, optional=False)

    def core_transform(self, hp):
        return optax.chain(
            _transforms.scale_by_keras_nadam(hp["beta_1"], hp["beta_2"], hp["epsilon"]),
            optax.scale_by_learning_rate(hp["learning_rate"]),
        )


class Lamb(Optimizer):
    """LAMB (You et al., arXiv:1904.00962): Adam scaled per weight by ``|w| / |update|``.

    ``optax.scale_by_adam`` (its epsilon placement is Keras's here) then
    ``optax.scale_by_trust_ratio``; weight decay, when set, is Keras's (before the step,
    outside the trust ratio), not optax.lamb's.

    Args:
        learning_rate: float or schedule.
        beta_1, beta_2: moment decays.
        epsilon: added to ``sqrt(v_hat)``.
        **kwargs: the base options of :class:`Optimizer`.

    Example:
        >>> Lamb().get_config()["beta_1"]
        0.9
    """

    _hyperparameters = ("epsilon",)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2 = _betas("Lamb", beta_1, beta_2)
        self.epsilon = _number("Lamb", "epsilon", epsilon, optional=False)

    def core_transform(self, hp):
        return optax.chain(
            optax.scale_by_adam(self.beta_1, self.beta_2, hp["epsilon"], eps_root=0.0),
            optax.scale_by_trust_ratio(),
            optax.scale_by_learning_rate(hp["learning_rate"]),
        )


class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern, arXiv:1804.04235) as Keras configures it.

    ``optax.scale_by_factored_rms`` (every weight with 2+ axes factored) ->
    ``clip_by_block_rms(clip_threshold)`` -> ``scale_by_param_block_rms(epsilon_2)`` ->
    ``-min(lr, 1/sqrt(t))``. Keras factors a tensor's last two axes and optax its two
    largest: they agree for matrices and for kernels whose last two axes are the largest
    (such as ``HWIO`` convolution kernels), and differ slightly otherwise.

    Args:
        learning_rate: float or schedule; capped by ``1/sqrt(t)``.
        beta_2_decay: the second-moment decay is ``1 - t ** beta_2_decay``.
        epsilon_1: added to squared gradients.
        epsilon_2: the least weight RMS used to scale the step.
        clip_threshold: the update RMS clip.
        relative_step: kept for Keras compatibility: Keras caps the step size by
            ``1/sqrt(t)`` whether or not it is set.
        **kwargs: the base options of :class:`Optimizer`.

    Example:
        >>> Adafactor().get_config()["beta_2_decay"]
        -0.8
    """

    _hyperparameters = ("beta_2_decay", "epsilon_1", "epsilon_2", "clip_threshold")

    def __init__(
        self,
        learning_rate=0.001,
        beta_2_decay=-0.8,
        epsilon_1=1e-30,
        epsilon_2=1e-3,
        clip_threshold=1.0,
        relative_step=True,
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_2_decay = _number(
            "Adafactor", "beta_2_decay", beta_2_decay, minimum=float("-inf"), optional=False
        )
        self.epsilon_1 = _number("Adafactor", "epsilon_1", epsilon_1, optional=False)
        self.epsilon_2 = _number("Adafactor", "epsilon_2", epsilon_2, optional=False)
        self.clip_threshold = _number(
            "Adafactor", "clip_threshold", clip_threshold, strict=True, optional=False
        )
        self.relative_step = bool(relative_step)

    def core_transform(self, hp):
        return optax.chain(
            optax.scale_by_factored_rms(
                factored=True,
                decay_rate=-hp["beta_2_decay"],
                min_dim_size_to_factor=0,
                epsilon=hp["epsilon_1"],
            ),
            optax.clip_by_block_rms(hp["clip_threshold"]),
            optax.scale_by_param_block_rms(hp["epsilon_2"]),
            _transforms.scale_by_relative_step(hp["learning_rate"]),
        )
