"""TensorFlow SavedModel export through ``jax.experimental.jax2tf`` (Keras 3's JAX route).

Each endpoint is a pure function of the tracked variables' values and the inputs: it
runs the kerax code in a binding scope (as ``Model.apply`` does), jax2tf lowers it to
StableHLO with the batch axis polymorphic, and a ``tf.function`` feeds it the archive's
``tf.Variable`` copies, so the SavedModel stores each weight once and
``reloaded.variables`` lists them. Writes the endpoint makes (``variable.assign``) come
back as outputs and are assigned to those ``tf.Variable`` copies, as Keras does.

TensorFlow is optional: it is imported only when an archive is made, never by
``import kerax``.
"""

from __future__ import annotations

import importlib
import inspect
import os
import shutil
import tempfile
from typing import Any

import numpy as np

SUPPORTED_FORMATS = ("tf_saved_model",)


def _tf() -> Any:
    try:
        return importlib.import_module("tensorflow")
    except ImportError as error:
        raise ImportError(
            "This requires the tensorflow module. You can install it via "
            "`pip install tensorflow` (or `pip install tensorflow-cpu`; kerax exports "
            "through jax2tf)."
        ) from error


class ExportArchive:
    """Writes TensorFlow SavedModel artifacts for inference (Keras's ``ExportArchive``).

    ``track`` a layer or model, ``add_endpoint`` each function to serve, then
    ``write_out``. The artifact reloads with ``tf.saved_model.load`` and needs neither
    kerax nor JAX. Needs TensorFlow (``pip install tensorflow-cpu``).

    Example::

        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint(
            "serve", lambda x: model(x, training=False),
            input_signature=[keras.InputSpec(shape=(None, 3), dtype="float32")],
        )
        archive.write_out("path/to/folder")
        tf.saved_model.load("path/to/folder").serve(x)

    Raises:
        ImportError: when TensorFlow is not installed.
    """

    def __init__(self) -> None:
        tf = _tf()
        self._root = tf.__internal__.tracking.AutoTrackable()
        self._root.variables, self._root._misc_resources = [], []
        self._root.trainable_variables, self._root.non_trainable_variables = [], []
        self._tracked: dict[int, Any] = {}  # id -> kerax Variable, in tracking order
        self._variables: list = []  # the same, trainable ones first
        self._tf_variables: dict[int, Any] = {}  # id(kerax Variable) -> tf.Variable
        self._endpoint_names: list[str] = []
        self.tensorflow_version = tf.__version__

    # -- resources -------------------------------------------------------------------
    def _tf_variable(self, v: Any, trainable: bool | None = None) -> Any:
        if id(v) not in self._tf_variables:
            trainable = v.trainable if trainable is None else trainable
            value = np.asarray(v.value)
            self._tf_variables[id(v)] = _tf().Variable(value, trainable=trainable, name=v.path)
        return self._tf_variables[id(v)]

    def track(self, resource: Any) -> Any:
        """Track the variables of a built layer or model (or a TensorFlow trackable).

        Raises:
            ValueError: for a layer that is not built yet.
            TypeError: for anything else.
        """
        from kerax.layers.base import Layer

        tf = _tf()
        if isinstance(resource, Layer):
            if not resource.built:
                raise ValueError(
                    f"Layer '{resource.name}' is not built, so it has no variables to "
                    "export yet. Build it first (call it on data, or model.build(shape))."
                )
            trainable = {id(v) for v in resource.trainable_variables}
            found = [*resource.trainable_variables, *resource.non_trainable_variables]
            if hasattr(resource, "_variable_index"):  # a model's RNN states are bound too
                found += [v for _, v in resource._variable_index(states=True)]
            for v in found:
                self._tracked.setdefault(id(v), v)
                self._tf_variable(v, trainable=id(v) in trainable)
            tracked = list(self._tracked.values())  # trainable first, as Keras's `variables`
            tracked.sort(key=lambda v: not self._tf_variables[id(v)].trainable)
            self._variables = tracked
            self._root.variables = [self._tf_variables[id(v)] for v in tracked]
            self._root.trainable_variables = [t for t in self._root.variables if t.trainable]
            self._root.non_trainable_variables = [
                t for t in self._root.variables if not t.trainable
            ]
        elif isinstance(resource, tf.__internal__.tracking.Trackable):
            self._root._misc_resources.append(resource)
        else:
            raise TypeError(
                "ExportArchive.track() takes a kerax Layer or Model, or a TensorFlow "
                f"trackable. Received: resource={resource!r} of type {type(resource).__name__}"
            )
        return resource

    def add_variable_collection(self, name: str, variables: Any) -> None:
        """Save ``variables`` (kerax Variables) as the list attribute ``name`` of the
        reloaded artifact."""
        from kerax._variable import Variable

        self._check_name(name, "variable collection")
        if not isinstance(variables, (list, tuple, set)) or not all(
            isinstance(v, Variable) for v in variables
        ):
            raise ValueError(
                "add_variable_collection() takes a list, tuple or set of kerax Variables. "
                f"Received: variables={variables!r}"
            )
        setattr(self._root, name, [self._tf_variable(v) for v in variables])

    # -- endpoints -------------------------------------------------------------------
    def _check_name(self, name: Any, what: str) -> None:
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"The {what} name must be a Python identifier. Received: {name!r}")
        if name in self._endpoint_names or hasattr(self._root, name):
            raise ValueError(f"The name {name!r} is already used in this archive; pick another.")

    def add_endpoint(self, name: str, fn: Any, input_signature: Any = None, **kwargs: Any) -> Any:
        """Register ``fn`` as the serving endpoint ``name``.

        Args:
            name: the endpoint's name (``reloaded.<name>(...)``).
            fn: a function of the inputs computing with tracked layers (a model, its
                ``call``, or a lambda).
            input_signature: one spec per positional argument of ``fn``, each a
                ``tf.TensorSpec``, ``keras.InputSpec``, ``KerasTensor`` or array, or a
                list/dict of them; ``None`` axes are polymorphic.
            **kwargs: ``jax2tf_kwargs`` (dict for ``jax2tf.convert``) and ``is_static``
                (True: ``fn`` writes no variables).

        Returns:
            The ``tf.function`` registered.

        Raises:
            ValueError: for a missing signature, a name in use, or an ``fn`` that uses
                variables no tracked layer owns.
        """
        from jax.experimental import jax2tf

        from kerax import _scope

        tf = _tf()
        self._check_name(name, "endpoint")
        jax2tf_kwargs = dict(kwargs.pop("jax2tf_kwargs", None) or {})
        is_static = bool(kwargs.pop("is_static", False))
        if kwargs:
            raise TypeError(f"add_endpoint() got unexpected arguments: {sorted(kwargs)}")
        if input_signature is None:
            raise ValueError(
                f"Endpoint {name!r} needs an input_signature (kerax functions are not "
                "tf.functions), e.g. input_signature=[keras.InputSpec(shape=(None, 3), "
                "dtype='float32')]."
            )
        if not self._variables and hasattr(fn, "trainable_variables"):
            self.track(fn)
        elif not self._variables and hasattr(getattr(fn, "__self__", None), "built"):
            self.track(fn.__self__)
        signature = tf.nest.map_structure(_tensor_spec, list(input_signature))
        polymorphic = tf.nest.map_structure(_polymorphic, signature)
        jax2tf_kwargs.setdefault("polymorphic_shapes", [None, *polymorphic])
        tracked = list(self._variables)
        updatable = [i for i, v in enumerate(tracked) if not self._tf_variables[id(v)].trainable]

        def pure_fn(values, *args):
            scope = _scope.Scope(values={id(v): x for v, x in zip(tracked, values)})
            with _scope.bind(scope):
                outputs = fn(*args)
            updates = {} if is_static else {
                str(i): scope.updates[id(tracked[i])]
                for i in updatable if id(tracked[i]) in scope.updates
            }  # fmt: skip
            return outputs, updates

        converted = jax2tf.convert(pure_fn, **jax2tf_kwargs)
        tf_variables = [self._tf_variables[id(v)] for v in tracked]

        def endpoint(*args):
            outputs, updates = converted(tf_variables, *args)
            for i, value in updates.items():
                tf_variables[int(i)].assign(tf.cast(value, tf_variables[int(i)].dtype))
            return outputs

        endpoint.__signature__ = _positional_signature(fn, len(signature))
        function = tf.function(endpoint, input_signature=signature, autograph=False)
        try:  # trace now: a broken fn fails here, not half-way through write_out
            function.get_concrete_function()
        except ValueError as error:
            if "is not part of the variables" not in str(error):
                raise
            raise ValueError(
                f"Endpoint {name!r} uses a variable of a layer this archive does not "
                f"track ({error}). Call archive.track(layer_or_model) before add_endpoint()."
            ) from error
        setattr(self._root, name, function)
        self._endpoint_names.append(name)
        return function

    # -- writing ---------------------------------------------------------------------
    def write_out(self, filepath: Any, options: Any = None, verbose: bool = True) -> None:
        """Write the SavedModel folder at ``filepath``, atomically: into a temporary
        sibling folder first, which then replaces ``filepath``; a failure leaves an
        existing artifact there untouched. ``serving_default`` aliases the first endpoint.

        Raises:
            ValueError: when no endpoint was added.
            FileExistsError: when ``filepath`` is an existing file (not a folder).
        """
        from kerax.saving._io import fspath

        tf = _tf()
        path = os.path.abspath(fspath(filepath))
        if not self._endpoint_names:
            raise ValueError("No endpoints have been added yet. Call add_endpoint() first.")
        if os.path.exists(path) and not os.path.isdir(path):
            raise FileExistsError(
                f"Cannot write a SavedModel folder at {path!r}: a file is there. Remove it or "
                "pick another path."
            )
        functions = {n: getattr(self._root, n) for n in self._endpoint_names}
        signatures = {n: f.get_concrete_function() for n, f in functions.items()}
        signatures.setdefault("serving_default", signatures[self._endpoint_names[0]])
        parent, base = os.path.split(path)
        os.makedirs(parent, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=f".{base}.tmp-", dir=parent)
        try:
            tf.saved_model.save(self._root, staging, signatures=signatures, options=options)
            _replace_folder(staging, path)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if verbose:
            listing = "\n\n".join(
                f"* Endpoint '{n}'\n{signatures[n].pretty_printed_signature(verbose=False)}"
                for n in self._endpoint_names
            )
            print(f"Saved artifact at '{path}'. The following endpoints are available:\n")
            print(listing)


