"""kerax.tree against Keras's keras.tree: the same values, the same error types."""

import collections
import time
import warnings

import numpy as np
import pytest

import kerax
from kerax import tree

NT = collections.namedtuple("NT", ["b", "a"])
NTAlso = collections.namedtuple("NT", ["b", "a"])

STRUCTURES = [
    1,
    None,
    "abc",
    [],
    [None, [None]],
    {"b": 1, "a": [2, 3], "c": None},
    {"b": 1, 2: 3, "a": 4},  # mixed key types: by type name, then key
    {None: "c", 0.5: "d", 1: "a", "x": "b"},
    collections.OrderedDict([("b", 1), ("a", 2)]),
    collections.defaultdict(list, [("b", 1), ("a", (2,))]),
    NT(1, [2, (3, {"z": 4, "y": None})]),
    collections.deque([1, (2,)], maxlen=3),
    [{1, 2}, b"x", [[], {}, ()]],
    time.gmtime(0),
]


def _same(got, want):
    assert type(got) is type(want) and repr(got) == repr(want)


@pytest.mark.parametrize("structure", STRUCTURES, ids=repr)
def test_flatten_paths_nesting_and_repacking_match_keras(keras_oracle, structure):
    kt = keras_oracle.tree
    assert tree.is_nested(structure) == kt.is_nested(structure)
    assert tree.flatten(structure) == kt.flatten(structure)
    assert tree.flatten_with_path(structure) == kt.flatten_with_path(structure)
    flat = list(range(len(kt.flatten(structure))))
    _same(tree.pack_sequence_as(structure, flat), kt.pack_sequence_as(structure, flat))
    _same(tree.map_structure(repr, structure), kt.map_structure(repr, structure))
    for none_is_leaf in (True, False):
        _same(
            tree.map_structure(repr, structure, none_is_leaf=none_is_leaf),
            kt.map_structure(repr, structure, none_is_leaf=none_is_leaf),
        )
    _same(tree.lists_to_tuples(structure), kt.lists_to_tuples(structure))


def test_leaves_are_keras_leaves(keras_oracle):
    array = np.ones(2)
    for leaf in (array, {1, 2}, range(3), [1][0:0].__class__, type("L", (list,), {})([1])):
        assert tree.is_nested(leaf) == keras_oracle.tree.is_nested(leaf) is False
    assert tree.flatten([array, 1])[0] is array


def test_map_structure_over_several_structures_matches_keras(keras_oracle):
    kt = keras_oracle.tree
    cases = [
        ([1, (2,)], [10, (20,)]),
        ({"a": 1, "b": 2}, collections.OrderedDict([("b", 1), ("a", 2)])),
        (collections.OrderedDict([("b", 1), ("a", 2)]), {"a": 1, "b": 2}),
        ([None, 1], [2, None]),
    ]
    for a, b in cases:
        _same(
            tree.map_structure(lambda x, y: (x, y), a, b),
            kt.map_structure(lambda x, y: (x, y), a, b),
        )
    a, b = [None, 1], [None, 3]
    _same(
        tree.map_structure(lambda x, y: (x, y), a, b, none_is_leaf=False),
        kt.map_structure(lambda x, y: (x, y), a, b, none_is_leaf=False),
    )


MISMATCHES = [
    ([1, (2,)], [10, [20]]),  # tuple vs list
    ([1, 2], [10, 20, 30]),  # lengths
    ([1, 2], [10, [20]]),  # leaf vs container
    ([1, [2]], [10, 20]),  # container vs leaf
    ({"a": 1}, {"b": 1}),  # keys
    (NT(1, 2), (1, 2)),  # namedtuple vs tuple
    (NT(1, 2), NTAlso(1, 2)),  # two namedtuple classes of one name
    (collections.deque([1]), [1]),
    ([], ()),
    ([None], [[]]),
]


@pytest.mark.parametrize(("a", "b"), MISMATCHES, ids=repr)
def test_mismatched_structures_raise_value_error_as_keras(keras_oracle, a, b):
    for module in (tree, keras_oracle.tree):
        with pytest.raises(ValueError):
            module.assert_same_structure(a, b)
        with pytest.raises(ValueError):
            module.map_structure(lambda *x: x, a, b)
    with pytest.raises(ValueError, match="same nested structure.*path"):
        tree.assert_same_structure(a, b)


