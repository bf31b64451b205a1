"""``compile_config``: what ``compile`` received, in Keras 3's format, and back.

Keras 3 stores the arguments of ``compile`` as given: names stay names (``"mse"``),
objects become config dicts, lists and per-output dicts keep their shape::

    {"optimizer": {...}, "loss": "mse", "loss_weights": None, "metrics": ["mae"],
     "weighted_metrics": None, "run_eagerly": False, "steps_per_execution": 1,
     "jit_compile": True}

``steps_per_execution``: kerax's default ``"auto"`` is written as 1 (Keras's default;
Keras takes only an integer) and 1 is read back as ``"auto"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _encode(value: Any, serialize: Callable) -> Any:
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_encode(v, serialize) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v, serialize) for k, v in value.items()}
    return serialize(value)


def _decode(value: Any, deserialize: Callable, custom_objects: dict | None) -> Any:
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, list):
        return [_decode(v, deserialize, custom_objects) for v in value]
    if isinstance(value, dict) and "class_name" in value:
        return deserialize(value, custom_objects)
    if isinstance(value, dict):  # one entry per output name
        return {k: _decode(v, deserialize, custom_objects) for k, v in value.items()}
    return value


def get_compile_config(model: Any) -> dict | None:
    """The model's ``compile`` arguments as a Keras 3 ``compile_config``, or None.

    Args:
        model: a kerax model.

    Returns:
        None when the model is not compiled.

    Raises:
        TypeError: if the optimizer is a raw optax transformation (it has no config).
    """
    from kerax import losses, metrics, optimizers

    if not getattr(model, "compiled", False) or model.optimizer is None:
        return None
    try:
        optimizer = optimizers.serialize(model.optimizer)
    except (NotImplementedError, TypeError) as e:
        raise TypeError(
            f"Cannot save the optimizer of model '{model.name}': {e} Or save only the "
            "weights (and optimizer state) with model.save_weights(...)."
        ) from None
    loss, loss_weights = model._loss_spec
    metric_specs, weighted_specs = getattr(model, "_metric_spec", (None, None))
    config = {
        "optimizer": optimizer,
        "loss": _encode(loss, losses.serialize),
        "loss_weights": loss_weights,
        "metrics": _encode(metric_specs, metrics.serialize),
        "weighted_metrics": _encode(weighted_specs, metrics.serialize),
        "run_eagerly": model.run_eagerly,
        "jit_compile": model.jit_compile,
    }
    # Keras 3 writes its default, 1, and takes only an integer back; kerax's default
    # "auto" is written as 1 too, and compile_from_config reads 1 back as "auto".
    steps = getattr(model, "steps_per_execution", "auto")
    config["steps_per_execution"] = steps if isinstance(steps, int) else 1
    return config


def compile_from_config(model: Any, config: dict, custom_objects: dict | None = None) -> None:
    """Compile ``model`` with the arguments a ``compile_config`` records.

    Args:
        model: the freshly loaded model.
        config: a ``compile_config`` written by kerax or Keras 3.
        custom_objects: custom losses, metrics and optimizers by name.

    Raises:
        ValueError: for unknown losses, metrics or optimizers (with how to register them).
    """
    from kerax import losses, metrics, optimizers

    optimizer = config.get("optimizer") or "rmsprop"
    if isinstance(optimizer, dict):
        optimizer = optimizers.deserialize(optimizer, custom_objects)
    # 1 is Keras's default (and how kerax writes its "auto"): kerax's default, "auto",
    # which runs the same steps (the numbers do not change), several per dispatch where
    # that is faster. Other counts are kept.
    steps = config.get("steps_per_execution")
    extra = {}
    if isinstance(steps, (int, float)) and not isinstance(steps, bool) and int(steps) != 1:
        extra["steps_per_execution"] = int(steps)
    # Keras writes the flags it resolved; True (or a missing key) is read back as "auto".
    extra["run_eagerly"] = bool(config.get("run_eagerly", False))
    if config.get("jit_compile", True) is False:
        extra["jit_compile"] = False
    model.compile(
        optimizer=optimizer,
        loss=_decode(config.get("loss"), losses.deserialize, custom_objects),
        loss_weights=config.get("loss_weights"),
        metrics=_decode(config.get("metrics"), metrics.deserialize, custom_objects),
        weighted_metrics=_decode(
            config.get("weighted_metrics"), metrics.deserialize, custom_objects
        ),
        **extra,
    )
