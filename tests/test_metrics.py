"""kerax.metrics: numbers against NumPy/scikit-learn and real Keras 3, the pure/stateful
contract (jit, vmap, merge, zero-weight padding), configs, "accuracy" resolution, errors."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn import metrics as skm

import kerax.metrics as km

N = 48  # rows per batch
PAD = 5  # zero-weight rows the padding test appends; the second batch has N + PAD rows

# -- data ---------------------------------------------------------------------------------


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def make_batch(kind, rng, n=N):
    """One batch of update_state arguments (without sample_weight) for a data kind."""
    f32 = np.float32
    if kind == "values":
        return (rng.normal(size=(n, 3)).astype(f32),)
    if kind == "exact":
        return rng.integers(0, 3, (n, 1)).astype(f32), rng.integers(0, 3, (n, 1)).astype(f32)
    if kind in ("binary", "binary_flat", "logits", "multilabel"):
        shape = {"binary": (n, 1), "binary_flat": (n,), "logits": (n, 1), "multilabel": (n, 4)}
        y = rng.integers(0, 2, shape[kind]).astype(f32)
        if kind == "logits":
            return y, (2.0 * rng.normal(size=y.shape) + 2 * y - 1).astype(f32)
        return y, np.clip(0.4 * y + 0.6 * rng.uniform(size=y.shape), 0, 1).astype(f32)
    if kind.startswith(("categorical", "sparse")):
        labels = rng.integers(0, 5, n)
        logits = rng.normal(size=(n, 5)) + 1.5 * np.eye(5)[labels]
        y_pred = (logits if kind.endswith("logits") else _softmax(logits)).astype(f32)
        if kind.startswith("categorical"):
            return np.eye(5, dtype=f32)[labels], y_pred
        return (labels[:, None] if kind == "sparse_col" else labels).astype(np.int32), y_pred
    if kind == "regression":
        y = rng.normal(size=(n, 3)).astype(f32)
        return y, (y + 0.5 * rng.normal(size=(n, 3))).astype(f32)
    if kind == "positive":
        return rng.uniform(0, 3, (n, 3)).astype(f32), rng.uniform(0.1, 3, (n, 3)).astype(f32)
    if kind == "probs":
        return (
            _softmax(rng.normal(size=(n, 5))).astype(f32),
            _softmax(rng.normal(size=(n, 5))).astype(f32),
        )
    if kind == "signed":
        return (rng.choice([-1.0, 1.0], (n, 3)).astype(f32), rng.normal(size=(n, 3)).astype(f32))
    raise AssertionError(kind)


def make_weight(rng, n=N):
    w = rng.uniform(0.1, 2.0, n).astype(np.float32)
    w[rng.uniform(size=n) < 0.2] = 0.0
    return w


def concat(batches):
    return tuple(np.concatenate(parts) for parts in zip(*batches, strict=True))


def wmean(values, w):
    values = values.reshape(len(values), -1).mean(-1) if values.ndim > 1 else values
    return np.sum(values * w) / np.sum(w)


# -- independent references (NumPy / scikit-learn) over all rows and weights ---------------


def _ce_probs(p):
    p = p / p.sum(-1, keepdims=True)
    return np.clip(p, 1e-7, 1 - 1e-7)


def _log_softmax(x):
    return (
        x
        - x.max(-1, keepdims=True)
        - np.log(np.exp(x - x.max(-1, keepdims=True)).sum(-1, keepdims=True))
    )


def _counts(y, p, t, w):
    y, p = y.reshape(len(y), -1) != 0, p.reshape(len(p), -1) > t
    w = np.broadcast_to(w[:, None], y.shape)
    return {
        "tp": np.sum(w * (y & p)),
        "fp": np.sum(w * (~y & p)),
        "tn": np.sum(w * (~y & ~p)),
        "fn": np.sum(w * (y & ~p)),
    }


def _at(constrained, dependent, value):
    def ref(a, w):
        best = 0.0
        for t in [0.0] + [(i + 1) / 199 for i in range(198)] + [1.0]:
            c = _counts(*a, t, w)
            rates = {
                "recall": c["tp"] / max(c["tp"] + c["fn"], 1e-30),
                "precision": c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0,
                "specificity": c["tn"] / max(c["tn"] + c["fp"], 1e-30),
            }
            if rates[constrained] >= value:
                best = max(best, rates[dependent])
        return best

    return ref


def _hinge_labels(y):
    return 2 * y - 1 if np.all((y == 0) | (y == 1)) else y


def _fbeta_ref(beta, average, threshold):
    def ref(a, w):
        y, p = a
        pred = (p > threshold) if threshold else (p >= p.max(-1, keepdims=True)) & (abs(p) > 1e-9)
        return skm.fbeta_score(
            y, pred.astype(int), beta=beta, average=average, sample_weight=w, zero_division=0
        )

    return ref


def _top2(labels, p):
    at = np.take_along_axis(p, labels[:, None], -1)
    return (1 + np.sum(p > at, -1)) <= 2


def _r2_adjusted(a, w):
    r2 = skm.r2_score(a[0], a[1], sample_weight=w, multioutput="variance_weighted")
    n = np.sum(w != 0) * a[0].shape[1]  # Keras counts labelled values, not rows
    return 1 - (1 - r2) * (n - 1) / (n - 2 - 1)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# (class name, kwargs, data kind, reference(args, weights) -> value or None, tolerance)
CASES = [
    ("Mean", {}, "values", lambda a, w: wmean(a[0], w), 1e-5),
    ("Sum", {}, "values", lambda a, w: np.sum(a[0].sum(-1) * w), 1e-4),
    ("Accuracy", {}, "exact", lambda a, w: wmean((a[0] == a[1])[:, 0], w), 1e-6),
    ("BinaryAccuracy", {}, "binary", lambda a, w: wmean(((a[1] > 0.5) == a[0])[:, 0], w), 1e-6),
    (
        "BinaryAccuracy",
        {"threshold": 0.7},
        "binary_flat",
        lambda a, w: wmean((a[1] > 0.7) == a[0], w),
        1e-6,
    ),
    (
        "CategoricalAccuracy",
        {},
        "categorical",
        lambda a, w: wmean(a[0].argmax(-1) == a[1].argmax(-1), w),
        1e-6,
    ),
    (
        "SparseCategoricalAccuracy",
        {},
        "sparse",
        lambda a, w: wmean(a[0] == a[1].argmax(-1), w),
        1e-6,
    ),
    (
        "SparseCategoricalAccuracy",
        {},
        "sparse_col",
        lambda a, w: wmean(a[0][:, 0] == a[1].argmax(-1), w),
        1e-6,
    ),
    (
        "TopKCategoricalAccuracy",
        {"k": 2},
        "categorical",
        lambda a, w: wmean(_top2(a[0].argmax(-1), a[1]), w),
        1e-6,
    ),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, "sparse", lambda a, w: wmean(_top2(*a), w), 1e-6),
    ("MeanAbsoluteError", {}, "regression", lambda a, w: wmean(abs(a[0] - a[1]), w), 1e-5),
    ("MeanSquaredError", {}, "regression", lambda a, w: wmean((a[0] - a[1]) ** 2, w), 1e-5),
    (
        "RootMeanSquaredError",
        {},
        "regression",
        lambda a, w: np.sqrt(wmean((a[0] - a[1]) ** 2, w)),
        1e-5,
    ),
    (
        "MeanAbsolutePercentageError",
        {},
        "regression",
        lambda a, w: wmean(100 * abs((a[0] - a[1]) / np.maximum(abs(a[0]), 1e-7)), w),
        1e-4,
    ),
    (
        "MeanSquaredLogarithmicError",
        {},
        "positive",
        lambda a, w: wmean((np.log1p(a[1]) - np.log1p(np.maximum(a[0], 1e-7))) ** 2, w),
        1e-5,
    ),
    (
        "CosineSimilarity",
        {},
        "regression",
        lambda a, w: wmean(-np.diag(1 - skm.pairwise.cosine_similarity(a[0], a[1])) + 1, w),
        1e-5,
    ),
    ("LogCoshError", {}, "regression", lambda a, w: wmean(np.log(np.cosh(a[1] - a[0])), w), 1e-5),
    ("R2Score", {}, "regression", lambda a, w: skm.r2_score(*a, sample_weight=w), 1e-5),
    (
        "R2Score",
        {"class_aggregation": None},
        "regression",
        lambda a, w: skm.r2_score(*a, sample_weight=w, multioutput="raw_values"),
        1e-5,
    ),
    (
        "R2Score",
        {"class_aggregation": "variance_weighted_average", "num_regressors": 2},
        "regression",
        _r2_adjusted,
        1e-5,
    ),
    ("TruePositives", {}, "binary", lambda a, w: _counts(*a, 0.5, w)["tp"], 1e-5),
    (
        "FalsePositives",
        {"thresholds": [0.3, 0.6]},
        "binary",
        lambda a, w: [_counts(*a, t, w)["fp"] for t in (0.3, 0.6)],
        1e-5,
    ),
    (
        "TrueNegatives",
        {"thresholds": 0.4},
        "multilabel",
        lambda a, w: _counts(*a, 0.4, w)["tn"],
        1e-5,
    ),
    ("FalseNegatives", {}, "binary_flat", lambda a, w: _counts(*a, 0.5, w)["fn"], 1e-5),
    (
        "Precision",
        {},
        "binary",
        lambda a, w: skm.precision_score(a[0], a[1] > 0.5, sample_weight=w),
        1e-5,
    ),
    (
        "Precision",
        {"thresholds": [0.3, 0.7]},
        "binary",
        lambda a, w: [skm.precision_score(a[0], a[1] > t, sample_weight=w) for t in (0.3, 0.7)],
        1e-5,
    ),
    ("Precision", {"top_k": 2}, "multilabel", None, 0),
    (
        "Precision",
        {"class_id": 1},
        "multilabel",
        lambda a, w: skm.precision_score(a[0][:, 1], a[1][:, 1] > 0.5, sample_weight=w),
        1e-5,
    ),
    (
        "Recall",
        {},
        "binary",
        lambda a, w: skm.recall_score(a[0], a[1] > 0.5, sample_weight=w),
        1e-5,
    ),
    (
        "Recall",
        {"thresholds": [0.2, 0.8], "class_id": 2},
        "multilabel",
        lambda a, w: [
            skm.recall_score(a[0][:, 2], a[1][:, 2] > t, sample_weight=w) for t in (0.2, 0.8)
        ],
        1e-5,
    ),
    ("Recall", {"top_k": 1}, "multilabel", None, 0),
    ("AUC", {}, "binary", lambda a, w: skm.roc_auc_score(*a, sample_weight=w), 1e-2),
    (
        "AUC",
        {"curve": "PR"},
        "binary",
        lambda a, w: skm.average_precision_score(*a, sample_weight=w),
        3e-2,
    ),
    (
        "AUC",
        {"summation_method": "minoring"},
        "binary",
        lambda a, w: skm.roc_auc_score(*a, sample_weight=w),
        2e-2,
    ),
    (
        "AUC",
        {"curve": "PR", "summation_method": "majoring"},
        "binary",
        lambda a, w: skm.average_precision_score(*a, sample_weight=w),
        5e-2,
    ),
    (
        "AUC",
        {"multi_label": True},
        "multilabel",
        lambda a, w: skm.roc_auc_score(*a, sample_weight=w, average="macro"),
        1e-2,
    ),
    (
        "AUC",
        {
            "multi_label": True,
            "num_labels": 4,
            "curve": "PR",
            "label_weights": [1.0, 2.0, 0.5, 1.0],
        },
        "multilabel",
        None,
        0,
    ),
    ("AUC", {"label_weights": [1.0, 2.0, 0.5, 1.0]}, "multilabel", None, 0),
    (
        "AUC",
        {"from_logits": True},
        "logits",
        lambda a, w: skm.roc_auc_score(a[0], _sigmoid(a[1]), sample_weight=w),
        1e-2,
    ),
    ("AUC", {"thresholds": [0.1, 0.4, 0.8]}, "binary", None, 0),
    ("AUC", {"num_thresholds": 50, "curve": "PRGAIN"}, "binary", None, 0),
    ("PrecisionAtRecall", {"recall": 0.6}, "binary", _at("recall", "precision", 0.6), 1e-5),
    ("RecallAtPrecision", {"precision": 0.6}, "binary", _at("precision", "recall", 0.6), 1e-5),
    (
        "SensitivityAtSpecificity",
        {"specificity": 0.5},
        "binary",
        _at("specificity", "recall", 0.5),
        1e-5,
    ),
    (
        "SpecificityAtSensitivity",
        {"sensitivity": 0.7},
        "binary",
        _at("recall", "specificity", 0.7),
        1e-5,
    ),
    ("F1Score", {}, "multilabel", _fbeta_ref(1.0, None, None), 1e-5),
    (
        "F1Score",
        {"average": "macro", "threshold": 0.5},
        "multilabel",
        _fbeta_ref(1.0, "macro", 0.5),
        1e-5,
    ),
    (
        "F1Score",
        {"average": "micro", "threshold": 0.5},
        "multilabel",
        _fbeta_ref(1.0, "micro", 0.5),
        1e-5,
    ),
    (
        "FBetaScore",
        {"average": "weighted", "beta": 2.0, "threshold": 0.4},
        "multilabel",
        _fbeta_ref(2.0, "weighted", 0.4),
        1e-5,
    ),
    (
        "BinaryCrossentropy",
        {},
        "binary",
        lambda a, w: skm.log_loss(a[0], a[1], sample_weight=w),
        1e-5,
    ),
    (
        "BinaryCrossentropy",
        {"from_logits": True, "label_smoothing": 0.1},
        "logits",
        lambda a, w: wmean(
            -(0.9 * a[0] + 0.05) * np.log(_sigmoid(a[1]))
            - (0.95 - 0.9 * a[0]) * np.log(_sigmoid(-a[1])),
            w,
        ),
        1e-5,
    ),
    (
        "CategoricalCrossentropy",
        {},
        "categorical",
        lambda a, w: wmean(-np.sum(a[0] * np.log(_ce_probs(a[1])), -1), w),
        1e-5,
    ),
    (
        "CategoricalCrossentropy",
        {"from_logits": True, "label_smoothing": 0.2},
        "categorical_logits",
        lambda a, w: wmean(-np.sum((0.8 * a[0] + 0.04) * _log_softmax(a[1]), -1), w),
        1e-5,
    ),
    (
        "SparseCategoricalCrossentropy",
        {},
        "sparse",
        lambda a, w: skm.log_loss(a[0], a[1], sample_weight=w, labels=range(5)),
        1e-5,
    ),
    (
        "SparseCategoricalCrossentropy",
        {"from_logits": True},
        "sparse_logits",
        lambda a, w: wmean(-np.take_along_axis(_log_softmax(a[1]), a[0][:, None], -1)[:, 0], w),
        1e-5,
    ),
    (
        "SparseCategoricalCrossentropy",
        {"ignore_class": 0},
        "sparse",
        lambda a, w: wmean(-np.log(_ce_probs(a[1])[np.arange(len(w)), a[0]]), w * (a[0] != 0)),
        1e-5,
    ),
    (
        "KLDivergence",
        {},
        "probs",
        lambda a, w: wmean(np.sum(a[0] * np.log(a[0] / a[1]), -1), w),
        1e-5,
    ),
    ("Poisson", {}, "positive", lambda a, w: wmean(a[1] - a[0] * np.log(a[1] + 1e-7), w), 1e-5),
    ("Hinge", {}, "binary", lambda a, w: wmean(np.maximum(1 - (2 * a[0] - 1) * a[1], 0), w), 1e-5),
    ("Hinge", {}, "signed", lambda a, w: wmean(np.maximum(1 - a[0] * a[1], 0), w), 1e-5),
    (
        "SquaredHinge",
        {},
        "signed",
        lambda a, w: wmean(np.maximum(1 - a[0] * a[1], 0) ** 2, w),
        1e-5,
    ),
    (
        "CategoricalHinge",
        {},
        "categorical",
        lambda a, w: wmean(
            np.maximum(np.max((1 - a[0]) * a[1], -1) - np.sum(a[0] * a[1], -1) + 1, 0), w
        ),
        1e-5,
    ),
]
IDS = [f"{c[0]}-{'-'.join(f'{k}={v}' for k, v in c[1].items())}-{c[2]}" for c in CASES]


def build(module, case):
    return getattr(module, case[0])(**case[1])


def run_eager(metric, batches, weights):
    for args, w in zip(batches, weights, strict=True):
        metric.update_state(*args, sample_weight=w)
    return np.asarray(metric.result())


def run_pure(metric, batches, weights, update=None):
    update = update or metric.update
    state = metric.initial_state(*batches[0])
    for args, w in zip(batches, weights, strict=True):
        state = update(state, *args, sample_weight=w)
    return state


def two_batches(case, rng):
    # Unequal sizes, as the last batch of an epoch; N + PAD also reuses the eager
    # operations the padding test compiles.
    sizes = (N, N + PAD)
    return [make_batch(case[2], rng, n) for n in sizes], [make_weight(rng, n) for n in sizes]


def assert_close(a, b, tol=1e-6):
    np.testing.assert_allclose(
        np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=tol, atol=tol
    )


def plain(metric):
    """A metric's config without its name, arrays as lists (Keras keeps arrays in configs)."""
    return {
        k: np.asarray(v).tolist() if hasattr(v, "shape") else v
        for k, v in metric.get_config().items()
        if k != "name"
    }


