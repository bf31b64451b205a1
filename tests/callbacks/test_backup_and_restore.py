"""BackupAndRestore: what a backup holds, atomic writes, restoring, and resuming a fit
killed with SIGKILL to the same final weights as an uninterrupted run."""

import importlib.util
import os
import signal
import subprocess
import sys

import jax
import numpy as np
import pytest
from cb_helpers import binary_data, tiny_model

import kerax as keras


def _by_position(tree, model):
    """``tree`` with each layer-name key replaced by the layer's position in ``model``:
    models built in one process name their layers differently (dense_9, dense_10 ...),
    and sorted names would pair up different layers."""
    position = {layer.name: f"{i:04d}" for i, layer in enumerate(model.layers)}

    def rename(node):
        if isinstance(node, dict):
            return {position.get(k, k): rename(v) for k, v in node.items()}
        if isinstance(node, (list, tuple)) and not hasattr(node, "_fields"):
            return type(node)(rename(v) for v in node)
        if hasattr(node, "_fields"):  # optax states are named tuples
            return type(node)(*(rename(v) for v in node))
        return node

    return rename(tree)


def _leaves_equal(a, b, model_a=None, model_b=None):
    if model_a is not None:
        a, b = _by_position(a, model_a), _by_position(b, model_b)
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def _contract(model):
    """The attributes a resuming fit() initializes before on_train_begin."""
    model._initial_epoch, model._initial_step, model._initial_logs_state = None, 0, None
    model._shuffle_key = None
    return model


def _epoch_end_like_fit(callback, model, epoch):
    """What fit leaves on the model at an epoch end, then the callback's hook."""
    if model._opt_state is None:
        model._opt_state = model.optimizer.init(model.get_variables()["trainable"])
    model._train_key = jax.random.PRNGKey(100 + epoch)
    model._shuffle_key = jax.random.PRNGKey(7)
    callback.on_epoch_begin(epoch)
    callback.on_epoch_end(epoch, {"loss": 1.0})


def test_backup_after_a_real_fit_restores_into_a_fresh_model(tmp_path):
    x, y = binary_data()  # 3 batches of 16
    model = tiny_model(seed=0, learning_rate=0.05)
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"), delete_checkpoint=False)
    model.fit(x, y, epochs=2, batch_size=16, callbacks=[backup], verbose=0)
    assert sorted(os.listdir(tmp_path / "backup")) == ["backup.ckpt.h5"]  # no temporary left

    # Built again in this process, so its layers are named differently (dense_2, ...):
    # the backup matches layers by class and order, as Keras weight files do.
    fresh = _contract(tiny_model(seed=1, learning_rate=0.3))
    assert [v.path for v in fresh.weights] != [v.path for v in model.weights]
    restore = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    restore.set_model(fresh)
    restore.on_train_begin()
    _leaves_equal(fresh.get_variables(), model.get_variables(), fresh, model)
    _leaves_equal(fresh._opt_state, model._opt_state, fresh, model)
    _leaves_equal(fresh._train_key, model._train_key)
    assert fresh.optimizer.iterations == model.optimizer.iterations == 6
    assert fresh.optimizer.learning_rate == pytest.approx(0.05)
    assert (fresh._initial_epoch, fresh._initial_step, fresh._initial_logs_state) == (2, 0, None)


def test_restoring_into_another_architecture_names_the_problem(tmp_path):
    model = _contract(tiny_model(seed=0))
    backup = keras.callbacks.BackupAndRestore(str(tmp_path))
    backup.set_model(model)
    _epoch_end_like_fit(backup, model, 0)
    other = _contract(
        keras.Sequential([keras.Input((4,)), keras.layers.Dense(5), keras.layers.Dense(1)])
    )
    other.compile("sgd", "mse")
    backup.set_model(other)
    with pytest.raises(ValueError, match="(?s)could not restore it.*shape \\(4, 5\\) in the model"):
        backup.on_train_begin()


def test_restoring_needs_a_fit_that_can_resume(tmp_path):
    model = tiny_model()
    backup = keras.callbacks.BackupAndRestore(str(tmp_path))
    backup.set_model(_contract(model))
    _epoch_end_like_fit(backup, model, 0)
    for name in ("_initial_epoch", "_initial_step"):
        model.__dict__.pop(name)
    with pytest.raises(RuntimeError, match="this version of fit\\(\\) cannot resume"):
        backup.on_train_begin()


def test_a_crash_during_a_save_leaves_the_previous_backup(tmp_path, monkeypatch):
    model = _contract(tiny_model())
    backup = keras.callbacks.BackupAndRestore(str(tmp_path))
    backup.set_model(model)
    _epoch_end_like_fit(backup, model, 0)
    before = (tmp_path / "backup.ckpt.h5").read_bytes()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        _epoch_end_like_fit(backup, model, 1)
    assert (tmp_path / "backup.ckpt.h5").read_bytes() == before
    assert os.listdir(tmp_path) == ["backup.ckpt.h5"]


