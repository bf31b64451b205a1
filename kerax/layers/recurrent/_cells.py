"""SimpleRNNCell, LSTMCell, GRUCell: one timestep each, with Keras's weight layouts.

Gate order and shapes follow Keras, so weights move with ``get_weights`` /
``set_weights``: LSTM ``kernel (input_dim, 4*units)`` with gates i, f, c, o; GRU
``kernel (input_dim, 3*units)`` with gates z, r, h and, with ``reset_after``, a bias
of shape ``(2, 3*units)`` (input bias, recurrent bias).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax import activations, constraints, initializers, regularizers
from kerax._variable import call_initializer
from kerax.layers.base import Layer
from kerax.layers.recurrent._dropout import DropoutRNNCell

_INIT_KEYS = ("kernel", "recurrent", "bias")
# The per-weight constructor arguments every cell takes (kernel_initializer ...).
WEIGHT_ARGS = tuple(
    f"{w}_{kind}" for w in _INIT_KEYS for kind in ("initializer", "regularizer", "constraint")
)


def forget_bias_initializer(initializer: Any, units: int) -> Any:
    """An LSTM bias initializer whose forget-gate block starts at one (Jozefowicz et al., 2015).

    The i, c and o blocks come from ``initializer``; gate order i, f, c, o as in Keras.
    """

    def init_fn(shape, dtype=None, key=None):
        k1, k2 = jax.random.split(key) if key is not None else (None, None)
        return jnp.concatenate(
            [
                call_initializer(initializer, (units,), dtype, k1),
                jnp.ones((units,), dtype),
                call_initializer(initializer, (2 * units,), dtype, k2),
            ]
        )

    return init_fn


class _Cell(Layer, DropoutRNNCell):
    """What the three cells share: arguments, weights, dropout, config."""

    _gates = 1
    _size_arg = "units"  # what the constructor calls its first argument, for errors

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': {self._size_arg} must be a positive "
                f"integer. Received: {self._size_arg}={units!r}"
            )
        for arg, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not isinstance(rate, (int, float)) or not 0 <= rate < 1:
                raise ValueError(
                    f"{type(self).__name__} '{self.name}': {arg} must be a fraction in "
                    f"[0, 1). Received: {arg}={rate!r}"
                )
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        for k, init, reg, con in zip(
            _INIT_KEYS,
            (kernel_initializer, recurrent_initializer, bias_initializer),
            (kernel_regularizer, recurrent_regularizer, bias_regularizer),
            (kernel_constraint, recurrent_constraint, bias_constraint),
        ):
            setattr(self, f"{k}_initializer", initializers.get(init))
            setattr(self, f"{k}_regularizer", regularizers.get(reg))
            setattr(self, f"{k}_constraint", constraints.get(con))
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.seed = seed
        self.output_size = units

    def _add_weights(self, input_shape, bias_shape=None, bias_initializer=None) -> None:
        if not isinstance(input_shape, tuple) or input_shape[-1] is None:
            raise ValueError(
                f"Layer '{self.name}' needs inputs with a known last axis. "
                f"Received: input_shape={input_shape}"
            )
        width = self._gates * self.units
        self.kernel = self.add_weight(
            shape=(input_shape[-1], width),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
            name="kernel",
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width),
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
            name="recurrent_kernel",
        )
        if self.use_bias:
            self.bias = self.add_weight(
                shape=bias_shape or (width,),
                initializer=bias_initializer or self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
                name="bias",
            )
        self.built = True

    def _inputs_and_state(self, inputs, state, training):
        """Apply the dropout masks (training only); check the input width."""
        if inputs.shape[-1] != self.kernel.shape[0]:
            raise ValueError(
                f"Layer '{self.name}' was built for inputs with {self.kernel.shape[0]} "
                f"features; received shape {tuple(inputs.shape)}."
            )
        if training and self.dropout:
            inputs = inputs * self.get_dropout_mask(inputs)
        if training and self.recurrent_dropout:
            state = state * self.get_recurrent_dropout_mask(state)
        return inputs, state

    def get_initial_state(self, batch_size: int | None = None) -> list[jax.Array]:
        """Zeros, one array ``(batch_size, *shape)`` per state."""
        sizes = self.state_size if isinstance(self.state_size, list) else [self.state_size]
        shapes = [(s,) if isinstance(s, int) else tuple(s) for s in sizes]
        return [jnp.zeros((batch_size, *shape), self.compute_dtype) for shape in shapes]

    def get_config(self) -> dict:
        config = {**super().get_config(), "units": self.units}
        config["activation"] = activations.serialize(self.activation)
        config["use_bias"] = self.use_bias
        for k in _INIT_KEYS:
            config[f"{k}_initializer"] = initializers.serialize(getattr(self, f"{k}_initializer"))
            config[f"{k}_regularizer"] = regularizers.serialize(getattr(self, f"{k}_regularizer"))
            config[f"{k}_constraint"] = constraints.serialize(getattr(self, f"{k}_constraint"))
        config.update(
            dropout=self.dropout, recurrent_dropout=self.recurrent_dropout, seed=self.seed
        )
        return config


def _first_state(states):
    return states[0] if isinstance(states, (list, tuple)) else states


def _like_states(states, new):
    return new if isinstance(states, (list, tuple)) else new[0]


class SimpleRNNCell(_Cell):
    """One step of a fully connected RNN: ``h = activation(x @ W + h_prev @ U + b)``.

    Args:
        units: size of the output and the state.
        activation: default ``"tanh"``.
        use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
        kernel/recurrent/bias regularizers and constraints: as in Keras.
        dropout: fraction of the inputs to drop (training only).
        recurrent_dropout: fraction of the previous state to drop (training only).
        seed: an optional int for reproducible dropout masks.

    Call: ``cell(inputs (batch, features), states [h (batch, units)])`` returns
    ``(h, [h])``.

    Example:
        >>> import numpy as np
        >>> out, (h,) = SimpleRNNCell(4)(np.ones((2, 3)), [np.zeros((2, 4))])
        >>> out.shape, h.shape
        ((2, 4), (2, 4))
    """

    def __init__(self, units: int, activation: Any = "tanh", **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.state_size = units

    def build(self, input_shape):
        self._add_weights(input_shape)

    def call(self, inputs, states, training=None):
        inputs, h_prev = self._inputs_and_state(inputs, _first_state(states), training)
        h = inputs @ self.kernel + h_prev @ self.recurrent_kernel
        if self.use_bias:
            h = h + self.bias
        h = self.activation(h)
        return h, _like_states(states, [h])


class LSTMCell(_Cell):
    """One step of a long short-term memory cell (Hochreiter & Schmidhuber, 1997).

    Args:
        units: size of the output and of each state (h and c).
        activation: for the candidate and the output (default ``"tanh"``).
        recurrent_activation: for the gates (default ``"sigmoid"``).
        unit_forget_bias: initialize the forget-gate bias to ones (Jozefowicz et al.,
            2015).
        use_bias, initializers, regularizers, constraints, dropout,
        recurrent_dropout, seed: as in :class:`SimpleRNNCell`.

    Weights: ``kernel (input_dim, 4*units)``, ``recurrent_kernel (units, 4*units)``,
    ``bias (4*units,)``, gates in Keras order i, f, c, o.

    Call: ``cell(inputs, [h, c])`` returns ``(h, [h, c])``.

    Example:
        >>> import numpy as np
        >>> cell = LSTMCell(4)
        >>> out, (h, c) = cell(np.ones((2, 3)), [np.zeros((2, 4)), np.zeros((2, 4))])
        >>> cell.kernel.shape
        (3, 16)
    """

    _gates = 4

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        unit_forget_bias: bool = True,
        **kwargs,
    ):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = [units, units]

    def build(self, input_shape):
        forget = forget_bias_initializer(self.bias_initializer, self.units)
        self._add_weights(input_shape, bias_initializer=forget if self.unit_forget_bias else None)

    def call(self, inputs, states, training=None):
        h_prev, c_prev = states[0], states[1]
        inputs, h_in = self._inputs_and_state(inputs, h_prev, training)
        z = inputs @ self.kernel + h_in @ self.recurrent_kernel
        if self.use_bias:
            z = z + self.bias
        z_i, z_f, z_c, z_o = jnp.split(z, 4, axis=-1)
        gate = self.recurrent_activation
        c = gate(z_f) * c_prev + gate(z_i) * self.activation(z_c)
        h = gate(z_o) * self.activation(c)
        return h, [h, c]

    def get_config(self):
        return {
            **super().get_config(),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }


class GRUCell(_Cell):
    """One step of a gated recurrent unit (Cho et al., 2014).

    Args:
        units: size of the output and the state.
        activation: for the candidate (default ``"tanh"``).
        recurrent_activation: for the gates (default ``"sigmoid"``).
        reset_after: apply the reset gate after the recurrent matmul (Keras 3 and
            cuDNN default, bias ``(2, 3*units)``) or before it (bias ``(3*units,)``).
        use_bias, initializers, regularizers, constraints, dropout,
        recurrent_dropout, seed: as in :class:`SimpleRNNCell`.

    Weights: ``kernel (input_dim, 3*units)``, ``recurrent_kernel (units, 3*units)``,
    gates in Keras order z, r, h.

    Call: ``cell(inputs, [h])`` returns ``(h, [h])``.

    Example:
        >>> import numpy as np
        >>> cell = GRUCell(4)
        >>> out, (h,) = cell(np.ones((2, 3)), [np.zeros((2, 4))])
        >>> cell.bias.shape
        (2, 12)
    """

    _gates = 3

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        reset_after: bool = True,
        **kwargs,
    ):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)
        self.state_size = units

    def build(self, input_shape):
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        self._add_weights(input_shape, bias_shape=shape)

    def call(self, inputs, states, training=None):
        h_prev = _first_state(states)
        inputs, h_in = self._inputs_and_state(inputs, h_prev, training)
        u = self.units
        x = inputs @ self.kernel
        if self.use_bias:
            x = x + (self.bias[0] if self.reset_after else self.bias)
        x_z, x_r, x_h = jnp.split(x, 3, axis=-1)
        gate = self.recurrent_activation
        if self.reset_after:
            rec = h_in @ self.recurrent_kernel
            if self.use_bias:
                rec = rec + self.bias[1]
            r_z, r_r, r_h = jnp.split(rec, 3, axis=-1)
            z, r = gate(x_z + r_z), gate(x_r + r_r)
            candidate = self.activation(x_h + r * r_h)
        else:
            kernel = self.recurrent_kernel
            rec = h_in @ kernel[:, : 2 * u]
            z, r = gate(x_z + rec[:, :u]), gate(x_r + rec[:, u:])
            candidate = self.activation(x_h + (r * h_in) @ kernel[:, 2 * u :])
        h = z * h_prev + (1 - z) * candidate
        return h, _like_states(states, [h])

    def get_config(self):
        return {
            **super().get_config(),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "reset_after": self.reset_after,
        }