def state_close(s1, s2, tol=1e-6):
    jax.tree_util.tree_map(lambda a, b: assert_close(a, b, tol), s1, s2)


# -- numbers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c[3] is not None],
    ids=[i for c, i in zip(CASES, IDS, strict=True) if c[3] is not None],
)
def test_matches_reference(case, rng):
    batches, weights = two_batches(case, rng)
    got = run_eager(build(km, case), batches, weights)
    assert_close(got, case[3](concat(batches), np.concatenate(weights)), case[4])


@pytest.mark.keras
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_matches_keras(case, rng, keras_oracle):
    batches, weights = two_batches(case, rng)
    if case[1].get("num_regressors"):
        # Keras counts zero-weight rows as data points of the adjusted R^2; kerax does not
        # (they are padding). The two agree whenever no weight is zero.
        weights = [np.where(w == 0, 0.5, w).astype(np.float32) for w in weights]
    ours, theirs = build(km, case), build(keras_oracle.metrics, case)
    # Keras makes default names unique per session ("auc_3"); kerax keeps the plain name.
    assert ours.name == re.sub(r"_\d+$", "", theirs.name)
    assert_close(run_eager(ours, batches, weights), run_eager(theirs, batches, weights), 1e-5)
    ours.reset_state()
    theirs.reset_state()
    if "ignore_class" not in case[1]:
        # Unweighted, Keras counts ignored labels in the mean's denominator (weighted, it
        # does not); kerax always leaves them out.
        assert_close(ours(*batches[0]), theirs(*batches[0]), 1e-5)
    # Configs are interchangeable in both directions.
    assert plain(type(theirs).from_config(ours.get_config())) == plain(theirs)
    assert plain(type(ours).from_config(theirs.get_config())) == plain(ours)


