"""Cross-entropy shape handling against Keras 3: ``ignore_class`` with every label and
sample-weight shape Keras accepts, and ``loss="crossentropy"``/``"ce"``."""

import json

import jax
import numpy as np
import pytest

import kerax
from kerax import losses

pytestmark = pytest.mark.keras

B, T, C = 4, 3, 5
_RNG = np.random.default_rng(0)
_LAB = np.array([0, 2, 1, 2])
_SEQ = np.array([[0, 2, 1], [2, 2, 2], [4, 3, 2], [1, 0, 3]])
LABELS = {  # labels, predictions (logits), label 2 is ignored
    "rank1": (_LAB, _RNG.normal(size=(B, C)).astype("float32")),
    "column": (_LAB[:, None], _RNG.normal(size=(B, C)).astype("float32")),
    "sequence": (_SEQ, _RNG.normal(size=(B, T, C)).astype("float32")),
    "sequence_column": (_SEQ[..., None], _RNG.normal(size=(B, T, C)).astype("float32")),
}
WEIGHTS = {
    "none": None,
    "B": np.array([1.0, 2.0, 0.5, 1.5], "float32"),
    "B1": np.array([[1.0], [2.0], [0.5], [1.5]], "float32"),
    "BT": _RNG.uniform(0.5, 2.0, (B, T)).astype("float32"),
}
# Keras aligns weights from the right: (B,) weights fail against (B, T) values there.
_KERAS_ACCEPTS = {
    "rank1": ("none", "B", "B1"),
    "column": ("none", "B", "B1"),
    "sequence": ("none", "B1", "BT"),
    "sequence_column": ("none", "B1", "BT"),
}


def _close(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reduction", [None, "sum", "sum_over_batch_size"])
@pytest.mark.parametrize("labels", sorted(LABELS))
def test_ignore_class_with_every_weight_shape_matches_keras(labels, reduction, keras_oracle):
    y_true, logits = LABELS[labels]
    kwargs = dict(from_logits=True, ignore_class=2, reduction=reduction)
    ours = losses.SparseCategoricalCrossentropy(**kwargs)
    # The function form, wrapped: its ignore_class mask must count like the class's.
    wrapped = losses.LossFunctionWrapper(losses.sparse_categorical_crossentropy, **kwargs)
    theirs = keras_oracle.losses.SparseCategoricalCrossentropy(**kwargs)
    for weight in _KERAS_ACCEPTS[labels]:
        sw = WEIGHTS[weight]
        want = theirs(y_true, logits, sample_weight=sw)
        _close(ours(y_true, logits, sample_weight=sw), want)
        _close(wrapped(y_true, logits, sample_weight=sw), want)
    _close(
        losses.sparse_categorical_crossentropy(y_true, logits, from_logits=True, ignore_class=2),
        keras_oracle.losses.sparse_categorical_crossentropy(
            y_true, logits, from_logits=True, ignore_class=2
        ),
    )


def test_column_weight_with_an_explicit_mask_keeps_the_batch_shape():
    values = losses.reduce_weighted_values(
        np.ones(B, "float32"), WEIGHTS["B1"], mask=np.array([1, 0, 1, 1]), reduction=None
    )
    _close(values, [[1.0], [0.0], [0.5], [1.5]])


# ---------------------------------------------------------------- "crossentropy" / "ce"
CE_CASES = {  # y_true, output units, activation, the loss Keras picks
    "binary": (_RNG.integers(0, 2, (12, 1)).astype("float32"), 1, "sigmoid", "binary"),
    "binary_rank1": (_RNG.integers(0, 2, (12,)).astype("float32"), 1, "sigmoid", "binary"),
    "sparse": (_RNG.integers(0, 3, (12,)), 3, "softmax", "sparse_categorical"),
    "sparse_column": (_RNG.integers(0, 3, (12, 1)), 3, "softmax", "sparse_categorical"),
    "categorical": (
        np.eye(3, dtype="float32")[_RNG.integers(0, 3, 12)],
        3,
        "softmax",
        "categorical",
    ),
}
_X = _RNG.normal(size=(12, 5)).astype("float32")


def _dense(k, units, activation):
    inputs = k.Input((5,))
    return k.Model(inputs, k.layers.Dense(units, activation=activation)(inputs))


@pytest.mark.parametrize("case", sorted(CE_CASES))
def test_crossentropy_alias_picks_the_loss_keras_picks(case, keras_oracle):
    y_true, units, activation, kind = CE_CASES[case]
    y_pred = jax.nn.sigmoid(_X[:, :units]) if units == 1 else jax.nn.softmax(_X[:, :units])
    get_loss = keras_oracle.src.trainers.compile_utils.get_loss  # what Keras's compile runs
    for name in ("crossentropy", "ce", "CE"):
        theirs = get_loss(name, y_true, y_pred)
        assert theirs.fn.__name__ == f"{kind}_crossentropy"
        want = theirs(y_true, y_pred)
        loss = losses.get(name)
        assert loss.name == theirs.name == name
        _close(loss(y_true, y_pred), want)
        _close(jax.jit(loss)(y_true, y_pred), want)


@pytest.mark.parametrize("case", ["binary", "sparse", "categorical"])
def test_compile_crossentropy_fit_and_evaluate_match_keras(case, keras_oracle):
    y_true, units, activation, _ = CE_CASES[case]
    results, weights = [], None
    for k in (keras_oracle, kerax):
        model = _dense(k, units, activation)
        weights = weights or model.get_weights()
        model.set_weights(weights)
        model.compile(optimizer=k.optimizers.SGD(0.1), loss="ce")
        history = model.fit(_X, y_true, batch_size=4, epochs=1, shuffle=False, verbose=0)
        results.append((history.history["loss"], model.evaluate(_X, y_true, verbose=0)))
    (k_loss, k_eval), (x_loss, x_eval) = results
    np.testing.assert_allclose(x_loss, k_loss, rtol=1e-5)
    np.testing.assert_allclose(x_eval, k_eval, rtol=1e-5)


def test_crossentropy_config_round_trip():
    loss = losses.get("ce")
    again = losses.Crossentropy.from_config(loss.get_config())
    assert (
        again.get_config()
        == loss.get_config()
        == {
            "name": "ce",
            "reduction": "sum_over_batch_size",
            "from_logits": False,
        }
    )
    restored = losses.deserialize(json.loads(json.dumps(losses.serialize(loss))))
    assert isinstance(restored, losses.Crossentropy) and restored.name == "ce"
    assert losses.deserialize("crossentropy").name == "crossentropy"
    with pytest.raises(ValueError, match="Unknown loss"):
        losses.get("crossentropyy")