def _replace_folder(staging: str, path: str) -> None:
    """Move the finished ``staging`` folder to ``path``; an old folder there is moved
    aside first and put back if the move fails (two renames: a folder cannot be
    ``os.replace``d over a non-empty one)."""
    if not os.path.exists(path):
        os.replace(staging, path)
        return
    old = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.old-", dir=os.path.dirname(path))
    os.rmdir(old)
    os.replace(path, old)
    try:
        os.replace(staging, path)
    except BaseException:
        os.replace(old, path)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _tensor_spec(x: Any) -> Any:
    tf = _tf()
    if isinstance(x, tf.TensorSpec):
        return x
    shape, dtype = getattr(x, "shape", None), getattr(x, "dtype", None)
    if shape is None or dtype is None:
        raise ValueError(
            "Each input_signature entry needs a shape and a dtype: a tf.TensorSpec, "
            f"keras.InputSpec(shape=..., dtype=...), KerasTensor or array. Received: {x!r}"
        )
    shape = tuple(None if d is None else int(d) for d in shape)
    if shape and not hasattr(x, "allow_last_axis_squeeze"):  # not an InputSpec: data or a
        shape = (None, *shape[1:])  # KerasTensor stands for any batch size
    return tf.TensorSpec(shape, tf.as_dtype(np.dtype(dtype)), name=getattr(x, "name", None))