# -- the pure contract ---------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_pure_update_equals_stateful(case, rng):
    batches, weights = two_batches(case, rng)
    eager, pure = build(km, case), build(km, case)
    expected = run_eager(eager, batches, weights)
    state = run_pure(pure, batches, weights)
    state_close(state, eager.get_state())
    assert_close(pure.compute(state), expected)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_merge_equals_one_pass(case, rng):
    batches, weights = two_batches(case, rng)
    m = build(km, case)
    whole = run_pure(m, batches, weights)
    parts = [run_pure(m, [b], [w]) for b, w in zip(batches, weights, strict=True)]
    merged = m.merge(*parts)
    state_close(merged, whole)
    assert_close(m.compute(merged), m.compute(whole), 1e-5)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_zero_weight_padding_changes_nothing(case, rng):
    """The trainer pads the last batch with weight-0 rows; even NaN scores there are inert."""
    (args,), (w,) = [make_batch(case[2], rng)], [make_weight(rng)]
    pad = PAD
    padded = [np.concatenate([a, np.zeros((pad,) + a.shape[1:], a.dtype)]) for a in args]
    if np.issubdtype(padded[-1].dtype, np.floating):
        padded[-1][-pad:] = np.nan
    padded_w = np.concatenate([w, np.zeros(pad, np.float32)])
    m = build(km, case)
    assert_close(
        m.compute(run_pure(m, [tuple(padded)], [padded_w])),
        m.compute(run_pure(m, [args], [w])),
        1e-6,
    )


