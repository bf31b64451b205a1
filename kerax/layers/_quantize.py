"""int8 and int4 weight quantization for Dense, EinsumDense and Embedding (Keras 3's
``layer.quantize(mode)`` and ``model.quantize(mode)``).

Quantizing replaces the layer's float weight ``W`` (``kernel`` or ``embeddings``) by a
non-trainable integer weight of the same name and a non-trainable float scale
(``kernel_scale``, ``embeddings_scale``), and the layer's dtype policy becomes a
quantized one (``"int8_from_float32"``, ``"int4/128_from_float32"``), which is also how
a saved quantized layer is rebuilt: built with that policy, it creates these weights.

- int8: same shape as ``W``, ``W ~ q / scale`` with one abs-max scale per output
  channel. In ``call`` the inputs are quantized too (per row, unless the config's
  ``activation_quantizer`` is ``None``) and the product runs in int8 with int32
  accumulation, then is divided by both scales.
- int4: ``W`` seen as a matrix whose rows are reduced (Keras's layout: Dense's
  ``(input, units)``, EinsumDense's kernel reshaped to (reduced, other) axes,
  Embedding's transpose), stored two values per byte. With ``block_size`` (default
  128) each group of rows has its own scale and zero point per column
  (``W ~ (q - kernel_zero) * scale``, ``g_idx`` maps rows to groups); with -1 one
  symmetric scale per column. ``call`` dequantizes and multiplies in float (weight-only).
- float8 (Dense and EinsumDense): training in float8 with the float weight kept, see
  ``kerax.layers._float8``.

The numbers are Keras's, operation for operation. Gradients reach the inputs through
the dequantized weight (a straight-through estimator), never the integer weight:
training a quantized model trains its biases, other layers and LoRA factors.

A layer mixes :class:`Quantizable` in before ``_lora.LoRA`` and defines the hooks below.
A layer may hold more float weights quantized like the main one (``_quantized_twins``:
ReversibleEmbedding's untied ``reverse_embeddings``): each is quantized as the transpose
of a main weight and stored transposed (``<name>``, ``<name>_scale``, ``<name>_zero``, the
main ``g_idx`` shared), Keras's layout for it.
"""

from __future__ import annotations

import posixpath
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import mixed_precision
from kerax._variable import Variable
from kerax.layers._float8 import Float8, float8_names
from kerax.layers._gptq import GPTQ
from kerax.quantizers import _config
from kerax.quantizers._quantizers import (
    AbsMaxQuantizer,
    abs_max_quantize,
    abs_max_quantize_grouped_with_zero_point,
    pack_int4,
    unpack_int4,
)


