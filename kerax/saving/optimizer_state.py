"""Optimizer state in a weights file: Keras 3's variable list, and kerax's exact pytree.

Under ``optimizer/vars`` goes Keras 3's flat list of the optimizer's variables: the
iteration count, the learning rate, then the slots in each optimizer's order
(:mod:`kerax.saving._optimizer_list` makes it from kerax's optax state and back), so a
Keras model resumes from a kerax file and back.

When that list does not hold the whole kerax state (an optimizer Keras lays out
differently, changed hyper-parameters) the pytree's leaves are also written under
``optimizer/kerax_state``, which kerax reads first; a kerax model always resumes
exactly where it stopped.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import _warnings
from kerax.saving._optimizer_list import from_keras_list, keras_list, sub_lists, trainable_paths
from kerax.saving._optimizer_roles import in_layout, leaf_roles


# -- the whole pytree, keyed by position rather than by layer name ---------------------------------
def _var_keys(model: Any) -> dict[tuple, str]:
    """Each variable's pytree path -> its Keras weight path (``layers/dense/vars/0``).

    Pytree paths hold layer names, which differ between two builds of one architecture
    (``dense_3`` vs ``dense_7``); Keras's paths depend only on classes and order.
    """
    from kerax.saving.weights_h5 import layer_variables, vars_path, walk

    by_id: dict[int, str] = {}
    for path, layer in walk(model):
        for i, v in enumerate(layer_variables(layer)):
            by_id.setdefault(id(v), f"{vars_path(path)}/{i}")
    return {p: by_id[id(v)] for p, v in model._variable_index() if id(v) in by_id}


def _named_leaves(model: Any, state: Any) -> tuple[list[str], Any]:
    flat, roles, _ = leaf_roles(state, _params(model))
    keys, names, other = _var_keys(model), [], 0
    for role in roles:
        if role[0] == "slot":
            where = keys.get(role[2]) or "tree/" + "/".join(role[2])
            names.append(f"slot_{role[1]}/{where}")
        else:
            names.append(f"leaf_{other}")
            other += 1
    return names, flat


def state_to_arrays(model: Any, state: Any) -> dict[str, np.ndarray]:
    """The optimizer state as ``{name: array}``, names independent of layer names."""
    names, flat = _named_leaves(model, state)
    return {n: np.asarray(jax.device_get(leaf)) for n, (_, leaf) in zip(names, flat)}


def state_from_arrays(model: Any, template: Any, arrays: dict) -> Any:
    """The inverse of :func:`state_to_arrays`, shaped like ``template``.

    Raises:
        ValueError: if an array is missing or has another shape.
    """
    names, flat = _named_leaves(model, template)
    missing = [n for n in names if n not in arrays]
    wrong = [
        n
        for n, (_, old) in zip(names, flat)
        if n in arrays and np.shape(arrays[n]) != np.shape(old)
    ]
    if missing or wrong or len(arrays) != len(names):
        raise ValueError(
            f"{len(arrays)} saved optimizer arrays, {len(names)} expected; missing "
            f"{missing[:3]}, wrong shape {wrong[:3]}"
        )
    leaves = [
        jnp.asarray(arrays[n], dtype=jnp.result_type(old)) for n, (_, old) in zip(names, flat)
    ]
    return in_layout(leaves, template, _params(model))


def read_arrays(group: Any) -> dict[str, np.ndarray]:
    """Every dataset under an h5 group, by its relative path."""
    from kerax.saving.weights_h5 import read_array

    out: dict[str, np.ndarray] = {}

    def visit(name: str, obj: Any) -> None:
        if not hasattr(obj, "keys"):
            out[name] = read_array(obj)

    group.visititems(visit)
    return out


# -- the file ------------------------------------------------------------------------------------
def _params(model: Any) -> Any:
    """The trainable pytree, the optimizer told which variable each of its paths holds
    (exclusions, per-variable optimizers), as ``fit`` tells it."""
    bind = getattr(getattr(model, "optimizer", None), "_bind_model", None)
    if bind is not None:
        bind(model)
    return model.get_variables()["trainable"]


def current_state(model: Any, opt: Any, params: Any) -> Any:
    """The optimizer state to save: the latest one with a learning rate set since the last
    fit written in, or, for a model compiled but never trained, the one fit starts from."""
    from kerax.optimizers._utils import _with_hyperparams

    state = model._opt_state
    if state is not None:
        return opt.with_pending(state)
    state = opt.transform.init(params)
    if not callable(opt._learning_rate):
        state, _ = _with_hyperparams(state, {"learning_rate": opt.learning_rate})
    return state


def write(h5: Any, model: Any) -> None:
    """Write ``model``'s optimizer state under ``optimizer/`` (nothing if not compiled)."""
    from kerax.optimizers import Optimizer
    from kerax.saving.weights_h5 import write_array

    opt = getattr(model, "optimizer", None)
    if not isinstance(opt, Optimizer) or not getattr(model, "compiled", False):
        return
    params = _params(model)
    state = current_state(model, opt, params)
    group = h5.create_group("optimizer/vars")
    group.attrs["name"] = opt.name
    try:
        arrays, exact = keras_list(model, state, params)
    except (KeyError, TypeError, ValueError, NotImplementedError):
        arrays, exact = None, False
    for i, value in enumerate(arrays or []):
        write_array(group, str(i), value)
    # Keras also saves the optimizers an optimizer holds (a LossScaleOptimizer's inner
    # one, a MultiOptimizer's), each on its own, and reads them back.
    for path, name, sub in sub_lists(opt, state, params, trainable_paths(model)) if arrays else ():
        sub_group = h5.create_group(path)
        sub_group.attrs["name"] = name
        for i, value in enumerate(sub):
            write_array(sub_group, str(i), value)
    if not exact and model._opt_state is not None:
        kerax_group = h5.create_group("optimizer/kerax_state")
        for name, value in state_to_arrays(model, state).items():
            write_array(kerax_group, name, value)
    key = getattr(model, "_train_key", None)
    if key is not None:
        if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
            key = jax.random.key_data(key)
        write_array(h5.require_group("kerax"), "train_key", np.asarray(key))