@pytest.fixture(scope="module")
def members_compiled():
    """Every case's update, vmapped over two ensemble members, in one compiled call.

    One compilation for all metrics keeps the suite fast; each case checks its own slice.
    """
    rng = np.random.default_rng(1)
    metrics, data, inits = {}, {}, {}
    for case, cid in zip(CASES, IDS, strict=True):
        metrics[cid] = build(km, case)
        members = [make_batch(case[2], rng) for _ in range(2)]
        weights = [make_weight(rng) for _ in range(2)]
        data[cid] = (members, weights)
        inits[cid] = metrics[cid].initial_state(*members[0])

    def step(states, inputs):
        out = {}
        for cid, (args, w) in inputs.items():
            update = jax.vmap(lambda s, a, w, m=metrics[cid]: m.update(s, *a, sample_weight=w))
            out[cid] = update(states[cid], args, w)
        return out, {cid: jax.vmap(metrics[cid].compute)(out[cid]) for cid in out}

    stacked = {
        cid: jax.tree_util.tree_map(lambda *x: jnp.stack(x), s, s) for cid, s in inits.items()
    }
    inputs = {
        cid: (tuple(np.stack(p) for p in zip(*m, strict=True)), np.stack(w))
        for cid, (m, w) in data.items()
    }
    states, values = jax.jit(step)(stacked, inputs)
    return metrics, data, inits, states, values


