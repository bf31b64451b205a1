"""RandomShear, RandomErasing, RandomGaussianBlur, RandomPerspective,
RandomElasticTransform, MixUp, CutMix, Pipeline, RandAugment and AugMix.

Inference is a cast (Keras parity); in training, parity uses degenerate ranges where
the transformation is fixed, and properties check the random draws.
"""

import jax
import numpy as np
import pytest
from layer_harness import _wrap, check_keras_parity, check_layer

import kerax
from kerax import _scope
from kerax.layers import preprocessing as P
from kerax.layers.preprocessing.augment_policies import _Ops

_RNG = np.random.default_rng(0)
_IMAGES = (_RNG.uniform(size=(4, 8, 8, 3)) * 255).astype("float32")
_UNIT = _RNG.uniform(size=(2, 8, 8, 3)).astype("float32")


def _apply(layer, x, key, training=True):
    model = _wrap(layer, x)
    return np.asarray(model.apply(model.get_variables(), x, training=training, key=key)[0])


# (name, ours, keras-builder taking the keras module)
LAYERS = [
    ("shear", lambda m: m.RandomShear(0.3, (0.1, 0.2), fill_mode="constant")),
    ("erasing", lambda m: m.RandomErasing(fill_value=7.0)),
    ("blur", lambda m: m.RandomGaussianBlur((1.0, 1.0), kernel_size=5)),
    ("perspective", lambda m: m.RandomPerspective((1.0, 1.0), 0.4)),
    ("elastic", lambda m: m.RandomElasticTransform((1.0, 1.0), 1.0, value_range=(0, 255))),
    ("mixup", lambda m: m.MixUp(0.5)),
    ("cutmix", lambda m: m.CutMix()),
    ("randaugment", lambda m: m.RandAugment(num_ops=3, factor=0.4)),
    ("augmix", lambda m: m.AugMix(num_chains=2, chain_depth=2)),
]
_IDS = [entry[0] for entry in LAYERS]


@pytest.mark.parametrize("name,make", LAYERS, ids=_IDS)
def test_harness_training_and_inference(name, make):
    # The composites compile slowly: their training mode is checked under jit below.
    if name not in ("randaugment", "augmix"):
        grads = name in ("shear", "blur", "elastic")  # the others are not smooth in x
        out = check_layer(lambda: make(P), _IMAGES, training=True, grads=grads)[0]
        assert out.shape == _IMAGES.shape and not np.allclose(out, _IMAGES)
    kept = check_layer(lambda: make(P), _IMAGES, grads=False, config=False)[0]
    np.testing.assert_array_equal(kept, _IMAGES)


@pytest.mark.keras
@pytest.mark.filterwarnings("ignore::UserWarning")  # Keras's MixUp asks for int64
@pytest.mark.parametrize("name,make", LAYERS, ids=_IDS)
def test_inference_and_config_keys_match_keras(keras_oracle, name, make):
    check_keras_parity(lambda: make(P), lambda: make(keras_oracle.layers), _IMAGES, keras_oracle)
    ours, theirs = make(P).get_config(), make(keras_oracle.layers).get_config()
    assert set(ours) >= set(theirs) - {"dtype"}
    for key in set(theirs) - {"name", "dtype", "trainable"}:
        if theirs[key] is None or isinstance(theirs[key], str):
            assert ours[key] == theirs[key], key
        else:
            assert np.allclose(np.asarray(ours[key], float), np.asarray(theirs[key], float)), key


@pytest.mark.keras
def test_pipeline_matches_keras_and_round_trips(keras_oracle):
    def make(m):
        return m.Pipeline([m.RandomFlip("horizontal"), m.RandomShear((0.2, 0.2), 0.0)])

    check_keras_parity(lambda: make(P), lambda: make(keras_oracle.layers), _IMAGES, keras_oracle)
    out = check_layer(lambda: make(P), _IMAGES, training=True)[0]
    assert not np.allclose(out, _IMAGES)
    clone = P.Pipeline.from_config(make(P).get_config())
    assert [type(v).__name__ for v in clone.layers] == ["RandomFlip", "RandomShear"]
    assert clone.layers[1].x_factor == (0.2, 0.2)


