"""``Sequential``: a plain stack of layers, each with one input and one output."""

from __future__ import annotations

from typing import Any

from kerax import _graph, _naming
from kerax.layers.base import Layer
from kerax.layers.core import InputLayer
from kerax.models.model import Model


class Sequential(Model):
    """A linear stack of layers.

    The input shape comes from a leading ``keras.Input(shape)``, from ``input_shape=`` /
    ``input_dim=`` on the first layer, or from the first batch the model sees
    (deferred build).

    Example:
        >>> import kerax as keras
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        >>> model.output_shape
        (None, 2)
    """

    def __init__(self, layers: list | None = None, trainable: bool = True, name: str | None = None):
        super().__init__(trainable=trainable, name=name)
        self.__dict__["_input_layer"] = None
        self.__dict__["_functional"] = None
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._rebuild()

    def add(self, layer: Any, rebuild: bool = True) -> None:
        """Append a layer (or a ``keras.Input``) to the stack."""
        if _graph.is_symbolic(layer) and isinstance(layer.node.layer, InputLayer):
            layer = layer.node.layer
        if isinstance(layer, InputLayer):
            if self._input_layer is not None or self._layers:
                raise ValueError(
                    "keras.Input must be the first entry of a Sequential model and appear once."
                )
            self.__dict__["_input_layer"] = layer
            return
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Sequential only holds layers. Received: {layer!r} of type "
                f"{type(layer).__name__}. Wrap functions in keras.layers.Lambda(fn)."
            )
        if any(layer.name == other.name for other in self._layers):
            raise ValueError(
                f"Sequential model '{self.name}' already has a layer named '{layer.name}'. "
                "Layer names must be unique."
            )
        if not self._layers and self._input_layer is None:
            batch_shape = layer._batch_input_shape or _model_input_shape(layer)
            if batch_shape:
                self.__dict__["_input_layer"] = InputLayer(batch_shape=batch_shape)
        self._layers.append(layer)
        if rebuild:
            self._rebuild()

    def pop(self, rebuild: bool = True) -> Layer:
        """Remove and return the last layer."""
        if not self._layers:
            raise ValueError(f"Sequential model '{self.name}' has no layers to pop.")
        layer = self._layers.pop()
        if rebuild:
            self._rebuild()
        return layer

    def _rebuild(self) -> None:
        """With a known input shape, trace the stack into a functional graph (no FLOPs)."""
        if self._input_layer is None or not self._layers:
            self.__dict__["_functional"] = None
            return
        from kerax.models.functional import Functional

        x = self._input_layer.output
        with _naming.layer_scope(self):  # Keras: weights under "sequential/..."
            for layer in self._layers:
                x = layer(x)
        # Named as the model (its input errors name the model the user made), but the
        # automatic name Keras's unnamed inner Functional takes is used up all the same,
        # so that the user's next functional model is named as in Keras.
        _naming.unique_name("functional")
        self.__dict__["_functional"] = Functional(self._input_layer.output, x, name=self.name)
        self.built = True

    def build(self, input_shape: Any = None) -> None:
        if self._functional is not None:
            return
        if input_shape is None:
            raise ValueError(
                f"Sequential model '{self.name}' cannot be built without an input shape. "
                "Call model.build((None, features)) or start it with keras.Input(shape=...)."
            )
        # None where the trace running now does not know the size (a probe's 37)
        shape = _graph.known_shape(tuple(input_shape)[1:])
        self.__dict__["_input_layer"] = InputLayer(batch_shape=(None, *shape))
        self._rebuild()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # As Keras: a call on data checks only the rank (and each layer its own inputs),
        # so a stack built on sequences of one length runs on others; a symbolic call
        # checks every dimension but the batch against the built input shape.
        if args and self._functional is not None and _graph.any_symbolic(args[0]):
            self._functional._check_input_shapes(args[0])
        return super().__call__(*args, **kwargs)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        if self._functional is not None:
            try:
                return self._functional.call(inputs, training=training)
            except ValueError as e:
                # a layer's shape error on data of another shape than the model's input:
                # say so, naming the model (the layer's error stays as the cause)
                try:
                    self._functional._check_input_shapes(inputs)
                except ValueError as shape_error:
                    raise shape_error from e
                raise
        x = inputs
        for layer in self._layers:
            x = layer(x)
        return x

    @property
    def inputs(self) -> list:
        return self._graph("inputs").inputs

    @property
    def outputs(self) -> list:
        return self._graph("outputs").outputs

    @property
    def input(self) -> Any:
        return self._graph("input").input

    @property
    def output_names(self) -> list[str]:
        return self._graph("output_names").output_names

    @property
    def output(self) -> Any:
        return self._graph("output").output

    @property
    def input_shape(self) -> Any:
        return self._graph("input_shape").input_shape

    @property
    def output_shape(self) -> Any:
        return self._graph("output_shape").output_shape

    def _graph(self, what: str):
        if self._functional is None:
            raise AttributeError(
                f"Sequential model '{self.name}' has no {what} yet: it has not been built. "
                "Start it with keras.Input(shape=...) or call it on data first."
            )
        return self._functional

    def get_config(self) -> dict:
        """The Keras 3 config: name, trainable, dtype, layers (InputLayer first)."""
        from kerax.models import graph_config

        return graph_config.sequential_get_config(self)

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Sequential:
        """Rebuild a model (fresh weights) from ``get_config()`` or a Keras 3 config."""
        from kerax.models import graph_config

        return graph_config.sequential_from_config(config, custom_objects, cls=cls)


def _model_input_shape(layer: Any) -> tuple | None:
    """The batch input shape of a model used as the first layer (a functional base such
    as ``applications.VGG16``), so the stack builds at once, as in Keras."""
    try:
        inputs = getattr(layer, "inputs", None)
    except (AttributeError, ValueError):  # a model that is not built yet
        return None
    if isinstance(inputs, (list, tuple)) and len(inputs) == 1 and _graph.is_symbolic(inputs[0]):
        return tuple(inputs[0].shape)
    return None