@pytest.mark.parametrize("cid", IDS)
def test_jit_and_vmap_over_members(cid, members_compiled):
    metrics, data, inits, states, values = members_compiled
    m, (members, weights) = metrics[cid], data[cid]
    for i in range(2):
        alone = m.update(inits[cid], *members[i], sample_weight=weights[i])
        state_close(jax.tree_util.tree_map(lambda x, i=i: x[i], states[cid]), alone, 1e-5)
        assert_close(values[cid][i], m.compute(alone), 1e-5)


def test_update_compiles_once(rng):
    traces = []
    m = km.AUC()

    def step(state, y_true, y_pred, w):
        traces.append(1)
        return m.update(state, y_true, y_pred, sample_weight=w)

    step = jax.jit(step)
    state = m.initial_state()
    for _ in range(3):
        state = step(state, *make_batch("binary", rng), make_weight(rng))
    assert len(traces) == 1


# -- configs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_config_round_trip(case):
    m = build(km, case)
    config = m.get_config()
    assert type(m).from_config(config).get_config() == config
    again = km.deserialize(km.serialize(m))
    assert type(again) is type(m) and again.get_config() == config
    assert km.serialize(m)["module"] == "keras.metrics"


def test_mean_metric_wrapper_config_names_its_function(rng):
    m = km.MeanMetricWrapper(km.binary_accuracy, name="ba", threshold=0.3)
    config = m.get_config()
    assert config["fn"]["config"] == "binary_accuracy" and config["threshold"] == 0.3
    y, p = make_batch("binary", rng)
    rebuilt = km.MeanMetricWrapper.from_config(config)
    assert_close(rebuilt(y, p), km.BinaryAccuracy(threshold=0.3)(y, p))


