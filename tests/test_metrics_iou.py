"""kerax.metrics IoU family and correlation metrics: numbers against Keras 3 and by hand,
the pure contract (jit, merge, zero-weight padding), fit/evaluate with a partial last
batch, configs and lookup by name."""

import warnings

import jax
import numpy as np
import pytest

import kerax
import kerax.metrics as km

NEW_CLASSES = [
    "IoU",
    "MeanIoU",
    "BinaryIoU",
    "OneHotIoU",
    "OneHotMeanIoU",
    "PearsonCorrelation",
    "ConcordanceCorrelation",
]

# -- data ---------------------------------------------------------------------------------


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def make_batch(kind, rng, n=6):
    """``(y_true, y_pred, sample_weight)`` of one batch for a data kind."""
    f32 = np.float32
    if kind == "ids":  # class ids, some out of range (-1, 4) and a void class 3
        return (
            rng.integers(-1, 5, (n, 5)).astype(np.int32),
            rng.integers(0, 5, (n, 5)).astype(np.int32),
            rng.integers(0, 3, (n, 5)).astype(f32),
        )
    if kind == "seg":  # sparse label maps, per-pixel class scores
        labels = rng.integers(0, 4, (n, 3, 3))
        scores = _softmax(rng.normal(size=(n, 3, 3, 4)) + 1.5 * np.eye(4)[labels])
        return (
            labels.astype(np.int32),
            scores.astype(f32),
            rng.integers(0, 3, (n, 3, 3)).astype(f32),
        )
    if kind == "onehot":
        labels = rng.integers(0, 3, n)
        scores = _softmax(rng.normal(size=(n, 3)) + np.eye(3)[labels])
        return np.eye(3, dtype=f32)[labels], scores.astype(f32), rng.integers(0, 3, n).astype(f32)
    if kind == "binary":
        y = rng.integers(0, 2, (n, 4)).astype(f32)
        p = np.clip(0.4 * y + 0.6 * rng.uniform(size=y.shape), 0, 1).astype(f32)
        return y, p, rng.integers(0, 3, (n, 4)).astype(f32)
    if kind == "fractional":  # float weights: truncated by int32 matrices, as in Keras
        y = rng.integers(0, 3, n).astype(np.int32)
        p = rng.integers(0, 3, n).astype(np.int32)
        return y, p, rng.uniform(0, 2.5, n).astype(f32)
    if kind == "regression":
        y = rng.normal(size=(n, 5)).astype(f32)
        return y, (y + rng.normal(size=(n, 5))).astype(f32), rng.uniform(0, 2, n).astype(f32)
    if kind == "regression3d":
        y = rng.normal(size=(n, 4, 3)).astype(f32)
        return (
            y,
            (0.5 * y + rng.normal(size=(n, 4, 3))).astype(f32),
            rng.uniform(0, 2, n).astype(f32),
        )
    raise AssertionError(kind)


CASES = [
    ("IoU", dict(num_classes=4, target_class_ids=[0, 2]), "ids"),
    ("IoU", dict(num_classes=4, target_class_ids=[1], ignore_class=3), "ids"),
    ("IoU", dict(num_classes=4, target_class_ids=[0, 3], sparse_y_pred=False), "seg"),
    ("IoU", dict(num_classes=3, target_class_ids=[2], dtype="float32"), "fractional"),
    ("MeanIoU", dict(num_classes=4), "ids"),
    ("MeanIoU", dict(num_classes=4, ignore_class=-1), "ids"),
    ("MeanIoU", dict(num_classes=4, sparse_y_pred=False), "seg"),
    ("MeanIoU", dict(num_classes=4, sparse_y_pred=False, ignore_class=0), "seg"),
    ("MeanIoU", dict(num_classes=3, sparse_y_true=False, sparse_y_pred=False), "onehot"),
    ("MeanIoU", dict(num_classes=3), "fractional"),
    ("MeanIoU", dict(num_classes=3, dtype="float32"), "fractional"),
    ("BinaryIoU", dict(), "binary"),
    ("BinaryIoU", dict(target_class_ids=[1], threshold=0.3), "binary"),
    ("BinaryIoU", dict(target_class_ids=[0], threshold=0.7, dtype="float32"), "binary"),
    ("OneHotIoU", dict(num_classes=3, target_class_ids=[0, 2]), "onehot"),
    ("OneHotIoU", dict(num_classes=3, target_class_ids=[1], ignore_class=2), "onehot"),
    ("OneHotMeanIoU", dict(num_classes=3), "onehot"),
    ("OneHotMeanIoU", dict(num_classes=3, ignore_class=1, dtype="float32"), "onehot"),
    ("PearsonCorrelation", dict(), "regression"),
    ("PearsonCorrelation", dict(axis=1), "regression3d"),
    ("ConcordanceCorrelation", dict(), "regression"),
    ("ConcordanceCorrelation", dict(axis=1), "regression3d"),
]


