"""Functional models: ``Model(inputs, outputs)`` replays the recorded layer graph."""

from __future__ import annotations

from typing import Any

import jax

from kerax import _function, _graph, _naming, _scope
from kerax.layers.base import Layer
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
        """Map what the caller passed (one array, list, or dict) to input order, each
        value's rank fitted (``_fit_rank``)."""
        flat = self._flat_inputs(inputs)
        return [self._fit_rank(value, t) for value, t in zip(flat, self.inputs)]

    def _flat_inputs(self, inputs: Any, quiet: bool = False) -> list:
        """The values of ``inputs`` in ``model.inputs`` order. A dict goes by the keys
        of the model's dict of inputs, else by the inputs' names; a list or tuple for a
        dict of inputs goes by the sorted keys (``model.inputs``' order) as in Keras,
        and only when the dict was given in that order: else it raises, as Keras does,
        rather than feed the arrays to the wrong inputs."""
        expected = self.inputs
        keys = _dict_keys(self._inputs_struct)
        if isinstance(inputs, dict):
            names = keys or self.input_names
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError(
                    f"Model '{self.name}' expects inputs keyed {names}; the dict passed has "
                    f"keys {sorted(inputs)} (missing {missing}). Key the data as the model's "
                    "inputs are keyed."
                )
            extra = sorted(str(k) for k in inputs if k not in names)
            if extra and not quiet:  # Keras warns too, and uses the keys it expects
                from kerax import _warnings

                _warnings.warn(
                    f"Model '{self.name}' expects inputs keyed {names}; the dict passed also "
                    f"has keys {extra}, which are ignored."
                )
            flat = [inputs[n] for n in names]
        else:
            flat = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
            if keys is not None and len(flat) == len(keys) > 1:
                self._check_list_for_dict(keys, flat)
        if len(flat) != len(expected):
            raise ValueError(
                f"Model '{self.name}' expects {len(expected)} input(s) {self.input_names}, "
                f"received {len(flat)}."
            )
        return flat

    def _check_list_for_dict(self, keys: list[str], flat: list) -> None:
        """A list for a model built on a dict of inputs: Keras maps it by sorted key
        when the dict was written in that order, and raises otherwise. (Keras also warns
        in the first case; kerax does not: the order is the one the user wrote.)"""
        received = [
            "None" if v is None else f"shape {_graph.known_shape(getattr(v, 'shape', ()))}"
            for v in flat
        ]
        head = (
            f"Model '{self.name}' was built on a dict of inputs keyed "
            f"{list(self._inputs_struct)}, but received a list of {len(flat)} arrays "
            f"({', '.join(received)})"
        )
        fix = (  # a list in sorted key order would do too, but a dict cannot go wrong
            "Pass a dict with those keys, e.g. model({"
            + ", ".join(f"'{k}': ..." for k in self._inputs_struct)
            + "})."
        )
        if list(self._inputs_struct) != keys:
            raise ValueError(f"{head}: the structure of the inputs does not match. {fix}")

    def _fit_rank(self, value: Any, tensor: Any) -> Any:
        """``value`` for ``tensor``'s input, one size-1 last axis added or dropped as
        Keras does (a column ``(n,)`` for ``Input((1,))``, ``(n, 1)`` for
        ``Input(())``); a rank that still differs raises. The other dimensions are
        checked by ``__call__`` (``_check_input_shapes``), as Keras checks them."""
        shape = getattr(value, "shape", None)
        if shape is None:
            return value
        expected = tuple(tensor.shape)
        if len(shape) == len(expected) + 1 and shape[-1] == 1:
            value, shape = value[..., 0], tuple(shape[:-1])
        elif len(shape) == len(expected) - 1 and expected[-1] == 1:
            value, shape = value[..., None], (*shape, 1)
        if len(shape) != len(expected):
            self._shape_error(tensor, shape)
        return value

    def _shape_error(self, tensor: Any, shape: Any) -> None:
        shape = _graph.known_shape(shape)
        raise ValueError(
            f"Input '{tensor.node.layer.name}' of model '{self.name}' expects shape "
            f"{tuple(tensor.shape)}, received shape {shape}. Reshape the data, or build "
            f"the model with keras.Input(shape={shape[1:]})."
        )

    def _check_input_shapes(self, inputs: Any) -> None:
        """Every dimension but the batch's, known on both sides, must match, a size-1
        last axis aside (Keras's ``input_spec`` of a functional model)."""
        if isinstance(inputs, dict) and _dict_keys(self._inputs_struct) is None:
            return  # keyed by input names: _match_inputs checks the keys
        try:
            flat = self._flat_inputs(inputs, quiet=True)
        except ValueError:
            return  # the call's _match_inputs says what is wrong with the structure
        for value, tensor in zip(flat, self.inputs):
            shape = getattr(value, "shape", None)
            if shape is None:
                continue
            got, expected = _graph.known_shape(shape), tuple(tensor.shape)
            g = got[:-1] if got and got[-1] == 1 else got
            e = expected[:-1] if expected and expected[-1] == 1 else expected
            if any(a is not None and b is not None and a != b for a, b in zip(e[1:], g[1:])):
                self._shape_error(tensor, shape)

    def _checks_input_shapes(self) -> bool:
        """Whether this call checks the input shapes, as Keras's ``__call__`` does: a
        direct call (on data or symbolic), or a call inside another layer's call; not
        when ``predict``/``apply``/``stateless_call`` run the model itself (Keras runs
        ``call`` there, without the check). ``fit``/``evaluate`` check, as Keras's do
        (they run under a scope with the batch's sample mask)."""
        scope = _scope.current()
        if scope is None:
            return True
        if any(isinstance(entry[1], Layer) for entry in _naming._stack()):
            return True
        # fit and evaluate: Keras checks there (its first symbolic call of the model)
        return scope.sample_mask is not None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args and self._checks_input_shapes():
            self._check_input_shapes(args[0])
        return super().__call__(*args, **kwargs)

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
