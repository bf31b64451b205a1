"""OrbaxCheckpoint, get/set_state_tree, and loading Orbax checkpoint directories.

Checkpoints are in Keras 3's layout: the parity tests write with real Keras 3's
OrbaxCheckpoint and load in kerax, and the reverse. Saves are synchronous unless a test
is about background saving (Orbax's async machinery costs time).
"""

import importlib.util
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

import kerax as keras

needs_orbax = pytest.mark.skipif(
    importlib.util.find_spec("orbax") is None, reason='needs orbax: pip install "kerax[orbax]"'
)
# Keras restores without target shardings, and Orbax warns that it reads the saved ones.
keras_restore_warning = pytest.mark.filterwarnings(
    "ignore:Sharding info not provided when restoring:UserWarning"
)

X = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
Y = (X @ np.array([[1.0], [-2.0], [0.5]], "float32")).astype("float32")


def _model(lib=keras, functional=False):
    """A small Dense model with fixed names, so that variable paths agree across builds."""
    if lib is keras:
        keras.utils.set_random_seed(0)
    if functional:
        inputs = lib.Input((3,), name="x")
        outputs = lib.layers.Dense(1, name="d2")(lib.layers.Dense(4, name="d1")(inputs))
        model = lib.Model(inputs, outputs, name="net")
    else:
        layers = [lib.Input((3,)), lib.layers.Dense(4, name="d1"), lib.layers.Dense(1, name="d2")]
        model = lib.Sequential(layers, name="seq")
    model.compile(lib.optimizers.Adam(0.01, name="adam"), "mse", metrics=["mae"])
    return model


def _fit(model, callbacks=(), epochs=2):
    model.fit(
        X, Y, epochs=epochs, batch_size=8, shuffle=False, verbose=0, callbacks=list(callbacks)
    )


def _steps(directory):
    return sorted(int(s) for s in os.listdir(directory) if s.isdigit())


def _leaves(tree):
    return [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(tree)]


def _assert_same_state(a, b, keys=("trainable_variables", "optimizer_variables")):
    ta, tb = a.get_state_tree("numpy_array"), b.get_state_tree("numpy_array")
    for key in keys:
        assert jax.tree_util.tree_structure(ta[key]) == jax.tree_util.tree_structure(tb[key])
        for x, y in zip(_leaves(ta[key]), _leaves(tb[key])):
            np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)


def _checkpoint(directory, **kwargs):
    kwargs.setdefault("save_on_background", False)
    return keras.callbacks.OrbaxCheckpoint(str(directory), **kwargs)


# -- the state tree --------------------------------------------------------------------
def test_state_tree_structure_round_trip_and_formats():
    model = _model()
    _fit(model, epochs=1)
    tree = model.get_state_tree()
    assert sorted(tree) == sorted(
        [
            "trainable_variables",
            "non_trainable_variables",
            "optimizer_variables",
            "metrics_variables",
        ]
    )
    assert sorted(tree["trainable_variables"]["seq"]["d1"]) == ["bias", "kernel"]
    adam = tree["optimizer_variables"]["adam"]
    assert int(adam["iteration"]) == 4 and "seq_d1_kernel_momentum" in adam
    assert sorted(tree["metrics_variables"]) == ["loss", "mean_absolute_error"]
    assert isinstance(tree["trainable_variables"]["seq"]["d1"]["kernel"], jax.Array)
    as_numpy = model.get_state_tree(value_format="numpy_array")
    assert isinstance(as_numpy["trainable_variables"]["seq"]["d1"]["kernel"], np.ndarray)

    fresh = _model()
    fresh.set_state_tree(tree)
    _assert_same_state(model, fresh, keys=tuple(tree)[:3])
    # Keras too sets only metric variables that exist: compiled metrics are made by fit.
    loss = fresh.get_state_tree()["metrics_variables"]["loss"]
    np.testing.assert_array_equal(loss["total"], tree["metrics_variables"]["loss"]["total"])
    # The values were copied: the next fit of `model` donates its own arrays.
    _fit(model, epochs=1)
    _fit(fresh, epochs=1)
    _assert_same_state(model, fresh)
    fresh.set_state_tree(as_numpy)
    assert int(fresh.optimizer.iterations) == 4


