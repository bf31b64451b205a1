"""Generators, iterators and PyDataset inputs: same numbers as arrays, clear errors."""

import numpy as np
import pytest

import kerax as keras
from kerax import layers


def _data(n=20, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)).astype("float32"), rng.normal(size=(n, 2)).astype("float32")


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((3,)), layers.Dense(4, activation="tanh"), layers.Dense(2)]
    )
    model.compile(keras.optimizers.SGD(0.1), "mse", metrics=["mae"])
    return model


def _batches(x, y, bs=8):
    for start in range(0, len(x), bs):
        yield x[start : start + bs], y[start : start + bs]


class Batches(keras.utils.PyDataset):
    def __init__(self, x, y, bs=8, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.bs = x, y, bs
        self.epochs_ended = 0

    def __len__(self):
        return -(-len(self.x) // self.bs)

    def __getitem__(self, i):
        return self.x[i * self.bs : (i + 1) * self.bs], self.y[i * self.bs : (i + 1) * self.bs]

    def on_epoch_end(self):
        self.epochs_ended += 1


def test_generator_fit_equals_array_fit_and_compiles_once(train_step_traces):
    x, y = _data()
    reference = _model()
    want = reference.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    model = _model()
    del train_step_traces[:]
    got = model.fit(_batches(x, y), epochs=1, verbose=0)  # batches of 8, 8 and 4
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got.history["loss"], want.history["loss"], rtol=1e-5)
    assert len(train_step_traces) == 1  # the short batch was padded


@pytest.mark.parametrize("workers", [1, 2])
def test_py_dataset_over_epochs(workers):
    x, y = _data()
    reference = _model()
    reference.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    model = _model()
    ds = Batches(x, y, workers=workers)
    # shuffle=False: Keras shuffles a PyDataset's batch order by default
    history = model.fit(ds, epochs=3, shuffle=False, verbose=0, validation_data=Batches(x, y))
    assert ds.epochs_ended == 3
    assert set(history.history) == {"loss", "mae", "val_loss", "val_mae"}
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_one_shot_iterator_continues_across_epochs_with_steps():
    x, y = _data(n=32)

    def forever():
        while True:
            yield from _batches(x, y)

    class CountBatches(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.per_epoch[-1] += 1

        def on_epoch_begin(self, epoch, logs=None):
            self.per_epoch.append(0)

    counter = CountBatches()
    counter.per_epoch = []
    model = _model()
    history = model.fit(forever(), steps_per_epoch=4, epochs=3, verbose=0, callbacks=[counter])
    assert len(history.history["loss"]) == 3
    assert counter.per_epoch == [4, 4, 4]  # every epoch trains, not only the first


def test_evaluate_and_predict_on_streams_match_arrays():
    x, y = _data()
    model = _model()
    np.testing.assert_allclose(
        model.evaluate(_batches(x, y), verbose=0),
        model.evaluate(x, y, batch_size=8, verbose=0),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        model.predict((b for b, _ in _batches(x, y)), verbose=0),
        model.predict(x, verbose=0),
        rtol=1e-5,
        atol=1e-6,
    )


def test_stream_errors():
    x, y = _data()
    model = _model()
    with pytest.raises(ValueError, match="steps_per_epoch"):
        model.fit(_batches(x, y), epochs=2, verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(Batches(x, y), validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="is empty"):
        model.fit(iter([]), verbose=0)

    def inconsistent():
        yield x[:8], y[:8]
        yield x[:8, :2], y[:8]

    with pytest.raises(ValueError, match="inconsistent structure.*batch 1"):
        model.fit(inconsistent(), verbose=0)


def test_nan_inputs_name_the_first_bad_row():
    x, y = _data()
    x[13, 1] = np.nan
    model = _model()
    with pytest.raises(ValueError, match="NaN or inf.*first bad row is 13"):
        model.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match="Batch 1 .*first bad row is 5"):
        model.fit(_batches(x, y), verbose=0)


def test_py_dataset_with_fewer_steps_continues_where_the_last_epoch_stopped():
    x, y = _data(n=40)

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.read, self.epoch_ends = [], 0

        def __len__(self):
            return 5

        def __getitem__(self, i):
            self.read.append(i)
            return x[i * 8 : (i + 1) * 8], y[i * 8 : (i + 1) * 8]

        def on_epoch_end(self):
            self.epoch_ends += 1

    data = Batches()
    with pytest.warns(UserWarning, match="ran out after 1 batches"):  # Keras 3 warns too
        _model().fit(data, steps_per_epoch=2, epochs=4, shuffle=False, verbose=0)
    # as in Keras 3 (shuffle=False): 0 1 | 2 3 | 4 (the pass ends early) | 0 1
    assert data.read == [0, 1, 2, 3, 4, 0, 1]
    assert data.epoch_ends == 4


def test_class_weight_with_a_py_dataset_equals_arrays_and_generators_are_refused():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(24, 3)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 24)]
    weights = {0: 1.0, 1: 3.0, 2: 0.5}

    def classifier():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((3,)), layers.Dense(3, activation="softmax")])
        model.compile(keras.optimizers.SGD(0.1), "categorical_crossentropy")
        return model

    from_arrays = classifier()
    from_arrays.fit(x, y, batch_size=8, epochs=2, shuffle=False, class_weight=weights, verbose=0)
    from_dataset = classifier()
    from_dataset.fit(Batches(x, y), epochs=2, shuffle=False, class_weight=weights, verbose=0)
    for a, b in zip(from_arrays.get_weights(), from_dataset.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="class_weight is not supported with a Python generator"):
        classifier().fit(_batches(x, y), class_weight=weights, verbose=0)


