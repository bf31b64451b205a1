"""``keras.quantizers.GPTQConfig`` and ``AWQConfig``: the settings of GPTQ and AWQ
post-training quantization (``model.quantize("gptq" or "awq", config=...)``, see
:mod:`kerax.quantizers._gptq_core`)."""

from __future__ import annotations

from typing import Any

from kerax.quantizers._config import QuantizationConfig


class GPTQConfig(QuantizationConfig):
    """GPTQ quantization settings (Frantar et al. 2022, "GPTQ: Accurate Post-Training
    Quantization for Generative Pre-trained Transformers", https://arxiv.org/abs/2210.17323).

    Args:
        dataset: the calibration data: an iterable of strings (tokenized with
            ``tokenizer.tokenize``) or of integer token arrays.
        tokenizer: an object with a ``tokenize(text)`` method (required, as in Keras,
            even for token arrays).
        weight_bits: 2, 3, 4 (stored two per byte) or 8.
        num_samples: calibration windows of ``sequence_length`` tokens.
        per_channel: one scale per output channel (``False``: one per tensor).
        sequence_length: tokens per calibration window.
        hessian_damping: the fraction of the Hessian's mean diagonal added to it.
        group_size: input rows sharing a scale and zero point; -1: all of them.
        symmetric: a zero point at the middle of the range.
        activation_order: quantize the input rows by decreasing Hessian diagonal.
        quantization_layer_structure: ``{"pre_block_layers": [...],
            "sequential_blocks": [...]}``; default: ``model.get_quantization_layer_structure``.

    Raises:
        ValueError: an unsupported ``weight_bits``, a non-positive ``num_samples`` or
            ``sequence_length``, ``hessian_damping`` outside [0, 1], or a ``group_size``
            that is neither -1 nor positive.

    Example:
        >>> GPTQConfig(dataset=None, tokenizer=None, group_size=64).dtype_policy_string()
        'gptq/4/64'
    """

    def __init__(
        self,
        dataset: Any,
        tokenizer: Any,
        *,
        weight_bits: int = 4,
        num_samples: int = 128,
        per_channel: bool = True,
        sequence_length: int = 512,
        hessian_damping: float = 0.01,
        group_size: int = 128,
        symmetric: bool = False,
        activation_order: bool = False,
        quantization_layer_structure: dict | None = None,
    ):
        super().__init__()
        if weight_bits not in (2, 3, 4, 8):
            raise ValueError(
                f"Unsupported weight_bits {weight_bits}. Supported values are 2, 3, 4, and 8."
            )
        _check_counts(num_samples, sequence_length)
        if hessian_damping < 0 or hessian_damping > 1:
            raise ValueError(
                "hessian_damping must be between 0 and 1. Received: "
                f"hessian_damping={hessian_damping}"
            )
        if group_size < -1 or group_size == 0:
            raise ValueError(
                "Invalid group_size. Supported values are -1 (whole-tensor) or a positive "
                f"integer, but got {group_size}."
            )
        self.dataset = dataset
        self.tokenizer = tokenizer
        self.weight_bits = weight_bits
        self.num_samples = num_samples
        self.per_channel = per_channel
        self.sequence_length = sequence_length
        self.hessian_damping = hessian_damping
        self.group_size = group_size
        self.symmetric = symmetric
        self.activation_order = activation_order
        self.quantization_layer_structure = quantization_layer_structure

    @property
    def mode(self) -> str:
        return "gptq"

    def dtype_policy_string(self) -> str:
        """The quantized policy's mode, ``"gptq/<weight_bits>/<group_size>"``."""
        return f"gptq/{self.weight_bits}/{self.group_size}"

    def get_config(self) -> dict:
        # The data, tokenizer and layer structure serve the one calibration only. (Keras
        # writes the structure, whose layers it cannot serialize; kerax writes None.)
        return {
            "dataset": None,
            "tokenizer": None,
            "weight_bits": self.weight_bits,
            "num_samples": self.num_samples,
            "per_channel": self.per_channel,
            "sequence_length": self.sequence_length,
            "hessian_damping": self.hessian_damping,
            "group_size": self.group_size,
            "symmetric": self.symmetric,
            "activation_order": self.activation_order,
            "quantization_layer_structure": None,
        }

    @classmethod
    def from_config(cls, config: dict) -> GPTQConfig:
        return cls(**config)


class AWQConfig(QuantizationConfig):
    """AWQ quantization settings (Lin et al. 2023, "AWQ: Activation-aware Weight
    Quantization for LLM Compression and Acceleration", https://arxiv.org/abs/2306.00978):
    4-bit weights, each input channel scaled by a power of its largest calibration input
    (the power chosen on a grid) before quantizing.

    Args:
        dataset, tokenizer, num_samples, sequence_length, quantization_layer_structure:
            as :class:`GPTQConfig`'s.
        weight_bits: 4 (the only width AWQ takes).
        group_size: input rows sharing a scale and zero point; -1: all of them.
        num_grid_points: the powers tried are ``i / num_grid_points`` for ``i`` in
            ``0..num_grid_points``.

    Raises:
        ValueError: ``weight_bits`` other than 4, a non-positive ``num_samples``,
            ``sequence_length`` or ``num_grid_points``, or a ``group_size`` that is
            neither -1 nor positive.
    """

    def __init__(
        self,
        dataset: Any,
        tokenizer: Any,
        *,
        weight_bits: int = 4,
        num_samples: int = 128,
        sequence_length: int = 512,
        group_size: int = 128,
        num_grid_points: int = 20,
        quantization_layer_structure: dict | None = None,
    ):
        super().__init__()
        if weight_bits != 4:
            raise ValueError(
                f"AWQ only supports 4-bit quantization. Received weight_bits={weight_bits}."
            )
        _check_counts(num_samples, sequence_length)
        if group_size < -1 or group_size == 0:
            raise ValueError(
                "Invalid group_size. Supported values are -1 (per-channel) or a positive "
                f"integer, but got {group_size}."
            )
        if num_grid_points <= 0:
            raise ValueError(
                "num_grid_points must be a positive integer. Received: "
                f"num_grid_points={num_grid_points}"
            )
        self.dataset, self.tokenizer = dataset, tokenizer
        self.weight_bits, self.num_samples = weight_bits, num_samples
        self.sequence_length, self.group_size = sequence_length, group_size
        self.num_grid_points = num_grid_points
        self.quantization_layer_structure = quantization_layer_structure

    @property
    def mode(self) -> str:
        return "awq"

    def dtype_policy_string(self) -> str:
        """The quantized policy's mode, ``"awq/4/<group_size>"``."""
        return f"awq/{self.weight_bits}/{self.group_size}"

    def get_config(self) -> dict:
        return {
            "dataset": None,
            "tokenizer": None,
            "weight_bits": self.weight_bits,
            "num_samples": self.num_samples,
            "sequence_length": self.sequence_length,
            "group_size": self.group_size,
            "num_grid_points": self.num_grid_points,
            "quantization_layer_structure": None,
        }

    @classmethod
    def from_config(cls, config: dict) -> AWQConfig:
        return cls(**config)


def _check_counts(num_samples: int, sequence_length: int) -> None:
    if num_samples <= 0:
        raise ValueError(
            f"num_samples must be a positive integer. Received: num_samples={num_samples}"
        )
    if sequence_length <= 0:
        raise ValueError(
            "sequence_length must be a positive integer. Received: "
            f"sequence_length={sequence_length}"
        )