def test_pipeline_applies_layers_in_order_and_passes_training():
    pipe = P.Pipeline([P.RandomShear((0.3, 0.3)), P.RandomFlip("horizontal")])
    np.testing.assert_array_equal(pipe(_UNIT, training=False), _UNIT)
    shear, flip = pipe.layers
    key = jax.random.PRNGKey(5)
    with _scope.bind(_scope.Scope(key=key, training=True)):
        piped = pipe(_UNIT)
    with _scope.bind(_scope.Scope(key=key, training=True)):
        by_hand = flip(shear(_UNIT))
    np.testing.assert_allclose(piped, by_hand, atol=1e-6)
    assert not np.allclose(piped, _UNIT)


@pytest.mark.keras
def test_shear_is_keras_affine_with_either_sign(keras_oracle):
    # The sign is a coin per image; the magnitude is fixed by the degenerate range.
    y = _apply(P.RandomShear((0.3, 0.3), (0.2, 0.2)), _UNIT, jax.random.PRNGKey(1))
    ops = keras_oracle.ops.image
    outs = []
    for s in (1, -1):
        transforms = np.tile([1, s * 0.3, 0, s * 0.2, 1, 0, 0, 0], (len(_UNIT), 1))
        outs.append(np.asarray(ops.affine_transform(_UNIT, transforms, fill_mode="reflect")))
    for i in range(len(_UNIT)):
        assert any(np.allclose(y[i], o[i], atol=1e-4) for o in outs)
    assert P.RandomShear().get_config()["x_factor"] == (-0.0, 0.0)


def test_shear_with_factor_zero_is_identity():
    np.testing.assert_allclose(_apply(P.RandomShear(), _UNIT, jax.random.PRNGKey(0)), _UNIT)


@pytest.mark.keras
def test_blur_with_fixed_sigma_matches_keras_in_training(keras_oracle):
    def make(m):
        return m.RandomGaussianBlur((1.0, 1.0), kernel_size=(3, 5), sigma=(0.6, 0.6))

    check_keras_parity(
        lambda: make(P),
        lambda: make(keras_oracle.layers),
        _IMAGES,
        keras_oracle,
        training=True,
        key=jax.random.PRNGKey(0),
        atol=1e-3,
    )


