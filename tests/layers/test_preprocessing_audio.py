"""Audio preprocessing layers: harness, Keras parity (numbers, shapes, weights, configs),
argument errors."""

import jax
import numpy as np
import pytest
from layer_harness import check_keras_parity, check_layer

import kerax
from kerax.layers import preprocessing as P

_WAVES = np.random.default_rng(0).normal(size=(2, 150)).astype("float32")
_SIGNALS = np.random.default_rng(1).normal(size=(2, 60, 2)).astype("float32")
_SIGNALS_FIRST = np.ascontiguousarray(_SIGNALS.transpose(0, 2, 1))

_MEL_SMALL = dict(fft_length=32, sequence_stride=8, num_mel_bins=6, sampling_rate=8000)


def _stft(**kwargs):
    return dict(frame_length=16, frame_step=5, **kwargs)


HARNESS = [
    ("mel_db", lambda: P.MelSpectrogram(**_MEL_SMALL), _WAVES, True),
    (
        "mel_power",
        lambda: P.MelSpectrogram(**_MEL_SMALL, power_to_db=False, window="hamming"),
        _WAVES,
        True,
    ),
    ("stft_log", lambda: P.STFTSpectrogram(**_stft()), _SIGNALS, True),
    (
        "stft_psd_same_expand",
        lambda: P.STFTSpectrogram(**_stft(mode="psd", padding="same", expand_dims=True)),
        _SIGNALS,
        True,
    ),
    (
        "stft_stft_first",
        lambda: P.STFTSpectrogram(**_stft(mode="stft", data_format="channels_first")),
        _SIGNALS_FIRST,
        True,
    ),
    (
        "stft_magnitude_frozen",
        lambda: P.STFTSpectrogram(**_stft(mode="magnitude", trainable=False)),
        _SIGNALS,
        True,
    ),
]


@pytest.mark.parametrize("name,make,x,grads", HARNESS, ids=[h[0] for h in HARNESS])
def test_harness(name, make, x, grads):
    # top_db's floor is relative to the largest value of the whole batch, as in Keras:
    # its rows mix, and predict runs it batch by batch.
    mixes = name == "mel_db"
    check_layer(make, x, grads=grads, atol=1e-4, rows_independent=not mixes)
    if mixes:
        inputs = kerax.Input(x.shape[1:])
        assert not kerax.Model(inputs, make()(inputs))._rows_independent(x)


_MEL_CASES = [
    ("db", dict(_MEL_SMALL, num_mel_bins=12, min_freq=50.0, max_freq=3500.0)),
    (
        "fft64_short_frames_power",
        dict(
            fft_length=64,
            sequence_stride=10,
            sequence_length=40,
            power_to_db=False,
            window="hamming",
        ),
    ),
    (
        "magnitude_ref_topdb_nowindow",
        dict(_MEL_SMALL, mag_exp=1.0, ref_power=2.0, top_db=20.0, window=None, sequence_stride=7),
    ),
]


@pytest.mark.keras
@pytest.mark.parametrize("name,kwargs", _MEL_CASES, ids=[c[0] for c in _MEL_CASES])
def test_mel_matches_keras(keras_oracle, name, kwargs):
    kwargs = dict(kwargs, num_mel_bins=kwargs.get("num_mel_bins", 8))
    ours = P.MelSpectrogram(**kwargs)
    theirs = keras_oracle.layers.MelSpectrogram(**kwargs)
    # Neither layer has weights; jit both (an eager STFT compiles op by op, slowly; the
    # harness checks that kerax's eager and jit calls agree)
    expected = np.asarray(jax.jit(lambda x: theirs(x))(_WAVES))
    got = np.asarray(jax.jit(lambda x: ours(x))(_WAVES))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    shape = tuple(theirs.compute_output_shape(_WAVES.shape))
    assert ours.compute_output_shape(_WAVES.shape) == shape == expected.shape


