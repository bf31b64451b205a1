"""kerax.losses against hand-written NumPy formulas and against real Keras 3."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kerax import losses

EPS = 1e-7
B = 6  # batch size of every generated case


# ---------------------------------------------------------------- NumPy references
def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def _logsumexp(x, axis=-1):
    m = np.max(x, axis, keepdims=True)
    return np.squeeze(m, axis) + np.log(np.sum(np.exp(x - m), axis))


def _norm(x):
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), EPS)


def _bce(t, p):
    p = np.clip(p, EPS, 1 - EPS)
    return -(t * np.log(p) + (1 - t) * np.log(1 - p))


def _probs(p):
    return np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)


def _signed(t):
    return 2 * t - 1 if np.isin(t, [0, 1]).all() else t


def _huber(t, p, delta=1.0):
    e = np.abs(p - t)
    return np.mean(np.where(e <= delta, 0.5 * e**2, delta * e - 0.5 * delta**2), -1)


def _bfce(
    t, p, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0
):
    t = t * (1 - label_smoothing) + 0.5 * label_smoothing
    p = 1 / (1 + np.exp(-p)) if from_logits else p
    p_t = t * p + (1 - t) * (1 - p)
    out = (1 - p_t) ** gamma * _bce(t, p)
    if apply_class_balancing:
        out = (t * alpha + (1 - t) * (1 - alpha)) * out
    return out.mean(-1)


def _cfce(t, p, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0):
    t = t * (1 - label_smoothing) + label_smoothing / t.shape[-1]
    p = _probs(_softmax(p) if from_logits else p)
    return np.sum(alpha * (1 - p) ** gamma * -t * np.log(p), -1)


def _cce(t, p, from_logits=False, label_smoothing=0.0):
    t = t * (1 - label_smoothing) + label_smoothing / t.shape[-1]
    logp = p - _logsumexp(p)[..., None] if from_logits else np.log(_probs(p))
    return -np.sum(t * logp, -1)


def _scce(t, p, from_logits=False, ignore_class=None):
    t = t.astype(int)
    valid = np.ones(t.shape, bool) if ignore_class is None else t != ignore_class
    one_hot = np.eye(p.shape[-1])[np.where(valid, t, 0)]
    return np.where(valid, _cce(one_hot, p, from_logits), 0.0)


def _ctc(labels, logits):
    """The CTC forward recursion over blank-interleaved labels, in log space."""
    out = []
    for lab, lg in zip(labels.astype(int), logits, strict=True):
        lp = lg - _logsumexp(lg)[:, None]
        ext = [0]
        for c in lab[: np.count_nonzero(lab)]:
            ext += [int(c), 0]
        alpha = np.full(len(ext), -np.inf)
        alpha[0], alpha[1] = lp[0, 0], lp[0, ext[1]]
        for step in range(1, len(lp)):
            prev = alpha.copy()
            for s in range(len(ext)):
                a = prev[s]
                if s > 0:
                    a = np.logaddexp(a, prev[s - 1])
                if s > 1 and ext[s] != 0 and ext[s] != ext[s - 2]:
                    a = np.logaddexp(a, prev[s - 2])
                alpha[s] = a + lp[step, ext[s]]
        out.append(-np.logaddexp(alpha[-1], alpha[-2]))
    return np.array(out)


def _circle(labels, emb, gamma=80.0, margin=0.4, remove_diagonal=True):
    """Sun et al. 2020 in similarity form: s = 1 - cosine distance."""
    s = 1 - np.maximum(1 - emb @ emb.T, 0)
    pos = labels[:, None] == labels[None, :]
    neg = ~pos
    if remove_diagonal:
        pos &= ~np.eye(len(labels), dtype=bool)
    logit_p = -gamma * np.maximum(1 + margin - s, 0) * (s - (1 - margin))
    logit_n = gamma * np.maximum(s + margin, 0) * (s - margin)

    def lse(x, m):
        rows = zip(x, m, strict=True)
        return np.array([_logsumexp(r[k]) if k.any() else -np.inf for r, k in rows])

    return np.logaddexp(0.0, lse(logit_p, pos) + lse(logit_n, neg))


def _dice(t, p, axis=None):
    inter = np.sum(t * p, axis)
    return 1 - 2 * inter / (np.sum(t, axis) + np.sum(p, axis) + EPS)


def _tversky(t, p, alpha=0.5, beta=0.5, axis=None):
    tp = np.sum(t * p, axis)
    fn, fp = np.sum(t * (1 - p), axis), np.sum((1 - t) * p, axis)
    return 1 - tp / (tp + alpha * fn + beta * fp + EPS)


def _gce(t, p, q):
    return (1 - p[np.arange(len(t)), t.astype(int)] ** q) / q


NUMPY = {
    "mean_squared_error": lambda t, p: np.mean((t - p) ** 2, -1),
    "mean_absolute_error": lambda t, p: np.mean(np.abs(t - p), -1),
    "mean_absolute_percentage_error": lambda t, p: (
        100 * np.mean(np.abs(t - p) / np.maximum(np.abs(t), EPS), -1)
    ),
    "mean_squared_logarithmic_error": lambda t, p: np.mean(
        (np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)) ** 2, -1
    ),
    "huber": _huber,
    "log_cosh": lambda t, p: np.mean(np.log(np.cosh(p - t)), -1),
    "cosine_similarity": lambda t, p, axis=-1: -np.sum(_norm(t) * _norm(p), -1),
    "binary_crossentropy": lambda t, p, from_logits=False, label_smoothing=0.0: _bce(
        t * (1 - label_smoothing) + 0.5 * label_smoothing,
        1 / (1 + np.exp(-p)) if from_logits else p,
    ).mean(-1),
    "categorical_crossentropy": _cce,
    "sparse_categorical_crossentropy": _scce,
    "binary_focal_crossentropy": _bfce,
    "categorical_focal_crossentropy": _cfce,
    "categorical_generalized_cross_entropy": _gce,
    "kl_divergence": lambda t, p: np.sum(
        np.clip(t, EPS, 1) * np.log(np.clip(t, EPS, 1) / np.clip(p, EPS, 1)), -1
    ),
    "poisson": lambda t, p: np.mean(p - t * np.log(p + EPS), -1),
    "hinge": lambda t, p: np.mean(np.maximum(1 - _signed(t) * p, 0), -1),
    "squared_hinge": lambda t, p: np.mean(np.maximum(1 - _signed(t) * p, 0) ** 2, -1),
    "categorical_hinge": lambda t, p: np.maximum(
        np.max((1 - t) * p, -1) - np.sum(t * p, -1) + 1, 0
    ),
    "dice": _dice,
    "tversky": _tversky,
    "ctc": lambda t, p: _ctc(t, p),
    "circle": _circle,
}


# ---------------------------------------------------------------- generated inputs
def make_inputs(kind, rng, n=B):
    f32 = np.float32
    if kind == "reg":
        return rng.normal(size=(n, 4)).astype(f32), rng.normal(size=(n, 4)).astype(f32)
    if kind == "pos":
        return rng.uniform(0, 3, (n, 4)).astype(f32), rng.uniform(0.1, 3, (n, 4)).astype(f32)
    if kind == "bin":
        return rng.integers(0, 2, (n, 4)).astype(f32), rng.uniform(0.02, 0.98, (n, 4)).astype(f32)
    if kind == "logit":
        return rng.integers(0, 2, (n, 4)).astype(f32), rng.normal(size=(n, 4)).astype(f32)
    if kind == "signed":
        return rng.choice([-1.0, 1.0], (n, 4)).astype(f32), rng.normal(size=(n, 4)).astype(f32)
    if kind in ("cat", "cat_logits", "sparse", "sparse_logits"):
        labels = rng.integers(0, 4, n)
        if kind.endswith("logits"):
            pred = rng.normal(size=(n, 4))
        else:
            pred = rng.dirichlet(np.ones(4), n)
        true = labels if kind.startswith("sparse") else np.eye(4)[labels]
        return true.astype(f32), pred.astype(f32)
    if kind == "dist":
        return rng.dirichlet(np.ones(4), n).astype(f32), rng.dirichlet(np.ones(4), n).astype(f32)
    if kind == "seg":
        t = rng.integers(0, 2, (n, 4, 4, 1)).astype(f32)
        return t, rng.uniform(0, 1, (n, 4, 4, 1)).astype(f32)
    if kind == "ctc":
        lengths = rng.integers(1, 4, n)
        labels = np.zeros((n, 3), f32)
        for i, length in enumerate(lengths):
            labels[i, :length] = rng.integers(1, 4, length)
        return labels, rng.normal(size=(n, 8, 4)).astype(f32)
    if kind == "circle":
        labels = np.arange(n) // 2  # every class twice: each sample has a positive
        return labels.astype(f32), _norm(rng.normal(size=(n, 4))).astype(f32)
    raise AssertionError(kind)


# name, class, kwargs, input kind. The function is `getattr(losses, name)`.
CASES = [
    ("mean_squared_error", losses.MeanSquaredError, {}, "reg"),
    ("mean_absolute_error", losses.MeanAbsoluteError, {}, "reg"),
    ("mean_absolute_percentage_error", losses.MeanAbsolutePercentageError, {}, "reg"),
    ("mean_squared_logarithmic_error", losses.MeanSquaredLogarithmicError, {}, "pos"),
    ("huber", losses.Huber, {"delta": 0.7}, "reg"),
    ("log_cosh", losses.LogCosh, {}, "reg"),
    ("cosine_similarity", losses.CosineSimilarity, {"axis": -1}, "reg"),
    ("binary_crossentropy", losses.BinaryCrossentropy, {}, "bin"),
    ("binary_crossentropy", losses.BinaryCrossentropy, {"label_smoothing": 0.2}, "bin"),
    ("binary_crossentropy", losses.BinaryCrossentropy, {"from_logits": True}, "logit"),
    (
        "binary_crossentropy",
        losses.BinaryCrossentropy,
        {"from_logits": True, "label_smoothing": 0.1},
        "logit",
    ),
    ("categorical_crossentropy", losses.CategoricalCrossentropy, {}, "cat"),
    ("categorical_crossentropy", losses.CategoricalCrossentropy, {"label_smoothing": 0.1}, "cat"),
    (
        "categorical_crossentropy",
        losses.CategoricalCrossentropy,
        {"from_logits": True, "label_smoothing": 0.3},
        "cat_logits",
    ),
    ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy, {}, "sparse"),
    (
        "sparse_categorical_crossentropy",
        losses.SparseCategoricalCrossentropy,
        {"from_logits": True},
        "sparse_logits",
    ),
    (
        "sparse_categorical_crossentropy",
        losses.SparseCategoricalCrossentropy,
        {"ignore_class": 2},
        "sparse",
    ),
    ("binary_focal_crossentropy", losses.BinaryFocalCrossentropy, {}, "bin"),
    (
        "binary_focal_crossentropy",
        losses.BinaryFocalCrossentropy,
        {"apply_class_balancing": True, "alpha": 0.3, "gamma": 1.5, "label_smoothing": 0.1},
        "bin",
    ),
    ("binary_focal_crossentropy", losses.BinaryFocalCrossentropy, {"from_logits": True}, "logit"),
    ("categorical_focal_crossentropy", losses.CategoricalFocalCrossentropy, {}, "cat"),
    (
        "categorical_focal_crossentropy",
        losses.CategoricalFocalCrossentropy,
        {"from_logits": True, "label_smoothing": 0.1, "gamma": 1.0},
        "cat_logits",
    ),
    (
        "categorical_generalized_cross_entropy",
        losses.CategoricalGeneralizedCrossEntropy,
        {"q": 0.3},
        "sparse",
    ),
    ("kl_divergence", losses.KLDivergence, {}, "dist"),
    ("poisson", losses.Poisson, {}, "pos"),
    ("hinge", losses.Hinge, {}, "bin"),
    ("hinge", losses.Hinge, {}, "signed"),
    ("squared_hinge", losses.SquaredHinge, {}, "signed"),
    ("categorical_hinge", losses.CategoricalHinge, {}, "cat_logits"),
    ("dice", losses.Dice, {}, "seg"),
    ("dice", losses.Dice, {"axis": (1, 2, 3)}, "seg"),
    ("tversky", losses.Tversky, {"alpha": 0.3, "beta": 0.7, "axis": (1, 2, 3)}, "seg"),
    ("ctc", losses.CTC, {}, "ctc"),
    ("circle", losses.Circle, {"gamma": 10.0, "margin": 0.25}, "circle"),
]
IDS = [f"{name}-{i}" for i, (name, *_rest) in enumerate(CASES)]
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None]


@pytest.mark.parametrize("name,cls,kwargs,kind", CASES, ids=IDS)
def test_function_matches_numpy(name, cls, kwargs, kind, rng):
    t, p = make_inputs(kind, rng)
    got = getattr(losses, name)(t, p, **kwargs)
    want = NUMPY[name](t, p, **kwargs)
    np.testing.assert_allclose(np.asarray(got), want, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("name,cls,kwargs,kind", CASES, ids=IDS)
def test_class_default_reduction_matches_numpy(name, cls, kwargs, kind, rng):
    t, p = make_inputs(kind, rng)
    per_sample = NUMPY[name](t, p, **kwargs)
    if name == "circle":  # Keras averages over samples that have a positive loss only
        want = per_sample[per_sample > 0].mean()
    elif name == "sparse_categorical_crossentropy" and "ignore_class" in kwargs:
        want = per_sample.sum() / np.sum(t != kwargs["ignore_class"])
    else:
        want = np.mean(per_sample)
    np.testing.assert_allclose(float(cls(**kwargs)(t, p)), want, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_every_reduction_with_sample_weight(reduction, rng):
    t, p = make_inputs("reg", rng)
    values = NUMPY["mean_squared_error"](t, p)
    sw = rng.uniform(0, 2, B).astype(np.float32)
    want = {
        "sum_over_batch_size": np.sum(values * sw) / B,
        "mean": np.sum(values * sw) / B,
        "sum": np.sum(values * sw),
        "mean_with_sample_weight": np.sum(values * sw) / np.sum(sw),
        "none": values * sw,
        None: values * sw,
    }[reduction]
    got = losses.MeanSquaredError(reduction=reduction)(t, p, sample_weight=sw)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5)
    # (batch, 1) weights line up with (batch,) values (which, as in Keras, come back as
    # (batch, 1) when unreduced).
    got_col = losses.MeanSquaredError(reduction=reduction)(t, p, sample_weight=sw[:, None])
    np.testing.assert_allclose(np.asarray(got_col).reshape(np.shape(want)), want, rtol=1e-5)


def test_sample_weight_broadcasts_over_time_axis(rng):
    t, p = rng.normal(size=(2, B, 3, 4)).astype(np.float32)
    sw = rng.uniform(0, 2, B).astype(np.float32)
    values = np.mean((t - p) ** 2, -1)  # (batch, time)
    got = losses.MeanSquaredError(reduction="mean_with_sample_weight")(t, p, sample_weight=sw)
    want = np.sum(values * sw[:, None]) / np.sum(np.broadcast_to(sw[:, None], values.shape))
    np.testing.assert_allclose(float(got), want, rtol=1e-5)


def test_sample_weight_zero_total_gives_zero_not_nan(rng):
    t, p = make_inputs("reg", rng)
    loss = losses.MeanSquaredError(reduction="mean_with_sample_weight")
    assert float(loss(t, p, sample_weight=np.zeros(B, np.float32))) == 0.0


# ------------------------------------------------ padding + mask (the trainer's last batch)
# Circle couples the samples of a batch, so padding changes it by design.
PAD_CASES = [c for c in CASES if c[0] != "circle"]
PAD_IDS = [i for c, i in zip(CASES, IDS, strict=True) if c[0] != "circle"]


def _pad(x, extra):
    return np.concatenate([x, np.zeros((extra,) + x.shape[1:], x.dtype)])


@pytest.mark.parametrize("name,cls,kwargs,kind", PAD_CASES, ids=PAD_IDS)
def test_padded_masked_batch_equals_unpadded(name, cls, kwargs, kind, rng):
    t, p = make_inputs(kind, rng)
    sw = rng.uniform(0.5, 2, B).astype(np.float32)
    mask = np.array([1] * B + [0, 0], np.float32)
    sw_padded = np.concatenate([sw, [7.0, 7.0]]).astype(np.float32)  # ignored: masked
    for reduction in ("sum_over_batch_size", "mean", "sum", "mean_with_sample_weight"):
        loss = cls(reduction=reduction, **kwargs)
        for weight, weight_padded in ((None, None), (sw, sw_padded)):
            want = loss(t, p, sample_weight=weight)
            got = loss(_pad(t, 2), _pad(p, 2), sample_weight=weight_padded, mask=mask)
            np.testing.assert_allclose(float(got), float(want), rtol=1e-5, atol=1e-6)


def test_padded_batch_gradients_match_unpadded(rng):
    t, logits = make_inputs("cat_logits", rng, n=5)
    mask = np.array([1, 1, 1, 1, 1, 0, 0, 0], np.float32)
    loss = losses.CategoricalCrossentropy(from_logits=True)
    g = jax.jit(jax.grad(lambda x: loss(t, x)))(logits)
    g_pad = jax.jit(jax.grad(lambda x: loss(_pad(t, 3), x, mask=mask)))(_pad(logits, 3))
    np.testing.assert_allclose(np.asarray(g_pad[:5]), np.asarray(g), rtol=1e-5, atol=1e-7)
    assert np.all(np.asarray(g_pad[5:]) == 0)


def test_mask_over_time_steps_with_padded_batch(rng):
    # (batch, time) values, a (batch,) mask, and ignore_class masking time steps.
    labels = rng.integers(0, 4, (5, 3)).astype(np.float32)
    probs = rng.dirichlet(np.ones(4), (5, 3)).astype(np.float32)
    mask = np.array([1, 1, 1, 1, 1, 0, 0], np.float32)
    loss = jax.jit(losses.SparseCategoricalCrossentropy(ignore_class=0))
    want = loss(labels, probs)
    padded_probs = np.concatenate([probs, np.full((2, 3, 4), 0.25, np.float32)])
    padded_labels = np.concatenate([labels, np.ones((2, 3), np.float32)])  # valid labels
    got = loss(padded_labels, padded_probs, mask=mask)
    ref = _scce(labels.reshape(-1), probs.reshape(-1, 4), ignore_class=0)
    np.testing.assert_allclose(float(got), float(want), rtol=1e-6)
    np.testing.assert_allclose(float(want), ref.sum() / np.sum(labels != 0), rtol=1e-5)


def test_all_masked_gives_zero(rng):
    t, p = make_inputs("reg", rng)
    assert float(losses.MeanSquaredError()(t, p, mask=np.zeros(B))) == 0.0


# ---------------------------------------------------------------- jit, grads, dtypes
@pytest.mark.parametrize("name,cls,kwargs,kind", CASES, ids=IDS)
def test_jit_equals_eager_and_gradients_finite(name, cls, kwargs, kind, rng):
    t, p = make_inputs(kind, rng)
    sw = rng.uniform(0, 2, B).astype(np.float32)
    loss = cls(**kwargs)
    eager = loss(t, p, sample_weight=sw)
    value, grad = jax.jit(jax.value_and_grad(lambda b, a, w: loss(a, b, sample_weight=w)))(p, t, sw)
    np.testing.assert_allclose(float(value), float(eager), rtol=1e-5, atol=1e-6)
    assert grad.shape == p.shape and bool(jnp.all(jnp.isfinite(grad)))


@pytest.mark.parametrize(
    "name,p",
    [
        ("binary_crossentropy", [[0.0, 1.0]]),
        ("categorical_crossentropy", [[0.0, 1.0]]),
        ("binary_focal_crossentropy", [[0.0, 1.0]]),
        ("categorical_focal_crossentropy", [[0.0, 1.0]]),
        ("kl_divergence", [[0.0, 1.0]]),
        ("cosine_similarity", [[0.0, 0.0]]),
        ("mean_squared_logarithmic_error", [[0.0, 0.0]]),
    ],
)
def test_gradients_finite_at_saturated_predictions(name, p):
    t = jnp.array([[1.0, 0.0]])
    grad = jax.jit(jax.grad(lambda b: jnp.sum(getattr(losses, name)(t, b))))(jnp.array(p))
    assert bool(jnp.all(jnp.isfinite(grad)))


def test_circle_gradient_finite_when_a_sample_has_no_positive(rng):
    labels, emb = make_inputs("circle", rng)
    labels[0] = 99.0
    grad = jax.jit(jax.grad(lambda e: losses.Circle()(labels, e)))(emb)
    assert bool(jnp.all(jnp.isfinite(grad)))


def test_compiles_once():
    traces = []
    loss = losses.CategoricalCrossentropy(label_smoothing=0.1)

    @jax.jit
    def step(t, p):
        traces.append(1)
        return loss(t, p)

    t, p = make_inputs("cat", np.random.default_rng(0))
    step(t, p)
    step(t + 0.0, p * 0.5)
    assert len(traces) == 1


def test_integer_targets_are_cast_and_dtype_follows_loss():
    t = np.array([[1, 0], [0, 1]])
    p = np.array([[0.5, 0.5], [0.2, 0.8]], np.float32)
    value = losses.mean_squared_error(t, p)
    assert value.dtype == jnp.float32
    assert losses.MeanSquaredError(dtype="bfloat16")(t, p).dtype == jnp.bfloat16


# ---------------------------------------------------------------- shapes and errors
def test_rank_one_targets_against_column_predictions(rng):
    t, p = rng.uniform(0, 1, (2, B)).astype(np.float32)
    for fn in (losses.mean_squared_error, losses.binary_crossentropy, losses.hinge):
        np.testing.assert_allclose(fn(t, p[:, None]), fn(t[:, None], p[:, None]), rtol=1e-6)
        np.testing.assert_allclose(fn(t[:, None], p), fn(t[:, None], p[:, None]), rtol=1e-6)


def test_sparse_accepts_column_labels(rng):
    t, p = make_inputs("sparse", rng)
    np.testing.assert_allclose(
        losses.sparse_categorical_crossentropy(t[:, None], p),
        losses.sparse_categorical_crossentropy(t, p),
    )


@pytest.mark.parametrize("labels", [np.zeros(32), np.zeros((32, 1)), np.zeros(32, np.int32)])
@pytest.mark.parametrize(
    "fn",
    [
        losses.categorical_crossentropy,
        losses.CategoricalCrossentropy(),
        losses.categorical_focal_crossentropy,
        losses.categorical_hinge,
    ],
)
def test_class_index_labels_to_categorical_loss_is_an_error(fn, labels):
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy") as err:
        fn(labels, np.full((32, 10), 0.1, np.float32))
    assert "kerax.utils.to_categorical" in str(err.value)
    assert "(32, 10)" in str(err.value)


@pytest.mark.parametrize(
    "fn",
    [
        losses.mean_squared_error,
        losses.binary_crossentropy,
        losses.kl_divergence,
        losses.MeanAbsoluteError(),
    ],
)
def test_shapes_that_would_broadcast_are_an_error(fn):
    with pytest.raises(ValueError, match=r"y_true.shape=\(32, 10\), y_pred.shape=\(32, 1\)"):
        fn(np.zeros((32, 10)), np.zeros((32, 1), np.float32))


def test_one_hot_labels_to_sparse_loss_is_an_error():
    with pytest.raises(ValueError, match="use categorical_crossentropy"):
        losses.sparse_categorical_crossentropy(np.eye(3), np.full((3, 3), 1 / 3))


def test_single_class_categorical_warns():
    with pytest.warns(UserWarning, match="binary_crossentropy"):
        losses.categorical_crossentropy(np.ones((4, 1)), np.ones((4, 1), np.float32))


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: losses.MeanSquaredError(reduction="avg"), "reduction='avg'"),
        (lambda: losses.BinaryCrossentropy(label_smoothing=1.5), "label_smoothing=1.5"),
        (lambda: losses.BinaryCrossentropy(axis=True), "axis=True"),
        (lambda: losses.BinaryCrossentropy(from_logits="yes"), "from_logits='yes'"),
        (lambda: losses.SparseCategoricalCrossentropy(ignore_class=1.5), "ignore_class=1.5"),
        (lambda: losses.BinaryFocalCrossentropy(gamma=-1.0), "gamma=-1.0"),
        (lambda: losses.Huber(delta=0.0), "delta=0.0"),
        (lambda: losses.CategoricalGeneralizedCrossEntropy(q=1.0), "q=1.0"),
        (lambda: losses.Dice(axis="all"), "axis='all'"),
    ],
)
def test_constructor_errors(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_call_time_errors(rng):
    with pytest.raises(ValueError, match=r"y_true.shape=\(2, 3, 1\)"):
        losses.ctc(np.zeros((2, 3, 1)), np.zeros((2, 5, 4)))
    with pytest.raises(ValueError, match=r"y_pred.shape=\(2, 5\)"):
        losses.ctc(np.zeros((2, 3)), np.zeros((2, 5)))
    with pytest.raises(ValueError, match="same batch size"):
        losses.ctc(np.zeros((2, 3)), np.zeros((3, 5, 4)))
    t, p = make_inputs("reg", rng)
    with pytest.raises(ValueError, match=r"sample_weight of shape \(4,\)"):
        losses.MeanSquaredError()(t, p, sample_weight=np.ones(4))
    with pytest.raises(NotImplementedError, match="override `call"):
        losses.Loss()(t, p)


# ---------------------------------------------------------------- get / serialization
def test_get_resolves_like_keras():
    assert losses.get("mse") is losses.mean_squared_error
    assert losses.get("categorical_crossentropy") is losses.categorical_crossentropy
    assert losses.get("kullback_leibler_divergence") is losses.kl_divergence
    assert losses.get("logcosh") is losses.log_cosh
    assert isinstance(losses.get("CategoricalCrossentropy"), losses.CategoricalCrossentropy)
    loss = losses.get({"class_name": "BinaryCrossentropy", "config": {"from_logits": True}})
    assert isinstance(loss, losses.BinaryCrossentropy) and loss.from_logits
    instance = losses.Huber()
    assert losses.get(instance) is instance
    assert losses.get(np.sum) is np.sum
    assert isinstance(losses.get(losses.Poisson), losses.Poisson)
    assert losses.get(None) is None


def test_get_errors_list_valid_names():
    with pytest.raises(ValueError, match="mean_squared_error") as err:
        losses.get("mean_square_error")
    assert "Received: identifier='mean_square_error'" in str(err.value)
    with pytest.raises(ValueError, match="Could not interpret"):
        losses.get(3)


def test_default_names():
    assert losses.MeanSquaredError().name == "mean_squared_error"
    assert losses.CategoricalCrossentropy().name == "categorical_crossentropy"
    assert losses.Huber().name == "huber_loss"
    assert losses.LossFunctionWrapper(losses.huber).name == "huber"
    assert losses.LossFunctionWrapper(lambda t, p: t).name.startswith("loss_function_wrapper")
    assert losses.MeanSquaredError(dtype="mixed_bfloat16").dtype == "bfloat16"
    with pytest.raises(ValueError, match="dtype='float33'"):
        losses.MeanSquaredError(dtype="float33")


@pytest.mark.parametrize("name,cls,kwargs,kind", CASES, ids=IDS)
def test_config_round_trip(name, cls, kwargs, kind, rng):
    loss = cls(reduction="sum", name="custom", **kwargs)
    config = loss.get_config()
    assert config["name"] == "custom" and config["reduction"] == "sum"
    for key, value in kwargs.items():
        assert config[key] == value
    again = losses.deserialize(json.loads(json.dumps(losses.serialize(loss))))
    assert type(again) is cls and again.get_config() == cls.from_config(config).get_config()
    t, p = make_inputs(kind, rng)
    np.testing.assert_allclose(float(again(t, p)), float(loss(t, p)), rtol=1e-6)


def test_serialize_functions_and_wrappers():
    config = losses.serialize(losses.mean_squared_error)
    assert config == {
        "module": "builtins",
        "class_name": "function",
        "config": "mean_squared_error",
        "registered_name": "function",
    }
    assert losses.deserialize(config) is losses.mean_squared_error
    assert losses.deserialize("mse") is losses.mean_squared_error
    wrapper = losses.LossFunctionWrapper(losses.huber, reduction="sum", delta=2.0)
    again = losses.deserialize(json.loads(json.dumps(losses.serialize(wrapper))))
    assert again.fn is losses.huber and again.get_config() == wrapper.get_config()
    with pytest.raises(ValueError, match="Unknown loss"):
        losses.deserialize({"class_name": "NoSuchLoss", "config": {}})


def test_custom_loss_subclass_round_trip():
    class ScaledMSE(losses.Loss):
        def __init__(self, scale=2.0, **kwargs):
            super().__init__(**kwargs)
            self.scale = scale

        def call(self, y_true, y_pred):
            return self.scale * jnp.mean((y_true - y_pred) ** 2, axis=-1)

        def get_config(self):
            return {**super().get_config(), "scale": self.scale}

    loss = ScaledMSE(scale=3.0)
    assert loss.name.startswith("scaled_mse")
    assert float(loss(np.zeros((2, 2)), np.ones((2, 2)))) == 3.0
    config = losses.serialize(loss)
    assert config["module"] == __name__ and config["registered_name"] == "ScaledMSE"
    again = losses.deserialize(config, custom_objects={"ScaledMSE": ScaledMSE})
    assert again.scale == 3.0


# ---------------------------------------------------------------- parity with Keras 3
def _keras_pair(keras, name, cls):
    return getattr(keras.losses, name), getattr(keras.losses, cls.__name__)


@pytest.mark.keras
@pytest.mark.parametrize("name,cls,kwargs,kind", CASES, ids=IDS)
def test_keras_parity(name, cls, kwargs, kind, rng, keras_oracle):
    k_fn, k_cls = _keras_pair(keras_oracle, name, cls)
    t, p = make_inputs(kind, rng)
    sw = rng.uniform(0, 2, B).astype(np.float32)
    np.testing.assert_allclose(
        np.asarray(getattr(losses, name)(t, p, **kwargs)),
        np.asarray(k_fn(t, p, **kwargs)),
        rtol=1e-5,
        atol=1e-5,
    )
    for weight in (None, sw):
        np.testing.assert_allclose(
            float(cls(**kwargs)(t, p, sample_weight=weight)),
            float(k_cls(**kwargs)(t, p, sample_weight=weight)),
            rtol=1e-5,
            atol=1e-5,
        )


@pytest.mark.keras
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "cls,kwargs,kind",
    [
        (losses.MeanSquaredError, {}, "reg"),
        (losses.SparseCategoricalCrossentropy, {"ignore_class": 1}, "sparse"),
        (losses.Dice, {}, "seg"),
        (losses.Circle, {}, "circle"),
    ],
)
def test_keras_parity_reductions(cls, kwargs, kind, reduction, rng, keras_oracle):
    t, p = make_inputs(kind, rng)
    sw = rng.uniform(0, 2, B).astype(np.float32)
    k_cls = getattr(keras_oracle.losses, cls.__name__)
    for weight in (None, sw):
        got = cls(reduction=reduction, **kwargs)(t, p, sample_weight=weight)
        want = k_cls(reduction=reduction, **kwargs)(t, p, sample_weight=weight)
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-5)


@pytest.mark.keras
def test_keras_reads_our_configs_and_we_read_theirs(keras_oracle):
    ours = losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)
    theirs = keras_oracle.losses.deserialize(losses.serialize(ours))
    assert theirs.get_config() == ours.get_config()
    assert (
        keras_oracle.losses.deserialize(losses.serialize(losses.mean_squared_error)).__name__
        == "mean_squared_error"
    )
    back = losses.deserialize(keras_oracle.losses.serialize(keras_oracle.losses.Poisson()))
    assert isinstance(back, losses.Poisson)
    fn = losses.deserialize(keras_oracle.losses.serialize(keras_oracle.losses.hinge))
    assert fn is losses.hinge