@pytest.mark.parametrize(
    "optimizer",
    [
        lambda name: keras.optimizers.RMSprop(0.01, momentum=0.9, centered=True, name=name),
        lambda name: keras.optimizers.Adam(use_ema=True, gradient_accumulation_steps=2, name=name),
        # No Keras names for Muon's state: kerax's leaves under <name>/kerax_state.
        lambda name: keras.optimizers.Muon(name=name),
        # Two name scopes: the LossScaleOptimizer's own and its inner optimizer's.
        lambda name: keras.optimizers.LossScaleOptimizer(
            keras.optimizers.Adam(name=f"{name}_inner"), name=name
        ),
    ],
    ids=["rmsprop", "ema_accumulation", "muon", "loss_scale"],
)
def test_state_tree_optimizer_round_trip(optimizer):
    model, fresh = _model(), _model()
    # Other names (as Keras's adam, adam_1 ...): the tree's optimizer scopes are matched.
    model.compile(optimizer("saved"), "mse")
    fresh.compile(optimizer("other"), "mse")
    _fit(model, epochs=1)
    fresh.set_state_tree(model.get_state_tree())
    assert int(fresh.optimizer.iterations) == int(model.optimizer.iterations) > 0
    ta, tb = model.get_state_tree("numpy_array"), fresh.get_state_tree("numpy_array")
    for x, y in zip(_leaves(ta["optimizer_variables"]), _leaves(tb["optimizer_variables"])):
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)


def test_state_tree_errors():
    model = _model()
    with pytest.raises(ValueError, match="value_format"):
        model.get_state_tree(value_format="torch")
    tree = model.get_state_tree()
    with pytest.raises(ValueError, match="Unknown variable name: weights"):
        model.set_state_tree({"weights": {}})
    tree["trainable_variables"]["seq"]["d1"]["kernel"] = np.zeros((5, 4), "float32")
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"seq/d1/kernel.*shape \(5, 4\)"):
        model.set_state_tree(tree)
    for x, y in zip(before, model.get_weights()):  # nothing assigned
        np.testing.assert_array_equal(x, y)
    with pytest.raises(TypeError, match="dict"):
        model.set_state_tree([1, 2])


def test_state_tree_warns_about_variables_it_lacks():
    model = _model()
    tree = model.get_state_tree()
    del tree["trainable_variables"]["seq"]["d2"]
    with pytest.warns(UserWarning, match=r"2 of the model's trainable_variables.*seq/d2/kernel"):
        model.set_state_tree({"trainable_variables": tree["trainable_variables"]})
    # Optimizer variables none of which fits the model's optimizer: said, not dropped silently.
    other = {"optimizer_variables": {"a": {"iteration": 1}, "b": {"iteration": 2}}}
    with pytest.warns(UserWarning, match="none of the state tree's 2 optimizer variables"):
        model.set_state_tree(other)


class _Capture(keras.callbacks.Callback):
    """Takes the state tree (and saves the weights) in a batch hook and at epoch ends."""

    def __init__(self, path):
        super().__init__()
        self.path, self.batch_tree, self.epoch_trees = path, None, []

    def on_train_batch_end(self, batch, logs=None):
        if batch == 1 and self.batch_tree is None:
            self.batch_tree = self.model.get_state_tree("numpy_array")
            self.model.save_weights(self.path)

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_trees.append(self.model.get_state_tree("numpy_array"))


def test_state_tree_and_save_weights_in_fit_hooks_see_the_running_state(tmp_path):
    model, reference = _model(), _model()
    capture = _Capture(str(tmp_path / "mid.weights.h5"))
    model.fit(
        X, Y, epochs=2, batch_size=8, shuffle=False, verbose=0, callbacks=[capture],
        validation_data=(X[:12], Y[:12]), validation_freq=2,
    )  # fmt: skip
    reference.fit(X[:16], Y[:16], batch_size=8, shuffle=False, verbose=0)  # the same 2 steps
    # In a batch hook: the state after 2 steps, not the donated buffers of fit's state.
    tree = capture.batch_tree
    assert int(tree["optimizer_variables"]["adam"]["iteration"]) == 2
    assert float(tree["metrics_variables"]["loss"]["count"]) == 16  # as in Keras: running
    expected = reference.get_state_tree("numpy_array")["trainable_variables"]
    for x, y in zip(_leaves(tree["trainable_variables"]), _leaves(expected)):
        np.testing.assert_allclose(x, y, rtol=1e-6)
    loaded = _model()
    loaded.load_weights(tmp_path / "mid.weights.h5")
    _assert_same_state(reference, loaded)
    # At epoch ends, as in Keras: the epoch's metric states, the validation's when it ran.
    counts = [float(t["metrics_variables"]["loss"]["count"]) for t in capture.epoch_trees]
    assert counts == [32, 12]
    assert int(model.optimizer.iterations) == 8


