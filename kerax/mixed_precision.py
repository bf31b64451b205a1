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

from kerax import config

_MIXED = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}
# Keras's quantization modes: a policy named "<mode>_from_<source>" quantizes weights.
QUANTIZATION_MODES = ("int8", "float8", "int4", "gptq", "awq")
_global_policy: DTypePolicy | None = None


def _parse_name(name: str) -> tuple[str, str]:
    """``(compute_dtype, variable_dtype)`` of a policy name."""
    if name in _MIXED:
        return _MIXED[name], "float32"
    from kerax.backend import standardize_dtype

    try:
        dtype = standardize_dtype(name)
    except ValueError:
        raise ValueError(
            f"Cannot convert {name!r} to a dtype policy. Valid policies are "
            f"{sorted(_MIXED)} and the name of a dtype, such as 'float32' or 'bfloat16'."
        ) from None
    return dtype, dtype


class DTypePolicy:
    """A layer's compute and variable dtypes (``keras.dtype_policies.DTypePolicy``).

    Args:
        name: ``"float32"``, ``"bfloat16"``, ... (both dtypes the same), or
            ``"mixed_float16"`` / ``"mixed_bfloat16"`` (float32 variables). ``None``
            takes the global policy's name.

    Raises:
        TypeError: if ``name`` is not a string.
        ValueError: for a name that is neither a dtype nor a mixed policy.

    Example:
        >>> policy = DTypePolicy("mixed_bfloat16")
        >>> policy.compute_dtype, policy.variable_dtype
        ('bfloat16', 'float32')
    """

    def __init__(self, name: str | None = None):
        if name is None:
            name = global_policy().name
        if not isinstance(name, str):
            raise TypeError(
                "A dtype policy name must be a string, such as 'mixed_float16' or "
                f"'float32'. Received: name={name!r} (of type {type(name).__name__})"
            )
        if _is_quantized_name(name):
            raise _quantization_error(name)
        self._name = name
        self._compute_dtype, self._variable_dtype = _parse_name(name)

    @property
    def name(self) -> str:
        """The policy's name (``"mixed_float16"``, ``"float32"``, ...)."""
        return self._name

    @property
    def compute_dtype(self) -> str:
        """The dtype inputs and weights are cast to inside ``call``."""
        return self._compute_dtype

    @property
    def variable_dtype(self) -> str:
        """The dtype variables are created and kept in."""
        return self._variable_dtype

    @property
    def quantization_mode(self) -> None:
        """Always ``None``: kerax does not quantize."""
        return None

    def get_config(self) -> dict:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> DTypePolicy:
        return cls(**config)

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self.name}">'

    def __eq__(self, other: Any) -> bool:
        # As Keras: DTypePolicy and FloatDTypePolicy of one name are equal.
        plain = (DTypePolicy, FloatDTypePolicy)
        if type(self) in plain:
            same_kind = type(other) in plain
        else:
            same_kind = type(other) is type(self)
        return same_kind and self.name == other.name

    def __hash__(self) -> int:
        return hash(self.name)


class FloatDTypePolicy(DTypePolicy):
    """An alias of :class:`DTypePolicy` (Keras keeps the name for old configs)."""


def _is_quantized_name(name: str) -> bool:
    return name.startswith(QUANTIZATION_MODES) and "_from_" in name


def _quantization_error(what: str) -> NotImplementedError:
    return NotImplementedError(
        f"kerax does not support quantization, so it cannot use the quantized dtype "
        f"policy {what}. Use a float policy instead, such as 'float32', 'bfloat16' or "
        "'mixed_bfloat16' (a model quantized in Keras must be dequantized there first)."
    )


class _Unsupported(DTypePolicy):
    """Keras's quantized policies: the names exist, construction raises."""

    def __init__(self, *args: Any, **kwargs: Any):
        raise _quantization_error(f"{type(self).__name__}{args or ''}")


class QuantizedDTypePolicy(_Unsupported):
    """Unsupported in kerax: constructing one raises ``NotImplementedError``."""


class QuantizedFloat8DTypePolicy(QuantizedDTypePolicy):
    """Unsupported in kerax: constructing one raises ``NotImplementedError``."""


class Int4DTypePolicy(QuantizedDTypePolicy):
    """Unsupported in kerax: constructing one raises ``NotImplementedError``."""


class GPTQDTypePolicy(QuantizedDTypePolicy):
    """Unsupported in kerax: constructing one raises ``NotImplementedError``."""


class AWQDTypePolicy(QuantizedDTypePolicy):
    """Unsupported in kerax: constructing one raises ``NotImplementedError``."""