@pytest.mark.keras
def test_mel_config_and_filterbank_match_keras(keras_oracle):
    kwargs = dict(_MEL_SMALL, sequence_length=24, max_freq=None)
    ours, theirs = P.MelSpectrogram(**kwargs), keras_oracle.layers.MelSpectrogram(**kwargs)
    base = {"name", "trainable", "dtype"}
    ours_config = {k: v for k, v in ours.get_config().items() if k not in base}
    theirs_config = {k: v for k, v in theirs.get_config().items() if k not in base}
    assert ours_config == theirs_config
    args = dict(num_mel_bins=10, num_spectrogram_bins=33, sampling_rate=16000)
    np.testing.assert_allclose(  # under jit: one program each, not op by op
        np.asarray(jax.jit(lambda: ours.linear_to_mel_weight_matrix(**args))()),
        np.asarray(jax.jit(lambda: theirs.linear_to_mel_weight_matrix(**args))()),
        atol=1e-6,
    )
    assert P.MelSpectrogram.from_config(ours.get_config()).get_config() == ours.get_config()


_STFT_CASES = [
    (f"{mode}_{fmt}_{'expand' if expand else 'flat'}_{padding}", mode, fmt, expand, padding)
    for mode, fmt, expand, padding in [
        ("log", "channels_last", False, "valid"),
        ("magnitude", "channels_first", True, "same"),
        ("psd", "channels_first", False, "valid"),
        ("real", "channels_last", False, "same"),
        ("imag", "channels_first", True, "valid"),
        ("angle", "channels_last", True, "valid"),
        ("stft", "channels_first", False, "same"),
    ]
]


@pytest.mark.keras
@pytest.mark.parametrize(
    "name,mode,fmt,expand,padding", _STFT_CASES, ids=[c[0] for c in _STFT_CASES]
)
def test_stft_matches_keras(keras_oracle, name, mode, fmt, expand, padding):
    kwargs = _stft(mode=mode, fft_length=32, padding=padding, expand_dims=expand, data_format=fmt)
    x = _SIGNALS if fmt == "channels_last" else _SIGNALS_FIRST
    ours, theirs = check_keras_parity(
        lambda: P.STFTSpectrogram(**kwargs),
        lambda: keras_oracle.layers.STFTSpectrogram(**kwargs),
        x,
        keras_oracle,
        atol=1e-4,
    )
    assert ours.output_shape == tuple(theirs.output_shape)
    names = [w.name for w in ours.layers[-1].weights]
    assert names == [w.name for w in theirs.layers[-1].weights]


_KERNEL_CASES = [
    dict(),
    dict(window="hamming", periodic=True, scaling="spectrum", fft_length=20),
    dict(window="blackman", scaling=None),
    dict(window="bartlett", periodic=True),
    dict(window="boxcar", fft_length=17),
    dict(window=None),
    dict(window="triang", periodic=True),  # scipy's, when scipy is installed
    dict(window=list(np.linspace(0.1, 1.0, 16)), scaling="spectrum"),
]


@pytest.mark.keras
@pytest.mark.filterwarnings("ignore:.*power of two")
@pytest.mark.parametrize("kwargs", _KERNEL_CASES, ids=range(len(_KERNEL_CASES)))
def test_stft_initial_kernels_and_config_match_keras(keras_oracle, kwargs):
    kwargs = _stft(mode="stft", **kwargs)
    ours = P.STFTSpectrogram(**kwargs)
    theirs = keras_oracle.layers.STFTSpectrogram(**kwargs)
    ours.build(_SIGNALS.shape)
    theirs.build(_SIGNALS.shape)
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        # Keras builds the DFT phases in float32; kerax in float64, then casts.
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5)
    base = {"name", "trainable", "dtype"}
    keys = {k for k in theirs.get_config() if k not in base}
    assert keys == {k for k in ours.get_config() if k not in base}
    for k in keys - {"window"}:
        assert ours.get_config()[k] == theirs.get_config()[k], k
    ours_window, theirs_window = ours.get_config()["window"], theirs.get_config()["window"]
    if ours_window is None or isinstance(ours_window, str):
        assert ours_window == theirs_window
    else:
        np.testing.assert_allclose(ours_window, np.asarray(theirs_window))


