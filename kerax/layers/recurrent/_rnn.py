"""``RNN``: runs a Keras-style cell over the time axis with one ``jax.lax.scan``.

A cell is a layer with ``state_size``, optionally ``output_size`` and
``get_initial_state(batch_size)``, and ``call(inputs, states, training=None)``
returning ``(output, new_states)``; exactly the Keras contract. The loop traces the
cell once, so a sequence of any length compiles to one XLA while-loop
(``unroll`` becomes ``scan``'s ``unroll``).
"""

from __future__ import annotations

import contextlib
from typing import Any

import jax
import jax.numpy as jnp

from kerax import _graph, _serialization, regularizers
from kerax._variable import Variable
from kerax.layers.base import Layer
from kerax.layers.recurrent._dropout import DropoutRNNCell
from kerax.layers.recurrent._stacked import StackedRNNCells, cell_state_shapes


def _as_list(x: Any) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _state_shapes(state_size: Any) -> list[tuple[int, ...]]:
    """Per-sample state shapes: an int ``d`` is ``(d,)``, a tuple is a shape."""
    try:
        sizes = [state_size] if isinstance(state_size, int) else list(state_size)
        return [(int(s),) if isinstance(s, int) else tuple(int(d) for d in s) for s in sizes]
    except (TypeError, ValueError):
        raise TypeError(
            "A cell's state_size must be an int, or a list with one int (or shape tuple) "
            f"per state. Received: state_size={state_size!r}"
        ) from None


def _unique(name: str, taken: set[str]) -> str:
    out, i = name, 0
    while out in taken:
        i += 1
        out = f"{name}_{i}"
    return out


def _expand_like(mask_t: jax.Array, x: jax.Array) -> jax.Array:
    return mask_t.reshape(mask_t.shape + (1,) * (x.ndim - 1))


def rnn_scan(
    step: Any,
    sequences: jax.Array,
    states: list[jax.Array],
    mask: jax.Array | None = None,
    go_backwards: bool = False,
    unroll: bool | int = False,
    zero_output_for_mask: bool = False,
    output_state: int = 0,
) -> tuple[jax.Array, jax.Array, list[jax.Array]]:
    """Run ``step(x_t, states) -> (output, new_states)`` over axis 1 of ``sequences``.

    Masked steps (``mask[b, t]`` false) keep the previous states; their output is
    zeros (``zero_output_for_mask``) or the previous output, which is state
    ``output_state`` (the first; a stack's last cell's first), as Keras's JAX backend
    does.

    Returns:
        ``(last_output, outputs, final_states)``; ``outputs`` is
        ``(batch, time, ...)``, in processing order (reversed when ``go_backwards``).
    """
    xs = jnp.swapaxes(sequences, 0, 1)  # (time, batch, ...): scan walks axis 0

    def masked_body(carry, inputs):
        x_t, m_t = inputs
        output, new_states = step(x_t, carry)
        if zero_output_for_mask:
            previous = jnp.zeros_like(output)
        else:
            previous = carry[output_state]
            if previous.shape != output.shape:
                raise ValueError(
                    f"With a mask, masked steps repeat the first state as output, but the "
                    f"cell's output has shape {output.shape} and its first state "
                    f"{previous.shape}. Pass zero_output_for_mask=True to the RNN."
                )
        output = jnp.where(_expand_like(m_t, output), output, previous)
        new_states = [jnp.where(_expand_like(m_t, n), n, s) for n, s in zip(new_states, carry)]
        return new_states, output

    def body(carry, x_t):
        output, new_states = step(x_t, carry)
        return new_states, output

    if mask is None:
        final, outputs = jax.lax.scan(body, states, xs, reverse=go_backwards, unroll=unroll)
    else:
        ms = jnp.swapaxes(jnp.asarray(mask).astype(bool), 0, 1)  # (time, batch)
        final, outputs = jax.lax.scan(
            masked_body, states, (xs, ms), reverse=go_backwards, unroll=unroll
        )
    if go_backwards:
        # scan(reverse=True) stores step t at index t; Keras returns processing order.
        outputs = jnp.flip(outputs, 0)
    return outputs[-1], jnp.swapaxes(outputs, 0, 1), final