@pytest.mark.keras
def test_state_tree_structure_matches_keras(keras_oracle):
    ours, theirs = _model(), _model(keras_oracle)
    _fit(ours, epochs=1)
    _fit(theirs, epochs=1)

    def shapes(model):
        return jax.tree_util.tree_map(
            lambda a: (np.shape(a), str(np.asarray(a).dtype)), model.get_state_tree()
        )

    assert shapes(ours) == shapes(theirs)


def _two_outputs(lib):
    inputs = lib.Input((3,), name="x")
    hidden = lib.layers.Dense(4, name="h")(inputs)
    outputs = {
        "o1": lib.layers.Dense(1, name="o1")(hidden),
        "o2": lib.layers.Dense(2, name="o2")(hidden),
    }
    model = lib.Model(inputs, outputs, name="two")
    model.compile(lib.optimizers.SGD(0.01, name="sgd"), loss={"o1": "mse", "o2": "mse"})
    model.fit(X, {"o1": Y, "o2": np.concatenate([Y, -Y], 1)}, batch_size=16, verbose=0)
    return model


@pytest.mark.keras
def test_per_output_loss_trackers_cross_with_keras(keras_oracle):
    from kerax.saving.state_tree import flatten

    def metric_states(model):
        return flatten(model.get_state_tree("numpy_array")["metrics_variables"])

    ours, theirs = _two_outputs(keras), _two_outputs(keras_oracle)
    ours_tree, theirs_tree = (
        ours.get_state_tree("numpy_array"),
        theirs.get_state_tree("numpy_array"),
    )
    expected_ours, expected_theirs = metric_states(ours), metric_states(theirs)
    assert sorted(expected_ours) == sorted(expected_theirs)
    assert "compile_loss/o1_loss/total" in expected_ours
    ours.set_state_tree(theirs_tree)
    theirs.set_state_tree(ours_tree)
    for model, expected in ((ours, expected_theirs), (theirs, expected_ours)):
        got = metric_states(model)
        for key, value in expected.items():
            np.testing.assert_allclose(got[key], value, rtol=1e-6)


# -- the callback ----------------------------------------------------------------------
def test_import_error_without_orbax(monkeypatch):
    monkeypatch.setitem(sys.modules, "orbax.checkpoint", None)
    with pytest.raises(ImportError, match=r'pip install "kerax\[orbax\]"'):
        keras.callbacks.OrbaxCheckpoint("unused")


