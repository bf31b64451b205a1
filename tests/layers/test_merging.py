"""Merging layers against NumPy formulas and, when installed, Keras 3."""

import doctest
import functools

import jax
import numpy as np
import pytest

from kerax.layers import merging
from kerax.layers.core import Input


def _sum(xs):
    return functools.reduce(np.add, xs)


def _keras_align(xs):
    # Keras inserts missing axes right after the batch axis before broadcasting.
    rank = max(x.ndim for x in xs)
    return [x.reshape(x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:]) for x in xs]


def _batch_dot(axes, normalize=False):
    def ref(xs):
        x, y = xs
        ax, ay = (axes, axes) if isinstance(axes, int) else axes
        ax, ay = ax % x.ndim, ay % y.ndim
        if normalize:
            x = x / np.maximum(np.linalg.norm(x, axis=ax, keepdims=True), 1e-7)
            y = y / np.maximum(np.linalg.norm(y, axis=ay, keepdims=True), 1e-7)
        out = np.stack([np.tensordot(x[b], y[b], axes=(ax - 1, ay - 1)) for b in range(len(x))])
        return out[:, None] if out.ndim == 1 else out

    return ref


# (class name, constructor kwargs, input shapes, NumPy reference of the output)
CASES = [
    ("Add", {}, [(2, 3), (2, 3)], _sum),
    ("Add", {}, [(2, 3, 4)] * 3, _sum),
    ("Add", {}, [(2, 1, 4), (2, 3, 4)], _sum),
    ("Add", {}, [(2, 4), (2, 3, 4)], lambda xs: _sum(_keras_align(xs))),
    ("Add", {}, [(2,), (2, 3)], lambda xs: _sum(_keras_align(xs))),
    ("Subtract", {}, [(2, 3), (2, 3)], lambda xs: xs[0] - xs[1]),
    ("Subtract", {}, [(2, 3, 1), (2, 3, 4)], lambda xs: xs[0] - xs[1]),
    ("Multiply", {}, [(2, 3), (2, 3), (2, 3)], lambda xs: xs[0] * xs[1] * xs[2]),
    ("Multiply", {}, [(2, 5), (2, 1)], lambda xs: xs[0] * xs[1]),
    ("Average", {}, [(2, 3), (2, 3)], lambda xs: (xs[0] + xs[1]) / 2),
    ("Average", {}, [(2, 3, 2)] * 3, lambda xs: _sum(xs) / 3),
    ("Maximum", {}, [(2, 3), (2, 3), (2, 3)], lambda xs: np.max(np.stack(xs), axis=0)),
    ("Minimum", {}, [(2, 3), (2, 3)], lambda xs: np.min(np.stack(xs), axis=0)),
    ("Minimum", {}, [(2, 4), (2, 3, 4)], lambda xs: np.minimum(*_keras_align(xs))),
    ("Concatenate", {}, [(2, 3), (2, 4)], lambda xs: np.concatenate(xs, axis=-1)),
    (
        "Concatenate",
        {"axis": 1},
        [(2, 1, 3), (2, 2, 3), (2, 4, 3)],
        lambda xs: np.concatenate(xs, axis=1),
    ),
    ("Concatenate", {"axis": -2}, [(2, 2, 3), (2, 5, 3)], lambda xs: np.concatenate(xs, axis=1)),
    ("Dot", {"axes": 1}, [(2, 3), (2, 3)], _batch_dot(1)),
    ("Dot", {"axes": -1}, [(2, 4, 3), (2, 5, 3)], _batch_dot(-1)),
    ("Dot", {"axes": (1, 2)}, [(2, 3, 5), (2, 4, 3)], _batch_dot((1, 2))),
    ("Dot", {"axes": (2, 1)}, [(2, 3, 5), (2, 5, 4, 2)], _batch_dot((2, 1))),
    ("Dot", {"axes": (1, 1)}, [(2, 3), (2, 3, 4)], _batch_dot((1, 1))),
    ("Dot", {"axes": (2, 1)}, [(2, 4, 3), (2, 3)], _batch_dot((2, 1))),
    ("Dot", {"axes": 1, "normalize": True}, [(3, 4), (3, 4)], _batch_dot(1, normalize=True)),
    (
        "Dot",
        {"axes": (1, 2), "normalize": True},
        [(2, 3, 5), (2, 4, 3)],
        _batch_dot((1, 2), normalize=True),
    ),
]
IDS = [f"{name}-{kw}-{shapes}" for name, kw, shapes, _ in CASES]