def read(h5: Any, model: Any, skip_mismatch: bool = False, source: str = "") -> None:
    """Restore ``model``'s optimizer state from ``optimizer/`` when the model is compiled."""
    from kerax.optimizers import Optimizer
    from kerax.saving.weights_h5 import read_array

    if "kerax/train_key" in h5:
        model._train_key = jnp.asarray(read_array(h5["kerax/train_key"]))
    opt = getattr(model, "optimizer", None)
    if not isinstance(opt, Optimizer) or not getattr(model, "compiled", False):
        return
    group = h5.get("optimizer/kerax_state")
    keras_group = h5.get("optimizer/vars")
    if group is None and (keras_group is None or not len(keras_group)):
        return
    params = _params(model)
    template = opt.init(params)
    state, problem = None, None
    if group is not None:
        try:
            state = state_from_arrays(model, template, read_arrays(group))
        except ValueError as e:
            problem = str(e)
    else:
        arrays = [read_array(keras_group[str(i)]) for i in range(len(keras_group))]
        try:
            state = from_keras_list(model, template, params, arrays)
        except (KeyError, TypeError, ValueError):
            state = None
        if state is None:
            problem = f"{len(arrays)} saved optimizer variables do not match {type(opt).__name__}"
    if state is None:
        message = (
            f"Could not restore the state of optimizer '{opt.name}' from {source!r} "
            f"({problem}); it starts from scratch. Compile the model with the optimizer it "
            "was saved with to resume training exactly."
        )
        if not skip_mismatch and group is not None:
            raise ValueError(message)
        _warnings.warn(message)
        return
    model._opt_state = state
    opt.observe_state(state)