def test_stft_weights_and_trainable():
    layer = P.STFTSpectrogram(**_stft(mode="real"))
    layer.build(_SIGNALS.shape)
    assert [w.name for w in layer.trainable_weights] == ["real_kernel"]
    assert layer.weights[0].shape == (16, 1, 9)
    frozen = P.STFTSpectrogram(**_stft(mode="angle"), trainable=False)
    frozen.build(_SIGNALS.shape)
    assert not frozen.trainable_weights
    assert [w.name for w in frozen.non_trainable_weights] == ["real_kernel", "imag_kernel"]
    # defaults: frame_step = frame_length // 2, fft_length = next power of two
    y = P.STFTSpectrogram(frame_length=12)(_SIGNALS)
    assert y.shape == (2, 1 + (60 - 12) // 6, 2 * 9)


def test_stft_stft_mode_is_the_dft_of_windowed_frames():
    layer = P.STFTSpectrogram(
        mode="stft", frame_length=8, frame_step=8, window=None, data_format="channels_first"
    )
    x = _SIGNALS_FIRST[:, :1, :56]
    y = np.asarray(layer(x))  # (batch, 2 * 5, frames)
    frames = x[:, 0].reshape(2, 7, 8)
    spectrum = np.fft.rfft(frames, axis=-1)  # (batch, frames, 5)
    np.testing.assert_allclose(y[:, :5], spectrum.real.transpose(0, 2, 1), atol=1e-4)
    np.testing.assert_allclose(y[:, 5:], spectrum.imag.transpose(0, 2, 1), atol=1e-4)


def test_mel_shapes_and_unbatched():
    layer = P.MelSpectrogram(fft_length=64, sequence_stride=16, num_mel_bins=10)
    assert layer(np.zeros((3, 161), "float32")).shape == (3, 10, 1 + 161 // 16)
    assert layer(np.zeros((161,), "float32")).shape == (10, 1 + 161 // 16)
    assert layer(np.zeros((2, 100), "int32")).dtype == np.float32
    # an unbatched signal gives its row of the batch (no dB: its floor uses the batch max)
    power = P.MelSpectrogram(**_MEL_SMALL, power_to_db=False)
    np.testing.assert_allclose(
        np.asarray(power(_WAVES[1])), np.asarray(power(_WAVES))[1], rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        (dict(fft_length=16, sequence_length=32), ValueError, "sequence_length=32"),
        (dict(window="blackman"), ValueError, "window='blackman'"),
        (dict(window=[1.0, 2.0]), ValueError, "shape"),
        (dict(min_freq=5000.0, max_freq=1000.0), ValueError, "min_freq=5000.0"),
        (dict(num_mel_bins=0), ValueError, "num_mel_bins=0"),
        (dict(sequence_stride=2.5), ValueError, "sequence_stride=2.5"),
        (dict(top_db="80"), TypeError, "top_db='80'"),
        (dict(min_power=0.0), ValueError, "min_power=0.0"),
    ],
)
def test_mel_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        P.MelSpectrogram(**kwargs)


def test_mel_bad_rank():
    with pytest.raises(ValueError, match=r"Received: inputs.shape=\(1, 2, 100\)"):
        P.MelSpectrogram(**_MEL_SMALL)(np.zeros((1, 2, 100), "float32"))


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        (dict(mode="power"), ValueError, "mode='power'"),
        (dict(frame_length=16, frame_step=17), ValueError, "frame_step=17"),
        (dict(frame_length=16, frame_step=0), ValueError, "frame_step=0"),
        (dict(frame_length=16, fft_length=8), ValueError, "fft_length=8"),
        (dict(frame_length=0), ValueError, "frame_length=0"),
        (dict(scaling="l2"), ValueError, "scaling='l2'"),
        (dict(padding="causal"), ValueError, "padding='causal'"),
        (dict(window="no_such_window"), ValueError, "window='no_such_window'"),
        (dict(frame_length=16, window=np.ones(8)), ValueError, "frame_length=16"),
        (dict(data_format="nwc"), ValueError, "data_format='nwc'"),
    ],
)
def test_stft_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        P.STFTSpectrogram(**kwargs)


def test_stft_bad_inputs_and_warning():
    with pytest.warns(UserWarning, match="fft_length=20"):
        P.STFTSpectrogram(frame_length=16, fft_length=20)
    with pytest.raises(ValueError, match=r"input_shape=\(2, 60\)"):
        P.STFTSpectrogram(frame_length=16)(np.zeros((2, 60), "float32"))
    with pytest.raises(TypeError, match="int32"):
        P.STFTSpectrogram(frame_length=16)(np.zeros((2, 60, 1), "int32"))
