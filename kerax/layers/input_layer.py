"""The functional API's entry point: ``InputLayer`` and ``keras.Input`` (Keras 3.15's
arguments: ``optional`` inputs that may be given ``None``, ``tensor=`` to wrap an
existing symbolic tensor; ``sparse``/``ragged`` only ``False``, see ``InputLayer``)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from kerax import _graph
from kerax.data.arrays import refuse_sparse
from kerax.layers.base import Layer


class InputLayer(Layer):
    """The entry point of a functional model; holds the input's shape and dtype.

    Args:
        shape: the shape of one sample, without the batch axis.
        batch_size: an optional fixed batch size.
        dtype: the input dtype (default ``config.floatx()``).
        sparse: only ``False``/``None``: kerax's layers take dense arrays (``True``
            raises; densify a ``jax.experimental.sparse.BCOO`` with ``.todense()``).
        ragged: only ``False``/``None``, as Keras on JAX.
        batch_shape: the shape with the batch axis (instead of ``shape``/``batch_size``).
        input_tensor: an existing symbolic ``KerasTensor`` to make this layer's output
            (its shape and dtype are taken; ``shape``, ``dtype`` ... must agree).
        optional: whether a functional model may be given ``None`` for this input; its
            layers then receive ``None``.
        name: the input's name (used to match dict inputs).

    Raises:
        ValueError: for a missing or conflicting shape, ``sparse=True``,
            ``ragged=True``, or an ``input_tensor`` that is not a ``KerasTensor`` or
            disagrees with the other arguments.
    """

    def __init__(
        self,
        shape=None,
        batch_size=None,
        dtype=None,
        sparse=None,
        ragged=None,
        batch_shape=None,
        input_tensor=None,
        optional=False,
        name=None,
        **kwargs,
    ):
        _refuse_string_dtype(dtype)
        if input_tensor is not None:
            batch_shape = _input_tensor_shape(input_tensor, shape, batch_size, batch_shape, dtype)
            dtype, shape, batch_size = input_tensor.dtype.name, None, None
        super().__init__(name=name or None, dtype=dtype, **kwargs)
        if sparse:
            raise ValueError(
                "`sparse=True` is not supported by kerax: its layers take dense arrays. "
                "Received: sparse=True. Use keras.Input(..., sparse=False) and pass dense "
                "data (a jax.experimental.sparse.BCOO `x` becomes dense with x.todense())."
            )
        if ragged:
            raise ValueError(
                "`ragged=True` is not supported with the jax backend (Keras supports ragged "
                "tensors on TensorFlow only). Received: ragged=True. Pad the sequences to "
                "one length (keras.utils.pad_sequences) and mask them instead."
            )
        if shape is not None and batch_shape is not None:
            raise ValueError(
                "You cannot pass both `shape` and `batch_shape` at the same time. Received: "
                f"shape={shape}, batch_shape={batch_shape}."
            )
        if batch_size is not None and batch_shape is not None:
            raise ValueError(
                "You cannot pass both `batch_size` and `batch_shape` at the same time. "
                f"Received: batch_size={batch_size}, batch_shape={batch_shape}."
            )
        if batch_shape is None:
            if shape is None:
                if self._batch_input_shape is None:
                    raise ValueError(
                        "You must pass a `shape` argument (or `batch_shape`), e.g. "
                        "keras.Input(shape=(784,))."
                    )
                batch_shape = self._batch_input_shape
            else:
                shape = (shape,) if isinstance(shape, int) else tuple(shape)
                batch_shape = (batch_size, *shape)
        for d in batch_shape[1:]:
            if d is not None and (not isinstance(d, (int, np.integer)) or d <= 0):
                raise ValueError(
                    f"Input shapes must hold positive integers or None. Received: "
                    f"shape={tuple(batch_shape[1:])}"
                )
        self.batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self.sparse = self.ragged = False
        self.optional = bool(optional)
        self.built = True
        if input_tensor is None:
            tensor = _graph.KerasTensor(self.batch_shape, self.dtype, name=self.name)
        else:  # as Keras, the tensor given becomes this layer's output
            tensor, tensor.index = input_tensor, 0
        tensor.node = _graph.Node(self, (), {}, tensor)
        self._inbound_nodes.append(tensor.node)

    def call(self, inputs):
        return inputs

    def _convert_inputs(self, x: Any) -> Any:
        refuse_sparse(x, f"Input '{self.name}'")
        return super()._convert_inputs(x)

    def get_config(self):
        return {
            "batch_shape": self.batch_shape,
            "dtype": self.dtype,
            "sparse": self.sparse,
            "ragged": self.ragged,
            "name": self.name,
            "optional": self.optional,
        }


def _refuse_string_dtype(dtype) -> None:
    """Refuse a text input: JAX arrays cannot hold strings, so no kerax tensor can."""
    try:
        is_text = dtype in ("string", "str", "object") or np.dtype(dtype).kind in "USO"
    except TypeError:
        is_text = False
    if dtype is not None and is_text:
        raise TypeError(
            "String inputs are not supported in a kerax model: JAX has no string tensors. "
            f"Received: dtype={dtype!r}. Turn the text into token ids before the model, "
            "outside it: adapt a keras.layers.TextVectorization (or StringLookup) on the "
            "texts, give the model keras.Input(shape=(sequence_length,), dtype='int32'), "
            "and call it on the vectorized data, e.g. `model(vectorizer(texts))` or "
            "`model.fit(vectorizer(texts), y)`."
        )


def _input_tensor_shape(tensor, shape, batch_size, batch_shape, dtype) -> tuple:
    """The batch shape of an ``InputLayer`` made from ``tensor``, after checking that the
    other arguments, where given, agree with it (as Keras does)."""
    if not _graph.is_symbolic(tensor):
        raise ValueError(
            "Argument `input_tensor` must be a KerasTensor (from keras.Input or a layer "
            f"call on one). Received invalid type: input_tensor={tensor!r} (of type "
            f"{type(tensor)})"
        )
    if isinstance(shape, int):
        shape = (shape,)
    given = {"batch_size": batch_size, "shape": shape, "batch_shape": batch_shape, "dtype": dtype}
    bad = {
        "batch_size": lambda: not tensor.shape or tensor.shape[0] != batch_size,
        "shape": lambda: tuple(shape) != tensor.shape[1:],
        "batch_shape": lambda: tuple(batch_shape) != tensor.shape,
        "dtype": lambda: jnp.dtype(dtype) != tensor.dtype,
    }
    for arg, value in given.items():
        if value is not None and bad[arg]():
            raise ValueError(
                "When providing the `input_tensor` argument, you cannot provide an "
                f"incompatible `{arg}` argument. Received: {arg}={value!r} for {tensor!r}. "
                f"Leave `{arg}` unset to take the tensor's."
            )
    return tensor.shape


def Input(
    shape=None,
    batch_size=None,
    dtype=None,
    sparse=None,
    ragged=None,
    batch_shape=None,
    name=None,
    tensor=None,
    optional=False,
):
    """A symbolic input for the functional API and ``Sequential``.

    Args:
        shape: the shape of one sample, without the batch axis; ``None`` for unknown sizes.
        batch_size: an optional fixed batch size.
        dtype: default ``config.floatx()``.
        sparse: only ``False``/``None`` (kerax's layers take dense arrays).
        ragged: only ``False``/``None`` (as Keras on JAX).
        batch_shape: the shape including the batch axis (instead of ``shape``).
        name: the input's name (dict inputs to ``fit`` are matched by it).
        tensor: an existing symbolic ``KerasTensor`` to wrap: it is returned, now the
            output of a new ``InputLayer``.
        optional: whether the model may be given ``None`` for this input at call, fit
            or predict time; the layers it feeds then receive ``None``.

    Returns:
        A ``KerasTensor``.

    Raises:
        ValueError: as :class:`InputLayer`.

    Example:
        >>> import kerax as keras
        >>> keras.Input(shape=(784,)).shape
        (None, 784)
    """
    if name is None:
        from kerax import _naming

        name = _naming.unique_name("input_layer")
    return InputLayer(
        shape=shape,
        batch_size=batch_size,
        dtype=dtype,
        sparse=sparse,
        ragged=ragged,
        batch_shape=batch_shape,
        input_tensor=tensor,
        optional=optional,
        name=name,
    ).output
