"""Bidirectional and TimeDistributed: wrappers that run another layer over time."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax.layers.base import Layer
from kerax.layers.recurrent._rnn import RNN, deserialize_layer, serialize_layer
from kerax.layers.wrapper import Wrapper

_MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def _clone(layer: Layer, **overrides) -> Layer:
    """A fresh layer with ``layer``'s config (and ``overrides``); an RNN's cell is cloned too."""
    config = {**layer.get_config(), **overrides}
    cell = getattr(layer, "cell", None)
    if isinstance(layer, RNN) and "cell" in config:
        # Clone the cell object directly: a custom cell class need not be registered.
        config["cell"] = type(cell).from_config(cell.get_config())
    return type(layer).from_config(config)


def _strip(name: str, prefix: str) -> str:
    return name[len(prefix) :] if name.startswith(prefix) else name


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and backwards over time and merges the outputs.

    Args:
        layer: an ``RNN`` (``LSTM``, ``GRU`` ...), or any layer with ``go_backwards``,
            ``return_sequences`` and ``return_state`` attributes and a config. It is
            copied (fresh weights) into ``forward_layer``, and, unless
            ``backward_layer`` is given, into ``backward_layer`` with
            ``go_backwards=True``.
        merge_mode: ``"concat"`` (default), ``"sum"``, ``"mul"``, ``"ave"``, or
            ``None`` for a list ``[forward, backward]``.
        backward_layer: an optional layer for the backward direction; it must differ
            from ``layer`` in ``go_backwards`` and agree in ``return_sequences``,
            ``return_state`` and ``stateful``.

    Call arguments as for the wrapped layer; ``initial_state`` gives the forward
    states first, then the backward ones. With ``return_sequences``, the backward
    outputs are flipped back to input order before merging, and masked steps output
    zeros (Keras forces ``zero_output_for_mask`` to ``return_sequences``).

    Output: the merged output (last axis doubled by ``"concat"``; a tuple of both
    directions' with ``merge_mode=None``); with ``return_state`` a tuple
    ``(output(s)..., *forward_states, *backward_states)``, as in Keras.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.recurrent import LSTM, Bidirectional
        >>> Bidirectional(LSTM(4, return_sequences=True))(np.ones((2, 5, 3))).shape
        (2, 5, 8)
    """

    def __init__(
        self,
        layer: Layer,
        merge_mode: str | None = "concat",
        backward_layer: Layer | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(layer, dict):
            layer = deserialize_layer(layer)
        if isinstance(backward_layer, dict):
            backward_layer = deserialize_layer(backward_layer)
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Bidirectional '{self.name}' wraps a kerax Layer (e.g. LSTM(8)). "
                f"Received: layer={layer!r}"
            )
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise TypeError(
                f"Bidirectional '{self.name}': backward_layer must be a kerax Layer. "
                f"Received: backward_layer={backward_layer!r}"
            )
        if merge_mode not in _MERGE_MODES:
            raise ValueError(
                f"Bidirectional '{self.name}': merge_mode must be one of {_MERGE_MODES}. "
                f"Received: merge_mode={merge_mode!r}"
            )
        for attr in ("go_backwards", "return_sequences", "return_state"):
            if not hasattr(layer, attr):
                raise TypeError(
                    f"Bidirectional '{self.name}' wraps sequence layers with a '{attr}' "
                    f"attribute (RNN, LSTM, GRU ...). Received: layer={layer!r}"
                )
        self.forward_layer = _clone(layer, name=f"forward_{_strip(layer.name, 'forward_')}")
        if backward_layer is None:
            backward_layer = _clone(
                layer, name=f"backward_{_strip(layer.name, 'backward_')}", go_backwards=True
            )
        self.backward_layer = backward_layer
        if self.forward_layer.go_backwards == self.backward_layer.go_backwards:
            raise ValueError(
                f"Bidirectional '{self.name}': the forward and backward layers need "
                "different go_backwards values. Received: go_backwards="
                f"{self.forward_layer.go_backwards} for both."
            )
        for attr in ("stateful", "return_sequences", "return_state"):
            f = getattr(self.forward_layer, attr, False)
            b = getattr(self.backward_layer, attr, False)
            if f != b:
                raise ValueError(
                    f"Bidirectional '{self.name}': the forward and backward layers must "
                    f"agree on {attr}. Received: {f} (forward) and {b} (backward)."
                )
        for sub in (self.forward_layer, self.backward_layer):
            if hasattr(sub, "zero_output_for_mask"):
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self.stateful = getattr(layer, "stateful", False)
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True

    def build(self, sequences_shape: Any, initial_state_shape: Any = None) -> None:
        for sub in (self.forward_layer, self.backward_layer):
            if not sub.built:
                sub.build(sequences_shape)
                sub.built = True
        self.built = True

    @property
    def states(self) -> list | None:
        f = getattr(self.forward_layer, "states", None)
        b = getattr(self.backward_layer, "states", None)
        return None if f is None or b is None else list(f) + list(b)

    def reset_states(self) -> None:
        self.reset_state()

    def reset_state(self) -> None:
        """Zero both directions' states (stateful layers only)."""
        if not self.stateful:
            raise AttributeError(
                f"Bidirectional '{self.name}' is not stateful, so it has no states to reset."
            )
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    def _merge(self, y, y_rev):
        if self.merge_mode == "concat":
            return jnp.concatenate([y, y_rev], axis=-1)
        if self.merge_mode == "sum":
            return y + y_rev
        if self.merge_mode == "ave":
            return (y + y_rev) / 2
        if self.merge_mode == "mul":
            return y * y_rev
        return (y, y_rev)

    def call(self, sequences, initial_state=None, mask=None, training=None):
        kwargs = {"training": training}
        if mask is not None:
            kwargs["mask"] = mask
        forward_kwargs, backward_kwargs = dict(kwargs), dict(kwargs)
        if initial_state is not None:
            initial_state = list(initial_state)
            half = len(initial_state) // 2
            forward_kwargs["initial_state"] = initial_state[:half]
            backward_kwargs["initial_state"] = initial_state[half:]
        y = self.forward_layer(sequences, **forward_kwargs)
        y_rev = self.backward_layer(sequences, **backward_kwargs)
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = jnp.flip(y_rev, axis=1)  # back to input order
        output = self._merge(y, y_rev)
        if not self.return_state:
            return output
        return (output if self.merge_mode is None else (output,)) + tuple(states)

    def compute_mask(self, inputs, previous_mask=None):
        if isinstance(previous_mask, (list, tuple)):
            previous_mask = previous_mask[0]
        output_mask = previous_mask if self.return_sequences else None
        masks = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if self.return_state:
            n_states = len(getattr(self.forward_layer, "state_size", [])) * 2
            return masks + [None] * n_states
        return masks if self.merge_mode is None else output_mask

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "merge_mode": self.merge_mode,
            "layer": serialize_layer(self.forward_layer),
            "backward_layer": serialize_layer(self.backward_layer),
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Bidirectional:
        config = dict(config)
        config["layer"] = deserialize_layer(config["layer"], custom_objects)
        if config.get("backward_layer") is not None:
            config["backward_layer"] = deserialize_layer(config["backward_layer"], custom_objects)
        return cls(**config)