def _polymorphic(spec: Any) -> str:
    dims = [
        str(d) if d is not None else ("batch" if i == 0 else f"d{i}")
        for i, d in enumerate(spec.shape.as_list())
    ]
    return f"({', '.join(dims)})"


def _positional_signature(fn: Any, count: int) -> inspect.Signature:
    """Name the endpoint's arguments after ``fn``'s (TF-Serving shows them)."""
    target = getattr(fn, "call", fn)
    try:
        params = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        params = []
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    names = [p.name for p in positional[:count]]
    names += [f"args_{i}" for i in range(len(names), count)]
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    return inspect.Signature([inspect.Parameter(n, kind) for n in names])


def export_model(
    model: Any,
    filepath: Any,
    format: str = "tf_saved_model",
    verbose: bool | None = None,
    input_signature: Any = None,
    **kwargs: Any,
) -> None:
    """``Model.export``: a SavedModel whose ``serve`` endpoint is the inference pass."""
    if format not in SUPPORTED_FORMATS:
        raise ValueError(  # Keras's onnx/openvino/litert/torch need other backends
            f"Unsupported format={format!r}. kerax exports {list(SUPPORTED_FORMATS)} only "
            "(through jax2tf; Keras's 'onnx', 'openvino', 'litert' and 'torch' are not "
            "implemented). Use format='tf_saved_model'."
        )
    if not model.built:
        raise ValueError(
            f"Model '{model.name}' is not built, so it cannot be exported. Call it on data "
            "or give it an Input first."
        )
    if input_signature is None:
        input_signature = _model_signature(model)
    archive = ExportArchive()
    archive.track(model)

    def serve(inputs):
        return model(inputs, training=False)

    archive.add_endpoint("serve", serve, input_signature, **kwargs)
    archive.write_out(filepath, verbose=True if verbose is None else bool(verbose))


def _model_signature(model: Any) -> list:
    struct = getattr(model, "_inputs_struct", None)  # functional: one structured argument
    if struct is not None:
        return [struct]
    try:
        inputs = model.inputs  # Sequential with an Input
    except (AttributeError, ValueError):
        inputs = None
    if inputs:
        return [inputs[0] if len(inputs) == 1 else list(inputs)]
    config = model.get_build_config() or {}
    shape = config.get("input_shape")
    if shape is None or not all(isinstance(d, (int, type(None))) for d in shape):
        raise ValueError(
            f"Cannot infer the input signature of model '{model.name}'. Pass "
            "input_signature=[keras.InputSpec(shape=(None, ...), dtype='float32')]."
        )
    from kerax.layers.input_spec import InputSpec

    dtype = getattr(model, "input_dtype", None) or "float32"
    return [InputSpec(shape=(None, *tuple(shape)[1:]), dtype=dtype)]