@pytest.mark.keras
def test_mean_metric_wrapper_matches_keras(rng, keras_oracle):
    ours = km.MeanMetricWrapper(km.binary_accuracy, name="ba", threshold=0.3)
    theirs = keras_oracle.metrics.MeanMetricWrapper(
        keras_oracle.metrics.binary_accuracy, name="ba", threshold=0.3
    )
    batches, weights = two_batches(CASES[3], rng)
    assert_close(run_eager(ours, batches, weights), run_eager(theirs, batches, weights), 1e-5)
    assert ours.get_config() == theirs.get_config()
    rebuilt = type(theirs).from_config(ours.get_config())
    assert rebuilt._fn is keras_oracle.metrics.binary_accuracy and rebuilt.get_config() == (
        theirs.get_config()
    )


@pytest.mark.parametrize(
    "cls, name",
    [
        (km.Mean, "mean"),
        (km.Sum, "sum"),
        (km.Accuracy, "accuracy"),
        (km.AUC, "auc"),
        (km.Precision, "precision"),
        (km.TruePositives, "true_positives"),
        (km.LogCoshError, "logcosh"),
        (km.FBetaScore, "fbeta_score"),
        (km.R2Score, "r2_score"),
        (km.KLDivergence, "kl_divergence"),
        (km.RootMeanSquaredError, "root_mean_squared_error"),
    ],
)
def test_default_names(cls, name):
    m = cls()
    assert m.name == name and m.dtype == "float32" and repr(m) == f"<{cls.__name__} name={name}>"


# -- get and "accuracy" resolution -----------------------------------------------------------


class BinaryCrossentropy:
    """Stands in for a loss object: "accuracy" resolution looks at its class name."""

    def __call__(self, y_true, y_pred):
        return y_pred