def test_assert_same_structure_accepts_what_keras_accepts(keras_oracle):
    pairs = [
        ([(0, 1)], [(2, 3)]),
        ({"a": 1}, collections.OrderedDict(a=2)),
        ({"a": 1}, collections.defaultdict(int, a=2)),
        ([None], [1]),
        ([np.ones(3)], ["x"]),
        (collections.deque([1], maxlen=2), collections.deque([1])),
    ]
    for a, b in pairs:
        keras_oracle.tree.assert_same_structure(a, b)
        tree.assert_same_structure(a, b)
    with pytest.warns(DeprecationWarning, match="check_types"):
        tree.assert_same_structure([1], [2], check_types=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tree.assert_same_structure([1], [2])


def test_assert_same_paths_matches_keras(keras_oracle):
    for a, b in [([0, 1], (2, 3)), (NT(0, 1), {0: 1, 1: 2}), (1, 2)]:
        keras_oracle.tree.assert_same_paths(a, b)
        tree.assert_same_paths(a, b)
    for a, b in [({"a": 1, "b": [2]}, {"a": 1, "c": 2}), ([None], [[1]])]:
        with pytest.raises(ValueError):
            keras_oracle.tree.assert_same_paths(a, b)
        with pytest.raises(ValueError, match=r"missing in `b`: \[\('b', 0\)\]|missing"):
            tree.assert_same_paths(a, b)


def test_pack_sequence_as_matches_keras_and_checks_counts(keras_oracle):
    kt = keras_oracle.tree
    for flat in ("ab", (3, 4), np.arange(2), {"a": 1, "b": 2}):
        _same(tree.pack_sequence_as([1, 2], flat), kt.pack_sequence_as([1, 2], flat))
    assert tree.pack_sequence_as(1, [5]) == kt.pack_sequence_as(1, [5]) == 5
    for structure, flat in [([1, 2], [1]), ([1, 2], [1, 2, 3]), (1, [5, 6])]:
        with pytest.raises(ValueError):
            kt.pack_sequence_as(structure, flat)
        with pytest.raises(ValueError, match="leaves but `flat_sequence` has"):
            tree.pack_sequence_as(structure, flat)
    with pytest.raises(TypeError):
        kt.pack_sequence_as([1], 5)
    with pytest.raises(TypeError, match="iterable"):
        tree.pack_sequence_as([1], 5)


def test_traverse_matches_keras(keras_oracle):
    kt = keras_oracle.tree
    s = [(1, 2), [3], {"b": 4, "a": 5}, None]
    for top_down in (True, False):
        seen_k, seen_x = [], []
        out_k = kt.traverse(seen_k.append, s, top_down=top_down)
        out_x = tree.traverse(seen_x.append, s, top_down=top_down)
        _same(out_x, out_k)
        assert seen_x == seen_k
    ints = (lambda x: x * 10 if isinstance(x, int) else None, False)
    tuples = (lambda x: "X" if isinstance(x, tuple) else None, True)
    for func, top_down in (ints, tuples):
        _same(tree.traverse(func, s, top_down=top_down), kt.traverse(func, s, top_down=top_down))
    _same(
        tree.traverse(lambda x: tree.MAP_TO_NONE if isinstance(x, tuple) else None, s),
        kt.traverse(lambda x: kt.MAP_TO_NONE if isinstance(x, tuple) else None, s),
    )
    for module in (tree, kt):
        with pytest.raises(TypeError):
            module.traverse(5, [1])
        with pytest.raises(TypeError):
            module.map_structure(5, [1])
        with pytest.raises(ValueError):
            module.map_structure(len)


def test_map_structure_up_to(keras_oracle):
    kt = keras_oracle.tree
    args = ([1, 2], str, [[1], 2])
    _same(tree.map_structure_up_to(*args), kt.map_structure_up_to(*args))
    both = (["a", "b"], lambda x, y: (x, y), [[1], 2], [3, [4]])
    _same(tree.map_structure_up_to(*both), kt.map_structure_up_to(*both))
    for shallow, s in [(["a", ["b"]], [1, 2]), (["a", "b"], (1, 2)), ({"a": 0}, {"a": 1, "b": 2})]:
        with pytest.raises(ValueError):
            kt.map_structure_up_to(shallow, str, s)
        with pytest.raises(ValueError, match="same nested structure"):
            tree.map_structure_up_to(shallow, str, s)
    # Keras's documented examples (None leaves in the shallow structure); Keras 3.15 on
    # optree raises for them, kerax gives the documented values.
    assert tree.map_structure_up_to([None, None], len, [[1, 1], [2, 2]]) == [2, 2]
    assert tree.map_structure_up_to([None, [None, None]], str, [[1, 1], [2, 2]]) == [
        "[1, 1]",
        ["2", "2"],
    ]


def test_map_shape_structure_matches_keras(keras_oracle):
    s = [(None, 3), {"a": [1, 2], "b": (2, (3, 4))}, None, 5, (), [[], {}], [np.int64(2)]]
    f = lambda x: ("S", x)  # noqa: E731
    _same(tree.map_shape_structure(f, s), keras_oracle.tree.map_shape_structure(f, s))


def test_public_names_match_keras(keras_oracle):
    public = {n for n in dir(keras_oracle.tree) if not n.startswith("_")}
    assert public == set(tree.__all__)
    assert kerax.tree is tree and "tree" in dir(kerax)
