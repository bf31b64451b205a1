"""``Model``: a layer that owns a variable pytree and lowers to ``init``/``apply``.

Every model — ``Sequential``, functional, subclassed — exposes the same pure pair::

    variables = model.init(key, x)        # {"trainable": {...}, "non_trainable": {...}}
    y, non_trainable = model.apply(variables, x, training=False, key=None)

The pytree is keyed by layer name, then weight name (nested models nest), exactly
the structure ``get_variables()`` returns and ``set_variables()`` accepts. ``apply``
binds it into a scope (``kerax._scope``) and runs the Keras-style layer code, which
reads the bound arrays; it never reads or writes the layers' stored values, so it can
be jitted, differentiated, vmapped and sharded freely.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from kerax import _graph, _host_keys, _scope
from kerax._variable import Variable, materialize
from kerax.layers.base import Layer
from kerax.trainer import Trainer, keras_steps

Variables = dict[str, dict]

_FUNCTIONAL_VARIANTS: dict[type, type] = {}


def _functional_variant(cls: type) -> type:
    """``cls`` with ``Functional`` behind it: the subclass's methods first, then the graph's."""
    from kerax.models.functional import Functional

    if cls not in _FUNCTIONAL_VARIANTS:
        attrs = {
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
            "_functional_variant_of": cls,
        }
        _FUNCTIONAL_VARIANTS[cls] = type(cls.__name__, (cls, Functional), attrs)
    return _FUNCTIONAL_VARIANTS[cls]


class Model(Trainer, Layer):
    """A group of layers with training and inference features.

    ``Model(inputs, outputs)`` builds a functional model; subclass ``Model`` and define
    ``call`` for a subclassed one.
    """

    def __new__(cls, *args, **kwargs):
        if cls is Model and (len(args) >= 2 or "inputs" in kwargs or "outputs" in kwargs):
            from kerax.models.functional import Functional

            return Functional.__new__(Functional, *args, **kwargs)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        if args or "inputs" in kwargs or "outputs" in kwargs:
            # A subclass built the functional way (`class MyModel(keras.Model)` then
            # `MyModel(inputs, outputs)`): as in Keras, the instance becomes a functional
            # model that keeps the subclass's methods.
            from kerax.models.functional import Functional

            if isinstance(self, Functional):
                raise TypeError(f"{type(self).__name__}: unexpected positional arguments {args!r}.")
            self.__class__ = _functional_variant(type(self))
            Functional.__init__(self, *args, **kwargs)
            return
        Layer.__init__(self, **kwargs)
        Trainer.__init__(self)

    @property
    def loss(self) -> Any:
        """The ``loss`` given to ``compile`` (``None`` before it), as in Keras."""
        spec = self.__dict__.get("_loss_spec")
        return spec[0] if spec else None

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Model:
        """Recreate a model: a functional config (layers and their connections) builds
        ``cls(inputs, outputs)``; any other is passed to the constructor, as in Keras."""
        if {"layers", "input_layers", "output_layers"} <= set(config):
            from kerax.models import graph_config

            return graph_config.functional_from_config(config, custom_objects, cls=cls)
        return cls(**config)

    # -- building ------------------------------------------------------------------
    def build(self, input_shape: Any = None) -> None:
        """Create every weight by tracing ``call`` on inputs of ``input_shape`` (no FLOPs)."""
        if input_shape is not None and not self.built:
            self.__dict__["built"] = True
            is_shape = lambda s: (
                isinstance(s, (tuple, list)) and all(d is None or isinstance(d, int) for d in s)
            )
            spec = jax.tree_util.tree_map(
                lambda s: _graph.KerasTensor(tuple(s), self.dtype), input_shape, is_leaf=is_shape
            )
            _graph.trace_spec(lambda x: self.call(x), spec)
            self.__dict__["_build_input_shape"] = input_shape  # saved, to rebuild on load
        self.built = True

    def _build_from_data(self, *inputs: Any) -> None:
        """Build on the first batch (Keras's deferred build), without computing anything."""
        if self.built:
            return
        structs = jax.tree_util.tree_map(
            lambda x: jax.ShapeDtypeStruct(np.shape(x), getattr(x, "dtype", np.float32)), inputs
        )

        def run(*xs):
            with _scope.bind(_scope.Scope(key=jax.random.PRNGKey(0), abstract=True)):
                return self(*xs)

        jax.eval_shape(run, *structs)

    # -- the variable pytree -------------------------------------------------------
    def _variable_index(self, states: bool = False) -> list[tuple[tuple[str, ...], Variable]]:
        """Every variable once, with its path in the pytree (layer names, weight name).

        ``states=True`` appends the layers' ``_state_variables`` (stateful RNN states):
        in the pytree, but not weights (Keras keeps them out of ``weights`` and files).
        """
        out: list[tuple[tuple[str, ...], Variable]] = []
        tail: list[tuple[tuple[str, ...], Variable]] = []
        seen: set[int] = set()

        def visit(layer: Layer, prefix: tuple[str, ...]) -> None:
            own = {v.name for v in layer._own_variables}
            for v in layer._own_variables:
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(((*prefix, v.name), v))
            for v in layer.__dict__.get("_state_variables", ()) if states else ():
                if id(v) not in seen:
                    seen.add(id(v))
                    tail.append(((*prefix, v.name), v))
            for sub in layer._layers:
                if sub.name in own:
                    raise ValueError(
                        f"Layer '{layer.name}' has a weight and a sublayer both named "
                        f"'{sub.name}'; rename one of them."
                    )
                visit(sub, (*prefix, sub.name))

        self._check_unique_names()
        visit(self, ())
        return out + tail  # states last: the weights' init keys do not move

    def _check_unique_names(self) -> None:
        names = [layer.name for layer in self._layers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(
                f"All layer names in model '{self.name}' must be unique. Repeated: {dupes}. "
                "Pass distinct name= arguments."
            )

    def _tree(self, value_of) -> Variables:
        tree: Variables = {"trainable": {}, "non_trainable": {}}
        for path, v in self._variable_index(states=True):
            node = tree["trainable" if v.trainable else "non_trainable"]
            for part in path[:-1]:
                node = node.setdefault(part, {})
            node[path[-1]] = value_of(path, v)
        return tree

    def get_variables(self) -> Variables:
        """The model's current variables as the pytree ``apply`` takes."""
        self._check_built("variables")
        materialize([v for _, v in self._variable_index(states=True)])
        return self._tree(lambda path, v: v.value)

    def set_variables(self, variables: Variables) -> None:
        """Write a variables pytree (from ``init``, ``get_variables`` or training) back."""
        self._check_built("variables")
        for path, v in self._variable_index(states=True):
            v.assign(_lookup(variables, path, v, self.name))

    def _state_index(self) -> list[tuple[tuple[str, ...], Variable]]:
        """Only the layers' states (stateful RNNs), with their pytree paths."""
        weights = {id(v) for _, v in self._variable_index()}
        return [(p, v) for p, v in self._variable_index(states=True) if id(v) not in weights]

    def _set_states(self, non_trainable: dict) -> None:
        """Write the states of a ``non_trainable`` pytree back (after evaluate/predict)."""
        for path, v in self._state_index():
            v.assign(_lookup({"non_trainable": non_trainable}, path, v, self.name))

    def init(self, key: jax.Array, *sample_inputs: Any) -> Variables:
        """Fresh variables for this model: a pure function of ``key``.

        Args:
            key: a PRNG key.
            *sample_inputs: arrays (or ``jax.ShapeDtypeStruct``) shaped like the model's
                inputs; only their shapes are used. Optional once the model is built.

        Returns:
            ``{"trainable": {...}, "non_trainable": {...}}`` keyed by layer then weight name.
        """
        if not self.built:
            if not sample_inputs:
                raise ValueError(
                    f"Model '{self.name}' is not built: pass sample inputs to init(key, x), "
                    "or give the model an Input."
                )
            self._build_from_data(*sample_inputs)
        position = self._init_positions()
        return self._tree(lambda path, v: v.initial_value(jax.random.fold_in(key, position[id(v)])))

    def _init_positions(self) -> dict[int, int]:
        # Keys follow each variable's position, not its name: layer names carry a session
        # counter (dense_3), and two models of one architecture must initialize alike.
        return {id(v): i for i, (_, v) in enumerate(self._variable_index(states=True))}

    def _init_on_host(self, keys: np.ndarray) -> Variables | None:
        """``vmap(self.init)(keys)`` (raw ``uint32[n, 2]`` keys) computed in NumPy: the
        same values, no compile; None when some weight's initializer has no host path
        (``Variable.host_initial_value``)."""
        variables = [v for _, v in self._variable_index(states=True)]  # in key order
        stacked: dict[int, list] = {id(v): [] for v in variables}
        for key in keys.reshape(-1, 2):
            for i, v in enumerate(variables):  # key i as in _init_positions
                value = v.host_initial_value(_host_keys.fold_in(key, i))
                if value is None:
                    return None
                stacked[id(v)].append(value)
        values = jax.device_put({vid: np.stack(members) for vid, members in stacked.items()})
        return self._tree(lambda path, v: values[id(v)])

    def apply(
        self,
        variables: Variables,
        *inputs: Any,
        training: bool = False,
        key: jax.Array | None = None,
    ) -> tuple[Any, dict]:
        """Run the model as a pure function of ``variables``.

        Args:
            variables: the pytree from ``init`` or ``get_variables``.
            *inputs: the model's inputs (one array, or one per input).
            training: run in training mode (dropout active, BatchNormalization batch stats).
            key: a PRNG key; needed when the model draws random numbers (training dropout).

        Returns:
            ``(outputs, non_trainable)``: the outputs, and the non-trainable variables
            after the call (updated moving statistics; unchanged when nothing was updated).
        """
        outputs, non_trainable, _ = self._apply(variables, inputs, training, key)
        return outputs, non_trainable

    def stateless_call(
        self,
        trainable_variables: list,
        non_trainable_variables: list,
        *inputs: Any,
        return_losses: bool = False,
        training: bool = False,
        key: jax.Array | None = None,
    ) -> tuple:
        """Keras's ``stateless_call``: ``apply`` with the values as lists.

        Args:
            trainable_variables: values in the order of ``model.trainable_variables``.
            non_trainable_variables: values in the order of ``model.non_trainable_variables``.
            *inputs: the model's inputs.
            return_losses: also return the losses layers added with ``add_loss``, then the
                trainable weights' regularization penalties at the given values.
            training: training mode.
            key: a PRNG key, needed when training draws random numbers (dropout). Keras
                keeps its seed in a variable; kerax's layers take the key explicitly.

        Returns:
            ``(outputs, non_trainable_variables)`` with the updated values in the same
            order, plus the list of losses with ``return_losses``.
        """
        outputs, new_non_trainable, losses = self._stateless_forward(
            trainable_variables, non_trainable_variables, inputs, training, key
        )
        if return_losses:  # Keras's self.losses in the call's scope: add_loss terms, then
            # the trainable weights' penalties at the given values (so they differentiate)
            penalties = [
                v.regularizer(value)
                for v, value in zip(self.trainable_variables, trainable_variables)
                if v.regularizer is not None
            ]
            return outputs, new_non_trainable, [*losses, *penalties]
        return outputs, new_non_trainable

    def _stateless_forward(
        self, trainable_variables: list, non_trainable_variables: list, inputs: tuple,
        training: bool, key: jax.Array | None,
    ) -> tuple:  # fmt: skip
        """``stateless_call``'s forward pass: outputs, non-trainable values, and the
        losses layers added with ``add_loss`` (the default steps add the penalties)."""
        self._check_built("stateless_call")
        self._check_stateless_lists(trainable_variables, non_trainable_variables)
        given = {
            id(v): value
            for handles, values in (
                (self.trainable_variables, trainable_variables),
                (self.non_trainable_variables, non_trainable_variables),
            )
            for v, value in zip(handles, values)
        }
        variables = self._tree(lambda path, v: given.get(id(v), v.value))
        if key is None:  # inside a custom train_step: the step's key (Keras: a seed variable)
            key = keras_steps.call_key(training)
        outputs, updated, losses = self._apply(variables, inputs, training, key)
        keras_steps.record_call(self, trainable_variables)
        paths = {id(v): path for path, v in self._variable_index(states=True)}
        new_non_trainable = [
            given[id(v)]
            if v.trainable
            else _lookup({"non_trainable": updated}, paths[id(v)], v, self.name)
            for v in self.non_trainable_variables
        ]
        return outputs, new_non_trainable, list(losses)

    def _apply(
        self,
        variables: Variables,
        inputs: tuple,
        training: bool,
        key: Any,
        sample_mask: Any = None,
        return_masks: bool = False,
    ):
        """``apply`` plus the losses layers added with ``add_loss`` (for the trainer);
        with ``return_masks``, also the Keras mask of each output (flat, None where an
        output has none), which Keras's losses and metrics leave masked entries out by."""
        index = self._variable_index(states=True)
        values = {id(v): _lookup(variables, path, v, self.name) for path, v in index}
        scope = _scope.Scope(values=values, key=key, training=training, sample_mask=sample_mask)
        x = inputs[0] if len(inputs) == 1 else list(inputs)
        with _scope.bind(scope):
            outputs = self(x, training=training)
            if return_masks:
                from kerax.trainer.compile_utils import flatten_outputs

                masks = [_scope.get_mask(t) for t in flatten_outputs(outputs)]
        non_trainable: dict = {}
        for path, v in index:
            if not v.trainable:
                node = non_trainable
                for part in path[:-1]:
                    node = node.setdefault(part, {})
                node[path[-1]] = scope.updates.get(id(v), values[id(v)])
        if return_masks:
            return outputs, non_trainable, scope.losses, masks
        return outputs, non_trainable, scope.losses

    # -- build and compile configs (Keras 3's Model API) -------------------------------
    def get_build_config(self) -> dict | None:
        """Keras's ``build_config``: ``{"input_shape": shape}`` the model was built with.

        None before the model is built; ``{"input_shape": None}`` for a functional model
        (its ``Input`` layers record the shapes), as in Keras.
        """
        if not self.built:
            return None
        from kerax.saving.model_config import _build_shape

        shape = _build_shape(self)
        if isinstance(shape, list) and all(d is None or isinstance(d, int) for d in shape):
            shape = tuple(shape)
        return {"input_shape": shape}

    def build_from_config(self, config: dict | None) -> None:
        """Build the model from ``get_build_config()``'s dict (Keras's method)."""
        config = self._checked_build_config(config)
        if config is None:
            return
        shape = config.get("input_shape")
        if shape is not None and not self.built:
            self.build(shape)

    def get_compile_config(self) -> dict | None:
        """The arguments given to ``compile`` in Keras 3's serialized form (``{}`` before
        ``compile``, as in Keras); ``compile_from_config`` on another model compiles it
        alike."""
        from kerax.saving.compile_config import get_compile_config

        return get_compile_config(self) or {}

    def compile_from_config(self, config: dict) -> None:
        """Compile the model with the arguments ``get_compile_config()`` recorded
        (kerax's or Keras 3's)."""
        if not isinstance(config, dict):
            raise TypeError(
                f"compile_from_config on model '{self.name}' expects the dict returned by "
                f"get_compile_config(). Received: {config!r}"
            )
        from kerax.saving.compile_config import compile_from_config

        compile_from_config(self, config)

    # -- quantization (kerax.layers._quantize) -------------------------------------------
    def get_quantization_layer_structure(self, mode: Any = None) -> dict | None:
        """The layers GPTQ quantizes block by block (override it; Keras's hook):
        ``{"pre_block_layers": [...], "sequential_blocks": [...]}``, or ``None``."""
        del mode
        return None

    def quantize(self, mode: Any = None, config: Any = None, filters: Any = None, **kwargs):
        """Quantize the weights of every layer that supports it (Keras's
        ``model.quantize``): Dense, EinsumDense, Embedding and ReversibleEmbedding, to
        int8 or int4; Dense and EinsumDense to float8 training (``kerax.layers._float8``)
        or with GPTQ or AWQ from calibration data (``kerax.quantizers._gptq_core``).

        Other layers are skipped with a warning, as Keras does. The model stays usable:
        ``predict`` uses the int8 weights and ``fit`` trains what is still trainable
        (biases, unquantized layers, LoRA factors) from a fresh optimizer state.

        Args:
            mode: ``"int8"``, ``"int4"``, ``"float8"``, ``"gptq"`` or ``"awq"``;
                optional when ``config`` is given.
            config: a ``keras.quantizers.Int8QuantizationConfig``,
                ``Int4QuantizationConfig``, ``Float8QuantizationConfig``, ``GPTQConfig``
                or ``AWQConfig`` (required for gptq and awq).
            filters: quantize only the layers whose name matches this regex (or any of
                a list of them), or for which this callable returns True.

        Raises:
            ValueError: bad arguments, an unbuilt model or an already quantized layer;
                for gptq and awq, no layer structure, dataset or tokenizer.
        """
        import re

        from kerax import _warnings
        from kerax.quantizers import _config

        type_check = kwargs.pop("type_check", True)
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments passed to quantize(): {kwargs}")
        if filters is not None and not isinstance(filters, (str, list, tuple)):
            if not callable(filters):
                raise ValueError(
                    "The `filters` argument must be a regex string, a list of regex strings "
                    f"or a callable. Received: {type(filters).__name__}"
                )
        config = _config.resolve(mode, config)
        if not self.built:
            raise ValueError(
                f"Cannot quantize model '{self.name}': it is not built yet. Build it first "
                "(give it a keras.Input, call it on data, or call build(input_shape))."
            )

        def selected(layer: Layer) -> bool:
            if filters is None:
                return True
            if isinstance(filters, str):
                return bool(re.search(filters, layer.name))
            if isinstance(filters, (list, tuple)):
                return any(re.search(p, layer.name) for p in filters)
            return bool(filters(layer))

        modified = False
        calibrated = config.mode in ("gptq", "awq")
        if calibrated:
            from kerax.quantizers._gptq_core import gptq_quantize

            modified = gptq_quantize(self, config, filters)
        for layer in self._flat_layers() if not calibrated else ():
            if layer is self or layer._layers or not selected(layer):
                continue
            try:
                layer.quantize(config.mode, type_check=type_check, config=config)
                modified = True
            except NotImplementedError as e:
                _warnings.warn(str(e))
        if modified:  # new variables, new call paths: compile the steps afresh
            self._engines = {}
            self.__dict__["_engines_layout"] = None
            self._opt_state = None

    # -- saving (kerax.saving: Keras 3 .keras and .weights.h5 files) ------------------
    def save(self, filepath, overwrite: bool = True, **kwargs) -> None:
        """Save architecture, weights, compile config and optimizer state to a .keras file.

        A path ending in ``.h5`` writes Keras's legacy HDF5 file (with a warning);
        ``include_optimizer=False`` leaves the optimizer out of it.
        """
        from kerax.saving import save_model

        save_model(self, filepath, overwrite=overwrite, **kwargs)

    def export(
        self,
        filepath,
        format: str = "tf_saved_model",
        verbose: bool | None = None,
        input_signature=None,
        **kwargs,
    ) -> None:
        """Export the inference pass as a TensorFlow SavedModel (endpoint ``serve``,
        batch axis polymorphic), through ``jax2tf``; needs ``pip install tensorflow-cpu``.

        ``input_signature`` defaults to the model's inputs; ``kwargs`` go to
        :meth:`kerax.export.ExportArchive.add_endpoint`. Written atomically.

        Raises:
            ValueError: for a format other than ``"tf_saved_model"``, or an unbuilt model.
            ImportError: when TensorFlow is not installed.
        """
        from kerax.export._archive import export_model

        export_model(self, filepath, format, verbose, input_signature, **kwargs)

    def save_weights(self, filepath, overwrite: bool = True, max_shard_size=None) -> None:
        """Save the weights in Keras's ``.weights.h5`` layout (written atomically); with
        ``max_shard_size`` (GB), as shards indexed by a ``.weights.json`` file."""
        from kerax.saving import save_weights

        save_weights(self, filepath, overwrite=overwrite, max_shard_size=max_shard_size)

    def load_weights(self, filepath, skip_mismatch: bool = False, **kwargs) -> None:
        """Load weights saved by ``save_weights`` (kerax or Keras), matched by position.

        Keras 2 ``.h5`` files load too; ``by_name=True`` pairs their layers by name.
        """
        from kerax.saving import load_weights

        load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)

    def get_state_tree(self, value_format: str = "backend_tensor") -> dict:
        """Every variable as Keras 3's nested dicts (``trainable_variables``,
        ``non_trainable_variables``, ``optimizer_variables``, ``metrics_variables``),
        keyed by variable path; ``value_format="numpy_array"`` gives NumPy arrays.

        Raises:
            ValueError: for another ``value_format``, or two variables with one path.
        """
        from kerax.saving.state_tree import get_state_tree

        return get_state_tree(self, value_format)

    def set_state_tree(self, state_tree: dict) -> None:
        """Assign a tree from ``get_state_tree`` (kerax's or Keras's), matched by path.

        Raises:
            ValueError: for an unknown top-level key or a value of the wrong shape.
        """
        from kerax.saving.state_tree import set_state_tree

        set_state_tree(self, state_tree)

    def to_json(self, **kwargs) -> str:
        """The model's architecture as Keras-compatible JSON."""
        from kerax.saving.model_config import model_to_json

        return model_to_json(self, **kwargs)

    # -- inspection ----------------------------------------------------------------
    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by name or by index in ``model.layers`` (give one of the two)."""
        if name is not None and index is not None:
            raise ValueError(
                f"get_layer on model '{self.name}' takes a layer name or an index, not both. "
                f"Received: name={name!r}, index={index!r}."
            )
        if name is None and index is None:
            raise ValueError(
                f"get_layer on model '{self.name}' needs a layer name or an index, e.g. "
                "model.get_layer('dense') or model.get_layer(index=0). Received neither."
            )
        if index is not None:
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(
                    f"Model '{self.name}' has {len(self.layers)} layers; index {index} is out "
                    "of range."
                )
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(
            f"No layer named '{name}' in model '{self.name}'. Layers: "
            f"{[layer.name for layer in self.layers]}"
        )

    def summary(
        self,
        line_length=None,
        positions=None,
        print_fn=None,
        expand_nested=False,
        show_trainable=False,
    ) -> None:
        """Print a table of layers, output shapes and parameter counts (Keras format)."""
        from kerax.models.summary import print_summary

        print_summary(
            self,
            line_length=line_length,
            positions=positions,
            print_fn=print_fn,
            expand_nested=expand_nested,
            show_trainable=show_trainable,
        )


def _lookup(variables: Variables, path: tuple[str, ...], v: Variable, model: str) -> Any:
    for group in ("trainable", "non_trainable") if v.trainable else ("non_trainable", "trainable"):
        node: Any = variables.get(group, {}) if isinstance(variables, dict) else {}
        for part in path:
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
        else:
            if tuple(np.shape(node)) != v.shape:
                raise ValueError(
                    f"Variable '{'/'.join(path)}' of model '{model}' has shape {v.shape}, the "
                    f"variables passed hold shape {tuple(np.shape(node))}."
                )
            return node
    raise ValueError(
        f"The variables passed to model '{model}' have no entry "
        f"'{'/'.join(path)}'. Use the pytree returned by model.init(...) or "
        "model.get_variables() for this model."
    )
