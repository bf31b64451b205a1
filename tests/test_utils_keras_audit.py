"""kerax.utils against real Keras 3 (JAX backend) on small inputs: pixels of
image_dataset_from_directory, timeseries windows, and argument checks."""

import os

import numpy as np
import pytest

import kerax
from kerax.utils import _directory_data

Image = pytest.importorskip("PIL.Image")


@pytest.fixture
def small_images(tmp_path):
    """Three classes of images of mixed sizes and modes (RGB, L, RGBA, palette)."""
    rng = np.random.default_rng(0)
    sizes = {"a": [(9, 14), (20, 7)], "b": [(12, 12), (5, 11)], "c": [(16, 10)]}
    modes = ["RGB", "L", "RGBA", "P"]
    k = 0
    for cls, shapes in sizes.items():
        (tmp_path / cls).mkdir()
        for i, (h, w) in enumerate(shapes):
            pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            Image.fromarray(pixels).convert(modes[k % 4]).save(tmp_path / cls / f"{i}.png")
            k += 1
    return tmp_path


def _batches(ds):
    return [tuple(np.asarray(part) for part in batch) for batch in ds]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"image_size": (6, 8)},  # bilinear down: no antialiasing, as Keras
        {"image_size": (25, 18), "interpolation": "bicubic", "color_mode": "rgba"},
        {
            "image_size": (6, 10),
            "pad_to_aspect_ratio": True,
            "color_mode": "grayscale",
            "interpolation": "nearest",
        },
        {
            "image_size": (6, 10),
            "crop_to_aspect_ratio": True,
            "interpolation": "lanczos3",
            "data_format": "channels_first",
        },
    ],
)
def test_image_dataset_pixels_match_keras(small_images, keras_oracle, capsys, kwargs):
    pytest.importorskip("grain")  # Keras's TensorFlow-free image loader
    common = dict(directory=str(small_images), shuffle=False, batch_size=2, **kwargs)
    ours = _batches(kerax.utils.image_dataset_from_directory(**common))
    theirs = _batches(keras_oracle.utils.image_dataset_from_directory(format="grain", **common))
    assert len(ours) == len(theirs) == 3
    for (x, y), (kx, ky) in zip(ours, theirs):
        assert x.shape == kx.shape and x.dtype == kx.dtype == np.float32
        np.testing.assert_allclose(x, kx, rtol=1e-5, atol=2e-3)
        np.testing.assert_array_equal(y, ky)


@pytest.mark.parametrize("interpolation", ["area", "bilinear", "bicubic", "lanczos5"])
@pytest.mark.parametrize("shape", [(5, 3), (17, 23)])
def test_resize_matches_jax_image_resize_without_antialiasing(interpolation, shape):
    import jax

    x = np.random.default_rng(1).uniform(0, 255, (9, 11, 2)).astype("float32")
    ours = _directory_data._resize_image(x, shape, interpolation)
    ref = jax.image.resize(x, shape + (2,), method=interpolation, antialias=False)
    np.testing.assert_allclose(ours, np.asarray(ref), rtol=1e-5, atol=1e-3)


def test_tf_only_kernels_are_interpolating():
    # gaussian and mitchellcubic (TensorFlow's kernels): a same-size resize is the
    # identity, and a constant image stays constant at any size.
    x = np.full((6, 7, 1), 42.0, "float32")
    for interpolation in ("gaussian", "mitchellcubic"):
        np.testing.assert_allclose(
            _directory_data._resize_image(x, (13, 4), interpolation), 42.0, rtol=1e-5
        )
        assert np.array_equal(_directory_data._resize_image(x, (6, 7), interpolation), x)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(sequence_length=4, sequence_stride=2, sampling_rate=2, batch_size=3),
        dict(sequence_length=3, batch_size=None, start_index=2, end_index=17),
        dict(sequence_length=5, sequence_stride=3, batch_size=4, targets=None),
    ],
)
def test_timeseries_windows_match_keras(keras_oracle, kwargs):
    pytest.importorskip("grain")
    data = np.arange(46, dtype="float32").reshape(23, 2)
    kwargs = {"targets": np.arange(23) * 10, **kwargs}
    ours = kerax.utils.timeseries_dataset_from_array(data, **kwargs)
    theirs = keras_oracle.utils.timeseries_dataset_from_array(data, format="grain", **kwargs)
    ours, theirs = list(ours), list(theirs)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        a, b = (a, b) if isinstance(a, tuple) else ((a,), (b,))
        for p, q in zip(a, b):
            np.testing.assert_array_equal(np.asarray(p), np.asarray(q))


@pytest.mark.parametrize("batch_size", [0, -2, True])
def test_timeseries_rejects_a_non_positive_batch_size(batch_size):
    with pytest.raises(ValueError, match="`batch_size` must be a positive integer"):
        kerax.utils.timeseries_dataset_from_array(np.zeros(10), None, 3, batch_size=batch_size)


