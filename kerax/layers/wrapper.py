"""``Wrapper``: the base of layers that wrap another layer (Keras 3's ``keras.layers.Wrapper``).

``TimeDistributed`` and ``SpectralNormalization`` build on it; a user's own wrapper
subclasses it and writes ``call`` (usually around ``self.layer(...)``). The wrapped
layer's weights are the wrapper's, and the config holds the wrapped layer's config.
"""

from __future__ import annotations

from typing import Any

from kerax.layers.base import Layer

__all__ = ["Wrapper"]


class Wrapper(Layer):
    """A layer that holds another layer as ``self.layer``.

    Args:
        layer: a kerax layer (or its serialized config).

    Raises:
        ValueError: ``layer`` is not a layer.

    Example:
        >>> import numpy as np
        >>> from kerax.layers import Dense
        >>> from kerax.layers.wrapper import Wrapper
        >>> class Doubled(Wrapper):
        ...     def call(self, inputs):
        ...         return 2 * self.layer(inputs)
        >>> outer = Doubled(Dense(3, kernel_initializer="ones"))
        >>> outer(np.ones((1, 2))).tolist()
        [[4.0, 4.0, 4.0]]
        >>> Doubled.from_config(outer.get_config()).layer.units
        3
    """

    def __init__(self, layer: Layer, **kwargs):
        super().__init__(**kwargs)
        if isinstance(layer, dict):
            layer = self._deserialize(layer)
        if not isinstance(layer, Layer):
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) wraps a kerax layer, e.g. "
                f"Dense(8). Received: layer={layer!r} (of type {type(layer).__name__})"
            )
        self.layer = layer

    def build(self, input_shape: Any = None) -> None:
        if not self.layer.built:
            self.layer.build(input_shape)
            self.layer.built = True
        self.built = True

    @staticmethod
    def _deserialize(config: Any, custom_objects: dict | None = None) -> Layer:
        from kerax.layers.recurrent._rnn import deserialize_layer

        return deserialize_layer(config, custom_objects)

    def get_config(self) -> dict:
        from kerax.layers.recurrent._rnn import serialize_layer

        return {**super().get_config(), "layer": serialize_layer(self.layer)}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Wrapper:
        config = dict(config)
        config["layer"] = cls._deserialize(config["layer"], custom_objects)
        return cls(**config)
