"""Dtype policies (Keras names): compute in one dtype, keep variables in another.

``set_global_policy("mixed_bfloat16")`` makes new layers keep float32 weights and
compute in bfloat16: floating inputs and weights are cast to the compute dtype inside
``call``, gradients flow back to the float32 weights. ``"mixed_float16"`` does the same
in float16, where small gradients underflow: ``model.compile`` then wraps the optimizer
in :class:`kerax.optimizers.LossScaleOptimizer` (dynamic loss scaling), as Keras does;
``compile(..., auto_scale_loss=False)`` opts out.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kerax import config

_MIXED = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}
_global_policy: DTypePolicy | None = None


class DTypePolicy:
    """A layer's compute and variable dtypes.

    Args:
        name: ``"float32"``, ``"bfloat16"``, ... (both dtypes the same), or
            ``"mixed_float16"`` / ``"mixed_bfloat16"`` (float32 variables).
    """

    def __init__(self, name: str | None = None):
        name = name or config.floatx()
        if not isinstance(name, str):
            raise TypeError(f"A dtype policy name must be a string. Received: {name!r}")
        if name in _MIXED:
            self.compute_dtype, self.variable_dtype = _MIXED[name], "float32"
        else:
            try:
                dtype = jnp.dtype(name).name
            except TypeError as e:
                raise ValueError(
                    f"Unknown dtype policy {name!r}. Use a dtype name (float32, bfloat16, "
                    f"...) or one of {sorted(_MIXED)}."
                ) from e
            self.compute_dtype = self.variable_dtype = dtype
        self.name = name

    def get_config(self) -> dict:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> DTypePolicy:
        return cls(**config)

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self.name}">'


def get(identifier: Any) -> DTypePolicy:
    """A policy from ``None`` (the global one), a name, a Keras config dict or a policy."""
    if identifier is None:
        return global_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        return DTypePolicy(identifier.get("config", identifier).get("name"))
    if isinstance(identifier, str):
        return DTypePolicy(identifier)
    try:
        return DTypePolicy(jnp.dtype(identifier).name)
    except TypeError as e:
        raise TypeError(f"Cannot interpret {identifier!r} as a dtype policy.") from e


def set_global_policy(policy: Any) -> None:
    """Set the policy of layers created from now on (``None`` resets to floatx)."""
    global _global_policy
    _global_policy = None if policy is None else get(policy)


def global_policy() -> DTypePolicy:
    """The policy new layers get when they are not given a dtype."""
    return _global_policy or DTypePolicy(config.floatx())


set_dtype_policy = set_global_policy
dtype_policy = global_policy


def __getattr__(name: str) -> Any:
    # keras.mixed_precision.LossScaleOptimizer; imported lazily because layers import
    # this module and the optimizers import layers' dependencies.
    if name == "LossScaleOptimizer":
        from kerax.optimizers.loss_scale import LossScaleOptimizer

        return LossScaleOptimizer
    raise AttributeError(f"module 'kerax.mixed_precision' has no attribute '{name}'")


__all__ = [
    "DTypePolicy",
    "dtype_policy",
    "get",
    "global_policy",
    "set_dtype_policy",
    "set_global_policy",
]
