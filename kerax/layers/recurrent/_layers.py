"""SimpleRNN, LSTM, GRU: ``RNN`` over the matching cell, with Keras 3 arguments.

Each layer owns one cell named as in Keras (``lstm_cell`` ...), so the variable
pytree reads ``{"lstm": {"lstm_cell": {"kernel", "recurrent_kernel", "bias"}}}`` and
``get_weights()`` lists kernel, recurrent_kernel, bias as Keras does.
"""

from __future__ import annotations

from typing import Any

from kerax.layers.recurrent._cells import WEIGHT_ARGS, GRUCell, LSTMCell, SimpleRNNCell
from kerax.layers.recurrent._rnn import RNN

_RNN_ARGS = (
    "return_sequences",
    "return_state",
    "go_backwards",
    "stateful",
    "unroll",
    "zero_output_for_mask",
)
_LAYER_ARGS = (
    "name",
    "trainable",
    "dtype",
    "autocast",
    "activity_regularizer",
    "input_shape",
    "input_dim",
    "batch_input_shape",
    "batch_size",
)
# The cell's arguments, readable on the layer as in Keras (lstm.units, gru.reset_after).
_CELL_ATTRS = frozenset(
    [
        "units",
        "activation",
        "recurrent_activation",
        "use_bias",
        "unit_forget_bias",
        "reset_after",
        "dropout",
        "recurrent_dropout",
        "seed",
        *WEIGHT_ARGS,
    ]
)


class _CellRNN(RNN):
    """An RNN that builds its own cell from the constructor's cell arguments."""

    _cell_class: type = SimpleRNNCell
    _cell_name = "simple_rnn_cell"

    def __init__(self, units: int, **kwargs):
        layer_kwargs = {k: kwargs.pop(k) for k in (*_RNN_ARGS, *_LAYER_ARGS) if k in kwargs}
        unknown = sorted(set(kwargs) - _CELL_ATTRS)
        if unknown:
            raise TypeError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: {unknown}. "
                f"Valid cell arguments: {sorted(_CELL_ATTRS)}; layer arguments: "
                f"{list(_RNN_ARGS + _LAYER_ARGS)}."
            )
        cell = self._cell_class(
            units,
            name=self._cell_name,
            dtype=layer_kwargs.get("dtype"),
            trainable=layer_kwargs.get("trainable", True),
            **kwargs,
        )
        super().__init__(cell, **layer_kwargs)

    def __getattr__(self, name: str) -> Any:
        cell = self.__dict__.get("cell")
        if cell is not None and name in _CELL_ATTRS:
            return getattr(cell, name)
        return super().__getattr__(name)

    def get_config(self) -> dict:
        cell_config = self.cell.get_config()
        for k in ("name", "trainable", "dtype"):
            cell_config.pop(k, None)
        return {**self._rnn_config(), **cell_config}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> _CellRNN:
        return cls(**config)


_SHAPES = """
    Input shape ``(batch, timesteps, features)``. Output ``(batch, units)``, or
    ``(batch, timesteps, units)`` with ``return_sequences``; with ``return_state``
    a tuple ``(output, *final_states)``, as in Keras. Call with ``mask=`` (``(batch, timesteps)``,
    true for steps to use) and ``initial_state=`` (a list of ``(batch, units)``
    arrays) as in Keras.
"""

_COMMON = """
        use_bias: whether the cell has a bias.
        kernel_initializer, recurrent_initializer, bias_initializer: Keras defaults
            ``"glorot_uniform"``, ``"orthogonal"``, ``"zeros"``.
        kernel_regularizer, recurrent_regularizer, bias_regularizer,
        activity_regularizer: penalties added to the training loss.
        kernel_constraint, recurrent_constraint, bias_constraint: projections after
            each update.
        dropout: fraction of the inputs dropped (one mask per call, training only).
        recurrent_dropout: fraction of the recurrent state dropped.
        seed: an optional int for reproducible dropout masks.
        return_sequences, return_state, go_backwards, stateful, unroll,
        zero_output_for_mask: as in :class:`RNN`.
"""


class SimpleRNN(_CellRNN):
    __doc__ = (
        """A fully connected RNN whose output is fed back as its next input.

    Args:
        units: size of the output and the state.
        activation: default ``"tanh"``."""
        + _COMMON
        + _SHAPES
        + """
    Example:
        >>> import numpy as np, kerax as keras
        >>> from kerax.layers.recurrent import SimpleRNN
        >>> SimpleRNN(4)(np.ones((2, 5, 3))).shape
        (2, 4)
    """
    )

    _cell_class = SimpleRNNCell
    _cell_name = "simple_rnn_cell"

    def __init__(self, units: int, activation: Any = "tanh", **kwargs):
        super().__init__(units, activation=activation, **kwargs)

    def get_config(self) -> dict:
        # Keras's SimpleRNN (unlike LSTM, GRU and every cell) leaves `seed` out of its
        # config; the constructor still takes it, so older kerax configs load.
        config = super().get_config()
        config.pop("seed", None)
        return config


class LSTM(_CellRNN):
    __doc__ = (
        """Long short-term memory layer (Hochreiter & Schmidhuber, 1997).

    Args:
        units: size of the output and of each state.
        activation: for the candidate and output (default ``"tanh"``).
        recurrent_activation: for the gates (default ``"sigmoid"``).
        unit_forget_bias: start the forget-gate bias at one (default True)."""
        + _COMMON
        + _SHAPES
        + """
    Weights (in the cell): ``kernel (features, 4*units)``, ``recurrent_kernel
    (units, 4*units)``, ``bias (4*units,)``, gates i, f, c, o as in Keras.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.recurrent import LSTM
        >>> out, h, c = LSTM(4, return_state=True)(np.ones((2, 5, 3)))
        >>> out.shape, c.shape
        ((2, 4), (2, 4))
    """
    )

    _cell_class = LSTMCell
    _cell_name = "lstm_cell"

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        unit_forget_bias: bool = True,
        **kwargs,
    ):
        kwargs.pop("use_cudnn", None)  # Keras's cuDNN switch; XLA picks the kernels here
        super().__init__(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
            unit_forget_bias=unit_forget_bias,
            **kwargs,
        )


class GRU(_CellRNN):
    __doc__ = (
        """Gated recurrent unit layer (Cho et al., 2014).

    Args:
        units: size of the output and the state.
        activation: for the candidate (default ``"tanh"``).
        recurrent_activation: for the gates (default ``"sigmoid"``).
        reset_after: apply the reset gate after the recurrent matmul (default True,
            as Keras 3; bias ``(2, 3*units)``), or before it (bias ``(3*units,)``)."""
        + _COMMON
        + _SHAPES
        + """
    Example:
        >>> import numpy as np
        >>> from kerax.layers.recurrent import GRU
        >>> GRU(4, return_sequences=True)(np.ones((2, 5, 3))).shape
        (2, 5, 4)
    """
    )

    _cell_class = GRUCell
    _cell_name = "gru_cell"

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        reset_after: bool = True,
        **kwargs,
    ):
        kwargs.pop("use_cudnn", None)  # Keras's cuDNN switch; XLA picks the kernels here
        super().__init__(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
            reset_after=reset_after,
            **kwargs,
        )
