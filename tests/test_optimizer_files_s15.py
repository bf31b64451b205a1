"""Optimizer state in Keras 3.15's file layout, both ways: MultiOptimizer, ScheduleFreeAdamW,
use_ema and gradient_accumulation_steps. A file one library writes mid-training resumes
in the other with the same next-step weights."""

import io
import zipfile

import h5py
import numpy as np
import pytest

import kerax

RNG = np.random.default_rng(0)
X = RNG.normal(size=(10, 4)).astype("float32")
Y = RNG.normal(size=(10, 2)).astype("float32")

OPTIMIZERS = {
    "multi": lambda o: o.MultiOptimizer(
        o.OptimizerMap(
            o.SGD(0.05, momentum=0.9),
            {".*head.*": o.Adam(0.01), "unused": o.RMSprop()},
        )
    ),
    "schedule_free": lambda o: o.ScheduleFreeAdamW(0.01, warmup_steps=2),
    "ema": lambda o: o.Adam(0.01, use_ema=True, ema_momentum=0.9),
    "accumulate": lambda o: o.RMSprop(0.01, momentum=0.5, gradient_accumulation_steps=3),
    "ema_accumulate": lambda o: o.Adam(
        0.01, use_ema=True, ema_momentum=0.8, gradient_accumulation_steps=2
    ),
    "adafactor": lambda o: o.Adafactor(0.05),
    "lamb": lambda o: o.Lamb(0.01),
    "muon": lambda o: o.Muon(0.01),
    "custom": lambda o: _custom(o)(0.01, gradient_accumulation_steps=2),
}
_CUSTOM: dict = {}


def _custom(o):
    """An Adam written the Keras way (``build`` + ``update_step``), for library ``o``:
    its slots are all the m's, then all the v's."""
    if o not in _CUSTOM:
        ops = (kerax if o is kerax.optimizers else __import__("keras")).ops

        class MyAdam(o.Optimizer):
            def build(self, var_list):
                if self.built:
                    return
                super().build(var_list)
                self.m, self.v = self.add_optimizer_variables(var_list, ["m", "v"])

            def update_step(self, gradient, variable, learning_rate):
                i = self._get_variable_index(variable)
                m, v = self.m[i], self.v[i]
                self.assign_add(m, (gradient - m) * 0.1)
                self.assign_add(v, (ops.square(gradient) - v) * 0.01)
                step = ops.cast(self.iterations + 1, variable.dtype)
                scale = ops.sqrt(1 - ops.power(0.99, step)) / (1 - ops.power(0.9, step))
                self.assign_sub(variable, learning_rate * scale * m / (ops.sqrt(v) + 1e-7))

        _CUSTOM[o] = MyAdam
    return _CUSTOM[o]


def _model(lib, name):
    model = lib.Sequential(
        [lib.Input((4,)), lib.layers.Dense(5, name="enc"), lib.layers.Dense(2, name="head")]
    )
    # The full loss name: Keras 3.15 cannot read "mse" back from a .h5 file.
    model.compile(optimizer=OPTIMIZERS[name](lib.optimizers), loss="mean_squared_error")
    return model


def _fit(model, n):
    model.fit(X[:n], Y[:n], batch_size=2, epochs=1, shuffle=False, verbose=0)


def _save(model, path, fmt):
    path = str(path) + {"keras": ".keras", "weights": ".weights.h5"}[fmt]
    if fmt == "weights":
        model.save_weights(path)
    else:
        model.save(path)
    return path


def _load(lib, name, path, fmt, weights):
    if fmt != "weights":
        return lib.saving.load_model(path, custom_objects={"MyAdam": _custom(lib.optimizers)})
    model = _model(lib, name)
    model.set_weights(weights)  # Keras restores the optimizer only once it is built
    model.optimizer.build(model.trainable_variables)
    model.load_weights(path)
    return model


def _same(a, b, atol=1e-6):
    for u, v in zip(a, b, strict=True):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=1e-5, atol=atol)


def _resumes_alike(k, name, path, fmt, rows, weights):
    """Both libraries load ``path`` (a weights file into a model with ``weights``) and
    train on ``rows`` rows (batches of 2): same iterations before, same weights after.
    Returns Keras's model."""
    ours, theirs = (_load(lib, name, path, fmt, weights) for lib in (kerax, k))
    assert int(np.asarray(ours.optimizer.iterations)) == int(
        np.asarray(theirs.optimizer.iterations)
    )
    for model in (ours, theirs):
        _fit(model, rows)
    _same(ours.get_weights(), theirs.get_weights())
    return theirs


def _both_ways(k, name, tmp_path, fmt="keras"):
    """kerax trains 5 steps and saves; Keras and kerax resume from that file for 3 steps
    and must agree; Keras saves, and both resume from Keras's file for 2 more steps. (One
    ``fit`` per Keras model: Keras 3.15 fails a second ``fit`` with ``use_ema``.)"""
    first = _model(kerax, name)
    _fit(first, 10)
    saved = _save(first, tmp_path / "x", fmt)
    if fmt == "keras":
        with zipfile.ZipFile(saved) as zf:
            h5 = h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r")
            assert "optimizer/kerax_state" not in h5  # Keras's list holds the whole state
    theirs = _resumes_alike(k, name, saved, fmt, 6, first.get_weights())
    _resumes_alike(k, name, _save(theirs, tmp_path / "k", fmt), fmt, 4, theirs.get_weights())


@pytest.mark.keras
@pytest.mark.parametrize("name", ["multi", "schedule_free", "ema_accumulate"])
def test_state_resumes_across_libraries(tmp_path, keras_oracle, name):
    _both_ways(keras_oracle, name, tmp_path)


@pytest.mark.keras
@pytest.mark.slow
@pytest.mark.parametrize("name", ["accumulate", "ema", "adafactor", "muon", "custom", "lamb"])
def test_more_states_resume_across_libraries(tmp_path, keras_oracle, name):
    _both_ways(keras_oracle, name, tmp_path)


@pytest.mark.keras
@pytest.mark.slow
def test_weights_file_resumes_across_libraries(tmp_path, keras_oracle):
    _both_ways(keras_oracle, "multi", tmp_path, "weights")


@pytest.mark.keras
def test_h5_file_holds_keras_list(tmp_path, keras_oracle):
    """Keras 3.15 cannot train a model restored from a .h5 file with gradient
    accumulation, use_ema or a MultiOptimizer (its own files too): kerax reads Keras's
    .h5 and resumes as Keras resumes from the .keras, and its own .h5 holds the list
    Keras restores from the .keras."""
    k = keras_oracle
    theirs = _model(k, "ema_accumulate")
    _fit(theirs, 10)
    theirs.save(tmp_path / "k.keras")  # first: Keras's .h5 writer drops its compile config
    theirs.save(tmp_path / "k.h5")
    ours, theirs = (
        kerax.saving.load_model(tmp_path / "k.h5"),
        k.saving.load_model(tmp_path / "k.keras"),
    )
    for model in (ours, theirs):
        _fit(model, 6)
    _same(ours.get_weights(), theirs.get_weights())

    ours.save(tmp_path / "x.keras")
    with pytest.warns(UserWarning, match="legacy HDF5"):
        ours.save(tmp_path / "x.h5")
    restored = k.saving.load_model(tmp_path / "x.keras")
    with h5py.File(tmp_path / "x.h5", "r") as h5:
        group = h5["optimizer_weights"]
        names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
        _same([group[n][()] for n in names], [v.numpy() for v in restored.optimizer.variables], 0)
        assert "kerax" not in h5 or "optimizer_state" not in h5["kerax"]
