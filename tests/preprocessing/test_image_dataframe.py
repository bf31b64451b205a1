"""ImageDataGenerator.flow_from_dataframe: labels, filtering, weights and subsets against
Keras's legacy DataFrameIterator; pandas stays optional; clear errors."""

import doctest
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import kerax
from kerax.preprocessing.image import DataFrameIterator, ImageDataGenerator

NAMES = [f"img{i}.{'png' if i % 2 else 'jpg'}" for i in range(8)]
MISSING = ["missing.png", "notes.txt"]


@pytest.fixture
def pd():
    pytest.importorskip("PIL")
    return pytest.importorskip("pandas")


@pytest.fixture
def root(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in NAMES:
        pixels = (rng.random((7, 5, 3)) * 255).astype("uint8")
        Image.fromarray(pixels).save(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


@pytest.fixture
def frame(pd):
    return pd.DataFrame(
        {
            "filename": NAMES + MISSING,
            "class": list("abcabcab") + ["a", "b"],
            "tags": [["a", "b"], ["b"], ["c"], [], ("a",), ["c", "a"], ["b"], "c", ["a"], ["b"]],
            "score": np.arange(10.0),
            "count": np.arange(10) * 2,
            "w": np.linspace(0.1, 1.0, 10),
        }
    )


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the invalid-filename warning; scipy, under Keras
        return fn(*args, **kwargs)


def _flatten(batch):
    parts = batch if isinstance(batch, tuple) else (batch,)
    return [a for p in parts for a in (p if isinstance(p, list) else [p])]


@pytest.mark.keras
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(class_mode="categorical"),
        dict(class_mode="categorical", y_col="tags"),
        dict(class_mode="categorical", y_col="tags", classes=["c", "a"]),
        dict(class_mode="binary", classes=["b", "a"]),
        dict(class_mode="sparse", weight_col="w", subset="training"),
        dict(class_mode="input", subset="validation"),
        dict(class_mode="raw", y_col="score"),
        dict(class_mode="raw", y_col=["score", "count"], weight_col="w"),
        dict(class_mode="multi_output", y_col=["score", "class"]),
        dict(class_mode=None, color_mode="grayscale"),
    ],
)  # fmt: skip
def test_batches_equal_keras(keras_oracle, root, frame, kwargs):
    from keras.src.legacy.preprocessing import image as legacy

    config = dict(rotation_range=20, horizontal_flip=True, rescale=1 / 255, validation_split=0.3)
    for shuffle, seed in [(False, 0), (True, 3)]:
        args = dict(directory=str(root), target_size=(6, 4), batch_size=3, shuffle=shuffle)
        args.update(kwargs, seed=seed)
        ours = _quiet(ImageDataGenerator(**config).flow_from_dataframe, frame, **args)
        theirs = _quiet(legacy.ImageDataGenerator(**config).flow_from_dataframe, frame, **args)
        assert ours.filenames == theirs.filenames and len(ours) == len(theirs)
        assert getattr(ours, "class_indices", None) == getattr(theirs, "class_indices", None)
        if kwargs["class_mode"] in ("binary", "sparse", "categorical"):
            assert ours.classes == theirs.classes
        for i in range(len(ours)):
            got, want = _flatten(ours[i]), _flatten(_quiet(theirs.__getitem__, i))
            assert len(got) == len(want)
            for a, b in zip(got, want):
                assert a.dtype == b.dtype and a.shape == b.shape
                if a.dtype.kind in "USO":  # class names, passed through by "multi_output"
                    np.testing.assert_array_equal(a, b)
                else:
                    np.testing.assert_allclose(a, b, atol=1e-4)


def test_labels_and_order(root, frame, capsys):
    it = _quiet(
        ImageDataGenerator().flow_from_dataframe,
        frame,
        str(root),
        y_col="tags",
        classes=["c", "a"],
        target_size=(6, 4),
        batch_size=8,
        shuffle=False,
    )
    assert "Found 5 validated image filenames belonging to 2 classes." in capsys.readouterr().out
    assert it.class_indices == {"c": 0, "a": 1}  # the given order, not sorted
    x, y = it[0]
    assert x.shape == (len(it.filenames), 6, 4, 3) and x.dtype == np.float32
    assert it.filenames == ["img0.jpg", "img2.jpg", "img4.jpg", "img5.png", "img7.png"]
    np.testing.assert_array_equal(y, [[0, 1], [1, 0], [0, 1], [1, 1], [1, 0]])


def test_missing_files_are_dropped_with_a_warning(root, frame, capsys):
    with pytest.warns(
        UserWarning, match=r'Found 2 invalid image filename\(s\) in x_col="filename"'
    ):
        it = ImageDataGenerator().flow_from_dataframe(frame, str(root), target_size=(4, 4))
    assert it.filenames == NAMES and it.classes == [0, 1, 2, 0, 1, 2, 0, 1]
    assert "Found 8 validated image filenames belonging to 3 classes." in capsys.readouterr().out
    kept = ImageDataGenerator().flow_from_dataframe(
        frame, str(root), class_mode=None, validate_filenames=False
    )
    assert kept.filenames == NAMES + MISSING
    assert "Found 10 non-validated image filenames." in capsys.readouterr().out


