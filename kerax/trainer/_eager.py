"""Keras's ``run_eagerly=True`` and ``jit_compile=False``: the same loops, uncompiled.

Keras's JAX trainer jits its step functions unless ``model.run_eagerly`` is True or
``model.jit_compile`` is False. kerax runs ``fit``, ``evaluate``, ``predict`` and the
``*_on_batch`` methods of such a model under ``jax.disable_jit()``: every ``jax.jit``,
``lax.scan`` and ``fori_loop`` inside them runs op by op in Python, so a layer's ``call``
sees concrete values (``print``, ``float(x)``, an ``if`` on a value, a debugger's
breakpoint), as in Keras, and a step takes milliseconds instead of microseconds. The
steps, the numbers and the logs are those of the compiled loops: one code path.
"""

from __future__ import annotations

import functools
from typing import Any

import jax

from kerax import _warnings


def supports_jit(model: Any) -> bool:
    """Whether every layer of ``model`` allows compiling (Keras's ``supports_jit``)."""
    return all(getattr(layer, "supports_jit", True) for layer in model._flat_layers())


def resolve(model: Any, run_eagerly: bool, jit_compile: Any) -> bool:
    """``compile``'s ``jit_compile`` given its arguments, by Keras's rules: ``"auto"``
    compiles unless the model runs eagerly or one of its layers does not support it;
    ``run_eagerly=True`` overrides an explicit ``jit_compile=True`` (with a warning)."""
    if jit_compile == "auto":
        return not run_eagerly and supports_jit(model)
    if not isinstance(jit_compile, bool):
        raise ValueError(
            f"jit_compile must be True, False or 'auto'. Received: jit_compile={jit_compile!r}"
        )
    if jit_compile and run_eagerly:
        _warnings.warn(
            "compile(run_eagerly=True, jit_compile=True): running eagerly leaves nothing "
            "to compile, so jit_compile is set to False."
        )
        return False
    return jit_compile


def runs_eagerly(model: Any) -> bool:
    """Whether ``model``'s loops run uncompiled (``run_eagerly`` or no ``jit_compile``)."""
    return bool(model.run_eagerly) or not model.jit_compile


def honours_run_eagerly(method):
    """Run ``method`` (fit, evaluate, predict, ...) under ``jax.disable_jit()`` when the
    model runs eagerly."""

    @functools.wraps(method)
    def wrapper(self, *args: Any, **kwargs: Any):
        if not runs_eagerly(self):
            return method(self, *args, **kwargs)
        with jax.disable_jit():
            return method(self, *args, **kwargs)

    return wrapper