class Quantizable(Float8, GPTQ):
    """Mixed into a layer: int8/int4 quantization of its weight named ``_lora_weight``
    (and float8 training, :class:`Float8`)."""

    quantization_config: Any = None
    _int4_transposed = False  # Embedding: the stored arrays are the matrix's transposes
    _int4_dequantize_first = False  # EinsumDense: int4 contracts with the float weight

    # -- per-layer hooks ------------------------------------------------------------
    def _scale_shape(self, weight_shape: tuple) -> tuple:
        """The int8 scale's shape."""
        raise NotImplementedError

    def _default_weight_quantizer(self) -> Any:
        """Keras's int8 weight quantizer: abs-max over the reduced (input) axes."""
        raise NotImplementedError

    def _quantize_weight(self, w: Any, quantizer: Any) -> tuple[Any, Any]:
        """``(int8 weight, stored scale)`` of a float weight (on the host)."""
        raise NotImplementedError

    def _dequantize_weight(self, q: Any, scale: Any) -> Any:
        """The float weight ``q / scale`` (scale broadcast to ``q``'s layout)."""
        raise NotImplementedError

    def _quantized_twins(self) -> list[str]:
        """Float weights shaped like the main one's transpose, quantized with it."""
        return []

    def _int4_matrix_shape(self, weight_shape: tuple) -> tuple[int, int]:
        """int4's 2D view of the weight: (reduced rows, output columns)."""
        if self._int4_transposed:
            return weight_shape[-1], int(np.prod(weight_shape[:-1]))
        return weight_shape[0], int(np.prod(weight_shape[1:]))

    # -- state ----------------------------------------------------------------------
    @property
    def dtype_policy(self) -> Any:
        """The layer's dtype policy. Assigning a quantized one (``"int8_from_float32"``,
        ``"int4/128_from_float32"``) to a built float layer quantizes it, as in Keras."""
        return self.__dict__["_dtype_policy"]

    @dtype_policy.setter
    def dtype_policy(self, value: Any) -> None:
        policy = mixed_precision.get(value)
        current = self.__dict__.get("_dtype_policy")
        from kerax._dtype_policy_map import DTypePolicyMap

        if isinstance(current, DTypePolicyMap):  # as Keras: the layer's own entry is set
            super(Quantizable, type(self)).dtype_policy.fset(self, policy)
            return
        mode = policy.quantization_mode
        if mode is None or not self.built or current is None or current.quantization_mode:
            self.__dict__["_dtype_policy"] = policy
            return
        if mode in ("gptq", "awq"):
            name = mode.upper()
            raise ValueError(
                f"Implicitly enabling {name} quantization by setting `dtype_policy` to "
                f"'{policy.name}' is not supported (layer '{self.name}'). {name} requires a "
                f"calibration dataset and a `{name}Config` object. Please use the "
                f"`.quantize('{mode}', config=...)` method on the model instead."
            )
        config = None
        if mode == "int4":
            config = _config.Int4QuantizationConfig(block_size=getattr(policy, "block_size", -1))
        self.__dict__["_policy_request"] = policy  # quantize builds with it (float8's length)
        try:
            self.quantize(mode, type_check=False, config=config)
        finally:
            self.__dict__.pop("_policy_request", None)
        self.__dict__["_dtype_policy"] = policy

    @property
    def _keeps_float_weight(self) -> bool:
        """Whether ``build`` creates the float weight (not quantized, or float8)."""
        return self.quantization_mode in (None, "float8")

    def _check_mode_supported(self, mode: str) -> None:
        if mode in ("gptq", "awq") and not self._gptq_supported:
            raise NotImplementedError(
                f"Layer '{self.name}' ({type(self).__name__}) does not support quantization "
                f"mode '{mode}'; GPTQ and AWQ quantize Dense and EinsumDense (as in Keras). "
                f"Received: quantization_mode={mode!r}"
            )
        if mode == "float8" and not self._float8_supported:
            raise NotImplementedError(
                f"Layer '{self.name}' ({type(self).__name__}) does not support quantization "
                "mode 'float8'; it quantizes to 'int8' and 'int4' only (as in Keras). "
                f"Received: quantization_mode={mode!r}"
            )

    def _names(self, weight: str | None = None) -> dict[str, str]:
        """The quantized weights' names by role, for the main weight or a twin."""
        w = weight or self._lora_weight
        return {"weight": w, "scale": f"{w}_scale", "zero": f"{w}_zero", "g_idx": "g_idx"}

    def _set_quantization_config(self, config: Any) -> None:
        if isinstance(config, dict):
            config = _config.deserialize(config)
        if config is not None and not isinstance(config, _config.QuantizationConfig):
            raise ValueError(
                f"{type(self).__name__}: `quantization_config` must be a "
                "keras.quantizers.QuantizationConfig (or its config dict) or None. "
                f"Received: quantization_config={config!r}"
            )
        self.quantization_config = config

    def _input_quantizer(self) -> Any:
        config = self.quantization_config
        if config is None:  # built from a policy: Keras's defaults per mode
            return AbsMaxQuantizer() if self.quantization_mode == "int8" else None
        return config.activation_quantizer

    def _block_size(self) -> int | None:
        """int4 rows per group; ``None`` for one scale per column (Keras's rule: the
        config's block size, else the policy's)."""
        config = self.quantization_config
        if isinstance(config, _config.Int4QuantizationConfig):
            size = config.block_size
        else:
            size = getattr(self._own_policy(), "block_size", None)
        return None if size in (None, -1) else size

    def _build_quantized(self, weight_shape: tuple, folder: str | None = None) -> None:
        """Create the quantized weights (in ``build``, or in ``quantize``)."""
        self._check_mode_supported(self.quantization_mode)
        if self.quantization_mode == "float8":
            return self._build_float8(folder)
        if self.quantization_mode in ("gptq", "awq"):
            return self._build_gptq(weight_shape, folder)
        self.__dict__["_quantized_shape"] = tuple(weight_shape)
        specs = {}  # role -> (shape, dtype, initializer), in Keras's order
        if self.quantization_mode == "int8":
            stored, scale_shape = weight_shape, self._scale_shape(weight_shape)
        else:
            rows, cols = self._int4_matrix_shape(weight_shape)
            size = self._block_size()
            scale_shape = (cols,) if size is None else (-(-rows // size), cols)
            if self._int4_transposed:
                stored, scale_shape = (cols, (rows + 1) // 2), scale_shape[::-1]
            else:
                stored = (rows, (cols + 1) // 2)
        specs["weight"] = stored, "int8", "zeros"
        specs["scale"] = scale_shape, None, "ones"
        if self.quantization_mode == "int4" and self._block_size() is not None:
            specs["zero"] = scale_shape, "int8", "zeros"
            groups = np.arange(rows, dtype="float32") // self._block_size()
            specs["g_idx"] = (rows,), "float32", groups
        names = self._names()
        created = [self._frozen(names[role], *spec) for role, spec in specs.items()]
        for twin in self._quantized_twins():
            names = self._names(twin)
            for role in ("weight", "scale", "zero"):
                if role in specs:
                    shape, dtype, init = specs[role]
                    dtype = None if role == "zero" else dtype  # Keras: a float zero point
                    created.append(self._frozen(names[role], shape[::-1], dtype, init))
        for v in created:
            if folder is not None:
                v.path = posixpath.join(folder, v.name)
            setattr(self, v.name, v)

    def _frozen(self, name: str, shape: tuple, dtype: Any, init: Any) -> Variable:
        return self.add_weight(
            shape=shape, initializer=init, dtype=dtype, trainable=False, name=name
        )

    def quantize(self, mode: Any = None, type_check: bool = True, config: Any = None) -> None:
        """Quantize the layer's weight in place (Keras's ``layer.quantize``).

        Args:
            mode: ``"int8"``, ``"int4"`` or ``"float8"``; optional with ``config``.
            type_check: refuse subclasses (as Keras: their ``call`` may read the float
                weight); ``False`` quantizes them anyway.
            config: a ``keras.quantizers.Int8QuantizationConfig`` (weight and input
                quantizers; ``activation_quantizer=None``: weight-only) or
                ``Int4QuantizationConfig`` (``block_size``), or
                ``Float8QuantizationConfig``.

        Raises:
            ValueError: the layer is not built or already quantized, a bad mode or
                config, int8 with a float16 compute dtype, or gptq and awq (which
                need ``model.quantize``'s calibration).
            NotImplementedError: float8 on Embedding, or a subclass with
                ``type_check=True``.
        """
        cls = type(self).__name__
        # The class that mixes Quantizable in (Dense, ...), not a user's subclass of it.
        base = next(c for c in type(self).__mro__ if Quantizable in c.__bases__)
        if type_check and type(self) is not base:
            raise NotImplementedError(f"Layer {cls} does not have a `quantize` method implemented.")
        config = _config.resolve(mode, config)
        if not self.built:
            raise ValueError(
                f"Cannot quantize layer '{self.name}' ({cls}): it is not built yet. Call it "
                "on data or build(input_shape) first."
            )
        if self.quantization_mode is not None:
            raise ValueError(
                f"Layer '{self.name}' is already quantized with dtype_policy="
                f"'{self.dtype_policy.name}'. Received: mode={config.mode!r}"
            )
        self._check_mode_supported(config.mode)
        if config.mode in ("gptq", "awq"):  # Keras: uncalibrated weights; kerax asks for data
            name = config.mode.upper()
            raise ValueError(
                f"Layer '{self.name}': {name} quantizes a layer from calibration data. Use "
                f"model.quantize('{config.mode}', config=keras.quantizers.{name}Config("
                "dataset=..., tokenizer=..., quantization_layer_structure=...)) on the model."
            )
        if config.mode == "int8" and self.compute_dtype == "float16":
            raise ValueError(
                f"Quantization mode 'int8' does not work well with compute_dtype 'float16' "
                f"(layer '{self.name}'). Use a policy such as 'mixed_bfloat16' or 'float32' "
                "before calling quantize()."
            )
        old = self._lora_handle(self._lora_weight)
        twins = {n: self._lora_handle(n) for n in self._quantized_twins()}
        before = self.dtype_policy, self.quantization_config
        policy = self.__dict__.get("_policy_request")
        if policy is None and config.mode == "int4":
            size = config.block_size if config.block_size is not None else -1
            policy = mixed_precision.Int4DTypePolicy(f"int4/{size}", before[0].name)
        elif policy is None:
            policy = mixed_precision.get(f"{config.mode}_from_{before[0].name}")
        self.__dict__["_dtype_policy"], self.quantization_config = policy, config
        if config.mode == "float8":  # the float weight stays; six weights join it
            return self._build_float8(folder=posixpath.dirname(old.path))
        try:
            values = {None: self._quantize_values(np.asarray(old.value), config)}
            for name, twin in twins.items():  # quantized as its transpose, stored back
                twin_values = self._quantize_values(np.asarray(twin.value).T, config)
                values[name] = [None if a is None else a.T for a in twin_values]
        except Exception:
            self.__dict__["_dtype_policy"], self.quantization_config = before
            raise
        for v in (old, *twins.values()):
            _forget(self, v)
        self._build_quantized(old.shape, folder=posixpath.dirname(old.path))
        for weight, arrays in values.items():
            names = self._names(weight)
            for key, value in zip(("weight", "scale", "zero"), arrays):
                if value is not None:
                    self._lora_handle(names[key]).assign(value)

    def _quantize_values(self, w: Any, config: Any) -> tuple:
        """``(stored weight, scale, zero or None)`` of a float weight, on the host."""
        if self.quantization_mode == "int8":
            default = self._default_weight_quantizer()
            quantizer = _config.QuantizationConfig.weight_quantizer_or_default(config, default)
            return (*self._quantize_weight(w, quantizer), None)
        rows, cols = self._int4_matrix_shape(w.shape)
        matrix = w.T if self._int4_transposed else w.reshape(rows, cols)
        size, zero = self._block_size(), None
        if size is None:
            quantizer = getattr(config, "weight_quantizer", None)
            if quantizer is None:
                q, scale = abs_max_quantize(matrix, 0, (-8, 7), "int8", to_numpy=True)
            else:
                q, scale = quantizer(matrix, axis=0, to_numpy=True)
            scale = scale[0]
        else:
            q, scale, zero = abs_max_quantize_grouped_with_zero_point(matrix, size, to_numpy=True)
        if self._int4_transposed:
            q, scale, zero = q.T, scale.T, None if zero is None else zero.T
        return pack_int4(np.asarray(q), axis=-1)[0], scale, zero

    # -- reading the quantized weight -------------------------------------------------
    def _quantized_arrays(self, stored: bool = False, weight: str | None = None) -> dict:
        """The quantized weights by role: their bound values inside ``call``, their
        stored values with ``stored=True``; a twin's (``weight``) in the main layout."""
        out = {}
        for key, name in self._names(weight).items():
            if name in self.__dict__["_var_attrs"]:
                handle = self._lora_handle(name)
                out[key] = handle.value if stored else self._read(handle)
                if weight is not None and key != "g_idx":
                    out[key] = out[key].T
        return out

    def _int4_unpacked(self, packed: Any) -> Any:
        """The int4 values, in the stored layout (matrix, or its transpose)."""
        rows, cols = self._int4_matrix_shape(self.__dict__["_quantized_shape"])
        return unpack_int4(packed, rows if self._int4_transposed else cols, axis=-1)

    def _int4_dequantized(self, arrays: dict, dtype: Any) -> Any:
        """The float weight, in the layer's own shape, from the int4 arrays."""
        q = self._int4_unpacked(arrays["weight"])
        scale = arrays["scale"]
        if self._int4_transposed:
            q, scale = q.T, scale.T
        if "zero" in arrays:
            zero, groups = arrays["zero"], arrays["g_idx"]
            if self._int4_transposed:
                zero = zero.T
            w = dequantize_groups(q, scale, zero, groups)
        else:
            w = q.astype(dtype) / scale
        w = w.astype(dtype)
        w = w.T if self._int4_transposed else w
        return w.reshape(self.__dict__["_quantized_shape"])

    def _dequantized(self, arrays: dict, dtype: Any) -> Any:
        if self.quantization_mode == "int8":
            return self._dequantize_weight(arrays["weight"].astype(dtype), arrays["scale"])
        return self._int4_dequantized(arrays, dtype)

    # -- call -----------------------------------------------------------------------
    def _quantized_product(
        self,
        inputs: Any,
        product: Any,
        input_axes: Any,
        align: Any,
        weight: str | None = None,
        with_lora: bool = True,
    ) -> Any:
        """``product(inputs, W)`` with the quantized weight (LoRA update included).

        Args:
            product: ``fn(x, w, preferred_element_type)``: the layer's contraction.
            input_axes: the input axes the input quantizer reduces.
            align: ``fn(input_scale)``: the input scale laid out like the output.
            weight: a twin (``_quantized_twins``) instead of the main weight.
            with_lora: add the LoRA update (of the main weight).
        """
        if self.quantization_mode == "float8":
            return self._float8_product(inputs, product)
        if self.quantization_mode in ("gptq", "awq"):
            return self._gptq_product(inputs, product)
        arrays = self._quantized_arrays(weight=weight)
        quantizer = self._input_quantizer()
        compute = self.compute_dtype
        int4 = self.quantization_mode == "int4"
        grouped = "zero" in arrays

        def forward(x, arrays):
            # Asymmetric int4 (grouped) is in float, weight-only unless the layer's input
            # quantizer says otherwise (ReversibleEmbedding built from a policy, as Keras).
            if grouped or (int4 and self._int4_dequantize_first):
                w = self._int4_dequantized(arrays, compute)
                if quantizer is None:
                    return product(x, w, None)
                xq, x_scale = quantizer(x, axis=input_axes)
                return product(xq, w, None).astype(compute) / align(x_scale)
            q, scale = arrays["weight"], arrays["scale"]
            if int4:
                q = self._int4_unpacked(q).reshape(self.__dict__["_quantized_shape"])
            if quantizer is None:
                return product(x, q.astype(compute), None).astype(compute) / scale
            xq, x_scale = quantizer(x, axis=input_axes)
            y = product(xq, q, jnp.int32).astype(compute)
            return y / (align(x_scale) * scale)

        @jax.custom_vjp
        def quantized_product(x, arrays):
            return forward(x, arrays)

        def fwd(x, arrays):
            return forward(x, arrays), (x, arrays)

        def bwd(res, g):
            # Straight-through: the inputs' gradient through the dequantized weight.
            x, arrays = res
            w = self._dequantized(arrays, compute)
            _, pull = jax.vjp(lambda x_: product(x_, w, None), x)
            return pull(g)[0], jax.tree_util.tree_map(_no_gradient, arrays)

        quantized_product.defvjp(fwd, bwd)
        y = quantized_product(inputs, arrays)
        if with_lora and self.__dict__.get("lora_enabled"):
            a_name, b_name = self._lora_names()
            a, b = self._read(self._lora_handle(a_name)), self._read(self._lora_handle(b_name))
            lora = jnp.matmul(product(inputs, a, None), b)
            y = (y + (self.lora_alpha / self.lora_rank) * lora).astype(compute)
        return y

    # -- LoRA on a quantized layer ------------------------------------------------------
    def _lora_weight_shape(self) -> tuple:
        return self.__dict__.get("_quantized_shape") or super()._lora_weight_shape()

    def _lora_base(self, value: Any) -> Any:
        """What LoRA's merged ``kernel`` adds to: int4 values are unpacked (Keras)."""
        if self.quantization_mode != "int4":
            return value
        return self._int4_unpacked(value).reshape(self.__dict__["_quantized_shape"])

    # -- saving (Keras's order: weight, the others, scale, zero, g_idx, or the float8
    # weights; LoRA merged, and requantized)
    def _stored_variables(self) -> list[Variable]:
        own = super()._stored_variables()
        if self.quantization_mode is None:
            return own
        if self.quantization_mode in ("gptq", "awq"):
            return self._gptq_stored(own)
        names = self._names()
        tail = [names[k] for k in ("scale", "zero", "g_idx")]
        for twin in self._quantized_twins():
            tail += [self._names(twin)[k] for k in ("weight", "scale", "zero")]
        if self.quantization_mode == "float8":
            tail = float8_names()
        quantized = [self._lora_handle(n) for n in tail if n in self.__dict__["_var_attrs"]]
        weight = self._lora_handle(names["weight"])
        rest = [v for v in own if v is not weight and all(v is not u for u in quantized)]
        return [weight, *rest, *quantized]

    def _stored_value(self, v: Variable) -> Any:
        if self._keeps_float_weight or not self.__dict__.get("lora_enabled"):
            return super()._stored_value(v)
        names = self._names()
        roles = {"weight": 0, "scale": 1, "zero": 2}
        role = next((k for k in roles if self.__dict__["_var_attrs"].get(names[k]) is v), None)
        if role is None:
            return super()._stored_value(v)
        a_name, b_name = self._lora_names()
        a, b = (self._lora_handle(n).value for n in (a_name, b_name))
        w = self._dequantized(self._quantized_arrays(stored=True), self.compute_dtype)
        merged = w + (self.lora_alpha / self.lora_rank) * jnp.matmul(a, b)
        # Keras requantizes with the default quantizers (the layer's block size kept).
        default = _config.resolve(self.quantization_mode, None)
        return self._quantize_values(np.asarray(merged), default)[roles[role]]

    def _quantize_config(self) -> dict:
        """``get_config`` entries: the quantization config and, when quantized, the
        policy as Keras writes it (the quantized policy's dict)."""
        out = {"quantization_config": _config.serialize(self.quantization_config)}
        if self.quantization_mode is not None:
            out["dtype"] = mixed_precision.serialize(self.dtype_policy)
        return out


def _no_gradient(x: Any) -> Any:
    if jnp.issubdtype(x.dtype, jnp.inexact):
        return jnp.zeros_like(x)
    return np.zeros(x.shape, jax.dtypes.float0)


def dequantize_groups(q: Any, scale: Any, zero: Any, g_idx: Any, axis: int = 0) -> Any:
    """``(q - zero) * scale`` with each row's group's parameters (``g_idx``: row ->
    group; the groups lie along ``axis`` of ``scale``), as Keras's
    ``dequantize_with_sz_map``."""
    groups = g_idx.astype(jnp.int32)
    scales = jnp.take(scale, groups, axis=axis)
    zeros = jnp.take(zero, groups, axis=axis).astype(scales.dtype)
    return (q - zeros) * scales


def _forget(layer: Any, v: Variable) -> None:
    """Drop a weight from a layer (its quantized replacement takes its name)."""
    d = layer.__dict__
    d["_own_variables"] = [u for u in d["_own_variables"] if u is not v]
    d["_created_trainable"] = [u for u in d["_created_trainable"] if u is not v]
    d["_var_attrs"].pop(v.name, None)