@pytest.mark.parametrize(
    "y_true, y_pred, loss, expected",
    [
        ((32, 1), (32, 1), None, km.BinaryAccuracy),
        ((32,), (32, 1), None, km.BinaryAccuracy),
        ((32, 4), (32, 4), "binary_crossentropy", km.BinaryAccuracy),
        ((32, 4), (32, 4), km.binary_crossentropy, km.BinaryAccuracy),
        ((32, 4), (32, 4), "BinaryCrossentropy", km.BinaryAccuracy),
        ((32, 4), (32, 4), BinaryCrossentropy(), km.BinaryAccuracy),
        ((32,), (32, 10), None, km.SparseCategoricalAccuracy),
        ((32, 1), (32, 10), "sparse_categorical_crossentropy", km.SparseCategoricalAccuracy),
        ((8, 20), (8, 20, 10), None, km.SparseCategoricalAccuracy),
        ((32, 10), (32, 10), None, km.CategoricalAccuracy),
        ((32, 10), (32, 10), "categorical_crossentropy", km.CategoricalAccuracy),
        (
            jax.ShapeDtypeStruct((4,), jnp.int32),
            jax.ShapeDtypeStruct((4, 3), jnp.float32),
            None,
            km.SparseCategoricalAccuracy,
        ),
        (np.zeros((4, 3)), np.zeros((4, 3)), None, km.CategoricalAccuracy),
        (None, None, None, km.Accuracy),
        (None, None, "bce", km.BinaryAccuracy),
        (None, None, "sparse_categorical_crossentropy", km.SparseCategoricalAccuracy),
    ],
)
@pytest.mark.parametrize("identifier", ["accuracy", "acc"])
def test_accuracy_resolution(identifier, y_true, y_pred, loss, expected):
    m = km.get(identifier, y_true=y_true, y_pred=y_pred, loss=loss)
    assert type(m) is expected and m.name == identifier


@pytest.mark.parametrize(
    "identifier, cls, name",
    [
        ("mae", km.MeanAbsoluteError, "mae"),
        ("MSE", km.MeanSquaredError, "MSE"),
        ("mean_squared_error", km.MeanSquaredError, "mean_squared_error"),
        ("rmse", km.RootMeanSquaredError, "rmse"),
        ("auc", km.AUC, "auc"),
        ("AUC", km.AUC, "AUC"),
        ("precision", km.Precision, "precision"),
        ("recall", km.Recall, "recall"),
        ("top_k_categorical_accuracy", km.TopKCategoricalAccuracy, "top_k_categorical_accuracy"),
        ("binary_accuracy", km.BinaryAccuracy, "binary_accuracy"),
        ("f1_score", km.F1Score, "f1_score"),
        ({"class_name": "AUC", "config": {"curve": "PR", "name": "pr"}}, km.AUC, "pr"),
        (km.Recall, km.Recall, "recall"),
    ],
)
def test_get(identifier, cls, name):
    m = km.get(identifier)
    assert type(m) is cls and m.name == name


def test_get_passes_metrics_through_and_wraps_functions(rng):
    m = km.Precision(name="p")
    assert km.get(m) is m and km.get(None) is None

    def exact_match(y_true, y_pred):
        return jnp.equal(y_true, y_pred).astype(jnp.float32)

    wrapped = km.get(exact_match)
    assert isinstance(wrapped, km.MeanMetricWrapper) and wrapped.name == "exact_match"
    assert float(wrapped(jnp.array([1.0, 2.0]), jnp.array([1.0, 3.0]))) == 0.5


# -- Keras-style custom metrics get the pure API ------------------------------------------


