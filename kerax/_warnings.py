"""Warnings that point at the user's line, however deep inside kerax they are raised."""

from __future__ import annotations

import sys
import warnings

# Frames of these packages are skipped: kerax's own, and those kerax calls back through
# (jax traces a kerax loss or layer inside the user's fit, for instance).
_INTERNAL = frozenset({"kerax", "jax", "jaxlib", "optax", "flax"})


def _user_stacklevel() -> int:
    """The ``stacklevel`` of the innermost frame outside kerax and the libraries it
    calls through, for a ``warnings.warn`` made by this function's caller."""
    frame, level = sys._getframe(1), 1
    while frame is not None and _top(frame) in _INTERNAL:
        frame, level = frame.f_back, level + 1
    return level


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` attributed to the user's code that led to it."""
    warnings.warn(message, category, stacklevel=_user_stacklevel())


def _top(frame) -> str:
    return frame.f_globals.get("__name__", "").partition(".")[0]