def _make(name, kwargs):
    return getattr(merging, name)(**kwargs)


def _data(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s).astype(np.float32) for s in shapes]


@pytest.mark.parametrize(("name", "kwargs", "shapes", "ref"), CASES, ids=IDS)
def test_eager_matches_numpy(name, kwargs, shapes, ref):
    xs = _data(shapes)
    out = np.asarray(_make(name, kwargs)(xs))
    assert out.shape == ref(xs).shape
    np.testing.assert_allclose(out, ref(xs), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("name", "kwargs", "shapes", "ref"), CASES, ids=IDS)
def test_symbolic_shape(name, kwargs, shapes, ref):
    out = _make(name, kwargs)([Input(shape=s[1:]) for s in shapes])
    assert out.shape == (None, *ref(_data(shapes)).shape[1:])


@pytest.mark.parametrize(("name", "kwargs", "shapes", "ref"), CASES, ids=IDS)
def test_jit_matches_eager(name, kwargs, shapes, ref):
    layer, xs = _make(name, kwargs), _data(shapes)
    np.testing.assert_allclose(
        np.asarray(jax.jit(lambda t: layer(t))(xs)), np.asarray(layer(xs)), rtol=1e-6, atol=1e-6
    )


@pytest.mark.parametrize(("name", "kwargs", "shapes", "ref"), CASES, ids=IDS)
def test_config_round_trip(name, kwargs, shapes, ref):
    layer, xs = _make(name, kwargs), _data(shapes)
    config = layer.get_config()
    for key, value in kwargs.items():
        assert config[key] == value
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    np.testing.assert_array_equal(np.asarray(clone(xs)), np.asarray(layer(xs)))


# (functional form, its layer class, extra arguments, input shapes)
FUNCTIONAL = [
    (merging.add, "Add", {}, [(2, 3)] * 3),
    (merging.subtract, "Subtract", {}, [(2, 3)] * 2),
    (merging.multiply, "Multiply", {}, [(2, 3)] * 2),
    (merging.average, "Average", {}, [(2, 3)] * 3),
    (merging.maximum, "Maximum", {}, [(2, 3)] * 2),
    (merging.minimum, "Minimum", {}, [(2, 3)] * 2),
    (merging.concatenate, "Concatenate", {"axis": 1}, [(2, 3, 2), (2, 1, 2)]),
    (merging.dot, "Dot", {"axes": (1, 2)}, [(2, 3, 4), (2, 5, 3)]),
    (merging.dot, "Dot", {"axes": 1, "normalize": True}, [(2, 3), (2, 3)]),
]


@pytest.mark.parametrize(("fn", "name", "kwargs", "shapes"), FUNCTIONAL)
def test_functional_forms(fn, name, kwargs, shapes):
    xs = _data(shapes)
    np.testing.assert_array_equal(np.asarray(fn(xs, **kwargs)), np.asarray(_make(name, kwargs)(xs)))
    symbolic = fn([Input(shape=s[1:]) for s in shapes], **kwargs)
    assert symbolic.shape == (None, *np.asarray(fn(xs, **kwargs)).shape[1:])
    assert type(symbolic.node.layer).__name__ == name


def test_dot_functional_default_axes_is_last():
    xs = _data([(2, 4, 3), (2, 5, 3)])
    np.testing.assert_allclose(np.asarray(merging.dot(xs)), _batch_dot(-1)(xs), atol=1e-6)


def test_dot_normalize_gives_cosine_and_keeps_zero_vectors_finite():
    x = np.array([[3.0, 4.0], [0.0, 0.0]], np.float32)
    y = np.array([[6.0, 8.0], [1.0, 2.0]], np.float32)
    out = np.asarray(merging.Dot(axes=1, normalize=True)([x, y]))
    np.testing.assert_allclose(out, [[1.0], [0.0]], atol=1e-6)