class CountAbove(km.Metric):
    def __init__(self, threshold=0.5, name="count_above", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.threshold = threshold
        self.hits = self.add_variable(shape=(), initializer="zeros", name="hits")
        self.seen = self.add_weight(shape=(), initializer="zeros", name="seen")

    def update_state(self, y_true, y_pred, sample_weight=None):
        w = jnp.ones_like(y_pred) if sample_weight is None else jnp.asarray(sample_weight)
        self.hits.assign(self.hits + jnp.sum((y_pred > self.threshold) * w))
        self.seen.assign_add(jnp.sum(w))

    def result(self):
        return self.hits.value / self.seen.value


class ScaledMAE(km.Mean):
    """The common Keras pattern: subclass a built-in, preprocess, call super()."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(2.0 * jnp.abs(jnp.asarray(y_true) - y_pred), sample_weight)


@pytest.mark.parametrize(
    "cls, reference",
    [
        (CountAbove, lambda y, p, w: np.sum((p > 0.5) * w) / np.sum(w)),
        (ScaledMAE, lambda y, p, w: 2 * np.sum(abs(y - p) * w) / np.sum(w)),
    ],
)
def test_keras_style_subclass_is_pure(cls, reference, rng):
    ys = [rng.normal(size=N).astype(np.float32) for _ in range(2)]
    ps = [rng.normal(size=N).astype(np.float32) for _ in range(2)]
    ws = [make_weight(rng) for _ in range(2)]
    m = cls()
    update = jax.jit(lambda s, y, p, w: m.update(s, y, p, sample_weight=w))
    parts = [update(m.initial_state(), y, p, w) for y, p, w in zip(ys, ps, ws, strict=True)]
    expected = reference(np.concatenate(ys), np.concatenate(ps), np.concatenate(ws))
    assert_close(jax.jit(m.compute)(m.merge(*parts)), expected, 1e-5)
    eager = cls()
    for y, p, w in zip(ys, ps, ws, strict=True):
        eager.update_state(y, p, sample_weight=w)
    assert_close(eager.result(), expected, 1e-5)
    eager.reset_state()
    assert_close(eager.get_state(), [0.0, 0.0])


def test_set_state_writes_back_a_pure_state(rng):
    m = km.F1Score(average="macro")
    y, p = make_batch("multilabel", rng)
    state = m.update(m.initial_state(y, p), y, p)
    m.set_state(state)
    assert_close(m.result(), m.compute(state))
    assert [v.name for v in m.variables] == [
        "true_positives",
        "false_positives",
        "false_negatives",
        "intermediate_weights",
    ]


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, args, match",
    [
        (
            km.CategoricalAccuracy,
            (np.array([1, 0, 2]), np.eye(3)),
            r"one-hot y_true .* Received: y_true.shape=\(3,\), y_pred.shape=\(3, 3\).*sparse_",
        ),
        (km.CategoricalAccuracy, (np.array([[1], [0]]), np.eye(2)), "sparse_categorical_accuracy"),
        (km.TopKCategoricalAccuracy, (np.array([1, 0]), np.eye(2)), "sparse_top_k"),
        (km.SparseCategoricalAccuracy, (np.eye(3), np.eye(3)), "'categorical_accuracy' instead"),
        (
            km.CategoricalCrossentropy,
            (np.array([1, 0]), np.eye(2)),
            "sparse_categorical_crossentropy",
        ),
        (km.SparseCategoricalCrossentropy, (np.eye(3), np.eye(3)), "categorical_crossentropy"),
        (km.R2Score, (np.ones(3), np.ones(3)), "2D inputs"),
        (km.F1Score, (np.ones(3), np.ones(3)), "2D inputs"),
        (lambda: km.AUC(multi_label=True), (np.ones(3), np.ones(3)), "rank 2"),
        (lambda: km.Precision(class_id=1), (np.ones(3), np.ones(3)), "class_id"),
    ],
)
def test_bad_inputs_raise_at_trace_time(make, args, match):
    m = make()
    with pytest.raises(ValueError, match=match):
        jax.eval_shape(lambda: m.update(m.initial_state(*args), *args))


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: km.get("nope"), ValueError, r"Unknown metric: 'nope'. Valid names: .*auc"),
        (lambda: km.get(3), TypeError, "Received: identifier=3"),
        (lambda: km.get("precision_at_recall"), TypeError, "needs arguments"),
        (lambda: km.F1Score(beta=2), TypeError, "unexpected keyword"),
        (lambda: km.FBetaScore(beta=2), ValueError, "Python float > 0"),
        (lambda: km.FBetaScore(average="mean"), ValueError, "average must be one of"),
        (lambda: km.F1Score(threshold=1.5), ValueError, r"threshold must be None or .*\(0, 1\]"),
        (lambda: km.AUC(curve="XYZ"), ValueError, "curve must be one of"),
        (lambda: km.AUC(num_thresholds=1), ValueError, "num_thresholds must be an integer > 1"),
        (lambda: km.AUC(num_labels=3), ValueError, "only used with multi_label"),
        (lambda: km.Precision(thresholds=[0.5, 1.2]), ValueError, r"in \[0, 1\]"),
        (lambda: km.PrecisionAtRecall(recall=2.0), ValueError, "recall must be in"),
        (lambda: km.R2Score(class_aggregation="max"), ValueError, "class_aggregation"),
        (lambda: km.TopKCategoricalAccuracy(k=0), ValueError, "positive integer"),
        (lambda: km.MeanMetricWrapper(3), TypeError, "Received: fn=3"),
        (lambda: km.Mean(dtype="floaty"), TypeError, "Received: dtype='floaty'"),
        (lambda: km.F1Score().initial_state(), ValueError, "pass shapes"),
        (lambda: km.F1Score().result(), ValueError, "has not seen a batch"),
    ],
)
def test_bad_arguments_raise(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_subclass_without_computation_says_how_to_fix():
    class Empty(km.Metric):
        pass

    with pytest.raises(NotImplementedError, match="Implement update_state"):
        Empty().update_state([1.0], [1.0])

    class NoSuper(km.Metric):
        def __init__(self):
            pass

    with pytest.raises(RuntimeError, match=r"super\(\).__init__"):
        NoSuper().result()
