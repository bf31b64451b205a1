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
            raise ValueError(
                f"{name!r} is a quantized policy: make it with "
                "keras.dtype_policies.get(name) or QuantizedDTypePolicy(mode, source_name)."
            )
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
    def quantization_mode(self) -> str | None:
        """``None`` for a float policy; the mode (``"int8"``) for a quantized one."""
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


# What kerax's layers quantize to (layers/_quantize.py, _float8.py, _gptq.py): Keras's all.
_SUPPORTED_MODES = QUANTIZATION_MODES


class QuantizedDTypePolicy(DTypePolicy):
    """The policy of a quantized layer (``keras.dtype_policies.QuantizedDTypePolicy``):
    weights quantized with ``mode``, computation in the dtypes of ``source_name``.

    Its name is ``"<mode>_from_<source_name>"`` (``"int8_from_float32"``); a layer built
    with it creates quantized weights (``kerax.layers._quantize``).

    Args:
        mode: the quantization mode; kerax supports ``"int8"``, ``"int4"`` (one
            scale per output channel; :class:`Int4DTypePolicy` names a block size),
            ``"float8"`` (:class:`QuantizedFloat8DTypePolicy` names the history length)
            and ``"gptq"`` / ``"awq"`` (:class:`GPTQDTypePolicy`, :class:`AWQDTypePolicy`
            name their bits and group size).
        source_name: the float policy computation uses (default: the global one).

    Raises:
        ValueError: an unknown mode, or int8 with a float16 compute dtype (as Keras).

    Example:
        >>> policy = QuantizedDTypePolicy("int8", "mixed_bfloat16")
        >>> policy.name, policy.compute_dtype, policy.quantization_mode
        ('int8_from_mixed_bfloat16', 'bfloat16', 'int8')
    """

    def __init__(self, mode: str, source_name: str | None = None):
        if source_name is None:
            source_name = global_policy().name
        if mode not in QUANTIZATION_MODES:
            raise ValueError(
                f"Invalid quantization mode. Expected one of {QUANTIZATION_MODES}. "
                f"Received: mode={mode!r}"
            )
        self._compute_dtype, self._variable_dtype = _parse_name(source_name)
        if mode == "int8" and self._compute_dtype == "float16":
            raise ValueError(
                "Quantization mode 'int8' does not work well with compute_dtype "
                f"'float16' (as in Keras). Received: source_name={source_name!r}; use "
                "'float32', 'bfloat16' or 'mixed_bfloat16'."
            )
        self._name = f"{mode}_from_{source_name}"
        self._source_name = source_name
        self._quantization_mode = mode

    @property
    def quantization_mode(self) -> str:  # type: ignore[override]
        """The quantization mode (``"int8"``, ``"int4"``, ``"float8"``, ``"gptq"``, ``"awq"``)."""
        return self._quantization_mode

    def get_config(self) -> dict:
        return {"mode": self._quantization_mode, "source_name": self._source_name}

    def __repr__(self) -> str:
        return f'<QuantizedDTypePolicy "{self.name}">'


class QuantizedFloat8DTypePolicy(QuantizedDTypePolicy):
    """The policy of a float8-trained layer (``"float8_from_float32"``): the layer keeps
    its float weights and records ``amax_history_length`` recent magnitudes of its
    inputs, kernel and output gradients (see ``kerax.layers._float8``).

    Args:
        mode: ``"float8"``.
        source_name: the float policy computation uses (default: the global one).
        amax_history_length: the length of each magnitude history (Keras's default 1024).

    Raises:
        TypeError: a history length that is not an integer.

    Example:
        >>> policy = QuantizedFloat8DTypePolicy("float8", "float32", amax_history_length=16)
        >>> policy.name, policy.amax_history_length
        ('float8_from_float32', 16)
    """

    default_amax_history_length = 1024

    def __init__(
        self,
        mode: str,
        source_name: str | None = None,
        amax_history_length: int = default_amax_history_length,
    ):
        super().__init__(mode, source_name)
        if not isinstance(amax_history_length, int):
            raise TypeError(
                "`amax_history_length` must be an integer. "
                f"Received: amax_history_length={amax_history_length!r}"
            )
        self._amax_history_length = amax_history_length

    @property
    def amax_history_length(self) -> int:
        """How many recent magnitudes each float8 scale is computed from."""
        return self._amax_history_length

    def get_config(self) -> dict:
        return {**super().get_config(), "amax_history_length": self._amax_history_length}

    def __eq__(self, other: Any) -> bool:
        return super().__eq__(other) and self._amax_history_length == other._amax_history_length

    __hash__ = QuantizedDTypePolicy.__hash__

    def __repr__(self) -> str:
        return f'<QuantizedFloat8DTypePolicy "{self.name}">'


class Int4DTypePolicy(QuantizedDTypePolicy):
    """The policy of an int4 layer with its block size (``"int4/128_from_float32"``).

    Args:
        mode: ``"int4/<block_size>"``: -1 for one scale per output channel, a positive
            integer for a scale and zero point per group of that many input rows.
        source_name: the float policy computation uses (default: the global one).

    Raises:
        ValueError: a mode not of that form.
    """

    def __init__(self, mode: str, source_name: str | None = None):
        base, _, size = str(mode).partition("/")
        try:
            block_size = int(size)
        except ValueError:
            block_size = 0
        if base != "int4" or block_size < -1 or block_size == 0:
            raise ValueError(
                "Int4DTypePolicy takes mode='int4/<block_size>', with block_size -1 (per "
                f"channel) or a positive integer. Received: mode={mode!r}"
            )
        super().__init__("int4", source_name)
        self._name = f"{mode}_from_{self._source_name}"
        self.block_size = block_size

    def get_config(self) -> dict:
        return {"mode": f"int4/{self.block_size}", "source_name": self._source_name}

    def __repr__(self) -> str:
        return f'<Int4DTypePolicy "{self.name}">'


