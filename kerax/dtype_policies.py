"""Dtype policies under Keras's ``keras.dtype_policies`` names.

The classes and functions live in :mod:`kerax.mixed_precision`, the one home of dtype
policies that layers use: ``kerax.dtype_policies.DTypePolicy`` is
``kerax.mixed_precision.DTypePolicy``. The quantized policies of int8, int4, float8, GPTQ
and AWQ layers (``QuantizedDTypePolicy``, ``Int4DTypePolicy``,
``QuantizedFloat8DTypePolicy``, ``GPTQDTypePolicy``, ``AWQDTypePolicy``; names such as
``"int8_from_float32"`` or ``"gptq/4/128_from_float32"``) work as in Keras.
``DTypePolicyMap`` (policies by layer path, :mod:`kerax._dtype_policy_map`) works as in
Keras.

Example:
    >>> import kerax as keras
    >>> policy = keras.dtype_policies.get("mixed_bfloat16")
    >>> policy.compute_dtype, policy.variable_dtype
    ('bfloat16', 'float32')
    >>> keras.dtype_policies.serialize(policy)["config"]
    {'name': 'mixed_bfloat16'}
"""

from kerax._dtype_policy_map import DTypePolicyMap
from kerax.mixed_precision import (
    AWQDTypePolicy,
    DTypePolicy,
    FloatDTypePolicy,
    GPTQDTypePolicy,
    Int4DTypePolicy,
    QuantizedDTypePolicy,
    QuantizedFloat8DTypePolicy,
    deserialize,
    get,
    serialize,
)

__all__ = [
    "AWQDTypePolicy",
    "DTypePolicy",
    "DTypePolicyMap",
    "FloatDTypePolicy",
    "GPTQDTypePolicy",
    "Int4DTypePolicy",
    "QuantizedDTypePolicy",
    "QuantizedFloat8DTypePolicy",
    "deserialize",
    "get",
    "serialize",
]
