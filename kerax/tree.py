"""Nested structures (Keras's ``keras.tree``): flatten, map and repack them.

The containers are Keras's: ``list``, ``tuple``, ``dict`` (flattened in sorted-key
order, rebuilt in the original key order), ``collections.OrderedDict`` (insertion
order), ``collections.defaultdict``, ``collections.deque``, namedtuples and
struct sequences (``time.struct_time``). Everything else is a leaf: ``None`` (unless
``map_structure(..., none_is_leaf=False)``), strings, arrays, sets and subclasses of
list, tuple and dict. Plain Python, independent of ``jax.tree_util`` (which treats
``None`` as an empty node and knows about other registered classes).
"""

from __future__ import annotations

import collections
import warnings
from collections.abc import Callable, Iterable
from typing import Any

__all__ = [
    "MAP_TO_NONE",
    "assert_same_paths",
    "assert_same_structure",
    "flatten",
    "flatten_with_path",
    "is_nested",
    "lists_to_tuples",
    "map_shape_structure",
    "map_structure",
    "map_structure_up_to",
    "pack_sequence_as",
    "traverse",
]


class MAP_TO_NONE:  # noqa: N801 (Keras's name)
    """Return this class from a :func:`traverse` function to put ``None`` in place."""


# -- the node model -------------------------------------------------------------------
_SEQUENCES = ("list", "tuple", "namedtuple", "structseq", "deque")
_MAPPINGS = ("dict", "OrderedDict", "defaultdict")


def _is_namedtuple_type(cls: type) -> bool:
    fields = getattr(cls, "_fields", None)
    return (
        isinstance(fields, tuple)
        and all(isinstance(f, str) for f in fields)
        and callable(getattr(cls, "_make", None))
    )


def _is_structseq_type(cls: type) -> bool:
    return all(
        isinstance(getattr(cls, attr, None), int)
        for attr in ("n_sequence_fields", "n_fields", "n_unnamed_fields")
    )


def _kind(x: Any, none_is_leaf: bool = True) -> str | None:
    """The container kind of ``x`` (``None`` for a leaf)."""
    cls = type(x)
    if cls is list:
        return "list"
    if cls is tuple:
        return "tuple"
    if cls is dict:
        return "dict"
    if x is None:
        return None if none_is_leaf else "none"
    if isinstance(x, tuple):
        if _is_namedtuple_type(cls):
            return "namedtuple"
        if _is_structseq_type(cls):
            return "structseq"
        return None
    if cls is collections.OrderedDict:
        return "OrderedDict"
    if cls is collections.defaultdict:
        return "defaultdict"
    if cls is collections.deque:
        return "deque"
    return None


def _sorted_keys(d: dict) -> list:
    keys = list(d)
    try:
        return sorted(keys)
    except TypeError:
        pass
    try:  # mixed key types: by type name, then by key
        return sorted(keys, key=lambda k: (type(k).__module__, type(k).__qualname__, k))
    except TypeError:
        return keys  # keys that cannot be ordered keep their insertion order


def _keys(x: Any, kind: str) -> list:
    if kind in ("dict", "defaultdict"):
        return _sorted_keys(x)
    if kind == "OrderedDict":
        return list(x)
    if kind == "none":
        return []
    return list(range(len(x)))


def _children(x: Any, kind: str, keys: list) -> list:
    if kind in _MAPPINGS:
        return [x[k] for k in keys]
    return [] if kind == "none" else list(x)


def _rebuild(x: Any, kind: str, keys: list, children: list) -> Any:
    """A container like ``x`` holding ``children`` (in ``keys`` order)."""
    if kind == "list":
        return list(children)
    if kind == "tuple":
        return tuple(children)
    if kind == "namedtuple":
        return type(x)(*children)
    if kind == "structseq":
        return type(x)(children)
    if kind == "deque":
        return collections.deque(children, maxlen=x.maxlen)
    if kind == "none":
        return None
    by_key = dict(zip(keys, children))
    if kind == "OrderedDict":
        return collections.OrderedDict((k, by_key[k]) for k in keys)
    ordered = [(k, by_key[k]) for k in x]  # a dict keeps its own key order
    if kind == "defaultdict":
        return collections.defaultdict(x.default_factory, ordered)
    return dict(ordered)