def test_full_paths_without_directory(root, frame):
    frame = frame.iloc[:8].assign(filename=[str(root / n) for n in NAMES])
    it = ImageDataGenerator().flow_from_dataframe(
        frame, class_mode="sparse", target_size=(4, 4), batch_size=8, shuffle=False
    )
    assert it.filepaths == [str(root / n) for n in NAMES]
    np.testing.assert_array_equal(it[0][1], [0, 1, 2, 0, 1, 2, 0, 1])


def test_weight_col_and_subsets(root, frame):
    frame = frame.iloc[:8]
    gen = ImageDataGenerator(validation_split=0.25)
    args = dict(directory=str(root), target_size=(4, 4), weight_col="w", shuffle=False)
    val = gen.flow_from_dataframe(frame, subset="validation", **args)
    train = gen.flow_from_dataframe(frame, subset="training", **args)
    assert val.filenames == NAMES[:2] and train.filenames == NAMES[2:]
    x, y, w = train[0]
    assert x.shape[0] == y.shape[0] == 6
    np.testing.assert_allclose(w, frame["w"].to_numpy()[2:])
    np.testing.assert_allclose(val.sample_weight, frame["w"].to_numpy()[:2])
    with pytest.raises(ValueError, match="validation_split"):
        ImageDataGenerator().flow_from_dataframe(frame, str(root), subset="training")


def test_fit_on_a_dataframe_flow(root, frame):
    kerax.utils.set_random_seed(0)
    model = kerax.Sequential(
        [
            kerax.Input((6, 6, 3)),
            kerax.layers.Flatten(),
            kerax.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile("adam", "categorical_crossentropy")
    datagen = ImageDataGenerator(rotation_range=10, rescale=1 / 255)
    flow = datagen.flow_from_dataframe(
        frame.iloc[:8], str(root), weight_col="w", target_size=(6, 6), batch_size=4, seed=0
    )
    history = model.fit(flow, steps_per_epoch=2, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert np.all(np.isfinite(history.history["loss"]))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(class_mode="onehot"), ValueError, "class_mode must be one of"),
        (dict(y_col="label"), KeyError, "y_col='label' is not a column"),
        (dict(x_col="path"), KeyError, "x_col='path' is not a column"),
        (dict(class_mode="raw", y_col=["score", "nope"]), KeyError, "y_col='nope'"),
        (dict(weight_col="weights"), KeyError, "weight_col='weights'"),
        (dict(y_col="score"), TypeError, "must be strings, or lists/tuples"),
        (dict(y_col="tags", class_mode="sparse"), TypeError, "must be strings"),
        (dict(class_mode="binary"), ValueError, "exactly 2 classes; 3 are in"),
        (dict(class_mode="multi_output", y_col="score"), TypeError, "list of column names"),
        (dict(weight_col="class"), TypeError, "must be a numeric column"),
        (dict(y_col=["class", "tags"]), TypeError, "one column name"),
        (dict(color_mode="cmyk"), ValueError, "color_mode must be one of"),
    ],
)  # fmt: skip
def test_errors(root, frame, kwargs, error, match):
    with pytest.raises(error, match=match):
        ImageDataGenerator().flow_from_dataframe(frame, str(root), **kwargs)


def test_other_errors_and_warnings(root, frame):
    with pytest.raises(TypeError, match="pandas DataFrame"):
        ImageDataGenerator().flow_from_dataframe({"filename": NAMES}, str(root))
    with pytest.raises(TypeError, match="must be a file name"):
        ImageDataGenerator().flow_from_dataframe(frame.assign(filename=range(10)), str(root))
    with pytest.warns(UserWarning, match="`classes` will be ignored"):
        _ = DataFrameIterator(frame.iloc[:8], str(root), class_mode=None, classes=["a"])
    with pytest.warns(DeprecationWarning, match='use class_mode="raw"'):
        it = ImageDataGenerator().flow_from_dataframe(
            frame.iloc[:8], str(root), y_col="score", class_mode="other", shuffle=False
        )
    assert it.class_mode == "raw" and it.labels.tolist() == list(range(8))


def test_needs_pandas_only_when_called(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # makes `import pandas` fail
    pytest.importorskip("PIL")
    with pytest.raises(ImportError, match="pip install pandas"):
        ImageDataGenerator().flow_from_dataframe(object())


def test_importing_kerax_does_not_import_pandas():
    code = (
        "import sys, kerax\n"
        "from kerax.preprocessing.image import ImageDataGenerator, DataFrameIterator\n"
        "ImageDataGenerator().flow(__import__('numpy').zeros((2, 4, 4, 1)))\n"
        "assert 'pandas' not in sys.modules, 'pandas was imported'\n"
    )
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_docstring_examples(pd):
    from kerax.preprocessing.image import _dataframe, _directory, _generator

    for module in (_dataframe, _directory, _generator):
        assert doctest.testmod(module).failed == 0
