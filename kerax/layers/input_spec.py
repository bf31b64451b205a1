"""``InputSpec``: what a layer accepts as its first input (Keras 3's ``keras.InputSpec``).

A layer that sets ``self.input_spec`` (one spec, or a nested structure of specs, one per
input tensor) has every call checked against it before ``build`` and again after (a
``build`` may set it): the number of inputs, their rank (``ndim``, ``min_ndim``,
``max_ndim``), dtype, whole shape and single axes. ``None`` matches any dimension. A
mismatch raises a ``ValueError`` that names the layer, the input and both shapes.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

__all__ = ["InputSpec"]


def _dtype_name(dtype: Any) -> str:
    return np.dtype(dtype).name


class InputSpec:
    """The rank, dtype and shape a layer expects of one input.

    Args:
        dtype: the expected dtype.
        shape: the expected shape, batch axis included (``None``: any size); sets
            ``ndim``.
        ndim, max_ndim, min_ndim: the expected, largest and smallest rank.
        axes: ``{axis: size}`` for single axes (negative axes count from the end).
        allow_last_axis_squeeze: accept one rank more with a last axis of 1, or one
            rank less when the spec's last axis is 1.
        name: the key of this input when inputs come as a dict.
        optional: accept ``None`` for this input.

    Example:
        >>> from kerax.layers.input_spec import InputSpec
        >>> InputSpec(shape=(None, 28, 28))
        InputSpec(shape=(None, 28, 28), ndim=3)
    """

    def __init__(
        self,
        dtype: Any = None,
        shape: Any = None,
        ndim: int | None = None,
        max_ndim: int | None = None,
        min_ndim: int | None = None,
        axes: dict | None = None,
        allow_last_axis_squeeze: bool = False,
        name: str | None = None,
        optional: bool = False,
    ):
        self.dtype = None if dtype is None else _dtype_name(dtype)
        if shape is not None:
            self.shape = tuple(None if d is None else int(d) for d in shape)
            self.ndim = len(self.shape)
        else:
            self.shape, self.ndim = None, ndim
        self.max_ndim, self.min_ndim = max_ndim, min_ndim
        self.name, self.optional = name, optional
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        try:
            self.axes = {int(k): v for k, v in (axes or {}).items()}
        except (AttributeError, TypeError, ValueError):
            raise TypeError(
                f"InputSpec axes must be a dict with integer keys, e.g. {{-1: 64}}. "
                f"Received: axes={axes!r}"
            ) from None
        top = self.ndim if self.ndim is not None else self.max_ndim
        if self.axes and top is not None and max(self.axes) > top - 1:
            raise ValueError(
                f"InputSpec axes name axis {max(self.axes)}, but inputs have at most {top} "
                f"axes (0 to {top - 1}). Received: axes={axes!r}"
            )

    def __repr__(self) -> str:
        parts = [
            f"{name}={value}"
            for name, value in (
                ("dtype", self.dtype),
                ("shape", self.shape),
                ("ndim", self.ndim),
                ("max_ndim", self.max_ndim),
                ("min_ndim", self.min_ndim),
                ("axes", self.axes),
            )
            if value
        ]
        return f"InputSpec({', '.join(parts)})"

    def get_config(self) -> dict:
        return {
            "dtype": self.dtype,
            "shape": self.shape,
            "ndim": self.ndim,
            "max_ndim": self.max_ndim,
            "min_ndim": self.min_ndim,
            "axes": self.axes,
            "optional": self.optional,
        }

    @classmethod
    def from_config(cls, config: dict) -> InputSpec:
        return cls(**config)


def _flat(tree: Any) -> list:
    return jax.tree_util.tree_leaves(tree, is_leaf=lambda x: x is None or isinstance(x, InputSpec))


def _incompatible(index: int, spec: InputSpec, layer_name: str, what: str) -> ValueError:
    named = f" ('{spec.name}')" if spec.name else ""
    return ValueError(
        f"Input {index}{named} of layer '{layer_name}' is incompatible with it: {what}"
    )


def assert_input_compatibility(input_spec: Any, inputs: Any, layer_name: str) -> None:
    """Raise a ``ValueError`` if ``inputs`` do not meet ``input_spec`` (see module doc)."""
    if not input_spec:
        return
    specs = _flat(input_spec)
    names = [getattr(s, "name", None) for s in specs]
    if isinstance(inputs, dict) and all(names):
        missing = [n for n in names if n not in inputs]
        if missing:
            raise ValueError(
                f"Layer '{layer_name}' expects inputs with keys {names}; the dict passed has "
                f"keys {sorted(inputs)} (missing {missing})."
            )
        inputs = [inputs[n] for n in names]
    values = _flat(inputs)
    if len(values) != len(specs):
        raise ValueError(
            f"Layer '{layer_name}' expects {len(specs)} input(s), but it received "
            f"{len(values)} input tensor(s). Pass them as a list of {len(specs)}."
        )
    for index, (x, spec) in enumerate(zip(values, specs)):
        if spec is None or (x is None and spec.optional):
            continue
        if not hasattr(x, "shape"):
            raise ValueError(
                f"Inputs to layer '{layer_name}' must be tensors. Received input {index}: "
                f"{x!r} (of type {type(x).__name__})."
            )
        shape = tuple(None if d is None else int(d) for d in x.shape)
        ndim = len(shape)
        full = f"Full shape received: {shape}"
        if spec.ndim is not None and not spec.allow_last_axis_squeeze and ndim != spec.ndim:
            raise _incompatible(
                index, spec, layer_name, f"expected ndim={spec.ndim}, found ndim={ndim}. {full}"
            )
        if spec.max_ndim is not None and ndim > spec.max_ndim:
            raise _incompatible(
                index,
                spec,
                layer_name,
                f"expected max_ndim={spec.max_ndim}, found ndim={ndim}. {full}",
            )
        if spec.min_ndim is not None and ndim < spec.min_ndim:
            raise _incompatible(
                index,
                spec,
                layer_name,
                f"expected min_ndim={spec.min_ndim}, found ndim={ndim}. {full}",
            )
        if spec.dtype is not None and _dtype_name(x.dtype) != spec.dtype:
            found = _dtype_name(x.dtype)
            raise _incompatible(
                index, spec, layer_name, f"expected dtype={spec.dtype}, found dtype={found}"
            )
        for axis, value in spec.axes.items():
            if value is not None and -ndim <= axis < ndim and shape[axis] not in (value, None):
                raise _incompatible(
                    index, spec, layer_name, f"expected axis {axis} to have size {value}. {full}"
                )
        if spec.shape is not None:
            expected, found = spec.shape, shape
            if spec.allow_last_axis_squeeze:
                found = found[:-1] if found and found[-1] == 1 else found
                expected = expected[:-1] if expected and expected[-1] == 1 else expected
            if len(found) != len(expected) or any(
                e is not None and f is not None and e != f for e, f in zip(expected, found)
            ):
                raise _incompatible(
                    index, spec, layer_name, f"expected shape={spec.shape}, found shape={shape}"
                )
