"""``model.quantize("gptq", config=GPTQConfig(...))`` and ``"awq"``: GPTQ or AWQ block by
block, as Keras 3.15 (``keras.src.quantizers.gptq_core``, ``awq_core``).

The calibration data become ``num_samples`` windows of ``sequence_length`` tokens
(:func:`get_dataloader`), run through the structure's ``pre_block_layers``. Then, for
each of the ``sequential_blocks`` in turn, the block runs on every window (one at a
time, eagerly) while each of its Dense and EinsumDense layers records its inputs into a
Hessian estimate (AWQ: their largest magnitudes); each such layer is then quantized
(``kerax.quantizers._gptq``, ``_awq``), and the quantized block's outputs (the first of
each batch, as Keras) feed the next block.
"""

from __future__ import annotations

import contextlib
import functools
import math
import re
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax.quantizers import _awq, _gptq


def get_dataloader(
    tokenizer: Any,
    sequence_length: int,
    dataset: Any,
    num_samples: int = 128,
    *,
    strategy: str = "strided",
    seed: int = 42,
    stride: int | None = None,
    eos_id: int | None = None,
) -> np.ndarray:
    """Calibration windows from a dataset of strings or token arrays (Keras's sampling).

    All tokens are joined (strings tokenized with ``tokenizer.tokenize``, an
    ``eos_id`` between documents when given), repeated to at least ``num_samples *
    sequence_length``, and windows taken at strided (offset from ``hash(("gptq-calib",
    seed))``, as Keras), evenly spaced ("linspace") or random starts.

    Returns:
        int32 ``(num_samples, 1, sequence_length)``.

    Raises:
        TypeError: ``dataset`` is not an iterable (or is a string).
        ValueError: an empty dataset, too few tokens, or an unknown strategy.
    """
    if not hasattr(dataset, "__iter__") or isinstance(dataset, (str, bytes)):
        raise TypeError(
            "The `dataset` argument must be an iterable (e.g., a list of strings, a "
            f"generator, or a NumPy array). Got type: {type(dataset).__name__}. Please pass "
            "the loaded dataset directly."
        )
    items = list(dataset)
    if not items:
        raise ValueError("Provided dataset is empty.")
    pieces = []
    if isinstance(items[0], str):
        if not hasattr(tokenizer, "tokenize"):
            raise AttributeError(
                "GPTQ tokenizes string datasets with `tokenizer.tokenize(text)`; the "
                f"tokenizer has no `tokenize` method. Received: tokenizer={tokenizer!r}"
            )
        for i, text in enumerate(items):
            pieces.append(np.asarray(tokenizer.tokenize(text)).reshape(-1))
            if eos_id is not None and i < len(items) - 1:
                pieces.append(np.array([eos_id], dtype=np.int32))
    else:
        pieces = [np.asarray(s).reshape(-1).astype(np.int32, copy=False) for s in items]
    tokens = np.concatenate(pieces, axis=0).astype(np.int32, copy=False)
    needed = num_samples * sequence_length
    if tokens.size < needed:
        tokens = np.tile(tokens, math.ceil(needed / max(1, tokens.size)))
    max_start = tokens.size - sequence_length
    if max_start < 0:
        raise ValueError(
            f"Not enough tokens to form one sample of length {sequence_length} "
            f"(have {tokens.size})."
        )
    if strategy == "random":
        starts = np.random.default_rng(seed).integers(
            0, max_start + 1, size=num_samples, dtype=np.int64
        )
    elif strategy == "linspace":
        starts = np.linspace(0, max_start, num_samples, dtype=np.int64)
    elif strategy == "strided":
        stride = max(1, (max_start + 1) // num_samples) if stride is None else stride
        offset = abs(hash(("gptq-calib", seed))) % (max_start + 1) if max_start > 0 else 0
        starts = (offset + np.arange(num_samples, dtype=np.int64) * stride) % (max_start + 1)
    else:
        raise ValueError(
            f"Unknown strategy: {strategy}. Expected 'strided', 'linspace' or 'random'."
        )
    windows = np.lib.stride_tricks.sliding_window_view(tokens, sequence_length)
    return windows[starts].astype(np.int32)[:, None, :]


def should_quantize_layer(layer: Any, filters: Any) -> bool:
    """Whether ``filters`` (a regex, a list of them, a callable or None) selects ``layer``."""
    if filters is None:
        return True
    if isinstance(filters, str):
        return bool(re.search(filters, layer.name))
    if isinstance(filters, (list, tuple)):
        return any(re.search(p, layer.name) for p in filters)
    return bool(filters(layer)) if callable(filters) else True


def find_layers_in_block(block: Any) -> dict:
    """The leaf Dense and EinsumDense layers of ``block`` (itself included), by path."""
    return {
        sub.path: sub
        for sub in block._flat_layers()
        if not sub._layers and getattr(sub, "_gptq_supported", False)
    }


@contextlib.contextmanager
def _recording(layers: dict, estimates: dict):
    """Each layer's ``call`` records its inputs into its Hessian estimate meanwhile."""

    def hook(name, call):
        @functools.wraps(call)
        def recorded(*args, **kwargs):
            x = args[0] if args else kwargs["inputs"]
            if isinstance(x, jax.core.Tracer):
                raise RuntimeError(
                    f"GPTQ calibration needs eager calls, but layer '{name}' was traced "
                    "(jit). Run the blocks without jit (e.g. no `jit_compile` wrapper)."
                )
            estimates[name].update(jnp.reshape(x, (-1, estimates[name].rows)))
            return call(*args, **kwargs)

        return recorded

    try:
        for name, layer in layers.items():
            layer.call = hook(name, layer.call)
        yield
    finally:
        for layer in layers.values():
            layer.__dict__.pop("call", None)


def _batched(x: Any) -> Any:
    return jnp.expand_dims(x, 0) if x.ndim == 2 else x


def _quantized_arrays(layer: Any, statistics: Any, config: Any) -> dict:
    """The layer's quantized weights by role, from its calibration statistics."""
    w = layer._gptq_float_matrix()  # (rows, columns)
    if config.mode == "awq":
        arrays = _awq.quantize_matrix(w.T, statistics.magnitudes, config)
    else:
        h = statistics.damped(config.hessian_damping)
        q, scale, zero, g_idx = _gptq.quantize_matrix(w.T, h, config, layer.variable_dtype)
        arrays = {"weight": q, "scale": scale, "zero": zero, "g_idx": g_idx}
    arrays["weight"] = _gptq.stored_kernel(arrays["weight"], config.weight_bits)
    return arrays


def apply_gptq_layerwise(data: Any, config: Any, structure: dict, filters: Any = None) -> None:
    """Quantize the blocks of ``structure`` in turn with GPTQ or AWQ (``config``'s mode;
    see the module docstring).

    Raises:
        ValueError: no ``sequential_blocks``, or a selected layer with LoRA enabled.
    """
    pre_layers = structure.get("pre_block_layers", [])
    blocks = structure.get("sequential_blocks", [])
    if not blocks:
        where = "the provided" if config.mode == "gptq" else "the"
        raise ValueError(f"No sequential blocks found in {where} structure to quantize.")
    inputs = []
    for batch in data:
        x = jnp.asarray(batch, "int32")
        for layer in pre_layers:
            x = layer(x)
        inputs.append(x)
    count = min(config.num_samples, len(inputs))
    for index, block in enumerate(blocks):
        found = find_layers_in_block(block).items()
        layers = {name: layer for name, layer in found if should_quantize_layer(layer, filters)}
        for layer in layers.values():
            if layer.__dict__.get("lora_enabled") or layer.quantization_mode is not None:
                raise ValueError(
                    f"{config.mode.upper()} quantizes float layers without LoRA; layer "
                    f"'{layer.name}' has "
                    f"dtype_policy='{layer.dtype_policy.name}' and lora_enabled="
                    f"{bool(layer.__dict__.get('lora_enabled'))}. Exclude it with `filters`."
                )
        statistics = _awq.ActivationMax if config.mode == "awq" else _gptq.HessianEstimate
        estimates = {
            name: statistics(layer._gptq_float_matrix().shape[0]) for name, layer in layers.items()
        }
        with _recording(layers, estimates):
            for x in inputs[:count]:
                block(_batched(x))
        for name, layer in layers.items():
            arrays = _quantized_arrays(layer, estimates.pop(name), config)
            layer._gptq_calibrated(arrays, config)
        if index < len(blocks) - 1:
            inputs = [block(_batched(x))[0] for x in inputs[:count]]


def gptq_quantize(model: Any, config: Any, filters: Any = None) -> bool:
    """Quantize ``model`` with GPTQ or AWQ (``model.quantize("gptq" or "awq",
    config=...)``).

    Returns:
        Whether a layer was quantized.

    Raises:
        ValueError: no structure (neither ``config.quantization_layer_structure`` nor
            ``model.get_quantization_layer_structure(mode)``), no dataset or tokenizer,
            or what :func:`apply_gptq_layerwise` raises.
    """
    mode = config.mode
    structure = config.quantization_layer_structure
    if structure is None:
        structure = model.get_quantization_layer_structure(mode)
    if structure is None:
        raise ValueError(
            f"For mode='{mode}', a valid quantization structure must be provided either via "
            "`config.quantization_layer_structure` or by overriding "
            "`model.get_quantization_layer_structure(mode)`. The structure should be a "
            "dictionary with keys 'pre_block_layers' and 'sequential_blocks'."
        )
    if config.dataset is None or config.tokenizer is None:
        raise ValueError(
            "GPTQ quantization requires a dataset and a tokenizer. Please provide them in "
            "the `GPTQConfig`."
            if mode == "gptq"
            else "AWQ quantization requires a dataset and tokenizer. Please provide them in "
            "the AWQConfig."
        )
    data = get_dataloader(
        config.tokenizer, config.sequence_length, config.dataset, config.num_samples
    )
    before = [layer.quantization_mode for layer in model._flat_layers()]
    apply_gptq_layerwise(data[: config.num_samples], config, structure, filters)
    return before != [layer.quantization_mode for layer in model._flat_layers()]