class TimeDistributed(Wrapper):
    """Applies a layer to every timestep of its input (axis 1).

    Args:
        layer: the layer to apply; it sees inputs of shape ``(batch * time, ...)``,
            so that one call (one matmul, one conv) covers all timesteps. Layers whose
            training statistics span the batch (BatchNormalization) therefore pool them
            over batch and time.

    Input shape ``(batch, time, ...)``; output ``(batch, time, ...layer output)``.
    A ``(batch, time)`` mask passes through, reshaped for layers that accept one.

    Example:
        >>> import numpy as np
        >>> from kerax.layers import Dense
        >>> from kerax.layers.recurrent import TimeDistributed
        >>> TimeDistributed(Dense(2))(np.ones((2, 5, 3))).shape
        (2, 5, 2)
    """

    def __init__(self, layer: Layer, **kwargs):
        super().__init__(layer, **kwargs)
        self.supports_masking = True

    def _check_rank(self, shape) -> None:
        if len(shape) < 3:
            raise ValueError(
                f"Layer '{self.name}' (TimeDistributed) expects inputs of rank >= 3 "
                f"(batch, time, ...). Received: input_shape={tuple(shape)}"
            )

    def build(self, input_shape: Any) -> None:
        self._check_rank(input_shape)
        if not self.layer.built:
            batch, time = input_shape[:2]
            merged = None if batch is None or time is None else batch * time
            self.layer.build((merged, *input_shape[2:]))
            self.layer.built = True
        self.built = True

    def call(self, inputs, training=None, mask=None):
        self._check_rank(inputs.shape)
        batch, time = inputs.shape[:2]
        flat = inputs.reshape((batch * time, *inputs.shape[2:]))  # (batch*time, ...)
        kwargs = {"training": training}
        if mask is not None and self.layer._call_accepts("mask"):
            if tuple(mask.shape[:2]) != (batch, time):
                raise ValueError(
                    f"Layer '{self.name}' expects a mask of shape (batch, time) = "
                    f"{(batch, time)}. Received: mask.shape={tuple(mask.shape)}"
                )
            kwargs["mask"] = mask.reshape((batch * time, *mask.shape[2:]))
        outputs = self.layer(flat, **kwargs)
        return jax.tree_util.tree_map(lambda y: y.reshape((batch, time, *y.shape[1:])), outputs)
