"""``keras.Operation``: a weightless computation that records itself in the symbolic graph.

A subclass defines ``call(*args, **kwargs)`` (and optionally ``compute_output_spec``).
Called on arrays it runs ``call``; called on KerasTensors it records a node of the
functional graph (``kerax._graph``), so it can sit in a functional ``Model`` or a
``keras.Function`` between layers. kerax's ``Operation`` is a weightless
:class:`~kerax.layers.Layer` underneath (the graph, models and saving already know
layers), but it answers the ``Operation`` API: ``name``, ``call``, ``symbolic_call``,
``compute_output_spec``, ``get_config``/``from_config``, ``input``/``output``.
"""

from __future__ import annotations

import inspect
from typing import Any

import jax

from kerax import _graph, tree
from kerax.layers.base import Layer

_PLAIN = (str, int, float, bool, type(None))


class Operation(Layer):
    """Base class of Keras operations: override ``call`` (and ``compute_output_spec``).

    Args:
        name: the operation's name (no ``/``); default: the class name in snake case,
            made unique.

    Raises:
        ValueError: if ``name`` is not a string or contains ``/``.

    Example:
        >>> import kerax as keras
        >>> class AddOne(keras.Operation):
        ...     def call(self, x):
        ...         return x + 1
        >>> AddOne()(keras.Input((3,))).shape
        (None, 3)
    """

    def __init__(self, name: str | None = None):
        if name is not None and (not isinstance(name, str) or "/" in name or not name):
            raise ValueError(
                "Argument `name` must be a string and cannot contain character `/`. "
                f"Received: name={name!r} (of type {type(name).__name__})"
            )
        super().__init__(name=name, autocast=False)
        self.__dict__["built"] = True  # weightless: nothing to build

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _graph.any_symbolic((args, kwargs)):
            return self.symbolic_call(*args, **kwargs)
        return self.call(*args, **kwargs)

    def call(self, *args: Any, **kwargs: Any) -> Any:
        """The computation on arrays; subclasses override it."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement call(*args, **kwargs), the computation "
            "it performs on arrays."
        )

    def symbolic_call(self, *args: Any, **kwargs: Any) -> Any:
        """Record this call in the symbolic graph; return its output KerasTensor(s)."""
        spec = self.compute_output_spec(*args, **kwargs)
        return _graph.record_node(self, args, kwargs, spec)

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        """Output KerasTensors (shapes and dtypes) of ``call`` on symbolic arguments,
        by tracing it.

        Raises:
            The error ``call`` raised while tracing (same type), naming this operation.
        """
        try:
            spec = _graph.trace_spec(lambda a, k: self.call(*a, **k), args, kwargs)
            return jax.tree_util.tree_map(lambda s: _graph.KerasTensor(s.shape, s.dtype), spec)
        except Exception as e:
            cls = type(self).__name__
            message = (
                f"Could not automatically infer the output shape / dtype of '{self.name}' "
                f"(of type {cls}). Either the `{cls}.call()` method is incorrect, or you "
                f"need to implement the `{cls}.compute_output_spec()` method. Error "
                f"encountered:\n\n{e}"
            )
            try:
                error = type(e)(message)
            except Exception:
                raise e from None
            raise error from e

    # -- graph history -------------------------------------------------------------------
    @property
    def input(self) -> Any:
        """The symbolic input(s) of the first call: one tensor, or a list of them."""
        inputs = self._first_node("input").inputs
        return inputs[0] if len(inputs) == 1 else list(inputs)

    @property
    def output(self) -> Any:
        """The symbolic output(s) of the first call: one tensor, or a list of them."""
        outputs = _symbolic_leaves(self._first_node("output").outputs)
        return outputs[0] if len(outputs) == 1 else outputs

    # -- config --------------------------------------------------------------------------
    def get_config(self) -> dict:
        """``{"name": ...}`` plus the constructor arguments when they are plain values.

        Raises:
            NotImplementedError: if the constructor took other values (or ``*args``) and
                the subclass does not override ``get_config``.
        """
        config: dict = {"name": self.name}
        if type(self).get_config is not Operation.get_config:
            return config
        params = inspect.signature(type(self).__init__).parameters
        auto = self.__dict__.get("_auto_config")
        varargs = [n for n, p in params.items() if p.kind is p.VAR_POSITIONAL]
        plain = auto is not None and not any(auto.get(n) for n in varargs)
        if plain:
            auto = {k: v for k, v in auto.items() if k not in varargs and k != "name"}
            for n, p in list(params.items())[1:]:
                if p.default is not p.empty and n not in auto and n != "name":
                    auto[n] = p.default
            plain = all(isinstance(v, _PLAIN) for v in tree.flatten(auto))
        if not plain:
            raise NotImplementedError(
                f"Operation {type(self).__name__} cannot be serialized automatically: its "
                "constructor took values other than str/int/float/bool/None (or *args). "
                "Override get_config() to return the constructor arguments."
            )
        config.update(auto)
        takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
        if "name" not in params and not takes_any:
            config.pop("name")
        return config

    @classmethod
    def from_config(cls, config: dict) -> Operation:
        """Recreate the operation from ``get_config()``.

        Raises:
            TypeError: if the constructor rejects the config.
        """
        try:
            return cls(**config)
        except Exception as e:
            raise TypeError(
                f"Error when deserializing class '{cls.__name__}' using config={config}. "
                f"Exception encountered: {e}"
            ) from e

    def __repr__(self) -> str:
        return f"<Operation name={self.name}>"


def _symbolic_leaves(structure: Any) -> list:
    """The KerasTensors of ``structure`` (lists, tuples, dicts) in flattening order."""
    return [t for t in tree.flatten(structure) if _graph.is_symbolic(t)]
