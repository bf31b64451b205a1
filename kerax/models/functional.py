"""Functional models: ``Model(inputs, outputs)`` replays the recorded layer graph."""

from __future__ import annotations

from typing import Any

import jax

from kerax import _function, _graph
from kerax.layers.core import InputLayer
from kerax.models.model import Model


def _flatten(structure: Any) -> list:
    return jax.tree_util.tree_leaves(structure, is_leaf=_graph.is_symbolic)


def _dict_keys(structure: Any) -> list[str] | None:
    """The keys of a flat dict of tensors in flattening order (sorted, as Keras's
    ``tree.flatten``), or None for any other structure."""
    if isinstance(structure, dict) and all(_graph.is_symbolic(t) for t in structure.values()):
        return sorted(structure)
    return None


class Functional(Model):
    """A model defined by symbolic inputs and the outputs computed from them.

    Args:
        inputs: a ``keras.Input`` tensor, or a list/dict of them.
        outputs: a tensor, or a list/dict of tensors, computed from ``inputs``.
        name: the model's name.

    Example:
        >>> import kerax as keras
        >>> x = keras.Input(shape=(4,))
        >>> y = keras.layers.Dense(2)(x)
        >>> keras.Model(x, y).output_shape
        (None, 2)
    """

    def __init__(self, inputs: Any, outputs: Any, name: str | None = None, **kwargs):
        Model.__init__(self, name=name, **kwargs)
        for t in _flatten(inputs) + _flatten(outputs):
            if not _graph.is_symbolic(t):
                raise TypeError(
                    "Model(inputs, outputs) needs symbolic tensors from keras.Input(...) and "
                    f"layer calls on them. Received: {t!r}"
                )
        for t in _flatten(inputs):
            if not isinstance(t.node.layer, InputLayer):
                raise ValueError(
                    f"Model inputs must come directly from keras.Input(...); {t!r} was "
                    f"produced by layer '{t.node.layer.name}'."
                )
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        # One graph walk with keras.Function (kerax._function): the nodes in a
        # topological order, the layers in Keras's order (weights, summaries, files).
        post_order, self._layers = _function.map_graph(inputs, outputs)
        input_nodes = [t.node for t in _flatten(inputs)]
        skip = {id(n) for n in input_nodes}
        # Execution order: the inputs, then a topological order of the rest.
        self._nodes = input_nodes + [n for n in post_order if id(n) not in skip]
        self.built = True

    # -- inputs and outputs ----------------------------------------------------------
    @property
    def inputs(self) -> list:
        return _flatten(self._inputs_struct)

    @property
    def outputs(self) -> list:
        return _flatten(self._outputs_struct)

    @property
    def input(self) -> Any:
        return self._inputs_struct

    @property
    def output(self) -> Any:
        return self._outputs_struct

    @property
    def input_names(self) -> list[str]:
        return [t.node.layer.name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [t.node.layer.name for t in self.outputs]

    def _output_keys(self) -> list[str]:
        """A dict of outputs is keyed by its keys (losses, metrics, targets, logs)."""
        return _dict_keys(self._outputs_struct) or self.output_names

    @property
    def input_shape(self) -> Any:
        """The input's shape, or a list of shapes in ``model.inputs`` order (as Keras:
        flat, also for a dict or nested structure of inputs)."""
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self) -> Any:
        """The output's shape, or a list of shapes in ``model.outputs`` order."""
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    # -- running ---------------------------------------------------------------------
    def _match_inputs(self, inputs: Any) -> list:
        """Map what the caller passed (one array, list, or dict) to input order. A dict
        goes by the keys of the model's dict of inputs, else by the inputs' names."""
        expected = self.inputs
        if isinstance(inputs, dict):
            names = _dict_keys(self._inputs_struct) or self.input_names
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError(
                    f"Model '{self.name}' expects inputs keyed {names}; the dict passed has "
                    f"keys {sorted(inputs)} (missing {missing}). Key the data as the model's "
                    "inputs are keyed."
                )
            extra = sorted(str(k) for k in inputs if k not in names)
            if extra:  # Keras warns too, and uses the keys it expects
                from kerax import _warnings

                _warnings.warn(
                    f"Model '{self.name}' expects inputs keyed {names}; the dict passed also "
                    f"has keys {extra}, which are ignored."
                )
            flat = [inputs[n] for n in names]
        else:
            flat = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(flat) != len(expected):
            raise ValueError(
                f"Model '{self.name}' expects {len(expected)} input(s) {self.input_names}, "
                f"received {len(flat)}."
            )
        return [self._fit_rank(value, t) for value, t in zip(flat, expected)]

    def _fit_rank(self, value: Any, tensor: Any) -> Any:
        """``value`` for ``tensor``'s input, one size-1 last axis added or dropped as
        Keras does (a column ``(n,)`` for ``Input((1,))``, ``(n, 1)`` for
        ``Input(())``); a shape that still differs raises."""
        shape = getattr(value, "shape", None)
        if shape is None:
            return value
        expected = tuple(tensor.shape)
        if len(shape) == len(expected) + 1 and shape[-1] == 1:
            value, shape = value[..., 0], tuple(shape[:-1])
        elif len(shape) == len(expected) - 1 and expected[-1] == 1:
            value, shape = value[..., None], (*shape, 1)
        ok = len(shape) == len(expected) and all(
            d is None or d == s for d, s in zip(expected, shape)
        )
        if not ok:
            raise ValueError(
                f"Input '{tensor.node.layer.name}' of model '{self.name}' expects shape "
                f"{expected}, received shape {tuple(shape)}. Reshape the data, or build "
                f"the model with keras.Input(shape={tuple(shape)[1:]})."
            )
        return value

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        values: dict[int, Any] = {}
        for tensor, value in zip(self.inputs, self._match_inputs(inputs)):
            if value is None and not tensor.node.layer.optional:
                raise ValueError(
                    f"The input '{tensor.node.layer.name}' is not optional, but None was "
                    "passed. Please provide a valid tensor, or build the model with "
                    "keras.Input(..., optional=True) to allow None."
                )
            values[id(tensor)] = tensor.node.layer._convert_inputs(value)
        _function.replay(self._nodes, values)
        outputs = jax.tree_util.tree_map(
            lambda t: values[id(t)], self._outputs_struct, is_leaf=_graph.is_symbolic
        )
        # As Keras: outputs=[y] (a list or tuple of one) gives the array itself (a call
        # on symbolic tensors keeps the list: _symbolic_outputs).
        if isinstance(outputs, (list, tuple)) and len(outputs) == 1:
            return outputs[0]
        return outputs

    def _symbolic_outputs(self, spec: Any) -> Any:
        """A call on KerasTensors keeps ``outputs=[y]``'s list, as Keras's does."""
        struct = self._outputs_struct
        if isinstance(struct, (list, tuple)) and len(struct) == 1:
            if not isinstance(spec, (list, tuple)):
                return type(struct)([spec])
        return spec

    def build(self, input_shape: Any = None) -> None:
        self.built = True

    # -- config --------------------------------------------------------------------
    def get_config(self) -> dict:
        """The Keras 3 functional config: layers with their calls, inputs, outputs."""
        from kerax.models import graph_config

        return graph_config.functional_get_config(self)

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Functional:
        """Rebuild a model (fresh weights) from ``get_config()`` or a Keras 3 config."""
        from kerax.models import graph_config

        return graph_config.functional_from_config(config, custom_objects, cls=cls)