def test_image_loader_is_independent_of_pillow_resampling(tmp_path):
    # A 4x4 image shrunk to 2x2 with bilinear sampling (half-pixel centres, no
    # antialiasing, as Keras and TensorFlow) averages the centre 2x2 of each quadrant.
    pixels = np.arange(16, dtype=np.uint8).reshape(4, 4) * 10
    Image.fromarray(pixels).save(tmp_path / "g.png")
    load = _directory_data._ImageLoader((2, 2), "grayscale", "bilinear", False, False, None)
    x = load(os.fspath(tmp_path / "g.png"))[..., 0]
    np.testing.assert_allclose(x, [[25.0, 45.0], [105.0, 125.0]])


# -- audio_dataset_from_directory ------------------------------------------------------
def _wav(path, samples, rate=16000, width=2):
    import wave

    samples = np.asarray(samples)
    samples = samples[:, None] if samples.ndim == 1 else samples
    with wave.open(str(path), "wb") as f:
        f.setnchannels(samples.shape[1])
        f.setsampwidth(width)
        f.setframerate(rate)
        f.writeframes(samples.astype("<i2" if width == 2 else "u1").tobytes())


@pytest.fixture
def audio_dir(tmp_path):
    rng = np.random.default_rng(3)
    clips = {}
    for cls, lengths in (("no", (5, 9, 7)), ("yes", (4, 6))):
        (tmp_path / cls).mkdir()
        for i, n in enumerate(lengths):
            clip = rng.integers(-32768, 32768, n)
            _wav(tmp_path / cls / f"{i}.wav", clip)
            clips[f"{cls}/{i}.wav"] = clip.astype("float32") / 32768.0
    (tmp_path / "yes" / "notes.txt").write_text("not audio")
    return tmp_path, clips


def test_audio_dataset_decodes_and_pads_each_batch(audio_dir, capsys):
    root, clips = audio_dir
    ds = kerax.utils.audio_dataset_from_directory(root, batch_size=2, shuffle=False)
    assert "Found 5 files belonging to 2 classes." in capsys.readouterr().out
    assert ds.class_names == ["no", "yes"]
    names = [os.path.relpath(p, root).replace(os.sep, "/") for p in ds.file_paths]
    assert names == ["no/0.wav", "no/1.wav", "no/2.wav", "yes/0.wav", "yes/1.wav"]
    batches = list(ds)
    assert [x.shape for x, _ in batches] == [(2, 9, 1), (2, 7, 1), (1, 6, 1)]  # padded_batch
    x, y = batches[0]
    assert x.dtype == np.float32 and y.dtype == np.int32 and y.tolist() == [0, 0]
    np.testing.assert_array_equal(x[0, :5, 0], clips["no/0.wav"])
    assert not x[0, 5:].any()  # zero padding


def test_audio_dataset_fixed_length_labels_and_split(audio_dir, capsys):
    root, clips = audio_dir
    ds = kerax.utils.audio_dataset_from_directory(
        root, output_sequence_length=6, label_mode="categorical", shuffle=False, batch_size=None
    )
    samples = list(ds)
    assert [x.shape for x, _ in samples] == [(6, 1)] * 5
    np.testing.assert_array_equal(samples[1][0][:, 0], clips["no/1.wav"][:6])  # cut
    np.testing.assert_array_equal(samples[3][0][:4, 0], clips["yes/0.wav"])  # padded
    assert samples[4][1].tolist() == [0.0, 1.0]
    train, val = kerax.utils.audio_dataset_from_directory(
        root, validation_split=0.4, subset="both", seed=1, output_sequence_length=4
    )
    # Keras's split: the seeded shuffle of index_directory, the last int(0.4 * 5) validate.
    order = np.random.RandomState(1).permutation(5)
    files = sorted(clips)
    assert [os.path.relpath(p, root).replace(os.sep, "/") for p in val.file_paths] == [
        files[i] for i in order[3:]
    ]
    assert len(train.file_paths) == 3


def test_audio_dataset_stereo_and_errors(tmp_path):
    (tmp_path / "a").mkdir()
    stereo = np.array([[1, -1], [300, -300], [32767, -32768]])
    _wav(tmp_path / "a" / "s.wav", stereo, rate=8000)
    ds = kerax.utils.audio_dataset_from_directory(
        tmp_path, labels=None, shuffle=False, sampling_rate=8000, verbose=False
    )
    np.testing.assert_array_equal(next(iter(ds))[0], stereo / 32768.0)
    with pytest.raises(ValueError, match="does not resample"):
        next(iter(kerax.utils.audio_dataset_from_directory(tmp_path, sampling_rate=16000)))
    with pytest.raises(ValueError, match="ragged=True is not supported"):
        kerax.utils.audio_dataset_from_directory(tmp_path, ragged=True)
    with pytest.raises(ValueError, match="`sampling_rate` should have an integer value"):
        kerax.utils.audio_dataset_from_directory(tmp_path, sampling_rate=8000.0)
    with pytest.raises(ValueError, match="output_sequence_length"):
        kerax.utils.audio_dataset_from_directory(tmp_path, output_sequence_length=0)
    _wav(tmp_path / "a" / "u8.wav", np.array([1, 2, 3]), width=1)
    with pytest.raises(ValueError, match="16-bit PCM"):
        list(kerax.utils.audio_dataset_from_directory(tmp_path, shuffle=False))
