"""Quantization configs (``keras.quantizers.Int8QuantizationConfig`` ...) and the
Keras-format ``serialize``/``deserialize``/``get`` of quantizers and configs."""

from __future__ import annotations

import re
from typing import Any

from kerax._serialization import class_config, find_class
from kerax.quantizers._quantizers import AbsMaxQuantizer, Quantizer


class QuantizationConfig:
    """Base class of quantization configs: the weight and activation quantizers a
    ``quantize(mode, config=...)`` call uses (``None``: the layer's default).

    Args:
        weight_quantizer: quantizes the layer's weight.
        activation_quantizer: quantizes the inputs in each call (``None``: weight-only).
    """

    def __init__(self, weight_quantizer: Any = None, activation_quantizer: Any = None):
        self.weight_quantizer = weight_quantizer
        self.activation_quantizer = activation_quantizer

    @property
    def mode(self) -> str:
        raise NotImplementedError(
            "QuantizationConfig is a base class: Do not instantiate QuantizationConfig "
            "directly; use Int8QuantizationConfig, GPTQConfig, ... (or a subclass that "
            "defines `mode`)."
        )

    def get_config(self) -> dict:
        return {
            "weight_quantizer": serialize(self.weight_quantizer),
            "activation_quantizer": serialize(self.activation_quantizer),
        }

    @classmethod
    def from_config(cls, config: dict) -> QuantizationConfig:
        return cls(
            weight_quantizer=deserialize(config.get("weight_quantizer")),
            activation_quantizer=deserialize(config.get("activation_quantizer")),
        )

    @staticmethod
    def weight_quantizer_or_default(config: Any, default: Any) -> Any:
        if config is not None and config.weight_quantizer is not None:
            return config.weight_quantizer
        return default

    @staticmethod
    def activation_quantizer_or_default(config: Any, default: Any) -> Any:
        return default if config is None else config.activation_quantizer

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.get_config()})"


class Int8QuantizationConfig(QuantizationConfig):
    """int8 weights, and by default int8 inputs (an ``AbsMaxQuantizer`` over the last
    axis): ``activation_quantizer=None`` quantizes the weights only.

    Raises:
        ValueError: a weight quantizer whose ``output_dtype`` is not int8.
    """

    def __init__(self, weight_quantizer: Any = None, activation_quantizer: Any = "default"):
        if isinstance(activation_quantizer, str) and activation_quantizer == "default":
            activation_quantizer = AbsMaxQuantizer()
        super().__init__(weight_quantizer, activation_quantizer)
        out = getattr(weight_quantizer, "output_dtype", "int8")
        if out != "int8":
            raise ValueError(
                "Int8QuantizationConfig needs a weight_quantizer with output_dtype='int8'. "
                f"Received: output_dtype={out!r}"
            )

    @property
    def mode(self) -> str:
        return "int8"


class Int4QuantizationConfig(QuantizationConfig):
    """int4 weights, two per byte; by default weight-only (no activation quantizer).

    Args:
        block_size: input rows per group, each group with its own scale and zero point
            per output channel (default 128); ``None`` or -1: one symmetric scale per
            output channel (the only layout that takes custom quantizers).
    """

    def __init__(
        self,
        weight_quantizer: Any = None,
        activation_quantizer: Any = "default",
        block_size: int | None = 128,
    ):
        if isinstance(activation_quantizer, str) and activation_quantizer == "default":
            activation_quantizer = None
        super().__init__(weight_quantizer, activation_quantizer)
        if block_size is not None and block_size != -1 and block_size <= 0:
            raise ValueError(
                "block_size must be None, -1 (per channel) or a positive integer. "
                f"Received: block_size={block_size}"
            )
        self.block_size = block_size
        if block_size is not None and block_size > 0 and (weight_quantizer or activation_quantizer):
            raise ValueError(
                "Int4 sub-channel quantization (block_size > 0) takes no custom quantizers. "
                "Set block_size to None or -1 (per channel), or remove the quantizers. "
                f"Received: block_size={block_size}"
            )
        value_range = getattr(weight_quantizer, "value_range", (-8, 7))
        if tuple(value_range) != (-8, 7):
            raise ValueError(
                "Int4QuantizationConfig needs a weight_quantizer with value_range=(-8, 7). "
                f"Received: value_range={value_range}"
            )

    @property
    def mode(self) -> str:
        return "int4"

    def get_config(self) -> dict:
        return {**super().get_config(), "block_size": self.block_size}

    @classmethod
    def from_config(cls, config: dict) -> Int4QuantizationConfig:
        return cls(
            weight_quantizer=deserialize(config.get("weight_quantizer")),
            activation_quantizer=deserialize(config.get("activation_quantizer")),
            block_size=config.get("block_size"),
        )


class Float8QuantizationConfig(QuantizationConfig):
    """float8 training (fp8 delayed scaling, ``kerax.layers._float8``): no custom
    quantizers; the history length comes from the layer's
    ``QuantizedFloat8DTypePolicy`` (default 1024)."""

    def __init__(self):
        super().__init__(None, None)

    @property
    def mode(self) -> str:
        return "float8"

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> Float8QuantizationConfig:
        return cls()


