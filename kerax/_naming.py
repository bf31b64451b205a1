"""Keras-style unique names (``dense``, ``dense_1`` ... per session) and name scopes."""

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


# -- name scopes: the ``outer/inner/`` prefix of a variable's ``path`` -----------------
# As in Keras 3, a layer opens a scope named after itself while it builds and calls;
# the path of the scope it first opened in is kept (``_parent_path``), so a layer's
# variables get the same prefix wherever it is built from later.
_scopes = threading.local()


def _stack() -> list:
    if not hasattr(_scopes, "stack"):
        _scopes.stack = []
    return _scopes.stack


def current_path() -> str:
    """The ``a/b`` path of the open name scopes ("" outside any)."""
    parts: list[str] = []
    for name, _, parent in _stack():
        if parent is not None:
            parts = [p for p in parent.split("/") if p]
        parts.append(name)
    return "/".join(parts)


class layer_scope:
    """Open ``layer``'s name scope (a no-op when it is already the innermost one)."""

    __slots__ = ("layer", "record", "pushed")

    def __init__(self, layer, record: bool = True):
        self.layer, self.record, self.pushed = layer, record, False

    def __enter__(self):
        stack, layer = _stack(), self.layer
        if stack and stack[-1][1] is layer:
            return self
        parent = layer.__dict__.get("_parent_path")
        if parent is None and self.record:
            parent = layer.__dict__["_parent_path"] = current_path()
        stack.append((layer.name, layer, parent))
        self.pushed = True
        return self

    def __exit__(self, *exc) -> None:
        if self.pushed:
            _stack().pop()