def test_importing_kerax_does_not_import_orbax():
    code = (
        "import sys, kerax, kerax.callbacks, kerax.saving\n"
        "kerax.callbacks.OrbaxCheckpoint\n"
        "assert not [m for m in sys.modules if m.startswith('orbax')]"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@needs_orbax
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"save_freq": "batch"}, "save_freq"),
        ({"save_freq": 0}, "save_freq"),
        ({"max_to_keep": 0}, "max_to_keep"),
        ({"mode": "best"}, "mode"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        keras.callbacks.OrbaxCheckpoint(str(tmp_path), **kwargs)


@needs_orbax
def test_saves_every_epoch_and_loads_the_latest(tmp_path):
    model = _model()
    _fit(model, [_checkpoint(tmp_path, max_to_keep=None)], epochs=3)
    assert _steps(tmp_path) == [0, 1, 2]
    fresh = _model()
    fresh.load_weights(str(tmp_path))
    _assert_same_state(model, fresh)
    older = _model()
    older.load_weights(str(tmp_path / "0"))  # one step's directory
    assert int(older.optimizer.iterations) == 4


@needs_orbax
def test_saves_every_n_batches(tmp_path):
    model = _model()
    _fit(model, [_checkpoint(tmp_path, save_freq=3, max_to_keep=None)])  # 4 batches an epoch
    assert _steps(tmp_path) == [3, 6]
    fresh = _model()
    fresh.load_weights(str(tmp_path))
    assert int(fresh.optimizer.iterations) == 6


@needs_orbax
def test_max_to_keep(tmp_path, capsys):
    _fit(_model(), [_checkpoint(tmp_path, max_to_keep=2, verbose=1)], epochs=4)
    assert _steps(tmp_path) == [2, 3]
    assert f"Epoch 4: saving checkpoint (step 3) to {tmp_path}" in capsys.readouterr().out


def _drive(callback, logs_list):
    """Epoch hooks over scripted logs; the saved weights tell the epoch they came from."""
    model = _model()
    model.build((None, 3))
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, logs in enumerate(logs_list):
        model.set_weights([np.full_like(w, epoch) for w in model.get_weights()])
        callback.on_epoch_end(epoch, dict(logs))
    callback.on_train_end()
    return model


@needs_orbax
@pytest.mark.parametrize(
    "kwargs, saved",
    [
        ({"mode": "min"}, [0, 2]),
        ({"mode": "max"}, [0, 1]),
        ({"mode": "auto"}, [0, 2]),
        ({"mode": "min", "initial_value_threshold": 0.45}, [2]),
    ],
)
def test_save_best_only(tmp_path, kwargs, saved):
    logs = [{"val_loss": 0.5}, {"val_loss": 0.6}, {"val_loss": 0.4}]
    callback = _checkpoint(tmp_path, save_best_only=True, max_to_keep=None, **kwargs)
    model = _drive(callback, logs)
    assert _steps(tmp_path) == saved
    model.load_weights(str(tmp_path))
    assert model.get_weights()[0][0, 0] == saved[-1]


@needs_orbax
def test_save_best_only_without_the_monitor_skips_with_a_warning(tmp_path):
    callback = _checkpoint(tmp_path, save_best_only=True, monitor="val_acc", mode="max")
    with pytest.warns(UserWarning, match="Can save best model only with val_acc available"):
        _drive(callback, [{"loss": 0.3}])
    assert _steps(tmp_path) == []


@needs_orbax
def test_background_saves_are_finished_when_fit_returns(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative directory (Orbax itself takes absolute ones)
    model = _model()
    _fit(model, [_checkpoint("ckpt", save_on_background=True, max_to_keep=None)])
    assert sorted(os.listdir("ckpt")) == ["0", "1"]  # no unfinished (tmp) directories
    fresh = _model()
    fresh.load_weights("ckpt")
    _assert_same_state(model, fresh)


@needs_orbax
def test_resume_continues_as_an_uninterrupted_run(tmp_path):
    model = _model()
    _fit(model, [_checkpoint(tmp_path)])
    resumed = _model()
    resumed.load_weights(str(tmp_path))
    _assert_same_state(model, resumed)
    _fit(model, epochs=1)
    _fit(resumed, epochs=1)
    _assert_same_state(model, resumed)
    loaded = keras.saving.load_model(str(tmp_path))
    assert int(loaded.optimizer.iterations) == 8
    assert loaded.get_layer("d1").kernel.shape == (3, 4)


@needs_orbax
def test_weights_only_checkpoint_and_loading_errors(tmp_path):
    model = _model()
    _fit(model, [_checkpoint(tmp_path / "w", save_weights_only=True)], epochs=1)
    with pytest.raises(ValueError, match="does not contain model configuration"):
        keras.saving.load_model(str(tmp_path / "w"))
    fresh = _model()
    fresh.load_weights(str(tmp_path / "w"))
    _assert_same_state(model, fresh, keys=("trainable_variables",))
    assert int(fresh.optimizer.iterations) == 0  # no optimizer state in such a checkpoint

    unfinished = tmp_path / "unfinished"
    (unfinished / "3.orbax-checkpoint-tmp").mkdir(parents=True)  # a save cut short
    with pytest.raises(ValueError, match="No valid checkpoints found"):
        fresh.load_weights(str(unfinished))
    (tmp_path / "empty").mkdir()
    with pytest.raises(IsADirectoryError):
        keras.saving.load_model(str(tmp_path / "empty"))


# -- with real Keras 3 -----------------------------------------------------------------
@needs_orbax
@pytest.mark.keras
def test_keras_checkpoint_loads_into_kerax(keras_oracle, tmp_path):
    theirs = _model(keras_oracle, functional=True)
    _fit(theirs, [keras_oracle.callbacks.OrbaxCheckpoint(str(tmp_path), save_on_background=False)])
    ours = _model(functional=True)
    ours.load_weights(str(tmp_path))
    _assert_same_state(theirs, ours)
    loaded = keras.saving.load_model(str(tmp_path))
    _assert_same_state(theirs, loaded)


@needs_orbax
@pytest.mark.keras
@keras_restore_warning
def test_kerax_checkpoint_loads_into_keras(keras_oracle, tmp_path):
    ours = _model(functional=True)
    _fit(ours, [_checkpoint(tmp_path)])
    theirs = _model(keras_oracle, functional=True)
    theirs.optimizer.build(theirs.trainable_variables)  # Keras sets only variables it has
    theirs.load_weights(str(tmp_path))
    _assert_same_state(ours, theirs)
    loaded = keras_oracle.saving.load_model(str(tmp_path))
    _assert_same_state(ours, loaded)
