"""kerax's warnings point at the user's line (kerax._warnings), not at kerax's code."""

import warnings

import numpy as np
import pytest

import kerax as keras
from kerax import _warnings


def _caught(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return caught


def test_a_warning_raised_while_jax_traces_a_kerax_loss_points_at_fit():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="softmax")])
    model.compile("adam", "categorical_crossentropy")
    x, y = np.ones((8, 3), np.float32), np.ones((8, 1), np.float32)
    line = None

    def fit():
        nonlocal line
        line = fit.__code__.co_firstlineno + 3
        model.fit(x, y, epochs=1, verbose=0)

    caught = _caught(fit)
    assert caught and all(w.filename == __file__ for w in caught), [
        (w.filename, str(w.message)[:50]) for w in caught
    ]
    assert caught[0].lineno == line


def test_warn_keeps_the_category_and_names_the_direct_caller_outside_kerax():
    caught = _caught(lambda: _warnings.warn("old", DeprecationWarning))
    assert caught[0].category is DeprecationWarning and caught[0].filename == __file__


def test_a_legacy_h5_save_warns_at_the_save_line(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.warns(UserWarning, match="legacy HDF5") as record:
        model.save(tmp_path / "m.h5")
    assert record[0].filename == __file__
