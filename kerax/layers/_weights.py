"""A layer's weights and losses: ``add_weight``, ``weights`` in Keras's order,
``get_weights``/``set_weights``, ``trainable``, ``add_loss`` and ``losses``."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import _naming, _scope
from kerax._variable import Variable, materialize


class Weights:
    """Mixed into ``Layer``: the weights and losses part of its API."""

    def add_weight(
        self,
        shape: Any = None,
        initializer: Any = None,
        dtype: Any = None,
        trainable: bool = True,
        autocast: bool = True,
        regularizer: Any = None,
        constraint: Any = None,
        aggregation: str = "none",
        name: str | None = None,
        overwrite_with_gradient: bool = False,
    ) -> Variable:
        """Create a weight of this layer and return its handle.

        Args:
            shape: the weight's shape (default scalar).
            initializer: a name, an initializer object or a ``fn(shape, dtype)``;
                default ``"glorot_uniform"`` for floats and ``"zeros"`` otherwise.
            dtype: default the layer's dtype.
            trainable: whether training updates it.
            regularizer: a penalty of the weight added to the training loss.
            constraint: a projection applied after each optimizer update.
            name: unique within the layer (default ``"variable"``, made unique).
            overwrite_with_gradient: training writes the weight's gradient into it
                instead of an optimizer update (Keras's flag, for float8 training).

        Returns:
            The :class:`kerax.Variable`.
        """
        from kerax import constraints, initializers, regularizers

        dtype = jnp.dtype(dtype or self.dtype)
        if initializer is None:
            initializer = "glorot_uniform" if jnp.issubdtype(dtype, jnp.floating) else "zeros"
        if isinstance(initializer, (str, dict)):
            initializer = initializers.get(initializer)
        base = name or "variable"
        taken = {v.name for v in self._own_variables}
        unique, i = base, 0
        while unique in taken:
            i += 1
            unique = f"{base}_{i}"
        variable = Variable(
            initializer,
            shape=shape,
            dtype=dtype,
            trainable=trainable,
            name=unique,
            regularizer=regularizers.get(regularizer),
            constraint=constraints.get(constraint),
            autocast=autocast,
            aggregation=aggregation,
        )
        with _naming.layer_scope(self, record=False):  # Keras: "outer/inner/name"
            variable.path = f"{_naming.current_path()}/{unique}"
        variable.overwrite_with_gradient = overwrite_with_gradient
        if trainable:
            self._created_trainable.append(variable)
            variable.trainable = self._trainable
        self._own_variables.append(variable)
        return variable

    def add_variable(
        self,
        shape: Any,
        initializer: Any,
        dtype: Any = None,
        trainable: bool = True,
        autocast: bool = True,
        regularizer: Any = None,
        constraint: Any = None,
        name: str | None = None,
    ) -> Variable:
        """Keras's alias of :meth:`add_weight` (``shape`` and ``initializer`` required)."""
        return self.add_weight(
            shape, initializer, dtype, trainable, autocast, regularizer, constraint, name=name
        )

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        value = bool(value)
        self.__dict__["_trainable"] = value
        for v in self._created_trainable:
            v.trainable = value
        for layer in self._layers:
            layer.trainable = value

    @property
    def layers(self) -> list:
        return list(self._layers)

    def _own_metrics(self) -> list:
        """The ``keras.metrics.Metric`` objects held as attributes (alone or in lists)."""
        from kerax.metrics import Metric

        out = []
        for name, value in vars(self).items():
            items = value if isinstance(value, (list, tuple)) else [value]
            if not name.startswith("_keras_"):
                out += [m for m in items if isinstance(m, Metric) and m not in out]
        return out

    @property
    def metrics(self) -> list:
        """The metrics this layer and its sublayers hold as attributes (Keras's
        ``layer.metrics``)."""
        out = []
        for layer in self._flat_layers():
            out += [m for m in layer._own_metrics() if m not in out]
        return out

    @property
    def metrics_variables(self) -> list:
        """Every metric's variables, in the order of ``metrics``."""
        return [v for m in self.metrics for v in m.variables]

    def add_metric(self, *args: Any, **kwargs: Any) -> None:
        """Removed in Keras 3 (as there): raises, saying where metrics go instead."""
        raise NotImplementedError(
            f"Layer.add_metric() was removed in Keras 3 (called on '{self.name}'). Pass "
            "metrics to Model.compile(metrics=[...]), or create a keras.metrics.Metric in "
            "__init__ or build() and call its update_state() in call()."
        )

    def _flat_layers(self) -> list:
        """This layer and every nested layer, each once, in tracking order."""
        out, seen = [], set()

        def visit(layer):
            if id(layer) in seen:
                return
            seen.add(id(layer))
            out.append(layer)
            for sub in layer._layers:
                visit(sub)

        visit(self)
        return out

    @property
    def weights(self) -> list[Variable]:
        """Own weights created trainable, then own weights created non-trainable, then
        each sublayer's (Keras's order, which freezing a weight or layer does not change)."""
        out, seen = [], set()
        for layer in self._flat_layers():
            for v in layer._ordered_own_variables():
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        return out

    variables = weights

    def _ordered_own_variables(self) -> list[Variable]:
        """This layer's own weights in Keras's order: those created trainable, then
        the others, each in creation order (freezing does not reorder them)."""
        created = {id(v) for v in self._created_trainable}
        own = self._own_variables
        return [v for v in own if id(v) in created] + [v for v in own if id(v) not in created]

    def _stored_variables(self) -> list[Variable]:
        """The weights a weights file holds for this layer, in order (LoRA layers leave
        out their factors)."""
        return self._ordered_own_variables()

    def _stored_value(self, v: Variable) -> Any:
        """What a weights file holds for ``v`` (LoRA layers: the merged kernel)."""
        return v.value

    def save_own_variables(self, store: Any) -> None:
        """Write this layer's weights into ``store`` (a dict) as ``"0"``, ``"1"`` ...:
        what a weights file holds for the layer (Keras's API)."""
        for i, v in enumerate(self._stored_variables()):
            store[str(i)] = np.asarray(self._stored_value(v))

    def load_own_variables(self, store: Any) -> None:
        """Assign the arrays ``save_own_variables`` wrote (all checked before any is
        assigned).

        Raises:
            ValueError: if the number of arrays or a shape does not match.
        """
        own = self._stored_variables()
        if len(store) != len(own):
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects {len(own)} stored "
                f"arrays {[v.name for v in own]}, received {len(store)}: {list(store)}."
            )
        for i, v in enumerate(own):
            if tuple(np.shape(store[str(i)])) != v.shape:
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}): stored array '{i}' for "
                    f"weight '{v.name}' has shape {tuple(np.shape(store[str(i)]))}, "
                    f"expected {v.shape}."
                )
        for i, v in enumerate(own):
            v.assign(np.asarray(store[str(i)]))

    @property
    def trainable_weights(self) -> list[Variable]:
        return [v for v in self.weights if v.trainable] if self.trainable else []

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self) -> list[Variable]:
        trainable = {id(v) for v in self.trainable_weights}
        return [v for v in self.weights if id(v) not in trainable]

    non_trainable_variables = non_trainable_weights

    def _check_built(self, what: str) -> None:
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' has not been built yet, so it has no {what}. Call it on "
                "data, call build(input_shape), or give the model an Input (e.g. "
                "keras.Input(shape=(784,)) as its first layer) before reading weights."
            )

    def get_weights(self) -> list[np.ndarray]:
        """The weights' values as NumPy arrays, in ``weights`` order."""
        self._check_built("weights")
        materialize(self.weights)
        return [np.asarray(v.value) for v in self.weights]

    def set_weights(self, weights: list[Any]) -> None:
        """Set the weights from a list of arrays in ``get_weights()`` order."""
        self._check_built("weights")
        params = self.weights
        if len(weights) != len(params):
            raise ValueError(
                f"Layer '{self.name}' expects {len(params)} weight arrays "
                f"({[v.path for v in params]}), received {len(weights)}. Pass the list "
                "returned by get_weights() of a layer built the same way."
            )
        for v, w in zip(params, weights):
            if tuple(np.shape(w)) != v.shape:
                raise ValueError(
                    f"Weight '{v.path}' of layer '{self.name}' has shape {v.shape}, received "
                    f"an array of shape {tuple(np.shape(w))}."
                )
        for v, w in zip(params, weights):
            v.assign(w)

    def stateless_call(
        self,
        trainable_variables: list,
        non_trainable_variables: list,
        *args: Any,
        return_losses: bool = False,
        **kwargs: Any,
    ) -> tuple:
        """Keras's ``stateless_call``: ``call`` with the weights' values given, nothing
        written back.

        Args:
            trainable_variables: values in the order of ``layer.trainable_variables``.
            non_trainable_variables: values in the order of
                ``layer.non_trainable_variables``.
            *args, **kwargs: the call's arguments (``training=True`` among them).
            return_losses: also return the losses the call added with ``add_loss``, then
                the trainable weights' regularization penalties at the given values.

        Returns:
            ``(outputs, non_trainable_variables)``, the second with the values the call
            assigned (moving statistics), in the same order; plus the list of losses with
            ``return_losses``.

        Raises:
            ValueError: the layer is not built, or a list's length differs from the
                layer's.
        """
        from kerax._keras_scopes import StatelessScope

        self._check_stateless_lists(trainable_variables, non_trainable_variables)
        mapping = [
            *zip(self.trainable_variables, trainable_variables),
            *zip(self.non_trainable_variables, non_trainable_variables),
        ]
        with StatelessScope(state_mapping=mapping, collect_losses=return_losses) as scope:
            outputs = self(*args, **kwargs)
        updated = [scope.get_current_value(v) for v in self.non_trainable_variables]
        if return_losses:  # as Keras's self.losses: then the penalties at the given values
            penalties = [
                v.regularizer(value)
                for v, value in zip(self.trainable_variables, trainable_variables)
                if v.regularizer is not None
            ]
            return outputs, updated, [*scope.losses, *penalties]
        return outputs, updated

    def _check_stateless_lists(self, trainable: list, non_trainable: list) -> None:
        """``stateless_call``'s arguments: a built layer, one value per variable. A layer
        without a ``build`` of its own has no weights to wait for (Keras marks such a
        layer built when it is made)."""
        if not self.built and getattr(type(self).build, "_marks_built", False):
            raise ValueError(
                f"stateless_call on '{self.name}' needs it built (its variables created). "
                "Call it on some data, or call build(input_shape), first."
            )
        for what, handles, values in (
            ("trainable_variables", self.trainable_variables, trainable),
            ("non_trainable_variables", self.non_trainable_variables, non_trainable),
        ):
            if len(values) != len(handles):
                raise ValueError(
                    f"stateless_call on '{self.name}' expects {len(handles)} {what} "
                    f"(the values of .{what}, in that order). Received {len(values)}."
                )

    def count_params(self) -> int:
        """The number of scalars in all weights."""
        self._check_built("parameters")
        return int(sum(v.size for v in self.weights))

    # -- losses --------------------------------------------------------------------
    def add_loss(self, loss: Any) -> None:
        """Add a scalar to the training loss (inside ``call``: collected by ``apply``)."""
        scope = _scope.current()
        if scope is not None:
            scope.losses.append(jnp.asarray(loss))
        else:
            self._eager_losses.append(jnp.asarray(loss))

    @property
    def losses(self) -> list[jax.Array]:
        """Losses added by the last eager call, plus the weight regularization penalties."""
        out = []
        for layer in self._flat_layers():
            out.extend(layer._eager_losses)
        out.extend(v.regularizer(v.value) for v in self.weights if v.regularizer is not None)
        return out