def _batches(kind, seed=0):
    rng = np.random.default_rng(seed)
    return [make_batch(kind, rng, n) for n in (6, 6, 3)]


def _run(metric, batches, weighted):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # float weights on an int matrix: both libraries warn
        for y_true, y_pred, w in batches:
            metric.update_state(y_true, y_pred, sample_weight=w if weighted else None)
    return float(metric.result())


# -- against Keras --------------------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c if isinstance(c, str) else None)
def test_matches_keras(case, weighted, keras_oracle):
    name, kwargs, kind = case
    batches = _batches(kind)
    expected = _run(getattr(keras_oracle.metrics, name)(**kwargs), batches, weighted)
    got = _run(getattr(km, name)(**kwargs), batches, weighted)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c if isinstance(c, str) else None)
def test_config_and_name_match_keras(case, keras_oracle):
    name, kwargs, _ = case
    ours, theirs = getattr(km, name)(**kwargs), getattr(keras_oracle.metrics, name)(**kwargs)
    ours_config, theirs_config = ours.get_config(), theirs.get_config()
    # Keras makes default names unique ("io_u_8"); the rest must be equal
    assert theirs_config.pop("name").startswith(ours_config.pop("name"))
    assert ours_config == theirs_config
    assert ours._direction == theirs._direction == "up"


@pytest.mark.parametrize(
    "fn", ["pearson_correlation", "concordance_correlation", "huber", "binary_focal_crossentropy"]
)
def test_functions_match_keras(fn, keras_oracle):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, (5, 4)).astype(np.float32)
    p = rng.uniform(0.05, 0.95, (5, 4)).astype(np.float32)
    expected = np.asarray(getattr(keras_oracle.metrics, fn)(y, p))
    np.testing.assert_allclose(np.asarray(getattr(km, fn)(y, p)), expected, rtol=1e-5, atol=1e-6)


def test_lookup_by_name_matches_keras(keras_oracle):
    for name in [
        "BinaryIoU",
        "binary_io_u",
        "PearsonCorrelation",
        "pearson_correlation",
        "ConcordanceCorrelation",
        "concordance_correlation",
    ]:
        theirs = keras_oracle.metrics.get(name)
        ours = km.get(name)
        assert type(ours).__name__ == type(theirs).__name__
    for name in ["IoU", "MeanIoU", "OneHotIoU", "OneHotMeanIoU"]:  # need num_classes
        with pytest.raises(TypeError):
            keras_oracle.metrics.get(name)
        with pytest.raises(TypeError):
            km.get(name)


def _seg_model(k, weights):
    model = k.Sequential([k.Input((3, 3, 2)), k.layers.Dense(4, activation="softmax")])
    model.set_weights(weights)
    return model