class _CalibratedPolicy(QuantizedDTypePolicy):
    """The policies of GPTQ and AWQ layers: ``"<mode>/<weight_bits>/<group_size>"``."""

    _mode, _bits, _bits_error, _one_group = "", (), "", ""

    def __init__(self, mode: str, source_name: str | None = None):
        cls, form = type(self).__name__, f"'{self._mode}/<weight_bits>/<group_size>'"
        parts = str(mode).split("/")
        if len(parts) != 3 or parts[0] != self._mode:
            raise ValueError(f"Invalid mode for {cls}. Expected format {form}, but got '{mode}'.")
        try:
            bits, group = int(parts[1]), int(parts[2])
        except ValueError:
            raise ValueError(
                f"Invalid mode for {cls}. <weight_bits> and <group_size> must be "
                f"integers. Expected format {form}, but got '{mode}'."
            ) from None
        if bits not in self._bits:
            raise ValueError(
                f"Invalid weight_bits in mode. {self._bits_error}{bits} from '{mode}'."
            )
        if group < -1 or group == 0:
            raise ValueError(
                f"Invalid group_size in mode. Supported values are -1 ({self._one_group}) or "
                f"a positive integer, but got {group} from '{mode}'."
            )
        super().__init__(self._mode, source_name)
        self._name = f"{mode}_from_{self._source_name}"
        self.weight_bits, self.group_size = bits, group

    def get_config(self) -> dict:
        mode = f"{self._mode}/{self.weight_bits}/{self.group_size}"
        return {"mode": mode, "source_name": self._source_name}

    def __eq__(self, other: Any) -> bool:
        return super().__eq__(other) and (self.weight_bits, self.group_size) == (
            other.weight_bits,
            other.group_size,
        )

    __hash__ = QuantizedDTypePolicy.__hash__

    def __repr__(self) -> str:
        return f'<{type(self).__name__} "{self.name}">'


class GPTQDTypePolicy(_CalibratedPolicy):
    """The policy of a GPTQ-quantized layer (``"gptq/4/128_from_float32"``), which a
    layer built with it (a loaded GPTQ model) takes its weights' layout from.

    Args:
        mode: ``"gptq/<weight_bits>/<group_size>"``: bits 2, 3, 4 or 8; group size -1
            (one group) or a positive integer.
        source_name: the float policy computation uses (default: the global one).

    Raises:
        ValueError: a mode not of that form.
    """

    _mode, _bits, _one_group = "gptq", (2, 3, 4, 8), "whole-tensor"
    _bits_error = "Supported values are 2, 3, 4, and 8, but got "


class AWQDTypePolicy(_CalibratedPolicy):
    """The policy of an AWQ-quantized layer (``"awq/4/128_from_float32"``).

    Args:
        mode: ``"awq/4/<group_size>"``: group size -1 (one group) or a positive integer.
        source_name: the float policy computation uses (default: the global one).

    Raises:
        ValueError: a mode not of that form.
    """

    _mode, _bits, _one_group = "awq", (4,), "per-channel"
    _bits_error = "AWQ only supports 4-bit quantization, but got "


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
    )
}


def _classes() -> dict:
    """Keras's policy classes by name (DTypePolicyMap imported here: it subclasses
    DTypePolicy, so its module imports this one)."""
    from kerax._dtype_policy_map import DTypePolicyMap

    return {**_CLASSES, "DTypePolicyMap": DTypePolicyMap}


def serialize(dtype_policy: DTypePolicy) -> dict:
    """A policy's config in Keras's format (``{"module": "keras", "class_name": ...}``).

    Raises:
        TypeError: if ``policy`` is not a :class:`DTypePolicy`.
    """
    policy = dtype_policy
    if not isinstance(policy, DTypePolicy):
        raise TypeError(
            "keras.dtype_policies.serialize expects a DTypePolicy. Received: "
            f"{policy!r} (of type {type(policy).__name__}). Use "
            "keras.dtype_policies.get(...) to make one from a name."
        )
    from kerax._serialization import class_config

    module = "keras" if type(policy) in (DTypePolicy, FloatDTypePolicy) else "keras.dtype_policies"
    return class_config(policy, module, _classes())


def deserialize(config: Any, custom_objects: dict | None = None) -> DTypePolicy:
    """A policy from :func:`serialize`'s dict (Keras's format), a bare ``{"name": ...}``
    config or a policy name.

    Raises:
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
    from kerax._serialization import find_class

    cls = find_class(config, custom_objects, _classes())
    if cls is None:
        raise ValueError(
            f"Unknown dtype policy class {name!r}. Known: {sorted(_classes())}; pass a "
            "custom policy class in `custom_objects={name: cls}`."
        )
    if name == "DTypePolicyMap":  # its entries may be custom policies
        return cls.from_config(inner, custom_objects)
    return cls.from_config(inner)


def get(identifier: Any) -> DTypePolicy:
    """A policy from ``None`` (the global one), a name, a Keras config dict, a dtype or a
    policy.

    Raises:
        ValueError: for anything else that is not a policy.
    """
    if identifier is None:
        return global_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if _is_quantized_name(identifier):
            mode, _, source = identifier.partition("_from_")
            if mode.startswith("int4/"):
                return Int4DTypePolicy(mode, source)
            if mode.startswith("gptq"):
                return GPTQDTypePolicy(mode, source)
            if mode.startswith("awq"):
                return AWQDTypePolicy(mode, source)
            if mode == "float8":
                return QuantizedFloat8DTypePolicy(mode, source)
            return QuantizedDTypePolicy(mode, source)
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
