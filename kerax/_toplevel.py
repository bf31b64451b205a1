"""Keras's small top-level helpers: ``keras.version()`` and ``keras.device(...)``.

(``keras.name_scope`` lives in :mod:`kerax._naming`; ``keras.remat`` and
``keras.RematScope`` in :mod:`kerax._remat`; ``keras.StatelessScope`` and
``keras.SymbolicScope`` in :mod:`kerax._keras_scopes`.)
"""

from __future__ import annotations

from typing import Any

import jax


def version() -> str:
    """kerax's version string (``keras.version()``; the same as ``kerax.__version__``)."""
    import kerax

    return kerax.__version__


def _available() -> str:
    return ", ".join(f"'{d.platform}:{d.id}'" for d in jax.devices())


def _to_device(device_name: Any) -> jax.Device:
    if isinstance(device_name, jax.Device):
        return device_name
    if not isinstance(device_name, str) or not device_name:
        raise ValueError(
            "keras.device(device_name): expected a string like 'cpu:0' or 'gpu:0', or a "
            f"jax.Device. Received: {device_name!r} of type {type(device_name).__name__}. "
            f"Available devices: {_available()}."
        )
    kind, _, index = device_name.lower().partition(":")
    try:
        device_id = int(index) if index else 0
    except ValueError:
        raise ValueError(
            f"keras.device({device_name!r}): the part after ':' must be a device number, "
            f"as in 'gpu:0'. Available devices: {_available()}."
        ) from None
    from kerax import _device_errors

    try:
        candidates = _device_errors.devices(kind)
    except RuntimeError as error:
        if kind in ("cpu", "gpu", "cuda", "rocm", "tpu"):
            raise
        raise ValueError(
            f"keras.device({device_name!r}): unknown device type {kind!r}. Use one of "
            f"the available devices: {_available()}."
        ) from error
    for device in candidates:
        if device.id == device_id:
            return device
    raise ValueError(
        f"keras.device({device_name!r}): there is no {kind} device number {device_id}. "
        f"Available {kind} devices: "
        f"{', '.join(f'{kind}:{d.id}' for d in candidates)} (all devices: {_available()})."
    )


def device(device_name: Any):
    """``keras.device("gpu:0")``: a context manager that places the arrays created
    inside it (weights, inputs, ``ops`` results) on that device, through
    ``jax.default_device``. ``device_name`` is ``"cpu"``, ``"cpu:0"``, ``"gpu:1"`` ...
    or a ``jax.Device``.

    Raises:
        ValueError: a malformed name, or a device number JAX does not see (the message
            lists the available devices).
        RuntimeError: no device of that type at all ("No GPU found"), with how to
            install the support.
    """
    return jax.default_device(_to_device(device_name))