def test_evaluate_with_partial_batch_matches_keras(keras_oracle):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(10, 3, 3, 2)).astype(np.float32)
    y = rng.integers(0, 4, (10, 3, 3))
    weights = [rng.normal(size=(2, 4)).astype(np.float32), np.zeros(4, np.float32)]
    out = {}
    for k in (keras_oracle, kerax):
        model = _seg_model(k, weights)
        model.compile(
            "sgd",
            "sparse_categorical_crossentropy",
            metrics=[
                k.metrics.MeanIoU(4, sparse_y_pred=False, name="miou"),
                k.metrics.IoU(4, [1, 2], sparse_y_pred=False, name="iou12"),
            ],
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras's own int64 cast warns under JAX
            out[k] = model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)
    for key in ("miou", "iou12"):
        np.testing.assert_allclose(out[kerax][key], out[keras_oracle][key], rtol=1e-5)


# -- by hand (no Keras needed) -------------------------------------------------------------


def test_iou_by_hand():
    # cm = [[1, 1], [1, 1]]: each class 1 / (2 + 2 - 1)
    assert float(km.IoU(2, [0])([0, 0, 1, 1], [0, 1, 0, 1])) == pytest.approx(1 / 3)
    m = km.MeanIoU(2, dtype="float32")
    m.update_state([0, 0, 1, 1], [0, 1, 0, 1], sample_weight=[0.3, 0.3, 0.3, 0.1])
    # cm = [[0.3, 0.3], [0.3, 0.1]]: ious 0.3 / 0.9 and 0.1 / 0.7
    assert float(m.result()) == pytest.approx((0.3 / 0.9 + 0.1 / 0.7) / 2, rel=1e-5)
    np.testing.assert_allclose(m.variables[0].value, [[0.3, 0.3], [0.3, 0.1]], rtol=1e-6)


def test_binary_iou_by_hand():
    m = km.BinaryIoU(target_class_ids=[0, 1], threshold=0.3, dtype="float32")
    m.update_state([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7], sample_weight=[0.2, 0.3, 0.4, 0.1])
    # cm = [[0.2, 0.4], [0.3, 0.1]]: ious 0.2 / 0.9 and 0.1 / 0.8
    assert float(m.result()) == pytest.approx((0.2 / 0.9 + 0.1 / 0.8) / 2, rel=1e-5)
    # threshold is inclusive: a score equal to it is class 1
    assert float(km.BinaryIoU([1], threshold=0.5)([1, 0], [0.5, 0.1])) == pytest.approx(1.0)


def test_ignore_class_and_out_of_range_are_not_counted():
    m = km.MeanIoU(3, ignore_class=255)
    m.update_state([0, 1, 255, 2, -1], [0, 1, 1, 5, 0])
    # only rows 0 and 1 count; class 2 never occurs, so it is left out of the mean
    np.testing.assert_array_equal(m.variables[0].value, [[1, 0, 0], [0, 1, 0], [0, 0, 0]])
    assert float(m.result()) == pytest.approx(1.0)


def test_one_hot_variants_by_hand():
    y_true = [[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]]
    y_pred = [[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]]
    # argmax: true [2, 0, 1, 0], pred [2, 2, 0, 2]; ious: 0, 0, 1/3
    assert float(km.OneHotMeanIoU(3)(y_true, y_pred)) == pytest.approx(1 / 9, rel=1e-5)
    assert float(km.OneHotIoU(3, [0, 2])(y_true, y_pred)) == pytest.approx(1 / 6, rel=1e-5)
    sparse = km.OneHotIoU(3, [2], sparse_y_pred=True)(y_true, [2, 2, 0, 2])
    assert float(sparse) == pytest.approx(1 / 3, rel=1e-5)