# -- errors ----------------------------------------------------------------------------
def _short(x: Any, limit: int = 120) -> str:
    text = repr(x)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(x: Any, kind: str | None) -> str:
    if kind is None:
        return f"a leaf {_short(x, 60)}"
    if kind == "none":
        return "None"
    if kind in _MAPPINGS:
        return f"a {type(x).__name__} with keys {_keys(x, kind)}"
    name = "namedtuple " + type(x).__name__ if kind == "namedtuple" else type(x).__name__
    return f"a {name} of length {len(x)}"


def _mismatch(path: tuple, first: Any, first_kind, other: Any, other_kind, hint: str) -> None:
    raise ValueError(
        "The structures don't have the same nested structure: at path "
        f"{path}, the first has {_describe(first, first_kind)} but another has "
        f"{_describe(other, other_kind)}. {hint}"
    )


_LEAF_HINT = "A leaf only matches a leaf (and a container only a container)."
_HINT = (
    "Lists, tuples, namedtuples and deques only match their own type (dicts, "
    "OrderedDicts and defaultdicts match each other by keys); use "
    "keras.tree.assert_same_paths for a check by paths only."
)


def _same_node(path: tuple, first: Any, kind: str, keys: list, other: Any, other_kind) -> None:
    """Raise unless ``other`` is a container that matches ``first``."""
    if other_kind is None:
        _mismatch(path, first, kind, other, other_kind, _LEAF_HINT)
    if kind in _MAPPINGS:
        if other_kind not in _MAPPINGS:
            _mismatch(path, first, kind, other, other_kind, _HINT)
        if set(other) != set(keys):
            missing = [k for k in keys if k not in other]
            extra = [k for k in other if k not in first]
            parts = [f"missing keys {missing}"] * bool(missing)
            parts += [f"unexpected keys {extra}"] * bool(extra)
            _mismatch(path, first, kind, other, other_kind, f"The second has {', '.join(parts)}.")
        return
    if kind != other_kind or (
        kind in ("namedtuple", "structseq") and type(first) is not type(other)
    ):
        _mismatch(path, first, kind, other, other_kind, _HINT)
    if len(first if kind != "none" else ()) != len(other if kind != "none" else ()):
        _mismatch(path, first, kind, other, other_kind, "The lengths differ.")


def _check_callable(func: Any, where: str) -> None:
    if not callable(func):
        raise TypeError(
            f"keras.tree.{where} expects a callable `func` as its first structure-mapping "
            f"argument. Received: func={_short(func)} (of type {type(func).__name__})."
        )


# -- the public functions ------------------------------------------------------------------
def is_nested(structure: Any) -> bool:
    """Whether ``structure`` is a container (list, tuple, dict, namedtuple, deque, ...).

    Example:
        >>> is_nested({"foo": 42}), is_nested("abc"), is_nested(None)
        (True, False, False)
    """
    return _kind(structure) is not None


def flatten(structure: Any) -> list:
    """The leaves of ``structure`` in order (dicts by sorted key; a leaf gives ``[leaf]``).

    Example:
        >>> flatten({"b": [1, 2], "a": None})
        [None, 1, 2]
    """
    leaves: list = []

    def walk(x: Any) -> None:
        kind = _kind(x)
        if kind is None:
            leaves.append(x)
            return
        for child in _children(x, kind, _keys(x, kind)):
            walk(child)

    walk(structure)
    return leaves


def flatten_with_path(structure: Any) -> list[tuple[tuple, Any]]:
    """``(path, leaf)`` pairs; a path is a tuple of indices and dict keys.

    Example:
        >>> flatten_with_path([{"foo": 42}])
        [((0, 'foo'), 42)]
    """
    pairs: list = []

    def walk(x: Any, path: tuple) -> None:
        kind = _kind(x)
        if kind is None:
            pairs.append((path, x))
            return
        keys = _keys(x, kind)
        for key, child in zip(keys, _children(x, kind, keys)):
            walk(child, (*path, key))

    walk(structure, ())
    return pairs


