"""ImageDataGenerator.flow and flow_from_directory: batching, shuffling, seeding, subsets,
against Keras's legacy iterators; clear errors."""

import os
import warnings

import numpy as np
import pytest

import kerax
from kerax.preprocessing.image import ImageDataGenerator, NumpyArrayIterator

AUGMENT = dict(
    rotation_range=30,
    width_shift_range=0.1,
    height_shift_range=2,
    shear_range=10,
    zoom_range=(0.8, 1.2),
    channel_shift_range=20.0,
    horizontal_flip=True,
    vertical_flip=True,
    rescale=1 / 255,
    samplewise_center=True,
)


@pytest.fixture
def legacy(keras_oracle):
    from keras.src.legacy.preprocessing import image as legacy_image

    return legacy_image


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # scipy, under Keras
        return fn(*args, **kwargs)


def _images(n=10, shape=(9, 11, 3), seed=0):
    return (np.random.default_rng(seed).random((n, *shape)) * 255).astype("float32")


def _assert_batches_equal(got, want):
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)


@pytest.mark.keras
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_seeded_flow_equals_keras_batch_for_batch(legacy, data_format):
    x = _images()
    x = x if data_format == "channels_last" else x.transpose(0, 3, 1, 2)
    y, weights = np.arange(10) % 3, np.linspace(0.1, 1, 10)
    config = dict(AUGMENT, data_format=data_format, fill_mode="reflect")
    args = dict(batch_size=4, seed=3, sample_weight=weights)
    ours = ImageDataGenerator(**config).flow(x, y, **args)
    theirs = legacy.ImageDataGenerator(**config).flow(x, y, **args)
    assert len(ours) == len(theirs) == 3
    for _ in range(2):  # two epochs: fit reads by index, then calls on_epoch_end
        for i in range(len(ours)):
            _assert_batches_equal(ours[i], _quiet(theirs.__getitem__, i))
        ours.on_epoch_end()
        theirs.on_epoch_end()
    for _ in range(4):  # next(): the endless loop, reshuffled at each wrap
        _assert_batches_equal(next(ours), _quiet(next, theirs))


def test_batching_order_and_reshuffling():
    x, y = _images(10, shape=(4, 4, 1)), np.arange(10)
    it = ImageDataGenerator().flow(x, y, batch_size=4, shuffle=False)
    assert isinstance(it, kerax.utils.PyDataset) and len(it) == 3
    assert [b[1].tolist() for b in (it[0], it[1], it[2])] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    np.testing.assert_array_equal(it[2][0], x[8:])  # no transform: the images themselves
    shuffled = ImageDataGenerator().flow(x, y, batch_size=4, seed=0)
    orders = []
    for _ in range(3):
        order = np.concatenate([shuffled[i][1] for i in range(len(shuffled))])
        assert sorted(order) == list(range(10))  # every image once per epoch
        orders.append(order.tolist())
        shuffled.on_epoch_end()
    assert orders[0] != orders[1] != orders[2]
    again = ImageDataGenerator().flow(x, y, batch_size=4, seed=0)
    assert np.concatenate([again[i][1] for i in range(3)]).tolist() == orders[0]
    assert [len(next(it)[1]) for _ in range(4)] == [4, 4, 2, 4]  # next() wraps around


def test_yields_x_or_x_y_or_x_y_weights_and_extra_inputs():
    x, y, w = _images(5, shape=(4, 4, 3)), np.arange(5), np.arange(5.0)
    gen = ImageDataGenerator()
    assert gen.flow(x, batch_size=2, shuffle=False)[0].shape == (2, 4, 4, 3)
    xb, yb, wb = gen.flow(x, y, batch_size=2, shuffle=False, sample_weight=w)[1]
    assert xb.shape == (2, 4, 4, 3) and yb.tolist() == [2, 3] and wb.tolist() == [2.0, 3.0]
    extra = np.arange(10).reshape(5, 2)
    (images, other), yb = gen.flow((x, extra), y, batch_size=2, shuffle=False)[2]
    assert images.shape == (1, 4, 4, 3) and other.tolist() == [[8, 9]] and yb.tolist() == [4]
    batch = gen.flow((x, [extra, extra * 2]), batch_size=5, shuffle=False)[0]
    assert len(batch) == 3 and batch[2].tolist() == (extra * 2).tolist()
    assert gen.flow(x.astype("uint8"), batch_size=5)[0].dtype == np.float32