def test_int_matrix_truncates_fractional_weights_with_a_warning():
    m = km.MeanIoU(2)
    assert m.dtype == "int32"
    with pytest.warns(UserWarning, match="truncated"):
        m.update_state([0, 1], [0, 1], sample_weight=[0.5, 1.5])
    np.testing.assert_array_equal(m.variables[0].value, [[0, 0], [0, 1]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # integral float weights (a padding mask) are silent
        km.MeanIoU(2).update_state([0, 1], [0, 1], sample_weight=[1.0, 0.0])


def test_correlations_by_hand():
    y_true = [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]
    y_pred = [[2.0, 4.0, 6.0], [3.0, 2.0, 1.0]]
    m = km.PearsonCorrelation()
    m.update_state(y_true, y_pred, sample_weight=[1.0, 3.0])
    assert float(m.result()) == pytest.approx((1.0 - 3.0) / 4, abs=1e-5)
    # y_pred = y_true + 1: 2 var / (2 var + 1), var = 2 / 3
    ccc = km.ConcordanceCorrelation()([[1.0, 2.0, 3.0]], [[2.0, 3.0, 4.0]])
    assert float(ccc) == pytest.approx((4 / 3) / (4 / 3 + 1), rel=1e-5)
    assert float(km.ConcordanceCorrelation()(y_true, y_true)) == pytest.approx(1.0, abs=1e-5)


def test_function_aliases_are_the_loss_functions():
    assert km.huber is kerax.losses.huber
    assert km.binary_focal_crossentropy is kerax.losses.binary_focal_crossentropy
    assert km.categorical_focal_crossentropy is kerax.losses.categorical_focal_crossentropy
    assert km.huber([[0.0, 0.0]], [[0.5, 3.0]]).tolist() == [1.3125]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c if isinstance(c, str) else None)
def test_pure_api_jit_merge_and_zero_weight_padding(case):
    name, kwargs, kind = case
    m = getattr(km, name)(**kwargs)
    (a_true, a_pred, a_w), (b_true, b_pred, b_w), _ = _batches(kind, seed=3)
    a_w, b_w = np.round(a_w), np.round(b_w)  # integral: the int matrices keep them exactly
    update = jax.jit(m.update)
    both = update(update(m.initial_state(), a_true, a_pred, a_w), b_true, b_pred, b_w)
    merged = m.merge(
        update(m.initial_state(), a_true, a_pred, a_w),
        update(m.initial_state(), b_true, b_pred, b_w),
    )
    np.testing.assert_allclose(m.compute(merged), m.compute(both), rtol=1e-5)

    # padded rows (weight 0, garbage values) change nothing
    pad = 2

    def padded(x, fill):
        x = np.asarray(x)
        return np.concatenate([x, np.full((pad,) + x.shape[1:], fill, x.dtype)])

    fill = np.nan if np.issubdtype(np.asarray(a_pred).dtype, np.floating) else 1
    p_w = np.concatenate([a_w, np.zeros((pad,) + a_w.shape[1:], a_w.dtype)])
    plain = update(m.initial_state(), a_true, a_pred, a_w)
    with_pad = update(m.initial_state(), padded(a_true, 1), padded(a_pred, fill), p_w)
    np.testing.assert_allclose(m.compute(with_pad), m.compute(plain), rtol=1e-6)
    # a (batch,) padding mask broadcasts over the rest of the row, as the trainer passes it
    mask = np.concatenate([np.ones(len(a_w), np.float32), np.zeros(pad, np.float32)])
    unweighted = update(m.initial_state(), a_true, a_pred, None)
    masked = update(m.initial_state(), padded(a_true, 1), padded(a_pred, fill), mask)
    np.testing.assert_allclose(m.compute(masked), m.compute(unweighted), rtol=1e-6)


def test_target_class_ids_are_checked():
    with pytest.raises(ValueError, match="target class ids"):
        km.IoU(3, target_class_ids=[3])
    with pytest.raises(ValueError, match="target class ids"):
        km.BinaryIoU(target_class_ids=[2])
    with pytest.raises(ValueError, match="num_classes"):
        km.MeanIoU(0)


# -- config and lookup ----------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda c: c if isinstance(c, str) else None)
def test_config_round_trip(case):
    name, kwargs, kind = case
    m = getattr(km, name)(**kwargs)
    assert m._direction == "up"
    clone = type(m).from_config(m.get_config())
    assert clone.get_config() == m.get_config()
    again = km.deserialize(km.serialize(m))
    assert type(again) is type(m) and again.get_config() == m.get_config()
    batches = _batches(kind, seed=4)
    assert _run(again, batches, False) == pytest.approx(_run(m, batches, False))


def test_get_by_name():
    assert isinstance(km.get("binary_io_u"), km.BinaryIoU)
    assert isinstance(km.get("BinaryIoU"), km.BinaryIoU)
    assert isinstance(km.get("pearson_correlation"), km.PearsonCorrelation)
    assert isinstance(km.get("ConcordanceCorrelation"), km.ConcordanceCorrelation)
    assert km.get("binary_io_u").name == "binary_io_u"
    with pytest.raises(TypeError, match="needs arguments"):
        km.get("MeanIoU")
    assert km.MeanIoU(3).name == "mean_io_u" and km.OneHotIoU(3, [0]).name == "one_hot_io_u"
    assert set(NEW_CLASSES) <= set(km.__all__)


# -- inside fit / evaluate ------------------------------------------------------------------


def _fit_and_evaluate(model, loss, metrics, x, y):
    model.compile("adam", loss, metrics=metrics)
    history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for values in history.history.values():
        assert np.all(np.isfinite(values))
    # 10 rows in batches of 4: the last batch is padded to 4 with zero-weight rows
    logs = model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)
    y_pred = np.asarray(model.predict(x, batch_size=10, verbose=0))
    for metric in metrics:
        fresh = type(metric).from_config(metric.get_config())
        fresh.update_state(y, y_pred)
        np.testing.assert_allclose(logs[metric.name], float(fresh.result()), rtol=1e-5, atol=1e-6)