class Logged(keras.utils.PyDataset):
    """Three batches of 4 rows; records its hooks and reads as ``tag + event``."""

    def __init__(self, x, y, tag, log, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.tag, self.log = x, y, tag, log

    def __len__(self):
        return 3

    def __getitem__(self, i):
        self.log.append(f"{self.tag}{i}")
        return self.x[i * 4 : (i + 1) * 4], self.y[i * 4 : (i + 1) * 4]

    def on_epoch_begin(self):
        self.log.append(f"{self.tag}begin")

    def on_epoch_end(self):
        self.log.append(f"{self.tag}end")


def _events(log, tag):
    return [event[1:] for event in log if event[0] == tag]


@pytest.mark.parametrize("workers", [1, 2])
def test_py_dataset_on_epoch_begin_comes_before_each_epoch_s_batches(workers):
    # Keras 3 calls on_epoch_begin, then reads the epoch's batches, then on_epoch_end,
    # for fit's training and validation data, evaluate and predict alike.
    x, y = _data(n=12)
    log, model = [], _model()
    train = Logged(x, y, "T", log, workers=workers)
    model.fit(train, validation_data=Logged(x, y, "V", log), epochs=2, shuffle=False, verbose=0)
    model.evaluate(Logged(x, y, "E", log), verbose=0)
    model.predict(Logged(x, y, "P", log), verbose=0)
    one_epoch = ["begin", "0", "1", "2", "end"]
    assert _events(log, "T") == _events(log, "V") == one_epoch * 2
    assert _events(log, "E") == _events(log, "P") == one_epoch


class Counted(keras.utils.PyDataset):
    """Defines ``num_batches`` (None: endless) instead of ``__len__``, as Keras 3 allows."""

    def __init__(self, x, y, batches):
        super().__init__()
        self.x, self.y, self.batches, self.read = x, y, batches, []

    @property
    def num_batches(self):
        return self.batches

    def __getitem__(self, i):
        self.read.append(i)
        i %= 5
        return self.x[i * 4 : (i + 1) * 4], self.y[i * 4 : (i + 1) * 4]


def test_py_dataset_may_define_num_batches_instead_of_len():
    x, y = _data()
    with_len, with_num_batches = _model(), _model()
    with_len.fit(Batches(x, y, bs=4), epochs=2, shuffle=False, verbose=0)
    data = Counted(x, y, 5)
    history = with_num_batches.fit(data, epochs=2, shuffle=False, verbose=0)
    assert history.params["steps"] == 5 and len(data) == 5
    for a, b in zip(with_len.get_weights(), with_num_batches.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_an_endless_py_dataset_runs_steps_per_epoch_batches_like_keras():
    x, y = _data()
    data, model = Counted(x, y, None), _model()
    history = model.fit(data, epochs=2, steps_per_epoch=3, verbose=0, class_weight={0: 1.0})
    assert history.params["steps"] == 3
    assert data.read == [0, 1, 2, 3, 4, 5]  # as in Keras 3: indices go on, unshuffled
    data.read = []
    model.evaluate(data, steps=2, verbose=0)
    assert data.read == [0, 1]
    with pytest.raises(TypeError, match="endless"):
        len(data)
    # the error fit already gives for an endless generator
    with pytest.raises(ValueError, match="steps_per_epoch"):
        model.fit(data, epochs=2, verbose=0)
    with pytest.raises(NotImplementedError, match="__len__\\(\\) or the num_batches"):
        len(keras.utils.PyDataset())