def test_subsets_split_like_keras():
    x, y = _images(10, shape=(4, 4, 1)), np.array([0, 1] * 5)
    gen = ImageDataGenerator(validation_split=0.3)
    val = gen.flow(x, y, batch_size=10, shuffle=False, subset="validation")
    train = gen.flow(x, y, batch_size=10, shuffle=False, subset="training")
    np.testing.assert_array_equal(val[0][0], x[:3])  # the first rows are validation
    np.testing.assert_array_equal(train[0][0], x[3:])
    with pytest.raises(ValueError, match="different classes after the split at row 3"):
        gen.flow(x, np.array([0] * 3 + [1] * 7), subset="training")
    gen.flow(x, np.array([0] * 3 + [1] * 7), subset="training", ignore_class_split=True)


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda g, x, y: g.flow(x[0], y), ValueError, r"rank-4 array .*x.shape=\(4, 4, 1\)"),
        (lambda g, x, y: g.flow(x, y[:3]), ValueError, "x has 5 images, y has 3"),
        (lambda g, x, y: g.flow(x, y, sample_weight=y[:2]), ValueError, "sample_weight has 2"),
        (lambda g, x, y: g.flow((x, y[:2]), y), ValueError, r"x\[1\] has 2"),
        (lambda g, x, y: g.flow((x, y, y), y), ValueError, "pair"),
        (lambda g, x, y: g.flow(x, sample_weight=y), ValueError, "without y"),
        (lambda g, x, y: g.flow(x, y, subset="validation"), ValueError, "validation_split=0.2"),
        (lambda g, x, y: g.flow(x, y, subset="test"), ValueError, "subset must be"),
        (lambda g, x, y: g.flow(x, y, batch_size=0), ValueError, "batch_size must be at least"),
        (lambda g, x, y: g.flow(x, y, batch_size=2.5), TypeError, "batch_size must be an int"),
        (lambda g, x, y: g.flow(x, y)[1], IndexError, "has 1 batches"),
        (lambda g, x, y: ImageDataGenerator(validation_split=0.1).flow(x, subset="validation"),
         ValueError, "no images"),
    ],
)  # fmt: skip
def test_flow_errors(make, error, match):
    x, y = _images(5, shape=(4, 4, 1)), np.arange(5)
    with pytest.raises(error, match=match):
        make(ImageDataGenerator(), x, y)


def test_save_to_dir_writes_images(tmp_path):
    pytest.importorskip("PIL")
    x = _images(3, shape=(6, 6, 3))
    it = ImageDataGenerator(rotation_range=10).flow(
        x, batch_size=3, save_to_dir=str(tmp_path), save_prefix="aug", save_format="png"
    )
    it[0]
    names = sorted(os.listdir(tmp_path))
    assert len(names) == 3 and all(n.startswith("aug_") and n.endswith(".png") for n in names)


def _image_tree(root, per_class=4):
    from kerax.preprocessing.image import save_img

    rng = np.random.default_rng(0)
    for label in ("cat", "dog"):
        os.makedirs(root / label)
        for i in range(per_class):
            save_img(root / label / f"{i}.png", rng.random((7, 5, 3)))
    (root / "dog" / "notes.txt").write_text("not an image")


@pytest.mark.keras
def test_flow_from_directory_equals_keras(legacy, tmp_path, capsys):
    pytest.importorskip("PIL")
    _image_tree(tmp_path)
    config = dict(rotation_range=20, horizontal_flip=True, validation_split=0.25)
    for subset, class_mode in [(None, "categorical"), ("training", "binary"), ("validation", None)]:
        args = dict(target_size=(6, 6), class_mode=class_mode, batch_size=3, seed=1, subset=subset)
        ours = ImageDataGenerator(**config).flow_from_directory(str(tmp_path), **args)
        theirs = legacy.ImageDataGenerator(**config).flow_from_directory(str(tmp_path), **args)
        assert ours.filenames == theirs.filenames and ours.class_indices == theirs.class_indices
        assert len(ours) == len(theirs)
        for i in range(len(ours)):
            got, want = ours[i], _quiet(theirs.__getitem__, i)
            if class_mode is None:
                got, want = [got], [want]
            _assert_batches_equal(got, want)
    assert "Found 8 images belonging to 2 classes." in capsys.readouterr().out


def test_flow_from_directory_errors(tmp_path):
    pytest.importorskip("PIL")
    gen = ImageDataGenerator()
    with pytest.raises(FileNotFoundError, match="not a directory"):
        gen.flow_from_directory(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="class_mode must be one of"):
        gen.flow_from_directory(str(tmp_path), class_mode="onehot")
    with pytest.raises(ValueError, match="color_mode must be one of"):
        gen.flow_from_directory(str(tmp_path), color_mode="cmyk")


def test_iterator_is_exported_and_subclassable():
    it = NumpyArrayIterator(_images(3, shape=(4, 4, 1)), None, ImageDataGenerator(), 2)
    assert len(it) == 2 and it[1].shape == (1, 4, 4, 1)
    assert kerax.preprocessing.image.Iterator in type(it).__mro__