def test_fit_sparse_segmentation():
    kerax.utils.set_random_seed(0)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(10, 3, 3, 2)).astype(np.float32)
    y = rng.integers(0, 3, (10, 3, 3)).astype(np.int32)
    model = kerax.Sequential([kerax.Input((3, 3, 2)), kerax.layers.Dense(3, activation="softmax")])
    metrics = [
        km.MeanIoU(3, sparse_y_pred=False),
        km.IoU(3, [0, 2], sparse_y_pred=False, name="iou02"),
        km.MeanIoU(3, sparse_y_pred=False, ignore_class=1, name="miou_ignore1"),
    ]
    _fit_and_evaluate(model, "sparse_categorical_crossentropy", metrics, x, y)


def test_fit_one_hot_and_binary_segmentation():
    kerax.utils.set_random_seed(0)
    rng = np.random.default_rng(6)
    x = rng.normal(size=(10, 3, 3, 2)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, (10, 3, 3))]
    model = kerax.Sequential([kerax.Input((3, 3, 2)), kerax.layers.Dense(3, activation="softmax")])
    _fit_and_evaluate(
        model, "categorical_crossentropy", [km.OneHotMeanIoU(3), km.OneHotIoU(3, [1])], x, y
    )
    yb = rng.integers(0, 2, (10, 3, 3, 1)).astype(np.float32)
    model = kerax.Sequential([kerax.Input((3, 3, 2)), kerax.layers.Dense(1, activation="sigmoid")])
    metrics = [km.BinaryIoU(), km.BinaryIoU([1], threshold=0.4, name="fg_iou")]
    _fit_and_evaluate(model, "binary_crossentropy", metrics, x, yb)


def test_fit_regression_correlations():
    kerax.utils.set_random_seed(0)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(10, 4)).astype(np.float32)
    y = (x @ rng.normal(size=(4, 5)) + 0.1 * rng.normal(size=(10, 5))).astype(np.float32)
    model = kerax.Sequential([kerax.Input((4,)), kerax.layers.Dense(5)])
    metrics = [km.PearsonCorrelation(), km.ConcordanceCorrelation()]
    _fit_and_evaluate(model, "mse", metrics, x, y)
    # the function aliases work as metric functions too
    model.compile("adam", "mse", metrics=[km.huber, km.pearson_correlation])
    logs = model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)
    y_pred = np.asarray(model.predict(x, verbose=0))
    assert logs["huber"] == pytest.approx(float(np.mean(km.huber(y, y_pred))), rel=1e-5)
    expected = float(np.mean(km.pearson_correlation(y, y_pred)))
    assert logs["pearson_correlation"] == pytest.approx(expected, rel=1e-5)