# (factory, input shapes or None for a single tensor, fragment of the message)
CALL_ERRORS = [
    (merging.Add, None, "list of inputs"),
    (merging.Add, [(2, 3)], "at least 2"),
    (merging.Concatenate, [(2, 3)], "at least 2"),
    (merging.Subtract, [(2, 3)] * 3, "exactly 2"),
    (merging.Subtract, [(2, 3)], "exactly 2"),
    (lambda: merging.Dot(1), [(2, 3)] * 3, "exactly 2"),
    (merging.Add, [(2, 3), (1, 3)], "different batch sizes"),
    (merging.Maximum, [(2, 3), (2, 4)], "incompatible shapes"),
    (merging.Multiply, [(2, 3), (2, 4, 3), (2, 5, 3)], "incompatible shapes"),
    (merging.Add, [(2, 3), (2, 3, 4)], "incompatible shapes"),
    (merging.Concatenate, [(2, 3, 4), (2, 5, 4)], "matching shapes"),
    (merging.Concatenate, [(2, 3), (2, 3, 1)], "same rank"),
    (lambda: merging.Concatenate(axis=3), [(2, 3, 4)] * 2, "out of range"),
    (lambda: merging.Dot(1), [(2, 3), (2, 4)], "incompatible input shapes"),
    (lambda: merging.Dot(1), [(2, 3), (3, 3)], "different batch sizes"),
    (lambda: merging.Dot(-2), [(2, 3), (2, 3)], "batch axis"),
    (lambda: merging.Dot(3), [(2, 3), (2, 3)], "out of range"),
    (lambda: merging.Dot(1), [(2,), (2,)], "rank >= 2"),
]


@pytest.mark.parametrize(("factory", "shapes", "match"), CALL_ERRORS)
def test_call_errors(factory, shapes, match):
    layer = factory()
    inputs = _data([(2, 3)])[0] if shapes is None else _data(shapes)
    with pytest.raises(ValueError, match=match) as info:
        layer(inputs)
    assert f"'{layer.name}'" in str(info.value)


def test_shape_errors_at_trace_time():
    with pytest.raises(ValueError, match="incompatible shapes"):
        merging.Add()([Input(shape=(3,)), Input(shape=(4,))])
    with pytest.raises(ValueError, match="matching shapes"):
        merging.concatenate([Input(shape=(3, 2)), Input(shape=(4, 3))])


CONSTRUCTOR_ERRORS = [
    (lambda: merging.Concatenate(axis=1.0), TypeError, "must be an integer"),
    (lambda: merging.Dot(axes="1"), TypeError, "integer or a pair"),
    (lambda: merging.Dot(axes=(1, 2, 3)), ValueError, "pair of integers"),
    (lambda: merging.Dot(axes=(1, 1.0)), ValueError, "pair of integers"),
    (lambda: merging.Dot(axes=0), ValueError, "batch axis"),
    (lambda: merging.Dot(axes=(1, 0)), ValueError, "batch axis"),
    (lambda: merging.Add(axis=1), TypeError, "Unrecognized keyword"),
]


@pytest.mark.parametrize(("factory", "error", "match"), CONSTRUCTOR_ERRORS)
def test_constructor_errors(factory, error, match):
    with pytest.raises(error, match=match):
        factory()


def test_docstring_examples():
    assert doctest.testmod(merging).failed == 0


@pytest.mark.keras
@pytest.mark.parametrize(("name", "kwargs", "shapes", "ref"), CASES, ids=IDS)
def test_keras_parity(keras_oracle, name, kwargs, shapes, ref):
    xs = _data(shapes, seed=1)
    expected = np.asarray(getattr(keras_oracle.layers, name)(**kwargs)(xs))
    np.testing.assert_allclose(np.asarray(_make(name, kwargs)(xs)), expected, rtol=0, atol=1e-6)
    symbolic = getattr(keras_oracle.layers, name)(**kwargs)(
        [keras_oracle.Input(s[1:]) for s in shapes]
    )
    out = _make(name, kwargs)([Input(shape=s[1:]) for s in shapes])
    assert out.shape == tuple(symbolic.shape)