class DTypePolicyMap(DTypePolicy):
    """Unsupported in kerax: constructing one raises ``NotImplementedError``.

    Keras resolves a map of layer paths to policies inside each layer (for quantized
    sub-layers); kerax has no quantization and its layers take one policy each.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        raise NotImplementedError(
            "kerax does not support DTypePolicyMap (policies per layer path, which Keras "
            "uses for quantized sub-layers): kerax layers take one dtype policy each. "
            "Pass a policy or its name to each layer's `dtype=` argument instead, e.g. "
            "keras.layers.Dense(4, dtype='mixed_bfloat16')."
        )


_CLASSES = {
    cls.__name__: cls
    for cls in (
        DTypePolicy,
        FloatDTypePolicy,
        QuantizedDTypePolicy,
        QuantizedFloat8DTypePolicy,
        Int4DTypePolicy,
        GPTQDTypePolicy,
        AWQDTypePolicy,
        DTypePolicyMap,
    )
}


def serialize(policy: DTypePolicy) -> dict:
    """A policy's config in Keras's format (``{"module": "keras", "class_name": ...}``).

    Raises:
        TypeError: if ``policy`` is not a :class:`DTypePolicy`.
    """
    if not isinstance(policy, DTypePolicy):
        raise TypeError(
            "keras.dtype_policies.serialize expects a DTypePolicy. Received: "
            f"{policy!r} (of type {type(policy).__name__}). Use "
            "keras.dtype_policies.get(...) to make one from a name."
        )
    cls = type(policy)
    builtin = _CLASSES.get(cls.__name__) is cls
    return {
        "module": "keras" if builtin else cls.__module__,
        "class_name": cls.__name__,
        "config": policy.get_config(),
        "registered_name": None if builtin else cls.__name__,
    }


def deserialize(config: Any, custom_objects: dict | None = None) -> DTypePolicy:
    """A policy from :func:`serialize`'s dict (Keras's format), a bare ``{"name": ...}``
    config or a policy name.

    Raises:
        NotImplementedError: for Keras's quantized policies and DTypePolicyMap.
        ValueError: for an unknown class name or a config that is not a dict.
    """
    if isinstance(config, (str, DTypePolicy)):
        return get(config)
    if not isinstance(config, dict):
        raise ValueError(
            "keras.dtype_policies.deserialize expects a dict such as {'class_name': "
            f"'DTypePolicy', 'config': {{'name': 'float32'}}}}. Received: {config!r}"
        )
    if "class_name" not in config:
        return DTypePolicy(**config)
    name = config["class_name"]
    inner = config.get("config") or {}
    cls = (custom_objects or {}).get(name) or _CLASSES.get(name)
    if cls is None:
        raise ValueError(
            f"Unknown dtype policy class {name!r}. Known: {sorted(_CLASSES)}; pass a "
            "custom policy class in `custom_objects={name: cls}`."
        )
    if issubclass(cls, QuantizedDTypePolicy):
        raise _quantization_error(f"{name}({inner})")
    return cls.from_config(inner)


def get(identifier: Any) -> DTypePolicy:
    """A policy from ``None`` (the global one), a name, a Keras config dict, a dtype or a
    policy.

    Raises:
        NotImplementedError: for a quantized policy name (``"int8_from_float32"``).
        ValueError: for anything else that is not a policy.
    """
    if identifier is None:
        return global_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return DTypePolicy(identifier)
    from kerax.backend import standardize_dtype

    try:
        return DTypePolicy(standardize_dtype(identifier))
    except (TypeError, ValueError) as e:
        raise ValueError(
            "Cannot interpret `dtype` as a dtype policy. Expected a policy name such as "
            "'float32' or 'mixed_bfloat16', a dtype, or a DTypePolicy. Received: "
            f"dtype={identifier!r} (of type {type(identifier).__name__})"
        ) from e


def set_global_policy(policy: Any) -> None:
    """Set the policy of layers created from now on (``None`` resets to floatx)."""
    global _global_policy
    _global_policy = None if policy is None else get(policy)


def global_policy() -> DTypePolicy:
    """The policy new layers get when they are not given a dtype."""
    return _global_policy or DTypePolicy(config.floatx())


set_dtype_policy = set_global_policy
dtype_policy = global_policy
Policy = DTypePolicy  # keras.mixed_precision.Policy


def __getattr__(name: str) -> Any:
    # keras.mixed_precision.LossScaleOptimizer; imported lazily because layers import
    # this module and the optimizers import layers' dependencies.
    if name == "LossScaleOptimizer":
        from kerax.optimizers.loss_scale import LossScaleOptimizer

        return LossScaleOptimizer
    raise AttributeError(f"module 'kerax.mixed_precision' has no attribute '{name}'")


__all__ = [
    "DTypePolicy",
    "Policy",
    "dtype_policy",
    "get",
    "global_policy",
    "set_dtype_policy",
    "set_global_policy",
]
