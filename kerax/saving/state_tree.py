"""Keras 3's ``model.get_state_tree()`` / ``model.set_state_tree()``.

The state tree is a dict of four nested dicts keyed by Keras variable paths split at
``/``: ``trainable_variables`` and ``non_trainable_variables`` (``{"seq": {"dense":
{"kernel": ...}}}``), ``optimizer_variables`` (``{"adam": {"iteration": ...,
"seq_dense_kernel_momentum": ...}}``, the names of :mod:`kerax.saving._optimizer_names`
over the arrays of :mod:`kerax.saving._optimizer_list`) and ``metrics_variables``
(``{"loss": {"total": ..., "count": ...}}``). It is what ``OrbaxCheckpoint`` saves, so a
tree from Keras sets a kerax model and back.

Where Keras's list of optimizer variables does not hold kerax's whole optax state (an
optimizer whose Keras layout kerax does not know, or hyper-parameters changed since
compiling), ``optimizer_variables[<optimizer name>]["kerax_state"]`` holds its leaves too,
as the ``.weights.h5`` files do (:mod:`kerax.saving.optimizer_state`); Keras skips paths
it does not know, as it skips Keras's seed-generator states here.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import _warnings

KEYS = (
    "trainable_variables",
    "non_trainable_variables",
    "optimizer_variables",
    "metrics_variables",
)
_FORMATS = ("backend_tensor", "numpy_array")
_KERAX_STATE = "kerax_state"


def _nest(pairs: list[tuple[str, Any]], value_format: str) -> dict:
    """``[(path, value)]`` as nested dicts split at ``/`` (Keras's ``_create_nested_dict``)."""
    out: dict = {}
    seen: set[str] = set()
    for path, value in pairs:
        if path in seen:
            raise ValueError(
                f"The following variable path is found twice in the model: '{path}'. "
                "`get_state_tree()` can only be called when all variable paths are unique. "
                "Make sure to give unique names to your layers (and other objects)."
            )
        seen.add(path)
        value = np.asarray(jax.device_get(value)) if value_format == "numpy_array" else value
        node = out
        *parents, leaf = path.split("/")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = jnp.asarray(value) if value_format == "backend_tensor" else value
    return out


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as ``{"a/b/c": leaf}`` (Keras's ``_flatten_nested_dict``)."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}/"))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _keras_scope(metric: Any) -> str:
    """The name scope Keras creates a compiled metric's variables in: the default name of
    the class a string such as ``"mae"`` makes (``mean_absolute_error``; Keras renames
    the object ``mae`` afterwards), except for ``"accuracy"``/``"acc"``, made with it."""
    from kerax import metrics

    name = metric.name
    if name in ("accuracy", "acc"):
        return name
    try:
        if type(metrics.get(name)) is type(metric):
            return type(metric)().name
    except (TypeError, ValueError):
        pass
    return name


def _metric_entries(model: Any) -> list[tuple[str, Any]]:
    """``(Keras path, variable)`` of every metric variable, in ``model.metrics`` order.

    kerax keeps the compiled metrics' states as ``compile_metrics``' variables
    ``state_0``, ``state_1`` ...; Keras keys them by metric (``mean_absolute_error/total``).
    Keras creates a multi-output loss's per-output trackers in its ``compile_loss`` scope.
    """
    from kerax.trainer.compile_metrics import CompileMetrics

    out: list[tuple[str, Any]] = []
    trackers = getattr(model, "_output_loss_trackers", list)()
    for metric in model.metrics:
        if not isinstance(metric, CompileMetrics):
            scope = "compile_loss/" if any(metric is t for t in trackers) else ""
            out.extend((scope + v.path, v) for v in metric.variables)
            continue
        if metric._tree is None:
            continue
        keyed, _ = jax.tree_util.tree_flatten_with_path(metric._compiled.initial_state())
        for (keys, _), variable in zip(keyed, metric.variables):
            sub = metric.metrics[keys[0].idx]
            key = keys[1] if len(keys) == 2 else None
            if isinstance(key, jax.tree_util.DictKey):
                name = str(key.key)
            elif isinstance(key, jax.tree_util.SequenceKey):  # a Keras-style metric's list
                name = sub.variables[key.idx].name
            else:
                name = variable.name
            out.append((f"{_keras_scope(sub)}/{name}", variable))
    return out


def _keras_arrays(model: Any, state: Any, params: Any) -> tuple[Any, Any, bool]:
    """``(Keras's list of the optimizer's arrays, their paths, exact)``; None where kerax
    does not know them (see :mod:`kerax.saving._optimizer_names`)."""
    from kerax.saving._optimizer_list import keras_list
    from kerax.saving._optimizer_names import keras_names

    arrays, exact = keras_list(model, state, params)
    names = keras_names(model, state, params) if arrays is not None else None
    return arrays, names, exact


def _optimizer_pairs(model: Any) -> list[tuple[str, Any]]:
    from kerax.saving import optimizer_state

    opt = getattr(model, "optimizer", None)
    if opt is None or not getattr(model, "compiled", False) or not model.built:
        return []
    params = optimizer_state._params(model)
    state = optimizer_state.current_state(model, opt, params)
    try:
        arrays, names, exact = _keras_arrays(model, state, params)
    except (KeyError, TypeError, ValueError, NotImplementedError):
        arrays, names, exact = None, None, False
    pairs = list(zip(names, arrays)) if names is not None and len(names) == len(arrays) else []
    if not pairs or not exact:
        extra = optimizer_state.state_to_arrays(model, state)
        pairs += [(f"{opt.name}/{_KERAX_STATE}/{k}", v) for k, v in extra.items()]
    return pairs


def get_state_tree(model: Any, value_format: str = "backend_tensor") -> dict:
    """The model's variables as Keras 3's nested state tree (see the module docstring).

    Raises:
        ValueError: for another ``value_format``, or two variables with one path.
    """
    if value_format not in _FORMATS:
        raise ValueError(
            "Invalid `value_format` argument. Expected one of {'numpy_array', "
            f"'backend_tensor'}}. Received: value_format={value_format}"
        )
    from kerax.callbacks import _fit_state

    _fit_state.sync_weights(model)  # in a fit's batch hook: its latest, undonated state
    return {
        "trainable_variables": _nest(
            [(v.path, v.value) for v in model.trainable_variables], value_format
        ),
        "non_trainable_variables": _nest(
            [(v.path, v.value) for v in model.non_trainable_variables], value_format
        ),
        "optimizer_variables": _nest(_optimizer_pairs(model), value_format),
        "metrics_variables": _nest([(p, v.value) for p, v in _metric_entries(model)], value_format),
    }


def _checked(path: str, value: Any, shape: tuple, dtype: Any) -> jax.Array:
    if tuple(np.shape(value)) != tuple(shape):
        raise ValueError(
            f"The state tree's value for '{path}' has shape {tuple(np.shape(value))}, the "
            f"model's variable has shape {tuple(shape)}. Set a state tree taken from the "
            "same architecture."
        )
    # A copy: the tree's arrays may be another model's, whose next fit donates them.
    return jnp.array(value, dtype=dtype, copy=True)


def _assignments(key: str, variables: list[tuple[str, Any]], flat: dict) -> list:
    """``[(variable, value)]`` for the variables whose path is in ``flat``; warns about
    the model's variables it lacks (Keras leaves those as they are, silently)."""
    out = [(v, _checked(p, flat[p], v.shape, v.dtype)) for p, v in variables if p in flat]
    missing = [p for p, _ in variables if p not in flat]
    if missing and flat:
        _warnings.warn(
            f"set_state_tree: {len(missing)} of the model's {key} are not in the state tree "
            f"and keep their values: {missing[:5]}. Variable paths hold layer names; "
            "build the model with the names it was saved with."
        )
    return out


def _renamed_scopes(opt: Any, flat: dict) -> dict:
    """``flat`` with its optimizer name scopes renamed to ``opt``'s: Keras and kerax name
    each new optimizer ``adam``, ``adam_1`` ..., so a tree saved from another model's
    optimizer has other scopes. A scope is the one before ``/iteration`` or
    ``/kerax_state/``; a LossScaleOptimizer's own (with ``dynamic_scale``) and its inner
    optimizer's are matched apart. Only a single candidate scope is renamed."""
    state_scopes = {p.split(f"/{_KERAX_STATE}/")[0] for p in flat if f"/{_KERAX_STATE}/" in p}
    iteration_scopes = {p.rsplit("/", 1)[0] for p in flat if p.endswith("/iteration")}
    outer = {p.rsplit("/", 1)[0] for p in flat if p.endswith("/dynamic_scale")}
    inner = getattr(opt, "inner_optimizer", None)
    if inner is not None and outer:
        wanted = [(outer | state_scopes, opt.name), (iteration_scopes - outer, inner.name)]
    else:
        wanted = [(iteration_scopes | state_scopes, opt.name)]
    renames = {min(found): name for found, name in wanted if len(found) == 1 and name not in found}
    if not renames:
        return flat
    out = {}
    for path, value in flat.items():
        scope, _, rest = path.partition("/")
        out[f"{renames.get(scope, scope)}/{rest}" if rest else path] = value
    return out


def _optimizer_state(model: Any, flat: dict) -> tuple[Any, float | None]:
    """``(optax state, learning rate)`` that ``flat`` (optimizer variables by path) sets;
    ``(None, None)`` when it sets nothing."""
    from kerax.saving import optimizer_state
    from kerax.saving._optimizer_list import from_keras_list

    opt = getattr(model, "optimizer", None)
    if opt is None or not getattr(model, "compiled", False) or not flat:
        return None, None
    flat = _renamed_scopes(opt, flat)
    params = optimizer_state._params(model)
    state = optimizer_state.current_state(model, opt, params)
    prefix = f"{opt.name}/{_KERAX_STATE}/"
    exact = {p[len(prefix) :]: np.array(v) for p, v in flat.items() if p.startswith(prefix)}
    rate = flat.get(f"{opt.name}/learning_rate")
    if (
        rate is not None
        and not callable(opt._learning_rate)
        and not hasattr(opt, "inner_optimizer")
    ):
        rate = float(np.asarray(rate))
    else:  # a schedule; a LossScaleOptimizer's own (unused) rate
        rate = None
    if exact:
        return optimizer_state.state_from_arrays(model, state, exact), rate
    arrays, names, _ = _keras_arrays(model, state, params)
    if names is None or not any(n in flat for n in names):
        if any(p.startswith(opt.name + "/") for p in flat):
            raise ValueError(
                f"set_state_tree cannot set the state of optimizer '{opt.name}' "
                f"({type(opt).__name__}) from Keras's variables: kerax does not know their "
                "layout for this optimizer. Set a state tree that kerax wrote."
            )
        _warnings.warn(
            f"set_state_tree: none of the state tree's {len(flat)} optimizer variables "
            f"(e.g. {sorted(flat)[:3]}) belongs to optimizer '{opt.name}' "
            f"({type(opt).__name__}), so its state is not set. Compile the model with the "
            "optimizer the tree was saved from."
        )
        return None, None
    arrays = [
        _checked(n, flat[n], np.shape(a), np.asarray(a).dtype) if n in flat else a
        for n, a in zip(names, arrays)
    ]
    new = from_keras_list(model, state, params, arrays)
    if new is None:
        raise ValueError(
            f"The optimizer variables in the state tree do not fit optimizer '{opt.name}' "
            f"({type(opt).__name__}). Compile the model with the optimizer they were saved from."
        )
    return new, rate


def set_state_tree(model: Any, state_tree: dict) -> None:
    """Assign a state tree (as :func:`get_state_tree` or Keras 3 gives it) to the model.

    As in Keras, variables are matched by path and the tree's other paths are skipped;
    every value is checked before any is assigned.

    Raises:
        ValueError: for a key other than the four of the module docstring, a value whose
            shape differs from its variable's, or optimizer variables that do not fit.
        TypeError: if ``state_tree`` or one of its values is not a dict.
    """
    if not isinstance(state_tree, dict):
        raise TypeError(
            "set_state_tree expects a dict with keys among "
            f"{list(KEYS)}. Received: {type(state_tree).__name__}"
        )
    for key, value in state_tree.items():
        if key not in KEYS:
            raise ValueError(f"Unknown variable name: {key}. Expected one of {list(KEYS)}.")
        if not isinstance(value, dict):
            raise TypeError(
                f"set_state_tree: state_tree[{key!r}] must be a nested dict of values keyed "
                f"by variable path. Received: {type(value).__name__}"
            )
    flat = {key: flatten(state_tree.get(key, {})) for key in KEYS}
    pending = []
    for key in ("trainable_variables", "non_trainable_variables"):
        variables = [(v.path, v) for v in getattr(model, key)]
        if key in state_tree:
            pending += _assignments(key, variables, flat[key])
    if "metrics_variables" in state_tree:
        pending += _assignments(
            "metrics_variables", _metric_entries(model), flat["metrics_variables"]
        )
    opt_state, rate = _optimizer_state(model, flat["optimizer_variables"])
    for variable, value in pending:
        variable.assign(value)
    if opt_state is not None:
        opt = model.optimizer
        model._opt_state = opt_state
        opt.observe_state(opt_state)
        if rate is not None:  # the host value, which fit writes into the state
            opt.learning_rate = rate
