"""``StackedRNNCells``: several cells run as one, each feeding the next (Keras 3).

``RNN([cell_a, cell_b])`` wraps the list in one. Its ``state_size`` is Keras's nested
list (one entry per cell); ``RNN`` carries the states flat through its loop
(``flat_state_shapes``) and hands them back nested per cell, as Keras returns them.
"""

from __future__ import annotations

from typing import Any

import jax

from kerax.layers.base import Layer


def cell_state_shapes(cell: Any) -> list[tuple[int, ...]]:
    """Per-sample shapes of a cell's states, flat (a stack lists every cell's)."""
    flat = getattr(cell, "flat_state_shapes", None)
    if flat is not None:
        return flat()
    from kerax.layers.recurrent._rnn import _state_shapes

    return _state_shapes(cell.state_size)


class StackedRNNCells(Layer):
    """A list of RNN cells that behaves as one cell: each cell's output is the next one's
    input, and the states are every cell's states.

    Args:
        cells: the cells, first to last (each a layer with ``state_size`` and
            ``call(inputs, states, training=None)``).

    Example:
        >>> import numpy as np, kerax as keras
        >>> cells = [keras.layers.LSTMCell(8), keras.layers.GRUCell(4)]
        >>> keras.layers.RNN(keras.layers.StackedRNNCells(cells))(np.ones((2, 5, 3))).shape
        (2, 4)
    """

    def __init__(self, cells: list, **kwargs):
        super().__init__(**kwargs)
        cells = list(cells)
        if not cells:
            raise ValueError("StackedRNNCells needs at least one cell. Received: cells=[]")
        for cell in cells:
            if not callable(getattr(cell, "call", None)) or not hasattr(cell, "state_size"):
                raise ValueError(
                    "Every cell of StackedRNNCells needs a `call` method and a `state_size` "
                    f"attribute. Received: {cell!r}"
                )
        self.cells = cells

    @property
    def state_size(self) -> list:
        return [cell.state_size for cell in self.cells]

    @property
    def output_size(self) -> Any:
        return _output_size(self.cells[-1])

    def flat_state_shapes(self) -> list[tuple[int, ...]]:
        return [shape for cell in self.cells for shape in cell_state_shapes(cell)]

    @property
    def output_state_index(self) -> int:
        """Where in the flat states the stack's output is kept: the last cell's first."""
        return sum(len(cell_state_shapes(cell)) for cell in self.cells[:-1])

    def nest_states(self, flat: list, like: Any = None) -> list:
        """Flat states grouped per cell, a list each (as ``get_initial_state`` gives
        them), as Keras returns them; where ``like`` (the states a call received, one
        entry per cell) gave a single-state cell's state bare, it is returned bare."""
        out, start = [], 0
        for i, cell in enumerate(self.cells):
            n = len(cell_state_shapes(cell))
            mine = list(flat[start : start + n])
            bare = like is not None and n == 1 and not isinstance(like[i], (list, tuple))
            out.append(mine[0] if bare else mine)
            start += n
        return out

    def get_initial_state(self, batch_size: int) -> list:
        from kerax.layers.recurrent._rnn import RNN

        return [RNN.initial_state_of(cell, batch_size) for cell in self.cells]

    def build(self, input_shape: Any = None) -> None:
        shape = tuple(input_shape)
        for cell in self.cells:
            if not cell.built:
                cell.build(shape)
                cell.built = True
            shape = (shape[0], _output_size(cell))

    def call(self, inputs: Any, states: Any, training: Any = None) -> tuple:
        flat = jax.tree_util.tree_leaves(states)
        if len(flat) != len(self.flat_state_shapes()):
            raise ValueError(
                f"StackedRNNCells '{self.name}' takes {len(self.flat_state_shapes())} state "
                f"arrays (its cells' states in order). Received {len(flat)}."
            )
        new_states, start = [], 0
        for cell in self.cells:
            n = len(cell_state_shapes(cell))
            inputs, new = cell(inputs, flat[start : start + n], training=training)
            new_states.extend(jax.tree_util.tree_leaves(new))
            start += n
        per_cell = isinstance(states, (list, tuple)) and len(states) == len(self.cells)
        return inputs, self.nest_states(new_states, states if per_cell else None)

    def get_config(self) -> dict:
        from kerax.layers.recurrent._rnn import serialize_layer

        return {**super().get_config(), "cells": [serialize_layer(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> StackedRNNCells:
        from kerax.layers.recurrent._rnn import deserialize_layer

        config = dict(config)
        cells = [deserialize_layer(c, custom_objects) for c in config.pop("cells")]
        return cls(cells, **config)


def _output_size(cell: Any) -> int:
    size = getattr(cell, "output_size", None)
    if size is not None:
        return size
    state = cell.state_size
    return state[0] if isinstance(state, (list, tuple)) else state