def layer_table() -> dict[str, type]:
    """Every built-in layer class by name, for (de)serializing nested layers."""
    from kerax import layers
    from kerax.layers import recurrent

    table = layers._module_objects()
    table.update(
        {
            n: getattr(recurrent, n)
            for n in recurrent.__all__
            if isinstance(getattr(recurrent, n), type)
        }
    )
    return table


def serialize_layer(layer: Layer) -> dict:
    return _serialization.serialize_keras_object(layer, "keras.layers", layer_table())


def deserialize_layer(config: Any, custom_objects: dict | None = None) -> Layer:
    if isinstance(config, Layer):
        return config
    return _serialization.deserialize_keras_object(
        config, layer_table(), custom_objects=custom_objects, kind="layer"
    )


class RNN(Layer):
    """Runs a recurrent cell over the time axis of its inputs.

    Args:
        cell: a layer with ``state_size`` (an int, or a list with one entry per
            state), optionally ``output_size``, and
            ``call(inputs, states, training=None) -> (output, new_states)``.
        return_sequences: return the output of every step, not only the last.
        return_state: also return the final states (a tuple ``(output, *states)``).
        go_backwards: process the sequence from the end (outputs come reversed).
        stateful: the final states of a batch are the initial states of the next
            (in ``fit``, ``evaluate``, ``predict`` and eager calls); needs a fixed
            batch size. The states are not weights (as in Keras 3); in the
            ``init``/``apply`` pytree they are ``non_trainable`` entries, which
            ``apply`` returns updated. ``reset_state()`` zeroes them.
        unroll: unroll the loop (``jax.lax.scan``'s ``unroll``: ``True``, or a
            number of steps per iteration).
        zero_output_for_mask: masked steps output zeros instead of the previous
            output.

    Call arguments: ``sequences`` ``(batch, time, ...)``; ``initial_state`` (a list
    of arrays, one per state); ``mask`` ``(batch, time)``, true for steps to use;
    ``training``.

    Input shape ``(batch, time, features...)``; output ``(batch, output_size)``,
    or ``(batch, time, output_size)`` with ``return_sequences``.

    Example:
        >>> import numpy as np, kerax as keras
        >>> from kerax.layers.recurrent import RNN, SimpleRNNCell
        >>> RNN(SimpleRNNCell(4), return_sequences=True)(np.ones((2, 5, 3))).shape
        (2, 5, 4)
    """

    def __init__(
        self,
        cell: Layer,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool | int = False,
        zero_output_for_mask: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)  # as Keras: a list of cells runs stacked
        if isinstance(cell, dict):
            cell = deserialize_layer(cell)
        if not isinstance(cell, Layer) or not hasattr(cell, "state_size"):
            raise TypeError(
                f"RNN '{self.name}' needs a cell: a kerax Layer with a state_size "
                "attribute and call(inputs, states) returning (output, new_states). "
                f"Received: cell={cell!r}"
            )
        if not isinstance(unroll, (bool, int)) or (not isinstance(unroll, bool) and unroll < 1):
            raise ValueError(
                f"RNN '{self.name}': unroll must be a bool or a positive number of steps. "
                f"Received: unroll={unroll!r}"
            )
        cell_state_shapes(cell)  # fail early on a malformed state_size
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = unroll
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        object.__setattr__(self, "_state_variables", [])
        object.__setattr__(self, "_expected_batch_size", None)
        object.__setattr__(self, "_step_shape", None)

    @property
    def state_size(self) -> list:
        return _as_list(self.cell.state_size)

    # -- states ----------------------------------------------------------------
    @property
    def states(self) -> list | None:
        """The stateful layer's state variables (``None`` when not stateful)."""
        return list(self._state_variables) if self._state_variables else None

    def get_initial_state(self, batch_size: int) -> list[jax.Array]:
        """The cell's initial states for a batch (zeros unless the cell says otherwise)."""
        return self.initial_state_of(self.cell, batch_size)

    @staticmethod
    def initial_state_of(cell: Layer, batch_size: int) -> list[jax.Array]:
        """``cell``'s initial states for a batch, flat (a stack's cells' states in order)."""
        make = getattr(cell, "get_initial_state", None)
        if make is not None:
            return jax.tree_util.tree_leaves(make(batch_size=batch_size))
        dtype = cell.compute_dtype
        return [jnp.zeros((batch_size, *s), dtype) for s in cell_state_shapes(cell)]

    def reset_states(self) -> None:
        """Set a stateful layer's states back to zeros."""
        self.reset_state()

    def reset_state(self) -> None:
        """Set a stateful layer's states back to zeros (Keras 3 name)."""
        for v in self._state_variables:
            v.assign(jnp.zeros(v.shape, v.dtype))

    # -- building and calling ----------------------------------------------------
    def __call__(self, *args, **kwargs):
        first = args[0] if args else None
        if self.stateful and _graph.is_symbolic(first) and first.shape[0] is None:
            raise ValueError(
                f"Layer '{self.name}' is stateful, so it needs a fixed batch size; its "
                f"input has shape {first.shape}. Pass batch_size=... to keras.Input "
                "(e.g. keras.Input(shape=(5, 3), batch_size=2))."
            )
        return super().__call__(*args, **kwargs)

    def build(self, sequences_shape: Any, initial_state_shape: Any = None) -> None:
        if not isinstance(sequences_shape, tuple) or len(sequences_shape) < 3:
            raise ValueError(
                f"Layer '{self.name}' expects inputs of rank >= 3 (batch, timesteps, "
                f"features). Received: input_shape={sequences_shape}"
            )
        if not self.cell.built:
            try:
                self.cell.build((sequences_shape[0], *sequences_shape[2:]))
            except ValueError as e:
                raise ValueError(f"Layer '{self.name}' could not build its cell: {e}") from e
            self.cell.built = True
        object.__setattr__(self, "_step_shape", tuple(sequences_shape[2:]))
        if self.stateful and not self._state_variables:
            self._create_state_variables(sequences_shape[0])
        self.built = True

    def _create_state_variables(self, batch_size: Any) -> None:
        """The states as variables outside the weights, as in Keras 3.

        They are not in ``weights``/``get_weights()`` nor in saved files (Keras keeps
        them off its tracker); they are in the variables pytree (``non_trainable``,
        under this layer's name), so ``apply`` returns them updated and ``fit``,
        ``evaluate`` and ``predict`` carry them from batch to batch.
        """
        if batch_size is None:
            raise ValueError(
                f"Layer '{self.name}' is stateful, so it needs a fixed batch size; it was "
                "built without one. Pass batch_size=... to keras.Input (e.g. "
                "keras.Input(shape=(5, 3), batch_size=2)) or call it on a batch first."
            )
        batch_size = int(batch_size)
        handles: list[Variable] = []
        taken = {v.name for v in self._own_variables}
        for i, shape in enumerate(cell_state_shapes(self.cell)):
            # Lazy, like every initializer: build may run under a trace.
            def initial(shape, dtype, i=i):
                return jnp.asarray(self.get_initial_state(batch_size)[i], dtype)

            v = Variable(
                initial,
                shape=(batch_size, *shape),
                dtype=self.variable_dtype,
                trainable=False,
                name=_unique(f"rnn_state_{i}" if i else "rnn_state", taken),
            )
            taken.add(v.name)
            v.path = f"{self.name}/{v.name}"
            handles.append(v)
        # Kept off the attribute tracker (object.__setattr__): `states` stays the handles.
        object.__setattr__(self, "_state_variables", handles)
        object.__setattr__(self, "_expected_batch_size", batch_size)

    def _check_call(self, sequences, initial_state, mask):
        if sequences.ndim < 3:
            raise ValueError(
                f"Layer '{self.name}' expects inputs of rank >= 3 (batch, timesteps, "
                f"features). Received: shape {tuple(sequences.shape)}"
            )
        batch, time = sequences.shape[:2]
        built_for, step = self._step_shape, tuple(sequences.shape[2:])
        if built_for is not None and (
            len(step) != len(built_for) or any(b not in (None, s) for b, s in zip(built_for, step))
        ):
            raise ValueError(
                f"Layer '{self.name}' was built for timesteps of shape {built_for}; received "
                f"inputs of shape {tuple(sequences.shape)}. Every call needs the same "
                "feature shape (only batch and time may change)."
            )
        if mask is not None and tuple(jnp.shape(mask)) != (batch, time):
            raise ValueError(
                f"Layer '{self.name}' expects a mask of shape (batch, timesteps) = "
                f"{(batch, time)}. Received: mask.shape={tuple(jnp.shape(mask))}"
            )
        expected = self._expected_batch_size
        if expected is not None and batch != expected:
            raise ValueError(
                f"Layer '{self.name}' is stateful with batch size {expected}; received a "
                f"batch of {batch}. Stateful RNNs need the same batch size on every call: "
                f"pass batch_size={expected} to fit/evaluate/predict, and a number of "
                f"samples divisible by {expected}."
            )
        if initial_state is not None:
            expected = [(batch, *s) for s in cell_state_shapes(self.cell)]
            got = [tuple(jnp.shape(s)) for s in initial_state]
            if got != expected:
                raise ValueError(
                    f"Layer '{self.name}' expects initial_state as {len(expected)} array(s) "
                    f"of shapes {expected}. Received shapes: {got}"
                )

    def call(self, sequences, initial_state=None, mask=None, training=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if initial_state is not None:
            initial_state = jax.tree_util.tree_leaves(initial_state)  # a stack's: nested
        self._check_call(sequences, initial_state, mask)
        if initial_state is None:
            if self._state_variables:
                initial_state = [v.value for v in self._state_variables]
            else:
                initial_state = self.get_initial_state(sequences.shape[0])
        dtype = self.cell.compute_dtype
        states = [jnp.asarray(s).astype(dtype) for s in initial_state]

        def step(x_t, carry):
            output, new_states = self.cell(x_t, list(carry), training=training)
            new_states = jax.tree_util.tree_leaves(new_states)  # a stack's: nested per cell
            new_states = [jnp.asarray(n).astype(dtype) for n in new_states]
            return output.astype(dtype), new_states

        masks = contextlib.nullcontext()
        if isinstance(self.cell, DropoutRNNCell):
            masks = self.cell._fixed_dropout_masks(sequences[:, 0], states[0], training)
        with masks:
            last, outputs, final = rnn_scan(
                step,
                sequences,
                states,
                mask=mask,
                go_backwards=self.go_backwards,
                unroll=self.unroll,
                zero_output_for_mask=self.zero_output_for_mask,
                output_state=getattr(self.cell, "output_state_index", 0),
            )
        for v, s in zip(self._state_variables, final):
            v.assign(s)
        output = outputs if self.return_sequences else last
        if not self.return_state:
            return output
        nest = getattr(self.cell, "nest_states", None)  # a stack: states per cell, as Keras
        return (output, *(nest(list(final)) if nest is not None else final))  # a tuple, as Keras

    def compute_mask(self, inputs, previous_mask=None):
        if isinstance(previous_mask, (list, tuple)):
            previous_mask = previous_mask[0]
        output_mask = previous_mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self.state_size)
        return output_mask

    # -- config ----------------------------------------------------------------
    def _rnn_config(self) -> dict:
        return {
            **super().get_config(),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
        }

    def get_config(self) -> dict:
        config = {**self._rnn_config(), "cell": serialize_layer(self.cell)}
        config.pop("activity_regularizer")  # Keras's RNN saves it in LSTM/GRU/SimpleRNN only
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> RNN:
        config = dict(config)
        cell = deserialize_layer(config.pop("cell"), custom_objects)
        return cls(cell, **config)