def test_corrupted_backup_is_an_error_unless_a_previous_one_is_kept(tmp_path):
    model = _contract(tiny_model())
    for double in (False, True):
        directory = tmp_path / str(double)
        backup = keras.callbacks.BackupAndRestore(str(directory), double_checkpoint=double)
        backup.set_model(model)
        _epoch_end_like_fit(backup, model, 0)
        _epoch_end_like_fit(backup, model, 1)
        (directory / "backup.ckpt.h5").write_bytes(b"\x89HDF truncated")
        if not double:
            with pytest.raises(ValueError, match="could not restore it.*truncated or corrupted"):
                backup.on_train_begin()
            continue
        backup.on_train_begin()  # falls back to the backup of the epoch before
        assert model._initial_epoch == 1
        _leaves_equal(model._train_key, jax.random.PRNGKey(100))


def test_backup_is_deleted_at_the_end_of_training_but_not_foreign_files(tmp_path):
    model = _contract(tiny_model())
    for keep_other in (False, True):
        directory = tmp_path / str(keep_other)
        backup = keras.callbacks.BackupAndRestore(str(directory), double_checkpoint=True)
        backup.set_model(model)
        _epoch_end_like_fit(backup, model, 0)
        _epoch_end_like_fit(backup, model, 1)
        if keep_other:
            (directory / "notes.txt").write_text("mine")
        backup.on_train_end()
        assert (os.listdir(directory) == ["notes.txt"]) if keep_other else not directory.exists()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"backup_dir": ""}, "backup_dir must be"),
        ({"backup_dir": "b", "save_freq": -2}, "save_freq"),
    ],
)
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        keras.callbacks.BackupAndRestore(**kwargs)


TRAIN_SCRIPT = '''
import os, signal, sys
import numpy as np
sys.path.insert(0, {helpers!r})
import kerax as keras
from cb_helpers import binary_data, tiny_model


def train(backup_dir, kill_at=0, seed=0, save_freq="epoch"):
    """4 epochs of 4 batches; SIGKILL at the kill_at-th dispatch (0: never)."""
    x, y = binary_data(n=64)
    model = tiny_model(seed=seed, learning_rate=0.2)
    seen = [0]

    def maybe_kill(batch, logs):
        seen[0] += 1
        if seen[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    callbacks = [
        keras.callbacks.BackupAndRestore(backup_dir, save_freq=save_freq),
        keras.callbacks.LambdaCallback(on_train_batch_end=maybe_kill),
    ]
    history = model.fit(x, y, epochs=4, batch_size=16, callbacks=callbacks, verbose=0)
    return model.get_weights(), history


if __name__ == "__main__":
    save_freq = sys.argv[4] if sys.argv[4] == "epoch" else int(sys.argv[4])
    weights, history = train(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), save_freq)
    np.savez(sys.argv[5], epochs=np.array(history.epoch), loss=np.array(history.history["loss"]),
             *weights)
'''


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    path = tmp_path_factory.mktemp("resume") / "train_script.py"
    path.write_text(TRAIN_SCRIPT.format(helpers=os.path.dirname(os.path.abspath(__file__))))
    spec = importlib.util.spec_from_file_location("train_script", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return path, module


@pytest.fixture(scope="module")
def uninterrupted(script, tmp_path_factory):
    return script[1].train(str(tmp_path_factory.mktemp("reference") / "backup"))


# Each case kills a training subprocess (~5 s); batch-level saving without the kill is
# tested above, so the batch case runs with the slow tests.
@pytest.mark.parametrize("save_freq", ["epoch", pytest.param(2, marks=pytest.mark.slow)])
def test_sigkill_mid_epoch_then_rerun_ends_with_the_uninterrupted_weights(
    script, uninterrupted, tmp_path, save_freq
):
    path, _ = script
    backup_dir, out = str(tmp_path / "backup"), str(tmp_path / "out.npz")

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}

    def run(kill_at, seed):  # the kerax under test, not whichever one is installed
        args = [sys.executable, str(path), backup_dir, str(kill_at), str(seed), str(save_freq), out]
        return subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)

    # The 7th dispatch is batch 2 of epoch 1: with save_freq="epoch" the backup is from
    # the end of epoch 0; with save_freq=2 from batch 1 of epoch 1.
    killed = run(kill_at=7, seed=0)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert os.path.exists(os.path.join(backup_dir, "backup.ckpt.h5"))
    # Rerun with another seed: the initial weights and keys differ, so only a restore
    # can reproduce the uninterrupted run.
    resumed = run(kill_at=0, seed=1)
    assert resumed.returncode == 0, resumed.stderr
    got = np.load(out)
    weights, history = uninterrupted
    assert list(got["epochs"]) == [1, 2, 3]
    np.testing.assert_array_equal(got["loss"], history.history["loss"][1:])
    for i, want in enumerate(weights):
        np.testing.assert_array_equal(got[f"arr_{i}"], want)
    assert not os.path.exists(backup_dir)  # deleted when training ends
