"""The GPTQ and AWQ modes of Dense and EinsumDense (Keras 3's ``model.quantize("gptq",
...)`` and ``"awq"``, driven by :mod:`kerax.quantizers._gptq_core`).

A calibrated layer holds, in place of its float ``kernel``, Keras's weights: ``kernel``
(uint8, the kernel as a ``(columns, rows)`` matrix: rows are the input features,
4-bit values packed two per byte along the columns), ``kernel_scale`` (float,
``(columns, groups)``), ``kernel_zero`` (``zero_point`` in EinsumDense; uint8) and
``g_idx`` (float32 ``(rows,)``: each row's group); an AWQ layer (always 4-bit) also
``awq_scales`` (float ``(rows,)``) before ``g_idx``. ``call`` dequantizes,
``(q - zero) * scale`` with each row's group's parameters (AWQ: then divided by each
row's ``awq_scales``), and contracts in float (weight-only). The policy is
``GPTQDTypePolicy("gptq/<bits>/<group size>")`` or ``AWQDTypePolicy("awq/4/<group
size>")``: a layer built with it (a loaded model) creates these weights. LoRA is not
available on them.
"""

from __future__ import annotations

import posixpath
from typing import Any

import jax.numpy as jnp


class GPTQ:
    """Mixed into ``_quantize.Quantizable`` (Dense and EinsumDense use it)."""

    _gptq_supported = False  # Dense and EinsumDense: True
    _gptq_zero_name = "kernel_zero"  # EinsumDense: "zero_point" (Keras's names)

    def _gptq_settings(self) -> tuple[int, int]:
        """``(weight_bits, group_size)``: the config's, else the policy's (as Keras).

        Raises:
            ValueError: neither is a GPTQ one.
        """
        config, policy = self.quantization_config, self._own_policy()
        mode = policy.quantization_mode
        source = config if getattr(config, "mode", None) == mode else policy
        if not hasattr(source, "weight_bits"):
            name = {"gptq": "GPTQ", "awq": "AWQ"}[mode]
            raise ValueError(
                f"Layer '{self.name}': for {name} quantization, the weight_bits and "
                f"group_size must be specified either through a `dtype_policy` of type "
                f"`{name}DTypePolicy` or a {name}Config `quantization_config`. Received: "
                f"dtype_policy={policy!r}"
            )
        return source.weight_bits, source.group_size

    def _gptq_matrix_shape(self, shape: tuple) -> tuple[int, int]:
        """``(rows, columns)`` of the kernel as GPTQ sees it (Keras's rule: a 3D kernel's
        largest axis is the model dimension, first for a projection, else last)."""
        if len(shape) == 2:
            return shape[0], shape[1]
        if len(shape) == 3:
            if list(shape).index(max(shape)) == 0:
                return shape[0], shape[1] * shape[2]
            return shape[0] * shape[1], shape[2]
        raise ValueError(
            f"Layer '{self.name}': GPTQ quantizes 2D and 3D kernels (as Keras). Received: "
            f"kernel shape {tuple(shape)}"
        )

    def _gptq_names(self) -> dict[str, str]:
        """The weights' names by role, in Keras's order (AWQ's ``awq_scales`` included)."""
        names = {"weight": "kernel", "scale": "kernel_scale", "zero": self._gptq_zero_name}
        if self.quantization_mode == "awq":
            names["awq_scales"] = "awq_scales"
        return {**names, "g_idx": "g_idx"}

    def _build_gptq(self, weight_shape: tuple, folder: str | None = None) -> None:
        """Create the GPTQ weights (in ``build``, or once calibrated)."""
        bits, group = self._gptq_settings()
        rows, cols = self._gptq_matrix_shape(weight_shape)
        self.__dict__["_quantized_shape"] = tuple(weight_shape)
        groups = 1 if group == -1 else -(-rows // group)
        stored = ((cols + 1) // 2 if bits == 4 else cols, rows)
        names = self._gptq_names()
        specs = {
            "weight": (stored, "uint8", "zeros"),
            "scale": ((cols, groups), None, "ones"),
            "zero": ((cols, groups), "uint8", "zeros"),
            "awq_scales": ((rows,), None, "ones"),
            "g_idx": ((rows,), "float32", "zeros"),
        }
        for role in names:
            shape, dtype, init = specs[role]
            v = self._frozen(names[role], shape, dtype, init)
            if folder is not None:
                v.path = posixpath.join(folder, v.name)
            setattr(self, v.name, v)

    def _gptq_calibrated(self, arrays: dict, config: Any) -> None:
        """Become a GPTQ or AWQ layer (``config``'s mode) holding ``arrays`` (by role:
        ``weight`` the stored uint8 kernel, ``scale``, ``zero``, ``g_idx``, and AWQ's
        ``awq_scales``)."""
        from kerax import mixed_precision
        from kerax.layers._quantize import _forget

        old = self._lora_handle(self._lora_weight)
        mode = config.dtype_policy_string()
        policy = mixed_precision.get(f"{mode}_from_{self.dtype_policy.name}")
        self.__dict__["_dtype_policy"], self.quantization_config = policy, config
        _forget(self, old)
        self._build_gptq(old.shape, folder=posixpath.dirname(old.path))
        for role, name in self._gptq_names().items():
            self._lora_handle(name).assign(arrays[role])

    def _gptq_float_matrix(self) -> Any:
        """The float kernel as the ``(rows, columns)`` matrix GPTQ quantizes."""
        w = self._lora_handle(self._lora_weight).value
        return jnp.reshape(w, self._gptq_matrix_shape(w.shape))

    def _gptq_product(self, inputs: Any, product: Any) -> Any:
        """``product(inputs, W)`` with the dequantized GPTQ kernel."""
        from kerax.layers._quantize import dequantize_groups
        from kerax.quantizers._quantizers import unpack_int4

        bits, _ = self._gptq_settings()
        shape = self.__dict__["_quantized_shape"]
        _, cols = self._gptq_matrix_shape(shape)
        a = {k: self._read(self._lora_handle(n)) for k, n in self._gptq_names().items()}
        q = a["weight"]
        if bits == 4:
            q = unpack_int4(q, cols, axis=0, dtype="uint8")
        w = dequantize_groups(q, a["scale"], a["zero"], a["g_idx"], axis=-1).T  # (rows, cols)
        if "awq_scales" in a:
            w = w / jnp.expand_dims(a["awq_scales"], -1)
        return product(inputs, jnp.reshape(w, shape), None)

    def _gptq_stored(self, own: list) -> list:
        """Keras's order in weights files: the bias, then the GPTQ (AWQ) weights. (Keras
        3.15 writes no zero point, and cannot load its own files; kerax writes it, and
        Keras loads kerax's files.)"""
        quantized = [self._lora_handle(n) for n in self._gptq_names().values()]
        return [v for v in own if all(v is not u for u in quantized)] + quantized

    def enable_lora(self, *args: Any, **kwargs: Any) -> None:
        if self.quantization_mode in ("gptq", "awq"):
            raise NotImplementedError(
                f"Layer '{self.name}': lora is not currently supported with "
                f"{self.quantization_mode.upper()} quantization (as in Keras); int8 and int4 "
                "layers take LoRA."
            )
        super().enable_lora(*args, **kwargs)
