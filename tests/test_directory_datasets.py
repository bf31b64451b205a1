"""image_dataset_from_directory / text_dataset_from_directory: Keras 3's indexing,
labels, split and errors, on small trees written with Pillow, and fit on the result."""

import os

import numpy as np
import pytest

import kerax as keras
from kerax.utils import PyDataset

Image = pytest.importorskip("PIL.Image")

SIZES = [(12, 9), (7, 15), (10, 10), (20, 6), (9, 13)]  # (height, width)


def _image(path, h, w, mode="RGB", value=None):
    rng = np.random.default_rng(abs(hash(path)) % 2**32)
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    pixels = rng.integers(0, 256, (h, w, channels), dtype=np.uint8)
    if value is not None:
        pixels[:] = value
    Image.fromarray(pixels[..., 0] if channels == 1 else pixels, mode).save(path)


@pytest.fixture
def image_dir(tmp_path):
    """cats: 5 PNG; dogs: 4 JPEG + 1 nested PNG; plus files that must be ignored."""
    root = tmp_path / "images"
    for cls, ext in (("cats", "png"), ("dogs", "jpg")):
        (root / cls).mkdir(parents=True)
        for i, (h, w) in enumerate(SIZES[: 5 if cls == "cats" else 4]):
            _image(str(root / cls / f"{i}.{ext}"), h, w)
    (root / "dogs" / "nested").mkdir()
    _image(str(root / "dogs" / "nested" / "x.PNG"), 8, 8, mode="RGBA")
    (root / "dogs" / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    _image(str(root / ".hidden" / "h.png"), 4, 4)
    _image(str(root / "top_level.png"), 4, 4)  # ignored with labels="inferred"
    return root


@pytest.fixture
def text_dir(tmp_path):
    root = tmp_path / "texts"
    words = {
        "neg": ["bad awful", "terrible plot", "boring", "worst ever"],
        "pos": ["great fun", "loved it", "wonderful film", "best ever", "so good"],
    }
    for cls, texts in words.items():
        (root / cls).mkdir(parents=True)
        for i, text in enumerate(texts):
            (root / cls / f"{i}.txt").write_text(text, encoding="utf-8")
        (root / cls / "skip.md").write_text("ignored")
    return root


def _all(ds):
    xs, ys = zip(*list(ds))
    return np.concatenate(xs), np.concatenate(ys)


def test_counts_message_classes_and_shapes(image_dir, capsys):
    ds = keras.utils.image_dataset_from_directory(
        image_dir, batch_size=4, image_size=(6, 5), shuffle=False
    )
    assert "Found 10 files belonging to 2 classes." in capsys.readouterr().out
    assert isinstance(ds, PyDataset) and len(ds) == 3
    assert ds.class_names == ["cats", "dogs"]
    rel = [os.path.relpath(p, image_dir) for p in ds.file_paths]
    assert rel[:5] == [f"cats/{i}.png" for i in range(5)]
    assert rel[5:] == ["dogs/0.jpg", "dogs/1.jpg", "dogs/2.jpg", "dogs/3.jpg", "dogs/nested/x.PNG"]
    x, y = ds[0]
    assert x.shape == (4, 6, 5, 3) and x.dtype == np.float32 and y.dtype == np.int32
    x, y = _all(ds)
    assert x.shape == (10, 6, 5, 3) and y.tolist() == [0] * 5 + [1] * 5
    assert 0 <= x.min() and x.max() <= 255
    assert keras.preprocessing.image_dataset_from_directory is (
        keras.utils.image_dataset_from_directory
    )
    keras.utils.image_dataset_from_directory(image_dir, image_size=4, verbose=False)
    assert capsys.readouterr().out == ""


def test_class_names_label_modes_and_explicit_labels(image_dir, capsys):
    kw = dict(image_size=(4, 4), shuffle=False, verbose=False)
    ds = keras.utils.image_dataset_from_directory(image_dir, class_names=["dogs", "cats"], **kw)
    assert ds.class_names == ["dogs", "cats"]
    assert _all(ds)[1].tolist() == [0] * 5 + [1] * 5  # dogs first now
    only = keras.utils.image_dataset_from_directory(image_dir, class_names=["dogs"], **kw)
    assert len(only.file_paths) == 5
    x, y = _all(keras.utils.image_dataset_from_directory(image_dir, label_mode="categorical", **kw))
    assert y.dtype == np.float32 and y.shape == (10, 2) and y[:, 1].tolist() == [0] * 5 + [1] * 5
    x, y = _all(keras.utils.image_dataset_from_directory(image_dir, label_mode="binary", **kw))
    assert y.dtype == np.float32 and y.shape == (10, 1)
    for ds in (
        keras.utils.image_dataset_from_directory(image_dir, label_mode=None, **kw),
        keras.utils.image_dataset_from_directory(image_dir / "cats", labels=None, **kw),
    ):
        batch = ds[0]
        assert isinstance(batch, np.ndarray) and batch.ndim == 4
        assert ds.class_names is None
    labels = [3, 1, 1, 3, 3]
    ds = keras.utils.image_dataset_from_directory(image_dir / "cats", labels=labels, **kw)
    assert ds.class_names == ["1", "3"] and _all(ds)[1].tolist() == labels


def test_color_modes_resize_crop_pad_and_data_format(tmp_path):
    root = tmp_path / "c" / "only"
    root.mkdir(parents=True)
    _image(str(root / "wide.png"), 4, 8, value=200)  # h=4, w=8
    kw = dict(shuffle=False, verbose=False, label_mode=None, batch_size=None)
    for mode, channels in (("grayscale", 1), ("rgb", 3), ("rgba", 4)):
        ds = keras.utils.image_dataset_from_directory(
            tmp_path / "c", color_mode=mode, image_size=(5, 7), **kw
        )
        assert ds[0].shape == (5, 7, channels)
    rgba = keras.utils.image_dataset_from_directory(
        tmp_path / "c", color_mode="rgba", image_size=(4, 8), **kw
    )[0]
    assert np.all(rgba[..., 3] == 255)
    pad = keras.utils.image_dataset_from_directory(
        tmp_path / "c", image_size=(8, 8), pad_to_aspect_ratio=True, interpolation="nearest", **kw
    )[0]
    assert np.all(pad[:2] == 0) and np.all(pad[6:] == 0) and np.all(pad[2:6] == 200)
    crop = keras.utils.image_dataset_from_directory(
        tmp_path / "c", image_size=(8, 8), crop_to_aspect_ratio=True, **kw
    )[0]
    assert crop.shape == (8, 8, 3) and np.allclose(crop, 200)
    first = keras.utils.image_dataset_from_directory(
        tmp_path / "c", image_size=(5, 7), data_format="channels_first", **kw
    )[0]
    assert first.shape == (3, 5, 7)


@pytest.mark.parametrize("split", [0.2, 0.35])
def test_validation_split_follows_keras_rule(image_dir, split):
    kw = dict(image_size=(4, 4), validation_split=split, seed=7, verbose=False)
    train, val = keras.utils.image_dataset_from_directory(image_dir, subset="both", **kw)
    # Keras: files in sorted order, RandomState(seed).shuffle, the last int(split * n) validate.
    ordered = keras.utils.image_dataset_from_directory(
        image_dir, image_size=4, shuffle=False, verbose=False
    ).file_paths
    np.random.RandomState(7).shuffle(ordered)
    num_val = int(split * len(ordered))
    assert val.file_paths == ordered[-num_val:] and train.file_paths == ordered[:-num_val]
    assert not set(train.file_paths) & set(val.file_paths)
    again = keras.utils.image_dataset_from_directory(image_dir, subset="training", **kw)
    assert again.file_paths == train.file_paths
    val_only = keras.utils.image_dataset_from_directory(image_dir, subset="validation", **kw)
    assert val_only.file_paths == val.file_paths
    # labels still follow their files
    _, y = _all(val)
    assert y.tolist() == [int(os.sep + "dogs" + os.sep in p) for p in val.file_paths]


def test_reshuffles_each_epoch_deterministically(image_dir):
    def orders(seed):
        ds = keras.utils.image_dataset_from_directory(
            image_dir, image_size=4, batch_size=12, seed=seed, label_mode=None, verbose=False
        )
        assert len(ds.file_paths) == 12  # labels=None indexes the whole tree, as Keras
        return [next(iter(ds)).sum(axis=(1, 2, 3)).tolist() for _ in range(3)]

    a, b = orders(3), orders(3)
    assert a == b  # same seed, same epochs
    assert a[0] != a[1] or a[1] != a[2]  # a new order each pass
    assert sorted(a[0]) == sorted(a[1])  # the same files
    keras.utils.set_random_seed(5)
    c = orders(None)
    keras.utils.set_random_seed(5)
    assert orders(None) == c


def test_map_take_unbatch_batch_len(image_dir):
    ds = keras.utils.image_dataset_from_directory(
        image_dir, image_size=(4, 4), batch_size=3, shuffle=False, verbose=False
    )
    calls = []
    mapped = ds.map(lambda x, y: (calls.append(1) or x / 255.0, y))
    assert calls == []  # lazy
    x, _ = mapped[0]
    assert x.max() <= 1.0 and len(calls) == 1
    assert mapped.prefetch(2) is mapped and mapped.cache() is mapped
    assert len(ds) == 4 and len(ds.take(2)) == 2 and len(ds.take(-1)) == 4
    assert len(list(ds.take(2))) == 2
    samples = ds.unbatch()
    assert len(samples) == 10 and samples[4][0].shape == (4, 4, 3)
    assert [int(y) for _, y in samples] == [0] * 5 + [1] * 5
    rebatched = samples.batch(4)
    assert len(rebatched) == 3 and rebatched[2][0].shape == (2, 4, 4, 3)
    assert len(samples.batch(4, drop_remainder=True)) == 2
    assert len(mapped.unbatch()) == 10 and mapped.unbatch()[9][0].max() <= 1.0
    with pytest.raises(ValueError, match="already batched"):
        ds.batch(2)
    single = keras.utils.image_dataset_from_directory(
        image_dir, image_size=4, batch_size=None, shuffle=False, verbose=False
    )
    assert len(single) == 10 and single[0][0].shape == (4, 4, 3) and single[0][1].shape == ()


def test_errors(image_dir, tmp_path):
    f = keras.utils.image_dataset_from_directory
    empty = tmp_path / "empty"
    (empty / "a").mkdir(parents=True)
    cases = [
        (dict(directory=empty), "No images found"),
        (dict(directory=image_dir, labels=[0, 1]), "lengths of `labels`"),
        (dict(directory=image_dir, labels="dirs"), "`labels`"),
        (dict(directory=image_dir, labels=[0] * 10, class_names=["a"]), "class_names"),
        (dict(directory=image_dir, class_names=["cats", "birds"]), "did not match"),
        (dict(directory=image_dir, label_mode="sparse"), "label_mode"),
        (dict(directory=image_dir, color_mode="cmyk"), "color_mode"),
        (dict(directory=image_dir, image_size=(1, 2, 3)), "image_size"),
        (dict(directory=image_dir, interpolation="cubic"), "interpolation"),
        (dict(directory=image_dir, validation_split=0.2), "validation_split` must be set"),
        (dict(directory=image_dir, subset="training"), "validation_split` must be set"),
        (dict(directory=image_dir, validation_split=1.5, subset="both", seed=1), "between 0"),
        (dict(directory=image_dir, validation_split=0.2, subset="train", seed=1), "`subset`"),
        (dict(directory=image_dir, validation_split=0.2, subset="both"), "seed"),
        (dict(directory=image_dir, validation_split=0.01, subset="both", seed=1), "No training"),
        (dict(directory=image_dir, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True), "Only"),
        (
            dict(directory=image_dir / "cats", labels=[0, 1, 2, 0, 1], label_mode="binary"),
            "exactly 2",
        ),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            f(verbose=False, **kwargs)


def test_text_dataset(text_dir, tmp_path, capsys):
    ds = keras.utils.text_dataset_from_directory(text_dir, batch_size=4, shuffle=False)
    assert "Found 9 files belonging to 2 classes." in capsys.readouterr().out
    assert ds.class_names == ["neg", "pos"] and len(ds) == 3
    x, y = ds[0]
    assert x.dtype == object and x.tolist() == [
        "bad awful",
        "terrible plot",
        "boring",
        "worst ever",
    ]
    assert y.tolist() == [0, 0, 0, 0]
    cut = keras.preprocessing.text_dataset_from_directory(
        text_dir, max_length=3, label_mode="categorical", shuffle=False, verbose=False
    )
    x, y = cut[0]
    assert x[0] == "bad" and y.shape == (9, 2)
    with pytest.raises(ValueError, match="No text files"):
        (tmp_path / "none").mkdir()
        keras.utils.text_dataset_from_directory(tmp_path / "none", labels=None, verbose=False)


def test_fit_image_dataset(image_dir):
    keras.utils.set_random_seed(0)
    train, val = keras.utils.image_dataset_from_directory(
        image_dir, image_size=(8, 8), batch_size=4, validation_split=0.3, subset="both",
        seed=1, label_mode="categorical", verbose=False,
    )  # fmt: skip
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Rescaling(1 / 255.0),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(train.cache().prefetch(2), validation_data=val, epochs=2, verbose=0)
    assert np.isfinite(history.history["val_loss"]).all()
    assert model.predict(val, verbose=0).shape == (3, 2)
    assert len(model.evaluate(val, verbose=0)) == 2


def test_fit_text_dataset(text_dir):
    keras.utils.set_random_seed(0)
    train, val = keras.utils.text_dataset_from_directory(
        text_dir,
        batch_size=2,
        validation_split=0.3,
        subset="both",
        seed=2,
        verbose=False,
        label_mode="binary",
    )
    vectorize = keras.layers.TextVectorization(max_tokens=30, output_sequence_length=4)
    vectorize.adapt(train.map(lambda x, y: x))
    to_ids = lambda x, y: (np.asarray(vectorize(x)), y)  # noqa: E731
    model = keras.Sequential(
        [
            keras.Input((4,), dtype="int32"),
            keras.layers.Embedding(30, 4),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile("adam", "binary_crossentropy")
    history = model.fit(train.map(to_ids), validation_data=val.map(to_ids), epochs=1, verbose=0)
    assert np.isfinite(history.history["val_loss"]).all()


def test_fit_reshuffles_each_epoch_and_pickles(image_dir):
    import pickle

    ds = keras.utils.image_dataset_from_directory(
        image_dir, image_size=(8, 8), batch_size=4, seed=3, verbose=False
    )
    model = keras.Sequential(
        [keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(ds.map(lambda x, y: (x / 255.0, y)), epochs=2, verbose=0)
    assert ds.epoch == 2  # fit's on_epoch_end reached the dataset through the view
    clone = pickle.loads(pickle.dumps(ds.unbatch()))
    assert np.array_equal(clone[5][0], ds.unbatch()[5][0])


@pytest.mark.parametrize("shuffle", [True, False])
def test_fit_leaves_a_datasets_order_to_the_dataset(image_dir, shuffle):
    """Keras's fit ignores ``shuffle`` for a dataset: with the dataset's own
    ``shuffle=False`` the batches come in file order, epoch after epoch."""
    ds = keras.utils.image_dataset_from_directory(
        image_dir, image_size=(4, 4), batch_size=2, shuffle=False, verbose=False
    )
    x, y = _all(ds)

    def trained(*data, **kwargs):
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [keras.Input((4, 4, 3)), keras.layers.Flatten(), keras.layers.Dense(2)]
        )
        model.compile(
            keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        )
        model.fit(*data, epochs=2, verbose=0, **kwargs)
        return model.get_weights()

    in_order = trained(x / 255.0, y, batch_size=2, shuffle=False)
    from_dataset = trained(ds.map(lambda a, b: (a / 255.0, b)), shuffle=shuffle)
    for a, b in zip(in_order, from_dataset):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