_OBJECTS = {
    c.__name__: c
    for c in (
        Quantizer,
        AbsMaxQuantizer,
        QuantizationConfig,
        Int8QuantizationConfig,
        Int4QuantizationConfig,
        Float8QuantizationConfig,
    )
}
_OBJECTS.update({re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): v for k, v in _OBJECTS.items()})


def serialize(initializer: Any) -> dict | None:
    """A quantizer's or config's dict in Keras's format (``None`` stays ``None``); the
    argument's name is Keras's."""
    obj = initializer
    if obj is None:
        return None
    if not hasattr(obj, "get_config"):
        raise TypeError(
            "keras.quantizers.serialize expects a Quantizer or QuantizationConfig. "
            f"Received: {obj!r} (of type {type(obj).__name__})"
        )
    return class_config(obj, "keras.quantizers", _OBJECTS)


def deserialize(config: Any, custom_objects: dict | None = None) -> Any:
    """A quantizer or config from :func:`serialize`'s dict (``None`` stays ``None``).

    Raises:
        ValueError: an unknown class name, or a config that is not such a dict.
    """
    if config is None:
        return None
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "keras.quantizers.deserialize expects a dict such as {'class_name': "
            f"'AbsMaxQuantizer', 'config': {{...}}}}. Received: {config!r}"
        )
    name = config["class_name"]
    cls = find_class(config, custom_objects, _OBJECTS)
    if cls is None:
        raise ValueError(
            f"Unknown quantizer or quantization config {name!r}. Known: "
            f"{sorted(k for k in _OBJECTS if k[0].isupper())}; pass custom classes in "
            "custom_objects."
        )
    inner = dict(config.get("config") or {})
    if cls is AbsMaxQuantizer or (isinstance(cls, type) and issubclass(cls, AbsMaxQuantizer)):
        for key in ("value_range", "axis"):
            if isinstance(inner.get(key), list):
                inner[key] = tuple(inner[key])
    return cls.from_config(inner)


def get(identifier: Any, **kwargs: Any) -> Any:
    """A quantizer or config from ``None``, a dict, a class name (instantiated with
    ``kwargs``) or an object.

    Raises:
        ValueError: for anything else.
    """
    if identifier is None:
        return None
    obj = identifier
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = _OBJECTS.get(identifier)
    if isinstance(obj, type):
        return obj(**kwargs)
    if obj is None or not callable(obj) and not isinstance(obj, QuantizationConfig):
        raise ValueError(
            f"Could not interpret quantizer identifier: {identifier!r}. Expected a "
            f"name such as 'AbsMaxQuantizer', a config dict or a quantizer."
        )
    return obj


def resolve(mode: Any, config: Any) -> QuantizationConfig:
    """The config a ``quantize(mode, config)`` call means (as Keras resolves it).

    Raises:
        ValueError: an unknown mode, neither given, a config that is not a
            ``QuantizationConfig``, or a mode that contradicts the config's.
    """
    from kerax.mixed_precision import QUANTIZATION_MODES

    if isinstance(config, str):
        mode, config = config, None
    if mode is not None and mode not in QUANTIZATION_MODES:
        raise ValueError(
            f"Invalid quantization mode. Expected one of {QUANTIZATION_MODES}. "
            f"Received: mode={mode!r}"
        )
    if config is None:
        if mode is None:
            raise ValueError(
                "quantize() needs a `mode` (e.g. 'int8') or a `config` "
                "(e.g. keras.quantizers.Int8QuantizationConfig())."
            )
        defaults = {
            "int8": Int8QuantizationConfig,
            "int4": Int4QuantizationConfig,
            "float8": Float8QuantizationConfig,
        }
        if mode in ("gptq", "awq"):
            name = {"gptq": "a `GPTQ", "awq": "an `AWQ"}[mode]
            raise ValueError(
                f"For {mode.upper()}, you must pass {name}Config` object in the `config` argument."
            )
        config = defaults[mode]()
    elif not isinstance(config, QuantizationConfig):
        raise ValueError(
            "Argument `config` must be a keras.quantizers.QuantizationConfig. "
            f"Received: config={config!r} (of type {type(config).__name__})"
        )
    if mode is not None and config.mode != mode:
        raise ValueError(f"Contradictory arguments: mode={mode!r} but config.mode={config.mode!r}.")
    needed = {"gptq": GPTQConfig, "awq": AWQConfig}.get(config.mode)
    if needed is not None and not isinstance(config, needed):
        raise ValueError(
            f"Mode '{config.mode}' requires a valid `config` argument of type "
            f"`{needed.__name__}`. Received: {type(config)}"
        )
    return config


# Registered last: GPTQConfig subclasses QuantizationConfig (the package imports this
# module first, so the import below finds this module complete).
from kerax.quantizers._gptq_config import AWQConfig, GPTQConfig  # noqa: E402

# As Keras's: AWQConfig has a snake-case name too, GPTQConfig not.
_OBJECTS.update({"GPTQConfig": GPTQConfig, "AWQConfig": AWQConfig, "awq_config": AWQConfig})
