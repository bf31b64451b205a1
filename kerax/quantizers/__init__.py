"""Quantizers and quantization configs under Keras's ``keras.quantizers`` names.

``model.quantize("int8")`` or ``"int4"`` (or ``layer.quantize(...)``) turns the weights
of ``Dense``, ``EinsumDense`` and ``Embedding`` layers into integers with float scales,
as Keras 3 does; see :mod:`kerax.layers._quantize`. ``"float8"`` trains ``Dense`` and
``EinsumDense`` in float8 (:mod:`kerax.layers._float8`), and ``"gptq"`` / ``"awq"``
(with a :class:`GPTQConfig` / :class:`AWQConfig` and calibration data) quantizes them
with GPTQ or AWQ (:mod:`kerax.quantizers._gptq_core`).

Example:
    >>> import numpy as np
    >>> import kerax as keras
    >>> q, scale = keras.quantizers.abs_max_quantize(np.array([1.0, -0.5], "float32"), axis=0)
    >>> q.tolist()
    [127, -63]
"""

from kerax.quantizers._config import (
    Float8QuantizationConfig,
    Int4QuantizationConfig,
    Int8QuantizationConfig,
    QuantizationConfig,
    deserialize,
    get,
    serialize,
)
from kerax.quantizers._gptq_config import AWQConfig, GPTQConfig
from kerax.quantizers._quantizers import (
    AbsMaxQuantizer,
    Quantizer,
    abs_max_quantize,
    abs_max_quantize_grouped_with_zero_point,
    compute_float8_amax_history,
    compute_float8_scale,
    fake_quant_with_min_max_vars,
    pack_int4,
    quantize_and_dequantize,
    unpack_int4,
)

__all__ = [
    "AWQConfig",
    "AbsMaxQuantizer",
    "Float8QuantizationConfig",
    "GPTQConfig",
    "Int4QuantizationConfig",
    "Int8QuantizationConfig",
    "QuantizationConfig",
    "Quantizer",
    "abs_max_quantize",
    "abs_max_quantize_grouped_with_zero_point",
    "compute_float8_amax_history",
    "compute_float8_scale",
    "deserialize",
    "fake_quant_with_min_max_vars",
    "get",
    "pack_int4",
    "quantize_and_dequantize",
    "serialize",
    "unpack_int4",
]
