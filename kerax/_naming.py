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


def snapshot() -> dict[str, int]:
    """The names handed out so far, for :func:`restore`."""
    with _lock:
        return dict(_counts)


def restore(counts: dict[str, int]) -> None:
    """Hand out names again from a :func:`snapshot` (an attempt that was undone)."""
    with _lock:
        _counts.clear()
        _counts.update(counts)


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


class name_scope:
    """``keras.name_scope(name)``: a sub-namespace for the ``path`` of the layers and
    variables created inside it (``block/dense/kernel``), on the same stack as the
    layers' own scopes. Also opens ``jax.named_scope(name)`` for profiles and HLO.

    Args:
        name: the scope's name: a non-empty string without ``/``.
        caller: optional object that opens the scope; with ``deduplicate``, entering
            the scope it already is innermost in (same caller, same name) is a no-op.
        deduplicate: see ``caller``.
        override_parent: an absolute ``a/b`` path to use instead of the enclosing
            scopes' path.
    """

    def __init__(self, name, caller=None, deduplicate=True, override_parent=None):
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(
                "name_scope(name): `name` must be a non-empty string without '/' "
                f"(scopes nest with `with` blocks instead). Received: name={name!r}"
            )
        if override_parent is not None and not isinstance(override_parent, str):
            raise TypeError(
                "name_scope(override_parent=...) must be an 'a/b' path string or None. "
                f"Received: {override_parent!r} of type {type(override_parent).__name__}"
            )
        self.name, self.caller, self.deduplicate = name, caller, deduplicate
        if override_parent is None and deduplicate and caller is not None:
            override_parent = getattr(caller, "_parent_path", None)
        self.override_parent = override_parent
        self._pushed = False
        self._jax_scope = None

    def __enter__(self):
        stack = _stack()
        if self.deduplicate and self.caller is not None and stack:
            name, owner, _ = stack[-1]
            if owner is self.caller and name == self.name:
                return self
        stack.append(
            (self.name, self.caller if self.caller is not None else self, self.override_parent)
        )
        self._pushed = True
        import jax

        self._jax_scope = jax.named_scope(self.name)
        self._jax_scope.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._pushed:
            self._jax_scope.__exit__(*exc)
            self._jax_scope = None
            _stack().pop()
            self._pushed = False
