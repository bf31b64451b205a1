"""A LossScaleOptimizer's state in Keras 3.15's file layout, both ways.

Keras saves the loss-scale optimizer's own iteration, learning rate, step counter and
dynamic scale, then its inner optimizer's variables, in ``optimizer/vars``, and the inner
optimizer's list again in ``optimizer/inner_optimizer/vars``. A mixed-precision model that
one library trains with dynamic loss scaling (skipped steps, a halved and a doubled scale)
and saves resumes in the other with the same scale and the same next steps.
"""

import io
import zipfile

import h5py
import numpy as np
import optax
import pytest

import kerax

RNG = np.random.default_rng(0)
X = RNG.normal(size=(16, 4)).astype("float32")
Y = RNG.normal(size=(16, 2)).astype("float32")


def _model(lib):
    model = lib.Sequential(
        [
            lib.Input((4,)),
            lib.layers.Dense(5, dtype="mixed_float16"),
            lib.layers.Dense(2, dtype="mixed_float16"),
        ]
    )
    o = lib.optimizers
    # 2**17 overflows float16 gradients: the first steps are skipped and the scale
    # halved; two finite steps in a row double it.
    optimizer = o.LossScaleOptimizer(o.Adam(0.01), initial_scale=2.0**17, dynamic_growth_steps=2)
    model.compile(optimizer=optimizer, loss="mean_squared_error")
    return model


def _fit(model, rows):
    model.fit(X[rows], Y[rows], batch_size=2, shuffle=False, verbose=0)


def _state(model):
    opt = model.optimizer
    return float(np.asarray(opt.dynamic_scale)), int(np.asarray(opt.iterations))


def _weights_h5(path):
    with zipfile.ZipFile(path) as zf:
        return h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r")


def _layout(h5):
    out = {}
    h5["optimizer"].visititems(lambda name, obj: out.setdefault(name, getattr(obj, "shape", None)))
    return out


def _resume_alike(k, path, rows):
    """Both libraries load ``path`` and train on ``rows``: same scale and iterations
    before, same weights and scale after. Returns Keras's model."""
    ours, theirs = kerax.saving.load_model(path), k.saving.load_model(path)
    assert _state(ours) == _state(theirs)
    for model in (ours, theirs):
        _fit(model, rows)
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert _state(ours) == _state(theirs)
    return theirs


@pytest.mark.keras
def test_loss_scale_state_resumes_across_libraries(tmp_path, keras_oracle):
    k = keras_oracle
    first = _model(kerax)
    _fit(first, slice(0, 10))
    scale, iterations = _state(first)
    assert iterations < 5 and scale != 2.0**17  # steps were skipped, the scale moved
    first.save(tmp_path / "x.keras")

    reference = _model(k)  # Keras writes the same groups and shapes, without kerax's own
    reference.set_weights(first.get_weights())
    _fit(reference, slice(0, 10))
    assert _state(reference) == (scale, iterations)
    reference.save(tmp_path / "ref.keras")
    ours_h5, theirs_h5 = _weights_h5(tmp_path / "x.keras"), _weights_h5(tmp_path / "ref.keras")
    assert _layout(ours_h5) == _layout(theirs_h5)
    assert ours_h5["optimizer/vars"].attrs["name"] == first.optimizer.name
    np.testing.assert_array_equal(ours_h5["optimizer/vars/3"][()], np.float32(scale))

    theirs = _resume_alike(k, tmp_path / "x.keras", slice(10, 16))
    theirs.save(tmp_path / "k.keras")
    _resume_alike(k, tmp_path / "k.keras", slice(0, 6))


@pytest.mark.keras
def test_optax_optimizer_state_is_kerax_only(tmp_path, keras_oracle):
    """A raw optax transformation has no config and no Keras counterpart: ``save``
    refuses (as Keras refuses an optimizer without a config), ``save_weights`` keeps its
    state for kerax exactly, and Keras loads those weights and skips the optimizer."""

    def make(lib, optimizer):
        model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(2)])
        model.compile(optimizer=optimizer, loss="mean_squared_error")
        return model

    def fit(model, rows):
        model.fit(X[rows], Y[rows], batch_size=2, shuffle=False, verbose=0)

    transform = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(0.05))
    straight = make(kerax, kerax.optimizers.OptaxOptimizer(transform))
    fit(straight, slice(0, 6))
    with pytest.raises(TypeError, match="save_weights"):
        straight.save(tmp_path / "m.keras")
    assert not (tmp_path / "m.keras").exists()
    straight.save_weights(tmp_path / "m.weights.h5")
    saved = straight.get_weights()
    resumed = make(kerax, kerax.optimizers.OptaxOptimizer(transform))
    resumed.load_weights(tmp_path / "m.weights.h5")
    assert resumed.optimizer.iterations == straight.optimizer.iterations == 3
    for model in (straight, resumed):
        fit(model, slice(6, 12))
    for a, b in zip(straight.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)

    k = keras_oracle
    theirs = make(k, "adam")
    theirs.optimizer.build(theirs.trainable_variables)
    with pytest.warns(UserWarning, match="Skipping variable loading for optimizer"):
        theirs.load_weights(tmp_path / "m.weights.h5")
    assert int(np.asarray(theirs.optimizer.iterations)) == 0
    for a, b in zip(theirs.get_weights(), saved, strict=True):
        np.testing.assert_array_equal(a, b)