def map_structure(func: Callable, *structures: Any, none_is_leaf: bool = True) -> Any:
    """``func`` applied to the leaves of ``structures`` (which must match), repacked.

    Args:
        func: called with one leaf from each structure.
        *structures: one or more structures of the same layout.
        none_is_leaf: if False, ``None`` is passed through instead of to ``func``.

    Raises:
        TypeError: if ``func`` is not callable.
        ValueError: with no structures, or structures that do not match.

    Example:
        >>> map_structure(lambda a, b: a + b, [1, (2,)], [10, (20,)])
        [11, (22,)]
    """
    _check_callable(func, "map_structure")
    if not structures:
        raise ValueError(
            "keras.tree.map_structure needs at least one structure to map over. "
            "Received: func only."
        )

    def walk(xs: tuple, path: tuple) -> Any:
        first = xs[0]
        kind = _kind(first, none_is_leaf)
        if kind is None:
            for other in xs[1:]:
                other_kind = _kind(other, none_is_leaf)
                if other_kind is not None:
                    _mismatch(path, first, kind, other, other_kind, _LEAF_HINT)
            return func(*xs)
        keys = _keys(first, kind)
        for other in xs[1:]:
            _same_node(path, first, kind, keys, other, _kind(other, none_is_leaf))
        columns = [_children(x, kind if x is first else _kind(x, none_is_leaf), keys) for x in xs]
        children = [walk(tuple(c), (*path, k)) for k, *c in zip(keys, *columns)]
        return _rebuild(first, kind, keys, children)

    return walk(structures, ())


def map_structure_up_to(shallow_structure: Any, func: Callable, *structures: Any) -> Any:
    """Like :func:`map_structure`, but only down to ``shallow_structure``'s leaves.

    Deeper parts of ``structures`` are passed to ``func`` whole. ``None`` in
    ``shallow_structure`` is a leaf.

    Raises:
        TypeError: if ``func`` is not callable.
        ValueError: with no structures, or a structure that does not match
            ``shallow_structure`` down to its leaves.

    Example:
        >>> map_structure_up_to([None, None], len, [[1, 1], [2, 2, 2]])
        [2, 3]
    """
    _check_callable(func, "map_structure_up_to")
    if not structures:
        raise ValueError(
            "keras.tree.map_structure_up_to needs at least one structure besides "
            "shallow_structure. Received: shallow_structure and func only."
        )

    def walk(shallow: Any, xs: tuple, path: tuple) -> Any:
        kind = _kind(shallow)
        if kind is None:
            return func(*xs)
        keys = _keys(shallow, kind)
        for x in xs:
            _same_node(path, shallow, kind, keys, x, _kind(x))
        columns = [_children(x, _kind(x), keys) for x in xs]
        children = [
            walk(s, tuple(c), (*path, k))
            for k, s, *c in zip(keys, _children(shallow, kind, keys), *columns)
        ]
        return _rebuild(shallow, kind, keys, children)

    return walk(shallow_structure, structures, ())


