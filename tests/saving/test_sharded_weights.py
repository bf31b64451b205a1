"""Sharded weights (``max_shard_size``): Keras 3.15's ``.weights.json`` index and shards."""

import inspect
import json
import os

import h5py
import numpy as np
import pytest

import kerax
from kerax.saving import load_weights, save_weights

TINY = 1e-6  # GB: about 1 KB a shard, so the models below span several shards


def _x(n=3, d=4, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)).astype("float32")


def _mlp(k, units=16):
    return k.Sequential(
        [
            k.Input((4,)),
            k.layers.Dense(units),
            k.layers.Dropout(0.1),
            k.layers.Dense(16),
            k.layers.Dense(2),
        ]
    )


def _nested(k):
    x = k.Input((4,))
    inner = k.Sequential([k.Input((4,)), k.layers.Dense(16), k.layers.Dense(16)])
    return k.Model(x, k.layers.Dense(2)(k.layers.BatchNormalization()(inner(x))))


def _contents(directory):
    """``{shard: {path: shape or attributes}}`` and the index of each save in ``directory``."""
    out = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith(".json"):
            out[name] = json.loads((directory / name).read_text())
            continue
        out[name] = {}
        with h5py.File(directory / name, "r") as f:
            f.visititems(
                lambda n, o, e=out[name]: e.setdefault(n, getattr(o, "shape", dict(o.attrs)))
            )
    return out


def _same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


@pytest.mark.keras
@pytest.mark.parametrize("build", [_mlp, _nested])
def test_sharded_files_match_keras_and_load_both_ways(tmp_path, keras_oracle, build):
    k = keras_oracle
    ours, theirs = build(kerax), build(k)
    (tmp_path / "o").mkdir()
    (tmp_path / "t").mkdir()
    ours.save_weights(tmp_path / "o" / "m.weights.json", max_shard_size=TINY)
    k.saving.save_weights(theirs, tmp_path / "t" / "m.weights.json", max_shard_size=TINY)
    files = _contents(tmp_path / "o")
    assert files == _contents(tmp_path / "t")  # same shards, same index, byte counts
    assert len(files) > 3 and "m_00002.weights.h5" in files
    theirs.load_weights(tmp_path / "o" / "m.weights.json")
    _same(theirs.get_weights(), ours.get_weights())
    other = build(k)
    other.save_weights(tmp_path / "t" / "m.weights.json", max_shard_size=TINY)
    load_weights(ours, tmp_path / "t" / "m.weights.json")
    _same(ours.get_weights(), other.get_weights())
    np.testing.assert_allclose(ours(_x()), other.predict(_x(), verbose=0), rtol=1e-5, atol=1e-6)


@pytest.mark.keras
def test_optimizer_state_moves_between_kerax_and_keras_shards(tmp_path, keras_oracle):
    k = keras_oracle
    x, y = _x(n=8), _x(n=8, d=2, seed=1)
    ours, theirs = _mlp(kerax), _mlp(k)
    for model in (ours, theirs):
        model.compile(optimizer="adam", loss="mse")
    ours.fit(x, y, epochs=2, batch_size=4, verbose=0)
    ours.save_weights(tmp_path / "o.weights.json", max_shard_size=TINY)
    with open(tmp_path / "o.weights.json") as f:
        assert len(json.load(f)["weight_map"]["/optimizer/vars"]) > 1  # spans shards
    theirs.optimizer.build(theirs.trainable_variables)
    theirs.load_weights(tmp_path / "o.weights.json")
    _same(theirs.get_weights(), ours.get_weights())
    assert int(theirs.optimizer.iterations) == 4
    theirs.fit(x, y, epochs=1, batch_size=4, verbose=0)
    theirs.save_weights(tmp_path / "t.weights.json", max_shard_size=TINY)
    ours.load_weights(tmp_path / "t.weights.json")
    _same(ours.get_weights(), theirs.get_weights())
    assert int(ours.optimizer.iterations) == 6


@pytest.mark.keras
def test_signatures_match_keras(keras_oracle):
    for ours, theirs in [
        (save_weights, keras_oracle.saving.save_weights),
        (kerax.Model.save_weights, keras_oracle.Model.save_weights),
    ]:
        assert list(inspect.signature(ours).parameters) == list(
            inspect.signature(theirs).parameters
        )
        assert inspect.signature(ours).parameters["max_shard_size"].default is None


def test_round_trip_keeps_weights_and_removes_stale_shards(tmp_path):
    model, other = _mlp(kerax), _mlp(kerax)
    model.save_weights(tmp_path / "m.weights.json", max_shard_size=TINY)
    assert len(os.listdir(tmp_path)) > 3
    other.load_weights(tmp_path / "m.weights.json")
    _same(other.get_weights(), model.get_weights())
    model.save_weights(tmp_path / "m.weights.json", max_shard_size=1)
    assert sorted(os.listdir(tmp_path)) == ["m.weights.json", "m_00000.weights.h5"]
    other.load_weights(tmp_path / "m.weights.json")
    _same(other.get_weights(), model.get_weights())


