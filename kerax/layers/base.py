"""``Layer``: Keras's authoring contract, lowered to pure functions.

A layer is written exactly as in Keras::

    class Linear(kerax.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units))
            self.b = self.add_weight(shape=(self.units,), initializer="zeros")

        def call(self, inputs):
            return inputs @ self.w + self.b

``add_weight`` returns a :class:`kerax.Variable` handle; the layer never owns the
value a computation uses. Inside ``call`` (always run within a binding scope, see
``kerax._scope``) ``self.w`` resolves to the array bound for that variable: a tracer
under ``jit``, one member's slice under ``vmap``. Rebinding a weight attribute inside
``call`` (``self.count = self.count + 1``) records a state update that ``apply``
returns; ``variable.assign(value)`` on a handle does the same.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import _graph, _naming, _remat, _scope
from kerax._signature import signature
from kerax._variable import Variable
from kerax.layers._weights import Weights
from kerax.layers.input_spec import assert_input_compatibility

_BASE_KWARGS = ("input_shape", "input_dim", "batch_input_shape", "batch_size")


def _contains(tree: Any, kind: type) -> bool:
    if isinstance(tree, kind):
        return True
    if isinstance(tree, (list, tuple)):
        return any(_contains(t, kind) for t in tree)
    if isinstance(tree, dict):
        return any(_contains(t, kind) for t in tree.values())
    return False


def _is_variable(x: Any) -> bool:
    return isinstance(x, Variable)


def _has_tensor(tree: Any) -> bool:
    """Whether ``tree`` holds an array or a symbolic tensor (a call's tensor argument)."""
    leaves = jax.tree_util.tree_leaves(tree, is_leaf=_graph.is_symbolic)
    return any(_graph.is_symbolic(t) or isinstance(t, (np.ndarray, jax.Array)) for t in leaves)


def _named_only(fn: Any) -> bool:
    """Whether every parameter of ``fn`` has a name (no ``*args``/``**kwargs``)."""
    kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return all(p.kind not in kinds for p in inspect.signature(fn).parameters.values())


def _tuple_shapes(value: Any) -> Any:
    """``value`` with each shape given as a list (``[None, 3]``) made a tuple, as
    ``shape_of`` makes them: Keras's ``build`` takes either, and kerax's builds tell one
    shape (a tuple) from a list of shapes by type."""
    if not isinstance(value, list):
        return value
    if value and all(d is None or isinstance(d, (int, np.integer)) for d in value):
        return tuple(value)
    return [_tuple_shapes(v) for v in value]


def shape_of(tree: Any) -> Any:
    """The shape structure Keras passes to ``build``: a tuple, or a list/dict of them."""
    if isinstance(tree, (list, tuple)) and not hasattr(tree, "shape"):
        return [shape_of(t) for t in tree]
    if isinstance(tree, dict):
        return {k: shape_of(v) for k, v in tree.items()}
    # A dimension a symbolic trace leaves unknown (kerax._graph) is None, as in Keras.
    return tuple(d if d is None or isinstance(d, (int, np.integer)) else None for d in tree.shape)


class Layer(Weights):
    """Base class of every kerax layer and model.

    Args:
        trainable: whether the layer's weights are updated by training.
        name: a unique name; default: the class name in snake case, made unique.
        dtype: the dtype of weights and computation (default ``config.floatx()``).
        autocast: cast floating inputs to the layer's dtype.
        activity_regularizer: a function of the outputs added to the training loss.
        input_shape, input_dim, batch_size: for the first layer of a ``Sequential``.
    """

    # Keras's flag: a layer that sets it False (its call needs concrete values) makes a
    # model's fit/evaluate/predict run eagerly (kerax.trainer._eager).
    supports_jit = True
    # ``training`` when neither the call nor an enclosing call (fit, predict, apply, an
    # outer layer's call with ``training=``) sets it: Keras's default of ``call``'s
    # ``training`` argument. The augmentation layers augment (True), as in Keras.
    _training_unset: bool | None = None

    def __new__(cls, *args, **kwargs):
        self = super().__new__(cls)
        d = self.__dict__
        d["_layers"] = []
        d["_own_variables"] = []
        d["_created_trainable"] = []
        d["_var_attrs"] = {}
        d["_eager_losses"] = []
        d["_inbound_nodes"] = []
        d["built"] = False
        d["_trainable"] = True
        try:
            init = signature(cls.__init__)
            bound = init.bind(None, *args, **kwargs)
            bound.arguments.pop(next(iter(bound.arguments)))
            config_args = dict(bound.arguments)
            # the catch-all (**kwargs, whatever its name) merges in
            for p in init.parameters.values():
                if p.kind is inspect.Parameter.VAR_KEYWORD:
                    config_args.update(config_args.pop(p.name, {}))
            d["_auto_config"] = config_args
        except TypeError:
            d["_auto_config"] = None
        return self

    def __init__(
        self,
        trainable: bool = True,
        name: str | None = None,
        dtype: Any = None,
        autocast: bool = True,
        activity_regularizer: Any = None,
        **kwargs,
    ):
        unknown = set(kwargs) - set(_BASE_KWARGS)
        if unknown:
            raise TypeError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: "
                f"{sorted(unknown)}. Valid base arguments: trainable, name, dtype, autocast, "
                f"activity_regularizer, {', '.join(_BASE_KWARGS)}."
            )
        if name is not None and (not isinstance(name, str) or "/" in name or not name):
            raise ValueError(
                f"Layer names must be non-empty strings without '/'. Received: {name!r}"
            )
        self.name = name or _naming.unique_name(_naming.to_snake_case(type(self).__name__))
        # keras.RematScope open when the layer is made: its call recomputes in backprop
        self.__dict__["_remat"] = _remat.applies(_remat.current(), self.name)
        from kerax import mixed_precision

        self.dtype_policy = mixed_precision.get(dtype)
        self.autocast = autocast
        self._trainable = bool(trainable)
        from kerax import regularizers

        self.activity_regularizer = regularizers.get(activity_regularizer)
        self._batch_input_shape = self._batch_shape_from(kwargs)

    @staticmethod
    def _batch_shape_from(kwargs: dict) -> tuple | None:
        if kwargs.get("batch_input_shape") is not None:
            return tuple(kwargs["batch_input_shape"])
        if kwargs.get("input_shape") is not None:
            return (kwargs.get("batch_size"), *tuple(kwargs["input_shape"]))
        if kwargs.get("input_dim") is not None:
            return (kwargs.get("batch_size"), int(kwargs["input_dim"]))
        return None

    @property
    def dtype_policy(self) -> Any:
        """The layer's policy (a ``DTypePolicyMap`` stays one: see ``_own_policy``)."""
        return self.__dict__["_dtype_policy"]

    @dtype_policy.setter
    def dtype_policy(self, value: Any) -> None:
        from kerax import mixed_precision
        from kerax._dtype_policy_map import DTypePolicyMap

        policy = mixed_precision.get(value)
        current = self.__dict__.get("_dtype_policy")
        if isinstance(current, DTypePolicyMap) and self.path:  # as Keras: set own entry
            if self.path in current:
                del current[self.path]
            current[self.path] = policy
        else:
            self.__dict__["_dtype_policy"] = policy

    def _own_policy(self) -> Any:
        """The policy the layer computes with: its path's entry when its dtype policy is
        a DTypePolicyMap and it has a path (once built), as in Keras."""
        from kerax._dtype_policy_map import DTypePolicyMap

        policy = self.dtype_policy
        if isinstance(policy, DTypePolicyMap) and self.path:
            return policy[self.path]
        return policy

    @property
    def dtype(self) -> str:
        """The variable dtype (Keras's ``layer.dtype``)."""
        return self._own_policy().variable_dtype

    @property
    def input_dtype(self) -> str:
        """The dtype floating inputs are cast to (Keras's ``input_dtype``)."""
        return self.compute_dtype

    @property
    def variable_dtype(self) -> str:
        return self._own_policy().variable_dtype

    @property
    def compute_dtype(self) -> str:
        """The dtype inputs and weights are cast to inside ``call``."""
        return self._own_policy().compute_dtype

    @property
    def quantization_mode(self) -> str | None:
        """The quantization mode (``"int8"``) of a quantized layer, else ``None``."""
        return self._own_policy().quantization_mode

    def quantize(self, mode: Any = None, type_check: bool = True, config: Any = None) -> None:
        """Quantize the layer's weights (Dense, EinsumDense and Embedding implement it;
        see ``kerax.layers._quantize``)."""
        raise NotImplementedError(
            f"Layer {type(self).__name__} does not have a `quantize` method implemented."
        )

    # -- attribute tracking ----------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if name in d.get("_var_attrs", {}) and not _contains(value, Variable):
            scope = _scope.current()
            target = d["_var_attrs"][name]
            if scope is not None and isinstance(target, Variable):
                target.assign(value)  # inside call: a state update, returned by apply
                return
            del d["_var_attrs"][name]
        if _contains(value, Variable) and not isinstance(value, Layer):
            d["_var_attrs"][name] = value
            d.pop(name, None)
            self._adopt_variables(value)
            return
        if _contains(value, Layer):
            for layer in jax.tree_util.tree_leaves(value, is_leaf=lambda x: isinstance(x, Layer)):
                if isinstance(layer, Layer) and all(layer is not t for t in d["_layers"]):
                    d["_layers"].append(layer)
        object.__setattr__(self, name, value)

    def _adopt_variables(self, value: Any) -> None:
        """Make weights of this layer of the Variables an attribute holds that no layer
        owns yet (``self.tau = keras.Variable(1.0)``), as Keras tracks them: they train,
        save and count in ``weights`` like ``add_weight``'s."""
        d = self.__dict__
        if "_own_variables" not in d:  # before Layer.__init__: nothing to own them yet
            return
        owned = {id(v) for layer in self._flat_layers() for v in layer._own_variables}
        for v in jax.tree_util.tree_leaves(value, is_leaf=_is_variable):
            if _is_variable(v) and id(v) not in owned:
                owned.add(id(v))
                if v.trainable:
                    d["_created_trainable"].append(v)
                    v.trainable = self._trainable
                d["_own_variables"].append(v)

    def __getattr__(self, name: str) -> Any:
        var_attrs = self.__dict__.get("_var_attrs", {})
        if name in var_attrs:
            value = var_attrs[name]
            if _scope.current() is None:
                return value
            return jax.tree_util.tree_map(self._read, value, is_leaf=_is_variable)
        prop = inspect.getattr_static(type(self), name, None)
        if isinstance(prop, property) and prop.fget is not None:
            # A property that raised AttributeError lands here: raise its own message
            # ("call adapt() first"), which Python would replace by the generic one.
            return prop.fget(self)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def _read(self, v: Any) -> Any:
        """A weight's bound value inside ``call``, autocast to the compute dtype."""
        if not _is_variable(v):
            return v
        value = v.value
        compute = self.compute_dtype
        if (
            self.autocast
            and getattr(v, "autocast", True)
            and value.dtype != compute
            and jnp.issubdtype(value.dtype, jnp.floating)
        ):
            value = value.astype(compute)
        return value

    def __delattr__(self, name: str) -> None:
        if name in self.__dict__.get("_var_attrs", {}):
            del self.__dict__["_var_attrs"][name]
        else:
            object.__delattr__(self, name)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "_marks_built", False):
            # As in Keras: a layer whose own build() ran is built, whoever called it (a
            # user's `layer.build(shape)` before set_weights must not build it twice).
            @functools.wraps(build)
            def build_and_mark(self, *args, **kw):
                with _naming.layer_scope(self):
                    self.__dict__.setdefault("_path", _naming.current_path())
                    shapes = [_tuple_shapes(a) for a in args]
                    out = build(self, *shapes, **{k: _tuple_shapes(v) for k, v in kw.items()})
                self.__dict__["built"] = True
                # Keras's build config: the shapes the first build was given.
                if _named_only(build):  # a build(*shapes) has no names to record
                    given = inspect.signature(build).bind(self, *args, **kw).arguments
                    given.pop(next(iter(given)))  # self
                    self.__dict__.setdefault("_build_shapes", dict(given))
                return out

            build_and_mark._marks_built = True
            cls.build = build_and_mark

    # -- building and calling ------------------------------------------------------
    def build(self, input_shape: Any = None) -> None:
        """Create the layer's weights for inputs of ``input_shape`` (override me)."""
        self.built = True

    def call(self, inputs: Any, *args, **kwargs) -> Any:
        """The computation (override me)."""
        raise NotImplementedError(f"Layer {type(self).__name__} does not implement call().")

    def _note_build_shapes(self, args: tuple, kwargs: dict) -> None:
        """Before the first build from a call, remember the shapes Keras's build config
        records: the first tensor's for a ``build`` of one argument, else the
        ``<argument>_shape`` of each tensor argument of ``call`` that ``build`` takes.
        A layer without its own ``build`` records none (Keras builds those at init)."""
        if self.built or "_build_shapes" in self.__dict__ or type(self).build is Layer.build:
            return
        if not _named_only(self.build):
            return
        try:
            bound = signature(self.call).bind(*args, **kwargs).arguments
        except TypeError:
            bound = {"inputs": args[0]}
        shapes = {
            f"{name}_shape": shape_of(value)
            for name, value in bound.items()
            if name not in ("mask", "training", "args", "kwargs") and _has_tensor(value)
        }
        takes = [
            p.name
            for p in inspect.signature(self.build).parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        if len(takes) == 1:
            shapes = {takes[0]: next(iter(shapes.values()), None)}
        else:
            shapes = {name: shapes[name] for name in takes if name in shapes}
        self.__dict__["_build_shapes"] = shapes

    def get_build_config(self) -> dict | None:
        """Keras's build config: ``{"input_shape": shape}`` the layer was first built
        with, or ``{"shapes_dict": {"query_shape": ..., ...}}`` for a ``build`` of
        several shapes; None before it is built (or for a layer without its own
        ``build``)."""
        shapes = self.__dict__.get("_build_shapes")
        if not self.built or shapes is None:
            return None
        if len(shapes) == 1:
            return {"input_shape": next(iter(shapes.values()))}
        return {"shapes_dict": dict(shapes)}

    def _checked_build_config(self, config: Any) -> dict | None:
        """``build_from_config``'s argument, checked: a dict, or nothing to build from."""
        if not config:
            return None
        if not isinstance(config, dict):
            kind = "model" if hasattr(self, "compile") else "layer"
            raise TypeError(
                f"build_from_config on {kind} '{self.name}' expects the dict returned by "
                f"get_build_config(), like {{'input_shape': (None, 4)}}. Received: {config!r}"
            )
        return config

    def build_from_config(self, config: dict | None) -> None:
        """Build the layer from ``get_build_config()``'s dict (Keras's method)."""
        config = self._checked_build_config(config)
        if config is None:
            return
        if "input_shape" in config:
            self.build(config["input_shape"])
        elif "shapes_dict" in config:
            self.build(**config["shapes_dict"])

    def _maybe_build(self, args: tuple) -> None:
        if self.built:
            return
        first = args[0] if args else None
        self.build(shape_of(first) if first is not None else None)
        self.__dict__["built"] = True
        self.__dict__.setdefault("_path", _naming.current_path())  # in its own scope
        if first is not None:  # build may have set the spec
            assert_input_compatibility(self.input_spec, first, self.name)

    @property
    def path(self) -> str | None:
        """Keras's layer path: the names of the layers (and the Sequential or subclassed
        model) it was built in, then its own (``"sequential/dense"``); None until built."""
        return self.__dict__.get("_path")

    @property
    def input_spec(self) -> Any:
        """An ``InputSpec`` (or a structure of them) every call's inputs are checked against."""
        return self.__dict__.get("_keras_input_spec")

    @input_spec.setter
    def input_spec(self, value: Any) -> None:
        self.__dict__["_keras_input_spec"] = value

    def _call_accepts(self, name: str) -> bool:
        call = self.__dict__.get("call") or type(self).call  # the function: remembered
        return name in signature(call).parameters

    supports_masking = False
    # Layers Keras builds in __init__ (weightless: Dropout, activations, pooling): a saved
    # config gives them no build_config.
    _built_at_init = False

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        """The mask of this layer's outputs (Keras semantics; override to create one)."""
        return previous_mask if self.supports_masking else None

    def _first_arg_from_keywords(self, kwargs: dict) -> tuple:
        """Keras's ``layer(query=q, value=v)``: with no positional argument, the first
        parameter of ``call`` comes from the keywords (or its default), and the rest of
        kerax (masks, input spec, symbolic nodes) sees it as the positional input."""
        call = self.__dict__.get("call")
        params = list(signature(call if call is not None else type(self).call).parameters.values())
        if call is None:
            params = params[1:]  # the class's function: drop ``self``
        first = params[0] if params else None
        if first is not None and first.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
            if first.name in kwargs:
                return (kwargs.pop(first.name),)
            if first.default is not inspect.Parameter.empty:
                return (first.default,)
            how = f"`layer(x)` or by name, `layer({first.name}=x)`"
        else:
            how = "`layer(x)`"
        raise TypeError(
            f"Layer '{self.name}' was called without inputs. Pass them positionally, {how}. "
            f"Received only the keyword arguments {sorted(kwargs)}."
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not args:
            args = self._first_arg_from_keywords(kwargs)
        if _graph.any_symbolic((args, kwargs)):
            assert_input_compatibility(self.input_spec, args[0], self.name)
            self._note_build_shapes(args, kwargs)
            return _graph.symbolic_call(self, args, kwargs)
        scope = _scope.current()
        # an eager call's mask from the eager call that made the input (Keras's _keras_mask)
        eager_mask = _scope.eager_mask(args[0]) if scope is None else None
        args = (self._convert_inputs(args[0]), *args[1:])
        assert_input_compatibility(self.input_spec, args[0], self.name)
        training = kwargs.pop("training", None)
        if training is None and scope is not None:
            training = scope.training
        if training is None:  # neither this call nor an enclosing one sets it
            training = self._training_unset
        if self._call_accepts("training"):
            kwargs["training"] = training
        if scope is None:
            return self._eager_call(args, kwargs, training, eager_mask)
        with _naming.layer_scope(self):
            self._note_build_shapes(args, kwargs)
            self._maybe_build(args)
        if self._own_policy() is not self.dtype_policy:  # a map's entry, known once built
            args = (self._convert_inputs(args[0]), *args[1:])
        mask = kwargs.get("mask", _scope.get_mask(args[0]))
        if mask is not None and "mask" not in kwargs and self._call_accepts("mask"):
            kwargs["mask"] = mask
        with (
            jax.named_scope(self.name),
            _naming.layer_scope(self),
            _scope.training_default(scope, training),
        ):
            try:
                if self.__dict__.get("_remat"):
                    outputs = _remat.call(self, args, kwargs)
                else:
                    outputs = self.call(*args, **kwargs)
            except AttributeError as e:
                if "attribute 'assign" not in str(e):
                    raise
                raise AttributeError(
                    f"Layer '{self.name}': inside call(), a weight is its current array, "
                    "not a Variable, so it has no assign/assign_add/assign_sub (kerax's "
                    "layers are pure functions). Update a non-trainable weight by rebinding "
                    "it: `self.count = self.count + 1` instead of "
                    "`self.count.assign_add(1)`; apply() and fit() carry the new value. "
                    f"Original error: {e}"
                ) from e
        _scope.set_output_masks(outputs, self.compute_mask(args[0], mask))
        if self.activity_regularizer is not None:
            for out in jax.tree_util.tree_leaves(outputs):
                # Keras 3 divides the penalty by the batch size
                batch = out.shape[0] if out.ndim else 1
                self.add_loss(self.activity_regularizer(out) / batch)
        return outputs

    def _eager_call(
        self, args: tuple, kwargs: dict, training: bool | None, mask: Any = None
    ) -> Any:
        """A call outside any scope (Keras-style eager use): read and write stored values;
        ``mask`` (the input's) goes in, and the outputs' masks go to the next eager call."""
        for layer in self._flat_layers():
            layer._eager_losses.clear()
        scope = _scope.Scope(training=training)
        with _scope.bind(scope):
            _scope.set_mask(args[0], mask)
            outputs = self(*args, **kwargs)
            _scope.keep_eager_mask(outputs, _scope.get_mask(outputs))
        for layer in self._flat_layers():
            for v in layer._own_variables:
                if id(v) in scope.updates:
                    v._value = scope.updates[id(v)]
        self._eager_losses.extend(scope.losses)
        return outputs

    def _convert_inputs(self, x: Any) -> Any:
        def convert(t):
            if isinstance(t, Variable):
                t = t.value
            if isinstance(t, (np.ndarray, np.generic, jax.Array, float, int)) or hasattr(
                t, "__array__"
            ):
                t = jnp.asarray(t)
                if self.autocast and jnp.issubdtype(t.dtype, jnp.floating):
                    t = t.astype(self.compute_dtype)
            return t

        return jax.tree_util.tree_map(convert, x, is_leaf=_is_variable)

    # -- shapes ----------------------------------------------------------------------
    def _symbolic_outputs(self, spec: Any) -> Any:
        """The structure of a symbolic call's outputs, given its traced ``spec``."""
        return spec

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        """Output shapes and dtypes for symbolic or shape-struct inputs, by tracing ``call``."""
        return _graph.trace_spec(lambda a, k: self(*a, **k), args, kwargs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The output shape (``None`` for unknown dimensions) for an input shape."""

        def to_tensor(s):
            return _graph.KerasTensor(s, self.dtype)

        def is_shape(s):
            return isinstance(s, tuple) and all(d is None or isinstance(d, int) for d in s)

        inputs = jax.tree_util.tree_map(to_tensor, input_shape, is_leaf=is_shape)
        spec = _graph.trace_spec(lambda x: self(x), inputs)
        return jax.tree_util.tree_map(
            lambda s: tuple(s.shape), spec, is_leaf=lambda s: hasattr(s, "shape")
        )

    @property
    def input(self) -> Any:
        """The symbolic input of this layer's first call in a functional graph (``[]``
        for an ``InputLayer``, as Keras: it has no input of its own)."""
        args = self._first_node("input").args
        return args[0] if args else []

    @property
    def output(self) -> Any:
        """The symbolic output of this layer's first call in a functional graph."""
        return self._first_node("output").outputs

    def _first_node(self, what: str):
        if not self._inbound_nodes:
            raise AttributeError(
                f"Layer '{self.name}' has never been called on a symbolic input, so it has no "
                f"{what}. Call it on keras.Input(...) (functional API) first."
            )
        return self._inbound_nodes[0]

    # -- config ------------------------------------------------------------------------
    def get_config(self) -> dict:
        """The constructor arguments that recreate this layer (Keras format)."""
        from kerax import mixed_precision, regularizers

        # The policy as Keras 3 writes it, a config dict (from_config takes a name too).
        dtype = mixed_precision.serialize(self.dtype_policy)
        base = {"name": self.name, "trainable": self.trainable, "dtype": dtype}
        if self._batch_input_shape is not None:
            base["batch_input_shape"] = self._batch_input_shape
        if self.activity_regularizer is not None:  # as Keras: only when there is one
            base["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        if type(self).get_config is not Layer.get_config:
            return base
        auto = self.__dict__.get("_auto_config")
        if auto is None:
            raise NotImplementedError(
                f"Layer {type(self).__name__} cannot be serialized automatically: its "
                "constructor arguments are not all plain values. Override get_config()."
            )
        auto = {k: v for k, v in auto.items() if k not in _BASE_KWARGS}
        return {**auto, **base}

    @classmethod
    def from_config(cls, config: dict) -> Layer:
        """Recreate a layer from ``get_config()`` (kerax's or Keras's: arguments Keras
        writes that kerax does not take are dropped when unset)."""
        from kerax.saving.object_config import drop_unset_extras

        return cls(**drop_unset_extras(cls, config))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"