def test_erasing_changes_only_one_box_per_image():
    x = np.full((8, 8, 8, 3), 100.0, "float32")
    y = _apply(P.RandomErasing((1.0, 1.0), (0.1, 0.3)), x, jax.random.PRNGKey(2))
    assert y.min() >= 0 and y.max() <= 255  # the noise is clipped to value_range
    for img in y:
        changed = (img != 100.0).any(-1)
        rows, cols = np.nonzero(changed)
        assert rows.size > 0
        box = changed[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert box.all()  # a filled rectangle, the rest untouched
    fixed = _apply(P.RandomErasing((1.0, 1.0), fill_value=(1, 2, 3)), x[:2], jax.random.PRNGKey(0))
    changed = (fixed != 100.0).all(-1)
    np.testing.assert_array_equal(fixed[changed], np.broadcast_to([1, 2, 3], fixed[changed].shape))


def test_perspective_keeps_the_top_left_corner_and_scale_zero_is_identity():
    y = _apply(P.RandomPerspective((1.0, 1.0), 0.5, fill_value=-1.0), _UNIT, jax.random.PRNGKey(0))
    np.testing.assert_allclose(y[:, 0, 0], _UNIT[:, 0, 0], atol=1e-4)
    assert not np.allclose(y, _UNIT)
    flat = _apply(P.RandomPerspective((1.0, 1.0), 0.0), _UNIT, jax.random.PRNGKey(0))
    np.testing.assert_allclose(flat, _UNIT, atol=1e-4)


def test_elastic_keeps_constant_images_and_stays_in_range():
    const = np.full((2, 8, 8, 1), 0.25, "float32")
    layer = lambda: P.RandomElasticTransform((1.0, 1.0), value_range=(0, 1))  # noqa: E731
    np.testing.assert_allclose(_apply(layer(), const, jax.random.PRNGKey(0)), const, atol=1e-6)
    y = _apply(layer(), _UNIT, jax.random.PRNGKey(0))
    assert y.min() >= 0 and y.max() <= 1 and not np.allclose(y, _UNIT)
    none = _apply(P.RandomElasticTransform(scale=0.0), _UNIT, jax.random.PRNGKey(0))
    np.testing.assert_array_equal(none, _UNIT)


def _mixed(layer, n=6, key=0):
    """Mix a dict batch under jit; segmentation masks (a copy of channel 0 here) must
    be mixed exactly like the images."""
    x = np.random.default_rng(3).uniform(size=(n, 6, 6, 2)).astype("float32")
    names = {"images": x.shape[1:], "labels": (n,), "segmentation_masks": (6, 6, 1)}
    inputs = {k: kerax.Input(shape=shape, name=k) for k, shape in names.items()}
    model = kerax.Model(inputs, layer(inputs))
    data = {"images": x, "labels": np.eye(n, dtype="float32"), "segmentation_masks": x[..., :1]}

    def run(d, k):
        return model.apply(model.get_variables(), d, training=True, key=k)[0]

    out = jax.jit(run)(data, jax.random.PRNGKey(key))  # check_layer compares eager
    y = np.asarray(out["images"])
    np.testing.assert_allclose(out["segmentation_masks"], y[..., :1], atol=1e-6)
    return x, y, np.asarray(out["labels"])


def test_mixup_is_a_convex_combination_with_the_labels_weights():
    x, y, labels = _mixed(P.MixUp(0.8))
    np.testing.assert_allclose(labels.sum(1), 1.0, rtol=1e-5)
    mixed = 0
    for i in range(len(x)):
        partners = [j for j in np.nonzero(labels[i] > 1e-7)[0] if j != i]
        assert len(partners) <= 1
        if not partners:
            np.testing.assert_allclose(y[i], x[i], atol=1e-5)
            continue
        j, lam = partners[0], labels[i, i]
        np.testing.assert_allclose(y[i], lam * x[i] + (1 - lam) * x[j], atol=1e-5)
        mixed += 0.05 < lam < 0.95
    assert mixed > 0


def test_cutmix_pastes_a_rectangle_and_weights_labels_by_its_area():
    x, y, labels = _mixed(P.CutMix(), n=8, key=1)
    np.testing.assert_allclose(labels.sum(1), 1.0, rtol=1e-5)
    pasted_any = False
    for i in range(len(x)):
        partners = [j for j in np.nonzero(labels[i] > 1e-7)[0] if j != i]
        if not partners:
            np.testing.assert_array_equal(y[i], x[i])
            continue
        j = partners[0]
        from_j = (y[i] == x[j]).all(-1) & (x[i] != x[j]).any(-1)
        np.testing.assert_array_equal(y[i][~from_j], x[i][~from_j])
        rows, cols = np.nonzero(from_j)
        if rows.size:
            pasted_any = True
            assert from_j[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1].all()
        np.testing.assert_allclose(labels[i, j], from_j.mean(), atol=1e-6)
    assert pasted_any


def test_mixers_leave_single_images_and_inference_alone():
    for layer in (P.MixUp(), P.CutMix()):
        np.testing.assert_array_equal(layer(_UNIT[0], training=True), _UNIT[0])
        data = {"images": _UNIT, "labels": np.eye(2, dtype="float32"), "extra": 5}
        out = layer(data, training=False)
        np.testing.assert_array_equal(out["labels"], data["labels"])
        assert out["extra"] == 5


def test_channels_first_is_the_transpose_of_channels_last():
    key = jax.random.PRNGKey(4)
    first = np.transpose(_UNIT, (0, 3, 1, 2))
    for make in (
        lambda f: P.RandomShear(0.3, 0.3, data_format=f),
        lambda f: P.CutMix(data_format=f),
        lambda f: P.RandomGaussianBlur(data_format=f, value_range=(0, 1)),
    ):
        last = _apply(make("channels_last"), _UNIT, key)
        cf = _apply(make("channels_first"), first, key)
        np.testing.assert_allclose(np.transpose(cf, (0, 2, 3, 1)), last, atol=1e-5)


# -- RandAugment / AugMix operations against Keras's layers (batch of one image:
# Keras's Equalization pools the histogram over the batch, kerax per image) --------

_ONE = np.round(_IMAGES[:1])
OPS = [
    ("auto_contrast", (0.0, 0.5), lambda k: k.layers.AutoContrast()),
    ("equalization", (0.0, 0.5), lambda k: k.layers.Equalization()),
    ("sharpness", (0.3, 0.3), lambda k: k.layers.RandomSharpness((0.3, 0.3))),
    ("color_degeneration", (0.4, 0.4), lambda k: k.layers.RandomColorDegeneration((0.4, 0.4))),
    ("posterization", (0.1, 0.1), lambda k: k.layers.RandomPosterization(1)),
    ("solarization", (0.0, 0.0), lambda k: k.layers.Solarization(0.0, 0.0)),
    ("brightness", (0.1, 0.1), lambda k: k.layers.RandomBrightness((0.1, 0.1))),
]


@pytest.mark.keras
@pytest.mark.parametrize("name,factor,theirs", OPS, ids=[o[0] for o in OPS])
def test_augment_operations_match_keras(keras_oracle, name, factor, theirs):
    x = _ONE[..., :1] if name == "equalization" else _ONE  # Keras loops over 256 bins
    op = getattr(_Ops(factor, (0, 255), "bilinear", "float32"), name)
    ours = jax.jit(op)(jax.numpy.asarray(x), jax.random.PRNGKey(0))
    expected = theirs(keras_oracle)(x, training=True)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(expected), atol=1e-3)