def test_h5_suffix_becomes_json_with_a_warning(tmp_path):
    with pytest.warns(UserWarning, match=r"m\.weights\.json"):
        save_weights(_mlp(kerax), tmp_path / "m.weights.h5", max_shard_size=TINY)
    assert "m.weights.json" in os.listdir(tmp_path)
    assert not (tmp_path / "m.weights.h5").exists()


def test_skip_mismatch(tmp_path):
    model, changed = _mlp(kerax), _mlp(kerax, units=8)
    model.save_weights(tmp_path / "m.weights.json", max_shard_size=TINY)
    with pytest.raises(ValueError, match=r"layers/dense/vars"):
        changed.load_weights(tmp_path / "m.weights.json")
    with pytest.warns(UserWarning, match="Skipped 2 layer"):
        changed.load_weights(tmp_path / "m.weights.json", skip_mismatch=True)
    _same(changed.layers[-1].get_weights(), model.layers[-1].get_weights())


@pytest.mark.parametrize(
    "size, error, match",
    [
        (0, ValueError, "positive"),
        (-1.0, ValueError, "positive"),
        (float("nan"), ValueError, "positive"),
        ("1", TypeError, "a number"),
        (True, TypeError, "a number"),
        (1e-7, ValueError, r"layers/dense_1/vars/0.*max_shard_size=1e-06 or more"),
    ],
)
def test_bad_max_shard_size(tmp_path, size, error, match):
    with pytest.raises(error, match=match):
        save_weights(_mlp(kerax), tmp_path / "m.weights.json", max_shard_size=size)
    assert os.listdir(tmp_path) == []


def test_suffix_rules(tmp_path):
    model = _mlp(kerax)
    with pytest.raises(ValueError, match=r"'\.weights\.json'.*filepath="):
        save_weights(model, tmp_path / "m.h5", max_shard_size=TINY)
    with pytest.raises(ValueError, match=r"must end in '\.weights\.h5'.*max_shard_size"):
        save_weights(model, tmp_path / "m.weights.json")
    with pytest.raises(TypeError, match="objects_to_skip"):
        save_weights(model, tmp_path / "m.weights.h5", objects_to_skip=[])
    model.save_weights(tmp_path / "m.weights.json", max_shard_size=TINY)
    with pytest.raises(FileExistsError, match="overwrite"):
        model.save_weights(tmp_path / "m.weights.json", overwrite=False, max_shard_size=TINY)


def test_missing_or_foreign_shards_and_bad_index(tmp_path):
    model = _mlp(kerax)
    model.save_weights(tmp_path / "m.weights.json", max_shard_size=TINY)
    index = tmp_path / "m.weights.json"
    os.rename(tmp_path / "m_00001.weights.h5", tmp_path / "elsewhere.h5")
    with pytest.raises(FileNotFoundError, match=r"m_00001\.weights\.h5"):
        model.load_weights(index)
    content = json.loads(index.read_text())
    content["weight_map"]["/layers/dense/vars"] = "../m_00000.weights.h5"
    index.write_text(json.dumps(content))
    with pytest.raises(ValueError, match="plain file names"):
        model.load_weights(index)
    for value in (5, None, [3]):  # not a file name: the same clear error
        content["weight_map"]["/layers/dense/vars"] = value
        index.write_text(json.dumps(content))
        with pytest.raises(ValueError, match="plain file names"):
            model.load_weights(index)
    index.write_text('{"metadata": {}}')
    with pytest.raises(ValueError, match="weight_map"):
        model.load_weights(index)
    index.write_text("not json")
    with pytest.raises(ValueError, match="not JSON"):
        model.load_weights(index)


def test_failed_save_keeps_the_previous_files(tmp_path, monkeypatch):
    model = _mlp(kerax)
    model.save_weights(tmp_path / "m.weights.json", max_shard_size=TINY)
    before = {n: (tmp_path / n).read_bytes() for n in os.listdir(tmp_path)}
    calls = []

    def fail_on_the_fifth_copy(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 5:  # several shards are complete by then
            raise OSError(28, "No space left on device")
        return copy(self, *args, **kwargs)

    copy = h5py.Group.copy
    monkeypatch.setattr(h5py.Group, "copy", fail_on_the_fifth_copy)
    changed = _mlp(kerax)
    with pytest.raises(OSError, match="No space"):
        changed.save_weights(tmp_path / "m.weights.json", max_shard_size=TINY)
    assert {n: (tmp_path / n).read_bytes() for n in os.listdir(tmp_path)} == before
    monkeypatch.undo()
    changed.load_weights(tmp_path / "m.weights.json")
    _same(changed.get_weights(), model.get_weights())


def test_a_failed_staged_write_caught_inside_the_block_leaves_no_temporary_file(tmp_path):
    from kerax.saving._io import staged_writes

    with staged_writes() as stage:
        with stage(str(tmp_path / "a.bin")) as f:
            f.write(b"ok")
        with pytest.raises(RuntimeError), stage(str(tmp_path / "b.bin")) as f:
            f.write(b"half")
            raise RuntimeError("failed while writing b")
    assert sorted(os.listdir(tmp_path)) == ["a.bin"]