def assert_same_structure(a: Any, b: Any, check_types: Any = None) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` nest the same containers alike.

    Leaves may differ in type; list, tuple, namedtuple and deque must match exactly,
    dict-like containers by their keys.

    Args:
        check_types: deprecated in Keras and ignored (a ``DeprecationWarning``).
    """
    if check_types is not None:
        warnings.warn(
            "The `check_types` argument of keras.tree.assert_same_structure is "
            "deprecated and has no effect; remove it (keras.tree.assert_same_paths is "
            "the looser check that lets list, tuple, namedtuple and deque match).",
            DeprecationWarning,
            stacklevel=2,
        )
    map_structure(lambda *_: None, a, b)


def assert_same_paths(a: Any, b: Any) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same leaf paths.

    Container types are ignored: ``[0, 1]`` and ``(2, 3)`` match.
    """
    a_paths = {p for p, _ in flatten_with_path(a)}
    b_paths = {p for p, _ in flatten_with_path(b)}
    if a_paths != b_paths:
        only_a, only_b = sorted(a_paths - b_paths, key=repr), sorted(b_paths - a_paths, key=repr)
        raise ValueError(
            "`a` and `b` don't have the same paths. Paths in `a` missing in `b`: "
            f"{only_a}; paths in `b` missing in `a`: {only_b}."
        )


def pack_sequence_as(structure: Any, flat_sequence: Iterable) -> Any:
    """The items of ``flat_sequence`` packed into ``structure``'s layout.

    The inverse of :func:`flatten` (dicts take their values in sorted-key order).

    Raises:
        TypeError: if ``flat_sequence`` is not iterable.
        ValueError: if it has more or fewer items than ``structure`` has leaves.

    Example:
        >>> pack_sequence_as({"b": 0, "a": 0}, [1, 2])
        {'b': 2, 'a': 1}
    """
    try:
        items = list(flat_sequence)
    except TypeError as e:
        raise TypeError(
            "keras.tree.pack_sequence_as expects `flat_sequence` to be an iterable "
            f"(such as a list). Received: {_short(flat_sequence)} (of type "
            f"{type(flat_sequence).__name__})."
        ) from e
    expected = len(flatten(structure))
    if len(items) != expected:
        raise ValueError(
            f"keras.tree.pack_sequence_as: `structure` has {expected} leaves but "
            f"`flat_sequence` has {len(items)} items; they must be equal. "
            f"Received: structure={_short(structure)}"
        )
    it = iter(items)

    def build(x: Any) -> Any:
        kind = _kind(x)
        if kind is None:
            return next(it)
        keys = _keys(x, kind)
        return _rebuild(x, kind, keys, [build(c) for c in _children(x, kind, keys)])

    return build(structure)


def traverse(func: Callable, structure: Any, top_down: bool = True) -> Any:
    """Apply ``func`` to every sub-structure, depth first.

    Top-down, a non-``None`` result replaces the sub-structure and stops the descent
    into it; bottom-up, a non-``None`` result replaces the already traversed
    sub-structure. Return :class:`MAP_TO_NONE` to put ``None`` in place.

    Raises:
        TypeError: if ``func`` is not callable.
    """
    _check_callable(func, "traverse")

    def children_of(x: Any) -> Any:
        kind = _kind(x)
        if kind is None:
            return x
        keys = _keys(x, kind)
        return _rebuild(x, kind, keys, [visit(c) for c in _children(x, kind, keys)])

    def visit(x: Any) -> Any:
        if top_down:
            result = func(x)
            if result is None:
                return children_of(x)
        else:
            x = children_of(x)
            result = func(x)
            if result is None:
                return x
        return None if result is MAP_TO_NONE else result

    return visit(structure)


def lists_to_tuples(structure: Any) -> Any:
    """``structure`` with every list turned into a tuple.

    Example:
        >>> lists_to_tuples([1, [2, {"a": [3]}]])
        (1, (2, {'a': (3,)}))
    """
    return traverse(lambda x: tuple(x) if isinstance(x, list) else None, structure, top_down=False)


def map_shape_structure(func: Callable, structure: Any) -> Any:
    """Like :func:`map_structure`, but lists and tuples of ints and ``None`` are leaves.

    Example:
        >>> map_shape_structure(len, {"x": (None, 3), "y": [(2,), (4, 5)]})
        {'x': 2, 'y': [1, 2]}
    """
    _check_callable(func, "map_shape_structure")

    def walk(x: Any) -> Any:
        if isinstance(x, (list, tuple)) and all(isinstance(e, (int, type(None))) for e in x):
            return func(x)
        kind = _kind(x)
        if kind is None:
            return func(x)
        keys = _keys(x, kind)
        return _rebuild(x, kind, keys, [walk(c) for c in _children(x, kind, keys)])

    return walk(structure)
