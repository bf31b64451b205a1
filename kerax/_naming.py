"""Keras-style unique names: ``dense``, ``dense_1``, ``dense_2`` ... per session."""

from __future__ import annotations

import re
import threading
from collections import defaultdict

_lock = threading.Lock()
_counts: defaultdict[str, int] = defaultdict(int)


def to_snake_case(name: str) -> str:
    """``"BatchNormalization"`` -> ``"batch_normalization"``, ``"Conv2D"`` -> ``"conv2d"``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(prefix: str) -> str:
    """The first call with a prefix returns it bare; later calls add ``_1``, ``_2`` ..."""
    with _lock:
        n = _counts[prefix]
        _counts[prefix] += 1
    return prefix if n == 0 else f"{prefix}_{n}"


def reset() -> None:
    """Forget every name handed out (``kerax.backend.clear_session``)."""
    with _lock:
        _counts.clear()