@pytest.mark.parametrize(
    "make",
    [lambda: P.RandAugment(value_range=(0, 1)), lambda: P.AugMix(value_range=(0, 1), alpha=0.5)],
)
def test_composites_stay_in_range_vary_with_the_key_and_round_trip(make):
    layer = make()
    model = _wrap(layer, _UNIT)
    run = jax.jit(lambda k: model.apply(model.get_variables(), _UNIT, training=True, key=k)[0])
    a, b, c, again = (np.asarray(run(jax.random.PRNGKey(k))) for k in (0, 1, 2, 0))
    assert a.min() >= 0 and a.max() <= 1
    assert not np.allclose(a, b) or not np.allclose(a, c)
    np.testing.assert_array_equal(a, again)
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == {**layer.get_config(), "name": clone.name}


ERRORS = [
    (lambda: P.RandomShear(1.5), ValueError, r"x_factor must lie in \[0.0, 1.0\]"),
    (lambda: P.RandomShear(0.1, (0.1, 1.5)), ValueError, r"y_factor=\(0.1, 1.5\)"),
    (lambda: P.RandomShear(fill_mode="mirror"), ValueError, "fill_mode='mirror'"),
    (lambda: P.RandomErasing(scale=(0.1, 2.0)), ValueError, "scale="),
    (lambda: P.RandomErasing(fill_value=(1, 2)), ValueError, r"fill_value=\(1, 2\)"),
    (lambda: P.RandomGaussianBlur(kernel_size=4), ValueError, "kernel_size=4"),
    (lambda: P.RandomGaussianBlur(sigma=3.0), ValueError, "sigma="),
    (lambda: P.RandomPerspective(scale=1.5), ValueError, "scale=1.5"),
    (lambda: P.RandomPerspective(interpolation="bicubic"), ValueError, "bicubic"),
    (lambda: P.RandomElasticTransform(fill_mode="edge"), ValueError, "fill_mode='edge'"),
    (lambda: P.MixUp(alpha=0.0), ValueError, "alpha=0.0"),
    (lambda: P.CutMix(factor=-0.5), ValueError, "factor=-0.5"),
    (lambda: P.Pipeline("flip"), ValueError, "layers must be a list"),
    (lambda: P.RandAugment(num_ops=0), ValueError, "num_ops=0"),
    (lambda: P.AugMix(value_range=(1, 1)), ValueError, "value_range"),
    (lambda: P.AugMix(seed="x"), TypeError, "seed='x'"),
    (lambda: P.MixUp()({"labels": np.ones(2)}, training=True), ValueError, "'images' key"),
    (lambda: P.CutMix()(np.ones((2, 3)), training=True), ValueError, "rank-4"),
]


@pytest.mark.parametrize("fn,kind,match", ERRORS)
def test_errors(fn, kind, match):
    with pytest.raises(kind, match=match):
        fn()


def test_pipeline_config_is_the_one_keras_pipeline_takes():
    pipeline = P.Pipeline([P.RandomFlip(), P.RandomShear(0.1)], name="augment")
    config = pipeline.get_config()
    assert sorted(config) == ["layers", "name"]  # Keras's Pipeline(layers, name) only
    again = P.Pipeline.from_config(config)
    assert again.name == "augment" and [type(v).__name__ for v in again.layers] == [
        "RandomFlip",
        "RandomShear",
    ]


def test_dict_inputs_keep_their_labels_and_need_images():
    # every image layer takes Keras 3's dict now (RandomElasticTransform the last one)
    data = {"images": np.ones((2, 4, 4, 3), "float32"), "labels": np.ones((2, 1), "float32")}
    out = P.RandomElasticTransform()(data, training=False)
    np.testing.assert_array_equal(out["labels"], data["labels"])
    with pytest.raises(ValueError, match="'images' key"):
        P.RandomElasticTransform()({"labels": data["labels"]}, training=True)
